"""Benchmark of ``cryo-acq demo``: simulated lab time per wall-clock second.

Run: python bench/bench_demo.py [--jobs 2] [--quick] [--out DIR]

Runs the whole demo (the paper's campaign on the simulated stations, the fits, the
figures, summary.md) and prints, side by side, the wall time and the lab time it
simulated: the total station time of all run files (``station_seconds`` of each,
read back from the files) divided by the demo's wall time. Also per station, and
the share of the wall time the measurements themselves took (summed over workers).
The acceptance target: the full demo in under 3 minutes on two cores.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

from cryo_acq.report.demo import run_demo  # noqa: E402
from cryo_acq.run.storage import load_run  # noqa: E402


def bench(out: pathlib.Path, jobs: int, quick: bool) -> dict:
    t0 = time.perf_counter()
    summary = run_demo(out, jobs=jobs, quick=quick)
    wall = time.perf_counter() - t0
    text = summary.read_text(encoding="utf-8")
    files = [summary.parent / link for link in re.findall(r"\]\((runs/[^)]+\.h5)\)", text)]
    lab, per_station, points = 0.0, {}, 0
    for path in files:
        run = load_run(path)
        seconds = float(run.metadata["station_seconds"])
        station = run.station_file.split("name:")[1].split()[0]
        per_station[station] = per_station.get(station, 0.0) + seconds
        lab += seconds
        points += int(run.done.sum())
    return {"wall": wall, "lab": lab, "per_station": per_station, "runs": len(files), "points": points,
            "summary": summary}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--quick", action="store_true", help="the reduced campaign of the tests")
    parser.add_argument("--out", default=None, help="output folder (default: a temporary one, removed)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        out = pathlib.Path(args.out) if args.out else pathlib.Path(scratch) / "demo"
        r = bench(out, args.jobs, args.quick)
    campaign = "quick" if args.quick else "full"
    print(f"cryo-acq demo ({campaign} campaign), {args.jobs} worker(s), {os.cpu_count()} CPU(s)")
    print(f"  {r['runs']} runs, {r['points']} points")
    print(f"  {'wall time':<28} {r['wall']:10.1f} s   (target < 180 s)")
    print(f"  {'lab time simulated':<28} {r['lab']:10.0f} s = {r['lab'] / 3600:.1f} h")
    print(f"  {'lab time per wall second':<28} {r['lab'] / r['wall']:10.0f}")
    for station, seconds in sorted(r["per_station"].items()):
        print(f"    {station:<26} {seconds / 3600:10.1f} h of lab time")
    if args.out:
        print(f"  summary: {r['summary']}")
    return 0


if __name__ == "__main__":  # the demo's workers are spawned processes: keep the guard
    sys.exit(main())
