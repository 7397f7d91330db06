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
import pathlib
import time
from typing import Callable


from cryo_acq.report.paper_figures import (FIGURES, figure_1c, figure_1d, figure_2a, figure_2b, figure_2c,
                                           figure_2d, figure_3b, figure_3c, figure_3d, figure_3e, figure_4b,
                                           figure_4c, figure_4d)
from cryo_acq.report.paper_fits import (fit_amr, fit_bkt, fit_hanle_channel, fit_loops, fit_nl_map, fit_phase,
                                        fit_reentrant, fit_spectrum, fit_tc_parallel, fit_tc_perpendicular, fit_vi,
                                        gather_spectra)
from cryo_acq.report.paper_runs import (_COST, CHANNELS, PAPER_SEQUENCES, TMR_BIAS, TMR_FIG3B_T, RunSpec, campaign,
                                        measure_run, nl_currents, paper_campaign, quick_campaign, rt_fields,
                                        tmr_biases, tmr_label, tmr_temperatures)
from cryo_acq.report.paper_summary import write_summary
from cryo_acq.report.scheduling import Task, execute


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


__all__ = ["FIGURES", "PAPER_SEQUENCES", "RunSpec", "Task", "campaign", "execute", "paper_campaign", "quick_campaign",
           "run_demo", "steps", "write_summary"]
