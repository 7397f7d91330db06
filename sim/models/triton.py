"""Live model of an Oxford Triton (attributes = ``live:`` names of triton.yaml).

T5, the mixing chamber, carries the loop and reads the lab's fridge; the loop's
set-point, heater range (mA on the wire) and set-point ramp are the fridge's.
The other plates read fixed temperatures. Wire units: K, mbar, mA, K/min.
"""

from __future__ import annotations

from .base import InstrumentModel

#: heater ranges (mA) in ascending order; range index = position + 1 (0 = off)
HEATER_RANGES_MA = (0.316, 1.0, 3.16, 10.0, 31.6, 100.0)
#: fixed plate temperatures (K): PT1, PT2, still, cold plate, (MC is live), magnet
_PLATES = {1: 45.0, 2: 3.5, 3: 0.8, 4: 0.1, 6: 3.8}
_PRESSURES_MBAR = {1: 1.2e-2, 2: 0.45, 3: 5.1, 4: 1.0e-4, 5: 780.0, 6: 2.0e-3}


class TritonModel(InstrumentModel):
    def __init__(self, lab, name, options=None):
        super().__init__(lab, name, options)
        self.fridge = lab.fridge
        self.action = "NONE"
        self.status = "OK"
        self.loop_p, self.loop_i, self.loop_d = 10.0, 20.0, 0.0
        self._loop_on = "OFF"  # the fridge starts at base with the heater off
        self._range_ma = HEATER_RANGES_MA[0]
        self._ramp_rate = 0.1  # K/min
        self._ramp_on = "OFF"

    def _plate(self, n: int) -> float:
        return _PLATES[n] * (1 + 1e-4 * self.lab.rng.standard_normal())

    # --- thermometers and gauges
    @property
    def temperature_t5(self) -> float:
        return self.fridge.reading()

    temperature_t1 = property(lambda self: self._plate(1))
    temperature_t2 = property(lambda self: self._plate(2))
    temperature_t3 = property(lambda self: self._plate(3))
    temperature_t4 = property(lambda self: self._plate(4))
    temperature_t6 = property(lambda self: self._plate(6))
    pressure_p1 = property(lambda self: _PRESSURES_MBAR[1])
    pressure_p2 = property(lambda self: _PRESSURES_MBAR[2])
    pressure_p3 = property(lambda self: _PRESSURES_MBAR[3])
    pressure_p4 = property(lambda self: _PRESSURES_MBAR[4])
    pressure_p5 = property(lambda self: _PRESSURES_MBAR[5])
    pressure_p6 = property(lambda self: _PRESSURES_MBAR[6])

    # --- the mixing-chamber loop
    def _apply_heater(self) -> None:
        index = HEATER_RANGES_MA.index(self._range_ma) + 1 if self._loop_on == "ON" else 0
        self.fridge.set_heater_range(index)

    @property
    def loop_enabled(self) -> str:
        return self._loop_on

    @loop_enabled.setter
    def loop_enabled(self, state) -> None:
        self._loop_on = str(state)
        self._apply_heater()

    @property
    def temperature_setpoint(self) -> float:
        return self.fridge.present_setpoint()

    @temperature_setpoint.setter
    def temperature_setpoint(self, kelvin) -> None:
        self.fridge.set_setpoint(float(kelvin))

    @property
    def heater_range(self) -> float:
        return self._range_ma

    @heater_range.setter
    def heater_range(self, milliamps) -> None:
        value = min(HEATER_RANGES_MA, key=lambda r: abs(r - float(milliamps)))
        if abs(value - float(milliamps)) > 1e-3 * value:
            raise ValueError(f"heater range {milliamps} mA not one of {HEATER_RANGES_MA}")
        self._range_ma = value
        self._apply_heater()

    @property
    def ramp_enabled(self) -> str:
        return self._ramp_on

    @ramp_enabled.setter
    def ramp_enabled(self, state) -> None:
        self._ramp_on = str(state)
        self.fridge.set_ramp(self._ramp_rate / 60.0 if self._ramp_on == "ON" else 0.0)

    @property
    def ramp_rate(self) -> float:
        return self._ramp_rate

    @ramp_rate.setter
    def ramp_rate(self, kelvin_per_minute) -> None:
        self._ramp_rate = float(kelvin_per_minute)
        if self._ramp_on == "ON":
            self.fridge.set_ramp(self._ramp_rate / 60.0)
