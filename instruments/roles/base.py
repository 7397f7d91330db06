"""What every role adapter is built with."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import ReplyError


@dataclass
class RoleContext:
    """The station-side facts a role adapter needs besides its driver."""

    name: str  #: instrument name in the station file
    clock: Any  #: the station clock (every wait goes through it)
    safety: Any  #: cryo_acq.station.safety.Safety
    options: dict[str, Any] = field(default_factory=dict)  #: the instrument's ``options``
    configurations: list[str] = field(default_factory=list)  #: sample configurations it is wired to
    wiring: Any = None  #: LockInWiring for a lock-in, else None


class WiredRole:
    """A role wired to sample configurations; limits apply to the selected one.

    Until a configuration is selected (``Station.use``), every wired configuration's
    limit applies, so the tightest one wins.
    """

    def _init_wiring(self, ctx: RoleContext) -> None:
        self.configurations = list(ctx.configurations)  #: every configuration it is wired to
        self._active: list[str] = []

    @property
    def checked_configurations(self) -> list[str]:
        return self._active or self.configurations

    def _applied(self) -> float:
        kind = {"dc": 0, "ac_rms": 1}[self._excitation_kind]
        return max((self._safety.applied.get(c, [0.0, 0.0])[kind] for c in self.checked_configurations),
                   key=abs, default=0.0)

    def check_select(self, configuration: str) -> None:
        """Raise if switching to ``configuration`` is not allowed (nothing changes)."""
        if configuration not in self.configurations:
            raise ValueError(f"{self.name} is not wired to {configuration!r} (wired: {self.configurations})")
        # the excitation already applied would flow through the new configuration
        self._safety.check_current(configuration, **{self._excitation_kind: self._applied()})

    def select(self, configuration: str) -> None:
        """Measure ``configuration`` from now on (its limits apply to later set-points)."""
        self.check_select(configuration)
        applied = self._applied()
        for old in self.checked_configurations:
            self._safety.record_current(old, **{self._excitation_kind: 0.0})
        self._safety.record_current(configuration, **{self._excitation_kind: applied})
        self._active = [configuration]

    #: which excitation this role applies: "dc" or "ac_rms"
    _excitation_kind = "dc"


#: an instrument answered something that is not a number where one was expected
InstrumentReplyError = ReplyError


def number(value, what: str) -> float:
    """``value`` as a float, or a clear error (pymeasure passes unparseable replies
    through as strings, so a garbled reply must be caught here)."""
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise InstrumentReplyError(f"{what}: unreadable reply {value!r}") from None
    return result
