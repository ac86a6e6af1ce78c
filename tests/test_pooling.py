"""MaxPooling2D and AveragePooling2D: forward against direct loops, gradients against central
differences, the max-pooling tie rule, shapes and errors, on NumPy and on array_api_strict."""

import math

import numpy as np
import pytest

from conftest import numerical_gradient
from tinynet import backend
from tinynet.layers.pooling import AveragePooling2D, MaxPooling2D

def run_forward(layer, x):
    return backend.to_numpy(layer.forward(backend.asarray(x)))


def run_backward(layer, x, grad_output):
    layer.forward(backend.asarray(x), training=True)
    return backend.to_numpy(layer.backward(backend.asarray(grad_output)))


def direct_pooling(x, pool_size, strides, padding, reduce):
    """Each output is ``reduce`` of its window's elements inside the image, by loops over pixels."""
    (ph, pw), (sh, sw) = pool_size, strides
    n, height, width, channels = x.shape
    if padding == "same":
        out_h, out_w = math.ceil(height / sh), math.ceil(width / sw)
        top = max((out_h - 1) * sh + ph - height, 0) // 2
        left = max((out_w - 1) * sw + pw - width, 0) // 2
    else:
        out_h, out_w = (height - ph) // sh + 1, (width - pw) // sw + 1
        top = left = 0
    y = np.zeros((n, out_h, out_w, channels))
    for r in range(out_h):
        for c in range(out_w):
            rows = slice(max(r * sh - top, 0), r * sh - top + ph)  # the window, clipped to the image
            cols = slice(max(c * sw - left, 0), c * sw - left + pw)
            y[:, r, c, :] = reduce(x[:, rows, cols, :], axis=(1, 2))
    return y


CONFIGS = [  # pool_size, strides, padding: stride = pool and stride != pool (overlapping or not)
    ((2, 2), None, "valid"),
    ((2, 2), None, "same"),
    ((3, 3), (2, 2), "valid"),
    ((3, 2), (2, 1), "same"),
    ((2, 2), (3, 3), "valid"),
    ((3, 3), (1, 1), "same"),
]
LAYERS = [(MaxPooling2D, np.max), (AveragePooling2D, np.mean)]


@pytest.mark.parametrize("layer_class, reduce", LAYERS, ids=["max", "average"])
@pytest.mark.parametrize("pool_size, strides, padding", CONFIGS)
def test_forward_equals_direct_pooling(array_backend, layer_class, reduce, pool_size, strides, padding):
    x = np.random.default_rng(0).standard_normal((2, 7, 6, 3))
    layer = layer_class(pool_size, strides=strides, padding=padding)
    expected = direct_pooling(x, layer.pool_size, layer.strides, padding, reduce)
    np.testing.assert_allclose(run_forward(layer, x), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("layer_class", [MaxPooling2D, AveragePooling2D], ids=["max", "average"])
@pytest.mark.parametrize("pool_size, strides, padding", CONFIGS)
def test_gradient_matches_central_differences(float64_backend, layer_class, pool_size, strides, padding):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 7, 6, 3))  # distinct values: no ties for the maximum
    layer = layer_class(pool_size, strides=strides, padding=padding)
    upstream = rng.standard_normal(layer.compute_output_shape(x.shape))  # L = sum(y * upstream)

    def loss():
        return float(np.sum(run_forward(layer, x) * upstream))

    np.testing.assert_allclose(run_backward(layer, x, upstream), numerical_gradient(lambda _: loss(), x), rtol=1e-6, atol=1e-8)


def test_max_pooling_tie_sends_the_whole_gradient_to_the_first_maximum(array_backend):
    # Three windows of one sample: all equal; equal maxima at (0, 1) and (1, 0); one maximum.
    x = np.array([[5.0, 5.0, 1.0, 7.0, 2.0, 3.0],
                  [5.0, 5.0, 7.0, 7.0, 9.0, 0.0]]).reshape(1, 2, 6, 1)
    grad = run_backward(MaxPooling2D((2, 2)), x, np.array([2.0, 3.0, 4.0]).reshape(1, 1, 3, 1))
    expected = np.array([[2.0, 0.0, 0.0, 3.0, 0.0, 0.0],
                         [0.0, 0.0, 0.0, 0.0, 4.0, 0.0]]).reshape(1, 2, 6, 1)
    np.testing.assert_array_equal(grad, expected)


def test_max_pooling_tie_in_overlapping_windows_adds_up_at_each_windows_first_maximum(array_backend):
    # 1x4 row, windows of 3 at stride 1: [4, 4, 4] and [4, 4, 1]; both send to their first 4.
    x = np.array([4.0, 4.0, 4.0, 1.0]).reshape(1, 1, 4, 1)
    grad = run_backward(MaxPooling2D((1, 3), strides=1), x, np.array([1.0, 10.0]).reshape(1, 1, 2, 1))
    np.testing.assert_array_equal(grad.ravel(), [1.0, 10.0, 0.0, 0.0])


def test_same_average_pooling_averages_the_real_elements_only(array_backend):
    # A 3x3 image of ones: every window mean is 1 if the padding is left out of the average.
    pooled = run_forward(AveragePooling2D((2, 2), padding="same"), np.ones((1, 3, 3, 1)))
    np.testing.assert_array_equal(pooled, np.ones((1, 2, 2, 1)))


def test_same_max_pooling_never_picks_the_padding(array_backend):
    pooled = run_forward(MaxPooling2D((2, 2), padding="same"), -np.ones((1, 3, 3, 1)))
    np.testing.assert_array_equal(pooled, -np.ones((1, 2, 2, 1)))


def test_output_shapes_follow_keras():
    assert MaxPooling2D((2, 2)).compute_output_shape((None, 24, 24, 32)) == (None, 12, 12, 32)
    assert MaxPooling2D((2, 2)).compute_output_shape((None, 8, 8, 64)) == (None, 4, 4, 64)
    assert MaxPooling2D(2).compute_output_shape((None, 25, 25, 1)) == (None, 12, 12, 1)
    assert AveragePooling2D(2, padding="same").compute_output_shape((None, 25, 25, 1)) == (None, 13, 13, 1)
    assert AveragePooling2D(3, strides=1).compute_output_shape((None, 5, 6, 2)) == (None, 3, 4, 2)


def test_strides_default_to_the_pool_size():
    assert MaxPooling2D((3, 2)).strides == (3, 2)
    assert AveragePooling2D(3, strides=1).strides == (1, 1)


def test_pooling_has_no_weights(array_backend):
    layer = MaxPooling2D()
    layer.build((None, 4, 4, 2))
    assert layer.count_params() == 0 and layer.params == [] and layer.grads == []


@pytest.mark.parametrize("layer_class", [MaxPooling2D, AveragePooling2D])
@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"pool_size": 0}, ValueError, "pool_size"),
        ({"pool_size": (2, 2, 2)}, ValueError, "pool_size"),
        ({"strides": (1, 0)}, ValueError, "strides"),
        ({"padding": "vaild"}, ValueError, "Did you mean 'valid'"),
    ],
)
def test_bad_arguments_get_clear_errors(layer_class, kwargs, error, words):
    with pytest.raises(error, match=words):
        layer_class(**kwargs)


def test_flat_input_suggests_a_reshape():
    with pytest.raises(ValueError, match=r"MaxPooling2D.*4-D input.*reshape\(-1, 28, 28, 1\)"):
        MaxPooling2D().build((None, 28, 28))


def test_window_larger_than_the_input_is_refused_with_valid_padding():
    with pytest.raises(ValueError, match="3x3 window does not fit in the 2x2 input"):
        AveragePooling2D(3).build((None, 2, 2, 1))
