"""Memory of a long run. Run: python bench/bench_memory.py [points]

A simulated V-I run of about a million points (default) on vti-a01, every point
appended to its run file (written in blocks within the default 0.25 s window): resident memory (RSS) is reported at the
start of the run, every 10 % and at the end. Flat means the plan, the run file,
the simulated instruments and the runner hold nothing per point.
"""

from __future__ import annotations

import sys
import tempfile
import time

import numpy as np

from cryo_acq.run.runner import Runner
from cryo_acq.station import Station
from procedures import get


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def long_vi(points: int):
    per_temperature = 6002  # 1e-7 .. 1e-4 A, 1000 per decade, both signs
    temperatures = np.round(7.0 + 0.01 * np.arange(max(1, round(points / per_temperature))), 3)
    p = get("vi")()
    p.set_parameters({"temperatures": ", ".join(f"{t:g}" for t in temperatures), "current_min": 1e-7,
                      "current_max": 1e-4, "points_per_decade": 1000, "bipolar": True, "settle_time": 0.0})
    return p


def main(points: int = 1_000_000) -> None:
    procedure = long_vi(points)
    n = len(procedure.plan())
    st = Station.from_yaml("vti-a01", sim=True)
    samples = []
    t0 = time.perf_counter()

    def on_progress(p):
        if p.done == 1 or p.done % max(1, n // 10) == 0 or p.done == n:
            samples.append((p.done, rss_mb(), time.perf_counter() - t0))

    with tempfile.TemporaryDirectory() as folder:
        Runner(st, procedure, folder=folder, on_progress=on_progress).run()
    print(f"V-I run of {n:,} points, written to HDF5 within the default flush window")
    for done, rss, wall in samples:
        print(f"   {done:>10,} points  RSS {rss:8.1f} MB  wall {wall:7.1f} s")
    print(f"   RSS at start {samples[0][1]:.1f} MB, at end {samples[-1][1]:.1f} MB "
          f"(+{samples[-1][1] - samples[0][1]:.1f} MB over {n:,} points)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
