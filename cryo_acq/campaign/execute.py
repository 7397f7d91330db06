"""Executing a sequence: :class:`SequenceRun` runs its entries one after another with a
failure policy per step, a log file and a state file, and resumes an interrupted one."""

from __future__ import annotations

import logging
import pathlib
from dataclasses import dataclass
from typing import Callable


from cryo_acq.station.clock import StopRequested, WaitTimeout
from cryo_acq.run.guards import build as build_guards
from cryo_acq.run.signals import on_stop_signals
from .parse import _aside, _reason, check, merged_guards
from .schema import Action, Entry, Sequence, SequenceError
from .state import State, _now, log_path, state_path

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- execution
@dataclass
class SequenceProgress:
    entry: Entry
    entry_done: int  #: points of this run measured (0 for an action)
    entry_total: int
    done: int  #: points of the whole sequence measured
    total: int
    lab_seconds: float  #: station time since this session started


@dataclass
class Outcome:
    """How a sequence (session) ended."""

    status: str  #: finished | incomplete | stopped | aborted
    reason: str
    entries: list[tuple[Entry, dict]]  #: each entry with its state record
    lab_seconds: float  #: station time of this session
    out: pathlib.Path
    state_path: pathlib.Path | None = None
    log_path: pathlib.Path | None = None

    @property
    def failed(self) -> list[tuple[Entry, dict]]:
        return [(e, r) for e, r in self.entries if r["status"] in ("failed", "aborted")]


class SequenceRun:
    """Executes a (checked) sequence on a station into ``out``.

    ``resume``: continue from the state file in ``out``. ``on_progress`` gets a
    :class:`SequenceProgress` after every point; ``on_event(kind, entry, message)`` is
    told of starts, resumes, finishes, failures, retries, skips and stops (also logged).
    ``state``/``log_file``/``index``: keep the state file, the log file, the run catalogue
    (off for estimates). ``instrument_retries``: the runner's retries of a transient fault.
    """

    def __init__(self, sequence: Sequence, station, out: str | pathlib.Path, *, resume: bool = False,
                 station_ref: str | pathlib.Path | None = None,
                 on_progress: Callable[[SequenceProgress], None] | None = None,
                 on_event: Callable[[str, Entry | None, str], None] | None = None,
                 state: bool = True, log_file: bool = True, index: bool = True, validated: bool = False,
                 instrument_retries: int = 3):
        self.sequence = sequence
        self.station = station
        self.out = pathlib.Path(out)
        self.resume = resume
        self.station_ref = station_ref if station_ref is not None else (station.path or station.config.name)
        self.on_progress = on_progress
        self.on_event = on_event
        self.keep_state = state
        self.log_file = log_file
        self.index = index
        self.validated = validated
        self.instrument_retries = instrument_retries
        self.guards = merged_guards(station.config, sequence)
        self.state: State | None = None
        self._stop: str = ""
        self._done: dict[int, int] = {}
        self._t0 = 0.0

    # --- control
    def stop(self, reason: str = "stop requested") -> None:
        """Stop the sequence: the run in progress ends (aborted, resumable), nothing more starts."""
        self._stop = self._stop or reason
        self.station.clock.request_stop()

    # --- the loop
    def start(self) -> Outcome:
        """Check (unless already done), then execute every pending entry. Raises
        :class:`SequenceError` before anything moves; otherwise returns the outcome."""
        seq = self.sequence
        if not self.validated:
            check(seq, self.station)
        self._check_space()
        self.state = self._open_state()
        handler = self._attach_log()
        restore = on_stop_signals(self._on_signal)
        clock = self.station.clock
        self._t0 = clock.now()
        status, reason = "running", ""
        try:
            self.state.data["status"], self.state.data["reason"] = "running", ""
            self.state.data["sessions"] = self.state.data.get("sessions", 0) + 1
            self._save()
            finished = sum(r["status"] == "finished" for r in self.state.entries)
            self._event("sequence", None, f"{'resuming' if self.resume else 'starting'} sequence {seq.name}: "
                        f"{len(seq.runs)} runs, {len(seq.entries) - len(seq.runs)} actions, "
                        f"{seq.total_points} points; {finished} of {len(seq.entries)} entries finished; "
                        f"station {self.station.config.name} ({'simulated' if self.station.sim else 'real'})")
            for entry in seq.entries:
                record = self.state.entries[entry.index]
                if record["status"] == "finished":
                    continue
                if self._stop:
                    break
                verdict = self._do(entry, record)
                if verdict in ("stop", "abort"):
                    break
            status, reason = self._verdict()
        except KeyboardInterrupt as exc:  # asked twice (during an action): out now, resumable
            self._stop = self._stop or f"stopped ({exc})"
            status, reason = "aborted", self._stop
            self._safe()
            raise
        finally:
            if status == "running":
                status, reason = "aborted", self._stop or "interrupted"
            self.state.data["status"], self.state.data["reason"] = status, reason
            self._save()
            restore()
            clock.clear_stop()
            self._event("sequence", None, f"sequence {seq.name} {status}{': ' + reason if reason else ''} "
                        f"(lab time this session {(clock.now() - self._t0) / 3600:.2f} h)")
            for entry in seq.entries:
                record = self.state.entries[entry.index]
                if record["status"] in ("failed", "aborted"):
                    log.info("  %s: %s: %s", entry.title(), record["status"], record["reason"])
            self._detach_log(handler)
        return Outcome(status, reason, [(e, self.state.entries[e.index]) for e in seq.entries],
                       clock.now() - self._t0, self.out, self.state.path if self.keep_state else None,
                       log_path(self.out, seq) if self.log_file else None)

    def _check_space(self) -> None:
        """Refuse (SequenceError) a sequence whose run files cannot fit on the disk of ``out``
        (with the disk guard's ``min_free`` kept free). Nothing is written or sent."""
        from cryo_acq.run.guards import DiskSpace
        from cryo_acq.run.storage import check_space, estimated_size

        seq = self.sequence
        needed = 0
        for entry in seq.runs:
            procedure = entry.make_procedure()
            needed += estimated_size(procedure.plan(), len(procedure.units()), self.station.text)
        disk = merged_guards(self.station.config, seq).get("disk") or {}
        try:
            check_space(self.out, needed, keep_free=disk.get("min_free", DiskSpace.min_free),
                        what=f"sequence {seq.name} ({len(seq.runs)} runs, {seq.total_points} points)")
        except ValueError as exc:
            raise SequenceError(str(seq.path or "<sequence>"), [str(exc)]) from None

    def _verdict(self) -> tuple[str, str]:
        records = self.state.entries
        if self._stop:
            return "aborted", self._stop
        if all(r["status"] == "finished" for r in records):
            return "finished", ""
        stopped = [r for r in records if r["status"] in ("failed", "aborted") and r.get("stopped")]
        if stopped:
            r = stopped[-1]
            return "stopped", f"{self.sequence.entries[r['index']].title()} {r['status']}: {r['reason']}"
        failed = sum(r["status"] in ("failed", "aborted") for r in records)
        return "incomplete", (f"{failed} entry failed and was skipped" if failed == 1
                              else f"{failed} entries failed and were skipped")

    def _do(self, entry: Entry, record: dict) -> str:
        """Run an entry with its failure policy: 'next', 'stop' or 'abort'."""
        record.pop("stopped", None)
        attempt = 0
        while True:
            attempt += 1
            status, reason = self._attempt(entry, record)
            record["status"], record["reason"] = status, reason
            record["ended"] = _now()
            self._save()
            if status == "finished":
                self._event("finished", entry, f"{entry.title()}: finished")
                return "next"
            if self._stop:
                record["status"] = "aborted"
                self._save()
                self._event("abort", entry, f"{entry.title()}: aborted ({self._stop}); resume with --resume")
                return "abort"
            self._event("failed", entry, f"{entry.title()}: {status}: {reason}")
            if entry.on_failure == "retry" and attempt <= entry.retries:
                self._event("retry", entry, f"{entry.title()}: retry {attempt} of {entry.retries}"
                            + (f" in {entry.retry_delay:g} s" if entry.retry_delay else ""))
                try:
                    self.station.clock.sleep(entry.retry_delay)
                except StopRequested:
                    self._stop = self._stop or "stop requested"
                    return "abort"
                continue
            if entry.on_failure == "skip":
                self._event("skip", entry, f"{entry.title()}: skipped (on_failure: skip)")
                return "next"
            record["stopped"] = True
            self._save()
            why = "retries exhausted" if entry.on_failure == "retry" else "on_failure: stop"
            self._event("stop", entry, f"sequence stops ({why})")
            return "stop"

    def _attempt(self, entry: Entry, record: dict) -> tuple[str, str]:
        clock = self.station.clock
        record["status"] = "running"
        record["attempts"] = record.get("attempts", 0) + 1
        record["started"] = record.get("started") or _now()
        self._save()
        t0 = clock.now()
        try:
            if entry.kind == "action":
                self._event("action", entry, f"{entry.title()}")
                return self._guarded_action(entry.action)
            for action in entry.before:
                self._event("action", entry, f"{entry.title()}: before: {action.describe()}")
                status, reason = self._guarded_action(action)
                if status != "finished":
                    return status, f"before ({action.describe()}): {reason}"
            return self._run(entry, record)
        finally:
            record["lab_seconds"] = record.get("lab_seconds", 0.0) + (clock.now() - t0)

    def _guarded_action(self, action: Action) -> tuple[str, str]:
        from cryo_acq.run.runner import TRANSIENT

        if self._stop:
            return "aborted", self._stop
        for attempt in range(self.instrument_retries + 1):
            try:
                action.execute(self.station)
                return "finished", ""
            except StopRequested:
                self._stop = self._stop or "stop requested"
                self._safe()
                return "aborted", self._stop
            except TRANSIENT as exc:
                if isinstance(exc, WaitTimeout) or attempt == self.instrument_retries:
                    self._safe()
                    extra = "" if isinstance(exc, WaitTimeout) else \
                        f"instrument fault persisted after {self.instrument_retries} retries: "
                    return "failed", f"{extra}{type(exc).__name__}: {exc}"
                log.warning("retrying %s: %s: %s", action.describe(), type(exc).__name__, exc)
            except Exception as exc:  # noqa: BLE001 - the policy decides; the station is made safe
                self._safe()
                return "failed", f"{type(exc).__name__}: {exc}"
        raise AssertionError("unreachable")

    def _safe(self) -> None:
        for problem in self.station.safe_state():
            log.error("safe state: %s", problem)

    def _run(self, entry: Entry, record: dict) -> tuple[str, str]:
        from cryo_acq.run.runner import Runner
        from cryo_acq.run.storage import load_run

        path = self.out / entry.file
        base = sum(v for k, v in self._done.items() if k != entry.index)
        clock = self.station.clock

        def progress(p):
            self._done[entry.index] = p.done
            if self.on_progress:
                self.on_progress(SequenceProgress(entry, p.done, p.total, base + p.done, self.sequence.total_points,
                                                  clock.now() - self._t0))

        kwargs = dict(guards=build_guards(self.guards), on_progress=progress, retries=self.instrument_retries,
                      catalogue=self.index)
        runner, resumed = None, False
        if path.exists():
            from cryo_acq.campaign.catalogue import read_summary
            from cryo_acq.run.storage import Incomplete

            try:
                read_summary(path)  # checked first: load_run could spin for minutes on a damaged file
                old = load_run(path)
            except Incomplete as exc:  # killed while it was created: it holds no point
                log.warning("%s: %s is unusable (%s); deleting it and starting afresh", entry.title(), path.name, exc)
                path.unlink()
                old = None
            except Exception as exc:  # noqa: BLE001 - does not load: kept aside (it may hold points)
                aside = _aside(path)
                log.warning("%s: %s does not load (%s: %s); moved to %s, starting afresh", entry.title(),
                            path.name, type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "", aside.name)
                old = None
            if old is not None:
                if old.metadata.get("procedure") != entry.procedure:
                    return "failed", (f"{path} is a {old.metadata.get('procedure')} run, not {entry.procedure}: "
                                      "move it away")
                if old.finished:
                    self._record_points(entry, record, path)
                    return "finished", ""
                try:
                    runner = Runner.for_resume(path, station=self.station, **kwargs)
                except Exception as exc:  # noqa: BLE001
                    return "failed", f"cannot resume {path.name}: {_reason(exc)}"
                resumed = True
                self._event("resume", entry, f"{entry.title()}: continuing {path.name} "
                            f"({int(old.done.sum())}/{len(old.done)} points done, {old.status})")
        if runner is None:
            runner = Runner(self.station, entry.make_procedure(), path=path, **kwargs)
            self._event("start", entry, f"{entry.title()}: {entry.points} points -> {path.name}")
        if self._stop:
            return "aborted", self._stop
        try:
            runner.run()
        except Exception as exc:  # noqa: BLE001 - refused input or a file that could not be written
            self._safe()
            status, reason = "failed", f"refused: {_reason(exc)}" if isinstance(exc, ValueError) else _reason(exc)
        else:
            status, reason = runner.status, runner.reason
            if status == "aborted" and (reason.startswith("stopped by") or reason == "stop requested"):
                self._stop = self._stop or reason
        finally:  # (the runner keeps the run catalogue up to date)
            self._record_points(entry, record, path)
        if resumed and status == "finished":
            reason = ""
        return status, reason

    def _record_points(self, entry: Entry, record: dict, path: pathlib.Path) -> None:
        from cryo_acq.campaign.catalogue import read_summary

        try:
            record["done"] = read_summary(path)["points_done"]
        except Exception:  # noqa: BLE001
            record["done"] = 0
        self._done[entry.index] = record["done"]

    # --- state, log, signals
    def _open_state(self) -> State:
        seq = self.sequence
        path = state_path(self.out, seq)
        if not self.keep_state:
            self.out.mkdir(parents=True, exist_ok=True)
            state = State.new(path, seq, str(self.station_ref), self.station.sim)
            return state
        if self.resume:
            if not path.exists():
                raise SequenceError(str(seq.path or seq.name), [f"no state file {path}: nothing to resume "
                                                                 "(start the sequence without --resume)"])
            try:
                state = State.load(path)
            except (OSError, ValueError) as exc:
                raise SequenceError(str(seq.path or seq.name), [f"cannot read the state file: {exc}"]) from None
            why = state.mismatch(seq)
            if why:
                raise SequenceError(str(seq.path or seq.name), [
                    f"the sequence changed since it started ({why}); resume with the original file, "
                    f"or start it anew in another --out folder (state: {path})"])
            for record in state.entries:  # points already in the files, for the progress
                if record.get("file") and (self.out / record["file"]).exists():
                    try:
                        from cryo_acq.campaign.catalogue import read_summary

                        record["done"] = read_summary(self.out / record["file"])["points_done"]
                    except Exception:  # noqa: BLE001
                        pass
                self._done[record["index"]] = record.get("done", 0) if record["kind"] == "run" else 0
            return state
        if path.exists():
            raise SequenceError(str(seq.path or seq.name), [
                f"this sequence already ran in {self.out} (state file {path.name}): continue it with --resume, "
                "or choose another --out folder"])
        existing = [e.file for e in seq.runs if (self.out / e.file).exists()]
        if existing:
            raise SequenceError(str(seq.path or seq.name), [
                f"run files already exist in {self.out}: {', '.join(existing[:5])}"
                f"{' ...' if len(existing) > 5 else ''}; choose another --out folder"])
        self.out.mkdir(parents=True, exist_ok=True)
        state = State.new(path, seq, str(self.station_ref), self.station.sim)
        state.save()
        return state

    def _save(self) -> None:
        if self.keep_state:
            self.state.save()

    def _event(self, kind: str, entry: Entry | None, message: str) -> None:
        if self.log_file:
            level = logging.WARNING if kind in ("failed", "stop", "abort") else logging.INFO
            log.log(level, "[lab %.0f s] %s", self.station.clock.now() - self._t0, message)
        if self.on_event:
            self.on_event(kind, entry, message)

    def _attach_log(self):
        if not self.log_file:
            return None
        handler = logging.FileHandler(log_path(self.out, self.sequence), encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.setLevel(logging.INFO)
        # the sequence's own messages go to the file only (the caller shows them via on_event);
        # the runner's and the instruments' warnings go to the file too
        self._old_level, self._old_propagate = log.level, log.propagate
        log.setLevel(logging.INFO)
        log.propagate = False
        log.addHandler(handler)
        logging.getLogger("cryo_acq").addHandler(handler)
        return handler

    def _detach_log(self, handler) -> None:
        if handler is None:
            return
        logging.getLogger("cryo_acq").removeHandler(handler)
        log.removeHandler(handler)
        log.setLevel(self._old_level)
        log.propagate = self._old_propagate
        handler.close()

    def _on_signal(self, name: str) -> None:
        """Between runs Ctrl-C / SIGTERM stop the sequence (during a run, the runner's own
        routing stops the run first); asked twice, out now."""
        if self._stop:
            raise KeyboardInterrupt(f"stopped by {name}")
        self.stop(f"stopped by {name}")


