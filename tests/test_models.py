"""Sequential as the tutorial uses it: summary, the progress bar, History, one SGD step by hand,
weights in and out, and the tutorial itself on real MNIST."""

import io
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import tinynet
from tinynet import backend
from tinynet.callbacks import Callback
from tinynet.layers import Dense, Dropout, Flatten
from tinynet.models import Sequential
from tinynet.optimizers import SGD
from tinynet.utils import set_random_seed, to_categorical


def tutorial_model():
    model = Sequential()
    model.add(Dense(10, activation="sigmoid", input_shape=(784,)))
    model.add(Dense(10, activation="softmax"))
    model.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    return model


def small_data(samples=300, features=784, classes=10, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((samples, features), dtype=np.float32)
    y = to_categorical(rng.integers(0, classes, samples), classes)
    return x, y


TUTORIAL_SUMMARY = """\
_________________________________________________________________
Layer (type)                 Output Shape              Param #   
=================================================================
dense_1 (Dense)              (None, 10)                7850      
_________________________________________________________________
dense_2 (Dense)              (None, 10)                110       
=================================================================
Total params: 7,960
Trainable params: 7,960
Non-trainable params: 0
_________________________________________________________________
"""


def test_summary_is_the_tutorials_table_byte_for_byte():
    # A fresh process, so that the layer names count from 1 as in the tutorial.
    script = textwrap.dedent(
        """
        from tinynet.models import Sequential
        from tinynet.layers.core import Dense, Activation
        model = Sequential()
        model.add(Dense(10, activation='sigmoid', input_shape=(784,)))
        model.add(Dense(10, activation='softmax'))
        model.summary()
        """
    )
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert output == TUTORIAL_SUMMARY


def test_summary_print_fn_receives_every_line():
    lines = []
    model = tutorial_model()
    model.summary(print_fn=lines.append)
    first, second = (layer.name for layer in model.layers)
    # Names are padded to the column, so swap them for the tutorial's at the same width.
    expected = TUTORIAL_SUMMARY.replace("dense_1 (Dense)".ljust(29), f"{first} (Dense)".ljust(29))
    expected = expected.replace("dense_2 (Dense)".ljust(29), f"{second} (Dense)".ljust(29))
    assert "\n".join(lines) + "\n" == expected
    assert model.count_params() == 7960


def test_layer_names_count_per_type():
    first, second = Dense(3), Dense(3)
    number = int(first.name.split("_")[1])
    assert second.name == f"dense_{number + 1}"
    assert Dense(3, name="mine").name == "mine"


def test_imports_follow_keras_paths():
    from tinynet.datasets import mnist  # noqa: F401
    from tinynet.layers.core import Activation, Dense as CoreDense
    from tinynet.models import Sequential as ModelsSequential
    from tinynet.utils import to_categorical as utils_to_categorical  # noqa: F401

    assert tinynet.Sequential is ModelsSequential
    assert tinynet.layers.Dense is CoreDense
    assert tinynet.layers.Activation is Activation


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def run_fit_capturing(monkeypatch, stream, verbose=1, epochs=2):
    monkeypatch.setattr(sys, "stdout", stream)
    x, y = small_data()
    return tutorial_model().fit(x, y, batch_size=10, epochs=epochs, verbose=verbose)


FINAL_LINE = r"300/300 \[={30}\] - \d+s \d+(us|ms)/step - loss: \d\.\d{4} - accuracy: \d\.\d{4}"


def test_progress_without_a_terminal_is_one_line_per_epoch(monkeypatch):
    stream = io.StringIO()
    run_fit_capturing(monkeypatch, stream)
    output = stream.getvalue()
    assert "\r" not in output
    lines = output.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and len(lines) == 4
    assert re.fullmatch(FINAL_LINE, lines[1]) and re.fullmatch(FINAL_LINE, lines[3])


def test_progress_in_a_terminal_redraws_in_place(monkeypatch):
    from tinynet.utils import progbar

    monkeypatch.setattr(progbar.Progbar, "due", lambda self, current: True)  # draw every batch
    stream = FakeTerminal()
    run_fit_capturing(monkeypatch, stream, epochs=1)
    output = stream.getvalue()
    redraws = output.split("\r")
    assert len(redraws) == 1 + 30  # every one of the 30 batches
    assert re.match(r" 10/300 \[>\.{29}\] - ETA: \d+s - loss: ", redraws[1])
    assert re.fullmatch(FINAL_LINE + r" *\n", redraws[-1])


def test_verbose_2_prints_a_short_line_and_0_prints_nothing(monkeypatch):
    stream = io.StringIO()
    run_fit_capturing(monkeypatch, stream, verbose=2, epochs=1)
    assert re.fullmatch(r"Epoch 1/1\n - \d+s - loss: \d\.\d{4} - accuracy: \d\.\d{4}\n", stream.getvalue())
    stream = io.StringIO()
    run_fit_capturing(monkeypatch, stream, verbose=0, epochs=1)
    assert stream.getvalue() == ""


@pytest.mark.parametrize(
    "seconds, shown", [(7.9, "7s"), (61.0, "1:01"), (119.7, "1:59"), (3599.9, "59:59"), (3725.2, "1:02:05")]
)
def test_eta_is_cut_to_whole_seconds_as_keras_does(seconds, shown):
    from tinynet.utils.progbar import Progbar

    assert Progbar._eta(seconds) == shown


def test_history_records_every_epoch():
    x, y = small_data()
    model = tutorial_model()
    history = model.fit(x, y, batch_size=30, epochs=3, verbose=0)
    assert history is model.history
    assert history.epoch == [0, 1, 2]
    assert list(history.history) == ["loss", "accuracy"]
    assert all(len(values) == 3 for values in history.history.values())
    assert history.params["epochs"] == 3 and history.params["steps"] == 10
    # The epoch's loss is the sample-weighted mean of its batch losses, so training lowers it.
    assert history.history["loss"][2] < history.history["loss"][0]
    metrics = tutorial_model()
    metrics.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["acc"])
    assert list(metrics.fit(x, y, epochs=1, verbose=0).history) == ["loss", "acc"]


def test_defaults_are_keras():
    class CountBatches(Callback):
        def on_train_batch_end(self, batch, logs=None):
            self.batches = batch + 1

    x, y = small_data(samples=100)
    model = tutorial_model()
    counter = CountBatches()
    model.fit(x, y, epochs=1, verbose=0, callbacks=[counter])
    assert counter.batches == 4  # batch_size=None means 32: 32 + 32 + 32 + 4
    assert isinstance(model.optimizer, SGD) and model.optimizer.learning_rate == 0.01
    kernel, bias, _, _ = tutorial_model().get_weights()
    limit = np.sqrt(6 / (784 + 10))  # Glorot uniform
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.9 * limit
    assert np.all(bias == 0)
    assert kernel.dtype == np.float32 and backend.floatx() == "float32"


def test_one_sgd_step_on_a_2_2_2_network_by_hand():
    """Like scikit-learn's test_fit: every number of one step written out with plain NumPy."""
    model = Sequential([Dense(2, activation="sigmoid", input_shape=(2,)), Dense(2, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer=SGD(learning_rate=0.5))
    w1 = np.array([[0.1, -0.2], [0.3, 0.4]], np.float32)
    b1 = np.array([0.05, -0.05], np.float32)
    w2 = np.array([[0.5, -0.6], [-0.7, 0.8]], np.float32)
    b2 = np.array([0.1, 0.0], np.float32)
    model.set_weights([w1, b1, w2, b2])
    x = np.array([[1.0, 2.0], [-1.0, 0.5]], np.float32)
    y = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)

    h = 1 / (1 + np.exp(-(x @ w1 + b1)))
    z = h @ w2 + b2
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    loss = -np.mean(np.sum(y * np.log(p), axis=1))
    delta2 = (p - y) / 2  # dL/dz for softmax + cross-entropy, mean over 2 samples
    delta1 = (delta2 @ w2.T) * h * (1 - h)
    expected = [w1 - 0.5 * x.T @ delta1, b1 - 0.5 * delta1.sum(0), w2 - 0.5 * h.T @ delta2, b2 - 0.5 * delta2.sum(0)]

    reported = model.train_on_batch(x, y)
    assert reported == pytest.approx(loss, rel=1e-5)
    for got, want in zip(model.get_weights(), expected):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


def test_on_batch_methods_and_predict(array_backend):
    x, y = small_data(samples=64)
    model = tutorial_model()
    before = model.test_on_batch(x, y)
    assert isinstance(before[0], float) and 0 <= before[1] <= 1
    model.train_on_batch(x, y)
    assert model.test_on_batch(x, y)[0] < before[0]
    batch = model.predict_on_batch(x[:5])
    full = model.predict(x)
    assert isinstance(full, np.ndarray) and full.shape == (64, 10) and full.dtype == np.float32
    np.testing.assert_allclose(batch, full[:5], rtol=1e-6)
    np.testing.assert_allclose(full.sum(axis=1), 1, rtol=1e-6)
    # Chunking only bounds memory: any batch size gives the same predictions and loss.
    np.testing.assert_allclose(model.predict(x, batch_size=7), full, rtol=1e-6)
    assert model.evaluate(x, y, batch_size=5, verbose=0)[0] == pytest.approx(
        model.evaluate(x, y, verbose=0)[0], rel=1e-6
    )


def test_verbose_auto_return_dict_and_predicts_progress_bar_as_in_keras(monkeypatch):
    x, y = small_data(samples=50)
    model = tutorial_model()
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stdout", stream)
    history = model.fit(x, y, batch_size=10, epochs=1, verbose="auto")
    assert re.search(r"50/50 \[={30}\] - .* - loss: ", stream.getvalue()) and len(history.epoch) == 1
    values = model.evaluate(x, y, verbose=0, return_dict=True)
    assert list(values) == ["loss", "accuracy"] and [*values.values()] == model.evaluate(x, y, verbose=0)
    stream.seek(0), stream.truncate()
    model.predict(x, batch_size=20, verbose=1)
    assert len(stream.getvalue().splitlines()) == 1  # not a terminal: the finished line only
    assert re.fullmatch(r"50/50 \[={30}\] - \d+s \d+(us|ms)/step", stream.getvalue().strip())
    with pytest.raises(ValueError, match="verbose must be 0, 1, 2 or 'auto'; got -1"):
        model.predict(x, verbose=-1)


def test_weights_round_trip_through_a_file(tmp_path, array_backend):
    model = tutorial_model()
    shapes = [w.shape for w in model.get_weights()]
    assert shapes == [(784, 10), (10,), (10, 10), (10,)]
    path = tmp_path / "tutorial.weights.npz"
    model.save_weights(str(path))
    assert path.exists() and not list(tmp_path.glob(".*tmp"))
    other = tutorial_model()
    other.load_weights(str(path))
    for mine, theirs in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(mine, theirs)
    x, _ = small_data(samples=5)
    np.testing.assert_array_equal(model.predict(x), other.predict(x))


def test_set_weights_changes_predictions_and_keeps_optimizer_references():
    model = tutorial_model()
    params_before = model._params
    weights = [w + 1 for w in model.get_weights()]
    model.set_weights(weights)
    assert all(a is b for a, b in zip(params_before, model._params))
    for got, want in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(got, want)


def test_a_frozen_layer_keeps_its_weights_while_the_others_learn(array_backend):
    """trainable=False as in Keras: fit leaves the layer's weights alone, summary counts them as
    non-trainable, and unfreezing it between two fits makes it learn with the same optimizer."""
    x, y = small_data(samples=64)
    model = Sequential([Dense(10, activation="sigmoid", input_shape=(784,), trainable=False),
                        Dense(10, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer=SGD(learning_rate=0.5))
    lines = []
    model.summary(print_fn=lines.append)
    assert "Trainable params: 110" in lines and "Non-trainable params: 7,850" in lines
    before = model.get_weights()
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    after = model.get_weights()
    np.testing.assert_array_equal(after[0], before[0])
    np.testing.assert_array_equal(after[1], before[1])
    assert not np.array_equal(after[2], before[2]) and not np.array_equal(after[3], before[3])

    model.layers[0].trainable = True
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert not np.array_equal(model.get_weights()[0], after[0])


def test_predictions_never_share_memory_with_the_input():
    """A model that passes its input on (Flatten, Dropout at inference) still returns new arrays:
    writing into the predictions must not change the caller's data."""
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    original = x.copy()
    for model in (Sequential([Flatten(input_shape=(3, 4))]), Sequential([Dropout(0.5, input_shape=(3, 4))])):
        for outputs in (model.predict(x), model.predict_on_batch(x), model(x), model.layer_outputs(x)[0]):
            outputs[...] = -1
            np.testing.assert_array_equal(x, original)


def test_model_trainable_false_freezes_every_layer_as_in_keras():
    """Transfer learning's first step: a whole (base) model frozen with one assignment."""
    x, y = small_data(samples=32)
    model = Sequential([Dense(10, activation="sigmoid", input_shape=(784,)), Dense(10, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer=SGD(learning_rate=0.5))
    model.trainable = False
    assert model.trainable is False and model.trainable_weights == [] and len(model.non_trainable_weights) == 4
    before = model.get_weights()
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    for got, want in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(got, want)
    model.trainable = True
    assert all(layer.trainable for layer in model.layers)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert not np.array_equal(model.get_weights()[0], before[0])


def test_a_layer_shared_by_two_models_is_one_set_of_weights():
    """Adding a layer to a second model shares it, as in Keras: the same weights, trained by
    either model; first in one model, it still passes dL/dx on in the other."""
    x, y = small_data(samples=32, features=5, classes=2)
    shared = Dense(4, activation="relu", input_shape=(3,))
    first = Sequential([shared, Dense(2, activation="softmax")])
    second = Sequential([Dense(3, input_shape=(5,)), shared, Dense(2, activation="softmax")])
    assert len(shared.params) == 2 and first.count_params() == (3 * 4 + 4) + (4 * 2 + 2)
    second.compile(loss="categorical_crossentropy", optimizer=SGD(learning_rate=0.5))
    before = second.get_weights()
    second.fit(x, y, batch_size=8, epochs=2, verbose=0)
    after = second.get_weights()
    assert not np.array_equal(after[0], before[0])  # the gradient reached the layer below the shared one
    np.testing.assert_array_equal(first.get_weights()[0], after[2])
    with pytest.raises(ValueError, match=r"was built for inputs of shape \(None, 3\), 3 values on the last axis; got shape \(None, 6\)"):
        Sequential([Dense(6, input_shape=(5,)), shared])


def test_calling_a_built_layer_on_the_wrong_number_of_features_says_so():
    dense = Dense(3)
    assert dense(np.ones((2, 4), np.float32)).shape == (2, 3)
    with pytest.raises(ValueError, match=r"built for inputs of shape \(None, 4\), 4 values on the last axis; got shape \(2, 5\)"):
        dense(np.ones((2, 5), np.float32))


def test_input_dim_is_keras_2s_input_shape():
    model = Sequential([Dense(10, activation="sigmoid", input_dim=784), Dense(10, activation="softmax")])
    assert model.input_shape == (None, 784) and model.count_params() == 7960


def test_dense_kernel_and_its_gradient_are_stored_column_major():
    """The kernel keeps Keras's (inputs, units) shape but PyTorch's memory order, and the gradient
    comes out in the same order, so the update never mixes layouts (set_weights keeps it too)."""
    model = tutorial_model()
    x, y = small_data(samples=8)
    model.train_on_batch(x, y)
    for layer in model.layers:
        kernel, kernel_grad = layer.params[0], layer.grads[0]
        assert kernel.shape == kernel_grad.shape == layer.kernel.shape
        assert kernel.flags.f_contiguous and not kernel.flags.c_contiguous
        assert kernel_grad.flags.f_contiguous
    model.set_weights([np.ascontiguousarray(w) for w in model.get_weights()])
    assert model.layers[0].params[0].flags.f_contiguous
    assert model.get_weights()[0].flags.c_contiguous  # the user's copies are ordinary arrays


def test_to_categorical_matches_keras():
    y = np.array([7, 2, 1, 0], dtype=np.uint8)
    one_hot = to_categorical(y, num_classes=10)
    assert one_hot.dtype == np.float32 and one_hot.shape == (4, 10)
    assert str(one_hot[0]) == "[0. 0. 0. 0. 0. 0. 0. 1. 0. 0.]"
    assert to_categorical([[1], [0]]).shape == (2, 2)  # a trailing axis of 1 is dropped
    with pytest.raises(ValueError, match="num_classes=10 allows only"):
        to_categorical([3, 10], num_classes=10)


@pytest.mark.mnist
def test_the_tutorial_learns_as_keras_does(mnist_flat):
    """5 epochs of the tutorial: loss from about 2.18 to about 1.30, test accuracy about 0.73-0.78
    (Keras/TF: 0.734 +- 0.050 over three seeds)."""
    from sklearn.metrics import confusion_matrix

    (x_train, y_train), (x_test, y_test) = mnist_flat
    set_random_seed(3)
    model = tutorial_model()
    history = model.fit(x_train, y_train, batch_size=100, epochs=5, verbose=0)
    losses = history.history["loss"]
    assert 2.0 < losses[0] < 2.3 and 1.1 < losses[-1] < 1.5
    assert all(a > b for a, b in zip(losses, losses[1:]))
    test_loss, test_acc = model.evaluate(x_test, y_test, verbose=0)
    assert 0.68 <= test_acc <= 0.84
    predictions = model.predict(x_test)
    assert np.sum(predictions[11]) == pytest.approx(1.0, abs=1e-6)
    matrix = confusion_matrix(y_test.argmax(axis=1), predictions.argmax(axis=1))
    assert np.trace(matrix) / np.sum(matrix) == pytest.approx(test_acc, abs=1e-6)


def test_default_inference_chunks_follow_the_largest_layer():
    from tinynet.layers import Conv2D
    from tinynet.models import INFERENCE_CHUNK_BYTES

    dense = tutorial_model()
    conv = Sequential([Conv2D(8, (3, 3), input_shape=(12, 12, 1)), Flatten(), Dense(10, activation="softmax")])
    conv.compile(loss="categorical_crossentropy", optimizer="sgd")
    # The convolution's im2col matrix: 10*10 output pixels, each a row of 3*3*1 inputs (+ 8 outputs).
    assert conv._inference_batch_size(None) == INFERENCE_CHUNK_BYTES // (100 * (9 + 8) * 4)
    assert dense._inference_batch_size(None) > conv._inference_batch_size(None)
    assert conv._inference_batch_size(7) == 7  # the user's choice wins
    x = np.random.default_rng(0).random((2 * conv._inference_batch_size(None) + 3, 12, 12, 1), dtype=np.float32)
    np.testing.assert_allclose(conv.predict(x), conv.predict(x, batch_size=len(x)), rtol=1e-6)


def test_input_declares_the_input_shape_as_in_keras_3():
    with_input = Sequential([tinynet.Input(shape=(784,)), Dense(10, activation="sigmoid"), Dense(10, activation="softmax")])
    added = Sequential()
    added.add(tinynet.layers.InputLayer((784,)))
    added.add(Dense(10, activation="sigmoid"))
    added.add(Dense(10, activation="softmax"))
    for model in (with_input, added):
        assert model.built and model.input_shape == (None, 784) and model.count_params() == 7960
        assert [type(layer).__name__ for layer in model.layers] == ["Dense", "Dense"]
        assert model.layers[0].input_gradient_needed is False  # still the first layer
    with pytest.raises(ValueError, match="comes first, once; model .* has layers already"):
        with_input.add(tinynet.Input((10,)))
    with pytest.raises(ValueError, match="has an Input already"):
        Sequential([tinynet.Input((3,)), tinynet.Input((3,))])
    with pytest.raises(ValueError, match="input_shape must be a tuple of positive integers"):
        tinynet.Input(shape=(0,))


def test_layers_and_weights_are_found_as_in_keras():
    model = Sequential([Dense(4, activation="relu", input_shape=(3,), name="hidden", trainable=False),
                        Dense(2, activation="softmax", name="out")])
    hidden, out = model.layers
    assert model.get_layer("hidden") is hidden and model.get_layer(index=-1) is out
    with pytest.raises(ValueError, match="No such layer: 'outt'. Existing layers are: 'hidden', 'out'."):
        model.get_layer("outt")
    assert model.get_layer(index=np.int64(0)) is hidden
    with pytest.raises(ValueError, match="a name or an index"):
        model.get_layer()
    with pytest.raises(ValueError, match="from 0 to 1; got 2"):
        model.get_layer(index=2)
    assert [w.shape for w in model.weights] == [(3, 4), (4,), (4, 2), (2,)]
    assert [id(w) for w in model.trainable_weights] == [id(w) for w in out.params]
    assert [id(w) for w in model.non_trainable_weights] == [id(w) for w in hidden.params]
    x = np.random.default_rng(0).random((5, 3), dtype=np.float32)
    np.testing.assert_array_equal(model(x), model.predict(x))


def test_calling_a_model_in_training_mode_drops_out():
    model = Sequential([Dropout(0.5, input_shape=(1000,))])
    x = np.ones((2, 1000), np.float32)
    np.testing.assert_array_equal(model(x), x)
    dropped = model(x, training=True)
    assert 0.3 < np.mean(dropped == 0) < 0.7 and set(np.unique(dropped)) == {0.0, 2.0}
