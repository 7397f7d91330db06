import pathlib

import pytest

from cryo_acq.station import Station

STATIONS = pathlib.Path(__file__).parent / "stations"


@pytest.fixture
def station_factory():
    """Build simulated stations and close them after the test."""
    made = []

    def make(name, **kwargs):
        path = STATIONS / name if (STATIONS / name).exists() else name
        st = Station.from_yaml(path, sim=True, **kwargs)
        made.append(st)
        return st

    yield make
    for st in made:
        st.close()


def received(station, instrument):
    """Messages the simulated instrument received (station time, text)."""
    resource = station.config.instruments[instrument].resource
    return list(station.visa_library.device(resource).received)


def sent(station, instrument) -> int:
    """How many messages the simulated instrument has received, ever."""
    resource = station.config.instruments[instrument].resource
    return station.visa_library.device(resource).message_count


def sent_to_all(station) -> dict[str, int]:
    return {name: sent(station, name) for name in station.config.instruments}


def raw_driver(station, instrument):
    """The pymeasure driver behind a role: bypasses the limits, for simulator checks only."""
    return station._drivers[instrument]
