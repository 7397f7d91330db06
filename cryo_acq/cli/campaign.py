"""``cryo-acq sequence`` and ``cryo-acq runs``: overnight campaigns and the run catalogue.

Registered in :mod:`cryo_acq.cli.main` with ``main.add_command(sequence)`` and
``main.add_command(runs)``; ``python -m cryo_acq.cli.campaign sequence ...`` runs them
stand-alone. Sequence files: ``docs/sequences.md``; the catalogue: ``docs/catalogue.md``.

Exit codes of ``sequence``: 0 every entry finished (or the dry run passed), 1 the
sequence ran but did not finish (a failure, an abort), 2 refused before anything moved
(an invalid sequence or station file, a limit, nothing to resume).
"""

from __future__ import annotations

import pathlib
import sys

import click
from rich.console import Console
from rich.table import Table

from cryo_acq.campaign import catalogue
from cryo_acq.campaign import sequence as seqmod
from cryo_acq.cli.common import refuse
from cryo_acq.station import file as station_file
from cryo_acq.station.file import StationFileError

__all__ = ["sequence", "runs", "campaign"]

console = Console()

_STYLE = {"finished": "green", "failed": "red", "aborted": "yellow", "interrupted": "yellow",
          "unreadable": "red", "running": "cyan", "pending": "dim"}


def _refuse(exc: Exception) -> None:
    """Nothing moved: say why and exit 2 (a station file's problems as `station check` says them)."""
    invalid = isinstance(exc, StationFileError) and not isinstance(exc, seqmod.SequenceError)
    click.echo(f"invalid {exc}" if invalid else f"refused: {exc}", err=True)
    sys.exit(2)


def _new_console() -> Console:
    """A console for this command (its width read now: COLUMNS, or the terminal's)."""
    global console
    console = Console()
    return console


def _styled(status: str) -> str:
    style = _STYLE.get(status)
    return f"[{style}]{status}[/]" if style else status


# --------------------------------------------------------------------------- sequence
_SHOWN = ("start", "resume", "failed", "retry", "skip", "stop", "abort", "sequence")
_EVENT_COLOUR = {"failed": "red", "stop": "red", "abort": "yellow", "retry": "yellow", "skip": "yellow"}


def _print_event(out: Console, kind: str, text: str) -> None:
    """A sequence event the console shows (starts, failures, retries, stops), coloured by kind."""
    if kind in _SHOWN:
        colour = _EVENT_COLOUR.get(kind)
        out.print(f"[{colour}]{text}[/]" if colour else text, highlight=False, soft_wrap=True)


def _list_shipped() -> None:
    """The sequences shipped with cryo_acq (usable by name), with their station and size."""
    table = Table("name", "station", "runs", "points", "description", "file")
    for name, path in seqmod.shipped_sequences().items():
        seq = seqmod.load(path)
        table.add_row(name, seq.station or "", str(len(seq.runs)), str(seq.total_points), seq.description,
                      str(path))
    console.print(table)


@click.command("sequence")
@click.argument("sequence_refs", metavar="FILE...", nargs=-1, required=True)
@click.option("--station", "station_ref", default=None,
              help="Station file or shipped station name (default: the sequence's `station:`; on --resume, "
                   "the one the sequence started with).")
@click.option("--sim/--real", "sim", default=None,
              help="Simulated lab or real instruments (default: real; on --resume, as the sequence started).")
@click.option("--out", "out", default=None, type=click.Path(file_okay=False),
              help="Folder for the run files, the state file and the log (default: runs/<sequence name>).")
@click.option("--dry-run", is_flag=True,
              help="Check everything, print the expanded plan with its lab time estimated by simulation; "
                   "nothing moves, no file is written.")
@click.option("--resume", is_flag=True, help="Continue an interrupted sequence from its state file in --out.")
def sequence(sequence_refs, station_ref, sim, out, dry_run, resume) -> None:
    """Run a sequence FILE (a path, or a shipped sequence's name): runs and station actions,
    checked in full against the station's limits before anything moves.
    Several FILEs, each for its own station, run at once, one process per station, each
    into --out/<sequence name> (checked in full, all of them, before any station moves).
    ``cryo-acq sequence list`` lists the shipped sequences."""
    from cryo_acq.station import Station

    _new_console()
    if sequence_refs == ("list",) and not pathlib.Path("list").exists():
        _list_shipped()
        return
    if len(sequence_refs) > 1:
        _several(sequence_refs, station_ref, sim, out, dry_run, resume)
        return
    sequence_ref = sequence_refs[0]
    try:
        seq = seqmod.load(sequence_ref)
    except StationFileError as exc:
        _refuse(exc)
    out = pathlib.Path(out) if out else pathlib.Path("runs") / seq.name
    state = None
    if resume:
        path = seqmod.state_path(out, seq)
        if not path.exists():
            _refuse(ValueError(f"no state file {path}: nothing to resume (start without --resume, or give the "
                               "--out folder the sequence ran in)"))
        try:
            state = seqmod.State.load(path)
        except (OSError, ValueError) as exc:
            _refuse(exc)
        if station_ref is None:
            station_ref = state.data.get("station")
        if sim is None:
            sim = bool(state.data.get("sim"))
    try:
        config, spath, text = station_file.load(seq.station_reference(station_ref))
    except StationFileError as exc:
        _refuse(exc)

    if dry_run:
        _dry_run(seq, config, spath, text)
        return

    station = Station(config, spath, text, sim=bool(sim))
    try:
        try:
            seqmod.check(seq, station)  # nothing sent, nothing written
        except seqmod.SequenceError as exc:
            _refuse(exc)
        outcome = _execute(seq, station, out, resume, spath)
    finally:
        station.close()
    _summary(outcome)
    if outcome.status != "finished":
        sys.exit(1)


def _execute(seq, station, out, resume, spath):
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    columns = [TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
               TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()]
    with Progress(*columns, console=console, transient=False) as bar:
        overall = bar.add_task(seq.name, total=seq.total_points)
        current = bar.add_task("", total=None, visible=False)

        def on_progress(p: seqmod.SequenceProgress):
            bar.update(overall, completed=p.done, description=f"{seq.name}  lab {p.lab_seconds / 3600:.2f} h")
            bar.update(current, completed=p.entry_done, total=p.entry_total, visible=True,
                       description=f"run {p.entry.number}/{len(seq.runs)} {p.entry.context()}")

        def on_event(kind, entry, message):
            _print_event(bar.console, kind, message)
            if kind == "start":
                bar.update(current, completed=0, total=entry.points, visible=True,
                           description=f"run {entry.number}/{len(seq.runs)} {entry.context()}")
            if kind in ("start", "resume", "sequence"):
                bar.update(overall, completed=sum(run._done.values()))

        run = seqmod.SequenceRun(seq, station, out, resume=resume, station_ref=spath, on_progress=on_progress,
                                 on_event=on_event, validated=True)
        try:
            return run.start()
        except seqmod.SequenceError as exc:  # nothing to resume, already ran, files in the way
            bar.stop()
            _refuse(exc)
        except KeyboardInterrupt:  # Ctrl-C twice: the station is safe, the state file says where it was
            bar.stop()
            console.print(f"aborted; continue with: cryo-acq sequence {seq.path or seq.name} --resume --out {out}",
                          highlight=False, soft_wrap=True)
            sys.exit(1)


def _several(refs, station_ref, sim, out, dry_run, resume) -> None:
    """Several sequences, one per station, at once (one process each)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from cryo_acq.campaign.parallel import StationJob, check_jobs, run_parallel

    if station_ref:
        _refuse(ValueError("--station names one station; with several sequences each runs on its own "
                           "`station:` (write it in the sequence files)"))
    try:
        seqs = [seqmod.load(ref) for ref in refs]
    except StationFileError as exc:
        _refuse(exc)
    if dry_run:
        for seq in seqs:
            try:
                config, spath, text = station_file.load(seq.station_reference(None))
            except StationFileError as exc:
                _refuse(exc)
            _dry_run(seq, config, spath, text)
        return
    base = pathlib.Path(out) if out else pathlib.Path("runs")
    jobs = [StationJob(str(seq.path or seq.name), str(base / seq.name), sim=bool(sim), resume=resume) for seq in seqs]
    try:
        check_jobs(jobs)
    except (seqmod.SequenceError, StationFileError) as exc:
        _refuse(exc)
    columns = [TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
               TimeElapsedColumn()]
    with Progress(*columns, console=console, transient=False) as bar:
        tasks = {seq.name: bar.add_task(seq.name, total=seq.total_points) for seq in seqs}

        def on_progress(p):
            bar.update(tasks[p.name], completed=p.done,
                       description=f"{p.name}  {p.run}  lab {p.lab_seconds / 3600:.2f} h")

        def on_event(name, kind, message):
            _print_event(bar.console, kind, f"{name}: {message}")

        try:
            outcomes = run_parallel(jobs, on_progress=on_progress, on_event=on_event)
        except seqmod.SequenceError as exc:
            bar.stop()
            _refuse(exc)
    table = Table("sequence", "status", "runs finished", "lab time", "folder", title="stations", title_justify="left")
    for name, o in outcomes.items():
        finished = sum(e[1] == "finished" for e in o.entries)
        table.add_row(name, _styled(o.status) + (f": {o.reason}" if o.reason else ""), f"{finished}/{len(o.entries)}",
                      seqmod.format_duration(o.lab_seconds), o.out)
    console.print(table)
    if any(o.status != "finished" for o in outcomes.values()):
        console.print("continue with --resume (the same FILEs and --out)", highlight=False, soft_wrap=True)
        sys.exit(1)


def _summary(outcome) -> None:
    table = Table(title=f"{outcome.status}{': ' + outcome.reason if outcome.reason else ''}", title_justify="left")
    for column in ("#", "step", "entry", "status", "points", "lab time", "file / why"):
        table.add_column(column, overflow="fold")
    for entry, record in outcome.entries:
        points = f"{record.get('done', 0)}/{entry.points}" if entry.kind == "run" else ""
        detail = entry.file or ""
        if record["status"] in ("failed", "aborted") and record.get("reason"):
            detail = f"{detail}\n{record['reason']}" if detail else record["reason"]
        attempts = record.get("attempts", 0)
        status = _styled(record["status"]) + (f" ({attempts} attempts)" if attempts > 1 else "")
        what = (f"run {entry.number}: {entry.context()}" + (f" [{entry.label}]" if entry.label else "")
                if entry.kind == "run" else entry.context())
        table.add_row(str(entry.index + 1), str(entry.step), what, status, points,
                      seqmod.format_duration(record.get("lab_seconds")), detail)
    console.print(table)
    finished = sum(r["status"] == "finished" for _, r in outcome.entries)
    console.print(f"{finished}/{len(outcome.entries)} entries finished; lab time this session "
                  f"{seqmod.format_duration(outcome.lab_seconds)}; files in {outcome.out}"
                  + (f"; log {outcome.log_path}" if outcome.log_path else ""), highlight=False, soft_wrap=True)
    if outcome.status != "finished":
        console.print("continue with --resume (the same FILE and --out)", highlight=False, soft_wrap=True)


def _dry_run(seq, config, spath, text) -> None:
    import time

    from rich.progress import BarColumn, Progress, TextColumn

    station = seqmod.simulated_copy(config, spath, text)  # never the real instruments
    try:
        seqmod.check(seq, station)
    except seqmod.SequenceError as exc:
        _refuse(exc)
    finally:
        station.close()
    console.print(f"{seq.name}: {len(seq.runs)} runs, {len(seq.entries) - len(seq.runs)} actions, "
                  f"{seq.total_points} points; every run and action checked against the limits of "
                  f"{config.name} ({spath}): OK", highlight=False, soft_wrap=True)
    wall = time.monotonic()
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  console=console, transient=True) as bar:
        task = bar.add_task("simulating the sequence to estimate its lab time", total=seq.total_points)
        outcome = seqmod.estimate(seq, config, spath, text,
                                  on_progress=lambda p: bar.update(task, completed=p.done))
    wall = time.monotonic() - wall
    console.print("steps (the parameters every run of the step shares; each run adds its loop values):",
                  highlight=False, soft_wrap=True)
    shown = set()
    for entry in seq.entries:
        if entry.kind != "run" or entry.step in shown:
            continue
        shown.add(entry.step)
        shared = ", ".join(f"{k}={seqmod._fmt(v)}" for k, v in entry.values.items() if k not in entry.loop)
        extra = (f"; loop over {', '.join(entry.loop)}" if entry.loop else "") + \
            (f"; before each run: {', '.join(a.describe() for a in entry.before)}" if entry.before else "") + \
            (f"; on_failure: {entry.on_failure}" + (f", retries: {entry.retries}" if entry.on_failure == "retry"
                                                    else ""))
        console.print(f"  step {entry.step} (line {entry.line}) {entry.procedure}: {shared or 'defaults'}{extra}",
                      highlight=False, soft_wrap=True)
    console.print()
    table = Table(title=f"{seq.name}: the plan", title_justify="left")
    for column in ("#", "step", "run / action", "loop values", "points", "lab time (est.)"):
        table.add_column(column, overflow="fold")
    for entry, record in outcome.entries:
        what = entry.context() if entry.kind == "action" else (f"run {entry.number}: {entry.procedure}"
                                                               + (f" [{entry.label}]" if entry.label else ""))
        loop = ", ".join(f"{k}={seqmod._fmt(v)}" for k, v in entry.loop.items())
        lab = seqmod.format_duration(record.get("lab_seconds"))
        if record["status"] != "finished":
            lab += f" [red]({record['status']} in the simulation: {record.get('reason', '')})[/]"
        table.add_row(str(entry.index + 1), str(entry.step), what, loop,
                      str(entry.points) if entry.kind == "run" else "", lab)
    console.print(table)
    total = sum(r.get("lab_seconds", 0.0) for _, r in outcome.entries)
    console.print(f"total: {len(seq.runs)} runs, {seq.total_points} points, lab time {seqmod.format_duration(total)} "
                  f"({total / 3600:.2f} h), estimated by simulation: the whole sequence run on a simulated copy of "
                  f"{config.name} in virtual time ({wall:.1f} s of wall time)", highlight=False, soft_wrap=True)
    bad = [(e, r) for e, r in outcome.entries if r["status"] != "finished"]
    if bad:
        console.print(f"[yellow]{len(bad)} entr{'y' if len(bad) == 1 else 'ies'} did not finish in the simulation "
                      "(see the table); the estimate is incomplete[/]", highlight=False, soft_wrap=True)
    console.print("dry run: nothing moved, no file written", highlight=False, soft_wrap=True)


# --------------------------------------------------------------------------- runs
@click.command("runs")
@click.argument("folder", default="runs", type=click.Path(file_okay=False))
@click.option("--procedure", default=None, help="Only runs of this procedure.")
@click.option("--status", type=click.Choice(catalogue.STATUSES + ("running",)), default=None,
              help="Only runs with this status (running: on a server, a run being written).")
@click.option("--where", "conditions", multiple=True, metavar="NAME=LO..HI",
              help="Parameter in a range (either end may be left out: temperature=..0.1) or equal to a value "
                   "(channel=L08). Repeatable.")
@click.option("--rebuild", is_flag=True, help="Forget the index and read every run file again.")
@click.option("--server", default=None, metavar="URL",
              help="List the runs on a run server (cryo-acq serve) instead of a folder.")
@click.option("--api-key", "api_key", default=None, envvar="CRYO_ACQ_API_KEY",
              help="The server's API key [env: CRYO_ACQ_API_KEY].")
def runs(folder, procedure, status, conditions, rebuild, server, api_key) -> None:
    """List the run files in FOLDER (default: runs) from its catalogue
    (FOLDER/.cryo_acq-runs.sqlite, brought up to date first), or the runs on a server."""
    _new_console()
    where = {}
    for text in conditions:
        try:
            name, condition = catalogue.parse_where(text)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--where") from None
        where[name] = condition
    if server is not None:
        _server_runs(server, api_key, procedure, status, where)
        return
    folder_path = pathlib.Path(folder)
    if not folder_path.is_dir():
        click.echo(f"no folder {folder}", err=True)
        sys.exit(2)
    if rebuild:
        catalogue.rebuild(folder_path, full=True)
    entries = catalogue.query(folder_path, procedure=procedure, status=status, where=where)
    _runs_table(f"{folder_path}: {len(entries)} run(s)", entries, where, "file")


def _server_runs(server, api_key, procedure, status, where) -> None:
    from cryo_acq.cli.serve import need_tiled

    need_tiled()
    from cryo_acq.service.client import ServerError, list_runs

    try:
        entries = list_runs(server, api_key, procedure=procedure, status=status, where=where)
    except ServerError as exc:
        refuse(str(exc))
    _runs_table(f"{server}: {len(entries)} run(s) (open one: {server.rstrip('/')}/api/v1/metadata/<run>)",
               entries, where, "run")


def _runs_table(title, entries, where, last) -> None:
    table = Table(title=title, title_justify="left")
    for column in ("procedure", "key parameters", "status", "points", "duration", last):
        table.add_column(column, overflow="fold")
    for entry in entries:
        if not entry.readable:
            table.add_row("?", f"[red]{entry.error}[/]", _styled("unreadable"), "", "", entry.path)
            continue
        table.add_row(entry.procedure, _key_parameters(entry, where), _styled(entry.status),
                      f"{entry.points_done}/{entry.points_planned}", seqmod.format_duration(entry.duration),
                      entry.path)
    console.print(table)


_DEFAULTS: dict[str, dict] = {}


def _key_parameters(entry, where) -> str:
    """The parameters that differ from the procedure's defaults, and those filtered on."""
    import procedures

    if entry.procedure not in _DEFAULTS:
        try:
            p = procedures.get(entry.procedure)()
            _DEFAULTS[entry.procedure] = {name: getattr(p, name) for name in p._parameters}
        except Exception:  # noqa: BLE001 - a procedure this version does not know: show everything
            _DEFAULTS[entry.procedure] = {}
    defaults = _DEFAULTS[entry.procedure]
    shown = []
    for name, value in entry.parameters.items():
        if name == "station_name" and name not in where:
            continue
        if name in where or name not in defaults or not catalogue.matches(entry, name, defaults[name]):
            shown.append(f"{name}={value:g}" if isinstance(value, float) else f"{name}={value}")
    return ", ".join(shown)


# --------------------------------------------------------------------------- stand-alone
@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def campaign() -> None:
    """Campaign commands (also registered in cryo-acq): sequence, runs."""


campaign.add_command(sequence)
campaign.add_command(runs)

if __name__ == "__main__":
    campaign()
