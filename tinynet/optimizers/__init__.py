"""Optimizers: how the weights move once the gradients are known.

``optimizer.apply(params, grads)`` updates every parameter array in place. The rules are Keras's
(Keras 3), with ``w`` a weight, ``g = dL/dw`` its gradient, ``lr`` the learning rate (a number,
or a schedule from ``tinynet.optimizers.schedules`` that gives it for each step) and ``t`` the
number of the update (1 for the first):

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
    Adam with ``weight_decay=0.004`` (below): the weights decay towards 0 by themselves, apart
    from the gradient (decoupled weight decay, biases included unless excluded).
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

Every optimizer also takes Keras's other shared arguments, each off unless given:

``weight_decay=d``
    decoupled weight decay: after clipping and before the rule's step, each weight being trained
    shrinks, ``w <- w - w * d * lr`` with that step's ``lr``. ``exclude_from_weight_decay`` leaves
    some weights out (biases, say).
``gradient_accumulation_steps=n``
    the weights move on every ``n``-th batch only, by the rule applied to the mean of the last
    ``n`` batches' gradients (then clipped): ``n`` small batches count as one large one.
    ``iterations`` counts these updates; a schedule still counts batches (as in Keras).
``use_ema=True``
    the optimizer keeps an exponential moving average of each weight, ``a <- a + (1 -
    ema_momentum) * (w - a)`` after every batch (``a = w`` on the batches up to the first update),
    and at the end of ``fit`` the weights become their averages (``finalize_variable_values``); with
    ``ema_overwrite_frequency=k`` also after every ``k``-th update.

The learning rate may also be a function of no arguments, called before each update for the rate
to use (as Keras allows); ``model.save`` cannot save such an optimizer.
"""

import inspect
import math
import numbers
import re

from tinynet import backend
from tinynet.optimizers import schedules
from tinynet.optimizers.schedules import LearningRateSchedule
from tinynet.utils.lookup import lookup


class Optimizer:
    """Base class. Subclasses define ``build_slots`` (per-weight state) and ``update`` (the rule).

    Each subclass takes its own arguments, then by keyword the ones every optimizer takes (as Keras):
    ``weight_decay``, ``clipnorm``, ``clipvalue``, ``global_clipnorm``, ``use_ema``, ``ema_momentum``,
    ``ema_overwrite_frequency`` and ``gradient_accumulation_steps`` (see the module's docstring).
    Keras's ``loss_scale_factor`` (for float16 training) and ``name`` are not there.
    """

    name = None

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None, gradient_accumulation_steps=None):
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
        self.weight_decay = None if weight_decay is None else _check_non_negative("weight_decay", weight_decay)
        self.clipnorm = None if clipnorm is None else float(clipnorm)
        self.clipvalue = None if clipvalue is None else float(clipvalue)
        self.global_clipnorm = None if global_clipnorm is None else float(global_clipnorm)
        self.use_ema = bool(use_ema)
        self.ema_momentum = _check_fraction("ema_momentum", ema_momentum, one_allowed=True)
        self.ema_overwrite_frequency = _check_count_or_none("ema_overwrite_frequency", ema_overwrite_frequency, 1)
        # Keras takes 0 (or None) for no accumulation; tinynet takes None only.
        self.gradient_accumulation_steps = _check_count_or_none(
            "gradient_accumulation_steps", gradient_accumulation_steps, 2)
        self._iterations = 0  # the batches applied; Keras's name for this count
        self.slots = None
        self.accumulated_gradients = None  # with gradient_accumulation_steps: per weight, the sum so far
        self.averages = None  # with use_ema: per weight, its moving average
        self.decays = None  # per weight, whether weight_decay shrinks it
        self.built_for = None  # the weight arrays all of these belong to
        self.excluded_weights = []
        self.excluded_names = []

    @property
    def learning_rate(self):
        """The rate of the next update: the number given, the schedule's rate at the number of
        batches applied so far, or what the function given returns now."""
        rate = self._learning_rate
        if isinstance(rate, LearningRateSchedule):
            return rate(self._iterations)
        if callable(rate):
            return rate()
        return rate

    @learning_rate.setter
    def learning_rate(self, value):
        """A number, a schedule or a function of no arguments. As in Keras, an optimizer made with
        a schedule (or a function) takes no number: it alone decides (so LearningRateScheduler and
        ReduceLROnPlateau cannot)."""
        if isinstance(value, LearningRateSchedule):
            self._learning_rate = value
            return
        if callable(value):
            _check_takes_no_arguments(value)
            self._learning_rate = value
            return
        if callable(self._learning_rate):
            source = "its schedule" if self.schedule is not None else "the function"
            raise TypeError(
                f"This optimizer's learning rate comes from {source}, {self._learning_rate!r}, and "
                f"cannot be set to {value!r}. To set the rate yourself (or from a callback), make the "
                "optimizer with a number as learning_rate."
            )
        if not _is_number(value) or not value > 0:
            raise ValueError(f"learning_rate must be a positive number, a schedule from "
                             f"tinynet.optimizers.schedules or a function of no arguments; got {value!r}.")
        self._learning_rate = float(value)

    @property
    def schedule(self):
        """The ``LearningRateSchedule`` given as ``learning_rate``, or None."""
        return self._learning_rate if isinstance(self._learning_rate, LearningRateSchedule) else None

    @property
    def lr(self):
        """Keras 2's name for ``learning_rate``."""
        return self.learning_rate

    @lr.setter
    def lr(self, value):
        self.learning_rate = value

    @property
    def iterations(self):
        """The updates made: the batches applied, or with ``gradient_accumulation_steps=n`` one
        update every ``n`` batches (as Keras counts them)."""
        if self.gradient_accumulation_steps:
            return self._iterations // self.gradient_accumulation_steps
        return self._iterations

    @property
    def built(self):
        """Whether the optimizer holds its state for some weights (after its first step)."""
        return self.slots is not None

    def build(self, params, names=None):
        """Make the state this optimizer keeps for the weight arrays ``params`` (named ``names``,
        which ``exclude_from_weight_decay(var_names=...)`` looks at). ``apply`` builds it on its first
        call, and ``fit`` with the names of the model's weights."""
        if names is None and self.excluded_names:
            raise ValueError(
                f"exclude_from_weight_decay(var_names={self.excluded_names}) needs the weights' names, and "
                "this optimizer was given none: train it with model.fit, or call optimizer.build(params, "
                "names) before its first step, or exclude the weights themselves with var_list."
            )
        xp = backend.namespace()
        self.slots = [self.build_slots(p, xp) for p in params]
        if self.gradient_accumulation_steps:
            self.accumulated_gradients = [xp.zeros_like(p) for p in params]
        if self.use_ema:
            self.averages = [xp.zeros_like(p) for p in params]  # set to the weights on the first update
        names = [None] * len(params) if names is None else names
        self.decays = [
            not any(p is excluded for excluded in self.excluded_weights)
            and not any(re.search(pattern, name) for pattern in self.excluded_names)
            for p, name in zip(params, names)
        ]
        self.built_for = list(params)

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Leave some weights out of ``weight_decay`` (as Keras): the arrays in ``var_list``, and the
        weights whose name (``"kernel"``, ``"bias"``) ``re.search`` finds any of ``var_names`` in
        (``var_names=["bias"]`` leaves out every bias). Only before the optimizer's first step."""
        if self.built:
            raise ValueError("exclude_from_weight_decay can only be called before the optimizer's first step "
                             "(as in Keras, before it is built).")
        if isinstance(var_names, str) or not all(isinstance(name, str) for name in var_names or []):
            raise ValueError(f"var_names must be a list of strings, e.g. ['bias']; got {var_names!r}.")
        for pattern in var_names or []:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"var_names holds {pattern!r}, which is not a regular expression: {error}.") from None
        if not all(backend.is_backend_array(weight) for weight in var_list or []):
            raise ValueError(f"var_list must be a list of weight arrays, e.g. [layer.bias]; got {var_list!r}.")
        self.excluded_weights = list(var_list or [])
        self.excluded_names = list(var_names or [])

    def apply(self, params, grads):
        """One batch: update each array in ``params`` in place from the matching array in ``grads``
        (with ``gradient_accumulation_steps``, only on every n-th batch).

        A gradient of None leaves its weight (and its slots) as they are: a frozen layer's.
        """
        if self.slots is None:
            self.build(params)
        else:
            self.check_same_weights(params)
        if self.gradient_accumulation_steps:  # None when not asked for, as for clipping and the rest
            grads = self.accumulate(grads)
        if grads is not None:
            learning_rate = self.learning_rate  # a schedule's at the batches done so far: 0 for the first
            if self.clipnorm or self.clipvalue or self.global_clipnorm:
                grads = self.clip_gradients(grads)
            if self.weight_decay:
                self.decay_weights(params, grads, learning_rate)
            for param, grad, slots in zip(params, grads, self.slots):
                if grad is not None:
                    self.update(param, grad, slots, learning_rate)
        if self.use_ema:
            self.update_averages(params)
        self._iterations += 1

    def accumulate(self, grads):
        """Add this batch's gradients to the sums. On every n-th batch, return the mean of the n
        batches' gradients and start the sums again from 0; on the others, None: no update."""
        steps = self.gradient_accumulation_steps
        if (self._iterations + 1) % steps:
            for total, grad in zip(self.accumulated_gradients, grads):
                if grad is not None:
                    total += grad
            return None
        means = [None if grad is None else (total + grad) / steps
                 for total, grad in zip(self.accumulated_gradients, grads)]
        for total in self.accumulated_gradients:
            total[...] = 0
        return means

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

    def decay_weights(self, params, grads, learning_rate):
        """``w <- w - w * weight_decay * lr`` for each weight being trained (a gradient of None:
        frozen) and not excluded; from the weight itself, not its gradient, so Adam's scaling by
        ``sqrt(v)`` does not touch it (decoupled weight decay)."""
        factor = self.weight_decay * learning_rate
        for param, grad, decays in zip(params, grads, self.decays):
            if grad is not None and decays:
                param -= param * factor

    def update_averages(self, params):
        """With ``use_ema``: after this batch, ``a <- a + (1 - ema_momentum) * (w - a)`` for every
        weight (``a = w`` on the batches up to the first update, as Keras); when ``iterations + 1``
        is a multiple of ``ema_overwrite_frequency`` (every k-th update), the weights become their
        averages."""
        first = self.iterations == 0  # the updates done before this batch's
        for param, average in zip(params, self.averages):
            if first:
                average[...] = param
            else:
                average += (1.0 - self.ema_momentum) * (param - average)
        if self.ema_overwrite_frequency and (self.iterations + 1) % self.ema_overwrite_frequency == 0:
            self.finalize_variable_values(params)

    def finalize_variable_values(self, var_list):
        """With ``use_ema``, set each weight in ``var_list`` (the weights it trains) to its moving
        average; otherwise nothing. ``fit`` calls it at the end of training, as in Keras."""
        if not self.use_ema or self.averages is None:
            return
        self.check_same_weights(var_list)
        for param, average in zip(var_list, self.averages):
            param[...] = average

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

    def state_per_weight(self):
        """Per weight, every array this optimizer keeps for it: the rule's slots, then the sum of
        the gradients accumulated (with ``gradient_accumulation_steps``), then the moving average
        (with ``use_ema``)."""
        extras = [arrays for arrays in (self.accumulated_gradients, self.averages) if arrays is not None]
        return [slots + [arrays[index] for arrays in extras] for index, slots in enumerate(self.slots)]

    def save_own_variables(self, store):
        """Put this built optimizer's state into the dict ``store`` as NumPy arrays (as Keras's method
        of that name): ``"iterations"``, the batches applied; ``"<weight index>:<number>"``, each
        array of ``state_per_weight``; and ``"excluded_from_weight_decay"``, the indices of the
        weights left out of weight decay, if any."""
        store["iterations"] = self._iterations
        for index, arrays in enumerate(self.state_per_weight()):
            for number, array in enumerate(arrays):
                store[f"{index:03d}:{number}"] = backend.to_numpy(array)
        excluded = [index for index, decays in enumerate(self.decays) if not decays]
        if excluded:
            store["excluded_from_weight_decay"] = excluded

    def load_own_variables(self, store):
        """Take back into this optimizer, built for the same weights, the state ``save_own_variables``
        put in ``store``."""
        for index, arrays in enumerate(self.state_per_weight()):
            stored = []
            while f"{index:03d}:{len(stored)}" in store:
                stored.append(store[f"{index:03d}:{len(stored)}"])
            if len(stored) != len(arrays):
                raise ValueError(f"The saved optimizer state holds {len(stored)} arrays for weight {index}; this "
                                 f"{type(self).__name__} keeps {len(arrays)}.")
            for array, values in zip(arrays, stored):
                array[...] = backend.asarray(values, dtype=backend.dtype_name(array))
        for index in store.get("excluded_from_weight_decay", []):
            self.decays[int(index)] = False
        self._iterations = int(store["iterations"])

    def get_config(self):
        """The arguments that make this optimizer again, ``type(optimizer)(**config)`` (as Keras;
        a function given as ``learning_rate`` is there as itself)."""
        rate = self._learning_rate
        return {"learning_rate": schedules.serialize(rate) if isinstance(rate, LearningRateSchedule) else rate,
                "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
                "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue, "use_ema": self.use_ema,
                "ema_momentum": self.ema_momentum, "ema_overwrite_frequency": self.ema_overwrite_frequency,
                "gradient_accumulation_steps": self.gradient_accumulation_steps}

    def update(self, param, grad, slots, learning_rate):
        """Move ``param`` in place, from its gradient, its slots and this step's learning rate.
        ``self.iterations`` is the number of updates before this one."""
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}(learning_rate={self._learning_rate})"


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum."""

    name = "sgd"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
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

    def __init__(self, learning_rate=0.001, rho=0.9, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
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

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
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

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
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
        t = self.iterations + 1
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


def _check_count_or_none(name, value, minimum):
    """``value`` as an int, if it is None or a whole number >= ``minimum``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, or None; got {value!r}.")
    return int(value)


def _check_takes_no_arguments(function):
    """Refuse a function given as ``learning_rate`` that cannot be called with no arguments."""
    try:
        inspect.signature(function).bind()
    except TypeError:
        raise ValueError(
            f"A function given as learning_rate is called with no arguments before each update (as in "
            f"Keras); {function!r} needs some. For a rate that depends on the step count, subclass "
            "tinynet.optimizers.schedules.LearningRateSchedule and define __call__(self, step)."
        ) from None
    except ValueError:  # no signature to read (some built-ins): calling it will tell
        pass


def _check_fraction(name, value, one_allowed):
    """``value`` as a float, if it lies in [0, 1] (or in [0, 1) when ``one_allowed`` is False)."""
    if not _is_number(value) or not (0 <= value <= 1 if one_allowed else 0 <= value < 1):
        interval = "[0, 1]" if one_allowed else "[0, 1)"
        raise ValueError(f"{name} must be a number in {interval}; got {value!r}.")
    return float(value)


class AdamW(Adam):
    """Adam with decoupled weight decay on by default: each step first shrinks every weight by
    ``lr * weight_decay`` (the ``weight_decay`` every optimizer takes, here 0.004 unless given)."""

    name = "adamw"

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        if weight_decay is None:  # as Keras: without it, AdamW would be Adam
            raise ValueError("AdamW's weight_decay must be a number >= 0; got None. For no weight decay, use Adam.")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, weight_decay=weight_decay, **kwargs)


class Nadam(Adam):
    """Adam whose momentum looks one step ahead (Nesterov), with a momentum that warms up. Its
    arguments, their checks and its two slots ``m`` and ``v`` are Adam's."""

    name = "nadam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, **kwargs)
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
        t = self.iterations + 1
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
        step = learning_rate / (1.0 - self.beta_1 ** (self.iterations + 1))
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
