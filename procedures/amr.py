"""amr: anisotropic magnetoresistance of the Co stripe, in the loop of ``tmr``.

The same field loop as ``tmr`` (in-plane field along the easy axis x, -field_max ->
+field_max -> -field_max in steps), measured four-probe along the Co contact alone
(configuration ``co_amr``; paper, Fig. 3b bottom, ED6). As the Co magnetisation
reverses, its angle to the current passes through 90 degrees and the stripe's
resistance dips by milliohms at the Co coercive field, on the up sweep at +B_c and on
the down sweep at -B_c. The dip is small against a 2 ohm stripe, so the defaults are
the largest lock-in current the station's SR830 drives through its series resistor
(0.45 uA rms through 10 Mohm), a 1 s time constant, no DC bias and half-millitesla
steps. Columns: temperature (K), field (T, measured), direction (+1 up, -1 down),
resistance (ohm).
"""

from __future__ import annotations

from pymeasure.experiment import FloatParameter

from .tmr import TMR


class AMR(TMR):
    NAME = "amr"
    CONFIGURATION = "co_amr"

    field_step = FloatParameter("Field step", units="T", minimum=0.0, maximum=1.0, default=0.0005)
    current = FloatParameter("DC bias current", units="A", minimum=-1e-3, maximum=1e-3, default=0.0)
    rate = FloatParameter("Field ramp rate", units="T/s", minimum=0.0, maximum=1.0, default=0.01)
    excitation = FloatParameter("Excitation current", units="A", minimum=1e-12, maximum=1e-3, default=0.45e-6)
    time_constant = FloatParameter("Time constant", units="s", minimum=1e-5, maximum=3e4, default=1.0)
