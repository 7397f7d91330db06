"""nl-map: non-local resistance over injection current x in-plane field (paper, Fig. 4b; ED8).

For every DC injection current (outer axis) the electrodes are saturated again at
``preparation_field`` along x, then the field sweeps ``field_start`` -> ``field_stop``
(inner axis) in steps, reading R_NL at each. Every line of the map therefore starts
from the same prepared (parallel) state and crosses the same coercive fields in the
same direction: the map is not a snake (a line swept backwards would start from the
state the previous line left, and its switching would sit at other fields). With
``mode=continuous`` each line is one ramp at ``rate``, read on the fly, each reading
assigned to the field at the lock-in's delay (``cryo_acq/run/continuous.py``). Columns:
injection_current (A), field (T, measured), r_nonlocal (ohm), field_at_reading (T),
lockin_tau (s), lockin_poles; the run file's /grid holds the map (outer x inner).
"""

from __future__ import annotations

from pymeasure.experiment import FloatParameter

from cryo_acq.run.continuous import FILTER_COLUMNS, FieldSweep, field_point, filter_columns
from cryo_acq.run.measure import set_bias, setup_lockin
from cryo_acq.run.sweeps import Axis, Plan, span

from .base import accept_rate_error_parameter, sweep_mode_parameter
from .nl_switch import NonLocalProcedure


class NLMap(NonLocalProcedure):
    NAME = "nl-map"
    COLUMNS = {"injection_current": "A", "field": "T", "r_nonlocal": "Ohm", "field_at_reading": "T",
               **FILTER_COLUMNS}
    SIGNAL = "r_nonlocal"
    CONTINUOUS = "field"

    current_start = FloatParameter("Injection current start", units="A", minimum=-1e-3, maximum=1e-3,
                                   default=-5e-6)
    current_stop = FloatParameter("Injection current stop", units="A", minimum=-1e-3, maximum=1e-3,
                                  default=5e-6)
    current_step = FloatParameter("Injection current step", units="A", minimum=-1e-3, maximum=1e-3,
                                  default=0.05e-6)
    preparation_field = FloatParameter("Preparation field (x), before every line", units="T", minimum=-20.0,
                                       maximum=20.0, default=-0.04)
    field_start = FloatParameter("Field start (x)", units="T", minimum=-20.0, maximum=20.0, default=0.0)
    field_stop = FloatParameter("Field stop (x)", units="T", minimum=-20.0, maximum=20.0, default=0.04)
    field_step = FloatParameter("Field step", units="T", minimum=-1.0, maximum=1.0, default=0.001)
    rate = FloatParameter("Field ramp rate", units="T/s", minimum=0.0, maximum=1.0, default=0.005)
    mode = sweep_mode_parameter()
    accept_rate_error = accept_rate_error_parameter()

    def plan(self):
        currents = span(self.current_start, self.current_stop, self.current_step, "injection_current")
        fields = span(self.field_start, self.field_stop, self.field_step, "field")
        return Plan(Axis("field", "T", fields), outer=Axis("injection_current", "A", currents), snake=False,
                    **self.sweep_mode())

    def check(self, station, plan) -> None:
        self.check_common(station, plan, axes=("x",))
        self.check_fields(station, [{"x": self.preparation_field}] + [{"x": b} for b in plan.inner.values])
        station.safety.check_rate("x", self.rate)
        self.check_excitation(station, plan.outer.values)

    def prepare(self, station) -> None:
        self.select(station)
        set_bias(self._m, float(self.plan().outer.values[0]))
        setup_lockin(self._m, self.lockin_settings())
        self._filter = filter_columns(self._m.lockin)
        self._line = None  # injection current of the line prepared last; each line prepares itself
        self._sweep = FieldSweep(station, "x", self.rate, self.field_step, self.note) if self.continuous else None

    def _prepare_line(self, station, current: float) -> None:
        """The injection current, then the prepared magnetic state again."""
        set_bias(self._m, current)
        self.magnetise(station, self.preparation_field, self.rate)
        self._line = current

    def measure(self, station, point) -> dict:
        current = point.setpoints["injection_current"]
        # a new line (or its first point again, on a retry) starts from the prepared state;
        # the sweep from there to any point of the line crosses the coercive fields as the line would
        if self._line != current or point.grid[1] == 0:
            self._prepare_line(station, current)
            station.magnet.ramp_to(x=point.setpoints["field"], rate=self.rate)
            self._m.lockin.settle(self.settle_fraction)
            self._m.lockin.auto_range(settle_fraction=self.settle_fraction)  # R_NL scales with I_inj
            if self._sweep is not None:
                self._sweep.start(self._m.lockin)
        direction = 1 if self.field_stop >= self.field_start else -1
        reading = field_point(station, self._m, self.lockin_settings(), point, self.rate, self._sweep,
                              end=self.field_stop, direction=direction)
        return {"injection_current": current, "field": reading.value, "r_nonlocal": reading.resistance,
                "field_at_reading": reading.at_reading, **self._filter, "time": reading.time}
