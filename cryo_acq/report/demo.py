"""``cryo-acq demo``: the paper's campaign on the simulated lab, fitted and plotted.

:func:`run_demo` is nothing of its own: it runs the paper's shipped sequence files, one
per station (``paper-a01`` on ``vti-a01``, ``paper-b`` on ``dilution-b``; ``cryo-acq
sequence list``), both at once, one process per station
(:func:`~cryo_acq.campaign.parallel.run_parallel`), then makes the paper's shipped report
file of the run files (:func:`~cryo_acq.report.make.make_report`). A user who copies those
three files and changes them gets their own campaign and summary the same way::

    cryo-acq sequence my-a01.yaml my-b.yaml --sim --out runs/mine
    cryo-acq report my-report.yaml runs/mine --out mine

Output (``out``)::

    summary.md                 the numbers, the paper's values, the figures, the run files
    fig1c_vi.png ... fig4d_hanle.png
    runs/<date-time>/<sequence>/*.h5   one run file per measurement (never overwritten)

See ``docs/demo.md``.
"""

from __future__ import annotations

import datetime as _dt
import pathlib
import time
from typing import Callable

import threading

from cryo_acq.campaign import sequence as sequences
from cryo_acq.campaign.parallel import StationJob, run_parallel
from cryo_acq.report.make import Arrivals, make_report

#: the shipped sequence files that hold the paper's campaign, one per station
PAPER_SEQUENCES = ("paper-a01", "paper-b")
#: the shipped report file of the paper's fits, figures and summary
PAPER_REPORT = "paper"


def sequence_files(quick: bool = False) -> list[pathlib.Path]:
    """The paper's sequence files: the shipped ones, or (``quick``) their reduced copies for
    tests (``cryo_acq/campaign/shipped/quick/``: the same runs, coarser steps, fewer values)."""
    from cryo_acq.station.file import shipped_files

    shipped = shipped_files("sequences")
    paths = [shipped[name] for name in PAPER_SEQUENCES]
    return [p.parent / "quick" / p.name for p in paths] if quick else paths


def _folder(out: pathlib.Path) -> pathlib.Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    folder, n = out / "runs" / stamp, 1
    while folder.exists():
        n += 1
        folder = out / "runs" / f"{stamp}-{n}"
    return folder


def run_demo(out="demo", jobs: int = 2, quick: bool = False,
             progress: Callable[[str], None] | None = None) -> pathlib.Path:
    """Run the paper's sequences on the simulated stations (both at once), then make the
    paper's report of their run files; returns the path of ``summary.md``.

    ``out``: output folder. ``jobs``: worker processes for the fits and figures (the
    stations always run in one process each). ``quick``: the reduced sequences, for tests.
    ``progress``: called with a line of text as each run starts and each fit and figure is done.
    Raises RuntimeError if a sequence did not finish (its run files stay in ``out/runs/``).
    From a script, call this under ``if __name__ == "__main__":`` (the workers are spawned).
    """
    out = pathlib.Path(out)
    folder = _folder(out)
    folder.mkdir(parents=True)
    t0 = time.perf_counter()
    say = progress or (lambda line: None)

    def stamp(line: str) -> None:
        say(f"[{time.perf_counter() - t0:5.1f} s] {line}")

    def on_event(name: str, kind: str, message: str) -> None:
        if kind in ("start", "failed", "retry", "abort"):
            stamp(f"{name}: {message}")

    paths = sequence_files(quick)
    arrivals = Arrivals({e.label for path in paths for e in sequences.load(path).runs})
    measured: dict = {}

    def measure() -> None:  # in a thread: the report's fits start as their runs finish
        try:
            measured["outcomes"] = run_parallel(
                [StationJob(str(path), str(folder / path.stem), sim=True) for path in paths],
                on_event=on_event, on_run=lambda name, label, file: arrivals.finished_run(label))
        except BaseException as exc:  # noqa: BLE001 - raised again below, in the caller's thread
            measured["error"] = exc
        finally:
            measured["seconds"] = time.perf_counter() - t0
            arrivals.end()

    thread = threading.Thread(target=measure, name="stations")
    thread.start()
    try:
        made = make_report(PAPER_REPORT, [folder], out, jobs=jobs, progress=stamp, arrivals=arrivals,
                           preamble=lambda: _preamble(measured, quick))
    finally:
        thread.join()
    if "error" in measured:
        raise measured["error"]
    unfinished = [o for o in measured["outcomes"].values() if o.status != "finished"]
    if unfinished:
        raise RuntimeError("; ".join(f"sequence {o.name} {o.status}: {o.reason}" for o in unfinished)
                           + f"; run files in {folder}")
    lab = sum(o.lab_seconds for o in measured["outcomes"].values())
    wall = time.perf_counter() - t0
    say(f"done in {wall:.1f} s wall: {lab / 3600:.1f} h of lab time ({lab / wall:.0f} lab s per wall s)")
    return made.summary


def _preamble(measured: dict, quick: bool) -> str:
    outcomes = measured.get("outcomes") or {}
    lab, seconds = sum(o.lab_seconds for o in outcomes.values()), measured.get("seconds", 0.0)
    return (f"Measured by `cryo-acq demo`{' (quick sequences: coarser steps, fewer values)' if quick else ''}: "
            f"the sequences {', '.join(f'`{o.name}`' for o in outcomes.values())} on their simulated stations, "
            f"one process each, **{lab / 3600:.1f} h of lab time in {seconds:.1f} s of wall time** "
            f"({lab / max(seconds, 1e-9):.0f} lab seconds per wall second); the fits began as their runs finished.")


def steps(quick: bool = False) -> int:
    """How many runs, fits and figures the demo does (for a progress bar)."""
    from cryo_acq.report.reportfile import load

    report = load(PAPER_REPORT)
    runs = sum(len(sequences.load(p).runs) for p in sequence_files(quick))
    return runs + len(report.fits) + len(report.figures)


__all__ = ["PAPER_REPORT", "PAPER_SEQUENCES", "run_demo", "sequence_files", "steps"]
