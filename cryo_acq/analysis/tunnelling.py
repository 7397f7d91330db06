"""Tunnelling spectroscopy: fit of dI/dV with the paper's eq. 1 (s- or p-wave, zero-bias peak).

Model::

    dI/dV(V) = sigma_N [ g(V; T, Delta0, Gamma, l) + h exp(-V^2 / (2 w^2)) ]

with g the thermally smeared, angle-averaged Dynes conductance of eq. 1 -- the sample
model's own :func:`sim.conbse2.tunnelling.normalized_conductance` (gap function
Delta0 cos(l theta), l = 0 singlet s wave, l = 1 triplet p wave; the two corrections to
the printed equation are documented there) -- and the zero-bias Gaussian of relative
height h = sigma_ZBP / sigma_N and width w (V) when ``zbp=True``. T is the measured
temperature (fixed, not fitted). Delta0 is the gap amplitude of the spectrum at that
temperature, i.e. Delta(T).

How: a grid over Delta0, Gamma/Delta0 (and w), with sigma_N and sigma_N h solved
linearly at each node, gives the start; ``scipy.optimize.least_squares`` refines ln
Delta0, ln Gamma, sigma_N, h, ln w. Standard errors from the covariance at the solution.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import least_squares

from sim.conbse2.parameters import E
from sim.conbse2.tunnelling import normalized_conductance

from .result import FitResult, covariance

__all__ = ["fit_didv", "didv_curve"]


def didv_curve(bias_voltage, temperature, delta0, gamma, sigma_n, l=1, zbp_height=0.0, zbp_width=1e-4):
    """sigma_N g(V) (S) of eq. 1: ``delta0`` and ``gamma`` in J, ``zbp_width`` in V."""
    return sigma_n * normalized_conductance(np.asarray(bias_voltage, dtype=float), temperature, delta0, gamma,
                                            int(l), zbp_height, zbp_width)


def _gauss(v, width):
    return np.exp(-0.5 * (v / width) ** 2)


def _linear(columns, y):
    a = np.column_stack(columns)
    coef, *_ = np.linalg.lstsq(a, y, rcond=None)
    return coef, float(np.sum((a @ coef - y) ** 2))


def fit_didv(bias_voltage, didv, temperature, l=1, zbp=True) -> FitResult:
    """Fit a tunnelling spectrum dI/dV(V) with eq. 1.

    ``bias_voltage`` (V, the junction's DC voltage), ``didv`` (S), ``temperature``
    (K, the measured one: thermal smearing), ``l`` 0 (s wave) or 1 (p wave), ``zbp``
    whether to include the zero-bias Gaussian. Values: delta0 (J), delta0_eV (eV, the
    same), gamma (J), gamma_eV (eV), sigma_n (S), and with ``zbp`` zbp_height
    (sigma_ZBP / sigma_N) and zbp_width (V).
    """
    v = np.asarray(bias_voltage, dtype=float).ravel()
    y = np.asarray(didv, dtype=float).ravel()
    if v.shape != y.shape:
        raise ValueError(f"fit_didv: {v.size} voltages but {y.size} conductances")
    keep = np.isfinite(v) & np.isfinite(y)
    v, y = v[keep], y[keep]
    temperature = float(temperature)
    l = int(l)
    n_par = 5 if zbp else 3
    if v.size <= n_par + 2:
        raise ValueError(f"fit_didv: {v.size} points cannot fix {n_par} parameters")
    v_max = float(np.max(np.abs(v)))
    if not v_max > 0:
        raise ValueError("fit_didv: the bias voltages are all zero")
    y_scale = float(np.median(y[np.abs(v) >= 0.7 * v_max])) or float(np.max(np.abs(y)))

    # --- start: grid over Delta0, Gamma/Delta0 (and w); sigma_N (and sigma_N h) linear
    gaps = np.geomspace(0.02, 0.5, 22) * v_max
    ratios = (0.01, 0.05, 0.2)
    widths = np.geomspace(0.01, 0.2, 6) * v_max if zbp else [None]
    best = None
    for gap_v in gaps:
        for ratio in ratios:
            g = normalized_conductance(v, temperature, gap_v * E, ratio * gap_v * E, l)
            for w in widths:
                if w is None:
                    coef, cost = _linear([g], y)
                    h = 0.0
                else:
                    coef, cost = _linear([g, _gauss(v, w)], y)
                    if coef[1] < 0:
                        coef, cost = _linear([g], y)
                        coef = np.array([coef[0], 0.0])
                    h = coef[1] / coef[0] if coef[0] else 0.0
                if coef[0] > 0 and (best is None or cost < best[0]):
                    best = (cost, gap_v, ratio * gap_v, coef[0], h, w)
    if best is None:
        raise ValueError("fit_didv: no starting point with a positive sigma_N; is this a conductance?")
    _, gap0, gamma0, sigma0, h0, w0 = best

    # --- refine: x = [ln Delta0 (V), ln Gamma (V), sigma_N / y_scale (, h, ln w)]
    x0 = [math.log(gap0), math.log(gamma0), sigma0 / y_scale]
    lo = [math.log(1e-3 * v_max), math.log(1e-6 * v_max), 0.0]
    hi = [math.log(2.0 * v_max), math.log(2.0 * v_max), np.inf]
    if zbp:
        x0 += [max(h0, 1e-6), math.log(w0)]
        lo += [0.0, math.log(1e-4 * v_max)]
        hi += [np.inf, math.log(v_max)]
    x0 = np.clip(np.array(x0, dtype=float), np.array(lo) + 1e-9, np.array(hi) - 1e-9)

    def unpack(x):
        gap_v, gamma_v, sigma = math.exp(x[0]), math.exp(x[1]), x[2] * y_scale
        h, w = (x[3], math.exp(x[4])) if zbp else (0.0, 1e-4)
        return gap_v, gamma_v, sigma, h, w

    def model(x, volts):
        gap_v, gamma_v, sigma, h, w = unpack(x)
        return sigma * normalized_conductance(volts, temperature, gap_v * E, gamma_v * E, l, h, w)

    def residuals(x):
        return (model(x, v) - y) / y_scale

    fit = least_squares(residuals, x0, bounds=(lo, hi), method="trf", diff_step=1e-4, xtol=1e-10, ftol=1e-10,
                        gtol=1e-10, max_nfev=500)
    x = fit.x
    resid = residuals(x)
    cov = covariance(fit.jac, resid)
    sd = np.sqrt(np.maximum(np.diag(cov), 0.0)) if np.all(np.isfinite(cov)) else np.full(x.size, np.nan)
    gap_v, gamma_v, sigma, h, w = unpack(x)
    values = {"delta0": gap_v * E, "delta0_eV": gap_v, "gamma": gamma_v * E, "gamma_eV": gamma_v, "sigma_n": sigma}
    errors = {"delta0": gap_v * E * sd[0], "delta0_eV": gap_v * sd[0], "gamma": gamma_v * E * sd[1],
              "gamma_eV": gamma_v * sd[1], "sigma_n": y_scale * sd[2]}
    units = {"delta0": "J", "delta0_eV": "eV", "gamma": "J", "gamma_eV": "eV", "sigma_n": "S"}
    if zbp:
        values.update(zbp_height=h, zbp_width=w)
        errors.update(zbp_height=float(sd[3]), zbp_width=w * sd[4])
        units.update(zbp_height="", zbp_width="V")
    order = np.argsort(v)
    vs = v[order]
    return FitResult(
        model=f"didv-{'s' if l == 0 else 'p'}-wave" + ("-zbp" if zbp else ""),
        values=values, errors=errors, units=units,
        x=vs, curve=model(x, vs), data=y[order], x_label=("V", "V"), y_label=("dI/dV", "S"),
        notes={"fitted": f"eq. 1, l = {l}" + (" + zero-bias Gaussian" if zbp else ""), "temperature": temperature,
               "l": l, "points": int(v.size), "residual_rms": float(np.sqrt(np.mean(resid ** 2))) * y_scale,
               "converged": bool(fit.success)},
        function=lambda volts, x=x: model(x, np.asarray(volts, dtype=float)),
    )
