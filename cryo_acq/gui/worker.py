"""The GUI's worker: one queued run executed by :class:`cryo_acq.run.runner.Runner` in a QThread.

The GUI records through the same path as the command line: the worker builds a
``Runner`` for the station and procedure and calls ``run()``, which writes the HDF5
run file (SWMR, one flushed row per point), and puts the station in its safe state
with the file's status on every exit path. The runner's ``on_progress`` callback
(worker thread) appends each reading to the run's in-memory
:class:`~cryo_acq.gui.plots.RunBuffer` and posts progress to the GUI thread with a
Qt signal (queued connection): no widget is touched from the worker thread.

:class:`RunResults` is what pymeasure's window, manager and browser need of a
pymeasure ``Results`` (``procedure``, ``data_filename``, ``data``), backed by the
run file and the buffer instead of a CSV file.
"""

from __future__ import annotations

import logging
import pathlib
import threading
import time
from dataclasses import dataclass

import numpy as np
from pymeasure.experiment import Procedure
from qtpy import QtCore

from cryo_acq.run.runner import Runner
from cryo_acq.run.storage import load_run, new_run_path

from .plots import PlanInfo, RunBuffer

log = logging.getLogger(__name__)

#: run status (runner / run file) -> pymeasure status shown by the browser
PYMEASURE_STATUS = {"queued": Procedure.QUEUED, "running": Procedure.RUNNING, "finished": Procedure.FINISHED,
                    "aborted": Procedure.ABORTED, "failed": Procedure.FAILED, "refused": Procedure.FAILED,
                    "interrupted": Procedure.FAILED}
#: at most this often (wall s) a progress signal, so a fast simulation cannot flood the GUI
PROGRESS_INTERVAL = 0.05


@dataclass(frozen=True)
class ProgressInfo:
    done: int  #: points measured
    total: int
    station_time: float  #: lab seconds since the run started
    wall_time: float  #: wall seconds since the run started

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0

    def remaining(self) -> tuple[float, float] | None:
        """(lab s, wall s) still to go, extrapolated from the rate so far; None before a point."""
        if self.done <= 0 or self.total <= self.done:
            return (0.0, 0.0) if self.total and self.done >= self.total else None
        left = (self.total - self.done) / self.done
        return self.station_time * left, self.wall_time * left


class RunResults:
    """One run as the GUI holds it: procedure, plan, in-memory buffer, run-file path, status."""

    def __init__(self, procedure, folder, plan=None, buffer: RunBuffer | None = None, path: str = "",
                 status: str = "queued", reason: str = ""):
        self.procedure = procedure
        self.procedure_class = type(procedure)
        self.parameters = procedure.parameter_objects()
        self.folder = pathlib.Path(folder)
        self.plan = plan  #: the sweeps.Plan to run (None for a run re-opened from its file)
        self.buffer = buffer if buffer is not None else RunBuffer(procedure.DATA_COLUMNS, PlanInfo.of(plan))
        self.data_filename = str(path)  #: the run file; chosen when the run starts
        self.status = status
        self.reason = reason
        self.progress: ProgressInfo | None = None
        self.log: list[tuple[float, str, str]] = []  #: the run file's interruption log (after the run)
        self.metadata: dict = {}  #: the run file's metadata (re-opened runs)
        procedure.status = PYMEASURE_STATUS[status]

    @property
    def units(self) -> dict[str, str]:
        return self.procedure.units()

    @property
    def data(self):
        """The readings so far as a pandas DataFrame (what pymeasure's own curves poll)."""
        import pandas as pd

        n, cols, _ = self.buffer.snapshot()
        return pd.DataFrame({c: cols[c][:n] for c in self.buffer.columns})

    def set_status(self, status: str, reason: str = "") -> None:
        self.status, self.reason = status, reason
        self.procedure.status = PYMEASURE_STATUS[status]

    @classmethod
    def from_file(cls, path, procedure_class=None) -> "RunResults":
        """A finished (or interrupted) run file, with its parameters, curves and grids."""
        return cls.from_run(load_run(path), str(path), procedure_class)

    @classmethod
    def from_run(cls, run, path: str, procedure_class=None) -> "RunResults":
        """A run as read (from its file, or from a run server: ``path`` is then its URL)."""
        import procedures

        name = run.metadata["procedure"]
        cls_ = procedures.get(name)
        if procedure_class is not None and procedure_class.NAME != name:
            raise ValueError(f"{run.path.name} is a {name} run, not {procedure_class.NAME}")
        procedure = cls_()
        values = {k: p["value"] for k, p in run.metadata["parameters"].items() if k in procedure._parameters}
        procedure.set_parameters(values, except_missing=False)
        results = cls(procedure, pathlib.Path(run.path).parent, buffer=RunBuffer.from_run(run), path=str(path),
                      status=run.status, reason=run.reason)
        results.log = list(run.log)
        results.metadata = run.metadata
        done = int(np.count_nonzero(run.done))
        results.progress = ProgressInfo(done, len(run.done), float(run.metadata.get("station_seconds", 0.0)), 0.0)
        return results


class RunWorker(QtCore.QThread):
    """Runs one :class:`RunResults` on a station through :class:`~cryo_acq.run.runner.Runner`."""

    run_started = QtCore.Signal(str)  #: the run file's path
    progress = QtCore.Signal(object)  #: ProgressInfo
    run_finished = QtCore.Signal(str, str)  #: status (finished, aborted, failed, refused), reason

    def __init__(self, station, results: RunResults, retries: int = 3, parent=None):
        super().__init__(parent)
        self.station = station
        self.results = results
        self.retries = retries
        self.runner: Runner | None = None
        self.status, self.reason = "queued", ""
        self._phase_lock = threading.Lock()
        self._phase = "starting"  # -> measuring (stops are honoured) -> closing (safe state: no stop)
        self._abort = False
        self._points = None
        self._t0 = 0.0
        self._last_emit = 0.0

    # --- abort
    def stop(self) -> None:
        """Abort (any thread): the wait in progress ends, then the safe state and the file's status.

        ``Runner.run`` clears the clock's stop flag once the run file exists and again
        before the safe state, so a stop is only passed on while the run measures; one
        asked for earlier is passed on as soon as it does."""
        with self._phase_lock:
            self._abort = True
            if self._phase == "measuring" and self.runner is not None:
                self.runner.stop()

    @property
    def abort_requested(self) -> bool:
        return self._abort

    def _hook_clock(self, clock):
        original = clock.clear_stop

        def clear_stop():
            with self._phase_lock:
                original()
                if self._phase == "starting":
                    self._phase = "measuring"
                    if self._abort:  # asked before the run could hear it
                        clock.request_stop()
                else:
                    self._phase = "closing"

        clock.clear_stop = clear_stop
        return lambda: clock.__dict__.pop("clear_stop", None)

    # --- the thread
    def run(self) -> None:  # worker thread
        results, procedure = self.results, self.results.procedure
        unhook = self._hook_clock(self.station.clock)
        status, reason = "failed", ""
        try:
            path = new_run_path(results.folder, procedure.NAME)
            self.runner = Runner(self.station, procedure, path=path, retries=self.retries,
                                 on_progress=self._on_progress)
            self._points = results.plan.pending()
            self._t0 = self._last_emit = time.monotonic()
            self.run_started.emit(str(path))
            log.info("%s: run started, file %s", procedure.NAME, path)
            self.runner.run()
            status, reason = self.runner.status, self.runner.reason
        except ValueError as exc:  # refused before anything moved: no file
            status, reason = "refused", str(exc)
        except Exception as exc:  # noqa: BLE001 - reported in the GUI, never lost
            log.exception("%s: run failed", procedure.NAME)
            status, reason = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            unhook()
        self.status, self.reason = status, reason
        level = logging.INFO if status == "finished" else logging.WARNING
        log.log(level, "%s: %s%s", procedure.NAME, status, f" ({reason})" if reason else "")
        self.run_finished.emit(status, reason)

    def _on_progress(self, p) -> None:  # worker thread, inside the runner's loop
        try:
            point = next(self._points, None)
            self.results.buffer.append(p.row or {}, point)
            now = time.monotonic()
            if p.done >= p.total or now - self._last_emit >= PROGRESS_INTERVAL:
                self._last_emit = now
                self.progress.emit(ProgressInfo(p.done, p.total, p.station_time, now - self._t0))
        except Exception:  # noqa: BLE001 - the display must never break the run
            log.exception("progress display failed")
