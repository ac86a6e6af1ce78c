"""Bad input at the public boundary: each mistake a learner makes gets a ValueError or TypeError
(FileNotFoundError for a missing file) whose message names what was expected and what was
given, raised before anything changes: the weights, the optimizer (its step count and its
per-weight slots) and the compiled loss and metrics are exactly as they were.
"""

import functools
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest

from tinynet import activations, backend, initializers, losses
from tinynet.callbacks import Callback, LearningRateScheduler
from tinynet.datasets import mnist
from tinynet.layers import (
    Activation,
    BatchNormalization,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    LeakyReLU,
    MaxPooling2D,
    ReLU,
    Softmax,
)
from tinynet.metrics import AUC, Recall
from tinynet.models import Sequential
from tinynet.utils import to_categorical, validation

LOSS = "categorical_crossentropy"
SPARSE = "sparse_categorical_crossentropy"


@dataclass
class Data:
    """What a case may use: 10 samples of 4 features, their labels (0..2), one-hot targets, a folder."""

    x: np.ndarray
    labels: np.ndarray
    y: np.ndarray
    folder: object


@pytest.fixture
def data(tmp_path):
    rng = np.random.default_rng(0)
    labels = np.arange(10) % 3
    return Data(rng.random((10, 4), dtype=np.float32), labels, to_categorical(labels, 3), tmp_path)


def loss_named_metric(y_true, y_pred):
    return 0.0


loss_named_metric.__name__ = "loss"


def regression_model():
    model = Sequential([Dense(3, input_shape=(4,))])
    model.compile(optimizer="sgd", loss="mse")
    return model


def trained_model(data, loss=LOSS):
    """4 -> 8 relu -> 3 softmax with Adam, after one training step (so its optimizer has state)."""
    model = Sequential([Dense(8, activation="relu", input_shape=(4,)), Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    model.train_on_batch(data.x, data.labels if loss == SPARSE else data.y)
    return model


def state(model):
    """Everything a failed call must leave alone, as host copies."""
    optimizer = model.optimizer
    slots = [[backend.to_numpy(s).copy() for s in slot] for slot in optimizer.slots]
    return {
        "weights": model.get_weights(),
        "optimizer": optimizer,
        "iterations": optimizer.iterations,
        "learning_rate": optimizer.learning_rate,
        "slots": slots,
        "loss": model.loss,
        "metrics": list(model.metrics),
        "weighted_metrics": list(model.weighted_metrics),
    }


def assert_same_state(before, after):
    for old, new in zip(before["weights"], after["weights"], strict=True):
        np.testing.assert_array_equal(new, old)
    assert after["optimizer"] is before["optimizer"]
    assert after["iterations"] == before["iterations"]
    assert after["learning_rate"] == before["learning_rate"]
    for old_slot, new_slot in zip(before["slots"], after["slots"], strict=True):
        for old, new in zip(old_slot, new_slot, strict=True):
            np.testing.assert_array_equal(new, old)
    assert after["loss"] is before["loss"]
    assert after["metrics"] == before["metrics"]
    assert after["weighted_metrics"] == before["weighted_metrics"]


def assert_message(error, words):
    message = str(error.value)
    for word in words:
        assert word in message, f"{word!r} missing from the message: {message}"


@dataclass
class Case:
    id: str
    call: Callable  # call(model, data)
    error: type
    words: tuple
    loss: str = LOSS


def with_value(array, row, column, value):
    array = array.astype(np.float64)
    array[row, column] = value
    return array


def saved_from(folder, model):
    path = folder / f"{model.name}.npz"
    model.save_weights(path)
    return path


def not_a_weights_file(folder):
    path = folder / "notes.npz"
    path.write_text("these are my notes, not weights")
    return path


class Counter(Callback):
    pass


SHARED_RECALL = Recall()


MODEL_CASES = [
    # compile
    Case("compile-unknown-loss", lambda m, d: m.compile(loss="categorical_crossentropi"), ValueError,
         ("Unknown loss 'categorical_crossentropi'", "Did you mean 'categorical_crossentropy'?")),
    Case("compile-unknown-optimizer", lambda m, d: m.compile(optimizer="sdg", loss=LOSS), ValueError,
         ("Unknown optimizer 'sdg'", "adagrad, adam, adamax, adamw, nadam, rmsprop, sgd", "Did you mean 'sgd'?")),
    Case("compile-unknown-metric", lambda m, d: m.compile(optimizer="sgd", loss=LOSS, metrics=["acuracy"]),
         ValueError, ("Unknown metric 'acuracy'", "Did you mean 'accuracy'?")),
    Case("compile-metrics-string", lambda m, d: m.compile(loss=LOSS, metrics="accuracy"), TypeError,
         ("metrics must be a list", "metrics=['accuracy']")),
    Case("compile-no-loss", lambda m, d: m.compile(optimizer="sgd"), ValueError, ("compile needs a loss",)),
    Case("compile-two-metrics-one-name",
         lambda m, d: m.compile(loss=LOSS, metrics=["accuracy", functools.partial(np.mean), functools.partial(np.max)]),
         ValueError, ("a name of its own", "'partial'", "['accuracy', 'partial', 'partial']")),
    Case("compile-weighted_metrics-string", lambda m, d: m.compile(loss=LOSS, weighted_metrics="accuracy"), TypeError,
         ("weighted_metrics must be a list", "weighted_metrics=['accuracy']")),
    Case("compile-unknown-weighted-metric", lambda m, d: m.compile(loss=LOSS, weighted_metrics=["acuracy"]),
         ValueError, ("Unknown metric 'acuracy'", "Did you mean 'accuracy'?")),
    Case("compile-weighted-metric-twice", lambda m, d: m.compile(loss=LOSS, weighted_metrics=["mse", "mse"]),
         ValueError, ("a name of its own", "'mse'", "['mse', 'mse']")),
    Case("compile-metric-called-loss", lambda m, d: m.compile(loss=LOSS, metrics=[loss_named_metric]), ValueError,
         ("none may be 'loss'", "'loss'")),
    Case("compile-unknown-metric-object", lambda m, d: m.compile(loss=LOSS, metrics=["accuracy", "precison"]),
         ValueError, ("Unknown metric 'precison'", "auc", "Did you mean 'precision'?")),
    Case("compile-one-metric-object-twice",
         lambda m, d: m.compile(loss=LOSS, metrics=[SHARED_RECALL], weighted_metrics=[SHARED_RECALL]),
         ValueError, ("given to compile twice", "an object of its own")),
    Case("compile-two-metric-objects-one-name",
         lambda m, d: m.compile(loss=LOSS, metrics=["auc", AUC(name="auc")]), ValueError,
         ("a name of its own", "['auc', 'auc']", "Precision(name=")),
    # the features and the rank of x
    Case("too-few-features", lambda m, d: m.fit(d.x[:, :3], d.y, verbose=0), ValueError,
         ("(n, 4)", "(10, 3)", "3 features", "expects 4")),
    Case("too-many-features", lambda m, d: m.predict(np.ones((10, 5))), ValueError, ("(n, 4)", "(10, 5)")),
    Case("images-not-flattened", lambda m, d: m.fit(d.x.reshape(10, 2, 2), d.y, verbose=0), ValueError,
         ("(n, 4)", "(10, 2, 2)", "x.reshape(10, 4)")),
    Case("one-sample-without-batch-axis", lambda m, d: m.predict(d.x[0]), ValueError,
         ("single sample", "x.reshape(1, 4)")),
    # sample and class weights
    Case("both-weights", lambda m, d: m.fit(d.x, d.y, sample_weight=np.ones(10), class_weight={0: 2}, verbose=0),
         ValueError, ("sample_weight or class_weight, not both",)),
    Case("sample_weight-ragged", lambda m, d: m.fit(d.x, d.y, sample_weight=[1.0, [2.0, 3.0]], verbose=0), ValueError,
         ("one number per sample", "could not read")),
    Case("sample_weight-too-short", lambda m, d: m.fit(d.x, d.y, sample_weight=np.ones(7), verbose=0), ValueError,
         ("one number per sample, shape (10,)", "shape (7,)")),
    Case("sample_weight-negative", lambda m, d: m.evaluate(d.x, d.y, sample_weight=-np.ones(10), verbose=0),
         ValueError, ("sample_weight must be finite numbers from 0 to 3.4e+38", "-1")),
    Case("sample_weight-beyond-float32", lambda m, d: m.fit(d.x, d.y, sample_weight=with_value(np.ones((10, 1)), 3, 0,
                                                                                               1e39), verbose=0),
         ValueError, ("from 0 to 3.4e+38 (the largest float32)", "to 1e+39")),
    Case("sample_weight-nan", lambda m, d: m.fit(d.x, d.y, sample_weight=with_value(np.ones((10, 1)), 3, 0, np.nan),
                                                 verbose=0), ValueError, ("finite numbers from 0", "nan")),
    Case("class_weight-label-out-of-range", lambda m, d: m.fit(d.x, d.y, class_weight={0: 1.0, 3: 2.0}, verbose=0),
         ValueError, ("labels must be integers from 0 to 2", "got 3")),
    Case("class_weight-a-list", lambda m, d: m.fit(d.x, d.y, class_weight=[1.0, 2.0, 3.0], verbose=0), TypeError,
         ("must be a dict {label: weight}", "[1.0, 2.0, 3.0]")),
    Case("class_weight-negative", lambda m, d: m.fit(d.x, d.y, class_weight={2: -1}, verbose=0), ValueError,
         ("class_weight must be finite numbers from 0",)),
    Case("class_weight-beyond-float32", lambda m, d: m.train_on_batch(d.x, d.y, class_weight={1: 1e39}), ValueError,
         ("class_weight must be finite numbers from 0 to 3.4e+38",)),
    # x against y
    Case("different-sample-counts", lambda m, d: m.fit(d.x, d.y[:7], verbose=0), ValueError,
         ("same number of samples", "10 in x", "7 in y")),
    Case("wrong-number-of-classes", lambda m, d: m.fit(d.x, to_categorical(d.labels, 5), verbose=0),
         ValueError, ("(None, 3)", "(10, 5)", "num_classes")),
    Case("multi-hot-rows-for-categorical", lambda m, d: m.fit(d.x, d.y + np.roll(d.y, 1, axis=1), verbose=0),
         ValueError, ("each row of y to be a probability distribution", "row 0 is [1.0, 1.0, 0.0]", "summing to 2",
                      "loss='binary_crossentropy'")),
    Case("integer-labels-for-categorical", lambda m, d: m.fit(d.x, d.labels, verbose=0), ValueError,
         ("one-hot", "to_categorical(y, num_classes=3)", "sparse_categorical_crossentropy")),
    Case("label-column-for-categorical", lambda m, d: m.evaluate(d.x, d.labels[:, None], verbose=0),
         ValueError, ("to_categorical(y, num_classes=3)", "sparse_categorical_crossentropy")),
    Case("sparse-label-too-large", lambda m, d: m.fit(d.x, np.arange(10), verbose=0), ValueError,
         ("integer labels 0..2", "3 outputs", "0 to 9"), SPARSE),
    Case("sparse-label-fractional", lambda m, d: m.fit(d.x, d.labels / 2, verbose=0), ValueError,
         ("integer labels 0..2",), SPARSE),
    Case("sparse-given-one-hot", lambda m, d: m.fit(d.x, d.y, verbose=0), ValueError,
         ("shape (n,)", "(10, 3)", "loss='categorical_crossentropy'"), SPARSE),
    Case("y-missing-in-fit", lambda m, d: m.fit(d.x, verbose=0), ValueError, ("y is missing",)),
    Case("y-missing-in-evaluate", lambda m, d: m.evaluate(d.x, verbose=0), ValueError, ("y is missing",)),
    Case("y-missing-in-train_on_batch", lambda m, d: m.train_on_batch(d.x, None), ValueError,
         ("y is missing",)),
    # the values in x and y
    Case("nan-in-x", lambda m, d: m.fit(with_value(d.x, 2, 1, np.nan), d.y, verbose=0), ValueError,
         ("x contains NaN or infinite values", "sample 2")),
    Case("inf-in-x-predict", lambda m, d: m.predict(with_value(d.x, 0, 0, -np.inf)), ValueError,
         ("x contains NaN or infinite",)),
    Case("inf-in-y", lambda m, d: m.train_on_batch(d.x, with_value(d.y, 4, 0, np.inf)), ValueError,
         ("y contains NaN or infinite values", "sample 4")),
    Case("nan-in-device-x", lambda m, d: m.evaluate(backend.asarray(with_value(d.x, 1, 1, np.nan)), d.y),
         ValueError, ("x contains NaN or infinite",)),
    Case("nan-in-validation-data",
         lambda m, d: m.fit(d.x, d.y, validation_data=(with_value(d.x, 0, 0, np.nan), d.y), verbose=0),
         ValueError, ("In validation_data, (x_val, y_val[, sample_weight_val]): x contains NaN",)),
    Case("too-large-for-float32", lambda m, d: m.predict(with_value(d.x, 3, 2, 1e300)), ValueError,
         ("1e+300", "too large for float32", "Scale")),
    Case("text-in-x", lambda m, d: m.fit(d.x.astype(str), d.y, verbose=0), TypeError,
         ("x must hold numbers", "<U", "astype('float32')")),
    Case("mixed-list-in-x", lambda m, d: m.predict([[1, 2, 3, "4"]] * 3), TypeError, ("x must hold numbers",)),
    Case("ragged-list-in-x", lambda m, d: m.predict([[1, 2, 3, 4], [1, 2]]), TypeError,
         ("x must be an array of numbers", "could not convert")),
    Case("complex-x", lambda m, d: m.predict(d.x + 1j), TypeError, ("x must hold numbers", "complex")),
    Case("text-labels", lambda m, d: m.fit(d.x, d.labels.astype(str), verbose=0), TypeError,
         ("y must hold numbers",)),
    Case("empty-x", lambda m, d: m.fit(d.x[:0], d.y[:0], verbose=0), ValueError, ("x is empty", "(0, 4)")),
    Case("empty-predict", lambda m, d: m.predict(np.zeros((0, 4))), ValueError, ("x is empty",)),
    Case("x-missing", lambda m, d: m.predict(None), ValueError, ("x is missing",)),
    Case("scalar-x", lambda m, d: m.predict(3.0), ValueError, ("x is empty", "shape ()")),
    # counts and sizes
    Case("batch_size-0", lambda m, d: m.fit(d.x, d.y, batch_size=0, verbose=0), ValueError,
         ("batch_size must be an integer >= 1", "got 0")),
    Case("batch_size-negative", lambda m, d: m.fit(d.x, d.y, batch_size=-8, verbose=0), ValueError,
         ("batch_size", "got -8")),
    Case("batch_size-float", lambda m, d: m.fit(d.x, d.y, batch_size=2.5, verbose=0), TypeError,
         ("batch_size must be an integer", "2.5", "float")),
    Case("batch_size-text", lambda m, d: m.fit(d.x, d.y, batch_size="32", verbose=0), TypeError,
         ("batch_size must be an integer", "'32'")),
    Case("evaluate-batch_size-0", lambda m, d: m.evaluate(d.x, d.y, batch_size=0, verbose=0), ValueError,
         ("batch_size must be an integer >= 1", "got 0")),
    Case("predict-batch_size-0", lambda m, d: m.predict(d.x, batch_size=0), ValueError,
         ("batch_size must be an integer >= 1",)),
    Case("steps_per_epoch-0", lambda m, d: m.fit(d.x, d.y, steps_per_epoch=0, verbose=0), ValueError,
         ("steps_per_epoch must be an integer >= 1", "got 0")),
    Case("steps_per_epoch-float", lambda m, d: m.fit(d.x, d.y, steps_per_epoch=2.5, verbose=0), TypeError,
         ("steps_per_epoch must be an integer", "2.5", "float")),
    Case("validation_steps-negative",
         lambda m, d: m.fit(d.x, d.y, validation_data=(d.x, d.y), validation_steps=-1, verbose=0), ValueError,
         ("validation_steps must be an integer >= 1", "got -1")),
    Case("validation_batch_size-text",
         lambda m, d: m.fit(d.x, d.y, validation_split=0.2, validation_batch_size="8", verbose=0), TypeError,
         ("validation_batch_size must be an integer", "'8'")),
    Case("evaluate-steps-0", lambda m, d: m.evaluate(d.x, d.y, steps=0, verbose=0), ValueError,
         ("steps must be an integer >= 1", "got 0")),
    Case("predict-steps-bool", lambda m, d: m.predict(d.x, steps=True), TypeError,
         ("steps must be an integer", "True", "bool")),
    Case("epochs-negative", lambda m, d: m.fit(d.x, d.y, epochs=-1, verbose=0), ValueError,
         ("epochs must be an integer >= 0", "got -1")),
    Case("epochs-float", lambda m, d: m.fit(d.x, d.y, epochs=2.0, verbose=0), TypeError,
         ("epochs must be an integer", "float")),
    Case("epochs-bool", lambda m, d: m.fit(d.x, d.y, epochs=True, verbose=0), TypeError,
         ("epochs must be an integer", "bool")),
    Case("verbose-text", lambda m, d: m.fit(d.x, d.y, verbose="yes"), ValueError,
         ("verbose must be 0, 1, 2 or 'auto'", "'yes'")),
    Case("validation_split-1", lambda m, d: m.fit(d.x, d.y, validation_split=1.0, verbose=0), ValueError,
         ("validation_split must be a number in [0, 1)", "1.0")),
    Case("validation_split-leaves-no-training", lambda m, d: m.fit(d.x, d.y, validation_split=0.95, verbose=0),
         ValueError, ("10 for validation and 0 for training",)),
    Case("validation_data-four", lambda m, d: m.fit(d.x, d.y, validation_data=(d.x, d.y, None, d.y), verbose=0),
         ValueError, ("validation_data must be a tuple (x_val, y_val) or (x_val, y_val, sample_weight_val)",)),
    Case("validation_data-weights-not-one-per-sample",
         lambda m, d: m.fit(d.x, d.y, validation_data=(d.x, d.y, d.y), verbose=0), ValueError,
         ("In validation_data", "sample_weight must hold one number per sample, shape (10,)", "shape (10, 3)")),
    Case("validation_data-wrong-classes",
         lambda m, d: m.fit(d.x, d.y, validation_data=(d.x, d.y[:, :2]), verbose=0), ValueError,
         ("In validation_data", "(10, 2)")),
    Case("callbacks-not-a-list", lambda m, d: m.fit(d.x, d.y, callbacks=Counter(), verbose=0), TypeError,
         ("callbacks must be a list",)),
    Case("callbacks-of-functions", lambda m, d: m.fit(d.x, d.y, callbacks=[print], verbose=0), TypeError,
         ("tinynet Callback objects", "print")),
    # the *_on_batch methods
    Case("train_on_batch-features", lambda m, d: m.train_on_batch(d.x[:, :2], d.y), ValueError,
         ("(n, 4)", "(10, 2)")),
    Case("test_on_batch-samples", lambda m, d: m.test_on_batch(d.x, d.y[:3]), ValueError,
         ("10 in x", "3 in y")),
    Case("predict_on_batch-features", lambda m, d: m.predict_on_batch(d.x[:, :1]), ValueError, ("(10, 1)",)),
    # weights
    Case("set_weights-too-few", lambda m, d: m.set_weights(m.get_weights()[:-1]), ValueError,
         ("has 4 weight arrays", "got 3")),
    Case("set_weights-wrong-shape", lambda m, d: m.set_weights([w + 1 for w in m.get_weights()[:-1]] + [np.ones(4)]),
         ValueError, ("Layer 'dense_", "expected (3,)", "got (4,)")),
    Case("set_weights-transposed-kernel", lambda m, d: m.set_weights([m.get_weights()[0].T] + m.get_weights()[1:]),
         ValueError, ("expected (4, 8)", "got (8, 4)")),
    # The first layers' arrays are valid and different: none of them may be set before the refusal.
    Case("set_weights-nan-in-last-layer",
         lambda m, d: m.set_weights([w + 1 for w in m.get_weights()[:-1]] + [np.full(3, np.nan)]),
         ValueError, ("NaN or infinite",)),
    Case("set_weights-too-large-for-float32",
         lambda m, d: m.set_weights([w + 1 for w in m.get_weights()[:-1]] + [np.full(3, 1e300)]),
         ValueError, ("weight 1", "1e+300", "too large for float32")),
    Case("save_weights-as-hdf5", lambda m, d: m.save_weights(d.folder / "model.weights.h5"), ValueError,
         ("NumPy .npz archive", "Keras's formats", "model.weights.h5", "'model.weights.npz'")),
    Case("set_weights-text", lambda m, d: m.set_weights(m.get_weights()[:-1] + [np.array(["a", "b", "c"])]),
         TypeError, ("must hold numbers",)),
    Case("set_weights-none", lambda m, d: m.set_weights(None), TypeError, ("list of arrays", "NoneType")),
    Case("load_weights-missing-file", lambda m, d: m.load_weights(d.folder / "missing.npz"), FileNotFoundError,
         ("No weights file", "missing.npz")),
    Case("load_weights-other-widths", lambda m, d: m.load_weights(saved_from(d.folder, Sequential(
        [Dense(5, input_shape=(4,)), Dense(3)]))), ValueError, ("(4, 5)", "(4, 8)", "does not fit")),
    Case("load_weights-more-layers", lambda m, d: m.load_weights(saved_from(d.folder, Sequential(
        [Dense(8, input_shape=(4,)), Dense(8), Dense(3)]))), ValueError,
         ("holds 6 weight arrays", "has 4", "another architecture")),
    Case("load_weights-no-bias", lambda m, d: m.load_weights(saved_from(d.folder, Sequential(
        [Dense(8, input_shape=(4,), use_bias=False), Dense(3), Dense(3, use_bias=False)]))), ValueError,
         ("does not fit",)),
    Case("load_weights-not-weights", lambda m, d: m.load_weights(not_a_weights_file(d.folder)), ValueError,
         ("not a weights file written by save_weights",)),
]


@pytest.mark.parametrize("case", MODEL_CASES, ids=[case.id for case in MODEL_CASES])
def test_bad_input_is_refused_and_changes_nothing(case, data, array_backend):
    model = trained_model(data, case.loss)
    before = state(model)
    with pytest.raises(case.error) as error:
        case.call(model, data)
    assert_message(error, case.words)
    assert_same_state(before, state(model))


def test_class_weights_for_other_classes_are_refused_before_a_step(data, array_backend):
    """A focal loss's alpha holds one weight per class: for 2 classes on a 3-class model, fit
    stops at the first batch's loss, before the weights or the optimizer change."""
    model = Sequential([Dense(8, activation="relu", input_shape=(4,)), Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss=losses.CategoricalFocalCrossentropy(alpha=[1.0, 2.0]))
    weights = model.get_weights()
    with pytest.raises(ValueError) as error:
        model.fit(data.x, data.y, verbose=0)
    assert_message(error, ("alpha holds 2 class weights", "the predictions have 3 classes", "one weight per class"))
    for old, new in zip(weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(new, old)
    assert model.optimizer.iterations == 0


@pytest.mark.parametrize("method", ["fit", "evaluate", "train_on_batch", "test_on_batch"])
def test_training_or_evaluating_before_compile_is_refused(method, data):
    model = Sequential([Dense(3, activation="softmax", input_shape=(4,))])
    weights = model.get_weights()
    with pytest.raises(ValueError) as error:
        getattr(model, method)(data.x, data.y)
    assert_message(error, (f"must compile the model before {method}", "model.compile(loss="))
    for old, new in zip(weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(new, old)
    assert model.optimizer is None


def test_a_failed_fit_keeps_the_previous_history(data):
    model = trained_model(data)
    history = model.fit(data.x, data.y, epochs=2, verbose=0)
    with pytest.raises(ValueError):
        model.fit(data.x, data.y[:5], verbose=0)
    assert model.history is history and len(history.epoch) == 2


def test_an_unbuilt_model_is_not_built_from_data_holding_nan(data):
    model = Sequential([Dense(3, activation="softmax")])
    model.compile(loss=LOSS)
    with pytest.raises(ValueError, match="NaN"):
        model.fit(with_value(data.x[:, :2], 0, 0, np.nan), data.y, verbose=0)
    assert not model.built
    model.fit(data.x, data.y, verbose=0)  # the corrected data still decides the input shape
    assert model.input_shape == (None, 4)


def test_an_unbuilt_model_is_not_built_from_a_call_with_bad_targets(data):
    model = Sequential([Dense(3, activation="softmax")])
    model.compile(loss=LOSS)
    with pytest.raises(ValueError, match="same number of samples"):
        model.fit(data.x[:, :2], data.y[:5], verbose=0)
    with pytest.raises(ValueError, match=r"expects input of shape \(n, 2\)"):
        model.fit(data.x[:, :2], data.y, validation_data=(data.x, data.y), verbose=0)
    assert not model.built
    model.fit(data.x, data.y, verbose=0)
    assert model.input_shape == (None, 4)


@pytest.mark.parametrize(
    "loss, filters, expected",
    [(SPARSE, 3, r"integer labels of shape \(n, 3, 3\) for the model's output \(None, 3, 3, 3\)"),
     ("binary_crossentropy", 1, r"output has shape \(None, 3, 3, 1\).*y has shape \(3,\)")],
)
def test_one_target_per_sample_is_refused_for_an_output_per_pixel(loss, filters, expected):
    """Labels (n,) against (n, h, w, classes) would broadcast into a table when n == w."""
    model = Sequential([Conv2D(filters, 1, activation="softmax" if filters > 1 else "sigmoid")])
    model.compile(optimizer="sgd", loss=loss)
    with pytest.raises(ValueError, match=expected):
        model.fit(np.ones((3, 3, 3, 1), np.float32), np.array([0, 1, 0]), verbose=0)
    assert not model.built and model.history is None


@pytest.mark.parametrize("bad_label", [2.0, -1.0])
def test_class_weight_needs_binary_labels_it_can_look_up(data, bad_label):
    """-1 used to take class 1's weight by negative indexing, 2 to fail with an IndexError."""
    model = Sequential([Dense(1, activation="sigmoid", input_shape=(4,))])
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    y = with_value((data.labels == 1).astype(np.float32).reshape(-1, 1), 4, 0, bad_label)
    with pytest.raises(ValueError, match=f"labels from 0 to 1 in y; got values from {min(bad_label, 0.0)}"):
        model.fit(data.x, y, class_weight={0: 1.0, 1: 3.0}, verbose=0)
    assert model.optimizer.iterations == 0 and model.history is None


def test_a_list_of_layers_that_cannot_be_stacked_leaves_them_as_they_were():
    shared = Dense(3)
    with pytest.raises(ValueError, match="expects 4-D input"):
        Sequential([Dense(4, input_shape=(2,)), shared, Conv2D(2, 3)])
    assert not shared.built and not shared.in_a_model
    model = Sequential([Dense(5, input_shape=(2,)), shared])  # the layer is still free to take (None, 5)
    assert model.output_shape == (None, 3) and shared.input_shape == (None, 5)


def test_train_on_batch_refuses_another_models_optimizer_before_building(data):
    first = trained_model(data)
    second = Sequential([Dense(8, activation="relu"), Dense(3, activation="softmax")])
    second.compile(optimizer=first.optimizer, loss=LOSS)
    with pytest.raises(ValueError, match="already trains other weights"):
        second.train_on_batch(data.x, data.y)
    assert not second.built


def test_a_model_too_deep_for_small_images_stays_unbuilt():
    model = Sequential([Conv2D(2, 3), MaxPooling2D(2), Conv2D(2, 3), Flatten(), Dense(2, activation="softmax")])
    with pytest.raises(ValueError, match="3x3 window does not fit in the 1x1 input"):
        model.build((None, 5, 5, 1))
    assert not any(layer.built for layer in model.layers)
    model.build((None, 28, 28, 1))
    assert model.output_shape == (None, 2)


def test_a_layer_that_cannot_take_the_shape_is_not_added():
    model = Sequential([Conv2D(2, 3, input_shape=(8, 8, 1))])
    dense = Dense(3)
    with pytest.raises(ValueError, match="expects 2-D input"):
        model.add(dense)
    assert model.layers == [model.layers[0]] and not dense.built
    model.add(Flatten())
    model.add(dense)
    assert model.output_shape == (None, 3)


def test_evaluate_builds_a_compiled_model_that_is_not_built_yet(data):
    model = Sequential([Dense(3, activation="softmax")])
    model.compile(loss=LOSS, metrics=["accuracy"])
    loss, accuracy = model.evaluate(data.x, data.y, verbose=0)
    assert model.input_shape == (None, 4) and np.isfinite(loss) and 0 <= accuracy <= 1


def test_an_optimizer_of_another_model_is_refused_before_fit_changes_anything(data):
    first = trained_model(data)
    second = Sequential([Dense(8, activation="relu", input_shape=(4,)), Dense(3, activation="softmax")])
    second.compile(optimizer=first.optimizer, loss=LOSS)
    second_weights = second.get_weights()
    before = state(first)
    with pytest.raises(ValueError, match="already trains other weights: another model's"):
        second.fit(data.x, data.y, epochs=1, verbose=0)
    assert second.history is None
    assert_same_state(before, state(first))
    for got, expected in zip(second.get_weights(), second_weights):
        np.testing.assert_array_equal(got, expected)
    unbuilt = Sequential([Dense(3, activation="softmax")])
    unbuilt.compile(optimizer=first.optimizer, loss=LOSS)
    with pytest.raises(ValueError, match="already trains other weights"):
        unbuilt.fit(data.x, data.y, epochs=1, verbose=0)
    assert not unbuilt.built


# Mistakes made without a model, or while building one: nothing to change, a clear message.
OTHER_CASES = [
    Case("Dense-0-units", lambda d: Dense(0), ValueError, ("Dense units must be a positive integer", "got 0")),
    Case("Dense-negative-units", lambda d: Dense(-3), ValueError, ("positive integer", "-3")),
    Case("Dense-float-units", lambda d: Dense(10.0), TypeError, ("positive integer", "10.0", "float")),
    Case("Dense-text-units", lambda d: Dense("10"), TypeError, ("positive integer", "'10'")),
    Case("unknown-activation", lambda d: Dense(3, activation="sigmod"), ValueError,
         ("Unknown activation 'sigmod'", "relu, relu6, selu, sigmoid, silu, softmax", "Did you mean 'sigmoid'?")),
    Case("unknown-initializer", lambda d: Dense(3, kernel_initializer="glorot_unifrom"), ValueError,
         ("Unknown initializer 'glorot_unifrom'", "Did you mean 'glorot_uniform'?")),
    Case("activation-not-a-name", lambda d: Dense(3, activation=5), TypeError, ("activation name", "int")),
    Case("gelu-approximate-text", lambda d: activations.gelu(d.x, approximate="tanh"), TypeError,
         ("approximate must be True or False", "'tanh'")),
    Case("input_shape-zero", lambda d: Dense(3, input_shape=(0,)), ValueError,
         ("input_shape must be a tuple of positive integers", "(0,)")),
    Case("Dropout-rate-1.5", lambda d: Dropout(1.5), ValueError, ("Dropout rate", "[0, 1)", "1.5")),
    Case("BatchNormalization-batch-axis", lambda d: Sequential([BatchNormalization(axis=0, input_shape=(4,))]),
         ValueError, ("along axis 0", "(None, 4)", "axis 1 or -1")),
    Case("BatchNormalization-axis-out-of-range", lambda d: Sequential([BatchNormalization(axis=3, input_shape=(4, 2))]),
         ValueError, ("along axis 3", "(None, 4, 2)", "axis from 1 to 2, or -1")),
    Case("BatchNormalization-two-axes", lambda d: BatchNormalization(axis=(1, 2)), TypeError,
         ("axis must be an integer", "(1, 2)")),
    Case("BatchNormalization-momentum-1.5", lambda d: BatchNormalization(momentum=1.5), ValueError,
         ("momentum must be a number in [0, 1]", "1.5")),
    Case("BatchNormalization-epsilon-0", lambda d: BatchNormalization(epsilon=0), ValueError,
         ("epsilon must be a positive number", "0")),
    Case("BatchNormalization-center-text", lambda d: BatchNormalization(center="yes"), TypeError,
         ("center must be True or False", "'yes'")),
    Case("BatchNormalization-other-features", lambda d: built_batch_normalization()(np.ones((2, 5))), ValueError,
         ("built for inputs of shape (None, 4)", "4 features along axis -1", "(2, 5)")),
    Case("class_weight-with-mse", lambda d: regression_model().fit(d.x, d.y, class_weight={0: 2.0}, verbose=0),
         ValueError, ("one class label per sample", "mean_squared_error with 3 outputs")),
    Case("LearningRateScheduler-a-number", lambda d: LearningRateScheduler(0.1), TypeError,
         ("expects a function schedule(epoch, learning_rate)", "0.1")),
    Case("add-a-name", lambda d: Sequential().add("dense"), TypeError, ("tinynet layer", "'dense'", "str")),
    Case("Dense-on-images", lambda d: Sequential([Dense(3, input_shape=(28, 28))]), ValueError,
         ("2-D input", "(None, 28, 28)", "Flatten()")),
    Case("predict-without-layers", lambda d: Sequential().predict(d.x), ValueError, ("no layers",)),
    Case("weights-of-unbuilt-model", lambda d: Sequential([Flatten(), Dense(3)]).get_weights(), ValueError,
         ("must be built", "input_shape")),
    Case("to_categorical-negative", lambda d: to_categorical([0, -1, 2], 3), ValueError, ("labels >= 0", "-1")),
    Case("to_categorical-fractional", lambda d: to_categorical([0, 1.5, 2], 3), ValueError,
         ("whole-number class labels", "1.5")),
    Case("to_categorical-nan", lambda d: to_categorical([0.0, np.nan], 3), ValueError, ("whole-number",)),
    Case("to_categorical-infinite", lambda d: to_categorical([1.0, np.inf], 3), ValueError, ("whole-number", "[inf]")),
    Case("to_categorical-label-too-large", lambda d: to_categorical([0, 3], 3), ValueError,
         ("label 3", "num_classes=3", "0 to 2")),
    Case("to_categorical-text", lambda d: to_categorical(["cat", "dog"]), TypeError,
         ("integer class labels", "<U3")),
    Case("to_categorical-empty", lambda d: to_categorical([]), ValueError, ("no labels",)),
    Case("to_categorical-num_classes-0", lambda d: to_categorical([0], 0), ValueError,
         ("num_classes must be a positive integer", "0")),
    Case("ReLU-negative-max_value", lambda d: ReLU(max_value=-1), ValueError,
         ("max_value of a ReLU layer must be a number >= 0", "-1")),
    Case("ReLU-threshold-None", lambda d: ReLU(threshold=None), ValueError, ("threshold", ">= 0", "None")),
    Case("LeakyReLU-negative-slope", lambda d: LeakyReLU(negative_slope=-0.1), ValueError,
         ("negative_slope of a LeakyReLU layer", ">= 0", "-0.1")),
    Case("Softmax-first-axis", lambda d: Sequential([Dense(3, input_shape=(2,)), Softmax(axis=0)]), ValueError,
         ("last axis only", "axis=-1, or 1", "got axis=0")),
    Case("Softmax-axes", lambda d: Softmax(axis=(1, 2)), TypeError, ("Softmax axis must be an integer", "(1, 2)")),
    Case("VarianceScaling-scale-0", lambda d: initializers.VarianceScaling(scale=0), ValueError,
         ("VarianceScaling scale must be a number > 0", "got 0")),
    Case("VarianceScaling-mode-typo", lambda d: initializers.VarianceScaling(mode="fan_avgs"), ValueError,
         ("Unknown VarianceScaling mode 'fan_avgs'", "Did you mean 'fan_avg'?")),
    Case("VarianceScaling-distribution-typo", lambda d: initializers.VarianceScaling(distribution="unifrom"),
         ValueError, ("Unknown VarianceScaling distribution 'unifrom'", "Did you mean 'uniform'?")),
    Case("Constant-text", lambda d: initializers.Constant("0.5"), TypeError, ("Constant value must be a number", "'0.5'")),
    Case("orthogonal-bias", lambda d: Sequential([Dense(3, bias_initializer="orthogonal", input_shape=(2,))]),
         ValueError,
         ("orthogonal initializer needs a shape of at least two dimensions", "(3,)")),
    Case("mnist-missing-folder", lambda d: mnist.load_data(path=d.folder / "nowhere"), FileNotFoundError,
         ("MNIST not found", "nowhere", "TINYNET_DATA_DIR")),
    Case("mnist-not-an-npz", lambda d: mnist.load_data(path=not_a_weights_file(d.folder)), ValueError,
         ("notes.npz", "not a readable .npz")),
]


def built_batch_normalization():
    layer = BatchNormalization()
    layer.build((None, 4))
    return layer


@pytest.mark.parametrize("case", OTHER_CASES, ids=[case.id for case in OTHER_CASES])
def test_bad_arguments_get_a_clear_error(case, data):
    with pytest.raises(case.error) as error:
        case.call(data)
    assert_message(error, case.words)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("bad_value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("shape", [(7,), (7, 5), (7, 3, 3, 2)])
def test_finiteness_check_names_the_first_bad_sample(dtype, bad_value, shape):
    values = np.random.default_rng(0).uniform(-1, 1, shape).astype(dtype)
    values.reshape(len(values), -1)[[5, 3], -1] = bad_value
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the clear error only, no RuntimeWarning before it
        with pytest.raises(ValueError, match="the first in sample 3"):
            validation.check_finite("x", values)


@pytest.mark.parametrize(
    "make, mistake",
    [
        (lambda: Dense(3), lambda: Dense(0)),
        (lambda: Dense(3), lambda: Dense(3, input_shape=(0,))),
        (lambda: Activation("relu"), lambda: Activation("sigmod")),
        (lambda: Dropout(0.5), lambda: Dropout(2)),
        (lambda: BatchNormalization(), lambda: BatchNormalization(momentum=-1)),
    ],
)
def test_layer_arguments_are_checked_before_the_layer_takes_a_name(make, mistake):
    base, number = make().name.rsplit("_", 1)
    with pytest.raises(ValueError):
        mistake()
    assert make().name == f"{base}_{int(number) + 1}"


@pytest.mark.parametrize("method", ["evaluate", "predict"])
def test_a_bad_batch_size_leaves_an_unbuilt_model_unbuilt(data, method):
    model = Sequential([Dense(3, activation="softmax")])
    model.compile(loss=LOSS)
    arguments = (data.x, data.y) if method == "evaluate" else (data.x,)
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1; got 0"):
        getattr(model, method)(*arguments, batch_size=0, verbose=0)
    assert not model.built


def test_dropout_takes_a_numpy_rate():
    assert Dropout(np.float32(0.5)).rate == 0.5


def test_finiteness_check_accepts_the_largest_finite_numbers():
    # Products with zero: the sample's extreme values must not overflow into a false alarm.
    largest = np.finfo(np.float32).max
    values = np.array([[largest, largest, -largest], [0.0, 1e-45, -0.0]], dtype=np.float32)
    validation.check_finite("x", values)
