"""Sequences on several stations at once: one process per station, as a lab runs two cryostats.

:func:`run_parallel` checks every sequence against its own station first (each in its
process); only when all pass does any station move. Then each process runs its
:class:`~cryo_acq.campaign.execute.SequenceRun` (state file, log, resume, guards, safe
state: all as for one sequence) and reports progress and events to this process,
which hands them to ``on_progress`` / ``on_event`` with the sequence's name. A stop
(:class:`ParallelRun.stop`, Ctrl-C) reaches every station; each ends its run in
progress (aborted, resumable) and goes to its safe state.
"""

from __future__ import annotations

import multiprocessing
import pathlib
import queue as _queue
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from .schema import SequenceError


@dataclass(frozen=True)
class StationJob:
    """One sequence on one station, into ``out``."""

    sequence: str  #: sequence file path or shipped name
    out: str
    station: str | None = None  #: station file or shipped name (default: the sequence's ``station:``)
    sim: bool = False
    resume: bool = False


@dataclass
class JobProgress:
    """Progress of one station's sequence (sent about five times a second at most)."""

    name: str  #: the sequence's name
    run: str  #: "run 3/28 tmr temperature=2" of the run in progress
    entry_done: int
    entry_total: int
    done: int
    total: int
    lab_seconds: float


@dataclass
class JobOutcome:
    """How one station's sequence ended (``entries``: title, status, points done, file, reason)."""

    name: str
    status: str  #: finished | incomplete | stopped | aborted | failed (could not run)
    reason: str = ""
    lab_seconds: float = 0.0
    out: str = ""
    entries: list[tuple[str, str, int, str, str]] = field(default_factory=list)
    wall_seconds: float = 0.0


# --------------------------------------------------------------------------- the child
def _child(job: StationJob, messages, go, stop) -> None:  # pragma: no cover - runs in a spawned process
    from cryo_acq.campaign import sequence as seqmod
    from cryo_acq.station import Station
    from cryo_acq.station import file as station_file

    t0 = time.perf_counter()
    try:
        seq = seqmod.load(job.sequence)
        config, spath, text = station_file.load(seq.station_reference(job.station))
        station = Station(config, spath, text, sim=job.sim)
    except Exception as exc:  # noqa: BLE001 - said to the parent, which refuses the lot
        messages.put(("refused", str(job.sequence), str(exc)))
        return
    name = seq.name
    try:
        try:
            seqmod.check(seq, station)
        except SequenceError as exc:
            messages.put(("refused", name, str(exc)))
            return
        messages.put(("ready", name, ""))
        while not go.is_set():
            if stop.is_set():
                return
            go.wait(0.05)
        last = [0.0]

        def on_progress(p):
            now = time.monotonic()
            if now - last[0] >= 0.2 or p.done >= p.total:
                last[0] = now
                messages.put(("progress", name, JobProgress(name, f"run {p.entry.number}/{len(seq.runs)} "
                                                                  f"{p.entry.context()}", p.entry_done,
                                                            p.entry_total, p.done, p.total, p.lab_seconds)))

        def on_event(kind, entry, message):
            messages.put(("event", name, (kind, message)))
            if kind == "finished" and entry is not None:
                messages.put(("run", name, (entry.label or "", entry.file or "")))

        run = seqmod.SequenceRun(seq, station, job.out, resume=job.resume, station_ref=spath,
                                 on_progress=on_progress, on_event=on_event, validated=True)

        def watch():
            stop.wait()
            run.stop("stopped by the user")

        threading.Thread(target=watch, daemon=True).start()
        outcome = run.start()
        entries = [(e.title(), r["status"], int(r.get("done", 0) or 0),
                    e.file or "", r.get("reason", "") or "") for e, r in outcome.entries]
        messages.put(("done", name, JobOutcome(name, outcome.status, outcome.reason, outcome.lab_seconds,
                                               str(outcome.out), entries, time.perf_counter() - t0)))
    except BaseException as exc:  # noqa: BLE001 - the parent must hear of it
        messages.put(("done", name, JobOutcome(name, "failed", f"{type(exc).__name__}: {exc}",
                                               wall_seconds=time.perf_counter() - t0)))
    finally:
        station.close()


# --------------------------------------------------------------------------- the parent
class ParallelRun:
    """Runs ``jobs`` (one per station) in parallel processes; see :func:`run_parallel`."""

    def __init__(self, jobs: list[StationJob], *, on_progress: Callable[[JobProgress], None] | None = None,
                 on_event: Callable[[str, str, str], None] | None = None,
                 on_run: Callable[[str, str, str], None] | None = None):
        self.jobs = list(jobs)
        self.on_progress = on_progress
        self.on_event = on_event
        self.on_run = on_run
        ctx = multiprocessing.get_context("spawn")
        self._ctx = ctx
        self._go, self._stop = ctx.Event(), ctx.Event()

    def stop(self) -> None:
        """Every station ends its run in progress (aborted, resumable) and nothing more starts."""
        self._stop.set()

    def start(self) -> dict[str, JobOutcome]:
        check_jobs(self.jobs)
        messages = self._ctx.Queue()
        procs = [self._ctx.Process(target=_child, args=(job, messages, self._go, self._stop), daemon=False,
                                   name=f"station-{k}") for k, job in enumerate(self.jobs)]
        for p in procs:
            p.start()
        outcomes: dict[str, JobOutcome] = {}
        try:
            refused, ready = [], 0
            while ready + len(refused) < len(procs):
                kind, name, payload = self._next(messages, procs)
                if kind == "ready":
                    ready += 1
                elif kind == "refused":
                    refused.append(payload)
            if refused:  # nothing has moved on any station
                self._stop.set()
                raise SequenceError(", ".join(str(j.sequence) for j in self.jobs),
                                    [p for text in refused for p in text.splitlines() if p.strip()])
            self._go.set()
            while len(outcomes) < len(procs):
                try:
                    kind, name, payload = self._next(messages, procs)
                except KeyboardInterrupt:  # every station to its safe state; wait for them
                    self._stop.set()
                    continue
                if kind == "progress" and self.on_progress:
                    self.on_progress(payload)
                elif kind == "event" and self.on_event:
                    self.on_event(name, *payload)
                elif kind == "run" and self.on_run:
                    self.on_run(name, *payload)
                elif kind == "done":
                    outcomes[name] = payload
        finally:
            for p in procs:
                p.join(timeout=60)
                if p.is_alive():
                    p.terminate()
        return outcomes

    def _next(self, messages, procs):
        while True:
            try:
                return messages.get(timeout=0.5)
            except _queue.Empty:
                if not any(p.is_alive() for p in procs):
                    try:
                        return messages.get(timeout=1.0)
                    except _queue.Empty:
                        raise RuntimeError("a station process ended without a word (killed?); "
                                           "resume its sequence with --resume") from None


def check_jobs(jobs: list[StationJob]) -> None:
    """Two sequences on one station, or into one folder, would fight: refused."""
    from cryo_acq.campaign import sequence as seqmod
    from cryo_acq.station import file as station_file

    problems, stations, outs = [], {}, {}
    for job in jobs:
        seq = seqmod.load(job.sequence)
        path = station_file.resolve(seq.station_reference(job.station)).resolve()
        if path in stations:
            problems.append(f"{seq.name} and {stations[path]} both run on the station {path.name}: one process "
                            "per station; put them in one sequence file")
        stations.setdefault(path, seq.name)
        out = pathlib.Path(job.out).resolve()
        if out in outs:
            problems.append(f"{seq.name} and {outs[out]} both write into {job.out}: give each its own folder")
        outs.setdefault(out, seq.name)
    if problems:
        raise SequenceError(", ".join(str(j.sequence) for j in jobs), problems)


def run_parallel(jobs: list[StationJob], *, on_progress=None, on_event=None, on_run=None) -> dict[str, JobOutcome]:
    """Run one sequence per station, all at once, each in its own process; returns each
    sequence's outcome by name. ``on_progress(JobProgress)``; ``on_event(name, kind,
    message)``; ``on_run(name, label, file)`` as each run finishes. Raises
    :class:`SequenceError` (nothing moved) if two share a station or a folder, or if any
    sequence fails its check against its station."""
    return ParallelRun(jobs, on_progress=on_progress, on_event=on_event, on_run=on_run).start()


__all__ = ["JobOutcome", "JobProgress", "ParallelRun", "StationJob", "check_jobs", "run_parallel"]
