"""Tunnelling spectroscopy of the Co / BN / Co-NbSe2 junction (paper, Methods eq. 1).

Normalised differential conductance g(V) = (dI/dV) / sigma_N::

    g(V) = (1/2pi) Int dE (-df/dE)|_(E - eV) Int_0^2pi dtheta
               Re[(E - i Gamma) / sqrt((E - i Gamma)^2 - (Delta0 cos(l theta))^2)]
           + zbp_height exp(-V^2 / (2 zbp_width^2))

Two deliberate departures from the printed equation:

* the paper prints ``Delta0 cos^2(l theta)`` under the square root; that is not
  dimensionally consistent (energy^2 - energy). We use ``(Delta0 cos(l theta))^2``,
  the gap function squared.
* the paper prints ``df/de``, which is negative; the thermal kernel is ``-df/de``
  (positive, unit weight), so that g -> 1 in the normal state.

Branch of the square root: with z = E - i Gamma (lower half plane) we take
w(z) = sqrt(z - Delta) sqrt(z + Delta) with principal roots; each factor has
argument in (-pi/2, 0], so Im w <= 0 and w ~ z for |E| >> Delta on *both* sides of
the Fermi level. Then Re[z / w] is the (positive) Dynes density of states, -> 1 far
from the gap. (The naive principal ``sqrt(z^2 - Delta^2)`` gives -1 for E < 0.)
For Gamma = 0 the imaginary part is the signed zero -0.0, which selects the same
branch: the BCS DOS |E| / sqrt(E^2 - Delta^2) outside and 0 inside the gap.

Numerics (energies are expressed in volts, E/e):

* energy grid: uniform step h, cells centred on k h. Since d w / dz = z / w, the
  DOS averaged over a cell is exactly [Re w(E + h/2) - Re w(E - h/2)] / h. This
  is exact for any Gamma (also Gamma = 0, where the BCS singularity is
  integrable), conserves states exactly, and never under-samples a narrow
  coherence peak.
* angle average: for l >= 1 the DOS depends only on cos^2(l theta), whose
  distribution over [0, 2 pi) is the same for every integer l >= 1 (so d- and
  f-wave here give the p-wave result). We average over 64..256 midpoints of
  [0, pi/2] with equal weights (= Gauss-Chebyshev in Delta cos theta); with the
  cell-averaged DOS this converges fast (64 nodes: 1e-5 at Gamma = 0.01 Delta),
  more nodes only when Gamma and k_B T are both below ~Delta / 60.
* thermal smearing: discrete convolution with the Fermi derivative integrated
  over each cell, w_m = f((m - 1/2) h) - f((m + 1/2) h), |m| h <= 20 k_B T,
  renormalised to unit sum; T = 0 is the identity.
* grid: |V| <= W = max(12 Delta, 24 k_B T, 8 zbp_width if a ZBP) / e, step
  h = min(Delta / 100, max(Gamma, k_B T) / 4, zbp_width / 4) / e, at most
  MAX_NODES nodes per side. Beyond W: g = 1 + c / V^2 (the asymptotic
  1 + <Delta^2> / 2 E^2, with c matched to the grid edge), so the integral of
  g - 1 (states) stays conserved and V(I) -> I R_N.

Current-biased junction: I(V) = (1/R_N) Int_0^V g(v) dv. g is linear between
nodes, so Psi(V) = Int_0^V g is piecewise quadratic; V(I) inverts it exactly
(quadratic in the cell), and dV/dI = R_N / g(V) is the exact derivative of that
V(I). Tables are cached per rounded key (see :class:`Junction`).
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .parameters import E, K_B

__all__ = [
    "normalized_conductance",
    "density_of_states",
    "gap_voltage",
    "Junction",
    "voltage",
    "differential_resistance",
    "operating_point",
]

N_THETA_MIN = 64  #: angle midpoints over [0, pi/2] for l >= 1 ...
N_THETA_MAX = 256  #: ... more when Gamma and k_B T are small (see _n_theta)
GAP_STEPS = 100  #: grid steps per Delta (energy resolution Delta / 100)
THERMAL_STEPS = 4  #: grid steps per max(Gamma, k_B T)
ZBP_STEPS = 4  #: grid steps per zbp_width
WINDOW_GAPS = 12.0  #: half window in units of Delta
WINDOW_KT = 24.0  #: half window in units of k_B T
WINDOW_ZBP = 8.0  #: half window in units of zbp_width
KERNEL_KT = 20.0  #: thermal kernel truncated at |E| = 20 k_B T (weight lost ~ 4e-9)
MAX_NODES = 4000  #: nodes per side of the bias grid (the step grows beyond)
G_FLOOR = 1e-12  #: g never below this: V(I) stays invertible for a hard gap at T = 0

#: relative rounding of the cache key (temperature, gap, Gamma, ZBP height and width)
KEY_RELATIVE_STEP = 1e-3
_LOG_STEP = math.log1p(KEY_RELATIVE_STEP)
_INV_LOG_STEP = 1.0 / _LOG_STEP


def gap_voltage(gap: float) -> float:
    """Delta / e (V) for a gap in J."""
    return gap / E


# --------------------------------------------------------------------------- DOS
def _n_theta(gap_v: float, smearing_v: float) -> int:
    """Angle nodes: the node spacing in Delta cos(theta) near the gap node must stay
    below the energy smearing max(Gamma, k_B T, h), else the l >= 1 DOS ripples."""
    if smearing_v <= 0.0:
        return N_THETA_MAX
    return int(min(max(16 * math.ceil(gap_v / (10.0 * smearing_v)), N_THETA_MIN), N_THETA_MAX))


def _gap_values(gap_v: float, l: int, n_theta: int = N_THETA_MIN) -> np.ndarray:
    """Delta(theta) (V) at the angular nodes, equal weights."""
    if l < 0 or int(l) != l:
        raise ValueError(f"pairing l must be a non-negative integer, got {l!r}")
    if l == 0:
        return np.array([gap_v])
    theta = (np.arange(n_theta) + 0.5) * (0.5 * np.pi / n_theta)
    return gap_v * np.cos(theta)


def _re_w(energy: np.ndarray, gamma_v: float, deltas: np.ndarray) -> np.ndarray:
    """Angle average of Re w(E - i Gamma), w(z) = sqrt(z - D) sqrt(z + D) (the branch
    with Im w <= 0): the antiderivative of the Dynes DOS. ``energy`` in V, 1-d."""
    z = np.empty(energy.shape, dtype=complex)
    z.real = energy
    z.imag = -gamma_v if gamma_v > 0 else -0.0  # signed zero picks the lower-half-plane limit
    d = deltas[:, None]
    w = np.sqrt(z[None, :] - d) * np.sqrt(z[None, :] + d)
    return w.real.mean(axis=0)


def density_of_states(energy, gap: float, gamma: float, l: int) -> np.ndarray:
    """Angle-averaged Dynes DOS N(E)/N_F at energies ``energy`` (J), Gamma > 0 (J).

    Point values, for inspection; the conductance uses cell averages."""
    e = np.asarray(energy, dtype=float)
    z = (e / E).ravel().astype(complex) - 1j * (gamma / E)
    d = _gap_values(abs(gap) / E, l, N_THETA_MAX)[:, None]
    n = (z[None, :] / (np.sqrt(z[None, :] - d) * np.sqrt(z[None, :] + d))).real.mean(axis=0)
    return n.reshape(e.shape)


# --------------------------------------------------------------------------- table
class _Table:
    """g(V) and Psi(V) = Int_0^V g on the nodes V_j = j h, j = 0..n (both odd/even in V)."""

    __slots__ = ("h", "n", "width", "g", "psi", "g_np", "psi_np", "psi_end", "tail_c")

    def __init__(self, h: float, g_nodes: np.ndarray):
        g_nodes = np.maximum(g_nodes, G_FLOOR)
        self.h = float(h)
        self.n = len(g_nodes) - 1
        self.width = self.n * self.h
        psi = np.empty_like(g_nodes)
        psi[0] = 0.0
        np.cumsum(0.5 * h * (g_nodes[1:] + g_nodes[:-1]), out=psi[1:])
        # array('d') for the scalar path (bisect, float items); numpy views share the memory
        self.g = array("d", g_nodes.tobytes())
        self.psi = array("d", psi.tobytes())
        self.g_np = np.frombuffer(self.g, dtype=float)
        self.psi_np = np.frombuffer(self.psi, dtype=float)
        self.psi_end = float(psi[-1])
        # tail g = 1 + c / V^2, continuous at the grid edge
        self.tail_c = (float(g_nodes[-1]) - 1.0) * self.width ** 2 if self.width > 0 else 0.0

    # ---- g(V), vectorised
    def conductance(self, v: np.ndarray) -> np.ndarray:
        a = np.abs(v)
        inside = a <= self.width
        out = np.empty_like(a)
        nodes = np.arange(self.n + 1) * self.h
        out[inside] = np.interp(a[inside], nodes, self.g_np)
        far = a[~inside]
        out[~inside] = 1.0 + self.tail_c / far ** 2
        return out

    # ---- inverse of Psi: voltage and g at that voltage, scalar
    def invert(self, y: float) -> tuple[float, float]:
        """(V, g(V)) with Psi(V) = y >= 0."""
        if y >= self.psi_end:
            c = self.tail_c
            w = self.width
            b = y - self.psi_end + w - c / w
            v = 0.5 * (b + math.sqrt(max(b * b + 4.0 * c, 0.0)))
            return v, 1.0 + c / (v * v)
        j = bisect_right(self.psi, y) - 1
        g0 = self.g[j]
        g1 = self.g[j + 1]
        dy = y - self.psi[j]
        slope = (g1 - g0) / self.h  # g = g0 + slope t
        disc = g0 * g0 + 2.0 * slope * dy  # = g(V)^2
        root = math.sqrt(disc) if disc > 0.0 else 0.0
        t = 2.0 * dy / (g0 + root) if (g0 + root) > 0.0 else 0.0
        return j * self.h + t, g0 + slope * t

    def invert_array(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        v = np.empty_like(y)
        g = np.empty_like(y)
        inside = y < self.psi_end
        yi = y[inside]
        j = np.clip(np.searchsorted(self.psi_np, yi, side="right") - 1, 0, self.n - 1)
        g0 = self.g_np[j]
        slope = (self.g_np[j + 1] - g0) / self.h
        dy = yi - self.psi_np[j]
        root = np.sqrt(np.maximum(g0 * g0 + 2.0 * slope * dy, 0.0))
        t = 2.0 * dy / (g0 + root)
        v[inside] = j * self.h + t
        g[inside] = g0 + slope * t
        yo = y[~inside]
        c, w = self.tail_c, self.width
        b = yo - self.psi_end + w - c / w
        vo = 0.5 * (b + np.sqrt(np.maximum(b * b + 4.0 * c, 0.0)))
        v[~inside] = vo
        g[~inside] = 1.0 + c / vo ** 2
        return v, g


def _grid(gap_v: float, gamma_v: float, kt_v: float, zbp_height: float, zbp_width: float):
    """(h, n): bias step (V) and number of nodes per side."""
    window = max(WINDOW_GAPS * gap_v, WINDOW_KT * kt_v)
    scales = [gap_v / GAP_STEPS]
    if max(gamma_v, kt_v) > 0:
        scales.append(max(gamma_v, kt_v) / THERMAL_STEPS)
    if zbp_height != 0.0 and zbp_width > 0:
        window = max(window, WINDOW_ZBP * zbp_width)
        scales.append(zbp_width / ZBP_STEPS)
    scales = [s for s in scales if s > 0]
    h = min(scales)
    h = max(h, window / MAX_NODES)
    n = max(int(math.ceil(window / h)), 2)
    return h, n


def _superconducting_nodes(gap_v: float, gamma_v: float, kt_v: float, l: int, h: float, n: int) -> np.ndarray:
    """Thermally smeared, angle-averaged Dynes g at V_j = j h, j = 0..n (no ZBP)."""
    if gap_v == 0.0:
        return np.ones(n + 1)
    m = int(math.ceil(KERNEL_KT * kt_v / h)) if kt_v > 0 else 0
    # cell edges (k + 1/2) h, k = 0..n+m; Re w is odd in E, so the negative half mirrors
    edges = (np.arange(n + m + 1) + 0.5) * h
    rw = _re_w(edges, gamma_v, _gap_values(gap_v, l, _n_theta(gap_v, max(gamma_v, kt_v, h))))
    dos_pos = np.empty(n + m + 1)
    dos_pos[0] = 2.0 * rw[0] / h
    dos_pos[1:] = np.diff(rw) / h
    if m == 0:
        return dos_pos
    dos = np.concatenate([dos_pos[m:0:-1], dos_pos])  # cells k = -m..n+m
    x = (np.arange(-m, m + 2) - 0.5) * (h / (2.0 * kt_v))
    fermi = 0.5 * (1.0 - np.tanh(x))  # f at (k - 1/2) h
    kernel = fermi[:-1] - fermi[1:]
    kernel /= kernel.sum()
    return np.convolve(dos, kernel, mode="valid")


def _build(gap_v: float, gamma_v: float, kt_v: float, l: int, zbp_height: float, zbp_width: float,
           include_zbp: bool = True) -> _Table:
    h, n = _grid(gap_v, gamma_v, kt_v, zbp_height if include_zbp else 0.0, zbp_width)
    g = _superconducting_nodes(gap_v, gamma_v, kt_v, l, h, n)
    if include_zbp and zbp_height != 0.0 and zbp_width > 0:
        v = np.arange(n + 1) * h
        g = g + zbp_height * np.exp(-0.5 * (v / zbp_width) ** 2)
    return _Table(h, g)


# --------------------------------------------------------------------------- conductance
def normalized_conductance(bias, temperature: float, gap: float, gamma: float, l: int,
                           zbp_height: float = 0.0, zbp_width: float = 1e-4) -> np.ndarray:
    """(dI/dV) / sigma_N at junction bias ``bias`` (V, array), paper eq. 1.

    ``temperature`` K; ``gap`` Delta0 (J); ``gamma`` Dynes broadening (J);
    ``l`` 0 (s-wave singlet) or 1 (p-wave triplet; any l >= 1 gives the same
    angle average); ``zbp_height`` sigma_ZBP / sigma_N; ``zbp_width`` sigma (V).
    The gap enters as (Delta0 cos(l theta))^2 under the square root (the paper's
    ``Delta0 cos^2(l theta)`` is dimensionally inconsistent) and the thermal
    kernel is -df/dE. Computed on a fresh grid with the exact arguments (not
    cached); the ZBP Gaussian is added analytically. gap = 0 gives 1 (+ ZBP).
    """
    v = np.asarray(bias, dtype=float)
    gap_v, gamma_v, kt_v = abs(gap) / E, max(gamma, 0.0) / E, max(temperature, 0.0) * K_B / E
    if gap_v == 0.0:
        g = np.ones_like(v)
    else:
        table = _build(gap_v, gamma_v, kt_v, int(l), 0.0, zbp_width, include_zbp=False)
        g = table.conductance(v.ravel()).reshape(v.shape)
    if zbp_height != 0.0:
        g = g + zbp_height * np.exp(-0.5 * (v / zbp_width) ** 2)
    return g


# --------------------------------------------------------------------------- junction
def _q(x: float):
    """Cache-key index of a positive quantity: round(log(x) / log(1 + 1e-3)); None for 0."""
    return round(math.log(x) * _INV_LOG_STEP) if x > 0.0 else None


def _unq(i) -> float:
    return 0.0 if i is None else math.exp(i * _LOG_STEP)


@dataclass
class CacheStats:
    hits: int
    misses: int
    size: int
    maxsize: int


class Junction:
    """A current-biased tunnel junction with the eq. 1 conductance.

    The simulated instruments drive a current (SMU DC current in series, lock-in
    sine through a large series resistor); the junction answers the voltage and
    the differential resistance at that operating point::

        I = (1/R_N) Int_0^V g(v) dv        (odd in I)
        dV/dI = R_N / g(V(I))

    g(V) is tabulated once per *rounded* key (temperature, gap, Gamma, l, ZBP
    height, ZBP width -- every positive quantity rounded to 0.1 % relative, on a
    logarithmic lattice) and kept in a bounded LRU cache per instance. The table
    is built from the *rounded* values, so identical keys give identical answers
    regardless of call order. R_N is not part of the key (it only scales I), so
    the TMR may change it freely. In the normal state without ZBP (gap = 0,
    zbp_height = 0) the answer is V = I R_N directly.

    Units: current A, temperature K, gap and gamma J, r_normal ohm, zbp_width V.
    """

    def __init__(self, cache_size: int = 256):
        self._table = lru_cache(maxsize=cache_size)(self._make_table)

    @staticmethod
    def _make_table(key) -> _Table:
        it, igap, igamma, l, izh, izw = key
        kt_v = _unq(it) * K_B / E
        zbp_height = _unq(izh) if izh is not None else 0.0
        return _build(_unq(igap) / E, _unq(igamma) / E, kt_v, l, zbp_height, _unq(izw))

    def _lookup(self, temperature, gap, gamma, l, zbp_height, zbp_width):
        zh = _q(zbp_height) if (zbp_height > 0.0 and zbp_width > 0.0) else None
        if zbp_height < 0.0:
            raise ValueError("zbp_height must be >= 0")
        gap = abs(gap)
        if gap == 0.0 and zh is None:
            return None
        key = (_q(temperature), _q(gap), _q(gamma), int(l), zh, _q(zbp_width) if zh is not None else None)
        return self._table(key)

    def operating_point(self, current, temperature: float, gap: float, gamma: float, l: int,
                        r_normal: float, zbp_height: float = 0.0, zbp_width: float = 1e-4):
        """(V, dV/dI) at a DC current; scalars for a scalar current, arrays otherwise."""
        table = self._lookup(temperature, gap, gamma, l, zbp_height, zbp_width)
        if isinstance(current, (float, int)):
            if table is None:
                return current * r_normal, float(r_normal)
            y = current * r_normal
            v, g = table.invert(-y if y < 0 else y)
            return (-v if y < 0 else v), r_normal / g
        i = np.asarray(current, dtype=float)
        if table is None:
            return i * r_normal, np.full_like(i, float(r_normal))
        y = i.ravel() * r_normal
        v, g = table.invert_array(np.abs(y))
        return (np.sign(y) * v).reshape(i.shape), (r_normal / g).reshape(i.shape)

    def voltage(self, current, temperature: float, gap: float, gamma: float, l: int,
                r_normal: float, zbp_height: float = 0.0, zbp_width: float = 1e-4):
        """Junction voltage (V) at a DC current (A): I = (1/R_N) Int_0^V g."""
        return self.operating_point(current, temperature, gap, gamma, l, r_normal, zbp_height, zbp_width)[0]

    def differential_resistance(self, current, temperature: float, gap: float, gamma: float, l: int,
                                r_normal: float, zbp_height: float = 0.0, zbp_width: float = 1e-4):
        """dV/dI (ohm) = R_N / g(V(I)) at a DC current (A)."""
        return self.operating_point(current, temperature, gap, gamma, l, r_normal, zbp_height, zbp_width)[1]

    def conductance(self, bias, temperature: float, gap: float, gamma: float, l: int,
                    zbp_height: float = 0.0, zbp_width: float = 1e-4) -> np.ndarray:
        """g(V) from the cached table (same rounding as the junction), vectorised."""
        v = np.asarray(bias, dtype=float)
        table = self._lookup(temperature, gap, gamma, l, zbp_height, zbp_width)
        if table is None:
            return np.ones_like(v)
        return table.conductance(v.ravel()).reshape(v.shape)

    def cache_info(self) -> CacheStats:
        info = self._table.cache_info()
        return CacheStats(info.hits, info.misses, info.currsize, info.maxsize)

    def cache_clear(self) -> None:
        self._table.cache_clear()


#: module-level junction for the function interface
_DEFAULT = Junction()


def operating_point(current, temperature, gap, gamma, l, r_normal, zbp_height=0.0, zbp_width=1e-4):
    """(V, dV/dI) of the shared module-level :class:`Junction`."""
    return _DEFAULT.operating_point(current, temperature, gap, gamma, l, r_normal, zbp_height, zbp_width)


def voltage(current, temperature, gap, gamma, l, r_normal, zbp_height=0.0, zbp_width=1e-4):
    """V (V) at a DC current (A), shared module-level :class:`Junction`."""
    return _DEFAULT.voltage(current, temperature, gap, gamma, l, r_normal, zbp_height, zbp_width)


def differential_resistance(current, temperature, gap, gamma, l, r_normal, zbp_height=0.0, zbp_width=1e-4):
    """dV/dI (ohm) at a DC current (A), shared module-level :class:`Junction`."""
    return _DEFAULT.differential_resistance(current, temperature, gap, gamma, l, r_normal, zbp_height,
                                            zbp_width)
