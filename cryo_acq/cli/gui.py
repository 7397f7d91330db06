"""``cryo-acq gui``: the graphical front end (registered on the main command group).

Importing this module imports no Qt: PySide6, qtpy and pyqtgraph are loaded only
when the command runs, so ``cryo-acq`` works without the ``gui`` extra.
"""

from __future__ import annotations

import sys

import click

#: lab seconds per wall second in simulation unless told: a 12-hour night in 72 s
DEFAULT_TIME_SCALE = 600.0


@click.command("gui")
@click.option("--station", "station_ref", default="vti-a01", show_default=True,
              help="Station file or shipped station name.")
@click.option("--sim", is_flag=True, help="Run against the simulated lab instead of real instruments.")
@click.option("--time-scale", "time_scale", type=float, default=None,
              help=f"Simulation only: lab seconds per wall second (default: the station file's sim.time_scale, "
                   f"else {DEFAULT_TIME_SCALE:g}, a night in about a minute); 0 = pure virtual time, as fast "
                   "as the computer goes.")
@click.option("-p", "--procedure", "procedure_names", multiple=True, metavar="NAME",
              help="Open this procedure's window at once (repeatable).")
@click.option("--open", "open_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Open a run file (*.h5) in its procedure's window (repeatable).")
@click.option("--out", "out", default="runs", show_default=True, type=click.Path(file_okay=False),
              help="Folder for the run files.")
@click.option("--panel-interval", "panel_interval", type=float, default=1.0, show_default=True,
              help="Seconds between station-panel readings.")
def gui(station_ref, sim, time_scale, procedure_names, open_files, out, panel_interval) -> None:
    """Open the GUI: a procedure picker, one window per procedure (parameters, queue,
    abort, plots, run browser, ETA) and the station panel. Runs record into the same
    HDF5 run files as "cryo-acq run"."""
    from cryo_acq.station import file as station_file
    from cryo_acq.station.file import StationFileError

    try:
        config, _, _ = station_file.load(station_ref)
    except StationFileError as exc:
        click.echo(f"invalid {exc}", err=True)
        sys.exit(2)
    if time_scale is not None and not sim:
        raise click.BadParameter("only a simulation has a time scale (add --sim)", param_hint="--time-scale")
    if time_scale is not None and time_scale < 0:
        raise click.BadParameter("must be positive, or 0 for pure virtual time", param_hint="--time-scale")
    if sim and time_scale is None:
        time_scale = config.sim.time_scale or DEFAULT_TIME_SCALE
    import procedures

    for name in procedure_names:
        if name not in procedures.PROCEDURES:
            raise click.BadParameter(f"unknown procedure {name!r}; known: {', '.join(sorted(procedures.PROCEDURES))}",
                                     param_hint="--procedure")
    try:
        from cryo_acq.gui.window import run_gui
    except ImportError as exc:  # the gui extra is not installed
        click.echo(f"the GUI needs the 'gui' extra (pip install 'cryo-acq[gui]'): {exc}", err=True)
        sys.exit(2)
    sys.exit(run_gui(station_ref, sim, time_scale, procedure_names, out, open_files, panel_interval))
