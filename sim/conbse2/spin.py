"""Hanle precession in the non-local spin valve (paper, Methods eq. 3 and 4).

Eq. 3: R_NL = R0 Int_0^inf dt (4 pi D t)^-1/2 exp(-L^2/4Dt) exp(-t/tau) cos(w_L t),
w_L = g mu_B B_perp / hbar, g = 2. With s = 1/tau - i w_L the integral has the
closed form Re[exp(-L sqrt(s/D)) / (2 sqrt(D s))] (principal square roots;
Re s > 0). Eq. 4 (vortices in the channel) replaces cos(w_L t) by
1 - a_v + a_v cos(w_L t), a_v = 1 - exp(-|B|/B_v), which is the same closed form
at w_L = 0 and at w_L, mixed. :func:`hanle_quadrature` integrates the same
equations numerically; it is the reference the closed form is checked against.
"""

from __future__ import annotations

import numpy as np
from scipy import integrate

from .parameters import HBAR, MU_B

G_FACTOR = 2.0


def larmor(b_perpendicular):
    """Larmor angular frequency (rad/s) for a field (T)."""
    return G_FACTOR * MU_B * np.asarray(b_perpendicular, dtype=float) / HBAR


def _kernel(length, diffusion, s):
    root = np.sqrt(s)
    return np.exp(-length * root / np.sqrt(diffusion)) / (2.0 * np.sqrt(diffusion) * root)


def vortex_fraction(b_perpendicular, vortex_field):
    """a_v of eq. 4."""
    return 1.0 - np.exp(-np.abs(b_perpendicular) / vortex_field)


def hanle_closed_form(b_perpendicular, length, diffusion, lifetime, model="standard", vortex_field=0.0):
    """The integral of eq. 3 (``model="standard"``) or eq. 4 (``"vortex"``), in s/m (R_NL / R0).

    Vectorised over ``b_perpendicular`` (T)."""
    b = np.asarray(b_perpendicular, dtype=float)
    precessing = np.real(_kernel(length, diffusion, 1.0 / lifetime - 1j * larmor(b)))
    if model == "standard":
        return precessing
    if model != "vortex":
        raise ValueError(f"unknown Hanle model {model!r}: 'standard' or 'vortex'")
    still = np.real(_kernel(length, diffusion, 1.0 / lifetime + 0j))
    a_v = vortex_fraction(b, vortex_field)
    return (1.0 - a_v) * still + a_v * precessing


def hanle_quadrature(b_perpendicular, length, diffusion, lifetime, model="standard", vortex_field=0.0):
    """The same integral by adaptive quadrature (slow: the reference for tests and benchmarks)."""
    out = []
    for b in np.atleast_1d(np.asarray(b_perpendicular, dtype=float)):
        w = float(larmor(b))
        a_v = float(vortex_fraction(b, vortex_field)) if model == "vortex" else 1.0

        def integrand(t, w=w, a_v=a_v):
            envelope = np.exp(-length ** 2 / (4 * diffusion * t) - t / lifetime) / np.sqrt(4 * np.pi * diffusion * t)
            return envelope * (1.0 - a_v + a_v * np.cos(w * t))

        upper = 60 * lifetime
        value, _ = integrate.quad(integrand, 0.0, upper, limit=2000, epsabs=0.0, epsrel=1e-10)
        out.append(value)
    return np.array(out) if np.ndim(b_perpendicular) else out[0]
