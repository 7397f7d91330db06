"""Sequence files, the schema: steps, actions, failure policies, and the expanded
sequence (one :class:`Entry` per run or action) that parsing produces."""

from __future__ import annotations

import difflib
import json
import pathlib
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from cryo_acq.station.file import _problems_text, Guards, StationFileError, _Strict



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
    #: names the run (and its file) so that a report can refer to it; in a loop, ``{name}``
    #: stands for the loop value of ``name`` (``A01-tmr-{temperature}K``)
    label: str | None = None
    #: what the run measures, in words (for progress lines and reports); ``{name}`` as in labels
    description: str | None = None
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
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def fill_label(template: str, values: dict[str, Any]) -> str:
    """``template`` with each ``{name}`` replaced by that loop value (numbers as ``%g``);
    plain substitution, nothing is evaluated. KeyError names a placeholder with no value."""
    def one(match):
        name = match.group(1)
        if name not in values:
            raise KeyError(name)
        value = values[name]
        return f"{value:g}" if isinstance(value, float) else str(value)

    return _PLACEHOLDER.sub(one, template)


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
    label: str | None = None  #: runs only: the step's label with this run's loop values filled in
    description: str | None = None  #: runs only: the step's description, loop values filled in

    def context(self) -> str:
        """What the entry is: ``hanle channel=L08, alignment=parallel`` or ``wait 600 s``."""
        if self.kind == "action":
            return self.action.describe()
        loop = ", ".join(f"{k}={_fmt(v)}" for k, v in self.loop.items())
        return f"{self.procedure}{' ' + loop if loop else ''}"

    def title(self) -> str:
        head = (f"run {self.number}" + (f" [{self.label}]" if self.label else "")) if self.kind == "run" else "action"
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


