"""tmr: tunnelling magnetoresistance loops of the Co / BN / Co-NbSe2 junction.

At a fixed temperature and DC bias, the in-plane field along the easy axis (x)
goes -field_max -> +field_max -> -field_max in steps; at each step the lock-in
reads the junction's dV/dI. Columns: temperature (K), field (T, measured),
direction (+1 up, -1 down), resistance (ohm).
"""

from __future__ import annotations

from pymeasure.experiment import FloatParameter

from cryo_acq.run.measure import go_to_temperature, read_resistance, set_bias, setup_lockin
from cryo_acq.run.sweeps import Axis, Plan, loop

from .base import CryoProcedure, check_excitation


class TMR(CryoProcedure):
    NAME = "tmr"
    CONFIGURATION = "mtj"
    COLUMNS = {"temperature": "K", "field": "T", "direction": "", "resistance": "Ohm"}

    temperature = FloatParameter("Temperature", units="K", minimum=0.0, maximum=400.0, default=1.5)
    field_max = FloatParameter("Field amplitude", units="T", minimum=0.0, maximum=20.0, default=0.05)
    field_step = FloatParameter("Field step", units="T", minimum=0.0, maximum=1.0, default=0.002)
    current = FloatParameter("DC bias current", units="A", minimum=-1e-3, maximum=1e-3, default=0.1e-6)
    rate = FloatParameter("Field ramp rate", units="T/s", minimum=0.0, maximum=1.0, default=0.005)

    def plan(self):
        values, directions = loop(self.field_max, self.field_step, "field")
        return Plan(Axis("field", "T", values), directions=directions)

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
        station.magnet.ramp_to(x=-self.field_max, rate=self.rate)  # both electrodes saturated along -x

    def prepare_from(self, station, point) -> None:
        """Resuming on the down branch: come from positive saturation, as the loop did."""
        self.prepare(station)
        if point.direction < 0:
            station.magnet.ramp_to(x=self.field_max, rate=self.rate)

    def measure(self, station, point) -> dict:
        station.magnet.ramp_to(x=point.setpoints["field"], rate=self.rate)
        resistance = read_resistance(self._m, self.lockin_settings())
        return {"temperature": station.temperature.temperature(), "field": station.magnet.field()["x"],
                "direction": point.direction, "resistance": resistance}
