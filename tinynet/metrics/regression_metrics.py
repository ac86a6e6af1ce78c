"""The regression metrics, as Keras's ``keras.metrics``: the errors (``MeanSquaredError``,
``RootMeanSquaredError``...), ``CosineSimilarity`` and ``R2Score``, the coefficient of
determination. All but ``R2Score`` are means over every sample since the last reset."""

import warnings

from tinynet import backend, losses
from tinynet.losses import match_rank
from tinynet.metrics.metric import Metric, _divide_no_nan, _on_backend
from tinynet.metrics.reduction_metrics import Mean, MeanMetricWrapper
from tinynet.utils.validation import check_count


class MeanSquaredError(MeanMetricWrapper):
    """The mean of ``(y_pred - y_true)^2`` over every output seen."""

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(losses.mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    """The mean of ``|y_pred - y_true|`` over every output seen."""

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(losses.mean_absolute_error, name=name, dtype=dtype)


class MeanAbsolutePercentageError(MeanMetricWrapper):
    """The mean of ``100 |y_true - y_pred| / |y_true|`` over every output seen."""

    def __init__(self, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(losses.mean_absolute_percentage_error, name=name, dtype=dtype)


class MeanSquaredLogarithmicError(MeanMetricWrapper):
    """The mean of ``(log(1 + y_pred) - log(1 + y_true))^2`` over every output seen."""

    def __init__(self, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(losses.mean_squared_logarithmic_error, name=name, dtype=dtype)


class LogCoshError(MeanMetricWrapper):
    """The mean of ``log(cosh(y_pred - y_true))`` over every output seen."""

    def __init__(self, name="logcosh", dtype=None):
        super().__init__(losses.log_cosh, name=name, dtype=dtype)


def _cosine(y_true, y_pred, axis=-1):
    """Each sample's cosine between ``y_true`` and ``y_pred`` along ``axis``: minus the loss."""
    return -losses.cosine_similarity(y_true, y_pred, axis=axis)


class CosineSimilarity(MeanMetricWrapper):
    """The mean cosine between targets and predictions, from -1 to 1 (1: the same direction).
    The loss of that name is its negative, so that minimising it aligns them."""

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        losses.CosineSimilarity(axis=axis)  # refuses an axis tinynet does not compare along
        super().__init__(_cosine, name=name, dtype=dtype, axis=axis)


class RootMeanSquaredError(Mean):
    """``sqrt(sum_i w_i e_i / sum_i w_i)``, where ``e_i`` is sample ``i``'s mean of
    ``(y_pred - y_true)^2``: the square root of the mean squared error of every sample seen
    (not the mean of each batch's root)."""

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = _on_backend(y_pred, self.dtype)
        y_true = match_rank(_on_backend(y_true, self.dtype), y_pred)
        super().update_state((y_pred - y_true) ** 2, sample_weight)

    def result(self):
        return backend.namespace().sqrt(super().result())


class R2Score(Metric):
    """The coefficient of determination of every sample seen, for each output ``j`` of ``(n, k)``
    targets ``y`` (with the samples' weights ``w``, 1 without)::

        R2_j = 1 - sum_i w_i (y_ij - p_ij)^2 / sum_i w_i (y_ij - mean_j)^2

    where ``mean_j = sum_i w_i y_ij / sum_i w_i``: 1 for perfect predictions, 0 for predicting the
    mean, negative for worse. The denominator comes from running sums, as
    ``sum w y^2 - (sum w y)^2 / sum w``. An output whose targets never vary scores 0 (Keras: 0,
    or NaN where its predictions are exact).

    ``class_aggregation`` makes one number of the ``k``: ``"uniform_average"`` (their mean),
    ``"variance_weighted_average"`` (weighted by each output's variance), or None (all ``k``).
    ``num_regressors`` ``p`` > 0 gives the adjusted score ``1 - (1 - R2) (N - 1) / (N - p - 1)``,
    where ``N`` counts every target seen (``n k`` a batch, as Keras counts them).
    """

    _AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score", dtype=None):
        if class_aggregation not in self._AGGREGATIONS:
            raise ValueError(f"R2Score class_aggregation must be one of {self._AGGREGATIONS}; got {class_aggregation!r}.")
        self.num_regressors = check_count("R2Score num_regressors", num_regressors, 0)
        super().__init__(name=name, dtype=dtype)
        self.class_aggregation = class_aggregation
        self.outputs = None  # k, known from the first batch
        self.reset_state()

    def reset_state(self):
        self.num_samples = self.zeros(())
        shape = () if self.outputs is None else (self.outputs,)
        self.sum, self.squared_sum, self.residual, self.count = (self.zeros(shape) for _ in range(4))

    def update_state(self, y_true, y_pred, sample_weight=None):
        xp = backend.namespace()
        y_pred = _on_backend(y_pred, self.dtype)
        y_true = match_rank(_on_backend(y_true, self.dtype), y_pred)
        if y_pred.ndim != 2 or tuple(y_true.shape) != tuple(y_pred.shape):
            raise ValueError(
                f"R2Score {self.name!r} needs y_true and y_pred of one shape (samples, outputs); got "
                f"{tuple(y_true.shape)} and {tuple(y_pred.shape)}."
            )
        if self.outputs is None:
            self.outputs = y_pred.shape[1]
            self.reset_state()
        elif y_pred.shape[1] != self.outputs:
            raise ValueError(f"R2Score {self.name!r} was given {self.outputs} outputs a sample before; got {y_pred.shape[1]}.")
        weights = xp.ones_like(y_true) if sample_weight is None else _on_backend(sample_weight, self.dtype)
        if weights.ndim == 1:  # one weight per sample: for each of its outputs
            weights = xp.reshape(weights, (-1, 1))
        weights = xp.broadcast_to(weights, y_true.shape)
        self.sum = self.sum + xp.sum(weights * y_true, axis=0)
        self.squared_sum = self.squared_sum + xp.sum(weights * y_true**2, axis=0)
        self.residual = self.residual + xp.sum(weights * (y_true - y_pred) ** 2, axis=0)
        self.count = self.count + xp.sum(weights, axis=0)
        self.num_samples = self.num_samples + y_true.shape[0] * y_true.shape[1]

    def result(self):
        xp = backend.namespace()
        variation = self.squared_sum - self.sum * (self.sum / self.count)
        scores = 1 - _divide_no_nan(self.residual, variation)
        scores = xp.where(variation == 0, 0.0, scores)  # targets that never vary
        if self.class_aggregation == "uniform_average":
            scores = xp.mean(scores)
        elif self.class_aggregation == "variance_weighted_average":
            scores = xp.sum(variation * scores) / xp.sum(variation)
        if self.num_regressors == 0:
            return scores
        seen = float(self.num_samples)
        if self.num_regressors >= seen - 1:
            warnings.warn(
                f"R2Score {self.name!r}: num_regressors={self.num_regressors} needs more than "
                f"{self.num_regressors + 1} targets for the adjusted score, and {seen:.0f} were seen; "
                "this is the plain score.",
                stacklevel=2,
            )
            return scores
        return 1 - (1 - scores) * (seen - 1) / (seen - self.num_regressors - 1)

    def get_config(self):
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}
