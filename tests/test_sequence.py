"""Sequence files: validation before anything moves, failure policies, dry run, and
resume after the process is killed at random moments."""

import json
import re
import os
import pathlib
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from click.testing import CliRunner

from cryo_acq.campaign import sequence as S
from cryo_acq.cli.campaign import campaign
from cryo_acq.station import Station
from cryo_acq.station.file import parse as parse_station
from cryo_acq.station.file import resolve
from cryo_acq.run.storage import load_run

from conftest import sent_to_all

ROOT = pathlib.Path(__file__).parents[1]


def _write(tmp_path, text, name="seq.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def _station_file(tmp_path, faults=""):
    """dilution-b, with ``faults`` (YAML list items) in its sim section."""
    text = resolve("dilution-b").read_text()
    if faults:
        text = text.replace("sim:\n", "sim:\n  faults:\n" + textwrap.indent(textwrap.dedent(faults), "    "))
    path = tmp_path / "dilution-b.yaml"
    path.write_text(text)
    return path


def _h5(folder):
    return sorted(pathlib.Path(folder).glob("*.h5")) if pathlib.Path(folder).exists() else []


# --------------------------------------------------------------------------- parsing and expansion
def test_loops_expand_to_the_cartesian_product_first_key_outermost(tmp_path):
    seq = S.load(_write(tmp_path, """\
        name: night
        station: dilution-b
        steps:
          - run: hanle
            parameters: {field_max: 0.1, field_step: 0.02}
            loop: {channel: [L06, L08, L30], alignment: [parallel, antiparallel]}
            before: {field: {x: 0.0, z: 0.0}}
          - wait: 600
          - run: tmr
            parameters: {field_max: 0.01, field_step: 0.002}
        """))
    runs = seq.runs
    assert [(e.loop["channel"], e.loop["alignment"]) for e in runs[:6]] == [
        ("L06", "parallel"), ("L06", "antiparallel"), ("L08", "parallel"), ("L08", "antiparallel"),
        ("L30", "parallel"), ("L30", "antiparallel")]
    assert runs[0].values == {"field_max": 0.1, "field_step": 0.02, "channel": "L06", "alignment": "parallel"}
    assert [e.file for e in runs] == [f"night-{n:03d}-hanle.h5" for n in range(1, 7)] + ["night-007-tmr.h5"]
    assert runs[0].points == 11 and runs[-1].points == 22
    assert [e.kind for e in seq.entries] == ["run"] * 6 + ["action", "run"]
    assert seq.entries[6].action.describe() == "wait 600 s" and seq.entries[6].line == 8
    assert runs[0].before[0].describe() == "field x=0 T, z=0 T"  # a single mapping is a one-item list
    assert seq.total_points == 6 * 11 + 22


def test_failure_policy_and_guards_merge_over_the_station(tmp_path):
    seq = S.load(_write(tmp_path, """\
        station: dilution-b
        on_failure: retry
        retries: 3
        guards:
          temperature: {settle: 30}
          lockin_overload: null
        steps:
          - run: tmr
          - run: tmr
            on_failure: skip
        """))
    assert seq.name == "seq"  # the file name
    assert [(e.on_failure, e.retries) for e in seq.runs] == [("retry", 3), ("skip", 3)]
    config = parse_station(
        resolve("dilution-b").read_text().replace(
            "safe_state:", "guards:\n  temperature: {tolerance: 0.02}\n  lockin_overload: {}\n\nsafe_state:"))
    assert S.merged_guards(config, seq) == {"temperature": {"tolerance": 0.02, "settle": 30}}


@pytest.mark.parametrize("text, messages", [
    ("steps: []", ["line 1, steps", "at least 1"]),
    ("steps:\n  - run: tmr\n    paramters: {}\n", ["line 3, step 1 (tmr), paramters",
                                                   "unknown key 'paramters'", "did you mean 'parameters'"]),
    ("steps:\n  - temperature: 1.5\n    wait: 10\n", ["line 2, step 1", "exactly one of temperature, field, wait"]),
    ("steps:\n  - run: tmr\n    on_failure: ignore\n",
     ["line 3, step 1 (tmr), on_failure", "'stop', 'skip' or 'retry'"]),
    ("steps:\n  - run: tmr\n    loop: {temperature: 1.5}\n", ["line 3", "give a list of values"]),
    ("steps:\n  - sleep: 10\n", ["line 2, step 1", "needs `run: PROCEDURE` or one station action"]),
    ("steps:\n  - run: tmr\n    parameters: {field_step: 0.003}\n", ["line 2, step 1 (tmr)", "does not divide"]),
    ("steps: [\n", ["not valid YAML"]),
])
def test_schema_errors_name_line_step_and_what_is_allowed(text, messages):
    with pytest.raises(S.SequenceError) as info:
        S.parse(text, "bad.yaml")
    for message in messages:
        assert message in str(info.value)


# --------------------------------------------------------------------------- refused before anything moves
BAD = """\
    name: bad
    station: dilution-b
    steps:
      - run: tmr
        parameters: {field_max: 0.01, field_step: 0.002}
      - run: tmrr
      - run: hanle
        parameters: {feild_max: 0.1}
      - run: tmr
        parameters: {field_max: 0.01, field_step: 0.002}
        loop: {temperature: [1.5, 12.0]}
      - run: hanle
        loop: {channel: [L08, L99]}
      - run: nl-switch
        parameters: {excitation: 1.0}
      - field: {z: 3.0}
    """


def test_an_invalid_sequence_is_rejected_naming_every_entry_nothing_sent_nothing_written(tmp_path):
    path = _write(tmp_path, BAD)
    station = Station.from_yaml("dilution-b", sim=True)  # connected (that sends); from here on nothing may be
    before = sent_to_all(station)
    with pytest.raises(S.SequenceError) as info:
        S.load(path)  # what needs no station: names, values pymeasure refuses
    text = str(info.value)
    assert "line 6, step 2, run: unknown procedure 'tmrr' (did you mean 'tmr'?); known: amr, didv, hanle" in text
    assert ("line 8, step 3 (hanle), parameters.feild_max: hanle has no parameter 'feild_max' "
            "(did you mean 'field_max'?)") in text
    assert "line 15, step 6 (nl-switch), parameters.excitation: excitation=1: FloatParameter value is above " \
           "the maximum (allowed 1e-12 .. 0.001 A)" in text

    # the limits need the station: check every run's plan against it, sending nothing
    seq = S.parse(BAD.replace("      - run: tmrr\n", "").replace("feild_max", "field_max")
                  .replace("excitation: 1.0", "excitation: 1.0e-8"), path)
    out = tmp_path / "out"
    with pytest.raises(S.SequenceError) as info:
        S.SequenceRun(seq, station, out).start()
    text = str(info.value)
    # (without the tmrr step, the later steps are one line up and one step down)
    assert "line 8, step 3 (tmr temperature=12): temperature set-point 12 K outside the station range" in text
    assert "line 11, step 4 (hanle channel=L99): hanle: no channel 'L99'" in text
    assert "line 15, step 6 (field z=3 T): field 3 T on axis z exceeds the station limit |B_z| <= 2 T" in text
    assert len(info.value.problems) == 3
    assert "temperature=1.5" not in text  # the valid loop value is not blamed
    assert sent_to_all(station) == before  # nothing was sent to any instrument
    assert not out.exists()  # no run file, no state, no log
    station.close()


def test_cli_refuses_an_invalid_sequence_with_exit_code_2_and_writes_nothing(tmp_path):
    path = _write(tmp_path, BAD)
    out = tmp_path / "out"
    result = CliRunner().invoke(campaign, ["sequence", str(path), "--sim", "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "refused: sequence file" in result.output and "unknown procedure 'tmrr'" in result.output
    assert not out.exists()


# --------------------------------------------------------------------------- failure policies
POLICY = """\
    name: pol
    on_failure: {policy}
    retries: 2
    retry_delay: 30000
    steps:
      - run: tmr
        parameters: {{temperature: 1.5, field_max: 0.01, field_step: 0.002}}
      - run: rt                     # four_probe: the only run that needs lockin_a
        parameters: {{temperature_start: 1.5, temperature_stop: 1.6, temperature_step: 0.05}}
      - run: tmr
        parameters: {{temperature: 1.5, field_max: 0.01, field_step: 0.002, current: 2.0e-7}}
    """
DEAD = "- {instrument: lockin_a, kind: stop_answering, start: 5}\n"  # from 5 s on, for ever
GONE_A_WHILE = "- {instrument: lockin_a, kind: stop_answering, start: 5, duration: 20000}\n"


@pytest.mark.parametrize("policy, fault, status, statuses, attempts", [
    ("stop", DEAD, "stopped", ["finished", "failed", "pending"], [1, 1, 0]),
    ("skip", DEAD, "incomplete", ["finished", "failed", "finished"], [1, 1, 1]),
    ("retry", DEAD, "stopped", ["finished", "failed", "pending"], [1, 3, 0]),  # 1 + 2 retries, then stop
    ("retry", GONE_A_WHILE, "finished", ["finished", "finished", "finished"], [1, 2, 1]),
])
def test_on_failure_stop_skip_retry(tmp_path, policy, fault, status, statuses, attempts):
    seq = S.parse(textwrap.dedent(POLICY).format(policy=policy), tmp_path / "pol.yaml")
    station = Station.from_yaml(_station_file(tmp_path, fault), sim=True)
    outcome = S.SequenceRun(seq, station, tmp_path / "out").start()
    station.close()
    assert outcome.status == status
    assert [r["status"] for _, r in outcome.entries] == statuses
    assert [r["attempts"] for _, r in outcome.entries] == attempts
    rt = load_run(tmp_path / "out" / "pol-002-rt.h5")
    if status == "finished":  # the retry continued the same file once the instrument was back
        assert rt.status == "finished" and sorted(rt.plan_index.tolist()) == [0, 1, 2]
        assert [k for _, k, _ in rt.log].count("resume") == 1
    else:
        assert rt.status == "failed" and "lockin_a gave no valid reply" in outcome.entries[1][1]["reason"]
        assert "lockin_a" in rt.reason or "prepare" in rt.reason
    state = json.loads((tmp_path / "out" / "pol.state.json").read_text())
    assert state["status"] == status and [e["status"] for e in state["entries"]] == statuses
    log = (tmp_path / "out" / "pol.log").read_text()
    assert "run 2 (step 2, line 8): rt: failed: InstrumentUnresponsive: lockin_a gave no valid reply" in log
    assert (policy == "skip") == ("skipped (on_failure: skip)" in log)
    if status == "stopped":
        assert not (tmp_path / "out" / "pol-003-tmr.h5").exists()


def test_a_stopped_sequence_resumes_and_refuses_to_start_twice(tmp_path):
    seq = S.parse(textwrap.dedent("""\
        name: st
        steps:
          - run: tmr
            parameters: {field_max: 0.01, field_step: 0.002}
            loop: {current: [1.0e-7, 2.0e-7, 3.0e-7]}
        """), tmp_path / "st.yaml")
    station = Station.from_yaml("dilution-b", sim=True)
    holder = {}

    def stop_midway(p):
        if p.entry.number == 2 and p.entry_done == 7:
            holder["run"].stop()

    holder["run"] = S.SequenceRun(seq, station, tmp_path / "out", on_progress=stop_midway)
    outcome = holder["run"].start()
    assert outcome.status == "aborted"
    assert [r["status"] for _, r in outcome.entries] == ["finished", "aborted", "pending"]
    assert load_run(tmp_path / "out" / "st-002-tmr.h5").status == "aborted"
    with pytest.raises(S.SequenceError, match="already ran in .* --resume"):
        S.SequenceRun(seq, station, tmp_path / "out").start()
    changed = S.parse(textwrap.dedent("""\
        name: st
        steps:
          - run: tmr
            parameters: {field_max: 0.01, field_step: 0.002}
            loop: {current: [1.0e-7, 2.0e-7, 4.0e-7]}
        """), tmp_path / "st.yaml")
    with pytest.raises(S.SequenceError, match="the sequence changed since it started"):
        S.SequenceRun(changed, station, tmp_path / "out", resume=True).start()
    outcome = S.SequenceRun(seq, station, tmp_path / "out", resume=True).start()
    assert outcome.status == "finished"
    run = load_run(tmp_path / "out" / "st-002-tmr.h5")
    assert sorted(run.plan_index.tolist()) == list(range(22)) and run.metadata["resumed"] == 1
    station.close()


# --------------------------------------------------------------------------- dry run
def test_dry_run_prints_every_run_and_the_lab_time_estimated_by_simulation_and_writes_nothing(tmp_path):
    path = _write(tmp_path, """\
        name: dry
        station: dilution-b
        steps:
          - run: tmr
            parameters: {field_max: 0.01, field_step: 0.002}
            loop: {temperature: [1.5, 2.0]}
          - wait: 3600
          - run: hanle
            parameters: {field_max: 0.1, field_step: 0.02}
            loop: {channel: [L06, L30]}
        """)
    out = tmp_path / "out"
    cwd = os.getcwd()
    os.chdir(tmp_path)  # the default out folder (runs/dry) must not appear either
    try:
        result = CliRunner().invoke(campaign, ["sequence", str(path), "--dry-run", "--out", str(out)],
                                    env={"COLUMNS": "200"})
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.output
    text = result.output
    assert "4 runs, 1 actions, 66 points" in text and "checked against the limits of dilution-b" in text
    assert "step 1 (line 4) tmr: field_max=0.01, field_step=0.002; loop over temperature" in text
    for row in ("run 1: tmr", "temperature=1.5", "run 2: tmr", "temperature=2", "wait 3600 s", "run 3: hanle",
                "channel=L06", "run 4: hanle", "channel=L30"):
        assert row in text
    assert "1 h 00 min" in text or "60 min" in text  # the wait, measured on the simulated station
    assert "total: 4 runs, 66 points, lab time" in text and "estimated by simulation" in text
    assert "nothing moved, no file written" in text
    assert not out.exists() and not (tmp_path / "runs").exists()


def test_the_example_night_validates_and_runs_in_simulation(tmp_path):
    """The shipped night: dry run by name on dilution-b (which simulates every run)."""
    result = CliRunner().invoke(campaign, ["sequence", "night-dilution-b", "--station", "dilution-b", "--dry-run",
                                           "--out", str(tmp_path / "out")], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "12 runs, 3 actions" in result.output and "OK" in result.output
    assert "did not finish in the simulation" not in result.output  # every run finished in the rehearsal
    hours = float(result.output.split("lab time ")[-1].split("(")[1].split(" h)")[0])
    assert 5 < hours < 14  # a night
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- killed and resumed
KILL = """\
    name: kill
    station: dilution-b
    steps:
      - run: tmr
        parameters: {temperature: 1.5, field_max: 0.01, field_step: 0.002}
        loop: {current: [5.0e-8, 1.0e-7, 1.5e-7, 2.0e-7], excitation: [1.0e-8, 2.0e-8]}
      - wait: 300
      - run: nl-switch
        parameters: {field_step: 0.004}
        loop: {channel: [L06, L08, L30], injection_current: [1.0e-7, 2.0e-7]}
      - temperature: 0.05
      - run: hanle
        parameters: {field_max: 0.1, field_step: 0.02}
        loop: {channel: [L06, L08, L30], alignment: [parallel, antiparallel]}
      - run: nl-map
        parameters: {current_start: -1.0e-6, current_stop: 1.0e-6, current_step: 1.0e-6, field_step: 0.01}
    """


def _signature(out: pathlib.Path):
    """Something that changes with every point measured and every status change."""
    state = out / "kill.state.json"
    statuses = ()
    if state.exists():
        statuses = tuple(e["status"] for e in json.loads(state.read_text())["entries"])  # atomic: always whole
    mtimes = tuple(p.stat().st_mtime_ns for p in _h5(out))
    return statuses, mtimes


def test_killed_ten_times_at_random_moments_every_point_measured_exactly_once(tmp_path):
    path = _write(tmp_path, KILL, "kill.yaml")
    out = tmp_path / "out"
    seq = S.load(path)
    assert len(seq.runs) >= 20
    rng = random.Random(20241124)
    command = [sys.executable, "-m", "cryo_acq.cli.campaign", "sequence", str(path), "--sim", "--out", str(out)]
    kills = 0
    for attempt in range(10):
        with open(tmp_path / f"session-{attempt}.txt", "w") as log:
            proc = subprocess.Popen(command + (["--resume"] if attempt else []), cwd=ROOT, stdout=log,
                                    stderr=subprocess.STDOUT)
        start = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                signature = _signature(out)
            except (OSError, ValueError):
                signature = None
            if start is None:
                start = signature
            elif signature != start:  # progress: a point or a status change
                break
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.3))
        assert proc.poll() is None, f"the sequence ended before kill {attempt + 1}"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        kills += 1
        state = S.State.load(out / "kill.state.json")  # never half written
        assert state.data["status"] == "running"  # killed: it never got to say otherwise
    assert kills == 10
    state = S.State.load(out / "kill.state.json")
    assert any(e["status"] != "finished" for e in state.entries)

    result = subprocess.run(command + ["--resume"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    state = S.State.load(out / "kill.state.json")
    assert state.data["status"] == "finished" and state.data["sessions"] == 11
    assert all(e["status"] == "finished" for e in state.entries)
    resumed = 0
    for entry in seq.runs:
        run = load_run(out / entry.file)  # every file readable
        assert run.status == "finished"
        assert len(run.done) == entry.points and run.done.all()
        assert sorted(run.plan_index.tolist()) == list(range(entry.points))  # each point exactly once
        if run.metadata.get("resumed", 0):
            resumed += 1
            assert any(kind == "resume" for _, kind, _ in run.log)  # the interruption is in the file
    assert resumed >= 1
    assert sorted(p.name for p in _h5(out)) == sorted(e.file for e in seq.runs)  # nothing else left behind
    assert not list(out.glob("*.unreadable*"))  # no file was damaged by a kill
    log = (out / "kill.log").read_text()
    assert log.count("resuming sequence kill") == 10


# --------------------------------------------------------------------------- labels
LABELLED = """\
    name: lab
    station: vti-a01
    steps:
      - run: tmr
        label: A01-tmr-{temperature}K
        parameters: {field_max: 0.01, field_step: 0.002}
        loop: {temperature: [1.5, 2.0]}
      - run: rt
        label: A01-rt
        parameters: {temperature_start: 1.5, temperature_stop: 1.6, temperature_step: 0.05}
    """


def test_labels_name_runs_and_their_files(tmp_path):
    seq = S.parse(textwrap.dedent(LABELLED), tmp_path / "lab.yaml")
    assert [e.label for e in seq.runs] == ["A01-tmr-1.5K", "A01-tmr-2K", "A01-rt"]
    assert [e.file for e in seq.runs] == ["A01-tmr-1.5K.h5", "A01-tmr-2K.h5", "A01-rt.h5"]
    station = Station.from_yaml("vti-a01", sim=True)
    outcome = S.SequenceRun(seq, station, tmp_path / "out").start()
    station.close()
    assert outcome.status == "finished"
    run = load_run(tmp_path / "out" / "A01-tmr-2K.h5")
    assert run.metadata["parameters"]["temperature"]["value"] == 2.0


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace("label: A01-rt", "label: A01-tmr-1.5K"),
     "label 'A01-tmr-1.5K' names two runs (step 1 tmr temperature=1.5 and step 2 rt)"),
    (lambda t: t.replace("A01-tmr-{temperature}K", "A01-tmr-{current}"), "{current} is not a loop key"),
    (lambda t: t.replace("label: A01-rt", "label: A01/rt"), "letters, digits"),
    (lambda t: t.replace("A01-tmr-{temperature}K", "A01-tmr"), "label 'A01-tmr' names two runs"),
])
def test_bad_labels_are_refused(tmp_path, edit, message):
    with pytest.raises(S.SequenceError, match=re.escape(message)):
        S.parse(edit(textwrap.dedent(LABELLED)), tmp_path / "lab.yaml")


def test_the_papers_campaign_ships_as_sequence_files():
    """The demo's campaign is two ordinary sequence files, one per station, in the users' schema."""
    from cryo_acq.report.demo import PAPER_SEQUENCES, sequence_files

    seqs = [S.load(name) for name in PAPER_SEQUENCES]
    assert [s.station for s in seqs] == ["vti-a01", "dilution-b"]
    runs = [e for s in seqs for e in s.runs]
    assert len(runs) == 40 and sum(e.points for e in runs) == 12442
    labels = [e.label for e in runs]
    assert len(set(labels)) == len(labels) and all(labels)  # one out folder holds both
    assert [p.stem for p in sequence_files()] == list(PAPER_SEQUENCES)  # the demo runs exactly these
    # the quick copies (for tests) hold the same kinds of run under the same labels, fewer of them
    quick = [e for p in sequence_files(quick=True) for e in S.load(p).runs]
    assert {e.label for e in quick} < set(labels) and {e.procedure for e in quick} == {e.procedure for e in runs}
    result = CliRunner().invoke(campaign, ["sequence", "list"], terminal_width=200)
    assert result.exit_code == 0 and "paper-a01" in result.output and "paper-b" in result.output
