"""The cost of a flaky night. Run: python bench/bench_faults.py

The same TMR loop (vti-a01, 102 points, the issue's case) and nl-map (dilution-b) on
clean lines and with per-message timeouts and garbled replies on every lock-in and the
magnet (half each), seeded. Printed side by side: wall time, lab (station) time,
retries, and the ratio to the clean run. The VISA timeout is the drivers' default
(2 s), so a timed-out query costs 2 s of lab time, as on the bench.
"""

from __future__ import annotations

import tempfile
import textwrap
import time
from pathlib import Path

from cryo_acq.station import file as station_file
from cryo_acq.run.runner import Runner
from cryo_acq.station import Station
from cryo_acq.run.storage import load_run
from procedures import get


def _station(folder: Path, name: str, rate: float) -> Station:
    text = station_file.resolve(name).read_text()
    if rate:
        lockins = [n for n, e in station_file.load(name)[0].instruments.items() if e.driver == "sr830"]
        entries = "".join(f"  - {{instrument: {n}, kind: {k}, probability: {rate / 2}}}\n"
                          for n in lockins + ["magnet"] for k in ("timeout", "garbled"))
        text = text.replace("sim:\n", "sim:\n" + textwrap.indent("faults:\n" + entries, "  "))
    path = folder / f"{name}.yaml"
    path.write_text(text)
    return Station.from_yaml(path, sim=True)


def _procedure(name: str):
    p = get(name)()
    if name == "tmr":
        p.set_parameters({"field_max": 0.05, "field_step": 0.002})  # 2 x 51 = 102 points
    else:
        p.set_parameters({"current_start": -2e-6, "current_stop": 2e-6, "current_step": 1e-6,
                          "field_start": 0.0, "field_stop": 0.04, "field_step": 0.002})
    return p


def measure(procedure: str, station: str, rate: float) -> tuple[float, float, int, str, int]:
    with tempfile.TemporaryDirectory() as tmp:
        st = _station(Path(tmp), station, rate)
        t0 = time.perf_counter()
        path = Runner(st, _procedure(procedure), folder=tmp).run()
        wall = time.perf_counter() - t0
        st.close()
        run = load_run(path)
        retries = sum(1 for _, kind, _ in run.log if kind == "retry")
        return wall, run.metadata["station_seconds"], retries, run.status, len(run.plan_index)


def main() -> None:
    print(f"{'run':<22}{'faults':>8}{'status':>10}{'points':>8}{'retries':>9}{'wall s':>9}"
          f"{'x clean':>9}{'lab s':>10}{'x clean':>9}")
    for procedure, station in (("tmr", "vti-a01"), ("nl-map", "dilution-b")):
        clean = None
        for rate in (0.0, 0.05, 0.20):
            wall, lab, retries, status, points = measure(procedure, station, rate)
            clean = clean or (wall, lab)
            print(f"{procedure + ' on ' + station:<22}{rate:>8.0%}{status:>10}{points:>8}{retries:>9}"
                  f"{wall:>9.2f}{wall / clean[0]:>9.2f}{lab:>10.0f}{lab / clean[1]:>9.2f}")


if __name__ == "__main__":
    main()
