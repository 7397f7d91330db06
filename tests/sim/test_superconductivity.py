"""Physics checks of the simulated Co-NbSe2 superconductivity (sim/conbse2/superconductivity.py)."""

import math

import numpy as np
import pytest

from sim.conbse2 import superconductivity as sc
from sim.conbse2.parameters import E, HBAR, K_B
from sim.conbse2.presets import preset

A01 = preset("A01")
B = preset("B")
C = preset("C")
D = preset("D")
E_DEV = preset("E")


# --------------------------------------------------------------------------- Tc(B)

@pytest.mark.parametrize("name", ["A01", "A02", "B", "C", "D", "E"])
def test_zero_field_tc_is_tc0(name):
    p = preset(name)
    assert sc.critical_temperature(p, 0.0, 0.0) == pytest.approx(p.tc0, abs=1e-12)


def test_diffusion_constant_is_dimensionally_sane():
    d = A01.diffusion_constant
    assert 1e-5 < d < 1e-4  # m^2/s, about 7.1e-5 for xi = 5.7 nm
    # dirty-limit relation, and the GL slope it implies: Bc2perp = Phi0/(2 pi xi^2) (1 - t) near Tc0
    assert A01.xi_gl0 ** 2 == pytest.approx(math.pi * HBAR * d / (8 * K_B * A01.tc0), rel=1e-12)
    t = 0.999 * A01.tc0
    b = sc.upper_critical_field(A01, t)
    assert b == pytest.approx(HBAR / (2 * E * A01.xi_gl0 ** 2) * 1e-3, rel=2e-3)


def test_tc_falls_monotonically_with_both_field_components():
    for p in (A01, B, C, E_DEV):
        for axis in ("par", "perp"):
            tcs = [sc.critical_temperature(p, b, 0.0) if axis == "par" else sc.critical_temperature(p, 0.0, b)
                   for b in np.linspace(0.0, 20.0, 201)]
            positive = [t for t in tcs if t > 0]
            assert np.all(np.diff(positive) < 0), (p.name, axis)
            assert tcs[-1] == 0.0  # no superconductivity at 20 T
            assert all(t == 0.0 for t in tcs[len(positive):])  # once normal, stays normal


@pytest.mark.parametrize("b_par, b_perp", [(0.0, 0.01), (0.0, 0.5), (0.0, 3.0), (0.0, 6.9),
                                           (2.0, 0.0), (6.0, 0.0), (3.0, 1.0)])
def test_returned_tc_satisfies_pair_breaking_equation(b_par, b_perp):
    tc = sc.critical_temperature(A01, b_par, b_perp)
    assert tc == sc.orbital_critical_temperature(A01, b_par, b_perp)  # orbital-limited here
    assert 0 < tc < A01.tc0
    assert abs(sc.pair_breaking_residual(A01, tc, b_par, b_perp)) < 1e-6


def test_pair_breaking_equation_directly():
    from scipy.special import digamma
    tc = sc.critical_temperature(A01, 0.0, 2.0)
    alpha = A01.diffusion_constant * E * 2.0
    lhs = math.log(tc / A01.tc0)
    rhs = digamma(0.5) - digamma(0.5 + alpha / (2 * math.pi * K_B * tc))
    assert abs(lhs - rhs) < 1e-6


def test_out_of_plane_bc2_at_1p5K_is_a_few_tesla():
    # paper ED4b: normal near 5 T at 1.5 K (xi = 5.7 +- 1.2 nm gives 6.4 T here)
    assert 4.0 < sc.upper_critical_field(A01, 1.5) < 8.0
    assert sc.resistance_ratio(A01, 1.5, 0.0, 7.0) == 1.0


def test_pauli_limit_in_plane():
    bp = A01.pauli_field
    assert bp == pytest.approx(1.86 * 6.6)
    assert sc.orbital_critical_temperature(A01, 1.02 * bp, 0.0) > 0  # orbitally it would survive...
    assert sc.critical_temperature(A01, 1.0001 * bp, 0.0) == 0.0  # ...but the Pauli limit kills it
    for t in (0.05, 1.5, 3.0, 6.0):
        assert sc.resistance_ratio(A01, t, 1.01 * bp, 0.0) == 1.0
    assert sc.upper_critical_field(A01, 1.5, "parallel") < bp
    # device C (Ising protected): superconducting above its Pauli field, limited by orbital pair breaking
    b = 1.2 * C.pauli_field
    tc = sc.critical_temperature(C, b, 0.0)
    assert tc > 1.0
    assert sc.resistance_ratio(C, 0.5, b, 0.0) == 0.0
    assert sc.upper_critical_field(C, 0.05, "parallel") > 1.4 * C.pauli_field


# --------------------------------------------------------------------------- gap, BKT, R(T)

def test_gap():
    assert sc.gap(A01, 0.0, 0.0, 0.0) == pytest.approx(1.764 * K_B * 6.6)
    assert sc.gap(A01, 0.05, 0.0, 0.0) == pytest.approx(A01.gap0, rel=1e-9)
    assert sc.gap(A01, 6.6, 0.0, 0.0) == 0.0
    assert sc.gap(A01, 7.0, 0.0, 0.0) == 0.0
    values = [sc.gap(A01, t, 0.0, 0.0) for t in np.linspace(0.1, 6.59, 50)]
    assert np.all(np.diff(values) < 0) and values[-1] < 0.2 * A01.gap0
    tc = sc.critical_temperature(A01, 0.0, 2.0)
    assert sc.gap(A01, 0.0, 0.0, 2.0) == pytest.approx(A01.gap0 * tc / A01.tc0)
    assert sc.gap(A01, tc + 1e-6, 0.0, 2.0) == 0.0


def test_bkt_temperature_scales_with_tc():
    assert sc.bkt_temperature(A01, 0.0, 0.0) == pytest.approx(6.35)
    tc = sc.critical_temperature(A01, 0.0, 1.0)
    assert sc.bkt_temperature(A01, 0.0, 1.0) == pytest.approx(6.35 * tc / 6.6)


def test_rt_onset_and_bkt_shape_a01():
    temps = np.arange(6.70, 6.0, -1e-4)
    ratio = np.array([sc.resistance_ratio(A01, t, 0.0, 0.0) for t in temps])
    onset = temps[np.argmax(ratio < 0.9)]
    assert onset == pytest.approx(6.6, abs=0.05)
    assert np.all(np.diff(ratio) <= 0)  # monotonic on cooling in the transition (T > T_K)
    assert ratio[temps > 6.6 + 1e-9].min() == 1.0
    assert ratio[temps <= 6.35].max() == 0.0
    # continuous at Tc, Halperin-Nelson inside
    assert sc.transition_ratio(A01, 6.6 - 1e-7, 0.0, 0.0) == pytest.approx(1.0, abs=1e-3)
    t1, t2 = 6.40, 6.50
    x1, x2 = t1 / 6.35 - 1, t2 / 6.35 - 1
    expected = math.exp(-A01.bkt_b * (x1 ** -0.5 - x2 ** -0.5))
    assert sc.transition_ratio(A01, t1, 0, 0) / sc.transition_ratio(A01, t2, 0, 0) == pytest.approx(expected)


def test_reentrant_resistive_phase_a01():
    assert sc.resistance_ratio(A01, 1.5, 0.0, 0.0) == pytest.approx(0.4, abs=1e-9)
    assert sc.transition_ratio(A01, 1.5, 0.0, 0.0) == 0.0
    # grows on cooling below T_K, absent above
    values = [sc.resistance_ratio(A01, t, 0.0, 0.0) for t in np.linspace(0.05, 4.49, 40)]
    assert np.all(np.diff(values) < 0) and max(values) <= 1.0
    assert sc.reentrant_ratio(A01, 4.5, 0.0, 0.0) == 0.0
    assert sc.resistance_ratio(A01, 5.0, 0.0, 0.0) == 0.0
    assert sc.reentrant_ratio(A01, 4.49, 0.0, 0.0) < 0.01  # continuous at T_K
    # re-entrant superconductivity above B_K, both directions
    assert sc.resistance_ratio(A01, 1.5, 3.2, 0.0) == 0.0
    assert sc.resistance_ratio(A01, 1.5, 0.0, 2.1) == 0.0
    # continuous at the (elliptical) boundary
    bk = A01.b_k_parallel * math.sqrt(1 - (1.5 / A01.t_k) ** 2)
    assert sc.reentrant_ratio(A01, 1.5, 0.999 * bk, 0.0) < 1e-3
    assert sc.reentrant_ratio(A01, 1.5, 1.001 * bk, 0.0) == 0.0
    assert sc.reentrant_ratio(A01, 1.5, 0.5 * bk, 0.6 * A01.b_k_perpendicular) > 0
    assert sc.reentrant_ratio(A01, 1.5, 0.8 * bk, 0.8 * A01.b_k_perpendicular) == 0.0
    # ED4b: R(B_perp) at 1.5 K: resistive, zero (re-entry ~2 T), normal by ~6-7 T
    assert sc.resistance_ratio(A01, 1.5, 0.0, 1.0) > 0.2
    assert sc.resistance_ratio(A01, 1.5, 0.0, 3.5) == 0.0
    assert sc.resistance_ratio(A01, 1.5, 0.0, 6.5) == 1.0


def test_total_ratio_never_exceeds_one():
    strong = A01.replace(reentrant_fraction=0.9)
    for t in np.linspace(0.0, 7.0, 36):
        for b in np.linspace(0.0, 3.0, 7):
            assert 0.0 <= sc.resistance_ratio(strong, t, b, 0.0) <= 1.0


@pytest.mark.parametrize("p", [E_DEV, D], ids=["E", "D"])
def test_no_reentrant_phase_without_co(p):
    for t in (0.05, 1.5, 3.0, 4.0):
        assert sc.reentrant_ratio(p, t, 0.0, 0.0) == 0.0
        assert sc.resistance_ratio(p, t, 0.0, 0.0) == 0.0


# --------------------------------------------------------------------------- V-I

def test_vi_exponent_a01():
    assert sc.vi_exponent(A01, 6.3, 0.0, 0.0) == pytest.approx(3.0, abs=0.3)
    assert sc.vi_exponent(A01, 6.35, 0.0, 0.0) == pytest.approx(3.0)
    assert sc.vi_exponent(A01, 6.6, 0.0, 0.0) == 1.0
    assert sc.vi_exponent(A01, 8.0, 0.0, 0.0) == 1.0
    values = [sc.vi_exponent(A01, t, 0.0, 0.0) for t in np.linspace(1.5, 6.59, 60)]
    assert np.all(np.diff(values) < 0)  # rises on cooling


def _loglog_slope(p, temperature, currents, b_par=0.0, b_perp=0.0):
    v = [sc.channel_voltage(p, i, temperature, b_par, b_perp) for i in currents]
    return np.polyfit(np.log(currents), np.log(v), 1)[0]


def test_power_law_vi_over_a_decade_a01():
    i0 = sc.critical_current(A01, 6.3, 0.0, 0.0)
    currents = np.geomspace(0.05 * i0, 0.5 * i0, 20)
    assert _loglog_slope(A01, 6.3, currents) == pytest.approx(3.0, abs=0.3)
    assert _loglog_slope(A01, 6.3, currents) == pytest.approx(sc.vi_exponent(A01, 6.3, 0, 0), rel=1e-6)
    # above Tc: ohmic, V = R_N I
    currents = np.geomspace(1e-8, 1e-4, 9)
    assert _loglog_slope(A01, 6.8, currents) == pytest.approx(1.0, abs=1e-9)
    r_n = sc.normal_resistance(A01, 6.8)
    assert sc.channel_voltage(A01, -3e-6, 6.8, 0, 0) == pytest.approx(-3e-6 * r_n)
    # large current drives the film normal
    assert sc.channel_voltage(A01, 2 * i0, 6.3, 0, 0) == pytest.approx(2 * i0 * sc.normal_resistance(A01, 6.3))


def test_device_d_abrupt_alpha_jump():
    tc = D.tc0
    assert sc.vi_exponent(D, tc + 1e-3, 0, 0) == 1.0
    assert sc.vi_exponent(D, tc - 0.1, 0, 0) == pytest.approx(6.0, abs=0.5)
    temps = np.linspace(tc - 0.1, tc + 0.05, 31)
    alphas = np.array([sc.vi_exponent(D, t, 0, 0) for t in temps])
    assert alphas.max() - alphas.min() > 4.5
    assert np.all(np.diff(alphas) <= 0)


def test_normal_resistance():
    assert sc.normal_resistance(A01, 6.6) == 20.0
    assert sc.normal_resistance(A01, 2.0) == 20.0
    assert sc.normal_resistance(A01, 273.0) == pytest.approx(20.0 * A01.rrr)
    assert sc.normal_resistance(A01, 100.0) < sc.normal_resistance(A01, 200.0)


CASES = [  # (device, T, B_par, B_perp, currents relative to I_0)
    (A01, 6.3, 0.0, 0.0), (A01, 6.45, 0.0, 0.0), (A01, 1.5, 0.0, 0.0), (A01, 3.0, 1.0, 0.5),
    (A01, 1.5, 3.5, 0.0), (D, 6.78, 0.0, 0.0), (B, 0.053, 0.0, 0.5),
]


@pytest.mark.parametrize("p, temperature, b_par, b_perp", CASES)
def test_differential_resistance_is_derivative_of_voltage(p, temperature, b_par, b_perp):
    i0 = sc.critical_current(p, temperature, b_par, b_perp)
    assert i0 > 0
    for frac in (-0.9, -0.3, 0.02, 0.3, 0.7, 0.95, 1.5, 3.0):
        i = frac * i0
        h = 1e-6 * i0
        numeric = (sc.channel_voltage(p, i + h, temperature, b_par, b_perp)
                   - sc.channel_voltage(p, i - h, temperature, b_par, b_perp)) / (2 * h)
        analytic = sc.channel_differential_resistance(p, i, temperature, b_par, b_perp)
        assert analytic == pytest.approx(numeric, rel=1e-4), frac


def test_differential_resistance_at_zero_current():
    r_n = sc.normal_resistance(A01, 1.5)
    assert sc.channel_differential_resistance(A01, 0.0, 1.5, 0, 0) == pytest.approx(0.4 * r_n)
    assert sc.channel_differential_resistance(A01, 0.0, 6.0, 0, 0) == 0.0
    t = 6.45
    assert sc.channel_differential_resistance(A01, 0.0, t, 0, 0) == pytest.approx(
        sc.resistance_ratio(A01, t, 0, 0) * sc.normal_resistance(A01, t))
    assert sc.channel_differential_resistance(A01, 0.0, 7.0, 0, 0) == sc.normal_resistance(A01, 7.0)
    assert sc.channel_voltage(A01, 0.0, 6.0, 0, 0) == 0.0


def test_device_b_stays_superconducting_in_hanle_range():
    for b in np.linspace(-0.5, 0.5, 11):
        assert sc.critical_temperature(B, 0.0, b) > 3.0
        assert sc.transition_ratio(B, 0.053, 0.0, b) == 0.0
        assert sc.gap(B, 0.053, 0.0, b) > 0.85 * B.gap0
