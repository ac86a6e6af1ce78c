"""Initializers: the random numbers a layer's weights start from.

Each initializer is called with a weight shape and returns a host NumPy array of the float type
:func:`tinynet.backend.floatx`; the layer moves it to the device once. Draws come from
:func:`tinynet.random.generator`, so ``set_random_seed`` repeats them.

For a kernel of shape ``(fan_in, fan_out)`` (a Dense layer) or ``(kh, kw, in_channels, filters)``
(a convolution, where ``fan_in = kh * kw * in_channels`` and ``fan_out = kh * kw * filters``):

==================  ==========================================================================
``glorot_uniform``  uniform in ``[-l, l]``, ``l = sqrt(6 / (fan_in + fan_out))`` (Keras's default)
``glorot_normal``   truncated normal, ``stddev = sqrt(2 / (fan_in + fan_out))``
``he_uniform``      uniform in ``[-l, l]``, ``l = sqrt(6 / fan_in)`` (good before ``relu``)
``he_normal``       truncated normal, ``stddev = sqrt(2 / fan_in)``
``random_normal``   normal, ``mean = 0``, ``stddev = 0.05``
``random_uniform``  uniform in ``[-0.05, 0.05]``
``zeros``/``ones``  constant 0 or 1 (biases start at ``zeros``)
==================  ==========================================================================

Glorot (Xavier) initialisation keeps the variance of the signal the same going forward and
backward through a layer; He initialisation does so for ``relu``, which zeroes half of it.
"""

import math

import numpy as np

from tinynet import backend
from tinynet.random import generator
from tinynet.utils.lookup import lookup


def compute_fans(shape):
    """``(fan_in, fan_out)`` of a weight shape, as Keras computes them."""
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = math.prod(shape[:-2])
    return receptive_field * shape[-2], receptive_field * shape[-1]


class Initializer:
    """Base class: ``initializer(shape)`` returns a NumPy array of that shape and type floatx."""

    def __call__(self, shape):
        return self.sample(tuple(shape)).astype(backend.floatx())

    def sample(self, shape):
        raise NotImplementedError

    def get_config(self):
        """The arguments that make this initializer again, ``type(initializer)(**config)``."""
        return {}

    def __repr__(self):
        return f"{type(self).__name__}()"


class Zeros(Initializer):
    """All zeros."""

    def sample(self, shape):
        return np.zeros(shape)


class Ones(Initializer):
    """All ones."""

    def sample(self, shape):
        return np.ones(shape)


class RandomUniform(Initializer):
    """Uniform in ``[minval, maxval)``."""

    def __init__(self, minval=-0.05, maxval=0.05):
        self.minval, self.maxval = minval, maxval

    def get_config(self):
        return {"minval": float(self.minval), "maxval": float(self.maxval)}

    def sample(self, shape):
        return generator().uniform(self.minval, self.maxval, size=shape)


class RandomNormal(Initializer):
    """Normal with the given ``mean`` and ``stddev``."""

    def __init__(self, mean=0.0, stddev=0.05):
        self.mean, self.stddev = mean, stddev

    def get_config(self):
        return {"mean": float(self.mean), "stddev": float(self.stddev)}

    def sample(self, shape):
        return generator().normal(self.mean, self.stddev, size=shape)


def _truncated_normal(shape, stddev):
    """Normal draws with any beyond two standard deviations drawn again, as Keras does."""
    values = generator().normal(0.0, stddev, size=shape)
    outside = np.abs(values) > 2 * stddev
    while outside.any():
        values[outside] = generator().normal(0.0, stddev, size=int(outside.sum()))
        outside = np.abs(values) > 2 * stddev
    return values


# Truncating at two standard deviations narrows a normal distribution to 0.8796 of its stddev;
# Keras divides by this so that the variance is the one asked for.
_TRUNCATION_CORRECTION = 0.87962566103423978


class GlorotUniform(Initializer):
    """Uniform in ``[-l, l]`` with ``l = sqrt(6 / (fan_in + fan_out))``."""

    def sample(self, shape):
        fan_in, fan_out = compute_fans(shape)
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        return generator().uniform(-limit, limit, size=shape)


class GlorotNormal(Initializer):
    """Truncated normal with ``stddev = sqrt(2 / (fan_in + fan_out))``."""

    def sample(self, shape):
        fan_in, fan_out = compute_fans(shape)
        stddev = math.sqrt(2.0 / (fan_in + fan_out)) / _TRUNCATION_CORRECTION
        return _truncated_normal(shape, stddev)


class HeUniform(Initializer):
    """Uniform in ``[-l, l]`` with ``l = sqrt(6 / fan_in)``."""

    def sample(self, shape):
        fan_in, _ = compute_fans(shape)
        limit = math.sqrt(6.0 / fan_in)
        return generator().uniform(-limit, limit, size=shape)


class HeNormal(Initializer):
    """Truncated normal with ``stddev = sqrt(2 / fan_in)``."""

    def sample(self, shape):
        fan_in, _ = compute_fans(shape)
        stddev = math.sqrt(2.0 / fan_in) / _TRUNCATION_CORRECTION
        return _truncated_normal(shape, stddev)


_INITIALIZERS = {
    "zeros": Zeros,
    "ones": Ones,
    "random_uniform": RandomUniform,
    "random_normal": RandomNormal,
    "glorot_uniform": GlorotUniform,
    "glorot_normal": GlorotNormal,
    "he_uniform": HeUniform,
    "he_normal": HeNormal,
}


# By class name too, for the descriptions serialize writes ("HeNormal" is looked up as "henormal").
_CLASSES = {cls.__name__.lower(): cls for cls in _INITIALIZERS.values()}


def serialize(initializer):
    """``initializer`` as plain data, ``{"class_name": "RandomNormal", "config": {...}}``, as Keras
    describes one in a layer's ``get_config``; :func:`get` makes it again."""
    return {"class_name": type(initializer).__name__, "config": initializer.get_config()}


def is_serializable(initializer):
    """True when :func:`get` can make ``initializer`` again from :func:`serialize`'s description:
    it is one of tinynet's own classes, not a subclass of one's own."""
    return _CLASSES.get(type(initializer).__name__.lower()) is type(initializer)


def get(identifier):
    """An initializer from a name such as ``"glorot_uniform"``, a class such as ``HeNormal``, an
    object, or :func:`serialize`'s description."""
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if isinstance(identifier, dict) and set(identifier) == {"class_name", "config"}:
        return lookup("initializer class", identifier["class_name"], _CLASSES)(**identifier["config"])
    return lookup("initializer", identifier, _INITIALIZERS)()
