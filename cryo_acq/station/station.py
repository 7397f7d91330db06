"""The Station: a station file brought to life, on real or simulated hardware.

``Station.from_yaml(path_or_name, sim=...)`` validates the file, builds every
driver at its VISA address and wraps it in its role adapter. With ``sim`` on,
the drivers are the same and so are the addresses; only the VISA library
differs: the live pyvisa-sim binding of ``sim/``, serving one simulated lab.

Procedures get roles from the station (``station.lockin()``, ``station.source()``,
``station.magnet``, ``station.temperature``) and select the sample configuration
they measure with ``station.use(...)``. ``station.safe_state()`` puts every
instrument into the safe state the station file declares.
"""

from __future__ import annotations

import functools
import logging
import pathlib
import threading
from dataclasses import dataclass
from typing import Any

from instruments.reliable import Link, ReliableDriver
from instruments.roles import CurrentSource, LockIn, Magnet, RoleContext, TemperatureController

from cryo_acq.station import file as station_file
from cryo_acq.station.clock import Clock, StopRequested, VirtualClock, WallClock
from cryo_acq.station.drivers import DRIVERS
from cryo_acq.station.safety import Safety
from cryo_acq.station.file import StationConfig

log = logging.getLogger(__name__)


def _expect(ok: bool, good: str, bad: str) -> str:
    if not ok:
        raise RuntimeError(bad)
    return good


class StationConnectError(RuntimeError):
    """An instrument could not be opened at its address (the message names it)."""


@dataclass(frozen=True)
class Measurement:
    """A sample configuration selected for measuring, with what drives and reads it."""

    configuration: str
    lockin: LockIn
    source: CurrentSource | None
    channel: str | None = None  #: non-local channel name
    channel_length: float | None = None  #: m


class Station:
    """Instruments by role, wiring, limits and clock; real or simulated."""

    def __init__(self, config: StationConfig, path: pathlib.Path | None = None, text: str = "",
                 sim: bool = False, clock: Clock | None = None):
        self.config = config
        self.path = path
        self.text = text  #: the station file as read (stored with every run)
        self.sim = sim
        self.safety = Safety(config.limits)
        self.lab = None
        self.visa_library = None
        if sim:
            from sim.build import build_lab  # only simulation needs the sim package

            self.clock = clock or VirtualClock(time_scale=config.sim.time_scale)
            self.lab, self.visa_library = build_lab(config, self.clock)
        elif config.served_lab is not None:  # a rehearsal on a served lab: its pace
            self.clock = clock or VirtualClock(time_scale=config.served_lab.time_scale)
        else:
            self.clock = clock or WallClock()
        #: one re-entrant lock for all I/O with the station's instruments: every driver
        #: exchange holds it (one at a time, whole), and so do the simulated lab's routing
        #: and a pure-virtual sleep (which moves the lab's time). Hold it yourself to make
        #: several exchanges in a row from another thread (the GUI's station panel does).
        self.io_lock = threading.RLock()
        if self.lab is not None and isinstance(self.clock, VirtualClock) and self.clock.time_scale is None:
            self.clock.sleep = _holding(self.io_lock, self.clock.sleep)
        # raw drivers are private: procedures get role adapters, which enforce the limits
        self._drivers: dict[str, Any] = {}
        #: each instrument's line: query-level retries (instruments.reliable)
        self.links: dict[str, Link] = {}
        #: told (instrument, message) of every retry of a query or write; the runner
        #: points it at the run file's log
        self.on_retry = None
        self.roles: dict[str, Any] = {}
        try:
            self._connect()
        except Exception:
            self.close()
            raise

    @classmethod
    def from_yaml(cls, station: str | pathlib.Path, sim: bool | None = None, clock: Clock | None = None) -> "Station":
        """Load a station file (a path, or the name of a shipped station) and connect.

        ``sim=True`` runs it against the simulated lab at the same addresses.
        """
        config, path, text = station_file.load(station)
        return cls(config, path, text, sim=bool(sim), clock=clock)

    # --- building
    def _connect(self) -> None:
        visa_library = self.visa_library if self.sim else ""
        magnet_controls, magnet_ids = [], {}
        policy = self.config.retries.policy()
        for name, entry in self.config.instruments.items():
            spec = DRIVERS[entry.driver]
            terminations = {k: v for k, v in (("read_termination", entry.read_termination),
                                               ("write_termination", entry.write_termination)) if v is not None}
            try:
                driver = spec.driver_class()(entry.resource, visa_library=visa_library, **terminations)
            except Exception as exc:  # noqa: BLE001 - named: which instrument, which address
                detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise StationConnectError(f"{name} ({entry.driver} at {entry.resource!r}): cannot connect: "
                                          f"{detail}") from None
            self._drivers[name] = driver
            link = Link(name, driver, self.clock, policy, on_retry=self._retried, lock=self.io_lock)
            self.links[name] = link
            ctx = RoleContext(name=name, clock=self.clock, safety=self.safety, options=entry.options,
                              configurations=self._configurations_of(name),
                              wiring=self.config.wiring.lockins.get(name))
            adapter = spec.adapter_class()(ReliableDriver(driver, link), ctx)
            if spec.role == "magnet":
                magnet_controls += adapter.controls
                magnet_ids[name] = adapter.identity()
            else:
                self.roles[name] = adapter
        self.magnet: Magnet | None = (
            Magnet(magnet_controls, self.clock, self.safety, identities=magnet_ids) if magnet_controls else None)

    def _retried(self, instrument: str, message: str) -> None:
        if self.on_retry is not None:
            self.on_retry(instrument, message)

    def _configurations_of(self, name: str) -> list[str]:
        return [conf for conf, w in self.config.wiring.configurations.items() if name in (w.lockin, w.source)]

    def _of_type(self, kind) -> list:
        return [r for r in self.roles.values() if isinstance(r, kind)]

    def _one(self, kind, name: str | None, what: str):
        if name is not None:
            role = self.roles.get(name)
            if not isinstance(role, kind):
                raise KeyError(f"station {self.config.name!r} has no {what} named {name!r}")
            return role
        found = self._of_type(kind)
        if len(found) != 1:
            names = ", ".join(r.name for r in found) or "none"
            raise KeyError(f"station {self.config.name!r} has {len(found)} {what}s ({names}); name one")
        return found[0]

    # --- roles
    def lockin(self, name: str | None = None) -> LockIn:
        return self._one(LockIn, name, "lock-in")

    def source(self, name: str | None = None) -> CurrentSource:
        return self._one(CurrentSource, name, "current source")

    @property
    def temperature(self) -> TemperatureController:
        return self._one(TemperatureController, None, "temperature controller")

    def channels(self, configuration: str = "nonlocal") -> dict[str, float]:
        """Non-local channels (name -> length in m) the wiring declares."""
        wiring = self.config.wiring.configurations.get(configuration)
        return dict(wiring.channels) if wiring else {}

    def use(self, configuration: str, channel: str | float | None = None) -> Measurement:
        """Select the sample configuration to measure (and the non-local channel, by name
        or by length in m). In simulation this routes the lab's wiring accordingly."""
        wiring = self.config.wiring.configurations.get(configuration)
        if wiring is None:
            raise KeyError(f"station {self.config.name!r} has no wiring for configuration {configuration!r} "
                           f"(wired: {', '.join(self.config.wiring.configurations) or 'none'})")
        name, length = self.channel(configuration, channel)
        lockin = self.lockin(wiring.lockin)
        source = self.source(wiring.source) if wiring.source else None
        roles = [lockin] + ([source] if source is not None else [])
        for role in roles:  # all checks first, so a refusal leaves nothing half switched
            role.check_select(configuration)
        for role in roles:
            role.select(configuration)
        if self.lab is not None:
            from sim.build import wire

            with self.io_lock:  # the lab is shared with every thread's exchanges
                wire(self.lab, self.config, configuration, name)
        return Measurement(configuration, lockin, source, name, length)

    def channel(self, configuration: str, channel) -> tuple[str | None, float | None]:
        """(name, length in m) of a non-local channel given by name or by length (m);
        ValueError naming the channels the wiring has."""
        channels = self.channels(configuration)
        if channel is None:
            return None, None
        if isinstance(channel, str) and channel in channels:
            return channel, channels[channel]
        try:
            length = float(channel)
        except (TypeError, ValueError):
            raise ValueError(f"no channel {channel!r} in wiring.configurations.{configuration}.channels "
                             f"(channels: {channels or 'none'})") from None
        for name, value in channels.items():
            if abs(value - length) <= 1e-3 * value:
                return name, value
        raise ValueError(f"no channel of length {length:g} m in wiring.configurations.{configuration}.channels "
                         f"(channels: {channels or 'none'})")

    # --- safety and state
    def safe_state(self) -> list[str]:
        """Put every instrument in the station's safe state: SMU off, lock-in excitation
        to minimum, magnet held or ramped to zero, heater as configured.

        Every instrument is tried even if another fails; the failures are returned
        (and logged) rather than raised, so a caller on an error path loses nothing.
        """
        problems = []
        steps = [(s.name, s.safe) for s in self._of_type(CurrentSource)]
        steps += [(li.name, li.safe) for li in self._of_type(LockIn)]
        if self.magnet is not None:
            steps.append(("magnet", lambda: self.magnet.safe(self.config.safe_state.magnet)))
        steps += [(t.name, lambda t=t: t.safe(self.config.safe_state.heater))
                  for t in self._of_type(TemperatureController)]
        for name, step in steps:
            try:
                step()
            except Exception as exc:  # noqa: BLE001 - every instrument must be tried
                problems.append(f"{name}: {type(exc).__name__}: {exc}")
                log.error("safe state of %s failed: %s", name, exc)
        return problems

    def confirm_safe(self) -> tuple[list[str], list[str]]:
        """Wait (bounded) until every instrument reports the safe state it was sent to:
        output off, excitation at its minimum, the magnet at zero or holding. Returns
        (what was confirmed, what could not be, each naming the instrument). A stop asked
        while waiting (a second Ctrl-C) ends the wait; what is left is named."""
        confirmed, unconfirmed = [], []
        checks = [(s.name, lambda s=s: _expect(not s.output_enabled, "output off", "output still on"))
                  for s in self._of_type(CurrentSource)]
        checks += [(li.name, lambda li=li: _expect(abs(li.excitation - li.min_excitation) <= 1e-6,
                                                    f"excitation {li.min_excitation:g} V", "excitation not at minimum"))
                   for li in self._of_type(LockIn)]
        if self.magnet is not None:
            mode = self.config.safe_state.magnet
            if mode == "zero":
                log.warning("waiting for the magnet to reach zero (a second Ctrl-C stops waiting)")
            checks.append(("magnet", lambda: self.magnet.confirm_safe(mode)))
        for name, check in checks:
            try:
                confirmed.append(f"{name}: {check()}")
            except StopRequested:
                unconfirmed.append(f"{name}: not confirmed (waiting was stopped)")
            except Exception as exc:  # noqa: BLE001 - every instrument is looked at
                unconfirmed.append(f"{name}: not confirmed ({type(exc).__name__}: {exc})")
        return confirmed, unconfirmed

    def snapshot(self) -> dict[str, dict]:
        """Identity and state of every instrument (for run files and ``station check``)."""
        snap: dict[str, dict] = {}
        for name, role in self.roles.items():
            snap[name] = self._describe(role)
        if self.magnet is not None:
            snap["magnet"] = self._describe(self.magnet)
        return snap

    @staticmethod
    def _describe(role) -> dict:
        try:
            return {"identity": role.identity(), **role.state()}
        except Exception as exc:  # noqa: BLE001 - a snapshot reports, it does not fail
            return {"error": f"{type(exc).__name__}: {exc}"}

    def close(self) -> None:
        for driver in self._drivers.values():
            try:
                driver.adapter.close()
            except Exception:  # noqa: BLE001
                pass
        self._drivers.clear()

    def __enter__(self) -> "Station":
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.safe_state()
        finally:
            self.close()

    def __repr__(self) -> str:
        kind = "simulated" if self.sim else "real"
        return f"<Station {self.config.name!r} ({kind}), instruments: {', '.join(self.config.instruments)}>"


def _holding(lock, function):
    """``function`` called with ``lock`` held."""
    @functools.wraps(function)
    def held(*args, **kwargs):
        with lock:
            return function(*args, **kwargs)

    return held
