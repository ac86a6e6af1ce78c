"""What every peer shares: the data it is handed, how it is timed, how it is scored."""
import time
from dataclasses import dataclass

import numpy as np


class PeerAbsent(Exception):
    """The framework, or the feature a task needs, is not installed or not available here."""


@dataclass
class Data:
    """One task's arrays, the same bytes for every peer.

    Images are float32 in [0, 1]: shape (n, 784) for the MLP, (n, 28, 28, 1) for the CNN.
    Labels come both as integers (PyTorch, scikit-learn) and one-hot float32 (Keras, tinynet).
    """
    x_train: np.ndarray
    labels_train: np.ndarray
    onehot_train: np.ndarray
    x_test: np.ndarray
    labels_test: np.ndarray


def time_predict(predict, x, repeats, sync=lambda: None):
    """Seconds of ``repeats`` calls of ``predict(x)`` after one untimed warm-up call, and the last output.

    The warm-up call pays one-off costs (tracing, compiling, allocating) that a training run has
    usually paid already; ``sync`` waits for a GPU to finish before the clock is read.
    """
    output = predict(x)
    sync()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        output = predict(x)
        sync()
        seconds.append(time.perf_counter() - start)
    return seconds, output


def aligned_empty(shape, dtype=np.float32):
    """``np.empty(shape, dtype)`` with the data on a 64-byte boundary, where NumPy promises 16:
    BLAS's AVX-512 kernels read such arrays faster (the MLP's 100 x 784 by 784 x 10 product takes
    12 us instead of 20). PyTorch's allocator aligns to 64 bytes too; tinynet aligns its weights
    and batches the same way."""
    dtype = np.dtype(dtype)
    size = int(np.prod(shape)) * dtype.itemsize
    block = np.empty(size + 64, np.uint8)
    start = -block.ctypes.data % 64
    return block[start:start + size].view(dtype).reshape(shape)


def accuracy(probabilities, labels):
    """Fraction of rows whose largest probability sits at the true label."""
    return float(np.mean(np.argmax(np.asarray(probabilities), axis=1) == labels))


def glorot_uniform(rng, fan_in, fan_out):
    """Keras's default kernel initialiser: U(-l, l) with l = sqrt(6 / (fan_in + fan_out)), float32."""
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=(fan_in, fan_out)).astype(np.float32)
