"""Report files, the schema: which fits to make of which runs (by label), which figures to
draw of them, and which numbers to put in ``summary.md`` beside which reference values.

A report file is YAML (safe-loaded, like station and sequence files); see
``docs/reports.md``. Its three lists refer to each other by name only: a fit names runs
by label (or a glob pattern of labels, ``A01-tmr-*K-0.1uA``), a figure names fits and
runs, a summary row names a value inside a fit's result by a dotted path
(``bkt.fit.T_BKT``: the ``T_BKT`` parameter of the ``fit`` of the fit named ``bkt``).
Nothing in the file is evaluated: paths are looked up, ``[[path:.2f]]`` in a row's text
is replaced by the value there, formatted (``[[path*1e6:g]]``: scaled first).
"""

from __future__ import annotations

import fnmatch
import math
import pathlib
import re
from typing import Any

from pydantic import Field, ValidationError, field_validator

from cryo_acq.station.file import _problems_text, _Strict, resolve_named
from cryo_acq.station.yaml_reader import read_text, read_yaml, validation_problems
from cryo_acq.station.yaml_reader import where as _where

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\.(png|pdf|svg)$")
#: ``[[name.key.0.param]]``, ``[[name.key:.2f]]`` or ``[[name.key*1e6:g]]`` (scaled) in a row's text
TEMPLATE = re.compile(r"\[\[([A-Za-z0-9_.\-]+)(?:\*([0-9.eE+\-]+))?(?::([^\[\]{}]*))?\]\]")


class ReportFileError(ValueError):
    """A report file that cannot be used, with every problem found."""

    def __init__(self, path: str, problems: list[str]):
        self.path = str(path)
        self.problems = problems
        super().__init__(_problems_text(f"report file {path}", problems))


Option = float | int | str | bool | list[float] | list[str]


class FitSpec(_Strict):
    """One fit: a registered fit (``cryo-acq report --list``) of the runs it names."""

    name: str = Field(description="what rows and figures call it")
    fit: str = Field(description="registered fit, e.g. bkt-rt, switching-series, hanle")
    runs: list[str] = Field(min_length=1, description="run labels or glob patterns of labels, in order")
    options: dict[str, Option] = Field(default_factory=dict, description="the fit's options (SI units)")
    title: str = ""

    @field_validator("name")
    @classmethod
    def _name(cls, v):
        if not _NAME.match(v):
            raise ValueError(f"{v!r}: use letters, digits, '.', '_' and '-'")
        return v


class FigureSpec(_Strict):
    """One figure file: a registered drawing of named fits and runs."""

    file: str = Field(description="file name in the output folder (.png, .pdf or .svg)")
    draw: str = Field(description="registered drawing, e.g. vi-bkt, loop-grid, hanle")
    panel: str = Field("", description="what it shows (e.g. the paper's panel), for the summary")
    fits: dict[str, str] = Field(default_factory=dict, description="the drawing's role -> fit name")
    runs: dict[str, list[str]] = Field(default_factory=dict, description="role -> run labels or patterns")
    options: dict[str, Option] = Field(default_factory=dict)
    title: str = ""

    @field_validator("file")
    @classmethod
    def _file(cls, v):
        if not _FILE.match(v):
            raise ValueError(f"{v!r}: a plain file name ending in .png, .pdf or .svg (no folders)")
        return v


class Value(_Strict):
    """One number of a row: where it is, how to scale it, its unit."""

    path: str = Field(description="dotted path into a fit's result: fit-name.key...")
    error: str | None = Field(None, description="path of its error; default: the fit's error of that "
                                                "parameter, or the sibling '<key>_error'; 'none': no error")
    scale: float = Field(1.0, description="multiply value and error (e.g. 1e3 for mT)")
    unit: str = ""


class Row(_Strict):
    """One line of the summary table: a quantity, the value(s), the reference value."""

    quantity: str
    value: str | Value | list[str | Value] = Field(description="a path, a Value, or several (joined by ' / ')")
    error: str | None = None
    scale: float = 1.0
    unit: str = ""
    join: str = " / "
    reference: str = Field("", description="the value to compare with (the paper's), as text")
    how: str = Field("", description="how the number was obtained")
    figure: str = Field("", description="figure file it belongs to")

    def values(self) -> list[Value]:
        items = self.value if isinstance(self.value, list) else [self.value]
        return [v if isinstance(v, Value) else Value(path=v, error=self.error, scale=self.scale, unit=self.unit)
                for v in items]


class Topic(_Strict):
    topic: str
    rows: list[Row]


class ReportModel(_Strict):
    report: str = Field(description="the report's name")
    title: str = "cryo_acq report"
    intro: str = ""
    reference: str = Field("reference", description="heading of the reference column")
    fits: list[FitSpec] = Field(default_factory=list)
    figures: list[FigureSpec] = Field(default_factory=list)
    summary: list[Topic] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="closing remarks, one bullet each")


class Report:
    """A checked report file."""

    def __init__(self, model: ReportModel, path: pathlib.Path, text: str):
        self.model, self.path, self.text = model, path, text
        self.name = model.report
        self.fits = {f.name: f for f in model.fits}
        self.figures = {f.file: f for f in model.figures}

    def __repr__(self) -> str:
        return f"Report({self.name!r}, {len(self.fits)} fits, {len(self.figures)} figures)"


# --------------------------------------------------------------------------- reading
def resolve(ref: str | pathlib.Path) -> pathlib.Path:
    """A report file from a path or the name of a shipped report."""
    return resolve_named(ref, "reports", "report", ReportFileError)


def load(ref: str | pathlib.Path) -> Report:
    """Read and check a report file (a path or a shipped report's name)."""
    path = resolve(ref)
    return parse(read_text(path, ReportFileError), path)


def parse(text: str, path: str | pathlib.Path = "<report>") -> Report:
    """Check a report file's text: the schema, that every fit and drawing is registered and
    gets the options it knows, and that every name a figure or row uses is a fit of the file."""
    from cryo_acq.report.registry import DRAWINGS, FITS, known_options

    where = str(path)
    data, lines = read_yaml(text, where, ReportFileError, "the file must be a mapping with `report:`, `fits:`, "
                                                          "`figures:` and `summary:`")
    try:
        model = ReportModel.model_validate(data)
    except ValidationError as exc:
        raise ReportFileError(where, validation_problems(exc, lines, "see docs/reports.md", show_key=True)) from None
    problems: list[str] = []

    def say(loc, message):
        problems.append(f"{_where(lines, loc)}: {message}")

    names = set()
    for k, f in enumerate(model.fits):
        if f.name in names:
            say(("fits", k, "name"), f"fit name {f.name!r} is used twice")
        names.add(f.name)
        if f.fit not in FITS:
            say(("fits", k, "fit"), f"no fit {f.fit!r} (known: {', '.join(sorted(FITS))})")
        else:
            for option in sorted(set(f.options) - known_options(FITS[f.fit])):
                say(("fits", k, "options", option), f"fit {f.fit!r} has no option {option!r} "
                                                    f"(it takes: {', '.join(sorted(known_options(FITS[f.fit]))) or 'none'})")
    files = set()
    for k, g in enumerate(model.figures):
        if g.file in files:
            say(("figures", k, "file"), f"figure file {g.file!r} is drawn twice")
        files.add(g.file)
        if g.draw not in DRAWINGS:
            say(("figures", k, "draw"), f"no drawing {g.draw!r} (known: {', '.join(sorted(DRAWINGS))})")
        for role, fit in g.fits.items():
            if fit not in names:
                say(("figures", k, "fits", role), f"no fit named {fit!r} in this file")
    for t, topic in enumerate(model.summary):
        for r, row in enumerate(topic.rows):
            loc = ("summary", t, "rows", r)
            paths = [v.path for v in row.values()] + [v.error for v in row.values() if v.error not in (None, "none")]
            paths += [m.group(1) for m in TEMPLATE.finditer(row.quantity + row.how)]
            for p in paths:
                if p.split(".")[0] not in names:
                    say(loc, f"{p!r}: no fit named {p.split('.')[0]!r} in this file")
            if row.figure and row.figure not in files:
                say(loc + ("figure",), f"no figure {row.figure!r} in this file")
    if problems:
        raise ReportFileError(where, problems)
    return Report(model, pathlib.Path(path), text)


# --------------------------------------------------------------------------- runs by label
def _natural(label: str):
    """Sort key: numbers inside labels compare as numbers (1T < 2T < 10T; 1.5K < 2K)."""
    return [(0, float(p), "") if re.fullmatch(r"\d+(?:\.\d+)?", p) else (1, 0.0, p)
            for p in re.split(r"(\d+(?:\.\d+)?)", label) if p]


def find_runs(folders) -> dict[str, pathlib.Path]:
    """label -> run file, for every ``<label>.h5`` in ``folders`` and their sub-folders
    (hidden files and folders skipped). A label found twice is an error: name one folder."""
    found: dict[str, pathlib.Path] = {}
    problems = []
    for folder in map(pathlib.Path, folders):
        if not folder.is_dir():
            problems.append(f"{folder}: not a folder")
            continue
        for path in sorted(folder.rglob("*.h5")):
            if any(part.startswith(".") for part in path.relative_to(folder).parts):
                continue
            label = path.stem
            if label in found and found[label].resolve() != path.resolve():
                problems.append(f"run {label!r} is in two files: {found[label]} and {path}; give one folder")
            found.setdefault(label, path)
    if problems:
        raise ReportFileError("run folders", problems)
    return found


def select(patterns: list[str], runs: dict[str, pathlib.Path]) -> list[str]:
    """The labels ``patterns`` name, in the order of the patterns, each pattern's matches in
    natural order (every label once)."""
    out: list[str] = []
    for pattern in patterns:
        for label in sorted((l for l in runs if fnmatch.fnmatchcase(l, pattern)), key=_natural):
            if label not in out:
                out.append(label)
    return out


# --------------------------------------------------------------------------- values
class Missing(LookupError):
    """A path into a fit's result that leads nowhere (the fit was not made, or has no such key)."""


def lookup(results: dict[str, Any], path: str) -> tuple[Any, Any]:
    """(value, default error) at a dotted path: a fit's result, then dict keys, list
    indices, and a FitResult's parameters (whose error is the fit's)."""
    name, *keys = path.split(".")
    if name not in results or results[name] is None:
        raise Missing(f"fit {name!r} was not made")
    node, error = results[name], None
    for key in keys:
        error = None
        if isinstance(node, dict):
            if key not in node:
                raise Missing(f"{path}: no {key!r} (has {', '.join(map(str, node))})")
            error = node.get(f"{key}_error")
            node = node[key]
        elif isinstance(node, (list, tuple)) and re.fullmatch(r"-?\d+", key):
            try:
                node = node[int(key)]
            except IndexError:
                raise Missing(f"{path}: index {key} out of range ({len(node)} items)") from None
        elif isinstance(getattr(node, "values", None), dict) and key in node.values:
            error = node.error(key)
            node = node[key]
        elif hasattr(node, "notes") and key in node.notes:
            node = node.notes[key]
        else:
            raise Missing(f"{path}: no {key!r} in a {type(node).__name__}")
    return node, error


def finite(x) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def format_number(value, error=None, scale: float = 1.0, unit: str = "") -> str:
    """'value ± error unit' (two significant digits of the error), four digits without an
    error, or 'n/a'."""
    from cryo_acq.analysis.result import format_value

    if isinstance(value, str):
        return value
    if value is None or not finite(value):
        return "n/a"
    err = None if error is None or not finite(error) or error <= 0 else error * scale
    if err is None:
        return f"{value * scale:.4g}" + (f" {unit}" if unit else "")
    return format_value(value * scale, err, unit).replace("+-", "±")


def format_values(row: Row, results: dict) -> str:
    out = []
    for v in row.values():
        try:
            value, error = lookup(results, v.path)
            if v.error == "none":
                error = None
            elif v.error is not None:
                error = lookup(results, v.error)[0]
        except Missing:
            value, error = None, None
        out.append(format_number(value, error, v.scale, v.unit))
    return row.join.join(out)


def fill(text: str, results: dict) -> str:
    """``[[path]]`` and ``[[path:fmt]]`` replaced by the value there (``n/a`` if missing)."""
    def one(m):
        try:
            value = lookup(results, m.group(1))[0]
            if isinstance(value, str):
                return value
            value = float(value) * float(m.group(2) or 1.0)
            return "n/a" if not math.isfinite(value) else format(value, m.group(3) or "g")
        except (Missing, TypeError, ValueError):
            return "n/a"
    return TEMPLATE.sub(one, text)
