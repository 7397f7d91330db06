"""Tc(B) by orbital pair breaking (paper, Methods eq. 2) -> the GL coherence length xi_GL(0).

Eq. 2 (thin film)::

    ln(Tc/Tc0) = psi(1/2) - psi(1/2 + alpha / (2 pi k_B Tc))
    alpha = D e^2 B_par^2 d^2 / (6 hbar)   (field in plane, film thickness d)
    alpha = D e B_perp                     (field out of plane)

The paper then extracts xi_GL(0) with "D = 16 k_B Tc0 xi / hbar", which is not
dimensionally consistent (m/s, not m^2/s). We use the dirty-limit relation the sample
model uses, ``xi_GL(0)^2 = pi hbar D / (8 k_B Tc0)`` (Tinkham), with which eq. 2 has
exactly the Ginzburg-Landau slope at Tc0, B_c2perp = Phi0 / (2 pi xi^2) (1 - T/Tc0).
Nothing is copied: the relation is :attr:`sim.conbse2.parameters.DeviceParameters.diffusion_constant`
and Tc(B) is :func:`sim.conbse2.superconductivity.orbital_critical_temperature`, both
evaluated on a ``DeviceParameters`` holding the trial xi, Tc0 and d. A fit and the
model therefore agree by construction.

Note on the fit: with this relation alpha / (k_B Tc0) = 8 xi^2 e B / (pi hbar) out of
plane (4 xi^2 d^2 e^2 B^2 / (3 pi hbar^2) in plane), independent of Tc0, so the reduced
Tc(B)/Tc0 depends on xi only (on the product xi d in plane). Any Tc criterion
proportional to the mean-field Tc (e.g. the 0.9 R_N onset of a BKT transition whose
width scales with Tc) gives the right xi with Tc0 fitted.

The orbital equation alone is fitted: where the Pauli limit caps Tc(B) (in the sample
model Tc = min(orbital, Pauli)), the data are not described. For device A01 in plane the
orbital branch is the lower one below ~7.5 T, so in-plane data up to ~7 T are orbital.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import least_squares

from sim.conbse2.parameters import DeviceParameters
from sim.conbse2.superconductivity import orbital_critical_temperature

from .result import FitResult, covariance, propagate

__all__ = ["fit_pair_breaking", "pair_breaking_tc", "diffusion_constant"]

ORIENTATIONS = ("perpendicular", "parallel")


def _device(xi: float, tc0: float, thickness: float | None) -> DeviceParameters:
    # t_bkt is irrelevant for Tc(B); thickness only enters the in-plane term
    return DeviceParameters("fit", tc0=float(tc0), thickness=float(thickness or 0.0), xi_gl0=float(xi),
                            t_bkt=float(tc0))


def diffusion_constant(xi: float, tc0: float) -> float:
    """Electronic D (m^2/s) for xi_GL(0) (m) and Tc0 (K): the sample model's dirty-limit relation."""
    return _device(xi, tc0, None).diffusion_constant


def pair_breaking_tc(field, xi: float, tc0: float, orientation: str = "perpendicular",
                     thickness: float | None = None) -> np.ndarray:
    """Orbital Tc(B) (K) of eq. 2 for fields ``field`` (T), xi_GL(0) (m), Tc0 (K)."""
    p = _device(xi, tc0, thickness)
    b = np.abs(np.asarray(field, dtype=float))
    if orientation == "perpendicular":
        out = [orbital_critical_temperature(p, 0.0, float(v)) for v in b.ravel()]
    else:
        out = [orbital_critical_temperature(p, float(v), 0.0) for v in b.ravel()]
    return np.array(out, dtype=float).reshape(b.shape)


def fit_pair_breaking(field, tc, orientation="perpendicular", thickness=None, tc0=None) -> FitResult:
    """Fit Tc(B) with eq. 2: xi_GL(0), and D by the dirty-limit relation.

    ``field`` (T, in plane for ``orientation="parallel"``, out of plane for
    ``"perpendicular"``), ``tc`` (K; NaN entries are ignored), ``thickness`` d (m;
    required in plane), ``tc0`` (K; None: fitted). Values: xi_gl (m), D (m^2/s), tc0
    (K; its error is 0 when it was given). Fitted in ln xi (and Tc0) by
    ``scipy.optimize.least_squares``; errors from the covariance.
    """
    if orientation not in ORIENTATIONS:
        raise ValueError(f"fit_pair_breaking: orientation must be one of {ORIENTATIONS}, not {orientation!r}")
    if orientation == "parallel" and not (thickness and thickness > 0):
        raise ValueError("fit_pair_breaking: an in-plane (parallel) field needs the film thickness d (m): "
                         "alpha = D e^2 B^2 d^2 / (6 hbar)")
    b = np.asarray(field, dtype=float).ravel()
    t = np.asarray(tc, dtype=float).ravel()
    if b.shape != t.shape:
        raise ValueError(f"fit_pair_breaking: {b.size} fields but {t.size} temperatures")
    keep = np.isfinite(b) & np.isfinite(t) & (t > 0)
    b, t = np.abs(b[keep]), t[keep]
    free_tc0 = tc0 is None
    n_par = 2 if free_tc0 else 1
    if b.size < n_par + 1 or np.ptp(b) == 0:
        raise ValueError(f"fit_pair_breaking: {b.size} (field, Tc) points; need at least {n_par + 1} "
                         "at different fields")
    tc0_start = float(t[np.argmin(b)]) if free_tc0 else float(tc0)

    def unpack(x):
        return math.exp(x[0]), (x[1] if free_tc0 else float(tc0))

    def residuals(x):
        xi, t0 = unpack(x)
        return pair_breaking_tc(b, xi, t0, orientation, thickness) - t

    # start: the best xi on a log grid at the zero-field Tc
    grid = np.geomspace(0.3e-9, 1e-6, 80)
    costs = [np.sum((pair_breaking_tc(b, xi, tc0_start, orientation, thickness) - t) ** 2) for xi in grid]
    x0 = [math.log(grid[int(np.argmin(costs))])] + ([tc0_start] if free_tc0 else [])
    lo = [math.log(1e-11)] + ([0.5 * tc0_start] if free_tc0 else [])
    hi = [math.log(1e-4)] + ([2.0 * tc0_start] if free_tc0 else [])
    fit = least_squares(residuals, np.array(x0), bounds=(lo, hi), method="trf", x_scale=[1.0] + [0.1] * free_tc0,
                        xtol=1e-12, ftol=1e-12, gtol=1e-12)
    x = fit.x
    resid = residuals(x)
    cov = covariance(fit.jac, resid)
    sd = np.sqrt(np.maximum(np.diag(cov), 0.0)) if np.all(np.isfinite(cov)) else np.full(x.size, np.nan)
    xi, t0 = unpack(x)
    d_const = diffusion_constant(xi, t0)
    d_error = propagate(lambda v: diffusion_constant(*unpack(v)), x, cov)
    order = np.argsort(b)
    bs = b[order]
    return FitResult(
        model=f"pair-breaking-{orientation}",
        values={"xi_gl": xi, "D": d_const, "tc0": t0},
        errors={"xi_gl": xi * sd[0], "D": d_error, "tc0": float(sd[1]) if free_tc0 else 0.0},
        units={"xi_gl": "m", "D": "m^2/s", "tc0": "K"},
        x=bs, curve=pair_breaking_tc(bs, xi, t0, orientation, thickness), data=t[order],
        x_label=("B_par" if orientation == "parallel" else "B_perp", "T"), y_label=("Tc", "K"),
        notes={"fitted": "eq. 2 (orbital pair breaking), D = 8 k_B Tc0 xi^2 / (pi hbar)",
               "orientation": orientation, "thickness": thickness, "tc0_fixed": not free_tc0,
               "points": int(b.size), "residual_rms": float(np.sqrt(np.mean(resid ** 2))),
               "converged": bool(fit.success)},
        function=lambda fields, p=(xi, t0): pair_breaking_tc(fields, p[0], p[1], orientation, thickness),
    )
