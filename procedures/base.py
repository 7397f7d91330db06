"""What every cryo_acq procedure shares.

A procedure is a pymeasure ``Procedure`` (typed parameters with units, defaults
and limits; the GUI builds its inputs from them) written against station roles.
It says four things, and the :class:`~cryo_acq.runner.Runner` does the rest:

* :meth:`plan`: the sweep, from the parameters alone (no instrument);
* :meth:`check`: every set-point of the plan against the station's limits,
  sending nothing;
* :meth:`prepare`: get into position (temperature, bias, magnetic state);
* :meth:`measure`: one point of the plan -> one row of canonical columns.
"""

from __future__ import annotations

import math

from pymeasure.experiment import FloatParameter, Parameter, Procedure

from cryo_acq.measure import LockInSettings
from cryo_acq.sweeps import PlanError


class ProcedureError(PlanError):
    """Parameters that cannot run on this station (refused before anything moves)."""


class CryoProcedure(Procedure):
    NAME = ""  #: the command-line name (``cryo-acq run NAME``)
    #: canonical data columns -> SI unit ("" for a dimensionless column); ``time`` (s) is added
    COLUMNS: dict[str, str] = {}
    #: the sample configuration measured
    CONFIGURATION = "four_probe"

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

    def check(self, station, plan) -> None:
        """Refuse, with a clear message and nothing sent, what the station cannot do."""
        self.check_finite()

    def prepare(self, station) -> None:
        raise NotImplementedError

    def measure(self, station, point) -> dict:
        raise NotImplementedError

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
