"""The result of every fit in :mod:`cryo_acq.analysis`.

A :class:`FitResult` holds the fitted values in SI units with their one-sigma
standard errors and units, and the fitted model evaluated at the abscissae of the
data (``x``, ``curve``), so that a caller can print it (:meth:`FitResult.summary`)
or plot data and curve without knowing the model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

__all__ = ["FitResult", "format_value"]


def format_value(value: float, error: float | None = None, unit: str = "") -> str:
    """``value +- error unit`` with the error rounded to two significant digits and the
    value to the same decimal place (``6.50e-03 +- 1.2e-04 m^2/s``)."""
    unit = f" {unit}" if unit else ""
    if value is None or not math.isfinite(value):
        return f"{value}{unit}"
    if error is None or not math.isfinite(error) or error <= 0:
        tail = "" if error is None else (" +- 0" if error == 0 else f" +- {error}")
        return f"{value:.6g}{tail}{unit}"
    if error < 1e-7 * abs(value):  # exact (synthetic) data: do not print 15 digits
        return f"{value:.7g} +- {error:.1g}{unit}"
    magnitude = max(abs(value), error)
    exponent = int(math.floor(math.log10(magnitude))) if magnitude > 0 else 0
    decimals_of_error = 1 - int(math.floor(math.log10(error)))  # two significant digits of the error
    if -3 <= exponent <= 4:
        decimals = max(decimals_of_error, 0)
        return f"{value:.{decimals}f} +- {error:.{decimals}f}{unit}"
    mantissa_decimals = max(exponent + decimals_of_error, 0)
    scale = 10.0 ** exponent
    return f"({value / scale:.{mantissa_decimals}f} +- {error / scale:.{mantissa_decimals}f})e{exponent:+03d}{unit}"


@dataclass
class FitResult:
    """One fit.

    ``values`` (name -> float, SI), ``errors`` (name -> one-sigma standard error, same
    units; NaN where none can be given), ``units`` (name -> unit text), ``x`` (the
    abscissae of the data that were fitted) and ``curve`` (the fitted model at ``x``).
    ``data`` holds the fitted ordinates themselves (same length as ``x``), and the
    ``x_label``/``y_label`` pairs (quantity, unit) name the axes; ``notes`` says what
    was fitted (free text and numbers: residual rms, degrees of freedom, ...).
    """

    model: str
    values: dict[str, float]
    errors: dict[str, float]
    units: dict[str, str]
    x: np.ndarray
    curve: np.ndarray
    data: np.ndarray | None = None
    x_label: tuple[str, str] = ("x", "")
    y_label: tuple[str, str] = ("y", "")
    notes: dict[str, Any] = field(default_factory=dict)
    #: the fitted model as a function of x (for a smooth curve on a finer grid); may be None
    function: Callable[[np.ndarray], np.ndarray] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.values = {k: float(v) for k, v in self.values.items()}
        self.errors = {k: (math.nan if v is None else float(v)) for k, v in self.errors.items()}
        self.x = np.asarray(self.x, dtype=float)
        self.curve = np.asarray(self.curve, dtype=float)
        if self.data is not None:
            self.data = np.asarray(self.data, dtype=float)

    def __getitem__(self, name: str) -> float:
        return self.values[name]

    def error(self, name: str) -> float:
        return self.errors.get(name, math.nan)

    def evaluate(self, x) -> np.ndarray:
        """The fitted model at ``x`` (needs :attr:`function`)."""
        if self.function is None:
            raise ValueError(f"{self.model}: this result has no model function; use .x and .curve")
        return np.asarray(self.function(np.asarray(x, dtype=float)), dtype=float)

    def summary(self) -> str:
        """One line per value: ``name = value +- error unit``."""
        condition = self.notes.get("condition")
        lines = [f"{self.model}" + (f" ({condition})" if condition else "") + ":"]
        width = max((len(k) for k in self.values), default=0)
        for name, value in self.values.items():
            lines.append(f"  {name:<{width}} = {format_value(value, self.errors.get(name), self.units.get(name, ''))}")
        for key in ("fitted", "residual_rms", "points"):
            if key in self.notes:
                note = self.notes[key]
                lines.append(f"  ({key}: {note:.3g})" if isinstance(note, float) else f"  ({key}: {note})")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


# --------------------------------------------------------------------------- helpers the fits share
def covariance(jacobian: np.ndarray, residuals: np.ndarray) -> np.ndarray:
    """Parameter covariance of a least-squares fit: (J^T J)^-1 s^2, with s^2 the residual
    variance (sum of squares / degrees of freedom), as scipy's curve_fit does with
    ``absolute_sigma=False``. Pseudo-inverse, so a degenerate direction gives a large
    (not a failing) error; NaN when there are no degrees of freedom."""
    jac = np.atleast_2d(np.asarray(jacobian, dtype=float))
    n, p = jac.shape
    dof = n - p
    if dof <= 0:
        return np.full((p, p), np.nan)
    s2 = float(np.sum(np.asarray(residuals, dtype=float) ** 2)) / dof
    _, sv, vt = np.linalg.svd(jac, full_matrices=False)
    threshold = np.finfo(float).eps * max(jac.shape) * (sv[0] if sv.size else 0.0)
    sv = sv[sv > threshold]
    vt = vt[: sv.size]
    return (vt.T / sv ** 2) @ vt * s2


def propagate(function: Callable[[np.ndarray], float], x: np.ndarray, cov: np.ndarray,
              steps: np.ndarray | None = None) -> float:
    """One-sigma error of ``function(x)`` from the covariance of ``x`` (delta method,
    central differences)."""
    x = np.asarray(x, dtype=float)
    if not np.all(np.isfinite(cov)):
        return math.nan
    if steps is None:
        steps = 1e-6 * np.maximum(np.abs(x), 1e-12)
        steps = np.maximum(steps, 1e-6 * np.sqrt(np.abs(np.diag(cov))) + 1e-300)
    grad = np.empty(x.size)
    for i in range(x.size):
        up, down = x.copy(), x.copy()
        up[i] += steps[i]
        down[i] -= steps[i]
        grad[i] = (function(up) - function(down)) / (2 * steps[i])
    return float(math.sqrt(max(grad @ cov @ grad, 0.0)))
