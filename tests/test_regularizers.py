"""Regularizers: their penalties and gradients, the loss fit and evaluate report with them (Keras's
numbers), what they do to the weights, names, saving and mistakes."""

import numpy as np
import pytest
from conftest import assert_gradients_close, numerical_gradient

import tinynet
from tinynet import backend, regularizers
from tinynet.layers import BatchNormalization, Conv2D, Dense, Flatten, Input
from tinynet.models import Sequential, load_model
from tinynet.optimizers import SGD
from tinynet.regularizers import L1, L1L2, L2

X = np.array([[1.0, 2.0, -1.0], [3.0, 0.0, 0.5], [-2.0, 1.0, 4.0], [0.5, -1.0, 2.0]], np.float32)
Y = np.eye(2, dtype=np.float32)[[0, 1, 1, 0]]
WEIGHTS = [
    np.array([[0.5, -0.3, 0.2], [0.2, 0.4, -0.1], [-0.6, 0.1, 0.3]], np.float32),
    np.array([0.1, -0.2, 0.05], np.float32),
    np.array([[0.5, -0.3], [0.2, 0.4], [-0.6, 0.1]], np.float32),
    np.array([0.1, -0.1], np.float32),
]

# Keras 3.15 (TensorFlow), the model of regularized_model() with WEIGHTS, SGD(0.5): model.losses,
# evaluate, two train_on_batch calls, the weights after them, evaluate again (also with sample
# weights 1, 2, 0, 1), and model.losses once the first layer is frozen.
KERAS_PENALTIES = [0.10500001162290573, 0.017500001937150955, 0.03920000046491623]
KERAS_EVALUATE_BEFORE = 0.8514732122421265
KERAS_TRAINING_LOSSES = [0.8514732122421265, 0.7792359590530396]
KERAS_WEIGHTS_AFTER = [
    [[0.3458048, -0.23931664, 0.20713323], [0.1295693, 0.32725105, -0.0800516], [-0.4138108, 0.06912702, 0.30245492]],
    [0.0780395, -0.17067675, -0.02035663],
    [[0.3439905, -0.15191054], [0.18015629, 0.37628374], [-0.61046267, 0.13026263]],
    [0.11756297, -0.11756302],
]
KERAS_EVALUATE_AFTER = 0.7348419427871704
KERAS_WEIGHTED_EVALUATE_AFTER = 0.8521374464035034
KERAS_FROZEN_PENALTIES = [0.03203236311674118]


def regularized_model():
    model = Sequential([
        Input((3,)),
        Dense(3, activation="tanh", kernel_regularizer=L2(0.1), bias_regularizer=L1(0.05)),
        Dense(2, activation="softmax", kernel_regularizer=L1L2(0.01, 0.02)),
    ])
    model.set_weights(WEIGHTS)
    model.compile(loss="categorical_crossentropy", optimizer=SGD(0.5))
    return model


def test_the_loss_and_the_training_give_keras_numbers():
    model = regularized_model()
    np.testing.assert_allclose([float(p) for p in model.losses], KERAS_PENALTIES, rtol=1e-6)
    np.testing.assert_allclose(model.evaluate(X, Y, verbose=0), KERAS_EVALUATE_BEFORE, rtol=1e-6)
    losses = [float(model.train_on_batch(X, Y)) for _ in range(2)]
    np.testing.assert_allclose(losses, KERAS_TRAINING_LOSSES, rtol=1e-6)
    for got, keras in zip(model.get_weights(), KERAS_WEIGHTS_AFTER, strict=True):
        np.testing.assert_allclose(got, keras, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(model.evaluate(X, Y, verbose=0), KERAS_EVALUATE_AFTER, rtol=1e-6)
    weighted = model.evaluate(X, Y, sample_weight=np.array([1.0, 2.0, 0.0, 1.0]), verbose=0)
    np.testing.assert_allclose(weighted, KERAS_WEIGHTED_EVALUATE_AFTER, rtol=1e-6)
    model.layers[0].trainable = False
    np.testing.assert_allclose([float(p) for p in model.losses], KERAS_FROZEN_PENALTIES, rtol=1e-6)


def test_fit_reports_the_penalty_of_the_weights_before_each_update():
    model = regularized_model()
    penalty_before = float(sum(model.losses))
    data_loss = unregularized_copy(model).evaluate(X, Y, verbose=0)
    history = model.fit(X, Y, epochs=1, batch_size=4, verbose=0)
    np.testing.assert_allclose(history.history["loss"], [data_loss + penalty_before], rtol=1e-6)


def unregularized_copy(model):
    copy = Sequential([Input((3,)), Dense(3, activation="tanh"), Dense(2, activation="softmax")])
    copy.set_weights(model.get_weights())
    copy.compile(loss="categorical_crossentropy")
    return copy


@pytest.mark.parametrize("regularizer", [L1(0.3), L2(0.7), L1L2(0.2, 0.5)], ids=repr)
def test_penalty_gradients(float64_backend, regularizer):
    w = np.random.default_rng(0).normal(size=(4, 3))
    w[np.abs(w) < 1e-3] = 0.5  # away from L1's kink at 0
    analytic = backend.to_numpy(regularizer.gradient(backend.asarray(w)))
    numeric = numerical_gradient(lambda values: float(backend.to_numpy(regularizer(backend.asarray(values)))),
                                 w.copy())
    assert_gradients_close(analytic, numeric)


def test_the_penalties_formulas():
    w = backend.asarray(np.array([[1.0, -2.0], [0.0, 3.0]], np.float32))
    assert float(L1(0.5)(w)) == pytest.approx(0.5 * 6)
    assert float(L2(0.5)(w)) == pytest.approx(0.5 * 14)
    assert float(L1L2(0.5, 0.25)(w)) == pytest.approx(0.5 * 6 + 0.25 * 14)
    np.testing.assert_array_equal(backend.to_numpy(L1(0.5).gradient(w)), [[0.5, -0.5], [0.0, 0.5]])


def test_every_regularized_weight_passes_the_gradient_check():
    tinynet.utils.set_random_seed(0)
    model = Sequential([
        Conv2D(2, 3, activation="tanh", input_shape=(5, 5, 1), kernel_regularizer="l2", bias_regularizer=L1(0.1)),
        BatchNormalization(gamma_regularizer=L2(0.2), beta_regularizer="l1"),
        Flatten(),
        Dense(3, activation="softmax", kernel_regularizer=L1L2(0.01, 0.03), bias_initializer="random_normal"),
    ])
    model.compile(loss="categorical_crossentropy", optimizer="sgd")
    x = np.random.default_rng(1).normal(size=(4, 5, 5, 1))
    y = np.eye(3)[[0, 2, 1, 2]]
    lines = []
    assert tinynet.check_gradients(model, x, y, print_fn=lines.append) < tinynet.gradient_check.TOLERANCE
    assert len(model.losses) == 5


def test_l2_keeps_the_weights_small():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 20)).astype(np.float32)
    y = np.eye(2, dtype=np.float32)[(x[:, 0] > 0).astype(int)]
    norms = {}
    for factor in (0.0, 0.05):
        tinynet.utils.set_random_seed(0)
        model = Sequential([Dense(2, activation="softmax", input_shape=(20,), kernel_regularizer=L2(factor))])
        model.compile(loss="categorical_crossentropy", optimizer=SGD(0.5), metrics=["accuracy"])
        model.fit(x, y, epochs=20, batch_size=20, verbose=0)
        norms[factor] = np.linalg.norm(model.get_weights()[0])
        assert model.evaluate(x, y, verbose=0)[1] > 0.95  # both learn the rule
    assert norms[0.05] < 0.5 * norms[0.0]


@pytest.mark.parametrize("name, expected", [
    ("l1", L1(0.01)), ("L2", L2(0.01)), ("l1l2", L1L2(0.0, 0.0)), ("L1L2", L1L2(0.0, 0.0)), ("l1_l2", L1L2(0.0, 0.0)),
])
def test_names_give_kerass_defaults(name, expected):
    got = regularizers.get(name)
    assert type(got) is type(expected) and got.get_config() == expected.get_config()


def test_serialize_and_get_make_the_same_regularizer_again():
    for regularizer in (L1(0.3), L2(0.7), L1L2(0.2, 0.5)):
        made = regularizers.get(regularizers.serialize(regularizer))
        assert type(made) is type(regularizer) and made.get_config() == regularizer.get_config()
    assert regularizers.get(None) is None and regularizers.serialize(None) is None
    assert isinstance(regularizers.get(L2), L2)


def test_saving_keeps_the_regularizers(tmp_path):
    model = regularized_model()
    model.save(tmp_path / "model.npz")
    loaded = load_model(tmp_path / "model.npz")
    first, second = loaded.layers
    assert repr(first.kernel_regularizer) == "L2(l2=0.1)" and repr(first.bias_regularizer) == "L1(l1=0.05)"
    assert repr(second.kernel_regularizer) == "L1L2(l1=0.01, l2=0.02)" and second.bias_regularizer is None
    np.testing.assert_allclose(loaded.evaluate(X, Y, verbose=0), KERAS_EVALUATE_BEFORE, rtol=1e-6)


@pytest.mark.parametrize("make, words", [
    (lambda: Dense(3, kernel_regularizer="l3"), ("Unknown regularizer 'l3'", "Did you mean")),
    (lambda: L2(-0.1), ("l2 must be a finite number >= 0", "-0.1")),
    (lambda: L1(float("nan")), ("l1 must be a finite number >= 0", "nan")),
    (lambda: L1L2(l1=True), ("l1 must be a finite number >= 0", "True")),
    (lambda: Conv2D(2, 3, bias_regularizer=0.01), ("regularizer name", "0.01")),
    (lambda: Dense(3, kernel_regularizer=lambda w: 0.01 * (w**2).sum()), ("no automatic differentiation",
                                                                           "subclass tinynet.regularizers.Regularizer")),
])
def test_bad_regularizers_get_a_clear_error(make, words):
    with pytest.raises((ValueError, TypeError)) as error:
        make()
    for word in words:
        assert word in str(error.value)
