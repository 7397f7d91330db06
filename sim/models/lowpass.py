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
_MEMORY = {1: 10.0, 2: 12.0, 3: 14.0, 4: 16.0}
#: Largest integration step, in time constants (the update is exact for a
#: step-wise constant input; the step only limits how finely the input is sampled).
_STEP = 0.25
#: Most samples of a fast-moving input per advance (a long idle span across a long ramp)
_FINE_SAMPLES = 256


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
    def time(self) -> float:
        """Station time up to which the filter has integrated its input."""
        return self._t

    @property
    def output(self) -> complex:
        return complex(self._stages[self.poles - 1])

    def advance(self, t: float, source: Callable[[float], complex],
                fine: tuple[float, float, float] | None = None) -> complex:
        """Filter ``source`` (complex volts as a function of station time) up to ``t``.

        ``fine`` = (start, end, step): between those station times (an input that moves
        fast, as while a field ramps through a switching field) sample the input at most
        every ``step`` s (never finer than tau / 400, nor more than 256 samples); elsewhere
        every tau / 4.

        The cascade is integrated exactly for an input held constant over each step
        (the input is sampled mid-step): with a = h/tau, stage i of the new state is
        sum_j e^-a a^(i-j)/(i-j)! x_j + u P(i+1, a), P the regularised incomplete gamma.
        """
        if t <= self._t:
            return self.output
        memory = _MEMORY[self.poles] * self.tau
        if t - self._t > memory:  # the far past is forgotten: start settled on the input
            self._stages[:] = source(t - memory)
            self._t = t - memory
        coarse = _STEP * self.tau
        if fine is not None:
            start, end, step = fine
            start, end = max(start, self._t), min(end, t)
            if end > start:
                self._integrate(start, coarse, source)
                self._integrate(end, max(min(step, coarse), self.tau / 400, (end - start) / _FINE_SAMPLES), source)
        self._integrate(t, coarse, source)
        return self.output

    def _integrate(self, t: float, step: float, source: Callable[[float], complex]) -> None:
        """Advance the cascade to ``t`` sampling the input at most every ``step`` s."""
        span = t - self._t
        if span <= 0:
            return
        steps = max(1, math.ceil(span / step))
        h = span / steps
        n = self.poles
        a = h / self.tau
        decay = math.exp(-a)
        # transition weights e^-a a^k / k! and step responses P(i+1, a)
        weights = [decay * a ** k / math.factorial(k) for k in range(n)]
        step_response = [1.0 - sum(weights[: i + 1]) for i in range(n)]
        sigma = self.noise_density / math.sqrt(2.0 * h)
        noise = sigma * (self.rng.standard_normal(steps) + 1j * self.rng.standard_normal(steps))
        stages = [complex(v) for v in self._stages[:n]]
        start = self._t
        for k in range(steps):
            u = source(start + (k + 0.5) * h) + noise[k]
            stages = [sum(weights[i - j] * stages[j] for j in range(i + 1)) + u * step_response[i]
                      for i in range(n)]
        self._stages[:n] = stages
        self._t = t
