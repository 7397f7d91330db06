"""The windows: a procedure picker and one pymeasure ManagedWindow per procedure.

:class:`ProcedureWindow` is a pymeasure ``ManagedWindowBase`` (parameter inputs,
queue and abort, browser, log) with these changes:

* a queued run is a :class:`~cryo_acq.gui.worker.RunResults` (HDF5 run file +
  in-memory buffer) instead of a CSV-backed ``Results``; it is checked against the
  station (nothing sent) before it is queued, and refused with the reason if it
  cannot run;
* :class:`RunManager` replaces pymeasure's ``Manager``: its worker is a
  :class:`~cryo_acq.gui.worker.RunWorker` calling :class:`cryo_acq.run.runner.Runner`,
  and it runs only when the :class:`Session` grants it the station (one run at a
  time per station, across all windows, in the order they were queued);
* the tabs are memory-fed curves (loops: up and down sweeps distinguishable), a
  live 2-D map with a colour bar for 2-D plans, the run's parameters and log, and
  pymeasure's log widget; docks show the plan with progress and ETA and the station
  panel;
* "Open" re-opens run files (``*.h5``): curves, map, parameters and log.
"""

from __future__ import annotations

import logging
import os
import pathlib
import sys

import pyqtgraph as pg
from pymeasure.display.manager import Manager
from pymeasure.display.windows.managed_window import ManagedWindowBase
from pymeasure.experiment import Procedure
from qtpy import QtCore, QtWidgets

from .panels import PlanEtaWidget, RunInfoTab, RunLogWidget
from .plots import CurveTab, MapTab, PlanInfo
from .station_panel import StationMonitor, StationPanel, serialise
from .worker import PYMEASURE_STATUS, ProgressInfo, RunResults, RunWorker

log = logging.getLogger(__name__)

pg.setConfigOptions(background="w", foreground="k", antialias=True)

#: parameters every procedure shares (lock-in settings), left out of the browser's columns
_COMMON = ("excitation", "time_constant", "settle_fraction", "station_name")


# --------------------------------------------------------------------------- session
class Session(QtCore.QObject):
    """One station shared by every window: its instrument lock, its panel monitor,
    and the turn to run (one run at a time, first queued first served)."""

    busy_changed = QtCore.Signal(bool)
    time_scale_changed = QtCore.Signal(float)

    def __init__(self, station, folder="runs", monitor_interval: float = 1.0, start_monitor: bool = True,
                 parent=None):
        super().__init__(parent)
        self.station = station
        self.folder = pathlib.Path(folder)
        self.lock = serialise(station)
        self.monitor = StationMonitor(station, monitor_interval, is_running=lambda: self.busy)
        self._owner: RunManager | None = None
        self._waiting: list[RunManager] = []
        self.running: tuple[str, ProgressInfo | None] | None = None
        if start_monitor:
            self.monitor.start()

    @property
    def busy(self) -> bool:
        return self._owner is not None

    @property
    def owner(self):
        return self._owner

    def acquire(self, manager) -> bool:
        """The station for ``manager``'s next run, or False (then it is called back in turn)."""
        if self._owner is manager:
            return True
        if self._owner is None and (not self._waiting or self._waiting[0] is manager):
            if self._waiting and self._waiting[0] is manager:
                self._waiting.pop(0)
            self._owner = manager
            self.busy_changed.emit(True)
            return True
        if manager not in self._waiting:
            self._waiting.append(manager)
        return False

    def release(self, manager) -> None:
        if self._owner is manager:
            self._owner = None
            self.running = None
            self.busy_changed.emit(False)
            QtCore.QTimer.singleShot(0, self._wake)

    def _wake(self) -> None:
        while self._owner is None and self._waiting:
            manager = self._waiting[0]
            if manager.is_running() or not manager.experiments.has_next() or not manager._is_continuous:
                self._waiting.pop(0)
                continue
            manager.next()
            if self._owner is None:  # it did not start: do not loop on it
                if self._waiting and self._waiting[0] is manager:
                    self._waiting.pop(0)

    def check(self, procedure, plan) -> None:
        """The procedure's own check of its plan against the station (sends nothing)."""
        with self.lock:
            procedure.check(self.station, plan)

    def state_text(self) -> str:
        if self.running is None:
            return "idle" + (f" ({len(self._waiting)} window(s) waiting)" if self._waiting else "")
        name, progress = self.running
        if progress is None:
            return f"running {name}: preparing"
        return f"running {name}: {progress.done}/{progress.total} points"

    def time_scale_text(self) -> str:
        clock = self.station.clock
        scale = getattr(clock, "time_scale", None)
        if not self.station.sim:
            return "real instruments, wall-clock time"
        if scale is None:
            return "simulated lab, pure virtual time (as fast as possible)"
        return f"simulated lab, lab time x{scale:g} ({scale / 60:g} lab min per wall s)"

    def close(self) -> None:
        if self._owner is not None and self._owner.is_running():
            self._owner.abort()
            worker = self._owner._worker
            if worker is not None:
                worker.wait(60_000)
        self.monitor.stop()


# --------------------------------------------------------------------------- manager
class RunManager(Manager):
    """pymeasure's queue manager, running each experiment with a :class:`RunWorker`."""

    progress_changed = QtCore.Signal(object, object)  #: experiment, ProgressInfo

    def __init__(self, session: Session, widget_list, browser, log_level=logging.INFO, parent=None):
        super().__init__(widget_list, browser, log_level=log_level, parent=parent)
        self.session = session

    def next(self):
        if self.is_running():
            raise Exception("Another procedure is already running")
        if not self.experiments.has_next():
            return
        if not self.session.acquire(self):
            for experiment in self.experiments.queue:
                if experiment.procedure.status == Procedure.QUEUED:
                    experiment.browser_item.setText(3, "Waiting for station")
            return
        experiment = self.experiments.next()
        self._running_experiment = experiment
        worker = RunWorker(self.session.station, experiment.results)
        worker.run_started.connect(self._run_started)
        worker.progress.connect(self._progress)
        worker.run_finished.connect(self._run_finished)
        self._worker = worker
        experiment.results.set_status("running")
        experiment.browser_item.setStatus(Procedure.RUNNING)
        self.session.running = (experiment.procedure.NAME, None)
        worker.start()
        self.running.emit(experiment)

    def _run_started(self, path: str) -> None:
        experiment = self._running_experiment
        if experiment is None:
            return
        experiment.results.data_filename = path
        experiment.data_filename = path
        experiment.browser_item.setText(1, os.path.basename(path))

    def _progress(self, info: ProgressInfo) -> None:
        experiment = self._running_experiment
        if experiment is None:
            return
        experiment.results.progress = info
        experiment.browser_item.setProgress(100 * info.fraction)
        self.session.running = (experiment.procedure.NAME, info)
        self.progress_changed.emit(experiment, info)

    def _run_finished(self, status: str, reason: str) -> None:
        experiment, worker = self._running_experiment, self._worker
        worker.wait()
        self._worker = None
        self._running_experiment = None
        worker.deleteLater()
        results = experiment.results
        results.set_status(status, reason)
        if status == "refused":
            results.data_filename = experiment.data_filename = ""
            experiment.browser_item.setText(1, "(refused: nothing run)")
        else:
            _read_back(results)
        experiment.browser_item.setStatus(PYMEASURE_STATUS[status])
        experiment.browser_item.setText(3, status.capitalize())
        if status == "finished":
            experiment.browser_item.setProgress(100)
        for curve in experiment.curve_list:
            if curve:
                curve.update_data()
        self.session.release(self)
        if status == "finished":
            self.finished.emit(experiment)
            if self._is_continuous:
                self.next()
        elif status == "aborted":
            self.abort_returned.emit(experiment)
        else:
            self._start_on_add = False
            self._is_continuous = False
            self.failed.emit(experiment)

    def abort(self):
        if not self.is_running():
            raise Exception("Attempting to abort when no experiment is running")
        self._start_on_add = False
        self._is_continuous = False
        self._worker.stop()
        self.aborted.emit(self._running_experiment)

    def remove(self, experiment):
        super().remove(experiment)
        for curve in experiment.curve_list:  # a removed run frees its buffers
            if curve is not None and hasattr(curve, "branches"):
                for branch in curve.branches.values():
                    branch.clear()


def _read_back(results: RunResults) -> None:
    """The status, reason and log as the run file has them (what the GUI shows is the file)."""
    from cryo_acq.run.storage import load_run

    try:
        run = load_run(results.data_filename)
    except Exception as exc:  # noqa: BLE001
        log.warning("could not read back %s: %s", results.data_filename, exc)
        return
    results.log = list(run.log)
    results.metadata = run.metadata


# --------------------------------------------------------------------------- the procedure window
def default_axes(columns: list[str], plan: PlanInfo, signal: str | None = None) -> tuple[str, str]:
    """x: the plan's inner axis; y: the procedure's measured column (``SIGNAL``), else the
    last column that is neither x nor a label."""
    columns = [c for c in columns if c != "time"]
    outer = plan.outer.name if plan.outer is not None else None
    x = plan.inner.name if plan.inner.name in columns else next((c for c in columns if c != outer), columns[0])
    if signal in columns and signal != x:
        return x, signal
    candidates = [c for c in columns if c not in (x, "direction", "alignment") and not c.endswith("_at_reading")]
    return x, (candidates[-1] if candidates else columns[-1])


class ProcedureWindow(ManagedWindowBase):
    """One procedure on the session's station: inputs, queue, abort, browser, plots, ETA, station."""

    def __init__(self, procedure_class, session: Session, folder=None, parent=None):
        self.session = session
        self.folder = pathlib.Path(folder) if folder is not None else session.folder
        proto = procedure_class()
        proto.set_parameters({"station_name": session.station.config.name}, except_missing=False)
        self.plan_info = PlanInfo.of(proto.plan())
        units = proto.units()  # every procedure's columns are fixed on its class
        columns = list(units)
        x, y = default_axes(list(proto.DATA_COLUMNS), self.plan_info, getattr(proto, "SIGNAL", None))
        self.curve_tab = CurveTab("Curves", columns, units, x, y)
        widgets = [self.curve_tab]
        self.map_tab = None
        if self.plan_info.is_map:
            self.map_tab = MapTab("Map", columns, units, y)
            widgets.append(self.map_tab)
        self.info_tab = RunInfoTab("Run info")
        self.log_widget = RunLogWidget("Log", fmt="%(asctime)s  %(levelname)s  %(message)s", datefmt="%H:%M:%S")
        widgets += [self.info_tab, self.log_widget]
        parameters = proto.parameter_objects()
        inputs = [name for name in parameters if name != "station_name"]
        displays = [name for name in inputs if name not in _COMMON][:4]
        super().__init__(procedure_class, widget_list=tuple(widgets), inputs=inputs, displays=displays,
                         enable_file_input=False, inputs_in_scrollarea=True, parent=parent)
        self.inputs.setMinimumHeight(min(420, 48 * len(inputs) + 10))
        logging.getLogger().addHandler(self.log_widget.handler)
        self.setWindowTitle(f"cryo-acq {procedure_class.NAME} on {session.station.config.name}")
        if self.map_tab is not None:
            self.tabs.setCurrentWidget(self.map_tab)
        self.browser.itemSelectionChanged.connect(self._selection_changed)
        self.resize(1500, 950)

    # --- replace pymeasure's Manager and add our docks
    def _setup_ui(self):
        super()._setup_ui()
        self.manager.deleteLater()
        self.manager = RunManager(self.session, self.widget_list, self.browser, log_level=self.log_level,
                                  parent=self)
        self.manager.abort_returned.connect(self.abort_returned)
        self.manager.queued.connect(self.queued)
        self.manager.running.connect(self.running)
        self.manager.finished.connect(self.finished)
        self.manager.failed.connect(self.failed)
        self.manager.log.connect(self.log.handle)
        self.browser_widget.open_button.setText("Open run file...")

    def _layout(self):
        super()._layout()
        for dock in self.findChildren(QtWidgets.QDockWidget):
            if dock.windowTitle() == "Input Parameters":
                dock.setMinimumWidth(360)
        # run files
        files = QtWidgets.QWidget(self)
        grid = QtWidgets.QGridLayout(files)
        self.folder_edit = QtWidgets.QLineEdit(str(self.folder), files)
        self.folder_edit.editingFinished.connect(lambda: setattr(self, "folder", pathlib.Path(self.folder_edit.text())))
        browse = QtWidgets.QPushButton("...", files)
        browse.setMaximumWidth(30)
        browse.clicked.connect(self._choose_folder)
        grid.addWidget(QtWidgets.QLabel("Folder:"), 0, 0)
        grid.addWidget(self.folder_edit, 0, 1)
        grid.addWidget(browse, 0, 2)
        self.refusal = QtWidgets.QLabel("", files)
        self.refusal.setWordWrap(True)
        self.refusal.setStyleSheet("color: #c00000")
        grid.addWidget(self.refusal, 1, 0, 1, 3)
        self._dock("Run files (HDF5)", files, QtCore.Qt.DockWidgetArea.LeftDockWidgetArea)
        self.eta = PlanEtaWidget(self)
        self._dock("Plan and ETA", self.eta, QtCore.Qt.DockWidgetArea.LeftDockWidgetArea)
        self.station_panel = StationPanel(self.session, self)
        self.station_dock = self._dock("Station", self.station_panel, QtCore.Qt.DockWidgetArea.RightDockWidgetArea)
        self.status_label = QtWidgets.QLabel(self.session.time_scale_text())
        self.statusBar().addPermanentWidget(self.status_label)
        self.session.time_scale_changed.connect(lambda _: self.status_label.setText(self.session.time_scale_text()))

    def _dock(self, title, widget, area):
        dock = QtWidgets.QDockWidget(title, self)
        dock.setWidget(widget)
        dock.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.NoDockWidgetFeatures)
        self.addDockWidget(area, dock)
        return dock

    def _choose_folder(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Folder for run files", str(self.folder))
        if folder:
            self.folder = pathlib.Path(folder)
            self.folder_edit.setText(folder)

    # --- queue
    def queue(self, procedure=None):
        """Queue the parameters entered (or ``procedure``): checked against the station
        first, sending nothing; refused with the reason shown if it cannot run.
        Returns the experiment, or None if refused."""
        try:
            if procedure is None:
                procedure = self.make_procedure()
            procedure.set_parameters({"station_name": self.session.station.config.name}, except_missing=False)
            plan = procedure.plan()
            self.session.check(procedure, plan)
        except ValueError as exc:
            self.refuse(str(exc))
            return None
        self.refusal.setText("")
        results = RunResults(procedure, self.folder, plan=plan)
        experiment = self.new_experiment(results)
        experiment.browser_item.setText(1, "(file named when it starts)")
        self.manager.queue(experiment)
        return experiment

    def refuse(self, message: str) -> None:
        self.refusal.setText(f"Refused, nothing sent: {message}")
        log.error("%s refused: %s", self.procedure_class.NAME, message)

    def failed(self, experiment):
        self.abort_returned(experiment)
        self.abort_button.setEnabled(self.manager.experiments.has_next())

    def finished(self, experiment):
        super().finished(experiment)
        self.info_tab.show_results(experiment.results)

    def abort_returned(self, experiment):
        super().abort_returned(experiment)
        self.info_tab.show_results(experiment.results)

    def _selection_changed(self) -> None:
        items = self.browser.selectedItems()
        if items:
            experiment = self.manager.experiments.with_browser_item(items[0])
            if experiment is not None:
                self.info_tab.show_results(experiment.results)

    # --- re-opening run files
    def open_experiment(self):
        paths, _ = QtWidgets.QFileDialog.getOpenFileNames(self, "Open run files", str(self.folder),
                                                          "Run files (*.h5)")
        for path in paths:
            self.open_run(path)

    def open_run(self, path, run=None):
        """Show a run file (finished or not) as it was measured: curves, map, parameters, log.
        ``run``: the run already read (from a run server: ``path`` is its URL)."""
        path = str(path)
        if path in self.manager.experiments:
            log.warning("%s is open already", os.path.basename(path))
            return None
        try:
            if run is not None:
                results = RunResults.from_run(run, path, self.procedure_class)
            else:
                results = RunResults.from_file(path, self.procedure_class)
        except (ValueError, OSError, KeyError) as exc:
            self.refuse(f"cannot open {os.path.basename(path)}: {exc}")
            return None
        experiment = self.new_experiment(results)
        item = experiment.browser_item
        item.setText(1, os.path.basename(path))
        item.setProgress(100 * results.progress.fraction if results.progress else 0)
        item.setText(3, results.status.capitalize())
        self.manager.load(experiment)
        self.info_tab.show_results(results)
        log.info("opened %s (%s)", path, results.status)
        return experiment

    def closeEvent(self, event):
        if self.manager.is_running():
            worker = self.manager._worker
            self.manager.abort()
            if worker is not None:
                worker.wait(60_000)
        logging.getLogger().removeHandler(self.log_widget.handler)
        super().closeEvent(event)

    def showEvent(self, event):
        root = logging.getLogger()
        if self.log_widget.handler not in root.handlers:  # shown again after a close
            root.addHandler(self.log_widget.handler)
        super().showEvent(event)


# --------------------------------------------------------------------------- the procedure picker
def _summary(cls) -> str:
    doc = sys.modules[cls.__module__].__doc__ or cls.__doc__ or ""
    first = doc.strip().split("\n\n")[0].replace("\n", " ")
    return first


def compatibility(cls, station) -> str:
    """Why ``cls`` cannot run on ``station`` at all ("" if it may)."""
    configuration = getattr(cls, "CONFIGURATION", None)
    if configuration and configuration not in station.config.wiring.configurations:
        return f"station {station.config.name} has no wiring for {configuration!r}"
    return ""


class Launcher(QtWidgets.QMainWindow):
    """Pick a procedure (one window each), or open a run file; with the station panel."""

    def __init__(self, session: Session, parent=None):
        super().__init__(parent)
        import procedures

        self.session = session
        self.windows: dict[str, ProcedureWindow] = {}
        station = session.station
        self.setWindowTitle(f"cryo-acq on {station.config.name}")
        self.list = QtWidgets.QListWidget(self)
        self.list.setAlternatingRowColors(True)
        self.list.setWordWrap(True)
        self.list.setSpacing(2)
        for name in procedures.PROCEDURES:
            cls = procedures.get(name)
            why = compatibility(cls, station)
            item = QtWidgets.QListWidgetItem(f"{name}\n    {_summary(cls)}")
            item.setData(QtCore.Qt.ItemDataRole.UserRole, name)
            font = item.font()
            if why:
                item.setFlags(item.flags() & ~QtCore.Qt.ItemFlag.ItemIsEnabled)
                item.setToolTip(why)
                item.setText(f"{name}  (not on this station: {why})\n    {_summary(cls)}")
            self.list.addItem(item)
            item.setFont(font)
        self.list.itemActivated.connect(lambda item: self.open_procedure(item.data(QtCore.Qt.ItemDataRole.UserRole)))
        open_button = QtWidgets.QPushButton("Open procedure window", self)
        open_button.clicked.connect(self._open_selected)
        file_button = QtWidgets.QPushButton("Open run file...", self)
        file_button.clicked.connect(self._open_file_dialog)
        url_button = QtWidgets.QPushButton("Open from server...", self)
        url_button.setToolTip("A run on a run server (cryo-acq serve): http://host:port/api/v1/metadata/<run>")
        url_button.clicked.connect(self._open_url_dialog)
        header = QtWidgets.QLabel(f"<h3>{station.config.name}</h3>{station.config.description}<br>"
                                  f"<i>{session.time_scale_text()}</i> &nbsp; run files go to "
                                  f"<tt>{session.folder}</tt>")
        header.setWordWrap(True)
        left = QtWidgets.QWidget(self)
        vbox = QtWidgets.QVBoxLayout(left)
        vbox.addWidget(header)
        vbox.addWidget(QtWidgets.QLabel("Procedures (double-click to open):"))
        vbox.addWidget(self.list, 1)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(open_button)
        row.addWidget(file_button)
        row.addWidget(url_button)
        vbox.addLayout(row)
        self.panel = StationPanel(session, self)
        split = QtWidgets.QSplitter(self)
        split.addWidget(left)
        split.addWidget(self.panel)
        split.setSizes([700, 450])
        self.setCentralWidget(split)
        self.resize(1200, 750)

    def _open_selected(self) -> None:
        item = self.list.currentItem()
        if item is not None and item.flags() & QtCore.Qt.ItemFlag.ItemIsEnabled:
            self.open_procedure(item.data(QtCore.Qt.ItemDataRole.UserRole))

    def open_procedure(self, name: str) -> ProcedureWindow:
        import procedures

        window = self.windows.get(name)
        if window is None:
            window = ProcedureWindow(procedures.get(name), self.session)
            self.windows[name] = window
        window.show()
        window.raise_()
        return window

    def _open_file_dialog(self) -> None:
        paths, _ = QtWidgets.QFileDialog.getOpenFileNames(self, "Open run files", str(self.session.folder),
                                                          "Run files (*.h5)")
        for path in paths:
            self.open_run_file(path)

    def open_run_file(self, path):
        """Open ``path`` in its procedure's window."""
        import h5py

        with h5py.File(path, "r", swmr=True) as f:
            name = f.attrs.get("procedure")
        window = self.open_procedure(str(name))
        return window.open_run(path)

    def _open_url_dialog(self) -> None:
        url, ok = QtWidgets.QInputDialog.getText(self, "Open a run from a server",
                                                 "Run URL (http://host:port/api/v1/metadata/<run>):")
        if ok and url.strip():
            self.open_run_url(url.strip())

    def open_run_url(self, url: str, api_key: str | None = None):
        """Open the run at ``url`` on a run server (``cryo-acq serve``) in its procedure's
        window, as a file is opened (the key: ``api_key``, else ``CRYO_ACQ_API_KEY``)."""
        try:
            from cryo_acq.service.client import ServerError, fetch_run
        except ImportError:
            QtWidgets.QMessageBox.warning(self, "Open from server", "Needs Tiled: pip install 'cryo-acq[serve]'")
            return None
        try:
            run = fetch_run(url, api_key or os.environ.get("CRYO_ACQ_API_KEY") or None)
        except ServerError as exc:
            QtWidgets.QMessageBox.warning(self, "Open from server", str(exc))
            return None
        window = self.open_procedure(run.procedure)
        return window.open_run(url, run=run)

    def closeEvent(self, event):
        for window in list(self.windows.values()):
            window.close()
        super().closeEvent(event)


# --------------------------------------------------------------------------- building and running
def build_station(station_ref, sim: bool, time_scale: float | None = None):
    """The station for the GUI. In simulation the clock runs at ``time_scale`` lab seconds
    per wall second (0 or None: the station file's ``sim.time_scale``, else pure virtual)."""
    from cryo_acq.station import file as station_file
    from cryo_acq.station.clock import VirtualClock
    from cryo_acq.station import Station

    config, path, text = station_file.load(station_ref)
    clock = None
    if sim:
        scale = time_scale if time_scale else None
        clock = VirtualClock(time_scale=scale)
    return Station(config, path, text, sim=sim, clock=clock)


def run_gui(station_ref, sim: bool, time_scale: float | None, procedure_names=(), out="runs",
            open_files=(), monitor_interval: float = 1.0) -> int:
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    station = build_station(station_ref, sim, time_scale)
    session = Session(station, folder=out, monitor_interval=monitor_interval)
    launcher = Launcher(session)
    launcher.show()
    for name in procedure_names:
        launcher.open_procedure(name)
    for path in open_files:
        launcher.open_run_file(path)
    try:
        return app.exec()
    finally:
        session.close()
        station.close()
