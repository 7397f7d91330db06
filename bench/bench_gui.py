"""Plot refresh cost: this GUI's memory-fed plots vs stock pymeasure Results/CSV.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_gui.py [--quick]

Curves: a run of N rows (10k, 100k, 1M) is on display; 5 new rows arrive; one
refresh is timed, as the GUI's timer does it:

* stock: pymeasure's ``ResultsCurve.update_data()`` on a ``Results`` whose CSV file
  the rows were appended to (what pymeasure's Recorder does) -- it re-reads the
  file and re-plots every point;
* this GUI: ``LiveCurve.refresh()`` on a ``RunBuffer`` the rows were appended to
  (what the worker's ``on_progress`` does) -- it copies the new rows and redraws a
  display set bounded by ``DISPLAY_LIMIT``.

"update" is the refresh call; "+ draw" adds the repaint of the plot widget (an
offscreen ``grab()``, i.e. the rasterising a screen refresh would cost).

Images: a 2-D map of 200 x 200 (and the 201 x 161 of the spec) with all but the
last 5 points measured; 5 more arrive; one refresh of pymeasure's ``ResultsImage``
(a Python loop over every row) vs ``LiveImage.refresh()``.
Median of several repetitions; milliseconds.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import cryo_acq.gui  # noqa: E402,F401  (Qt, with the PySide6 None-refcount guard)
from cryo_acq.gui.plots import CurveTab, MapTab, PlanAxis, PlanInfo, RunBuffer  # noqa: E402
from pymeasure.display.widgets import ImageWidget, PlotWidget  # noqa: E402
from pymeasure.experiment import FloatParameter, Procedure, Results  # noqa: E402
from qtpy import QtWidgets  # noqa: E402


class CurveProcedure(Procedure):
    DATA_COLUMNS = ["field", "resistance"]


class MapProcedure(Procedure):
    """pymeasure's ResultsImage needs <x>_start/_end/_step parameters for its axes."""

    X_start = FloatParameter("X start", default=0.0)
    X_end = FloatParameter("X end", default=1.0)
    X_step = FloatParameter("X step", default=0.01)
    Y_start = FloatParameter("Y start", default=0.0)
    Y_end = FloatParameter("Y end", default=1.0)
    Y_step = FloatParameter("Y step", default=0.01)
    DATA_COLUMNS = ["X", "Y", "Z"]


class _Results:  # what LiveCurve / LiveImage need of the GUI's RunResults
    def __init__(self, buffer):
        self.buffer = buffer


def _median_ms(samples) -> float:
    return 1e3 * statistics.median(samples)


def _append_csv(path, rows: np.ndarray) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        np.savetxt(fh, rows, delimiter=",", fmt="%.10g")


def bench_curves(app, n: int, repeats: int, tmp: pathlib.Path) -> dict:
    rng = np.random.default_rng(0)
    total = n + 5 * (repeats + 1)
    field = np.linspace(-1, 1, total)
    resistance = 100 + np.tanh(field * 5) + 0.01 * rng.standard_normal(total)
    data = np.column_stack([field, resistance])
    out = {}

    # --- stock pymeasure: Results over a CSV file, ResultsCurve in its PlotWidget
    procedure = CurveProcedure()
    path = tmp / f"stock-{n}.csv"
    results = Results(procedure, str(path))
    _append_csv(path, data[:n])
    widget = PlotWidget("stock", CurveProcedure.DATA_COLUMNS, "field", "resistance")
    widget.resize(900, 600)
    widget.show()
    curve = widget.new_curve(results)
    widget.load(curve)  # first full read
    app.processEvents()
    widget.grab()
    update, draw = [], []
    for k in range(repeats):
        _append_csv(path, data[n + 5 * k: n + 5 * (k + 1)])  # what the Recorder writes
        t0 = time.perf_counter()
        curve.update_data()
        t1 = time.perf_counter()
        app.processEvents()
        widget.grab()
        t2 = time.perf_counter()
        update.append(t1 - t0)
        draw.append(t2 - t0)
    out["stock"] = (_median_ms(update), _median_ms(draw))
    widget.close()

    # --- this GUI: RunBuffer in memory, LiveCurve in a CurveTab
    info = PlanInfo([PlanAxis("field", "T", np.linspace(-1, 1, 3))])
    buffer = RunBuffer(["field", "resistance"], info, capacity=total)
    buffer.extend({"field": field[:n], "resistance": resistance[:n]}, np.arange(n))
    tab = CurveTab("ours", ["field", "resistance"], {"field": "T", "resistance": "Ohm"}, "field", "resistance")
    tab.timer.stop()
    tab.resize(900, 600)
    tab.show()
    live = tab.new_curve(_Results(buffer))
    tab.load(live)
    app.processEvents()
    tab.grab()
    update, draw = [], []
    for k in range(repeats):
        sl = slice(n + 5 * k, n + 5 * (k + 1))
        buffer.extend({"field": field[sl], "resistance": resistance[sl]}, np.arange(sl.start, sl.stop))
        t0 = time.perf_counter()
        live.refresh()
        t1 = time.perf_counter()
        app.processEvents()
        tab.grab()
        t2 = time.perf_counter()
        update.append(t1 - t0)
        draw.append(t2 - t0)
    out["ours"] = (_median_ms(update), _median_ms(draw))
    out["drawn_points"] = len(live.branches[0].item.getData()[0])
    tab.close()
    return out


def bench_image(app, nx: int, ny: int, repeats: int, stock_repeats: int, tmp: pathlib.Path) -> dict:
    xs = np.linspace(0, 1, nx)
    ys = np.linspace(0, 1, ny)
    X, Y = np.meshgrid(xs, ys)  # rows: y (outer), columns: x (inner)
    Z = np.sin(6 * X) * np.cos(4 * Y)
    rows = np.column_stack([X.ravel(), Y.ravel(), Z.ravel()])
    total = rows.shape[0]
    first = total - 5 * max(repeats, stock_repeats)
    out = {}

    # --- stock pymeasure: ResultsImage over the CSV
    procedure = MapProcedure()
    procedure.set_parameters({"X_start": 0.0, "X_end": 1.0, "X_step": 1.0 / (nx - 1),
                              "Y_start": 0.0, "Y_end": 1.0, "Y_step": 1.0 / (ny - 1)})
    path = tmp / f"stock-map-{nx}x{ny}.csv"
    results = Results(procedure, str(path))
    _append_csv(path, rows[:first])
    widget = ImageWidget("stock", MapProcedure.DATA_COLUMNS, "X", "Y", "Z")
    widget.resize(900, 700)
    widget.show()
    image = widget.new_curve(results)
    widget.load(image)
    app.processEvents()
    times = []
    for k in range(stock_repeats):
        _append_csv(path, rows[first + 5 * k: first + 5 * (k + 1)])
        t0 = time.perf_counter()
        image.update_data()
        app.processEvents()
        widget.grab()
        times.append(time.perf_counter() - t0)
    out["stock"] = _median_ms(times)
    widget.close()

    # --- this GUI: grid filled by index in the RunBuffer, LiveImage in a MapTab
    info = PlanInfo([PlanAxis("y", "", ys), PlanAxis("x", "", xs)])
    buffer = RunBuffer(["x", "y", "z"], info, capacity=total)

    class P:  # a plan point: index and grid position
        def __init__(self, k):
            self.index, self.grid = k, divmod(k, nx)

    for k in range(first):
        buffer.append({"x": rows[k, 0], "y": rows[k, 1], "z": rows[k, 2]}, P(k))
    tab = MapTab("ours", ["x", "y", "z"], {}, "z")
    tab.timer.stop()
    tab.resize(900, 700)
    tab.show()
    live = tab.new_curve(_Results(buffer))
    tab.load(live)
    app.processEvents()
    tab.grab()
    update, draw = [], []
    for k in range(repeats):
        for j in range(first + 5 * k, first + 5 * (k + 1)):
            buffer.append({"x": rows[j, 0], "y": rows[j, 1], "z": rows[j, 2]}, P(j))
        t0 = time.perf_counter()
        live.refresh()
        t1 = time.perf_counter()
        app.processEvents()
        tab.grab()
        t2 = time.perf_counter()
        update.append(t1 - t0)
        draw.append(t2 - t0)
    out["ours"] = (_median_ms(update), _median_ms(draw))
    np.testing.assert_array_equal(np.isfinite(live.image).sum(), first + 5 * repeats)
    tab.close()
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="GUI plot refresh benchmark")
    parser.add_argument("--quick", action="store_true", help="10k and 100k curves only, fewer repetitions")
    args = parser.parse_args(argv)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="bench-gui-"))
    sizes = (10_000, 100_000) if args.quick else (10_000, 100_000, 1_000_000)
    repeats = 5 if args.quick else 9

    print("Curve refresh after 5 new rows (median ms; '+ draw' includes repainting the plot)")
    print(f"| rows | stock update | stock + draw | GUI update | GUI + draw | GUI points drawn |")
    print(f"|---:|---:|---:|---:|---:|---:|")
    for n in sizes:
        r = bench_curves(app, n, repeats if n < 1_000_000 else max(3, repeats // 2), tmp)
        print(f"| {n:,} | {r['stock'][0]:.1f} | {r['stock'][1]:.1f} | {r['ours'][0]:.2f} | {r['ours'][1]:.1f} "
              f"| {r['drawn_points']:,} |", flush=True)

    print()
    print("Image refresh after 5 new points (median ms)")
    print("| map | stock ResultsImage update + draw | GUI update | GUI + draw |")
    print("|---|---:|---:|---:|")
    for nx, ny in ((200, 200), (201, 161)):
        r = bench_image(app, nx, ny, repeats, 1 if args.quick else 3, tmp)
        print(f"| {nx} x {ny} | {r['stock']:.0f} | {r['ours'][0]:.2f} | {r['ours'][1]:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
