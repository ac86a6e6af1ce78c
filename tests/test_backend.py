"""The array backend: switching by name, context and environment; CuPy's refusal; float32 kept;
NumPy and array_api_strict agreeing; one host/device transfer per fit, not per step."""

import math
import subprocess
import sys
import types

import numpy as np
import pytest

from tinynet import backend, losses
from tinynet.layers import Dense, Dropout
from tinynet.models import Sequential
from tinynet.utils import set_random_seed, to_categorical


def test_switch_by_name_and_by_context():
    assert backend.get_backend() == "numpy" and backend.namespace().exp is np.exp
    with backend.use_backend("array_api_strict", "device1") as xp:
        assert backend.get_backend() == "array_api_strict"
        assert xp.__name__ == "array_api_strict" and str(backend.device()).endswith("'device1')")
    assert backend.get_backend() == "numpy" and backend.device() is None
    backend.set_backend("array_api_strict")
    try:
        assert backend.get_backend() == "array_api_strict"
    finally:
        backend.set_backend("numpy")


def test_unknown_backend_suggests_the_closest_name():
    with pytest.raises(ValueError, match="Did you mean 'numpy'"):
        backend.set_backend("numpi")
    assert backend.get_backend() == "numpy"


def test_environment_variable_chooses_the_backend():
    script = "from tinynet import backend; print(backend.get_backend())"
    env = {"TINYNET_BACKEND": "array_api_strict", "PATH": ""}
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    assert output.stdout.strip() == "array_api_strict"


def test_an_unusable_backend_in_the_environment_says_how_to_get_back_to_the_cpu():
    script = "import sys; sys.modules['cupy'] = None; import tinynet"
    env = {"TINYNET_BACKEND": "cupy", "PATH": ""}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert result.returncode != 0
    assert "TINYNET_BACKEND='cupy'" in result.stderr and "set it to 'numpy'" in result.stderr
    assert "stays active" not in result.stderr


def test_cupy_refusal_when_cupy_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # makes "import cupy" raise ImportError
    status = backend.gpu_available()
    assert not status and not status.cupy_importable and not status.device_usable
    with pytest.raises(backend.BackendUnavailableError, match=r"not importable.*pip install tinynet\[gpu\]"):
        backend.set_backend("cupy")
    assert backend.get_backend() == "numpy"


def test_cupy_refusal_when_no_device_is_usable(monkeypatch):
    def no_device():
        raise RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")

    fake = types.ModuleType("cupy")
    fake.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=no_device))
    monkeypatch.setitem(sys.modules, "cupy", fake)
    status = backend.gpu_available()
    assert status.cupy_importable and not status.device_usable and not status
    assert "no CUDA device is usable" in status.reason and "nvidia-smi" in status.reason
    with pytest.raises(backend.BackendUnavailableError, match="no CUDA device is usable"):
        backend.set_backend("cupy")
    assert backend.get_backend() == "numpy"


def data(samples=120, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((samples, 20), dtype=np.float32), to_categorical(rng.integers(0, 4, samples), 4)


def small_model(dropout=False):
    layers = [Dense(8, activation="relu", input_shape=(20,))]
    layers += [Dropout(0.25)] if dropout else []
    layers += [Dense(4, activation="softmax")]
    model = Sequential(layers)
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


SHORTCUT_CALLS = [
    ("sum", {}),
    ("sum", {"axis": 0, "keepdims": True}),
    ("sum", {"axis": (0, 2), "dtype": np.float64}),
    ("mean", {"axis": -1}),
    ("max", {}),
    ("max", {"axis": 1, "keepdims": True}),
    ("argmax", {"axis": -1}),
    ("argmax", {"axis": 0, "keepdims": True}),
    ("clip", {"min": 0.2, "max": 0.7}),
    ("clip", {"max": 0.5}),
]


@pytest.mark.parametrize(("name", "kwargs"), SHORTCUT_CALLS)
def test_numpy_namespace_shortcuts_give_numpys_results(name, kwargs):
    """The numpy backend calls seven functions as the arrays' methods: same values, types, shapes."""
    x = np.random.default_rng(0).random((3, 4, 5), dtype=np.float32)
    x[1, 2, 3] = np.nan  # NaN must propagate through max and sum as in NumPy
    x[2, 0, :] = 0.5  # ties: argmax takes the first
    expected = getattr(np, name)(x, **kwargs)
    got = getattr(backend.namespace(), name)(x, **kwargs)
    assert type(got) is type(expected) and np.shape(got) == np.shape(expected)
    assert np.asarray(got).dtype == np.asarray(expected).dtype
    np.testing.assert_array_equal(got, expected)


def test_numpy_namespace_reshape_and_astype_follow_the_array_api():
    xp = backend.namespace()
    x = np.arange(12, dtype=np.float32)
    view = xp.reshape(x, (3, 4))
    assert view.shape == (3, 4) and np.shares_memory(view, x)
    assert not np.shares_memory(xp.reshape(x, (3, 4), copy=True), x)
    with pytest.raises(ValueError):
        xp.reshape(x.reshape(3, 4).T, (12,), copy=False)  # a transpose cannot be flattened in place
    as_int = xp.astype(x, xp.int64)
    assert as_int.dtype == np.int64 and not np.shares_memory(as_int, x)
    assert xp.astype(x, xp.float32, copy=False) is x
    assert xp.linalg.norm is np.linalg.norm  # NumPy's lazily loaded submodules are there too


def test_ones_vector_is_made_once_per_backend():
    ones = backend.ones_vector(5, np.float32)
    np.testing.assert_array_equal(ones, np.ones(5, np.float32))
    assert backend.ones_vector(5, np.float32) is ones
    with backend.use_backend("array_api_strict", "device1") as xp:
        strict_ones = backend.ones_vector(5, xp.float32)
        assert backend.is_backend_array(strict_ones) and strict_ones.device == backend.device()
    assert backend.ones_vector(5, np.float32) is ones


@pytest.mark.parametrize("order", ["C", "F"])
def test_aligned_copies_keep_values_and_order_and_start_on_64_bytes(order):
    for shape in [(784, 10), (7,), (3, 5)]:
        host = np.asarray(np.arange(math.prod(shape), dtype=np.float32).reshape(shape), order=order)
        copy = backend.aligned(host)
        np.testing.assert_array_equal(copy, host)
        assert copy.ctypes.data % backend.ALIGNMENT == 0 and not np.shares_memory(copy, host)
        assert copy.flags.f_contiguous == host.flags.f_contiguous
        assert copy.flags.c_contiguous == host.flags.c_contiguous


def test_take_rows_gathers_into_the_aligned_buffer_and_the_last_short_batch_too(array_backend):
    host = np.arange(60, dtype=np.float32).reshape(12, 5)
    x = backend.asarray(host)
    buffer = backend.batch_buffer(5, x)
    assert (buffer is None) == (array_backend != "numpy")
    for order in ([3, 0, 7, 11, 2], [9, 4]):
        rows = backend.asarray(order, dtype="int64")
        batch = backend.take_rows(x, rows, buffer)
        np.testing.assert_array_equal(backend.to_numpy(batch), host[order])
        if buffer is not None:
            assert np.shares_memory(batch, buffer) and batch.ctypes.data % backend.ALIGNMENT == 0


def test_weights_and_shuffled_batches_start_on_64_bytes():
    set_random_seed(0)
    x = np.random.default_rng(0).random((30, 7), dtype=np.float32)[:, 1:]  # rows that start anywhere
    model = Sequential([Dense(3, activation="softmax", input_shape=(6,))])
    model.compile(loss="categorical_crossentropy", optimizer="sgd")
    assert all(weight.ctypes.data % backend.ALIGNMENT == 0 for weight in model.layers[0].params)
    model.fit(x, to_categorical(np.arange(30) % 3, 3), batch_size=8, epochs=1, verbose=0)
    assert model.layers[0].inputs.ctypes.data % backend.ALIGNMENT == 0  # the last batch the layer saw
    assert all(weight.ctypes.data % backend.ALIGNMENT == 0 for weight in model.layers[0].params)


@pytest.mark.parametrize("shape", [(3, 4), (1, 4), (3, 1)])
def test_contiguous_transpose_is_a_new_transposed_array(array_backend, shape):
    # (1, 4) and (3, 1): the transpose of one row or one column is contiguous already.
    host = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    matrix = backend.asarray(host)
    transposed = backend.contiguous_transpose(matrix)
    transposed *= 2  # writing to the result must leave the input alone
    np.testing.assert_array_equal(backend.to_numpy(transposed), 2 * host.T)
    np.testing.assert_array_equal(backend.to_numpy(matrix), host)
    if isinstance(transposed, np.ndarray):
        assert transposed.flags.c_contiguous


def test_stack_to_numpy_gives_the_values_as_one_host_vector(array_backend):
    xp = backend.namespace()
    values = [xp.asarray(1.5, dtype=xp.float32, device=backend.device()), xp.sum(backend.asarray([2.0, 0.25]))]
    host = backend.stack_to_numpy(values)
    assert isinstance(host, np.ndarray) and host.dtype == np.float32
    np.testing.assert_array_equal(host, [1.5, 2.25])


@pytest.mark.parametrize("window, strides, size", [((3, 3), (1, 1), (4, 4)), ((2, 3), (2, 1), (3, 4)), ((1, 1), (2, 2), (3, 3))])
def test_window_view_holds_every_window_without_copying(window, strides, size):
    images = np.arange(2 * 6 * 6 * 3, dtype=np.float32).reshape(2, 6, 6, 3)
    view = backend.window_view(images, window, strides, size)
    assert view.shape == (2, *size, *window, 3) and np.shares_memory(view, images)
    for y, x, i, j in np.ndindex(*size, *window):
        np.testing.assert_array_equal(view[:, y, x, i, j, :], images[:, strides[0] * y + i, strides[1] * x + j, :])
    with pytest.raises(ValueError, match="do not fit in 6x6 images"):
        backend.window_view(images, window, strides, (size[0] + 6, size[1]))
    with backend.use_backend("array_api_strict"):
        assert backend.window_view(backend.asarray(images), window, strides, size) is None


# Where erf is tested: a wide sweep, the tiniest numbers (down to the subnormals, where erf(x) is
# 2 x / sqrt(pi)), the borders between Cody's intervals, the tails where erf rounds to -1 and 1 and
# erfc underflows, and the infinities.
_sweep = np.random.default_rng(5).uniform(-7.0, 7.0, 2000)
_tiny = np.logspace(-310, -1, 200)
_borders = np.array([0.0, 0.46875, np.nextafter(0.46875, 1), 4.0, np.nextafter(4.0, 5), 5.9, 6.0, 9.0, 10.0, 26.5,
                     27.3, 30.0, 1e10, 1e300, np.inf])
ERF_POINTS = np.concatenate([_sweep, _tiny, -_tiny, _borders, -_borders])


def test_erf_and_erfc_agree_with_pythons_to_float64_rounding(float64_backend):
    """Within 1e-15 relative of math.erf and math.erfc (a few units in the last place), erfc
    included where it is far below 1e-300, and with no overflow or invalid operation anywhere."""
    x = backend.asarray(ERF_POINTS)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        erf, erfc = backend.to_numpy(backend.erf(x)), backend.to_numpy(backend.erfc(x))
    assert erf.dtype == erfc.dtype == np.float64
    np.testing.assert_allclose(erf, [math.erf(v) for v in ERF_POINTS], rtol=1e-15, atol=1e-322)
    np.testing.assert_allclose(erfc, [math.erfc(v) for v in ERF_POINTS], rtol=1e-15, atol=1e-322)
    infinite = np.isinf(ERF_POINTS)  # inf, then -inf
    assert erf[infinite].tolist() == [1.0, -1.0] and erfc[infinite].tolist() == [0.0, 2.0]


def test_erf_and_erfc_in_float32(array_backend):
    """float32 stays float32, within 1e-6 relative (8 units in the last place) of the float32
    rounding of the exact values at the same float32 inputs."""
    with np.errstate(over="ignore"):  # 1e300 and 1e10 are inf in float32, as they should be
        inputs = ERF_POINTS.astype(np.float32)
    x = backend.asarray(inputs)
    erf, erfc = backend.to_numpy(backend.erf(x)), backend.to_numpy(backend.erfc(x))
    assert erf.dtype == erfc.dtype == np.float32
    np.testing.assert_allclose(erf, np.float32([math.erf(v) for v in inputs.tolist()]), rtol=1e-6, atol=1e-44)
    np.testing.assert_allclose(erfc, np.float32([math.erfc(v) for v in inputs.tolist()]), rtol=1e-6, atol=1e-44)


def test_float32_stays_float32(array_backend):
    x, y = data()
    model = small_model(dropout=True)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    xp = backend.namespace()
    for param, grad in zip(model._params, model._grads()):
        assert param.dtype == xp.float32 and grad.dtype == xp.float32
    for slot in model.optimizer.slots:
        assert all(s.dtype == xp.float32 for s in slot)
    assert model.predict(x).dtype == np.float32
    assert all(w.dtype == np.float32 for w in model.get_weights())


def test_numpy_and_array_api_strict_train_the_same(monkeypatch):
    x, y = data()
    set_random_seed(5)
    initial = small_model().get_weights()
    predictions = {}
    for name, device in [("numpy", None), ("array_api_strict", "device1")]:
        with backend.use_backend(name, device):
            model = small_model()
            model.set_weights(initial)
            model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
            predictions[name] = model.predict(x)
    np.testing.assert_allclose(predictions["numpy"], predictions["array_api_strict"], atol=1e-5)


@pytest.mark.parametrize("class_weights", [False, True], ids=["", "focal-loss-class-weights"])
def test_fit_moves_data_once_not_per_step(monkeypatch, class_weights):
    """On a pretend device, count every host/device transfer a 3-epoch fit makes (a focal loss's
    class weights go once too)."""
    calls = {"to_device": 0, "to_host": 0}
    to_device, to_host = backend.asarray, backend.to_numpy

    def counting_asarray(*args, **kwargs):
        calls["to_device"] += 1
        return to_device(*args, **kwargs)

    def counting_to_numpy(*args, **kwargs):
        calls["to_host"] += 1
        return to_host(*args, **kwargs)

    x, y = data(samples=400)
    with backend.use_backend("array_api_strict", "device1"):
        model = small_model()
        if class_weights:
            model.compile(loss=losses.CategoricalFocalCrossentropy(alpha=[0.5, 1.0, 2.0, 1.5]), optimizer="adam",
                          metrics=["accuracy"])
        monkeypatch.setattr(backend, "asarray", counting_asarray)
        monkeypatch.setattr(backend, "to_numpy", counting_to_numpy)
        model.fit(x, y, batch_size=10, epochs=3, verbose=0)  # 120 steps
    # x and y once, plus one shuffling order per epoch; the loss and metrics come back once per epoch.
    assert calls["to_device"] == 2 + 3 + class_weights
    assert calls["to_host"] == 3
