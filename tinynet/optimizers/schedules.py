"""Learning-rate schedules: a learning rate that changes with the step count, as Keras 3 has them.

Give one as an optimizer's ``learning_rate`` (``SGD(learning_rate=ExponentialDecay(0.1, 1000,
0.5))``). Before each update the optimizer calls it with ``step``, the number of updates done so
far (0 for the first, as Keras), and uses the rate it returns; ``optimizer.learning_rate`` reads
the rate the next update will use. With ``lr0`` the ``initial_learning_rate``:

ExponentialDecay
    ``lr0 * decay_rate^(step / decay_steps)``; with ``staircase=True`` the exponent is rounded down,
    so the rate drops by ``decay_rate`` every ``decay_steps`` steps.
PiecewiseConstantDecay
    ``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` while
    ``boundaries[i-1] < step <= boundaries[i]``, ``values[-1]`` after the last boundary.
InverseTimeDecay
    ``lr0 / (1 + decay_rate * step / decay_steps)`` (``step / decay_steps`` rounded down with
    ``staircase=True``).
CosineDecay
    half a cosine from ``lr0`` down to ``alpha * lr0`` over ``decay_steps`` steps, then flat:
    ``lr0 * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps)) + alpha)`` with
    ``s = min(step, decay_steps)``. With a ``warmup_target``, the rate first climbs in a straight
    line from ``lr0`` to ``warmup_target`` over ``warmup_steps`` steps, and the cosine then starts
    from ``warmup_target``.
PolynomialDecay
    from ``lr0`` down to ``end_learning_rate`` along ``(1 - s / decay_steps)^power`` over
    ``decay_steps`` steps, then flat: ``(lr0 - end_learning_rate) * (1 - s / decay_steps)^power
    + end_learning_rate`` with ``s = min(step, decay_steps)``. With ``cycle=True`` it never goes
    flat: past ``decay_steps`` the decay starts again over ``decay_steps * ceil(step / decay_steps)``
    steps, the first multiple of ``decay_steps`` not below ``step``.
CosineDecayRestarts
    CosineDecay again and again (SGDR, "warm restarts"): a first half cosine over
    ``first_decay_steps`` steps, then over ``t_mul`` times as many steps at ``m_mul`` times the
    height, and so on. In period ``i`` (from 0), at the fraction ``f`` of it done, the rate is
    ``lr0 * ((1 - alpha) * m_mul^i * 0.5 * (1 + cos(pi * f)) + alpha)``: the floor ``alpha * lr0``
    stays where it is while the peaks shrink (as Keras has it).
"""

import itertools
import math
import numbers

from tinynet.utils.lookup import lookup


class LearningRateSchedule:
    """Base class: ``schedule(step)`` is the learning rate for the update after ``step`` updates.

    A schedule of one's own subclasses this and defines ``__call__``; ``model.save`` cannot save it.
    """

    def __call__(self, step):
        raise NotImplementedError(f"{type(self).__name__} must define __call__(self, step).")

    def get_config(self):
        """The arguments that make this schedule again, ``type(schedule)(**config)``."""
        raise NotImplementedError(f"{type(self).__name__} must define get_config(self).")

    def __repr__(self):
        arguments = ", ".join(f"{name}={value!r}" for name, value in self.get_config().items())
        return f"{type(self).__name__}({arguments})"


class ExponentialDecay(LearningRateSchedule):
    """The rate times ``decay_rate`` every ``decay_steps`` steps, smoothly or in stairs."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="ExponentialDecay"):
        self.initial_learning_rate = _check_number("initial_learning_rate", initial_learning_rate, zero_allowed=False)
        self.decay_steps = _check_number("decay_steps", decay_steps, zero_allowed=False)
        self.decay_rate = _check_number("decay_rate", decay_rate, zero_allowed=False)
        self.staircase = bool(staircase)
        self.name = name

    def __call__(self, step):
        exponent = step / self.decay_steps
        if self.staircase:
            exponent = math.floor(exponent)
        return self.initial_learning_rate * self.decay_rate**exponent

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    """A constant rate between given step counts: ``values[i]`` up to ``boundaries[i]``."""

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        boundaries, values = list(boundaries), list(values)
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                f"PiecewiseConstantDecay needs one more value than boundaries; got {len(boundaries)} "
                f"boundaries {boundaries} and {len(values)} values {values}."
            )
        for boundary in boundaries:
            _check_number("each boundary", boundary, zero_allowed=True)
        if any(later <= earlier for earlier, later in itertools.pairwise(boundaries)):
            raise ValueError(f"boundaries must increase strictly; got {boundaries}.")
        for value in values:
            _check_number("each value", value, zero_allowed=False)
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step):
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return float(value)
        return float(self.values[-1])

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class InverseTimeDecay(LearningRateSchedule):
    """The rate divided by ``1 + decay_rate * step / decay_steps``: it falls like ``1 / step``."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="InverseTimeDecay"):
        self.initial_learning_rate = _check_number("initial_learning_rate", initial_learning_rate, zero_allowed=False)
        self.decay_steps = _check_number("decay_steps", decay_steps, zero_allowed=False)
        self.decay_rate = _check_number("decay_rate", decay_rate, zero_allowed=True)
        self.staircase = bool(staircase)
        self.name = name

    def __call__(self, step):
        progress = step / self.decay_steps
        if self.staircase:
            progress = math.floor(progress)
        return self.initial_learning_rate / (1.0 + self.decay_rate * progress)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Half a cosine from the rate down to ``alpha`` times it, after an optional linear warmup."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay", warmup_target=None,
                 warmup_steps=0):
        # Warming up from 0 is common; without a warmup a rate of 0 would never train.
        self.initial_learning_rate = _check_number("initial_learning_rate", initial_learning_rate,
                                                   zero_allowed=warmup_target is not None)
        self.decay_steps = _check_number("decay_steps", decay_steps, zero_allowed=False)
        if not _is_number(alpha) or not 0 <= alpha <= 1:
            raise ValueError(f"alpha must be a number in [0, 1]; got {alpha!r}.")
        self.alpha = float(alpha)
        self.name = name
        self.warmup_target = None if warmup_target is None else _check_number(
            "warmup_target", warmup_target, zero_allowed=False)
        if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, numbers.Integral) or warmup_steps < 0:
            raise ValueError(f"warmup_steps must be a whole number >= 0; got {warmup_steps!r}.")
        self.warmup_steps = int(warmup_steps)

    def __call__(self, step):
        if self.warmup_target is None:
            return self.decayed(min(step, self.decay_steps), self.initial_learning_rate)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            climbed = step / self.warmup_steps
            return self.initial_learning_rate + climbed * (self.warmup_target - self.initial_learning_rate)
        return self.decayed(step - self.warmup_steps, self.warmup_target)

    def decayed(self, step, start):
        """The cosine part: ``start`` at step 0, ``alpha * start`` from ``decay_steps`` on."""
        cosine = 0.5 * (1.0 + math.cos(math.pi * step / self.decay_steps))
        return start * ((1.0 - self.alpha) * cosine + self.alpha)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "name": self.name, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}


class PolynomialDecay(LearningRateSchedule):
    """From the rate to ``end_learning_rate`` along a power of the steps left, optionally again and again."""

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0, cycle=False,
                 name="PolynomialDecay"):
        self.end_learning_rate = _check_number("end_learning_rate", end_learning_rate, zero_allowed=True)
        # A rate that climbs from 0 to end_learning_rate is a warmup; falling to 0 is a rate that ends.
        self.initial_learning_rate = _check_number("initial_learning_rate", initial_learning_rate,
                                                   zero_allowed=self.end_learning_rate > 0)
        self.decay_steps = _check_number("decay_steps", decay_steps, zero_allowed=False)
        self.power = _check_number("power", power, zero_allowed=False)
        self.cycle = bool(cycle)
        self.name = name

    def __call__(self, step):
        decay_steps = self.decay_steps
        if self.cycle:  # the first multiple of decay_steps at or past step (decay_steps itself at 0)
            decay_steps *= max(math.ceil(step / self.decay_steps), 1)
        else:
            step = min(step, decay_steps)
        left = 1.0 - step / decay_steps
        return (self.initial_learning_rate - self.end_learning_rate) * left**self.power + self.end_learning_rate

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "end_learning_rate": self.end_learning_rate, "power": self.power, "cycle": self.cycle,
                "name": self.name}


class CosineDecayRestarts(LearningRateSchedule):
    """Half a cosine down to ``alpha`` times the rate, restarted from the top in ever longer (``t_mul``)
    and lower (``m_mul``) periods."""

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0, name="SGDRDecay"):
        self.initial_learning_rate = _check_number("initial_learning_rate", initial_learning_rate, zero_allowed=False)
        self.first_decay_steps = _check_number("first_decay_steps", first_decay_steps, zero_allowed=False)
        # Keras takes any t_mul; below 1 the periods would shrink and add up to a finite number of
        # steps, after which Keras's rate is NaN.
        if not _is_number(t_mul) or not t_mul >= 1:
            raise ValueError(f"t_mul must be a number >= 1 (how many times longer each period is than the "
                             f"one before); got {t_mul!r}.")
        self.t_mul = float(t_mul)
        self.m_mul = _check_number("m_mul", m_mul, zero_allowed=False)
        if not _is_number(alpha) or not 0 <= alpha <= 1:
            raise ValueError(f"alpha must be a number in [0, 1]; got {alpha!r}.")
        self.alpha = float(alpha)
        self.name = name

    def __call__(self, step):
        if self.t_mul == 1.0:  # periods of one length
            period = math.floor(step / self.first_decay_steps)
            fraction = step / self.first_decay_steps - period
        else:
            # Walk from period to period: exact at every restart. The closed form with logarithms
            # Keras uses can round down in float64 at a restart (with t_mul=3, the step period 5
            # starts at), giving the bottom of the period before where the top of the new one belongs.
            period, start, length = 0, 0.0, self.first_decay_steps
            while step >= start + length:
                period, start, length = period + 1, start + length, length * self.t_mul
            fraction = (step - start) / length
        cosine = self.m_mul**period * 0.5 * (1.0 + math.cos(math.pi * fraction))
        return self.initial_learning_rate * ((1.0 - self.alpha) * cosine + self.alpha)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "first_decay_steps": self.first_decay_steps,
                "t_mul": self.t_mul, "m_mul": self.m_mul, "alpha": self.alpha, "name": self.name}


_SCHEDULES = {
    cls.__name__.lower(): cls
    for cls in (ExponentialDecay, PiecewiseConstantDecay, InverseTimeDecay, CosineDecay, PolynomialDecay,
                CosineDecayRestarts)
}


def is_serializable(schedule):
    """Whether ``deserialize(serialize(schedule))`` makes the same kind of schedule again."""
    return _SCHEDULES.get(type(schedule).__name__.lower()) is type(schedule)


def serialize(schedule):
    """``{"class_name": ..., "config": ...}``, the form Keras writes a schedule in."""
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(config):
    """The schedule ``serialize`` described."""
    if not isinstance(config, dict) or not {"class_name", "config"} <= set(config):
        raise ValueError(f"Expected a schedule as {{'class_name': ..., 'config': {{...}}}}; got {config!r}.")
    return lookup("learning-rate schedule", config["class_name"], _SCHEDULES)(**config["config"])


def _is_number(value):
    """A finite real number (NumPy scalars included), not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _check_number(name, value, zero_allowed):
    """``value`` as a float, if it is a number above 0 (or 0 itself, if ``zero_allowed``)."""
    if not _is_number(value) or not (value >= 0 if zero_allowed else value > 0):
        relation = ">=" if zero_allowed else ">"
        raise ValueError(f"{name} must be a number {relation} 0; got {value!r}.")
    return float(value)
