"""The ``cryo-acq`` command line."""

from __future__ import annotations

import sys

import click
from rich.console import Console
from rich.table import Table

from . import station_file
from .station import Station
from .station_file import StationFileError

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


if __name__ == "__main__":
    main()
