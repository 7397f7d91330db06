"""The runner: executes a procedure's plan on a station into a run file.

It is the one execution engine, for the command line and the GUI alike:

1. the procedure checks its parameters and its whole plan against the station's
   limits, sending nothing (bad input never touches an instrument);
2. the run file is created with everything known up front;
3. each pending point is measured and appended (flushed) as soon as it is read;
   a transient instrument fault is retried a bounded number of times and logged
   in the file; a persistent one fails the run;
4. on every exit path (finished, abort, Ctrl-C / SIGTERM, error, lost
   instrument) the station goes to its safe state and the file gets its status.
"""

from __future__ import annotations

import logging
import os
import pathlib
import traceback
from dataclasses import dataclass
from typing import Callable

from pyvisa.errors import VisaIOError

from instruments.roles.base import InstrumentReplyError

from cryo_acq.station.clock import StopRequested, WaitTimeout
from cryo_acq.run.guards import DiskSpace, GuardTimeout
from cryo_acq.run.guards import build as build_guards
from cryo_acq.run.signals import on_stop_signals
from cryo_acq.run.storage import RunFile, StorageError, check_space, estimated_size, load_run, new_run_path

log = logging.getLogger(__name__)

#: faults worth another try: a read that timed out or came back garbled
TRANSIENT = (VisaIOError, InstrumentReplyError, TimeoutError)


@dataclass
class Progress:
    done: int  #: points measured (this run and earlier ones)
    total: int
    station_time: float  #: s since the run started
    row: dict | None = None  #: the reading just taken
    point: object = None  #: the plan point it measures (grid index, set-points, direction)


def check_writable(folder: pathlib.Path) -> None:
    """Refuse (ValueError, one line) a run folder that cannot be made or written; creates
    nothing (the folder is made with the run file)."""
    folder = pathlib.Path(folder).absolute()
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"cannot write run files in {folder}: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"cannot write run files in {folder}: {existing} is not writable")


class Runner:
    """Runs ``procedure`` on ``station`` into a new run file in ``folder``."""

    def __init__(self, station, procedure, folder=".", path=None, retries: int = 3,
                 on_progress: Callable[[Progress], None] | None = None, guards=None, resume: bool = False,
                 catalogue: bool = True, flush_interval: float | None = None):
        self.station = station
        self.procedure = procedure
        self.folder = folder
        self.path = path  # chosen when the run starts (nothing is created for refused input)
        self.retries = retries
        self.on_progress = on_progress
        #: conditions that pause the run (default: the station file's ``guards``)
        self.guards = list(guards if guards is not None else build_guards(station.config.guards.enabled()))
        if not any(isinstance(g, DiskSpace) for g in self.guards):  # the disk is always watched
            self.guards.append(DiskSpace(**station.config.guards.enabled().get("disk", {})))
        self.resume = resume  #: continue the run file at ``path`` instead of starting a new one
        self.catalogue = catalogue  #: keep the run catalogue beside the file up to date (the one place it is)
        #: s of wall time a measured row may wait in memory (the run file's durability window);
        #: default: the station file's ``run_files.flush_interval``
        self.flush_interval = (station.config.run_files.flush_interval if flush_interval is None
                               else float(flush_interval))
        self.status = "running"
        self.reason = ""
        self._checked_plan = None  #: the plan preflight() passed (checked once, used by run())
        self._confirming = False  #: waiting for the safe state: a signal only ends that wait
        self.unsafe: list[str] = []  #: instruments the safe state could not reach
        self.safe_report: list[str] = []  #: the safe state each instrument confirmed

    @classmethod
    def for_resume(cls, path, station=None, **kwargs) -> "Runner":
        """A runner that continues an interrupted run file from its first unmeasured point.

        The procedure and its parameters come from the file; so does the station
        (its stored station file, simulated if the run was) unless one is given."""
        import procedures

        from cryo_acq.station import Station
        from cryo_acq.station.file import parse

        old = load_run(path)
        if old.finished:
            raise ValueError(f"{path}: this run finished; there is nothing to resume")
        procedure = procedures.get(old.metadata["procedure"])()
        procedure.set_parameters({name: p["value"] for name, p in old.metadata["parameters"].items()})
        if station is None:
            config = parse(old.station_file, f"{path} (stored station file)")
            station = Station(config, None, old.station_file, sim=bool(old.metadata.get("sim", False)))
        return cls(station, procedure, path=path, resume=True, **kwargs)

    def stop(self) -> None:
        """Ask the run to stop: the wait in progress ends, then the safe state. Asked
        before the run has started, the run stops at its first point."""
        self._stop_asked = True
        self.station.clock.request_stop()

    def preflight(self):
        """Every check that can refuse the run, before any file is made or anything moves:
        the procedure's own (its plan against the station's limits), the point budget, the
        run folder, the disk space. Returns the plan; raises ValueError (one line)."""
        procedure, station = self.procedure, self.station
        plan = procedure.plan()
        procedure.check(station, plan)  # refuses bad input; sends nothing
        if len(plan) > station.config.limits.max_points:
            raise ValueError(f"{procedure.NAME}: {len(plan):,} points, more than the station's limits.max_points "
                             f"({station.config.limits.max_points:,})")
        folder = pathlib.Path(self.path).parent if self.path is not None else pathlib.Path(self.folder)
        check_writable(folder)
        disk = next(g for g in self.guards if isinstance(g, DiskSpace))
        disk.folder = str(folder)
        check_space(folder, estimated_size(plan, len(procedure.units()), station.text), keep_free=disk.min_free,
                    what=f"{procedure.NAME} ({len(plan)} points)")
        self._checked_plan = plan
        return plan

    def run(self):
        """Execute; returns the run file's path. Raises only for refused input
        (before anything moved) -- a failure during the run is recorded in the file."""
        procedure, station = self.procedure, self.station
        plan = self._checked_plan or self.preflight()  # the command line checks before its progress bar
        clock = station.clock
        try:
            run = self._open_file(plan, station, clock)
        except StorageError as exc:  # nothing measured yet: a refusal, like a disk too small
            raise ValueError(str(exc)) from None
        clock.clear_stop()  # a stop left over from an earlier run
        if getattr(self, "_stop_asked", False):
            clock.request_stop()  # ... but not one asked of this run
        restore = on_stop_signals(self._on_signal)
        station.on_retry = lambda instrument, message: run.log(clock.now(), "retry", f"{instrument}: {message}")
        t0 = clock.now()
        procedure.note = lambda message, kind="note": run.log(clock.now(), kind, message)
        try:
            done_mask = run.done
            first = next(plan.pending(done_mask), None)
            if first is not None:
                self._retrying(run, "prepare", lambda: procedure.prepare_from(station, first))
            done = int(done_mask.sum())
            for point in plan.pending(done_mask):
                row = self._measure_guarded(run, point)
                row.setdefault("time", clock.now())
                run.append(row, point)
                if plan.adaptive is not None:
                    plan.adaptive.tell(plan, point, row)
                done += 1
                if self.on_progress:
                    self.on_progress(Progress(done, plan.expected_points, clock.now() - t0, row, point))
            self._retrying(run, "finish", lambda: procedure.finish(station))
            self.status = "finished"
        except StorageError as exc:  # the disk filled (or failed): stop measuring, keep what is flushed
            self.status, self.reason = "failed", str(exc)
            log.error("run failed: %s", self.reason)
        except (StopRequested, KeyboardInterrupt, GuardTimeout) as exc:
            self.status, self.reason = "aborted", self.reason or str(exc) or "stop requested"
            run.log(clock.now(), "abort", self.reason)
        except Exception as exc:  # noqa: BLE001 - recorded in the file, then the safe state
            self.status, self.reason = "failed", f"{type(exc).__name__}: {exc}"
            run.log(clock.now(), "error", traceback.format_exc(limit=8)[-1000:])
            log.error("run failed: %s", self.reason)
        finally:
            run.flush_quietly()  # everything measured is on disk before the safe state's waits
            clock.clear_stop()
            self._confirming = True
            problems = station.safe_state()
            confirmed, unconfirmed = station.confirm_safe()
            restore()
            clock.clear_stop()
            station.on_retry = None
            self.safe_report = confirmed
            if confirmed:
                run.log(clock.now(), "safe-state", "confirmed: " + "; ".join(confirmed))
            problems = problems + [u for u in unconfirmed if u.split(":", 1)[0] not in
                                   {p.split(":", 1)[0] for p in problems}]
            for problem in problems:
                run.log(clock.now(), "safe-state", problem)
            if problems:
                self.unsafe = list(dict.fromkeys(p.split(":", 1)[0] for p in problems))
                alarm = f"NOT SAFE: {', '.join(self.unsafe)} could not be put in the safe state"
                self.reason = f"{self.reason}; {alarm}" if self.reason else alarm
                log.critical("%s (%s)", alarm, "; ".join(problems))
            run.close(self.status, self.reason, snapshot_end=station.snapshot(),
                      meta={"station_seconds": clock.now() - t0})
            self._catalogue()
        return self.path

    def _open_file(self, plan, station, clock) -> RunFile:
        procedure = self.procedure
        if self.resume:
            if plan.adaptive is not None:  # the learners start from what the file holds
                held = load_run(self.path)
                plan.adaptive.restore(plan, held.data, held.plan_index)
            run = RunFile.reopen(self.path, plan, flush_interval=self.flush_interval)
            run.log(clock.now(), "resume", f"resumed with {int(run.done.sum())} of {len(plan)} points done")
            return run
        if self.path is None:
            try:
                self.path = new_run_path(self.folder, procedure.NAME)
            except OSError as exc:
                raise StorageError(f"cannot write run files in {self.folder}: {exc.strerror or exc}") from None
        config = station.config
        return RunFile.create(self.path, procedure=procedure.NAME, parameters=procedure.parameter_record(),
                              units=procedure.units(), plan=plan, station_text=station.text,
                              snapshot=station.snapshot(), attrs={"sim": bool(station.sim)},
                              signal=getattr(procedure, "SIGNAL", None), station_name=config.name,
                              sample=config.sim.device if station.sim else config.description,
                              configuration=getattr(procedure, "CONFIGURATION", ""),
                              flush_interval=self.flush_interval)

    def _catalogue(self) -> None:
        """Keep the run catalogue beside the data up to date (never fails a run)."""
        if not self.catalogue:
            return
        try:
            from cryo_acq.campaign import catalogue

            catalogue.update(pathlib.Path(self.path).parent, self.path)
        except Exception as exc:  # noqa: BLE001
            log.warning("run catalogue not updated: %s", exc)

    def _measure(self, run: RunFile, point) -> dict:
        return self._retrying(run, f"point {point.index}", lambda: self.procedure.measure(self.station, point))

    # --- guards
    def _violations(self, run: RunFile) -> list[tuple[object, str]]:
        found = []
        for guard in self.guards:
            message = self._retrying(run, f"guard {guard.name}", lambda g=guard: g.check(self.station, self.procedure))
            if message:
                found.append((guard, message))
        return found

    def _measure_guarded(self, run: RunFile, point) -> dict:
        """Measure a point while every guard holds; a point taken while one failed is
        discarded (logged) and measured again once the cryostat has recovered."""
        clock = self.station.clock
        while True:
            clock.check_stop()
            self._hold(run, self._violations(run))
            row = self._measure(run, point)
            violations = self._violations(run)
            if not violations:
                return row
            run.log(clock.now(), "discard", f"point {point.index} discarded: "
                    + "; ".join(message for _, message in violations))
            self._hold(run, violations)

    def _hold(self, run: RunFile, violations) -> None:
        """Pause until the violated guards clear and stay clear for their settle time."""
        if not violations:
            return
        clock = self.station.clock
        start = clock.now()
        run.log(start, "pause", "; ".join(f"{g.name}: {message}" for g, message in violations))
        run.flush_quietly()  # what was measured is on disk while the run waits
        for guard, _ in violations:
            self._retrying(run, f"recover {guard.name}", lambda g=guard: g.recover(self.station))
        timeout = max(g.timeout for g, _ in violations)
        poll = min(g.poll for g, _ in violations)
        settle = max(g.settle for g, _ in violations)
        while True:
            while violations:
                if clock.now() - start > timeout:
                    raise GuardTimeout("; ".join(f"{g.name} did not clear within {g.timeout:g} s: {m}"
                                                 for g, m in violations))
                clock.sleep(poll)
                violations = self._violations(run)
            clock.sleep(settle)  # stay clear for the settle time
            violations = self._violations(run)
            if not violations:
                break
        run.log(clock.now(), "resume", f"guards clear after {clock.now() - start:.0f} s")

    def _retrying(self, run: RunFile, what: str, step: Callable[[], object]):
        """Run an idempotent step (set-points, settle, read), retrying transient
        instrument faults a bounded number of times; every retry is logged."""
        for attempt in range(self.retries + 1):
            try:
                return step()
            except TRANSIENT as exc:
                if isinstance(exc, WaitTimeout):  # a slow fridge or magnet is not a glitch: no retry
                    raise
                message = f"{what}: {type(exc).__name__}: {exc}"
                if attempt == self.retries:
                    raise RuntimeError(f"instrument fault persisted after {self.retries} retries ({message})") from exc
                run.log(self.station.clock.now(), "retry", message)
                log.warning("retrying %s", message)
        raise AssertionError("unreachable")

    def _on_signal(self, name: str) -> None:
        """Ctrl-C / SIGTERM: stop the run (then the safe state); asked twice, out now;
        while waiting for the safe state, stop waiting."""
        if self._confirming:
            log.warning("stopped waiting for the safe state (%s)", name)
            self.station.clock.request_stop()
            return
        if self.station.clock.stop_event.is_set():  # asked twice: do not wait for the next wait
            raise KeyboardInterrupt(f"stopped by {name}")
        self.reason = f"stopped by {name}"
        self.stop()  # the wait in progress ends; then the safe state
