"""tinynet exactly as the tutorial uses it: Sequential, Dense, compile with accuracy, fit, predict.

Epochs are timed by a callback inside one ``fit(epochs=...)``, as for Keras. With ``device="gpu"``
the CuPy backend is switched on first, and the clock waits for the GPU at each epoch's end.
"""
import time

import tinynet
from tinynet import backend
from tinynet.callbacks import Callback
from tinynet.layers import Dense
from tinynet.models import Sequential
from tinynet.utils import set_random_seed

from .common import PeerAbsent, accuracy, time_predict


def versions():
    found = {"tinynet": getattr(tinynet, "__version__", "source"), "tinynet backend": backend.get_backend()}
    if backend.get_backend() == "cupy":
        import cupy
        found["cupy"] = cupy.__version__
    return found


def pick_backend(job):
    """Switch to CuPy for a GPU job; returns a function that waits for the device to finish."""
    if job["device"] != "gpu":
        return lambda: None
    try:
        backend.set_backend("cupy")
    except backend.BackendUnavailableError as error:
        raise PeerAbsent(str(error)) from error
    import cupy
    return cupy.cuda.Device().synchronize


class EpochClock(Callback):
    """Wall-clock seconds from each on_epoch_begin to the matching on_epoch_end."""

    def __init__(self, sync):
        super().__init__()
        self.sync = sync
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.sync()
        self.seconds.append(time.perf_counter() - self.start)


def run(model, data, job, sync):
    model.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    clock = EpochClock(sync)
    start = time.perf_counter()
    history = model.fit(data.x_train, data.onehot_train, batch_size=job["batch_size"],
                        epochs=job["epochs"], verbose=0, callbacks=[clock])
    fit_s = time.perf_counter() - start
    predict_s, probs = time_predict(model.predict, data.x_test, job["predict_repeats"], sync)
    return {"epoch_s": clock.seconds, "fit_s": fit_s, "predict_s": predict_s,
            "test_accuracy": accuracy(probs, data.labels_test),
            "train_loss": history.history["loss"], "train_accuracy": history.history["accuracy"]}


def run_mlp(job, data):
    sync = pick_backend(job)
    set_random_seed(job["seed"])
    model = Sequential()
    model.add(Dense(job["hidden"], activation="sigmoid", input_shape=data.x_train.shape[1:]))
    model.add(Dense(10, activation="softmax"))
    return run(model, data, job, sync)


def run_cnn(job, data):
    try:
        from tinynet.layers import Conv2D, Flatten, MaxPooling2D
    except ImportError as error:
        raise PeerAbsent(f"tinynet has no convolution layers yet ({error})") from error
    sync = pick_backend(job)
    set_random_seed(job["seed"])
    model = Sequential()
    model.add(Conv2D(32, (5, 5), activation="relu", input_shape=data.x_train.shape[1:]))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Conv2D(64, (5, 5), activation="relu"))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Flatten())
    model.add(Dense(10, activation="softmax"))
    return run(model, data, job, sync)
