"""The reader side of a run file: :func:`load_run` (everything in memory), :func:`open_run`
(columns read on demand, for files larger than memory), both formats (1 and 2), a
file whose writer is still alive or died included; and :meth:`Run.to_xarray`."""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
from dataclasses import dataclass, field
from typing import Any

import h5py
import numpy as np

from . import layout
from .layout import FORMAT


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
    signal: str = ""  #: the measured column (what NXdata plots)
    station_name: str = ""
    sample: str = ""  #: the sample (device) measured
    configuration: str = ""  #: the sample configuration measured (mtj, four_probe, ...)
    format_version: int = layout.FORMAT_VERSION

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

    def to_xarray(self):
        """The run as an ``xarray.Dataset``: a 2-D run on its grid (dimensions and
        coordinates = the plan's two axes, set-points), any other run one row per reading
        (dimension ``row``; coordinates the planned point and its set-points); every
        variable carries its ``units``; attributes = the parameters with units, status,
        procedure. Needs the ``xarray`` extra."""
        from .xarray_view import run_to_xarray

        return run_to_xarray(self)


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


def json_record(ds) -> dict:
    """A JSON record appended at the end of a run; {} when absent or cut short (a writer
    that died, or a disk that filled, while writing it)."""
    raw = bytes(ds[()]) if ds.shape[0] else b""
    try:
        return json.loads(raw) if raw else {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}




def load_run(path: str | pathlib.Path) -> Run:
    """Read a run file, finished or not (a file whose writer died opens too), format 1 or 2.

    :raises RunFileError: (one line) for anything that is not a readable run file."""
    path = pathlib.Path(path)
    try:
        with open_run_file(path) as f:
            return _read(path, f, lazy=False)
    except Incomplete as exc:
        raise Incomplete(f"{path}: not a readable run file ({exc})") from None
    except RunFileError:
        raise
    except (OSError, KeyError, ValueError, TypeError, AttributeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RunFileError(f"{path}: not a readable run file ({reason})") from None


@contextlib.contextmanager
def open_run(path: str | pathlib.Path):
    """A run whose ``data`` and ``grid`` columns are the file's datasets, read on demand
    (``run.data["resistance"][1000:2000]``): for files larger than memory. The file stays
    open inside the ``with`` block."""
    path = pathlib.Path(path)
    try:
        f = open_run_file(path)
    except (OSError, ValueError) as exc:
        raise RunFileError(f"{path}: not a readable run file ({str(exc).splitlines()[0]})") from None
    try:
        yield _read(path, f, lazy=True)
    finally:
        f.close()


class _Rows:
    """A dataset seen up to ``rows`` (a column whose tail may be a block cut short)."""

    def __init__(self, ds, rows: int):
        self._ds, self.shape, self.dtype = ds, (rows,), ds.dtype

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key):
        n = self.shape[0]
        if isinstance(key, slice):
            return self._ds[slice(*key.indices(n))]
        if isinstance(key, (int, np.integer)):
            if not -n <= key < n:
                raise IndexError(f"row {key} of {n}")
            return self._ds[key % n]
        return np.asarray(self)[key]

    def __array__(self, dtype=None, copy=None):
        out = self._ds[: self.shape[0]]
        return out if dtype is None else out.astype(dtype)


def _read(path: pathlib.Path, f: h5py.File, lazy: bool) -> Run:
    if f.attrs.get("format") != FORMAT:
        raise RunFileError(f"{path}: not a cryo_acq run file (no run-file layout)")
    paths = layout.Paths.of(f)
    metadata = {k: (json.loads(v) if k in ("parameters", "units", "columns", "software") else v)
                for k, v in f.attrs.items() if k not in ("NX_class", "default")}
    metadata = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in metadata.items()}
    metadata["snapshot_start"] = json.loads(f[paths.snapshot_start][()])
    metadata["snapshot_end"] = json_record(f[paths.snapshot_end])
    metadata.update(json_record(f[paths.finished_meta]))
    status = f[paths.status][()].decode()
    if status == "running":
        status = "interrupted"
    data_group = f[paths.data]
    plan_index = data_group["plan_index"][()]
    rows = len(plan_index)
    plan = layout.read_plan(f, paths)
    axes = [a["name"] for a in plan["axes"]]
    # the plan index grows last: a row cut short by a failed write has no index
    if lazy:
        data = {c: _Rows(data_group[c], rows) for c in metadata["columns"]}
    else:
        data = {c: data_group[c][:rows] for c in metadata["columns"]}
    grid = {}
    if paths.grid in f:
        g = f[paths.grid]
        grid = {c: (g[paths.grid_column(c, axes)] if lazy else g[paths.grid_column(c, axes)][()])
                for c in metadata["columns"]}
    log_group = f[paths.log]
    log = list(zip(log_group["time"][()].tolist(), (k.decode() for k in log_group["kind"][()]),
                   (m.decode("utf-8", "replace") for m in log_group["message"][()])))
    extra = {}
    if paths.version >= 2:
        entry = f["entry"]
        extra = dict(signal=_text(entry["data"].attrs.get("signal", "")),
                     station_name=_text(entry["instrument/name"][()]),
                     sample=_text(entry["sample/name"][()]), configuration=_text(entry["sample/configuration"][()]))
    return Run(path=path, data=data, metadata=metadata, status=status, reason=f[paths.reason][()].decode(),
               plan=plan, done=f[paths.done][()], plan_index=plan_index, grid=grid, log=log,
               station_file=_text(f[paths.station_file][()]), format_version=paths.version, **extra)


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
