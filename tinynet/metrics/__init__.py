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

Keras's other metric classes are objects too, most of them a :class:`MeanMetricWrapper`: the mean
of a function's values over every sample since the last reset (``CategoricalAccuracy``,
``MeanSquaredError``, ``KLDivergence``, ``Hinge``...), which gives the numbers the function's name
gives in ``compile``. Besides them, :class:`RootMeanSquaredError` (the root of the whole mean),
:class:`R2Score`, and :class:`Mean` and :class:`Sum` of values one gives them, for a training loop
of one's own. They live in modules named as Keras's: ``accuracy_metrics``, ``regression_metrics``,
``probabilistic_metrics``, ``hinge_metrics``, ``reduction_metrics``, ``confusion_metrics``,
``f_score_metrics``, and ``metric`` for the base class.
"""


from tinynet import backend, losses
from tinynet.metrics.accuracy_metrics import (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
    _accuracy_from_shapes,
    _accuracy_per_sample,
    _binary_share,
    _categorical_share,
    _sparse_categorical_share,
    binary_accuracy,
    categorical_accuracy,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)
from tinynet.metrics.confusion_metrics import (
    AUC,
    FalseNegatives,
    FalsePositives,
    Precision,
    PrecisionAtRecall,
    Recall,
    RecallAtPrecision,
    SensitivityAtSpecificity,
    SpecificityAtSensitivity,
    TrueNegatives,
    TruePositives,
    _SensitivitySpecificityBase,
)
from tinynet.metrics.f_score_metrics import F1Score, FBetaScore
from tinynet.metrics.hinge_metrics import CategoricalHinge, Hinge, SquaredHinge
from tinynet.metrics.metric import Metric, _snake_case
from tinynet.metrics.probabilistic_metrics import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    KLDivergence,
    Poisson,
    SparseCategoricalCrossentropy,
)
from tinynet.metrics.reduction_metrics import Mean, MeanMetricWrapper, Sum
from tinynet.metrics.regression_metrics import (
    CosineSimilarity,
    LogCoshError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    R2Score,
    RootMeanSquaredError,
)
from tinynet.utils.lookup import lookup
from tinynet.utils.object_registration import get_registered_name

mean_squared_error = losses.mean_squared_error
mean_absolute_error = losses.mean_absolute_error


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

# The metric objects' classes, by the names Keras's metrics.get knows them: their class's name in
# snake case ("precision", "true_positives", "root_mean_squared_error", here in any case, as
# tinynet's other names), and the class's name spelt exactly ("TruePositives"). Where a function
# has that snake-case name ("categorical_accuracy", "mean_squared_error"), the name gives the
# function's batch mean (see get): the same numbers, and "accuracy" keeps its choice by shapes.
_NAMED_METRIC_CLASSES = (
    Precision, Recall, AUC, TruePositives, FalsePositives, TrueNegatives, FalseNegatives,
    PrecisionAtRecall, RecallAtPrecision, SensitivityAtSpecificity, SpecificityAtSensitivity,
    F1Score, FBetaScore,
    BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy, TopKCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError,
    RootMeanSquaredError, LogCoshError, CosineSimilarity, R2Score,
    KLDivergence, Poisson, BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
    Hinge, SquaredHinge, CategoricalHinge,
)
METRIC_OBJECT_CLASSES = {_snake_case(cls.__name__): cls for cls in _NAMED_METRIC_CLASSES}
# Accuracy (exact equality) by its class's name only: "accuracy" is the accuracy chosen by shapes.
# Mean, Sum and MeanMetricWrapper too, for load_model: compile refuses the first two (see get).
_METRIC_OBJECT_CLASS_NAMES = {cls.__name__: cls for cls in (*_NAMED_METRIC_CLASSES, Accuracy, Mean, Sum,
                                                            MeanMetricWrapper)}

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
        return identifier.name, _takes_targets(identifier)
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
    found = lookup("metric", identifier, {**METRIC_OBJECT_CLASSES, **_METRICS}, with_custom_objects=True)
    if found in METRIC_OBJECT_CLASSES.values():  # named after what was asked for, as Keras names it
        return identifier, _new_metric_object(found, identifier, name=identifier)
    if found not in _METRICS.values():  # of one's own, by the name a saved model gives it
        return get(found)
    return identifier, found


def _new_metric_object(cls, asked_for, **name):
    """A new ``cls()``, for a metric asked for by a name or a class alone; one of the "X at Y"
    metrics cannot be made so, without the Y to reach, nor a MeanMetricWrapper without its function."""
    if issubclass(cls, _SensitivitySpecificityBase):
        raise TypeError(
            f"The metric {asked_for!r} needs the {cls._given} to reach; give compile an object: "
            f"metrics=[{cls.__name__}({cls._given}=0.8)]."
        )
    if cls is MeanMetricWrapper:
        raise TypeError(
            f"The metric {asked_for!r} needs the function to average; give compile an object: "
            "metrics=[MeanMetricWrapper(my_function)], or the function itself."
        )
    return _takes_targets(cls(**name))


def _takes_targets(metric):
    """``metric``, unless it is a plain :class:`Mean` or :class:`Sum`: those take the values
    themselves (``update_state(values)``), and a model gives its metrics targets and predictions."""
    if type(metric).update_state in (Mean.update_state, Sum.update_state):
        raise TypeError(
            f"The metric {metric.name!r} is a {type(metric).__name__}, which takes the values to "
            f"average itself ({type(metric).__name__.lower()}.update_state(values)), in a loop of one's "
            "own; compile gives its metrics targets and predictions. Give compile a function "
            "f(y_true, y_pred) of one value per sample, or MeanMetricWrapper(f)."
        )
    return metric


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


# The functions a saved MeanMetricWrapper may name (one's own are found among the custom objects).
_FUNCTIONS = {
    function.__name__: function
    for function in (categorical_accuracy, sparse_categorical_accuracy, binary_accuracy, top_k_categorical_accuracy,
                     sparse_top_k_categorical_accuracy, *losses.FUNCTION_FORMS)
}


def metric_function(name):
    """The function a saved ``MeanMetricWrapper`` names ``name``: one of one's own among the
    custom objects, or one of tinynet's metric or loss functions (``"mean_squared_error"``)."""
    return lookup("metric function", name, _FUNCTIONS, with_custom_objects=True)


def metric_object_class(class_name):
    """The metric object class a saved model names ``class_name``: one of one's own among the
    custom objects, or tinynet's by its class's name (``"TruePositives"``, in any case)."""
    by_class_name = {name.lower(): cls for name, cls in _METRIC_OBJECT_CLASS_NAMES.items()}
    return lookup("metric class", class_name, by_class_name, with_custom_objects=True)
