"""``Sequential``: a stack of layers, and the training loop that teaches it.

One batch through ``fit`` (``_train_step``):

1. forward: each layer turns the batch into its output, the last one gives the predictions ``p``;
2. backward: the gradient of the loss, ``dL/dp`` (or, for softmax + cross-entropy, directly
   ``dL/dz = (p - y) / n``), goes back through the layers in reverse; each stores the gradients of
   its weights (plus those of their regularizers' penalties, which the loss includes);
3. loss and metrics: how far ``p`` was from the targets ``y`` (each one number, the batch mean;
   the loss plus the penalties), the values before the update, as in Keras. Metric objects
   (``Precision()``...) add the batch to their counts instead;
4. update: the optimizer moves every weight against its gradient; a weight with a constraint
   (``kernel_constraint=MaxNorm(3)``) is then projected back into its allowed set.

``fit`` repeats this over the shuffled training set once per epoch, reporting the running means
of the loss and metrics in a Keras progress bar.
"""

import contextlib
import json
import numbers
import os
import signal
import sys
import warnings

import numpy as np

from tinynet import backend, losses, optimizers
from tinynet import metrics as metrics_module
from tinynet.callbacks import Callback, History
from tinynet.layers.base import Layer, _unique_name
from tinynet.layers.core import InputLayer
from tinynet.random import generator
from tinynet.saving import LAYER_CLASSES, check_file_name, how_to_give, load_model, save_model, weight_arrays
from tinynet.utils import validation
from tinynet.utils.lookup import UnknownNameError, lookup
from tinynet.utils.object_registration import custom_object_scope, get_registered_name
from tinynet.utils.files import load_npz, save_npz_atomic
from tinynet.utils.progbar import Progbar

__all__ = ["Sequential", "clone_model", "load_model", "model_from_json"]

# predict/evaluate split their input only to bound memory: the result does not depend on the
# chunk size. Keras's default of 32 rows makes predict 50x slower than it needs to be on MNIST;
# tinynet sizes each chunk so that the largest array one layer creates stays near this many
# bytes: 4,096 rows (the most) for the tutorial's Dense layers, 75 images for the book's CNN,
# whose im2col matrices would otherwise outgrow the CPU caches (2x slower at 1024 images).
INFERENCE_CHUNK_BYTES = 16 * 2**20
MAX_INFERENCE_BATCH_SIZE = 4096

# The default of _prepare's y: predict needs no targets, while fit(x) with y=None is a mistake.
_NO_TARGETS = object()


class Sequential:
    """A linear stack of layers, with Keras's ``compile``/``fit``/``evaluate``/``predict``."""

    def __init__(self, layers=None, name=None):
        self.name = name or _unique_name(type(self))
        self._layers = []
        self._declared_input_shape = None  # from an Input given before the first layer
        self.optimizer = None
        self.loss = None
        self.metrics = []
        self.weighted_metrics = []
        self._batch_means = []  # compile's metric functions, each giving a batch's mean
        self._weighted_batch_means = []
        self._metric_objects = []  # (place among the logged values, Metric, weighted or not)
        self.stop_training = False
        self.stop_evaluating = False
        self.stop_predicting = False
        self.history = None
        self._trainable = True
        # Joined first and built once at the end, when the input shape is known: build checks the
        # whole stack's shapes before it creates any weight, so a list that cannot be stacked
        # leaves its layers as they were.
        joined = []
        try:
            for layer in layers or []:
                if self._join(layer):
                    joined.append(layer)
            input_shape = self._known_input_shape()
            if input_shape is not None:
                self.build(input_shape)
        except Exception:
            for layer in joined:
                layer.in_a_model = False
            raise

    # --- building ------------------------------------------------------------------------------

    @property
    def layers(self):
        return list(self._layers)

    def get_layer(self, name=None, index=None):
        """The layer called ``name`` (``"dense_1"``; the first, if several are), or the one at
        position ``index``, as in Keras."""
        if (name is None) == (index is None):
            raise ValueError("get_layer needs a name or an index (one of them), e.g. get_layer('dense_1').")
        if index is not None:
            count = len(self._layers)
            if isinstance(index, bool) or not isinstance(index, numbers.Integral) or not -count <= index < count:
                raise ValueError(f"get_layer index must be an integer from 0 to {count - 1}; got {index!r}.")
            return self._layers[index]
        for layer in self._layers:
            if layer.name == name:
                return layer
        names = ", ".join(repr(layer.name) for layer in self._layers) or "none"
        raise ValueError(f"No such layer: {name!r}. Existing layers are: {names}.")

    @property
    def weights(self):
        """Every weight array of the model (on the backend's device), layer by layer, in each
        layer's order (kernel before bias; BatchNormalization's moving averages after its own)."""
        return [w for layer in self._layers for w in layer.weights]

    @property
    def trainable(self):
        """Whether training may change the model's weights. Setting it sets every layer's
        ``trainable``, as in Keras: ``model.trainable = False`` freezes the whole model."""
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        for layer in self._layers:
            layer.trainable = self._trainable

    @property
    def trainable_weights(self):
        """The weights training changes: the ``params`` of the layers with ``trainable=True``."""
        return [w for layer in self._layers for w in layer.trainable_weights]

    @property
    def non_trainable_weights(self):
        """The weights the optimizer leaves alone: those of frozen layers (``trainable=False``),
        and the ``states`` layers keep themselves (BatchNormalization's moving averages)."""
        return [w for layer in self._layers for w in layer.non_trainable_weights]

    @property
    def built(self):
        return bool(self._layers) and all(layer.built for layer in self._layers)

    def _known_input_shape(self):
        """The input shape declared by an Input or the first layer's input_shape, or the one a
        first layer shared with another model was built for; None while nothing says."""
        if not self._layers or self._declared_input_shape is not None:
            return self._declared_input_shape
        first = self._layers[0]
        return first.input_shape if first.built else first.batch_input_shape

    def add(self, layer):
        """Put ``layer`` on top of the stack (building it at once if the input shape is known)."""
        self._join(layer, build=True)

    def _join(self, layer, build=False):
        """``add``'s work; with ``build``, the layer is built before it joins. True if ``layer``
        joined the model as one of its own for the first time (an Input only declares a shape)."""
        if not isinstance(layer, Layer):
            raise TypeError(
                f"Sequential.add expects a tinynet layer such as Dense(10); got {layer!r} "
                f"of type {type(layer).__name__}."
            )
        if any(existing is layer for existing in self._layers):
            raise ValueError(f"Layer {layer.name!r} is already in this model.")
        if isinstance(layer, InputLayer):
            if self._layers or self._declared_input_shape is not None:
                raise ValueError(
                    f"An Input declares the shape of the model's input, so it comes first, once; "
                    f"model {self.name!r} has {'layers' if self._layers else 'an Input'} already."
                )
            self._declared_input_shape = layer.batch_input_shape
            return False
        declared = self._declared_input_shape is not None
        if (self._layers or declared) and layer.batch_input_shape is not None and not layer.in_a_model:
            warnings.warn(f"input_shape is only used on a model's first layer; {layer.name!r} ignores it.")
        if not self._layers:
            input_shape = self._declared_input_shape if declared else layer.batch_input_shape
        else:
            input_shape = self._layers[-1].output_shape if self._layers[-1].built else None
        if build and input_shape is not None:
            # Built before it joins: a layer that cannot take this shape leaves the model as it was.
            _build_layer(layer, input_shape)
        # The first layer has nobody to pass dL/dx to, so it may skip computing it; but a layer
        # that is in another model already (sharing its weights) may not be first there.
        first_time = not layer.in_a_model
        layer.input_gradient_needed = bool(self._layers) or layer.in_a_model
        layer.in_a_model = True
        self._layers.append(layer)
        return first_time

    def pop(self):
        """Take the last layer off the stack (as Keras's ``pop``) and return it. Compile the model
        again before training it: its optimizer's state belongs to the weights it had."""
        if not self._layers:
            raise ValueError(f"Model {self.name!r} has no layers to pop.")
        return self._layers.pop()

    def build(self, input_shape):
        """Create every layer's weights for inputs of ``input_shape`` (with the batch as None).

        Every layer's shapes are checked first, so a model that cannot take ``input_shape`` is left
        unbuilt, ready for other inputs.
        """
        self._output_shape_for(input_shape)
        shape = tuple(input_shape)
        for layer in self._layers:
            _build_layer(layer, shape)
            shape = tuple(layer.compute_output_shape(shape))

    def _output_shape_for(self, input_shape):
        """The model's output shape for inputs of ``input_shape``; raises if a layer cannot take
        what the one before it gives. Builds nothing."""
        if not self._layers:
            raise ValueError("The model has no layers: add some with model.add(...) first.")
        shape = tuple(input_shape)
        for layer in self._layers:
            if layer.built:
                layer.check_input(shape)
            shape = tuple(layer.compute_output_shape(shape))
        return shape

    @property
    def input_shape(self):
        if not self._layers and self._declared_input_shape is not None:  # an Input and nothing more yet
            return self._declared_input_shape
        return self._layers[0].input_shape

    @property
    def output_shape(self):
        return self._layers[-1].output_shape

    @property
    def _params(self):
        """The weights the optimizer is given (every layer's ``params``), in the order of ``_grads``."""
        return [p for layer in self._layers for p in layer.params]

    def _grads(self):
        return [g for layer in self._layers for g in layer.grads]

    def _updates(self):
        """The gradients the optimizer applies, one per weight of ``_params``: None for the weights
        of a layer with ``trainable=False``, which training leaves as they are."""
        return [g if layer.trainable else None for layer in self._layers for g in layer.grads]

    def _check_built(self, action):
        if not self.built:
            raise ValueError(
                f"The model must be built before {action}: give the first layer an input_shape, "
                "e.g. Dense(10, input_shape=(784,)), or call fit first."
            )

    # --- the summary ---------------------------------------------------------------------------

    def count_params(self):
        """The total number of weights in the model."""
        self._check_built("counting its parameters")
        return sum(layer.count_params() for layer in self._layers)

    def summary(self, line_length=65, positions=(0.45, 0.85, 1.0), print_fn=None):
        """Print the table of layers, output shapes and parameter counts, in Keras 2's format.

        ``print_fn`` receives each line (default: ``print``), so a caller can capture the table.
        """
        self._check_built("summary() can show its shapes")
        print_fn = print_fn or print
        stops = [int(line_length * p) if p <= 1 else int(p) for p in positions]

        def row(fields):
            line = ""
            for field, stop in zip(fields, stops):
                line = (line[:-1] + " " if line else line) + str(field)
                line = line[:stop].ljust(stop)
            print_fn(line)

        print_fn("_" * line_length)
        row(["Layer (type)", "Output Shape", "Param #"])
        print_fn("=" * line_length)
        for index, layer in enumerate(self._layers):
            shape = "(" + ", ".join(str(d) for d in layer.output_shape) + ")"
            row([f"{layer.name} ({type(layer).__name__})", shape, layer.count_params()])
            print_fn(("=" if index == len(self._layers) - 1 else "_") * line_length)
        total = self.count_params()
        trainable = sum(int(np.prod(w.shape)) for w in self.trainable_weights)
        print_fn(f"Total params: {total:,}")
        print_fn(f"Trainable params: {trainable:,}")
        print_fn(f"Non-trainable params: {total - trainable:,}")
        print_fn("_" * line_length)

    # --- compiling -----------------------------------------------------------------------------

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, weighted_metrics=None):
        """Choose the optimizer, the loss and the metrics to report (names or objects, as in Keras).

        ``metrics`` are not weighted; ``weighted_metrics`` are the same kinds of metrics weighted by
        ``fit``'s and ``evaluate``'s ``sample_weight`` (or ``class_weight``), as in Keras: the
        weighted mean ``sum_i w_i m_i / sum_i w_i`` of the samples' values, or for a metric object
        (``Precision()``...) the weights given to its ``update_state``. A weighted metric is
        logged under its own name, or as ``weighted_<name>`` when ``metrics`` has that name too.
        A metric object is used as it is (as in Keras): ``fit`` and ``evaluate`` reset its state.
        """
        if loss is None:
            raise ValueError("compile needs a loss, e.g. loss='categorical_crossentropy'.")
        for argument, given in (("metrics", metrics), ("weighted_metrics", weighted_metrics)):
            if isinstance(given, str):
                raise TypeError(f"{argument} must be a list, e.g. {argument}=[{given!r}]; got the string {given!r}.")
        # Look everything up before changing anything: a misspelt metric keeps the old optimizer.
        loss = losses.get(loss)
        optimizer = optimizers.get(optimizer)
        metrics = [metrics_module.get(m) for m in (metrics or [])]
        weighted_metrics = [metrics_module.get_weighted(m) for m in (weighted_metrics or [])]
        names = _metric_log_names(metrics, weighted_metrics)
        repeated = sorted({name for name in names if names.count(name) > 1} | ({"loss"} & set(names)))
        if repeated:  # History and the progress bar key each value by its name
            raise ValueError(
                f"Each metric needs a name of its own, and none may be 'loss'; got "
                f"{', '.join(map(repr, repeated))} among {names}. Give a metric function its own name "
                "(def my_metric(y_true, y_pred): ...), or a metric object one: Precision(name='precision_2')."
            )
        # The metric objects, each with its place among the logged values (after the loss).
        compiled = [(metric, False) for _, metric in metrics] + [(metric, True) for _, metric in weighted_metrics]
        metric_objects = [(place + 1, metric, weighted) for place, (metric, weighted) in enumerate(compiled)
                          if isinstance(metric, metrics_module.Metric)]
        objects = [metric for _, metric, _ in metric_objects]
        shared = [metric.name for number, metric in enumerate(objects) if metric in objects[:number]]
        if shared:  # one state cannot count the batches twice
            raise ValueError(
                f"The metric object {shared[0]!r} is given to compile twice (in metrics and weighted_metrics); "
                "give each place an object of its own, e.g. metrics=[Precision()], weighted_metrics=[Precision()]."
            )
        self.loss, self.optimizer, self.metrics = loss, optimizer, metrics
        self.weighted_metrics = weighted_metrics
        self._batch_means = [metric for _, metric in metrics if not isinstance(metric, metrics_module.Metric)]
        self._weighted_batch_means = [metric for _, metric in weighted_metrics
                                      if not isinstance(metric, metrics_module.Metric)]
        self._metric_objects = metric_objects
        self.stop_training = False
        if loss.from_logits and self._layers and self._fused_loss():
            # Keras on TensorFlow does the same: it warns, then reads the loss off the logits
            # under the activation, as if from_logits were False (on JAX it would apply the
            # activation twice).
            warnings.warn(
                f"`{loss.name}` received `from_logits=True`, but the model's output is produced by a "
                f"{loss.fused_activation} activation and thus does not represent logits. Was this "
                f"intended? The loss is computed from the logits under the {loss.fused_activation}, "
                "as if from_logits were False.",
                stacklevel=2,
            )

    @property
    def metrics_names(self):
        """The names of the values fit logs and evaluate returns, in their order: the loss, the
        metrics, the weighted metrics."""
        return ["loss", *_metric_log_names(self.metrics, self.weighted_metrics)]

    def _check_compiled(self, action):
        if self.loss is None:
            raise ValueError(
                f"You must compile the model before {action}: "
                "model.compile(loss='categorical_crossentropy', optimizer='sgd', metrics=['accuracy'])."
            )

    def _fused_loss(self):
        """True when the last layer's activation and the loss differentiate together (p - y)."""
        activation = getattr(self._layers[-1], "activation", None)
        return activation is not None and activation.name == self.loss.fused_activation

    # --- one batch -----------------------------------------------------------------------------

    def _forward(self, x, training):
        for layer in self._layers:
            x = layer.forward(x, training=training)
        return x

    def _backward(self, y, y_pred, sample_weight=None):
        """Backpropagate the loss of the last forward pass, filling every layer's ``grads``."""
        layers = self._layers
        fused = self._fused_loss()
        grad = self.loss.gradient_wrt_logits(y, y_pred) if fused else self.loss.gradient(y, y_pred)
        if sample_weight is not None:
            # L = (1/n) sum_i w_i l_i, and l_i depends on sample i's row alone: that row of the
            # gradient is multiplied by w_i.
            grad = grad * backend.namespace().reshape(sample_weight, (-1,) + (1,) * (grad.ndim - 1))
        if fused:
            grad = layers[-1].backward_from_logits(grad)
            layers = layers[:-1]
        for layer in reversed(layers):
            grad = layer.backward(grad)
        for layer in self._layers:
            if layer.regularized and layer.trainable:  # the loss has their penalties too (see losses)
                layer.add_penalty_gradients()

    def _train_step(self, x, y, sample_weight=None):
        """Forward, backward and update on one batch; returns the batch's loss and metric functions'
        values (the metric objects count the batch in their own state)."""
        y_pred = self._forward(x, training=True)
        self._backward(y, y_pred, sample_weight)
        if self._metric_objects:  # before the update: one that refuses the batch leaves the weights alone
            self._update_metric_objects(y, y_pred, sample_weight)
        values = self._batch_values(y, y_pred, sample_weight)  # with the penalties of the weights before the update
        self.optimizer.apply(self._params, self._updates())
        for layer in self._layers:
            if layer.constrained and layer.trainable:
                layer.apply_constraints()
        return values

    def _batch_values(self, y, y_pred, sample_weight=None):
        """The batch's loss and the values of the metric functions, as 0-d device arrays (no copy
        to the host here). Sample weights weigh the loss and the ``weighted_metrics``, not Keras's
        ``metrics=``. With weighted metric functions and sample weights, the sum of the batch's
        weights comes last: the weight ``_RunningMeans`` gives the batch's weighted values."""
        values = [self._batch_loss(y, y_pred, sample_weight)] + [metric(y, y_pred) for metric in self._batch_means]
        if self._weighted_batch_means:
            values += [metric(y, y_pred, sample_weight) for metric in self._weighted_batch_means]
            if sample_weight is not None:
                values.append(backend.namespace().sum(sample_weight))
        return values

    def _update_metric_objects(self, y, y_pred, sample_weight=None):
        """Add the batch to each metric object's state (on the device; nothing comes to the host)."""
        for _, metric, weighted in self._metric_objects:
            metric.update_state(y, y_pred, sample_weight if weighted else None)

    def _reset_metric_objects(self):
        for _, metric, _ in self._metric_objects:
            metric.reset_state()

    def _logged_values(self, means):
        """The values so far, in the order of ``metrics_names``: the running means, with each metric
        object's ``result()`` in its place (read from the device now, with the means)."""
        values = means.means()
        for place, metric, _ in self._metric_objects:
            values.insert(place, _log_value(metric.result()))
        return values

    @property
    def losses(self):
        """The regularizers' penalties of the weights now, one 0-d array per regularized weight of
        a trainable layer, as Keras's ``model.losses``."""
        return [penalty for layer in self._layers if layer.regularized for penalty in layer.losses]

    def _batch_loss(self, y, y_pred, sample_weight=None):
        """The loss of the batch whose forward pass gave ``y_pred``, the function ``_backward``
        differentiates: the data's loss plus the regularizers' penalties, unweighted (as Keras
        adds them)."""
        loss = self._data_loss(y, y_pred, sample_weight)
        penalties = self.losses
        return loss + sum(penalties) if penalties else loss

    def _data_loss(self, y, y_pred, sample_weight=None):
        """The loss function's value on the batch whose forward pass gave ``y_pred``."""
        if self._fused_loss():  # read off the activation's log-probabilities, as from the logits
            activation = self._layers[-1].activation
            if sample_weight is None:
                return self.loss.fused_value(y, activation)
            return losses.weighted_mean(self.loss.fused_per_sample(y, activation), sample_weight)
        if sample_weight is not None:
            return self.loss.weighted_value(y, y_pred, sample_weight)
        return self.loss.value(y, y_pred)

    # --- checking and moving data --------------------------------------------------------------

    def _prepare(self, x, y=_NO_TARGETS, input_shape=None, build=True):
        """Validate ``x`` (and ``y``) and return them as host or device arrays of the right types.

        ``x`` must fit ``input_shape``: by default the model's, or for a model not built yet the
        shape ``x`` would build it for. Everything is checked before the model is built (with
        ``build``), so a mistake leaves it as it was.
        """
        x = validation.as_array("x", x)
        validation.check_finite("x", x)
        if input_shape is None:
            input_shape = self.input_shape if self.built else (None, *x.shape[1:])
        validation.check_features(x, input_shape[1:], self.name)
        output_shape = self._output_shape_for(input_shape)
        if y is not _NO_TARGETS:
            y = self._prepare_targets(x, y, output_shape)
        if build and not self.built:
            self.build(input_shape)
        return x, (None if y is _NO_TARGETS else y)

    def _prepare_weighted(self, x, y, sample_weight=None, class_weight=None, input_shape=None, build=True):
        """``_prepare``, and each sample's weight in the loss (a host vector, or None without
        weights: see ``validation.sample_weights``), all checked before the model is built."""
        x, y = self._prepare(x, y, input_shape=input_shape, build=False)
        input_shape = input_shape or (self.input_shape if self.built else (None, *x.shape[1:]))
        classes = self._output_shape_for(input_shape)[-1]
        weights = validation.sample_weights(y, sample_weight, class_weight, self.loss, classes)
        if build and not self.built:
            self.build(input_shape)
        return x, y, weights

    def _prepare_targets(self, x, y, output_shape):
        """Validate ``y`` against ``x`` and the loss; targets without the output's last axis of
        length 1 (a vector of 0/1 for one output, a map per pixel) get it."""
        if y is None:
            raise ValueError(
                "y is missing: training and evaluating need the targets as well as the inputs, "
                "e.g. model.fit(x_train, y_train)."
            )
        y = validation.as_array("y", y)
        validation.check_finite("y", y)
        validation.check_targets(x, y, self.loss, output_shape)
        if y.ndim == len(output_shape) - 1 and self.loss.name != "sparse_categorical_crossentropy":
            shape = (*y.shape, 1)
            y = y.reshape(shape) if isinstance(y, np.ndarray) else backend.namespace().reshape(y, shape)
        return y

    def _target_dtype(self):
        sparse = self.loss.name == "sparse_categorical_crossentropy"
        return "int64" if sparse else None

    def _to_device(self, x, y):
        """The one host-to-device transfer of a data set (a no-op for float32 NumPy on the CPU)."""
        x = backend.asarray(x)
        return x, None if y is None else backend.asarray(y, dtype=self._target_dtype())

    # --- fit -----------------------------------------------------------------------------------

    def fit(
        self,
        x=None,
        y=None,
        batch_size=None,
        epochs=1,
        verbose=1,
        callbacks=None,
        validation_split=0.0,
        validation_data=None,
        shuffle=True,
        class_weight=None,
        sample_weight=None,
        initial_epoch=0,
        steps_per_epoch=None,
        validation_steps=None,
        validation_batch_size=None,
        validation_freq=1,
    ):
        """Train for ``epochs`` passes over ``(x, y)`` in batches of ``batch_size`` (default 32).

        ``validation_split`` holds out the *last* fraction of the samples (before shuffling, as
        Keras documents); ``validation_data=(x_val, y_val)`` gives a validation set explicitly.
        Either adds ``val_loss`` and ``val_<metric>`` to the logs, every ``validation_freq``-th epoch
        (an int) or after the epochs listed (``[1, 5, 10]``, counted from 1), as in Keras 3.
        Returns the ``History``.
        ``sample_weight`` (one number per sample) or ``class_weight`` (``{label: weight}``) weigh
        each sample's loss, as Keras does: the loss and its gradient, and the ``weighted_metrics``,
        not the ``metrics``; the weights of the samples ``validation_split`` holds out weigh the
        validation values.

        ``steps_per_epoch`` makes an epoch that many batches, taken as Keras 3 takes them from
        arrays: each epoch goes on with the next batches of the current pass over the (shuffled)
        data, and an epoch that uses the pass up stops there, with a warning; the next one starts a
        new pass, newly shuffled. So with 4 batches and ``steps_per_epoch=3`` the epochs train on
        3, 1, 3, 1... batches. Without ``batch_size`` the batches are then ``ceil(n /
        steps_per_epoch)`` samples, one pass per epoch; the progress bar counts steps, not samples.
        ``validation_steps`` validates on the first that many batches of ``validation_batch_size``
        samples (by default ``batch_size``; without either, those that split the validation data
        into ``validation_steps`` batches).
        Ctrl-C stops training cleanly at the end of the current batch.
        """
        self._check_compiled("fit")
        given_batch_size = _optional_count("batch_size", batch_size)
        epochs = validation.check_count("epochs", epochs, 0)
        initial_epoch = validation.check_count("initial_epoch", initial_epoch, 0)
        steps_per_epoch = _optional_count("steps_per_epoch", steps_per_epoch)
        validation_steps = _optional_count("validation_steps", validation_steps)
        validation_batch_size = _optional_count("validation_batch_size", validation_batch_size)
        verbose = validation.check_verbose(verbose)
        validation_freq = _check_validation_freq(validation_freq)
        callbacks = _check_callbacks(callbacks)
        x, y, weights = self._prepare_weighted(x, y, sample_weight, class_weight, build=False)
        x_val, y_val, w_val = self._validation_set(x, y, validation_split, validation_data)
        if x_val is not None and validation_data is None:
            x, y = x[: -len(x_val)], y[: -len(x_val)]
            if weights is not None:
                # sample_weight goes with its samples; class_weight weighs training only, as in Keras
                w_val = weights[-len(x_val) :] if sample_weight is not None else None
                weights = weights[: -len(x_val)]

        # Everything that could refuse this fit is checked before the model is built or trained.
        validation_names = [f"val_{name}" for name in self.metrics_names] if x_val is not None else []
        log_names = [*self.metrics_names, *validation_names]
        log_names += [name for callback in callbacks for name in callback.logs_added]
        for callback in callbacks:
            callback.set_model(self)  # check_logs may ask about the model (ModelCheckpoint)
            callback.check_logs(log_names)
        self._build_for_training(x)

        if given_batch_size is not None:
            batch_size = given_batch_size
        else:  # Keras's default: 32, or with steps_per_epoch the size that makes them one pass
            batch_size = -(-x.shape[0] // steps_per_epoch) if steps_per_epoch else 32
        batches = _TrainingBatches(x.shape[0], batch_size, steps_per_epoch, shuffle)
        test_batch_callbacks = [c for c in callbacks if c.wants_test_batch_hooks()]
        if x_val is not None:
            # Keras's validation batches, and the rows its validation_steps cover. Unless a callback
            # sees the batches, evaluate those rows in chunks: the values are the same.
            keras_batch_size, rows = _keras_batches(
                x_val.shape[0], validation_batch_size or given_batch_size, validation_steps, "validation_steps"
            )
            validation_chunk = keras_batch_size if test_batch_callbacks else self._inference_batch_size(
                validation_batch_size)
            x_val, y_val = self._to_device(x_val[:rows], y_val[:rows])
            w_val = _on_device(None if w_val is None else w_val[:rows])
        x, y = self._to_device(x, y)
        weights = _on_device(weights)
        history = History()
        # History goes last, as in Keras, so it records what other callbacks add to the logs
        # (LearningRateScheduler's learning_rate).
        callbacks = [*callbacks, history]
        self.history = history
        params = {"batch_size": batch_size, "epochs": epochs, "steps": batches.steps, "samples": x.shape[0],
                  "verbose": verbose}
        for callback in callbacks:
            callback.set_model(self)
            callback.set_params(params)
        batch_callbacks = [c for c in callbacks if c.wants_batch_hooks()]
        history.params = params
        if verbose and x_val is not None:
            print(f"Train on {x.shape[0]} samples, validate on {x_val.shape[0]} samples")

        self.stop_training = False
        for callback in callbacks:
            callback.on_train_begin({})
        logs = {}
        with _deferred_interrupt() as interrupted:
            for epoch in range(initial_epoch, epochs):
                for callback in callbacks:
                    callback.on_epoch_begin(epoch, {})
                if verbose:
                    print(f"Epoch {epoch + 1}/{epochs}")
                progbar = Progbar(batches.target, verbose=verbose) if verbose else None
                epoch_logs = self._train_epoch(x, y, weights, batches, progbar, epoch, batch_callbacks, interrupted)
                if epoch_logs is None:  # the epoch did not finish: Ctrl-C or a non-finite loss
                    break
                logs = epoch_logs
                if x_val is not None and _validates_after(epoch, validation_freq):
                    values = self._evaluate_arrays(x_val, y_val, validation_chunk, callbacks, weights=w_val)
                    logs.update({"val_" + name: value for name, value in zip(self.metrics_names, values)})
                for callback in callbacks:
                    callback.on_epoch_end(epoch, logs)
                if progbar is not None:  # the finished line, with the validation values, as Keras
                    progbar.update(progbar.target, list(logs.items()))
                if self.stop_training or interrupted():  # a Ctrl-C in the epoch's last batch
                    break
        if epochs > 0:  # as Keras: with use_ema, the weights become their moving averages
            self.optimizer.finalize_variable_values(self._params)
        for callback in callbacks:
            callback.on_train_end(dict(logs))  # the last finished epoch's logs, as in Keras 3
        return history

    def _build_for_training(self, x):
        """Refuse an optimizer that trains other weights, then build the model for ``x``'s samples
        if it is not built: the last check before training changes anything."""
        self.optimizer.check_same_weights(self._params)  # an unbuilt model has none: a new optimizer fits
        if not self.built:
            self.build((None, *x.shape[1:]))
        if not self.optimizer.built:  # with the weights' names, which exclude_from_weight_decay may use
            names = [name for layer in self._layers for name in layer.weight_names()[:len(layer.params)]]
            self.optimizer.build(self._params, names)

    def _validation_set(self, x, y, validation_split, validation_data):
        """``(x_val, y_val, sample weights or None)``, or three Nones without validation."""
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
                raise ValueError(
                    "validation_data must be a tuple (x_val, y_val) or (x_val, y_val, sample_weight_val)."
                )
            x_val, y_val, *weights = validation_data
            try:
                return self._prepare_weighted(
                    x_val, y_val, *weights, input_shape=(None, *x.shape[1:]), build=False
                )
            except (ValueError, TypeError) as error:  # the checks speak of x, y and sample_weight
                raise type(error)(f"In validation_data, (x_val, y_val[, sample_weight_val]): {error}") from None
        if isinstance(validation_split, bool) or not isinstance(validation_split, (int, float)) or not (
            0 <= validation_split < 1
        ):
            raise ValueError(f"validation_split must be a number in [0, 1); got {validation_split!r}.")
        # As Keras: the first int(n * (1 - split)) samples train and the rest validate.
        count = x.shape[0] - int(x.shape[0] * (1.0 - validation_split))
        if validation_split and (count == 0 or count == x.shape[0]):
            raise ValueError(
                f"validation_split={validation_split} of {x.shape[0]} samples leaves "
                f"{count} for validation and {x.shape[0] - count} for training; both need at least one."
            )
        return (x[x.shape[0] - count :], y[y.shape[0] - count :], None) if count else (None, None, None)

    def _train_epoch(self, x, y, weights, batches, progbar, epoch, batch_callbacks, interrupted):
        """One epoch: the batches ``batches`` gives it (a whole pass over the training set, unless
        ``steps_per_epoch`` says otherwise). Returns the epoch's logs, or None if it was cut short."""
        xp = backend.namespace()
        order, plan = batches.next_epoch()
        means = self._running_means(weights)
        self._reset_metric_objects()
        x_buffer = None if order is None else backend.batch_buffer(batches.batch_size, x)
        for batch, (start, stop, done) in enumerate(plan):
            if order is None:
                x_batch, y_batch = x[start:stop, ...], y[start:stop, ...]
                w_batch = None if weights is None else weights[start:stop]
            else:
                rows = order[start:stop]
                x_batch, y_batch = backend.take_rows(x, rows, x_buffer), xp.take(y, rows, axis=0)
                w_batch = None if weights is None else xp.take(weights, rows, axis=0)
            for callback in batch_callbacks:
                callback.on_train_batch_begin(batch, logs={"batch": batch, "size": stop - start})
            means.add(self._train_step(x_batch, y_batch, w_batch), stop - start)
            if batch_callbacks:
                # The epoch's means so far, as Keras 3 gives a batch callback (not the batch's own values).
                batch_logs = dict(zip(self.metrics_names, self._logged_values(means)))
                for callback in batch_callbacks:
                    callback.on_train_batch_end(batch, logs=batch_logs)
            if progbar is not None and done < progbar.target and progbar.due(done):
                progbar.update(done, list(zip(self.metrics_names, self._logged_values(means))))
            if means.bad_batch is not None or interrupted() or (self.stop_training and batch_callbacks):
                break
        values = self._logged_values(means)
        if means.bad_batch is not None:
            _report_nan(epoch, means.bad_batch, batch)
        elif interrupted() and batch + 1 < len(plan):
            print(f"\nTraining stopped at epoch {epoch + 1}, batch {batch + 1}.", file=sys.stderr)
        else:
            # A whole epoch, or one a batch callback ended early: Keras 3 still closes that epoch.
            return dict(zip(self.metrics_names, values))
        self.stop_training = True
        return None

    def _running_means(self, weights):
        """The running means of a pass over samples weighted by ``weights`` (None: unweighted): of
        the loss and the metric functions (the metric objects keep their own state)."""
        weighted = len(self._weighted_batch_means)
        return _RunningMeans(1 + len(self._batch_means) + weighted, weighted if weights is not None else 0)

    # --- evaluate and predict ------------------------------------------------------------------

    def evaluate(self, x=None, y=None, batch_size=None, verbose=1, sample_weight=None, steps=None, callbacks=None,
                 return_dict=False):
        """The loss (and metrics) on ``(x, y)``: a float, or a list ``[loss, metric, ...]`` in the
        order of ``metrics_names``, or with ``return_dict=True`` a dict ``{"loss": ...,
        "accuracy": ...}`` (as in Keras). ``sample_weight`` weighs each sample's loss and the
        weighted metrics, as in ``fit``. (Keras 3.15's list holds a metric given both weighted and
        not as two values under one name, the unweighted twice, and the weighted value last;
        tinynet's list has one value per name of ``metrics_names``.)

        ``batch_size`` only bounds memory (by default, chunks sized by ``INFERENCE_CHUNK_BYTES``);
        the result is the mean over all samples whatever it is, unless ``steps`` evaluates only the
        first ``steps`` batches of ``batch_size`` samples (without ``batch_size``, ``steps`` batches
        cover all the samples, as in Keras). ``callbacks`` get ``on_test_begin``,
        ``on_test_batch_begin``/``on_test_batch_end`` for each batch (of 32 rows unless
        ``batch_size`` or ``steps`` say otherwise, as in Keras) and ``on_test_end``; one of them
        stops the evaluation after a batch by setting ``model.stop_evaluating = True``.
        """
        self._check_compiled("evaluate")
        batch_size = _optional_count("batch_size", batch_size)
        steps = _optional_count("steps", steps)
        verbose = validation.check_verbose(verbose)
        callbacks = _check_callbacks(callbacks)
        x, y, weights = self._prepare_weighted(x, y, sample_weight)
        keras_batch_size, rows = _keras_batches(x.shape[0], batch_size, steps, "steps")
        chunk = keras_batch_size if callbacks else self._inference_batch_size(batch_size)
        x, y = self._to_device(x[:rows], y[:rows])
        weights = _on_device(None if weights is None else weights[:rows])
        _start_callbacks(self, callbacks, steps or -(-rows // keras_batch_size), verbose)
        values = self._evaluate_arrays(x, y, chunk, callbacks, verbose, weights)
        if return_dict:
            return dict(zip(self.metrics_names, values))
        return values[0] if len(values) == 1 else values

    def _inference_batch_size(self, batch_size):
        """``batch_size`` if the user gave one, else the rows that keep chunks near INFERENCE_CHUNK_BYTES."""
        if batch_size is not None:
            return batch_size
        itemsize = 8 if backend.floatx() == "float64" else 4
        largest = max(layer.numbers_per_sample() for layer in self._layers) * itemsize
        return max(1, min(MAX_INFERENCE_BATCH_SIZE, INFERENCE_CHUNK_BYTES // largest))

    def _evaluate_arrays(self, x, y, batch_size, callbacks, verbose=0, weights=None):
        """``evaluate``'s pass, and ``fit``'s validation: the ``on_test_*`` hooks around the means
        of the loss and metrics over ``(x, y)`` in batches of ``batch_size``."""
        self.stop_evaluating = False  # before on_test_begin, as Keras resets it
        for callback in callbacks:
            callback.on_test_begin({})
        batch_callbacks = [c for c in callbacks if c.wants_test_batch_hooks()]
        means = self._running_means(weights)
        self._reset_metric_objects()
        progbar = Progbar(x.shape[0]) if verbose == 1 else None  # as Keras 2: a bar or nothing
        for batch, (start, stop) in enumerate(_batches(x.shape[0], batch_size)):
            for callback in batch_callbacks:
                callback.on_test_batch_begin(batch, logs={})
            y_pred = self._forward(x[start:stop, ...], training=False)
            w_batch = None if weights is None else weights[start:stop]
            self._update_metric_objects(y[start:stop, ...], y_pred, w_batch)
            means.add(self._batch_values(y[start:stop, ...], y_pred, w_batch), stop - start)
            if batch_callbacks:
                batch_logs = dict(zip(self.metrics_names, self._logged_values(means)))
                for callback in batch_callbacks:
                    callback.on_test_batch_end(batch, logs=batch_logs)
            if progbar is not None:
                progbar.update(stop)
            if self.stop_evaluating:
                break
        if progbar is not None and stop < x.shape[0]:  # stopped early: the bar ends there, as in Keras
            progbar.update(x.shape[0])
        values = self._logged_values(means)
        for callback in callbacks:
            callback.on_test_end(dict(zip(self.metrics_names, values)))
        return values

    def predict(self, x, batch_size=None, verbose=0, steps=None, callbacks=None):
        """The model's outputs for ``x``, as a NumPy array (one row per sample); ``verbose=1`` shows
        a progress bar, as ``evaluate`` does. ``steps`` predicts only the first ``steps`` batches
        of ``batch_size`` samples, as in ``evaluate``. ``callbacks`` get ``on_predict_begin``,
        ``on_predict_batch_begin``/``on_predict_batch_end`` for each batch (of 32 rows unless
        ``batch_size`` or ``steps`` say otherwise, as in Keras) and ``on_predict_end``; one of them
        stops predicting after a batch by setting ``model.stop_predicting = True`` (the outputs
        are then those of the batches done)."""
        batch_size = _optional_count("batch_size", batch_size)
        steps = _optional_count("steps", steps)
        verbose = validation.check_verbose(verbose)
        callbacks = _check_callbacks(callbacks)
        x, _ = self._prepare(x)
        keras_batch_size, rows = _keras_batches(x.shape[0], batch_size, steps, "steps")
        chunk = keras_batch_size if callbacks else self._inference_batch_size(batch_size)
        x = backend.asarray(x[:rows])
        xp = backend.namespace()
        _start_callbacks(self, callbacks, steps or -(-rows // keras_batch_size), verbose)
        batch_callbacks = [c for c in callbacks if c.wants_predict_batch_hooks()]
        self.stop_predicting = False  # before on_predict_begin, as Keras resets it
        for callback in callbacks:
            callback.on_predict_begin({})
        progbar = Progbar(x.shape[0]) if verbose == 1 else None  # as Keras 2: a bar or nothing
        outputs = []
        for batch, (start, stop) in enumerate(_batches(x.shape[0], chunk)):
            for callback in batch_callbacks:
                callback.on_predict_batch_begin(batch, logs={})
            outputs.append(self._forward(x[start:stop, ...], training=False))
            if batch_callbacks:
                batch_logs = {"outputs": _to_host(outputs[-1], x)}
                for callback in batch_callbacks:
                    callback.on_predict_batch_end(batch, logs=batch_logs)
            if progbar is not None:
                progbar.update(stop)
            if self.stop_predicting:
                break
        if progbar is not None and stop < x.shape[0]:  # stopped early: the bar ends there, as in Keras
            progbar.update(x.shape[0])
        for callback in callbacks:
            callback.on_predict_end({})
        return _to_host(outputs[0] if len(outputs) == 1 else xp.concat(outputs, axis=0), x)

    def train_on_batch(self, x, y, sample_weight=None, class_weight=None):
        """One training step on exactly this batch; returns the loss (and metrics) before the update.
        The metric objects count this batch alone: they are reset first, as in Keras 3."""
        self._check_compiled("train_on_batch")
        x, y, weights = self._prepare_weighted(x, y, sample_weight, class_weight, build=False)
        self._build_for_training(x)
        x, y = self._to_device(x, y)
        self._reset_metric_objects()
        return self._as_floats(self._train_step(x, y, _on_device(weights)))

    def test_on_batch(self, x, y, sample_weight=None):
        """The loss (and metrics) on this batch, without training (the metric objects reset first,
        as in Keras 3)."""
        self._check_compiled("test_on_batch")
        x, y, weights = self._prepare_weighted(x, y, sample_weight)
        x, y = self._to_device(x, y)
        weights = _on_device(weights)
        y_pred = self._forward(x, training=False)
        self._reset_metric_objects()
        self._update_metric_objects(y, y_pred, weights)
        return self._as_floats(self._batch_values(y, y_pred, weights))

    def _as_floats(self, values):
        """A batch's values as train_on_batch and test_on_batch return them: a float for the loss
        alone, else a list in the order of ``metrics_names`` (without the sum of the weights),
        the metric objects' results in their places."""
        values = [backend.to_scalar(v) for v in values[: len(self.metrics_names) - len(self._metric_objects)]]
        for place, metric, _ in self._metric_objects:
            values.insert(place, _log_value(metric.result(), rounded=False))
        return values[0] if len(values) == 1 else values

    def predict_on_batch(self, x):
        """The outputs for this batch, as a NumPy array."""
        x, _ = self._prepare(x)
        return _to_host(self._forward(backend.asarray(x), training=False), x)

    def __call__(self, x, training=False):
        """``model(x)``: the outputs for the batch ``x`` as a NumPy array, in inference mode unless
        ``training=True`` (then dropout drops, as in a training step)."""
        x, _ = self._prepare(x)
        return _to_host(self._forward(backend.asarray(x), training=training), x)

    def layer_outputs(self, x):
        """Every layer's output for ``x``, first layer first, as NumPy arrays (inference mode).

        To look inside the network: ``model.layer_outputs(x_test[:5])[0]`` is what the tutorial's
        hidden layer makes of five test digits; the last entry is ``model.predict(x_test[:5])``.
        (Keras: ``Model(model.inputs, [layer.output for layer in model.layers]).predict(x)``.)
        """
        given, _ = self._prepare(x)
        x = backend.asarray(given)
        outputs = []
        for layer in self._layers:
            x = layer.forward(x, training=False)
            outputs.append(_to_host(x, given))
        return outputs

    # --- weights -------------------------------------------------------------------------------

    def get_weights(self):
        """All weights as a list of NumPy arrays: each layer's kernel, then its bias."""
        self._check_built("its weights exist")
        return [w for layer in self._layers for w in layer.get_weights()]

    def set_weights(self, weights):
        """Set all weights from a list like ``get_weights()`` returns (checked before any change)."""
        self._check_built("its weights can be set")
        try:
            weights = list(weights)
        except TypeError:
            raise TypeError(
                "set_weights expects a list of arrays, like get_weights() returns; "
                f"got {type(weights).__name__}."
            ) from None
        expected = sum(len(layer.weights) for layer in self._layers)
        if len(weights) != expected:
            raise ValueError(
                f"Model {self.name!r} has {expected} weight arrays; set_weights got {len(weights)}."
            )
        # Check every layer's share first, so that a mistake in the last one changes nothing.
        shares, start = [], 0
        for layer in self._layers:
            shares.append(layer.check_weights(weights[start : start + len(layer.weights)]))
            start += len(layer.weights)
        for layer, share in zip(self._layers, shares):
            layer.set_weights(share)

    def save_weights(self, filepath):
        """Save all weights to an ``.npz`` file, written atomically, with each layer's name and shapes."""
        self._check_built("its weights can be saved")
        check_file_name(filepath, "model.weights.npz")
        save_npz_atomic(filepath, self._weights_by_name())

    def _weights_by_name(self):
        """The weights as host arrays named ``"<layer index>:<layer name>:<weight number>"``."""
        return {
            f"{index:03d}:{layer.name}:{number}": weight
            for index, layer in enumerate(self._layers)
            for number, weight in enumerate(layer.get_weights())
        }

    def save(self, filepath):
        """Save the whole model, architecture, weights and compile settings, to one ``.npz`` file;
        ``tinynet.models.load_model(filepath)`` gives it back (see ``tinynet.saving``)."""
        save_model(self, filepath)

    def get_config(self):
        """The architecture as plain data (JSON-ready), as Keras's ``get_config``."""
        return {
            "name": self.name,
            "input_shape": list(self.input_shape[1:]) if self.built else None,
            "layers": [
                {"class_name": get_registered_name(type(layer)), "config": layer.get_config()}
                for layer in self._layers
            ],
        }

    def to_json(self):
        """The architecture as JSON text, as Keras's ``to_json``; ``model_from_json`` reads it back
        (with new weights: ``save_weights``/``load_weights`` carry the numbers, as in Keras 2)."""
        return json.dumps({"class_name": type(self).__name__, "config": self.get_config()})

    @classmethod
    def from_config(cls, config):
        """A new model from ``get_config``'s description: the same layers, with new weights drawn
        by the same initializers (``load_model`` then replaces them with the saved weights)."""
        model = cls(name=config["name"])
        for layer in config["layers"]:
            layer_class = lookup("layer class", layer["class_name"], LAYER_CLASSES, with_custom_objects=True)
            model.add(layer_class.from_config(layer["config"]))
        if config["input_shape"] is not None:
            model.build((None, *config["input_shape"]))
        return model

    def load_weights(self, filepath):
        """Load weights saved by ``save_weights`` (or ``save``); the file must match this model's
        layers and shapes."""
        self._check_built("weights can be loaded into it")
        stored = load_npz(filepath, "weights file", "save_weights")
        self._set_saved_weights(weight_arrays(stored), os.fspath(filepath))

    def _set_saved_weights(self, stored, filepath):
        """Set the weights from ``stored``, the arrays save_weights wrote (checked against this model)."""
        keys = sorted(stored)
        expected = [
            (index, layer, number, tuple(weight.shape))
            for index, layer in enumerate(self._layers)
            for number, weight in enumerate(layer.weights)
        ]
        if len(keys) != len(expected):
            raise ValueError(
                f"{filepath!r} holds {len(keys)} weight arrays, but model {self.name!r} has "
                f"{len(expected)}: it was saved from another architecture."
            )
        for key, (index, layer, number, shape) in zip(keys, expected):
            # save_weights names each array "<layer index>:<layer name>:<weight number>".
            if not (key.startswith(f"{index:03d}:") and key.endswith(f":{number}")):
                raise ValueError(
                    f"{filepath!r} does not fit model {self.name!r}: its array {key!r} should be "
                    f"weight {number} of layer {index} ({layer.name!r}). Was it saved by save_weights "
                    "from a model with the same layers?"
                )
            if stored[key].shape != shape:
                raise ValueError(
                    f"{filepath!r} does not fit model {self.name!r}: array {key!r} has shape "
                    f"{stored[key].shape}, but layer {layer.name!r} weight {number} has shape {shape}."
                )
        self.set_weights([stored[key] for key in keys])


def model_from_json(text, custom_objects=None):
    """A new model, with new weights, from ``model.to_json()``'s text. ``custom_objects`` maps the
    names it gives classes and functions of your own to them, as for ``load_model``."""
    scope = custom_object_scope(custom_objects)  # checked before the text is read
    try:
        description = json.loads(text)
        config = description["config"] if description["class_name"] == "Sequential" else None
    except (TypeError, ValueError, KeyError):
        config = None
    if config is None:
        raise ValueError(f"model_from_json expects the text model.to_json() writes; got {str(text)[:80]!r}.")
    try:
        with scope:
            return Sequential.from_config(config)
    except UnknownNameError as error:
        raise ValueError(f"model_from_json cannot make this model: {error} {how_to_give(error.name, 'model_from_json')}") from None
    except (KeyError, TypeError) as error:  # a key missing, or a layer argument it does not take
        raise ValueError(
            f"model_from_json cannot make a model of this description: {type(error).__name__} {error}. "
            "Was the text written by model.to_json()?"
        ) from None


def clone_model(model):
    """A new model with ``model``'s layers, as in Keras: the same architecture and initializers,
    new weights drawn afresh, not compiled. To start from the same weights too, follow it with
    ``clone.set_weights(model.get_weights())``."""
    if not isinstance(model, Sequential):
        raise TypeError(f"clone_model expects a Sequential model; got {type(model).__name__}.")
    return Sequential.from_config(model.get_config())


def _to_host(outputs, given):
    """``outputs`` as a NumPy array that shares no memory with the input ``given``: layers that
    pass their input on (Flatten, Dropout at inference) would otherwise hand back a view of the
    caller's data, and writing into the outputs would change it."""
    outputs = backend.to_numpy(outputs)
    if isinstance(given, np.ndarray) and np.may_share_memory(outputs, given):
        return outputs.copy()
    return outputs


def _on_device(weights):
    """Sample weights moved to the device once (None stays None)."""
    return None if weights is None else backend.asarray(weights)


def _log_value(result, rounded=True):
    """A metric object's ``result()`` on the host, as the logs hold it: a Python float (``rounded``
    to float32's shortest digits, as ``_RunningMeans`` gives the means), or for a vector (one value
    per threshold) a NumPy array, as Keras's logs hold it."""
    result = backend.to_numpy(result)
    if result.ndim:
        return result
    return float(str(np.float32(result))) if rounded else float(result)


def _metric_log_names(metrics, weighted_metrics):
    """The names the metrics are logged under: a weighted metric that has the name of an
    unweighted one is ``weighted_<name>``, as in Keras 3."""
    names = [name for name, _ in metrics]
    return names + [f"weighted_{name}" if name in names else name for name, _ in weighted_metrics]


def _check_callbacks(callbacks):
    """``callbacks`` as a list of Callback objects, or a clear error."""
    if callbacks is not None and not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"callbacks must be a list, e.g. callbacks=[EarlyStopping()]; got {callbacks!r}.")
    callbacks = list(callbacks or [])
    for callback in callbacks:
        if not isinstance(callback, Callback):
            raise TypeError(f"callbacks must be tinynet Callback objects; got {callback!r}.")
    return callbacks


def _start_callbacks(model, callbacks, steps, verbose):
    """Give evaluate's or predict's callbacks the model and Keras's params for one pass."""
    for callback in callbacks:
        callback.set_model(model)
        callback.set_params({"verbose": verbose, "epochs": 1, "steps": steps})


def _check_validation_freq(validation_freq):
    """Keras 3's two forms of ``validation_freq``: a positive int, or a list of epochs."""
    if isinstance(validation_freq, list):
        for epoch in validation_freq:
            validation.check_count("each epoch in validation_freq", epoch, 1)
        return validation_freq
    if isinstance(validation_freq, (int, np.integer)) and not isinstance(validation_freq, bool):
        return validation.check_count("validation_freq", validation_freq, 1)
    raise TypeError(f"validation_freq must be an int (validate every n-th epoch) or a list of epochs "
                    f"(counted from 1), as in Keras; got {validation_freq!r}.")


def _validates_after(epoch, validation_freq):
    """Whether fit validates after ``epoch`` (counted from 0), by Keras 3's rule."""
    if isinstance(validation_freq, list):
        return epoch + 1 in validation_freq
    return (epoch + 1) % validation_freq == 0


def _optional_count(name, value):
    """A batch size or a number of steps, checked before anything happens (None: the default)."""
    return None if value is None else validation.check_count(name, value, 1)


def _keras_batches(count, batch_size, steps, steps_name):
    """``(batch size, rows)``: Keras 3's batches of ``count`` rows for evaluate and predict, and
    the rows the first ``steps`` of them cover (all of them without ``steps``). The batch size is
    ``batch_size`` if given, else with ``steps`` the size that makes them cover the data, else 32.
    More steps than batches run the batches there are, with a warning, as in Keras."""
    if batch_size is None:
        batch_size = -(-count // steps) if steps else 32
    if steps is None:
        return batch_size, count
    available = -(-count // batch_size)
    if steps > available:
        warnings.warn(
            f"{steps_name}={steps} asks for more batches than the data has: {count} samples make "
            f"{available} batches of {batch_size}, and only those run, as in Keras.",
            stacklevel=3,
        )
    return batch_size, min(count, steps * batch_size)


def _build_layer(layer, input_shape):
    """Build ``layer`` for ``input_shape``, or check that it can take it if it is built already."""
    if layer.built:
        layer.check_input(input_shape)
    else:
        layer.build(tuple(input_shape))


def _batches(count, batch_size):
    """``(start, stop)`` of each batch; the last one may be smaller."""
    return [(start, min(start + batch_size, count)) for start in range(0, count, batch_size)]


class _TrainingBatches:
    """The batches each epoch of ``fit`` trains on, as Keras 3 takes them from arrays.

    An epoch takes the next ``steps_per_epoch`` batches (by default all of them) of the current
    pass over the data, whose order is a new permutation of the rows when ``shuffle``. An epoch that
    uses the pass up before its ``steps_per_epoch`` stops there, and the next one starts a new pass.
    The progress bar counts the samples done in the epoch, or with ``steps_per_epoch`` the steps
    (as Keras does then): each batch comes with that count, worked out here once, not per batch.
    """

    def __init__(self, count, batch_size, steps_per_epoch, shuffle):
        self.count, self.batch_size, self.shuffle = count, batch_size, shuffle
        self.batches = _batches(count, batch_size)
        self.steps = steps_per_epoch or len(self.batches)
        self.counts_steps = steps_per_epoch is not None
        self.target = self.steps if self.counts_steps else count
        self.whole_pass = [(start, stop, stop) for start, stop in self.batches]
        self.next = 0  # where the next epoch starts in the current pass
        self.order = None

    def next_epoch(self):
        """``(order, plan)``: the pass's order of the rows, on the device (None without shuffle),
        and the epoch's batches as ``(start, stop, progress after it)``."""
        if self.next == 0 and self.shuffle:
            # One permutation per pass, moved to the device once; each batch gathers its rows.
            self.order = backend.asarray(generator().permutation(self.count), dtype="int64")
        if not self.counts_steps:
            return self.order, self.whole_pass
        batches = self.batches[self.next : self.next + self.steps]
        self.next = (self.next + len(batches)) % len(self.batches)
        if len(batches) < self.steps:
            warnings.warn(
                f"steps_per_epoch={self.steps}, but the pass over the {self.count} training samples "
                f"({len(self.batches)} batches of {self.batch_size}) had {len(batches)} left: the epoch "
                "stops after them and the next one starts a new pass, as in Keras. A steps_per_epoch "
                f"that divides {len(self.batches)} keeps the epochs the same length.",
                stacklevel=4,
            )
        return self.order, [(start, stop, step + 1) for step, (start, stop) in enumerate(batches)]


class _RunningMeans:
    """Weighted running means of the batch values (``columns`` of them: the loss and the metric
    functions), kept on the device until read.

    Each batch weighs as many as its samples, except for the weighted metrics of a pass with sample
    weights (``weighted``: how many there are): those come last in each batch's values, followed by
    the sum of the batch's sample weights, which is their weight (see ``Sequential._batch_values``).

    Reading them (``means``) copies all pending batch values to the host at once, so a GPU is not
    stopped to sync after every batch; ``fit`` reads them when the progress bar redraws, at the end
    of an epoch, and after every batch only when a callback asks for them (batch callbacks).
    """

    def __init__(self, columns, weighted=0):
        self.pending = []
        self.sizes = []
        self.weighted = weighted
        self.totals = np.zeros(columns)
        self.counts = np.zeros(columns)
        self.batches_folded = 0
        self.bad_batch = None  # index of the first batch whose loss was NaN or infinite

    def add(self, values, size):
        self.pending.append(values)
        self.sizes.append(size)

    def _fold(self):
        if not self.pending:
            return
        # One copy of every pending value, not one per batch: a fold covers hundreds of batches.
        flat = [value for values in self.pending for value in values]
        host = backend.stack_to_numpy(flat).reshape(len(self.pending), -1)
        bad = np.flatnonzero(~np.isfinite(host[:, 0]))
        if bad.size and self.bad_batch is None:
            self.bad_batch = self.batches_folded + int(bad[0])
        self.batches_folded += len(host)
        weights = np.repeat(np.asarray(self.sizes, dtype=np.float64)[:, None], len(self.totals), axis=1)
        if self.weighted:  # the last column is the sum of the sample weights: it weighs the ones before it
            weights[:, -self.weighted :] = host[:, -1:]
            host = host[:, :-1]
        self.totals += (host * weights).sum(axis=0)
        self.counts += weights.sum(axis=0)
        self.pending, self.sizes = [], []

    def means(self):
        """The means so far, as Python floats of float32 precision (0.7594, not 0.7594000101); 0
        where the weights sum to 0, as Keras divides."""
        self._fold()
        means = np.divide(self.totals, self.counts, out=np.zeros_like(self.totals), where=self.counts > 0)
        return [float(str(np.float32(v))) for v in means]


def _report_nan(epoch, bad_batch, last_batch):
    """Say where the loss went bad and where training stopped: the losses are read from the device
    when the progress bar redraws and at the end of an epoch (after every batch only for batch
    callbacks), so the batches in between may have trained on."""
    stopped = "" if last_batch == bad_batch else f" after batch {last_batch + 1}"
    print(
        f"\nThe loss became NaN or infinite at epoch {epoch + 1}, batch {bad_batch + 1}: training stopped"
        f"{stopped} (History keeps the finished epochs). The learning rate may be too high, or the data "
        "may hold extreme values: try a smaller learning rate, or scale inputs to [0, 1].",
        file=sys.stderr,
    )


@contextlib.contextmanager
def _deferred_interrupt():
    """Turn the first Ctrl-C into a flag that fit checks between batches, so training stops at a
    batch boundary with every weight updated consistently; a second Ctrl-C interrupts at once."""
    flag = {"set": False}

    def handler(signum, frame):
        if flag["set"]:
            raise KeyboardInterrupt
        flag["set"] = True

    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: signals cannot be caught here
        yield lambda: False
        return
    try:
        yield lambda: flag["set"]
    finally:
        signal.signal(signal.SIGINT, previous)
