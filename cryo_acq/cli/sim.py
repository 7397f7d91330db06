"""``cryo-acq sim serve``: a station's simulated lab on loopback sockets, for any client."""

from __future__ import annotations

import pathlib
import signal
import sys

import click
import yaml

from cryo_acq.cli.common import refuse
from cryo_acq.service.server import is_loopback


class _OneLineErrors(click.Command):
    """Bad options get one line and exit 2, as every other refusal does."""

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as exc:
            refuse(f"{exc.format_message()} (see cryo-acq sim {info_name} --help)")


@click.group()
def sim() -> None:
    """The simulated lab, for clients outside cryo_acq."""


@sim.command(cls=_OneLineErrors)
@click.argument("station_ref", metavar="STATION")
@click.option("--time-scale", type=float, default=None,
              help="Lab seconds per wall second [default: the station's sim.time_scale, else 1].")
@click.option("--port-base", type=click.IntRange(1, 65535), default=None,
              help="Serve the instruments on ports N, N+1, ... in station-file order [default: free ports].")
@click.option("--host", default=None, help="Address to listen on [default: 127.0.0.1 only].")
@click.option("--use", "use", multiple=True, metavar="CONFIGURATION",
              help="Wire the sample as this configuration (its lock-in and source connected to it); "
                   "repeatable. Default: each instrument on the first configuration that names it.")
@click.option("--resources", "resources_file", type=click.Path(dir_okay=False, path_type=pathlib.Path),
              help="Also write the instrument -> socket map to this YAML file.")
@click.option("--write-station", "station_out", type=click.Path(dir_okay=False, path_type=pathlib.Path),
              help="Also write a copy of the station file whose instruments are at the served sockets.")
def serve(station_ref, time_scale, port_base, host, use, resources_file, station_out) -> None:
    """Serve STATION's simulated lab: each instrument on its own TCP port, as a
    TCPIP0::host::port::SOCKET resource, all of them one live lab. Prints one line per
    instrument (name, station resource, served resource) and serves until Ctrl-C or SIGTERM."""
    from cryo_acq.station import file as station_file
    from cryo_acq.station.file import StationFileError
    from sim.serve import LOOPBACK, ServeError, serve_station

    if time_scale is not None and not time_scale > 0:
        refuse(f"--time-scale must be positive, got {time_scale:g}")
    try:
        config, path, text = station_file.load(station_ref)
    except StationFileError as exc:
        refuse(f"invalid {exc}")
    scale = time_scale or config.sim.time_scale or 1.0
    if host is not None and not is_loopback(host):
        click.echo(f"warning: serving beyond loopback on {host}: raw instrument sockets have no "
                   "authentication, so anyone who reaches this address drives the simulated lab", err=True)
    try:
        server = serve_station(config, time_scale=scale, host=host or LOOPBACK, port_base=port_base, use=use)
    except ServeError as exc:
        refuse(str(exc))
    try:
        if resources_file is not None:
            _write(resources_file, _dump(server.resources()))
        if station_out is not None:
            _write(station_out, served_station_text(text, path, server.resources(), scale))
    except OSError as exc:
        server.close()
        refuse(f"cannot write {exc.filename}: {exc.strerror}")
    for inst in server.instruments:
        click.echo(f"{inst.name} {inst.station_resource} {inst.resource}")
    sys.stdout.flush()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: server.stop())
    server.serve_forever()


def served_station_text(text: str, path, resources: dict[str, dict[str, str]], time_scale: float) -> str:
    """The station file ``text`` with every instrument at its served socket (and that
    socket's terminations), its clock at the served lab's pace."""
    data = yaml.safe_load(text)
    data["served_lab"] = {"time_scale": time_scale}
    for name, served in resources.items():
        entry = data["instruments"][name]
        entry["resource"] = served["served"]
        entry["read_termination"] = served["read_termination"]
        entry["write_termination"] = served["write_termination"]
    header = (f"# {data['name']} ({path.name}) as served by `cryo-acq sim serve`: the same station,\n"
              "# every instrument at its socket. Use it without --sim while the server runs.\n")
    return header + _dump(data)


class _Dumper(yaml.SafeDumper):
    """Terminations written as ``"\\r\\n"``, not as folded blank lines."""


def _text(dumper, value: str):
    style = '"' if any(ord(c) < 0x20 for c in value) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def _dump(data) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False)


def _write(path: pathlib.Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
