"""The MNIST loader: where it looks, in which order, and how it verifies what it finds.

Most tests use a tiny MNIST written here (a few 4x4 images) and swap the loader's table of
expected shapes and hashes for it. The tests marked ``mnist`` load the real files from
``$TINYNET_DATA_DIR``.
"""

import gzip
import hashlib
import io
import struct
import urllib.error

import numpy as np
import pytest

from tinynet.datasets import mnist

NAMES = [part.idx_name for part in mnist.PARTS]
KEYS = [part.npz_key for part in mnist.PARTS]


def idx_bytes(array):
    """Encode ``array`` (uint8) as an IDX file: magic 0x00 0x00 0x08 ndim, big-endian dims, data."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


class TinyMnist:
    """Four small arrays shaped like MNIST's, with writers for every format the loader reads."""

    def __init__(self):
        rng = np.random.default_rng(0)
        self.arrays = [
            rng.integers(0, 256, size=(6, 4, 4), dtype=np.uint8),
            rng.integers(0, 10, size=6, dtype=np.uint8),
            rng.integers(0, 256, size=(3, 4, 4), dtype=np.uint8),
            rng.integers(0, 10, size=3, dtype=np.uint8),
        ]
        self.parts = tuple(
            mnist.Part(name, key, array.shape, hashlib.sha256(idx_bytes(array)).hexdigest())
            for name, key, array in zip(NAMES, KEYS, self.arrays)
        )

    def gz(self, index):
        return gzip.compress(idx_bytes(self.arrays[index]))

    def write_idx(self, directory, compressed=(True, True, True, True)):
        directory.mkdir(parents=True, exist_ok=True)
        for index, (name, gz) in enumerate(zip(NAMES, compressed)):
            if gz:
                (directory / f"{name}.gz").write_bytes(self.gz(index))
            else:
                (directory / name).write_bytes(idx_bytes(self.arrays[index]))
        return directory

    def write_npz(self, file, marker=None, **replaced):
        """Write Keras's format; ``marker`` goes into x_train[0, 0, 0] to tell files apart."""
        arrays = dict(zip(KEYS, (array.copy() for array in self.arrays)))
        if marker is not None:
            arrays["x_train"][0, 0, 0] = marker
        arrays.update(replaced)
        file.parent.mkdir(parents=True, exist_ok=True)
        np.savez(file, **arrays)
        return file

    def assert_loaded(self, result, marker=None):
        (x_train, y_train), (x_test, y_test) = result
        expected = [array.copy() for array in self.arrays]
        if marker is not None:
            expected[0][0, 0, 0] = marker
        for got, want in zip((x_train, y_train, x_test, y_test), expected):
            assert got.dtype == np.uint8
            np.testing.assert_array_equal(got, want)


class FakeNetwork:
    """Stands in for urllib's urlopen: serves bytes per URL, or fails like an unreachable host."""

    def __init__(self, files=None):
        self.files = files or {}
        self.requests = []

    def urlopen(self, url, timeout=None):
        self.requests.append((url, timeout))
        if url not in self.files:
            raise urllib.error.URLError("network unreachable")
        response = io.BytesIO(self.files[url])
        response.headers = {"Content-Length": str(len(self.files[url]))}
        return response


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """A fresh home directory (so no real cache is seen) and no network."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    network = FakeNetwork()
    monkeypatch.setattr(mnist, "urlopen", network.urlopen)
    return network


@pytest.fixture
def tiny(monkeypatch):
    data = TinyMnist()
    monkeypatch.setattr(mnist, "PARTS", data.parts)
    monkeypatch.delenv("TINYNET_DATA_DIR", raising=False)
    return data


def keras_cache(tmp_path):
    return tmp_path / "home" / ".keras" / "datasets" / "mnist.npz"


def tinynet_cache(tmp_path):
    return tmp_path / "home" / ".tinynet" / "datasets" / "mnist"


def serve_from_mirror(network, tiny, mirror, altered=()):
    for index, name in enumerate(NAMES):
        content = idx_bytes(tiny.arrays[index])
        if index in altered:
            content = content[:-1] + bytes([content[-1] ^ 0xFF])
        network.files[mirror + name + ".gz"] = gzip.compress(content)


# ---- formats -------------------------------------------------------------------------------------

@pytest.mark.parametrize("compressed", [(True,) * 4, (False,) * 4, (True, False, False, True)])
def test_reads_idx_directory_gzipped_or_not(tiny, tmp_path, compressed):
    directory = tiny.write_idx(tmp_path / "data", compressed)
    result = mnist.load_data(path=directory)
    tiny.assert_loaded(result)
    assert result[0][0].flags.writeable  # like Keras's arrays, so they can be shuffled in place


def test_reads_npz_file_and_directory_with_mnist_npz(tiny, tmp_path):
    npz = tiny.write_npz(tmp_path / "data" / "mnist.npz")
    tiny.assert_loaded(mnist.load_data(path=npz))
    tiny.assert_loaded(mnist.load_data(path=str(npz.parent)))


def test_idx_files_are_preferred_to_mnist_npz_in_the_same_directory(tiny, tmp_path):
    directory = tiny.write_idx(tmp_path / "data")
    tiny.write_npz(directory / "mnist.npz", marker=1)
    tiny.assert_loaded(mnist.load_data(path=directory))


# ---- search order --------------------------------------------------------------------------------

def test_search_order(tiny, tmp_path, monkeypatch, isolated):
    explicit = tiny.write_npz(tmp_path / "explicit" / "mnist.npz", marker=1)
    tiny.write_npz(tmp_path / "env" / "mnist.npz", marker=2)
    monkeypatch.setenv("TINYNET_DATA_DIR", str(tmp_path / "env"))
    keras_file = tiny.write_npz(keras_cache(tmp_path), marker=3)
    monkeypatch.setattr(mnist, "KERAS_NPZ_SHA256", hashlib.sha256(keras_file.read_bytes()).hexdigest())
    tiny.write_idx(tinynet_cache(tmp_path))
    serve_from_mirror(isolated, tiny, mnist.MIRRORS[0])

    tiny.assert_loaded(mnist.load_data(path=explicit), marker=1)
    tiny.assert_loaded(mnist.load_data(), marker=2)
    monkeypatch.delenv("TINYNET_DATA_DIR")
    tiny.assert_loaded(mnist.load_data(), marker=3)
    keras_file.unlink()
    tiny.assert_loaded(mnist.load_data())
    assert isolated.requests == []  # tinynet's cache was complete: no download
    for file in tinynet_cache(tmp_path).iterdir():
        file.unlink()
    tiny.assert_loaded(mnist.load_data())
    assert [url for url, _ in isolated.requests] == [mnist.MIRRORS[0] + n + ".gz" for n in NAMES]


def test_data_dir_mnist_subdirectory(tiny, tmp_path, monkeypatch):
    tiny.write_idx(tmp_path / "datasets" / "mnist")
    monkeypatch.setenv("TINYNET_DATA_DIR", str(tmp_path / "datasets"))
    tiny.assert_loaded(mnist.load_data())


def test_explicit_path_without_data_does_not_fall_back(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("TINYNET_DATA_DIR", str(tiny.write_idx(tmp_path / "env")))
    partial = tmp_path / "partial"
    tiny.write_idx(partial)
    (partial / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match=r"missing t10k-labels-idx1-ubyte\[\.gz\]"):
        mnist.load_data(path=partial)
    with pytest.raises(FileNotFoundError, match="no such file or directory"):
        mnist.load_data(path=tmp_path / "nowhere")
    with pytest.raises(ValueError, match="expected a directory holding the MNIST files or an .npz"):
        mnist.load_data(path=tmp_path / "env" / "train-images-idx3-ubyte.gz")


def test_not_found_lists_every_place_and_how_to_fix_it(tiny, tmp_path, monkeypatch, isolated):
    monkeypatch.setenv("TINYNET_DATA_DIR", str(tmp_path / "empty"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError) as raised:
        mnist.load_data()
    message = str(raised.value)
    for place in [tmp_path / "empty", tmp_path / "empty" / "mnist", keras_cache(tmp_path),
                  tinynet_cache(tmp_path), *(m + NAMES[0] + ".gz" for m in mnist.MIRRORS)]:
        assert str(place) in message
    assert "TINYNET_DATA_DIR" in message and "path=" in message
    assert all(timeout for _, timeout in isolated.requests)  # downloads never wait forever
    assert not tinynet_cache(tmp_path).exists()


# ---- verification --------------------------------------------------------------------------------

def corrupt_images(tiny, directory, how):
    file = directory / "train-images-idx3-ubyte"
    content = idx_bytes(tiny.arrays[0])
    if how == "truncated":
        content = content[:-5]
    elif how == "altered":
        content = content[:-1] + bytes([content[-1] ^ 1])
    elif how == "labels instead of images":
        content = idx_bytes(tiny.arrays[1])
    elif how == "wrong dimensions":
        content = idx_bytes(tiny.arrays[0].reshape(6, 2, 8))
    elif how == "not unsigned bytes":
        content = content[:2] + b"\x0d" + content[3:]
    (directory / "train-images-idx3-ubyte.gz").unlink()
    file.write_bytes(content)
    return file


@pytest.mark.parametrize("how, expected", [
    ("truncated", "expected 112 .*truncated"),
    ("altered", "content SHA-256 is .*expected"),
    ("labels instead of images", "magic number 0x00000801, expected 0x00000803"),
    ("wrong dimensions", r"shape \(6, 2, 8\), expected \(6, 4, 4\)"),
    ("not unsigned bytes", "magic number 0x00000d03"),
])
def test_bad_idx_file_is_rejected_naming_it(tiny, tmp_path, how, expected):
    directory = tiny.write_idx(tmp_path / "data")
    bad = corrupt_images(tiny, directory, how)
    with pytest.raises(ValueError, match=expected) as raised:
        mnist.load_data(path=directory)
    assert str(bad) in str(raised.value)


def test_truncated_gzip_is_rejected_naming_it(tiny, tmp_path):
    directory = tiny.write_idx(tmp_path / "data")
    bad = directory / "t10k-images-idx3-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:-10])
    with pytest.raises(ValueError, match="not a complete gzip file") as raised:
        mnist.load_data(path=directory)
    assert str(bad) in str(raised.value)


@pytest.mark.parametrize("replaced, expected", [
    ({"y_test": np.array([1, 2, 12], dtype=np.uint8)}, "label 12 found, expected labels 0 to 9"),
    ({"x_test": np.zeros((3, 4, 4), dtype=np.float32)}, "x_test is float32 .*expected uint8"),
    ({"x_train": np.zeros((5, 4, 4), dtype=np.uint8)}, r"shape \(5, 4, 4\), expected .*\(6, 4, 4\)"),
])
def test_bad_npz_is_rejected_naming_it(tiny, tmp_path, replaced, expected):
    npz = tiny.write_npz(tmp_path / "mnist.npz", **replaced)
    with pytest.raises(ValueError, match=expected) as raised:
        mnist.load_data(path=npz)
    assert str(npz) in str(raised.value)


def test_npz_missing_key_or_unreadable_is_rejected(tiny, tmp_path):
    partial = tmp_path / "partial.npz"
    np.savez(partial, x_train=tiny.arrays[0])
    with pytest.raises(ValueError, match="no array 'y_train'"):
        mnist.load_data(path=partial)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"PK\x03\x04 this is not a zip archive")
    with pytest.raises(ValueError, match="not a readable .npz file"):
        mnist.load_data(path=garbage)


def test_keras_cache_with_wrong_file_hash_is_rejected(tiny, tmp_path):
    tiny.write_npz(keras_cache(tmp_path))  # valid arrays, but not Keras's file
    with pytest.raises(ValueError, match="SHA-256 is .*expected " + mnist.KERAS_NPZ_SHA256):
        mnist.load_data()


# ---- tinynet's cache and the download ------------------------------------------------------------

def test_download_fills_the_cache_with_progress(tiny, tmp_path, isolated, capsys):
    serve_from_mirror(isolated, tiny, mnist.MIRRORS[0])
    tiny.assert_loaded(mnist.load_data())
    cache = tinynet_cache(tmp_path)
    assert sorted(p.name for p in cache.iterdir()) == sorted(n + ".gz" for n in NAMES)
    progress = capsys.readouterr().err
    assert "Downloading train-labels-idx1-ubyte.gz" in progress and "100%" in progress
    isolated.files.clear()  # the second load needs no network
    tiny.assert_loaded(mnist.load_data())


def test_download_tries_the_next_mirror_after_failure_or_corruption(tiny, tmp_path, isolated):
    first, second = mnist.MIRRORS
    serve_from_mirror(isolated, tiny, first, altered={0})  # images corrupted, labels fine
    del isolated.files[first + NAMES[1] + ".gz"]  # and the labels unreachable
    serve_from_mirror(isolated, tiny, second)
    tiny.assert_loaded(mnist.load_data())
    urls = [url for url, _ in isolated.requests]
    assert urls[:4] == [first + NAMES[0] + ".gz", second + NAMES[0] + ".gz",
                        first + NAMES[1] + ".gz", second + NAMES[1] + ".gz"]


def test_corrupted_download_is_rejected_and_never_cached(tiny, tmp_path, isolated):
    for mirror in mnist.MIRRORS:
        serve_from_mirror(isolated, tiny, mirror, altered={2})
    with pytest.raises(FileNotFoundError, match="content SHA-256 is .*expected"):
        mnist.load_data()
    cached = sorted(p.name for p in tinynet_cache(tmp_path).iterdir())
    # The two verified files before it stay cached; the corrupted one, and any temporary file, do not.
    assert cached == [NAMES[0] + ".gz", NAMES[1] + ".gz"]


def test_corrupted_cache_entry_is_reported_and_replaced(tiny, tmp_path, isolated):
    cache = tiny.write_idx(tinynet_cache(tmp_path))
    bad = cache / (NAMES[3] + ".gz")
    bad.write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x03abc"))
    serve_from_mirror(isolated, tiny, mnist.MIRRORS[0])
    with pytest.warns(UserWarning, match=f"{bad}.*downloading it again"):
        tiny.assert_loaded(mnist.load_data())
    assert [url for url, _ in isolated.requests] == [mnist.MIRRORS[0] + NAMES[3] + ".gz"]
    assert bad.read_bytes() == tiny.gz(3)


def test_corrupted_cache_entry_without_network_is_an_error(tiny, tmp_path):
    cache = tiny.write_idx(tinynet_cache(tmp_path))
    bad = cache / (NAMES[0] + ".gz")
    bad.write_bytes(bad.read_bytes()[:20])
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="downloading it again failed") as raised:
        mnist.load_data()
    assert str(bad) in str(raised.value)


# ---- the real MNIST ------------------------------------------------------------------------------

@pytest.mark.mnist
def test_real_mnist_shapes_and_dtypes(mnist_data):
    (x_train, y_train), (x_test, y_test) = mnist_data
    assert (x_train.shape, y_train.shape) == ((60000, 28, 28), (60000,))
    assert (x_test.shape, y_test.shape) == ((10000, 28, 28), (10000,))
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    assert set(np.unique(y_train)) == set(range(10))


@pytest.mark.mnist
def test_real_mnist_known_values(mnist_data):
    (x_train, y_train), (x_test, y_test) = mnist_data
    assert (y_train[0], y_train[8], y_test[0]) == (5, 1, 7)
    assert round(float(x_train.mean()), 3) == 33.318
