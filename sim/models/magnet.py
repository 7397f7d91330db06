"""One axis of a superconducting magnet supply: field moves at the set rate.

The field is piecewise linear in station time and evaluated analytically, so a
30-minute ramp costs nothing to simulate and ``field_at(t)`` is exact for any
``t`` since the last command.
"""

from __future__ import annotations

import math
from typing import Literal

Action = Literal["HOLD", "RTOS", "RTOZ", "CLMP"]

#: s a supply's ramp status keeps saying "ramping" after the field it reports has arrived
#: (its own hold detection; a choice of this simulation, of the order real supplies show)
HOLD_DETECTION = 0.5


class MagnetAxis:
    """A single magnet axis.

    ``target`` (T) and ``rate`` (T/s) are set-points; ``action`` is what the supply
    does: ``HOLD`` (stay), ``RTOS`` (ramp to set), ``RTOZ`` (ramp to zero),
    ``CLMP`` (clamped: output locked, no ramp accepted).
    """

    def __init__(self, clock, max_field: float, max_rate: float, field: float = 0.0):
        self.clock = clock
        self.max_field = max_field  #: T, the supply's own limit
        self.max_rate = max_rate  #: T/s
        self.target = 0.0
        self.rate = min(0.01, max_rate)
        self.quenched = False
        self._action: Action = "HOLD"
        self._t0 = clock.now()
        self._b0 = field
        self._goal = field  # where the current segment is heading

    # --- evaluation
    def field_at(self, t: float) -> float:
        """Field (T) at station time ``t`` (not before the last command)."""
        if self._goal == self._b0:
            return self._b0
        step = self.rate * max(0.0, t - self._t0)
        span = self._goal - self._b0
        return self._goal if step >= abs(span) else self._b0 + math.copysign(step, span)

    @property
    def field(self) -> float:
        return self.field_at(self.clock.now())

    @property
    def moving(self) -> bool:
        """True while the present segment is a ramp (it may have arrived since)."""
        return self._goal != self._b0

    @property
    def sweeping(self) -> bool:
        """True while the field is still moving toward the goal."""
        return self._action in ("RTOS", "RTOZ") and self.field != self._goal

    @property
    def ramping(self) -> bool:
        """What the supply reports: ramping until :data:`HOLD_DETECTION` after the field
        arrived (a supply's ramp status lags the field it reports)."""
        if self._action not in ("RTOS", "RTOZ") or self._goal == self._b0:
            return False
        return self.clock.now() < self.ramp_end_time() + HOLD_DETECTION

    def ramp_start_time(self) -> float:
        """Station time at which the present segment started."""
        return self._t0

    def ramp_end_time(self) -> float:
        """Station time at which the present ramp arrives."""
        return self._t0 + abs(self._goal - self._b0) / self.rate if self.rate > 0 else math.inf

    # --- commands
    def _restart(self, goal: float) -> None:
        now = self.clock.now()
        self._b0 = self.field_at(now)
        self._t0 = now
        self._goal = goal

    @property
    def action(self) -> Action:
        return self._action

    @action.setter
    def action(self, action: Action) -> None:
        if action not in ("HOLD", "RTOS", "RTOZ", "CLMP"):
            raise ValueError(f"unknown magnet action {action!r}")
        if action == "RTOS" and self._action == "CLMP":
            raise ValueError("supply is clamped: HOLD first")
        here = self.field
        goal = {"HOLD": here, "CLMP": here, "RTOS": self.target, "RTOZ": 0.0}[action]
        self._action = action
        self._restart(goal)

    def set_target(self, target: float) -> None:
        if abs(target) > self.max_field:
            raise ValueError(f"target {target} T beyond the supply limit {self.max_field} T")
        self.target = target
        if self._action == "RTOS":
            self._restart(target)

    def set_rate(self, rate: float) -> None:
        if not 0 < rate <= self.max_rate:
            raise ValueError(f"ramp rate {rate} T/s outside (0, {self.max_rate}] T/s")
        self._restart(self._goal)  # re-anchor the segment at the old rate first
        self.rate = rate
