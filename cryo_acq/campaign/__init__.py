"""Many runs: sequence files (a night's campaign) and the catalogue of the runs made.

``sequence`` parses, checks, executes and estimates sequence files; ``catalogue`` is
the SQLite index beside the run files. ``shipped/`` holds the example sequences
usable by name.
"""
