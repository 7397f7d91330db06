"""The writer side of a run file: rows buffered in memory, written in blocks, durable
within a bounded window.

Everything known at the start is written before the first point (``layout.create``);
then the file switches to HDF5's single-writer/multiple-reader mode, in which the file
on disk is consistent after every flush. Rows (and log entries) are buffered and
written as one block per flush: one resize per dataset, not one per row. A flush
happens

* at most ``flush_interval`` seconds of wall time after a row arrives (a timer thread
  sees to it while the run waits on an instrument),
* at the end of every point that took longer than that (a point that moved an
  instrument slowly is on disk as soon as it is measured),
* when 65 536 rows are waiting, and when the run pauses, stops or closes.

So a process killed at any moment (SIGKILL, power cut) loses at most the rows of the
last ``flush_interval``; ``flush_interval = 0`` writes and flushes every row as it
comes. The file opens, holds every row flushed before, and its status still says
``running``.
"""

from __future__ import annotations

import json
import logging
import os
import pathlib
import sys
import threading
import time
from typing import Any

import h5py
import numpy as np

from cryo_acq.run.sweeps import Point

from . import layout
from .disk import RESERVE_BYTES, StorageError, disk_full, reserve_path, scratch_path, sweep_leftovers

log_ = logging.getLogger(__name__)

STATUSES = ("running", "finished", "aborted", "failed")
#: seconds of wall time a row may wait in memory before it is written (the durability window)
FLUSH_INTERVAL = 0.25
#: rows waiting that force a write whatever the time
MAX_BLOCK = 65536


def _now() -> str:
    import datetime as _dt

    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")


def software_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("cryo-acq", "pymeasure", "pyvisa", "pyvisa-sim", "numpy", "h5py", "scipy"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _grow(ds, values) -> None:
    n = ds.shape[0]
    ds.resize((n + len(values), *ds.shape[1:]))
    ds[n:] = values


class RunFile:
    """The writer side of a run file (create with :meth:`create` or :meth:`reopen`)."""

    def __init__(self, path: pathlib.Path, h5: h5py.File, columns: list[str], plan,
                 flush_interval: float = FLUSH_INTERVAL):
        self.path = path
        self._f = h5
        self.columns = list(columns)
        self.plan = plan
        paths = layout.Paths.of(h5)
        data = h5[paths.data]
        self._data = {c: data[c] for c in columns}
        self._row = data["row"] if "row" in data else None
        self._index = data["plan_index"]
        self._done_ds = h5[paths.done]
        self._done = self._done_ds[()]
        axes = [a["name"] for a in json.loads(h5[paths.plan].attrs["plan"])["axes"]]
        self._grid_ds = ({c: h5[paths.grid][paths.grid_column(c, axes)] for c in columns}
                         if paths.grid in h5 else {})
        self._grid = {c: ds[()] for c, ds in self._grid_ds.items()}
        self._log = h5[paths.log]
        self.rows = int(self._index.shape[0])
        #: why writing stopped (a failed write), or "" while the file is writable
        self.broken = ""
        self._reserve = reserve_path(path)
        #: lab time (s) of each earlier stretch in which this run was measured (a resumed run)
        self.earlier_stretches: list[float] = []
        # the buffer: rows and log entries not yet written
        self.flush_interval = float(flush_interval)
        self._pending: dict[str, list[float]] = {c: [] for c in columns}
        self._pending_index: list[int] = []
        self._pending_log: list[tuple[float, bytes, bytes]] = []
        self._dirty_outer: set[int] = set()
        self._dirty_done: list[int] = []
        self._oldest: float | None = None  #: wall time the oldest waiting entry arrived
        self._last_append = time.monotonic()
        self._lock = threading.RLock()
        self._wake = threading.Condition(self._lock)
        self._closing = False
        self._timer = None
        if self.flush_interval > 0:
            self._timer = threading.Thread(target=self._flush_when_due, name=f"flush {path.name}", daemon=True)
            self._timer.start()

    # --- disk reserve and failed writes
    def _take_reserve(self, size: int = RESERVE_BYTES) -> None:
        with open(self._reserve, "wb") as fh:
            fh.write(b"\0" * size)
            fh.flush()
            os.fsync(fh.fileno())

    def _release_reserve(self) -> None:
        try:
            self._reserve.unlink(missing_ok=True)
        except OSError:
            pass

    def _write(self, what: str, step) -> None:
        """Run a write; a failure marks the file broken, frees the reserve (so the file can
        still be closed consistently) and raises :class:`StorageError`, once."""
        if self.broken:
            raise StorageError(self.broken)
        try:
            step()
        except (OSError, RuntimeError, ValueError) as exc:
            kind = "disk full" if disk_full(exc) else "write error"
            self.broken = f"{kind}: writing {what} to {self.path.name} failed"
            log_.error("%s (%s)", self.broken, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            self._release_reserve()
            raise StorageError(self.broken) from None

    # --- making one
    @classmethod
    def create(cls, path: str | pathlib.Path, *, procedure: str, parameters: dict[str, Any],
               units: dict[str, str], plan, station_text: str = "", snapshot: dict | None = None,
               done: np.ndarray | None = None, attrs: dict | None = None, signal: str | None = None,
               station_name: str = "", sample: str = "", configuration: str = "",
               flush_interval: float = FLUSH_INTERVAL) -> "RunFile":
        """Create the file (refusing to overwrite one) with everything known up front."""
        path = pathlib.Path(path)
        if path.exists():
            raise FileExistsError(f"{path} exists; run files are never overwritten")
        # built under a temporary name, renamed once consistent: a process killed while
        # creating leaves no half-made file at the run's path
        sweep_leftovers(path.parent)
        creating = scratch_path(path, "creating")
        f = h5py.File(creating, "w-", libver="latest")
        try:
            record = dict(procedure=procedure, started=_now(), parameters=json.dumps(parameters, default=float),
                          units=json.dumps(units), columns=json.dumps(list(units)),
                          software=json.dumps(software_versions()))
            record.update(attrs or {})
            layout.create(f, procedure=procedure, record=record, units=units, plan=plan, signal=signal,
                          station_text=station_text, station_name=station_name, sample=sample,
                          configuration=configuration, snapshot=snapshot or {},
                          done=np.zeros(len(plan), bool) if done is None else done)
            f.swmr_mode = True
            os.replace(creating, path)
        except Exception as exc:
            _close_quietly(f)
            creating.unlink(missing_ok=True)
            if isinstance(exc, (OSError, RuntimeError)) and disk_full(exc):
                raise StorageError(f"disk full: cannot create {path.name} in {path.parent}") from None
            raise
        run = cls(path, f, list(units), plan, flush_interval)
        try:
            run._take_reserve()
        except OSError as exc:
            run._release_reserve()
            run._stop_timer()
            _close_quietly(f)
            path.unlink(missing_ok=True)
            raise StorageError(f"disk full: no room for {path.name} in {path.parent} ({exc.strerror})") from None
        return run

    @classmethod
    def reopen(cls, path: str | pathlib.Path, plan, flush_interval: float = FLUSH_INTERVAL) -> "RunFile":
        """Continue an interrupted run file: its content is copied into a fresh file
        (format 2, whatever the old one's) that then replaces it (a file whose writer died
        cannot be reopened for writing in place). Rows, done mask and log are kept;
        nothing is measured twice."""
        from .reader import load_run, measured_stretches

        path = pathlib.Path(path)
        old = load_run(path)
        if old.plan.get("shape") != list(plan.shape) or len(old.plan["axes"]) != len(plan.axes) or not all(
                np.array_equal(a["values"], b.values) for a, b in zip(old.plan["axes"], plan.axes)):
            raise ValueError(f"{path}: the plan rebuilt from the stored parameters differs from the file's")
        sweep_leftovers(path.parent)
        tmp = scratch_path(path, "resuming")
        attrs = {k: v for k, v in old.metadata.items() if k in ("started", "sim")}
        attrs["resumed"] = int(old.metadata.get("resumed", 0)) + 1
        stretches = measured_stretches(old)
        # kept in the file from now on: a stretch that ends in a crash is still counted
        attrs.update(earlier_stretches=json.dumps(stretches), stretch_rows=len(old.plan_index))
        new = cls.create(tmp, procedure=old.metadata["procedure"], parameters=old.metadata["parameters"],
                         units=old.units, plan=plan, station_text=old.station_file,
                         snapshot=old.metadata["snapshot_start"], attrs=attrs, signal=old.signal,
                         station_name=old.station_name, sample=old.sample, configuration=old.configuration,
                         flush_interval=0.0)
        try:
            for k, index in enumerate(old.plan_index.tolist()):
                new._buffer({c: old.data[c][k] for c in new.columns}, plan.points[index] if index >= 0 else None)
            for t, kind, message in old.log:
                new._buffer_log(t, kind, message)
            if old.status != "interrupted":
                new._buffer_log(old.log[-1][0] if old.log else 0.0, "previous-status", f"{old.status}: {old.reason}")
            new.flush()
            os.replace(tmp, path)
        except Exception:
            new._stop_timer()
            new._f.close()
            tmp.unlink(missing_ok=True)
            raise
        new.path = path
        new.flush_interval = float(flush_interval)
        if new.flush_interval > 0:
            new._timer = threading.Thread(target=new._flush_when_due, name=f"flush {path.name}", daemon=True)
            new._timer.start()
        new.earlier_stretches = stretches
        return new

    # --- writing
    def append(self, row: dict[str, float], point: Point | None) -> None:
        """Take one reading (missing columns: NaN) and mark its point done; it is on disk
        within the flush window. A failed write raises :class:`StorageError`."""
        unknown = [c for c in row if c not in self._pending]
        if unknown:
            raise KeyError(f"columns {sorted(unknown)} are not in this run file ({self.columns})")
        with self._lock:
            if self.broken:
                raise StorageError(self.broken)
            self._buffer(row, point)
            now = time.monotonic()
            slow = now - self._last_append >= self.flush_interval  # a point that took long: on disk now
            self._last_append = now
            if slow or len(self._pending_index) >= MAX_BLOCK:
                self.flush()
            elif self._oldest is None:
                self._oldest = now
                self._wake.notify()

    def _buffer(self, row, point) -> None:
        for c, values in self._pending.items():
            values.append(float(row.get(c, np.nan)))
        if point is None:
            self._pending_index.append(-1)
            return
        self._pending_index.append(point.index)
        self._dirty_done.append(point.index)
        if self._grid:
            for c, grid in self._grid.items():
                grid[point.grid] = self._pending[c][-1]
            self._dirty_outer.add(point.grid[0])

    def log(self, time_: float, kind: str, message: str) -> None:
        """Record an interruption (retry, pause, fault, abort) with its station time, in the
        same window as the rows. On a file that can no longer be written the entry goes
        to the program's log only."""
        with self._lock:
            if self.broken:
                log_.warning("not in the run file (%s): %s %s", self.broken, kind, message)
                return
            self._buffer_log(time_, kind, message)
            if self.flush_interval <= 0:
                self.flush_quietly()
            elif self._oldest is None:
                self._oldest = time.monotonic()
                self._wake.notify()

    def _buffer_log(self, time_: float, kind: str, message: str) -> None:
        self._pending_log.append((time_, kind[:32].encode(), message.encode("utf-8")[:1024]))

    def flush(self) -> None:
        """Write what is waiting, as one block, and flush the file.
        Raises :class:`StorageError` if the write fails."""
        with self._lock:
            self._oldest = None
            if not self._pending_index and not self._pending_log:
                return
            first = self.rows
            self._write(f"points {first}-{first + len(self._pending_index) - 1}" if self._pending_index
                        else "the log", self._write_block)

    def flush_quietly(self) -> None:
        """:meth:`flush`, a failure only logged (for the log entries of a stop)."""
        try:
            self.flush()
        except StorageError:
            log_.warning("log entries not in the run file: %s", self.broken)

    def _write_block(self) -> None:
        k = len(self._pending_index)
        if k:
            for c, values in self._pending.items():
                _grow(self._data[c], np.asarray(values, dtype=float))
            if self._row is not None:
                _grow(self._row, np.arange(self.rows, self.rows + k, dtype=np.int64))
            if self._dirty_outer:
                lo, hi = min(self._dirty_outer), max(self._dirty_outer) + 1
                for c, ds in self._grid_ds.items():
                    ds[lo:hi] = self._grid[c][lo:hi]
            if self._dirty_done:
                for i in self._dirty_done:
                    self._done[i] = True
                lo, hi = min(self._dirty_done), max(self._dirty_done) + 1
                self._done_ds[lo:hi] = self._done[lo:hi]
            # the plan index grows last: a block cut short by a failed write has no index
            _grow(self._index, np.asarray(self._pending_index, dtype=np.int64))
            self.rows += k
        if self._pending_log:
            times, kinds, messages = zip(*self._pending_log)
            _grow(self._log["time"], np.asarray(times, dtype=float))
            _grow(self._log["kind"], np.asarray(kinds, dtype="S32"))
            _grow(self._log["message"], np.asarray(messages, dtype="S1024"))
        self._f.flush()
        for values in self._pending.values():
            values.clear()
        self._pending_index.clear()
        self._pending_log.clear()
        self._dirty_outer.clear()
        self._dirty_done.clear()

    def _flush_when_due(self) -> None:
        """The timer: writes waiting entries once the oldest is ``flush_interval`` old."""
        with self._wake:
            while not self._closing:
                if self._oldest is None:
                    self._wake.wait()
                    continue
                delay = self._oldest + self.flush_interval - time.monotonic()
                if delay > 0:
                    self._wake.wait(delay)
                    continue
                try:
                    self.flush()
                except StorageError:
                    self._oldest = None  # broken: the next append says so

    def _stop_timer(self) -> None:
        with self._wake:
            self._closing = True
            self._wake.notify_all()
        if self._timer is not None and self._timer is not threading.current_thread():
            self._timer.join(timeout=5)

    # --- the end
    def close(self, status: str, reason: str = "", snapshot_end: dict | None = None,
              meta: dict | None = None) -> None:
        if status not in STATUSES[1:]:
            raise ValueError(f"final status must be one of {STATUSES[1:]}, not {status!r}")
        self._stop_timer()
        self.flush_quietly()
        self._release_reserve()  # its room is for exactly this
        try:
            self._finish(status, reason, snapshot_end, meta)
        except (OSError, RuntimeError, ValueError) as exc:
            self.broken = self.broken or f"writing the final status of {self.path.name} failed"
            log_.error("%s: %s", self.broken, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        finally:
            _close_quietly(self._f, failed=bool(self.broken))

    def _finish(self, status, reason, snapshot_end, meta) -> None:
        paths = layout.Paths.of(self._f)
        # status and reason first: they overwrite space the file already has
        self._f[paths.reason][()] = np.bytes_(reason.encode("utf-8")[:4096])
        self._f[paths.status][()] = np.bytes_(status)
        self._f.flush()
        if self.broken:  # a write failed: the rest of what the file holds stays as flushed
            return
        end = json.dumps(snapshot_end or {}, default=str).encode()
        ds = self._f[paths.snapshot_end]
        ds.resize((len(end),))
        ds[:] = np.frombuffer(end, dtype="u1")
        meta = dict(meta or {})
        if "station_seconds" in meta:  # this stretch's lab time; the run's is every stretch's
            stretches = [*self.earlier_stretches, float(meta["station_seconds"])]
            meta.update(station_seconds=sum(stretches), stretches=stretches)
        meta_bytes = json.dumps({"finished": _now(), "rows": self.rows, **meta}, default=str).encode()
        ds = self._f[paths.finished_meta]
        ds.resize((len(meta_bytes),))
        ds[:] = np.frombuffer(meta_bytes, dtype="u1")
        self._f.flush()

    @property
    def done(self) -> np.ndarray:
        """Points measured (the ones still in the buffer included)."""
        with self._lock:
            done = self._done.copy()
            done[self._dirty_done] = True
            return done


def _close_quietly(f, failed: bool = True) -> None:
    """Close an h5py file whose writes may fail: no error, no 'Exception ignored' noise.
    ``failed=False`` (a healthy file): a plain close, no garbage collection."""
    hook = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: log_.debug("while closing: %s", unraisable.exc_value)
    try:
        try:
            f.close()
        except Exception as exc:  # noqa: BLE001 - the file is as it was last flushed
            log_.debug("closing failed: %s", exc)
        if failed:
            import gc

            gc.collect()  # h5py releases its identifiers now, while the hook is in place
    finally:
        sys.unraisablehook = hook
