"""What every cryo_acq procedure shares.

A procedure is a pymeasure ``Procedure`` (typed parameters with units, defaults
and limits; the GUI builds its inputs from them) written against station roles.
It says four things, and the :class:`~cryo_acq.run.runner.Runner` does the rest:

* :meth:`plan`: the sweep, from the parameters alone (no instrument);
* :meth:`check`: every set-point of the plan against the station's limits,
  sending nothing;
* :meth:`prepare`: get into position (temperature, bias, magnetic state);
* :meth:`measure`: one point of the plan -> one row of canonical columns.
"""

from __future__ import annotations

import math

import numpy as np
from pymeasure.experiment import (BooleanParameter, FloatParameter, IntegerParameter, ListParameter, Parameter,
                                  Procedure)

from cryo_acq.run.measure import LockInSettings
from cryo_acq.run.sweeps import PlanError


class ProcedureError(PlanError):
    """Parameters that cannot run on this station (refused before anything moves)."""


class CryoProcedure(Procedure):
    NAME = ""  #: the command-line name (``cryo-acq run NAME``)
    #: canonical data columns -> SI unit ("" for a dimensionless column); ``time`` (s) is added
    COLUMNS: dict[str, str] = {}
    #: the sample configuration measured
    CONFIGURATION = "four_probe"
    #: the measured column (what a run file's NXdata plots); None: the last column
    SIGNAL: str | None = None

    # --- lock-in settings every AC measurement shares
    excitation = FloatParameter("Excitation current", units="A", minimum=1e-12, maximum=1e-3, default=10e-9)
    time_constant = FloatParameter("Time constant", units="s", minimum=1e-5, maximum=3e4, default=0.3)
    settle_fraction = FloatParameter("Settle to fraction of a step", units="", minimum=0.5, maximum=0.999999,
                                     default=0.999)
    # --- used by the GUI, which builds the station itself
    station_name = Parameter("Station", default="vti-a01")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.COLUMNS:
            cls.DATA_COLUMNS = list(cls.COLUMNS) + ["time"]

    #: what the procedure's ``mode=continuous`` keeps moving while it reads ("field" or
    #: "temperature"); None: it has no continuous mode
    CONTINUOUS: str | None = None
    #: why a procedure without a continuous mode has none (said when ``mode`` is asked for)
    STEPPED_ONLY: str | None = None
    #: the parameters holding the continuous sweep's rate and its step
    CONTINUOUS_RATE = "rate"
    CONTINUOUS_STEP = "field_step"

    @property
    def continuous(self) -> bool:
        """The run sweeps continuously (``mode=continuous``)."""
        return self.CONTINUOUS is not None and getattr(self, "mode", "stepped") == "continuous"

    # guards: the temperature sits at the controller's set-point between points, the field
    # holds between points; except for what a continuous sweep moves on purpose
    @property
    def guard_temperature(self) -> bool:
        return not (self.continuous and self.CONTINUOUS == "temperature")

    @property
    def guard_magnet_holding(self) -> bool:
        return not (self.continuous and self.CONTINUOUS == "field")

    def sweep_mode(self) -> dict:
        """The plan's keywords for the sweep mode: none when stepped; when continuous, the
        mode and the rate (the parameter :attr:`CONTINUOUS_RATE`), which must be positive;
        when adaptive, the sampler following :attr:`SIGNAL` with the budgets ``adaptive_points``
        and ``adaptive_seconds``."""
        if getattr(self, "mode", "stepped") == "adaptive":
            from cryo_acq.run.adaptive import AdaptiveSampler

            budget = int(getattr(self, "adaptive_points", 0) or 0)
            if budget and budget < 3:
                raise ProcedureError(f"{self.NAME}: adaptive_points must be 0 (a third of the line) or at least 3, "
                                     f"got {budget}")
            seconds = float(getattr(self, "adaptive_seconds", 0.0) or 0.0)
            if not (math.isfinite(seconds) and seconds >= 0):
                raise ProcedureError(f"{self.NAME}: adaptive_seconds must be 0 (no limit) or a time > 0 s, "
                                     f"got {seconds!r}")
            return {"adaptive": AdaptiveSampler(self.SIGNAL, budget or None, seconds or None)}
        if not self.continuous:
            return {}
        value = getattr(self, self.CONTINUOUS_RATE)
        if value is None or not (math.isfinite(value) and value > 0):
            raise ProcedureError(f"{self.NAME}: a continuous sweep needs a positive {self.CONTINUOUS_RATE}, "
                                 f"got {value!r}")
        return {"mode": "continuous", "rate": value}

    def rate_advice(self):
        """How accurate the continuous sweep's rate leaves it (:func:`~cryo_acq.run.continuous.advise_rate`),
        from the lock-in settings asked for; None when the run is stepped."""
        if not self.continuous:
            return None
        from cryo_acq.run.continuous import advise_rate

        settings = self.lockin_settings()
        unit = {"temperature": "K", "bias": "A"}.get(self.CONTINUOUS, "T")
        return advise_rate(getattr(self, self.CONTINUOUS_RATE), getattr(self, self.CONTINUOUS_STEP),
                           settings.time_constant, max(1, settings.filter_slope // 6), unit)

    def check_sweep_rate(self) -> None:
        """Refuse a continuous rate whose corrected error exceeds a step, unless
        ``accept_rate_error`` says otherwise."""
        advice = self.rate_advice()
        if advice is not None and advice.too_fast and not self.accept_rate_error:
            raise ProcedureError(f"{self.NAME}: {self.CONTINUOUS_RATE} too fast: {advice.describe()}; slow down, "
                                 "shorten the time constant, or set accept_rate_error=true")

    # --- what the runner needs
    def units(self) -> dict[str, str]:
        return {**self.COLUMNS, "time": "s"}

    def parameter_record(self) -> dict:
        """Parameter values with their units, for the run file."""
        record = {}
        for name, parameter in self._parameters.items():
            record[name] = {"value": getattr(self, name), "units": getattr(parameter, "units", None) or ""}
        return record

    def lockin_settings(self) -> LockInSettings:
        return LockInSettings(excitation_current=self.excitation, time_constant=self.time_constant,
                              settle_fraction=self.settle_fraction)

    def plan(self):
        raise NotImplementedError

    #: plan axes in T -> the magnet axis they drive (a name not listed: x); None: the
    #: procedure checks that axis itself (as field vectors, for example)
    FIELD_AXES: dict[str, str | None] = {"field": "x", "field_perp": "z"}

    def check(self, station, plan) -> None:
        """Refuse, with a clear message and nothing sent, what the station cannot do.

        By default: every number parameter finite, the configuration wired, and every
        value of every plan axis within the station's limits (:meth:`check_plan_axes`).
        A procedure adds only what is special to it."""
        self.check_finite()
        self.check_wiring(station)
        self.check_plan_axes(station, plan)
        self.check_sweep_rate()

    def check_plan_axes(self, station, plan) -> None:
        """Each plan axis by its unit: temperatures (K) within the station's range, fields
        (T) on their magnet axis (:attr:`FIELD_AXES`) within its limits, currents (A)
        through the configuration, the AC excitation's peak on top, within its limit."""
        safety = station.safety
        for axis in plan.axes:
            values = [float(v) for v in np.asarray(axis.values, dtype=float).ravel()]
            if axis.unit == "K":
                for kelvin in values:
                    safety.check_temperature(kelvin)
            elif axis.unit == "T":
                magnet_axis = self.FIELD_AXES.get(axis.name, "x")
                if magnet_axis is None:
                    continue
                self.check_axis(station, magnet_axis)
                for tesla in values:
                    safety.check_field({magnet_axis: tesla}, station.magnet.targets)
            elif axis.unit == "A":
                ac_rms = self.ac_during_run(station)
                for amperes in values:
                    safety.check_current(self.CONFIGURATION, dc=amperes, ac_rms=ac_rms)

    def ac_during_run(self, station) -> float:
        """The lock-in's AC current (A rms) flowing through the sample while a point is
        measured: the excitation, or (a DC measurement) the least the lock-in can leave."""
        if self.excitation is not None:
            return self.excitation
        return minimum_excitation(station, self.CONFIGURATION)

    def prepare(self, station) -> None:
        raise NotImplementedError

    def measure(self, station, point) -> dict:
        raise NotImplementedError

    def prepare_from(self, station, point) -> None:
        """Get into position to measure ``point`` first: the start of a run, or where an
        interrupted one resumes. By default the same as :meth:`prepare`; a procedure
        whose state depends on the path taken (a hysteresis loop) says how to get there."""
        self.prepare(station)

    def finish(self, station) -> None:
        """After the last point of a complete run, before the safe state (e.g. field back
        to zero). Nothing by default."""

    def note(self, message: str, kind: str = "note") -> None:
        """Write a line into the run file's log (the runner connects this)."""

    # --- helpers for subclasses
    def check_finite(self) -> None:
        for name, parameter in self._parameters.items():
            value = getattr(self, name)
            if isinstance(parameter, FloatParameter) and (value is None or not math.isfinite(value)):
                raise ProcedureError(f"{self.NAME}: parameter {name} is {value!r}, a finite number is needed")

    def check_axis(self, station, axis: str) -> None:
        if station.magnet is None or axis not in station.magnet.axes:
            have = station.magnet.axes if station.magnet is not None else ()
            raise ProcedureError(f"{self.NAME}: station {station.config.name!r} has no magnet axis {axis!r} "
                                 f"(axes: {', '.join(have) or 'none'})")

    def check_wiring(self, station, configuration: str | None = None) -> None:
        configuration = configuration or self.CONFIGURATION
        if configuration not in station.config.wiring.configurations:
            raise ProcedureError(f"{self.NAME}: station {station.config.name!r} has no wiring for "
                                 f"{configuration!r}")


# --------------------------------------------------------------------------- helpers procedures share
def sweep_mode_parameter(continuous: bool = True, adaptive: bool = False) -> ListParameter:
    """The ``mode`` parameter: stepped, and continuous (see ``CONTINUOUS``) and/or adaptive
    (stepped points where the signal changes, :mod:`cryo_acq.run.adaptive`)."""
    choices = ["stepped"] + (["continuous"] if continuous else []) + (["adaptive"] if adaptive else [])
    return ListParameter("Sweep mode", choices=choices, default="stepped")


def adaptive_points_parameter() -> IntegerParameter:
    """The budget of an adaptive plan, points per line."""
    return IntegerParameter("Adaptive budget, points per line (0 for a third of the line)", minimum=0, maximum=10_000_000,
                            default=0)


def adaptive_seconds_parameter() -> FloatParameter:
    """The fridge-time budget of an adaptive plan, station seconds per line."""
    return FloatParameter("Adaptive budget, fridge time per line (0 for no limit)", units="s", minimum=0.0,
                          maximum=1e7, default=0.0)


def accept_rate_error_parameter() -> BooleanParameter:
    """Run a continuous sweep whose corrected error exceeds a step all the same."""
    return BooleanParameter("Accept a continuous rate whose error exceeds a step", default=False)


class ValuesParameter(Parameter):
    """A list of numbers typed as text, ``"6.2, 6.3, 6.4"``, with a unit.

    The text is kept as typed (so the run file records it); :func:`parse_values`
    turns it into numbers and says clearly what is wrong with it."""

    def __init__(self, name, units=None, **kwargs):
        self.units = units
        super().__init__(name, **kwargs)

    def convert(self, value):
        if isinstance(value, (list, tuple, np.ndarray)):
            return ", ".join(f"{float(v):g}" for v in value)
        return str(value).strip()


def parse_values(procedure, name: str) -> np.ndarray:
    """The numbers of the comma-separated parameter ``name``; every one finite."""
    text = getattr(procedure, name)
    items = [item.strip() for item in str(text).split(",")]
    if not any(items):
        raise ProcedureError(f"{procedure.NAME}: parameter {name} is empty; give numbers separated by commas")
    values = []
    for item in items:
        try:
            value = float(item)
        except ValueError:
            raise ProcedureError(f"{procedure.NAME}: parameter {name}: {item!r} is not a number "
                                 f"(in {text!r})") from None
        if not math.isfinite(value):
            raise ProcedureError(f"{procedure.NAME}: parameter {name}: {item!r} is not a finite number")
        values.append(value)
    return np.array(values)


def check_excitation(procedure, station, configuration: str, dc: float | None = None,
                     ac_rms: float | None = None) -> None:
    """The lock-in AC current (``procedure.excitation`` unless given) must be one the lock-in
    can make through its series resistor, and DC + AC peak within the configuration's
    max_current (``dc`` None: the DC presently applied). Sends nothing."""
    ac_rms = procedure.excitation if ac_rms is None else ac_rms
    lockin = station.lockin(station.config.wiring.configurations[configuration].lockin)
    resistor = lockin.series_resistor
    if not resistor:
        raise ProcedureError(f"{procedure.NAME}: lock-in {lockin.name} has no series_resistor in the station "
                             "wiring; cannot set an excitation current")
    volts = ac_rms * resistor
    if not lockin.min_excitation * (1 - 1e-9) <= volts <= lockin.max_excitation * (1 + 1e-9):
        raise ProcedureError(
            f"{procedure.NAME}: excitation {ac_rms:g} A rms needs {volts:g} V rms from {lockin.name} through "
            f"{resistor:g} ohm, outside its range {lockin.min_excitation:g} .. {lockin.max_excitation:g} V rms "
            f"(i.e. {lockin.min_excitation / resistor:g} .. {lockin.max_excitation / resistor:g} A rms)")
    station.safety.check_current(configuration, dc=dc, ac_rms=ac_rms)


def minimum_excitation(station, configuration: str) -> float:
    """The smallest AC current (A rms) the configuration's lock-in can leave flowing."""
    lockin = station.lockin(station.config.wiring.configurations[configuration].lockin)
    return lockin.min_excitation / lockin.series_resistor if lockin.series_resistor else 0.0


def check_source(procedure, station, configuration: str) -> None:
    """A current source must be wired to ``configuration``; its compliance (the station's
    smu_compliance and the configuration's max_voltage, the tighter) must be allowed."""
    if not station.config.wiring.configurations[configuration].source:
        raise ProcedureError(f"{procedure.NAME}: station {station.config.name!r} has no current source wired "
                             f"to {configuration!r}")
    safety = station.safety
    safety.check_compliance(min(safety.limits.smu_compliance, safety.max_voltage(configuration)), [configuration])


def measured_field(station, axis: str = "x") -> float:
    """The field on ``axis`` (T) as the magnet reads it; 0 on a station without that axis."""
    if station.magnet is None or axis not in station.magnet.axes:
        return 0.0
    return station.magnet.field_on(axis)


