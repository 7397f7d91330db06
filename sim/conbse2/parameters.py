"""Every parameter of the simulated Co-NbSe2 devices, in one place, in SI units.

Values marked *paper* come from the paper (main text, Methods, Extended Data 10);
values marked *choice* are not given there and are chosen to reproduce what the
paper shows (see ``docs/sample-model.md``). A preset is one :class:`DeviceParameters`;
any field can be overridden: ``preset("A01", t_k=4.0)``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

K_B = 1.380649e-23  # J/K
E = 1.602176634e-19  # C
HBAR = 1.054571817e-34  # J s
MU_B = 9.2740100783e-24  # J/T
PAULI_T_PER_K = 1.86  # T/K, Clogston-Chandrasekhar limit B_P = 1.86 T/K * Tc0


@dataclass(frozen=True)
class Channel:
    """A non-local channel between injector and detector."""

    length: float  #: m, centre-to-centre (paper)
    diffusion: float  #: D, m^2/s (choice, from lambda_s and the sign change)
    spin_lifetime: float  #: tau, s (choice)
    model: str = "standard"  #: "standard" (eq. 3) or "vortex" (eq. 4)
    vortex_field: float = 0.0  #: B_v of eq. 4, T (choice)


@dataclass(frozen=True)
class DeviceParameters:
    name: str
    # --- superconductivity
    tc0: float  #: K, zero-field transition (paper, ED10)
    thickness: float  #: m, NbSe2 thickness d (paper)
    xi_gl0: float  #: m, GL coherence length at T=0, B=0 (paper, ED10; choice where "-")
    t_bkt: float  #: K, BKT temperature (paper for A01; choice elsewhere, 0.04-0.25 K below Tc0)
    bkt_b: float = 0.5  #: dimensionless constant of the Halperin-Nelson R(T) (choice)
    ising_protected: bool = False  #: in-plane Bc2 may exceed the Pauli limit (paper: device C)
    alpha_jump: float = 0.0  #: 0: alpha rises smoothly; >0: jumps 1 -> this just below Tc (device D)
    alpha_jump_width: float = 0.05  #: K, alpha goes 1 -> alpha_jump over this width below Tc(B) (choice)
    alpha_low_t_slope: float = 2.0  #: 1/K, d(alpha)/d(-T) below T_BKT (choice)
    depairing_current: float = 200e-6  #: A, I_0 of the V-I law at T=0 (choice)
    # --- normal state (four-probe channel, MTJ, non-local, Co stripe)
    r_normal: float = 20.0  #: ohm, four-probe R just above Tc (choice)
    rrr: float = 8.0  #: R(273 K)/R_N (paper: 7.6-8.2 for A and B, >= 9 for D, E)
    # --- ferromagnetism mediated by superconductivity (Co-doped devices only)
    co_doped: bool = True  #: n_Co ~ 3 % (paper); False for D (too low) and E (none)
    t_k: float = 4.5  #: K, re-entrant resistive phase below it (choice for A01)
    b_k_parallel: float = 3.0  #: T, in-plane B_K at the lowest temperature (choice)
    b_k_perpendicular: float = 2.0  #: T, out-of-plane B_K (paper ED4b: re-entry near 2 T)
    reentrant_fraction: float = 0.4  #: R/R_N at 1.5 K, B = 0 (paper)
    reentrant_reference_temperature: float = 1.5  #: K, where R/R_N = reentrant_fraction at B = 0 (paper: 1.5 K; choice to make it a field)
    # --- tunnel junction Co / BN / Co-NbSe2
    r_junction: float = 5.0e3  #: ohm, parallel-state tunnel resistance (choice: 500 ohm ~ 10 %)
    tmr_delta_r: float = 500.0  #: ohm, Delta R at base temperature (paper)
    tmr_saturation_t: float = 2.5  #: K, Delta R saturates below (paper, ED7)
    coercive_co: float = 25e-3  #: T, Co electrode (choice)
    coercive_conbse2: float = 8e-3  #: T, Co-NbSe2 electrode (choice)
    pairing_l: int = 1  #: 0 singlet s-wave, 1 triplet p-wave (paper fits p-wave)
    dynes_gamma_fraction: float = 0.05  #: Gamma / Delta0 (choice)
    zbp_height: float = 1.0  #: sigma_ZBP / sigma_N at low temperature, before thermal smearing (choice)
    zbp_width: float = 0.2e-3  #: V, intrinsic sigma of the zero-bias Gaussian (choice)
    # --- Co stripe (AMR control)
    r_co_stripe: float = 30.0  #: ohm (choice)
    amr_delta_r: float = 0.15  #: ohm (paper)
    amr_width: float = 2e-3  #: T, field width of the AMR dip around the coercive field (choice)
    # --- non-local spin valve
    r_injector: float = 180.0  #: ohm, injector contact (choice: its bias leaves the gap Delta_B/e at ~3 uA)
    r_nonlocal_background: float = 0.1  #: ohm (choice: below Delta R_NL / 2, so P and AP differ in sign)
    nonlocal_delta_r: float = 0.35  #: ohm, Delta R_NL > 150 % of background (paper)
    injection_gap_current: float = 3.0e-6  #: A, |I_inj| beyond it: outside the gap, no spin signal (choice)
    injection_sign_current: float = 1.5e-6  #: A, R_NL changes sign here (choice)
    coercive_injector: float = 20e-3  #: T (choice)
    coercive_detector: float = 12e-3  #: T (choice)
    channels: dict[str, Channel] = field(default_factory=dict)

    def replace(self, **changes) -> "DeviceParameters":
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise TypeError(f"unknown device parameter(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **changes)

    # --- derived quantities (documented relations, used by model and analysis alike)
    @property
    def diffusion_constant(self) -> float:
        """Electronic D (m^2/s) from the dirty-limit relation xi_GL(0)^2 = pi hbar D / (8 k_B Tc0).

        The paper writes D = 16 k_B Tc0 xi / hbar, which is not dimensionally
        consistent; this is the standard dirty-limit relation (Tinkham)."""
        return 8 * K_B * self.tc0 * self.xi_gl0 ** 2 / (3.141592653589793 * HBAR)

    @property
    def gap0(self) -> float:
        """Delta0 (J) = 1.764 k_B Tc0 (BCS weak coupling)."""
        return 1.764 * K_B * self.tc0

    @property
    def pauli_field(self) -> float:
        return PAULI_T_PER_K * self.tc0
