"""The Magnet role: 1 to 3 field axes in the sample frame, ramped within the limits.

Axes are the sample's: ``x`` the in-plane easy axis, ``y`` in-plane across it,
``z`` out of plane. The station maps each to a supply channel (a Mercury iPS
group, an AMI 430 unit). Units: tesla, tesla per second, seconds.

Every target and rate passes :class:`cryo_acq.station.safety.Safety` first: per-axis
maxima, the vector norm, per-axis ramp rates. A multi-axis move whose path
could leave the norm sphere (axes run at their own speeds) is done in two phases,
shrinking axes first.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod

from cryo_acq.station.clock import wait_until
from cryo_acq.station.safety import LimitError

from .base import RoleContext, number


class MagnetAxisControl(ABC):
    """One supply channel driving one sample axis."""

    axis: str

    @abstractmethod
    def field(self) -> float:
        """Measured field, T."""

    @abstractmethod
    def set_target(self, tesla: float) -> None: ...

    @abstractmethod
    def set_rate(self, tesla_per_second: float) -> None: ...

    @abstractmethod
    def rate(self) -> float:
        """Ramp rate, T/s."""

    @abstractmethod
    def start(self) -> None:
        """Ramp toward the target."""

    @abstractmethod
    def hold(self) -> None: ...

    @abstractmethod
    def to_zero(self) -> None: ...

    @abstractmethod
    def ramping(self) -> bool: ...

    @abstractmethod
    def status(self) -> str: ...


class Magnet:
    """A (vector) magnet assembled from the station's supply channels."""

    def __init__(self, controls: list[MagnetAxisControl], clock, safety, poll: float = 1.0,
                 identities: dict[str, str] | None = None):
        self._controls = {c.axis: c for c in controls}
        self.clock = clock
        self._safety = safety
        self.poll = poll  #: s between ramp-state polls
        self._identities = identities or {}
        self._targets = {a: 0.0 for a in self._controls}

    @property
    def axes(self) -> tuple[str, ...]:
        return tuple(a for a in ("x", "y", "z") if a in self._controls)

    def field(self) -> dict[str, float]:
        """Measured field per axis, T."""
        return {a: self._controls[a].field() for a in self.axes}

    def field_on(self, axis: str) -> float:
        """Measured field on one axis, T (one query: for polling during a sweep)."""
        return self._axis(axis).field()

    def vector(self) -> tuple[float, float, float]:
        f = self.field()
        return (f.get("x", 0.0), f.get("y", 0.0), f.get("z", 0.0))

    @property
    def targets(self) -> dict[str, float]:
        return dict(self._targets)

    @property
    def ramping(self) -> bool:
        return any(c.ramping() for c in self._controls.values())

    def _axis(self, axis: str) -> MagnetAxisControl:
        try:
            return self._controls[axis]
        except KeyError:
            raise ValueError(f"this station's magnet has axes {self.axes}, not {axis!r}") from None

    def set_rate(self, axis: str, rate: float) -> None:
        """Ramp rate (T/s) for ``axis``; refused beyond the station limit."""
        self._axis(axis)
        self._safety.check_rate(axis, rate)
        self._controls[axis].set_rate(rate)

    def _limit_rate(self, axis: str) -> None:
        """Bring the supply's own ramp rate within the station limit before it moves.

        A supply may hold any rate (set from its front panel, or by another program);
        the limit applies to every ramp, not only to rates passed to this class."""
        limit = self._safety.limits.field.axes()[axis].rate
        if self._controls[axis].rate() > limit * (1 + 1e-9):
            self._controls[axis].set_rate(limit)

    def start_ramp(self, rate: float | None = None, **targets: float) -> None:
        """Start ramping the named axes (``x=0.5``) and return at once.

        Refused before anything is sent if a target or rate is beyond the limits, or
        if the axes' independent motion could leave the vector-norm limit (use
        :meth:`ramp_to`, which orders the axes).
        """
        for axis in targets:
            self._axis(axis)
        self._safety.check_field(targets, self._targets)
        start = self.field()
        if not self._safety.path_within_norm(start, {**start, **targets}):
            raise LimitError("the axes moving independently could exceed the field-norm limit; "
                             "use ramp_to, which moves shrinking axes first")
        if rate is not None:
            for axis in targets:
                self._safety.check_rate(axis, rate)
        for axis, value in targets.items():
            control = self._controls[axis]
            if rate is not None:
                control.set_rate(rate)
            else:
                self._limit_rate(axis)
            control.set_target(value)
            self._targets[axis] = value
            control.start()

    def ramp_to(self, rate: float | None = None, timeout: float | None = None, **targets: float) -> None:
        """Ramp to the targets and wait until every axis holds there.

        Shrinking axes move first, then growing ones, so the field stays inside
        the norm limit on the way.
        """
        for axis in targets:
            self._axis(axis)
        self._safety.check_field(targets, self._targets)
        if rate is not None:
            for axis in targets:
                self._safety.check_rate(axis, rate)
        present = self.field()
        shrinking = {a: v for a, v in targets.items() if abs(v) < abs(present[a])}
        growing = {a: v for a, v in targets.items() if a not in shrinking}
        for phase in (shrinking, growing):
            if phase:
                self.start_ramp(rate=rate, **phase)
                self.wait(timeout)

    def wait(self, timeout: float | None = None) -> float:
        """Wait (station clock) until every axis has arrived; return the time waited.

        Nothing is asked before the ramp can have arrived (its distance over its rate);
        then the supply is polled every :attr:`arrival_poll` s until each axis either
        reports that it holds or reads its target within :attr:`arrival_tolerance`
        (a supply's ramp status lags the field it reads by its own hold detection)."""
        start = self.clock.now()
        expected = self._longest_ramp()
        if timeout is None:
            timeout = expected * 1.5 + 10 * self.poll
        if 0 < expected < timeout:
            self.clock.sleep(expected)
        left = max(timeout - (self.clock.now() - start), 0.0)
        wait_until(self.clock, self._arrived, left, min(self.poll, self.arrival_poll), "magnet ramp")
        return self.clock.now() - start

    #: s between polls once a ramp may have arrived
    arrival_poll = 0.1
    #: T: an axis reading its target this closely has arrived, whatever its status says
    arrival_tolerance = 1e-5

    def _arrived(self) -> bool:
        for axis, control in self._controls.items():
            if control.ramping() and abs(control.field() - self._targets[axis]) > self.arrival_tolerance:
                return False
        return True

    def _longest_ramp(self) -> float:
        longest = 0.0
        for axis, control in self._controls.items():
            rate = control.rate()
            distance = abs(self._targets[axis] - control.field())
            longest = max(longest, distance / rate if rate > 0 else math.inf)
        return longest

    def hold(self) -> None:
        for control in self._controls.values():
            control.hold()

    def confirm_safe(self, mode: str = "hold", tolerance: float = 1e-4) -> str:
        """Wait (station clock, bounded by the ramp time) until the supply reports the safe
        state it was sent to: ``zero``, every axis at zero (within ``tolerance`` T) and
        still; ``hold``, no axis ramping. Returns what was confirmed; raises if it was not."""
        if mode == "zero":
            for axis in self._controls:
                self._targets[axis] = 0.0
            waited = self.wait()
            field = self.field()
            off = {a: b for a, b in field.items() if abs(b) > tolerance}
            if off:
                raise RuntimeError("field not at zero: " + ", ".join(f"{a} = {b:.4g} T" for a, b in off.items()))
            return f"magnet at zero ({', '.join(f'{a} = {b:.2g} T' for a, b in field.items())}; waited {waited:.0f} s)"
        if self.ramping:
            self.hold()
            wait_until(self.clock, lambda: not self.ramping, 10 * self.poll, self.poll, "magnet hold")
        return "magnet holding (" + ", ".join(f"{a} = {b:.4g} T" for a, b in self.field().items()) + ")"

    def zero(self, wait: bool = True) -> None:
        """Ramp every axis to zero (at the present rates)."""
        for axis, control in self._controls.items():
            self._limit_rate(axis)
            control.to_zero()
            self._targets[axis] = 0.0
        if wait:
            self.wait()

    def safe(self, mode: str = "hold") -> None:
        """The station's safe state: ``hold`` the field where it is, or ramp to ``zero``."""
        if mode == "zero":
            self.zero(wait=False)
        else:
            self.hold()

    def statuses(self) -> dict[str, str]:
        """The supply's own state word per axis (HOLD, RTOS, ...; for an AMI 430 its state)."""
        return {a: c.status() for a, c in self._controls.items()}

    def identity(self) -> str:
        return "; ".join(f"{name}: {ident}" for name, ident in self._identities.items())

    def state(self) -> dict:
        return {f"field_{a}_T": c.field() for a, c in self._controls.items()} | {
            f"status_{a}": c.status() for a, c in self._controls.items()}


# --------------------------------------------------------------------------- adapters
class MercuryIPSAxis(MagnetAxisControl):
    def __init__(self, group, axis: str):
        self._g = group
        self.axis = axis

    def field(self) -> float:
        return number(self._g.field, f"field {self.axis}")

    def set_target(self, tesla: float) -> None:
        self._g.field_target = tesla

    def set_rate(self, tesla_per_second: float) -> None:
        self._g.field_ramp_rate = tesla_per_second

    def rate(self) -> float:
        return number(self._g.field_ramp_rate, f"ramp rate {self.axis}")

    def start(self) -> None:
        if self._g.ramp_status == "CLMP":
            self._g.hold()
        self._g.ramp_to_set()

    def hold(self) -> None:
        self._g.hold()

    def to_zero(self) -> None:
        self._g.ramp_to_zero()

    def ramping(self) -> bool:
        return self._g.is_ramping and abs(self._g.field - self._target()) > 1e-6

    def _target(self) -> float:
        return 0.0 if self._g.ramp_status == "RTOZ" else self._g.field_target

    def status(self) -> str:
        return self._g.ramp_status


class MercuryIPSMagnet:
    """Builds axis controls from a Mercury iPS; options ``axes: {x: GRPX, z: GRPZ}``."""

    def __init__(self, driver, ctx: RoleContext):
        self._driver = driver
        groups = {"GRPX": driver.x, "GRPY": driver.y, "GRPZ": driver.z}
        self.controls = [MercuryIPSAxis(groups[group], axis)
                         for axis, group in ctx.options.get("axes", {"z": "GRPZ"}).items()]

    def identity(self) -> str:
        return self._driver.id


class AMI430Axis(MagnetAxisControl):
    _RAMPING = {1, 6}  # ramping, zeroing current

    def __init__(self, driver, axis: str):
        self._d = driver
        self.axis = axis

    def field(self) -> float:
        return number(self._d.field, f"field {self.axis}")

    def set_target(self, tesla: float) -> None:
        self._d.target_field = tesla

    def set_rate(self, tesla_per_second: float) -> None:
        self._d.ramp_rate_field = tesla_per_second

    def rate(self) -> float:
        return number(self._d.ramp_rate_field[0], f"ramp rate {self.axis}")

    def start(self) -> None:
        self._d.ramp()

    def hold(self) -> None:
        self._d.pause()

    def to_zero(self) -> None:
        self._d.zero()

    def ramping(self) -> bool:
        return int(self._d.state) in self._RAMPING

    def status(self) -> str:
        return str(self._d.magnet_status)


class AMI430Magnet:
    """Builds the axis control of one AMI 430; options ``axis: z``."""

    def __init__(self, driver, ctx: RoleContext):
        self._driver = driver
        driver.write("CONF:FIELD:UNITS 1")  # tesla (the unit powers up in kG)
        driver.write("CONF:RAMP:RATE:UNITS 0")  # per second
        self.controls = [AMI430Axis(driver, ctx.options.get("axis", "z"))]

    def identity(self) -> str:
        return self._driver.id
