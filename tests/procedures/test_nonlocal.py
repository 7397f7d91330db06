"""nl-switch, nl-map and hanle on the simulated dilution-b station (Device B).

Each run goes through the Runner into a run file; the phenomenon is checked in what
load_run gives back, with the thresholds of tests/sim/test_sample_acceptance.py.
"""

import dataclasses
import math

import numpy as np
import pytest

from cryo_acq.run.runner import Runner
from cryo_acq.station import Station
from cryo_acq.station.file import resolve
from cryo_acq.run.storage import load_run
from procedures.hanle import Hanle
from procedures.nl_map import NLMap
from procedures.nl_switch import NLSwitch

from conftest import sent_to_all

STEP = 0.001  # T, nl-switch field step


@pytest.fixture
def dilution_b():
    made = []

    def make(text_changes=(), tmp_path=None):
        if not text_changes:
            st = Station.from_yaml("dilution-b", sim=True)
        else:
            text = resolve("dilution-b").read_text()
            for old, new in text_changes:
                assert old in text
                text = text.replace(old, new)
            path = tmp_path / "dilution-b-changed.yaml"
            path.write_text(text)
            st = Station.from_yaml(path, sim=True)
        made.append(st)
        return st

    yield make
    for st in made:
        st.close()


def _run(station, cls, folder, **params):
    procedure = cls()
    procedure.set_parameters(params)
    run = load_run(Runner(station, procedure, folder=folder).run())
    assert run.status == "finished", run.reason
    return run, procedure


def _first_switch(fields, r, levels):
    """First field where R_NL has crossed half-way from the first level to the second."""
    first, second = levels
    crossed = (r - (first + second) / 2) * np.sign(second - first) > 0
    return fields[np.argmax(crossed)] if crossed.any() else math.nan


def _record_ramps(station, monkeypatch):
    """The x targets of every ramp the magnet starts from now on (ramp_to goes through start_ramp)."""
    targets = []
    start_ramp = station.magnet.start_ramp

    def spy(rate=None, **axes):
        if "x" in axes:
            targets.append(axes["x"])
        return start_ramp(rate=rate, **axes)

    monkeypatch.setattr(station.magnet, "start_ramp", spy)
    return targets


# --------------------------------------------------------------------------- nl-switch
def test_nl_switch_two_levels_near_the_detector_coercive_field(dilution_b, tmp_path):
    run, _ = _run(dilution_b(), NLSwitch, tmp_path, injection_current=0.1e-6)
    assert run.units == {"field": "T", "direction": "", "r_nonlocal": "Ohm", "field_at_reading": "T",
                         "lockin_tau": "s", "lockin_poles": "", "time": "s"}
    b, r = run.data["field"], run.data["r_nonlocal"]
    assert b[0] == pytest.approx(0.0, abs=1e-4) and b[-1] == pytest.approx(0.04, abs=1e-4)
    assert np.all(run.data["direction"] == 1)  # a single up sweep
    r_p = np.median(r[b < 0.010])  # parallel: prepared at -40 mT
    r_ap = np.median(r[(b > 0.013) & (b < 0.019)])  # detector reversed, injector not yet
    delta = r_ap - r_p
    assert abs(delta) > 0.05  # ohm
    assert abs(delta) > 1.5 * abs(0.5 * (r_p + r_ap))  # > 150 % of the spin-independent background
    assert _first_switch(b, r, (r_p, r_ap)) == pytest.approx(0.012, abs=STEP)  # detector Hc
    back = b > 0.013
    assert _first_switch(b[back], r[back], (r_ap, r_p)) == pytest.approx(0.020, abs=STEP)  # injector Hc
    # two levels: every reading sits on one of them
    assert np.all(np.minimum(abs(r - r_p), abs(r - r_ap)) < 0.1 * abs(delta))


def test_nl_switch_none_outside_the_gap(dilution_b, tmp_path):
    run, _ = _run(dilution_b(), NLSwitch, tmp_path, injection_current=4e-6)
    assert np.ptp(run.data["r_nonlocal"]) < 0.005


def test_nl_switch_loop_switches_on_both_branches(dilution_b, tmp_path):
    run, _ = _run(dilution_b(), NLSwitch, tmp_path, field_start=-0.04, field_stop=0.04, field_step=0.002,
                  loop=True)
    b, r, d = run.data["field"], run.data["r_nonlocal"], run.data["direction"]
    n = len(b) // 2
    assert np.all(d[:n] == 1) and np.all(d[n:] == -1)
    assert b[n - 1] == pytest.approx(0.04, abs=1e-4) and b[n] == pytest.approx(0.04, abs=1e-4)
    r_p = np.median(r[np.abs(b) > 0.03])
    r_ap = np.median(r[(np.abs(b) > 0.013) & (np.abs(b) < 0.019)])
    up, down = slice(0, n), slice(n, None)
    assert _first_switch(b[up], r[up], (r_p, r_ap)) == pytest.approx(0.012, abs=0.002)
    assert _first_switch(b[down], r[down], (r_p, r_ap)) == pytest.approx(-0.012, abs=0.002)  # nearly symmetric


def test_nl_switch_continuous_matches_stepped_and_records_the_measured_field(dilution_b, tmp_path, monkeypatch):
    stepped, _ = _run(dilution_b(), NLSwitch, tmp_path)
    st = dilution_b()
    ramps = _record_ramps(st, monkeypatch)
    run, procedure = _run(st, NLSwitch, tmp_path, mode="continuous", rate=0.005, time_constant=0.03)
    assert run.plan["mode"] == "continuous" and run.plan["rate"] == 0.005
    planned = np.array([p.setpoints["field"] for p in procedure.plan().points])[run.plan_index]
    b, r = run.data["field"], run.data["r_nonlocal"]
    # each reading is taken one lock-in delay (4 x 30 ms) after the measured field passed its
    # planned field, so the field it belongs to is the planned one (to a tenth of a step, the
    # polls) and the field measured at the reading is the delay's worth of ramp further on
    at_reading = run.data["field_at_reading"]
    np.testing.assert_allclose(b, planned, atol=0.1 * STEP + 1e-9)
    np.testing.assert_allclose(at_reading[1:-1] - b[1:-1], 4 * 0.03 * 0.005, atol=0.1 * STEP)
    assert at_reading[-1] == pytest.approx(b[-1], abs=1e-6)  # the end: the supply holds there
    # one ramp toward the end of the sweep, not one set-point per reading
    assert ramps == [-0.04, 0.0, 0.04]
    levels = []
    for bb, rr in ((stepped.data["field"], stepped.data["r_nonlocal"]), (b, r)):
        levels.append((np.median(rr[bb < 0.010]), np.median(rr[(bb > 0.0135) & (bb < 0.019)])))
    b_stepped = _first_switch(stepped.data["field"], stepped.data["r_nonlocal"], levels[0])
    assert _first_switch(b, r, levels[1]) == pytest.approx(b_stepped, abs=2 * STEP)


def test_continuous_loop_corrected_for_the_lockins_delay_has_no_false_hysteresis(dilution_b, tmp_path):
    """A spin-valve loop (-40 -> +40 -> -40 mT) in 0.5 mT steps, swept continuously at 5 mT/s
    with tau 0.3 s at 24 dB/oct (a lag of 4 tau r = 6 mT), in a tenth of the stepped loop's
    fridge time: with each reading assigned to the field at the lock-in's delay the loop is
    symmetric (no false hysteresis) and switches where the stepped loop does within the
    residual of the delay alone (the narrow 8 mT window is blurred by 2 tau r = 3 mT);
    deconvolved, within 0.5 mT. The field at the reading shows the false hysteresis, 2 x 6 mT."""
    from cryo_acq.analysis import fit_run

    step = 0.0005
    common = dict(field_start=-0.04, field_stop=0.04, preparation_field=-0.04, loop=True, time_constant=0.3,
                  field_step=step)
    stepped, _ = _run(dilution_b(), NLSwitch, tmp_path, **common)
    run, _ = _run(dilution_b(), NLSwitch, tmp_path, mode="continuous", rate=0.005, **common)
    assert any(kind == "correction" and "0.3" in message for _, kind, message in run.log)
    assert np.ptp(stepped.data["time"]) > 10 * np.ptp(run.data["time"])  # the loop's fridge time

    def switches(r, **options):
        values = fit_run("switching", r, **options)[0].values
        return np.array([values["B_up_1"], values["B_up_2"]]), np.array([values["B_down_1"], values["B_down_2"]])

    s_up, s_down = switches(stepped)
    c_up, c_down = switches(run)
    d_up, d_down = switches(run, deconvolve="yes")
    raw_up, raw_down = switches(dataclasses.replace(run, data={**run.data, "field": run.data["field_at_reading"]}))
    np.testing.assert_allclose(c_up, -c_down, atol=0.5e-3)  # no false hysteresis: a symmetric loop
    np.testing.assert_allclose(c_up, s_up, atol=1.5e-3)  # delay alone: the blurred window
    np.testing.assert_allclose(c_down, s_down, atol=1.5e-3)
    np.testing.assert_allclose(d_up, s_up, atol=0.5e-3)  # deconvolved
    np.testing.assert_allclose(d_down, s_down, atol=0.5e-3)
    np.testing.assert_allclose(d_up, [0.012, 0.020], atol=0.25e-3)  # the sample's coercive fields
    lag = 4 * 0.3 * 0.005
    np.testing.assert_allclose(raw_up - c_up, lag, atol=1e-3)  # uncorrected: late by the lag ...
    np.testing.assert_allclose(raw_down - c_down, -lag, atol=1e-3)  # ... both ways: 2 x lag apart


# --------------------------------------------------------------------------- nl-map
def test_nl_map_switching_only_inside_the_gap_with_a_sign_change(dilution_b, tmp_path, monkeypatch):
    st = dilution_b()
    ramps = _record_ramps(st, monkeypatch)
    params = dict(current_start=-4e-6, current_stop=4e-6, current_step=0.5e-6, field_step=0.002)
    run, procedure = _run(st, NLMap, tmp_path, **params)
    plan = procedure.plan()
    currents, fields = plan.outer.values, plan.inner.values
    # the grid is the data rows, each at its grid index
    assert run.grid["r_nonlocal"].shape == (currents.size, fields.size)
    assert run.done.all() and run.plan_index.tolist() == list(range(len(plan)))
    for column, values in run.data.items():
        placed = np.full(plan.shape, np.nan)
        for k, index in enumerate(run.plan_index):
            placed[plan.points[index].grid] = values[k]
        assert np.array_equal(run.grid[column], placed), column
    assert np.allclose(run.grid["injection_current"], currents[:, None])
    assert np.allclose(run.grid["field"], fields[None, :], atol=1e-4)
    # every line starts from the prepared state (preparation field, then field_start up): not a snake
    assert ramps == pytest.approx(np.tile(np.concatenate([[-0.04], fields]), currents.size))
    # switching amplitude per line, signed: AP minus P
    amplitude = {}
    for i, current in enumerate(currents):
        line = run.grid["r_nonlocal"][i]
        amplitude[round(current * 1e6, 2)] = line[np.argmax(np.abs(line - line[0]))] - line[0]
    for current in (-2.5, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 2.5):
        assert abs(amplitude[current]) > 0.05, current  # inside the gap
    for current in (-4.0, -3.5, -3.0, 3.0, 3.5, 4.0):
        assert abs(amplitude[current]) < 0.005, current  # outside the gap: none
    assert np.sign(amplitude[0.0]) == np.sign(amplitude[0.5]) == np.sign(amplitude[1.0])
    assert np.sign(amplitude[0.5]) != np.sign(amplitude[2.5])  # the sign change at finite I_inj
    assert np.sign(amplitude[-0.5]) != np.sign(amplitude[-2.5])


# --------------------------------------------------------------------------- hanle
def _zero_crossing(fields, values):
    i = np.flatnonzero(np.sign(values[:-1]) != np.sign(values[1:]))[0]
    return fields[i] - values[i] * (fields[i + 1] - fields[i]) / (values[i + 1] - values[i])


def _spin(p_run, ap_run):
    assert np.allclose(p_run.data["field_perp"], ap_run.data["field_perp"], atol=1e-4)
    return p_run.data["field_perp"], (p_run.data["r_nonlocal"] - ap_run.data["r_nonlocal"]) / 2


def test_hanle_l08_sign_change_and_opposite_alignments(dilution_b, tmp_path):
    sweep = dict(field_max=0.5, field_step=0.025)
    p_by_length, _ = _run(dilution_b(), Hanle, tmp_path, channel=0.8e-6, alignment="parallel", **sweep)
    p_by_name, _ = _run(dilution_b(), Hanle, tmp_path, channel="L08", alignment="parallel", **sweep)
    ap, _ = _run(dilution_b(), Hanle, tmp_path, channel="0.8e-6", alignment="antiparallel", **sweep)
    assert p_by_length.units == {"field_perp": "T", "r_nonlocal": "Ohm", "alignment": "", "field_perp_at_reading": "T",
                                 "lockin_tau": "s", "lockin_poles": "", "time": "s"}
    for column in ("field_perp", "r_nonlocal"):  # the same channel, however it is named
        assert np.array_equal(p_by_length.data[column], p_by_name.data[column])
    assert np.all(p_by_name.data["alignment"] == 1) and np.all(ap.data["alignment"] == -1)
    b = p_by_name.data["field_perp"]
    assert b[0] == pytest.approx(-0.5, abs=1e-4) and b[-1] == pytest.approx(0.5, abs=1e-4)
    assert np.all(np.diff(b) > 0)  # -field_max -> +field_max
    zero = np.argmin(np.abs(b))
    assert p_by_name.data["r_nonlocal"][zero] > 0 > ap.data["r_nonlocal"][zero]  # opposite in sign
    b, spin = _spin(p_by_name, ap)
    positive, negative = b >= -1e-9, b <= 1e-9
    assert _zero_crossing(b[positive], spin[positive]) == pytest.approx(0.125, rel=0.10)
    assert _zero_crossing(b[negative][::-1], spin[negative][::-1]) == pytest.approx(-0.125, rel=0.10)
    assert spin[-1] < 0 and abs(spin[-1]) < 0.2 * spin[zero]  # past the sign change, settling by 0.5 T


def test_hanle_l30_second_peak_without_sign_change(dilution_b, tmp_path):
    sweep = dict(channel="L30", field_max=0.7, field_step=0.025)
    p, _ = _run(dilution_b(), Hanle, tmp_path, alignment="parallel", **sweep)
    ap, _ = _run(dilution_b(), Hanle, tmp_path, alignment="antiparallel", **sweep)
    b, spin = _spin(p, ap)
    assert np.all(spin > 0)  # no sign change
    half = b >= -1e-9
    b, spin = b[half], spin[half]
    peaks = [i for i in range(1, len(b) - 1) if spin[i] > spin[i - 1] and spin[i] > spin[i + 1]]
    assert len(peaks) == 1 and b[peaks[0]] == pytest.approx(0.4, abs=0.05)


# --------------------------------------------------------------------------- refusals
REFUSALS = [
    (Hanle, {"channel": "L99"}, "no channel 'L99'"),
    (NLSwitch, {"channel": "1.5e-6"}, "no channel of length 1.5e-06 m"),
    (Hanle, {"field_max": 2.5}, r"exceeds the station limit \|B_z\| <= 2 T"),
    (NLSwitch, {"injection_current": 11e-6}, "nonlocal: .* exceeds the station limit"),
    (NLSwitch, {"injection_current": 9.95e-6}, "nonlocal: .* exceeds the station limit"),  # DC + AC peak
    (NLMap, {"current_stop": 12e-6}, "nonlocal: .* exceeds the station limit"),
    (Hanle, {"excitation": 60e-9}, r"needs 6 V rms from lockin_b .* outside its range 0.004 \.\. 5 V rms"),
    (NLSwitch, {"injection_current": float("nan")}, "finite"),
    (Hanle, {"field_max": float("nan")}, "finite"),
    (NLMap, {"field_step": float("nan")}, "finite"),
    (NLSwitch, {"field_step": 0.0}, "step is zero"),
    (NLMap, {"current_step": 0.0}, "step is zero"),
    (Hanle, {"field_step": 0.0}, "step is zero"),
    (NLSwitch, {"field_step": -0.001}, "points away"),
    (NLSwitch, {"preparation_field": -7.5}, r"\|B_x\| <= 7 T"),
    (Hanle, {"rate_perp": 0.005}, "ramp rate 0.005 T/s on axis z"),
    (NLSwitch, {"mode": "continuous", "rate": 0.01}, "ramp rate 0.01 T/s on axis x"),
    (Hanle, {"temperature": 20.0}, "outside the station range"),
    (Hanle, {"alignment": "antiparallel", "flip_field": -0.016}, "must point against preparation_field"),
]


def _assert_refused(station, procedure, message, folder):
    before = sent_to_all(station)
    with pytest.raises(ValueError, match=message):
        Runner(station, procedure, folder=folder).run()
    assert sent_to_all(station) == before  # nothing sent
    assert not folder.exists() or not any(folder.iterdir())  # no file


@pytest.fixture(scope="module")
def shared_station():
    st = Station.from_yaml("dilution-b", sim=True)
    yield st
    st.close()


@pytest.mark.parametrize("cls, params, message", REFUSALS,
                         ids=[f"{c.NAME}-{'-'.join(p)}-{i}" for i, (c, p, _) in enumerate(REFUSALS)])
def test_bad_input_is_refused_with_nothing_sent_and_no_file(shared_station, tmp_path, cls, params, message):
    procedure = cls()
    procedure.set_parameters(params)
    _assert_refused(shared_station, procedure, message, tmp_path / "runs")


def test_vector_norm_is_checked(dilution_b, tmp_path):
    st = dilution_b([("norm: 7.0", "norm: 1.0")], tmp_path)  # |B_z| <= 2 T per axis, |B| <= 1 T
    procedure = Hanle()
    procedure.set_parameters({"field_max": 1.5})
    _assert_refused(st, procedure, r"field vector \|B\| = 1.5 T exceeds the station limit 1 T", tmp_path / "runs")


# --------------------------------------------------------------------------- continuous field lines
def _hanle_fit(p_run, ap_run):
    from cryo_acq.analysis import fit_run
    return fit_run("hanle", [p_run, ap_run])[-1]  # the fit of (R_P - R_AP) / 2


def test_a_continuous_hanle_gives_the_stepped_d_and_tau_in_less_fridge_time(dilution_b, tmp_path):
    """B_z ramps -0.5 -> 0.5 T at the station's z limit (2 mT/s), read on the fly with each
    reading assigned to B_z at the lock-in's delay: D and tau of the P - AP fit agree with
    the stepped sweep's within their errors, in less fridge time (no settling per point)."""
    sweep = dict(channel="L08", field_max=0.5, field_step=0.025, rate_perp=0.002)
    runs = {}
    for mode in ("stepped", "continuous"):
        for alignment in ("parallel", "antiparallel"):
            runs[mode, alignment], _ = _run(dilution_b(), Hanle, tmp_path, mode=mode, alignment=alignment, **sweep)
    continuous = runs["continuous", "parallel"]
    assert continuous.plan["mode"] == "continuous"
    assert any(kind == "correction" for _, kind, _ in continuous.log)
    b = continuous.data["field_perp"]
    planned = np.linspace(-0.5, 0.5, 41)
    # read one delay after passing each point; a reading that overloaded the lock-in is taken
    # again after re-ranging, later, and says so in the log
    off = np.abs(b - planned) > 0.1 * 0.025
    assert off.sum() == sum("overloaded" in message for _, _, message in continuous.log) <= 2
    assert np.all(np.diff(b) > 0)
    delay = continuous.data["lockin_poles"][0] * continuous.data["lockin_tau"][0]
    lag = continuous.data["field_perp_at_reading"] - b
    np.testing.assert_allclose(lag[1:-1][~off[1:-1]], delay * 0.002, atol=0.1 * 0.025)
    stepped_fit = _hanle_fit(runs["stepped", "parallel"], runs["stepped", "antiparallel"])
    continuous_fit = _hanle_fit(runs["continuous", "parallel"], runs["continuous", "antiparallel"])
    for name in ("D", "tau"):
        error = math.hypot(stepped_fit.errors[name], continuous_fit.errors[name])
        assert abs(continuous_fit.values[name] - stepped_fit.values[name]) < 2 * error + 0.02 * abs(
            stepped_fit.values[name]), name
    fridge = {mode: np.ptp(runs[mode, "parallel"].data["time"]) for mode in ("stepped", "continuous")}
    assert fridge["continuous"] < 0.8 * fridge["stepped"]


def test_a_continuous_nl_map_switches_where_the_stepped_map_does(dilution_b, tmp_path):
    """Each line of the map one ramp from the prepared state, read on the fly: per line, the
    detector's switch sits where the stepped map's does (within a step), and the lines keep
    their prepared starts (preparation field, then the line's start, once per line)."""
    params = dict(current_start=-1e-6, current_stop=1e-6, current_step=1e-6, field_step=0.001,
                  time_constant=0.03)
    stepped, _ = _run(dilution_b(), NLMap, tmp_path, **params)
    run, procedure = _run(dilution_b(), NLMap, tmp_path, mode="continuous", **params)
    assert run.plan["mode"] == "continuous" and run.done.all()
    fields = procedure.plan().inner.values
    for i in range(3):
        for r in (stepped, run):
            np.testing.assert_allclose(r.grid["field"][i], fields, atol=0.2e-3)
        s_line, c_line = stepped.grid["r_nonlocal"][i], run.grid["r_nonlocal"][i]
        levels = (s_line[0], s_line[np.argmax(np.abs(s_line - s_line[0]))])
        if abs(levels[1] - levels[0]) < 0.05:
            continue  # no switching at this current
        assert _first_switch(fields, c_line, levels) == pytest.approx(_first_switch(fields, s_line, levels),
                                                                      abs=STEP + 1e-9)
    assert np.ptp(run.data["time"]) < 0.7 * np.ptp(stepped.data["time"])  # each line's preparation is the same


# --------------------------------------------------------------------------- adaptive
def test_an_adaptive_hanle_recovers_d_and_tau_with_a_third_of_the_points(dilution_b, tmp_path):
    """Parallel, L = 0.8 um, -0.5 .. 0.5 T in 5 mT (201 fields): the adaptive plan measures
    67, in monotonic passes; D and tau of the Hanle fit agree with the dense stepped run's
    within errors, and the points crowd where the curve changes (|B| < 0.15 T)."""
    from cryo_acq.analysis import fit_run

    sweep = dict(channel="L08", field_max=0.5, field_step=0.005)
    dense, _ = _run(dilution_b(), Hanle, tmp_path, **sweep)
    adaptive, _ = _run(dilution_b(), Hanle, tmp_path, mode="adaptive", **sweep)
    b = adaptive.data["field_perp"]
    assert len(b) == 67 <= len(dense.data["field_perp"]) / 3
    assert len(set(np.round(b, 4))) == 67
    assert b.min() == pytest.approx(-0.5, abs=1e-4) and b.max() == pytest.approx(0.5, abs=1e-4)
    assert np.mean(np.abs(b) < 0.15) > 0.4  # 30 % of the span
    passes = 1 + np.count_nonzero(np.diff(np.sign(np.diff(b))) != 0)
    assert passes <= 4  # a few monotonic sweeps, not back and forth per point
    fits = [fit_run("hanle", r)[0] for r in (adaptive, dense)]
    for name in ("D", "tau"):
        error = math.hypot(fits[0].errors[name], fits[1].errors[name])
        assert abs(fits[0].values[name] - fits[1].values[name]) <= 2 * error, name


def test_an_adaptive_hanle_with_a_fridge_time_budget_stops_its_line_when_the_time_is_spent(dilution_b, tmp_path):
    """adaptive_seconds=1200: the line ends once 1200 s of fridge time have gone between
    its readings (never before its first, even pass: 17 points, ends included), short of
    the 67-point budget; the run file records the budget."""
    sweep = dict(channel="L08", field_max=0.5, field_step=0.005, mode="adaptive")
    run, _ = _run(dilution_b(), Hanle, tmp_path, adaptive_seconds=1200.0, **sweep)
    b, t = run.data["field_perp"], run.data["time"]
    assert 17 < len(b) < 67
    assert 1200.0 <= np.ptp(t) <= 1200.0 + np.diff(t).max()  # stopped at the first reading past the budget
    assert b.min() == pytest.approx(-0.5, abs=1e-4) and b.max() == pytest.approx(0.5, abs=1e-4)
    assert run.plan["adaptive"]["seconds_per_line"] == 1200.0
    short, _ = _run(dilution_b(), Hanle, tmp_path, adaptive_seconds=60.0, **sweep)
    assert len(short.data["field_perp"]) == 17  # the first pass is always measured


def test_an_interrupted_adaptive_run_resumes_where_its_learner_left_off(dilution_b, tmp_path):
    """Stopped after 20 of 67 points, then resumed: the learner is fed what the file holds
    and the run ends with the budget, every field once."""
    st = dilution_b()
    procedure = Hanle()
    procedure.set_parameters(dict(channel="L08", field_max=0.5, field_step=0.005, mode="adaptive"))

    def stop_at_20(progress):
        if progress.done == 20:
            raise KeyboardInterrupt

    runner = Runner(st, procedure, folder=tmp_path, on_progress=stop_at_20)
    path = runner.run()
    assert runner.status == "aborted" and load_run(path).done.sum() == 20
    resumed = Runner.for_resume(path, station=st)
    resumed.run()
    run = load_run(path)
    assert run.status == "finished", run.reason
    b = run.data["field_perp"]
    assert len(b) == 67 and len(set(np.round(b, 4))) == 67
