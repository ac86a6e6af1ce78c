"""Learning-rate schedules: their formulas, the step count optimizers call them with, what reading
and setting ``optimizer.learning_rate`` does with one, callbacks, and saving."""

import re

import numpy as np
import pytest

from tinynet import backend
from tinynet.callbacks import LearningRateScheduler, ReduceLROnPlateau
from tinynet.layers import Dense
from tinynet.models import Sequential, load_model
from tinynet.optimizers import SGD, Adam, from_config, schedules
from tinynet.optimizers.schedules import (
    CosineDecay,
    CosineDecayRestarts,
    ExponentialDecay,
    InverseTimeDecay,
    LearningRateSchedule,
    PiecewiseConstantDecay,
    PolynomialDecay,
)
from tinynet.utils import set_random_seed

STEPS = np.arange(8.0)

# Keras 3.15 on JAX with float64 enabled (and floatx float64 for the last six): float(schedule(step))
# for steps 0, 1, ... with keras.optimizers.schedules.<the same class>(<the same arguments>). Keras
# computes CosineDecay in float32 (its rate is converted as float32), and CosineDecayRestarts with pi
# in float32, hence the tolerance below.
KERAS_VALUES = {
    "exponential": (ExponentialDecay(0.1, decay_steps=3, decay_rate=0.5),
                    [0.1, 0.079370052598, 0.062996052495, 0.05, 0.039685026299, 0.031498026247, 0.025,
                     0.01984251315]),
    "exponential-staircase": (ExponentialDecay(0.1, decay_steps=3, decay_rate=0.5, staircase=True),
                              [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025]),
    "piecewise": (PiecewiseConstantDecay([2, 5], [0.1, 0.05, 0.01]),
                  [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.01, 0.01]),
    "inverse-time": (InverseTimeDecay(0.1, decay_steps=2, decay_rate=0.5),
                     [0.1, 0.08, 0.066666666667, 0.057142857143, 0.05, 0.044444444444, 0.04, 0.036363636364]),
    "inverse-time-staircase": (InverseTimeDecay(0.1, decay_steps=2, decay_rate=0.5, staircase=True),
                               [0.1, 0.1, 0.066666666667, 0.066666666667, 0.05, 0.05, 0.04, 0.04]),
    "cosine": (CosineDecay(0.1, decay_steps=4, alpha=0.2),
               [0.10000000149, 0.088284276426, 0.059999998659, 0.031715732068, 0.020000001416, 0.020000001416,
                0.020000001416, 0.020000001416]),
    "cosine-warmup": (CosineDecay(0.1, decay_steps=4, alpha=0.2, warmup_target=0.3, warmup_steps=2),
                      [0.1, 0.2, 0.3, 0.264852815866, 0.179999989271, 0.095147189498, 0.060000000894,
                       0.060000000894]),
    "polynomial": (PolynomialDecay(0.1, decay_steps=4, end_learning_rate=0.01, power=2.0),
                   [0.1, 0.060625, 0.0325, 0.015625, 0.01, 0.01, 0.01, 0.01]),
    "polynomial-defaults": (PolynomialDecay(0.1, decay_steps=4),
                            [0.1, 0.075025, 0.05005, 0.025075, 0.0001, 0.0001, 0.0001, 0.0001]),
    "polynomial-cycle": (PolynomialDecay(0.1, decay_steps=3, end_learning_rate=0.02, power=0.5, cycle=True),
                         [0.1, 0.085319726474, 0.066188021535, 0.02, 0.066188021535, 0.052659863237, 0.02,
                          0.057712361663, 0.046666666667, 0.02, 0.052659863237, 0.043094010768, 0.02,
                          0.049211869734, 0.04065591118, 0.02]),
    "restarts": (CosineDecayRestarts(0.1, first_decay_steps=2, t_mul=2.0, m_mul=0.5, alpha=0.1),
                 [0.1, 0.054999997318, 0.055, 0.048409903646, 0.032499998659, 0.016590097696, 0.0325,
                  0.031643644422, 0.029204951823, 0.025555188209, 0.021249999329, 0.016944811791, 0.013295048848,
                  0.010856355578, 0.02125, 0.021141917035]),
    "restarts-even": (CosineDecayRestarts(0.1, first_decay_steps=3, t_mul=1.0, m_mul=0.8, alpha=0.2),
                      [0.1, 0.08, 0.039999997616, 0.084, 0.068, 0.035999998093, 0.0712, 0.0584, 0.032799998474,
                       0.06096, 0.05072, 0.030239998779, 0.052768, 0.044576, 0.028191999023, 0.0462144]),
    "restarts-defaults": (CosineDecayRestarts(0.1, first_decay_steps=2, t_mul=1.5),
                          [0.1, 0.04999999702, 0.1, 0.075, 0.02499999702, 0.1, 0.088302218914, 0.058682411909,
                           0.02499999702, 0.003015369177, 0.098652243614, 0.088302218914, 0.069803988934,
                           0.047092759609, 0.02499999702, 0.008225613832]),
}


@pytest.mark.parametrize("name", sorted(KERAS_VALUES))
def test_schedules_give_kerass_numbers(name):
    schedule, expected = KERAS_VALUES[name]
    np.testing.assert_allclose([schedule(step) for step in range(len(expected))], expected, rtol=1e-6)


# The same schedules written another way, over whole arrays of steps.
REFERENCES = {
    "exponential": lambda s: 0.1 * np.exp(np.log(0.5) * s / 3),
    "exponential-staircase": lambda s: 0.1 * 0.5 ** (s // 3),
    "piecewise": lambda s: np.select([s <= 2, s <= 5], [0.1, 0.05], default=0.01),
    "inverse-time": lambda s: 0.1 / (1 + 0.5 * s / 2),
    "inverse-time-staircase": lambda s: 0.1 / (1 + 0.5 * (s // 2)),
    # from 0.1 to 0.2 * 0.1 along half a cosine over 4 steps, then flat
    "cosine": lambda s: 0.02 + (0.1 - 0.02) * (1 + np.cos(np.pi * np.minimum(s, 4) / 4)) / 2,
    # 0.1 -> 0.3 in a line over 2 steps, then half a cosine from 0.3 to 0.06 over 4 steps
    "cosine-warmup": lambda s: np.where(
        s < 2, 0.1 + 0.1 * s, 0.06 + (0.3 - 0.06) * (1 + np.cos(np.pi * np.clip(s - 2, 0, 4) / 4)) / 2),
    # from 0.1 to 0.01 along a parabola that is flat at step 4, then flat
    "polynomial": lambda s: 0.01 + 0.09 * (np.maximum(4 - s, 0) / 4) ** 2,
    "polynomial-defaults": lambda s: 0.0001 + (0.1 - 0.0001) * np.maximum(4 - s, 0) / 4,
    # each stretch of 3 steps after the first ends at 0.02, over 3 * ceil(step / 3) steps from 0.1
    "polynomial-cycle": lambda s: 0.02 + 0.08 * np.sqrt(1 - s / (3 * np.maximum(np.ceil(s / 3), 1))),
    # periods of 2, 4, 8, 16, 32 steps from steps 0, 2, 6, 14, 30, the peaks halving, the floor 0.01
    "restarts": lambda s: restarts_reference(s, starts=[0, 2, 6, 14, 30, 62], m_mul=0.5, alpha=0.1),
    "restarts-even": lambda s: restarts_reference(s, starts=range(0, 43, 3), m_mul=0.8, alpha=0.2),
    "restarts-defaults": lambda s: restarts_reference(s, starts=[0, 2, 5, 9.5, 16.25, 26.375, 41.5625],
                                                      m_mul=1.0, alpha=0.0),
}


def restarts_reference(steps, starts, m_mul, alpha):
    """CosineDecayRestarts from 0.1 at ``steps``, its periods starting at the steps ``starts``."""
    starts = np.asarray(starts, dtype=float)
    period = np.searchsorted(starts, steps, side="right") - 1
    fraction = (steps - starts[period]) / (starts[period + 1] - starts[period])
    return 0.1 * ((1 - alpha) * m_mul**period * (1 + np.cos(np.pi * fraction)) / 2 + alpha)


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_schedules_follow_their_formulas(name):
    schedule, _ = KERAS_VALUES[name]
    steps = np.arange(0.0, 40.0)
    np.testing.assert_allclose([schedule(int(step)) for step in steps], REFERENCES[name](steps), rtol=1e-12)


def test_the_first_update_uses_the_rate_at_step_0_and_learning_rate_reads_the_next_one(array_backend):
    # Keras 3.15 (JAX): SGD(learning_rate=ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5))
    # applying the gradient [1, 2] three times to [0.5, -1] gives these weights, and reads these rates.
    weight = backend.asarray(np.array([0.5, -1.0]))
    optimizer = SGD(learning_rate=ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5))
    assert optimizer.learning_rate == 0.1
    for expected_weight, expected_rate in (([0.4, -1.2], 0.05), ([0.35, -1.3], 0.025), ([0.325, -1.35], 0.0125)):
        optimizer.apply([weight], [backend.asarray(np.array([1.0, 2.0]))])
        np.testing.assert_allclose(backend.to_numpy(weight), expected_weight, rtol=1e-6)
        assert optimizer.learning_rate == pytest.approx(expected_rate)


def test_adam_with_a_schedule_takes_each_steps_rate(array_backend):
    schedule = PiecewiseConstantDecay([1], [0.2, 0.05])  # steps 0 and 1 at 0.2, then 0.05
    b1, b2, epsilon = 0.6, 0.8, 0.5
    grads = [np.array([0.1, -2.0, 0.5]), np.array([-0.4, 1.0, 0.5]), np.array([0.3, 0.3, -1.0])]
    w, m, v, expected = np.array([0.5, -1.0, 2.0]), np.zeros(3), np.zeros(3), []
    for t, (g, rate) in enumerate(zip(grads, [0.2, 0.2, 0.05]), start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        w = w - rate * np.sqrt(1 - b2**t) / (1 - b1**t) * m / (np.sqrt(v) + epsilon)
        expected.append(w)
    weight = backend.asarray(np.array([0.5, -1.0, 2.0]))
    optimizer = Adam(learning_rate=schedule, beta_1=b1, beta_2=b2, epsilon=epsilon)
    for g, e in zip(grads, expected):
        optimizer.apply([weight], [backend.asarray(g)])
        np.testing.assert_allclose(backend.to_numpy(weight), e, rtol=1e-5, atol=1e-6)


def test_a_rate_from_a_schedule_cannot_be_set_to_a_number_but_to_another_schedule():
    schedule = InverseTimeDecay(0.1, decay_steps=1, decay_rate=1.0)
    optimizer = SGD(learning_rate=schedule)
    with pytest.raises(TypeError, match=r"comes from its schedule, InverseTimeDecay\(.*cannot be set to 0\.3"):
        optimizer.learning_rate = 0.3
    with pytest.raises(TypeError, match="make the optimizer with a number as learning_rate"):
        optimizer.lr = 0.3
    assert optimizer.schedule is schedule
    optimizer.learning_rate = ExponentialDecay(1.0, decay_steps=1, decay_rate=0.5)  # as Keras allows
    assert optimizer.learning_rate == 1.0
    numbered = SGD(learning_rate=0.1)
    numbered.learning_rate = schedule
    assert numbered.schedule is schedule and numbered.learning_rate == 0.1


def tiny_regression(optimizer):
    set_random_seed(0)
    data = np.random.default_rng(0)
    x = data.normal(size=(32, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32)
    model = Sequential([Dense(1, input_shape=(3,))])
    model.compile(optimizer=optimizer, loss="mse")
    return model, x, y


def test_learning_rate_scheduler_refuses_an_optimizer_with_a_schedule_before_the_first_step():
    model, x, y = tiny_regression(SGD(learning_rate=ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)))
    with pytest.raises(TypeError, match="comes from its schedule"):
        model.fit(x, y, epochs=2, verbose=0, callbacks=[LearningRateScheduler(lambda epoch, rate: rate)])
    assert model.optimizer.iterations == 0


def test_reduce_lr_on_plateau_logs_the_schedules_rate_and_refuses_to_set_one():
    # Keras 3.15 (JAX) logs learning_rate [0.025, 0.00625] here (2 steps an epoch, ExponentialDecay
    # halving each step): the rate the next step would use; then it cannot reduce a schedule.
    model, x, y = tiny_regression(SGD(learning_rate=ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)))
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0,
                        callbacks=[ReduceLROnPlateau(monitor="loss", patience=5)])
    np.testing.assert_allclose(history.history["learning_rate"], [0.025, 0.00625])
    with pytest.raises(TypeError, match="comes from its schedule"):
        model.fit(x, y, batch_size=16, epochs=3, verbose=0,
                  callbacks=[ReduceLROnPlateau(monitor="loss", patience=0, min_delta=10)])


def test_sgd_with_a_schedule_learns_through_fit():
    model, x, y = tiny_regression(SGD(learning_rate=CosineDecay(0.2, decay_steps=40, alpha=0.1)))
    losses = model.fit(x, y, batch_size=8, epochs=10, verbose=0).history["loss"]
    assert losses[-1] < 0.05 * losses[0]
    assert model.optimizer.learning_rate == pytest.approx(0.02)  # 40 steps: at the end of the cosine


@pytest.mark.parametrize("name", sorted(KERAS_VALUES))
def test_schedules_and_optimizers_with_them_round_trip_through_their_configs(name):
    schedule, _ = KERAS_VALUES[name]
    again = schedules.deserialize(schedules.serialize(schedule))
    assert type(again) is type(schedule) and again.get_config() == schedule.get_config()
    optimizer = Adam(learning_rate=schedule, clipnorm=1.0)
    config = optimizer.get_config()
    assert config["learning_rate"] == {"class_name": type(schedule).__name__, "config": schedule.get_config()}
    made_again = from_config("adam", config)
    assert made_again.get_config() == config
    assert [made_again.schedule(step) for step in range(8)] == [schedule(step) for step in range(8)]


def test_a_saved_model_goes_on_with_its_schedule_where_it_stopped(tmp_path):
    model, x, y = tiny_regression(SGD(learning_rate=ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5),
                                      momentum=0.5))
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    model.save(tmp_path / "model.npz")
    loaded = load_model(tmp_path / "model.npz")
    assert loaded.optimizer.learning_rate == model.optimizer.learning_rate == pytest.approx(0.1 * 0.5**2)
    for trained in (model, loaded):
        trained.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("schedule", [PolynomialDecay(0.1, decay_steps=3, power=2.0, cycle=True),
                                      CosineDecayRestarts(0.1, first_decay_steps=2, m_mul=0.5, alpha=0.1)],
                         ids=["polynomial", "restarts"])
def test_the_new_schedules_come_back_from_a_saved_model(tmp_path, schedule):
    model, x, y = tiny_regression(Adam(learning_rate=schedule))
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)  # 4 steps
    model.save(tmp_path / "model.npz")
    loaded = load_model(tmp_path / "model.npz")
    assert type(loaded.optimizer.schedule) is type(schedule)
    assert loaded.optimizer.schedule.get_config() == schedule.get_config()
    assert loaded.optimizer.learning_rate == model.optimizer.learning_rate == schedule(4)


def test_a_schedule_of_ones_own_trains_but_is_not_saved(tmp_path):
    class Halving(LearningRateSchedule):
        def __call__(self, step):
            return 0.1 / 2**step

        def get_config(self):
            return {}

    model, x, y = tiny_regression(SGD(learning_rate=Halving()))
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert model.optimizer.learning_rate == 0.1 / 4
    with pytest.raises(ValueError, match="cannot save the learning-rate schedule Halving"):
        model.save(tmp_path / "model.npz")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: ExponentialDecay(0.1, decay_steps=0, decay_rate=0.5), "decay_steps must be a number > 0; got 0"),
        (lambda: ExponentialDecay(-0.1, 10, 0.5), "initial_learning_rate must be a number > 0; got -0.1"),
        (lambda: ExponentialDecay(0.1, 10, "0.5"), "decay_rate must be a number > 0; got '0.5'"),
        (lambda: InverseTimeDecay(0.1, decay_steps=-1, decay_rate=0.5), "decay_steps must be a number > 0"),
        (lambda: InverseTimeDecay(0.1, 10, decay_rate=-1), "decay_rate must be a number >= 0; got -1"),
        (lambda: PiecewiseConstantDecay([1], [0.1]),
         "needs one more value than boundaries; got 1 boundaries [1] and 1 values [0.1]"),
        (lambda: PiecewiseConstantDecay([5, 2], [0.1, 0.05, 0.01]), "boundaries must increase strictly; got [5, 2]"),
        (lambda: PiecewiseConstantDecay([5], [0.1, 0]), "each value must be a number > 0; got 0"),
        (lambda: CosineDecay(0.1, decay_steps=0), "decay_steps must be a number > 0"),
        (lambda: CosineDecay(0.1, 10, alpha=1.5), "alpha must be a number in [0, 1]; got 1.5"),
        (lambda: CosineDecay(0.0, 10), "initial_learning_rate must be a number > 0; got 0.0"),
        (lambda: CosineDecay(0.0, 10, warmup_target=0.1, warmup_steps=2.5),
         "warmup_steps must be a whole number >= 0; got 2.5"),
        (lambda: SGD(learning_rate=[0.1]), "learning_rate must be a positive number"),
        (lambda: schedules.deserialize({"class_name": "ExponentialDecya", "config": {}}),
         ("Unknown learning-rate schedule 'ExponentialDecya'. Valid names: cosinedecay, cosinedecayrestarts, "
          "exponentialdecay, inversetimedecay, piecewiseconstantdecay, polynomialdecay. "
          "Did you mean 'exponentialdecay'?")),
        (lambda: PolynomialDecay(0.1, decay_steps=0), "decay_steps must be a number > 0; got 0"),
        (lambda: PolynomialDecay(0.1, 10, end_learning_rate=-0.01), "end_learning_rate must be a number >= 0"),
        (lambda: PolynomialDecay(0.0, 10, end_learning_rate=0.0), "initial_learning_rate must be a number > 0"),
        (lambda: PolynomialDecay(0.1, 10, power=0), "power must be a number > 0; got 0"),
        (lambda: CosineDecayRestarts(0.1, first_decay_steps=-2), "first_decay_steps must be a number > 0; got -2"),
        (lambda: CosineDecayRestarts(0.1, 10, t_mul=0.5), "t_mul must be a number >= 1 (how many times longer"),
        (lambda: CosineDecayRestarts(0.1, 10, m_mul=0), "m_mul must be a number > 0; got 0"),
        (lambda: CosineDecayRestarts(0.1, 10, alpha=-0.5), "alpha must be a number in [0, 1]; got -0.5"),
    ],
)
def test_bad_schedule_arguments_are_refused(make, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        make()


def test_warming_up_from_zero_is_allowed():
    schedule = CosineDecay(0.0, decay_steps=10, warmup_target=0.1, warmup_steps=5)
    assert [schedule(step) for step in (0, 5)] == [0.0, 0.1]
    rising = PolynomialDecay(0.0, decay_steps=4, end_learning_rate=0.1)
    assert [rising(step) for step in (0, 2, 4, 8)] == [0.0, 0.05, 0.1, 0.1]


def test_cosine_decay_restarts_restarts_exactly_at_the_top():
    # Keras 3.15 (JAX): CosineDecayRestarts(1.0, first_decay_steps=1, t_mul=3.0, alpha=0.1) at steps
    # 120, 121, 122, where period 5 starts at 121 (= 1 + 3 + 9 + 27 + 81). A closed form with
    # logarithms computed in float64 puts step 121 at the end of period 4, at 0.1.
    schedule = CosineDecayRestarts(1.0, first_decay_steps=1, t_mul=3.0, alpha=0.1)
    np.testing.assert_allclose([schedule(step) for step in (120, 121, 122)],
                               [0.100338414311409, 1.0, 0.9999623954296112], rtol=1e-6)
