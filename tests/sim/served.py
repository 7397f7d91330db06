"""Helpers for the tests of ``cryo-acq sim serve``: the server as a subprocess, and the
socket table it is judged by. Not a test module."""

from __future__ import annotations

import contextlib
import os
import pathlib
import signal
import subprocess
import sys

from cryo_acq.station.file import load

ROOT = pathlib.Path(__file__).parents[2]
START_TIMEOUT = 60.0  #: s for the server to print its map (imports on a slow machine)


def cryo_acq(*args: str) -> list[str]:
    return [sys.executable, "-m", "cryo_acq", *args]


@contextlib.contextmanager
def served(station: str, *options: str):
    """``cryo-acq sim serve STATION OPTIONS`` as a subprocess; yields (process, {name:
    served resource}) once it has printed its map; SIGTERM at the end."""
    proc = subprocess.Popen(cryo_acq("sim", "serve", station, *options), cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        resources = read_map(proc, len(load(station)[0].instruments))
        yield proc, resources
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def read_map(proc: subprocess.Popen, count: int) -> dict[str, str]:
    """The ``count`` instrument -> served resource lines the server prints on start."""
    import threading

    lines: list[str] = []

    def read() -> None:
        while len(lines) < count:
            line = proc.stdout.readline()
            if not line:
                return
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(START_TIMEOUT)
    if len(lines) < count:
        raise AssertionError(f"sim serve printed {lines} within {START_TIMEOUT:g} s (ended: {proc.poll()})")
    return {name: served for name, _station, served in (line.split() for line in lines)}


def listening_sockets(pid: int) -> list[tuple[str, int]]:
    """(address, port) of every TCP socket process ``pid`` listens on, from the kernel's
    socket table (``/proc/net/tcp`` and ``tcp6``); IPv6 addresses as hex."""
    inodes = set()
    for fd in pathlib.Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in pathlib.Path(table).read_text().splitlines()[1:]:
            fields = row.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:  # 0A: LISTEN
                address, port = local.split(":")
                found.append((_address(address), int(port, 16)))
    return found


def _address(hex_address: str) -> str:
    if len(hex_address) == 8:  # IPv4, little-endian
        return ".".join(str(b) for b in reversed(bytes.fromhex(hex_address)))
    return hex_address


def port_of(resource: str) -> int:
    return int(resource.split("::")[2])
