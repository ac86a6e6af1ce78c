"""The learning process: activations and losses against their formulas, the choice of accuracy,
fit's options (validation, shuffling, initial_epoch, verbose), initializers, Dropout, and a
relu/Adam network on real MNIST."""

import functools
import math
import re
import warnings

import numpy as np
import pytest

from tinynet import activations, backend, initializers, losses, metrics
from tinynet.callbacks import Callback, EarlyStopping
from tinynet.initializers import RandomNormal
from tinynet.layers import Activation, Conv2D, Dense, Dropout, LeakyReLU, ReLU, Softmax
from tinynet.models import Sequential
from tinynet.optimizers import SGD
from tinynet.utils import set_random_seed, to_categorical

rng = np.random.default_rng(42)


def classification_data(samples=40, features=5, classes=3, seed=0):
    generator = np.random.default_rng(seed)
    x = generator.normal(size=(samples, features)).astype(np.float32)
    labels = np.argmax(x[:, :classes], axis=1)  # a rule the network can learn
    return x, labels


def softmax_model(features=5, classes=3, seed=0, learning_rate=0.1):
    set_random_seed(seed)
    model = Sequential([Dense(8, activation="relu", input_shape=(features,)), Dense(classes, activation="softmax")])
    model.compile(optimizer=SGD(learning_rate=learning_rate), loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def assert_same_weights(got, expected):
    """Two lists of weight arrays (as get_weights returns) are equal, array by array."""
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a, b)


# --- activations -------------------------------------------------------------------------------

Z = np.array([[-1000.0, -20.0, -3.0, -0.5, 0.0], [0.5, 3.0, 20.0, 1000.0, 1e-3]])
SAFE_EXP = np.exp(Z - Z.max(axis=1, keepdims=True))
EXPECTED_ACTIVATIONS = {
    "linear": Z,
    "sigmoid": np.where(Z >= 0, 1 / (1 + np.exp(-np.abs(Z))), np.exp(-np.abs(Z)) / (1 + np.exp(-np.abs(Z)))),
    "tanh": np.tanh(Z),
    "relu": np.maximum(Z, 0),
    "leaky_relu": np.where(Z > 0, Z, 0.2 * Z),
    "elu": np.where(Z > 0, Z, np.expm1(np.minimum(Z, 0))),
    # Keras's constants, and the value its documentation gives: selu(-1) = -1.1113307
    "selu": 1.05070098 * np.where(Z > 0, Z, 1.67326324 * np.expm1(np.minimum(Z, 0))),
    "softplus": np.logaddexp(0, Z),
    "softsign": Z / (1 + np.abs(Z)),
    "swish": Z * np.where(Z >= 0, 1 / (1 + np.exp(-np.abs(Z))), np.exp(-np.abs(Z)) / (1 + np.exp(-np.abs(Z)))),
    "relu6": np.clip(Z, 0, 6),
    "hard_sigmoid": np.clip(Z / 6 + 0.5, 0, 1),
    "hard_silu": np.where(Z <= -3, 0, np.where(Z >= 3, Z, Z * (Z + 3) / 6)),
    "hard_swish": np.where(Z <= -3, 0, np.where(Z >= 3, Z, Z * (Z + 3) / 6)),
    "mish": Z * np.tanh(np.logaddexp(0, Z)),
    "gelu": Z * 0.5 * np.vectorize(math.erfc)(-Z / math.sqrt(2)),
    "softmax": SAFE_EXP / SAFE_EXP.sum(axis=1, keepdims=True),
}

# Keras 3.15's keras.activations.<name>(KERAS_X) on float32, printed with tolist() (JAX backend).
KERAS_X = np.array([-30, -4, -3, -2.5, -1, -0.3, 0, 0.3, 1, 2.5, 3, 4, 6, 7, 20], np.float32)
KERAS_ACTIVATIONS = {
    "relu6": [0, 0, 0, 0, 0, 0, 0, 0.3, 1, 2.5, 3, 4, 6, 6, 6],
    "hard_sigmoid": [0, 0, 0, 0.083333336, 0.33333334, 0.45, 0.5, 0.55, 0.6666667, 0.9166667, 1, 1, 1, 1, 1],
    "hard_silu": [0, 0, 0, -0.20833334, -0.33333334, -0.135, 0, 0.165, 0.6666667, 2.2916667, 3, 4, 6, 7, 20],
    "exponential": [9.357623e-14, 0.01831564, 0.049787067, 0.082085, 0.36787945, 0.7408182, 1, 1.3498588,
                    2.7182817, 12.182494, 20.085537, 54.59815, 403.4288, 1096.6332, 485165184.0],
    "mish": [-2.807287e-12, -0.072591737, -0.14564745, -0.19681618, -0.30340144, -0.15113318, 0, 0.20800136,
             0.8650985, 2.4713924, 2.9865355, 3.9974127, 5.999927, 6.999989, 20],
    "gelu": [0, -0.00012668503, -0.004049696, -0.015524165, -0.15865527, -0.11462659, 0, 0.18537343, 0.8413447,
             2.4844759, 2.9959502, 3.9998734, 6, 7, 20],
}


@pytest.mark.parametrize("name", list(KERAS_ACTIVATIONS))
def test_activations_give_kerass_numbers(name):
    np.testing.assert_allclose(getattr(activations, name)(KERAS_X), KERAS_ACTIVATIONS[name], rtol=1e-6, atol=1e-7)


# Keras 3.15's keras.activations.gelu(KERAS_X in float64) and gelu(..., approximate=True), on JAX
# with float64 enabled (JAX_ENABLE_X64=1). Keras on TensorFlow differs from them by up to 3e-7
# relative, as TensorFlow rounds the tanh form's 0.044715 to float32 even in float64.
KERAS_GELU = {
    False: [-1.4720141781443724e-196, -0.00012668496733247945, -0.004049694094890279, -0.01552416331444033,
            -0.15865525393145707, -0.11462657653421583, 0.0, 0.18537343538671314, 0.8413447460685429,
            2.4844758366855597, 2.99595030590511, 3.9998733150326675, 5.999999994080474, 6.999999999991041, 20.0],
    True: [-0.0, -7.02459481924933e-05, -0.003637392081773161, -0.0150842660899983, -0.1588080093917233,
           -0.1146290796485276, 0.0, 0.18537093227240137, 0.8411919906082768, 2.4849157339100016,
           2.996362607918227, 3.9999297540518075, 5.9999999999156035, 6.9999999999999964, 20.0],
}


@pytest.mark.parametrize("approximate", [False, True], ids=["exact", "approximate"])
def test_gelu_gives_kerass_float64_numbers(float64_backend, approximate):
    """Both forms, by the function and by name in a layer, to 1e-12 (1 + tanh(u) cancels near
    x = -3, leaving the tanh form about 13 good digits; the exact one keeps its accuracy down to
    gelu(-30) = -1.5e-196)."""
    x = KERAS_X.astype(np.float64)
    by_function = backend.to_numpy(activations.gelu(backend.asarray(x), approximate=approximate))
    by_layer = Activation("approximate_gelu" if approximate else "gelu")(x)
    for got in (by_function, by_layer):
        np.testing.assert_allclose(got, KERAS_GELU[approximate], rtol=1e-12, atol=0)
    assert by_layer.dtype == np.float64


def test_gelu_takes_approximate_as_keras_does():
    """activation="gelu" is the exact form, as Keras's default; the tanh form is the class
    ApproximateGELU, also by tinynet's own name "approximate_gelu" (Keras has none)."""
    assert type(activations.get("gelu")) is activations.GELU
    assert type(activations.get(activations.gelu)) is activations.GELU
    assert type(Dense(2, activation=activations.ApproximateGELU()).activation) is activations.ApproximateGELU
    x = np.linspace(-5, 5, 11)
    difference = activations.gelu(x) - activations.gelu(x, approximate=True)
    assert 1e-5 < np.max(np.abs(difference)) < 5e-4  # close, and not the same function


def test_activation_layers_give_kerass_numbers():
    # keras.layers.ReLU(max_value=5., negative_slope=0.5, threshold=2.)(KERAS_X) and
    # keras.layers.LeakyReLU()(KERAS_X), Keras 3.15 (JAX backend), printed with tolist().
    relu = [-16, -3, -2.5, -2.25, -1.5, -1.15, -1, -0.85, -0.5, 2.5, 3, 4, 5, 5, 5]
    leaky = [-9, -1.2, -0.9, -0.75, -0.3, -0.09, 0, 0.3, 1, 2.5, 3, 4, 6, 7, 20]
    np.testing.assert_allclose(ReLU(max_value=5, negative_slope=0.5, threshold=2)(KERAS_X), relu, rtol=1e-6)
    np.testing.assert_allclose(LeakyReLU()(KERAS_X), leaky, rtol=1e-6)
    np.testing.assert_array_equal(ReLU()(KERAS_X), np.maximum(KERAS_X, 0))
    np.testing.assert_array_equal(ReLU(max_value=6)(KERAS_X), activations.relu6(KERAS_X))
    z = rng.normal(size=(4, 3)).astype(np.float32)
    np.testing.assert_array_equal(Softmax()(z), activations.softmax(z))
    with pytest.warns(UserWarning, match="alpha is deprecated"):
        assert LeakyReLU(alpha=0.1).negative_slope == 0.1
    # Keras 3's names for them: re_lu, leaky_re_lu, softmax
    assert [re.sub(r"_\d+$", "", layer.name) for layer in (ReLU(), LeakyReLU(), Softmax())] == \
        ["re_lu", "leaky_re_lu", "softmax"]


def test_hard_swish_is_hard_silu_and_exponential_overflows_as_in_keras():
    assert activations.get("hard_swish").name == "hard_silu" and activations.hard_swish is activations.hard_silu
    with np.errstate(over="ignore"):
        assert activations.exponential(np.array([100.0], np.float32))[0] == np.inf


def test_selu_is_kerass_and_silu_is_swish():
    np.testing.assert_allclose(activations.selu(np.array([-1.0], np.float32)), [-1.1113307], rtol=1e-6)
    assert activations.get("silu").name == "swish" and activations.silu is activations.swish


@pytest.mark.parametrize("name", list(EXPECTED_ACTIVATIONS))
def test_activations_by_name_function_and_layer(array_backend, name):
    expected = EXPECTED_ACTIVATIONS[name]
    z = backend.asarray(Z)
    with np.errstate(over="raise", invalid="raise"):  # no overflow even at +-1000
        by_name = backend.to_numpy(activations.get(name).forward(z))
        by_function = backend.to_numpy(getattr(activations, name)(z))
        by_layer = Activation(name)(Z)
        by_function_object = Activation(getattr(activations, name))(Z)
    for got in (by_name, by_function, by_layer, by_function_object):
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)
        assert got.dtype == np.float32


def test_activation_none_is_linear_and_unknown_names_suggest_the_closest():
    assert activations.get(None).name == "linear"
    np.testing.assert_array_equal(Activation(None)(Z), Z.astype(np.float32))
    model = Sequential([Dense(3, activation=activations.relu, input_shape=(2,))])
    assert model.layers[0].activation.name == "relu"
    with pytest.raises(ValueError, match="Unknown activation 'rleu'.*Did you mean 'relu'"):
        Dense(3, activation="rleu")


def test_softmax_rows_are_probability_distributions(array_backend):
    z = rng.normal(size=(6, 10)) * 50
    p = backend.to_numpy(activations.softmax(backend.asarray(z)))
    assert np.all(p >= 0) and np.all(np.isfinite(p))
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_array_equal(p.argmax(axis=1), z.argmax(axis=1))


# --- losses ------------------------------------------------------------------------------------

EPS = 1e-7
Y_ONE_HOT = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
LABELS = Y_ONE_HOT.argmax(axis=1)
# Row 0 is not normalised (Keras divides by the sum), row 1 puts 0 on the true class and row 2
# puts 1 on it (both are clipped to [eps, 1 - eps]).
P_CLASSES = np.array([[0.6, 0.3, 0.3], [0.5, 0.0, 0.5], [0.0, 0.0, 1.0], [0.2, 0.7, 0.1]])
Y_BINARY = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
P_BINARY = np.array([[0.9, 0.2], [0.0, 1.0], [1.0, 0.4]])
Y_REGRESSION = np.array([[1.5, -2.0], [0.0, 3.0], [2.0, 2.0]])
P_REGRESSION = np.array([[1.0, -1.0], [0.5, 3.0], [-2.0, 2.5]])


def categorical_by_hand(y, p):
    """Each sample's loss, as Keras's function form gives them."""
    q = np.clip(p / p.sum(axis=1, keepdims=True), EPS, 1 - EPS)
    return -np.sum(y * np.log(q), axis=1)


def binary_by_hand(y, p):
    q = np.clip(p, EPS, 1 - EPS)
    return np.mean(-(y * np.log(q) + (1 - y) * np.log(1 - q)), axis=1)


LOSS_CASES = {
    "categorical_crossentropy": (losses.CategoricalCrossentropy, Y_ONE_HOT, P_CLASSES,
                                 categorical_by_hand(Y_ONE_HOT, P_CLASSES)),
    "sparse_categorical_crossentropy": (losses.SparseCategoricalCrossentropy, LABELS, P_CLASSES,
                                        categorical_by_hand(Y_ONE_HOT, P_CLASSES)),
    "binary_crossentropy": (losses.BinaryCrossentropy, Y_BINARY, P_BINARY, binary_by_hand(Y_BINARY, P_BINARY)),
    "mean_squared_error": (losses.MeanSquaredError, Y_REGRESSION, P_REGRESSION,
                           np.mean((P_REGRESSION - Y_REGRESSION) ** 2, axis=1)),
    "mean_absolute_error": (losses.MeanAbsoluteError, Y_REGRESSION, P_REGRESSION,
                            np.mean(np.abs(P_REGRESSION - Y_REGRESSION), axis=1)),
}


@pytest.mark.parametrize("name", list(LOSS_CASES))
def test_loss_values_match_kerass_formulas(float64_backend, name):
    """The loss objects give the batch mean; the function forms, as Keras's, each sample's loss."""
    cls, y, p, per_sample = LOSS_CASES[name]
    y_true = backend.asarray(y, dtype="int64" if name.startswith("sparse") else None)
    y_pred = backend.asarray(p)
    for loss in (losses.get(name), cls(), losses.get(cls), losses.get(getattr(losses, name))):
        assert isinstance(loss, cls)
        assert backend.to_scalar(loss(y_true, y_pred)) == pytest.approx(np.mean(per_sample), rel=1e-12)
    np.testing.assert_allclose(backend.to_numpy(getattr(losses, name)(y_true, y_pred)), per_sample, rtol=1e-12)


def test_functions_of_ones_own_are_not_taken_for_tinynets_by_their_name():
    """Keras would use these functions; tinynet, which cannot differentiate them, says so rather
    than swapping in its own function of the same name."""
    def relu(x):
        return x

    def mean_squared_error(y_true, y_pred):
        return 100 * (y_pred - y_true) ** 2

    with pytest.raises(TypeError, match="cannot use the function 'relu' as an activation.*ActivationFunction"):
        Dense(3, activation=relu)
    with pytest.raises(TypeError, match="use the function 'mean_squared_error' as a loss.*Subclass tinynet.losses.Loss"):
        Sequential([Dense(3, input_shape=(2,))]).compile(optimizer="sgd", loss=mean_squared_error)
    assert isinstance(activations.get(activations.relu), activations.ReLU)
    assert isinstance(activations.get(activations.Tanh), activations.Tanh)
    assert isinstance(losses.get(losses.mse), losses.MeanSquaredError)


def test_loss_aliases_and_sparse_label_shapes(array_backend):
    assert type(losses.get("mse")) is losses.MeanSquaredError and losses.mse is losses.mean_squared_error
    assert type(losses.get("mae")) is losses.MeanAbsoluteError and losses.mae is losses.mean_absolute_error
    p = backend.asarray(P_CLASSES)
    column = backend.to_numpy(losses.sparse_categorical_crossentropy(backend.asarray(LABELS[:, None], "int64"), p))
    flat = backend.to_numpy(losses.sparse_categorical_crossentropy(backend.asarray(LABELS, "int64"), p))
    one_hot = backend.to_numpy(losses.categorical_crossentropy(backend.asarray(Y_ONE_HOT), p))
    np.testing.assert_array_equal(column, flat)
    np.testing.assert_allclose(flat, one_hot, rtol=1e-6)
    with pytest.raises(ValueError, match="Unknown loss 'categorical_crossentopy'.*'categorical_crossentropy'"):
        losses.get("categorical_crossentopy")


@pytest.mark.parametrize(
    "function",
    [losses.binary_crossentropy, losses.mean_squared_error, losses.mean_absolute_error,
     losses.BinaryCrossentropy(), metrics.binary_accuracy, metrics.mean_squared_error,
     metrics.mean_absolute_error],
)
def test_labels_without_the_output_axis_are_not_broadcast(array_backend, function):
    """Labels (n,) against one output per sample (n, 1) get the axis added, as in Keras, rather
    than broadcasting to an (n, n) table."""
    labels = np.array([1.0, 0.0, 1.0, 1.0], np.float32)
    p = np.array([[0.9], [0.2], [0.3], [0.8]], np.float32)
    flat = backend.to_numpy(function(backend.asarray(labels), backend.asarray(p)))
    column = backend.to_numpy(function(backend.asarray(labels[:, None]), backend.asarray(p)))
    np.testing.assert_allclose(flat, column, rtol=1e-6)
    assert flat.size in (1, 4)  # the batch mean (a loss object) or one value per sample, never 16
    if function is metrics.binary_accuracy:
        np.testing.assert_array_equal(flat.ravel(), [1, 1, 0, 1])  # the sample at 0.3 is the one miss


def test_certain_wrong_predictions_give_a_large_finite_loss_in_float32(array_backend):
    # Clipping keeps log() away from 0: the loss is about -log(1e-7) = 16.1, not infinity.
    for loss in (losses.BinaryCrossentropy(), losses.CategoricalCrossentropy()):
        wrong = backend.to_scalar(loss(backend.asarray([[1.0, 0.0]]), backend.asarray([[0.0, 1.0]])))
        assert math.isfinite(wrong) and 15 < wrong < 17


# --- metrics -----------------------------------------------------------------------------------


def accuracy_case(loss):
    """A model, its data and the accuracy worked out by hand from its predictions."""
    x, labels = classification_data()
    set_random_seed(1)
    if loss == "binary_crossentropy":
        y = (labels == 0).astype(np.float32)
        model = Sequential([Dense(1, activation="sigmoid", input_shape=(5,))])
    else:
        y = labels if loss == "sparse_categorical_crossentropy" else to_categorical(labels, 3)
        model = Sequential([Dense(3, activation="softmax", input_shape=(5,))])
    model.compile(optimizer="sgd", loss=loss, metrics=["accuracy"])
    p = model.predict(x)
    if loss == "binary_crossentropy":
        expected = np.mean((p[:, 0] > 0.5) == (y == 1))
    else:
        expected = np.mean(p.argmax(axis=1) == labels)
    return model, x, y, expected


@pytest.mark.parametrize("loss", ["categorical_crossentropy", "sparse_categorical_crossentropy", "binary_crossentropy"])
def test_accuracy_fits_each_cross_entropys_targets(array_backend, loss):
    model, x, y, expected = accuracy_case(loss)
    _, accuracy = model.evaluate(x, y, verbose=0)
    assert accuracy == pytest.approx(expected, abs=1e-6)
    assert 0 < expected < 1  # so that a wrong choice of accuracy would show


def test_accuracy_of_multi_label_binary_cross_entropy_is_categorical_as_in_keras_3():
    """Keras 3 chooses the accuracy from the shapes alone: several outputs per sample and targets
    of the same shape mean categorical accuracy, even under binary cross-entropy."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 5)).astype(np.float32)
    y = (rng.random((40, 3)) < 0.5).astype(np.float32)
    set_random_seed(1)
    model = Sequential([Dense(3, activation="sigmoid", input_shape=(5,))])
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy", "binary_accuracy"])
    p = model.predict(x)
    categorical = np.mean(p.argmax(axis=1) == y.argmax(axis=1))
    binary = np.mean((p > 0.5) == (y == 1))
    assert abs(categorical - binary) > 0.05  # the two choices tell apart here
    _, accuracy, binary_accuracy = model.evaluate(x, y, verbose=0)
    assert accuracy == pytest.approx(categorical) and binary_accuracy == pytest.approx(binary)


@pytest.mark.parametrize("loss", ["categorical_crossentropy", "sparse_categorical_crossentropy"])
def test_accuracy_per_pixel_is_the_share_of_pixels_right(array_backend, loss):
    """A segmentation-like output, (n, h, w, classes): Keras averages the hits over all n h w pixels."""
    from tinynet.layers import Conv2D

    rng = np.random.default_rng(4)
    x = rng.normal(size=(6, 4, 5, 2)).astype(np.float32)
    set_random_seed(2)
    model = Sequential([Conv2D(3, 1, activation="softmax", input_shape=(4, 5, 2))])
    model.compile(optimizer="sgd", loss=loss, metrics=["accuracy"])
    labels = rng.integers(0, 3, (6, 4, 5))
    y = to_categorical(labels, 3) if loss == "categorical_crossentropy" else labels
    expected = np.mean(model.predict(x).argmax(axis=-1) == labels)
    assert 0 < expected < 1
    _, accuracy = model.evaluate(x, y, verbose=0)
    assert accuracy == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("loss", ["binary_crossentropy", "mse"])
def test_a_map_of_targets_per_pixel_gets_the_outputs_last_axis(loss):
    """One output per pixel, (n, h, w, 1), and targets (n, h, w): as Keras, the axis is added,
    rather than broadcasting into an (n, h, w, w) table."""
    from tinynet.layers import Conv2D

    rng = np.random.default_rng(5)
    x = rng.normal(size=(4, 3, 5, 2)).astype(np.float32)
    y = (rng.random((4, 3, 5)) > 0.5).astype(np.float32)
    set_random_seed(3)
    model = Sequential([Conv2D(1, 1, activation="sigmoid", input_shape=(3, 5, 2))])
    model.compile(optimizer="sgd", loss=loss, metrics=["accuracy"])
    p = model.predict(x)[..., 0]
    if loss == "mse":
        expected = np.mean((p - y) ** 2)
    else:
        expected = np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p)))
    value, accuracy = model.evaluate(x, y, verbose=0)
    assert value == pytest.approx(expected, rel=1e-5)
    assert accuracy == pytest.approx(np.mean((p > 0.5) == (y == 1)), abs=1e-6)
    np.testing.assert_array_equal(model.evaluate(x, y[..., None], verbose=0), [value, accuracy])


def test_accuracy_with_a_regression_loss_follows_the_shapes():
    x, labels = classification_data()
    y = (labels == 0).astype(np.float32)
    set_random_seed(1)
    single = Sequential([Dense(1, activation="sigmoid", input_shape=(5,))])
    single.compile(optimizer="sgd", loss="mse", metrics=["accuracy"])
    expected = np.mean((single.predict(x)[:, 0] > 0.5) == (y == 1))
    assert 0 < expected < 1
    assert single.evaluate(x, y, verbose=0)[1] == pytest.approx(expected)  # binary, not a constant 1.0
    rows = Sequential([Dense(3, activation="softmax", input_shape=(5,))])
    rows.compile(optimizer="sgd", loss="mse", metrics=["acc"])
    expected = np.mean(rows.predict(x).argmax(axis=1) == labels)
    assert rows.evaluate(x, to_categorical(labels, 3), verbose=0)[1] == pytest.approx(expected)


def test_regression_metrics_and_history_keys_as_the_user_named_them(array_backend):
    x, labels = classification_data()
    y = to_categorical(labels, 3)
    model = softmax_model()
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["acc", "mse", "mean_absolute_error"])
    history = model.fit(x, y, epochs=2, verbose=0, validation_split=0.25)
    assert list(history.history) == [
        "loss", "acc", "mse", "mean_absolute_error", "val_loss", "val_acc", "val_mse", "val_mean_absolute_error",
    ]
    assert model.metrics_names == ["loss", "acc", "mse", "mean_absolute_error"]
    p = model.predict(x)
    _, acc, mse, mae = model.evaluate(x, y, verbose=0)
    assert acc == pytest.approx(np.mean(p.argmax(axis=1) == labels), abs=1e-6)
    assert mse == pytest.approx(np.mean((p - y) ** 2), rel=1e-5)
    assert mae == pytest.approx(np.mean(np.abs(p - y)), rel=1e-5)


# Ties straddling the k-th place count for the label. Keras 3.15 (JAX and TensorFlow backends alike)
# gives keras.metrics.sparse_top_k_categorical_accuracy(TIED_LABELS, TIED_PREDICTIONS, k) and
# top_k_categorical_accuracy(one-hot labels, TIED_PREDICTIONS, k) as in TOP_K_BY_KERAS.
TIED_PREDICTIONS = np.array([[0.1, 0.3, 0.3, 0.3], [0.4, 0.2, 0.2, 0.2], [0.25, 0.25, 0.25, 0.25],
                             [0.1, 0.2, 0.3, 0.4], [0.5, 0.1, 0.3, 0.1]], np.float32)
TIED_LABELS = np.array([3, 1, 0, 1, 3])
TOP_K_BY_KERAS = {1: [1, 0, 1, 0, 0], 2: [1, 1, 1, 0, 0], 3: [1, 1, 1, 1, 1]}


@pytest.mark.parametrize("k", list(TOP_K_BY_KERAS))
def test_top_k_accuracy_counts_ties_for_the_label_as_keras(array_backend, k):
    p = backend.asarray(TIED_PREDICTIONS)
    sparse = metrics.sparse_top_k_categorical_accuracy(backend.asarray(TIED_LABELS, dtype="int64"), p, k=k)
    one_hot = metrics.top_k_categorical_accuracy(backend.asarray(np.eye(4)[TIED_LABELS]), p, k=k)
    for got in (sparse, one_hot):
        np.testing.assert_array_equal(backend.to_numpy(got), TOP_K_BY_KERAS[k])


def test_top_k_accuracy_through_compile_is_the_share_in_the_five_largest(array_backend):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(60, 5)).astype(np.float32)
    labels = rng.integers(0, 8, 60)
    set_random_seed(1)
    model = Sequential([Dense(8, activation="softmax", input_shape=(5,))])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["sparse_top_k_categorical_accuracy"])
    p = model.predict(x)
    # the rank of the label's prediction, by sorting: in the top 5 when at most 4 are larger
    in_top_5 = np.mean([(row > row[label]).sum() < 5 for row, label in zip(p, labels)])
    assert 0 < in_top_5 < 1
    assert model.evaluate(x, labels, verbose=0)[1] == pytest.approx(in_top_5)
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=[metrics.top_k_categorical_accuracy])
    assert model.evaluate(x, to_categorical(labels, 8), verbose=0)[1] == pytest.approx(in_top_5)
    assert model.metrics_names == ["loss", "top_k_categorical_accuracy"]


def test_a_metric_function_may_return_one_value_per_sample_as_in_keras(array_backend):
    """Keras averages what a metric function returns; tinynet does too, batch by batch, weighting
    each batch by its size, so a per-sample accuracy reports exactly what "accuracy" reports."""
    x, labels = classification_data()
    y = to_categorical(labels, 3)

    def hits(y_true, y_pred):  # one boolean per sample
        xp = backend.namespace()
        return xp.argmax(y_pred, axis=-1) == xp.argmax(y_true, axis=-1)

    def hit_rate(y_true, y_pred):  # already the batch mean: passed through unchanged
        return metrics.categorical_accuracy(y_true, y_pred)

    model = softmax_model()
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy", hits, hit_rate])
    assert model.metrics_names == ["loss", "accuracy", "hits", "hit_rate"]
    history = model.fit(x, y, batch_size=7, epochs=2, verbose=0)  # a last batch smaller than the rest
    assert history.history["hits"] == history.history["accuracy"] == history.history["hit_rate"]
    _, accuracy, per_sample, mean = model.evaluate(x, y, batch_size=7, verbose=0)
    assert per_sample == accuracy == mean
    assert 0 < accuracy < 1


def test_a_metric_may_return_a_python_number_or_be_a_partial(array_backend):
    x, labels = classification_data()
    y = to_categorical(labels, 3)

    def constant(y_true, y_pred):  # a host number, on any backend
        return 0.25

    def scaled_accuracy(y_true, y_pred, factor):
        return factor * metrics.categorical_accuracy(y_true, y_pred)

    model = softmax_model()
    model.compile(optimizer="sgd", loss="categorical_crossentropy",
                  metrics=["accuracy", constant, functools.partial(scaled_accuracy, factor=2.0)])
    assert model.metrics_names == ["loss", "accuracy", "constant", "partial"]
    _, accuracy, constant_value, doubled = model.evaluate(x, y, batch_size=7, verbose=0)
    assert constant_value == 0.25 and doubled == pytest.approx(2 * accuracy, rel=1e-6)


def test_metric_mistakes_are_explained():
    model = softmax_model()
    with pytest.raises(TypeError, match=r"metrics must be a list, e.g. metrics=\['accuracy'\]"):
        model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics="accuracy")
    with pytest.raises(ValueError, match="Unknown metric 'acuracy'.*Did you mean 'accuracy'"):
        model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["acuracy"])


# --- fit's options -----------------------------------------------------------------------------


def test_validation_split_holds_out_the_last_rows_before_shuffling(array_backend):
    x, labels = classification_data(samples=40)
    y = to_categorical(labels, 3)
    split = softmax_model()
    history = split.fit(x, y, batch_size=8, epochs=3, verbose=0, validation_split=0.25)
    # The same run with the split made by hand: the first 30 rows train, the last 10 validate.
    explicit = softmax_model()
    by_hand = explicit.fit(x[:30], y[:30], batch_size=8, epochs=3, verbose=0, validation_data=(x[30:], y[30:]))
    assert history.params["samples"] == 30
    assert history.history == by_hand.history
    assert_same_weights(split.get_weights(), explicit.get_weights())
    # val_ values are the last epoch's model evaluated on exactly those rows.
    val_loss, val_accuracy = split.evaluate(x[30:], y[30:], verbose=0)
    assert history.history["val_loss"][-1] == pytest.approx(val_loss, rel=1e-6)
    assert history.history["val_accuracy"][-1] == pytest.approx(val_accuracy, abs=1e-6)
    assert split.evaluate(x[:10], y[:10], verbose=0)[0] != pytest.approx(val_loss, rel=1e-3)


@pytest.mark.parametrize("samples, fraction, training", [(10, 0.25, 7), (7, 0.5, 3), (100, 0.2, 80), (20, 0.01, 19)])
def test_validation_split_counts_rows_as_keras_does(samples, fraction, training):
    # Keras trains on the first floor(n * (1 - split)) rows: 10 rows split 0.25 validate on 3, not 2.
    x, labels = classification_data(samples=samples)
    history = softmax_model().fit(x, to_categorical(labels, 3), epochs=1, verbose=0, validation_split=fraction)
    assert history.params["samples"] == training


def test_validation_data_takes_precedence_and_bad_splits_are_refused():
    x, labels = classification_data(samples=20)
    y = to_categorical(labels, 3)
    history = softmax_model().fit(x, y, epochs=1, verbose=0, validation_split=0.5, validation_data=(x[:4], y[:4]))
    assert history.params["samples"] == 20 and "val_loss" in history.history
    model = softmax_model()
    weights = model.get_weights()
    with pytest.raises(ValueError, match=r"validation_split must be a number in \[0, 1\); got 1.0"):
        model.fit(x, y, verbose=0, validation_split=1.0)
    with pytest.raises(ValueError, match="leaves 20 for validation and 0 for training"):
        model.fit(x, y, verbose=0, validation_split=0.96)
    with pytest.raises(ValueError, match=r"validation_data must be a tuple \(x_val, y_val\)"):
        model.fit(x, y, verbose=0, validation_data=x[:4])
    assert_same_weights(model.get_weights(), weights)


@pytest.mark.parametrize("validation_freq, validated", [(2, [1, 3]), ([1, 4], [0, 3]), (1, [0, 1, 2, 3, 4])])
def test_validation_freq_validates_after_the_epochs_keras_3_does(validation_freq, validated):
    """Keras 3 validates after epoch e (counted from 1) when e % n == 0, or when e is in the list; the
    other epochs' logs hold no val_ values, and EarlyStopping on val_loss passes them by."""
    class EpochLogs(Callback):
        def __init__(self):
            super().__init__()
            self.keys = []

        def on_epoch_end(self, epoch, logs=None):
            self.keys.append(sorted(logs))

    x, labels = classification_data(samples=40)
    recorder = EpochLogs()
    history = softmax_model().fit(x, to_categorical(labels, 3), epochs=5, verbose=0, validation_split=0.25,
                                  validation_freq=validation_freq, callbacks=[recorder, EarlyStopping(patience=5)])
    assert [e for e, keys in enumerate(recorder.keys) if "val_loss" in keys] == validated
    assert len(history.history["loss"]) == 5 and len(history.history["val_loss"]) == len(validated)


@pytest.mark.parametrize("bad, error, words", [
    (0, ValueError, "validation_freq must be an integer >= 1; got 0"),
    ((1, 2), TypeError, "validation_freq must be an int .* or a list of epochs"),
    (1.5, TypeError, "got 1.5"),
    ([1, "2"], TypeError, "each epoch in validation_freq must be an integer"),
])
def test_bad_validation_freq_is_refused_before_training(bad, error, words):
    x, labels = classification_data(samples=20)
    model = softmax_model()
    weights = model.get_weights()
    with pytest.raises(error, match=words):
        model.fit(x, to_categorical(labels, 3), verbose=0, validation_split=0.25, validation_freq=bad)
    assert_same_weights(model.get_weights(), weights)


def test_shuffle_false_trains_on_the_batches_in_order(array_backend):
    x, labels = classification_data(samples=20)
    y = to_categorical(labels, 3)
    fitted = softmax_model()
    fitted.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    stepped = softmax_model()
    for _ in range(2):
        for start in (0, 8, 16):
            stepped.train_on_batch(x[start : start + 8], y[start : start + 8])
    for a, b in zip(fitted.get_weights(), stepped.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    shuffled = softmax_model()
    shuffled.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert not np.allclose(shuffled.get_weights()[0], fitted.get_weights()[0])
    again = softmax_model()
    again.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert_same_weights(shuffled.get_weights(), again.get_weights())  # shuffling follows set_random_seed


def test_initial_epoch_resumes_the_count(capsys):
    x, labels = classification_data()
    y = to_categorical(labels, 3)
    model = softmax_model()
    history = model.fit(x, y, epochs=5, initial_epoch=3, verbose=1)
    assert history.epoch == [3, 4] and len(history.history["loss"]) == 2
    out = capsys.readouterr().out
    assert "Epoch 4/5" in out and "Epoch 5/5" in out and "Epoch 3/5" not in out
    assert model.fit(x, y, epochs=2, initial_epoch=2, verbose=0).epoch == []


def test_progress_line_shows_the_validation_values(capsys):
    x, labels = classification_data()
    y = to_categorical(labels, 3)
    softmax_model().fit(x, y, epochs=2, verbose=1, validation_split=0.25)
    lines = [line for line in capsys.readouterr().out.splitlines() if "loss" in line]
    assert len(lines) == 2  # one finished line per epoch when the output is not a terminal
    for line in lines:
        assert re.search(r"- loss: [\d.e-]+ - accuracy: [\d.]+ - val_loss: [\d.e-]+ - val_accuracy: [\d.]+$", line)
    softmax_model().fit(x, y, epochs=1, verbose=2, validation_split=0.25)
    assert re.search(r"- \d+s - loss: .* - val_loss: .* - val_accuracy: ", capsys.readouterr().out)
    softmax_model().fit(x, y, epochs=1, verbose=0, validation_split=0.25)
    assert capsys.readouterr().out == ""


# --- initializers ------------------------------------------------------------------------------

FAN_IN, FAN_OUT = 400, 600


@pytest.mark.parametrize(
    "name, bound, std",
    [
        ("glorot_uniform", math.sqrt(6 / (FAN_IN + FAN_OUT)), math.sqrt(2 / (FAN_IN + FAN_OUT))),
        ("he_uniform", math.sqrt(6 / FAN_IN), math.sqrt(2 / FAN_IN)),
        ("random_uniform", 0.05, 0.05 / math.sqrt(3)),
        # Truncated normals: cut at 2 of their stddev, which Keras widens by 1 / 0.8796 so that
        # the standard deviation of what is left is the formula's.
        ("glorot_normal", 2 * math.sqrt(2 / (FAN_IN + FAN_OUT)) / 0.87962566, math.sqrt(2 / (FAN_IN + FAN_OUT))),
        ("he_normal", 2 * math.sqrt(2 / FAN_IN) / 0.87962566, math.sqrt(2 / FAN_IN)),
        ("random_normal", None, 0.05),
        ("lecun_uniform", math.sqrt(3 / FAN_IN), math.sqrt(1 / FAN_IN)),
        ("lecun_normal", 2 * math.sqrt(1 / FAN_IN) / 0.87962566, math.sqrt(1 / FAN_IN)),
        # Keras's TruncatedNormal is not widened: what is left has 0.8796 of the stddev asked for.
        ("truncated_normal", 2 * 0.05, 0.05 * 0.87962566),
        (initializers.VarianceScaling(3.0, "fan_out", "untruncated_normal"), None, math.sqrt(3 / FAN_OUT)),
        (initializers.VarianceScaling(0.5, "fan_avg", "uniform"), math.sqrt(1.5 / ((FAN_IN + FAN_OUT) / 2)),
         math.sqrt(0.5 / ((FAN_IN + FAN_OUT) / 2))),
        (initializers.VarianceScaling(2.0, "fan_out", "normal"), 2 * math.sqrt(2 / FAN_OUT) / 0.87962566,
         math.sqrt(2 / FAN_OUT)),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, initializers.Initializer) else None,
)
def test_random_initializers_follow_their_formulas(name, bound, std):
    set_random_seed(0)
    weights = initializers.get(name)((FAN_IN, FAN_OUT))
    assert weights.shape == (FAN_IN, FAN_OUT) and weights.dtype == np.float32
    assert abs(weights.mean()) < 0.01 * std  # 240,000 draws: the mean is within std / 490 of 0
    assert weights.std() == pytest.approx(std, rel=0.01)
    if bound is not None:
        assert np.abs(weights).max() <= bound * (1 + 1e-6)
        assert np.abs(weights).max() > 0.99 * bound  # the whole range is used
    set_random_seed(0)
    np.testing.assert_array_equal(initializers.get(name)((FAN_IN, FAN_OUT)), weights)


def test_the_named_schemes_are_variance_scaling_with_fixed_arguments():
    expected = {"glorot_uniform": (1.0, "fan_avg", "uniform"), "glorot_normal": (1.0, "fan_avg", "truncated_normal"),
                "he_uniform": (2.0, "fan_in", "uniform"), "he_normal": (2.0, "fan_in", "truncated_normal"),
                "lecun_uniform": (1.0, "fan_in", "uniform"), "lecun_normal": (1.0, "fan_in", "truncated_normal")}
    for name, arguments in expected.items():
        scheme = initializers.get(name)
        assert isinstance(scheme, initializers.VarianceScaling)
        assert (scheme.scale, scheme.mode, scheme.distribution) == arguments
        assert scheme.get_config() == {}  # nothing to choose, as in Keras (whose config holds only a seed)
        set_random_seed(3)
        drawn = scheme((30, 20))
        set_random_seed(3)
        np.testing.assert_array_equal(drawn, initializers.VarianceScaling(*arguments)((30, 20)))
    # Keras reads "normal" as "truncated_normal"
    assert initializers.VarianceScaling(distribution="Normal").get_config() == {
        "scale": 1.0, "mode": "fan_in", "distribution": "truncated_normal"}


@pytest.mark.parametrize("shape", [(5, 8), (8, 5), (3, 3, 2, 4), (7, 7)])
def test_orthogonal_gives_orthonormal_rows_or_columns_times_the_gain(shape):
    set_random_seed(0)
    weights = initializers.get(initializers.Orthogonal(gain=2.0))(shape).astype(np.float64)
    assert weights.shape == shape
    matrix = weights.reshape(-1, shape[-1])
    smaller = min(matrix.shape)
    gram = matrix.T @ matrix if matrix.shape[0] >= matrix.shape[1] else matrix @ matrix.T
    np.testing.assert_allclose(gram, 4.0 * np.eye(smaller), atol=1e-5)
    assert initializers.get("orthogonal").get_config() == {"gain": 1.0}


def test_constant_fills_with_its_value():
    np.testing.assert_array_equal(initializers.Constant(0.25)((2, 3)), np.full((2, 3), 0.25, np.float32))
    np.testing.assert_array_equal(initializers.get("constant")((4,)), np.zeros(4, np.float32))


def test_fans_of_a_convolution_kernel_count_the_receptive_field():
    assert initializers.compute_fans((3, 3, 16, 32)) == (144, 288)
    assert initializers.compute_fans((784, 10)) == (784, 10)
    set_random_seed(0)
    kernel = initializers.get("he_uniform")((3, 3, 16, 32))
    assert np.abs(kernel).max() <= math.sqrt(6 / 144)


def test_initializers_through_dense_arguments():
    layer = Dense(4, kernel_initializer="ones", bias_initializer="ones", input_shape=(3,))
    model = Sequential([layer, Dense(2, kernel_initializer="zeros", bias_initializer=RandomNormal(mean=5.0, stddev=0.0))])
    kernel, bias, kernel2, bias2 = model.get_weights()
    np.testing.assert_array_equal(kernel, np.ones((3, 4), np.float32))
    np.testing.assert_array_equal(bias, np.ones(4, np.float32))
    np.testing.assert_array_equal(kernel2, np.zeros((4, 2), np.float32))
    np.testing.assert_array_equal(bias2, np.full(2, 5.0, np.float32))
    # All-ones weights make every hidden unit 1 + sum(x); all-zero weights make the output the bias.
    np.testing.assert_allclose(model.predict(np.array([[1.0, 2.0, 3.0]])), [[5.0, 5.0]])


def test_initializers_by_name_class_or_object_and_unknown_names():
    assert type(initializers.get("he_normal")) is initializers.HeNormal
    assert type(initializers.get(initializers.HeNormal)) is initializers.HeNormal
    mine = RandomNormal(stddev=0.1)
    assert initializers.get(mine) is mine
    with pytest.raises(ValueError, match="Unknown initializer 'glorot_unifrom'.*Did you mean 'glorot_uniform'"):
        Dense(3, kernel_initializer="glorot_unifrom")


# --- Dropout -----------------------------------------------------------------------------------


def test_dropout_is_the_identity_at_inference(array_backend):
    x = rng.normal(size=(50, 20)).astype(np.float32)
    np.testing.assert_array_equal(Dropout(0.5)(x), x)
    set_random_seed(0)
    with_dropout = Sequential([Dense(8, input_shape=(20,)), Dropout(0.5), Dense(3, activation="softmax")])
    set_random_seed(0)
    without = Sequential([Dense(8, input_shape=(20,)), Dense(3, activation="softmax")])
    np.testing.assert_array_equal(with_dropout.predict(x), without.predict(x))


@pytest.mark.parametrize("rate", [0.2, 0.5, 0.8])
def test_dropout_in_training_keeps_1_minus_rate_and_scales_by_its_inverse(array_backend, rate):
    x = np.full((200, 500), 2.0, np.float32)
    layer = Dropout(rate)
    y = backend.to_numpy(layer.forward(backend.asarray(x), training=True))
    kept = y != 0
    assert kept.mean() == pytest.approx(1 - rate, abs=0.01)  # 100,000 draws: std of the share < 0.002
    np.testing.assert_allclose(y[kept], 2.0 / (1 - rate), rtol=1e-6)
    assert y.mean() == pytest.approx(2.0, rel=0.03)  # inverted dropout keeps the expected value
    # Backward lets gradients through exactly where the forward pass kept the input, scaled alike.
    grad = backend.to_numpy(layer.backward(backend.asarray(np.ones_like(x))))
    np.testing.assert_array_equal(grad != 0, kept)
    np.testing.assert_allclose(grad[kept], 1 / (1 - rate), rtol=1e-6)


def test_dropout_masks_differ_between_steps_and_rate_zero_drops_nothing(array_backend):
    x = backend.asarray(np.ones((20, 50), np.float32))
    layer = Dropout(0.5)
    first = backend.to_numpy(layer.forward(x, training=True))
    second = backend.to_numpy(layer.forward(x, training=True))
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(backend.to_numpy(Dropout(0.0).forward(x, training=True)), backend.to_numpy(x))


@pytest.mark.parametrize("rate", [1, 1.0, -0.1, "0.5", True])
def test_dropout_rate_must_be_in_0_1(rate):
    with pytest.raises(ValueError, match=r"Dropout rate must be a number in \[0, 1\)"):
        Dropout(rate)


def test_evaluate_is_deterministic_with_dropout_in_the_model():
    x, labels = classification_data()
    y = to_categorical(labels, 3)
    set_random_seed(0)
    model = Sequential([Dense(16, activation="relu", input_shape=(5,)), Dropout(0.5), Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=3, verbose=0)
    assert model.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)


# --- real data ---------------------------------------------------------------------------------


@pytest.mark.mnist
def test_relu_and_adam_reach_95_percent_on_mnist_in_two_epochs(mnist_flat):
    (x_train, y_train), (x_test, y_test) = mnist_flat
    set_random_seed(0)
    model = Sequential([Dense(128, activation="relu", input_shape=(784,)), Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=64, epochs=2, verbose=0)
    assert history.history["loss"][1] < history.history["loss"][0]
    _, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert test_accuracy >= 0.95  # about 0.965 over seeds 0-2


def test_a_vector_of_0_1_targets_may_already_be_on_the_device(array_backend):
    """0/1 targets given as a vector become a column, also when they are a backend array."""
    x, labels = classification_data(classes=2)
    host = Sequential([Dense(1, activation="sigmoid", input_shape=(5,))])
    host.compile(optimizer="sgd", loss="binary_crossentropy")
    device = Sequential([Dense(1, activation="sigmoid", input_shape=(5,))])
    device.compile(optimizer="sgd", loss="binary_crossentropy")
    device.set_weights(host.get_weights())
    targets = labels.astype(np.float32)
    host_loss = host.train_on_batch(x, targets)
    device_loss = device.train_on_batch(backend.asarray(x), backend.asarray(targets))
    assert device_loss == pytest.approx(host_loss, rel=1e-6)
    assert_same_weights(device.get_weights(), host.get_weights())


# --- sample and class weights --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["categorical_crossentropy", "sparse_categorical_crossentropy",
                                  "binary_crossentropy", "mse", "mae"])
def test_a_loss_with_weights_of_one_is_the_loss(array_backend, name):
    generator = np.random.default_rng(3)
    p = generator.uniform(0.05, 0.95, size=(6, 3))
    p /= p.sum(axis=1, keepdims=True)
    y = {"categorical_crossentropy": np.eye(3)[[0, 1, 2, 1, 0, 2]],
         "sparse_categorical_crossentropy": np.array([0, 1, 2, 1, 0, 2]),
         "binary_crossentropy": generator.integers(0, 2, (6, 3)).astype(float)}.get(name, generator.normal(size=(6, 3)))
    loss = losses.get(name)
    y_dev = backend.asarray(y, dtype="int64" if name.startswith("sparse") else None)
    p_dev = backend.asarray(p)
    plain = backend.to_scalar(loss.value(y_dev, p_dev))
    assert backend.to_scalar(loss.weighted_value(y_dev, p_dev, backend.asarray(np.ones(6)))) == pytest.approx(plain, rel=1e-6)
    weights = generator.uniform(0, 2, 6)
    per_sample = backend.to_numpy(loss.per_sample(y_dev, p_dev))
    assert per_sample.shape == (6,) and per_sample.mean() == pytest.approx(plain, rel=1e-6)
    assert backend.to_scalar(loss.weighted_value(y_dev, p_dev, backend.asarray(weights))) == pytest.approx(
        (weights * per_sample).sum() / 6, rel=1e-5)


def weighted_fit(learning_rate=0.1, **weights):
    x, labels = classification_data()
    model = softmax_model(learning_rate=learning_rate)
    history = model.fit(x, to_categorical(labels, 3), batch_size=8, epochs=2, shuffle=False, verbose=0, **weights)
    return model, history


def test_class_weight_is_a_sample_weight_per_label_as_in_keras():
    _, labels = classification_data()
    by_class, history = weighted_fit(class_weight={0: 0.5, 2: 3.0})  # label 1 keeps weight 1
    by_sample, _ = weighted_fit(sample_weight=np.array([0.5, 1.0, 3.0])[labels])
    plain, plain_history = weighted_fit()
    assert_same_weights(by_class.get_weights(), by_sample.get_weights())
    assert not np.allclose(by_class.get_weights()[0], plain.get_weights()[0])
    assert history.history["loss"] != plain_history.history["loss"]


def test_sample_weights_of_two_are_twice_the_learning_rate():
    """(1/n) sum 2 l_i is twice the loss: plain SGD takes the steps of twice the learning rate."""
    x, _ = classification_data()
    doubled, history = weighted_fit(learning_rate=0.1, sample_weight=np.full(len(x), 2.0))
    faster, faster_history = weighted_fit(learning_rate=0.2)
    for got, expected in zip(doubled.get_weights(), faster.get_weights()):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert history.history["loss"][0] == pytest.approx(2 * faster_history.history["loss"][0], rel=1e-5)
    assert history.history["accuracy"] == faster_history.history["accuracy"]


def test_the_held_out_samples_weights_weigh_the_validation_loss():
    x, labels = classification_data()
    y = to_categorical(labels, 3)
    weights = np.random.default_rng(0).uniform(0, 2, len(x))
    model = softmax_model()
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0, validation_split=0.25, sample_weight=weights)
    val_loss = model.evaluate(x[30:], y[30:], sample_weight=weights[30:], verbose=0)[0]
    assert history.history["val_loss"][0] == pytest.approx(val_loss, rel=1e-6)
    assert val_loss != pytest.approx(model.evaluate(x[30:], y[30:], verbose=0)[0], rel=1e-3)


def weighted_mean_loss(model, x, y, weights):
    """(1/N) sum_i w_i l_i over the whole set, from the model as it is."""
    p = model.predict(x)
    per_sample = backend.to_numpy(model.loss.per_sample(backend.asarray(y), backend.asarray(p)))
    return float((weights * per_sample).sum() / len(x))


def test_weighted_loss_of_a_shuffled_epoch_and_of_evaluate_in_chunks(array_backend):
    """Whatever the order and the chunks, each sample's loss must meet its own weight: an epoch's
    reported loss (with a learning rate too small to move the weights) and evaluate's are
    (1/N) sum_i w_i l_i; the metrics stay unweighted."""
    x, labels = classification_data()
    y = to_categorical(labels, 3)
    weights = np.random.default_rng(1).uniform(0, 3, len(x))
    model = softmax_model(learning_rate=1e-9)
    expected = weighted_mean_loss(model, x, y, weights)
    _, unweighted_accuracy = model.evaluate(x, y, verbose=0)
    history = model.fit(x, y, batch_size=7, epochs=1, shuffle=True, sample_weight=weights, verbose=0)
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-5)
    assert history.history["accuracy"][0] == pytest.approx(unweighted_accuracy, abs=1e-6)
    loss, accuracy = model.evaluate(x, y, batch_size=3, sample_weight=weights, verbose=0)
    assert loss == pytest.approx(expected, rel=1e-5) and accuracy == pytest.approx(unweighted_accuracy, abs=1e-6)
    assert model.test_on_batch(x, y, sample_weight=weights)[0] == pytest.approx(expected, rel=1e-5)


def test_validation_weights_come_with_the_validation_data_not_from_class_weight(array_backend):
    x, labels = classification_data()
    y = to_categorical(labels, 3)
    weights = np.random.default_rng(2).uniform(0, 3, 10)
    given = softmax_model()
    history = given.fit(x[:30], y[:30], epochs=1, verbose=0, validation_data=(x[30:], y[30:], weights))
    assert history.history["val_loss"][0] == pytest.approx(
        given.evaluate(x[30:], y[30:], sample_weight=weights, verbose=0)[0], rel=1e-6)
    by_class = softmax_model()
    history = by_class.fit(x, y, epochs=1, verbose=0, validation_split=0.25, class_weight={0: 5.0})
    assert history.history["val_loss"][0] == pytest.approx(by_class.evaluate(x[30:], y[30:], verbose=0)[0], rel=1e-6)


def test_train_on_batch_takes_weights_as_fit_does():
    x, labels = classification_data()
    y = to_categorical(labels, 3)
    one_step, by_fit = softmax_model(), softmax_model()
    by_fit.fit(x[:8], y[:8], batch_size=8, epochs=1, shuffle=False, verbose=0, class_weight={1: 4.0})
    one_step.train_on_batch(x[:8], y[:8], class_weight={1: 4.0})
    assert_same_weights(one_step.get_weights(), by_fit.get_weights())


# --- weighted metrics ----------------------------------------------------------------------------

# A fixed softmax layer on 10 samples: it is right on samples 4, 6 and 9, whose weights (1..10) sum
# to 22 of 55.
WEIGHTED_X = np.random.default_rng(0).normal(size=(10, 3)).astype(np.float32)
WEIGHTED_LABELS = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 1])
WEIGHTS_1_TO_10 = np.arange(1, 11, dtype=np.float32)


def fixed_softmax(**compiled):
    model = Sequential([Dense(3, activation="softmax", input_shape=(3,))])
    model.set_weights([np.array([[1, -1, 0.5], [0.2, 0.3, -0.4], [-0.5, 1, 0.1]], np.float32), np.zeros(3, np.float32)])
    model.compile(optimizer="sgd", loss="categorical_crossentropy", **compiled)
    return model


def test_weighted_metrics_are_the_weighted_means_keras_3_gives(array_backend):
    """Keras 3.15 (JAX), evaluate(batch_size=4, sample_weight=1..10) of the same layer and data:
    accuracy 0.3, weighted_accuracy 0.4 = 22/55 (the mean of the batches' weighted accuracies,
    weighted by their sizes, would be 0.29), loss 7.130958557128906. Keras's list is
    [loss, 0.3, 0.3, 0.4]: it names both accuracies "accuracy"; tinynet's has one value per name."""
    y = to_categorical(WEIGHTED_LABELS, 3)
    model = fixed_softmax(metrics=["accuracy"], weighted_metrics=["accuracy"])
    assert model.metrics_names == ["loss", "accuracy", "weighted_accuracy"]
    values = model.evaluate(WEIGHTED_X, y, batch_size=4, sample_weight=WEIGHTS_1_TO_10, verbose=0, return_dict=True)
    assert values == pytest.approx({"loss": 7.130958557128906, "accuracy": 0.3, "weighted_accuracy": 0.4}, rel=1e-6)
    assert model.evaluate(WEIGHTED_X, y, sample_weight=WEIGHTS_1_TO_10, verbose=0) == pytest.approx(
        list(values.values()), rel=1e-6)  # in chunks of any size
    assert model.test_on_batch(WEIGHTED_X, y, sample_weight=WEIGHTS_1_TO_10) == pytest.approx(
        list(values.values()), rel=1e-6)
    # Without weights, each sample weighs 1 (Keras: accuracy 0.3 and weighted_accuracy 0.3).
    unweighted = model.evaluate(WEIGHTED_X, y, verbose=0, return_dict=True)
    assert unweighted["accuracy"] == unweighted["weighted_accuracy"] == pytest.approx(0.3)
    # Only in weighted_metrics, a metric keeps its name (Keras: accuracy 0.4, mse 0.24496638774871826).
    only_weighted = fixed_softmax(weighted_metrics=["accuracy", "mse"])
    assert only_weighted.evaluate(WEIGHTED_X, y, batch_size=4, sample_weight=WEIGHTS_1_TO_10, verbose=0) == (
        pytest.approx([7.130958557128906, 0.4, 0.24496638774871826], rel=1e-6))


def test_a_weighted_metric_is_sum_w_m_over_sum_w_of_each_samples_value(array_backend):
    """Per-pixel values are averaged per sample first; weights of 0 leave a sample out, and a
    batch whose weights are all 0 counts for nothing (Keras's Mean divides with divide_no_nan)."""
    generator = np.random.default_rng(4)
    x = generator.normal(size=(9, 4, 4, 2)).astype(np.float32)
    y = generator.normal(size=(9, 4, 4, 1)).astype(np.float32)
    set_random_seed(0)
    model = Sequential([Conv2D(1, 3, padding="same", input_shape=(4, 4, 2))])
    model.compile(optimizer="sgd", loss="mse", weighted_metrics=["mae"])
    errors = np.abs(model.predict(x) - y).reshape(9, -1).mean(axis=1)
    weights = np.array([0, 0, 0, 2, 0.5, 1, 3, 0, 1], np.float32)
    expected = (weights * errors).sum() / weights.sum()
    _, mae = model.evaluate(x, y, batch_size=3, sample_weight=weights, verbose=0)  # the first batch weighs 0
    assert mae == pytest.approx(expected, rel=1e-5)
    assert model.evaluate(x[:3], y[:3], sample_weight=weights[:3], verbose=0)[1] == 0.0


def test_weighted_metrics_of_ones_own_and_top_k(array_backend):
    x, labels = classification_data(samples=12)
    weights = np.random.default_rng(5).uniform(0, 2, 12).astype(np.float32)

    def largest_output(y_true, y_pred):  # one value per sample
        return backend.namespace().max(y_pred, axis=-1)

    def top_2(y_true, y_pred):
        return metrics.top_k_categorical_accuracy(y_true, y_pred, k=2)

    def one_number(y_true, y_pred):  # the batch's value, taken as every sample's (Keras 3.15 fails on it)
        return 0.25

    model = softmax_model()
    model.compile(optimizer="sgd", loss="categorical_crossentropy",
                  weighted_metrics=[largest_output, top_2, "top_k_categorical_accuracy", one_number])
    p = model.predict(x)
    in_top_2 = (p > p[np.arange(12), labels][:, None]).sum(axis=1) < 2
    assert 0 < in_top_2.sum() < 12
    _, largest, top_2_share, top_5_share, constant = model.evaluate(x, to_categorical(labels, 3), batch_size=5,
                                                                    sample_weight=weights, verbose=0)
    assert largest == pytest.approx((weights * p.max(axis=1)).sum() / weights.sum(), rel=1e-5)
    assert top_2_share == pytest.approx((weights * in_top_2).sum() / weights.sum(), rel=1e-5)
    assert top_5_share == 1.0  # the top 5 of 3 classes hold every label
    assert constant == 0.25


# Keras 3.15 (JAX): this model, these weights, SGD(0.1), fit(batch_size=4, epochs=2, shuffle=False,
# class_weight={0: 1, 1: 3, 2: 0.5}, validation_data=(x_val, y_val, w_val)).
KERAS_WEIGHTED_HISTORY = {
    "accuracy": [0.4545454680919647, 0.5454545617103577],
    "loss": [2.5565781593322754, 0.883894145488739],
    "mse": [0.2134752720594406, 0.08112677186727524],
    "val_accuracy": [0.4444444477558136, 0.4444444477558136],
    "val_loss": [1.1435364484786987, 1.1269347667694092],
    "val_mse": [0.20192492008209229, 0.20326350629329681],
    "val_weighted_accuracy": [0.4952768087387085, 0.4952768087387085],
    "weighted_accuracy": [0.5813953280448914, 0.8372092843055725],
}


def test_fit_weighs_the_weighted_metrics_by_class_weight_and_the_validation_weights_as_keras_3(array_backend):
    generator = np.random.default_rng(5)
    x = generator.normal(size=(22, 3)).astype(np.float32)
    labels = np.argmax(x + generator.normal(scale=0.8, size=x.shape), axis=1)
    x_val = generator.normal(size=(9, 3)).astype(np.float32)
    y_val = to_categorical(np.argmax(x_val, axis=1), 3)
    w_val = generator.uniform(0, 2, size=9).astype(np.float32)
    weights = [generator.normal(scale=0.7, size=(3, 4)).astype(np.float32), np.zeros(4, np.float32),
               generator.normal(scale=0.7, size=(4, 3)).astype(np.float32), np.zeros(3, np.float32)]
    model = Sequential([Dense(4, activation="relu", input_shape=(3,)), Dense(3, activation="softmax")])
    model.set_weights(weights)
    model.compile(optimizer=SGD(0.1), loss="categorical_crossentropy", metrics=["accuracy"],
                  weighted_metrics=["accuracy", "mse"])
    history = model.fit(x, to_categorical(labels, 3), batch_size=4, epochs=2, shuffle=False, verbose=0,
                        class_weight={0: 1.0, 1: 3.0, 2: 0.5}, validation_data=(x_val, y_val, w_val))
    assert history.history.keys() == KERAS_WEIGHTED_HISTORY.keys()
    for name, values in KERAS_WEIGHTED_HISTORY.items():
        np.testing.assert_allclose(history.history[name], values, rtol=1e-5, err_msg=name)


def test_train_on_batch_returns_the_weighted_metrics_too():
    y = to_categorical(WEIGHTED_LABELS, 3)
    model = fixed_softmax(metrics=["accuracy"], weighted_metrics=["accuracy"])
    _, accuracy, weighted = model.train_on_batch(WEIGHTED_X, y, sample_weight=WEIGHTS_1_TO_10)
    assert (accuracy, weighted) == pytest.approx((0.3, 0.4))  # the values before the update
    assert len(model.train_on_batch(WEIGHTED_X, y)) == 3


# --- steps ---------------------------------------------------------------------------------------

STEPS_X = np.linspace(-1, 1, 30, dtype=np.float32).reshape(10, 3)
STEPS_Y = (STEPS_X @ np.array([[1.0], [-2.0], [0.5]], np.float32) + 0.3).astype(np.float32)


def linear_regression():
    model = Sequential([Dense(1, input_shape=(3,))])
    model.set_weights([np.array([[0.1], [0.2], [-0.3]], np.float32), np.zeros(1, np.float32)])
    model.compile(optimizer=SGD(0.1), loss="mse")
    return model


class BatchSizes(Callback):
    """The sizes of the batches of each epoch, and of each validation."""

    def __init__(self):
        super().__init__()
        self.epochs, self.validations = [], []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append([])

    def on_train_batch_begin(self, batch, logs=None):
        self.epochs[-1].append(logs["size"])

    def on_test_begin(self, logs=None):
        self.validations.append(0)

    def on_test_batch_end(self, batch, logs=None):
        self.validations[-1] += 1


# Keras 3.15 (JAX) on this model and data: fit(batch_size=3, epochs=4, steps_per_epoch=s,
# shuffle=False): the epochs' losses, the kernel after, and how many "ran out of data" warnings.
KERAS_STEPS = {
    3: ([0.15749046206474304, 0.004064276814460754, 0.023932039737701416, 1.3812583347316831e-05],
        [-0.06357713788747787, 0.05268355831503868, -0.4310557246208191], 2, [[3, 3, 3], [1], [3, 3, 3], [1]]),
    2: ([0.23540355265140533, 0.002264286857098341, 0.035007502883672714, 0.0013392844703048468],
        [-0.06357713788747787, 0.05268355831503868, -0.4310557246208191], 0, [[3, 3], [3, 1], [3, 3], [3, 1]]),
    6: ([0.14214785397052765, 0.021540217101573944, 0.003416607854887843, 0.0005458281957544386],
        [-0.0831630676984787, 0.03624457120895386, -0.4443477392196655], 4, [[3, 3, 3, 1]] * 4),
}


@pytest.mark.parametrize("steps", list(KERAS_STEPS))
def test_steps_per_epoch_goes_on_through_the_pass_as_keras_3(steps):
    """10 samples make 4 batches of 3: an epoch takes the next `steps` of them, stopping where the
    pass runs out; the next epoch starts a new pass."""
    losses_by_keras, kernel_by_keras, warnings_by_keras, sizes = KERAS_STEPS[steps]
    model, seen = linear_regression(), BatchSizes()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(STEPS_X, STEPS_Y, batch_size=3, epochs=4, steps_per_epoch=steps, shuffle=False,
                            verbose=0, callbacks=[seen])
    assert seen.epochs == sizes
    np.testing.assert_allclose(history.history["loss"], losses_by_keras, rtol=1e-5)
    np.testing.assert_allclose(model.get_weights()[0].ravel(), kernel_by_keras, rtol=1e-5)
    ran_out = [w for w in caught if f"steps_per_epoch={steps}, but the pass over the 10" in str(w.message)]
    assert len(ran_out) == len(caught) == warnings_by_keras
    assert all(w.filename == __file__ for w in ran_out)  # the warning points at the call of fit
    assert history.params["steps"] == steps


def test_steps_per_epoch_without_batch_size_makes_an_epoch_one_pass():
    """Keras 3.15: fit(epochs=2, steps_per_epoch=4) takes batches of ceil(10 / 4) = 3, losses
    [0.14214785397052765, 0.021540217101573944]."""
    model, seen = linear_regression(), BatchSizes()
    history = model.fit(STEPS_X, STEPS_Y, epochs=2, steps_per_epoch=4, shuffle=False, verbose=0, callbacks=[seen])
    assert seen.epochs == [[3, 3, 3, 1]] * 2 and history.params["batch_size"] == 3
    np.testing.assert_allclose(history.history["loss"], [0.14214785397052765, 0.021540217101573944], rtol=1e-5)


def test_a_shuffled_pass_is_shared_by_the_epochs_that_take_its_batches(monkeypatch):
    model = linear_regression()
    rows = np.arange(10, dtype=np.float32)[:, None] * np.ones((1, 3), np.float32)  # each row holds its index
    seen = []
    train_step = model._train_step

    def recording_step(x, y, sample_weight=None):
        seen.append(backend.to_numpy(x)[:, 0].astype(int).tolist())
        return train_step(x, y, sample_weight)

    monkeypatch.setattr(model, "_train_step", recording_step)
    set_random_seed(1)
    model.fit(rows, STEPS_Y, batch_size=3, epochs=4, steps_per_epoch=2, verbose=0)
    # Epochs 1 and 2 (2 batches each) make the first pass, epochs 3 and 4 the second.
    passes = [[row for batch in seen[:4] for row in batch], [row for batch in seen[4:] for row in batch]]
    assert [len(batch) for batch in seen] == [3, 3, 3, 1] * 2
    assert sorted(passes[0]) == sorted(passes[1]) == list(range(10))
    assert passes[0] != passes[1] and passes[0] != list(range(10))


def test_the_progress_bar_counts_steps_with_steps_per_epoch(capsys):
    """As in Keras 3, the bar of an epoch cut short by the end of the pass (the second) ends at
    steps_per_epoch too."""
    with pytest.warns(UserWarning, match="had 1 left"):
        linear_regression().fit(STEPS_X, STEPS_Y, batch_size=3, epochs=2, steps_per_epoch=3, verbose=1)
    lines = [line for line in capsys.readouterr().out.splitlines() if "[" in line]
    assert len(lines) == 2 and all(line.startswith("3/3 [==============================]") for line in lines)


# Keras 3.15: fit(x[:7], y[:7], epochs=2, batch_size=2, shuffle=False, validation_data=(x, y),
# validation_steps=2) validates on 2 batches of 2 (of validation_batch_size=3 with it).
@pytest.mark.parametrize("validation_batch_size, val_loss", [
    (None, [0.019652757793664932, 0.000883320695720613]),
    (3, [0.01498698815703392, 0.0007349566440097988]),
])
def test_validation_steps_validate_on_the_first_batches_as_keras_3(validation_batch_size, val_loss):
    model, seen = linear_regression(), BatchSizes()
    history = model.fit(STEPS_X[:7], STEPS_Y[:7], epochs=2, batch_size=2, shuffle=False, verbose=0, callbacks=[seen],
                        validation_data=(STEPS_X, STEPS_Y), validation_steps=2,
                        validation_batch_size=validation_batch_size)
    np.testing.assert_allclose(history.history["val_loss"], val_loss, rtol=1e-5)
    assert seen.validations == [2, 2]


def test_validation_batch_size_is_the_batches_a_test_callback_sees():
    plain, model, seen = linear_regression(), linear_regression(), BatchSizes()
    history = model.fit(STEPS_X[:7], STEPS_Y[:7], epochs=1, batch_size=2, shuffle=False, verbose=0, callbacks=[seen],
                        validation_data=(STEPS_X, STEPS_Y), validation_batch_size=4)
    expected = plain.fit(STEPS_X[:7], STEPS_Y[:7], epochs=1, batch_size=2, shuffle=False, verbose=0,
                         validation_data=(STEPS_X, STEPS_Y))
    assert seen.validations == [3]  # 10 rows in batches of 4, not fit's 2
    assert history.history["val_loss"] == pytest.approx(expected.history["val_loss"], rel=1e-6)


def test_evaluate_and_predict_steps_take_the_first_batches_as_keras_3():
    """Keras 3.15 on this model: evaluate(steps=2, batch_size=3) is 0.28121283650398254, the loss
    of the first 6 rows; steps=2 without batch_size covers all the rows (0.17419739067554474);
    steps=7 of 3 rows runs the 4 batches there are, with a warning. predict(steps=2, batch_size=3)
    gives 6 rows, predict(steps=3) batches of 4, 4 and 2."""
    model = linear_regression()
    assert model.evaluate(STEPS_X, STEPS_Y, steps=2, batch_size=3, verbose=0) == pytest.approx(0.28121283650398254)
    assert model.evaluate(STEPS_X, STEPS_Y, steps=2, verbose=0) == pytest.approx(0.17419739067554474)
    with pytest.warns(UserWarning, match="steps=7 asks for more batches than the data has: 10 samples make 4"):
        assert model.evaluate(STEPS_X, STEPS_Y, steps=7, batch_size=3, verbose=0) == pytest.approx(0.17419739067554474)
    np.testing.assert_allclose(model.predict(STEPS_X, steps=2, batch_size=3), model.predict(STEPS_X[:6]), rtol=1e-6)

    class OutputSizes(Callback):
        def __init__(self):
            super().__init__()
            self.sizes = []

        def on_predict_batch_end(self, batch, logs=None):
            self.sizes.append(len(logs["outputs"]))

    sizes = OutputSizes()
    assert model.predict(STEPS_X, steps=3, callbacks=[sizes]).shape == (10, 1)
    assert sizes.sizes == [4, 4, 2] and sizes.params["steps"] == 3
