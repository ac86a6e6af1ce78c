"""Properties that hold for any valid input, checked with hypothesis: any shape, batch size (a
last partial batch, a batch larger than the data), input dtype and label encoding trains,
evaluates and predicts without error, and predictions are always finite probabilities.
Then the numerically dangerous corners: logits of +-1000, predictions of exactly 0 and 1, and
all-equal logits, computed without overflow, division by zero or invalid operations.
"""

import contextlib
import math
import warnings

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinynet import activations, backend, losses
from tinynet.layers import Dense
from tinynet.models import Sequential
from tinynet.optimizers import SGD
from tinynet.utils import set_random_seed, to_categorical

FAST = settings(max_examples=30, deadline=None)

# Input values a learner's data may hold, by dtype: raw pixels, small integers, scaled floats.
VALUES = {
    "uint8": st.integers(0, 255),
    "int32": st.integers(-100, 100),
    "int64": st.integers(-100, 100),
    "float32": st.floats(-100, 100, width=32),
    "float64": st.floats(-100, 100),
}


@st.composite
def problems(draw):
    """A small classification problem: x, integer labels, the number of classes, the encoding."""
    samples = draw(st.integers(1, 40))
    features = draw(st.integers(1, 6))
    classes = draw(st.integers(2, 5))
    dtype = draw(st.sampled_from(sorted(VALUES)))
    x = draw(hnp.arrays(dtype, (samples, features), elements=VALUES[dtype]))
    labels = draw(hnp.arrays(np.int64, samples, elements=st.integers(0, classes - 1)))
    encoding = draw(st.sampled_from(["one-hot", "sparse", "sparse-column"]))
    return x, labels, classes, encoding


def targets(labels, classes, encoding):
    if encoding == "one-hot":
        return to_categorical(labels, classes), "categorical_crossentropy"
    y = labels if encoding == "sparse" else labels.reshape(-1, 1)
    return y, "sparse_categorical_crossentropy"


def classifier(features, classes, loss, optimizer):
    model = Sequential([Dense(5, activation="relu", input_shape=(features,)), Dense(classes, activation="softmax")])
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    return model


def logits_in_float64(model, x):
    """The classifier's logits computed again in float64 from its weights, and how far float32
    rounding may move them: a few roundings of the largest sum of terms a logit adds up (BLAS sums
    in another order for another number of rows, so predict's chunks may round differently)."""
    w1, b1, w2, b2 = (w.astype(np.float64) for w in model.get_weights())
    x = x.astype(np.float64)
    hidden = np.maximum(x @ w1 + b1, 0)
    terms = np.abs(hidden) @ np.abs(w2) + (np.abs(x) @ np.abs(w1) + np.abs(b1)) @ np.abs(w2) + np.abs(b2)
    return hidden @ w2 + b2, 8 * np.finfo(np.float32).eps * terms.max()


def log_softmax(z):
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def assert_probabilities(predictions, samples, classes):
    assert predictions.shape == (samples, classes) and predictions.dtype == np.float32
    assert np.isfinite(predictions).all()
    assert (predictions >= 0).all() and (predictions <= 1).all()
    np.testing.assert_allclose(predictions.sum(axis=1), 1, rtol=1e-5)


@FAST
@given(
    problem=problems(),
    batch_size=st.one_of(st.none(), st.integers(1, 50)),
    epochs=st.integers(1, 2),
    shuffle=st.booleans(),
    optimizer=st.sampled_from(["sgd", "rmsprop", "adam"]),
    backend_name=st.sampled_from(["numpy", "array_api_strict"]),
)
def test_fit_evaluate_predict_work_for_any_valid_input(problem, batch_size, epochs, shuffle, optimizer, backend_name):
    x, labels, classes, encoding = problem
    samples, features = x.shape
    y, loss = targets(labels, classes, encoding)
    with backend.use_backend(backend_name):
        set_random_seed(0)
        model = classifier(features, classes, loss, optimizer)
        history = model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=shuffle, verbose=0)
        # Every sample is used once per epoch: the last batch holds the remainder.
        assert model.optimizer.iterations == epochs * math.ceil(samples / (batch_size or 32))
        assert history.epoch == list(range(epochs))
        assert np.isfinite(history.history["loss"]).all()
        assert all(0 <= value <= 1 for value in history.history["accuracy"])

        loss_value, accuracy = model.evaluate(x, y, batch_size=batch_size, verbose=0)
        predictions = model.predict(x, batch_size=batch_size)

    assert_probabilities(predictions, samples, classes)
    # evaluate agrees with the model: the mean of -log p[label], computed from the logits as Keras
    # on TensorFlow computes it (exact where p rounds to 0), and the share of argmax hits.
    logits, rounding = logits_in_float64(model, x)
    expected = -log_softmax(logits)[np.arange(samples), labels].mean()
    np.testing.assert_allclose(loss_value, expected, rtol=1e-4, atol=1e-6 + 2 * rounding)
    assert accuracy == pytest.approx(np.mean(predictions.argmax(axis=1) == labels), abs=1e-6)


@FAST
@given(problem=problems(), first=st.integers(1, 50), second=st.integers(1, 50))
def test_predict_and_evaluate_do_not_depend_on_the_batch_size(problem, first, second):
    x, labels, classes, encoding = problem
    y, loss = targets(labels, classes, encoding)
    set_random_seed(0)
    model = classifier(x.shape[1], classes, loss, "sgd")
    # Equal up to float32 rounding of the logits: a log-probability moves by at most twice as much.
    logits, rounding = logits_in_float64(model, x)
    expected_loss = -log_softmax(logits)[np.arange(len(x)), labels].mean()
    chunked = {size: model.predict(x, batch_size=size) for size in (first, second)}
    np.testing.assert_allclose(chunked[first], chunked[second], rtol=1e-5, atol=1e-7 + 2 * rounding)
    for size in (first, second):
        loss_value, accuracy = model.evaluate(x, y, batch_size=size, verbose=0)
        assert loss_value == pytest.approx(expected_loss, rel=1e-5, abs=1e-6 + 2 * rounding)
        # The hits are those of predict's chunks of the same size (a near tie may fall either way).
        assert accuracy == pytest.approx(np.mean(chunked[size].argmax(axis=1) == labels), abs=1e-6)


COUNT_VALUES = st.one_of(st.integers(-3, 12), st.floats(-3, 12), st.text(max_size=2), st.booleans(), st.none())


@FAST
@given(batch_size=COUNT_VALUES, epochs=COUNT_VALUES)
def test_batch_size_and_epochs_either_work_or_get_a_documented_error(batch_size, epochs):
    x = np.linspace(0, 1, 24, dtype=np.float32).reshape(6, 4)
    y = to_categorical([0, 1, 2, 0, 1, 2], 3)
    model = classifier(4, 3, "categorical_crossentropy", "sgd")
    before = model.get_weights()
    valid_batch = batch_size is None or (type(batch_size) is int and batch_size >= 1)
    valid_epochs = type(epochs) is int and epochs >= 0
    if valid_batch and valid_epochs:
        assert len(model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0).epoch) == epochs
        return
    with pytest.raises((ValueError, TypeError)) as error:
        model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0)
    assert ("batch_size" if not valid_batch else "epochs") in str(error.value)
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(new, old)


@FAST
@given(
    labels=hnp.arrays(np.int64, hnp.array_shapes(max_dims=2, max_side=8), elements=st.integers(0, 9)),
    extra=st.integers(0, 3),
)
def test_to_categorical_inverts_argmax(labels, extra):
    classes = int(labels.max()) + 1 + extra
    one_hot = to_categorical(labels, classes)
    if labels.ndim > 1 and labels.shape[-1] == 1:  # a column of labels loses that axis, as in Keras
        labels = labels[..., 0]
    assert one_hot.shape == (*labels.shape, classes) and one_hot.dtype == np.float32
    np.testing.assert_array_equal(one_hot.argmax(axis=-1), labels)
    np.testing.assert_array_equal(one_hot.sum(axis=-1), 1)


@FAST
@given(labels=hnp.arrays(np.int64, st.integers(1, 10), elements=st.integers(-5, 15)), classes=st.integers(1, 10))
def test_to_categorical_refuses_labels_outside_the_classes(labels, classes):
    if labels.min() >= 0 and labels.max() < classes:
        assert to_categorical(labels, classes).shape == (len(labels), classes)
        return
    with pytest.raises(ValueError, match="labels >= 0|num_classes=") as error:
        to_categorical(labels, classes)
    assert str(labels.min() if labels.min() < 0 else labels.max()) in str(error.value)


# --- numerical stability ------------------------------------------------------------------------


@contextlib.contextmanager
def no_floating_point_trouble():
    """Overflow, division by zero and invalid operations (NaN) raise; warnings are errors.

    Underflow stays allowed: exp(-2000) rounding to 0 is the right answer, not a problem.
    """
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        yield


@pytest.fixture
def strict_floats():
    with no_floating_point_trouble():
        yield


def test_softmax_and_sigmoid_at_plus_and_minus_1000(strict_floats):
    z = np.array([[1000, -1000, 0], [-1000, -1000, -1000], [1000, 1000, 1000]], dtype=np.float32)
    np.testing.assert_array_equal(activations.softmax(z)[0], [1, 0, 0])
    np.testing.assert_allclose(activations.softmax(z)[1:], 1 / 3, rtol=1e-6)
    np.testing.assert_array_equal(activations.sigmoid(z[0]), [1, 0, 0.5])
    np.testing.assert_array_equal(activations.tanh(z[0]), [1, -1, 0])


@FAST
@given(z=hnp.arrays(np.float32, hnp.array_shapes(min_dims=2, max_dims=2, max_side=6),
                    elements=st.floats(-1e4, 1e4, width=32)))
def test_softmax_rows_are_probabilities_for_any_logits(z):
    with no_floating_point_trouble():
        p = activations.softmax(z)
        s = activations.sigmoid(z)
    assert np.isfinite(p).all() and (p >= 0).all()
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-5)
    # The largest logit gets the largest probability.
    assert (p[np.arange(len(z)), z.argmax(axis=1)] == p.max(axis=1)).all()
    assert ((s >= 0) & (s <= 1)).all()


@pytest.mark.parametrize(
    "loss", [losses.CategoricalCrossentropy(), losses.BinaryCrossentropy()], ids=lambda loss: loss.name
)
def test_cross_entropy_of_predictions_exactly_0_and_1_is_finite(loss, strict_floats):
    y_true = np.array([[0, 1, 0], [0, 1, 0]], dtype=np.float32)
    confidently_wrong = np.array([[1, 0, 0], [0, 1, 0]], dtype=np.float32)  # log(0) without the clip
    value = float(loss.value(y_true, confidently_wrong))
    gradient = loss.gradient(y_true, confidently_wrong)
    assert np.isfinite(value) and value > 1  # large, as a confident mistake should be
    assert np.isfinite(gradient).all()
    assert float(loss.value(y_true, y_true)) < 1e-6  # confidently right: next to no loss


def test_sparse_cross_entropy_of_a_zero_prediction_is_finite(strict_floats):
    predictions = np.array([[1, 0, 0]], dtype=np.float32)
    value = float(losses.SparseCategoricalCrossentropy().value(np.array([2]), predictions))
    assert value == pytest.approx(-np.log(1e-7), rel=1e-4)


def test_all_equal_logits_give_a_uniform_prediction_and_a_p_minus_y_gradient(strict_floats):
    model = Sequential([Dense(4, activation="softmax", input_shape=(3,), kernel_initializer="zeros")])
    model.compile(optimizer=SGD(learning_rate=1.0), loss="categorical_crossentropy")
    x = np.ones((2, 3), dtype=np.float32)
    y = to_categorical([1, 3], 4)
    np.testing.assert_array_equal(model.predict(x), 0.25)
    loss = model.train_on_batch(x, y)
    assert loss == pytest.approx(np.log(4), rel=1e-6)
    # dL/dz = (p - y) / n, so the bias moves by -(0.25 - y) averaged over the two rows.
    np.testing.assert_allclose(model.get_weights()[1], -(0.25 - y.mean(axis=0)), rtol=1e-6)


def test_a_model_with_logits_of_1000_still_trains_to_finite_weights(strict_floats):
    model = Sequential([Dense(2, activation="softmax", input_shape=(1,))])
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    model.set_weights([np.array([[1000, -1000]], dtype=np.float32), np.zeros(2, dtype=np.float32)])
    x = np.array([[1], [-1]], dtype=np.float32)
    y = to_categorical([1, 1], 2)  # the first sample is as wrong as float32 can say
    loss, accuracy = model.train_on_batch(x, y)
    assert np.isfinite(loss) and loss > 5 and accuracy == 0.5
    assert all(np.isfinite(w).all() for w in model.get_weights())
    assert_probabilities(model.predict(x), 2, 2)
