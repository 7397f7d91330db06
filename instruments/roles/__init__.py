"""Roles: what a procedure may do with an instrument, independent of its make.

Procedures never hold a driver; they hold a role adapter, which checks every
set-point against the station's limits before anything is sent.
"""

from .base import RoleContext
from .current_source import CurrentSource
from .lockin import LockIn, LockInReading
from .magnet import Magnet, MagnetAxisControl
from .temperature import TemperatureController

__all__ = ["RoleContext", "LockIn", "LockInReading", "CurrentSource", "Magnet", "MagnetAxisControl",
           "TemperatureController"]
