"""Analysis of cryo_acq run files: the paper's fits, with standard errors and fitted curves.

Every fit uses the *sample model's own equations* (``sim/conbse2``), imported, never
copied: the Hanle integral (eq. 3/4, :mod:`sim.conbse2.spin`), the pair-breaking Tc(B)
(eq. 2) with the dirty-limit D(xi) relation (:mod:`sim.conbse2.superconductivity`,
:class:`sim.conbse2.parameters.DeviceParameters`), and the tunnelling conductance
(eq. 1, :mod:`sim.conbse2.tunnelling`). Fits are scipy least squares; each returns a
:class:`FitResult` (values in SI, one-sigma errors, units, fitted curve).
See ``docs/analysis.md``.
"""

from .bkt import bkt_temperature, fit_bkt_rt, fit_vi_exponent, transition_temperature
from .hanle import fit_hanle
from .pair_breaking import fit_pair_breaking
from .result import FitResult
from .runfits import MODELS, OPTIONS, fit_run
from .switching import fit_switching, switching_fields
from .tunnelling import fit_didv

__all__ = [
    "FitResult", "fit_hanle", "fit_vi_exponent", "bkt_temperature", "fit_bkt_rt", "transition_temperature",
    "fit_pair_breaking", "switching_fields", "fit_switching", "fit_didv", "fit_run", "MODELS", "OPTIONS",
]
