"""Guards: conditions that pause a run until the cryostat is fit to measure again.

Declared in the station file's ``guards`` section (or a sequence file's), checked
by the runner before every point and again right after it. When one fails, the
run pauses: the point just taken (if any) is discarded, the guard's recovery
action runs (e.g. auto-range the lock-in), and the runner waits, on the station
clock, until every guard is clear and has stayed clear for the settle time; then
it re-measures the point and goes on. A condition that does not clear within the
guard's timeout aborts the run to the safe state. Every pause is in the run
file's log.

Bluesky's suspenders are the model: the run does not fail because the fridge
drifted for ten minutes.
"""

from __future__ import annotations

from dataclasses import dataclass


class GuardTimeout(RuntimeError):
    """A guard's condition did not clear in time: the run stops."""


@dataclass
class Guard:
    """Base: a named condition with a settle time and a timeout (s)."""

    settle: float = 60.0  #: s the condition must stay clear before measuring again
    timeout: float = 3600.0  #: s to wait for it to clear before aborting
    poll: float = 10.0  #: s between checks while paused
    name = "guard"

    def check(self, station, procedure) -> str | None:
        """``None`` when all is well, else what is wrong (a sentence for the log)."""
        raise NotImplementedError

    def recover(self, station) -> None:
        """An action that may clear the condition (default: none, just wait)."""


@dataclass
class TemperatureBand(Guard):
    """The sample temperature within ``tolerance`` K of the controller's set-point."""

    tolerance: float = 0.05
    name = "temperature"

    def check(self, station, procedure):
        if not getattr(procedure, "guard_temperature", True):
            return None
        tc = station.temperature
        setpoint, temperature = tc.setpoint, tc.temperature()
        if abs(temperature - setpoint) > self.tolerance:
            return (f"temperature {temperature:.4g} K is {temperature - setpoint:+.3g} K from the set-point "
                    f"{setpoint:.4g} K (band +-{self.tolerance:g} K)")
        return None


@dataclass
class LockInOverload(Guard):
    """No lock-in of the measured configuration overloaded; recovery: auto-range."""

    action: str = "autorange"  #: recovery: "autorange" or "none"
    settle: float = 5.0
    timeout: float = 600.0
    poll: float = 1.0
    name = "lockin_overload"

    def check(self, station, procedure):
        m = getattr(procedure, "_m", None)
        self._last = m
        if m is None:
            return None
        if m.lockin.measure().overload:
            return f"{m.lockin.name} overloaded at sensitivity {m.lockin.sensitivity:g} V"
        return None

    def recover(self, station) -> None:
        m = getattr(self, "_last", None)
        if m is not None and self.action == "autorange":
            m.lockin.auto_range()


@dataclass
class Compliance(Guard):
    """No SMU in compliance."""

    settle: float = 5.0
    timeout: float = 600.0
    poll: float = 5.0
    name = "compliance"

    def check(self, station, procedure):
        from instruments.roles import CurrentSource

        for source in (r for r in station.roles.values() if isinstance(r, CurrentSource)):
            if source.output_enabled and source.compliance_tripped:
                return f"{source.name} is in compliance"
        return None


@dataclass
class MagnetState(Guard):
    """The magnet not quenched, and not ramping when the procedure says it holds the field
    between points (``guard_magnet_holding``)."""

    settle: float = 60.0
    timeout: float = 1800.0
    poll: float = 10.0
    name = "magnet"

    def check(self, station, procedure):
        if station.magnet is None:
            return None
        statuses = {axis: str(s) for axis, s in station.magnet.statuses().items()}
        quenched = [a for a, s in statuses.items() if "QUENCH" in s.upper()]
        if quenched:
            return f"magnet quench on axis {', '.join(quenched)} ({statuses})"
        if getattr(procedure, "guard_magnet_holding", False) and station.magnet.ramping:
            return f"magnet ramping unexpectedly ({statuses})"
        return None


@dataclass
class DiskSpace(Guard):
    """Free space on the disk the run file is written to above ``min_free`` bytes. Always on
    (the station's ``guards.disk`` sets its options); the runner tells it the folder."""

    min_free: float = 50 * 1024**2
    settle: float = 0.0
    timeout: float = 6 * 3600.0
    poll: float = 30.0
    folder: str = "."
    name = "disk"

    def check(self, station, procedure):
        from cryo_acq.run.storage.disk import free_space, size_text

        free = free_space(self.folder)
        if free < self.min_free:
            return (f"disk nearly full: {size_text(free)} free in {self.folder}, below the {size_text(self.min_free)} "
                    "kept free (make room; the run goes on by itself)")
        return None


KINDS = {"temperature": TemperatureBand, "lockin_overload": LockInOverload, "compliance": Compliance,
         "magnet": MagnetState, "disk": DiskSpace}


def build(section: dict | None) -> list[Guard]:
    """Guards from a station or sequence file's ``guards`` mapping (validated there)."""
    guards = []
    for name, options in (section or {}).items():
        guards.append(KINDS[name](**(options or {})))
    return guards
