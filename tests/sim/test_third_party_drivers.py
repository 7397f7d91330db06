"""Third-party drivers (QCoDeS 0.58, pymeasure 0.16) against the live simulated lab.

Each driver is built on a fresh lab of its conformance station
(``tests/sim/third_party.py``), every parameter / property it declares is read
once, and the number that read must not fall below the minimum in
:data:`MINIMUM_READ`. The minimums are what reads today: raise them as the
device files and the grammar learn more commands (``python
bench/conformance_report.py`` prints every failing read with the command sent).

Runtime: about 2 s for the whole module. A failed read costs no wall time (the
live library times out at once, in virtual time); the QCoDeS AMI 430 driver's
5 s wall-clock wait before it retries a failed ask is set to zero by the harness
(the retry itself still happens).
"""

from __future__ import annotations

import pytest

pytest.importorskip("qcodes")

from tests.sim.third_party import CASES, build_live_lab, construct_qcodes, run_case  # noqa: E402

pytestmark = [
    pytest.mark.filterwarnings("ignore:Parameter .* does not correctly pass kwargs"),  # QCoDeS SR830
    pytest.mark.filterwarnings("ignore::FutureWarning"),  # pymeasure: Keithley 2400 deprecated names
]

#: driver key -> parameters that must read (today's count; total in the comment)
MINIMUM_READ = {
    "qcodes-sr830": 43,  # of 47 (the other 4: data buffer reads need prepare_buffer_readout first)
    "qcodes-keithley2400": 11,  # of 14 (the other 3: QCoDeS refuses to read with the output off)
    "qcodes-lakeshore336": 128,  # of 148 (the other 20: QCoDeS reads HTRSET? as 5 fields, the 336 sends 4)
    "qcodes-lakeshore372": 318,  # of 333
    "qcodes-ami430": 21,  # of 21
    "qcodes-mercury_ips": 66,  # of 69 (the other 3: QCoDeS asks ...:SIG:TEMP? with a trailing "?")
    "qcodes-triton": 49,  # of 59 (the other 10: T7-T16, absent here: QCoDeS maps NOT_FOUND to None, then int())
    "pymeasure-sr830": 40,  # of 40
    "pymeasure-keithley2400": 62,  # of 62
    "pymeasure-lakeshore336": 23,  # of 25 (the other 2: *OPT? and SYST:ERR?, which a 336 has not)
    "pymeasure-ami430": 14,  # of 15 (the other: *OPT?, which a 430 has not)
}

QCODES_CASES = [c for c in CASES if c.framework == "qcodes"]


def _failures(report) -> str:
    lines = [f"{f.parameter}: sent {f.command or '-'!r}, got {f.reply or '-'!r}: {f.error}: {f.message}"
             for f in report.failures]
    return "\n".join(lines)


def test_every_case_has_a_minimum():
    assert {c.key for c in CASES} == set(MINIMUM_READ)


@pytest.mark.parametrize("case", CASES, ids=[c.key for c in CASES])
def test_driver_reads_at_least_the_minimum(case):
    report = run_case(case)
    assert report.total > 0, f"{case.key}: no parameters read ({report.construct_error})"
    assert report.read >= MINIMUM_READ[case.key], (
        f"{case.key}: {report.read}/{report.total} read, minimum {MINIMUM_READ[case.key]}\n"
        f"{_failures(report)}")


@pytest.mark.parametrize("case", [
    c for c in QCODES_CASES], ids=[c.key for c in QCODES_CASES])
def test_qcodes_driver_constructs_with_defaults(case):
    from qcodes.instrument import Instrument

    live = build_live_lab(case.station)
    try:
        instrument = construct_qcodes(case.driver_class(), live.resource(case.instrument), live.visalib,
                                      **case.kwargs)
        instrument.close()
    finally:
        Instrument.close_all()


def test_enumeration_reaches_channels_and_submodules():
    """The harness walks channel lists and channel creators, not just the top level."""
    by_key = {c.key: c for c in CASES}
    qc = run_case(by_key["qcodes-lakeshore336"])
    assert any(n.endswith("_A_temperature") for n in qc.names)
    assert any(n.endswith("_D_temperature") for n in qc.names)
    assert any("output_1_" in n for n in qc.names)
    pm = run_case(by_key["pymeasure-lakeshore336"])
    assert {"LakeShore3xx.input_A.kelvin", "LakeShore3xx.input_D.kelvin",
            "LakeShore3xx.output_2.setpoint"} <= set(pm.names)
    assert not any("input_C1" in n for n in pm.names)  # not a channel of a plain 336


def test_changed_commands_and_silence_through_the_live_lab():
    """Drivers nobody on this project wrote, on the live lab: the spellings the instrument
    grammar now takes read back (QCoDeS's ``SRAT ?``, pymeasure's SCPI short forms), and an
    unknown command gets what the instrument gives it -- no reply (the client times out) and
    an entry in its error queue or status register."""
    import pyvisa
    from pymeasure.instruments.keithley import Keithley2400
    from pymeasure.instruments.srs.sr830 import SR830
    from qcodes.instrument import Instrument
    from qcodes.instrument_drivers.stanford_research import SR830 as QcodesSR830

    live = build_live_lab("vti")
    try:
        qcodes_lockin = construct_qcodes(QcodesSR830, live.resource("lockin"), live.visalib)
        assert qcodes_lockin.buffer_SR.get() == 64  # "SRAT ?", with the space the SR830 ignores
    finally:
        Instrument.close_all()
    smu = Keithley2400(live.resource("smu"), visa_library=live.visalib, timeout=200)
    assert smu.values(":SYST:AZER:STAT?") == [1]  # short form of :SYSTEM:AZERO:STATE?
    with pytest.raises(pyvisa.errors.VisaIOError):
        smu.ask(":FOO:BAR?")
    assert smu.ask(":SYST:ERR?").strip() == '-113,"Undefined header"'
    lockin = SR830(live.resource("lockin"), visa_library=live.visalib, timeout=200)
    with pytest.raises(pyvisa.errors.VisaIOError):
        lockin.ask("FOO?")
    assert int(lockin.ask("*ESR?")) & 32  # command error
    assert int(lockin.ask("*ESR?")) == 0  # cleared on read


def test_serial_poll_status_byte_through_the_live_lab():
    """``read_stb`` (a serial poll, as drivers use it) as each instrument builds it: MAV
    while a reply waits; the SR830's IFC bit; EAV on the 2400 while an error is queued."""
    import pyvisa

    live = build_live_lab("vti")
    rm = pyvisa.ResourceManager(live.visalib)
    lockin = rm.open_resource(live.resource("lockin"), write_termination="\n", read_termination="\n")
    assert lockin.read_stb() & 0x12 == 0x02  # idle, nothing to read
    lockin.write("*IDN?")
    assert lockin.read_stb() & 0x10  # MAV: the reply waits
    lockin.read()
    smu = rm.open_resource(live.resource("smu"), write_termination="\n", read_termination="\n")
    assert not smu.read_stb() & 0x04
    smu.write(":FOO:BAR")
    assert smu.read_stb() & 0x04  # EAV: an error is queued


def test_the_ami430_greeting_survives_a_device_clear_sent_at_once_on_connect():
    """As on the bench: the greeting is still on its way when a client clears the device
    right after connecting (QCoDeS does), so it is read first; a clear once it has arrived
    empties it like any waiting reply."""
    import pyvisa

    live = build_live_lab("dilution")
    rm = pyvisa.ResourceManager(live.visalib)
    magnet = rm.open_resource(live.resource("magnet_z"), write_termination="\r\n", read_termination="\r\n",
                              timeout=200)
    magnet.clear()
    assert magnet.read() == "American Magnetics Model 430 IP Interface"
    assert magnet.read() == "Hello."
    magnet.write("*IDN?")
    magnet.clear()  # the reply had arrived: gone
    with pytest.raises(pyvisa.errors.VisaIOError):
        magnet.read()
    again = rm.open_resource(live.resource("magnet_z"), write_termination="\r\n", read_termination="\r\n",
                             timeout=200)
    assert again.query("*IDN?") == "American Magnetics Model 430 IP Interface"  # a new connection: greeted again


def test_reads_follow_visa_rules_whole_reply_or_by_count():
    """A reply is read whole, up to the termination character; a short count reads the
    rest in the next call, and the last piece carries END (VPP-4.3 6.1)."""
    import pyvisa
    from pyvisa import constants

    live = build_live_lab("vti")
    rm = pyvisa.ResourceManager(live.visalib)
    lockin = rm.open_resource(live.resource("lockin"), write_termination="\n", read_termination="\n")
    lockin.write("*IDN?")
    first, status = live.visalib.read(lockin.session, 10)
    assert status == constants.StatusCode.success_max_count_read and len(first) == 10
    rest, status = live.visalib.read(lockin.session, 1000)
    assert status == constants.StatusCode.success
    assert (first + rest).decode() == "Stanford_Research_Systems,SR830,s/n48351,ver1.07\n"
    lockin.write("FREQ?;PHAS?")  # two replies wait: each read takes one
    assert float(lockin.read()) > 0 and lockin.read() is not None


def test_commands_added_to_the_device_files_read_through_the_live_lab_and_unknown_ones_stay_silent():
    """QCoDeS's and pymeasure's drivers read what the device files learned (Lake Shore 336
    input names, limits and curves; AMI 430 switch heater; SR830 buffer mode; Triton pumps;
    Keithley 2400 trigger link and buffer), as the real instruments answer them; an
    unknown command right after gets silence and the instrument's own error state, and the
    next valid query answers."""
    import pyvisa
    from pymeasure.instruments.keithley import Keithley2400
    from qcodes.instrument import Instrument
    from qcodes.instrument_drivers.american_magnetics import AMIModel430
    from qcodes.instrument_drivers.Lakeshore import LakeshoreModel336
    from qcodes.instrument_drivers.oxford import OxfordTriton
    from qcodes.instrument_drivers.stanford_research import SR830 as QcodesSR830

    vti, dilution = build_live_lab("vti"), build_live_lab("dilution")
    try:
        tc = construct_qcodes(LakeshoreModel336, vti.resource("thermometry"), vti.visalib)
        assert tc.A.sensor_name() == "Cernox" and tc.A.t_limit() == 0.0
        assert tc.A.curve_number() == 21
        assert tc.A.curve_name().strip() == "CX-1050-SD-HT" and tc.A.curve_format() == "log Ohms/K"
        with pytest.raises(pyvisa.errors.VisaIOError):
            tc.ask("CRVHDR? 5")  # a curve this file does not hold: silence, as for any unknown query
        assert int(tc.ask("*ESR?")) & 32  # command error bit
        assert tc.A.curve_number() == 21  # the next query answers
        lockin = construct_qcodes(QcodesSR830, vti.resource("lockin"), vti.visalib)
        assert lockin.buffer_acq_mode() == "loop"
        magnet = construct_qcodes(AMIModel430, dilution.resource("magnet_z"), dilution.visalib)
        heater = magnet.switch_heater
        assert heater.current() == 41.0 and heater.heat_time() == 20 and heater.cool_time() == 20
        fridge = construct_qcodes(OxfordTriton, dilution.resource("fridge"), dilution.visalib)
        assert fridge.turb1_state() == "on" and fridge.comp_state() == "on"
    finally:
        Instrument.close_all()
    smu = Keithley2400(vti.resource("smu"), visa_library=vti.visalib, timeout=200)
    assert smu.arm_input_line == 1 and smu.trigger_output_event == "none" and smu.buffer_points == 100
    assert smu.arm_timer == pytest.approx(0.1)
    with pytest.raises(pyvisa.errors.VisaIOError):
        smu.ask(":TRACE:FEED:CONTROL?")  # not simulated: silent
    assert smu.ask(":SYST:ERR?").strip() == '-113,"Undefined header"'
    assert smu.buffer_points == 100


def test_qcodes_mercury_ramp_reports_hold_once_arrived_through_the_live_lab():
    """The Mercury iPS holds again when a ramp arrives (QCoDeS's blocking ramps poll for the
    end of TO SET); a target set after arrival waits for the next RTOS; an unknown command
    gets the instrument's own INVALID reply."""
    from qcodes.instrument import Instrument
    from qcodes.instrument_drivers.oxford import OxfordMercuryiPS

    live = build_live_lab("dilution")
    try:
        ips = construct_qcodes(OxfordMercuryiPS, live.resource("magnet"), live.visalib)
        x = ips.GRPX
        x.field_ramp_rate(0.01)  # T/s
        x.field_target(0.05)
        x.ramp_to_target()
        assert x.ramp_status() == "TO SET"
        live.clock.sleep(2.0)
        assert x.ramp_status() == "TO SET" and 0.0 < x.field() < 0.05
        live.clock.sleep(10.0)
        assert x.ramp_status() == "HOLD" and x.field() == pytest.approx(0.05)
        x.field_target(0.1)  # held: nothing moves until the next RTOS
        live.clock.sleep(10.0)
        assert x.ramp_status() == "HOLD" and x.field() == pytest.approx(0.05)
        device = live.device("magnet")
        before = device.message_count
        reply = ips.visa_handle.query("READ:DEV:GRPX:PSU:SIG:BOGUS")
        assert reply == "STAT:DEV:GRPX:PSU:SIG:BOGUS:INVALID" and device.message_count == before + 1
        assert x.field() == pytest.approx(0.05)  # the instrument carries on
    finally:
        Instrument.close_all()


def test_this_sessions_sim_changes_read_through_others_drivers():
    """The supply's hold detection and the thermometer's lag, as drivers written for the real
    instruments see them through the live lab: QCoDeS's Mercury iPS driver reads the field at
    its target while the status still says TO SET for the hold detection, then HOLD;
    pymeasure's Lake Shore 336 reads the stage the thermometer's lag late while the set-point
    ramps, and the true value once it holds; an unknown command right after gets silence and
    the instrument's command-error bit, and the next query answers."""
    import pyvisa
    from pymeasure.instruments.lakeshore.lakeshore3xx import LakeShore3xx
    from qcodes.instrument import Instrument
    from qcodes.instrument_drivers.oxford import OxfordMercuryiPS

    from sim.models.magnet import HOLD_DETECTION

    live = build_live_lab("dilution")
    try:
        ips = construct_qcodes(OxfordMercuryiPS, live.resource("magnet"), live.visalib)
        x = ips.GRPX
        x.field_ramp_rate(0.01)
        x.field_target(0.02)
        x.ramp_to_target()
        live.clock.sleep(2.0 + 0.4 * HOLD_DETECTION)  # arrived at 2 s, the status not yet
        assert x.field() == pytest.approx(0.02) and x.ramp_status() == "TO SET"
        live.clock.sleep(HOLD_DETECTION)
        assert x.ramp_status() == "HOLD" and x.field() == pytest.approx(0.02)
    finally:
        Instrument.close_all()

    vti = build_live_lab("vti")
    fridge = vti.lab.fridge
    tc = LakeShore3xx(vti.resource("thermometry"), visa_library=vti.visalib, timeout=200)
    tc.write("RANGE 1,1")
    tc.write("RAMP 1,1,10")  # K/min
    tc.write(f"SETP 1,{fridge.temperature + 1.0:.3f}")
    vti.clock.sleep(30.0)  # the stage follows with its 90 s time constant
    reading = tc.input_A.kelvin
    now = vti.clock.now()
    assert fridge.thermometer_lag == 1.5
    assert reading == pytest.approx(fridge.temperature_at(now - 1.5), abs=2e-3)  # 4 x the reading's noise
    assert fridge.temperature_at(now) - fridge.temperature_at(now - 1.5) > 8e-3  # the lag shows while it moves
    with pytest.raises(pyvisa.errors.VisaIOError):
        tc.ask("KRDG? Q")  # no such input: silence
    assert int(tc.ask("*ESR?")) & 32  # command error bit
    vti.clock.sleep(3600.0)
    assert tc.input_A.kelvin == pytest.approx(fridge.temperature, rel=1e-3)  # holding: no lag left
