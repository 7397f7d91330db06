"""Live model of a Keithley 2400 SourceMeter (attributes = ``live:`` names of keithley2400.yaml).

Sourcing current into the configuration the wiring routes it to, it measures the
sample's voltage; beyond the compliance voltage the voltage clamps, the current
drops to what the compliance allows and the tripped flag is set.
"""

from __future__ import annotations

from .base import InstrumentModel

NOT_MEASURED = 9.91e37
STATUS_COMPLIANCE = 1 << 3  # status word bit: in compliance


class Keithley2400Model(InstrumentModel):
    def __init__(self, lab, name, options=None):
        super().__init__(lab, name, options)
        self._defaults()
        self._t0 = self.clock.now()

    def _defaults(self) -> None:
        self.format_elements = "VOLTAGE, CURRENT, RESISTANCE, TIME, STATUS"
        self.remote_sense = 0
        self.output_enabled = 0
        self.source_mode = "VOLT"
        self.source_current = 0.0  # A
        self.source_voltage = 0.0  # V
        self.compliance_voltage = 21.0  # V
        self.compliance_current = 105e-6  # A

    # --- what the lab sees
    @property
    def output_current(self) -> float:
        """The DC current actually flowing now (A): zero with the output off, limited in compliance."""
        return self.output_current_at(None)

    def output_current_at(self, t: float | None) -> float:
        """The DC current flowing at station time ``t`` (default now), with the present settings."""
        if not int(self.output_enabled) or self.source_mode != "CURR":
            return 0.0
        return self._operating_point(t)[1]

    def _operating_point(self, t: float | None = None) -> tuple[float, float, bool]:
        """(voltage V, current A, in compliance) for the present source settings, at station
        time ``t`` (default now)."""
        i = self.source_current
        v = self.lab.source_voltage(self.name, i, t)
        limit = abs(self.compliance_voltage)
        if abs(v) <= limit or v == 0:
            return v, i, False
        return limit * (1 if v > 0 else -1), i * limit / abs(v), True

    # --- readings
    def _reply(self) -> str:
        if not int(self.output_enabled):
            v, i, tripped = NOT_MEASURED, NOT_MEASURED, False
        else:
            v, i, tripped = self._operating_point()
        r = v / i if i not in (0.0, NOT_MEASURED) and v != NOT_MEASURED else NOT_MEASURED
        status = STATUS_COMPLIANCE if tripped else 0
        return f"{v:+.6E},{i:+.6E},{r:+.6E},{self.clock.now() - self._t0:+.6E},{float(status):+.6E}"

    read_reply = property(_reply)
    measure_voltage_reply = property(_reply)
    measure_current_reply = property(_reply)
    measure_resistance_reply = property(_reply)

    @property
    def voltage_compliance_tripped(self) -> int:
        return int(bool(int(self.output_enabled)) and self._operating_point()[2])

    current_compliance_tripped = 0

    @property
    def reset(self):
        return None

    @reset.setter
    def reset(self, _) -> None:
        self._defaults()
