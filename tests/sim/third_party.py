"""Conformance harness: drivers written by others against the live simulated lab.

Not a test module. It builds a simulated lab from a station written for the
purpose (two stations, below), constructs a QCoDeS or pymeasure driver on the
lab's live VISA library, enumerates every parameter / property the driver
declares (channels and submodules included), reads each one, and reports how
many read and, for each one that did not, the exception and the last command the
simulated instrument received while the read was attempted. The report is the
to-do list for the device files and the grammar; the counts are honest, no read
is retried or excused.

Used by ``tests/sim/test_third_party_drivers.py`` (minimum counts) and by
``bench/conformance_report.py`` (the full table and failure list).

Two stations, because a station builds one fridge: the VTI station carries the
Lake Shore 336, the dilution station the Lake Shore 372 and the Triton together
(the schema accepts two temperature controllers; only ``Station.temperature``
asks for exactly one, and the harness does not build a Station).

The QCoDeS Triton driver is an ``IPInstrument`` (a raw TCP socket, no VISA). It
is run unchanged, on the live device served on a loopback port (``sim.serve``),
as it reaches a real Triton.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import itertools
from typing import Any, Callable, Iterable

from cryo_acq.station.clock import VirtualClock
from cryo_acq.station.file import StationConfig, parse

TIMEOUT_S = 0.2  #: VISA timeout of every driver (virtual time: a timeout costs no wall time)
MESSAGE_LENGTH = 100  #: exception messages are cut to this many characters

# --------------------------------------------------------------------------- stations
VTI_STATION = """\
# Conformance station 1: lock-in, SMU and the VTI temperature controller.
name: conformance-vti
instruments:
  lockin:
    driver: sr830
    resource: GPIB0::8::INSTR
  smu:
    driver: keithley2400
    resource: GPIB0::24::INSTR
  thermometry:
    driver: lakeshore336
    resource: GPIB0::2::INSTR
    options: {sensor: A, output: 1, heater_ranges: {20.0: low, 80.0: medium, 320.0: high}}
wiring:
  lockins:
    lockin: {series_resistor: 10.0e6, preamp_gain: 1.0}
  configurations:
    four_probe: {lockin: lockin, source: smu}
limits:
  temperature: {min: 1.4, max: 300.0}
  configurations:
    four_probe: {max_current: 10.0e-6, max_voltage: 1.0}
  smu_compliance: 10.0
sim:
  device: resistive
  seed: 1
"""

DILUTION_STATION = """\
# Conformance station 2: dilution fridge with both temperature controllers and both
# magnet supplies (Mercury iPS on x and y, AMI 430 on z).
name: conformance-dilution
instruments:
  bridge:
    driver: lakeshore372
    resource: GPIB0::12::INSTR
    options: {sensor: 6}
  fridge:
    driver: triton
    resource: TCPIP0::192.168.1.30::33576::SOCKET
    options: {loop_channel: 5}
  magnet:
    driver: mercury_ips
    resource: TCPIP0::192.168.1.20::7020::SOCKET
    options:
      axes: {x: GRPX, y: GRPY}
  magnet_z:
    driver: ami430
    resource: TCPIP0::192.168.1.43::7180::SOCKET
    options: {axis: z}
limits:
  field:
    x: {max: 1.0, rate: 0.01}
    y: {max: 1.0, rate: 0.01}
    z: {max: 3.0, rate: 0.01}
    norm: 3.0
  temperature: {min: 0.01, max: 5.0}
  smu_compliance: 10.0
sim:
  device: resistive
  seed: 7
"""

STATIONS = {"vti": VTI_STATION, "dilution": DILUTION_STATION}


@dataclasses.dataclass
class LiveLab:
    """One simulated lab built from a conformance station."""

    config: StationConfig
    clock: VirtualClock
    lab: Any  #: sim.lab.SimLab
    visalib: Any  #: sim.binding.LiveSimVisaLibrary

    def resource(self, instrument: str) -> str:
        return self.config.instruments[instrument].resource

    def device(self, instrument: str):
        """The live simulated device of ``instrument`` (its ``received`` log)."""
        return self.visalib.device(self.resource(instrument))


def build_live_lab(station: str = "vti") -> LiveLab:
    """A fresh lab and live VISA library for a conformance station (``vti``, ``dilution``)."""
    from sim.build import build_lab

    config = parse(STATIONS[station], f"<conformance station {station}>")
    clock = VirtualClock()
    lab, library = build_lab(config, clock)
    return LiveLab(config, clock, lab, library)


# --------------------------------------------------------------------------- reports
@dataclasses.dataclass
class Failure:
    parameter: str  #: full name of the parameter / property
    command: str  #: last message the instrument received during the read ("" = none)
    reply: str | None  #: last reply line the driver read during it (None = nothing read)
    error: str  #: exception type
    message: str  #: exception message, shortened


@dataclasses.dataclass
class Report:
    driver: str
    total: int = 0
    read: int = 0
    failures: list[Failure] = dataclasses.field(default_factory=list)
    names: list[str] = dataclasses.field(default_factory=list)  #: every parameter read, in order
    construct_error: str | None = None  #: why the driver could not be built with its defaults
    built_with: dict | None = None  #: the fallback kwargs it was then built with (None: defaults)

    @property
    def percent(self) -> float:
        return 100.0 * self.read / self.total if self.total else 0.0


def _shorten(exc: BaseException) -> str:
    # QCoDeS appends its context ("asking ...", "getting ...") to the exception's args
    first = exc.args[0] if len(exc.args) > 1 and isinstance(exc.args[0], str) else str(exc)
    text = " ".join(str(first).split())
    return text if len(text) <= MESSAGE_LENGTH else text[: MESSAGE_LENGTH - 3] + "..."


class _Recorder:
    """What a live device received, and what the library answered, since :meth:`mark`.

    Commands come from the device's ``received`` log; replies from a tap on the
    library instance's ``read`` (the library's code is untouched: the tap is an
    instance attribute that calls the class's method)."""

    def __init__(self, device, library=None):
        self.device = device
        self._count = device.message_count if device is not None else 0
        self._replies: list[bytes] = []
        if library is not None and device is not None:
            self._tap(library)

    def _tap(self, library) -> None:
        taps = library.__dict__.setdefault("_conformance_taps", [])
        if "read" not in library.__dict__:
            plain = type(library).read

            def read(session, count):
                chunk, status = plain(library, session, count)
                for tap in taps:
                    tap.append(bytes(chunk))
                return chunk, status

            library.read = read
        taps[:] = [self._replies]  # one report at a time per library

    def mark(self) -> None:
        if self.device is not None:
            self._count = self.device.message_count
        self._replies.clear()

    def since_mark(self) -> list[str]:
        if self.device is None:
            return []
        new = self.device.message_count - self._count
        log = list(self.device.received)
        return [m for _, m in log[len(log) - new:]] if new > 0 else []

    def reply(self) -> str | None:
        """The last reply line read since the mark (None: nothing was read)."""
        text = b"".join(self._replies).decode(errors="replace")
        lines = [line for line in text.replace("\r", "\n").split("\n") if line]
        return lines[-1] if lines else None

    def reset_buffers(self) -> None:
        """After a failed read: empty the device's buffers, so a stale reply cannot make
        the next read fail too (each parameter is judged on its own)."""
        if self.device is not None:
            self.device.device_clear()


def _read_all(report: Report, readers: Iterable[tuple[str, Callable[[], Any]]], recorder: _Recorder) -> Report:
    for name, read in readers:
        report.total += 1
        report.names.append(name)
        recorder.mark()
        try:
            read()
        except Exception as exc:  # noqa: BLE001 - every failure is data
            sent = recorder.since_mark()
            report.failures.append(Failure(name, sent[-1] if sent else "", recorder.reply(),
                                           type(exc).__name__, _shorten(exc)))
            recorder.reset_buffers()
        else:
            report.read += 1
    return report


def _live_device(library, resource: str):
    try:
        return library.device(resource)
    except (AttributeError, KeyError):
        return None


# --------------------------------------------------------------------------- QCoDeS
_names = itertools.count()


def qcodes_parameters(instrument) -> list:
    """Every parameter of a QCoDeS instrument: its own, and those of every submodule,
    channel and channel list, recursively; each parameter once."""
    from qcodes.instrument import ChannelTuple

    seen_params: set[int] = set()
    seen_modules: set[int] = set()
    found: list = []

    def walk(node) -> None:
        if id(node) in seen_modules:
            return
        seen_modules.add(id(node))
        if isinstance(node, ChannelTuple):  # ChannelList too: walk its channels
            for channel in node:
                walk(channel)
            return
        for param in getattr(node, "parameters", {}).values():
            if id(param) not in seen_params:
                seen_params.add(id(param))
                found.append(param)
        for sub in getattr(node, "submodules", {}).values():
            walk(sub)

    walk(instrument)
    return found


def _socket_served(cls, library, resource: str):
    """A subclass of a QCoDeS ``IPInstrument`` driver, unchanged, and the port on loopback
    where the live device at ``resource`` is served (``sim.serve``) for it; closing the
    driver (or calling the returned ``stop``) stops the server."""
    import threading

    from sim.serve import LabServer

    server = LabServer({resource: (resource, library.device(resource))})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.stop()
        thread.join(timeout=5)

    class Served(cls):
        def close(self) -> None:
            try:
                super().close()
            finally:
                stop()

    Served.__name__ = Served.__qualname__ = cls.__name__
    return Served, server.instruments[0].port, stop


#: class attributes of QCoDeS drivers that are wall-clock waits, and the value used here
WALL_WAITS = {"_RETRY_TIME": 0.0}  # AMIModel430: 5 s sleep before it retries a failed ask


def _without_wall_waits(cls):
    """``cls``, or a subclass of it with the :data:`WALL_WAITS` it has set to zero (the
    driver still retries; it only does not sleep in wall time first)."""
    waits = {k: v for k, v in WALL_WAITS.items() if hasattr(cls, k)}
    if not waits:
        return cls
    return type(cls.__name__, (cls,), {"__qualname__": cls.__qualname__, "__module__": cls.__module__, **waits})


def construct_qcodes(cls, resource: str, library, **kwargs):
    """A QCoDeS driver on the live library, with its defaults and a short timeout."""
    from qcodes.instrument import IPInstrument

    name = f"{cls.__name__.lower()}_{next(_names)}"
    kwargs.setdefault("timeout", TIMEOUT_S)
    cls = _without_wall_waits(cls)
    if issubclass(cls, IPInstrument):  # a raw TCP socket: the live device served on loopback
        served, port, stop = _socket_served(cls, library, resource)
        try:
            return served(name, address="127.0.0.1", port=port, **kwargs)
        except Exception:
            stop()
            raise
    return cls(name, resource, visalib=library, **kwargs)


def _construct_error(exc: BaseException, recorder: _Recorder) -> str:
    sent = recorder.since_mark()
    return f"{type(exc).__name__}: {_shorten(exc)} (last command {sent[-1] if sent else '-'!r})"


def qcodes_driver_report(cls, resource: str, library, fallback: dict | None = None, **kwargs) -> Report:
    """Construct a QCoDeS driver, get every gettable parameter, report what read.

    If the driver cannot be built with its defaults, the report says why; with
    ``fallback`` (extra kwargs, e.g. ``{"device_clear": False}``) it is then built
    again with those, so its parameters are still measured."""
    from qcodes.instrument import Instrument

    report = Report(f"qcodes {cls.__name__}")
    recorder = _Recorder(_live_device(library, resource), library)
    try:
        instrument = construct_qcodes(cls, resource, library, **kwargs)
    except Exception as exc:  # noqa: BLE001
        report.construct_error = _construct_error(exc, recorder)
        Instrument.close_all()
        if fallback is None:
            return report
        recorder.reset_buffers()
        recorder.mark()
        try:
            instrument = construct_qcodes(cls, resource, library, **{**kwargs, **fallback})
        except Exception as exc2:  # noqa: BLE001
            report.construct_error += f"; with {fallback}: {_construct_error(exc2, recorder)}"
            Instrument.close_all()
            return report
        report.built_with = dict(fallback)
    try:
        params = [p for p in qcodes_parameters(instrument) if p.gettable]
        _read_all(report, ((p.full_name, p.get) for p in params), recorder)
    finally:
        instrument.close()
        Instrument.close_all()
    return report


# --------------------------------------------------------------------------- pymeasure
def _is_pymeasure_property(prop) -> bool:
    """An ``Instrument.control`` / ``measurement`` property that can be read."""
    fget = getattr(prop, "fget", None)
    if fget is None or ".control.<locals>.fget" not in getattr(fget, "__qualname__", ""):
        return False
    try:
        return inspect.signature(fget).parameters["get_command"].default is not None
    except (KeyError, TypeError, ValueError):
        return True


def pymeasure_properties(cls) -> list[str]:
    """Names of the readable control / measurement properties of a pymeasure class."""
    names: dict[str, None] = {}
    for klass in reversed(cls.__mro__):
        for name, member in vars(klass).items():
            if isinstance(member, property):
                if _is_pymeasure_property(member):
                    names[name] = None
                else:
                    names.pop(name, None)
    return sorted(names)


def pymeasure_children(obj, channels: Iterable[str] | None = None) -> list[tuple[str, Any]]:
    """(path, child) of every channel an instance got from its class's ``ChannelCreator``
    and ``MultiChannelCreator`` attributes, recursively. ``channels`` keeps only the
    top-level channel attributes named (e.g. the inputs a given model has)."""
    from pymeasure.instruments.common_base import CommonBase

    keep = None if channels is None else set(channels)
    found: list[tuple[str, Any]] = []

    def walk(node, prefix: str, top: bool) -> None:
        for attr, creator in CommonBase.get_channels(type(node)):
            if isinstance(creator, CommonBase.MultiChannelCreator):
                children = [(f"{creator.kwargs.get('prefix') or ''}{cid}", child)
                            for cid, child in getattr(node, attr, {}).items()]
            else:
                children = [(attr, getattr(node, attr))]
            for name, child in children:
                if top and keep is not None and name not in keep:
                    continue
                path = f"{prefix}.{name}" if prefix else name
                found.append((path, child))
                walk(child, path, False)

    walk(obj, "", True)
    return found


def construct_pymeasure(cls, resource: str, library, **kwargs):
    kwargs.setdefault("timeout", int(1000 * TIMEOUT_S))  # pyvisa: ms
    return cls(resource, visa_library=library, **kwargs)


def pymeasure_driver_report(cls, resource: str, library, channels: Iterable[str] | None = None,
                            **kwargs) -> Report:
    """Construct a pymeasure driver, read every control / measurement property of the
    instrument and of its channels, report what read."""
    report = Report(f"pymeasure {cls.__name__}")
    recorder = _Recorder(_live_device(library, resource), library)
    try:
        instrument = construct_pymeasure(cls, resource, library, **kwargs)
    except Exception as exc:  # noqa: BLE001
        report.construct_error = _construct_error(exc, recorder)
        return report
    readers: list[tuple[str, Callable[[], Any]]] = []
    for path, node in [("", instrument), *pymeasure_children(instrument, channels)]:
        for prop in pymeasure_properties(type(node)):
            full = f"{cls.__name__}.{path}.{prop}" if path else f"{cls.__name__}.{prop}"
            readers.append((full, lambda node=node, prop=prop: getattr(node, prop)))
    try:
        _read_all(report, readers, recorder)
    finally:
        instrument.adapter.close()
    return report


# --------------------------------------------------------------------------- the cases
@dataclasses.dataclass(frozen=True)
class Case:
    """One third-party driver and where it runs."""

    key: str  #: short id, used by the tests' minimum table
    framework: str  #: "qcodes" or "pymeasure"
    driver: str  #: "module:Class"
    station: str  #: key of STATIONS
    instrument: str  #: instrument name in that station
    kwargs: dict = dataclasses.field(default_factory=dict)
    fallback: dict | None = None  #: QCoDeS: kwargs to build with if the defaults fail

    def driver_class(self):
        module, _, name = self.driver.partition(":")
        return getattr(importlib.import_module(module), name)


#: the channels a plain Lake Shore 336 has (LakeShore3xx declares those of 340 / 350 too)
LS336_CHANNELS = ("input_A", "input_B", "input_C", "input_D", "output_1", "output_2")

CASES = (
    Case("qcodes-sr830", "qcodes", "qcodes.instrument_drivers.stanford_research:SR830", "vti", "lockin"),
    Case("qcodes-keithley2400", "qcodes", "qcodes.instrument_drivers.Keithley:Keithley2400", "vti", "smu"),
    Case("qcodes-lakeshore336", "qcodes", "qcodes.instrument_drivers.Lakeshore:LakeshoreModel336", "vti",
         "thermometry"),
    Case("qcodes-lakeshore372", "qcodes", "qcodes.instrument_drivers.Lakeshore:LakeshoreModel372", "dilution",
         "bridge"),
    Case("qcodes-ami430", "qcodes", "qcodes.instrument_drivers.american_magnetics:AMIModel430", "dilution",
         "magnet_z"),
    Case("qcodes-mercury_ips", "qcodes", "qcodes.instrument_drivers.oxford:OxfordMercuryiPS", "dilution",
         "magnet"),
    Case("qcodes-triton", "qcodes", "qcodes.instrument_drivers.oxford:OxfordTriton", "dilution", "fridge"),
    Case("pymeasure-sr830", "pymeasure", "pymeasure.instruments.srs:SR830", "vti", "lockin"),
    Case("pymeasure-keithley2400", "pymeasure", "pymeasure.instruments.keithley:Keithley2400", "vti", "smu"),
    Case("pymeasure-lakeshore336", "pymeasure", "pymeasure.instruments.lakeshore:LakeShore3xx", "vti",
         "thermometry", {"channels": LS336_CHANNELS}),
    Case("pymeasure-ami430", "pymeasure", "pymeasure.instruments.ami:AMI430", "dilution", "magnet_z"),
)


def run_case(case: Case, live: LiveLab | None = None) -> Report:
    """Run one case on ``live`` (a fresh lab of the case's station if None)."""
    live = live or build_live_lab(case.station)
    resource = live.resource(case.instrument)
    cls = case.driver_class()
    if case.framework == "qcodes":
        report = qcodes_driver_report(cls, resource, live.visalib, fallback=case.fallback, **case.kwargs)
    else:
        report = pymeasure_driver_report(cls, resource, live.visalib, **case.kwargs)
    report.driver = case.key
    return report
