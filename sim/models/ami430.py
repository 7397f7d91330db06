"""Live model of an AMI 430 (attributes = ``live:`` names of ami430.yaml).

One supply drives one lab axis (option ``axis``). RAMP moves the field toward the
target at the segment-1 rate, PAUSE holds it, ZERO ramps to zero; STATE? follows
(1 ramping, 2 holding, 3 paused, 6 zeroing, 8 at zero). Field units follow
FIELD:UNITS (1 = T, 0 = kG); rates follow RAMP:RATE:UNITS (0 = per s, 1 = per min).
"""

from __future__ import annotations

from .base import InstrumentModel

MAX_FIELD = 9.0  # T, the supply's own limit
MAX_RATE = 0.05  # T/s
KG_PER_T = 10.0


class AMI430Model(InstrumentModel):
    def __init__(self, lab, name, options=None):
        super().__init__(lab, name, options)
        self.axis = lab.add_axis(str(self.options.get("axis", "z")), MAX_FIELD, MAX_RATE)
        self.coil_constant = 0.1  # T/A
        self.field_units = 1
        self.ramp_rate_units = 0
        self.persistent_switch = 1
        self.quench = 0
        self.persistent = 0
        self._upper_bound = 1.0
        self._paused = False

    # --- unit conversions (wire <-> T, T/s)
    def _to_wire(self, tesla: float) -> float:
        return tesla if int(self.field_units) == 1 else tesla * KG_PER_T

    def _from_wire(self, value: float) -> float:
        return value if int(self.field_units) == 1 else value / KG_PER_T

    def _per_wire_time(self) -> float:
        return 60.0 if int(self.ramp_rate_units) == 1 else 1.0

    # --- readings
    @property
    def field(self) -> float:
        return self._to_wire(self.axis.field)

    @property
    def magnet_current(self) -> float:
        return self.axis.field / self.coil_constant

    supply_current = magnet_current

    @property
    def state(self) -> int:
        if self.quench:
            return 7
        if self._paused:
            return 3
        if self.axis.ramping:
            return 6 if self.axis.action == "RTOZ" else 1
        if self.axis.action == "RTOZ" or self.axis.field == 0.0 and self.axis.action != "RTOS":
            return 8
        return 2

    # --- settings
    @property
    def target_field(self) -> float:
        return self._to_wire(self.axis.target)

    @target_field.setter
    def target_field(self, value) -> None:
        self.axis.set_target(self._from_wire(float(value)))

    @property
    def target_current(self) -> float:
        return self.axis.target / self.coil_constant

    @target_current.setter
    def target_current(self, amps) -> None:
        self.axis.set_target(float(amps) * self.coil_constant)

    @property
    def ramp_rate_field(self) -> str:
        rate = self._to_wire(self.axis.rate) * self._per_wire_time()
        return f"{rate:.6f},{self._upper_bound:.2f}"

    @ramp_rate_field.setter
    def ramp_rate_field(self, text) -> None:
        fields = [float(v) for v in str(text).split(",")]
        if len(fields) > 1:
            self._upper_bound = fields[1]
        self.axis.set_rate(self._from_wire(fields[0]) / self._per_wire_time())

    @property
    def ramp_rate_current(self) -> str:
        rate = self.axis.rate / self.coil_constant * self._per_wire_time()
        return f"{rate:.6f},{self._upper_bound / self.coil_constant:.2f}"

    @ramp_rate_current.setter
    def ramp_rate_current(self, text) -> None:
        amps_rate = float(str(text).split(",")[0])
        self.axis.set_rate(amps_rate * self.coil_constant / self._per_wire_time())

    # --- actions
    def _action(self, action: str, paused: bool) -> None:
        self.axis.action = action
        self._paused = paused

    ramp = property(lambda self: None, lambda self, _: self._action("RTOS", False))
    pause = property(lambda self: None, lambda self, _: self._action("HOLD", True))
    zero = property(lambda self: None, lambda self, _: self._action("RTOZ", False))

    @property
    def reset(self):
        return None

    @reset.setter
    def reset(self, _) -> None:
        self._action("HOLD", True)
