"""Saving a whole model and loading it back: ``model.save(path)``, ``load_model(path)``.

``save_weights`` keeps only the numbers; to use them you must first rebuild the same model in code.
``model.save`` writes one ``.npz`` archive (atomically, like ``save_weights``) that holds
everything needed to predict, or to go on training where it stopped:

- ``config``: JSON text with the architecture (each layer's class and the arguments that make it
  again, from its ``get_config``, and the model's input shape) and the compile settings (the
  optimizer's class and arguments, the loss's and metrics' names);
- the weights, under the names ``save_weights`` gives them (``"000:dense_1:0"``...);
- the optimizer's state: its step count and, per weight, its slots (SGD's velocity, Adam's
  averages), so that momentum carries on after loading.

Like Keras 3's ``.keras`` files, but readable with NumPy alone. Only what has a name tinynet knows
can be saved: a metric function of your own would have to be saved as code, and ``save`` says so.
"""

import json
import os

import numpy as np

from tinynet import backend, losses, metrics, optimizers
from tinynet.utils.files import load_npz, save_npz_atomic

CONFIG_KEY = "config"
_ITERATIONS_KEY = "optimizer:iterations"


def save_model(model, filepath):
    """Write ``model`` (built; compiled or not) to ``filepath`` (see the module's docstring)."""
    config = {"model": model.get_config(), "compile": _compile_config(model)}
    arrays = {CONFIG_KEY: np.array(json.dumps(config))}
    arrays.update(model._weights_by_name())
    optimizer = model.optimizer
    if optimizer is not None and optimizer.slots is not None:
        arrays[_ITERATIONS_KEY] = np.array(optimizer.iterations)
        for index, slots in enumerate(optimizer.slots):
            for number, slot in enumerate(slots):
                arrays[f"optimizer:{index:03d}:{number}"] = backend.to_numpy(slot)
    save_npz_atomic(filepath, arrays)


def load_model(filepath):
    """The model ``save_model`` wrote to ``filepath``: built, with its weights, compiled as it was
    (optimizer state included) if it was compiled."""
    from tinynet.models import Sequential  # here: models imports this module

    stored = load_npz(filepath, "model file", "model.save")
    if CONFIG_KEY not in stored:
        raise ValueError(
            f"{os.fspath(filepath)!r} holds no model config: was it written by save_weights? "
            "Then build the model in code and call model.load_weights on it."
        )
    config = json.loads(str(stored.pop(CONFIG_KEY)))
    model = Sequential.from_config(config["model"])
    compile_config = config["compile"]
    if compile_config is not None:
        optimizer = compile_config["optimizer"]
        model.compile(
            optimizer=optimizers.from_config(optimizer["name"], optimizer["config"]),
            loss=compile_config["loss"],
            metrics=compile_config["metrics"],
        )
    slots = {key: stored.pop(key) for key in list(stored) if key.startswith("optimizer:")}
    model._set_saved_weights(stored, os.fspath(filepath))
    if slots:
        _restore_optimizer_state(model.optimizer, model._params, slots)
    return model


def _compile_config(model):
    """The compile settings as names and numbers, or None for a model not compiled."""
    if model.optimizer is None:
        return None
    metric_names = [name for name, _ in model.metrics]
    for kind, name, get in [("loss", model.loss.name, losses.get)] + [
        ("metric", name, metrics.get) for name in metric_names
    ]:
        try:
            get(name)
        except (ValueError, TypeError):
            raise ValueError(
                f"model.save cannot save the {kind} {name!r}: it is not one tinynet knows by name. "
                "Save the weights with save_weights, and compile the model in code after loading them."
            ) from None
    optimizer = model.optimizer
    return {
        "optimizer": {"name": optimizer.name, "config": optimizer.get_config()},
        "loss": model.loss.name,
        "metrics": metric_names,
    }


def _restore_optimizer_state(optimizer, params, stored):
    """Give ``optimizer`` the step count and slots save_model stored for the weights ``params``."""
    optimizer.iterations = int(stored.pop(_ITERATIONS_KEY))
    optimizer.slots = [[] for _ in params]
    for key in sorted(stored):  # "optimizer:<weight index>:<slot number>", slots in order
        index = int(key.split(":")[1])
        optimizer.slots[index].append(backend.asarray(stored[key], dtype=backend.dtype_name(params[index])))
    optimizer.built_for = list(params)
