"""Continuous sweeps: the swept quantity keeps moving while the lock-in reads.

A lock-in's output is its input filtered by an n-pole RC low-pass of time constant
tau (n = slope / 6 dB per octave). For an input that changes linearly in time the
output is the input as it was n tau earlier, exactly (the filter's group delay at low
frequency). A reading taken while a field ramps at rate r therefore belongs to the field
of n tau before, r n tau behind the field measured at the reading: in a loop swept up
and down that is a false hysteresis of 2 r n tau.

So each continuous reading belongs to the swept quantity at the filter's delay: the
filter's settings are read back from the instrument, the quantity's measured history
(every poll while the sweep runs, :class:`Track`) is kept, and the reading for a planned
value is taken n tau after the measured quantity passed it (at the end of a branch, n tau
after arrival), so the readings cover the whole branch, each assigned to the measured
value n tau before it. The raw value measured at the reading is kept beside it.

Residual error: exact for a linear ramp. Where the signal itself jumps (a switching
field) the filtered jump is spread over a few tau; its midpoint lies at
``gammaincinv(n, 0.5) tau`` (3.67 tau for 24 dB/oct) rather than n tau, so a switching
field read at the midpoint comes out early by about ``(n - gammaincinv(n, 0.5)) tau r``
(0.33 tau r for 24 dB/oct, 0.31 tau r for 12 dB/oct), an order of magnitude below the
uncorrected lag of n tau r. :mod:`cryo_acq.analysis.deconvolution` removes that too.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import NamedTuple

from scipy.special import gammaincinv

from cryo_acq.run.measure import read_resistance
from cryo_acq.station.clock import WaitTimeout


class Track:
    """The measured value of a swept quantity over station time (the last ``length``
    measurements). Lookups bisect; :meth:`passed` resumes where its last search of the
    same branch stopped, so polling a long sweep costs the same at its end as at its start."""

    def __init__(self, length: int = 100_000):
        self.times: list[float] = []
        self.values: list[float] = []
        self._length = length
        self._cursor: tuple[float, int, float, int] | None = None  # since, direction, target, index

    def add(self, t: float, value: float) -> None:
        self.times.append(float(t))
        self.values.append(float(value))
        if len(self.times) > self._length + self._length // 4:  # forget the oldest, a block at a time
            drop = len(self.times) - self._length
            del self.times[:drop], self.values[:drop]
            if self._cursor is not None:
                since, direction, target, index = self._cursor
                self._cursor = (since, direction, target, index - drop) if index >= drop else None

    def at(self, t: float) -> float:
        """The value at station time ``t``: linear between measurements, the first or
        last measured value outside them (before the sweep it stood still)."""
        times, values = self.times, self.values
        if not times:
            return float("nan")
        i = bisect.bisect_right(times, t)
        if i == 0:
            return values[0]
        if i == len(times) or times[i] == times[i - 1]:
            return values[i - 1]
        f = (t - times[i - 1]) / (times[i] - times[i - 1])
        return values[i - 1] + f * (values[i] - values[i - 1])

    def passed(self, target: float, direction: int, since: float, tolerance: float = 0.0) -> float | None:
        """The station time (interpolated between measurements) at which the value first
        reached ``target`` moving in ``direction`` after time ``since``; None if it has not."""
        times, values = self.times, self.values
        first = start = bisect.bisect_left(times, since)
        cursor = self._cursor
        if cursor is not None and cursor[:2] == (since, direction) and (target - cursor[2]) * direction >= 0:
            start = max(first, cursor[3])  # a target further on is not reached before the last one was
        for k in range(start, len(times)):
            if (values[k] - target) * direction >= -tolerance:
                self._cursor = (since, direction, target, k)
                if k == first or values[k] == values[k - 1]:
                    return times[k]
                f = min(max((target - values[k - 1]) / (values[k] - values[k - 1]), 0.0), 1.0)
                return times[k - 1] + f * (times[k] - times[k - 1])
        self._cursor = (since, direction, target, len(times))
        return None


def filter_delay(lockin) -> tuple[float, int, float]:
    """(delay s, poles, time constant s) of a lock-in's output filter, read back from it."""
    tau = float(lockin.time_constant)
    poles = max(1, int(lockin.filter_slope) // 6)
    return poles * tau, poles, tau


#: the columns that say how each reading was filtered (what deconvolution needs)
FILTER_COLUMNS = {"lockin_tau": "s", "lockin_poles": ""}


def filter_columns(lockin) -> dict[str, float]:
    """The lock-in's filter as read back, as the :data:`FILTER_COLUMNS` of a row."""
    _, poles, tau = filter_delay(lockin)
    return {"lockin_tau": tau, "lockin_poles": poles}


class Reading(NamedTuple):
    """One reading of a swept procedure."""

    resistance: float  #: ohm
    value: float  #: the swept quantity the reading belongs to (at the lock-in's delay)
    at_reading: float  #: the swept quantity measured at the reading
    time: float  #: station time of the reading (s)


# --------------------------------------------------------------------------- how fast is too fast
def jump_error(rate: float, tau: float, poles: int) -> float:
    """How far (in the swept unit) a jump in the signal lands from where it happened once
    each reading is assigned at the filter's delay: the filtered jump's midpoint comes
    ``gammaincinv(n, 0.5) tau`` after it, the delay is ``n tau``."""
    return (poles - float(gammaincinv(poles, 0.5))) * tau * abs(rate)


def smear(rate: float, tau: float, poles: int) -> float:
    """The rms width (swept unit) over which the filter spreads what it reads while sweeping:
    sqrt(n) tau x rate. Features narrower than this are blurred, not shifted."""
    return math.sqrt(poles) * tau * abs(rate)


@dataclass(frozen=True)
class RateAdvice:
    """What a continuous sweep's rate costs in accuracy, after the delay correction."""

    rate: float  #: unit/s asked for
    unit: str
    step: float  #: the plan's step
    tau: float  #: s
    poles: int
    error: float  #: a jump's offset after the correction (unit), :func:`jump_error`
    blur: float  #: :func:`smear` (unit)
    largest: float  #: the largest rate whose error stays within ``fraction`` of a step (unit/s)
    fraction: float

    @property
    def too_fast(self) -> bool:
        """The error exceeds a whole step."""
        return self.error > self.step

    def describe(self) -> str:
        return (f"at {self.rate:g} {self.unit}/s with tau {self.tau:g} s ({self.poles} poles) a jump in the signal "
                f"lands {self.error:.3g} {self.unit} before where it happened, along the sweep, after the delay "
                f"correction ({self.error / self.step:.2g} "
                f"of a {self.step:g} {self.unit} step; features narrower than {self.blur:.3g} {self.unit} are "
                f"blurred); the largest rate within {self.fraction:g} of a step is {self.largest:.3g} {self.unit}/s")


def advise_rate(rate: float, step: float, tau: float, poles: int, unit: str, fraction: float = 0.25) -> RateAdvice:
    """The accuracy a continuous sweep at ``rate`` keeps, and the largest rate whose
    corrected error stays within ``fraction`` of a ``step``."""
    per_rate = jump_error(1.0, tau, poles)
    return RateAdvice(rate=abs(rate), unit=unit, step=abs(step), tau=tau, poles=poles,
                      error=jump_error(rate, tau, poles), blur=smear(rate, tau, poles),
                      largest=fraction * abs(step) / per_rate if per_rate > 0 else math.inf, fraction=fraction)


# --------------------------------------------------------------------------- what moves
class MagnetAxis:
    """A magnet axis as the moving part of a continuous sweep."""

    unit, what = "T", "field"
    patience = 60.0  #: s beyond the ramp time before a point not reached is an error
    lag = 0.0  #: s the position's reading runs behind the sample

    def __init__(self, station, axis: str, rate: float):
        self.magnet, self.axis, self.rate = station.magnet, axis, float(rate)
        self.name = f"{axis} field"

    def position(self) -> float:
        return self.magnet.field_on(self.axis)

    def head_to(self, end: float) -> None:
        self.magnet.start_ramp(rate=self.rate, **{self.axis: end})

    def arrive(self) -> None:
        """Wait until the supply holds at the end of the ramp."""
        self.magnet.wait()


class TemperatureRamp:
    """The temperature controller's set-point ramp as the moving part of a continuous
    sweep; the position is the measured temperature, which approaches the end of the ramp
    exponentially (so the end counts as reached within the sweep's tolerance)."""

    unit, what, name = "K", "temperature", "temperature"
    patience = 3600.0  #: s beyond the ramp time: the stage lags the set-point, then relaxes onto its end

    def __init__(self, station, rate: float):
        self.controller, self.rate = station.temperature, float(rate)
        #: s the thermometer reads behind the sample (the station's ``thermometer_lag``)
        self.lag = float(getattr(self.controller, "thermometer_lag", 0.0))

    def position(self) -> float:
        return self.controller.temperature()

    def head_to(self, end: float) -> None:
        self.controller.start_ramp(end, self.rate)

    arrive = None  #: the end is passed like any other point, within the tolerance


class SourceRamp:
    """A current source's bias as the moving part of a continuous sweep: the source has no
    ramp of its own here, so at each of the sweep's polls (every ``resolution / rate`` s)
    the bias is set to the ramp's value half a poll later and held: the staircase stays
    centred on the linear ramp at ``rate`` (A/s), which is what the position reports."""

    unit, what, name = "A", "bias current", "bias current"
    patience = 60.0
    arrive = None
    lag = 0.0

    def __init__(self, station, source, rate: float, resolution: float):
        self.clock, self.source, self.rate = station.clock, source, float(rate)
        self.resolution = abs(float(resolution))
        self.reset()

    def reset(self) -> None:
        """Start again from the bias the source holds now (a new line)."""
        self._value = float(self.source.current)
        self._start, self._end, self._t0 = self._value, self._value, None

    def _ramp(self, t: float) -> float:
        span = self._end - self._start
        moved = min(self.rate * max(t - self._t0, 0.0), abs(span))
        return self._start + math.copysign(moved, span)

    def head_to(self, end: float) -> None:
        self._start, self._end, self._t0 = self._value, float(end), self.clock.now()

    @property
    def applied(self) -> float:
        """The bias the source holds now (A)."""
        return self._value

    def position(self) -> float:
        if self._t0 is None:
            return self._value
        now = self.clock.now()
        ahead = self._ramp(now + 0.5 * self.resolution / self.rate)  # the middle of the coming hold
        if abs(ahead - self._value) >= 0.5 * self.resolution or (ahead == self._end != self._value):
            self.source.set_current(ahead)
            self._value = ahead
        return self._ramp(now)


# --------------------------------------------------------------------------- the sweep
class ContinuousSweep:
    """A continuous sweep of one quantity, read on the fly by a lock-in, each reading
    assigned to the measured quantity at the lock-in's delay before it (the one
    implementation every swept procedure uses in ``mode=continuous``).

    Call :meth:`start` once the quantity sits at the sweep's first value and the lock-in
    is set up; then, for each planned point, :meth:`pass_point` (the quantity keeps moving
    toward the end of its branch; returns one filter delay after it passed the point) and
    :meth:`read`.
    """

    def __init__(self, station, mover, step: float, note=None, tolerance: float = 0.0):
        self.station, self.mover, self.rate = station, mover, mover.rate
        self.step, self.tolerance, self.note = abs(float(step)), float(tolerance), note
        self.track = Track()
        self.delay = 0.0
        self._heading: float | None = None
        self._since = 0.0

    @property
    def poll(self) -> float:
        """Station seconds between position polls: a tenth of a step's time."""
        return 0.1 * self.step / self.rate

    def _follow(self) -> float:
        value = self.mover.position()
        self.track.add(self.station.clock.now(), value)
        return value

    def start(self, lockin) -> None:
        """Record where the quantity stands; read the lock-in's filter back; say so in the log."""
        self._follow()
        self.delay, poles, tau = filter_delay(lockin)
        self._heading = None
        if self.note is not None:
            lag = self.mover.lag
            self.note(f"continuous: each reading's {self.mover.name} is the one measured {self.delay - lag:g} s "
                      f"before it (the lock-in's delay, {poles} poles x {tau:g} s, read back"
                      + (f", less the thermometer's lag behind the sample, {lag:g} s" if lag else "")
                      + f"); <column>_at_reading is the {self.mover.what} measured at the reading", kind="correction")
            self.note(advise_rate(self.rate, self.step, tau, poles, self.mover.unit).describe(), kind="rate")

    def pass_point(self, target: float, end: float, direction: int) -> float:
        """Keep moving toward ``end`` (the end of this branch) until the measured quantity
        has passed ``target`` in ``direction``, then follow it for the lock-in's delay.
        Returns the station time at which it passed."""
        clock = self.station.clock
        if self._heading != end:  # a new branch starts where the quantity was last measured
            self._since = self.track.times[-1] if self.track.times else clock.now()
            self.mover.head_to(end)
            self._heading = end
        if direction not in (1, -1):
            raise ValueError(f"a continuous sweep moves up (+1) or down (-1), not {direction!r}")
        here = self.track.values[-1] if self.track.values else target
        timeout = 2.0 * abs(target - here) / self.rate + self.mover.patience + 60.0 * self.poll
        start = clock.now()
        near = target - direction * 0.5 * self.step if target == end and self.mover.arrive else target
        while (passed := self.track.passed(near, direction, self._since, self.tolerance)) is None:
            if clock.now() - start > timeout:
                raise WaitTimeout(f"{self.mover.name} did not reach {target:g} {self.mover.unit} within "
                                  f"{timeout:g} s (at {self.track.values[-1]:g})")
            clock.sleep(self.poll)
            self._follow()
        if near != target:  # the end of a branch: the supply holds there
            self.mover.arrive()
            self._follow()
            passed = self.track.passed(target, direction, self._since, self.tolerance) or clock.now()
        while (left := passed + self.delay - self.mover.lag - clock.now()) > 0:
            clock.sleep(min(self.poll, left))
            self._follow()
        return passed

    def read(self, lockin, settle_fraction: float = 0.999) -> Reading:
        """The lock-in read now, with the quantity at the lock-in's delay before the reading
        and the quantity measured at the reading. On an overload, re-range and read again."""
        clock = self.station.clock
        reading = lockin.measure()
        t = clock.now()
        if reading.overload:  # re-range and read again: later, so at another value, as assigned
            lockin.auto_range(settle_fraction=settle_fraction)
            reading = lockin.measure()
            t = clock.now()
            if self.note is not None:
                self.note(f"lock-in overloaded: re-ranged to {lockin.sensitivity:g} V and read again, the reading "
                          f"assigned to {self.mover.name} {self.track.at(t - self.delay):.6g} {self.mover.unit}")
        at_reading = self._follow()
        belongs = t - self.delay + self.mover.lag  # the position read then is the sample's at t - delay
        while (left := belongs - clock.now()) > 0:
            clock.sleep(min(self.poll, left))
            self._follow()
        return Reading(lockin.resistance(reading), self.track.at(belongs), at_reading, t)


def FieldSweep(station, axis: str, rate: float, step: float, note=None) -> ContinuousSweep:
    """A continuous sweep of one magnet axis at ``rate`` T/s."""
    return ContinuousSweep(station, MagnetAxis(station, axis, rate), step, note)


def field_point(station, measurement, settings, point, rate: float, sweep: ContinuousSweep | None = None,
                end: float | None = None, axis: str = "x", name: str = "field",
                direction: int | None = None) -> Reading:
    """One point of a field-swept procedure (plan axis ``name`` on magnet ``axis``).
    Stepped (``sweep`` None): ramp to the point, settle, read. Continuous: pass the point
    on the way to ``end``, moving in ``direction`` (default: the point's), and read on the fly."""
    target = point.setpoints[name]
    if sweep is not None:
        sweep.pass_point(target, end, direction or point.direction)
        return sweep.read(measurement.lockin, settings.settle_fraction)
    if station.magnet.targets.get(axis) != target or station.magnet.ramping:
        station.magnet.ramp_to(rate=rate, **{axis: target})
    resistance = read_resistance(measurement, settings)
    t = station.clock.now()
    field = station.magnet.field_on(axis)
    return Reading(resistance, field, field, t)
