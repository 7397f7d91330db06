"""Lake Shore Model 372 AC resistance bridge and temperature controller.

Interfaces: GPIB (e.g. ``GPIB0::12::INSTR``), USB (virtual COM port: 57600 baud,
7 data bits, odd parity, 1 stop bit, set as ``asrl`` defaults here) and Ethernet.
CR LF (``"\\r\\n"``) terminates commands and replies.

Wire format: Lake Shore mnemonics, comma-separated fields, no echo; only queries
(``...?``) are answered::

    KRDG? 5                  -> +5.23000E-02           kelvin
    SRDG? 5                  -> +1.84520E+04           ohm
    RDGST? 5                 -> 000                    bit sum, see ReadingStatus
    INSET 5,1,10,3,0,1       (enabled, dwell s, pause s, curve, tempco)
    INTYPE 5,1,7,0,10,0,1    (mode, excitation, autorange, range, cs shunt, units)
    SCAN 5,0  /  SCAN?       -> 05,0                   (channel, autoscan)
    OUTMODE 0,5,5,0,0,0,1    (mode, input, powerup, polarity, filter, delay)
    RANGE 0,4  /  RANGE? 0   -> 4
    SETP 0,0.1 / SETP? 0     -> +0.10000E+00
    PID 0,10,20,0            (P, I, D)
    HTR? 0                   -> +12.500E+00            % of range
    HTRSET 0,120,0,0,1       (resistance, max current, max user current, display)
    RAMP 0,1,0.6 / RAMPST? 0 (on, rate K/min) / ramping 0/1

The 372 has no SCPI error queue (no ``SYST:ERR?``): it silently ignores a command
it does not understand and sets a bit of the standard event status register
(``*ESR?``, see :meth:`LakeShore372.check_errors`). A query it does not
understand gets no reply at all; the driver turns the resulting read timeout
into :class:`LakeShore372NoReplyError`, which names the query, instead of a bare
VISA timeout. Keep ``timeout`` short enough for that to surface quickly.

Outputs: 0 = sample heater, 1 = warm-up heater, 2 = analog/still output.
Inputs: measurement channels 1..16 and the control input ``A``.
"""

from __future__ import annotations

import logging
from enum import IntFlag
from typing import NamedTuple, Optional, Union

from pymeasure.instruments import Channel, Instrument
from pymeasure.instruments.validators import strict_discrete_set, strict_range

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())


# --------------------------------------------------------------------------- types
class ReadingStatus(IntFlag):
    """Reading status bits of ``RDGST?`` (0 = reading OK)."""

    CS_OVL = 1  #: current-source overload
    VCM_OVL = 2  #: common-mode voltage overload
    VMIX_OVL = 4  #: mixer overload
    VDIF_OVL = 8  #: differential voltage overload
    R_OVER = 16  #: resistance over range
    R_UNDER = 32  #: resistance under range
    T_OVER = 64  #: temperature over the curve
    T_UNDER = 128  #: temperature under the curve


class StandardEvent(IntFlag):
    """Standard event status register bits (``*ESR?``)."""

    OPC = 1  #: operation complete
    QYE = 4  #: query error
    DDE = 8  #: device-dependent error
    EXE = 16  #: execution error (parameter out of range)
    CME = 32  #: command error (not understood)
    PON = 128  #: power on


#: The error bits of :class:`StandardEvent`.
ERROR_EVENTS = StandardEvent.QYE | StandardEvent.DDE | StandardEvent.EXE | StandardEvent.CME


class InputSetup(NamedTuple):
    """``INSET`` fields of one input."""

    enabled: bool  #: channel scanned / measured
    dwell: int  #: s, 1 to 200: time the scanner stays on the channel
    pause: int  #: s, 3 to 200: settling time after switching to it
    curve: int  #: calibration curve number, 0 (none) to 59
    tempco: str  #: ``"negative"`` (1) or ``"positive"`` (2) temperature coefficient


class InputType(NamedTuple):
    """``INTYPE`` fields of one input."""

    mode: str  #: ``"voltage"`` (0) or ``"current"`` (1) excitation
    excitation: int  #: excitation index: voltage 1-12 (2 uV..632 mV), current 1-22 (1 pA..31.6 mA)
    autorange: int  #: 0 off, 1 on, 2 ROX102B (control input A only)
    range: int  #: resistance range index 1-22 (2 mOhm..63.2 MOhm)
    cs_shunt: bool  #: True = excitation off (current source shunted)
    units: str  #: preferred units ``"kelvin"`` (1) or ``"ohm"`` (2)


class OutputMode(NamedTuple):
    """``OUTMODE`` fields of one output (the 372's six-field layout)."""

    mode: str  #: one of :data:`OUTPUT_MODES`
    input: Union[int, str]  #: controlling input: 0 none, 1-16, or ``"A"``
    powerup_enable: bool  #: output stays on after power-up
    polarity: str  #: ``"unipolar"`` (0) or ``"bipolar"`` (1)
    filter: bool  #: control on the filtered reading
    delay: int  #: s, 0 to 255: delay after an autoscan change before control resumes


class HeaterSetup(NamedTuple):
    """``HTRSET`` fields of a heater output (the 372's own layout)."""

    resistance: float  #: ohm; the warm-up heater only knows 25 or 50 ohm
    max_current: int  #: warm-up heater: 0 user (max_user_current), 1 = 0.45 A, 2 = 0.63 A
    max_user_current: float  #: A, used when max_current is 0
    display: str  #: ``"current"`` (1) or ``"power"`` (2)


class ScannerState(NamedTuple):
    """``SCAN?`` fields."""

    channel: int  #: input the scanner is on, 1-16
    autoscan: bool  #: scanner steps through the enabled channels


#: Output modes of ``OUTMODE`` (name -> wire code).
OUTPUT_MODES = {"off": 0, "monitor_out": 1, "open_loop": 2, "zone": 3, "still": 4,
                "closed_loop": 5, "warm_up": 6}

#: Sample-heater ranges: full-scale current in ampere -> ``RANGE`` index (0 = off).
SAMPLE_HEATER_RANGES = {0.0: 0, 31.6e-6: 1, 100e-6: 2, 316e-6: 3, 1e-3: 4, 3.16e-3: 5,
                        10e-3: 6, 31.6e-3: 7, 100e-3: 8}

_TEMPCO = {"negative": 1, "positive": 2}
_EXCITATION_MODE = {"voltage": 0, "current": 1}
_UNITS = {"kelvin": 1, "ohm": 2}
_POLARITY = {"unipolar": 0, "bipolar": 1}
_DISPLAY = {"current": 1, "power": 2}
_INPUT_IDS = tuple(range(1, 17)) + ("A",)
_MINUTE = 60.0


class LakeShore372NoReplyError(TimeoutError):
    """A query got no reply in time (the 372 does not answer queries it does not understand)."""


# --------------------------------------------------------------------------- helpers
def _number(value: float) -> str:
    """Fixed point, at most 6 decimals, no trailing zeros (``0.1``, ``120``)."""
    text = f"{float(value):.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _int(text) -> int:
    return int(float(str(text).strip()))


def _code(value, names: dict) -> int:
    """Wire code of ``value`` given by name (a key of ``names``) or by code."""
    if isinstance(value, str):
        return names[strict_discrete_set(value, tuple(names))]
    return strict_discrete_set(_int(value), tuple(names.values()))


def _name_of(code, names: dict) -> str:
    code = _int(code)
    for name, value in names.items():
        if value == code:
            return name
    raise ValueError(f"unknown code {code} (expected one of {names})")


def _fields(value, count: int, what: str) -> tuple:
    if isinstance(value, (str, bytes)) or len(value) != count:
        raise ValueError(f"{what} needs {count} fields, got {value!r}")
    return tuple(value)


def _input_id(value) -> Union[int, str]:
    text = str(value).strip()
    return "A" if text.upper() == "A" else int(strict_range(_int(text), (0, 16)))


def _parse_input_setup(fields) -> InputSetup:
    en, dwell, pause, curve, tempco = (_int(f) for f in fields)
    return InputSetup(bool(en), dwell, pause, curve, _name_of(tempco, _TEMPCO))


def _input_setup_wire(value, values=None) -> str:
    en, dwell, pause, curve, tempco = _fields(value, 5, "input_setup (INSET)")
    return ",".join(str(v) for v in (
        int(bool(en)),
        int(strict_range(_int(dwell), (1, 200))),
        int(strict_range(_int(pause), (3, 200))),
        int(strict_range(_int(curve), (0, 59))),
        _code(tempco, _TEMPCO),
    ))


def _parse_input_type(fields) -> InputType:
    mode, exc, auto, rng, shunt, units = (_int(f) for f in fields)
    return InputType(_name_of(mode, _EXCITATION_MODE), exc, auto, rng, bool(shunt),
                     _name_of(units, _UNITS))


def _input_type_wire(value, values=None) -> str:
    mode, exc, auto, rng, shunt, units = _fields(value, 6, "input_type (INTYPE)")
    mode_code = _code(mode, _EXCITATION_MODE)
    max_exc = 22 if mode_code == 1 else 12
    return ",".join(str(v) for v in (
        mode_code,
        int(strict_range(_int(exc), (1, max_exc))),
        int(strict_discrete_set(_int(auto), (0, 1, 2))),
        int(strict_range(_int(rng), (1, 22))),
        int(bool(shunt)),
        _code(units, _UNITS),
    ))


def _parse_output_mode(fields) -> OutputMode:
    mode, inp, powerup, polarity, filt, delay = fields
    return OutputMode(_name_of(mode, OUTPUT_MODES), _input_id(inp), bool(_int(powerup)),
                      _name_of(polarity, _POLARITY), bool(_int(filt)), _int(delay))


def _output_mode_wire(value, values=None) -> str:
    mode, inp, powerup, polarity, filt, delay = _fields(value, 6, "output_mode (OUTMODE)")
    return ",".join(str(v) for v in (
        _code(mode, OUTPUT_MODES),
        _input_id(inp),
        int(bool(powerup)),
        _code(polarity, _POLARITY),
        int(bool(filt)),
        int(strict_range(_int(delay), (0, 255))),
    ))


def _pid_wire(value, values=None) -> str:
    p, i, d = _fields(value, 3, "pid (PID)")
    return ",".join((
        _number(strict_range(float(p), (0.0, 1000.0))),
        _number(strict_range(float(i), (0.0, 10000.0))),
        _number(strict_range(float(d), (0.0, 2500.0))),
    ))


def _ramp_wire(value, values=None) -> str:
    enabled, rate = _fields(value, 2, "ramp (RAMP)")
    rate = strict_range(float(rate), (0.0, 100.0 / _MINUTE))
    return f"{int(bool(enabled))},{_number(rate * _MINUTE)}"


def _name_wire(value, values=None) -> str:
    if not isinstance(value, str) or len(value) > 15 or any(c in value for c in '",;\r\n'):
        raise ValueError(f"input name must be a string of at most 15 characters without "
                         f"quotes, commas or semicolons, got {value!r}")
    return value


def _scanner_wire(value, values=None) -> str:
    channel, autoscan = _fields(value, 2, "scanner (SCAN)")
    channel = strict_discrete_set(_int(channel), tuple(range(1, 17)))
    return f"{channel},{int(bool(autoscan))}"


def _is_timeout(exc: BaseException) -> bool:
    if isinstance(exc, TimeoutError):
        return True
    try:
        from pyvisa import constants, errors
    except ImportError:  # pragma: no cover - pyvisa ships with pymeasure
        return False
    return (isinstance(exc, errors.VisaIOError)
            and exc.error_code == constants.StatusCode.error_timeout)


# --------------------------------------------------------------------------- channels
class LakeShore372Input(Channel):
    """A measurement channel (1..16) or the control input ``A`` of the 372."""

    kelvin = Channel.measurement(
        "KRDG? {ch}",
        """Get the temperature reading, in kelvin (K).""",
    )

    resistance = Channel.measurement(
        "SRDG? {ch}",
        """Get the resistance reading, in ohm.""",
    )

    status = Channel.measurement(
        "RDGST? {ch}",
        """Get the reading status (:class:`ReadingStatus` flags; 0 = OK).""",
        get_process=lambda v: ReadingStatus(_int(v)),
    )

    name = Channel.control(
        "INNAME? {ch}",
        'INNAME {ch},"%s"',
        """Control the channel name (str, at most 15 characters).""",
        validator=_name_wire,
        cast=str,
        maxsplit=0,
        preprocess_reply=lambda r: r.strip().strip('"').strip(),
    )

    temperature_limit = Channel.control(
        "TLIMIT? {ch}",
        "TLIMIT {ch},%s",
        """Control the temperature limit, in kelvin (K, 0 to 2000; 0 = off). Above it
        the 372 switches all heaters off.""",
        validator=strict_range,
        values=(0.0, 2000.0),
        set_process=_number,
    )

    input_setup = Channel.control(
        "INSET? {ch}",
        "INSET {ch},%s",
        """Control the channel parameters (:class:`InputSetup`: enabled, dwell s,
        pause s, curve, tempco). Set with an InputSetup or any 5-sequence; tempco
        may be given as ``"negative"``/``"positive"`` or 1/2.""",
        validator=_input_setup_wire,
        cast=str,
        get_process_list=_parse_input_setup,
    )

    input_type = Channel.control(
        "INTYPE? {ch}",
        "INTYPE {ch},%s",
        """Control the input setup (:class:`InputType`: mode, excitation index,
        autorange, range index, cs_shunt, units). Set with an InputType or any
        6-sequence; mode and units may be names or codes.""",
        validator=_input_type_wire,
        cast=str,
        get_process_list=_parse_input_type,
    )


class LakeShore372Output(Channel):
    """An output of the 372 (0 sample heater, 1 warm-up heater, 2 analog/still)."""

    output_mode = Channel.control(
        "OUTMODE? {ch}",
        "OUTMODE {ch},%s",
        """Control the output mode (:class:`OutputMode`: mode, input, powerup_enable,
        polarity, filter, delay s). Set with an OutputMode or any 6-sequence; mode
        and polarity may be names or codes, input 0-16 or ``"A"``.""",
        validator=_output_mode_wire,
        cast=str,
        get_process_list=_parse_output_mode,
    )

    @property
    def mode(self) -> str:
        """Get or set the output mode name (str): off, monitor_out, open_loop,
        zone, still, closed_loop, warm_up (codes 0..6). Setting reads
        ``OUTMODE?`` and writes it back with only the mode changed."""
        return self.output_mode.mode

    @mode.setter
    def mode(self, value) -> None:
        code = _code(value, OUTPUT_MODES)
        self.output_mode = self.output_mode._replace(mode=_name_of(code, OUTPUT_MODES))

    setpoint = Channel.control(
        "SETP? {ch}",
        "SETP {ch},%s",
        """Control the control set point, in kelvin (K), or in ohm when the
        controlling input's preferred units are ohm (0 to 1e8).""",
        validator=strict_range,
        values=(0.0, 1e8),
        set_process=_number,
    )

    pid = Channel.control(
        "PID? {ch}",
        "PID {ch},%s",
        """Control the PID parameters (tuple P 0-1000, I 0-10000 s, D 0-2500 s).""",
        validator=_pid_wire,
        get_process_list=lambda v: tuple(float(x) for x in v),
    )

    heater_output = Channel.measurement(
        "HTR? {ch}",
        """Get the heater output, in percent (%) of the present range.""",
    )

    ramp = Channel.control(
        "RAMP? {ch}",
        "RAMP {ch},%s",
        """Control the set-point ramp (tuple: enabled bool, rate in K/s, 0 to 100/60).
        The wire unit of the rate is K/min.""",
        validator=_ramp_wire,
        get_process_list=lambda v: (bool(_int(v[0])), float(v[1]) / _MINUTE),
    )

    ramp_status = Channel.measurement(
        "RAMPST? {ch}",
        """Get whether the set point is ramping now (bool).""",
        get_process=lambda v: bool(_int(v)),
    )


def _heater_setup_control(resistance_codes: Optional[dict]):
    """``HTRSET`` property; ``resistance_codes`` maps ohm -> wire code (warm-up heater)."""

    def parse(fields) -> HeaterSetup:
        res, max_i, user_i, display = fields
        if resistance_codes is None:
            resistance = float(res)
        else:
            ohms = {code: ohm for ohm, code in resistance_codes.items()}
            resistance = ohms[strict_discrete_set(_int(res), tuple(ohms))]
        return HeaterSetup(resistance, _int(max_i), float(user_i), _name_of(display, _DISPLAY))

    def wire(value, values=None) -> str:
        res, max_i, user_i, display = _fields(value, 4, "heater_setup (HTRSET)")
        if resistance_codes is None:
            res_text = _number(strict_range(float(res), (1.0, 2000.0)))
        else:
            res_text = str(resistance_codes[strict_discrete_set(float(res), resistance_codes)])
        return ",".join((
            res_text,
            str(strict_discrete_set(_int(max_i), (0, 1, 2))),
            _number(strict_range(float(user_i), (0.0, 2.0))),
            str(_code(display, _DISPLAY)),
        ))

    if resistance_codes is None:
        what = "resistance in ohm (1 to 2000)"
    else:
        what = "resistance in ohm, " + " or ".join(f"{k:g}" for k in resistance_codes)
    return Channel.control(
        "HTRSET? {ch}",
        "HTRSET {ch},%s",
        f"""Control the heater setup (:class:`HeaterSetup`: {what}; max_current code
        0 user/1 0.45 A/2 0.63 A; max_user_current in A; display ``"current"`` or
        ``"power"``). Wire layout ``HTRSET <out>,<resistance>,<max current>,<max user
        current>,<display>``.""",
        validator=wire,
        get_process_list=parse,
        cast=str,
    )


class LakeShore372SampleHeater(LakeShore372Output):
    """Output 0, the sample heater (``ls.output_0``)."""

    range = Channel.control(
        "RANGE? {ch}",
        "RANGE {ch},%d",
        """Control the heater range as its full-scale current, in ampere (A): 0 (off),
        31.6e-6, 100e-6, 316e-6, 1e-3, 3.16e-3, 10e-3, 31.6e-3, 0.1 (wire index 0..8).""",
        validator=strict_discrete_set,
        values=SAMPLE_HEATER_RANGES,
        map_values=True,
    )

    heater_setup = _heater_setup_control(None)


class LakeShore372WarmupHeater(LakeShore372Output):
    """Output 1, the warm-up heater (``ls.output_1``)."""

    range = Channel.control(
        "RANGE? {ch}",
        "RANGE {ch},%d",
        """Control whether the warm-up heater is on (bool; wire 0 = off, 1 = on).""",
        validator=strict_discrete_set,
        values={False: 0, True: 1},
        map_values=True,
    )

    heater_setup = _heater_setup_control({25.0: 1, 50.0: 2})


class LakeShore372AnalogOutput(LakeShore372Output):
    """Output 2, the analog / still output (``ls.output_2``)."""

    range = Channel.control(
        "RANGE? {ch}",
        "RANGE {ch},%d",
        """Control whether the analog/still output is on (bool; wire 0 = off, 1 = on).""",
        validator=strict_discrete_set,
        values={False: 0, True: 1},
        map_values=True,
    )


# --------------------------------------------------------------------------- instrument
class LakeShore372(Instrument):
    """Lake Shore Model 372 AC resistance bridge and temperature controller.

    Inputs ``ls.input_1`` .. ``ls.input_16`` and ``ls.input_A`` (collection
    ``ls.inputs``); outputs ``ls.output_0`` (sample heater), ``ls.output_1``
    (warm-up heater), ``ls.output_2`` (analog/still) (collection ``ls.outputs``).

    .. code-block:: python

        ls = LakeShore372("GPIB0::12::INSTR")
        ls.scan(5)                                 # scanner to channel 5
        print(ls.input_5.kelvin, ls.input_5.status)
        ls.output_0.output_mode = ("closed_loop", 5, False, "unipolar", False, 1)
        ls.output_0.range = 1e-3                   # A
        ls.output_0.setpoint = 0.1                 # K

    :param adapter: VISA resource name or pymeasure adapter.
    :param name: instrument name for logs.
    :param kwargs: passed to the adapter (``read_termination`` and
        ``write_termination`` default to ``"\\r\\n"``; serial defaults 57600 7O1).
    """

    inputs = Instrument.MultiChannelCreator(LakeShore372Input, list(_INPUT_IDS), prefix="input_")
    outputs = Instrument.MultiChannelCreator(
        (LakeShore372SampleHeater, LakeShore372WarmupHeater, LakeShore372AnalogOutput),
        [0, 1, 2], prefix="output_")

    def __init__(self, adapter, name: str = "Lake Shore 372", **kwargs):
        kwargs.setdefault("read_termination", "\r\n")
        kwargs.setdefault("write_termination", "\r\n")
        try:
            from pyvisa.constants import Parity, StopBits
            kwargs.setdefault("asrl", {"baud_rate": 57600, "data_bits": 7,
                                       "parity": Parity.odd, "stop_bits": StopBits.one})
        except ImportError:  # pragma: no cover - pyvisa ships with pymeasure
            pass
        self._last_command = ""
        super().__init__(adapter, name, includeSCPI=False, **kwargs)

    # --- communication: name the query that got no reply
    def write(self, command: str, **kwargs) -> None:
        self._last_command = command
        super().write(command, **kwargs)

    def read(self, **kwargs) -> str:
        try:
            return super().read(**kwargs)
        except Exception as exc:
            if _is_timeout(exc):
                raise LakeShore372NoReplyError(
                    f"{self.name}: no reply to {self._last_command!r} in time; the 372 does "
                    f"not answer a query it does not understand (see check_errors())") from exc
            raise

    id = Instrument.measurement(
        "*IDN?",
        """Get the identification, ``LSCI,MODEL372,<serial>,<firmware>`` (str).""",
        cast=str,
        maxsplit=0,
    )

    standard_event_status = Instrument.measurement(
        "*ESR?",
        """Get and clear the standard event status register (:class:`StandardEvent`).""",
        get_process=lambda v: StandardEvent(_int(v)),
    )

    def check_errors(self) -> list:
        """Read ``*ESR?`` and return the error events set since the last read.

        :return: list of :class:`StandardEvent` error flags (QYE, DDE, EXE, CME); each
            is also logged.
        """
        events = self.standard_event_status & ERROR_EVENTS
        errors = [flag for flag in (StandardEvent.QYE, StandardEvent.DDE, StandardEvent.EXE,
                                    StandardEvent.CME) if flag in events]
        for flag in errors:
            log.error("%s: standard event %s", self.name, flag.name)
        return errors

    # --- scanner
    scanner = Instrument.control(
        "SCAN?",
        "SCAN %s",
        """Control the scanner (:class:`ScannerState`: channel 1-16, autoscan bool).
        Set with a ScannerState or a (channel, autoscan) pair.""",
        validator=_scanner_wire,
        cast=str,
        get_process_list=lambda v: ScannerState(_int(v[0]), bool(_int(v[1]))),
    )

    scanned_channel = Instrument.measurement(
        "SCAN?",
        """Get the input channel the scanner is on (int, 1-16).""",
        cast=str,
        get_process_list=lambda v: _int(v[0]),
    )

    def scan(self, channel: int, autoscan: bool = False) -> None:
        """Switch the scanner to ``channel`` (1-16) (``SCAN <channel>,<autoscan>``).

        The new channel reads after its pause and dwell time (see ``input_setup``)."""
        self.scanner = (channel, autoscan)
