"""The probabilistic metrics, as Keras's ``keras.metrics``: the cross-entropies, the
Kullback-Leibler divergence and the Poisson loss, each the mean of the loss function's values
over every sample since the last reset (a loss given as a metric, to watch beside another loss)."""

from tinynet import losses
from tinynet.metrics.reduction_metrics import MeanMetricWrapper


class KLDivergence(MeanMetricWrapper):
    """The mean of ``sum_j y_j log(y_j / p_j)`` over every sample seen."""

    def __init__(self, name="kl_divergence", dtype=None):
        super().__init__(losses.kl_divergence, name=name, dtype=dtype)


class Poisson(MeanMetricWrapper):
    """The mean of ``p - y log(p)`` over every output seen."""

    def __init__(self, name="poisson", dtype=None):
        super().__init__(losses.poisson, name=name, dtype=dtype)


class BinaryCrossentropy(MeanMetricWrapper):
    """The mean binary cross-entropy of every sample seen (see ``tinynet.losses.BinaryCrossentropy``)."""

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False, label_smoothing=0):
        super().__init__(losses.binary_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)


class CategoricalCrossentropy(MeanMetricWrapper):
    """The mean categorical cross-entropy of every sample seen (see ``tinynet.losses.CategoricalCrossentropy``)."""

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False, label_smoothing=0):
        super().__init__(losses.categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """The mean cross-entropy of every sample seen, from integer labels (see
    ``tinynet.losses.SparseCategoricalCrossentropy``)."""

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False):
        super().__init__(losses.sparse_categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits)
