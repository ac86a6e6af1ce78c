"""Pictures for learning: training curves, a confusion matrix, digit grids and one prediction.

Every function returns a matplotlib ``Figure``, so you can save it or show it::

    fig = plot_history(history)
    fig.savefig("history.png")   # or plt.show() in a script; a notebook shows it by itself

matplotlib (and scikit-learn for the confusion matrix) is imported only when a picture is
drawn, so tinynet itself works without them. Arrays may be NumPy arrays, arrays of the active
backend (on a GPU, CuPy's: :func:`tinynet.backend.to_numpy` copies them to the host) or anything
``np.asarray`` takes (lists, tuples).
"""

import math
from collections.abc import Mapping

import numpy as np

from tinynet import backend


def _pyplot():
    """Import matplotlib.pyplot, or say how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError(
            "tinynet.plot needs matplotlib to draw pictures; install it with: pip install matplotlib"
        ) from error
    return plt


def _to_numpy(array, name):
    """A NumPy array from an array of the active backend or anything np.asarray takes."""
    # A device array (CuPy's) refuses np.asarray on purpose: the backend makes the explicit copy.
    if backend.is_backend_array(array):
        array = backend.to_numpy(array)
    try:
        return np.asarray(array)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be array-like, got {type(array).__name__}: {error}") from error


def _class_indices(labels, name):
    """Class indices and the number of columns (0 for indices) from indices or one-hot rows.

    Indices have shape (n,) or (n, 1); one-hot or probability rows have shape (n, classes)
    and become ``argmax`` over each row. A column (n, 1) of floats between 0 and 1 is one
    probability per sample, a sigmoid's output: class 1 where it is above 0.5, as binary accuracy
    counts, else class 0.
    """
    labels = _to_numpy(labels, name)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
        if labels.dtype.kind == "f" and labels.size and labels.min() >= 0 and labels.max() <= 1:
            return (labels > 0.5).astype(int), 0
    if labels.ndim == 2:
        if labels.shape[1] == 0:
            raise ValueError(f"{name} has rows with no classes: shape {labels.shape}")
        return labels.argmax(axis=1), labels.shape[1]
    if labels.ndim != 1:
        raise ValueError(
            f"{name} must be class indices of shape (n,) or one-hot rows of shape (n, classes), "
            f"got shape {labels.shape}"
        )
    if labels.size == 0:
        return labels.astype(int), 0
    if not (np.issubdtype(labels.dtype, np.integer) or np.issubdtype(labels.dtype, np.floating)):
        raise TypeError(f"{name} must hold numeric class indices, got dtype {labels.dtype}")
    bad = (labels < 0) | (labels != np.round(labels))
    if bad.any():
        raise ValueError(
            f"{name} must hold non-negative whole class indices, got {labels[bad][0].item()} "
            f"at position {int(np.flatnonzero(bad)[0])}"
        )
    return labels.astype(int), 0


def _square_images(images, name):
    """Images of shape (count, height, width) from (count, side*side), (count, h, w) or (count, h, w, 1)."""
    images = _to_numpy(images, name)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim == 2:
        side = math.isqrt(images.shape[1])
        if side * side != images.shape[1] or side == 0:
            raise ValueError(
                f"{name} as flat rows needs a square number of pixels per row (like 784 = 28*28), "
                f"got {images.shape[1]}"
            )
        images = images.reshape(len(images), side, side)
    if images.ndim != 3:
        raise ValueError(
            f"{name} must have shape (count, height, width) or flat rows (count, side*side), "
            f"got shape {images.shape}"
        )
    return images


def plot_history(history):
    """Draw each metric per epoch: training solid, validation dashed, one axes per metric.

    ``history`` is what ``model.fit`` returns (a ``History`` with ``.history``, a dict of
    metric name -> list of values per epoch, and ``.epoch``) or that dict itself. Keys like
    ``loss``, ``accuracy`` and ``val_loss``, ``val_accuracy`` give two side-by-side axes,
    "loss" and "accuracy", each holding its training and validation curve. Epochs are
    shown counting from 1.

        fig = plot_history(history)
        fig.savefig("history.png")
    """
    if isinstance(history, Mapping):
        metrics, epochs = history, None
    elif isinstance(getattr(history, "history", None), Mapping):
        metrics, epochs = history.history, getattr(history, "epoch", None)
    else:
        raise TypeError(
            "history must be a History (with a .history dict) or a dict of metric name -> "
            f"values per epoch, got {type(history).__name__}"
        )
    if not metrics:
        raise ValueError("history holds no metrics: nothing to plot (did fit run any epochs?)")

    curves = {}
    for key, values in metrics.items():
        values = _to_numpy(values, f"history[{key!r}]")
        if values.ndim != 1 or not np.issubdtype(values.dtype, np.number):
            raise ValueError(
                f"history[{key!r}] must be a list of numbers, one per epoch, "
                f"got {values.dtype} array of shape {values.shape}"
            )
        curves[key] = values.astype(float)
    lengths = {key: len(values) for key, values in curves.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"every metric needs one value per epoch, got lengths {lengths}")
    count = next(iter(lengths.values()))
    if epochs is None:
        epochs = np.arange(count)
    epochs = _to_numpy(epochs, "history.epoch")
    if epochs.shape != (count,):
        raise ValueError(f"history.epoch must list {count} epochs (one per value), got shape {epochs.shape}")
    epochs = epochs + 1  # fit counts epochs from 0; people count from 1

    # One axes per metric name without its "val_" prefix; loss first, the rest in fit's order.
    names = list(dict.fromkeys(key.removeprefix("val_") for key in curves))
    names.sort(key=lambda name: name != "loss")

    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 4), squeeze=False, layout="constrained")
    for ax, name in zip(axes[0], names):
        if name in curves:
            ax.plot(epochs, curves[name], marker="o", label="training")
        if "val_" + name in curves:
            ax.plot(epochs, curves["val_" + name], marker="o", linestyle="--", label="validation")
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    return fig


def plot_confusion_matrix(y_true, y_pred, labels=None):
    """Draw the confusion matrix: row = true class, column = predicted class, count in each cell.

    ``y_true`` and ``y_pred`` are class indices or one-hot / probability rows (taken as the
    argmax of each row), or one sigmoid probability per sample (class 1 above 0.5), so
    ``model.predict(x_test)`` can be passed as it is. ``labels``
    names the classes 0, 1, ... on the axes (default: the class numbers). The title gives
    the accuracy, the diagonal (right answers) over all examples. The counts come from
    ``sklearn.metrics.confusion_matrix``.

        fig = plot_confusion_matrix(y_test, model.predict(x_test))
        fig.savefig("confusion.png")
    """
    true, true_columns = _class_indices(y_true, "y_true")
    pred, pred_columns = _class_indices(y_pred, "y_pred")
    if len(true) != len(pred):
        raise ValueError(
            f"y_true and y_pred need the same number of examples, got {len(true)} and {len(pred)}"
        )
    if len(true) == 0:
        raise ValueError("y_true and y_pred are empty: no examples to count")
    classes = max(true_columns, pred_columns, int(true.max()) + 1, int(pred.max()) + 1)
    if labels is None:
        labels = [str(index) for index in range(classes)]
    else:
        labels = [str(label) for label in labels]
        if len(labels) < classes:
            raise ValueError(
                f"labels must name all {classes} classes seen in y_true / y_pred, got {len(labels)} names"
            )
        classes = len(labels)

    try:
        from sklearn.metrics import confusion_matrix
    except ImportError as error:
        raise ImportError(
            "plot_confusion_matrix needs scikit-learn; install it with: pip install scikit-learn"
        ) from error
    matrix = confusion_matrix(true, pred, labels=np.arange(classes))
    correct, total = int(np.trace(matrix)), int(matrix.sum())

    plt = _pyplot()
    size = max(4.0, 0.6 * classes + 1.5)
    fig, ax = plt.subplots(figsize=(size, size), layout="constrained")
    ax.imshow(matrix, cmap="Blues")
    # Dark cells get white text so every count stays readable.
    threshold = matrix.max() / 2
    for row in range(classes):
        for column in range(classes):
            count = matrix[row, column]
            color = "white" if count > threshold else "black"
            ax.text(column, row, str(count), ha="center", va="center", color=color, fontsize=9)
    ax.set_xticks(range(classes), labels)
    ax.set_yticks(range(classes), labels)
    ax.set_xlabel("Predicted label")
    ax.set_ylabel("True label")
    ax.set_title(f"accuracy {correct / total:.2%} ({correct}/{total})")
    return fig


def show_digits(x, y_true, y_pred=None, n=25):
    """Show the first ``n`` images in a grid, each titled with its label.

    ``x`` has shape (count, height, width), or flat rows (count, side*side) such as MNIST's
    (count, 784). Labels are class indices or one-hot rows. With ``y_pred`` each title reads
    "true 7, pred 2" and every misclassified image gets a red title and a red frame.
    Fewer than ``n`` images are shown when ``x`` has fewer.

        fig = show_digits(x_test, y_test, model.predict(x_test), n=16)
        fig.savefig("digits.png")
    """
    images = _square_images(x, "x")
    true, _ = _class_indices(y_true, "y_true")
    if len(true) != len(images):
        raise ValueError(f"y_true needs one label per image: {len(images)} images, got {len(true)} labels")
    if y_pred is not None:
        pred, _ = _class_indices(y_pred, "y_pred")
        if len(pred) != len(images):
            raise ValueError(
                f"y_pred needs one label per image: {len(images)} images, got {len(pred)} labels"
            )
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive whole number of images to show, got {n!r}")
    count = min(int(n), len(images))
    if count == 0:
        raise ValueError("x holds no images to show")

    plt = _pyplot()
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    fig = plt.figure(figsize=(1.6 * columns, 1.7 * rows), layout="constrained")
    for index in range(count):
        ax = fig.add_subplot(rows, columns, index + 1)
        ax.imshow(images[index], cmap="binary")
        ax.set_xticks([])
        ax.set_yticks([])
        if y_pred is None:
            ax.set_title(f"label {true[index]}", fontsize=9)
            continue
        wrong = pred[index] != true[index]
        ax.set_title(f"true {true[index]}, pred {pred[index]}", fontsize=9, color="red" if wrong else "black")
        if wrong:
            for spine in ax.spines.values():
                spine.set_color("red")
                spine.set_linewidth(2)
    return fig


def show_prediction(x, probabilities):
    """Show one image beside the model's probability for each class, the most likely one highlighted.

    ``x`` is a single image: (height, width), a flat row (side*side,), or a batch of one
    such as ``x_test[11:12]``. ``probabilities`` is one row of ``model.predict``: shape
    (classes,) or (1, classes), each value between 0 and 1.

        fig = show_prediction(x_test[11], model.predict(x_test[11:12]))
        fig.savefig("prediction.png")
    """
    image = np.squeeze(_to_numpy(x, "x"))  # drops a batch axis of 1 and a channel axis of 1
    if image.ndim == 1:
        image = _square_images(image[np.newaxis], "x")[0]
    if image.ndim != 2:
        raise ValueError(
            "x must be one image of shape (height, width) or a flat row (side*side,), "
            f"got shape {np.shape(x)}"
        )
    probabilities = _to_numpy(probabilities, "probabilities")
    if probabilities.ndim == 2 and probabilities.shape[0] == 1:
        probabilities = probabilities[0]
    if probabilities.ndim != 1 or probabilities.size == 0:
        raise ValueError(
            f"probabilities must be one row of class probabilities, shape (classes,) or (1, classes), "
            f"got shape {probabilities.shape}"
        )
    probabilities = probabilities.astype(float)
    if not np.all((probabilities >= 0) & (probabilities <= 1)):
        raise ValueError(
            "probabilities must lie between 0 and 1 (did the model end in softmax?), "
            f"got values from {probabilities.min():g} to {probabilities.max():g}"
        )
    predicted = int(probabilities.argmax())

    plt = _pyplot()
    fig, (image_ax, bar_ax) = plt.subplots(
        1, 2, figsize=(8, 3.5), width_ratios=[1, 1.6], layout="constrained"
    )
    image_ax.imshow(image, cmap="binary")
    image_ax.set_xticks([])
    image_ax.set_yticks([])
    image_ax.set_title("input")

    classes = np.arange(len(probabilities))
    colors = ["tab:gray"] * len(probabilities)
    colors[predicted] = "tab:blue"
    bar_ax.bar(classes, probabilities, color=colors)
    bar_ax.set_ylim(0, 1)
    bar_ax.set_xticks(classes)
    bar_ax.set_xlabel("class")
    bar_ax.set_ylabel("probability")
    bar_ax.set_title(f"predicted {predicted} ({probabilities[predicted]:.1%})")
    return fig
