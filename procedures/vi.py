"""vi: DC voltage-current characteristics of the channel at a list of temperatures (paper, ED3).

At each temperature of ``temperatures`` (outer axis, set and stabilised, with the
current at zero while it changes) the SMU sources log-spaced DC currents from
``current_min`` to ``current_max`` (``points_per_decade`` per decade; then the same
negative currents if ``bipolar``) through the ``four_probe`` configuration and reads
the voltage. The lock-in excitation is at its minimum throughout. Near the BKT
transition V ~ I^alpha with alpha = 3 at T_BKT, 1 in the normal state.
Columns: temperature (K, measured), current (A, sourced), voltage (V, measured).
"""

from __future__ import annotations

import math

import numpy as np
from pymeasure.experiment import BooleanParameter, FloatParameter, IntegerParameter

from cryo_acq.run.measure import go_to_temperature, set_bias
from cryo_acq.run.sweeps import Axis, Plan

from .base import CryoProcedure, ProcedureError, ValuesParameter, check_source, parse_values


def log_currents(procedure) -> np.ndarray:
    """``current_min`` .. ``current_max`` log-spaced, ``points_per_decade`` per decade."""
    low, high, per_decade = procedure.current_min, procedure.current_max, procedure.points_per_decade
    for name, value in (("current_min", low), ("current_max", high)):
        if not (math.isfinite(value) and value > 0):
            raise ProcedureError(f"{procedure.NAME}: {name} must be a current > 0 A (log-spaced), got {value!r}")
    if high < low:
        raise ProcedureError(f"{procedure.NAME}: current_max {high:g} A is below current_min {low:g} A")
    if high == low:
        return np.array([low])
    steps = max(1, round(math.log10(high / low) * per_decade))
    return np.geomspace(low, high, steps + 1)


class VI(CryoProcedure):
    NAME = "vi"
    CONFIGURATION = "four_probe"
    COLUMNS = {"temperature": "K", "current": "A", "voltage": "V"}
    STEPPED_ONLY = ("its voltage is the SMU's own DC reading, with no filter to wait out or correct, so a "
                    "point costs one integration plus settle_time; settle_time=0 is its fastest sweep")

    temperatures = ValuesParameter("Temperatures (comma-separated)", units="K", default="6.2, 6.3, 6.4, 7.0")
    current_min = FloatParameter("Smallest current", units="A", minimum=0.0, maximum=0.1, default=1e-7)
    current_max = FloatParameter("Largest current", units="A", minimum=0.0, maximum=0.1, default=1e-5)
    points_per_decade = IntegerParameter("Points per decade", minimum=1, maximum=1000, default=10)
    bipolar = BooleanParameter("Negative currents too", default=False)
    settle_time = FloatParameter("Wait after each current step", units="s", minimum=0.0, maximum=3600.0,
                                 default=0.1)
    # DC only: the lock-in settings CryoProcedure shares are not parameters of this one
    excitation = time_constant = settle_fraction = None

    def plan(self):
        temperatures = parse_values(self, "temperatures")
        currents = log_currents(self)
        if self.bipolar:
            currents = np.concatenate([currents, -currents])
        return Plan(Axis("current", "A", currents), outer=Axis("temperature", "K", temperatures))

    def check(self, station, plan) -> None:
        super().check(station, plan)  # temperatures; currents with the lock-in's least AC left flowing
        check_source(self, station, self.CONFIGURATION)

    def prepare(self, station) -> None:
        station.temperature.stop_ramp()  # set-points are steps
        self._temperature = self.plan().outer.values[0]
        go_to_temperature(station, self._temperature)
        self._m = station.use(self.CONFIGURATION)
        lockin = self._m.lockin
        lockin.set_excitation(lockin.min_excitation)  # DC only
        self._m.source.enable()  # 0 A; compliance: the configuration's max_voltage (or the SMU limit)

    def measure(self, station, point) -> dict:
        source = self._m.source
        temperature, current = point.setpoints["temperature"], point.setpoints["current"]
        if temperature != self._temperature:
            source.set_current(0.0)  # no current while the temperature changes
            go_to_temperature(station, temperature)
            self._temperature = temperature
        set_bias(self._m, current)
        station.clock.sleep(self.settle_time)
        voltage = source.measure_voltage()
        if source.compliance_tripped:
            raise RuntimeError(f"{self.NAME}: the SMU reached its voltage compliance at {current:g} A, "
                                 f"{temperature:g} K (read {voltage:g} V); lower current_max")
        return {"temperature": station.temperature.temperature(), "current": current, "voltage": voltage}
