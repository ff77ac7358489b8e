"""A deterministic scheduler: many operations in flight, exactly one of them running at a time.

Every operation (a record, a block, a prune, an operator's command or hand edit) runs in its own
thread, as it would in its own Lambda execution environment. The AWS clients those operations use are
wrapped (`ScheduledClient`) so that every call first parks the calling thread until the scheduler
grants it, and so is every sleep (`Scheduler.sleep`). The controlling thread (the Hypothesis state
machine) chooses which parked operation makes its next call: `step` lets exactly that one run up to
its following call or to its end. An interleaving is therefore a sequence of choices, and a failing
one replays exactly: no real sleeps, no wall-clock reads (sleeps advance a `VirtualClock`).

`kill` stops an operation at the call it is parked at, the way a Lambda timeout or crash does:
the call is not made, `Killed` unwinds the thread, and every further call it attempts (a `finally`
releasing a lease) fails the same way, so whatever it wrote before stays written.
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from handlers import schema

WATCHDOG_SECONDS = 120.0
"""Real seconds an operation may run between two calls before the harness calls it stuck (a lock
outside the scheduler's control). Not an assertion on speed: a healthy step takes milliseconds."""


class Killed(BaseException):
    """Stops an operation at a call. A BaseException, as a timeout is: no handler may catch it."""


class HarnessError(RuntimeError):
    """The scheduler itself went wrong (a stuck thread, a sleep outside any operation)."""


class VirtualClock:
    """The only time the operations see: the lease's wall clock, retention's clock and every sleep."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def advance_to(self, moment: float) -> None:
        self.now = max(self.now, moment)


Interceptor = Callable[["Operation", str, str, dict[str, Any], Callable[[], Any]], Any]
"""(operation, service, method, request, make_the_call) -> answer; runs in the operation's thread."""


@dataclass(eq=False)
class Operation:
    number: int
    kind: str
    label: str
    body: Callable[[], Any]
    started_at: float
    facts: dict[str, Any] = field(default_factory=dict)
    """What the test needs to judge the outcome (the host an unblock names, the record a block uses)."""
    state: str = "new"
    """new -> parked <-> running -> done"""
    next_call: str = "start"
    wake_at: float | None = None
    killed: bool = False
    result: Any = None
    error: BaseException | None = None
    steps: int = 0
    writes: int = 0
    deleted: set[str] = field(default_factory=set)
    """Ledger keys this operation deleted (DeleteItem that succeeded)."""
    history_start: int = 0
    """Index into the test's list of group writes when the operation started."""
    thread: threading.Thread | None = None

    @property
    def done(self) -> bool:
        return self.state == "done"

    def __repr__(self) -> str:
        return self.label


class Scheduler:
    def __init__(self, clock: VirtualClock, interceptor: Interceptor | None = None) -> None:
        self.clock = clock
        self.interceptor = interceptor
        self.trace: list[str] = []
        """One line per step: which operation made which call (printed with a failing example)."""
        self._cv = threading.Condition()
        self._by_thread: dict[int, Operation] = {}
        self._numbers = 0

    @property
    def started(self) -> int:
        """How many operations have been started (operation numbers run from 1)."""
        return self._numbers

    # -- the controlling thread ----------------------------------------------------------------
    def start(self, kind: str, label: str, body: Callable[[], Any], **facts: Any) -> Operation:
        """Start ``body`` in a new thread, parked before it does anything."""
        self._numbers += 1
        op = Operation(self._numbers, kind, f"#{self._numbers} {label}", body, self.clock(), facts)
        op.thread = threading.Thread(target=self._run, args=(op,), name=op.label, daemon=True)
        op.thread.start()
        self._wait_parked(op)
        self.trace.append(f"{op.label}: started")
        return op

    def step(self, op: Operation) -> None:
        """Let ``op`` make the call it is parked at and run on to its next call (or its end)."""
        if op.state != "parked":
            raise HarnessError(f"{op.label} is {op.state}, not parked")
        with self._cv:
            if op.wake_at is not None:
                self.clock.advance_to(op.wake_at)
                op.wake_at = None
            self.trace.append(f"{op.label}: {'KILLED at ' if op.killed else ''}{op.next_call}")
            op.steps += 1
            op.state = "running"
            self._cv.notify_all()
        self._wait_parked(op)
        if op.done:
            outcome = f"raised {type(op.error).__name__}: {op.error}" if op.error else "returned"
            self.trace.append(f"{op.label}: {outcome}")

    def kill(self, op: Operation) -> None:
        """Stop ``op`` at the call it is parked at; it makes no call from now on."""
        op.killed = True
        self.step(op)
        if not op.done:
            raise HarnessError(f"{op.label} survived being killed")

    def _wait_parked(self, op: Operation) -> None:
        with self._cv:
            if not self._cv.wait_for(lambda: op.state in ("parked", "done"), timeout=WATCHDOG_SECONDS):
                raise HarnessError(f"{op.label} did not reach its next call (stuck at {op.next_call})")

    # -- the operations' threads ----------------------------------------------------------------
    def _run(self, op: Operation) -> None:
        with self._cv:
            self._by_thread[threading.get_ident()] = op
        try:
            self._park(op, "start")
            op.result = op.body()
        except BaseException as error:  # the outcome is judged by the test, whatever it is
            op.error = error
        finally:
            with self._cv:
                self._by_thread.pop(threading.get_ident(), None)
                op.state = "done"
                self._cv.notify_all()

    def _park(self, op: Operation, what: str) -> None:
        with self._cv:
            if op.killed:
                raise Killed(f"{op.label} was killed before {what}")
            op.next_call = what
            op.state = "parked"
            self._cv.notify_all()
            if not self._cv.wait_for(lambda: op.state == "running", timeout=WATCHDOG_SECONDS):
                raise HarnessError(f"{op.label} was never resumed")
            if op.killed:
                raise Killed(f"{op.label} was killed at {what}")

    def current(self) -> Operation | None:
        """The operation whose thread is asking, or None for the controlling thread."""
        with self._cv:
            return self._by_thread.get(threading.get_ident())

    def sleep(self, seconds: float) -> None:
        """A sleep is a yield point: the operation resumes, at the earliest, ``seconds`` later."""
        op = self.current()
        if op is None:
            raise HarnessError(f"a real sleep of {seconds} s outside any operation")
        op.wake_at = self.clock() + max(0.0, seconds)
        self._park(op, f"sleep {seconds:.3f}s")

    def call(self, service: str, method: str, request: dict[str, Any], make: Callable[[], Any]) -> Any:
        """An AWS call: parked until granted when an operation makes it, made at once otherwise."""
        op = self.current()
        if op is None:
            return make()
        self._park(op, f"{service}.{method}{_summary(request)}")
        if self.interceptor is None:
            return make()
        return self.interceptor(op, service, method, request, make)


class ScheduledClient:
    """A boto3 client whose every API call goes through the scheduler (attributes pass through)."""

    _PASS_THROUGH = frozenset({"get_paginator", "get_waiter", "can_paginate", "close"})

    def __init__(self, client: Any, service: str, scheduler: Scheduler) -> None:
        self._client = client
        self._service = service
        self._scheduler = scheduler

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name.startswith("_") or name in self._PASS_THROUGH or not callable(attribute):
            return attribute

        def scheduled(**request: Any) -> Any:
            return self._scheduler.call(self._service, name, request, lambda: attribute(**request))

        return scheduled


def _summary(request: dict[str, Any]) -> str:
    """A short, stable description of a request for the trace (the host a ledger call names)."""
    for part in ("Key", "Item"):
        value = request.get(part)
        host = value.get(schema.HASH_KEY) if isinstance(value, dict) else None
        if isinstance(host, dict) and "S" in host:
            return f"({host['S']})"
    index = request.get("IndexName")
    return f"({index})" if index else ""
