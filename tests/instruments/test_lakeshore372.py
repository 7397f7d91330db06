"""Lake Shore 372 driver against exact wire strings (pymeasure expected_protocol)."""

from __future__ import annotations

import pytest
from pymeasure.adapters import Adapter
from pymeasure.test import expected_protocol
from pyvisa import constants
from pyvisa.errors import VisaIOError

from instruments.lakeshore.lakeshore372 import (
    HeaterSetup,
    InputSetup,
    InputType,
    LakeShore372,
    LakeShore372NoReplyError,
    OutputMode,
    ReadingStatus,
    ScannerState,
    StandardEvent,
)


def test_init_sends_nothing():
    with expected_protocol(LakeShore372, []) as ls:
        assert ls.inputs["A"] is ls.input_A
        assert ls.inputs[16] is ls.input_16
        assert ls.outputs[0] is ls.output_0


def test_id():
    reply = "LSCI,MODEL372,LSA1234,1.3"
    with expected_protocol(LakeShore372, [("*IDN?", reply)]) as ls:
        assert ls.id == reply


# --------------------------------------------------------------------------- inputs
@pytest.mark.parametrize("ch", [1, 5, 16, "A"])
def test_kelvin(ch):
    with expected_protocol(LakeShore372, [(f"KRDG? {ch}", "+5.23000E-02")]) as ls:
        assert getattr(ls, f"input_{ch}").kelvin == pytest.approx(0.0523)


@pytest.mark.parametrize("ch", [2, "A"])
def test_resistance(ch):
    with expected_protocol(LakeShore372, [(f"SRDG? {ch}", "+1.84520E+04")]) as ls:
        assert getattr(ls, f"input_{ch}").resistance == pytest.approx(18452.0)


@pytest.mark.parametrize("reply, flags", [
    ("000", ReadingStatus(0)),
    ("001", ReadingStatus.CS_OVL),
    ("002", ReadingStatus.VCM_OVL),
    ("004", ReadingStatus.VMIX_OVL),
    ("008", ReadingStatus.VDIF_OVL),
    ("016", ReadingStatus.R_OVER),
    ("032", ReadingStatus.R_UNDER),
    ("064", ReadingStatus.T_OVER),
    ("128", ReadingStatus.T_UNDER),
    ("033", ReadingStatus.CS_OVL | ReadingStatus.R_UNDER),
    ("144", ReadingStatus.R_OVER | ReadingStatus.T_UNDER),
])
def test_reading_status_decoding(reply, flags):
    with expected_protocol(LakeShore372, [("RDGST? 3", reply)]) as ls:
        status = ls.input_3.status
        assert isinstance(status, ReadingStatus)
        assert status == flags
        assert bool(status) is (flags != 0)


def test_reading_status_membership():
    with expected_protocol(LakeShore372, [("RDGST? A", "066")]) as ls:
        status = ls.input_A.status
        assert ReadingStatus.VCM_OVL in status and ReadingStatus.T_OVER in status
        assert ReadingStatus.CS_OVL not in status


def test_name():
    with expected_protocol(LakeShore372, [
        ("INNAME? 5", "MC RuOx        "),
        ('INNAME 5,"Sample stage"', None),
    ]) as ls:
        assert ls.input_5.name == "MC RuOx"
        ls.input_5.name = "Sample stage"


@pytest.mark.parametrize("bad", ["sixteen chars xx", 'quo"te', "a,b", 5])
def test_name_validation(bad):
    with expected_protocol(LakeShore372, []) as ls:
        with pytest.raises(ValueError):
            ls.input_5.name = bad


def test_temperature_limit():
    with expected_protocol(LakeShore372, [
        ("TLIMIT? 2", "+8.0000E+00"),
        ("TLIMIT 2,10.5", None),
        ("TLIMIT A,0", None),
    ]) as ls:
        assert ls.input_2.temperature_limit == 8.0
        ls.input_2.temperature_limit = 10.5
        ls.input_A.temperature_limit = 0


def test_input_setup_read():
    with expected_protocol(LakeShore372, [("INSET? 5", "1,010,003,00,1")]) as ls:
        assert ls.input_5.input_setup == InputSetup(True, 10, 3, 0, "negative")


@pytest.mark.parametrize("value", [
    InputSetup(True, 10, 3, 0, "negative"),
    (1, 10, 3, 0, 1),
    [True, 10.0, 3, 0, "negative"],
])
def test_input_setup_write(value):
    with expected_protocol(LakeShore372, [("INSET 5,1,10,3,0,1", None)]) as ls:
        ls.input_5.input_setup = value


def test_input_setup_write_positive_disabled():
    with expected_protocol(LakeShore372, [("INSET 12,0,200,200,59,2", None)]) as ls:
        ls.input_12.input_setup = InputSetup(False, 200, 200, 59, "positive")


@pytest.mark.parametrize("value", [
    (1, 0, 3, 0, 1),  # dwell < 1
    (1, 10, 2, 0, 1),  # pause < 3
    (1, 10, 3, 60, 1),  # curve > 59
    (1, 10, 3, 0, 3),  # tempco
    (1, 10, 3, 0),  # 4 fields
])
def test_input_setup_validation(value):
    with expected_protocol(LakeShore372, []) as ls:
        with pytest.raises(ValueError):
            ls.input_5.input_setup = value


def test_input_type_read():
    with expected_protocol(LakeShore372, [("INTYPE? A", "1,07,0,10,0,1")]) as ls:
        assert ls.input_A.input_type == InputType("current", 7, 0, 10, False, "kelvin")


@pytest.mark.parametrize("value, command", [
    (InputType("current", 7, 0, 10, False, "kelvin"), "INTYPE 3,1,7,0,10,0,1"),
    (InputType("voltage", 12, 1, 22, True, "ohm"), "INTYPE 3,0,12,1,22,1,2"),
    ((1, 22, 0, 1, 0, 1), "INTYPE 3,1,22,0,1,0,1"),
])
def test_input_type_write(value, command):
    with expected_protocol(LakeShore372, [(command, None)]) as ls:
        ls.input_3.input_type = value


@pytest.mark.parametrize("value", [
    ("voltage", 13, 0, 10, False, "kelvin"),  # voltage excitation index 1-12
    ("current", 23, 0, 10, False, "kelvin"),
    ("current", 7, 3, 10, False, "kelvin"),
    ("current", 7, 0, 23, False, "kelvin"),
    ("current", 7, 0, 10, False, "celsius"),
])
def test_input_type_validation(value):
    with expected_protocol(LakeShore372, []) as ls:
        with pytest.raises(ValueError):
            ls.input_3.input_type = value


# --------------------------------------------------------------------------- scanner
def test_scanner_read():
    with expected_protocol(LakeShore372, [("SCAN?", "05,1")]) as ls:
        assert ls.scanner == ScannerState(5, True)


def test_scanned_channel():
    with expected_protocol(LakeShore372, [("SCAN?", "12,0")]) as ls:
        assert ls.scanned_channel == 12


@pytest.mark.parametrize("value, command", [((5, False), "SCAN 5,0"),
                                            (ScannerState(16, True), "SCAN 16,1")])
def test_scanner_write(value, command):
    with expected_protocol(LakeShore372, [(command, None)]) as ls:
        ls.scanner = value


@pytest.mark.parametrize("args, command", [((5,), "SCAN 5,0"), ((1, True), "SCAN 1,1")])
def test_scan_method(args, command):
    with expected_protocol(LakeShore372, [(command, None)]) as ls:
        ls.scan(*args)


@pytest.mark.parametrize("channel", [0, 17, "A"])
def test_scan_validation(channel):
    with expected_protocol(LakeShore372, []) as ls:
        with pytest.raises(ValueError):
            ls.scan(channel)


# --------------------------------------------------------------------------- outputs
@pytest.mark.parametrize("reply, expected", [
    ("5,A,0,0,0,1", OutputMode("closed_loop", "A", False, "unipolar", False, 1)),
    ("2,5,1,1,1,255", OutputMode("open_loop", 5, True, "bipolar", True, 255)),
    ("0,0,0,0,0,1", OutputMode("off", 0, False, "unipolar", False, 1)),
    ("6,3,0,0,0,10", OutputMode("warm_up", 3, False, "unipolar", False, 10)),
])
def test_output_mode_read_six_fields(reply, expected):
    with expected_protocol(LakeShore372, [("OUTMODE? 0", reply)]) as ls:
        assert ls.output_0.output_mode == expected


@pytest.mark.parametrize("out, value, command", [
    (0, OutputMode("closed_loop", 5, False, "unipolar", False, 1), "OUTMODE 0,5,5,0,0,0,1"),
    (0, ("zone", "A", True, "bipolar", True, 20), "OUTMODE 0,3,A,1,1,1,20"),
    (1, (6, 2, 0, 0, 0, 1), "OUTMODE 1,6,2,0,0,0,1"),
    (2, ("still", 0, False, 0, False, 1), "OUTMODE 2,4,0,0,0,0,1"),
    (2, ("off", 0, False, "unipolar", False, 0), "OUTMODE 2,0,0,0,0,0,0"),
])
def test_output_mode_write_six_fields(out, value, command):
    with expected_protocol(LakeShore372, [(command, None)]) as ls:
        getattr(ls, f"output_{out}").output_mode = value


@pytest.mark.parametrize("value", [
    ("heat", 5, False, "unipolar", False, 1),
    ("closed_loop", 17, False, "unipolar", False, 1),
    ("closed_loop", "B", False, "unipolar", False, 1),
    ("closed_loop", 5, False, "tripolar", False, 1),
    ("closed_loop", 5, False, "unipolar", False, 256),
    ("closed_loop", 5, False, "unipolar", False),
])
def test_output_mode_validation(value):
    with expected_protocol(LakeShore372, []) as ls:
        with pytest.raises(ValueError):
            ls.output_0.output_mode = value


@pytest.mark.parametrize("code, name", [(0, "off"), (1, "monitor_out"), (2, "open_loop"),
                                        (3, "zone"), (4, "still"), (5, "closed_loop"),
                                        (6, "warm_up")])
def test_mode_read(code, name):
    with expected_protocol(LakeShore372, [("OUTMODE? 0", f"{code},5,0,0,0,1")]) as ls:
        assert ls.output_0.mode == name


@pytest.mark.parametrize("value", ["closed_loop", 5])
def test_mode_write_keeps_other_fields(value):
    with expected_protocol(LakeShore372, [
        ("OUTMODE? 0", "0,A,1,0,1,7"),
        ("OUTMODE 0,5,A,1,0,1,7", None),
    ]) as ls:
        ls.output_0.mode = value


@pytest.mark.parametrize("index, amps", [(0, 0.0), (1, 31.6e-6), (2, 100e-6), (3, 316e-6),
                                         (4, 1e-3), (5, 3.16e-3), (6, 10e-3), (7, 31.6e-3),
                                         (8, 100e-3)])
def test_sample_heater_range(index, amps):
    with expected_protocol(LakeShore372, [
        ("RANGE? 0", str(index)),
        (f"RANGE 0,{index}", None),
    ]) as ls:
        assert ls.output_0.range == pytest.approx(amps)
        ls.output_0.range = amps


@pytest.mark.parametrize("bad", [2e-3, 1, -1e-3])
def test_sample_heater_range_validation(bad):
    with expected_protocol(LakeShore372, []) as ls:
        with pytest.raises(ValueError):
            ls.output_0.range = bad


@pytest.mark.parametrize("out", [1, 2])
@pytest.mark.parametrize("index, on", [(0, False), (1, True)])
def test_aux_output_range(out, index, on):
    with expected_protocol(LakeShore372, [
        (f"RANGE? {out}", str(index)),
        (f"RANGE {out},{index}", None),
    ]) as ls:
        output = getattr(ls, f"output_{out}")
        assert output.range is on
        output.range = on


def test_setpoint():
    with expected_protocol(LakeShore372, [
        ("SETP? 0", "+1.00000E-01"),
        ("SETP 0,0.05", None),
        ("SETP 0,1500", None),
    ]) as ls:
        assert ls.output_0.setpoint == pytest.approx(0.1)
        ls.output_0.setpoint = 0.05
        ls.output_0.setpoint = 1500


def test_setpoint_validation():
    with expected_protocol(LakeShore372, []) as ls:
        with pytest.raises(ValueError):
            ls.output_0.setpoint = -1


def test_pid():
    with expected_protocol(LakeShore372, [
        ("PID? 0", "+10.000,+20.000,+0.000"),
        ("PID 0,25,100.5,0", None),
    ]) as ls:
        assert ls.output_0.pid == (10.0, 20.0, 0.0)
        ls.output_0.pid = (25, 100.5, 0)


@pytest.mark.parametrize("bad", [(1001, 0, 0), (10, 10001, 0), (10, 20, 2501), (10, 20)])
def test_pid_validation(bad):
    with expected_protocol(LakeShore372, []) as ls:
        with pytest.raises(ValueError):
            ls.output_0.pid = bad


@pytest.mark.parametrize("out", [0, 1, 2])
def test_heater_output(out):
    with expected_protocol(LakeShore372, [(f"HTR? {out}", "+12.500")]) as ls:
        assert getattr(ls, f"output_{out}").heater_output == pytest.approx(12.5)


def test_sample_heater_setup_layout():
    with expected_protocol(LakeShore372, [
        ("HTRSET? 0", "+120.000,0,+0.000,1"),
        ("HTRSET 0,100,0,0,2", None),
    ]) as ls:
        assert ls.output_0.heater_setup == HeaterSetup(120.0, 0, 0.0, "current")
        ls.output_0.heater_setup = HeaterSetup(100, 0, 0, "power")


@pytest.mark.parametrize("reply, expected", [
    ("1,1,+0.000,1", HeaterSetup(25.0, 1, 0.0, "current")),
    ("2,0,+0.500,2", HeaterSetup(50.0, 0, 0.5, "power")),
])
def test_warmup_heater_setup_read(reply, expected):
    with expected_protocol(LakeShore372, [("HTRSET? 1", reply)]) as ls:
        assert ls.output_1.heater_setup == expected


@pytest.mark.parametrize("value, command", [
    (HeaterSetup(25, 2, 0, "current"), "HTRSET 1,1,2,0,1"),
    ((50, 0, 0.35, 2), "HTRSET 1,2,0,0.35,2"),
])
def test_warmup_heater_setup_write(value, command):
    with expected_protocol(LakeShore372, [(command, None)]) as ls:
        ls.output_1.heater_setup = value


@pytest.mark.parametrize("out, value", [
    (1, (30, 0, 0, 1)),  # warm-up heater: 25 or 50 ohm only
    (0, (0.5, 0, 0, 1)),  # sample heater resistance below 1 ohm
    (0, (120, 3, 0, 1)),  # max current code
    (0, (120, 0, 0, "watts")),
])
def test_heater_setup_validation(out, value):
    with expected_protocol(LakeShore372, []) as ls:
        with pytest.raises(ValueError):
            getattr(ls, f"output_{out}").heater_setup = value


def test_still_output_has_no_heater_setup():
    with expected_protocol(LakeShore372, []) as ls:
        assert not hasattr(ls.output_2, "heater_setup")


def test_ramp():
    with expected_protocol(LakeShore372, [
        ("RAMP? 0", "1,0.600"),
        ("RAMP 0,1,0.6", None),
        ("RAMP 0,0,6", None),
    ]) as ls:
        assert ls.output_0.ramp == (True, pytest.approx(0.01))
        ls.output_0.ramp = (True, 0.01)
        ls.output_0.ramp = (False, 0.1)


def test_ramp_validation():
    with expected_protocol(LakeShore372, []) as ls:
        with pytest.raises(ValueError):
            ls.output_0.ramp = (True, 2.0)  # 120 K/min


@pytest.mark.parametrize("reply, ramping", [("0", False), ("1", True)])
def test_ramp_status(reply, ramping):
    with expected_protocol(LakeShore372, [("RAMPST? 0", reply)]) as ls:
        assert ls.output_0.ramp_status is ramping


# --------------------------------------------------------------------------- errors
def test_check_errors_decodes_esr():
    with expected_protocol(LakeShore372, [("*ESR?", "48"), ("*ESR?", "0")]) as ls:
        assert ls.check_errors() == [StandardEvent.EXE, StandardEvent.CME]
        assert ls.check_errors() == []


def test_standard_event_status():
    with expected_protocol(LakeShore372, [("*ESR?", "129")]) as ls:
        assert ls.standard_event_status == StandardEvent.OPC | StandardEvent.PON


class _SilentAdapter(Adapter):
    """Accepts writes, never answers (what the 372 does with a query it does not know)."""

    def __init__(self):
        super().__init__()
        self.written = []

    def _write(self, command, **kwargs):
        self.written.append(command)

    def _read(self, **kwargs):
        raise VisaIOError(constants.VI_ERROR_TMO)


def test_no_reply_raises_clear_error_naming_the_query():
    adapter = _SilentAdapter()
    ls = LakeShore372(adapter)
    with pytest.raises(LakeShore372NoReplyError, match=r"KRDG\? 7") as info:
        ls.input_7.kelvin
    assert isinstance(info.value, TimeoutError)
    assert adapter.written == ["KRDG? 7"]


def test_other_read_errors_pass_through():
    class Broken(_SilentAdapter):
        def _read(self, **kwargs):
            raise VisaIOError(constants.VI_ERROR_CONN_LOST)

    ls = LakeShore372(Broken())
    with pytest.raises(VisaIOError):
        ls.input_7.kelvin
