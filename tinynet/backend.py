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
factor :func:`epsilon`; and the error function (:func:`erf`, :func:`erfc`), which the Array API
standard lacks.
"""

import contextlib
import math
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


# --- memory alignment ---------------------------------------------------------------------------

# NumPy places an array's data on a 16-byte boundary; BLAS's widest vector instructions (AVX-512)
# load 64 bytes at a time and run faster from a 64-byte boundary. On the tutorial's products
# (a batch of 100 x 784 by the 784 x 10 kernel, and its transpose for dL/dW) that is 12 and 11 us
# against 20 and 13, about 8 of the 90 us a training step takes. GPU memory (CuPy) comes aligned.
ALIGNMENT = 64


def aligned(host_array):
    """A copy of the NumPy array ``host_array`` (same values and memory order) whose data starts
    on a 64-byte boundary: each layer's weights are made so, on the host, before the transfer."""
    host_array = np.asarray(host_array)
    order = "F" if host_array.flags.f_contiguous and not host_array.flags.c_contiguous else "C"
    copy = _empty_aligned(host_array.shape, host_array.dtype, order)
    copy[...] = host_array
    return copy


def batch_buffer(batch_size, x):
    """Memory for one batch of rows of ``x``, gathered by :func:`take_rows` batch after batch:
    64-byte aligned on NumPy (see ``ALIGNMENT``); None on the other backends, which need none."""
    if _state["name"] != "numpy":
        return None
    return _empty_aligned((batch_size, *x.shape[1:]), x.dtype, "C")


def take_rows(x, rows, buffer=None):
    """``x[rows]``, the rows of a batch: gathered into the first ``len(rows)`` rows of ``buffer``
    (from :func:`batch_buffer`) when there is one, which the next batch then overwrites; else into
    a new array."""
    if buffer is None:
        return namespace().take(x, rows, axis=0)
    # mode="clip", as the rows are in range: the default, "raise", gathers into a temporary first.
    return np.take(x, rows, axis=0, out=buffer[: rows.shape[0]], mode="clip")


def _empty_aligned(shape, dtype, order):
    """An uninitialised NumPy array of ``shape``, ``order`` "C" or "F", 64-byte aligned: a view
    into a slightly longer block of bytes, starting at its first 64-byte boundary."""
    dtype = np.dtype(dtype)
    size = math.prod(shape) * dtype.itemsize
    block = np.empty(size + ALIGNMENT, np.uint8)
    start = -block.ctypes.data % ALIGNMENT
    flat = block[start : start + size].view(dtype)
    return flat.reshape(shape[::-1]).T if order == "F" else flat.reshape(shape)


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


# --- the error function, which the Array API lacks ---------------------------------------------

# W. J. Cody's rational approximations to erf and erfc: "Rational Chebyshev approximations for the
# error function", Mathematics of Computation 23 (1969), 631-637, with the coefficients of his
# SPECFUN routine CALERF (netlib.org/specfun/erf), good to about 18 digits, beyond float64's 16.
# Each tuple holds a polynomial's coefficients from the highest power down.
_ERF_NEAR_ZERO = (  # erf(x) = x P(x^2) / Q(x^2) for |x| <= 0.46875
    (1.85777706184603153e-1, 3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
     3.20937758913846947e03),
    (1.0, 2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03, 2.84423683343917062e03),
)
_ERFC_MIDDLE = (  # erfc(x) = exp(-x^2) P(x) / Q(x) for 0.46875 <= x <= 4
    (2.15311535474403846e-8, 5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
     2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03, 2.05107837782607147e03,
     1.23033935479799725e03),
    (1.0, 1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02, 1.62138957456669019e03,
     3.29079923573345963e03, 4.36261909014324716e03, 3.43936767414372164e03, 1.23033935480374942e03),
)
_ERFC_FAR = (  # erfc(x) = exp(-x^2) / x (1 / sqrt(pi) - t P(t) / Q(t)), t = 1 / x^2, for x >= 4
    (1.63153871373020978e-2, 3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
     1.60837851487422766e-2, 6.58749161529837803e-4),
    (1.0, 2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1, 6.05183413124413191e-2,
     2.33520497626869185e-3),
)
_NEAR_ZERO = 0.46875


def erf(x):
    """The error function ``erf(x) = 2 / sqrt(pi) * integral from 0 to x of exp(-t^2) dt``,
    element-wise: from -1 to 1, odd, with ``0.5 (1 + erf(x / sqrt(2)))`` the standard normal
    distribution function (see ``activations.GELU``).

    Neither NumPy nor the Array API standard has it. SciPy's ``scipy.special.erf`` (which Keras's
    NumPy backend calls; CuPy has its twin in ``cupyx.scipy.special``) would make SciPy a
    dependency of tinynet for one function, and would still leave array_api_strict without one.
    So tinynet computes it, with Cody's rational approximations (cited above) written in Array-API
    operations: one piece of code for every backend, within a few units in the last place of the
    float type (1e-15 relative in float64, 1e-6 in float32), from the tiniest ``x`` to the tails
    where it rounds to -1 and 1.
    """
    xp = namespace()
    tail = 1.0 - _erfc_of_size(xp.abs(x))
    return xp.where(xp.abs(x) <= _NEAR_ZERO, _erf_near_zero(x), xp.copysign(tail, x))


def erfc(x):
    """``erfc(x) = 1 - erf(x)``, element-wise, computed without that subtraction where it would
    lose digits: for large ``x``, where ``erf(x)`` rounds to 1 and ``erfc(x)`` is tiny but not 0
    (``erfc(10) = 2.1e-45``). Same method and accuracy as :func:`erf`."""
    xp = namespace()
    tail = _erfc_of_size(xp.abs(x))
    far = xp.where(x < 0, 2.0 - tail, tail)  # erfc(-x) = 2 - erfc(x)
    return xp.where(xp.abs(x) <= _NEAR_ZERO, 1.0 - _erf_near_zero(x), far)


def _erf_near_zero(x):
    """erf(x) for |x| <= 0.46875 (larger x are clipped to that range: their results are not used)."""
    x = namespace().clip(x, -_NEAR_ZERO, _NEAR_ZERO)
    numerator, denominator = _ERF_NEAR_ZERO
    t = x * x
    return x * _polynomial(numerator, t) / _polynomial(denominator, t)


def _erfc_of_size(y):
    """erfc(y) for y = |x| >= 0.46875. Each formula is evaluated on y clipped to its own interval,
    so that neither overflows where its result is not used: beyond y = 30, erfc(y) < 1e-392 is 0
    in float64 and float32 alike."""
    xp = namespace()
    middle = xp.clip(y, _NEAR_ZERO, 4.0)
    numerator, denominator = _ERFC_MIDDLE
    middle_value = _exp_minus_square(middle) * _polynomial(numerator, middle) / _polynomial(denominator, middle)
    far = xp.clip(y, 4.0, 30.0)
    t = 1.0 / (far * far)
    numerator, denominator = _ERFC_FAR
    series = 1.0 / math.sqrt(math.pi) - t * _polynomial(numerator, t) / _polynomial(denominator, t)
    far_value = _exp_minus_square(far) / far * series
    return xp.where(y <= 4.0, middle_value, far_value)


def _exp_minus_square(y):
    """``exp(-y^2)`` for y >= 0, to the float type's precision. Computed as ``exp(-y*y)``, the
    rounding of ``y*y`` (relative 1e-16) would grow into an error of ``y^2`` times that in the
    result (7e-14 at y = 26); so, as Cody does, y^2 is split as ``s^2 + (y - s)(y + s)`` with s
    = y rounded down to a multiple of 1/16, whose square is exact."""
    xp = namespace()
    s = xp.floor(16.0 * y) / 16.0
    return xp.exp(-s * s) * xp.exp(-(y - s) * (y + s))


def _polynomial(coefficients, t):
    """``c[0] t^n + c[1] t^(n-1) + ... + c[n]`` by Horner's rule: one product and one sum per term."""
    value = coefficients[0]
    for coefficient in coefficients[1:]:
        value = value * t + coefficient
    return value


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
