"""``cryo-acq fit MODEL RUNFILE``: the numbers, and the figure of data and fit next to the run file."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from cryo_acq.cli import main
from cryo_acq.run.runner import Runner
from cryo_acq.station import Station
from procedures.tmr import TMR

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def loop_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fit")
    tmr = TMR()
    tmr.set_parameters(dict(temperature=1.5, current=0.1e-6, field_max=0.04, field_step=0.002, rate=0.01))
    with Station.from_yaml("vti-a01", sim=True) as st:
        return Runner(st, tmr, folder=folder).run()


def test_fit_prints_the_switching_numbers_and_draws_data_and_fit(loop_file):
    result = CliRunner().invoke(main, ["fit", "switching", str(loop_file)])
    assert result.exit_code == 0, result.output
    assert "delta_r" in result.output
    figure = loop_file.with_name(loop_file.stem + "-fit-switching.png")
    assert figure.exists() and figure.read_bytes().startswith(PNG) and figure.stat().st_size > 10_000
    assert str(figure) in result.output


def test_fit_of_v_i_curves_shares_one_log_log_panel(tmp_path):
    from procedures.vi import VI

    vi = VI()
    vi.set_parameters(dict(temperatures="6.2, 6.5", current_min=0.03e-6, current_max=10e-6, points_per_decade=3))
    with Station.from_yaml("vti-a01", sim=True) as st:
        path = Runner(st, vi, folder=tmp_path).run()
    result = CliRunner().invoke(main, ["fit", "vi", str(path)])
    assert result.exit_code == 0, result.output
    assert path.with_name(path.stem + "-fit-vi.png").read_bytes().startswith(PNG)
