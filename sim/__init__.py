"""The simulated lab: pyvisa-sim device files, the live binding, instrument models, sample.

``sim/devices/*.yaml``  the protocol of each simulated instrument (plain pyvisa-sim files)
``sim/binding.py``      extends pyvisa-sim: live properties, actions, faults, virtual-time I/O
``sim/lab.py``          one lab: clock, fridge, magnet axes, sample, wiring
``sim/models/``         time-dependent parts (magnet axis, fridge, lock-in filter) and one
                        live model per instrument type
``sim/sample.py``       the interface to the sample physics
``sim/build.py``        a station file -> lab + VISA library
"""
