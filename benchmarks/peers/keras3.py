"""Keras 3 exactly as the tutorial uses it; the backend (TensorFlow or JAX) comes from $KERAS_BACKEND.

Epochs are timed by a callback inside one ``fit(epochs=...)``, as a user runs it; predict() is
Keras's default (batch_size=32), which is what a user gets.
"""
import time

import keras

from .common import PeerAbsent, accuracy, time_predict


def versions():
    backend = keras.backend.backend()
    found = {"keras": keras.__version__, "keras backend": backend}
    if backend == "tensorflow":
        import tensorflow
        found["tensorflow"] = tensorflow.__version__
    elif backend == "jax":
        import jax
        found["jax"] = jax.__version__
    return found


class EpochClock(keras.callbacks.Callback):
    """Wall-clock seconds from each on_epoch_begin to the matching on_epoch_end."""

    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)


def check_device(job):
    if job["device"] != "gpu":
        return
    if keras.backend.backend() != "jax":
        raise PeerAbsent("the GPU run uses Keras on JAX only")
    import jax
    if not any(d.platform == "gpu" for d in jax.devices()):
        raise PeerAbsent(f"jax {jax.__version__} sees no GPU: {jax.devices()}")


def run(model, data, job):
    check_device(job)
    model.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    clock = EpochClock()
    start = time.perf_counter()
    model.fit(data.x_train, data.onehot_train, batch_size=job["batch_size"], epochs=job["epochs"],
              verbose=0, callbacks=[clock])
    fit_s = time.perf_counter() - start
    predict_s, probs = time_predict(lambda x: model.predict(x, verbose=0), data.x_test,
                                    job["predict_repeats"])
    return {"epoch_s": clock.seconds, "fit_s": fit_s, "predict_s": predict_s,
            "test_accuracy": accuracy(probs, data.labels_test)}


def run_mlp(job, data):
    keras.utils.set_random_seed(job["seed"])
    model = keras.Sequential([
        keras.Input(shape=data.x_train.shape[1:]),
        keras.layers.Dense(job["hidden"], activation="sigmoid"),
        keras.layers.Dense(10, activation="softmax")])
    return run(model, data, job)


def run_cnn(job, data):
    keras.utils.set_random_seed(job["seed"])
    model = keras.Sequential([
        keras.Input(shape=data.x_train.shape[1:]),
        keras.layers.Conv2D(32, (5, 5), activation="relu"),
        keras.layers.MaxPooling2D((2, 2)),
        keras.layers.Conv2D(64, (5, 5), activation="relu"),
        keras.layers.MaxPooling2D((2, 2)),
        keras.layers.Flatten(),
        keras.layers.Dense(10, activation="softmax")])
    return run(model, data, job)
