"""Metrics: numbers reported during training that are not optimised, such as accuracy.

As in Keras, the functions here (``categorical_accuracy(y_true, y_pred)``...) give one value per
sample, so that one can look at each sample's; what ``compile(metrics=[...])`` reports is the
mean over the batch, as a 0-d array of the active backend, and ``fit`` averages those over the
epoch, weighting each batch by its size. A function of your own may return one value per sample or
the batch's mean (:func:`get` wraps it, as Keras wraps a function in ``MeanMetricWrapper``).

``"accuracy"`` (or ``"acc"``) means different things for different targets, and Keras picks for
you: the share of rows whose largest prediction is at the one-hot label (categorical), at the
integer label (sparse), or whose prediction rounds to the 0/1 target (binary). As in Keras 3, the
choice is made from the shapes of the targets and predictions, whatever the loss
(:func:`_accuracy_from_shapes`).

``compile(weighted_metrics=[...])`` takes the same names and functions, and weighs each sample's
value by its ``sample_weight`` (or ``class_weight``), as Keras does: the batch's value is
``sum_i w_i m_i / sum_i w_i`` (:func:`get_weighted`), and ``fit`` weighs each batch by its
``sum_i w_i``, so an epoch's value is that weighted mean over all its samples. Without sample
weights a weighted metric is the plain one.
"""

import math

from tinynet import backend, losses
from tinynet.losses import match_rank
from tinynet.utils.lookup import lookup


def _share(hits, dtype):
    """The share of True in the array ``hits``: how many there are, divided by how many values it
    holds (``n`` for one hit or miss per sample, ``n h w`` for one per pixel).

    ``count_nonzero`` is several times faster than summing the hits as numbers; it gives a NumPy
    integer on NumPy and a 0-d array on the other backends, which ``asarray`` turns alike into a
    0-d float array (on the array's own device).
    """
    xp = backend.namespace()
    return xp.asarray(xp.count_nonzero(hits), dtype=dtype) / math.prod(hits.shape)


# --- hits: True where a prediction is right -------------------------------------------------------


def _categorical_hits(y_true, y_pred):
    xp = backend.namespace()
    return xp.argmax(y_pred, axis=-1) == xp.argmax(y_true, axis=-1)


def _sparse_categorical_hits(y_true, y_pred):
    xp = backend.namespace()
    labels = xp.reshape(y_true, tuple(y_pred.shape[:-1]))
    return xp.astype(xp.argmax(y_pred, axis=-1), labels.dtype) == labels


def _binary_hits(y_true, y_pred, threshold=0.5):
    xp = backend.namespace()
    return xp.astype(y_pred > threshold, y_pred.dtype) == match_rank(y_true, y_pred)


def _in_top_k(labels, y_pred, k):
    """True where the prediction at the integer label is among the ``k`` largest of its row.

    Ties count for the label, as in Keras (``ops.in_top_k``): its rank is 1 + how many
    predictions are strictly larger, and it is in the top ``k`` when that rank is at most ``k``,
    so with predictions ``[0.3, 0.3, 0.3]`` every label is in the top 1. A NaN at the label ranks
    last, as in Keras.
    """
    xp = backend.namespace()
    labels = xp.reshape(xp.astype(labels, xp.int64), (*y_pred.shape[:-1], 1))
    at_label = xp.take_along_axis(y_pred, labels, axis=-1)
    at_label = xp.where(xp.isnan(at_label), -xp.inf, at_label)
    return xp.count_nonzero(y_pred > at_label, axis=-1) < k


# --- Keras's functions: one value per sample, as keras.metrics gives them --------------------------


def categorical_accuracy(y_true, y_pred):
    """For each sample, 1.0 if ``argmax(y_pred) == argmax(y_true)``, else 0.0."""
    return backend.namespace().astype(_categorical_hits(y_true, y_pred), y_pred.dtype)


def sparse_categorical_accuracy(y_true, y_pred):
    """For each sample, 1.0 if ``argmax(y_pred) == y_true`` (an integer label), else 0.0."""
    return backend.namespace().astype(_sparse_categorical_hits(y_true, y_pred), y_pred.dtype)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """For each output, 1.0 if ``(y_pred > threshold) == y_true``, else 0.0."""
    return backend.namespace().astype(_binary_hits(y_true, y_pred, threshold), y_pred.dtype)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """For each sample, 1.0 if ``argmax(y_true)`` is among the ``k`` largest predictions (ties
    counting for it), else 0.0."""
    xp = backend.namespace()
    return xp.astype(_in_top_k(xp.argmax(y_true, axis=-1), y_pred, k), y_pred.dtype)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    """For each sample, 1.0 if the integer label ``y_true`` is among the ``k`` largest predictions
    (ties counting for it), else 0.0."""
    return backend.namespace().astype(_in_top_k(y_true, y_pred, k), y_pred.dtype)


mean_squared_error = losses.mean_squared_error
mean_absolute_error = losses.mean_absolute_error


# --- what compile(metrics=[...]) reports: each batch's mean, straight from the hits ---------------


def _categorical_share(y_true, y_pred):
    return _share(_categorical_hits(y_true, y_pred), y_pred.dtype)


def _sparse_categorical_share(y_true, y_pred):
    return _share(_sparse_categorical_hits(y_true, y_pred), y_pred.dtype)


def _binary_share(y_true, y_pred):
    return _share(_binary_hits(y_true, y_pred), y_pred.dtype)


def _accuracy_from_shapes(y_true, y_pred):
    """Keras's choice of accuracy from the shapes: binary for one output per sample, sparse for
    integer labels (fewer axes than ``y_pred``, or one column against several outputs),
    categorical otherwise. So binary cross-entropy over several outputs per sample (multi-label
    targets) gets categorical accuracy, as in Keras 3; ask for ``"binary_accuracy"`` there."""
    if y_pred.shape[-1] == 1:
        return _binary_share(y_true, y_pred)
    if y_true.ndim < y_pred.ndim or y_true.shape[-1] == 1:
        return _sparse_categorical_share(y_true, y_pred)
    return _categorical_share(y_true, y_pred)


def _accuracy_per_sample(y_true, y_pred):
    """Each sample's accuracy (or each pixel's), of the kind :func:`_accuracy_from_shapes` picks."""
    if y_pred.shape[-1] == 1:
        return binary_accuracy(y_true, y_pred)
    if y_true.ndim < y_pred.ndim or y_true.shape[-1] == 1:
        return sparse_categorical_accuracy(y_true, y_pred)
    return categorical_accuracy(y_true, y_pred)


def _values_of(function, y_true, y_pred):
    """What ``function`` gives for the batch, as a float array of the backend: one number, or
    one per sample (or per output, per pixel)."""
    value = function(y_true, y_pred)
    if not backend.is_backend_array(value):  # a Python or NumPy number: onto the device
        return backend.asarray(value, dtype=backend.dtype_name(y_pred))
    return backend.namespace().astype(value, y_pred.dtype)  # booleans (hits) count as 1 and 0


def _batch_mean_of(function):
    """``function`` returning the batch's value: its own when it gives one number, the mean when
    it gives one value per sample (or per output), as Keras's ``MeanMetricWrapper`` takes it."""

    def batch_mean(y_true, y_pred):
        value = _values_of(function, y_true, y_pred)
        return value if value.ndim == 0 else backend.namespace().mean(value)

    batch_mean.__wrapped__ = function  # the function model.save names
    return batch_mean


def _weighted_mean_of(function, batch_mean):
    """``function``'s values weighed by the samples' weights ``w``: ``sum_i w_i m_i / sum_i w_i``,
    where ``m_i`` is sample ``i``'s value (the mean of its outputs or pixels), and 0 when the
    weights sum to 0, as Keras's ``Mean`` divides. Without weights, ``batch_mean``. A function
    that gives one number for the batch gives it as every sample's value (Keras 3.15 fails on
    it, unable to broadcast the weights to it)."""

    def weighted_mean(y_true, y_pred, sample_weight=None):
        if sample_weight is None:
            return batch_mean(y_true, y_pred)
        value = _values_of(function, y_true, y_pred)
        if value.ndim == 0:  # one number for the batch: every sample's value
            return value
        xp = backend.namespace()
        per_sample = xp.mean(xp.reshape(value, (value.shape[0], -1)), axis=1)
        total = xp.sum(sample_weight * per_sample)
        weight = xp.sum(sample_weight)
        # Divided by 1 where the weights sum to 0 (total is 0 then): no 0/0 to warn of.
        return total / xp.where(weight > 0, weight, xp.ones_like(weight))

    weighted_mean.__wrapped__ = function  # the function model.save names
    return weighted_mean


_MEAN_SQUARED_ERROR = losses.MeanSquaredError()  # a loss object gives the batch mean
_MEAN_ABSOLUTE_ERROR = losses.MeanAbsoluteError()

_METRICS = {
    "categorical_accuracy": _categorical_share,
    "sparse_categorical_accuracy": _sparse_categorical_share,
    "binary_accuracy": _binary_share,
    "mean_squared_error": _MEAN_SQUARED_ERROR,
    "mse": _MEAN_SQUARED_ERROR,
    "mean_absolute_error": _MEAN_ABSOLUTE_ERROR,
    "mae": _MEAN_ABSOLUTE_ERROR,
    "accuracy": _accuracy_from_shapes,
    "acc": _accuracy_from_shapes,
    "top_k_categorical_accuracy": _batch_mean_of(top_k_categorical_accuracy),
    "sparse_top_k_categorical_accuracy": _batch_mean_of(sparse_top_k_categorical_accuracy),
}

# Keras 3 also takes these metrics by their class's name, spelt exactly, and logs them under it.
_METRIC_CLASSES = {
    "CategoricalAccuracy": _categorical_share,
    "SparseCategoricalAccuracy": _sparse_categorical_share,
    "BinaryAccuracy": _binary_share,
    "MeanSquaredError": _MEAN_SQUARED_ERROR,
    "MeanAbsoluteError": _MEAN_ABSOLUTE_ERROR,
}

# Keras's functions given to compile: by identity, the batch means of the same names.
_BATCH_MEAN_OF = {
    categorical_accuracy: _categorical_share,
    sparse_categorical_accuracy: _sparse_categorical_share,
    binary_accuracy: _binary_share,
    mean_squared_error: _MEAN_SQUARED_ERROR,
    mean_absolute_error: _MEAN_ABSOLUTE_ERROR,
    top_k_categorical_accuracy: _METRICS["top_k_categorical_accuracy"],
    sparse_top_k_categorical_accuracy: _METRICS["sparse_top_k_categorical_accuracy"],
}


# Each batch mean of compile(metrics=[...]) with the function of one value per sample behind it,
# weighted once here so that a name always gives the same weighted metric (saving compares them).
_PER_SAMPLE = {
    _categorical_share: categorical_accuracy,
    _sparse_categorical_share: sparse_categorical_accuracy,
    _binary_share: binary_accuracy,
    _accuracy_from_shapes: _accuracy_per_sample,
    _MEAN_SQUARED_ERROR: mean_squared_error,
    _MEAN_ABSOLUTE_ERROR: mean_absolute_error,
    _METRICS["top_k_categorical_accuracy"]: top_k_categorical_accuracy,
    _METRICS["sparse_top_k_categorical_accuracy"]: sparse_top_k_categorical_accuracy,
}
_WEIGHTED = {batch_mean: _weighted_mean_of(function, batch_mean) for batch_mean, function in _PER_SAMPLE.items()}


def get(identifier):
    """The metric function for ``identifier`` (a name, a class name such as
    ``"CategoricalAccuracy"``, or a function), as a batch mean.

    Returns ``(name, function)``; the name is the key ``History`` and the progress bar use, the one
    the user wrote (``"accuracy"`` stays ``"accuracy"``, ``"acc"`` stays ``"acc"``).
    """
    if callable(identifier) and identifier in _BATCH_MEAN_OF:  # tinynet's own, as by its name
        return identifier.__name__, _BATCH_MEAN_OF[identifier]
    if callable(identifier):
        name = getattr(identifier, "__name__", None) or type(identifier).__name__.lower()  # a partial has none
        return name, _batch_mean_of(identifier)
    if isinstance(identifier, str) and identifier in _METRIC_CLASSES:
        return identifier, _METRIC_CLASSES[identifier]
    if identifier == "Accuracy":  # not "accuracy" in another case: Keras's class counts p == y
        raise ValueError(
            "Keras's 'Accuracy' metric counts the predictions exactly equal to their targets; tinynet "
            "does not have it. For the share of right answers use 'accuracy' (or 'CategoricalAccuracy', "
            "'SparseCategoricalAccuracy', 'BinaryAccuracy')."
        )
    found = lookup("metric", identifier, _METRICS, with_custom_objects=True)
    if found not in _METRICS.values():  # a function of one's own, by the name a saved model gives it
        return get(found)
    return identifier, found


def get_weighted(identifier):
    """The metric for ``identifier`` in ``compile(weighted_metrics=[...])``: ``(name, function)``
    as :func:`get` gives, with ``function(y_true, y_pred, sample_weight=None)`` the batch's mean
    weighted by ``sample_weight`` (see :func:`_weighted_mean_of`)."""
    name, batch_mean = get(identifier)
    if batch_mean in _WEIGHTED:
        return name, _WEIGHTED[batch_mean]
    return name, _weighted_mean_of(batch_mean.__wrapped__, batch_mean)  # a function of one's own
