"""The station panel: every instrument's state, refreshed while idle and during runs.

A run and the panel share one station (in simulation, one simulated lab), from two
threads. The station owns one re-entrant I/O lock (``Station.io_lock``) that every
driver exchange holds whole (``ask`` = write + read, a ``SET`` + its checked reply),
so the panel's queries can never fall between a run's command and its reply; in
simulation the lab's routing and a pure-virtual sleep hold it too. The panel holds
it per instrument, so a run waits at most one instrument's queries.

The panel only reads. The lock-in's overload bits are cleared by reading them, so
during a run the panel shows the overload of the run's own last reading instead of
reading it (idle, it reads the lock-in itself).

:class:`StationMonitor` polls in its own thread and posts each reading to the GUI
thread with a signal; :class:`StationPanel` shows it.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import weakref

from qtpy import QtCore, QtGui, QtWidgets

from cryo_acq.station.clock import VirtualClock

log = logging.getLogger(__name__)

_LAST_READINGS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


# --------------------------------------------------------------------------- the lock
def serialise(station) -> threading.RLock:
    """The station's I/O lock (:attr:`Station.io_lock`: every exchange with every
    instrument holds it; hold it yourself to make several exchanges in a row, as the
    panel does per instrument), with the run's lock-in readings kept for the panel
    (installed once per station)."""
    lock = station.io_lock
    if station in _LAST_READINGS:
        return lock
    # the run's lock-in readings, for the overload display (reading the bits clears them)
    from instruments.roles import LockIn

    readings: dict[str, tuple[float, object]] = {}
    _LAST_READINGS[station] = readings
    for role in station.roles.values():
        if isinstance(role, LockIn):
            def measure(_original=role.measure, _name=role.name):
                reading = _original()
                readings[_name] = (time.monotonic(), reading)
                return reading

            role.measure = measure
    return lock


def last_readings(station) -> dict:
    """Lock-in name -> (wall time, LockInReading) of the last reading anyone took."""
    return _LAST_READINGS.get(station, {})


def set_time_scale(clock, time_scale: float) -> None:
    """Change a running :class:`VirtualClock`'s time scale without a jump in its time.

    Call it only while no run is in progress, holding the station lock."""
    if not isinstance(clock, VirtualClock) or clock.time_scale is None:
        raise ValueError("only a time-scaled simulation clock can change its time scale")
    if time_scale <= 0:
        raise ValueError(f"time scale must be positive, got {time_scale!r}")
    now = clock.now()
    clock._wall0 = time.monotonic()
    clock._t = now
    clock.time_scale = float(time_scale)


# --------------------------------------------------------------------------- reading the station
def read_station(station, lock, running: bool) -> dict:
    """One reading of every instrument: {"time": lab s, "rows": [(instrument, quantity, text, alarm)]}.

    Each instrument is read under the lock, one instrument at a time, so a run waits
    at most one instrument's queries for the panel."""
    from instruments.roles import CurrentSource, LockIn, TemperatureController

    rows: list[tuple[str, str, str, bool]] = []
    errors: list[str] = []

    def attempt(name, read):
        try:
            with lock:
                read()
        except Exception as exc:  # noqa: BLE001 - a panel reports, it never breaks a run
            errors.append(f"{name}: {type(exc).__name__}: {exc}")
            rows.append((name, "error", f"{type(exc).__name__}", True))

    magnet = station.magnet
    if magnet is not None:
        def read_magnet():
            fields, statuses, targets = magnet.field(), magnet.statuses(), magnet.targets
            for axis in magnet.axes:
                status = str(statuses.get(axis, ""))
                moving = abs(fields[axis] - targets.get(axis, fields[axis])) > 1e-6 and status not in ("HOLD",
                                                                                                     "CLMP")
                rows.append(("magnet", f"B{axis}", _si(fields[axis], "T"), False))
                rows.append(("magnet", f"B{axis} ramp", f"{status}{' -> ' + _si(targets[axis], 'T') if moving else ''}",
                             status == "CLMP"))
        attempt("magnet", read_magnet)
    for role in station.roles.values():
        if isinstance(role, TemperatureController):
            def read_temperature(t=role):
                rows.append((t.name, "T", _si(t.temperature(), "K"), False))
                rows.append((t.name, "set-point", _si(t.setpoint, "K"), False))
                heater, heater_range = t.heater_output(), t.heater_range
                if not heater_range or heater_range == "off":
                    text = "off"
                elif isinstance(heater_range, (int, float)) and not isinstance(heater_range, bool):
                    text = _si(heater_range, "A") + " range"
                else:
                    text = f"{heater_range}"
                if heater is not None and not (isinstance(heater, float) and math.isnan(heater)):
                    text += f", {heater:.3g} %"
                rows.append((t.name, "heater", text, False))
            attempt(role.name, read_temperature)
    for role in station.roles.values():
        if isinstance(role, CurrentSource):
            def read_source(s=role):
                on = s.output_enabled
                rows.append((s.name, "output", f"ON  {_si(s.current, 'A')}" if on else "off", False))
                tripped = s.compliance_tripped
                rows.append((s.name, "compliance", "TRIPPED" if tripped else "ok", tripped))
            attempt(role.name, read_source)
    readings = last_readings(station)
    for role in station.roles.values():
        if isinstance(role, LockIn):
            def read_lockin(li=role):
                rows.append((li.name, "excitation", _si(li.excitation_current, "A") + " rms", False))
                rows.append((li.name, "sensitivity", _si(li.sensitivity, "V"), False))
                if running:  # never clear the run's overload bits: show its own last reading
                    when, reading = readings.get(li.name, (None, None))
                    overload = bool(reading is not None and reading.overload)
                    text = ("no reading yet" if reading is None else
                            f"{'OVERLOAD' if overload else 'no'} (run, {time.monotonic() - when:.0f} s ago)")
                else:
                    reading = li.measure()
                    overload = reading.overload
                    text = f"{'OVERLOAD' if overload else 'no'}, R = {_si(reading.r, 'V')}"
                rows.append((li.name, "overload", text, overload))
            attempt(role.name, read_lockin)
    with lock:
        now = station.clock.now()
    return {"time": now, "rows": rows, "errors": errors, "running": running}


def _si(value, unit: str) -> str:
    try:
        import pyqtgraph as pg

        return pg.siFormat(float(value), precision=4, suffix=unit)
    except (TypeError, ValueError):
        return f"{value} {unit}"


class StationMonitor(QtCore.QThread):
    """Reads the station every ``interval`` wall seconds in its own thread; posts ``updated``."""

    updated = QtCore.Signal(object)

    def __init__(self, station, interval: float = 1.0, is_running=lambda: False, parent=None):
        super().__init__(parent)
        self.station = station
        self.lock = serialise(station)
        self.interval = float(interval)
        self.is_running = is_running
        self.readings = 0
        self.last: dict | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()

    def run(self) -> None:
        while not self._stop.is_set():
            if not self.station.clock.stop_event.is_set():  # a stop is being handled: do not add waits
                try:
                    reading = read_station(self.station, self.lock, bool(self.is_running()))
                    self.readings += 1
                    self.last = reading
                    self.updated.emit(reading)
                except Exception:  # noqa: BLE001
                    log.exception("station panel reading failed")
            self._wake.wait(self.interval)
            self._wake.clear()

    def refresh_now(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self.wait(5000)


class StationPanel(QtWidgets.QWidget):
    """Instrument states (from a :class:`StationMonitor`), lab time and, in a time-scaled
    simulation, the time scale."""

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        station = session.station
        kind = "simulated lab" if station.sim else "real instruments"
        self.title = QtWidgets.QLabel(f"<b>{station.config.name}</b> &mdash; {kind}")
        self.title.setToolTip(station.config.description)
        self.clock_label = QtWidgets.QLabel("lab time —")
        self.state_label = QtWidgets.QLabel("idle")
        self.tree = QtWidgets.QTreeWidget(self)
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["instrument / quantity", "value"])
        self.tree.setRootIsDecorated(True)
        self.tree.setUniformRowHeights(True)
        self.tree.header().setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self._groups: dict[str, QtWidgets.QTreeWidgetItem] = {}
        self._items: dict[tuple[str, str], QtWidgets.QTreeWidgetItem] = {}
        vbox = QtWidgets.QVBoxLayout(self)
        vbox.setContentsMargins(4, 4, 4, 4)
        vbox.addWidget(self.title)
        vbox.addWidget(self.clock_label)
        vbox.addWidget(self.state_label)
        clock = station.clock
        self.time_scale = None
        if isinstance(clock, VirtualClock) and clock.time_scale is not None:
            row = QtWidgets.QHBoxLayout()
            row.addWidget(QtWidgets.QLabel("Lab time x"))
            self.time_scale = QtWidgets.QDoubleSpinBox(self)
            self.time_scale.setDecimals(0)
            self.time_scale.setRange(1, 1e6)
            self.time_scale.setValue(clock.time_scale)
            self.time_scale.setToolTip("Lab seconds per wall second (changeable between runs)")
            self.time_scale.editingFinished.connect(self._time_scale_changed)
            row.addWidget(self.time_scale, 1)
            vbox.addLayout(row)
        elif isinstance(clock, VirtualClock):
            vbox.addWidget(QtWidgets.QLabel("Pure virtual time: runs go as fast as the computer"))
        vbox.addWidget(self.tree, 1)
        session.monitor.updated.connect(self.show_reading)
        session.busy_changed.connect(self._busy_changed)
        if session.monitor.last is not None:
            self.show_reading(session.monitor.last)

    def _busy_changed(self, busy: bool) -> None:
        self.state_label.setText(self.session.state_text())
        self.session.monitor.refresh_now()
        if self.time_scale is not None:
            self.time_scale.setEnabled(not busy)

    def _time_scale_changed(self) -> None:
        if self.session.busy:
            return
        with self.session.lock:
            set_time_scale(self.session.station.clock, self.time_scale.value())
        self.session.time_scale_changed.emit(self.time_scale.value())

    def show_reading(self, reading: dict) -> None:
        t = reading["time"]
        h, rest = divmod(t, 3600)
        m, s = divmod(rest, 60)
        self.clock_label.setText(f"lab time {int(h):d}:{int(m):02d}:{s:04.1f}")
        self.state_label.setText(self.session.state_text())
        red = QtGui.QBrush(QtGui.QColor("#c00000"))
        normal = self.tree.palette().brush(QtGui.QPalette.ColorRole.Text)
        for instrument, quantity, text, alarm in reading["rows"]:
            group = self._groups.get(instrument)
            if group is None:
                group = QtWidgets.QTreeWidgetItem([instrument, ""])
                font = group.font(0)
                font.setBold(True)
                group.setFont(0, font)
                self.tree.addTopLevelItem(group)
                group.setExpanded(True)
                self._groups[instrument] = group
            item = self._items.get((instrument, quantity))
            if item is None:
                item = QtWidgets.QTreeWidgetItem([quantity, ""])
                group.addChild(item)
                self._items[(instrument, quantity)] = item
            item.setText(1, text)
            item.setForeground(1, red if alarm else normal)

    def value(self, instrument: str, quantity: str) -> str | None:
        item = self._items.get((instrument, quantity))
        return item.text(1) if item is not None else None
