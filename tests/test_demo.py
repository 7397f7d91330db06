"""The demo (``cryo-acq demo``) and the run-file figures (``cryo-acq plot``).

* the quick campaign (``run_demo(quick=True)``, two worker processes) writes every
  paper-panel figure, a summary.md whose numbers are those of fits of its own run files
  beside the paper's, and finished run files;
* the full default demo, through the command line, finishes in under three minutes
  (CI runs it; ``pytest -k "not full_demo"`` leaves it out locally);
* ``cryo-acq plot`` writes a PNG for a TMR loop (up and down sweeps apart) and for the
  non-local map, whose image is exactly the run file's grid; a map swept downwards on
  both axes puts every cell on its own set-points.
"""

from __future__ import annotations

import math
import pathlib
import re
import time

import numpy as np
import pytest
from click.testing import CliRunner

from cryo_acq.cli.demo import demo, plot
from cryo_acq.campaign import sequence as sequences
from cryo_acq.report.demo import PAPER_REPORT, run_demo, sequence_files
from cryo_acq.report.reportfile import load as load_report
from cryo_acq.run.storage import load_run

#: panel -> figure file, as the paper's report file declares them
FIGURES = {spec.panel: spec.file for spec in load_report(PAPER_REPORT).model.figures}


def campaign(quick: bool = False) -> list:
    """The runs of the paper's sequence files (or their quick copies), in order."""
    return [entry for path in sequence_files(quick) for entry in sequences.load(path).runs]

PNG = b"\x89PNG\r\n\x1a\n"


def _png_ok(path: pathlib.Path) -> None:
    import matplotlib.image

    assert path.exists(), path
    data = path.read_bytes()
    assert data.startswith(PNG), f"{path} is not a PNG"
    assert len(data) > 20_000, f"{path} is suspiciously small ({len(data)} bytes)"
    image = matplotlib.image.imread(path)
    assert image.shape[0] > 300 and image.shape[1] > 400
    assert np.ptp(image[..., :3]) > 0.5, f"{path} is blank"


def _run_files(summary: pathlib.Path) -> list[pathlib.Path]:
    text = summary.read_text(encoding="utf-8")
    return [summary.parent / link for link in re.findall(r"\]\((runs/[^)]+\.h5)\)", text)]


# --------------------------------------------------------------------------- the quick campaign
@pytest.fixture(scope="module")
def quick_demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    lines = []
    t0 = time.perf_counter()
    summary = run_demo(out, jobs=2, quick=True, progress=lines.append)
    return {"out": out, "summary": summary, "lines": lines, "wall": time.perf_counter() - t0}


def test_quick_demo_writes_every_panel_figure(quick_demo):
    out = quick_demo["out"]
    assert set(FIGURES) == {"Fig. 1c", "Fig. 1d", "Fig. 2a", "Fig. 2b", "Fig. 2c", "Fig. 2d", "Fig. 3b", "Fig. 3c",
                            "Fig. 3d", "Fig. 3e", "Fig. 4b", "Fig. 4c", "Fig. 4d"}
    for name in FIGURES.values():
        _png_ok(out / name)


def test_quick_demo_run_files_are_finished_and_listed(quick_demo):
    summary = quick_demo["summary"]
    files = _run_files(summary)
    specs = campaign(quick=True)
    assert sorted(f.stem for f in files) == sorted(s.label for s in specs)
    procedures = set()
    for path in files:
        run = load_run(path)
        assert run.status == "finished", (path, run.reason)
        assert run.done.all(), path
        assert run.metadata["station_seconds"] > 0
        procedures.add(run.metadata["procedure"])
    assert procedures == {"rt", "rt-map", "vi", "didv", "tmr", "amr", "nl-switch", "nl-map", "hanle"}
    # every run went through its own station: the two shipped ones, simulated
    stations = {load_run(p).station_file.split("name:")[1].split()[0] for p in files}
    assert stations == {"vti-a01", "dilution-b"}


def test_quick_demo_summary_has_the_fitted_numbers_beside_the_papers(quick_demo):
    summary = quick_demo["summary"]
    text = summary.read_text(encoding="utf-8")
    # the paper's values, quoted
    for quote in ("6.6 K", "6.35 K", "6.3 K", "nearly 40%", "5.7 ± 1.2 nm", "500 Ω", "~ 10 %", "150 %",
                  "0.62 µm", "1.06 µm", "±0.125 T", "±0.4 T", "0.15 Ω"):
        assert quote in text, quote
    # a table per topic, each with the figure links
    for topic in ("Superconducting transition", "Re-entrant", "Tunnelling spectroscopy", "magnetoresistance",
                  "Non-local", "Hanle"):
        assert re.search(rf"## \d+\. [^\n]*{topic}", text), topic
    for name in FIGURES.values():
        assert f"]({name})" in text, name
    # lab and wall time
    assert re.search(r"h of lab time in [\d.]+ s of wall time", text)
    assert "## Notes" in text and "Pauli-limited" in text


def test_quick_demo_numbers_are_fits_of_its_own_run_files(quick_demo):
    """Refit three run files independently: the summary carries exactly those values."""
    from cryo_acq.analysis import fit_run
    from cryo_acq.analysis.result import format_value

    text = quick_demo["summary"].read_text(encoding="utf-8")
    runs = {p.stem: p for p in _run_files(quick_demo["summary"])}
    bkt = fit_run("bkt-rt", runs["A01-rt-transition"])[0]
    assert format_value(bkt["T_BKT"], bkt.error("T_BKT"), "K").replace("+-", "±") in text
    assert abs(bkt["T_BKT"] - 6.35) < 0.05 and abs(bkt["Tc0"] - 6.6) < 0.1  # and near the paper's
    hanle = fit_run("hanle", [runs["B-hanle-L08-P"], runs["B-hanle-L08-AP"]])[-1]
    lam = format_value(hanle["lambda_s"] * 1e6, hanle.error("lambda_s") * 1e6, "µm").replace("+-", "±")
    assert lam in text
    assert abs(hanle["lambda_s"] - 1.06e-6) < 0.1e-6
    tmr = fit_run("switching", runs["A01-tmr-1.5K-0.1uA"])[0]
    assert format_value(tmr["delta_r"], tmr.error("delta_r"), "Ω").replace("+-", "±") in text
    assert 0.09 < tmr["delta_r_over_r"] < 0.11


def test_quick_demo_reports_progress(quick_demo):
    lines = quick_demo["lines"]
    assert sum("points ->" in line for line in lines) == len(campaign(quick=True))
    assert any(" fit " in line for line in lines) and any(" figure " in line for line in lines)
    assert lines[-1].startswith("done in") and "lab s per wall s" in lines[-1]


# --------------------------------------------------------------------------- cryo-acq plot
def test_plot_command_writes_a_png_for_a_tmr_loop(quick_demo, tmp_path):
    source = next(p for p in _run_files(quick_demo["summary"]) if p.stem == "A01-tmr-2K-0.1uA")
    run_file = tmp_path / source.name
    run_file.write_bytes(source.read_bytes())
    result = CliRunner().invoke(plot, [str(run_file), "--fit", "switching"])
    assert result.exit_code == 0, result.output
    png = pathlib.Path(result.stdout.strip().splitlines()[-1])
    assert png == run_file.with_suffix(".png")
    _png_ok(png)

    from cryo_acq.report.plotting import plot_run

    drawn = plot_run(run_file, out=tmp_path / "loop.png").data
    run = load_run(run_file)
    up, down = drawn["lines"]["up sweep (+1)"], drawn["lines"]["down sweep (-1)"]
    assert np.array_equal(up[0], run.data["field"][run.data["direction"] == 1])
    assert np.array_equal(down[1], run.data["resistance"][run.data["direction"] == -1])


def test_plot_command_draws_the_nl_map_as_its_grid(quick_demo, tmp_path):
    from cryo_acq.report.plotting import plot_run

    run_file = next(p for p in _run_files(quick_demo["summary"]) if p.stem == "B-nl-map-L08")
    out = tmp_path / "map.png"
    result = CliRunner().invoke(plot, [str(run_file), "--out", str(out)])
    assert result.exit_code == 0, result.output
    _png_ok(out)
    path = plot_run(run_file, out=tmp_path / "again.png")
    run = load_run(run_file)
    assert path.data["kind"] == "image" and path.data["column"] == "r_nonlocal"
    assert np.array_equal(path.data["image"], run.grid["r_nonlocal"], equal_nan=True)
    outer, inner = run.plan["axes"]
    assert np.array_equal(path.data["x"], inner["values"]) and np.array_equal(path.data["y"], outer["values"])
    assert path.data["x_axis"] == "field" and path.data["y_axis"] == "injection_current"


def test_plot_command_refuses_what_is_not_a_run_file(tmp_path):
    bogus = tmp_path / "not-a-run.h5"
    bogus.write_bytes(b"nothing")
    result = CliRunner().invoke(plot, [str(bogus)])
    assert result.exit_code != 0
    assert "not a readable run file" in result.output


def test_map_swept_downwards_puts_every_cell_on_its_set_points(tmp_path):
    """rt-map from high to low on both axes (snake): each drawn cell is centred on the
    set-points of the grid value it shows."""
    from cryo_acq.report.plotting import make_figure
    from cryo_acq.run.runner import Runner
    from cryo_acq.station import Station
    from procedures.rt_map import RTMap

    procedure = RTMap()
    procedure.set_parameters(dict(temperature_start=7.0, temperature_stop=6.0, temperature_step=-0.5,
                                  field_start=1.0, field_stop=0.0, field_step=-0.5, snake=True))
    with Station.from_yaml("vti-a01", sim=True) as station:
        run = load_run(Runner(station, procedure, folder=tmp_path).run())
    assert run.status == "finished"
    fig, data = make_figure(run)
    mesh = data["axes"].collections[0]
    corners = mesh.get_coordinates()  # (rows + 1, cols + 1, 2) in drawn units (K, T)
    centres = 0.25 * (corners[:-1, :-1] + corners[1:, :-1] + corners[:-1, 1:] + corners[1:, 1:])
    temperatures, fields = np.array([7.0, 6.5, 6.0]), np.array([1.0, 0.5, 0.0])
    assert np.allclose(centres[..., 0], temperatures[None, :])
    assert np.allclose(centres[..., 1], fields[:, None])
    assert np.array_equal(data["image"], run.grid["resistance"], equal_nan=True)
    # each grid value really was measured at its cell's set-points
    assert np.allclose(run.grid["temperature"], temperatures[None, :], atol=0.05)
    assert np.allclose(run.grid["field"], fields[:, None], atol=1e-3)


def test_plot_of_an_interrupted_map_leaves_the_unmeasured_cells_empty(tmp_path):
    """An aborted nl-map swept downwards in field: the drawn image is the grid, NaN where
    nothing was measured, and the title says the run did not finish."""
    from cryo_acq.report.plotting import make_figure, plot_run
    from cryo_acq.run.storage import RunFile
    from cryo_acq.run.sweeps import Axis, Plan

    plan = Plan(Axis("field", "T", np.array([0.04, 0.02, 0.0])),
                outer=Axis("injection_current", "A", np.array([-1e-6, 0.0, 1e-6])))
    path = tmp_path / "nl-map-partial.h5"
    run_file = RunFile.create(path, procedure="nl-map", parameters={}, plan=plan,
                              units={"injection_current": "A", "field": "T", "r_nonlocal": "Ohm", "time": "s"})
    for point, value in zip(plan.points[:4], (0.1, -0.2, 0.3, 0.05)):
        run_file.append({"injection_current": point.setpoints["injection_current"],
                         "field": point.setpoints["field"], "r_nonlocal": value, "time": 0.0}, point)
    run_file.close("aborted", "stopped by SIGINT")
    png = plot_run(path)
    assert png == path.with_suffix(".png")
    _png_ok(png)
    image = png.data["image"]
    assert np.array_equal(image, load_run(path).grid["r_nonlocal"], equal_nan=True)
    assert image[0].tolist() == [0.1, -0.2, 0.3] and image[1, 0] == 0.05 and np.isnan(image[1:, 1:]).all()
    _, data = make_figure(path)
    assert "[aborted]" in data["axes"].get_title()


# --------------------------------------------------------------------------- the full demo
def test_full_demo_from_the_command_line(tmp_path):
    """``cryo-acq demo`` with its defaults: every figure and run file (its wall time is
    measured by bench/bench_demo.py, not asserted here)."""
    result = CliRunner().invoke(demo, ["--out", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    summary = pathlib.Path(result.stdout.strip().splitlines()[-1])
    assert summary == tmp_path / "demo" / "summary.md"
    for name in FIGURES.values():
        _png_ok(summary.parent / name)
    files = _run_files(summary)
    assert len(files) == len(campaign()) == 40
    assert all(load_run(p).status == "finished" for p in files)
    text = summary.read_text(encoding="utf-8")
    lab = float(re.search(r"([\d.]+) h of lab time in", text).group(1))
    assert lab > 100.0  # days of fridge time
    # the full campaign resolves what the paper quotes
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| ([^|]+?) \| ([^|]+?) \|", text, re.M)}

    def value(prefix):
        key = next(k for k in rows if k.startswith(prefix))
        return float(rows[key].split()[0])

    assert abs(value("$T_{BKT}$, Halperin-Nelson") - 6.35) < 0.03
    assert abs(value("$T_{BKT}$ where the V-I exponent") - 6.33) < 0.05
    assert abs(value("$\\xi_{GL}(0)$, in-plane") - 5.7) < 0.3
    assert abs(value("$\\lambda_s$ = √(Dτ), L = 0.6") - 0.62) < 0.03
    assert abs(value("sign change of the Hanle signal") - 0.125) < 0.01
    assert math.isfinite(value("second peak"))
