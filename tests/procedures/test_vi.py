"""vi through the runner on the simulated vti-a01: the BKT power law, fitted from the run file."""

import numpy as np
import pytest

from cryo_acq.run.runner import Runner
from cryo_acq.station import Station
from cryo_acq.station.file import resolve
from cryo_acq.run.storage import load_run
from procedures.vi import VI

from conftest import received, sent, sent_to_all

# a decade of current below the depairing scale at 6.3 K (~2 uA)
DECADE = {"current_min": 0.15e-6, "current_max": 1.5e-6, "points_per_decade": 8}


def _vi(**params):
    p = VI()
    p.set_parameters(params)
    return p


@pytest.fixture(scope="module")
def idle():
    """A vti-a01 station for refusals: nothing may reach it."""
    st = Station.from_yaml("vti-a01", sim=True)
    yield st
    st.close()


def _exponent(current, voltage):
    return np.polyfit(np.log(current), np.log(np.abs(voltage)), 1)[0]


def test_vi_power_law_from_the_file(station_factory, tmp_path):
    st = station_factory("vti-a01")
    run = load_run(Runner(st, _vi(temperatures="6.3, 7.0", bipolar=True, **DECADE), folder=tmp_path).run())
    assert run.status == "finished"
    assert run.units == {"temperature": "K", "current": "A", "voltage": "V", "time": "s"}
    assert run.plan["shape"] == [2, 18] and [a["name"] for a in run.plan["axes"]] == ["temperature", "current"]
    t, i, v = run.data["temperature"], run.data["current"], run.data["voltage"]
    currents = np.geomspace(0.15e-6, 1.5e-6, 9)
    assert np.allclose(i[:18], np.concatenate([currents, -currents]))  # up, then the negative branch
    exponents = {}
    for temperature in (6.3, 7.0):
        rows = np.abs(t - temperature) < 0.05  # the measured temperature
        assert rows.sum() == 18
        up = rows & (i > 0)
        exponents[temperature] = _exponent(i[up], v[up])
        assert np.allclose(v[rows & (i < 0)], -v[up], rtol=0.05, atol=2e-9)  # odd in I
    assert exponents[6.3] == pytest.approx(3.0, abs=0.3)  # BKT: V ~ I^3
    assert exponents[7.0] == pytest.approx(1.0, abs=0.02)  # normal: ohmic
    assert np.median(v[(np.abs(t - 7.0) < 0.05) & (i > 0)] / i[(np.abs(t - 7.0) < 0.05) & (i > 0)]) == \
        pytest.approx(20.0, rel=0.03)
    # DC only: the lock-in was at its minimum before the first current; afterwards the SMU is off
    assert all(sent(st, name) == len(received(st, name)) for name in ("smu", "lockin_a"))  # all in the log
    first = min(t for t, m in received(st, "smu") if m.startswith(":SOURCE:CURRENT ") and float(m.split()[1]))
    amplitudes = [m for t, m in received(st, "lockin_a") if m.startswith("SLVL") and m != "SLVL?" and t < first]
    assert amplitudes == ["SLVL0.004"]
    assert run.metadata["snapshot_end"]["smu"]["output_enabled"] is False


def test_vi_compliance_is_the_configurations_max_voltage(tmp_path):
    """A four-probe max_voltage of 0.1 mV: the SMU's compliance; the run stops where it trips."""
    text = resolve("vti-a01").read_text().replace("four_probe: {max_current: 200.0e-6, max_voltage: 1.0}",
                                                  "four_probe: {max_current: 200.0e-6, max_voltage: 1.0e-4}")
    path = tmp_path / "low-compliance.yaml"
    path.write_text(text)
    st = Station.from_yaml(path, sim=True)
    try:
        run = load_run(Runner(st, _vi(temperatures="7.0", current_min=1e-6, current_max=10e-6, points_per_decade=4),
                              folder=tmp_path).run())
    finally:
        st.close()
    assert run.status == "failed" and "compliance" in run.reason
    assert np.all(np.abs(run.data["voltage"]) <= 1e-4 * 1.001)  # 20 ohm x 5.6 uA > 0.1 mV: stopped there
    assert 0 < len(run.data["voltage"]) < 5


@pytest.mark.parametrize("params, message", [
    ({"current_max": 300e-6}, "exceeds the station limit"),  # four_probe max_current 200 uA
    ({"current_max": 200e-6}, "exceeds the station limit"),  # ... with the lock-in's least AC on top
    ({"temperatures": "6.3, 0.5"}, "outside the station range"),
    ({"temperatures": "6.3, 350"}, "outside the station range"),
    ({"temperatures": "6.3, nan"}, "not a finite number"),
    ({"temperatures": "6.3, inf"}, "not a finite number"),
    ({"temperatures": "6.3; 6.4"}, "not a number"),
    ({"temperatures": ""}, "empty"),
    ({"current_min": 0.0}, "current_min must be a current > 0"),
    ({"current_min": 2e-6, "current_max": 1e-6}, "below current_min"),
])
def test_vi_refuses_bad_input_sending_nothing(idle, tmp_path, params, message):
    before = sent_to_all(idle)
    with pytest.raises(ValueError, match=message):
        Runner(idle, _vi(**{**DECADE, "temperatures": "6.3, 7.0", **params}), folder=tmp_path / "runs").run()
    assert sent_to_all(idle) == before
    assert not (tmp_path / "runs").exists()


def test_vi_parameters_keep_the_list_as_typed():
    p = _vi(temperatures=[6.2, 6.3])
    assert p.temperatures == "6.2, 6.3"
    assert p.parameter_record()["temperatures"] == {"value": "6.2, 6.3", "units": "K"}
    assert "excitation" not in p.parameter_record()  # DC only: no lock-in parameters
