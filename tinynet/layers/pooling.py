"""Pooling: ``MaxPooling2D`` and ``AveragePooling2D`` shrink an image by summarising small windows.

A pooling layer slides a ``ph x pw`` window over each channel of a channels-last batch
``(n, height, width, channels)`` with strides ``(s_h, s_w)`` (by default the window size, so the
windows tile the image) and keeps one number per window: its maximum or its mean. It has no
weights. Output sizes and ``"same"`` padding follow Keras exactly as for ``Conv2D`` (see
:mod:`tinynet.layers.convolutional`): ``MaxPooling2D((2, 2))`` maps ``(n, 24, 24, 32)`` to
``(n, 12, 12, 32)``.

Both layers loop over the ``ph * pw`` offsets of the window, never over pixels: offset ``(i, j)``
picks, with one slice, the element at that place in every window at once, an array shaped like
the output. The maximum (or sum) of those picks is the output. (Where the windows tile the image,
a reshape to ``(n, H/2, 2, W/2, 2, C)`` and a maximum over axes 2 and 4 gives the same result,
but on NumPy it takes twice as long as these four slices.)
"""

import functools
import operator

from tinynet import backend
from tinynet.layers.base import Layer
from tinynet.layers.convolutional import (
    check_image_shape,
    crop,
    image_output_size,
    normalize_pair,
    normalize_padding,
    pad_images,
)


def window_offsets(window):
    """The offsets ``(i, j)`` inside a ``kh x kw`` window, row by row: (0, 0), (0, 1), ..."""
    return [(i, j) for i in range(window[0]) for j in range(window[1])]


def shifted_index(offset, strides, output_size):
    """The index that picks, for every output pixel, the input element at ``offset`` in its window.

    ``xpad[shifted_index((i, j), ...)]`` has shape ``(n, out_h, out_w, C)``: element ``[:, y, x, :]``
    is ``xpad[:, s_h * y + i, s_w * x + j, :]``. Plain slicing, so a view and no copy.
    """
    (i, j), (s_h, s_w), (out_h, out_w) = offset, strides, output_size
    return (
        slice(None),
        slice(i, i + s_h * (out_h - 1) + 1, s_h),
        slice(j, j + s_w * (out_w - 1) + 1, s_w),
        slice(None),
    )


class Pooling2D(Layer):
    """What both pooling layers share: arguments, shapes, padding and the windows' offsets.

    ``padding_value`` fills the border that ``padding="same"`` adds; subclasses define
    ``pool(picks)`` and ``backward``.
    """

    padding_value = 0.0

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", **kwargs):
        kind = type(self).__name__
        pool_size = normalize_pair(f"{kind} pool_size", pool_size)
        strides = pool_size if strides is None else normalize_pair(f"{kind} strides", strides)
        padding = normalize_padding(padding)
        super().__init__(**kwargs)
        self.pool_size, self.strides, self.padding = pool_size, strides, padding

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "strides": self.strides,
                "padding": self.padding}

    def compute_output_shape(self, input_shape):
        out_h, out_w = image_output_size(self, input_shape, self.pool_size, self.strides, self.padding)
        return (input_shape[0], out_h, out_w, input_shape[3])

    def forward(self, x, training=False):
        check_image_shape(self, x.shape)
        self.output_size = self.compute_output_shape(tuple(x.shape))[1:3]
        self.input_size = tuple(x.shape[1:3])
        self.padded_inputs, self.padding_top_left = pad_images(
            x, self.pool_size, self.strides, self.padding, value=self.padding_value
        )
        return self.pool(self.picks(self.padded_inputs))

    def picks(self, xpad):
        """For each offset ``(i, j)`` of the window, the element there in every window: ``(n, out_h, out_w, C)``."""
        return [xpad[self.shifted(offset)] for offset in window_offsets(self.pool_size)]

    def shifted(self, offset):
        """:func:`shifted_index` for this layer's strides and last output size."""
        return shifted_index(offset, self.strides, self.output_size)

    def pool(self, picks):
        raise NotImplementedError


class MaxPooling2D(Pooling2D):
    """Keeps the largest number of each window: ``y = max_{i, j} xpad[s_h*y + i, s_w*x + j]``.

    ``padding="same"`` pads with ``-inf``, so the padding is never the maximum.

    Backward: ``y`` depends on one element of its window, the maximum, with slope 1, so the
    whole ``dL/dy`` goes to that element and nothing to the others. When several elements tie
    for the maximum, the first one (row by row, as ``argmax`` counts) gets it all, as in
    Keras/TensorFlow. Where windows overlap (``strides < pool_size``) an element can be the
    maximum of several windows and receives the sum of their gradients.
    """

    padding_value = float("-inf")

    def pool(self, picks):
        self.output = functools.reduce(backend.namespace().maximum, picks)
        return self.output  # kept to find the maxima again in backward

    def backward(self, grad_output):
        xp = backend.namespace()
        grad_padded = xp.zeros_like(self.padded_inputs)
        # Visit the offsets in order; the first one holding its window's maximum claims the
        # window's gradient, so later ties get 0. (Multiplying by a 0/1 mask is much faster than
        # where: these are the network's largest arrays.)
        unclaimed = backend.full(tuple(self.output.shape), True, xp.bool)
        # Windows that do not overlap (strides >= pool size, the usual case) share no element, so
        # each element receives from one offset at most and assigning, which reads nothing back, is
        # enough.
        overlapping = any(s < p for s, p in zip(self.strides, self.pool_size))
        for offset, pick in zip(window_offsets(self.pool_size), self.picks(self.padded_inputs)):
            claims = (pick == self.output) & unclaimed
            unclaimed &= ~claims
            sent = xp.astype(claims, grad_output.dtype)  # 1 where this offset sends, else 0
            sent *= grad_output
            if overlapping:
                grad_padded[self.shifted(offset)] += sent
            else:
                grad_padded[self.shifted(offset)] = sent
        return crop(grad_padded, self.padding_top_left, self.input_size)


class AveragePooling2D(Pooling2D):
    """Keeps the mean of each window: ``y = (1 / m) sum_{i, j} xpad[s_h*y + i, s_w*x + j]``.

    ``m`` counts the window's elements that are inside the image: with ``padding="same"`` a
    window that overlaps the border averages its real elements only, as TensorFlow does.

    Backward: each of the ``m`` real elements of a window has slope ``1 / m``, so each receives
    ``dL/dy / m``; overlapping windows add up.
    """

    def forward(self, x, training=False):
        total = super().forward(x, training)
        # m for every window: the same sum over an image of ones, whose padding counts 0.
        ones = backend.namespace().ones_like(x[:1, :, :, :1])
        ones_padded, _ = pad_images(ones, self.pool_size, self.strides, self.padding)
        self.counts = functools.reduce(operator.add, self.picks(ones_padded))  # (1, out_h, out_w, 1)
        return total / self.counts

    def pool(self, picks):
        return functools.reduce(operator.add, picks)  # the sum; forward divides it by m

    def backward(self, grad_output):
        xp = backend.namespace()
        share = grad_output / self.counts
        grad_padded = xp.zeros_like(self.padded_inputs)
        for offset in window_offsets(self.pool_size):
            grad_padded[self.shifted(offset)] += share
        return crop(grad_padded, self.padding_top_left, self.input_size)
