"""Reading a loop in the tests: where a signal crosses half-way between two levels."""

from __future__ import annotations

import numpy as np


def crossings(x, r, mid: float) -> np.ndarray:
    """``x`` where ``r`` crosses ``mid``, by linear interpolation, in the order swept."""
    x, r = np.asarray(x, float), np.asarray(r, float)
    above = r > mid
    out = []
    for k in np.flatnonzero(above[1:] != above[:-1]):
        f = (mid - r[k]) / (r[k + 1] - r[k])
        out.append(x[k] + f * (x[k + 1] - x[k]))
    return np.array(out)


def branch_crossings(data, column: str, signal: str, mid: float) -> tuple[np.ndarray, np.ndarray]:
    """The crossings of the up branch (direction +1) and of the down branch, along ``column``."""
    up = np.asarray(data["direction"]) > 0
    return (crossings(data[column][up], data[signal][up], mid),
            crossings(data[column][~up], data[signal][~up], mid))
