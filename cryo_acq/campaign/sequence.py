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

The work is split by job: :mod:`.schema` (the file's schema and the expanded
sequence), :mod:`.parse` (reading and checking), :mod:`.state` (the state file),
:mod:`.execute` (running it), :mod:`.estimate` (its lab time). This module is the
one place to import them from.
"""

from .estimate import estimate, format_duration, simulated_copy
from .execute import Outcome, SequenceProgress, SequenceRun
from .parse import check, load, merged_guards, parse, resolve, shipped_sequences
from .schema import ACTIONS, POLICIES, Action, Entry, Sequence, SequenceError, _fmt
from .state import State, log_path, state_path

__all__ = ["ACTIONS", "POLICIES", "Action", "Entry", "Outcome", "Sequence", "SequenceError", "SequenceProgress",
           "SequenceRun", "State", "check", "estimate", "format_duration", "load", "log_path", "merged_guards",
           "parse", "resolve", "shipped_sequences", "simulated_copy", "state_path", "_fmt"]
