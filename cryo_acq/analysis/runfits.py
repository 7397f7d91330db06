"""Fit a run file by model name: which columns, which parameters, which fit.

:func:`fit_run` is what ``cryo-acq fit MODEL RUNFILE`` and the demo call. Models:

========================  ==================  ===============================================
model                     run (procedure)     what is fitted
========================  ==================  ===============================================
``hanle``                 hanle               eq. 3: :func:`~.hanle.fit_hanle`; the channel
                                              length from the run's ``channel`` parameter
                                              and the station file's non-local wiring
``hanle-vortex``          hanle               the same with eq. 4 (vortices; long channel)
``vi``                    vi                  alpha per temperature
                                              (:func:`~.bkt.fit_vi_exponent`), then T_BKT
                                              where alpha crosses 3 (:func:`~.bkt.bkt_temperature`)
``bkt-rt``                rt                  Halperin-Nelson R(T), Tc0 onset (:func:`~.bkt.fit_bkt_rt`)
``pair-breaking``         rt-map (or a list   Tc(B) per field (onset at 0.9 R_N), then eq. 2
                          of rt runs)         (:func:`~.pair_breaking.fit_pair_breaking`)
``switching``             tmr, nl-switch      switching fields and levels (:func:`~.switching.fit_switching`)
``didv``                  didv                eq. 1 per temperature / field (:func:`~.tunnelling.fit_didv`)
========================  ==================  ===============================================

Every model returns a list of :class:`FitResult`. Options (keyword arguments, also
``-o name=value`` on the command line) per model are listed in :data:`OPTIONS`.
"""

from __future__ import annotations

import math
import pathlib
from typing import Any

import numpy as np
import yaml

from cryo_acq.run.storage import Run, load_run

from .bkt import bkt_temperature, fit_bkt_rt, fit_vi_exponent, transition_temperature
from .deconvolution import deconvolve_branches
from .hanle import fit_hanle
from .pair_breaking import fit_pair_breaking
from .result import FitResult
from .switching import fit_switching
from .tunnelling import fit_didv

__all__ = ["fit_run", "MODELS", "OPTIONS"]

#: model -> the procedures whose runs it fits
MODELS = {
    "hanle": ("hanle",),
    "hanle-vortex": ("hanle",),
    "vi": ("vi",),
    "bkt-rt": ("rt",),
    "pair-breaking": ("rt-map", "rt"),
    "switching": ("tmr", "nl-switch"),
    "didv": ("didv",),
}

#: model -> accepted options and what they mean
OPTIONS = {
    "hanle": {"channel_length": "m; default: the run's channel in the station file's non-local wiring",
              "alignment_sign": "+1 / -1 / None; default: the run's alignment column",
              "integrator": "closed-form (default) or quadrature"},
    "hanle-vortex": {"channel_length": "m", "alignment_sign": "+1 / -1 / None", "integrator": "closed-form | quadrature"},
    "vi": {"i_min": "A, lower end of the log-log fit (default: lowest decade)", "i_max": "A, upper end",
           "v_min": "V, voltmeter floor: smaller |V| are left out (default 0)"},
    "bkt-rt": {"fraction": "of R_N that defines the onset Tc0 (default 0.9)"},
    "pair-breaking": {"thickness": "m, film thickness (in-plane field; default from the simulated device)",
                      "tc0": "K, fix Tc0 (default: fitted)", "fraction": "of R_N defining Tc(B) (default 0.9)",
                      "orientation": "parallel | perpendicular (default from the run's field axis)"},
    "switching": {"step": "T, field step (default: from the data)",
                  "deconvolve": "undo the lock-in's filter first (continuous runs; default false)",
                  "smoothing": "deconvolution's total-variation weight (default: from the noise)"},
    "didv": {"l": "0 (s wave) or 1 (p wave, default)", "zbp": "include the zero-bias Gaussian (default true)"},
}


# --------------------------------------------------------------------------- reading runs
def _as_run(item) -> Run:
    return item if isinstance(item, Run) else load_run(pathlib.Path(item))


def _runs(run_or_path) -> list[Run]:
    if isinstance(run_or_path, (list, tuple)):
        return [_as_run(item) for item in run_or_path]
    return [_as_run(run_or_path)]



def _station(run: Run) -> dict:
    try:
        data = yaml.safe_load(run.station_file or "") or {}
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def channel_length(run: Run) -> float:
    """The non-local channel length (m) of a run: its ``channel`` parameter, by name in
    the station file's non-local wiring or as a length in m."""
    channel = run.parameter("channel")
    if channel is None:
        raise ValueError(f"{run.path}: the run has no 'channel' parameter; pass channel_length (m)")
    channels = (_station(run).get("wiring", {}).get("configurations", {}).get("nonlocal", {}) or {}).get(
        "channels", {}) or {}
    name = str(channel).strip()
    if name in channels:
        return float(channels[name])
    try:
        return float(name)
    except ValueError:
        raise ValueError(f"{run.path}: channel {channel!r} is not in the station file's non-local channels "
                         f"({channels or 'none'}); pass channel_length (m)") from None


def simulated_thickness(run: Run) -> float | None:
    """The film thickness (m) of the simulated device the run measured (station file
    ``sim.device`` and ``sim.sample_parameters``), or None for a real station."""
    sim = _station(run).get("sim") or {}
    device = sim.get("device")
    overrides = sim.get("sample_parameters") or {}
    if "thickness" in overrides:
        return float(overrides["thickness"])
    if not device or device == "resistive":
        return None
    from sim.conbse2.presets import PRESETS

    return PRESETS[device].thickness if device in PRESETS else None


def _check_procedure(model: str, run: Run) -> None:
    procedure = run.metadata.get("procedure", "")
    if procedure not in MODELS[model]:
        raise ValueError(f"{run.path}: a {procedure!r} run; model {model!r} fits "
                         f"{' or '.join(MODELS[model])} runs")


def _rows(run: Run, columns: list[str]) -> list[dict[str, np.ndarray]]:
    """The outer rows of a 2-D run (grid rows with their measured readings), or the run itself."""
    if run.grid and all(c in run.grid for c in columns):
        out = []
        for k in range(next(iter(run.grid.values())).shape[0]):
            row = {c: run.grid[c][k] for c in columns}
            if np.any(np.isfinite(row[columns[0]])):
                out.append(row)
        return out
    return [{c: run.data[c] for c in columns}]


def _condition(name: str, values: np.ndarray, unit: str) -> tuple[float, str]:
    value = float(np.nanmean(values))
    return value, f"{name} = {value:.4g} {unit}"


# --------------------------------------------------------------------------- the models
def _hanle(runs: list[Run], model: str, channel_length_: float | None = None, alignment_sign="auto",
           integrator: str = "closed-form") -> list[FitResult]:
    equation = "vortex" if model == "hanle-vortex" else "standard"
    results, by_alignment = [], {}
    for run in runs:
        _check_procedure(model, run)
        length = float(channel_length_) if channel_length_ is not None else channel_length(run)
        b, r = run.data["field_perp"], run.data["r_nonlocal"]
        alignment = run.data.get("alignment")
        sign = alignment_sign
        if sign == "auto":
            signs = np.unique(np.sign(alignment[np.isfinite(alignment)])) if alignment is not None else []
            sign = int(signs[0]) if len(signs) == 1 and signs[0] != 0 else None
        result = fit_hanle(b, r, length, model=equation, alignment_sign=sign, integrator=integrator)
        label = {1: "parallel", -1: "antiparallel"}.get(sign, "")
        result.notes["condition"] = f"L = {length * 1e6:g} um" + (f", {label}" if label else "")
        result.notes["run"] = str(run.path)
        results.append(result)
        if sign in (1, -1):
            by_alignment.setdefault(sign, (run, length))
    if 1 in by_alignment and -1 in by_alignment:  # a P and an AP run: also the spin signal (P - AP)/2
        (p_run, length), (ap_run, _) = by_alignment[1], by_alignment[-1]
        bp, bap = p_run.data["field_perp"], ap_run.data["field_perp"]
        if bp.shape == bap.shape and np.allclose(bp, bap, atol=1e-3 * max(np.ptp(bp), 1e-9)):
            spin = 0.5 * (p_run.data["r_nonlocal"] - ap_run.data["r_nonlocal"])
            result = fit_hanle(0.5 * (bp + bap), spin, length, model=equation, alignment_sign=1, integrator=integrator)
            result.notes["condition"] = f"L = {length * 1e6:g} um, spin signal (R_P - R_AP)/2"
            results.append(result)
    return results


def _vi(runs: list[Run], model: str, i_min=None, i_max=None, v_min=0.0) -> list[FitResult]:
    results, temperatures, alphas, errors = [], [], [], []
    for run in runs:
        _check_procedure(model, run)
        for row in _rows(run, ["temperature", "current", "voltage"]):
            temperature, condition = _condition("T", row["temperature"], "K")
            try:
                result = fit_vi_exponent(row["current"], row["voltage"], i_min, i_max, v_min=v_min)
            except ValueError as exc:
                raise ValueError(f"{run.path} at {condition}: {exc}") from None
            result.notes["condition"] = condition
            result.notes["temperature"] = temperature
            results.append(result)
            temperatures.append(temperature)
            alphas.append(result["alpha"])
            errors.append(result.error("alpha"))
    order = np.argsort(temperatures)
    t, a, e = (np.asarray(v, dtype=float)[order] for v in (temperatures, alphas, errors))
    if t.size >= 2:
        try:
            t_bkt, t_error = bkt_temperature(t, a, e)
        except ValueError as exc:
            t_bkt, t_error, why = math.nan, math.nan, str(exc)
        else:
            why = ""
        results.append(FitResult(
            model="vi-bkt", values={"T_BKT": t_bkt}, errors={"T_BKT": t_error}, units={"T_BKT": "K"},
            x=t, curve=a.copy(), data=a, x_label=("T", "K"), y_label=("alpha", ""),
            notes={"fitted": "T where alpha(T) crosses 3 (linear interpolation)", "alpha_errors": e,
                   "points": int(t.size), **({"warning": why} if why else {})},
            function=lambda temps, t=t, a=a: np.interp(temps, t, a),
        ))
    return results


def _bkt_rt(runs: list[Run], model: str, fraction=0.9) -> list[FitResult]:
    results = []
    for run in runs:
        _check_procedure(model, run)
        result = fit_bkt_rt(run.data["temperature"], run.data["resistance"], fraction=float(fraction))
        b = float(np.nanmean(run.data["field"])) if "field" in run.data else 0.0
        result.notes["condition"] = f"B = {b:.4g} T"
        results.append(result)
    return results


def _pair_breaking(runs: list[Run], model: str, thickness=None, tc0=None, fraction=0.9,
                   orientation=None) -> list[FitResult]:
    fields, tcs, axes = [], [], set()
    for run in runs:
        _check_procedure(model, run)
        procedure = run.metadata["procedure"]
        axes.add(run.parameter("axis", "x") if procedure == "rt-map" else "x")
        rows = _rows(run, ["temperature", "field", "resistance"])
        tops = []
        for row in rows:
            t = row["temperature"]
            ok = np.isfinite(t) & np.isfinite(row["resistance"])
            tops.append(row["resistance"][ok][np.argmax(t[ok])] if ok.any() else np.nan)
        r_normal = float(np.nanmax(tops))  # the normal state: the warmest readings (field-independent)
        for row, top in zip(rows, tops):
            if not top >= float(fraction) * r_normal:
                continue  # superconducting at the warmest temperature of this field: Tc above the window
            tc = transition_temperature(row["temperature"], row["resistance"], float(fraction), top)
            if math.isfinite(tc):
                fields.append(float(np.nanmean(np.abs(row["field"]))))
                tcs.append(tc)
    if len(axes) > 1:
        raise ValueError(f"pair-breaking: the runs mix field axes {sorted(axes)}")
    axis = axes.pop()
    orientation = orientation or ("perpendicular" if axis == "z" else "parallel")
    if orientation == "parallel" and thickness is None:
        thickness = simulated_thickness(runs[0])
        if thickness is None:
            raise ValueError("pair-breaking: an in-plane field needs the film thickness; pass thickness=<m>")
    result = fit_pair_breaking(fields, tcs, orientation=orientation,
                               thickness=None if thickness is None else float(thickness),
                               tc0=None if tc0 is None else float(tc0))
    result.notes["tc_definition"] = f"onset at {float(fraction):g} R_N per field"
    return [result]


def _switching(runs: list[Run], model: str, step=None, deconvolve=False, smoothing=None) -> list[FitResult]:
    results = []
    for run in runs:
        _check_procedure(model, run)
        column = "resistance" if "resistance" in run.data else "r_nonlocal"
        signal = run.data[column]
        if _bool(deconvolve):
            signal = _deconvolved(run, signal, smoothing)
        result = fit_switching(run.data["field"], run.data["direction"], signal,
                               step=None if step is None else float(step))
        if _bool(deconvolve):
            result.notes["deconvolved"] = "the lock-in's filter undone (cryo_acq.analysis.deconvolution)"
        if "temperature" in run.data:
            result.notes["condition"] = _condition("T", run.data["temperature"], "K")[1]
        result.y_label = ("R" if column == "resistance" else "R_NL", "Ohm")
        results.append(result)
    return results


def _deconvolved(run: Run, signal: np.ndarray, smoothing=None) -> np.ndarray:
    """``signal`` with the lock-in's filter undone, per branch, from the run's filter columns."""
    if "lockin_tau" not in run.data:
        raise ValueError(f"{run.path}: no lockin_tau / lockin_poles columns (a run from before they were "
                         "recorded); it cannot be deconvolved")
    if run.plan.get("mode") != "continuous":
        return signal  # settled readings: the filter has nothing left to undo
    return deconvolve_branches(run.data["time"], signal, run.data["direction"], run.data["lockin_poles"],
                               run.data["lockin_tau"], None if smoothing is None else float(smoothing))


def _didv(runs: list[Run], model: str, l=1, zbp=True) -> list[FitResult]:
    results = []
    for run in runs:
        _check_procedure(model, run)
        versus = run.plan["axes"][0]["name"]  # the outer axis: temperature or field
        for row in _rows(run, ["bias_voltage", "didv", versus]):
            if versus == "temperature":
                temperature, condition = _condition("T", row["temperature"], "K")
            else:
                temperature = float(run.parameter("temperature"))
                condition = f"T = {temperature:.4g} K, " + _condition("B", row["field"], "T")[1]
            result = fit_didv(row["bias_voltage"], row["didv"], temperature, l=int(l), zbp=_bool(zbp))
            result.notes["condition"] = condition
            results.append(result)
    return results


def _bool(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


_FITTERS = {"hanle": _hanle, "hanle-vortex": _hanle, "vi": _vi, "bkt-rt": _bkt_rt,
            "pair-breaking": _pair_breaking, "switching": _switching, "didv": _didv}


def fit_run(model: str, run_or_path, **options: Any) -> list[FitResult]:
    """Fit a run (a :class:`~cryo_acq.run.storage.Run`, a path, or a list of them) with ``model``.

    Models and their options: :data:`MODELS`, :data:`OPTIONS`. Returns a list of
    :class:`FitResult` (one per curve; ``vi`` adds a last ``vi-bkt`` result with T_BKT,
    ``hanle`` with a parallel and an antiparallel run adds the fit of (R_P - R_AP)/2).
    """
    if model not in _FITTERS:
        raise ValueError(f"unknown fit model {model!r}; models: {', '.join(MODELS)}")
    unknown = set(options) - set(OPTIONS[model])
    if unknown:
        raise TypeError(f"fit {model}: unknown option(s) {', '.join(sorted(unknown))}; "
                        f"options: {', '.join(OPTIONS[model]) or 'none'}")
    runs = _runs(run_or_path)
    if model in ("hanle", "hanle-vortex"):
        options = {("channel_length_" if k == "channel_length" else k): v for k, v in options.items()}
    results = _FITTERS[model](runs, model, **options)
    for result in results:
        result.notes.setdefault("run", str(runs[0].path) if len(runs) == 1 else [str(r.path) for r in runs])
    return results
