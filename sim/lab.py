"""One simulated lab: clock, fridge, magnet axes, sample and the wiring between them.

Every simulated instrument model belongs to one lab. The lab couples them: the
SMU's DC current and the magnet's field reach the sample, the sample's response
reaches the lock-in inputs it is wired to, the heater moves the thermometers.
All of it evolves in the station clock's time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .models.fridge import Fridge
from .models.magnet import MagnetAxis
from .sample import Environment, ResistiveSample, SampleModel

AXES = ("x", "y", "z")
#: T: how far a ramping field may move between two samples of a lock-in's input
FIELD_RESOLUTION = 50e-6


@dataclass
class LockInRoute:
    """What a lock-in's input sees and how its sine output excites the sample."""

    configuration: str
    series_resistor: float  #: ohm, sine out -> sample
    preamp_gain: float = 1.0  #: voltage gain in front of the input
    channel: str | None = None  #: non-local channel name, if any


@dataclass(frozen=True)
class FridgeSpec:
    base_temperature: float  #: K
    time_constant: float  #: s
    range_ceilings: tuple[float, ...]  #: K per heater range (index 0 = off)
    start_temperature: float | None = None  #: K; None = base
    #: s the sample thermometer reads behind the sample (its thermal link; a choice of this simulation)
    thermometer_lag: float = 0.0


VTI = FridgeSpec(base_temperature=1.45, time_constant=90.0,
                 range_ceilings=(0.0, 20.0, 80.0, 320.0), start_temperature=1.5, thermometer_lag=1.5)
DILUTION_LS372 = FridgeSpec(base_temperature=0.012, time_constant=300.0,
                            range_ceilings=(0.0, 0.02, 0.04, 0.08, 0.15, 0.35, 0.8, 2.0, 6.0),
                            start_temperature=0.05, thermometer_lag=5.0)
DILUTION = FridgeSpec(base_temperature=0.012, time_constant=300.0,
                      range_ceilings=(0.0, 0.03, 0.1, 0.3, 1.0, 12.0, 40.0), start_temperature=0.05,
                      thermometer_lag=5.0)


class SimLab:
    """The simulated cryostat, sample and wiring, shared by all simulated instruments."""

    def __init__(self, clock, sample: SampleModel | None = None, seed: int = 0,
                 fridge: FridgeSpec = VTI, io_latency: float = 0.002):
        self.clock = clock
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.sample = sample if sample is not None else ResistiveSample()
        self.io_latency = io_latency  #: s of station time per VISA message
        self.fridge = Fridge(clock, self._child_rng(), fridge.base_temperature, fridge.time_constant,
                             list(fridge.range_ceilings), fridge.start_temperature,
                             thermometer_lag=fridge.thermometer_lag)
        self.axes: dict[str, MagnetAxis] = {}
        self.lockin_routes: dict[str, LockInRoute] = {}
        self.source_routes: dict[str, str] = {}  # SMU name -> configuration it drives
        self.models: dict[str, Any] = {}  # instrument name -> live model

    def _child_rng(self) -> np.random.Generator:
        return np.random.default_rng(self.rng.integers(2**63))

    # --- assembly
    def add_model(self, name: str, model: Any) -> Any:
        self.models[name] = model
        return model

    def add_axis(self, axis: str, max_field: float, max_rate: float) -> MagnetAxis:
        if axis not in AXES:
            raise ValueError(f"magnet axis must be one of {AXES}, got {axis!r}")
        if axis in self.axes:
            raise ValueError(f"two supplies drive magnet axis {axis!r}")
        self.axes[axis] = MagnetAxis(self.clock, max_field, max_rate)
        return self.axes[axis]

    def route_lockin(self, lockin: str, route: LockInRoute) -> None:
        self.lockin_routes[lockin] = route

    def route_source(self, source: str, configuration: str) -> None:
        self.source_routes[source] = configuration

    # --- the environment
    def field_at(self, t: float) -> tuple[float, float, float]:
        return tuple(self.axes[a].field_at(t) if a in self.axes else 0.0 for a in AXES)  # type: ignore[return-value]

    def fine_window(self, since: float) -> tuple[float, float, float] | None:
        """(start, end, step): where, between ``since`` and now, a magnet axis ramped, and
        how often a lock-in must sample its input there so the field moves at most
        :data:`FIELD_RESOLUTION` between samples (the sample then sees a switching field
        where it is, not up to a filter step later). None when no field moved since then."""
        windows = [(axis.ramp_start_time(), axis.ramp_end_time(), FIELD_RESOLUTION / axis.rate)
                   for axis in self.axes.values() if axis.moving and axis.rate > 0 and axis.ramp_end_time() > since]
        if not windows:
            return None
        return min(w[0] for w in windows), max(w[1] for w in windows), min(w[2] for w in windows)

    def environment(self, t: float | None = None) -> Environment:
        t = self.clock.now() if t is None else t
        return Environment(t=t, temperature=max(self.fridge.temperature_at(t), 1e-4), field=self.field_at(t))

    def dc_current(self, configuration: str, t: float | None = None) -> float:
        """Sum of the DC currents the SMUs drive through ``configuration`` (A) at station
        time ``t`` (default now)."""
        total = 0.0
        for source, conf in self.source_routes.items():
            if conf == configuration:
                total += self.models[source].output_current_at(t)
        return total

    # --- what instruments measure
    def lockin_input(self, lockin: str, t: float, excitation_rms: float) -> complex:
        """Complex voltage (V rms) at a lock-in input at station time ``t``."""
        route = self.lockin_routes.get(lockin)
        if route is None:
            return 0j
        env = self.environment(t)
        self.sample.observe(env)
        i_ac = excitation_rms / route.series_resistor
        r_diff = self.sample.differential_resistance(
            route.configuration, self.dc_current(route.configuration, t), env, route.channel)
        return complex(route.preamp_gain * i_ac * r_diff)

    def source_voltage(self, source: str, current: float, t: float | None = None) -> float:
        """DC voltage (V) an SMU sees when it drives ``current`` (A) at station time ``t``
        (default now). The sample is observed at ``t``, never later: a lock-in's filter
        integrating its past asks for the past, and a later observation would show it a
        history-dependent state (a switched electrode) before its time."""
        configuration = self.source_routes.get(source)
        if configuration is None:
            return 0.0  # open terminals: no current path, no drop modelled
        env = self.environment(t)
        self.sample.observe(env)
        route = next((r for r in self.lockin_routes.values() if r.configuration == configuration), None)
        return self.sample.voltage(configuration, current, env, route.channel if route else None)

    # --- time
    def advance(self) -> None:
        """Bring every time-dependent model up to now. Called before any state change
        (a live SET, a re-routing), so each model's past stays consistent."""
        for model in self.models.values():
            advance = getattr(model, "advance", None)
            if advance is not None:
                advance()
