"""nl-switch: non-local spin-valve switching in an in-plane field sweep (paper, Fig. 4c).

A DC injection current from the SMU drives spins from the Co-NbSe2 injector into the
NbSe2 channel; the lock-in reads the non-local resistance R_NL = dV_NL/dI at the
detector. Both electrodes are first saturated at ``preparation_field`` (default
-40 mT along the easy axis x), then the field sweeps ``field_start`` -> ``field_stop``
(default 0 -> +40 mT): R_NL switches between two levels when the detector (then the
injector) reverses. ``loop`` adds the sweep back. Stepped: ramp, settle, read at each
field. Continuous: the magnet ramps at ``rate`` and the lock-in is read one filter
delay after the measured field passed each planned field (``cryo_acq/run/continuous.py``).
Columns: field (T, measured; continuous: at the lock-in's delay before the reading),
direction (+1 up, -1 down), r_nonlocal (ohm), field_at_reading (T), lockin_tau (s) and
lockin_poles (the filter as read back, for deconvolution); time is the reading's.
"""

from __future__ import annotations


import numpy as np
from pymeasure.experiment import BooleanParameter, FloatParameter, Parameter

from cryo_acq.run.continuous import FILTER_COLUMNS, FieldSweep, field_point, filter_columns
from cryo_acq.run.measure import go_to_temperature, set_bias, setup_lockin
from cryo_acq.run.sweeps import Axis, Plan, PlanError, span

from .base import CryoProcedure, ProcedureError, accept_rate_error_parameter, check_excitation, sweep_mode_parameter


class NonLocalProcedure(CryoProcedure):
    """What nl-switch, nl-map and hanle share: the lateral spin valve (injector -> channel
    -> detector, configuration ``nonlocal``).

    Parameters (temperature, channel by name or length, lock-in excitation) and checks:
    the channel exists, the lock-in can output the excitation through its series
    resistor, every DC current plus the AC peak is within ``max_current``, every field
    vector of the plan is within the per-axis and norm limits. Preparation: the wiring and
    channel, the other magnet axes to zero, the electrodes saturated (and the detector
    reversed, for antiparallel).
    """

    CONFIGURATION = "nonlocal"

    excitation = FloatParameter("Excitation current", units="A", minimum=1e-12, maximum=1e-3, default=50e-9)
    temperature = FloatParameter("Temperature", units="K", minimum=0.0, maximum=400.0, default=0.053)
    channel = Parameter("Channel (name in the station file, or length in m)", default="0.8e-6")
    station_name = Parameter("Station", default="dilution-b")

    # --- checks (nothing sent)
    def resolve_channel(self, station) -> tuple[str, float]:
        """(name, length in m) of ``channel`` in the station's non-local wiring."""
        given = self.channel.strip() if isinstance(self.channel, str) else self.channel
        try:
            return station.channel(self.CONFIGURATION, given)
        except ValueError as exc:
            raise ProcedureError(f"{self.NAME}: {exc} (station {station.config.name!r})") from None

    def check_excitation(self, station, dc_currents) -> None:
        """The lock-in can output the excitation, a source drives the injection, and every
        DC current plus the AC peak is within the configuration's max_current."""
        if station.config.wiring.configurations[self.CONFIGURATION].source is None:
            raise ProcedureError(f"{self.NAME}: no current source wired to {self.CONFIGURATION!r} "
                                 "for the DC injection current")
        largest = max((float(c) for c in dc_currents), key=abs)
        check_excitation(self, station, self.CONFIGURATION, dc=largest)

    def check_fields(self, station, vectors) -> None:
        """Every field vector ({axis: T}, missing axes at 0) per axis and against the norm."""
        axes = station.magnet.axes
        for vector in vectors:
            station.safety.check_field({a: float(vector.get(a, 0.0)) for a in axes}, {})

    #: fields are checked as whole vectors (the other axes at zero): see check_fields
    FIELD_AXES = {"field": None, "field_perp": None}

    def check_common(self, station, plan, axes=("x",)) -> None:
        CryoProcedure.check(self, station, plan)  # finite, wired, the plan's currents
        self.resolve_channel(station)
        for axis in axes:
            self.check_axis(station, axis)
        station.safety.check_temperature(self.temperature)

    # --- preparation
    def select(self, station) -> None:
        """Temperature, then the non-local wiring and channel."""
        go_to_temperature(station, self.temperature)
        name, _ = self.resolve_channel(station)
        self._m = station.use(self.CONFIGURATION, channel=name)

    @staticmethod
    def zero_other_axes(station, keep: str) -> None:
        """Ramp every axis but ``keep`` to zero (at the supply's rate, within the limit)."""
        magnet = station.magnet
        present = magnet.field()
        others = {a: 0.0 for a in magnet.axes
                  if a != keep and (abs(present[a]) > 0 or magnet.targets[a] != 0.0)}
        if others:
            magnet.ramp_to(**others)

    def magnetise(self, station, preparation_field: float, rate: float, flip_field: float | None = None) -> None:
        """Saturate injector and detector along x at ``preparation_field`` (parallel);
        with ``flip_field``, then reverse only the detector (antiparallel)."""
        self.zero_other_axes(station, "x")
        station.magnet.ramp_to(x=preparation_field, rate=rate)
        if flip_field is not None:
            station.magnet.ramp_to(x=flip_field, rate=rate)


class NLSwitch(NonLocalProcedure):
    NAME = "nl-switch"
    #: ``field``: the field each reading belongs to (continuous: at the lock-in's delay);
    #: ``field_at_reading``: the field measured when the lock-in was read
    COLUMNS = {"field": "T", "direction": "", "r_nonlocal": "Ohm", "field_at_reading": "T", **FILTER_COLUMNS}
    SIGNAL = "r_nonlocal"

    injection_current = FloatParameter("DC injection current", units="A", minimum=-1e-3, maximum=1e-3,
                                       default=0.1e-6)
    preparation_field = FloatParameter("Preparation field (x)", units="T", minimum=-20.0, maximum=20.0,
                                       default=-0.04)
    field_start = FloatParameter("Field start (x)", units="T", minimum=-20.0, maximum=20.0, default=0.0)
    field_stop = FloatParameter("Field stop (x)", units="T", minimum=-20.0, maximum=20.0, default=0.04)
    field_step = FloatParameter("Field step", units="T", minimum=-1.0, maximum=1.0, default=0.001)
    loop = BooleanParameter("Sweep back to the start", default=False)
    mode = sweep_mode_parameter()
    accept_rate_error = accept_rate_error_parameter()
    CONTINUOUS = "field"
    rate = FloatParameter("Field ramp rate", units="T/s", minimum=0.0, maximum=1.0, default=0.005)

    # --- the sweep
    def _first_direction(self) -> int:
        d = np.sign(self.field_stop - self.field_start) or np.sign(self.field_step)
        return int(d)

    def plan(self):
        values = span(self.field_start, self.field_stop, self.field_step, "field")
        d = self._first_direction()
        directions = np.full(values.size, d)
        if self.loop:
            if values.size < 2:
                raise PlanError("field: a loop needs field_start != field_stop")
            values = np.concatenate([values, values[::-1]])
            directions = np.concatenate([directions, -directions])
        return Plan(Axis("field", "T", values), directions=directions, **self.sweep_mode())

    def check(self, station, plan) -> None:
        self.check_common(station, plan, axes=("x",))
        self.check_fields(station, [{"x": self.preparation_field}]
                          + [{"x": p.setpoints["field"]} for p in plan.points])
        station.safety.check_rate("x", self.rate)
        self.check_excitation(station, [self.injection_current])

    def prepare(self, station) -> None:
        self.select(station)
        set_bias(self._m, self.injection_current)
        self.magnetise(station, self.preparation_field, self.rate)
        station.magnet.ramp_to(x=self.field_start, rate=self.rate)
        setup_lockin(self._m, self.lockin_settings())
        self._filter = filter_columns(self._m.lockin)
        if self.continuous:
            self._sweep = FieldSweep(station, "x", self.rate, self.field_step, self.note)
            self._sweep.start(self._m.lockin)

    def measure(self, station, point) -> dict:
        end = self.field_stop if point.direction == self._first_direction() else self.field_start
        reading = field_point(station, self._m, self.lockin_settings(), point, self.rate,
                              self._sweep if self.continuous else None, end=end)
        return {"field": reading.value, "direction": point.direction, "r_nonlocal": reading.resistance,
                "field_at_reading": reading.at_reading, **self._filter, "time": reading.time}
