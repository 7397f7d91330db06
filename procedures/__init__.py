"""Measurement procedures, one module per measurement, written against station roles."""
