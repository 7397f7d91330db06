"""Live model of an Oxford Mercury iPS (attributes = ``live:`` names of mercury_ips.yaml).

Each group the station maps (option ``axes: {x: GRPZ}``) drives one magnet axis
of the lab; unmapped groups are ordinary, unconnected supplies. Field moves at
the set rate while the action is RTOS/RTOZ; on arrival the action is HOLD again (what
QCoDeS's blocking ramps wait for). Wire units: T, A, V, T/min, A/min.
"""

from __future__ import annotations

from .base import InstrumentModel
from .magnet import MagnetAxis

#: the supply's own limits (the station file sets the experiment's, tighter ones)
MAX_FIELD = 12.0  # T
MAX_RATE = 1.0 / 60  # T/s
ATOB = {"x": 10.0, "y": 10.0, "z": 9.5}  # A/T
INDUCTANCE = 5.0  # H, for the ramp voltage L dI/dt
_GROUP_AXIS = {"GRPX": "x", "GRPY": "y", "GRPZ": "z"}


class _Group:
    """Attribute forwarding for one group letter (``field_x`` -> group x)."""

    def __init__(self, model: "MercuryIPSModel", letter: str, axis: MagnetAxis):
        self.model, self.letter, self.axis = model, letter, axis
        self.atob = ATOB[letter]
        self.switch_heater = "ON"


class MercuryIPSModel(InstrumentModel):
    def __init__(self, lab, name, options=None):
        super().__init__(lab, name, options)
        mapping = self.options.get("axes", {"z": "GRPZ"})
        by_group = {group: lab_axis for lab_axis, group in mapping.items()}
        self.groups: dict[str, _Group] = {}
        for group, letter in _GROUP_AXIS.items():
            if group in by_group:
                axis = lab.add_axis(by_group[group], MAX_FIELD, MAX_RATE)
            else:
                axis = MagnetAxis(self.clock, MAX_FIELD, MAX_RATE)
            self.groups[letter] = _Group(self, letter, axis)

    @property
    def magnet_temperature(self) -> float:
        return 4.2 * (1 + 1e-4 * self.lab.rng.standard_normal())


def _prop(getter, setter=None):
    return property(getter, setter)


def _axis_attributes(letter: str) -> dict:
    """The live attributes of one group; values in wire units."""
    g = lambda self: self.groups[letter]  # noqa: E731

    def action(self):
        """ACTN: RTOS / RTOZ while the field moves; HOLD once it has arrived."""
        axis = g(self).axis
        if axis.action in ("RTOS", "RTOZ") and not axis.ramping:
            axis.action = "HOLD"  # arrived: a new target waits for the next RTOS
        return axis.action

    def set_target(self, tesla):
        action(self)
        g(self).axis.set_target(float(tesla))

    def set_current_target(self, amps):
        action(self)
        g(self).axis.set_target(float(amps) / g(self).atob)

    def set_rate(self, tesla_per_min):
        g(self).axis.set_rate(float(tesla_per_min) / 60.0)

    def set_current_rate(self, amps_per_min):
        g(self).axis.set_rate(float(amps_per_min) / g(self).atob / 60.0)

    def set_action(self, action):
        g(self).axis.action = str(action)  # ValueError (RTOS while clamped) -> INVALID reply

    def set_atob(self, value):
        g(self).atob = float(value)

    def set_switch(self, state):
        g(self).switch_heater = str(state)

    def voltage(self):
        axis = g(self).axis
        return INDUCTANCE * axis.rate * g(self).atob if axis.sweeping else 0.0

    return {
        f"field_{letter}": _prop(lambda self: g(self).axis.field),
        f"field_persistent_{letter}": _prop(lambda self: g(self).axis.field),
        f"field_target_{letter}": _prop(lambda self: g(self).axis.target, set_target),
        f"current_{letter}": _prop(lambda self: g(self).axis.field * g(self).atob),
        f"current_persistent_{letter}": _prop(lambda self: g(self).axis.field * g(self).atob),
        f"current_target_{letter}": _prop(lambda self: g(self).axis.target * g(self).atob, set_current_target),
        f"voltage_{letter}": _prop(voltage),
        f"field_ramp_rate_{letter}": _prop(lambda self: g(self).axis.rate * 60.0, set_rate),
        f"current_ramp_rate_{letter}": _prop(lambda self: g(self).axis.rate * 60.0 * g(self).atob, set_current_rate),
        f"switch_heater_{letter}": _prop(lambda self: g(self).switch_heater, set_switch),
        f"current_to_field_ratio_{letter}": _prop(lambda self: g(self).atob, set_atob),
        f"action_{letter}": _prop(action, set_action),
    }


for _letter in ATOB:
    for _name, _attr in _axis_attributes(_letter).items():
        setattr(MercuryIPSModel, _name, _attr)
