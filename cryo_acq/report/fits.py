"""The fits a report file can name: each a registered function of the runs it names
(loaded, in order) and its options, returning plain data a worker process can send back.

The models themselves are :mod:`cryo_acq.analysis` (through :func:`fit_run` where one
exists); what is here is what a report needs beyond one model: derived numbers (a
ratio with its error, the edge of a series, a sign change) and the series of several
runs. ``cryo-acq report --list`` lists them; ``docs/reports.md`` documents each.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from cryo_acq.report.registry import report_fit


def portable(fit, n: int = 300):
    """A FitResult that can cross a process boundary: its model function (a closure) is
    sampled on a fine grid into ``notes["fine"]`` and dropped."""
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


def _one(runs, what: str):
    if len(runs) != 1:
        raise ValueError(f"{what} fits one run; the report names {len(runs)}: "
                         f"{', '.join(r.label for r in runs)}")
    return runs[0]


# --------------------------------------------------------------------------- R-T, V-I, T_c(B)
@report_fit("bkt-rt")
def bkt_rt(runs) -> dict:
    """Halperin-Nelson (BKT) R(T) of one R-T run across the transition: ``fit`` (T_BKT, Tc0, R_N)."""
    from cryo_acq.analysis import fit_run

    return {"fit": portable(fit_run("bkt-rt", _one(runs, "bkt-rt"))[0])}


@report_fit("reentrant")
def reentrant(runs, *, threshold: float = 0.01, cold_window: float = 0.05) -> dict:
    """R at the coldest readings over R_N of the BKT fit (``ratio`` ± ``ratio_error`` at
    ``ratio_temperature``), and ``t_k``: cooling, where R rises above ``threshold`` R_N
    again after reaching ~0 (interpolated, not a fit). ``cold_window``: K above the coldest."""
    from cryo_acq.analysis import fit_run

    run = _one(runs, "reentrant")
    fit = fit_run("bkt-rt", run)[0]
    t, r = run.data["temperature"], run.data["resistance"]
    r_n = fit["R_N"]
    cold = t <= t.min() + cold_window
    ratio = float(np.mean(r[cold]) / r_n)
    noise = fit.notes.get("residual_rms", math.nan)  # the readings' scatter about the fitted R(T)
    ratio_error = ratio * math.hypot(noise / math.sqrt(cold.sum()) / float(np.mean(r[cold])),
                                     fit.error("R_N") / r_n)
    return {"fit": portable(fit), "ratio": ratio, "ratio_error": ratio_error,
            "ratio_temperature": float(np.mean(t[cold])), "t_k": _onset(t, r, threshold * r_n),
            "threshold": threshold, "r_normal": r_n}


def _onset(t, r, level) -> float:
    order = np.argsort(t)[::-1]
    t, r = t[order], r[order]
    zero = np.flatnonzero(r < level)
    if zero.size == 0:
        return math.nan
    for k in range(zero[0] + 1, r.size):
        if r[k] >= level and r[k - 1] < level:
            return float(t[k - 1] + (level - r[k - 1]) * (t[k] - t[k - 1]) / (r[k] - r[k - 1]))
    return math.nan


@report_fit("vi")
def vi(runs) -> dict:
    """V ~ I^alpha over the lowest decade at each temperature (``fits``) and T_BKT where
    alpha = 3 (``bkt``), of one V-I run."""
    from cryo_acq.analysis import fit_run

    fits = fit_run("vi", _one(runs, "vi"))
    return {"fits": [portable(f) for f in fits if f.model != "vi-bkt"],
            "bkt": portable(next(f for f in fits if f.model == "vi-bkt"))}


@report_fit("tc-lines")
def tc_lines(runs, *, max_field: float = math.inf, thickness: float | None = None, level: float = 0.9) -> dict:
    """T_c (``level`` R_N) of each R-T line cut in field, and eq. 2 (pair breaking) fitted
    to those at fields up to ``max_field`` (T) with the film ``thickness`` (m; absent: out of plane)."""
    from cryo_acq.analysis import fit_run, transition_temperature

    fields = np.array([float(np.nanmean(np.abs(r.data["field"]))) for r in runs])
    tops = [r.data["resistance"][np.argmax(r.data["temperature"])] for r in runs]
    r_n = float(np.max(tops))  # the normal state: the warmest readings
    tcs = np.array([transition_temperature(r.data["temperature"], r.data["resistance"], level, r_n) for r in runs])
    fitted = fields <= max_field + 1e-9
    options = {"thickness": thickness} if thickness is not None else {}
    fit = fit_run("pair-breaking", [r for r, ok in zip(runs, fitted) if ok], **options)[0]
    wide = np.linspace(0.0, max(float(fields.max()), max_field if math.isfinite(max_field) else 0.0), 200)
    return {"fit": portable(fit), "fields": fields, "tc": tcs, "fitted": fitted, "r_normal": r_n,
            "extended": (wide, fit.evaluate(wide)), "max_field": max_field, "thickness": thickness}


@report_fit("pair-breaking")
def pair_breaking(runs) -> dict:
    """eq. 2 fitted to T_c(B) of each row of one R(T, B) map: ``fit`` (xi_gl, tc0, D)."""
    from cryo_acq.analysis import fit_run

    return {"fit": portable(fit_run("pair-breaking", _one(runs, "pair-breaking"))[0])}


@report_fit("reentry-field")
def reentry_field(runs, *, threshold: float = 0.01) -> dict:
    """Of one R(T, B) map: ``b_k`` at the lowest temperature, the field above which R falls
    below ``threshold`` R_N again (interpolated between rows, not a fit)."""
    run = _one(runs, "reentry-field")
    outer, inner = run.plan["axes"]
    fields, temps = np.array(outer["values"]), np.array(inner["values"])
    r = run.grid["resistance"]
    r_n = float(np.nanmax(r[:, np.argmax(temps)]))
    column = r[:, np.argmin(temps)]
    level = threshold * r_n
    b_k = math.nan
    for k in range(1, fields.size):
        if column[k - 1] >= level > column[k]:
            b_k = float(fields[k - 1] + (level - column[k - 1]) * (fields[k] - fields[k - 1])
                        / (column[k] - column[k - 1]))
            break
    return {"b_k": b_k, "temperature": float(temps.min()), "r_normal": r_n, "threshold": threshold,
            "row_step": float(abs(fields[1] - fields[0])) if fields.size > 1 else math.nan}


# --------------------------------------------------------------------------- tunnelling
@report_fit("didv-spectra")
def didv_spectra(runs, *, min_height: float = 0.05, sigmas: float = 3.0, below: float = math.inf) -> dict:
    """eq. 1 (p wave, zero-bias Gaussian) fitted to each spectrum of one didv run
    (``fits``, in row order; ``coldest`` is the first) measured below ``below`` K (above
    T_c the gap is closed and eq. 1 has nothing to fit: those spectra are drawn, not
    fitted); the zero-bias peak counts as present when its height is above ``min_height``
    and ``sigmas`` errors: ``present_up_to`` (the last row value with it) and
    ``absent_from`` (the first without it beyond)."""
    from cryo_acq.analysis import fit_didv

    run = _one(runs, "didv-spectra")
    versus = run.plan["axes"][0]["name"]  # the outer axis: temperature or field
    fits = []
    for row, outer in enumerate(run.plan["axes"][0]["values"]):
        v, g = run.grid["bias_voltage"][row], run.grid["didv"][row]
        if versus == "temperature":
            temperature = float(np.nanmean(run.grid["temperature"][row]))
            condition = f"T = {temperature:.4g} K"
            if temperature >= below:
                continue
        else:
            temperature = float(run.parameter("temperature"))
            condition = f"T = {temperature:.4g} K, B = {float(np.nanmean(run.grid['field'][row])):.4g} T"
        fit = fit_didv(v, g, temperature, l=1, zbp=True)
        fit.notes.update(condition=condition, setpoint=float(outer), run=str(run.path), row=row)
        fits.append(portable(fit))

    def present(fit):
        h, e = fit["zbp_height"], fit.error("zbp_height")
        return h > min_height and (not math.isfinite(e) or h > sigmas * e)

    with_peak = [f.notes["setpoint"] for f in fits if present(f)]
    without = [f.notes["setpoint"] for f in fits if not present(f)]
    last = max(with_peak) if with_peak else math.nan
    first_absent = min([a for a in without if not with_peak or a > last], default=math.nan)
    return {"fits": fits, "coldest": fits[0], "versus": versus, "present_up_to": last, "absent_from": first_absent,
            "path": str(run.path)}


# --------------------------------------------------------------------------- loops
def _switching(run) -> dict:
    from cryo_acq.analysis import switching_fields

    column = "resistance" if "resistance" in run.data else "r_nonlocal"
    try:
        s = switching_fields(run.data["field"], run.data["direction"], run.data[column])
    except ValueError as exc:  # one level only
        s = {"valid": False, "why": str(exc)}
    else:
        s = {k: v for k, v in s.items() if k != "state"}
        # a bistable loop switches twice per sweep, at mirrored fields on the way up and down;
        # more crossings, or crossings that do not mirror, are noise around one level
        s["valid"] = len(s["up"]) == 2 and len(s["down"]) == 2
        if not s["valid"]:
            s["why"] = f"{len(s['up'])} + {len(s['down'])} threshold crossings: one level with noise, no switching"
        else:
            tolerance = [max(3 * s["step"], 0.2 * abs(b)) for b in s["up"]]
            if any(abs(abs(u) - abs(d)) > tol for u, d, tol in zip(s["up"], sorted(s["down"], key=abs), tolerance)):
                s["valid"] = False
                s["why"] = f"crossings at {s['up']} up and {s['down']} down do not mirror: noise, no switching"
    s.update(label=run.label, path=str(run.path), column=column,
             temperature=float(np.nanmean(run.data["temperature"])) if "temperature" in run.data else math.nan,
             current=float(run.parameter("current", run.parameter("injection_current", math.nan))))
    if s["valid"]:
        dr, rp = s["delta_r"], s["r_parallel"]
        s["delta_r_over_r_error"] = (abs(dr / rp) * math.hypot(s["delta_r_error"] / dr, s["r_parallel_error"] / rp)
                                     if dr and rp else math.nan)
        step = s.get("step", math.nan)
        s["low_field"] = 0.5 * (abs(s["up"][0]) + abs(s["down"][0]))
        s["high_field"] = 0.5 * (abs(s["up"][1]) + abs(s["down"][1]))
        s["low_field_error"] = s["high_field_error"] = step / math.sqrt(12)  # a switch is known to one field step
        s["background"] = 0.5 * (s["r_parallel"] + s["r_antiparallel"])
        s["delta_r_over_background"] = abs(dr) / s["background"]
    return s


@report_fit("switching")
def switching(runs) -> dict:
    """Switching fields and levels of one field loop (``switching_fields``): ``delta_r``,
    ``delta_r_over_r``, ``r_parallel``, ``low_field`` and ``high_field`` (mean of the up
    and down sweeps, ± a field step/√12), ``valid`` (two switches per sweep)."""
    return _switching(_one(runs, "switching"))


@report_fit("switching-series")
def switching_series(runs, *, versus: str = "temperature") -> dict:
    """The loops of several runs against one of their parameters (``versus``: temperature,
    current, injection_current...): ``loops`` (label -> as ``switching``, in order of the
    value), ``first`` (the loop at the smallest value), ``seen_up_to`` (the largest value
    with switching) and ``gone_at`` (the smallest value beyond it without), and over the
    valid loops the mean and spread of the two up-sweep switching fields
    (``lower_field`` ± ``lower_field_error``, ``upper_field`` ± ...)."""
    values = {r.label: float(r.parameter(versus, math.nan)) for r in runs}
    ordered = sorted(runs, key=lambda r: values[r.label])
    loops = {r.label: _switching(r) for r in ordered}
    valid = [values[l] for l, s in loops.items() if s["valid"]]
    gone = [values[l] for l, s in loops.items() if not s["valid"] and (not valid or values[l] > max(valid))]
    ups = np.array([s["up"] for s in loops.values() if s["valid"]])
    out = {"versus": versus, "unit": ordered[0].parameter_unit(versus) if ordered else "",
           "values": [values[r.label] for r in ordered], "loops": loops, "first": next(iter(loops.values())),
           "seen_up_to": max(valid) if valid else math.nan, "gone_at": min(gone) if gone else math.nan}
    if ups.size:
        out.update(lower_field=float(ups[:, 0].mean()), lower_field_error=float(ups[:, 0].std()),
                   upper_field=float(ups[:, 1].mean()), upper_field_error=float(ups[:, 1].std()))
    return out


def _dip(b, r, b_sw0):
    from scipy.optimize import curve_fit

    def dip(x, r0, depth, centre, width):
        return r0 - depth * np.exp(-((x - centre) / width) ** 2)

    p0 = [float(np.median(r)), float(np.median(r) - r.min()), b_sw0, 0.002]
    popt, pcov = curve_fit(dip, b, r, p0=p0, maxfev=20000)
    errors = np.sqrt(np.maximum(np.diag(pcov), 0.0))
    return popt, errors, dip


@report_fit("amr-dip")
def amr_dip(runs) -> dict:
    """The AMR dip of one loop on each sweep (``up``, ``down``): a Gaussian dip
    R0 - dR exp(-((B - B_sw)/w)^2) fitted by least squares (scipy ``curve_fit``):
    ``depth``, ``field``, ``width``, ``r0``, with errors."""
    run = _one(runs, "amr-dip")
    b, r, d = run.data["field"], run.data["resistance"], run.data["direction"]
    out = {"path": str(run.path)}
    for sign, name in ((1, "up"), (-1, "down")):
        rows = d == sign
        bb, rr = b[rows], r[rows]
        popt, errors, dip = _dip(bb, rr, float(bb[np.argmin(rr)]))
        xs = np.linspace(bb.min(), bb.max(), 600)
        out[name] = {"depth": float(popt[1]), "depth_error": float(errors[1]), "field": float(popt[2]),
                     "field_error": float(errors[2]), "width": abs(float(popt[3])), "r0": float(popt[0]),
                     "fine": (xs, dip(xs, *popt))}
    return out


@report_fit("nl-map")
def nl_map(runs) -> dict:
    """Of one non-local map: per injection current the two levels of its line
    (``switching_fields``), Delta R_NL(I_inj), the ``background`` (R_P + R_AP)/2, the
    largest |Delta R| over it (``max_ratio`` at ``max_current``), the current where
    Delta R changes sign (``sign_change`` ± a step/√12) and the largest |I_inj| with a
    spin signal (``signal_edge``)."""
    from cryo_acq.analysis import switching_fields

    run = _one(runs, "nl-map")
    outer, _ = run.plan["axes"]
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
    sign_change = math.nan
    positive = np.flatnonzero(currents > 0)
    for a, b_ in zip(positive[:-1], positive[1:]):
        if np.isfinite(delta[a]) and np.isfinite(delta[b_]) and delta[a] * delta[b_] < 0:
            sign_change = float(currents[a] - delta[a] * (currents[b_] - currents[a]) / (delta[b_] - delta[a]))
            break
    with_signal = currents[np.isfinite(delta)]
    step = float(abs(currents[1] - currents[0])) if currents.size > 1 else math.nan
    return {"currents": currents, "delta_r": delta, "r_parallel": p_level, "r_antiparallel": ap_level,
            "background": background, "max_delta": float(np.abs(delta[k_max])),
            "max_current": float(currents[k_max]), "max_ratio": float(np.abs(delta[k_max]) / background),
            "sign_change": sign_change, "sign_change_error": step / math.sqrt(12),
            "signal_edge": float(np.max(np.abs(with_signal))) if with_signal.size else math.nan, "step": step}


# --------------------------------------------------------------------------- Hanle
@report_fit("hanle")
def hanle(runs, *, model: str = "hanle", compare: str = "", peak_beyond: float = 0.25) -> dict:
    """eq. 3 (``model: hanle``) or eq. 4 (``hanle-vortex``) fitted to the parallel and the
    antiparallel run (in that order) and to the spin signal (R_P - R_AP)/2 (``spin``);
    derived: ``sign_change`` of the fitted spin signal, its ``second_peak`` beyond
    ``peak_beyond`` T, the data's own sign change; ``compare``: a second model fitted to
    the same runs (``standard``)."""
    from cryo_acq.analysis import fit_run

    if len(runs) != 2:
        raise ValueError(f"hanle fits a parallel and an antiparallel run; the report names {len(runs)}")
    fits = fit_run(model, runs)
    spin = fits[-1]
    out = {"model": model, "parallel": portable(fits[0]), "antiparallel": portable(fits[1]), "spin": portable(spin),
           "length": float(spin.notes.get("channel_length", math.nan)), "paths": [str(r.path) for r in runs],
           "channel": str(runs[0].parameter("channel", ""))}
    b = np.linspace(0.0, float(np.nanmax(np.abs(runs[0].data["field_perp"]))), 6001)
    h = spin.evaluate(b) - spin["offset"]
    crossings = np.flatnonzero(np.sign(h[1:]) != np.sign(h[:-1]))
    out["sign_change"] = math.nan
    if crossings.size:
        k = int(crossings[0])
        out["sign_change"] = float(b[k] - h[k] * (b[1] - b[0]) / (h[k + 1] - h[k]))
    dh = np.diff(h)
    turns = np.flatnonzero(np.sign(dh[1:]) != np.sign(dh[:-1])) + 1
    out["extrema"] = [(float(b[k]), float(h[k])) for k in turns]
    beyond = [e[0] for e in out["extrema"] if e[0] > peak_beyond]
    out["second_peak"] = beyond[0] if beyond else math.nan
    if compare:
        out["standard"] = portable(fit_run(compare, runs)[-1])
    p, ap = runs
    field = 0.5 * (p.data["field_perp"] + ap.data["field_perp"])
    signal = 0.5 * (p.data["r_nonlocal"] - ap.data["r_nonlocal"])
    positive = field > 0
    fb, fs = field[positive], signal[positive]
    cross = np.flatnonzero(np.sign(fs[1:]) != np.sign(fs[:-1]))
    out["data_sign_change"] = float(fb[cross[0]] - fs[cross[0]] * (fb[cross[0] + 1] - fb[cross[0]])
                                    / (fs[cross[0] + 1] - fs[cross[0]])) if cross.size else math.nan
    return out
