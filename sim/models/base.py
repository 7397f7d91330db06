"""What every live instrument model shares."""

from __future__ import annotations

from typing import Any, Callable


class InstrumentModel:
    """A simulated instrument in a lab. Subclasses expose the ``live:`` attributes."""

    def __init__(self, lab, name: str, options: dict[str, Any] | None = None):
        self.lab = lab
        self.name = name
        self.options = dict(options or {})
        self.clock = lab.clock
        self.io_latency = lab.io_latency

    def advance(self) -> None:
        """Bring time-dependent state up to now (called before every message)."""


class LiveMap:
    """A channel-indexed live attribute: ``model.kelvin["A"]``, ``model.setpoint[1] = 4.2``."""

    def __init__(self, get: Callable[[Any], Any], set: Callable[[Any, Any], None] | None = None):
        self._get = get
        self._set = set

    def __getitem__(self, channel):
        return self._get(channel)

    def __setitem__(self, channel, value) -> None:
        if self._set is None:
            raise ValueError("read-only")
        self._set(channel, value)
