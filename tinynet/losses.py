"""Loss functions: one number that says how far the predictions are from the truth.

Every loss averages a per-sample loss ``l_i`` (``per_sample``) over the batch of ``n`` samples,
as Keras does; with sample weights ``w_i`` (``fit(sample_weight=..., class_weight=...)``) it is
``(1/n) sum_i w_i l_i`` (``weighted_value``), whose gradient is the unweighted one with sample
``i``'s row multiplied by ``w_i``. Each loss gives
its gradient with respect to the predictions ``p`` (``gradient``), which is where backpropagation
starts. Losses that end a network whose last activation undoes their logarithm also give the
gradient with respect to that layer's weighted sum ``z`` (``gradient_wrt_logits``): it is simpler
and faster (derived in each class). Their value is then read off the activation's
log-probabilities (``fused_value``), computed from ``z``, as Keras on TensorFlow computes it from
the logits: no clip is needed there, so where a probability rounds to 0 the loss is still exact
(a clipped one would stop near 16.1, and its gradient would vanish), and ``gradient_wrt_logits`` is
its exact derivative everywhere.
"""

import math
import numbers

from tinynet import activations, backend
from tinynet.utils.lookup import from_function, lookup


class Loss:
    """Base class. ``per_sample(y_true, y_pred)`` is each sample's loss, ``value`` their mean;
    ``gradient`` is dL/dy_pred.

    ``fused_activation`` names the activation (``"softmax"`` or ``"sigmoid"``) whose output this
    loss can differentiate straight through with ``gradient_wrt_logits``. ``from_logits`` says
    whether the predictions are that activation's input rather than its output.
    ``get_config()`` gives the arguments that make the loss again (``{}`` for one without any).
    """

    name = None
    fused_activation = None
    from_logits = False

    def __call__(self, y_true, y_pred):
        return self.value(match_rank(y_true, y_pred), y_pred)

    def per_sample(self, y_true, y_pred):
        raise NotImplementedError

    def value(self, y_true, y_pred):
        return backend.namespace().mean(self.per_sample(y_true, y_pred))

    def weighted_value(self, y_true, y_pred, sample_weight):
        """``(1/n) sum_i w_i l_i``: Keras's weighted loss (divided by ``n``, not by the sum of ``w``)."""
        return weighted_mean(self.per_sample(y_true, y_pred), sample_weight)

    def gradient(self, y_true, y_pred):
        raise NotImplementedError

    def gradient_wrt_logits(self, y_true, y_pred):
        raise NotImplementedError

    def fused_per_sample(self, y_true, activation):
        """Each sample's loss when the predictions are the output of ``activation``, the
        ``fused_activation``, read off its ``log_probabilities``: as Keras on TensorFlow computes
        it, from the logits, exact (no clip) where a probability rounds to 0."""
        raise NotImplementedError

    def fused_value(self, y_true, activation):
        """The mean of ``fused_per_sample``: the loss ``fit`` reports after ``fused_activation``."""
        return backend.namespace().mean(self.fused_per_sample(y_true, activation))

    def get_config(self):
        return {}

    def __repr__(self):
        arguments = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({arguments})"


class CategoricalCrossentropy(Loss):
    """``L = -(1/n) sum_samples sum_i y_i * log(p_i)`` for one-hot ``y`` and probabilities ``p``.

    As in Keras, each row of ``p`` is first divided by its sum ``S`` (a no-op after softmax) and
    then clipped to ``[eps, 1 - eps]`` with ``eps = 1e-7`` so that ``log(0)`` cannot happen.
    Predictions with more axes, such as ``(n, h, w, classes)`` from a convolution, hold one such
    row per pixel: ``n`` is then the number of rows, ``n h w``, as Keras averages.

    ``from_logits=True``: the predictions are logits ``z`` (a last layer without activation), and
    ``log p_i = z_i - log(sum_j exp(z_j))``, the log-softmax, computed stably with no clip.
    ``label_smoothing=s``: the targets become ``y (1 - s) + s / k`` for ``k`` classes (each row
    still sums to 1), so the model is not pushed to make one probability exactly 1.
    """

    name = "categorical_crossentropy"
    fused_activation = "softmax"

    def __init__(self, from_logits=False, label_smoothing=0.0):
        self.from_logits = _checked_from_logits(from_logits)
        self.label_smoothing = _checked_label_smoothing(label_smoothing)

    def get_config(self):
        return {"from_logits": self.from_logits, "label_smoothing": self.label_smoothing}

    def _smoothed(self, y_true):
        if not self.label_smoothing:
            return y_true
        return y_true * (1.0 - self.label_smoothing) + self.label_smoothing / y_true.shape[-1]

    def _normalised(self, y_pred):
        xp = backend.namespace()
        q = y_pred / xp.sum(y_pred, axis=-1, keepdims=True)
        eps = backend.epsilon()
        return q, xp.clip(q, eps, 1.0 - eps)

    def per_sample(self, y_true, y_pred):
        xp = backend.namespace()
        y_true = self._smoothed(y_true)
        if self.from_logits:
            log_p = _softmax_of_logits(y_pred).log_probabilities()
        else:
            _, r = self._normalised(y_pred)
            log_p = xp.log(r)
        return _mean_per_sample(-xp.sum(y_true * log_p, axis=-1))

    def fused_per_sample(self, y_true, activation):
        xp = backend.namespace()
        return _mean_per_sample(-xp.sum(self._smoothed(y_true) * activation.log_probabilities(), axis=-1))

    def fused_value(self, y_true, activation):
        # One sum over all rows and classes: a sum per row first is a reduction along a short
        # axis, the slowest kind on NumPy.
        xp = backend.namespace()
        return xp.sum(self._smoothed(y_true) * activation.log_probabilities()) / -_rows(y_true)

    def gradient(self, y_true, y_pred):
        if self.from_logits:  # y_pred is z: the loss is the fused one, whose dL/dz is below
            return self.gradient_wrt_logits(y_true, _softmax_of_logits(y_pred).output)
        # With q = p / S and r = clip(q): dL/dq_i = -y_i / (n r_i) where q is inside the clip range
        # (0 outside it). Through the division, dq_i/dp_j = (delta_ij - q_i) / S, so
        # dL/dp_j = (dL/dq_j - sum_i dL/dq_i * q_i) / S.
        xp = backend.namespace()
        eps = backend.epsilon()
        y_true = self._smoothed(y_true)
        q, r = self._normalised(y_pred)
        inside = (q > eps) & (q < 1.0 - eps)
        grad_q = xp.where(inside, -y_true / (r * _rows(y_pred)), xp.zeros_like(q))
        total = xp.sum(y_pred, axis=-1, keepdims=True)
        return (grad_q - xp.sum(grad_q * q, axis=-1, keepdims=True)) / total

    def gradient_wrt_logits(self, y_true, y_pred):
        # With p = softmax(z):
        # dL/dz_j = sum_i dL/dp_i * dp_i/dz_j = sum_i (-y_i / (n p_i)) * p_i (delta_ij - p_j)
        #         = (p_j * sum_i y_i - y_j) / n = (p_j - y_j) / n,
        # because each row of y sums to 1 (fit checks it: validation.check_targets), as
        # TensorFlow's softmax_cross_entropy_with_logits, which Keras calls here, requires too.
        # Smoothed rows, y (1 - s) + s / k, still sum to 1.
        grad_z = y_pred - self._smoothed(y_true)
        grad_z /= _rows(y_pred)  # in place: no second new array
        return grad_z


class SparseCategoricalCrossentropy(Loss):
    """Categorical cross-entropy with integer labels: ``L = -(1/n) sum_samples log(p[label])``.

    ``y_true`` holds class indices (shape ``(n,)`` or ``(n, 1)``; ``(n, h, w)`` for one class per
    pixel) instead of one-hot rows. ``from_logits`` as in :class:`CategoricalCrossentropy`;
    Keras gives this loss no ``label_smoothing``.
    """

    name = "sparse_categorical_crossentropy"
    fused_activation = "softmax"

    def __init__(self, from_logits=False):
        self.from_logits = _checked_from_logits(from_logits)
        self._categorical = CategoricalCrossentropy(from_logits=self.from_logits)

    def get_config(self):
        return {"from_logits": self.from_logits}

    def _one_hot(self, y_true, y_pred):
        xp = backend.namespace()
        labels = xp.reshape(y_true, (*y_pred.shape[:-1], 1))
        classes = xp.arange(y_pred.shape[-1], device=backend.device())
        return xp.astype(labels == xp.astype(classes, labels.dtype), y_pred.dtype)

    def per_sample(self, y_true, y_pred):
        return self._categorical.per_sample(self._one_hot(y_true, y_pred), y_pred)

    def gradient(self, y_true, y_pred):
        return self._categorical.gradient(self._one_hot(y_true, y_pred), y_pred)

    def fused_per_sample(self, y_true, activation):
        return self._categorical.fused_per_sample(self._one_hot(y_true, activation.output), activation)

    def fused_value(self, y_true, activation):
        return self._categorical.fused_value(self._one_hot(y_true, activation.output), activation)

    def gradient_wrt_logits(self, y_true, y_pred):
        return (y_pred - self._one_hot(y_true, y_pred)) / _rows(y_pred)


class BinaryCrossentropy(Loss):
    """``L = -(1/(n k)) sum [y log p + (1 - y) log(1 - p)]`` over ``n`` samples of ``k`` outputs.

    ``p`` is clipped to ``[eps, 1 - eps]`` like Keras. ``from_logits=True``: the predictions are
    logits ``z``, and ``log p = -log(1 + exp(-z))``, ``log(1 - p) = -log(1 + exp(z))``, computed
    stably with no clip. ``label_smoothing=s``: the targets become ``y (1 - s) + s / 2``,
    squeezed towards 0.5.
    """

    name = "binary_crossentropy"
    fused_activation = "sigmoid"

    def __init__(self, from_logits=False, label_smoothing=0.0):
        self.from_logits = _checked_from_logits(from_logits)
        self.label_smoothing = _checked_label_smoothing(label_smoothing)

    def get_config(self):
        return {"from_logits": self.from_logits, "label_smoothing": self.label_smoothing}

    def _smoothed(self, y_true):
        if not self.label_smoothing:
            return y_true
        return y_true * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing

    def per_sample(self, y_true, y_pred):
        xp = backend.namespace()
        y_true = self._smoothed(y_true)
        if self.from_logits:
            log_p, log_not_p = _sigmoid_of_logits(y_pred).log_probabilities()
            return _mean_per_sample(-(y_true * log_p + (1.0 - y_true) * log_not_p))
        eps = backend.epsilon()
        p = xp.clip(y_pred, eps, 1.0 - eps)
        return _mean_per_sample(-(y_true * xp.log(p) + (1.0 - y_true) * xp.log(1.0 - p)))

    def gradient(self, y_true, y_pred):
        if self.from_logits:  # y_pred is z: the loss is the fused one, whose dL/dz is below
            return self.gradient_wrt_logits(y_true, _sigmoid_of_logits(y_pred).output)
        # dL/dp = (1/(n k)) * (-y/p + (1 - y)/(1 - p)) = (p - y) / (n k p (1 - p)), 0 where clipped.
        xp = backend.namespace()
        eps = backend.epsilon()
        y_true = self._smoothed(y_true)
        p = xp.clip(y_pred, eps, 1.0 - eps)
        inside = (y_pred > eps) & (y_pred < 1.0 - eps)
        grad = (p - y_true) / (p * (1.0 - p) * _size(y_pred))
        return xp.where(inside, grad, xp.zeros_like(grad))

    def gradient_wrt_logits(self, y_true, y_pred):
        # With p = sigmoid(z), dp/dz = p (1 - p) cancels the denominator above: (p - y) / (n k).
        return (y_pred - self._smoothed(y_true)) / _size(y_pred)

    def fused_per_sample(self, y_true, activation):
        y_true = self._smoothed(y_true)
        log_p, log_not_p = activation.log_probabilities()
        return _mean_per_sample(-(y_true * log_p + (1.0 - y_true) * log_not_p))


class MeanSquaredError(Loss):
    """``L = (1/(n k)) sum (p - y)^2``."""

    name = "mean_squared_error"

    def per_sample(self, y_true, y_pred):
        diff = y_pred - y_true
        return _mean_per_sample(diff * diff)

    def gradient(self, y_true, y_pred):
        # dL/dp = 2 (p - y) / (n k)
        return 2.0 * (y_pred - y_true) / _size(y_pred)


class MeanAbsoluteError(Loss):
    """``L = (1/(n k)) sum |p - y|``."""

    name = "mean_absolute_error"

    def per_sample(self, y_true, y_pred):
        return _mean_per_sample(backend.namespace().abs(y_pred - y_true))

    def gradient(self, y_true, y_pred):
        # dL/dp = sign(p - y) / (n k), taking 0 where p == y.
        return backend.namespace().sign(y_pred - y_true) / _size(y_pred)


def _checked_from_logits(from_logits):
    if from_logits not in (True, False):
        raise TypeError(f"from_logits must be True or False; got {from_logits!r}.")
    return bool(from_logits)


def _checked_label_smoothing(label_smoothing):
    # Keras documents the range [0, 1] without checking it; outside it the targets would leave
    # [0, 1] and the loss would mean nothing, so tinynet refuses.
    if (isinstance(label_smoothing, bool) or not isinstance(label_smoothing, numbers.Real)
            or not 0.0 <= label_smoothing <= 1.0):
        raise ValueError(f"label_smoothing must be a number from 0 to 1; got {label_smoothing!r}.")
    return float(label_smoothing)


def _softmax_of_logits(z):
    """A Softmax that has seen ``z``: its ``output`` and its ``log_probabilities()``."""
    softmax = activations.Softmax()
    softmax.forward(z)
    return softmax


def _sigmoid_of_logits(z):
    """A Sigmoid that has seen ``z``: its ``output`` and its ``log_probabilities()``."""
    sigmoid = activations.Sigmoid()
    sigmoid.forward(z)
    return sigmoid


def match_rank(y_true, y_pred):
    """``y_true`` with a last axis of length 1 added when ``y_pred`` has one output per sample
    and ``y_true`` lacks that axis, as Keras does: labels ``(n,)`` against predictions ``(n, 1)``.
    Otherwise ``y_pred - y_true`` would broadcast to an ``(n, n)`` table and give a wrong mean."""
    if y_true.ndim == y_pred.ndim - 1 and y_pred.shape[-1] == 1:
        return backend.namespace().reshape(y_true, (*y_true.shape, 1))
    return y_true


def weighted_mean(per_sample, sample_weight):
    """``(1/n) sum_i w_i l_i`` of the ``n`` samples' losses ``l_i``, as Keras weighs them."""
    return backend.namespace().sum(sample_weight * per_sample) / per_sample.shape[0]


def _mean_per_sample(values):
    """The mean of each sample's numbers: ``(n, ...)`` to ``(n,)`` (a vector stays as it is)."""
    if values.ndim == 1:
        return values
    xp = backend.namespace()
    return xp.mean(xp.reshape(values, (values.shape[0], -1)), axis=1)


def _rows(array):
    """How many rows of classes ``array`` holds (``n`` for ``(n, classes)``), as a float."""
    return float(math.prod(array.shape[:-1]))


def _size(array):
    """The number of elements, as a float (the ``n k`` the mean divides by)."""
    return float(math.prod(array.shape))


_LOSSES = {
    cls.name: cls
    for cls in (
        CategoricalCrossentropy,
        SparseCategoricalCrossentropy,
        BinaryCrossentropy,
        MeanSquaredError,
        MeanAbsoluteError,
    )
}
_LOSSES["mse"] = MeanSquaredError
_LOSSES["mae"] = MeanAbsoluteError
_LOSSES["bce"] = BinaryCrossentropy

# Keras 3 also takes a loss by its class's name, spelt exactly: loss="MeanSquaredError".
_LOSS_CLASSES = {cls.__name__: cls for cls in _LOSSES.values()}


def get(identifier):
    """A loss object from a name such as ``"categorical_crossentropy"``, ``"mse"`` or
    ``"CategoricalCrossentropy"``, a class, or an object."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str) and identifier in _LOSS_CLASSES:
        return _LOSS_CLASSES[identifier]()
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        return from_function("loss", identifier, _CLASS_OF_FUNCTION,
                             "Subclass tinynet.losses.Loss with per_sample(y_true, y_pred) and "
                             "gradient(y_true, y_pred), as MeanSquaredError does, and pass an instance.")
    return lookup("loss", identifier, _LOSSES)()


def from_config(name, config):
    """The loss ``name`` made with the arguments ``config`` (what ``get_config`` gave)."""
    return lookup("loss", name, _LOSSES)(**config)


# The function forms, named as Keras names its own. As Keras's, each gives one loss per sample
# (for outputs with more axes than (n, k), the mean of each sample's); the loss objects above
# give their mean over the batch, the number fit reports.


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    """Each sample's categorical cross-entropy (see :class:`CategoricalCrossentropy`)."""
    loss = CategoricalCrossentropy(from_logits=from_logits, label_smoothing=label_smoothing)
    return loss.per_sample(match_rank(y_true, y_pred), y_pred)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    """Each sample's sparse categorical cross-entropy (see :class:`SparseCategoricalCrossentropy`)."""
    return SparseCategoricalCrossentropy(from_logits=from_logits).per_sample(y_true, y_pred)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    """Each sample's binary cross-entropy, the mean over its outputs (see :class:`BinaryCrossentropy`)."""
    loss = BinaryCrossentropy(from_logits=from_logits, label_smoothing=label_smoothing)
    return loss.per_sample(match_rank(y_true, y_pred), y_pred)


def mean_squared_error(y_true, y_pred):
    """Each sample's mean squared error (see :class:`MeanSquaredError`)."""
    return MeanSquaredError().per_sample(match_rank(y_true, y_pred), y_pred)


def mean_absolute_error(y_true, y_pred):
    """Each sample's mean absolute error (see :class:`MeanAbsoluteError`)."""
    return MeanAbsoluteError().per_sample(match_rank(y_true, y_pred), y_pred)


mse = mean_squared_error
mae = mean_absolute_error

_CLASS_OF_FUNCTION = {
    categorical_crossentropy: CategoricalCrossentropy,
    sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
    binary_crossentropy: BinaryCrossentropy,
    mean_squared_error: MeanSquaredError,
    mean_absolute_error: MeanAbsoluteError,
}
