"""Run files the field's tools read (NeXus, dimension scales, xarray), written in blocks
within a bounded durability window, format 1 still read."""

from __future__ import annotations

import json
import pathlib
import signal
import subprocess
import sys
import threading
import time

import h5py
import numpy as np
import pytest

from cryo_acq.run.runner import Runner
from cryo_acq.run.storage import FLUSH_INTERVAL, RunFile, load_run, open_run
from cryo_acq.run.sweeps import Axis, Plan
from cryo_acq.station import Station
from procedures.rt_map import RTMap
from procedures.tmr import TMR

ROOT = pathlib.Path(__file__).parents[1]
OLD_FILE = ROOT / "tests" / "runfiles" / "format1-rt-map.h5"

# --------------------------------------------------------------------------- SIGKILL
POINTS = 4000
UNITS = {"field": "T", "resistance": "Ohm", "time": "s"}

#: a writer with the default flush window: mostly quick points, some slower than the
#: window; it reports (index, wall time) once each row has been handed to the run file
WRITER = """
import sys, time
import numpy as np
sys.path.insert(0, sys.argv[3])
from cryo_acq.run.storage import RunFile
from cryo_acq.run.sweeps import Axis, Plan

plan = Plan(Axis("field", "T", np.linspace(-1.0, 1.0, int(sys.argv[2]))))
run = RunFile.create(sys.argv[1], procedure="synthetic", parameters={}, plan=plan,
                     units={"field": "T", "resistance": "Ohm", "time": "s"})
rng = np.random.default_rng(int(sys.argv[4]))
for point in plan.pending(run.done):
    run.append({"field": point.setpoints["field"], "resistance": 100.0 + point.index, "time": point.index}, point)
    print(point.index, time.monotonic(), flush=True)
    time.sleep(0.3 if rng.random() < 0.01 else 0.0005)
run.close("finished")
"""


def _plan() -> Plan:
    return Plan(Axis("field", "T", np.linspace(-1.0, 1.0, POINTS)))


def _kill_at_random(path: pathlib.Path, seed: int) -> tuple[float, list[tuple[int, float]]]:
    """Start the writer, SIGKILL it at a seeded random moment; (kill time, reports)."""
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(POINTS), str(ROOT), str(seed)],
                            stdout=subprocess.PIPE, text=True)
    reports: list[tuple[int, float]] = []

    def read():
        for line in proc.stdout:
            index, at = line.split()
            reports.append((int(index), float(at)))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    while not reports and proc.poll() is None:  # writing has begun
        time.sleep(0.01)
    time.sleep(np.random.default_rng(seed).uniform(0.05, 1.5))
    killed_at = time.monotonic()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    reader.join(timeout=5)
    return killed_at, reports


def test_sigkill_at_random_moments_loses_at_most_the_flush_window_and_resumes_exactly_once(tmp_path):
    """20 writers killed at random moments with the default window (0.25 s): every file
    opens, holds every row handed over more than the window before the kill (plus 0.25 s
    for the machine's scheduling), and resumes with every planned point exactly once."""
    assert FLUSH_INTERVAL == 0.25
    slack = 0.25
    lost_recent = []
    for trial in range(20):
        path = tmp_path / f"killed-{trial}.h5"
        killed_at, reports = _kill_at_random(path, seed=trial)
        run = load_run(path)  # opens
        assert run.status == "interrupted"
        held = set(run.plan_index.tolist())
        old_enough = {i for i, at in reports if at < killed_at - FLUSH_INTERVAL - slack}
        assert old_enough <= held, f"trial {trial}: lost {sorted(old_enough - held)[:5]}"
        assert len(held) == len(run.plan_index)  # no row twice
        assert np.array_equal(run.data["resistance"], 100.0 + run.plan_index)  # each row whole
        lost_recent.append(len(reports) - len(held))
        resumed = RunFile.reopen(path, _plan())
        for point in _plan().pending(resumed.done):
            resumed.append({"field": point.setpoints["field"], "resistance": 100.0 + point.index,
                            "time": point.index}, point)
        resumed.close("finished")
        final = load_run(path)
        assert final.status == "finished"
        assert sorted(final.plan_index.tolist()) == list(range(POINTS))  # every point exactly once
    assert max(lost_recent) > 0  # the window is real: some kills caught rows still in memory


def test_flush_interval_zero_writes_every_row_as_it_comes(tmp_path):
    run = RunFile.create(tmp_path / "r.h5", procedure="synthetic", parameters={}, units=UNITS, plan=_plan(),
                         flush_interval=0)
    point = next(_plan().pending(run.done))
    run.append({"field": 0.0, "resistance": 1.0, "time": 0.0}, point)
    assert len(load_run(tmp_path / "r.h5").plan_index) == 1  # on disk while the writer runs
    run.close("finished")


def test_rows_wait_in_memory_at_most_the_window_then_are_written_in_one_block(tmp_path):
    run = RunFile.create(tmp_path / "r.h5", procedure="synthetic", parameters={}, units=UNITS, plan=_plan(),
                         flush_interval=0.5)
    points = _plan().pending(run.done)
    for _ in range(51):  # quick points: they wait in memory ...
        run.append({"field": 0.0, "resistance": 1.0, "time": 0.0}, next(points))
    assert len(load_run(tmp_path / "r.h5").plan_index) == 0
    assert run.done.sum() == 51  # ... counted as measured all the same
    deadline = time.monotonic() + 10
    while len(load_run(tmp_path / "r.h5").plan_index) < 51 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(load_run(tmp_path / "r.h5").plan_index) == 51  # written by the timer, unprompted
    time.sleep(0.6)  # a point slower than the window is on disk as soon as it is handed over
    run.append({"field": 0.0, "resistance": 1.0, "time": 0.0}, next(points))
    assert len(load_run(tmp_path / "r.h5").plan_index) == 52
    run.close("finished")


# --------------------------------------------------------------------------- NeXus and xarray
@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A TMR loop (1-D) and an R-T map (2-D) measured on the simulated lab."""
    folder = tmp_path_factory.mktemp("runs")
    out = {}
    with Station.from_yaml("vti-a01", sim=True) as st:
        tmr = TMR()
        tmr.set_parameters({"field_max": 0.02, "field_step": 0.004})
        out["tmr"] = Runner(st, tmr, folder=folder).run()
        rt_map = RTMap()
        rt_map.set_parameters({"field_stop": 0.5, "temperature_start": 6.0, "temperature_stop": 7.0,
                               "temperature_step": 0.5})
        out["rt-map"] = Runner(st, rt_map, folder=folder).run()
    return out


def _attr(value):
    return value.decode() if isinstance(value, bytes) else value


def test_nxdata_signal_and_axes_name_the_measured_column_and_the_plan(runs):
    with h5py.File(runs["tmr"], "r") as f:
        assert _attr(f.attrs["NX_class"]) == "NXroot" and _attr(f.attrs["default"]) == "entry"
        entry = f["entry"]
        assert _attr(entry.attrs["NX_class"]) == "NXentry" and _attr(entry.attrs["default"]) == "data"
        data = entry["data"]
        assert _attr(data.attrs["NX_class"]) == "NXdata"
        assert _attr(data.attrs["signal"]) == "resistance"
        assert [_attr(a) for a in data.attrs["axes"]] == ["field"]  # the plan's swept axis
        assert data["resistance"].shape == data["field"].shape == (len(load_run(runs["tmr"]).plan_index),)
        assert _attr(entry["instrument"].attrs["NX_class"]) == "NXinstrument"
        assert _attr(entry["sample"].attrs["NX_class"]) == "NXsample"
        assert entry["sample/name"][()].decode() == "A01" and entry["sample/configuration"][()].decode() == "mtj"
    plan = load_run(runs["rt-map"]).plan
    with h5py.File(runs["rt-map"], "r") as f:
        entry = f["entry"]
        assert _attr(entry.attrs["default"]) == "grid"
        grid = entry["grid"]
        axes = [_attr(a) for a in grid.attrs["axes"]]
        assert axes == [a["name"] for a in plan["axes"]] == ["field", "temperature"]  # outer, inner
        for k, axis in enumerate(plan["axes"]):
            np.testing.assert_array_equal(grid[axis["name"]][()], axis["values"])
            assert grid[axis["name"]].attrs["units"] == axis["unit"]
            assert grid.attrs[f"{axis['name']}_indices"] == k
        assert grid[_attr(grid.attrs["signal"])].shape == tuple(plan["shape"])


def test_every_dataset_of_the_data_carries_its_units(runs):
    for path in runs.values():
        with h5py.File(path, "r") as f:
            found = []
            for group in ("entry/data", "entry/grid", "entry/parameters"):
                if group in f:
                    f[group].visititems(lambda name, obj: found.append((name, obj)) if isinstance(obj, h5py.Dataset)
                                        else None)
            missing = [name for name, ds in found if name != "row" and "units" not in ds.attrs]
            assert found and not missing, missing
        units = json.loads(h5py.File(path, "r").attrs["units"])
        with h5py.File(path, "r") as f:
            assert f["entry/data/field"].attrs["units"] == units["field"] == "T"
            assert f["entry/parameters/temperature" if "tmr" in path.name else
                     "entry/parameters/temperature_start"].attrs["units"] == "K"


def test_a_map_opens_in_xarray_with_both_axes_named_and_their_units(runs):
    xr = pytest.importorskip("xarray")
    pytest.importorskip("h5netcdf")
    ds = xr.open_dataset(runs["rt-map"], engine="h5netcdf", group="entry/grid")
    try:
        assert ds["resistance"].dims == ("field", "temperature")
        assert ds["field"].attrs["units"] == "T" and ds["temperature"].attrs["units"] == "K"
        np.testing.assert_allclose(ds["temperature"].values, [6.0, 6.5, 7.0])
        assert ds["resistance"].attrs["units"] == "Ohm"
        run = load_run(runs["rt-map"])
        np.testing.assert_array_equal(ds["resistance"].values, run.grid["resistance"])
    finally:
        ds.close()
    rows = xr.open_dataset(runs["tmr"], engine="h5netcdf", group="entry/data")
    try:
        assert rows["resistance"].dims == ("row",) and rows["field"].attrs["units"] == "T"
    finally:
        rows.close()


def test_to_xarray_has_the_plans_axes_as_coordinates_and_the_parameters_with_units(runs):
    pytest.importorskip("xarray")
    ds = load_run(runs["rt-map"]).to_xarray()
    assert list(ds["resistance"].dims) == ["field", "temperature"]
    assert ds["field"].attrs["units"] == "T"
    assert ds.attrs["temperature_start"] == 6.0 and ds.attrs["temperature_start_units"] == "K"
    assert "temperature_measured" in ds  # the measured temperature at each grid place
    loop = load_run(runs["tmr"]).to_xarray()
    assert loop["resistance"].dims == ("row",) and loop["resistance"].attrs["units"] == "Ohm"
    np.testing.assert_allclose(loop["field_setpoint"].values, loop["field"].values, atol=2e-4)


# --------------------------------------------------------------------------- reading
def test_a_format_1_file_still_loads(tmp_path):
    run = load_run(OLD_FILE)
    assert run.format_version == 1 and run.status == "finished" and run.procedure == "rt-map"
    assert run.grid["resistance"].shape == (3, 3) and np.isfinite(run.grid["resistance"]).all()
    assert len(run.data["resistance"]) == 9 and run.units["resistance"] == "Ohm"
    pytest.importorskip("xarray")
    assert run.to_xarray()["resistance"].dims == ("field", "temperature")


def test_open_run_reads_columns_on_demand(runs):
    whole = load_run(runs["tmr"])
    with open_run(runs["tmr"]) as lazy:
        column = lazy.data["resistance"]
        assert not isinstance(column, np.ndarray)  # not read yet
        assert len(column) == len(whole.data["resistance"])
        np.testing.assert_array_equal(column[3:7], whole.data["resistance"][3:7])
        assert column[-1] == whole.data["resistance"][-1]
        np.testing.assert_array_equal(np.asarray(column), whole.data["resistance"])


def test_a_run_being_written_shows_its_nexus_tree_to_another_reader(tmp_path):
    """What a viewer opening the file mid-run sees: the NeXus tree and the rows so far."""
    run = RunFile.create(tmp_path / "live.h5", procedure="synthetic", parameters={}, units=UNITS, plan=_plan(),
                         flush_interval=0)
    for point in list(_plan().pending(run.done))[:10]:
        run.append({"field": point.setpoints["field"], "resistance": 1.0, "time": 0.0}, point)
    with h5py.File(tmp_path / "live.h5", "r", swmr=True) as f:
        assert f["entry/data/resistance"].shape == (10,)
        assert _attr(f["entry/data"].attrs["signal"]) == "resistance"
        assert f["entry/status"][()] == b"running"
    run.close("finished")
