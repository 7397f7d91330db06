"""The station file: schema, loading and errors a physicist can act on.

A station file (YAML) declares the instruments by role, the wiring to the
sample, the safety limits, the safe state and the simulation settings. It is
validated in full before any instrument is touched; every error names the file,
the line, the key and what is allowed. The schema is documented in
``docs/station-file.md``; the shipped examples are in ``cryo_acq/station/shipped/``.

All quantities are SI: tesla, tesla per second, kelvin, ampere, volt, ohm, second.
"""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sim.conbse2.parameters import DeviceParameters
from sim.conbse2.presets import PRESETS
from sim.faults import Fault
from sim.sample import CONFIGURATIONS

from cryo_acq.station.drivers import DRIVERS
from cryo_acq.station.yaml_reader import read_text, read_yaml, validation_problems
from cryo_acq.station.yaml_reader import where as _where

AXES = ("x", "y", "z")


class StationFileError(ValueError):
    """A station file that cannot be used, with every problem found."""

    def __init__(self, path: str, problems: list[str]):
        self.path = path
        self.problems = problems
        super().__init__(_problems_text(f"station file {path}", problems))


def _problems_text(what: str, problems: list[str]) -> str:
    """One line for one problem; a list for several."""
    if len(problems) == 1:
        return f"{what}: {problems[0]}"
    lines = "\n".join(f"  - {p}" for p in problems)
    return f"{what}: {len(problems)} problems\n{lines}"


def _known_configuration(name: str) -> str:
    if name not in CONFIGURATIONS:
        raise ValueError(f"unknown configuration {name!r}; allowed: {', '.join(CONFIGURATIONS)}")
    return name


#: a sample configuration name (four_probe, mtj, nonlocal, co_amr)
Configuration = Annotated[str, AfterValidator(_known_configuration)]


class _Strict(BaseModel):  # every number finite: a limit of .inf is no limit
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# --------------------------------------------------------------------------- sections
class InstrumentEntry(_Strict):
    driver: str = Field(description="driver name, one of the known drivers")
    resource: str = Field(description="VISA resource name, e.g. GPIB0::8::INSTR")
    role: str | None = Field(None, description="role; defaults to the driver's role")
    options: dict[str, Any] = Field(default_factory=dict)
    read_termination: str | None = Field(
        None, description="what ends a reply, for a socket or gateway address (e.g. \"\\n\"); default: the driver's")
    write_termination: str | None = Field(
        None, description="what the driver ends each message with; default: the driver's")

    @field_validator("driver")
    @classmethod
    def _known_driver(cls, v: str) -> str:
        if v not in DRIVERS:
            raise ValueError(f"unknown driver {v!r}; known drivers: {', '.join(sorted(DRIVERS))}")
        return v

    @model_validator(mode="after")
    def _role_fits(self):
        spec = DRIVERS[self.driver]
        if self.role is not None and self.role != spec.role:
            raise ValueError(f"driver {self.driver!r} serves role {spec.role!r}, not {self.role!r}")
        return self

    @property
    def role_name(self) -> str:
        return self.role or DRIVERS[self.driver].role


class LockInWiring(_Strict):
    series_resistor: float = Field(gt=0, description="ohm between sine out and sample")
    preamp_gain: float = Field(1.0, gt=0, description="voltage gain in front of the input")


class ConfigurationWiring(_Strict):
    lockin: str
    source: str | None = None
    channels: dict[str, float] = Field(default_factory=dict, description="non-local channel name -> length (m)")

    @field_validator("channels")
    @classmethod
    def _positive_lengths(cls, v: dict[str, float]) -> dict[str, float]:
        for name, length in v.items():
            if not 0 < length < 1e-3:
                raise ValueError(f"channel {name!r}: length must be in metres (0 < L < 1e-3), got {length}")
        return v


class Wiring(_Strict):
    lockins: dict[str, LockInWiring] = Field(default_factory=dict)
    configurations: dict[Configuration, ConfigurationWiring] = Field(default_factory=dict)


class AxisLimit(_Strict):
    max: float = Field(gt=0, description="largest |B| on this axis, T")
    rate: float = Field(gt=0, description="largest ramp rate, T/s")


class FieldLimits(_Strict):
    x: AxisLimit | None = None
    y: AxisLimit | None = None
    z: AxisLimit | None = None
    norm: float | None = Field(None, gt=0, description="largest |B| of the vector, T")

    def axes(self) -> dict[str, AxisLimit]:
        return {a: getattr(self, a) for a in AXES if getattr(self, a) is not None}


class TemperatureLimits(_Strict):
    min: float = Field(ge=0, description="K")
    max: float = Field(gt=0, description="K")

    @model_validator(mode="after")
    def _ordered(self):
        if self.min >= self.max:
            raise ValueError(f"min ({self.min} K) must be below max ({self.max} K)")
        return self


class ConfigurationLimits(_Strict):
    max_current: float = Field(gt=0, description="largest |I| through the sample, A (DC + AC peak)")
    max_voltage: float = Field(gt=0, description="largest |V| across the sample or junction, V")


class Limits(_Strict):
    field: FieldLimits = Field(default_factory=FieldLimits)
    temperature: TemperatureLimits
    configurations: dict[Configuration, ConfigurationLimits] = Field(default_factory=dict)
    smu_compliance: float = Field(gt=0, description="largest SMU compliance voltage, V")
    max_points: int = Field(10_000_000, ge=1, le=10_000_000, description="most points one run may plan")


class SafeState(_Strict):
    magnet: Literal["hold", "zero"] = "hold"
    heater: Literal["keep", "off"] = "keep"


class FaultEntry(_Strict):
    instrument: str
    kind: Literal["timeout", "garbled", "stop_answering"]
    probability: float = Field(1.0, ge=0, le=1)
    start: float = Field(0.0, ge=0, description="station time, s")
    duration: float | None = Field(None, gt=0, description="s; absent = forever")

    def fault(self) -> Fault:
        return Fault(self.kind, self.probability, self.start, self.duration)


class ExcursionEntry(_Strict):
    start: float = Field(ge=0, description="station time, s")
    duration: float = Field(gt=0, description="s")
    size: float = Field(description="K at the peak of the bump")


class GuardOptions(_Strict):
    settle: float | None = Field(None, ge=0, description="s clear before measuring again")
    timeout: float | None = Field(None, gt=0, description="s to wait before aborting")
    poll: float | None = Field(None, gt=0, description="s between checks while paused")


class TemperatureGuard(GuardOptions):
    tolerance: float = Field(0.05, gt=0, description="K from the set-point")


class LockInGuard(GuardOptions):
    action: Literal["autorange", "none"] = "autorange"


class DiskGuard(GuardOptions):
    min_free: float = Field(50 * 1024**2, ge=0, description="bytes kept free on the run folder's disk")


class Guards(_Strict):
    temperature: TemperatureGuard | None = None
    disk: DiskGuard | None = None
    lockin_overload: LockInGuard | None = None
    compliance: GuardOptions | None = None
    magnet: GuardOptions | None = None

    def enabled(self) -> dict[str, dict]:
        """Guard name -> its options (unset options left to the guard's defaults)."""
        return {name: {k: v for k, v in getattr(self, name).model_dump().items() if v is not None}
                for name in type(self).model_fields if getattr(self, name) is not None}


class SimSection(_Strict):
    device: str = Field("resistive", description="sample preset: resistive, A01, A02, B, C, D, E")
    sample_parameters: dict[str, Any] = Field(default_factory=dict,
                                              description="override device parameters (sim/conbse2/parameters.py)")
    seed: int = 0
    time_scale: float | None = Field(None, gt=0, description="lab seconds per wall second; absent = virtual")
    io_latency: float = Field(0.002, ge=0, description="station seconds per VISA message")
    faults: list[FaultEntry] = Field(default_factory=list)
    excursions: list[ExcursionEntry] = Field(default_factory=list, description="temperature excursions")

    @model_validator(mode="after")
    def _known_sample(self):
        devices = ("resistive", *PRESETS)
        if self.device not in devices:
            raise ValueError(f"device {self.device!r} is not a sample preset; allowed: {', '.join(devices)}")
        if self.device != "resistive":
            fields = {f.name: f for f in dataclasses.fields(DeviceParameters) if f.name not in ("name", "channels")}
            unknown = sorted(set(self.sample_parameters) - set(fields))
            if unknown:
                raise ValueError(f"sample_parameters: unknown or fixed parameter(s) {', '.join(unknown)} "
                                 "(see sim/conbse2/parameters.py)")
            for name, value in self.sample_parameters.items():
                kind = {"float": float, "int": int, "bool": bool}.get(str(fields[name].type))
                if kind is float and not isinstance(value, (int, float)):
                    try:  # YAML reads 30e-3 (no dot) as text
                        self.sample_parameters[name] = float(value)
                    except (TypeError, ValueError):
                        raise ValueError(f"sample_parameters.{name}: {value!r} is not a number") from None
                elif kind in (int, bool) and not isinstance(value, kind):
                    raise ValueError(f"sample_parameters.{name}: {value!r} is not {kind.__name__}")
        return self


class RetriesSection(_Strict):
    """How hard one query or write is tried before its instrument counts as silent."""

    attempts: int = Field(8, ge=1, le=100, description="tries of one exchange")
    backoff: float = Field(0.05, ge=0, le=60, description="s before the second try, doubling")
    backoff_max: float = Field(0.5, ge=0, le=600, description="s, longest back-off")

    def policy(self):
        from instruments.reliable import RetryPolicy

        return RetryPolicy(self.attempts, self.backoff, self.backoff_max)


class RunFilesSection(_Strict):
    """How run files are written."""

    flush_interval: float = Field(0.25, ge=0, le=60,
                                  description="s of wall time a measured row may wait in memory before it is "
                                              "written (0: every row as it comes)")


class ServedLabSection(_Strict):
    """This station is a simulated lab served on sockets (``cryo-acq sim serve`` writes it):
    the station's clock runs at the served lab's pace, so a rehearsal's waits shrink with it."""

    time_scale: float = Field(gt=0, description="lab seconds per wall second, as the lab is served")


class StationConfig(_Strict):
    name: str
    description: str = ""
    instruments: dict[str, InstrumentEntry]
    wiring: Wiring = Field(default_factory=Wiring)
    limits: Limits
    safe_state: SafeState = Field(default_factory=SafeState)
    guards: Guards = Field(default_factory=Guards)
    retries: RetriesSection = Field(default_factory=RetriesSection)
    run_files: RunFilesSection = Field(default_factory=RunFilesSection)
    sim: SimSection = Field(default_factory=SimSection)
    served_lab: ServedLabSection | None = Field(
        None, description="set by cryo-acq sim serve: a served simulated lab, not real instruments")



def _cross_references(config: StationConfig) -> list[tuple[tuple, str]]:
    """Problems between sections, each with the key path it belongs to."""
    problems: list[tuple[tuple, str]] = []
    roles = {name: entry.role_name for name, entry in config.instruments.items()}

    def need(name: str, role: str, loc: tuple):
        if name not in roles:
            problems.append((loc, f"no instrument named {name!r} (instruments: {', '.join(roles)})"))
        elif roles[name] != role:
            problems.append((loc, f"{name!r} is a {roles[name]}, a {role} is needed"))

    for name in config.wiring.lockins:
        need(name, "lockin", ("wiring", "lockins", name))
    for conf, w in config.wiring.configurations.items():
        need(w.lockin, "lockin", ("wiring", "configurations", conf, "lockin"))
        if roles.get(w.lockin) == "lockin" and w.lockin not in config.wiring.lockins:
            problems.append((("wiring", "configurations", conf, "lockin"),
                             f"{w.lockin!r} has no entry under wiring.lockins (series_resistor is needed "
                             "to know the excitation current)"))
        if w.source is not None:
            need(w.source, "current_source", ("wiring", "configurations", conf, "source"))
        if conf not in config.limits.configurations:
            problems.append((("wiring", "configurations", conf),
                             f"no limits.configurations.{conf} (max_current and max_voltage are required "
                             "for every wired configuration)"))
    driven: dict[str, str] = {}
    for name, entry in config.instruments.items():
        if entry.role_name != "magnet":
            continue
        spec = DRIVERS[entry.driver]
        for problem in spec.check_options(entry.options):
            problems.append((("instruments", name, "options"), problem))
        for axis in spec.axes(entry.options):
            if axis in driven:
                problems.append((("instruments", name, "options"),
                                 f"axis {axis!r} is already driven by {driven[axis]!r}: one supply per axis"))
            driven[axis] = name
    limited = set(config.limits.field.axes())
    for axis in sorted(set(driven) - limited):
        problems.append((("limits", "field"), f"magnet axis {axis!r} is driven (by {driven[axis]!r}) but "
                                              f"has no limit: add limits.field.{axis} with max and rate"))
    for axis in sorted(limited - set(driven)):
        problems.append((("limits", "field", axis), f"limit for axis {axis!r}, but no magnet drives it"))
    if config.served_lab is not None:  # a sped-up clock never reaches real instruments
        for name, entry in config.instruments.items():
            if not _is_socket(entry.resource):
                problems.append((("instruments", name, "resource"),
                                 f"served_lab is set, so every instrument must be at a served socket "
                                 f"(TCPIP0::host::port::SOCKET), not {entry.resource!r}"))
    for i, fault in enumerate(config.sim.faults):
        if fault.instrument not in roles:
            problems.append((("sim", "faults", i, "instrument"), f"no instrument named {fault.instrument!r}"))
    return problems


def _is_socket(resource: str) -> bool:
    parts = resource.upper().split("::")
    return parts[0].startswith("TCPIP") and parts[-1] == "SOCKET"


# --------------------------------------------------------------------------- loading
#: where each kind of shipped example lives
_SHIPPED = {"stations": pathlib.Path(__file__).parent / "shipped",
            "sequences": pathlib.Path(__file__).parents[1] / "campaign" / "shipped",
            "reports": pathlib.Path(__file__).parents[1] / "report" / "shipped"}


def shipped_files(kind: str) -> dict[str, pathlib.Path]:
    """Example files shipped with cryo_acq (``stations``: ``cryo_acq/station/shipped/``,
    ``sequences``: ``cryo_acq/campaign/shipped/``, ``reports``: ``cryo_acq/report/shipped/``), by name."""
    folder = _SHIPPED[kind]
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def resolve_named(ref: str | pathlib.Path, kind: str, what: str, error=None) -> pathlib.Path:
    """A file from a path, or the name of a shipped ``kind`` (stations, sequences)."""
    error = error or StationFileError
    path = pathlib.Path(ref)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.exists():
            raise error(str(path), ["file not found"])
        return path
    shipped = shipped_files(kind)
    if str(ref) in shipped:
        return shipped[str(ref)]
    raise error(str(ref), [f"no such file, and no shipped {what} of that name "
                           f"(shipped: {', '.join(sorted(shipped)) or 'none'})"])


def shipped_stations() -> dict[str, pathlib.Path]:
    """Example stations shipped with cryo_acq, by name."""
    return shipped_files("stations")


def resolve(station: str | pathlib.Path) -> pathlib.Path:
    """A station file path from a path or the name of a shipped station."""
    return resolve_named(station, "stations", "station")


def parse(text: str, path: str = "<station>") -> StationConfig:
    """Validate station-file text; raise :class:`StationFileError` listing every problem."""
    data, lines = read_yaml(text, path, StationFileError,
                            "the file must be a mapping with keys name, instruments, limits, ...")
    try:
        config = StationConfig.model_validate(data)
    except ValidationError as exc:
        raise StationFileError(path, validation_problems(exc, lines, "check the spelling; see docs/station-file.md")) \
            from None
    problems = [f"{_where(lines, loc)}: {msg}" for loc, msg in _cross_references(config)]
    if problems:
        raise StationFileError(path, problems)
    return config


def load(station: str | pathlib.Path) -> tuple[StationConfig, pathlib.Path, str]:
    """Read and validate a station file (path or shipped name): config, path, text."""
    path = resolve(station)
    text = read_text(path, StationFileError)
    return parse(text, str(path)), path, text
