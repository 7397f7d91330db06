"""Make the GUI screenshots in docs/screenshots/ from the simulated stations, offscreen.

    .venv/bin/python docs/make_screenshots.py [--out docs/screenshots]

Each window is driven as a user would (parameters typed, Queue pressed) on a
simulated station with a pure virtual clock, so the whole set takes under a minute.
Run files go to a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryo_acq.gui.station_panel import StationPanel  # noqa: E402
from cryo_acq.gui.window import Launcher, ProcedureWindow, Session, build_station  # noqa: E402
from qtpy import QtWidgets  # noqa: E402


def pump(app, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def wait_for(app, condition, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("the run did not get there in time")
        app.processEvents()
        time.sleep(0.01)


def enter(window: ProcedureWindow, **values) -> None:
    for name, value in values.items():
        getattr(window.inputs, name).setValue(value)


def run(app, window: ProcedureWindow, **values):
    enter(window, **values)
    experiment = window.queue()
    wait_for(app, lambda: experiment.results.status not in ("queued", "running"))
    pump(app, 0.4)
    return experiment


def grab(app, widget, path: pathlib.Path) -> None:
    pump(app, 0.3)
    widget.grab().save(str(path))
    print(path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs = pathlib.Path(tempfile.mkdtemp(prefix="cryo-acq-screens-"))
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    app.setStyle("Fusion")

    # --- VTI, device A01: the picker, a TMR loop, an R(T, B) map in snake order
    station = build_station("vti-a01", sim=True, time_scale=0)
    session = Session(station, folder=runs, monitor_interval=0.2)
    launcher = Launcher(session)
    launcher.resize(1250, 720)
    launcher.show()
    pump(app, 0.6)
    grab(app, launcher, out / "launcher.png")

    tmr = launcher.open_procedure("tmr")
    experiment = run(app, tmr, field_max=0.04, field_step=0.001, temperature=1.5)
    tmr_file = experiment.results.data_filename
    tmr.tabs.setCurrentWidget(tmr.curve_tab)
    grab(app, tmr, out / "tmr-loop.png")

    rt_map = launcher.open_procedure("rt-map")
    run(app, rt_map, temperature_start=7.5, temperature_stop=1.5, temperature_step=-0.5,  # descending, snake
        field_start=0.0, field_stop=6.0, field_step=0.5, snake=True)
    grab(app, rt_map, out / "rt-map-snake.png")

    reopened = ProcedureWindow(tmr.procedure_class, session)
    reopened.show()
    reopened.open_run(tmr_file)
    reopened.tabs.setCurrentWidget(reopened.info_tab)
    grab(app, reopened, out / "reopened-run-info.png")
    for w in (reopened, rt_map, tmr, launcher):
        w.close()
    session.close()
    station.close()

    # --- dilution fridge, device B: a non-local map, live
    station = build_station("dilution-b", sim=True, time_scale=0)
    session = Session(station, folder=runs, monitor_interval=0.2)
    nl_map = ProcedureWindow(__import__("procedures").get("nl-map"), session)
    nl_map.show()
    enter(nl_map, current_start=-5e-6, current_stop=5e-6, current_step=0.25e-6,
          field_start=0.0, field_stop=0.04, field_step=0.001)
    experiment = nl_map.queue()
    wait_for(app, lambda: experiment.results.progress is not None and experiment.results.progress.fraction > 0.55)
    pump(app, 1.2)  # ETA and the panel catch up
    grab(app, nl_map, out / "nl-map-live.png")
    panel = StationPanel(session)  # the same panel as the window's dock, on its own
    panel.resize(470, 500)
    panel.show()
    pump(app, 0.5)
    grab(app, panel, out / "station-panel.png")
    panel.close()
    wait_for(app, lambda: experiment.results.status not in ("queued", "running"))
    nl_map.close()
    session.close()
    station.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
