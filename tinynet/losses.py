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
from tinynet.utils.object_registration import get_registered_name


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
        if self.from_logits:  # y_pred is z: read the loss off the softmax's log-probabilities
            return self.fused_per_sample(y_true, _softmax_of_logits(y_pred))
        xp = backend.namespace()
        _, r = self._normalised(y_pred)
        return _mean_per_sample(-xp.sum(self._smoothed(y_true) * xp.log(r), axis=-1))

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
        if self.from_logits:  # y_pred is z: read the loss off the sigmoid's log-probabilities
            return self.fused_per_sample(y_true, _sigmoid_of_logits(y_pred))
        xp = backend.namespace()
        y_true = self._smoothed(y_true)
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


class BinaryFocalCrossentropy(Loss):
    """Binary cross-entropy with each element weighed by how wrong it is (Lin et al., 2017):
    ``L = (1/(n k)) sum w (1 - p_t)^gamma * ce`` over ``n`` samples of ``k`` outputs, with
    ``ce = -(y log p + (1 - y) log(1 - p))`` as in :class:`BinaryCrossentropy` and
    ``1 - p_t = y (1 - p) + (1 - y) p``, the probability given to the wrong answer. The focal
    factor ``(1 - p_t)^gamma`` fades out the examples the model already gets right, so that the
    many easy ones do not drown the few hard ones; ``gamma=0`` gives the binary cross-entropy.

    ``apply_class_balancing=True`` also weighs the classes: ``w = alpha`` for targets of 1 and
    ``1 - alpha`` for targets of 0 (otherwise ``w = 1``). ``label_smoothing`` as in
    :class:`BinaryCrossentropy`, applied to ``y`` everywhere, the focal factor included.

    As in Keras, ``ce`` takes ``p`` clipped to ``[eps, 1 - eps]`` and the focal factor takes it as
    it is. ``from_logits=True``: ``p = sigmoid(z)``, and ``ce`` is read off the log-sigmoids of
    ``z`` with no clip, as Keras on TensorFlow computes it (on JAX, Keras clips there too; the two
    differ only where ``p`` is within 1e-7 of 0 or 1). After a sigmoid layer the loss is computed
    from its probabilities, as above: it does not fuse with the sigmoid as
    :class:`BinaryCrossentropy` does.
    """

    name = "binary_focal_crossentropy"

    def __init__(self, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0):
        if apply_class_balancing not in (True, False):
            raise TypeError(f"apply_class_balancing must be True or False; got {apply_class_balancing!r}.")
        # Keras documents alpha in [0, 1] without checking it; outside it one class's weight
        # would be negative.
        if not _is_number(alpha) or not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be a number from 0 to 1; got {alpha!r}.")
        self.apply_class_balancing = bool(apply_class_balancing)
        self.alpha = float(alpha)
        self.gamma = _checked_gamma(gamma)
        self.from_logits = _checked_from_logits(from_logits)
        self.label_smoothing = _checked_label_smoothing(label_smoothing)
        self._crossentropy = BinaryCrossentropy(label_smoothing=self.label_smoothing)  # for its smoothing

    def get_config(self):
        return {"apply_class_balancing": self.apply_class_balancing, "alpha": self.alpha, "gamma": self.gamma,
                "from_logits": self.from_logits, "label_smoothing": self.label_smoothing}

    def _terms(self, y_true, y_pred):
        """The smoothed targets ``y``, the probabilities ``p``, each element's ``ce`` and its
        ``1 - p_t``, and the class weights ``w``."""
        xp = backend.namespace()
        y = self._crossentropy._smoothed(y_true)
        if self.from_logits:  # y_pred is z
            sigmoid = _sigmoid_of_logits(y_pred)
            p = sigmoid.output
            log_p, log_not_p = sigmoid.log_probabilities()
        else:
            p = y_pred
            eps = backend.epsilon()
            clipped = xp.clip(p, eps, 1.0 - eps)
            log_p, log_not_p = xp.log(clipped), xp.log(1.0 - clipped)
        crossentropy = -(y * log_p + (1.0 - y) * log_not_p)
        # Keras computes 1 - p_t; this is the same number up to rounding, written as a sum of
        # products of numbers in [0, 1], which no rounding makes negative (a fractional power of a
        # negative number would be NaN).
        miss = y * (1.0 - p) + (1.0 - y) * p
        weight = self.alpha * y + (1.0 - self.alpha) * (1.0 - y) if self.apply_class_balancing else 1.0
        return y, p, crossentropy, miss, weight

    def per_sample(self, y_true, y_pred):
        _, _, crossentropy, miss, weight = self._terms(y_true, y_pred)
        return _mean_per_sample(weight * miss**self.gamma * crossentropy)

    def gradient(self, y_true, y_pred):
        # Each element's loss is w m^gamma ce with m = 1 - p_t; by the product rule its derivative
        # with respect to the prediction x (p itself, or the logit z) is
        #     w (gamma m^(gamma - 1) dm/dx ce + m^gamma dce/dx),
        # divided by the n k elements the mean runs over. With p as the prediction,
        # dm/dp = 1 - 2 y and dce/dp = (c - y) / (c (1 - c)) for c = clip(p) inside the clip
        # range (0 where clipped). With z, p = sigmoid(z) and dp/dz = p (1 - p):
        # dm/dz = (1 - 2 y) p (1 - p), and dce/dz = p - y (the denominator cancels).
        xp = backend.namespace()
        y, p, crossentropy, miss, weight = self._terms(y_true, y_pred)
        if self.from_logits:
            dmiss, dcrossentropy = (1.0 - 2.0 * y) * p * (1.0 - p), p - y
        else:
            eps = backend.epsilon()
            clipped = xp.clip(p, eps, 1.0 - eps)
            inside = (p > eps) & (p < 1.0 - eps)
            slope = (clipped - y) / (clipped * (1.0 - clipped))
            dmiss, dcrossentropy = 1.0 - 2.0 * y, xp.where(inside, slope, xp.zeros_like(slope))
        # gamma = 0 makes the factor 1 and its slope 0 (the formula would give 0 * inf where m = 0).
        focal_slope = self.gamma * miss ** (self.gamma - 1.0) if self.gamma else 0.0
        grad = weight * (focal_slope * dmiss * crossentropy + miss**self.gamma * dcrossentropy)
        return grad / _size(y_pred)


class CategoricalFocalCrossentropy(Loss):
    """Categorical cross-entropy with each class's term weighed by how wrong it is (Lin et al.,
    2017): ``L = -(1/n) sum_samples sum_i alpha_i (1 - c_i)^gamma y_i log(c_i)`` for one-hot ``y``,
    where ``c`` is each row of ``p`` divided by its sum and clipped to ``[eps, 1 - eps]``, as in
    :class:`CategoricalCrossentropy`. The focal factor ``(1 - c_i)^gamma`` fades out the samples
    whose true class already has a high probability; ``gamma=0`` and ``alpha=1`` give the
    categorical cross-entropy.

    ``alpha`` is one weight for every class or, as in Keras, a list of one weight per class (the
    inverse class frequencies, say). ``label_smoothing`` as in :class:`CategoricalCrossentropy`.
    ``from_logits=True``: ``p = softmax(z)``, then the same clipped formula, as Keras computes it on
    every backend (unlike its cross-entropies from logits, which are exact): where the true class's
    probability is below 1e-7, a row's loss stops growing at ``-alpha log(1e-7) = 16.1 alpha`` and
    its gradient is 0. Like :class:`BinaryFocalCrossentropy`, it does not fuse with a softmax layer.
    """

    name = "categorical_focal_crossentropy"

    def __init__(self, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0):
        self.alpha = _checked_class_weights(alpha)
        self.gamma = _checked_gamma(gamma)
        self.from_logits = _checked_from_logits(from_logits)
        self.label_smoothing = _checked_label_smoothing(label_smoothing)
        self._crossentropy = CategoricalCrossentropy(label_smoothing=self.label_smoothing)  # smoothing, rows
        self._alpha_on_device = (None, None)  # (backend, device, float type), the vector there

    def get_config(self):
        return {"alpha": self.alpha, "gamma": self.gamma, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing}

    def _class_weights(self, y_pred):
        """``alpha`` as a number, or as a vector on the device, one weight per class: moved there
        once per backend and float type, not once per batch."""
        if not isinstance(self.alpha, list):
            return self.alpha
        if len(self.alpha) != y_pred.shape[-1]:
            raise ValueError(
                f"alpha holds {len(self.alpha)} class weights, but the predictions have {y_pred.shape[-1]} "
                f"classes (shape {tuple(y_pred.shape)}): give one weight per class, or a single number."
            )
        where = (backend.get_backend(), str(backend.device()), backend.dtype_name(y_pred))
        if self._alpha_on_device[0] != where:
            self._alpha_on_device = (where, backend.asarray(self.alpha, dtype=where[2]))
        return self._alpha_on_device[1]

    def per_sample(self, y_true, y_pred):
        xp = backend.namespace()
        p = _softmax_of_logits(y_pred).output if self.from_logits else y_pred
        alpha = self._class_weights(p)
        _, clipped = self._crossentropy._normalised(p)
        terms = alpha * (1.0 - clipped) ** self.gamma * self._crossentropy._smoothed(y_true) * xp.log(clipped)
        return _mean_per_sample(-xp.sum(terms, axis=-1))

    def gradient(self, y_true, y_pred):
        if self.from_logits:  # y_pred is z: the chain rule through the softmax (see Softmax.backward)
            softmax = _softmax_of_logits(y_pred)
            return softmax.backward(self._gradient_wrt_probabilities(y_true, softmax.output))
        return self._gradient_wrt_probabilities(y_true, y_pred)

    def _gradient_wrt_probabilities(self, y_true, y_pred):
        # With q = p / S (S the row's sum) and c = clip(q), a row's loss is
        # l = -sum_i alpha_i (1 - c_i)^gamma y_i log(c_i), so
        # dl/dc_i = -alpha_i y_i ((1 - c_i)^gamma / c_i - gamma (1 - c_i)^(gamma - 1) log(c_i))
        #         = -alpha_i y_i (1 - c_i)^(gamma - 1) ((1 - c_i) / c_i - gamma log(c_i)),
        # finite for every gamma >= 0 as 1 - c_i >= eps. It is dl/dq_i where q is inside the clip
        # range (0 outside it), divided by the n rows; through the division by S, as in
        # CategoricalCrossentropy.gradient, dL/dp_j = (dL/dq_j - sum_i dL/dq_i q_i) / S.
        xp = backend.namespace()
        eps = backend.epsilon()
        y = self._crossentropy._smoothed(y_true)
        q, c = self._crossentropy._normalised(y_pred)
        alpha = self._class_weights(y_pred)
        grad_c = -alpha * y * (1.0 - c) ** (self.gamma - 1.0) * ((1.0 - c) / c - self.gamma * xp.log(c))
        inside = (q > eps) & (q < 1.0 - eps)
        grad_q = xp.where(inside, grad_c / _rows(y_pred), xp.zeros_like(q))
        total = xp.sum(y_pred, axis=-1, keepdims=True)
        return (grad_q - xp.sum(grad_q * q, axis=-1, keepdims=True)) / total


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


class MeanAbsolutePercentageError(Loss):
    """``L = (100/(n k)) sum |y - p| / max(|y|, eps)``: the error as a percentage of the target
    (``eps = 1e-7`` keeps a target of 0 from dividing by 0, as in Keras)."""

    name = "mean_absolute_percentage_error"

    def per_sample(self, y_true, y_pred):
        xp = backend.namespace()
        scale = xp.maximum(xp.abs(y_true), backend.epsilon())
        return 100.0 * _mean_per_sample(xp.abs(y_true - y_pred) / scale)

    def gradient(self, y_true, y_pred):
        # dL/dp = 100 sign(p - y) / (n k max(|y|, eps)): the scale depends on y alone.
        xp = backend.namespace()
        scale = xp.maximum(xp.abs(y_true), backend.epsilon())
        return 100.0 * xp.sign(y_pred - y_true) / (scale * _size(y_pred))


class MeanSquaredLogarithmicError(Loss):
    """``L = (1/(n k)) sum (log(max(p, eps) + 1) - log(max(y, eps) + 1))^2``: the squared error
    of the logarithms, for targets that span orders of magnitude (negative values count as eps)."""

    name = "mean_squared_logarithmic_error"

    def _log_difference(self, y_true, y_pred):
        xp = backend.namespace()
        eps = backend.epsilon()
        shifted = xp.maximum(y_pred, eps) + 1.0
        return xp.log(shifted) - xp.log(xp.maximum(y_true, eps) + 1.0), shifted

    def per_sample(self, y_true, y_pred):
        difference, _ = self._log_difference(y_true, y_pred)
        return _mean_per_sample(difference * difference)

    def gradient(self, y_true, y_pred):
        # With d = log(max(p, eps) + 1) - log(max(y, eps) + 1): dL/dp = 2 d / ((n k) (p + 1)) where
        # p > eps, and 0 where max holds p at eps.
        xp = backend.namespace()
        difference, shifted = self._log_difference(y_true, y_pred)
        grad = 2.0 * difference / (shifted * _size(y_pred))
        return xp.where(y_pred > backend.epsilon(), grad, xp.zeros_like(grad))


class Huber(Loss):
    """``L = (1/(n k)) sum h(p - y)`` with ``h(e) = e^2 / 2`` where ``|e| <= delta``, else
    ``delta |e| - delta^2 / 2``: squared near the target, linear far from it, so that outliers
    pull less than with the mean squared error."""

    name = "huber"

    def __init__(self, delta=1.0):
        # Keras does not check delta; at delta <= 0 the loss would be 0 or negative everywhere.
        if isinstance(delta, bool) or not isinstance(delta, numbers.Real) or not delta > 0:
            raise ValueError(f"delta must be a number > 0; got {delta!r}.")
        self.delta = float(delta)

    def get_config(self):
        return {"delta": self.delta}

    def per_sample(self, y_true, y_pred):
        xp = backend.namespace()
        error = y_pred - y_true
        size = xp.abs(error)
        quadratic = 0.5 * error * error
        linear = self.delta * size - 0.5 * self.delta * self.delta
        return _mean_per_sample(xp.where(size <= self.delta, quadratic, linear))

    def gradient(self, y_true, y_pred):
        # h'(e) = e where |e| <= delta, delta sign(e) beyond: e clipped to [-delta, delta]
        # (both pieces agree at |e| = delta, so the slope is continuous).
        clipped = backend.namespace().clip(y_pred - y_true, -self.delta, self.delta)
        return clipped / _size(y_pred)


class LogCosh(Loss):
    """``L = (1/(n k)) sum log(cosh(p - y))``: about ``e^2 / 2`` for small errors ``e`` and
    ``|e| - log 2`` for large ones. Computed as Keras does, ``e + softplus(-2 e) - log 2``, which
    no ``cosh`` overflows."""

    name = "log_cosh"

    def per_sample(self, y_true, y_pred):
        error = y_pred - y_true
        return _mean_per_sample(error + activations.softplus(-2.0 * error) - math.log(2.0))

    def gradient(self, y_true, y_pred):
        # d log(cosh(e))/de = sinh(e) / cosh(e) = tanh(e).
        return backend.namespace().tanh(y_pred - y_true) / _size(y_pred)


class Poisson(Loss):
    """``L = (1/(n k)) sum (p - y log(p + eps))``: the negative log-likelihood of counts ``y``
    under Poisson rates ``p`` (without the ``log(y!)`` that does not depend on ``p``)."""

    name = "poisson"

    def per_sample(self, y_true, y_pred):
        xp = backend.namespace()
        return _mean_per_sample(y_pred - y_true * xp.log(y_pred + backend.epsilon()))

    def gradient(self, y_true, y_pred):
        # dL/dp = (1 - y / (p + eps)) / (n k)
        return (1.0 - y_true / (y_pred + backend.epsilon())) / _size(y_pred)


class KLDivergence(Loss):
    """``L = (1/n) sum_samples sum_i y_i log(y_i / p_i)``: the Kullback-Leibler divergence of the
    predicted distribution ``p`` from the target one ``y``, both clipped to ``[eps, 1]`` as Keras
    clips them (a sum over the classes, not a mean)."""

    name = "kl_divergence"

    def per_sample(self, y_true, y_pred):
        xp = backend.namespace()
        eps = backend.epsilon()
        target, predicted = xp.clip(y_true, eps, 1.0), xp.clip(y_pred, eps, 1.0)
        return _mean_per_sample(xp.sum(target * xp.log(target / predicted), axis=-1))

    def gradient(self, y_true, y_pred):
        # dL/dp_i = -y_i / (n p_i) with both clipped, where p is inside the clip (0 outside it).
        xp = backend.namespace()
        eps = backend.epsilon()
        target, predicted = xp.clip(y_true, eps, 1.0), xp.clip(y_pred, eps, 1.0)
        grad = -target / (predicted * _rows(y_pred))
        return xp.where((y_pred > eps) & (y_pred < 1.0), grad, xp.zeros_like(grad))


def _hinge_targets(y_true):
    """Targets of -1 and 1, as the hinges expect: Keras turns 0/1 targets into -1/1 (``2 y - 1``)
    when every target in the batch is 0 or 1, and leaves any others as they are."""
    xp = backend.namespace()
    binary = xp.all((y_true == 0.0) | (y_true == 1.0))
    return xp.where(binary, 2.0 * y_true - 1.0, y_true)


class Hinge(Loss):
    """``L = (1/(n k)) sum max(1 - y p, 0)`` for targets ``y`` of -1 and 1 (0/1 targets are
    turned into -1/1): zero once each prediction is on the target's side by a margin of 1."""

    name = "hinge"

    def per_sample(self, y_true, y_pred):
        margin = 1.0 - _hinge_targets(y_true) * y_pred
        return _mean_per_sample(backend.namespace().maximum(margin, 0.0))

    def gradient(self, y_true, y_pred):
        # dL/dp = -y / (n k) where the margin 1 - y p is > 0, else 0.
        xp = backend.namespace()
        y = _hinge_targets(y_true)
        return xp.where(1.0 - y * y_pred > 0.0, -y, xp.zeros_like(y)) / _size(y_pred)


class SquaredHinge(Loss):
    """``L = (1/(n k)) sum max(1 - y p, 0)^2`` for targets of -1 and 1 (0/1 targets are turned
    into -1/1): the hinge squared, smooth where it reaches 0."""

    name = "squared_hinge"

    def per_sample(self, y_true, y_pred):
        margin = backend.namespace().maximum(1.0 - _hinge_targets(y_true) * y_pred, 0.0)
        return _mean_per_sample(margin * margin)

    def gradient(self, y_true, y_pred):
        # dL/dp = -2 y max(1 - y p, 0) / (n k).
        y = _hinge_targets(y_true)
        margin = backend.namespace().maximum(1.0 - y * y_pred, 0.0)
        return -2.0 * y * margin / _size(y_pred)


class CategoricalHinge(Loss):
    """``L = (1/n) sum_samples max(neg - pos + 1, 0)`` for one-hot ``y``, with ``pos = sum y p``
    (the true class's score) and ``neg = max((1 - y) p)`` (the best other class's): zero once
    the true class leads every other by 1."""

    name = "categorical_hinge"

    def _parts(self, y_true, y_pred):
        xp = backend.namespace()
        positive = xp.sum(y_true * y_pred, axis=-1)
        others = (1.0 - y_true) * y_pred
        return xp.max(others, axis=-1) - positive + 1.0, others

    def per_sample(self, y_true, y_pred):
        margin, _ = self._parts(y_true, y_pred)
        return _mean_per_sample(backend.namespace().maximum(margin, 0.0))

    def gradient(self, y_true, y_pred):
        # Where the margin is > 0: d neg/dp_j = (1 - y_j) at the j where (1 - y) p is largest
        # (the first one, if several tie) and 0 elsewhere; d pos/dp_j = y_j. Divided by n rows.
        xp = backend.namespace()
        margin, others = self._parts(y_true, y_pred)
        classes = xp.arange(y_pred.shape[-1], device=backend.device())
        at_max = xp.astype(classes == xp.argmax(others, axis=-1, keepdims=True), y_pred.dtype)
        grad = (1.0 - y_true) * at_max - y_true
        active = xp.astype(margin > 0.0, y_pred.dtype)
        return grad * xp.reshape(active, (*active.shape, 1)) / _rows(y_pred)


class CosineSimilarity(Loss):
    """``L = -(1/n) sum_samples sum_i u_i v_i`` with ``u = p / max(|p|, eps)`` and
    ``v = y / max(|y|, eps)``, ``|.|`` the Euclidean length of each row: minus the cosine of the
    angle between prediction and target, -1 when they point the same way. ``axis=-1`` only."""

    name = "cosine_similarity"

    def __init__(self, axis=-1):
        if axis != -1 or isinstance(axis, bool):
            raise ValueError(f"tinynet's CosineSimilarity compares along the last axis only (axis=-1); got axis={axis!r}.")
        self.axis = -1

    def get_config(self):
        return {"axis": self.axis}

    def _unit(self, x):
        xp = backend.namespace()
        length = xp.sqrt(xp.sum(x * x, axis=-1, keepdims=True))
        return x / xp.maximum(length, backend.epsilon()), length

    def per_sample(self, y_true, y_pred):
        xp = backend.namespace()
        v, _ = self._unit(y_true)
        u, _ = self._unit(y_pred)
        return _mean_per_sample(-xp.sum(v * u, axis=-1))

    def gradient(self, y_true, y_pred):
        # Where |p| > eps, u = p / |p| and du_i/dp_j = (delta_ij - u_i u_j) / |p|, so
        # d(sum v u)/dp = (v - (v . u) u) / |p|; where |p| <= eps, u = p / eps and it is v / eps.
        xp = backend.namespace()
        eps = backend.epsilon()
        v, _ = self._unit(y_true)
        u, length = self._unit(y_pred)
        along = (v - xp.sum(v * u, axis=-1, keepdims=True) * u) / xp.maximum(length, eps)
        grad = xp.where(length > eps, along, v / eps)
        return -grad / _rows(y_pred)


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


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _checked_gamma(gamma):
    # Keras does not check gamma; below 0 the focal factor would grow without bound as the
    # predictions get right, the opposite of its purpose, so tinynet refuses.
    if not _is_number(gamma) or not 0.0 <= gamma < math.inf:
        raise ValueError(f"gamma must be a number >= 0; got {gamma!r}.")
    return float(gamma)


def _checked_class_weights(alpha):
    """``alpha`` as a float, or as a list of floats, one per class (from a list, a tuple or a
    NumPy array, such as scikit-learn's ``compute_class_weight`` gives), all finite and >= 0."""
    if hasattr(alpha, "tolist"):  # a NumPy array or number
        alpha = alpha.tolist()
    if isinstance(alpha, (list, tuple)):
        if alpha and all(_is_number(a) and 0.0 <= a < math.inf for a in alpha):
            return [float(a) for a in alpha]
    elif _is_number(alpha) and 0.0 <= alpha < math.inf:
        return float(alpha)
    raise ValueError(f"alpha must be a number >= 0, or a list of them with one weight per class; got {alpha!r}.")


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
        BinaryFocalCrossentropy,
        CategoricalFocalCrossentropy,
        MeanSquaredError,
        MeanAbsoluteError,
        MeanAbsolutePercentageError,
        MeanSquaredLogarithmicError,
        Huber,
        LogCosh,
        Poisson,
        KLDivergence,
        Hinge,
        SquaredHinge,
        CategoricalHinge,
        CosineSimilarity,
    )
}
# Keras's other names for them (and, as the lookup ignores case, "MSE", "KLD"...)
_LOSSES["mse"] = MeanSquaredError
_LOSSES["mae"] = MeanAbsoluteError
_LOSSES["mape"] = MeanAbsolutePercentageError
_LOSSES["msle"] = MeanSquaredLogarithmicError
_LOSSES["kld"] = KLDivergence
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
    return lookup("loss", identifier, _LOSSES, with_custom_objects=True)()


def from_config(name, config):
    """The loss ``name`` made with the arguments ``config`` (what ``get_config`` gave)."""
    return lookup("loss", name, _LOSSES, with_custom_objects=True)(**config)


def serialize(loss):
    """``loss`` as ``{"name": ..., "config": get_config()}``, what :func:`from_config` takes: its
    name is tinynet's own (``"mean_squared_error"``), or for a class of one's own its registered
    name (see ``tinynet.saving.register_keras_serializable``)."""
    name = loss.name if _LOSSES.get(loss.name) is type(loss) else get_registered_name(type(loss))
    return {"name": name, "config": loss.get_config()}


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


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
                              label_smoothing=0.0):
    """Each sample's binary focal cross-entropy, the mean over its outputs (see :class:`BinaryFocalCrossentropy`)."""
    loss = BinaryFocalCrossentropy(apply_class_balancing=apply_class_balancing, alpha=alpha, gamma=gamma,
                                   from_logits=from_logits, label_smoothing=label_smoothing)
    return loss.per_sample(match_rank(y_true, y_pred), y_pred)


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0):
    """Each sample's categorical focal cross-entropy (see :class:`CategoricalFocalCrossentropy`)."""
    loss = CategoricalFocalCrossentropy(alpha=alpha, gamma=gamma, from_logits=from_logits,
                                        label_smoothing=label_smoothing)
    return loss.per_sample(match_rank(y_true, y_pred), y_pred)


def mean_squared_error(y_true, y_pred):
    """Each sample's mean squared error (see :class:`MeanSquaredError`)."""
    return MeanSquaredError().per_sample(match_rank(y_true, y_pred), y_pred)


def mean_absolute_error(y_true, y_pred):
    """Each sample's mean absolute error (see :class:`MeanAbsoluteError`)."""
    return MeanAbsoluteError().per_sample(match_rank(y_true, y_pred), y_pred)


def mean_absolute_percentage_error(y_true, y_pred):
    """Each sample's mean absolute percentage error (see :class:`MeanAbsolutePercentageError`)."""
    return MeanAbsolutePercentageError().per_sample(match_rank(y_true, y_pred), y_pred)


def mean_squared_logarithmic_error(y_true, y_pred):
    """Each sample's mean squared logarithmic error (see :class:`MeanSquaredLogarithmicError`)."""
    return MeanSquaredLogarithmicError().per_sample(match_rank(y_true, y_pred), y_pred)


def huber(y_true, y_pred, delta=1.0):
    """Each sample's Huber loss (see :class:`Huber`)."""
    return Huber(delta=delta).per_sample(match_rank(y_true, y_pred), y_pred)


def log_cosh(y_true, y_pred):
    """Each sample's log-cosh loss (see :class:`LogCosh`)."""
    return LogCosh().per_sample(match_rank(y_true, y_pred), y_pred)


def poisson(y_true, y_pred):
    """Each sample's Poisson loss (see :class:`Poisson`)."""
    return Poisson().per_sample(match_rank(y_true, y_pred), y_pred)


def kl_divergence(y_true, y_pred):
    """Each sample's Kullback-Leibler divergence (see :class:`KLDivergence`)."""
    return KLDivergence().per_sample(y_true, y_pred)


def hinge(y_true, y_pred):
    """Each sample's hinge loss (see :class:`Hinge`)."""
    return Hinge().per_sample(match_rank(y_true, y_pred), y_pred)


def squared_hinge(y_true, y_pred):
    """Each sample's squared hinge loss (see :class:`SquaredHinge`)."""
    return SquaredHinge().per_sample(match_rank(y_true, y_pred), y_pred)


def categorical_hinge(y_true, y_pred):
    """Each sample's categorical hinge loss (see :class:`CategoricalHinge`)."""
    return CategoricalHinge().per_sample(y_true, y_pred)


def cosine_similarity(y_true, y_pred, axis=-1):
    """Each sample's cosine similarity loss, from -1 to 1 (see :class:`CosineSimilarity`)."""
    return CosineSimilarity(axis=axis).per_sample(match_rank(y_true, y_pred), y_pred)


mse = mean_squared_error
mae = mean_absolute_error

_CLASS_OF_FUNCTION = {
    categorical_crossentropy: CategoricalCrossentropy,
    sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
    binary_crossentropy: BinaryCrossentropy,
    binary_focal_crossentropy: BinaryFocalCrossentropy,
    categorical_focal_crossentropy: CategoricalFocalCrossentropy,
    mean_squared_error: MeanSquaredError,
    mean_absolute_error: MeanAbsoluteError,
    mean_absolute_percentage_error: MeanAbsolutePercentageError,
    mean_squared_logarithmic_error: MeanSquaredLogarithmicError,
    huber: Huber,
    log_cosh: LogCosh,
    poisson: Poisson,
    kl_divergence: KLDivergence,
    hinge: Hinge,
    squared_hinge: SquaredHinge,
    categorical_hinge: CategoricalHinge,
    cosine_similarity: CosineSimilarity,
}
# The function forms, for what takes a loss function by name (a saved MeanMetricWrapper's fn).
FUNCTION_FORMS = tuple(_CLASS_OF_FUNCTION)
