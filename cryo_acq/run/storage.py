"""Run files: one HDF5 file per run, written so that it survives anything.

Everything known at the start (plan, done mask, parameters, units, the station
file, the instrument snapshot, software versions) is written before the first
point; then the file switches to HDF5's single-writer/multiple-reader mode, in
which the file on disk is consistent after every flush. Each point is appended
and flushed as it is measured. A process killed at any moment leaves a file that
opens (:func:`load_run`), holds every point flushed before, and whose status
still says ``running``: it did not finish.

Layout (documented in ``docs/run-files.md``)::

    /                    attrs: format, format_version, procedure, started (ISO time), parameters (JSON), units (JSON),
                                columns (JSON), software (JSON)
    /plan                attrs: plan (JSON: mode, shape, axes with values and units)
    /plan/order          (n, ndim) int   grid index of every planned point, in order
    /done                (n,) bool       point measured?
    /data/<column>       (rows,) float64 one row per reading, appended and flushed
    /data/plan_index     (rows,) int64   which planned point a row measures
    /grid/<column>       outer x inner   2-D plans only: each point's value at its place (NaN until measured)
    /station/file        the station file text       /station/snapshot_start  JSON
    /station/snapshot_end, /finished_meta            JSON bytes, written at the end
    /status, /reason     running | finished | aborted | failed, and why
    /log/time, /log/kind, /log/message               interruption log (station s, word, text)
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import pathlib
from dataclasses import dataclass, field
from typing import Any

import h5py
import numpy as np

from cryo_acq.run.sweeps import Point

import errno
import logging
import shutil
import sys

log_ = logging.getLogger(__name__)

FORMAT = "cryo_acq run"
FORMAT_VERSION = 1
STATUSES = ("running", "finished", "aborted", "failed")
_TEXT = h5py.string_dtype("utf-8")


def _now() -> str:
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


def new_run_path(folder: str | pathlib.Path, procedure: str) -> pathlib.Path:
    """A fresh file name in ``folder`` (created if needed); never an existing file."""
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    for n in range(1, 10_000):
        path = folder / f"{procedure}-{stamp}-{n:03d}.h5"
        if not path.exists():
            return path
    raise FileExistsError(f"no free run file name in {folder}")


# --------------------------------------------------------------------------- disk space
#: bytes kept in reserve beside a file being written: released when a write fails, so that
#: the file can still be closed consistently (status ``failed: disk full``) on a full disk
RESERVE_BYTES = 256 * 1024
#: bytes a run file holds besides its rows (attributes, station file, snapshot, log, HDF5 headers)
_OVERHEAD_BYTES = 160 * 1024


class StorageError(OSError):
    """Writing the run file failed (disk full, I/O error): measuring must stop."""


def free_space(folder: str | pathlib.Path) -> int:
    """Free bytes on the file system holding ``folder`` (or its nearest existing parent)."""
    folder = pathlib.Path(folder).absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return shutil.disk_usage(folder).free


def estimated_size(plan, columns: int, station_text: str = "") -> int:
    """Bytes a run file of ``plan`` with ``columns`` data columns grows to (an upper estimate):
    rows and plan index at 8 bytes, plan order and done mask, grid, fixed overhead."""
    n = len(plan)
    ndim = len(plan.shape)
    rows = 1.2 * n * (columns + 1) * 8  # 20 %: chunk slack and re-measured rows
    order = n * (ndim * 8 + 1)
    grid = n * columns * 8 if ndim == 2 else 0
    return int(rows + order + grid + len(station_text.encode()) + _OVERHEAD_BYTES + RESERVE_BYTES)


def check_space(folder: str | pathlib.Path, needed: int, keep_free: int = 0, what: str = "the run") -> None:
    """Refuse (ValueError, one line) when ``folder``'s disk cannot hold ``needed`` bytes and
    still keep ``keep_free`` free."""
    free = free_space(folder)
    if needed + keep_free > free:
        raise ValueError(f"not enough disk space in {folder}: {what} needs about {_size(needed)}"
                         + (f" plus {_size(keep_free)} kept free" if keep_free else "")
                         + f", {_size(free)} free")


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def _disk_full(exc: BaseException) -> bool:
    text = str(exc)
    return getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG) or \
        "No space left" in text or "errno = 28" in text or "File too large" in text or "errno = 27" in text


def _grow(ds, value) -> None:
    n = ds.shape[0]
    ds.resize((n + 1, *ds.shape[1:]))
    ds[n] = value


def _appendable(group, name, dtype, shape=()):
    return group.create_dataset(name, shape=(0, *shape), maxshape=(None, *shape), dtype=dtype,
                                chunks=(256, *shape))


class RunFile:
    """The writer side of a run file."""

    def __init__(self, path: pathlib.Path, h5: h5py.File, columns: list[str], plan):
        self.path = path
        self._f = h5
        self.columns = list(columns)
        self.plan = plan
        self._data = {c: h5["data"][c] for c in columns}
        self._index = h5["data"]["plan_index"]
        self._done = h5["done"]
        self._grid = {c: h5["grid"][c] for c in columns} if "grid" in h5 else {}
        self.rows = 0
        #: why writing stopped (a failed write), or "" while the file is writable
        self.broken = ""
        self._reserve = _reserve_path(path)
        #: lab time (s) of each earlier stretch in which this run was measured (a resumed run)
        self.earlier_stretches: list[float] = []

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
            kind = "disk full" if _disk_full(exc) else "write error"
            self.broken = f"{kind}: writing {what} to {self.path.name} failed"
            log_.error("%s (%s)", self.broken, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            self._release_reserve()
            raise StorageError(self.broken) from None

    @classmethod
    def create(cls, path: str | pathlib.Path, *, procedure: str, parameters: dict[str, Any],
               units: dict[str, str], plan, station_text: str = "", snapshot: dict | None = None,
               done: np.ndarray | None = None, attrs: dict | None = None) -> "RunFile":
        """Create the file (refusing to overwrite one) with everything known up front."""
        path = pathlib.Path(path)
        if path.exists():
            raise FileExistsError(f"{path} exists; run files are never overwritten")
        # built under a temporary name, renamed once consistent: a process killed while
        # creating leaves no half-made file at the run's path
        sweep_leftovers(path.parent)
        creating = _scratch(path, "creating")
        f = h5py.File(creating, "w-", libver="latest")
        try:
            columns = list(units)
            f.attrs.update(format=FORMAT, format_version=FORMAT_VERSION, procedure=procedure, started=_now(),
                           parameters=json.dumps(parameters, default=float), units=json.dumps(units),
                           columns=json.dumps(columns), software=json.dumps(software_versions()))
            f.attrs.update(attrs or {})
            g = f.create_group("plan")
            g.attrs["plan"] = json.dumps(plan.describe())
            g.create_dataset("order", data=plan.order())
            f.create_dataset("done", data=np.zeros(len(plan), bool) if done is None else done.astype(bool))
            data = f.create_group("data")
            for c in columns:
                _appendable(data, c, "f8")
            _appendable(data, "plan_index", "i8")
            if len(plan.shape) == 2:
                grid = f.create_group("grid")
                for c in columns:
                    grid.create_dataset(c, data=np.full(plan.shape, np.nan))
            st = f.create_group("station")
            st.create_dataset("file", data=station_text, dtype=_TEXT)
            st.create_dataset("snapshot_start", data=json.dumps(snapshot or {}, default=str), dtype=_TEXT)
            _appendable(st, "snapshot_end", "u1")
            _appendable(f, "finished_meta", "u1")
            f.create_dataset("status", data=np.bytes_("running"), dtype="S16")
            f.create_dataset("reason", data=np.bytes_(""), dtype="S4096")
            log = f.create_group("log")
            _appendable(log, "time", "f8")
            _appendable(log, "kind", "S32")
            _appendable(log, "message", "S1024")
            f.swmr_mode = True
            os.replace(creating, path)
        except Exception as exc:
            _close_quietly(f)
            creating.unlink(missing_ok=True)
            if isinstance(exc, (OSError, RuntimeError)) and _disk_full(exc):
                raise StorageError(f"disk full: cannot create {path.name} in {path.parent}") from None
            raise
        run = cls(path, f, columns, plan)
        try:
            run._take_reserve()
        except OSError as exc:
            run._release_reserve()
            _close_quietly(f)
            path.unlink(missing_ok=True)
            raise StorageError(f"disk full: no room for {path.name} in {path.parent} ({exc.strerror})") from None
        return run

    @classmethod
    def reopen(cls, path: str | pathlib.Path, plan) -> "RunFile":
        """Continue an interrupted run file: its content is copied into a fresh file
        that then replaces it (a file whose writer died cannot be reopened for writing
        in place). Rows, done mask and log are kept; nothing is measured twice."""
        path = pathlib.Path(path)
        old = load_run(path)
        if old.plan.get("shape") != list(plan.shape) or [a["values"] for a in old.plan["axes"]] != \
                [a.values.tolist() for a in plan.axes]:
            raise ValueError(f"{path}: the plan rebuilt from the stored parameters differs from the file's")
        sweep_leftovers(path.parent)
        tmp = _scratch(path, "resuming")
        attrs = {k: v for k, v in old.metadata.items() if k in ("started", "sim")}
        attrs["resumed"] = int(old.metadata.get("resumed", 0)) + 1
        stretches = measured_stretches(old)
        # kept in the file from now on: a stretch that ends in a crash is still counted
        attrs.update(earlier_stretches=json.dumps(stretches), stretch_rows=len(old.plan_index))
        new = cls.create(tmp, procedure=old.metadata["procedure"], parameters=old.metadata["parameters"],
                         units=old.units, plan=plan, station_text=old.station_file,
                         snapshot=old.metadata["snapshot_start"], attrs=attrs)
        try:
            for k, index in enumerate(old.plan_index.tolist()):
                new.append({c: old.data[c][k] for c in new.columns}, plan.points[index] if index >= 0 else None)
            for time, kind, message in old.log:
                new.log(time, kind, message)
            if old.status != "interrupted":
                new.log(old.log[-1][0] if old.log else 0.0, "previous-status", f"{old.status}: {old.reason}")
            os.replace(tmp, path)
        except Exception:
            new._f.close()
            tmp.unlink(missing_ok=True)
            raise
        new.path = path
        new.earlier_stretches = stretches
        return new

    def append(self, row: dict[str, float], point: Point | None) -> None:
        """Write one reading (missing columns: NaN), mark its point done, flush.
        A failed write raises :class:`StorageError` (see :meth:`_write`)."""
        unknown = set(row) - set(self.columns)
        if unknown:
            raise KeyError(f"columns {sorted(unknown)} are not in this run file ({self.columns})")
        self._write(f"point {'?' if point is None else point.index}", lambda: self._append(row, point))

    def _append(self, row, point) -> None:
        for c in self.columns:
            value = float(row.get(c, np.nan))
            _grow(self._data[c], value)
            if point is not None and self._grid:
                self._grid[c][point.grid] = value
        _grow(self._index, -1 if point is None else point.index)
        if point is not None:
            self._done[point.index] = True
        self.rows += 1
        self._f.flush()

    def log(self, time: float, kind: str, message: str) -> None:
        """Record an interruption (retry, pause, fault, abort) with its station time.
        On a file that can no longer be written the entry goes to the program's log only."""
        if self.broken:
            log_.warning("not in the run file (%s): %s %s", self.broken, kind, message)
            return
        try:
            self._write(f"the log ({kind})", lambda: self._log(time, kind, message))
        except StorageError:
            log_.warning("not in the run file: %s %s", kind, message)

    def _log(self, time: float, kind: str, message: str) -> None:
        log = self._f["log"]
        _grow(log["time"], time)
        _grow(log["kind"], np.bytes_(kind[:32]))
        _grow(log["message"], np.bytes_(message.encode("utf-8")[:1024]))
        self._f.flush()

    def close(self, status: str, reason: str = "", snapshot_end: dict | None = None,
              meta: dict | None = None) -> None:
        if status not in STATUSES[1:]:
            raise ValueError(f"final status must be one of {STATUSES[1:]}, not {status!r}")
        self._release_reserve()  # its room is for exactly this
        try:
            self._finish(status, reason, snapshot_end, meta)
        except (OSError, RuntimeError, ValueError) as exc:
            self.broken = self.broken or f"writing the final status of {self.path.name} failed"
            log_.error("%s: %s", self.broken, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        finally:
            _close_quietly(self._f, failed=bool(self.broken))

    def _finish(self, status, reason, snapshot_end, meta) -> None:
        # status and reason first: they overwrite space the file already has
        self._f["reason"][()] = np.bytes_(reason.encode("utf-8")[:4096])
        self._f["status"][()] = np.bytes_(status)
        self._f.flush()
        if self.broken:  # a write failed: the rest of what the file holds stays as flushed
            return
        end = json.dumps(snapshot_end or {}, default=str).encode()
        ds = self._f["station"]["snapshot_end"]
        ds.resize((len(end),))
        ds[:] = np.frombuffer(end, dtype="u1")
        meta = dict(meta or {})
        if "station_seconds" in meta:  # this stretch's lab time; the run's is every stretch's
            stretches = [*self.earlier_stretches, float(meta["station_seconds"])]
            meta.update(station_seconds=sum(stretches), stretches=stretches)
        meta_bytes = json.dumps({"finished": _now(), "rows": self.rows, **meta}, default=str).encode()
        ds = self._f["finished_meta"]
        ds.resize((len(meta_bytes),))
        ds[:] = np.frombuffer(meta_bytes, dtype="u1")
        self._f.flush()

    @property
    def done(self) -> np.ndarray:
        return self._done[()]


# --------------------------------------------------------------------------- reading
_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_WRITE, _SWMR_WRITE = 0x01, 0x04  #: superblock file-consistency flags


class RunFileError(ValueError):
    """A file that cannot be read as a run file (empty, not HDF5, truncated, another layout);
    the message is one line naming the file and why."""


class Incomplete(RunFileError):
    """A run file whose creation never finished: it holds no point."""


def probe(path: str | pathlib.Path) -> bool:
    """Look at an HDF5 file's superblock before opening it; returns whether it must be
    opened in SWMR mode (its writer is alive, or died, in SWMR mode).

    Raises ValueError, without opening the file, for what HDF5 would struggle with: not an
    HDF5 file; a file shorter than its superblock says (truncated, or still being created:
    opened in SWMR mode such a file makes HDF5 retry its metadata reads for minutes); a
    file opened for writing but not yet in SWMR mode (being created, or its writer was
    killed while creating it: a run file holds no point before its SWMR switch)."""
    path = pathlib.Path(path)
    size = path.stat().st_size
    if size == 0:
        raise Incomplete("empty file (killed as it was created?)")
    with open(path, "rb") as fh:
        head = fh.read(48)
    if head[:8] != _SIGNATURE:
        raise ValueError("not an HDF5 file")
    if len(head) < 12:
        raise ValueError(f"truncated ({size} bytes)")
    version, flags = head[8], head[11]
    if version < 2:  # old superblocks carry no flags; cryo_acq writes version 3
        return False
    if len(head) < 36:
        raise ValueError(f"truncated ({size} bytes)")
    eof = int.from_bytes(head[28:36], "little")
    if flags & _WRITE and not flags & _SWMR_WRITE:
        raise Incomplete("being created, or its writer was killed while creating it (it holds no point)")
    if eof > size:
        raise ValueError(f"truncated: {size} of its {eof} bytes")
    return bool(flags & _SWMR_WRITE)


#: metadata read attempts in SWMR mode (HDF5's default, 100 with back-off, spins for
#: minutes on a damaged file; a few are enough for a reader racing a live writer)
SWMR_READ_ATTEMPTS = 5
_attempts_setter: Any = False


def _set_read_attempts():
    """``H5Pset_metadata_read_attempts`` of the libhdf5 h5py uses (h5py does not wrap it);
    None if it cannot be found."""
    global _attempts_setter
    if _attempts_setter is not False:
        return _attempts_setter
    _attempts_setter = None
    try:
        import ctypes
        import glob

        paths = []
        try:
            with open("/proc/self/maps", encoding="utf-8", errors="replace") as fh:
                paths = sorted({line.split()[-1] for line in fh if "libhdf5" in line and "_hl" not in line
                                and line.split()[-1].startswith("/")})
        except OSError:
            pass
        libs = os.path.join(os.path.dirname(h5py.__file__), os.pardir, "h5py.libs")
        paths += glob.glob(os.path.join(libs, "libhdf5-*")) + glob.glob(os.path.join(libs, "libhdf5.*"))
        for path in paths:
            if "_hl" in os.path.basename(path):
                continue
            try:
                setter = ctypes.CDLL(path).H5Pset_metadata_read_attempts
            except (OSError, AttributeError):
                continue
            setter.argtypes, setter.restype = [ctypes.c_int64, ctypes.c_uint], ctypes.c_int
            _attempts_setter = setter
            break
    except Exception:  # noqa: BLE001 - without it, h5py's defaults
        _attempts_setter = None
    return _attempts_setter


def open_run_file(path: str | pathlib.Path):
    """An h5py File for reading that fails rather than hangs on a damaged file: checked by
    :func:`probe`; SWMR mode only when a SWMR writer had it, then with few read attempts."""
    if not probe(path):
        return h5py.File(path, "r")
    setter = _set_read_attempts()
    if setter is None:
        return h5py.File(path, "r", swmr=True)
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    if setter(fapl.id, SWMR_READ_ATTEMPTS) < 0:
        return h5py.File(path, "r", swmr=True)
    fid = h5py.h5f.open(os.fsencode(str(path)), h5py.h5f.ACC_RDONLY | h5py.h5f.ACC_SWMR_READ, fapl=fapl)
    return h5py.File(fid)



@dataclass
class Run:
    """A run file as read back: ``data`` (column -> array), ``metadata`` (dict), ``status``."""

    path: pathlib.Path
    data: dict[str, np.ndarray]
    metadata: dict[str, Any]
    status: str  #: finished | aborted | failed | interrupted (the writer died: status was never written)
    reason: str
    plan: dict[str, Any]
    done: np.ndarray
    plan_index: np.ndarray
    grid: dict[str, np.ndarray] = field(default_factory=dict)
    log: list[tuple[float, str, str]] = field(default_factory=list)
    station_file: str = ""

    @property
    def units(self) -> dict[str, str]:
        return self.metadata["units"]

    @property
    def finished(self) -> bool:
        return self.status == "finished"

    @property
    def label(self) -> str:
        """The run's name: its file name without ``.h5`` (a sequence's label)."""
        return self.path.stem

    @property
    def procedure(self) -> str:
        return self.metadata.get("procedure", "")

    @property
    def parameters(self) -> dict[str, Any]:
        """Parameter name -> value the run was measured with (units: :meth:`parameter_unit`)."""
        return {k: self.parameter(k) for k in self.metadata.get("parameters", {})}

    def parameter(self, name: str, default: Any = None) -> Any:
        """The value of the procedure parameter ``name`` in this run (``default`` if absent)."""
        entry = self.metadata.get("parameters", {}).get(name)
        if entry is None:
            return default
        return entry.get("value", default) if isinstance(entry, dict) else entry

    def parameter_unit(self, name: str) -> str:
        entry = self.metadata.get("parameters", {}).get(name)
        return str(entry.get("units") or "") if isinstance(entry, dict) else ""


def measured_stretches(run: "Run") -> list[float]:
    """Lab time (s) of each stretch in which ``run`` was measured: the first session and
    each resumed one. A stretch that ended with the file closed says its own time; one
    whose writer died is timed by its rows and log entries (from the first to the last)."""
    if isinstance(run.metadata.get("stretches"), list):
        return [float(s) for s in run.metadata["stretches"]]
    earlier = [float(s) for s in json.loads(run.metadata.get("earlier_stretches") or "[]")]
    if "station_seconds" in run.metadata:
        return [*earlier, float(run.metadata["station_seconds"])]
    start_row = int(run.metadata.get("stretch_rows", 0))
    times = list(run.data["time"][start_row:]) if "time" in run.data else []
    log = run.log
    if earlier:  # the log of this stretch: after its "resume" entry (the clock may have restarted)
        last = max((k for k, (_, kind, _) in enumerate(log) if kind == "resume"), default=-1)
        log = log[last:]
    times += [t for t, _, _ in log]
    times = [t for t in times if np.isfinite(t)]
    return [*earlier, float(max(times) - min(times)) if len(times) >= 2 else 0.0]


def _json_bytes(ds) -> dict:
    """A JSON record appended at the end of a run; {} when absent or cut short (a writer
    that died, or a disk that filled, while writing it)."""
    raw = bytes(ds[()]) if ds.shape[0] else b""
    try:
        return json.loads(raw) if raw else {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}


def _reserve_path(path: pathlib.Path) -> pathlib.Path:
    return path.with_name(f".{path.name}.{os.getpid()}.reserve")


def _scratch(path: pathlib.Path, kind: str) -> pathlib.Path:
    """A writer's temporary file beside ``path``, tagged with the writer's process id."""
    scratch = path.with_name(f"{path.name}.{os.getpid()}.{kind}")
    scratch.unlink(missing_ok=True)
    return scratch


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def sweep_leftovers(folder: str | pathlib.Path) -> list[pathlib.Path]:
    """Delete what writers that died left in ``folder`` (a file half created, half copied
    for a resume, a disk reserve): only files tagged with a process id that no longer runs."""
    removed = []
    try:
        candidates = [p for p in pathlib.Path(folder).iterdir()
                      if p.name.endswith((".creating", ".resuming", ".reserve"))]
    except OSError:
        return removed
    for p in candidates:
        parts = p.name.rsplit(".", 2)
        if len(parts) == 3 and parts[1].isdigit() and not _alive(int(parts[1])):
            try:
                p.unlink()
                removed.append(p)
            except OSError:
                pass
    return removed


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


def load_run(path: str | pathlib.Path) -> Run:
    """Read a run file, finished or not (a file whose writer died opens too).

    :raises RunFileError: (one line) for anything that is not a readable run file."""
    path = pathlib.Path(path)
    try:
        return _load_run(path)
    except Incomplete as exc:
        raise Incomplete(f"{path}: not a readable run file ({exc})") from None
    except RunFileError:
        raise
    except (OSError, KeyError, ValueError, TypeError, AttributeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RunFileError(f"{path}: not a readable run file ({reason})") from None


def _load_run(path: pathlib.Path) -> Run:
    with open_run_file(path) as f:
        if f.attrs.get("format") != FORMAT:
            raise RunFileError(f"{path}: not a cryo_acq run file (no run-file layout)")
        metadata = {k: (json.loads(v) if k in ("parameters", "units", "columns", "software") else v)
                    for k, v in f.attrs.items()}
        metadata = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in metadata.items()}
        metadata["snapshot_start"] = json.loads(f["station"]["snapshot_start"][()])
        metadata["snapshot_end"] = _json_bytes(f["station"]["snapshot_end"])
        metadata.update(_json_bytes(f["finished_meta"]))
        status = f["status"][()].decode()
        if status == "running":
            status = "interrupted"
        plan_index = f["data"]["plan_index"][()]
        # the plan index grows last: a row cut short by a failed write has no index
        data = {c: f["data"][c][:len(plan_index)] for c in metadata["columns"]}
        grid = {c: f["grid"][c][()] for c in f["grid"]} if "grid" in f else {}
        log = list(zip(f["log"]["time"][()].tolist(), (k.decode() for k in f["log"]["kind"][()]),
                       (m.decode("utf-8", "replace") for m in f["log"]["message"][()])))
        return Run(path=path, data=data, metadata=metadata, status=status, reason=f["reason"][()].decode(),
                   plan=json.loads(f["plan"].attrs["plan"]), done=f["done"][()],
                   plan_index=plan_index, grid=grid, log=log,
                   station_file=f["station"]["file"][()].decode())
