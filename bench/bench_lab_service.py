"""The run server (``cryo-acq serve``, Tiled) against reading the folder locally.
Run: python bench/bench_lab_service.py [N_RUNS]

1. A folder of N_RUNS (default 1000) run files: three runs measured on the simulated lab
   (tmr, hanle, rt), each copied with its own temperature parameter. Through a server on
   loopback, with Tiled's client: the first listing (the server indexes every file), a
   listing of every run with its metadata, a search by procedure, a search by procedure
   and a parameter range; against the same from the folder's catalogue
   (``cryo_acq.campaign.catalogue``), side by side.
2. A 201 x 161 map (32,361 readings, seven columns), written by the run-file writer:
   fetched as xarray on its grid through the server, and fetched whole as the GUI opens
   it (:func:`fetch_run`), against :func:`load_run` of the file.
"""

from __future__ import annotations

import json
import pathlib
import shutil
import sys
import tempfile
import time

import h5py
import numpy as np

ROOT = pathlib.Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

from tiled.client import from_uri  # noqa: E402
from tiled.queries import Key  # noqa: E402

from cryo_acq.campaign import catalogue  # noqa: E402
from cryo_acq.run.runner import Runner  # noqa: E402
from cryo_acq.run.storage import RunFile, load_run  # noqa: E402
from cryo_acq.run.sweeps import Axis, Plan  # noqa: E402
from cryo_acq.service.client import fetch_run, list_runs, run_url  # noqa: E402
from cryo_acq.service.server import serving  # noqa: E402
from cryo_acq.station import Station  # noqa: E402
from procedures import get  # noqa: E402

TEMPLATES = [("vti-a01", "tmr", {"field_max": 0.01, "field_step": 0.002}),
             ("dilution-b", "hanle", {"channel": "L08", "field_max": 0.1, "field_step": 0.02}),
             ("vti-a01", "rt", {"temperature_start": 7.0, "temperature_stop": 6.0, "temperature_step": -0.1})]


def make_folder(folder: pathlib.Path, n: int) -> None:
    templates = []
    for station_name, name, params in TEMPLATES:
        station = Station.from_yaml(station_name, sim=True)
        procedure = get(name)()
        procedure.set_parameters(params)
        templates.append(Runner(station, procedure, path=folder.parent / f"template-{name}.h5").run())
        station.close()
    for k in range(n):
        template = templates[k % len(templates)]
        path = folder / f"{template.stem[9:]}-{k:04d}.h5"
        shutil.copy(template, path)
        with h5py.File(path, "r+") as f:  # each copy measured at its own temperature
            record = json.loads(f.attrs["parameters"])
            record["temperature"] = {"value": round(0.01 + 0.01 * k, 4), "units": "K"}
            f.attrs["parameters"] = json.dumps(record)


def make_map(path: pathlib.Path) -> None:
    fields, currents = np.linspace(-0.04, 0.04, 201), np.linspace(-5e-6, 5e-6, 161)
    plan = Plan(Axis("field", "T", fields), outer=Axis("injection_current", "A", currents))
    units = {"injection_current": "A", "field": "T", "r_nonlocal": "Ohm", "field_at_reading": "T",
             "lockin_tau": "s", "lockin_poles": "", "time": "s"}
    run = RunFile.create(path, procedure="nl-map", parameters={}, units=units, plan=plan, signal="r_nonlocal")
    rng = np.random.default_rng(1)
    for point in plan.pending(run.done):
        b, i = point.setpoints["field"], point.setpoints["injection_current"]
        run.append({"injection_current": i, "field": b, "r_nonlocal": 0.1 * np.tanh(b / 0.01) * i / 5e-6
                    + 1e-3 * rng.standard_normal(), "field_at_reading": b, "lockin_tau": 0.3, "lockin_poles": 4,
                    "time": float(point.index)}, point)
    run.close("finished")


def timed(fn, repeat: int = 3):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def row(what: str, served: float, local: float, note: str = "") -> None:
    print(f"{what:<44} {served * 1e3:>10.1f} ms {local * 1e3:>10.1f} ms {served / local:>8.1f}x  {note}")


def main(n: int) -> None:
    base = pathlib.Path(tempfile.mkdtemp(prefix="lab-service-"))
    folder = base / "runs"
    folder.mkdir()
    t0 = time.perf_counter()
    make_folder(folder, n)
    make_map(folder / "map-201x161.h5")
    print(f"{n} run files and a 201 x 161 map made in {time.perf_counter() - t0:.0f} s in {base}\n")
    print(f"{'':<44} {'server':>13} {'local':>13} {'ratio':>9}")
    shadow = base / "local"  # the local side indexes its own copy (the same files)
    shutil.copytree(folder, shadow)
    t0 = time.perf_counter()
    with serving([folder]) as url:
        first = len(from_uri(url))
        served_first = time.perf_counter() - t0  # the server may index while it starts
        t0 = time.perf_counter()
        local_first = len(catalogue.query(shadow))
        local_first_t = time.perf_counter() - t0
        row(f"start + first listing ({first} runs; indexed)", served_first, local_first_t)
        assert first == local_first

        served, entries = timed(lambda: list_runs(url))
        local, local_entries = timed(lambda: catalogue.query(shadow))
        row(f"list every run with its metadata ({len(entries)})", served, local)

        client = from_uri(url)
        served, found = timed(lambda: list(client.search(Key("procedure") == "hanle")))
        local, local_found = timed(lambda: catalogue.query(shadow, procedure="hanle"))
        row(f"search procedure == hanle ({len(found)})", served, local)
        assert len(found) == len(local_found)

        def search():
            return list(client.search(Key("procedure") == "tmr").search(Key("parameters.temperature") < 1.0))

        served, found = timed(search)
        local, local_found = timed(lambda: catalogue.query(shadow, procedure="tmr",
                                                           where={"temperature": (None, 1.0)}))
        row(f"search tmr, temperature < 1 K ({len(found)})", served, local)

        print()
        map_path = folder / "map-201x161.h5"
        local, run = timed(lambda: load_run(map_path))
        served, data = timed(lambda: from_uri(url)["map-201x161"]["data"].read())
        assert data["r_nonlocal"].shape == (161, 201)
        np.testing.assert_array_equal(data["r_nonlocal"].values, run.grid["r_nonlocal"])
        row("fetch the 201 x 161 map as xarray", served, local, "local: load_run")
        served, fetched = timed(lambda: fetch_run(run_url(url, "map-201x161")))
        np.testing.assert_array_equal(fetched.data["r_nonlocal"], run.data["r_nonlocal"])
        row("fetch the map whole, as the GUI opens it", served, local, "local: load_run")
    shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
