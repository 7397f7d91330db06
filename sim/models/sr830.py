"""Live model of an SR830 lock-in (attributes = the ``live:`` names of sr830.yaml).

The input is whatever the lab's wiring puts on it: the sample's differential
resistance times the AC current the sine output drives through the series
resistor, times the preamp gain. It passes the output filter (time constant and
slope as set) with the input noise of the instrument, in station time. Outputs
beyond the sensitivity set the overload bits and clip.
"""

from __future__ import annotations

import cmath
import math

from pymeasure.instruments.srs.sr830 import SR830

from .base import InstrumentModel, LiveMap
from .lowpass import LowPassFilter

#: input-referred voltage noise of the SR830, V/sqrt(Hz) (manual: 6 nV/sqrt(Hz) at 1 kHz)
NOISE_DENSITY = 6e-9
#: largest signal the input takes before the amplifier overloads, V rms
INPUT_MAX = 1.0

LIA_INPUT_OVERLOAD, LIA_FILTER_OVERLOAD, LIA_OUTPUT_OVERLOAD = 1, 2, 4
LIA_TAU_CHANGED = 32


class SR830Model(InstrumentModel):
    def __init__(self, lab, name, options=None):
        super().__init__(lab, name, options)
        self.filter = LowPassFilter(lab._child_rng(), NOISE_DENSITY, t=self.clock.now())
        self._lias = 0
        self._defaults()
        self.lia_status_bit = LiveMap(self._read_lias_bit)
        self.aux_in = LiveMap(lambda ch: 0.0)
        self._aux_out = {}
        self.aux_out = LiveMap(lambda ch: self._aux_out.get(ch, 0.0), self._aux_out.__setitem__)

    def _defaults(self) -> None:
        self._sine = 0.004  # V rms
        self.frequency = 1000.0
        self.phase = 0.0
        self.harmonic = 1
        self.reference_source = 1
        self.input_config = 0
        self.input_coupling = 0
        self.sync_filter = 0
        self.reserve = 1
        self.sensitivity = 26  # index: 1 V
        self._tau_index = 10  # 1 s
        self._slope_index = 1  # 12 dB/oct
        self.filter.tau = SR830.TIME_CONSTANTS[self._tau_index]
        self.filter.poles = self._slope_index + 1

    # --- time
    def _source(self, t: float) -> complex:
        signal = self.lab.lockin_input(self.name, t, self._sine)
        return signal * cmath.exp(-1j * math.radians(self.phase))

    def advance(self) -> None:
        self.filter.advance(self.clock.now(), self._source, self.lab.fine_window(self.filter.time))

    # --- settings that act on the physics
    @property
    def sine_amplitude(self) -> float:
        return self._sine

    @sine_amplitude.setter
    def sine_amplitude(self, volts: float) -> None:
        self._sine = float(volts)

    @property
    def time_constant(self) -> int:
        return self._tau_index

    @time_constant.setter
    def time_constant(self, index: int) -> None:
        self._tau_index = int(index)
        self.filter.tau = SR830.TIME_CONSTANTS[self._tau_index]

    @property
    def filter_slope(self) -> int:
        return self._slope_index

    @filter_slope.setter
    def filter_slope(self, index: int) -> None:
        self._slope_index = int(index)
        self.filter.poles = self._slope_index + 1

    # --- readings
    def _output(self) -> complex:
        """Filter output now, clipped at full scale; sets the overload bits."""
        self.advance()
        full_scale = SR830.SENSITIVITIES[self.sensitivity]
        if abs(self._source(self.clock.now())) > INPUT_MAX:
            self._lias |= LIA_INPUT_OVERLOAD
        out = self.filter.output
        x, y = out.real, out.imag
        if abs(x) > full_scale or abs(y) > full_scale:
            self._lias |= LIA_OUTPUT_OVERLOAD
            x = max(-full_scale, min(full_scale, x))
            y = max(-full_scale, min(full_scale, y))
        return complex(x, y)

    @property
    def x(self) -> float:
        return self._output().real

    @property
    def y(self) -> float:
        return self._output().imag

    @property
    def r(self) -> float:
        return abs(self._output())

    @property
    def theta(self) -> float:
        return math.degrees(cmath.phase(self._output()))

    @property
    def snap_xy_reply(self) -> str:
        out = self._output()
        return f"{out.real:.6e},{out.imag:.6e}"

    @property
    def snap_rtheta_reply(self) -> str:
        out = self._output()
        return f"{abs(out):.6e},{math.degrees(cmath.phase(out)):.3f}"

    @property
    def snap_xyrtheta_reply(self) -> str:
        out = self._output()
        return f"{out.real:.6e},{out.imag:.6e},{abs(out):.6e},{math.degrees(cmath.phase(out)):.3f}"

    # --- status (reading clears)
    @property
    def lia_status(self) -> int:
        self._output()
        value, self._lias = self._lias, 0
        return value

    @lia_status.setter
    def lia_status(self, value) -> None:
        self._lias = int(value)

    def _read_lias_bit(self, bit) -> int:
        self._output()
        mask = 1 << int(bit)
        value = int(bool(self._lias & mask))
        self._lias &= ~mask
        return value

    status_byte = 3  # no scan, no command executing

    # --- actions
    @property
    def clear_status(self):
        return None

    @clear_status.setter
    def clear_status(self, _) -> None:
        self._lias = 0

    @property
    def reset(self):
        return None

    @reset.setter
    def reset(self, _) -> None:
        self._defaults()
        self._lias = 0

    @property
    def auto_gain(self):
        return None

    @auto_gain.setter
    def auto_gain(self, _) -> None:
        """AGAN: smallest sensitivity above the present magnitude, taking 5 time constants."""
        self.clock.sleep(5 * self.filter.tau)
        self.advance()
        magnitude = abs(self.filter.output)
        self.sensitivity = next((i for i, s in enumerate(SR830.SENSITIVITIES) if s > 1.2 * magnitude), 26)

    auto_reserve = None
    auto_phase = None
    auto_offset = None
