"""Hanle precession in the non-local spin valve: fit of the paper's eq. 3 (and eq. 4).

Model (paper, Methods eq. 3; eq. 4 for ``model="vortex"``)::

    R_NL(B) = offset + R0 * H(B),
    H(B) = Int_0^inf dt (4 pi D t)^-1/2 exp(-L^2/4Dt) exp(-t/tau) [1 - a_v + a_v cos(w_L t)]

with w_L = g mu_B B / hbar (g = 2), a_v = 1 for eq. 3 and a_v = 1 - exp(-|B|/B_v) for
eq. 4. H is *the sample model's own function*, :func:`sim.conbse2.spin.hanle_closed_form`
(closed form: with s = 1/tau - i w_L, H = Re[exp(-L sqrt(s/D)) / (2 sqrt(D s))]), or,
with ``integrator="quadrature"``, :func:`sim.conbse2.spin.hanle_quadrature` (the same
integral by adaptive quadrature: the benchmark's reference). H is in s/m, so R0 is in
ohm m/s; ``amplitude`` = R0 H(0) is the spin signal at zero field, in ohm.

What is fitted: whatever curve is passed, with a free constant ``offset``. A single
parallel or antiparallel curve (background + spin signal: the offset is the
background R_bg, and R0 > 0 for parallel, < 0 for antiparallel) or the spin signal
(R_P - R_AP)/2 (offset ~ 0). With ``alignment_sign`` (+1 / -1) the sign of R0 is
imposed; with None it is free.

How: the shape of H depends on lambda_s = sqrt(D tau) (through L/lambda_s) and on tau
(through w_L tau); R0 and the offset enter linearly. A grid over (lambda_s, tau[, B_v])
with R0 and the offset solved linearly at each node gives the starting point; then
``scipy.optimize.least_squares`` refines ln D, ln tau (log space: both positive, and
their errors relative), R0, offset [, ln B_v]. Standard errors come from the covariance
(J^T J)^-1 s^2 at the solution (s^2: residual variance); lambda_s = sqrt(D tau) and
the amplitude carry the propagated error, including the D-tau correlation.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import least_squares

from sim.conbse2.spin import hanle_closed_form, hanle_quadrature, larmor

from .result import FitResult, covariance, propagate

__all__ = ["fit_hanle", "hanle_curve", "INTEGRATORS"]

#: how H(B) is evaluated: the closed form of eq. 3/4 or the numerical integral of the same equation
INTEGRATORS = {"closed-form": hanle_closed_form, "quadrature": hanle_quadrature}
MODELS = ("standard", "vortex")

# bounds of the refinement (SI): wide, they only keep the exponentials finite
_D_BOUNDS = (1e-9, 1e2)  # m^2/s
_TAU_BOUNDS = (1e-16, 1e-5)  # s
_BV_BOUNDS = (1e-5, 1e3)  # T


def hanle_curve(field_perp, length, diffusion, lifetime, r0, offset=0.0, model="standard", vortex_field=0.0,
                integrator="closed-form"):
    """offset + R0 H(B) (ohm) for fields ``field_perp`` (T): eq. 3 or eq. 4 of the paper."""
    return offset + r0 * _h(field_perp, length, diffusion, lifetime, model, vortex_field, integrator)


def _h(b, length, diffusion, lifetime, model, vortex_field, integrator):
    return np.asarray(INTEGRATORS[integrator](b, length, diffusion, lifetime, model=model,
                                              vortex_field=vortex_field), dtype=float)


def _linear(h, y, sign):
    """Least-squares R0, offset of y ~ offset + R0 h (R0 of sign ``sign`` if given); (r0, offset, cost)."""
    hm, ym = h.mean(), y.mean()
    dh = h - hm
    var = float(dh @ dh)
    r0 = float(dh @ (y - ym)) / var if var > 0 else 0.0
    if sign is not None and r0 * sign < 0:
        r0 = 0.0
    offset = ym - r0 * hm
    resid = y - offset - r0 * h
    return r0, offset, float(resid @ resid)


def _start(b, y, length, model, sign, integrator, n_grid):
    """Best grid node (D, tau, B_v, R0, offset) over lambda_s/L, tau (and B_v)."""
    w_max = float(np.max(np.abs(larmor(b))))
    if not w_max > 0:
        raise ValueError("fit_hanle: the fields are all zero; a Hanle curve needs a B_perp sweep")
    taus = np.geomspace(0.03 / w_max, 300.0 / w_max, n_grid)
    lambdas = length * np.geomspace(0.05, 20.0, n_grid)
    b_max = float(np.max(np.abs(b)))
    vortex_fields = np.geomspace(b_max / 30, 3 * b_max, 10) if model == "vortex" else [0.0]
    best = None
    for bv in vortex_fields:
        for tau in taus:
            for lam in lambdas:
                d = lam * lam / tau
                h = _h(b, length, d, tau, model, bv, integrator)
                r0, offset, cost = _linear(h, y, sign)
                if best is None or cost < best[0]:
                    best = (cost, d, tau, bv, r0, offset)
    return best[1:]


def _jacobian(fun, x, steps):
    f0 = fun(x)
    jac = np.empty((f0.size, x.size))
    for i in range(x.size):
        up, down = x.copy(), x.copy()
        up[i] += steps[i]
        down[i] -= steps[i]
        jac[:, i] = (fun(up) - fun(down)) / (2 * steps[i])
    return jac


def fit_hanle(field_perp, r_nonlocal, channel_length, model="standard", alignment_sign=None, *,
              integrator="closed-form", start=None, grid=24) -> FitResult:
    """Fit R_NL(B_perp) with eq. 3 (``model="standard"``) or eq. 4 (``"vortex"``).

    ``field_perp`` (T), ``r_nonlocal`` (ohm), ``channel_length`` L (m, centre to
    centre). ``alignment_sign``: +1 (parallel) or -1 (antiparallel) imposes the sign
    of R0; None leaves it free. ``integrator``: ``"closed-form"`` (default) or
    ``"quadrature"`` (the same equation integrated numerically; ~10^3 times slower).
    ``start``: optional dict with ``D``, ``tau`` (and ``B_v``) to skip the grid
    search; ``grid``: nodes per axis of that search.

    Values: D (m^2/s), tau (s), lambda_s = sqrt(D tau) (m), R0 (ohm m/s, the scale
    factor of eq. 3: R_NL = offset + R0 H with H in s/m), offset (ohm), amplitude =
    R0 H(0) (ohm) [, B_v (T) for ``"vortex"``].
    """
    if model not in MODELS:
        raise ValueError(f"fit_hanle: model must be one of {MODELS}, not {model!r}")
    if integrator not in INTEGRATORS:
        raise ValueError(f"fit_hanle: integrator must be one of {tuple(INTEGRATORS)}, not {integrator!r}")
    if alignment_sign is not None:
        if alignment_sign not in (1, -1, 1.0, -1.0):
            raise ValueError(f"fit_hanle: alignment_sign must be +1, -1 or None, not {alignment_sign!r}")
        alignment_sign = int(alignment_sign)
    b = np.asarray(field_perp, dtype=float).ravel()
    y = np.asarray(r_nonlocal, dtype=float).ravel()
    if b.shape != y.shape:
        raise ValueError(f"fit_hanle: {b.size} fields but {y.size} resistances")
    keep = np.isfinite(b) & np.isfinite(y)
    b, y = b[keep], y[keep]
    length = float(channel_length)
    if not (math.isfinite(length) and length > 0):
        raise ValueError(f"fit_hanle: channel_length must be a positive length in m, got {channel_length!r}")
    n_par = 5 if model == "vortex" else 4
    if b.size <= n_par:
        raise ValueError(f"fit_hanle: {b.size} points cannot fix {n_par} parameters")

    if start is None:
        d0, tau0, bv0, r00, off0 = _start(b, y, length, model, alignment_sign, integrator, grid)
    else:
        d0, tau0 = float(start["D"]), float(start["tau"])
        bv0 = float(start.get("B_v", 0.1)) if model == "vortex" else 0.0
        r00, off0, _ = _linear(_h(b, length, d0, tau0, model, bv0, integrator), y, alignment_sign)

    # x = [ln D, ln tau, a, c (, ln B_v)]: R0 = r_scale a, offset = off0 + y_scale c
    r_scale = abs(r00) if r00 != 0 else max(np.ptp(y), 1e-30) / max(float(np.max(np.abs(
        _h(b, length, d0, tau0, model, bv0, integrator)))), 1e-300)
    if alignment_sign is not None:
        r_scale *= alignment_sign
        a0 = max(r00 / r_scale, 1e-6)
    else:
        a0 = r00 / r_scale if r00 != 0 else 1.0
    y_scale = float(np.ptp(y)) or 1.0
    lo = [math.log(_D_BOUNDS[0]), math.log(_TAU_BOUNDS[0]), 0.0 if alignment_sign is not None else -np.inf, -np.inf]
    hi = [math.log(_D_BOUNDS[1]), math.log(_TAU_BOUNDS[1]), np.inf, np.inf]
    x0 = [math.log(d0), math.log(tau0), a0, 0.0]
    if model == "vortex":
        lo.append(math.log(_BV_BOUNDS[0]))
        hi.append(math.log(_BV_BOUNDS[1]))
        x0.append(math.log(bv0))
    x0 = np.clip(np.array(x0, dtype=float), np.array(lo) + 1e-9, np.array(hi) - 1e-9)

    def unpack(x):
        d, tau = math.exp(x[0]), math.exp(x[1])
        bv = math.exp(x[4]) if model == "vortex" else 0.0
        return d, tau, r_scale * x[2], off0 + y_scale * x[3], bv

    def curve_of(x, fields):
        d, tau, r0, off, bv = unpack(x)
        return off + r0 * _h(fields, length, d, tau, model, bv, integrator)

    def residuals(x):
        return curve_of(x, b) - y

    fit = least_squares(residuals, x0, bounds=(lo, hi), method="trf", x_scale=1.0,
                        xtol=1e-12, ftol=1e-12, gtol=1e-12, max_nfev=2000)
    x = fit.x
    jac = _jacobian(residuals, x, np.full(x.size, 1e-6))
    resid = residuals(x)
    cov = covariance(jac, resid)
    d, tau, r0, off, bv = unpack(x)
    sd = np.sqrt(np.maximum(np.diag(cov), 0.0)) if np.all(np.isfinite(cov)) else np.full(x.size, np.nan)

    h0 = float(_h(np.array([0.0]), length, d, tau, model, bv, "closed-form")[0])
    values = {"D": d, "tau": tau, "lambda_s": math.sqrt(d * tau), "R0": r0, "offset": off, "amplitude": r0 * h0}
    errors = {
        "D": d * sd[0],
        "tau": tau * sd[1],
        "lambda_s": propagate(lambda v: math.exp(0.5 * (v[0] + v[1])), x, cov, steps=np.full(x.size, 1e-6)),
        "R0": abs(r_scale) * sd[2],
        "offset": y_scale * sd[3],
        "amplitude": propagate(lambda v: _amplitude(v, unpack, length, model), x, cov,
                               steps=np.full(x.size, 1e-6)),
    }
    units = {"D": "m^2/s", "tau": "s", "lambda_s": "m", "R0": "Ohm m/s", "offset": "Ohm", "amplitude": "Ohm"}
    if model == "vortex":
        values["B_v"], errors["B_v"], units["B_v"] = bv, bv * sd[4], "T"
    order = np.argsort(b)
    x_sorted = b[order]
    return FitResult(
        model=f"hanle-{model}",
        values=values, errors=errors, units=units,
        x=x_sorted, curve=curve_of(x, x_sorted), data=y[order],
        x_label=("B_perp", "T"), y_label=("R_NL", "Ohm"),
        notes={"fitted": "R_NL = offset + R0 H(B), eq. 3" if model == "standard" else
               "R_NL = offset + R0 H(B), eq. 4 (vortex)",
               "channel_length": length, "integrator": integrator,
               "alignment_sign": alignment_sign, "points": int(b.size),
               "residual_rms": float(np.sqrt(np.mean(resid ** 2))), "converged": bool(fit.success),
               "nfev": int(fit.nfev)},
        function=lambda fields, x=x: curve_of(x, np.asarray(fields, dtype=float)),
    )


def _amplitude(v, unpack, length, model):
    d, tau, r0, _, bv = unpack(v)
    return r0 * float(hanle_closed_form(0.0, length, d, tau, model=model, vortex_field=bv))
