"""Measurement procedures, one module per measurement, written against station roles.

Each is a pymeasure ``Procedure`` (see :mod:`procedures.base`); the command line
knows them by name.
"""

from __future__ import annotations

import importlib

#: command-line name -> "module:Class"
PROCEDURES = {
    "rt": "procedures.rt:RT",
    "rt-map": "procedures.rt_map:RTMap",
    "vi": "procedures.vi:VI",
    "didv": "procedures.didv:DIDV",
    "tmr": "procedures.tmr:TMR",
    "amr": "procedures.amr:AMR",
    "nl-switch": "procedures.nl_switch:NLSwitch",
    "nl-map": "procedures.nl_map:NLMap",
    "hanle": "procedures.hanle:Hanle",
}


def get(name: str):
    """The procedure class for a command-line name."""
    try:
        module, _, cls = PROCEDURES[name].partition(":")
    except KeyError:
        raise KeyError(f"unknown procedure {name!r}; known: {', '.join(sorted(PROCEDURES))}") from None
    return getattr(importlib.import_module(module), cls)
