"""The optimizers against Keras 3's update rules: the first two steps of each, written out by hand.

Each reference below is Keras's formula unrolled for steps 1 and 2 in plain float64 NumPy, with
hyperparameters away from their defaults (and a large epsilon), so that a swapped argument, a
missing bias correction or an epsilon in the wrong place changes the numbers.
"""

import re

import numpy as np
import pytest

from tinynet import backend, optimizers
from tinynet.callbacks import LambdaCallback
from tinynet.layers import Dense
from tinynet.models import Sequential, load_model
from tinynet.optimizers import (
    SGD,
    Adagrad,
    Adam,
    Adamax,
    AdamW,
    Nadam,
    RMSprop,
    schedules,
)
from tinynet.utils import set_random_seed

W0 = np.array([[0.5, -1.0, 2.0], [0.0, 3.0, -0.25]])
G1 = np.array([[0.1, -2.0, 0.5], [1.5, 0.0, -0.3]])
G2 = np.array([[-0.4, 1.0, 0.5], [0.2, 0.7, -3.0]])
G3 = np.array([[0.3, 0.3, -1.0], [-0.6, 0.25, 0.9]])


def two_steps(optimizer):
    """Apply the gradients G1 then G2 to a copy of W0 on the active backend; return both results."""
    weight = backend.asarray(W0)
    after = []
    for grad in (G1, G2):
        optimizer.apply([weight], [backend.asarray(grad)])
        after.append(backend.to_numpy(weight).astype(np.float64))
    return after


def steps(optimizer, grads=(G1, G2, G3)):
    """Apply ``grads`` in turn to a copy of W0 on the active backend; return the weight after each."""
    weight = backend.asarray(W0.copy())  # in float64 on NumPy, asarray would hand back W0 itself
    after = []
    for grad in grads:
        optimizer.apply([weight], [backend.asarray(grad)])
        after.append(backend.to_numpy(weight).astype(np.float64))
    return after


def assert_steps(got, expected):
    for step, (g, e) in enumerate(zip(got, expected), start=1):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6, err_msg=f"step {step}")


def test_sgd_two_steps(array_backend):
    lr = 0.3
    w1 = W0 - lr * G1
    w2 = w1 - lr * G2
    assert_steps(two_steps(SGD(learning_rate=lr)), [w1, w2])


def test_sgd_momentum_two_steps(array_backend):
    lr, mu = 0.3, 0.8
    v1 = -lr * G1  # v = mu * v - lr * g, from v = 0
    w1 = W0 + v1
    v2 = mu * v1 - lr * G2
    w2 = w1 + v2
    assert_steps(two_steps(SGD(learning_rate=lr, momentum=mu)), [w1, w2])


def test_sgd_nesterov_two_steps(array_backend):
    lr, mu = 0.3, 0.8
    v1 = -lr * G1
    w1 = W0 + mu * v1 - lr * G1  # Nesterov: w = w + mu * v_new - lr * g
    v2 = mu * v1 - lr * G2
    w2 = w1 + mu * v2 - lr * G2
    assert_steps(two_steps(SGD(learning_rate=lr, momentum=mu, nesterov=True)), [w1, w2])


@pytest.mark.parametrize("epsilon", [1e-7, 0.5])
def test_rmsprop_two_steps(array_backend, epsilon):
    lr, rho = 0.05, 0.7
    s1 = (1 - rho) * G1**2  # s = rho * s + (1 - rho) * g^2, from s = 0
    w1 = W0 - lr * G1 / np.sqrt(s1 + epsilon)  # epsilon inside the root, as Keras
    s2 = rho * s1 + (1 - rho) * G2**2
    w2 = w1 - lr * G2 / np.sqrt(s2 + epsilon)
    assert_steps(two_steps(RMSprop(learning_rate=lr, rho=rho, epsilon=epsilon)), [w1, w2])


@pytest.mark.parametrize("epsilon", [1e-7, 0.5])
def test_adam_two_steps(array_backend, epsilon):
    lr, b1, b2 = 0.05, 0.6, 0.8
    m1 = (1 - b1) * G1
    v1 = (1 - b2) * G1**2
    # Keras folds both bias corrections into the rate and adds epsilon to sqrt(v) uncorrected.
    w1 = W0 - lr * np.sqrt(1 - b2) / (1 - b1) * m1 / (np.sqrt(v1) + epsilon)
    m2 = b1 * m1 + (1 - b1) * G2
    v2 = b2 * v1 + (1 - b2) * G2**2
    w2 = w1 - lr * np.sqrt(1 - b2**2) / (1 - b1**2) * m2 / (np.sqrt(v2) + epsilon)
    optimizer = Adam(learning_rate=lr, beta_1=b1, beta_2=b2, epsilon=epsilon)
    assert_steps(two_steps(optimizer), [w1, w2])
    assert optimizer.iterations == 2


@pytest.mark.parametrize("epsilon", [1e-7, 0.5])
def test_adagrad_two_steps(array_backend, epsilon):
    lr, initial = 0.05, 0.3
    s1 = initial + G1**2  # s = s + g^2, from s = initial_accumulator_value
    w1 = W0 - lr * G1 / np.sqrt(s1 + epsilon)
    s2 = s1 + G2**2
    w2 = w1 - lr * G2 / np.sqrt(s2 + epsilon)
    assert_steps(two_steps(Adagrad(learning_rate=lr, initial_accumulator_value=initial, epsilon=epsilon)), [w1, w2])


def test_adamw_two_steps(array_backend):
    lr, decay, b1, b2, epsilon = 0.05, 0.3, 0.6, 0.8, 0.5
    # Keras shrinks the weights first, w - w * decay * lr, then takes Adam's step from there.
    m1, v1 = (1 - b1) * G1, (1 - b2) * G1**2
    w1 = W0 * (1 - decay * lr) - lr * np.sqrt(1 - b2) / (1 - b1) * m1 / (np.sqrt(v1) + epsilon)
    m2, v2 = b1 * m1 + (1 - b1) * G2, b2 * v1 + (1 - b2) * G2**2
    w2 = w1 * (1 - decay * lr) - lr * np.sqrt(1 - b2**2) / (1 - b1**2) * m2 / (np.sqrt(v2) + epsilon)
    optimizer = AdamW(learning_rate=lr, weight_decay=decay, beta_1=b1, beta_2=b2, epsilon=epsilon)
    assert_steps(two_steps(optimizer), [w1, w2])


@pytest.mark.parametrize("epsilon", [1e-7, 0.5])
def test_nadam_three_steps(array_backend, epsilon):
    lr, b1, b2 = 0.05, 0.6, 0.8
    w, m, v = W0.copy(), np.zeros_like(W0), np.zeros_like(W0)
    momentum = [b1 * (1 - 0.5 * 0.96**t) for t in range(1, 5)]  # u_1 .. u_4
    expected = []
    for t, g in enumerate((G1, G2, G3), start=1):
        u_now, u_next = momentum[t - 1], momentum[t]
        product_now = np.prod(momentum[:t])  # u_1 * ... * u_t
        product_next = np.prod(momentum[: t + 1])
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        m_hat = u_next * m / (1 - product_next) + (1 - u_now) * g / (1 - product_now)
        v_hat = v / (1 - b2**t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + epsilon)
        expected.append(w)
    optimizer = Nadam(learning_rate=lr, beta_1=b1, beta_2=b2, epsilon=epsilon)
    assert_steps(steps(optimizer), expected)


@pytest.mark.parametrize("epsilon", [1e-7, 0.5])
def test_adamax_three_steps(array_backend, epsilon):
    lr, b1, b2 = 0.05, 0.6, 0.8
    w, m, u = W0.copy(), np.zeros_like(W0), np.zeros_like(W0)
    expected = []
    for t, g in enumerate((G1, G2, G3), start=1):
        m = b1 * m + (1 - b1) * g
        u = np.maximum(b2 * u, np.abs(g))  # the largest recent |g|, older ones fading by beta_2
        w = w - lr / (1 - b1**t) * m / (u + epsilon)
        expected.append(w)
    optimizer = Adamax(learning_rate=lr, beta_1=b1, beta_2=b2, epsilon=epsilon)
    assert_steps(steps(optimizer), expected)


# Keras 3.15 on JAX with float64 enabled: keras.optimizers.Nadam / Adamax(learning_rate=0.05,
# beta_1=0.6, beta_2=0.8, epsilon=0.5), optimizer.apply([g], [w]) for G1, G2, G3 from W0.
KERAS_NADAM_THREE_STEPS = [[0.4983774217, -0.9789749673, 1.9775871667], [-0.0381061889, 2.9552164289, -0.1897421346]]
KERAS_ADAMAX_THREE_STEPS = [[0.5004856618, -0.9596034925, 1.9588435368], [-0.0587689537, 2.9656464585, -0.1939901469]]


@pytest.mark.parametrize("make, expected", [(Nadam, KERAS_NADAM_THREE_STEPS), (Adamax, KERAS_ADAMAX_THREE_STEPS)])
def test_nadam_and_adamax_give_kerass_numbers(float64_backend, make, expected):
    optimizer = make(learning_rate=0.05, beta_1=0.6, beta_2=0.8, epsilon=0.5)
    np.testing.assert_allclose(steps(optimizer)[-1], expected, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(
    "optimizer, expected",
    [
        (SGD(learning_rate=0.5), [0.5, -1.0, -0.5, 3.0]),
        (RMSprop(learning_rate=0.5), [-0.5811, 0.4189, 1.4189, 2.4189]),
        (Adam(learning_rate=0.5), [0.5, 1.5, 2.5, 3.5]),
        # Keras 3.15 on JAX, float32, default Nadam and Adamax at learning_rate=0.5 (not in its tests).
        (Nadam(learning_rate=0.5), [0.46860617, 1.468606, 2.468606, 3.468606]),
        (Adamax(learning_rate=0.5), [0.5, 1.5, 2.5, 3.5]),
    ],
    ids=["sgd", "rmsprop", "adam", "nadam", "adamax"],
)
def test_one_step_matches_the_values_keras_tests_expect(optimizer, expected):
    weight = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    optimizer.apply([weight], [np.array([1.0, 6.0, 7.0, 2.0], np.float32)])
    np.testing.assert_allclose(weight, expected, rtol=1e-4, atol=1e-4)


def test_updates_happen_in_place_with_separate_state_per_weight():
    # Layers hold their weight arrays, so the optimizer must change those very arrays.
    first, second = np.ones(3, np.float32), np.ones((2, 2), np.float32)
    optimizer = SGD(learning_rate=0.1, momentum=0.9)
    optimizer.apply([first, second], [np.ones(3, np.float32), np.zeros((2, 2), np.float32)])
    optimizer.apply([first, second], [np.zeros(3, np.float32), np.ones((2, 2), np.float32)])
    np.testing.assert_allclose(first, 1 - 0.1 - 0.09)  # the first gradient still carried by momentum
    np.testing.assert_allclose(second, 1 - 0.1)  # its own velocity was zero after step 1


def test_defaults_and_names_are_keras():
    sgd, rmsprop, adam = optimizers.get("sgd"), optimizers.get("RMSprop"), optimizers.get("adam")
    assert type(sgd) is SGD and (sgd.learning_rate, sgd.momentum, sgd.nesterov) == (0.01, 0.0, False)
    assert type(rmsprop) is RMSprop
    assert (rmsprop.learning_rate, rmsprop.rho, rmsprop.epsilon) == (0.001, 0.9, 1e-7)
    assert type(adam) is Adam
    assert (adam.learning_rate, adam.beta_1, adam.beta_2, adam.epsilon) == (0.001, 0.9, 0.999, 1e-7)
    adagrad, adamw = optimizers.get("adagrad"), optimizers.get("AdamW")
    assert (adagrad.learning_rate, adagrad.initial_accumulator_value, adagrad.epsilon) == (0.001, 0.1, 1e-7)
    assert type(adamw) is AdamW and (adamw.learning_rate, adamw.weight_decay) == (0.001, 0.004)
    for name, cls in (("nadam", Nadam), ("Adamax", Adamax)):
        made = optimizers.get(name)
        assert type(made) is cls
        assert (made.learning_rate, made.beta_1, made.beta_2, made.epsilon) == (0.001, 0.9, 0.999, 1e-7)
    mine = Adam(learning_rate=0.01)
    assert optimizers.get(mine) is mine
    assert optimizers.get("sgd") is not optimizers.get("sgd")  # a fresh one for each model


def test_lr_is_kerass_older_name_of_learning_rate():
    optimizer = SGD(learning_rate=0.2)
    assert optimizer.lr == 0.2
    optimizer.lr = 0.05
    assert optimizer.learning_rate == 0.05


@pytest.mark.parametrize("name", ["learning_rate", "lr"])
@pytest.mark.parametrize("bad", [-5, 0, float("inf"), "0.1"])
def test_setting_a_bad_learning_rate_is_refused_and_changes_nothing(name, bad):
    optimizer = SGD(learning_rate=0.2)
    with pytest.raises(ValueError, match="learning_rate must be a positive number"):
        setattr(optimizer, name, bad)
    assert optimizer.learning_rate == 0.2


def test_unknown_name_suggests_the_closest():
    with pytest.raises(ValueError, match="Unknown optimizer 'adamm'.*Did you mean 'adam'"):
        optimizers.get("adamm")
    with pytest.raises(TypeError, match="optimizer name"):
        optimizers.get(0.01)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: SGD(learning_rate=0), "learning_rate must be a positive number"),
        (lambda: SGD(learning_rate="0.1"), "learning_rate must be a positive number"),
        (lambda: SGD(momentum=1.5), r"momentum must be a number in \[0, 1\]"),
        (lambda: SGD(momentum="0.9"), r"momentum must be a number in \[0, 1\]"),
        (lambda: RMSprop(rho=-0.1), r"rho must be a number in \[0, 1\]"),
        (lambda: RMSprop(epsilon=0), "epsilon must be a positive number"),
        (lambda: Adam(beta_1=1.0), r"beta_1 must be a number in \[0, 1\)"),
        (lambda: Adam(beta_2=True), r"beta_2 must be a number in \[0, 1\)"),
        (lambda: Adam(epsilon=-1e-7), "epsilon must be a positive number"),
        (lambda: Adagrad(initial_accumulator_value=-0.1), "initial_accumulator_value must be a number >= 0"),
        (lambda: AdamW(weight_decay=float("nan")), "weight_decay must be a number >= 0"),
        (lambda: AdamW(weight_decay=None), "AdamW's weight_decay must be a number >= 0; got None"),
        (lambda: SGD(weight_decay=-0.1), "weight_decay must be a number >= 0; got -0.1"),
        (lambda: RMSprop(weight_decay="0.1"), "weight_decay must be a number >= 0; got '0.1'"),
        (lambda: SGD(gradient_accumulation_steps=1), "gradient_accumulation_steps must be a whole number >= 2"),
        (lambda: Adam(gradient_accumulation_steps=2.0), "gradient_accumulation_steps must be a whole number >= 2"),
        (lambda: Adam(gradient_accumulation_steps=True), "gradient_accumulation_steps must be a whole number >= 2"),
        (lambda: Adagrad(gradient_accumulation_steps=0), r"whole number >= 2, or None; got 0"),
        (lambda: SGD(use_ema=True, ema_momentum=1.5), r"ema_momentum must be a number in \[0, 1\]; got 1.5"),
        (lambda: Nadam(use_ema=True, ema_overwrite_frequency=0),
         "ema_overwrite_frequency must be a whole number >= 1, or None; got 0"),
        (lambda: SGD(learning_rate=lambda step: 0.1), "needs some. For a rate that depends on the step count"),
        (lambda: Nadam(beta_1=1.0), r"beta_1 must be a number in \[0, 1\)"),
        (lambda: Nadam(beta_2=-0.5), r"beta_2 must be a number in \[0, 1\)"),
        (lambda: Nadam(epsilon=0), "epsilon must be a positive number"),
        (lambda: Adamax(beta_1=1.0), r"beta_1 must be a number in \[0, 1\)"),
        (lambda: Adamax(beta_2=1.5), r"beta_2 must be a number in \[0, 1\]"),
        (lambda: Adamax(learning_rate=-1), "learning_rate must be a positive number"),
    ],
)
def test_bad_hyperparameters_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_one_optimizer_object_cannot_train_two_models():
    optimizer = SGD(learning_rate=0.1, momentum=0.9)
    x, y = np.ones((4, 3), np.float32), np.zeros((4, 1), np.float32)
    first = Sequential([Dense(1, input_shape=(3,))])
    first.compile(optimizer=optimizer, loss="mse")
    first.fit(x, y, epochs=2, verbose=0)
    second = Sequential([Dense(1, input_shape=(3,))])
    second.compile(optimizer=optimizer, loss="mse")
    weights = second.get_weights()
    with pytest.raises(ValueError, match="already trains other weights: another model's"):
        second.fit(x, y, verbose=0)
    for before, after in zip(weights, second.get_weights()):
        np.testing.assert_array_equal(before, after)


def regression_losses(optimizer):
    """The loss of each of 20 epochs as a linear model fits a small linear regression."""
    set_random_seed(0)
    data = np.random.default_rng(0)
    x = data.normal(size=(64, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32) + 0.3
    model = Sequential([Dense(1, input_shape=(3,))])
    model.compile(optimizer=optimizer, loss="mse")
    return model.fit(x, y, batch_size=16, epochs=20, verbose=0).history["loss"]


@pytest.mark.parametrize("name", sorted(optimizers._OPTIMIZERS))
def test_every_optimizer_learns_through_fit(name):
    """Every optimizer, at its Keras defaults but a larger rate, fits the regression."""
    optimizer = optimizers.get(name)
    optimizer.learning_rate = 0.1
    losses = regression_losses(optimizer)
    assert losses[-1] < 0.3 * losses[0]  # Adagrad, the slowest here, is near 0.2


@pytest.mark.parametrize("clipping", [{"clipnorm": 0.5}, {"global_clipnorm": 0.5}, {"clipvalue": 0.5}])
def test_clipped_sgd_learns_through_fit(clipping):
    losses = regression_losses(SGD(learning_rate=0.1, **clipping))
    assert losses[-1] < 0.1 * losses[0]


# Gradient clipping. Two weights, so that clipnorm (each on its own) and global_clipnorm (both
# together) differ; the bias's gradient is small enough to pass clipnorm=1 unchanged.
B0 = np.array([0.1, -0.2, 0.3])
H1 = np.array([0.05, 0.2, -0.1])
H2 = np.array([-3.0, 0.0, 4.0])


def clipped_steps(optimizer, gradients=((G1, H1), (G2, H2))):
    """Apply each pair of gradients to copies of W0 and B0; return both weights after each step."""
    weights = [backend.asarray(W0.copy()), backend.asarray(B0.copy())]
    after = []
    for pair in gradients:
        optimizer.apply(weights, [backend.asarray(g) for g in pair])
        after.append([backend.to_numpy(w).astype(np.float64) for w in weights])
    return after


def scaled_to_norm_at_most(grads, limit):
    """``grads`` divided by their joint norm and times ``limit``, where that norm exceeds ``limit``."""
    norm = np.sqrt(sum(float(np.sum(g**2)) for g in grads))
    return [g * (limit / norm) if norm > limit else g for g in grads]


@pytest.mark.parametrize(
    "clipping, clip",
    [
        ({"clipnorm": 1.0}, lambda pair: [scaled_to_norm_at_most([g], 1.0)[0] for g in pair]),
        ({"global_clipnorm": 1.5}, lambda pair: scaled_to_norm_at_most(pair, 1.5)),
        ({"clipvalue": 0.4}, lambda pair: [np.minimum(np.maximum(g, -0.4), 0.4) for g in pair]),
    ],
    ids=["clipnorm", "global_clipnorm", "clipvalue"],
)
def test_clipping_happens_before_the_update_rule(array_backend, clipping, clip):
    lr, mu = 0.3, 0.8
    weights, velocities, expected = [W0, B0], [np.zeros_like(W0), np.zeros_like(B0)], []
    for pair in ((G1, H1), (G2, H2)):
        # SGD with momentum sees only the clipped gradients, in its velocity too.
        velocities = [mu * v - lr * g for v, g in zip(velocities, clip(pair))]
        weights = [w + v for w, v in zip(weights, velocities)]
        expected.append(weights)
    got = clipped_steps(SGD(learning_rate=lr, momentum=mu, **clipping))
    for step, (got_pair, expected_pair) in enumerate(zip(got, expected), start=1):
        for g, e in zip(got_pair, expected_pair):
            np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6, err_msg=f"step {step}")


# Keras 3.15 on JAX with float64 enabled: keras.optimizers.SGD(learning_rate=0.5, **clipping)
# .apply([G1, H1], [W0, B0]), one step.
KERAS_CLIPPED_SGD_STEP = {
    "clipnorm": (1.0, [[0.48053753, -0.61075053, 1.90268763], [-0.2919371, 3.0, -0.19161258]],
                 [0.075, -0.3, 0.35]),
    "clipvalue": (0.4, [[0.45, -0.8, 1.8], [-0.2, 3.0, -0.1]], [0.075, -0.3, 0.35]),
    "global_clipnorm": (1.5, [[0.47092171, -0.41843426, 1.85460856], [-0.43617431, 3.0, -0.16276514]],
                        [0.08546086, -0.25815657, 0.32907829]),
}


@pytest.mark.parametrize("name", sorted(KERAS_CLIPPED_SGD_STEP))
def test_clipping_gives_kerass_numbers(float64_backend, name):
    value, kernel, bias = KERAS_CLIPPED_SGD_STEP[name]
    (got,) = clipped_steps(SGD(learning_rate=0.5, **{name: value}), gradients=[(G1, H1)])
    np.testing.assert_allclose(got[0], kernel, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(got[1], bias, rtol=1e-7, atol=1e-8)


def test_global_clipnorm_leaves_out_the_gradients_of_frozen_weights(array_backend):
    frozen_bias = backend.asarray(B0.copy())
    kernel = backend.asarray(W0.copy())
    SGD(learning_rate=1.0, global_clipnorm=1.0).apply([kernel, frozen_bias], [backend.asarray(G1), None])
    (clipped,) = scaled_to_norm_at_most([G1], 1.0)  # the kernel's gradient alone sets the norm
    assert_steps([backend.to_numpy(kernel)], [W0 - clipped])
    assert_steps([backend.to_numpy(frozen_bias)], [B0])


def test_without_clipping_the_gradients_go_to_the_rule_untouched(monkeypatch):
    """The tutorial's step does no clipping work at all unless clipping was asked for."""
    optimizer = SGD(learning_rate=0.1)
    monkeypatch.setattr(optimizer, "clip_gradients", lambda grads: pytest.fail("clip_gradients was called"))
    weight = np.ones(3, np.float32)
    optimizer.apply([weight], [np.full(3, 100.0, np.float32)])
    np.testing.assert_allclose(weight, 1 - 0.1 * 100.0)


def test_the_shared_arguments_are_in_get_config_as_keras_has_them():
    config = Adam(learning_rate=0.01, global_clipnorm=2).get_config()
    assert (config["clipnorm"], config["global_clipnorm"], config["clipvalue"]) == (None, 2.0, None)
    assert Adam(**config).get_config() == config
    assert SGD().get_config() == {"learning_rate": 0.01, "weight_decay": None, "clipnorm": None,
                                  "global_clipnorm": None, "clipvalue": None, "use_ema": False,
                                  "ema_momentum": 0.99, "ema_overwrite_frequency": None,
                                  "gradient_accumulation_steps": None, "momentum": 0.0, "nesterov": False}
    config = AdamW(weight_decay=0.1, use_ema=True, ema_momentum=0.9, ema_overwrite_frequency=5,
                   gradient_accumulation_steps=4).get_config()
    assert config["weight_decay"] == 0.1 and AdamW(**config).get_config() == config
    assert (config["use_ema"], config["ema_momentum"], config["ema_overwrite_frequency"]) == (True, 0.9, 5)
    assert config["gradient_accumulation_steps"] == 4


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"clipnorm": 1.0, "clipvalue": 2.0},
         ("Only one of clipnorm, clipvalue and global_clipnorm can be set; got clipnorm=1.0, clipvalue=2.0, "
          "global_clipnorm=None")),
        ({"clipnorm": 1.0, "global_clipnorm": 1.0}, "Only one of clipnorm, clipvalue and global_clipnorm"),
        ({"clipnorm": 0}, "clipnorm must be a positive number; got 0"),
        ({"clipvalue": -1.0}, "clipvalue must be a positive number; got -1.0"),
        ({"global_clipnorm": "1"}, "global_clipnorm must be a positive number; got '1'"),
    ],
)
@pytest.mark.parametrize("make", [SGD, Nadam, AdamW])
def test_bad_clipping_is_refused(make, arguments, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        make(**arguments)



# --- weight decay, for every optimizer ---------------------------------------------------------

# Keras 3.15 on JAX with float64 enabled: keras.optimizers.<name>(learning_rate=0.05,
# weight_decay=0.1, <the arguments below>), optimizer.apply([g], [w]) for G1, G2, G3 from W0: the
# weight after the third step.
KERAS_WEIGHT_DECAY_THREE_STEPS = {
    "sgd": ({"momentum": 0.8}, [[0.5013073125, -0.847222375, 1.914624125], [-0.169901875, 2.879899625, 0.0143716563]]),
    "rmsprop": ({"rho": 0.7, "epsilon": 0.5},
                [[0.4923808778, -0.9610228142, 1.9591299103], [-0.0477020689, 2.8960755674, -0.1702871628]]),
    "adagrad": ({"initial_accumulator_value": 0.3, "epsilon": 0.5},
                [[0.4926733994, -0.9667248284, 1.9571478187], [-0.0320254001, 2.9138145827, -0.1968255152]]),
    "adam": ({"beta_1": 0.6, "beta_2": 0.8, "epsilon": 0.5},
             [[0.4953531469, -0.9530998099, 1.945268154], [-0.0478735358, 2.9242654689, -0.1935281651]]),
    # Keras's AdamW is Adam with this same weight decay: the same numbers.
    "adamw": ({"beta_1": 0.6, "beta_2": 0.8, "epsilon": 0.5},
              [[0.4953531469, -0.9530998099, 1.945268154], [-0.0478735358, 2.9242654689, -0.1935281651]]),
    "nadam": ({"beta_1": 0.6, "beta_2": 0.8, "epsilon": 0.5},
              [[0.4909019221, -0.9644169123, 1.9481439418], [-0.0376281792, 2.91059365, -0.186470503]]),
    "adamax": ({"beta_1": 0.6, "beta_2": 0.8, "epsilon": 0.5},
               [[0.4930471965, -0.945092249, 1.9293676624], [-0.0582937873, 2.9209622299, -0.1905878621]]),
}


@pytest.mark.parametrize("name", sorted(KERAS_WEIGHT_DECAY_THREE_STEPS))
def test_weight_decay_gives_kerass_numbers_for_every_optimizer(float64_backend, name):
    arguments, expected = KERAS_WEIGHT_DECAY_THREE_STEPS[name]
    optimizer = optimizers.from_config(name, {"learning_rate": 0.05, "weight_decay": 0.1, **arguments})
    np.testing.assert_allclose(steps(optimizer)[-1], expected, rtol=1e-9, atol=1e-9)


def test_adamw_by_default_gives_kerass_numbers(float64_backend):
    # Keras 3.15 (JAX, float64): AdamW(learning_rate=0.05), its weight_decay 0.004, three steps.
    expected = [[0.4763750988, -0.9301546419, 1.9026132345], [-0.1037127749, 2.923169807, -0.1387753394]]
    np.testing.assert_allclose(steps(AdamW(learning_rate=0.05))[-1], expected, rtol=1e-9, atol=1e-9)


def test_sgd_with_momentum_and_weight_decay_two_steps(array_backend):
    lr, mu, decay = 0.3, 0.8, 0.1
    # The weight shrinks first, w - w * decay * lr; then the rule's step from there.
    v1 = -lr * G1
    w1 = W0 * (1 - decay * lr) + v1
    v2 = mu * v1 - lr * G2
    w2 = w1 * (1 - decay * lr) + v2
    assert_steps(two_steps(SGD(learning_rate=lr, momentum=mu, weight_decay=decay)), [w1, w2])


def test_weight_decay_takes_each_steps_rate_from_the_schedule(float64_backend):
    # Keras 3.15 (JAX, float64): SGD(ExponentialDecay(0.5, 1, 0.5), weight_decay=0.2), three steps:
    # steps at the rates 0.5, 0.25, 0.125, each shrinking the weight by 0.2 times that rate.
    optimizer = SGD(learning_rate=schedules.ExponentialDecay(0.5, decay_steps=1, decay_rate=0.5), weight_decay=0.2)
    expected = [[0.4305, -0.188625, 1.4388125], [-0.6684375, 2.299, 0.54928125]]
    np.testing.assert_allclose(steps(optimizer)[-1], expected, rtol=1e-9, atol=1e-9)


def test_weight_decay_shrinks_the_weights_not_the_clipped_gradients(float64_backend):
    # Keras 3.15 (JAX, float64): SGD(0.5, weight_decay=0.2, clipnorm=1.0).apply([G1, H1], [W0, B0]).
    (got,) = clipped_steps(SGD(learning_rate=0.5, weight_decay=0.2, clipnorm=1.0), gradients=[(G1, H1)])
    np.testing.assert_allclose(got[0], [[0.4305375264, -0.5107505279, 1.702687632],
                                        [-0.2919371041, 2.7, -0.1666125792]], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got[1], [0.065, -0.28, 0.32], rtol=1e-9, atol=1e-9)


def test_exclude_from_weight_decay_by_name_gives_kerass_numbers(float64_backend):
    # Keras 3.15 (JAX, float64): SGD(0.5, weight_decay=0.2) with exclude_from_weight_decay(
    # var_names=["bias"]), applied to variables named "kernel" (W0) and "bias" (B0), two steps.
    optimizer = SGD(learning_rate=0.5, weight_decay=0.2)
    optimizer.exclude_from_weight_decay(var_names=["bias"])
    weights = [backend.asarray(W0.copy()), backend.asarray(B0.copy())]
    optimizer.build(weights, ["kernel", "bias"])
    for pair in ((G1, H1), (G2, H2)):
        optimizer.apply(weights, [backend.asarray(g) for g in pair])
    np.testing.assert_allclose(backend.to_numpy(weights[0]), [[0.56, -0.41, 1.145], [-0.775, 2.08, 1.4325]],
                               rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(backend.to_numpy(weights[1]), B0 - 0.5 * (H1 + H2), rtol=1e-9, atol=1e-9)


def one_batch(optimizer, exclude=None):
    """A two-layer model's weights before and after one batch of training with ``optimizer``."""
    set_random_seed(0)
    model = Sequential([Dense(4, activation="tanh", input_shape=(3,)), Dense(2)])
    model.compile(optimizer=optimizer, loss="mse")
    if exclude is not None:
        exclude(model)
    before = model.get_weights()
    x = np.random.default_rng(1).normal(size=(8, 3)).astype(np.float32)
    model.train_on_batch(x, np.ones((8, 2), np.float32))
    return before, model.get_weights()


@pytest.mark.parametrize(
    "exclude, excluded",
    [
        (lambda model: model.optimizer.exclude_from_weight_decay(var_names=["bias"]), [1, 3]),
        (lambda model: model.optimizer.exclude_from_weight_decay(var_names=["^k"]), [0, 2]),  # regular expressions
        (lambda model: model.optimizer.exclude_from_weight_decay(var_list=[model.layers[1].kernel]), [2]),
        (lambda model: model.optimizer.exclude_from_weight_decay(
            var_list=[model.layers[0].kernel], var_names=["bias"]), [0, 1, 3]),
    ],
    ids=["bias-by-name", "kernel-by-pattern", "by-array", "both"],
)
def test_exclude_from_weight_decay_through_fit_leaves_those_weights_undecayed(exclude, excluded):
    lr, decay = 0.1, 0.5
    before, plain = one_batch(SGD(learning_rate=lr))
    _, decayed = one_batch(SGD(learning_rate=lr, weight_decay=decay), exclude)
    for index, (w0, p, d) in enumerate(zip(before, plain, decayed)):
        # Plain SGD moved each weight by -lr * g; weight decay also takes lr * decay * w0 away.
        expected = p if index in excluded else p - lr * decay * w0
        np.testing.assert_allclose(d, expected, rtol=1e-6, atol=1e-7, err_msg=f"weight {index}")


def test_frozen_weights_do_not_decay():
    frozen = np.ones(3, np.float32)
    trained = np.ones(3, np.float32)
    SGD(learning_rate=0.5, weight_decay=0.2).apply([frozen, trained], [None, np.zeros(3, np.float32)])
    np.testing.assert_array_equal(frozen, 1.0)
    np.testing.assert_allclose(trained, 1 - 0.5 * 0.2)


def test_exclude_from_weight_decay_mistakes_are_explained():
    optimizer = SGD(weight_decay=0.1)
    with pytest.raises(ValueError, match=r"var_names must be a list of strings, e.g. \['bias'\]; got 'bias'"):
        optimizer.exclude_from_weight_decay(var_names="bias")
    with pytest.raises(ValueError, match="var_list must be a list of weight arrays"):
        optimizer.exclude_from_weight_decay(var_list=["kernel"])
    with pytest.raises(ValueError, match=r"var_names holds 'bias\(', which is not a regular expression"):
        optimizer.exclude_from_weight_decay(var_names=["bias("])
    optimizer.exclude_from_weight_decay(var_names=["bias"])
    weight = np.ones(3, np.float32)
    with pytest.raises(ValueError, match=r"needs the weights' names.*call optimizer.build\(params, names\)"):
        optimizer.apply([weight], [np.ones(3, np.float32)])
    np.testing.assert_array_equal(weight, 1.0)  # refused before any change
    optimizer.build([weight], ["kernel"])
    with pytest.raises(ValueError, match="only be called before the optimizer's first step"):
        optimizer.exclude_from_weight_decay(var_names=["kernel"])


def test_without_the_shared_extras_apply_does_no_work_for_them(monkeypatch):
    """The tutorial's step: no weight decay, accumulation or moving average, so none of their code runs."""
    for optimizer in (SGD(learning_rate=0.1), SGD(learning_rate=0.1, weight_decay=0.0)):
        for extra in ("accumulate", "decay_weights", "update_averages", "finalize_variable_values"):
            monkeypatch.setattr(optimizer, extra, lambda *args, extra=extra: pytest.fail(f"{extra} was called"))
        weight = np.ones(3, np.float32)
        optimizer.apply([weight], [np.full(3, 2.0, np.float32)])
        np.testing.assert_allclose(weight, 1 - 0.1 * 2.0)
        assert optimizer.accumulated_gradients is None and optimizer.averages is None


# --- gradient accumulation ------------------------------------------------------------------------

G4 = np.array([[0.2, -0.5, 0.1], [0.0, 1.0, -0.2]])
H3 = np.array([1.0, -1.0, 0.5])
H4 = np.array([0.3, 0.1, -0.2])

# Keras 3.15 on JAX with float64 enabled: optimizer.apply([g], [w]) for G1, G2, G3, G4 from W0; the
# weight after each update (every n-th batch) and optimizer.iterations after each of the 4 batches.
KERAS_ACCUMULATION = {
    "sgd-momentum-2": (
        lambda: SGD(learning_rate=0.1, momentum=0.5, gradient_accumulation_steps=2),
        [[[0.515, -0.95, 1.95], [-0.085, 2.965, -0.085]], [[0.4975, -0.915, 1.97], [-0.0975, 2.885, -0.0375]]],
        [0, 1, 1, 2]),
    "sgd-momentum-3": (
        lambda: SGD(learning_rate=0.1, momentum=0.5, gradient_accumulation_steps=3),
        [[[0.5, -0.9766666667, 2.0], [-0.0366666667, 2.9683333333, -0.17]]],
        [0, 0, 1, 1]),
    # Adam's bias correction counts updates (t = 1, 2), not batches.
    "adam-2": (
        lambda: Adam(learning_rate=0.05, beta_1=0.6, beta_2=0.8, epsilon=0.5, gradient_accumulation_steps=2),
        [[[0.505914668, -0.9845491503, 1.9845491503], [-0.0215951555, 2.9880792951, -0.2201954527]],
         [[0.5011291071, -0.9739099321, 1.9881377805], [-0.0261444788, 2.9688126723, -0.2100113471]]],
        [0, 1, 1, 2]),
    # The schedule counts batches: the updates use its rates at batches 1 and 3 (0.25, 0.0625).
    "sgd-schedule-2": (
        lambda: SGD(learning_rate=schedules.ExponentialDecay(0.5, decay_steps=1, decay_rate=0.5),
                    gradient_accumulation_steps=2),
        [[[0.5375, -0.875, 1.875], [-0.2125, 2.9125, 0.1625]],
         [[0.521875, -0.86875, 1.903125], [-0.19375, 2.8734375, 0.140625]]],
        [0, 1, 1, 2]),
}


@pytest.mark.parametrize("name", sorted(KERAS_ACCUMULATION))
def test_gradient_accumulation_gives_kerass_numbers(float64_backend, name):
    make, updates, iterations = KERAS_ACCUMULATION[name]
    optimizer = make()
    weight, after, counts = backend.asarray(W0.copy()), [], []
    for grad in (G1, G2, G3, G4):
        optimizer.apply([weight], [backend.asarray(grad)])
        after.append(backend.to_numpy(weight).astype(np.float64))
        counts.append(optimizer.iterations)
    assert counts == iterations
    steps_per_update = optimizer.gradient_accumulation_steps
    for batch, weight_after in enumerate(after):
        if (batch + 1) % steps_per_update:  # the weight has not moved since the last update
            last_update = (batch + 1) // steps_per_update - 1
            np.testing.assert_array_equal(weight_after, W0 if last_update < 0 else after[batch - 1])
    got_updates = [after[batch] for batch in range(steps_per_update - 1, 4, steps_per_update)]
    np.testing.assert_allclose(got_updates, updates, rtol=1e-9, atol=1e-9)


def test_accumulated_gradients_are_averaged_then_clipped_then_the_weights_decay(float64_backend):
    # Keras 3.15 (JAX, float64): SGD(0.5, global_clipnorm=1.0, weight_decay=0.2,
    # gradient_accumulation_steps=2).apply([G, H], [W0, B0]) for (G1, H1) .. (G4, H4).
    optimizer = SGD(learning_rate=0.5, global_clipnorm=1.0, weight_decay=0.2, gradient_accumulation_steps=2)
    got = clipped_steps(optimizer, gradients=[(G1, H1), (G2, H2), (G3, H3), (G4, H4)])
    expected = {1: ([[0.4736249769, -0.8212500769, 1.7212500769], [-0.1338748693, 2.6448750538, 0.0348747462]],
                    [0.3223122731, -0.1957499846, -0.0371247001]),
                3: ([[0.3250611738, -0.698644547, 1.731287419], [0.0009541842, 2.1273842849, -0.110294556]],
                    [0.0269576517, 0.0059873636, -0.0941330133])}
    for batch, (kernel, bias) in expected.items():
        np.testing.assert_allclose(got[batch][0], kernel, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(got[batch][1], bias, rtol=1e-9, atol=1e-9)


def test_accumulation_through_fit_equals_one_batch_n_times_as_large(array_backend):
    """The mean gradient of 4 batches of 8 is the gradient of their 32 samples: SGD over batches
    of 8 with gradient_accumulation_steps=4 takes the steps SGD takes over batches of 32."""
    data = np.random.default_rng(3)
    x = data.normal(size=(64, 3)).astype(np.float32)
    y = data.normal(size=(64, 2)).astype(np.float32)
    trained = []
    for batch_size, accumulation in ((32, None), (8, 4)):
        set_random_seed(0)
        model = Sequential([Dense(5, activation="tanh", input_shape=(3,)), Dense(2)])
        model.compile(optimizer=SGD(learning_rate=0.2, momentum=0.5, gradient_accumulation_steps=accumulation),
                      loss="mse")
        model.fit(x, y, batch_size=batch_size, epochs=3, shuffle=False, verbose=0)
        assert model.optimizer.iterations == 6
        trained.append(model.get_weights())
    for a, b in zip(*trained):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# --- the moving average of the weights (use_ema) --------------------------------------------------

# Keras 3.15 on JAX with float64 enabled: optimizer.apply([g], [w]) for G1, G2, ... from W0; after
# each batch, the weight and optimizer._model_variables_moving_average[0].
KERAS_EMA = {
    "sgd-momentum": (
        lambda: SGD(learning_rate=0.1, momentum=0.5, use_ema=True, ema_momentum=0.6),
        [([[0.49, -0.8, 1.95], [-0.15, 3.0, -0.22]], [[0.49, -0.8, 1.95], [-0.15, 3.0, -0.22]]),
         ([[0.525, -0.8, 1.875], [-0.245, 2.93, 0.095]], [[0.504, -0.8, 1.92], [-0.188, 2.972, -0.094]]),
         ([[0.5125, -0.83, 1.9375], [-0.2325, 2.87, 0.1625]], [[0.5074, -0.812, 1.927], [-0.2058, 2.9312, 0.0086]])]),
    # Every second update the weights become their averages.
    "overwrite-every-2": (
        lambda: SGD(learning_rate=0.1, use_ema=True, ema_momentum=0.6, ema_overwrite_frequency=2),
        [([[0.49, -0.8, 1.95], [-0.15, 3.0, -0.22]], [[0.49, -0.8, 1.95], [-0.15, 3.0, -0.22]]),
         ([[0.506, -0.84, 1.93], [-0.158, 2.972, -0.1]], [[0.506, -0.84, 1.93], [-0.158, 2.972, -0.1]]),
         ([[0.476, -0.87, 2.03], [-0.098, 2.947, -0.19]], [[0.494, -0.852, 1.97], [-0.134, 2.962, -0.136]]),
         ([[0.4788, -0.8392, 1.99], [-0.1196, 2.916, -0.1496]], [[0.4788, -0.8392, 1.99], [-0.1196, 2.916, -0.1496]])]),
    # With accumulation the average follows every batch; it equals the weight up to the first update.
    "accumulating-2": (
        lambda: SGD(learning_rate=0.1, use_ema=True, ema_momentum=0.6, gradient_accumulation_steps=2),
        [(W0.tolist(), W0.tolist()),
         ([[0.515, -0.95, 1.95], [-0.085, 2.965, -0.085]], [[0.515, -0.95, 1.95], [-0.085, 2.965, -0.085]]),
         ([[0.515, -0.95, 1.95], [-0.085, 2.965, -0.085]], [[0.515, -0.95, 1.95], [-0.085, 2.965, -0.085]]),
         ([[0.49, -0.94, 1.995], [-0.055, 2.9025, -0.12]], [[0.505, -0.946, 1.968], [-0.073, 2.94, -0.099]])]),
}


@pytest.mark.parametrize("name", sorted(KERAS_EMA))
def test_the_moving_average_gives_kerass_numbers(float64_backend, name):
    make, expected = KERAS_EMA[name]
    optimizer = make()
    weight = backend.asarray(W0.copy())
    for batch, (grad, (expected_weight, expected_average)) in enumerate(zip((G1, G2, G3, G4), expected)):
        optimizer.apply([weight], [backend.asarray(grad)])
        np.testing.assert_allclose(backend.to_numpy(weight), expected_weight, rtol=1e-9, atol=1e-9,
                                   err_msg=f"batch {batch}")
        np.testing.assert_allclose(backend.to_numpy(optimizer.averages[0]), expected_average, rtol=1e-9,
                                   atol=1e-9, err_msg=f"batch {batch}")


def test_fit_ends_with_the_weights_set_to_their_moving_averages():
    data = np.random.default_rng(4)
    x, y = data.normal(size=(40, 3)).astype(np.float32), data.normal(size=(40, 1)).astype(np.float32)
    seen = []  # the weights after each batch, of a model trained alike without the average
    for use_ema in (False, True):
        set_random_seed(0)
        model = Sequential([Dense(4, activation="tanh", input_shape=(3,)), Dense(1, trainable=False)])
        model.compile(optimizer=SGD(learning_rate=0.1, use_ema=use_ema, ema_momentum=0.7), loss="mse")
        record = LambdaCallback(on_train_batch_end=lambda batch, logs, m=model: seen.append(m.get_weights()))
        model.fit(x, y, batch_size=10, epochs=2, shuffle=False, verbose=0, callbacks=[] if use_ema else [record])
    averages = [w.copy() for w in seen[0]]
    for weights in seen[1:]:
        averages = [a + 0.3 * (w - a) for a, w in zip(averages, weights)]
    for got, average in zip(model.get_weights(), averages):
        np.testing.assert_allclose(got, average, rtol=1e-5, atol=1e-6)
    # The frozen layer's weights, never trained, are left exactly as they were.
    for got, last in zip(model.get_weights()[2:], seen[-1][2:]):
        np.testing.assert_array_equal(got, last)
    assert not np.allclose(model.get_weights()[0], seen[-1][0])  # the average is not the last weight


# --- a function as the learning rate ----------------------------------------------------------------


def test_a_function_of_no_arguments_gives_each_updates_rate(array_backend):
    # Keras 3.15 (JAX): SGD(learning_rate=<a function returning 0.1, then 0.2>), two steps from W0.
    rates = iter([0.1, 0.2, 0.3])
    optimizer = SGD(learning_rate=lambda: next(rates))
    assert_steps(two_steps(optimizer), [[[0.49, -0.8, 1.95], [-0.15, 3.0, -0.22]],
                                        [[0.57, -1.0, 1.85], [-0.19, 2.86, 0.38]]])
    assert optimizer.learning_rate == 0.3  # read now, for the next update
    with pytest.raises(TypeError, match=r"comes from the function, <function .*cannot be set to 0\.5"):
        optimizer.learning_rate = 0.5
    optimizer.learning_rate = lambda: 0.05  # another function, as Keras allows
    assert optimizer.learning_rate == 0.05
    assert SGD(**optimizer.get_config()).learning_rate == 0.05  # the config holds the function itself


# --- saving ---------------------------------------------------------------------------------------


def trained_model(optimizer, batches=5):
    set_random_seed(0)
    data = np.random.default_rng(5)
    x = data.normal(size=(8 * batches, 3)).astype(np.float32)
    y = data.normal(size=(8 * batches, 2)).astype(np.float32)
    model = Sequential([Dense(4, activation="tanh", input_shape=(3,)), Dense(2)])
    model.compile(optimizer=optimizer, loss="mse")
    return model, x, y


@pytest.mark.parametrize(
    "make",
    [lambda: AdamW(learning_rate=0.01, weight_decay=0.1, gradient_accumulation_steps=3),
     lambda: SGD(learning_rate=0.1, momentum=0.5, weight_decay=0.05, use_ema=True, ema_overwrite_frequency=2),
     lambda: Nadam(learning_rate=0.01, use_ema=True, ema_momentum=0.8, gradient_accumulation_steps=2)],
    ids=["accumulation", "ema", "both"],
)
def test_a_saved_optimizer_goes_on_exactly_where_it_stopped(tmp_path, make):
    model, x, y = trained_model(make())
    model.optimizer.exclude_from_weight_decay(var_names=["bias"])
    model.fit(x[:40], y[:40], batch_size=8, epochs=1, shuffle=False, verbose=0)  # 5 batches: mid-accumulation
    model.save(tmp_path / "model.npz")
    loaded = load_model(tmp_path / "model.npz")
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.optimizer.iterations == model.optimizer.iterations
    assert loaded.optimizer.decays == model.optimizer.decays == [True, False, True, False]
    for original, again in zip(model.optimizer.state_per_weight(), loaded.optimizer.state_per_weight()):
        for a, b in zip(original, again, strict=True):
            np.testing.assert_array_equal(backend.to_numpy(b), backend.to_numpy(a))
    for trained in (model, loaded):
        for start in range(0, 24, 8):  # train_on_batch: no finalize_variable_values at the end
            trained.train_on_batch(x[start : start + 8], y[start : start + 8])
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_file_from_before_the_shared_arguments_still_loads(tmp_path):
    """Files written before weight decay, accumulation and the average hold none of their settings."""
    import json

    model, x, y = trained_model(SGD(learning_rate=0.1, momentum=0.5))
    model.fit(x, y, batch_size=8, verbose=0)
    model.save(tmp_path / "model.npz")
    with np.load(tmp_path / "model.npz") as stored:
        arrays = dict(stored)
    config = json.loads(str(arrays["config"]))
    for name in ("weight_decay", "use_ema", "ema_momentum", "ema_overwrite_frequency", "gradient_accumulation_steps"):
        del config["compile"]["optimizer"]["config"][name]
    arrays["config"] = np.array(json.dumps(config))
    np.savez(tmp_path / "old.npz", **arrays)
    loaded = load_model(tmp_path / "old.npz")
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.optimizer.iterations == model.optimizer.iterations == 5
    for trained in (model, loaded):
        trained.train_on_batch(x[:8], y[:8])
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_function_as_learning_rate_is_refused_at_save_before_writing(tmp_path):
    model, x, y = trained_model(SGD(learning_rate=lambda: 0.1))
    model.fit(x, y, batch_size=8, verbose=0)
    with pytest.raises(ValueError, match="model.save cannot save a learning_rate given as a function"):
        model.save(tmp_path / "model.npz")
    assert list(tmp_path.iterdir()) == []
