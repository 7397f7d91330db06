"""cryo_acq: instrument control and acquisition for low-temperature transport experiments.

station.yaml -> :class:`~cryo_acq.station.Station` (roles -> drivers, wiring, safety limits,
clock; real or simulated) -> procedures -> run files.
"""

from cryo_acq.station import Station

__version__ = "0.1.0"
__all__ = ["Station", "__version__"]
