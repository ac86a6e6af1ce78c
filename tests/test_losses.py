"""Keras 3's loss arguments: ``from_logits`` and ``label_smoothing``, checked against numbers
computed with Keras and against the formulas; the TensorFlow quickstart's model, which trains
from logits."""

import warnings

import numpy as np
import pytest

from tinynet import backend, losses
from tinynet.layers import Dense, Dropout, Flatten
from tinynet.models import Sequential
from tinynet.optimizers import SGD
from tinynet.utils import set_random_seed

# --- one SGD step against Keras --------------------------------------------------------------------

# A Flatten -> Dense(4, relu) -> Dense(3, last activation) model with these weights, trained for one
# step of SGD(0.1) on one batch of 5 samples (fit with batch_size=5, shuffle=False).
_STEP_RNG = np.random.default_rng(0)
STEP_X = _STEP_RNG.normal(size=(5, 3, 2)).astype("float32")
STEP_LABELS = np.array([0, 2, 1, 2, 0])
STEP_WEIGHTS = [(_STEP_RNG.normal(size=(6, 4)) * 0.5).astype("float32"),
                (_STEP_RNG.normal(size=4) * 0.1).astype("float32"),
                (_STEP_RNG.normal(size=(4, 3)) * 0.5).astype("float32"),
                (_STEP_RNG.normal(size=3) * 0.1).astype("float32")]

# The loss fit reported and the last layer's kernel and bias after the step, printed by Keras 3.15
# on TensorFlow for the same model, weights and batch (JAX gives the same numbers, to 1e-8, except
# for the softmax followed by from_logits=True: see the test below).
_SPARSE_STEP = (1.0957396030426025,
                [-0.5933965, -0.3323612, -0.21537021, -0.584901, 0.8696839, -0.24795537,
                 0.16157775, -0.12201066, 0.7873679, 0.66439, 0.31409577, -1.1033839],
                [0.01283893, 0.055299, 0.10582975])
_SMOOTHED_CATEGORICAL_STEP = (1.097093105316162,
                              [-0.59324825, -0.33221298, -0.2156666, -0.584901, 0.8696839, -0.24795537,
                               0.16190946, -0.12267408, 0.7876996, 0.66392744, 0.31432706, -1.1031525],
                              [0.01217226, 0.05663233, 0.10516308])
_SMOOTHED_BINARY_STEP = (0.7021485567092896,
                         [-0.592605, -0.33144218, -0.21764405, -0.584901, 0.8696839, -0.24795537,
                          0.16308586, -0.12796281, 0.7900078, 0.66097087, 0.31564838, -1.1025182],
                         [0.00219569, 0.05984644, 0.0969678])
# The same for the focal losses, on TensorFlow (and JAX, to 1e-9), with one-hot targets. Neither
# fuses with its activation, so after a sigmoid or a softmax the step is the one from the logits.
_FOCAL_BINARY_STEP = (0.10890828,
                      [-0.59230387, -0.33113787, -0.21811518, -0.58490098, 0.86968392, -0.24795537,
                       0.16376704, -0.12904263, 0.79064023, 0.66030556, 0.31612033, -1.1020628],
                      [0.0022018014, 0.063144907, 0.09673325])
_FOCAL_CATEGORICAL_STEP = (0.19071169,
                           [-0.59244174, -0.33128345, -0.21740267, -0.58490098, 0.86968392, -0.24795537,
                            0.1629177, -0.12536423, 0.7893815, 0.66093934, 0.31621113, -1.1020485],
                           [0.0034594035, 0.069633834, 0.10087444])
KERAS_STEPS = {
    "SparseCategoricalCrossentropy(from_logits=True)": (
        None, lambda: losses.SparseCategoricalCrossentropy(from_logits=True), "labels", _SPARSE_STEP),
    "CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)": (
        None, lambda: losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1), "one-hot",
        _SMOOTHED_CATEGORICAL_STEP),
    "softmax, CategoricalCrossentropy(label_smoothing=0.1)": (
        "softmax", lambda: losses.CategoricalCrossentropy(label_smoothing=0.1), "one-hot",
        _SMOOTHED_CATEGORICAL_STEP),
    "BinaryCrossentropy(from_logits=True, label_smoothing=0.2)": (
        None, lambda: losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.2), "one-hot",
        _SMOOTHED_BINARY_STEP),
    "sigmoid, BinaryCrossentropy(label_smoothing=0.2)": (
        "sigmoid", lambda: losses.BinaryCrossentropy(label_smoothing=0.2), "one-hot", _SMOOTHED_BINARY_STEP),
    "BinaryFocalCrossentropy(apply_class_balancing=True, from_logits=True, label_smoothing=0.1)": (
        None,
        lambda: losses.BinaryFocalCrossentropy(apply_class_balancing=True, from_logits=True, label_smoothing=0.1),
        "one-hot", _FOCAL_BINARY_STEP),
    "sigmoid, BinaryFocalCrossentropy(apply_class_balancing=True, label_smoothing=0.1)": (
        "sigmoid", lambda: losses.BinaryFocalCrossentropy(apply_class_balancing=True, label_smoothing=0.1),
        "one-hot", _FOCAL_BINARY_STEP),
    "CategoricalFocalCrossentropy(alpha=[0.2, 0.5, 0.3], gamma=1.5, from_logits=True)": (
        None, lambda: losses.CategoricalFocalCrossentropy(alpha=[0.2, 0.5, 0.3], gamma=1.5, from_logits=True),
        "one-hot", _FOCAL_CATEGORICAL_STEP),
    "softmax, CategoricalFocalCrossentropy(alpha=[0.2, 0.5, 0.3], gamma=1.5)": (
        "softmax", lambda: losses.CategoricalFocalCrossentropy(alpha=[0.2, 0.5, 0.3], gamma=1.5), "one-hot",
        _FOCAL_CATEGORICAL_STEP),
}


def _one_step(activation, loss, targets):
    model = Sequential([Flatten(input_shape=(3, 2)), Dense(4, activation="relu"), Dense(3, activation=activation)])
    model.set_weights(STEP_WEIGHTS)
    model.compile(optimizer=SGD(0.1), loss=loss)
    y = STEP_LABELS if targets == "labels" else np.eye(3, dtype="float32")[STEP_LABELS]
    history = model.fit(STEP_X, y, batch_size=5, epochs=1, shuffle=False, verbose=0)
    return history.history["loss"][0], model.get_weights()


@pytest.mark.parametrize("description", list(KERAS_STEPS))
def test_one_sgd_step_reports_kerass_loss_and_moves_the_weights_as_keras(array_backend, description):
    activation, make_loss, targets, (keras_loss, keras_kernel, keras_bias) = KERAS_STEPS[description]
    loss, weights = _one_step(activation, make_loss(), targets)
    assert loss == pytest.approx(keras_loss, rel=1e-6)
    np.testing.assert_allclose(weights[2].ravel(), keras_kernel, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(weights[3], keras_bias, rtol=1e-6, atol=1e-7)


def test_from_logits_after_a_softmax_warns_and_reads_the_logits_as_keras_on_tensorflow(array_backend):
    """Keras on TensorFlow warns ("Was this intended?") and computes the loss from the logits under
    the softmax, giving the same step as from_logits=True on a last layer without activation (its
    numbers above); Keras on JAX applies the softmax twice (1.0960605 there)."""
    with pytest.warns(UserWarning, match="received `from_logits=True`.*softmax activation.*Was this intended"):
        loss, weights = _one_step("softmax", losses.CategoricalCrossentropy(from_logits=True), "one-hot")
    keras_loss, keras_kernel, keras_bias = _SPARSE_STEP
    assert loss == pytest.approx(keras_loss, rel=1e-6)
    np.testing.assert_allclose(weights[2].ravel(), keras_kernel, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(weights[3], keras_bias, rtol=1e-6, atol=1e-7)


def test_from_logits_on_logits_does_not_warn():
    model = Sequential([Dense(3, input_shape=(2,))])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.compile(optimizer="sgd", loss=losses.SparseCategoricalCrossentropy(from_logits=True))


# --- values against the formulas --------------------------------------------------------------------

Z = np.array([[2.0, -1.0, 0.5], [-3.0, 40.0, 1.0], [0.1, 0.2, -60.0]])
LABELS = np.array([0, 2, 2])
ONE_HOT = np.eye(3)[LABELS]


def _log_softmax(z):
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _log_sigmoid(z):
    return -np.logaddexp(0.0, -z)


def test_categorical_crossentropy_from_logits_with_label_smoothing_is_the_formula(float64_backend):
    """-sum(y_s log softmax(z)) with y_s = y (1 - s) + s / k, exact for logits 40 apart."""
    smoothed = ONE_HOT * 0.7 + 0.3 / 3
    expected = -np.sum(smoothed * _log_softmax(Z), axis=-1)
    got = losses.categorical_crossentropy(backend.asarray(ONE_HOT), backend.asarray(Z), from_logits=True,
                                          label_smoothing=0.3)
    np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=1e-12)
    loss = losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.3)
    assert backend.to_scalar(loss(backend.asarray(ONE_HOT), backend.asarray(Z))) == pytest.approx(expected.mean())


def test_sparse_categorical_crossentropy_from_logits_is_the_formula(float64_backend):
    expected = -_log_softmax(Z)[np.arange(3), LABELS]
    got = losses.sparse_categorical_crossentropy(backend.asarray(LABELS, "int64"), backend.asarray(Z),
                                                 from_logits=True)
    np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=1e-12)


def test_binary_crossentropy_from_logits_with_label_smoothing_is_the_formula(float64_backend):
    """-mean(y_s log sigmoid(z) + (1 - y_s) log sigmoid(-z)) with y_s = y (1 - s) + s / 2."""
    smoothed = ONE_HOT * 0.8 + 0.1
    expected = -np.mean(smoothed * _log_sigmoid(Z) + (1 - smoothed) * _log_sigmoid(-Z), axis=-1)
    got = losses.binary_crossentropy(backend.asarray(ONE_HOT), backend.asarray(Z), from_logits=True,
                                     label_smoothing=0.2)
    np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=1e-12)


def test_label_smoothing_on_probabilities_is_the_formula(float64_backend):
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    y = np.eye(3)[[0, 1]]
    categorical = -np.sum((y * 0.9 + 0.1 / 3) * np.log(p), axis=-1)
    got = losses.categorical_crossentropy(backend.asarray(y), backend.asarray(p), label_smoothing=0.1)
    np.testing.assert_allclose(backend.to_numpy(got), categorical, rtol=1e-12)
    soft = y * 0.9 + 0.05
    binary = -np.mean(soft * np.log(p) + (1 - soft) * np.log(1 - p), axis=-1)
    got = losses.binary_crossentropy(backend.asarray(y), backend.asarray(p), label_smoothing=0.1)
    np.testing.assert_allclose(backend.to_numpy(got), binary, rtol=1e-12)


# --- bad arguments ----------------------------------------------------------------------------------


@pytest.mark.parametrize("make, error, message", [
    (lambda: losses.CategoricalCrossentropy(from_logits="yes"), TypeError, "from_logits must be True or False; got 'yes'"),
    (lambda: losses.SparseCategoricalCrossentropy(from_logits=None), TypeError, "from_logits must be True or False"),
    (lambda: losses.BinaryCrossentropy(label_smoothing=1.5), ValueError, "label_smoothing must be a number from 0 to 1; got 1.5"),
    (lambda: losses.CategoricalCrossentropy(label_smoothing=-0.1), ValueError, "from 0 to 1; got -0.1"),
    (lambda: losses.CategoricalCrossentropy(label_smoothing="0.1"), ValueError, "from 0 to 1; got '0.1'"),
    (lambda: losses.categorical_crossentropy(np.eye(2), np.eye(2), label_smoothing=True), ValueError, "got True"),
    (lambda: losses.BinaryFocalCrossentropy(apply_class_balancing="yes"), TypeError,
     "apply_class_balancing must be True or False; got 'yes'"),
    (lambda: losses.BinaryFocalCrossentropy(alpha=1.5), ValueError, "alpha must be a number from 0 to 1; got 1.5"),
    (lambda: losses.BinaryFocalCrossentropy(alpha=[0.2, 0.8]), ValueError, "from 0 to 1; got \\[0.2, 0.8\\]"),
    (lambda: losses.BinaryFocalCrossentropy(gamma=-1), ValueError, "gamma must be a number >= 0; got -1"),
    (lambda: losses.CategoricalFocalCrossentropy(gamma=float("nan")), ValueError,
     "gamma must be a number >= 0; got nan"),
    (lambda: losses.CategoricalFocalCrossentropy(alpha=-0.25), ValueError,
     "alpha must be a number >= 0, or a list of them with one weight per class; got -0.25"),
    (lambda: losses.CategoricalFocalCrossentropy(alpha=[0.5, -1.0]), ValueError, "got \\[0.5, -1.0\\]"),
    (lambda: losses.CategoricalFocalCrossentropy(alpha=[]), ValueError, "got \\[\\]"),
    (lambda: losses.CategoricalFocalCrossentropy(alpha="0.25"), ValueError, "got '0.25'"),
    (lambda: losses.categorical_focal_crossentropy(np.eye(3), np.eye(3) * 0.8 + 0.05, alpha=[1.0, 2.0]), ValueError,
     "alpha holds 2 class weights, but the predictions have 3 classes \\(shape \\(3, 3\\)\\)"),
])
def test_bad_loss_arguments_are_refused_with_what_was_given(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_loss_arguments_show_in_repr_and_config():
    loss = losses.CategoricalCrossentropy(label_smoothing=0.1)
    assert loss.get_config() == {"from_logits": False, "label_smoothing": 0.1}
    assert repr(loss) == "CategoricalCrossentropy(from_logits=False, label_smoothing=0.1)"
    assert losses.SparseCategoricalCrossentropy(from_logits=True).get_config() == {"from_logits": True}
    assert repr(losses.MeanSquaredError()) == "MeanSquaredError()"


def test_focal_loss_arguments_show_in_config_with_kerass_defaults():
    assert losses.BinaryFocalCrossentropy().get_config() == {
        "apply_class_balancing": False, "alpha": 0.25, "gamma": 2.0, "from_logits": False, "label_smoothing": 0.0}
    assert losses.CategoricalFocalCrossentropy().get_config() == {
        "alpha": 0.25, "gamma": 2.0, "from_logits": False, "label_smoothing": 0.0}
    # Class weights from NumPy (scikit-learn's compute_class_weight gives an array) become a list
    # of floats, which the saved model's JSON can hold.
    loss = losses.CategoricalFocalCrossentropy(alpha=np.array([0.5, 2.0, 1.25]), gamma=np.float32(1.5))
    assert loss.get_config()["alpha"] == [0.5, 2.0, 1.25] and type(loss.get_config()["gamma"]) is float
    assert repr(loss) == ("CategoricalFocalCrossentropy(alpha=[0.5, 2.0, 1.25], gamma=1.5, from_logits=False, "
                          "label_smoothing=0.0)")


# --- the TensorFlow quickstart's model ----------------------------------------------------------------


def quickstart_model():
    model = Sequential([Flatten(input_shape=(28, 28)), Dense(128, activation="relu"), Dropout(0.2), Dense(10)])
    model.compile(optimizer="adam", loss=losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return model


def test_the_quickstart_model_learns_from_logits_on_synthetic_digits():
    """Ten random 28x28 prototypes, each sample one of them plus noise: the model trained from
    its logits tells them apart."""
    generator = np.random.default_rng(0)
    prototypes = generator.uniform(size=(10, 28, 28))
    labels = generator.integers(0, 10, size=600)
    x = (prototypes[labels] + generator.normal(scale=0.5, size=(600, 28, 28))).astype("float32")
    set_random_seed(0)
    model = quickstart_model()
    history = model.fit(x[:500], labels[:500], epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    _, accuracy = model.evaluate(x[500:], labels[500:], verbose=0)
    assert accuracy >= 0.95


@pytest.mark.mnist
def test_the_tensorflow_quickstart_runs_unchanged_on_mnist(mnist_data):
    """The quickstart's own code: pixels / 255, integer labels, 5 epochs; TensorFlow's page shows
    about 0.98 test accuracy. One epoch here, to stay quick: 0.955 and 0.958 with seeds 0 and 1,
    where Keras 3 (JAX) gave 0.960 and 0.954."""
    (x_train, y_train), (x_test, y_test) = mnist_data
    x_train, x_test = x_train / 255.0, x_test / 255.0
    set_random_seed(0)
    model = quickstart_model()
    model.fit(x_train, y_train, epochs=1, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test, verbose=2)
    assert accuracy >= 0.95


# --- losses and metrics named by class -----------------------------------------------------------


@pytest.mark.parametrize("name, cls", [
    ("CategoricalCrossentropy", losses.CategoricalCrossentropy),
    ("SparseCategoricalCrossentropy", losses.SparseCategoricalCrossentropy),
    ("BinaryCrossentropy", losses.BinaryCrossentropy),
    ("MeanSquaredError", losses.MeanSquaredError),
    ("MeanAbsoluteError", losses.MeanAbsoluteError),
    ("bce", losses.BinaryCrossentropy),
])
def test_compile_takes_a_loss_by_its_class_name_as_keras_3(name, cls):
    model = Sequential([Dense(3, activation="softmax", input_shape=(2,))])
    model.compile(optimizer="sgd", loss=name)
    assert type(model.loss) is cls and model.loss.get_config() == cls().get_config()


def test_class_names_are_spelt_exactly_as_in_keras():
    with pytest.raises(ValueError, match="Unknown loss 'MeanSquaredEror'.*Did you mean 'mean_squared_error'"):
        losses.get("MeanSquaredEror")
    with pytest.raises(ValueError, match="Unknown loss 'meansquarederror'"):
        losses.get("meansquarederror")  # Keras refuses it too


def test_metrics_by_class_name_are_logged_under_that_name_as_keras_3():
    """Keras 3.15 logs metrics=["CategoricalAccuracy", "MeanSquaredError"] under those names."""
    x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype="float32")
    y = np.eye(2, dtype="float32")[[0, 1, 1]]
    model = Sequential([Dense(2, activation="softmax", input_shape=(2,))])
    model.compile(optimizer="sgd", loss="CategoricalCrossentropy",
                  metrics=["CategoricalAccuracy", "MeanSquaredError", "categorical_accuracy", "mse"])
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert logs["CategoricalAccuracy"] == logs["categorical_accuracy"]
    assert logs["MeanSquaredError"] == logs["mse"]
    assert logs["mse"] == pytest.approx(float(np.mean((model.predict(x, verbose=0) - y) ** 2)))


# --- more of Keras's losses, against Keras's numbers -------------------------------------------------

Y01 = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
P = np.array([[0.2, 0.7, 0.1], [0.5, -0.3, 2.5], [0.05, 0.15, 0.8], [1.9, -1.2, 0.4]])
Y_SIGNED = np.array([[-1.0, 1.0, -1.0], [1.0, -1.0, 1.0], [0.5, 2.0, -1.0], [1.0, 1.0, -1.0]])
COUNTS = np.array([[0.3, 2.0, 0.0], [4.0, 0.1, 1.0], [0.0, 1.5, 3.0], [2.2, 0.7, 0.05]])
PROBABILITIES = np.array([[0.25, 0.6, 0.15], [0.5, 0.3, 0.2], [0.05, 0.15, 0.8], [0.7, 0.2, 0.1]])
SOFT = np.array([[0.1, 0.8, 0.3], [1.0, 0.5, 0.0], [0.2, 0.0, 0.9], [0.6, 0.6, 0.4]])
# Predictions of exactly 0 and 1, where the cross-entropies' clip acts: the focal losses clip p in
# their logarithm only, so a right prediction of exactly 0 or 1 costs exactly 0.
Y_EDGES, P_EDGES = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.array([[0.9, 0.2], [0.0, 1.0], [1.0, 0.4]])
P_CLASSES_EDGES = np.array([[0.6, 0.3, 0.3], [0.5, 0.0, 0.5], [0.0, 0.0, 1.0], [0.2, 0.7, 0.1]])

# Each sample's loss from Keras 3.15's function forms on TensorFlow, given these float64 arrays
# (keras.losses.huber(Y01, 2 * P), ...), which TensorFlow computes in float64.
KERAS_VALUES = {
    "huber": ("huber", {}, Y01, P * 2, [0.06, 1.5599999999999998, 0.07666666666666667, 2.1733333333333333]),
    "huber, delta=0.5": ("huber", {"delta": 0.5}, Y01, P * 2, [0.06, 0.85, 0.07500000000000001, 1.2083333333333333]),
    "kl_divergence": ("kl_divergence", {}, PROBABILITIES[::-1], PROBABILITIES,
                      [0.4604646234823722, 0.8899341571622184, 1.0819778284410282, 0.46258228512180083]),
    "hinge, 0/1 targets": ("hinge", {}, Y01, P,
                           [0.8666666666666667, 1.5666666666666667, 0.8000000000000002, 2.1666666666666665]),
    "hinge, other targets": ("hinge", {}, Y_SIGNED, P, [0.8666666666666667, 0.39999999999999997, 1.1583333333333332, 1.2]),
    "squared_hinge, 0/1 targets": ("squared_hinge", {}, Y01, P, [0.9133333333333334, 4.33, 0.8216666666666667,
                                                                  5.069999999999999]),
    "squared_hinge, other targets": ("squared_hinge", {}, Y_SIGNED, P,
                                     [0.9133333333333334, 0.24666666666666667, 1.5602083333333334, 2.266666666666667]),
    "categorical_hinge": ("categorical_hinge", {}, Y01, P, [0.5, 3.0, 0.35, 4.1]),
    # Keras subtracts log 2 rounded to float32 even in float64: its numbers plus that rounding error.
    "log_cosh": ("log_cosh", {}, Y01, P * 5,
                 np.array([0.7891544998855048, 4.505911051922524, 0.8661747999689302, 5.479569739218394])
                 + (float(np.float32(np.log(2.0))) - np.log(2.0))),
    "poisson": ("poisson", {}, COUNTS, PROBABILITIES * 3,
                [0.636910380273397, 0.6331669328182316, 0.5237849579772216, 0.5951713934508791]),
    "mean_absolute_percentage_error": ("mean_absolute_percentage_error", {}, Y_SIGNED, P,
                                       [86.66666666666667, 90.0, 120.83333333333333, 150.0]),
    "mean_absolute_percentage_error, targets of 0": ("mean_absolute_percentage_error", {}, Y01, P,
                                                     [100000010.00000001, 933333350.0, 66666673.33333333, 766666740.0]),
    "mean_squared_logarithmic_error": ("mean_squared_logarithmic_error", {}, COUNTS, P * 2,
                                       [0.029508716545775127, 0.6852072258144547, 0.2074259189614616,
                                        0.2454951387983028]),
    "cosine_similarity": ("cosine_similarity", {}, Y_SIGNED, P,
                          [-0.31426968052735443, -0.7421823211823151, 0.2542161488578884, -0.07588252361140425]),
    "binary_focal_crossentropy": ("binary_focal_crossentropy", {}, Y01, PROBABILITIES,
                                  [0.03445630174816493, 0.07143776071568021, 0.004236883734079066,
                                   0.5403468477447037]),
    "binary_focal_crossentropy, class balancing": (
        "binary_focal_crossentropy", {"apply_class_balancing": True, "alpha": 0.4, "gamma": 1.5}, Y01, PROBABILITIES,
        [0.02631099068841176, 0.04838851939431391, 0.00466413674576168, 0.29523992363920193]),
    "binary_focal_crossentropy, soft targets smoothed": (
        "binary_focal_crossentropy", {"gamma": 3.0, "label_smoothing": 0.1}, SOFT, PROBABILITIES,
        [0.03519952911471775, 0.06258074053332074, 0.007833820456809209, 0.10874584476508044]),
    "binary_focal_crossentropy, from logits": (
        "binary_focal_crossentropy", {"apply_class_balancing": True, "from_logits": True, "label_smoothing": 0.2},
        Y01, P * 3, [0.1480605898700871, 1.2877647243334935, 0.12303500780937472, 1.3768708902621085]),
    "binary_focal_crossentropy, predictions of 0 and 1": (
        "binary_focal_crossentropy", {"gamma": 1.5}, Y_EDGES, P_EDGES, [0.011645179014228534, 0.0, 0.21292672468996846]),
    "binary_focal_crossentropy, predictions of 0 and 1, smoothed": (
        "binary_focal_crossentropy", {"gamma": 1.5, "label_smoothing": 0.1}, Y_EDGES, P_EDGES,
        [0.021766678967604616, 0.009010290448126086, 0.20753714969125586]),
    "categorical_focal_crossentropy": ("categorical_focal_crossentropy", {}, Y01, PROBABILITIES,
                                       [0.020433024950639634, 0.04332169878499658, 0.002231435513142096,
                                        0.25751006598945597]),
    "categorical_focal_crossentropy, predictions of 0 and 1, rows not summing to 1": (
        "categorical_focal_crossentropy", {}, np.eye(3)[[0, 1, 2, 1]], P_CLASSES_EDGES,
        [0.04332169878499658, 4.029523106834838, 2.500000121052339e-22, 0.008025186238621472]),
    "categorical_focal_crossentropy, smoothed": (
        "categorical_focal_crossentropy", {"alpha": 0.5, "gamma": 1.0, "label_smoothing": 0.2}, Y01, PROBABILITIES,
        [0.17695220005253562, 0.22119293222050268, 0.1679556960148745, 0.6305827785396967]),
    "categorical_focal_crossentropy, from logits": (
        "categorical_focal_crossentropy", {"from_logits": True}, Y01, P * 3,
        [0.006421238165083422, 1.4932646204457556, 0.002179915552762421, 2.3273636417842565]),
    # Keras on TensorFlow rounds a list of class weights to float32 (0.2 becomes 0.200000003):
    # these numbers are Keras's on JAX (with float64 enabled), which keeps them.
    "categorical_focal_crossentropy, class weights, rows not summing to 1": (
        "categorical_focal_crossentropy", {"alpha": [0.2, 0.5, 0.3], "gamma": 2.5}, Y01,
        PROBABILITIES * [1.0, 2.0, 0.5],
        [0.002512595882200954, 0.045505367156734124, 0.028055535753216867, 0.1813694527501283]),
}


@pytest.mark.parametrize("case", list(KERAS_VALUES))
def test_more_losses_give_kerass_values(float64_backend, case):
    """The function form gives Keras's per-sample values; the class, by its name in compile too,
    gives their mean."""
    name, arguments, y, p, expected = KERAS_VALUES[case]
    got = getattr(losses, name)(backend.asarray(y), backend.asarray(p), **arguments)
    np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=1e-12)
    loss = losses.get(name) if not arguments else type(losses.get(name))(**arguments)
    assert backend.to_scalar(loss(backend.asarray(y), backend.asarray(p))) == pytest.approx(np.mean(expected), rel=1e-12)


def test_focal_losses_with_gamma_0_are_the_crossentropies(float64_backend):
    """No focal factor: the binary one is the binary cross-entropy; the categorical one with
    alpha=1 is the categorical cross-entropy."""
    y, p = backend.asarray(Y01), backend.asarray(PROBABILITIES)
    np.testing.assert_allclose(backend.to_numpy(losses.binary_focal_crossentropy(y, p, gamma=0)),
                               backend.to_numpy(losses.binary_crossentropy(y, p)), rtol=1e-15)
    np.testing.assert_allclose(backend.to_numpy(losses.categorical_focal_crossentropy(y, p, alpha=1.0, gamma=0)),
                               backend.to_numpy(losses.categorical_crossentropy(y, p)), rtol=1e-15)


@pytest.mark.parametrize("name, cls", [
    ("Huber", losses.Huber), ("huber", losses.Huber), ("KLDivergence", losses.KLDivergence),
    ("kl_divergence", losses.KLDivergence), ("kld", losses.KLDivergence), ("KLD", losses.KLDivergence),
    ("Hinge", losses.Hinge), ("SquaredHinge", losses.SquaredHinge), ("squared_hinge", losses.SquaredHinge),
    ("CategoricalHinge", losses.CategoricalHinge), ("LogCosh", losses.LogCosh), ("log_cosh", losses.LogCosh),
    ("Poisson", losses.Poisson), ("MeanAbsolutePercentageError", losses.MeanAbsolutePercentageError),
    ("mape", losses.MeanAbsolutePercentageError), ("MeanSquaredLogarithmicError", losses.MeanSquaredLogarithmicError),
    ("msle", losses.MeanSquaredLogarithmicError), ("CosineSimilarity", losses.CosineSimilarity),
    ("cosine_similarity", losses.CosineSimilarity), ("BinaryFocalCrossentropy", losses.BinaryFocalCrossentropy),
    ("binary_focal_crossentropy", losses.BinaryFocalCrossentropy),
    ("CategoricalFocalCrossentropy", losses.CategoricalFocalCrossentropy),
    ("categorical_focal_crossentropy", losses.CategoricalFocalCrossentropy),
])
def test_more_losses_by_kerass_names(name, cls):
    assert type(losses.get(name)) is cls
    assert type(losses.get(getattr(losses, cls.name))) is cls  # the function form, given to compile


@pytest.mark.parametrize("make, message", [
    (lambda: losses.Huber(delta=0), "delta must be a number > 0; got 0"),
    (lambda: losses.Huber(delta="1"), "delta must be a number > 0; got '1'"),
    (lambda: losses.huber(np.ones(2), np.ones(2), delta=-1.0), "got -1.0"),
    (lambda: losses.CosineSimilarity(axis=0), "along the last axis only \\(axis=-1\\); got axis=0"),
])
def test_bad_arguments_of_the_other_losses(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_a_model_compiled_with_huber_comes_back_with_its_delta(tmp_path):
    from tinynet.models import load_model

    model = Sequential([Dense(2, input_shape=(3,))])
    model.compile(optimizer="sgd", loss=losses.Huber(delta=0.25))
    model.save(tmp_path / "huber.npz")
    loaded = load_model(tmp_path / "huber.npz")
    assert type(loaded.loss) is losses.Huber and loaded.loss.delta == 0.25
