"""Datasets ready to train on, loaded like ``keras.datasets``: ``from tinynet.datasets import mnist``."""

from tinynet.datasets import mnist

__all__ = ["mnist"]
