"""Benchmarks of the simulated lab. Run: python bench/bench_sim.py

1. Cost per query through the live binding vs plain pyvisa-sim, on the same device
   file, side by side (target: at most 1.5x).
2. Station time simulated per wall-clock second for a 30-minute magnet ramp,
   polled every second as a procedure would.
"""

from __future__ import annotations

import statistics
import time

import pyvisa

from cryo_acq.station.clock import VirtualClock
from cryo_acq.station import Station
from sim.binding import Binding, LiveSimVisaLibrary, device_file
from sim.faults import FaultInjector
from sim.lab import SimLab
from sim.models.sr830 import SR830Model

RESOURCE = "GPIB0::8::INSTR"
QUERIES = ("FREQ?", "OFLT?", "OUTP?1", "SNAP? 1,2")


def _time_queries(resource, n: int) -> dict[str, float]:
    out = {}
    for q in QUERIES:
        resource.query(q)  # warm up
        t0 = time.perf_counter()
        for _ in range(n):
            resource.query(q)
        out[q] = (time.perf_counter() - t0) / n
    return out


def _open(library):
    rm = pyvisa.ResourceManager(library)
    res = rm.open_resource(RESOURCE, read_termination="\n", write_termination="\n")
    return rm, res


def bench_query_cost(n: int = 2000, repeats: int = 5) -> None:
    path = device_file("sr830")
    plain_runs, live_runs = [], []
    for _ in range(repeats):  # interleave so both see the same machine state
        rm, res = _open(f"{path}@sim")
        plain_runs.append(_time_queries(res, n))
        rm.close()
        lab = SimLab(VirtualClock(), io_latency=0.0)
        model = lab.add_model("lockin", SR830Model(lab, "lockin"))
        library = LiveSimVisaLibrary.create([Binding(RESOURCE, path, model, FaultInjector())])
        rm, res = _open(library)
        live_runs.append(_time_queries(res, n))
        rm.close()
    print(f"1. cost per query, sr830.yaml, median of {repeats} runs x {n} queries")
    print(f"   {'query':<12}{'plain us':>10}{'live us':>10}{'ratio':>8}")
    ratios = []
    for q in QUERIES:
        plain = statistics.median(r[q] for r in plain_runs) * 1e6
        live = statistics.median(r[q] for r in live_runs) * 1e6
        ratios.append(live / plain)
        print(f"   {q:<12}{plain:>10.1f}{live:>10.1f}{live / plain:>8.2f}x")
    print(f"   worst ratio {max(ratios):.2f}x (target <= 1.5x)")


def bench_query_with_time_passing(n: int = 2000) -> None:
    """Live only: a lock-in read with 10 time constants of station time between reads,
    so every query also runs the filter over the elapsed time (plain pyvisa-sim has no
    time to compare with)."""
    lab = SimLab(VirtualClock(), io_latency=0.002)
    model = lab.add_model("lockin", SR830Model(lab, "lockin"))
    library = LiveSimVisaLibrary.create([Binding(RESOURCE, device_file("sr830"), model, FaultInjector())])
    rm, res = _open(library)
    res.write("OFLT8")  # 100 ms
    t0 = time.perf_counter()
    for _ in range(n):
        lab.clock.sleep(1.0)
        res.query("SNAP? 1,2")
    print(f"   live SNAP? 1,2 with 1 s (10 tau) of station time between reads: "
          f"{(time.perf_counter() - t0) / n * 1e6:.1f} us per reading")
    rm.close()


def bench_ramp(minutes: float = 30.0) -> None:
    st = Station.from_yaml("vti-a01", sim=True)
    target = 1.0  # T
    rate = target / (minutes * 60)  # T/s
    st.magnet.set_rate("x", rate)
    st.magnet.poll = 1.0
    t_station, t_wall = st.clock.now(), time.perf_counter()
    st.magnet.ramp_to(x=target)
    station = st.clock.now() - t_station
    wall = time.perf_counter() - t_wall
    st.close()
    print(f"2. {minutes:.0f}-minute magnet ramp polled every 1 s: {station:.0f} s of station time "
          f"in {wall:.3f} s wall = {station / wall:,.0f} station s per wall s")


if __name__ == "__main__":
    bench_query_cost()
    bench_query_with_time_passing()
    bench_ramp(30.0)
