"""Shared by the device-file tests against pymeasure's drivers: the files, their
addresses, plain pyvisa-sim libraries, and the fixtures that build each driver from its
YAML defaults (a test module imports those it uses: ``from pymeasure_devices import
lockin_fixture``). test_device_files_pymeasure.py says why each test forgets the cached
library."""

from __future__ import annotations

import pathlib

import pytest
import pyvisa
import yaml
from pymeasure.instruments.ami.ami430 import AMI430
from pymeasure.instruments.keithley.keithley2400 import Keithley2400
from pymeasure.instruments.lakeshore.lakeshore3xx import LakeShore3xx
from pymeasure.instruments.srs.sr830 import SR830
from pyvisa import rname
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


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(name="lockin")
def lockin_fixture():
    _forget_library(SR830_FILE)
    inst = SR830(DEFAULT_ADDRESS["sr830"], visa_library=_lib(SR830_FILE), timeout=TIMEOUT_MS,
                 write_termination="\n", read_termination="\n")
    yield inst
    _close(inst)


@pytest.fixture(name="smu")
def smu_fixture():
    _forget_library(K2400_FILE)
    inst = Keithley2400(DEFAULT_ADDRESS["keithley2400"], visa_library=_lib(K2400_FILE),
                        timeout=TIMEOUT_MS, write_termination="\n", read_termination="\n")
    yield inst
    _close(inst)


@pytest.fixture(name="tc")
def tc_fixture():
    _forget_library(LS336_FILE)
    # pymeasure's own defaults: read_termination CR LF, pyvisa default write termination CR LF
    inst = LakeShore3xx(DEFAULT_ADDRESS["lakeshore336"], visa_library=_lib(LS336_FILE),
                        timeout=TIMEOUT_MS)
    yield inst
    _close(inst)


def _queue_ami_banner() -> pyvisa.ResourceManager:
    """Open the ami430.yaml library and queue its banner lines on the simulated device."""
    _forget_library(AMI430_FILE)
    rm = pyvisa.ResourceManager(_lib(AMI430_FILE))
    device = rm.visalib.devices[rname.to_canonical_name(DEFAULT_ADDRESS["ami430"])]
    reply_eom = _device_dict(AMI430_FILE)["eom"]["TCPIP SOCKET"]["r"].encode()
    for line in _device_dict(AMI430_FILE)["banner"]:
        device._output_buffers.append(bytearray(line.encode() + reply_eom))
    return rm


@pytest.fixture(name="magnet")
def magnet_fixture():
    rm = _queue_ami_banner()  # keeps the library (and its devices) alive for the driver
    inst = AMI430(DEFAULT_ADDRESS["ami430"], visa_library=_lib(AMI430_FILE), timeout=TIMEOUT_MS)
    yield inst
    _close(inst)
    rm.close()


# =========================================================================== all files
