"""Fridge time: continuous against stepped, per procedure, on the simulated lab.
Run: python bench/bench_fridge_time.py

For each swept procedure the same plan runs stepped and continuous on a simulated station
(virtual time). Printed side by side:

* fridge time (the run's station seconds, preparation included) of each, and their ratio;
* what the measurement is for, from each run, and the difference: switching fields (tmr,
  nl-switch, nl-map; continuous also deconvolved), Tc0 and T_BKT (rt), D and tau (hanle),
  onsets per line (rt-map);
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


def row(name, stepped, continuous, what, s_values, c_values, unit, scale, extra=""):
    ratio = fridge(stepped) / fridge(continuous)
    diff = np.max(np.abs(np.subtract(c_values, s_values))) * scale
    print(f"{name:<10} {fridge(stepped):>9.0f} s {fridge(continuous):>8.0f} s {ratio:>7.1f}x   {what:<22} "
          f"max |diff| {diff:7.2f} {unit}{extra}")


def main() -> None:
    print(f"{'procedure':<10} {'stepped':>11} {'continuous':>10} {'ratio':>8}   {'compared':<22} difference")
    # tmr: -30 -> 30 -> -30 mT in 1 mT steps, tau 0.3 s at 24 dB/oct
    loop = dict(field_max=0.03, field_step=0.001, time_constant=0.3)
    s = run("vti-a01", "tmr", rate=0.005, **loop)
    minimums = {"tmr": stepped_minimum(s, "field", 0.005, 0.3)}
    for rate in (0.005, 0.010):
        c = run("vti-a01", "tmr", mode="continuous", rate=rate, **loop)
        row(f"tmr {rate * 1e3:g}mT/s", s, c, "switching fields", switching(s), switching(c), "mT", 1e3)
        row("  deconv.", s, c, "switching fields", switching(s), switching(c, deconvolve="yes"), "mT", 1e3)
    # nl-switch loop on dilution-b
    common = dict(field_start=-0.04, field_stop=0.04, preparation_field=-0.04, loop=True, time_constant=0.3)
    s = run("dilution-b", "nl-switch", rate=0.005, **common)
    minimums["nl-switch"] = stepped_minimum(s, "field", 0.005, 0.3)
    c = run("dilution-b", "nl-switch", mode="continuous", rate=0.005, **common)
    row("nl-switch", s, c, "switching fields", switching(s), switching(c), "mT", 1e3)
    row("  deconv.", s, c, "switching fields", switching(s), switching(c, deconvolve="yes"), "mT", 1e3)
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
    print()
    print("stepped sweeps against their minimum (ramp + settle to 0.999 at 24 dB/oct), target <= 1.05:")
    for name, ratio in minimums.items():
        print(f"  {name:<10} {ratio:.3f}")


if __name__ == "__main__":
    main()
