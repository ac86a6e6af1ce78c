"""model.save and load_model: the architecture, the weights and the compile settings (optimizer
state included) come back, so the loaded model predicts and trains on exactly as the saved one."""

import json

import numpy as np
import pytest

from tinynet import (
    activations,
    backend,
    initializers,
    losses,
    metrics,
    models,
    saving,
    utils,
)
from tinynet.callbacks import ModelCheckpoint
from tinynet.layers import (
    Activation,
    AveragePooling2D,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    Input,
    LeakyReLU,
    MaxPooling2D,
    ReLU,
    Softmax,
)
from tinynet.layers.base import Layer
from tinynet.models import Sequential, clone_model, load_model, model_from_json
from tinynet.optimizers import SGD, Adam, Adamax, Nadam
from tinynet.saving import (
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)
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


def own_accuracy(y_true, y_pred):
    return 0.5


own_accuracy.__name__ = "accuracy"  # a function of one's own under a built-in's name


def test_what_cannot_be_made_again_by_name_is_refused_before_writing(tmp_path):
    path = tmp_path / "model.npz"
    named_like_a_builtin = Sequential([Dense(2, activation="softmax", input_shape=(3,))])
    named_like_a_builtin.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=[own_accuracy])
    with pytest.raises(ValueError, match="cannot save the metric 'accuracy': it would be saved as 'accuracy', "
                                         "from which load_model would make tinynet.metrics.accuracy_metrics._accuracy_from_shapes"):
        named_like_a_builtin.save(path)

    dense_of_ones_own = type("Dense", (Dense,), {})  # a class of one's own named like tinynet's
    with pytest.raises(ValueError, match=r"cannot save layer 'mine'.*make tinynet.layers.core.Dense, not "
                                         r"test_saving.Dense. Register yours.*'Custom>Dense'"):
        Sequential([dense_of_ones_own(2, input_shape=(3,), name="mine")]).save(path)

    with pytest.raises(ValueError, match="cannot save the metric '<lambda>'.*has none. Define it with def"):
        nameless = Sequential([Dense(2, input_shape=(3,))])
        nameless.compile(optimizer="sgd", loss="mse", metrics=[lambda y_true, y_pred: y_pred])
        nameless.save(path)

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


def first_class_probability(y_true, y_pred):
    return y_pred[:, 0]


def test_a_weighted_metric_of_ones_own_is_saved_by_name_and_one_named_like_a_builtin_is_refused(tmp_path):
    x = rng.random((12, 3), dtype=np.float32)
    y = to_categorical(np.arange(12) % 2, 2)
    weights = rng.uniform(0, 2, 12)
    model = Sequential([Dense(2, activation="softmax", input_shape=(3,))])
    model.compile(optimizer="sgd", loss="categorical_crossentropy", weighted_metrics=[first_class_probability])
    model.save(tmp_path / "model.npz")
    loaded = load_model(tmp_path / "model.npz", custom_objects={"first_class_probability": first_class_probability})
    assert loaded.metrics_names == ["loss", "first_class_probability"]
    assert loaded.evaluate(x, y, sample_weight=weights, verbose=0) == model.evaluate(
        x, y, sample_weight=weights, verbose=0)

    clashing = Sequential([Dense(2, activation="softmax", input_shape=(3,))])
    clashing.compile(optimizer="sgd", loss="categorical_crossentropy", weighted_metrics=[own_accuracy])
    with pytest.raises(ValueError, match="cannot save the metric 'accuracy': it would be saved as 'accuracy'"):
        clashing.save(tmp_path / "clash.npz")
    assert not (tmp_path / "clash.npz").exists()


# --- classes and functions of one's own, saved by name as in Keras 3 ------------------------------


class Scale(Layer):
    """``y = factor * x * w``, one weight per feature: a layer of one's own, with an argument."""

    def __init__(self, factor, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.add_weight((input_shape[-1],), initializers.RandomUniform(0.5, 1.5))
        super().build(input_shape)

    def forward(self, x, training=False):
        self.inputs = x
        return self.factor * x * self.params[0]

    def backward(self, grad_output):
        # y_ij = f x_ij w_j, so dL/dw_j = f sum_i g_ij x_ij and dL/dx_ij = f g_ij w_j.
        self.grads[0] = self.factor * backend.namespace().sum(grad_output * self.inputs, axis=0)
        return self.factor * grad_output * self.params[0]

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class Cube(activations.ActivationFunction):
    """``f(z) = z^3``, ``f'(z) = 3 z^2``."""

    name = "cube"

    def forward(self, z):
        self.inputs = z
        return z * z * z

    def backward(self, grad_output):
        return grad_output * 3.0 * self.inputs * self.inputs


class ScaledSquaredError(losses.Loss):
    """``factor`` times the mean squared error."""

    def __init__(self, factor=1.0):
        self.factor = factor

    def get_config(self):
        return {"factor": self.factor}

    def per_sample(self, y_true, y_pred):
        return self.factor * backend.namespace().mean((y_pred - y_true) ** 2, axis=-1)

    def gradient(self, y_true, y_pred):
        return 2.0 * self.factor * (y_pred - y_true) / (y_pred.shape[0] * y_pred.shape[1])


class Constant2(initializers.Initializer):
    """Every value ``value``, as tinynet's Constant."""

    def __init__(self, value=0.5):
        self.value = value

    def get_config(self):
        return {"value": self.value}

    def sample(self, shape):
        return np.full(shape, self.value)


def mean_prediction(y_true, y_pred):
    return backend.namespace().mean(y_pred, axis=-1)


CUSTOM_OBJECTS = {"Scale": Scale, "Cube": Cube, "ScaledSquaredError": ScaledSquaredError,
                  "Constant2": Constant2, "mean_prediction": mean_prediction}


@pytest.fixture
def registry():
    """The registered custom objects, left as the test found them."""
    before = dict(get_custom_objects())
    yield get_custom_objects()
    get_custom_objects().clear()
    get_custom_objects().update(before)


def a_model_of_ones_own(scale=Scale, cube=Cube, loss=ScaledSquaredError, constant=Constant2, metric=mean_prediction):
    set_random_seed(0)
    model = Sequential([Dense(4, activation=cube(), kernel_initializer=constant(0.25), input_shape=(3,)),
                        scale(2.0), Dense(2)])
    model.compile(optimizer=SGD(learning_rate=0.01, momentum=0.9), loss=loss(3.0), metrics=[metric])
    model.fit(X_OWN, Y_OWN, batch_size=4, epochs=1, verbose=0)
    return model


X_OWN = rng.random((12, 3), dtype=np.float32)
Y_OWN = rng.random((12, 2), dtype=np.float32)


def assert_the_same_model(loaded, model):
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    assert [layer.get_config() for layer in loaded.layers] == [layer.get_config() for layer in model.layers]
    assert type(loaded.layers[0].activation) is type(model.layers[0].activation)
    assert type(loaded.layers[0].kernel_initializer) is type(model.layers[0].kernel_initializer)
    assert type(loaded.loss) is type(model.loss) and loaded.loss.get_config() == {"factor": 3.0}
    assert loaded.metrics_names == model.metrics_names
    np.testing.assert_array_equal(loaded.predict(X_OWN), model.predict(X_OWN))
    assert loaded.evaluate(X_OWN, Y_OWN, verbose=0) == model.evaluate(X_OWN, Y_OWN, verbose=0)
    for trained in (model, loaded):  # the optimizer's momentum came back too
        trained.train_on_batch(X_OWN[:4], Y_OWN[:4])
    assert_same_weights(loaded.get_weights(), model.get_weights())


def test_objects_of_ones_own_are_saved_by_name_and_given_to_load_model(tmp_path, array_backend):
    model = a_model_of_ones_own()
    assert model.metrics_names == ["loss", "mean_prediction"]
    model.save(tmp_path / "model.npz")
    with pytest.raises(ValueError, match=r"cannot be loaded: Unknown activation 'Cube'.* If Cube is a class or "
                                         r"function of your own, pass it: load_model\(\.\.\., custom_objects="
                                         r"\{'Cube': Cube\}\).*register_keras_serializable\(\) before saving"):
        load_model(tmp_path / "model.npz")
    assert_the_same_model(load_model(tmp_path / "model.npz", custom_objects=CUSTOM_OBJECTS), model)

    # the same objects, given for all that a block loads
    with custom_object_scope(CUSTOM_OBJECTS):
        loaded = load_model(tmp_path / "model.npz")
        assert [type(layer) for layer in model_from_json(model.to_json()).layers] == [Dense, Scale, Dense]
    assert type(loaded.layers[1]) is Scale and type(loaded.loss) is ScaledSquaredError
    with pytest.raises(ValueError, match="Unknown activation 'Cube'"):
        load_model(tmp_path / "model.npz")  # the scope is closed


def test_model_from_json_takes_custom_objects_as_load_model_does():
    model = a_model_of_ones_own()
    with pytest.raises(ValueError, match=r"cannot make this model: Unknown activation 'Cube'.* pass it: "
                                         r"model_from_json\(\.\.\., custom_objects=\{'Cube': Cube\}\)"):
        model_from_json(model.to_json())
    rebuilt = model_from_json(model.to_json(), custom_objects=CUSTOM_OBJECTS)
    assert [type(layer) for layer in rebuilt.layers] == [Dense, Scale, Dense]
    assert type(rebuilt.layers[0].activation) is Cube
    assert [layer.get_config() for layer in rebuilt.layers] == [layer.get_config() for layer in model.layers]
    with pytest.raises(TypeError, match="custom_objects must be a dict"):
        model_from_json(model.to_json(), custom_objects=[Cube])
    with pytest.raises(ValueError, match="Unknown activation 'Cube'"):
        model_from_json(model.to_json())  # given for that call alone


def test_registered_objects_are_saved_under_package_and_name(tmp_path, registry):
    @register_keras_serializable(package="my_package")
    class Shift(Scale):
        pass

    @register_keras_serializable()
    class Square(Cube):
        pass

    @register_keras_serializable(name="tripled_squared_error")
    class Tripled(ScaledSquaredError):
        pass

    @register_keras_serializable()
    class Quarter(Constant2):
        pass

    @register_keras_serializable("metrics", "mean_of_p")
    def mean_p(y_true, y_pred):
        return mean_prediction(y_true, y_pred)

    assert registry["my_package>Shift"] is Shift and get_registered_name(Shift) == "my_package>Shift"
    assert get_registered_name(mean_p) == "metrics>mean_of_p" and get_registered_object("Custom>Square") is Square
    assert get_registered_name(Scale) == "Scale"  # not registered: its own name
    model = a_model_of_ones_own(Shift, Square, Tripled, Quarter, mean_p)
    model.save(tmp_path / "model.npz")
    saved_predictions = model.predict(X_OWN)
    with np.load(tmp_path / "model.npz") as stored:
        config = json.loads(str(stored["config"]))
    layers = config["model"]["layers"]
    assert [layer["class_name"] for layer in layers] == ["Dense", "my_package>Shift", "Dense"]
    assert layers[0]["config"]["activation"] == "Custom>Square"
    assert layers[0]["config"]["kernel_initializer"] == {"class_name": "Custom>Quarter", "config": {"value": 0.25}}
    assert config["compile"]["loss"] == {"name": "Custom>tripled_squared_error", "config": {"factor": 3.0}}
    assert config["compile"]["metrics"] == ["metrics>mean_of_p"]
    assert_the_same_model(load_model(tmp_path / "model.npz"), model)  # no custom_objects needed
    assert model.metrics_names == ["loss", "mean_p"]

    # Another program that has not registered them (here: they are taken out of the registry)
    # must import the code that registers them, or give them under the registered names.
    del registry["my_package>Shift"]
    with pytest.raises(ValueError, match=r"Unknown layer class 'my_package>Shift'.* Did you mean 'Shift'\? "
                                         r"'my_package>Shift' is the name register_keras_serializable gave .*: "
                                         r"import the code that registers it before loading, or pass "
                                         r"load_model\(\.\.\., custom_objects=\{'my_package>Shift': Shift\}\)"):
        load_model(tmp_path / "model.npz", custom_objects={"Shift": Shift})
    loaded = load_model(tmp_path / "model.npz", custom_objects={"my_package>Shift": Shift})
    np.testing.assert_array_equal(loaded.predict(X_OWN), saved_predictions)


def test_a_subclass_of_tinynets_own_is_saved_under_its_own_name_not_its_parents(tmp_path):
    class MyDense(Dense):
        pass

    class MyReLU(activations.ReLU):  # its name is still "relu"
        pass

    class MyRandomNormal(initializers.RandomNormal):
        pass

    class TwiceTheSquaredError(losses.MeanSquaredError):  # its name is still "mean_squared_error"
        def per_sample(self, y_true, y_pred):
            return 2.0 * super().per_sample(y_true, y_pred)

    model = Sequential([MyDense(2, activation=MyReLU(), kernel_initializer=MyRandomNormal(stddev=0.5),
                                input_shape=(3,))])
    model.compile(optimizer="sgd", loss=TwiceTheSquaredError())
    model.save(tmp_path / "model.npz")
    with np.load(tmp_path / "model.npz") as stored:
        config = json.loads(str(stored["config"]))
    layer = config["model"]["layers"][0]
    assert (layer["class_name"], layer["config"]["activation"]) == ("MyDense", "MyReLU")
    assert layer["config"]["kernel_initializer"] == {"class_name": "MyRandomNormal",
                                                     "config": {"mean": 0.0, "stddev": 0.5}}
    assert config["compile"]["loss"] == {"name": "TwiceTheSquaredError", "config": {}}
    with pytest.raises(ValueError, match="Unknown layer class 'MyDense'"):
        load_model(tmp_path / "model.npz")
    loaded = load_model(tmp_path / "model.npz", custom_objects={
        "MyDense": MyDense, "MyReLU": MyReLU, "MyRandomNormal": MyRandomNormal,
        "TwiceTheSquaredError": TwiceTheSquaredError})
    assert type(loaded.layers[0]) is MyDense and type(loaded.layers[0].activation) is MyReLU
    assert type(loaded.layers[0].kernel_initializer) is MyRandomNormal and type(loaded.loss) is TwiceTheSquaredError
    assert loaded.evaluate(X_OWN, Y_OWN, verbose=0) == model.evaluate(X_OWN, Y_OWN, verbose=0)


def test_load_model_looks_in_custom_objects_then_scopes_then_the_registered_then_tinynets_own(tmp_path, registry):
    class Other(Cube):
        pass

    class Third(Cube):
        pass

    model = Sequential([Dense(2, activation=Cube(), input_shape=(3,)), Activation("relu")])
    model.save(tmp_path / "model.npz")  # "Cube", and tinynet's "relu"
    registry["Cube"] = Other  # what get_custom_objects holds counts as registered, as in Keras
    assert type(load_model(tmp_path / "model.npz").layers[0].activation) is Other
    with custom_object_scope({"Cube": Third}):
        assert type(load_model(tmp_path / "model.npz").layers[0].activation) is Third
        assert type(load_model(tmp_path / "model.npz", custom_objects={"Cube": Cube}).layers[0].activation) is Cube
        with custom_object_scope({"relu": Cube}):  # an inner scope adds to the outer one
            loaded = load_model(tmp_path / "model.npz")
        assert [type(layer.activation) for layer in loaded.layers] == [Third, Cube]
    assert type(load_model(tmp_path / "model.npz").layers[1].activation) is activations.ReLU
    with pytest.raises(KeyError), custom_object_scope({"Cube": Third}):
        raise KeyError  # a scope left by an error is closed too
    assert type(load_model(tmp_path / "model.npz").layers[0].activation) is Other
    assert utils.custom_object_scope is saving.custom_object_scope is saving.CustomObjectScope
    assert utils.register_keras_serializable is saving.register_keras_serializable
    assert utils.get_custom_objects() is saving.get_custom_objects() is registry
    assert models.load_model is saving.load_model


def test_a_layer_of_ones_own_must_give_its_constructor_arguments_in_get_config(tmp_path):
    class NoConfig(Scale):
        def get_config(self):
            return Layer.get_config(self)

    with pytest.raises(ValueError, match=r"cannot save layer 'scale': load_model makes it again as NoConfig\(\*\*"
                                         r"config\) from its get_config\(\), which does not return the argument "
                                         r"'factor' of NoConfig.__init__. Add it: def get_config\(self\): return "
                                         r"\{\*\*super\(\).get_config\(\), 'factor': self.factor\}."):
        Sequential([NoConfig(2.0, input_shape=(3,), name="scale")]).save(tmp_path / "model.npz")

    class NoKeywords(Scale):
        def __init__(self, factor):
            super().__init__(factor)

    with pytest.raises(ValueError, match=r"get_config\(\) returns 'name', 'trainable', which NoKeywords.__init__ "
                                         r"does not take. .*def __init__\(self, \.\.\., \*\*kwargs\)"):
        unnamed = Sequential([NoKeywords(2.0)])
        unnamed.build((None, 3))
        unnamed.save(tmp_path / "model.npz")

    class ObjectInConfig(Scale):
        def get_config(self):
            return {**super().get_config(), "factor": activations.ReLU()}

    with pytest.raises(ValueError, match="get_config.. must return plain data .*Object of type ReLU is not JSON"):
        Sequential([ObjectInConfig(2.0, input_shape=(3,))]).save(tmp_path / "model.npz")

    class ZeroMean(Constant2):
        def get_config(self):
            return {}

    with pytest.raises(ValueError, match="cannot save the kernel_initializer of layer 'd': .*argument 'value'"):
        Sequential([Dense(2, kernel_initializer=ZeroMean(0.0), input_shape=(3,), name="d")]).save(tmp_path / "m.npz")
    assert list(tmp_path.iterdir()) == []

    class OwnFromConfig(Scale):  # a from_config of its own reads its own config
        def __init__(self, factor):
            super().__init__(factor)

        def get_config(self):
            return {"scale": self.factor}

        @classmethod
        def from_config(cls, config):
            return cls(config["scale"])

    model = Sequential([OwnFromConfig(3.0)])
    model.build((None, 3))
    model.save(tmp_path / "model.npz")
    loaded = load_model(tmp_path / "model.npz", custom_objects={"OwnFromConfig": OwnFromConfig})
    assert loaded.layers[0].factor == 3.0
    np.testing.assert_array_equal(loaded.predict(X_OWN), model.predict(X_OWN))


def test_custom_objects_and_registration_mistakes_are_explained(tmp_path):
    with pytest.raises(TypeError, match=r"custom_objects must be a dict .* such as \{'MyLayer': MyLayer\}; got \[<class"):
        load_model(tmp_path / "missing.npz", custom_objects=[Scale])  # checked before the file is looked for
    with pytest.raises(TypeError, match=r"'Cube' maps to a Cube object. Give the class itself: \{'Cube': Cube\}"):
        load_model(tmp_path / "missing.npz", custom_objects={"Cube": Cube()})
    with pytest.raises(TypeError, match=r"written with parentheses: @register_keras_serializable\(\)"):
        register_keras_serializable(Scale)
    with pytest.raises(TypeError, match="got package='my_package', name=3"):
        register_keras_serializable("my_package", 3)
