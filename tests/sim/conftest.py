"""Fixtures of the device-file tests: each pymeasure driver built on plain pyvisa-sim
from its YAML defaults (see test_device_files_pymeasure.py)."""

from __future__ import annotations

import pytest
import pyvisa
from pyvisa import rname
from pymeasure.instruments.ami.ami430 import AMI430
from pymeasure.instruments.keithley.keithley2400 import Keithley2400
from pymeasure.instruments.lakeshore.lakeshore3xx import LakeShore3xx
from pymeasure.instruments.srs.sr830 import SR830

from pymeasure_devices import (AMI430_FILE, DEFAULT_ADDRESS, K2400_FILE, LS336_FILE, SR830_FILE, TIMEOUT_MS, _close,
                               _device_dict, _forget_library, _lib)


# --------------------------------------------------------------------------- fixtures
@pytest.fixture
def lockin():
    _forget_library(SR830_FILE)
    inst = SR830(DEFAULT_ADDRESS["sr830"], visa_library=_lib(SR830_FILE), timeout=TIMEOUT_MS,
                 write_termination="\n", read_termination="\n")
    yield inst
    _close(inst)


@pytest.fixture
def smu():
    _forget_library(K2400_FILE)
    inst = Keithley2400(DEFAULT_ADDRESS["keithley2400"], visa_library=_lib(K2400_FILE),
                        timeout=TIMEOUT_MS, write_termination="\n", read_termination="\n")
    yield inst
    _close(inst)


@pytest.fixture
def tc():
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


@pytest.fixture
def magnet():
    rm = _queue_ami_banner()  # keeps the library (and its devices) alive for the driver
    inst = AMI430(DEFAULT_ADDRESS["ami430"], visa_library=_lib(AMI430_FILE), timeout=TIMEOUT_MS)
    yield inst
    _close(inst)
    rm.close()


# =========================================================================== all files
