"""Bad input gets one clear line and exit code 2, before any file or instrument."""

import os

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from cryo_acq.cli import main
from cryo_acq.station.file import StationFileError, load, resolve
from cryo_acq.campaign.sequence import SequenceError
from cryo_acq.campaign.sequence import load as load_sequence
from cryo_acq.run.sweeps import PlanError, span

VTI = resolve("vti-a01").read_text()


def _cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _one_line_refusal(result, needle):
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    assert needle in result.output
    return lines


# --------------------------------------------------------------------------- station and sequence files
@pytest.mark.parametrize("edit, needle", [
    (lambda t: t.replace("  smu_compliance: 10.0", "  smu_compliance: 10.0\n  smu_compliance: 1000.0"),
     "key 'smu_compliance' given twice (lines 49 and 50)"),
    (lambda t: t + "\nlimits:\n  temperature: {min: 1.4, max: 300}\n  smu_compliance: 10\n",
     "key 'limits' given twice"),
    (lambda t: t.replace("x: {max: 10.0,", "x: {max: .inf,"), "finite number"),
    (lambda t: t.replace("norm: 10.0", "norm: .nan"), "finite number"),
])
def test_station_file_refusals(tmp_path, edit, needle):
    path = tmp_path / "station.yaml"
    path.write_text(edit(VTI))
    with pytest.raises(StationFileError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        load(path)
    lines = _one_line_refusal(_cli("station", "check", path, "--sim"), needle)
    assert len(lines) == 1


def _bomb(levels=12):
    text = 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    previous = "a"
    for i in range(levels):
        name = f"l{i}"
        text += f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]\n"
        previous = name
    return text


def test_alias_bomb_is_refused_at_once(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(_bomb())
    with pytest.raises(StationFileError, match="aliases expand to more than"):
        load(path)
    seq = tmp_path / "bomb-seq.yaml"
    seq.write_text(_bomb())
    with pytest.raises(SequenceError, match="aliases expand to more than"):
        load_sequence(seq)


def test_small_anchors_still_work(tmp_path):
    text = VTI.replace("    four_probe: {max_current: 200.0e-6, max_voltage: 1.0}",
                       "    four_probe: &lim {max_current: 200.0e-6, max_voltage: 1.0}")
    text = text.replace("    co_amr: {max_current: 20.0e-6, max_voltage: 1.0}", "    co_amr: *lim")
    path = tmp_path / "anchors.yaml"
    path.write_text(text)
    config, _, _ = load(path)
    assert config.limits.configurations["co_amr"].max_current == pytest.approx(200e-6)


def test_duplicate_keys_in_sequence_files(tmp_path):
    path = tmp_path / "seq.yaml"
    path.write_text("station: vti-a01\nsteps:\n  - run: rt\n    run: tmr\n")
    with pytest.raises(SequenceError, match=r"key 'run' given twice \(lines 3 and 4\)"):
        load_sequence(path)


def test_non_utf8_station_file(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(VTI.replace("Device A01", "Device \u00b5A01").encode("latin-1"))
    lines = _one_line_refusal(_cli("station", "check", path), "not UTF-8 text (byte 0xb5")
    assert len(lines) == 1


# --------------------------------------------------------------------------- run arguments
def test_a_parameter_given_twice(tmp_path):
    result = _cli("run", "tmr", "--station", "vti-a01", "--sim", "-p", "temperature=1.5", "-p", "temperature=2",
                  "--out", tmp_path / "runs")
    assert len(_one_line_refusal(result, "temperature given twice")) == 1
    assert not (tmp_path / "runs").exists()


def test_a_plan_past_the_point_budget_is_refused_before_allocation(tmp_path):
    with pytest.raises(PlanError, match="more than the 10,000,000"):
        span(7, 6, -1e-9, "temperature")
    result = _cli("run", "rt", "--station", "vti-a01", "--sim", "-p", "temperature_start=7",
                  "-p", "temperature_stop=6", "-p", "temperature_step=-1e-9", "--out", tmp_path / "runs")
    assert len(_one_line_refusal(result, "1,000,000,000 points")) == 1
    assert not (tmp_path / "runs").exists()


def test_an_unwritable_output_folder(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = _cli("run", "tmr", "--station", "vti-a01", "--sim", "--out", blocker / "runs")
    lines = _one_line_refusal(result, "cannot write run files in")
    assert len(lines) == 1


def test_a_bad_resource_names_the_instrument(tmp_path):
    path = tmp_path / "station.yaml"
    path.write_text(VTI.replace("GPIB0::9::INSTR", "GPIB0::nine::INSTR"))
    result = _cli("run", "tmr", "--station", path, "--sim", "--out", tmp_path / "runs")
    lines = _one_line_refusal(result, "lockin_b (sr830 at 'GPIB0::nine::INSTR')")
    assert len(lines) == 1
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


@pytest.mark.parametrize("param, needle", [
    ("temperature=abc", "temperature=abc"), ("temprature=2", "unknown parameter 'temprature'"),
    ("temperature", "expected name=value"), ("field_max=1e9", "field_max=1e9"),
])
def test_bad_parameters_one_line(tmp_path, param, needle):
    result = _cli("run", "tmr", "--station", "vti-a01", "--sim", "-p", param, "--out", tmp_path / "runs")
    assert len(_one_line_refusal(result, needle)) == 1
    assert not (tmp_path / "runs").exists()


def test_asking_a_stepped_only_procedure_to_sweep_continuously_says_why(tmp_path):
    result = _cli("run", "vi", "--station", "vti-a01", "--sim", "-p", "mode=continuous", "--out", tmp_path / "runs")
    assert len(_one_line_refusal(result, "vi has no continuous mode: its voltage is the SMU's own DC reading")) == 1
    assert not (tmp_path / "runs").exists()


# --------------------------------------------------------------------------- damaged run files
def _damaged(tmp_path):
    files = {"empty": b"", "random": os.urandom(4096)}
    for name, data in files.items():
        (tmp_path / f"{name}.h5").write_bytes(data)
    with h5py.File(tmp_path / "layoutless.h5", "w") as f:
        f.create_dataset("x", data=np.arange(10))
    with h5py.File(tmp_path / "half-layout.h5", "w") as f:
        f.attrs["format"] = "cryo_acq run"
    whole = (tmp_path / "layoutless.h5").read_bytes()
    (tmp_path / "truncated.h5").write_bytes(whole[: len(whole) // 2])
    return sorted(tmp_path.glob("*.h5"))


@pytest.mark.parametrize("command", [["resume"], ["export", "--csv"], ["fit", "switching"], ["plot"]])
def test_damaged_run_files_get_one_line(tmp_path, command):
    for path in _damaged(tmp_path):
        result = _cli(*command, path)
        lines = _one_line_refusal(result, "run file")
        assert len(lines) == 1 and lines[0].startswith("error: "), (path.name, result.output)
        assert "Traceback" not in result.output


def test_runs_lists_damaged_files_as_unreadable(tmp_path):
    _damaged(tmp_path)
    result = CliRunner().invoke(main, ["runs", str(tmp_path)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert result.output.count("unreadable") == 5
