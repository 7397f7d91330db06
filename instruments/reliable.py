"""Retries where the fault is: one query or one write at a time.

A point of a measurement sends tens of messages. On a line where one message in
twenty times out or comes back garbled, retrying the whole point cannot outrun
the faults; retrying the one exchange that failed can. :class:`ReliableDriver`
wraps a pymeasure driver (and its channels) so that every property read, property
write and method call the role adapters make is one *exchange*:

* a transient fault -- a VISA timeout or I/O error, a reply that does not parse,
  a number that comes back as text -- clears the instrument's buffers (device
  clear), waits the policy's back-off on the station clock and asks again;
* a property write is only repeated after reading the property back: if the
  instrument already holds the value, the write took and is not sent again;
* after ``attempts`` tries the exchange raises :class:`InstrumentUnresponsive`,
  naming the instrument and the command: the instrument is silent, not flaky.

Every retry is reported (``on_retry``), so the runner writes it into the run file.
A refusal -- a set-point outside a validator's range, an instrument's own error
reply -- is not a fault of the line and is raised at once.
"""

from __future__ import annotations

import contextlib

import logging
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

from pymeasure.instruments.common_base import CommonBase
from pyvisa.errors import VisaIOError

from .errors import InstrumentUnresponsive, ReplyError

log = logging.getLogger(__name__)

#: faults of one exchange worth asking again
TRANSIENT_WRITE = (VisaIOError, ReplyError)
#: a property read has no input to refuse: any parse failure is the reply's fault
TRANSIENT_READ = TRANSIENT_WRITE + (ValueError, IndexError, KeyError, TypeError)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one exchange is tried (station setting ``retries``)."""

    attempts: int = 8  #: tries of one exchange before the instrument counts as silent
    backoff: float = 0.05  #: s before the second try; doubles with every try ...
    backoff_max: float = 0.5  #: ... up to this many s

    def delay(self, attempt: int) -> float:
        """Back-off (s) after failed try number ``attempt`` (0-based)."""
        return min(self.backoff * 2 ** attempt, self.backoff_max)


class UnparsedReply(str):
    """A reply field pymeasure could not cast to the number asked for (it passes such
    fields through as text; the retry layer treats them as garbled)."""


def _marking_values(obj: CommonBase):
    """``obj.values`` that marks fields that failed their cast, so that a garbled
    number cannot pass as a word."""
    original = type(obj).values

    def values(command, separator=",", cast=float, preprocess_reply=None, maxsplit=-1, **kwargs):
        result = original(obj, command, separator=separator, cast=cast, preprocess_reply=preprocess_reply,
                          maxsplit=maxsplit, **kwargs)
        if cast is str:
            return result
        return [UnparsedReply(r) if isinstance(r, str) else r for r in result]

    return values


def _unparsed(value) -> str | None:
    if isinstance(value, UnparsedReply):
        return value
    if isinstance(value, (list, tuple)):
        for item in value:
            if isinstance(item, UnparsedReply):
                return item
    return None


class Link:
    """One instrument's line: its retry policy, clock, device clear and retry reports."""

    def __init__(self, name: str, driver: CommonBase, clock, policy: RetryPolicy | None = None,
                 on_retry: Callable[[str, str], None] | None = None, lock=None):
        self.name = name
        self.driver = driver
        self.clock = clock
        self.policy = policy or RetryPolicy()
        #: the station's I/O lock: each attempt (a query's write and read, a write and its
        #: checked reply) holds it whole, so another thread's exchange never falls between
        self.lock = lock if lock is not None else contextlib.nullcontext()
        #: told (instrument, message) of every retry; the runner logs it in the run file
        self.on_retry = on_retry
        self.retries = 0  #: retries made on this line so far

    def clear(self) -> None:
        """Empty the instrument's input and output buffers (device clear), so a late or
        partial reply cannot be read as the answer to the next question."""
        connection = getattr(getattr(self.driver, "adapter", None), "connection", None)
        try:
            if connection is not None:
                connection.clear()
        except Exception as exc:  # noqa: BLE001 - a clear that fails is no reason to stop trying
            log.debug("%s: device clear failed: %s", self.name, exc)

    def exchange(self, what: str, step: Callable[[], Any], transient=TRANSIENT_READ,
                 verify: Callable[[], bool] | None = None):
        """Run one exchange (``what`` names it in messages), retrying transient faults.

        ``verify``: for a write, a read-back that tells whether it already took
        (then it is not sent again)."""
        attempts = max(1, self.policy.attempts)
        last: BaseException | None = None
        for attempt in range(attempts):
            if attempt:
                with self.lock:
                    self.clear()
                self.clock.sleep(self.policy.delay(attempt - 1))  # the lock is free while it backs off
                with self.lock:
                    verified = verify is not None and self._verified(verify)
                if verified:
                    self._report(f"{what}: already took effect (read back); not sent again")
                    return None
            try:
                with self.lock:
                    result = step()
                bad = _unparsed(result)
                if bad is not None:
                    raise ReplyError(f"unreadable reply {str(bad)!r}")
                return result
            except transient as exc:
                last = exc
                if attempt + 1 < attempts:
                    self._report(f"{what}: {type(exc).__name__}: {exc} (try {attempt + 1} of {attempts})")
        raise InstrumentUnresponsive(
            self.name, f"{self.name} gave no valid reply to {what} in {attempts} tries "
                       f"(last: {type(last).__name__}: {last})") from last

    def _verified(self, verify: Callable[[], bool]) -> bool:
        try:
            return bool(verify())
        except Exception:  # noqa: BLE001 - an unreadable read-back: send again
            return False

    def _report(self, message: str) -> None:
        self.retries += 1
        log.warning("%s: retry %s", self.name, message)
        if self.on_retry is not None:
            self.on_retry(self.name, message)


def _same(read_back, sent) -> bool:
    if isinstance(sent, bool) or isinstance(read_back, bool):
        return bool(read_back) == bool(sent)
    if isinstance(sent, (int, float)) and isinstance(read_back, (int, float)):
        return math.isclose(float(read_back), float(sent), rel_tol=1e-6, abs_tol=1e-12)
    return read_back == sent


@lru_cache(maxsize=None)  # looked up on every exchange: once per class and name
def _class_attribute(cls: type, name: str):
    for klass in cls.__mro__:
        if name in vars(klass):
            return vars(klass)[name]
    return None


class ReliableDriver:
    """A driver (or channel) seen through its instrument's :class:`Link`.

    Attribute access behaves as on the driver; every property read or write and every
    public method call is one exchange with retries. Channels come back wrapped too."""

    __slots__ = ("_target", "_link")

    def __init__(self, target: CommonBase, link: Link):
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_link", link)
        if "values" not in vars(target):  # pymeasure passes unparsed fields through as text
            target.values = _marking_values(target)

    @property
    def raw(self) -> CommonBase:
        """The driver itself, without retries (for code that handles faults itself)."""
        return self._target

    def __getattr__(self, name: str):
        target, link = self._target, self._link
        attribute = _class_attribute(type(target), name)
        if isinstance(attribute, property):
            return self._wrap(link.exchange(f"{name}?", lambda: getattr(target, name)))
        value = getattr(target, name)
        if isinstance(value, CommonBase):
            return ReliableDriver(value, link)
        if callable(value) and not name.startswith("_"):
            def call(*args, **kwargs):
                shown = ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()])
                return self._wrap(link.exchange(f"{name}({shown})", lambda: value(*args, **kwargs),
                                                transient=TRANSIENT_WRITE))
            return call
        return value

    def __setattr__(self, name: str, value) -> None:
        target, link = self._target, self._link
        attribute = _class_attribute(type(target), name)
        if not isinstance(attribute, property):
            setattr(target, name, value)
            return
        verify = (lambda: _same(getattr(target, name), value)) if attribute.fget is not None else None
        link.exchange(f"{name} = {value!r}", lambda: setattr(target, name, value),
                      transient=TRANSIENT_WRITE, verify=verify)

    def _wrap(self, value):
        return ReliableDriver(value, self._link) if isinstance(value, CommonBase) else value

    def __repr__(self) -> str:
        return f"<reliable {self._target!r}>"
