"""The runner and run files: crash safety, refusals, retries, safe stops."""

import ast
import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from cryo_acq.run.runner import Runner
from cryo_acq.station import Station
from cryo_acq.station.file import resolve
from cryo_acq.run.storage import RunFile, load_run
from cryo_acq.run.sweeps import Axis, Plan, PlanError, loop, span
from procedures.tmr import TMR

from conftest import sent_to_all


def _station(tmp_path, name="vti-a01", extra_sim=""):
    text = resolve(name).read_text()
    if extra_sim:
        text = text.replace("sim:\n", "sim:\n" + textwrap.indent(extra_sim, "  "))
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return Station.from_yaml(path, sim=True)


def _tmr(**params):
    p = TMR()
    p.set_parameters({"field_max": 0.03, "field_step": 0.002, **params})
    return p


def test_tmr_run_file_holds_the_loop_and_everything_about_the_run(tmp_path):
    st = _station(tmp_path)
    path = Runner(st, _tmr(), folder=tmp_path / "runs").run()
    run = load_run(path)
    assert run.status == "finished" and run.finished
    assert set(run.data) == {"temperature", "field", "direction", "resistance", "field_at_reading", "lockin_tau",
                             "lockin_poles", "time"}
    assert run.units == {"temperature": "K", "field": "T", "direction": "", "resistance": "Ohm",
                         "field_at_reading": "T", "lockin_tau": "s", "lockin_poles": "", "time": "s"}
    n = len(_tmr().plan())
    assert run.done.all() and len(run.data["field"]) == n
    assert np.all(np.diff(run.data["time"]) > 0)
    up, down = run.data["direction"] == 1, run.data["direction"] == -1
    r_up = run.data["resistance"][up]
    r_down = run.data["resistance"][down][::-1]
    assert np.max(np.abs(r_up - r_down)) > 0.05 * np.median(r_up)  # the hysteresis is in the file
    assert run.metadata["parameters"]["field_max"] == {"value": 0.03, "units": "T"}
    assert "name: vti-a01" in run.station_file
    assert run.metadata["snapshot_start"]["smu"]["output_enabled"] is False
    assert run.metadata["snapshot_end"]["smu"]["output_enabled"] is False  # safe state at the end
    assert run.metadata["software"]["pymeasure"] == "0.16.0"


def test_plans_refuse_bad_steps():
    with pytest.raises(PlanError, match="step is zero"):
        span(0, 1, 0)
    with pytest.raises(PlanError, match="points away"):
        span(0, 1, -0.1)
    with pytest.raises(PlanError, match="does not divide"):
        span(0, 1, 0.3)
    with pytest.raises(PlanError, match="finite"):
        loop(float("nan"), 0.1)
    assert span(1.0, -1.0, -0.5).tolist() == [1.0, 0.5, 0.0, -0.5, -1.0]  # any direction


def test_snake_map_grid_matches_rows(tmp_path):
    plan = Plan(Axis("field", "T", span(0, 0.04, 0.01)), outer=Axis("injection_current", "A", span(-1e-6, 1e-6, 1e-6)),
                snake=True)
    assert [p.grid for p in plan.points[:7]] == [(0, 0), (0, 1), (0, 2), (0, 3), (0, 4), (1, 4), (1, 3)]
    f = RunFile.create(tmp_path / "map.h5", procedure="nl-map", parameters={}, plan=plan,
                       units={"injection_current": "A", "field": "T", "r_nonlocal": "Ohm"})
    for p in plan.points:
        f.append({**p.setpoints, "r_nonlocal": 10 * p.setpoints["field"] + p.setpoints["injection_current"]}, p)
    f.close("finished")
    run = load_run(tmp_path / "map.h5")
    expected = 10 * np.array(plan.inner.values)[None, :] + np.array(plan.outer.values)[:, None]
    assert np.allclose(run.grid["r_nonlocal"], expected)
    with pytest.raises(FileExistsError):  # never overwritten
        RunFile.create(tmp_path / "map.h5", procedure="x", parameters={}, plan=plan, units={"field": "T"})


@pytest.mark.parametrize("params, message", [
    ({"field_max": 10.5}, "exceeds the station limit"),
    ({"current": 3e-6}, "mtj"),
    ({"temperature": 0.5}, "outside the station range"),
    ({"rate": 0.05}, "ramp rate"),
    ({"field_step": 0.0}, "step must be positive"),
    ({"field_max": float("nan")}, "finite"),
])
def test_bad_input_is_refused_with_zero_writes_and_no_file(tmp_path, params, message):
    st = _station(tmp_path)
    before = sent_to_all(st)
    with pytest.raises(ValueError, match=message):
        Runner(st, _tmr(**params), folder=tmp_path / "runs").run()
    assert sent_to_all(st) == before
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_transient_faults_are_retried_every_point_exactly_once(tmp_path):
    faults = """\
faults:
  - {instrument: lockin_b, kind: timeout, probability: 0.05}
  - {instrument: smu, kind: garbled, probability: 0.05}
"""
    st = _station(tmp_path, extra_sim=faults)
    for name in ("lockin_b", "smu"):
        st._drivers[name].adapter.connection.timeout = 500
    path = Runner(st, _tmr(), folder=tmp_path).run()
    run = load_run(path)
    assert run.status == "finished"
    assert sorted(run.plan_index.tolist()) == list(range(len(_tmr().plan())))  # every point exactly once
    assert any(kind == "retry" for _, kind, _ in run.log)


def test_abort_ends_in_the_safe_state_with_status_written(tmp_path):
    st = _station(tmp_path)
    runner = Runner(st, _tmr(), folder=tmp_path)
    runner.on_progress = lambda p: runner.stop() if p.done == 10 else None
    run = load_run(runner.run())
    assert run.status == "aborted"
    assert len(run.data["field"]) == 10 and run.done.sum() == 10
    smu, lockin = st.source(), st.lockin("lockin_b")
    assert not smu.output_enabled and smu.current == 0
    assert lockin.excitation == pytest.approx(lockin.min_excitation)
    assert not st.magnet.ramping


def test_lost_instrument_fails_the_run_cleanly(tmp_path):
    st = _station(tmp_path, extra_sim="faults:\n  - {instrument: lockin_b, kind: stop_answering, start: 200}\n")
    st._drivers["lockin_b"].adapter.connection.timeout = 500
    run = load_run(Runner(st, _tmr(), folder=tmp_path).run())
    assert run.status == "failed"
    assert "lockin_b gave no valid reply" in run.reason
    assert 0 < len(run.data["field"]) < len(_tmr().plan())
    assert not st.source().output_enabled  # the rest of the station is safe
    assert any(kind == "safe-state" and "lockin_b" in msg for _, kind, msg in run.log)


WRITER = """
import sys
from cryo_acq.run.runner import Runner
from cryo_acq.station import Station
from procedures.tmr import TMR
st = Station.from_yaml("vti-a01", sim=True)
p = TMR()
p.set_parameters({"field_max": 0.05, "field_step": 0.0005})
Runner(st, p, path=sys.argv[1]).run()
"""


@pytest.mark.parametrize("kill_after", [3, 157, 350])
def test_sigkill_leaves_a_readable_file_that_says_it_did_not_finish(tmp_path, kill_after):
    path = tmp_path / "killed.h5"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], cwd=pathlib.Path(__file__).parents[1])
    deadline = time.monotonic() + 120
    rows = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if path.exists():
            try:
                rows = len(load_run(path).data["field"])
            except (OSError, KeyError, ValueError):
                rows = 0
            if rows >= kill_after:
                break
        time.sleep(0.01)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    run = load_run(path)
    assert run.status == "interrupted"  # it did not finish
    n = len(run.data["field"])
    assert n >= kill_after
    assert run.done.sum() == n and run.done[:n].all()  # every flushed point, marked done
    assert np.all(np.isfinite(run.data["resistance"]))
    assert run.plan_index.tolist() == list(range(n))


def _wait_for_rows(path, rows_at_least, proc):
    """Wait until the writer ``proc`` has flushed ``rows_at_least`` rows to ``path``."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if path.exists() and len(load_run(path).data["field"]) >= rows_at_least:
                break
        except (OSError, KeyError, ValueError):
            pass
        time.sleep(0.01)
    assert proc.poll() is None, "the run ended before it could be stopped"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_and_sigterm_end_in_the_safe_state_with_the_file_closed(tmp_path, sig):
    path = tmp_path / "stopped.h5"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], cwd=pathlib.Path(__file__).parents[1])
    _wait_for_rows(path, 20, proc)
    os.kill(proc.pid, sig)
    assert proc.wait(timeout=60) == 0  # the runner handled it: no traceback, normal exit
    run = load_run(path)
    assert run.status == "aborted" and signal.Signals(sig).name in run.reason
    assert 20 <= len(run.data["field"]) < len(run.done)
    end = run.metadata["snapshot_end"]
    assert end["smu"]["output_enabled"] is False and end["smu"]["current_A"] == 0
    assert end["lockin_b"]["excitation_V"] == pytest.approx(0.004)
    assert end["magnet"]["status_x"] == "HOLD"


ZERO_WRITER = """
import sys
from cryo_acq.run.runner import Runner
from cryo_acq.station import Station
from procedures.tmr import TMR
st = Station.from_yaml(sys.argv[2], sim=True)
p = TMR()
p.set_parameters({"field_max": 0.05, "field_step": 0.0005})
runner = Runner(st, p, path=sys.argv[1])
runner.run()
print("field after exit:", st.magnet.field())
"""


def test_sigterm_waits_until_the_magnet_is_at_zero(tmp_path):
    """Safe state ``zero``: the process exits only once the supply reports zero field, and
    says so in the file."""
    station = tmp_path / "zero.yaml"
    station.write_text(resolve("vti-a01").read_text().replace("magnet: hold ", "magnet: zero "))
    path = tmp_path / "stopped.h5"
    proc = subprocess.Popen([sys.executable, "-c", ZERO_WRITER, str(path), str(station)],
                            cwd=pathlib.Path(__file__).parents[1], stdout=subprocess.PIPE, text=True)
    _wait_for_rows(path, 30, proc)
    os.kill(proc.pid, signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    run = load_run(path)
    assert run.status == "aborted"
    confirmed = [m for _, kind, m in run.log if kind == "safe-state" and m.startswith("confirmed")]
    assert confirmed and "magnet: magnet at zero" in confirmed[0] and "smu: output off" in confirmed[0]
    assert abs(run.metadata["snapshot_end"]["magnet"]["field_x_T"]) < 1e-4
    after = ast.literal_eval(out.split("field after exit:")[1].strip())
    assert abs(after["x"]) < 1e-4  # at zero when the process ended, not still ramping


# --------------------------------------------------------------------------- resume
def _kill_when(path, rows_at_least, proc):
    _wait_for_rows(path, rows_at_least, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


@pytest.mark.parametrize("kill_after", [40, 250])  # on the up branch, on the down branch
def test_resume_after_sigkill_measures_every_point_exactly_once(tmp_path, kill_after):
    path = tmp_path / "resumed.h5"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], cwd=pathlib.Path(__file__).parents[1])
    _kill_when(path, kill_after, proc)
    before = load_run(path)
    n_before = len(before.data["field"])

    runner = Runner.for_resume(path)
    assert runner.run() == path
    run = load_run(path)
    assert run.status == "finished"
    plan_size = len(run.done)
    assert sorted(run.plan_index.tolist()) == list(range(plan_size))  # each point once
    assert np.array_equal(run.data["resistance"][:n_before], before.data["resistance"])  # nothing lost
    assert any(kind == "resume" for _, kind, _ in run.log)
    assert run.metadata["resumed"] == 1
    # its lab time covers both stretches: the killed one (timed by its rows) and the resumed one
    first, second = run.metadata["stretches"]
    times = before.data["time"]
    assert first >= times[-1] - times[0] > 0 and second > 0
    assert run.metadata["station_seconds"] == pytest.approx(first + second)
    # the hysteresis survives the interruption: antiparallel window on both branches
    f, d, r = run.data["field"], run.data["direction"], run.data["resistance"]
    r_p = np.median(r[np.abs(f) > 0.035])
    assert np.all(r[(d > 0) & (f > 0.010) & (f < 0.023)] > 1.05 * r_p)
    assert np.all(r[(d < 0) & (f < -0.010) & (f > -0.023)] > 1.05 * r_p)


def test_resume_refuses_a_finished_run(tmp_path):
    st = _station(tmp_path)
    path = Runner(st, _tmr(), folder=tmp_path).run()
    with pytest.raises(ValueError, match="finished"):
        Runner.for_resume(path)


def test_cli_resume_continues_an_aborted_run(tmp_path):
    from click.testing import CliRunner

    from cryo_acq.cli import main

    st = _station(tmp_path)
    runner = Runner(st, _tmr(), folder=tmp_path)
    runner.on_progress = lambda p: runner.stop() if p.done == 7 else None
    path = runner.run()
    result = CliRunner().invoke(main, ["resume", str(path)])
    assert result.exit_code == 0, result.output
    assert "7/62 points done (aborted)" in result.output
    run = load_run(path)
    assert run.status == "finished" and sorted(run.plan_index.tolist()) == list(range(62))
    kinds = [kind for _, kind, _ in run.log]
    assert kinds.index("abort") < kinds.index("previous-status") < kinds.index("resume")
    # the lab time of the run is that of both sessions, each kept
    aborted = load_run(path).metadata["stretches"][0]
    assert len(run.metadata["stretches"]) == 2 and all(s > 0 for s in run.metadata["stretches"])
    assert run.metadata["station_seconds"] == pytest.approx(sum(run.metadata["stretches"]))
    assert run.metadata["station_seconds"] > aborted


# --------------------------------------------------------------------------- guards
def test_temperature_excursion_pauses_and_the_run_resumes_by_itself(tmp_path):
    text = resolve("vti-a01").read_text()
    text = text.replace("safe_state:", "guards:\n  temperature: {tolerance: 0.02, settle: 60, poll: 10, timeout: 3600}\n\nsafe_state:")
    text = text.replace("sim:\n", "sim:\n  excursions:\n    - {start: 200, duration: 400, size: 0.3}\n")
    path = tmp_path / "guarded.yaml"
    path.write_text(text)
    st = Station.from_yaml(path, sim=True)
    run = load_run(Runner(st, _tmr(), folder=tmp_path).run())
    assert run.status == "finished"
    assert sorted(run.plan_index.tolist()) == list(range(len(run.done)))  # every point, once
    kinds = [kind for _, kind, _ in run.log]
    assert "pause" in kinds and "resume" in kinds
    pause = next(t for t, kind, _ in run.log if kind == "pause")
    resumed = next(t for t, kind, _ in run.log if kind == "resume")
    assert 200 <= pause < 260 and resumed > pause + 60
    assert np.all(np.abs(run.data["temperature"] - 1.5) < 0.02)  # nothing measured during the excursion
    assert not np.any((run.data["time"] > pause) & (run.data["time"] < resumed))


def test_guard_that_never_clears_aborts_to_the_safe_state(tmp_path):
    text = resolve("vti-a01").read_text()
    text = text.replace("safe_state:", "guards:\n  temperature: {tolerance: 0.02, settle: 60, poll: 10, timeout: 120}\n\nsafe_state:")
    text = text.replace("sim:\n", "sim:\n  excursions:\n    - {start: 200, duration: 800, size: 3.0}\n")
    path = tmp_path / "guarded.yaml"
    path.write_text(text)
    st = Station.from_yaml(path, sim=True)
    run = load_run(Runner(st, _tmr(), folder=tmp_path).run())
    assert run.status == "aborted" and "temperature did not clear within 120 s" in run.reason
    assert not st.source().output_enabled


def test_memory_stays_flat_over_a_long_run(tmp_path):
    sys.path.insert(0, str(pathlib.Path(__file__).parents[1] / "bench"))
    from bench_memory import long_vi, rss_mb

    procedure = long_vi(24_008)
    st = Station.from_yaml("vti-a01", sim=True)
    rss = {}

    def on_progress(p):
        if p.done in (2_000, 24_008):
            rss[p.done] = rss_mb()

    run = load_run(Runner(st, procedure, folder=tmp_path, on_progress=on_progress).run())
    assert run.status == "finished" and len(run.data["voltage"]) == 24_008
    assert rss[24_008] - rss[2_000] < 15  # MB over 22 000 points
