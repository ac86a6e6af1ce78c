"""tinynet.check_gradients: small errors for correct models, large ones for a broken backward pass,
and the user's model left exactly as it was."""

import re

import numpy as np
import pytest

import tinynet
from tinynet import activations, backend
from tinynet.gradient_check import TOLERANCE
from tinynet.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from tinynet.models import Sequential
from tinynet.random import generator
from tinynet.utils import set_random_seed

# The check copies the weights to float64 on the active backend, so it runs wherever float64 exists.
BACKENDS = [("numpy", None), ("array_api_strict", "CPU_DEVICE"), ("array_api_strict", "device1")]



@pytest.fixture(autouse=True)
def rng():
    """The same weights and data in every run of a test, whichever tests run before it: a relu
    input that a step of epsilon moves across 0 (a kink) would make a correct model look wrong."""
    set_random_seed(0)
    return np.random.default_rng(42)


@pytest.fixture(params=BACKENDS, ids=lambda p: p[0] if p[1] is None else f"strict-{p[1]}")
def any_backend(request):
    with backend.use_backend(*request.param):
        yield


def tutorial_model(loss="categorical_crossentropy", units=6, features=12):
    """The tutorial's shape at a small size: sigmoid hidden units, softmax outputs."""
    model = Sequential(
        [
            Dense(units, activation="sigmoid", input_shape=(features,), bias_initializer="random_normal"),
            Dense(4, activation="softmax", bias_initializer="random_normal"),
        ]
    )
    model.compile(loss=loss, optimizer="sgd", metrics=["accuracy"])
    return model


def small_cnn(dropout=False):
    layers = [
        Conv2D(3, (3, 3), activation="relu", input_shape=(8, 8, 1), bias_initializer="random_normal"),
        MaxPooling2D((2, 2)),
        Flatten(),
        *([Dropout(0.5)] if dropout else []),
        Dense(4, activation="softmax"),
    ]
    model = Sequential(layers)
    model.compile(loss="categorical_crossentropy", optimizer="sgd")
    return model


def run_check(model, x, y, **options):
    """Call check_gradients, capturing its table; returns (worst, lines, rows).

    ``rows`` maps ``(layer name, weight name)`` to ``(entries checked, relative error)``.
    """
    lines = []
    worst = tinynet.check_gradients(model, x, y, print_fn=lines.append, **options)
    rows, layer = {}, None
    rules = [index for index, line in enumerate(lines) if line.startswith("=")]
    for line in lines[rules[0] + 1 : rules[1]]:
        fields = re.split(r"\s{2,}", line.strip())  # columns are at least two spaces apart
        if len(fields) == 5:  # the first weight of a layer: "dense_1 (Dense)  kernel  (12, 6)  72  1.2e-10"
            layer = fields.pop(0).split()[0]
        if len(fields) == 4:
            rows[layer, fields[0]] = (fields[2], float(fields[3]))
    return worst, lines, rows


def one_hot(labels, classes=4):
    return np.eye(classes)[labels]


# --- correct models -------------------------------------------------------------------------------


def test_the_tutorial_model_passes_with_a_row_per_weight(any_backend, rng):
    model = tutorial_model()
    x, y = rng.random((8, 12)), one_hot(rng.integers(0, 4, 8))
    worst, lines, rows = run_check(model, x, y)
    first, second = (layer.name for layer in model.layers)
    assert set(rows) == {(first, "kernel"), (first, "bias"), (second, "kernel"), (second, "bias")}
    assert rows[first, "kernel"][0] == "72"  # 12 x 6 entries, all checked
    assert all(error < TOLERANCE for _, error in rows.values())
    assert worst == pytest.approx(max(error for _, error in rows.values()), rel=0.01)
    assert worst < TOLERANCE
    assert "agrees" in lines[-1]


@pytest.mark.parametrize(
    "loss, labels",
    [("mean_squared_error", "one_hot"), ("sparse_categorical_crossentropy", "indices")],
)
def test_losses_without_the_fused_gradient_and_integer_labels(loss, labels, rng):
    model = tutorial_model(loss=loss)
    indices = rng.integers(0, 4, 6)
    y = one_hot(indices) if labels == "one_hot" else indices
    worst, _, _ = run_check(model, rng.random((6, 12)), y)
    assert worst < TOLERANCE


def test_the_cnn_passes_and_layers_without_weights_are_listed(any_backend, rng):
    model = small_cnn(dropout=True)
    x, y = rng.normal(size=(2, 8, 8, 1)), one_hot([1, 3])
    random_state = generator().bit_generator.state
    worst, lines, rows = run_check(model, x, y)  # in training mode: the same dropout mask every time
    assert worst < TOLERANCE
    assert generator().bit_generator.state == random_state
    conv, pool, flatten, dropout, dense = (layer.name for layer in model.layers)
    assert set(rows) == {(conv, "kernel"), (conv, "bias"), (dense, "kernel"), (dense, "bias")}
    for name in (pool, flatten, dropout):
        (line,) = [line for line in lines if line.startswith(name)]
        assert line.endswith("no weights")


def test_entries_per_weight_checks_a_sample_and_says_so(rng):
    model = small_cnn()
    x, y = rng.normal(size=(2, 8, 8, 1)), one_hot([0, 2])
    worst, lines, rows = run_check(model, x, y, entries_per_weight=5)
    conv, dense = model.layers[0].name, model.layers[-1].name
    assert rows[conv, "kernel"][0] == "5 of 27"
    assert rows[dense, "kernel"][0] == "5 of 108"  # 3x3x3 pooled features x 4 units
    assert rows[dense, "bias"][0] == "4"  # smaller than the sample: all checked
    assert any("Only 5 random entries" in line for line in lines)
    assert worst < TOLERANCE


# --- broken backward passes -----------------------------------------------------------------------


def test_a_broken_activation_derivative_is_caught_in_the_layer_below(monkeypatch, rng):
    # A classic mistake: the sigmoid's derivative without its (1 - a) factor.
    monkeypatch.setattr(activations.Sigmoid, "backward", lambda self, grad: grad * self.output)
    model = tutorial_model()
    worst, lines, rows = run_check(model, rng.random((8, 12)), one_hot(rng.integers(0, 4, 8)))
    first, second = (layer.name for layer in model.layers)
    assert worst > 1e-2
    assert rows[first, "kernel"][1] > 1e-2 and rows[first, "bias"][1] > 1e-2
    # The softmax layer's own gradients do not go through the sigmoid's backward: still right.
    assert rows[second, "kernel"][1] < TOLERANCE and rows[second, "bias"][1] < TOLERANCE
    assert "wrong" in lines[-1] and first in lines[-1]


def test_a_broken_pooling_backward_is_caught_in_the_convolution(monkeypatch, rng):
    # Sending dL/dy to every element of the window instead of to its maximum alone.
    def spread_everywhere(self, grad_output):
        xp = backend.namespace()
        grad_padded = xp.zeros_like(self.padded_inputs)
        for offset in [(i, j) for i in range(self.pool_size[0]) for j in range(self.pool_size[1])]:
            grad_padded[self.shifted(offset)] += grad_output
        return grad_padded

    monkeypatch.setattr(MaxPooling2D, "backward", spread_everywhere)
    model = small_cnn()
    worst, _, rows = run_check(model, rng.normal(size=(2, 8, 8, 1)), one_hot([1, 2]))
    conv, dense = model.layers[0].name, model.layers[-1].name
    assert rows[conv, "kernel"][1] > 1e-2
    assert rows[dense, "kernel"][1] < TOLERANCE
    assert worst == pytest.approx(max(error for _, error in rows.values()), rel=0.01)


# --- the user's model is left alone ---------------------------------------------------------------


def test_the_model_its_precision_and_the_random_numbers_are_unchanged(rng):
    model = tutorial_model()
    x, y = rng.random((8, 12)).astype("float32"), one_hot(rng.integers(0, 4, 8))
    activation_objects = [layer.activation for layer in model.layers]
    model.fit(x, y, epochs=1, verbose=0)  # so the layers hold a forward pass's state
    # What the last forward pass left in the layers and their activations.
    inputs_seen = model.layers[1].inputs
    outputs_seen = [layer.activation.output for layer in model.layers]
    weights = model.get_weights()
    random_state = generator().bit_generator.state

    run_check(model, x, y)

    assert backend.floatx() == "float32"
    assert generator().bit_generator.state == random_state
    for before, after in zip(weights, model.get_weights()):
        assert after.dtype == np.float32
        np.testing.assert_array_equal(before, after)
    assert [layer.activation for layer in model.layers] == activation_objects
    assert model.layers[1].inputs is inputs_seen
    assert all(layer.activation.output is seen for layer, seen in zip(model.layers, outputs_seen))
    assert all(backend.dtype_name(grad) == "float32" for grad in model._grads())


def test_bad_arguments_are_refused_before_anything_changes(rng):
    model = tutorial_model()
    x, y = rng.random((4, 12)), one_hot([0, 1, 2, 3])
    uncompiled = Sequential([Dense(4, input_shape=(12,))])
    with pytest.raises(ValueError, match="compile the model before checking its gradients"):
        tinynet.check_gradients(uncompiled, x, y)
    with pytest.raises(ValueError, match=r"epsilon, the step .* must be in \(0, 1\); got 0"):
        tinynet.check_gradients(model, x, y, epsilon=0)
    with pytest.raises(ValueError, match="entries_per_weight must be a positive integer or None; got 0"):
        tinynet.check_gradients(model, x, y, entries_per_weight=0)
    with pytest.raises(ValueError, match="12"):
        tinynet.check_gradients(model, rng.random((4, 7)), y)
    assert backend.floatx() == "float32"
