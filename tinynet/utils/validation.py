"""Checks of what a user hands to a model, each failing with a message that says what was expected
and what was given, before anything changes. Learners make every one of these mistakes.
"""

import numbers

import numpy as np

from tinynet import backend


def check_count(name, value, minimum):
    """``value`` must be an integer >= ``minimum`` (``epochs``, ``batch_size``...)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer; got {value!r} of type {type(value).__name__}.")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value}.")
    return int(value)


def check_verbose(verbose):
    """``verbose`` as 0 (silent), 1 (progress bar) or 2 (one line per epoch); Keras 3's ``"auto"``
    and ``True`` are 1, ``False`` is 0."""
    if verbose == "auto" or verbose is True:
        return 1
    if verbose is False:
        return 0
    if isinstance(verbose, str) or not isinstance(verbose, numbers.Integral) or verbose < 0:
        raise ValueError(f"verbose must be 0, 1, 2 or 'auto'; got {verbose!r}.")
    return int(verbose)


def as_array(name, values):
    """``values`` as an array (host NumPy, or the active backend's device array as given)."""
    if values is None:
        raise ValueError(f"{name} is missing: pass an array.")
    if not (isinstance(values, np.ndarray) or backend.is_backend_array(values)):
        try:
            values = np.asarray(values)
        except (ValueError, TypeError) as error:
            raise TypeError(f"{name} must be an array of numbers; could not convert it: {error}") from None
    if isinstance(values, np.ndarray) and (values.dtype.kind not in "biuf"):
        raise TypeError(
            f"{name} must hold numbers; got an array of dtype {values.dtype} "
            "(text or mixed objects?). Convert it, e.g. x.astype('float32')."
        )
    if values.ndim == 0 or values.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {tuple(values.shape)}): it needs at least one sample.")
    return values


def check_finite(name, values):
    """No NaN or infinity in ``values``, and no number too large for the float type the model
    computes in (a float64 1e300 would become inf in float32). On the device where the data lives;
    one pass over it, and one more for the range of floats wider than the model's."""
    if isinstance(values, np.ndarray):
        if values.dtype.kind == "f":
            # Each sample times a vector of zeros: 0 for a sample of finite numbers, NaN for one
            # holding a NaN or an infinity (0 * inf is NaN). BLAS reads the data for this product
            # three to four times faster than a sum or isfinite does, and it names the sample.
            rows = values.reshape(values.shape[0], -1)
            with np.errstate(invalid="ignore"):  # 0 * inf is the point here, not a mistake
                bad = np.flatnonzero(np.isnan(rows @ np.zeros(rows.shape[1], rows.dtype)))
            if bad.size:
                raise ValueError(
                    f"{name} contains NaN or infinite values (the first in sample {bad[0]}). "
                    "Clean or impute the data before training."
                )
        if values.dtype.kind == "f" and values.dtype.itemsize > np.dtype(backend.floatx()).itemsize:
            limit = float(np.finfo(backend.floatx()).max)
            largest = float(np.abs(values).max())
            if largest > limit:
                raise ValueError(
                    f"{name} holds a value of {largest:.3g}, too large for {backend.floatx()} "
                    f"(at most {limit:.3g}): it would become infinite. Scale the data first, "
                    "e.g. to [0, 1]."
                )
        return
    xp = backend.namespace()
    if not bool(xp.all(xp.isfinite(values))):
        raise ValueError(f"{name} contains NaN or infinite values. Clean the data before training.")


def check_features(x, input_shape, model_name):
    """``x`` must be a batch of samples of ``input_shape`` (the model's shape without the batch)."""
    sample_shape = tuple(x.shape[1:])
    if sample_shape == tuple(input_shape):
        return
    expected = f"(n, {', '.join(map(str, input_shape))})"
    message = (
        f"Model {model_name!r} expects input of shape {expected}: samples of shape "
        f"{tuple(input_shape)}; got an array of shape {tuple(x.shape)}."
    )
    if tuple(x.shape) == tuple(input_shape):
        message += (
            f" That looks like a single sample: give a batch of one, "
            f"x.reshape(1, {', '.join(map(str, input_shape))})."
        )
    elif int(np.prod(sample_shape)) == int(np.prod(input_shape)):
        message += f" Reshape it first: x.reshape({x.shape[0]}, {', '.join(map(str, input_shape))})."
    elif len(sample_shape) == len(input_shape):
        message += (
            f" Each sample has {sample_shape[-1]} features where the model expects {input_shape[-1]}."
        )
    raise ValueError(message)


def sample_weights(y, sample_weight, class_weight, loss, classes=None):
    """Each sample's weight in the loss as a float64 host vector, from ``sample_weight`` (one
    number per sample) or ``class_weight`` (``{label: weight}`` for a model of ``classes``
    outputs, 1 for labels it leaves out, as in Keras), or None when neither is given. Keras refuses
    the two together; so does this."""
    if sample_weight is None and class_weight is None:
        return None
    if sample_weight is not None and class_weight is not None:
        raise ValueError("Give sample_weight or class_weight, not both (Keras refuses them together too).")
    if sample_weight is not None:
        try:
            weights = np.asarray(_on_host(sample_weight))
        except (ValueError, TypeError):  # a ragged list
            raise ValueError(
                f"sample_weight must hold one number per sample; could not read {sample_weight!r}."
            ) from None
        if weights.ndim == 2 and weights.shape[1] == 1:
            weights = weights[:, 0]
        if weights.dtype.kind not in "biuf" or weights.shape != (y.shape[0],):
            raise ValueError(
                f"sample_weight must hold one number per sample, shape ({y.shape[0]},); got an array of "
                f"shape {weights.shape} and dtype {weights.dtype}."
            )
        return _checked_weights("sample_weight", weights)
    table = _class_weight_table(class_weight, loss, classes)
    if y.ndim > 2:
        raise ValueError(f"class_weight needs one class label per sample; y has shape {tuple(y.shape)}.")
    labels = np.asarray(_on_host(y))
    if loss.name == "categorical_crossentropy":
        labels = labels.argmax(axis=-1)
    # Soft binary targets (0.9) count as their nearest label, as Keras rounds them.
    labels = np.round(labels.reshape(len(labels)))
    if labels.min() < 0 or labels.max() >= len(table):
        raise ValueError(
            f"class_weight needs labels from 0 to {len(table) - 1} in y; got values from "
            f"{labels.min()} to {labels.max()}."
        )
    return table[labels.astype(np.int64)]


def _class_weight_table(class_weight, loss, classes):
    """``class_weight`` as a vector, one weight per label (1 where it names none), once checked."""
    binary = loss.name == "binary_crossentropy"
    if not (loss.name.endswith("categorical_crossentropy") or (binary and classes == 1)):
        raise ValueError(
            f"class_weight needs one class label per sample: a categorical cross-entropy, or a "
            f"binary one with a single output; the loss is {loss.name} with {classes} outputs."
        )
    if not isinstance(class_weight, dict):
        raise TypeError(
            f"class_weight must be a dict {{label: weight}}, e.g. {{0: 1.0, 1: 5.0}}; got {class_weight!r}."
        )
    labels_count = 2 if binary else classes
    for label in class_weight:
        if isinstance(label, bool) or not isinstance(label, numbers.Integral) or not 0 <= label < labels_count:
            raise ValueError(f"class_weight's labels must be integers from 0 to {labels_count - 1}; got {label!r}.")
    table = np.array([class_weight.get(label, 1.0) for label in range(labels_count)])
    if table.dtype.kind not in "biuf":
        raise TypeError(f"class_weight's weights must be numbers; got {class_weight!r}.")
    return _checked_weights("class_weight", table)


def _checked_weights(what, weights):
    """``weights`` as float64, once they are finite, >= 0 and small enough for the model's floats
    (a weight of 1e39 would be infinite in float32 and turn every weight NaN in one step)."""
    weights = weights.astype(np.float64)
    limit = float(np.finfo(backend.floatx()).max)
    if not np.all(np.isfinite(weights)) or np.any(weights < 0) or np.any(weights > limit):
        raise ValueError(
            f"{what} must be finite numbers from 0 to {limit:.3g} (the largest {backend.floatx()}); got "
            f"values from {weights.min():.3g} to {weights.max():.3g}."
        )
    return weights


def _on_host(values):
    return backend.to_numpy(values) if backend.is_backend_array(values) else values


def check_targets(x, y, loss, output_shape):
    """``y`` must suit the loss and the model's output: one-hot rows, or integer labels for sparse.

    Labels have the output's shape without its last axis, the classes: ``(n,)`` for ``(n, 10)``,
    ``(n, h, w)`` for one class per pixel, ``(n, h, w, classes)``; a last axis of length 1 may stay.
    """
    if y.shape[0] != x.shape[0]:
        raise ValueError(
            f"x and y must have the same number of samples; got {x.shape[0]} in x and {y.shape[0]} in y."
        )
    classes = output_shape[-1]
    label_axes = tuple(output_shape[1:-1])
    labels_given = tuple(y.shape[1:]) in (label_axes, (*label_axes, 1))
    label_shape = _shape_text(*label_axes)
    if loss.name == "sparse_categorical_crossentropy":
        if not labels_given:
            raise ValueError(
                f"sparse_categorical_crossentropy expects integer labels of shape {label_shape} for the "
                f"model's output {tuple(output_shape)}; got y of shape {tuple(y.shape)}. For one-hot "
                "rows use loss='categorical_crossentropy'."
            )
        labels = backend.to_numpy(y) if not isinstance(y, np.ndarray) else y
        if (labels != np.round(labels)).any() or labels.min() < 0 or labels.max() >= classes:
            raise ValueError(
                f"sparse_categorical_crossentropy expects integer labels 0..{classes - 1} (the model "
                f"has {classes} outputs); got values from {labels.min()} to {labels.max()}."
            )
        return
    if labels_given and classes > 1 and loss.name == "categorical_crossentropy":
        raise ValueError(
            f"categorical_crossentropy expects one-hot targets of shape {_shape_text(*label_axes, classes)}; "
            f"got integer labels of shape {tuple(y.shape)}. Convert them with "
            f"tinynet.utils.to_categorical(y, num_classes={classes}), or use "
            "loss='sparse_categorical_crossentropy'."
        )
    if loss.name == "categorical_crossentropy" and tuple(y.shape[1:]) == tuple(output_shape[1:]):
        _check_distributions(y)
    if labels_given and classes == 1:
        return  # one 0/1 target per output, the last axis of length 1 added by the losses
    if tuple(y.shape[1:]) != tuple(output_shape[1:]):
        raise ValueError(
            f"The model's output has shape {tuple(output_shape)} ({classes} values per sample), "
            f"but y has shape {tuple(y.shape)}. Check the number of classes in the last layer "
            "and in to_categorical(y, num_classes=...)."
        )


def _check_distributions(y):
    """Each row of categorical cross-entropy's targets must be a probability distribution: numbers
    >= 0 that sum to 1 (one-hot rows, or soft labels). The loss's gradient, (p - y) / n after a
    softmax, holds only then, as TensorFlow requires of the targets too."""
    rows = np.asarray(_on_host(y)).reshape(-1, y.shape[-1])
    # Each row times a vector of ones: BLAS reads the targets for this product several times
    # faster than a sum along the rows' 10 classes (as check_finite does for x).
    sums = rows @ np.ones(rows.shape[1], rows.dtype if rows.dtype.kind == "f" else np.float64)
    bad = np.flatnonzero(np.abs(sums - 1.0) > 1e-3)
    if not bad.size and rows.min() < 0:
        bad = np.flatnonzero((rows < 0).any(axis=1))
    if bad.size:
        raise ValueError(
            f"categorical_crossentropy expects each row of y to be a probability distribution (numbers "
            f">= 0 summing to 1, such as one-hot rows); row {bad[0]} is {rows[bad[0]].tolist()}, summing "
            f"to {sums[bad[0]]:.4g}. For several labels per sample use loss='binary_crossentropy' with "
            "sigmoid outputs."
        )


def _shape_text(*lengths):
    """A batch shape as the messages write it: ``(n,)``, ``(n, 10)``, ``(n, 28, 28)``."""
    return "(n,)" if not lengths else f"(n, {', '.join(map(str, lengths))})"
