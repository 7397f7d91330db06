"""The simulated Co-intercalated NbSe2 devices of the paper.

``parameters``/``presets``: every parameter, per device (A01, A02, B, C, D, E).
``superconductivity``: Tc(B) by pair breaking, BKT R(T) and V-I, re-entrant FM phase.
``tunnelling``: Dynes dI/dV (s or p wave, thermal smearing, zero-bias peak), current-biased junction.
``magnetisation``: history-dependent electrodes (coercive fields).
``spin``: non-local spin signal and Hanle precession (eq. 3 and 4, closed form).
``sample``: the device as the lab sees it, per measurement configuration.
"""
