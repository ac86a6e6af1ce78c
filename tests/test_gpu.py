"""The CuPy backend on a real GPU. Skipped where no CUDA device is usable (CI has none)."""

import numpy as np
import pytest

from tinynet import backend
from tinynet.layers import Dense
from tinynet.models import Sequential
from tinynet.utils import set_random_seed, to_categorical

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not backend.gpu_available(), reason="no usable CUDA device (CuPy + driver + GPU)"),
]


def tutorial_model():
    model = Sequential([Dense(10, activation="sigmoid", input_shape=(784,)), Dense(10, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    return model


def data(samples=2000):
    rng = np.random.default_rng(0)
    return rng.random((samples, 784), dtype=np.float32), to_categorical(rng.integers(0, 10, samples), 10)


def test_cupy_trains_like_numpy_from_the_same_weights():
    x, y = data()
    set_random_seed(0)
    initial = tutorial_model().get_weights()
    histories, predictions = {}, {}
    for name in ("numpy", "cupy"):
        with backend.use_backend(name):
            model = tutorial_model()
            model.set_weights(initial)
            histories[name] = model.fit(x, y, batch_size=100, epochs=3, shuffle=False, verbose=0).history
            predictions[name] = model.predict(x)
            assert all(isinstance(w, np.ndarray) for w in model.get_weights())
    np.testing.assert_allclose(histories["cupy"]["loss"], histories["numpy"]["loss"], rtol=1e-5)
    assert isinstance(predictions["cupy"], np.ndarray) and predictions["cupy"].dtype == np.float32
    np.testing.assert_allclose(predictions["cupy"], predictions["numpy"], atol=1e-5)


def test_no_device_to_host_copy_per_step(monkeypatch):
    import cupy

    x, y = data()
    copies = {"count": 0}
    original_get = cupy.ndarray.get

    def counting_get(self, *args, **kwargs):
        copies["count"] += 1
        return original_get(self, *args, **kwargs)

    with backend.use_backend("cupy"):
        model = tutorial_model()
        monkeypatch.setattr(cupy.ndarray, "get", counting_get)
        model.fit(x, y, batch_size=10, epochs=2, verbose=0)  # 400 steps
    assert copies["count"] <= 2  # the loss and metrics once per epoch
