"""The measurement, in one place: the handler-call instrument, the counters, percentiles and memory.

Measurement never touches the handlers. While a sandbox runs, ``Instrument`` wraps the sandbox
invoker's ``_call`` (thread CPU time, wall time and, when asked, the tracemalloc peak around each
handler call) and moto's in-process request hook, so that the CPU moto spends answering a handler's
AWS calls in the same thread is told apart from the handler's own. ``Tally`` reads the counters
(the emulator's rule-group calls, token conflicts and throttles; the ledgers' items read and write
conflicts) so that a case is measured as the difference of two tallies.
"""

import contextlib
import resource
import threading
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from unittest import mock

from nfw_blocklist.bench import readings


class InjectedCrash(Exception):
    """Raised in place of the block handler: the function died after the ledger write, before the group."""


@dataclass
class Call:
    """One handler invocation as the instrument saw it."""

    handler: str
    cpu: float
    """Thread CPU seconds inside the handler call, moto's in-process answers included."""
    service_cpu: float
    """The part of ``cpu`` spent inside moto answering the handler's AWS calls."""
    wall: float
    error: str | None
    peak_bytes: int = 0

    @property
    def own_cpu(self) -> float:
        return max(0.0, self.cpu - self.service_cpu)


class Instrument:
    """Wraps the sandbox's in-process Lambda invoker (never the handlers) while a sandbox runs.

    The invoker gives each call its function's environment through a thread-local view, so calls
    overlap as separate Lambda instances do; the instrument keeps them overlapping.
    """

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.crash: Callable[[str, Any], bool] | None = None
        """Decides, per call (handler name, event), whether the call dies instead of running."""
        self.trace_memory = False
        self._lock = threading.Lock()
        self._local = threading.local()
        self._stack = contextlib.ExitStack()

    def install(self) -> None:
        from moto.core.botocore_stubber import BotocoreStubber

        from nfw_blocklist.sandbox import invoker

        original_call = invoker._call
        instrument = self

        def measured_call(handler: Callable[..., Any], event: Any, context: Any) -> Any:
            return instrument._measure(original_call, handler, event, context)

        self._stack.enter_context(mock.patch.object(invoker, "_call", measured_call))

        original_stub = BotocoreStubber.__call__

        def stub(stubber: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
            if not getattr(instrument._local, "depth", 0):
                return original_stub(stubber, event_name, request, **kwargs)
            started = time.thread_time()
            try:
                return original_stub(stubber, event_name, request, **kwargs)
            finally:
                instrument._local.service += time.thread_time() - started

        self._stack.enter_context(mock.patch.object(BotocoreStubber, "__call__", stub))

    def uninstall(self) -> None:
        self._stack.close()

    def _measure(
        self, call: Callable[..., Any], handler: Callable[..., Any], event: Any, context: Any
    ) -> Any:
        name = getattr(handler, "__name__", str(handler))
        if self.crash is not None and self.crash(name, event):
            with self._lock:
                self.calls.append(Call(name, 0.0, 0.0, 0.0, InjectedCrash.__name__))
            raise InjectedCrash(f"injected crash before {name}")
        tracing = self.trace_memory and tracemalloc.is_tracing()
        if tracing:
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
        self._local.depth, self._local.service = 1, 0.0
        wall, cpu, error = time.perf_counter(), time.thread_time(), None
        try:
            return call(handler, event, context)
        except Exception as e:
            error = type(e).__name__
            raise
        finally:
            cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
            self._local.depth = 0
            peak = tracemalloc.get_traced_memory()[1] - base if tracing else 0
            with self._lock:
                self.calls.append(Call(name, cpu, self._local.service, wall, error, peak))

    def take(self) -> list[Call]:
        """The calls seen since the last ``take``."""
        with self._lock:
            calls, self.calls = self.calls, []
        return calls


@dataclass(frozen=True)
class Tally:
    """The counters at one moment; a case's figures are ``after - before``."""

    update_calls: int = 0
    describe_calls: int = 0
    token_conflicts: int = 0
    """Every InvalidTokenException the emulator returned, real (stale token) or injected."""
    throttles: int = 0
    items_read: int = 0
    ledger_write_conflicts: int = 0

    @classmethod
    def read(cls, region: str) -> "Tally":
        from nfw_blocklist import emulator

        counters = emulator.counters(region).snapshot()
        return cls(
            update_calls=counters.calls.get("UpdateRuleGroup", 0),
            describe_calls=counters.calls.get("DescribeRuleGroup", 0),
            token_conflicts=counters.all_token_conflicts,
            throttles=counters.throttles,
            items_read=readings.items_read(),
            ledger_write_conflicts=readings.ledger_write_conflicts(),
        )

    def __sub__(self, earlier: "Tally") -> "Tally":
        return Tally(
            update_calls=self.update_calls - earlier.update_calls,
            describe_calls=self.describe_calls - earlier.describe_calls,
            token_conflicts=self.token_conflicts - earlier.token_conflicts,
            throttles=self.throttles - earlier.throttles,
            items_read=self.items_read - earlier.items_read,
            ledger_write_conflicts=self.ledger_write_conflicts - earlier.ledger_write_conflicts,
        )


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def peak_rss_mb() -> float:
    """The process's peak resident set (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_ms_per_finding(calls: Sequence[Call], findings: int, *, own: bool = True) -> float:
    """Handler CPU per finding, without (``own``) or with moto's in-process answers."""
    total = sum(call.own_cpu if own else call.cpu for call in calls)
    return round(1000 * total / max(1, findings), 2)


def cpu_ms_by_handler(calls: Sequence[Call], findings: int, *, own: bool) -> dict[str, float]:
    """CPU ms per finding by handler (record, block, prune), averaged over ``findings``."""
    totals: dict[str, float] = {}
    for call in calls:
        totals[call.handler] = totals.get(call.handler, 0.0) + (call.own_cpu if own else call.cpu)
    return {handler: round(1000 * total / findings, 2) for handler, total in totals.items()}


def ratio(numerator: float, denominator: float, digits: int = 2) -> float | None:
    """``numerator / denominator``, or None when the denominator is zero (nothing to divide by)."""
    return round(numerator / denominator, digits) if denominator else None
