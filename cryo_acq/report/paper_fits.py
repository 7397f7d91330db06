"""The demo's fits: each number of the paper's panels fitted from the run files with
:mod:`cryo_acq.analysis`, as plain data a worker process can return."""

from __future__ import annotations

import math

import numpy as np


# =========================================================================== fitting
def _portable(fit, n: int = 300):
    """A FitResult that can cross a process boundary: its model function (a closure) is
    sampled on a fine grid into ``notes["fine"]`` and dropped."""
    import dataclasses

    if fit is None or getattr(fit, "function", None) is None:
        return fit
    x = np.asarray(fit.x, dtype=float)
    fine = None
    if x.size > 1 and np.all(np.isfinite(x)):
        log = fit.notes.get("log") == "xy" and x.min() > 0
        xs = np.geomspace(x.min(), x.max(), n) if log else np.linspace(x.min(), x.max(), n)
        try:
            fine = (xs, np.asarray(fit.evaluate(xs), dtype=float))
        except Exception:  # noqa: BLE001 - the curve at the data remains
            fine = None
    notes = dict(fit.notes)
    if fine is not None:
        notes["fine"] = fine
    return dataclasses.replace(fit, function=None, notes=notes)


def _run(inputs, label):
    from cryo_acq.run.storage import load_run

    return load_run(inputs[label].path)


def fit_bkt(label: str, inputs=None) -> dict:
    """Fig. 1c / ED3d: the BKT (Halperin-Nelson) R(T) of a zero-field R-T run."""
    from cryo_acq.analysis import fit_run

    fit = fit_run("bkt-rt", inputs[label].path)[0]
    return {"fit": _portable(fit)}


def fit_reentrant(label: str, inputs=None) -> dict:
    """Fig. 2a-b: R(1.5 K)/R_N and the onset T_K of the re-entrant resistance, from the B = 0 line cut."""
    from cryo_acq.analysis import fit_run

    run = _run(inputs, label)
    fit = fit_run("bkt-rt", run)[0]
    t, r = run.data["temperature"], run.data["resistance"]
    r_n = fit["R_N"]
    cold = t <= t.min() + 0.05
    ratio = float(np.mean(r[cold]) / r_n)
    noise = fit.notes.get("residual_rms", math.nan)  # the readings' scatter about the fitted R(T)
    ratio_error = ratio * math.hypot(noise / math.sqrt(cold.sum()) / float(np.mean(r[cold])),
                                     fit.error("R_N") / r_n)
    return {"fit": _portable(fit), "ratio": ratio, "ratio_error": ratio_error,
            "ratio_temperature": float(np.mean(t[cold])), "t_k": _reentrant_onset(t, r, r_n),
            "threshold": REENTRANT_THRESHOLD}


#: the re-entrant phase is "resistive" above this fraction of R_N (a threshold, not a fit)
REENTRANT_THRESHOLD = 0.01


def _reentrant_onset(t, r, r_n) -> float:
    """Cooling from above T_c: after R has reached ~0, the temperature where it rises again
    above ``REENTRANT_THRESHOLD`` R_N, interpolated (NaN if it never does)."""
    order = np.argsort(t)[::-1]
    t, r = t[order], r[order]
    level = REENTRANT_THRESHOLD * r_n
    zero = np.flatnonzero(r < level)
    if zero.size == 0:
        return math.nan
    for k in range(zero[0] + 1, r.size):
        if r[k] >= level and r[k - 1] < level:
            return float(t[k - 1] + (level - r[k - 1]) * (t[k] - t[k - 1]) / (r[k] - r[k - 1]))
    return math.nan


def fit_vi(label: str, inputs=None) -> dict:
    """Fig. 1c: alpha(T) from V ~ I^alpha over the lowest decade, and T_BKT where alpha = 3."""
    from cryo_acq.analysis import fit_run

    fits = fit_run("vi", inputs[label].path)
    return {"fits": [_portable(f) for f in fits if f.model != "vi-bkt"],
            "bkt": _portable(next(f for f in fits if f.model == "vi-bkt"))}


#: Fig. 1d: in-plane T_c(B) of A01 is orbital only up to ~7.5 T (above, the Pauli limit is lower)
PAIR_BREAKING_MAX_FIELD = 6.0  # T
A01_THICKNESS = 12e-9  # m, paper ED10 ("~12")


def fit_tc_parallel(labels: tuple[str, ...], inputs=None) -> dict:
    """Fig. 1d: T_c (onset, 0.9 R_N) of each in-plane line cut; eq. 2 fitted to the fields up
    to ``PAIR_BREAKING_MAX_FIELD`` with the paper's thickness of A01."""
    from cryo_acq.analysis import fit_run, transition_temperature

    runs = [_run(inputs, label) for label in labels]
    fields = np.array([float(np.nanmean(np.abs(r.data["field"]))) for r in runs])
    tops = [r.data["resistance"][np.argmax(r.data["temperature"])] for r in runs]
    r_n = float(np.max(tops))  # the normal state: the warmest readings
    tcs = np.array([transition_temperature(r.data["temperature"], r.data["resistance"], 0.9, r_n) for r in runs])
    fitted = [r for r, b in zip(runs, fields) if b <= PAIR_BREAKING_MAX_FIELD + 1e-9]
    fit = fit_run("pair-breaking", fitted, thickness=A01_THICKNESS)[0]
    wide = np.linspace(0.0, max(float(fields.max()), PAIR_BREAKING_MAX_FIELD), 200)
    return {"fit": _portable(fit), "fields": fields, "tc": tcs, "fitted": fields <= PAIR_BREAKING_MAX_FIELD + 1e-9,
            "r_normal": r_n, "extended": (wide, fit.evaluate(wide))}


def fit_tc_perpendicular(label: str, inputs=None) -> dict:
    """Fig. 1d (out of plane, device B): T_c(B_perp) per row of the map, eq. 2."""
    from cryo_acq.analysis import fit_run

    fit = fit_run("pair-breaking", inputs[label].path)[0]
    return {"fit": _portable(fit)}


def fit_phase(label: str, inputs=None) -> dict:
    """Fig. 2a: B_K at the lowest temperature of the map: the field above which R falls below
    ``REENTRANT_THRESHOLD`` R_N again (a threshold on the map, interpolated)."""
    run = _run(inputs, label)
    outer, inner = run.plan["axes"]
    fields, temps = np.array(outer["values"]), np.array(inner["values"])
    r = run.grid["resistance"]
    r_n = float(np.nanmax(r[:, np.argmax(temps)]))
    column = r[:, np.argmin(temps)]
    level = REENTRANT_THRESHOLD * r_n
    b_k = math.nan
    for k in range(1, fields.size):
        if column[k - 1] >= level > column[k]:
            b_k = float(fields[k - 1] + (level - column[k - 1]) * (fields[k] - fields[k - 1])
                        / (column[k] - column[k - 1]))
            break
    return {"b_k": b_k, "temperature": float(temps.min()), "r_normal": r_n, "threshold": REENTRANT_THRESHOLD}


def fit_spectrum(label: str, row: int, inputs=None) -> dict:
    """Fig. 2c-d: eq. 1 (p wave, zero-bias Gaussian) fitted to one spectrum (outer row) of a
    didv run (``fit_didv``, as ``fit_run("didv")`` does for every row; one task per spectrum
    so that the pool shares them)."""
    from cryo_acq.analysis import fit_didv

    run = _run(inputs, label)
    versus = "temperature" if "temperature" in run.grid else "field"
    outer = float(run.plan["axes"][0]["values"][row])
    v, g = run.grid["bias_voltage"][row], run.grid["didv"][row]
    if versus == "temperature":
        temperature = float(np.nanmean(run.grid["temperature"][row]))
        condition = f"T = {temperature:.4g} K"
    else:
        temperature = float(_param(run, "temperature"))
        condition = f"T = {temperature:.4g} K, B = {float(np.nanmean(run.grid['field'][row])):.4g} T"
    fit = fit_didv(v, g, temperature, l=1, zbp=True)
    fit.notes.update(condition=condition, setpoint=outer, run=str(run.path))
    return {"fit": _portable(fit)}


def gather_spectra(names: tuple[str, ...], inputs=None) -> dict:
    """The per-spectrum fits of one didv run, in row order."""
    return {"fits": [inputs[name]["fit"] for name in names]}


def _switching(run, column):
    from cryo_acq.analysis import switching_fields

    try:
        s = switching_fields(run.data["field"], run.data["direction"], run.data[column])
    except ValueError as exc:  # one level only
        return {"valid": False, "why": str(exc)}
    s = {k: v for k, v in s.items() if k != "state"}
    # a bistable loop switches twice per sweep; more crossings are noise around one level
    s["valid"] = len(s["up"]) == 2 and len(s["down"]) == 2
    if not s["valid"]:
        s["why"] = f"{len(s['up'])} + {len(s['down'])} threshold crossings: one level with noise, no switching"
    return s


def fit_loops(labels: tuple[str, ...], inputs=None) -> dict:
    """Fig. 3b-e, 4c: switching fields and levels of each loop (``switching_fields``)."""
    out = {}
    for label in labels:
        run = _run(inputs, label)
        column = "resistance" if "resistance" in run.data else "r_nonlocal"
        s = _switching(run, column)
        s["temperature"] = float(np.nanmean(run.data["temperature"])) if "temperature" in run.data else math.nan
        s["current"] = float(_param(run, "current", _param(run, "injection_current", math.nan)))
        out[label] = s
    return out


def _param(run, name, default=None):
    entry = run.metadata.get("parameters", {}).get(name)
    return default if entry is None else entry.get("value", default)


def _amr_dip(b, r, b_sw0):
    from scipy.optimize import curve_fit

    def dip(x, r0, depth, centre, width):
        return r0 - depth * np.exp(-((x - centre) / width) ** 2)

    p0 = [float(np.median(r)), float(np.median(r) - r.min()), b_sw0, 0.002]
    popt, pcov = curve_fit(dip, b, r, p0=p0, maxfev=20000)
    errors = np.sqrt(np.maximum(np.diag(pcov), 0.0))
    return popt, errors, dip


def fit_amr(label: str, inputs=None) -> dict:
    """Fig. 3b bottom: the Co stripe's AMR dip on each sweep, a Gaussian dip
    R0 - dR exp(-((B - B_sw)/w)^2) fitted by least squares (scipy ``curve_fit``; the
    analysis package has no AMR model)."""
    run = _run(inputs, label)
    b, r, d = run.data["field"], run.data["resistance"], run.data["direction"]
    out = {}
    for sign, name in ((1, "up"), (-1, "down")):
        rows = d == sign
        bb, rr = b[rows], r[rows]
        popt, errors, dip = _amr_dip(bb, rr, float(bb[np.argmin(rr)]))
        xs = np.linspace(bb.min(), bb.max(), 600)
        out[name] = {"depth": float(popt[1]), "depth_error": float(errors[1]), "field": float(popt[2]),
                     "field_error": float(errors[2]), "width": abs(float(popt[3])), "r0": float(popt[0]),
                     "fine": (xs, dip(xs, *popt))}
    return out


def fit_nl_map(label: str, inputs=None) -> dict:
    """Fig. 4b / ED8: per injection current, the two levels of the line (``switching_fields``
    on the 0 -> +40 mT sweep): Delta R_NL(I_inj), the background (R_P + R_AP)/2 and the
    current where Delta R_NL changes sign."""
    from cryo_acq.analysis import switching_fields

    run = _run(inputs, label)
    outer, inner = run.plan["axes"]
    currents = np.array(outer["values"])
    delta, p_level, ap_level = (np.full(currents.size, np.nan) for _ in range(3))
    for k in range(currents.size):
        b, r = run.grid["field"][k], run.grid["r_nonlocal"][k]
        ok = np.isfinite(b) & np.isfinite(r)
        try:
            s = switching_fields(b[ok], np.ones(ok.sum()), r[ok])
        except ValueError:
            continue  # one level: no spin signal on this line
        if len(s["up"]) != 2:
            continue  # noise crossing the threshold, not a P -> AP -> P line
        delta[k], p_level[k], ap_level[k] = s["r_parallel"] - s["r_antiparallel"], s["r_parallel"], s["r_antiparallel"]
    background = float(np.nanmedian(0.5 * (p_level + ap_level)))
    k_max = int(np.nanargmax(np.abs(delta)))
    # the sign change of Delta R_NL on the positive-current side: interpolated between the lines around it
    sign_change = math.nan
    positive = np.flatnonzero(currents > 0)
    for a, b_ in zip(positive[:-1], positive[1:]):
        if np.isfinite(delta[a]) and np.isfinite(delta[b_]) and delta[a] * delta[b_] < 0:
            sign_change = float(currents[a] - delta[a] * (currents[b_] - currents[a]) / (delta[b_] - delta[a]))
            break
    # where the spin signal ends: the largest |I_inj| with a switching line
    with_signal = currents[np.isfinite(delta)]
    return {"currents": currents, "delta_r": delta, "r_parallel": p_level, "r_antiparallel": ap_level,
            "background": background, "max_delta": float(np.abs(delta[k_max])),
            "max_current": float(currents[k_max]), "max_ratio": float(np.abs(delta[k_max]) / background),
            "sign_change": sign_change,
            "signal_edge": float(np.max(np.abs(with_signal))) if with_signal.size else math.nan,
            "step": float(abs(currents[1] - currents[0])) if currents.size > 1 else math.nan}


def fit_hanle_channel(channel: str, inputs=None) -> dict:
    """Fig. 4d: eq. 3 (L = 0.6, 0.8 um) or eq. 4 (L = 3.0 um) fitted to the parallel and the
    antiparallel curve and to the spin signal (R_P - R_AP)/2; derived: where the fitted spin
    signal changes sign, and its second extremum."""
    from cryo_acq.analysis import fit_run

    runs = [inputs[f"B-hanle-{channel}-P"].path, inputs[f"B-hanle-{channel}-AP"].path]
    model = "hanle-vortex" if channel == "L30" else "hanle"
    fits = fit_run(model, runs)
    spin = fits[-1]
    out = {"model": model, "parallel": _portable(fits[0]), "antiparallel": _portable(fits[1]),
           "spin": _portable(spin), "length": float(spin.notes.get("channel_length", math.nan))}
    b = np.linspace(0.0, 0.6, 6001)
    h = spin.evaluate(b) - spin["offset"]
    crossings = np.flatnonzero(np.sign(h[1:]) != np.sign(h[:-1]))
    out["sign_change"] = math.nan
    if crossings.size:
        k = int(crossings[0])
        out["sign_change"] = float(b[k] - h[k] * (b[1] - b[0]) / (h[k + 1] - h[k]))
    # extrema of the fitted curve beyond the zero-field one
    dh = np.diff(h)
    turns = np.flatnonzero(np.sign(dh[1:]) != np.sign(dh[:-1])) + 1
    out["extrema"] = [(float(b[k]), float(h[k])) for k in turns]
    if channel == "L30":  # the paper's point: eq. 3 cannot describe the second peak
        standard = fit_run("hanle", runs)[-1]
        out["standard"] = _portable(standard)
    # the data's own sign change of (R_P - R_AP)/2 (interpolated), as a cross-check
    from cryo_acq.run.storage import load_run

    p, ap = load_run(runs[0]), load_run(runs[1])
    field = 0.5 * (p.data["field_perp"] + ap.data["field_perp"])
    signal = 0.5 * (p.data["r_nonlocal"] - ap.data["r_nonlocal"])
    positive = field > 0
    fb, fs = field[positive], signal[positive]
    cross = np.flatnonzero(np.sign(fs[1:]) != np.sign(fs[:-1]))
    out["data_sign_change"] = float(fb[cross[0]] - fs[cross[0]] * (fb[cross[0] + 1] - fb[cross[0]])
                                    / (fs[cross[0] + 1] - fs[cross[0]])) if cross.size else math.nan
    return out


