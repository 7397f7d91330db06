"""The drawings a report file can name: each a registered function that draws one figure
file from the results of the fits the figure names and the runs it names.

Signature: ``fn(path, fits, runs, *, title, **options)``: ``fits`` maps the drawing's
roles to fit results, ``runs`` maps roles to lists of loaded runs (see each drawing's
docstring for its roles). The primitives (a loop, a map, a set of V-I curves) are
:mod:`cryo_acq.report.plotting`, which also draws a single run for ``cryo-acq plot``.
"""

from __future__ import annotations

import math
import pathlib

import numpy as np

from cryo_acq.report.registry import drawing


def _save(fig, path) -> str:
    from cryo_acq.report.plotting import save

    return str(save(fig, pathlib.Path(path)))


def _err(value, error, factor=1.0) -> str:
    """'value ± error' for figure labels."""
    from cryo_acq.analysis.result import format_value

    return format_value(value * factor, error * factor if error is not None else None).replace("+-", "±")


def _colours(n, cmap="plasma"):
    import matplotlib

    return [matplotlib.colors.to_hex(c) for c in matplotlib.colormaps[cmap](np.linspace(0.05, 0.9, max(n, 2)))[:n]]


def _load(path):
    from cryo_acq.run.storage import load_run

    return load_run(path)


# --------------------------------------------------------------------------- R-T, V-I, T_c(B)
@drawing("vi-bkt")
def vi_bkt(path, fits, runs, *, title="BKT transition", reference_alpha="", reference_rt="") -> str:
    """V-I log-log with the lowest-decade power laws, alpha(T) with T_BKT where alpha = 3,
    and R(T) across the transition with the BKT fit. Fits: ``vi`` (vi), ``bkt`` (bkt-rt).
    Runs: ``vi``, ``rt``."""
    from cryo_acq.report.plotting import _style, draw_fit, draw_vi, new_figure

    vi, bkt = fits["vi"], fits["bkt"]["fit"]
    run_vi, run_rt = runs["vi"][0], runs["rt"][0]
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
        ax.set_title(f"V-I of {run_vi.label} [SMU DC current and voltage]")
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
        ax_alpha.set_title("α(T)" + (f"; {reference_alpha}" if reference_alpha else ""))
        ax_alpha.legend(loc="upper right")
        t, r = run_rt.data["temperature"], run_rt.data["resistance"]
        ax_rt.plot(t, r, "o", ms=2.5, color="C0", label=f"{run_rt.label}")
        draw_fit(ax_rt, bkt, label="Halperin-Nelson (BKT) fit", color="C3", ls="-")
        ax_rt.axvline(bkt["T_BKT"], color="C3", ls=":", lw=1,
                      label=f"$T_{{BKT}}$ = {_err(bkt['T_BKT'], bkt.error('T_BKT'))} K")
        ax_rt.axvline(bkt["Tc0"], color="grey", ls="--", lw=1,
                      label=f"$T_{{c0}}$ (0.9 $R_N$) = {_err(bkt['Tc0'], bkt.error('Tc0'))} K")
        ax_rt.set_xlabel("temperature T (K)")
        ax_rt.set_ylabel("four-probe resistance R (Ω)")
        ax_rt.set_title("R(T) across the transition" + (f"; {reference_rt}" if reference_rt else ""))
        ax_rt.legend(loc="center left", fontsize=7)
        fig.suptitle(title)
    return _save(fig, path)


@drawing("tc-field")
def tc_field(path, fits, runs, *, title="critical temperature against field (pair breaking, eq. 2)") -> str:
    """T_c(B) in plane (line cuts, eq. 2) and out of plane (map rows) with the fitted
    xi_GL(0). Fits: ``parallel`` (tc-lines), ``perpendicular`` (pair-breaking)."""
    from cryo_acq.report.plotting import _style, draw_fit, new_figure

    par, perp = fits["parallel"], fits["perpendicular"]["fit"]
    fig, (ax, ax_b) = new_figure(12.0, 4.6, 1, 2)
    with _style():
        fit = par["fit"]
        fields, tc, fitted = par["fields"], par["tc"], np.asarray(par["fitted"])
        ax.plot(tc[fitted], fields[fitted], "o", ms=6, color="C0", label="$T_c$ (0.9 $R_N$) of each R-T line cut")
        if (~fitted).any():
            ax.plot(tc[~fitted], fields[~fitted], "o", ms=6, mfc="none", color="C0",
                    label=f"not fitted (> {par['max_field']:g} T: Pauli-limited)")
        thickness = f", d = {par['thickness'] * 1e9:g} nm" if par.get("thickness") else ""
        draw_fit(ax, fit, swap=True, color="C3", ls="-",
                 label=f"eq. 2, in plane{thickness}:\n"
                       f"$\\xi_{{GL}}(0)$ = {_err(fit['xi_gl'], fit.error('xi_gl'), 1e9)} nm, "
                       f"$T_{{c0}}$ = {_err(fit['tc0'], fit.error('tc0'))} K")
        wide, tc_wide = par["extended"]
        ax.plot(tc_wide, wide, ":", color="C3", lw=1.2, label="the same orbital curve beyond the fitted fields")
        ax.set_xlabel("critical temperature $T_c$ (K)")
        ax.set_ylabel("in-plane field $B_\\parallel$ (T)")
        ax.set_title("in-plane field")
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
        ax_b.set_title("out-of-plane field")
        ax_b.legend(loc="lower left", fontsize=7)
        fig.suptitle(title)
    return _save(fig, path)


@drawing("phase-diagram")
def phase_diagram(path, fits, runs, *, title="(B, T) phase diagram", cmap="magma") -> str:
    """R/R_N of an R(T, B) map as an image, with T_c(B) of the line cuts, T_K and B_K.
    Runs: ``map``. Fits: ``reentry`` (reentry-field), and optionally ``lines`` (tc-lines),
    ``reentrant`` (reentrant)."""
    from matplotlib.colors import Normalize

    from cryo_acq.report.plotting import _edges, _style, new_figure

    run = runs["map"][0]
    phase = fits["reentry"]
    outer, inner = run.plan["axes"]
    fig, ax = new_figure(7.4, 5.0)
    with _style():
        ratio = run.grid["resistance"] / phase["r_normal"]
        mesh = ax.pcolormesh(_edges(np.array(inner["values"])), _edges(np.array(outer["values"])),
                             np.ma.masked_invalid(ratio), shading="flat", cmap=cmap, norm=Normalize(0, 1),
                             rasterized=True)
        fig.colorbar(mesh, ax=ax, label="R / $R_N$")
        if "lines" in fits:
            ax.plot(fits["lines"]["tc"], fits["lines"]["fields"], "o-", color="C2", mec="k", ms=5, lw=1,
                    label="$T_c(B)$ of the R-T line cuts")
        re = fits.get("reentrant")
        if re and math.isfinite(re["t_k"]):
            ax.plot([re["t_k"]], [0.0], "D", color="C0", mec="w", ms=8, clip_on=False,
                    label=f"$T_K$(B = 0) = {re['t_k']:.2f} K (R > {re['threshold']:.0%} $R_N$)")
        if math.isfinite(phase["b_k"]):
            ax.plot([phase["temperature"]], [phase["b_k"]], "D", color="C9", mec="w", ms=8, clip_on=False,
                    label=f"$B_K$({phase['temperature']:.1f} K) = {phase['b_k']:.2f} T")
        ax.set_xlabel("temperature T (K)")
        ax.set_ylabel("in-plane field $B_\\parallel$ (T)")
        ax.grid(False)
        ax.legend(loc="upper right", fontsize=7, framealpha=0.9)
        ax.set_title(title)
    return _save(fig, path)


@drawing("rt-lines")
def rt_lines(path, fits, runs, *, title="R-T at several fields", cmap="viridis") -> str:
    """R-T line cuts, one curve per run, coloured by field. Runs: ``lines``. Fits
    (optional): ``reentrant`` (marks R at the coldest readings)."""
    import matplotlib

    from cryo_acq.report.plotting import _style, new_figure

    lines = sorted(runs["lines"], key=lambda r: float(np.nanmean(np.abs(r.data["field"]))))
    fig, ax = new_figure(7.4, 4.8)
    with _style():
        colours = matplotlib.colormaps[cmap](np.linspace(0, 0.9, len(lines)))
        for run, c in zip(lines, colours):
            b = float(np.nanmean(run.data["field"]))
            ax.plot(run.data["temperature"], run.data["resistance"], "-", lw=1.3, color=c,
                    label=f"$B_\\parallel$ = {b:.3g} T")
        re = fits.get("reentrant")
        if re:
            level = re["ratio"] * re["fit"]["R_N"]
            ax.axhline(level, color="grey", ls=":", lw=1)
            ax.annotate(f"R({re['ratio_temperature']:.1f} K) = {re['ratio']:.3f} $R_N$ (B = 0)",
                        (re["ratio_temperature"] + 0.1, level), xytext=(0, 4), textcoords="offset points",
                        fontsize=8, color="grey")
        ax.set_xlabel("temperature T (K)")
        ax.set_ylabel("four-probe resistance R (Ω)")
        ax.legend(loc="center right", fontsize=7)
        ax.set_title(title)
    return _save(fig, path)


# --------------------------------------------------------------------------- tunnelling
@drawing("spectra")
def spectra(path, fits, runs, *, title="dI/dV spectra", offset: float = 35e-6) -> str:
    """dI/dV spectra of one didv run, offset by ``offset`` (S), with the eq. 1 fits, and
    the fitted gap and zero-bias peak against the row value. Fits: ``spectra``
    (didv-spectra); runs: ``didv``."""
    from cryo_acq.report.plotting import _style, draw_didv, new_figure

    run = runs["didv"][0]
    result = fits["spectra"]
    fitted = result["fits"]
    fig, (ax, ax_par) = new_figure(12.0, 5.0, 1, 2, gridspec_kw={"width_ratios": [1.5, 1]})
    with _style():
        lines = draw_didv(ax, run, offset=offset, legend=False)
        for k, (label, (v, g)) in enumerate(lines.items()):  # each curve named at its right end
            ok = np.isfinite(v) & np.isfinite(g)
            ax.annotate(label, (4.55, (g[ok][np.argmax(v[ok])] + k * offset) * 1e6), fontsize=7, va="center",
                        annotation_clip=False)
        handles = []
        for fit in fitted:
            k = fit.notes["row"]  # the curve's offset: its row (rows above T_c are not fitted)
            x, y = fit.notes.get("fine", (fit.x, fit.curve))
            handles += ax.plot(np.asarray(x) * 1e3, (np.asarray(y) + k * offset) * 1e6, "k--", lw=0.8,
                               label="eq. 1 fits (p wave + zero-bias Gaussian)")
        ax.legend(handles=handles[:1], fontsize=7, loc="upper left")
        ax.set_xlim(-4.5, 4.5)
        ax.set_title(title)
        if result["versus"] == "temperature":
            xs = np.array([f.notes["temperature"] for f in fitted])
            xlabel = "temperature T (K)"
        else:
            xs = np.array([f.notes["setpoint"] for f in fitted])
            xlabel = "in-plane field $B_\\parallel$ (T)"
        gap = np.array([f["delta0_eV"] for f in fitted]) * 1e3
        gap_e = np.array([f.error("delta0_eV") for f in fitted]) * 1e3
        height = np.array([f["zbp_height"] for f in fitted])
        height_e = np.array([f.error("zbp_height") for f in fitted])
        ax_par.errorbar(xs, gap, yerr=gap_e, fmt="o-", color="C0", ms=4, label="gap $\\Delta_0$ (meV)")
        ax_par.set_xlabel(xlabel)
        ax_par.set_ylabel("fitted gap $\\Delta_0$ (meV)", color="C0")
        twin = ax_par.twinx()
        twin.errorbar(xs, height, yerr=height_e, fmt="s-", color="C3", ms=4,
                      label="ZBP height $\\sigma_{ZBP}/\\sigma_N$")
        twin.set_ylabel("fitted zero-bias peak height $\\sigma_{ZBP}/\\sigma_N$", color="C3")
        twin.grid(False)
        ax_par.set_title("eq. 1 fits: gap and zero-bias peak")
        a, b = ax_par.get_legend_handles_labels(), twin.get_legend_handles_labels()
        ax_par.legend(a[0] + b[0], a[1] + b[1], loc="center right", fontsize=7)
    return _save(fig, path)


# --------------------------------------------------------------------------- loops
@drawing("loop-and-amr")
def loop_and_amr(path, fits, runs, *, title="TMR (top) against AMR of the contact (bottom)") -> str:
    """A TMR loop with its switching fields over an AMR loop with its dip fits. Runs:
    ``loop``, ``amr``. Fits: ``loop`` (switching), ``amr`` (amr-dip)."""
    from cryo_acq.report.plotting import _style, draw_loop, new_figure

    tmr, amr = runs["loop"][0], runs["amr"][0]
    s, a = fits["loop"], fits["amr"]
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
        ax.set_ylabel("junction dV/dI (kΩ)")
        ax.set_title(f"TMR, {tmr.label}: switch at the lower field, then at the higher")
        ax.legend(loc="upper right")
        base = a["up"]["r0"]
        draw_loop(ax_amr, amr, "resistance", 1e3, 1e3, offset=-base, ms=2)
        for name in ("up", "down"):
            xs, ys = a[name]["fine"]
            ax_amr.plot(np.asarray(xs) * 1e3, (np.asarray(ys) - base) * 1e3, "-", color="k", lw=1,
                        label="Gaussian dip fits" if name == "up" else None)
        ax_amr.annotate(f"dip {a['up']['depth'] * 1e3:.0f} ± {a['up']['depth_error'] * 1e3:.0f} mΩ at "
                        f"{a['up']['field'] * 1e3:+.1f} mT (up), {a['down']['field'] * 1e3:+.1f} mT (down)",
                        (0.02, 0.06), xycoords="axes fraction", fontsize=8)
        ax_amr.set_ylabel(f"dV/dI − {base:.3f} Ω (mΩ)")
        ax_amr.set_xlabel("in-plane field $B_\\parallel$ (mT)")
        ax_amr.set_title(f"AMR, {amr.label}")
        ax_amr.legend(loc="upper right")
        fig.suptitle(title)
    return _save(fig, path)


_CAPTION = {"temperature": ("T", 1.0, "K"), "current": ("I", 1e6, "µA"),
            "injection_current": ("$I_{inj}$", 1e6, "µA")}


@drawing("loop-grid")
def loop_grid(path, fits, runs, *, title="field loops", cmap="viridis") -> str:
    """One panel per loop of a series, framed in the series' colour, with its switching
    result. Fits: ``series`` (switching-series)."""
    from cryo_acq.report.plotting import _style, new_figure

    series = fits["series"]
    loops = list(series["loops"].values())
    symbol, factor_v, unit = _CAPTION.get(series["versus"], (series["versus"], 1.0, series.get("unit", "")))
    n, cols = len(loops), 2
    rows = math.ceil(n / cols)
    fig, axes = new_figure(11.0, 2.3 * rows + 0.6, rows, cols, sharex=True, squeeze=False)
    axes = axes.ravel()
    with _style():
        for ax, s, value, c in zip(axes, loops, series["values"], _colours(n, cmap)):
            run = _load(s["path"])
            column = s["column"]
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
                result = (f"$R_{{AP}} - R_P$ = {s['delta_r']:.4g} Ω, {s['delta_r_over_background'] * 100:.0f} % "
                          f"of the background {s['background']:.3f} Ω")
            ax.set_title(f"{symbol} = {value * factor_v:g} {unit}: {result}", fontsize=8.5)
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
        fig.suptitle(title)
    return _save(fig, path)


@drawing("tmr-window")
def tmr_window(path, fits, runs, *, title="where the TMR exists", temperature: float = 2.0,
               temperature_cmap="turbo", bias_cmap="viridis") -> str:
    """Top: TMR Delta R and R_P against temperature; bottom: the dI/dV spectrum at
    ``temperature`` (K) with the junction voltage of each bias of the bias series marked.
    Fits: ``temperature``, ``bias`` (switching-series versus temperature and current).
    Runs: ``didv`` (a didv run against temperature)."""
    from cryo_acq.report.plotting import _style, new_figure

    t_series, i_series = fits["temperature"], fits["bias"]
    temps, biases = t_series["values"], i_series["values"]
    tcol, bcol = _colours(len(temps), temperature_cmap), _colours(len(biases), bias_cmap)
    run = runs["didv"][0]
    fig, (ax, ax_g) = new_figure(7.4, 8.0, 2, 1)
    with _style():
        delta = list(t_series["loops"].values())
        dr = np.array([s["delta_r"] if s.get("valid") else 0.0 for s in delta])
        dr_e = np.array([s["delta_r_error"] if s.get("valid") else 0.0 for s in delta])
        rp = np.array([s.get("r_parallel", math.nan) for s in delta])
        ax.plot(temps, dr, "-", color="grey", lw=1)
        for t, v, e, c, s in zip(temps, dr, dr_e, tcol, delta):
            ax.errorbar([t], [v], yerr=[e], fmt="o" if s.get("valid") else "x", color=c, ms=8, mec="k")
        ax.set_xlabel("temperature T (K)")
        ax.set_ylabel("TMR switching ΔR (Ω)  [x: no switching]")
        twin = ax.twinx()
        twin.plot(temps, rp / 1e3, "s:", color="C2", ms=4, label="$R_P$: parallel level of each loop")
        twin.set_ylabel("junction resistance $R_P$ (kΩ)", color="C2")
        twin.grid(False)
        twin.legend(loc="center right", fontsize=7)
        ax.set_title("top: TMR ΔR against T (the loops of the temperature series)")
        temps_run = np.array(run.plan["axes"][0]["values"])
        k = int(np.argmin(np.abs(temps_run - temperature)))
        currents = np.array(run.plan["axes"][1]["values"])
        v, g = run.grid["bias_voltage"][k], run.grid["didv"][k]
        ax_g.plot(v * 1e3, g * 1e6, "-", color="k", lw=1, label=f"dI/dV at {temps_run[k]:g} K ({run.label})")
        for i, c, s in zip(biases, bcol, i_series["loops"].values()):
            vi = float(np.interp(i, currents, v))
            gi = float(np.interp(vi, v, g))
            ax_g.plot([vi * 1e3], [gi * 1e6], "o" if s.get("valid") else "X", color=c, ms=9, mec="k",
                      label=f"{i * 1e6:g} µA → {vi * 1e3:.2f} mV: " + ("switching" if s.get("valid") else
                                                                        "no switching"))
        marked = [float(np.interp(i, currents, v)) for i in biases]
        ax_g.set_xlim(-0.2, 1e3 * max(marked) * 1.08 + 0.1)
        ax_g.set_xlabel("junction bias voltage V (mV)")
        ax_g.set_ylabel("dI/dV (µS)")
        ax_g.legend(fontsize=7, loc="lower right")
        ax_g.set_title("bottom: the biases of the bias series on the spectrum (inside / outside the gap)")
        fig.suptitle(title)
    return _save(fig, path)


# --------------------------------------------------------------------------- non-local, Hanle
@drawing("nl-map")
def nl_map(path, fits, runs, *, title="non-local spin valve map") -> str:
    """The non-local map and Delta R_NL(I_inj) of its lines. Runs: ``map``; fits: ``map`` (nl-map)."""
    from cryo_acq.report.plotting import _style, draw_map, new_figure

    run, m = runs["map"][0], fits["map"]
    fig, (ax, ax_d) = new_figure(12.0, 4.8, 1, 2, gridspec_kw={"width_ratios": [1.4, 1]})
    with _style():
        draw_map(ax, run, "r_nonlocal", diverging=True)
        ax.set_title(f"$R_{{NL}}(B_\\parallel, I_{{inj}})$, {run.label}")
        ax_d.plot(m["currents"] * 1e6, m["delta_r"], "o-", ms=3.5, color="C0", label="$ΔR_{NL} = R_P - R_{AP}$")
        ax_d.plot(m["currents"] * 1e6, 0.5 * (m["r_parallel"] + m["r_antiparallel"]), "s", ms=3, color="grey",
                  label=f"background $(R_P + R_{{AP}})/2$, median {m['background']:.3f} Ω")
        ax_d.axhline(0.0, color="k", lw=0.6)
        if math.isfinite(m["sign_change"]):
            ax_d.axvline(m["sign_change"] * 1e6, color="C3", ls=":",
                         label=f"sign change at $I_{{inj}}$ = {m['sign_change'] * 1e6:.2f} µA")
        ax_d.set_xlabel("injection current $I_{inj}$ (µA)")
        ax_d.set_ylabel("non-local switching $ΔR_{NL}$ (Ω)")
        ax_d.set_title(f"switching of each line\nlargest |ΔR| = {m['max_ratio'] * 100:.0f} % of the background")
        ax_d.legend(fontsize=7, loc="lower center")
        fig.suptitle(title)
    return _save(fig, path)


@drawing("hanle")
def hanle(path, fits, runs, *, title="Hanle precession") -> str:
    """One panel per channel: the parallel and antiparallel Hanle curves with their fits,
    lambda_s, D and tau; the sign change (eq. 3) or the second peak (eq. 4) marked. Fits:
    one ``hanle`` fit per role, panels in the order given."""
    from cryo_acq.report.plotting import _style, draw_hanle, new_figure

    fig, axes = new_figure(5.0 * len(fits), 4.8, 1, len(fits), sharey=True, squeeze=False)
    axes = axes.ravel()
    with _style():
        for ax, (role, h) in zip(axes, fits.items()):
            for p in h["paths"]:
                draw_hanle(ax, _load(p), ms=2)
            vortex = h["model"] == "hanle-vortex"
            eq = "eq. 4 (vortex)" if vortex else "eq. 3"
            for k, name in enumerate(("parallel", "antiparallel")):
                fit = h[name]
                x, y = fit.notes.get("fine", (fit.x, fit.curve))
                ax.plot(x, y, "-", color="k", lw=1.1, label=f"{eq} fits" if k == 0 else None)
            if "standard" in h:  # the other model, for comparison
                std = h["standard"]
                x, y = std.notes.get("fine", (std.x, std.curve))
                bg = 0.5 * (h["parallel"]["offset"] + h["antiparallel"]["offset"])
                ax.plot(x, np.asarray(y) + bg, ":", color="grey", lw=1.3, label="eq. 3 (no vortices), parallel")
            spin = h["spin"]
            text = (f"$\\lambda_s$ = {_err(spin['lambda_s'], spin.error('lambda_s'), 1e6)} µm\n"
                    f"D = {spin['D']:.3g} m²/s, τ = {spin['tau'] * 1e12:.3g} ps")
            if "B_v" in spin.values:
                text += f"\n$B_v$ = {spin['B_v']:.3g} T"
            mark, what = (h["second_peak"], "second peak") if vortex else (h["sign_change"], "sign change")
            if math.isfinite(mark):
                text += f"\n{what} at ±{mark:.3f} T"
                for s_ in (-1, 1):
                    ax.axvline(s_ * mark, color="C2", ls="--", lw=0.8)
            ax.text(0.03, 0.04, text, transform=ax.transAxes, fontsize=7.5, va="bottom",
                    bbox={"facecolor": "w", "alpha": 0.85, "edgecolor": "0.8"})
            ax.axhline(0.0, color="k", lw=0.5)
            ax.set_title(f"{role}: L = {h['length'] * 1e6:g} µm")
            ax.set_xlabel("out-of-plane field $B_\\perp$ (T)")
            ax.legend(loc="upper right", fontsize=7)
        axes[0].set_ylabel("non-local resistance $R_{NL}$ (Ω)")
        fig.suptitle(title)
    return _save(fig, path)
