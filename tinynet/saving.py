"""Saving a whole model and loading it back: ``model.save(path)``, ``load_model(path)``.

``save_weights`` keeps only the numbers; to use them you must first rebuild the same model in code.
``model.save`` writes one ``.npz`` archive (atomically, like ``save_weights``) that holds
everything needed to predict, or to go on training where it stopped:

- ``config``: JSON text with the architecture (each layer's class and the arguments that make it
  again, from its ``get_config``, and the model's input shape) and the compile settings (the
  optimizer's class and arguments, the loss's name and arguments, the metrics' names);
- the weights, under the names ``save_weights`` gives them (``"000:dense_1:0"``...);
- the optimizer's state: its step count and, per weight, its slots (SGD's velocity, Adam's
  averages), so that momentum carries on after loading.

Like Keras 3's ``.keras`` files, but readable with NumPy alone. Only what tinynet can make again
from a name can be saved: a layer class or a metric function of your own would have to be saved
as code, and ``save`` says so before it writes anything.
"""

import json
import os

import numpy as np

from tinynet import activations, initializers, layers, losses, metrics, optimizers
from tinynet.utils.files import load_npz, save_npz_atomic

CONFIG_KEY = "config"
_OPTIMIZER_PREFIX = "optimizer:"
_ITERATIONS_KEY = "optimizer:iterations"

# The layer classes a saved config may name, by lower-case name (as lookup compares names).
# Input declares a shape and is not kept as a layer, so it never appears in a config.
LAYER_CLASSES = {
    name.lower(): getattr(layers, name) for name in layers.__all__ if name not in ("Layer", "Input", "InputLayer")
}


def check_file_name(filepath, example):
    """Refuse Keras's file names (``.h5``, ``.hdf5``, ``.keras``): Keras's own formats live there,
    and tinynet's ``.npz`` under such a name would mislead the next program to open it."""
    if os.fspath(filepath).lower().endswith((".h5", ".hdf5", ".keras")):
        raise ValueError(
            f"tinynet saves to a NumPy .npz archive, not in Keras's formats (.h5, .keras); got "
            f"{os.fspath(filepath)!r}. Name the file e.g. {example!r}."
        )


def check_savable(model):
    """Raise unless everything ``save_model`` writes about ``model`` can be made again by name:
    its layer classes, its loss and metrics as given to compile, its optimizer's state."""
    for layer in model.layers:
        if LAYER_CLASSES.get(type(layer).__name__.lower()) is not type(layer):
            raise ValueError(f"model.save cannot save layer {layer.name!r}: tinynet has no layer class "
                             f"{type(layer).__name__!r} to make it again. Save the weights with save_weights.")
        parts = [(role, getattr(layer, role, None), initializers.is_serializable)
                 for role in ("kernel_initializer", "bias_initializer")]
        parts.append(("activation", getattr(layer, "activation", None), activations.is_serializable))
        for role, part, is_serializable in parts:
            if part is not None and not is_serializable(part):
                raise ValueError(
                    f"model.save cannot save layer {layer.name!r}: its {role} is a "
                    f"{type(part).__name__}, which tinynet cannot make again by name. Save the "
                    "weights with save_weights."
                )
    if model.optimizer is None:
        return
    # (kind, name, what compile made of what it was given, what it would make of the name)
    given = [("loss", model.loss.name, type(model.loss), type(_by_name(losses.get, model.loss.name)))]
    for name, function in model.metrics:
        known = _by_name(metrics.get, name)
        given.append(("metric", name, function, known and known[1]))
    for kind, name, used, by_name in given:
        if used is not by_name:  # a function or class of one's own, whatever its name
            raise ValueError(
                f"model.save cannot save the {kind} {name!r}: it is not the one tinynet knows by that "
                "name. Save the weights with save_weights, and compile the model in code after loading."
            )
    schedule = model.optimizer.schedule
    if schedule is not None and not optimizers.schedules.is_serializable(schedule):
        raise ValueError(
            f"model.save cannot save the learning-rate schedule {type(schedule).__name__}: tinynet has no "
            "schedule of that name to make it again. Save the weights with save_weights, and compile the "
            "model in code after loading."
        )
    rate = model.optimizer.get_config()["learning_rate"]  # a function as itself, a schedule as a dict
    if callable(rate):
        raise ValueError(
            f"model.save cannot save a learning_rate given as a function, {rate!r}: "
            "code cannot be saved. Save the weights with save_weights, and compile the model in code "
            "after loading (or give the optimizer a number or a schedule from tinynet.optimizers.schedules)."
        )
    model.optimizer.check_same_weights(model._params)


def _by_name(get, name):
    """What ``get`` (``losses.get``, ``metrics.get``) makes of ``name``, or None if it knows none."""
    try:
        return get(name)
    except (ValueError, TypeError):  # an unknown name, or none (a class of one's own without one)
        return None


def save_model(model, filepath):
    """Write ``model`` (built; compiled or not) to ``filepath`` (see the module's docstring)."""
    model._check_built("it can be saved")
    check_file_name(filepath, "model.npz")
    check_savable(model)
    config = {"model": model.get_config(), "compile": _compile_config(model)}
    arrays = {CONFIG_KEY: np.array(json.dumps(config))}
    arrays.update(model._weights_by_name())
    optimizer = model.optimizer
    if optimizer is not None and optimizer.built:
        state = {}
        optimizer.save_own_variables(state)
        arrays.update({_OPTIMIZER_PREFIX + key: value for key, value in state.items()})
    save_npz_atomic(filepath, arrays)


def weight_arrays(stored):
    """The weights among the arrays of a file that save_weights or save_model wrote."""
    return {
        key: array for key, array in stored.items() if key != CONFIG_KEY and not key.startswith(_OPTIMIZER_PREFIX)
    }


def load_model(filepath, compile=True):
    """The model ``save_model`` wrote to ``filepath``: built, with its weights, and compiled as it
    was (optimizer state included) if it was compiled, unless ``compile=False`` (as in Keras)."""
    from tinynet.models import Sequential  # here: models imports this module

    stored = load_npz(filepath, "model file", "model.save")
    if CONFIG_KEY not in stored:
        raise ValueError(
            f"{os.fspath(filepath)!r} holds no model config: was it written by save_weights? "
            "Then build the model in code and call model.load_weights on it."
        )
    config = json.loads(str(stored[CONFIG_KEY]))
    model = Sequential.from_config(config["model"])
    model._set_saved_weights(weight_arrays(stored), os.fspath(filepath))
    compile_config = config["compile"]
    if compile and compile_config is not None:
        optimizer = compile_config["optimizer"]
        loss = compile_config["loss"]
        if isinstance(loss, dict):
            loss = losses.from_config(loss["name"], loss["config"])
        # else a name alone, as files written before losses took arguments hold it
        model.compile(
            optimizer=optimizers.from_config(optimizer["name"], optimizer["config"]),
            loss=loss,
            metrics=compile_config["metrics"],
        )
        if _ITERATIONS_KEY in stored:
            _restore_optimizer_state(model.optimizer, model._params, stored)
    return model


def _compile_config(model):
    """The compile settings as names and numbers, or None for a model not compiled."""
    if model.optimizer is None:
        return None
    return {
        "optimizer": {"name": model.optimizer.name, "config": model.optimizer.get_config()},
        "loss": {"name": model.loss.name, "config": model.loss.get_config()},
        "metrics": [name for name, _ in model.metrics],
    }


def _restore_optimizer_state(optimizer, params, stored):
    """Give ``optimizer`` the state save_model stored for the weights ``params``."""
    optimizer.build(params)
    optimizer.load_own_variables(
        {key.removeprefix(_OPTIMIZER_PREFIX): value for key, value in stored.items() if key.startswith(_OPTIMIZER_PREFIX)}
    )
