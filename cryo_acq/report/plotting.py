"""Figures of run files: ``cryo-acq plot RUNFILE`` and the demo's panels.

:func:`plot_run` draws a run file as its procedure asks (``run.metadata["procedure"]``)
and writes a PNG next to it:

==================  =====================================================================
procedure           figure
==================  =====================================================================
rt                  R against T
rt-map              R(T, B) as an image (T across, B up), colour bar
vi                  |V| against I, log-log, one curve per temperature
didv                dI/dV against the junction bias, one curve per temperature / field
tmr, nl-switch      the loop: up and down sweeps in different colours and markers
(any run with a     (``amr`` too)
``direction``)
nl-map              R_NL(B, I_inj) as an image (B across, I_inj up), diverging colours
hanle               R_NL against B_perp, parallel and antiparallel apart
==================  =====================================================================

A 2-D run is drawn from its ``/grid`` (each point at its place, whatever the sweep
direction or snake order) on the set-point axes of its plan, as cells centred on the
set-points (``pcolormesh``). Fits (:class:`cryo_acq.analysis.FitResult`, or the dict of
:func:`cryo_acq.analysis.switching_fields`) are overlaid.

The drawing functions (``draw_*``) take a matplotlib ``Axes``, so the demo composes its
panels from the same pieces. Figures are built with ``matplotlib.figure.Figure`` (no
pyplot state: safe in worker processes and threads).
"""

from __future__ import annotations

import math
import os
import pathlib
from typing import Any, Iterable

import numpy as np

__all__ = ["plot_run", "make_figure", "PlotPath", "draw_loop", "draw_map", "draw_rt", "draw_vi", "draw_didv",
           "draw_hanle", "draw_fit", "scale", "axis_label", "new_figure", "save"]

DPI = 110
STYLE = {"font.size": 9, "axes.titlesize": 9.5, "axes.labelsize": 9, "legend.fontsize": 7.5,
         "axes.grid": True, "grid.alpha": 0.3, "savefig.dpi": DPI, "image.cmap": "viridis"}

#: colours and markers of the two sweep directions (and of parallel / antiparallel)
UP = {"color": "C3", "marker": "o", "label": "up sweep (+1)"}
DOWN = {"color": "C0", "marker": "v", "label": "down sweep (-1)"}
FIT = {"color": "k", "lw": 1.2, "ls": "--"}

# --------------------------------------------------------------------------- units and labels
_PREFIXES = {"G": 1e9, "M": 1e6, "k": 1e3, "": 1.0, "m": 1e-3, "µ": 1e-6, "n": 1e-9, "p": 1e-12}
#: the prefixes offered per unit (others keep the SI unit)
_ALLOWED = {"T": ("", "m"), "K": ("", "m"), "A": ("m", "µ", "n", "p"), "V": ("", "m", "µ", "n"),
            "Ohm": ("M", "k", "", "m"), "S": ("", "m", "µ", "n"), "s": ("", "m", "µ")}
_SYMBOL = {"Ohm": "Ω", "ohm": "Ω", "1/K": "1/K"}

#: column -> (quantity, symbol)
LABELS = {
    "temperature": ("temperature", "T"),
    "field": ("field", "B"),
    "field_perp": ("out-of-plane field", "$B_\\perp$"),
    "resistance": ("resistance dV/dI", "R"),
    "r_nonlocal": ("non-local resistance", "$R_{NL}$"),
    "didv": ("dI/dV", ""),
    "bias_voltage": ("junction bias voltage", "V"),
    "bias_current": ("DC bias current", "I"),
    "injection_current": ("injection current", "$I_{inj}$"),
    "current": ("DC current", "I"),
    "voltage": ("voltage", "V"),
    "direction": ("sweep direction", ""),
    "alignment": ("alignment", ""),
    "time": ("station time", "t"),
}


def scale(values, unit: str) -> tuple[float, str]:
    """(factor, unit text) to show ``values`` (SI, in ``unit``) with a readable prefix:
    0.05 T -> mT, 5e-6 A -> µA, 5911 Ohm -> kΩ, 2e-4 S -> µS."""
    symbol = _SYMBOL.get(unit, unit)
    allowed = _ALLOWED.get(unit)
    v = np.asarray(values, dtype=float)
    v = np.abs(v[np.isfinite(v)])
    if not allowed or v.size == 0 or not v.max() > 0:
        return 1.0, symbol
    top = float(v.max())
    if unit in ("T", "K"):  # tesla and kelvin: the milli prefix only well below 1
        prefix = "m" if top < 0.3 else ""
        return 1.0 / _PREFIXES[prefix], prefix + symbol
    for prefix in sorted(allowed, key=lambda p: -_PREFIXES[p]):  # largest first
        if top / _PREFIXES[prefix] >= 1.0:
            return 1.0 / _PREFIXES[prefix], prefix + symbol
    prefix = min(allowed, key=lambda p: _PREFIXES[p])
    return 1.0 / _PREFIXES[prefix], prefix + symbol


def axis_label(column: str, unit_text: str, run=None) -> str:
    """"quantity symbol (unit)" for a canonical column."""
    quantity, symbol = LABELS.get(column, (column.replace("_", " "), ""))
    if column == "field" and run is not None:
        quantity = {"x": "in-plane field (x, easy axis)", "z": "out-of-plane field (z)",
                    "y": "in-plane field (y)"}.get(_field_axis(run), "field")
        symbol = "$B_\\perp$" if _field_axis(run) == "z" else "$B_\\parallel$"
    text = f"{quantity} {symbol}".strip()
    return f"{text} ({unit_text})" if unit_text else text


def _field_axis(run) -> str:
    return str(run.parameter("axis", "x"))



def _unit(run, column: str) -> str:
    return run.units.get(column, "")


# --------------------------------------------------------------------------- figures
def new_figure(width: float = 6.4, height: float = 4.4, rows: int = 1, cols: int = 1, **kwargs):
    """A ``matplotlib.figure.Figure`` with the house style and its axes (``squeeze``d)."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(width, height), layout="constrained")
        axes = fig.subplots(rows, cols, **kwargs)
    return fig, axes


def save(fig, path) -> pathlib.Path:
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    return path


def _style():
    import matplotlib

    return matplotlib.rc_context(STYLE)


class PlotPath(type(pathlib.Path())):
    """The path of a written figure (a ``pathlib.Path``), carrying what was drawn in
    ``.data``: for an image ``{"kind": "image", "column", "image" (the array drawn, grid
    shape outer x inner), "x", "y" (set-points of the inner / outer axis), ...}``; for
    curves ``{"kind": "lines", "lines": {label: (x, y)}}`` (both in SI units)."""

    data: dict | None = None


def _edges(values: np.ndarray) -> np.ndarray:
    """Cell edges around set-points (any order, monotonic): midpoints, the ends mirrored."""
    v = np.asarray(values, dtype=float)
    if v.size == 1:
        half = 0.5 * (abs(v[0]) * 0.1 or 1.0)
        return np.array([v[0] - half, v[0] + half])
    mid = 0.5 * (v[1:] + v[:-1])
    return np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])


def _plan_axes(run) -> list[dict]:
    return list(run.plan.get("axes", []))


# --------------------------------------------------------------------------- drawing pieces
def draw_map(ax, run, column: str, cmap: str | None = None, diverging: bool = False, colorbar: bool = True,
             colorbar_label: str | None = None):
    """A 2-D run's ``/grid[column]`` as cells on its plan's set-points: inner axis across, outer
    axis up; a colour bar. Returns (mesh, data dict)."""
    from matplotlib.colors import TwoSlopeNorm

    outer, inner = _plan_axes(run)[:2]
    grid = np.asarray(run.grid[column], dtype=float)
    x, y = np.asarray(inner["values"], dtype=float), np.asarray(outer["values"], dtype=float)
    fx, ux = scale(x, inner["unit"])
    fy, uy = scale(y, outer["unit"])
    finite = grid[np.isfinite(grid)]
    uz = _SYMBOL.get(_unit(run, column), _unit(run, column))  # SI: the image is the grid itself
    image = np.ma.masked_invalid(grid)
    norm = None
    if diverging and finite.size and finite.min() < 0 < finite.max():
        lim = float(np.max(np.abs(finite)))
        norm = TwoSlopeNorm(vcenter=0.0, vmin=-lim, vmax=lim)
    mesh = ax.pcolormesh(_edges(x) * fx, _edges(y) * fy, image, shading="flat", norm=norm,
                         cmap=cmap or ("RdBu_r" if norm is not None else "viridis"), rasterized=True)
    ax.set_xlabel(axis_label(inner["name"], ux, run))
    ax.set_ylabel(axis_label(outer["name"], uy, run))
    ax.grid(False)
    if colorbar:
        ax.figure.colorbar(mesh, ax=ax, label=colorbar_label or axis_label(column, uz, run))
    drawn = np.ma.filled(np.ma.asarray(mesh.get_array(), dtype=float), np.nan).reshape(grid.shape)
    return mesh, {"kind": "image", "column": column, "image": drawn, "x": x, "y": y,
                  "x_axis": inner["name"], "y_axis": outer["name"], "x_unit": inner["unit"], "y_unit": outer["unit"]}


def draw_loop(ax, run, column: str | None = None, x_factor: float | None = None, y_factor: float | None = None,
              labels: tuple[str, str] | None = None, ms: float = 3.0, offset: float = 0.0, **style):
    """A field loop: the up (+1) and down (-1) sweeps in different colours and markers.
    Returns {label: (x, y)} in SI units."""
    column = column or ("resistance" if "resistance" in run.data else "r_nonlocal")
    b, r, d = run.data["field"], run.data[column], run.data["direction"]
    fx = x_factor if x_factor is not None else scale(b, "T")[0]
    fy = y_factor if y_factor is not None else scale(r, _unit(run, column))[0]
    lines = {}
    for sign, spec, label in ((1, UP, labels[0] if labels else None), (-1, DOWN, labels[1] if labels else None)):
        rows = d == sign
        if not rows.any():
            continue
        kw = {"color": spec["color"], "marker": spec["marker"], "ms": ms, "lw": 0.8,
              "label": label or spec["label"], **style}
        ax.plot(b[rows] * fx, (r[rows] + offset) * fy, "-", **kw)
        lines[kw["label"]] = (b[rows], r[rows])
    return lines


def draw_rt(ax, run, x_factor=1.0, y_factor=None, label=None, **style):
    t, r = run.data["temperature"], run.data["resistance"]
    fy = y_factor if y_factor is not None else scale(r, "Ohm")[0]
    ax.plot(t * x_factor, r * fy, "o-", ms=2.5, lw=0.9, label=label, **style)
    return {label or "R(T)": (t, r)}


def _rows(run, columns: Iterable[str]):
    """(outer set-point, {column: values}) per measured row of a 2-D run."""
    columns = list(columns)
    outer = _plan_axes(run)[0]
    for k, value in enumerate(outer["values"]):
        row = {c: np.asarray(run.grid[c][k], dtype=float) for c in columns}
        if np.any(np.isfinite(row[columns[-1]])):
            yield float(value), row


def draw_vi(ax, run, cmap="turbo", legend=True, every: int = 1):
    """|V| against I, log-log, one curve per temperature (warm red, cold blue)."""
    import matplotlib

    rows = list(_rows(run, ["temperature", "current", "voltage"]))
    rows = sorted(rows, key=lambda item: float(np.nanmean(item[1]["temperature"])))[::every]
    colours = matplotlib.colormaps[cmap](np.linspace(0.05, 0.95, max(len(rows), 2)))  # cold blue, warm red
    lines = {}
    for (t_set, row), c in zip(rows, colours):
        i, v = row["current"], np.abs(row["voltage"])
        ok = np.isfinite(i) & np.isfinite(v) & (i > 0) & (v > 0)
        t = float(np.nanmean(row["temperature"]))
        label = f"{t:.2f} K"
        ax.loglog(i[ok] * 1e6, v[ok], "o-", ms=2, lw=0.8, color=c, label=label)
        lines[label] = (i[ok], v[ok])
    ax.set_xlabel(axis_label("current", "µA"))
    ax.set_ylabel(axis_label("voltage", "V"))
    if legend:
        ax.legend(ncol=2, fontsize=6.5, loc="lower right", title="T (measured)", title_fontsize=7)
    return lines


def outer_axis(run) -> str:
    """The name of the outer axis of a run's plan (didv: temperature or field)."""
    return run.plan["axes"][0]["name"]


def draw_didv(ax, run, cmap="plasma", offset: float = 0.0, legend=True):
    """dI/dV (µS) against the junction bias (mV), one curve per outer value; ``offset`` (S)
    shifts successive curves up."""
    import matplotlib

    versus = outer_axis(run)
    rows = list(_rows(run, [versus, "bias_voltage", "didv"]))
    colours = matplotlib.colormaps[cmap](np.linspace(0, 0.8, max(len(rows), 2)))
    lines = {}
    for k, ((setpoint, row), c) in enumerate(zip(rows, colours)):
        unit = "K" if versus == "temperature" else "T"
        label = f"{np.nanmean(row[versus]):.2f} {unit}" if versus == "temperature" else f"{setpoint:g} T"
        ax.plot(row["bias_voltage"] * 1e3, (row["didv"] + k * offset) * 1e6, "o-", ms=1.8, lw=0.8, color=c,
                label=label)
        lines[label] = (row["bias_voltage"], row["didv"])
    ax.set_xlabel(axis_label("bias_voltage", "mV") + "  [SMU]")
    ax.set_ylabel("dI/dV (µS)" + (f", curves offset by {offset * 1e6:g} µS" if offset else "") + "  [lock-in]")
    if legend:
        ax.legend(fontsize=6.5, title=("T" if versus == "temperature" else "$B_\\parallel$"), title_fontsize=7)
    return lines


def draw_hanle(ax, run, y_factor=1.0, label=None, **style):
    """R_NL against B_perp; parallel red circles, antiparallel blue squares."""
    b, r = run.data["field_perp"], run.data["r_nonlocal"]
    alignment = int(np.nanmedian(run.data["alignment"])) if run.data["alignment"].size else 1
    spec = {"color": "C3", "marker": "o"} if alignment > 0 else {"color": "C0", "marker": "s"}
    label = label or ("parallel" if alignment > 0 else "antiparallel")
    ax.plot(b, r * y_factor, "-", label=label, **{"ms": 2.2, "lw": 0.7, **spec, **style})
    return {label: (b, r)}


def draw_fit(ax, fit, x_factor=1.0, y_factor=1.0, swap=False, label=None, fine=True, **style):
    """The fitted curve of a FitResult (on a fine grid when it carries its model function);
    ``swap`` draws (curve, x). A switching dict or result draws its switching fields."""
    if isinstance(fit, dict) or getattr(fit, "model", "") == "switching":
        return _draw_switches(ax, fit, x_factor)
    x = np.asarray(fit.x, dtype=float)
    y = np.asarray(fit.curve, dtype=float)
    if fine and getattr(fit, "function", None) is None and "fine" in getattr(fit, "notes", {}):
        x, y = (np.asarray(a, dtype=float) for a in fit.notes["fine"])  # sampled before it left its process
    elif fine and getattr(fit, "function", None) is not None and x.size > 1:
        log = fit.notes.get("log") == "xy" and x.min() > 0
        xs = np.geomspace(x.min(), x.max(), 300) if log else np.linspace(x.min(), x.max(), 300)
        try:
            x, y = xs, fit.evaluate(xs)
        except Exception:  # noqa: BLE001 - the curve at the data will do
            pass
    kw = {**FIT, **style}
    if label is not None:
        kw["label"] = label
    if swap:
        ax.plot(y * y_factor, x * x_factor, **kw)
    else:
        ax.plot(x * x_factor, y * y_factor, **kw)
    return x, y


def _draw_switches(ax, fit, x_factor):
    if isinstance(fit, dict):
        up, down = list(fit.get("up", [])), list(fit.get("down", []))
    else:
        up = [v for k, v in fit.values.items() if k.startswith("B_up_")]
        down = [v for k, v in fit.values.items() if k.startswith("B_down_")]
    if len(up) > 4 or len(down) > 4:  # noise crossing the threshold: no bistable switching to mark
        return None
    for values, spec in ((up, UP), (down, DOWN)):
        for k, b in enumerate(values):
            ax.axvline(b * x_factor, color=spec["color"], ls=":", lw=1,
                       label=f"switching fields, {spec['label'].split(' (')[0]}" if k == 0 else None)
    return up, down


def _title(run, extra: str = "") -> str:
    name = pathlib.Path(run.path).name
    status = "" if run.status == "finished" else f"  [{run.status}]"
    return f"{run.metadata.get('procedure', '?')}: {name}{status}" + (f"\n{extra}" if extra else "")


def _condition(run) -> str:
    parts = []
    for name, unit, fmt in (("temperature", "K", "{:g}"), ("current", "µA", None), ("injection_current", "µA", None),
                            ("channel", "", "{}"), ("alignment", "", "{}"), ("field", "T", "{:g}")):
        value = run.parameter(name)
        if value is None or (name == "temperature" and run.metadata.get("procedure") in ("rt", "rt-map", "vi")):
            continue
        if name == "field" and run.metadata.get("procedure") not in ("rt",):
            continue
        if unit == "µA":
            parts.append(f"{name.replace('_', ' ')} {float(value) * 1e6:g} µA")
        else:
            parts.append(f"{name} {fmt.format(value)}{(' ' + unit) if unit else ''}")
    return ", ".join(parts)


# --------------------------------------------------------------------------- per procedure
def _fits_list(fits) -> list:
    if fits is None:
        return []
    if isinstance(fits, (list, tuple)):
        return list(fits)
    return [fits]


def _plot_rt(fig, ax, run, fits):
    fy, uy = scale(run.data["resistance"], "Ohm")
    lines = draw_rt(ax, run, y_factor=fy, label="data", color="C0")
    for fit in fits:
        if getattr(fit, "model", "") == "bkt-rt":
            draw_fit(ax, fit, y_factor=fy, label=f"BKT fit: $T_{{BKT}}$ = {fit['T_BKT']:.3f} K, "
                                                 f"$T_{{c0}}$ = {fit['Tc0']:.3f} K")
        else:
            draw_fit(ax, fit, y_factor=fy, label=f"fit ({getattr(fit, 'model', '')})")
    ax.set_xlabel(axis_label("temperature", "K"))
    ax.set_ylabel(axis_label("resistance", uy) + "  [lock-in]")
    ax.legend()
    return {"kind": "lines", "lines": lines}


def _plot_map(fig, ax, run, fits):
    procedure = run.metadata.get("procedure")
    if procedure == "nl-map":
        mesh, data = draw_map(ax, run, "r_nonlocal", diverging=True)
    else:
        column = "resistance" if "resistance" in run.grid else [c for c in run.grid if c != "time"][-1]
        mesh, data = draw_map(ax, run, column)
    outer, inner = _plan_axes(run)[:2]
    fx = scale(inner["values"], inner["unit"])[0]
    fy = scale(outer["values"], outer["unit"])[0]
    for fit in fits:
        if getattr(fit, "y_label", ("",))[0] == "Tc" and inner["name"] == "temperature":
            draw_fit(ax, fit, x_factor=fy, y_factor=fx, swap=True, color="w", label="pair-breaking fit $T_c(B)$")
            ax.plot(np.asarray(fit.data) * fx, np.asarray(fit.x) * fy, "o", color="w", mec="k", ms=4,
                    label="$T_c$ (0.9 $R_N$)")
            ax.legend(loc="upper right")
    return data


def _plot_vi(fig, ax, run, fits):
    lines = draw_vi(ax, run)
    power = [f for f in fits if getattr(f, "model", "") == "vi-power-law"]
    for k, fit in enumerate(power):
        draw_fit(ax, fit, x_factor=1e6, label="power-law fits $V \\propto I^\\alpha$" if k == 0 else None, lw=1.0)
    if power:
        ax.legend(ncol=2, fontsize=6.5, loc="lower right")
    return {"kind": "lines", "lines": lines}


def _plot_didv(fig, ax, run, fits):
    lines = draw_didv(ax, run)
    for k, fit in enumerate(f for f in fits if str(getattr(f, "model", "")).startswith("didv")):
        draw_fit(ax, fit, x_factor=1e3, y_factor=1e6, label="eq. 1 fits" if k == 0 else None, lw=0.9)
    ax.legend(fontsize=6.5)
    return {"kind": "lines", "lines": lines}


def _plot_loop(fig, ax, run, fits):
    column = "resistance" if "resistance" in run.data else "r_nonlocal"
    fx, ux = scale(run.data["field"], "T")
    fy, uy = scale(run.data[column], _unit(run, column))
    lines = draw_loop(ax, run, column, fx, fy)
    for fit in fits:
        draw_fit(ax, fit, x_factor=fx, y_factor=fy)
        levels = ((fit.get("r_parallel"), fit.get("r_antiparallel")) if isinstance(fit, dict) else
                  (fit.values.get("r_parallel"), fit.values.get("r_antiparallel"))
                  if getattr(fit, "model", "") == "switching" else (None, None))
        for level, name in zip(levels, ("P", "AP")):
            if level is not None and _switches_ok(fit):
                ax.axhline(level * fy, color="grey", lw=0.7, ls="--")
                ax.annotate(name, (1.0, level * fy), xycoords=("axes fraction", "data"), fontsize=7,
                            ha="right", va="bottom", color="grey")
    ax.set_xlabel(axis_label("field", ux, run) if "field_perp" not in run.data else "")
    ax.set_ylabel(axis_label(column, uy) + "  [lock-in]")
    ax.legend()
    return {"kind": "lines", "lines": lines}


def _switches_ok(fit) -> bool:
    if isinstance(fit, dict):
        return len(fit.get("up", [])) <= 4 and len(fit.get("down", [])) <= 4
    return sum(k.startswith("B_") for k in fit.values) <= 8


def _plot_hanle(fig, ax, run, fits):
    fy, uy = scale(run.data["r_nonlocal"], "Ohm")
    lines = draw_hanle(ax, run, y_factor=fy)
    for fit in fits:
        model = getattr(fit, "model", "fit")
        extra = f", $\\lambda_s$ = {fit['lambda_s'] * 1e6:.3g} µm" if "lambda_s" in getattr(fit, "values", {}) else ""
        draw_fit(ax, fit, y_factor=fy, label=f"{model}{extra}")
    ax.axhline(0.0, color="k", lw=0.5)
    ax.set_xlabel(axis_label("field_perp", "T"))
    ax.set_ylabel(axis_label("r_nonlocal", uy) + "  [lock-in]")
    ax.legend()
    return {"kind": "lines", "lines": lines}


def _plot_generic(fig, ax, run, fits):
    if run.grid and len(_plan_axes(run)) == 2:
        column = [c for c in run.grid if c != "time"][-1]
        _, data = draw_map(ax, run, column)
        return data
    columns = [c for c in run.data if c != "time"]
    x = columns[0]
    lines = {}
    for c in columns[1:]:
        ax.plot(run.data[x], run.data[c], "o-", ms=2.5, lw=0.8, label=axis_label(c, _unit(run, c)))
        lines[c] = (run.data[x], run.data[c])
    for fit in fits:
        draw_fit(ax, fit)
    ax.set_xlabel(axis_label(x, _unit(run, x)))
    ax.legend()
    return {"kind": "lines", "lines": lines}


_PLOTTERS = {"rt": _plot_rt, "rt-map": _plot_map, "nl-map": _plot_map, "vi": _plot_vi, "didv": _plot_didv,
             "tmr": _plot_loop, "nl-switch": _plot_loop, "amr": _plot_loop, "hanle": _plot_hanle}

_TITLES = {"rt": "four-probe R-T", "rt-map": "R(T, B) map", "vi": "V-I (SMU DC)", "didv": "tunnelling dI/dV",
           "tmr": "TMR loop", "amr": "AMR loop of the Co stripe", "nl-switch": "non-local switching loop",
           "nl-map": "non-local map $R_{NL}(B_\\parallel, I_{inj})$", "hanle": "Hanle precession"}


# --------------------------------------------------------------------------- fits alone
def _pair_label(pair) -> str:
    name, unit = pair
    return f"{name} ({unit})" if unit else name


def _fit_panel_vi(ax, results):
    for result in results:
        line, = ax.loglog(result.x, result.data, "o", ms=3)
        draw_fit(ax, result, color=line.get_color(), ls="-", lw=1.0,
                 label=f"{result.notes.get('condition', '')}: alpha = {result['alpha']:.2f}")
    from matplotlib.ticker import NullFormatter

    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(_pair_label(results[0].x_label))
    ax.set_ylabel(_pair_label(results[0].y_label))
    ax.set_title("V-I power law (markers: data, lines: fits)")
    ax.legend(fontsize=7)


def _fit_panel(ax, result):
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
        draw_fit(ax, result, color="C1", ls="-", lw=1.2, label="fit")
        if model == "bkt-rt":
            ax.axvline(result["Tc0"], color="grey", ls=":", label=f"Tc0 (0.9 R_N) = {result['Tc0']:.4g} K")
            ax.axvline(result["T_BKT"], color="C3", ls=":", label=f"T_BKT = {result['T_BKT']:.4g} K")
        condition = result.notes.get("condition")
        ax.set_title(result.model + (f" ({condition})" if condition else ""), fontsize=9)
    ax.set_xlabel(_pair_label(result.x_label))
    ax.set_ylabel(_pair_label(result.y_label))
    ax.legend(fontsize=7)


def plot_fits(results, path) -> pathlib.Path:
    """``cryo-acq fit --figure``: data and fitted curve of each FitResult (the V-I fits
    share one log-log panel), as a PNG at ``path``."""
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
            _fit_panel_vi(ax, panel)
        else:
            _fit_panel(ax, panel)
    for ax in axes[n:]:
        ax.set_visible(False)
    path = pathlib.Path(path)
    fig.savefig(path, dpi=110)
    return path



def make_figure(run_or_path, fits=None):
    """The figure of a run (not saved): ``(figure, data)``, ``data`` as :class:`PlotPath`."""
    from cryo_acq.run.storage import Run, load_run

    run = run_or_path if isinstance(run_or_path, Run) else load_run(run_or_path)
    procedure = run.metadata.get("procedure", "")
    plotter = _PLOTTERS.get(procedure)
    if plotter is None:
        plotter = _plot_loop if "direction" in run.data else _plot_generic
    fig, ax = new_figure(6.4, 4.6)
    with _style():
        data = plotter(fig, ax, run, _fits_list(fits))
        condition = _condition(run)
        ax.set_title(_title(run, " - ".join(p for p in (_TITLES.get(procedure, ""), condition) if p)))
    data = {**data, "procedure": procedure, "axes": ax}
    return fig, data


def plot_run(run_or_path, fits=None, out=None) -> PlotPath:
    """Draw a run file as its procedure asks and write a PNG (default: next to the run file,
    ``<run>.png``). ``fits``: a FitResult, a list of them, or a switching-fields dict, to
    overlay. Returns the PNG's path (:class:`PlotPath`; ``.data`` holds what was drawn)."""
    from cryo_acq.run.storage import Run

    fig, data = make_figure(run_or_path, fits)
    source = pathlib.Path(run_or_path.path if isinstance(run_or_path, Run) else run_or_path)
    target = pathlib.Path(out) if out is not None else source.with_suffix(".png")
    if target.is_dir():
        target = target / (source.stem + ".png")
    save(fig, target)
    data.pop("axes", None)  # the figure is done with; keep the arrays
    path = PlotPath(os.fspath(target))
    path.data = data
    return path


def describe(data: dict[str, Any]) -> str:
    """One line on what a plot drew (for the command line)."""
    if data.get("kind") == "image":
        return f"image of {data['column']} ({data['image'].shape[0]} x {data['image'].shape[1]})"
    return f"{len(data.get('lines', {}))} curve(s)"


def _finite(x) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False
