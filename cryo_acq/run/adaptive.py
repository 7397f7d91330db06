"""Adaptive plans: measure the points of a stepped plan where the signal changes.

The plan is still the stepped plan's grid: every set-point of it is checked against the
station's limits before anything moves (the bounding box is the plan), the run file holds
the whole grid (NaN where not measured) and its done mask, and a resumed run goes on from
what the file holds. What changes is *which* grid points are measured, and in what order:
along the inner axis, line by line, an ``adaptive.Learner1D`` (the ``adaptive`` library)
fed with each reading of the procedure's signal proposes where the curve is least known
(curvature loss: peaks, edges, sign changes), and the nearest grid points not yet measured
are measured next, until the line's budget of points is spent. Points come in passes (a
quarter of the budget each, the first evenly spread), each measured in one monotonic sweep
so that a magnet ramps once per pass.

Only for sweeps with no hysteresis to respect: the order of points is the learner's, not
monotonic (dI/dV in bias, R-T, Hanle with the electrodes prepared). Hysteretic loops stay
stepped or continuous.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["AdaptiveSampler"]

#: passes per line: each a batch of a quarter of the budget, measured in one monotonic sweep
_PASSES = 4


class AdaptiveSampler:
    """Chooses, line by line, which points of a plan to measure.

    ``signal``: the row column the learner follows; ``budget``: points per line of the
    inner axis (the ends of each line are always among them); None or 0: a third of the
    line's points. ``seconds``: a budget of fridge time per line as well (station seconds
    from the line's first reading to its last, the rows' ``time``): once spent, the line
    ends after its first pass (its ends and an even cover) is measured; None or 0: none."""

    def __init__(self, signal: str, budget: int | None = None, seconds: float | None = None):
        if budget and budget < 3:
            raise ValueError(f"an adaptive plan needs at least 3 points per line, got {budget}")
        if seconds is not None and not (seconds >= 0 and math.isfinite(seconds)):
            raise ValueError(f"an adaptive time budget must be seconds >= 0, got {seconds!r}")
        self.signal = signal
        self._budget = int(budget) if budget else None
        self._seconds = float(seconds) if seconds else None
        self._elapsed: dict[int, float] = {}  # line -> station seconds between its readings so far
        self._last_time: dict[int, float] = {}
        self._learners: dict[int, object] = {}
        self._measured: dict[int, set[int]] = {}
        self._queues: dict[int, list[int]] = {}
        self._last: dict[int, int] = {}

    def describe(self) -> dict:
        return {"signal": self.signal, "budget_per_line": self._budget or "a third", "loss": "curvature",
                "library": "adaptive.Learner1D", "seconds_per_line": self._seconds or "no limit"}

    def budget(self, plan) -> int:
        """Points per line."""
        n = plan.inner.values.size
        return min(self._budget or max(3, math.ceil(n / 3)), n)

    def expected_points(self, plan) -> int:
        lines = plan.outer.values.size if plan.outer is not None else 1
        return lines * self.budget(plan)

    # --- the learner of a line
    def _learner(self, plan, line: int):
        if line not in self._learners:
            import adaptive
            from adaptive.learner.learner1D import curvature_loss_function

            values = plan.inner.values
            bounds = (float(np.min(values)), float(np.max(values)))
            self._learners[line] = adaptive.Learner1D(None, bounds=bounds, loss_per_interval=curvature_loss_function())
            self._measured[line] = set()
        return self._learners[line]

    def tell(self, plan, point, row: dict) -> None:
        """A reading of ``point`` (its planned inner value and the row's signal)."""
        line = point.grid[0] if plan.outer is not None else 0
        j = point.grid[-1]
        learner = self._learner(plan, line)
        self._measured[line].add(j)
        value = row.get(self.signal, math.nan)
        if value is not None and math.isfinite(value):
            learner.tell(float(plan.inner.values[j]), float(value))
        t = row.get("time")
        if t is not None and math.isfinite(t):
            previous = self._last_time.get(line)
            if previous is not None and t > previous:  # a resumed session's clock may start again: skip back-steps
                self._elapsed[line] = self._elapsed.get(line, 0.0) + (t - previous)
            self._last_time[line] = float(t)

    def restore(self, plan, data: dict, plan_index) -> None:
        """Feed the learners what a run file already holds (a resumed run)."""
        signal = np.asarray(data[self.signal])
        times = np.asarray(data["time"]) if "time" in data else None
        for k, index in enumerate(np.asarray(plan_index, int)):
            point = plan.point(int(index))
            row = {self.signal: float(signal[k])}
            if times is not None:
                row["time"] = float(times[k])
            self.tell(plan, point, row)

    def _first_batch(self, budget: int) -> int:
        return min(max(3, math.ceil(budget / _PASSES)), budget)

    def time_spent(self, line: int) -> bool:
        """The line's fridge-time budget is spent (the line still ends only after its first pass)."""
        return self._seconds is not None and self._elapsed.get(line, 0.0) >= self._seconds

    def _next_in_line(self, plan, line: int) -> int | None:
        """The inner index to measure next on ``line``; None when its budget is spent.

        Points come in passes: the learner proposes a batch (a quarter of the budget), each
        proposal goes to the nearest free grid point, and the batch is measured in one
        monotonic pass starting from the end nearer the last point (a magnet ramps once
        per pass, not back and forth per point)."""
        values = plan.inner.values
        learner = self._learner(plan, line)
        measured = self._measured[line]
        queue = self._queues.setdefault(line, [])
        budget = self.budget(plan)
        if len(measured) >= budget:
            return None
        if self.time_spent(line) and len(measured) >= self._first_batch(budget):
            queue.clear()
            return None
        if not queue:
            batch = min(self._first_batch(budget), budget - len(measured))
            candidates, _ = learner.ask(batch, tell_pending=False) if learner.data else ([], None)
            if not learner.data:  # the first pass: evenly over the line, ends included
                candidates = np.linspace(values.min(), values.max(), batch)
            chosen: list[int] = []
            for x in candidates:
                free = [j for j in range(values.size) if j not in measured and j not in chosen]
                if not free:
                    break
                chosen.append(min(free, key=lambda j: abs(values[j] - x)))
            last = self._last.get(line, 0)
            chosen.sort(key=lambda j: values[j])
            if abs(chosen[-1] - last) < abs(chosen[0] - last):
                chosen.reverse()
            queue.extend(chosen)
        j = queue.pop(0)
        self._last[line] = j
        return j

    def points(self, plan):
        """The plan's points to measure, chosen one at a time (each after the previous
        one's reading was told)."""
        lines = plan.outer.values.size if plan.outer is not None else 1
        n_inner = plan.inner.values.size
        for line in range(lines):
            while (j := self._next_in_line(plan, line)) is not None:
                yield plan.point(line * n_inner + j)
                self._measured[line].add(j)  # told or not (a NaN reading), it is not asked for again
