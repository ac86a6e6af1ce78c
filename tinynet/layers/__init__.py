"""Layers, importable as ``tinynet.layers.Dense`` (and, like old Keras, ``tinynet.layers.core.Dense``)."""

from tinynet.layers.base import Layer
from tinynet.layers.core import Activation, Dense, Dropout, Flatten

__all__ = ["Layer", "Dense", "Activation", "Dropout", "Flatten"]
