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
* a device-level ``banner:`` list is queued on connect (AMI 430 greeting);
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

    def attach(self, model: Any, faults: FaultInjector, banner: Iterable[str], log_length: int):
        self.model = model
        self.faults = faults
        self.banner = [line.encode() for line in banner]
        #: (station time, message) of the latest messages received, newest last
        self.received: deque[tuple[float, str]] = deque(maxlen=log_length)
        #: every message ever received (the log above keeps only the latest)
        self.message_count = 0

    @property
    def clock(self):
        return self.model.clock

    def has_output(self) -> bool:
        return bool(self._output_buffers)

    def queue_banner(self) -> None:
        for line in self.banner:
            self._output_buffers.append(bytearray(line) + self._response_eom)

    def write(self, data: bytes) -> None:
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

        queries = message.split(self.delimiter) if self.delimiter else [message]
        for query in queries:
            response = self._match(query)
            if response is None:
                response = self.error_response("command_error")
            if response is NoResponse or response is None:
                continue
            if fault == "drop":
                continue
            if fault == "garble":
                response = self.faults.garble(response)
            self._output_buffers.append(bytearray(response) + self._response_eom)

    def _match_setters(self, query: bytes):
        text = query.decode("utf-8")
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
        return None


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

    device = LiveDevice(name, device_dict.get("delimiter", ";").encode("utf-8"))
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
    device.attach(binding.model, binding.faults, device_dict.get("banner", []), log_length)
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
            self.sessions[handle].device.queue_banner()
        return handle, status

    def read(self, session, count: int):
        sess = self.sessions.get(session)
        if sess is not None and not sess.device.has_output():
            # Nothing will ever arrive: time out now, costing the timeout in station time.
            timeout_ms, _ = sess.get_attribute(constants.ResourceAttribute.timeout_value)
            sess.device.clock.sleep((timeout_ms or 0) / 1000)
            raise errors.VisaIOError(constants.VI_ERROR_TMO)
        return super().read(session, count)

    def close(self, session):
        status = super().close(session)
        if not self.sessions:  # last session gone: forget this library
            type(self)._registry.pop(self._key, None)
        return status
