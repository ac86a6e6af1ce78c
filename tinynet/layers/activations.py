"""Activation layers as Keras has them: ``Softmax()``, ``ReLU(max_value=6)``, ``LeakyReLU(0.1)``.

Each does what ``Activation(name)`` does, with the arguments Keras gives it as a layer. They have
no weights.
"""

import numbers
import warnings

from tinynet import backend
from tinynet.layers.base import Layer
from tinynet.layers.core import Activation


def _non_negative(layer_name, argument, value):
    """``value`` as a float, or a clear error unless it is a number >= 0 (as Keras requires)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
        raise ValueError(f"{argument} of a {layer_name} layer must be a number >= 0; got {value!r}.")
    return float(value)


class Softmax(Activation):
    """``f(x)_i = exp(x_i) / sum_j exp(x_j)`` along the last axis, as a layer (see
    :class:`tinynet.activations.Softmax`; followed by a cross-entropy, the two differentiate
    together, as ``Activation('softmax')`` does).

    Keras's ``axis`` may name another axis, or several; tinynet's softmax works along the last one
    only, and refuses any other axis when it learns the input's shape.
    """

    def __init__(self, axis=-1, **kwargs):
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise TypeError(f"Softmax axis must be an integer (tinynet: the last axis, -1); got {axis!r}.")
        self.axis = int(axis)
        super().__init__("softmax", **kwargs)

    def get_config(self):
        config = super().get_config()
        del config["activation"]  # always softmax: the class says so
        return {**config, "axis": self.axis}

    def compute_output_shape(self, input_shape):
        if self.axis not in (-1, len(input_shape) - 1):
            raise ValueError(
                f"Softmax layer {self.name!r} works along the last axis only (axis=-1, or "
                f"{len(input_shape) - 1} for inputs of shape {tuple(input_shape)}); got axis={self.axis}."
            )
        return tuple(input_shape)


class ReLU(Layer):
    """Keras's ``ReLU`` layer: ``f(x) = min(x, max_value)`` where ``x > threshold``, else
    ``negative_slope * (x - threshold)``. With the defaults (no ``max_value``, slope 0, threshold
    0) it is ``max(x, 0)``; ``ReLU(max_value=6)`` is relu6.

    Backward: ``f'(x)`` is 1 where ``threshold < x < max_value``, 0 where ``x >= max_value`` (the
    cap is a constant), and ``negative_slope`` where ``x <= threshold`` (taking the slope below at
    the kinks, as ``relu`` takes 0 at 0).
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        self.max_value = None if max_value is None else _non_negative("ReLU", "max_value", max_value)
        self.negative_slope = _non_negative("ReLU", "negative_slope", negative_slope)
        self.threshold = _non_negative("ReLU", "threshold", threshold)
        super().__init__(**kwargs)

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold}

    def forward(self, x, training=False):
        xp = backend.namespace()
        self.above = x > self.threshold
        capped = x if self.max_value is None else xp.minimum(x, self.max_value)
        if self.max_value is not None:
            self.below_cap = x < self.max_value
        return xp.where(self.above, capped, self.negative_slope * (x - self.threshold))

    def backward(self, grad_output):
        xp = backend.namespace()
        grad_above = grad_output
        if self.max_value is not None:  # flat from the cap on
            grad_above = grad_output * xp.astype(self.below_cap, grad_output.dtype)
        return xp.where(self.above, grad_above, self.negative_slope * grad_output)


class LeakyReLU(Layer):
    """Keras's ``LeakyReLU`` layer: ``f(x) = x`` for ``x > 0``, else ``negative_slope * x``.

    The layer's slope defaults to 0.3, the function's (``activation="leaky_relu"``) to 0.2, as in
    Keras 3. Backward: ``f'(x)`` is 1 for ``x > 0``, else ``negative_slope``.
    """

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:  # Keras 2's name, which Keras 3 still takes with a warning
            negative_slope = kwargs.pop("alpha")
            warnings.warn("LeakyReLU's argument alpha is deprecated: use negative_slope.", stacklevel=2)
        self.negative_slope = _non_negative("LeakyReLU", "negative_slope", negative_slope)
        super().__init__(**kwargs)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}

    def forward(self, x, training=False):
        self.positive = x > 0
        return backend.namespace().where(self.positive, x, self.negative_slope * x)

    def backward(self, grad_output):
        return backend.namespace().where(self.positive, grad_output, self.negative_slope * grad_output)
