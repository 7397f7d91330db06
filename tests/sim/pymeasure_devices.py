"""Shared by the device-file tests against pymeasure's drivers: the files, their
addresses, plain pyvisa-sim libraries (the fixtures that build each driver are in
conftest.py; test_device_files_pymeasure.py says why each test forgets the cached library)."""

from __future__ import annotations

import pathlib

import yaml
from pyvisa.highlevel import VisaLibraryBase

from sim.binding import device_file

TIMEOUT_MS = 200

SR830_FILE = device_file("sr830")
K2400_FILE = device_file("keithley2400")
LS336_FILE = device_file("lakeshore336")
AMI430_FILE = device_file("ami430")

DEFAULT_ADDRESS = {
    "sr830": "GPIB0::8::INSTR",
    "keithley2400": "GPIB0::24::INSTR",
    "lakeshore336": "GPIB0::2::INSTR",
    "ami430": "TCPIP0::localhost::7180::SOCKET",
}
INTERFACES = ("GPIB INSTR", "TCPIP INSTR", "TCPIP SOCKET", "ASRL INSTR", "USB INSTR")
GRAMMAR = {"sr830": "sr830", "keithley2400": "scpi", "lakeshore336": "lakeshore", "ami430": "scpi"}


# --------------------------------------------------------------------------- helpers
def _forget_library(path: pathlib.Path) -> None:
    """Drop pyvisa's cached library for ``path`` so the next one loads fresh devices."""
    for key in list(VisaLibraryBase._registry.keys()):
        if str(key[1]) == str(path):
            VisaLibraryBase._registry.pop(key, None)


def _lib(path: pathlib.Path) -> str:
    return f"{path}@sim"


def _load(path: pathlib.Path) -> dict:
    with open(path, encoding="utf-8") as fp:
        return yaml.load(fp, Loader=yaml.BaseLoader)  # the loader pyvisa-sim uses


def _device_dict(path: pathlib.Path) -> dict:
    (device,) = _load(path)["devices"].values()
    return device


def _esr(inst) -> int:
    return int(inst.ask("*ESR?"))


def _live_props(device: dict):
    """(component, property name, property dict) for every property carrying ``live:``."""
    for name, prop in device.get("properties", {}).items():
        if "live" in prop:
            yield "device", name, prop
    for ch_name, ch in device.get("channels", {}).items():
        for name, prop in ch.get("properties", {}).items():
            if "live" in prop:
                yield ch_name, name, prop


def _close(inst) -> None:
    try:
        inst.adapter.close()
    except Exception:  # pragma: no cover - best effort
        pass
