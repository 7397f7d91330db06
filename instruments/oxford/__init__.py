"""Drivers for Oxford Instruments controllers speaking the READ/SET/STAT protocol.

* :class:`~instruments.oxford.mercury_ips.MercuryIPS`: Mercury iPS magnet supply.
* :class:`~instruments.oxford.triton.OxfordTriton`: Triton dilution-fridge controller.
"""

from ._protocol import OxfordCommandError, OxfordError, OxfordReplyError
from .mercury_ips import MercuryIPS, MercuryIPSGroup
from .triton import OxfordTriton, TritonPressureChannel, TritonTemperatureChannel

__all__ = [
    "MercuryIPS",
    "MercuryIPSGroup",
    "OxfordCommandError",
    "OxfordError",
    "OxfordReplyError",
    "OxfordTriton",
    "TritonPressureChannel",
    "TritonTemperatureChannel",
]
