"""Superconductivity of the simulated Co-NbSe2 channel: Tc(B), gap, BKT, re-entrant phase, V-I.

Pure functions of a :class:`~sim.conbse2.parameters.DeviceParameters` ``p``, the
temperature (K) and the in-plane / out-of-plane field (T). SI units throughout
(K, T, A, V, ohm, J). Scalars in, floats out; every function is cheap enough to be
called tens of thousands of times per simulated measurement (``Tc(B)`` is the only
non-trivial part and is cached on its exact arguments).

Model (``docs/sample-model.md``):

* **Orbital pair breaking** (paper, Methods eq. 2), thin film::

      ln(Tc/Tc0) = psi(1/2) - psi(1/2 + alpha / (2 pi k_B Tc))
      alpha = D e^2 B_par^2 d^2 / (6 hbar) + D e |B_perp|

  The two pair-breaking parameters add. ``D = p.diffusion_constant`` is the
  dirty-limit relation ``xi_GL(0)^2 = pi hbar D / (8 k_B Tc0)``; with it the slope of
  eq. 2 at Tc0 is exactly the GL one, ``B_c2perp = Phi0 / (2 pi xi^2) (1 - T/Tc0)``,
  and ``B_c2perp(0) = 0.69 Phi0 / (2 pi xi^2)`` (WHH dirty limit). No solution
  (``alpha >= (pi/2) e^-gamma k_B Tc0 = Delta0/2``) means Tc = 0.
* **Pauli limit** (choice, documented): the paramagnetic limit is
  ``B_P(T) = B_P sqrt(1 - (T/Tc0)^2)`` with ``B_P = 1.86 T/K * Tc0`` (``p.pauli_field``),
  i.e. ``Tc_P(B) = Tc0 sqrt(1 - (B/B_P)^2)``. The film is superconducting only where
  both the orbital and the paramagnetic condition allow it, so
  ``Tc(B) = min(Tc_orb(B), Tc_P(B_Z))``. The Zeeman field ``B_Z`` is the total field
  ``sqrt(B_par^2 + B_perp^2)``, except for Ising-protected devices
  (``p.ising_protected``, device C) whose spins are pinned out of plane: there only
  ``B_perp`` acts on the spins and the in-plane Bc2 is purely orbital (it can exceed
  the Pauli limit).
* **Gap**: ``Delta(T, B) = Delta0 (Tc(B)/Tc0) tanh(1.74 sqrt(Tc(B)/T - 1))``.
* **BKT**: ``T_BKT(B) = p.t_bkt Tc(B)/Tc0``; for ``T_BKT < T < Tc`` the zero-current
  resistance follows Halperin-Nelson, made continuous at Tc:
  ``R/R_N = exp(-b (1/sqrt(t) - 1/sqrt(t_c)))``, ``t = T/T_BKT - 1``,
  ``t_c = Tc/T_BKT - 1``; zero at and below T_BKT.
* **Re-entrant resistive (FM+SC) phase** (Co-doped devices only): with
  ``phi = 1 - (T/T_K)^2 - (B_par/B_K||)^2 - (B_perp/B_Kperp)^2`` (``B_K||``, ``B_Kperp``
  the T = 0 values), the phase exists where ``phi > 0``: this is exactly the
  elliptical boundary ``(B_par/B_K||(T))^2 + (B_perp/B_Kperp(T))^2 < 1`` with
  ``B_K(T) = B_K(0) sqrt(1 - (T/T_K)^2)``. The extra resistance is linear in phi
  (vanishes continuously at the boundary and at T_K, grows on cooling), normalised so
  that ``R/R_N = p.reentrant_fraction`` at ``p.reentrant_reference_temperature``
  (1.5 K) and B = 0. It exists only inside the superconducting state (T < Tc(B)); the
  total ratio is ``min(1, transition + reentrant)``. Outside the ellipse and below
  T_BKT(B) the channel is again non-resistive (re-entrant superconductivity).
* **V-I exponent** ``alpha`` (V ~ I^alpha): 1 at and above Tc(B); a linear rise
  1 -> 3 from Tc(B) to T_BKT(B) (alpha = 3 at T_BKT, the BKT criterion); below T_BKT
  ``3 + p.alpha_low_t_slope (T_BKT - T)``. Devices with ``p.alpha_jump > 0`` (D)
  have no gradual BKT region: alpha rises linearly from 1 to ``p.alpha_jump`` within
  ``p.alpha_jump_width`` below Tc(B), then by ``p.alpha_low_t_slope`` per K.
* **Four-probe channel**: ``R_N(T) = p.r_normal (1 + (p.rrr - 1) max(0, T - Tc0)/(273 K - Tc0))``;
  with r the total ratio, ``I_0 = p.depairing_current (1 - T/Tc(B))^1.5`` and
  ``x = |I|/I_0``: ``V = sign(I) R_N min(|I|, I_0 (r x + (1 - r) x^alpha))``. At small
  current the FM part is ohmic (r R_N) and the superconducting part the BKT power
  law; for ``|I| >= I_0`` the film is normal (V = R_N I). ``dV/dI`` is the exact
  derivative (one-sided, normal, at ``|I| = I_0`` where V has a kink).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy.special import digamma, zeta

from .parameters import E, HBAR, K_B, DeviceParameters

__all__ = [
    "critical_temperature", "orbital_critical_temperature", "pair_breaking_residual",
    "upper_critical_field", "gap", "bkt_temperature", "transition_ratio", "reentrant_ratio",
    "resistance_ratio", "vi_exponent", "normal_resistance", "critical_current",
    "channel_voltage", "channel_differential_resistance",
]

_PSI_HALF = float(digamma(0.5))
#: alpha / (k_B Tc0) above which eq. 2 has no solution: (pi/2) e^-gamma = Delta0_BCS / (2 k_B Tc0).
PAIR_BREAKING_CRITICAL = 0.5 * math.pi * math.exp(-float(np.euler_gamma))
_BKT_ALPHA = 3.0  # V ~ I^3 at T_BKT (universal jump of the superfluid stiffness)
_T_ROOM = 273.0  # K, RRR reference


# --------------------------------------------------------------------------- Tc(B)

def _reduced_table():
    """t = Tc/Tc0 against s = sqrt(1 - a/a_c), a = alpha/(k_B Tc0), from eq. 2 in closed form.

    With x = a/(2 pi t), eq. 2 gives t = exp(psi(1/2) - psi(1/2 + x)) and a = 2 pi t x:
    no root finding is needed to tabulate. t(s) is smooth on [0, 1] (t ~ s near s = 0)."""
    x = np.concatenate(([0.0], np.geomspace(1e-7, 1e9, 6000)))
    t = np.exp(_PSI_HALF - digamma(0.5 + x))
    a = 2.0 * np.pi * t * x
    s = np.sqrt(np.clip(1.0 - a / PAIR_BREAKING_CRITICAL, 0.0, 1.0))
    order = np.argsort(s)
    s, t = s[order], t[order]
    keep = np.concatenate(([True], np.diff(s) > 0))
    return s[keep], t[keep]


_TABLE_S, _TABLE_T = _reduced_table()


def _pair_breaking_f(t: float, a: float) -> float:
    return math.log(t) - _PSI_HALF + float(digamma(0.5 + a / (2.0 * math.pi * t)))


@lru_cache(maxsize=4096)
def _reduced_tc(a: float) -> float:
    """Solution t = Tc/Tc0 of ln t = psi(1/2) - psi(1/2 + a/(2 pi t)); 0 if none."""
    if a <= 0.0:
        return 1.0
    if a >= PAIR_BREAKING_CRITICAL:
        return 0.0
    t = float(np.interp(math.sqrt(1.0 - a / PAIR_BREAKING_CRITICAL), _TABLE_S, _TABLE_T))
    lo, hi = 0.0, 1.0  # bracket: f < 0 below the root, > 0 above
    for _ in range(60):  # Newton from an accurate start, bisection-safeguarded
        x = a / (2.0 * math.pi * t)
        f = math.log(t) - _PSI_HALF + float(digamma(0.5 + x))
        if f > 0.0:
            hi = t
        else:
            lo = t
        if abs(f) < 1e-13:
            break
        fp = (1.0 - float(zeta(2.0, 0.5 + x)) * x) / t  # trigamma(z) = zeta(2, z)
        step = t - f / fp if fp > 0.0 else -1.0
        t = step if lo < step < hi else 0.5 * (lo + hi)
    return t


def orbital_pair_breaking(p: DeviceParameters, b_parallel: float, b_perpendicular: float) -> float:
    """alpha (J) of eq. 2: D e^2 B_par^2 d^2 / (6 hbar) + D e |B_perp|."""
    d_const = p.diffusion_constant
    return (d_const * E * E * b_parallel * b_parallel * p.thickness ** 2 / (6.0 * HBAR)
            + d_const * E * abs(b_perpendicular))


def orbital_critical_temperature(p: DeviceParameters, b_parallel: float, b_perpendicular: float) -> float:
    """Tc (K) from the orbital pair-breaking equation alone (paper eq. 2), no Pauli limit."""
    return _orbital_tc(p.tc0, p.diffusion_constant, p.thickness, float(b_parallel), float(b_perpendicular))


@lru_cache(maxsize=65536)
def _orbital_tc(tc0: float, d_const: float, thickness: float, b_par: float, b_perp: float) -> float:
    alpha = d_const * E * E * b_par * b_par * thickness * thickness / (6.0 * HBAR) + d_const * E * abs(b_perp)
    return tc0 * _reduced_tc(alpha / (K_B * tc0))


@lru_cache(maxsize=65536)
def _tc(tc0: float, d_const: float, thickness: float, pauli: float, ising: bool,
        b_par: float, b_perp: float) -> float:
    tc = _orbital_tc(tc0, d_const, thickness, b_par, b_perp)
    if tc <= 0.0:
        return 0.0
    b_zeeman = abs(b_perp) if ising else math.hypot(b_par, b_perp)
    if b_zeeman >= pauli:
        return 0.0
    return min(tc, tc0 * math.sqrt(1.0 - (b_zeeman / pauli) ** 2))


def critical_temperature(p: DeviceParameters, b_parallel: float, b_perpendicular: float) -> float:
    """Tc(B) (K): orbital pair breaking (eq. 2) capped by the Pauli limit (see module doc); 0 if none."""
    return _tc(p.tc0, p.diffusion_constant, p.thickness, p.pauli_field, bool(p.ising_protected),
               abs(float(b_parallel)), abs(float(b_perpendicular)))


def pair_breaking_residual(p: DeviceParameters, tc: float, b_parallel: float, b_perpendicular: float) -> float:
    """ln(Tc/Tc0) - psi(1/2) + psi(1/2 + alpha/(2 pi k_B Tc)): zero on the orbital Tc(B) line."""
    alpha = orbital_pair_breaking(p, b_parallel, b_perpendicular)
    return _pair_breaking_f(tc / p.tc0, alpha / (K_B * p.tc0))


def upper_critical_field(p: DeviceParameters, temperature: float, direction: str = "perpendicular") -> float:
    """B_c2 (T) at ``temperature`` for a field ``"perpendicular"`` or ``"parallel"`` to the film.

    The field where Tc(B) = temperature (bisection on :func:`critical_temperature`;
    not for the hot path). 0 at or above Tc0."""
    if direction not in ("perpendicular", "parallel"):
        raise ValueError(f"direction must be 'perpendicular' or 'parallel', not {direction!r}")
    if temperature >= p.tc0:
        return 0.0

    def tc_at(b):
        return critical_temperature(p, b, 0.0) if direction == "parallel" else critical_temperature(p, 0.0, b)

    lo, hi = 0.0, 1.0
    while tc_at(hi) > temperature:
        lo, hi = hi, 2.0 * hi
        if hi > 1e4:
            return math.inf
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if tc_at(mid) > temperature:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


# --------------------------------------------------------------------------- gap, BKT, R(T)

def gap(p: DeviceParameters, temperature: float, b_parallel: float, b_perpendicular: float) -> float:
    """Delta(T, B) (J) = Delta0 (Tc(B)/Tc0) tanh(1.74 sqrt(Tc(B)/T - 1)) below Tc(B), else 0."""
    tc = critical_temperature(p, b_parallel, b_perpendicular)
    if temperature >= tc:
        return 0.0
    scale = p.gap0 * tc / p.tc0
    if temperature <= 0.0:
        return scale
    return scale * math.tanh(1.74 * math.sqrt(tc / temperature - 1.0))


def bkt_temperature(p: DeviceParameters, b_parallel: float, b_perpendicular: float) -> float:
    """T_BKT(B) (K) = p.t_bkt Tc(B)/Tc0."""
    return p.t_bkt * critical_temperature(p, b_parallel, b_perpendicular) / p.tc0


def _transition(p: DeviceParameters, temperature: float, tc: float) -> float:
    if temperature >= tc:
        return 1.0
    t_bkt = p.t_bkt * tc / p.tc0
    if temperature <= t_bkt:
        return 0.0
    reduced = temperature / t_bkt - 1.0
    reduced_c = tc / t_bkt - 1.0
    return math.exp(-p.bkt_b * (1.0 / math.sqrt(reduced) - 1.0 / math.sqrt(reduced_c)))


def transition_ratio(p: DeviceParameters, temperature: float, b_parallel: float, b_perpendicular: float) -> float:
    """R/R_N at vanishing current from superconductivity alone (Halperin-Nelson between T_BKT and Tc)."""
    return _transition(p, temperature, critical_temperature(p, b_parallel, b_perpendicular))


def _reentrant(p: DeviceParameters, temperature: float, b_par: float, b_perp: float, tc: float) -> float:
    if not p.co_doped or temperature >= p.t_k or temperature >= tc:
        return 0.0
    phi = 1.0 - (temperature / p.t_k) ** 2 - (b_par / p.b_k_parallel) ** 2 - (b_perp / p.b_k_perpendicular) ** 2
    if phi <= 0.0:
        return 0.0
    t_ref = p.reentrant_reference_temperature
    phi_ref = 1.0 - (t_ref / p.t_k) ** 2 if 0.0 <= t_ref < p.t_k else 1.0
    return min(1.0, p.reentrant_fraction * phi / phi_ref)


def reentrant_ratio(p: DeviceParameters, temperature: float, b_parallel: float, b_perpendicular: float) -> float:
    """Extra R/R_N of the re-entrant resistive (FM+SC) phase; 0 outside it (see module doc)."""
    tc = critical_temperature(p, b_parallel, b_perpendicular)
    return _reentrant(p, temperature, abs(b_parallel), abs(b_perpendicular), tc)


def _total(p: DeviceParameters, temperature: float, b_par: float, b_perp: float, tc: float) -> float:
    if temperature >= tc:
        return 1.0
    return min(1.0, _transition(p, temperature, tc) + _reentrant(p, temperature, b_par, b_perp, tc))


def resistance_ratio(p: DeviceParameters, temperature: float, b_parallel: float, b_perpendicular: float) -> float:
    """Total zero-current R/R_N of the channel: 1 above Tc(B), else min(1, transition + re-entrant)."""
    tc = critical_temperature(p, b_parallel, b_perpendicular)
    return _total(p, temperature, abs(b_parallel), abs(b_perpendicular), tc)


# --------------------------------------------------------------------------- V-I

def _exponent(p: DeviceParameters, temperature: float, tc: float) -> float:
    if temperature >= tc:
        return 1.0
    below = tc - temperature
    if p.alpha_jump > 0.0:
        width = p.alpha_jump_width
        if below < width:
            return 1.0 + (p.alpha_jump - 1.0) * below / width
        return p.alpha_jump + p.alpha_low_t_slope * (below - width)
    t_bkt = p.t_bkt * tc / p.tc0
    if temperature > t_bkt:
        return 1.0 + (_BKT_ALPHA - 1.0) * below / (tc - t_bkt)
    return _BKT_ALPHA + p.alpha_low_t_slope * (t_bkt - temperature)


def vi_exponent(p: DeviceParameters, temperature: float, b_parallel: float, b_perpendicular: float) -> float:
    """alpha of V ~ I^alpha: 1 at/above Tc(B), 3 at T_BKT(B), rising on cooling (see module doc)."""
    return _exponent(p, temperature, critical_temperature(p, b_parallel, b_perpendicular))


def normal_resistance(p: DeviceParameters, temperature: float) -> float:
    """R_N(T) (ohm) of the four-probe channel: p.r_normal just above Tc0, metallic (RRR) above."""
    return p.r_normal * (1.0 + (p.rrr - 1.0) * max(0.0, temperature - p.tc0) / (_T_ROOM - p.tc0))


def _depairing(p: DeviceParameters, temperature: float, tc: float) -> float:
    if temperature >= tc:
        return 0.0
    if temperature <= 0.0:
        return p.depairing_current
    return p.depairing_current * (1.0 - temperature / tc) ** 1.5


def critical_current(p: DeviceParameters, temperature: float, b_parallel: float, b_perpendicular: float) -> float:
    """I_0(T, B) (A) = p.depairing_current (1 - T/Tc(B))^1.5; the channel is normal above it."""
    return _depairing(p, temperature, critical_temperature(p, b_parallel, b_perpendicular))


def _channel(p: DeviceParameters, temperature: float, b_parallel: float, b_perpendicular: float):
    """(R_N, r, alpha, I_0) for the V-I law."""
    b_par, b_perp = abs(b_parallel), abs(b_perpendicular)
    tc = _tc(p.tc0, p.diffusion_constant, p.thickness, p.pauli_field, bool(p.ising_protected),
             float(b_par), float(b_perp))
    r_n = normal_resistance(p, temperature)
    if temperature >= tc:
        return r_n, 1.0, 1.0, 0.0
    return (r_n, _total(p, temperature, b_par, b_perp, tc), _exponent(p, temperature, tc),
            _depairing(p, temperature, tc))


def channel_voltage(p: DeviceParameters, current: float, temperature: float,
                    b_parallel: float, b_perpendicular: float) -> float:
    """Four-probe channel voltage (V): sign(I) R_N min(|I|, I_0 (r x + (1 - r) x^alpha)), x = |I|/I_0."""
    r_n, r, alpha, i0 = _channel(p, temperature, b_parallel, b_perpendicular)
    magnitude = abs(current)
    if i0 <= 0.0 or r >= 1.0 or magnitude >= i0:
        return float(r_n * current)
    x = magnitude / i0
    v = r_n * i0 * (r * x + (1.0 - r) * x ** alpha)
    return float(math.copysign(v, current))


def channel_differential_resistance(p: DeviceParameters, current: float, temperature: float,
                                    b_parallel: float, b_perpendicular: float) -> float:
    """dV/dI (ohm) of :func:`channel_voltage`, analytic: R_N (r + (1 - r) alpha x^(alpha-1)) below I_0."""
    r_n, r, alpha, i0 = _channel(p, temperature, b_parallel, b_perpendicular)
    magnitude = abs(current)
    if i0 <= 0.0 or r >= 1.0 or magnitude >= i0:
        return float(r_n)
    x = magnitude / i0
    return float(r_n * (r + (1.0 - r) * alpha * x ** (alpha - 1.0)))
