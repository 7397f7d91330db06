"""A lock-in's output filter: n cascaded RC stages (6 dB/oct each), with input noise.

The demodulated signal (complex: X + iY, volts) is filtered in station time. The
input carries white noise of the lock-in's input-referred density (V/sqrt(Hz)),
added before the filter, so the output noise and its correlation time follow the
time constant and slope exactly as on the instrument: averaging two readings
taken closer than a time constant gains nothing, and the rms noise is
``density * sqrt(ENBW)`` with ENBW = 1/(4 tau), 1/(8 tau), 3/(32 tau), 5/(64 tau).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

#: Time-constant multiples beyond which the filter has forgotten its past.
_MEMORY = {1: 12.0, 2: 16.0, 3: 20.0, 4: 24.0}
#: Largest integration step, in time constants.
_STEP = 0.25


class LowPassFilter:
    """Cascade of ``poles`` identical RC stages with time constant ``tau`` (s)."""

    def __init__(self, rng: np.random.Generator, noise_density: float, tau: float = 0.1,
                 poles: int = 2, t: float = 0.0):
        self.rng = rng
        self.noise_density = noise_density  #: V/sqrt(Hz), input-referred
        self.tau = tau
        self._poles = poles
        self._t = t
        self._stages = np.zeros(4, dtype=complex)

    @property
    def poles(self) -> int:
        return self._poles

    @poles.setter
    def poles(self, poles: int) -> None:
        # stages switched in start from the present output, as the added RC does
        self._stages[self._poles:] = self._stages[self._poles - 1]
        self._poles = poles

    @property
    def output(self) -> complex:
        return complex(self._stages[self.poles - 1])

    def advance(self, t: float, source: Callable[[float], complex]) -> complex:
        """Filter ``source`` (complex volts as a function of station time) up to ``t``."""
        span = t - self._t
        if span <= 0:
            return self.output
        memory = _MEMORY[self.poles] * self.tau
        if span > memory:  # the far past is forgotten: start settled on the input
            self._stages[:] = source(t - memory)
            self._t = t - memory
            span = memory
        steps = max(1, math.ceil(span / (_STEP * self.tau)))
        h = span / steps
        a = -math.expm1(-h / self.tau)
        sigma = self.noise_density / math.sqrt(2.0 * h)
        noise = sigma * (self.rng.standard_normal(steps) + 1j * self.rng.standard_normal(steps))
        stages = self._stages
        n = self.poles
        start = self._t
        for k in range(steps):
            x = source(start + (k + 1) * h) + noise[k]
            for i in range(n):
                stages[i] += (x - stages[i]) * a
                x = stages[i]
        self._t = t
        return self.output
