"""``cryo-acq fit MODEL RUNFILE...``: fit a run file and print the values with their errors.

Registered in :mod:`cryo_acq.cli.main` with ``main.add_command(fit)``. The fits are
:func:`cryo_acq.analysis.fit_run`; by default a PNG with the data and the fitted curve
is written next to the (first) run file, ``<run>-fit-<model>.png``.
"""

from __future__ import annotations

import pathlib

import click

from cryo_acq.analysis import MODELS, OPTIONS, fit_run

__all__ = ["fit", "figure_path"]


def _convert(text: str):
    low = text.strip().lower()
    if low in ("none", "null"):
        return None
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    try:
        value = float(text)
    except ValueError:
        return text.strip()
    return int(value) if value.is_integer() and "." not in text and "e" not in low else value


def _parse_options(model: str, pairs: tuple[str, ...]) -> dict:
    options = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep:
            raise click.BadParameter(f"{pair!r}: expected name=value", param_hint="-o")
        if name not in OPTIONS[model]:
            known = "; ".join(f"{k}: {v}" for k, v in OPTIONS[model].items()) or "none"
            raise click.BadParameter(f"unknown option {name!r} for {model}; options: {known}", param_hint="-o")
        options[name] = _convert(value)
    return options


def figure_path(run_file, model: str) -> pathlib.Path:
    """Where the figure of ``model`` fitted to ``run_file`` goes: next to the run file."""
    run_file = pathlib.Path(run_file)
    return run_file.with_name(f"{run_file.stem}-fit-{model}.png")


@click.command("fit")
@click.argument("model", type=click.Choice(list(MODELS)))
@click.argument("run_files", metavar="RUNFILE...", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=pathlib.Path))
@click.option("--figure/--no-figure", default=True, show_default=True,
              help="Write a PNG with the data and the fitted curve next to the run file.")
@click.option("-o", "--option", "options", multiple=True, metavar="NAME=VALUE",
              help="A fit option (SI units), e.g. -o thickness=12e-9, -o l=0. See docs/analysis.md.")
def fit(model, run_files, figure, options):
    """Fit MODEL to RUNFILE and print each value +- its standard error, with units.

    \b
    Models (run procedure):
      hanle          hanle runs; eq. 3 (a parallel and an antiparallel run
                     together also fit (R_P - R_AP)/2)
      hanle-vortex   hanle runs; eq. 4 (vortices, long channel)
      vi             vi run; alpha(T) and T_BKT where alpha crosses 3
      bkt-rt         rt run; Halperin-Nelson R(T), Tc0 (onset at 0.9 R_N)
      pair-breaking  rt-map run (or several rt runs); Tc(B) -> xi_GL (eq. 2)
      switching      tmr or nl-switch run; switching fields, Delta R, Delta R/R
      didv           didv run; Delta0, Gamma (eq. 1, p wave with zero-bias peak)
    """
    parsed = _parse_options(model, options)
    source = list(run_files) if len(run_files) > 1 else run_files[0]
    from cryo_acq.cli.common import refuse
    from cryo_acq.run.storage import RunFileError

    try:
        results = fit_run(model, source, **parsed)
    except RunFileError as exc:
        refuse(str(exc))
    except (ValueError, KeyError, OSError) as exc:
        raise click.ClickException(f"fit {model} failed: {exc}") from None
    for result in results:
        click.echo(result.summary())
    if figure and results:
        from cryo_acq.report.plotting import plot_fits

        path = plot_fits(results, figure_path(run_files[0], model))
        click.echo(f"figure: {path}")
