"""Live model of a Lake Shore 372 bridge (attributes = ``live:`` names of lakeshore372.yaml).

The sample thermometer (option ``sensor``, default 6) reads the lab's fridge; the
sample heater (output 0) drives it. The scanner measures one channel at a time:
after ``SCAN`` the new channel keeps its stale reading until its pause + dwell
have passed, and only the scanned channel (and control input A) updates.
"""

from __future__ import annotations

import math

from .base import InstrumentModel, LiveMap

#: fixed stages on other channels (K): 1 PT2, 2 still, 3 cold plate, 5 magnet
_STAGES = {"1": 3.5, "2": 0.8, "3": 0.1, "5": 3.8}


def ruox_resistance(kelvin: float) -> float:
    """A RuO2-like sensor curve, ohm."""
    return 1000.0 * math.exp(math.sqrt(0.8 / max(kelvin, 1e-3)))


class LakeShore372Model(InstrumentModel):
    def __init__(self, lab, name, options=None):
        super().__init__(lab, name, options)
        self.fridge = lab.fridge
        self.sensor_input = str(self.options.get("sensor", 6))
        self.scanner = f"{self.sensor_input},0"
        self._inset: dict[str, str] = {}
        self._last: dict[str, float] = {}
        self.kelvin = LiveMap(self._kelvin)
        self.resistance = LiveMap(lambda ch: ruox_resistance(self._kelvin(ch)))
        self.reading_status = LiveMap(lambda ch: 0)
        self.input_setup = LiveMap(lambda ch: self._inset.get(ch, "1,10,3,0,1"), self._inset.__setitem__)
        self._intype: dict[str, str] = {}
        self.input_type = LiveMap(lambda ch: self._intype.get(ch, "0,1,0,5,0,1"), self._intype.__setitem__)
        self._out: dict[str, dict[str, object]] = {k: {} for k in
                                                   ("output_mode", "setpoint", "pid", "heater_range",
                                                    "heater_setup", "ramp")}
        self.output_mode = self._stored("output_mode", lambda ch: "5,6,0,0,0,1" if ch == "0" else "0,0,0,0,0,1")
        self.pid = self._stored("pid", lambda ch: "10.0,20.0,0.0")
        self.heater_setup = self._stored("heater_setup", lambda ch: "120,0,0.000,2" if ch == "0" else "1,1,0.000,2")
        self.setpoint = LiveMap(self._get_setpoint, self._set_setpoint)
        self.heater_range = LiveMap(self._get_range, self._set_range)
        self.heater_output = LiveMap(lambda ch: self.fridge.heater_percent() if ch == "0" else 0.0)
        self.ramp = LiveMap(self._get_ramp, self._set_ramp)
        self.ramp_status = LiveMap(lambda ch: int(ch == "0" and self.fridge.ramping))

    def _stored(self, key, default) -> LiveMap:
        values = self._out[key]
        return LiveMap(lambda ch: values.get(ch, default(ch)), values.__setitem__)

    # --- scanner
    @property
    def scanner(self) -> str:
        return self._scanner

    @scanner.setter
    def scanner(self, text) -> None:
        self._scanner = str(text)
        self._scan_since = self.clock.now()

    def _settle_time(self, ch: str) -> float:
        fields = self._inset.get(ch, "1,10,3,0,1").split(",")
        return float(fields[1]) + float(fields[2])  # dwell + pause

    def _true_kelvin(self, ch: str) -> float:
        if ch == self.sensor_input or ch == "A":
            return self.fridge.reading()
        return _STAGES.get(ch, 300.0) * (1 + 1e-4 * self.lab.rng.standard_normal())

    def _kelvin(self, ch) -> float:
        ch = str(ch)
        scanned = self.scanner.split(",")[0].strip()
        live = ch == "A" or (ch == scanned and self.clock.now() - self._scan_since >= self._settle_time(ch))
        if live or ch not in self._last:
            self._last[ch] = self._true_kelvin(ch)
        return self._last[ch]

    # --- sample heater = the fridge
    def _get_setpoint(self, ch):
        return self.fridge.present_setpoint() if ch == "0" else self._out["setpoint"].get(ch, 0.0)

    def _set_setpoint(self, ch, kelvin):
        if ch == "0":
            self.fridge.set_setpoint(float(kelvin))
        else:
            self._out["setpoint"][ch] = float(kelvin)

    def _get_range(self, ch):
        return self.fridge.heater_range if ch == "0" else self._out["heater_range"].get(ch, 0)

    def _set_range(self, ch, index):
        if ch == "0":
            self.fridge.set_heater_range(int(index))
        else:
            self._out["heater_range"][ch] = int(index)

    def _get_ramp(self, ch):
        if ch == "0":
            on = self.fridge.ramp_rate > 0
            return f"{int(on)},{(self.fridge.ramp_rate * 60 if on else self._out['ramp'].get(ch, 1.0)):.3f}"
        return str(self._out["ramp"].get(ch, "0,1.000"))

    def _set_ramp(self, ch, text):
        on, rate = (float(v) for v in str(text).split(","))
        if ch == "0":
            self._out["ramp"][ch] = rate
            self.fridge.set_ramp(rate / 60.0 if on else 0.0)
        else:
            self._out["ramp"][ch] = str(text)
