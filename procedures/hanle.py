"""hanle: Hanle spin precession in the non-local spin valve (paper, Fig. 4d; ED9).

Injector and detector are set parallel (saturate at ``preparation_field`` along the
easy axis x) or antiparallel (then ``flip_field``, between the detector's and the
injector's coercive fields, reverses only the detector); the in-plane field is
cancelled (B_x = 0) and the out-of-plane field B_z sweeps -field_max -> +field_max
in steps while the lock-in reads R_NL. The spins precess about B_z on their way
through the channel: R_NL(B_perp) decays, changes sign (L = 0.8 um: at +-0.125 T) and
P and AP curves have opposite signs. With ``mode=continuous`` B_z ramps from -field_max
to +field_max at ``rate_perp`` and the lock-in is read on the fly, each reading assigned
to B_z at the lock-in's delay (``cryo_acq/run/continuous.py``). Columns: field_perp (T,
measured B_z), r_nonlocal (ohm), alignment (+1 parallel, -1 antiparallel),
field_perp_at_reading (T), lockin_tau (s), lockin_poles; time is the reading's. With
``mode=adaptive`` only ``adaptive_points`` of the planned fields are measured, chosen
where the curve changes (``cryo_acq/run/adaptive.py``); the electrodes stay prepared
whatever the order.
"""

from __future__ import annotations

import numpy as np
from pymeasure.experiment import FloatParameter, ListParameter

from cryo_acq.run.continuous import FILTER_COLUMNS, FieldSweep, field_point, filter_columns
from cryo_acq.run.measure import set_bias, setup_lockin
from cryo_acq.run.sweeps import Axis, Plan, PlanError, span

from .base import (ProcedureError, accept_rate_error_parameter, adaptive_points_parameter, adaptive_seconds_parameter,
                   sweep_mode_parameter)
from .nl_switch import NonLocalProcedure

ALIGNMENTS = {"parallel": 1, "antiparallel": -1}


class Hanle(NonLocalProcedure):
    NAME = "hanle"
    COLUMNS = {"field_perp": "T", "r_nonlocal": "Ohm", "alignment": "", "field_perp_at_reading": "T",
               **FILTER_COLUMNS}
    CONTINUOUS_RATE, CONTINUOUS_STEP = "rate_perp", "field_step"
    CONTINUOUS = "field"
    SIGNAL = "r_nonlocal"

    temperature = FloatParameter("Temperature", units="K", minimum=0.0, maximum=400.0, default=0.046)
    alignment = ListParameter("Injector / detector alignment", choices=list(ALIGNMENTS), default="parallel")
    field_max = FloatParameter("Out-of-plane field amplitude (z)", units="T", minimum=0.0, maximum=20.0,
                               default=0.5)
    field_step = FloatParameter("Out-of-plane field step", units="T", minimum=0.0, maximum=1.0, default=0.01)
    current = FloatParameter("DC injection current", units="A", minimum=-1e-3, maximum=1e-3, default=0.1e-6)
    preparation_field = FloatParameter("Preparation field (x), saturates both electrodes", units="T",
                                       minimum=-20.0, maximum=20.0, default=-0.04)
    flip_field = FloatParameter("Antiparallel flip field (x), reverses the detector only", units="T",
                                minimum=-20.0, maximum=20.0, default=0.016)
    rate = FloatParameter("In-plane (x) ramp rate", units="T/s", minimum=0.0, maximum=1.0, default=0.005)
    rate_perp = FloatParameter("Out-of-plane (z) ramp rate", units="T/s", minimum=0.0, maximum=1.0,
                               default=0.002)
    mode = sweep_mode_parameter(adaptive=True)
    adaptive_points = adaptive_points_parameter()
    adaptive_seconds = adaptive_seconds_parameter()
    accept_rate_error = accept_rate_error_parameter()

    def plan(self):
        if not (np.isfinite(self.field_max) and self.field_max > 0):
            raise PlanError(f"field_perp: field_max must be a positive finite number, got {self.field_max!r}")
        return Plan(Axis("field_perp", "T", span(-self.field_max, self.field_max, self.field_step, "field_perp")),
                    **self.sweep_mode())

    def check(self, station, plan) -> None:
        self.check_common(station, plan, axes=("x", "z"))
        if self.alignment == "antiparallel":
            if np.sign(self.flip_field) == np.sign(self.preparation_field) or self.flip_field == 0:
                raise ProcedureError(
                    f"{self.NAME}: flip_field {self.flip_field:g} T must point against preparation_field "
                    f"{self.preparation_field:g} T (it reverses the detector, not the injector)")
            if abs(self.flip_field) >= abs(self.preparation_field):
                raise ProcedureError(
                    f"{self.NAME}: |flip_field| {abs(self.flip_field):g} T must be below |preparation_field| "
                    f"{abs(self.preparation_field):g} T (between the detector's and the injector's coercive "
                    f"fields; preparation_field saturates both)")
        vectors = [{"x": self.preparation_field}, {"x": 0.0}]
        if self.alignment == "antiparallel":
            vectors.append({"x": self.flip_field})
        vectors += [{"x": 0.0, "z": p.setpoints["field_perp"]} for p in plan.points]
        self.check_fields(station, vectors)
        station.safety.check_rate("x", self.rate)
        station.safety.check_rate("z", self.rate_perp)
        self.check_excitation(station, [self.current])

    def prepare(self, station) -> None:
        self.select(station)
        set_bias(self._m, self.current)
        flip = self.flip_field if self.alignment == "antiparallel" else None
        self.magnetise(station, self.preparation_field, self.rate, flip_field=flip)  # other axes to 0 first
        station.magnet.ramp_to(x=0.0, rate=self.rate)  # the in-plane field cancelled
        station.magnet.ramp_to(z=-self.field_max, rate=self.rate_perp)
        setup_lockin(self._m, self.lockin_settings())
        self._filter = filter_columns(self._m.lockin)
        self._sweep = None
        if self.continuous:
            self._sweep = FieldSweep(station, "z", self.rate_perp, self.field_step, self.note)
            self._sweep.start(self._m.lockin)

    def measure(self, station, point) -> dict:
        reading = field_point(station, self._m, self.lockin_settings(), point, self.rate_perp, self._sweep,
                              end=self.field_max, axis="z", name="field_perp", direction=1)
        return {"field_perp": reading.value, "r_nonlocal": reading.resistance,
                "alignment": ALIGNMENTS[self.alignment], "field_perp_at_reading": reading.at_reading,
                **self._filter, "time": reading.time}

    def finish(self, station) -> None:
        """The out-of-plane field back to zero after a complete sweep."""
        station.magnet.ramp_to(z=0.0, rate=self.rate_perp)
