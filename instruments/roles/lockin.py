"""The LockIn role: AC excitation through a series resistor, filtered readings.

Units: volts (rms) for excitation and readings, amperes (rms) for the excitation
current, seconds for the time constant, dB/octave for the slope, hertz.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass

from scipy.special import gammaincinv

from .base import RoleContext, WiredRole, number


@dataclass(frozen=True)
class LockInReading:
    x: float  #: V rms, in phase
    y: float  #: V rms, quadrature
    overload: bool  #: input or output overload: the reading is clipped, do not trust it

    @property
    def r(self) -> float:
        return math.hypot(self.x, self.y)


class LockIn(WiredRole, ABC):
    """A lock-in amplifier whose sine output excites the sample through a series resistor."""

    #: smallest and largest sine amplitude the instrument can output (V rms);
    #: the smallest is the safe state
    min_excitation: float = 0.0
    max_excitation: float = float("inf")
    _excitation_kind = "ac_rms"

    def __init__(self, driver, ctx: RoleContext):
        self._driver = driver
        self.name = ctx.name
        self.clock = ctx.clock
        self._safety = ctx.safety
        self._init_wiring(ctx)
        self.series_resistor = ctx.wiring.series_resistor if ctx.wiring else None  #: ohm
        self.preamp_gain = ctx.wiring.preamp_gain if ctx.wiring else 1.0

    # --- instrument primitives
    @property
    @abstractmethod
    def excitation(self) -> float:
        """Sine output amplitude, V rms."""

    @abstractmethod
    def _write_excitation(self, volts: float) -> None: ...

    @property
    @abstractmethod
    def time_constant(self) -> float:
        """Output filter time constant, s."""

    @time_constant.setter
    @abstractmethod
    def time_constant(self, seconds: float) -> None: ...

    @property
    @abstractmethod
    def filter_slope(self) -> int:
        """Output filter slope, dB/octave (6, 12, 18, 24)."""

    @filter_slope.setter
    @abstractmethod
    def filter_slope(self, db_per_octave: int) -> None: ...

    @property
    @abstractmethod
    def sensitivity(self) -> float:
        """Full-scale input, V."""

    @sensitivity.setter
    @abstractmethod
    def sensitivity(self, volts: float) -> None: ...

    @property
    @abstractmethod
    def frequency(self) -> float:
        """Reference frequency, Hz."""

    @frequency.setter
    @abstractmethod
    def frequency(self, hertz: float) -> None: ...

    @abstractmethod
    def measure(self) -> LockInReading:
        """X and Y taken together, with the overload state since the last reading."""

    @abstractmethod
    def identity(self) -> str: ...

    # --- excitation, checked against the limits
    def set_excitation(self, volts: float) -> None:
        """Set the sine amplitude (V rms); the resulting current must be within every
        wired configuration's limit. Nothing is sent if it is not."""
        if not self.min_excitation <= volts <= self.max_excitation:
            raise ValueError(f"{self.name}: sine amplitude {volts:g} V rms outside the instrument's range "
                             f"{self.min_excitation:g} .. {self.max_excitation:g} V rms")
        current = self._current_for(volts)
        for configuration in self.checked_configurations:
            self._safety.check_current(configuration, ac_rms=current)
        self._write_excitation(volts)
        for configuration in self.checked_configurations:
            self._safety.record_current(configuration, ac_rms=current)

    def set_excitation_current(self, amperes: float) -> None:
        """Set the AC excitation current (A rms) through the series resistor."""
        if self.series_resistor is None:
            raise ValueError(f"{self.name}: no series_resistor in the station wiring; "
                             "cannot set an excitation current")
        self.set_excitation(amperes * self.series_resistor)

    @property
    def excitation_current(self) -> float:
        """AC current through the sample (A rms) for the present sine amplitude."""
        return self._current_for(self.excitation)

    def _current_for(self, volts: float) -> float:
        return volts / self.series_resistor if self.series_resistor else 0.0

    # --- settling, from the actual filter
    def settle_time(self, fraction: float = 0.99) -> float:
        """Time (s) for the output to reach ``fraction`` of a step, from the present time
        constant and slope: an n-pole RC cascade follows the regularised incomplete gamma
        function P(n, t/tau), so t = tau * P^-1(n, fraction)."""
        poles = self.filter_slope // 6
        return self.time_constant * float(gammaincinv(poles, fraction))

    def settle(self, fraction: float = 0.99) -> float:
        """Wait (station clock) until a step has settled to ``fraction``; return the wait."""
        wait = self.settle_time(fraction)
        self.clock.sleep(wait)
        return wait

    def resistance(self, reading: LockInReading | None = None) -> float:
        """dV/dI (ohm) from the in-phase reading, excitation current and preamp gain."""
        reading = self.measure() if reading is None else reading
        current = self.excitation_current
        if current <= 0:
            raise ValueError(f"{self.name}: no excitation current; set one before measuring resistance")
        return reading.x / (self.preamp_gain * current)

    def auto_range(self, headroom: float = 2.0, settle_fraction: float = 0.99) -> float:
        """Choose the smallest sensitivity that holds the signal with ``headroom``.

        Steps the sensitivity up while the reading overloads, then sets it to
        ``headroom`` times the magnitude. Waits go through the station clock.
        """
        self.measure()  # clear stale overload flags
        for _ in range(30):
            reading = self.measure()
            if not reading.overload:
                break
            self.sensitivity = self.sensitivity * 2.5
            self.settle(settle_fraction)
        self.sensitivity = max(headroom * self.measure().r, 1e-9)
        return self.sensitivity

    def safe(self) -> None:
        """Excitation to the minimum the instrument allows, read back to confirm."""
        self._write_excitation(self.min_excitation)
        for configuration in self.checked_configurations:
            self._safety.record_current(configuration, ac_rms=self._current_for(self.min_excitation))
        if abs(self.excitation - self.min_excitation) > 1e-6:
            raise RuntimeError(f"{self.name}: excitation did not go to {self.min_excitation} V")

    def state(self) -> dict:
        return {"excitation_V": self.excitation, "excitation_current_A": self.excitation_current,
                "time_constant_s": self.time_constant, "filter_slope_dB_per_oct": self.filter_slope,
                "sensitivity_V": self.sensitivity, "frequency_Hz": self.frequency}


class SR830LockIn(LockIn):
    """LockIn over pymeasure's SR830."""

    min_excitation = 0.004
    max_excitation = 5.0

    @property
    def excitation(self) -> float:
        return self._driver.sine_voltage

    def _write_excitation(self, volts: float) -> None:
        self._driver.sine_voltage = volts

    @property
    def time_constant(self) -> float:
        return self._driver.time_constant

    @time_constant.setter
    def time_constant(self, seconds: float) -> None:
        self._driver.time_constant = seconds

    @property
    def filter_slope(self) -> int:
        return int(self._driver.filter_slope)

    @filter_slope.setter
    def filter_slope(self, db_per_octave: int) -> None:
        self._driver.filter_slope = db_per_octave

    @property
    def sensitivity(self) -> float:
        return self._driver.sensitivity

    @sensitivity.setter
    def sensitivity(self, volts: float) -> None:
        self._driver.sensitivity = min(volts, 1.0)

    @property
    def frequency(self) -> float:
        return self._driver.frequency

    @frequency.setter
    def frequency(self, hertz: float) -> None:
        self._driver.frequency = hertz

    def measure(self) -> LockInReading:
        x, y = self._driver.snap("X", "Y")
        status = int(self._driver.values("LIAS?", cast=int)[0])  # reading clears the bits
        return LockInReading(number(x, f"{self.name} X"), number(y, f"{self.name} Y"), bool(status & 0b101))

    def identity(self) -> str:
        return self._driver.id
