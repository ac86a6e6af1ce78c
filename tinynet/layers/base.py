"""The ``Layer`` base class: what every layer has in common.

A layer turns an input batch ``x`` into an output batch ``y`` (``forward``) and, given
``dL/dy``, returns ``dL/dx`` while storing the gradients of its own weights (``backward``).
``forward`` keeps what ``backward`` will need, so a layer must see the same batch forward and
backward, which is how a training step uses it.

Weights are created by ``build(input_shape)`` the first time the input shape is known (as in
Keras 3's ``Dense.build``): on the host by an initializer, then moved to the backend's device once.
Shapes include the batch as ``None``: ``(None, 784)`` is "any number of rows of 784 numbers".
"""

import re
from collections import defaultdict

import numpy as np

from tinynet import backend, constraints, initializers, regularizers

_name_counts = defaultdict(int)


def _unique_name(cls):
    """``dense_1``, ``dense_2``, ``conv2d_1``...: counted per layer type within the process, like Keras 2."""
    base = re.sub("(.)([A-Z][a-z0-9]+)", r"\1_\2", cls.__name__)
    base = re.sub("([a-z])([A-Z])", r"\1_\2", base).lower()
    _name_counts[base] += 1
    return f"{base}_{_name_counts[base]}"


class Layer:
    """Base class of all layers.

    Subclasses define ``build`` (create the weights), ``compute_output_shape``, ``forward`` and
    ``backward``. The weights training learns are listed in ``params`` and, after ``backward``,
    the gradients of the loss with respect to them in ``grads``, in the same order. Numbers a
    layer keeps up to date itself rather than learning them (BatchNormalization's moving averages)
    are in ``states``: saved with the weights, never given to the optimizer. ``weights`` is both,
    ``params`` first, as ``get_weights`` returns them. A weight made with a ``regularizer``
    (``kernel_regularizer=L2(0.01)``) adds its penalty to the loss: ``losses`` lists them; one made
    with a ``constraint`` (``kernel_constraint=MaxNorm(3)``) is projected after every update.

    ``input_shape`` (without the batch dimension, as in Keras) lets the first layer of a model
    say what it will receive; ``input_dim=784`` is Keras 2's way of writing ``input_shape=(784,)``.
    ``trainable=False`` freezes the layer: training leaves its weights as they are (its gradients
    are still computed, for the layers below it), and ``summary`` counts them as non-trainable.
    """

    def __init__(self, name=None, input_shape=None, input_dim=None, trainable=True):
        if input_dim is not None:
            input_shape = (input_dim,)
        self.batch_input_shape = None if input_shape is None else (None, *_as_shape(input_shape))
        self.name = name or _unique_name(type(self))  # after the checks: a mistake uses up no name
        self.trainable = trainable
        self.built = False
        self.params = []
        self.grads = []
        self.states = []
        self.regularized = []  # (index in params, regularizer) of each weight with a penalty
        self.constrained = []  # (index in params, constraint) of each weight with a constraint
        # The first layer of a model has nobody to pass dL/dx to, so it may skip computing it
        # (Sequential.add decides).
        self.input_gradient_needed = True
        self.in_a_model = False

    # --- shapes and weights ------------------------------------------------------------------

    def build(self, input_shape):
        """Create the weights for inputs of ``input_shape`` (batch dimension included, as None)."""
        self.input_shape = tuple(input_shape)
        self.output_shape = self.compute_output_shape(self.input_shape)
        self.built = True

    def compute_output_shape(self, input_shape):
        """The output shape for a given input shape; the identity unless the layer changes it."""
        return tuple(input_shape)

    def check_input(self, input_shape):
        """Raise unless this built layer can take inputs of ``input_shape`` (when it is called
        again, or shared with another model). Its weights fix the length of the last axis, which
        Keras checks too; the other axes may change where ``compute_output_shape`` allows."""
        if self.weights and input_shape[-1] != self.input_shape[-1]:
            raise ValueError(
                f"Layer {self.name!r} was built for inputs of shape {self.input_shape}, "
                f"{self.input_shape[-1]} values on the last axis; got shape {tuple(input_shape)}."
            )
        self.compute_output_shape(input_shape)

    def get_config(self):
        """The arguments that make this layer again, ``type(layer)(**config)``, as in Keras (for
        ``model.save`` and ``to_json``). Subclasses add their own."""
        return {"name": self.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config):
        """A new layer from ``get_config``'s arguments."""
        return cls(**config)

    def add_weight(self, shape, initializer, column_major=False, trainable=True, regularizer=None, constraint=None):
        """Create one weight array: drawn on the host as floatx, moved to the device once.

        ``column_major`` stores a matrix column after column (Fortran order) instead of row after
        row: the same numbers and shape, in the memory layout a layer's products run faster on.
        Either way the data starts on a 64-byte boundary, which BLAS reads faster
        (``backend.ALIGNMENT``). ``trainable=False`` makes it one of the layer's ``states``;
        ``regularizer`` (a :class:`tinynet.regularizers.Regularizer`, for ``params`` only) adds
        its penalty to the loss; ``constraint`` (a :class:`tinynet.constraints.Constraint`, for
        ``params`` only) projects it after every update.
        """
        values = initializer(shape)
        weight = backend.asarray(backend.aligned(np.asfortranarray(values) if column_major else values))
        if trainable:
            if regularizer is not None:
                self.regularized.append((len(self.params), regularizer))
            if constraint is not None:
                self.constrained.append((len(self.params), constraint))
            self.params.append(weight)
            self.grads.append(None)
        else:
            self.states.append(weight)
        return weight

    @property
    def losses(self):
        """The penalties of the regularized weights now (0-d arrays), as Keras's ``layer.losses``;
        none while the layer is frozen, whose weights training leaves alone."""
        if not self.trainable:
            return []
        return [regularizer(self.params[index]) for index, regularizer in self.regularized]

    def add_penalty_gradients(self):
        """Add each penalty's gradient to its weight's in ``grads`` (after ``backward``)."""
        for index, regularizer in self.regularized:
            self.grads[index] = self.grads[index] + regularizer.gradient(self.params[index])

    def apply_constraints(self):
        """Project each constrained weight, in place (after the optimizer's update)."""
        for index, constraint in self.constrained:
            self.params[index][...] = constraint(self.params[index])

    def numbers_per_sample(self):
        """How many numbers the forward pass creates for one sample: by default its output.
        ``predict`` sizes its chunks from the largest layer's count."""
        count = 1
        for length in self.output_shape[1:]:
            count *= length
        return count

    @property
    def weights(self):
        """The layer's weight arrays (on the backend's device): ``params``, then ``states``."""
        return self.params + self.states

    @property
    def trainable_weights(self):
        """The weights training changes: ``params``, unless the layer is frozen."""
        return list(self.params) if self.trainable else []

    @property
    def non_trainable_weights(self):
        """The weights training leaves to the layer: its ``states``, or all of them when frozen."""
        return list(self.states) if self.trainable else self.weights

    def weight_names(self):
        """Each weight's name: the attribute that holds it (``kernel``, ``bias``, as Keras names
        them), or ``weight_<i>`` for one that none holds."""
        names = {id(value): attribute for attribute, value in vars(self).items()}
        return [names.get(id(weight), f"weight_{index}") for index, weight in enumerate(self.weights)]

    def count_params(self):
        """The number of numbers in the layer's weights, ``states`` included (as Keras counts)."""
        return sum(int(np.prod(w.shape)) for w in self.weights)

    def get_weights(self):
        """The weights as a list of NumPy arrays (copies), on every backend."""
        return [backend.to_numpy(w).copy() for w in self.weights]

    def check_weights(self, weights):
        """``weights`` as NumPy arrays, once checked to fit this layer: as many arrays as
        ``self.weights``, of the same shapes, holding finite numbers. Changes nothing."""
        try:
            weights = list(weights)
        except TypeError:
            raise TypeError(
                f"Layer {self.name!r} expects a list of weight arrays; got {type(weights).__name__}."
            ) from None
        current = self.weights
        if len(weights) != len(current):
            raise ValueError(
                f"Layer {self.name!r} expects {len(current)} weight arrays "
                f"({', '.join(str(tuple(w.shape)) for w in current) or 'none'}); "
                f"got {len(weights)}."
            )
        arrays = []
        for number, (existing, weight) in enumerate(zip(current, weights)):
            try:
                array = np.asarray(weight)
            except ValueError:  # a ragged nested list
                raise ValueError(f"Layer {self.name!r} weight {number} is not a rectangular array.") from None
            if tuple(array.shape) != tuple(existing.shape):
                raise ValueError(
                    f"Layer {self.name!r} weight {number} shape mismatch: expected {tuple(existing.shape)}, "
                    f"got {tuple(array.shape)}."
                )
            if array.dtype.kind not in "biuf":
                raise TypeError(
                    f"Layer {self.name!r} weight {number} must hold numbers; got dtype {array.dtype}."
                )
            if not np.all(np.isfinite(array)):
                raise ValueError(f"Layer {self.name!r} weight {number} holds NaN or infinite values.")
            dtype = backend.dtype_name(existing)
            largest, limit = float(np.abs(array).max(initial=0)), float(np.finfo(dtype).max)
            if largest > limit:
                raise ValueError(
                    f"Layer {self.name!r} weight {number} holds a value of {largest:.3g}, too large "
                    f"for {dtype} (at most {limit:.3g}): it would become infinite."
                )
            arrays.append(array)
        return arrays

    def set_weights(self, weights):
        """Replace the weights' values with ``weights`` (a list of arrays of the same shapes).

        Everything is checked (``check_weights``) before anything changes; the values are copied
        into the existing arrays, so an optimizer's references to them stay valid.
        """
        arrays = self.check_weights(weights)
        for existing, array in zip(self.weights, arrays):
            existing[...] = backend.asarray(array, dtype=backend.dtype_name(existing))

    # --- computing -------------------------------------------------------------------------------

    def forward(self, x, training=False):
        """Compute the layer's output for the batch ``x`` (``training`` switches e.g. dropout on)."""
        raise NotImplementedError

    def backward(self, grad_output):
        """Given ``dL/dy`` for the last ``forward``, fill ``grads`` and return ``dL/dx``."""
        raise NotImplementedError

    def __call__(self, x):
        """Apply the layer to a NumPy batch, in inference mode, and return a NumPy array."""
        x = backend.asarray(x)
        if self.built:
            self.check_input(tuple(x.shape))
        else:
            self.build((None, *x.shape[1:]))
        return backend.to_numpy(self.forward(x, training=False))

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"


def weight_configs(layer, weights=("kernel", "bias")):
    """The ``<weight>_initializer``, ``<weight>_regularizer`` and ``<weight>_constraint`` of each of
    ``weights`` for a layer's ``get_config``, as the ``serialize`` of :mod:`tinynet.initializers`,
    :mod:`tinynet.regularizers` and :mod:`tinynet.constraints` describe them."""
    config = {}
    for weight in weights:
        for role, module in (("initializer", initializers), ("regularizer", regularizers), ("constraint", constraints)):
            config[f"{weight}_{role}"] = module.serialize(getattr(layer, f"{weight}_{role}"))
    return config


def column_sums(g):
    """``sum_i g[i, j]`` for every column ``j``: the bias gradient of Dense and Conv2D.

    Computed as the product ``ones @ g``, which BLAS does several times faster than a reduction
    along the long first axis (1.5 ms against 0.25 ms for the book's first convolution).
    """
    return backend.ones_vector(g.shape[0], g.dtype) @ g


def _as_shape(shape):
    """A shape given as an int or a sequence of ints, checked and returned as a tuple."""
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        shape = tuple(shape)
    except TypeError:
        raise TypeError(f"input_shape must be a tuple of positive integers; got {shape!r}.") from None
    if not shape or not all(
        isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0 for d in shape
    ):
        raise ValueError(
            f"input_shape must be a tuple of positive integers, such as (784,); got {shape!r}."
        )
    return tuple(int(d) for d in shape)


def check_positive_int(name, value):
    """Raise a clear error unless ``value`` is a positive integer (``units``, ``filters``...)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a positive integer; got {value!r} of type {type(value).__name__}.")
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer; got {value}.")
    return int(value)
