"""Convolution: ``Conv2D``, the layer that slides small learned filters over an image.

Images are channels-last, as in Keras: a batch has shape ``(n, height, width, channels)``.
A ``Conv2D`` with ``filters`` filters of size ``kh x kw`` has a kernel ``K`` of shape
``(kh, kw, channels, filters)`` (Keras's layout, so weights are exchangeable) and computes,
for each sample, output row ``y``, output column ``x`` and filter ``f``::

    z[y, x, f] = b[f] + sum_{i, j, c} xpad[s_h * y + i, s_w * x + j, c] * K[i, j, c, f]

where ``xpad`` is the input with its border padding and ``(s_h, s_w)`` are the strides; the
output is ``activation(z)``.

**Output size and padding** (as Keras and TensorFlow compute them), for an input length ``L``,
a window ``k`` and a stride ``s``:

* ``padding="valid"``: no padding, only windows that fit: ``out = floor((L - k) / s) + 1``;
* ``padding="same"``: ``out = ceil(L / s)``, and the input gets ``max((out - 1) * s + k - L, 0)``
  lines of padding, half before and half after, the odd one after (at the bottom / right).

**im2col.** Instead of looping over pixels, we copy every window the kernel visits into one row
of a matrix ``cols``; the whole convolution is then one matrix product ``cols @ K``, the
operation BLAS (and a GPU) does fastest. The helpers here are shared with the pooling layers.
"""

import numbers

from tinynet import activations, backend, constraints, initializers, regularizers
from tinynet.layers.base import Layer, check_positive_int, column_sums, weight_configs
from tinynet.utils.lookup import lookup

PADDINGS = {"valid": "valid", "same": "same"}


# --- window geometry, shared with the pooling layers ---------------------------------------------


def normalize_pair(name, value):
    """``3`` or ``(3, 3)`` as the pair ``(3, 3)`` of positive integers (kernel sizes, strides...)."""
    pair = (value, value) if isinstance(value, numbers.Integral) and not isinstance(value, bool) else value
    if isinstance(pair, list):
        pair = tuple(pair)
    if not isinstance(pair, tuple) or len(pair) != 2:
        raise ValueError(f"{name} must be an integer or a tuple of 2 integers, such as (2, 2); got {value!r}.")
    return tuple(check_positive_int(name, v) for v in pair)


def normalize_padding(padding):
    """``"valid"`` or ``"same"`` (any case), with a suggestion for a misspelt name."""
    return lookup("padding", padding, PADDINGS)


def output_length(length, window, stride, padding):
    """How many windows fit along one axis of ``length`` (see the module docstring)."""
    if padding == "same":
        return -(-length // stride)  # ceil(length / stride)
    return (length - window) // stride + 1


def padding_amounts(length, window, stride, padding):
    """``(before, after)``: the lines of padding on each side of one axis; the odd one goes after."""
    if padding == "valid":
        return 0, 0
    total = max((output_length(length, window, stride, padding) - 1) * stride + window - length, 0)
    return total // 2, total - total // 2


def check_image_shape(layer, shape):
    """Raise a clear error unless ``shape`` is a 4-D image batch shape ``(n, rows, cols, channels)``."""
    if len(shape) != 4:
        raise ValueError(
            f"{type(layer).__name__} layer {layer.name!r} expects 4-D input (samples, rows, cols, "
            f"channels); got shape {tuple(shape)}. Reshape the images to add a channel axis, e.g. "
            f"x.reshape(-1, 28, 28, 1) for MNIST."
        )


def image_output_size(layer, input_shape, window, strides, padding):
    """``(out_h, out_w)`` for an image batch shape, with an error when the window does not fit."""
    check_image_shape(layer, input_shape)
    height, width = input_shape[1], input_shape[2]
    if padding == "valid" and (height < window[0] or width < window[1]):
        raise ValueError(
            f"{type(layer).__name__} layer {layer.name!r}: its {window[0]}x{window[1]} window does "
            f"not fit in the {height}x{width} input with padding='valid'. Use padding='same', a "
            f"smaller window, or fewer layers that shrink the image before it."
        )
    return (
        output_length(height, window[0], strides[0], padding),
        output_length(width, window[1], strides[1], padding),
    )


def pad_images(x, window, strides, padding, value=0.0):
    """``x`` (n, H, W, C) with the rows and columns of ``value`` that ``padding`` adds around it.

    Returns the padded batch and the ``(top, left)`` padding, to crop the gradient back later.
    """
    top, bottom = padding_amounts(x.shape[1], window[0], strides[0], padding)
    left, right = padding_amounts(x.shape[2], window[1], strides[1], padding)
    if top == bottom == left == right == 0:
        return x, (0, 0)
    n, height, width, channels = x.shape
    padded = backend.full((n, top + height + bottom, left + width + right, channels), value, x.dtype)
    padded[:, top:top + height, left:left + width, :] = x
    return padded, (top, left)


def crop(x, top_left, size):
    """The ``size = (H, W)`` block of ``x`` (n, H', W', C) that starts at ``top_left``: undoes padding."""
    (top, left), (height, width) = top_left, size
    return x[:, top:top + height, left:left + width, :]


# --- im2col and col2im --------------------------------------------------------------------------


def im2col(xpad, window, strides, output_size):
    """Copy every window of ``xpad`` into one row: ``(n, H, W, C)`` -> ``(n*out_h*out_w, kh*kw*C)``.

    One sample, one channel, a 4x4 input and a 2x2 kernel at stride 1 (3x3 outputs)::

        a b c d      cols = [ a b e f ]   <- the window under output (0, 0)
        e f g h             [ b c f g ]   <- output (0, 1)
        i j k l             [   ...   ]      one row per output pixel, 9 in all
        m n o p

    Each row holds its window's numbers in the order ``(i, j, c)`` (row, column and channel inside
    the window), the order of the kernel ``(kh, kw, C, filters)`` reshaped to ``(kh*kw*C, filters)``;
    the rows come in the order of the output ``(n, out_h, out_w)``, so ``cols @ K`` reshapes to the
    channels-last output with no transpose.

    The windows ``(n, out_h, out_w, kh, kw, C)`` are first a view of ``xpad`` that copies nothing
    (:func:`tinynet.backend.window_view`), and the final reshape copies them into rows once: 1.6x to
    2x as fast on NumPy as building them from slices, which is how :func:`windows_from_slices`
    makes the same array where the backend has no such views.

    The matrix is the same either way, but for an image of one channel (the book's first layer) it
    is stored column after column: a copy runs fastest along neighbouring numbers, and a window row
    holds only ``kw`` of them, where column ``(i, j)`` (one window offset, every output pixel) holds
    runs of ``out_w`` (column ``(0, 0)`` of the example is ``a b c e f g i j k``, runs of 3). For
    the book's 28x28 images on NumPy that copy is 3.5x as fast and ``cols^T g`` (dL/dW) 1.5x as
    fast, ``cols @ W`` 15% slower: the epoch of the book's CNN takes 9% less time.
    """
    xp = backend.namespace()
    (kh, kw), (out_h, out_w) = window, output_size
    windows = backend.window_view(xpad, window, strides, output_size)
    if windows is None:
        windows = windows_from_slices(xpad, window, strides, output_size)
    shape = (xpad.shape[0] * out_h * out_w, kh * kw * xpad.shape[3])
    if xpad.shape[3] == 1:
        columns = xp.permute_dims(windows, (3, 4, 5, 0, 1, 2))
        return xp.reshape(columns, shape[::-1]).T
    return xp.reshape(windows, shape)


def windows_from_slices(xpad, window, strides, output_size):
    """The windows of :func:`im2col`, ``(n, out_h, out_w, kh, kw, C)``, built with slices in two
    steps, never a loop over pixels or samples (in the example of :func:`im2col`):

    1. for each column offset ``j`` of the window, the input columns ``j, j + s_w, ...`` (one
       slice), stacked into ``(n, H, out_w, kw, C)``: in row 0, ``[[a b] [b c] [c d]]``, each
       output column with the row of its window;
    2. for each row offset ``i``, the rows ``i, i + s_h, ...`` of that, stacked into
       ``(n, out_h, out_w, kh, kw, C)``: output (0, 0) now holds ``[[a b] [e f]]``, its window.

    That is ``kh + kw`` slices rather than one per window offset (``kh * kw``), and step 2 copies
    runs of ``kw * C`` neighbouring numbers at a time.
    """
    xp = backend.namespace()
    (kh, kw), (s_h, s_w), (out_h, out_w) = window, strides, output_size
    rows = xp.stack([xpad[:, :, j:j + s_w * (out_w - 1) + 1:s_w, :] for j in range(kw)], axis=3)
    return xp.stack([rows[:, i:i + s_h * (out_h - 1) + 1:s_h, ...] for i in range(kh)], axis=3)


def col2im(grad_cols, padded_shape, window, strides, output_size):
    """The adjoint of :func:`im2col`: add each row of ``grad_cols`` back onto the window it came from.

    Returns an array of ``padded_shape`` holding, at every input element, the sum of the
    gradients of all the copies im2col made of it (an element lies in up to ``kh * kw`` windows
    when they overlap). The two steps of im2col are undone in reverse order: each slice that
    copied now adds.
    """
    xp = backend.namespace()
    (kh, kw), (s_h, s_w), (out_h, out_w) = window, strides, output_size
    n, height, width, channels = padded_shape
    grad_windows = xp.reshape(grad_cols, (n, out_h, out_w, kh, kw, channels))
    grad_rows = backend.full((n, height, out_w, kw, channels), 0.0, grad_cols.dtype)
    for i in range(kh):
        grad_rows[:, i:i + s_h * (out_h - 1) + 1:s_h, ...] += grad_windows[:, :, :, i, :, :]
    grad_padded = backend.full(padded_shape, 0.0, grad_cols.dtype)
    for j in range(kw):
        grad_padded[:, :, j:j + s_w * (out_w - 1) + 1:s_w, :] += grad_rows[:, :, :, j, :]
    return grad_padded


# --- the layer ----------------------------------------------------------------------------------


class Conv2D(Layer):
    """A 2-D convolution layer: ``filters`` learned ``kh x kw`` filters slid over the image.

    ``Conv2D(32, (5, 5), activation="relu", input_shape=(28, 28, 1))`` maps a batch
    ``(n, 28, 28, 1)`` to ``(n, 24, 24, 32)`` and has ``5*5*1*32 + 32 = 832`` parameters.

    Forward, with ``cols`` from :func:`im2col` (one row per output pixel ``p``) and the kernel
    reshaped to ``W`` of shape ``(kh*kw*C, filters)``: ``z = cols @ W + b``, reshaped to
    ``(n, out_h, out_w, filters)``.

    Backward, writing ``g = dL/dz`` reshaped to ``(n*out_h*out_w, filters)``, exactly as in Dense:

    * ``z_pf = sum_q cols_pq W_qf + b_f``, so ``dL/dW = cols^T g``, reshaped to the kernel's shape;
    * ``dL/db_f = sum_p g_pf``: the column sums of ``g`` (every pixel uses the same bias);
    * ``dL/dcols = g W^T``. Each entry of ``cols`` is a copy of one input element
      (``cols[p, (i, j, c)] = xpad[n, s_h*y + i, s_w*x + j, c]`` for output pixel ``p = (n, y, x)``),
      so ``dL/dxpad`` at an element is the sum of ``dL/dcols`` over all its copies: that is
      :func:`col2im`. Cropping the padding off gives ``dL/dx``.
    """

    def __init__(
        self,
        filters,
        kernel_size,
        strides=(1, 1),
        padding="valid",
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
        filters = check_positive_int("Conv2D filters", filters)
        kernel_size = normalize_pair("Conv2D kernel_size", kernel_size)
        strides = normalize_pair("Conv2D strides", strides)
        padding = normalize_padding(padding)
        activation = activations.get(activation)
        kernel_initializer = initializers.get(kernel_initializer)
        bias_initializer = initializers.get(bias_initializer)
        kernel_regularizer = regularizers.get(kernel_regularizer)
        bias_regularizer = regularizers.get(bias_regularizer)
        kernel_constraint = constraints.get(kernel_constraint)
        bias_constraint = constraints.get(bias_constraint)
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.strides, self.padding = filters, kernel_size, strides, padding
        self.activation = activation
        self.use_bias = use_bias
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = kernel_regularizer
        self.bias_regularizer = bias_regularizer
        self.kernel_constraint = kernel_constraint
        self.bias_constraint = bias_constraint

    def build(self, input_shape):
        self.compute_output_shape(input_shape)  # checks the shape before any weight exists
        kernel_shape = (*self.kernel_size, input_shape[-1], self.filters)
        self.kernel = self.add_weight(kernel_shape, self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = (self.add_weight((self.filters,), self.bias_initializer, regularizer=self.bias_regularizer,
                                     constraint=self.bias_constraint)
                     if self.use_bias else None)
        super().build(input_shape)

    def compute_output_shape(self, input_shape):
        out_h, out_w = image_output_size(self, input_shape, self.kernel_size, self.strides, self.padding)
        return (input_shape[0], out_h, out_w, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                **weight_configs(self)}

    def numbers_per_sample(self):
        """The im2col matrix (one row of ``kh*kw*C`` numbers per output pixel) dominates."""
        _, out_h, out_w, _ = self.output_shape
        return out_h * out_w * (self.kernel_size[0] * self.kernel_size[1] * self.input_shape[-1] + self.filters)

    def forward(self, x, training=False):
        xp = backend.namespace()
        self._check_batch(x)
        out_h, out_w, _ = self.compute_output_shape(tuple(x.shape))[1:]
        xpad, self.padding_top_left = pad_images(x, self.kernel_size, self.strides, self.padding)
        # Kept for backward: cols for dL/dW, the shapes to rebuild dL/dx.
        self.input_size = tuple(x.shape[1:3])
        self.padded_shape = tuple(xpad.shape)
        self.cols = im2col(xpad, self.kernel_size, self.strides, (out_h, out_w))
        z = self.cols @ xp.reshape(self.kernel, (-1, self.filters))
        if self.use_bias:
            z += self.bias  # z is a new array: adding in place saves a copy
        return self.activation.forward(xp.reshape(z, (x.shape[0], out_h, out_w, self.filters)))

    def backward(self, grad_output):
        return self.backward_from_logits(self.activation.backward(grad_output))

    def backward_from_logits(self, grad_z):
        """The backward pass from ``dL/dz``, the gradient before the activation (see the class)."""
        xp = backend.namespace()
        output_size = tuple(grad_z.shape[1:3])
        g = xp.reshape(grad_z, (-1, self.filters))
        self.grads[0] = xp.reshape(self.cols.T @ g, self.kernel.shape)
        if self.use_bias:
            self.grads[1] = column_sums(g)
        if not self.input_gradient_needed:
            return None
        grad_cols = g @ xp.reshape(self.kernel, (-1, self.filters)).T
        grad_padded = col2im(grad_cols, self.padded_shape, self.kernel_size, self.strides, output_size)
        return crop(grad_padded, self.padding_top_left, self.input_size)

    def _check_batch(self, x):
        check_image_shape(self, x.shape)
        channels = self.kernel.shape[2]
        if x.shape[3] != channels:
            raise ValueError(
                f"Conv2D layer {self.name!r} was built for {channels} input channel(s); got a batch "
                f"of shape {tuple(x.shape)} with {x.shape[3]}."
            )
