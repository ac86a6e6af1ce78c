"""The example scripts run as a learner runs them, on real MNIST, and save their pictures; and
``Sequential.layer_outputs``, which ``inside_the_network.py`` looks inside the network with."""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from test_models import TUTORIAL_SUMMARY
from tinynet import backend
from tinynet.layers import Dense, Dropout
from tinynet.models import Sequential
from tinynet.random import generator

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run_example(script, plots_dir, arguments=("--epochs", "1", "--seed", "1")):
    """Run ``examples/<script> <arguments> --plots <plots_dir>`` in a fresh process; returns its stdout.

    MNIST is found through the caller's $TINYNET_DATA_DIR, passed on in the environment.
    """
    environment = dict(os.environ, MPLBACKEND="Agg")
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *arguments, "--plots", str(plots_dir)],
        capture_output=True, text=True, env=environment, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def assert_pngs(plots_dir, names):
    for name in names:
        path = plots_dir / f"{name}.png"
        assert path.read_bytes()[:8] == PNG_SIGNATURE, f"{path} is not a PNG file"
        assert path.stat().st_size > 5000, f"{path} is too small to hold a figure"


def printed_test_accuracy(output):
    (accuracy,) = re.findall(r"^Test accuracy: ([\d.]+)$", output, flags=re.MULTILINE)
    return float(accuracy)


@pytest.mark.mnist
def test_the_tutorial_script_prints_the_tutorial_and_saves_its_figures(mnist_data, tmp_path):
    (_, _), (_, y_test) = mnist_data
    output = run_example("mnist_dense.py", tmp_path)
    assert TUTORIAL_SUMMARY in output
    assert "Epoch 1/1\n" in output
    one_hot = " ".join("1." if digit == y_test[0] else "0." for digit in range(10))
    assert f"y_test[0] = [{one_hot}]" in output
    assert printed_test_accuracy(output) > 0.3  # one epoch already beats chance (0.1) by far
    assert "np.argmax(predictions[11]) =" in output
    assert_pngs(tmp_path, ["history", "confusion_matrix", "digits", "prediction_11"])


@pytest.mark.mnist
def test_inside_the_network_shows_the_hidden_layer(mnist_data, tmp_path):
    (_, _), (_, y_test) = mnist_data
    output = run_example("inside_the_network.py", tmp_path)
    assert TUTORIAL_SUMMARY in output
    assert "Epoch 1/1\n" in output
    assert printed_test_accuracy(output) > 0.3
    assert "first layer: kernel (784, 10) bias (10,)" in output
    # One line per digit shown, in test-set order: its label, 10 hidden outputs in [0, 1], the answer.
    digits = re.findall(r"^a (\d): hidden layer \[([^\]]*)\] -> predicted (\d)$", output, flags=re.MULTILINE)
    assert [int(label) for label, _, _ in digits] == list(y_test[: len(digits)])
    assert len(digits) >= 3
    for _, hidden, _ in digits:
        values = [float(v) for v in hidden.split()]
        assert len(values) == 10 and all(0 <= v <= 1 for v in values)
    assert_pngs(tmp_path, ["hidden_weights", "hidden_outputs"])


@pytest.mark.mnist
def test_batch_normalization_lets_plain_sgd_learn_faster(mnist_data, tmp_path):
    output = run_example("learning_experiments.py", tmp_path, ("--only", "batch_normalization", "--epochs", "2"))
    curves = dict(re.findall(r"^  (\S.*?) +val_accuracy by epoch: ([\d. ]+?)   \(", output, flags=re.MULTILINE))
    plain, normalized = ([float(v) for v in curves[name].split()] for name in ("plain sigmoid", "BatchNormalization"))
    assert len(plain) == len(normalized) == 2
    assert normalized[-1] > plain[-1] + 0.05
    assert_pngs(tmp_path, ["plain_sigmoid", "BatchNormalization"])


# --- layer_outputs --------------------------------------------------------------------------------


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def small_model():
    model = Sequential(
        [
            Dense(5, activation="sigmoid", input_shape=(4,), bias_initializer="random_normal"),
            Dropout(0.5),
            Dense(3, activation="softmax"),
        ]
    )
    model.compile(loss="categorical_crossentropy", optimizer="sgd")
    return model


@pytest.mark.parametrize("device", [None, "device1"])
def test_layer_outputs_gives_each_layers_output_as_numpy(device):
    name = "numpy" if device is None else "array_api_strict"
    with backend.use_backend(name, device):
        model = small_model()
        x = np.random.default_rng(0).random((6, 4)).astype("float32")
        random_state = generator().bit_generator.state
        hidden, dropped, probabilities = model.layer_outputs(x)
        predicted = model.predict(x)
        kernel, bias = model.layers[0].get_weights()
    assert all(isinstance(out, np.ndarray) for out in (hidden, dropped, probabilities))
    np.testing.assert_allclose(hidden, sigmoid(x @ kernel + bias), rtol=1e-5)
    # Inference mode: dropout passes its input through and draws no random numbers.
    np.testing.assert_array_equal(dropped, hidden)
    assert generator().bit_generator.state == random_state
    np.testing.assert_allclose(probabilities, predicted, rtol=1e-6)
    assert probabilities.shape == (6, 3)


def test_layer_outputs_refuses_input_of_the_wrong_shape():
    with pytest.raises(ValueError, match="4"):
        small_model().layer_outputs(np.zeros((2, 7)))


@pytest.mark.mnist
def test_the_books_cnn_reaches_96_percent(mnist_data):
    """The book's CNN with its settings (SGD, batches of 100, 5 epochs) reaches >= 0.96 test
    accuracy (the book reports 97.0%). About two minutes on 2 cores."""
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "mnist_cnn.py"), "--seed", "0"],
        capture_output=True, text=True, env=dict(os.environ, MPLBACKEND="Agg"), timeout=900,
    )
    assert result.returncode == 0, result.stderr
    assert "Total params: 62,346" in result.stdout
    assert "Epoch 5/5" in result.stdout
    assert printed_test_accuracy(result.stdout) >= 0.96
