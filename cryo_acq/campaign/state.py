"""The state file of a sequence (``<out>/<name>.state.json``), replaced atomically after
every change, from which an interrupted sequence resumes."""

from __future__ import annotations

import datetime as _dt
import json
import os
import pathlib


from .schema import STATE_FORMAT, STATE_VERSION, Sequence



# --------------------------------------------------------------------------- state file
def _now() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")


def state_path(out: str | pathlib.Path, sequence: Sequence) -> pathlib.Path:
    return pathlib.Path(out) / f"{sequence.name}.state.json"


def log_path(out: str | pathlib.Path, sequence: Sequence) -> pathlib.Path:
    return pathlib.Path(out) / f"{sequence.name}.log"


class State:
    """The state file: every expanded entry, its run file and its status (JSON)."""

    def __init__(self, path: pathlib.Path, data: dict):
        self.path = pathlib.Path(path)
        self.data = data

    @classmethod
    def new(cls, path, sequence: Sequence, station: str, sim: bool) -> "State":
        entries = []
        for e in sequence.entries:
            record = {"index": e.index, "step": e.step, "line": e.line, **e.key(), "loop": e.loop,
                      "points": e.points, "status": "pending", "reason": "", "attempts": 0, "done": 0,
                      "lab_seconds": 0.0, "started": None, "ended": None}
            entries.append(record)
        return cls(path, {"format": STATE_FORMAT, "version": STATE_VERSION, "name": sequence.name,
                          "sequence": str(sequence.path.resolve()) if sequence.path else None,
                          "station": str(station), "sim": bool(sim), "status": "running", "reason": "",
                          "created": _now(), "updated": _now(), "sessions": 0, "entries": entries})

    @classmethod
    def load(cls, path) -> "State":
        path = pathlib.Path(path)
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != STATE_FORMAT:
            raise ValueError(f"{path} is not a cryo_acq sequence state file")
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"{path}: state file version {data.get('version')} (this cryo_acq reads {STATE_VERSION})")
        return cls(path, data)

    @property
    def entries(self) -> list[dict]:
        return self.data["entries"]

    def save(self) -> None:
        """Replace the file atomically: a temp file in the same folder, fsync, os.replace."""
        self.data["updated"] = _now()
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(self.data, fh, indent=1, default=str)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    def mismatch(self, sequence: Sequence) -> str | None:
        """Why this state does not belong to ``sequence`` (None: it does)."""
        if len(self.entries) != len(sequence.entries):
            return (f"the state lists {len(self.entries)} entries, the sequence now expands to "
                    f"{len(sequence.entries)}")
        for record, entry in zip(self.entries, sequence.entries):
            key = entry.key()
            if any(record.get(k) != v for k, v in key.items()):
                return f"entry {entry.index + 1} ({entry.title()}) differs from the state's"
        return None


