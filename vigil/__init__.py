"""Vigil's command line and process supervision: the top layer, the only one that imports every part."""

__version__ = "0.1.0"
