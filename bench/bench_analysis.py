"""Benchmark of the Hanle fit: closed form of eq. 3 vs the same fit integrating eq. 3
numerically. Run: python bench/bench_analysis.py [--channel L08] [--repeat 5] [--quick]

The data are measured once through the simulated dilution-b station (device B, the
parallel Hanle sweep of the chosen channel, -0.5 .. 0.5 T in 20 mT steps). The same
:func:`cryo_acq.analysis.fit_hanle` is then run twice on those data, differing only
in how H(B) is evaluated:

* ``closed-form``: :func:`sim.conbse2.spin.hanle_closed_form` (what the fits use);
* ``quadrature``:  :func:`sim.conbse2.spin.hanle_quadrature`, the integral of eq. 3 by
  adaptive quadrature (scipy ``quad``, epsrel 1e-10).

Both runs do the whole fit: the grid search for the start (24 x 24 nodes over
lambda_s and tau) and the least-squares refinement. ``--quick`` times the refinement
alone, from the same start for both (no grid search), which takes seconds instead of
about two minutes. (At extreme grid nodes ``quad`` warns about round-off; the warnings
are silenced here, the nodes are far from the optimum.) Printed: both wall times, the ratio, and the difference of the fitted D
and tau between the two.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings

from cryo_acq.analysis import fit_hanle
from cryo_acq.run.runner import Runner
from cryo_acq.station import Station
from cryo_acq.run.storage import load_run
from procedures.hanle import Hanle
from sim.conbse2.presets import CHANNELS_B


def measure(channel: str):
    """One parallel Hanle sweep of ``channel`` through the simulated instruments."""
    st = Station.from_yaml("dilution-b", sim=True)
    try:
        procedure = Hanle()
        procedure.set_parameters({"channel": channel, "alignment": "parallel", "field_max": 0.5,
                                  "field_step": 0.02})
        with tempfile.TemporaryDirectory() as folder:
            run = load_run(Runner(st, procedure, folder=folder).run())
    finally:
        st.close()
    return run.data["field_perp"], run.data["r_nonlocal"]


def timed(repeat: int, **kwargs):
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fit_hanle(**kwargs)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channel", default="L08", choices=["L06", "L08"])
    parser.add_argument("--repeat", type=int, default=5, help="repetitions of the closed-form fit (median)")
    parser.add_argument("--quick", action="store_true", help="refinement only, from the same start")
    args = parser.parse_args()

    truth = CHANNELS_B[args.channel]
    b, r = measure(args.channel)
    common = dict(field_perp=b, r_nonlocal=r, channel_length=truth.length, alignment_sign=1)
    if args.quick:
        common["start"] = {"D": 2 * truth.diffusion, "tau": 0.5 * truth.spin_lifetime}
    what = "refinement from a common start" if args.quick else "whole fit (grid start + refinement)"
    print(f"Hanle fit, channel {args.channel} (L = {truth.length * 1e6:g} um), {b.size} points, {what}")
    t_closed, closed = timed(args.repeat, **common, integrator="closed-form")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # IntegrationWarning at extreme grid nodes
        t_quad, quad = timed(1, **common, integrator="quadrature")
    print(f"  {'integrator':<13}{'time (s)':>12}{'nfev*':>7}{'D (m^2/s)':>14}{'tau (s)':>13}{'lambda_s (m)':>15}")
    for name, seconds, res in (("closed-form", t_closed, closed), ("quadrature", t_quad, quad)):
        print(f"  {name:<13}{seconds:>12.4g}{res.notes['nfev']:>7d}{res['D']:>14.6e}{res['tau']:>13.6e}"
              f"{res['lambda_s']:>15.6e}")
    print("  (* model evaluations of the least-squares refinement, Jacobian evaluations not counted)")
    print(f"  time ratio quadrature / closed form: {t_quad / t_closed:.0f}")
    print(f"  relative difference of the fitted values (quadrature - closed form) / closed form:")
    for name in ("D", "tau", "lambda_s", "R0"):
        diff = (quad[name] - closed[name]) / closed[name]
        print(f"    {name:<9}{diff:+.2e}   (standard error of the closed-form fit: "
              f"{closed.error(name) / abs(closed[name]):.1e} relative)")
    print(f"  truth (sim preset): D = {truth.diffusion:.4g} m^2/s, tau = {truth.spin_lifetime:.4g} s")


if __name__ == "__main__":
    main()
