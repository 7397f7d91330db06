"""A disk that fills: refused before the run, paused by the disk guard, and when a write
fails anyway, a run that stops safely with a file that loads and resumes."""

import errno
import os
import pathlib
import subprocess
import sys
import textwrap
import uuid

import numpy as np
import pytest

from cryo_acq.run import storage
from cryo_acq.run.runner import Runner
from cryo_acq.station import Station
from cryo_acq.station.file import resolve
from cryo_acq.run.storage import load_run
from procedures.tmr import TMR

from conftest import sent_to_all

ROOT = pathlib.Path(__file__).parents[1]


def _station(tmp_path, min_free=None):
    text = resolve("vti-a01").read_text()
    if min_free is not None:
        text = text.replace("sim:\n", f"guards:\n  disk: {{min_free: {min_free}, poll: 60}}\n\nsim:\n")
    path = tmp_path / "station.yaml"
    path.write_text(text)
    return Station.from_yaml(path, sim=True)


def _tmr(step=0.002):
    p = TMR()
    p.set_parameters({"field_max": 0.03, "field_step": step})
    return p


def _leftovers(folder):
    """Files a writer makes for itself and must not leave behind."""
    return [p.name for p in pathlib.Path(folder).iterdir() if p.name.endswith((".reserve", ".creating", ".resuming"))]


def test_a_disk_too_small_is_refused_before_anything(tmp_path, monkeypatch):
    st = _station(tmp_path)
    before = sent_to_all(st)
    monkeypatch.setattr(storage.disk, "free_space", lambda folder: 300 * 1024)
    with pytest.raises(ValueError, match="not enough disk space .* needs about"):
        Runner(st, _tmr(), folder=tmp_path / "runs").run()
    assert sent_to_all(st) == before
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
    st.close()


def test_the_disk_guard_pauses_until_space_returns(tmp_path, monkeypatch):
    st = _station(tmp_path, min_free=10 * 1024**2)
    real = storage.disk.free_space
    calls = {"n": 0}

    def free(folder):  # another process fills the disk for a while, then space is freed
        calls["n"] += 1
        return 1024**2 if 20 < calls["n"] < 30 else real(folder)

    monkeypatch.setattr(storage.disk, "free_space", free)
    run = load_run(Runner(st, _tmr(), folder=tmp_path / "runs").run())
    assert run.status == "finished"
    assert sorted(run.plan_index.tolist()) == list(range(len(_tmr().plan())))
    pauses = [m for _, kind, m in run.log if kind == "pause"]
    assert any("disk nearly full" in m for m in pauses)
    assert any(kind == "resume" for _, kind, _ in run.log)
    st.close()


def test_a_failed_write_stops_safely_and_the_run_resumes(tmp_path, monkeypatch):
    """ENOSPC injected at the row write: measuring stops, the instruments go safe, the file
    loads with every point flushed before, status says disk full; resume completes it."""
    st = _station(tmp_path)
    original = storage.RunFile._write_block
    calls = {"n": 0}

    def write_block(self):
        calls["n"] += 1
        if calls["n"] == 12:
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(self)

    monkeypatch.setattr(storage.RunFile, "_write_block", write_block)
    runner = Runner(st, _tmr(), folder=tmp_path / "runs", flush_interval=0)  # a write per row
    path = runner.run()
    run = load_run(path)
    assert run.status == "failed" and "disk full" in run.reason
    assert len(run.data["field"]) == 11 and run.done.sum() == 11
    assert not st.source().output_enabled  # safe state reached
    assert _leftovers(tmp_path / "runs") == []  # no reserve, no .creating
    st.close()
    monkeypatch.setattr(storage.RunFile, "_write_block", original)
    resumed = load_run(Runner.for_resume(path).run())
    assert resumed.status == "finished"
    assert sorted(resumed.plan_index.tolist()) == list(range(len(_tmr().plan())))


@pytest.fixture
def small_disk(tmp_path):
    """A real 2 MiB file system (tmpfs); skipped where mounting is not allowed."""
    mount = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


WRITER = textwrap.dedent("""
    import errno, sys, pathlib
    sys.path.insert(0, sys.argv[3])
    from cryo_acq.run.runner import Runner
    from cryo_acq.station import Station
    from procedures.tmr import TMR

    def _fill(folder):  # another process fills the disk to the last byte
        with open(folder / "filler.bin", "wb", buffering=0) as fh:
            for size in (65536, 4096, 512, 1):
                try:
                    while True:
                        fh.write(b"\\0" * size)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
    st = Station.from_yaml(sys.argv[1], sim=True)
    p = TMR()
    p.set_parameters({"field_max": 0.03, "field_step": 0.0002})  # rows beyond the first chunk
    runner = Runner(st, p, folder=sys.argv[2])
    runner.on_progress = lambda pr: _fill(pathlib.Path(sys.argv[2])) if pr.done == 15 else None
    path = runner.run()
    print(runner.status, runner.reason, sep="|")
    print(path)
""")


def test_a_real_disk_that_fills_mid_run(small_disk, tmp_path):
    """On a real full file system, in a process of its own: no crash, no traceback, a file
    that loads with the points measured, the station safe; resume finishes once space is back."""
    station = tmp_path / "station.yaml"
    station.write_text(resolve("vti-a01").read_text().replace(
        "sim:\n", "guards:\n  disk: {min_free: 0}\n\nsim:\n"))
    done = subprocess.run([sys.executable, "-c", WRITER, str(station), str(small_disk), str(ROOT)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    status, path = done.stdout.strip().splitlines()[-2:]
    assert status.startswith("failed|disk full")
    run = load_run(path)
    assert run.status == "failed" and "disk full" in run.reason
    n = len(_tmr(0.0002).plan())
    assert 15 <= len(run.data["field"]) < n
    assert np.all(np.isfinite(run.data["resistance"]))
    assert _leftovers(small_disk) == []
    (small_disk / "filler.bin").unlink()  # space is back
    st = Station.from_yaml(station, sim=True)
    resumed = load_run(Runner.for_resume(path, station=st).run())
    st.close()
    assert resumed.status == "finished"
    assert sorted(resumed.plan_index.tolist()) == list(range(n))
    assert _leftovers(small_disk) == []


def test_a_sequence_too_large_for_the_disk_is_refused(tmp_path, monkeypatch):
    from cryo_acq.campaign import sequence as S

    path = tmp_path / "seq.yaml"
    path.write_text(textwrap.dedent("""\
        name: night
        station: vti-a01
        steps:
          - run: tmr
            parameters: {field_max: 0.03, field_step: 0.002}
            loop: {temperature: [1.5, 2.0, 3.0]}
        """))
    seq = S.load(path)
    st = _station(tmp_path)
    before = sent_to_all(st)
    monkeypatch.setattr(storage.disk, "free_space", lambda folder: 10 * 1024**2)
    with pytest.raises(S.SequenceError, match=r"not enough disk space .* sequence night \(3 runs, 186 points\)"):
        S.SequenceRun(seq, st, tmp_path / "out").start()
    assert sent_to_all(st) == before
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    st.close()


def test_leftovers_of_dead_writers_are_swept(tmp_path):
    """A writer killed while creating (or resuming) a file leaves a tagged scratch file; the
    next writer in the folder deletes it, unless its process still runs."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = [tmp_path / f"tmr-1.h5.{dead.pid}.creating", tmp_path / f".tmr-1.h5.{dead.pid}.reserve",
             tmp_path / f"tmr-2.h5.{dead.pid}.resuming"]
    live = tmp_path / f"tmr-3.h5.{os.getpid()}.creating"
    for p in stale + [live]:
        p.write_bytes(b"\0" * 1000)
    st = _station(tmp_path)
    load_run(Runner(st, _tmr(), folder=tmp_path).run())
    st.close()
    assert _leftovers(tmp_path) == [live.name]
