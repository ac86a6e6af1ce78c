"""Optimizers: how the weights move once the gradients are known.

``optimizer.apply(params, grads)`` updates every parameter array in place. The rules are Keras's
(Keras 3), with ``w`` a weight, ``g = dL/dw`` its gradient, ``lr`` the learning rate (a number,
or a schedule from ``tinynet.optimizers.schedules`` that gives it for each step) and ``t`` the
number of the step (1 for the first):

SGD
    ``w <- w - lr * g``; with momentum, a velocity ``v <- momentum * v - lr * g`` and ``w <- w + v``
    (Nesterov: ``w <- w + momentum * v - lr * g``).
RMSprop
    ``s <- rho * s + (1 - rho) * g^2``;  ``w <- w - lr * g / sqrt(s + epsilon)``.
Adagrad
    ``s <- s + g^2`` (from ``s = 0.1``);  ``w <- w - lr * g / sqrt(s + epsilon)``: each weight's
    steps shrink as its squared gradients add up.
Adam
    ``m <- m + (1 - beta_1) * (g - m)``;  ``v <- v + (1 - beta_2) * (g^2 - v)``;
    ``w <- w - lr_t * m / (sqrt(v) + epsilon)`` with ``lr_t = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)``,
    the bias correction for ``m`` and ``v`` starting at zero.
AdamW
    Adam after ``w <- w - lr * weight_decay * w``: the weights decay towards 0 by themselves,
    apart from the gradient (decoupled weight decay, as Keras applies it, biases included).
Nadam
    Adam with Nesterov momentum: ``m`` and ``v`` as Adam's; with the momentum schedule
    ``u_t = beta_1 * (1 - 0.5 * 0.96^t)`` and its running product ``P_t = u_1 * ... * u_t``,
    ``m_hat = u_{t+1} * m / (1 - P_{t+1}) + (1 - u_t) * g / (1 - P_t)`` (the next step's momentum
    looked at now, plus the current gradient), ``v_hat = v / (1 - beta_2^t)`` and
    ``w <- w - lr * m_hat / (sqrt(v_hat) + epsilon)``.
Adamax
    Adam with the infinity norm in place of the root mean square: ``m`` as Adam's,
    ``u <- max(beta_2 * u, |g|)``, ``w <- w - lr * m / ((1 - beta_1^t) * (u + epsilon))``.

Every optimizer can clip the gradients first (one of the three, as in Keras):

``clipnorm=c``
    each weight's gradient is scaled down to norm ``c`` at most: ``g <- g * c / max(||g||, c)``.
``global_clipnorm=c``
    all gradients together: with ``N = sqrt(sum over weights of ||g||^2)``, each
    ``g <- g * c / max(N, c)``, so their directions relative to each other are kept.
``clipvalue=c``
    each element is clipped to ``[-c, c]``.
"""

import math
import numbers

from tinynet import backend
from tinynet.optimizers import schedules
from tinynet.optimizers.schedules import LearningRateSchedule
from tinynet.utils.lookup import lookup


class Optimizer:
    """Base class. Subclasses define ``build_slots`` (per-weight state) and ``update``."""

    name = None

    def __init__(self, learning_rate, clipnorm=None, clipvalue=None, global_clipnorm=None):
        clipping = {"clipnorm": clipnorm, "clipvalue": clipvalue, "global_clipnorm": global_clipnorm}
        if sum(value is not None for value in clipping.values()) > 1:
            raise ValueError("Only one of clipnorm, clipvalue and global_clipnorm can be set; got "
                             + ", ".join(f"{name}={value!r}" for name, value in clipping.items()) + ".")
        # Keras skips clipping for a value <= 0 without a word; tinynet refuses such a value.
        for name, value in clipping.items():
            if value is not None:
                _check_positive(name, value)
        self._learning_rate = None
        self.learning_rate = learning_rate
        self.clipnorm = None if clipnorm is None else float(clipnorm)
        self.clipvalue = None if clipvalue is None else float(clipvalue)
        self.global_clipnorm = None if global_clipnorm is None else float(global_clipnorm)
        self.iterations = 0
        self.slots = None
        self.built_for = None  # the weight arrays the slots belong to

    @property
    def learning_rate(self):
        """The rate of the next step: the number given, or the schedule's rate at the step count."""
        if self.schedule is not None:
            return self.schedule(self.iterations)
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        """A number, or a schedule. As in Keras, an optimizer made with a schedule takes no number:
        the schedule alone decides (so LearningRateScheduler and ReduceLROnPlateau cannot)."""
        if isinstance(value, LearningRateSchedule):
            self._learning_rate = value
            return
        if self.schedule is not None:
            raise TypeError(
                f"This optimizer's learning rate comes from its schedule, {self.schedule!r}, and "
                f"cannot be set to {value!r}. To set the rate yourself (or from a callback), make the "
                "optimizer with a number as learning_rate."
            )
        if not _is_number(value) or not value > 0:
            raise ValueError(f"learning_rate must be a positive number or a schedule from "
                             f"tinynet.optimizers.schedules; got {value!r}.")
        self._learning_rate = float(value)

    @property
    def schedule(self):
        """The ``LearningRateSchedule`` given as ``learning_rate``, or None for a number."""
        return self._learning_rate if isinstance(self._learning_rate, LearningRateSchedule) else None

    @property
    def lr(self):
        """Keras 2's name for ``learning_rate``."""
        return self.learning_rate

    @lr.setter
    def lr(self, value):
        self.learning_rate = value

    def apply(self, params, grads):
        """One step: update each array in ``params`` in place from the matching array in ``grads``.

        A gradient of None leaves its weight (and its slots) as they are: a frozen layer's.
        """
        if self.slots is None:
            xp = backend.namespace()
            self.slots = [self.build_slots(p, xp) for p in params]
            self.built_for = list(params)
        else:
            self.check_same_weights(params)
        if self.clipnorm or self.clipvalue or self.global_clipnorm:  # None when not asked for
            grads = self.clip_gradients(grads)
        learning_rate = self.learning_rate  # a schedule's at the steps done so far: 0 for the first
        self.iterations += 1
        for param, grad, slots in zip(params, grads, self.slots):
            if grad is not None:
                self.update(param, grad, slots, learning_rate)

    def clip_gradients(self, grads):
        """New gradient arrays, clipped by ``clipnorm``, ``global_clipnorm`` or ``clipvalue``."""
        xp = backend.namespace()
        if self.clipnorm:
            return [None if g is None else g * (self.clipnorm / xp.maximum(_norm(g, xp), self.clipnorm))
                    for g in grads]
        if self.global_clipnorm:
            global_norm = xp.sqrt(sum(xp.sum(g * g) for g in grads if g is not None))
            scale = self.global_clipnorm / xp.maximum(global_norm, self.global_clipnorm)
            return [None if g is None else g * scale for g in grads]
        return [None if g is None else xp.clip(g, min=-self.clipvalue, max=self.clipvalue) for g in grads]

    def check_same_weights(self, params):
        """Raise if this optimizer has trained weight arrays other than ``params`` already: its
        momentum (and Adam's averages) belong to the first model's weights, as in Keras."""
        if self.built_for is not None and (
            len(params) != len(self.built_for) or any(p is not q for p, q in zip(params, self.built_for))
        ):
            raise ValueError(
                f"This {type(self).__name__} optimizer already trains other weights: another model's, "
                "or this model's before layers were added. Give each model its own optimizer object, "
                "e.g. compile(optimizer=SGD(0.1)) per model, and compile a model again after adding layers."
            )

    def build_slots(self, param, xp):
        """The state this optimizer keeps for one weight array (a list of arrays like it)."""
        return []

    def get_config(self):
        """The arguments that make this optimizer again, ``type(optimizer)(**config)`` (as Keras)."""
        learning_rate = self._learning_rate if self.schedule is None else schedules.serialize(self.schedule)
        return {"learning_rate": learning_rate, "clipnorm": self.clipnorm,
                "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue}

    def update(self, param, grad, slots, learning_rate):
        """Move ``param`` in place, from its gradient, its slots and this step's learning rate."""
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}(learning_rate={self._learning_rate})"


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum."""

    name = "sgd"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False,
                 clipnorm=None, clipvalue=None, global_clipnorm=None):
        super().__init__(learning_rate, clipnorm, clipvalue, global_clipnorm)
        self.momentum = _check_fraction("momentum", momentum, one_allowed=True)
        self.nesterov = bool(nesterov)

    def build_slots(self, param, xp):
        return [xp.zeros_like(param)] if self.momentum else []

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}

    def update(self, param, grad, slots, learning_rate):
        if not self.momentum:
            param -= learning_rate * grad
            return
        (velocity,) = slots
        velocity *= self.momentum
        velocity -= learning_rate * grad
        if self.nesterov:
            param += self.momentum * velocity - learning_rate * grad
        else:
            param += velocity


class RMSprop(Optimizer):
    """Divides each step by a running root-mean-square of recent gradients."""

    name = "rmsprop"

    def __init__(self, learning_rate=0.001, rho=0.9, epsilon=1e-7,
                 clipnorm=None, clipvalue=None, global_clipnorm=None):
        super().__init__(learning_rate, clipnorm, clipvalue, global_clipnorm)
        self.rho = _check_fraction("rho", rho, one_allowed=True)
        self.epsilon = _check_positive("epsilon", epsilon)

    def build_slots(self, param, xp):
        return [xp.zeros_like(param)]

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}

    def update(self, param, grad, slots, learning_rate):
        (mean_square,) = slots
        mean_square *= self.rho
        mean_square += (1.0 - self.rho) * (grad * grad)
        param -= learning_rate * grad / backend.namespace().sqrt(mean_square + self.epsilon)


class Adagrad(Optimizer):
    """Divides each step by the root of the sum of all of that weight's squared gradients so far."""

    name = "adagrad"

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 clipnorm=None, clipvalue=None, global_clipnorm=None):
        super().__init__(learning_rate, clipnorm, clipvalue, global_clipnorm)
        self.initial_accumulator_value = _check_non_negative("initial_accumulator_value", initial_accumulator_value)
        self.epsilon = _check_positive("epsilon", epsilon)

    def build_slots(self, param, xp):
        return [backend.full(param.shape, self.initial_accumulator_value, param.dtype)]

    def get_config(self):
        return {**super().get_config(), "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}

    def update(self, param, grad, slots, learning_rate):
        (squares,) = slots
        squares += grad * grad
        param -= learning_rate * grad / backend.namespace().sqrt(squares + self.epsilon)


class Adam(Optimizer):
    """Momentum (``m``) and RMSprop (``v``) together, both bias-corrected."""

    name = "adam"
    beta_2_may_be_one = False  # Adamax's v needs no bias correction, so its beta_2 may be 1

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 clipnorm=None, clipvalue=None, global_clipnorm=None):
        super().__init__(learning_rate, clipnorm, clipvalue, global_clipnorm)
        # A beta of 1 would make the bias correction 1 - beta^t zero, so it is refused.
        self.beta_1 = _check_fraction("beta_1", beta_1, one_allowed=False)
        self.beta_2 = _check_fraction("beta_2", beta_2, one_allowed=self.beta_2_may_be_one)
        self.epsilon = _check_positive("epsilon", epsilon)

    def build_slots(self, param, xp):
        return [xp.zeros_like(param), xp.zeros_like(param)]

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}

    def update(self, param, grad, slots, learning_rate):
        m, v = slots
        t = self.iterations
        step = learning_rate * math.sqrt(1.0 - self.beta_2**t) / (1.0 - self.beta_1**t)
        m += (1.0 - self.beta_1) * (grad - m)
        v += (1.0 - self.beta_2) * (grad * grad - v)
        param -= step * m / (backend.namespace().sqrt(v) + self.epsilon)


def _norm(array, xp):
    """The Euclidean norm of all of ``array``'s elements together, a 0-d array."""
    return xp.sqrt(xp.sum(array * array))


def _is_number(value):
    """A finite real number (NumPy scalars included), not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _check_positive(name, value):
    if not _is_number(value) or not value > 0:
        raise ValueError(f"{name} must be a positive number; got {value!r}.")
    return float(value)


def _check_non_negative(name, value):
    if not _is_number(value) or not value >= 0:
        raise ValueError(f"{name} must be a number >= 0; got {value!r}.")
    return float(value)


def _check_fraction(name, value, one_allowed):
    """``value`` as a float, if it lies in [0, 1] (or in [0, 1) when ``one_allowed`` is False)."""
    if not _is_number(value) or not (0 <= value <= 1 if one_allowed else 0 <= value < 1):
        interval = "[0, 1]" if one_allowed else "[0, 1)"
        raise ValueError(f"{name} must be a number in {interval}; got {value!r}.")
    return float(value)


class AdamW(Adam):
    """Adam with decoupled weight decay: each step first shrinks every weight by ``lr * weight_decay``."""

    name = "adamw"

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 clipnorm=None, clipvalue=None, global_clipnorm=None):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, clipnorm, clipvalue, global_clipnorm)
        self.weight_decay = _check_non_negative("weight_decay", weight_decay)

    def get_config(self):
        return {**super().get_config(), "weight_decay": self.weight_decay}

    def update(self, param, grad, slots, learning_rate):
        param *= 1.0 - learning_rate * self.weight_decay
        super().update(param, grad, slots, learning_rate)


class Nadam(Adam):
    """Adam whose momentum looks one step ahead (Nesterov), with a momentum that warms up. Its
    arguments, their checks and its two slots ``m`` and ``v`` are Adam's."""

    name = "nadam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 clipnorm=None, clipvalue=None, global_clipnorm=None):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, clipnorm, clipvalue, global_clipnorm)
        # The product u_1 * ... * u_t of the momentum schedule, one factor a step (Keras keeps it
        # as a variable of the optimizer; here it is made again from the step count).
        self.momentum_product = 1.0
        self.momentum_product_steps = 0

    def momentum_at(self, t):
        """``u_t = beta_1 * (1 - 0.5 * 0.96^t)``: the momentum of step ``t``."""
        return self.beta_1 * (1.0 - 0.5 * 0.96**t)

    def product_up_to(self, t):
        """``P_t = u_1 * ... * u_t``, one multiplication a step; after load_model has set the step
        count, the first call catches up on the steps taken before saving."""
        while self.momentum_product_steps < t:
            self.momentum_product_steps += 1
            self.momentum_product *= self.momentum_at(self.momentum_product_steps)
        return self.momentum_product

    def update(self, param, grad, slots, learning_rate):
        m, v = slots
        t = self.iterations
        u_now, u_next = self.momentum_at(t), self.momentum_at(t + 1)
        product_now = self.product_up_to(t)
        product_next = product_now * u_next
        m += (1.0 - self.beta_1) * (grad - m)
        v += (1.0 - self.beta_2) * (grad * grad - v)
        m_hat = (u_next / (1.0 - product_next)) * m + ((1.0 - u_now) / (1.0 - product_now)) * grad
        v_hat = v / (1.0 - self.beta_2**t)
        param -= learning_rate * m_hat / (backend.namespace().sqrt(v_hat) + self.epsilon)


class Adamax(Adam):
    """Adam with each step divided by the largest recent gradient size (the infinity norm). Its
    arguments and two slots are Adam's, ``u`` in place of ``v``; ``beta_2 = 1`` is allowed: it
    keeps the largest gradient ever seen, which needs no bias correction."""

    name = "adamax"
    beta_2_may_be_one = True

    def update(self, param, grad, slots, learning_rate):
        m, u = slots
        xp = backend.namespace()
        m += (1.0 - self.beta_1) * (grad - m)
        u[...] = xp.maximum(self.beta_2 * u, xp.abs(grad))
        step = learning_rate / (1.0 - self.beta_1**self.iterations)
        param -= step * m / (u + self.epsilon)


_OPTIMIZERS = {cls.name: cls for cls in (SGD, RMSprop, Adagrad, Adam, AdamW, Nadam, Adamax)}


def from_config(name, config):
    """An optimizer from its ``name`` (``"sgd"``...) and ``get_config``'s arguments (a schedule
    among them as ``schedules.serialize`` wrote it)."""
    if isinstance(config.get("learning_rate"), dict):
        config = {**config, "learning_rate": schedules.deserialize(config["learning_rate"])}
    return lookup("optimizer", name, _OPTIMIZERS)(**config)


def get(identifier):
    """An optimizer from a name (``"sgd"``, ``"rmsprop"``, ``"adam"``, with Keras's defaults) or an object."""
    if isinstance(identifier, Optimizer):
        return identifier
    return lookup("optimizer", identifier, _OPTIMIZERS)()
