"""The cryostat's sample stage: temperature relaxes toward the set-point.

Newton relaxation ``T(t) = T_eff + (T0 - T_eff) exp(-(t - t0)/tau)`` evaluated
analytically; with a set-point ramp (rate r) the goal moves linearly and the stage
lags it by ``r tau`` until the ramp ends, then relaxes onto the final value. ``T_eff`` is the set-point when the heater is on and its range can
reach it; the base temperature when the heater is off; the range's ceiling when
the range is too low. Readings carry small seeded fluctuations.
"""

from __future__ import annotations

import math


class Fridge:
    """Sample-stage temperature of a VTI or dilution fridge.

    ``range_ceilings[i]`` is the highest temperature (K) heater range ``i`` can
    hold; range 0 is off.
    """

    def __init__(self, clock, rng, base_temperature: float, time_constant: float,
                 range_ceilings: list[float], temperature: float | None = None,
                 fluctuation: float = 2e-4, thermometer_lag: float = 0.0):
        self.clock = clock
        self.rng = rng
        self.base_temperature = base_temperature  #: K, with the heater off
        self.time_constant = time_constant  #: s, thermal relaxation
        self.range_ceilings = list(range_ceilings)
        self.fluctuation = fluctuation  #: relative rms of a reading
        #: s the sample thermometer reads behind the stage (the sample): while the temperature
        #: moves, a reading is the stage's temperature that long ago
        self.thermometer_lag = thermometer_lag
        self.setpoint = base_temperature if temperature is None else temperature
        self.heater_range = 0
        self.excursion = 0.0  #: K added on top (a drift the guards should catch)
        #: scheduled excursions: (start s, duration s, size K), from the station file's sim section
        self.excursions: list[tuple[float, float, float]] = []
        self.ramp_rate = 0.0  #: K/s of the set-point ramp; 0 = steps
        self._t0 = clock.now()
        self._T0 = self.setpoint if temperature is not None else base_temperature
        self._goal = self._effective_goal()
        self._goal0 = self._goal  # goal at t0 (differs from _goal while ramping)

    def _effective_goal(self) -> float:
        if self.heater_range <= 0:
            return self.base_temperature
        ceiling = self.range_ceilings[min(self.heater_range, len(self.range_ceilings) - 1)]
        return max(self.base_temperature, min(self.setpoint, ceiling))

    def _ramp_end(self) -> float:
        if self.ramp_rate <= 0 or self._goal == self._goal0:
            return self._t0
        return self._t0 + abs(self._goal - self._goal0) / self.ramp_rate

    def _relax(self, T0: float, goal: float, dt: float) -> float:
        return goal + (T0 - goal) * math.exp(-max(0.0, dt) / self.time_constant)

    def _on_ramp(self, dt: float) -> float:
        """Stage temperature ``dt`` into a linear goal ramp (first-order lag)."""
        r = math.copysign(self.ramp_rate, self._goal - self._goal0)
        tau = self.time_constant
        return self._goal0 + r * dt - r * tau + (self._T0 - self._goal0 + r * tau) * math.exp(-dt / tau)

    def goal_at(self, t: float) -> float:
        """The (ramping) control goal at ``t``, K."""
        end = self._ramp_end()
        if t >= end:
            return self._goal
        return self._goal0 + math.copysign(self.ramp_rate, self._goal - self._goal0) * (t - self._t0)

    def temperature_at(self, t: float) -> float:
        """True stage temperature (K) at station time ``t``."""
        end = self._ramp_end()
        if t <= end:
            value = self._on_ramp(max(0.0, t - self._t0))
        else:
            value = self._relax(self._on_ramp(end - self._t0) if end > self._t0 else self._T0,
                                self._goal, t - end)
        return value + self.excursion + self.scheduled_excursion(t)

    def scheduled_excursion(self, t: float) -> float:
        """K added at station time ``t`` by the scheduled excursions (a smooth bump each)."""
        total = 0.0
        for start, duration, size in self.excursions:
            if start <= t < start + duration:
                total += size * math.sin(math.pi * (t - start) / duration) ** 2
        return total

    def present_setpoint(self) -> float:
        """What a controller reports as its set-point: the ramping value during a ramp."""
        return self.goal_at(self.clock.now()) if self.ramping else self.setpoint

    @property
    def ramping(self) -> bool:
        return self.clock.now() < self._ramp_end()

    @property
    def temperature(self) -> float:
        return self.temperature_at(self.clock.now())

    def reading(self, offset: float = 0.0) -> float:
        """A thermometer reading (K): the true temperature :attr:`thermometer_lag` s ago (not
        before the last command), with seeded fluctuation."""
        true = self.temperature_at(max(self.clock.now() - self.thermometer_lag, self._t0)) + offset
        return true * (1.0 + self.fluctuation * self.rng.standard_normal())

    def heater_percent(self) -> float:
        """Heater output (% of range): what holding the present goal takes."""
        if self.heater_range <= 0:
            return 0.0
        ceiling = self.range_ceilings[min(self.heater_range, len(self.range_ceilings) - 1)]
        span = max(ceiling - self.base_temperature, 1e-12)
        return 100.0 * min(1.0, max(0.0, (self._goal - self.base_temperature) / span)) ** 0.5

    def _restart(self) -> None:
        now = self.clock.now()
        self._T0 = self.temperature_at(now) - self.excursion - self.scheduled_excursion(now)
        self._goal0 = self.goal_at(now) if self.ramp_rate > 0 else self._T0
        self._t0 = now
        self._goal = self._effective_goal()
        if self.ramp_rate <= 0:
            self._goal0 = self._goal

    def set_setpoint(self, kelvin: float) -> None:
        self._restart()
        self.setpoint = kelvin
        self._goal = self._effective_goal()

    def set_ramp(self, kelvin_per_second: float) -> None:
        """Set-point ramp rate (K/s); 0 switches ramping off (set-points become steps)."""
        self._restart()
        self.ramp_rate = max(0.0, float(kelvin_per_second))
        if self.ramp_rate <= 0:
            self._goal0 = self._goal

    def set_heater_range(self, index: int) -> None:
        self._restart()
        self.heater_range = int(index)
        self._goal = self._effective_goal()
