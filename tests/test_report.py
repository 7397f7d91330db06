"""Report files and sequences on several stations at once: the demo's path is the users' path.

* a user copies the paper's sequence and report files, changes a temperature list and a
  figure, runs them with the ordinary commands and gets their own summary and figure;
* report files are checked before any fit, with every problem named by line;
* values in rows are looked up by path, never evaluated;
* two sequences for two stations run at once; two on one station are refused before
  anything moves.
"""

from __future__ import annotations

import pathlib
import re

import pytest
from click.testing import CliRunner

from cryo_acq.cli.campaign import sequence as sequence_command
from cryo_acq.cli.report import report as report_command
from cryo_acq.report import reportfile as R
from cryo_acq.station.file import shipped_files

PNG = b"\x89PNG\r\n\x1a\n"


def _rows(summary: pathlib.Path) -> dict[str, str]:
    text = summary.read_text(encoding="utf-8")
    return {m.group(1): m.group(2) for m in re.finditer(r"^\| ([^|]+?) \| ([^|]+?) \|", text, re.M)}


# --------------------------------------------------------------------------- the users' path
def test_a_copied_and_changed_campaign_and_report_give_their_own_summary(tmp_path):
    """Copy paper-a01.yaml and paper.yaml; keep the TMR temperature loop with other
    temperatures (and a coarser field step, for speed); draw Fig. 3c under another name,
    title and colour map; run both with the commands a user types."""
    sequence = shipped_files("sequences")["paper-a01"].read_text(encoding="utf-8")
    head, *steps = re.split(r"(?m)^(?=  - run: )", sequence)
    tmr = next(s for s in steps if "A01-tmr-{temperature}K-0.1uA" in s)
    assert "loop: {temperature: [1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0]}" in tmr
    tmr = (tmr.replace("[1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0]", "[1.5, 3.0, 5.5]")
              .replace("field_step: 0.001", "field_step: 0.0025"))
    mine = tmp_path / "my-a01.yaml"
    mine.write_text(head.replace("name: paper-a01", "name: my-a01") + tmr, encoding="utf-8")

    report = shipped_files("reports")["paper"].read_text(encoding="utf-8")
    old = ('  - file: fig3c_tmr_temperature.png\n    panel: Fig. 3c\n    draw: loop-grid\n'
           '    fits: {series: tmr-temperature}\n    options: {cmap: turbo}\n')
    assert old in report
    report = report.replace(old, old.replace("fig3c_tmr_temperature.png", "my_tmr_loops.png")
                                     .replace("cmap: turbo", "cmap: plasma"))
    report = report.replace("fig3c_tmr_temperature.png", "my_tmr_loops.png")
    report = report.replace("Fig. 3c - TMR loops of A01 against temperature", "My TMR loops")
    my_report = tmp_path / "my-report.yaml"
    my_report.write_text(report, encoding="utf-8")

    runs = tmp_path / "runs"
    result = CliRunner().invoke(sequence_command, [str(mine), "--sim", "--out", str(runs)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in runs.glob("*.h5")) == ["A01-tmr-1.5K-0.1uA.h5", "A01-tmr-3K-0.1uA.h5",
                                                          "A01-tmr-5.5K-0.1uA.h5"]
    out = tmp_path / "mine"
    result = CliRunner().invoke(report_command, [str(my_report), str(runs), "--out", str(out), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    summary = pathlib.Path(result.stdout.strip().splitlines()[-1])
    assert summary == out / "summary.md"
    rows = _rows(summary)
    # its own numbers: switching at 1.5 and 3 K, none above T_K (4.5 K in the model)
    assert rows["TMR switching seen up to / gone at (0.1 µA)"] == "3 K / 5.5 K"
    delta = rows["TMR ΔR at 1.50 K, 0.1 µA"]
    assert 550 < float(delta.split()[0]) < 650, delta
    # its own figure, under its own name; nothing drawn of runs it does not have
    assert (out / "my_tmr_loops.png").read_bytes().startswith(PNG)
    assert not (out / "fig3c_tmr_temperature.png").exists() and not (out / "fig1c_vi.png").exists()
    text = summary.read_text(encoding="utf-8")
    assert "[my_tmr_loops.png](my_tmr_loops.png)" in text
    # what it could not make, it says, and its rows read n/a
    assert "## Fits not made" in text and "`bkt`: no run matches 'A01-rt-transition'" in text
    assert rows["$T_{BKT}$, Halperin-Nelson R(T)"] == "n/a"
    assert "not made: fig1c_vi.png" in result.stderr


# --------------------------------------------------------------------------- checking
GOOD = """\
report: mine
fits:
  - {name: loops, fit: switching-series, runs: ["A01-tmr-*"], options: {versus: temperature}}
figures:
  - {file: loops.png, draw: loop-grid, fits: {series: loops}}
summary:
  - topic: TMR
    rows:
      - {quantity: "ΔR at [[loops.first.temperature:.1f]] K", value: loops.first.delta_r, unit: Ω, figure: loops.png}
"""


def test_the_shipped_report_is_valid_and_names_only_registered_fits_and_drawings():
    report = R.load("paper")
    assert len(report.fits) == 17 and len(report.figures) == 13
    assert sum(len(t.rows) for t in report.model.summary) == 42


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace("fit: switching-series", "fit: switchin-series"), "no fit 'switchin-series'"),
    (lambda t: t.replace("versus: temperature", "verses: temperature"), "has no option 'verses'"),
    (lambda t: t.replace("draw: loop-grid", "draw: loopgrid"), "no drawing 'loopgrid'"),
    (lambda t: t.replace("value: loops.first", "value: lops.first"), "no fit named 'lops'"),
    (lambda t: t.replace("figure: loops.png", "figure: lops.png"), "no figure 'lops.png'"),
    (lambda t: t.replace("file: loops.png", "file: ../loops.png"), "a plain file name"),
    (lambda t: t.replace("report: mine", "report: mine\ncolour: red"), "unknown key 'colour'"),
    (lambda t: t.replace("[[loops.first", "[[lops.first"), "no fit named 'lops'"),
])
def test_a_bad_report_file_is_refused_with_its_line(tmp_path, edit, message):
    with pytest.raises(R.ReportFileError, match=re.escape(message)) as info:
        R.parse(edit(GOOD), tmp_path / "mine.yaml")
    assert "line " in str(info.value)


def test_a_bad_report_is_refused_in_one_line_before_any_fit(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("fit: switching-series", "fit: nope"), encoding="utf-8")
    result = CliRunner().invoke(report_command, [str(bad), str(tmp_path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "no fit 'nope'" in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()
    result = CliRunner().invoke(report_command, ["paper", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "not a folder" in result.stderr


def test_values_are_looked_up_not_evaluated():
    from cryo_acq.analysis.result import FitResult

    fit = FitResult("m", {"a": 2.0}, {"a": 0.1}, {"a": "K"}, [0, 1], [0, 1], notes={"temperature": 1.5})
    results = {"f": {"fit": fit, "ratio": 0.4, "ratio_error": 0.01, "list": [1.0, 2.0]}}
    assert R.lookup(results, "f.fit.a") == (2.0, 0.1)  # a parameter comes with its fit's error
    assert R.lookup(results, "f.ratio") == (0.4, 0.01)  # a number with its sibling '<key>_error'
    assert R.lookup(results, "f.list.1")[0] == 2.0
    assert R.fill("T = [[f.fit.temperature:.2f]] K, [[f.ratio*100:g]] %", results) == "T = 1.50 K, 40 %"
    assert R.fill("[[f.__class__]] [[g.x]] [[f.fit.__init__]]", results) == "n/a n/a n/a"
    with pytest.raises(R.Missing):
        R.lookup(results, "f.nothing")


def test_runs_are_selected_by_label_in_natural_order(tmp_path):
    runs = {label: tmp_path / f"{label}.h5" for label in ("A01-rt-10T", "A01-rt-2T", "A01-rt-transition",
                                                            "A01-rt-0T", "A01-rt-map")}
    assert R.select(["A01-rt-*T"], runs) == ["A01-rt-0T", "A01-rt-2T", "A01-rt-10T"]
    assert R.select(["A01-rt-map", "A01-rt-*"], runs)[:2] == ["A01-rt-map", "A01-rt-0T"]


def test_a_label_found_in_two_folders_is_refused(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "A01-vi.h5").write_bytes(b"")
    with pytest.raises(R.ReportFileError, match="run 'A01-vi' is in two files"):
        R.find_runs([tmp_path / "a", tmp_path / "b"])


# --------------------------------------------------------------------------- several stations
def _small(tmp_path, name, station, temperature):
    """A one-run sequence: a short R-T on vti-a01, a short Hanle curve on dilution-b."""
    path = tmp_path / f"{name}.yaml"
    if station == "vti-a01":
        step = (f"  - run: rt\n    label: {name}-rt\n    parameters: {{temperature_start: 7.0, "
                "temperature_stop: 6.5, temperature_step: -0.1, field: 0.0}\n")
    else:
        step = (f"  - run: hanle\n    label: {name}-hanle\n    parameters: {{channel: L08, alignment: parallel, "
                f"temperature: {temperature}, field_max: 0.2, field_step: 0.1, current: 1.0e-7}}\n")
    path.write_text(f"name: {name}\nstation: {station}\nsteps:\n{step}", encoding="utf-8")
    return path


def test_two_stations_run_at_once_each_into_its_folder(tmp_path):
    a = _small(tmp_path, "one", "vti-a01", 0)
    b = _small(tmp_path, "two", "dilution-b", 0.05)
    out = tmp_path / "runs"
    result = CliRunner().invoke(sequence_command, [str(a), str(b), "--sim", "--out", str(out)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert (out / "one" / "one-rt.h5").exists() and (out / "two" / "two-hanle.h5").exists()
    assert "one: sequence one finished" in result.output and "two: sequence two finished" in result.output
    from cryo_acq.run.storage import load_run

    assert load_run(out / "two" / "two-hanle.h5").station_file.split("name:")[1].split()[0] == "dilution-b"


def test_two_sequences_on_one_station_or_one_failing_its_check_move_nothing(tmp_path):
    a = _small(tmp_path, "one", "dilution-b", 0.05)
    b = _small(tmp_path, "two", "dilution-b", 0.05)
    result = CliRunner().invoke(sequence_command, [str(a), str(b), "--sim", "--out", str(tmp_path / "runs")])
    assert result.exit_code == 2 and "both run on the station dilution-b" in result.stderr
    hot = _small(tmp_path, "hot", "dilution-b", 500.0)  # beyond the fridge's limit
    ok = _small(tmp_path, "ok", "vti-a01", 0)
    result = CliRunner().invoke(sequence_command, [str(ok), str(hot), "--sim", "--out", str(tmp_path / "runs")])
    assert result.exit_code == 2, result.output
    assert "temperature" in result.stderr
    assert not list((tmp_path / "runs").rglob("*.h5"))  # the good one did not start either
