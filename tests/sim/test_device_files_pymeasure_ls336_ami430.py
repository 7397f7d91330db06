"""The Lake Shore 336 and AMI 430 device files against the real pymeasure drivers
(the SR830 and Keithley 2400: test_device_files_pymeasure.py, which explains the set-up)."""

from __future__ import annotations

import pytest
import pyvisa
from pymeasure.instruments.ami.ami430 import AMI430

from pymeasure_devices import AMI430_FILE, DEFAULT_ADDRESS, TIMEOUT_MS, _device_dict, _esr, _forget_library, _lib
from pymeasure_devices import tc_fixture, magnet_fixture  # noqa: F401 - pytest fixtures


# =========================================================================== Lake Shore 336
def test_ls336_identity(tc):
    assert tc.id == "LSCI,MODEL336,LSA21K3/#######,2.9"
    assert tc.complete == "1"
    assert tc.status == "0"
    tc.clear()
    tc.reset()
    assert _esr(tc) == 0


@pytest.mark.parametrize("ch", ["A", "B", "C", "D"])
def test_ls336_inputs(tc, ch):
    inp = getattr(tc, f"input_{ch}")
    assert inp.kelvin == pytest.approx(4.2)
    assert inp.celsius == pytest.approx(4.2 - 273.15)
    assert inp.sensor == pytest.approx(1500.0)
    assert tc.ask(f"KRDG? {ch}") == "+4.2000"
    assert tc.ask(f"RDGST? {ch}") == "000"
    tc.write(f"INTYPE {ch},2,1,0,1,1")
    assert tc.ask(f"INTYPE? {ch}") == "2,1,0,1,1"
    inp.wait_for_temperature(4.2, interval=0, timeout=1)


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_ls336_outputs(tc, n):
    out = getattr(tc, f"output_{n}")
    assert out.setpoint == 0.0
    out.setpoint = 1.5 + n                      # SETP n,%f
    assert out.setpoint == pytest.approx(1.5 + n)
    assert tc.ask(f"SETP? {n}") == f"+{1.5 + n:.4f}"
    for other in {1, 2, 3, 4} - {n}:
        assert getattr(tc, f"output_{other}").setpoint == 0.0   # per-channel storage
    for name in ("off", "low", "medium", "high"):
        out.range = name                        # RANGE n,%i
        assert out.range == name
    assert tc.ask(f"RANGE? {n}") == "3"
    out.mout = 12.5                             # MOUT n,%f
    assert out.mout == pytest.approx(12.5)
    assert out.output == 0.0                    # HTR? n
    assert _esr(tc) == 0


def test_ls336_control_loop_commands(tc):
    assert tc.ask("OUTMODE? 1") == "1,1,0"
    tc.write("OUTMODE 2,3,2,1")
    assert tc.ask("OUTMODE? 2") == "3,2,1"
    assert tc.ask("PID? 1") == "+50.0,+20.0,+0.0"
    tc.write("PID 1,120.5,35,10")
    assert tc.values("PID? 1") == [120.5, 35.0, 10.0]
    assert tc.ask("RAMP? 1") == "0,+1.0"
    tc.write("RAMP 1,1,2.5")
    assert tc.values("RAMP? 1") == [1.0, 2.5]
    assert tc.ask("RAMPST? 1") == "0"
    tc.write("HTRSET 1,1,4,0,2")
    assert tc.ask("HTRSET? 1") == "1,4,0,2"
    assert tc.ask("HTRSET? 2") == "1,2,+0.000,1"
    assert _esr(tc) == 0


def test_ls336_errors(tc):
    with pytest.raises(pyvisa.errors.VisaIOError):
        tc.ask("SYST:ERR?")                       # not a Lake Shore command: no reply
    assert _esr(tc) == 32
    tc.write("RANGE 1,7")                          # outside 0-3: ignored
    assert tc.output_1.range == "off"
    tc.write("SETP 1,-5")                          # below 0 K: ignored
    assert _esr(tc) == 32


# =========================================================================== AMI 430
def test_ami430_needs_banner():
    """Without the banner lines queued, AMI430.__init__ times out in plain pyvisa-sim."""
    _forget_library(AMI430_FILE)
    with pytest.raises(pyvisa.errors.VisaIOError):
        AMI430(DEFAULT_ADDRESS["ami430"], visa_library=_lib(AMI430_FILE), timeout=TIMEOUT_MS)


def test_ami430_banner_key():
    assert _device_dict(AMI430_FILE)["banner"] == [
        "American Magnetics Model 430 IP Interface", "Hello."]


def test_ami430_identity_and_errors(magnet):
    # the two banner lines were consumed by __init__: the next reply is the identity
    assert magnet.id.strip() == "AMERICAN MAGNETICS INC.,MODEL 430,2.01"
    assert magnet.check_errors() == []
    magnet.write("CONF:FIELD:TARGET 1")           # a spelling only the live binding takes
    magnet.write("CONF:FIELD:TARG 12")            # beyond +-9 T
    assert magnet.check_errors() == [[-101, "Unrecognized command"]] * 2
    assert _esr(magnet) == 32
    assert magnet.target_field == 0.0


@pytest.mark.parametrize("attr, value, expected, query, wire", [
    ("coilconst", 0.1182, 0.1182, "COIL?", "0.118200"),
    ("voltage_limit", 2.2, 2.2, "VOLT:LIM?", "2.200"),
    ("target_current", 10, 10.0, "CURR:TARG?", "10.0000"),
    ("target_current", -5.5, -5.5, "CURR:TARG?", "-5.5000"),
    ("target_field", 1.25, 1.25, "FIELD:TARG?", "1.250000"),
    ("ramp_rate_current", 0.0357, 0.0357, "RAMP:RATE:CURR:1?", "0.0357"),
    ("ramp_rate_field", 0.0422, [0.0422, 1.0], "RAMP:RATE:FIELD:1?", "0.0422,1.00"),
])
def test_ami430_settings_round_trip(magnet, attr, value, expected, query, wire):
    setattr(magnet, attr, value)
    assert getattr(magnet, attr) == pytest.approx(expected)
    assert magnet.ask(query).strip() == wire
    assert magnet.check_errors() == []


def test_ami430_defaults_and_readings(magnet):
    assert magnet.field == 0.0                    # FIELD:MAG?
    assert magnet.magnet_current == 0.0           # CURR:MAG?
    assert magnet.supply_current == 0.0           # CURR:SUPP?
    assert magnet.state == 2                      # STATE? -> holding
    assert magnet.magnet_status == "HOLDING"
    assert magnet.ramp_rate_field == [0.001, 9.0]
    assert magnet.ramp_rate_current == [0.01, 90.0]
    assert magnet.coilconst == pytest.approx(0.1)
    assert int(magnet.ask("QU?")) == 0
    assert int(magnet.ask("PERS?")) == 0
    assert int(magnet.ask("FIELD:UNITS?")) == 1   # tesla
    assert int(magnet.ask("RAMP:RATE:UNITS?")) == 0  # per second
    assert int(magnet.ask("RAMP:RATE:SEG?")) == 1
    assert float(magnet.ask("CURR:LIMIT?")) == 90.0
    assert int(magnet.ask("PS:INST?")) == 1


def test_ami430_units_and_quench(magnet):
    magnet.write("CONF:FIELD:UNITS 0")
    magnet.write("CONF:RAMP:RATE:UNITS 1")
    magnet.write("QU 1")
    assert int(magnet.ask("FIELD:UNITS?")) == 0
    assert int(magnet.ask("RAMP:RATE:UNITS?")) == 1
    assert int(magnet.ask("QU?")) == 1
    magnet.write("QU 0")
    assert int(magnet.ask("QU?")) == 0
    assert magnet.check_errors() == []


def test_ami430_actions_and_switch(magnet):
    magnet.enable_persistent_switch()             # PSwitch 1
    assert int(magnet.ask("PSwitch?")) == 1
    magnet.ramp()
    magnet.pause()
    magnet.zero()
    magnet.disable_persistent_switch()            # PSwitch 0
    assert int(magnet.ask("PSwitch?")) == 0
    magnet.write("*RST")
    magnet.clear()
    assert magnet.complete.strip() == "1"
    assert magnet.check_errors() == []
    assert _esr(magnet) == 0


def test_ami430_ramp_helpers(magnet):
    magnet.ramp_to_field(0.5, 0.002)              # PSwitch 1, targets, rate, STATE?, RAMP
    assert magnet.target_field == pytest.approx(0.5)
    assert magnet.ramp_rate_field == [pytest.approx(0.002), 1.0]
    magnet.ramp_to_current(4.0, 0.02)
    assert magnet.target_current == pytest.approx(4.0)
    assert magnet.ramp_rate_current == pytest.approx(0.02)
    magnet.shutdown(ramp_rate=0.05)               # PSwitch 1, rate, ZERO, PSwitch 0
    assert magnet.ramp_rate_current == pytest.approx(0.05)
    assert int(magnet.ask("PSwitch?")) == 0
    assert magnet.check_errors() == []
