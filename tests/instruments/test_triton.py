"""Oxford Triton driver against exact wire strings (pymeasure expected_protocol)."""

from __future__ import annotations

import pytest
from pymeasure.test import expected_protocol

from instruments.oxford._protocol import OxfordCommandError, OxfordReplyError
from instruments.oxford.triton import OxfordTriton


def test_init_sends_nothing_and_defaults_to_t5():
    with expected_protocol(OxfordTriton, []) as triton:
        assert triton.loop_channel == 5
        assert triton.loop is triton.T5
        assert triton.channels["T12"] is triton.T12
        assert triton.pressure_gauges["P3"] is triton.P3


def test_id():
    reply = "IDN:OXFORD INSTRUMENTS:TRITON:12345:2.0.0"
    with expected_protocol(OxfordTriton, [("*IDN?", reply)]) as triton:
        assert triton.id == reply


# --------------------------------------------------------------------------- temperatures
@pytest.mark.parametrize("n", [1, 5, 8, 16])
@pytest.mark.parametrize("value, expected", [("0.0523K", 0.0523), ("45.123K", 45.123),
                                             ("12.5mK", 0.0125), ("300.0K", 300.0)])
def test_temperature(n, value, expected):
    with expected_protocol(OxfordTriton, [
        (f"READ:DEV:T{n}:TEMP:SIG:TEMP", f"STAT:DEV:T{n}:TEMP:SIG:TEMP:{value}"),
    ]) as triton:
        assert getattr(triton, f"T{n}").temperature == pytest.approx(expected)


def test_temperature_not_found_is_none():
    with expected_protocol(OxfordTriton, [
        ("READ:DEV:T9:TEMP:SIG:TEMP", "STAT:DEV:T9:TEMP:SIG:TEMP:NOT_FOUND"),
    ]) as triton:
        assert triton.T9.temperature is None


@pytest.mark.parametrize("reply, expected", [("ON", True), ("OFF", False), ("NOT_FOUND", None)])
def test_channel_enabled_read(reply, expected):
    with expected_protocol(OxfordTriton, [
        ("READ:DEV:T3:TEMP:MEAS:ENAB", f"STAT:DEV:T3:TEMP:MEAS:ENAB:{reply}"),
    ]) as triton:
        assert triton.T3.enabled is expected


@pytest.mark.parametrize("value, word", [(True, "ON"), (False, "OFF")])
def test_channel_enabled_write(value, word):
    command = f"SET:DEV:T3:TEMP:MEAS:ENAB:{word}"
    with expected_protocol(OxfordTriton, [(command, f"STAT:{command}:VALID")]) as triton:
        triton.T3.enabled = value


def test_channel_enabled_write_absent_channel_raises():
    command = "SET:DEV:T11:TEMP:MEAS:ENAB:ON"
    with expected_protocol(OxfordTriton, [(command, f"STAT:{command}:NOT_FOUND")]) as triton:
        with pytest.raises(OxfordCommandError, match=command):
            triton.T11.enabled = True


# --------------------------------------------------------------------------- pressures
@pytest.mark.parametrize("n", [1, 2, 6])
@pytest.mark.parametrize("value, pascal", [("1.23mB", 123.0), ("0.45mB", 45.0),
                                           ("1.2e-3mB", 0.12), ("250", 25000.0),
                                           ("1.013B", 101300.0)])
def test_pressure_in_pascal(n, value, pascal):
    with expected_protocol(OxfordTriton, [
        (f"READ:DEV:P{n}:PRES:SIG:PRES", f"STAT:DEV:P{n}:PRES:SIG:PRES:{value}"),
    ]) as triton:
        assert getattr(triton, f"P{n}").pressure == pytest.approx(pascal)


def test_pressure_not_found_is_none():
    with expected_protocol(OxfordTriton, [
        ("READ:DEV:P6:PRES:SIG:PRES", "STAT:DEV:P6:PRES:SIG:PRES:NOT_FOUND"),
    ]) as triton:
        assert triton.P6.pressure is None


# --------------------------------------------------------------------------- system
@pytest.mark.parametrize("code", ["PCL", "EPCL", "COND", "COLL", "NONE"])
def test_action(code):
    with expected_protocol(OxfordTriton, [("READ:SYS:DR:ACTN", f"STAT:SYS:DR:ACTN:{code}")]) as t:
        assert t.action == code


def test_status():
    with expected_protocol(OxfordTriton, [("READ:SYS:DR:STATUS", "STAT:SYS:DR:STATUS:OK")]) as t:
        assert t.status == "OK"


# --------------------------------------------------------------------------- discovery
def test_channel_aliases():
    with expected_protocol(OxfordTriton, [
        ("READ:SYS:DR:CHAN", "STAT:SYS:DR:CHAN:MC:STIL:PT1:PT2"),
    ]) as triton:
        assert triton.channel_aliases() == ["MC", "STIL", "PT1", "PT2"]


def test_channel_map_skips_unassigned_aliases():
    with expected_protocol(OxfordTriton, [
        ("READ:SYS:DR:CHAN", "STAT:SYS:DR:CHAN:MC:STIL:PT1:PT2:SORB:COOL"),
        ("READ:SYS:DR:CHAN:MC", "STAT:SYS:DR:CHAN:MC:T5"),
        ("READ:SYS:DR:CHAN:STIL", "STAT:SYS:DR:CHAN:STIL:T3"),
        ("READ:SYS:DR:CHAN:PT1", "STAT:SYS:DR:CHAN:PT1:T1"),
        ("READ:SYS:DR:CHAN:PT2", "STAT:SYS:DR:CHAN:PT2:T2"),
        ("READ:SYS:DR:CHAN:SORB", "STAT:SYS:DR:CHAN:SORB:NONE"),
        ("READ:SYS:DR:CHAN:COOL", "STAT:SYS:DR:CHAN:COOL:INVALID"),
    ]) as triton:
        assert triton.channel_map() == {"MC": "T5", "STIL": "T3", "PT1": "T1", "PT2": "T2"}


def test_find_loop_channel():
    pairs = [(f"READ:DEV:T{n}:TEMP:LOOP:MODE", f"STAT:DEV:T{n}:TEMP:LOOP:MODE:NOT_FOUND")
             for n in range(1, 8)]
    pairs.append(("READ:DEV:T8:TEMP:LOOP:MODE", "STAT:DEV:T8:TEMP:LOOP:MODE:OFF"))
    with expected_protocol(OxfordTriton, pairs) as triton:
        assert triton.find_loop_channel() == 8
        assert triton.loop_channel == 8
        assert triton.loop is triton.T8


def test_find_loop_channel_none():
    pairs = [(f"READ:DEV:T{n}:TEMP:LOOP:MODE", f"STAT:DEV:T{n}:TEMP:LOOP:MODE:NOT_FOUND")
             for n in range(1, 17)]
    with expected_protocol(OxfordTriton, pairs) as triton:
        assert triton.find_loop_channel() is None
        assert triton.loop_channel == 5


# --------------------------------------------------------------------------- loop
LOOP_READS = [
    ("loop_enabled", "MODE", "ON", True),
    ("loop_enabled", "MODE", "OFF", False),
    ("temperature_setpoint", "TSET", "0.1000K", 0.1),
    ("temperature_setpoint", "TSET", "50mK", 0.05),
    ("heater_range", "RANGE", "1.000mA", 1e-3),
    ("heater_range", "RANGE", "316uA", 0.316e-3),
    ("heater_range", "RANGE", "31.6", 31.6e-3),
    ("loop_p", "P", "10.0", 10.0),
    ("loop_i", "I", "20.0", 20.0),
    ("loop_d", "D", "0.0", 0.0),
    ("ramp_enabled", "RAMP:ENAB", "ON", True),
    ("ramp_rate", "RAMP:RATE", "0.6000K/m", 0.01),
    ("ramp_rate", "RAMP:RATE", "30mK/m", 0.0005),
]


@pytest.mark.parametrize("prop, tail, value, expected", LOOP_READS)
def test_loop_reads_on_instrument(prop, tail, value, expected):
    with expected_protocol(OxfordTriton, [
        (f"READ:DEV:T5:TEMP:LOOP:{tail}", f"STAT:DEV:T5:TEMP:LOOP:{tail}:{value}"),
    ]) as triton:
        assert getattr(triton, prop) == pytest.approx(expected)


@pytest.mark.parametrize("prop, tail, value, expected", LOOP_READS[:3])
def test_loop_reads_follow_loop_channel(prop, tail, value, expected):
    with expected_protocol(OxfordTriton, [
        (f"READ:DEV:T8:TEMP:LOOP:{tail}", f"STAT:DEV:T8:TEMP:LOOP:{tail}:{value}"),
    ], loop_channel=8) as triton:
        assert getattr(triton, prop) == pytest.approx(expected)


def test_loop_properties_on_channel():
    with expected_protocol(OxfordTriton, [
        ("READ:DEV:T5:TEMP:LOOP:TSET", "STAT:DEV:T5:TEMP:LOOP:TSET:0.2500K"),
        ("READ:DEV:T5:TEMP:LOOP:HTR", "STAT:DEV:T5:TEMP:LOOP:HTR:H1"),
    ]) as triton:
        assert triton.T5.temperature_setpoint == pytest.approx(0.25)
        assert triton.T5.loop_heater == "H1"


def test_loop_mode_not_found_is_none():
    with expected_protocol(OxfordTriton, [
        ("READ:DEV:T2:TEMP:LOOP:MODE", "STAT:DEV:T2:TEMP:LOOP:MODE:NOT_FOUND"),
    ]) as triton:
        assert triton.T2.loop_enabled is None


LOOP_WRITES = [
    ("loop_enabled", True, "MODE:ON"),
    ("loop_enabled", False, "MODE:OFF"),
    ("temperature_setpoint", 0.1, "TSET:0.1"),
    ("temperature_setpoint", 1.5, "TSET:1.5"),
    ("heater_range", 0.316e-3, "RANGE:0.316"),
    ("heater_range", 1e-3, "RANGE:1"),
    ("heater_range", 3.16e-3, "RANGE:3.16"),
    ("heater_range", 10e-3, "RANGE:10"),
    ("heater_range", 31.6e-3, "RANGE:31.6"),
    ("heater_range", 0.1, "RANGE:100"),
    ("loop_p", 12.5, "P:12.5"),
    ("loop_i", 30, "I:30"),
    ("loop_d", 0, "D:0"),
    ("ramp_enabled", True, "RAMP:ENAB:ON"),
    ("ramp_rate", 0.01, "RAMP:RATE:0.6"),
]


@pytest.mark.parametrize("prop, value, tail", LOOP_WRITES)
def test_loop_writes(prop, value, tail):
    command = f"SET:DEV:T5:TEMP:LOOP:{tail}"
    with expected_protocol(OxfordTriton, [(command, f"STAT:{command}:VALID")]) as triton:
        setattr(triton, prop, value)


def test_loop_write_on_other_loop_channel():
    command = "SET:DEV:T8:TEMP:LOOP:TSET:0.05"
    with expected_protocol(OxfordTriton, [(command, f"STAT:{command}:VALID")]) as triton:
        triton.loop_channel = 8
        triton.temperature_setpoint = 0.05


@pytest.mark.parametrize("prop, value", [
    ("heater_range", 2e-3),
    ("heater_range", 0),
    ("temperature_setpoint", -0.1),
    ("temperature_setpoint", 41),
    ("loop_p", 1001),
    ("ramp_rate", -1),
])
def test_loop_validators_send_nothing(prop, value):
    with expected_protocol(OxfordTriton, []) as triton:
        with pytest.raises(ValueError):
            setattr(triton, prop, value)


def test_loop_channel_range():
    with expected_protocol(OxfordTriton, []) as triton:
        with pytest.raises(ValueError):
            triton.loop_channel = 17


@pytest.mark.parametrize("tail", ["INVALID", "NOT_FOUND"])
def test_refused_set_raises_with_command(tail):
    command = "SET:DEV:T5:TEMP:LOOP:TSET:2"
    with expected_protocol(OxfordTriton, [(command, f"STAT:{command}:{tail}")]) as triton:
        with pytest.raises(OxfordCommandError, match=command):
            triton.temperature_setpoint = 2


def test_set_reply_not_stat_set_raises():
    command = "SET:DEV:T5:TEMP:LOOP:MODE:ON"
    with expected_protocol(OxfordTriton, [(command, "STAT:DEV:T5:TEMP:LOOP:MODE:ON")]) as triton:
        with pytest.raises(OxfordReplyError, match=command):
            triton.loop_enabled = True


def test_select_heater():
    command = "SET:DEV:T5:TEMP:LOOP:HTR:H1"
    with expected_protocol(OxfordTriton, [(command, f"STAT:{command}:VALID")]) as triton:
        triton.select_heater()


def test_select_heater_on_channel_refused():
    command = "SET:DEV:T3:TEMP:LOOP:HTR:H1"
    with expected_protocol(OxfordTriton, [(command, f"STAT:{command}:INVALID")]) as triton:
        with pytest.raises(OxfordCommandError, match=command):
            triton.T3.select_heater("H1")
