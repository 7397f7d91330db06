"""tmr: the junction's TMR loop, stepped and continuous."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from cryo_acq.analysis import fit_run
from cryo_acq.run.continuous import jump_error
from cryo_acq.run.runner import Runner
from cryo_acq.run.storage import load_run
from cryo_acq.station import Station
from procedures.tmr import TMR

STEP = 0.001  # T
LOOP = dict(field_max=0.03, field_step=STEP, time_constant=0.3, rate=0.005)


def _loop(tmp_path, **params):
    procedure = TMR()
    procedure.set_parameters({**LOOP, **params})
    with Station.from_yaml("vti-a01", sim=True) as st:
        run = load_run(Runner(st, procedure, folder=tmp_path).run())
    assert run.status == "finished", run.reason
    return run


@pytest.fixture(scope="module")
def loops(tmp_path_factory):
    """-30 -> 30 -> -30 mT in 1 mT steps, tau 0.3 s at 24 dB/oct: stepped, and continuous
    at 5 and 10 mT/s (lags of 4 tau r = 6 and 12 mT)."""
    folder = tmp_path_factory.mktemp("loops")
    return {"stepped": _loop(folder / "stepped"),
            0.005: _loop(folder / "c5", mode="continuous", rate=0.005),
            0.010: _loop(folder / "c10", mode="continuous", rate=0.010)}


def _switches(run, **options):
    """(up, down) switching fields as the product's switching analysis finds them."""
    values = fit_run("switching", run, **options)[0].values
    return (np.array([values[k] for k in ("B_up_1", "B_up_2")]),
            np.array([values[k] for k in ("B_down_1", "B_down_2")]))


def test_a_continuous_tmr_loop_gives_the_stepped_switching_fields_in_a_fifteenth_of_the_time(loops):
    """At 5 mT/s the readings, each assigned to the field at the lock-in's delay, switch
    within 0.5 mT of the stepped loop, symmetric up and down (no false hysteresis); the
    field measured at the reading shows the false hysteresis, 2 x 6 mT, that the
    correction removes."""
    stepped, run = loops["stepped"], loops[0.005]
    assert run.plan["mode"] == "continuous"
    assert any(kind == "correction" and "4 poles x 0.3 s" in message for _, kind, message in run.log)
    assert np.ptp(stepped.data["time"]) > 15 * np.ptp(run.data["time"])  # the loop's fridge time
    s_up, s_down = _switches(stepped)
    c_up, c_down = _switches(run)
    np.testing.assert_allclose(c_up, s_up, atol=0.5e-3)
    np.testing.assert_allclose(c_down, s_down, atol=0.5e-3)
    np.testing.assert_allclose(c_up, -c_down, atol=0.5e-3)  # no false hysteresis
    lag = 4 * 0.3 * 0.005
    raw = dict(run.data, field=run.data["field_at_reading"])
    raw_up, raw_down = _switches(raw_run(run, raw))
    np.testing.assert_allclose(raw_up - c_up, lag, atol=STEP)  # each way: the 2 x lag hysteresis
    np.testing.assert_allclose(raw_down - c_down, -lag, atol=STEP)
    np.testing.assert_array_equal(stepped.data["field_at_reading"], stepped.data["field"])  # stepped: no delay
    np.testing.assert_array_equal(run.data["lockin_tau"], 0.3)
    np.testing.assert_array_equal(run.data["lockin_poles"], 4)


def raw_run(run, data):
    """The run with other data (the same run file's metadata)."""
    return dataclasses.replace(run, data=data)


def test_deconvolved_at_twice_the_rate_the_switching_fields_stay_within_half_a_millitesla(loops):
    """At 10 mT/s the delay correction alone switches about 1 mT early (a filtered jump's
    midpoint comes 0.33 tau r before n tau); undoing the filter (``deconvolve=yes``) puts
    the switches back within 0.5 mT of the stepped loop, in under 1/30 of its fridge time."""
    stepped, run = loops["stepped"], loops[0.010]
    assert np.ptp(stepped.data["time"]) > 30 * np.ptp(run.data["time"])
    s_up, s_down = _switches(stepped)
    c_up, c_down = _switches(run)
    assert np.max(np.abs(np.r_[c_up - s_up, c_down - s_down])) > 0.7e-3  # the residual deconvolution removes
    # which is the residual the rate advisor predicts: a jump lands 0.33 tau r early
    coercive = np.array([0.008, 0.025])
    early = np.r_[coercive - c_up, coercive + c_down]
    assert np.mean(early) == pytest.approx(jump_error(0.010, 0.3, 4), abs=0.25e-3)
    assert any(kind == "rate" and "0.000984 T before" in message for _, kind, message in run.log)
    d_up, d_down = _switches(run, deconvolve="yes")
    np.testing.assert_allclose(d_up, s_up, atol=0.5e-3 + STEP / 2)
    np.testing.assert_allclose(d_down, s_down, atol=0.5e-3 + STEP / 2)
    # against the sample's own coercive fields (8 and 25 mT), which the stepped loop only brackets
    np.testing.assert_allclose(d_up, coercive, atol=0.5e-3)
    np.testing.assert_allclose(d_down, -coercive, atol=0.5e-3)


def test_deconvolution_needs_the_filter_columns(loops):
    run = loops[0.005]
    data = {k: v for k, v in run.data.items() if not k.startswith("lockin_")}
    with pytest.raises(ValueError, match="cannot be deconvolved"):
        fit_run("switching", raw_run(run, data), deconvolve="yes")


def test_a_continuous_loop_needs_a_rate(tmp_path):
    procedure = TMR()
    procedure.set_parameters({**LOOP, "mode": "continuous", "rate": 0.0})
    with pytest.raises(Exception, match="positive rate"):
        procedure.plan()


def test_a_rate_whose_corrected_error_exceeds_a_step_is_refused_unless_accepted(tmp_path):
    """10 mT/s with tau 1 s at 24 dB/oct leaves a jump 3.3 mT early, more than the 1 mT step:
    refused with the largest rate that keeps a quarter step, nothing sent, no file; run when
    accepted."""
    from conftest import sent_to_all

    procedure = TMR()
    procedure.set_parameters({**LOOP, "mode": "continuous", "rate": 0.01, "time_constant": 1.0})
    with Station.from_yaml("vti-a01", sim=True) as st:
        before = sent_to_all(st)
        with pytest.raises(ValueError, match=r"rate too fast: .* 0.00328 T before .* largest rate within 0.25 of "
                                             r"a step is 0.000762 T/s"):
            Runner(st, procedure, folder=tmp_path / "refused").run()
        assert sent_to_all(st) == before
        assert not (tmp_path / "refused").exists() or not any((tmp_path / "refused").iterdir())
        procedure.set_parameters({"accept_rate_error": True, "field_max": 0.01})
        run = load_run(Runner(st, procedure, folder=tmp_path / "accepted").run())
    assert run.status == "finished"
