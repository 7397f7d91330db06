"""The fits and drawings a report file can name.

A *report fit* takes the loaded runs a report names (in order) and its options as keyword
arguments, and returns plain data (dicts, arrays, portable :class:`FitResult` s) that
can cross a process boundary. A *drawing* takes the output path, the results of the fits
the figure names (role -> result), the runs it names (role -> list of runs) and its
options, and writes the figure. Both register themselves by name with the decorators
below; ``cryo-acq report --list`` shows them with their first docstring line.
"""

from __future__ import annotations

import inspect
from typing import Callable

FITS: dict[str, Callable] = {}
DRAWINGS: dict[str, Callable] = {}


def report_fit(name: str):
    """Register ``fn(runs, **options) -> dict`` as the report fit ``name``."""
    def register(fn):
        FITS[name] = fn
        return fn
    return register


def drawing(name: str):
    """Register ``fn(path, fits, runs, *, title, **options)`` as the drawing ``name``."""
    def register(fn):
        DRAWINGS[name] = fn
        return fn
    return register


def known_options(fn: Callable) -> set[str]:
    """The keyword-only parameters of a fit or drawing: the options a report may give it."""
    return {p.name for p in inspect.signature(fn).parameters.values() if p.kind is p.KEYWORD_ONLY}


def describe(fn: Callable) -> str:
    doc = inspect.getdoc(fn) or ""
    return doc.split("\n\n")[0].replace("\n", " ")


# the modules that register (imported last: they import the decorators above)
from cryo_acq.report import figures as _figures  # noqa: E402,F401
from cryo_acq.report import fits as _fits  # noqa: E402,F401
