"""The paper's campaign as runs: :class:`RunSpec`, the full campaign from the shipped
sequence files (:func:`paper_campaign`), the reduced one for tests, and measuring one
run in a worker (:func:`measure_run`)."""

from __future__ import annotations

import pathlib
import time
from dataclasses import dataclass, field

import numpy as np

import procedures


# =========================================================================== the campaign
@dataclass(frozen=True)
class RunSpec:
    """One measurement of the campaign: a procedure with its parameters on a station."""

    label: str  #: unique; the run file is ``<label>.h5``
    station: str  #: shipped station name
    procedure: str  #: procedures name (or ``amr``)
    params: dict = field(default_factory=dict)
    title: str = ""  #: what it measures, for progress and summary

    def plan_length(self) -> int:
        p = procedures.get(self.procedure)()
        p.set_parameters(self.params)
        return len(p.plan())


A01, B = "vti-a01", "dilution-b"

#: the TMR loops of Fig. 3c (temperature series, 0.1 uA) and 3e (bias series, 2.0 K)
TMR_BIAS = 0.1e-6
TMR_FIG3B_T = 2.0
RT_RAMP = 0.1 / 60  # K/s: 0.1 K/min, a step of the Lake Shore 336's ramp rate
NL_TEMPERATURE = 0.053  # K, Fig. 4b-c
HANLE_TEMPERATURE = 0.046  # K, Fig. 4d
CHANNELS = ("L06", "L08", "L30")


def tmr_temperatures(quick: bool = False) -> tuple[float, ...]:
    """Fig. 3c: below T_K (4.5 K in the model) and above. Not at T_K itself: there the
    simulated zero-bias peak's weight is ~0 and jitters with the fridge's noise, which
    defeats the junction model's table cache (a run at 4.5 K costs ~30 s instead of 1 s)."""
    return (1.5, 2.0, 3.5, 5.0) if quick else (1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0)


def tmr_biases(quick: bool = False) -> tuple[float, ...]:
    """Fig. 3e: DC bias currents (A) at 2.0 K, inside the gap (<= 0.1 uA) and outside."""
    return (0.05e-6, 0.1e-6, 0.5e-6) if quick else (0.02e-6, 0.05e-6, 0.1e-6, 0.15e-6, 0.2e-6, 0.5e-6, 1.0e-6)


def tmr_label(temperature: float, current: float) -> str:
    return f"A01-tmr-{temperature:g}K-{current * 1e6:g}uA"


def rt_fields(quick: bool = False) -> tuple[float, ...]:
    """Fig. 2b / 1d: in-plane fields (T) of the A01 R-T line cuts (vti-a01 reaches 10 T)."""
    return (0.0, 2.0, 5.0, 8.0) if quick else (0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)


def nl_currents(quick: bool = False) -> tuple[float, ...]:
    """Fig. 4c: injection currents (A) of the non-local switching loops."""
    return (0.1e-6, 2.0e-6) if quick else (0.1e-6, 0.5e-6, 1.0e-6, 2.0e-6)


def _csv(values) -> str:
    return ", ".join(f"{v:g}" for v in values)


#: the shipped sequence files that hold the paper's campaign, one per station
PAPER_SEQUENCES = ("paper-a01", "paper-b")


def paper_campaign() -> list[RunSpec]:
    """The paper's campaign as its shipped sequence files declare it (``cryo-acq sequence
    list``): every labelled run, in order, on the file's station."""
    from cryo_acq.campaign import sequence as sequences

    specs = []
    for name in PAPER_SEQUENCES:
        seq = sequences.load(name)
        specs += [RunSpec(e.label, seq.station, e.procedure, dict(e.values), e.description or "") for e in seq.runs]
    return specs


def campaign(quick: bool = False) -> list[RunSpec]:
    """The runs of the demo: the paper's sequence files, or (``quick``) the reduced campaign."""
    return quick_campaign() if quick else paper_campaign()


def quick_campaign() -> list[RunSpec]:
    """The paper's campaign reduced for tests: the same runs with coarser steps and fewer
    temperatures, fields and currents (the full campaign is in the sequence files)."""
    specs: list[RunSpec] = []
    add = specs.append

    # --- A01: R-T (BKT, re-entrant phase), line cuts at in-plane fields (Fig. 2b, 1d)
    # continuous: the set-point ramps at 0.1 K/min and the lock-in is read as the sample passes each
    # temperature (a few mK of lag at this rate); a stepped run would wait for stability at every point
    ramp = dict(mode="continuous", ramp_rate=RT_RAMP)
    add(RunSpec("A01-rt-transition", A01, "rt",
                dict(temperature_start=7.0, temperature_stop=6.0, temperature_step=-0.02, field=0.0,
                     **ramp),
                "A01 R-T across the transition, B = 0 (BKT fit)"))
    for b in rt_fields(True):
        add(RunSpec(f"A01-rt-{b:g}T", A01, "rt",
                    dict(temperature_start=7.5, temperature_stop=1.5, temperature_step=-0.1,
                         field=b, field_rate=0.01, **ramp),
                    f"A01 R-T at B_par = {b:g} T"))
    # --- A01: the (B_par, T) phase diagram (Fig. 2a)
    add(RunSpec("A01-rt-map", A01, "rt-map",
                dict(temperature_start=1.5, temperature_stop=7.5, temperature_step=0.5,
                     field_start=0.0, field_stop=10.0, field_step=2.0, axis="x", field_rate=0.01),
                "A01 R(T, B_par) map"))
    # --- A01: V-I near the BKT transition (Fig. 1c)
    vi_temps = np.round(np.arange(6.0, 6.91, 0.1), 3)
    add(RunSpec("A01-vi", A01, "vi",
                dict(temperatures=_csv(vi_temps), current_min=0.03e-6, current_max=100e-6,
                     points_per_decade=5),
                "A01 V-I at 6.0-6.9 K"))
    # --- A01: tunnelling dI/dV against temperature and field (Fig. 2c-d, 3d bottom)
    didv_temps = (1.5, 2.0, 3.0, 5.0)
    bias = dict(bias_min=-1.0e-6, bias_max=1.0e-6, bias_step=0.025e-6)
    add(RunSpec("A01-didv-temperature", A01, "didv",
                dict(versus="temperature", temperatures=_csv(didv_temps), field=0.0, **bias),
                "A01 dI/dV at B = 0, several temperatures"))
    didv_fields = (0.0, 2.0, 4.0)
    add(RunSpec("A01-didv-field", A01, "didv",
                dict(versus="field", fields=_csv(didv_fields), temperature=1.5, field_rate=0.01, **bias),
                "A01 dI/dV at 1.5 K, several in-plane fields"))
    # --- A01: TMR loops against temperature (Fig. 3c-d, 0.1 uA) and bias (Fig. 3e, 2.0 K); AMR (Fig. 3b)
    loop = dict(field_max=0.05, field_step=0.002, rate=0.01)
    cases = {(t, TMR_BIAS) for t in tmr_temperatures(True)} | {(TMR_FIG3B_T, i) for i in tmr_biases(True)}
    for t, i in sorted(cases):
        add(RunSpec(tmr_label(t, i), A01, "tmr", dict(temperature=t, current=i, **loop),
                    f"A01 TMR loop at {t:g} K, {i * 1e6:g} uA"))
    add(RunSpec("A01-amr-2K", A01, "amr",
                dict(temperature=2.0, current=0.0, field_max=0.05, field_step=0.001, rate=0.01,
                     excitation=0.45e-6, time_constant=1.0),
                "A01 Co stripe AMR loop at 2 K"))

    # --- B: T_c(B_perp) (Fig. 1d, out of plane)
    add(RunSpec("B-rt-map-perp", B, "rt-map",
                dict(temperature_start=0.3, temperature_stop=4.1, temperature_step=0.2,
                     field_start=0.0, field_stop=2.0, field_step=0.5, axis="z", field_rate=0.002,
                     excitation=100e-9),
                "B R(T, B_perp) map"))
    # --- B: non-local map (Fig. 4b), switching (Fig. 4c), Hanle (Fig. 4d)
    add(RunSpec("B-nl-map-L08", B, "nl-map",
                dict(channel="L08", temperature=NL_TEMPERATURE, current_start=-5e-6, current_stop=5e-6,
                     current_step=1e-6, field_start=0.0, field_stop=0.04,
                     field_step=0.002),
                "B non-local map, L = 0.8 um"))
    for i in nl_currents(True):
        add(RunSpec(f"B-nl-switch-{i * 1e6:g}uA", B, "nl-switch",
                    dict(channel="L08", temperature=NL_TEMPERATURE, injection_current=i, preparation_field=-0.04,
                         field_start=-0.04, field_stop=0.04, field_step=0.002, loop=True),
                    f"B non-local switching loop, I_inj = {i * 1e6:g} uA"))
    for channel in CHANNELS:
        for alignment in ("parallel", "antiparallel"):
            add(RunSpec(f"B-hanle-{channel}-{'P' if alignment == 'parallel' else 'AP'}", B, "hanle",
                        dict(channel=channel, alignment=alignment, temperature=HANLE_TEMPERATURE, field_max=0.6,
                             field_step=0.04, current=0.1e-6),
                        f"B Hanle, {channel}, {alignment}"))
    return specs


# =========================================================================== measuring
@dataclass
class RunResult:
    spec: RunSpec
    path: pathlib.Path
    status: str
    reason: str
    lab_seconds: float  #: station time of the run (Runner's station_seconds)
    wall_seconds: float  #: including building the station
    points: int = 0


def measure_run(spec: RunSpec, folder: str, inputs=None) -> RunResult:
    """Worker: build the station, run one procedure into ``folder/<label>.h5``, close it."""
    from cryo_acq.run.runner import Runner
    from cryo_acq.station import Station

    t0 = time.perf_counter()
    procedure = procedures.get(spec.procedure)()
    procedure.set_parameters(spec.params)
    path = pathlib.Path(folder) / f"{spec.label}.h5"
    with Station.from_yaml(spec.station, sim=True) as station:
        runner = Runner(station, procedure, path=path)
        t_start = station.clock.now()
        runner.run()
        lab = station.clock.now() - t_start
    return RunResult(spec, path, runner.status, runner.reason, lab, time.perf_counter() - t0,
                     len(procedure.plan()))


#: rough wall seconds per planned point (a 2-core machine, nothing else running)
_COST = {"nl-map": 0.004, "rt": 0.003, "rt-map": 0.03, "didv": 0.004, "hanle": 0.02, "nl-switch": 0.008,
         "tmr": 0.006, "amr": 0.006, "vi": 0.004}


