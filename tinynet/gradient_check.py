"""Gradient checking: does every backward pass compute the slope it claims to?

Backpropagation gives ``dL/dw`` for every weight ``w`` with one formula per layer (each docstring
derives its own). A wrong formula crashes nothing: the model just learns badly. So we also
*measure* each slope, nudging one weight at a time by a small step ``h`` both ways::

    n = (L(w + h) - L(w - h)) / 2h        central differences: off by O(h^2) only

and compare ``n`` with the analytic gradient ``a`` from one forward and backward pass through the
model's own code (``Sequential._forward``, ``_backward`` and ``_grads``). For each weight array
(a layer's kernel, its bias) the table shows::

    relative error = ||a - n|| / (||a|| + ||n||)        over all its checked entries

0 when the two agree, 1 when they point apart. A correct backward pass gives about 1e-9 here; a
wrong one 1e-2 or more. (The norm, rather than the worst entry, keeps entries whose slope is
almost 0 from turning rounding noise into a large ratio.) Some slopes are exactly 0: the bias of a
layer that a ``BatchNormalization`` follows, whose mean it removes. Then ``a`` and ``n`` are both
rounding noise and their ratio means nothing, so the error counts as 0 where both are below what
central differences can resolve: each ``L`` is exact to about ``u max(|L|, 1)`` (``u = 2.2e-16``,
float64's unit of rounding), so one measured slope to about that over ``h``; over ``k`` entries,
and with a factor of 10 for the rounding of the many steps inside ``L``, the error is 0 where
``||a|| + ||n|| <= 10 sqrt(k) u max(|L|, 1) / h``.

How your model is left alone: the check runs on a *float64 twin*, a copy of the model whose layers
hold float64 copies of its weights, with :func:`tinynet.backend.floatx` set to ``"float64"`` while
it runs. float64 matters: float32 keeps about 7 digits, and ``L(w + h) - L(w - h)`` would lose
most of them. The twin runs in training mode, as ``fit`` does (``BatchNormalization`` normalises
with the batch's own statistics), and tinynet's random generator is set back to the same state
before every forward pass: ``Dropout`` draws the same mask each time, so ``L`` is the same function
at every call. The generator is left as it was found.

Layers without weights (``Flatten``, ``MaxPooling2D``...) are checked too, through the weights
below them: their gradients pass through its ``backward``. Only the weights training learns
(``params``) have gradients: ``BatchNormalization``'s moving averages are not checked.

Kinks: ``relu`` bends at 0 and a max-pooling window switches maximum where two inputs tie. When a
step of ``h`` moves some input across such a point, the measured slope mixes the two sides and
the error can reach 1e-4 to 1e-2 although every formula is right. Check again with other samples:
a kink comes and goes, a real mistake stays.
"""

import copy
import math

import numpy as np

from tinynet import activations, backend
from tinynet.random import generator

# Below this the analytic and numerical gradients agree up to float64 rounding.
TOLERANCE = 1e-6


def check_gradients(model, x, y, epsilon=1e-5, entries_per_weight=None, print_fn=print):
    """Compare every weight's backpropagated gradient with central differences; return the worst error.

    ``model`` is a built and compiled ``Sequential``; ``(x, y)`` a small batch (a few samples:
    the loss is computed twice per weight entry). ``epsilon`` is the step ``h``.
    ``entries_per_weight`` checks only that many entries of each weight array, chosen at random,
    for big models (all of them when ``None``); the table says how many were checked.
    ``print_fn`` receives each line of the table (default: ``print``).

        check_gradients(model, x_test[:10], y_test[:10])
    """
    model._check_compiled("checking its gradients")
    model._check_built("its gradients can be checked")
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not 0 < epsilon < 1:
        raise ValueError(f"epsilon, the step of the central differences, must be in (0, 1); got {epsilon!r}.")
    limit = entries_per_weight
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"entries_per_weight must be a positive integer or None; got {limit!r}.")
    x, y = model._prepare(x, y)
    samples = x.shape[0]

    previous = backend.floatx()
    random_state = generator().bit_generator.state
    backend.set_floatx("float64")
    try:
        twin = _float64_twin(model)
        x, y = twin._to_device(x, y)
        rows = _compare(twin, x, y, float(epsilon), limit, random_state)
    finally:
        backend.set_floatx(previous)
        generator().bit_generator.state = random_state
    return _print_table(model, rows, samples, epsilon, limit, print_fn)


def _float64_twin(model):
    """A copy of ``model`` whose layers compute in float64; ``model`` itself is not changed."""
    twin = copy.copy(model)  # the same loss; its own list of layers:
    twin._layers = [_float64_layer(layer) for layer in model.layers]
    return twin


def _float64_layer(layer):
    """A copy of ``layer`` with float64 copies of its weights and an activation of its own.

    ``copy.copy`` keeps the settings (units, strides...). What ``forward`` and ``backward`` store
    (``self.inputs``, ...) is assigned anew on the copy, never changed in place, so the original
    keeps its own. Two things are shared and must not be: the weights, which layers list in
    ``params`` and ``states`` and also name (``Dense.kernel`` is ``params[0]``), and the activation
    object, which remembers its last output.
    """
    twin = copy.copy(layer)
    wide_weights = [backend.asarray(weight, dtype="float64") for weight in layer.get_weights()]
    twin.params, twin.states = wide_weights[:len(layer.params)], wide_weights[len(layer.params):]
    twin.grads = [None] * len(twin.params)
    for attribute, value in vars(layer).items():
        for original, wide in zip(layer.weights, wide_weights):
            if value is original:
                setattr(twin, attribute, wide)
        if isinstance(value, activations.ActivationFunction):
            setattr(twin, attribute, activations.get(value))
    return twin


def _compare(twin, x, y, epsilon, limit, random_state):
    """One row per layer and weight: ``(layer, name, shape, checked, error)``; ``name`` is None for
    a layer without weights. Every forward pass starts from ``random_state``."""

    def forward():
        generator().bit_generator.state = random_state
        return twin._forward(x, training=True)

    def loss():
        return backend.to_scalar(twin._batch_loss(y, forward()))

    twin._backward(y, forward())
    analytic = [backend.to_numpy(grad) for grad in twin._grads()]
    resolution = 10 * np.finfo(np.float64).eps * max(abs(loss()), 1.0) / epsilon  # of one measured slope

    # A generator of our own picks the entries, so tinynet's random numbers are not touched.
    picker = np.random.default_rng(0)
    rows, number = [], 0
    for layer in twin.layers:
        if not layer.params:
            rows.append((layer, None, None, 0, None))
        for name, param in zip(layer.weight_names(), layer.params):  # params come first
            values = backend.to_numpy(param).copy()
            entries = _chosen_entries(values.shape, limit, picker)
            numeric = np.empty(len(entries))
            for count, entry in enumerate(entries):
                param[entry] = values[entry] + epsilon
                plus = loss()
                param[entry] = values[entry] - epsilon
                minus = loss()
                param[entry] = values[entry]
                numeric[count] = (plus - minus) / (2 * epsilon)
            exact = np.array([analytic[number][entry] for entry in entries])
            error = _relative_error(exact, numeric, resolution * math.sqrt(len(entries)))
            rows.append((layer, name, values.shape, len(entries), error))
            number += 1
    return rows


def _chosen_entries(shape, limit, picker):
    """The index tuples to check: all entries, or ``limit`` of them drawn without repetition."""
    size = math.prod(shape)
    if limit is None or limit >= size:
        flat = range(size)
    else:
        flat = np.sort(picker.choice(size, limit, replace=False))
    return [tuple(int(i) for i in np.unravel_index(f, shape)) for f in flat]


def _relative_error(analytic, numeric, resolution):
    """``||a - n|| / (||a|| + ||n||)``, and 0 when both are within ``resolution``, what central
    differences can tell apart from 0."""
    scale = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    return float(np.linalg.norm(analytic - numeric) / scale) if scale > resolution else 0.0


def _print_table(model, rows, samples, epsilon, limit, print_fn):
    """Print the table of relative errors and the verdict; return the worst error."""
    labels = {layer: f"{layer.name} ({type(layer).__name__})" for layer, *_ in rows}
    shapes = [len(str(shape)) for _, _, shape, _, _ in rows if shape is not None]
    widths = (max(len(label) for label in labels.values()) + 2, 8, max(shapes, default=0) + 2, 18, 14)
    rule = sum(widths)

    def line(fields):
        print_fn("".join(str(field).ljust(width) for field, width in zip(fields, widths)).rstrip())

    print_fn(
        f"Gradient check of {model.name} on {samples} samples: "
        f"float64, central differences, epsilon={epsilon:g}"
    )
    print_fn("_" * rule)
    line(["Layer (type)", "Weight", "Shape", "Entries checked", "Relative error"])
    print_fn("=" * rule)
    worst, worst_row, previous_layer = 0.0, None, None
    for layer, name, shape, checked, error in rows:
        label = labels[layer] if layer is not previous_layer else ""
        previous_layer = layer
        if name is None:
            line([label, "-", "", "", "no weights"])
            continue
        size = math.prod(shape)
        entries = f"{checked:,}" if checked == size else f"{checked:,} of {size:,}"
        line([label, name, shape, entries, f"{error:.2e}"])
        if worst_row is None or error > worst:
            worst, worst_row = error, (layer.name, name)
    print_fn("=" * rule)
    if any(name is not None and checked < math.prod(shape) for _, name, shape, checked, _ in rows):
        print_fn(f"Only {limit:,} random entries of each larger weight array were checked.")
    if worst_row is None:
        print_fn("The model has no weights: nothing to check.")
        return worst
    where = f"Worst: {worst:.2e} ({worst_row[0]} {worst_row[1]})"
    if worst < TOLERANCE:
        print_fn(f"{where}: backpropagation agrees with the measured slopes.")
    else:
        print_fn(
            f"{where}, above {TOLERANCE:g}: a backward pass at or above that layer is wrong, or a step "
            "crossed a kink (relu at 0, tied maxima): check other samples, a real mistake stays."
        )
    return worst
