"""The live binding: pyvisa-sim, extended with time, physics and faults.

pyvisa-sim answers from static YAML. The device files in ``sim/devices/`` stay
the one definition of each simulated protocol (they load in plain pyvisa-sim),
and this module binds them to one simulated lab:

* a property carrying the extra YAML key ``live: <name>`` is read from and
  written to attribute ``<name>`` of the instrument's model (channel properties
  index it by channel id), so replies are computed at the moment of the query
  and a SET can start an action (a ramp, a new set-point, a filter change);
  before a live SET changes anything, the whole lab catches up to now (filters
  integrate, magnetisation follows the field), so time-dependent state is only
  ever computed lazily and a query of one instrument costs nothing elsewhere;
* a setter reply may contain ``{}``, replaced by the text that was set (the
  Oxford ``STAT:SET:...:<value>:VALID`` echo);
* a device-level ``banner:`` list is sent on connect (AMI 430 greeting); it arrives
  before the first reply, and a device clear sent at once on connect leaves it (it is
  still on its way, as on the bench);
* every message received is logged with its station time, each message costs
  the model's I/O latency of station time, and a read with nothing to read
  times out at once in virtual time instead of busy-waiting in wall time;
* faults from the station file: dropped replies (timeouts), garbled replies, an
  instrument that stops answering.

pyvisa accepts a ``VisaLibraryBase`` instance wherever a library is named, so a
pymeasure driver is simply built with ``visa_library=library``.
"""

from __future__ import annotations

import itertools
import pathlib
from collections import deque
from dataclasses import dataclass
from typing import Any, Iterable

from pyvisa import constants, errors, rname
from pyvisa_sim import parser
from pyvisa_sim.channels import ChannelProperty
from pyvisa_sim.component import NoResponse, Property
from pyvisa_sim.devices import Device, Devices
from pyvisa_sim.highlevel import SimVisaLibrary

from .faults import FaultInjector
from .grammar import Grammar, GrammarError, OxfordGrammar, grammar_for

DEVICE_DIR = pathlib.Path(__file__).parent / "devices"


class BindingError(ValueError):
    """A device file and its live model do not fit together."""


def device_file(name: str) -> pathlib.Path:
    """Path of the shipped device file for instrument type ``name`` (e.g. ``sr830``)."""
    path = DEVICE_DIR / f"{name}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in DEVICE_DIR.glob("*.yaml"))
        raise BindingError(f"no simulated device file {path.name}; known: {', '.join(known)}")
    return path


# --------------------------------------------------------------------------- properties
class LiveProperty(Property):
    """A device property whose value lives in the model (``getattr``/``setattr``)."""

    def __init__(self, prop: Property, model: Any, attribute: str):
        self.name = prop.name
        self.specs = prop.specs
        self._model = model
        self._attribute = attribute

    def get_value(self):
        return getattr(self._model, self._attribute)

    def set_value(self, string_value) -> None:
        value = self.validate_value(string_value)
        self._model.lab.advance()  # time-dependent state catches up before anything changes
        setattr(self._model, self._attribute, value)


class LiveChannelProperty(ChannelProperty):
    """A channel property whose value lives in ``model.<attribute>[channel id]``."""

    def __init__(self, prop: ChannelProperty, model: Any, attribute: str):
        self.name = prop.name
        self.specs = prop.specs
        self._channel = prop._channel
        self._model = model
        self._attribute = attribute

    def get_value(self):
        return getattr(self._model, self._attribute)[self._channel._selected]

    def set_value(self, string_value) -> None:
        value = self.validate_value(string_value)
        self._model.lab.advance()
        getattr(self._model, self._attribute)[self._channel._selected] = value


# --------------------------------------------------------------------------- device
class LiveDevice(Device):
    """A pyvisa-sim device bound to a live model, with a receive log and faults."""

    model: Any
    faults: FaultInjector
    banner: list[bytes]

    def attach(self, model: Any, faults: FaultInjector, banner: Iterable[str], log_length: int,
               grammar: Grammar):
        self.model = model
        self.grammar = grammar
        #: device UIDs the file knows (an Oxford instrument answers NOT_FOUND for others)
        self.known_devices = OxfordGrammar.devices_in(self._all_queries())
        self.faults = faults
        self.banner = [line.encode() for line in banner]
        #: the greeting is on its way (connected, not yet arrived): a device clear sent at once
        #: on connect (QCoDeS does) does not discard it, as on the bench, where it comes later
        self.banner_in_flight = False
        #: (station time, message) of the latest messages received, newest last
        self.received: deque[tuple[float, str]] = deque(maxlen=log_length)
        #: every message ever received (the log above keeps only the latest)
        self.message_count = 0

    @property
    def clock(self):
        return self.model.clock

    def has_output(self) -> bool:
        self._banner_arrives()
        return bool(self._output_buffers)

    def pop_reply(self) -> bytes | None:
        """The oldest whole reply waiting to be read (termination included), or None."""
        self._banner_arrives()
        return bytes(self._output_buffers.popleft()) if self._output_buffers else None

    def device_clear(self) -> None:
        """IEEE 488.1 device clear: input and output buffers emptied; error state kept."""
        self._input_buffer = bytearray()
        self._output_buffers.clear()

    def status_byte(self) -> int:
        """The serial-poll status byte, as this instrument family builds it."""
        return self.grammar.status_byte(self)

    def connected(self) -> None:
        """A client connected: the instrument's greeting (``banner:``) is sent. It arrives
        in the output buffer before anything the client does next is answered."""
        self.banner_in_flight = bool(self.banner)

    def _banner_arrives(self) -> None:
        if self.banner_in_flight:
            self.banner_in_flight = False
            for line in self.banner:
                self._output_buffers.append(bytearray(line) + self._response_eom)

    def write(self, data: bytes) -> None:
        self._banner_arrives()
        self._input_buffer.extend(data)
        if not self._input_buffer.endswith(self._query_eom):
            return
        # a CR before an LF terminator is ignored, as the instruments do (pyvisa's
        # default write termination is CR LF)
        message = bytes(self._input_buffer[: -len(self._query_eom)]).rstrip(b"\r")
        self._input_buffer = bytearray()

        clock = self.model.clock
        clock.sleep(self.model.io_latency)
        now = clock.now()
        self.received.append((now, message.decode(errors="replace")))
        self.message_count += 1
        fault = self.faults.on_message(now)
        if fault == "silent":  # stopped answering: the message is lost entirely
            return

        for query in self.grammar.pieces(message):
            if not query:  # an empty piece (a trailing delimiter) is ignored
                continue
            if query == b"*STB?" and self.grammar.ieee488:
                response = str(self.status_byte()).encode()
            else:
                response = self._match(query)
            if response is None:
                # unknown or malformed: the instrument's own error state, and its own
                # reply -- for most, none at all (the client times out, as on the bench)
                self.error_response("command_error")
                response = self.grammar.unknown_reply(query, self.known_devices)
            if response is NoResponse or response is None:
                continue
            if fault == "drop":
                continue
            if fault == "garble":
                response = self.faults.garble(response)
            self._output_buffers.append(bytearray(response) + self._response_eom)

    def _match_setters(self, query: bytes):
        text = query.decode("utf-8", errors="replace")
        refused = False
        for name, setter_parser, response, error_response in self._setters:
            try:
                value = setter_parser(text)
            except ValueError:
                continue
            shown = _set_value_text(text, setter_parser)
            try:
                self._properties[name].set_value(value)
                return _fill(response, shown)
            except ValueError:
                if isinstance(error_response, bytes):
                    return _fill(error_response, shown)
                refused = True
        if refused:  # a known setting, a value out of its specs: an execution error, no reply
            self.error_response("execution_error")
            return NoResponse
        return None

    def _all_queries(self) -> list[str]:
        keys = list(self._dialogues) + list(self._getters)
        for channels in self._channels.values():
            keys += list(channels._dialogues["__default__"]) + list(channels._getters["__default__"])
        return [k.decode(errors="replace") for k in keys]


def _set_value_text(text: str, setter_parser) -> str:
    """The literal text a setter captured (what an Oxford reply echoes)."""
    match = setter_parser._regex.match(text)
    groups = [g for g in (match.groups() if match else ()) if g is not None]
    return ",".join(groups) if groups else text


def _fill(reply, value_text: str):
    if isinstance(reply, bytes) and b"{}" in reply:
        return reply.replace(b"{}", value_text.encode())
    return reply


# --------------------------------------------------------------------------- building
@dataclass(frozen=True)
class Binding:
    """One simulated instrument at one VISA address."""

    resource: str  #: VISA resource name as the station file gives it
    device_file: pathlib.Path  #: pyvisa-sim YAML (the protocol)
    model: Any  #: live model (time, physics); its attributes match the ``live:`` names
    faults: FaultInjector


def build_device(binding: Binding, log_length: int = 10_000) -> LiveDevice:
    """Load a device file with pyvisa-sim's own parser and bind it to its model."""
    loader = parser.Loader(binding.device_file, False)
    devices = loader.data.get("devices", {})
    if len(devices) != 1:
        raise BindingError(f"{binding.device_file.name}: expected one device, found {len(devices)}")
    (name, device_dict), = devices.items()
    delimiter = device_dict.get("delimiter", ";").encode("utf-8")
    try:
        grammar = grammar_for(device_dict.get("grammar"), delimiter, binding.device_file.name)
    except GrammarError as exc:
        raise BindingError(str(exc)) from None
    device_dict = grammar.canonical_device(device_dict)

    device = LiveDevice(name, delimiter)
    device.add_error_handler(device_dict.get("error", {}))
    for itype, eom in device_dict.get("eom", {}).items():
        device.add_eom(itype, *parser._get_pair(eom))
    parser.update_component(name, device, device_dict)
    for ch_name, ch_dict in device_dict.get("channels", {}).items():
        device.add_channels(ch_name, parser.get_channel(device, ch_name, ch_dict, loader, {}))

    where = f"{binding.device_file.name}"
    _bind_properties(device, device_dict.get("properties", {}), binding.model, LiveProperty, where)
    for ch_name, ch_dict in device_dict.get("channels", {}).items():
        _bind_properties(device._channels[ch_name], ch_dict.get("properties", {}), binding.model,
                         LiveChannelProperty, f"{where} channel {ch_name}")
    device.attach(binding.model, binding.faults, device_dict.get("banner", []), log_length, grammar)
    return device


def _bind_properties(component, props: dict, model, live_class, where: str) -> None:
    for prop_name, prop_dict in props.items():
        attribute = prop_dict.get("live")
        if not attribute:
            continue
        if not hasattr(model, attribute):
            raise BindingError(
                f"{where}: property {prop_name!r} is live as {attribute!r}, "
                f"but the model {type(model).__name__} has no such attribute")
        component._properties[prop_name] = live_class(component._properties[prop_name], model, attribute)


# --------------------------------------------------------------------------- library
def _read_reply(device, count: int, termchar: int, termchar_enabled: bool):
    """pyvisa-sim's read rules (VPP-4.3 6.1) on the waiting reply at once, not byte by
    byte: up to ``count`` bytes, stopping after the termination character (if enabled);
    the reply's last byte carries END, which wins over the termination character."""
    buffer = device._output_buffers[0]
    n = min(count, len(buffer))
    at_termchar = False
    if termchar_enabled:
        k = buffer.find(bytes([termchar]), 0, n)
        if k >= 0:
            n, at_termchar = k + 1, True
    out = bytes(buffer[:n])
    del buffer[:n]
    if not buffer:
        device._output_buffers.popleft()
        return out, constants.StatusCode.success
    if at_termchar:
        return out, constants.StatusCode.success_termination_character_read
    return out, constants.StatusCode.success_max_count_read


class LiveSimVisaLibrary(SimVisaLibrary):
    """pyvisa-sim's VISA library, serving live devices of one simulated lab.

    Build it with :meth:`create`; pass the instance as ``visa_library`` to pyvisa
    or pymeasure.
    """

    _counter = itertools.count()
    _pending: dict[str, list[Binding]] = {}

    @classmethod
    def create(cls, bindings: Iterable[Binding]) -> "LiveSimVisaLibrary":
        key = f"cryo-acq-live-sim-{next(cls._counter)}"
        cls._pending[key] = list(bindings)
        return cls(key)

    def _init(self) -> None:
        self._key = (type(self), vars(self)["library_path"])  # pyvisa's registry key for this library
        self.sessions = {}
        self.devices = Devices()
        self.live_devices: dict[str, LiveDevice] = {}
        for binding in self._pending.pop(str(self._key[1])):
            device = build_device(binding)
            canonical = rname.to_canonical_name(binding.resource)
            self.devices.add_device(canonical, device)
            self.live_devices[binding.resource] = device

    def device(self, resource: str) -> LiveDevice:
        """The live device at ``resource`` (as named in the station file)."""
        return self.live_devices[resource]

    def open(self, session, resource_name, access_mode=constants.AccessModes.no_lock,
             open_timeout=constants.VI_TMO_IMMEDIATE):
        handle, status = super().open(session, resource_name, access_mode, open_timeout)
        if status == constants.StatusCode.success:
            self.sessions[handle].device.connected()
        return handle, status

    def read(self, session, count: int):
        sess = self.sessions.get(session)
        if sess is None:
            return super().read(session, count)
        if not sess.device.has_output():
            # Nothing will ever arrive: time out now, costing the timeout in station time.
            timeout_ms, _ = sess.get_attribute(constants.ResourceAttribute.timeout_value)
            sess.device.clock.sleep((timeout_ms or 0) / 1000)
            raise errors.VisaIOError(constants.VI_ERROR_TMO)
        attribute = sess.get_attribute
        if (attribute(constants.ResourceAttribute.interface_type)[0] == constants.InterfaceType.asrl
                or attribute(constants.ResourceAttribute.suppress_end_enabled)[0]):
            return super().read(session, count)  # serial END rules: pyvisa-sim's byte-wise read
        return _read_reply(sess.device, count, attribute(constants.ResourceAttribute.termchar)[0],
                           attribute(constants.ResourceAttribute.termchar_enabled)[0])

    # --- VISA operations drivers call (pyvisa-sim has none of them)
    def _device_of(self, session):
        sess = self.sessions.get(session)
        return None if sess is None else getattr(sess, "device", None)

    def clear(self, session):
        device = self._device_of(session)
        if device is None:
            return constants.StatusCode.error_invalid_object
        device.device_clear()
        return constants.StatusCode.success

    def read_stb(self, session):
        device = self._device_of(session)
        if device is None:
            return 0, constants.StatusCode.error_invalid_object
        return device.status_byte(), constants.StatusCode.success

    def assert_trigger(self, session, protocol):
        device = self._device_of(session)
        if device is None:
            return constants.StatusCode.error_invalid_object
        device.write(b"*TRG" + device._query_eom)  # a GPIB GET acts as *TRG
        return constants.StatusCode.success

    def lock(self, session, lock_type, timeout, requested_key=None):
        # one process owns the simulated lab, so a lock is always granted
        if self._device_of(session) is None:
            return "", constants.StatusCode.error_invalid_object
        key = requested_key or f"cryo-acq-sim-{session}"
        return key, constants.StatusCode.success

    def unlock(self, session):
        if self._device_of(session) is None:
            return constants.StatusCode.error_invalid_object
        return constants.StatusCode.success

    def flush(self, session, mask):
        device = self._device_of(session)
        if device is None:
            return constants.StatusCode.error_invalid_object
        if mask & (constants.BufferOperation.discard_read_buffer | constants.BufferOperation.discard_read_buffer_no_io):
            device._output_buffers.clear()
        if mask & (constants.BufferOperation.discard_write_buffer | constants.BufferOperation.discard_receive_buffer):
            device._input_buffer = bytearray()
        return constants.StatusCode.success

    def close(self, session):
        status = super().close(session)
        if not self.sessions:  # last session gone: forget this library
            type(self)._registry.pop(self._key, None)
        return status
