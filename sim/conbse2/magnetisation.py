"""History-dependent magnetisation of the ferromagnetic electrodes.

Each electrode is a single domain along the in-plane easy axis (x): its
magnetisation is +1 or -1 and flips when the field along x passes its coercive
field against it. The state therefore depends on the path: an up sweep and a
down sweep differ, and the antiparallel window lies between two coercive fields.
An electrode that is not ferromagnetic under the present conditions (Co-NbSe2
above T_K or outside B_K) has no bistable state and follows the field (its
magnetisation is the sign of B_x, 0 at B_x = 0). The bias condition of the
junction is applied where the bias is known, in ``sample.py``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Electrode:
    coercive_field: float  #: T
    magnetisation: int = -1  #: +1 / -1 along the easy axis (x)

    def observe(self, b_x: float, ferromagnetic: bool = True) -> int:
        """Let the electrode see the field B_x (T); return its magnetisation."""
        if not ferromagnetic:
            self.magnetisation = (b_x > 0) - (b_x < 0)
        elif b_x >= self.coercive_field:
            self.magnetisation = 1
        elif b_x <= -self.coercive_field:
            self.magnetisation = -1
        elif self.magnetisation == 0:  # becoming ferromagnetic inside the loop: follow the field
            self.magnetisation = 1 if b_x > 0 else -1
        return self.magnetisation

    def switching_field(self) -> float:
        """The field at which the next reversal happens (T): +Hc if pointing down."""
        return self.coercive_field if self.magnetisation <= 0 else -self.coercive_field
