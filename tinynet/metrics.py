"""Metrics: numbers reported during training that are not optimised, such as accuracy.

A metric is a function ``metric(y_true, y_pred)`` returning the batch mean as a 0-d array of the
active backend (on NumPy, a NumPy scalar such as ``numpy.float32``); ``fit`` averages it over the
epoch, weighting each batch by its size. A function of your own may also return one value per
sample, as Keras allows: their mean is the batch's value (:func:`get` wraps it, as Keras wraps a
function in ``MeanMetricWrapper``).

``"accuracy"`` (or ``"acc"``) means different things for different targets, and Keras picks for
you: the share of rows whose largest prediction is at the one-hot label (categorical), at the
integer label (sparse), or whose prediction rounds to the 0/1 target (binary). As in Keras 3, the
choice is made from the shapes of the targets and predictions, whatever the loss
(:func:`_accuracy_from_shapes`).
"""

import math

from tinynet import backend
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


def categorical_accuracy(y_true, y_pred):
    """Share of samples with ``argmax(y_pred) == argmax(y_true)``."""
    xp = backend.namespace()
    hits = xp.argmax(y_pred, axis=-1) == xp.argmax(y_true, axis=-1)
    return _share(hits, y_pred.dtype)


def sparse_categorical_accuracy(y_true, y_pred):
    """Share of samples with ``argmax(y_pred) == y_true`` (integer labels)."""
    xp = backend.namespace()
    labels = xp.reshape(y_true, tuple(y_pred.shape[:-1]))
    hits = xp.astype(xp.argmax(y_pred, axis=-1), labels.dtype) == labels
    return _share(hits, y_pred.dtype)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """Share of outputs where ``(y_pred > threshold) == y_true``."""
    xp = backend.namespace()
    hits = xp.astype(y_pred > threshold, y_pred.dtype) == match_rank(y_true, y_pred)
    return xp.mean(xp.astype(hits, y_pred.dtype))


def _accuracy_from_shapes(y_true, y_pred):
    """Keras's choice of accuracy from the shapes: binary for one output per sample, sparse for
    integer labels (fewer axes than ``y_pred``, or one column against several outputs),
    categorical otherwise. So binary cross-entropy over several outputs per sample (multi-label
    targets) gets categorical accuracy, as in Keras 3; ask for ``"binary_accuracy"`` there."""
    if y_pred.shape[-1] == 1:
        return binary_accuracy(y_true, y_pred)
    if y_true.ndim < y_pred.ndim or y_true.shape[-1] == 1:
        return sparse_categorical_accuracy(y_true, y_pred)
    return categorical_accuracy(y_true, y_pred)


def mean_squared_error(y_true, y_pred):
    """Mean of ``(y_pred - y_true)^2``."""
    diff = y_pred - match_rank(y_true, y_pred)
    return backend.namespace().mean(diff * diff)


def mean_absolute_error(y_true, y_pred):
    """Mean of ``|y_pred - y_true|``."""
    xp = backend.namespace()
    return xp.mean(xp.abs(y_pred - match_rank(y_true, y_pred)))


_METRICS = {
    "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "binary_accuracy": binary_accuracy,
    "mean_squared_error": mean_squared_error,
    "mse": mean_squared_error,
    "mean_absolute_error": mean_absolute_error,
    "mae": mean_absolute_error,
    "accuracy": _accuracy_from_shapes,
    "acc": _accuracy_from_shapes,
}


def get(identifier):
    """The metric function for ``identifier`` (a name or a function).

    Returns ``(name, function)``; the name is the key ``History`` and the progress bar use, the one
    the user wrote (``"accuracy"`` stays ``"accuracy"``, ``"acc"`` stays ``"acc"``).
    """
    if callable(identifier) and identifier in _METRICS.values():  # tinynet's own, as by its name
        return identifier.__name__, identifier
    if callable(identifier):
        name = getattr(identifier, "__name__", None) or type(identifier).__name__.lower()  # a partial has none
        return name, _batch_mean_of(identifier)
    return identifier, lookup("metric", identifier, _METRICS)


def _batch_mean_of(function):
    """``function`` returning the batch's value: its own when it gives one number, the mean when
    it gives one value per sample (or per output), as Keras's ``MeanMetricWrapper`` takes it."""

    def batch_mean(y_true, y_pred):
        value = function(y_true, y_pred)
        if not backend.is_backend_array(value):  # a Python or NumPy number: onto the device
            value = backend.asarray(value, dtype=backend.dtype_name(y_pred))
        if value.ndim == 0:
            return value
        xp = backend.namespace()
        return xp.mean(xp.astype(value, y_pred.dtype))  # astype: booleans (hits) count as 1 and 0

    return batch_mean
