"""Runs from a run server (``cryo-acq serve``), through Tiled's own client.

:func:`list_runs` gives catalogue entries (what ``cryo-acq runs --server`` prints) from
a search on the server; :func:`fetch_run` gives a :class:`~cryo_acq.run.storage.Run`
read over HTTP, as :func:`~cryo_acq.run.storage.load_run` gives one from a file (what the
GUI opens from a URL).
"""

from __future__ import annotations

import pathlib
from typing import Any

import numpy as np

from cryo_acq.campaign import catalogue

METADATA_PATH = "/api/v1/metadata/"
FETCH_ATTEMPTS = 5


class ServerError(RuntimeError):
    """The server could not be read (one line, for the user)."""


def connect(url: str, api_key: str | None = None):
    """Tiled's client at ``url`` (a server, or one run's node URL)."""
    try:
        import httpx
        from tiled.client import from_uri
    except ImportError:
        raise ServerError("reading a run server needs Tiled: pip install 'cryo-acq[serve]'") from None
    try:
        return from_uri(url, api_key=api_key)
    except httpx.HTTPStatusError as exc:
        if exc.response.status_code in (401, 403):
            raise ServerError(f"{url}: refused without a valid API key (give --api-key KEY or set "
                              "CRYO_ACQ_API_KEY)") from None
        if exc.response.status_code == 404:
            raise ServerError(f"{url}: no such run on the server") from None
        raise ServerError(f"{url}: the server answered {exc.response.status_code}") from None
    except RuntimeError as exc:  # Tiled's client: "This server requires API key authentication"
        if "api key" in str(exc).lower() or "api_key" in str(exc):
            raise ServerError(f"{url}: refused without a valid API key (give --api-key KEY or set "
                              "CRYO_ACQ_API_KEY)") from None
        raise
    except (httpx.TransportError, OSError) as exc:
        raise ServerError(f"{url}: cannot reach the server ({exc})") from None


def queries(procedure: str | None = None, status: str | None = None, where: dict[str, Any] | None = None) -> list:
    """Tiled queries for the catalogue's filters (``where``: name -> (lo, hi) or value)."""
    from tiled.queries import Comparison, Eq, Key

    out = []
    if procedure is not None:
        out.append(Key("procedure") == procedure)
    if status is not None:
        out.append(Key("status") == status)
    for name, condition in (where or {}).items():
        key = f"parameters.{name}"
        if isinstance(condition, tuple):
            lo, hi = condition
            if lo is not None:
                out.append(Comparison("ge", key, lo))
            if hi is not None:
                out.append(Comparison("le", key, hi))
        else:
            try:
                value = float(condition)
            except (TypeError, ValueError):
                value = str(condition)
            out.append(Eq(key, value))
    return out


def entry_of(key: str, metadata: dict) -> catalogue.Entry:
    """A run node's metadata as a catalogue entry (the path: its key on the server)."""
    status = metadata.get("status", "")
    return catalogue.Entry(
        path=key, procedure=metadata.get("procedure", ""), status=status,
        points_done=int(metadata.get("points_done") or 0), points_planned=int(metadata.get("points_planned") or 0),
        started=metadata.get("started", ""), duration=metadata.get("duration_s"),
        parameters=dict(metadata.get("parameters") or {}), units=dict(metadata.get("parameter_units") or {}),
        station=metadata.get("station", ""), sample=metadata.get("sample", ""),
        configuration=metadata.get("configuration", ""),
        error=metadata.get("reason", "") if status == "unreadable" else "",
        reason=metadata.get("reason", "") if status != "unreadable" else "")


def list_runs(url: str, api_key: str | None = None, procedure: str | None = None, status: str | None = None,
              where: dict[str, Any] | None = None) -> list[catalogue.Entry]:
    """The runs on the server at ``url`` that pass the filters (searched on the server),
    oldest first."""
    import httpx

    node = connect(url, api_key)
    try:
        for query in queries(procedure, status, where):
            node = node.search(query)
        return [entry_of(key, value.metadata) for key, value in node.items()]
    except httpx.HTTPError as exc:
        raise ServerError(f"{url}: {exc}") from None


def run_url(server: str, key: str) -> str:
    """A run's node URL on a server (what :func:`fetch_run` and the GUI open)."""
    return server.rstrip("/") + METADATA_PATH + key


def fetch_run(url: str, api_key: str | None = None):
    """The run at a node URL (``http://host:port/api/v1/metadata/<key>``) as a
    :class:`~cryo_acq.run.storage.Run`: its readings, grid, plan, parameters with units,
    snapshots, status and log. A run being written is read until two looks at its
    ``version`` agree (every part from one state of the file)."""
    for _ in range(FETCH_ATTEMPTS):  # a run being written may change between requests
        node = connect(url, api_key)
        meta = dict(node.metadata)
        if "procedure" not in meta or "readings" not in node:
            raise ServerError(f"{url}: not a readable run (status {meta.get('status', '?')})")
        try:
            run = _read_node(node, meta, url)
        except ValueError:  # Tiled's client: the rows grew between the structure and the data
            continue
        if connect(url, api_key).metadata.get("version") == meta.get("version"):
            return run
    raise ServerError(f"{url}: the run kept changing while it was read ({FETCH_ATTEMPTS} attempts); try again")


def _read_node(node, meta: dict, url: str):
    """One state of a run node as a Run (ValueError if it changed while being read)."""
    import httpx

    from cryo_acq.run.storage import Run
    from cryo_acq.run.storage.layout import grid_name

    try:
        readings = node["readings"].read()
        plan_node = node["plan"]
        plan = _plain(plan_node.metadata)
        done = np.asarray(plan_node["done"].read(), dtype=bool)
        snapshot = _plain(node["snapshot"].metadata)
        log = [(float(t), str(k), str(m)) for t, k, m in node["log"].metadata.get("entries", [])]
        columns = [c for c in readings.data_vars if c != "plan_index"]
        grid = {}
        if len(plan.get("shape", [])) == 2:
            names = [a["name"] for a in plan["axes"]]
            data = node["data"].read()
            grid = {c: np.asarray(data[grid_name(c, names)].values) for c in columns
                    if grid_name(c, names) in data}
    except httpx.HTTPError as exc:
        raise ServerError(f"{url}: {exc}") from None
    units = {c: _unit(readings[c].attrs.get("units", "")) for c in columns}
    parameters = {name: {"value": value, "units": (meta.get("parameter_units") or {}).get(name, "")}
                  for name, value in (meta.get("parameters") or {}).items()}
    metadata = {"procedure": meta["procedure"], "parameters": parameters, "units": units, "columns": columns,
                "started": meta.get("started", ""), "station_seconds": meta.get("duration_s") or 0.0,
                "snapshot_start": snapshot.get("start", {}), "snapshot_end": snapshot.get("end", {}),
                "served_from": url}
    status = meta.get("status", "")
    return Run(path=pathlib.PurePosixPath(url.rstrip("/").rsplit("/", 1)[-1] + ".h5"),
               data={c: np.asarray(readings[c].values) for c in columns}, metadata=metadata,
               status="interrupted" if status == "running" else status, reason=meta.get("reason", ""),
               plan=plan, done=done, plan_index=np.asarray(readings["plan_index"].values), grid=grid, log=log,
               station_name=meta.get("station", ""), sample=meta.get("sample", ""),
               configuration=meta.get("configuration", ""))


def _plain(value):
    """Tiled's metadata views as plain dicts and lists."""
    if hasattr(value, "items"):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _unit(text: str) -> str:
    return "" if text in ("1", "dimensionless") else str(text)
