"""``cryo-acq fit MODEL RUNFILE...``: fit a run file and print the values with their errors.

Registered in :mod:`cryo_acq.cli.main` with ``main.add_command(fit)``. The fits are
:func:`cryo_acq.analysis.fit_run`; by default a PNG with the data and the fitted curve
is written next to the (first) run file, ``<run>-fit-<model>.png``.
"""

from __future__ import annotations

import math
import pathlib

import click
import numpy as np

from cryo_acq.analysis import MODELS, OPTIONS, fit_run

__all__ = ["fit", "figure_path", "write_figure"]


def _convert(text: str):
    low = text.strip().lower()
    if low in ("none", "null"):
        return None
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    try:
        value = float(text)
    except ValueError:
        return text.strip()
    return int(value) if value.is_integer() and "." not in text and "e" not in low else value


def _parse_options(model: str, pairs: tuple[str, ...]) -> dict:
    options = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep:
            raise click.BadParameter(f"{pair!r}: expected name=value", param_hint="-o")
        if name not in OPTIONS[model]:
            known = "; ".join(f"{k}: {v}" for k, v in OPTIONS[model].items()) or "none"
            raise click.BadParameter(f"unknown option {name!r} for {model}; options: {known}", param_hint="-o")
        options[name] = _convert(value)
    return options


def figure_path(run_file, model: str) -> pathlib.Path:
    """Where the figure of ``model`` fitted to ``run_file`` goes: next to the run file."""
    run_file = pathlib.Path(run_file)
    return run_file.with_name(f"{run_file.stem}-fit-{model}.png")


def _label(pair) -> str:
    name, unit = pair
    return f"{name} ({unit})" if unit else name


def _smooth(result, log_x=False):
    """x and the fitted curve on a fine grid if the result has its model function, else its own."""
    x = np.asarray(result.x, dtype=float)
    if result.function is None or x.size < 2 or result.model == "switching":
        return x, np.asarray(result.curve, dtype=float)
    lo, hi = float(np.min(x)), float(np.max(x))
    fine = np.geomspace(lo, hi, 400) if (log_x and lo > 0) else np.linspace(lo, hi, 400)
    try:
        return fine, result.evaluate(fine)
    except Exception:  # noqa: BLE001 - fall back to the curve at the data
        return x, np.asarray(result.curve, dtype=float)


def _panel_vi(ax, results):
    for result in results:
        line, = ax.loglog(result.x, result.data, "o", ms=3)
        x, y = _smooth(result, log_x=True)
        ax.loglog(x, y, "-", color=line.get_color(), label=f"{result.notes.get('condition', '')}: "
                                                           f"alpha = {result['alpha']:.2f}")
    from matplotlib.ticker import NullFormatter

    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(_label(results[0].x_label))
    ax.set_ylabel(_label(results[0].y_label))
    ax.set_title("V-I power law (markers: data, lines: fits)")
    ax.legend(fontsize=7)


def _panel(ax, result):
    model = result.model
    if model == "switching":
        direction = np.asarray(result.notes.get("direction", np.ones(result.x.size)))
        for sign, name, marker in ((1, "up sweep", "o"), (-1, "down sweep", "s")):
            rows = direction == sign
            if rows.any():
                ax.plot(result.x[rows], result.data[rows], marker, ms=3, mfc="none", label=f"data, {name}")
                ax.plot(result.x[rows], result.curve[rows], "-", lw=1, label=f"two-level fit, {name}")
        for name, value in result.values.items():
            if name.startswith("B_"):
                ax.axvline(value, color="grey", lw=0.6, ls=":")
        ax.set_title(f"switching: Delta R = {result['delta_r']:.4g} Ohm, Delta R/R = {result['delta_r_over_r']:.3g}")
    elif model == "vi-bkt":
        ax.errorbar(result.x, result.data, yerr=result.notes.get("alpha_errors"), fmt="o", ms=4, label="alpha (data)")
        ax.plot(result.x, result.curve, "-", label="linear interpolation")
        ax.axhline(3.0, color="grey", ls="--", lw=0.8, label="alpha = 3")
        if math.isfinite(result["T_BKT"]):
            ax.axvline(result["T_BKT"], color="C3", ls=":", label=f"T_BKT = {result['T_BKT']:.4g} K")
        ax.set_title("V-I exponent alpha(T)")
    else:
        ax.plot(result.x, result.data, "o", ms=3, label="data")
        x, y = _smooth(result)
        ax.plot(x, y, "-", label="fit")
        if model == "bkt-rt":
            ax.axvline(result["Tc0"], color="grey", ls=":", label=f"Tc0 (0.9 R_N) = {result['Tc0']:.4g} K")
            ax.axvline(result["T_BKT"], color="C3", ls=":", label=f"T_BKT = {result['T_BKT']:.4g} K")
        condition = result.notes.get("condition")
        ax.set_title(result.model + (f" ({condition})" if condition else ""), fontsize=9)
    ax.set_xlabel(_label(result.x_label))
    ax.set_ylabel(_label(result.y_label))
    ax.legend(fontsize=7)


def write_figure(results, path) -> pathlib.Path:
    """Data and fitted curve of each result (the V-I fits share one log-log panel), as a PNG."""
    from matplotlib.figure import Figure

    vi = [r for r in results if r.model == "vi-power-law"]
    others = [r for r in results if r.model != "vi-power-law"]
    panels = ([vi] if vi else []) + others
    n = len(panels)
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(5.0 * cols, 3.8 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, panel in zip(axes, panels):
        if isinstance(panel, list):
            _panel_vi(ax, panel)
        else:
            _panel(ax, panel)
    for ax in axes[n:]:
        ax.set_visible(False)
    path = pathlib.Path(path)
    fig.savefig(path, dpi=110)
    return path


@click.command("fit")
@click.argument("model", type=click.Choice(list(MODELS)))
@click.argument("run_files", metavar="RUNFILE...", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=pathlib.Path))
@click.option("--figure/--no-figure", default=True, show_default=True,
              help="Write a PNG with the data and the fitted curve next to the run file.")
@click.option("-o", "--option", "options", multiple=True, metavar="NAME=VALUE",
              help="A fit option (SI units), e.g. -o thickness=12e-9, -o l=0. See docs/analysis.md.")
def fit(model, run_files, figure, options):
    """Fit MODEL to RUNFILE and print each value +- its standard error, with units.

    \b
    Models (run procedure):
      hanle          hanle runs; eq. 3 (a parallel and an antiparallel run
                     together also fit (R_P - R_AP)/2)
      hanle-vortex   hanle runs; eq. 4 (vortices, long channel)
      vi             vi run; alpha(T) and T_BKT where alpha crosses 3
      bkt-rt         rt run; Halperin-Nelson R(T), Tc0 (onset at 0.9 R_N)
      pair-breaking  rt-map run (or several rt runs); Tc(B) -> xi_GL (eq. 2)
      switching      tmr or nl-switch run; switching fields, Delta R, Delta R/R
      didv           didv run; Delta0, Gamma (eq. 1, p wave with zero-bias peak)
    """
    parsed = _parse_options(model, options)
    source = list(run_files) if len(run_files) > 1 else run_files[0]
    from cryo_acq.cli.common import refuse
    from cryo_acq.run.storage import RunFileError

    try:
        results = fit_run(model, source, **parsed)
    except RunFileError as exc:
        refuse(str(exc))
    except (ValueError, KeyError, OSError) as exc:
        raise click.ClickException(f"fit {model} failed: {exc}") from None
    for result in results:
        click.echo(result.summary())
    if figure and results:
        path = write_figure(results, figure_path(run_files[0], model))
        click.echo(f"figure: {path}")
