"""tmr: the junction's TMR loop, stepped and continuous."""

from __future__ import annotations

import numpy as np
import pytest

from cryo_acq.run.runner import Runner
from cryo_acq.run.storage import load_run
from cryo_acq.station import Station
from procedures.tmr import TMR
from tests.procedures.loops import branch_crossings

STEP = 0.001  # T
LOOP = dict(field_max=0.03, field_step=STEP, time_constant=0.3, rate=0.005)


def _loop(tmp_path, **params):
    procedure = TMR()
    procedure.set_parameters({**LOOP, **params})
    with Station.from_yaml("vti-a01", sim=True) as st:
        run = load_run(Runner(st, procedure, folder=tmp_path).run())
    assert run.status == "finished", run.reason
    return run


def test_a_continuous_tmr_loop_gives_the_stepped_switching_fields_in_a_tenth_of_the_time(tmp_path):
    """-30 -> 30 -> -30 mT at 5 mT/s, tau 0.3 s at 24 dB/oct (a lag of 6 mT): readings assigned
    at the lock-in's delay switch where the stepped loop does, symmetric up and down; the
    field at the reading is 6 mT late each way (the false hysteresis the correction removes)."""
    stepped = _loop(tmp_path / "stepped")
    run = _loop(tmp_path / "continuous", mode="continuous")
    assert run.plan["mode"] == "continuous"
    assert np.ptp(stepped.data["time"]) > 10 * np.ptp(run.data["time"])
    r = stepped.data["resistance"]
    mid = (np.median(r) + r.max()) / 2  # parallel and antiparallel levels
    s_up, s_down = branch_crossings(stepped.data, "field", "resistance", mid)
    c_up, c_down = branch_crossings(run.data, "field", "resistance", mid)
    raw_up, raw_down = branch_crossings(run.data, "field_at_reading", "resistance", mid)
    assert len(s_up) == len(c_up) == len(s_down) == len(c_down) == 2
    np.testing.assert_allclose(c_up, s_up, atol=1.5 * STEP)
    np.testing.assert_allclose(c_down, s_down, atol=1.5 * STEP)
    np.testing.assert_allclose(c_up, -c_down, atol=1.5 * STEP)  # no false hysteresis
    lag = 4 * 0.3 * 0.005
    np.testing.assert_allclose(raw_up - c_up, lag, atol=STEP)
    np.testing.assert_allclose(raw_down - c_down, -lag, atol=STEP)
    np.testing.assert_array_equal(stepped.data["field_at_reading"], stepped.data["field"])  # stepped: no delay


def test_a_continuous_loop_needs_a_rate(tmp_path):
    procedure = TMR()
    procedure.set_parameters({**LOOP, "mode": "continuous", "rate": 0.0})
    with pytest.raises(Exception, match="positive rate"):
        procedure.plan()
