"""The simulated lab on loopback sockets: one live lab, each instrument on its own TCP port.

Real instruments reach a lab's network through GPIB-Ethernet gateways and raw sockets
(the Mercury iPS and the Triton on their own ports, the AMI 430 on 7180); pyvisa
addresses them as ``TCPIP0::host::port::SOCKET``. :class:`LabServer` builds a station's
simulated lab once and serves every instrument that way, so any process -- a QCoDeS
notebook, a pymeasure script, a plain pyvisa script, a second cryo_acq -- rehearses on
the one lab: a field set through one socket moves the sample another socket's lock-in
reads.

* Each instrument speaks its own device file with its own terminations (a GPIB
  instrument as a gateway in raw socket mode exposes it: a message ends at LF, a CR
  before it is ignored; replies end as the instrument ends them). An instrument with a
  greeting (AMI 430) sends it on every connection.
* One thread serves every socket, so each message is answered whole against the one
  lab state, in the order the messages arrive; a client never sees half of another's.
* A client that disconnects mid-line leaves nothing behind (its unfinished line is
  dropped with it). Bytes no instrument could take as a message (control or non-ASCII
  bytes, a line past 64 KiB) close that connection before the instrument sees them.
  A printable unknown command reaches the instrument, which treats it as on the bench
  (its error state is the instrument's, shared by every client, as a real one is).
* Time is the wall clock times ``time_scale``; the lab adds no I/O latency of its own
  (the network is the latency).
* It binds to 127.0.0.1 unless a host is named.
"""

from __future__ import annotations

import errno
import logging
import selectors
import socket
import threading
from dataclasses import dataclass, field

from cryo_acq.station.clock import VirtualClock
from cryo_acq.station.file import StationConfig

from .build import build_lab, wire

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
MAX_LINE = 64 * 1024  #: bytes; a longer line is not a message
_ALLOWED = frozenset(range(0x20, 0x7F)) | {0x09, 0x0D}  # printable ASCII, tab, CR


class ServeError(RuntimeError):
    """The lab cannot be served as asked (the message says why, in one line)."""


@dataclass
class ServedInstrument:
    """One instrument of the lab on one listening socket."""

    name: str
    station_resource: str  #: the address the station file gives it
    device: object  #: the live pyvisa-sim device (sim.binding.LiveDevice)
    listener: socket.socket
    host: str
    port: int

    @property
    def resource(self) -> str:
        """The VISA resource a client opens to reach it."""
        return f"TCPIP0::{self.host}::{self.port}::SOCKET"

    @property
    def read_termination(self) -> str:
        return self.device._response_eom.decode()

    @property
    def write_termination(self) -> str:
        return self.device._query_eom.decode()


@dataclass
class _Connection:
    instrument: ServedInstrument
    sock: socket.socket
    pending: bytearray = field(default_factory=bytearray)  #: the unfinished line
    outgoing: bytearray = field(default_factory=bytearray)  #: replies not yet sent


class LabServer:
    """Live simulated instruments served on TCP ports (see the module's docstring).

    ``devices`` maps instrument names to (station resource, live device). Build one with
    :func:`serve_station` (a station file's lab), then call :meth:`serve_forever` (in any
    thread) and :meth:`stop` (from any thread or a signal handler) to close every socket.
    """

    def __init__(self, devices: dict[str, tuple[str, object]], host: str = LOOPBACK,
                 port_base: int | None = None):
        self.host = host
        self.instruments: list[ServedInstrument] = []
        self.lab = None  #: the lab behind the devices (set by serve_station)
        try:
            for i, (name, (resource, device)) in enumerate(devices.items()):
                port = 0 if port_base is None else port_base + i
                listener = _listen(host, port, name)
                self.instruments.append(ServedInstrument(name, resource, device, listener, host,
                                                         listener.getsockname()[1]))
        except Exception:
            self.close()
            raise
        self._selector = selectors.DefaultSelector()
        self._wake_read, self._wake_write = socket.socketpair()
        self._stopping = threading.Event()
        self.stopped = threading.Event()

    # --- serving
    def serve_forever(self) -> None:
        """Serve every socket until :meth:`stop`; then close them all."""
        sel = self._selector
        try:
            for inst in self.instruments:
                inst.listener.setblocking(False)
                sel.register(inst.listener, selectors.EVENT_READ, inst)
            sel.register(self._wake_read, selectors.EVENT_READ, None)
            while not self._stopping.is_set():
                for key, events in sel.select():
                    if key.data is None:
                        self._stopping.set()
                    elif isinstance(key.data, ServedInstrument):
                        self._accept(key.data)
                    else:
                        self._serve(key.data, events)
        finally:
            self.close()
            self.stopped.set()

    def stop(self) -> None:
        """Ask :meth:`serve_forever` to close every socket and return (safe from a signal
        handler and from any thread)."""
        self._stopping.set()
        try:
            self._wake_write.send(b"\0")
        except OSError:
            pass

    def close(self) -> None:
        sel = getattr(self, "_selector", None)
        if sel is not None:
            for key in list(sel.get_map().values()):
                if isinstance(key.data, _Connection):
                    key.fileobj.close()
            sel.close()
        for inst in self.instruments:
            inst.listener.close()
        for end in ("_wake_read", "_wake_write"):
            sock = getattr(self, end, None)
            if sock is not None:
                sock.close()

    def _accept(self, inst: ServedInstrument) -> None:
        try:
            sock, _ = inst.listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = _Connection(inst, sock)
        for line in inst.device.banner:  # the greeting, on every connection
            conn.outgoing += line + inst.device._response_eom
        self._selector.register(sock, selectors.EVENT_READ | (selectors.EVENT_WRITE if conn.outgoing else 0), conn)

    def _serve(self, conn: _Connection, events: int) -> None:
        if events & selectors.EVENT_READ:
            try:
                data = conn.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                data = None
            except OSError:
                data = b""
            if data == b"":  # gone: an unfinished line goes with it
                self._drop(conn)
                return
            if data and not self._received(conn, data):
                self._drop(conn)
                return
        if conn.outgoing:
            try:
                sent = conn.sock.send(conn.outgoing)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                self._drop(conn)
                return
            del conn.outgoing[:sent]
        wanted = selectors.EVENT_READ | (selectors.EVENT_WRITE if conn.outgoing else 0)
        if self._selector.get_key(conn.sock).events != wanted:
            self._selector.modify(conn.sock, wanted, conn)

    def _received(self, conn: _Connection, data: bytes) -> bool:
        """Take ``data`` in; answer every whole line. False: not a VISA client's bytes."""
        conn.pending += data
        device = conn.instrument.device
        while True:
            end = conn.pending.find(b"\n")
            if end < 0:
                return len(conn.pending) <= MAX_LINE
            line = bytes(conn.pending[:end]).rstrip(b"\r")
            del conn.pending[:end + 1]
            if len(line) > MAX_LINE or not _ALLOWED.issuperset(line):
                return False
            try:
                device.write(line + device._query_eom)
            except Exception:  # noqa: BLE001 - a model's fault must not take the lab down
                log.exception("%s: answering %r failed", conn.instrument.name, line)
            while device._output_buffers:
                conn.outgoing += device._output_buffers.popleft()

    def _drop(self, conn: _Connection) -> None:
        self._selector.unregister(conn.sock)
        conn.sock.close()

    # --- what clients need to know
    def resources(self) -> dict[str, dict[str, str]]:
        """Instrument name -> its station resource, served resource and terminations."""
        return {inst.name: {"station": inst.station_resource, "served": inst.resource,
                            "read_termination": inst.read_termination,
                            "write_termination": inst.write_termination}
                for inst in self.instruments}


def serve_station(config: StationConfig, time_scale: float = 1.0, host: str = LOOPBACK,
                  port_base: int | None = None, use: tuple[str, ...] = ()) -> LabServer:
    """Build ``config``'s simulated lab once, on the wall clock times ``time_scale``, and
    serve each of its instruments on its own port. ``use``: configurations to wire the
    sample as (the served lab has no ``station.use``: this is moving the cables); by
    default each lock-in and source is on the first configuration that names it."""
    for configuration in use:
        if configuration not in config.wiring.configurations:
            known = ", ".join(config.wiring.configurations) or "none"
            raise ServeError(f"--use {configuration}: no such configuration in the station's wiring "
                             f"(wired: {known})")
    # the network is the latency: the lab adds none of its own
    config = config.model_copy(update={"sim": config.sim.model_copy(update={"io_latency": 0.0})})
    lab, library = build_lab(config, VirtualClock(time_scale=time_scale))
    for configuration in use:
        wire(lab, config, configuration)
    server = LabServer({name: (entry.resource, library.device(entry.resource))
                        for name, entry in config.instruments.items()}, host, port_base)
    server.lab = lab
    return server


def _listen(host: str, port: int, name: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # a port is free again as soon as the server stops, even with connections in TIME_WAIT
    # (a port some other socket listens on is still refused)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(16)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ServeError(f"{name}: port {port} on {host} is in use") from None
        raise ServeError(f"{name}: cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock
