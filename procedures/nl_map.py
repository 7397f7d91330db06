"""nl-map: non-local resistance over injection current x in-plane field (paper, Fig. 4b; ED8).

For every DC injection current (outer axis) the electrodes are saturated again at
``preparation_field`` along x, then the field sweeps ``field_start`` -> ``field_stop``
(inner axis) in steps, reading R_NL at each. Every line of the map therefore starts
from the same prepared (parallel) state and crosses the same coercive fields in the
same direction: the map is not a snake (a line swept backwards would start from the
state the previous line left, and its switching would sit at other fields). Columns:
injection_current (A), field (T, measured), r_nonlocal (ohm); the run file's /grid
holds the map (outer x inner).
"""

from __future__ import annotations

from pymeasure.experiment import FloatParameter

from cryo_acq.run.measure import read_resistance, set_bias, setup_lockin
from cryo_acq.run.sweeps import Axis, Plan, span

from .nl_switch import NonLocalProcedure


class NLMap(NonLocalProcedure):
    NAME = "nl-map"
    COLUMNS = {"injection_current": "A", "field": "T", "r_nonlocal": "Ohm"}

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

    def plan(self):
        currents = span(self.current_start, self.current_stop, self.current_step, "injection_current")
        fields = span(self.field_start, self.field_stop, self.field_step, "field")
        return Plan(Axis("field", "T", fields), outer=Axis("injection_current", "A", currents), snake=False)

    def check(self, station, plan) -> None:
        self.check_common(station, plan, axes=("x",))
        self.check_fields(station, [{"x": self.preparation_field}] + [{"x": b} for b in plan.inner.values])
        station.safety.check_rate("x", self.rate)
        self.check_excitation(station, plan.outer.values)

    def prepare(self, station) -> None:
        self.select(station)
        set_bias(self._m, float(self.plan().outer.values[0]))
        setup_lockin(self._m, self.lockin_settings())
        self._line = None  # injection current of the line prepared last; each line prepares itself

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
        else:
            station.magnet.ramp_to(x=point.setpoints["field"], rate=self.rate)
        r_nonlocal = read_resistance(self._m, self.lockin_settings())
        return {"injection_current": current, "field": station.magnet.field()["x"], "r_nonlocal": r_nonlocal}
