"""Device presets A01, A02, B, C, D, E (paper, Extended Data 10) as DeviceParameters."""

from __future__ import annotations

from .parameters import Channel, DeviceParameters

#: Device B's three non-local channels. L = 0.8 um: D and tau give lambda_s = 1.06 um
#: and the Hanle sign change at 0.125 T (paper); L = 0.6 um: lambda_s = 0.62 um (paper);
#: L = 3.0 um: eq. 4 with vortices, second peak near 0.4 T (paper).
CHANNELS_B = {
    "L06": Channel(0.6e-6, diffusion=6.5e-3, spin_lifetime=59e-12),
    "L08": Channel(0.8e-6, diffusion=6.5e-3, spin_lifetime=173e-12),
    "L30": Channel(3.0e-6, diffusion=6.5e-3, spin_lifetime=20e-12, model="vortex", vortex_field=0.23),
}

PRESETS: dict[str, DeviceParameters] = {
    "A01": DeviceParameters("A01", tc0=6.60, thickness=12e-9, xi_gl0=5.7e-9, t_bkt=6.35),
    "A02": DeviceParameters("A02", tc0=6.65, thickness=12e-9, xi_gl0=5.6e-9, t_bkt=6.40),
    "B": DeviceParameters("B", tc0=3.50, thickness=3.5e-9, xi_gl0=8.0e-9, t_bkt=3.30, t_k=2.4,
                          b_k_parallel=1.5, b_k_perpendicular=1.0, channels=CHANNELS_B),
    "C": DeviceParameters("C", tc0=4.70, thickness=10e-9, xi_gl0=7.1e-9, t_bkt=4.50, t_k=3.2,
                          ising_protected=True),
    "D": DeviceParameters("D", tc0=6.80, thickness=10e-9, xi_gl0=5.7e-9, t_bkt=6.76, co_doped=False,
                          rrr=9.5, alpha_jump=6.0, depairing_current=2e-3, channels=CHANNELS_B),
    "E": DeviceParameters("E", tc0=6.95, thickness=10e-9, xi_gl0=3.7e-9, t_bkt=6.70, co_doped=False,
                          rrr=10.0),
}


def preset(name: str, **overrides) -> DeviceParameters:
    """A device preset, with any parameter overridden."""
    try:
        base = PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown device {name!r}; presets: {', '.join(PRESETS)}") from None
    return base.replace(**overrides) if overrides else base
