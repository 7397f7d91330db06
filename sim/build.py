"""A station file -> one simulated lab and the live VISA library serving it."""

from __future__ import annotations

import zlib

from cryo_acq.station.drivers import DRIVERS
from cryo_acq.station.file import StationConfig

from .binding import Binding, LiveSimVisaLibrary, device_file
from .faults import FaultInjector
from .lab import DILUTION, DILUTION_LS372, VTI, LockInRoute, SimLab
from .samples import sample_for

#: which fridge a station's temperature controller implies
_FRIDGE = {"lakeshore336": VTI, "lakeshore372": DILUTION_LS372, "triton": DILUTION}


def build_lab(config: StationConfig, clock) -> tuple[SimLab, LiveSimVisaLibrary]:
    sim = config.sim
    fridge = next((_FRIDGE[e.driver] for e in config.instruments.values() if e.driver in _FRIDGE), VTI)
    lab = SimLab(clock, sample_for(sim.device, sim.sample_parameters), seed=sim.seed, fridge=fridge, io_latency=sim.io_latency)
    lab.fridge.excursions = [(e.start, e.duration, e.size) for e in sim.excursions]
    bindings = []
    for name, entry in config.instruments.items():
        spec = DRIVERS[entry.driver]
        model = lab.add_model(name, spec.sim_model_class()(lab, name, entry.options))
        faults = [f.fault() for f in sim.faults if f.instrument == name]
        bindings.append(Binding(entry.resource, device_file(spec.sim_device), model,
                                FaultInjector(faults, seed=sim.seed ^ zlib.crc32(name.encode()))))
    # until Station.use says otherwise, each lock-in and SMU is on the first configuration
    # the file wires it to
    for configuration, wiring in config.wiring.configurations.items():
        if wiring.lockin not in lab.lockin_routes:
            lw = config.wiring.lockins[wiring.lockin]
            lab.route_lockin(wiring.lockin, LockInRoute(configuration, lw.series_resistor, lw.preamp_gain))
        if wiring.source and wiring.source not in lab.source_routes:
            lab.route_source(wiring.source, configuration)
    return lab, LiveSimVisaLibrary.create(bindings)


def wire(lab: SimLab, config: StationConfig, configuration: str, channel: str | None = None) -> None:
    """Connect ``configuration``'s lock-in (and source) to the sample, on non-local
    ``channel`` if given: what moving the cables does (``Station.use`` in simulation)."""
    wiring = config.wiring.configurations[configuration]
    lw = config.wiring.lockins[wiring.lockin]
    lab.advance()  # the lock-in integrates up to now on the old wiring
    lab.route_lockin(wiring.lockin, LockInRoute(configuration, lw.series_resistor, lw.preamp_gain, channel))
    if wiring.source:
        lab.route_source(wiring.source, configuration)
