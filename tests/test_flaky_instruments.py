"""A night on flaky lines: retries at the single query, safe state as persistent.

Per-message faults on every lock-in and on the magnet (seeded): the run still
finishes with every planned point exactly once, and every retry is in the file.
"""

import textwrap

import numpy as np
import pytest

from cryo_acq.station import file as station_file
from cryo_acq.run.runner import Runner
from cryo_acq.station import Station
from cryo_acq.station.file import resolve
from cryo_acq.run.storage import load_run
from instruments.errors import InstrumentUnresponsive
from procedures.nl_map import NLMap
from procedures.tmr import TMR


def _station(tmp_path, name, faults, seed=7):
    text = resolve(name).read_text()
    block = "faults:\n" + "".join(f"  - {entry}\n" for entry in faults) if faults else ""
    text = text.replace("sim:\n", "sim:\n" + textwrap.indent(block, "  "))
    text = text.replace("seed: ", f"seed: {seed}  # was ", 1)
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return Station.from_yaml(path, sim=True)


def _faults(instruments, rate):
    return [f"{{instrument: {name}, kind: {kind}, probability: {rate / 2}}}"
            for name in instruments for kind in ("timeout", "garbled")]


def _tmr():
    p = TMR()
    p.set_parameters({"field_max": 0.03, "field_step": 0.002})
    return p


def _nl_map():
    p = NLMap()
    p.set_parameters({"current_start": -1e-6, "current_stop": 1e-6, "current_step": 1e-6,
                      "field_start": 0.0, "field_stop": 0.03, "field_step": 0.003})
    return p


def _run(st, procedure, tmp_path):
    for name in st.config.instruments:  # a short VISA timeout keeps the lab time of a fault small
        st._drivers[name].adapter.connection.timeout = 300
    try:
        return load_run(Runner(st, procedure, folder=tmp_path / "runs").run())
    finally:
        st.close()


@pytest.mark.parametrize("rate", [0.05, 0.20])
@pytest.mark.parametrize("name, make", [("vti-a01", _tmr), ("dilution-b", _nl_map)])
def test_faulty_lines_still_give_every_point_exactly_once(tmp_path, rate, name, make):
    lockins = [n for n, e in station_file.load(name)[0].instruments.items() if e.driver == "sr830"]
    st = _station(tmp_path, name, _faults(lockins + ["magnet"], rate))
    run = _run(st, make(), tmp_path)
    assert run.status == "finished", run.reason
    n = len(make().plan())
    assert sorted(run.plan_index.tolist()) == list(range(n))  # every point, exactly once
    retries = [message for _, kind, message in run.log if kind == "retry"]
    assert len(retries) >= 5  # the faults really struck, and each retry is in the file
    assert {m.split(":", 1)[0] for m in retries} <= set(lockins) | {"magnet"}
    # the faults were absorbed at the query: no point had to be measured again
    assert not [m for m in retries if m.startswith("point ")]


def test_the_physics_survives_the_faults(tmp_path):
    """A TMR loop on 20 % faulty lines holds the same loop as on clean lines."""
    clean = _run(_station(tmp_path / "a", "vti-a01", []), _tmr(), tmp_path / "a")
    flaky = _run(_station(tmp_path / "b", "vti-a01", _faults(["lockin_b", "magnet"], 0.2)), _tmr(), tmp_path / "b")
    r0, r1 = clean.data["resistance"], flaky.data["resistance"]
    assert np.allclose(r0, r1, rtol=0.02)
    up = clean.data["direction"] == 1
    assert np.max(np.abs(r1[up] - r1[~up][::-1])) > 0.05 * np.median(r1)  # hysteresis still there


def test_silent_instrument_fails_the_run_naming_it(tmp_path):
    st = _station(tmp_path, "vti-a01", ["{instrument: lockin_b, kind: stop_answering, start: 200}"])
    run = _run(st, _tmr(), tmp_path)
    assert run.status == "failed"
    assert "lockin_b gave no valid reply" in run.reason
    assert 0 < len(run.data["field"]) < len(_tmr().plan())
    assert any(kind == "safe-state" and "lockin_b" in msg for _, kind, msg in run.log)
    assert "NOT SAFE: lockin_b" in run.reason  # named, loudly, as what could not be made safe


def test_safe_state_rides_out_faults(tmp_path):
    """Every instrument's safe action is retried like any query: 40 % faults everywhere,
    and the station still ends safe with nothing reported unsafe."""
    faults = _faults(["lockin_a", "lockin_b", "smu", "magnet", "thermometry"], 0.4)
    st = _station(tmp_path, "vti-a01", faults)
    for name in st.config.instruments:
        st._drivers[name].adapter.connection.timeout = 300
    lockin = st.lockin("lockin_b")
    st.use("mtj")
    lockin.set_excitation(0.5)
    assert st.safe_state() == []
    assert sum(link.retries for link in st.links.values()) > 0  # the faults struck
    assert lockin.excitation == pytest.approx(lockin.min_excitation)
    st.close()


def test_refused_set_point_is_not_retried(station_factory):
    """A value a driver's validator refuses is not a fault of the line: raised at once."""
    st = station_factory("minimal.yaml")
    with pytest.raises(ValueError):
        st.source()._driver.source_mode = "plasma"  # not a mode the 2400 has
    assert st.links["smu"].retries == 0


def test_unresponsive_error_names_instrument_and_command(tmp_path):
    st = _station(tmp_path, "vti-a01", ["{instrument: smu, kind: garbled}"])
    with pytest.raises(InstrumentUnresponsive, match="smu gave no valid reply to voltage"):
        st.source().measure_voltage()
    st.close()
