"""The GUI, driven offscreen with pytest-qt on the simulated stations.

Runs use a pure virtual clock (no time scale), so a loop or a map takes a second
or two of wall time.
"""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("pytestqt")
pytest.importorskip("pyqtgraph")

from cryo_acq.station.clock import VirtualClock  # noqa: E402
from cryo_acq.gui.plots import Decimator, LiveImage, PlanInfo, RunBuffer, pixel_transform  # noqa: E402
from cryo_acq.gui.window import Launcher, ProcedureWindow, Session  # noqa: E402
from cryo_acq.run.runner import Runner  # noqa: E402
from cryo_acq.station import Station  # noqa: E402
from cryo_acq.run.storage import load_run  # noqa: E402
from cryo_acq.run.sweeps import Axis, Plan, span  # noqa: E402
import procedures  # noqa: E402

RUN_TIMEOUT_MS = 30_000


@pytest.fixture
def session_factory(tmp_path):
    made = []

    def make(name="vti-a01", time_scale=None, monitor_interval=0.2):
        station = Station.from_yaml(name, sim=True, clock=VirtualClock(time_scale=time_scale))
        session = Session(station, folder=tmp_path / "runs", monitor_interval=monitor_interval)
        made.append(session)
        return session

    yield make
    for session in made:
        session.close()
        session.station.close()


def _window(qtbot, session, name):
    window = ProcedureWindow(procedures.get(name), session)
    qtbot.addWidget(window)
    window.show()
    return window


def _enter(window, **values):
    """Type parameter values into the window's inputs (as a user would)."""
    for name, value in values.items():
        getattr(window.inputs, name).setValue(value)


def _queue_and_wait(qtbot, window):
    with qtbot.waitSignal(window.manager.finished, timeout=RUN_TIMEOUT_MS):
        qtbot.mouseClick(window.queue_button, qtbot_button())
    return window.manager.experiments[-1]


def qtbot_button():
    from qtpy import QtCore

    return QtCore.Qt.MouseButton.LeftButton


def test_tmr_loop_queued_in_the_gui_is_recorded_and_plotted_with_both_sweeps(qtbot, session_factory):
    session = session_factory("vti-a01")
    window = _window(qtbot, session, "tmr")
    _enter(window, field_max=0.03, field_step=0.002)
    experiment = _queue_and_wait(qtbot, window)

    # the run file: same format as the command line's, finished
    path = experiment.results.data_filename
    assert path.endswith(".h5") and os.path.dirname(path) == str(session.folder)
    run = load_run(path)
    assert run.status == "finished" and run.done.all()
    assert run.metadata["parameters"]["field_max"]["value"] == pytest.approx(0.03)
    assert run.metadata["parameters"]["station_name"]["value"] == "vti-a01"
    assert not any(name.endswith(".csv") for name in os.listdir(session.folder))

    # the plotted curves are the file's data, up and down sweeps apart and styled apart
    curve = experiment.curve_list[0]
    up, down = run.data["direction"] == 1, run.data["direction"] == -1
    x_up, y_up = curve.data(1)
    x_down, y_down = curve.data(-1)
    np.testing.assert_array_equal(x_up, run.data["field"][up])
    np.testing.assert_array_equal(y_up, run.data["resistance"][up])
    np.testing.assert_array_equal(x_down, run.data["field"][down])
    np.testing.assert_array_equal(y_down, run.data["resistance"][down])
    shown_x, shown_y = curve.branches[1].item.getData()
    np.testing.assert_array_equal(shown_y, run.data["resistance"][up])
    up_item, down_item = curve.branches[1].item, curve.branches[-1].item
    assert up_item.opts["symbol"] != down_item.opts["symbol"]
    assert up_item.opts["pen"].style() != down_item.opts["pen"].style()
    assert window.curve_tab.plot.getAxis("bottom").labelUnits == "T"
    # the browser and the run-info tab say what the file says
    assert experiment.browser_item.text(3) == "Finished"
    assert experiment.browser_item.progressbar.value() == 100
    assert window.info_tab.results is experiment.results
    assert "Field amplitude" in window.info_tab.parameter_values()


def test_nl_map_image_is_the_file_grid_in_physical_units(qtbot, session_factory):
    session = session_factory("dilution-b")
    window = _window(qtbot, session, "nl-map")
    _enter(window, current_start=2e-6, current_stop=-2e-6, current_step=-1e-6,  # descending outer axis
           field_start=0.0, field_stop=0.04, field_step=0.004)
    experiment = _queue_and_wait(qtbot, window)
    run = load_run(experiment.results.data_filename)
    assert run.status == "finished"

    image = [c for c in experiment.curve_list if isinstance(c, LiveImage)][0]
    assert image.z == "r_nonlocal"
    np.testing.assert_array_equal(image.item.image, run.grid["r_nonlocal"])  # NaN-free, same order
    assert image.item.image.shape == (5, 11)
    # pixel (i, j) is centred on (field[j], current[i]), whatever the direction
    currents = np.array(run.plan["axes"][0]["values"])
    fields = np.array(run.plan["axes"][1]["values"])
    transform = image.item.transform()
    for i, j in [(0, 0), (4, 10), (1, 7)]:
        p = transform.map(j + 0.5, i + 0.5)
        assert p[0] == pytest.approx(fields[j]) and p[1] == pytest.approx(currents[i])
    # colour bar spans the data, axes carry the units
    lo, hi = window.map_tab.bar.levels()
    assert lo == pytest.approx(np.nanmin(run.grid["r_nonlocal"]))
    assert hi == pytest.approx(np.nanmax(run.grid["r_nonlocal"]))
    assert window.map_tab.plot.getAxis("left").labelUnits == "A"
    assert window.map_tab.plot.getAxis("bottom").labelUnits == "T"
    # each line of the map is its own stroke in the curves tab (NaN between lines)
    x, y = experiment.curve_list[0].data(0)
    assert np.count_nonzero(np.isnan(y)) == 4


def test_abort_ends_in_the_safe_state_with_the_status_in_the_file(qtbot, session_factory):
    # 402 points, ~1700 s of station time: at 100x real time the run lasts ~17 s of
    # wall time, so the abort always lands mid-run however fast the machine is
    session = session_factory("vti-a01", time_scale=100)
    window = _window(qtbot, session, "tmr")
    _enter(window, field_max=0.05, field_step=0.0005)
    seen = []
    window.manager.progress_changed.connect(lambda exp, info: seen.append(info.done))
    qtbot.mouseClick(window.queue_button, qtbot_button())
    qtbot.waitUntil(lambda: bool(seen) and seen[-1] >= 5, timeout=RUN_TIMEOUT_MS)
    with qtbot.waitSignal(window.manager.abort_returned, timeout=RUN_TIMEOUT_MS):
        qtbot.mouseClick(window.abort_button, qtbot_button())
    experiment = window.manager.experiments[-1]
    run = load_run(experiment.results.data_filename)
    assert run.status == "aborted" and experiment.results.status == "aborted"
    assert 5 <= run.done.sum() < len(run.done)
    assert any(kind == "abort" for _, kind, _ in run.log)
    assert experiment.browser_item.text(3) == "Aborted"
    snapshot = session.station.snapshot()  # the safe state, read from the instruments
    assert snapshot["smu"]["output_enabled"] is False
    assert snapshot["lockin_b"]["excitation_V"] == pytest.approx(0.004)
    assert snapshot["magnet"]["status_x"] == "HOLD"
    assert run.metadata["snapshot_end"]["smu"]["output_enabled"] is False
    assert not session.busy and window.abort_button.text() == "Resume"


def test_abort_asked_before_the_run_starts_measuring_is_not_lost(qtbot, session_factory):
    session = session_factory("vti-a01")
    window = _window(qtbot, session, "tmr")
    _enter(window, field_max=0.05, field_step=0.0005)
    with qtbot.waitSignal(window.manager.abort_returned, timeout=RUN_TIMEOUT_MS):
        window.queue()
        window.abort()  # at once: the runner has not yet created its file
    run = load_run(window.manager.experiments[-1].results.data_filename)
    assert run.status == "aborted" and run.done.sum() == 0


def test_refused_parameters_queue_nothing_and_send_nothing(qtbot, session_factory):
    session = session_factory("vti-a01")
    window = _window(qtbot, session, "tmr")
    session.monitor.stop()  # the panel's own reads aside
    before = {n: session.station.visa_library.device(e.resource).message_count
              for n, e in session.station.config.instruments.items()}
    _enter(window, field_max=12.0, field_step=0.5)  # beyond the 10 T limit of vti-a01
    assert window.queue() is None
    assert "Refused" in window.refusal.text() and "10" in window.refusal.text()
    assert len(window.manager.experiments.queue) == 0
    after = {n: session.station.visa_library.device(e.resource).message_count
             for n, e in session.station.config.instruments.items()}
    assert after == before
    assert not session.folder.exists() or not list(session.folder.iterdir())


def _tmr_run_at_2K(session, **where):
    """A short TMR loop at 2 K run outside the GUI (``folder=`` or ``path=``); its path and run."""
    procedure = procedures.get("tmr")()
    procedure.set_parameters({"field_max": 0.02, "field_step": 0.002, "temperature": 2.0})
    path = Runner(session.station, procedure, **where).run()
    return path, load_run(path)


def test_a_run_file_from_the_command_line_path_reopens_with_curves_and_parameters(qtbot, session_factory, tmp_path):
    session = session_factory("vti-a01")
    path, run = _tmr_run_at_2K(session, folder=tmp_path / "cli")

    launcher = Launcher(session)
    qtbot.addWidget(launcher)
    experiment = launcher.open_run_file(path)
    window = launcher.windows["tmr"]
    qtbot.addWidget(window)
    assert experiment.results.status == "finished"
    x_up, y_up = experiment.curve_list[0].data(1)
    np.testing.assert_array_equal(y_up, run.data["resistance"][run.data["direction"] == 1])
    params = window.info_tab.parameter_values()
    assert params["Temperature"] == "2" and params["Field amplitude"] == "0.02"
    assert experiment.browser_item.text(3) == "Finished"
    assert window.open_run(path) is None  # not twice


def test_image_placement_for_descending_axes_and_snake_order():
    fields = span(0.3, -0.3, -0.1)  # descending outer
    temps = span(7.0, 2.0, -1.0)  # descending inner
    plan = Plan(Axis("temperature", "K", temps), outer=Axis("field", "T", fields), snake=True)
    info = PlanInfo.of(plan)
    buffer = RunBuffer(["temperature", "field", "resistance"], info)
    results = type("R", (), {"buffer": buffer})()
    image = LiveImage(results, None, "resistance")
    image.refresh()  # nothing measured yet
    expected = np.full(plan.shape, np.nan)
    for k, point in enumerate(plan.points):
        r = 0.5 + point.setpoints["field"] + 0.01 * point.setpoints["temperature"]  # inside (0, 1)
        buffer.append({**point.setpoints, "resistance": r}, point)
        expected[point.grid] = r
        if k in (0, 9, 20):  # live: the image and its colour levels follow the readings
            assert image.refresh()
            np.testing.assert_array_equal(image.item.image, expected)
            assert image.levels == (pytest.approx(np.nanmin(expected)), pytest.approx(np.nanmax(expected))) or k == 0
    image.refresh()
    np.testing.assert_array_equal(image.item.image, expected)
    transform = pixel_transform(info.inner, info.outer)
    for i in range(fields.size):
        for j in range(temps.size):
            p = transform.map(j + 0.5, i + 0.5)
            assert p[0] == pytest.approx(temps[j]) and p[1] == pytest.approx(fields[i])
            assert image.item.image[i, j] == pytest.approx(0.5 + fields[i] + 0.01 * temps[j])


def test_decimator_keeps_every_peak_and_only_reduces_new_points():
    rng = np.random.default_rng(1)
    y = rng.normal(size=300_000)
    y[123_457] = 50.0  # a spike
    x = np.arange(y.size, dtype=float)
    d = Decimator(limit=20_000)
    xs, ys = d.display(x[:100_000], y[:100_000])
    assert len(xs) <= 20_000 + d.block
    blocks_before = d._blocks
    xs, ys = d.display(x[:100_512], y[:100_512])
    assert d._blocks - blocks_before == (100_512 // d.block) - blocks_before  # only the new blocks
    xs, ys = d.display(x, y)
    assert len(xs) <= 20_000 + d.block
    assert np.nanmax(ys) == 50.0 and np.nanmin(ys) == y.min()
    assert xs[np.nanargmax(ys)] == 123_457  # at its own x
    small = Decimator(limit=20_000)
    xs, ys = small.display(x[:500], y[:500])
    assert xs is not None and len(xs) == 500  # below the limit: as measured


def test_station_panel_reads_during_a_time_scaled_run_without_disturbing_it(qtbot, session_factory):
    session = session_factory("vti-a01", time_scale=20_000, monitor_interval=0.02)
    window = _window(qtbot, session, "tmr")
    _enter(window, field_max=0.02, field_step=0.002)
    readings_before = session.monitor.readings
    running_readings = []
    session.monitor.updated.connect(lambda r: running_readings.append(r) if r["running"] else None)
    experiment = _queue_and_wait(qtbot, window)
    run = load_run(experiment.results.data_filename)
    assert run.status == "finished"
    assert not [m for _, kind, m in run.log if kind in ("retry", "error")]  # no garbled exchange
    assert session.monitor.readings > readings_before and running_readings
    assert not any(r["errors"] for r in running_readings)
    assert window.station_panel.value("magnet", "Bx") is not None
    assert window.station_panel.value("thermometry", "T").endswith("K")


def test_the_station_lock_serialises_every_driver_exchange(session_factory):
    session = session_factory("vti-a01", monitor_interval=10.0)
    lockin = session.station.lockin("lockin_a")
    got = []
    with session.lock:  # another thread's exchange must wait for the lock
        reader = threading.Thread(target=lambda: got.append(lockin.sensitivity))
        reader.start()
        reader.join(0.3)
        assert reader.is_alive() and not got
    reader.join(5)
    assert got and got[0] > 0


def test_cli_gui_command_imports_no_qt_until_it_runs():
    code = ("import sys; from cryo_acq.cli.gui import gui; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'PyQt5', 'PyQt6', 'qtpy', 'pyqtgraph')]; "
            "assert not bad, bad; print(gui.name)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "gui"


def test_time_scale_is_a_gui_option_changed_between_runs_without_a_jump(qtbot, session_factory):
    session = session_factory("vti-a01", time_scale=600, monitor_interval=10.0)
    window = _window(qtbot, session, "tmr")
    clock = session.station.clock
    spin = window.station_panel.time_scale
    assert spin is not None and spin.value() == 600
    before = clock.now()
    spin.setValue(60_000)
    spin.editingFinished.emit()
    after = clock.now()
    assert clock.time_scale == 60_000
    assert 0 <= after - before < 600  # continuous: no jump when the scale changes
    assert "x60000" in window.status_label.text()


@pytest.mark.parametrize("station", ["vti-a01", "dilution-b"])
def test_every_procedure_wired_on_the_station_opens_a_window_with_its_plan(qtbot, session_factory, station):
    session = session_factory(station, monitor_interval=10.0)
    launcher = Launcher(session)
    qtbot.addWidget(launcher)
    opened = 0
    for name in procedures.PROCEDURES:
        cls = procedures.get(name)
        if cls.CONFIGURATION not in session.station.config.wiring.configurations:
            continue
        window = launcher.open_procedure(name)
        qtbot.addWidget(window)
        window.eta.update_view()
        assert window.eta.labels["points"].text().endswith(str(len(cls().plan())))
        assert (window.map_tab is not None) == (len(cls().plan().shape) == 2)
        opened += 1
    assert opened >= 3


def test_a_run_on_a_run_server_opens_from_its_url_as_its_file_does(qtbot, session_factory, tmp_path):
    pytest.importorskip("tiled.server")
    from cryo_acq.service.client import run_url
    from cryo_acq.service.server import serving

    session = session_factory("vti-a01")
    folder = tmp_path / "served"
    folder.mkdir()
    _, run = _tmr_run_at_2K(session, path=folder / "tmr-2K.h5")
    launcher = Launcher(session)
    qtbot.addWidget(launcher)
    with serving([folder]) as server:
        url = run_url(server, "tmr-2K")
        experiment = launcher.open_run_url(url)
    window = launcher.windows["tmr"]
    qtbot.addWidget(window)
    assert experiment.results.status == "finished" and experiment.results.data_filename == url
    x_up, y_up = experiment.curve_list[0].data(1)
    np.testing.assert_array_equal(y_up, run.data["resistance"][run.data["direction"] == 1])
    assert window.info_tab.parameter_values()["Temperature"] == "2"
    assert experiment.browser_item.text(3) == "Finished"
