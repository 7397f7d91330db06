"""Benchmarks of the measurement machinery. Run: python bench/bench_runner.py

1. Wall time per point of a full procedure (runner, safety checks, HDF5 storage with
   a flush per point) vs a bare loop making the same role and driver calls on the
   same simulated station (target: overhead under 30 %).
2. Lab (station) time of a continuous field sweep vs the physical minimum
   max(range / ramp rate, points x settle time), and vs the stepped sweep of the
   same points (nl-switch on dilution-b; deterministic).
"""

from __future__ import annotations

import statistics
import tempfile
import time

from cryo_acq.run.measure import read_resistance
from cryo_acq.run.runner import Runner
from cryo_acq.station import Station
from procedures import get


def _tmr(points_per_branch: int):
    p = get("tmr")()
    p.set_parameters({"field_max": 0.05, "field_step": 0.1 / (points_per_branch - 1)})
    return p


def bench_overhead(points_per_branch: int = 201, repeats: int = 3) -> None:
    full, bare = [], []
    for _ in range(repeats):
        procedure = _tmr(points_per_branch)
        plan = procedure.plan()
        with tempfile.TemporaryDirectory() as folder:
            st = Station.from_yaml("vti-a01", sim=True)
            t0 = time.perf_counter()
            Runner(st, procedure, folder=folder).run()
            full.append((time.perf_counter() - t0) / len(plan))
            st.close()

        st = Station.from_yaml("vti-a01", sim=True)
        t0 = time.perf_counter()
        procedure.prepare(st)  # same preparation, then the same calls per point, no runner/storage
        settings = procedure.lockin_settings()
        for point in plan.points:
            st.magnet.ramp_to(x=point.setpoints["field"], rate=procedure.rate)
            read_resistance(procedure._m, settings)
            st.temperature.temperature()
            st.magnet.field()
        st.safe_state()
        bare.append((time.perf_counter() - t0) / len(plan))
        st.close()
    f, b = statistics.median(full), statistics.median(bare)
    print(f"1. tmr loop, {2 * points_per_branch} points, median of {repeats} runs (preparation included in both)")
    print(f"   full procedure {f * 1e3:.2f} ms/point, bare loop {b * 1e3:.2f} ms/point, "
          f"overhead {100 * (f / b - 1):+.1f} % (target < 30 %)")


def bench_continuous() -> None:
    try:
        cls = get("nl-switch")
    except (KeyError, ImportError):
        print("2. (nl-switch not available)")
        return
    times = {}
    for mode in ("stepped", "continuous"):
        p = cls()
        p.set_parameters({"mode": mode, "field_start": 0.0, "field_stop": 0.04, "field_step": 0.001})
        st = Station.from_yaml("dilution-b", sim=True)
        procedure_rate = getattr(p, "rate", None)
        with tempfile.TemporaryDirectory() as folder:
            from cryo_acq.run.storage import load_run

            run = load_run(Runner(st, p, folder=folder).run())
        t = run.data["time"]
        times[mode] = (t[-1] - t[0], len(t), procedure_rate, p.lockin_settings())
        st.close()
    span_s, n, rate, settings = times["continuous"]
    from scipy.special import gammaincinv

    settle = settings.time_constant * float(gammaincinv(4, settings.settle_fraction))
    ramp_time, settle_time = 0.04 / rate, n * settle
    stepped = times["stepped"][0]
    print(f"2. nl-switch 0 -> 40 mT, {n} points, rate {rate:g} T/s, tau {settings.time_constant:g} s 24 dB/oct: "
          "station time of the sweep itself")
    print(f"   range / rate = {ramp_time:.1f} s, points x settle (to {settings.settle_fraction:g}) = {settle_time:.0f} s")
    print(f"   continuous {span_s:.1f} s = {span_s / ramp_time:.2f} x range/rate (it reads on the fly, so the "
          f"filter lags by ~{4 * settings.time_constant * rate * 1e3:.1f} mT)")
    print(f"   stepped {stepped:.0f} s = {stepped / max(ramp_time, settle_time):.2f} x max(range/rate, points x settle); "
          f"stepped / continuous = {stepped / span_s:.1f}")


if __name__ == "__main__":
    bench_overhead()
    bench_continuous()
