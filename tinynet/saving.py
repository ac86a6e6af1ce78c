"""Saving a whole model and loading it back: ``model.save(path)``, ``load_model(path)``.

``save_weights`` keeps only the numbers; to use them you must first rebuild the same model in code.
``model.save`` writes one ``.npz`` archive (atomically, like ``save_weights``) that holds
everything needed to predict, or to go on training where it stopped:

- ``config``: JSON text with the architecture (each layer's class and the arguments that make it
  again, from its ``get_config``, and the model's input shape) and the compile settings (the
  optimizer's class and arguments, the loss's name and arguments, the metrics' and weighted
  metrics' names, or for a metric object such as ``Precision()`` its class and arguments);
- the weights, under the names ``save_weights`` gives them (``"000:dense_1:0"``...);
- the optimizer's state: its step count and, per weight, its slots (SGD's velocity, Adam's
  averages), so that momentum carries on after loading.

Like Keras 3's ``.keras`` files, but readable with NumPy alone.

Classes and functions of your own (a layer, an activation, a loss, a metric function or metric
class, an initializer) are saved by name, as in Keras 3: the name they were registered under with
:func:`register_keras_serializable` (``"Custom>MyLayer"``), else their own ``__name__``.
``load_model`` looks each name up in its ``custom_objects``, then in any open
``custom_object_scope``, then among the registered objects, then among tinynet's own (see
:mod:`tinynet.utils.object_registration`). A layer or a metric object is made again as
``cls(**config)`` from its ``get_config`` (``from_config``, as in Keras), so ``save`` refuses,
before it writes anything, one whose ``get_config`` leaves out an argument of its constructor. A
metric object's state (its counts) is not saved: ``fit`` and ``evaluate`` start it afresh.
"""

import contextlib
import inspect
import json
import os

import numpy as np

from tinynet import activations, constraints, initializers, layers, losses, metrics, optimizers, regularizers
from tinynet.layers.base import Layer
from tinynet.utils.files import load_npz, save_npz_atomic
from tinynet.utils.lookup import UnknownNameError, lookup
from tinynet.utils.object_registration import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)

__all__ = [
    "CustomObjectScope",
    "custom_object_scope",
    "get_custom_objects",
    "get_registered_name",
    "get_registered_object",
    "load_model",
    "register_keras_serializable",
    "save_model",
]

CONFIG_KEY = "config"
_OPTIMIZER_PREFIX = "optimizer:"
_ITERATIONS_KEY = "optimizer:iterations"

# The layer classes a saved config may name, by lower-case name (as lookup compares names).
# Input declares a shape and is not kept as a layer, so it never appears in a config.
LAYER_CLASSES = {
    name.lower(): getattr(layers, name) for name in layers.__all__ if name not in ("Layer", "Input", "InputLayer")
}

# Layer's arguments that its get_config leaves out: a model saves its input shape itself.
_NOT_IN_LAYER_CONFIGS = ("input_shape", "input_dim")


def check_file_name(filepath, example):
    """Refuse Keras's file names (``.h5``, ``.hdf5``, ``.keras``): Keras's own formats live there,
    and tinynet's ``.npz`` under such a name would mislead the next program to open it."""
    if os.fspath(filepath).lower().endswith((".h5", ".hdf5", ".keras")):
        raise ValueError(
            f"tinynet saves to a NumPy .npz archive, not in Keras's formats (.h5, .keras); got "
            f"{os.fspath(filepath)!r}. Name the file e.g. {example!r}."
        )


def check_savable(model):
    """Raise unless ``load_model`` can make again all that ``save_model`` writes about ``model``:
    each layer from its config, each class or function by its name, the optimizer's state."""
    for layer in model.layers:
        what = f"layer {layer.name!r}"
        if type(layer).from_config.__func__ is Layer.from_config.__func__:  # made as cls(**config)
            _check_config(what, layer)
        _check_made_again(what, type(layer), get_registered_name(type(layer)),
                          lambda name: lookup("layer class", name, LAYER_CLASSES, with_custom_objects=True))
        activation = getattr(layer, "activation", None)
        if isinstance(activation, activations.ActivationFunction):
            _check_made_again(f"the activation of {what}", type(activation), activations.serialize(activation),
                              lambda name: type(activations.get(name)))
        for role, value in vars(layer).items():  # kernel_initializer, gamma_regularizer, bias_constraint...
            for module, base in ((initializers, initializers.Initializer), (regularizers, regularizers.Regularizer),
                                 (constraints, constraints.Constraint)):
                if isinstance(value, base):
                    _check_config(f"the {role} of {what}", value)
                    _check_made_again(f"the {role} of {what}", type(value), module.serialize(value),
                                      lambda description, module=module: type(module.get(description)))
    if model.optimizer is None:
        return
    _check_config(f"the loss {model.loss!r}", model.loss)
    _check_made_again(f"the loss {model.loss!r}", type(model.loss), losses.serialize(model.loss),
                      lambda saved: type(losses.from_config(saved["name"], saved["config"])))
    for name, metric in model.metrics:
        _saved_metric(name, metric)
    for name, metric in model.weighted_metrics:
        _saved_metric(name, metric, metrics.get_weighted)
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


def _check_config(what, obj):
    """Raise unless ``type(obj)(**obj.get_config())`` makes ``obj`` again, as load_model makes a
    layer, an initializer or a loss: the config holds every argument of the constructor and no
    other, as plain data (JSON)."""
    cls, config = type(obj), obj.get_config()
    parameters = inspect.signature(cls).parameters
    missing = [p.name for p in parameters.values() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
               and p.name not in config and p.name not in _NOT_IN_LAYER_CONFIGS]
    if missing:
        entries = ", ".join(f"{name!r}: self.{name}" for name in missing)
        raise ValueError(
            f"model.save cannot save {what}: load_model makes it again as {cls.__name__}(**config) from its "
            f"get_config(), which does not return the argument {', '.join(map(repr, missing))} of "
            f"{cls.__name__}.__init__. Add it: def get_config(self): return {{**super().get_config(), {entries}}}."
        )
    if not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        unexpected = [key for key in config if key not in parameters]
        if unexpected:
            raise ValueError(
                f"model.save cannot save {what}: its get_config() returns {', '.join(map(repr, unexpected))}, "
                f"which {cls.__name__}.__init__ does not take. Let __init__ take them and pass them on: "
                "def __init__(self, ..., **kwargs): super().__init__(**kwargs)."
            )
    try:
        json.dumps(config)
    except TypeError as error:
        raise ValueError(
            f"model.save cannot save {what}: its get_config() must return plain data (numbers, strings, lists, "
            f"dicts), but {error}. Give an object as its name, e.g. activations.serialize(self.activation)."
        ) from None


def _check_made_again(what, obj, saved, make):
    """Raise unless ``make(saved)``, which makes again from what save_model writes of ``obj`` (a
    class or function) the same, gives ``obj`` back, or knows no such name: one of your own, to be
    given to load_model (custom_objects, a custom_object_scope, or registered by then)."""
    try:
        made = make(saved)
    except UnknownNameError:
        return
    if made is not obj:
        raise ValueError(
            f"model.save cannot save {what}: it would be saved as {saved!r}, from which load_model would "
            f"make {made.__module__}.{made.__qualname__}, not {obj.__module__}.{obj.__qualname__}. Register "
            f"yours, which saves it under a name of its own ('Custom>{obj.__name__}'): "
            "@tinynet.saving.register_keras_serializable(); or rename it."
        )


def _saved_metric(name, metric, get=metrics.get):
    """What save_model writes for the compiled metric ``(name, metric)``: a metric object as its
    class's name and config (``metrics.serialize``), a function as :func:`_metric_name` names it.
    Raises where load_model could not make it again."""
    if not isinstance(metric, metrics.Metric):
        return _metric_name(name, metric, get)
    what = f"the metric {name!r}"
    if type(metric).from_config.__func__ is metrics.Metric.from_config.__func__:  # made as cls(**config)
        _check_config(what, metric)
    saved = metrics.serialize(metric)
    _check_made_again(what, type(metric), saved["class_name"], metrics.metric_object_class)
    if isinstance(metric, metrics.MeanMetricWrapper) and "fn" in saved["config"]:
        _function_name(f"the function of {what}", metric.fn, metrics.metric_function)
    return saved


def _metric_name(name, function, get=metrics.get):
    """The name the compiled metric ``(name, function)`` is saved under: the one compile was given,
    for tinynet's own (``"accuracy"``); for a function of one's own, its registered name. Raises
    where load_model could not make it again. ``get`` is how compile made it: ``metrics.get``, or
    ``metrics.get_weighted`` for the ``weighted_metrics``."""
    with contextlib.suppress(UnknownNameError):
        if get(name)[1] is function:
            return name
    # the function compile was given (see metrics.get)
    return _function_name(f"the metric {name!r}", function.__wrapped__, _metric_function)


def _function_name(what, function, make):
    """The name a function is saved under (its registered name), checked to make ``function``
    again with ``make``; raises for one without a name to call it by (a lambda, a partial)."""
    try:
        saved = get_registered_name(function)
    except AttributeError:  # a partial, an object: nothing to call it by
        saved = None
    if saved in (None, "<lambda>"):
        raise ValueError(
            f"model.save cannot save {what}: a function of one's own is saved by its name, and "
            f"{function!r} has none. Define it with def my_metric(y_true, y_pred): ..., or register it "
            "with @tinynet.saving.register_keras_serializable(name=...)."
        )
    _check_made_again(what, function, saved, make)
    return saved


def _metric_function(name):
    """The function metrics.get makes the metric ``name`` of (as it was given to it)."""
    function = metrics.get(name)[1]
    return getattr(function, "__wrapped__", function)


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


def load_model(filepath, custom_objects=None, compile=True):
    """The model ``save_model`` wrote to ``filepath``: built, with its weights, and compiled as it
    was (optimizer state included) if it was compiled, unless ``compile=False`` (as in Keras).

    ``custom_objects`` maps the names the file gives classes and functions of your own to them,
    such as ``{"MyLayer": MyLayer}`` (see the module's docstring for the other places looked in).
    """
    from tinynet.models import Sequential  # here: models imports this module

    scope = custom_object_scope(custom_objects)  # checked before the file is read
    stored = load_npz(filepath, "model file", "model.save")
    if CONFIG_KEY not in stored:
        raise ValueError(
            f"{os.fspath(filepath)!r} holds no model config: was it written by save_weights? "
            "Then build the model in code and call model.load_weights on it."
        )
    config = json.loads(str(stored[CONFIG_KEY]))
    try:
        with scope:
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
                    metrics=_loaded_metrics(compile_config["metrics"]),
                    # not in files from before they existed
                    weighted_metrics=_loaded_metrics(compile_config.get("weighted_metrics") or []),
                )
                if _ITERATIONS_KEY in stored:
                    _restore_optimizer_state(model.optimizer, model._params, stored)
    except UnknownNameError as error:
        raise ValueError(f"{os.fspath(filepath)!r} cannot be loaded: {error} {how_to_give(error.name)}") from None
    return model


def _loaded_metrics(saved):
    """The metrics compile is given back: names as they are, metric objects made from their configs."""
    return [metrics.deserialize(entry) if isinstance(entry, dict) else entry for entry in saved]


def how_to_give(name, loader="load_model"):
    """How to give ``loader`` (``load_model`` or ``model_from_json``) the class or function that a
    saved model names ``name``."""
    package, _, short = name.rpartition(">")
    if package:
        return (
            f"{name!r} is the name register_keras_serializable gave a class or function of your own "
            f"when the model was saved: import the code that registers it before loading, or pass "
            f"{loader}(..., custom_objects={{{name!r}: {short}}})."
        )
    return (
        f"If {name} is a class or function of your own, pass it: {loader}(..., custom_objects="
        f"{{{name!r}: {name}}}), or load inside custom_object_scope({{{name!r}: {name}}}). To need "
        "neither, decorate it with @tinynet.saving.register_keras_serializable() before saving."
    )


def _compile_config(model):
    """The compile settings as names and numbers, or None for a model not compiled."""
    if model.optimizer is None:
        return None
    return {
        "optimizer": {"name": model.optimizer.name, "config": model.optimizer.get_config()},
        "loss": losses.serialize(model.loss),
        "metrics": [_saved_metric(name, metric) for name, metric in model.metrics],
        "weighted_metrics": [_saved_metric(name, metric, metrics.get_weighted)
                             for name, metric in model.weighted_metrics],
    }


def _restore_optimizer_state(optimizer, params, stored):
    """Give ``optimizer`` the state save_model stored for the weights ``params``."""
    optimizer.build(params)
    optimizer.load_own_variables(
        {key.removeprefix(_OPTIMIZER_PREFIX): value for key, value in stored.items() if key.startswith(_OPTIMIZER_PREFIX)}
    )
