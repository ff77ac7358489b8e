"""Fault injection and measurement for the emulated rule-group API.

Real Network Firewall is slow (hundreds of milliseconds per call), throttles, occasionally fails, and
loses UpdateToken races to other writers. The writer's retry logic only gets exercised if the emulator
does the same, on demand and reproducibly (seeded), and benchmarks need to count what happened.

A `FaultPlan` and a `Counters` live with each account/region backend (so `mock_aws()` resets them);
get them with `nfw_blocklist.emulator.faults(region, account)` and `.counters(region, account)`.
Decisions are drawn under the plan's lock; the latency sleep happens after the lock is released, so
concurrent calls overlap in real time as they do against AWS.
"""

import random
import threading
import time
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import InternalServerError, ThrottlingException

RULE_GROUP_OPERATIONS = frozenset(
    {"CreateRuleGroup", "DescribeRuleGroup", "UpdateRuleGroup", "ListRuleGroups", "DeleteRuleGroup"}
)


@dataclass(frozen=True)
class Decision:
    """What the plan decided for one call, drawn atomically so seeded runs replay exactly."""

    latency: float = 0.0
    throttle: bool = False
    internal_error: bool = False
    token_conflict: bool = False


@dataclass(frozen=True)
class CounterSnapshot:
    """A consistent copy of the counters (read under the counters' lock); `calls` lists every operation."""

    calls: Mapping[str, int] = field(default_factory=dict)
    successful_updates: int = 0
    token_conflicts: int = 0
    injected_token_conflicts: int = 0
    throttles: int = 0
    internal_errors: int = 0

    @property
    def all_token_conflicts(self) -> int:
        """Every InvalidTokenException returned, real (stale token) or injected."""
        return self.token_conflicts + self.injected_token_conflicts

    def as_dict(self) -> dict[str, Any]:
        """Plain data for benchmark reports and JSON."""
        return {
            "calls": dict(self.calls),
            "successful_updates": self.successful_updates,
            "token_conflicts": self.token_conflicts,
            "injected_token_conflicts": self.injected_token_conflicts,
            "all_token_conflicts": self.all_token_conflicts,
            "throttles": self.throttles,
            "internal_errors": self.internal_errors,
        }


class Counters:
    """Thread-safe tallies of what the emulated API did; every attempt counts, SDK retries included."""

    OPERATIONS: frozenset[str] = RULE_GROUP_OPERATIONS
    """The operations a snapshot lists (a subclass serves another emulated API)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: Counter[str] = Counter()
        self._tallies: Counter[str] = Counter()

    def record_call(self, operation: str) -> None:
        with self._lock:
            self._calls[operation] += 1

    def record(self, event: str) -> None:
        """`event` is one of the CounterSnapshot integer fields, e.g. "successful_updates"."""
        with self._lock:
            self._tallies[event] += 1

    def snapshot(self) -> CounterSnapshot:
        with self._lock:
            return CounterSnapshot(
                calls={operation: self._calls[operation] for operation in sorted(self.OPERATIONS)},
                successful_updates=self._tallies["successful_updates"],
                token_conflicts=self._tallies["token_conflicts"],
                injected_token_conflicts=self._tallies["injected_token_conflicts"],
                throttles=self._tallies["throttles"],
                internal_errors=self._tallies["internal_errors"],
            )

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._tallies.clear()


class FaultPlan:
    """The faults the emulated API injects; empty (no faults, no latency) until `set` is called."""

    OPERATIONS: frozenset[str] = RULE_GROUP_OPERATIONS
    """The operations this plan may fault (a subclass serves another emulated API)."""
    CONFLICT_OPERATION = "UpdateRuleGroup"
    """The one operation `token_conflict_rate` applies to."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._random = random.Random()
        self._latency: dict[str, tuple[float, float]] = {}
        self._token_conflict_rate = 0.0
        self._throttle_remaining = 0
        self._throttle_rate = 0.0
        self._internal_error_rate = 0.0
        self._operations: frozenset[str] = self.OPERATIONS

    def set(
        self,
        *,
        latency: Mapping[str, tuple[float, float]] | None = None,
        token_conflict_rate: float = 0.0,
        throttle_next: int = 0,
        throttle_rate: float = 0.0,
        internal_error_rate: float = 0.0,
        seed: int | None = None,
        operations: Collection[str] | None = None,
    ) -> "FaultPlan":
        """Replace the whole plan (settings not given go back to 'no fault').

        latency: operation name -> (min, max) seconds, drawn uniformly per call and slept in real time.
        token_conflict_rate: chance an UpdateRuleGroup carrying the current token still gets
            InvalidTokenException, as if another writer won the race.
        throttle_next: the next N calls to `operations` get ThrottlingException.
        throttle_rate / internal_error_rate: chance of ThrottlingException / InternalServerError (500).
        seed: makes the draws reproducible.
        operations: which operations throttling and internal errors apply to (default: all of them).
        """
        operations = self.OPERATIONS if operations is None else operations
        latency = dict(latency or {})
        for operation, (low, high) in latency.items():
            if not 0 <= low <= high:
                raise ValueError(f"latency for {operation} must satisfy 0 <= min <= max, got {(low, high)}")
        for name, rate in (
            ("token_conflict_rate", token_conflict_rate),
            ("throttle_rate", throttle_rate),
            ("internal_error_rate", internal_error_rate),
        ):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {rate}")
        if throttle_next < 0:
            raise ValueError(f"throttle_next must be >= 0, got {throttle_next}")
        unknown = set(operations) - self.OPERATIONS
        if unknown:
            raise ValueError(f"unknown operations {sorted(unknown)}; known: {sorted(self.OPERATIONS)}")
        with self._lock:
            self._random = random.Random(seed)
            self._latency = {op: (float(low), float(high)) for op, (low, high) in latency.items()}
            self._token_conflict_rate = token_conflict_rate
            self._throttle_remaining = throttle_next
            self._throttle_rate = throttle_rate
            self._internal_error_rate = internal_error_rate
            self._operations = frozenset(operations)
        return self

    def clear(self) -> None:
        """Back to a fault-free, zero-latency emulator."""
        self.set()

    def decide(self, operation: str) -> Decision:
        """Draw this call's faults; consumes one `throttle_next` slot when it applies."""
        with self._lock:
            low, high = self._latency.get(operation, (0.0, 0.0))
            latency = self._random.uniform(low, high) if high > 0 else 0.0
            throttle = internal_error = False
            if operation in self._operations:
                if self._throttle_remaining > 0:
                    self._throttle_remaining -= 1
                    throttle = True
                elif self._throttle_rate and self._random.random() < self._throttle_rate:
                    throttle = True
                if not throttle and self._internal_error_rate:
                    internal_error = self._random.random() < self._internal_error_rate
            token_conflict = (
                operation == self.CONFLICT_OPERATION
                and bool(self._token_conflict_rate)
                and self._random.random() < self._token_conflict_rate
            )
            return Decision(latency, throttle, internal_error, token_conflict)

    def admit(self, operation: str, counters: Counters) -> Decision:
        """Count the call and apply the front-door faults; the caller applies `token_conflict` itself.

        Throttling is refused at once (as AWS's front door does); otherwise the call sleeps its latency
        (holding no lock) before it may fail with an internal error or proceed.
        """
        counters.record_call(operation)
        decision = self.decide(operation)
        if decision.throttle:
            counters.record("throttles")
            raise ThrottlingException()
        if decision.latency:
            time.sleep(decision.latency)
        if decision.internal_error:
            counters.record("internal_errors")
            raise InternalServerError()
        return decision
