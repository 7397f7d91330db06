"""Errors a driver or role raises about what came back over the wire.

They live apart from both drivers and roles so that either can raise them and the
retry layer (:mod:`instruments.reliable`) can tell a transient fault of the line
from a refusal of the instrument or of the safety limits.
"""

from __future__ import annotations


class ReplyError(ValueError):
    """A reply that cannot be a valid answer: garbled, cut short, out of step.

    Asking again (after a device clear) is the cure; the instrument itself is fine."""


class InstrumentUnresponsive(RuntimeError):
    """An instrument gave no valid reply to one query or write, however often asked.

    The message names the instrument and the command; ``instrument`` holds the name."""

    def __init__(self, instrument: str, message: str):
        super().__init__(message)
        self.instrument = instrument
