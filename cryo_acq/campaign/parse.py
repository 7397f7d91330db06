"""Sequence files, read and checked: :func:`load` / :func:`parse` validate a file and
expand its loops; :func:`check` checks every run's plan and every action against a
station's limits, sending nothing. Every problem names the line, the step and the loop
values."""

from __future__ import annotations

import itertools
import os
import pathlib

from pydantic import ValidationError

from cryo_acq.station.file import StationConfig, resolve_named, shipped_files
from cryo_acq.station.yaml_reader import read_text, read_yaml
from cryo_acq.station.yaml_reader import where as _where
from .schema import (ACTIONS, _KEYS, _NAME, Action, ActionStep, Entry, RunStep, Sequence, SequenceError,
                     SequenceModel, _fmt, _suggest, fill_label)



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


def _filled(template: str, key: str, loop_values: dict) -> str:
    """A step's ``label`` or ``description`` for one run; ValueError(message, key) when a
    placeholder is not a loop key or a label could not name a file."""
    try:
        text = fill_label(template, loop_values)
    except KeyError as exc:
        raise ValueError(f"{key} {template!r}: {{{exc.args[0]}}} is not a loop key "
                         f"(loop: {', '.join(loop_values) or 'none'})", key) from None
    if key == "label" and not _NAME.match(text):
        raise ValueError(f"label {text!r}: letters, digits, '.', '_' and '-' only (it names the run file)", key)
    return text


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
            try:  # label and description, with this run's loop values filled in
                for key in ("description", "label"):
                    template = getattr(step, key)
                    if template is not None:
                        setattr(entry, key, _filled(template, key, loop_values))
            except ValueError as exc:
                problems.append(_say(lines, loc + (exc.args[1],), exc.args[0], n))
                break
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
    labelled: dict[str, Entry] = {}
    for entry in runs:
        if entry.label is None:
            continue
        if entry.label in labelled:
            first = labelled[entry.label]
            raise SequenceError(where, [_say(lines, ("steps", entry.step - 1, "label"),
                                             f"label {entry.label!r} names two runs (step {first.step} "
                                             f"{first.context()} and step {entry.step} {entry.context()}); "
                                             "labels name run files and must be unique", entry.step)])
        labelled[entry.label] = entry
    width = max(3, len(str(len(runs))))
    for number, entry in enumerate(runs, 1):
        entry.number = number
        entry.file = f"{entry.label}.h5" if entry.label else f"{name}-{number:0{width}d}-{entry.procedure}.h5"
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


