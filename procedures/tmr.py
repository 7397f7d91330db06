"""tmr: tunnelling magnetoresistance loops of the Co / BN / Co-NbSe2 junction.

At a fixed temperature and DC bias, the in-plane field along the easy axis (x)
goes -field_max -> +field_max -> -field_max in steps; at each step the lock-in
reads the junction's dV/dI. With ``mode=continuous`` the field ramps through each
branch at ``rate`` and the lock-in is read on the fly, each reading assigned to the
field at the lock-in's delay (``cryo_acq/run/continuous.py``). Columns: temperature (K),
field (T, measured), direction (+1 up, -1 down), resistance (ohm), field_at_reading (T),
lockin_tau (s) and lockin_poles (the filter as read back, for deconvolution); time is the
reading's.
"""

from __future__ import annotations

from pymeasure.experiment import FloatParameter

from cryo_acq.run.continuous import FILTER_COLUMNS, FieldSweep, field_point, filter_columns
from cryo_acq.run.measure import go_to_temperature, set_bias, setup_lockin
from cryo_acq.run.sweeps import Axis, Plan, loop

from .base import CryoProcedure, accept_rate_error_parameter, check_excitation, sweep_mode_parameter


class TMR(CryoProcedure):
    NAME = "tmr"
    CONFIGURATION = "mtj"
    #: ``field``: the field each reading belongs to (continuous: at the lock-in's delay);
    #: ``field_at_reading``: the field measured when the lock-in was read
    COLUMNS = {"temperature": "K", "field": "T", "direction": "", "resistance": "Ohm", "field_at_reading": "T",
               **FILTER_COLUMNS}
    SIGNAL = "resistance"

    temperature = FloatParameter("Temperature", units="K", minimum=0.0, maximum=400.0, default=1.5)
    field_max = FloatParameter("Field amplitude", units="T", minimum=0.0, maximum=20.0, default=0.05)
    field_step = FloatParameter("Field step", units="T", minimum=0.0, maximum=1.0, default=0.002)
    current = FloatParameter("DC bias current", units="A", minimum=-1e-3, maximum=1e-3, default=0.1e-6)
    rate = FloatParameter("Field ramp rate", units="T/s", minimum=0.0, maximum=1.0, default=0.005)
    mode = sweep_mode_parameter()
    accept_rate_error = accept_rate_error_parameter()
    CONTINUOUS = "field"

    def plan(self):
        values, directions = loop(self.field_max, self.field_step, "field")
        return Plan(Axis("field", "T", values), directions=directions, **self.sweep_mode())

    def check(self, station, plan) -> None:
        super().check(station, plan)  # the loop's fields, -field_max .. field_max, on x
        safety = station.safety
        safety.check_temperature(self.temperature)
        safety.check_rate("x", self.rate)
        check_excitation(self, station, self.CONFIGURATION, dc=self.current)

    def prepare(self, station) -> None:
        go_to_temperature(station, self.temperature)
        self._m = station.use(self.CONFIGURATION)
        set_bias(self._m, self.current)
        setup_lockin(self._m, self.lockin_settings())
        self._filter = filter_columns(self._m.lockin)
        station.magnet.ramp_to(x=-self.field_max, rate=self.rate)  # both electrodes saturated along -x
        if self.continuous:
            self._sweep = FieldSweep(station, "x", self.rate, self.field_step, self.note)
            self._sweep.start(self._m.lockin)

    def prepare_from(self, station, point) -> None:
        """Resuming on the down branch: come from positive saturation, as the loop did."""
        self.prepare(station)
        if point.direction < 0:
            station.magnet.ramp_to(x=self.field_max, rate=self.rate)
            if self.continuous:
                self._sweep.start(self._m.lockin)

    def measure(self, station, point) -> dict:
        reading = field_point(station, self._m, self.lockin_settings(), point, self.rate,
                              self._sweep if self.continuous else None,
                              end=self.field_max if point.direction > 0 else -self.field_max)
        return {"temperature": station.temperature.temperature(), "field": reading.value,
                "direction": point.direction, "resistance": reading.resistance,
                "field_at_reading": reading.at_reading, **self._filter, "time": reading.time}
