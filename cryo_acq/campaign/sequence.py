"""Sequence files: a night of runs and station actions, checked in full before anything moves.

A sequence file (YAML, schema in ``docs/sequences.md``) is a list of steps. A step is
either a run of a procedure with parameters (optionally looped over parameter values,
with station actions before each run) or one station action (go to a temperature and
stabilise, ramp the field, wait). :func:`parse` validates the file and expands the loops
into a flat list of :class:`Entry` (one per run or action); :func:`check` then checks
every run's plan against a station's limits (``procedure.check``) and every action
against them, sending nothing. Every problem names the line, the step (1-based), the
loop values and what is allowed; any problem rejects the whole sequence.

:class:`SequenceRun` executes the entries into ``<out>/<name>-<NNN>-<procedure>.h5``
(names fixed before anything is created) with a failure policy per step (stop, skip,
retry), a log file ``<out>/<name>.log`` and a state file ``<out>/<name>.state.json``
(JSON, replaced atomically after every change) from which an interrupted sequence is
resumed: finished entries are skipped, a run whose file loads is continued from its
first unmeasured point (:meth:`Runner.for_resume`), one whose file is missing or does
not load is started afresh at the same path. :func:`estimate` runs the whole sequence
on a simulated copy of the station in virtual time to measure the lab time of each run.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import difflib
import itertools
import json
import logging
import math
import os
import pathlib
import re
import signal
import tempfile
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from cryo_acq.station.clock import StopRequested, VirtualClock, WaitTimeout
from cryo_acq.run.guards import build as build_guards
from cryo_acq.station.file import _problems_text, Guards, StationConfig, StationFileError, _Strict, resolve_named, shipped_files
from cryo_acq.station.yaml_reader import read_text, read_yaml
from cryo_acq.station.yaml_reader import where as _where

log = logging.getLogger(__name__)

POLICIES = ("stop", "skip", "retry")
ACTIONS = ("temperature", "field", "wait")
STATE_FORMAT = "cryo_acq sequence state"
STATE_VERSION = 1
#: entry statuses in the state file
ENTRY_STATUSES = ("pending", "running", "finished", "failed", "aborted")
#: sequence statuses: all finished | some failed and were skipped | a failure stopped it |
#: stopped by the user (Ctrl-C, SIGTERM, stop()) | still running or killed
SEQUENCE_STATUSES = ("finished", "incomplete", "stopped", "aborted", "running")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class SequenceError(StationFileError):
    """A sequence that cannot be run, with every problem found (nothing was moved)."""

    def __init__(self, path: str, problems: list[str]):
        self.path = str(path)
        self.problems = problems
        ValueError.__init__(self, _problems_text(f"sequence file {path}", problems))


# --------------------------------------------------------------------------- schema
class FieldTarget(_Strict):
    """``field: {x: 0.0, z: 0.0}``: ramp the named axes (the others stay) and wait until they hold."""

    x: float | None = Field(None, description="T")
    y: float | None = Field(None, description="T")
    z: float | None = Field(None, description="T")
    rate: float | None = Field(None, gt=0, description="T/s for every axis ramped; absent: the supply's "
                                                       "rate, within the station limit")

    @model_validator(mode="after")
    def _some_axis(self):
        if not self.axes():
            raise ValueError("give at least one axis: field: {x: 0.0, z: 0.0}")
        return self

    def axes(self) -> dict[str, float]:
        return {a: float(getattr(self, a)) for a in ("x", "y", "z") if getattr(self, a) is not None}


class Action(_Strict):
    """One station action: exactly one of ``temperature``, ``field``, ``wait``."""

    temperature: float | None = Field(None, gt=0, description="K: set it and wait until stable")
    field: FieldTarget | None = None
    wait: float | None = Field(None, ge=0, description="s on the station clock")

    @model_validator(mode="after")
    def _exactly_one(self):
        given = [name for name in ACTIONS if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"an action is exactly one of {', '.join(ACTIONS)} (found "
                             f"{', '.join(given) or 'none'}); for several, write a list: "
                             "before: [{temperature: 1.5}, {wait: 600}]")
        return self

    @property
    def kind(self) -> str:
        return next(name for name in ACTIONS if getattr(self, name) is not None)

    def spec(self) -> dict:
        """JSON-able form, as written."""
        if self.kind == "field":
            return {"field": self.field.model_dump(exclude_none=True)}
        return {self.kind: getattr(self, self.kind)}

    def describe(self) -> str:
        if self.kind == "temperature":
            return f"temperature {self.temperature:g} K"
        if self.kind == "wait":
            return f"wait {self.wait:g} s"
        axes = ", ".join(f"{a}={v:g} T" for a, v in self.field.axes().items())
        return f"field {axes}" + (f" at {self.field.rate:g} T/s" if self.field.rate else "")

    def check(self, station) -> None:
        """Refuse (ValueError), sending nothing, what the station's limits forbid."""
        if self.kind == "temperature":
            station.safety.check_temperature(self.temperature)
        elif self.kind == "field":
            axes = self.field.axes()
            have = station.magnet.axes if station.magnet is not None else ()
            missing = [a for a in axes if a not in have]
            if missing:
                raise ValueError(f"station {station.config.name!r} has no magnet axis {', '.join(missing)} "
                                 f"(axes: {', '.join(have) or 'none'})")
            station.safety.check_field(axes, {})
            if self.field.rate is not None:
                for axis in axes:
                    station.safety.check_rate(axis, self.field.rate)

    def execute(self, station) -> None:
        from cryo_acq.run.measure import go_to_temperature

        if self.kind == "temperature":
            go_to_temperature(station, self.temperature)
        elif self.kind == "field":
            station.magnet.ramp_to(rate=self.field.rate, **self.field.axes())
        else:
            station.clock.sleep(self.wait)


class _Policy(_Strict):
    on_failure: Literal["stop", "skip", "retry"] | None = None
    retries: int | None = Field(None, ge=0, description="on_failure: retry: attempts after the first")
    retry_delay: float | None = Field(None, ge=0, description="s on the station clock before a retry")


class ActionStep(Action, _Policy):
    """A step that is one station action."""


class RunStep(_Policy):
    """A step that runs a procedure (once, or once per combination of loop values)."""

    run: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    loop: dict[str, list[Any]] = Field(default_factory=dict)
    before: list[Action] = Field(default_factory=list)

    @field_validator("run")
    @classmethod
    def _known_procedure(cls, v: str) -> str:
        import procedures

        if v not in procedures.PROCEDURES:
            raise ValueError(f"unknown procedure {v!r}{_suggest(v, procedures.PROCEDURES)}; known: "
                             f"{', '.join(sorted(procedures.PROCEDURES))}")
        return v

    @field_validator("loop", mode="before")
    @classmethod
    def _lists(cls, v):
        if isinstance(v, dict):
            for name, values in v.items():
                if not isinstance(values, list):
                    raise ValueError(f"loop.{name}: give a list of values, e.g. {name}: [1.5, 2.0, 2.5] "
                                     f"(got {values!r})")
                if not values:
                    raise ValueError(f"loop.{name}: the list is empty")
        return v

    @field_validator("before", mode="before")
    @classmethod
    def _one_or_list(cls, v):
        return [v] if isinstance(v, dict) else v


class SequenceModel(_Strict):
    name: str | None = Field(None, description="names the run files, state and log; default: the file name")
    description: str = ""
    station: str | None = Field(None, description="station name or file; the command line's --station wins")
    on_failure: Literal["stop", "skip", "retry"] = "stop"
    retries: int = Field(1, ge=0)
    retry_delay: float = Field(0.0, ge=0)
    guards: Guards | None = None
    steps: list[Any] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _file_name(cls, v):
        if v is not None and not _NAME.match(v):
            raise ValueError(f"name {v!r}: letters, digits, '.', '_' and '-' only (it names files)")
        return v


_KEYS = sorted(set(SequenceModel.model_fields) | set(RunStep.model_fields) | set(ActionStep.model_fields)
               | set(FieldTarget.model_fields) | set(Guards.model_fields))


def _suggest(word: str, choices) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


# --------------------------------------------------------------------------- expanded sequence
def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return str(value)


@dataclass
class Entry:
    """One item of the expanded sequence: a run (with its parameters) or a station action."""

    index: int  #: position in the flat list (0-based)
    kind: Literal["run", "action"]
    step: int  #: the step it comes from, 1-based
    line: int | None  #: the step's line in the file
    procedure: str | None = None
    values: dict[str, Any] = field(default_factory=dict)  #: parameters as written (loop values included)
    loop: dict[str, Any] = field(default_factory=dict)  #: this run's loop values
    points: int = 0  #: planned points
    before: list[Action] = field(default_factory=list)
    action: Action | None = None
    on_failure: str = "stop"
    retries: int = 1
    retry_delay: float = 0.0
    number: int | None = None  #: runs only: 1-based among the runs
    file: str | None = None  #: runs only: the run file's name in the out folder

    def context(self) -> str:
        """What the entry is: ``hanle channel=L08, alignment=parallel`` or ``wait 600 s``."""
        if self.kind == "action":
            return self.action.describe()
        loop = ", ".join(f"{k}={_fmt(v)}" for k, v in self.loop.items())
        return f"{self.procedure}{' ' + loop if loop else ''}"

    def label(self) -> str:
        head = f"run {self.number}" if self.kind == "run" else "action"
        return f"{head} (step {self.step}{f', line {self.line}' if self.line else ''}): {self.context()}"

    def parameters_text(self) -> str:
        return ", ".join(f"{k}={_fmt(v)}" for k, v in self.values.items())

    def make_procedure(self):
        import procedures

        procedure = procedures.get(self.procedure)()
        procedure.set_parameters(self.values)
        return procedure

    def key(self) -> dict:
        """What must match between a state file and the sequence to resume."""
        return json.loads(json.dumps({"kind": self.kind, "procedure": self.procedure, "parameters": self.values,
                                      "action": self.action.spec() if self.action else None,
                                      "before": [a.spec() for a in self.before], "file": self.file},
                                     default=str))


@dataclass
class Sequence:
    name: str
    path: pathlib.Path | None
    text: str
    entries: list[Entry]
    description: str = ""
    station: str | None = None  #: as written in the file (see :meth:`station_reference`)
    #: guard name -> options merged over the station's (None: switch the station's guard off)
    guards: dict[str, dict | None] = field(default_factory=dict)
    lines: dict = field(default_factory=dict, repr=False)

    @property
    def runs(self) -> list[Entry]:
        return [e for e in self.entries if e.kind == "run"]

    @property
    def total_points(self) -> int:
        return sum(e.points for e in self.runs)

    def station_reference(self, given: str | pathlib.Path | None = None) -> str | pathlib.Path:
        """The station to use: ``given`` (the command line's --station) wins; else the file's
        ``station:`` (a path relative to the sequence file, or a shipped station's name)."""
        if given is not None:
            return given
        if self.station is None:
            raise SequenceError(str(self.path or "<sequence>"),
                                ["no station: give --station NAME|FILE, or `station:` in the sequence file"])
        ref = pathlib.Path(self.station)
        if self.path is not None and not ref.is_absolute():
            candidate = self.path.parent / ref
            if candidate.exists() and (ref.suffix in (".yaml", ".yml") or len(ref.parts) > 1):
                return candidate
        return self.station


# --------------------------------------------------------------------------- loading
def shipped_sequences() -> dict[str, pathlib.Path]:
    """Example sequences shipped with cryo_acq, by name."""
    return shipped_files("sequences")


def resolve(ref: str | pathlib.Path) -> pathlib.Path:
    """A sequence file from a path or the name of a shipped sequence."""
    return resolve_named(ref, "sequences", "sequence", SequenceError)


def load(ref: str | pathlib.Path) -> Sequence:
    """Read and validate a sequence file (a path or a shipped sequence's name)."""
    path = resolve(ref)
    return parse(read_text(path, SequenceError), path)


def _say(lines: dict, loc: tuple, message: str, step: int | None = None, context: str = "",
         key: str = "") -> str:
    """``line 14, step 3 (hanle channel=L99), parameters.chanel: message``."""
    where = _where(lines, loc)
    parts = [where.split(",", 1)[0]] if where.startswith("line ") else []
    if step is not None:
        parts.append(f"step {step}" + (f" ({context})" if context else ""))
    if key:
        parts.append(key)
    return (", ".join(parts) + ": " if parts else "") + message


def _pydantic_problems(exc: ValidationError, lines: dict, prefix: tuple, step: int | None = None,
                       context: str = "") -> list[str]:
    problems = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if p != "[key]")
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = (f"unknown key {loc[-1]!r}{_suggest(loc[-1], _KEYS)} (check the spelling; "
                   "see docs/sequences.md)")
        elif err["type"] == "missing":
            msg = "required key is missing"
        problems.append(_say(lines, prefix + loc, msg, step, context, ".".join(str(p) for p in loc)))
    return problems


def _value_problem(parameter, name: str, value) -> str | None:
    """What pymeasure says about ``name = value`` (None: accepted)."""
    try:
        parameter.value = value
    except (ValueError, TypeError) as exc:
        allowed = ""
        if hasattr(parameter, "minimum") and hasattr(parameter, "maximum"):
            units = getattr(parameter, "units", "") or ""
            allowed = f" (allowed {parameter.minimum:g} .. {parameter.maximum:g} {units})"
        elif getattr(parameter, "choices", None):
            allowed = f" (allowed: {', '.join(map(str, parameter.choices))})"
        return f"{name}={_fmt(value)}: {exc}{allowed.rstrip()}"
    return None


def parse(text: str, path: str | pathlib.Path = "<sequence>") -> Sequence:
    """Validate sequence-file text and expand its loops; raise :class:`SequenceError`
    listing every problem. Needs no station (see :func:`check` for the limits)."""
    import copy

    import procedures

    path_obj = pathlib.Path(path) if str(path) != "<sequence>" else None
    where = str(path)
    data, lines = read_yaml(text, where, SequenceError, "the file must be a mapping with a `steps:` list "
                            "(and optionally name, station, on_failure, retries, guards)")
    problems: list[str] = []
    try:
        top = SequenceModel.model_validate(data)
    except ValidationError as exc:
        problems += _pydantic_problems(exc, lines, ())
        top = None
    name = (top.name if top else None) or (path_obj.stem if path_obj else "sequence")
    if not _NAME.match(name):
        problems.append(f"the file name {name!r} cannot name run files: add `name:` (letters, digits, '.', '_', '-')")
    default_policy = (top.on_failure, top.retries, top.retry_delay) if top else ("stop", 1, 0.0)

    entries: list[Entry] = []
    steps = data.get("steps") if isinstance(data.get("steps"), list) else []
    for i, raw in enumerate(steps):
        n, loc = i + 1, ("steps", i)
        if not isinstance(raw, dict):
            problems.append(_say(lines, loc, "a step is a mapping: `run: PROCEDURE` (with parameters, loop, "
                                             f"before, on_failure) or one station action ({', '.join(ACTIONS)})", n))
            continue
        if "run" not in raw and not set(raw) & set(ACTIONS):
            hint = "".join(_suggest(k, ("run", *ACTIONS)) for k in raw)[:80]
            problems.append(_say(lines, loc, f"a step needs `run: PROCEDURE` or one station action "
                                             f"({', '.join(ACTIONS)}); found {', '.join(map(str, raw)) or 'nothing'}"
                                             f"{hint}", n))
            continue
        model = RunStep if "run" in raw else ActionStep
        try:
            step = model.model_validate(raw)
        except ValidationError as exc:
            context = raw.get("run") if model is RunStep and raw.get("run") in procedures.PROCEDURES else ""
            problems += _pydantic_problems(exc, lines, loc, n, context)
            continue
        policy = dict(on_failure=step.on_failure or default_policy[0],
                      retries=step.retries if step.retries is not None else default_policy[1],
                      retry_delay=step.retry_delay if step.retry_delay is not None else default_policy[2])
        if model is ActionStep:
            action = Action.model_validate(step.spec())
            entries.append(Entry(len(entries), "action", n, lines.get(loc), action=action, **policy))
            continue

        # --- a run: names, values (pymeasure's own checks), then one plan per loop combination
        cls = procedures.get(step.run)
        known = cls()._parameters
        step_problems = []
        for section in ("parameters", "loop"):
            for pname in getattr(step, section):
                if pname not in known:
                    step_problems.append(_say(
                        lines, loc + (section, pname),
                        f"{step.run} has no parameter {pname!r}{_suggest(pname, known)}; "
                        f"its parameters: {', '.join(known)}", n, step.run, f"{section}.{pname}"))
        for pname in set(step.parameters) & set(step.loop):
            step_problems.append(_say(lines, loc + ("loop", pname), f"{pname} is both in parameters and in loop",
                                      n, step.run, f"loop.{pname}"))
        for pname, value in step.parameters.items():
            if pname in known:
                problem = _value_problem(copy.deepcopy(known[pname]), pname, value)
                if problem:
                    step_problems.append(_say(lines, loc + ("parameters", pname), problem, n, step.run,
                                              f"parameters.{pname}"))
        for pname, values in step.loop.items():
            if pname in known:
                for k, value in enumerate(values):
                    problem = _value_problem(copy.deepcopy(known[pname]), pname, value)
                    if problem:
                        step_problems.append(_say(lines, loc + ("loop", pname, k), problem, n,
                                                  f"{step.run} {pname}={_fmt(value)}", f"loop.{pname}[{k}]"))
        if step_problems:
            problems += step_problems
            continue
        keys = list(step.loop)
        seen = set()
        for combo in itertools.product(*(step.loop[k] for k in keys)):
            loop_values = dict(zip(keys, combo))
            entry = Entry(len(entries), "run", n, lines.get(loc), procedure=step.run,
                          values={**step.parameters, **loop_values}, loop=loop_values,
                          before=list(step.before), **policy)
            try:
                entry.points = len(entry.make_procedure().plan())
            except (ValueError, TypeError) as exc:
                if str(exc) not in seen:
                    seen.add(str(exc))
                    problems.append(_say(lines, loc, str(exc), n, entry.context()))
                continue
            entries.append(entry)
    if problems:
        raise SequenceError(where, problems)

    runs = [e for e in entries if e.kind == "run"]
    width = max(3, len(str(len(runs))))
    for number, entry in enumerate(runs, 1):
        entry.number = number
        entry.file = f"{name}-{number:0{width}d}-{entry.procedure}.h5"
    guards: dict[str, dict | None] = {}
    if top.guards is not None:
        for gname in top.guards.model_fields_set:
            options = getattr(top.guards, gname)
            guards[gname] = None if options is None else options.model_dump(exclude_unset=True, exclude_none=True)
    return Sequence(name=name, path=path_obj, text=text, entries=entries, description=top.description,
                    station=top.station, guards=guards, lines=lines)


# --------------------------------------------------------------------------- checks against a station
def check(sequence: Sequence, station) -> None:
    """Check every run's plan (``procedure.check``) and every action against the station's
    limits; raise :class:`SequenceError` with every problem. Sends nothing."""
    problems: list[str] = []
    seen: set = set()

    def add(loc, message, entry, context):
        if (entry.step, loc[2:3], message) in seen:  # the same refusal for every run of a loop: once
            return
        seen.add((entry.step, loc[2:3], message))
        problems.append(_say(sequence.lines, loc, message, entry.step, context))

    for entry in sequence.entries:
        loc = ("steps", entry.step - 1)
        if entry.kind == "action":
            try:
                entry.action.check(station)
            except Exception as exc:  # noqa: BLE001 - reported, nothing sent
                add(loc, _reason(exc), entry, entry.context())
            continue
        try:
            procedure = entry.make_procedure()
            procedure.check(station, procedure.plan())
        except Exception as exc:  # noqa: BLE001 - reported, nothing sent
            add(loc, _reason(exc), entry, entry.context())
        for j, action in enumerate(entry.before):
            try:
                action.check(station)
            except Exception as exc:  # noqa: BLE001
                add(loc + ("before", j), _reason(exc), entry, f"{entry.procedure}, before: {action.describe()}")
    if problems:
        raise SequenceError(str(sequence.path or "<sequence>"), problems)


def _aside(path: pathlib.Path) -> pathlib.Path:
    """Move an unloadable run file out of the way (``<name>.unreadable``, ``.unreadable-2``, ...)."""
    for n in range(1, 1000):
        aside = path.with_name(path.name + (".unreadable" if n == 1 else f".unreadable-{n}"))
        if not aside.exists():
            os.replace(path, aside)
            return aside
    raise FileExistsError(f"no free name beside {path}")


def _reason(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"


def merged_guards(config: StationConfig, sequence: Sequence) -> dict[str, dict]:
    """The station's guards with the sequence's merged over them (option by option); a
    guard the sequence sets to null is switched off."""
    merged = config.guards.enabled()
    for name, options in sequence.guards.items():
        if options is None:
            merged.pop(name, None)
        else:
            merged[name] = {**merged.get(name, {}), **options}
    return merged


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
                return f"entry {entry.index + 1} ({entry.label()}) differs from the state's"
        return None


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
        restore = self._install_signal_handlers()
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
                    log.info("  %s: %s: %s", entry.label(), record["status"], record["reason"])
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
            return "stopped", f"{self.sequence.entries[r['index']].label()} {r['status']}: {r['reason']}"
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
                self._event("finished", entry, f"{entry.label()}: finished")
                return "next"
            if self._stop:
                record["status"] = "aborted"
                self._save()
                self._event("abort", entry, f"{entry.label()}: aborted ({self._stop}); resume with --resume")
                return "abort"
            self._event("failed", entry, f"{entry.label()}: {status}: {reason}")
            if entry.on_failure == "retry" and attempt <= entry.retries:
                self._event("retry", entry, f"{entry.label()}: retry {attempt} of {entry.retries}"
                            + (f" in {entry.retry_delay:g} s" if entry.retry_delay else ""))
                try:
                    self.station.clock.sleep(entry.retry_delay)
                except StopRequested:
                    self._stop = self._stop or "stop requested"
                    return "abort"
                continue
            if entry.on_failure == "skip":
                self._event("skip", entry, f"{entry.label()}: skipped (on_failure: skip)")
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
                self._event("action", entry, f"{entry.label()}")
                return self._guarded_action(entry.action)
            for action in entry.before:
                self._event("action", entry, f"{entry.label()}: before: {action.describe()}")
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

        kwargs = dict(guards=build_guards(self.guards), on_progress=progress, retries=self.instrument_retries)
        runner, resumed = None, False
        if path.exists():
            from cryo_acq.campaign.catalogue import read_summary
            from cryo_acq.run.storage import Incomplete

            try:
                read_summary(path)  # checked first: load_run could spin for minutes on a damaged file
                old = load_run(path)
            except Incomplete as exc:  # killed while it was created: it holds no point
                log.warning("%s: %s is unusable (%s); deleting it and starting afresh", entry.label(), path.name, exc)
                path.unlink()
                old = None
            except Exception as exc:  # noqa: BLE001 - does not load: kept aside (it may hold points)
                aside = _aside(path)
                log.warning("%s: %s does not load (%s: %s); moved to %s, starting afresh", entry.label(),
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
                self._event("resume", entry, f"{entry.label()}: continuing {path.name} "
                            f"({int(old.done.sum())}/{len(old.done)} points done, {old.status})")
        if runner is None:
            runner = Runner(self.station, entry.make_procedure(), path=path, **kwargs)
            self._event("start", entry, f"{entry.label()}: {entry.points} points -> {path.name}")
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
        finally:
            self._record_points(entry, record, path)
            if self.index and path.exists():
                try:
                    from cryo_acq.campaign import catalogue

                    catalogue.update(self.out, path)
                except Exception as exc:  # noqa: BLE001 - the index is a convenience
                    log.warning("run catalogue not updated: %s", exc)
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

    def _install_signal_handlers(self) -> Callable[[], None]:
        """Between runs Ctrl-C / SIGTERM stop the sequence (the runner has its own during a run)."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        previous = {}

        def handler(signum, frame):
            name = signal.Signals(signum).name
            if self._stop:
                raise KeyboardInterrupt(f"stopped by {name}")
            self.stop(f"stopped by {name}")

        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, handler)
        return lambda: [signal.signal(sig, h) for sig, h in previous.items()]


# --------------------------------------------------------------------------- lab-time estimate
def simulated_copy(config: StationConfig, path: pathlib.Path | None = None, text: str = ""):
    """The station file's simulated lab, in pure virtual time, without its injected faults."""
    from cryo_acq.station import Station

    sim = config.sim.model_copy(update={"faults": [], "time_scale": None})
    return Station(config.model_copy(update={"sim": sim}), path, text, sim=True, clock=VirtualClock())


def estimate(sequence: Sequence, config: StationConfig, path: pathlib.Path | None = None, text: str = "",
             on_progress=None, on_event=None) -> Outcome:
    """Run the whole sequence on a simulated copy of the station in virtual time, into a
    temporary folder (deleted); each entry's ``lab_seconds`` is the station time it took.
    Raises :class:`SequenceError` if the sequence does not pass :func:`check` there."""
    station = simulated_copy(config, path, text)
    try:
        with tempfile.TemporaryDirectory(prefix="cryo-acq-estimate-") as tmp:
            run = SequenceRun(sequence, station, tmp, on_progress=on_progress, on_event=on_event,
                              state=False, log_file=False, index=False)
            outcome = run.start()
            return dataclasses.replace(outcome, out=pathlib.Path(tmp))
    finally:
        station.close()


def format_duration(seconds: float | None) -> str:
    """``2 h 05 min``, ``14 min``, ``35 s``."""
    if seconds is None or not math.isfinite(seconds):
        return ""
    seconds = float(seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
