"""The CurrentSource role: a DC current through the sample, its voltage read back.

Units: amperes, volts.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from .base import RoleContext, WiredRole, number


class CurrentSource(WiredRole, ABC):
    """An SMU sourcing DC current into the wired configurations."""

    def __init__(self, driver, ctx: RoleContext):
        self._driver = driver
        self.name = ctx.name
        self.clock = ctx.clock
        self._safety = ctx.safety
        self._init_wiring(ctx)

    # --- instrument primitives
    @abstractmethod
    def _configure(self, compliance: float) -> None:
        """Current-source mode, voltage sensing, compliance (V); output left as it is."""

    @abstractmethod
    def _write_current(self, amperes: float) -> None: ...

    @abstractmethod
    def _write_output(self, on: bool) -> None: ...

    @property
    @abstractmethod
    def current(self) -> float:
        """Source level, A."""

    @property
    @abstractmethod
    def output_enabled(self) -> bool: ...

    @abstractmethod
    def measure_voltage(self) -> float:
        """Voltage across the sample, V."""

    @property
    @abstractmethod
    def compliance_tripped(self) -> bool: ...

    @abstractmethod
    def identity(self) -> str: ...

    # --- checked operations
    def enable(self, compliance: float | None = None) -> None:
        """Configure as a current source at 0 A and switch the output on.

        ``compliance`` (V) defaults to the tightest limit of the wired
        configurations (their max_voltage) and the station's smu_compliance.
        """
        ceiling = min([self._safety.limits.smu_compliance]
                      + [self._safety.max_voltage(c) for c in self.checked_configurations])
        compliance = ceiling if compliance is None else compliance
        self._safety.check_compliance(compliance, self.checked_configurations)
        self._write_current(0.0)
        self._configure(compliance)
        self._write_output(True)
        self._record(0.0)

    def set_current(self, amperes: float) -> None:
        """Source ``amperes``; refused (nothing sent) beyond any wired configuration's limit."""
        for configuration in self.checked_configurations:
            self._safety.check_current(configuration, dc=amperes)
        self._write_current(amperes)
        self._record(amperes)

    def _record(self, amperes: float) -> None:
        for configuration in self.checked_configurations:
            self._safety.record_current(configuration, dc=amperes)

    def safe(self) -> None:
        """0 A, output off, read back to confirm."""
        self._write_current(0.0)
        self._write_output(False)
        self._record(0.0)
        if self.output_enabled:
            raise RuntimeError(f"{self.name}: output did not switch off")

    def state(self) -> dict:
        return {"current_A": self.current, "output_enabled": self.output_enabled,
                "compliance_tripped": self.compliance_tripped}


class Keithley2400Source(CurrentSource):
    """CurrentSource over pymeasure's Keithley2400."""

    def _configure(self, compliance: float) -> None:
        k = self._driver
        k.source_mode = "current"
        k.source_current_range_auto_enabled = True
        k.compliance_voltage = compliance
        k.voltage_range_auto_enabled = True

    def _write_current(self, amperes: float) -> None:
        self._driver.source_current = amperes

    def _write_output(self, on: bool) -> None:
        self._driver.source_enabled = on

    @property
    def current(self) -> float:
        return self._driver.source_current

    @property
    def output_enabled(self) -> bool:
        return bool(self._driver.source_enabled)

    def measure_voltage(self) -> float:
        return number(self._driver.voltage, f"{self.name} voltage")

    @property
    def compliance_tripped(self) -> bool:
        return bool(self._driver.values(":SENSE:VOLTAGE:PROTECTION:TRIPPED?", cast=int)[0])

    def identity(self) -> str:
        return self._driver.id
