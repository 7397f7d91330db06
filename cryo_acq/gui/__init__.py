"""The graphical front end: pymeasure's ManagedWindow family on the one execution engine.

``cryo-acq gui --station NAME|FILE [--sim] [--time-scale X]`` opens a procedure
picker (:class:`~cryo_acq.gui.window.Launcher`) and one window per procedure
(:class:`~cryo_acq.gui.window.ProcedureWindow`). A queued run executes in a
:class:`~cryo_acq.gui.worker.RunWorker` thread calling :class:`cryo_acq.run.runner.Runner`
-- the same recording path as the command line, into the same HDF5 run file --
whose progress feeds in-memory plot buffers (:mod:`cryo_acq.gui.plots`). The
station panel (:mod:`cryo_acq.gui.station_panel`) reads the instruments between
the run's exchanges, under one lock per station.

Importing this package imports Qt (PySide6 through qtpy); :mod:`cryo_acq.cli.gui`
does not, until the command runs.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("QT_API", "pyside6")


def _guard_none_refcount() -> bool:
    """Work around a reference-count bug of PySide6 6.12 on CPython < 3.12.

    Every call of a PySide6 method returning ``void`` there gives back ``None``
    without taking a reference to it (harmless on 3.12+, where ``None`` is
    immortal). On 3.11 each call therefore steals one reference of ``None`` and the
    interpreter aborts ("Fatal Python error: none_dealloc") once the count reaches
    zero: after some tens of thousands of Qt calls, i.e. within seconds of a
    pyqtgraph plot refreshing. When the leak is detected, ``None`` is given the
    huge reference count that 3.12 gives immortal objects, so it can never reach
    zero. Returns True if the guard was applied."""
    if sys.version_info >= (3, 12):
        return False
    import ctypes

    from qtpy import QtCore

    probe = QtCore.QPointF(0.0, 0.0)
    before = sys.getrefcount(None)
    for _ in range(64):
        probe.setX(1.0)  # a void method
    if sys.getrefcount(None) >= before:
        return False  # this binding is correct
    ctypes.c_ssize_t.from_address(id(None)).value += 1 << 60
    return True


NONE_REFCOUNT_GUARDED = _guard_none_refcount()
