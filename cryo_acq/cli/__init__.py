"""The ``cryo-acq`` command line: ``main`` and its commands, one module per group."""

from .main import main

__all__ = ["main"]
