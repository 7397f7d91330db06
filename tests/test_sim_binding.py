"""The live binding: pyvisa-sim device files brought to life, with faults."""

import time

import pyvisa
import pytest

from instruments.errors import InstrumentUnresponsive
from pyvisa.errors import VisaIOError

from cryo_acq.station import Station
from sim.binding import device_file

from conftest import STATIONS, raw_driver, received

FAULTY = (STATIONS / "minimal.yaml").read_text()


def _with_faults(tmp_path, faults: str):
    path = tmp_path / "faulty.yaml"
    path.write_text(FAULTY.replace("sim:\n", f"sim:\n  faults:\n{faults}"))
    return Station.from_yaml(path, sim=True)


@pytest.mark.parametrize("name", ["sr830", "keithley2400", "lakeshore336", "ami430",
                                  "mercury_ips", "triton", "lakeshore372"])
def test_every_device_file_loads_in_plain_pyvisa_sim(name):
    rm = pyvisa.ResourceManager(f"{device_file(name)}@sim")
    assert rm.list_resources("?*")


def test_oxford_set_reply_echoes_the_value_and_refuses_rtos_when_clamped(station_factory):
    st = station_factory("dilution-b")
    ips = raw_driver(st, "magnet")
    assert ips.ask("SET:DEV:GRPZ:PSU:SIG:FSET:0.25") == "STAT:SET:DEV:GRPZ:PSU:SIG:FSET:0.25:VALID"
    ips.z.clamp()
    with pytest.raises(Exception, match="INVALID"):
        ips.z.ramp_to_set()
    assert st.lab.axes["z"].action == "CLMP"


def test_messages_are_logged_with_station_time(station_factory):
    st = station_factory("minimal.yaml")
    st.clock.sleep(100.0)
    st.lockin().time_constant = 3.0
    t, text = received(st, "lockin")[-1]
    assert text == "OFLT11" and t >= 100.0


def test_timeout_costs_station_time_not_wall_time(tmp_path):
    st = _with_faults(tmp_path, "    - {instrument: lockin, kind: timeout, start: 50}\n")
    lockin = raw_driver(st, "lockin")
    lockin.adapter.connection.timeout = 30_000  # 30 s: a real wait would be obvious
    assert lockin.time_constant > 0  # before the fault
    st.clock.sleep(60)
    wall, t0 = time.monotonic(), st.clock.now()
    with pytest.raises(VisaIOError):
        lockin.time_constant
    assert st.clock.now() - t0 == pytest.approx(30.0, abs=0.1)
    assert time.monotonic() - wall < 1.0


def test_garbled_replies_fail_loudly(tmp_path):
    st = _with_faults(tmp_path, "    - {instrument: smu, kind: garbled}\n")
    with pytest.raises(InstrumentUnresponsive, match="smu gave no valid reply"):
        st.source().measure_voltage()  # every reply garbled: retried, then named


def test_instrument_stops_answering_for_a_while(tmp_path):
    st = _with_faults(tmp_path, "    - {instrument: lockin, kind: stop_answering, start: 100, duration: 50}\n")
    lockin = raw_driver(st, "lockin")
    lockin.adapter.connection.timeout = 1000
    lockin.sensitivity = 1e-3
    st.clock.sleep(110)
    n_before = len(received(st, "lockin"))
    lockin.sensitivity = 1.0  # lost: the instrument is not listening
    with pytest.raises(VisaIOError):
        lockin.sensitivity
    st.clock.sleep(60)
    assert lockin.sensitivity == pytest.approx(1e-3)  # the lost command never took effect
    assert len(received(st, "lockin")) > n_before


def test_intermittent_faults_are_seeded(tmp_path):
    def pattern():
        st = _with_faults(tmp_path, "    - {instrument: lockin, kind: timeout, probability: 0.3}\n")
        raw_driver(st, "lockin").adapter.connection.timeout = 100
        out = []
        for _ in range(40):
            try:
                raw_driver(st, "lockin").frequency
                out.append(True)
            except VisaIOError:
                out.append(False)
        st.close()
        return out

    first = pattern()
    assert first == pattern()
    assert 0.5 < sum(first) / len(first) < 0.9


def test_lakeshore372_scanner_settles_after_pause_and_dwell(station_factory):
    st = station_factory("ami-ls372.yaml")
    ls = raw_driver(st, "bridge")
    st.temperature.set_temperature(0.3)
    before = ls.input_6.kelvin
    ls.scan(3)  # away from the sample thermometer: channel 6 freezes
    st.clock.sleep(3000)
    assert ls.input_6.kelvin == before
    ls.scan(6)
    st.clock.sleep(5)  # less than dwell 10 s + pause 3 s
    assert ls.input_6.kelvin == before
    st.clock.sleep(10)
    assert ls.input_6.kelvin == pytest.approx(0.3, rel=0.01)
