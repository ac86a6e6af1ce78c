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

import math

from tinynet import backend
from tinynet.utils.lookup import from_function, lookup
from tinynet.utils.object_registration import get_registered_name


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
        self.logits = z  # for log_probabilities
        return a

    def log_probabilities(self):
        """``(log f(z), log(1 - f(z)))`` for the last forward, computed from ``z`` as
        ``-log(1 + exp(-z))`` and ``-log(1 + exp(z))``: finite where ``f(z)`` rounds to 0 or 1 and
        its logarithm would be infinite. Binary cross-entropy reads its value off them."""
        xp = backend.namespace()
        return -xp.logaddexp(0.0, -self.logits), -xp.logaddexp(0.0, self.logits)

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


class LeakyReLU(ActivationFunction):
    """``f(z) = z`` for ``z > 0``, else ``0.2 z``: relu with a small slope below 0, so that a unit
    whose sums are all negative still learns (Keras 3's ``leaky_relu``, ``negative_slope=0.2``)."""

    name = "leaky_relu"
    negative_slope = 0.2

    def forward(self, z):
        xp = backend.namespace()
        self.output = xp.where(z > 0, z, self.negative_slope * z)
        return self.output

    def backward(self, grad_output):
        # f'(z) = 1 for z > 0, else the slope; f(z) > 0 exactly where z > 0, so the output tells.
        return backend.namespace().where(self.output > 0, grad_output, self.negative_slope * grad_output)


class ELU(ActivationFunction):
    """``f(z) = z`` for ``z > 0``, else ``exp(z) - 1``: the exponential linear unit, smooth at 0 and
    bounded below by -1 (Keras's ``elu``, ``alpha=1``). ``SELU`` scales it."""

    name = "elu"
    alpha = 1.0
    scale = 1.0

    def forward(self, z):
        xp = backend.namespace()
        # expm1(min(z, 0)): exp(z) - 1 without losing digits near 0, and no overflow for large z
        below = self.alpha * xp.expm1(xp.minimum(z, 0.0))
        self.output = self.scale * xp.where(z > 0, z, below)
        return self.output

    def backward(self, grad_output):
        # f'(z) = scale for z > 0, else scale * alpha * exp(z) = f(z) + scale * alpha; f(z) > 0
        # exactly where z > 0, so the output is all the backward pass needs.
        xp = backend.namespace()
        a = self.output
        return xp.where(a > 0, self.scale * grad_output, grad_output * (a + self.scale * self.alpha))


class SELU(ELU):
    """``f(z) = scale * elu_alpha(z)`` with Keras's ``alpha = 1.67326324`` and ``scale = 1.05070098``:
    the scaled ELU, whose outputs keep mean 0 and variance 1 through many layers when the weights
    are drawn with ``lecun_normal``."""

    name = "selu"
    alpha = 1.67326324
    scale = 1.05070098


class Softplus(ActivationFunction):
    """``f(z) = log(1 + exp(z))``: a smooth relu, always positive."""

    name = "softplus"

    def forward(self, z):
        # logaddexp(0, z) = log(exp(0) + exp(z)), computed without overflow at large z
        self.output = backend.namespace().logaddexp(0.0, z)
        return self.output

    def backward(self, grad_output):
        # f'(z) = sigmoid(z) = 1 - 1 / (1 + exp(z)) = 1 - exp(-f(z)), read off the output.
        return grad_output * -backend.namespace().expm1(-self.output)


class Softsign(ActivationFunction):
    """``f(z) = z / (1 + |z|)``, in (-1, 1) like tanh but approaching its bounds more slowly."""

    name = "softsign"

    def forward(self, z):
        self.output = z / (1.0 + backend.namespace().abs(z))
        return self.output

    def backward(self, grad_output):
        # f'(z) = 1 / (1 + |z|)^2, and 1 / (1 + |z|) = 1 - |f(z)|.
        slope = 1.0 - backend.namespace().abs(self.output)
        return grad_output * slope * slope


class Swish(ActivationFunction):
    """``f(z) = z * sigmoid(z)``: Keras's ``swish`` (also called ``silu``), smooth and not monotonic.

    Its sigmoid is :class:`Sigmoid`'s, which rounds to 0 below about ``z = -17`` in float32, so
    ``swish(-30)`` is ``-0.0`` where the exact value is ``-2.8e-12``.
    """

    name = "swish"

    def forward(self, z):
        self.inputs = z
        self.gate = Sigmoid().forward(z)
        return z * self.gate

    def backward(self, grad_output):
        # f'(z) = s + z s (1 - s) = s (1 + z (1 - s)), with s = sigmoid(z).
        s = self.gate
        return grad_output * s * (1.0 + self.inputs * (1.0 - s))


class ReLU6(ActivationFunction):
    """``f(z) = min(max(z, 0), 6)``: relu capped at 6 (Keras's ``relu6``)."""

    name = "relu6"

    def forward(self, z):
        xp = backend.namespace()
        self.output = xp.minimum(xp.maximum(z, 0.0), 6.0)
        return self.output

    def backward(self, grad_output):
        # f'(z) is 1 where 0 < z < 6 and 0 elsewhere (0 at both kinks, as relu's); f(z) is strictly
        # between 0 and 6 exactly there, so the output tells.
        xp = backend.namespace()
        a = self.output
        return grad_output * xp.astype((a > 0) & (a < 6.0), grad_output.dtype)


class HardSigmoid(ActivationFunction):
    """``f(z) = relu6(z + 3) / 6``: 0 for ``z <= -3``, 1 for ``z >= 3``, ``z / 6 + 0.5`` between.

    A piecewise-linear sigmoid, cheap to compute: Keras 3's ``hard_sigmoid`` (Keras 2's had slope
    0.2 and reached 0 and 1 at -2.5 and 2.5).
    """

    name = "hard_sigmoid"

    def forward(self, z):
        xp = backend.namespace()
        self.output = xp.minimum(xp.maximum(z + 3.0, 0.0), 6.0) / 6.0
        return self.output

    def backward(self, grad_output):
        # f'(z) = 1/6 where -3 < z < 3, i.e. where 0 < f(z) < 1, and 0 elsewhere.
        xp = backend.namespace()
        a = self.output
        return grad_output * (xp.astype((a > 0) & (a < 1.0), grad_output.dtype) / 6.0)


class HardSilu(ActivationFunction):
    """``f(z) = z * hard_sigmoid(z)``: 0 for ``z <= -3``, ``z`` for ``z >= 3``, ``z (z + 3) / 6``
    between. Keras's ``hard_silu``, also called ``hard_swish``: swish with the cheap sigmoid."""

    name = "hard_silu"

    def forward(self, z):
        self.inputs = z
        self.gate = HardSigmoid().forward(z)
        return z * self.gate

    def backward(self, grad_output):
        # Product rule with h = hard_sigmoid: f'(z) = h(z) + z h'(z), and h'(z) = 1/6 where
        # -3 < z < 3 (0 < h < 1), else 0. So f' is 0 below -3, 1 above 3, (2 z + 3) / 6 between.
        xp = backend.namespace()
        h = self.gate
        inside = xp.astype((h > 0) & (h < 1.0), grad_output.dtype)
        return grad_output * (h + self.inputs * inside / 6.0)


class Exponential(ActivationFunction):
    """``f(z) = exp(z)`` (Keras's ``exponential``). Large ``z`` overflows to ``inf``, as in Keras."""

    name = "exponential"

    def forward(self, z):
        self.output = backend.namespace().exp(z)
        return self.output

    def backward(self, grad_output):
        # exp is its own derivative: f'(z) = f(z).
        return grad_output * self.output


class Mish(ActivationFunction):
    """``f(z) = z * tanh(softplus(z))``, with ``softplus(z) = log(1 + exp(z))``: Keras's ``mish``,
    smooth and not monotonic, like swish."""

    name = "mish"

    def forward(self, z):
        xp = backend.namespace()
        self.inputs = z
        self.softplus = xp.logaddexp(0.0, z)  # log(1 + exp(z)) without overflow
        self.gate = xp.tanh(self.softplus)
        return z * self.gate

    def backward(self, grad_output):
        # With s = softplus(z) and t = tanh(s): f'(z) = t + z (1 - t^2) s'(z), and s'(z) is
        # sigmoid(z) = 1 - exp(-s) (as in Softplus.backward).
        xp = backend.namespace()
        t = self.gate
        sigmoid_z = -xp.expm1(-self.softplus)
        return grad_output * (t + self.inputs * (1.0 - t * t) * sigmoid_z)


class GELU(ActivationFunction):
    """``f(z) = z * Phi(z) = 0.5 z (1 + erf(z / sqrt(2)))``, with ``Phi`` the standard normal
    distribution function: the Gaussian error linear unit (Hendrycks and Gimpel, 2016), Keras's
    ``gelu`` in its exact form (``approximate=False``, the default). Smooth, and not monotonic
    like swish: it dips to -0.17 near ``z = -0.75``.

    ``erf`` is :func:`tinynet.backend.erf`, tinynet's own, as NumPy and the Array API have none
    (its docstring says why). ``Phi(z)`` is computed as ``0.5 erfc(-z / sqrt(2))``, as Keras on
    TensorFlow and on JAX computes it: the same number, without the cancellation in ``1 + erf``
    that would round ``gelu(-9)`` to 0 where it is ``-1.0e-18``.
    """

    name = "gelu"

    def forward(self, z):
        self.inputs = z
        self.cdf = 0.5 * backend.erfc(z / -math.sqrt(2.0))
        return z * self.cdf

    def backward(self, grad_output):
        # Product rule: f'(z) = Phi(z) + z Phi'(z), and Phi' is the normal density
        # phi(z) = exp(-z^2 / 2) / sqrt(2 pi).
        z = self.inputs
        density = backend.namespace().exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
        return grad_output * (self.cdf + z * density)


class ApproximateGELU(ActivationFunction):
    """``f(z) = 0.5 z (1 + tanh(u))`` with ``u = sqrt(2 / pi) (z + 0.044715 z^3)``: GELU with
    ``Phi(z)`` replaced by a tanh that stays within 2e-4 of it (as in BERT and GPT-2), Keras's
    ``gelu(x, approximate=True)``.

    Keras has no name for this form: a layer gets it through a function of one's own
    (``activation=lambda x: gelu(x, approximate=True)``), which cannot be saved by name. tinynet
    has no automatic differentiation, so it needs a class: ``Dense(64, activation=ApproximateGELU())``
    (or ``activation="approximate_gelu"``, a name of tinynet's own), which ``model.save`` keeps.
    """

    name = "approximate_gelu"
    coefficient = 0.044715

    def forward(self, z):
        self.inputs = z
        u = math.sqrt(2.0 / math.pi) * (z + self.coefficient * z * z * z)
        self.gate = 0.5 * (1.0 + backend.namespace().tanh(u))
        return z * self.gate

    def backward(self, grad_output):
        # With t = tanh(u), the gate is h = (1 + t) / 2 and f = z h, so f'(z) = h + z h'(z), where
        # h'(z) = (1 - t^2) / 2 * du/dz and du/dz = sqrt(2 / pi) (1 + 3 * 0.044715 z^2).
        # 1 - t^2 = 4 h (1 - h), so the gate we kept is all the tanh we need.
        z, h = self.inputs, self.gate
        du_dz = math.sqrt(2.0 / math.pi) * (1.0 + 3.0 * self.coefficient * z * z)
        return grad_output * (h + z * 2.0 * h * (1.0 - h) * du_dz)


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
        sums = xp.sum(e, axis=0, keepdims=True)
        e /= sums
        self.output = xp.reshape(backend.contiguous_transpose(e), z.shape)
        self.shifted_logits, self.sums = columns, sums  # for log_probabilities
        return self.output

    def log_probabilities(self):
        """``log f(z)`` for the last forward, computed from ``z`` as
        ``(z_i - max z) - log(sum_j exp(z_j - max z))``: finite where ``f(z)_i`` rounds to 0 and
        its logarithm would be ``-inf``. The cross-entropies read their value off it."""
        xp = backend.namespace()
        columns = self.shifted_logits - xp.log(self.sums)
        return xp.reshape(backend.contiguous_transpose(columns), self.output.shape)

    def backward(self, grad_output):
        # da_i/dz_j = a_i * (delta_ij - a_j), so
        # dL/dz_j = sum_i g_i * a_i * (delta_ij - a_j) = a_j * (g_j - sum_i g_i * a_i).
        # (Followed by cross-entropy, this collapses to a - y: see losses.CategoricalCrossentropy.)
        xp = backend.namespace()
        a = self.output
        return a * (grad_output - xp.sum(grad_output * a, axis=-1, keepdims=True))


_ACTIVATIONS = {
    cls.name: cls
    for cls in (Linear, Sigmoid, Tanh, ReLU, LeakyReLU, ELU, SELU, Softplus, Softsign, Swish, ReLU6,
                HardSigmoid, HardSilu, Exponential, Mish, GELU, ApproximateGELU, Softmax)
}
_ACTIVATIONS["silu"] = Swish  # Keras's other names for them
_ACTIVATIONS["hard_swish"] = HardSilu


def get(identifier):
    """A fresh activation object from a name, ``None`` (linear), a function below, or an object.

    Each layer gets its own object, because an activation remembers its last output.
    """
    if identifier is None:
        return Linear()
    if isinstance(identifier, ActivationFunction):
        return type(identifier)()
    if isinstance(identifier, type) and issubclass(identifier, ActivationFunction):
        return identifier()
    if callable(identifier):
        return from_function("activation", identifier, _CLASS_OF_FUNCTION,
                             "Subclass tinynet.activations.ActivationFunction with forward(z) and "
                             "backward(grad_output), as Sigmoid does, and pass an instance.")
    return lookup("activation", identifier, _ACTIVATIONS, with_custom_objects=True)()


def serialize(activation):
    """The name :func:`get` makes ``activation`` again from: tinynet's own name (``"relu"``), or
    for a class of one's own its registered name (see ``tinynet.saving.register_keras_serializable``)."""
    if _ACTIVATIONS.get(activation.name) is type(activation):
        return activation.name
    return get_registered_name(type(activation))


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


def leaky_relu(x):
    """``x`` where ``x > 0``, else ``0.2 x``, element-wise."""
    return LeakyReLU().forward(x)


def elu(x):
    """``x`` where ``x > 0``, else ``exp(x) - 1``, element-wise."""
    return ELU().forward(x)


def selu(x):
    """``1.0507 * elu_1.6733(x)``, element-wise (see :class:`SELU`)."""
    return SELU().forward(x)


def softplus(x):
    """``log(1 + exp(x))``, element-wise."""
    return Softplus().forward(x)


def softsign(x):
    """``x / (1 + |x|)``, element-wise."""
    return Softsign().forward(x)


def swish(x):
    """``x * sigmoid(x)``, element-wise."""
    return Swish().forward(x)


silu = swish


def relu6(x):
    """``min(max(x, 0), 6)``, element-wise."""
    return ReLU6().forward(x)


def hard_sigmoid(x):
    """``relu6(x + 3) / 6``, element-wise: 0 below -3, 1 above 3, ``x / 6 + 0.5`` between."""
    return HardSigmoid().forward(x)


def hard_silu(x):
    """``x * hard_sigmoid(x)``, element-wise."""
    return HardSilu().forward(x)


hard_swish = hard_silu


def exponential(x):
    """``exp(x)``, element-wise."""
    return Exponential().forward(x)


def mish(x):
    """``x * tanh(log(1 + exp(x)))``, element-wise."""
    return Mish().forward(x)


def gelu(x, approximate=False):
    """``x * Phi(x) = 0.5 x (1 + erf(x / sqrt(2)))``, element-wise (see :class:`GELU`); with
    ``approximate=True``, ``0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))`` (see
    :class:`ApproximateGELU`)."""
    if approximate not in (True, False):
        raise TypeError(f"approximate must be True or False; got {approximate!r}.")
    return (ApproximateGELU() if approximate else GELU()).forward(x)


def softmax(x):
    """``exp(x) / sum(exp(x))`` along the last axis."""
    return Softmax().forward(x)


_CLASS_OF_FUNCTION = {
    linear: Linear, sigmoid: Sigmoid, tanh: Tanh, relu: ReLU, leaky_relu: LeakyReLU, elu: ELU, selu: SELU,
    softplus: Softplus, softsign: Softsign, swish: Swish, relu6: ReLU6, hard_sigmoid: HardSigmoid,
    hard_silu: HardSilu, exponential: Exponential, mish: Mish, gelu: GELU, softmax: Softmax,
}
