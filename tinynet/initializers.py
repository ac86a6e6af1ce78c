"""Initializers: the random numbers a layer's weights start from.

Each initializer is called with a weight shape and returns a host NumPy array of the float type
:func:`tinynet.backend.floatx`; the layer moves it to the device once. Draws come from
:func:`tinynet.random.generator`, so ``set_random_seed`` repeats them.

For a kernel of shape ``(fan_in, fan_out)`` (a Dense layer) or ``(kh, kw, in_channels, filters)``
(a convolution, where ``fan_in = kh * kw * in_channels`` and ``fan_out = kh * kw * filters``):

====================  ==========================================================================
``glorot_uniform``    uniform in ``[-l, l]``, ``l = sqrt(6 / (fan_in + fan_out))`` (Keras's default)
``glorot_normal``     truncated normal, ``stddev = sqrt(2 / (fan_in + fan_out))``
``he_uniform``        uniform in ``[-l, l]``, ``l = sqrt(6 / fan_in)`` (good before ``relu``)
``he_normal``         truncated normal, ``stddev = sqrt(2 / fan_in)``
``random_normal``     normal, ``mean = 0``, ``stddev = 0.05``
``random_uniform``    uniform in ``[-0.05, 0.05]``
``lecun_uniform``     uniform in ``[-l, l]``, ``l = sqrt(3 / fan_in)``
``lecun_normal``      truncated normal, ``stddev = sqrt(1 / fan_in)`` (for ``selu``)
``orthogonal``        a random orthogonal matrix (times ``gain``)
``variance_scaling``  ``VarianceScaling(scale, mode, distribution)``: variance ``scale / fans``
``truncated_normal``  normal, ``mean = 0``, ``stddev = 0.05``, cut at two standard deviations
``zeros``/``ones``    constant 0 or 1 (biases start at ``zeros``); ``Constant(value)`` any number
====================  ==========================================================================

Glorot (Xavier) initialisation keeps the variance of the signal the same going forward and
backward through a layer; He initialisation does so for ``relu``, which zeroes half of it; LeCun's
keeps the forward variance only. All three are :class:`VarianceScaling` with fixed arguments.
"""

import math
import numbers

import numpy as np

from tinynet import backend
from tinynet.random import generator
from tinynet.utils.lookup import lookup
from tinynet.utils.object_registration import get_registered_name


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


class TruncatedNormal(Initializer):
    """Normal with the given ``mean`` and ``stddev``, any draw further than ``2 * stddev`` from the
    mean drawn again (so the standard deviation of the values is about ``0.88 * stddev``)."""

    def __init__(self, mean=0.0, stddev=0.05):
        self.mean, self.stddev = mean, stddev

    def get_config(self):
        return {"mean": float(self.mean), "stddev": float(self.stddev)}

    def sample(self, shape):
        return self.mean + _truncated_normal(shape, self.stddev)


class Constant(Initializer):
    """Every value ``value`` (a number)."""

    def __init__(self, value=0.0):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"Constant value must be a number; got {value!r}.")
        self.value = float(value)

    def get_config(self):
        return {"value": self.value}

    def sample(self, shape):
        return np.full(shape, self.value)


# Truncating at two standard deviations narrows a normal distribution to 0.8796 of its stddev;
# Keras divides by this so that the variance is the one asked for.
_TRUNCATION_CORRECTION = 0.87962566103423978

_FAN_MODES = {"fan_in": "fan_in", "fan_out": "fan_out", "fan_avg": "fan_avg"}
_DISTRIBUTIONS = {"truncated_normal": "truncated_normal", "normal": "truncated_normal",
                  "untruncated_normal": "untruncated_normal", "uniform": "uniform"}


class VarianceScaling(Initializer):
    """Random values of variance ``scale / n``, with ``n`` the ``mode``: ``fan_in``, ``fan_out`` or
    ``fan_avg = (fan_in + fan_out) / 2``.

    ``distribution``: ``"truncated_normal"`` (or ``"normal"``, Keras's other name for it) cuts at
    two standard deviations and widens by ``1 / 0.8796`` so the variance is still ``scale / n``;
    ``"untruncated_normal"`` has ``stddev = sqrt(scale / n)``; ``"uniform"`` is uniform in
    ``[-l, l]`` with ``l = sqrt(3 scale / n)`` (a uniform's variance is ``l^2 / 3``).
    Glorot, He and LeCun are this with fixed arguments.
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal"):
        if isinstance(scale, bool) or not isinstance(scale, numbers.Real) or not scale > 0:
            raise ValueError(f"VarianceScaling scale must be a number > 0; got {scale!r}.")
        self.scale = float(scale)
        self.mode = lookup("VarianceScaling mode", mode, _FAN_MODES)
        distribution = distribution.lower() if isinstance(distribution, str) else distribution
        self.distribution = lookup("VarianceScaling distribution", distribution, _DISTRIBUTIONS)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution}

    def sample(self, shape):
        fan_in, fan_out = compute_fans(shape)
        fans = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        variance = self.scale / max(1.0, fans)  # max: a shape with a 0 in it has no fans
        if self.distribution == "truncated_normal":
            return _truncated_normal(shape, math.sqrt(variance) / _TRUNCATION_CORRECTION)
        if self.distribution == "untruncated_normal":
            return generator().normal(0.0, math.sqrt(variance), size=shape)
        limit = math.sqrt(3.0 * variance)
        return generator().uniform(-limit, limit, size=shape)


# The named schemes. Each is VarianceScaling with fixed arguments, and takes none of its own.


class GlorotUniform(VarianceScaling):
    """``VarianceScaling(1.0, "fan_avg", "uniform")``: uniform in ``[-l, l]``,
    ``l = sqrt(6 / (fan_in + fan_out))``. Keras's default kernel initializer."""

    def __init__(self):
        super().__init__(1.0, "fan_avg", "uniform")

    def get_config(self):
        return {}


class GlorotNormal(VarianceScaling):
    """``VarianceScaling(1.0, "fan_avg", "truncated_normal")``: truncated normal with
    ``stddev = sqrt(2 / (fan_in + fan_out))``."""

    def __init__(self):
        super().__init__(1.0, "fan_avg", "truncated_normal")

    def get_config(self):
        return {}


class HeUniform(VarianceScaling):
    """``VarianceScaling(2.0, "fan_in", "uniform")``: uniform in ``[-l, l]``, ``l = sqrt(6 / fan_in)``."""

    def __init__(self):
        super().__init__(2.0, "fan_in", "uniform")

    def get_config(self):
        return {}


class HeNormal(VarianceScaling):
    """``VarianceScaling(2.0, "fan_in", "truncated_normal")``: truncated normal with
    ``stddev = sqrt(2 / fan_in)``."""

    def __init__(self):
        super().__init__(2.0, "fan_in", "truncated_normal")

    def get_config(self):
        return {}


class LecunUniform(VarianceScaling):
    """``VarianceScaling(1.0, "fan_in", "uniform")``: uniform in ``[-l, l]``, ``l = sqrt(3 / fan_in)``."""

    def __init__(self):
        super().__init__(1.0, "fan_in", "uniform")

    def get_config(self):
        return {}


class LecunNormal(VarianceScaling):
    """``VarianceScaling(1.0, "fan_in", "truncated_normal")``: truncated normal with
    ``stddev = sqrt(1 / fan_in)``, the partner of the ``selu`` activation."""

    def __init__(self):
        super().__init__(1.0, "fan_in", "truncated_normal")

    def get_config(self):
        return {}


class Orthogonal(Initializer):
    """A random orthogonal matrix times ``gain``: its rows (or columns, whichever are fewer) are
    orthonormal, so multiplying by it keeps the length of a vector.

    The shape is read as a matrix of ``prod(shape[:-1])`` rows and ``shape[-1]`` columns. A normal
    random matrix of the taller of the two orientations is factored ``A = QR``; the columns of
    ``Q`` are orthonormal, and multiplying each by the sign of ``R``'s diagonal makes the
    factorization unique, so ``Q`` is uniform over orthogonal matrices (not biased by the QR
    algorithm's sign choices). A wide matrix is the transpose of a tall one.
    """

    def __init__(self, gain=1.0):
        self.gain = gain

    def get_config(self):
        return {"gain": float(self.gain)}

    def sample(self, shape):
        if len(shape) < 2:
            raise ValueError(f"The orthogonal initializer needs a shape of at least two dimensions; got {shape}.")
        rows, columns = math.prod(shape[:-1]), shape[-1]
        q, r = np.linalg.qr(generator().normal(size=(max(rows, columns), min(rows, columns))))
        q *= np.sign(np.diag(r))
        if rows < columns:
            q = q.T
        return self.gain * q.reshape(shape)


_INITIALIZERS = {
    "zeros": Zeros,
    "ones": Ones,
    "random_uniform": RandomUniform,
    "random_normal": RandomNormal,
    "glorot_uniform": GlorotUniform,
    "glorot_normal": GlorotNormal,
    "he_uniform": HeUniform,
    "he_normal": HeNormal,
    "lecun_uniform": LecunUniform,
    "lecun_normal": LecunNormal,
    "orthogonal": Orthogonal,
    "constant": Constant,
    "truncated_normal": TruncatedNormal,
    "variance_scaling": VarianceScaling,
}


# By class name too, for the descriptions serialize writes ("HeNormal" is looked up as "henormal").
_CLASSES = {cls.__name__.lower(): cls for cls in _INITIALIZERS.values()}


def serialize(initializer):
    """``initializer`` as plain data, ``{"class_name": "RandomNormal", "config": {...}}``, as Keras
    describes one in a layer's ``get_config``; :func:`get` makes it again. A class of one's own is
    named by its registered name (see ``tinynet.saving.register_keras_serializable``)."""
    return {"class_name": get_registered_name(type(initializer)), "config": initializer.get_config()}


def get(identifier):
    """An initializer from a name such as ``"glorot_uniform"``, a class such as ``HeNormal``, an
    object, or :func:`serialize`'s description."""
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if isinstance(identifier, dict) and set(identifier) == {"class_name", "config"}:
        initializer_class = lookup("initializer class", identifier["class_name"], _CLASSES, with_custom_objects=True)
        return initializer_class(**identifier["config"])
    return lookup("initializer", identifier, _INITIALIZERS, with_custom_objects=True)()
