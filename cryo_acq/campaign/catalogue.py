"""The run catalogue: an SQLite index of the run files in a folder.

One row per run file (``*.h5`` in the folder and its sub-folders, hidden folders
skipped), kept in ``<folder>/.cryo_acq-runs.sqlite`` beside the data:

=============== ===========================================================
path            relative to the folder (the key)
procedure       e.g. ``hanle``
status          finished | aborted | failed | interrupted (the writer died or is
                still writing) | unreadable (not a run file, or damaged)
points_done     points measured (the file's done mask)
points_planned  points in the plan
started         ISO time the run started
duration        station seconds: ``station_seconds`` of the file's finished_meta; for a
                file that was never closed, the span of its time column
parameters      JSON: every parameter's value
units           JSON: every parameter's unit ("" for none)
station         the station's name; sample, configuration: the device and its wiring
size, mtime     of the file when it was read (a change makes it stale)
error           why an unreadable file could not be read
=============== ===========================================================

:func:`update` indexes one file (cheap: it reads the file's attributes and small
datasets, not the data); :func:`rebuild` brings the whole index up to date, reading
only the files that are new or whose size or modification time changed and dropping
rows of files that are gone; :func:`query` refreshes, then filters. The index is a
cache: deleting it loses nothing. A folder that cannot be written is indexed in
memory. Documented in ``docs/catalogue.md``.
"""

from __future__ import annotations

import json
import math
import os
import pathlib
import sqlite3
import threading
from dataclasses import dataclass, field
from typing import Any, Iterable

INDEX_NAME = ".cryo_acq-runs.sqlite"
SCHEMA_VERSION = 2
STATUSES = ("finished", "aborted", "failed", "interrupted", "unreadable")

_COLUMNS = ("path", "procedure", "status", "points_done", "points_planned", "started", "duration",
            "parameters", "size", "mtime", "error", "reason", "units", "station", "sample", "configuration")


@dataclass
class Entry:
    """One run file as the catalogue knows it."""

    path: str  #: relative to the folder
    procedure: str
    status: str
    points_done: int
    points_planned: int
    started: str
    duration: float | None  #: station seconds
    parameters: dict[str, Any] = field(default_factory=dict)
    size: int = 0
    mtime: float = 0.0  #: seconds since the epoch
    error: str = ""  #: unreadable: why
    reason: str = ""  #: the file's reason (aborted / failed runs)
    units: dict[str, str] = field(default_factory=dict)  #: parameter name -> unit ("" for none)
    station: str = ""  #: the station's name
    sample: str = ""  #: the sample (device) measured
    configuration: str = ""  #: how it was wired (mtj, four_probe, ...)

    @property
    def readable(self) -> bool:
        return self.status != "unreadable"


# --------------------------------------------------------------------------- reading one file
def read_summary(path: str | pathlib.Path) -> dict[str, Any]:
    """What the catalogue keeps about one run file, read without its data columns.

    Raises (OSError, ValueError, KeyError, ...) for a file that is not a readable run file."""
    from cryo_acq.run.storage import FORMAT, json_record, open_run_file
    from cryo_acq.run.storage.layout import Paths

    with open_run_file(path) as f:
        if f.attrs.get("format") != FORMAT:
            raise ValueError("not a cryo_acq run file")
        paths = Paths.of(f)
        status = f[paths.status][()].decode()
        done = f[paths.done][()]
        meta = json_record(f[paths.finished_meta])
        duration = meta.get("station_seconds")
        if duration is None:
            data = f[paths.data]
            time = data["time"] if "time" in data else None
            n = data["plan_index"].shape[0] if time is not None else 0
            duration = float(time[n - 1] - time[0]) if n >= 2 else 0.0
        record = json.loads(f.attrs["parameters"])
        entry = f.get("entry")
        text = {name: _text(entry[where][()]) if entry is not None and where in entry else ""
                for name, where in (("station", "instrument/name"), ("sample", "sample/name"),
                                    ("configuration", "sample/configuration"))}
        return {
            "procedure": str(f.attrs["procedure"]),
            "status": "interrupted" if status == "running" else status,
            "points_done": int(done.sum()),
            "points_planned": int(done.size),
            "started": str(f.attrs.get("started", "")),
            "duration": float(duration),
            "parameters": {name: (p.get("value") if isinstance(p, dict) else p) for name, p in record.items()},
            "reason": f[paths.reason][()].decode("utf-8", "replace"),
            "units": {name: (str(p.get("units") or "") if isinstance(p, dict) else "") for name, p in record.items()},
            **text,
        }


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _read(folder: pathlib.Path, path: pathlib.Path, stat: os.stat_result) -> Entry:
    rel = os.path.relpath(path, folder)
    try:
        info = read_summary(path)
    except Exception as exc:  # noqa: BLE001 - listed as unreadable, never crashes the listing
        message = str(exc).splitlines()[0] if str(exc) else ""
        return Entry(rel, "", "unreadable", 0, 0, "", None, {}, stat.st_size, stat.st_mtime,
                     error=f"{type(exc).__name__}: {message}"[:500])
    return Entry(rel, size=stat.st_size, mtime=stat.st_mtime, **info)


# --------------------------------------------------------------------------- the index
def index_path(folder: str | pathlib.Path) -> pathlib.Path:
    return pathlib.Path(folder) / INDEX_NAME


_TABLE = """CREATE TABLE IF NOT EXISTS runs (
    path TEXT PRIMARY KEY, procedure TEXT, status TEXT, points_done INTEGER, points_planned INTEGER,
    started TEXT, duration REAL, parameters TEXT, size INTEGER, mtime REAL, error TEXT, reason TEXT,
    units TEXT, station TEXT, sample TEXT, configuration TEXT)"""


def _writable(folder: pathlib.Path) -> bool:
    index = index_path(folder)
    return os.access(folder, os.W_OK) and (not index.exists() or os.access(index, os.W_OK))


class _Kept(sqlite3.Connection):
    """An in-memory index of a folder that cannot be written, kept for the life of the
    process (so a second listing reads only what changed); ``close`` leaves it open."""

    def close(self) -> None:
        self.commit()


_in_memory: dict[str, sqlite3.Connection] = {}
_in_memory_lock = threading.Lock()


def _connect(folder: pathlib.Path) -> sqlite3.Connection:
    """The folder's index (created if missing); in memory, kept for the process, if the
    folder cannot be written."""
    if not _writable(folder):
        with _in_memory_lock:
            key = str(folder.resolve())
            if key not in _in_memory:
                db = sqlite3.connect(":memory:", factory=_Kept, check_same_thread=False)
                db.execute(_TABLE)
                _in_memory[key] = db
            return _in_memory[key]
    db = sqlite3.connect(index_path(folder), timeout=30)
    try:
        if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            db.execute("DROP TABLE IF EXISTS runs")  # an index of another layout: start again
        db.execute(_TABLE)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.commit()
    except sqlite3.DatabaseError:  # a damaged index file: it is only a cache
        db.close()
        index_path(folder).unlink(missing_ok=True)
        db = sqlite3.connect(index_path(folder), timeout=30)
        db.execute(_TABLE)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.commit()
    return db


def _store(db: sqlite3.Connection, entry: Entry) -> None:
    db.execute(f"INSERT OR REPLACE INTO runs ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
               (entry.path, entry.procedure, entry.status, entry.points_done, entry.points_planned, entry.started,
                entry.duration, json.dumps(entry.parameters, default=str), entry.size, entry.mtime, entry.error,
                entry.reason, json.dumps(entry.units), entry.station, entry.sample, entry.configuration))


def _entry(row) -> Entry:
    values = dict(zip(_COLUMNS, row))
    values["parameters"] = json.loads(values["parameters"] or "{}")
    values["units"] = json.loads(values["units"] or "{}")
    return Entry(**values)


def _run_files(folder: pathlib.Path) -> Iterable[pathlib.Path]:
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.endswith(".h5") and not name.startswith("."):
                yield pathlib.Path(root) / name


def update(folder: str | pathlib.Path, path: str | pathlib.Path) -> Entry | None:
    """Index (or re-index) one run file after a run; ``None`` if it does not exist
    (its row, if any, is dropped). ``path``: absolute, or relative to the working directory."""
    folder = pathlib.Path(folder)
    path = pathlib.Path(path)
    if not path.is_absolute() and not path.exists() and (folder / path).exists():
        path = folder / path
    db = _connect(folder)
    try:
        rel = os.path.relpath(path, folder)
        try:
            stat = path.stat()
        except FileNotFoundError:
            db.execute("DELETE FROM runs WHERE path = ?", (rel,))
            db.commit()
            return None
        entry = _read(folder, path, stat)
        _store(db, entry)
        db.commit()
        return entry
    finally:
        db.close()


def rebuild(folder: str | pathlib.Path, full: bool = False) -> list[Entry]:
    """Bring the index of ``folder`` up to date and return every entry (sorted by path).

    New files and files whose size or modification time changed are read; rows of
    files that are gone are dropped. ``full``: forget the index and read every file."""
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no folder {folder}")
    db = _connect(folder)
    try:
        if full:
            db.execute("DELETE FROM runs")
        known = {row[0]: (row[1], row[2]) for row in db.execute("SELECT path, size, mtime FROM runs")}
        seen = set()
        for path in _run_files(folder):
            try:
                stat = path.stat()
            except FileNotFoundError:  # removed while scanning
                continue
            rel = os.path.relpath(path, folder)
            seen.add(rel)
            if known.get(rel) == (stat.st_size, stat.st_mtime):
                continue
            _store(db, _read(folder, path, stat))
        for rel in set(known) - seen:
            db.execute("DELETE FROM runs WHERE path = ?", (rel,))
        db.commit()
        return [_entry(row) for row in db.execute(f"SELECT {', '.join(_COLUMNS)} FROM runs ORDER BY path")]
    finally:
        db.close()


# --------------------------------------------------------------------------- querying
Range = tuple[float | None, float | None]


def _as_number(value) -> float | None:
    if isinstance(value, bool):
        return float(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def matches(entry: Entry, name: str, condition) -> bool:
    """Does the parameter ``name`` of ``entry`` satisfy ``condition``: a (lo, hi) range
    (either end None: open; inclusive, for numbers), or a value (equal: as numbers
    when both are numbers, else as text)."""
    if name not in entry.parameters:
        return False
    value = entry.parameters[name]
    if isinstance(condition, tuple):
        lo, hi = condition
        number = _as_number(value)
        if number is None:
            return False
        scale = 1e-9 * max(abs(number), 1e-300)
        return (lo is None or number >= lo - scale) and (hi is None or number <= hi + scale)
    a, b = _as_number(value), _as_number(condition)
    if a is not None and b is not None:
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=0.0)
    return str(value).strip() == str(condition).strip()


def query(folder: str | pathlib.Path, procedure: str | None = None, status: str | None = None,
          where: dict[str, Any] | None = None) -> list[Entry]:
    """The runs in ``folder`` (index refreshed first), filtered: ``procedure``, ``status``
    (finished, aborted, failed, interrupted, unreadable), ``where``: parameter name ->
    (lo, hi) range or value. Unreadable files only pass a filter on status."""
    entries = rebuild(folder)
    out = []
    for entry in entries:
        if procedure is not None and entry.procedure != procedure:
            continue
        if status is not None and entry.status != status:
            continue
        if where and not all(matches(entry, name, condition) for name, condition in where.items()):
            continue
        out.append(entry)
    return out


def parse_where(text: str) -> tuple[str, Any]:
    """``name=lo..hi`` (either end may be left out) or ``name=value`` -> (name, condition)."""
    name, sep, condition = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise ValueError(f"{text!r}: expected name=lo..hi or name=value")
    condition = condition.strip()
    if ".." in condition:
        lo_text, _, hi_text = condition.partition("..")
        bounds = []
        for part in (lo_text.strip(), hi_text.strip()):
            if not part:
                bounds.append(None)
                continue
            try:
                bounds.append(float(part))
            except ValueError:
                raise ValueError(f"{text!r}: {part!r} is not a number") from None
        if bounds[0] is not None and bounds[1] is not None and bounds[0] > bounds[1]:
            raise ValueError(f"{text!r}: the range is empty ({bounds[0]:g} > {bounds[1]:g})")
        return name, (bounds[0], bounds[1])
    return name, condition
