"""The array backend: the one place that knows NumPy from CuPy.

Every other module of tinynet does its array maths through the namespace this module hands out::

    from tinynet import backend
    xp = backend.namespace()          # numpy, cupy or array_api_strict
    z = xp.matmul(x, w) + b

and uses only the functions that NumPy, CuPy and the Python Array API standard share
(``matmul``, ``exp``, ``sum(..., axis=, keepdims=)``, ``take``, ``where``, ``clip`` ...). So the
backend can be any Array-API namespace:

* ``"numpy"`` (the default) runs on the CPU (NumPy itself, with a few functions taken straight from
  the arrays' own methods: see :func:`_numpy_namespace`);
* ``"cupy"`` runs on an NVIDIA GPU;
* ``"array_api_strict"`` runs on the CPU but refuses anything outside the standard. It is how the
  tests prove, without a GPU, that no NumPy-only call, silent host/device copy or float64 creeps
  into the engine (its devices ``"device1"`` and ``"no_float64"`` play the part of a GPU).

Choose one with ``set_backend("cupy")``, for a block with ``with use_backend("cupy"): ...``, or for
a whole program with the environment variable ``TINYNET_BACKEND=cupy``.

Arrays cross between the host (NumPy) and the backend only through :func:`asarray` (host to device)
and :func:`to_numpy` (device to host), never once per step: ``fit`` moves the data to the device
once, a shuffled order once per epoch, and copies the batches' pending losses and metrics back only
when it reads them (a progress-bar redraw, the end of an epoch, or after every batch when a callback
asks for batch values).

Like Keras's backend this module also holds the default float type (:func:`floatx`) and the fuzz
factor :func:`epsilon`.
"""

import contextlib
import os
import types
from dataclasses import dataclass

import numpy as np

from tinynet.utils.lookup import lookup

BACKENDS = ("numpy", "cupy", "array_api_strict")
_STRICT_DEVICES = ("CPU_DEVICE", "device1", "device2", "no_float64")


def _numpy_namespace():
    """NumPy as the numpy backend hands it out: the module's own functions, except seven.

    ``np.sum(x, axis=0)`` is a Python function that checks and forwards its arguments, then calls
    the array's method ``x.sum(axis=0)``; so are ``max``, ``mean``, ``argmax``, ``clip``,
    ``reshape`` and ``astype``. On the tutorial's (100, 10) arrays the forwarding costs as much as
    the maths (1-2 us a call; 15 of the 120 us a training step took), so here these seven call
    the method directly, with the Array API's signatures. Same numbers, same types.
    """
    xp = types.ModuleType("numpy")
    vars(xp).update(vars(np))  # NumPy's names, and its __getattr__ for the submodules it loads lazily

    def sum(x, /, *, axis=None, dtype=None, keepdims=False):
        return x.sum(axis=axis, dtype=dtype, keepdims=keepdims)

    def mean(x, /, *, axis=None, keepdims=False):
        return x.mean(axis=axis, keepdims=keepdims)

    def max(x, /, *, axis=None, keepdims=False):
        return x.max(axis=axis, keepdims=keepdims)

    def argmax(x, /, *, axis=None, keepdims=False):
        return x.argmax(axis=axis, keepdims=keepdims)

    def clip(x, /, min=None, max=None):
        return x.clip(min, max)

    def reshape(x, /, shape, *, copy=None):
        return x.reshape(shape) if copy is None else np.reshape(x, shape, copy=copy)

    def astype(x, dtype, /, *, copy=True, device=None):
        return x.astype(dtype, copy=copy)

    vars(xp).update(sum=sum, mean=mean, max=max, argmax=argmax, clip=clip, reshape=reshape, astype=astype)
    return xp


_NUMPY = _numpy_namespace()
_state = {
    "name": "numpy",
    "xp": _NUMPY,
    "device": None,
    "array_type": np.ndarray,
    "floatx": "float32",
    "ones": {},  # ones_vector's vectors, by (length, dtype), for this backend and device
}


class BackendUnavailableError(RuntimeError):
    """Raised when a backend is asked for where it cannot run (the previous backend stays active)."""


# --- choosing the backend ----------------------------------------------------------------------


def get_backend():
    """The name of the active backend: ``"numpy"``, ``"cupy"`` or ``"array_api_strict"``."""
    return _state["name"]


def namespace():
    """The array module of the active backend (NumPy's, CuPy's or ``array_api_strict``)."""
    return _state["xp"]


def device():
    """The device new arrays are created on (``None`` means the namespace's default)."""
    return _state["device"]


def set_backend(name, device=None):
    """Make ``name`` the active backend for everything tinynet does from now on.

    ``device`` picks a device where the backend has several: a CUDA device number for CuPy, or
    one of ``"CPU_DEVICE"``, ``"device1"``, ``"device2"``, ``"no_float64"`` for array_api_strict.
    If the backend cannot run here, :class:`BackendUnavailableError` says why and nothing changes.
    """
    name, xp, dev = _load(name, device)
    _state.update(name=name, xp=xp, device=dev, array_type=type(xp.asarray(0.0, device=dev)), ones={})


@contextlib.contextmanager
def use_backend(name, device=None):
    """Run a ``with`` block on another backend, then go back to the one that was active."""
    previous = {key: _state[key] for key in ("name", "xp", "device", "array_type", "ones")}
    set_backend(name, device)
    try:
        yield namespace()
    finally:
        _state.update(previous)


def _load(name, device):
    name = lookup("backend", name, {b: b for b in BACKENDS})
    if name == "numpy":
        if device not in (None, "cpu"):
            raise ValueError(f"The numpy backend runs on the CPU only; got device={device!r}.")
        return name, _NUMPY, None
    if name == "array_api_strict":
        try:
            import array_api_strict
        except ImportError as error:
            raise BackendUnavailableError(
                "The 'array_api_strict' backend needs the array-api-strict package: "
                "pip install array-api-strict"
            ) from error
        device = device or "CPU_DEVICE"
        if device not in _STRICT_DEVICES:
            raise ValueError(
                f"Unknown array_api_strict device {device!r}: expected one of {_STRICT_DEVICES}."
            )
        return name, array_api_strict, array_api_strict.Device(device)
    status = gpu_available()
    if not status:
        raise BackendUnavailableError(
            f"The 'cupy' backend cannot run here: {status.reason}. The numpy backend stays active."
        )
    try:
        # CuPy's own namespace differs from the Array API in a few names (concat, astype, device=);
        # array-api-compat's thin wrapper fills them in, as SciPy and scikit-learn do.
        from array_api_compat import cupy as xp
    except ImportError as error:
        raise BackendUnavailableError(
            "The 'cupy' backend also needs array-api-compat: pip install tinynet[gpu] "
            "(or pip install array-api-compat)."
        ) from error
    import cupy

    dev = cupy.cuda.Device(device or 0)
    dev.use()
    return name, xp, dev


@dataclass(frozen=True)
class GPUStatus:
    """What :func:`gpu_available` found: is CuPy importable, and is a CUDA device usable?"""

    cupy_importable: bool
    device_usable: bool
    reason: str

    def __bool__(self):
        return self.cupy_importable and self.device_usable


def gpu_available():
    """Tell "CuPy is importable" and "a CUDA device is usable" apart.

    Returns a :class:`GPUStatus`, true when both hold; its ``reason`` says what is missing and
    how to install it.
    """
    try:
        import cupy
    except Exception as error:  # a broken CUDA install raises more than ImportError
        return GPUStatus(
            False,
            False,
            f"CuPy is not importable ({type(error).__name__}: {error}). Install it with "
            "'pip install tinynet[gpu]', or the wheel that matches your CUDA toolkit, "
            "e.g. 'pip install cupy-cuda12x'",
        )
    try:
        count = cupy.cuda.runtime.getDeviceCount()
        if count == 0:
            raise RuntimeError("the driver reports no CUDA device")
        cupy.zeros(1).sum().item()  # proves the driver, the device and the kernels all work
    except Exception as error:
        return GPUStatus(
            True,
            False,
            f"CuPy is installed but no CUDA device is usable ({type(error).__name__}: {error}). "
            "Check the NVIDIA driver with 'nvidia-smi', and that the cupy-cudaXXx wheel matches it",
        )
    return GPUStatus(True, True, f"{count} CUDA device(s) usable")


# --- the default float type --------------------------------------------------------------------

_FLOAT_TYPES = ("float32", "float64")


def floatx():
    """The default float type as a string, ``"float32"`` unless :func:`set_floatx` changed it."""
    return _state["floatx"]


def set_floatx(value):
    """Set the default float type: ``"float32"`` (fast, the default) or ``"float64"`` (gradient checks)."""
    if value not in _FLOAT_TYPES:
        raise ValueError(f"Unknown float type {value!r}: expected 'float32' or 'float64'.")
    _state["floatx"] = value


def epsilon():
    """The fuzz factor Keras uses to keep logarithms and divisions finite: 1e-7."""
    return 1e-7


# --- moving arrays between host and device ------------------------------------------------------


def asarray(values, dtype=None):
    """Put ``values`` on the active backend's device (the host-to-device transfer point).

    ``dtype`` defaults to :func:`floatx`; pass a string such as ``"int64"`` for other types.
    A NumPy array that already has the right type is not copied on the numpy backend.
    """
    xp = namespace()
    dtype = getattr(xp, dtype or floatx())
    if _state["name"] == "array_api_strict" and not is_backend_array(values):
        values = np.asarray(values)  # array_api_strict only accepts its own arrays or NumPy ones
    return xp.asarray(values, dtype=dtype, device=_state["device"])


def full(shape, fill_value, dtype):
    """A new array of ``shape`` holding ``fill_value`` on the active device; ``dtype`` is a dtype
    of the active namespace, such as ``x.dtype``."""
    return namespace().full(shape, fill_value, dtype=dtype, device=_state["device"])


def ones_vector(length, dtype):
    """A vector of ``length`` ones of ``dtype`` on the active device, made once and then shared.

    Sums along a long axis are computed as products with it (see ``layers.base.column_sums``);
    making it anew each batch took as long as the product. Callers must not write into it.
    """
    key = (length, dtype)
    ones = _state["ones"].get(key)
    if ones is None:
        ones = _state["ones"][key] = full((length,), 1.0, dtype)
    return ones


def dtype_name(array):
    """The name of an array's dtype (``"float32"``...), whatever namespace it comes from."""
    return str(array.dtype).rsplit(".", 1)[-1]


def contiguous_transpose(matrix):
    """``matrix.T`` as a new array, stored row after row (a 2-D ``matrix``).

    The Array API leaves memory layout to each library; this is the one place that asks for it:
    reductions across the rows of the result then run as long contiguous passes.
    """
    # copy() (C order by default), not ascontiguousarray: where matrix.T is contiguous already
    # (one row or one column) that returns the matrix itself, and the caller's in-place work
    # would overwrite the input.
    if _state["name"] in ("numpy", "cupy"):
        return matrix.T.copy()
    return namespace().asarray(namespace().permute_dims(matrix, (1, 0)), copy=True)


def window_view(images, window, strides, output_size):
    """Every ``kh x kw`` window of a channels-last batch ``(n, H, W, C)`` as one strided view of
    shape ``(n, out_h, out_w, kh, kw, C)``: element ``[n, y, x, i, j, c]`` is
    ``images[n, s_h*y + i, s_w*x + j, c]``. Nothing is copied, so it is for reading only (where
    windows overlap, one number appears in several). None on array_api_strict.

    An array's ``strides`` say how many bytes separate neighbours along each axis. A view may walk
    the same memory with other strides: stepping to the next output row moves ``s_h`` image rows,
    stepping to the next row inside the window moves one, so windows that overlap share their
    numbers. NumPy and CuPy have such views; the Array API standard leaves memory layout out, so
    array_api_strict has none and the caller builds the windows from slices instead.
    """
    name = _state["name"]
    if name == "array_api_strict":
        return None
    if name == "numpy":
        from numpy.lib.stride_tricks import as_strided
    else:
        from cupy.lib.stride_tricks import as_strided
    (kh, kw), (s_h, s_w), (out_h, out_w) = window, strides, output_size
    n, height, width, channels = images.shape
    if (out_h - 1) * s_h + kh > height or (out_w - 1) * s_w + kw > width:
        # A view walks wherever its strides lead: past the images, it would read stray memory.
        raise ValueError(
            f"{out_h}x{out_w} windows of {kh}x{kw} at strides {s_h}x{s_w} do not fit in "
            f"{height}x{width} images."
        )
    step_n, step_y, step_x, step_c = images.strides
    return as_strided(
        images,
        shape=(n, out_h, out_w, kh, kw, channels),
        strides=(step_n, s_h * step_y, s_w * step_x, step_y, step_x, step_c),
    )


def to_numpy(array):
    """Bring a backend array back to the host as a NumPy array (the device-to-host transfer point)."""
    if isinstance(array, np.ndarray):
        return array
    name = _state["name"]
    if name == "cupy" and hasattr(array, "get"):
        return array.get()
    if name == "array_api_strict" and hasattr(array, "to_device"):
        import array_api_strict

        # On its pretend devices, array_api_strict refuses to leak data to NumPy silently: the
        # explicit move to its CPU device is the transfer, the same call a GPU array would need.
        array = array.to_device(array_api_strict.Device("CPU_DEVICE"))
    return np.asarray(array)


def stack_to_numpy(arrays):
    """A list of 0-d backend arrays (the batches' losses and metrics) as one host NumPy vector,
    with one device-to-host copy. On NumPy they are NumPy scalars already, which ``asarray`` reads
    straight from the list: ``stack`` would first make an array of each, 1.5 ms for the 1,200
    values of a tutorial epoch against 0.15 ms."""
    if _state["name"] == "numpy":
        return np.asarray(arrays)
    return to_numpy(namespace().stack(arrays))


def to_scalar(array):
    """A 0-d backend array as a Python float (a device-to-host sync: call it rarely)."""
    return float(to_numpy(array))


def is_backend_array(value):
    """True when ``value`` is an array of the active backend (not a host NumPy array on a GPU)."""
    return isinstance(value, _state["array_type"])


# --- random numbers on the device ---------------------------------------------------------------


def random_uniform(shape, generator):
    """Uniform numbers in [0, 1) of :func:`floatx` type, made on the device.

    ``generator`` is the host ``numpy.random.Generator`` tinynet seeds with ``set_random_seed``.
    On the CPU backends it draws directly; on CuPy it seeds CuPy's generator from it, so dropout
    masks are made on the GPU with no per-step copy and still follow the tinynet seed.
    """
    name = _state["name"]
    if name == "cupy":
        import cupy

        seed = int(generator.integers(2**63 - 1))
        return cupy.random.default_rng(seed).random(shape, dtype=floatx())
    values = generator.random(shape, dtype=np.dtype(floatx()))
    return values if name == "numpy" else asarray(values)


def _backend_from_environment():
    """Apply ``$TINYNET_BACKEND`` at import; a backend that cannot run stops the program here,
    with the reason and the way back to the CPU, rather than silently training on NumPy."""
    requested = os.environ.get("TINYNET_BACKEND")
    if not requested:
        return
    try:
        set_backend(requested)
    except (BackendUnavailableError, ValueError) as error:
        reason = str(error).replace(" The numpy backend stays active.", "")
        raise type(error)(
            f"TINYNET_BACKEND={requested!r}: {reason} Unset TINYNET_BACKEND, or set it to 'numpy', "
            "to run on the CPU."
        ) from None


_backend_from_environment()
