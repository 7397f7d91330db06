"""The simulated Co-NbSe2 devices show the paper's phenomena, read through the instruments.

Every number here comes from the simulated SR830 / Keithley over VISA, with the
station's clock, filters and noise, never from the model directly.
"""

import numpy as np
import pytest

from cryo_acq.measure import LockInSettings, go_to_temperature, loop_fields, read_resistance, set_bias, setup_lockin
from cryo_acq.station import Station

from conftest import STATIONS  # noqa: F401  (path setup)


@pytest.fixture
def station(tmp_path):
    """A shipped station with its sim section changed: station("vti-a01", device="E")."""
    made = []

    def make(name, **sim):
        text = Station.from_yaml.__func__  # noqa: B018 - keep linters quiet about unused
        from cryo_acq.station_file import resolve

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
    below = _vi_exponent(st, 6.72, np.geomspace(0.05e-6, 0.5e-6, 6))
    assert above == pytest.approx(1.0, abs=0.05)
    assert below > 5.0
