"""The F scores, as Keras's ``keras.metrics.FBetaScore`` and ``F1Score``: per-class sums of true
and false positives and negatives over many batches, and the harmonic mean of precision and recall
worked out from them.
"""

import math
import numbers

from tinynet import backend
from tinynet.metrics.metric import Metric, _checked_batch
from tinynet.utils.lookup import lookup

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

