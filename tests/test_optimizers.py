"""The optimizers against Keras 3's update rules: the first two steps of each, written out by hand.

Each reference below is Keras's formula unrolled for steps 1 and 2 in plain float64 NumPy, with
hyperparameters away from their defaults (and a large epsilon), so that a swapped argument, a
missing bias correction or an epsilon in the wrong place changes the numbers.
"""

import re

import numpy as np
import pytest

from tinynet import backend, optimizers
from tinynet.layers import Dense
from tinynet.models import Sequential
from tinynet.optimizers import SGD, Adagrad, Adam, Adamax, AdamW, Nadam, RMSprop
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


def test_clipping_is_in_get_config_as_keras_has_it():
    config = Adam(learning_rate=0.01, global_clipnorm=2).get_config()
    assert (config["clipnorm"], config["global_clipnorm"], config["clipvalue"]) == (None, 2.0, None)
    assert Adam(**config).get_config() == config
    assert SGD().get_config() == {"learning_rate": 0.01, "clipnorm": None, "global_clipnorm": None,
                                  "clipvalue": None, "momentum": 0.0, "nesterov": False}


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
