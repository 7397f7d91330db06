"""``cryo-acq serve``: the runs in one or more folders as a Tiled data service."""

from __future__ import annotations

import click

from cryo_acq.cli.common import refuse

SERVE_EXTRA = "pip install 'cryo-acq[serve]'"


def need_tiled() -> None:
    try:
        import tiled  # noqa: F401
        import xarray  # noqa: F401
    except ImportError:
        refuse(f"the run server needs Tiled and xarray: {SERVE_EXTRA}")


@click.command("serve")
@click.argument("folders", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but the loopback needs --api-key.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--api-key", "api_key", default=None, envvar="CRYO_ACQ_API_KEY",
              help="Require this key (letters and digits, 16 or more) of every request "
                   "[env: CRYO_ACQ_API_KEY].")
def serve(folders, host, port, api_key) -> None:
    """Serve the run files in FOLDERS (read-only) with Tiled: search them by procedure,
    station, sample, status or any parameter, read them as xarray from any desk, watch
    runs being written grow. See docs/lab-service.md."""
    need_tiled()
    from cryo_acq.service.server import ServiceError, check_exposure, serve as run_server

    try:
        check_exposure(host, api_key)
    except ServiceError as exc:
        refuse(str(exc))
    click.echo(f"serving {', '.join(folders)} read-only at http://{host}:{port}"
               f"{' (API key required)' if api_key else ' (this computer only, no key)'}; Ctrl-C stops", err=True)
    run_server(list(folders), host=host, port=port, api_key=api_key)
