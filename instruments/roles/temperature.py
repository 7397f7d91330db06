"""The TemperatureController role: sample temperature, set-point, heater range, stability.

Units: kelvin, seconds, watts where a heater is concerned.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import deque

from cryo_acq.station.clock import WaitTimeout

from .base import RoleContext, number


def _numeric(value):
    """A heater range from the station file: a number (YAML may deliver '1e-3' as text) or a name."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


class TemperatureController(ABC):
    """A controller reading the sample thermometer and heating to a set-point."""

    #: (highest set-point in K, heater range) in ascending order; the station's
    #: ``options.heater_ranges`` overrides it.
    default_heater_ranges: tuple[tuple[float, object], ...] = ()
    #: the heater range that means "off"
    off_range: object = 0
    #: (slowest, fastest) set-point ramp rate the controller accepts, K/s; None: no ramp
    ramp_rates: tuple[float, float] | None = None
    #: the controller sets ramp rates in steps of this many K/s (None: any rate in range)
    ramp_rate_step: float | None = None

    def __init__(self, driver, ctx: RoleContext):
        self._driver = driver
        self.name = ctx.name
        self.clock = ctx.clock
        self._safety = ctx.safety
        self.options = dict(ctx.options)
        ranges = self.options.get("heater_ranges")
        self.heater_ranges = (tuple(sorted((float(k), _numeric(v)) for k, v in ranges.items())) if ranges
                              else self.default_heater_ranges)
        lag = self.options.get("thermometer_lag", 0.0)
        try:
            #: s the sample thermometer reads behind the sample while the temperature moves
            #: (``options.thermometer_lag``, measured for the station); continuous sweeps correct for it
            self.thermometer_lag = float(lag)
        except (TypeError, ValueError):
            raise ValueError(f"{self.name}: options.thermometer_lag must be seconds, got {lag!r}") from None
        if not (math.isfinite(self.thermometer_lag) and self.thermometer_lag >= 0):
            raise ValueError(f"{self.name}: options.thermometer_lag must be >= 0 s, got {lag!r}")

    # --- instrument primitives
    @abstractmethod
    def temperature(self) -> float:
        """Sample temperature, K."""

    @property
    @abstractmethod
    def setpoint(self) -> float:
        """Control set-point, K."""

    @abstractmethod
    def _write_setpoint(self, kelvin: float) -> None: ...

    @abstractmethod
    def _write_heater_range(self, heater_range) -> None: ...

    @property
    @abstractmethod
    def heater_range(self): ...

    @abstractmethod
    def heater_output(self) -> float:
        """Heater output, % of range."""

    @abstractmethod
    def identity(self) -> str: ...

    # --- checked operations
    def range_for(self, kelvin: float):
        """The heater range the station's table gives for a set-point."""
        for ceiling, heater_range in self.heater_ranges:
            if kelvin <= ceiling:
                return heater_range
        return self.heater_ranges[-1][1]

    def set_temperature(self, kelvin: float) -> None:
        """New set-point (K) with the matching heater range, as a step (a set-point ramp in
        progress is switched off); refused outside the limits."""
        self._safety.check_temperature(kelvin)
        self.stop_ramp()
        self._write_heater_range(self.range_for(kelvin))
        self._write_setpoint(kelvin)

    # --- set-point ramp (continuous temperature sweeps)
    def check_ramp(self, kelvin: float, rate: float) -> None:
        """Raise, sending nothing, if a ramp to ``kelvin`` at ``rate`` K/s is outside the
        station's temperature limits or beyond what the controller can do."""
        self._safety.check_temperature(kelvin)
        if self.ramp_rates is None:
            raise ValueError(f"{self.name}: {type(self).__name__} has no set-point ramp")
        slowest, fastest = self.ramp_rates
        if not (math.isfinite(rate) and slowest * (1 - 1e-9) <= rate <= fastest * (1 + 1e-9)):
            raise ValueError(f"{self.name}: ramp rate {rate:g} K/s outside the controller's range "
                             f"{slowest:.4g} .. {fastest:.4g} K/s")
        step = self.ramp_rate_step
        if step and abs(rate / step - round(rate / step)) > 1e-6 * max(1.0, rate / step):
            raise ValueError(f"{self.name}: the controller sets ramp rates in steps of {step * 60:g} K/min "
                             f"({step:.4g} K/s); {rate:g} K/s is not one (nearest: "
                             f"{max(1, round(rate / step)) * step:.6g} K/s)")

    def start_ramp(self, kelvin: float, rate: float) -> None:
        """Ramp the set-point from its present value to ``kelvin`` at ``rate`` K/s (up or
        down) and return at once; the sample follows with the cryostat's lag. Refused,
        nothing sent, outside the station's limits or the controller's rates."""
        self.check_ramp(kelvin, rate)
        self._write_heater_range(self.range_for(max(kelvin, self.setpoint)))
        self._write_ramp(True, rate)
        self._write_setpoint(kelvin)

    def stop_ramp(self) -> None:
        """Switch the set-point ramp off: later set-points are steps again. (Stopped during a
        ramp, the controller heads for the ramp's target directly.)"""
        if self.ramp_rates is not None:
            self._write_ramp(False)

    def _write_ramp(self, on: bool, rate: float | None = None) -> None:
        """Ramp on at ``rate`` K/s, or off (keeping the controller's rate)."""
        raise NotImplementedError(f"{type(self).__name__} has no set-point ramp")

    def wait_stable(self, tolerance: float = 0.01, window: float = 60.0, timeout: float = 7200.0,
                    poll: float = 5.0, target: float | None = None) -> float:
        """Wait until every reading over ``window`` s lies within ``tolerance`` K of the
        set-point. Returns the station time waited; raises WaitTimeout."""
        target = self.setpoint if target is None else target
        start = self.clock.now()
        recent: deque[tuple[float, float]] = deque()
        while True:
            now = self.clock.now()
            recent.append((now, self.temperature()))
            while recent and recent[0][0] < now - window:
                recent.popleft()
            if now - start >= window and all(abs(T - target) <= tolerance for _, T in recent):
                return now - start
            if now - start > timeout:
                raise WaitTimeout(f"{self.name}: temperature not stable within {tolerance} K of "
                                  f"{target} K after {timeout:g} s (last {recent[-1][1]:.4g} K)")
            self.clock.sleep(poll)

    def safe(self, mode: str = "keep") -> None:
        """``keep`` the temperature (a set-point ramp stops where it is), or switch the
        heater ``off``."""
        if self.ramp_rates is not None:
            present = self.setpoint  # mid-ramp: the ramping value
            self.stop_ramp()
            self._write_setpoint(present)
        if mode == "off":
            self._write_heater_range(self.off_range)

    def state(self) -> dict:
        return {"temperature_K": self.temperature(), "setpoint_K": self.setpoint,
                "heater_range": self.heater_range, "heater_percent": self.heater_output()}


class LakeShore336Control(TemperatureController):
    """Over pymeasure's LakeShore3xx; options ``sensor: A``, ``output: 1``."""

    default_heater_ranges = ((20.0, "low"), (80.0, "medium"), (400.0, "high"))
    off_range = "off"
    ramp_rates = (0.1 / 60, 100.0 / 60)  # RAMP: 0.1 .. 100 K/min
    ramp_rate_step = 0.1 / 60  # in steps of 0.1 K/min

    def __init__(self, driver, ctx):
        super().__init__(driver, ctx)
        self._input = getattr(driver, f"input_{self.options.get('sensor', 'A')}")
        self._output = getattr(driver, f"output_{self.options.get('output', 1)}")

    def temperature(self) -> float:
        return number(self._input.kelvin, f"{self.name} temperature")

    @property
    def setpoint(self) -> float:
        return self._output.setpoint

    def _write_setpoint(self, kelvin):
        self._output.setpoint = kelvin

    @property
    def heater_range(self):
        return self._output.range

    def _write_heater_range(self, heater_range):
        self._output.range = heater_range

    def heater_output(self) -> float:
        return self._output.output

    def _write_ramp(self, on, rate=None):
        # pymeasure's LakeShore3xx heater channel has no ramp property: RAMP <out>,<0|1>,<K/min>
        output = self._output.id
        if rate is None:  # keep the rate the controller has
            rate = float(self._driver.values(f"RAMP? {output}")[-1]) / 60.0
        self._driver.write(f"RAMP {output},{int(bool(on))},{rate * 60:.1f}")

    def identity(self) -> str:
        return self._driver.id


class TritonControl(TemperatureController):
    """Over the Triton driver; options ``loop_channel: 5`` (mixing chamber, sample thermometer).

    Heater ranges are currents in A (the Triton's mA ranges)."""

    default_heater_ranges = ((0.03, 0.316e-3), (0.1, 1e-3), (0.3, 3.16e-3), (1.0, 10e-3),
                             (12.0, 31.6e-3), (40.0, 0.1))
    off_range = None  # the Triton switches the loop off instead
    ramp_rates = (1e-5, 1.0)  # K/s (the driver's range; the wire unit is K/min)

    def __init__(self, driver, ctx):
        super().__init__(driver, ctx)
        if "loop_channel" in self.options:
            driver.loop_channel = int(self.options["loop_channel"])
        elif driver.find_loop_channel() is None:
            raise ValueError(f"{self.name}: no temperature channel carries the mixing-chamber loop; "
                             "set options.loop_channel")
        self._loop = driver.loop

    def temperature(self) -> float:
        return number(self._loop.temperature, f"{self.name} temperature")

    @property
    def setpoint(self) -> float:
        return self._loop.temperature_setpoint

    def _write_setpoint(self, kelvin):
        self._loop.temperature_setpoint = kelvin

    @property
    def heater_range(self):
        return self._loop.heater_range if self._loop.loop_enabled else None

    def _write_heater_range(self, heater_range):
        if heater_range is None:
            self._loop.loop_enabled = False
        else:
            self._loop.heater_range = heater_range
            self._loop.loop_enabled = True

    def heater_output(self) -> float:
        return float("nan")  # the Triton protocol used here does not report it

    def _write_ramp(self, on, rate=None):
        if on:
            self._loop.ramp_rate = rate
        self._loop.ramp_enabled = bool(on)

    def identity(self) -> str:
        return self._driver.id


class LakeShore372Control(TemperatureController):
    """Over the Lake Shore 372 driver; options ``sensor: 6`` (input of the sample
    thermometer, scanned to on start) and heater ranges as sample-heater currents (A)."""

    default_heater_ranges = ((0.02, 31.6e-6), (0.04, 100e-6), (0.08, 316e-6), (0.15, 1e-3),
                             (0.35, 3.16e-3), (0.8, 10e-3), (2.0, 31.6e-3), (6.0, 0.1))
    off_range = 0
    ramp_rates = (0.001 / 60, 100.0 / 60)  # RAMP: 0.001 .. 100 K/min

    def __init__(self, driver, ctx):
        super().__init__(driver, ctx)
        self._sensor = int(self.options.get("sensor", 6))
        self._input = getattr(driver, f"input_{self._sensor}")
        self._heater = driver.output_0
        driver.scan(self._sensor)

    def temperature(self) -> float:
        return number(self._input.kelvin, f"{self.name} temperature")

    @property
    def setpoint(self) -> float:
        return self._heater.setpoint

    def _write_setpoint(self, kelvin):
        self._heater.setpoint = kelvin

    @property
    def heater_range(self):
        return self._heater.range

    def _write_heater_range(self, heater_range):
        self._heater.range = heater_range

    def heater_output(self) -> float:
        return self._heater.heater_output

    def _write_ramp(self, on, rate=None):
        if rate is None:  # keep the rate the controller has
            rate = self._heater.ramp[1]
        self._heater.ramp = (bool(on), rate)

    def identity(self) -> str:
        return self._driver.id
