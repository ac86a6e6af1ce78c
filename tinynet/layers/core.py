"""The core layers: Dense, Activation, Dropout, Flatten, and Input, which declares a model's input."""

import numbers

from tinynet import activations, backend, constraints, initializers, regularizers
from tinynet.random import generator
from tinynet.layers.base import Layer, check_positive_int, column_sums, weight_configs


class InputLayer(Layer):
    """Declares the shape of a model's input: ``Sequential([Input(shape=(784,)), Dense(10)])``.

    Keras 3's way of writing ``Dense(10, input_shape=(784,))``: the model takes the shape from it
    and builds its layers at once. It has no weights and does nothing to the data, so a Sequential
    model does not keep it among its layers (as in Keras).
    """

    def __init__(self, shape, name=None):
        super().__init__(name=name, input_shape=shape)


def Input(shape, name=None):
    """Keras's ``Input(shape=...)``: an :class:`InputLayer` for ``Sequential``."""
    return InputLayer(shape, name=name)


class Dense(Layer):
    """A fully connected layer: ``y = f(x W + b)``.

    ``x`` is a batch of shape ``(n, d)``, the kernel ``W`` has shape ``(d, units)`` (as in Keras,
    so weights are exchangeable), the bias ``b`` has ``units`` numbers, and ``f`` is the activation.
    It has ``d * units + units`` parameters: 784 * 10 + 10 = 7850 in the tutorial's first layer.

    Backward, writing ``z = x W + b`` and ``g = dL/dz`` (one row per sample):

    * ``z_ij = sum_k x_ik W_kj + b_j``, so ``dL/dW_kj = sum_i x_ik g_ij``: ``dL/dW = x^T g``;
    * ``dL/db_j = sum_i g_ij``: the column sums of ``g``;
    * ``dL/dx_ik = sum_j g_ij W_kj``: ``dL/dx = g W^T``.

    The batch mean of the loss is already inside ``g`` (the loss divides by ``n``), so these sums
    are gradients of the mean loss.
    """

    def __init__(
        self,
        units,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        # Arguments first, so that a mistake does not use up a name (dense_1, dense_2...).
        self.units = check_positive_int("Dense units", units)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        super().__init__(**kwargs)

    def build(self, input_shape):
        self.compute_output_shape(input_shape)  # checks the shape before any weight exists
        # Stored column after column, each unit's weights together, as PyTorch stores them: BLAS
        # multiplies a batch by a narrow kernel (10 units) 1.3x-1.5x faster in that layout, and
        # wide ones about as fast as row after row.
        self.kernel = self.add_weight(
            (input_shape[-1], self.units), self.kernel_initializer, column_major=True,
            regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
        )
        self.bias = (self.add_weight((self.units,), self.bias_initializer, regularizer=self.bias_regularizer,
                                     constraint=self.bias_constraint)
                     if self.use_bias else None)
        super().build(input_shape)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                **weight_configs(self)}

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(
                f"Dense layer {self.name!r} expects 2-D input (samples, features); got shape "
                f"{tuple(input_shape)}. Add a Flatten() layer before it, or reshape the data, "
                f"e.g. x.reshape(len(x), -1)."
            )
        return (input_shape[0], self.units)

    def forward(self, x, training=False):
        self.inputs = x  # kept for dL/dW = x^T g
        z = x @ self.kernel
        if self.use_bias:
            z += self.bias  # z is a new array: adding in place saves a copy
        return self.activation.forward(z)

    def backward(self, grad_output):
        return self.backward_from_logits(self.activation.backward(grad_output))

    def backward_from_logits(self, grad_z):
        """The backward pass from ``dL/dz``, the gradient before the activation (see the class)."""
        # (g^T x)^T is x^T g, computed so that it comes out in the kernel's column-major layout
        # (the optimizer's update then runs on two arrays laid out alike).
        self.grads[0] = (grad_z.T @ self.inputs).T
        if self.use_bias:
            self.grads[1] = column_sums(grad_z)
        if self.input_gradient_needed:
            return grad_z @ self.kernel.T
        return None


class Activation(Layer):
    """Applies an activation function on its own: ``Activation('relu')``. It has no weights."""

    def __init__(self, activation, **kwargs):
        self.activation = activations.get(activation)
        super().__init__(**kwargs)

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}

    def forward(self, x, training=False):
        return self.activation.forward(x)

    def backward(self, grad_output):
        return self.activation.backward(grad_output)

    def backward_from_logits(self, grad_z):
        """The backward pass from ``dL/dz``, the gradient before the activation: ``z`` is this
        layer's input, so that is ``dL/dx`` already (used when a loss fuses with the activation)."""
        return grad_z


class Dropout(Layer):
    """Sets a random ``rate`` share of its inputs to 0 while training, against overfitting.

    Inverted dropout: the kept inputs are divided by ``1 - rate``, so the expected output equals
    the input and nothing needs rescaling at test time, when the layer passes ``x`` through.
    With the mask ``m`` (``1 / (1 - rate)`` where kept, 0 where dropped), ``y = x * m`` and so
    ``dL/dx = dL/dy * m``.
    """

    def __init__(self, rate, **kwargs):
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 <= rate < 1:
            raise ValueError(f"Dropout rate must be a number in [0, 1); got {rate!r}.")
        self.rate = float(rate)
        super().__init__(**kwargs)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}

    def forward(self, x, training=False):
        if not training or self.rate == 0:
            self.mask = None
            return x
        keep = backend.random_uniform(tuple(x.shape), generator()) >= self.rate
        xp = backend.namespace()
        self.mask = xp.astype(keep, x.dtype) / (1.0 - self.rate)
        return x * self.mask

    def backward(self, grad_output):
        return grad_output if self.mask is None else grad_output * self.mask


class Flatten(Layer):
    """Turns each sample into one row: ``(n, 28, 28, 1)`` becomes ``(n, 784)``.

    Backward only undoes the reshape: the same numbers, in the input's shape.
    """

    def compute_output_shape(self, input_shape):
        size = 1
        for length in input_shape[1:]:
            size *= length
        return (input_shape[0], size)

    def forward(self, x, training=False):
        self.input_batch_shape = tuple(x.shape)
        return backend.namespace().reshape(x, (x.shape[0], -1))

    def backward(self, grad_output):
        return backend.namespace().reshape(grad_output, self.input_batch_shape)
