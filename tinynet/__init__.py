"""tinynet: a small neural-network framework with the Keras API, written to be read.

The Keras MNIST tutorial runs with ``keras`` replaced by ``tinynet`` in its imports::

    from tinynet.models import Sequential
    from tinynet.layers import Dense

Where each idea lives: ``backend`` (NumPy or CuPy), ``layers``, ``activations``, ``losses``,
``optimizers``, ``metrics``, ``initializers``, ``models`` (the training loop), ``callbacks``,
``datasets``, ``utils`` and ``plot`` (pictures, needs matplotlib).
"""

from tinynet import (
    activations,
    backend,
    callbacks,
    datasets,
    initializers,
    layers,
    losses,
    metrics,
    models,
    optimizers,
    utils,
)
from tinynet.models import Sequential

__version__ = "0.1.0"

__all__ = [
    "Sequential",
    "activations",
    "backend",
    "callbacks",
    "datasets",
    "initializers",
    "layers",
    "losses",
    "metrics",
    "models",
    "optimizers",
    "utils",
]
