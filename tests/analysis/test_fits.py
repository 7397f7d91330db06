"""cryo_acq.analysis recovers the sample model's KNOWN parameters from data measured
through the simulated instruments (procedures -> Runner -> run file -> load_run -> fit),
and from synthetic curves computed with the model's own functions where the simulated
station cannot produce the data (documented in docs/analysis.md)."""

import math

import numpy as np
import pytest
from click.testing import CliRunner

from cryo_acq.analysis import (FitResult, bkt_temperature, fit_bkt_rt, fit_didv, fit_hanle, fit_pair_breaking,
                               fit_run, fit_vi_exponent, switching_fields, transition_temperature)
from cryo_acq.analysis.result import format_value
from cryo_acq.cli.fit import fit
from cryo_acq.run.runner import Runner
from cryo_acq.station import Station
from cryo_acq.run.storage import load_run
import procedures
from sim.conbse2 import superconductivity as sc
from sim.conbse2.parameters import E
from sim.conbse2.presets import CHANNELS_B, preset
from sim.conbse2.tunnelling import normalized_conductance

A01 = preset("A01")
LENGTHS = {"L06": 0.6e-6, "L08": 0.8e-6, "L30": 3.0e-6}
PAPER_LAMBDA = {"L06": 0.62e-6, "L08": 1.06e-6}  # paper, Methods
TMR_STEP = 0.001  # T
NL_STEP = 0.001  # T


def _run(station, name, folder, **params):
    procedure = procedures.get(name)()
    procedure.set_parameters(params)
    run = load_run(Runner(station, procedure, folder=folder).run())
    assert run.status == "finished", run.reason
    return run


@pytest.fixture(scope="module")
def b_runs(tmp_path_factory):
    """Device B on dilution-b: Hanle P and AP on the three channels, an nl-switch loop, an
    out-of-plane R(T, B) map."""
    folder = tmp_path_factory.mktemp("b")
    st = Station.from_yaml("dilution-b", sim=True)
    runs = {}
    try:
        for channel, field_max, step in (("L06", 0.5, 0.02), ("L08", 0.5, 0.02), ("L30", 0.7, 0.025)):
            for alignment in ("parallel", "antiparallel"):
                runs[channel, alignment] = _run(st, "hanle", folder, channel=channel, alignment=alignment,
                                                field_max=field_max, field_step=step)
        runs["nl-switch"] = _run(st, "nl-switch", folder, field_start=-0.04, field_stop=0.04, field_step=NL_STEP,
                                 loop=True)
        runs["rt-map-z"] = _run(st, "rt-map", folder, axis="z", temperature_start=2.2, temperature_stop=3.6,
                                temperature_step=0.05, field_start=0.0, field_stop=1.5, field_step=0.5,
                                field_rate=0.002)
    finally:
        st.close()
    return runs


@pytest.fixture(scope="module")
def a01_runs(tmp_path_factory):
    """Device A01 on vti-a01: R-T through the transition, V-I at several temperatures, a TMR
    loop and a dI/dV spectrum at 1.5 K, an in-plane R(T, B) map."""
    folder = tmp_path_factory.mktemp("a01")
    st = Station.from_yaml("vti-a01", sim=True)
    runs = {}
    try:
        runs["rt"] = _run(st, "rt", folder, temperature_start=7.0, temperature_stop=6.2, temperature_step=-0.02,
                          mode="continuous", ramp_rate=0.005)
        runs["vi"] = _run(st, "vi", folder, temperatures="6.2, 6.25, 6.3, 6.35, 6.4, 6.45, 7.0",
                          current_min=0.03e-6, current_max=3e-6, points_per_decade=8)
        runs["tmr"] = _run(st, "tmr", folder, temperature=1.5, current=0.1e-6, field_max=0.04, field_step=TMR_STEP)
        runs["didv"] = _run(st, "didv", folder, temperatures="1.5", bias_min=-1e-6, bias_max=1e-6,
                            bias_step=0.01e-6)
        runs["rt-map"] = _run(st, "rt-map", folder, temperature_start=5.5, temperature_stop=6.7,
                              temperature_step=0.05, field_start=0.0, field_stop=6.0, field_step=2.0,
                              field_rate=0.01)
    finally:
        st.close()
    return runs


# --------------------------------------------------------------------------- Hanle (eq. 3, eq. 4)
@pytest.mark.parametrize("channel", ["L06", "L08"])
@pytest.mark.parametrize("alignment", ["parallel", "antiparallel"])
def test_hanle_recovers_d_tau_and_lambda(b_runs, channel, alignment):
    run = b_runs[channel, alignment]
    sign = 1 if alignment == "parallel" else -1
    result = fit_hanle(run.data["field_perp"], run.data["r_nonlocal"], LENGTHS[channel], alignment_sign=sign)
    truth = CHANNELS_B[channel]
    assert isinstance(result, FitResult) and result.notes["converged"]
    assert result["D"] == pytest.approx(truth.diffusion, rel=0.05)
    assert result["tau"] == pytest.approx(truth.spin_lifetime, rel=0.05)
    assert result["lambda_s"] == pytest.approx(PAPER_LAMBDA[channel], rel=0.05)
    assert result["lambda_s"] == pytest.approx(math.sqrt(result["D"] * result["tau"]))
    # the errors are one-sigma and consistent with the truth (within 5 sigma)
    for name, value in (("D", truth.diffusion), ("tau", truth.spin_lifetime)):
        assert 0 < result.error(name) < 0.05 * result[name]
        assert abs(result[name] - value) < 5 * result.error(name)
    assert 0 < result.error("lambda_s") < 0.05 * result["lambda_s"]
    assert np.sign(result["R0"]) == sign  # P above, AP below the background
    assert result["offset"] == pytest.approx(A_BACKGROUND, abs=0.005)
    assert result.units["R0"] == "Ohm m/s" and result.units["D"] == "m^2/s"
    assert result.curve.shape == result.x.shape == result.data.shape
    assert np.sqrt(np.mean((result.curve - result.data) ** 2)) < 0.01 * abs(result["amplitude"])


A_BACKGROUND = preset("B").r_nonlocal_background


def test_hanle_p_and_ap_runs_together_also_fit_the_spin_signal(b_runs):
    results = fit_run("hanle", [b_runs["L08", "parallel"], b_runs["L08", "antiparallel"]])
    assert len(results) == 3
    spin = results[-1]
    assert "spin signal" in spin.notes["condition"]
    assert spin["offset"] == pytest.approx(0.0, abs=0.002)  # (R_P - R_AP)/2 has no background
    assert spin["D"] == pytest.approx(CHANNELS_B["L08"].diffusion, rel=0.05)
    assert spin["tau"] == pytest.approx(CHANNELS_B["L08"].spin_lifetime, rel=0.05)
    # the zero-field spin signal is Delta R_NL / 2 times the injection factor at 0.1 uA
    assert spin["amplitude"] == pytest.approx(0.5 * preset("B").nonlocal_delta_r, rel=0.02)


def test_hanle_vortex_model_on_the_long_channel(b_runs):
    for alignment in ("parallel", "antiparallel"):
        (result,) = fit_run("hanle-vortex", b_runs["L30", alignment])
        truth = CHANNELS_B["L30"]
        assert result.model == "hanle-vortex" and result.notes["converged"]
        assert result.notes["channel_length"] == pytest.approx(3.0e-6)  # from the station file's wiring
        assert result["B_v"] == pytest.approx(truth.vortex_field, rel=0.2)
        assert result["D"] == pytest.approx(truth.diffusion, rel=0.05)
        assert result["tau"] == pytest.approx(truth.spin_lifetime, rel=0.05)
        assert result.units["B_v"] == "T"


def test_hanle_quadrature_fit_agrees_with_the_closed_form(b_runs):
    """The same fit with eq. 3 integrated numerically (from the closed form's result, on every
    other point to keep it quick) lands on the same D and tau."""
    run = b_runs["L08", "parallel"]
    b, r = run.data["field_perp"][::2], run.data["r_nonlocal"][::2]
    closed = fit_hanle(b, r, 0.8e-6, alignment_sign=1)
    quad = fit_hanle(b, r, 0.8e-6, alignment_sign=1, integrator="quadrature",
                     start={"D": closed["D"] * 1.1, "tau": closed["tau"] * 0.9})
    assert quad["D"] == pytest.approx(closed["D"], rel=1e-3)
    assert quad["tau"] == pytest.approx(closed["tau"], rel=1e-3)


def test_hanle_input_checks():
    with pytest.raises(ValueError, match="model"):
        fit_hanle([0, 1], [0, 1], 1e-6, model="lorentzian")
    with pytest.raises(ValueError, match="channel_length"):
        fit_hanle(np.linspace(-0.5, 0.5, 11), np.ones(11), -1.0)
    with pytest.raises(ValueError, match="points"):
        fit_hanle([0.0, 0.1, 0.2], [1.0, 0.5, 0.2], 1e-6)


# --------------------------------------------------------------------------- BKT: R(T) and V-I
def test_rt_fit_gives_tc0_and_t_bkt(a01_runs):
    (result,) = fit_run("bkt-rt", a01_runs["rt"])
    assert result["Tc0"] == pytest.approx(A01.tc0, abs=0.1)  # onset, 0.9 R_N
    assert result["T_BKT"] == pytest.approx(A01.t_bkt, abs=0.1)  # Halperin-Nelson fit
    assert result["R_N"] == pytest.approx(A01.r_normal, rel=0.02)
    assert result["b"] == pytest.approx(A01.bkt_b, rel=0.2)
    assert result["Tc_hn"] == pytest.approx(A01.tc0, abs=0.02)
    assert result["Tc0"] == pytest.approx(
        transition_temperature(a01_runs["rt"].data["temperature"], a01_runs["rt"].data["resistance"], 0.9,
                               result["R_N"]))
    assert all(math.isfinite(result.error(k)) and result.error(k) > 0 for k in ("Tc0", "T_BKT", "b", "R_N"))


def test_rt_fit_ignores_the_reentrant_phase():
    """R(T) down to 1.5 K: the resistance comes back below T_K; only the upper transition is fitted."""
    t = np.arange(7.0, 1.5, -0.02)
    r = np.array([A01.r_normal * sc.resistance_ratio(A01, x, 0.0, 0.0) for x in t])
    result = fit_bkt_rt(t, r)
    assert result["T_BKT"] == pytest.approx(A01.t_bkt, abs=0.01)
    assert 4.0 < result.x.min() < A01.t_k  # down to where R comes back, not to 1.5 K


def test_vi_exponents_cross_three_at_t_bkt(a01_runs):
    results = fit_run("vi", a01_runs["vi"])
    per_t = [r for r in results if r.model == "vi-power-law"]
    assert len(per_t) == 7
    alpha = {round(r.notes["temperature"], 1): r["alpha"] for r in per_t}
    assert alpha[7.0] == pytest.approx(1.0, abs=0.02)  # normal: ohmic
    assert alpha[6.2] > 3.0
    summary = results[-1]
    assert summary.model == "vi-bkt"
    assert summary["T_BKT"] == pytest.approx(A01.t_bkt, abs=0.1)
    assert 0 < summary.error("T_BKT") < 0.05


def test_vi_exponent_on_a_power_law_and_bkt_interpolation():
    current = np.geomspace(1e-8, 1e-5, 31)
    result = fit_vi_exponent(current, 3e4 * current ** 2.5)
    assert result["alpha"] == pytest.approx(2.5) and result["prefactor"] == pytest.approx(3e4, rel=1e-6)
    assert result.notes["i_max"] == pytest.approx(1e-7)  # the lowest decade by default
    ranged = fit_vi_exponent(current, 3e4 * current ** 2.5, 1e-7, 1e-6)
    assert ranged.x.min() == pytest.approx(1e-7) and ranged.x.max() == pytest.approx(1e-6)
    t_bkt, error = bkt_temperature([6.5, 6.4, 6.3, 6.2], [1.0, 2.0, 4.0, 5.0])
    assert t_bkt == pytest.approx(6.35) and error > 0
    with pytest.raises(ValueError, match="does not cross"):
        bkt_temperature([6.5, 6.4], [1.0, 2.0])


def test_transition_temperature():
    t = np.array([7.0, 6.8, 6.6, 6.4, 6.2])
    r = np.array([20.0, 20.0, 16.0, 2.0, 0.0])
    assert transition_temperature(t, r) == pytest.approx(6.8 - 0.2 * 2.0 / 4.0)  # 18 ohm between 6.8 and 6.6
    assert transition_temperature(t[::-1], r[::-1], fraction=0.5) == pytest.approx(6.6 - 0.2 * 6 / 14)
    assert math.isnan(transition_temperature(t[:2], r[:2]))


# --------------------------------------------------------------------------- Tc(B): pair breaking
def test_pair_breaking_in_plane_from_an_rt_map(a01_runs):
    """In plane, A01's Tc(B) follows the orbital branch of eq. 2 below ~7.5 T (the Pauli limit
    only takes over above), so the rt-map gives xi_GL with d = 12 nm (the simulated device's)."""
    (result,) = fit_run("pair-breaking", a01_runs["rt-map"])
    assert result.notes["orientation"] == "parallel" and result.notes["thickness"] == pytest.approx(12e-9)
    assert result["xi_gl"] == pytest.approx(A01.xi_gl0, rel=0.05)
    assert result["D"] == pytest.approx(A01.diffusion_constant, rel=0.1)
    assert result.x.tolist() == pytest.approx([0.0, 2.0, 4.0, 6.0], abs=2e-3)


def test_pair_breaking_out_of_plane_from_an_rt_map(b_runs):
    """Out of plane (dilution-b's z axis, device B): eq. 2 with alpha = D e B_perp."""
    (result,) = fit_run("pair-breaking", b_runs["rt-map-z"])
    b = preset("B")
    assert result.notes["orientation"] == "perpendicular"
    assert result["xi_gl"] == pytest.approx(b.xi_gl0, rel=0.05)
    assert result["tc0"] == pytest.approx(b.tc0, abs=0.1)


@pytest.mark.parametrize("xi", [5.7e-9, 8.0e-9])
def test_pair_breaking_out_of_plane_on_the_model_tc(xi):
    """Synthetic Tc(B_perp) from the model's critical_temperature (Pauli limit included) with a
    known xi, with 5 mK noise: xi recovered within 5 %, D by the model's own relation."""
    p = preset("A01", xi_gl0=xi)
    fields = np.linspace(0.0, 0.75 * sc.upper_critical_field(p, 0.5), 12)
    tc = np.array([sc.critical_temperature(p, 0.0, b) for b in fields])
    noisy = tc + np.random.default_rng(7).normal(0.0, 0.005, tc.size)
    result = fit_pair_breaking(fields, noisy, "perpendicular")
    assert result["xi_gl"] == pytest.approx(xi, rel=0.05)
    assert result["tc0"] == pytest.approx(p.tc0, abs=0.02)
    assert result["D"] == pytest.approx(p.replace(xi_gl0=result["xi_gl"], tc0=result["tc0"]).diffusion_constant)
    exact = fit_pair_breaking(fields, tc, "perpendicular", tc0=p.tc0)
    assert exact["xi_gl"] == pytest.approx(xi, rel=1e-6) and exact.error("tc0") == 0.0


def test_pair_breaking_in_plane_needs_the_thickness():
    with pytest.raises(ValueError, match="thickness"):
        fit_pair_breaking([0.0, 1.0, 2.0], [6.6, 6.5, 6.3], "parallel")


# --------------------------------------------------------------------------- switching
def test_tmr_switching_fields_and_magnetoresistance(a01_runs):
    run = a01_runs["tmr"]
    s = switching_fields(run.data["field"], run.data["direction"], run.data["resistance"])
    assert set(s) >= {"up", "down", "delta_r", "delta_r_over_r", "r_parallel", "r_antiparallel"}
    # up: Co-NbSe2 (8 mT) then Co (25 mT); down: the same at negative fields
    assert s["up"] == pytest.approx([A01.coercive_conbse2, A01.coercive_co], abs=TMR_STEP)
    assert s["down"] == pytest.approx([-A01.coercive_conbse2, -A01.coercive_co], abs=TMR_STEP)
    assert s["delta_r_over_r"] == pytest.approx(0.1, abs=0.01)
    assert s["r_antiparallel"] > s["r_parallel"] and s["delta_r"] == pytest.approx(500, rel=0.25)
    (result,) = fit_run("switching", run)
    assert [result[k] for k in ("B_up_1", "B_up_2", "B_down_1", "B_down_2")] == pytest.approx(
        s["up"] + s["down"])
    assert result.units["B_up_1"] == "T" and result.units["delta_r"] == "Ohm"


def test_nonlocal_switching_fields(b_runs):
    run = b_runs["nl-switch"]
    s = switching_fields(run.data["field"], run.data["direction"], run.data["r_nonlocal"])
    p = preset("B")
    # after saturation the detector reverses first, then the injector
    assert s["up"] == pytest.approx([p.coercive_detector, p.coercive_injector], abs=NL_STEP)
    assert s["down"] == pytest.approx([-p.coercive_detector, -p.coercive_injector], abs=NL_STEP)
    assert s["delta_r"] < 0 and abs(s["delta_r"]) == pytest.approx(p.nonlocal_delta_r, rel=0.05)


def test_switching_refuses_a_flat_loop():
    with pytest.raises(ValueError, match="one level"):
        switching_fields(np.linspace(-1, 1, 20), np.ones(20), np.full(20, 5.0))


# --------------------------------------------------------------------------- dI/dV (eq. 1)
def test_didv_p_wave_with_zero_bias_peak_from_the_junction(a01_runs):
    (result,) = fit_run("didv", a01_runs["didv"])
    temperature = float(np.mean(a01_runs["didv"].data["temperature"]))
    assert result.model == "didv-p-wave-zbp"
    assert result["delta0"] == pytest.approx(sc.gap(A01, temperature, 0.0, 0.0), rel=0.10)
    assert result["delta0_eV"] == pytest.approx(result["delta0"] / E)
    assert result["gamma"] == pytest.approx(A01.dynes_gamma_fraction * A01.gap0, rel=0.2)
    assert result["sigma_n"] == pytest.approx(1 / A01.r_junction, rel=0.02)
    assert result["zbp_height"] > 0.1 and 0.1e-3 < result["zbp_width"] < 1e-3
    assert result.units["delta0"] == "J" and result.units["zbp_width"] == "V"


def test_didv_s_wave_synthetic_recovers_delta_and_gamma():
    """An s-wave spectrum from the model's normalized_conductance with known Delta0, Gamma."""
    delta0, gamma, temperature, sigma_n = 0.8e-3 * E, 0.06e-3 * E, 0.5, 2e-4
    v = np.linspace(-4e-3, 4e-3, 161)
    y = sigma_n * normalized_conductance(v, temperature, delta0, gamma, 0)
    y *= 1 + np.random.default_rng(3).normal(0.0, 0.002, v.size)
    result = fit_didv(v, y, temperature, l=0, zbp=False)
    assert result.model == "didv-s-wave"
    assert result["delta0"] == pytest.approx(delta0, rel=0.05)
    assert result["gamma"] == pytest.approx(gamma, rel=0.05)
    assert result["sigma_n"] == pytest.approx(sigma_n, rel=0.01)
    assert "zbp_height" not in result.values


# --------------------------------------------------------------------------- run files and CLI
def test_fit_run_refuses_the_wrong_run_and_unknown_options(a01_runs):
    with pytest.raises(ValueError, match="'rt' run; model 'hanle' fits hanle runs"):
        fit_run("hanle", a01_runs["rt"])
    with pytest.raises(ValueError, match="unknown fit model"):
        fit_run("lorentz", a01_runs["rt"])
    with pytest.raises(TypeError, match="unknown option"):
        fit_run("bkt-rt", a01_runs["rt"], thickness=1e-9)


def test_cli_fit_hanle_prints_values_with_units_and_writes_the_figure(b_runs):
    path = b_runs["L08", "parallel"].path
    result = CliRunner().invoke(fit, ["hanle", str(path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    d_line = next(line for line in lines if line.strip().startswith("D "))
    tau_line = next(line for line in lines if line.strip().startswith("tau "))
    assert "+-" in d_line and d_line.endswith("m^2/s")
    assert "+-" in tau_line and tau_line.endswith(" s")
    png = path.with_name(f"{path.stem}-fit-hanle.png")
    assert lines[-1] == f"figure: {png}"
    assert png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    png.unlink()
    quiet = CliRunner().invoke(fit, ["hanle", str(path), "--no-figure"])
    assert quiet.exit_code == 0 and "figure:" not in quiet.output and not png.exists()


def test_cli_fit_options_and_errors(a01_runs):
    runner = CliRunner()
    wrong = runner.invoke(fit, ["hanle", str(a01_runs["rt"].path), "--no-figure"])
    assert wrong.exit_code == 1 and "fit hanle failed" in wrong.output
    bad = runner.invoke(fit, ["didv", str(a01_runs["didv"].path), "-o", "wave=s"])
    assert bad.exit_code == 2 and "unknown option 'wave'" in bad.output
    ok = runner.invoke(fit, ["switching", str(a01_runs["tmr"].path), "--no-figure", "-o", "step=0.001"])
    assert ok.exit_code == 0 and "delta_r_over_r" in ok.output


def test_format_value():
    assert format_value(6.503e-3, 7.2e-5, "m^2/s") == "0.006503 +- 0.000072 m^2/s"
    assert format_value(1.726e-10, 1.3e-12, "s") == "(1.726 +- 0.013)e-10 s"
    assert format_value(20.0, 0.03, "Ohm") == "20.000 +- 0.030 Ohm"
    assert format_value(1.0, math.nan) == "1 +- nan"
