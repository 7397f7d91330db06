"""The pyvisa-sim device files in ``sim/devices/`` against the real pymeasure 0.16 drivers.

Every test drives the unmodified pymeasure driver through PLAIN pyvisa-sim
(``visa_library="<abs path>.yaml@sim"``), with a short timeout so that a string the
YAML does not answer fails fast instead of hanging.

State isolation: pyvisa caches one VISA library object per library path, and a
pyvisa-sim library owns the simulated devices, so two tests using the same file
would share device state. ``_forget_library`` drops the cached library before each
instrument is built, so every test starts from the YAML defaults.

AMI 430 banner: ``AMI430.__init__`` reads two unsolicited greeting lines, which plain
pyvisa-sim never produces. The fixture opens the same pyvisa-sim library first and
appends the two ``banner:`` lines of ami430.yaml (with the file's reply termination)
to the simulated device's output buffer, then builds the driver on that library --
the same thing the live binding does on connect.
"""

from __future__ import annotations

import math
import re

import pytest
import pyvisa
from pymeasure.instruments.srs.sr830 import SR830, ERRStatus, LIAStatus

from pymeasure_devices import (AMI430_FILE, DEFAULT_ADDRESS, GRAMMAR, INTERFACES, K2400_FILE, LS336_FILE, SR830_FILE,
                               TIMEOUT_MS, _close, _device_dict, _esr, _forget_library, _lib, _live_props, _load)
from pymeasure_devices import lockin_fixture, smu_fixture  # noqa: F401 - pytest fixtures


ALL_FILES = [SR830_FILE, K2400_FILE, LS336_FILE, AMI430_FILE]


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.stem)
def test_file_structure(path):
    data = _load(path)
    assert data["spec"] == "1.1"
    assert list(data["devices"]) == [path.stem]
    device = data["devices"][path.stem]
    assert set(INTERFACES) <= set(device["eom"])
    assert data["resources"] == {DEFAULT_ADDRESS[path.stem]: {"device": path.stem}}
    # an unknown message gets no reply, as on the bench: no `response:` text
    assert "error" in device and "response" not in device["error"]
    grammar = device["grammar"]
    assert (grammar if isinstance(grammar, str) else grammar["kind"]) == GRAMMAR[path.stem]


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.stem)
def test_live_names_documented(path):
    """Every ``live:`` name is a snake_case identifier listed in the file's header block."""
    text = path.read_text(encoding="utf-8")
    header = text.split("\nspec:", 1)[0]
    names = {prop["live"] for _, _, prop in _live_props(_device_dict(path))}
    assert names, "no live properties"
    for name in names:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name), name
        assert re.search(rf"#\s+{name}\s", header), f"{name} not listed in the header"


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.stem)
def test_loads_in_plain_pyvisa_sim(path):
    _forget_library(path)
    rm = pyvisa.ResourceManager(_lib(path))
    try:
        assert rm.list_resources("?*") == (DEFAULT_ADDRESS[path.stem],)
    finally:
        rm.close()


EXTRA_RESOURCES = {
    "GPIB INSTR": "GPIB0::30::INSTR",
    "TCPIP INSTR": "TCPIP0::localhost::inst0::INSTR",
    "TCPIP SOCKET": "TCPIP0::localhost::5025::SOCKET",
    "ASRL INSTR": "ASRL1::INSTR",
    "USB INSTR": "USB0::0x1234::0x5678::SIM01::INSTR",
}
IDN_PREFIX = {
    "sr830": "Stanford_Research_Systems,SR830",
    "keithley2400": "KEITHLEY INSTRUMENTS INC.,MODEL 2400",
    "lakeshore336": "LSCI,MODEL336",
    "ami430": "AMERICAN MAGNETICS INC.,MODEL 430",
}


@pytest.mark.parametrize("interface", INTERFACES)
@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.stem)
def test_eom_per_interface(tmp_path, path, interface):
    """Each interface's eom works: a wrapper file binds the device to one address per type."""
    wrapper = tmp_path / f"{path.stem}_{interface.replace(' ', '_')}.yaml"
    address = EXTRA_RESOURCES[interface]
    wrapper.write_text(
        'spec: "1.1"\nresources:\n'
        f'  "{address}":\n    device: {path.stem}\n    filename: "{path}"\n',
        encoding="utf-8")
    eom = _device_dict(path)["eom"][interface]
    rm = pyvisa.ResourceManager(_lib(wrapper))
    try:
        inst = rm.open_resource(address, timeout=TIMEOUT_MS, write_termination=eom["q"],
                                read_termination=None)
        inst.write("*IDN?")
        raw = inst.read_raw()
        assert raw.endswith(eom["r"].encode())
        assert raw.decode().startswith(IDN_PREFIX[path.stem])
        inst.close()
    finally:
        rm.close()


# =========================================================================== SR830
def test_sr830_identity_and_status(lockin):
    assert lockin.id == "Stanford_Research_Systems,SR830,s/n48351,ver1.07"
    assert lockin.status == "3"  # SCN | IFC: idle
    assert lockin.lia_status == LIAStatus.NO_ERROR
    assert lockin.err_status == ERRStatus.NO_ERROR
    assert _esr(lockin) == 0


def test_sr830_needs_lf_write_termination():
    """pymeasure's SR830 leaves pyvisa's CR LF write termination; the file expects LF."""
    _forget_library(SR830_FILE)
    inst = SR830(DEFAULT_ADDRESS["sr830"], visa_library=_lib(SR830_FILE), timeout=TIMEOUT_MS)
    try:
        with pytest.raises(pyvisa.errors.VisaIOError):
            inst.id  # "*IDN?\r" matches nothing in plain pyvisa-sim: no reply
    finally:
        _close(inst)


@pytest.mark.parametrize("attr, value, expected, query, wire", [
    ("sine_voltage", 0.5, 0.5, "SLVL?", "0.500"),
    ("sine_voltage", 10, 5.0, "SLVL?", "5.000"),          # pymeasure truncates to 5 V
    ("sine_voltage", 0.004, 0.004, "SLVL?", "0.004"),
    ("frequency", 1234.5, 1234.5, "FREQ?", "1234.5000"),  # sent as FREQ1.23450e+03
    ("frequency", 17.77, 17.77, "FREQ?", "17.7700"),
    ("phase", 45.67, 45.67, "PHAS?", "45.67"),
    ("phase", -90, -90.0, "PHAS?", "-90.00"),
    ("harmonic", 3, 3, "HARM?", "3"),
    ("sensitivity", 1e-3, 1e-3, "SENS?", "17"),
    ("sensitivity", 2e-9, 2e-9, "SENS?", "0"),
    ("sensitivity", 1.0, 1.0, "SENS?", "26"),
    ("sensitivity", 3e-6, 5e-6, "SENS?", "10"),           # truncated UP to the next range
    ("time_constant", 0.3, 0.3, "OFLT?", "9"),
    ("time_constant", 10e-6, 10e-6, "OFLT?", "0"),
    ("time_constant", 30e3, 30e3, "OFLT?", "19"),
    ("time_constant", 0.2, 0.3, "OFLT?", "9"),
    ("filter_slope", 6, 6, "OFSL?", "0"),
    ("filter_slope", 12, 12, "OFSL?", "1"),
    ("filter_slope", 18, 18, "OFSL?", "2"),
    ("filter_slope", 24, 24, "OFSL?", "3"),
    ("filter_synchronous", True, True, "SYNC?", "1"),
    ("filter_synchronous", False, False, "SYNC?", "0"),
    ("input_config", "A - B", "A - B", "ISRC?", "1"),
    ("input_config", "I (100 MOhm)", "I (100 MOhm)", "ISRC?", "3"),
    ("input_grounding", "Ground", "Ground", "IGND?", "1"),
    ("input_coupling", "DC", "DC", "ICPL?", "1"),
    ("input_notch_config", "Both", "Both", "ILIN?", "3"),
    ("reference_source", "External", "External", "FMOD?", "0"),
    ("reference_source_trigger", "NEG EDGE", "NEG EDGE", "RSLP?", "2"),
    ("reserve", "High Reserve", "High Reserve", "RMOD?", "0"),
    ("reserve", "Low Noise", "Low Noise", "RMOD?", "2"),
    ("sample_frequency", 4, 4, "SRAT?", "6"),              # sent as SRAT6.000000
    ("sample_frequency", None, None, "SRAT?", "14"),       # trigger
])
def test_sr830_settings_round_trip(lockin, attr, value, expected, query, wire):
    setattr(lockin, attr, value)
    got = getattr(lockin, attr)
    if isinstance(expected, float):
        assert got == pytest.approx(expected)
    else:
        assert got == expected
    assert lockin.ask(query) == wire
    assert _esr(lockin) == 0


def test_sr830_defaults(lockin):
    assert lockin.sine_voltage == 1.0
    assert lockin.frequency == 1000.0
    assert lockin.phase == 0.0
    assert lockin.harmonic == 1
    assert lockin.sensitivity == 1.0
    assert lockin.time_constant == pytest.approx(0.1)
    assert lockin.filter_slope == 12
    assert lockin.filter_synchronous is False
    assert lockin.input_config == "A"
    assert lockin.input_coupling == "AC"
    assert lockin.reserve == "Normal"
    assert lockin.reference_source == "Internal"


def test_sr830_readings(lockin):
    x, y, r, theta = lockin.x, lockin.y, lockin.magnitude, lockin.theta
    assert (x, y) == (pytest.approx(3e-6), pytest.approx(4e-6))
    assert r == pytest.approx(math.hypot(x, y))
    assert theta == pytest.approx(math.degrees(math.atan2(y, x)), abs=1e-3)
    assert lockin.xy == [pytest.approx(3e-6), pytest.approx(4e-6)]       # SNAP? 1,2
    assert lockin.snap() == lockin.xy
    assert lockin.snap("R", "THETA") == [pytest.approx(5e-6), pytest.approx(53.13)]  # SNAP? 3,4
    assert lockin.snap("X", "Y", "R", "THETA") == [
        pytest.approx(3e-6), pytest.approx(4e-6), pytest.approx(5e-6), pytest.approx(53.13)]
    assert lockin.ask("OUTP?3") == "5.000000e-06"


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_sr830_aux(lockin, n):
    """AUXV?n; / AUXVn,%f; / OAUX?n; -- the trailing ';' is split off and ignored."""
    setattr(lockin, f"aux_out_{n}", 1.25 * n)
    assert getattr(lockin, f"aux_out_{n}") == pytest.approx(1.25 * n)
    for other in {1, 2, 3, 4} - {n}:
        assert getattr(lockin, f"aux_out_{other}") == 0.0     # channels are independent
    setattr(lockin, f"dac{n}", -20)                            # truncated to -10.5 V
    assert getattr(lockin, f"dac{n}") == pytest.approx(-10.5)
    assert getattr(lockin, f"aux_in_{n}") == 0.0
    assert getattr(lockin, f"adc{n}") == 0.0
    assert _esr(lockin) == 0


@pytest.mark.parametrize("bit", range(8))
def test_sr830_lias_bits(lockin, bit):
    assert lockin.ask(f"LIAS?{bit}") == "0"
    lockin.write(f"LIAE {bit},1")
    assert lockin.ask(f"LIAE?{bit}") == "1"
    assert lockin.ask(f"ERRS?{bit}") == "0"


def test_sr830_range_helpers(lockin):
    assert lockin.is_out_of_range() is False            # LIAS?2
    lockin.quick_range()                                 # LIAE 2,1; LIAS?2; OUTP?3; ISRC?; SENS11
    assert lockin.ask("LIAE?2") == "1"
    assert lockin.sensitivity == pytest.approx(1e-5)     # 1.15 * 5 uV rounded up
    assert _esr(lockin) == 0


def test_sr830_actions(lockin):
    lockin.auto_gain()
    lockin.auto_reserve()
    lockin.auto_phase()
    for channel in ("X", "Y", "R"):
        lockin.auto_offset(channel)
    lockin.write("OUTX 1")
    lockin.clear()
    lockin.reset()
    lockin.save_setup(3)
    lockin.load_setup(3)
    lockin.aquireOnTrigger(True)
    lockin.start_buffer()          # FAST2;STRD
    lockin.pause_buffer()
    lockin.reset_buffer()
    lockin.trigger()
    lockin.start_scan()
    lockin.pause_scan()
    # nothing above produced a reply line or an error
    assert lockin.ask("OUTX?") == "1"
    assert lockin.ask("TSTR?") == "1"
    assert lockin.ask("FAST?") == "2"
    assert lockin.buffer_count == 0
    assert _esr(lockin) == 0


def test_sr830_display_and_offset(lockin):
    lockin.channel1 = "R"                     # DDEF1,1,0
    lockin.channel2 = "Theta"                 # DDEF2,1,0
    assert lockin.ask("DDEF?1;") == "1,0"     # display, ratio -- as the SR830 answers
    assert lockin.ask("DDEF?2;") == "1,0"
    lockin.set_scaling("Y", 12.5)             # OEXP 2,12.50,1
    assert lockin.ask("OEXP? 2") == "12.50,1"
    assert lockin.get_scaling("X") == (0.0, 1)
    assert _esr(lockin) == 0


def test_sr830_errors(lockin):
    with pytest.raises(pyvisa.errors.VisaIOError):
        lockin.ask("FOO?")                    # unknown: no reply, the client times out
    assert _esr(lockin) == 32                 # CME
    assert _esr(lockin) == 0                  # cleared on read
    lockin.write("SENS27")                    # out of the 0-26 index range: ignored
    assert _esr(lockin) == 32                 # (plain pyvisa-sim has one error kind)
    assert lockin.ask("SENS?") == "26"        # unchanged


# =========================================================================== Keithley 2400
def test_k2400_init_and_identity(smu):
    # __init__ wrote ":FORMAT:ELEMENTS VOLTAGE, CURRENT, RESISTANCE, TIME, STATUS"
    assert smu.ask(":FORMAT:ELEMENTS?") == "VOLTAGE, CURRENT, RESISTANCE, TIME, STATUS"
    assert smu.id.startswith("KEITHLEY INSTRUMENTS INC.,MODEL 2400,")
    assert smu.next_error == [0, '"No error"']
    assert smu.check_errors() == []
    assert smu.complete == "1"
    assert smu.status == "0"
    assert _esr(smu) == 0


@pytest.mark.parametrize("attr, value, query, wire", [
    ("source_mode", "current", ":SOURCE:FUNCTION?", "CURR"),
    ("source_mode", "voltage", ":SOURCE:FUNCTION?", "VOLT"),
    ("source_enabled", True, "OUTPUT?", "1"),
    ("source_enabled", False, "OUTPUT?", "0"),
    ("source_current", 1e-6, ":SOURCE:CURRENT?", "+1.000000E-06"),
    ("source_current", -0.0125, ":SOURCE:CURRENT?", "-1.250000E-02"),
    ("source_current_range", 1e-3, ":SOURCE:CURRENT:RANGE?", "+1.000000E-03"),
    ("source_current_range_auto_enabled", False, ":SOURCE:CURRENT:RANGE:AUTO?", "0"),
    ("source_current_range_auto_enabled", True, ":SOURCE:CURRENT:RANGE:AUTO?", "1"),
    ("source_voltage", 2.5, ":SOURCE:VOLTAGE?", "+2.500000E+00"),
    ("source_voltage_range", 20, ":SOURCE:VOLTAGE:RANGE?", "+2.000000E+01"),
    ("source_voltage_range_auto_enabled", False, ":SOURCE:VOLTAGE:RANGE:AUTO?", "0"),
    ("source_delay", 0.25, ":SOURCE:DELAY?", "+2.500000E-01"),
    ("source_delay_auto_enabled", False, ":SOURCE:DELAY:AUTO?", "0"),
    ("compliance_voltage", 10, ":SENSE:VOLTAGE:PROTECTION?", "+1.000000E+01"),
    ("compliance_current", 1e-3, ":SENSE:CURRENT:PROTECTION?", "+1.000000E-03"),
    ("voltage_nplc", 0.1, ":SENSE:VOLTAGE:NPLCYCLES?", "+1.000000E-01"),
    ("voltage_range", 2, ":SENSE:VOLTAGE:RANGE?", "+2.000000E+00"),
    ("voltage_range_auto_enabled", False, ":SENSE:VOLTAGE:RANGE:AUTO?", "0"),
    ("current_nplc", 10, ":SENSE:CURRENT:NPLCYCLES?", "+1.000000E+01"),
    ("current_range", 1e-4, ":SENSE:CURRENT:RANGE?", "+1.000000E-04"),
    ("current_range_auto_enabled", False, ":SENSE:CURRENT:RANGE:AUTO?", "0"),
    ("resistance_nplc", 5, ":SENSE:RESISTANCE:NPLCYCLES?", "+5.000000E+00"),
    ("resistance_range", 2e4, ":SENSE:RESISTANCE:RANGE?", "+2.000000E+04"),
    ("resistance_range_auto_enabled", False, ":SENSE:RESISTANCE:RANGE:AUTO?", "0"),
    ("resistance_mode_auto_enabled", True, ":SENSE:RESISTANCE:MODE?", "AUTO"),
    ("wires", 4, ":SYSTEM:RSENSE?", "1"),
    ("wires", 2, ":SYSTEM:RSENSE?", "0"),
    ("output_off_state", "disconnected", ":OUTPUT:SMODE?", "HIMP"),
    ("auto_output_off_enabled", True, ":SOURCE:CLEAR:AUTO?", "1"),
    ("front_terminals_enabled", False, ":ROUTE:TERMINALS?", "REAR"),
    ("filter_enabled", True, ":SENSE:AVERAGE?", "1"),
    ("repeat_filter_enabled", False, ":SENSE:AVERAGE:TCONTROL?", "MOV"),
    ("filter_count", 42, ":SENSE:AVERAGE:COUNT?", "42"),
    ("auto_zero_enabled", False, ":SYSTEM:AZERO:STATE?", "0"),
    ("line_frequency", 50, ":SYSTEM:LFREQUENCY?", "50"),
    ("line_frequency_auto_enabled", False, ":SYSTEM:LFREQUENCY:AUTO?", "0"),
    ("display_enabled", False, ":DISPLAY:ENABLE?", "0"),
    ("trigger_count", 20, ":TRIGGER:COUNT?", "20"),
    ("arm_count", 3, ":ARM:COUNT?", "3"),
    ("trigger_delay", 0.5, ":TRIGGER:DELAY?", "+5.000000E-01"),
    ("trigger_source", "trigger_link", ":TRIGGER:SOURCE?", "TLIN"),
    ("arm_source", "bus", ":ARM:SOURCE?", "BUS"),
])
def test_k2400_settings_round_trip(smu, attr, value, query, wire):
    setattr(smu, attr, value)
    got = getattr(smu, attr)
    if isinstance(value, float):
        assert got == pytest.approx(value)
    else:
        assert got == value
    assert smu.ask(query) == wire
    assert smu.check_errors() == []


def test_k2400_source_current_workflow(smu):
    smu.reset()
    smu.source_mode = "current"
    smu.source_current_range_auto_enabled = True
    smu.compliance_voltage = 5
    smu.source_current = 0
    smu.enable_source()
    assert smu.source_enabled is True
    smu.ramp_to_current(1e-5, steps=4, pause=0)
    assert smu.source_current == pytest.approx(1e-5)
    smu.disable_source()
    assert smu.source_enabled is False
    assert smu.check_errors() == []


def test_k2400_measurements(smu):
    assert smu.voltage == pytest.approx(1e-3)        # :MEASURE:VOLTAGE? element 0
    assert smu.current == pytest.approx(1e-6)        # :MEASURE:CURRENT? element 1
    assert smu.resistance == pytest.approx(1e3)      # :MEASURE:RESISTANCE? element 2
    values = smu.values(":READ?")
    assert len(values) == 5 and values[2] == 9.91e37
    result = smu.measure_all()                       # :SENSE:RESISTANCE:MODE MAN, :SENSE:FUNCTION:ALL, :READ?
    assert result["voltage"] == pytest.approx(1e-3)
    assert result["current"] == pytest.approx(1e-6)
    assert math.isnan(result["resistance"])          # 9.91e37 -> NaN
    assert result["time"] == pytest.approx(12.345)
    assert result["status"] == 0
    assert smu.resistance_mode_auto_enabled is False
    assert smu.check_errors() == []


@pytest.mark.parametrize("query", [
    ":SENSE:VOLTAGE:PROTECTION:TRIPPED?", ":SENS:VOLT:PROT:TRIP?",
    ":SENSE:CURRENT:PROTECTION:TRIPPED?", ":SENS:CURR:PROT:TRIP?",
])
def test_k2400_compliance_tripped(smu, query):
    assert smu.ask(query) == "0"


def test_k2400_deprecated_helpers_short_forms(smu):
    """The deprecated helpers send short SCPI forms and ';' chains with a trailing ';'."""
    with pytest.warns(FutureWarning):
        smu.measure_voltage(nplc=2, auto_range=True)  # :SENS:FUNC 'VOLT';:SENS:VOLT:NPLC 2.000000;
    assert smu.ask(":SENSE:FUNCTION?") == "'VOLT'"
    assert smu.voltage_nplc == 2
    assert smu.voltage_range_auto_enabled is True
    with pytest.warns(FutureWarning):
        smu.apply_current(compliance_voltage=3)       # :SOUR:CURR:RANG:AUTO 1 etc.
    assert smu.source_mode == "current"
    assert smu.source_current_range_auto_enabled is True
    assert smu.compliance_voltage == 3
    with pytest.warns(FutureWarning):
        smu.measure_resistance(nplc=0.5, auto_range=False, resistance=2e3)
    assert smu.resistance_nplc == 0.5
    assert smu.resistance_range == 2e3
    with pytest.warns(FutureWarning):
        smu.set_trigger_counts(2, 7)                  # :ARM:COUN 2;:TRIG:COUN 7
    assert (smu.arm_count, smu.trigger_count) == (2, 7)
    assert smu.check_errors() == []


def test_k2400_misc_commands(smu):
    smu.auto_zero_once()
    smu.trigger()
    smu.reset_trigger()
    smu.clear_trigger()
    smu.stop_buffer()
    smu.clear()
    assert smu.check_errors() == []
    assert _esr(smu) == 0


def test_k2400_errors(smu):
    smu.write(":SOUR:CURR:LEV 1e-3")               # a spelling only the live binding takes
    smu.write(":SOURCE:CURRENT 2")                 # outside +-1.05 A (bypassing pymeasure)
    assert smu.source_current == 0.0               # unchanged
    assert smu.check_errors() == [[-113, '"Undefined header"'], [-113, '"Undefined header"']]
    assert smu.next_error == [0, '"No error"']
    assert _esr(smu) == 32


def test_k2400_shutdown(smu):
    smu.source_mode = "current"
    smu.source_current = 1e-4
    smu.enable_source()
    smu.shutdown()                                 # ramp to 0 A, :ABOR, OUTPUT 0
    assert smu.ask(":SOURCE:CURRENT?") == "+0.000000E+00"
    assert smu.ask("OUTPUT?") == "0"
