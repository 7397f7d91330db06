"""``summary.md``: each fitted number beside the paper's, with the figures and run files."""

from __future__ import annotations

import datetime as _dt
import math
import pathlib

import numpy as np

from cryo_acq.report.paper_figures import FIGURES
from cryo_acq.report.paper_fits import PAIR_BREAKING_MAX_FIELD, REENTRANT_THRESHOLD
from cryo_acq.report.paper_runs import (CHANNELS, TMR_BIAS, TMR_FIG3B_T, RunSpec, nl_currents, tmr_biases, tmr_label,
                                        tmr_temperatures)

PAPER = ('T. Qu et al., "Ferromagnetic Superconductivity in Two-dimensional Niobium Diselenide" '
         "(the paper)")



# =========================================================================== summary.md
def _fv(value, error=None, factor=1.0, unit="") -> str:
    """'value ± error unit' (two significant digits of the error), or 'n/a'."""
    from cryo_acq.analysis.result import format_value

    if value is None or not _finite(value):
        return "n/a"
    err = None if error is None or not _finite(error) or error <= 0 else error * factor
    if err is None:  # no error to set the digits: four significant ones
        return f"{value * factor:.4g}" + (f" {unit}" if unit else "")
    return format_value(value * factor, err, unit).replace("+-", "±")


def _finite(x) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _table(rows) -> list[str]:
    lines = ["| quantity | demo (fit ± 1σ) | paper | how (run → fit) | figure |", "|---|---|---|---|---|"]
    for quantity, value, paper, how, figure in rows:
        link = f"[{figure}]({figure})" if figure else ""
        cells = (str(c).replace("|", "\\|") for c in (quantity, value, paper, how))  # a bar would end the cell
        lines.append("| " + " | ".join(cells) + f" | {link} |")
    return lines


def _ratio_error(s: dict) -> float:
    """Error of Delta R / R_P from the errors of the two levels."""
    dr, rp = s["delta_r"], s["r_parallel"]
    return abs(dr / rp) * math.hypot(s["delta_r_error"] / dr, s["r_parallel_error"] / rp) if dr and rp else math.nan


def _summary_rows(results: dict, quick: bool) -> dict[str, list]:
    f1c, f1d, f2a, f2b = (FIGURES[k] for k in ("Fig. 1c", "Fig. 1d", "Fig. 2a", "Fig. 2b"))
    bkt = results["fit:bkt"]["fit"]
    vi = results["fit:vi"]["bkt"]
    re = results["fit:reentrant"]
    par = results["fit:tc-parallel"]["fit"]
    perp = results["fit:tc-perpendicular"]["fit"]
    phase = results["fit:phase"]
    topics: dict[str, list] = {}
    topics["Superconducting transition and BKT (device A01, vti-a01)"] = [
        ("$T_{c0}$: onset, R = 0.9 $R_N$", _fv(bkt["Tc0"], bkt.error("Tc0"), unit="K"),
         "~ 6.6 K (main text; ED10: 6.60 K)", "A01-rt-transition → `bkt-rt`", f1c),
        ("$T_{BKT}$, Halperin-Nelson R(T)", _fv(bkt["T_BKT"], bkt.error("T_BKT"), unit="K"),
         "≈ 6.35 K (ED3d)", "A01-rt-transition → `bkt-rt`", f1c),
        ("$T_{BKT}$ where the V-I exponent α = 3", _fv(vi["T_BKT"], vi.error("T_BKT"), unit="K"),
         "α approaches 3 at T = 6.3 K (Fig. 1c)", "A01-vi → `vi` (α over the lowest decade of current)", f1c),
        ("normal resistance $R_N$ just above $T_c$", _fv(bkt["R_N"], bkt.error("R_N"), unit="Ω"),
         "not quoted", "A01-rt-transition → `bkt-rt`", f1c),
        (f"R({re['ratio_temperature']:.2f} K) / $R_N$ at B = 0", _fv(re["ratio"], re["ratio_error"]),
         "\"nearly 40%\" at 1.5 K (main text)", "A01-rt-0T: mean of the readings within 50 mK of the coldest "
         "/ $R_N$ of its `bkt-rt` fit", f2b),
        (f"$\\xi_{{GL}}(0)$, in-plane $T_c(B_\\parallel)$ ≤ {PAIR_BREAKING_MAX_FIELD:g} T, d = 12 nm",
         _fv(par["xi_gl"], par.error("xi_gl"), 1e9, "nm"), "5.7 ± 1.2 nm (ED10, A01)",
         f"A01-rt-0T … {PAIR_BREAKING_MAX_FIELD:g}T → `pair-breaking` (parallel)", f1d),
        ("$T_{c0}$ of that fit", _fv(par["tc0"], par.error("tc0"), unit="K"), "6.60 K (ED10)",
         "as above", f1d),
        ("electronic D of that fit (dirty limit)", _fv(par["D"], par.error("D"), 1e4, "cm²/s"),
         "not quoted", "D = 8 $k_B T_{c0} \\xi^2$ / (π ħ)", f1d),
        ("$\\xi_{GL}(0)$ of device B, out-of-plane $T_c(B_\\perp)$", _fv(perp["xi_gl"], perp.error("xi_gl"), 1e9, "nm"),
         "not given (ED10: \"NA\")", "B-rt-map-perp → `pair-breaking` (perpendicular)", f1d),
        ("$T_{c0}$ of device B", _fv(perp["tc0"], perp.error("tc0"), unit="K"), "3.50 K (ED10)", "as above", f1d),
    ]
    topics["Re-entrant resistive phase (device A01)"] = [
        (f"$T_K$ at B = 0: R rises above {REENTRANT_THRESHOLD:.0%} $R_N$ again", _fv(re["t_k"], unit="K"),
         "$T_K$ < $T_{C0}$; no value quoted (Fig. 2a)", "A01-rt-0T, threshold, interpolated (not a fit)", f2a),
        (f"$B_{{K\\parallel}}$ at {phase['temperature']:.1f} K: R falls below {REENTRANT_THRESHOLD:.0%} $R_N$",
         _fv(phase["b_k"], unit="T"), "no value quoted in plane (ED4b: re-entry near 2 T out of plane at 1.5 K)",
         "A01-rt-map, threshold, interpolated between 0.5 T rows (not a fit)", f2a),
    ]
    # --- tunnelling
    f2c, f2d = FIGURES["Fig. 2c"], FIGURES["Fig. 2d"]
    spectra_t = results["fit:didv-temperature"]["fits"]
    spectra_b = results["fit:didv-field"]["fits"]
    cold = spectra_t[0]

    def zbp_present(fit):
        h, e = fit["zbp_height"], fit.error("zbp_height")
        return h > 0.05 and (not _finite(e) or h > 3 * e)

    def edges(fits, key):
        present = [key(f) for f in fits if zbp_present(f)]
        absent = [key(f) for f in fits if not zbp_present(f)]
        last = max(present) if present else math.nan
        first_absent = min([a for a in absent if not present or a > last], default=math.nan)
        return last, first_absent

    t_last, t_absent = edges(spectra_t, lambda f: f.notes["setpoint"])
    b_last, b_absent = edges(spectra_b, lambda f: f.notes["setpoint"])
    topics["Tunnelling spectroscopy, Co / BN / Co-NbSe2 junction (device A01)"] = [
        (f"gap $\\Delta_0$ at {cold.notes['temperature']:.2f} K (eq. 1, p wave, with zero-bias peak)",
         _fv(cold["delta0_eV"], cold.error("delta0_eV"), 1e3, "meV"), "not quoted (p-wave fits, Methods eq. 1)",
         "A01-didv-temperature → `didv`", f2c),
        ("Dynes broadening Γ at that temperature", _fv(cold["gamma_eV"], cold.error("gamma_eV"), 1e3, "meV"),
         "not quoted", "as above", f2c),
        ("zero-bias peak height $\\sigma_{ZBP}/\\sigma_N$ at that temperature",
         _fv(cold["zbp_height"], cold.error("zbp_height")), "not quoted (\"prominent ZBP\")", "as above", f2c),
        ("zero-bias peak present up to / absent from (B = 0)",
         f"{_fv(t_last, unit='K')} / {_fv(t_absent, unit='K')}", "ZBP only for T < $T_K$ (Fig. 2c)",
         "fitted height > 0.05 and > 3σ", f2c),
        ("zero-bias peak present up to / absent from (1.5 K)", f"{_fv(b_last, unit='T')} / {_fv(b_absent, unit='T')}",
         "ZBP only for B < $B_K$ (Fig. 2d)", "A01-didv-field → `didv`, same criterion", f2d),
    ]
    # --- TMR
    tmr = results["fit:tmr"]
    f3b, f3c, f3d, f3e = (FIGURES[k] for k in ("Fig. 3b", "Fig. 3c", "Fig. 3d", "Fig. 3e"))
    base = tmr[tmr_label(min(tmr_temperatures(quick)), TMR_BIAS)]
    at2 = tmr[tmr_label(TMR_FIG3B_T, TMR_BIAS)]
    amr = results["fit:amr"]
    rows = []
    if base.get("valid"):
        rows += [
            (f"TMR ΔR at {base['temperature']:.2f} K, 0.1 µA", _fv(base["delta_r"], base["delta_r_error"], unit="Ω"),
             "saturates at 500 Ω at 1.5 K (main text)", f"{tmr_label(min(tmr_temperatures(quick)), TMR_BIAS)} → "
             "`switching_fields`", f3c),
            ("TMR ΔR/R there", _fv(base["delta_r_over_r"], _ratio_error(base), 100, "%"), "ΔR/R ~ 10 % (main text)",
             "ΔR / $R_P$", f3c),
            ("junction $R_P$ there", _fv(base["r_parallel"], base["r_parallel_error"], 1e-3, "kΩ"), "not quoted",
             "parallel level", f3c),
        ]
    if at2.get("valid"):
        low = 0.5 * (abs(at2["up"][0]) + abs(at2["down"][0]))
        high = 0.5 * (abs(at2["up"][1]) + abs(at2["down"][1]))
        rows += [
            (f"TMR ΔR at {at2['temperature']:.2f} K, 0.1 µA", _fv(at2["delta_r"], at2["delta_r_error"], unit="Ω"),
             "\"up to 500 Ω\" at 2.0 K (Fig. 3b)", f"{tmr_label(TMR_FIG3B_T, TMR_BIAS)} → `switching_fields`", f3b),
            ("lower switching field (Co-NbSe2)", _fv(low, at2["step"] / math.sqrt(12), 1e3, "mT"),
             "the lower switch is Co-NbSe2; no value quoted (Fig. 3b)", "mean of the up and down sweeps", f3b),
            ("higher switching field (Co)", _fv(high, at2["step"] / math.sqrt(12), 1e3, "mT"),
             "the higher switch is the Co electrode (ED6)", "as above", f3b),
        ]
    rows.append(("Co AMR dip at 2 K (up sweep)", _fv(amr["up"]["depth"], amr["up"]["depth_error"], 1e3, "mΩ"),
                 "\"around 0.15 Ω\" (Fig. 3b)", "A01-amr-2K → Gaussian dip (scipy, in `cryo_acq.report.demo`)", f3b))
    rows.append(("field of the AMR dip (up / down)",
                 f"{_fv(amr['up']['field'], amr['up']['field_error'], 1e3, 'mT')} / "
                 f"{_fv(amr['down']['field'], amr['down']['field_error'], 1e3, 'mT')}",
                 "at the higher (Co) switching field (ED6)", "as above", f3b))
    temps = tmr_temperatures(quick)
    valid_t = [t for t in temps if tmr[tmr_label(t, TMR_BIAS)].get("valid")]
    gone_t = [t for t in temps if not tmr[tmr_label(t, TMR_BIAS)].get("valid") and (not valid_t or t > max(valid_t))]
    rows.append(("TMR switching seen up to / gone at (0.1 µA)",
                 f"{max(valid_t) if valid_t else 'n/a'} K / {min(gone_t) if gone_t else 'n/a'} K",
                 "only below $T_K$ (main text, ED7)", "loops of Fig. 3c → `switching_fields` (2 switches per sweep)",
                 f3d))
    biases = tmr_biases(quick)
    valid_i = [i for i in biases if tmr[tmr_label(TMR_FIG3B_T, i)].get("valid")]
    gone_i = [i for i in biases
              if not tmr[tmr_label(TMR_FIG3B_T, i)].get("valid") and (not valid_i or i > max(valid_i))]
    rows.append((f"TMR switching seen up to / gone at ({TMR_FIG3B_T:g} K)",
                 f"{max(valid_i) * 1e6:g} µA / {min(gone_i) * 1e6:g} µA" if valid_i and gone_i else "n/a",
                 "only with the bias inside the gap (Fig. 3e)", "loops of Fig. 3e → `switching_fields`", f3d))
    topics["Tunnelling magnetoresistance (device A01)"] = rows
    # --- non-local
    m = results["fit:nl-map"]
    nl = results["fit:nl-switch"]
    f4b, f4c, f4d = (FIGURES[k] for k in ("Fig. 4b", "Fig. 4c", "Fig. 4d"))
    first = nl[f"B-nl-switch-{nl_currents(quick)[0] * 1e6:g}uA"]
    ups = np.array([s["up"] for s in nl.values() if s.get("valid")])
    rows = [
        ("largest |$\\Delta R_{NL}$| / background (map)", _fv(m["max_ratio"] * 100, None, unit="%"),
         "more than 150 % of the background (main text, ED8)",
         f"B-nl-map-L08: `switching_fields` per line, background = median $(R_P + R_{{AP}})/2$ "
         f"= {m['background']:.4f} Ω; largest at $I_{{inj}}$ = {round(m['max_current'] * 1e6, 3) + 0.0:g} µA", f4b),
        ("$I_{inj}$ where $\\Delta R_{NL}$ changes sign", _fv(m["sign_change"], m["step"] / math.sqrt(12), 1e6, "µA"),
         "a sign change at finite $I_{inj}$ (Fig. 4b); no value quoted",
         "zero of $\\Delta R_{NL}(I_{inj})$, interpolated", f4b),
        ("largest |$I_{inj}$| with a spin signal", _fv(m["signal_edge"], None, 1e6, "µA"),
         "switching only with the injection inside the gap", "lines with two switches", f4b),
    ]
    if first.get("valid"):
        rows.append((f"$\\Delta R_{{NL}} = R_{{AP}} - R_P$ at {first['current'] * 1e6:g} µA",
                     _fv(first["delta_r"], first["delta_r_error"], unit="Ω"), "not quoted",
                     "nl-switch loop → `switching_fields`", f4c))
    if ups.size:
        rows.append(("switching fields (up sweep) over all $I_{inj}$: detector / injector",
                     f"{ups[:, 0].mean() * 1e3:.1f} ± {ups[:, 0].std() * 1e3:.1f} mT / "
                     f"{ups[:, 1].mean() * 1e3:.1f} ± {ups[:, 1].std() * 1e3:.1f} mT (spread)",
                     "\"does not obviously affect the switching fields\" (Fig. 4c)",
                     "nl-switch loops → `switching_fields`", f4c))
    topics["Non-local spin valve (device B, dilution-b)"] = rows
    # --- Hanle
    rows = []
    paper_lambda = {"L06": "~ 0.62 µm (Methods)", "L08": "~ 1.06 µm (Methods)", "L30": "not quoted"}
    for channel in CHANNELS:
        h = results[f"fit:hanle-{channel}"]
        spin = h["spin"]
        eq = "eq. 4" if h["model"] == "hanle-vortex" else "eq. 3"
        rows.append((f"$\\lambda_s$ = √(Dτ), L = {h['length'] * 1e6:g} µm ({eq})",
                     _fv(spin["lambda_s"], spin.error("lambda_s"), 1e6, "µm"), paper_lambda[channel],
                     f"B-hanle-{channel}-P/AP → `{h['model']}`, spin signal $(R_P - R_{{AP}})/2$", f4d))
        rows.append((f"D and τ, L = {h['length'] * 1e6:g} µm",
                     f"{_fv(spin['D'], spin.error('D'), 1e4, 'cm²/s')}; "
                     f"{_fv(spin['tau'], spin.error('tau'), 1e12, 'ps')}",
                     "not quoted", "as above", f4d))
        if channel == "L08":
            rows.append(("sign change of the Hanle signal, L = 0.8 µm", _fv(h["sign_change"], None, 1.0, "T"),
                         "±0.125 T (main text)", f"zero of the fitted curve (data, interpolated: "
                         f"{_fv(h['data_sign_change'], None, 1.0, 'T')})", f4d))
        if channel == "L30":
            second = [e for e in h["extrema"] if e[0] > 0.25]
            rows.append(("second peak, L = 3.0 µm", _fv(second[0][0] if second else math.nan, None, 1.0, "T"),
                         "±0.4 T, without a sign change (main text)", "extremum of the fitted eq. 4 curve", f4d))
            rows.append(("vortex field $B_v$, L = 3.0 µm", _fv(spin["B_v"], spin.error("B_v"), unit="T"),
                         "not quoted", "eq. 4 fit", f4d))
            std = h["standard"]
            rows.append(("residual rms, L = 3.0 µm: eq. 4 / eq. 3",
                         f"{spin.notes['residual_rms'] * 1e3:.2f} / {std.notes['residual_rms'] * 1e3:.2f} mΩ",
                         "eq. 3 \"cannot describe the second peak\" (Methods)", "the two fits of the spin signal", f4d))
    topics["Hanle precession (device B, 46 mK, $I_{inj}$ = 0.1 µA)"] = rows
    return topics


def write_summary(out: pathlib.Path, specs: list[RunSpec], results: dict, wall: float, jobs: int,
                  quick: bool = False) -> pathlib.Path:
    """``out/summary.md``: a table per topic (the demo's number, the paper's, how it was
    obtained, the figure), the figures, the run files, lab and wall time."""
    import os
    import platform

    runs = [results[s.label] for s in specs]
    lab = sum(r.lab_seconds for r in runs)
    lines = [
        "# cryo_acq demo: the paper's campaign on the simulated lab",
        "",
        f"{PAPER}, measured again on the simulated stations `vti-a01` (VTI, 10 T in-plane solenoid, device "
        "A01) and `dilution-b` (dilution fridge, vector magnet, device B), through the procedures and the "
        "runner, into the run files listed below. **Every number in the demo column is fitted from those run "
        "files** (`cryo_acq.analysis`; the few threshold estimates say so). The paper column quotes the paper.",
        "",
        f"Generated {_dt.datetime.now().astimezone().isoformat(timespec='seconds')} by `cryo-acq demo`"
        + (" (quick campaign: coarser steps, fewer temperatures)" if quick else "") + ". "
        f"**{len(runs)} runs, {sum(r.points for r in runs)} points, {lab / 3600:.1f} h of lab time simulated in "
        f"{wall:.1f} s of wall time ({lab / wall:.0f} lab seconds per wall second)**, {jobs} worker process"
        f"{'es' if jobs != 1 else ''} on {os.cpu_count()} CPU(s), Python {platform.python_version()}.",
        "",
        "Errors are one standard deviation from the fit's covariance (residual variance); they reflect the "
        "simulated noise only, not the model's systematic choices (see docs/sample-model.md).",
        "",
    ]
    for k, (topic, rows) in enumerate(_summary_rows(results, quick).items(), 1):
        lines += [f"## {k}. {topic}", "", *_table(rows), ""]
    lines += ["## Figures", "", "| paper panel | figure |", "|---|---|"]
    lines += [f"| {panel} | [{name}]({name}) |" for panel, name in FIGURES.items()]
    lines += ["", "## Differences from the paper's measurements", ""]
    lines += [f"- {note}" for note in DIFFERENCES]
    lines += ["", "## Run files", "",
              f"In `{pathlib.Path(runs[0].path).parent.relative_to(out).as_posix()}/`; open one with "
              "`cryo_acq.run.storage.load_run`, plot it with `cryo-acq plot FILE`, fit it with `cryo-acq fit MODEL FILE`.",
              "", "| run file | procedure | what | points | lab time | status |", "|---|---|---|---|---|---|"]
    for r in runs:
        rel = pathlib.Path(r.path).relative_to(out).as_posix()
        lines.append(f"| [{pathlib.Path(r.path).name}]({rel}) | {r.spec.procedure} | {r.spec.title} | {r.points} | "
                     f"{r.lab_seconds / 3600:.2f} h | {r.status} |")
    lines += ["", f"Total: {lab / 3600:.1f} h of simulated lab time ({lab:.0f} s) in {wall:.1f} s wall time.", ""]
    path = out / "summary.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


DIFFERENCES = [
    "Fig. 1d: the paper plots $B_{c2\\parallel}/B_{Pauli}$ against $T_c$ for devices A, C and E. The shipped "
    "stations hold A01 (`vti-a01`, in-plane field only, ≤ 10 T) and B (`dilution-b`, ≤ 2 T out of plane), so the "
    "panel shows $T_c(B_\\parallel)$ of A01 (fitted up to 6 T, where the orbital limit is the lower one; 8 and 10 T "
    "are Pauli-limited and shown unfitted) and $T_c(B_\\perp)$ of B. $B_{c2\\parallel}$ of A01 (≈ 12 T) is beyond "
    "the 10 T magnet. The coherence length uses the dirty-limit D(ξ) relation (docs/sample-model.md), not the "
    "paper's dimensionally inconsistent one.",
    "Fig. 1c: the R-T across the transition (ED3d) and α(T) (the inset) are drawn beside the V-I curves.",
    "R-T line cuts are continuous cool-downs at 0.1 K/min (readings as the sample passes each temperature, a few "
    "mK behind); the phase-diagram map is stepped (0.25 K × 0.5 T) and coarser than the paper's.",
    "Fig. 2b: lock-in current 100 nA (the paper: 1 µA; the station's SR830 drives at most 0.5 µA through its "
    "10 MΩ series resistor).",
    "Fig. 3b: the Co AMR is measured at 0.45 µA rms (the paper: 10 µA) with the demo's `amr` loop (the `tmr` loop "
    "on the `co_amr` wiring; the procedures package has no AMR procedure).",
    "Fig. 3d top: the paper shows the junction's zero-field R-T; there is no two-probe R-T procedure, so the "
    "junction resistance is the parallel level $R_P$ of each TMR loop (as ED7).",
    "Fig. 3c: no loop at exactly $T_K$ (4.5 K in the model): see `tmr_temperatures` in `cryo_acq/report/demo.py`.",
    "Fig. 4b: 0.25 µA × 1 mT steps (the paper: 0.05 µA), to keep the demo under three minutes.",
]
