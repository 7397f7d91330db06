"""Run files: one HDF5 file per run (NeXus, with dimension scales), written so that it
survives anything and read by the field's tools (h5web, silx, nexpy, xarray).

``writer.py``      RunFile: rows buffered and written in blocks within a flush window, SWMR
``reader.py``      load_run / open_run (lazy), both formats; Run (``to_xarray``)
``layout.py``      where everything lives: format 2 (NeXus) and format 1
``disk.py``        free space, the disk reserve, scratch files of dead writers
``xarray_view.py`` a run as an xarray Dataset

The layout is documented in ``docs/run-files.md``.
"""

from .disk import (
    RESERVE_BYTES,
    StorageError,
    check_space,
    estimated_size,
    free_space,
    new_run_path,
    sweep_leftovers,
)
from .layout import FORMAT, FORMAT_VERSION
from .reader import Incomplete, Run, RunFileError, json_record, load_run, measured_stretches, open_run, open_run_file, probe
from .writer import FLUSH_INTERVAL, STATUSES, RunFile, software_versions

__all__ = [
    "FLUSH_INTERVAL", "FORMAT", "FORMAT_VERSION", "RESERVE_BYTES", "STATUSES", "Incomplete", "Run", "RunFile",
    "RunFileError", "StorageError", "check_space", "estimated_size", "free_space", "json_record", "load_run",
    "measured_stretches", "new_run_path", "open_run", "open_run_file", "probe", "software_versions",
    "sweep_leftovers",
]
