"""Safety limits: every set-point passes here before an instrument is told.

The role adapters call these checks; procedures only hold role adapters, so no
procedure can reach an instrument around them. A refused set-point raises
:class:`LimitError` and nothing is sent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from cryo_acq.station.file import Limits


class LimitError(ValueError):
    """A set-point beyond the station's safety limits. Nothing was sent."""


@dataclass
class Safety:
    """The station's limits, plus the excitation currently applied per configuration."""

    limits: Limits
    #: configuration -> (DC current A, AC rms current A) presently applied
    applied: dict[str, list[float]] = field(default_factory=dict)

    # --- magnet
    def check_field(self, targets: dict[str, float], present: dict[str, float]) -> None:
        """``targets``: axis -> T being asked for; ``present``: every axis's current target."""
        axes = self.limits.field.axes()
        for axis, value in targets.items():
            if axis not in axes:
                raise LimitError(f"field on axis {axis!r}: no limit declared for this axis in the station file")
            if not math.isfinite(value) or abs(value) > axes[axis].max:
                raise LimitError(f"field {value:g} T on axis {axis} exceeds the station limit "
                                 f"|B_{axis}| <= {axes[axis].max:g} T")
        norm_max = self.limits.field.norm
        if norm_max is not None:
            vector = {**present, **targets}
            norm = math.sqrt(sum(v * v for v in vector.values()))
            if norm > norm_max * (1 + 1e-12):
                raise LimitError(f"field vector |B| = {norm:g} T exceeds the station limit {norm_max:g} T "
                                 f"(asked {targets}, other axes {present})")

    def path_within_norm(self, start: dict[str, float], end: dict[str, float]) -> bool:
        """True if axes ramping independently from ``start`` to ``end`` cannot leave the norm
        limit whatever their relative speed (the worst corner of the box stays inside)."""
        norm_max = self.limits.field.norm
        if norm_max is None:
            return True
        axes = set(start) | set(end)
        corner = [max(abs(start.get(a, 0.0)), abs(end.get(a, 0.0))) for a in axes]
        return math.sqrt(sum(c * c for c in corner)) <= norm_max * (1 + 1e-12)

    def check_rate(self, axis: str, rate: float) -> None:
        axes = self.limits.field.axes()
        if axis not in axes:
            raise LimitError(f"ramp rate on axis {axis!r}: no limit declared for this axis")
        if not (math.isfinite(rate) and 0 < rate <= axes[axis].rate):
            raise LimitError(f"ramp rate {rate:g} T/s on axis {axis} outside the station limit "
                             f"0 < rate <= {axes[axis].rate:g} T/s")

    # --- temperature
    def check_temperature(self, kelvin: float) -> None:
        lim = self.limits.temperature
        if not (math.isfinite(kelvin) and lim.min <= kelvin <= lim.max):
            raise LimitError(f"temperature set-point {kelvin:g} K outside the station range "
                             f"{lim.min:g} K .. {lim.max:g} K")

    # --- sample excitation
    def _configuration(self, configuration: str):
        try:
            return self.limits.configurations[configuration]
        except KeyError:
            raise LimitError(f"configuration {configuration!r} has no limits in the station file") from None

    def check_current(self, configuration: str, dc: float | None = None, ac_rms: float | None = None) -> None:
        """DC plus AC peak current through ``configuration`` must stay within its limit."""
        lim = self._configuration(configuration)
        now_dc, now_ac = self.applied.get(configuration, [0.0, 0.0])
        dc = now_dc if dc is None else dc
        ac_rms = now_ac if ac_rms is None else ac_rms
        peak = abs(dc) + math.sqrt(2) * abs(ac_rms)
        if not math.isfinite(peak) or peak > lim.max_current * (1 + 1e-9):
            raise LimitError(f"{configuration}: |I_dc| + sqrt(2) I_ac = {peak:.4g} A exceeds the station limit "
                             f"{lim.max_current:.4g} A (I_dc = {dc:.4g} A, I_ac = {ac_rms:.4g} A rms)")

    def record_current(self, configuration: str, dc: float | None = None, ac_rms: float | None = None) -> None:
        entry = self.applied.setdefault(configuration, [0.0, 0.0])
        if dc is not None:
            entry[0] = dc
        if ac_rms is not None:
            entry[1] = ac_rms

    def max_voltage(self, configuration: str) -> float:
        return self._configuration(configuration).max_voltage

    def check_compliance(self, volts: float, configurations: list[str]) -> None:
        ceiling = min([self.limits.smu_compliance] + [self.max_voltage(c) for c in configurations])
        if not (math.isfinite(volts) and 0 < volts <= ceiling * (1 + 1e-12)):
            raise LimitError(f"compliance {volts:g} V outside the station limit 0 < V <= {ceiling:g} V "
                             f"(smu_compliance and max_voltage of {', '.join(configurations) or 'no configuration'})")
