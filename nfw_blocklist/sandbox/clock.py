"""The sandbox's clock: one "now" shared by the handlers and the schedules, moved by hand; and its ids.

Retention is measured in hours; showing it expire in a demo or a test needs a clock that jumps.
The handlers read time only through ``handlers.clock``, so installing this clock there is
enough for the ledger's FirstSeen/ExpiresAt and for pruning to follow the sandbox's time.
"""

import random
import threading
import uuid
from datetime import UTC, datetime

DEFAULT_START = datetime(2021, 1, 5, 1, 25, 0, tzinfo=UTC).timestamp()
"""Five minutes after the reference finding's event time: findings reach EventBridge within about
five minutes, so replaying the reference sample at this time is what production would have seen."""


class SandboxClock:
    """Epoch seconds that only move when ``advance`` is called (thread-safe: executions run in threads)."""

    def __init__(self, start: float = DEFAULT_START) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move forward by ``seconds`` (never backwards) and return the new time."""
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, when: float) -> None:
        """Jump to ``when`` if it is later than now (used to start a replay just after its events)."""
        with self._lock:
            self._now = max(self._now, float(when))

    def isoformat(self) -> str:
        return datetime.fromtimestamp(self.now(), tz=UTC).isoformat().replace("+00:00", "Z")


class SandboxIds:
    """The ids AWS would draw at random (execution names, scheduler execution ids, Security Hub's event
    ids), drawn from a generator seeded with the sandbox's start time: a run that does the same things
    prints the same ids, so its output can be compared with a transcript."""

    def __init__(self, seed: float) -> None:
        self._random = random.Random(repr(seed))
        self._lock = threading.Lock()

    def uuid(self) -> uuid.UUID:
        with self._lock:
            return uuid.UUID(int=self._random.getrandbits(128), version=4)
