"""Conv2D: forward against a direct nested-loop convolution, gradients against central differences,
shapes of the book's network, and clear errors, on NumPy and on array_api_strict."""

import math

import numpy as np
import pytest

from conftest import numerical_gradient
from tinynet import backend
from tinynet.layers import Dense, Flatten
from tinynet.layers.convolutional import Conv2D, pad_images, windows_from_slices
from tinynet.layers.pooling import MaxPooling2D
from tinynet.models import Sequential
from tinynet.utils import set_random_seed

def run_forward(layer, x):
    return backend.to_numpy(layer.forward(backend.asarray(x)))


def same_padding(length, window, stride):
    """(before, after) padding of TensorFlow's 'same': ceil(length / stride) outputs, odd line after."""
    out = math.ceil(length / stride)
    total = max((out - 1) * stride + window - length, 0)
    return total // 2, total - total // 2


def direct_convolution(x, kernel, bias, strides, padding):
    """z[n, y, x, f] = b[f] + sum_{i,j,c} xpad[n, s_h*y + i, s_w*x + j, c] * K[i, j, c, f], by loops."""
    kh, kw, _, filters = kernel.shape
    if padding == "same":
        x = np.pad(x, ((0, 0), same_padding(x.shape[1], kh, strides[0]),
                       same_padding(x.shape[2], kw, strides[1]), (0, 0)))
    n, height, width, channels = x.shape
    out_h = (height - kh) // strides[0] + 1
    out_w = (width - kw) // strides[1] + 1
    z = np.zeros((n, out_h, out_w, filters))
    for s in range(n):
        for y in range(out_h):
            for x_ in range(out_w):
                for f in range(filters):
                    total = bias[f]
                    for i in range(kh):
                        for j in range(kw):
                            for c in range(channels):
                                total += x[s, strides[0] * y + i, strides[1] * x_ + j, c] * kernel[i, j, c, f]
                    z[s, y, x_, f] = total
    return z


CONFIGS = [  # kernel_size, strides, padding
    ((3, 3), (1, 1), "valid"),
    ((3, 2), (2, 2), "valid"),
    ((2, 3), (1, 2), "same"),
    ((3, 3), (2, 2), "same"),
    ((4, 4), (2, 1), "same"),
    (1, 1, "valid"),
]


@pytest.mark.parametrize("channels", [3, 1])  # im2col stores the matrix in another order for 1
@pytest.mark.parametrize("kernel_size, strides, padding", CONFIGS)
def test_forward_equals_direct_convolution(array_backend, kernel_size, strides, padding, channels):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 7, 6, channels))
    layer = Conv2D(4, kernel_size, strides=strides, padding=padding)
    layer.build((None, 7, 6, channels))
    kernel = rng.standard_normal(layer.kernel.shape)
    bias = rng.standard_normal(4)
    layer.set_weights([kernel, bias])
    expected = direct_convolution(x, kernel, bias, layer.strides, padding)
    np.testing.assert_allclose(run_forward(layer, x), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kernel_size, strides, padding", CONFIGS)
def test_windows_from_slices_equal_the_strided_view(kernel_size, strides, padding):
    """im2col's two ways to the windows, the strided view (NumPy, CuPy) and slices (array_api_strict)."""
    layer = Conv2D(4, kernel_size, strides=strides, padding=padding)
    layer.build((None, 7, 6, 3))
    xpad, _ = pad_images(np.random.default_rng(0).standard_normal((2, 7, 6, 3)), layer.kernel_size, layer.strides, padding)
    size = layer.output_shape[1:3]
    np.testing.assert_array_equal(
        windows_from_slices(xpad, layer.kernel_size, layer.strides, size),
        backend.window_view(xpad, layer.kernel_size, layer.strides, size),
    )


def test_forward_reads_inputs_of_any_memory_layout():
    """The strided view follows the input's own strides: Fortran order and reversed views give the
    convolution of the numbers they show, not of the memory behind them."""
    rng = np.random.default_rng(1)
    layer = Conv2D(2, (3, 2), strides=(2, 1))
    layer.build((None, 7, 6, 3))
    kernel, bias = layer.get_weights()
    x = rng.standard_normal((2, 7, 6, 3)).astype(np.float32)
    columns_first = rng.standard_normal((2, 6, 7, 3)).astype(np.float32).transpose(0, 2, 1, 3)
    for shown in (np.asfortranarray(x), x[:, ::-1, ::-1, :], columns_first):
        assert not shown.flags.c_contiguous
        expected = direct_convolution(shown, kernel, bias, layer.strides, "valid")
        np.testing.assert_allclose(layer.forward(shown), expected, rtol=1e-5, atol=1e-5)


def test_same_padding_puts_the_odd_line_at_the_bottom_right(array_backend):
    # A 2x2 kernel over a 3x3 image needs one line of padding per axis; TensorFlow adds it after.
    # So output (2, 2) sees only x[2, 2] (its window hangs over the bottom-right border) and
    # output (0, 0) sees the full top-left window.
    x = np.arange(1.0, 10.0).reshape(1, 3, 3, 1)
    layer = Conv2D(1, 2, padding="same", use_bias=False, kernel_initializer="ones")
    z = layer(x)[0, :, :, 0]
    assert z[2, 2] == 9.0
    assert z[0, 0] == 1 + 2 + 4 + 5
    assert z[0, 2] == 3 + 6


def test_activation_is_applied_to_the_convolution(array_backend):
    x = np.random.default_rng(1).standard_normal((2, 5, 5, 2))
    plain = Conv2D(3, 3)
    plain.build((None, 5, 5, 2))
    with_relu = Conv2D(3, 3, activation="relu")
    with_relu.build((None, 5, 5, 2))
    with_relu.set_weights(plain.get_weights())
    np.testing.assert_allclose(run_forward(with_relu, x), np.maximum(run_forward(plain, x), 0), rtol=1e-6)


GRADIENT_CONFIGS = [  # kernel_size, strides, padding, use_bias, activation
    ((3, 2), (1, 1), "valid", True, None),
    ((3, 3), (2, 2), "valid", False, None),
    ((2, 3), (1, 1), "same", True, None),
    ((3, 3), (2, 2), "same", True, "tanh"),
    ((3, 2), (2, 1), "same", False, "tanh"),
]


@pytest.mark.parametrize("channels", [3, 1])
@pytest.mark.parametrize("kernel_size, strides, padding, use_bias, activation", GRADIENT_CONFIGS)
def test_gradients_match_central_differences(float64_backend, kernel_size, strides, padding, use_bias, activation,
                                             channels):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 6, 5, channels))  # non-square
    layer = Conv2D(2, kernel_size, strides=strides, padding=padding, use_bias=use_bias,
                   activation=activation, bias_initializer="random_normal")
    layer.build((None, 6, 5, channels))
    weights = layer.get_weights()
    upstream = rng.standard_normal(layer.compute_output_shape(x.shape))  # L = sum(y * upstream)

    def loss():
        layer.set_weights(weights)
        return float(np.sum(run_forward(layer, x) * upstream))

    layer.forward(backend.asarray(x), training=True)
    grad_x = backend.to_numpy(layer.backward(backend.asarray(upstream)))
    grads = [backend.to_numpy(g) for g in layer.grads]

    np.testing.assert_allclose(grad_x, numerical_gradient(lambda _: loss(), x), rtol=1e-6, atol=1e-8)
    assert len(grads) == len(weights) == (2 if use_bias else 1)
    for analytic, weight in zip(grads, weights):
        np.testing.assert_allclose(analytic, numerical_gradient(lambda _: loss(), weight), rtol=1e-6, atol=1e-8)


def test_first_layer_skips_the_input_gradient_but_fills_the_weight_gradients(array_backend):
    x = np.random.default_rng(3).standard_normal((2, 5, 5, 1))
    layer = Conv2D(2, 3)
    layer.build((None, 5, 5, 1))
    layer.input_gradient_needed = False
    layer.forward(backend.asarray(x), training=True)
    assert layer.backward(backend.asarray(np.ones((2, 3, 3, 2)))) is None
    # With dL/dy = 1, dL/db_f counts the output pixels and dL/dK[i, j, 0, f] sums x over the windows.
    np.testing.assert_allclose(backend.to_numpy(layer.grads[1]), [2 * 9, 2 * 9])
    np.testing.assert_allclose(backend.to_numpy(layer.grads[0])[1, 2, 0, 0], x[:, 1:4, 2:5, 0].sum(), rtol=1e-5)


def test_backward_from_logits_skips_the_activation(array_backend):
    x = np.random.default_rng(4).standard_normal((1, 4, 4, 1))
    layer = Conv2D(1, 2, activation="relu")
    layer.build((None, 4, 4, 1))
    layer.forward(backend.asarray(x), training=True)
    ones = backend.asarray(np.ones((1, 3, 3, 1)))
    through_logits = backend.to_numpy(layer.backward_from_logits(ones))
    # Without the relu every output pixel passes gradient 1: each input element receives the sum
    # of the kernel weights that touch it; the corner element only K[0, 0].
    kernel = layer.get_weights()[0][:, :, 0, 0]
    assert through_logits[0, 0, 0, 0] == pytest.approx(kernel[0, 0], rel=1e-6)
    assert through_logits[0, 1, 1, 0] == pytest.approx(kernel.sum(), rel=1e-5)


def books_network():
    return Sequential([
        Conv2D(32, (5, 5), activation="relu", input_shape=(28, 28, 1)),
        MaxPooling2D((2, 2)),
        Conv2D(64, (5, 5), activation="relu"),
        MaxPooling2D((2, 2)),
        Flatten(),
        Dense(10, activation="softmax"),
    ])


def test_the_books_network_has_the_books_shapes_and_62346_parameters():
    model = books_network()
    shape = (None, 28, 28, 1)
    shapes = []
    for layer in model.layers:
        shape = layer.compute_output_shape(shape)
        shapes.append(shape)
    assert shapes[:4] == [(None, 24, 24, 32), (None, 12, 12, 32), (None, 8, 8, 64), (None, 4, 4, 64)]
    assert [layer.count_params() for layer in model.layers] == [832, 0, 51264, 0, 0, 10250]
    assert model.layers[0].kernel.shape == (5, 5, 1, 32)  # Keras's kernel layout
    assert model.layers[2].kernel.shape == (5, 5, 32, 64)
    lines = []
    model.summary(print_fn=lines.append)
    assert "Total params: 62,346" in lines
    assert any("(Conv2D)" in line and "(None, 8, 8, 64)" in line and "51264" in line for line in lines)


def test_output_shapes_follow_keras():
    def shape(input_hw, kernel, strides, padding):
        return Conv2D(8, kernel, strides=strides, padding=padding).compute_output_shape((None, *input_hw, 3))

    assert shape((28, 28), 5, 1, "valid") == (None, 24, 24, 8)
    assert shape((28, 27), 5, 2, "valid") == (None, 12, 12, 8)  # floor((L - k) / s) + 1
    assert shape((28, 27), 5, 2, "same") == (None, 14, 14, 8)  # ceil(L / s)
    assert shape((7, 5), (3, 1), (1, 3), "same") == (None, 7, 2, 8)


def test_int_and_tuple_arguments_are_the_same():
    a = Conv2D(4, 3, strides=2)
    b = Conv2D(4, (3, 3), strides=[2, 2])
    assert a.kernel_size == b.kernel_size == (3, 3)
    assert a.strides == b.strides == (2, 2)


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"filters": 0, "kernel_size": 3}, ValueError, "filters"),
        ({"filters": 2.5, "kernel_size": 3}, TypeError, "filters"),
        ({"filters": 4, "kernel_size": (3, 3, 3)}, ValueError, "kernel_size"),
        ({"filters": 4, "kernel_size": 0}, ValueError, "kernel_size"),
        ({"filters": 4, "kernel_size": 3, "strides": -1}, ValueError, "strides"),
        ({"filters": 4, "kernel_size": 3, "padding": "sme"}, ValueError, "Did you mean 'same'"),
        ({"filters": 4, "kernel_size": 3, "activation": "relux"}, ValueError, "relu"),
    ],
)
def test_bad_arguments_get_clear_errors(kwargs, error, words):
    with pytest.raises(error, match=words):
        Conv2D(**kwargs)


def test_flat_input_suggests_a_reshape_and_creates_no_weights():
    layer = Conv2D(4, 3)
    with pytest.raises(ValueError, match=r"4-D input.*\(None, 784\).*reshape\(-1, 28, 28, 1\)"):
        layer.build((None, 784))
    assert layer.params == [] and not layer.built


def test_kernel_larger_than_the_input_is_refused_with_valid_padding():
    layer = Conv2D(4, 5)
    with pytest.raises(ValueError, match="5x5 window does not fit in the 3x4 input"):
        layer.build((None, 3, 4, 1))
    assert layer.params == []
    assert Conv2D(4, 5, padding="same").compute_output_shape((None, 3, 4, 1)) == (None, 3, 4, 4)


def test_a_batch_with_other_channels_than_built_for_is_refused(array_backend):
    layer = Conv2D(4, 3)
    layer.build((None, 8, 8, 3))
    with pytest.raises(ValueError, match="built for 3 input channel.*with 1"):
        layer.forward(backend.asarray(np.zeros((2, 8, 8, 1))))


def test_a_small_cnn_learns_to_tell_vertical_from_horizontal_bars(array_backend):
    rng = np.random.default_rng(5)
    images = rng.uniform(0, 0.2, (200, 8, 8, 1))
    labels = rng.integers(0, 2, 200)
    for image, label, line in zip(images, labels, rng.integers(1, 7, 200)):
        if label:
            image[:, line, 0] = 1.0  # a vertical bar
        else:
            image[line, :, 0] = 1.0  # a horizontal bar
    set_random_seed(0)
    model = Sequential([
        Conv2D(4, (3, 3), activation="relu", input_shape=(8, 8, 1)),
        MaxPooling2D((2, 2)),
        Flatten(),
        Dense(2, activation="softmax"),
    ])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    targets = np.eye(2)[labels]
    model.fit(images, targets, batch_size=20, epochs=30, verbose=0)
    assert model.evaluate(images, targets, verbose=0)[1] > 0.95
