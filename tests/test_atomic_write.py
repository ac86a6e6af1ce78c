"""atomic_write and save_npz_atomic: the target holds its old content or the new, never half."""

import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from tinynet.utils.files import atomic_write, save_npz_atomic

REPO_ROOT = Path(__file__).resolve().parent.parent
OLD = b"old content\n"


def temporary_files(directory):
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_writes_new_content_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(OLD)
    with atomic_write(target) as file:
        file.write(b"new ")
        file.write(b"content")
    assert target.read_bytes() == b"new content"
    assert temporary_files(tmp_path) == []


def test_text_mode_writes_utf8(tmp_path):
    target = tmp_path / "notes.txt"
    with atomic_write(str(target), "w") as file:
        file.write("poids \u2713")
    assert target.read_bytes() == "poids \u2713".encode("utf-8")


def test_temporary_file_is_beside_the_target_until_the_end(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(OLD)
    with atomic_write(target) as file:
        file.write(b"half")
        file.flush()
        assert target.read_bytes() == OLD  # the target is untouched while writing
        (name,) = temporary_files(tmp_path)
        assert name.startswith(".out.bin.")
    assert target.read_bytes() == b"half"


@pytest.mark.parametrize("error", [ValueError("boom"), KeyboardInterrupt()])
@pytest.mark.parametrize("had_old_file", [True, False])
def test_exception_in_body_keeps_old_content(tmp_path, error, had_old_file):
    target = tmp_path / "out.bin"
    if had_old_file:
        target.write_bytes(OLD)
    with pytest.raises(type(error)):
        with atomic_write(target) as file:
            file.write(b"partial new content")
            raise error
    if had_old_file:
        assert target.read_bytes() == OLD
    else:
        assert not target.exists()
    assert temporary_files(tmp_path) == []


@pytest.mark.skipif(os.name != "posix", reason="file permission bits are POSIX")
def test_keeps_permissions_of_replaced_file_and_default_for_new(tmp_path):
    existing = tmp_path / "shared.bin"
    existing.write_bytes(OLD)
    existing.chmod(0o640)
    with atomic_write(existing) as file:
        file.write(b"x")
    assert stat.S_IMODE(existing.stat().st_mode) == 0o640

    reference = tmp_path / "reference.bin"
    reference.write_bytes(b"x")  # an ordinary open() applies the umask
    new = tmp_path / "new.bin"
    with atomic_write(new) as file:
        file.write(b"x")
    assert stat.S_IMODE(new.stat().st_mode) == stat.S_IMODE(reference.stat().st_mode)


def test_bad_arguments_are_refused_before_writing(tmp_path):
    with pytest.raises(ValueError, match="mode must be one of"):
        with atomic_write(tmp_path / "out.bin", "ab"):
            pass
    with pytest.raises(FileNotFoundError, match="does not exist"):
        with atomic_write(tmp_path / "missing_dir" / "out.bin"):
            pass
    with pytest.raises(IsADirectoryError, match="is a directory"):
        with atomic_write(tmp_path):
            pass
    assert list(tmp_path.iterdir()) == []


# The child writes 64 MiB in 64 KiB chunks, slowly, so the parent can interrupt it mid-write.
CHILD_WRITER = textwrap.dedent("""
    import signal, sys, time
    from tinynet.utils.files import atomic_write
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored
    with atomic_write(sys.argv[1]) as file:
        for _ in range(1024):
            file.write(b"n" * 65536)
            file.flush()
            time.sleep(0.01)
""")


def interrupt_child_mid_write(target, signal_number):
    """Start a child writing ``target`` atomically; send it ``signal_number`` once 1 MiB is written."""
    environment = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    child = subprocess.Popen([sys.executable, "-c", CHILD_WRITER, str(target)], env=environment)
    try:
        deadline = time.monotonic() + 60
        while True:
            temporaries = [target.parent / name for name in temporary_files(target.parent)]
            if temporaries and temporaries[0].stat().st_size >= 1 << 20:
                break
            assert child.poll() is None, "the child writer exited before it could be interrupted"
            assert time.monotonic() < deadline, "the child writer never got going"
            time.sleep(0.01)
        child.send_signal(signal_number)
        return child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
@pytest.mark.parametrize("had_old_file", [True, False])
def test_process_killed_mid_write_never_leaves_a_partial_target(tmp_path, had_old_file):
    target = tmp_path / "weights.bin"
    if had_old_file:
        target.write_bytes(OLD)
    returncode = interrupt_child_mid_write(target, signal.SIGKILL)
    assert returncode == -signal.SIGKILL
    if had_old_file:
        assert target.read_bytes() == OLD
    else:
        assert not target.exists()
    # SIGKILL gives no chance to clean up: the half-written temporary file is what remains.
    (leftover,) = temporary_files(tmp_path)
    assert 0 < (tmp_path / leftover).stat().st_size < 1024 * 65536


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_ctrl_c_mid_write_keeps_old_file_and_cleans_up(tmp_path):
    target = tmp_path / "weights.bin"
    target.write_bytes(OLD)
    returncode = interrupt_child_mid_write(target, signal.SIGINT)
    assert returncode != 0  # the KeyboardInterrupt propagated out of the child
    assert target.read_bytes() == OLD
    assert temporary_files(tmp_path) == []


def test_save_npz_atomic_round_trips_to_the_exact_path(tmp_path):
    arrays = {
        "dense/kernel": np.arange(6, dtype=np.float32).reshape(2, 3),
        "file": np.array([1, 2, 3], dtype=np.int64),  # a name np.savez(**arrays) could not take
    }
    target = tmp_path / "model.weights"  # no .npz suffix gets added
    save_npz_atomic(target, arrays)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.weights"]
    with np.load(target) as loaded:
        assert sorted(loaded.files) == sorted(arrays)
        for name, array in arrays.items():
            assert loaded[name].dtype == array.dtype
            np.testing.assert_array_equal(loaded[name], array)


def test_save_npz_atomic_refuses_bad_input_and_keeps_old_file(tmp_path):
    target = tmp_path / "model.weights"
    target.write_bytes(OLD)
    with pytest.raises(TypeError, match="dict"):
        save_npz_atomic(target, [np.zeros(2)])
    with pytest.raises(TypeError, match="non-empty strings"):
        save_npz_atomic(target, {0: np.zeros(2)})
    with pytest.raises(ValueError):  # object arrays would need pickle to load
        save_npz_atomic(target, {"a": np.array([{"x": 1}], dtype=object)})
    assert target.read_bytes() == OLD
    assert temporary_files(tmp_path) == []
