"""Measurement procedures, one module per measurement, written against station roles.

Each is a pymeasure ``Procedure`` (see :mod:`procedures.base`); the command line
knows them by name.
"""

from __future__ import annotations

import importlib

#: command-line name -> "module:Class"
PROCEDURES = {
    "tmr": "procedures.tmr:TMR",
}


def get(name: str):
    """The procedure class for a command-line name."""
    try:
        module, _, cls = PROCEDURES[name].partition(":")
    except KeyError:
        raise KeyError(f"unknown procedure {name!r}; known: {', '.join(sorted(PROCEDURES))}") from None
    return getattr(importlib.import_module(module), cls)
