"""Writing files atomically: a reader sees the old file or the new one, never half of one.

Writing straight onto ``path`` truncates it first, so a crash, a full disk or a Ctrl-C in the middle
leaves a half-written file where the good one used to be (for example, weights saved during a long
training run). Instead we write everything to a temporary file next to ``path``, push it to the disk
with ``os.fsync``, and only then ``os.replace`` it onto ``path``. That rename is atomic on POSIX and
Windows when both names are in the same directory, which is why the temporary file lives there.
"""

import contextlib
import os
import tempfile
import zipfile

import numpy as np

_WRITE_MODES = ("w", "wt", "wb")


@contextlib.contextmanager
def atomic_write(path, mode="wb"):
    """Open a temporary file for writing that replaces ``path`` only when the ``with`` body succeeds.

    Usage::

        with atomic_write("weights.bin") as file:
            file.write(data)

    ``mode`` is ``"wb"`` (bytes) or ``"w"``/``"wt"`` (text, UTF-8). On a clean exit the file is
    flushed, fsynced, closed and renamed onto ``path``; on any exception, ``KeyboardInterrupt``
    included, the temporary file is removed and the exception re-raised, so ``path`` keeps its
    old content (or stays absent). A process killed outright (SIGKILL, power loss) cannot clean
    up, so it may leave a ``.<name>.*.tmp`` file beside ``path`` -- but ``path`` itself is intact.
    """
    if mode not in _WRITE_MODES:
        raise ValueError(f"atomic_write mode must be one of {_WRITE_MODES}, got {mode!r}")
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"cannot write {path!r}: directory {directory!r} does not exist")
    if os.path.isdir(path):
        raise IsADirectoryError(f"cannot write {path!r}: it is a directory, expected a file path")

    permissions = _permissions_for(path)
    fd, temporary_path = tempfile.mkstemp(
        prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory
    )
    try:
        encoding = None if "b" in mode else "utf-8"
        with os.fdopen(fd, mode, encoding=encoding) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary_path, permissions)
        os.replace(temporary_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary_path)
        raise
    _fsync_directory(directory)


def save_npz_atomic(path, arrays):
    """Write ``arrays`` (a dict of name -> array) to ``path`` as a NumPy ``.npz``, atomically.

    The file is written to exactly ``path``: unlike ``np.savez("weights")``, no ``.npz`` suffix is
    added, so ``save_weights("model.weights")`` creates ``model.weights``, as in Keras.
    Read it back with ``np.load(path)``: an ``.npz`` is a zip archive holding one ``<name>.npy``
    per array, which is what we write here (``np.savez`` itself would reserve the names ``file``
    and ``allow_pickle`` for its own arguments). Arrays of Python objects are refused, because
    loading them would need pickle, which can run arbitrary code.
    """
    if not isinstance(arrays, dict):
        raise TypeError(f"arrays must be a dict of name -> array, got {type(arrays).__name__}")
    for name in arrays:
        if not isinstance(name, str) or not name:
            raise TypeError(f"array names must be non-empty strings, got {name!r}")
    with atomic_write(path, "wb") as file, zipfile.ZipFile(file, mode="w") as archive:
        for name, array in arrays.items():
            # force_zip64 lets a single array exceed 2 GiB, as np.savez allows.
            with archive.open(f"{name}.npy", mode="w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)


def load_npz(path, what, writer):
    """Every array of the ``.npz`` at ``path`` as a dict, with a clear error when there is no file
    or it is not an archive ``writer`` could have written (``what``: "weights file"...). No pickle."""
    path = os.fspath(path)  # messages show 'w.npz', not PosixPath('w.npz')
    if not os.path.exists(path):
        raise FileNotFoundError(f"No {what} at {path!r}.")
    try:
        with np.load(path, allow_pickle=False) as saved:
            return {key: saved[key] for key in saved.files}
    except (OSError, ValueError, TypeError, AttributeError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(f"{path!r} is not a {what} written by {writer} (an .npz archive): {error}") from None


def _permissions_for(path):
    """Permission bits for the new file: those of the file it replaces, else 0o666 minus the umask.

    ``mkstemp`` creates files readable by their owner only; without this, every save would quietly
    make the file private.
    """
    try:
        return os.stat(path).st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)  # reading the umask means setting it; put it straight back
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_directory(directory):
    """Make the rename itself durable by syncing the directory entry (POSIX only; a no-op elsewhere)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # Windows cannot open a directory as a file
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse to fsync a directory
        pass
    finally:
        os.close(fd)
