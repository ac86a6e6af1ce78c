"""tinynet: a small neural-network framework with the Keras API, written to be read.

The Keras MNIST tutorial runs with ``keras`` replaced by ``tinynet`` in its imports::

    from tinynet.models import Sequential
    from tinynet.layers import Dense

Where each idea lives: ``backend`` (NumPy or CuPy), ``layers``, ``activations``, ``losses``,
``optimizers``, ``metrics``, ``initializers``, ``regularizers``, ``constraints``, ``models`` (the
training loop), ``saving``, ``callbacks``, ``datasets``, ``utils``, ``plot`` (pictures, needs
matplotlib) and ``gradient_check`` (``tinynet.check_gradients``: every backpropagated gradient
against a numerical one).
"""

from tinynet import (
    activations,
    backend,
    callbacks,
    constraints,
    datasets,
    initializers,
    layers,
    losses,
    metrics,
    models,
    optimizers,
    regularizers,
    saving,
    utils,
)
from tinynet.gradient_check import check_gradients
from tinynet.layers import Input
from tinynet.models import Sequential

__version__ = "0.1.0"

__all__ = [
    "Input",
    "Sequential",
    "check_gradients",
    "activations",
    "backend",
    "callbacks",
    "constraints",
    "datasets",
    "initializers",
    "layers",
    "losses",
    "metrics",
    "models",
    "optimizers",
    "regularizers",
    "saving",
    "utils",
]
