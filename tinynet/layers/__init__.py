"""Layers, importable as ``tinynet.layers.Dense`` (and, like old Keras, ``tinynet.layers.core.Dense``)."""

from tinynet.layers.activations import LeakyReLU, ReLU, Softmax
from tinynet.layers.base import Layer
from tinynet.layers.convolutional import Conv2D
from tinynet.layers.core import Activation, Dense, Dropout, Flatten, Input, InputLayer
from tinynet.layers.normalization import BatchNormalization
from tinynet.layers.pooling import AveragePooling2D, MaxPooling2D

__all__ = [
    "Layer", "Input", "InputLayer", "Dense", "Activation", "Dropout", "Flatten", "Conv2D", "MaxPooling2D",
    "AveragePooling2D", "BatchNormalization", "Softmax", "ReLU", "LeakyReLU",
]
