"""The sample a simulated station measures, by the station file's ``sim.device``.

``resistive``: a plain superconducting film (sim/sample.py), for exercising the
station. ``A01``, ``A02``, ``B``, ``C``, ``D``, ``E``: the paper's Co-NbSe2 devices
(sim/conbse2), with any parameter overridden by ``sim.sample_parameters``.
"""

from __future__ import annotations

from .conbse2.presets import PRESETS, preset
from .conbse2.sample import CoNbSe2Sample
from .sample import ResistiveSample


def sample_for(device: str, overrides: dict | None = None):
    if device == "resistive":
        return ResistiveSample(**(overrides or {}))
    if device in PRESETS:
        return CoNbSe2Sample(preset(device, **(overrides or {})))
    raise ValueError(f"unknown sample preset {device!r}; known: resistive, {', '.join(PRESETS)}")
