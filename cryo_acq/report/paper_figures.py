"""The demo's figures: one per panel of the paper, drawn from the run files and fits."""

from __future__ import annotations

import math
import pathlib

import numpy as np

from cryo_acq.report.paper_fits import A01_THICKNESS, PAIR_BREAKING_MAX_FIELD, REENTRANT_THRESHOLD
from cryo_acq.report.paper_runs import CHANNELS, TMR_BIAS, TMR_FIG3B_T, nl_currents, tmr_biases, tmr_label, tmr_temperatures


# =========================================================================== figures
def _load(inputs, label):
    from cryo_acq.run.storage import load_run

    return load_run(inputs[label].path)


def _save(fig, out, name) -> str:
    from cryo_acq.report.plotting import save

    return str(save(fig, pathlib.Path(out) / name))


def _err(value, error, factor=1.0) -> str:
    """'value ± error' for figure labels."""
    from cryo_acq.analysis.result import format_value

    return format_value(value * factor, error * factor if error is not None else None).replace("+-", "±")


def figure_1c(out, inputs=None) -> str:
    """Fig. 1c (+ ED3c-d): V-I log-log at 6.0-6.9 K with the lowest-decade power-law fits;
    alpha(T) and T_BKT where alpha = 3; R(T) across the transition with the BKT fit."""
    from cryo_acq.report.plotting import draw_fit, draw_vi, new_figure, _style

    vi, bkt = inputs["fit:vi"], inputs["fit:bkt"]["fit"]
    run_vi, run_rt = _load(inputs, "A01-vi"), _load(inputs, "A01-rt-transition")
    fig, (ax, ax_alpha, ax_rt) = new_figure(15.0, 4.6, 1, 3, gridspec_kw={"width_ratios": [1.5, 1, 1]})
    with _style():
        shown = draw_vi(ax, run_vi, legend=False, every=2)
        shown_t = [float(label.split()[0]) for label in shown]
        k = 0
        for fit in vi["fits"]:
            if min(abs(fit.notes["temperature"] - t) for t in shown_t) < 0.005:
                draw_fit(ax, fit, x_factor=1e6, lw=1.6, color="k", ls="--",
                         label="fit $V = c\\,I^\\alpha$ over the lowest decade" if k == 0 else None)
                k += 1
        ax.legend(ncol=2, fontsize=6.5, loc="lower right", title="T (measured), every other curve",
                  title_fontsize=7)
        ax.set_title("(c) V-I of A01 at B = 0, 6.0-6.9 K [SMU DC current and voltage]")
        t_bkt = vi["bkt"]
        temps = np.array([f.notes["temperature"] for f in vi["fits"]])
        alphas = np.array([f["alpha"] for f in vi["fits"]])
        errors = np.array([f.error("alpha") for f in vi["fits"]])
        ax_alpha.errorbar(temps, alphas, yerr=errors, fmt="o-", ms=3.5, lw=1, color="C0", label="fitted α")
        ax_alpha.axhline(3.0, color="k", ls="--", lw=1, label="α = 3 (universal BKT jump)")
        ax_alpha.axvline(t_bkt["T_BKT"], color="C3", ls=":", lw=1.2,
                         label=f"$T_{{BKT}}$ = {_err(t_bkt['T_BKT'], t_bkt.error('T_BKT'))} K")
        ax_alpha.set_xlabel("temperature T (K)")
        ax_alpha.set_ylabel("exponent α of $V \\propto I^\\alpha$")
        ax_alpha.set_title("inset of (c): α(T); paper: α → 3 at 6.3 K")
        ax_alpha.legend(loc="upper right")
        t, r = run_rt.data["temperature"], run_rt.data["resistance"]
        ax_rt.plot(t, r, "o", ms=2.5, color="C0", label="A01 R-T, B = 0 (ramp 0.1 K/min)")
        draw_fit(ax_rt, bkt, label="Halperin-Nelson (BKT) fit", color="C3", ls="-")
        ax_rt.axvline(bkt["T_BKT"], color="C3", ls=":", lw=1,
                      label=f"$T_{{BKT}}$ = {_err(bkt['T_BKT'], bkt.error('T_BKT'))} K")
        ax_rt.axvline(bkt["Tc0"], color="grey", ls="--", lw=1,
                      label=f"$T_{{c0}}$ (0.9 $R_N$) = {_err(bkt['Tc0'], bkt.error('Tc0'))} K")
        ax_rt.set_xlabel("temperature T (K)")
        ax_rt.set_ylabel("four-probe resistance R (Ω)  [lock-in 100 nA]")
        ax_rt.set_title("ED3d: R(T) across the transition; paper: $T_{BKT}$ ≈ 6.35 K")
        ax_rt.legend(loc="center left", fontsize=7)
        fig.suptitle("Fig. 1c - BKT transition of Co-NbSe2 (device A01, vti-a01)")
    return _save(fig, out, "fig1c_vi.png")


def figure_1d(out, inputs=None) -> str:
    """Fig. 1d: T_c(B) of A01 in plane (line cuts, eq. 2 with d = 12 nm) and of device B out
    of plane (map rows), with the fitted xi_GL(0)."""
    from cryo_acq.report.plotting import draw_fit, new_figure, _style

    par, perp = inputs["fit:tc-parallel"], inputs["fit:tc-perpendicular"]["fit"]
    fig, (ax, ax_b) = new_figure(12.0, 4.6, 1, 2)
    with _style():
        fit = par["fit"]
        fields, tc, fitted = par["fields"], par["tc"], par["fitted"]
        ax.plot(tc[fitted], fields[fitted], "o", ms=6, color="C0", label="$T_c$ (0.9 $R_N$) of each R-T line cut")
        ax.plot(tc[~fitted], fields[~fitted], "o", ms=6, mfc="none", color="C0",
                label=f"not fitted (> {PAIR_BREAKING_MAX_FIELD:g} T: Pauli-limited)")
        draw_fit(ax, fit, swap=True, color="C3", ls="-",
                 label=f"eq. 2, in plane, d = {A01_THICKNESS * 1e9:g} nm:\n"
                       f"$\\xi_{{GL}}(0)$ = {_err(fit['xi_gl'], fit.error('xi_gl'), 1e9)} nm, "
                       f"$T_{{c0}}$ = {_err(fit['tc0'], fit.error('tc0'))} K")
        wide, tc_wide = par["extended"]
        ax.plot(tc_wide, wide, ":", color="C3", lw=1.2, label="the same orbital curve beyond the fitted fields")
        ax.set_xlabel("critical temperature $T_c$ (K)")
        ax.set_ylabel("in-plane field $B_\\parallel$ (T)")
        ax.set_title("device A01 (vti-a01): in-plane field along x")
        pauli = 1.86 * fit["tc0"]  # T, B_P = 1.86 T/K * Tc0
        secondary = ax.secondary_yaxis("right", functions=(lambda b: b / pauli, lambda u: u * pauli))
        secondary.set_ylabel(f"$B_\\parallel / B_{{Pauli}}$  ($B_{{Pauli}}$ = 1.86 T/K × $T_{{c0}}$ = {pauli:.1f} T)")
        ax.legend(loc="lower left", fontsize=7)
        ax_b.plot(perp.data, perp.x, "s", ms=6, color="C2",
                  label="$T_c$ (0.9 $R_N$) of each row of the R(T, $B_\\perp$) map")
        draw_fit(ax_b, perp, swap=True, color="C3", ls="-",
                 label=f"eq. 2, out of plane: $\\xi_{{GL}}(0)$ = {_err(perp['xi_gl'], perp.error('xi_gl'), 1e9)} nm,\n"
                       f"$T_{{c0}}$ = {_err(perp['tc0'], perp.error('tc0'))} K")
        ax_b.set_xlabel("critical temperature $T_c$ (K)")
        ax_b.set_ylabel("out-of-plane field $B_\\perp$ (T)")
        ax_b.set_title("device B (dilution-b): out-of-plane field along z (≤ 2 T)")
        ax_b.legend(loc="lower left", fontsize=7)
        fig.suptitle("Fig. 1d - critical temperature against field, orbital pair breaking (Methods eq. 2); "
                     "paper: A01 $\\xi_{GL}^0$ = 5.7 ± 1.2 nm (ED10)")
    return _save(fig, out, "fig1d_tc_vs_b.png")


def figure_2a(out, inputs=None) -> str:
    """Fig. 2a: the (B_par, T) phase diagram of A01 as an image of R/R_N, T_c(B) of the line
    cuts, and the regions N, SC, FM + SC."""
    from cryo_acq.report.plotting import new_figure, _style
    from matplotlib.colors import Normalize

    run = _load(inputs, "A01-rt-map")
    par, phase, re = inputs["fit:tc-parallel"], inputs["fit:phase"], inputs["fit:reentrant"]
    outer, inner = run.plan["axes"]
    from cryo_acq.report.plotting import _edges

    fig, ax = new_figure(7.4, 5.0)
    with _style():
        ratio = run.grid["resistance"] / phase["r_normal"]
        mesh = ax.pcolormesh(_edges(np.array(inner["values"])), _edges(np.array(outer["values"])),
                             np.ma.masked_invalid(ratio), shading="flat", cmap="magma", norm=Normalize(0, 1),
                             rasterized=True)
        fig.colorbar(mesh, ax=ax, label="R / $R_N$  (four-probe dV/dI, lock-in 100 nA)")
        ax.plot(par["tc"], par["fields"], "o-", color="C2", mec="k", ms=5, lw=1,
                label="$T_c(B)$ of the R-T line cuts (Fig. 2b)")
        if math.isfinite(re["t_k"]):
            ax.plot([re["t_k"]], [0.0], "D", color="C0", mec="w", ms=8, clip_on=False,
                    label=f"$T_K$(B = 0) = {re['t_k']:.2f} K (R > {REENTRANT_THRESHOLD:.0%} $R_N$)")
        if math.isfinite(phase["b_k"]):
            ax.plot([phase["temperature"]], [phase["b_k"]], "D", color="C9", mec="w", ms=8, clip_on=False,
                    label=f"$B_K$({phase['temperature']:.1f} K) = {phase['b_k']:.2f} T")
        ax.text(7.1, 5.0, "N", color="k", fontsize=14, ha="center", weight="bold")
        ax.text(5.0, 6.0, "SC", color="w", fontsize=14, ha="center", weight="bold")
        ax.text(2.6, 0.8, "FM + SC", color="w", fontsize=12, ha="center", weight="bold")
        ax.set_xlabel("temperature T (K)")
        ax.set_ylabel("in-plane field $B_\\parallel$ (T)")
        ax.grid(False)
        ax.legend(loc="upper right", fontsize=7, framealpha=0.9)
        ax.set_title("Fig. 2a - ($B_\\parallel$, T) phase diagram of A01 (rt-map, snake)\n"
                     "re-entrant resistive phase (FM + SC) below $T_K$ and $B_K$; paper: R(1.5 K) ≈ 0.4 $R_N$")
    return _save(fig, out, "fig2a_phase_diagram.png")


def figure_2b(out, inputs=None) -> str:
    """Fig. 2b: R-T line cuts at discrete in-plane fields."""
    import matplotlib
    from cryo_acq.report.plotting import new_figure, _style

    labels = sorted((k for k in inputs if k.startswith("A01-rt-") and k.endswith("T") and k != "A01-rt-transition"),
                    key=lambda k: float(k[len("A01-rt-"):-1]))
    re = inputs["fit:reentrant"]
    fig, ax = new_figure(7.4, 4.8)
    with _style():
        colours = matplotlib.colormaps["viridis"](np.linspace(0, 0.9, len(labels)))
        for label, c in zip(labels, colours):
            run = _load(inputs, label)
            b = float(np.nanmean(run.data["field"]))
            ax.plot(run.data["temperature"], run.data["resistance"], "-", lw=1.3, color=c,
                    label=f"$B_\\parallel$ = {b:.3g} T")
        ax.axhline(re["ratio"] * re["fit"]["R_N"], color="grey", ls=":", lw=1)
        ax.annotate(f"R(1.5 K) = {re['ratio']:.3f} $R_N$ (B = 0)", (1.6, re["ratio"] * re["fit"]["R_N"]),
                    xytext=(0, 4), textcoords="offset points", fontsize=8, color="grey")
        ax.set_xlabel("temperature T (K)")
        ax.set_ylabel("four-probe resistance R (Ω)  [lock-in 100 nA]")
        ax.set_xlim(1.4, 7.6)
        ax.legend(loc="center right", fontsize=7)
        ax.set_title("Fig. 2b - R-T of A01 at in-plane fields (continuous cool-down, 0.1 K/min)\n"
                     "resistive re-entrance below $T_K$, screened above $B_K$; $T_c$ falls with field")
    return _save(fig, out, "fig2b_rt_fields.png")


def _spectra_figure(out, inputs, label, fits_name, versus, filename, title):
    from cryo_acq.report.plotting import draw_didv, new_figure, _style

    run = _load(inputs, label)
    fits = inputs[fits_name]["fits"]
    fig, (ax, ax_par) = new_figure(12.0, 5.0, 1, 2, gridspec_kw={"width_ratios": [1.5, 1]})
    offset = 35e-6
    with _style():
        lines = draw_didv(ax, run, offset=offset, legend=False)
        for k, (label, (v, g)) in enumerate(lines.items()):  # each curve named at its right end
            ok = np.isfinite(v) & np.isfinite(g)
            ax.annotate(label, (4.55, (g[ok][np.argmax(v[ok])] + k * offset) * 1e6), fontsize=7, va="center",
                        annotation_clip=False)
        handles = []
        for k, fit in enumerate(fits):
            x, y = fit.notes.get("fine", (fit.x, fit.curve))
            handles += ax.plot(np.asarray(x) * 1e3, (np.asarray(y) + k * offset) * 1e6, "k--", lw=0.8,
                               label="eq. 1 fits (p wave + zero-bias Gaussian)")
        ax.legend(handles=handles[:1], fontsize=7, loc="upper left")
        ax.set_xlim(-4.5, 4.5)
        ax.set_title(title)
        if versus == "temperature":
            xs = np.array([f.notes["temperature"] for f in fits])
            xlabel = "temperature T (K)"
        else:
            xs = np.array([f.notes["setpoint"] for f in fits])
            xlabel = "in-plane field $B_\\parallel$ (T)"
        gap = np.array([f["delta0_eV"] for f in fits]) * 1e3
        gap_e = np.array([f.error("delta0_eV") for f in fits]) * 1e3
        height = np.array([f["zbp_height"] for f in fits])
        height_e = np.array([f.error("zbp_height") for f in fits])
        ax_par.errorbar(xs, gap, yerr=gap_e, fmt="o-", color="C0", ms=4, label="gap $\\Delta_0$ (meV)")
        ax_par.set_xlabel(xlabel)
        ax_par.set_ylabel("fitted gap $\\Delta_0$ (meV)", color="C0")
        twin = ax_par.twinx()
        twin.errorbar(xs, height, yerr=height_e, fmt="s-", color="C3", ms=4,
                      label="ZBP height $\\sigma_{ZBP}/\\sigma_N$")
        twin.set_ylabel("fitted zero-bias peak height $\\sigma_{ZBP}/\\sigma_N$", color="C3")
        twin.grid(False)
        ax_par.set_title("eq. 1 fits: gap and zero-bias peak")
        lines = ax_par.get_legend_handles_labels()
        lines2 = twin.get_legend_handles_labels()
        ax_par.legend(lines[0] + lines2[0], lines[1] + lines2[1], loc="center right", fontsize=7)
    return _save(fig, out, filename)


def figure_2c(out, inputs=None) -> str:
    return _spectra_figure(out, inputs, "A01-didv-temperature", "fit:didv-temperature", "temperature",
                           "fig2c_didv_temperature.png",
                           "Fig. 2c - two-probe dI/dV of the A01 junction at B = 0 [SMU DC + lock-in 10 nA]\n"
                           "zero-bias peak below $T_K$ only")


def figure_2d(out, inputs=None) -> str:
    return _spectra_figure(out, inputs, "A01-didv-field", "fit:didv-field", "field", "fig2d_didv_field.png",
                           "Fig. 2d - dI/dV of the A01 junction at 1.5 K in in-plane fields\n"
                           "zero-bias peak below $B_K$ only")


def figure_3b(out, inputs=None) -> str:
    """Fig. 3b: the TMR loop at 2.0 K (0.1 uA) over the Co AMR loop at 2 K."""
    from cryo_acq.report.plotting import draw_loop, new_figure, _style

    label = tmr_label(TMR_FIG3B_T, TMR_BIAS)
    tmr, amr = _load(inputs, label), _load(inputs, "A01-amr-2K")
    s, a = inputs["fit:tmr"][label], inputs["fit:amr"]
    fig, (ax, ax_amr) = new_figure(7.0, 7.0, 2, 1, sharex=True)
    with _style():
        draw_loop(ax, tmr, "resistance", 1e3, 1e-3)
        if s.get("valid"):
            for b in s["up"]:
                ax.axvline(b * 1e3, color="C3", ls=":", lw=0.8)
            for b in s["down"]:
                ax.axvline(b * 1e3, color="C0", ls=":", lw=0.8)
            ax.annotate(f"ΔR = {_err(s['delta_r'], s['delta_r_error'])} Ω\n"
                        f"ΔR/R = {s['delta_r_over_r'] * 100:.2f} %", (0.02, 0.55), xycoords="axes fraction",
                        fontsize=8)
        ax.set_ylabel("junction dV/dI (kΩ)  [lock-in 10 nA]")
        ax.set_title(f"TMR of the Co / BN / Co-NbSe2 junction, T = {TMR_FIG3B_T:g} K, DC bias 0.1 µA\n"
                     "switch at the lower field: Co-NbSe2; at the higher field: Co")
        ax.legend(loc="upper right")
        base = a["up"]["r0"]
        draw_loop(ax_amr, amr, "resistance", 1e3, 1e3, offset=-base, ms=2)
        for name, spec in (("up", "C3"), ("down", "C0")):
            xs, ys = a[name]["fine"]
            ax_amr.plot(np.asarray(xs) * 1e3, (np.asarray(ys) - base) * 1e3, "-", color="k", lw=1,
                        label="Gaussian dip fits" if name == "up" else None)
        ax_amr.annotate(f"dip {a['up']['depth'] * 1e3:.0f} ± {a['up']['depth_error'] * 1e3:.0f} mΩ at "
                        f"{a['up']['field'] * 1e3:+.1f} mT (up), {a['down']['field'] * 1e3:+.1f} mT (down)",
                        (0.02, 0.06), xycoords="axes fraction", fontsize=8)
        ax_amr.set_ylabel(f"Co stripe dV/dI − {base:.3f} Ω (mΩ)")
        ax_amr.set_xlabel("in-plane field $B_\\parallel$ along the easy axis x (mT)")
        ax_amr.set_title("AMR of the Co contact alone, T = 2 K, lock-in 0.45 µA rms (the station's largest), τ = 1 s")
        ax_amr.legend(loc="upper right")
        fig.suptitle("Fig. 3b - TMR (top) against AMR of the Co contact (bottom), device A01")
    return _save(fig, out, "fig3b_tmr_amr.png")


def _loop_grid(out, inputs, labels, colours, captions, filename, suptitle):
    from cryo_acq.report.plotting import new_figure, _style

    n = len(labels)
    cols = 2
    rows = math.ceil(n / cols)
    fig, axes = new_figure(11.0, 2.3 * rows + 0.6, rows, cols, sharex=True, squeeze=False)
    axes = axes.ravel()
    with _style():
        for ax, label, c, caption in zip(axes, labels, colours, captions):
            run = _load(inputs, label)
            s = inputs["fit:tmr"].get(label) or inputs.get("fit:nl-switch", {}).get(label, {})
            column = "resistance" if "resistance" in run.data else "r_nonlocal"
            b, r, d = run.data["field"] * 1e3, run.data[column], run.data["direction"]
            factor = 1e-3 if column == "resistance" else 1.0
            for sign, marker, colour, name in ((1, "o", "C3", "up"), (-1, "v", "C0", "down")):
                rows_ = d == sign
                ax.plot(b[rows_], r[rows_] * factor, "-", marker=marker, ms=2.2, lw=0.7, color=colour,
                        label=f"{name} sweep")
            if not s.get("valid"):
                result = "no switching"
            elif column == "resistance":
                result = f"ΔR = {s['delta_r']:.4g} Ω, ΔR/R = {s['delta_r_over_r'] * 100:.3g} %"
            else:  # non-local: against the spin-independent background, not R_P
                background = 0.5 * (s["r_parallel"] + s["r_antiparallel"])
                result = (f"$R_{{AP}} - R_P$ = {s['delta_r']:.4g} Ω, {abs(s['delta_r']) / background * 100:.0f} % "
                          f"of the background {background:.3f} Ω")
            ax.set_title(f"{caption}: {result}", fontsize=8.5)
            for spine in ax.spines.values():
                spine.set_edgecolor(c)
                spine.set_linewidth(1.6)
            ax.set_ylabel("dV/dI (kΩ)" if column == "resistance" else "$R_{NL}$ (Ω)")
            values = r * factor  # the same relative scale whether it switches or not
            mid = 0.5 * (float(np.min(values)) + float(np.max(values)))
            half = 0.65 * max(float(np.ptp(values)), 0.05 * abs(mid) if column == "resistance" else 0.1)
            ax.set_ylim(mid - half, mid + half)
        for ax in axes[n:]:
            ax.set_visible(False)
        for ax in axes[max(0, n - cols):n]:
            ax.set_xlabel("in-plane field $B_\\parallel$ (mT)")
            ax.xaxis.set_tick_params(labelbottom=True)
        axes[0].legend(loc="upper left", fontsize=7)
        fig.suptitle(suptitle)
    return _save(fig, out, filename)


def _series_colours(n, cmap="plasma"):
    import matplotlib

    return [matplotlib.colors.to_hex(c) for c in matplotlib.colormaps[cmap](np.linspace(0.05, 0.9, max(n, 2)))[:n]]


def figure_3c(out, quick=False, inputs=None) -> str:
    temps = tmr_temperatures(quick)
    labels = [tmr_label(t, TMR_BIAS) for t in temps]
    return _loop_grid(out, inputs, labels, _series_colours(len(temps), "turbo"),
                      [f"T = {t:g} K" for t in temps], "fig3c_tmr_temperature.png",
                      "Fig. 3c - TMR loops of A01 against temperature (DC bias 0.1 µA): "
                      "bistable below $T_K$, the switching ΔR shrinking as T rises")


def figure_3e(out, quick=False, inputs=None) -> str:
    biases = tmr_biases(quick)
    labels = [tmr_label(TMR_FIG3B_T, i) for i in biases]
    return _loop_grid(out, inputs, labels, _series_colours(len(biases), "viridis"),
                      [f"I = {i * 1e6:g} µA" for i in biases], "fig3e_tmr_bias.png",
                      f"Fig. 3e - TMR loops of A01 against DC bias at {TMR_FIG3B_T:g} K: "
                      "switching only while the junction voltage is inside the gap")


def figure_3d(out, quick=False, inputs=None) -> str:
    """Fig. 3d: top, Delta R and Delta R/R of the TMR against T (with R_P, ED7); bottom, the
    2.0 K dI/dV inside the gap with the junction voltages of the bias series marked."""
    from cryo_acq.report.plotting import new_figure, _style

    temps, biases = tmr_temperatures(quick), tmr_biases(quick)
    tcol, bcol = _series_colours(len(temps), "turbo"), _series_colours(len(biases), "viridis")
    fits = inputs["fit:tmr"]
    run = _load(inputs, "A01-didv-temperature")
    fig, (ax, ax_g) = new_figure(7.4, 8.0, 2, 1)
    with _style():
        delta = [fits[tmr_label(t, TMR_BIAS)] for t in temps]
        dr = np.array([s["delta_r"] if s.get("valid") else 0.0 for s in delta])
        dr_e = np.array([s["delta_r_error"] if s.get("valid") else 0.0 for s in delta])
        rp = np.array([s.get("r_parallel", math.nan) for s in delta])
        ax.plot(temps, dr, "-", color="grey", lw=1)
        for t, v, e, c, s in zip(temps, dr, dr_e, tcol, delta):
            ax.errorbar([t], [v], yerr=[e], fmt="o" if s.get("valid") else "x", color=c, ms=8, mec="k")
        ax.axhline(500.0, color="k", ls="--", lw=0.8)
        ax.annotate("paper: saturates at 500 Ω (ΔR/R ~ 10 %) at 1.5 K", (temps[0], 505), fontsize=8)
        ax.set_xlabel("temperature T (K)")
        ax.set_ylabel("TMR switching ΔR (Ω)  [x: no switching]")
        twin = ax.twinx()
        twin.plot(temps, rp / 1e3, "s:", color="C2", ms=4, label="$R_P$: parallel level of each loop")
        twin.set_ylabel("junction resistance $R_P$ (kΩ), 0.1 µA", color="C2")
        twin.grid(False)
        twin.legend(loc="center right", fontsize=7)
        ax.set_title("top: TMR ΔR against T (loops of Fig. 3c, 0.1 µA); the dots are those of Fig. 3c")
        # bottom: dI/dV at 2.0 K with the bias series' operating points
        temps_run = np.array(run.plan["axes"][0]["values"])
        k = int(np.argmin(np.abs(temps_run - TMR_FIG3B_T)))
        currents = np.array(run.plan["axes"][1]["values"])
        v, g = run.grid["bias_voltage"][k], run.grid["didv"][k]
        ax_g.plot(v * 1e3, g * 1e6, "-", color="k", lw=1, label=f"dI/dV at {temps_run[k]:g} K (didv run)")
        for i, c in zip(biases, bcol):
            vi = float(np.interp(i, currents, v))
            gi = float(np.interp(vi, v, g))
            s = fits[tmr_label(TMR_FIG3B_T, i)]
            ax_g.plot([vi * 1e3], [gi * 1e6], "o" if s.get("valid") else "X", color=c, ms=9, mec="k",
                      label=f"{i * 1e6:g} µA → {vi * 1e3:.2f} mV: "
                            + ("switching" if s.get("valid") else "no switching"))
        marked = [float(np.interp(i, currents, v)) for i in biases]
        ax_g.set_xlim(-0.2, 1e3 * max(marked) * 1.08 + 0.1)
        ax_g.set_xlabel("junction bias voltage V (mV)")
        ax_g.set_ylabel("dI/dV (µS)")
        ax_g.legend(fontsize=7, loc="lower right")
        ax_g.set_title("bottom: the TMR biases of Fig. 3e on the 2.0 K spectrum (inside / outside the gap)")
        fig.suptitle("Fig. 3d - where the TMR exists: below $T_K$, and with the bias inside the gap")
    return _save(fig, out, "fig3d_delta_r.png")


def figure_4b(out, inputs=None) -> str:
    """Fig. 4b (+ ED8b): the non-local map and Delta R_NL(I_inj) of its lines."""
    from cryo_acq.report.plotting import draw_map, new_figure, _style

    run = _load(inputs, "B-nl-map-L08")
    m = inputs["fit:nl-map"]
    fig, (ax, ax_d) = new_figure(12.0, 4.8, 1, 2, gridspec_kw={"width_ratios": [1.4, 1]})
    with _style():
        draw_map(ax, run, "r_nonlocal", diverging=True)
        ax.set_title("$R_{NL}(B_\\parallel, I_{inj})$, channel L = 0.8 µm, 53 mK\n"
                     "each line: -40 mT, then 0 → +40 mT (antiparallel between the two coercive fields)")
        ax_d.plot(m["currents"] * 1e6, m["delta_r"], "o-", ms=3.5, color="C0", label="$ΔR_{NL} = R_P - R_{AP}$")
        ax_d.plot(m["currents"] * 1e6, 0.5 * (m["r_parallel"] + m["r_antiparallel"]), "s", ms=3, color="grey",
                  label=f"background $(R_P + R_{{AP}})/2$, median {m['background']:.3f} Ω")
        ax_d.axhline(0.0, color="k", lw=0.6)
        if math.isfinite(m["sign_change"]):
            ax_d.axvline(m["sign_change"] * 1e6, color="C3", ls=":",
                         label=f"sign change at $I_{{inj}}$ = {m['sign_change'] * 1e6:.2f} µA")
        ax_d.set_xlabel("injection current $I_{inj}$ (µA)")
        ax_d.set_ylabel("non-local switching $ΔR_{NL}$ (Ω)")
        ax_d.set_title(f"ED8b: switching of each line\nlargest |ΔR| = {m['max_ratio'] * 100:.0f} % of the background")
        ax_d.legend(fontsize=7, loc="lower center")
        fig.suptitle("Fig. 4b - non-local spin valve map, device B (dilution-b)")
    return _save(fig, out, "fig4b_nl_map.png")


def figure_4c(out, quick=False, inputs=None) -> str:
    currents = nl_currents(quick)
    labels = [f"B-nl-switch-{i * 1e6:g}uA" for i in currents]
    inputs = {**inputs, "fit:tmr": inputs["fit:nl-switch"]}
    return _loop_grid(out, inputs, labels, _series_colours(len(currents), "viridis"),
                      [f"$I_{{inj}}$ = {i * 1e6:g} µA" for i in currents], "fig4c_nl_switch.png",
                      "Fig. 4c - non-local switching loops, L = 0.8 µm, 53 mK: the injection current sets the "
                      "size and sign, not the switching fields")


def figure_4d(out, inputs=None) -> str:
    """Fig. 4d: Hanle curves of the three channels, parallel and antiparallel, with the fits."""
    from cryo_acq.report.plotting import draw_hanle, new_figure, _style

    fig, axes = new_figure(15.0, 4.8, 1, 3, sharey=True)
    with _style():
        for ax, channel in zip(axes, CHANNELS):
            h = inputs[f"fit:hanle-{channel}"]
            for alignment in ("P", "AP"):
                draw_hanle(ax, _load(inputs, f"B-hanle-{channel}-{alignment}"), ms=2)
            eq = "eq. 4 (vortex)" if h["model"] == "hanle-vortex" else "eq. 3"
            for k, name in enumerate(("parallel", "antiparallel")):
                fit = h[name]
                x, y = fit.notes.get("fine", (fit.x, fit.curve))
                ax.plot(x, y, "-", color="k", lw=1.1, label=f"{eq} fits" if k == 0 else None)
            if "standard" in h:  # eq. 3 on the long channel, for comparison (spin signal about the background)
                std, spin = h["standard"], h["spin"]
                x, y = std.notes.get("fine", (std.x, std.curve))
                bg = 0.5 * (h["parallel"]["offset"] + h["antiparallel"]["offset"])
                ax.plot(x, np.asarray(y) + bg, ":", color="grey", lw=1.3, label="eq. 3 (no vortices), parallel")
            spin = h["spin"]
            text = (f"$\\lambda_s$ = {_err(spin['lambda_s'], spin.error('lambda_s'), 1e6)} µm\n"
                    f"D = {spin['D']:.3g} m²/s, τ = {spin['tau'] * 1e12:.3g} ps")
            if "B_v" in spin.values:
                text += f"\n$B_v$ = {spin['B_v']:.3g} T"
            if channel == "L08" and math.isfinite(h["sign_change"]):
                text += f"\nsign change at ±{h['sign_change']:.3f} T"
                for s_ in (-1, 1):
                    ax.axvline(s_ * h["sign_change"], color="C2", ls="--", lw=0.8)
            if channel == "L30":
                second = [e for e in h["extrema"] if e[0] > 0.25]
                if second:
                    text += f"\nsecond peak at ±{second[0][0]:.2f} T"
                    for s_ in (-1, 1):
                        ax.axvline(s_ * second[0][0], color="C2", ls="--", lw=0.8)
            ax.text(0.03, 0.04, text, transform=ax.transAxes, fontsize=7.5, va="bottom",
                    bbox={"facecolor": "w", "alpha": 0.85, "edgecolor": "0.8"})
            ax.axhline(0.0, color="k", lw=0.5)
            ax.set_title(f"channel {channel}: L = {h['length'] * 1e6:g} µm")
            ax.set_xlabel("out-of-plane field $B_\\perp$ (T)")
            ax.legend(loc="upper right", fontsize=7)
        axes[0].set_ylabel("non-local resistance $R_{NL}$ (Ω)  [lock-in 50 nA]")
        fig.suptitle("Fig. 4d - Hanle precession, device B, 46 mK, $I_{inj}$ = 0.1 µA "
                     "(electrodes set parallel / antiparallel in plane, then $B_\\perp$ swept)")
    return _save(fig, out, "fig4d_hanle.png")


#: panel -> file name of its figure in the demo's output folder
FIGURES = {
    "Fig. 1c": "fig1c_vi.png", "Fig. 1d": "fig1d_tc_vs_b.png", "Fig. 2a": "fig2a_phase_diagram.png",
    "Fig. 2b": "fig2b_rt_fields.png", "Fig. 2c": "fig2c_didv_temperature.png", "Fig. 2d": "fig2d_didv_field.png",
    "Fig. 3b": "fig3b_tmr_amr.png", "Fig. 3c": "fig3c_tmr_temperature.png", "Fig. 3d": "fig3d_delta_r.png",
    "Fig. 3e": "fig3e_tmr_bias.png", "Fig. 4b": "fig4b_nl_map.png", "Fig. 4c": "fig4c_nl_switch.png",
    "Fig. 4d": "fig4d_hanle.png",
}
