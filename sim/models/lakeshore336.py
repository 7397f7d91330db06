"""Live model of a Lake Shore 336 on a VTI (attributes = ``live:`` names of lakeshore336.yaml).

The sample sensor (option ``sensor``, default A) reads the lab's fridge; the
control output (option ``output``, default 1) drives it: its set-point, heater
range and set-point ramp are the fridge's. Other inputs read fixed stages of the
cryostat; other outputs store what they are told.
"""

from __future__ import annotations

from .base import InstrumentModel, LiveMap

#: fixed readings (K) of the other sensors: VTI heat exchanger, 4 K plate, 50 K shield
_OTHER_STAGES = {"B": 1.6, "C": 4.2, "D": 50.0}


class LakeShore336Model(InstrumentModel):
    def __init__(self, lab, name, options=None):
        super().__init__(lab, name, options)
        self.fridge = lab.fridge
        self.sensor_input = str(self.options.get("sensor", "A"))
        self.control_output = str(self.options.get("output", 1))
        self._stored: dict[str, dict[str, object]] = {
            "manual_output": {}, "output_mode": {}, "pid": {}, "ramp": {}, "setpoint": {}, "heater_range": {}}
        self.kelvin = LiveMap(self._kelvin)
        self.celsius = LiveMap(lambda ch: self._kelvin(ch) - 273.15)
        self.sensor = LiveMap(lambda ch: 1000.0 / max(self._kelvin(ch), 1e-3))  # a crude NTC
        self.reading_status = LiveMap(lambda ch: 0)
        self.setpoint = LiveMap(self._get_setpoint, self._set_setpoint)
        self.heater_range = LiveMap(self._get_range, self._set_range)
        self.heater_output = LiveMap(
            lambda ch: self.fridge.heater_percent() if self._is_control(ch) else 0.0)
        self.manual_output = self._store("manual_output", 0.0)
        self.output_mode = self._store("output_mode", "1,1,0")
        self.pid = self._store("pid", "+50.0,+20.0,+0.0")
        self.ramp = LiveMap(self._get_ramp, self._set_ramp)
        self.ramp_status = LiveMap(lambda ch: int(self._is_control(ch) and self.fridge.ramping))

    def _store(self, key: str, default) -> LiveMap:
        values = self._stored[key]
        return LiveMap(lambda ch: values.get(ch, default), values.__setitem__)

    def _is_control(self, output) -> bool:
        return str(output) == self.control_output

    def _kelvin(self, channel) -> float:
        if str(channel) == self.sensor_input:
            return self.fridge.reading()
        return _OTHER_STAGES.get(str(channel), 300.0) * (1 + 1e-4 * self.lab.rng.standard_normal())

    def _get_setpoint(self, ch):
        return self.fridge.present_setpoint() if self._is_control(ch) else self._stored["setpoint"].get(ch, 0.0)

    def _set_setpoint(self, ch, kelvin) -> None:
        if self._is_control(ch):
            self.fridge.set_setpoint(float(kelvin))
        else:
            self._stored["setpoint"][ch] = float(kelvin)

    def _get_range(self, ch):
        return self.fridge.heater_range if self._is_control(ch) else self._stored["heater_range"].get(ch, 0)

    def _set_range(self, ch, index) -> None:
        if self._is_control(ch):
            self.fridge.set_heater_range(int(index))
        else:
            self._stored["heater_range"][ch] = int(index)

    def _get_ramp(self, ch) -> str:
        if self._is_control(ch):
            on = self.fridge.ramp_rate > 0
            rate = self.fridge.ramp_rate * 60 if on else self._stored["ramp"].get(ch, 1.0)
            return f"{int(on)},{rate:+.1f}"
        return str(self._stored["ramp"].get(ch, "0,+1.0"))

    def _set_ramp(self, ch, text) -> None:
        on, rate = (float(v) for v in str(text).split(","))
        if self._is_control(ch):
            self._stored["ramp"][ch] = rate
            self.fridge.set_ramp(rate / 60.0 if on else 0.0)
        else:
            self._stored["ramp"][ch] = str(text)

    @property
    def reset(self):
        return None

    @reset.setter
    def reset(self, _) -> None:
        self.fridge.set_heater_range(0)
        self.fridge.set_ramp(0.0)
