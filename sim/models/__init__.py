"""Time-dependent parts of the lab, and one live model per simulated instrument.

A live model's attribute names are the ``live:`` names of its device file.
"""
