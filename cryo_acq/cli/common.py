"""What every ``cryo-acq`` command does the same way: refuse in one line, exit 2."""

from __future__ import annotations

import sys

import click


def refuse(message: str) -> None:
    """Print ``message`` as one line on stderr and exit with status 2 (bad input: nothing
    was measured, moved or written)."""
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def load_run_or_refuse(path):
    """The run file at ``path``, or a one-line refusal for anything that is not one."""
    from cryo_acq.run.storage import RunFileError, load_run

    try:
        return load_run(path)
    except RunFileError as exc:
        refuse(str(exc))
