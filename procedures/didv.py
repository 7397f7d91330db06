"""didv: tunnelling spectroscopy of the Co / BN / Co-NbSe2 junction (paper, Fig. 2c-d).

The SMU sweeps a DC bias current through the junction (configuration ``mtj``) from
``bias_min`` to ``bias_max`` in ``bias_step`` (either way) while the lock-in adds
its small AC current and reads dV/dI; the SMU reads the junction's DC voltage.
dI/dV = 1/(dV/dI) against the bias voltage shows the superconducting gap and, in
the ferromagnetic phase (below T_K and B_K), a zero-bias peak.

The outer axis is either the temperature (``versus=temperature``: the list
``temperatures``, at the fixed in-plane field ``field``) or the in-plane field on x
(``versus=field``: the list ``fields``, at the fixed ``temperature``).
Columns: temperature (K) and field (T on x), both measured at every point whichever
is the outer axis (the plan's outer axis says which one the run steps); bias_voltage
(V, the junction's DC voltage); didv (S); bias_voltage_at_reading (V); lockin_tau (s),
lockin_poles; time (s, of the reading). With ``mode=adaptive`` each line measures only
``adaptive_points`` of its planned biases, chosen where dI/dV changes (coherence peaks,
the zero-bias peak; ``cryo_acq/run/adaptive.py``). With ``mode=continuous`` the bias of
each line moves at ``bias_rate`` (stepped by the SMU in tenths of a step at the sweep's
polls) and the lock-in is read on the fly, each reading assigned to the bias and the
junction voltage one lock-in delay before it (``cryo_acq/run/continuous.py``).
"""

from __future__ import annotations

import numpy as np
from pymeasure.experiment import FloatParameter, ListParameter

from cryo_acq.run.continuous import FILTER_COLUMNS, ContinuousSweep, SourceRamp, filter_columns
from cryo_acq.run.measure import go_to_temperature, read_resistance, set_bias, setup_lockin
from cryo_acq.run.sweeps import Axis, Plan, span

from .base import (CryoProcedure, ValuesParameter, accept_rate_error_parameter, adaptive_points_parameter,
                   adaptive_seconds_parameter, check_excitation, check_source, measured_field, parse_values, sweep_mode_parameter)
from .rt import check_fixed_field, uses_field

_OUTER_UNITS = {"temperature": "K", "field": "T"}


class DIDV(CryoProcedure):
    NAME = "didv"
    CONFIGURATION = "mtj"
    # both the temperature and the field are read at every point, whichever is the outer axis
    COLUMNS = {"temperature": "K", "field": "T", "bias_voltage": "V", "didv": "S", "bias_voltage_at_reading": "V",
               **FILTER_COLUMNS}
    SIGNAL = "didv"
    CONTINUOUS = "bias"
    CONTINUOUS_RATE, CONTINUOUS_STEP = "bias_rate", "bias_step"

    versus = ListParameter("Outer axis", choices=["temperature", "field"], default="temperature")
    temperatures = ValuesParameter("Temperatures (versus temperature; comma-separated)", units="K",
                                   default="1.5, 3.0, 4.5, 6.0")
    fields = ValuesParameter("In-plane fields on x (versus field; comma-separated)", units="T",
                             default="0, 1, 2, 3, 4")
    temperature = FloatParameter("Temperature (versus field)", units="K", minimum=0.0, maximum=400.0, default=1.5)
    field = FloatParameter("In-plane field on x (versus temperature)", units="T", minimum=-20.0, maximum=20.0,
                           default=0.0)
    field_rate = FloatParameter("Field ramp rate", units="T/s", minimum=0.0, maximum=1.0, default=0.005)
    bias_min = FloatParameter("First DC bias current", units="A", minimum=-1e-3, maximum=1e-3, default=-0.06e-6)
    bias_max = FloatParameter("Last DC bias current", units="A", minimum=-1e-3, maximum=1e-3, default=0.06e-6)
    bias_step = FloatParameter("Bias step (signed)", units="A", minimum=-1e-3, maximum=1e-3, default=0.005e-6)
    mode = sweep_mode_parameter(adaptive=True)
    adaptive_points = adaptive_points_parameter()
    adaptive_seconds = adaptive_seconds_parameter()
    bias_rate = FloatParameter("Bias ramp rate (continuous)", units="A/s", minimum=0.0, maximum=1.0, default=2.5e-9)
    accept_rate_error = accept_rate_error_parameter()

    # --- plan and checks
    def plan(self):
        biases = span(self.bias_min, self.bias_max, self.bias_step, "bias")
        outer = parse_values(self, "temperatures" if self.versus == "temperature" else "fields")
        return Plan(Axis("bias_current", "A", biases), outer=Axis(self.versus, _OUTER_UNITS[self.versus], outer),
                    **self.sweep_mode())

    def check(self, station, plan) -> None:
        super().check(station, plan)  # the outer temperatures or fields; every DC bias plus the AC peak
        check_source(self, station, self.CONFIGURATION)
        if self.versus == "temperature":
            check_fixed_field(self, station, self.field, self.field_rate)
        else:
            station.safety.check_temperature(self.temperature)
            station.safety.check_rate("x", self.field_rate)
        check_excitation(self, station, self.CONFIGURATION, dc=0.0)

    # --- running
    def prepare(self, station) -> None:
        first = self.plan().points[0].setpoints
        station.temperature.stop_ramp()  # set-points are steps
        self._outer = first[self.versus]
        if self.versus == "field":
            station.magnet.ramp_to(x=self._outer, rate=self.field_rate)
            go_to_temperature(station, self.temperature)
        else:
            if uses_field(station, self.field):
                station.magnet.ramp_to(x=self.field, rate=self.field_rate)
            go_to_temperature(station, self._outer)
        self._m = station.use(self.CONFIGURATION)
        self._m.source.enable()  # 0 A; compliance: the junction's max_voltage
        setup_lockin(self._m, self.lockin_settings())
        set_bias(self._m, first["bias_current"])
        self._filter = filter_columns(self._m.lockin)
        self._sweep = None
        if self.continuous:
            self._sweep = ContinuousSweep(station, SourceRamp(station, self._m.source, self.bias_rate,
                                                              self.bias_step / 10), self.bias_step, self.note)
        self._line_started = False

    def measure(self, station, point) -> dict:
        source = self._m.source
        outer, bias = point.setpoints[self.versus], point.setpoints["bias_current"]
        if outer != self._outer or (self.versus == "field" and station.magnet.ramping):
            source.set_current(0.0)  # zero bias while the temperature or field changes
            if self.versus == "field":
                station.magnet.ramp_to(x=outer, rate=self.field_rate)
            else:
                go_to_temperature(station, outer)
            self._outer = outer
            self._line_started = False
        if self._sweep is not None:
            voltage, didv, at_reading, t = self._continuous(station, bias)
        else:
            source.set_current(bias)
            resistance = read_resistance(self._m, self.lockin_settings())
            t = station.clock.now()
            voltage = at_reading = source.measure_voltage()
            didv = 1.0 / resistance if resistance else float("nan")
        return {"temperature": station.temperature.temperature(), "field": measured_field(station),
                "bias_voltage": voltage, "didv": didv, "bias_voltage_at_reading": at_reading, **self._filter,
                "time": t}

    def _continuous(self, station, bias: float):
        """One reading of a line swept as one bias ramp (a new line starts settled at its
        first bias). The reading belongs to the bias one lock-in delay before it; the
        junction voltage there is interpolated in V(I), measured at every reading with the
        bias set then (the source sets the current exactly; V is a smooth function of it)."""
        sweep, source = self._sweep, self._m.source
        if not self._line_started:
            source.set_current(self.bias_min)
            sweep.mover.reset()
            self._m.lockin.settle(self.settle_fraction)
            sweep.start(self._m.lockin)
            self._iv = ([self.bias_min], [source.measure_voltage()])
            self._line_started = True
        sweep.pass_point(bias, self.bias_max, 1 if self.bias_max >= self.bias_min else -1)
        resistance, current, _, t = sweep.read(self._m.lockin, self.settle_fraction)
        at_reading = source.measure_voltage()
        self._iv[0].append(sweep.mover.applied)
        self._iv[1].append(at_reading)
        currents, voltages = self._iv
        if self.bias_max < self.bias_min:  # np.interp wants the currents rising; a line is monotonic
            currents, voltages = currents[::-1], voltages[::-1]
        voltage = float(np.interp(current, currents, voltages))
        didv = 1.0 / resistance if resistance else float("nan")
        return voltage, didv, at_reading, t
