"""Every backward pass against float64 central differences.

Each check builds a scalar function of one array, ``L(a) = sum(w * f(a))`` with fixed random ``w``
(so every output element matters with a different weight), and compares the analytic gradient
the engine computes with ``numerical_gradient``. They run on NumPy and on array_api_strict.
"""

import numpy as np
import pytest

from conftest import assert_gradients_close, numerical_gradient
from tinynet import activations, backend, losses
from tinynet.layers import Activation, BatchNormalization, Conv2D, Dense, Dropout, Flatten, LeakyReLU, ReLU, Softmax
from tinynet.models import Sequential
from tinynet.utils import set_random_seed

rng = np.random.default_rng(1234)


def as_numpy(array):
    return backend.to_numpy(array).astype(np.float64)


@pytest.mark.parametrize(
    "name",
    ["linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "softplus", "softsign", "swish", "relu6",
     "hard_sigmoid", "hard_silu", "exponential", "mish", "gelu", "approximate_gelu", "softmax"],
)
def test_activation_gradients(float64_backend, name):
    z = rng.normal(size=(4, 5)) * 3
    if name in ("relu", "leaky_relu", "selu", "relu6"):  # keep clear of the kink at 0, where f' jumps
        z[np.abs(z) < 1e-3] = 0.5
    if name in ("relu6", "hard_sigmoid", "hard_silu"):  # and of the kinks at -3, 3 and 6
        for kink in (-3.0, 3.0, 6.0):
            z[np.abs(z - kink) < 1e-3] = kink + 0.5
    if name == "exponential":  # exp(9) ~ 8000 would round L too coarsely for central differences
        z /= 3
    w = rng.normal(size=(4, 5))

    def loss(z_values):
        return float(np.sum(w * as_numpy(activations.get(name).forward(backend.asarray(z_values)))))

    activation = activations.get(name)
    activation.forward(backend.asarray(z))
    analytic = as_numpy(activation.backward(backend.asarray(w)))
    assert_gradients_close(analytic, numerical_gradient(loss, z.copy()))


def _targets(name, shape):
    if name in ("categorical_crossentropy", "categorical_hinge", "categorical_focal_crossentropy"):
        return np.eye(shape[1])[rng.integers(0, shape[1], shape[0])]
    if name == "sparse_categorical_crossentropy":
        return rng.integers(0, shape[1], shape[0]).astype(np.int64)
    # 0/1, which the hinges turn into -1/1
    if name in ("binary_crossentropy", "binary_focal_crossentropy", "hinge", "squared_hinge"):
        return rng.integers(0, 2, shape).astype(np.float64)
    if name == "kl_divergence":
        return _soft_labels(name, shape)
    if name == "poisson":  # counts
        return rng.uniform(0, 3, shape)
    return rng.normal(size=shape)


def _y_true(name, y):
    dtype = "int64" if name == "sparse_categorical_crossentropy" else None
    return backend.asarray(y, dtype=dtype)


@pytest.mark.parametrize(
    "name",
    [
        "categorical_crossentropy",
        "sparse_categorical_crossentropy",
        "binary_crossentropy",
        "binary_focal_crossentropy",
        "categorical_focal_crossentropy",
        "mean_squared_error",
        "mean_absolute_error",
        "mean_absolute_percentage_error",
        "mean_squared_logarithmic_error",
        "huber",
        "log_cosh",
        "poisson",
        "kl_divergence",
        "hinge",
        "squared_hinge",
        "categorical_hinge",
        "cosine_similarity",
    ],
)
def test_loss_gradients(float64_backend, name):
    shape = (6, 4)
    # Predictions strictly inside (0, 1) and away from the clip bounds, as activations produce.
    p = rng.uniform(0.05, 0.95, size=shape)
    y = _targets(name, shape)
    loss = losses.get(name)

    def value(p_values):
        return float(as_numpy(loss.value(_y_true(name, y), backend.asarray(p_values))))

    analytic = as_numpy(loss.gradient(_y_true(name, y), backend.asarray(p)))
    assert_gradients_close(analytic, numerical_gradient(value, p.copy()))


# Losses with arguments: from logits (any real predictions) or from probabilities, with label smoothing.
LOSSES_WITH_ARGUMENTS = {
    "CategoricalCrossentropy(from_logits=True)": lambda: losses.CategoricalCrossentropy(from_logits=True),
    "CategoricalCrossentropy(label_smoothing=0.2)": lambda: losses.CategoricalCrossentropy(label_smoothing=0.2),
    "CategoricalCrossentropy(from_logits=True, label_smoothing=0.2)": lambda: losses.CategoricalCrossentropy(
        from_logits=True, label_smoothing=0.2),
    "SparseCategoricalCrossentropy(from_logits=True)": lambda: losses.SparseCategoricalCrossentropy(from_logits=True),
    "BinaryCrossentropy(from_logits=True)": lambda: losses.BinaryCrossentropy(from_logits=True),
    "BinaryCrossentropy(label_smoothing=0.2)": lambda: losses.BinaryCrossentropy(label_smoothing=0.2),
    "BinaryCrossentropy(from_logits=True, label_smoothing=0.2)": lambda: losses.BinaryCrossentropy(
        from_logits=True, label_smoothing=0.2),
    "Huber(delta=0.3)": lambda: losses.Huber(delta=0.3),
    "BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.4, gamma=1.5, label_smoothing=0.2)": lambda: (
        losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.4, gamma=1.5, label_smoothing=0.2)),
    "BinaryFocalCrossentropy(gamma=0)": lambda: losses.BinaryFocalCrossentropy(gamma=0),
    "BinaryFocalCrossentropy(from_logits=True, apply_class_balancing=True, gamma=3)": lambda: (
        losses.BinaryFocalCrossentropy(from_logits=True, apply_class_balancing=True, gamma=3)),
    "CategoricalFocalCrossentropy(alpha=0.6, gamma=0.5, label_smoothing=0.1)": lambda: (
        losses.CategoricalFocalCrossentropy(alpha=0.6, gamma=0.5, label_smoothing=0.1)),
    "CategoricalFocalCrossentropy(from_logits=True, gamma=3)": lambda: (
        losses.CategoricalFocalCrossentropy(from_logits=True, gamma=3)),
}
# The activation whose probabilities a loss that does not fuse with it expects after the last layer.
PROBABILITIES_FROM = {"binary_focal_crossentropy": "sigmoid", "categorical_focal_crossentropy": "softmax"}


@pytest.mark.parametrize("description", list(LOSSES_WITH_ARGUMENTS))
def test_loss_with_arguments_gradients(float64_backend, description):
    """dL/dz for logits z (large ones too: the log-softmax and log-sigmoid stay exact), dL/dp for
    probabilities with smoothed labels."""
    loss = LOSSES_WITH_ARGUMENTS[description]()
    shape = (6, 4)
    p = rng.normal(size=shape) * 4 if loss.from_logits else rng.uniform(0.05, 0.95, size=shape)
    y = _targets(loss.name, shape)

    def value(p_values):
        return float(as_numpy(loss.value(_y_true(loss.name, y), backend.asarray(p_values))))

    analytic = as_numpy(loss.gradient(_y_true(loss.name, y), backend.asarray(p)))
    assert_gradients_close(analytic, numerical_gradient(value, p.copy()))


@pytest.mark.parametrize("loss", [losses.CategoricalCrossentropy(),
                                  losses.CategoricalFocalCrossentropy(alpha=[0.2, 1.5, 0.7], gamma=2.5)],
                         ids=["categorical_crossentropy", "categorical_focal_crossentropy-class-weights"])
def test_categorical_crossentropy_gradient_with_unnormalised_rows(float64_backend, loss):
    # Keras divides each row by its sum before the logarithm; the gradient must follow.
    p = rng.uniform(0.05, 0.6, size=(5, 3))
    y = np.eye(3)[[0, 2, 1, 1, 0]]

    def value(p_values):
        return float(as_numpy(loss.value(backend.asarray(y), backend.asarray(p_values))))

    analytic = as_numpy(loss.gradient(backend.asarray(y), backend.asarray(p)))
    assert_gradients_close(analytic, numerical_gradient(value, p.copy()))


def _soft_labels(name, shape):
    """Rows of probabilities that are not one-hot (label smoothing, a teacher's outputs)."""
    rows = rng.uniform(0.1, 1.0, shape)
    return rows / rows.sum(axis=1, keepdims=True)


@pytest.mark.parametrize(
    "loss_name, activation_name, targets",
    [
        ("categorical_crossentropy", "softmax", _targets),
        ("categorical_crossentropy", "softmax", _soft_labels),
        ("sparse_categorical_crossentropy", "softmax", _targets),
        ("binary_crossentropy", "sigmoid", _targets),
        ("binary_crossentropy", "sigmoid", _soft_labels),
    ],
)
def test_fused_gradient_equals_the_chain_rule(float64_backend, loss_name, activation_name, targets):
    """dL/dz from the fused formula equals the numerical derivative of loss(activation(z)), for
    one-hot targets and for soft ones."""
    z = rng.normal(size=(6, 4)) * 2
    y = targets(loss_name, (6, 4))
    loss = losses.get(loss_name)

    def value(z_values):
        p = activations.get(activation_name).forward(backend.asarray(z_values))
        return float(as_numpy(loss.value(_y_true(loss_name, y), p)))

    p = activations.get(activation_name).forward(backend.asarray(z))
    fused = as_numpy(loss.gradient_wrt_logits(_y_true(loss_name, y), p))
    assert_gradients_close(fused, numerical_gradient(value, z.copy()))


def _check_layer(layer, x, seed_each_forward=False, training=True):
    """Check dL/dx and dL/dparams of ``layer`` for L = sum(w * layer(x)), in training mode or not."""
    if not layer.built:
        layer.build((None, *x.shape[1:]))
    out_shape = (x.shape[0], *layer.output_shape[1:])
    w = rng.normal(size=out_shape)

    def forward(x_values):
        if seed_each_forward:
            set_random_seed(7)
        return layer.forward(backend.asarray(x_values), training=training)

    def loss_of_input(x_values):
        return float(np.sum(w * as_numpy(forward(x_values))))

    forward(x)
    grad_x = layer.backward(backend.asarray(w))
    assert_gradients_close(as_numpy(grad_x), numerical_gradient(loss_of_input, x.copy()))

    weights = layer.get_weights()  # params first, then the states, which have no gradient
    for number, weight in enumerate(weights[:len(layer.params)]):

        def loss_of_weight(values, number=number):
            layer.set_weights([values if i == number else v for i, v in enumerate(weights)])
            return loss_of_input(x)

        forward(x)
        layer.backward(backend.asarray(w))
        analytic = as_numpy(layer.grads[number])
        numeric = numerical_gradient(loss_of_weight, weight.astype(np.float64).copy())
        layer.set_weights(weights)
        assert_gradients_close(analytic, numeric)


@pytest.mark.parametrize("activation", [None, "sigmoid", "tanh", "relu", "softmax"])
def test_dense_gradients(float64_backend, activation):
    _check_layer(Dense(3, activation=activation, bias_initializer="random_normal"), rng.normal(size=(5, 4)))


def test_dense_without_bias_gradients(float64_backend):
    layer = Dense(3, use_bias=False)
    _check_layer(layer, rng.normal(size=(5, 4)))
    assert len(layer.params) == 1


def test_activation_layer_gradients(float64_backend):
    _check_layer(Activation("tanh"), rng.normal(size=(5, 4)))


@pytest.mark.parametrize(
    "layer",
    [
        lambda: ReLU(),
        lambda: ReLU(max_value=1.0, negative_slope=0.2, threshold=0.5),
        lambda: ReLU(max_value=0.7),
        lambda: LeakyReLU(),
        lambda: Softmax(),
    ],
    ids=["ReLU", "ReLU-capped-leaky-thresholded", "ReLU-capped", "LeakyReLU", "Softmax"],
)
def test_activation_layers_gradients(float64_backend, layer):
    x = rng.normal(size=(5, 4))
    for kink in (0.0, 0.5, 0.7, 1.0):  # keep clear of the kinks, where f' jumps
        x[np.abs(x - kink) < 1e-3] = kink + 0.1
    _check_layer(layer(), x)


def test_dropout_gradients_with_a_fixed_mask(float64_backend):
    # Re-seeding before each forward pass draws the same mask every time.
    layer = Dropout(0.4)
    x = rng.normal(size=(6, 5))
    _check_layer(layer, x, seed_each_forward=True)
    dropped = as_numpy(layer.mask) == 0
    assert dropped.any() and (~dropped).any()


def test_flatten_gradients(float64_backend):
    _check_layer(Flatten(), rng.normal(size=(3, 2, 4, 2)))


# BatchNormalization: the features along the last axis of a Dense output and of images, along
# axis 1 of channels-first images, without gamma or beta; all with gamma and beta away from 1 and 0.
BATCH_NORMALIZATIONS = {
    "features": (lambda: BatchNormalization(gamma_initializer="random_normal", beta_initializer="random_normal"),
                 (6, 4)),
    "channels last": (lambda: BatchNormalization(gamma_initializer="random_normal"), (3, 4, 2, 3)),
    "channels first": (lambda: BatchNormalization(axis=1, beta_initializer="random_normal"), (3, 2, 4, 3)),
    "no gamma": (lambda: BatchNormalization(scale=False), (5, 3)),
    "no beta": (lambda: BatchNormalization(center=False, gamma_initializer="random_normal"), (5, 3)),
}


@pytest.mark.parametrize("training", [True, False], ids=["batch statistics", "moving averages"])
@pytest.mark.parametrize("case", list(BATCH_NORMALIZATIONS))
def test_batch_normalization_gradients(float64_backend, case, training):
    make, shape = BATCH_NORMALIZATIONS[case]
    layer = make()
    x = rng.normal(size=shape) * 3 + 1
    layer.build((None, *shape[1:]))
    features = layer.moving_mean.shape
    layer.set_weights([*layer.get_weights()[:len(layer.params)], rng.normal(size=features),
                       rng.uniform(0.5, 2, size=features)])  # averages that are not the start's 0 and 1
    _check_layer(layer, x, training=training)


# The network's last layers, for each loss: the activation inside Dense, or a layer of its own
# (then the loss and the activation fuse through Activation.backward_from_logits).
LAST_LAYERS = {
    "softmax in Dense": lambda: [Dense(3, activation="softmax")],
    "Dense, then Activation('softmax')": lambda: [Dense(3), Activation("softmax")],
    "Dense, then Activation('sigmoid')": lambda: [Dense(1), Activation("sigmoid")],
    "Dense, then Softmax()": lambda: [Dense(3), Softmax()],
    # relu's backward reads the output it kept, which the softmax after it must not overwrite
    "Dense(relu), then Activation('softmax')": lambda: [
        Dense(3, activation="relu", bias_initializer="ones"),
        Activation("softmax"),
    ],
}


@pytest.mark.parametrize(
    "loss_name, last",
    [
        ("categorical_crossentropy", "softmax in Dense"),
        ("mean_squared_error", "softmax in Dense"),
        ("categorical_crossentropy", "Dense, then Activation('softmax')"),
        ("sparse_categorical_crossentropy", "Dense, then Softmax()"),
        ("binary_crossentropy", "Dense, then Activation('sigmoid')"),
        ("categorical_crossentropy", "Dense(relu), then Activation('softmax')"),
        ("kl_divergence", "softmax in Dense"),
        ("categorical_hinge", "softmax in Dense"),
        ("cosine_similarity", "softmax in Dense"),
        ("poisson", "softmax in Dense"),
        ("hinge", "Dense, then Activation('sigmoid')"),
        ("squared_hinge", "Dense, then Activation('sigmoid')"),
        ("binary_focal_crossentropy", "Dense, then Activation('sigmoid')"),
        ("categorical_focal_crossentropy", "softmax in Dense"),
    ],
)
@pytest.mark.parametrize("weighted", [False, True], ids=["", "sample-weighted"])
@pytest.mark.parametrize("batch", [7, 1])
def test_whole_model_gradients(float64_backend, loss_name, last, batch, weighted):
    """Every parameter of a 4-5-3-k network against the numerical derivative of the batch loss
    (a batch of one too: a single row takes other paths through NumPy's memory layouts), and of
    the loss with sample weights, (1/n) sum_i w_i l_i."""
    model = Sequential(
        [
            Dense(5, activation="tanh", input_shape=(4,), bias_initializer="random_normal"),
            Dense(3, activation="sigmoid", bias_initializer="random_normal"),
            *LAST_LAYERS[last](),
        ]
    )
    model.compile(loss=loss_name, optimizer="sgd")
    x = rng.normal(size=(batch, 4))
    y = _targets(loss_name, (batch, model.output_shape[-1]))
    _check_model_gradients(model, x, y, rng.uniform(0, 3, size=batch) if weighted else None)


@pytest.mark.parametrize("weighted", [False, True], ids=["", "sample-weighted"])
@pytest.mark.parametrize("activation", ["softmax", "sigmoid"], ids=["fused", "plain"])
@pytest.mark.parametrize("loss", ["categorical_crossentropy", "sparse_categorical_crossentropy"])
def test_crossentropy_over_the_pixels_of_a_convolution(float64_backend, loss, activation, weighted):
    """Class probabilities per pixel, (n, h, w, classes), against one-hot rows or a label per pixel:
    the loss averages over the n h w rows, as Keras's does, and its gradient, fused or not,
    weighted or not, is that loss's derivative."""
    model = Sequential([Conv2D(3, 1, activation=activation, input_shape=(2, 2, 2), bias_initializer="random_normal")])
    model.compile(loss=loss, optimizer="sgd")
    x = rng.normal(size=(4, 2, 2, 2))
    labels = rng.integers(0, 3, size=(4, 2, 2))
    one_hot = np.eye(3)[labels]
    y = one_hot if loss == "categorical_crossentropy" else labels
    p = as_numpy(model._forward(backend.asarray(x), training=False))
    q = np.clip(p / p.sum(axis=-1, keepdims=True), 1e-7, 1 - 1e-7)
    expected = -np.mean(np.sum(one_hot * np.log(q), axis=-1))
    assert float(as_numpy(model.loss.value(backend.asarray(y), backend.asarray(p)))) == pytest.approx(expected)
    _check_model_gradients(model, x, y, rng.uniform(0, 3, size=4) if weighted else None)


@pytest.mark.parametrize("loss, activation", [("categorical_crossentropy", "softmax"),
                                              ("sparse_categorical_crossentropy", "softmax"),
                                              ("binary_crossentropy", "sigmoid")])
def test_a_saturated_output_reports_the_loss_from_its_logits_and_its_exact_gradient(float64_backend, loss,
                                                                                     activation):
    """Logits 30 apart: the true class's probability is about 1e-13, below the clip's 1e-7. The loss
    is read off the logits, as Keras on TensorFlow does (30, where a clipped one stops at 16.1), and
    the fused gradient is its derivative (a clipped loss would be flat there)."""
    outputs = 1 if activation == "sigmoid" else 3
    model = Sequential([Dense(outputs, activation=activation, input_shape=(2,))])
    model.compile(loss=loss, optimizer="sgd")
    kernel = np.array([[-30.0, 0.0, 0.0], [0.0, 0.0, 0.0]])[:, :outputs]
    model.set_weights([kernel, np.zeros(outputs)])
    x = np.array([[1.0, 0.5], [1.0, -0.5]])
    y = {"binary_crossentropy": np.ones((2, 1)), "sparse_categorical_crossentropy": np.array([0, 0]),
         "categorical_crossentropy": np.eye(3)[[0, 0]]}[loss]
    # -log(p_true), p_true = e^-30 / (e^-30 + 1 + 1) after the softmax, 1 / (1 + e^30) after the sigmoid.
    expected = 30.0 + np.log1p(np.exp(-30.0)) if activation == "sigmoid" else 30.0 + np.log(2 + np.exp(-30.0))
    assert model.evaluate(x, y, verbose=0) == pytest.approx(expected, rel=1e-7)  # evaluate rounds to float32
    _check_model_gradients(model, x, y)


@pytest.mark.parametrize("description", list(LOSSES_WITH_ARGUMENTS))
@pytest.mark.parametrize("weighted", [False, True], ids=["", "sample-weighted"])
def test_whole_model_gradients_with_loss_arguments(float64_backend, description, weighted):
    """A last Dense layer without activation for the losses from logits, with its activation for
    the others (fused with the loss where it fuses, smoothed labels and all)."""
    loss = LOSSES_WITH_ARGUMENTS[description]()
    activation = None if loss.from_logits else PROBABILITIES_FROM.get(loss.name, loss.fused_activation)
    model = Sequential([Dense(5, activation="tanh", input_shape=(4,), bias_initializer="random_normal"),
                        Dense(3, activation=activation, bias_initializer="random_normal")])
    model.compile(loss=loss, optimizer="sgd")
    x = rng.normal(size=(7, 4))
    _check_model_gradients(model, x, _targets(loss.name, (7, 3)), rng.uniform(0, 3, size=7) if weighted else None)


def _check_model_gradients(model, x, y, sample_weight=None):
    """Every parameter's backpropagated gradient against the numerical derivative of the batch
    loss, or of the loss with ``sample_weight``, (1/n) sum_i w_i l_i."""
    x_dev, y_dev = backend.asarray(x), backend.asarray(y)
    sample_weight = None if sample_weight is None else backend.asarray(sample_weight)
    weights = model.get_weights()

    y_pred = model._forward(x_dev, training=True)
    model._backward(y_dev, y_pred, sample_weight)
    analytic = [as_numpy(g) for g in model._grads()]

    def batch_loss(p):  # the loss fit reports for the batch whose forward pass gave p
        return model._batch_values(y_dev, p, sample_weight)[0]

    for number, weight in enumerate(weights):

        def loss(values, number=number):
            model.set_weights([values if i == number else w for i, w in enumerate(weights)])
            return float(as_numpy(batch_loss(model._forward(x_dev, training=False))))

        numeric = numerical_gradient(loss, weight.astype(np.float64).copy())
        model.set_weights(weights)
        assert_gradients_close(analytic[number], numeric)
