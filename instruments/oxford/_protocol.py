"""The Oxford Instruments READ/SET/STAT protocol, shared by the Mercury iPS and the Triton.

Both instruments speak the same line protocol (the Mercury "SCPI" command set):

* a read ``READ:<path>`` is answered ``STAT:<path>:<value>``, where ``<value>`` is
  a number followed by a unit that may carry an SI prefix (``0.1000T``,
  ``12.5mT``, ``3.2uA``, ``0.6000T/m`` = T per minute, ``1.23mB`` = millibar), or a
  word (``ON``, ``HOLD``). A path the instrument does not have ends in
  ``NOT_FOUND``; a command it does not understand ends in ``INVALID`` (an
  unknown command may be answered by a bare ``INVALID``);
* a set ``SET:<path>:<value>`` is always answered by one line,
  ``STAT:SET:<path>:<value>:VALID``, or ``...:INVALID`` / ``...:NOT_FOUND`` when
  it is refused.

:class:`OxfordProtocolMixin` checks every reply against the command that caused
it, so a refused or out-of-step reply raises at once, naming the command. The
helper functions turn reply fields into SI numbers for pymeasure properties.
"""

from __future__ import annotations

import math
import re
from typing import Callable, Optional

from ..errors import ReplyError

#: Reply tail for a path the instrument does not have (a read gives ``None``).
NOT_FOUND = "NOT_FOUND"
#: Reply tail for a refused command.
INVALID = "INVALID"
#: Reply tail for an accepted SET.
VALID = "VALID"

#: SI prefixes the Oxford firmware puts in front of a unit.
SI_PREFIXES = {
    "n": 1e-9,
    "u": 1e-6,
    "\u00b5": 1e-6,  # micro sign
    "\u03bc": 1e-6,  # greek mu
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
}

_NUMBER = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(.*?)\s*$")


class OxfordError(Exception):
    """Base class of the errors of the Oxford READ/SET/STAT protocol."""


class OxfordCommandError(OxfordError):
    """The instrument refused a command (reply ending in ``INVALID`` or, for a SET,
    ``NOT_FOUND``)."""


class OxfordReplyError(OxfordError, ReplyError):
    """A reply does not have the form the command calls for (out of step, garbled,
    wrong unit)."""


# --------------------------------------------------------------------------- replies
def last_field(reply: str) -> str:
    """The text after the last ``:`` of a reply (the value of a single-value read)."""
    return reply.strip().rsplit(":", 1)[-1]


def check_read_reply(command: str, reply: str, who: str = "instrument") -> str:
    """Check the reply to ``READ:<path>``; return it unchanged.

    :raises OxfordCommandError: the reply ends in ``INVALID``.
    :raises OxfordReplyError: the reply does not echo ``STAT:<path>:``.
    """
    reply = reply.strip()
    tail = last_field(reply)
    if tail == INVALID:
        raise OxfordCommandError(f"{who} refused {command!r}: reply {reply!r}")
    if tail == NOT_FOUND and (reply == NOT_FOUND or reply.startswith("STAT:")):
        return reply
    echo = "STAT:" + command[len("READ:"):] + ":"
    if not reply.startswith(echo) or len(reply) == len(echo):
        raise OxfordReplyError(
            f"{who}: unexpected reply {reply!r} to {command!r} (expected {echo!r} then a value)")
    return reply


def check_set_reply(command: str, reply: str, who: str = "instrument") -> str:
    """Check the one-line reply to ``SET:<path>:<value>``; return it unchanged.

    The value part of the echo is not compared (the firmware may reformat it);
    the path and the tail are.

    :raises OxfordCommandError: the reply ends in ``INVALID`` or ``NOT_FOUND``.
    :raises OxfordReplyError: the reply is not ``STAT:SET:<path>:...:VALID``.
    """
    reply = reply.strip()
    tail = last_field(reply)
    if tail in (INVALID, NOT_FOUND):
        raise OxfordCommandError(f"{who} refused {command!r}: reply {reply!r}")
    path = command.rsplit(":", 1)[0] + ":"
    if not reply.startswith("STAT:" + path) or tail != VALID:
        raise OxfordReplyError(
            f"{who}: unexpected reply {reply!r} to {command!r} "
            f"(expected 'STAT:{path}<value>:VALID')")
    return reply


def payload(command: str, reply: str) -> str:
    """Everything after the echoed path of a read reply (may contain ``:``).

    ``payload("READ:SYS:DR:CHAN", "STAT:SYS:DR:CHAN:MC:STIL")`` is ``"MC:STIL"``.
    """
    echo = "STAT:" + command[len("READ:"):] + ":"
    reply = reply.strip()
    if not reply.startswith(echo):
        raise OxfordReplyError(f"unexpected reply {reply!r} to {command!r}")
    return reply[len(echo):]


# --------------------------------------------------------------------------- values
def format_number(value: float) -> str:
    """A number as the firmware accepts it: fixed point, at most 6 decimals,
    no trailing zeros (``0.5``, ``-1.25``, ``120``)."""
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"cannot send non-finite number {value!r}")
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "", "-") else text


def parse_quantity(text: str, unit: Optional[str] = None, bare_scale: float = 1.0) -> float:
    """Parse ``<number><prefix><unit>`` into a float in the base unit.

    :param text: e.g. ``"12.5mT"``, ``"3.2uA"``, ``"0.6000T/m"``, ``"1.23mB"``, ``"5"``.
    :param unit: the expected base unit (``"T"``, ``"A"``, ``"T/m"``, ``"B"``...). When
        given, the suffix must be that unit with an optional SI prefix (or empty).
        When ``None``, a first suffix character that is an SI prefix is applied
        only if more unit text follows it.
    :param bare_scale: factor for a bare number without a unit (for a value whose
        wire unit is itself prefixed, e.g. a heater range in mA).
    :raises OxfordReplyError: not a number, or a unit other than ``unit``.
    """
    match = _NUMBER.match(text)
    if match is None:
        raise OxfordReplyError(f"expected a number, got {text!r}")
    number = float(match.group(1))
    suffix = match.group(2)
    if not suffix:
        return number * bare_scale
    if unit is not None:
        if suffix == unit:
            return number
        if suffix.endswith(unit) and suffix[: -len(unit)] in SI_PREFIXES:
            return number * SI_PREFIXES[suffix[: -len(unit)]]
        raise OxfordReplyError(
            f"expected a value in {unit!r} (optionally SI-prefixed), got {text!r}")
    if len(suffix) > 1 and suffix[0] in SI_PREFIXES and suffix[1] != "/":
        return number * SI_PREFIXES[suffix[0]]
    return number


def quantity(unit: Optional[str] = None, scale: float = 1.0,
             bare_scale: float = 1.0) -> Callable[[str], Optional[float]]:
    """A ``get_process`` turning a reply value field into ``scale`` times the value in
    the base unit, or ``None`` for ``NOT_FOUND``."""

    def process(text):
        text = str(text)
        if text == NOT_FOUND:
            return None
        return parse_quantity(text, unit, bare_scale) * scale

    return process


def word(text) -> Optional[str]:
    """A ``get_process`` for word values (``HOLD``, ``OK``): the word, ``None`` for
    ``NOT_FOUND``."""
    text = str(text).strip()
    return None if text == NOT_FOUND else text


def on_off(text) -> Optional[bool]:
    """A ``get_process`` for ``ON``/``OFF``: ``True``/``False``, ``None`` for ``NOT_FOUND``."""
    text = str(text).strip()
    if text == NOT_FOUND:
        return None
    if text == "ON":
        return True
    if text == "OFF":
        return False
    raise OxfordReplyError(f"expected ON or OFF, got {text!r}")


def to_on_off(value) -> str:
    """A ``set_process`` for booleans: ``ON``/``OFF``."""
    return "ON" if value else "OFF"


def read_kwargs(get_process: Callable) -> dict:
    """Keyword arguments of a pymeasure property reading one value field.

    The whole reply is kept as one string (no splitting at ``,``); its last field
    goes through ``get_process``. The reply itself is checked by
    :meth:`OxfordProtocolMixin.read` before this runs.
    """
    return {"preprocess_reply": last_field, "cast": str, "maxsplit": 0,
            "get_process": get_process}


# --------------------------------------------------------------------------- instrument side
class OxfordProtocolMixin:
    """Instrument mixin: every reply is checked against the command that caused it.

    ``write`` remembers the last command; ``read`` checks the reply to a
    ``READ:`` (echo, ``INVALID``) or ``SET:`` (echo, ``VALID``) command and raises
    :class:`OxfordCommandError` / :class:`OxfordReplyError` naming the command.
    Properties that set use ``check_set_errors=True``: :meth:`check_set_errors`
    reads the reply every SET produces. Channels reach all of this through
    their parent.
    """

    _last_command: str = ""

    def write(self, command: str, **kwargs) -> None:
        self._last_command = command
        super().write(command, **kwargs)

    def read(self, **kwargs) -> str:
        reply = super().read(**kwargs)
        command = self._last_command
        if command.startswith("READ:"):
            return check_read_reply(command, reply, self.name)
        if command.startswith("SET:"):
            return check_set_reply(command, reply, self.name)
        return reply

    def check_set_errors(self) -> list:
        """Read the reply to the SET just sent; raise if the instrument refused it.

        :raises OxfordCommandError: reply ends in ``INVALID`` or ``NOT_FOUND``.
        :raises OxfordReplyError: reply is not ``STAT:SET:...:VALID``.
        :return: an empty list (nothing left to log).
        """
        self.read()
        return []

    def set_checked(self, command: str) -> None:
        """Send one ``SET:`` command and check its reply (for methods that act)."""
        self.write(command)
        self.check_set_errors()

    def query_payload(self, command: str) -> str:
        """Send a ``READ:`` command; return the reply text after the echoed path
        (``NOT_FOUND`` when the instrument has no such path)."""
        reply = self.ask(command)
        if last_field(reply) == NOT_FOUND:
            return NOT_FOUND
        return payload(command, reply)
