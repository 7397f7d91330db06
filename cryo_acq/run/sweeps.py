"""Sweep plans: what a run will measure, decided before anything moves.

A plan is an ordered list of points over one or two axes. Each point has its
grid index, its set-points (SI units) and, for loops, the sweep direction. The
same plan drives the progress bar and ETA, the run file's shape (its done mask
and 2-D grids) and resume (the first point not yet done).

Stepped plans set each point, settle and read. A continuous plan moves its axis
at a rate and reads on the way; its "points" are the readings it intends to take,
and each reading records the measured value of the moving axis.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


class PlanError(ValueError):
    """A sweep that cannot be built as asked (caught before anything moves)."""


#: most points a plan may have (a station's ``limits.max_points`` may lower it): refused
#: before anything is allocated, so a step typed 1e-9 instead of 1e-3 is an error, not 8 GB
POINT_BUDGET = 10_000_000


def _within_budget(what: str, n: int) -> None:
    if n > POINT_BUDGET:
        raise PlanError(f"{what}: {n:,} points, more than the {POINT_BUDGET:,} a plan may have "
                        "(check the step)")


@dataclass(frozen=True)
class Axis:
    name: str  #: canonical column name, e.g. "field", "temperature", "injection_current"
    unit: str  #: SI unit, e.g. "T"
    values: np.ndarray  #: set-points in the order the axis visits them (one pass)


def _finite(what: str, *values: float) -> None:
    for v in values:
        if not isinstance(v, (int, float, np.floating, np.integer)) or not math.isfinite(v):
            raise PlanError(f"{what}: {v!r} is not a finite number")


def span(start: float, stop: float, step: float, what: str = "sweep") -> np.ndarray:
    """Values from ``start`` to ``stop`` inclusive in steps of ``step`` (any direction).

    The step's sign must point from start to stop; its size must divide the span
    (to 1e-6 of a step), so the end point is really measured."""
    _finite(what, start, stop, step)
    if step == 0:
        raise PlanError(f"{what}: step is zero")
    if start == stop:
        return np.array([float(start)])
    if (stop - start) * step < 0:
        raise PlanError(f"{what}: step {step:g} points away from {stop:g} (start {start:g}); "
                        f"use {-step:g}")
    count = (stop - start) / step
    if count > 10 * POINT_BUDGET:  # too many to even check the division
        _within_budget(what, int(count) + 1)
    n = round(count)
    if abs(count - n) > 1e-6:
        raise PlanError(f"{what}: step {step:g} does not divide {start:g} .. {stop:g} "
                        f"({count:.4g} steps)")
    _within_budget(what, n + 1)
    return np.linspace(start, stop, n + 1)


def loop(amplitude: float, step: float, what: str = "loop") -> tuple[np.ndarray, np.ndarray]:
    """A hysteresis loop: up from -amplitude to +amplitude, then down again.

    Returns (values, direction) with direction +1 on the up branch, -1 down."""
    _finite(what, amplitude, step)
    if amplitude <= 0:
        raise PlanError(f"{what}: amplitude must be positive, got {amplitude:g}")
    if step <= 0:
        raise PlanError(f"{what}: step must be positive, got {step:g}")
    up = span(-amplitude, amplitude, step, what)
    down = up[::-1]
    return np.concatenate([up, down]), np.concatenate([np.ones(up.size), -np.ones(down.size)])


@dataclass(frozen=True)
class Point:
    index: int  #: position in the plan (0-based)
    grid: tuple[int, ...]  #: index along each axis
    setpoints: dict[str, float]  #: axis name -> set-point (SI)
    direction: int = 0  #: +1 up, -1 down (loops), 0 otherwise


class _Points(Sequence):
    """The points of a plan, computed on demand (a million-point plan costs no memory)."""

    def __init__(self, plan: "Plan"):
        self._plan = plan

    def __len__(self) -> int:
        return int(np.prod(self._plan.shape))

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(index)
        return self._plan.point(index)

    def __iter__(self):
        for i in range(len(self)):
            yield self._plan.point(i)


@dataclass
class Plan:
    """An ordered set of points over 1 or 2 axes.

    ``outer`` varies slowest. ``snake`` reverses the inner axis on every other
    outer step (a 2-D map that never jumps back). ``directions`` gives the loop
    direction of each inner value (for loops along the inner axis). Points are
    computed on demand.
    """

    inner: Axis
    outer: Axis | None = None
    snake: bool = False
    directions: np.ndarray | None = None
    mode: str = "stepped"  #: "stepped" or "continuous"
    rate: float | None = None  #: continuous: axis rate in its unit per second
    #: stepped points chosen where the signal changes (:mod:`cryo_acq.run.adaptive`); None: all, in order
    adaptive: object | None = None

    def __post_init__(self):
        if self.mode not in ("stepped", "continuous"):
            raise PlanError(f"mode must be 'stepped' or 'continuous', not {self.mode!r}")
        if self.mode == "continuous" and not (self.rate and self.rate > 0):
            raise PlanError("a continuous sweep needs a positive rate")
        for axis in (self.inner, self.outer):
            if axis is not None and not np.all(np.isfinite(axis.values)):
                raise PlanError(f"{axis.name}: set-points must be finite numbers")
        _within_budget("plan", len(self))
        if self.adaptive is not None and (self.snake or self.mode != "stepped"):
            raise PlanError("an adaptive plan is stepped and not a snake")

    @property
    def points(self) -> _Points:
        return _Points(self)

    def _inner_index(self, outer_index: int, position: int) -> int:
        n = self.inner.values.size
        return n - 1 - position if self.snake and outer_index % 2 == 1 else position

    def point(self, index: int) -> Point:
        """The ``index``-th point of the plan (0-based)."""
        n = self.inner.values.size
        i, position = divmod(index, n)
        j = self._inner_index(i, position)
        setpoints = {self.inner.name: float(self.inner.values[j])}
        grid: tuple[int, ...] = (j,)
        if self.outer is not None:
            setpoints = {self.outer.name: float(self.outer.values[i]), **setpoints}
            grid = (i, j)
        direction = int(self.directions[j]) if self.directions is not None else 0
        if self.snake and i % 2 == 1 and direction:
            direction = -direction
        return Point(index, grid, setpoints, direction)

    def order(self) -> np.ndarray:
        """Grid index of every point, in order: (n, ndim) int array."""
        n_inner = self.inner.values.size
        n_outer = self.outer.values.size if self.outer is not None else 1
        outer = np.repeat(np.arange(n_outer), n_inner)
        inner = np.tile(np.arange(n_inner), n_outer)
        if self.snake:
            odd = outer % 2 == 1
            inner[odd] = n_inner - 1 - inner[odd]
        if self.outer is None:
            return inner[:, None].astype(np.int64)
        return np.stack([outer, inner], axis=1).astype(np.int64)

    # --- shape
    @property
    def axes(self) -> list[Axis]:
        return [a for a in (self.outer, self.inner) if a is not None]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(a.values.size for a in self.axes)

    def __len__(self) -> int:
        return int(np.prod(self.shape))

    @property
    def expected_points(self) -> int:
        """How many points the run will measure: all, or an adaptive plan's budget."""
        return len(self) if self.adaptive is None else self.adaptive.expected_points(self)

    def pending(self, done: np.ndarray | None = None):
        """Points not yet measured, in order (an adaptive plan: chosen as the readings come)."""
        if self.adaptive is not None:
            yield from self.adaptive.points(self)
            return
        indices = range(len(self)) if done is None else np.flatnonzero(~np.asarray(done, bool))
        for i in indices:
            yield self.point(int(i))

    def describe(self) -> dict:
        """JSON-able description (stored in the run file)."""
        adaptive = {"adaptive": self.adaptive.describe()} if self.adaptive is not None else {}
        return {"mode": self.mode, "rate": self.rate, "snake": self.snake, "shape": list(self.shape), **adaptive,
                "axes": [{"name": a.name, "unit": a.unit, "values": a.values.tolist()} for a in self.axes]}
