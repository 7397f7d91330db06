"""The panels of a procedure window besides the plots: the run's parameters and log
(a tab), the interruption log, and the plan with its progress and ETA (a dock)."""

from __future__ import annotations

import datetime as _dt
import logging
import math
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from pymeasure.display.widgets import LogWidget, TabWidget
from qtpy import QtCore, QtWidgets

from .plots import PlanInfo
from .worker import ProgressInfo, RunResults

if TYPE_CHECKING:  # the window holds the panels; only its type is named here
    from .window import ProcedureWindow

log = logging.getLogger(__name__)


class RunInfoTab(TabWidget, QtWidgets.QWidget):
    """The selected run's file, status, parameters (with units) and interruption log."""

    def __init__(self, name: str, parent=None):
        super().__init__(name, parent)
        self.header = QtWidgets.QLabel("No run selected")
        self.header.setWordWrap(True)
        self.header.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.parameters = QtWidgets.QTreeWidget(self)
        self.parameters.setHeaderLabels(["parameter", "value", "unit"])
        self.parameters.setRootIsDecorated(False)
        self.parameters.setAlternatingRowColors(True)
        self.log_view = QtWidgets.QTreeWidget(self)
        self.log_view.setHeaderLabels(["lab time (s)", "kind", "message"])
        self.log_view.setRootIsDecorated(False)
        split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical, self)
        split.addWidget(self.parameters)
        split.addWidget(self.log_view)
        split.setSizes([300, 120])
        vbox = QtWidgets.QVBoxLayout(self)
        vbox.addWidget(self.header)
        vbox.addWidget(split, 1)
        self.results: RunResults | None = None

    def show_results(self, results: RunResults | None) -> None:
        self.results = results
        self.parameters.clear()
        self.log_view.clear()
        if results is None:
            self.header.setText("No run selected")
            return
        file = results.data_filename or "(chosen when the run starts)"
        reason = f" &mdash; {results.reason}" if results.reason else ""
        meta = results.metadata or {}
        facts = []
        if meta.get("started"):
            facts.append(f"started {meta['started']}")
        if meta.get("station_seconds") is not None:
            facts.append(f"lab time {_duration(float(meta['station_seconds']))}")
        if meta.get("rows") is not None:
            facts.append(f"{meta['rows']} rows")
        if "sim" in meta:
            facts.append("simulated lab" if meta["sim"] else "real instruments")
        self.header.setText(f"<b>{results.procedure.NAME}</b> &nbsp; {file}<br>status: <b>{results.status}</b>{reason}"
                            + (f"<br>{', '.join(facts)}" if facts else ""))
        for name, parameter in results.procedure.parameter_objects().items():
            units = getattr(parameter, "units", None) or ""
            value = getattr(results.procedure, name)
            text = f"{value:.6g}" if isinstance(value, float) else str(value)
            self.parameters.addTopLevelItem(QtWidgets.QTreeWidgetItem([parameter.name, text, units]))
        self.parameters.resizeColumnToContents(0)
        for t, kind, message in results.log:
            self.log_view.addTopLevelItem(QtWidgets.QTreeWidgetItem([f"{t:.1f}", kind, message]))
        if not results.log and results.status not in ("queued", "running"):
            self.log_view.addTopLevelItem(QtWidgets.QTreeWidgetItem(["", "", "no interruptions, retries or pauses"]))

    def parameter_values(self) -> dict[str, str]:
        out = {}
        for i in range(self.parameters.topLevelItemCount()):
            item = self.parameters.topLevelItem(i)
            out[item.text(0)] = item.text(1)
        return out


class RunLogWidget(LogWidget):
    """pymeasure's log tab, with its own blink timer: pymeasure's is one QTimer shared by
    every LogWidget (a class attribute), so with several windows a warning in one made
    the others' blink handler run without a tab bar (AttributeError)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        try:
            LogWidget._blink_qtimer.timeout.disconnect(self._blink)
        except (RuntimeError, TypeError):  # pragma: no cover - nothing to disconnect
            pass
        self._blink_qtimer = QtCore.QTimer(self)
        self._blink_qtimer.timeout.connect(self._blink)

    def _blink(self):
        if self.tab_widget is not None:
            super()._blink()


def _duration(seconds: float) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "—"
    seconds = max(0.0, seconds)
    h, rest = divmod(int(round(seconds)), 3600)
    m, s = divmod(rest, 60)
    return f"{h:d} h {m:02d} min" if h else (f"{m:d} min {s:02d} s" if m else f"{s:d} s")


class PlanEtaWidget(QtWidgets.QWidget):
    """The plan of the parameters entered (points, axes) and, during a run, progress and ETA
    extrapolated from the points done: lab time and wall time."""

    def __init__(self, window: "ProcedureWindow"):
        super().__init__(window)
        self.window = window
        form = QtWidgets.QFormLayout(self)
        self.labels = {}
        for key in ("plan", "points", "progress", "lab time", "lab time left", "wall time left", "ends at"):
            label = QtWidgets.QLabel("—")
            label.setWordWrap(True)
            self.labels[key] = label
            form.addRow(key.capitalize() + ":", label)
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self.update_view)
        self.timer.start(1000)
        self.update_view()

    def update_view(self) -> None:
        manager = self.window.manager
        experiment = manager._running_experiment if manager.is_running() else None
        if experiment is not None:
            self._show_plan(experiment.results.plan)
            self._show_progress(experiment.results.progress)
            return
        try:
            procedure = self.window.make_procedure()
            plan = procedure.plan()
        except Exception as exc:  # noqa: BLE001 - typing in progress
            self.labels["plan"].setText(f"<font color='#c00000'>{exc}</font>")
            self.labels["points"].setText("—")
            return
        self._show_plan(plan)
        self._show_progress(None)

    def _show_plan(self, plan) -> None:
        if plan is None:
            return
        info = PlanInfo.of(plan)
        parts = []
        for axis in info.axes:
            v = axis.values
            ends = [v[0], v[-1]]
            if v.size > 2 and v[-1] == v[0]:  # a loop: there and back
                ends = [v[0], v[np.argmax(np.abs(v - v[0]))], v[-1]]
            path = " &rarr; ".join(pg.siFormat(e, suffix=axis.unit) for e in ends)
            parts.append(f"{axis.name.replace('_', ' ')} {path} ({v.size})")
        if info.snake:
            parts.append("snake")
        if getattr(plan, "directions", None) is not None:
            parts.append("loop (up and down)")
        self.labels["plan"].setText("<br>".join(parts))
        self.labels["points"].setText(" x ".join(str(s) for s in info.shape) + f" = {len(info)}")

    def _show_progress(self, p: ProgressInfo | None) -> None:
        if p is None:
            for key in ("progress", "lab time", "lab time left", "wall time left", "ends at"):
                self.labels[key].setText("—")
            return
        self.labels["progress"].setText(f"{p.done} / {p.total} ({100 * p.fraction:.0f} %)")
        self.labels["lab time"].setText(_duration(p.station_time))
        left = p.remaining()
        if left is None:
            return
        self.labels["lab time left"].setText(_duration(left[0]))
        self.labels["wall time left"].setText(_duration(left[1]))
        end = _dt.datetime.now() + _dt.timedelta(seconds=left[1])
        self.labels["ends at"].setText(end.strftime("%H:%M:%S"))


