"""model.save and load_model: the architecture, the weights and the compile settings (optimizer
state included) come back, so the loaded model predicts and trains on exactly as the saved one."""

import numpy as np
import pytest

from tinynet import activations, backend, initializers, losses, metrics
from tinynet.callbacks import ModelCheckpoint
from tinynet.layers import (Activation, AveragePooling2D, Conv2D, Dense, Dropout, Flatten, Input, LeakyReLU,
                            MaxPooling2D, ReLU, Softmax)
from tinynet.models import Sequential, clone_model, load_model, model_from_json
from tinynet.optimizers import SGD, Adam, Adamax, Nadam
from tinynet.utils import set_random_seed, to_categorical

rng = np.random.default_rng(7)


def assert_same_weights(got, expected):
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)


def summary_lines(model):
    lines = []
    model.summary(print_fn=lines.append)
    return lines


@pytest.mark.parametrize("optimizer", [lambda: SGD(learning_rate=0.1, momentum=0.9, nesterov=True),
                                       lambda: Adam(learning_rate=0.01),
                                       lambda: Nadam(learning_rate=0.01, beta_1=0.8, global_clipnorm=0.5),
                                       lambda: Adamax(learning_rate=0.01, beta_2=0.9, clipvalue=0.05)],
                         ids=["sgd", "adam", "nadam", "adamax"])
def test_a_saved_model_predicts_and_trains_on_as_the_original(tmp_path, array_backend, optimizer):
    set_random_seed(0)
    x = rng.random((40, 6), dtype=np.float32)
    y = to_categorical(rng.integers(0, 3, 40), 3)
    model = Sequential([Dense(8, activation="tanh", input_shape=(6,)), Dropout(0.25),
                        Dense(5, use_bias=False, trainable=False), Dense(3), Activation("softmax")])
    model.compile(optimizer=optimizer(), loss="categorical_crossentropy", metrics=["acc", "mse"])
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    path = tmp_path / "model.npz"
    model.save(path)

    loaded = load_model(path)
    assert summary_lines(loaded) == summary_lines(model)
    assert loaded.metrics_names == model.metrics_names == ["loss", "acc", "mse"]
    assert type(loaded.optimizer) is type(model.optimizer)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.optimizer.iterations == model.optimizer.iterations == 10
    assert [layer.trainable for layer in loaded.layers] == [True, True, False, True, True]
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    # The optimizer's slots came back too: one more step moves both models alike.
    for trained in (model, loaded):
        set_random_seed(1)  # the same dropout mask
        trained.train_on_batch(x[:8], y[:8])
    assert_same_weights(loaded.get_weights(), model.get_weights())


def test_every_image_layer_comes_back(tmp_path):
    model = Sequential([
        Conv2D(3, (3, 2), strides=(1, 2), padding="same", activation="relu", input_shape=(8, 8, 2)),
        MaxPooling2D(2), AveragePooling2D((2, 1), strides=1, padding="valid"), Flatten(),
        Dense(4, activation="softmax"),
    ])
    path = tmp_path / "cnn.npz"
    model.save(path)  # not compiled: it comes back not compiled
    loaded = load_model(path)
    assert loaded.optimizer is None
    assert [layer.get_config() for layer in loaded.layers] == [layer.get_config() for layer in model.layers]
    images = rng.random((3, 8, 8, 2), dtype=np.float32)
    np.testing.assert_array_equal(loaded.predict(images), model.predict(images))


def test_the_activation_layers_come_back(tmp_path):
    model = Sequential([Dense(6, input_shape=(4,)), ReLU(max_value=0.8, negative_slope=0.1, threshold=0.2),
                        Dense(5), LeakyReLU(negative_slope=0.05), Dense(3), Softmax()])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    path = tmp_path / "activations.npz"
    model.save(path)
    for loaded in (load_model(path), model_from_json(model.to_json())):
        assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
        assert [layer.get_config() for layer in loaded.layers] == [layer.get_config() for layer in model.layers]
    assert model.layers[1].get_config()["max_value"] == 0.8 and model.layers[5].get_config()["axis"] == -1
    x = rng.random((5, 4), dtype=np.float32)
    np.testing.assert_array_equal(load_model(path).predict(x), model.predict(x))


def test_gelu_comes_back_in_both_forms(tmp_path):
    """The exact form by Keras's name "gelu", the tanh approximation by tinynet's own name."""
    model = Sequential([Dense(6, activation="gelu", input_shape=(4,)),
                        Dense(5, activation=activations.ApproximateGELU()), Activation("approximate_gelu"),
                        Dense(3, activation=activations.gelu)])
    model.compile(optimizer="adam", loss="mse")
    model.save(tmp_path / "gelu.npz")
    kinds = [activations.GELU, activations.ApproximateGELU, activations.ApproximateGELU, activations.GELU]
    for loaded in (load_model(tmp_path / "gelu.npz"), model_from_json(model.to_json()), clone_model(model)):
        assert [type(layer.activation) for layer in loaded.layers] == kinds
    assert [layer.get_config()["activation"] for layer in model.layers] == ["gelu", "approximate_gelu",
                                                                           "approximate_gelu", "gelu"]
    x = rng.normal(size=(5, 4)).astype(np.float32)
    np.testing.assert_array_equal(load_model(tmp_path / "gelu.npz").predict(x), model.predict(x))


def test_the_initializers_with_arguments_come_back():
    model = Sequential([
        Dense(4, input_shape=(3,), kernel_initializer=initializers.VarianceScaling(2.0, "fan_out", "uniform"),
              bias_initializer=initializers.Constant(0.5)),
        Dense(3, kernel_initializer=initializers.Orthogonal(gain=0.5),
              bias_initializer=initializers.TruncatedNormal(mean=1.0, stddev=0.2)),
        Dense(2, kernel_initializer="lecun_normal", bias_initializer="lecun_uniform"),
    ])
    loaded = model_from_json(model.to_json())
    for original, copy in zip(model.layers, loaded.layers, strict=True):
        for role in ("kernel_initializer", "bias_initializer"):
            assert type(getattr(copy, role)) is type(getattr(original, role))
            assert getattr(copy, role).get_config() == getattr(original, role).get_config()
    assert loaded.layers[0].kernel_initializer.get_config() == {"scale": 2.0, "mode": "fan_out", "distribution": "uniform"}
    assert loaded.layers[1].bias_initializer.get_config() == {"mean": 1.0, "stddev": 0.2}


def test_a_metric_of_ones_own_cannot_be_saved_and_nothing_is_written(tmp_path):
    def my_metric(y_true, y_pred):
        return backend.namespace().mean(y_pred)

    model = Sequential([Dense(2, activation="softmax", input_shape=(3,))])
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=[my_metric])
    with pytest.raises(ValueError, match="cannot save the metric 'my_metric'.*save_weights"):
        model.save(tmp_path / "model.npz")
    assert list(tmp_path.iterdir()) == []


def test_loading_mistakes_are_explained(tmp_path):
    model = Sequential([Dense(2, input_shape=(3,))])
    model.save_weights(tmp_path / "weights.npz")
    with pytest.raises(ValueError, match="holds no model config: was it written by save_weights"):
        load_model(tmp_path / "weights.npz")
    with pytest.raises(FileNotFoundError, match="No model file at"):
        load_model(tmp_path / "missing.npz")
    with pytest.raises(ValueError, match=r"must be built before it can be saved"):
        Sequential([Dense(2)]).save(tmp_path / "unbuilt.npz")
    with pytest.raises(ValueError, match=r"not in Keras's formats \(.h5, .keras\).*'model.npz'"):
        model.save(tmp_path / "model.keras")


def test_a_model_declared_with_input_comes_back(tmp_path):
    model = Sequential([Input(shape=(4,)), Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=[metrics.categorical_accuracy])
    model.save(tmp_path / "model.npz")
    loaded = load_model(tmp_path / "model.npz", compile=False)
    assert loaded.input_shape == (None, 4) and loaded.optimizer is None
    assert_same_weights(loaded.get_weights(), model.get_weights())
    assert load_model(tmp_path / "model.npz").metrics_names == ["loss", "categorical_accuracy"]


def test_load_weights_reads_a_whole_model_file_too(tmp_path):
    model = Sequential([Dense(3, input_shape=(4,))])
    model.compile(optimizer=SGD(momentum=0.5), loss="mse")
    model.train_on_batch(rng.random((2, 4), dtype=np.float32), rng.random((2, 3), dtype=np.float32))
    model.save(tmp_path / "model.npz")
    other = Sequential([Dense(3, input_shape=(4,))])
    other.load_weights(tmp_path / "model.npz")
    assert_same_weights(other.get_weights(), model.get_weights())


class MyDense(Dense):
    pass


class MyInitializer(initializers.RandomNormal):
    pass


class MyActivation(activations.ReLU):
    pass


class TwiceTheSquaredError(losses.MeanSquaredError):
    name = None


def own_accuracy(y_true, y_pred):
    return 0.5


own_accuracy.__name__ = "accuracy"  # a function of one's own under a built-in's name


def test_what_cannot_be_made_again_by_name_is_refused_before_writing(tmp_path):
    path = tmp_path / "model.npz"
    with pytest.raises(ValueError, match="cannot save layer 'mine'.*no layer class 'MyDense'"):
        Sequential([MyDense(2, input_shape=(3,), name="mine")]).save(path)

    named_like_a_builtin = Sequential([Dense(2, activation="softmax", input_shape=(3,))])
    named_like_a_builtin.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=[own_accuracy])
    with pytest.raises(ValueError, match="cannot save the metric 'accuracy': it is not the one tinynet knows"):
        named_like_a_builtin.save(path)

    with pytest.raises(ValueError, match="cannot save the loss None: it is not the one tinynet knows"):
        own_loss = Sequential([Dense(2, input_shape=(3,))])
        own_loss.compile(optimizer="sgd", loss=TwiceTheSquaredError())
        own_loss.save(path)

    with pytest.raises(ValueError, match="'leaky': its activation is a MyActivation"):
        Sequential([Dense(2, input_shape=(3,), activation=MyActivation(), name="leaky")]).save(path)

    with pytest.raises(ValueError, match="'seeded': its kernel_initializer is a MyInitializer"):
        Sequential([Conv2D(2, 3, input_shape=(5, 5, 1), kernel_initializer=MyInitializer(), name="seeded")]).save(path)

    first = Sequential([Dense(2, input_shape=(3,))])
    first.compile(optimizer=SGD(momentum=0.9), loss="mse")
    first.train_on_batch(np.ones((2, 3), np.float32), np.ones((2, 2), np.float32))
    first.add(Dense(1))  # the optimizer's slots are for the two weights it had
    with pytest.raises(ValueError, match="already trains other weights"):
        first.save(path)
    assert list(tmp_path.iterdir()) == []


def test_model_checkpoint_saves_the_whole_model_as_keras_does(tmp_path):
    x = rng.random((20, 4), dtype=np.float32)
    y = to_categorical(rng.integers(0, 2, 20), 2)
    model = Sequential([Dense(2, activation="softmax", input_shape=(4,))])
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=2, verbose=0, callbacks=[ModelCheckpoint(str(tmp_path / "m.{epoch}.npz"))])
    np.testing.assert_array_equal(load_model(tmp_path / "m.2.npz").predict(x), model.predict(x))

    with pytest.raises(ValueError, match=r"not in Keras's formats.*'model.\{epoch:02d\}.npz'"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[ModelCheckpoint(str(tmp_path / "w.{epoch:02d}.hdf5"))])
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=[own_accuracy])
    with pytest.raises(ValueError, match="ModelCheckpoint: model.save cannot save the metric.*save_weights_only=True"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[ModelCheckpoint(str(tmp_path / "m.npz"))])
    assert model.optimizer.iterations == 0 and sorted(p.name for p in tmp_path.iterdir()) == ["m.1.npz", "m.2.npz"]


def test_to_json_and_model_from_json_with_the_weights_apart_as_in_keras_2(tmp_path):
    """The classic Keras 2 way to keep a model: the architecture as JSON, the weights in a file."""
    model = Sequential([Dense(4, activation="relu", input_shape=(3,), name="hidden"), Dense(2, activation="softmax")])
    model.save_weights(tmp_path / "weights.npz")
    rebuilt = model_from_json(model.to_json())
    assert [layer.get_config() for layer in rebuilt.layers] == [layer.get_config() for layer in model.layers]
    rebuilt.load_weights(tmp_path / "weights.npz")
    x = rng.random((5, 3), dtype=np.float32)
    np.testing.assert_array_equal(rebuilt.predict(x), model.predict(x))
    with pytest.raises(ValueError, match="expects the text model.to_json"):
        model_from_json('{"weights": []}')
    with pytest.raises(ValueError, match="cannot make a model of this description: KeyError 'layers'"):
        model_from_json('{"class_name": "Sequential", "config": {"name": "m", "input_shape": null}}')
    damaged = model.to_json().replace('"units": 4, ', "")
    with pytest.raises(ValueError, match="cannot make a model of this description: TypeError.*units"):
        model_from_json(damaged)


def test_a_model_made_again_from_its_config_draws_with_the_same_initializers():
    """A description that left the initializers out would draw Glorot and zeros here."""
    def layers():
        return [
            Conv2D(2, 3, input_shape=(5, 5, 1), kernel_initializer="he_normal", bias_initializer="ones"),
            Flatten(),
            Dense(3, kernel_initializer=initializers.RandomNormal(mean=1.0, stddev=0.5),
                  bias_initializer="random_uniform"),
        ]

    description = Sequential(layers()).to_json()
    set_random_seed(3)
    rebuilt = model_from_json(description)
    set_random_seed(3)
    drawn_again = Sequential(layers())
    assert_same_weights(rebuilt.get_weights(), drawn_again.get_weights())
    assert rebuilt.layers[2].kernel_initializer.get_config() == {"mean": 1.0, "stddev": 0.5}

    set_random_seed(3)
    clone = clone_model(drawn_again)
    assert clone.optimizer is None
    assert [layer.name for layer in clone.layers] == [layer.name for layer in drawn_again.layers]
    assert_same_weights(clone.get_weights(), rebuilt.get_weights())
    with pytest.raises(TypeError, match="clone_model expects a Sequential model; got Dense"):
        clone_model(Dense(2))


def test_pop_takes_the_last_layer_off():
    model = Sequential([Dense(4, input_shape=(3,)), Dense(2)])
    first, second = model.layers
    assert model.pop() is second and model.layers == [first]
    assert model.output_shape == (None, 4)
    model.pop()
    with pytest.raises(ValueError, match="has no layers to pop"):
        model.pop()


@pytest.mark.parametrize("loss, activation, targets", [
    (lambda: losses.CategoricalCrossentropy(label_smoothing=0.1), "softmax", "one-hot"),
    (lambda: losses.SparseCategoricalCrossentropy(from_logits=True), None, "labels"),
    (lambda: losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.2), None, "one-hot"),
    (lambda: losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.4, gamma=1.5, label_smoothing=0.1),
     "sigmoid", "one-hot"),
    (lambda: losses.CategoricalFocalCrossentropy(alpha=np.array([0.5, 2.0, 1.0]), gamma=3.0, from_logits=True), None,
     "one-hot"),
])
def test_a_loss_with_arguments_comes_back_with_them(tmp_path, loss, activation, targets):
    set_random_seed(0)
    x = rng.random((20, 4), dtype=np.float32)
    labels = rng.integers(0, 3, 20)
    y = labels if targets == "labels" else to_categorical(labels, 3)
    model = Sequential([Dense(3, activation=activation, input_shape=(4,))])
    model.compile(optimizer=SGD(momentum=0.5), loss=loss())
    model.fit(x, y, batch_size=5, epochs=1, verbose=0)
    model.save(tmp_path / "model.npz")
    loaded = load_model(tmp_path / "model.npz")
    assert type(loaded.loss) is type(model.loss)
    assert loaded.loss.get_config() == model.loss.get_config()
    assert loaded.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)
    for trained in (model, loaded):
        trained.train_on_batch(x[:5], y[:5])
    assert_same_weights(loaded.get_weights(), model.get_weights())


def test_a_file_that_names_its_loss_by_a_string_still_loads(tmp_path):
    """Files written before losses took arguments hold the loss as its name alone."""
    import json

    model = Sequential([Dense(3, activation="softmax", input_shape=(4,))])
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    model.save(tmp_path / "model.npz")
    with np.load(tmp_path / "model.npz") as stored:
        arrays = dict(stored)
    config = json.loads(str(arrays["config"]))
    assert config["compile"]["loss"] == {"name": "categorical_crossentropy",
                                         "config": {"from_logits": False, "label_smoothing": 0.0}}
    config["compile"]["loss"] = "categorical_crossentropy"
    arrays["config"] = np.array(json.dumps(config))
    np.savez(tmp_path / "old.npz", **arrays)
    loaded = load_model(tmp_path / "old.npz")
    assert type(loaded.loss) is losses.CategoricalCrossentropy and loaded.loss.get_config() == model.loss.get_config()


def test_weighted_metrics_come_back_and_older_files_without_them_load(tmp_path):
    import json

    x = rng.random((12, 4), dtype=np.float32)
    y = to_categorical(np.arange(12) % 3, 3)
    weights = rng.uniform(0, 2, 12)
    model = Sequential([Dense(3, activation="softmax", input_shape=(4,))])
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"],
                  weighted_metrics=["accuracy", "mse"])
    model.save(tmp_path / "model.npz")
    loaded = load_model(tmp_path / "model.npz")
    assert loaded.metrics_names == ["loss", "accuracy", "weighted_accuracy", "mse"]
    assert loaded.evaluate(x, y, sample_weight=weights, verbose=0) == model.evaluate(
        x, y, sample_weight=weights, verbose=0)
    # A file written before weighted metrics existed has no "weighted_metrics" in its compile config.
    with np.load(tmp_path / "model.npz") as stored:
        arrays = dict(stored)
    config = json.loads(str(arrays["config"]))
    assert config["compile"]["weighted_metrics"] == ["accuracy", "mse"]
    del config["compile"]["weighted_metrics"]
    arrays["config"] = np.array(json.dumps(config))
    np.savez(tmp_path / "old.npz", **arrays)
    assert load_model(tmp_path / "old.npz").metrics_names == ["loss", "accuracy"]


def test_a_weighted_metric_of_ones_own_cannot_be_saved(tmp_path):
    model = Sequential([Dense(2, activation="softmax", input_shape=(3,))])
    model.compile(optimizer="sgd", loss="categorical_crossentropy", weighted_metrics=[own_accuracy])
    with pytest.raises(ValueError, match="cannot save the weighted metric 'accuracy': it is not the one tinynet knows"):
        model.save(tmp_path / "model.npz")
    assert list(tmp_path.iterdir()) == []
