"""Vigil's command line, settings and process supervision."""

__version__ = "0.1.0"
