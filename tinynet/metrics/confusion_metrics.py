"""The confusion-matrix metrics, as Keras's ``keras.metrics``: the counts (``TruePositives``...),
``Precision``, ``Recall``, the "X at Y" metrics (``PrecisionAtRecall``...) and ``AUC``, all worked
out from true and false positives and negatives counted at thresholds over many batches.
"""

import numbers

from tinynet import activations, backend
from tinynet.metrics.metric import Metric, _checked_batch, _divide_no_nan


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

