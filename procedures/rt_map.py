"""rt-map: the R(T, B) phase diagram of the channel (paper, Fig. 2a).

Outer axis the field on ``axis`` (x: in plane, along the Co easy axis; z: out of
plane), from ``field_start`` to ``field_stop`` in ``field_step``; inner axis the
temperature, ``temperature_start`` to ``temperature_stop`` in ``temperature_step``,
stepped (set, wait until stable, read the lock-in's dV/dI), or with
``mode=continuous`` one set-point ramp per field at ``ramp_rate``, read on the fly, each
reading assigned to the temperature one lock-in delay before it (as ``rt`` does). With
``snake`` the temperature sweep reverses on every other field, so the map never jumps
back. Columns: temperature (K, measured), field (T, measured on ``axis``), resistance
(ohm), temperature_at_reading (K), lockin_tau (s), lockin_poles; the run file's /grid
holds each column as a field x temperature map.
"""

from __future__ import annotations

from pymeasure.experiment import BooleanParameter, FloatParameter, ListParameter

from cryo_acq.run.continuous import FILTER_COLUMNS, ContinuousSweep, TemperatureRamp, filter_columns
from cryo_acq.run.measure import go_to_temperature, read_resistance, setup_lockin
from cryo_acq.run.sweeps import Axis, Plan, span

from .base import CryoProcedure, accept_rate_error_parameter, check_excitation, sweep_mode_parameter
from .rt import direction_of, pass_tolerance


class RTMap(CryoProcedure):
    NAME = "rt-map"
    CONFIGURATION = "four_probe"
    COLUMNS = {"temperature": "K", "field": "T", "resistance": "Ohm", "temperature_at_reading": "K",
               **FILTER_COLUMNS}
    SIGNAL = "resistance"
    CONTINUOUS_RATE, CONTINUOUS_STEP = "ramp_rate", "temperature_step"
    CONTINUOUS = "temperature"

    temperature_start = FloatParameter("Start temperature", units="K", minimum=0.0, maximum=400.0, default=1.5)
    temperature_stop = FloatParameter("Stop temperature", units="K", minimum=0.0, maximum=400.0, default=7.5)
    temperature_step = FloatParameter("Temperature step (signed)", units="K", minimum=-100.0, maximum=100.0,
                                      default=0.25)
    field_start = FloatParameter("Start field", units="T", minimum=-20.0, maximum=20.0, default=0.0)
    field_stop = FloatParameter("Stop field", units="T", minimum=-20.0, maximum=20.0, default=6.0)
    field_step = FloatParameter("Field step (signed)", units="T", minimum=-20.0, maximum=20.0, default=0.25)
    axis = ListParameter("Field axis", choices=["x", "z"], default="x")
    field_rate = FloatParameter("Field ramp rate", units="T/s", minimum=0.0, maximum=1.0, default=0.005)
    snake = BooleanParameter("Snake (reverse the temperature sweep on every other field)", default=True)
    excitation = FloatParameter("Excitation current", units="A", minimum=1e-12, maximum=1e-3, default=100e-9)
    mode = sweep_mode_parameter()
    accept_rate_error = accept_rate_error_parameter()
    ramp_rate = FloatParameter("Temperature ramp rate (continuous)", units="K/s", minimum=0.0, maximum=10.0,
                               default=0.005)

    def plan(self):
        temperatures = span(self.temperature_start, self.temperature_stop, self.temperature_step, "temperature")
        fields = span(self.field_start, self.field_stop, self.field_step, "field")
        return Plan(Axis("temperature", "K", temperatures), outer=Axis("field", "T", fields), snake=bool(self.snake),
                    **self.sweep_mode())

    def check(self, station, plan) -> None:
        super().check(station, plan)  # the plan's temperatures and fields (on self.axis)
        station.safety.check_rate(self.axis, self.field_rate)
        if plan.mode == "continuous":
            for end in (self.temperature_start, self.temperature_stop):
                station.temperature.check_ramp(end, self.ramp_rate)
        check_excitation(self, station, self.CONFIGURATION)

    @property
    def FIELD_AXES(self):  # noqa: N802 - the field axis is a parameter here
        return {"field": self.axis}

    def prepare(self, station) -> None:
        first = self.plan().points[0].setpoints
        station.temperature.stop_ramp()  # set-points are steps
        station.magnet.ramp_to(rate=self.field_rate, **{self.axis: first["field"]})
        go_to_temperature(station, first["temperature"])
        self._m = station.use(self.CONFIGURATION)
        setup_lockin(self._m, self.lockin_settings())
        self._filter = filter_columns(self._m.lockin)
        self._line = None  # the field of the line under way (continuous)
        self._sweep = None
        if self.continuous:
            tolerance = pass_tolerance(self.temperature_step, min(self.temperature_start, self.temperature_stop))
            self._sweep = ContinuousSweep(station, TemperatureRamp(station, self.ramp_rate), self.temperature_step,
                                          self.note, tolerance=tolerance)

    def measure(self, station, point) -> dict:
        field = point.setpoints["field"]
        if station.magnet.targets[self.axis] != field or station.magnet.ramping:
            station.temperature.stop_ramp()
            station.magnet.ramp_to(rate=self.field_rate, **{self.axis: field})
        if self._sweep is None:
            go_to_temperature(station, point.setpoints["temperature"])
            resistance = read_resistance(self._m, self.lockin_settings())
            t = station.clock.now()
            temperature = at_reading = station.temperature.temperature()
        else:
            resistance, temperature, at_reading, t = self._continuous(station, point, field)
        return {"temperature": temperature, "field": station.magnet.field_on(self.axis), "resistance": resistance,
                "temperature_at_reading": at_reading, **self._filter, "time": t}

    def _continuous(self, station, point, field: float):
        """One reading of a line swept as one set-point ramp (a new line starts stable at its start)."""
        forward = not (self.snake and point.grid[0] % 2 == 1)
        start, end = self.temperature_start, self.temperature_stop
        if not forward:
            start, end = end, start
        if self._line != field:
            go_to_temperature(station, float(start))
            self._sweep.start(self._m.lockin)
            self._line = field
        self._sweep.pass_point(point.setpoints["temperature"], float(end), direction_of(start, end))
        return self._sweep.read(self._m.lockin, self.settle_fraction)

    def finish(self, station) -> None:
        if self.continuous:
            station.temperature.stop_ramp()  # later set-points are steps again
