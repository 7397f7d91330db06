"""The station clock: every wait in cryo_acq goes through one of these.

On real hardware the clock is the wall clock. In simulation it is virtual: a
``sleep`` of an hour returns at once and moves the simulated lab an hour on, so
ramps, thermal relaxation and lock-in settling stay realistic while an overnight
sweep runs in seconds. A time scale (e.g. 60: a minute of lab time per second)
lets a physicist watch a rehearsal live.

All times are in seconds.
"""

from __future__ import annotations

import time
from typing import Callable, Protocol


class Clock(Protocol):
    """What every clock offers."""

    def now(self) -> float:
        """Station time in seconds (monotonic)."""

    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` of station time pass."""


class WallClock:
    """Real time, for real instruments."""

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def __repr__(self) -> str:
        return "WallClock()"


class VirtualClock:
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
        self.time_scale = time_scale
        self._t = float(start)
        self._wall0 = time.monotonic()

    def now(self) -> float:
        if self.time_scale is None:
            return self._t
        return self._t + (time.monotonic() - self._wall0) * self.time_scale

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        if self.time_scale is None:
            self._t += seconds
        else:
            time.sleep(seconds / self.time_scale)

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
