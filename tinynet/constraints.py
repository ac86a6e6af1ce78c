"""Constraints: after every update, a layer's weight is projected back into a set it must stay in.

``Dense(64, kernel_constraint=MaxNorm(3))`` lets the optimizer update the kernel as usual, then
shrinks every column whose length grew past 3 back to length 3: the max-norm constraint that
Srivastava et al. (2014) pair with dropout. As in Keras, ``fit`` applies each constraint to its
weight after every optimizer step (``constraint(w)`` returns the projected weight); the loss and
the gradients know nothing of it.

The norms run over ``axis``: ``axis=0`` (the default) takes the norm of each column of a Dense
kernel ``(inputs, units)``, that is of the weights coming into each unit; for a Conv2D kernel
``(kh, kw, channels, filters)`` use ``axis=(0, 1, 2)``, one norm per filter.

==================================  ========================================================
``MaxNorm(max_value=2, axis=0)``    ``w * min(norm, max_value) / (epsilon + norm)``
``MinMaxNorm(min_value=0.0,``       ``w * (rate * clip(norm, min_value, max_value)``
``max_value=1.0, rate=1.0, axis=0)``   ``+ (1 - rate) * norm) / (epsilon + norm)``
``UnitNorm(axis=0)``                ``w / (epsilon + norm)``
``NonNeg()``                        ``max(w, 0)``
==================================  ========================================================

``epsilon`` is ``1e-7``, Keras's, so a norm of 0 divides nothing by 0.
"""

import numbers

from tinynet import backend
from tinynet.utils import config
from tinynet.utils.config import serialize  # noqa: F401 (tinynet.constraints.serialize, as in Keras)

EPSILON = 1e-7


class Constraint(config.Configurable):
    """Base class: ``constraint(w)`` returns ``w`` projected into the allowed set (a new array)."""

    def __call__(self, weight):
        return weight


class MinMaxNorm(Constraint):
    """Moves each norm over ``axis`` into ``[min_value, max_value]``, a share ``rate`` of the way."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value = config.checked_non_negative("constraint's min_value", min_value)
        self.max_value = config.checked_non_negative("constraint's max_value", max_value)
        if self.min_value > self.max_value:
            raise ValueError(f"MinMaxNorm min_value must not exceed max_value; got {min_value!r} > {max_value!r}.")
        self.rate = config.checked_non_negative("constraint's rate", rate)
        if self.rate > 1:
            raise ValueError(f"The constraint's rate must be a number in [0, 1]; got {rate!r}.")
        self.axis = _checked_axis(axis)

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}

    def __call__(self, weight):
        xp = backend.namespace()
        norms = xp.sqrt(xp.sum(weight * weight, axis=self.axis, keepdims=True))
        desired = self.rate * xp.clip(norms, self.min_value, self.max_value) + (1.0 - self.rate) * norms
        return weight * (desired / (EPSILON + norms))


class MaxNorm(MinMaxNorm):
    """Shrinks each norm over ``axis`` above ``max_value`` down to ``max_value``; smaller ones stay."""

    def __init__(self, max_value=2, axis=0):
        super().__init__(min_value=0.0, max_value=max_value, axis=axis)

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class UnitNorm(Constraint):
    """Scales each vector over ``axis`` to length 1."""

    def __init__(self, axis=0):
        self.axis = _checked_axis(axis)

    def get_config(self):
        return {"axis": self.axis}

    def __call__(self, weight):
        xp = backend.namespace()
        return weight / (EPSILON + xp.sqrt(xp.sum(weight * weight, axis=self.axis, keepdims=True)))


class NonNeg(Constraint):
    """Sets the negative weights to 0."""

    def __call__(self, weight):
        return backend.namespace().maximum(weight, 0.0)


def _checked_axis(axis):
    """``axis`` as an int, or as a tuple of ints when given a tuple or a list (Keras takes a list)."""

    def is_int(value):
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)

    if isinstance(axis, (list, tuple)) and axis and all(is_int(a) for a in axis):
        return tuple(int(a) for a in axis)
    if is_int(axis):
        return int(axis)
    raise TypeError(f"The constraint's axis must be an integer or a tuple of integers, such as (0, 1, 2); "
                    f"got {axis!r}.")


# Names as Keras takes them: its classes' names, and those in snake case.
_CONSTRAINTS = {"max_norm": MaxNorm, "min_max_norm": MinMaxNorm, "unit_norm": UnitNorm, "non_neg": NonNeg}
_CONSTRAINTS.update({cls.__name__.lower(): cls for cls in (MaxNorm, MinMaxNorm, UnitNorm, NonNeg)})

# Keras's lower-case aliases of the classes: kernel_constraint=max_norm(3).
max_norm, min_max_norm, unit_norm, non_neg = MaxNorm, MinMaxNorm, UnitNorm, NonNeg


def get(identifier):
    """A constraint from a name (``"max_norm"``, ``"NonNeg"``...), a class, an object,
    ``serialize``'s description, or None (no constraint)."""
    # Keras takes any function too; tinynet takes a class, which can be saved with the model.
    return config.get("constraint", identifier, Constraint, _CONSTRAINTS,
                      "subclass tinynet.constraints.Constraint with __call__(w), as NonNeg does, "
                      "and pass an instance.")
