"""Read MNIST from its four gzip-compressed IDX files, with NumPy alone.

Every peer gets its arrays from here, so all frameworks train on the very same bytes (Keras 3's own
``mnist.load_data()`` would try to download them). The IDX layout is: two zero bytes, a type code
(0x08 = uint8), the number of dimensions, one big-endian uint32 per dimension, then the data.
"""
import gzip
import os
from pathlib import Path

import numpy as np

FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}


def find_data_dir(data_dir=None):
    """The folder that holds the four files: ``data_dir``, else $TINYNET_DATA_DIR, or its ``mnist/``."""
    root = data_dir or os.environ.get("TINYNET_DATA_DIR")
    if not root:
        raise SystemExit("benchmarks need real MNIST: set TINYNET_DATA_DIR to the folder holding "
                         f"{FILES['x_train']} and the three other IDX files")
    for candidate in (Path(root), Path(root) / "mnist"):
        if (candidate / FILES["x_train"]).is_file():
            return candidate
    raise SystemExit(f"TINYNET_DATA_DIR={root} holds no {FILES['x_train']} (nor does its mnist/)")


def read_idx(path):
    """One IDX file as a uint8 array of the shape its header declares."""
    raw = gzip.decompress(Path(path).read_bytes())
    if raw[:3] != b"\x00\x00\x08":
        raise ValueError(f"{path}: expected an IDX file of uint8 (magic 00 00 08), got {raw[:3].hex()}")
    ndim = raw[3]
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_mnist(data_dir=None):
    """``(x_train, y_train), (x_test, y_test)`` as uint8, images 28x28, exactly as Keras returns them."""
    folder = find_data_dir(data_dir)
    arrays = {name: read_idx(folder / filename) for name, filename in FILES.items()}
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])
