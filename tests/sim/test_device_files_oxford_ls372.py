"""The Mercury iPS, Triton and Lake Shore 372 device files against their drivers.

Every test drives the project's driver through PLAIN pyvisa-sim
(``visa_library="<abs path>.yaml@sim"``) at the file's own resource address, with a
short timeout so that a string the YAML does not answer fails fast.

pyvisa caches one VISA library (which owns the simulated devices) per library
path; each fixture drops the cached one first so every test starts from the
YAML defaults.
"""

from __future__ import annotations

import pathlib
import re
import time

import pytest
import yaml
from pyvisa.highlevel import VisaLibraryBase

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
from instruments.oxford._protocol import OxfordCommandError
from instruments.oxford.mercury_ips import MercuryIPS
from instruments.oxford.triton import OxfordTriton
from sim.binding import device_file

TIMEOUT_MS = 200

MERCURY_FILE = device_file("mercury_ips")
TRITON_FILE = device_file("triton")
LS372_FILE = device_file("lakeshore372")

ADDRESS = {
    "mercury_ips": "TCPIP0::localhost::7020::SOCKET",
    "triton": "TCPIP0::localhost::33576::SOCKET",
    "lakeshore372": "GPIB0::12::INSTR",
}
FILES = [MERCURY_FILE, TRITON_FILE, LS372_FILE]
INTERFACES = ("TCPIP SOCKET", "GPIB INSTR", "ASRL INSTR", "TCPIP INSTR")
AXES = ("x", "y", "z")


# --------------------------------------------------------------------------- helpers
def _forget_library(path: pathlib.Path) -> None:
    for key in list(VisaLibraryBase._registry):
        if str(key[1]) == str(path):
            VisaLibraryBase._registry.pop(key, None)


def _open(cls, path: pathlib.Path, **kwargs):
    _forget_library(path)
    return cls(ADDRESS[path.stem], visa_library=f"{path}@sim", timeout=TIMEOUT_MS, **kwargs)


def _close(inst) -> None:
    try:
        inst.adapter.close()
    except Exception:  # pragma: no cover - best effort
        pass


def _load(path: pathlib.Path) -> dict:
    with open(path, encoding="utf-8") as fp:
        return yaml.load(fp, Loader=yaml.BaseLoader)  # the loader pyvisa-sim uses


def _live_props(device: dict):
    """(component, property name, live name) of every property carrying ``live:``."""
    for name, prop in device.get("properties", {}).items():
        if "live" in prop:
            yield "device", name, prop["live"]
    for ch_name, ch in device.get("channels", {}).items():
        for name, prop in ch.get("properties", {}).items():
            if "live" in prop:
                yield ch_name, name, prop["live"]


@pytest.fixture
def ips():
    inst = _open(MercuryIPS, MERCURY_FILE)
    yield inst
    _close(inst)


@pytest.fixture
def triton():
    inst = _open(OxfordTriton, TRITON_FILE)
    yield inst
    _close(inst)


@pytest.fixture
def ls():
    inst = _open(LakeShore372, LS372_FILE)
    yield inst
    _close(inst)


# --------------------------------------------------------------------------- file structure
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_file_structure(path):
    data = _load(path)
    assert data["spec"] == "1.1"
    assert list(data["devices"]) == [path.stem]
    device = data["devices"][path.stem]
    assert set(INTERFACES) <= set(device["eom"])
    assert device["delimiter"] == ""
    assert "error" in device
    assert data["resources"] == {ADDRESS[path.stem]: {"device": path.stem}}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_live_names_are_listed_and_commented(path):
    text = path.read_text(encoding="utf-8")
    header = text.split("\nspec:", 1)[0]
    lines = text.splitlines()
    device = _load(path)["devices"][path.stem]
    live = list(_live_props(device))
    assert live
    for component, name, attribute in live:
        assert re.search(rf"\b{re.escape(attribute)}\b", header), (
            f"{path.name}: live name {attribute!r} missing from the header list")
        # the property's first line inside its block is a comment
        starts = [i for i, line in enumerate(lines) if line.strip() == f"{name}:"]
        assert starts, name
        for i in starts:
            assert lines[i + 1].strip().startswith("#"), f"{path.name}: {name} has no comment"
    device_level = [a for c, _, a in live if c == "device"]
    assert len(device_level) == len(set(device_level)), "device-level live names must be unique"


# --------------------------------------------------------------------------- Mercury iPS
def test_mercury_identity(ips):
    assert ips.id.startswith("IDN:OXFORD INSTRUMENTS:MERCURY IPS:")


@pytest.mark.parametrize("axis", AXES)
def test_mercury_reads_defaults(ips, axis):
    group = getattr(ips, axis)
    assert group.field == 0.0
    assert group.field_persistent == 0.0
    assert group.field_target == 0.0
    assert group.current == 0.0
    assert group.current_persistent == 0.0
    assert group.current_target == 0.0
    assert group.voltage == 0.0
    assert group.field_ramp_rate == pytest.approx(0.2 / 60)
    assert group.current_ramp_rate > 0
    assert group.switch_heater_enabled is True
    assert group.current_to_field_ratio > 0
    assert group.ramp_status == "HOLD"
    assert group.is_ramping is False


@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("prop, value", [
    ("field_target", 0.5),
    ("field_target", -1.25),
    ("current_target", 12.5),
    ("field_ramp_rate", 0.005),
    ("current_ramp_rate", 0.05),
    ("switch_heater_enabled", False),
    ("current_to_field_ratio", 9.25),
    ("ramp_status", "RTOZ"),
])
def test_mercury_set_then_get(ips, axis, prop, value):
    group = getattr(ips, axis)
    setattr(group, prop, value)
    assert getattr(group, prop) == pytest.approx(value)


def test_mercury_axes_are_independent(ips):
    ips.x.field_target = 0.25
    ips.z.field_target = -2.0
    assert (ips.x.field_target, ips.y.field_target, ips.z.field_target) == (0.25, 0.0, -2.0)


@pytest.mark.parametrize("method, state, ramping", [
    ("ramp_to_set", "RTOS", True), ("ramp_to_zero", "RTOZ", True),
    ("clamp", "CLMP", False), ("hold", "HOLD", False)])
def test_mercury_actions(ips, method, state, ramping):
    getattr(ips.y, method)()
    assert ips.y.ramp_status == state
    assert ips.y.is_ramping is ramping
    assert ips.is_ramping is ramping


@pytest.mark.parametrize("prop, value", [
    ("field_target", 13.0),  # beyond the simulated supply's 12 T
    ("field_ramp_rate", 0.1),  # 6 T/min, beyond 1 T/min
    ("current_to_field_ratio", 0.0),
])
def test_mercury_out_of_spec_set_is_invalid(ips, prop, value):
    before = getattr(ips.z, prop)
    with pytest.raises(OxfordCommandError, match="INVALID"):
        setattr(ips.z, prop, value)
    assert getattr(ips.z, prop) == before


def test_mercury_unknown_command_is_invalid(ips):
    with pytest.raises(OxfordCommandError, match="READ:DEV:GRPZ:PSU:SIG:XYZ"):
        ips.ask("READ:DEV:GRPZ:PSU:SIG:XYZ")
    with pytest.raises(OxfordCommandError, match="SIG:FLD:1"):
        ips.set_checked("SET:DEV:GRPZ:PSU:SIG:FLD:1")  # read-only signal
    assert ips.z.field == 0.0  # still in step


def test_mercury_magnet_temperature(ips):
    assert ips.magnet_temperature == pytest.approx(4.2)


def test_mercury_shutdown_holds_every_axis(ips):
    ips.x.ramp_to_set()
    ips.shutdown()
    assert [getattr(ips, a).ramp_status for a in AXES] == ["HOLD"] * 3


# --------------------------------------------------------------------------- Triton
def test_triton_identity(triton):
    assert triton.id.startswith("IDN:OXFORD INSTRUMENTS:TRITON:")


def test_triton_temperatures(triton):
    temps = {n: getattr(triton, f"T{n}").temperature for n in range(1, 17)}
    assert temps[5] == pytest.approx(0.05)
    assert all(isinstance(temps[n], float) and temps[n] > 0 for n in range(1, 7))
    assert all(temps[n] is None for n in range(7, 17))


def test_triton_channel_enable(triton):
    assert triton.T1.enabled is True
    triton.T1.enabled = False
    assert triton.T1.enabled is False
    assert triton.T2.enabled is True
    assert triton.T9.enabled is None
    with pytest.raises(OxfordCommandError, match="NOT_FOUND"):
        triton.T9.enabled = True


def test_triton_pressures_in_pascal(triton):
    pressures = [getattr(triton, f"P{n}").pressure for n in range(1, 7)]
    assert pressures[0] == pytest.approx(0.25)  # 0.0025 mbar
    assert pressures[1] == pytest.approx(45.0)  # 0.45 mbar
    assert all(p > 0 for p in pressures)


def test_triton_system_words(triton):
    assert triton.action == "NONE"
    assert triton.status == "OK"


def test_triton_discovery(triton):
    assert triton.channel_aliases() == ["PT1", "PT2", "STIL", "CPLT", "MC", "SORB"]
    assert triton.channel_map() == {"PT1": "T1", "PT2": "T2", "STIL": "T3", "CPLT": "T4",
                                    "MC": "T5"}
    triton.loop_channel = 1
    assert triton.find_loop_channel() == 5
    assert triton.loop is triton.T5


@pytest.mark.parametrize("prop, value", [
    ("loop_enabled", True),
    ("temperature_setpoint", 0.1),
    ("temperature_setpoint", 12.5),
    ("heater_range", 0.316e-3),
    ("heater_range", 1e-3),
    ("heater_range", 3.16e-3),
    ("heater_range", 10e-3),
    ("heater_range", 31.6e-3),
    ("heater_range", 0.1),
    ("loop_p", 12.5),
    ("loop_i", 30.0),
    ("loop_d", 1.5),
    ("ramp_enabled", True),
    ("ramp_rate", 0.005),
])
def test_triton_loop_set_then_get(triton, prop, value):
    setattr(triton, prop, value)
    assert getattr(triton, prop) == pytest.approx(value)
    assert getattr(triton.T5, prop) == pytest.approx(value)


def test_triton_select_heater(triton):
    triton.select_heater()
    assert triton.loop.loop_heater == "H1"
    with pytest.raises(OxfordCommandError, match="INVALID"):
        triton.select_heater("H2")


def test_triton_out_of_spec_set_is_invalid(triton):
    with pytest.raises(OxfordCommandError, match="TSET:50"):
        triton.set_checked("SET:DEV:T5:TEMP:LOOP:TSET:50")  # the driver itself refuses > 40 K
    assert triton.temperature_setpoint == 0.0


def test_triton_loop_on_channel_without_loop_is_invalid(triton):
    assert triton.T6.loop_enabled is None
    triton.loop_channel = 6
    with pytest.raises(OxfordCommandError, match="SET:DEV:T6:TEMP:LOOP:TSET:0.1"):
        triton.temperature_setpoint = 0.1


# --------------------------------------------------------------------------- Lake Shore 372
def test_ls372_identity(ls):
    assert ls.id.startswith("LSCI,MODEL372,")


@pytest.mark.parametrize("ch", [1, 7, 16, "A"])
def test_ls372_input_readings(ls, ch):
    inp = getattr(ls, f"input_{ch}")
    assert inp.kelvin == pytest.approx(0.05)
    assert inp.resistance == pytest.approx(20000.0)
    assert inp.status == ReadingStatus(0)


def test_ls372_input_settings_per_channel(ls):
    ls.input_3.name = "Sample"
    ls.input_3.temperature_limit = 8.5
    ls.input_3.input_setup = InputSetup(True, 20, 5, 12, "positive")
    ls.input_3.input_type = InputType("voltage", 4, 1, 12, False, "ohm")
    assert ls.input_3.name == "Sample"
    assert ls.input_3.temperature_limit == 8.5
    assert ls.input_3.input_setup == InputSetup(True, 20, 5, 12, "positive")
    assert ls.input_3.input_type == InputType("voltage", 4, 1, 12, False, "ohm")
    # other channels keep the defaults
    assert ls.input_4.name == "Input"
    assert ls.input_A.input_setup == InputSetup(True, 10, 3, 0, "negative")
    assert ls.input_A.input_type == InputType("current", 7, 0, 10, False, "kelvin")


def test_ls372_scanner(ls):
    assert ls.scanner == ScannerState(1, False)
    ls.scan(5)
    assert ls.scanned_channel == 5
    ls.scanner = (16, True)
    assert ls.scanner == ScannerState(16, True)


@pytest.mark.parametrize("out", [0, 1, 2])
def test_ls372_output_mode(ls, out):
    output = getattr(ls, f"output_{out}")
    assert output.mode == "off"
    mode = OutputMode("closed_loop", "A", True, "bipolar", True, 12)
    output.output_mode = mode
    assert output.output_mode == mode
    output.mode = "still"
    assert output.output_mode == mode._replace(mode="still")


@pytest.mark.parametrize("amps", [0.0, 31.6e-6, 100e-6, 316e-6, 1e-3, 3.16e-3, 10e-3, 31.6e-3,
                                  0.1])
def test_ls372_sample_heater_range(ls, amps):
    ls.output_0.range = amps
    assert ls.output_0.range == pytest.approx(amps)


@pytest.mark.parametrize("out", [1, 2])
def test_ls372_aux_range(ls, out):
    output = getattr(ls, f"output_{out}")
    assert output.range is False
    output.range = True
    assert output.range is True
    assert ls.output_0.range == 0.0


@pytest.mark.parametrize("out", [0, 1, 2])
def test_ls372_loop_settings(ls, out):
    output = getattr(ls, f"output_{out}")
    output.setpoint = 0.125
    output.pid = (25.0, 100.5, 3.0)
    output.ramp = (True, 0.01)
    assert output.setpoint == pytest.approx(0.125)
    assert output.pid == (25.0, 100.5, 3.0)
    assert output.ramp == (True, pytest.approx(0.01))
    assert output.heater_output == 0.0
    assert output.ramp_status is False


def test_ls372_heater_setup(ls):
    assert ls.output_0.heater_setup == HeaterSetup(120.0, 0, 0.0, "current")
    assert ls.output_1.heater_setup == HeaterSetup(25.0, 1, 0.0, "current")
    ls.output_0.heater_setup = HeaterSetup(150.0, 0, 0.0, "power")
    ls.output_1.heater_setup = HeaterSetup(50.0, 0, 0.5, "power")
    assert ls.output_0.heater_setup == HeaterSetup(150.0, 0, 0.0, "power")
    assert ls.output_1.heater_setup == HeaterSetup(50.0, 0, 0.5, "power")


def test_ls372_unknown_query_fails_fast_and_clearly(ls):
    assert ls.check_errors() == []
    start = time.monotonic()
    with pytest.raises(LakeShore372NoReplyError, match=r"XYZ\? 1"):
        ls.ask("XYZ? 1")
    assert time.monotonic() - start < 2.0
    assert ls.check_errors() == [StandardEvent.CME]
    assert ls.input_1.kelvin == pytest.approx(0.05)  # still in step


def test_ls372_out_of_spec_write_is_ignored_and_flagged(ls):
    ls.write("RANGE 0,9")  # the driver's own validator never sends this
    assert ls.check_errors() == [StandardEvent.CME]
    assert ls.output_0.range == 0.0
