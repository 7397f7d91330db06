"""Spin-valve switching: TMR loops of the magnetic tunnel junction and non-local switching.

Two ferromagnetic electrodes with different coercive fields give two resistance
levels, parallel (P) and antiparallel (AP), and a field sweep switches between them.
:func:`switching_fields` finds, per sweep direction, the fields where the state
changes, and the two levels.

Method:

* the two levels: the readings are split at the midpoint between their 5 % and 95 %
  quantiles; each class's median is a level. The P level is the one the readings at
  the largest |B| (the saturated, parallel state) belong to; the other is AP.
* each sweep (a contiguous run of rows with the same direction, in measurement order)
  is walked in order; a switch is a change of class between two consecutive readings.
  The switch happened between those two fields: it is reported where the resistance
  crosses the threshold, linear between the two readings (the midpoint for two settled
  levels either side; a reading caught mid-switch, as a filtered or deconvolved
  continuous sweep gives, places it within the interval), with a one-sigma error of
  (interval)/sqrt(12) (uniform within the interval).
* Delta R = R_AP - R_P (signed: > 0 for the TMR, < 0 for a non-local signal whose
  parallel state is the higher), Delta R / R = Delta R / R_P.
"""

from __future__ import annotations

import math

import numpy as np

from .result import FitResult

__all__ = ["switching_fields", "fit_switching"]

DIRECTIONS = {1: "up", -1: "down"}


def _levels(field, resistance):
    lo, hi = np.quantile(resistance, [0.05, 0.95])
    threshold = 0.5 * (lo + hi)
    high = resistance > threshold
    if high.all() or not high.any():
        raise ValueError("switching_fields: the resistance shows one level only; no switching in these data")
    saturated = np.abs(field) >= np.quantile(np.abs(field), 0.9)
    parallel_is_high = np.mean(high[saturated]) > 0.5
    return threshold, high, parallel_is_high


def switching_fields(field, direction, resistance, step=None) -> dict:
    """Switching fields per sweep direction and the two resistance levels.

    ``field`` (T), ``direction`` (+1 sweeping up, -1 down; per reading), ``resistance``
    (ohm), in measurement order. ``step`` (T): the field step, for the error when
    two consecutive readings around a switch are not one step apart (default: the
    median |dB| of the data). Returns ``{"up": [B, ...], "down": [B, ...],
    "delta_r": ohm, "delta_r_over_r": float, "r_parallel": ohm, "r_antiparallel": ohm,
    "up_errors": [...], "down_errors": [...], "delta_r_error": ohm, "step": T,
    "state": bool array (True: antiparallel)}``; the fields are in the order they
    were crossed.
    """
    b = np.asarray(field, dtype=float).ravel()
    d = np.asarray(direction, dtype=float).ravel()
    r = np.asarray(resistance, dtype=float).ravel()
    if not (b.shape == d.shape == r.shape):
        raise ValueError(f"switching_fields: {b.size} fields, {d.size} directions, {r.size} resistances")
    keep = np.isfinite(b) & np.isfinite(d) & np.isfinite(r)
    b, d, r = b[keep], np.sign(d[keep]).astype(int), r[keep]
    if b.size < 3:
        raise ValueError("switching_fields: need at least 3 readings")
    threshold, high, parallel_is_high = _levels(b, r)
    antiparallel = ~high if parallel_is_high else high
    r_p, r_ap = float(np.median(r[~antiparallel])), float(np.median(r[antiparallel]))
    if step is None:
        steps = np.abs(np.diff(b))
        steps = steps[steps > 0]
        step = float(np.median(steps)) if steps.size else math.nan
    out = {"up": [], "down": [], "up_errors": [], "down_errors": []}
    start = 0
    for k in range(1, b.size + 1):
        if k < b.size and d[k] == d[start]:
            continue
        name = DIRECTIONS.get(int(d[start]))
        for j in range(start + 1, k):
            if name and antiparallel[j] != antiparallel[j - 1]:
                f = float(np.clip((threshold - r[j - 1]) / (r[j] - r[j - 1]), 0.0, 1.0))
                out[name].append(float(b[j - 1] + f * (b[j] - b[j - 1])))
                out[f"{name}_errors"].append(float(abs(b[j] - b[j - 1]) / math.sqrt(12)))
        start = k
    n_p, n_ap = int((~antiparallel).sum()), int(antiparallel.sum())
    sd_p = float(np.std(r[~antiparallel], ddof=1)) if n_p > 1 else 0.0
    sd_ap = float(np.std(r[antiparallel], ddof=1)) if n_ap > 1 else 0.0
    # error of a median ~ 1.25 sigma / sqrt(n)
    err_p, err_ap = 1.2533 * sd_p / math.sqrt(n_p), 1.2533 * sd_ap / math.sqrt(n_ap)
    delta = r_ap - r_p
    out.update(delta_r=delta, delta_r_over_r=delta / r_p if r_p else math.nan, r_parallel=r_p,
               r_antiparallel=r_ap, delta_r_error=math.hypot(err_p, err_ap),
               r_parallel_error=err_p, r_antiparallel_error=err_ap, step=step, state=antiparallel)
    return out


def fit_switching(field, direction, resistance, step=None) -> FitResult:
    """:func:`switching_fields` as a :class:`FitResult`: values ``B_up_1``, ``B_up_2``, ...,
    ``B_down_1``, ... (T, in the order crossed), ``delta_r``, ``delta_r_over_r``,
    ``r_parallel``, ``r_antiparallel``; ``curve`` is the two-level step model (each
    reading at its class's level), ``x`` the fields in measurement order."""
    s = switching_fields(field, direction, resistance, step)
    values, errors, units = {}, {}, {}
    for name in ("up", "down"):
        for i, (v, e) in enumerate(zip(s[name], s[f"{name}_errors"]), 1):
            values[f"B_{name}_{i}"], errors[f"B_{name}_{i}"], units[f"B_{name}_{i}"] = v, e, "T"
    r_p, r_ap = s["r_parallel"], s["r_antiparallel"]
    values.update(delta_r=s["delta_r"], delta_r_over_r=s["delta_r_over_r"], r_parallel=r_p, r_antiparallel=r_ap)
    ratio_error = (abs(s["delta_r_over_r"]) * math.hypot(s["delta_r_error"] / s["delta_r"],
                                                          s["r_parallel_error"] / r_p)
                   if s["delta_r"] and r_p else math.nan)
    errors.update(delta_r=s["delta_r_error"], delta_r_over_r=ratio_error, r_parallel=s["r_parallel_error"],
                  r_antiparallel=s["r_antiparallel_error"])
    units.update(delta_r="Ohm", delta_r_over_r="", r_parallel="Ohm", r_antiparallel="Ohm")
    b = np.asarray(field, dtype=float).ravel()
    d = np.asarray(direction, dtype=float).ravel()
    r = np.asarray(resistance, dtype=float).ravel()
    keep = np.isfinite(b) & np.isfinite(d) & np.isfinite(r)
    curve = np.where(s["state"], r_ap, r_p)
    return FitResult(
        model="switching", values=values, errors=errors, units=units,
        x=b[keep], curve=curve, data=r[keep], x_label=("B", "T"), y_label=("R", "Ohm"),
        notes={"fitted": "two levels (P, AP); switches where R crosses half-way, linear between readings",
               "direction": np.sign(d[keep]).astype(int), "step": s["step"], "points": int(keep.sum())},
    )
