"""Constraints: their projections, applied after every update as Keras applies them (Keras's
numbers), names, saving and mistakes."""

import numpy as np
import pytest

# The data and the starting weights of the Keras runs in test_regularizers.
from test_regularizers import WEIGHTS, X, Y

import tinynet
from tinynet import backend, constraints
from tinynet.constraints import MaxNorm, MinMaxNorm, NonNeg, UnitNorm
from tinynet.layers import BatchNormalization, Conv2D, Dense, Flatten, Input
from tinynet.models import Sequential, load_model
from tinynet.optimizers import SGD

# Keras 3.15 (TensorFlow), the model of constrained_model() with WEIGHTS, SGD(0.5): two
# train_on_batch calls, and the weights after them.
KERAS_LOSSES = [0.6897732019424438, 0.7742452025413513]
KERAS_WEIGHTS = [
    [[0.3152848482131958, -0.280691921710968, 0.2597600519657135],
     [0.13283206522464752, 0.4073936641216278, -0.07598138600587845],
     [-0.43813610076904297, 0.095736563205719, 0.4294600188732147]],
    [0.10573912411928177, 0.003469090908765793, 0.07765285670757294],
    [[0.3160162568092346, -0.1563187539577484], [0.15998198091983795, 0.31911060214042664],
     [-0.5776883959770203, 0.1784445345401764]],
    [0.7071065902709961, -0.7071067690849304],
]


def constrained_model():
    model = Sequential([
        Input((3,)),
        Dense(3, activation="tanh", kernel_constraint=MaxNorm(0.6), bias_constraint=NonNeg()),
        Dense(2, activation="softmax", kernel_constraint=MinMaxNorm(0.5, 0.7, rate=0.5, axis=[0, 1]),
              bias_constraint=UnitNorm()),
    ])
    model.set_weights(WEIGHTS)
    model.compile(loss="categorical_crossentropy", optimizer=SGD(0.5))
    return model


def test_training_gives_keras_numbers():
    model = constrained_model()
    losses = [float(model.train_on_batch(X, Y)) for _ in range(2)]
    np.testing.assert_allclose(losses, KERAS_LOSSES, rtol=1e-6)
    for got, keras in zip(model.get_weights(), KERAS_WEIGHTS, strict=True):
        np.testing.assert_allclose(got, keras, rtol=1e-5, atol=1e-7)


def norms(w, axis):
    return np.sqrt(np.sum(w.astype(np.float64) ** 2, axis=axis, keepdims=True))


@pytest.mark.parametrize("axis", [0, (0, 1, 2)])
def test_the_projections_formulas(array_backend, axis):
    w = np.random.default_rng(0).normal(size=(3, 3, 2, 4)).astype(np.float32) * 2

    def projected(constraint):
        return backend.to_numpy(constraint(backend.asarray(w)))

    n = norms(w, axis)
    np.testing.assert_allclose(projected(MaxNorm(1.5, axis=axis)), w * np.minimum(n, 1.5) / (1e-7 + n), rtol=1e-6)
    np.testing.assert_allclose(projected(MinMaxNorm(1.0, 2.0, rate=0.3, axis=axis)),
                               w * (0.3 * np.clip(n, 1.0, 2.0) + 0.7 * n) / (1e-7 + n), rtol=1e-6)
    np.testing.assert_allclose(norms(projected(UnitNorm(axis=axis)), axis), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(projected(NonNeg()), np.maximum(w, 0))


def test_fit_keeps_every_unit_within_its_max_norm():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 8)).astype(np.float32) * 3
    y = np.eye(2, dtype=np.float32)[(x[:, 0] > 0).astype(int)]
    tinynet.utils.set_random_seed(0)
    model = Sequential([Dense(16, activation="relu", input_shape=(8,), kernel_constraint="max_norm",
                              kernel_initializer="random_normal"),
                        Dense(2, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer=SGD(1.0))
    before = model.get_weights()[0]
    model.fit(x, y, epochs=5, batch_size=10, verbose=0)
    kernel = model.get_weights()[0]
    assert norms(before, 0).max() < 2 and norms(kernel, 0).max() > 1.99  # the default max_value, reached
    assert norms(kernel, 0).max() <= 2 + 1e-6


def test_a_frozen_layer_is_left_alone():
    model = constrained_model()
    model.layers[0].trainable = False
    first = model.get_weights()[:2]  # a bias with a negative entry, which NonNeg would set to 0
    model.fit(X, Y, epochs=1, verbose=0)
    for got, expected in zip(model.get_weights()[:2], first):
        np.testing.assert_array_equal(got, expected)


def test_saving_keeps_the_constraints(tmp_path):
    model = Sequential([
        Conv2D(2, 3, input_shape=(5, 5, 1), kernel_constraint=MaxNorm(3, axis=(0, 1, 2)), bias_constraint="non_neg"),
        BatchNormalization(gamma_constraint=UnitNorm()),
        Flatten(),
        Dense(2, activation="softmax", kernel_constraint=MinMaxNorm(0.1, 0.9)),
    ])
    model.compile(loss="categorical_crossentropy", optimizer="sgd")
    model.save(tmp_path / "model.npz")
    conv, normalization, _, dense = load_model(tmp_path / "model.npz").layers
    assert repr(conv.kernel_constraint) == "MaxNorm(max_value=3.0, axis=(0, 1, 2))"
    assert repr(conv.bias_constraint) == "NonNeg()"
    assert repr(normalization.gamma_constraint) == "UnitNorm(axis=0)" and normalization.beta_constraint is None
    assert repr(dense.kernel_constraint) == "MinMaxNorm(min_value=0.1, max_value=0.9, rate=1.0, axis=0)"


@pytest.mark.parametrize("name, cls", [("max_norm", MaxNorm), ("MaxNorm", MaxNorm), ("non_neg", NonNeg),
                                       ("unit_norm", UnitNorm), ("MinMaxNorm", MinMaxNorm)])
def test_names(name, cls):
    assert type(constraints.get(name)) is cls
    assert constraints.max_norm is MaxNorm  # Keras's lower-case aliases of the classes


@pytest.mark.parametrize("make, words", [
    (lambda: Dense(3, kernel_constraint="max_nrom"), ("Unknown constraint 'max_nrom'", "Did you mean 'max_norm'?")),
    (lambda: MaxNorm(-1), ("max_value must be a finite number >= 0", "-1")),
    (lambda: MinMaxNorm(2.0, 1.0), ("min_value must not exceed max_value", "2.0 > 1.0")),
    (lambda: MinMaxNorm(rate=1.5), ("rate must be a number in [0, 1]", "1.5")),
    (lambda: UnitNorm(axis=0.5), ("axis must be an integer or a tuple of integers", "0.5")),
    (lambda: Dense(3, bias_constraint=lambda w: w), ("as an object, not the function", "subclass tinynet.constraints.Constraint")),
])
def test_bad_constraints_get_a_clear_error(make, words):
    with pytest.raises((ValueError, TypeError)) as error:
        make()
    for word in words:
        assert word in str(error.value)
