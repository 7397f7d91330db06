"""The run catalogue: an SQLite index of the run files beside them."""

import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from cryo_acq.campaign import catalogue
from cryo_acq.cli.campaign import campaign
from cryo_acq.run.runner import Runner
from cryo_acq.station import Station
from cryo_acq.run.storage import load_run
from procedures.hanle import Hanle
from procedures.tmr import TMR

ROOT = pathlib.Path(__file__).parents[1]

WRITER = """
import sys
from cryo_acq.run.runner import Runner
from cryo_acq.station import Station
from procedures.tmr import TMR
st = Station.from_yaml("vti-a01", sim=True)
p = TMR()
p.set_parameters({"field_max": 0.05, "field_step": 0.0001, "temperature": 1.6})
Runner(st, p, path=sys.argv[1]).run()
"""


def _tmr(**params):
    p = TMR()
    p.set_parameters({"field_max": 0.01, "field_step": 0.002, **params})
    return p


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Five runs: three tmr (one aborted), a hanle, one killed (interrupted); a corrupt file,
    a truncated one, and a run file in a sub-folder."""
    folder = tmp_path_factory.mktemp("runs")
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(folder / "killed.h5")], cwd=ROOT)
    st = Station.from_yaml("dilution-b", sim=True)
    Runner(st, _tmr(temperature=1.5), path=folder / "tmr-1.5.h5").run()
    Runner(st, _tmr(temperature=2.0, current=2e-7), path=folder / "tmr-2.0.h5").run()
    runner = Runner(st, _tmr(temperature=1.2), path=folder / "tmr-aborted.h5")
    runner.on_progress = lambda p: runner.stop() if p.done == 5 else None
    runner.run()
    hanle = Hanle()
    hanle.set_parameters({"channel": "L08", "field_max": 0.1, "field_step": 0.02})
    (folder / "sub").mkdir()
    Runner(st, hanle, path=folder / "sub" / "hanle-L08.h5").run()
    st.close()
    (folder / "corrupt.h5").write_bytes(b"this is not an HDF5 file\n" * 10)
    data = (folder / "tmr-1.5.h5").read_bytes()
    (folder / "truncated.h5").write_bytes(data[: len(data) // 3])
    deadline = time.monotonic() + 60  # kill the writer once it has measured something
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if len(load_run(folder / "killed.h5").data["field"]) >= 10:
                break
        except (OSError, KeyError, ValueError):
            pass
        time.sleep(0.01)
    assert proc.poll() is None
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return folder


def _names(entries):
    return sorted(pathlib.Path(e.path).name for e in entries)


def test_lists_every_run_with_its_status_points_and_parameters(folder):
    entries = {e.path: e for e in catalogue.query(folder)}
    assert set(entries) == {"tmr-1.5.h5", "tmr-2.0.h5", "tmr-aborted.h5", os.path.join("sub", "hanle-L08.h5"),
                            "killed.h5", "corrupt.h5", "truncated.h5"}
    done = entries["tmr-1.5.h5"]
    assert (done.procedure, done.status, done.points_done, done.points_planned) == ("tmr", "finished", 22, 22)
    assert done.parameters["temperature"] == 1.5 and done.parameters["field_max"] == 0.01
    assert done.duration > 100 and done.started  # station seconds from the file's finished_meta
    assert (done.station, done.sample, done.configuration) == ("dilution-b", load_run(folder / "tmr-1.5.h5").sample,
                                                                "mtj")
    assert done.units["temperature"] == "K" and done.units["field_max"] == "T"
    aborted = entries["tmr-aborted.h5"]
    assert (aborted.status, aborted.points_done, aborted.points_planned) == ("aborted", 5, 22)
    killed = entries["killed.h5"]  # its writer died: listed, with what it holds
    assert killed.status == "interrupted" and killed.points_done >= 10 and killed.points_planned == 2002
    assert killed.duration > 0  # the span of its time column
    for name in ("corrupt.h5", "truncated.h5"):
        assert entries[name].status == "unreadable" and entries[name].error and not entries[name].readable
    assert catalogue.index_path(folder).exists()


def test_filters_by_procedure_status_and_parameter_ranges(folder):
    assert _names(catalogue.query(folder, procedure="tmr")) == ["killed.h5", "tmr-1.5.h5", "tmr-2.0.h5",
                                                                 "tmr-aborted.h5"]
    assert _names(catalogue.query(folder, status="finished")) == ["hanle-L08.h5", "tmr-1.5.h5", "tmr-2.0.h5"]
    assert _names(catalogue.query(folder, status="unreadable")) == ["corrupt.h5", "truncated.h5"]
    assert _names(catalogue.query(folder, where={"temperature": (1.4, 1.7)})) == ["killed.h5", "tmr-1.5.h5"]
    assert _names(catalogue.query(folder, procedure="tmr", where={"temperature": (None, 1.5),
                                                                  "current": (None, 1.5e-7)})) == [
        "tmr-1.5.h5", "tmr-aborted.h5"]
    assert _names(catalogue.query(folder, where={"channel": "L08"})) == ["hanle-L08.h5"]
    assert _names(catalogue.query(folder, where={"current": 2e-7})) == ["tmr-2.0.h5"]
    assert catalogue.parse_where("temperature=0.01..0.1") == ("temperature", (0.01, 0.1))
    assert catalogue.parse_where("temperature=..0.1") == ("temperature", (None, 0.1))
    assert catalogue.parse_where("channel=L08") == ("channel", "L08")
    with pytest.raises(ValueError, match="empty"):
        catalogue.parse_where("temperature=2..1")


def test_rebuilds_when_the_index_is_deleted_and_rereads_changed_files(folder, tmp_path):
    before = [(e.path, e.status, e.points_done) for e in catalogue.query(folder)]
    catalogue.index_path(folder).unlink()
    assert [(e.path, e.status, e.points_done) for e in catalogue.query(folder)] == before
    assert catalogue.index_path(folder).exists()

    # a stale row: a copy of the aborted run, indexed, then resumed to the end
    import shutil

    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(folder / "tmr-aborted.h5", work / "a.h5")
    assert [(e.status, e.points_done) for e in catalogue.query(work)] == [("aborted", 5)]
    Runner.for_resume(work / "a.h5").run()
    assert [(e.status, e.points_done) for e in catalogue.query(work)] == [("finished", 22)]
    (work / "a.h5").unlink()
    assert catalogue.query(work) == []  # the row of a file that is gone is dropped


def test_a_folder_that_cannot_be_written_keeps_its_index_in_memory_for_the_process(folder, tmp_path,
                                                                                    monkeypatch):
    import shutil

    shutil.copy(folder / "tmr-2.0.h5", tmp_path / "x.h5")
    monkeypatch.setattr(catalogue, "_writable", lambda f: False)
    reads = []
    original = catalogue.read_summary
    monkeypatch.setattr(catalogue, "read_summary", lambda path: reads.append(path) or original(path))
    assert [e.status for e in catalogue.query(tmp_path)] == ["finished"]
    assert [e.status for e in catalogue.query(tmp_path)] == ["finished"]
    assert len(reads) == 1  # the second listing read nothing: the file had not changed
    assert not catalogue.index_path(tmp_path).exists()


def test_update_indexes_one_file(folder, tmp_path):
    import shutil

    shutil.copy(folder / "tmr-2.0.h5", tmp_path / "x.h5")
    entry = catalogue.update(tmp_path, tmp_path / "x.h5")
    assert (entry.path, entry.status, entry.parameters["current"]) == ("x.h5", "finished", 2e-7)
    assert catalogue.update(tmp_path, tmp_path / "missing.h5") is None


def test_cli_lists_a_table_with_filters_and_unreadable_files(folder):
    result = CliRunner().invoke(campaign, ["runs", str(folder)], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    for text in ("tmr-1.5.h5", "killed.h5", "interrupted", "aborted", "5/22", "22/22", "corrupt.h5", "unreadable",
                 "channel=L08", "7 run(s)"):
        assert text in result.output
    result = CliRunner().invoke(campaign, ["runs", str(folder), "--procedure", "tmr", "--status", "finished",
                                           "--where", "temperature=1.9..2.1"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "tmr-2.0.h5" in result.output and "tmr-1.5.h5" not in result.output and "1 run(s)" in result.output
    assert "temperature=2" in result.output and "current=2e-07" in result.output  # the key parameters
    result = CliRunner().invoke(campaign, ["runs", str(folder), "--where", "temperature"])
    assert result.exit_code == 2 and "name=lo..hi" in result.output
