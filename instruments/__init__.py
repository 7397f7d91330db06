"""Instrument drivers cryo_acq adds to pymeasure, and the role adapters procedures use.

``instruments.oxford`` and ``instruments.lakeshore`` hold pymeasure-style drivers for
instruments pymeasure lacks. ``instruments.roles`` holds the small interfaces
procedures are written against (LockIn, CurrentSource, Magnet,
TemperatureController) and their adapters over the drivers; every set-point
passes the station's safety limits there.
"""
