"""Oxford Instruments Mercury iPS superconducting-magnet power supply.

Interface: raw TCP socket, port 7020 (``TCPIP0::<host>::7020::SOCKET``); LF
(``"\\n"``) terminates commands and replies. The Mercury also has GPIB and RS-232
ports with the same command set.

Wire format (Mercury "SCPI" command set, see :mod:`instruments.oxford._protocol`)::

    READ:DEV:GRPZ:PSU:SIG:FLD          -> STAT:DEV:GRPZ:PSU:SIG:FLD:0.1000T
    SET:DEV:GRPZ:PSU:SIG:FSET:0.5      -> STAT:SET:DEV:GRPZ:PSU:SIG:FSET:0.5:VALID
    SET:DEV:GRPZ:PSU:SIG:FSET:99       -> STAT:SET:DEV:GRPZ:PSU:SIG:FSET:99:INVALID
    READ:DEV:MB1.T1:TEMP:SIG:TEMP      -> STAT:DEV:MB1.T1:TEMP:SIG:TEMP:4.2100K
    *IDN?                              -> IDN:OXFORD INSTRUMENTS:MERCURY IPS:<serial>:<firmware>

Every SET is answered by one line; the driver reads and checks it, raising
:class:`~instruments.oxford._protocol.OxfordCommandError` (with the command) when
it ends in ``INVALID``/``NOT_FOUND``. Values carry a unit with an optional SI
prefix (``12.5mT``, ``3.2uA``); the driver returns SI. Ramp rates are per minute
on the wire (``T/m``, ``A/m``) and per second in Python.

Axes are the supply's group devices ``GRPX``, ``GRPY``, ``GRPZ`` (``ips.x``,
``ips.y``, ``ips.z``), always addressed through the ``PSU`` path (this driver
never uses the ``SPSU`` path some firmware also offers). A supply with fewer
axes simply answers ``NOT_FOUND`` for the others: reads give ``None``.

Commands, per group ``<G>`` (after ``DEV:<G>:PSU:``), wire unit -> Python unit:

* ``field`` -- ``SIG:FLD``, T -> T, read
* ``field_persistent`` -- ``SIG:PFLD``, T -> T, read
* ``field_target`` -- ``SIG:FSET``, T -> T, read/write
* ``current`` -- ``SIG:CURR``, A -> A, read
* ``current_persistent`` -- ``SIG:PCUR``, A -> A, read
* ``current_target`` -- ``SIG:CSET``, A -> A, read/write
* ``voltage`` -- ``SIG:VOLT``, V -> V, read
* ``field_ramp_rate`` -- ``SIG:RFST``, T/min (``T/m``) -> T/s, read/write
* ``current_ramp_rate`` -- ``SIG:RCST``, A/min (``A/m``) -> A/s, read/write
* ``switch_heater_enabled`` -- ``SIG:SWHT``, ``ON``/``OFF`` -> bool, read/write
* ``current_to_field_ratio`` -- ``ATOB``, A/T -> A/T, read/write
* ``ramp_status`` -- ``ACTN``, ``HOLD``/``RTOS``/``RTOZ``/``CLMP`` -> str, read/write
"""

from __future__ import annotations

import logging

from pymeasure.instruments import Channel, Instrument
from pymeasure.instruments.validators import strict_discrete_set, strict_range

from ._protocol import (
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

#: Values of :attr:`MercuryIPSGroup.ramp_status` (the ``ACTN`` word).
RAMP_STATES = {
    "HOLD": "holding: the output stays where it is",
    "RTOS": "ramping to the set point (field_target / current_target)",
    "RTOZ": "ramping to zero",
    "CLMP": "clamped: output locked at zero, RTOS is refused until HOLD",
}

_MINUTE = 60.0


class MercuryIPSGroup(Channel):
    """One axis group (``GRPX``, ``GRPY`` or ``GRPZ``) of a Mercury iPS.

    All quantities are SI: tesla, ampere, volt, and per-second ramp rates.
    Every setter waits for the supply's ``STAT:SET:...:VALID`` reply and raises
    :class:`~instruments.oxford._protocol.OxfordCommandError` when it is refused.
    """

    field = Channel.measurement(
        "READ:DEV:{ch}:PSU:SIG:FLD",
        """Get the output field, in tesla (T); ``None`` if the group does not exist.""",
        **read_kwargs(quantity("T")),
    )

    field_persistent = Channel.measurement(
        "READ:DEV:{ch}:PSU:SIG:PFLD",
        """Get the persistent field stored in the magnet, in tesla (T).""",
        **read_kwargs(quantity("T")),
    )

    field_target = Channel.control(
        "READ:DEV:{ch}:PSU:SIG:FSET",
        "SET:DEV:{ch}:PSU:SIG:FSET:%s",
        """Control the field set point, in tesla (T, -20 to 20 here; the supply
        enforces its magnet's own limit and refuses more with INVALID). Setting it
        does not start a ramp: call :meth:`ramp_to_set`.""",
        validator=strict_range,
        values=(-20.0, 20.0),
        set_process=format_number,
        check_set_errors=True,
        **read_kwargs(quantity("T")),
    )

    current = Channel.measurement(
        "READ:DEV:{ch}:PSU:SIG:CURR",
        """Get the output current, in ampere (A).""",
        **read_kwargs(quantity("A")),
    )

    current_persistent = Channel.measurement(
        "READ:DEV:{ch}:PSU:SIG:PCUR",
        """Get the persistent current stored in the magnet, in ampere (A).""",
        **read_kwargs(quantity("A")),
    )

    current_target = Channel.control(
        "READ:DEV:{ch}:PSU:SIG:CSET",
        "SET:DEV:{ch}:PSU:SIG:CSET:%s",
        """Control the current set point, in ampere (A, -300 to 300 here; the
        supply enforces its own limit). Equivalent to ``field_target`` times
        ``current_to_field_ratio``.""",
        validator=strict_range,
        values=(-300.0, 300.0),
        set_process=format_number,
        check_set_errors=True,
        **read_kwargs(quantity("A")),
    )

    voltage = Channel.measurement(
        "READ:DEV:{ch}:PSU:SIG:VOLT",
        """Get the output voltage, in volt (V).""",
        **read_kwargs(quantity("V")),
    )

    field_ramp_rate = Channel.control(
        "READ:DEV:{ch}:PSU:SIG:RFST",
        "SET:DEV:{ch}:PSU:SIG:RFST:%s",
        """Control the field ramp rate, in tesla per second (T/s, 0 to 1). The wire
        unit is T/min (``T/m``): the driver divides by 60 on read and multiplies by
        60 on write.""",
        validator=strict_range,
        values=(0.0, 1.0),
        set_process=lambda v: format_number(v * _MINUTE),
        check_set_errors=True,
        **read_kwargs(quantity("T/m", scale=1 / _MINUTE)),
    )

    current_ramp_rate = Channel.control(
        "READ:DEV:{ch}:PSU:SIG:RCST",
        "SET:DEV:{ch}:PSU:SIG:RCST:%s",
        """Control the current ramp rate, in ampere per second (A/s, 0 to 10). The
        wire unit is A/min (``A/m``).""",
        validator=strict_range,
        values=(0.0, 10.0),
        set_process=lambda v: format_number(v * _MINUTE),
        check_set_errors=True,
        **read_kwargs(quantity("A/m", scale=1 / _MINUTE)),
    )

    switch_heater_enabled = Channel.control(
        "READ:DEV:{ch}:PSU:SIG:SWHT",
        "SET:DEV:{ch}:PSU:SIG:SWHT:%s",
        """Control the persistent-switch heater (bool; wire ``ON``/``OFF``). ``True``
        opens the switch so the leads drive the magnet; ``False`` makes it
        persistent. The driver never heats the switch by itself.""",
        validator=strict_discrete_set,
        values=(True, False),
        set_process=to_on_off,
        check_set_errors=True,
        **read_kwargs(on_off),
    )

    current_to_field_ratio = Channel.control(
        "READ:DEV:{ch}:PSU:ATOB",
        "SET:DEV:{ch}:PSU:ATOB:%s",
        """Control the magnet constant, in ampere per tesla (A/T, 0 to 1000).""",
        validator=strict_range,
        values=(0.0, 1000.0),
        set_process=format_number,
        check_set_errors=True,
        **read_kwargs(quantity(None)),
    )

    ramp_status = Channel.control(
        "READ:DEV:{ch}:PSU:ACTN",
        "SET:DEV:{ch}:PSU:ACTN:%s",
        """Control the supply's action word (str): ``"HOLD"`` (hold), ``"RTOS"``
        (ramp to set point), ``"RTOZ"`` (ramp to zero), ``"CLMP"`` (clamp). The supply
        refuses ``RTOS`` while clamped; :meth:`hold` first.""",
        validator=strict_discrete_set,
        values=tuple(RAMP_STATES),
        check_set_errors=True,
        **read_kwargs(word),
    )

    @property
    def is_ramping(self) -> bool:
        """Get whether the group is ramping (``ramp_status`` is RTOS or RTOZ; bool).

        The Mercury keeps RTOS after it has arrived; compare ``field`` with
        ``field_target`` to know whether it is still moving."""
        return self.ramp_status in ("RTOS", "RTOZ")

    def hold(self) -> None:
        """Hold the output where it is (``SET:DEV:<G>:PSU:ACTN:HOLD``)."""
        self.ramp_status = "HOLD"

    def ramp_to_set(self) -> None:
        """Ramp to ``field_target`` at ``field_ramp_rate`` (``ACTN:RTOS``)."""
        self.ramp_status = "RTOS"

    def ramp_to_zero(self) -> None:
        """Ramp to zero at ``field_ramp_rate`` (``ACTN:RTOZ``)."""
        self.ramp_status = "RTOZ"

    def clamp(self) -> None:
        """Clamp the output (``ACTN:CLMP``); only valid at zero current."""
        self.ramp_status = "CLMP"


class MercuryIPS(OxfordProtocolMixin, Instrument):
    """Oxford Instruments Mercury iPS magnet power supply (1 to 3 axes).

    .. code-block:: python

        ips = MercuryIPS("TCPIP0::192.168.1.20::7020::SOCKET")
        ips.z.field_ramp_rate = 0.002      # T/s (0.12 T/min)
        ips.z.field_target = 0.5           # T
        ips.z.ramp_to_set()
        while abs(ips.z.field - 0.5) > 1e-4:
            ...                            # wait through the station clock
        ips.z.hold()

    :param adapter: VISA resource name or pymeasure adapter.
    :param name: instrument name for logs.
    :param kwargs: passed to the adapter (``read_termination`` and
        ``write_termination`` default to ``"\\n"``; ``timeout`` in ms).
    """

    x = Instrument.ChannelCreator(MercuryIPSGroup, "GRPX")
    y = Instrument.ChannelCreator(MercuryIPSGroup, "GRPY")
    z = Instrument.ChannelCreator(MercuryIPSGroup, "GRPZ")

    def __init__(self, adapter, name: str = "Oxford Mercury iPS", **kwargs):
        kwargs.setdefault("read_termination", "\n")
        kwargs.setdefault("write_termination", "\n")
        super().__init__(adapter, name, includeSCPI=False, **kwargs)

    id = Instrument.measurement(
        "*IDN?",
        """Get the identification, ``IDN:OXFORD INSTRUMENTS:MERCURY IPS:<serial>:<firmware>``
        (str, colon separated).""",
        cast=str,
        maxsplit=0,
    )

    magnet_temperature = Instrument.measurement(
        "READ:DEV:MB1.T1:TEMP:SIG:TEMP",
        """Get the magnet temperature from the motherboard sensor ``MB1.T1``, in
        kelvin (K); ``None`` if not fitted.""",
        **read_kwargs(quantity("K")),
    )

    @property
    def is_ramping(self) -> bool:
        """Get whether any axis group is ramping (bool); absent groups count as idle."""
        return any(group.is_ramping for group in (self.x, self.y, self.z))

    def shutdown(self) -> None:
        """Hold every axis group (stop any ramp where it is), then mark shut down.

        Groups the supply does not have are skipped."""
        for group in (self.x, self.y, self.z):
            try:
                group.hold()
            except OxfordCommandError:
                log.info("%s: no group %s to hold", self.name, group.id)
        super().shutdown()
