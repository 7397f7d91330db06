"""The seam between the simulated instruments and the simulated sample.

Instruments never compute physics: the lab asks the sample for the voltage a DC
current produces and for the differential resistance a lock-in sees, given the
environment (station time, temperature, field vector) and the measurement
configuration the wiring routes to that instrument.

Field axes are the sample's frame: ``x`` the in-plane easy axis of the Co
electrodes, ``y`` in-plane across it, ``z`` out of plane.

:class:`ResistiveSample` is a plain superconducting film, enough to exercise the
station; the Co-NbSe2 device presets plug in through the same interface.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol

CONFIGURATIONS = ("four_probe", "mtj", "nonlocal", "co_amr")


@dataclass(frozen=True)
class Environment:
    t: float  #: station time, s
    temperature: float  #: sample temperature, K
    field: tuple[float, float, float]  #: (B_x, B_y, B_z), T


class SampleModel(Protocol):
    """What the lab needs from a sample."""

    def voltage(self, configuration: str, current: float, env: Environment, channel: str | None = None) -> float:
        """DC voltage (V) across ``configuration`` for a DC current (A)."""

    def differential_resistance(self, configuration: str, current: float, env: Environment,
                                channel: str | None = None) -> float:
        """dV/dI (ohm) at DC bias ``current`` (A): what a small AC excitation measures."""

    def observe(self, env: Environment) -> None:
        """Let history-dependent state (magnetisation) follow the environment."""


@dataclass
class ResistiveSample:
    """A film with a superconducting transition and ohmic contacts.

    Resistance per configuration in the normal state (ohm); the transition is a
    tanh of width ``width`` (K) at ``Tc(B) = Tc0 sqrt(1 - (B/Bc2)^2)``.
    """

    normal_resistance: dict[str, float] = field(default_factory=lambda: {
        "four_probe": 20.0, "mtj": 5.0e3, "nonlocal": 0.5, "co_amr": 30.0})
    superconducting: tuple[str, ...] = ("four_probe", "nonlocal")
    tc0: float = 6.6  #: K
    width: float = 0.05  #: K
    bc2: float = 5.0  #: T
    rrr: float = 8.0  #: R(273 K) / R_N

    def resistance(self, configuration: str, env: Environment) -> float:
        if configuration not in self.normal_resistance:
            raise ValueError(f"unknown configuration {configuration!r}; known: {', '.join(self.normal_resistance)}")
        r_n = self.normal_resistance[configuration]
        t = env.temperature
        metallic = r_n * (1.0 + (self.rrr - 1.0) * max(0.0, t - self.tc0) / (273.0 - self.tc0))
        if configuration not in self.superconducting:
            return metallic
        b = math.sqrt(sum(c * c for c in env.field))
        tc = self.tc0 * math.sqrt(max(0.0, 1.0 - (b / self.bc2) ** 2))
        return metallic * 0.5 * (1.0 + math.tanh((t - tc) / self.width))

    def voltage(self, configuration, current, env, channel=None):
        return current * self.resistance(configuration, env)

    def differential_resistance(self, configuration, current, env, channel=None):
        return self.resistance(configuration, env)

    def observe(self, env):
        pass
