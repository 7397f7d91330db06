"""The station: what is on the bench and how far it may be pushed.

``file`` reads and checks station files (``yaml_reader`` underneath), ``station``
builds the drivers and role adapters from one, ``drivers`` is the table of known
instruments, ``safety`` holds the limits every set-point passes, ``clock`` is the
station's time (wall or virtual) through which every wait goes. ``shipped/`` holds
the example stations usable by name.
"""

from .station import Station, StationConnectError

__all__ = ["Station", "StationConnectError"]
