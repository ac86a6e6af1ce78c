"""Regularizers: a penalty on a layer's weights, added to the loss, against overfitting.

``Dense(64, kernel_regularizer=L2(0.01))`` adds ``0.01 * sum(W^2)`` to the loss that training
minimises, so large weights cost something and the network prefers small ones, which vary less
from one training set to another. As in Keras, the penalty is added to every batch's loss once,
unweighted (``sample_weight`` weighs the data's loss only), and to the loss ``fit`` and
``evaluate`` report; ``model.losses`` lists the penalties of the weights now.

=============  ==========================================  =========================
``L1(l1)``     ``l1 * sum |w|``                            gradient ``l1 * sign(w)``
``L2(l2)``     ``l2 * sum w^2``                            gradient ``2 * l2 * w``
``L1L2(l1, l2)``  both added                               both added
=============  ==========================================  =========================

``"l1"`` and ``"l2"`` give ``L1(0.01)`` and ``L2(0.01)``, Keras's defaults; ``L1L2()`` has both
factors 0 unless given. L1 pushes weights to exactly 0 (its slope does not shrink near 0), L2
shrinks them in proportion to their size. With plain SGD, L2's gradient makes each step
``w <- w - lr (g + 2 l2 w)``: the weights decay by ``2 lr l2`` of themselves each step, which is
why L2 regularization is also called weight decay (the optimizers' ``weight_decay`` does that
decay directly, outside the loss and its gradient).

A regularizer of one's own subclasses :class:`Regularizer` with ``__call__(w)`` (the penalty)
and ``gradient(w)`` (its derivative with respect to ``w``): tinynet has no automatic
differentiation.
"""

from tinynet import backend
from tinynet.utils import config
from tinynet.utils.config import serialize  # noqa: F401 (tinynet.regularizers.serialize, as in Keras)


class Regularizer(config.Configurable):
    """Base class: ``regularizer(w)`` is the penalty (a 0-d array), ``gradient(w)`` is d penalty / dw."""

    def __call__(self, weight):
        raise NotImplementedError

    def gradient(self, weight):
        raise NotImplementedError


class L1L2(Regularizer):
    """``l1 * sum |w| + l2 * sum w^2``; d/dw: ``l1 * sign(w) + 2 * l2 * w``.

    ``sign(0) = 0``: at exactly 0 the L1 term has no slope (0 is where its two sides meet).
    """

    def __init__(self, l1=0.0, l2=0.0):
        # Keras takes None for 0.
        self.l1 = config.checked_non_negative("regularization factor l1", 0.0 if l1 is None else l1)
        self.l2 = config.checked_non_negative("regularization factor l2", 0.0 if l2 is None else l2)

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}

    def __call__(self, weight):
        xp = backend.namespace()
        return self.l1 * xp.sum(xp.abs(weight)) + self.l2 * xp.sum(weight * weight)

    def gradient(self, weight):
        return self.l1 * backend.namespace().sign(weight) + (2.0 * self.l2) * weight


class L1(L1L2):
    """``l1 * sum |w|`` (default ``l1=0.01``)."""

    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    """``l2 * sum w^2`` (default ``l2=0.01``)."""

    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


# Names as Keras 3 takes them (its classes' names, and those in snake case), and Keras 2's "l1_l2".
_REGULARIZERS = {"l1": L1, "l2": L2, "l1l2": L1L2, "l1_l2": L1L2}


def get(identifier):
    """A regularizer from a name (``"l2"``, ``"L1L2"``...), a class, an object, ``serialize``'s
    description, or None (no regularizer)."""
    return config.get("regularizer", identifier, Regularizer, _REGULARIZERS,
                      "tinynet has no automatic differentiation, so a regularizer gives its gradient too: "
                      "subclass tinynet.regularizers.Regularizer with __call__(w) and gradient(w), as L2 does, "
                      "and pass an instance.")
