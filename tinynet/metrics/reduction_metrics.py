"""Metrics that reduce values to one number, as Keras's ``keras.metrics``: :class:`Sum`,
:class:`Mean`, and :class:`MeanMetricWrapper`, the mean of a function's values over every sample
seen, which most of Keras's metric classes are (``CategoricalAccuracy``, ``MeanSquaredError``...).

``Mean`` and ``Sum`` are given the values themselves (``mean.update_state(losses)``), as in a
training loop of one's own; a model gives its metrics targets and predictions, so ``compile``
takes a ``MeanMetricWrapper`` of a function, not a bare ``Mean``.
"""

from tinynet import backend
from tinynet.metrics.metric import Metric, _divide_no_nan, _on_backend
from tinynet.utils.object_registration import get_registered_name


def _same_rank(values, weights):
    """``values`` and ``weights`` with the same number of axes where one has one more, of length
    1, than the other: a vector gains that axis, anything larger loses it (Keras's
    ``squeeze_or_expand_to_same_rank``). Otherwise both as they are."""
    xp = backend.namespace()
    if values.ndim == weights.ndim + 1 and values.shape[-1] == 1:
        if weights.ndim == 1:
            return values, xp.reshape(weights, (*weights.shape, 1))
        return xp.reshape(values, values.shape[:-1]), weights
    if weights.ndim == values.ndim + 1 and weights.shape[-1] == 1:
        if values.ndim == 1:
            return xp.reshape(values, (*values.shape, 1)), weights
        return values, xp.reshape(weights, weights.shape[:-1])
    return values, weights


def _per_sample(metric, values, sample_weight, reduce):
    """``(values, weights)`` with one number per sample, as Keras's ``Mean`` and ``Sum`` reduce them
    (``reduce`` is ``xp.mean`` or ``xp.sum``; ``weights`` is None without ``sample_weight``):

    * with weights of fewer axes than the values (one per sample, say), each sample's values are
      reduced over the axes the weights lack, then multiplied by its weight: ``v_i w_i``;
    * weights of the values' shape weigh each value, then the weights too are reduced per sample;
    * values with more than one axis are reduced to one number per sample at the end.

    So ``Mean`` of ``v`` weighted by ``w`` is ``sum_i w_i v_i / sum_i w_i``, and without weights
    the mean of every sample's (mean) value.
    """
    values = _on_backend(values, metric.dtype)
    weights = None
    if sample_weight is not None:
        values, weights = _same_rank(values, _on_backend(sample_weight, metric.dtype))
        if values.ndim > weights.ndim:
            values = reduce(values, axis=tuple(range(weights.ndim, values.ndim)))
        weights_ndim = weights.ndim
        try:
            weights = backend.namespace().broadcast_to(weights, values.shape)
        except ValueError:
            raise ValueError(
                f"{type(metric).__name__} {metric.name!r} needs a sample_weight of the values' shape "
                f"{tuple(values.shape)}, or one that broadcasts to it (one weight per sample); got "
                f"{tuple(weights.shape)}."
            ) from None
        values = values * weights
        if weights_ndim > 1:
            weights = reduce(weights, axis=tuple(range(1, weights_ndim)))
    if values.ndim > 1:
        values = reduce(values, axis=tuple(range(1, values.ndim)))
    return values, weights


class Sum(Metric):
    """The (weighted) sum of every value given since the last reset: ``sum_i w_i v_i``.

    ``Sum()([1, 3, 5, 7])`` is 16; with ``sample_weight=[1, 1, 0, 0]`` it is 4.
    """

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.reset_state()

    def reset_state(self):
        self.total = self.zeros(())

    def update_state(self, values, sample_weight=None):
        """Add ``values`` (an array of any shape), weighted by ``sample_weight`` (see :func:`_per_sample`)."""
        xp = backend.namespace()
        values, _ = _per_sample(self, values, sample_weight, xp.sum)
        self.total = self.total + xp.sum(values)

    def result(self):
        return self.total


class Mean(Metric):
    """The (weighted) mean of every value given since the last reset: ``total / count``, where
    ``total = sum_i w_i v_i`` and ``count = sum_i w_i`` (the number of samples without weights),
    and 0 before any (see :func:`_per_sample` for values of several axes).

    ``Mean()([1, 3, 5, 7])`` is 4; with ``sample_weight=[1, 1, 0, 0]`` it is 2. In a training loop
    of one's own it gives the epoch's mean loss: ``mean.update_state(batch_loss)`` after each batch.
    """

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.reset_state()

    def reset_state(self):
        self.total = self.zeros(())
        self.count = self.zeros(())

    def update_state(self, values, sample_weight=None):
        """Add ``values`` (an array of any shape), weighted by ``sample_weight`` (see :func:`_per_sample`)."""
        xp = backend.namespace()
        values, weights = _per_sample(self, values, sample_weight, xp.mean)
        self.total = self.total + xp.sum(values)
        if weights is not None:
            self.count = self.count + xp.sum(weights)
        else:  # one sample per value left, or a single number
            self.count = self.count + (values.shape[0] if values.ndim else 1)

    def result(self):
        return _divide_no_nan(self.total, self.count)


class MeanMetricWrapper(Mean):
    """The mean of ``fn(y_true, y_pred, **kwargs)`` over every sample since the last reset, as
    Keras's ``MeanMetricWrapper``: ``fn`` gives one value per sample (or per output), and each batch
    adds them to the :class:`Mean`, weighted by the samples' weights.

    ``MeanMetricWrapper(my_error)`` makes a metric object of one's own function; tinynet's
    ``CategoricalAccuracy``, ``MeanSquaredError``... are such wrappers of its functions. Its
    config names ``fn`` (``model.save`` writes the name, and ``load_model`` finds it among
    tinynet's metric and loss functions or one's custom objects).
    """

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        if not callable(fn):
            raise TypeError(f"MeanMetricWrapper needs a function fn(y_true, y_pred); got {fn!r}.")
        super().__init__(name=name, dtype=dtype)
        self.fn = fn
        self.fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add ``fn``'s values for the batch (``y_pred`` in the metric's dtype; ``y_true`` as given,
        so integer labels stay integers)."""
        y_pred = _on_backend(y_pred, self.dtype)
        if not backend.is_backend_array(y_true):
            y_true = backend.asarray(y_true)
        super().update_state(self.fn(y_true, y_pred, **self.fn_kwargs), sample_weight)

    def get_config(self):
        config = {**super().get_config(), **self.fn_kwargs}
        if type(self).__init__ is MeanMetricWrapper.__init__:  # a subclass gives its own fn
            config["fn"] = get_registered_name(self.fn)
        return config

    @classmethod
    def from_config(cls, config):
        # Imported here: the package imports this module.
        from tinynet.metrics import metric_function

        if "fn" in config:
            config = {**config, "fn": metric_function(config["fn"])}
        return cls(**config)
