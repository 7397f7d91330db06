"""A small task-graph executor for the demo: runs, fits and figures handed to worker
processes, the task on the longest remaining path first."""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable


# =========================================================================== scheduling
@dataclass
class Task:
    """A unit of work for the pool: a measurement, a fit or a figure. ``fn(*args, inputs)``
    runs in a worker; ``inputs`` maps each name in ``deps`` to that task's result."""

    name: str
    kind: str  #: "run" | "fit" | "figure"
    fn: Callable
    args: tuple = ()
    deps: tuple[str, ...] = ()
    cost: float = 1.0  #: rough wall seconds, for scheduling
    title: str = ""


def _call(fn, args, inputs):
    return fn(*args, inputs=inputs)


def _rank(tasks: dict[str, Task]) -> dict[str, float]:
    """Critical-path rank: a task's cost plus the largest rank of the tasks waiting for it."""
    children: dict[str, list[str]] = {name: [] for name in tasks}
    for task in tasks.values():
        for dep in task.deps:
            children[dep].append(task.name)
    rank: dict[str, float] = {}

    def of(name):
        if name not in rank:
            rank[name] = tasks[name].cost + max((of(c) for c in children[name]), default=0.0)
        return rank[name]

    for name in tasks:
        of(name)
    return rank


def execute(tasks: list[Task], jobs: int = 2, on_done: Callable[[Task, Any, float], None] | None = None) -> dict:
    """Run the task graph; returns name -> result. ``jobs`` > 1: that many worker processes
    (spawned: each starts clean and builds its own station); the ready task on the
    longest remaining path goes first, and no more than ``jobs`` tasks are handed out at a
    time so a task that becomes ready later can still overtake the queue."""
    by_name = {t.name: t for t in tasks}
    missing = {d for t in tasks for d in t.deps if d not in by_name}
    if missing:
        raise ValueError(f"tasks depend on unknown tasks: {sorted(missing)}")
    rank = _rank(by_name)
    results: dict[str, Any] = {}
    pending = dict(by_name)

    def ready():
        out = [t for t in pending.values() if all(d in results for d in t.deps)]
        return sorted(out, key=lambda t: -rank[t.name])

    def inputs_of(task):
        return {d: results[d] for d in task.deps}

    if jobs <= 1:
        while pending:
            queue = ready()
            if not queue:
                raise RuntimeError(f"task graph is stuck at {sorted(pending)}")
            task = queue[0]
            del pending[task.name]
            t0 = time.perf_counter()
            results[task.name] = _call(task.fn, task.args, inputs_of(task))
            if on_done:
                on_done(task, results[task.name], time.perf_counter() - t0)
        return results

    from concurrent.futures import FIRST_COMPLETED, wait

    running = {}
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        try:
            while pending or running:
                for task in ready()[: max(0, jobs - len(running))]:
                    del pending[task.name]
                    running[pool.submit(_call, task.fn, task.args, inputs_of(task))] = (task, time.perf_counter())
                if not running:
                    raise RuntimeError(f"task graph is stuck at {sorted(pending)}")
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for future in done:
                    task, t0 = running.pop(future)
                    results[task.name] = future.result()  # a worker's exception surfaces here
                    if on_done:
                        on_done(task, results[task.name], time.perf_counter() - t0)
        except BaseException:
            for future in running:
                future.cancel()
            raise
    return results


