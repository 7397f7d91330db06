"""``cryo-acq report REPORT RUN_FOLDER...``: the fits, figures and summary a report file
declares, made of the run files in the folders (``docs/reports.md``).

Exit codes: 0 made (fits that could not be made are listed in the summary), 2 refused
before any fit (a bad report file, a folder that is not there, a label found twice).
"""

from __future__ import annotations

import pathlib

import click

from cryo_acq.cli.common import refuse

__all__ = ["report"]


def _list() -> None:
    from rich.console import Console
    from rich.table import Table

    from cryo_acq.report.registry import DRAWINGS, FITS, describe, known_options
    from cryo_acq.station.file import shipped_files

    console = Console()
    for title, registry in (("fits", FITS), ("drawings", DRAWINGS)):
        table = Table(title, "options", "what", title=f"{title} a report file can name", title_justify="left")
        for name in sorted(registry):
            table.add_row(name, ", ".join(sorted(known_options(registry[name]))), describe(registry[name]))
        console.print(table)
    console.print("shipped reports: " + ", ".join(f"{n} ({p})" for n, p in shipped_files("reports").items()),
                  highlight=False, soft_wrap=True)


@click.command("report")
@click.argument("report_ref", metavar="REPORT", required=False)
@click.argument("folders", metavar="RUN_FOLDER...", nargs=-1, type=click.Path(path_type=pathlib.Path))
@click.option("--out", "out", default="report", show_default=True, type=click.Path(file_okay=False),
              help="Folder for summary.md and the figures.")
@click.option("--jobs", default=2, show_default=True, type=click.IntRange(1, 64), help="Worker processes for the fits.")
@click.option("--check", is_flag=True, help="Check the report file (and which runs it finds); make nothing.")
@click.option("--list", "list_", is_flag=True, help="List the fits and drawings a report file can name.")
def report(report_ref, folders, out, jobs, check, list_):
    """Make the report file REPORT (a path, or a shipped report's name: `paper`) of the run
    files in RUN_FOLDER... (searched with their sub-folders; a run is named by its label,
    the file name without .h5): its fits, its figures and summary.md in --out."""
    from cryo_acq.report.make import make_report
    from cryo_acq.report.reportfile import ReportFileError, find_runs, load, select

    if list_:
        _list()
        return
    if not report_ref:
        refuse("give a REPORT file (or --list)")
    try:
        rep = load(report_ref)
        if not folders and not check:
            raise ReportFileError(report_ref, ["give at least one RUN_FOLDER"])
        runs = find_runs(folders) if folders else {}
    except ReportFileError as exc:
        refuse(str(exc))
    if check:
        click.echo(f"{rep.path}: {len(rep.fits)} fits, {len(rep.figures)} figures, "
                   f"{sum(len(t.rows) for t in rep.model.summary)} summary rows: valid")
        if folders:
            for spec in rep.model.fits:
                labels = select(spec.runs, runs)
                click.echo(f"  {spec.name}: {', '.join(labels) if labels else 'NO RUN MATCHES ' + ', '.join(spec.runs)}")
        return
    try:
        made = make_report(rep, folders, out, jobs=jobs, progress=lambda line: click.echo(line, err=True))
    except ReportFileError as exc:
        refuse(str(exc))
    except OSError as exc:
        refuse(f"cannot write into {out}: {exc.strerror or exc}")
    for name, why in made.skipped.items():
        click.echo(f"not made: {name}: {why}", err=True)
    click.echo(str(made.summary))
