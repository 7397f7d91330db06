"""``cryo-acq demo``: the paper's measurement campaign on the simulated lab, fitted and plotted.

:func:`run_demo` measures what T. Qu *et al.*, "Ferromagnetic Superconductivity in
Two-dimensional Niobium Diselenide" (*the paper*) measured, on the two shipped
stations in simulation: ``vti-a01`` (VTI, in-plane solenoid, device A01) and
``dilution-b`` (dilution fridge, vector magnet, device B). Every measurement is a
procedure of ``procedures/`` run by the :class:`~cryo_acq.run.runner.Runner` into a run
file; independent runs go to ``jobs`` worker processes, each building its own
station. Then every number is fitted from those run files with
:mod:`cryo_acq.analysis`, one figure is drawn per panel of the paper, and
``summary.md`` puts each fitted number beside the paper's.

Output (``out``)::

    summary.md                 the numbers, the paper's values, the figures, the run files
    fig1c_vi.png ... fig4d_hanle.png
    runs/<date-time>/*.h5      one run file per measurement (never overwritten)

See ``docs/demo.md``.
"""

from __future__ import annotations

import datetime as _dt
import math
import multiprocessing
import pathlib
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

import procedures

PAPER = ('T. Qu et al., "Ferromagnetic Superconductivity in Two-dimensional Niobium Diselenide" '
         "(the paper)")


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


# =========================================================================== scheduling
@dataclass
class Task:
    """A unit of work for the pool: a measurement, a fit or a figure. ``fn(*args, inputs)``
    runs in a worker; ``inputs`` maps each name in ``deps`` to that task's result."""

    name: str
    kind: str  #: "run" | "fit" | "figure"
    fn: Callable
    args: tuple = ()
    deps: tuple[str, ...] = ()
    cost: float = 1.0  #: rough wall seconds, for scheduling
    title: str = ""


def _call(fn, args, inputs):
    return fn(*args, inputs=inputs)


def _rank(tasks: dict[str, Task]) -> dict[str, float]:
    """Critical-path rank: a task's cost plus the largest rank of the tasks waiting for it."""
    children: dict[str, list[str]] = {name: [] for name in tasks}
    for task in tasks.values():
        for dep in task.deps:
            children[dep].append(task.name)
    rank: dict[str, float] = {}

    def of(name):
        if name not in rank:
            rank[name] = tasks[name].cost + max((of(c) for c in children[name]), default=0.0)
        return rank[name]

    for name in tasks:
        of(name)
    return rank


def execute(tasks: list[Task], jobs: int = 2, on_done: Callable[[Task, Any, float], None] | None = None) -> dict:
    """Run the task graph; returns name -> result. ``jobs`` > 1: that many worker processes
    (spawned: each starts clean and builds its own station); the ready task on the
    longest remaining path goes first, and no more than ``jobs`` tasks are handed out at a
    time so a task that becomes ready later can still overtake the queue."""
    by_name = {t.name: t for t in tasks}
    missing = {d for t in tasks for d in t.deps if d not in by_name}
    if missing:
        raise ValueError(f"tasks depend on unknown tasks: {sorted(missing)}")
    rank = _rank(by_name)
    results: dict[str, Any] = {}
    pending = dict(by_name)

    def ready():
        out = [t for t in pending.values() if all(d in results for d in t.deps)]
        return sorted(out, key=lambda t: -rank[t.name])

    def inputs_of(task):
        return {d: results[d] for d in task.deps}

    if jobs <= 1:
        while pending:
            queue = ready()
            if not queue:
                raise RuntimeError(f"task graph is stuck at {sorted(pending)}")
            task = queue[0]
            del pending[task.name]
            t0 = time.perf_counter()
            results[task.name] = _call(task.fn, task.args, inputs_of(task))
            if on_done:
                on_done(task, results[task.name], time.perf_counter() - t0)
        return results

    from concurrent.futures import FIRST_COMPLETED, wait

    running = {}
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        try:
            while pending or running:
                for task in ready()[: max(0, jobs - len(running))]:
                    del pending[task.name]
                    running[pool.submit(_call, task.fn, task.args, inputs_of(task))] = (task, time.perf_counter())
                if not running:
                    raise RuntimeError(f"task graph is stuck at {sorted(pending)}")
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for future in done:
                    task, t0 = running.pop(future)
                    results[task.name] = future.result()  # a worker's exception surfaces here
                    if on_done:
                        on_done(task, results[task.name], time.perf_counter() - t0)
        except BaseException:
            for future in running:
                future.cancel()
            raise
    return results


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


# =========================================================================== fitting
def _portable(fit, n: int = 300):
    """A FitResult that can cross a process boundary: its model function (a closure) is
    sampled on a fine grid into ``notes["fine"]`` and dropped."""
    import dataclasses

    if fit is None or getattr(fit, "function", None) is None:
        return fit
    x = np.asarray(fit.x, dtype=float)
    fine = None
    if x.size > 1 and np.all(np.isfinite(x)):
        log = fit.notes.get("log") == "xy" and x.min() > 0
        xs = np.geomspace(x.min(), x.max(), n) if log else np.linspace(x.min(), x.max(), n)
        try:
            fine = (xs, np.asarray(fit.evaluate(xs), dtype=float))
        except Exception:  # noqa: BLE001 - the curve at the data remains
            fine = None
    notes = dict(fit.notes)
    if fine is not None:
        notes["fine"] = fine
    return dataclasses.replace(fit, function=None, notes=notes)


def _run(inputs, label):
    from cryo_acq.run.storage import load_run

    return load_run(inputs[label].path)


def fit_bkt(label: str, inputs=None) -> dict:
    """Fig. 1c / ED3d: the BKT (Halperin-Nelson) R(T) of a zero-field R-T run."""
    from cryo_acq.analysis import fit_run

    fit = fit_run("bkt-rt", inputs[label].path)[0]
    return {"fit": _portable(fit)}


def fit_reentrant(label: str, inputs=None) -> dict:
    """Fig. 2a-b: R(1.5 K)/R_N and the onset T_K of the re-entrant resistance, from the B = 0 line cut."""
    from cryo_acq.analysis import fit_run

    run = _run(inputs, label)
    fit = fit_run("bkt-rt", run)[0]
    t, r = run.data["temperature"], run.data["resistance"]
    r_n = fit["R_N"]
    cold = t <= t.min() + 0.05
    ratio = float(np.mean(r[cold]) / r_n)
    noise = fit.notes.get("residual_rms", math.nan)  # the readings' scatter about the fitted R(T)
    ratio_error = ratio * math.hypot(noise / math.sqrt(cold.sum()) / float(np.mean(r[cold])),
                                     fit.error("R_N") / r_n)
    return {"fit": _portable(fit), "ratio": ratio, "ratio_error": ratio_error,
            "ratio_temperature": float(np.mean(t[cold])), "t_k": _reentrant_onset(t, r, r_n),
            "threshold": REENTRANT_THRESHOLD}


#: the re-entrant phase is "resistive" above this fraction of R_N (a threshold, not a fit)
REENTRANT_THRESHOLD = 0.01


def _reentrant_onset(t, r, r_n) -> float:
    """Cooling from above T_c: after R has reached ~0, the temperature where it rises again
    above ``REENTRANT_THRESHOLD`` R_N, interpolated (NaN if it never does)."""
    order = np.argsort(t)[::-1]
    t, r = t[order], r[order]
    level = REENTRANT_THRESHOLD * r_n
    zero = np.flatnonzero(r < level)
    if zero.size == 0:
        return math.nan
    for k in range(zero[0] + 1, r.size):
        if r[k] >= level and r[k - 1] < level:
            return float(t[k - 1] + (level - r[k - 1]) * (t[k] - t[k - 1]) / (r[k] - r[k - 1]))
    return math.nan


def fit_vi(label: str, inputs=None) -> dict:
    """Fig. 1c: alpha(T) from V ~ I^alpha over the lowest decade, and T_BKT where alpha = 3."""
    from cryo_acq.analysis import fit_run

    fits = fit_run("vi", inputs[label].path)
    return {"fits": [_portable(f) for f in fits if f.model != "vi-bkt"],
            "bkt": _portable(next(f for f in fits if f.model == "vi-bkt"))}


#: Fig. 1d: in-plane T_c(B) of A01 is orbital only up to ~7.5 T (above, the Pauli limit is lower)
PAIR_BREAKING_MAX_FIELD = 6.0  # T
A01_THICKNESS = 12e-9  # m, paper ED10 ("~12")


def fit_tc_parallel(labels: tuple[str, ...], inputs=None) -> dict:
    """Fig. 1d: T_c (onset, 0.9 R_N) of each in-plane line cut; eq. 2 fitted to the fields up
    to ``PAIR_BREAKING_MAX_FIELD`` with the paper's thickness of A01."""
    from cryo_acq.analysis import fit_run, transition_temperature

    runs = [_run(inputs, label) for label in labels]
    fields = np.array([float(np.nanmean(np.abs(r.data["field"]))) for r in runs])
    tops = [r.data["resistance"][np.argmax(r.data["temperature"])] for r in runs]
    r_n = float(np.max(tops))  # the normal state: the warmest readings
    tcs = np.array([transition_temperature(r.data["temperature"], r.data["resistance"], 0.9, r_n) for r in runs])
    fitted = [r for r, b in zip(runs, fields) if b <= PAIR_BREAKING_MAX_FIELD + 1e-9]
    fit = fit_run("pair-breaking", fitted, thickness=A01_THICKNESS)[0]
    wide = np.linspace(0.0, max(float(fields.max()), PAIR_BREAKING_MAX_FIELD), 200)
    return {"fit": _portable(fit), "fields": fields, "tc": tcs, "fitted": fields <= PAIR_BREAKING_MAX_FIELD + 1e-9,
            "r_normal": r_n, "extended": (wide, fit.evaluate(wide))}


def fit_tc_perpendicular(label: str, inputs=None) -> dict:
    """Fig. 1d (out of plane, device B): T_c(B_perp) per row of the map, eq. 2."""
    from cryo_acq.analysis import fit_run

    fit = fit_run("pair-breaking", inputs[label].path)[0]
    return {"fit": _portable(fit)}


def fit_phase(label: str, inputs=None) -> dict:
    """Fig. 2a: B_K at the lowest temperature of the map: the field above which R falls below
    ``REENTRANT_THRESHOLD`` R_N again (a threshold on the map, interpolated)."""
    run = _run(inputs, label)
    outer, inner = run.plan["axes"]
    fields, temps = np.array(outer["values"]), np.array(inner["values"])
    r = run.grid["resistance"]
    r_n = float(np.nanmax(r[:, np.argmax(temps)]))
    column = r[:, np.argmin(temps)]
    level = REENTRANT_THRESHOLD * r_n
    b_k = math.nan
    for k in range(1, fields.size):
        if column[k - 1] >= level > column[k]:
            b_k = float(fields[k - 1] + (level - column[k - 1]) * (fields[k] - fields[k - 1])
                        / (column[k] - column[k - 1]))
            break
    return {"b_k": b_k, "temperature": float(temps.min()), "r_normal": r_n, "threshold": REENTRANT_THRESHOLD}


def fit_spectrum(label: str, row: int, inputs=None) -> dict:
    """Fig. 2c-d: eq. 1 (p wave, zero-bias Gaussian) fitted to one spectrum (outer row) of a
    didv run (``fit_didv``, as ``fit_run("didv")`` does for every row; one task per spectrum
    so that the pool shares them)."""
    from cryo_acq.analysis import fit_didv

    run = _run(inputs, label)
    versus = "temperature" if "temperature" in run.grid else "field"
    outer = float(run.plan["axes"][0]["values"][row])
    v, g = run.grid["bias_voltage"][row], run.grid["didv"][row]
    if versus == "temperature":
        temperature = float(np.nanmean(run.grid["temperature"][row]))
        condition = f"T = {temperature:.4g} K"
    else:
        temperature = float(_param(run, "temperature"))
        condition = f"T = {temperature:.4g} K, B = {float(np.nanmean(run.grid['field'][row])):.4g} T"
    fit = fit_didv(v, g, temperature, l=1, zbp=True)
    fit.notes.update(condition=condition, setpoint=outer, run=str(run.path))
    return {"fit": _portable(fit)}


def gather_spectra(names: tuple[str, ...], inputs=None) -> dict:
    """The per-spectrum fits of one didv run, in row order."""
    return {"fits": [inputs[name]["fit"] for name in names]}


def _switching(run, column):
    from cryo_acq.analysis import switching_fields

    try:
        s = switching_fields(run.data["field"], run.data["direction"], run.data[column])
    except ValueError as exc:  # one level only
        return {"valid": False, "why": str(exc)}
    s = {k: v for k, v in s.items() if k != "state"}
    # a bistable loop switches twice per sweep; more crossings are noise around one level
    s["valid"] = len(s["up"]) == 2 and len(s["down"]) == 2
    if not s["valid"]:
        s["why"] = f"{len(s['up'])} + {len(s['down'])} threshold crossings: one level with noise, no switching"
    return s


def fit_loops(labels: tuple[str, ...], inputs=None) -> dict:
    """Fig. 3b-e, 4c: switching fields and levels of each loop (``switching_fields``)."""
    out = {}
    for label in labels:
        run = _run(inputs, label)
        column = "resistance" if "resistance" in run.data else "r_nonlocal"
        s = _switching(run, column)
        s["temperature"] = float(np.nanmean(run.data["temperature"])) if "temperature" in run.data else math.nan
        s["current"] = float(_param(run, "current", _param(run, "injection_current", math.nan)))
        out[label] = s
    return out


def _param(run, name, default=None):
    entry = run.metadata.get("parameters", {}).get(name)
    return default if entry is None else entry.get("value", default)


def _amr_dip(b, r, b_sw0):
    from scipy.optimize import curve_fit

    def dip(x, r0, depth, centre, width):
        return r0 - depth * np.exp(-((x - centre) / width) ** 2)

    p0 = [float(np.median(r)), float(np.median(r) - r.min()), b_sw0, 0.002]
    popt, pcov = curve_fit(dip, b, r, p0=p0, maxfev=20000)
    errors = np.sqrt(np.maximum(np.diag(pcov), 0.0))
    return popt, errors, dip


def fit_amr(label: str, inputs=None) -> dict:
    """Fig. 3b bottom: the Co stripe's AMR dip on each sweep, a Gaussian dip
    R0 - dR exp(-((B - B_sw)/w)^2) fitted by least squares (scipy ``curve_fit``; the
    analysis package has no AMR model)."""
    run = _run(inputs, label)
    b, r, d = run.data["field"], run.data["resistance"], run.data["direction"]
    out = {}
    for sign, name in ((1, "up"), (-1, "down")):
        rows = d == sign
        bb, rr = b[rows], r[rows]
        popt, errors, dip = _amr_dip(bb, rr, float(bb[np.argmin(rr)]))
        xs = np.linspace(bb.min(), bb.max(), 600)
        out[name] = {"depth": float(popt[1]), "depth_error": float(errors[1]), "field": float(popt[2]),
                     "field_error": float(errors[2]), "width": abs(float(popt[3])), "r0": float(popt[0]),
                     "fine": (xs, dip(xs, *popt))}
    return out


def fit_nl_map(label: str, inputs=None) -> dict:
    """Fig. 4b / ED8: per injection current, the two levels of the line (``switching_fields``
    on the 0 -> +40 mT sweep): Delta R_NL(I_inj), the background (R_P + R_AP)/2 and the
    current where Delta R_NL changes sign."""
    from cryo_acq.analysis import switching_fields

    run = _run(inputs, label)
    outer, inner = run.plan["axes"]
    currents = np.array(outer["values"])
    delta, p_level, ap_level = (np.full(currents.size, np.nan) for _ in range(3))
    for k in range(currents.size):
        b, r = run.grid["field"][k], run.grid["r_nonlocal"][k]
        ok = np.isfinite(b) & np.isfinite(r)
        try:
            s = switching_fields(b[ok], np.ones(ok.sum()), r[ok])
        except ValueError:
            continue  # one level: no spin signal on this line
        if len(s["up"]) != 2:
            continue  # noise crossing the threshold, not a P -> AP -> P line
        delta[k], p_level[k], ap_level[k] = s["r_parallel"] - s["r_antiparallel"], s["r_parallel"], s["r_antiparallel"]
    background = float(np.nanmedian(0.5 * (p_level + ap_level)))
    k_max = int(np.nanargmax(np.abs(delta)))
    # the sign change of Delta R_NL on the positive-current side: interpolated between the lines around it
    sign_change = math.nan
    positive = np.flatnonzero(currents > 0)
    for a, b_ in zip(positive[:-1], positive[1:]):
        if np.isfinite(delta[a]) and np.isfinite(delta[b_]) and delta[a] * delta[b_] < 0:
            sign_change = float(currents[a] - delta[a] * (currents[b_] - currents[a]) / (delta[b_] - delta[a]))
            break
    # where the spin signal ends: the largest |I_inj| with a switching line
    with_signal = currents[np.isfinite(delta)]
    return {"currents": currents, "delta_r": delta, "r_parallel": p_level, "r_antiparallel": ap_level,
            "background": background, "max_delta": float(np.abs(delta[k_max])),
            "max_current": float(currents[k_max]), "max_ratio": float(np.abs(delta[k_max]) / background),
            "sign_change": sign_change,
            "signal_edge": float(np.max(np.abs(with_signal))) if with_signal.size else math.nan,
            "step": float(abs(currents[1] - currents[0])) if currents.size > 1 else math.nan}


def fit_hanle_channel(channel: str, inputs=None) -> dict:
    """Fig. 4d: eq. 3 (L = 0.6, 0.8 um) or eq. 4 (L = 3.0 um) fitted to the parallel and the
    antiparallel curve and to the spin signal (R_P - R_AP)/2; derived: where the fitted spin
    signal changes sign, and its second extremum."""
    from cryo_acq.analysis import fit_run

    runs = [inputs[f"B-hanle-{channel}-P"].path, inputs[f"B-hanle-{channel}-AP"].path]
    model = "hanle-vortex" if channel == "L30" else "hanle"
    fits = fit_run(model, runs)
    spin = fits[-1]
    out = {"model": model, "parallel": _portable(fits[0]), "antiparallel": _portable(fits[1]),
           "spin": _portable(spin), "length": float(spin.notes.get("channel_length", math.nan))}
    b = np.linspace(0.0, 0.6, 6001)
    h = spin.evaluate(b) - spin["offset"]
    crossings = np.flatnonzero(np.sign(h[1:]) != np.sign(h[:-1]))
    out["sign_change"] = math.nan
    if crossings.size:
        k = int(crossings[0])
        out["sign_change"] = float(b[k] - h[k] * (b[1] - b[0]) / (h[k + 1] - h[k]))
    # extrema of the fitted curve beyond the zero-field one
    dh = np.diff(h)
    turns = np.flatnonzero(np.sign(dh[1:]) != np.sign(dh[:-1])) + 1
    out["extrema"] = [(float(b[k]), float(h[k])) for k in turns]
    if channel == "L30":  # the paper's point: eq. 3 cannot describe the second peak
        standard = fit_run("hanle", runs)[-1]
        out["standard"] = _portable(standard)
    # the data's own sign change of (R_P - R_AP)/2 (interpolated), as a cross-check
    from cryo_acq.run.storage import load_run

    p, ap = load_run(runs[0]), load_run(runs[1])
    field = 0.5 * (p.data["field_perp"] + ap.data["field_perp"])
    signal = 0.5 * (p.data["r_nonlocal"] - ap.data["r_nonlocal"])
    positive = field > 0
    fb, fs = field[positive], signal[positive]
    cross = np.flatnonzero(np.sign(fs[1:]) != np.sign(fs[:-1]))
    out["data_sign_change"] = float(fb[cross[0]] - fs[cross[0]] * (fb[cross[0] + 1] - fb[cross[0]])
                                    / (fs[cross[0] + 1] - fs[cross[0]])) if cross.size else math.nan
    return out


# =========================================================================== figures
def _load(inputs, label):
    from cryo_acq.run.storage import load_run

    return load_run(inputs[label].path)


def _save(fig, out, name) -> str:
    from cryo_acq.report.plotting import save

    return str(save(fig, pathlib.Path(out) / name))


def _err(value, error, factor=1.0) -> str:
    """'value ± error' for figure labels."""
    from cryo_acq.analysis.result import format_value

    return format_value(value * factor, error * factor if error is not None else None).replace("+-", "±")


def figure_1c(out, inputs=None) -> str:
    """Fig. 1c (+ ED3c-d): V-I log-log at 6.0-6.9 K with the lowest-decade power-law fits;
    alpha(T) and T_BKT where alpha = 3; R(T) across the transition with the BKT fit."""
    from cryo_acq.report.plotting import draw_fit, draw_vi, new_figure, _style

    vi, bkt = inputs["fit:vi"], inputs["fit:bkt"]["fit"]
    run_vi, run_rt = _load(inputs, "A01-vi"), _load(inputs, "A01-rt-transition")
    fig, (ax, ax_alpha, ax_rt) = new_figure(15.0, 4.6, 1, 3, gridspec_kw={"width_ratios": [1.5, 1, 1]})
    with _style():
        shown = draw_vi(ax, run_vi, legend=False, every=2)
        shown_t = [float(label.split()[0]) for label in shown]
        k = 0
        for fit in vi["fits"]:
            if min(abs(fit.notes["temperature"] - t) for t in shown_t) < 0.005:
                draw_fit(ax, fit, x_factor=1e6, lw=1.6, color="k", ls="--",
                         label="fit $V = c\\,I^\\alpha$ over the lowest decade" if k == 0 else None)
                k += 1
        ax.legend(ncol=2, fontsize=6.5, loc="lower right", title="T (measured), every other curve",
                  title_fontsize=7)
        ax.set_title("(c) V-I of A01 at B = 0, 6.0-6.9 K [SMU DC current and voltage]")
        t_bkt = vi["bkt"]
        temps = np.array([f.notes["temperature"] for f in vi["fits"]])
        alphas = np.array([f["alpha"] for f in vi["fits"]])
        errors = np.array([f.error("alpha") for f in vi["fits"]])
        ax_alpha.errorbar(temps, alphas, yerr=errors, fmt="o-", ms=3.5, lw=1, color="C0", label="fitted α")
        ax_alpha.axhline(3.0, color="k", ls="--", lw=1, label="α = 3 (universal BKT jump)")
        ax_alpha.axvline(t_bkt["T_BKT"], color="C3", ls=":", lw=1.2,
                         label=f"$T_{{BKT}}$ = {_err(t_bkt['T_BKT'], t_bkt.error('T_BKT'))} K")
        ax_alpha.set_xlabel("temperature T (K)")
        ax_alpha.set_ylabel("exponent α of $V \\propto I^\\alpha$")
        ax_alpha.set_title("inset of (c): α(T); paper: α → 3 at 6.3 K")
        ax_alpha.legend(loc="upper right")
        t, r = run_rt.data["temperature"], run_rt.data["resistance"]
        ax_rt.plot(t, r, "o", ms=2.5, color="C0", label="A01 R-T, B = 0 (ramp 0.1 K/min)")
        draw_fit(ax_rt, bkt, label="Halperin-Nelson (BKT) fit", color="C3", ls="-")
        ax_rt.axvline(bkt["T_BKT"], color="C3", ls=":", lw=1,
                      label=f"$T_{{BKT}}$ = {_err(bkt['T_BKT'], bkt.error('T_BKT'))} K")
        ax_rt.axvline(bkt["Tc0"], color="grey", ls="--", lw=1,
                      label=f"$T_{{c0}}$ (0.9 $R_N$) = {_err(bkt['Tc0'], bkt.error('Tc0'))} K")
        ax_rt.set_xlabel("temperature T (K)")
        ax_rt.set_ylabel("four-probe resistance R (Ω)  [lock-in 100 nA]")
        ax_rt.set_title("ED3d: R(T) across the transition; paper: $T_{BKT}$ ≈ 6.35 K")
        ax_rt.legend(loc="center left", fontsize=7)
        fig.suptitle("Fig. 1c - BKT transition of Co-NbSe2 (device A01, vti-a01)")
    return _save(fig, out, "fig1c_vi.png")


def figure_1d(out, inputs=None) -> str:
    """Fig. 1d: T_c(B) of A01 in plane (line cuts, eq. 2 with d = 12 nm) and of device B out
    of plane (map rows), with the fitted xi_GL(0)."""
    from cryo_acq.report.plotting import draw_fit, new_figure, _style

    par, perp = inputs["fit:tc-parallel"], inputs["fit:tc-perpendicular"]["fit"]
    fig, (ax, ax_b) = new_figure(12.0, 4.6, 1, 2)
    with _style():
        fit = par["fit"]
        fields, tc, fitted = par["fields"], par["tc"], par["fitted"]
        ax.plot(tc[fitted], fields[fitted], "o", ms=6, color="C0", label="$T_c$ (0.9 $R_N$) of each R-T line cut")
        ax.plot(tc[~fitted], fields[~fitted], "o", ms=6, mfc="none", color="C0",
                label=f"not fitted (> {PAIR_BREAKING_MAX_FIELD:g} T: Pauli-limited)")
        draw_fit(ax, fit, swap=True, color="C3", ls="-",
                 label=f"eq. 2, in plane, d = {A01_THICKNESS * 1e9:g} nm:\n"
                       f"$\\xi_{{GL}}(0)$ = {_err(fit['xi_gl'], fit.error('xi_gl'), 1e9)} nm, "
                       f"$T_{{c0}}$ = {_err(fit['tc0'], fit.error('tc0'))} K")
        wide, tc_wide = par["extended"]
        ax.plot(tc_wide, wide, ":", color="C3", lw=1.2, label="the same orbital curve beyond the fitted fields")
        ax.set_xlabel("critical temperature $T_c$ (K)")
        ax.set_ylabel("in-plane field $B_\\parallel$ (T)")
        ax.set_title("device A01 (vti-a01): in-plane field along x")
        pauli = 1.86 * fit["tc0"]  # T, B_P = 1.86 T/K * Tc0
        secondary = ax.secondary_yaxis("right", functions=(lambda b: b / pauli, lambda u: u * pauli))
        secondary.set_ylabel(f"$B_\\parallel / B_{{Pauli}}$  ($B_{{Pauli}}$ = 1.86 T/K × $T_{{c0}}$ = {pauli:.1f} T)")
        ax.legend(loc="lower left", fontsize=7)
        ax_b.plot(perp.data, perp.x, "s", ms=6, color="C2",
                  label="$T_c$ (0.9 $R_N$) of each row of the R(T, $B_\\perp$) map")
        draw_fit(ax_b, perp, swap=True, color="C3", ls="-",
                 label=f"eq. 2, out of plane: $\\xi_{{GL}}(0)$ = {_err(perp['xi_gl'], perp.error('xi_gl'), 1e9)} nm,\n"
                       f"$T_{{c0}}$ = {_err(perp['tc0'], perp.error('tc0'))} K")
        ax_b.set_xlabel("critical temperature $T_c$ (K)")
        ax_b.set_ylabel("out-of-plane field $B_\\perp$ (T)")
        ax_b.set_title("device B (dilution-b): out-of-plane field along z (≤ 2 T)")
        ax_b.legend(loc="lower left", fontsize=7)
        fig.suptitle("Fig. 1d - critical temperature against field, orbital pair breaking (Methods eq. 2); "
                     "paper: A01 $\\xi_{GL}^0$ = 5.7 ± 1.2 nm (ED10)")
    return _save(fig, out, "fig1d_tc_vs_b.png")


def figure_2a(out, inputs=None) -> str:
    """Fig. 2a: the (B_par, T) phase diagram of A01 as an image of R/R_N, T_c(B) of the line
    cuts, and the regions N, SC, FM + SC."""
    from cryo_acq.report.plotting import new_figure, _style
    from matplotlib.colors import Normalize

    run = _load(inputs, "A01-rt-map")
    par, phase, re = inputs["fit:tc-parallel"], inputs["fit:phase"], inputs["fit:reentrant"]
    outer, inner = run.plan["axes"]
    from cryo_acq.report.plotting import _edges

    fig, ax = new_figure(7.4, 5.0)
    with _style():
        ratio = run.grid["resistance"] / phase["r_normal"]
        mesh = ax.pcolormesh(_edges(np.array(inner["values"])), _edges(np.array(outer["values"])),
                             np.ma.masked_invalid(ratio), shading="flat", cmap="magma", norm=Normalize(0, 1),
                             rasterized=True)
        fig.colorbar(mesh, ax=ax, label="R / $R_N$  (four-probe dV/dI, lock-in 100 nA)")
        ax.plot(par["tc"], par["fields"], "o-", color="C2", mec="k", ms=5, lw=1,
                label="$T_c(B)$ of the R-T line cuts (Fig. 2b)")
        if math.isfinite(re["t_k"]):
            ax.plot([re["t_k"]], [0.0], "D", color="C0", mec="w", ms=8, clip_on=False,
                    label=f"$T_K$(B = 0) = {re['t_k']:.2f} K (R > {REENTRANT_THRESHOLD:.0%} $R_N$)")
        if math.isfinite(phase["b_k"]):
            ax.plot([phase["temperature"]], [phase["b_k"]], "D", color="C9", mec="w", ms=8, clip_on=False,
                    label=f"$B_K$({phase['temperature']:.1f} K) = {phase['b_k']:.2f} T")
        ax.text(7.1, 5.0, "N", color="k", fontsize=14, ha="center", weight="bold")
        ax.text(5.0, 6.0, "SC", color="w", fontsize=14, ha="center", weight="bold")
        ax.text(2.6, 0.8, "FM + SC", color="w", fontsize=12, ha="center", weight="bold")
        ax.set_xlabel("temperature T (K)")
        ax.set_ylabel("in-plane field $B_\\parallel$ (T)")
        ax.grid(False)
        ax.legend(loc="upper right", fontsize=7, framealpha=0.9)
        ax.set_title("Fig. 2a - ($B_\\parallel$, T) phase diagram of A01 (rt-map, snake)\n"
                     "re-entrant resistive phase (FM + SC) below $T_K$ and $B_K$; paper: R(1.5 K) ≈ 0.4 $R_N$")
    return _save(fig, out, "fig2a_phase_diagram.png")


def figure_2b(out, inputs=None) -> str:
    """Fig. 2b: R-T line cuts at discrete in-plane fields."""
    import matplotlib
    from cryo_acq.report.plotting import new_figure, _style

    labels = sorted((k for k in inputs if k.startswith("A01-rt-") and k.endswith("T") and k != "A01-rt-transition"),
                    key=lambda k: float(k[len("A01-rt-"):-1]))
    re = inputs["fit:reentrant"]
    fig, ax = new_figure(7.4, 4.8)
    with _style():
        colours = matplotlib.colormaps["viridis"](np.linspace(0, 0.9, len(labels)))
        for label, c in zip(labels, colours):
            run = _load(inputs, label)
            b = float(np.nanmean(run.data["field"]))
            ax.plot(run.data["temperature"], run.data["resistance"], "-", lw=1.3, color=c,
                    label=f"$B_\\parallel$ = {b:.3g} T")
        ax.axhline(re["ratio"] * re["fit"]["R_N"], color="grey", ls=":", lw=1)
        ax.annotate(f"R(1.5 K) = {re['ratio']:.3f} $R_N$ (B = 0)", (1.6, re["ratio"] * re["fit"]["R_N"]),
                    xytext=(0, 4), textcoords="offset points", fontsize=8, color="grey")
        ax.set_xlabel("temperature T (K)")
        ax.set_ylabel("four-probe resistance R (Ω)  [lock-in 100 nA]")
        ax.set_xlim(1.4, 7.6)
        ax.legend(loc="center right", fontsize=7)
        ax.set_title("Fig. 2b - R-T of A01 at in-plane fields (continuous cool-down, 0.1 K/min)\n"
                     "resistive re-entrance below $T_K$, screened above $B_K$; $T_c$ falls with field")
    return _save(fig, out, "fig2b_rt_fields.png")


def _spectra_figure(out, inputs, label, fits_name, versus, filename, title):
    from cryo_acq.report.plotting import draw_didv, new_figure, _style

    run = _load(inputs, label)
    fits = inputs[fits_name]["fits"]
    fig, (ax, ax_par) = new_figure(12.0, 5.0, 1, 2, gridspec_kw={"width_ratios": [1.5, 1]})
    offset = 35e-6
    with _style():
        lines = draw_didv(ax, run, offset=offset, legend=False)
        for k, (label, (v, g)) in enumerate(lines.items()):  # each curve named at its right end
            ok = np.isfinite(v) & np.isfinite(g)
            ax.annotate(label, (4.55, (g[ok][np.argmax(v[ok])] + k * offset) * 1e6), fontsize=7, va="center",
                        annotation_clip=False)
        handles = []
        for k, fit in enumerate(fits):
            x, y = fit.notes.get("fine", (fit.x, fit.curve))
            handles += ax.plot(np.asarray(x) * 1e3, (np.asarray(y) + k * offset) * 1e6, "k--", lw=0.8,
                               label="eq. 1 fits (p wave + zero-bias Gaussian)")
        ax.legend(handles=handles[:1], fontsize=7, loc="upper left")
        ax.set_xlim(-4.5, 4.5)
        ax.set_title(title)
        if versus == "temperature":
            xs = np.array([f.notes["temperature"] for f in fits])
            xlabel = "temperature T (K)"
        else:
            xs = np.array([f.notes["setpoint"] for f in fits])
            xlabel = "in-plane field $B_\\parallel$ (T)"
        gap = np.array([f["delta0_eV"] for f in fits]) * 1e3
        gap_e = np.array([f.error("delta0_eV") for f in fits]) * 1e3
        height = np.array([f["zbp_height"] for f in fits])
        height_e = np.array([f.error("zbp_height") for f in fits])
        ax_par.errorbar(xs, gap, yerr=gap_e, fmt="o-", color="C0", ms=4, label="gap $\\Delta_0$ (meV)")
        ax_par.set_xlabel(xlabel)
        ax_par.set_ylabel("fitted gap $\\Delta_0$ (meV)", color="C0")
        twin = ax_par.twinx()
        twin.errorbar(xs, height, yerr=height_e, fmt="s-", color="C3", ms=4,
                      label="ZBP height $\\sigma_{ZBP}/\\sigma_N$")
        twin.set_ylabel("fitted zero-bias peak height $\\sigma_{ZBP}/\\sigma_N$", color="C3")
        twin.grid(False)
        ax_par.set_title("eq. 1 fits: gap and zero-bias peak")
        lines = ax_par.get_legend_handles_labels()
        lines2 = twin.get_legend_handles_labels()
        ax_par.legend(lines[0] + lines2[0], lines[1] + lines2[1], loc="center right", fontsize=7)
    return _save(fig, out, filename)


def figure_2c(out, inputs=None) -> str:
    return _spectra_figure(out, inputs, "A01-didv-temperature", "fit:didv-temperature", "temperature",
                           "fig2c_didv_temperature.png",
                           "Fig. 2c - two-probe dI/dV of the A01 junction at B = 0 [SMU DC + lock-in 10 nA]\n"
                           "zero-bias peak below $T_K$ only")


def figure_2d(out, inputs=None) -> str:
    return _spectra_figure(out, inputs, "A01-didv-field", "fit:didv-field", "field", "fig2d_didv_field.png",
                           "Fig. 2d - dI/dV of the A01 junction at 1.5 K in in-plane fields\n"
                           "zero-bias peak below $B_K$ only")


def figure_3b(out, inputs=None) -> str:
    """Fig. 3b: the TMR loop at 2.0 K (0.1 uA) over the Co AMR loop at 2 K."""
    from cryo_acq.report.plotting import draw_loop, new_figure, _style

    label = tmr_label(TMR_FIG3B_T, TMR_BIAS)
    tmr, amr = _load(inputs, label), _load(inputs, "A01-amr-2K")
    s, a = inputs["fit:tmr"][label], inputs["fit:amr"]
    fig, (ax, ax_amr) = new_figure(7.0, 7.0, 2, 1, sharex=True)
    with _style():
        draw_loop(ax, tmr, "resistance", 1e3, 1e-3)
        if s.get("valid"):
            for b in s["up"]:
                ax.axvline(b * 1e3, color="C3", ls=":", lw=0.8)
            for b in s["down"]:
                ax.axvline(b * 1e3, color="C0", ls=":", lw=0.8)
            ax.annotate(f"ΔR = {_err(s['delta_r'], s['delta_r_error'])} Ω\n"
                        f"ΔR/R = {s['delta_r_over_r'] * 100:.2f} %", (0.02, 0.55), xycoords="axes fraction",
                        fontsize=8)
        ax.set_ylabel("junction dV/dI (kΩ)  [lock-in 10 nA]")
        ax.set_title(f"TMR of the Co / BN / Co-NbSe2 junction, T = {TMR_FIG3B_T:g} K, DC bias 0.1 µA\n"
                     "switch at the lower field: Co-NbSe2; at the higher field: Co")
        ax.legend(loc="upper right")
        base = a["up"]["r0"]
        draw_loop(ax_amr, amr, "resistance", 1e3, 1e3, offset=-base, ms=2)
        for name, spec in (("up", "C3"), ("down", "C0")):
            xs, ys = a[name]["fine"]
            ax_amr.plot(np.asarray(xs) * 1e3, (np.asarray(ys) - base) * 1e3, "-", color="k", lw=1,
                        label="Gaussian dip fits" if name == "up" else None)
        ax_amr.annotate(f"dip {a['up']['depth'] * 1e3:.0f} ± {a['up']['depth_error'] * 1e3:.0f} mΩ at "
                        f"{a['up']['field'] * 1e3:+.1f} mT (up), {a['down']['field'] * 1e3:+.1f} mT (down)",
                        (0.02, 0.06), xycoords="axes fraction", fontsize=8)
        ax_amr.set_ylabel(f"Co stripe dV/dI − {base:.3f} Ω (mΩ)")
        ax_amr.set_xlabel("in-plane field $B_\\parallel$ along the easy axis x (mT)")
        ax_amr.set_title("AMR of the Co contact alone, T = 2 K, lock-in 0.45 µA rms (the station's largest), τ = 1 s")
        ax_amr.legend(loc="upper right")
        fig.suptitle("Fig. 3b - TMR (top) against AMR of the Co contact (bottom), device A01")
    return _save(fig, out, "fig3b_tmr_amr.png")


def _loop_grid(out, inputs, labels, colours, captions, filename, suptitle):
    from cryo_acq.report.plotting import new_figure, _style

    n = len(labels)
    cols = 2
    rows = math.ceil(n / cols)
    fig, axes = new_figure(11.0, 2.3 * rows + 0.6, rows, cols, sharex=True, squeeze=False)
    axes = axes.ravel()
    with _style():
        for ax, label, c, caption in zip(axes, labels, colours, captions):
            run = _load(inputs, label)
            s = inputs["fit:tmr"].get(label) or inputs.get("fit:nl-switch", {}).get(label, {})
            column = "resistance" if "resistance" in run.data else "r_nonlocal"
            b, r, d = run.data["field"] * 1e3, run.data[column], run.data["direction"]
            factor = 1e-3 if column == "resistance" else 1.0
            for sign, marker, colour, name in ((1, "o", "C3", "up"), (-1, "v", "C0", "down")):
                rows_ = d == sign
                ax.plot(b[rows_], r[rows_] * factor, "-", marker=marker, ms=2.2, lw=0.7, color=colour,
                        label=f"{name} sweep")
            if not s.get("valid"):
                result = "no switching"
            elif column == "resistance":
                result = f"ΔR = {s['delta_r']:.4g} Ω, ΔR/R = {s['delta_r_over_r'] * 100:.3g} %"
            else:  # non-local: against the spin-independent background, not R_P
                background = 0.5 * (s["r_parallel"] + s["r_antiparallel"])
                result = (f"$R_{{AP}} - R_P$ = {s['delta_r']:.4g} Ω, {abs(s['delta_r']) / background * 100:.0f} % "
                          f"of the background {background:.3f} Ω")
            ax.set_title(f"{caption}: {result}", fontsize=8.5)
            for spine in ax.spines.values():
                spine.set_edgecolor(c)
                spine.set_linewidth(1.6)
            ax.set_ylabel("dV/dI (kΩ)" if column == "resistance" else "$R_{NL}$ (Ω)")
            values = r * factor  # the same relative scale whether it switches or not
            mid = 0.5 * (float(np.min(values)) + float(np.max(values)))
            half = 0.65 * max(float(np.ptp(values)), 0.05 * abs(mid) if column == "resistance" else 0.1)
            ax.set_ylim(mid - half, mid + half)
        for ax in axes[n:]:
            ax.set_visible(False)
        for ax in axes[max(0, n - cols):n]:
            ax.set_xlabel("in-plane field $B_\\parallel$ (mT)")
            ax.xaxis.set_tick_params(labelbottom=True)
        axes[0].legend(loc="upper left", fontsize=7)
        fig.suptitle(suptitle)
    return _save(fig, out, filename)


def _series_colours(n, cmap="plasma"):
    import matplotlib

    return [matplotlib.colors.to_hex(c) for c in matplotlib.colormaps[cmap](np.linspace(0.05, 0.9, max(n, 2)))[:n]]


def figure_3c(out, quick=False, inputs=None) -> str:
    temps = tmr_temperatures(quick)
    labels = [tmr_label(t, TMR_BIAS) for t in temps]
    return _loop_grid(out, inputs, labels, _series_colours(len(temps), "turbo"),
                      [f"T = {t:g} K" for t in temps], "fig3c_tmr_temperature.png",
                      "Fig. 3c - TMR loops of A01 against temperature (DC bias 0.1 µA): "
                      "bistable below $T_K$, the switching ΔR shrinking as T rises")


def figure_3e(out, quick=False, inputs=None) -> str:
    biases = tmr_biases(quick)
    labels = [tmr_label(TMR_FIG3B_T, i) for i in biases]
    return _loop_grid(out, inputs, labels, _series_colours(len(biases), "viridis"),
                      [f"I = {i * 1e6:g} µA" for i in biases], "fig3e_tmr_bias.png",
                      f"Fig. 3e - TMR loops of A01 against DC bias at {TMR_FIG3B_T:g} K: "
                      "switching only while the junction voltage is inside the gap")


def figure_3d(out, quick=False, inputs=None) -> str:
    """Fig. 3d: top, Delta R and Delta R/R of the TMR against T (with R_P, ED7); bottom, the
    2.0 K dI/dV inside the gap with the junction voltages of the bias series marked."""
    from cryo_acq.report.plotting import new_figure, _style

    temps, biases = tmr_temperatures(quick), tmr_biases(quick)
    tcol, bcol = _series_colours(len(temps), "turbo"), _series_colours(len(biases), "viridis")
    fits = inputs["fit:tmr"]
    run = _load(inputs, "A01-didv-temperature")
    fig, (ax, ax_g) = new_figure(7.4, 8.0, 2, 1)
    with _style():
        delta = [fits[tmr_label(t, TMR_BIAS)] for t in temps]
        dr = np.array([s["delta_r"] if s.get("valid") else 0.0 for s in delta])
        dr_e = np.array([s["delta_r_error"] if s.get("valid") else 0.0 for s in delta])
        rp = np.array([s.get("r_parallel", math.nan) for s in delta])
        ax.plot(temps, dr, "-", color="grey", lw=1)
        for t, v, e, c, s in zip(temps, dr, dr_e, tcol, delta):
            ax.errorbar([t], [v], yerr=[e], fmt="o" if s.get("valid") else "x", color=c, ms=8, mec="k")
        ax.axhline(500.0, color="k", ls="--", lw=0.8)
        ax.annotate("paper: saturates at 500 Ω (ΔR/R ~ 10 %) at 1.5 K", (temps[0], 505), fontsize=8)
        ax.set_xlabel("temperature T (K)")
        ax.set_ylabel("TMR switching ΔR (Ω)  [x: no switching]")
        twin = ax.twinx()
        twin.plot(temps, rp / 1e3, "s:", color="C2", ms=4, label="$R_P$: parallel level of each loop")
        twin.set_ylabel("junction resistance $R_P$ (kΩ), 0.1 µA", color="C2")
        twin.grid(False)
        twin.legend(loc="center right", fontsize=7)
        ax.set_title("top: TMR ΔR against T (loops of Fig. 3c, 0.1 µA); the dots are those of Fig. 3c")
        # bottom: dI/dV at 2.0 K with the bias series' operating points
        temps_run = np.array(run.plan["axes"][0]["values"])
        k = int(np.argmin(np.abs(temps_run - TMR_FIG3B_T)))
        currents = np.array(run.plan["axes"][1]["values"])
        v, g = run.grid["bias_voltage"][k], run.grid["didv"][k]
        ax_g.plot(v * 1e3, g * 1e6, "-", color="k", lw=1, label=f"dI/dV at {temps_run[k]:g} K (didv run)")
        for i, c in zip(biases, bcol):
            vi = float(np.interp(i, currents, v))
            gi = float(np.interp(vi, v, g))
            s = fits[tmr_label(TMR_FIG3B_T, i)]
            ax_g.plot([vi * 1e3], [gi * 1e6], "o" if s.get("valid") else "X", color=c, ms=9, mec="k",
                      label=f"{i * 1e6:g} µA → {vi * 1e3:.2f} mV: "
                            + ("switching" if s.get("valid") else "no switching"))
        marked = [float(np.interp(i, currents, v)) for i in biases]
        ax_g.set_xlim(-0.2, 1e3 * max(marked) * 1.08 + 0.1)
        ax_g.set_xlabel("junction bias voltage V (mV)")
        ax_g.set_ylabel("dI/dV (µS)")
        ax_g.legend(fontsize=7, loc="lower right")
        ax_g.set_title("bottom: the TMR biases of Fig. 3e on the 2.0 K spectrum (inside / outside the gap)")
        fig.suptitle("Fig. 3d - where the TMR exists: below $T_K$, and with the bias inside the gap")
    return _save(fig, out, "fig3d_delta_r.png")


def figure_4b(out, inputs=None) -> str:
    """Fig. 4b (+ ED8b): the non-local map and Delta R_NL(I_inj) of its lines."""
    from cryo_acq.report.plotting import draw_map, new_figure, _style

    run = _load(inputs, "B-nl-map-L08")
    m = inputs["fit:nl-map"]
    fig, (ax, ax_d) = new_figure(12.0, 4.8, 1, 2, gridspec_kw={"width_ratios": [1.4, 1]})
    with _style():
        draw_map(ax, run, "r_nonlocal", diverging=True)
        ax.set_title("$R_{NL}(B_\\parallel, I_{inj})$, channel L = 0.8 µm, 53 mK\n"
                     "each line: -40 mT, then 0 → +40 mT (antiparallel between the two coercive fields)")
        ax_d.plot(m["currents"] * 1e6, m["delta_r"], "o-", ms=3.5, color="C0", label="$ΔR_{NL} = R_P - R_{AP}$")
        ax_d.plot(m["currents"] * 1e6, 0.5 * (m["r_parallel"] + m["r_antiparallel"]), "s", ms=3, color="grey",
                  label=f"background $(R_P + R_{{AP}})/2$, median {m['background']:.3f} Ω")
        ax_d.axhline(0.0, color="k", lw=0.6)
        if math.isfinite(m["sign_change"]):
            ax_d.axvline(m["sign_change"] * 1e6, color="C3", ls=":",
                         label=f"sign change at $I_{{inj}}$ = {m['sign_change'] * 1e6:.2f} µA")
        ax_d.set_xlabel("injection current $I_{inj}$ (µA)")
        ax_d.set_ylabel("non-local switching $ΔR_{NL}$ (Ω)")
        ax_d.set_title(f"ED8b: switching of each line\nlargest |ΔR| = {m['max_ratio'] * 100:.0f} % of the background")
        ax_d.legend(fontsize=7, loc="lower center")
        fig.suptitle("Fig. 4b - non-local spin valve map, device B (dilution-b)")
    return _save(fig, out, "fig4b_nl_map.png")


def figure_4c(out, quick=False, inputs=None) -> str:
    currents = nl_currents(quick)
    labels = [f"B-nl-switch-{i * 1e6:g}uA" for i in currents]
    inputs = {**inputs, "fit:tmr": inputs["fit:nl-switch"]}
    return _loop_grid(out, inputs, labels, _series_colours(len(currents), "viridis"),
                      [f"$I_{{inj}}$ = {i * 1e6:g} µA" for i in currents], "fig4c_nl_switch.png",
                      "Fig. 4c - non-local switching loops, L = 0.8 µm, 53 mK: the injection current sets the "
                      "size and sign, not the switching fields")


def figure_4d(out, inputs=None) -> str:
    """Fig. 4d: Hanle curves of the three channels, parallel and antiparallel, with the fits."""
    from cryo_acq.report.plotting import draw_hanle, new_figure, _style

    fig, axes = new_figure(15.0, 4.8, 1, 3, sharey=True)
    with _style():
        for ax, channel in zip(axes, CHANNELS):
            h = inputs[f"fit:hanle-{channel}"]
            for alignment in ("P", "AP"):
                draw_hanle(ax, _load(inputs, f"B-hanle-{channel}-{alignment}"), ms=2)
            eq = "eq. 4 (vortex)" if h["model"] == "hanle-vortex" else "eq. 3"
            for k, name in enumerate(("parallel", "antiparallel")):
                fit = h[name]
                x, y = fit.notes.get("fine", (fit.x, fit.curve))
                ax.plot(x, y, "-", color="k", lw=1.1, label=f"{eq} fits" if k == 0 else None)
            if "standard" in h:  # eq. 3 on the long channel, for comparison (spin signal about the background)
                std, spin = h["standard"], h["spin"]
                x, y = std.notes.get("fine", (std.x, std.curve))
                bg = 0.5 * (h["parallel"]["offset"] + h["antiparallel"]["offset"])
                ax.plot(x, np.asarray(y) + bg, ":", color="grey", lw=1.3, label="eq. 3 (no vortices), parallel")
            spin = h["spin"]
            text = (f"$\\lambda_s$ = {_err(spin['lambda_s'], spin.error('lambda_s'), 1e6)} µm\n"
                    f"D = {spin['D']:.3g} m²/s, τ = {spin['tau'] * 1e12:.3g} ps")
            if "B_v" in spin.values:
                text += f"\n$B_v$ = {spin['B_v']:.3g} T"
            if channel == "L08" and math.isfinite(h["sign_change"]):
                text += f"\nsign change at ±{h['sign_change']:.3f} T"
                for s_ in (-1, 1):
                    ax.axvline(s_ * h["sign_change"], color="C2", ls="--", lw=0.8)
            if channel == "L30":
                second = [e for e in h["extrema"] if e[0] > 0.25]
                if second:
                    text += f"\nsecond peak at ±{second[0][0]:.2f} T"
                    for s_ in (-1, 1):
                        ax.axvline(s_ * second[0][0], color="C2", ls="--", lw=0.8)
            ax.text(0.03, 0.04, text, transform=ax.transAxes, fontsize=7.5, va="bottom",
                    bbox={"facecolor": "w", "alpha": 0.85, "edgecolor": "0.8"})
            ax.axhline(0.0, color="k", lw=0.5)
            ax.set_title(f"channel {channel}: L = {h['length'] * 1e6:g} µm")
            ax.set_xlabel("out-of-plane field $B_\\perp$ (T)")
            ax.legend(loc="upper right", fontsize=7)
        axes[0].set_ylabel("non-local resistance $R_{NL}$ (Ω)  [lock-in 50 nA]")
        fig.suptitle("Fig. 4d - Hanle precession, device B, 46 mK, $I_{inj}$ = 0.1 µA "
                     "(electrodes set parallel / antiparallel in plane, then $B_\\perp$ swept)")
    return _save(fig, out, "fig4d_hanle.png")


# =========================================================================== the demo
def _tasks(specs: list[RunSpec], folder: pathlib.Path, out: pathlib.Path, quick: bool) -> list[Task]:
    tasks = [Task(s.label, "run", measure_run, (s, str(folder)),
                  cost=0.3 + s.plan_length() * _COST.get(s.procedure, 0.005), title=s.title) for s in specs]
    labels = [s.label for s in specs]
    rt_labels = tuple(f"A01-rt-{b:g}T" for b in rt_fields(quick))
    tmr_labels = tuple(sorted({tmr_label(t, TMR_BIAS) for t in tmr_temperatures(quick)}
                              | {tmr_label(TMR_FIG3B_T, i) for i in tmr_biases(quick)}))
    nl_labels = tuple(f"B-nl-switch-{i * 1e6:g}uA" for i in nl_currents(quick))
    hanle = {c: (f"B-hanle-{c}-P", f"B-hanle-{c}-AP") for c in CHANNELS}
    didv_cost = 1.0  # s per spectrum (a spectrum without a zero-bias peak can take 10)

    def fit(name, fn, args, deps, cost=0.3, title=""):
        tasks.append(Task(f"fit:{name}", "fit", fn, args, tuple(deps), cost, title or f"fit {name}"))

    fit("bkt", fit_bkt, ("A01-rt-transition",), ["A01-rt-transition"], title="BKT R(T) fit")
    fit("reentrant", fit_reentrant, ("A01-rt-0T",), ["A01-rt-0T"], title="R(1.5 K)/R_N and T_K")
    fit("vi", fit_vi, ("A01-vi",), ["A01-vi"], title="V-I exponents and T_BKT")
    fit("tc-parallel", fit_tc_parallel, (rt_labels,), rt_labels, title="T_c(B_par), pair breaking")
    fit("tc-perpendicular", fit_tc_perpendicular, ("B-rt-map-perp",), ["B-rt-map-perp"],
        title="T_c(B_perp), pair breaking")
    fit("phase", fit_phase, ("A01-rt-map",), ["A01-rt-map"], title="B_K from the phase diagram")
    for label, key in (("A01-didv-temperature", "temperatures"), ("A01-didv-field", "fields")):
        spec = next(s for s in specs if s.label == label)
        names = []
        for row, value in enumerate(spec.params[key].split(",")):
            name = f"{label.replace('A01-', '')}:{row}"
            unit = "K" if key == "temperatures" else "T"
            fit(name, fit_spectrum, (label, row), [label], didv_cost, title=f"dI/dV at {value.strip()} {unit}, eq. 1")
            names.append(f"fit:{name}")
        fit(label.replace("A01-", ""), gather_spectra, (tuple(names),), names, 0.0, title=f"{label} spectra")
    fit("tmr", fit_loops, (tmr_labels,), tmr_labels, title="TMR switching")
    fit("amr", fit_amr, ("A01-amr-2K",), ["A01-amr-2K"], title="Co AMR dip")
    fit("nl-map", fit_nl_map, ("B-nl-map-L08",), ["B-nl-map-L08"], title="non-local map lines")
    fit("nl-switch", fit_loops, (nl_labels,), nl_labels, title="non-local switching")
    for channel, pair in hanle.items():
        fit(f"hanle-{channel}", fit_hanle_channel, (channel,), pair, 1.0, title=f"Hanle {channel}")

    def figure(name, fn, deps, extra=()):
        tasks.append(Task(f"figure:{name}", "figure", fn, (str(out), *extra), tuple(deps), 0.8, name))

    figure("fig1c_vi.png", figure_1c, ["fit:vi", "fit:bkt", "A01-vi", "A01-rt-transition"])
    figure("fig1d_tc_vs_b.png", figure_1d, ["fit:tc-parallel", "fit:tc-perpendicular"])
    figure("fig2a_phase_diagram.png", figure_2a, ["A01-rt-map", "fit:tc-parallel", "fit:phase", "fit:reentrant"])
    figure("fig2b_rt_fields.png", figure_2b, [*rt_labels, "fit:reentrant"])
    figure("fig2c_didv_temperature.png", figure_2c, ["A01-didv-temperature", "fit:didv-temperature"])
    figure("fig2d_didv_field.png", figure_2d, ["A01-didv-field", "fit:didv-field"])
    figure("fig3b_tmr_amr.png", figure_3b, [tmr_label(TMR_FIG3B_T, TMR_BIAS), "A01-amr-2K", "fit:tmr", "fit:amr"])
    figure("fig3c_tmr_temperature.png", figure_3c, [*tmr_labels, "fit:tmr"], (quick,))
    figure("fig3d_delta_r.png", figure_3d, ["fit:tmr", "A01-didv-temperature"], (quick,))
    figure("fig3e_tmr_bias.png", figure_3e, [*tmr_labels, "fit:tmr"], (quick,))
    figure("fig4b_nl_map.png", figure_4b, ["B-nl-map-L08", "fit:nl-map"])
    figure("fig4c_nl_switch.png", figure_4c, [*nl_labels, "fit:nl-switch"], (quick,))
    figure("fig4d_hanle.png", figure_4d, [*(l for p in hanle.values() for l in p),
                                          *(f"fit:hanle-{c}" for c in CHANNELS)])
    assert all(d in {t.name for t in tasks} for t in tasks for d in t.deps), "campaign and tasks disagree"
    assert set(labels) <= {t.name for t in tasks}
    return tasks


#: every panel figure the demo writes (paper panel -> file)
FIGURES = {
    "Fig. 1c": "fig1c_vi.png", "Fig. 1d": "fig1d_tc_vs_b.png", "Fig. 2a": "fig2a_phase_diagram.png",
    "Fig. 2b": "fig2b_rt_fields.png", "Fig. 2c": "fig2c_didv_temperature.png", "Fig. 2d": "fig2d_didv_field.png",
    "Fig. 3b": "fig3b_tmr_amr.png", "Fig. 3c": "fig3c_tmr_temperature.png", "Fig. 3d": "fig3d_delta_r.png",
    "Fig. 3e": "fig3e_tmr_bias.png", "Fig. 4b": "fig4b_nl_map.png", "Fig. 4c": "fig4c_nl_switch.png",
    "Fig. 4d": "fig4d_hanle.png",
}


def steps(quick: bool = False) -> int:
    """How many runs, fits and figures the demo does (for a progress bar)."""
    scratch = pathlib.Path("demo")
    return len(_tasks(campaign(quick), scratch, scratch, quick))


def run_demo(out="demo", jobs: int = 2, quick: bool = False,
             progress: Callable[[str], None] | None = None) -> pathlib.Path:
    """Measure the paper's campaign on the simulated stations, fit it, draw one figure per
    paper panel and write ``summary.md``; returns the summary's path.

    ``out``: output folder (figures and summary; run files in ``out/runs/<date-time>/``,
    never overwritten). ``jobs``: worker processes (each builds its own station per run;
    1: everything in this process). ``quick``: a reduced campaign (coarser steps, fewer
    temperatures) with the same figures and summary, for tests. ``progress``: called with
    a line of text as each run, fit and figure completes.

    The workers are spawned processes: from a script, call this under
    ``if __name__ == "__main__":``.
    """
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = out / "runs" / stamp
    n = 1
    while folder.exists():
        n += 1
        folder = out / "runs" / f"{stamp}-{n}"
    folder.mkdir(parents=True)
    specs = campaign(quick)
    tasks = _tasks(specs, folder, out, quick)
    counts = {"run": 0, "fit": 0, "figure": 0}
    totals = {kind: sum(t.kind == kind for t in tasks) for kind in counts}
    lab = [0.0]
    t0 = time.perf_counter()

    def on_done(task, result, seconds):
        counts[task.kind] += 1
        if task.kind == "run":
            if result.status != "finished":
                raise RuntimeError(f"demo run {task.name} did not finish: {result.status} ({result.reason}); "
                                   f"file {result.path}")
            lab[0] += result.lab_seconds
            line = (f"run {counts['run']}/{totals['run']}  {task.title}: {result.points} points, "
                    f"{result.lab_seconds / 3600:.2f} h of lab time in {result.wall_seconds:.1f} s")
        elif task.kind == "fit":
            line = f"fit {counts['fit']}/{totals['fit']}  {task.title} ({seconds:.1f} s)"
        else:
            line = f"figure {counts['figure']}/{totals['figure']}  {task.title}"
        if progress:
            progress(f"[{time.perf_counter() - t0:5.1f} s] {line}")

    results = execute(tasks, jobs=jobs, on_done=on_done)
    wall = time.perf_counter() - t0
    summary = write_summary(out, specs, results, wall=wall, jobs=jobs, quick=quick)
    if progress:
        progress(f"done in {wall:.1f} s wall: {lab[0] / 3600:.1f} h of lab time "
                 f"({lab[0] / wall:.0f} lab s per wall s)")
    return summary


# =========================================================================== summary.md
def _fv(value, error=None, factor=1.0, unit="") -> str:
    """'value ± error unit' (two significant digits of the error), or 'n/a'."""
    from cryo_acq.analysis.result import format_value

    if value is None or not _finite(value):
        return "n/a"
    err = None if error is None or not _finite(error) or error <= 0 else error * factor
    if err is None:  # no error to set the digits: four significant ones
        return f"{value * factor:.4g}" + (f" {unit}" if unit else "")
    return format_value(value * factor, err, unit).replace("+-", "±")


def _finite(x) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _table(rows) -> list[str]:
    lines = ["| quantity | demo (fit ± 1σ) | paper | how (run → fit) | figure |", "|---|---|---|---|---|"]
    for quantity, value, paper, how, figure in rows:
        link = f"[{figure}]({figure})" if figure else ""
        cells = (str(c).replace("|", "\\|") for c in (quantity, value, paper, how))  # a bar would end the cell
        lines.append("| " + " | ".join(cells) + f" | {link} |")
    return lines


def _ratio_error(s: dict) -> float:
    """Error of Delta R / R_P from the errors of the two levels."""
    dr, rp = s["delta_r"], s["r_parallel"]
    return abs(dr / rp) * math.hypot(s["delta_r_error"] / dr, s["r_parallel_error"] / rp) if dr and rp else math.nan


def _summary_rows(results: dict, quick: bool) -> dict[str, list]:
    f1c, f1d, f2a, f2b = (FIGURES[k] for k in ("Fig. 1c", "Fig. 1d", "Fig. 2a", "Fig. 2b"))
    bkt = results["fit:bkt"]["fit"]
    vi = results["fit:vi"]["bkt"]
    re = results["fit:reentrant"]
    par = results["fit:tc-parallel"]["fit"]
    perp = results["fit:tc-perpendicular"]["fit"]
    phase = results["fit:phase"]
    topics: dict[str, list] = {}
    topics["Superconducting transition and BKT (device A01, vti-a01)"] = [
        ("$T_{c0}$: onset, R = 0.9 $R_N$", _fv(bkt["Tc0"], bkt.error("Tc0"), unit="K"),
         "~ 6.6 K (main text; ED10: 6.60 K)", "A01-rt-transition → `bkt-rt`", f1c),
        ("$T_{BKT}$, Halperin-Nelson R(T)", _fv(bkt["T_BKT"], bkt.error("T_BKT"), unit="K"),
         "≈ 6.35 K (ED3d)", "A01-rt-transition → `bkt-rt`", f1c),
        ("$T_{BKT}$ where the V-I exponent α = 3", _fv(vi["T_BKT"], vi.error("T_BKT"), unit="K"),
         "α approaches 3 at T = 6.3 K (Fig. 1c)", "A01-vi → `vi` (α over the lowest decade of current)", f1c),
        ("normal resistance $R_N$ just above $T_c$", _fv(bkt["R_N"], bkt.error("R_N"), unit="Ω"),
         "not quoted", "A01-rt-transition → `bkt-rt`", f1c),
        (f"R({re['ratio_temperature']:.2f} K) / $R_N$ at B = 0", _fv(re["ratio"], re["ratio_error"]),
         "\"nearly 40%\" at 1.5 K (main text)", "A01-rt-0T: mean of the readings within 50 mK of the coldest "
         "/ $R_N$ of its `bkt-rt` fit", f2b),
        (f"$\\xi_{{GL}}(0)$, in-plane $T_c(B_\\parallel)$ ≤ {PAIR_BREAKING_MAX_FIELD:g} T, d = 12 nm",
         _fv(par["xi_gl"], par.error("xi_gl"), 1e9, "nm"), "5.7 ± 1.2 nm (ED10, A01)",
         f"A01-rt-0T … {PAIR_BREAKING_MAX_FIELD:g}T → `pair-breaking` (parallel)", f1d),
        ("$T_{c0}$ of that fit", _fv(par["tc0"], par.error("tc0"), unit="K"), "6.60 K (ED10)",
         "as above", f1d),
        ("electronic D of that fit (dirty limit)", _fv(par["D"], par.error("D"), 1e4, "cm²/s"),
         "not quoted", "D = 8 $k_B T_{c0} \\xi^2$ / (π ħ)", f1d),
        ("$\\xi_{GL}(0)$ of device B, out-of-plane $T_c(B_\\perp)$", _fv(perp["xi_gl"], perp.error("xi_gl"), 1e9, "nm"),
         "not given (ED10: \"NA\")", "B-rt-map-perp → `pair-breaking` (perpendicular)", f1d),
        ("$T_{c0}$ of device B", _fv(perp["tc0"], perp.error("tc0"), unit="K"), "3.50 K (ED10)", "as above", f1d),
    ]
    topics["Re-entrant resistive phase (device A01)"] = [
        (f"$T_K$ at B = 0: R rises above {REENTRANT_THRESHOLD:.0%} $R_N$ again", _fv(re["t_k"], unit="K"),
         "$T_K$ < $T_{C0}$; no value quoted (Fig. 2a)", "A01-rt-0T, threshold, interpolated (not a fit)", f2a),
        (f"$B_{{K\\parallel}}$ at {phase['temperature']:.1f} K: R falls below {REENTRANT_THRESHOLD:.0%} $R_N$",
         _fv(phase["b_k"], unit="T"), "no value quoted in plane (ED4b: re-entry near 2 T out of plane at 1.5 K)",
         "A01-rt-map, threshold, interpolated between 0.5 T rows (not a fit)", f2a),
    ]
    # --- tunnelling
    f2c, f2d = FIGURES["Fig. 2c"], FIGURES["Fig. 2d"]
    spectra_t = results["fit:didv-temperature"]["fits"]
    spectra_b = results["fit:didv-field"]["fits"]
    cold = spectra_t[0]

    def zbp_present(fit):
        h, e = fit["zbp_height"], fit.error("zbp_height")
        return h > 0.05 and (not _finite(e) or h > 3 * e)

    def edges(fits, key):
        present = [key(f) for f in fits if zbp_present(f)]
        absent = [key(f) for f in fits if not zbp_present(f)]
        last = max(present) if present else math.nan
        first_absent = min([a for a in absent if not present or a > last], default=math.nan)
        return last, first_absent

    t_last, t_absent = edges(spectra_t, lambda f: f.notes["setpoint"])
    b_last, b_absent = edges(spectra_b, lambda f: f.notes["setpoint"])
    topics["Tunnelling spectroscopy, Co / BN / Co-NbSe2 junction (device A01)"] = [
        (f"gap $\\Delta_0$ at {cold.notes['temperature']:.2f} K (eq. 1, p wave, with zero-bias peak)",
         _fv(cold["delta0_eV"], cold.error("delta0_eV"), 1e3, "meV"), "not quoted (p-wave fits, Methods eq. 1)",
         "A01-didv-temperature → `didv`", f2c),
        ("Dynes broadening Γ at that temperature", _fv(cold["gamma_eV"], cold.error("gamma_eV"), 1e3, "meV"),
         "not quoted", "as above", f2c),
        ("zero-bias peak height $\\sigma_{ZBP}/\\sigma_N$ at that temperature",
         _fv(cold["zbp_height"], cold.error("zbp_height")), "not quoted (\"prominent ZBP\")", "as above", f2c),
        ("zero-bias peak present up to / absent from (B = 0)",
         f"{_fv(t_last, unit='K')} / {_fv(t_absent, unit='K')}", "ZBP only for T < $T_K$ (Fig. 2c)",
         "fitted height > 0.05 and > 3σ", f2c),
        ("zero-bias peak present up to / absent from (1.5 K)", f"{_fv(b_last, unit='T')} / {_fv(b_absent, unit='T')}",
         "ZBP only for B < $B_K$ (Fig. 2d)", "A01-didv-field → `didv`, same criterion", f2d),
    ]
    # --- TMR
    tmr = results["fit:tmr"]
    f3b, f3c, f3d, f3e = (FIGURES[k] for k in ("Fig. 3b", "Fig. 3c", "Fig. 3d", "Fig. 3e"))
    base = tmr[tmr_label(min(tmr_temperatures(quick)), TMR_BIAS)]
    at2 = tmr[tmr_label(TMR_FIG3B_T, TMR_BIAS)]
    amr = results["fit:amr"]
    rows = []
    if base.get("valid"):
        rows += [
            (f"TMR ΔR at {base['temperature']:.2f} K, 0.1 µA", _fv(base["delta_r"], base["delta_r_error"], unit="Ω"),
             "saturates at 500 Ω at 1.5 K (main text)", f"{tmr_label(min(tmr_temperatures(quick)), TMR_BIAS)} → "
             "`switching_fields`", f3c),
            ("TMR ΔR/R there", _fv(base["delta_r_over_r"], _ratio_error(base), 100, "%"), "ΔR/R ~ 10 % (main text)",
             "ΔR / $R_P$", f3c),
            ("junction $R_P$ there", _fv(base["r_parallel"], base["r_parallel_error"], 1e-3, "kΩ"), "not quoted",
             "parallel level", f3c),
        ]
    if at2.get("valid"):
        low = 0.5 * (abs(at2["up"][0]) + abs(at2["down"][0]))
        high = 0.5 * (abs(at2["up"][1]) + abs(at2["down"][1]))
        rows += [
            (f"TMR ΔR at {at2['temperature']:.2f} K, 0.1 µA", _fv(at2["delta_r"], at2["delta_r_error"], unit="Ω"),
             "\"up to 500 Ω\" at 2.0 K (Fig. 3b)", f"{tmr_label(TMR_FIG3B_T, TMR_BIAS)} → `switching_fields`", f3b),
            ("lower switching field (Co-NbSe2)", _fv(low, at2["step"] / math.sqrt(12), 1e3, "mT"),
             "the lower switch is Co-NbSe2; no value quoted (Fig. 3b)", "mean of the up and down sweeps", f3b),
            ("higher switching field (Co)", _fv(high, at2["step"] / math.sqrt(12), 1e3, "mT"),
             "the higher switch is the Co electrode (ED6)", "as above", f3b),
        ]
    rows.append(("Co AMR dip at 2 K (up sweep)", _fv(amr["up"]["depth"], amr["up"]["depth_error"], 1e3, "mΩ"),
                 "\"around 0.15 Ω\" (Fig. 3b)", "A01-amr-2K → Gaussian dip (scipy, in `cryo_acq.report.demo`)", f3b))
    rows.append(("field of the AMR dip (up / down)",
                 f"{_fv(amr['up']['field'], amr['up']['field_error'], 1e3, 'mT')} / "
                 f"{_fv(amr['down']['field'], amr['down']['field_error'], 1e3, 'mT')}",
                 "at the higher (Co) switching field (ED6)", "as above", f3b))
    temps = tmr_temperatures(quick)
    valid_t = [t for t in temps if tmr[tmr_label(t, TMR_BIAS)].get("valid")]
    gone_t = [t for t in temps if not tmr[tmr_label(t, TMR_BIAS)].get("valid") and (not valid_t or t > max(valid_t))]
    rows.append(("TMR switching seen up to / gone at (0.1 µA)",
                 f"{max(valid_t) if valid_t else 'n/a'} K / {min(gone_t) if gone_t else 'n/a'} K",
                 "only below $T_K$ (main text, ED7)", "loops of Fig. 3c → `switching_fields` (2 switches per sweep)",
                 f3d))
    biases = tmr_biases(quick)
    valid_i = [i for i in biases if tmr[tmr_label(TMR_FIG3B_T, i)].get("valid")]
    gone_i = [i for i in biases
              if not tmr[tmr_label(TMR_FIG3B_T, i)].get("valid") and (not valid_i or i > max(valid_i))]
    rows.append((f"TMR switching seen up to / gone at ({TMR_FIG3B_T:g} K)",
                 f"{max(valid_i) * 1e6:g} µA / {min(gone_i) * 1e6:g} µA" if valid_i and gone_i else "n/a",
                 "only with the bias inside the gap (Fig. 3e)", "loops of Fig. 3e → `switching_fields`", f3d))
    topics["Tunnelling magnetoresistance (device A01)"] = rows
    # --- non-local
    m = results["fit:nl-map"]
    nl = results["fit:nl-switch"]
    f4b, f4c, f4d = (FIGURES[k] for k in ("Fig. 4b", "Fig. 4c", "Fig. 4d"))
    first = nl[f"B-nl-switch-{nl_currents(quick)[0] * 1e6:g}uA"]
    ups = np.array([s["up"] for s in nl.values() if s.get("valid")])
    rows = [
        ("largest |$\\Delta R_{NL}$| / background (map)", _fv(m["max_ratio"] * 100, None, unit="%"),
         "more than 150 % of the background (main text, ED8)",
         f"B-nl-map-L08: `switching_fields` per line, background = median $(R_P + R_{{AP}})/2$ "
         f"= {m['background']:.4f} Ω; largest at $I_{{inj}}$ = {round(m['max_current'] * 1e6, 3) + 0.0:g} µA", f4b),
        ("$I_{inj}$ where $\\Delta R_{NL}$ changes sign", _fv(m["sign_change"], m["step"] / math.sqrt(12), 1e6, "µA"),
         "a sign change at finite $I_{inj}$ (Fig. 4b); no value quoted",
         "zero of $\\Delta R_{NL}(I_{inj})$, interpolated", f4b),
        ("largest |$I_{inj}$| with a spin signal", _fv(m["signal_edge"], None, 1e6, "µA"),
         "switching only with the injection inside the gap", "lines with two switches", f4b),
    ]
    if first.get("valid"):
        rows.append((f"$\\Delta R_{{NL}} = R_{{AP}} - R_P$ at {first['current'] * 1e6:g} µA",
                     _fv(first["delta_r"], first["delta_r_error"], unit="Ω"), "not quoted",
                     "nl-switch loop → `switching_fields`", f4c))
    if ups.size:
        rows.append(("switching fields (up sweep) over all $I_{inj}$: detector / injector",
                     f"{ups[:, 0].mean() * 1e3:.1f} ± {ups[:, 0].std() * 1e3:.1f} mT / "
                     f"{ups[:, 1].mean() * 1e3:.1f} ± {ups[:, 1].std() * 1e3:.1f} mT (spread)",
                     "\"does not obviously affect the switching fields\" (Fig. 4c)",
                     "nl-switch loops → `switching_fields`", f4c))
    topics["Non-local spin valve (device B, dilution-b)"] = rows
    # --- Hanle
    rows = []
    paper_lambda = {"L06": "~ 0.62 µm (Methods)", "L08": "~ 1.06 µm (Methods)", "L30": "not quoted"}
    for channel in CHANNELS:
        h = results[f"fit:hanle-{channel}"]
        spin = h["spin"]
        eq = "eq. 4" if h["model"] == "hanle-vortex" else "eq. 3"
        rows.append((f"$\\lambda_s$ = √(Dτ), L = {h['length'] * 1e6:g} µm ({eq})",
                     _fv(spin["lambda_s"], spin.error("lambda_s"), 1e6, "µm"), paper_lambda[channel],
                     f"B-hanle-{channel}-P/AP → `{h['model']}`, spin signal $(R_P - R_{{AP}})/2$", f4d))
        rows.append((f"D and τ, L = {h['length'] * 1e6:g} µm",
                     f"{_fv(spin['D'], spin.error('D'), 1e4, 'cm²/s')}; "
                     f"{_fv(spin['tau'], spin.error('tau'), 1e12, 'ps')}",
                     "not quoted", "as above", f4d))
        if channel == "L08":
            rows.append(("sign change of the Hanle signal, L = 0.8 µm", _fv(h["sign_change"], None, 1.0, "T"),
                         "±0.125 T (main text)", f"zero of the fitted curve (data, interpolated: "
                         f"{_fv(h['data_sign_change'], None, 1.0, 'T')})", f4d))
        if channel == "L30":
            second = [e for e in h["extrema"] if e[0] > 0.25]
            rows.append(("second peak, L = 3.0 µm", _fv(second[0][0] if second else math.nan, None, 1.0, "T"),
                         "±0.4 T, without a sign change (main text)", "extremum of the fitted eq. 4 curve", f4d))
            rows.append(("vortex field $B_v$, L = 3.0 µm", _fv(spin["B_v"], spin.error("B_v"), unit="T"),
                         "not quoted", "eq. 4 fit", f4d))
            std = h["standard"]
            rows.append(("residual rms, L = 3.0 µm: eq. 4 / eq. 3",
                         f"{spin.notes['residual_rms'] * 1e3:.2f} / {std.notes['residual_rms'] * 1e3:.2f} mΩ",
                         "eq. 3 \"cannot describe the second peak\" (Methods)", "the two fits of the spin signal", f4d))
    topics["Hanle precession (device B, 46 mK, $I_{inj}$ = 0.1 µA)"] = rows
    return topics


def write_summary(out: pathlib.Path, specs: list[RunSpec], results: dict, wall: float, jobs: int,
                  quick: bool = False) -> pathlib.Path:
    """``out/summary.md``: a table per topic (the demo's number, the paper's, how it was
    obtained, the figure), the figures, the run files, lab and wall time."""
    import os
    import platform

    runs = [results[s.label] for s in specs]
    lab = sum(r.lab_seconds for r in runs)
    lines = [
        "# cryo_acq demo: the paper's campaign on the simulated lab",
        "",
        f"{PAPER}, measured again on the simulated stations `vti-a01` (VTI, 10 T in-plane solenoid, device "
        "A01) and `dilution-b` (dilution fridge, vector magnet, device B), through the procedures and the "
        "runner, into the run files listed below. **Every number in the demo column is fitted from those run "
        "files** (`cryo_acq.analysis`; the few threshold estimates say so). The paper column quotes the paper.",
        "",
        f"Generated {_dt.datetime.now().astimezone().isoformat(timespec='seconds')} by `cryo-acq demo`"
        + (" (quick campaign: coarser steps, fewer temperatures)" if quick else "") + ". "
        f"**{len(runs)} runs, {sum(r.points for r in runs)} points, {lab / 3600:.1f} h of lab time simulated in "
        f"{wall:.1f} s of wall time ({lab / wall:.0f} lab seconds per wall second)**, {jobs} worker process"
        f"{'es' if jobs != 1 else ''} on {os.cpu_count()} CPU(s), Python {platform.python_version()}.",
        "",
        "Errors are one standard deviation from the fit's covariance (residual variance); they reflect the "
        "simulated noise only, not the model's systematic choices (see docs/sample-model.md).",
        "",
    ]
    for k, (topic, rows) in enumerate(_summary_rows(results, quick).items(), 1):
        lines += [f"## {k}. {topic}", "", *_table(rows), ""]
    lines += ["## Figures", "", "| paper panel | figure |", "|---|---|"]
    lines += [f"| {panel} | [{name}]({name}) |" for panel, name in FIGURES.items()]
    lines += ["", "## Differences from the paper's measurements", ""]
    lines += [f"- {note}" for note in DIFFERENCES]
    lines += ["", "## Run files", "",
              f"In `{pathlib.Path(runs[0].path).parent.relative_to(out).as_posix()}/`; open one with "
              "`cryo_acq.run.storage.load_run`, plot it with `cryo-acq plot FILE`, fit it with `cryo-acq fit MODEL FILE`.",
              "", "| run file | procedure | what | points | lab time | status |", "|---|---|---|---|---|---|"]
    for r in runs:
        rel = pathlib.Path(r.path).relative_to(out).as_posix()
        lines.append(f"| [{pathlib.Path(r.path).name}]({rel}) | {r.spec.procedure} | {r.spec.title} | {r.points} | "
                     f"{r.lab_seconds / 3600:.2f} h | {r.status} |")
    lines += ["", f"Total: {lab / 3600:.1f} h of simulated lab time ({lab:.0f} s) in {wall:.1f} s wall time.", ""]
    path = out / "summary.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


DIFFERENCES = [
    "Fig. 1d: the paper plots $B_{c2\\parallel}/B_{Pauli}$ against $T_c$ for devices A, C and E. The shipped "
    "stations hold A01 (`vti-a01`, in-plane field only, ≤ 10 T) and B (`dilution-b`, ≤ 2 T out of plane), so the "
    "panel shows $T_c(B_\\parallel)$ of A01 (fitted up to 6 T, where the orbital limit is the lower one; 8 and 10 T "
    "are Pauli-limited and shown unfitted) and $T_c(B_\\perp)$ of B. $B_{c2\\parallel}$ of A01 (≈ 12 T) is beyond "
    "the 10 T magnet. The coherence length uses the dirty-limit D(ξ) relation (docs/sample-model.md), not the "
    "paper's dimensionally inconsistent one.",
    "Fig. 1c: the R-T across the transition (ED3d) and α(T) (the inset) are drawn beside the V-I curves.",
    "R-T line cuts are continuous cool-downs at 0.1 K/min (readings as the sample passes each temperature, a few "
    "mK behind); the phase-diagram map is stepped (0.25 K × 0.5 T) and coarser than the paper's.",
    "Fig. 2b: lock-in current 100 nA (the paper: 1 µA; the station's SR830 drives at most 0.5 µA through its "
    "10 MΩ series resistor).",
    "Fig. 3b: the Co AMR is measured at 0.45 µA rms (the paper: 10 µA) with the demo's `amr` loop (the `tmr` loop "
    "on the `co_amr` wiring; the procedures package has no AMR procedure).",
    "Fig. 3d top: the paper shows the junction's zero-field R-T; there is no two-probe R-T procedure, so the "
    "junction resistance is the parallel level $R_P$ of each TMR loop (as ED7).",
    "Fig. 3c: no loop at exactly $T_K$ (4.5 K in the model): see `tmr_temperatures` in `cryo_acq/report/demo.py`.",
    "Fig. 4b: 0.25 µA × 1 mT steps (the paper: 0.05 µA), to keep the demo under three minutes.",
]
