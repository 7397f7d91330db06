"""The table of instruments cryo_acq knows: one row per driver name in a station file.

Each row names the pymeasure driver (the same for real and simulated hardware),
the role adapter procedures talk to, and the simulated model bound to the
driver's pyvisa-sim device file. Adding an instrument is adding a row here
(see ``docs/adding-an-instrument.md``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

ROLES = ("lockin", "current_source", "magnet", "temperature")


def _import(path: str):
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def _no_axes(options: dict) -> list[str]:
    return []


_SAMPLE_AXES = ("x", "y", "z")


def _axes_map(options: dict) -> list[str]:
    """Mercury iPS: ``axes: {x: GRPX, z: GRPZ}`` maps the sample frame to supply groups."""
    return list(options.get("axes", {"z": "GRPZ"}))


def _check_axes_map(options: dict) -> list[str]:
    problems = []
    axes = options.get("axes", {"z": "GRPZ"})
    if not isinstance(axes, dict):
        return ["axes must map sample axes to supply groups, e.g. {x: GRPZ}"]
    for axis, group in axes.items():
        if axis not in _SAMPLE_AXES:
            problems.append(f"axes: {axis!r} is not a sample axis (x, y, z)")
        if group not in ("GRPX", "GRPY", "GRPZ"):
            problems.append(f"axes.{axis}: {group!r} is not a Mercury iPS group (GRPX, GRPY, GRPZ)")
    if len(set(axes.values())) != len(axes):
        problems.append("axes: one supply group cannot drive two sample axes")
    return problems


def _one_axis(options: dict) -> list[str]:
    """One single-axis supply per instrument: ``axis: z``."""
    return [options.get("axis", "z")]


def _check_one_axis(options: dict) -> list[str]:
    axis = options.get("axis", "z")
    return [] if axis in _SAMPLE_AXES else [f"axis: {axis!r} is not a sample axis (x, y, z)"]


def _no_checks(options: dict) -> list[str]:
    return []


@dataclass(frozen=True)
class DriverSpec:
    role: str
    driver: str  #: "module:Class" of the pymeasure-style driver
    adapter: str  #: "module:Class" of the role adapter
    sim_device: str  #: stem of the pyvisa-sim device file in sim/devices/
    sim_model: str  #: "module:Class" of the live model in sim/
    description: str
    axes: Callable[[dict], list[str]] = field(default=_no_axes)
    check_options: Callable[[dict], list[str]] = field(default=_no_checks)  #: problems with ``options``

    def driver_class(self):
        return _import(self.driver)

    def adapter_class(self):
        return _import(self.adapter)

    def sim_model_class(self):
        return _import(self.sim_model)


DRIVERS: dict[str, DriverSpec] = {
    "sr830": DriverSpec(
        "lockin", "pymeasure.instruments.srs.sr830:SR830", "instruments.roles.lockin:SR830LockIn",
        "sr830", "sim.models.sr830:SR830Model", "Stanford Research SR830 lock-in"),
    "keithley2400": DriverSpec(
        "current_source", "pymeasure.instruments.keithley.keithley2400:Keithley2400",
        "instruments.roles.current_source:Keithley2400Source",
        "keithley2400", "sim.models.keithley2400:Keithley2400Model", "Keithley 2400 SourceMeter"),
    "mercury_ips": DriverSpec(
        "magnet", "instruments.oxford.mercury_ips:MercuryIPS", "instruments.roles.magnet:MercuryIPSMagnet",
        "mercury_ips", "sim.models.mercury_ips:MercuryIPSModel",
        "Oxford Mercury iPS magnet supply (1-3 axes)", _axes_map, _check_axes_map),
    "ami430": DriverSpec(
        "magnet", "pymeasure.instruments.ami.ami430:AMI430", "instruments.roles.magnet:AMI430Magnet",
        "ami430", "sim.models.ami430:AMI430Model", "American Magnetics 430 (one axis)", _one_axis,
        _check_one_axis),
    "lakeshore336": DriverSpec(
        "temperature", "pymeasure.instruments.lakeshore.lakeshore3xx:LakeShore3xx",
        "instruments.roles.temperature:LakeShore336Control",
        "lakeshore336", "sim.models.lakeshore336:LakeShore336Model", "Lake Shore 336 (VTI controller)"),
    "lakeshore372": DriverSpec(
        "temperature", "instruments.lakeshore.lakeshore372:LakeShore372",
        "instruments.roles.temperature:LakeShore372Control",
        "lakeshore372", "sim.models.lakeshore372:LakeShore372Model", "Lake Shore 372 resistance bridge"),
    "triton": DriverSpec(
        "temperature", "instruments.oxford.triton:OxfordTriton", "instruments.roles.temperature:TritonControl",
        "triton", "sim.models.triton:TritonModel", "Oxford Triton dilution-fridge controller"),
}


def spec(name: str) -> DriverSpec:
    try:
        return DRIVERS[name]
    except KeyError:
        raise KeyError(f"unknown driver {name!r}; known: {', '.join(sorted(DRIVERS))}") from None


def describe(name: str) -> dict[str, Any]:
    s = spec(name)
    return {"role": s.role, "driver": s.driver, "description": s.description}
