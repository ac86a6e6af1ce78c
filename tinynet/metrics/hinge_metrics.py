"""The hinge metrics, as Keras's ``keras.metrics``: the mean of the hinge losses' values over every
sample since the last reset (targets -1 or 1; 0/1 targets are taken as -1/1, as by the losses)."""

from tinynet import losses
from tinynet.metrics.reduction_metrics import MeanMetricWrapper


class Hinge(MeanMetricWrapper):
    """The mean of ``max(1 - y p, 0)`` over every output seen."""

    def __init__(self, name="hinge", dtype=None):
        super().__init__(losses.hinge, name=name, dtype=dtype)


class SquaredHinge(MeanMetricWrapper):
    """The mean of ``max(1 - y p, 0)^2`` over every output seen."""

    def __init__(self, name="squared_hinge", dtype=None):
        super().__init__(losses.squared_hinge, name=name, dtype=dtype)


class CategoricalHinge(MeanMetricWrapper):
    """The mean of ``max(0, 1 + max_{j != true} p_j - p_true)`` over every sample seen."""

    def __init__(self, name="categorical_hinge", dtype=None):
        super().__init__(losses.categorical_hinge, name=name, dtype=dtype)
