"""Fridge time: continuous against stepped, per procedure, on the simulated lab.
Run: python bench/bench_fridge_time.py

For each swept procedure the same plan runs stepped and continuous on a simulated station
(virtual time). Printed side by side:

* fridge time (the run's station seconds, preparation included) of each, and their ratio;
* what the measurement is for, from each run, and the difference: switching fields (tmr,
  nl-switch, nl-map; continuous also deconvolved), Tc0 and T_BKT (rt), D and tau (hanle),
  onsets per line (rt-map);
* adaptive plans against the dense stepped run: fridge time, points, and how far the fit
  moved in combined standard errors;
* stepped sweeps against their own minimum: fridge time between the first and the last
  reading over (ramp time + n x settle time), target <= 1.05.
"""

from __future__ import annotations

import pathlib
import sys
import tempfile

import numpy as np
from scipy.special import gammaincinv

ROOT = pathlib.Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

from cryo_acq.analysis import fit_run  # noqa: E402
from cryo_acq.run.runner import Runner  # noqa: E402
from cryo_acq.run.storage import load_run  # noqa: E402
from cryo_acq.station import Station  # noqa: E402
from procedures import get  # noqa: E402

FOLDER = pathlib.Path(tempfile.mkdtemp(prefix="fridge-time-"))


def run(station: str, name: str, **params):
    procedure = get(name)()
    procedure.set_parameters(params)
    with Station.from_yaml(station, sim=True) as st:
        result = load_run(Runner(st, procedure, folder=FOLDER).run())
    assert result.status == "finished", result.reason
    return result


def fridge(run_) -> float:
    return float(run_.metadata["station_seconds"])


def switching(run_, **options) -> list[float]:
    values = fit_run("switching", run_, **options)[0].values
    return [values[k] for k in sorted(values) if k.startswith("B_")]


def stepped_minimum(run_, column: str, rate: float, tau: float, steps: int | None = None) -> float:
    """Fridge time between the first and the last reading over ramp + settle."""
    t, b = run_.data["time"], run_.data[column]
    settle = tau * float(gammaincinv(4, 0.999))
    minimum = np.abs(np.diff(b)).sum() / rate + (len(t) - 1) * settle
    return float((t[-1] - t[0]) / minimum)


def sweep_time(run_) -> float:
    """Fridge time from the first reading to the last (the sweep itself)."""
    return float(np.ptp(run_.data["time"]))


def row(name, stepped, continuous, what, s_values, c_values, unit, scale, extra=""):
    sweep = sweep_time(stepped) / sweep_time(continuous)
    whole = fridge(stepped) / fridge(continuous)
    diff = np.max(np.abs(np.subtract(c_values, s_values))) * scale
    print(f"{name:<12} {sweep_time(stepped):>7.0f} s {sweep_time(continuous):>6.0f} s {sweep:>6.1f}x  "
          f"{fridge(stepped):>7.0f} s {fridge(continuous):>6.0f} s {whole:>5.1f}x   {what:<18} "
          f"max |diff| {diff:6.2f} {unit}{extra}")


def versus_sample(values, coercive) -> str:
    """Largest distance (mT) of switching fields (B_down_*, then B_up_*) from the sample's own."""
    expected = np.r_[-np.asarray(coercive), coercive]
    return f"; vs the sample's coercive fields {np.max(np.abs(np.subtract(values, expected))) * 1e3:.2f} mT"


def adaptive_row(name, dense, adaptive, model, names):
    fits = [fit_run(model, r)[0] for r in (dense, adaptive)]
    sigmas = ", ".join(
        f"{k} {abs(fits[1].values[k] - fits[0].values[k]) / np.hypot(fits[0].errors[k], fits[1].errors[k]):.1f} sigma"
        for k in names)
    points = f"{len(adaptive.plan_index)} of {len(dense.plan_index)}"
    print(f"{name:<10} {fridge(dense):>9.0f} s {fridge(adaptive):>8.0f} s {fridge(dense) / fridge(adaptive):>7.2f}x   "
          f"{points:<22} {sigmas}")


def main() -> None:
    print(f"{'':<12} {'sweep (first to last reading)':^27}  {'run (preparation included)':^25}")
    print(f"{'procedure':<12} {'stepped':>9} {'contin.':>8} {'ratio':>7}  {'stepped':>9} {'contin.':>8} {'ratio':>6}   "
          f"{'compared':<18} difference (continuous - stepped)")
    # tmr: -30 -> 30 -> -30 mT in 1 mT steps, tau 0.3 s at 24 dB/oct
    loop = dict(field_max=0.03, field_step=0.001, time_constant=0.3)
    s = run("vti-a01", "tmr", rate=0.005, **loop)
    minimums = {"tmr": stepped_minimum(s, "field", 0.005, 0.3)}
    for rate in (0.005, 0.010):
        c = run("vti-a01", "tmr", mode="continuous", rate=rate, **loop)
        for label, values in ((f"tmr {rate * 1e3:g}mT/s", switching(c)), ("  deconv.", switching(c, deconvolve="yes"))):
            row(label, s, c, "switching fields", switching(s), values, "mT", 1e3,
                extra=versus_sample(values, [0.008, 0.025]))
    print(f"{'  (stepped)':<12} {'':>50}   {'':<18} {versus_sample(switching(s), [0.008, 0.025])[2:]}")
    # nl-switch loop on dilution-b, 0.5 mT steps
    common = dict(field_start=-0.04, field_stop=0.04, preparation_field=-0.04, loop=True, time_constant=0.3,
                  field_step=0.0005)
    s = run("dilution-b", "nl-switch", rate=0.005, **common)
    minimums["nl-switch"] = stepped_minimum(s, "field", 0.005, 0.3)
    c = run("dilution-b", "nl-switch", mode="continuous", rate=0.005, **common)
    for label, values in (("nl-switch", switching(c)), ("  deconv.", switching(c, deconvolve="yes"))):
        row(label, s, c, "switching fields", switching(s), values, "mT", 1e3, extra=versus_sample(values, [0.012, 0.020]))
    print(f"{'  (stepped)':<12} {'':>50}   {'':<18} {versus_sample(switching(s), [0.012, 0.020])[2:]}")
    # rt through the transition
    rt = dict(temperature_start=7.0, temperature_stop=6.2, temperature_step=-0.02, ramp_rate=0.005)
    s, c = run("vti-a01", "rt", **rt), run("vti-a01", "rt", mode="continuous", **rt)
    fits = [fit_run("bkt-rt", r)[0].values for r in (s, c)]
    row("rt", s, c, "Tc0, T_BKT", [fits[0]["Tc0"], fits[0]["T_BKT"]], [fits[1]["Tc0"], fits[1]["T_BKT"]], "mK", 1e3)
    # hanle, parallel and antiparallel, L = 0.8 um
    hanle = dict(channel="L08", field_max=0.5, field_step=0.025, rate_perp=0.002)
    runs = {(m, a): run("dilution-b", "hanle", mode=m, alignment=a, **hanle)
            for m in ("stepped", "continuous") for a in ("parallel", "antiparallel")}
    fits = {m: fit_run("hanle", [runs[m, "parallel"], runs[m, "antiparallel"]])[-1] for m in ("stepped", "continuous")}
    relative = [abs(fits["continuous"].values[k] / fits["stepped"].values[k] - 1) for k in ("D", "tau")]
    sigmas = [abs(fits["continuous"].values[k] - fits["stepped"].values[k])
              / np.hypot(fits["continuous"].errors[k], fits["stepped"].errors[k]) for k in ("D", "tau")]
    row("hanle P+AP", runs["stepped", "parallel"], runs["continuous", "parallel"], "D, tau",
        [0, 0], relative, "%", 100, extra=f" ({max(sigmas):.1f} sigma)")
    # nl-map: three injection currents
    nl_map = dict(current_start=-1e-6, current_stop=1e-6, current_step=1e-6, field_step=0.001, time_constant=0.03)
    s, c = run("dilution-b", "nl-map", **nl_map), run("dilution-b", "nl-map", mode="continuous", **nl_map)
    lines = []
    for r in (s, c):
        fields = np.asarray(r.grid["field"])
        lines.append([float(fields[i][np.argmax(np.abs(line - line[0]) > 0.5 * np.ptp(line))])
                      for i, line in enumerate(np.asarray(r.grid["r_nonlocal"]))])
    row("nl-map", s, c, "first switch per line", lines[0], lines[1], "mT", 1e3)
    # didv: one spectrum at 1.5 K, the bias ramped at 2.5 nA/s
    didv = dict(temperatures="1.5", bias_min=-0.06e-6, bias_max=0.06e-6, bias_step=0.005e-6)
    s, c = run("vti-a01", "didv", **didv), run("vti-a01", "didv", mode="continuous", **didv)
    g = s.data["didv"]
    row("didv", s, c, "dI/dV per bias", g / np.ptp(g), c.data["didv"] / np.ptp(g), "% of span", 100)
    # rt-map: two fields, snake
    rt_map = dict(temperature_start=7.0, temperature_stop=6.2, temperature_step=-0.05, field_start=0.0,
                  field_stop=1.0, field_step=1.0, field_rate=0.01, ramp_rate=0.005)
    s, c = run("vti-a01", "rt-map", **rt_map), run("vti-a01", "rt-map", mode="continuous", **rt_map)
    onsets = []
    for r in (s, c):
        onsets.append([float(np.interp(0.5, (line / line.max())[::-1] if t[0] > t[-1] else line / line.max(),
                                       t[::-1] if t[0] > t[-1] else t))
                       for t, line in zip(np.asarray(r.grid["temperature"]), np.asarray(r.grid["resistance"]))])
    row("rt-map", s, c, "R_N/2 per line", onsets[0], onsets[1], "mK", 1e3)
    # adaptive plans against the dense stepped run
    print()
    print(f"{'adaptive':<10} {'dense':>11} {'adaptive':>10} {'ratio':>8}   {'points':<22} fit difference")
    hanle = dict(channel="L08", field_max=0.5, field_step=0.005)
    d, a = run("dilution-b", "hanle", **hanle), run("dilution-b", "hanle", mode="adaptive", **hanle)
    adaptive_row("hanle P", d, a, "hanle", ("D", "tau"))
    didv = dict(temperatures="1.5", bias_min=-0.06e-6, bias_max=0.06e-6, bias_step=0.001e-6)
    d, a = run("vti-a01", "didv", **didv), run("vti-a01", "didv", mode="adaptive", **didv)
    adaptive_row("didv", d, a, "didv", ("delta0_eV", "gamma_eV"))
    print()
    print("stepped sweeps against their minimum (ramp + settle to 0.999 at 24 dB/oct), target <= 1.05:")
    for name, ratio in minimums.items():
        print(f"  {name:<10} {ratio:.3f}")


if __name__ == "__main__":
    main()
