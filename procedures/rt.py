"""rt: four-probe resistance of the channel against temperature (paper, Fig. 1c).

The lock-in reads the channel's dV/dI (configuration ``four_probe``) while the
temperature goes from ``temperature_start`` to ``temperature_stop`` (either way) in
steps of ``temperature_step``, at a fixed in-plane field ``field`` on axis x.

* ``stepped``: at each planned temperature, set it, wait until it is stable, read.
* ``continuous``: from a stable ``temperature_start``, ramp the controller's set-point
  to ``temperature_stop`` at ``ramp_rate`` (K/s); the lock-in is read one filter delay
  after the measured temperature passed each planned temperature, each reading assigned
  to the temperature measured that delay before it (``cryo_acq/run/continuous.py``); the
  ramp is switched off when the run is complete.
* ``adaptive``: stepped, but only ``adaptive_points`` of the planned temperatures, chosen
  where R(T) changes (``cryo_acq/run/adaptive.py``).

Every row records the measured temperature, never the set-point. Columns:
temperature (K), field (T, measured on x; 0 on a station without a magnet),
resistance (ohm), temperature_at_reading (K), lockin_tau (s), lockin_poles; time is
the reading's.

The helpers below (:func:`parse_values`, :class:`ValuesParameter`,
:func:`check_excitation`, :func:`check_fixed_field`) are shared by the rt-map, vi and
didv procedures.
"""

from __future__ import annotations


from pymeasure.experiment import FloatParameter

from cryo_acq.run.continuous import FILTER_COLUMNS, ContinuousSweep, TemperatureRamp, filter_columns
from cryo_acq.run.measure import go_to_temperature, read_resistance, setup_lockin
from cryo_acq.run.sweeps import Axis, Plan, span

from .base import (CryoProcedure, ProcedureError, accept_rate_error_parameter, adaptive_points_parameter,
                   adaptive_seconds_parameter, check_excitation, measured_field, sweep_mode_parameter)


# --------------------------------------------------------------------------- helpers of the R-T family
def uses_field(station, field: float) -> bool:
    """A fixed in-plane field on x is set when it is nonzero or the station has an x axis."""
    return field != 0 or (station.magnet is not None and "x" in station.magnet.axes)


def check_fixed_field(procedure, station, field: float, rate: float) -> None:
    """A fixed in-plane field on axis x (and its ramp rate) within the station's limits."""
    if not uses_field(station, field):
        return
    procedure.check_axis(station, "x")
    station.safety.check_field({"x": field}, station.magnet.targets)
    station.safety.check_rate("x", rate)


def direction_of(start: float, stop: float) -> int:
    return 1 if stop >= start else -1


def pass_tolerance(step: float, kelvin: float) -> float:
    """How close (K) to ``kelvin`` counts as having reached it in a continuous temperature
    sweep: the stage approaches the end of a ramp exponentially, so the end needs a margin;
    a quarter step at most."""
    return min(abs(step) / 4, max(1e-3, 2e-3 * abs(kelvin)))


# --------------------------------------------------------------------------- the procedure
class RT(CryoProcedure):
    NAME = "rt"
    CONFIGURATION = "four_probe"
    COLUMNS = {"temperature": "K", "field": "T", "resistance": "Ohm", "temperature_at_reading": "K",
               **FILTER_COLUMNS}
    SIGNAL = "resistance"
    CONTINUOUS_RATE, CONTINUOUS_STEP = "ramp_rate", "temperature_step"
    CONTINUOUS = "temperature"

    temperature_start = FloatParameter("Start temperature", units="K", minimum=0.0, maximum=400.0, default=7.0)
    temperature_stop = FloatParameter("Stop temperature", units="K", minimum=0.0, maximum=400.0, default=6.0)
    temperature_step = FloatParameter("Temperature step (signed)", units="K", minimum=-100.0, maximum=100.0,
                                      default=-0.02)
    field = FloatParameter("In-plane field on x", units="T", minimum=-20.0, maximum=20.0, default=0.0)
    field_rate = FloatParameter("Field ramp rate", units="T/s", minimum=0.0, maximum=1.0, default=0.005)
    mode = sweep_mode_parameter(adaptive=True)
    adaptive_points = adaptive_points_parameter()
    adaptive_seconds = adaptive_seconds_parameter()
    accept_rate_error = accept_rate_error_parameter()
    ramp_rate = FloatParameter("Temperature ramp rate (continuous)", units="K/s", minimum=0.0, maximum=10.0,
                               default=0.005)
    excitation = FloatParameter("Excitation current", units="A", minimum=1e-12, maximum=1e-3, default=100e-9)

    def plan(self):
        values = span(self.temperature_start, self.temperature_stop, self.temperature_step, "temperature")
        if self.continuous and values.size < 2:
            raise ProcedureError(f"{self.NAME}: continuous mode needs temperature_stop != temperature_start")
        return Plan(Axis("temperature", "K", values), **self.sweep_mode())

    def check(self, station, plan) -> None:
        super().check(station, plan)
        if plan.mode == "continuous":
            station.temperature.check_ramp(self.temperature_stop, self.ramp_rate)
        check_fixed_field(self, station, self.field, self.field_rate)
        check_excitation(self, station, self.CONFIGURATION)

    def prepare(self, station) -> None:
        tc = station.temperature
        tc.stop_ramp()  # set-points are steps (a ramp left on would slow every later step)
        if uses_field(station, self.field):
            station.magnet.ramp_to(x=self.field, rate=self.field_rate)
        go_to_temperature(station, self.temperature_start)
        self._m = station.use(self.CONFIGURATION)
        setup_lockin(self._m, self.lockin_settings())
        self._filter = filter_columns(self._m.lockin)
        self._sweep = None
        if self.continuous:
            tolerance = pass_tolerance(self.temperature_step, self.temperature_stop)
            self._sweep = ContinuousSweep(station, TemperatureRamp(station, self.ramp_rate), self.temperature_step,
                                          self.note, tolerance=tolerance)
            self._sweep.start(self._m.lockin)

    def measure(self, station, point) -> dict:
        target = point.setpoints["temperature"]
        if self._sweep is not None:
            self._sweep.pass_point(target, self.temperature_stop,
                                   direction_of(self.temperature_start, self.temperature_stop))
            resistance, temperature, at_reading, t = self._sweep.read(self._m.lockin, self.settle_fraction)
        else:
            go_to_temperature(station, target)
            resistance = read_resistance(self._m, self.lockin_settings())
            t = station.clock.now()
            temperature = at_reading = station.temperature.temperature()
        return {"temperature": temperature, "field": measured_field(station), "resistance": resistance,
                "temperature_at_reading": at_reading, **self._filter, "time": t}

    def finish(self, station) -> None:
        if self.continuous:
            station.temperature.stop_ramp()  # later set-points are steps again
