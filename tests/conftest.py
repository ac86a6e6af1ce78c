"""Shared fixtures: the backends every engine test runs on, float64 for gradient checks, real MNIST.

``array_backend`` runs a test on NumPy and on array_api_strict (its default CPU device, the
pretend device ``device1`` and the float32-only ``no_float64``), so the engine is shown to use
only the Array API, to make no silent host/device copies and to keep float32 where asked.
"""

import os

import numpy as np
import pytest

from tinynet import backend
from tinynet.utils import set_random_seed

STRICT_DEVICES = ("CPU_DEVICE", "device1", "no_float64")
BACKEND_PARAMS = [("numpy", None)] + [("array_api_strict", d) for d in STRICT_DEVICES]


def _backend_id(param):
    name, device = param
    return name if device is None else f"strict-{device}"


@pytest.fixture(params=BACKEND_PARAMS, ids=_backend_id)
def array_backend(request):
    """Run the test on each backend in turn (float32, seed 0); yields the backend's name."""
    name, device = request.param
    set_random_seed(0)
    with backend.use_backend(name, device):
        yield name


@pytest.fixture(params=[p for p in BACKEND_PARAMS if p[1] != "no_float64"], ids=_backend_id)
def float64_backend(request):
    """Run the test in float64 (for gradient checks) on each backend that has float64."""
    name, device = request.param
    previous = backend.floatx()
    backend.set_floatx("float64")
    set_random_seed(0)
    try:
        with backend.use_backend(name, device):
            yield name
    finally:
        backend.set_floatx(previous)


def numerical_gradient(f, x, h=1e-6):
    """Central differences of the scalar function ``f`` at the float64 NumPy array ``x``:
    ``(f(x + h e_i) - f(x - h e_i)) / 2h`` for every element ``i`` (``x`` is restored after)."""
    grad = np.zeros_like(x)
    for index in np.ndindex(*x.shape):
        saved = x[index]
        x[index] = saved + h
        plus = f(x)
        x[index] = saved - h
        minus = f(x)
        x[index] = saved
        grad[index] = (plus - minus) / (2 * h)
    return grad


def assert_gradients_close(analytic, numeric, rtol=1e-6, atol=1e-8):
    """Relative-error comparison used by every gradient check."""
    np.testing.assert_allclose(analytic, numeric, rtol=rtol, atol=atol)


@pytest.fixture(scope="session")
def mnist_data():
    """Real MNIST from $TINYNET_DATA_DIR; skipped where absent, but a failure in CI."""
    from tinynet.datasets import mnist

    if not os.environ.get("TINYNET_DATA_DIR") and not os.environ.get("CI"):
        pytest.skip("real MNIST not configured: set TINYNET_DATA_DIR to the folder of the four IDX files")
    try:
        return mnist.load_data()
    except FileNotFoundError as error:
        if os.environ.get("CI"):
            raise  # CI must find the data: a skip there would hide a test that did not run
        pytest.skip(f"real MNIST not found: {error}")


@pytest.fixture(scope="session")
def mnist_flat(mnist_data):
    """The tutorial's preprocessing: floats in [0, 1], 784 per image, one-hot labels."""
    from tinynet.utils import to_categorical

    (x_train, y_train), (x_test, y_test) = mnist_data
    return (
        (x_train.reshape(60000, 784).astype("float32") / 255, to_categorical(y_train, 10)),
        (x_test.reshape(10000, 784).astype("float32") / 255, to_categorical(y_test, 10)),
    )
