"""The whole stack with no hardware: role -> pymeasure driver -> pyvisa -> live sim -> lab.

Everything runs in virtual time with seeded noise, so these are exact and fast.
"""

import math

import numpy as np
import pytest
from scipy.special import gammainc

from cryo_acq.station.safety import LimitError
from conftest import raw_driver, sent

STATIONS = ["vti-a01", "dilution-b", "ami-ls372.yaml"]


def _warm_four_probe(st, kelvin):
    """Bring the sample above Tc and route the four-probe configuration."""
    st.temperature.set_temperature(kelvin)
    st.clock.sleep(20 * st.lab.fridge.time_constant)
    return st.use("four_probe")


@pytest.mark.parametrize("name", STATIONS)
def test_same_procedure_calls_on_every_station(station_factory, name):
    """A procedure-level script runs unchanged on each station, through the real drivers."""
    st = station_factory(name)
    m = _warm_four_probe(st, 4.0 if st.lab.fridge.base_temperature < 1 else 10.0)
    lockin, smu = m.lockin, m.source

    lockin.time_constant = 0.3
    lockin.filter_slope = 24
    lockin.sensitivity = 0.01
    lockin.set_excitation_current(100e-9)
    assert lockin.excitation_current == pytest.approx(100e-9, rel=1e-3)
    lockin.settle()
    r = lockin.resistance()
    # the normal-state film (20 ohm at the sample's R_N) seen through the wiring
    assert r == pytest.approx(st.lab.sample.differential_resistance("four_probe", 0.0, st.lab.environment()), rel=0.02)

    smu.enable()
    smu.set_current(1e-6)
    assert smu.measure_voltage() == pytest.approx(1e-6 * r, rel=0.02)

    axis = st.magnet.axes[-1]
    st.magnet.ramp_to(**{axis: 0.1}, rate=0.002)
    assert st.magnet.field()[axis] == pytest.approx(0.1, abs=1e-6)

    assert st.safe_state() == []
    assert not smu.output_enabled
    assert lockin.excitation == pytest.approx(lockin.min_excitation)


@pytest.mark.parametrize("name", STATIONS)
def test_ramp_takes_field_step_over_rate(station_factory, name):
    st = station_factory(name)
    magnet = st.magnet
    axis = magnet.axes[0]
    rate = 0.004  # T/s
    magnet.set_rate(axis, rate)
    magnet.poll = 0.05
    t0 = st.clock.now()
    magnet.ramp_to(**{axis: 0.6})
    elapsed = st.clock.now() - t0
    assert elapsed == pytest.approx(0.6 / rate, abs=1.0)  # poll and I/O granularity only
    assert magnet.field()[axis] == pytest.approx(0.6, abs=1e-6)


def test_ramp_is_linear_in_station_time(station_factory):
    st = station_factory("vti-a01")
    st.magnet.set_rate("x", 0.01)
    t0 = st.clock.now()
    st.magnet.start_ramp(x=1.0)
    st.clock.sleep(30.0)
    assert st.magnet.field()["x"] == pytest.approx(0.01 * (st.clock.now() - t0), rel=1e-3)
    assert st.magnet.ramping


@pytest.mark.parametrize("name", STATIONS)
def test_fridge_reaches_setpoint_on_its_thermal_time_scale(station_factory, name):
    st = station_factory(name)
    tc = st.temperature
    start = tc.temperature()
    target = 4.0 if st.lab.fridge.base_temperature < 1 else 10.0
    tau = st.lab.fridge.time_constant
    tc.set_temperature(target)
    st.clock.sleep(tau)
    one_tau = tc.temperature()
    # first-order relaxation: 63 % of the way after one time constant
    assert (one_tau - start) / (target - start) == pytest.approx(1 - math.exp(-1), abs=0.02)
    waited = tc.wait_stable(tolerance=0.01 * target, window=60, poll=5)
    assert 2 * tau < waited + tau < 8 * tau
    assert tc.temperature() == pytest.approx(target, rel=0.01)


def test_fridge_needs_heater_range_to_reach_setpoint(station_factory):
    st = station_factory("vti-a01")
    ls = raw_driver(st, "thermometry")
    ls.output_1.range = "off"
    ls.output_1.setpoint = 10.0
    st.clock.sleep(3600)
    assert ls.input_A.kelvin == pytest.approx(st.lab.fridge.base_temperature, rel=0.01)


@pytest.mark.parametrize("slope", [6, 12, 24])
def test_lockin_follows_its_filter_after_a_step(station_factory, slope):
    st = station_factory("vti-a01")
    m = _warm_four_probe(st, 10.0)
    li = m.lockin
    li.time_constant = 1.0
    li.filter_slope = slope
    li.sensitivity = 0.01
    li.set_excitation(0.004)
    st.clock.sleep(100)
    base = li.measure().x
    t0 = st.clock.now()
    li.set_excitation(1.0)  # the step
    r_sample = st.lab.sample.differential_resistance("four_probe", 0.0, st.lab.environment())
    final = r_sample * 1.0 / li.series_resistor
    n = slope // 6
    for k in [0.5, 1, 2, 4, 8]:
        st.clock.sleep(t0 + k - st.clock.now())
        dt = st.clock.now() - t0
        expected = base + (final - base) * gammainc(n, dt / 1.0)
        assert li.measure().x == pytest.approx(expected, abs=0.01 * final)
    # the settle time the role derives from tau and slope reaches 99 %
    assert li.settle_time(0.99) == pytest.approx(gammaincinv_ref(n, 0.99), rel=1e-6)


def gammaincinv_ref(n, p):
    from scipy.optimize import brentq

    return brentq(lambda x: gammainc(n, x) - p, 1e-9, 100)


def test_lockin_noise_shrinks_with_time_constant(station_factory):
    st = station_factory("vti-a01")
    li = st.use("four_probe").lockin  # superconducting at 1.5 K: only the noise floor remains
    li.set_excitation(0.004)
    li.sensitivity = 1e-6
    li.filter_slope = 6
    spreads = {}
    for tau in (0.03, 3.0):
        li.time_constant = tau
        xs = []
        for _ in range(200):
            st.clock.sleep(10 * tau)  # independent samples
            xs.append(li.measure().x)
        spreads[tau] = np.std(xs)
        # rms = density * sqrt(ENBW), ENBW = 1/(4 tau) for 6 dB/oct
        assert spreads[tau] == pytest.approx(6e-9 * math.sqrt(1 / (4 * tau)), rel=0.2)
    assert spreads[0.03] / spreads[3.0] == pytest.approx(10, rel=0.25)


def test_lockin_overload_sets_bits_and_clips(station_factory):
    st = station_factory("vti-a01")
    m = _warm_four_probe(st, 10.0)
    li = m.lockin
    li.set_excitation(1.0)  # 100 nA * 20 ohm = 2 uV
    li.time_constant = 0.1
    li.sensitivity = 1e-6
    li.settle()
    reading = li.measure()
    assert reading.overload
    assert reading.x == pytest.approx(1e-6)  # clipped at full scale
    li.auto_range()
    reading = li.measure()
    assert not reading.overload
    expected = st.lab.sample.differential_resistance("four_probe", 0.0, st.lab.environment()) * li.excitation_current
    assert reading.x == pytest.approx(expected, rel=0.02)
    assert li.sensitivity >= reading.x


def test_same_seed_same_data(station_factory):
    def run():
        st = station_factory("vti-a01")
        li = st.use("four_probe").lockin
        li.time_constant = 0.1
        li.sensitivity = 1e-6
        out = []
        for _ in range(20):
            st.clock.sleep(0.5)
            out.append(li.measure().x)
        return out

    assert run() == run()


def test_smu_compliance_clamps_and_trips(station_factory):
    st = station_factory("vti-a01")
    m = _warm_four_probe(st, 10.0)
    smu = m.source
    smu.enable(compliance=1e-3)
    smu.set_current(100e-6)  # 100 uA * 20 ohm = 2 mV > 1 mV compliance
    assert smu.measure_voltage() == pytest.approx(1e-3)
    assert smu.compliance_tripped
    smu.set_current(10e-6)
    assert not smu.compliance_tripped


# --------------------------------------------------------------------------- limits
@pytest.mark.parametrize("attempt, instrument", [
    (lambda st: st.magnet.start_ramp(x=10.5), "magnet"),
    (lambda st: st.magnet.set_rate("x", 0.02), "magnet"),
    (lambda st: st.temperature.set_temperature(400.0), "thermometry"),
    (lambda st: st.temperature.set_temperature(0.5), "thermometry"),
    (lambda st: st.use("mtj").source.set_current(5e-6), "smu"),
    (lambda st: _dc_then_ac(st, dc=1.8e-6, ac=0.3e-6), "lockin_b"),
    (lambda st: st.source().enable(compliance=20.0), "smu"),
])
def test_limit_refused_before_anything_is_sent(station_factory, attempt, instrument):
    st = station_factory("vti-a01")
    before = sent(st, instrument)
    with pytest.raises(LimitError) as err:
        attempt(st)
    assert "limit" in str(err.value) or "range" in str(err.value)
    assert sent(st, instrument) == before


def _dc_then_ac(st, dc, ac):
    m = st.use("mtj")
    m.source.enable()
    m.source.set_current(dc)
    m.lockin.set_excitation_current(ac)  # 1.8 uA + sqrt(2) 0.3 uA > 2 uA


def test_vector_norm_limit_and_ordered_ramp(station_factory):
    st = station_factory("dilution-b")
    magnet = st.magnet
    for axis in "xyz":
        magnet.set_rate(axis, 0.002)
    with pytest.raises(LimitError, match="station limit 7 T"):
        magnet.start_ramp(x=6.9, z=1.5)  # |B| = 7.06 T > 7 T
    magnet.ramp_to(x=6.9)
    # going from (6.9, 0, 0) to (2, 0, 1.9) at independent speeds could pass (6.9, 0, 1.9)
    with pytest.raises(LimitError, match="norm"):
        magnet.start_ramp(x=2.0, z=1.9)
    magnet.ramp_to(x=2.0, z=1.9)  # shrinking x first keeps |B| <= 7 T throughout
    assert magnet.field() == pytest.approx({"x": 2.0, "y": 0.0, "z": 1.9}, abs=1e-6)


def test_supply_rate_above_the_limit_is_brought_down_before_a_ramp(station_factory):
    st = station_factory("dilution-b")
    ips = raw_driver(st, "magnet")
    ips.z.field_ramp_rate = 0.01  # set behind the station's back: 5x the z limit
    t0 = st.clock.now()
    st.magnet.ramp_to(z=0.2)
    assert st.clock.now() - t0 >= 0.2 / 0.002
    assert ips.z.field_ramp_rate == pytest.approx(0.002)


def test_refused_configuration_switch_changes_nothing(station_factory):
    st = station_factory("vti-a01")
    m = st.use("four_probe")
    m.source.enable()
    m.source.set_current(10e-6)  # fine for four_probe, not for mtj (2 uA)
    with pytest.raises(LimitError, match="mtj"):
        st.use("mtj")
    assert m.source.checked_configurations == ["four_probe"]
    assert m.lockin.checked_configurations == ["four_probe"]


def test_excitation_limit_counts_dc_and_ac_together(station_factory):
    st = station_factory("vti-a01")
    m = st.use("mtj")
    m.source.enable()
    m.source.set_current(1.5e-6)
    with pytest.raises(LimitError, match="mtj"):
        m.lockin.set_excitation_current(0.5e-6)  # 1.5 + sqrt(2)*0.5 > 2 uA




def test_the_station_owns_one_io_lock_that_every_exchange_holds():
    """Another thread's exchange (a lock-in query, a magnet channel query) waits while
    someone holds the station's I/O lock, and goes through once it is free."""
    import threading

    from cryo_acq.station import Station

    with Station.from_yaml("vti-a01", sim=True) as st:
        got = []
        readers = [threading.Thread(target=lambda: got.append(st.lockin("lockin_a").sensitivity)),
                   threading.Thread(target=lambda: got.append(st.magnet.field()["x"]))]
        with st.io_lock:
            for reader in readers:
                reader.start()
            for reader in readers:
                reader.join(0.3)
            assert all(r.is_alive() for r in readers) and not got  # both wait for the lock
        for reader in readers:
            reader.join(5)
        assert len(got) == 2 and got[0] > 0
        assert all(link.lock is st.io_lock for link in st.links.values())
