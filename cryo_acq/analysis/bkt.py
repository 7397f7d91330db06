"""The superconducting transition of the channel: V-I exponent, T_BKT, and the BKT R(T).

* **V-I power law** (paper, Fig. 1c, ED3): V ~ I^alpha. :func:`fit_vi_exponent` fits
  ln V = ln prefactor + alpha ln I (linear least squares in log-log) over a current
  range, by default the lowest decade of current with a measurable voltage.
* **T_BKT from alpha** (the BKT criterion, universal jump of the superfluid stiffness):
  the temperature where alpha(T) crosses 3, linearly interpolated
  (:func:`bkt_temperature`).
* **R(T), Halperin-Nelson** (paper, ED3d): for T_BKT < T < Tc,
  R = R0 exp(-b (T/T_BKT - 1)^(-1/2)) (the paper's a is our b). :func:`fit_bkt_rt` fits
  it made continuous at the upper end Tc_hn, where it meets the normal state:
  R = R_N exp(-b (1/sqrt(t) - 1/sqrt(t_c))), t = T/T_BKT - 1, t_c = Tc_hn/T_BKT - 1,
  R = 0 below T_BKT and R = R_N (1 + k (T - Tc_hn)) above Tc_hn (k: the metallic
  slope of the normal state). This is the sample model's form
  (``sim.conbse2.superconductivity``), so R0 = R_N exp(b/sqrt(t_c)).
* **Tc0** (the definition used throughout): the onset, the highest temperature where
  R < 0.9 R_N on cooling, interpolated between the two readings around it
  (:func:`transition_temperature`).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import least_squares

from .result import FitResult, covariance

__all__ = ["fit_vi_exponent", "bkt_temperature", "fit_bkt_rt", "transition_temperature", "BKT_ALPHA"]

#: V ~ I^3 at T_BKT
BKT_ALPHA = 3.0


# --------------------------------------------------------------------------- V-I
def _default_range(current, voltage, v_min):
    """The lowest decade of current (with |V| > v_min); all the data if they span less."""
    usable = (current > 0) & (np.abs(voltage) > v_min)
    if not usable.any():
        raise ValueError("fit_vi_exponent: no positive current with a voltage above the floor")
    low = float(current[usable].min())
    return low, 10.0 * low * (1 + 1e-9)


def fit_vi_exponent(current, voltage, i_min=None, i_max=None, *, v_min=0.0) -> FitResult:
    """alpha and prefactor of V = prefactor I^alpha, from a log-log fit.

    Uses the readings with i_min <= I <= i_max (A), I > 0 and |V| > ``v_min`` (V: the
    voltmeter's floor). Without i_min / i_max: the lowest decade of current with a
    usable voltage, [I_low, 10 I_low] -- in the BKT model the zero-current limit, below
    the depairing current where the film turns normal. Negative currents are used by
    their magnitude only if no positive current is given. Values: alpha
    (dimensionless), prefactor (V/A^alpha). Standard errors from the linear fit's
    covariance (residual variance); NaN for two points.
    """
    i = np.asarray(current, dtype=float).ravel()
    v = np.asarray(voltage, dtype=float).ravel()
    if i.shape != v.shape:
        raise ValueError(f"fit_vi_exponent: {i.size} currents but {v.size} voltages")
    finite = np.isfinite(i) & np.isfinite(v)
    i, v = i[finite], v[finite]
    if not np.any(i > 0) and np.any(i < 0):
        i, v = -i, -v
    if i_min is None and i_max is None:
        i_min, i_max = _default_range(i, v, v_min)
    i_min = 0.0 if i_min is None else float(i_min)
    i_max = np.inf if i_max is None else float(i_max)
    rows = (i > 0) & (i >= i_min * (1 - 1e-9)) & (i <= i_max * (1 + 1e-9)) & (np.abs(v) > v_min) & (v * np.sign(i) > 0)
    if rows.sum() < 2:
        raise ValueError(f"fit_vi_exponent: {int(rows.sum())} usable point(s) between {i_min:g} and {i_max:g} A; "
                         "need at least 2")
    x, y = np.log(i[rows]), np.log(np.abs(v[rows]))
    design = np.column_stack([x, np.ones_like(x)])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ coef
    cov = covariance(design, resid)
    alpha, ln_pref = float(coef[0]), float(coef[1])
    sd = np.sqrt(np.maximum(np.diag(cov), 0.0)) if np.all(np.isfinite(cov)) else np.full(2, np.nan)
    pref = math.exp(ln_pref)
    order = np.argsort(i[rows])
    xs = i[rows][order]
    return FitResult(
        model="vi-power-law",
        values={"alpha": alpha, "prefactor": pref},
        errors={"alpha": float(sd[0]), "prefactor": pref * float(sd[1])},
        units={"alpha": "", "prefactor": "V/A^alpha"},
        x=xs, curve=pref * xs ** alpha, data=np.abs(v[rows][order]),
        x_label=("I", "A"), y_label=("V", "V"),
        notes={"fitted": "ln V = ln prefactor + alpha ln I", "i_min": float(xs[0]), "i_max": float(xs[-1]),
               "points": int(rows.sum()), "residual_rms": float(np.sqrt(np.mean(resid ** 2))), "log": "xy"},
        function=lambda current, a=alpha, p=pref: p * np.abs(current) ** a,
    )


def bkt_temperature(temperatures, alphas, errors=None) -> tuple[float, float]:
    """T_BKT (K): where alpha(T) crosses 3, and an error estimate (K).

    The temperatures are sorted; the crossing is the highest temperature at which alpha
    goes from below 3 (warmer) to at least 3 (colder), linearly interpolated between
    the two readings around it. Error: the interpolation's, taken as the difference to
    a quadratic through the three nearest readings (if there are three), combined with
    the alphas' own errors (``errors``, optional) propagated through the local slope.
    ValueError if alpha never crosses 3.
    """
    t = np.asarray(temperatures, dtype=float).ravel()
    a = np.asarray(alphas, dtype=float).ravel()
    if t.shape != a.shape:
        raise ValueError(f"bkt_temperature: {t.size} temperatures but {a.size} exponents")
    e = None if errors is None else np.asarray(errors, dtype=float).ravel()
    keep = np.isfinite(t) & np.isfinite(a)
    order = np.argsort(t[keep])[::-1]  # warm -> cold
    t, a = t[keep][order], a[keep][order]
    if e is not None:
        e = e[keep][order]
    crossings = [k for k in range(len(t) - 1) if a[k] < BKT_ALPHA <= a[k + 1]]
    if not crossings:
        raise ValueError(f"bkt_temperature: alpha does not cross {BKT_ALPHA:g} "
                         f"(range {a.min():.3g} .. {a.max():.3g} over {t.min():.4g} .. {t.max():.4g} K)")
    k = crossings[0]
    slope = (a[k + 1] - a[k]) / (t[k + 1] - t[k])
    t_bkt = float(t[k] + (BKT_ALPHA - a[k]) / slope)
    interp_error = 0.5 * abs(t[k + 1] - t[k]) / math.sqrt(3)  # no better knowledge: uniform in half the bracket
    if len(t) >= 3:
        nearest = np.sort(np.argsort(np.abs(t - t_bkt))[:3])
        tt, aa = t[nearest], a[nearest]
        if len(set(tt.tolist())) == 3:
            roots = np.roots(np.polyfit(tt - t_bkt, aa - BKT_ALPHA, 2))
            roots = roots[np.abs(roots.imag) < 1e-12].real
            roots = roots[np.abs(roots) <= abs(t[k + 1] - t[k])]
            if roots.size:
                interp_error = float(np.min(np.abs(roots)))
    alpha_error = 0.0
    if e is not None:
        alpha_error = math.hypot(e[k], e[k + 1]) / math.sqrt(2) / abs(slope)
    return t_bkt, float(math.hypot(interp_error, alpha_error))


# --------------------------------------------------------------------------- R(T)
def transition_temperature(temperature, resistance, fraction=0.9, r_normal=None) -> float:
    """The highest temperature where R < fraction * R_N, on cooling (K).

    ``r_normal`` None: the resistance at the highest temperature. Between the last
    reading at or above the threshold and the first below it, the crossing is
    interpolated linearly. NaN if R never falls below the threshold; the highest
    temperature if it is already below there.
    """
    t = np.asarray(temperature, dtype=float).ravel()
    r = np.asarray(resistance, dtype=float).ravel()
    keep = np.isfinite(t) & np.isfinite(r)
    order = np.argsort(t[keep])[::-1]
    t, r = t[keep][order], r[keep][order]
    if t.size == 0:
        return math.nan
    r_n = float(r[0]) if r_normal is None else float(r_normal)
    level = fraction * r_n
    below = np.flatnonzero(r < level)
    if below.size == 0:
        return math.nan
    i = int(below[0])
    if i == 0:
        return float(t[0])
    return float(t[i - 1] + (level - r[i - 1]) * (t[i] - t[i - 1]) / (r[i] - r[i - 1]))


def _upper_transition(t, r):
    """The readings of the upper transition only (warm -> cold): stop where R, having
    reached zero, rises again (the re-entrant resistive phase at low temperature)."""
    order = np.argsort(t)[::-1]
    t, r = t[order], r[order]
    scale = float(np.max(np.abs(r))) if r.size else 1.0
    reached_zero = False
    end = r.size
    for k, value in enumerate(r):
        if value < 0.01 * scale:
            reached_zero = True
        elif reached_zero and value > 0.02 * scale:
            end = k
            break
    return t[:end], r[:end]


def bkt_resistance(temperature, r_n, tc_hn, t_bkt, b, slope=0.0):
    """The fitted R(T) (ohm): R_N (1 + k (T - Tc_hn)) above Tc_hn, Halperin-Nelson
    R_N exp(-b (1/sqrt(t) - 1/sqrt(t_c))) between T_BKT and Tc_hn, 0 below T_BKT."""
    t = np.asarray(temperature, dtype=float)
    out = np.zeros_like(t)
    normal = t >= tc_hn
    out[normal] = r_n * (1.0 + slope * (t[normal] - tc_hn))
    mid = (t > t_bkt) & ~normal
    if tc_hn > t_bkt:
        reduced = t[mid] / t_bkt - 1.0
        reduced_c = tc_hn / t_bkt - 1.0
        out[mid] = r_n * np.exp(-b * (1.0 / np.sqrt(reduced) - 1.0 / math.sqrt(reduced_c)))
    return out


def fit_bkt_rt(temperature, resistance, *, fraction=0.9) -> FitResult:
    """Fit the BKT (Halperin-Nelson) R(T) of a superconducting transition.

    Values:

    * ``R_N`` (ohm): normal-state resistance at the top of the transition (Tc_hn);
    * ``Tc0`` (K): the onset, highest T where R < ``fraction`` (0.9) R_N, from the data
      (:func:`transition_temperature` with the fitted R_N); error from the noise of R
      and the local slope dR/dT;
    * ``T_BKT`` (K): the Halperin-Nelson fit's BKT temperature;
    * ``b``: the dimensionless Halperin-Nelson constant (the paper's a);
    * ``Tc_hn`` (K): where the fitted Halperin-Nelson curve meets R_N;
    * ``dRdT_normal`` (1/K): relative metallic slope k of the normal state above Tc_hn.

    Only the upper transition is used: readings below the first zero-resistance region
    where R rises again (the re-entrant resistive phase) are left out.
    """
    t = np.asarray(temperature, dtype=float).ravel()
    r = np.asarray(resistance, dtype=float).ravel()
    keep = np.isfinite(t) & np.isfinite(r)
    t, r = _upper_transition(t[keep], r[keep])
    if t.size < 6:
        raise ValueError(f"fit_bkt_rt: {t.size} readings in the transition; need at least 6")
    r_top = float(np.median(r[: max(2, min(5, t.size // 5))]))
    if not r_top > 0:
        raise ValueError("fit_bkt_rt: the warmest readings are not resistive; the data hold no transition")
    onset = transition_temperature(t, r, 0.9, r_top)
    zero = transition_temperature(t, r, 0.01, r_top)
    if not (math.isfinite(onset) and math.isfinite(zero)):
        raise ValueError("fit_bkt_rt: R does not fall from R_N to ~0 in these data; need the whole transition")
    span = max(onset - zero, 1e-3)

    def unpack(x):
        return x[0] * r_top, x[1], x[2], math.exp(x[3]), x[4]  # R_N, Tc_hn, T_BKT, b, k

    def residuals(x):
        r_n, tc_hn, t_bkt, b, k = unpack(x)
        return (bkt_resistance(t, r_n, tc_hn, t_bkt, b, k) - r) / r_top

    best = None
    for b0 in (0.1, 0.3, 1.0, 3.0):
        for frac in (0.0, 0.3, 0.7):
            x0 = np.array([1.0, onset + 0.05 * span, zero - frac * span, math.log(b0), 0.0])
            lo = [0.5, zero, zero - 3 * span - 0.5, math.log(1e-3), -1.0]
            hi = [2.0, onset + 2 * span + 0.5, onset, math.log(1e3), 1.0]
            x0 = np.clip(x0, np.array(lo) + 1e-9, np.array(hi) - 1e-9)
            try:
                fit = least_squares(residuals, x0, bounds=(lo, hi), method="trf", xtol=1e-12, ftol=1e-12,
                                    gtol=1e-12, max_nfev=3000)
            except ValueError:
                continue
            if best is None or fit.cost < best.cost:
                best = fit
    if best is None:
        raise ValueError("fit_bkt_rt: the Halperin-Nelson fit found no solution for these data")
    x = best.x
    resid = residuals(x)
    cov = covariance(best.jac, resid)
    sd = np.sqrt(np.maximum(np.diag(cov), 0.0)) if np.all(np.isfinite(cov)) else np.full(x.size, np.nan)
    r_n, tc_hn, t_bkt, b, k = unpack(x)
    noise = float(np.sqrt(np.sum(resid ** 2) / max(resid.size - x.size, 1))) * r_top
    tc0 = transition_temperature(t, r, fraction, r_n)
    # error of the onset: the noise of R and of the threshold through the local slope dR/dT
    dt = max(1e-4 * abs(tc0), 1e-5)
    slope = (bkt_resistance(np.array([tc0 + dt]), r_n, tc_hn, t_bkt, b, k)[0]
             - bkt_resistance(np.array([tc0 - dt]), r_n, tc_hn, t_bkt, b, k)[0]) / (2 * dt)
    tc0_error = math.hypot(noise, fraction * r_top * sd[0]) / abs(slope) if slope else math.nan
    order = np.argsort(t)
    ts = t[order]
    return FitResult(
        model="bkt-rt",
        values={"R_N": r_n, "Tc0": tc0, "T_BKT": t_bkt, "b": b, "Tc_hn": tc_hn, "dRdT_normal": k},
        errors={"R_N": r_top * sd[0], "Tc0": tc0_error, "T_BKT": sd[2], "b": b * sd[3], "Tc_hn": sd[1],
                "dRdT_normal": sd[4]},
        units={"R_N": "Ohm", "Tc0": "K", "T_BKT": "K", "b": "", "Tc_hn": "K", "dRdT_normal": "1/K"},
        x=ts, curve=bkt_resistance(ts, r_n, tc_hn, t_bkt, b, k), data=r[order],
        x_label=("T", "K"), y_label=("R", "Ohm"),
        notes={"fitted": "Halperin-Nelson R(T) between T_BKT and Tc_hn, R_N above; Tc0 = onset at "
                         f"{fraction:g} R_N", "points": int(t.size), "residual_rms": noise,
               "converged": bool(best.success)},
        function=lambda temps, p=(r_n, tc_hn, t_bkt, b, k): bkt_resistance(temps, *p),
    )
