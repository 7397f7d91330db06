"""``cryo-acq demo`` and ``cryo-acq plot RUNFILE``.

Registered in :mod:`cryo_acq.cli.main` with ``main.add_command(demo)`` and
``main.add_command(plot)``. The work is in :mod:`cryo_acq.report.demo` and
:mod:`cryo_acq.report.plotting`; the analysis package is imported only when a fit is asked for.
"""

from __future__ import annotations

import pathlib

import click

__all__ = ["demo", "plot"]


@click.command("demo")
@click.option("--out", "out", default="demo", show_default=True, type=click.Path(file_okay=False),
              help="Folder for the figures, summary.md and the run files (runs/<date-time>/).")
@click.option("--jobs", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes for the fits and figures (each station runs in a process of its own).")
@click.option("--quick", is_flag=True, help="A reduced campaign (coarser steps, fewer temperatures), same outputs.")
def demo(out, jobs, quick):
    """Measure the paper's campaign on the simulated stations, fit it, and write one figure
    per paper panel and summary.md (each fitted number beside the paper's): the shipped
    sequences paper-a01 and paper-b, both stations at once, then the shipped report `paper`
    (`cryo-acq sequence paper-a01 paper-b --sim` and `cryo-acq report paper FOLDER` do the same).

    \b
    Runs (vti-a01, device A01): R-T and its line cuts in field, the (B, T) map,
    V-I, dI/dV against T and B, TMR loops against T and bias, the Co AMR loop.
    Runs (dilution-b, device B): the T_c(B_perp) map, the non-local map and
    switching loops, Hanle on the three channels in P and AP.
    About a minute on two cores; prints the path of summary.md at the end.
    """
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from cryo_acq.report.demo import run_demo

    console = Console(stderr=False, highlight=False)
    columns = [TextColumn("[bold]demo"), BarColumn(), TextColumn("{task.completed}/{task.total} steps"),
               TimeElapsedColumn()]
    try:
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task("demo", total=None)
            seen = [0]

            def progress(line: str) -> None:
                bar.console.print(line, soft_wrap=True)
                if not line.startswith("done"):
                    seen[0] += 1
                    bar.update(task, completed=seen[0])

            from cryo_acq.report.demo import steps

            bar.update(task, total=steps(quick))
            summary = run_demo(out, jobs=jobs, quick=quick, progress=progress)
    except KeyboardInterrupt:
        raise click.ClickException(f"interrupted; the run files measured so far are in {out}/runs/") from None
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(str(summary))


@click.command("plot")
@click.argument("run_file", metavar="RUNFILE", type=click.Path(exists=True, dir_okay=False, path_type=pathlib.Path))
@click.option("--fit", "model", default=None, metavar="MODEL",
              help="Overlay the fit of MODEL (hanle, hanle-vortex, vi, bkt-rt, pair-breaking, switching, didv; "
                   "as `cryo-acq fit`).")
@click.option("--out", "out", default=None, type=click.Path(path_type=pathlib.Path),
              help="PNG file or folder (default: next to the run file, <run>.png).")
def plot(run_file, model, out):
    """Draw RUNFILE as its procedure asks (loops by sweep direction, maps as images with a
    colour bar) and write a PNG next to it; prints the PNG's path."""
    from cryo_acq.cli.common import load_run_or_refuse
    from cryo_acq.report.plotting import describe, plot_run

    run = load_run_or_refuse(run_file)
    fits = None
    if model:
        from cryo_acq.analysis import MODELS, fit_run

        if model not in MODELS:
            raise click.BadParameter(f"unknown model {model!r}; models: {', '.join(MODELS)}", param_hint="--fit")
        try:
            fits = fit_run(model, run)
        except (ValueError, KeyError, TypeError) as exc:
            raise click.ClickException(f"fit {model} failed: {exc}") from None
    path = plot_run(run, fits=fits, out=out)
    click.echo(f"{run.metadata.get('procedure', '?')}: {describe(path.data)}", err=True)
    click.echo(str(path))
