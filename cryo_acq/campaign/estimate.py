"""How long a sequence takes: :func:`estimate` runs it on a simulated copy of the station
in virtual time."""

from __future__ import annotations

import dataclasses
import math
import pathlib
import tempfile


from cryo_acq.station.clock import VirtualClock
from cryo_acq.station.file import StationConfig
from .execute import Outcome, SequenceRun
from .schema import Sequence



# --------------------------------------------------------------------------- lab-time estimate
def simulated_copy(config: StationConfig, path: pathlib.Path | None = None, text: str = ""):
    """The station file's simulated lab, in pure virtual time, without its injected faults."""
    from cryo_acq.station import Station

    sim = config.sim.model_copy(update={"faults": [], "time_scale": None})
    return Station(config.model_copy(update={"sim": sim}), path, text, sim=True, clock=VirtualClock())


def estimate(sequence: Sequence, config: StationConfig, path: pathlib.Path | None = None, text: str = "",
             on_progress=None, on_event=None) -> Outcome:
    """Run the whole sequence on a simulated copy of the station in virtual time, into a
    temporary folder (deleted); each entry's ``lab_seconds`` is the station time it took.
    Raises :class:`SequenceError` if the sequence does not pass :func:`check` there."""
    station = simulated_copy(config, path, text)
    try:
        with tempfile.TemporaryDirectory(prefix="cryo-acq-estimate-") as tmp:
            run = SequenceRun(sequence, station, tmp, on_progress=on_progress, on_event=on_event,
                              state=False, log_file=False, index=False)
            outcome = run.start()
            return dataclasses.replace(outcome, out=pathlib.Path(tmp))
    finally:
        station.close()


def format_duration(seconds: float | None) -> str:
    """``2 h 05 min``, ``14 min``, ``35 s``."""
    if seconds is None or not math.isfinite(seconds):
        return ""
    seconds = float(seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
