"""The station clock: every wait in cryo_acq goes through one of these.

On real hardware the clock is the wall clock. In simulation it is virtual: a
``sleep`` of an hour returns at once and moves the simulated lab an hour on, so
ramps, thermal relaxation and lock-in settling stay realistic while an overnight
sweep runs in seconds. A time scale (e.g. 60: a minute of lab time per second)
lets a physicist watch a rehearsal live.

All times are in seconds.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Protocol


class StopRequested(Exception):
    """A stop was asked for (abort, Ctrl-C, a failing guard): every wait ends at once."""


class Stoppable:
    """A stop flag every wait checks; ``request_stop`` ends the wait in progress."""

    def __init__(self):
        self.stop_event = threading.Event()

    def request_stop(self) -> None:
        self.stop_event.set()

    def clear_stop(self) -> None:
        self.stop_event.clear()

    def check_stop(self) -> None:
        if self.stop_event.is_set():
            raise StopRequested("stop requested")

    def _wall_sleep(self, wall_seconds: float) -> None:
        """Sleep in wall time, waking as soon as a stop is requested."""
        if self.stop_event.wait(max(0.0, wall_seconds)):
            raise StopRequested("stop requested")


class Clock(Protocol):
    """What every clock offers."""

    def now(self) -> float:
        """Station time in seconds (monotonic)."""

    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` of station time pass; raise StopRequested if a stop is asked for."""

    def request_stop(self) -> None:
        """End the wait in progress and every later one (until ``clear_stop``)."""

    def clear_stop(self) -> None: ...


class WallClock(Stoppable):
    """Real time, for real instruments."""

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        self.check_stop()
        if seconds > 0:
            self._wall_sleep(seconds)

    def __repr__(self) -> str:
        return "WallClock()"


class VirtualClock(Stoppable):
    """Simulated time.

    ``time_scale=None`` (the default) is pure virtual time: ``now`` only moves
    when someone sleeps, and a sleep returns at once. A positive ``time_scale``
    runs lab time at that multiple of wall time (1 = real time, 60 = a minute per
    second): ``now`` then advances on its own and a sleep takes
    ``seconds / time_scale`` of wall time.
    """

    def __init__(self, start: float = 0.0, time_scale: float | None = None):
        if time_scale is not None and time_scale <= 0:
            raise ValueError(f"time_scale must be positive or None, got {time_scale!r}")
        super().__init__()
        self.time_scale = time_scale
        self._t = float(start)
        self._wall0 = time.monotonic()

    def now(self) -> float:
        if self.time_scale is None:
            return self._t
        return self._t + (time.monotonic() - self._wall0) * self.time_scale

    def sleep(self, seconds: float) -> None:
        self.check_stop()
        if seconds <= 0:
            return
        if self.time_scale is None:
            self._t += seconds
        else:
            self._wall_sleep(seconds / self.time_scale)

    def __repr__(self) -> str:
        scale = "virtual" if self.time_scale is None else f"x{self.time_scale:g}"
        return f"VirtualClock({scale}, t={self.now():.3f} s)"


class WaitTimeout(TimeoutError):
    """A condition waited for did not come true in time."""


def wait_until(
    clock: Clock,
    condition: Callable[[], bool],
    timeout: float,
    poll: float,
    what: str = "condition",
) -> float:
    """Poll ``condition`` every ``poll`` seconds of station time until it is true.

    Returns the station time it took; raises :class:`WaitTimeout` naming ``what``
    after ``timeout`` seconds.
    """
    start = clock.now()
    while not condition():
        elapsed = clock.now() - start
        if elapsed >= timeout:
            raise WaitTimeout(f"{what} not reached within {timeout:g} s of station time")
        clock.sleep(min(poll, timeout - elapsed))
    return clock.now() - start
