"""What the runs say: figures of run files and the paper's campaign with its summary.

``plotting`` draws a run as its procedure asks; ``demo`` measures the paper's
campaign on the simulated stations and writes its figures and ``summary.md``.
"""
