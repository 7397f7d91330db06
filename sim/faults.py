"""Fault injection for simulated instruments.

Declared in the station file's ``sim.faults`` list, one entry per fault::

    - {instrument: lockin_a, kind: timeout, probability: 0.02}
    - {instrument: lockin_a, kind: garbled, probability: 0.01, start: 600}
    - {instrument: magnet, kind: stop_answering, start: 3600, duration: 120}

``timeout``: a query's reply is dropped (the caller's read times out).
``garbled``: a reply arrives corrupted.
``stop_answering``: from ``start`` (station seconds) for ``duration`` (forever if
absent) the instrument ignores everything it is sent.
A fault is active from ``start`` to ``start + duration`` and strikes each message
with its ``probability``. Draws come from a seeded generator: the same seed and the
same traffic give the same faults.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

FaultKind = Literal["timeout", "garbled", "stop_answering"]
_EFFECT = {"stop_answering": "silent", "timeout": "drop", "garbled": "garble"}


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    probability: float = 1.0
    start: float = 0.0  #: station time (s) from which the fault is active
    duration: float | None = None  #: seconds; None = until the end of the session

    def active(self, now: float) -> bool:
        return now >= self.start and (self.duration is None or now < self.start + self.duration)


class FaultInjector:
    """Decides, message by message, whether a fault strikes."""

    def __init__(self, faults: list[Fault] | tuple[Fault, ...] = (), seed: int = 0):
        self.faults = tuple(faults)
        self._rng = np.random.default_rng(seed)
        #: (station time, effect) of every fault that struck
        self.history: list[tuple[float, str]] = []

    def on_message(self, now: float) -> str | None:
        """``None`` for a normal exchange, else ``'silent'``, ``'drop'`` or ``'garble'``."""
        for fault in self.faults:
            if fault.active(now) and (fault.probability >= 1 or self._rng.random() < fault.probability):
                effect = _EFFECT[fault.kind]
                self.history.append((now, effect))
                return effect
        return None

    def garble(self, reply: bytes) -> bytes:
        """A reply as a noisy line would deliver it: cut short, with corrupted bytes."""
        data = bytearray(reply[: max(1, len(reply) * 2 // 3)])
        for i in self._rng.choice(len(data), size=max(1, len(data) // 4), replace=False):
            data[i] = int(self._rng.choice(list(b"#%&?@~^")))
        return bytes(data)
