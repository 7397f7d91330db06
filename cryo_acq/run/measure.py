"""Measurement building blocks on station roles: go to a temperature, prepare a
magnetic state, read a differential resistance, sweep a field.

They block (every wait through the station clock) and return numpy arrays in SI
units. Procedures, scripts, the sample-model figures and tests share them, so a
measurement is written once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cryo_acq.station.station import Measurement, Station


@dataclass(frozen=True)
class LockInSettings:
    """How to read a differential resistance with the lock-in."""

    excitation_current: float = 10e-9  #: A rms
    time_constant: float = 0.3  #: s
    filter_slope: int = 24  #: dB/oct
    settle_fraction: float = 0.999  #: wait for this fraction of a step before reading
    sensitivity: float | None = None  #: V; None: auto-range once at the start


def go_to_temperature(station: Station, kelvin: float, tolerance: float | None = None,
                      window: float = 60.0) -> float:
    """Set the temperature and wait until it is stable; returns the reading (K)."""
    tc = station.temperature
    tc.set_temperature(kelvin)
    tc.wait_stable(tolerance=tolerance if tolerance is not None else max(0.002 * kelvin, 1e-3), window=window)
    return tc.temperature()


def setup_lockin(m: Measurement, settings: LockInSettings) -> None:
    li = m.lockin
    li.time_constant = settings.time_constant
    li.filter_slope = settings.filter_slope
    li.set_excitation_current(settings.excitation_current)
    if settings.sensitivity is not None:
        li.sensitivity = settings.sensitivity
    else:
        li.settle(settings.settle_fraction)
        li.auto_range()
    li.settle(settings.settle_fraction)


def read_resistance(m: Measurement, settings: LockInSettings, autorange: bool = True) -> float:
    """Settle, read dV/dI (ohm); re-range and re-read if the reading overloaded."""
    li = m.lockin
    li.settle(settings.settle_fraction)
    reading = li.measure()
    if reading.overload and autorange:
        li.auto_range()
        li.settle(settings.settle_fraction)
        reading = li.measure()
    return li.resistance(reading)


def set_bias(m: Measurement, current: float) -> None:
    """DC current through the configuration (A), switching the SMU on if needed."""
    if m.source is None:
        raise ValueError(f"{m.configuration}: no current source wired")
    if not m.source.output_enabled:
        m.source.enable()
    m.source.set_current(current)


def field_sweep(station: Station, m: Measurement, axis: str, fields, settings: LockInSettings,
                rate: float | None = None) -> np.ndarray:
    """Step the field along ``axis`` through ``fields`` (T), reading dV/dI at each step."""
    out = []
    for b in fields:
        station.magnet.ramp_to(rate=rate, **{axis: float(b)})
        out.append(read_resistance(m, settings))
    return np.array(out)


def loop_fields(amplitude: float, step: float) -> tuple[np.ndarray, np.ndarray]:
    """An up sweep -amplitude..+amplitude and the down sweep back (T)."""
    n = int(round(2 * amplitude / step)) + 1
    up = np.linspace(-amplitude, amplitude, n)
    return up, up[::-1].copy()


def hysteresis_loop(station: Station, m: Measurement, axis: str, amplitude: float, step: float,
                    settings: LockInSettings) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Saturate along -``axis``, sweep up to +amplitude and back down, reading dV/dI at each
    step: (up fields, up dV/dI, down fields, down dV/dI), in T and ohm."""
    station.magnet.ramp_to(**{axis: -amplitude})
    up, down = loop_fields(amplitude, step)
    return up, field_sweep(station, m, axis, up, settings), down, field_sweep(station, m, axis, down, settings)
