"""The lab's run folders as a Tiled tree (read-only; the ``serve`` extra).

One flat container of runs over every folder served, ordered by start time. A run is a
container whose metadata is what the catalogue keeps (so a search over a thousand runs
reads no data) and whose children are read from the file on first use:

========== =================================================================
data       the run as ``xarray`` (:meth:`Run.to_xarray`): a map on its grid, any
           other run one row per reading; units on every variable
readings   every reading in the order measured (dimension ``row``), all columns
           and ``plan_index``: what :func:`load_run` gives as ``run.data``
plan       metadata: the plan (axes with units and values, shape, order), the
           done mask as an array
snapshot   metadata: the station's snapshot at the start and at the end
log        metadata: the run's log, ``entries`` = [[station time s, kind, message]]
========== =================================================================

Run metadata (searchable with Tiled's queries, ``Key("parameters.temperature") < 0.1``):
``procedure``, ``status``, ``reason``, ``station``, ``sample``, ``configuration``,
``started`` (ISO), ``duration_s``, ``points_done``, ``points_planned``, ``parameters``
(name -> value, SI), ``parameter_units`` (name -> unit), ``folder``, ``file``,
``modified``, ``version`` (changes whenever the file does).

A run still being written (its status in the file still ``running``, changed within
:data:`LIVE_WINDOW`) has status ``running``; it grows as the writer flushes. A file that
changes is read again; new files appear at the next listing (the folders are looked at
again at most every :data:`RESCAN` seconds). A node is one state of its file: a client
reading a growing run in several requests checks ``version`` before and after
(:func:`cryo_acq.service.client.fetch_run` does). Only ``*.h5`` files inside the folders named
are served: a link that leads outside them is left out.
"""

from __future__ import annotations

import functools
import math
import operator
import os
import pathlib
import threading
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import numpy as np
from tiled.adapters.array import ArrayAdapter
from tiled.adapters.mapping import MapAdapter
from tiled.adapters.xarray import DatasetAdapter
from tiled.queries import Comparison
from tiled.structures.container import ContainerStructure
from tiled.structures.core import Spec

from cryo_acq.campaign import catalogue

RESCAN = 1.0  #: s: a listing at most this old is reused
LIVE_WINDOW = 600.0  #: s: an unfinished file changed within this is being written ("running")
RUN_SPEC = Spec("cryo_acq_run")


# --------------------------------------------------------------------------- one run
@functools.lru_cache(maxsize=16)
def _load(path: str, size: int, mtime: float):
    """A run file read whole (cached while it is unchanged)."""
    from cryo_acq.run.storage import load_run

    return load_run(path)


def _json(value):
    """``value`` made JSON-safe (numpy scalars and arrays to Python; NaN and inf to None)."""
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return _json(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def run_metadata(entry: catalogue.Entry, folder_label: str, now: float | None = None) -> dict[str, Any]:
    """What a run node says of itself, from its catalogue entry."""
    now = time.time() if now is None else now
    status = entry.status
    if status == "interrupted" and now - entry.mtime < LIVE_WINDOW:
        status = "running"
    return _json({
        "procedure": entry.procedure, "status": status, "reason": entry.reason or entry.error,
        "station": entry.station, "sample": entry.sample, "configuration": entry.configuration,
        "started": entry.started, "duration_s": entry.duration, "points_done": entry.points_done,
        "points_planned": entry.points_planned, "parameters": entry.parameters,
        "parameter_units": entry.units, "folder": folder_label, "file": pathlib.PurePath(entry.path).as_posix(),
        "modified": datetime.fromtimestamp(entry.mtime, timezone.utc).isoformat(timespec="seconds"),
        "version": f"{entry.size}:{entry.mtime!r}",  # changes whenever the file does
    })


class _RunChildren(Mapping):
    """A run's children, read from its file when first asked for. A run being written is
    read once per node and kept with it (every child of one node is one state of the
    file); a file that no longer changes goes through a small shared cache."""

    KEYS = ("data", "readings", "plan", "snapshot", "log")

    def __init__(self, path: pathlib.Path, size: int, mtime: float, live: bool):
        self._key = (str(path), size, mtime)
        self._live = live
        self._run = None
        self._lock = threading.Lock()

    def run(self):
        if not self._live:
            return _load(*self._key)
        with self._lock:
            if self._run is None:
                from cryo_acq.run.storage import load_run

                self._run = load_run(self._key[0])
            return self._run

    def __len__(self) -> int:
        return len(self.KEYS)

    def __iter__(self):
        return iter(self.KEYS)

    def __getitem__(self, key: str):
        if key not in self.KEYS:
            raise KeyError(key)
        run = self.run()
        if key == "data":
            return DatasetAdapter.from_dataset(run.to_xarray())
        if key == "readings":
            return DatasetAdapter.from_dataset(_readings(run))
        if key == "plan":
            return MapAdapter({"done": ArrayAdapter.from_array(np.asarray(run.done, dtype=bool))},
                              metadata=_json(run.plan))
        if key == "snapshot":
            return MapAdapter({}, metadata=_json({"start": run.metadata.get("snapshot_start", {}),
                                                  "end": run.metadata.get("snapshot_end", {})}))
        return MapAdapter({}, metadata={"entries": _json([list(e) for e in run.log])})


def _readings(run):
    """Every reading in the order measured, as ``xarray`` (dimension ``row``)."""
    import xarray as xr

    from cryo_acq.run.storage.layout import units_attr

    variables = {c: ("row", np.asarray(run.data[c]), {"units": units_attr(run.units[c])}) for c in run.data}
    variables["plan_index"] = ("row", np.asarray(run.plan_index), {"units": "1"})
    return xr.Dataset(variables, attrs={"procedure": run.procedure, "status": run.status})


def run_node(path: pathlib.Path, entry: catalogue.Entry, metadata: dict[str, Any]) -> MapAdapter:
    """A run's node: ``metadata`` (:func:`run_metadata`), children read from ``path``."""
    live = entry.status == "interrupted"  # unfinished: it may still change
    children = _RunChildren(path, entry.size, entry.mtime, live) if entry.readable else {}
    return MapAdapter(children, metadata=metadata, specs=[RUN_SPEC])


# --------------------------------------------------------------------------- the folders
def folder_labels(folders: list[pathlib.Path]) -> list[str]:
    """A name per folder: its own name, made unique with -2, -3, ..."""
    labels: list[str] = []
    for folder in folders:
        base = folder.resolve().name or "runs"
        label, n = base, 1
        while label in labels:
            n += 1
            label = f"{base}-{n}"
        labels.append(label)
    return labels


class LabRuns(Mapping):
    """Every run in the folders served, key -> run node, refreshed at most every
    :data:`RESCAN` seconds. With one folder a run's key is its file's path in the folder
    without ``.h5`` (sub-folders joined by ``.``); with several, ``<folder>.<that>``."""

    def __init__(self, folders: list[str | os.PathLike]):
        self.folders = [pathlib.Path(f).resolve() for f in folders]
        for folder in self.folders:
            if not folder.is_dir():
                raise FileNotFoundError(f"no folder {folder}")
        self.labels = folder_labels(self.folders)
        self._lock = threading.Lock()
        self._nodes: dict[str, MapAdapter] = {}
        self._made: dict[str, tuple] = {}  # key -> (size, mtime, status) its node was made from
        self._scanned = -math.inf

    def _key(self, label: str, rel: str) -> str:
        stem = pathlib.PurePath(rel).with_suffix("").as_posix().replace("/", ".")
        return stem if len(self.folders) == 1 else f"{label}.{stem}"

    def refresh(self, force: bool = False) -> dict[str, MapAdapter]:
        with self._lock:
            if not force and time.monotonic() - self._scanned < RESCAN:
                return self._nodes
            nodes, made, order = {}, {}, []
            now = time.time()
            for folder, label in zip(self.folders, self.labels):
                for entry in catalogue.rebuild(folder):
                    path = folder / entry.path
                    if not path.resolve().is_relative_to(folder):  # a link leading outside
                        continue
                    key = self._key(label, entry.path)
                    metadata = run_metadata(entry, label, now)
                    stamp = (entry.size, entry.mtime, metadata["status"])
                    node = self._nodes.get(key) if self._made.get(key) == stamp else None
                    nodes[key] = node if node is not None else run_node(path, entry, metadata)
                    made[key] = stamp
                    order.append((entry.started, key))
            self._nodes = {key: nodes[key] for _, key in sorted(order)}
            self._made = made
            self._scanned = time.monotonic()
            return self._nodes

    def __getitem__(self, key: str) -> MapAdapter:
        return self.refresh()[key]

    def __iter__(self):
        return iter(self.refresh())

    def __len__(self) -> int:
        return len(self.refresh())


class RunsContainer(MapAdapter):
    """The served tree's root (and its search results): a container of runs whose keys
    are looked up when asked for (new files appear without a restart)."""

    def structure(self) -> ContainerStructure:
        return ContainerStructure(keys=None)

    def search(self, query):
        if isinstance(query, Comparison):  # a value of another type (text for a number) does not match
            compare = getattr(operator, query.operator)
            matches = {}
            for key, node in self.items():
                term = node.metadata()
                for part in query.key.split("."):
                    term = term.get(part) if isinstance(term, dict) else None
                if term is None or isinstance(term, str) != isinstance(query.value, str):
                    continue
                try:
                    if compare(term, query.value):  # ISO times compare as text
                        matches[key] = node
                except TypeError:
                    continue
            return self.new_variation(mapping=matches)
        return super().search(query)


def lab_tree(folders: list[str | os.PathLike]) -> RunsContainer:
    """The Tiled tree over ``folders``: every run in them, searchable."""
    runs = LabRuns(folders)
    return RunsContainer(runs, metadata={"folders": runs.labels},
                         entries_stale_after=None)
