"""A Co-NbSe2 device as the simulated lab sees it, one measurement configuration at a time.

``four_probe``: the channel (BKT transition, V-I power law, re-entrant FM phase).
``mtj``: the Co / BN / Co-NbSe2 tunnel junction (Dynes dI/dV, zero-bias peak, TMR).
``nonlocal``: injector -> channel -> detector (spin valve switching, Hanle).
``co_amr``: four-probe along one Co stripe (AMR at the coercive field).

Everything follows from the environment (temperature, field vector) and the DC
current the SMU drives; the magnetisation of the electrodes follows the field
history through :meth:`observe`.
"""

from __future__ import annotations

import math

from . import superconductivity as sc
from .magnetisation import Electrode
from .parameters import E, K_B, DeviceParameters
from .spin import hanle_closed_form
from .tunnelling import Junction


class CoNbSe2Sample:
    def __init__(self, params: DeviceParameters):
        self.p = params
        self.co = Electrode(params.coercive_co)  # MTJ top electrode; also the AMR stripe
        self.conbse2 = Electrode(params.coercive_conbse2)  # MTJ bottom electrode (intercalated)
        self.injector = Electrode(params.coercive_injector)  # non-local Co-NbSe2 contacts
        self.detector = Electrode(params.coercive_detector)
        self.junction = Junction()
        self._hanle_zero = {name: float(self._hanle(name, 0.0)) for name in params.channels}

    # --- state
    @staticmethod
    def _fields(env) -> tuple[float, float]:
        bx, by, bz = env.field
        return math.hypot(bx, by), abs(bz)

    def ferromagnetic(self, env) -> bool:
        """Co-NbSe2 is ferromagnetic (FM+SC phase): Co-doped, T < T_K and B inside B_K."""
        b_par, b_perp = self._fields(env)
        return self.p.co_doped and sc.reentrant_ratio(self.p, env.temperature, b_par, b_perp) > 0

    def observe(self, env) -> None:
        b_x = env.field[0]
        fm = self.ferromagnetic(env)
        self.co.observe(b_x)
        for electrode in (self.conbse2, self.injector, self.detector):
            electrode.observe(b_x, fm)

    # --- the lab's interface
    def voltage(self, configuration, current, env, channel=None):
        b_par, b_perp = self._fields(env)
        T = env.temperature
        if configuration == "four_probe":
            return sc.channel_voltage(self.p, current, T, b_par, b_perp)
        if configuration == "mtj":
            return self._junction_voltage(current, env)
        if configuration == "nonlocal":  # what the SMU sees: the injector contact
            return current * self.p.r_injector
        if configuration == "co_amr":
            return current * self._amr_resistance(env)
        raise ValueError(f"unknown configuration {configuration!r}")

    def differential_resistance(self, configuration, current, env, channel=None):
        b_par, b_perp = self._fields(env)
        T = env.temperature
        if configuration == "four_probe":
            return sc.channel_differential_resistance(self.p, current, T, b_par, b_perp)
        if configuration == "mtj":
            return self._junction_differential_resistance(current, env)
        if configuration == "nonlocal":
            return self.nonlocal_resistance(current, env, channel)
        if configuration == "co_amr":
            return self._amr_resistance(env)
        raise ValueError(f"unknown configuration {configuration!r}")

    # --- tunnel junction
    def _gap(self, env) -> float:
        b_par, b_perp = self._fields(env)
        return sc.gap(self.p, env.temperature, b_par, b_perp)

    def tmr_delta_r(self, temperature: float) -> float:
        """Delta R (ohm): grows on cooling below T_K, saturates below tmr_saturation_t."""
        p = self.p
        span = max(p.t_k - p.tmr_saturation_t, 1e-9)
        return p.tmr_delta_r * min(1.0, max(0.0, (p.t_k - temperature) / span))

    def _junction_args(self, env) -> dict:
        p = self.p
        height, width = self._zero_bias_peak(env)
        return dict(gap=self._gap(env), gamma=p.dynes_gamma_fraction * p.gap0, l=p.pairing_l,
                    r_normal=p.r_junction, zbp_height=height, zbp_width=width)

    def _zero_bias_peak(self, env) -> tuple[float, float]:
        """The zero-bias peak of the FM phase: its weight follows the FM order parameter
        (vanishing at T_K and B_K), and thermal smearing (rms 1.8 k_B T / e) widens it while
        keeping its area."""
        p = self.p
        b_par, b_perp = self._fields(env)
        order = sc.reentrant_ratio(p, env.temperature, b_par, b_perp) / p.reentrant_fraction if p.co_doped else 0.0
        if order <= 0:
            return 0.0, p.zbp_width
        width = math.hypot(p.zbp_width, 1.8 * K_B * env.temperature / E)  # rms of -df/dE: pi kT / sqrt(3)
        # absolute rounding: the junction's tables are cached by these, and a weight near
        # zero (close to T_K) must not make every reading a new table
        return round(p.zbp_height * min(order, 1.0) * p.zbp_width / width, 3), round(width, 6)

    def _junction_scale(self, current, env, args) -> float:
        """1 + TMR in the antiparallel state, 1 otherwise.

        The antiparallel junction is the parallel one with its voltage scaled:
        V_AP(I) = (1 + TMR) V_P(I), so dV/dI scales by the same factor at every bias
        (TMR = Delta R / R_junction). The two magnets are only bistable while Co-NbSe2
        is ferromagnetic and the junction bias stays inside the gap (paper, Fig. 3e)."""
        if not self.ferromagnetic(env) or self.co.magnetisation * self.conbse2.magnetisation >= 0:
            return 1.0
        scale = 1.0 + self.tmr_delta_r(env.temperature) / self.p.r_junction
        inside_gap = abs(self.junction.voltage(current, env.temperature, **args)) * scale < args["gap"] / E
        return scale if inside_gap else 1.0

    def _junction_voltage(self, current, env) -> float:
        args = self._junction_args(env)
        return self._junction_scale(current, env, args) * self.junction.voltage(current, env.temperature, **args)

    def _junction_differential_resistance(self, current, env) -> float:
        args = self._junction_args(env)
        scale = self._junction_scale(current, env, args)
        return scale * self.junction.differential_resistance(current, env.temperature, **args)

    # --- Co stripe
    def _amr_resistance(self, env) -> float:
        p = self.p
        dip = math.exp(-(((env.field[0] - self.co.switching_field()) / p.amr_width) ** 2))
        return p.r_co_stripe - p.amr_delta_r * dip

    # --- non-local spin valve
    def _hanle(self, channel: str, b_perp: float) -> float:
        c = self.p.channels[channel]
        return hanle_closed_form(b_perp, c.length, c.diffusion, c.spin_lifetime, c.model, c.vortex_field)

    def injection_factor(self, current: float) -> float:
        """Spin signal vs injection current: changes sign at injection_sign_current and
        vanishes once the injection bias leaves the gap (injection_gap_current)."""
        p = self.p
        x = abs(current)
        if x >= p.injection_gap_current:
            return 0.0
        return math.cos(math.pi * x / (2 * p.injection_sign_current)) * (1 - (x / p.injection_gap_current) ** 4)

    def nonlocal_resistance(self, current, env, channel=None) -> float:
        p = self.p
        background = p.r_nonlocal_background
        if not p.channels:
            return background
        channel = channel or next(iter(p.channels))
        b_par, b_perp = self._fields(env)
        if not (self.ferromagnetic(env) and env.temperature < sc.critical_temperature(p, b_par, b_perp)):
            return background  # no spin injection without the FM + SC state (and none for device D)
        alignment = self.injector.magnetisation * self.detector.magnetisation
        hanle = float(self._hanle(channel, env.field[2])) / self._hanle_zero[channel]
        return background + alignment * self.injection_factor(current) * 0.5 * p.nonlocal_delta_r * hanle
