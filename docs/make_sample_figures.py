"""Measure each phenomenon of the simulated Co-NbSe2 devices through the instruments, and plot it.

Usage::

    python docs/make_sample_figures.py [--out docs/figures] [--only rt,vi,...] [--jobs 2]

Every number comes from the simulated instruments of a shipped station
(``Station.from_yaml(..., sim=True)``): the SR830 lock-ins, the Keithley 2400, the
Mercury iPS and the temperature controller, over VISA, in virtual station time, with
the lock-in filters and noise. The sample model is never called directly. The
measurements use the building blocks of ``cryo_acq.run.measure`` and follow
``tests/sim/test_sample_acceptance.py``.

One PNG per phenomenon is written to ``--out`` (default ``docs/figures``); see
``docs/sample-model.md``. Virtual time is free, wall time is not: the steps are
chosen so that the whole script takes well under three minutes.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time
from concurrent.futures import ProcessPoolExecutor

REPO = pathlib.Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import TwoSlopeNorm  # noqa: E402

from cryo_acq.run.measure import (  # noqa: E402
    LockInSettings, go_to_temperature, hysteresis_loop, read_resistance, set_bias, setup_lockin)
from cryo_acq.station import Station  # noqa: E402

DPI = 100
SIZE = (6.0, 4.0)  # in
plt.rcParams.update({"font.size": 9, "axes.titlesize": 9.5, "legend.fontsize": 8,
                     "axes.grid": True, "grid.alpha": 0.3, "savefig.dpi": DPI})

#: lock-in settings, as in the acceptance tests
FOUR_PROBE = LockInSettings(excitation_current=100e-9, time_constant=0.3)
JUNCTION = LockInSettings(excitation_current=10e-9, time_constant=0.3)
NONLOCAL = LockInSettings(excitation_current=50e-9, time_constant=0.3)
AMR = LockInSettings(excitation_current=0.45e-6, time_constant=1.0)  # 4.5 V rms / 10 MOhm: near the SR830's 5 V


def _save(fig, out: pathlib.Path, name: str) -> pathlib.Path:
    path = out / name
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return path


def _at(st, m, settings, **field):
    """Ramp the magnet to ``field`` (T per axis), then read dV/dI (ohm)."""
    st.magnet.ramp_to(**{axis: float(b) for axis, b in field.items()})
    return read_resistance(m, settings)


# =========================================================================== A01 (vti-a01)

def fig_rt(out):
    """(1) A01 R-T at in-plane fields 0, 1, 2, 4 T, 8 K -> 1.5 K."""
    temps = np.unique(np.round(np.concatenate([
        np.arange(8.0, 7.0, -0.25), np.arange(7.0, 6.0, -0.025), np.arange(6.0, 1.49, -0.1)]), 3))[::-1]
    fields = (0.0, 1.0, 2.0, 4.0)
    curves = {}
    with Station.from_yaml("vti-a01", sim=True) as st:
        m = st.use("four_probe")
        for b in fields:
            go_to_temperature(st, temps[0])
            st.magnet.ramp_to(x=b)
            setup_lockin(m, FOUR_PROBE)
            r = []
            for T in temps:
                go_to_temperature(st, T)
                r.append(read_resistance(m, FOUR_PROBE))
            curves[b] = np.array(r)
        t_k = st.lab.sample.p.t_k  # for the guide line only
    fig, ax = plt.subplots(figsize=SIZE)
    colours = plt.cm.viridis(np.linspace(0, 0.85, len(fields)))
    for (b, r), c in zip(curves.items(), colours):
        ax.plot(temps, r, "o-", ms=2.5, lw=1, color=c, label=f"$B_\\parallel$ = {b:g} T")
    ax.axvline(t_k, color="grey", ls=":", lw=1)
    ax.text(t_k + 0.05, 0.55 * curves[0.0][0], "$T_K$ (B = 0)", color="grey")
    ax.set_xlabel("temperature T (K)")
    ax.set_ylabel("four-probe resistance dV/dI (Ω)")
    ax.set_title("Device A01: R-T, in-plane field along x, lock-in 100 nA rms\n"
                 "transition near 6.6 K; re-entrant resistive phase below $T_K$, screened by $B_\\parallel$")
    ax.set_xlim(1.3, 8.1)
    ax.set_ylim(-0.5, None)
    ax.legend(loc="center right")
    zoom = ax.inset_axes([0.07, 0.52, 0.36, 0.38])
    for (b, r), c in zip(curves.items(), colours):
        zoom.plot(temps, r, "o-", ms=2, lw=0.8, color=c)
    zoom.set_xlim(6.0, 6.8)
    zoom.set_ylim(-0.5, 21)
    zoom.set_title("transition (zoom)", fontsize=7.5, pad=2)
    zoom.set_xlabel("T (K)", fontsize=7, labelpad=1)
    zoom.set_ylabel("R (Ω)", fontsize=7, labelpad=1)
    zoom.tick_params(labelsize=6.5)
    return _save(fig, out, "a01_rt.png")


def _slopes(currents, volts, decade=10.0):
    """Slopes of log V vs log I over every window of about one decade of current (least squares);
    ``currents`` geometrically spaced."""
    n = int(round(np.log(decade) / np.log(currents[1] / currents[0])))
    x, y = np.log(currents), np.log(volts)
    return np.array([np.polyfit(x[k:k + n + 1], y[k:k + n + 1], 1)[0] for k in range(len(currents) - n)])


def fig_vi(out):
    """(2) A01 V-I, log-log, around 6.3 K, with the alpha = 3 line; inset alpha(T)."""
    temps = np.round(np.arange(6.9, 5.99, -0.05), 3)
    shown = (6.9, 6.6, 6.5, 6.4, 6.35, 6.3, 6.25, 6.2, 6.1, 6.0)
    currents = np.geomspace(0.03e-6, 100e-6, 36)
    data = {}
    with Station.from_yaml("vti-a01", sim=True) as st:
        m = st.use("four_probe")
        for T in temps:
            go_to_temperature(st, T)
            v = []
            for i in currents:
                set_bias(m, float(i))
                v.append(m.source.measure_voltage())
            m.source.safe()
            data[float(T)] = np.abs(np.array(v))
    # alpha two ways: over the lowest decade of current, and the steepest one-decade window
    alpha_low = {T: _slopes(currents, v)[0] for T, v in data.items()}
    alpha_max = {T: _slopes(currents, v).max() for T, v in data.items()}
    fig, (ax, ax_alpha) = plt.subplots(1, 2, figsize=(10.0, 4.0), gridspec_kw={"width_ratios": [1.55, 1]})
    colours = plt.cm.coolwarm(np.linspace(1, 0, len(shown)))
    for T, c in zip(shown, colours):
        ax.loglog(currents * 1e6, data[T], "o-", ms=2, lw=1, color=c, label=f"{T:g} K")
    i_ref = np.array([0.03, 1.0])
    v_ref = data[6.3][0] * (i_ref / (currents[0] * 1e6)) ** 3 * 4
    ax.loglog(i_ref, v_ref, "k--", lw=1.5, label="V ∝ I³ (α = 3)")
    ax.set_xlabel("DC current I (µA)")
    ax.set_ylabel("four-probe voltage V (V)  [Keithley]")
    ax.set_title("(a) V-I at B = 0")
    ax.set_ylim(1e-13, 5e-3)
    ax.set_xlim(0.02, 150)
    ax.legend(fontsize=7, ncol=2, loc="lower right")
    ts = np.array(list(data))
    ax_alpha.plot(ts, [alpha_max[T] for T in ts], "o-", ms=3, lw=1, color="k",
                  label="steepest one-decade fit")
    ax_alpha.plot(ts, [alpha_low[T] for T in ts], "s-", ms=3, lw=1, color="C1",
                  label="fit over 0.03-0.3 µA")
    ax_alpha.axhline(3.0, color="grey", ls="--", lw=1)
    ax_alpha.axvline(6.3, color="grey", ls=":", lw=1)
    ax_alpha.set_xlabel("temperature T (K)")
    ax_alpha.set_ylabel("exponent α of V ∝ I^α")
    ax_alpha.set_title("(b) α(T) from the curves in (a)")
    ax_alpha.legend(loc="upper right")
    fig.suptitle("Device A01: V-I (Keithley DC current and voltage): α = 1 above Tc, "
                 "α ≈ 3 at 6.3 K (BKT), rising on cooling", fontsize=10)
    fig.tight_layout()
    return _save(fig, out, "a01_vi.png")


def _didv(st, temperature, currents):
    go_to_temperature(st, temperature)
    m = st.use("mtj")
    st.magnet.ramp_to(x=0.0)
    set_bias(m, 0.0)
    setup_lockin(m, JUNCTION)
    out = []
    for current in currents:
        m.source.set_current(float(current))
        out.append((m.source.measure_voltage(), 1.0 / read_resistance(m, JUNCTION)))
    m.source.set_current(0.0)
    return np.array(out).T  # junction voltage (V), dI/dV (S)


def fig_didv(out):
    """(3) A01 tunnelling dI/dV vs junction bias at 1.5, 3 and 5 K (SMU DC bias + lock-in)."""
    u = np.linspace(-1.0, 1.0, 141)
    currents = 1.0e-6 * np.sinh(6 * u) / np.sinh(6)  # dense near zero, where the gap holds the voltage
    data = {}
    with Station.from_yaml("vti-a01", sim=True) as st:
        for T in (1.5, 3.0, 5.0):
            data[T] = _didv(st, T, currents)
    fig, ax = plt.subplots(figsize=SIZE)
    for (T, (v, g)), c, mk in zip(data.items(), ("C3", "C2", "C0"), ("o", "s", "^")):
        label = f"{T:g} K" + {1.5: " (T < $T_K$: zero-bias peak)", 3.0: " (T < $T_K$: peak weaker, thermally smeared)"}.get(
            T, " (T > $T_K$: no peak)")
        ax.plot(v * 1e3, g * 1e6, mk + "-", ms=2.5, lw=1, color=c, label=label)
    ax.set_xlabel("junction bias voltage V (mV)  [Keithley]")
    ax.set_ylabel("dI/dV (µS)  [lock-in, 10 nA rms]")
    ax.set_title("Device A01: Co / BN / Co-NbSe2 tunnel junction, B = 0\n"
                 "p-wave Dynes gap; zero-bias peak only in the FM phase")
    ax.set_xlim(-4, 4)
    ax.legend(loc="lower right")
    return _save(fig, out, "a01_didv.png")


def _tmr_loop(st, temperature, bias, amplitude=0.05, step=0.001):
    go_to_temperature(st, temperature)
    m = st.use("mtj")
    set_bias(m, bias)
    setup_lockin(m, JUNCTION)
    loop = hysteresis_loop(st, m, "x", amplitude, step, JUNCTION)  # from saturation along -x
    m.source.set_current(0.0)
    return loop


def fig_tmr(out):
    """(4) A01 TMR loops: 1.5 K 0.1 uA, 5 K 0.1 uA, 1.5 K 1.9 uA."""
    cases = [(1.5, 0.1e-6, "1.5 K, 0.1 µA: below $T_K$, inside the gap"),
             (5.0, 0.1e-6, "5 K, 0.1 µA: above $T_K$ (Co-NbSe2 not ferromagnetic)"),
             (1.5, 1.9e-6, "1.5 K, 1.9 µA: bias outside the gap")]
    loops = []
    with Station.from_yaml("vti-a01", sim=True) as st:
        for T, bias, _ in cases:
            loops.append(_tmr_loop(st, T, bias))
    fig, axes = plt.subplots(3, 1, figsize=(6.0, 7.0), sharex=True)
    for ax, (T, bias, title), (up, r_up, down, r_down) in zip(axes, cases, loops):
        ax.plot(up * 1e3, r_up / 1e3, "o-", ms=2.5, lw=0.8, color="C3", label="up sweep (−50 → +50 mT)")
        ax.plot(down * 1e3, r_down / 1e3, "v-", ms=2.5, lw=0.8, color="C0", label="down sweep (+50 → −50 mT)")
        ax.set_title(title, fontsize=9)
        ax.set_ylabel("dV/dI (kΩ)")
        r_all = np.concatenate([r_up, r_down]) / 1e3
        span = max(np.ptp(r_all), 0.12 * np.median(r_all))  # same relative scale when flat
        ax.set_ylim(r_all.min() - 0.15 * span, r_all.min() + 1.35 * span)
    axes[0].legend(loc="upper left", fontsize=7.5)
    axes[-1].set_xlabel("in-plane field $B_\\parallel$ along the easy axis x (mT)")
    fig.suptitle("Device A01: TMR of the Co / BN / Co-NbSe2 junction (DC bias + 10 nA rms lock-in)", fontsize=10)
    fig.tight_layout()
    return _save(fig, out, "a01_tmr.png")


def fig_amr(out):
    """(5) Co stripe AMR at 2 K: a milliohm dip at the Co coercive field."""
    with Station.from_yaml("vti-a01", sim=True) as st:
        go_to_temperature(st, 2.0)
        m = st.use("co_amr")
        setup_lockin(m, AMR)
        up, r_up, down, r_down = hysteresis_loop(st, m, "x", 0.05, 0.0005, AMR)
    base = np.median(np.concatenate([r_up, r_down]))
    fig, ax = plt.subplots(figsize=SIZE)
    ax.plot(up * 1e3, (r_up - base) * 1e3, "o-", ms=2.5, lw=0.8, color="C3", label="up sweep")
    ax.plot(down * 1e3, (r_down - base) * 1e3, "v-", ms=2.5, lw=0.8, color="C0", label="down sweep")
    ax.set_xlabel("in-plane field $B_\\parallel$ along the stripe's easy axis (mT)")
    ax.set_ylabel(f"dV/dI − {base:.3f} Ω (mΩ)")
    ax.set_title("Device A01: AMR of one Co stripe (four-probe), T = 2 K, lock-in 0.45 µA rms, τ = 1 s\n"
                 "≈ 0.15 Ω dip at the Co coercive field (±25 mT)")
    ax.legend(loc="lower left")
    return _save(fig, out, "a01_co_amr.png")


# =========================================================================== B (dilution-b)

def _prepare(st, alignment):
    """Parallel: saturate along -x. Antiparallel: then flip only the detector (12 < B < 20 mT). Back to 0."""
    st.magnet.ramp_to(x=-0.04)
    if alignment == "antiparallel":
        st.magnet.ramp_to(x=0.016)
    st.magnet.ramp_to(x=0.0)


def fig_nonlocal_map(out):
    """(6) B: R_NL(I_inj, B_par) after -40 mT, swept 0 -> +40 mT, channel L08, 53 mK."""
    currents = np.round(np.arange(-3.5, 3.501, 0.125), 4) * 1e-6
    fields = np.round(np.arange(0.0, 0.0401, 0.002), 4)
    rmap = np.empty((len(currents), len(fields)))
    with Station.from_yaml("dilution-b", sim=True) as st:
        go_to_temperature(st, 0.053)
        m = st.use("nonlocal", channel="L08")
        set_bias(m, 0.0)
        setup_lockin(m, NONLOCAL)
        for k, current in enumerate(currents):
            m.source.set_current(float(current))
            st.magnet.ramp_to(x=-0.04)
            rmap[k] = [_at(st, m, NONLOCAL, x=b) for b in fields]
        m.source.set_current(0.0)
    fig, ax = plt.subplots(figsize=SIZE)
    lim = np.max(np.abs(rmap))
    db, di = fields[1] - fields[0], currents[1] - currents[0]
    im = ax.imshow(rmap, origin="lower", aspect="auto", cmap="RdBu_r", norm=TwoSlopeNorm(0.0, -lim, lim),
                   extent=((fields[0] - db / 2) * 1e3, (fields[-1] + db / 2) * 1e3,
                           (currents[0] - di / 2) * 1e6, (currents[-1] + di / 2) * 1e6),
                   interpolation="nearest")
    fig.colorbar(im, ax=ax, label="non-local resistance $R_{NL}$ (Ω)")
    ax.set_xlabel("in-plane field $B_\\parallel$ (mT), swept 0 → +40 mT after −40 mT")
    ax.set_ylabel("injection current $I_{inj}$ (µA, Keithley DC)")
    ax.set_title("Device B: non-local spin valve, channel L = 0.8 µm, T = 53 mK, 50 nA rms AC\n"
                 "antiparallel window near the detector's coercive field, only for $I_{inj}$ inside the gap")
    ax.grid(False)
    return _save(fig, out, "b_nonlocal_map.png")


def _hanle(st, channel, alignment, fields, temperature, bias):
    go_to_temperature(st, temperature)
    m = st.use("nonlocal", channel=channel)
    set_bias(m, bias)
    setup_lockin(m, NONLOCAL)
    st.magnet.ramp_to(z=0.0)
    _prepare(st, alignment)
    st.magnet.ramp_to(z=float(fields[0]))
    r = np.array([_at(st, m, NONLOCAL, z=b) for b in fields])
    st.magnet.ramp_to(z=0.0)
    return r


def fig_hanle(out):
    """(7) B Hanle for L = 0.6, 0.8, 3.0 um, parallel and antiparallel, 53 mK, I_inj = 0.1 uA."""
    fields = np.round(np.arange(-0.6, 0.6001, 0.01), 3)
    channels = (("L06", "L = 0.6 µm"), ("L08", "L = 0.8 µm"), ("L30", "L = 3.0 µm (vortex model, eq. 4)"))
    data = {}
    with Station.from_yaml("dilution-b", sim=True) as st:
        for name, _ in channels:
            for alignment in ("parallel", "antiparallel"):
                data[name, alignment] = _hanle(st, name, alignment, fields, 0.053, 0.1e-6)
    fig, axes = plt.subplots(1, 3, figsize=(11.0, 4.0), sharey=True)
    for ax, (name, label) in zip(axes, channels):
        ax.plot(fields, data[name, "parallel"], "o-", ms=2, lw=0.8, color="C3", label="parallel")
        ax.plot(fields, data[name, "antiparallel"], "s-", ms=2, lw=0.8, color="C0", label="antiparallel")
        ax.axhline(0.0, color="k", lw=0.6)
        ax.set_title(label)
        ax.set_xlabel("out-of-plane field $B_\\perp$ (T)")
    axes[0].set_ylabel("non-local resistance $R_{NL}$ (Ω)")
    axes[0].legend(loc="lower left")
    fig.suptitle("Device B: Hanle precession, T = 53 mK, $I_{inj}$ = 0.1 µA DC, 50 nA rms AC "
                 "(injector/detector set with $B_\\parallel$, then $B_\\parallel$ = 0)", fontsize=10)
    fig.tight_layout()
    return _save(fig, out, "b_hanle.png")


def fig_hanle_4k(out):
    """(8) B Hanle at 4.0 K (above Tc0): flat. 53 mK for comparison."""
    fields = np.round(np.arange(-0.6, 0.6001, 0.02), 3)
    with Station.from_yaml("dilution-b", sim=True) as st:
        cold = _hanle(st, "L08", "parallel", fields, 0.053, 0.05e-6)
        warm_p = _hanle(st, "L08", "parallel", fields, 4.0, 0.05e-6)
        warm_ap = _hanle(st, "L08", "antiparallel", fields, 4.0, 0.05e-6)
    fig, ax = plt.subplots(figsize=SIZE)
    ax.plot(fields, cold, "--", lw=1, color="grey", label="53 mK, parallel (for comparison)")
    ax.plot(fields, warm_p, "o-", ms=2.5, lw=0.8, color="C3", label="4.0 K, 'parallel' preparation")
    ax.plot(fields, warm_ap, "s-", ms=2.5, lw=0.8, color="C0", label="4.0 K, 'antiparallel' preparation")
    ax.set_xlabel("out-of-plane field $B_\\perp$ (T)")
    ax.set_ylabel("non-local resistance $R_{NL}$ (Ω)")
    ax.set_title("Device B: Hanle at T = 4.0 K > $T_{c0}$ = 3.5 K, L = 0.8 µm, $I_{inj}$ = 0.05 µA\n"
                 "no spin signal: flat at the background")
    ax.legend(loc="upper right")
    return _save(fig, out, "b_hanle_4k.png")


FIGURES = {"rt": fig_rt, "vi": fig_vi, "didv": fig_didv, "tmr": fig_tmr, "amr": fig_amr,
           "nonlocal": fig_nonlocal_map, "hanle": fig_hanle, "hanle4k": fig_hanle_4k}


def _run(name: str, out: str) -> tuple[str, str, float]:
    t0 = time.perf_counter()
    path = FIGURES[name](pathlib.Path(out))
    return name, str(path), time.perf_counter() - t0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(REPO / "docs" / "figures"), help="output directory")
    parser.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(FIGURES)}")
    parser.add_argument("--jobs", type=int, default=2, help="figures measured in parallel (processes)")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(FIGURES)
    unknown = set(names) - set(FIGURES)
    if unknown:
        parser.error(f"unknown figure(s): {', '.join(sorted(unknown))}")
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if args.jobs > 1 and len(names) > 1:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            results = list(pool.map(_run, names, [str(out)] * len(names)))
    else:
        results = [_run(n, str(out)) for n in names]
    for name, path, seconds in results:
        print(f"{name:9s} {seconds:6.1f} s  {path}")
    print(f"total {time.perf_counter() - t0:.1f} s wall")
    return 0


if __name__ == "__main__":
    sys.exit(main())
