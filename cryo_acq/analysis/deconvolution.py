"""Undo a lock-in's output filter on continuous-sweep readings.

A continuous sweep (``cryo_acq/run/continuous.py``) assigns each reading to the swept
quantity one filter delay (n tau, n poles of time constant tau) before it. That is
exact where the signal changes linearly; where it jumps (a switching field) the
filtered jump is spread over several tau and its midpoint comes a little early
(0.33 tau x rate for 24 dB/oct). :func:`deconvolve` recovers the filter's *input* at
those same moments, so a jump is sharp again and sits where it happened.

Method. The input x(t) is taken piecewise linear between knots at each reading's time
minus n tau (the moments the swept column names), constant outside them; the filter's
impulse response, t^(n-1) exp(-t/tau) / ((n-1)! tau^n), maps it onto the readings
(a banded matrix, evaluated by quadrature at tau/8). The knots' values minimise
``|A x - y|^2 + lambda TV(x)``, the total variation TV = sum |x_j+1 - x_j| favouring
steps over ringing (iteratively reweighted least squares, sparse solves). lambda is
scaled to the readings' span and grows with their noise (estimated from successive
differences); ``smoothing`` overrides it.

Limits: the readings must be denser than the filter forgets (one per 2 tau or more);
a jump smaller than a few times the noise is smoothed away rather than sharpened.
Each branch of a loop (a run of rows sweeping one way) is deconvolved on its own,
starting from a settled filter, which is how a continuous sweep starts each branch.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sparse
import scipy.sparse.linalg as sparse_linalg

__all__ = ["deconvolve", "deconvolve_branches", "response_matrix"]

#: quadrature points per time constant of the impulse response
_PER_TAU = 8
#: iterations of the reweighted least squares (converges well before)
_ITERATIONS = 25


def response_matrix(t_read, t_knots, poles: int, tau: float) -> sparse.csr_matrix:
    """A (readings x knots): the n-pole filter's output at ``t_read`` for an input
    linear between the values at ``t_knots`` (ascending), constant beyond them."""
    t_read = np.asarray(t_read, float)
    t_knots = np.asarray(t_knots, float)
    span = (4 * poles + 12) * tau  # the response has decayed to < 1e-5
    ds = tau / _PER_TAU
    s = (np.arange(int(np.ceil(span / ds))) + 0.5) * ds
    h = s ** (poles - 1) * np.exp(-s / tau)
    h /= h.sum()
    n_read, n_knots = t_read.size, t_knots.size
    position = np.interp((t_read[:, None] - s[None, :]).ravel(), t_knots, np.arange(n_knots, dtype=float))
    low = np.floor(position).astype(np.int64)
    frac = position - low
    high = np.minimum(low + 1, n_knots - 1)
    weight = np.tile(h, n_read)
    rows = np.repeat(np.arange(n_read), s.size)
    a = sparse.coo_matrix((weight * (1 - frac), (rows, low)), shape=(n_read, n_knots))
    a = a + sparse.coo_matrix((weight * frac, (rows, high)), shape=(n_read, n_knots))
    return a.tocsr()


def deconvolve(times, readings, poles: int, tau: float, smoothing: float | None = None) -> np.ndarray:
    """The filter's input at ``times - poles * tau``, from readings of its output taken at
    ``times`` (s, ascending) through an n-pole RC filter of time constant ``tau`` (s)."""
    t = np.asarray(times, float)
    y = np.asarray(readings, float)
    if t.shape != y.shape or t.ndim != 1:
        raise ValueError(f"deconvolve: {t.size} times and {y.size} readings")
    if not (tau > 0 and int(poles) >= 1):
        raise ValueError(f"deconvolve: needs tau > 0 and at least one pole, got tau={tau!r}, poles={poles!r}")
    if t.size < 3:
        return y.copy()
    if np.any(np.diff(t) <= 0):
        raise ValueError("deconvolve: reading times must increase")
    poles = int(poles)
    a = response_matrix(t, t - poles * tau, poles, tau)
    low, high = np.quantile(y, [0.02, 0.98])
    scale = (high - low) or (abs(low) or 1.0)
    z = (y - low) / scale
    if smoothing is None:
        noise = 1.4826 * np.median(np.abs(np.diff(z) - np.median(np.diff(z)))) / np.sqrt(2)
        smoothing = float(np.clip(0.3 * noise, 3e-3, 3e-2))
    n = t.size
    d = sparse.diags([-np.ones(n - 1), np.ones(n - 1)], [0, 1], shape=(n - 1, n), format="csr")
    ata, aty = (a.T @ a).tocsc(), a.T @ z
    x = sparse_linalg.spsolve((ata + smoothing * (d.T @ d)).tocsc(), aty)
    for _ in range(_ITERATIONS):
        weights = sparse.diags(1.0 / (np.abs(d @ x) + 1e-4))
        previous, x = x, sparse_linalg.spsolve((ata + smoothing * (d.T @ weights @ d)).tocsc(), aty)
        if np.max(np.abs(x - previous)) < 1e-6:
            break
    return low + scale * x


def deconvolve_branches(times, readings, direction, poles, tau, smoothing: float | None = None) -> np.ndarray:
    """:func:`deconvolve` each branch (a contiguous run of rows with one ``direction``) on
    its own; ``poles`` and ``tau`` per row (the filter as read back for each reading) or
    one value."""
    t = np.asarray(times, float)
    y = np.asarray(readings, float)
    d = np.asarray(direction, float)
    poles = np.broadcast_to(np.asarray(poles, float), t.shape)
    tau = np.broadcast_to(np.asarray(tau, float), t.shape)
    out = np.full_like(y, np.nan)
    edges = np.flatnonzero((np.diff(d) != 0) | (np.diff(poles) != 0) | (np.diff(tau) != 0)) + 1
    for start, stop in zip(np.r_[0, edges], np.r_[edges, t.size]):
        part = slice(start, stop)
        keep = np.isfinite(y[part]) & np.isfinite(t[part])
        if not keep.any():
            continue
        branch = np.full(stop - start, np.nan)
        branch[keep] = deconvolve(t[part][keep], y[part][keep], int(poles[start]), float(tau[start]), smoothing)
        out[part] = branch
    return out
