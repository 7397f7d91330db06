"""Continuous sweeps: the swept quantity keeps moving while the lock-in reads.

A lock-in's output is its input filtered by an n-pole RC low-pass of time constant
tau (n = slope / 6 dB per octave). For an input that changes linearly in time the
output is the input as it was n tau earlier, exactly (the filter's group delay at low
frequency). A reading taken while a field ramps at rate r therefore belongs to the field
of n tau before, r n tau behind the field measured at the reading: in a loop swept up
and down that is a false hysteresis of 2 r n tau.

So each continuous reading is assigned to the swept quantity at the filter's delay:
the filter's settings are read back from the instrument, and the quantity's measured
history (every poll while the sweep runs, :class:`Track`) is interpolated at the
reading's time minus n tau. The raw value measured at the reading is kept beside it.

Residual error: exact for a linear ramp. Where the signal itself jumps (a switching
field) the filtered jump is spread over a few tau; its midpoint lies at
``gammaincinv(n, 0.5) tau`` (3.67 tau for 24 dB/oct) rather than n tau, so a switching
field read at the midpoint comes out early by about ``(n - gammaincinv(n, 0.5)) tau r``
(0.33 tau r for 24 dB/oct, 0.31 tau r for 12 dB/oct), an order of magnitude below the
uncorrected lag of n tau r.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from cryo_acq.run.measure import read_resistance
from cryo_acq.station.clock import WaitTimeout


class Track:
    """The measured value of a swept quantity over station time."""

    def __init__(self, length: int = 100_000):
        self.times: deque[float] = deque(maxlen=length)
        self.values: deque[float] = deque(maxlen=length)

    def add(self, t: float, value: float) -> None:
        self.times.append(float(t))
        self.values.append(float(value))

    def at(self, t: float) -> float:
        """The value at station time ``t``: linear between measurements, the first or
        last measured value outside them (before the sweep it stood still)."""
        if not self.times:
            return float("nan")
        return float(np.interp(t, np.fromiter(self.times, float), np.fromiter(self.values, float)))


def filter_delay(lockin) -> tuple[float, int, float]:
    """(delay s, poles, time constant s) of a lock-in's output filter, read back from it."""
    tau = float(lockin.time_constant)
    poles = max(1, int(lockin.filter_slope) // 6)
    return poles * tau, poles, tau


def wait_passing(clock, read, target: float, direction: int, poll: float, timeout: float, track: Track,
                 what: str = "value") -> float:
    """Wait (station clock) until ``read()`` has reached ``target`` moving in ``direction``
    (+1 rising, -1 falling), recording every value read in ``track``; returns the value
    read then."""
    start = clock.now()
    while True:
        value = read()
        track.add(clock.now(), value)
        if (value - target) * direction >= 0:
            return value
        if clock.now() - start > timeout:
            raise WaitTimeout(f"{what} did not reach {target:g} within {timeout:g} s (at {value:g})")
        clock.sleep(poll)


def read_on_the_fly(clock, lockin, read_position, track: Track, delay: float):
    """Read the lock-in now (no settling: the sweep keeps moving). Returns (reading,
    position measured at the reading, position at the filter's delay before it)."""
    reading = lockin.measure()
    t = clock.now()
    position = read_position()
    track.add(clock.now(), position)
    return reading, position, track.at(t - delay)


class FieldSweep:
    """A continuous field sweep along one magnet axis, read on the fly by a lock-in, each
    reading assigned to the field at the lock-in's delay (the one implementation every
    field-swept procedure uses in ``mode=continuous``).

    Call :meth:`start` once the magnet sits at the sweep's first field and the lock-in is
    set up; then, for each planned point, :meth:`pass_point` (the field keeps ramping
    toward the end of its branch; returns when it has passed the point) and :meth:`read`.
    """

    def __init__(self, station, axis: str, rate: float, step: float, note=None):
        self.station, self.axis, self.rate, self.step = station, axis, float(rate), abs(float(step))
        self.note = note
        self.track = Track()
        self.delay = 0.0
        self._heading: float | None = None

    def _field(self) -> float:
        return self.station.magnet.field()[self.axis]

    def start(self, lockin) -> None:
        """Record where the field stands; read the lock-in's filter back; say so in the log."""
        clock = self.station.clock
        self.track.add(clock.now(), self._field())
        self.delay, poles, tau = filter_delay(lockin)
        self._heading = None
        if self.note is not None:
            self.note(f"continuous: each reading's {self.axis} field is the measured field {self.delay:g} s "
                      f"before it (the lock-in's delay, {poles} poles x {tau:g} s, read back); "
                      f"<column>_at_reading is the field measured at the reading", kind="correction")

    def pass_point(self, target: float, end: float, direction: int) -> float:
        """Keep the magnet ramping toward ``end`` (the end of this branch); wait until the
        measured field has passed ``target`` moving in ``direction``. At the end of a
        branch, wait for the ramp to arrive and the lock-in to catch up."""
        magnet, clock = self.station.magnet, self.station.clock
        if self._heading != end:
            magnet.start_ramp(rate=self.rate, **{self.axis: end})
            self._heading = end
        if target == end:
            magnet.wait()
            field = self._field()
            self.track.add(clock.now(), field)
            clock.sleep(self.delay)
            return field
        poll = 0.1 * self.step / self.rate
        timeout = 2.0 * abs(end - target) / self.rate + 60.0 * max(poll, 1.0)
        return wait_passing(clock, self._field, target, direction, poll, timeout, self.track,
                            what=f"field {self.axis}")

    def read(self, lockin, settle_fraction: float = 0.999) -> tuple[float, float, float]:
        """(resistance, field at the lock-in's delay before the reading, field at the
        reading). On an overload, re-range and read again."""
        reading, at_reading, field = read_on_the_fly(self.station.clock, lockin, self._field, self.track,
                                                     self.delay)
        if reading.overload:
            lockin.auto_range(settle_fraction=settle_fraction)
            reading, at_reading, field = read_on_the_fly(self.station.clock, lockin, self._field, self.track,
                                                         self.delay)
        return lockin.resistance(reading), field, at_reading


def field_point(station, measurement, settings, point, rate: float, sweep: FieldSweep | None = None,
                end: float | None = None, axis: str = "x") -> tuple[float, float, float]:
    """One point of a field-swept procedure: (resistance, field the reading belongs to,
    field measured at the reading). Stepped (``sweep`` None): ramp to the point, settle,
    read. Continuous: pass the point on the way to ``end`` and read on the fly."""
    target = point.setpoints["field"]
    if sweep is not None:
        sweep.pass_point(target, end, point.direction)
        return sweep.read(measurement.lockin, settings.settle_fraction)
    station.magnet.ramp_to(rate=rate, **{axis: target})
    resistance = read_resistance(measurement, settings)
    field = station.magnet.field()[axis]
    return resistance, field, field
