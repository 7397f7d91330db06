"""Where everything lives in a run file: the NeXus layout of format 2, and format 1's.

Format 2 (written since cryo_acq 0.x; ``docs/run-files.md``)::

    /                       NXroot   attrs: format, format_version = 2, default = entry, the run's
                                     record (procedure, started, parameters, units, columns, software)
    /entry                  NXentry  default = data (a 2-D run: grid); title, start_time
    /entry/data             NXdata   one row per reading: every column (rows,), its units;
                                     signal = the measured column, axes = the swept column;
                                     dimension scale ``row``; plan_index
    /entry/grid             NXdata   2-D plans: every column at its grid place (outer x inner),
                                     axes = the plan's two axes (set-points, dimension scales)
    /entry/plan             NXcollection  attrs plan (JSON); axis_<k> (set-points), order, done
    /entry/parameters       NXparameters  one dataset per parameter, with its units
    /entry/instrument       NXinstrument  station name, file, snapshots
    /entry/sample           NXsample      name, the configuration measured
    /entry/status, reason, finished_meta, log/{time,kind,message}

Format 1 kept everything at the root (``/data``, ``/plan``, ``/done``, ``/grid``,
``/station``, ``/status`` ...); :class:`Paths` reads both.

A run file is written in SWMR mode, which allows no new object or attribute once
writing has started: everything, dimension scales and NeXus attributes included, is
created before the first point.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import h5py
import numpy as np

FORMAT = "cryo_acq run"
FORMAT_VERSION = 2
TEXT = h5py.string_dtype("utf-8")
#: rows per chunk of an appendable dataset, at most (32 KiB of float64)
CHUNK_ROWS = 4096


def chunk_rows(points: int) -> int:
    """Rows per chunk for a plan of ``points``: the power of two that holds them, within
    256 .. 4096 (a short run stays small on disk, a long one reads in few chunks)."""
    return int(min(CHUNK_ROWS, max(256, 1 << max(0, int(points) - 1).bit_length())))


def units_attr(unit: str) -> str:
    """A dataset's ``units`` attribute: the SI unit, ``1`` for a dimensionless number."""
    return unit or "1"


def grid_name(column: str, axes: list[str]) -> str:
    """A column's name in the grid: an axis's own name is its set-points there, so the
    measured column of the same name is ``<name>_measured``."""
    return f"{column}_measured" if column in axes else column


@dataclass(frozen=True)
class Paths:
    """The paths of one format version's objects."""

    version: int
    data: str
    grid: str
    plan: str
    order: str
    done: str
    station_file: str
    snapshot_start: str
    snapshot_end: str
    finished_meta: str
    status: str
    reason: str
    log: str

    @classmethod
    def of(cls, f: h5py.File) -> "Paths":
        version = int(f.attrs.get("format_version", 1))
        return V1 if version < 2 else V2

    def grid_column(self, column: str, axes: list[str]) -> str:
        return grid_name(column, axes) if self.version >= 2 else column


V1 = Paths(1, "data", "grid", "plan", "plan/order", "done", "station/file", "station/snapshot_start",
           "station/snapshot_end", "finished_meta", "status", "reason", "log")
V2 = Paths(2, "entry/data", "entry/grid", "entry/plan", "entry/plan/order", "entry/plan/done",
           "entry/instrument/station_file", "entry/instrument/snapshot_start", "entry/instrument/snapshot_end",
           "entry/finished_meta", "entry/status", "entry/reason", "entry/log")


def _appendable(group, name, dtype, shape=(), chunk=CHUNK_ROWS):
    return group.create_dataset(name, shape=(0, *shape), maxshape=(None, *shape), dtype=dtype,
                                chunks=(chunk, *shape))


def _nx(group, nx_class: str, **attrs):
    group.attrs["NX_class"] = nx_class
    for key, value in attrs.items():
        group.attrs[key] = value
    return group


def _names(values: list[str]):
    return np.array(values, dtype=h5py.string_dtype("utf-8"))


def create(f: h5py.File, *, procedure: str, record: dict, units: dict[str, str], plan, signal: str | None,
           station_text: str, station_name: str, sample: str, configuration: str, snapshot: dict,
           done: np.ndarray) -> None:
    """Lay out a new (format 2) run file: every object and attribute it will ever have."""
    columns = list(units)
    description = plan.describe()
    axes = [a["name"] for a in description["axes"]]  # outer first
    two_d = len(plan.shape) == 2
    f.attrs.update(NX_class="NXroot", default="entry", format=FORMAT, format_version=FORMAT_VERSION,
                   **{k: v for k, v in record.items()})
    entry = _nx(f.create_group("entry"), "NXentry", default="grid" if two_d else "data")
    entry.create_dataset("title", data=f"{procedure} ({station_name})", dtype=TEXT)
    entry.create_dataset("start_time", data=record.get("started", ""), dtype=TEXT)
    entry.create_dataset("definition", data="NXentry (cryo_acq run)", dtype=TEXT)

    # one row per reading
    chunk = chunk_rows(len(plan))
    signal = signal if signal in columns else next((c for c in reversed(columns) if c != "time"), columns[0])
    swept = axes[-1] if axes[-1] in columns else None
    data = _nx(entry.create_group("data"), "NXdata", signal=signal, axes=_names([swept or "."]))
    if swept:
        data.attrs[f"{swept}_indices"] = 0
    row = _appendable(data, "row", "i8", chunk=chunk)
    row.attrs["long_name"] = "reading number"
    row.make_scale("row")
    for c in columns:
        ds = _appendable(data, c, "f8", chunk=chunk)
        ds.attrs.update(units=units_attr(units[c]), long_name=f"{c} ({units[c] or '1'})")
        ds.dims[0].attach_scale(row)
    index = _appendable(data, "plan_index", "i8", chunk=chunk)
    index.attrs.update(units="1", long_name="the planned point each row measures")
    index.dims[0].attach_scale(row)

    # 2-D plans: every column at its place on the grid
    if two_d:
        grid = _nx(entry.create_group("grid"), "NXdata", signal=grid_name(signal, axes), axes=_names(axes))
        scales = []
        for k, axis in enumerate(description["axes"]):
            ds = grid.create_dataset(axis["name"], data=np.asarray(axis["values"], float))
            ds.attrs.update(units=units_attr(axis["unit"]), long_name=f"{axis['name']} set-point ({axis['unit']})")
            ds.make_scale(axis["name"])
            grid.attrs[f"{axis['name']}_indices"] = k
            scales.append(ds)
        for c in columns:
            ds = grid.create_dataset(grid_name(c, axes), data=np.full(plan.shape, np.nan))
            ds.attrs.update(units=units_attr(units[c]), long_name=f"{c} ({units[c] or '1'})")
            for k, scale in enumerate(scales):
                ds.dims[k].attach_scale(scale)

    # the axes' set-points as datasets (a million-point plan as JSON text would take longer
    # to parse than all its data to read); the attribute holds the rest of the plan
    stored = {**description, "axes": [{k: v for k, v in a.items() if k != "values"} for a in description["axes"]]}
    group = _nx(entry.create_group("plan"), "NXcollection", plan=json.dumps(stored))
    for k, axis in enumerate(description["axes"]):
        ds = group.create_dataset(f"axis_{k}", data=np.asarray(axis["values"], float))
        ds.attrs.update(units=units_attr(axis["unit"]), long_name=f"{axis['name']} set-points (plan axis {k})")
    group.create_dataset("order", data=plan.order()).attrs.update(
        units="1", long_name="grid index of every planned point, in the order measured")
    group.create_dataset("done", data=done.astype(bool)).attrs.update(units="1", long_name="point measured")

    parameters = _nx(entry.create_group("parameters"), "NXparameters")
    for name, entry_ in record_parameters(record).items():
        value, unit = entry_
        if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
            ds = parameters.create_dataset(name, data=value)
        else:
            text = value if isinstance(value, str) else json.dumps(value, default=str)
            ds = parameters.create_dataset(name, data=text, dtype=TEXT)
        ds.attrs["units"] = units_attr(unit)

    instrument = _nx(entry.create_group("instrument"), "NXinstrument")
    instrument.create_dataset("name", data=station_name, dtype=TEXT)
    instrument.create_dataset("station_file", data=station_text, dtype=TEXT)
    instrument.create_dataset("snapshot_start", data=json.dumps(snapshot or {}, default=str), dtype=TEXT)
    _appendable(instrument, "snapshot_end", "u1", chunk=1024)

    sample_group = _nx(entry.create_group("sample"), "NXsample")
    sample_group.create_dataset("name", data=sample, dtype=TEXT)
    sample_group.create_dataset("configuration", data=configuration, dtype=TEXT)

    meta = _appendable(entry, "finished_meta", "u1", chunk=1024)
    meta.attrs["units"] = "1"
    meta.make_scale("finished_meta")  # its own dimension: no phony one beside the data
    entry.create_dataset("status", data=np.bytes_("running"), dtype="S16")
    entry.create_dataset("reason", data=np.bytes_(""), dtype="S4096")
    log = _nx(entry.create_group("log"), "NXcollection")
    _appendable(log, "time", "f8", chunk=32).attrs["units"] = "s"
    _appendable(log, "kind", "S32", chunk=32)
    _appendable(log, "message", "S1024", chunk=32)


def read_plan(f: h5py.File, paths: Paths) -> dict:
    """The plan as stored: mode, rate, snake, shape, axes (name, unit, values as arrays)."""
    group = f[paths.plan]
    plan = json.loads(group.attrs["plan"])
    for k, axis in enumerate(plan["axes"]):
        axis["values"] = group[f"axis_{k}"][()] if "values" not in axis else np.asarray(axis["values"], float)
    return plan


def record_parameters(record: dict) -> dict[str, tuple]:
    """Parameter name -> (value, unit) from the run's record (JSON text or dict)."""
    parameters = record.get("parameters", "{}")
    parameters = json.loads(parameters) if isinstance(parameters, str) else parameters
    out = {}
    for name, entry in parameters.items():
        if isinstance(entry, dict):
            out[name] = (entry.get("value"), str(entry.get("units") or ""))
        else:
            out[name] = (entry, "")
    return out
