"""Tunnelling spectroscopy (paper eq. 1) and the current-biased junction."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from sim.conbse2.parameters import E, K_B
from sim.conbse2.tunnelling import (
    KEY_RELATIVE_STEP,
    Junction,
    density_of_states,
    differential_resistance,
    gap_voltage,
    normalized_conductance,
    voltage,
)

TC = 6.6  # K, device A01
GAP = 1.764 * K_B * TC  # J
DV = GAP / E  # gap voltage
R_N = 5.0e3


def test_gap_voltage():
    assert gap_voltage(GAP) == pytest.approx(1.764 * K_B * TC / E)
    assert DV == pytest.approx(1.003e-3, rel=1e-3)


@pytest.mark.parametrize("l", [0, 1])
def test_dos_branch_positive_and_even(l):
    """Branch with Im sqrt <= 0: the Dynes DOS is positive on both sides of E_F, -> 1 far away."""
    e = np.array([-20, -1.2, -0.5, 0.5, 1.2, 20]) * GAP
    n = density_of_states(e, GAP, 0.05 * GAP, l)
    assert np.all(n > 0)
    np.testing.assert_allclose(n, n[::-1], rtol=1e-12)
    assert n[0] == pytest.approx(1.0, abs=2e-3)
    # the naive principal root would give -1 below E_F
    z = -20 * GAP / E - 0.05j * GAP / E
    assert (z / np.sqrt(z ** 2 - DV ** 2)).real == pytest.approx(-1.0, abs=2e-3)


@pytest.mark.parametrize("l", [0, 1])
def test_normal_state_and_far_from_gap(l):
    v = np.linspace(-5e-3, 5e-3, 101)
    np.testing.assert_allclose(normalized_conductance(v, 1.5, 0.0, 0.05 * GAP, l), 1.0, rtol=1e-12)
    far = normalized_conductance(np.array([-10 * DV, 10 * DV]), 0.1 * TC, GAP, 0.05 * GAP, l)
    np.testing.assert_allclose(far, 1.0, rtol=0.02)
    j = Junction()
    for i in (-3e-7, 1e-9, 2e-6):
        assert j.voltage(i, 1.5, 0.0, 0.05 * GAP, l, R_N) == pytest.approx(i * R_N, rel=1e-12)
        assert j.differential_resistance(i, 1.5, 0.0, 0.05 * GAP, l, R_N) == pytest.approx(R_N)


def test_s_wave_coherence_peaks_and_hard_gap():
    v = np.linspace(-3 * DV, 3 * DV, 6001)
    g = normalized_conductance(v, 0.1 * TC, GAP, 0.01 * GAP, 0)
    pos = v > 0
    peak = v[pos][np.argmax(g[pos])]
    assert peak == pytest.approx(DV, rel=0.10)
    assert v[~pos][np.argmax(g[~pos])] == pytest.approx(-peak, rel=1e-9)  # symmetric
    assert g.max() > 1.8
    assert normalized_conductance(0.0, 0.1 * TC, GAP, 0.01 * GAP, 0) < 0.1


def test_p_wave_v_shaped_no_hard_gap():
    gamma = 0.01 * GAP
    v = np.linspace(0, 0.6 * DV, 61)
    gp = normalized_conductance(v, 0.1 * TC, GAP, gamma, 1)
    gs = normalized_conductance(v, 0.1 * TC, GAP, gamma, 0)
    assert gp[0] > 2 * gs[0]
    assert gp[0] > 0.02 and np.all(gp[10:] > 0.5 * v[10:] / DV)  # no hard gap: states all through it
    # nodal gap: N(E) ~ |E| / Delta at small E, so g is linear in V with slope ~ e / Delta
    sel = (v >= 0.2 * DV) & (v <= 0.5 * DV)
    slope, intercept = np.polyfit(v[sel], gp[sel], 1)
    fit = slope * v[sel] + intercept
    assert np.max(np.abs(fit - gp[sel])) < 0.01
    assert slope * DV == pytest.approx(1.0, rel=0.15)
    assert np.all(np.diff(gp) > 0)
    # the s-wave gap stays flat and nearly empty over the same range
    assert gs[sel].max() < 0.05


def test_thermal_smearing_fills_gap_and_lowers_peak():
    v = np.linspace(0, 2 * DV, 801)
    cold = normalized_conductance(v, 0.1 * TC, GAP, 0.01 * GAP, 0)
    warm = normalized_conductance(v, 0.5 * TC, GAP, 0.01 * GAP, 0)
    assert warm[0] > cold[0] + 0.1
    assert warm.max() < cold.max() - 0.2


@pytest.mark.parametrize("l", [0, 1])
def test_zero_bias_peak_term(l):
    width = 0.15e-3
    v = np.array([0.0, 5 * width, -5 * width])
    bare = normalized_conductance(v, 1.5, GAP, 0.05 * GAP, l)
    zbp = normalized_conductance(v, 1.5, GAP, 0.05 * GAP, l, zbp_height=0.3, zbp_width=width)
    assert zbp[0] - bare[0] == pytest.approx(0.3, rel=1e-12)
    np.testing.assert_allclose(zbp[1:] - bare[1:], 0.0, atol=1e-5)


@pytest.mark.parametrize("l", [0, 1])
def test_states_conserved(l):
    v = np.linspace(-40 * DV, 40 * DV, 80001)
    g = normalized_conductance(v, 0.1 * TC, GAP, 0.01 * GAP, l)
    excess = np.trapezoid(g - 1.0, v)
    assert abs(excess) < 0.03 * np.trapezoid(np.abs(g - 1.0), v)
    assert abs(excess) < 0.05 * DV  # what remains is the 1 / V^2 tail beyond 40 Delta


def _args(l=0, temperature=0.1 * TC, zbp_height=0.0):
    return dict(temperature=temperature, gap=GAP, gamma=0.01 * GAP, l=l, r_normal=R_N,
                zbp_height=zbp_height, zbp_width=0.15e-3)


@pytest.mark.parametrize("l,zbp", [(0, 0.0), (1, 0.0), (1, 0.3)])
def test_junction_odd_monotonic_and_consistent(l, zbp):
    j = Junction()
    a = _args(l, 1.5, zbp)
    currents = np.linspace(-8 * DV / R_N, 8 * DV / R_N, 1601)
    v = j.voltage(currents, **a)
    np.testing.assert_allclose(v, -v[::-1], rtol=1e-12, atol=1e-15)
    assert np.all(np.diff(v) > 0)
    scalar = [j.voltage(float(i), **a) for i in currents[::100]]
    np.testing.assert_allclose(scalar, v[::100], rtol=1e-12, atol=1e-15)
    # I = (1/R_N) Int_0^V g, against the spectrum computed independently
    for i in (0.3 * DV / R_N, 1.1 * DV / R_N, 4 * DV / R_N):
        vi = j.voltage(i, **a)
        grid = np.linspace(0, vi, 20001)
        g = normalized_conductance(grid, a["temperature"], GAP, a["gamma"], l, zbp, a["zbp_width"])
        assert np.trapezoid(g, grid) / R_N == pytest.approx(i, rel=2e-3)


@pytest.mark.parametrize("l,zbp", [(0, 0.0), (1, 0.3)])
def test_differential_resistance_is_dv_di(l, zbp):
    j = Junction()
    a = _args(l, 1.5, zbp)
    for i in (-2e-8, 5e-9, 0.15 * DV / R_N, 0.9 * DV / R_N, 1.05 * DV / R_N, 3 * DV / R_N, 30 * DV / R_N):
        di = 1e-4 * max(abs(i), 1e-3 * DV / R_N)
        num = (j.voltage(i + di, **a) - j.voltage(i - di, **a)) / (2 * di)
        assert j.differential_resistance(i, **a) == pytest.approx(num, rel=1e-3)


def test_differential_resistance_inside_and_far_outside_gap():
    j = Junction()
    a = _args(0)
    small = 0.005 * DV / R_N  # junction bias deep inside the gap
    assert j.voltage(small, **a) < 0.5 * DV
    assert j.differential_resistance(small, **a) > 5 * R_N
    big = 50 * DV / R_N  # beyond the tabulated grid: continues with the normal state
    assert j.differential_resistance(big, **a) == pytest.approx(R_N, rel=1e-3)
    assert j.voltage(big, **a) == pytest.approx(big * R_N, rel=1e-3)
    assert j.differential_resistance(12 * DV / R_N, **a) == pytest.approx(R_N, rel=0.01)


def test_module_functions_match_class():
    a = _args(1, 1.5, 0.3)
    i = 0.2 * DV / R_N
    j = Junction()
    assert voltage(i, **a) == j.voltage(i, **a)
    assert differential_resistance(i, **a) == j.differential_resistance(i, **a)


def _lattice(x):
    """The centre of x's 0.1 % rounding cell (the key lattice is logarithmic)."""
    step = math.log1p(KEY_RELATIVE_STEP)
    return math.exp(round(math.log(x) / step) * step)


def test_cache_fast_and_identical():
    a = _args(1, 1.5, 0.3)
    i = 0.1e-6
    first = Junction()
    t0 = time.perf_counter()
    v1 = first.operating_point(i, **a)
    build = time.perf_counter() - t0
    n = 2000
    t0 = time.perf_counter()
    for _ in range(n):
        v2 = first.operating_point(i, **a)
    cached = (time.perf_counter() - t0) / n
    assert v2 == v1
    assert cached < 50e-6 and cached < build
    info = first.cache_info()
    assert info.misses == 1 and info.hits == n
    # arguments within the 0.1 % rounding share the table ...
    a = dict(a, temperature=_lattice(a["temperature"]), gap=_lattice(GAP))
    v1 = first.operating_point(i, **a)
    misses = first.cache_info().misses
    nudged = dict(a, temperature=a["temperature"] * (1 + 3e-4), gap=a["gap"] * (1 - 3e-4))
    first.voltage(i, **nudged)
    assert first.cache_info().misses == misses
    # ... and the table is built from the rounded key, so call order does not matter
    second = Junction()
    assert second.operating_point(i, **nudged) == first.operating_point(i, **nudged)
    assert second.operating_point(i, **a) == v1
    assert first.cache_info().misses == misses
    # outside the rounding: a new table
    first.voltage(i, **dict(a, temperature=1.6))
    assert first.cache_info().misses == misses + 1


def test_cache_is_bounded():
    j = Junction(cache_size=4)
    for k in range(10):
        j.voltage(1e-7, **_args(0, 1.0 + 0.05 * k))
    assert j.cache_info().size == 4
