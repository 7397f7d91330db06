"""Live plots fed from memory.

The worker thread appends each reading to a :class:`RunBuffer` (append-only numpy
columns with amortised growth, and for 2-D plans one preallocated NaN grid per
column written at the point's grid index). The GUI thread polls the buffers on a
timer and hands pyqtgraph only what changed:

* :class:`LiveCurve` copies the rows that arrived since its last refresh into its
  own branch buffers (up / down sweep of a loop, or one branch) and redraws; above
  :data:`DISPLAY_LIMIT` points a branch is drawn as a min/max envelope kept up to
  date incrementally (:class:`Decimator`), so a refresh costs O(new points), never
  O(run length), and the drawing stays bounded;
* :class:`LiveImage` shows a grid as an ``ImageItem`` placed in physical units by a
  ``QTransform`` built from the plan's axis values: pixel (i, j) is centred on
  (inner[j], outer[i]) whatever the sweep direction, and snake order needs nothing
  since each point is written at its grid index.

Both are also built from a finished run file (:meth:`RunBuffer.from_run`), so a
re-opened run plots exactly like a live one.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from pymeasure.display.widgets import TabWidget
from qtpy import QtCore, QtGui, QtWidgets

#: points per branch drawn as they are; above this, a min/max envelope of about this many
DISPLAY_LIMIT = 20_000
REFRESH_MS = 100
UP_SYMBOL, DOWN_SYMBOL = "t1", "t"  # triangles pointing up / down


# --------------------------------------------------------------------------- buffers
class Column:
    """An append-only float64 array with amortised (doubling) growth."""

    def __init__(self, capacity: int = 1024, dtype=np.float64):
        self._a = np.empty(max(int(capacity), 16), dtype=dtype)
        self.n = 0

    def extend(self, values) -> None:
        values = np.asarray(values, dtype=self._a.dtype).ravel()
        k = values.size
        if self.n + k > self._a.size:
            grown = np.empty(max(2 * self._a.size, self.n + k), dtype=self._a.dtype)
            grown[: self.n] = self._a[: self.n]
            self._a = grown  # a reader holding the old array still sees its first n values
        self._a[self.n: self.n + k] = values
        self.n += k

    def append(self, value) -> None:
        if self.n == self._a.size:
            self.extend([value])
            return
        self._a[self.n] = value
        self.n += 1

    def view(self) -> np.ndarray:
        return self._a[: self.n]

    def clear(self) -> None:
        self.n = 0


@dataclass(frozen=True)
class PlanAxis:
    name: str
    unit: str
    values: np.ndarray  #: set-points in the order the axis visits them (one pass)


class PlanInfo:
    """What the plots need of a plan: its axes (outer first), shape, snake."""

    def __init__(self, axes: list[PlanAxis], snake: bool = False):
        self.axes = axes
        self.snake = snake
        self.shape = tuple(a.values.size for a in axes)

    @classmethod
    def of(cls, plan) -> "PlanInfo":
        """From a :class:`cryo_acq.run.sweeps.Plan` or its stored description (``run.plan``)."""
        if isinstance(plan, dict):
            axes = [PlanAxis(a["name"], a.get("unit", ""), np.asarray(a["values"], float)) for a in plan["axes"]]
            return cls(axes, bool(plan.get("snake", False)))
        return cls([PlanAxis(a.name, a.unit, np.asarray(a.values, float)) for a in plan.axes], bool(plan.snake))

    @property
    def is_map(self) -> bool:
        return len(self.axes) == 2

    @property
    def inner(self) -> PlanAxis:
        return self.axes[-1]

    @property
    def outer(self) -> PlanAxis | None:
        return self.axes[0] if self.is_map else None

    def __len__(self) -> int:
        return int(np.prod(self.shape))


class RunBuffer:
    """One run's readings in memory: written by the worker thread, read by the GUI.

    ``append`` (worker) adds a row and, for a 2-D plan, writes each column's value
    into its grid at the point's grid index. ``snapshot`` (GUI) returns the row
    count and the current backing arrays; rows below that count never change
    afterwards, so the reader slices them without holding the lock.
    """

    def __init__(self, columns, plan: PlanInfo, capacity: int = 1024):
        self.columns = list(columns)
        self.plan = plan
        self._lock = threading.Lock()
        self._cols = {c: Column(capacity) for c in self.columns}
        self._index = Column(capacity, np.int64)  # plan index of each row (-1: none)
        self.grids = {c: np.full(plan.shape, np.nan) for c in self.columns} if plan.is_map else {}
        self.n = 0

    def append(self, row: dict, point=None) -> None:
        """Add one reading (worker thread). ``point``: the plan point it measures."""
        with self._lock:
            for c in self.columns:
                value = row.get(c, math.nan)
                value = math.nan if value is None else float(value)
                self._cols[c].append(value)
                if point is not None and self.grids:
                    self.grids[c][point.grid] = value
            self._index.append(-1 if point is None else point.index)
            self.n += 1

    def extend(self, data: dict[str, np.ndarray], plan_index: np.ndarray) -> None:
        """Add many rows at once (a run file being re-opened)."""
        k = len(plan_index)
        with self._lock:
            for c in self.columns:
                values = np.asarray(data.get(c, np.full(k, np.nan)), float)
                self._cols[c].extend(values)
            self._index.extend(plan_index)
            self.n += k

    def snapshot(self) -> tuple[int, dict[str, np.ndarray], np.ndarray]:
        """(rows, column -> array, plan index array); slice them to ``[:rows]``."""
        with self._lock:
            return self.n, {c: col._a for c, col in self._cols.items()}, self._index._a

    def column(self, name: str) -> np.ndarray:
        n, cols, _ = self.snapshot()
        return cols[name][:n]

    @classmethod
    def from_run(cls, run) -> "RunBuffer":
        """The buffer of a run file as read by :func:`cryo_acq.run.storage.load_run`."""
        plan = PlanInfo.of(run.plan)
        columns = list(run.metadata["columns"])
        buf = cls(columns, plan, capacity=max(16, len(run.plan_index)))
        buf.extend(run.data, np.asarray(run.plan_index, np.int64))
        for c, grid in run.grid.items():
            if c in buf.grids and grid.shape == buf.grids[c].shape:
                buf.grids[c][...] = grid
        return buf


# --------------------------------------------------------------------------- decimation
class Decimator:
    """Display points of an append-only series, at most about ``limit`` of them.

    Up to ``limit`` points the series is shown as it is (views, no copy). Beyond,
    consecutive points are grouped into blocks of ``b`` (a power of two) and each
    block is drawn as its minimum and maximum, in the order they occur, at their own
    x: every peak stays visible. Blocks completed since the last call are reduced
    (O(new points)); when the series outgrows the envelope, ``b`` doubles and the
    envelope is rebuilt once (amortised O(1) per point). The tail that does not fill
    a block is drawn as it is.
    """

    def __init__(self, limit: int = DISPLAY_LIMIT):
        self.limit = int(limit)
        self.block = 1
        self._ex = Column(256)
        self._ey = Column(256)
        self._blocks = 0  # blocks reduced into the envelope

    def reset(self) -> None:
        self.block, self._blocks = 1, 0
        self._ex.clear()
        self._ey.clear()

    def display(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = len(x)
        if n <= self.limit:
            if self.block != 1:
                self.reset()
            return x, y
        block = self.block if self.block > 1 else 2
        while 2 * (n // block) > self.limit:
            block *= 2
        if block != self.block:
            self.block = block
            self._blocks = 0
            self._ex.clear()
            self._ey.clear()
        full = n // block
        if full > self._blocks:
            self._reduce(x[self._blocks * block: full * block], y[self._blocks * block: full * block], block)
            self._blocks = full
        tail = slice(full * block, n)
        return (np.concatenate([self._ex.view(), x[tail]]), np.concatenate([self._ey.view(), y[tail]]))

    def _reduce(self, x: np.ndarray, y: np.ndarray, block: int) -> None:
        k = len(y) // block
        yb = y.reshape(k, block)
        xb = x.reshape(k, block)
        finite = np.isfinite(yb)
        lo = np.argmin(np.where(finite, yb, np.inf), axis=1)
        hi = np.argmax(np.where(finite, yb, -np.inf), axis=1)
        first = np.minimum(lo, hi)
        second = np.maximum(lo, hi)
        rows = np.arange(k)
        px = np.empty((k, 2))
        py = np.empty((k, 2))
        px[:, 0], px[:, 1] = xb[rows, first], xb[rows, second]
        py[:, 0], py[:, 1] = yb[rows, first], yb[rows, second]
        empty = ~finite.any(axis=1)  # an all-NaN block (a line break) stays a break
        py[empty] = np.nan
        self._ex.extend(px.ravel())
        self._ey.extend(py.ravel())


# --------------------------------------------------------------------------- curves
DISPLAY_UNITS = {"Ohm": "\u03a9", "ohm": "\u03a9"}


def display_unit(unit: str | None) -> str | None:
    return DISPLAY_UNITS.get(unit, unit) if unit else None


def _label(name: str, units: dict[str, str]) -> tuple[str, str | None]:
    return name.replace("_", " "), display_unit(units.get(name))


#: above this many drawn points a branch is drawn with a 1-pixel (cosmetic) pen and no
#: symbols: Qt rasterises a wider pen about ten times slower
THIN_ABOVE = 2_000


class _Branch:
    """One drawn branch of a curve (all points, the up sweep or the down sweep)."""

    def __init__(self, item: pg.PlotDataItem, symbol=None):
        self.x = Column()
        self.y = Column()
        self.decimator = Decimator()
        self.item = item
        self.symbol = symbol
        self.thin = False

    def clear(self) -> None:
        self.x.clear()
        self.y.clear()
        self.decimator.reset()

    def redraw(self) -> None:
        x, y = self.decimator.display(self.x.view(), self.y.view())
        thin = len(x) > THIN_ABOVE
        if thin != self.thin:
            self.thin = thin
            pen = QtGui.QPen(self.item.opts["pen"])
            pen.setWidthF(1.0 if thin else 2.0)
            self.item.setPen(pen)
            self.item.setSymbol(None if thin else self.symbol)
        self.item.setData(x, y, connect="finite")


class LiveCurve:
    """A run's y-vs-x curve in a :class:`CurveTab`, refreshed from its :class:`RunBuffer`.

    Loops (a ``direction`` column, +1 up / -1 down) are drawn as two branches: the
    up sweep solid with upward triangles, the down sweep dashed with downward
    triangles, in a lighter shade of the run's colour. For 2-D plans every line of
    the outer axis is its own stroke (NaN breaks between lines).

    Also what pymeasure's window and manager expect of a curve: ``wdg``, ``color``,
    ``update_data()``.
    """

    def __init__(self, results, wdg: "CurveTab", x: str, y: str, color):
        self.results = results
        self.buffer: RunBuffer = results.buffer
        self.wdg = wdg
        self.x, self.y = x, y
        self.color = pg.mkColor(color)
        self.loop = "direction" in self.buffer.columns
        self.branches: dict[int, _Branch] = {}
        self._n = 0  # rows consumed
        self._last_line = None  # outer index of the last row (2-D plans)
        self.refresh_count = 0
        keys = (1, -1) if self.loop else (0,)
        for key in keys:
            item = self._make_item(key)
            self.branches[key] = _Branch(item, item.opts["symbol"])

    def _style(self, key: int):
        color = QtGui.QColor(self.color)
        if key == -1:
            color = color.lighter(150)
            pen = pg.mkPen(color=color, width=2, style=QtCore.Qt.PenStyle.DashLine)
        else:
            pen = pg.mkPen(color=color, width=2)
        return color, pen

    def _make_item(self, key: int) -> pg.PlotDataItem:
        color, pen = self._style(key)
        kwargs = dict(pen=pen, antialias=False, skipFiniteCheck=False)
        if key:
            kwargs.update(symbol=UP_SYMBOL if key == 1 else DOWN_SYMBOL, symbolSize=7, symbolPen=None,
                          symbolBrush=color, name="up sweep" if key == 1 else "down sweep")
        item = pg.PlotDataItem(**kwargs)
        item.curve_owner = self
        return item

    @property
    def items(self) -> list[pg.PlotDataItem]:
        return [b.item for b in self.branches.values()]

    def set_color(self, color) -> None:
        self.color = pg.mkColor(color)
        for key, branch in self.branches.items():
            c, pen = self._style(key)
            pen.setWidthF(1.0 if branch.thin else 2.0)
            branch.item.setPen(pen)
            if key:
                branch.item.setSymbolBrush(c)

    def data(self, key: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """The branch's full-resolution (x, y) as plotted (for tests and export)."""
        b = self.branches[key]
        return b.x.view().copy(), b.y.view().copy()

    def update_data(self) -> None:  # the name pymeasure's manager calls
        self.refresh()

    def rebuild(self) -> None:
        """Start over (the axes changed): O(run length), once."""
        for b in self.branches.values():
            b.clear()
        self._n = 0
        self._last_line = None
        self.refresh(force=True)

    def refresh(self, force: bool = False) -> int:
        """Take the rows that arrived since the last refresh; returns how many."""
        n, cols, index = self.buffer.snapshot()
        new = n - self._n
        if new <= 0 and not force:
            return 0
        sl = slice(self._n, n)
        if self.x not in cols or self.y not in cols:  # a column this run does not record
            self._n = n
            for b in self.branches.values():
                b.redraw()
            return new
        x, y = cols[self.x][sl], cols[self.y][sl]
        if self.loop:
            direction = cols["direction"][sl]
            for key in (1, -1):
                mask = direction == key
                if mask.any():
                    self.branches[key].x.extend(x[mask])
                    self.branches[key].y.extend(y[mask])
        else:
            if self.buffer.plan.is_map and new > 0:
                x, y = self._with_line_breaks(x, y, index[sl])
            self.branches[0].x.extend(x)
            self.branches[0].y.extend(y)
        self._n = n
        for b in self.branches.values():
            b.redraw()
        self.refresh_count += 1
        return new

    def _with_line_breaks(self, x, y, index):
        """Insert a NaN point wherever the outer index changes (a new line of a map)."""
        n_inner = self.buffer.plan.shape[-1]
        line = np.where(index >= 0, index // n_inner, -1)
        previous = np.concatenate([[self._last_line if self._last_line is not None else line[0]], line[:-1]])
        breaks = np.flatnonzero(line != previous)
        self._last_line = int(line[-1])
        if breaks.size == 0:
            return x, y
        return np.insert(x, breaks, np.nan), np.insert(y, breaks, np.nan)


class CurveTab(TabWidget, QtWidgets.QWidget):
    """Curves of every run in a window, with x and y chosen from the data columns."""

    def __init__(self, name: str, columns: list[str], units: dict[str, str], x_axis: str, y_axis: str,
                 parent=None):
        super().__init__(name, parent)
        self.columns = list(columns)
        self.units = units
        self.curves: list[LiveCurve] = []
        self.columns_x = QtWidgets.QComboBox(self)
        self.columns_y = QtWidgets.QComboBox(self)
        for c in self.columns:
            self.columns_x.addItem(c)
            self.columns_y.addItem(c)
        self.columns_x.setCurrentText(x_axis)
        self.columns_y.setCurrentText(y_axis)
        self.columns_x.activated.connect(lambda _: self._axes_changed())
        self.columns_y.activated.connect(lambda _: self._axes_changed())
        self.plot_widget = pg.PlotWidget(self, background="w")
        self.plot = self.plot_widget.getPlotItem()
        self.legend = self.plot.addLegend(offset=(-10, 10), labelTextColor="k")
        self.legend.hide()
        hbox = QtWidgets.QHBoxLayout()
        hbox.addWidget(QtWidgets.QLabel("X axis:"))
        hbox.addWidget(self.columns_x, 1)
        hbox.addWidget(QtWidgets.QLabel("Y axis:"))
        hbox.addWidget(self.columns_y, 1)
        vbox = QtWidgets.QVBoxLayout(self)
        vbox.setContentsMargins(4, 4, 4, 4)
        vbox.addLayout(hbox)
        vbox.addWidget(self.plot_widget)
        self._set_labels()
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self.timer.start(REFRESH_MS)

    @property
    def x_axis(self) -> str:
        return self.columns_x.currentText()

    @property
    def y_axis(self) -> str:
        return self.columns_y.currentText()

    def _set_labels(self) -> None:
        style = {"color": "#000", "font-size": "11pt"}
        for side, column in (("bottom", self.x_axis), ("left", self.y_axis)):
            text, unit = _label(column, self.units)
            self.plot.setLabel(side, text, units=unit, **style)

    def _axes_changed(self) -> None:
        self._set_labels()
        for curve in self.curves:
            curve.x, curve.y = self.x_axis, self.y_axis
            curve.rebuild()

    def refresh(self) -> int:
        return sum(curve.refresh() for curve in self.curves)

    # --- what pymeasure's window calls
    def new_curve(self, results, color=None, **kwargs):
        return LiveCurve(results, self, self.x_axis, self.y_axis, color if color is not None else pg.intColor(0))

    def load(self, curve: LiveCurve) -> None:
        if curve in self.curves:
            return
        curve.x, curve.y = self.x_axis, self.y_axis
        self.curves.append(curve)
        for item in curve.items:
            self.plot.addItem(item)
        curve.rebuild()
        self._update_legend()

    def remove(self, curve: LiveCurve) -> None:
        if curve in self.curves:
            self.curves.remove(curve)
            for item in curve.items:
                self.plot.removeItem(item)
            self._update_legend()

    def _update_legend(self) -> None:
        """Name the up and down sweeps (after the most recent loop)."""
        self.legend.clear()
        loops = [c for c in self.curves if c.loop]
        if loops:
            for key in (1, -1):
                item = loops[-1].branches[key].item
                self.legend.addItem(item, "up sweep" if key == 1 else "down sweep")
            self.legend.show()
        else:
            self.legend.hide()

    def set_color(self, curve: LiveCurve, color) -> None:
        curve.set_color(color)

    def clear_widget(self) -> None:
        for curve in list(self.curves):
            self.remove(curve)


# --------------------------------------------------------------------------- images
def pixel_transform(inner: PlanAxis, outer: PlanAxis) -> QtGui.QTransform:
    """Map image pixels (column j, row i; row-major) to physical units: pixel (i, j)
    is centred on (inner.values[j], outer.values[i]). Steps may be negative
    (descending sweeps): the image is then mirrored, and still right."""

    def step(values: np.ndarray) -> tuple[float, float]:
        if values.size < 2:
            return float(values[0]) if values.size else 0.0, 1.0
        return float(values[0]), float(values[-1] - values[0]) / (values.size - 1)

    x0, dx = step(inner.values)
    y0, dy = step(outer.values)
    if dx == 0:
        dx = 1.0
    if dy == 0:
        dy = 1.0
    return QtGui.QTransform(dx, 0.0, 0.0, dy, x0 - dx / 2, y0 - dy / 2)


def _uniform(values: np.ndarray) -> bool:
    if values.size < 3:
        return True
    d = np.diff(values)
    return bool(np.allclose(d, d[0], rtol=1e-6, atol=1e-12 * max(1.0, float(np.max(np.abs(values))))))


class LiveImage:
    """A 2-D run's grid of one column as an image, refreshed from its :class:`RunBuffer`."""

    def __init__(self, results, wdg: "MapTab", z: str):
        self.results = results
        self.buffer: RunBuffer = results.buffer
        self.wdg = wdg
        self.z = z
        self.color = pg.mkColor("k")
        plan = self.buffer.plan
        self.inner, self.outer = plan.inner, plan.outer
        self.uniform = _uniform(self.inner.values) and _uniform(self.outer.values)
        self.item = pg.ImageItem(axisOrder="row-major")
        self.item.setTransform(pixel_transform(self.inner, self.outer))
        self._n = -1
        self._z_shown = None
        self.levels = (0.0, 1.0)
        self._range: tuple[float, float] | None = None  # of the finite values shown
        self.refresh_count = 0

    @property
    def image(self) -> np.ndarray:
        """The array the image shows (rows: outer axis, columns: inner axis)."""
        grid = self.buffer.grids.get(self.z)
        return grid if grid is not None else np.full(self.buffer.plan.shape, np.nan)

    def update_data(self) -> None:
        self.refresh(force=True)

    def refresh(self, force: bool = False) -> bool:
        n, cols, _ = self.buffer.snapshot()
        if n == self._n and self.z == self._z_shown and not force:
            return False
        if self.z not in self.buffer.grids:  # a column this run does not record
            self.item.clear()
            self._n, self._z_shown = n, self.z
            return False
        grid = self.buffer.grids[self.z]
        if self.z != self._z_shown or force or self._n < 0 or self._range is None:
            finite = grid[np.isfinite(grid)]
            self._range = (float(finite.min()), float(finite.max())) if finite.size else None
        else:  # only the new readings can move the levels: O(new points)
            new = cols[self.z][self._n:n]
            new = new[np.isfinite(new)]
            if new.size:
                lo, hi = self._range
                self._range = (min(lo, float(new.min())), max(hi, float(new.max())))
        lo, hi = self._range if self._range is not None else (0.0, 1.0)
        if hi <= lo:
            pad = abs(lo) * 1e-6 or 1e-12
            lo, hi = lo - pad, hi + pad
        self.levels = (lo, hi)
        self.item.setImage(grid, autoLevels=False, levels=self.levels, autoDownsample=False)
        self._n, self._z_shown = n, self.z
        self.refresh_count += 1
        if self.wdg is not None and self.wdg.current is self:
            self.wdg.bar.setLevels(self.levels, update_items=False)
        return True


class MapTab(TabWidget, QtWidgets.QWidget):
    """2-D maps (rt-map, nl-map) as live images with axes in physical units and a colour bar."""

    def __init__(self, name: str, columns: list[str], units: dict[str, str], z_axis: str, parent=None):
        super().__init__(name, parent)
        self.columns = list(columns)
        self.units = units
        self.images: list[LiveImage] = []
        self.current: LiveImage | None = None
        self.columns_z = QtWidgets.QComboBox(self)
        for c in self.columns:
            self.columns_z.addItem(c)
        self.columns_z.setCurrentText(z_axis)
        self.columns_z.activated.connect(lambda _: self._z_changed())
        self.view = pg.GraphicsLayoutWidget(self)
        self.view.setBackground("w")
        self.plot = self.view.addPlot()
        self.plot.setDefaultPadding(0.0)
        self.bar = pg.ColorBarItem(values=(0, 1), colorMap=pg.colormap.get("viridis"), interactive=False,
                                   width=18, pen="k")
        self._bar_inserted = False
        self.coordinates = QtWidgets.QLabel(" ", self)
        hbox = QtWidgets.QHBoxLayout()
        hbox.addWidget(QtWidgets.QLabel("Colour:"))
        hbox.addWidget(self.columns_z, 1)
        hbox.addWidget(self.coordinates, 2)
        vbox = QtWidgets.QVBoxLayout(self)
        vbox.setContentsMargins(4, 4, 4, 4)
        vbox.addLayout(hbox)
        vbox.addWidget(self.view)
        self.plot.scene().sigMouseMoved.connect(self._mouse_moved)
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self.timer.start(REFRESH_MS)

    @property
    def z_axis(self) -> str:
        return self.columns_z.currentText()

    def _mouse_moved(self, pos) -> None:
        image = self.current
        if image is None or not self.plot.sceneBoundingRect().contains(pos):
            return
        p = self.plot.vb.mapSceneToView(pos)
        inv, ok = image.item.transform().inverted()
        local = inv.map(p)
        i, j = int(math.floor(local.y())), int(math.floor(local.x()))
        grid = image.image
        if 0 <= i < grid.shape[0] and 0 <= j < grid.shape[1]:
            def fmt(name, value):
                text, unit = _label(name, self.units)
                return f"{text} = {pg.siFormat(value, suffix=unit or '')}"
            self.coordinates.setText(f"{fmt(image.inner.name, image.inner.values[j])}, "
                                     f"{fmt(image.outer.name, image.outer.values[i])}: "
                                     f"{fmt(image.z, grid[i, j])}")

    def _set_labels(self, image: LiveImage) -> None:
        style = {"color": "#000", "font-size": "11pt"}
        self.plot.setLabel("bottom", image.inner.name.replace("_", " "), units=display_unit(image.inner.unit), **style)
        self.plot.setLabel("left", image.outer.name.replace("_", " "), units=display_unit(image.outer.unit), **style)
        text, unit = _label(image.z, self.units)
        self.bar.axis.setLabel(text, units=unit, **style)

    def _make_current(self, image: LiveImage | None) -> None:
        self.current = image
        if image is None:
            return
        if not self._bar_inserted:
            self.bar.setImageItem(image.item, insert_in=self.plot)
            self._bar_inserted = True
        else:
            self.bar.setImageItem(image.item)
        self._set_labels(image)
        image.refresh(force=True)
        self.bar.setLevels(image.levels, update_items=False)
        self.plot.autoRange()

    def _z_changed(self) -> None:
        for image in self.images:
            image.z = self.z_axis
            image.refresh(force=True)
        if self.current is not None:
            self._set_labels(self.current)
            self.bar.setLevels(self.current.levels, update_items=False)

    def refresh(self) -> int:
        return sum(bool(image.refresh()) for image in self.images)

    # --- what pymeasure's window calls
    def new_curve(self, results, color=None, **kwargs):
        if not results.buffer.plan.is_map:
            return None
        return LiveImage(results, self, self.z_axis)

    def load(self, image: LiveImage) -> None:
        if image in self.images:
            return
        image.z = self.z_axis
        self.images.append(image)
        self.plot.addItem(image.item)
        self._make_current(image)

    def remove(self, image: LiveImage) -> None:
        if image in self.images:
            self.images.remove(image)
            self.plot.removeItem(image.item)
            if self.current is image:
                self._make_current(self.images[-1] if self.images else None)

    def clear_widget(self) -> None:
        for image in list(self.images):
            self.remove(image)
