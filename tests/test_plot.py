"""Tests for tinynet.plot: each figure holds the expected axes and data, bad input is refused clearly."""

import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # draw without a screen

import matplotlib.colors
import matplotlib.pyplot as plt
import numpy as np
import pytest
from sklearn.metrics import confusion_matrix

from tinynet import backend
from tinynet.plot import plot_confusion_matrix, plot_history, show_digits, show_prediction

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


class FakeHistory:
    """Stands in for the History that fit returns: .history dict and .epoch list."""

    def __init__(self, history):
        self.history = history
        self.epoch = list(range(len(next(iter(history.values())))))


def same_color(first, second):
    return matplotlib.colors.to_rgba(first) == matplotlib.colors.to_rgba(second)


def one_hot(indices, classes):
    return np.eye(classes)[indices]


# --- plot_history -------------------------------------------------------------------------


def test_plot_history_draws_training_and_validation_curves_per_metric():
    rng = np.random.default_rng(0)
    values = {key: rng.random(4).tolist() for key in ("loss", "accuracy", "val_loss", "val_accuracy")}
    fig = plot_history(FakeHistory(values))

    loss_ax, accuracy_ax = fig.axes
    for ax, name in ((loss_ax, "loss"), (accuracy_ax, "accuracy")):
        assert ax.get_title() == name
        training, validation = ax.get_lines()
        np.testing.assert_array_equal(training.get_xdata(), [1, 2, 3, 4])  # epochs counted from 1
        np.testing.assert_allclose(training.get_ydata(), values[name])
        np.testing.assert_allclose(validation.get_ydata(), values["val_" + name])
        assert training.get_linestyle() == "-"
        assert validation.get_linestyle() == "--"
        assert [text.get_text() for text in ax.get_legend().get_texts()] == ["training", "validation"]


def test_plot_history_accepts_a_plain_dict_and_puts_loss_first():
    values = {"acc": [0.5, 0.7, 0.8], "loss": [1.0, 0.6, 0.4]}
    fig = plot_history(values)
    assert [ax.get_title() for ax in fig.axes] == ["loss", "acc"]
    (loss_line,) = fig.axes[0].get_lines()
    np.testing.assert_allclose(loss_line.get_ydata(), values["loss"])
    np.testing.assert_array_equal(loss_line.get_xdata(), [1, 2, 3])


def test_plot_history_uses_the_epochs_recorded_by_fit():
    history = FakeHistory({"loss": [0.9, 0.5]})
    history.epoch = [3, 4]  # a second fit continuing training
    fig = plot_history(history)
    np.testing.assert_array_equal(fig.axes[0].get_lines()[0].get_xdata(), [4, 5])


def test_plot_history_rejects_bad_input():
    with pytest.raises(TypeError, match="History.*dict.*got list"):
        plot_history([0.5, 0.4])
    with pytest.raises(ValueError, match="no metrics"):
        plot_history({})
    with pytest.raises(ValueError, match="one value per epoch.*'loss': 3.*'val_loss': 2"):
        plot_history({"loss": [1.0, 0.5, 0.3], "val_loss": [1.0, 0.5]})
    with pytest.raises(ValueError, match=r"history\['loss'\] must be a list of numbers"):
        plot_history({"loss": [[1.0, 0.5]]})
    history = FakeHistory({"loss": [0.9, 0.5]})
    history.epoch = [0]
    with pytest.raises(ValueError, match="history.epoch must list 2 epochs"):
        plot_history(history)


# --- plot_confusion_matrix ----------------------------------------------------------------


def test_confusion_matrix_shows_sklearns_counts_in_image_and_cells():
    rng = np.random.default_rng(1)
    y_true = rng.integers(0, 10, size=200)
    y_pred = np.where(rng.random(200) < 0.7, y_true, rng.integers(0, 10, size=200))
    expected = confusion_matrix(y_true, y_pred, labels=np.arange(10))

    fig = plot_confusion_matrix(y_true, y_pred)
    (ax,) = fig.axes
    np.testing.assert_array_equal(ax.images[0].get_array(), expected)
    cells = {}
    for text in ax.texts:
        column, row = text.get_position()
        cells[round(row), round(column)] = text.get_text()
    assert cells == {(row, column): str(expected[row, column]) for row in range(10) for column in range(10)}
    assert ax.get_xlabel() == "Predicted label"
    assert ax.get_ylabel() == "True label"
    correct = int(np.trace(expected))
    assert f"({correct}/200)" in ax.get_title()
    assert f"{correct / 200:.2%}" in ax.get_title()


def test_confusion_matrix_takes_one_hot_and_probability_rows_and_names_classes():
    y_true = np.array([0, 1, 2, 2])
    probabilities = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.6, 0.3], [0.0, 0.1, 0.9]])
    fig = plot_confusion_matrix(one_hot(y_true, 3), probabilities, labels=["cat", "dog", "bird"])
    ax = fig.axes[0]
    np.testing.assert_array_equal(ax.images[0].get_array(), [[1, 0, 0], [0, 1, 0], [0, 1, 1]])
    assert [tick.get_text() for tick in ax.get_xticklabels()] == ["cat", "dog", "bird"]
    assert [tick.get_text() for tick in ax.get_yticklabels()] == ["cat", "dog", "bird"]
    assert "(3/4)" in ax.get_title()


def test_confusion_matrix_takes_a_sigmoid_output_column():
    # A binary model's predict gives one probability per sample: class 1 above 0.5, as Keras's
    # binary accuracy counts (a column of whole numbers stays class indices).
    probabilities = np.array([[0.9], [0.2], [0.3], [0.8]], np.float32)
    fig = plot_confusion_matrix([1, 0, 1, 1], probabilities)
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), [[1, 0], [1, 2]])
    fig = plot_confusion_matrix([2, 0], np.array([[2.0], [0.0]]))
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), [[1, 0, 0], [0, 0, 0], [0, 0, 1]])


def test_confusion_matrix_keeps_classes_that_never_occur_in_one_hot_rows():
    # Ten one-hot columns mean ten classes, even if only classes 0 and 1 appear.
    fig = plot_confusion_matrix(one_hot([0, 1], 10), [0, 1])
    assert fig.axes[0].images[0].get_array().shape == (10, 10)


def test_confusion_matrix_rejects_bad_input():
    with pytest.raises(ValueError, match="same number of examples, got 3 and 2"):
        plot_confusion_matrix([0, 1, 2], [0, 1])
    with pytest.raises(ValueError, match="y_pred must hold non-negative whole class indices, got -1"):
        plot_confusion_matrix([0, 1], [0, -1])
    with pytest.raises(ValueError, match="whole class indices, got 0.5"):
        plot_confusion_matrix([0, 0.5], [0, 1])
    with pytest.raises(ValueError, match=r"y_true must be class indices.*got shape \(2, 2, 2\)"):
        plot_confusion_matrix(np.zeros((2, 2, 2)), [0, 1])
    with pytest.raises(ValueError, match="labels must name all 3 classes.*got 2"):
        plot_confusion_matrix([0, 1, 2], [0, 1, 2], labels=["a", "b"])
    with pytest.raises(ValueError, match="empty"):
        plot_confusion_matrix([], [])


# --- show_digits --------------------------------------------------------------------------


def test_show_digits_titles_each_image_with_its_label():
    rng = np.random.default_rng(2)
    x = rng.random((30, 28, 28))
    y = rng.integers(0, 10, size=30)
    fig = show_digits(x, y, n=12)
    assert len(fig.axes) == 12
    for index, ax in enumerate(fig.axes):
        np.testing.assert_array_equal(ax.images[0].get_array(), x[index])
        assert ax.get_title() == f"label {y[index]}"


def test_show_digits_marks_misclassified_images_in_red():
    rng = np.random.default_rng(3)
    x = rng.random((9, 16))  # flat rows of 4x4 images
    y_true = np.arange(9)
    y_pred = y_true.copy()
    y_pred[[2, 7]] = [5, 0]
    fig = show_digits(x, one_hot(y_true, 10), one_hot(y_pred, 10))
    assert len(fig.axes) == 9  # fewer images than n=25: shows them all
    for index, ax in enumerate(fig.axes):
        assert ax.images[0].get_array().shape == (4, 4)
        assert ax.get_title() == f"true {y_true[index]}, pred {y_pred[index]}"
        wrong = index in (2, 7)
        assert same_color(ax.title.get_color(), "red") == wrong
        assert same_color(ax.spines["left"].get_edgecolor(), "red") == wrong


def test_show_digits_rejects_bad_input():
    x = np.zeros((4, 28, 28))
    with pytest.raises(ValueError, match="square number of pixels.*got 10"):
        show_digits(np.zeros((4, 10)), [0, 1, 2, 3])
    with pytest.raises(ValueError, match="y_true needs one label per image: 4 images, got 3"):
        show_digits(x, [0, 1, 2])
    with pytest.raises(ValueError, match="y_pred needs one label per image: 4 images, got 5"):
        show_digits(x, [0, 1, 2, 3], [0, 1, 2, 3, 4])
    with pytest.raises(ValueError, match="n must be a positive whole number.*got 0"):
        show_digits(x, [0, 1, 2, 3], n=0)
    with pytest.raises(ValueError, match=r"shape \(count, height, width\).*got shape \(28,\)"):
        show_digits(np.zeros(28), [0])


# --- show_prediction ----------------------------------------------------------------------


def test_show_prediction_draws_image_and_probability_bars():
    rng = np.random.default_rng(4)
    image = rng.random(784)
    probabilities = rng.dirichlet(np.ones(10))
    fig = show_prediction(image, probabilities[np.newaxis])  # as model.predict(x[11:12]) returns it
    image_ax, bar_ax = fig.axes
    np.testing.assert_array_equal(image_ax.images[0].get_array(), image.reshape(28, 28))
    bars = bar_ax.patches
    np.testing.assert_allclose([bar.get_height() for bar in bars], probabilities)
    best = int(probabilities.argmax())
    others = [bar.get_facecolor() for index, bar in enumerate(bars) if index != best]
    assert all(same_color(color, others[0]) for color in others)
    assert not same_color(bars[best].get_facecolor(), others[0])
    assert bar_ax.get_ylim() == (0, 1)
    assert bar_ax.get_title().startswith(f"predicted {best}")


def test_show_prediction_rejects_bad_input():
    with pytest.raises(ValueError, match="between 0 and 1.*softmax.*from -2 to 3"):
        show_prediction(np.zeros((28, 28)), [-2.0, 3.0, 0.5])
    with pytest.raises(ValueError, match=r"one row of class probabilities.*got shape \(2, 3\)"):
        show_prediction(np.zeros((28, 28)), np.full((2, 3), 0.3))
    with pytest.raises(ValueError, match=r"one image.*got shape \(2, 28, 28\)"):
        show_prediction(np.zeros((2, 28, 28)), [0.5, 0.5])


# --- saving and the optional dependency ---------------------------------------------------


def test_every_figure_saves_as_png(tmp_path):
    x = np.random.default_rng(5).random((4, 28, 28))
    figures = {
        "history": plot_history({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}),
        "confusion": plot_confusion_matrix([0, 1, 1, 2], [0, 1, 2, 2]),
        "digits": show_digits(x, [0, 1, 2, 3], [0, 1, 2, 2]),
        "prediction": show_prediction(x[0], [0.1, 0.7, 0.2]),
    }
    for name, fig in figures.items():
        path = tmp_path / f"{name}.png"
        fig.savefig(path)
        assert path.read_bytes()[:8] == PNG_SIGNATURE


def test_missing_matplotlib_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)  # makes the import fail
    with pytest.raises(ImportError, match="pip install matplotlib"):
        plot_history({"loss": [1.0]})


def test_tinynet_plot_imports_without_matplotlib():
    code = "import sys; sys.modules['matplotlib'] = None; import tinynet.plot"
    repo_root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=repo_root)
    assert result.returncode == 0, result.stderr


def test_device_arrays_are_copied_to_the_host_through_the_backend():
    # array_api_strict's pretend device "device1" refuses np.asarray as a GPU array does, so the
    # figures can only get its data through tinynet.backend.to_numpy.
    with backend.use_backend("array_api_strict", "device1"):
        image = backend.asarray(np.zeros((28, 28)))
        probabilities = backend.asarray([0.2, 0.8])
        with pytest.raises(RuntimeError):
            np.asarray(probabilities)
        fig = show_prediction(image, probabilities)
    np.testing.assert_allclose([bar.get_height() for bar in fig.axes[1].patches], [0.2, 0.8])
