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

Precision, recall, the area under a curve and the F1 score are no means of per-batch values: they
are worked out from counts over the whole epoch. They are *metric objects*, as in Keras: subclasses
of :class:`Metric`, which keep their counts in arrays of the backend (``update_state`` adds a
batch, ``result`` gives the value, ``reset_state`` starts again; ``fit`` resets them at each epoch
and ``evaluate`` before it starts). tinynet has Keras's confusion-matrix metrics: the counts
(:class:`TruePositives`, :class:`FalsePositives`, :class:`TrueNegatives`,
:class:`FalseNegatives`), :class:`Precision`, :class:`Recall`, :class:`AUC`, the best value of one
rate where another reaches a given value (:class:`PrecisionAtRecall`,
:class:`RecallAtPrecision`, :class:`SensitivityAtSpecificity`,
:class:`SpecificityAtSensitivity`), and :class:`F1Score` and :class:`FBetaScore`.
``compile(metrics=[Precision(), "recall", "auc", "f1_score"])`` takes them as objects, classes or
names (``"precision"``, ``"Precision"``, ``"true_positives"``...).
"""

import math
import numbers
import re
from collections import defaultdict

from tinynet import activations, backend, losses
from tinynet.losses import match_rank
from tinynet.utils.lookup import lookup
from tinynet.utils.object_registration import get_registered_name


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


# --- metric objects: a state kept over many batches -----------------------------------------------

_metric_name_counts = defaultdict(int)


def _snake_case(class_name):
    """A class's name in snake case, by Keras 3's rule: ``AUC`` gives ``auc``, ``TruePositives``
    ``true_positives``, ``F1Score`` ``f1_score``, ``FBetaScore`` ``f_beta_score``."""
    words = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", class_name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", words).lower()


def _auto_name(cls):
    """A new metric object's name, by Keras 3's rule: its class's name in snake case (see
    :func:`_snake_case`), then ``_1``, ``_2``... for the next ones of that class in the process.
    (tinynet's layers count from ``dense_1``, as Keras 2 did.)"""
    base = _snake_case(cls.__name__)
    count = _metric_name_counts[base]
    _metric_name_counts[base] += 1
    return f"{base}_{count}" if count else base


class Metric:
    """A metric that keeps a state over many batches, as ``keras.metrics.Metric``.

    ``update_state(y_true, y_pred, sample_weight=None)`` adds a batch to the state, ``result()``
    gives the value the state holds, ``reset_state()`` starts again; ``metric(y_true, y_pred)``
    does the first two. In a model, ``fit`` resets its metric objects at the start of each epoch
    and of each validation, ``evaluate`` before it starts, ``train_on_batch`` and ``test_on_batch``
    before their one batch (as Keras 3 does), so a value covers one pass over the data.

    The state is arrays of the active backend, which ``update_state`` works on with the functions
    of ``backend.namespace()`` alone: on a GPU it stays there, and only ``result()`` comes to the
    host, when ``fit`` reads the values (a progress-bar redraw, the end of an epoch).

    A metric of one's own subclasses it with ``reset_state`` (which makes the state, with
    :meth:`zeros`; call it at the end of ``__init__``), ``update_state`` and ``result``::

        from tinynet import backend
        from tinynet.metrics import Metric

        class BinaryTruePositives(Metric):
            \"""How many outputs are above 0.5 where their target is 1, since the last reset.\"""

            def __init__(self, name="binary_true_positives", dtype=None):
                super().__init__(name=name, dtype=dtype)
                self.reset_state()

            def reset_state(self):
                self.true_positives = self.zeros(())

            def update_state(self, y_true, y_pred, sample_weight=None):
                xp = backend.namespace()
                hits = xp.astype((y_true == 1) & (y_pred > 0.5), self.true_positives.dtype)
                if sample_weight is not None:  # one weight per sample, for its row of hits
                    hits = hits * xp.reshape(sample_weight, (-1,) + (1,) * (hits.ndim - 1))
                self.true_positives = self.true_positives + xp.sum(hits)

            def result(self):
                return self.true_positives

    ``model.save`` writes a metric object as its class's name and ``get_config()``, and
    ``load_model`` makes it again with ``from_config``, by default ``cls(**config)``: so
    ``get_config`` returns every argument of ``__init__`` (this class's gives ``name`` and
    ``dtype``). A class of one's own is found as other custom objects are (``custom_objects``,
    ``register_keras_serializable``).

    Keras keeps the state in variables made by ``add_variable`` and changed with ``assign``;
    tinynet keeps plain backend arrays as attributes, which ``update_state`` replaces.
    """

    def __init__(self, dtype=None, name=None):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"A metric's name must be a string; got {name!r} of type {type(name).__name__}.")
        if dtype not in (None, "float32", "float64"):
            raise ValueError(f"A metric's dtype must be 'float32' or 'float64' (None: backend.floatx()); got {dtype!r}.")
        self.name = name or _auto_name(type(self))
        self.dtype = dtype or backend.floatx()

    def zeros(self, shape):
        """A new array of zeros of ``shape`` on the active backend, in the metric's dtype."""
        return backend.full(shape, 0.0, getattr(backend.namespace(), self.dtype))

    def reset_state(self):
        """Make the state as it is before any batch (anew, on the active backend)."""
        raise NotImplementedError(f"{type(self).__name__} must define reset_state(), which makes its state.")

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add a batch to the state."""
        raise NotImplementedError(f"{type(self).__name__} must define update_state(y_true, y_pred, sample_weight=None).")

    def result(self):
        """The value the state holds: a 0-d backend array (or a vector, such as one per threshold)."""
        raise NotImplementedError(f"{type(self).__name__} must define result().")

    def __call__(self, y_true, y_pred, sample_weight=None):
        self.update_state(y_true, y_pred, sample_weight=sample_weight)
        return self.result()

    def get_config(self):
        """The arguments that make this metric again (without its state), as plain data."""
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


def _on_backend(values, dtype):
    """``values`` (a backend array, or host numbers as a standalone metric may be given them) as an
    array of the active backend of ``dtype``, a dtype name; a backend array of that dtype as it is."""
    if backend.is_backend_array(values):
        xp = backend.namespace()
        return xp.astype(values, getattr(xp, dtype), copy=False)
    return backend.asarray(values, dtype=dtype)


def _divide_no_nan(numerator, denominator):
    """``numerator / denominator``, and 0 where the denominator is 0, as Keras's ``divide_no_nan``
    (the precision of a threshold that no prediction passes is 0)."""
    xp = backend.namespace()
    nonzero = denominator != 0
    return xp.where(nonzero, numerator / xp.where(nonzero, denominator, 1.0), 0.0)


def _checked_thresholds(who, thresholds):
    """``thresholds`` (a number or a list of them) as a list of floats, each in [0, 1]."""
    given = list(thresholds) if isinstance(thresholds, (list, tuple)) else [thresholds]
    if not given or not all(isinstance(t, numbers.Real) and not isinstance(t, bool) for t in given):
        raise TypeError(f"{who} thresholds must be a number or a non-empty list of numbers in [0, 1]; got {thresholds!r}.")
    outside = [t for t in given if not 0 <= t <= 1]
    if outside:
        raise ValueError(f"{who} thresholds must be in [0, 1]; got {', '.join(map(str, outside))} in {thresholds!r}.")
    return [float(t) for t in given]


def _optional_count(who, name, value, minimum):
    """``value``, an integer >= ``minimum``, or None."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum):
        raise ValueError(f"{who} {name} must be None or an integer >= {minimum}; got {value!r}.")
    return None if value is None else int(value)


def _checked_batch(metric, y_true, y_pred, sample_weight):
    """The batch on the backend, in ``metric``'s dtype: ``y_true`` of ``y_pred``'s shape (Keras
    lets one of them have a last axis of length 1 that the other lacks), and the weights, if
    any, broadcast to it (one per sample, or one per output)."""
    who = f"{type(metric).__name__} {metric.name!r}"
    y_true, y_pred = _on_backend(y_true, metric.dtype), _on_backend(y_pred, metric.dtype)
    true_shape, pred_shape = tuple(y_true.shape), tuple(y_pred.shape)
    if true_shape == (*pred_shape, 1) or (pred_shape[-1:] == (1,) and true_shape == pred_shape[:-1]):
        y_true = backend.namespace().reshape(y_true, pred_shape)
    elif true_shape != pred_shape:
        raise ValueError(
            f"{who} needs y_true of y_pred's shape {pred_shape}, one target per prediction; got "
            f"{true_shape}. Integer class labels must be one-hot encoded for it (to_categorical)."
        )
    if sample_weight is None:
        return y_true, y_pred, None
    weights = _on_backend(sample_weight, metric.dtype)
    if weights.ndim == 1 and y_pred.ndim > 1 and weights.shape[0] == pred_shape[0]:  # one per sample
        weights = backend.namespace().reshape(weights, (pred_shape[0],) + (1,) * (y_pred.ndim - 1))
    if weights.ndim not in (0, y_pred.ndim) or any(w not in (1, p) for w, p in zip(weights.shape, pred_shape)):
        raise ValueError(
            f"{who} needs one sample_weight per sample, shape ({pred_shape[0]},), or one per "
            f"prediction, shape {pred_shape}; got {tuple(weights.shape)}."
        )
    return y_true, y_pred, backend.namespace().broadcast_to(weights, pred_shape)


def _of_class(metric, y_true, y_pred, weights):
    """The targets, predictions and weights (or None) of class ``metric.class_id`` alone, the
    last axis's column of that index (all of them where ``class_id`` is None)."""
    class_id = metric.class_id
    if class_id is None:
        return y_true, y_pred, weights
    classes = y_pred.shape[-1] if y_pred.ndim > 1 else None
    if classes is None or class_id >= classes:
        raise ValueError(f"{type(metric).__name__} {metric.name!r} has class_id={class_id}, but y_pred of shape "
                         f"{tuple(y_pred.shape)} has classes 0 to {(classes or 1) - 1} in its last axis.")
    pick = slice(class_id, class_id + 1)
    return y_true[..., pick], y_pred[..., pick], None if weights is None else weights[..., pick]


class _ConfusionMatrixMetric(Metric):
    """The counts that Precision, Recall, AUC, the counts' own metrics (TruePositives...) and the
    "X at Y" metrics (PrecisionAtRecall...) are worked out from. For each threshold ``t``::

        TP(t) = sum_i w_i [y_i != 0] [p_i > t]      true positives
        FP(t) = sum_i w_i [y_i == 0] [p_i > t]      false positives
        FN(t) = sum_i w_i [y_i != 0] [p_i <= t]     false negatives
        TN(t) = sum_i w_i [y_i == 0] [p_i <= t]     true negatives

    over every output ``i`` (every number of ``y_pred``, all outputs of all samples alike) of every
    batch since the last reset; ``w_i`` is the weight of its sample (1 without ``sample_weight``),
    and a target counts as positive unless it is 0, as in Keras.

    For a batch's ``N`` outputs and the ``T`` thresholds, ``[p_i > t]`` is a ``T x N`` matrix of 0
    and 1; its product with the ``N x 2`` matrix whose columns are ``w_i [y_i != 0]`` and ``w_i
    [y_i == 0]`` gives TP and FP at every threshold at once, and FN and TN are what the column sums
    leave. (Keras sorts the predictions into buckets between evenly spaced thresholds instead,
    with a scatter-add the Array API does not have: the counts are the same, but for a prediction
    within rounding of a threshold. For that, Keras also clips the predictions to [0, 1] when the
    thresholds are evenly spaced, as AUC and the "X at Y" metrics do here; Precision, Recall and
    the counts' own metrics compare them as they are, so a prediction above 1, which Keras would
    not count above a threshold of 1 given among evenly spaced ones, counts here.)

    The counts have shape ``(labels, T)``: one label, unless AUC's ``multi_label`` counts each
    output column apart.
    """

    def __init__(self, thresholds, labels=1, dtype=None, name=None):
        super().__init__(dtype=dtype, name=name)
        self.thresholds = thresholds
        self._labels = labels  # None until the first batch shows how many (multi_label alone)
        self.reset_state()

    def reset_state(self):
        self._threshold_array = backend.asarray(self.thresholds, dtype=self.dtype)
        counts = [None if self._labels is None else self.zeros((self._labels, len(self.thresholds))) for _ in range(4)]
        self.true_positives, self.false_positives, self.false_negatives, self.true_negatives = counts

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add the batch's counts (see the class). Everything is checked before the state changes."""
        y_true, y_pred, weights = self._by_label(*self._selected(*_checked_batch(self, y_true, y_pred, sample_weight)))
        labels = y_pred.shape[0]
        if self._labels not in (None, labels):
            raise ValueError(
                f"{type(self).__name__} {self.name!r} counts {self._labels} labels, but y_pred has {labels} "
                f"columns (shape {tuple(y_pred.shape)})."
            )
        xp = backend.namespace()
        positive = xp.astype(y_true != 0, y_pred.dtype)
        columns = xp.stack([positive, 1 - positive], axis=-1)  # (labels, N, 2)
        if weights is not None:
            columns = columns * weights[..., None]
        above = xp.astype(y_pred[:, None, :] > self._threshold_array[:, None], y_pred.dtype)  # (labels, T, N)
        counts = xp.matmul(above, columns)  # (labels, T, 2): TP and FP
        totals = xp.sum(columns, axis=1)  # (labels, 2): all positives and all negatives
        if self._labels is None:
            self._labels = labels
            self.reset_state()
        self.true_positives = self.true_positives + counts[..., 0]
        self.false_positives = self.false_positives + counts[..., 1]
        self.false_negatives = self.false_negatives + (totals[:, 0:1] - counts[..., 0])
        self.true_negatives = self.true_negatives + (totals[:, 1:2] - counts[..., 1])

    def _selected(self, y_true, y_pred, weights):
        """The predictions (and their targets and weights) that are counted, as the subclass
        chooses them."""
        return y_true, y_pred, weights

    def _by_label(self, y_true, y_pred, weights):
        """Each of ``y_true``, ``y_pred``, ``weights`` (or None) as ``(labels, N)``: all outputs in one
        row (AUC's ``multi_label`` keeps a row per column)."""
        xp = backend.namespace()
        return tuple(None if v is None else xp.reshape(v, (1, -1)) for v in (y_true, y_pred, weights))

    def _per_threshold(self, values):
        """``values`` (one per threshold, of the one label) as ``result`` gives them: one number for
        one threshold, as in Keras."""
        return values[0, 0] if len(self.thresholds) == 1 else values[0, :]


class _PrecisionOrRecall(_ConfusionMatrixMetric):
    """What Precision and Recall share: their arguments, and which predictions count positive."""

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        who = type(self).__name__
        parsed = [_NEGATIVE_INFINITY] if thresholds is None and top_k is not None else _checked_thresholds(
            who, 0.5 if thresholds is None else thresholds)
        self.top_k = _optional_count(who, "top_k", top_k, 1)
        self.class_id = _optional_count(who, "class_id", class_id, 0)
        self.init_thresholds = thresholds
        super().__init__(parsed, dtype=dtype, name=name)

    def _selected(self, y_true, y_pred, weights):
        """With ``top_k``, only the ``k`` largest predictions of each sample can count as positive;
        with ``class_id``, only the outputs of that class count (in this order, as in Keras)."""
        if self.top_k is not None:
            classes = y_pred.shape[-1] if y_pred.ndim > 1 else None
            if classes is None or self.top_k > classes:
                raise ValueError(f"{type(self).__name__} {self.name!r} has top_k={self.top_k}, more than the "
                                 f"{classes or 1} outputs of each sample (y_pred has shape {tuple(y_pred.shape)}).")
            y_pred = backend.namespace().where(_in_top_k_mask(y_pred, self.top_k), y_pred, _NEGATIVE_INFINITY)
        return _of_class(self, y_true, y_pred, weights)

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


# With top_k, Keras sets the predictions outside the top k to -1e10, and its default threshold is
# -1e10 too: what is in the top k counts as positive, whatever its value.
_NEGATIVE_INFINITY = -1e10


def _in_top_k_mask(y_pred, k):
    """True at the ``k`` largest predictions of each sample (the last axis); of equal ones, those
    that come first, as Keras's ``top_k`` takes them. A stable sort of ``-y_pred`` puts each row
    in falling order, equal values in their order; the sort of that order (its inverse
    permutation) gives each prediction's place in it."""
    xp = backend.namespace()
    order = xp.argsort(-y_pred, axis=-1, stable=True)
    return xp.argsort(order, axis=-1, stable=True) < k


class Precision(_PrecisionOrRecall):
    """Of the predictions taken as positive, the share that are: ``precision = TP / (TP + FP)``
    (0 while nothing is predicted positive), with the counts of :class:`_ConfusionMatrixMetric`
    summed over all batches since the last reset, as ``keras.metrics.Precision``.

    A prediction ``p`` is positive when ``p > threshold`` (``thresholds``: 0.5 by default; give 0
    for a model that outputs logits). A list of thresholds gives one precision per threshold, as a
    vector. ``top_k=k`` counts only the ``k`` largest predictions of each sample as positive (and
    without ``thresholds``, all of them, whatever their value); ``class_id=c`` counts only the
    outputs of class ``c``, the precision of that one class. Targets are 0 or 1 per output,
    ``y_pred``'s shape (one-hot rows for several classes).
    """

    def result(self):
        return self._per_threshold(_divide_no_nan(self.true_positives, self.true_positives + self.false_positives))


class Recall(_PrecisionOrRecall):
    """Of the targets that are positive, the share predicted positive: ``recall = TP / (TP + FN)``
    (0 while no target is positive), with the counts of :class:`_ConfusionMatrixMetric` summed over
    all batches since the last reset, as ``keras.metrics.Recall``. ``thresholds``, ``top_k`` and
    ``class_id`` choose the positive predictions as in :class:`Precision`.
    """

    def result(self):
        return self._per_threshold(_divide_no_nan(self.true_positives, self.true_positives + self.false_negatives))


class _ConfusionMatrixCount(_ConfusionMatrixMetric):
    """What TruePositives, FalsePositives, TrueNegatives and FalseNegatives share: one of the four
    counts of :class:`_ConfusionMatrixMetric` (the attribute ``_count`` names), at ``thresholds``
    (0.5 by default; a list gives one count per threshold, as a vector), summed over all batches
    since the last reset. With ``sample_weight``, the counts are sums of the weights."""

    _count = None

    def __init__(self, thresholds=None, name=None, dtype=None):
        self.init_thresholds = thresholds
        parsed = _checked_thresholds(type(self).__name__, 0.5 if thresholds is None else thresholds)
        super().__init__(parsed, dtype=dtype, name=name)

    def result(self):
        return self._per_threshold(getattr(self, self._count))

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConfusionMatrixCount):
    """How many outputs are predicted positive where their target is positive (not 0):
    ``TP = sum_i w_i [y_i != 0] [p_i > threshold]``, as ``keras.metrics.TruePositives``."""

    _count = "true_positives"


class FalsePositives(_ConfusionMatrixCount):
    """How many outputs are predicted positive where their target is 0:
    ``FP = sum_i w_i [y_i == 0] [p_i > threshold]``, as ``keras.metrics.FalsePositives``."""

    _count = "false_positives"


class TrueNegatives(_ConfusionMatrixCount):
    """How many outputs are predicted negative where their target is 0:
    ``TN = sum_i w_i [y_i == 0] [p_i <= threshold]``, as ``keras.metrics.TrueNegatives``."""

    _count = "true_negatives"


class FalseNegatives(_ConfusionMatrixCount):
    """How many outputs are predicted negative where their target is positive:
    ``FN = sum_i w_i [y_i != 0] [p_i <= threshold]``, as ``keras.metrics.FalseNegatives``."""

    _count = "false_negatives"


class _SensitivitySpecificityBase(_ConfusionMatrixMetric):
    """What the four "X at Y" metrics share, as Keras's ``SensitivitySpecificityBase``: the counts
    of :class:`_ConfusionMatrixMetric` at ``num_thresholds`` thresholds evenly spaced over [0, 1],
    ``t_j = j / (num_thresholds - 1)`` from ``t_0 = 0`` to 1 (the one threshold 0.5 where
    ``num_thresholds=1``), on predictions clipped to [0, 1] (as Keras clips them for evenly spaced
    thresholds), and Keras 3's rule for the value: of the thresholds at which Y reaches the
    ``value`` asked for, the largest X::

        result = max_j { X(t_j) : Y(t_j) >= value },   0 where no threshold reaches it.

    Where several thresholds give that largest X, it does not matter which: the value is the same.
    The rates at a threshold are (each 0 where its denominator is 0, as Keras's ``divide_no_nan``):
    sensitivity = recall = ``TP / (TP + FN)``, specificity = ``TN / (TN + FP)``, precision =
    ``TP / (TP + FP)``. So a threshold above every prediction has precision 0, and reaches only
    a ``precision`` of 0 asked for.

    ``class_id=c`` counts only the outputs of class ``c``, as in :class:`Precision`; otherwise
    every output counts alike. Targets are 0 or 1 per output, ``y_pred``'s shape.
    """

    _given = None  # the name of the argument that ``value`` is given as: "recall"...

    def __init__(self, value, num_thresholds, class_id, name, dtype):
        who, given = type(self).__name__, self._given
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{who} {given} must be a number in [0, 1]; got {value!r} of type {type(value).__name__}.")
        if not 0 <= value <= 1:
            raise ValueError(f"{who} {given} must be in [0, 1]; got {value!r}.")
        if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, numbers.Integral) or num_thresholds < 1:
            raise ValueError(f"{who} num_thresholds must be an integer >= 1; got {num_thresholds!r}.")
        self.class_id = _optional_count(who, "class_id", class_id, 0)
        self.num_thresholds = int(num_thresholds)
        self.value = float(value)
        setattr(self, given, self.value)  # as Keras keeps it: metric.recall, metric.specificity...
        count = self.num_thresholds
        thresholds = [0.5] if count == 1 else [j / (count - 1) for j in range(count)]
        super().__init__(thresholds, dtype=dtype, name=name)

    def _selected(self, y_true, y_pred, weights):
        y_true, y_pred, weights = _of_class(self, y_true, y_pred, weights)
        return y_true, backend.namespace().clip(y_pred, 0.0, 1.0), weights

    def _rates(self):
        """Recall (sensitivity), precision and specificity at each threshold."""
        tp, fp = self.true_positives[0, :], self.false_positives[0, :]
        fn, tn = self.false_negatives[0, :], self.true_negatives[0, :]
        return _divide_no_nan(tp, tp + fn), _divide_no_nan(tp, tp + fp), _divide_no_nan(tn, tn + fp)

    def _largest(self, wanted, constrained):
        """The largest of ``wanted`` over the thresholds where ``constrained >= value`` (0 if none):
        the rates are never negative, so 0 in place of the others leaves the largest as it is."""
        xp = backend.namespace()
        return xp.max(xp.where(constrained >= self.value, wanted, 0.0))

    def get_config(self):
        return {**super().get_config(), self._given: self.value, "num_thresholds": self.num_thresholds,
                "class_id": self.class_id}


class PrecisionAtRecall(_SensitivitySpecificityBase):
    """The best precision at which the recall is at least ``recall``, as
    ``keras.metrics.PrecisionAtRecall``: ``max_t { precision(t) : recall(t) >= recall }`` over
    ``num_thresholds`` thresholds (see :class:`_SensitivitySpecificityBase`)."""

    _given = "recall"

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(recall, num_thresholds, class_id, name, dtype)

    def result(self):
        recall, precision, _ = self._rates()
        return self._largest(precision, recall)


class RecallAtPrecision(_SensitivitySpecificityBase):
    """The best recall at which the precision is at least ``precision``, as
    ``keras.metrics.RecallAtPrecision``: ``max_t { recall(t) : precision(t) >= precision }`` over
    ``num_thresholds`` thresholds (see :class:`_SensitivitySpecificityBase`); 0 where no threshold
    reaches that precision."""

    _given = "precision"

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(precision, num_thresholds, class_id, name, dtype)

    def result(self):
        recall, precision, _ = self._rates()
        return self._largest(recall, precision)


class SensitivityAtSpecificity(_SensitivitySpecificityBase):
    """The best sensitivity (recall, ``TP / (TP + FN)``) at which the specificity (``TN / (TN +
    FP)``) is at least ``specificity``, as ``keras.metrics.SensitivityAtSpecificity``:
    ``max_t { sensitivity(t) : specificity(t) >= specificity }`` over ``num_thresholds``
    thresholds (see :class:`_SensitivitySpecificityBase`)."""

    _given = "specificity"

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(specificity, num_thresholds, class_id, name, dtype)

    def result(self):
        sensitivity, _, specificity = self._rates()
        return self._largest(sensitivity, specificity)


class SpecificityAtSensitivity(_SensitivitySpecificityBase):
    """The best specificity (``TN / (TN + FP)``) at which the sensitivity (recall, ``TP / (TP +
    FN)``) is at least ``sensitivity``, as ``keras.metrics.SpecificityAtSensitivity``:
    ``max_t { specificity(t) : sensitivity(t) >= sensitivity }`` over ``num_thresholds``
    thresholds (see :class:`_SensitivitySpecificityBase`)."""

    _given = "sensitivity"

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)

    def result(self):
        sensitivity, _, specificity = self._rates()
        return self._largest(specificity, sensitivity)


_AUC_CURVES = ("ROC", "PR")
_SUMMATION_METHODS = ("interpolation", "minoring", "majoring")


class AUC(_ConfusionMatrixMetric):
    """The area under the ROC curve (default) or the precision-recall curve, as
    ``keras.metrics.AUC``: a Riemann sum over ``num_thresholds`` thresholds evenly spaced in
    [0, 1] (or over ``thresholds`` given, sorted), with the counts of
    :class:`_ConfusionMatrixMetric` summed over all batches since the last reset.

    The thresholds are ``t_0 = -1e-7 < t_1 < ... < t_{T-1} = 1 + 1e-7`` (``t_j = j / (T - 1)``
    between), so that at the first every prediction is positive and at the last none is;
    predictions are clipped to [0, 1] first (as Keras does with evenly spaced thresholds), after a
    sigmoid with ``from_logits=True``. Each threshold is a point ``(x_j, y_j)`` of the curve:

    - ROC: ``x = FP / (FP + TN)`` (false-positive rate), ``y = TP / (TP + FN)`` (recall);
    - PR: ``x = TP / (TP + FN)`` (recall), ``y = TP / (TP + FP)`` (precision);

    (0 where a denominator is 0), and ``AUC = sum_j (x_j - x_{j+1}) h_j``, as ``x`` falls while
    the threshold rises. ``summation_method`` sets the height ``h_j`` of each slice:
    ``"interpolation"``, the trapezium ``(y_j + y_{j+1}) / 2``; ``"minoring"``, ``min(y_j,
    y_{j+1})``, a lower bound; ``"majoring"``, ``max(y_j, y_{j+1})``, an upper bound.

    PR with ``"interpolation"`` interpolates the counts, not the precision, after Davis & Goadrich
    (2006), as Keras does: see :meth:`_interpolated_pr_slices`.

    ``multi_label=True`` takes each column of a ``(n, labels)`` output as a label of its own, and
    gives the mean of their AUCs (weighted by ``label_weights``, if given); otherwise every output
    counts as one more point of one curve, and ``label_weights`` weigh each column's outputs.
    ``num_labels`` (with ``multi_label`` only) tells the number of labels before the first batch.
    """

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation", name=None, dtype=None,
                 thresholds=None, multi_label=False, num_labels=None, label_weights=None, from_logits=False):
        if thresholds is None:
            if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, numbers.Integral) or num_thresholds < 2:
                raise ValueError(f"AUC num_thresholds must be an integer > 1; got {num_thresholds!r}.")
            inner = [j / (num_thresholds - 1) for j in range(1, num_thresholds - 1)]
        else:
            inner = sorted(_checked_thresholds("AUC", thresholds))
            num_thresholds = len(inner) + 2
        self.num_thresholds = int(num_thresholds)
        self.curve = _choice("AUC curve", curve, _AUC_CURVES, str.upper)
        self.summation_method = _choice("AUC summation_method", summation_method, _SUMMATION_METHODS, str.lower)
        for argument, value in (("multi_label", multi_label), ("from_logits", from_logits)):
            if not isinstance(value, bool):
                raise TypeError(f"AUC {argument} must be True or False; got {value!r}.")
        num_labels = _optional_count("AUC", "num_labels", num_labels, 1)
        if num_labels is not None and not multi_label:
            raise ValueError("AUC num_labels is needed only with multi_label=True, as in Keras.")
        if label_weights is not None:
            given = label_weights
            label_weights = list(given) if isinstance(given, (list, tuple)) else None
            if not label_weights or not all(isinstance(w, numbers.Real) and w >= 0 for w in label_weights) or (
                    num_labels not in (None, len(label_weights))):
                raise ValueError(f"AUC label_weights must be a list of numbers >= 0, one per label; got {given!r}.")
            label_weights = [float(w) for w in label_weights]
        self.multi_label, self.num_labels, self.label_weights = multi_label, num_labels, label_weights
        self.from_logits = from_logits
        self._given_thresholds = None if thresholds is None else inner
        epsilon = backend.epsilon()
        super().__init__([0.0 - epsilon, *inner, 1.0 + epsilon], labels=num_labels if multi_label else 1,
                         dtype=dtype, name=name)

    def _selected(self, y_true, y_pred, weights):
        xp = backend.namespace()
        if self.label_weights is not None and (y_pred.ndim == 0 or y_pred.shape[-1] != len(self.label_weights)):
            raise ValueError(f"AUC {self.name!r} has {len(self.label_weights)} label_weights, one per column of "
                             f"y_pred, but y_pred has shape {tuple(y_pred.shape)}.")
        if self.multi_label and y_pred.ndim != 2:
            raise ValueError(f"AUC {self.name!r} with multi_label=True needs y_pred of shape (samples, labels); "
                             f"got {tuple(y_pred.shape)}.")
        if self.from_logits:
            y_pred = activations.sigmoid(y_pred)
        y_pred = xp.clip(y_pred, 0.0, 1.0)
        if self.label_weights is not None and not self.multi_label:
            column_weights = backend.asarray(self.label_weights, dtype=self.dtype)
            weights = column_weights if weights is None else weights * column_weights
            weights = xp.broadcast_to(weights, y_pred.shape)
        return y_true, y_pred, weights

    def _by_label(self, y_true, y_pred, weights):
        if not self.multi_label:
            return super()._by_label(y_true, y_pred, weights)
        xp = backend.namespace()
        return tuple(None if v is None else xp.permute_dims(v, (1, 0)) for v in (y_true, y_pred, weights))

    def result(self):
        xp = backend.namespace()
        if self.true_positives is None:  # multi_label, before the first batch told how many labels
            return self.zeros(())
        if self.curve == "PR" and self.summation_method == "interpolation":
            slices = self._interpolated_pr_slices()
        else:
            slices = self._riemann_slices()
        areas = xp.sum(slices, axis=-1)  # one per label
        if not self.multi_label:
            return areas[0]
        if self.label_weights is None:
            return xp.mean(areas)
        label_weights = backend.asarray(self.label_weights, dtype=self.dtype)
        return _divide_no_nan(xp.sum(areas * label_weights), xp.sum(label_weights))

    def _riemann_slices(self):
        """``(x_j - x_{j+1}) h_j`` for each pair of neighbouring thresholds (see the class)."""
        xp = backend.namespace()
        tp, fp, fn, tn = self.true_positives, self.false_positives, self.false_negatives, self.true_negatives
        recall = _divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _divide_no_nan(fp, fp + tn), recall
        else:
            x, y = recall, _divide_no_nan(tp, tp + fp)
        left, right = y[:, :-1], y[:, 1:]
        if self.summation_method == "interpolation":
            heights = (left + right) / 2
        elif self.summation_method == "minoring":
            heights = xp.minimum(left, right)
        else:
            heights = xp.maximum(left, right)
        return (x[:, :-1] - x[:, 1:]) * heights

    def _interpolated_pr_slices(self):
        """The area under the precision-recall curve between each pair of neighbouring thresholds
        ``a < b``, with the counts taken as linear between them (Davis & Goadrich 2006, section 4).

        As the threshold rises from ``a`` to ``b``, the predicted positives ``P = TP + FP`` fall
        from ``P_a`` to ``P_b``, and TP with them, along the line ``TP = s P + c`` through both
        ends: slope ``s = (TP_a - TP_b) / (P_a - P_b)`` (0 where P stays put), intercept ``c = TP_b
        - s P_b``. With all positives ``Pos = TP + FN`` (the same at every threshold), recall is
        ``TP / Pos`` and precision ``TP / P``, so the slice of area is::

            integral of TP / P d(TP / Pos) = (s / Pos) integral from P_b to P_a of (s P + c) / P dP
                                           = (s / Pos) (TP_a - TP_b + c log(P_a / P_b)).

        Where ``P_b`` is 0 the logarithm is left out (as if ``P_a / P_b`` were 1): the precision is
        taken as ``s`` over that first slice. 0 where ``Pos`` is 0.
        """
        xp = backend.namespace()
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        predicted = tp + fp
        tp_a, tp_b, p_a, p_b = tp[:, :-1], tp[:, 1:], predicted[:, :-1], predicted[:, 1:]
        slope = _divide_no_nan(tp_a - tp_b, xp.maximum(p_a - p_b, 0.0))
        intercept = tp_b - slope * p_b
        both = (p_a > 0) & (p_b > 0)
        ratio = xp.where(both, p_a / xp.where(both, p_b, 1.0), 1.0)
        return _divide_no_nan(slope * (tp_a - tp_b + intercept * xp.log(ratio)), tp_b + fn[:, 1:])

    def get_config(self):
        return {**super().get_config(), "num_thresholds": self.num_thresholds, "curve": self.curve,
                "summation_method": self.summation_method, "thresholds": self._given_thresholds,
                "multi_label": self.multi_label, "num_labels": self.num_labels,
                "label_weights": self.label_weights, "from_logits": self.from_logits}


def _choice(what, value, choices, spelling):
    """``value``, one of ``choices`` once spelt by ``spelling`` (``str.upper``...)."""
    if isinstance(value, str) and spelling(value) in choices:
        return spelling(value)
    raise ValueError(f"Unknown {what} {value!r}: expected one of {', '.join(map(repr, choices))}.")


_AVERAGES = {"micro": "micro", "macro": "macro", "weighted": "weighted"}


class FBetaScore(Metric):
    """The F-beta score of each class, or an average of them, as ``keras.metrics.FBetaScore``: the
    weighted harmonic mean of precision ``P = TP / (TP + FP)`` and recall ``R = TP / (TP + FN)``::

        F_beta = (1 + beta^2) P R / (beta^2 P + R)

    where ``beta`` (> 0, 1 by default) weighs recall ``beta`` times as much as precision. As in
    Keras, ``P``, ``R`` and ``F`` have ``1e-7`` added to their denominators (0, not NaN, for a class
    never predicted or never there).

    The counts are kept per class (the last axis of ``(samples, classes)`` predictions), summed over
    all batches since the last reset, each sample weighted by its ``sample_weight``::

        TP_c = sum_i w_i q_ic y_ic    FP_c = sum_i w_i q_ic (1 - y_ic)    FN_c = sum_i w_i (1 - q_ic) y_ic

    with ``q_ic`` 1 where the output counts as predicted: above ``threshold`` (in (0, 1]), or where
    ``threshold`` is None, the largest of its row (each of them where several are equal, none where
    it is 0). The targets ``y_ic`` count as they are, as in Keras (one-hot or multi-label rows of 0
    and 1).

    ``average`` gives: None, one score per class (a vector); ``"micro"``, the score of the counts
    summed over the classes; ``"macro"``, the mean of the classes' scores; ``"weighted"``, their
    mean weighted by each class's support ``sum_i w_i y_ic`` (how many targets it has).

    Keras 3.15 takes ``beta`` and ``threshold`` as Python floats alone; tinynet takes any real
    number (``beta=2``).
    """

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        who = type(self).__name__
        if average is not None and not isinstance(average, str):
            raise TypeError(f"{who} average must be None, 'micro', 'macro' or 'weighted'; got {average!r}.")
        for argument, value in (("beta", beta), ("threshold", threshold)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Real)):
                raise TypeError(f"{who} {argument} must be a number; got {value!r} of type {type(value).__name__}.")
        if not 0 < beta < math.inf:
            raise ValueError(f"{who} beta must be a number > 0; got {beta!r}.")
        if threshold is not None and not 0 < threshold <= 1:
            raise ValueError(f"{who} threshold must be None or in (0, 1]; got {threshold!r}.")
        self.average = None if average is None else lookup(f"{who} average", average, _AVERAGES)
        self.beta = float(beta)
        self.threshold = None if threshold is None else float(threshold)
        super().__init__(dtype=dtype, name=name)
        self._classes = None  # until the first batch shows how many (not needed for "micro")
        self.reset_state()

    def reset_state(self):
        shape = () if self.average == "micro" else None if self._classes is None else (self._classes,)
        counts = [None if shape is None else self.zeros(shape) for _ in range(4)]
        self.true_positives, self.false_positives, self.false_negatives, self.support = counts

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add the batch's counts (see the class). Everything is checked before the state changes."""
        y_true, y_pred, weights = _checked_batch(self, y_true, y_pred, sample_weight)
        who = f"{type(self).__name__} {self.name!r}"
        if y_pred.ndim != 2:
            raise ValueError(f"{who} needs y_pred of shape (samples, classes); got {tuple(y_pred.shape)}.")
        classes = y_pred.shape[1]
        if self.average != "micro" and self._classes not in (None, classes):
            raise ValueError(f"{who} counts {self._classes} classes, but y_pred has {classes} columns "
                             f"(shape {tuple(y_pred.shape)}).")
        xp = backend.namespace()
        if self.threshold is None:  # the row's largest, but a row of zeros predicts nothing (as in Keras)
            predicted = (y_pred >= xp.max(y_pred, axis=-1, keepdims=True)) & (xp.abs(y_pred) > 1e-9)
        else:
            predicted = y_pred > self.threshold
        predicted = xp.astype(predicted, y_pred.dtype)
        positive, negative = y_true, 1 - y_true
        if weights is not None:
            positive, negative = positive * weights, negative * weights
        axis = None if self.average == "micro" else 0  # one sum per class, or one for all
        if self._classes is None and self.average != "micro":
            self._classes = classes
            self.reset_state()
        self.true_positives = self.true_positives + xp.sum(predicted * positive, axis=axis)
        self.false_positives = self.false_positives + xp.sum(predicted * negative, axis=axis)
        self.false_negatives = self.false_negatives + xp.sum((1 - predicted) * positive, axis=axis)
        self.support = self.support + xp.sum(positive, axis=axis)

    def result(self):
        xp = backend.namespace()
        if self.true_positives is None:  # before the first batch told how many classes
            return self.zeros(())
        epsilon = backend.epsilon()
        tp, beta2 = self.true_positives, self.beta**2
        precision = tp / (tp + self.false_positives + epsilon)
        recall = tp / (tp + self.false_negatives + epsilon)
        scores = precision * recall / (beta2 * precision + recall + epsilon) * (1 + beta2)
        if self.average == "weighted":
            return xp.sum(scores * (self.support / (xp.sum(self.support) + epsilon)))
        if self.average == "macro":
            return xp.mean(scores)
        return scores  # one per class, or the one "micro" score

    def get_config(self):
        return {**super().get_config(), "average": self.average, "beta": self.beta, "threshold": self.threshold}


class F1Score(FBetaScore):
    """The F1 score, the harmonic mean of precision and recall ``F1 = 2 P R / (P + R)``: the
    :class:`FBetaScore` of ``beta=1``, as ``keras.metrics.F1Score`` (same ``average`` and
    ``threshold``)."""

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self):
        config = super().get_config()
        del config["beta"]
        return config


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

# The metric objects' classes, by the names Keras's metrics.get knows them: their class's name in
# snake case ("precision", "true_positives", "f_beta_score", here in any case, as tinynet's other
# names), and the class's name spelt exactly ("TruePositives").
METRIC_OBJECT_CLASSES = {
    _snake_case(cls.__name__): cls
    for cls in (Precision, Recall, AUC, TruePositives, FalsePositives, TrueNegatives, FalseNegatives,
                PrecisionAtRecall, RecallAtPrecision, SensitivityAtSpecificity, SpecificityAtSensitivity,
                F1Score, FBetaScore)
}
_METRIC_OBJECT_CLASS_NAMES = {cls.__name__: cls for cls in METRIC_OBJECT_CLASSES.values()}

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
    """The metric for ``identifier``: a name, a class name such as ``"CategoricalAccuracy"``, a
    function (made a batch mean), or a metric object, a :class:`Metric` class or the name of one
    (``"precision"``, ``"AUC"``, ``"f1_score"``, ``"TruePositives"``: a new object of that class).

    Returns ``(name, metric)``; the name is the key ``History`` and the progress bar use: the one
    the user wrote (``"accuracy"`` stays ``"accuracy"``, ``"acc"`` stays ``"acc"``, ``"AUC"`` stays
    ``"AUC"``), or a metric object's own ``name``. A metric object is used as it is, as in Keras.
    """
    if isinstance(identifier, Metric):
        return identifier.name, identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        metric = _new_metric_object(identifier, identifier.__name__)
        return metric.name, metric
    if callable(identifier) and identifier in _BATCH_MEAN_OF:  # tinynet's own, as by its name
        return identifier.__name__, _BATCH_MEAN_OF[identifier]
    if callable(identifier):
        name = getattr(identifier, "__name__", None) or type(identifier).__name__.lower()  # a partial has none
        return name, _batch_mean_of(identifier)
    if isinstance(identifier, str) and identifier in _METRIC_CLASSES:
        return identifier, _METRIC_CLASSES[identifier]
    if isinstance(identifier, str) and identifier in _METRIC_OBJECT_CLASS_NAMES:
        return identifier, _new_metric_object(_METRIC_OBJECT_CLASS_NAMES[identifier], identifier, name=identifier)
    if identifier == "Accuracy":  # not "accuracy" in another case: Keras's class counts p == y
        raise ValueError(
            "Keras's 'Accuracy' metric counts the predictions exactly equal to their targets; tinynet "
            "does not have it. For the share of right answers use 'accuracy' (or 'CategoricalAccuracy', "
            "'SparseCategoricalAccuracy', 'BinaryAccuracy')."
        )
    found = lookup("metric", identifier, {**_METRICS, **METRIC_OBJECT_CLASSES}, with_custom_objects=True)
    if found in METRIC_OBJECT_CLASSES.values():  # named after what was asked for, as Keras names it
        return identifier, _new_metric_object(found, identifier, name=identifier)
    if found not in _METRICS.values():  # of one's own, by the name a saved model gives it
        return get(found)
    return identifier, found


def _new_metric_object(cls, asked_for, **name):
    """A new ``cls()``, for a metric asked for by a name or a class alone; one of the "X at Y"
    metrics cannot be made so, without the Y to reach."""
    if issubclass(cls, _SensitivitySpecificityBase):
        raise TypeError(
            f"The metric {asked_for!r} needs the {cls._given} to reach; give compile an object: "
            f"metrics=[{cls.__name__}({cls._given}=0.8)]."
        )
    return cls(**name)


def get_weighted(identifier):
    """The metric for ``identifier`` in ``compile(weighted_metrics=[...])``: ``(name, function)``
    as :func:`get` gives, with ``function(y_true, y_pred, sample_weight=None)`` the batch's mean
    weighted by ``sample_weight`` (see :func:`_weighted_mean_of`); or a metric object, whose
    ``update_state`` the model gives the ``sample_weight``."""
    name, batch_mean = get(identifier)
    if isinstance(batch_mean, Metric):  # the model gives it the weights
        return name, batch_mean
    if batch_mean in _WEIGHTED:
        return name, _WEIGHTED[batch_mean]
    return name, _weighted_mean_of(batch_mean.__wrapped__, batch_mean)  # a function of one's own


def serialize(metric):
    """A metric object as ``{"class_name": ..., "config": metric.get_config()}``, which
    :func:`deserialize` makes it again from: the class's own name (``"Precision"``) or, for a class
    of one's own, its registered name (see ``tinynet.saving.register_keras_serializable``)."""
    return {"class_name": get_registered_name(type(metric)), "config": metric.get_config()}


def deserialize(description):
    """The metric object :func:`serialize` described: its class (see :func:`metric_object_class`)
    made with ``from_config``."""
    return metric_object_class(description["class_name"]).from_config(description["config"])


def metric_object_class(class_name):
    """The metric object class a saved model names ``class_name``: one of one's own among the
    custom objects, or tinynet's by its class's name (``"TruePositives"``, in any case)."""
    by_class_name = {name.lower(): cls for name, cls in _METRIC_OBJECT_CLASS_NAMES.items()}
    return lookup("metric class", class_name, by_class_name, with_custom_objects=True)
