"""MNIST: 70,000 handwritten digits as 28x28 grayscale images, the "hello world" of deep learning.

``load_data()`` returns ``(x_train, y_train), (x_test, y_test)``, uint8 arrays of shapes
(60000, 28, 28), (60000,), (10000, 28, 28) and (10000,), exactly like
``keras.datasets.mnist.load_data()``. Every file is checked before its data is used.
"""

import gzip
import hashlib
import http.client
import os
import struct
import sys
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from urllib.request import urlopen

import numpy as np

from tinynet.utils.files import atomic_write


@dataclass(frozen=True)
class Part:
    """One of the four arrays of MNIST: its IDX file name, its ``.npz`` key, shape and content hash."""

    idx_name: str
    npz_key: str
    shape: tuple
    sha256: str  # of the decompressed IDX file: the .gz bytes differ between mirrors, content does not


# What MNIST is. Tests replace this table (and KERAS_NPZ_SHA256) with a tiny dataset of their own.
PARTS = (
    Part("train-images-idx3-ubyte", "x_train", (60000, 28, 28),
         "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    Part("train-labels-idx1-ubyte", "y_train", (60000,),
         "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    Part("t10k-images-idx3-ubyte", "x_test", (10000, 28, 28),
         "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    Part("t10k-labels-idx1-ubyte", "y_test", (10000,),
         "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
)
# SHA-256 of the whole file Keras downloads to ~/.keras/datasets/mnist.npz.
KERAS_NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
MIRRORS = (
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
)
DOWNLOAD_TIMEOUT_SECONDS = 30
NUM_CLASSES = 10


def load_data(path=None):
    """Load MNIST as ``(x_train, y_train), (x_test, y_test)`` uint8 NumPy arrays.

    Where the data is looked for, in this order:

    1. ``path``, if given, and nothing else: a directory holding the four IDX files
       (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
       ``t10k-labels-idx1-ubyte``, each gzipped ``.gz`` or not) or a ``mnist.npz``; or the path
       of an ``.npz`` file in Keras's format (keys x_train, y_train, x_test, y_test).
    2. The directory named by ``$TINYNET_DATA_DIR``, then its ``mnist/`` subdirectory (same rules).
    3. Keras's cache, ``~/.keras/datasets/mnist.npz``.
    4. tinynet's cache, ``~/.tinynet/datasets/mnist/`` (the four ``.gz`` files).
    5. A download of the missing ``.gz`` files into tinynet's cache, trying each of ``MIRRORS``.

    IDX files are verified by the SHA-256 of their decompressed content and by their header; a
    truncated, altered or wrong file raises ``ValueError`` naming it. A bad file in tinynet's own
    cache is reported and downloaded again. If nothing is found and the download fails, a
    ``FileNotFoundError`` lists every place looked at and how to provide the files.
    """
    looked = []  # where we looked and why it failed, for the error message
    if path is not None:
        arrays = _load_location(Path(path), looked)
        if arrays is None:
            raise FileNotFoundError(_not_found_message(looked))
        return _split(arrays)

    data_dir = os.environ.get("TINYNET_DATA_DIR")
    if data_dir:
        for directory in (Path(data_dir), Path(data_dir) / "mnist"):
            arrays = _load_location(directory, looked)
            if arrays is not None:
                return _split(arrays)
    else:
        looked.append("$TINYNET_DATA_DIR: not set")

    keras_file = Path.home() / ".keras" / "datasets" / "mnist.npz"
    if keras_file.is_file():
        _check_file_sha256(keras_file, KERAS_NPZ_SHA256)
        return _split(_read_npz(keras_file))
    looked.append(f"{keras_file}: no such file")

    return _split(_load_tinynet_cache(Path.home() / ".tinynet" / "datasets" / "mnist", looked))


def _split(arrays):
    x_train, y_train, x_test, y_test = arrays
    return (x_train, y_train), (x_test, y_test)


def _load_location(location, looked):
    """The four arrays from a directory or ``.npz`` file, or None (noting why in ``looked``)."""
    if location.is_file():
        if location.suffix != ".npz":
            raise ValueError(f"{location}: expected a directory holding the MNIST files or an "
                             f".npz file, got a file named {location.name!r}")
        return _read_npz(location)
    if not location.is_dir():
        looked.append(f"{location}: no such file or directory")
        return None
    idx_files = [_find_idx_file(location, part) for part in PARTS]
    if all(idx_files):
        return [_read_idx(file, part) for file, part in zip(idx_files, PARTS)]
    if (location / "mnist.npz").is_file():
        return _read_npz(location / "mnist.npz")
    missing = ", ".join(f"{part.idx_name}[.gz]" for part, file in zip(PARTS, idx_files) if not file)
    looked.append(f"{location}: no mnist.npz, and missing {missing}")
    return None


def _find_idx_file(directory, part):
    for name in (part.idx_name, part.idx_name + ".gz"):
        if (directory / name).is_file():
            return directory / name
    return None


def _read_idx(file, part):
    """Read and verify one IDX file, gzipped or not."""
    content = file.read_bytes()
    if file.suffix == ".gz":
        content = _gunzip(content, file)
    return _parse_idx(content, part, file)


def _gunzip(compressed, source):
    try:
        return gzip.decompress(compressed)
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise ValueError(f"{source}: not a complete gzip file ({error})") from None


def _parse_idx(content, part, source):
    """Check an IDX file's header, size and SHA-256, then return its data as an array.

    IDX format: two zero bytes, a type code (0x08 = unsigned byte), the number of dimensions,
    then each dimension as a big-endian uint32, then the data in C order.
    """
    ndim = len(part.shape)
    header_size = 4 + 4 * ndim
    expected_magic = 0x0800 + ndim
    magic = int.from_bytes(content[:4], "big")
    if len(content) >= 4 and magic != expected_magic:
        raise ValueError(f"{source}: IDX magic number 0x{magic:08x}, expected 0x{expected_magic:08x} "
                         f"(unsigned bytes, {ndim} dimensions) for {part.idx_name}")
    if len(content) < header_size:
        raise ValueError(f"{source}: {len(content)} bytes, too short for the IDX header of "
                         f"{part.idx_name} ({header_size} bytes)")
    shape = struct.unpack(f">{ndim}I", content[4:header_size])
    if shape != part.shape:
        raise ValueError(f"{source}: IDX header gives shape {shape}, expected {part.shape} "
                         f"for {part.idx_name}")
    expected_size = header_size + int(np.prod(shape))
    if len(content) != expected_size:
        raise ValueError(f"{source}: {len(content)} bytes of IDX content, expected "
                         f"{expected_size} (truncated, or data appended?)")
    digest = hashlib.sha256(content).hexdigest()
    if digest != part.sha256:
        raise ValueError(f"{source}: content SHA-256 is {digest}, expected {part.sha256} "
                         f"for {part.idx_name} (the file is altered or corrupted)")
    # np.frombuffer is a zero-copy view of read-only bytes; copy so the arrays are writable, as
    # in Keras (learners shuffle or normalize them in place).
    return np.frombuffer(content, np.uint8, offset=header_size).reshape(shape).copy()


def _read_npz(file):
    """Read Keras's ``mnist.npz`` format, checking keys, shapes, dtypes and the label range.

    There is no published hash of the arrays inside an .npz, so unlike the IDX files its content
    cannot be verified here; only Keras's own cached file is checked against its file hash.
    """
    try:
        loaded = np.load(file, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise ValueError("it holds a single array, not named arrays")
        with loaded:
            found = {key: loaded[key] for key in loaded.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise ValueError(f"{file}: not a readable .npz file ({error})") from None
    arrays = []
    for part in PARTS:
        if part.npz_key not in found:
            raise ValueError(f"{file}: no array {part.npz_key!r}; expected keys "
                             f"{[p.npz_key for p in PARTS]}, found {sorted(found)}")
        array = found[part.npz_key]
        if array.dtype != np.uint8 or array.shape != part.shape:
            raise ValueError(f"{file}: {part.npz_key} is {array.dtype} of shape {array.shape}, "
                             f"expected uint8 of shape {part.shape}")
        arrays.append(array)
    for labels in arrays[1::2]:
        if labels.size and labels.max() >= NUM_CLASSES:
            raise ValueError(f"{file}: label {labels.max()} found, expected labels 0 to {NUM_CLASSES - 1}")
    return arrays


def _check_file_sha256(file, expected):
    digest = hashlib.sha256(file.read_bytes()).hexdigest()
    if digest != expected:
        raise ValueError(f"{file}: SHA-256 is {digest}, expected {expected} (the file is altered "
                         "or corrupted; delete it to let it be found elsewhere or downloaded)")


class DownloadError(OSError):
    """No mirror delivered a verified file."""


def _load_tinynet_cache(cache_dir, looked):
    """Read the four .gz files from tinynet's cache, downloading those missing or bad."""
    arrays = []
    for part in PARTS:
        cached = cache_dir / (part.idx_name + ".gz")
        problem = None
        if cached.is_file():
            try:
                arrays.append(_read_idx(cached, part))
                continue
            except ValueError as error:
                problem = error
                warnings.warn(f"{error}; downloading it again", stacklevel=3)
        try:
            arrays.append(_download(part, cache_dir))
        except DownloadError as failure:
            if problem is not None:
                raise ValueError(f"{problem}; downloading it again failed:\n{failure}") from None
            looked.append(f"{cache_dir}: missing {cached.name}")
            raise FileNotFoundError(_not_found_message(looked, failure)) from None
    return arrays


def _download(part, cache_dir):
    """Fetch ``<idx_name>.gz`` from the first mirror that delivers verified content; cache it."""
    filename = part.idx_name + ".gz"
    failures = []
    for mirror in MIRRORS:
        url = mirror + filename
        try:
            compressed = _fetch(url, filename)
            array = _parse_idx(_gunzip(compressed, url), part, url)
        except (OSError, http.client.HTTPException, ValueError) as error:
            failures.append(f"  {url}: {error}")
            continue
        # Only verified bytes reach the cache, and atomically: an interrupted or corrupted
        # download never leaves a file there.
        cache_dir.mkdir(parents=True, exist_ok=True)
        with atomic_write(cache_dir / filename) as file:
            file.write(compressed)
        return array
    raise DownloadError("\n".join(failures))


def _fetch(url, label):
    """Download ``url`` into memory (at most ~10 MB here), drawing a progress bar on stderr."""
    chunks, received = [], 0
    try:
        with urlopen(url, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response:
            total = int(response.headers.get("Content-Length") or 0)
            while chunk := response.read(1 << 16):
                chunks.append(chunk)
                received += len(chunk)
                _draw_progress(label, received, total)
    finally:
        if received:  # end the progress line, even when the download broke off
            sys.stderr.write("\n")
    return b"".join(chunks)


def _draw_progress(label, received, total, width=30):
    if total:
        fraction = min(received / total, 1.0)
        filled = int(width * fraction)
        bar = f"[{'#' * filled}{'.' * (width - filled)}] {int(100 * fraction):3d}%"
    else:  # the server did not say how big the file is
        bar = f"{received / 1e6:.1f} MB"
    sys.stderr.write(f"\rDownloading {label} {bar}")
    sys.stderr.flush()


def _not_found_message(looked, download_failure=None):
    lines = ["MNIST not found. Looked in:"] + [f"  - {place}" for place in looked]
    if download_failure is not None:
        lines += ["and downloading it failed:", str(download_failure)]
    names = ", ".join(part.idx_name + ".gz" for part in PARTS)
    lines += [
        "To provide it: download the four files " + names + f" from {MIRRORS[0]}",
        "into a directory, then set the environment variable TINYNET_DATA_DIR to that directory",
        "or call mnist.load_data(path=that_directory); an .npz in Keras's format also works.",
    ]
    return "\n".join(lines)
