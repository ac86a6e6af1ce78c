"""Activation functions: what a layer applies to its weighted sum ``z`` to give its output ``a``.

Each activation is a small class with a ``forward`` (``a = f(z)``, remembering what the backward
pass needs) and a ``backward`` (``dL/dz`` from ``dL/da``), like scikit-learn's table of
activations and their derivatives. Layers take them by name::

    Dense(10, activation="sigmoid")

and the plain functions (``tinynet.activations.sigmoid(x)`` ...) compute ``f`` on an array, as
Keras's do.

Writing ``g = dL/da`` (the gradient arriving from above), the chain rule gives
``dL/dz = g * f'(z)`` for the element-wise functions, and for softmax, whose outputs all depend
on all inputs, ``dL/dz = a * (g - sum(g * a))`` (derived in :class:`Softmax`).
"""

from tinynet import backend
from tinynet.utils.lookup import lookup


class ActivationFunction:
    """Base class: ``forward(z)`` returns ``f(z)``; ``backward(g)`` returns ``g * f'(z)``."""

    name = None

    def forward(self, z):
        raise NotImplementedError

    def backward(self, grad_output):
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}()"


class Linear(ActivationFunction):
    """``f(z) = z``. Its derivative is 1, so the gradient passes through unchanged."""

    name = "linear"

    def forward(self, z):
        return z

    def backward(self, grad_output):
        return grad_output


class Sigmoid(ActivationFunction):
    """``f(z) = 1 / (1 + exp(-z))``, squashing any number into (0, 1).

    Computed as ``0.5 + 0.5 * tanh(z / 2)``, the same function written so that no ``exp``
    overflows: at ``z = -1000`` the textbook form computes ``exp(1000)``.
    """

    name = "sigmoid"

    def forward(self, z):
        a = backend.namespace().tanh(0.5 * z)
        a *= 0.5  # in place: a is a new array, and no further copy is needed
        a += 0.5
        self.output = a
        return a

    def backward(self, grad_output):
        # f'(z) = f(z) * (1 - f(z)): the derivative needs only the output we kept. The products
        # go in place into the one new array (1 - a) rather than making two more.
        a = self.output
        grad_z = 1.0 - a
        grad_z *= a
        grad_z *= grad_output
        return grad_z


class Tanh(ActivationFunction):
    """``f(z) = tanh(z) = (exp(z) - exp(-z)) / (exp(z) + exp(-z))``, in (-1, 1)."""

    name = "tanh"

    def forward(self, z):
        self.output = backend.namespace().tanh(z)
        return self.output

    def backward(self, grad_output):
        # d tanh(z)/dz = 1 - tanh(z)^2
        a = self.output
        return grad_output * (1.0 - a * a)


class ReLU(ActivationFunction):
    """``f(z) = max(z, 0)``, the rectified linear unit."""

    name = "relu"

    def forward(self, z):
        self.output = backend.namespace().maximum(z, 0.0)
        return self.output

    def backward(self, grad_output):
        # f'(z) is 1 where z > 0 and 0 elsewhere (we take 0 at z = 0, as Keras does). Multiplying
        # by that 0/1 mask is several times faster than choosing with `where`.
        xp = backend.namespace()
        return grad_output * xp.astype(self.output > 0, grad_output.dtype)


class Softmax(ActivationFunction):
    """``f(z)_i = exp(z_i) / sum_j exp(z_j)`` along the last axis: a probability distribution.

    Subtracting ``max(z)`` first changes nothing (it cancels between top and bottom) but keeps
    every ``exp`` at most 1, so large ``z`` cannot overflow.
    """

    name = "softmax"

    def forward(self, z):
        xp = backend.namespace()
        # Worked on transposed, one column per row of z: a reduction across the 10 rows of a
        # (classes, samples) array is a few long vectorised passes, 3-6 times faster on NumPy
        # than the same reduction along each short row of z, one row after another.
        columns = backend.contiguous_transpose(xp.reshape(z, (-1, z.shape[-1])))
        columns -= xp.max(columns, axis=0, keepdims=True)
        e = xp.exp(columns)
        e /= xp.sum(e, axis=0, keepdims=True)
        self.output = xp.reshape(backend.contiguous_transpose(e), z.shape)
        return self.output

    def backward(self, grad_output):
        # da_i/dz_j = a_i * (delta_ij - a_j), so
        # dL/dz_j = sum_i g_i * a_i * (delta_ij - a_j) = a_j * (g_j - sum_i g_i * a_i).
        # (Followed by cross-entropy, this collapses to a - y: see losses.CategoricalCrossentropy.)
        xp = backend.namespace()
        a = self.output
        return a * (grad_output - xp.sum(grad_output * a, axis=-1, keepdims=True))


_ACTIVATIONS = {cls.name: cls for cls in (Linear, Sigmoid, Tanh, ReLU, Softmax)}


def get(identifier):
    """A fresh activation object from a name, ``None`` (linear), a function below, or an object.

    Each layer gets its own object, because an activation remembers its last output.
    """
    if identifier is None:
        return Linear()
    if isinstance(identifier, ActivationFunction):
        return type(identifier)()
    if callable(identifier) and getattr(identifier, "__name__", None) in _ACTIVATIONS:
        return _ACTIVATIONS[identifier.__name__]()
    return lookup("activation", identifier, _ACTIVATIONS)()


# The functions Keras offers in keras.activations, computed on an array of the active backend.


def linear(x):
    """``x`` unchanged."""
    return x


def sigmoid(x):
    """``1 / (1 + exp(-x))``, element-wise."""
    return Sigmoid().forward(x)


def tanh(x):
    """``tanh(x)``, element-wise."""
    return Tanh().forward(x)


def relu(x):
    """``max(x, 0)``, element-wise."""
    return ReLU().forward(x)


def softmax(x):
    """``exp(x) / sum(exp(x))`` along the last axis."""
    return Softmax().forward(x)
