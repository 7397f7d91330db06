"""Sample presets by device name (the station file's ``sim.device``).

``resistive`` is a plain superconducting film. The paper's devices (A01, A02, B,
C, D, E) map to the same film with their measured Tc0 until the full Co-NbSe2
model replaces it.
"""

from __future__ import annotations

from .sample import ResistiveSample

_TC0 = {"A01": 6.60, "A02": 6.65, "B": 3.50, "C": 4.70, "D": 6.80, "E": 6.95}


def sample_for(device: str):
    if device == "resistive":
        return ResistiveSample()
    if device in _TC0:
        return ResistiveSample(tc0=_TC0[device])
    raise ValueError(f"unknown sample preset {device!r}; known: resistive, {', '.join(_TC0)}")
