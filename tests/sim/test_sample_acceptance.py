"""The simulated Co-NbSe2 devices show the paper's phenomena, read through the instruments.

Every number here comes from the simulated SR830 / Keithley over VISA, with the
station's clock, filters and noise, never from the model directly.
"""

import numpy as np
import pytest

from cryo_acq.run.measure import (LockInSettings, go_to_temperature, hysteresis_loop, read_resistance, set_bias,
                              setup_lockin)
from cryo_acq.station import Station



@pytest.fixture
def station(tmp_path):
    """A shipped station with its sim section changed: station("vti-a01", device="E")."""
    made = []

    def make(name, **sim):
        from cryo_acq.station.file import resolve

        source = resolve(name).read_text()
        for key, value in sim.items():
            lines = [ln for ln in source.splitlines() if not ln.startswith(f"  {key}:")]
            index = lines.index("sim:")
            lines.insert(index + 1, f"  {key}: {value}")
            source = "\n".join(lines) + "\n"
        path = tmp_path / f"{name}-{len(made)}.yaml"
        path.write_text(source)
        st = Station.from_yaml(path, sim=True)
        made.append(st)
        return st

    yield make
    for st in made:
        st.close()


FOUR_PROBE = LockInSettings(excitation_current=100e-9, time_constant=0.3)


def _rt(st, temperatures, field_x=0.0):
    m = st.use("four_probe")
    if field_x:
        st.magnet.ramp_to(x=field_x)
    out = []
    for i, T in enumerate(temperatures):
        go_to_temperature(st, T)
        if i == 0:
            setup_lockin(m, FOUR_PROBE)
        out.append(read_resistance(m, FOUR_PROBE))
    return np.array(out)


# --------------------------------------------------------------------------- R-T
def test_a01_rt_transition_and_reentrant_phase(station):
    st = station("vti-a01")
    temps = np.round(np.arange(7.0, 6.19, -0.02), 3)
    r = _rt(st, temps)
    r_n = r[0]
    assert r_n == pytest.approx(20.0, rel=0.02)
    onset = temps[np.argmax(r < 0.9 * r_n)]
    assert onset == pytest.approx(6.6, abs=0.1)
    assert r[-1] < 0.01 * r_n  # zero resistance below T_BKT

    r_low = _rt(st, [1.5])[0]
    assert r_low / r_n == pytest.approx(0.4, abs=0.05)  # the re-entrant resistive phase

    st.magnet.set_rate("x", 0.01)
    st.magnet.ramp_to(x=4.0)  # above B_K: re-entrant superconductivity
    assert read_resistance(st.use("four_probe"), FOUR_PROBE) < 0.01 * r_n


def test_device_e_has_no_reentrant_phase(station):
    st = station("vti-a01", device="E")
    r_n, r_low = _rt(st, [8.0, 1.5])
    assert r_n == pytest.approx(20.0, rel=0.05)
    assert r_low < 0.01 * r_n


# --------------------------------------------------------------------------- V-I
def _vi_exponent(st, temperature, currents):
    go_to_temperature(st, temperature)
    m = st.use("four_probe")
    volts = []
    for current in currents:
        set_bias(m, current)
        volts.append(m.source.measure_voltage())
    m.source.safe()
    slope = np.polyfit(np.log(currents), np.log(np.abs(volts)), 1)[0]
    return slope


def test_a01_vi_power_law(station):
    st = station("vti-a01")
    # a decade of current below the depairing scale at 6.3 K (~2 uA)
    assert _vi_exponent(st, 6.3, np.geomspace(0.15e-6, 1.5e-6, 8)) == pytest.approx(3.0, abs=0.3)
    assert _vi_exponent(st, 7.0, np.geomspace(1e-6, 100e-6, 8)) == pytest.approx(1.0, abs=0.02)


def test_device_d_alpha_jumps_abruptly(station):
    st = station("vti-a01", device="D")
    above = _vi_exponent(st, 6.85, np.geomspace(1e-6, 10e-6, 6))
    below = _vi_exponent(st, 6.74, np.geomspace(0.15e-6, 1.5e-6, 6))  # 0.06 K below Tc0
    assert above == pytest.approx(1.0, abs=0.05)
    assert below == pytest.approx(6.0, abs=0.5)


# --------------------------------------------------------------------------- TMR
JUNCTION = LockInSettings(excitation_current=10e-9, time_constant=0.3)


def _tmr_loop(st, temperature, bias, amplitude=0.05, step=0.002):
    go_to_temperature(st, temperature)
    m = st.use("mtj")
    set_bias(m, bias)
    setup_lockin(m, JUNCTION)
    return hysteresis_loop(st, m, "x", amplitude, step, JUNCTION)  # from saturation along -x


def _at(st, m, b, settings=JUNCTION):
    """Field to B_x = b (T), then dV/dI (ohm)."""
    st.magnet.ramp_to(x=float(b))
    return read_resistance(m, settings)


def test_a01_tmr_hysteresis_below_tk_inside_the_gap(station):
    st = station("vti-a01")
    up, r_up, down, r_down = _tmr_loop(st, 1.5, 0.1e-6)
    # up and down sweeps differ: a hysteresis loop is really there
    assert np.max(np.abs(r_up - r_down[::-1])) > 0.05 * np.median(r_up)
    r_parallel = np.median(r_up[np.abs(up) > 0.035])
    window_up = (up > 0.010) & (up < 0.023)  # between the Co-NbSe2 (8 mT) and Co (25 mT) switches
    window_down = (down < -0.010) & (down > -0.023)
    assert np.all(r_up[window_up] > 1.05 * r_parallel)
    assert np.all(r_down[window_down] > 1.05 * r_parallel)
    assert np.all(np.abs(r_up[(up > -0.006) & (up < 0.006)] / r_parallel - 1) < 0.01)  # parallel at zero field
    delta = np.median(r_up[window_up]) - r_parallel
    assert delta / r_parallel == pytest.approx(0.10, abs=0.03)


@pytest.mark.parametrize("temperature, bias", [(5.0, 0.1e-6), (1.5, 1.9e-6)])
def test_a01_no_bistability_above_tk_or_outside_the_gap(station, temperature, bias):
    st = station("vti-a01")
    up, r_up, down, r_down = _tmr_loop(st, temperature, bias)
    assert np.max(np.abs(r_up - r_down[::-1])) < 0.005 * np.median(r_up)


# --------------------------------------------------------------------------- non-local
NONLOCAL = LockInSettings(excitation_current=50e-9, time_constant=0.3)


def _prepare(st, alignment):
    """P: saturate along -x. AP: then flip only the detector (12 mT < B < 20 mT). Field back to 0."""
    st.magnet.ramp_to(x=-0.04)
    if alignment == "antiparallel":
        st.magnet.ramp_to(x=0.016)
    st.magnet.ramp_to(x=0.0)


def _hanle(st, channel, alignment, fields, temperature=0.053, bias=0.1e-6):
    go_to_temperature(st, temperature)
    m = st.use("nonlocal", channel=channel)
    set_bias(m, bias)
    setup_lockin(m, NONLOCAL)
    _prepare(st, alignment)
    out = []
    for b in fields:
        st.magnet.ramp_to(z=float(b))
        out.append(read_resistance(m, NONLOCAL))
    st.magnet.ramp_to(z=0.0)
    return np.array(out)


def _zero_crossing(fields, values):
    i = np.flatnonzero(np.sign(values[:-1]) != np.sign(values[1:]))[0]
    return fields[i] - values[i] * (fields[i + 1] - fields[i]) / (values[i + 1] - values[i])


def test_b_hanle_sign_change_and_opposite_alignments(station):
    st = station("dilution-b")
    fields = np.round(np.arange(0.0, 0.501, 0.025), 3)
    r_p = _hanle(st, 0.8e-6, "parallel", fields)
    r_ap = _hanle(st, "L08", "antiparallel", fields)
    assert r_p[0] > 0 > r_ap[0]  # opposite in sign
    spin = (r_p - r_ap) / 2  # the precessing spin signal, background removed
    assert _zero_crossing(fields, spin) == pytest.approx(0.125, rel=0.10)
    assert spin[-1] < 0 and abs(spin[-1]) < 0.2 * spin[0]  # past the sign change, settling by 0.5 T
    negative = _hanle(st, "L08", "parallel", -fields)
    assert negative == pytest.approx(r_p, abs=0.01 * r_p[0])  # symmetric in B_perp


def test_b_hanle_flat_above_tc(station):
    st = station("dilution-b")
    fields = np.round(np.arange(0.0, 0.501, 0.05), 3)
    r = _hanle(st, "L08", "parallel", fields, temperature=4.0)
    assert np.ptp(r) < 0.01 * st.lab.sample.p.nonlocal_delta_r


def test_b_long_channel_second_peak_without_sign_change(station):
    st = station("dilution-b")
    fields = np.round(np.arange(0.0, 0.701, 0.025), 3)
    spin = (_hanle(st, "L30", "parallel", fields) - _hanle(st, "L30", "antiparallel", fields)) / 2
    assert np.all(spin > 0)  # no sign change
    peaks = [i for i in range(1, len(fields) - 1) if spin[i] > spin[i - 1] and spin[i] > spin[i + 1]]
    assert len(peaks) == 1 and fields[peaks[0]] == pytest.approx(0.4, abs=0.05)


def _switching_amplitude(st, bias, temperature=0.053):
    go_to_temperature(st, temperature)
    m = st.use("nonlocal", channel="L08")
    set_bias(m, bias)
    setup_lockin(m, NONLOCAL)
    st.magnet.ramp_to(x=-0.04)
    r = np.array([_at(st, m, b) for b in np.arange(0.0, 0.0401, 0.002)])
    return r[np.argmax(np.abs(r - r[0]))] - r[0]  # signed: AP minus P


def test_b_nonlocal_switching_only_inside_the_gap(station):
    st = station("dilution-b")
    amplitude = {i: _switching_amplitude(st, i * 1e-6) for i in (-4.0, -1.0, 0.0, 0.5, 1.0, 2.5, 4.0)}
    for current in (-1.0, 0.0, 0.5, 1.0, 2.5):
        assert abs(amplitude[current]) > 0.05  # ohm: switching inside the gap
    for current in (-4.0, 4.0):
        assert abs(amplitude[current]) < 0.005  # outside the gap: none
    assert np.sign(amplitude[0.5]) != np.sign(amplitude[2.5])  # the sign change at finite I_inj


@pytest.mark.parametrize("device, temperature", [("B", 4.0), ("D", 0.053)])
def test_no_nonlocal_switching_above_tc_or_in_device_d(station, device, temperature):
    st = station("dilution-b", device=device)
    assert abs(_switching_amplitude(st, 0.1e-6, temperature)) < 0.005


# --------------------------------------------------------------------------- dI/dV and AMR
def _didv(st, temperature, biases, field_x=0.0):
    go_to_temperature(st, temperature)
    m = st.use("mtj")
    st.magnet.ramp_to(x=field_x)
    set_bias(m, 0.0)
    setup_lockin(m, JUNCTION)
    out = []
    for current in biases:
        m.source.set_current(float(current))
        out.append((m.source.measure_voltage(), 1.0 / read_resistance(m, JUNCTION)))
    return np.array(out).T  # bias voltage (V), dI/dV (S)


def test_a01_zero_bias_peak_only_in_the_ferromagnetic_phase(station):
    st = station("vti-a01")
    biases = np.linspace(-0.06e-6, 0.06e-6, 13)
    for temperature, field_x, zbp in [(1.5, 0.0, True), (5.0, 0.0, False), (1.5, 4.0, False)]:
        v, g = _didv(st, temperature, biases, field_x)
        centre = len(biases) // 2
        assert abs(v[centre]) < 1e-6
        if zbp:  # a peak at zero bias
            assert g[centre] > g[centre - 2] and g[centre] > g[centre + 2]
        else:  # the gap's dip, no peak
            assert g[centre] < g[centre - 2] and g[centre] < g[centre + 2]


def test_co_stripe_amr_is_milliohms_at_the_coercive_field(station):
    st = station("vti-a01")
    go_to_temperature(st, 2.0)
    m = st.use("co_amr")
    settings = LockInSettings(excitation_current=0.45e-6, time_constant=1.0)
    setup_lockin(m, settings)
    st.magnet.ramp_to(x=-0.05)
    fields = np.arange(0.0, 0.0401, 0.001)
    r = np.array([_at(st, m, b, settings) for b in fields])
    dip = fields[np.argmin(r)]
    assert dip == pytest.approx(0.025, abs=0.002)  # the Co electrode's coercive field
    assert np.max(r) - np.min(r) == pytest.approx(0.15, rel=0.2)  # ohm: the AMR
