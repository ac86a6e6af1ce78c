"""Utilities of the Keras API: ``to_categorical``, ``set_random_seed``, and, as Keras also has them
here, the custom objects of saving (``custom_object_scope``, ``register_keras_serializable``...)."""

import numpy as np

from tinynet import random as _random
from tinynet.utils.object_registration import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)


def to_categorical(y, num_classes=None, dtype="float32"):
    """One-hot encode integer class labels: ``7`` becomes ``[0, 0, 0, 0, 0, 0, 0, 1, 0, 0]``.

    ``y`` holds labels ``0 .. num_classes - 1`` (any shape; a trailing axis of length 1 is dropped,
    as in Keras); the result has one more axis, of length ``num_classes`` (by default the largest
    label + 1).
    """
    labels = np.asarray(y)
    if labels.size == 0:
        raise ValueError("to_categorical got no labels (an empty array).")
    if labels.dtype.kind not in "iuf" or labels.dtype == np.bool_:
        raise TypeError(f"to_categorical expects integer class labels; got an array of dtype {labels.dtype}.")
    if labels.dtype.kind == "f":
        bad = ~np.isfinite(labels) | (labels != np.round(labels))
        if np.any(bad):
            raise ValueError(
                "to_categorical expects whole-number class labels such as 0, 1, 2; "
                f"got fractional or non-finite values such as {labels[bad][:1]}."
            )
    labels = labels.astype(np.int64)
    if labels.ndim > 1 and labels.shape[-1] == 1:
        labels = labels.reshape(labels.shape[:-1])
    if labels.min() < 0:
        raise ValueError(f"to_categorical expects labels >= 0; got {labels.min()}.")
    if num_classes is None:
        num_classes = int(labels.max()) + 1
    elif isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer; got {num_classes!r}.")
    if labels.max() >= num_classes:
        raise ValueError(
            f"to_categorical got label {labels.max()}, but num_classes={num_classes} allows only "
            f"0 to {num_classes - 1}."
        )
    one_hot = np.zeros((labels.size, num_classes), dtype=dtype)
    one_hot[np.arange(labels.size), labels.ravel()] = 1
    return one_hot.reshape(*labels.shape, num_classes)


def set_random_seed(seed):
    """Seed every random choice tinynet makes (weights, shuffling, dropout), and Python's and NumPy's."""
    _random.set_seed(seed)


__all__ = [
    "CustomObjectScope",
    "custom_object_scope",
    "get_custom_objects",
    "get_registered_name",
    "get_registered_object",
    "register_keras_serializable",
    "set_random_seed",
    "to_categorical",
]
