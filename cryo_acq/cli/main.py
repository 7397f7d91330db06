"""The ``cryo-acq`` command line."""

from __future__ import annotations

import pathlib
import sys

import click
from rich.console import Console
from rich.table import Table

from cryo_acq.station import file as station_file
from cryo_acq.cli.common import load_run_or_refuse, refuse
from cryo_acq.station import Station
from cryo_acq.station.file import StationFileError

console = Console()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cryo-acq")
def main() -> None:
    """Instrument control and acquisition for low-temperature transport experiments."""


@main.group()
def station() -> None:
    """Station files: list the shipped ones, check one."""


@station.command("list")
def station_list() -> None:
    """The example stations shipped with cryo_acq (usable by name)."""
    table = Table("name", "description", "file")
    for name, path in station_file.shipped_stations().items():
        config, _, _ = station_file.load(path)
        table.add_row(name, config.description, str(path))
    console.print(table)


@station.command("check")
@click.argument("station_ref", metavar="STATION")
@click.option("--sim", is_flag=True, help="Run against the simulated lab instead of real instruments.")
def station_check(station_ref: str, sim: bool) -> None:
    """Validate STATION (a file, or a shipped station's name), connect to every
    instrument, and print identities, states and the limits in force."""
    try:
        config, path, _ = station_file.load(station_ref)
    except StationFileError as exc:
        click.echo(f"invalid {exc}", err=True)
        sys.exit(2)
    console.print(f"[bold]{config.name}[/] ({path}) is valid. Connecting "
                  f"({'simulated lab' if sim else 'real instruments'})...")
    try:
        st = Station(config, path, path.read_text(encoding="utf-8"), sim=sim)
    except Exception as exc:  # noqa: BLE001 - report any connection failure plainly
        console.print(f"[bold red]connection failed:[/] {type(exc).__name__}: {exc}", highlight=False)
        sys.exit(1)
    try:
        _print_instruments(st)
        _print_limits(config)
    finally:
        st.close()


def _print_instruments(st: Station) -> None:
    table = Table(title="Instruments")
    for column in ("instrument", "driver / resource", "identity", "state"):
        table.add_column(column, overflow="fold")
    snapshot = st.snapshot()
    for name, entry in st.config.instruments.items():
        key = "magnet" if entry.role_name == "magnet" else name
        info = dict(snapshot.get(key, {}))
        identity = info.pop("identity", info.pop("error", ""))
        state = ", ".join(f"{k}={_fmt(v)}" for k, v in info.items())
        table.add_row(name, f"{entry.driver}\n{entry.resource}", identity, state)
    console.print(table)


def _print_limits(config) -> None:
    table = Table("limit", "value", title="Limits in force")
    lim = config.limits
    for axis, a in lim.field.axes().items():
        table.add_row(f"field {axis}", f"|B| <= {a.max:g} T, rate <= {a.rate:g} T/s")
    if lim.field.norm is not None:
        table.add_row("field vector", f"|B| <= {lim.field.norm:g} T")
    table.add_row("temperature", f"{lim.temperature.min:g} K .. {lim.temperature.max:g} K")
    for conf, c in lim.configurations.items():
        table.add_row(f"{conf}", f"|I| <= {c.max_current:.3g} A, |V| <= {c.max_voltage:.3g} V")
    table.add_row("SMU compliance", f"<= {lim.smu_compliance:g} V")
    table.add_row("safe state", f"magnet: {config.safe_state.magnet}, heater: {config.safe_state.heater}")
    console.print(table)


def _fmt(value) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


# --------------------------------------------------------------------------- run
def _parameter_help(cls) -> str:
    rows = []
    for name, parameter in cls().parameter_objects().items():
        units = getattr(parameter, "units", None)
        limits = ""
        if hasattr(parameter, "minimum"):
            limits = f"[{parameter.minimum:g} .. {parameter.maximum:g}]"
        elif getattr(parameter, "choices", None):
            limits = "{" + ", ".join(map(str, parameter.choices)) + "}"
        rows.append(f"  {name:<18} {parameter.default!s:<10} {units or '':<5} {limits:<18} {parameter.name}")
    text = "Parameters (-p name=value, plain SI numbers):\n\n\b\n" + "\n".join(
        [f"  {'name':<18} {'default':<10} {'unit':<5} {'limits':<18} meaning"] + rows)
    if cls.CONTINUOUS:
        procedure = cls()
        procedure.set_parameters({"mode": "continuous"})
        text += ("\n\nmode=continuous with the defaults: " + procedure.rate_advice().describe()
                 + ". A rate whose error exceeds a step is refused unless accept_rate_error=true; "
                 "the run prints the same for the values given.")
    return text


def _parse_params(cls, pairs: tuple[str, ...]):
    procedure = cls()
    values = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            refuse(f"-p {pair!r}: expected name=value")
        name = name.strip()
        if name in values:
            refuse(f"-p {name} given twice ({name}={values[name]} and {pair}); give it once")
        if name not in procedure._parameters:
            known = ", ".join(procedure._parameters)
            why = f" ({cls.NAME} has no continuous mode: {cls.STEPPED_ONLY})" if name == "mode" and cls.STEPPED_ONLY else ""
            refuse(f"-p: unknown parameter {name!r} for {cls.NAME}{why}; known: {known}")
        values[name] = value.strip()
    for name, value in values.items():
        parameter = procedure._parameters[name]
        try:
            procedure.set_parameters({name: value})
        except ValueError as exc:
            allowed = (f" (allowed {parameter.minimum:g} .. {parameter.maximum:g} {parameter.units or ''})"
                       if hasattr(parameter, "minimum") else "")
            refuse(f"-p {name}={value}: {exc}{allowed}")
    return procedure


class _ProcedureGroup(click.Group):
    """``cryo-acq run NAME``: one subcommand per procedure, built from its parameters."""

    def list_commands(self, ctx):
        import procedures

        return sorted(procedures.PROCEDURES)

    def get_command(self, ctx, name):
        import procedures

        try:
            cls = procedures.get(name)
        except KeyError:
            return None

        @click.command(name=name, help=(cls.__module__ and (cls.__doc__ or sys.modules[cls.__module__].__doc__ or "")),
                       epilog=_parameter_help(cls))
        @click.option("--station", "station_ref", required=True, help="Station file or shipped station name.")
        @click.option("--sim", is_flag=True, help="Run against the simulated lab.")
        @click.option("-p", "--param", "params", multiple=True, metavar="NAME=VALUE", help="Set a parameter.")
        @click.option("--out", "out", default="runs", show_default=True, type=click.Path(file_okay=False),
                      help="Folder for the run file.")
        def command(station_ref, sim, params, out):
            _run(cls, station_ref, sim, params, out)

        return command


@main.group(cls=_ProcedureGroup)
def run() -> None:
    """Run a measurement: cryo-acq run PROCEDURE --station NAME|FILE [--sim] [-p name=value ...]."""


def _run(cls, station_ref, sim, params, out) -> None:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from cryo_acq.run.runner import Runner, check_writable
    from cryo_acq.run.sweeps import PlanError

    procedure = _parse_params(cls, params)
    try:
        plan = procedure.plan()
    except PlanError as exc:
        refuse(f"-p: {exc}")
    try:
        config, path, text = station_file.load(station_ref)
    except StationFileError as exc:
        refuse(f"invalid {exc}")
    try:
        check_writable(pathlib.Path(out))  # before any instrument is touched
    except ValueError as exc:
        refuse(str(exc))
    station = _connect(config, path, text, sim)
    try:
        runner = Runner(station, procedure, folder=out)
        try:
            runner.preflight()  # refused here: nothing moved, nothing written
        except ValueError as exc:
            refuse(f"refused: {exc}")
        advice = procedure.rate_advice()
        if advice is not None:
            console.print(f"continuous: {advice.describe()}", highlight=False, soft_wrap=True)
        columns = [TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                   TimeElapsedColumn(), TimeRemainingColumn()]
        with Progress(*columns, console=console, transient=False) as bar:
            task = bar.add_task(f"{cls.NAME}  preparing", total=plan.expected_points)

            def on_progress(p):
                bar.update(task, total=p.total, completed=p.done,
                           description=f"{cls.NAME}  lab {p.station_time / 3600:.2f} h")

            runner.on_progress = on_progress
            try:
                run_path = runner.run()
            except ValueError as exc:  # refused before anything moved
                bar.stop()
                refuse(f"refused: {exc}")
    finally:
        station.close()
    _report_end(runner)
    click.echo(str(run_path))
    if runner.status != "finished":
        sys.exit(1)


def _connect(config, path, text, sim) -> Station:
    """The station, or one line naming the instrument that could not be reached (exit 2)."""
    try:
        return Station(config, path, text, sim=sim)
    except Exception as exc:  # noqa: BLE001 - any connection failure, named plainly
        refuse(f"station {config.name}: {exc}")


def _report_end(runner) -> None:
    """The run's final status; the safe state confirmed, and what could not be, loudly."""
    if runner.safe_report:
        console.print("safe state confirmed: " + "; ".join(runner.safe_report), highlight=False)
    if runner.unsafe:
        console.print(f"[bold white on red] NOT SAFE: {', '.join(runner.unsafe)} [/] could not be put in the "
                      "safe state: check them by hand now (the run file's log says why)", highlight=False)
    console.print(f"{runner.status}{': ' + runner.reason if runner.reason else ''}", highlight=False)


@main.command()
@click.argument("run_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--station", "station_ref", default=None,
              help="Station file or name (default: the station file stored in the run).")
@click.option("--sim/--real", "sim", default=None, help="Simulated lab or real instruments (default: as the run was).")
def resume(run_file, station_ref, sim) -> None:
    """Continue an interrupted run (killed, aborted, failed) from its first unmeasured point."""
    from cryo_acq.run.runner import Runner

    old = load_run_or_refuse(run_file)
    station = None
    if station_ref is not None or sim is not None:
        if station_ref is not None:
            config, path, text = station_file.load(station_ref)
        else:
            config, path, text = station_file.parse(old.station_file, run_file), None, old.station_file
        use_sim = bool(old.metadata.get("sim", False)) if sim is None else sim
        station = Station(config, path, text, sim=use_sim)
    try:
        runner = Runner.for_resume(run_file, station=station)
    except ValueError as exc:
        click.echo(f"cannot resume: {exc}", err=True)
        sys.exit(2)
    done, total = int(old.done.sum()), len(old.done)
    console.print(f"resuming {old.metadata['procedure']}: {done}/{total} points done ({old.status})")
    try:
        runner.run()
    except ValueError as exc:  # refused before anything moved (no room, folder not writable)
        refuse(f"refused: {exc}")
    finally:
        runner.station.close()
    _report_end(runner)
    click.echo(str(runner.path))
    if runner.status != "finished":
        sys.exit(1)


# --------------------------------------------------------------------------- export
@main.command()
@click.argument("run_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--csv", "as_csv", is_flag=True, required=True, help="Write CSV (one header row with units).")
@click.option("--out", "out", type=click.Path(dir_okay=False), help="Output file (default: beside the run).")
def export(run_file, as_csv, out) -> None:
    """Export a run file's data."""
    import csv
    import pathlib

    run_ = load_run_or_refuse(run_file)
    out = pathlib.Path(out) if out else pathlib.Path(run_file).with_suffix(".csv")
    columns = list(run_.data)
    try:
        with open(out, "x", newline="", encoding="utf-8") as fh:  # never overwrite
            writer = csv.writer(fh)
            writer.writerow([f"{c} ({run_.units[c]})" if run_.units.get(c) else c for c in columns])
            for row in zip(*(run_.data[c] for c in columns)):
                writer.writerow([f"{v:.10g}" for v in row])
    except FileExistsError:
        refuse(f"{out} exists; it is not overwritten (give another --out)")
    except OSError as exc:
        out.unlink(missing_ok=True) if out.exists() and out.stat().st_size == 0 else None
        refuse(f"cannot write {out}: {exc.strerror or exc}")
    click.echo(str(out))


# --------------------------------------------------------------------------- more commands
def _register() -> None:
    from cryo_acq.cli.campaign import runs, sequence
    from cryo_acq.cli.demo import demo, plot
    from cryo_acq.cli.fit import fit
    from cryo_acq.cli.gui import gui
    from cryo_acq.cli.report import report
    from cryo_acq.cli.serve import serve
    from cryo_acq.cli.sim import sim

    for command in (fit, plot, demo, report, gui, sequence, runs, sim, serve):
        main.add_command(command)


_register()

if __name__ == "__main__":
    main()
