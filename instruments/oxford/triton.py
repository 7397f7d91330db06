"""Oxford Instruments Triton dilution-refrigerator controller.

Interface: raw TCP socket to the Triton software on the fridge PC
(``TCPIP0::<host>::33576::SOCKET``; the port is configurable there); CR LF
(``"\\r\\n"``) terminates commands and replies.

Wire format: the Oxford READ/SET/STAT family (see :mod:`instruments.oxford._protocol`)::

    READ:DEV:T5:TEMP:SIG:TEMP          -> STAT:DEV:T5:TEMP:SIG:TEMP:0.0523K
    READ:DEV:T9:TEMP:SIG:TEMP          -> STAT:DEV:T9:TEMP:SIG:TEMP:NOT_FOUND   (None)
    READ:DEV:T5:TEMP:MEAS:ENAB         -> STAT:DEV:T5:TEMP:MEAS:ENAB:ON
    READ:DEV:P2:PRES:SIG:PRES          -> STAT:DEV:P2:PRES:SIG:PRES:1.23mB
    READ:SYS:DR:CHAN                   -> STAT:SYS:DR:CHAN:MC:STIL:PT1:PT2
    READ:SYS:DR:CHAN:MC                -> STAT:SYS:DR:CHAN:MC:T5
    READ:SYS:DR:ACTN                   -> STAT:SYS:DR:ACTN:COND
    READ:SYS:DR:STATUS                 -> STAT:SYS:DR:STATUS:OK
    SET:DEV:T5:TEMP:LOOP:TSET:0.1      -> STAT:SET:DEV:T5:TEMP:LOOP:TSET:0.1:VALID

Mixing-chamber loop commands (after ``DEV:T<n>:TEMP:LOOP:``, ``n`` = the loop
channel): ``MODE`` ON/OFF, ``TSET`` K, ``RANGE`` heater range in mA, ``P``,
``I``, ``D``, ``RAMP:ENAB`` ON/OFF, ``RAMP:RATE`` K/min, ``HTR`` heater (set ``H1``).

Every SET is answered by one line; the driver checks it and raises
:class:`~instruments.oxford._protocol.OxfordCommandError` (naming the command)
on ``INVALID`` or ``NOT_FOUND``. Python units are SI: K, A, K/s, Pa.
"""

from __future__ import annotations

import logging
from typing import Optional

from pymeasure.instruments import Channel, Instrument
from pymeasure.instruments.validators import strict_discrete_set, strict_range

from ._protocol import (
    INVALID,
    NOT_FOUND,
    OxfordCommandError,
    OxfordProtocolMixin,
    format_number,
    on_off,
    quantity,
    read_kwargs,
    to_on_off,
    word,
)

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

#: Heater ranges the Triton accepts, in ampere (0.316, 1, 3.16, 10, 31.6, 100 mA).
HEATER_RANGES = (0.316e-3, 1e-3, 3.16e-3, 10e-3, 31.6e-3, 100e-3)

#: Codes of :attr:`OxfordTriton.action` (``READ:SYS:DR:ACTN``).
ACTIONS = {
    "PCL": "precooling",
    "EPCL": "emptying the precool circuit",
    "COND": "condensing",
    "COLL": "collecting the mixture",
    "NONE": "no automation running (circulating or idle)",
}

_MINUTE = 60.0
_PA_PER_BAR = 1e5
_MAX_CHANNELS = 16


class TritonTemperatureChannel(Channel):
    """One temperature channel ``T<n>`` of the Triton (``triton.T5``).

    The loop properties only answer on the channel that carries the
    mixing-chamber control loop (see :meth:`OxfordTriton.find_loop_channel`);
    :attr:`OxfordTriton.loop` is that channel.
    """

    temperature = Channel.measurement(
        "READ:DEV:{ch}:TEMP:SIG:TEMP",
        """Get the temperature, in kelvin (K); ``None`` if the channel does not exist
        (reply ``NOT_FOUND``).""",
        **read_kwargs(quantity("K")),
    )

    enabled = Channel.control(
        "READ:DEV:{ch}:TEMP:MEAS:ENAB",
        "SET:DEV:{ch}:TEMP:MEAS:ENAB:%s",
        """Control whether the channel is measured (bool; wire ``ON``/``OFF``);
        ``None`` if the channel does not exist.""",
        validator=strict_discrete_set,
        values=(True, False),
        set_process=to_on_off,
        check_set_errors=True,
        **read_kwargs(on_off),
    )

    # --- mixing-chamber control loop (answers on the loop channel only)
    loop_enabled = Channel.control(
        "READ:DEV:{ch}:TEMP:LOOP:MODE",
        "SET:DEV:{ch}:TEMP:LOOP:MODE:%s",
        """Control whether the PID loop drives the heater (bool; wire ``ON``/``OFF``);
        ``None`` on a channel without a loop.""",
        validator=strict_discrete_set,
        values=(True, False),
        set_process=to_on_off,
        check_set_errors=True,
        **read_kwargs(on_off),
    )

    temperature_setpoint = Channel.control(
        "READ:DEV:{ch}:TEMP:LOOP:TSET",
        "SET:DEV:{ch}:TEMP:LOOP:TSET:%s",
        """Control the loop set point, in kelvin (K, 0 to 40).""",
        validator=strict_range,
        values=(0.0, 40.0),
        set_process=format_number,
        check_set_errors=True,
        **read_kwargs(quantity("K")),
    )

    heater_range = Channel.control(
        "READ:DEV:{ch}:TEMP:LOOP:RANGE",
        "SET:DEV:{ch}:TEMP:LOOP:RANGE:%s",
        """Control the heater current range, in ampere (A): one of 0.316e-3, 1e-3,
        3.16e-3, 10e-3, 31.6e-3, 0.1. The wire unit is mA (a reply may carry a
        unit such as ``mA``/``uA``; a bare number is mA).""",
        validator=strict_discrete_set,
        values=HEATER_RANGES,
        set_process=lambda v: format_number(v * 1e3),
        check_set_errors=True,
        **read_kwargs(quantity("A", bare_scale=1e-3)),
    )

    loop_p = Channel.control(
        "READ:DEV:{ch}:TEMP:LOOP:P",
        "SET:DEV:{ch}:TEMP:LOOP:P:%s",
        """Control the proportional gain P of the loop (dimensionless, 0 to 1000).""",
        validator=strict_range,
        values=(0.0, 1000.0),
        set_process=format_number,
        check_set_errors=True,
        **read_kwargs(quantity(None)),
    )

    loop_i = Channel.control(
        "READ:DEV:{ch}:TEMP:LOOP:I",
        "SET:DEV:{ch}:TEMP:LOOP:I:%s",
        """Control the integral term I of the loop (as the Triton shows it, 0 to 1000).""",
        validator=strict_range,
        values=(0.0, 1000.0),
        set_process=format_number,
        check_set_errors=True,
        **read_kwargs(quantity(None)),
    )

    loop_d = Channel.control(
        "READ:DEV:{ch}:TEMP:LOOP:D",
        "SET:DEV:{ch}:TEMP:LOOP:D:%s",
        """Control the derivative term D of the loop (as the Triton shows it, 0 to 1000).""",
        validator=strict_range,
        values=(0.0, 1000.0),
        set_process=format_number,
        check_set_errors=True,
        **read_kwargs(quantity(None)),
    )

    ramp_enabled = Channel.control(
        "READ:DEV:{ch}:TEMP:LOOP:RAMP:ENAB",
        "SET:DEV:{ch}:TEMP:LOOP:RAMP:ENAB:%s",
        """Control whether the set point ramps at ``ramp_rate`` (bool; wire ``ON``/``OFF``).""",
        validator=strict_discrete_set,
        values=(True, False),
        set_process=to_on_off,
        check_set_errors=True,
        **read_kwargs(on_off),
    )

    ramp_rate = Channel.control(
        "READ:DEV:{ch}:TEMP:LOOP:RAMP:RATE",
        "SET:DEV:{ch}:TEMP:LOOP:RAMP:RATE:%s",
        """Control the set-point ramp rate, in kelvin per second (K/s, 0 to 1). The
        wire unit is K/min (``K/m``).""",
        validator=strict_range,
        values=(0.0, 1.0),
        set_process=lambda v: format_number(v * _MINUTE),
        check_set_errors=True,
        **read_kwargs(quantity("K/m", scale=1 / _MINUTE)),
    )

    loop_heater = Channel.measurement(
        "READ:DEV:{ch}:TEMP:LOOP:HTR",
        """Get the heater the loop drives (str, e.g. ``"H1"``).""",
        **read_kwargs(word),
    )

    def select_heater(self, heater: str = "H1") -> None:
        """Make this channel's loop drive ``heater`` (``SET:DEV:T<n>:TEMP:LOOP:HTR:H1``)."""
        if not heater or ":" in heater:
            raise ValueError(f"invalid heater name {heater!r}")
        self.parent.set_checked(f"SET:DEV:{self.id}:TEMP:LOOP:HTR:{heater}")


class TritonPressureChannel(Channel):
    """One pressure gauge ``P<n>`` of the Triton gas handling (``triton.P2``)."""

    pressure = Channel.measurement(
        "READ:DEV:{ch}:PRES:SIG:PRES",
        """Get the pressure, in pascal (Pa); the wire unit is mbar (``mB``, 1 mbar =
        100 Pa). ``None`` if the gauge does not exist.""",
        **read_kwargs(quantity("B", scale=_PA_PER_BAR, bare_scale=1e-3)),
    )


def _loop_property(name: str):
    """An instrument property forwarding to the same property of :attr:`OxfordTriton.loop`."""
    doc = getattr(TritonTemperatureChannel, name).__doc__

    def fget(self):
        return getattr(self.loop, name)

    def fset(self, value):
        setattr(self.loop, name, value)

    return property(fget, fset, doc=f"{doc}\n\nOn the loop channel (``loop_channel``).")


class OxfordTriton(OxfordProtocolMixin, Instrument):
    """Oxford Instruments Triton dilution-refrigerator controller.

    Temperature channels ``T1`` .. ``T16`` are ``triton.T1`` .. ``triton.T16``
    (collection ``triton.channels``), pressure gauges ``P1`` .. ``P6`` are
    ``triton.P1`` .. ``triton.P6`` (collection ``triton.pressure_gauges``).

    The mixing-chamber loop lives on channel ``T<loop_channel>`` (default 5; use
    :meth:`find_loop_channel` to discover it). :attr:`loop` is that channel, and
    the loop properties are also offered on the instrument itself
    (``triton.temperature_setpoint`` is ``triton.loop.temperature_setpoint``).

    .. code-block:: python

        triton = OxfordTriton("TCPIP0::192.168.1.30::33576::SOCKET")
        triton.find_loop_channel()          # e.g. 5
        triton.heater_range = 1e-3          # A
        triton.temperature_setpoint = 0.1   # K
        triton.loop_enabled = True
        print(triton.T5.temperature, triton.P2.pressure)

    :param adapter: VISA resource name or pymeasure adapter.
    :param name: instrument name for logs.
    :param loop_channel: number ``n`` of the channel ``T<n>`` carrying the loop.
    :param kwargs: passed to the adapter (``read_termination`` and
        ``write_termination`` default to ``"\\r\\n"``).
    """

    T1 = Instrument.ChannelCreator(TritonTemperatureChannel, "T1")
    T2 = Instrument.ChannelCreator(TritonTemperatureChannel, "T2")
    T3 = Instrument.ChannelCreator(TritonTemperatureChannel, "T3")
    T4 = Instrument.ChannelCreator(TritonTemperatureChannel, "T4")
    T5 = Instrument.ChannelCreator(TritonTemperatureChannel, "T5")
    T6 = Instrument.ChannelCreator(TritonTemperatureChannel, "T6")
    T7 = Instrument.ChannelCreator(TritonTemperatureChannel, "T7")
    T8 = Instrument.ChannelCreator(TritonTemperatureChannel, "T8")
    T9 = Instrument.ChannelCreator(TritonTemperatureChannel, "T9")
    T10 = Instrument.ChannelCreator(TritonTemperatureChannel, "T10")
    T11 = Instrument.ChannelCreator(TritonTemperatureChannel, "T11")
    T12 = Instrument.ChannelCreator(TritonTemperatureChannel, "T12")
    T13 = Instrument.ChannelCreator(TritonTemperatureChannel, "T13")
    T14 = Instrument.ChannelCreator(TritonTemperatureChannel, "T14")
    T15 = Instrument.ChannelCreator(TritonTemperatureChannel, "T15")
    T16 = Instrument.ChannelCreator(TritonTemperatureChannel, "T16")

    P1 = Instrument.ChannelCreator(TritonPressureChannel, "P1", collection="pressure_gauges")
    P2 = Instrument.ChannelCreator(TritonPressureChannel, "P2", collection="pressure_gauges")
    P3 = Instrument.ChannelCreator(TritonPressureChannel, "P3", collection="pressure_gauges")
    P4 = Instrument.ChannelCreator(TritonPressureChannel, "P4", collection="pressure_gauges")
    P5 = Instrument.ChannelCreator(TritonPressureChannel, "P5", collection="pressure_gauges")
    P6 = Instrument.ChannelCreator(TritonPressureChannel, "P6", collection="pressure_gauges")

    def __init__(self, adapter, name: str = "Oxford Triton", loop_channel: int = 5, **kwargs):
        kwargs.setdefault("read_termination", "\r\n")
        kwargs.setdefault("write_termination", "\r\n")
        super().__init__(adapter, name, includeSCPI=False, **kwargs)
        self.loop_channel = loop_channel

    @property
    def loop_channel(self) -> int:
        """Get or set the number ``n`` of the channel ``T<n>`` carrying the
        mixing-chamber loop (int, 1 to 16)."""
        return self._loop_channel

    @loop_channel.setter
    def loop_channel(self, n: int) -> None:
        self._loop_channel = int(strict_range(int(n), (1, _MAX_CHANNELS)))

    @property
    def loop(self) -> TritonTemperatureChannel:
        """Get the temperature channel carrying the loop (``T<loop_channel>``)."""
        return self.channels[f"T{self.loop_channel}"]

    loop_enabled = _loop_property("loop_enabled")
    temperature_setpoint = _loop_property("temperature_setpoint")
    heater_range = _loop_property("heater_range")
    loop_p = _loop_property("loop_p")
    loop_i = _loop_property("loop_i")
    loop_d = _loop_property("loop_d")
    ramp_enabled = _loop_property("ramp_enabled")
    ramp_rate = _loop_property("ramp_rate")

    def select_heater(self, heater: str = "H1") -> None:
        """Make the loop channel drive ``heater`` (``SET:DEV:T<n>:TEMP:LOOP:HTR:H1``)."""
        self.loop.select_heater(heater)

    id = Instrument.measurement(
        "*IDN?",
        """Get the identification, ``IDN:OXFORD INSTRUMENTS:<model>:<serial>:<firmware>``
        (str, colon separated).""",
        cast=str,
        maxsplit=0,
    )

    action = Instrument.measurement(
        "READ:SYS:DR:ACTN",
        """Get the automation step (str code): ``PCL`` precooling, ``EPCL`` emptying
        the precool circuit, ``COND`` condensing, ``COLL`` collecting, ``NONE``
        nothing running (circulating or idle); other codes are passed through.""",
        **read_kwargs(word),
    )

    status = Instrument.measurement(
        "READ:SYS:DR:STATUS",
        """Get the system status word (str, e.g. ``"OK"``).""",
        **read_kwargs(word),
    )

    # --- discovery
    def channel_aliases(self) -> list[str]:
        """Get the named channels the fridge defines (``READ:SYS:DR:CHAN``), e.g.
        ``['MC', 'STIL', 'PT1', 'PT2']``."""
        text = self.query_payload("READ:SYS:DR:CHAN")
        if text == NOT_FOUND:
            return []
        return [alias for alias in text.split(":") if alias]

    def channel_map(self) -> dict[str, str]:
        """Map each named channel to its temperature channel, e.g. ``{'MC': 'T5'}``.

        One ``READ:SYS:DR:CHAN:<alias>`` per alias; aliases answered ``NONE``,
        ``NOT_FOUND`` or ``INVALID`` (not assigned on this fridge) are left out."""
        mapping = {}
        for alias in self.channel_aliases():
            try:
                text = self.query_payload(f"READ:SYS:DR:CHAN:{alias}")
            except OxfordCommandError:
                log.info("%s: named channel %s is refused; left out", self.name, alias)
                continue
            if text in ("NONE", NOT_FOUND, INVALID, ""):
                continue
            mapping[alias] = text
        return mapping

    def find_loop_channel(self) -> Optional[int]:
        """Find the channel carrying the mixing-chamber loop and make it :attr:`loop_channel`.

        Queries ``READ:DEV:T<n>:TEMP:LOOP:MODE`` for n = 1..16 and takes the first
        reply that does not end in ``NOT_FOUND``.

        :return: ``n``, or ``None`` (``loop_channel`` unchanged) if no channel has a loop.
        """
        for n in range(1, _MAX_CHANNELS + 1):
            reply = self.ask(f"READ:DEV:T{n}:TEMP:LOOP:MODE")
            if not reply.strip().endswith(NOT_FOUND):
                self.loop_channel = n
                return n
        return None
