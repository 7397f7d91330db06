"""rt and rt-map through the runner on the simulated shipped stations, the temperature
ramp they use, and the command line. Every number comes from the run file."""

import importlib.util
import pathlib
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from cryo_acq.cli import main
from cryo_acq.run.runner import Runner
from cryo_acq.station import Station
from cryo_acq.run.storage import load_run
from procedures.rt import RT
from procedures.rt_map import RTMap

from conftest import received, sent, sent_to_all

R_N = 20.0  # ohm, A01 just above Tc (the sample model's documented choice)
TRANSITION = {"temperature_start": 7.0, "temperature_stop": 6.2}


def _make(cls, **params):
    p = cls()
    p.set_parameters(params)
    return p


def _onset(temperature, resistance, r_n, level=0.9):
    """Where R first falls below ``level`` R_N on cooling, interpolated (K)."""
    order = np.argsort(temperature)[::-1]
    t, r = temperature[order], resistance[order]
    i = int(np.flatnonzero(r < level * r_n)[0])
    return t[i - 1] + (level * r_n - r[i - 1]) * (t[i] - t[i - 1]) / (r[i] - r[i - 1])


@pytest.fixture(scope="module")
def a01(tmp_path_factory):
    """One vti-a01 session shared by the runs of this module (as in the lab)."""
    st = Station.from_yaml("vti-a01", sim=True)
    st.folder = tmp_path_factory.mktemp("runs")
    yield st
    st.close()


@pytest.fixture(scope="module")
def idle():
    """A vti-a01 station for refusals: nothing may reach it."""
    st = Station.from_yaml("vti-a01", sim=True)
    yield st
    st.close()


@pytest.fixture(scope="module")
def stepped(a01):
    return load_run(Runner(a01, _make(RT, temperature_step=-0.05, **TRANSITION), folder=a01.folder).run())


# --------------------------------------------------------------------------- rt
def test_rt_stepped_shows_the_transition(stepped):
    run = stepped
    assert run.status == "finished"
    assert run.units == {"temperature": "K", "field": "T", "resistance": "Ohm", "temperature_at_reading": "K",
                         "lockin_tau": "s", "lockin_poles": "", "time": "s"}
    assert run.plan["mode"] == "stepped" and run.done.all()
    t, r = run.data["temperature"], run.data["resistance"]
    planned = np.array(run.plan["axes"][0]["values"])
    assert len(t) == len(planned) == 17
    assert np.all(np.abs(t - planned) < 0.02)  # stabilised at each step (measured values)
    assert r[0] == pytest.approx(R_N, rel=0.03)
    assert _onset(t, r, r[0]) == pytest.approx(6.6, abs=0.1)
    assert r[-1] < 0.01 * r[0]  # zero resistance below T_BKT
    assert np.all(run.data["field"] == pytest.approx(0.0, abs=1e-6))


def test_rt_reentrant_phase_and_field_screening(a01, stepped):
    r_n = stepped.data["resistance"][0]
    low = load_run(Runner(a01, _make(RT, temperature_start=1.5, temperature_stop=1.5), folder=a01.folder).run())
    assert low.status == "finished"
    assert low.data["resistance"][0] / r_n == pytest.approx(0.4, abs=0.05)  # resistive FM phase
    screened = load_run(Runner(a01, _make(RT, temperature_start=1.5, temperature_stop=1.5, field=4.0,
                                          field_rate=0.01), folder=a01.folder).run())
    assert screened.data["field"][0] == pytest.approx(4.0, abs=1e-3)  # above B_K (3 T at 1.5 K)
    assert abs(screened.data["resistance"][0]) < 0.01 * r_n  # re-entrant superconductivity


def test_rt_continuous_matches_stepped_and_records_the_measured_temperature(a01, stepped):
    p = _make(RT, temperature_step=-0.02, mode="continuous", ramp_rate=0.005, **TRANSITION)
    fridge = a01.lab.fridge
    true, goal = [], []  # stage temperature and control set-point as each row is written (sim internals)

    def watch(_):
        true.append(fridge.temperature)
        goal.append(fridge.goal_at(a01.clock.now()))

    count = sent(a01, "thermometry")
    run = load_run(Runner(a01, p, folder=a01.folder, on_progress=watch).run())
    count = sent(a01, "thermometry") - count
    assert run.status == "finished"
    assert run.plan["mode"] == "continuous" and run.plan["rate"] == 0.005
    t, r = run.data["temperature"], run.data["resistance"]
    planned = np.array(run.plan["axes"][0]["values"])
    assert len(t) == len(planned) == 41
    assert _onset(t, r, r[0]) == pytest.approx(_onset(stepped.data["temperature"], stepped.data["resistance"],
                                                      stepped.data["resistance"][0]), abs=0.1)
    # the temperature of each row is the thermometer's when the lock-in was read, not the set-point
    assert np.all(np.abs(t - np.array(true)) < 0.01)
    assert np.median(np.abs(t - np.array(goal))) > 0.1  # the ramping set-point leads the sample by ~rate * tau
    assert np.mean(t != planned) > 0.9
    assert np.all(np.abs(t - planned) < 0.02)
    assert np.all(np.diff(t) < 0.005)  # read on the way down
    # the Lake Shore ramped at 0.3 K/min, switched off at the end: later set-points are steps again
    messages = [m for _, m in received(a01, "thermometry")]
    assert count <= len(messages)  # the log still holds every message of this run
    ramps = [m for m in messages[-count:] if m.startswith("RAMP ")]  # off (steps), on once, off at the end
    on = ramps.index("RAMP 1,1,0.3")
    assert ramps.count("RAMP 1,1,0.3") == 1
    assert all(m.startswith("RAMP 1,0,") for m in ramps[:on] + ramps[on + 1:])
    assert len(ramps) > on + 1  # switched off after the sweep
    assert fridge.ramp_rate == 0


def _refused(station, procedure, folder):
    before = sent_to_all(station)
    with pytest.raises(ValueError) as info:
        Runner(station, procedure, folder=folder).run()
    assert sent_to_all(station) == before  # nothing sent
    assert not folder.exists() or not any(folder.iterdir())  # no file
    return str(info.value)


@pytest.mark.parametrize("params, message", [
    ({"temperature_stop": 1.0}, "outside the station range"),
    ({"temperature_start": 301.0, "temperature_stop": 299.0, "temperature_step": -1.0}, "outside the station range"),
    ({"field": 10.5}, "exceeds the station limit"),
    ({"field": 2.0, "field_rate": 0.05}, "ramp rate"),
    ({"temperature_start": float("nan")}, "finite"),
    ({"field": float("nan")}, "finite"),
    ({"temperature_step": 0.0}, "step is zero"),
    ({"temperature_step": 0.02}, "points away"),
    ({"temperature_step": -0.03}, "does not divide"),
    ({"excitation": 1e-6}, "outside its range"),  # 10 V rms through 10 Mohm: beyond the SR830
    ({"mode": "continuous", "ramp_rate": 0.0}, "positive ramp_rate"),
    ({"mode": "continuous", "ramp_rate": 0.004}, "steps of 0.1 K/min"),
    ({"mode": "continuous", "ramp_rate": 5.0}, "ramp_rate too fast"),
    ({"mode": "continuous", "ramp_rate": 5.0, "accept_rate_error": True}, "outside the controller's range"),
    ({"mode": "continuous", "temperature_stop": 7.0}, "temperature_stop != temperature_start"),
])
def test_rt_refuses_bad_input_sending_nothing(idle, tmp_path, params, message):
    p = _make(RT, **{**TRANSITION, "temperature_step": -0.02, **params})
    assert message in _refused(idle, p, tmp_path / "runs")


def test_rt_on_the_dilution_fridge(station_factory, tmp_path):
    st = station_factory("dilution-b")  # Device B: Tc0 3.5 K, Triton, 3-axis magnet
    run = load_run(Runner(st, _make(RT, temperature_start=4.0, temperature_stop=3.0, temperature_step=-0.5),
                          folder=tmp_path).run())
    assert run.status == "finished"
    r = run.data["resistance"]
    assert r[0] > 1.0 and abs(r[-1]) < 0.01 * r[0]  # normal at 4 K, superconducting at 3 K
    assert np.all(np.abs(run.data["field"]) < 1e-6)


# --------------------------------------------------------------------------- rt-map
def test_rt_map_grid_holds_the_reentrant_region(a01):
    p = _make(RTMap, temperature_start=1.5, temperature_stop=7.5, temperature_step=2.0,
              field_start=0.0, field_stop=4.0, field_step=2.0, field_rate=0.01)
    run = load_run(Runner(a01, p, folder=a01.folder).run())
    assert run.status == "finished"
    assert run.plan["shape"] == [3, 4] and run.plan["snake"] is True
    assert [a["name"] for a in run.plan["axes"]] == ["field", "temperature"]
    r, t, b = run.grid["resistance"], run.grid["temperature"], run.grid["field"]
    assert np.allclose(t, [[1.5, 3.5, 5.5, 7.5]] * 3, atol=0.02)  # snake rows are put back in place
    assert np.allclose(b, [[0.0] * 4, [2.0] * 4, [4.0] * 4], atol=1e-3)
    assert run.data["temperature"][4] == pytest.approx(7.5, abs=0.02)  # the second row ran hot -> cold
    assert r[0, 0] / R_N == pytest.approx(0.4, abs=0.05)  # low T, low B: resistive (FM phase)
    assert abs(r[2, 0]) < 0.01 * R_N  # low T, 4 T: zero (re-entrant superconductivity)
    assert np.all(np.abs(r[:, 2]) < 0.01 * R_N)  # 5.5 K: superconducting at every field
    assert np.all(r[:, 3] == pytest.approx(R_N, rel=0.05))  # 7.5 K: normal


@pytest.mark.parametrize("params, message", [
    ({"axis": "z"}, "no magnet axis 'z'"),
    ({"field_stop": 12.0}, "exceeds the station limit"),
    ({"field_step": -2.0}, "points away"),
    ({"temperature_start": 1.0}, "does not divide"),
    ({"temperature_start": 0.5, "temperature_step": 1.0}, "outside the station range"),
    ({"field_rate": 0.02}, "ramp rate"),
    ({"field_stop": float("nan")}, "finite"),
])
def test_rt_map_refuses_bad_input_sending_nothing(idle, tmp_path, params, message):
    p = _make(RTMap, **{"temperature_start": 1.5, "temperature_stop": 7.5, "temperature_step": 2.0,
                        "field_start": 0.0, "field_stop": 4.0, "field_step": 2.0, **params})
    assert message in _refused(idle, p, tmp_path / "runs")


# --------------------------------------------------------------------------- temperature ramp
@pytest.mark.parametrize("name, start, stop, rate", [
    ("vti-a01", 7.0, 6.0, 0.005),            # Lake Shore 336: RAMP 1,1,0.3
    ("dilution-b", 1.0, 1.5, 0.001),         # Triton: RAMP:RATE, RAMP:ENAB
    ("ami-ls372.yaml", 1.0, 0.5, 0.001),     # Lake Shore 372: RAMP 0,1,0.06
])
def test_start_ramp_moves_the_set_point_at_the_rate(station_factory, name, start, stop, rate):
    st = station_factory(name)
    tc, clock, fridge = st.temperature, st.clock, st.lab.fridge
    tc.set_temperature(start)
    tc.wait_stable(tolerance=0.002 * start)
    tc.start_ramp(stop, rate)
    t0 = clock.now()
    assert fridge.ramp_rate == pytest.approx(rate)
    clock.sleep(100.0)
    expected = start + np.sign(stop - start) * rate * (clock.now() - t0)
    assert fridge.goal_at(clock.now()) == pytest.approx(expected, abs=0.02 * abs(stop - start))
    clock.sleep(abs(stop - start) / rate + 10 * fridge.time_constant)
    assert tc.temperature() == pytest.approx(stop, rel=0.01)
    tc.stop_ramp()
    assert fridge.ramp_rate == 0
    tc.set_temperature(start)  # a step again
    assert fridge.goal_at(clock.now() + 1.0) == pytest.approx(start)


def test_start_ramp_refuses_sending_nothing(idle):
    tc = idle.temperature
    before = sent(idle, "thermometry")
    for kelvin, rate, message in [(1.0, 0.005, "outside the station range"), (float("nan"), 0.005, "outside"),
                                  (6.0, 0.0, "ramp rate"), (6.0, float("nan"), "ramp rate"),
                                  (6.0, 2.0, "ramp rate"), (6.0, 0.0042, "steps of 0.1 K/min")]:
        with pytest.raises(ValueError, match=message):
            tc.start_ramp(kelvin, rate)
    assert sent(idle, "thermometry") == before


# --------------------------------------------------------------------------- command line
def test_cli_runs_rt_on_the_sim_station_and_prints_the_file(tmp_path):
    out = tmp_path / "runs"
    result = CliRunner().invoke(main, ["run", "rt", "--station", "vti-a01", "--sim", "-p", "temperature_start=6.8",
                                       "-p", "temperature_stop=6.4", "-p", "temperature_step=-0.1",
                                       "-p", "mode=continuous", "--out", str(out)])
    assert result.exit_code == 0, result.output
    path = result.output.strip().splitlines()[-1]
    assert path.startswith(str(out)) and path.endswith(".h5")
    run = load_run(path)
    assert run.status == "finished" and len(run.data["resistance"]) == 5
    assert run.metadata["parameters"]["mode"] == {"value": "continuous", "units": ""}


def test_cli_refuses_a_temperature_outside_the_limits(tmp_path):
    result = CliRunner().invoke(main, ["run", "rt", "--station", "vti-a01", "--sim", "-p", "temperature_stop=1.0",
                                       "-p", "temperature_step=-0.5", "--out", str(tmp_path / "runs")])
    assert result.exit_code == 2
    assert "refused" in result.output and "outside the station range" in result.output
    assert not (tmp_path / "runs").exists()


# --------------------------------------------------------------------------- the default check
def test_a_procedure_states_no_limit_checks_and_is_still_refused_by_its_plan_axes(station_factory, tmp_path):
    """A new procedure that declares only its plan gets its plan's temperatures, fields and
    currents checked against the station's limits, before anything is sent."""
    from conftest import sent_to_all

    from cryo_acq.run.runner import Runner
    from cryo_acq.run.sweeps import Axis, Plan
    from procedures.base import CryoProcedure

    class Sketch(CryoProcedure):
        NAME = "sketch"
        COLUMNS = {"resistance": "Ohm"}
        axes: list = []

        def plan(self):
            return Plan(*self.axes)

        def prepare(self, station):
            raise AssertionError("never reached: refused first")

        def measure(self, station, point):
            raise AssertionError("never reached")

    st = station_factory("vti-a01")
    cases = [([Axis("field", "T", np.array([0.0, 12.0]))], "exceeds the station limit"),
             ([Axis("temperature", "K", np.array([1.5, 0.5]))], "outside the station range"),
             ([Axis("current", "A", np.array([0.0, 1.0]))], "exceeds the station limit"),
             ([Axis("field_perp", "T", np.array([0.0, 0.1]))], "no magnet axis 'z'")]
    before = sent_to_all(st)
    for axes, message in cases:
        sketch = Sketch()
        sketch.axes = axes
        with pytest.raises(ValueError, match=message):
            Runner(st, sketch, folder=tmp_path / "runs").run()
    assert sent_to_all(st) == before and not (tmp_path / "runs").exists()


def test_a_continuous_rt_gives_the_stepped_tc0_and_t_bkt_within_10_mk(a01):
    """7.0 -> 6.2 K in 20 mK steps: stepped (set, stabilise, settle, read at each) and
    continuous (ramped at 0.3 K/min, each reading assigned to the temperature one lock-in
    delay before it). The Halperin-Nelson fit's Tc0 and T_BKT agree within 10 mK, and the
    continuous sweep takes less fridge time."""
    from cryo_acq.analysis import fit_run
    params = dict(temperature_step=-0.02, **TRANSITION)
    runs = {mode: load_run(Runner(a01, _make(RT, mode=mode, ramp_rate=0.005, **params), folder=a01.folder).run())
            for mode in ("stepped", "continuous")}
    fits = {mode: fit_run("bkt-rt", run)[0].values for mode, run in runs.items()}
    for name in ("Tc0", "T_BKT"):
        assert fits["continuous"][name] == pytest.approx(fits["stepped"][name], abs=0.010), name
    continuous = runs["continuous"]
    assert any(kind == "correction" for _, kind, _ in continuous.log)
    delay = continuous.data["lockin_poles"][0] * continuous.data["lockin_tau"][0]
    # the reading belongs to the sample one delay before it, which the thermometer shows its
    # lag later: the temperature assigned is the thermometer's (delay - lag) before the reading
    lag = a01.temperature.thermometer_lag
    assert lag == 1.5  # vti-a01's station file
    drift = continuous.data["temperature"] - continuous.data["temperature_at_reading"]
    assert abs(np.median(drift)) <= 0.005 * abs(delay - lag) + 1e-3  # never faster than the set-point's ramp
    fridge = {mode: np.ptp(run.data["time"]) for mode, run in runs.items()}
    assert fridge["continuous"] < 0.5 * fridge["stepped"]


def test_a_continuous_rt_map_ramps_each_line_and_keeps_the_stepped_onsets(a01):
    """Two fields, 7.0 <-> 6.2 K as a snake: each line one set-point ramp (the second one
    warming), each reading assigned to the temperature a lock-in delay before it; the grid
    holds the planned temperatures and each line's onset is the stepped map's within 20 mK."""
    params = dict(temperature_start=7.0, temperature_stop=6.2, temperature_step=-0.05, field_start=0.0,
                  field_stop=1.0, field_step=1.0, field_rate=0.01)
    stepped = load_run(Runner(a01, _make(RTMap, **params), folder=a01.folder).run())
    run = load_run(Runner(a01, _make(RTMap, mode="continuous", ramp_rate=0.005, **params), folder=a01.folder).run())
    assert run.status == "finished" and run.plan["mode"] == "continuous"
    planned = np.array(run.plan["axes"][1]["values"])
    np.testing.assert_allclose(run.grid["temperature"], [planned, planned], atol=0.02)
    second = run.data["temperature"][planned.size:]
    assert np.all(np.diff(second) > 0)  # the snake's second line warms
    for i in range(2):
        onsets = [_onset(r.grid["temperature"][i], r.grid["resistance"][i], r.grid["resistance"][i].max())
                  for r in (stepped, run)]
        assert onsets[1] == pytest.approx(onsets[0], abs=0.02), i
    assert np.ptp(run.data["time"]) < 0.5 * np.ptp(stepped.data["time"])


def test_the_thermometers_lag_behind_the_sample_is_corrected_as_the_station_file_says(tmp_path):
    """The simulated VTI's thermometer reads 1.5 s behind the sample. Swept continuously down
    and then up through the transition at 0.3 K/min, the onsets differ by the lag's false
    hysteresis when the station file does not declare it, and agree within 3 mK when it
    does, within 4 mK (vti-a01 declares thermometer_lag: 1.5)."""
    from cryo_acq.station.file import resolve

    text = resolve("vti-a01").read_text()
    undeclared = tmp_path / "vti-no-lag.yaml"
    undeclared.write_text(text.replace("thermometer_lag: 1.5", "thermometer_lag: 0.0"))
    onsets = {}
    for name, station_file in (("declared", "vti-a01"), ("undeclared", undeclared)):
        with Station.from_yaml(station_file, sim=True) as st:
            for start, stop, step in ((7.0, 6.2, -0.02), (6.2, 7.0, 0.02)):
                p = _make(RT, temperature_start=start, temperature_stop=stop, temperature_step=step,
                          mode="continuous", ramp_rate=0.005)
                run = load_run(Runner(st, p, folder=tmp_path / name).run())
                assert run.status == "finished", run.reason
                t, r = run.data["temperature"], run.data["resistance"]
                onsets[name, step < 0] = _onset(t, r, np.max(r))
    declared = onsets["declared", True] - onsets["declared", False]
    undeclared_gap = onsets["undeclared", True] - onsets["undeclared", False]
    assert abs(declared) < 0.004  # measured 2.9 mK: the jump residual and noise
    assert undeclared_gap > 0.006  # measured 8.6 mK = 2 x stage rate x lag: cooling reads warm, warming cold
