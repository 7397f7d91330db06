"""One run: a procedure's plan executed on a station into a run file.

``sweeps`` builds plans (stepped or continuous, 1-D or 2-D), ``measure`` holds the
building blocks procedures measure with, ``runner`` executes a plan (checks, retries,
guards, safe state), ``guards`` pause a run while the cryostat is unfit, ``storage``
writes and reads the crash-safe run file.
"""
