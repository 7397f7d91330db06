"""Run files against pymeasure's CSV, side by side. Run: python bench/bench_run_files.py

1. Append per point: ``RunFile.append`` (default flush window, 0.25 s) against
   pymeasure's CSV line (``Results.format`` of the row, written and flushed as its
   recorder's file handler does), same five columns, 1e5 and 1e6 points.
   Target: ratio <= 1.0.
2. Load 1e6 rows: ``load_run`` against pymeasure's ``Results.load`` of the same data.
   Target: at least 10x faster.
"""

from __future__ import annotations

import pathlib
import sys
import tempfile
import time

import numpy as np

ROOT = pathlib.Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

from cryo_acq.run.storage import RunFile, load_run  # noqa: E402
from cryo_acq.run.sweeps import Axis, Plan  # noqa: E402

PINT = {"Ohm": "ohm"}  #: pymeasure checks column units with pint
UNITS = {"temperature": "K", "field": "T", "direction": "", "resistance": "Ohm", "time": "s"}


def _rows(n: int):
    rng = np.random.default_rng(1)
    field = np.linspace(-1, 1, n)
    resistance = 100 + rng.standard_normal(n)
    for k in range(n):
        yield {"temperature": 1.5, "field": float(field[k]), "direction": 1.0,
               "resistance": float(resistance[k]), "time": float(k)}


def ours(folder: pathlib.Path, n: int) -> tuple[float, pathlib.Path]:
    plan = Plan(Axis("field", "T", np.linspace(-1, 1, n)))
    path = folder / f"run-{n}.h5"
    run = RunFile.create(path, procedure="bench", parameters={}, units=UNITS, plan=plan)
    rows = _rows(n)
    t0 = time.perf_counter()
    for point, row in zip(plan.pending(run.done), rows):
        run.append(row, point)
    run.close("finished")
    return (time.perf_counter() - t0) / n, path


def pymeasure_csv(folder: pathlib.Path, n: int) -> tuple[float, pathlib.Path]:
    from pymeasure.experiment import Procedure, Results

    class Bench(Procedure):
        DATA_COLUMNS = [f"{c} ({PINT.get(u, u)})" if u else c for c, u in UNITS.items()]

    path = folder / f"run-{n}.csv"
    results = Results(Bench(), str(path))
    keys = Bench.DATA_COLUMNS
    rows = _rows(n)
    with open(path, "a", encoding="utf-8") as fh:
        t0 = time.perf_counter()
        for row in rows:
            fh.write(results.format(dict(zip(keys, row.values()))) + "\n")
            fh.flush()  # the recorder's logging.FileHandler flushes every record
        elapsed = time.perf_counter() - t0
    return elapsed / n, path


def load_pymeasure(path: pathlib.Path) -> float:
    from pymeasure.experiment import Results

    t0 = time.perf_counter()
    results = Results.load(str(path))
    assert len(results.data) > 0
    return time.perf_counter() - t0


def load_ours(path: pathlib.Path) -> float:
    t0 = time.perf_counter()
    run = load_run(path)
    assert len(run.data["resistance"]) > 0
    return time.perf_counter() - t0


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = pathlib.Path(tmp)
        print("1. append per point, 5 columns (run file: default flush window 0.25 s)")
        print(f"   {'points':>9}{'pymeasure CSV us':>18}{'run file us':>13}{'ratio':>8}")
        paths = {}
        for n in (100_000, 1_000_000):
            csv_per, csv_path = pymeasure_csv(folder, n)
            h5_per, h5_path = ours(folder, n)
            paths[n] = (csv_path, h5_path)
            print(f"   {n:>9}{csv_per * 1e6:>18.2f}{h5_per * 1e6:>13.2f}{h5_per / csv_per:>8.2f}")
        csv_path, h5_path = paths[1_000_000]
        print("2. load 1e6 rows")
        t_csv = min(load_pymeasure(csv_path) for _ in range(2))
        t_h5 = min(load_ours(h5_path) for _ in range(3))
        print(f"   pymeasure Results.load {t_csv * 1e3:8.1f} ms   load_run {t_h5 * 1e3:8.1f} ms   "
              f"load_run is {t_csv / t_h5:.1f}x faster")
        print(f"   sizes: CSV {csv_path.stat().st_size / 2**20:.1f} MiB, run file {h5_path.stat().st_size / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
