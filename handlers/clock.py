"""The one source of "now" for the handlers, replaceable by tests and the sandbox."""

import time
from collections.abc import Callable

Clock = Callable[[], float]
"""Returns the current time as epoch seconds."""

_clock: Clock = time.time


def now() -> float:
    """Current epoch seconds from the installed clock."""
    return _clock()


def set_clock(clock: Clock | None) -> None:
    """Install ``clock`` (``None`` restores the system clock)."""
    global _clock
    _clock = clock if clock is not None else time.time
