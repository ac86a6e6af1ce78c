"""BatchNormalization: Keras's numbers, what training and inference each normalise with, the moving
averages kept out of the optimizer's hands, and the weights' bookkeeping (summary, saving).
Its gradients are checked in test_gradients.py."""

import warnings

import numpy as np
import pytest

import tinynet
from tinynet import backend
from tinynet.layers import BatchNormalization, Dense, Flatten, Input
from tinynet.models import Sequential, load_model
from tinynet.optimizers import SGD, AdamW

X = np.array([[1.0, 2.0, -1.0], [3.0, 0.0, 0.5], [-2.0, 1.0, 4.0], [0.5, -1.0, 2.0]], np.float32)
Y = np.eye(2, dtype=np.float32)[[0, 1, 1, 0]]
KERNEL = np.array([[0.5, -0.3], [0.2, 0.4], [-0.6, 0.1]], np.float32)
BIAS = np.array([0.1, -0.1], np.float32)
IMAGES = np.array(  # 3 images of 2 channels (first) by 2 x 2
    [[[[-1.6, -2.65], [-0.5, 0.84]], [[2.27, 0.22], [-1.11, -1.57]]],
     [[[1.5, 3.27], [0.55, -2.47]], [[-1.92, 3.2], [0.41, -3.46]]],
     [[[-0.17, -2.33], [-1.26, -0.98]], [[-1.43, 1.11], [-0.13, -1.18]]]], np.float32)
IMAGE_KERNEL = np.array([[0.2, 0.41], [-0.82, -0.13], [-0.49, -0.09], [-0.64, 0.01],
                         [-0.02, -0.15], [-0.52, -0.2], [-0.55, -0.68], [0.11, -0.55]], np.float32)

# Keras 3.15 (TensorFlow): Sequential([Input, BatchNormalization(**arguments), Flatten(),
# Dense(2, softmax) with the kernel and bias above]), SGD(0.5), two train_on_batch calls on the
# whole set; then the layer's weights (gamma, beta, moving_mean, moving_variance, as there are) and
# predict on the first two samples.
KERAS = {
    "features": {
        "x": X, "y": Y, "kernel": KERNEL, "arguments": {"momentum": 0.9},
        "losses": [0.72487086, 0.6593172],
        "weights": [[0.85220516, 0.997363, 1.0024301], [-0.03368317, 0.00915441, 0.03305657],
                    [0.11875, 0.095, 0.26125002], [1.4126563, 1.0474999, 1.4601562]],
        "predict": [[0.675768, 0.32423195], [0.6801982, 0.31980187]]},
    "channels first": {
        "x": IMAGES, "y": Y[:3], "kernel": IMAGE_KERNEL, "arguments": {"axis": 1, "momentum": 0.8, "epsilon": 0.01},
        "losses": [0.55823517, 0.32962576],
        "weights": [[0.9090937, 1.1374031], [0.12083645, -0.04036885], [-0.17400001, -0.10769999],
                    [1.692606, 1.7973008]],
        "predict": [[0.86005956, 0.1399404], [0.00123531, 0.99876475]]},
    "no beta": {
        "x": X, "y": Y, "kernel": KERNEL, "arguments": {"center": False, "momentum": 0.5},
        "losses": [0.72487086, 0.6604385],
        "weights": [[0.8520734, 0.99731505, 1.0022413], [0.46875, 0.375, 1.03125], [2.6289062, 1.1875, 2.8164062]],
        "predict": [[0.69207066, 0.3079293], [0.71179986, 0.2882002]]},
}


def model_with(layer, x, kernel=KERNEL, optimizer=None):
    model = Sequential([Input(x.shape[1:]), layer, Flatten(), Dense(2, activation="softmax")])
    model.layers[-1].set_weights([kernel, BIAS])
    model.compile(loss="categorical_crossentropy", optimizer=optimizer or SGD(0.5))
    return model


@pytest.mark.parametrize("case", list(KERAS))
def test_training_and_predicting_give_keras_numbers(case):
    expected = KERAS[case]
    layer = BatchNormalization(**expected["arguments"])
    model = model_with(layer, expected["x"], expected["kernel"])
    losses = [float(model.train_on_batch(expected["x"], expected["y"])) for _ in range(2)]
    np.testing.assert_allclose(losses, expected["losses"], rtol=1e-5)
    for got, keras in zip(layer.get_weights(), expected["weights"], strict=True):
        np.testing.assert_allclose(got, keras, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(model.predict(expected["x"][:2], verbose=0), expected["predict"], rtol=1e-5)


def test_training_normalises_each_feature_over_the_batch():
    layer = BatchNormalization()
    x = np.random.default_rng(0).normal(5.0, 3.0, size=(50, 4, 4, 3)).astype(np.float32)
    layer.build((None, 4, 4, 3))
    y = backend.to_numpy(layer.forward(backend.asarray(x), training=True))
    np.testing.assert_allclose(y.mean(axis=(0, 1, 2)), 0, atol=1e-5)
    variance = x.var(axis=(0, 1, 2))
    np.testing.assert_allclose(y.var(axis=(0, 1, 2)), variance / (variance + layer.epsilon), rtol=1e-4)


def test_the_moving_averages_follow_the_batch_statistics():
    layer = BatchNormalization(momentum=0.75)
    layer.build((None, 3))
    before_mean, before_variance = layer.get_weights()[2:]
    layer.forward(backend.asarray(X), training=True)
    np.testing.assert_allclose(layer.get_weights()[2], 0.75 * before_mean + 0.25 * X.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(layer.get_weights()[3], 0.75 * before_variance + 0.25 * X.var(axis=0), rtol=1e-6)
    layer.forward(backend.asarray(X), training=False)  # inference reads the averages, never writes them
    np.testing.assert_allclose(layer.get_weights()[2], 0.25 * X.mean(axis=0), rtol=1e-6)


def test_predict_normalises_with_the_moving_averages_so_a_sample_does_not_depend_on_its_batch():
    model = model_with(BatchNormalization(), X)
    model.fit(X, Y, epochs=3, batch_size=2, verbose=0)
    together = model.predict(X, verbose=0)
    alone = np.concatenate([model.predict(X[i:i + 1], verbose=0) for i in range(len(X))])
    np.testing.assert_allclose(alone, together, rtol=1e-6)
    layer = model.layers[0]
    gamma, beta, mean, variance = layer.get_weights()
    expected = gamma * (X - mean) / np.sqrt(variance + layer.epsilon) + beta
    np.testing.assert_allclose(layer(X), expected, rtol=1e-5, atol=1e-6)


def test_the_optimizer_never_touches_the_moving_averages():
    # Weight decay and the moving average of weights apply to every weight the optimizer is given:
    # with momentum 0 the moving averages must be exactly the last batch's statistics.
    layer = BatchNormalization(momentum=0.0)
    model = model_with(layer, X, optimizer=AdamW(learning_rate=0.1, weight_decay=0.5, use_ema=True))
    model.fit(X, Y, epochs=2, batch_size=4, shuffle=False, verbose=0)
    np.testing.assert_allclose(layer.get_weights()[2], X.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(layer.get_weights()[3], X.var(axis=0), rtol=1e-5)
    assert len(model.optimizer.slots) == len(model.trainable_weights) == 4  # gamma, beta, kernel, bias


def test_a_frozen_layer_normalises_with_its_averages_and_keeps_them():
    layer = BatchNormalization(trainable=False)
    model = model_with(layer, X)
    layer.set_weights([np.full(3, 2.0), np.full(3, 0.5), np.array([1.0, -1.0, 0.0]), np.array([4.0, 1.0, 9.0])])
    before = layer.get_weights()
    model.fit(X, Y, epochs=2, batch_size=2, verbose=0)
    for got, expected in zip(layer.get_weights(), before, strict=True):
        np.testing.assert_array_equal(got, expected)
    training_output = backend.to_numpy(layer.forward(backend.asarray(X), training=True))
    np.testing.assert_allclose(training_output, layer(X), rtol=1e-6)


def test_summary_and_weight_lists_count_the_averages_as_non_trainable():
    model = Sequential([Dense(8, input_shape=(3,)), BatchNormalization(), Dense(2, activation="softmax")])
    lines = []
    model.summary(print_fn=lines.append)
    assert "batch_normalization" in lines[5] and lines[5].rstrip().endswith("32")
    assert lines[-4:-1] == ["Total params: 82", "Trainable params: 66", "Non-trainable params: 16"]
    layer = model.layers[1]
    assert layer.weight_names() == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [w is v for w, v in zip(model.non_trainable_weights, [layer.moving_mean, layer.moving_variance])] == [
        True, True]
    assert len(model.weights) == len(model.get_weights()) == 8
    model.trainable = False
    lines.clear()
    model.summary(print_fn=lines.append)
    assert lines[-3:-1] == ["Trainable params: 0", "Non-trainable params: 82"]


@pytest.mark.parametrize("how", ["save", "save_weights"])
def test_saving_keeps_the_moving_averages_and_the_arguments(tmp_path, how):
    layer = BatchNormalization(momentum=0.9, epsilon=0.01, gamma_initializer="random_normal")
    model = model_with(layer, X)
    model.fit(X, Y, epochs=2, batch_size=2, verbose=0)
    if how == "save":
        model.save(tmp_path / "model.npz")
        loaded = load_model(tmp_path / "model.npz")
    else:
        model.save_weights(tmp_path / "model.weights.npz")
        loaded = model_with(BatchNormalization(momentum=0.9, epsilon=0.01), X)
        loaded.load_weights(tmp_path / "model.weights.npz")
    copy = loaded.layers[0]
    assert (copy.momentum, copy.epsilon) == (0.9, 0.01)
    for got, expected in zip(copy.get_weights(), layer.get_weights(), strict=True):
        np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))


def test_gradient_check_reports_the_bias_under_a_normalisation_as_agreeing():
    # Normalising removes the mean, so the bias of the Dense layer below has a slope of exactly 0:
    # the check must not turn two rounding noises into a relative error of 1.
    tinynet.utils.set_random_seed(3)
    model = Sequential([Dense(5, input_shape=(3,)), BatchNormalization(), Dense(2, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="sgd")
    averages = model.layers[1].get_weights()[2:]
    lines = []
    worst = tinynet.check_gradients(model, X, Y, print_fn=lines.append)
    assert worst < tinynet.gradient_check.TOLERANCE
    bias_row = next(line for line in lines if line.split()[:1] == ["bias"])
    assert bias_row.split()[-1] == "0.00e+00"
    for got, expected in zip(model.layers[1].get_weights()[2:], averages):
        np.testing.assert_array_equal(got, expected)  # the check ran on a copy


def test_normalising_lets_plain_sgd_learn_from_badly_scaled_features():
    # Features in the thousands: a step of SGD at 0.01 overshoots, and without normalisation the
    # loss overflows in the first epoch (fit stops on it, at chance); normalised first, the same
    # model learns the rule.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 4)).astype(np.float32)
    y = np.eye(2, dtype=np.float32)[(x[:, 0] + x[:, 1] > 0).astype(int)]
    x *= np.float32(1000)
    accuracies = {}
    for normalised in (False, True):
        tinynet.utils.set_random_seed(0)
        first = [BatchNormalization(input_shape=(4,))] if normalised else [Input((4,))]
        model = Sequential([*first, Dense(8, activation="relu"), Dense(2, activation="softmax")])
        model.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's overflow, before fit's own message
            model.fit(x, y, epochs=20, batch_size=20, verbose=0)
            accuracies[normalised] = model.evaluate(x, y, verbose=0)[1]
    assert accuracies[True] > 0.9
    assert accuracies[False] < 0.6
