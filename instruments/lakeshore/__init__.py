"""Lake Shore drivers pymeasure lacks.

* :class:`~instruments.lakeshore.lakeshore372.LakeShore372`: Model 372 AC resistance
  bridge and temperature controller.
"""

from .lakeshore372 import (
    HeaterSetup,
    InputSetup,
    InputType,
    LakeShore372,
    LakeShore372NoReplyError,
    OutputMode,
    ReadingStatus,
    ScannerState,
    StandardEvent,
)

__all__ = [
    "HeaterSetup",
    "InputSetup",
    "InputType",
    "LakeShore372",
    "LakeShore372NoReplyError",
    "OutputMode",
    "ReadingStatus",
    "ScannerState",
    "StandardEvent",
]
