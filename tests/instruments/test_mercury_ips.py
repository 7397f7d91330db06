"""Oxford Mercury iPS driver against exact wire strings (pymeasure expected_protocol)."""

from __future__ import annotations

import pytest
from pymeasure.test import expected_protocol

from instruments.oxford._protocol import (
    OxfordCommandError,
    OxfordReplyError,
    format_number,
    parse_quantity,
)
from instruments.oxford.mercury_ips import MercuryIPS

AXES = [("x", "GRPX"), ("y", "GRPY"), ("z", "GRPZ")]


def test_init_sends_nothing():
    with expected_protocol(MercuryIPS, []):
        pass


def test_id():
    reply = "IDN:OXFORD INSTRUMENTS:MERCURY IPS:123456:2.5.09.000"
    with expected_protocol(MercuryIPS, [("*IDN?", reply)]) as ips:
        assert ips.id == reply


# --------------------------------------------------------------------------- reads
@pytest.mark.parametrize("axis, group", AXES)
@pytest.mark.parametrize("prop, tail, value, expected", [
    ("field", "SIG:FLD", "0.1000T", 0.1),
    ("field", "SIG:FLD", "-12.5mT", -0.0125),
    ("field_persistent", "SIG:PFLD", "1.2500T", 1.25),
    ("field_target", "SIG:FSET", "0.5000T", 0.5),
    ("current", "SIG:CURR", "3.2uA", 3.2e-6),
    ("current", "SIG:CURR", "47.5000A", 47.5),
    ("current_persistent", "SIG:PCUR", "11.8750A", 11.875),
    ("current_target", "SIG:CSET", "4.7500A", 4.75),
    ("voltage", "SIG:VOLT", "174.3112mV", 0.1743112),
    ("field_ramp_rate", "SIG:RFST", "0.6000T/m", 0.01),
    ("field_ramp_rate", "SIG:RFST", "0.0500T/m", 0.05 / 60),
    ("field_ramp_rate", "SIG:RFST", "30.0mT/m", 0.0005),
    ("current_ramp_rate", "SIG:RCST", "6.0000A/m", 0.1),
    ("current_to_field_ratio", "ATOB", "9.5000A/T", 9.5),
    ("current_to_field_ratio", "ATOB", "9.5", 9.5),
])
def test_numeric_reads(axis, group, prop, tail, value, expected):
    command = f"READ:DEV:{group}:PSU:{tail}"
    with expected_protocol(MercuryIPS, [(command, f"STAT:DEV:{group}:PSU:{tail}:{value}")]) as ips:
        assert getattr(getattr(ips, axis), prop) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("reply, expected", [("ON", True), ("OFF", False)])
def test_switch_heater_read(reply, expected):
    with expected_protocol(MercuryIPS, [
        ("READ:DEV:GRPZ:PSU:SIG:SWHT", f"STAT:DEV:GRPZ:PSU:SIG:SWHT:{reply}"),
    ]) as ips:
        assert ips.z.switch_heater_enabled is expected


@pytest.mark.parametrize("state", ["HOLD", "RTOS", "RTOZ", "CLMP"])
def test_ramp_status_read(state):
    with expected_protocol(MercuryIPS, [
        ("READ:DEV:GRPY:PSU:ACTN", f"STAT:DEV:GRPY:PSU:ACTN:{state}"),
    ]) as ips:
        assert ips.y.ramp_status == state


@pytest.mark.parametrize("state, ramping", [("HOLD", False), ("RTOS", True), ("RTOZ", True),
                                            ("CLMP", False)])
def test_is_ramping(state, ramping):
    with expected_protocol(MercuryIPS, [
        ("READ:DEV:GRPZ:PSU:ACTN", f"STAT:DEV:GRPZ:PSU:ACTN:{state}"),
    ]) as ips:
        assert ips.z.is_ramping is ramping


def test_instrument_is_ramping_any_axis():
    with expected_protocol(MercuryIPS, [
        ("READ:DEV:GRPX:PSU:ACTN", "STAT:DEV:GRPX:PSU:ACTN:HOLD"),
        ("READ:DEV:GRPY:PSU:ACTN", "STAT:DEV:GRPY:PSU:ACTN:RTOZ"),
    ]) as ips:
        assert ips.is_ramping is True


def test_instrument_is_ramping_absent_axes_are_idle():
    with expected_protocol(MercuryIPS, [
        ("READ:DEV:GRPX:PSU:ACTN", "STAT:DEV:GRPX:PSU:ACTN:NOT_FOUND"),
        ("READ:DEV:GRPY:PSU:ACTN", "STAT:DEV:GRPY:PSU:ACTN:NOT_FOUND"),
        ("READ:DEV:GRPZ:PSU:ACTN", "STAT:DEV:GRPZ:PSU:ACTN:HOLD"),
    ]) as ips:
        assert ips.is_ramping is False


def test_magnet_temperature():
    with expected_protocol(MercuryIPS, [
        ("READ:DEV:MB1.T1:TEMP:SIG:TEMP", "STAT:DEV:MB1.T1:TEMP:SIG:TEMP:4.2130K"),
    ]) as ips:
        assert ips.magnet_temperature == pytest.approx(4.213)


def test_read_not_found_gives_none():
    with expected_protocol(MercuryIPS, [
        ("READ:DEV:GRPX:PSU:SIG:FLD", "STAT:DEV:GRPX:PSU:SIG:FLD:NOT_FOUND"),
    ]) as ips:
        assert ips.x.field is None


@pytest.mark.parametrize("reply", ["STAT:DEV:GRPZ:PSU:SIG:FLD:INVALID", "INVALID"])
def test_read_invalid_raises_with_command(reply):
    with expected_protocol(MercuryIPS, [("READ:DEV:GRPZ:PSU:SIG:FLD", reply)]) as ips:
        with pytest.raises(OxfordCommandError, match="READ:DEV:GRPZ:PSU:SIG:FLD"):
            ips.z.field


@pytest.mark.parametrize("reply", [
    "STAT:DEV:GRPX:PSU:SIG:FLD:0.1000T",  # another axis: out of step
    "STAT:DEV:GRPZ:PSU:SIG:CURR:1.0000A",  # another signal
    "STAT:DEV:GRPZ:PSU:SIG:FLD:",  # no value
])
def test_read_wrong_echo_raises(reply):
    with expected_protocol(MercuryIPS, [("READ:DEV:GRPZ:PSU:SIG:FLD", reply)]) as ips:
        with pytest.raises(OxfordReplyError, match="READ:DEV:GRPZ:PSU:SIG:FLD"):
            ips.z.field


def test_read_wrong_unit_raises():
    with expected_protocol(MercuryIPS, [
        ("READ:DEV:GRPZ:PSU:SIG:FLD", "STAT:DEV:GRPZ:PSU:SIG:FLD:0.1000A"),
    ]) as ips:
        with pytest.raises(OxfordReplyError, match="'T'"):
            ips.z.field


# --------------------------------------------------------------------------- writes
@pytest.mark.parametrize("axis, group", AXES)
@pytest.mark.parametrize("prop, value, tail", [
    ("field_target", 0.5, "SIG:FSET:0.5"),
    ("field_target", -1.25, "SIG:FSET:-1.25"),
    ("field_target", 0, "SIG:FSET:0"),
    ("field_target", 0.0001, "SIG:FSET:0.0001"),
    ("current_target", 47.5, "SIG:CSET:47.5"),
    ("field_ramp_rate", 0.01, "SIG:RFST:0.6"),
    ("field_ramp_rate", 0.002, "SIG:RFST:0.12"),
    ("current_ramp_rate", 0.1, "SIG:RCST:6"),
    ("switch_heater_enabled", True, "SIG:SWHT:ON"),
    ("switch_heater_enabled", False, "SIG:SWHT:OFF"),
    ("current_to_field_ratio", 9.5, "ATOB:9.5"),
    ("ramp_status", "RTOS", "ACTN:RTOS"),
])
def test_writes(axis, group, prop, value, tail):
    command = f"SET:DEV:{group}:PSU:{tail}"
    with expected_protocol(MercuryIPS, [(command, f"STAT:{command}:VALID")]) as ips:
        setattr(getattr(ips, axis), prop, value)


@pytest.mark.parametrize("method, word", [("hold", "HOLD"), ("ramp_to_set", "RTOS"),
                                          ("ramp_to_zero", "RTOZ"), ("clamp", "CLMP")])
def test_action_methods(method, word):
    command = f"SET:DEV:GRPZ:PSU:ACTN:{word}"
    with expected_protocol(MercuryIPS, [(command, f"STAT:{command}:VALID")]) as ips:
        getattr(ips.z, method)()


def test_set_reply_value_is_not_compared():
    """The firmware may reformat the echoed value (and the sim echoes ``{}``)."""
    with expected_protocol(MercuryIPS, [
        ("SET:DEV:GRPZ:PSU:SIG:FSET:0.5", "STAT:SET:DEV:GRPZ:PSU:SIG:FSET:0.5000:VALID"),
        ("SET:DEV:GRPZ:PSU:SIG:FSET:0.25", "STAT:SET:DEV:GRPZ:PSU:SIG:FSET:{}:VALID"),
    ]) as ips:
        ips.z.field_target = 0.5
        ips.z.field_target = 0.25


@pytest.mark.parametrize("tail", ["INVALID", "NOT_FOUND"])
def test_refused_set_raises_with_command(tail):
    with expected_protocol(MercuryIPS, [
        ("SET:DEV:GRPZ:PSU:SIG:FSET:9", f"STAT:SET:DEV:GRPZ:PSU:SIG:FSET:9:{tail}"),
    ]) as ips:
        with pytest.raises(OxfordCommandError, match=r"SET:DEV:GRPZ:PSU:SIG:FSET:9"):
            ips.z.field_target = 9


def test_refused_action_raises():
    with expected_protocol(MercuryIPS, [
        ("SET:DEV:GRPX:PSU:ACTN:RTOS", "STAT:SET:DEV:GRPX:PSU:ACTN:RTOS:INVALID"),
    ]) as ips:
        with pytest.raises(OxfordCommandError, match="ACTN:RTOS"):
            ips.x.ramp_to_set()


@pytest.mark.parametrize("reply", [
    "STAT:DEV:GRPZ:PSU:SIG:FSET:0.5000T",  # a READ reply, not a SET reply
    "STAT:SET:DEV:GRPY:PSU:SIG:FSET:0.5:VALID",  # another axis
    "STAT:SET:DEV:GRPZ:PSU:SIG:FSET:0.5",  # no tail
])
def test_set_reply_not_stat_set_raises(reply):
    with expected_protocol(MercuryIPS, [("SET:DEV:GRPZ:PSU:SIG:FSET:0.5", reply)]) as ips:
        with pytest.raises(OxfordReplyError, match="SET:DEV:GRPZ:PSU:SIG:FSET:0.5"):
            ips.z.field_target = 0.5


@pytest.mark.parametrize("prop, value", [
    ("field_target", 25.0),
    ("field_ramp_rate", -0.01),
    ("field_ramp_rate", 2.0),
    ("current_ramp_rate", 11.0),
    ("switch_heater_enabled", "ON"),
    ("ramp_status", "STOP"),
])
def test_validators_send_nothing(prop, value):
    with expected_protocol(MercuryIPS, []) as ips:
        with pytest.raises(ValueError):
            setattr(ips.z, prop, value)


def test_shutdown_holds_present_axes():
    with expected_protocol(MercuryIPS, [
        ("SET:DEV:GRPX:PSU:ACTN:HOLD", "STAT:SET:DEV:GRPX:PSU:ACTN:HOLD:NOT_FOUND"),
        ("SET:DEV:GRPY:PSU:ACTN:HOLD", "STAT:SET:DEV:GRPY:PSU:ACTN:HOLD:NOT_FOUND"),
        ("SET:DEV:GRPZ:PSU:ACTN:HOLD", "STAT:SET:DEV:GRPZ:PSU:ACTN:HOLD:VALID"),
    ]) as ips:
        ips.shutdown()
        assert ips.isShutdown


def test_channels_collection():
    with expected_protocol(MercuryIPS, []) as ips:
        assert ips.channels["GRPZ"] is ips.z
        assert [ips.x.id, ips.y.id, ips.z.id] == ["GRPX", "GRPY", "GRPZ"]


# --------------------------------------------------------------------------- shared parser
@pytest.mark.parametrize("text, unit, expected", [
    ("0.1000T", "T", 0.1),
    ("12.5mT", "T", 0.0125),
    ("3.2uA", "A", 3.2e-6),
    ("3.2\u00b5A", "A", 3.2e-6),
    ("5nA", "A", 5e-9),
    ("1.5kA", "A", 1500.0),
    ("2MB", "B", 2e6),
    ("1.23mB", "B", 1.23e-3),
    ("0.6000T/m", "T/m", 0.6),
    ("-1.5e-3T", "T", -1.5e-3),
    ("7", "T", 7.0),
    ("9.5A/T", None, 9.5),
    ("4.5mK", None, 4.5e-3),
    ("0.2T/m", None, 0.2),
])
def test_parse_quantity(text, unit, expected):
    assert parse_quantity(text, unit) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("text, unit", [("ON", "T"), ("0.1A", "T"), ("0.1xT", "T"), ("", None)])
def test_parse_quantity_rejects(text, unit):
    with pytest.raises(OxfordReplyError):
        parse_quantity(text, unit)


@pytest.mark.parametrize("value, text", [(0.5, "0.5"), (1, "1"), (-0.0, "0"), (120.0, "120"),
                                         (0.6000000000000001, "0.6"), (1e-7, "0"),
                                         (-2.25, "-2.25")])
def test_format_number(value, text):
    assert format_number(value) == text


def test_format_number_rejects_nan():
    with pytest.raises(ValueError):
        format_number(float("nan"))
