"""Small objects described by their arguments, as regularizers and constraints are: the config
that saving writes, the object made again from it, and the object found from what a user gives
(a name, a class, an object, a saved description, or None)."""

import math
import numbers

from tinynet.utils.lookup import lookup
from tinynet.utils.object_registration import get_registered_name


class Configurable:
    """Base class: ``get_config()`` gives the arguments that make the object again,
    ``type(obj)(**config)`` (``{}`` for one without any)."""

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        arguments = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({arguments})"


def serialize(obj):
    """``obj`` as plain data, ``{"class_name": "L2", "config": {"l2": 0.01}}``, or None for None.
    A class of one's own is named by its registered name (see ``register_keras_serializable``)."""
    if obj is None:
        return None
    return {"class_name": get_registered_name(type(obj)), "config": obj.get_config()}


def get(kind, identifier, base, table, how_to_write_one):
    """The ``base`` object ``identifier`` stands for: None, an object (as it is), a class (made
    with its defaults), :func:`serialize`'s description, or a name in ``table`` (any case) or among
    the custom objects. A plain function is refused with ``how_to_write_one``."""
    if identifier is None or isinstance(identifier, base):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, base):
        return identifier()
    if isinstance(identifier, dict) and set(identifier) == {"class_name", "config"}:
        return lookup(kind, identifier["class_name"], table, with_custom_objects=True).from_config(identifier["config"])
    if callable(identifier):
        raise TypeError(
            f"tinynet takes a {kind} as an object, not the function {getattr(identifier, '__name__', identifier)!r}: "
            f"{how_to_write_one}"
        )
    return lookup(kind, identifier, table, with_custom_objects=True)()


def checked_non_negative(what, value):
    """``value`` as a float, refused unless it is a finite number >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
        raise ValueError(f"The {what} must be a finite number >= 0; got {value!r}.")
    return float(value)
