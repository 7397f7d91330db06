"""Benchmarks of the simulated Co-NbSe2 sample. Run: python bench/bench_sample.py

1. Sample evaluation cost per lock-in reading (median), per configuration, measured
   inside real readings through the whole VISA stack: the time spent in the sample
   model between two readings, and the share of the reading's wall time it takes.
2. Hanle: the closed form of eq. 3 / eq. 4 vs numerical quadrature of the same
   integral on the same points: speed ratio and largest relative difference.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from cryo_acq.run.measure import LockInSettings, go_to_temperature, read_resistance, set_bias, setup_lockin
from cryo_acq.station import Station
from sim.conbse2.presets import CHANNELS_B
from sim.conbse2.spin import hanle_closed_form, hanle_quadrature


class _Timed:
    """Wraps the lab's sample and accumulates the time spent evaluating it."""

    def __init__(self, sample):
        self._sample = sample
        self.seconds = 0.0
        self.calls = 0

    def __getattr__(self, name):
        attr = getattr(self._sample, name)
        if name not in ("differential_resistance", "voltage", "observe"):
            return attr

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return attr(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - t0
                self.calls += 1

        return timed


def bench_sample_cost(readings: int = 200) -> None:
    cases = [
        ("vti-a01", "four_probe", None, 6.45, 0.0, "x", 0.002),  # in the BKT transition
        ("vti-a01", "mtj", None, 1.5, 0.1e-6, "x", 0.0005),  # TMR loop
        ("dilution-b", "nonlocal", "L08", 0.053, 0.1e-6, "z", 0.01),  # Hanle sweep
    ]
    print(f"1. sample evaluation per lock-in reading (median of {readings} readings, tau = 0.3 s, 24 dB/oct,")
    print("   field stepped between readings, settle to 99.9 %)")
    print(f"   {'configuration':<14}{'sample us':>11}{'calls':>7}{'reading ms':>12}{'share':>8}")
    for station, configuration, channel, temperature, bias, axis, step in cases:
        st = Station.from_yaml(station, sim=True)
        timed = _Timed(st.lab.sample)
        go_to_temperature(st, temperature)
        m = st.use(configuration, channel=channel)
        set_bias(m, bias)
        settings = LockInSettings(excitation_current=10e-9 if configuration == "mtj" else 50e-9)
        setup_lockin(m, settings)
        st.lab.sample = timed
        per_sample, per_calls, per_wall = [], [], []
        for i in range(readings):
            st.magnet.ramp_to(**{axis: (i % 40) * step})
            s0, c0, w0 = timed.seconds, timed.calls, time.perf_counter()
            read_resistance(m, settings)
            per_wall.append(time.perf_counter() - w0)
            per_sample.append(timed.seconds - s0)
            per_calls.append(timed.calls - c0)
        st.close()
        sample_us = statistics.median(per_sample) * 1e6
        wall_ms = statistics.median(per_wall) * 1e3
        print(f"   {configuration:<14}{sample_us:>11.0f}{statistics.median(per_calls):>7.0f}"
              f"{wall_ms:>12.2f}{sample_us / 1e3 / wall_ms:>8.0%}")


def bench_hanle(points: int = 201, repeats: int = 3) -> None:
    print(f"2. Hanle closed form vs quadrature, {points} points from -0.6 to 0.6 T")
    print(f"   {'channel':<9}{'model':<10}{'closed ms':>11}{'quad ms':>10}{'ratio':>9}{'max rel diff':>14}")
    b = np.linspace(-0.6, 0.6, points)
    for name, c in CHANNELS_B.items():
        args = (c.length, c.diffusion, c.spin_lifetime, c.model, c.vortex_field)
        closed = min(_timed(lambda: hanle_closed_form(b, *args)) for _ in range(repeats))
        quad = min(_timed(lambda: hanle_quadrature(b, *args)) for _ in range(repeats))
        diff = np.max(np.abs(hanle_closed_form(b, *args) - hanle_quadrature(b, *args)))
        scale = np.max(np.abs(hanle_closed_form(b, *args)))
        print(f"   {name:<9}{c.model:<10}{closed * 1e3:>11.3f}{quad * 1e3:>10.1f}{quad / closed:>8.0f}x"
              f"{diff / scale:>14.1e}")


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


if __name__ == "__main__":
    bench_sample_cost()
    bench_hanle()
