"""didv through the runner on the simulated vti-a01: the zero-bias peak of the
ferromagnetic phase and the gap's dip, read from the run file."""

import numpy as np
import pytest

from cryo_acq.run.runner import Runner
from cryo_acq.station import Station
from cryo_acq.run.storage import load_run
from procedures.didv import DIDV

from conftest import received, sent, sent_to_all

BIAS = {"bias_min": -0.06e-6, "bias_max": 0.06e-6, "bias_step": 0.01e-6}
CENTRE = 6  # zero bias in the 13-point sweep


def _didv(**params):
    p = DIDV()
    p.set_parameters(params)
    return p


@pytest.fixture(scope="module")
def idle():
    """A vti-a01 station for refusals: nothing may reach it."""
    st = Station.from_yaml("vti-a01", sim=True)
    yield st
    st.close()


def _peak(g):
    return g[CENTRE] > g[CENTRE - 2] and g[CENTRE] > g[CENTRE + 2]


def _dip(g):
    return g[CENTRE] < g[CENTRE - 2] and g[CENTRE] < g[CENTRE + 2]


def test_didv_versus_temperature_zero_bias_peak_then_gap_dip(station_factory, tmp_path):
    st = station_factory("vti-a01")
    run = load_run(Runner(st, _didv(temperatures="1.5, 5.0", **BIAS), folder=tmp_path).run())
    assert run.status == "finished"
    assert run.units == {"temperature": "K", "field": "T", "bias_voltage": "V", "didv": "S",
                         "bias_voltage_at_reading": "V", "lockin_tau": "s", "lockin_poles": "", "time": "s"}
    assert run.plan["shape"] == [2, 13]
    assert [a["name"] for a in run.plan["axes"]] == ["temperature", "bias_current"]
    g, v, t = run.grid["didv"], run.grid["bias_voltage"], run.grid["temperature"]
    assert np.allclose(t, [[1.5] * 13, [5.0] * 13], atol=0.02)  # measured
    assert np.all(np.abs(v[:, CENTRE]) < 1e-6)  # zero bias is zero volts
    assert np.all(np.diff(v, axis=1) > 0)  # the junction's DC voltage follows the bias
    assert np.all(np.abs(v) < 0.05)  # within the junction's max_voltage (the SMU's compliance)
    assert _peak(g[0])  # 1.5 K, 0 T: the zero-bias peak of the ferromagnetic phase
    assert _dip(g[1])  # 5 K (> T_K): the superconducting gap, no peak
    assert np.all((g > 1e-5) & (g < 1e-3))  # ~1/(5 kohm)
    # the SMU's compliance was the junction's max_voltage
    assert sent(st, "smu") == len(received(st, "smu"))  # the log holds every message
    assert ":SENSE:VOLTAGE:PROTECTION 0.05" in [m for _, m in received(st, "smu")]


def test_didv_versus_field_peak_screened_above_b_k(station_factory, tmp_path):
    st = station_factory("vti-a01")
    run = load_run(Runner(st, _didv(versus="field", fields="0, 4", temperature=1.5, field_rate=0.01, **BIAS),
                          folder=tmp_path).run())
    assert run.status == "finished"
    assert run.units == {"temperature": "K", "field": "T", "bias_voltage": "V", "didv": "S",
                         "bias_voltage_at_reading": "V", "lockin_tau": "s", "lockin_poles": "", "time": "s"}
    g, b = run.grid["didv"], run.grid["field"]
    assert np.allclose(b, [[0.0] * 13, [4.0] * 13], atol=1e-3)  # measured on x
    assert np.allclose(run.grid["temperature"], 1.5, atol=0.01)  # and the temperature, at every point
    assert run.plan["axes"][0]["name"] == "field"  # the outer axis says what the run stepped
    assert _peak(g[0])  # inside B_K
    assert _dip(g[1])  # 4 T > B_K: no peak, the gap
    # the columns do not depend on ``versus``: one list on the class, for every instance
    assert _didv(versus="field").DATA_COLUMNS == _didv().DATA_COLUMNS == DIDV.DATA_COLUMNS == [
        "temperature", "field", "bias_voltage", "didv", "bias_voltage_at_reading", "lockin_tau", "lockin_poles", "time"]


@pytest.mark.parametrize("params, message", [
    ({"bias_max": 2.5e-6, "bias_step": 0.02e-6}, "mtj"),  # above the junction's 2 uA
    ({"bias_min": -2.0e-6, "bias_step": 0.02e-6}, "mtj"),  # 2 uA DC plus the AC peak
    ({"bias_min": -1.5e-6, "bias_max": 1.5e-6, "bias_step": 0.5e-6, "excitation": 0.4e-6}, "mtj"),  # + AC peak
    ({"excitation": 1.5e-6}, "I_ac = 1.5e-06 A rms"),  # its peak on any bias exceeds the junction's 2 uA
    ({"temperatures": "1.5, 1.0"}, "outside the station range"),
    ({"temperatures": "1.5, nan"}, "not a finite number"),
    ({"versus": "field", "fields": "0, 10.5"}, "exceeds the station limit"),
    ({"versus": "field", "fields": "0, 4", "temperature": 0.5}, "outside the station range"),
    ({"versus": "field", "fields": "0, 4", "field_rate": 0.02}, "ramp rate"),
    ({"field": 11.0}, "exceeds the station limit"),
    ({"bias_step": 0.0}, "step is zero"),
    ({"bias_step": -0.01e-6}, "points away"),
    ({"bias_step": 0.007e-6}, "does not divide"),
    ({"bias_max": float("nan")}, "finite"),
])
def test_didv_refuses_bad_input_sending_nothing(idle, tmp_path, params, message):
    before = sent_to_all(idle)
    with pytest.raises(ValueError, match=message):
        Runner(idle, _didv(**{"temperatures": "1.5, 5.0", **BIAS, **params}), folder=tmp_path / "runs").run()
    assert sent_to_all(idle) == before
    assert not (tmp_path / "runs").exists()


def _within_errors(a, b, names):
    """Each fitted value of ``a`` within two combined standard errors of ``b``'s (two
    independent noisy runs of the same sample)."""
    for name in names:
        error = np.hypot(a.errors[name], b.errors[name])
        assert abs(a.values[name] - b.values[name]) <= 2 * error, (name, a.values[name], b.values[name], error)


def _modes(tmp_path, modes, **params) -> dict:
    """One finished run per mode, each on a fresh simulated vti-a01."""
    runs = {}
    for mode in modes:
        with Station.from_yaml("vti-a01", sim=True) as st:
            runs[mode] = load_run(Runner(st, _didv(mode=mode, **params), folder=tmp_path).run())
        assert runs[mode].status == "finished", runs[mode].reason
    return runs


def test_an_adaptive_didv_recovers_the_dense_fit_with_a_third_of_the_points(tmp_path):
    """1.5 K, -60 .. 60 nA in 1 nA (121 biases): the adaptive plan measures 41 of them,
    chosen where dI/dV changes (here a smooth zero-bias peak: nearly evenly), and the
    tunnelling fit (Delta0, Gamma) agrees with the dense stepped run's within errors, in
    less fridge time."""
    from cryo_acq.analysis import fit_run

    params = dict(temperatures="1.5", bias_min=-0.06e-6, bias_max=0.06e-6, bias_step=0.001e-6)
    runs = _modes(tmp_path, ("stepped", "adaptive"), **params)
    dense, adaptive = runs["stepped"], runs["adaptive"]
    assert len(adaptive.data["didv"]) == 41 <= len(dense.data["didv"]) / 3 + 1
    assert adaptive.plan["adaptive"]["signal"] == "didv"
    assert adaptive.done.sum() == 41 and not adaptive.done.all()  # the grid holds what was measured
    biases = np.array(adaptive.plan["axes"][1]["values"])[np.asarray(adaptive.plan_index) % 121]
    assert len(set(biases.round(12))) == 41  # no bias measured twice
    _within_errors(fit_run("didv", adaptive)[0], fit_run("didv", dense)[0], ("delta0_eV", "gamma_eV"))
    assert adaptive.metadata["station_seconds"] < 0.6 * dense.metadata["station_seconds"]


def test_a_continuous_didv_gives_the_stepped_spectrum_in_half_the_time(tmp_path):
    """1.5 K, -60 .. 60 nA in 5 nA: the bias ramps at 2.5 nA/s (the SMU stepped in tenths of a
    step, centred on the ramp) and each reading is assigned to the bias and the junction
    voltage one lock-in delay before it. The spectrum is the stepped one within 1 % of its
    span at every bias, the voltages within 0.5 uV, the tunnelling fit within errors, and
    the line takes about half the time."""
    from cryo_acq.analysis import fit_run

    params = dict(temperatures="1.5", bias_min=-0.06e-6, bias_max=0.06e-6, bias_step=0.005e-6)
    runs = _modes(tmp_path, ("stepped", "continuous"), **params)
    stepped, continuous = runs["stepped"], runs["continuous"]
    assert continuous.plan["mode"] == "continuous" and continuous.plan["rate"] == 2.5e-9
    assert any(kind == "correction" and "bias current" in message for _, kind, message in continuous.log)
    g_s, g_c = stepped.data["didv"], continuous.data["didv"]
    assert np.max(np.abs(g_c - g_s)) < 0.01 * np.ptp(g_s)
    np.testing.assert_allclose(continuous.data["bias_voltage"], stepped.data["bias_voltage"], atol=0.5e-6)
    lag = continuous.data["bias_voltage_at_reading"][1:-1] - continuous.data["bias_voltage"][1:-1]
    assert np.all(lag > 0)  # at the reading the bias had moved on, by the lock-in's delay
    _within_errors(fit_run("didv", continuous)[0], fit_run("didv", stepped)[0], ("delta0_eV", "gamma_eV"))
    assert np.ptp(continuous.data["time"]) < 0.6 * np.ptp(stepped.data["time"])
