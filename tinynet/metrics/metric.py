"""The base of the metric objects: :class:`Metric`, a state kept over many batches, and what its
subclasses share (their names, and the checks of a batch).

Precision, recall, the area under a curve and the F1 score are no means of per-batch values: they
are worked out from counts over the whole epoch, which a metric object keeps (see
:class:`Metric`). Its subclasses live in modules named as Keras's: the means of a function
(:mod:`tinynet.metrics.reduction_metrics` and the modules of its classes), the counts
(:mod:`tinynet.metrics.confusion_metrics`), the F scores (:mod:`tinynet.metrics.f_score_metrics`).
"""

import re
from collections import defaultdict

from tinynet import backend

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

    def __call__(self, *args, **kwargs):
        """``update_state(*args, **kwargs)``, then ``result()``."""
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        """The arguments that make this metric again (without its state), as plain data."""
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


def _divide_no_nan(numerator, denominator):
    """``numerator / denominator``, and 0 where the denominator is 0, as Keras's ``divide_no_nan``
    (the precision of a threshold that no prediction passes is 0, the mean of no samples 0)."""
    xp = backend.namespace()
    nonzero = denominator != 0
    return xp.where(nonzero, numerator / xp.where(nonzero, denominator, 1.0), 0.0)


def _on_backend(values, dtype):
    """``values`` (a backend array, or host numbers as a standalone metric may be given them) as an
    array of the active backend of ``dtype``, a dtype name; a backend array of that dtype as it is."""
    if backend.is_backend_array(values):
        xp = backend.namespace()
        return xp.astype(values, getattr(xp, dtype), copy=False)
    return backend.asarray(values, dtype=dtype)


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
