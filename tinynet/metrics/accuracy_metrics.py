"""Accuracy, as Keras's ``keras.metrics``: the functions (one value per sample), the batch means
``compile(metrics=["accuracy"])`` reports, and the metric classes (``CategoricalAccuracy``...),
each the :class:`~tinynet.metrics.reduction_metrics.MeanMetricWrapper` of its function.
"""

import math

from tinynet import backend
from tinynet.losses import match_rank
from tinynet.metrics.reduction_metrics import MeanMetricWrapper


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


def _equal(y_true, y_pred):
    """For each value, 1.0 if ``y_pred == y_true`` exactly, else 0.0 (Keras's ``accuracy``)."""
    xp = backend.namespace()
    y_true = match_rank(xp.astype(y_true, y_pred.dtype), y_pred)
    return xp.astype(y_true == y_pred, y_pred.dtype)


# --- the metric classes: the mean of a function's values over every sample since the last reset --


class Accuracy(MeanMetricWrapper):
    """The share of predictions exactly equal to their targets, as Keras's ``Accuracy``: for
    predicted labels, not probabilities. A softmax's outputs are never exactly its one-hot targets,
    so for a classifier use ``"accuracy"`` or :class:`CategoricalAccuracy`."""

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(_equal, name=name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    """The share of outputs whose prediction, above ``threshold`` or not, matches the 0/1 target."""

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)


class CategoricalAccuracy(MeanMetricWrapper):
    """The share of samples whose largest prediction is at their one-hot target's 1."""

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """The share of samples whose largest prediction is at their integer label."""

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """The share of samples whose one-hot target is among their ``k`` largest predictions."""

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """The share of samples whose integer label is among their ``k`` largest predictions."""

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None):
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
