"""Ensembles: averaged, weighted and voting ensembles, and stacking, as plain Keras models."""

from kerasft.ensembles.ensemble import ensemble
from kerasft.ensembles.stacking import stack

__all__ = ["ensemble", "stack"]
