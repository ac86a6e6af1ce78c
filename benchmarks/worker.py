"""Run one peer on one task in this process and print its measurements as one JSON line.

compare.py starts one of these per framework and repetition, so no framework shares a process
(its threads, allocator or peak memory) with another. Usage: ``python worker.py '<job as JSON>'``.
The last line of stdout is ``RESULT {...}``; a framework that is not installed gives
``{"absent": reason}`` and exit status 0.
"""
import importlib
import json
import resource
import sys

import numpy as np

from mnist_idx import load_mnist
from peers import GPU_PEERS, PEERS
from peers.common import Data, PeerAbsent

RESULT_MARK = "RESULT "


def peak_rss_mib():
    """Largest resident set of this process so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def prepare(task, train_limit):
    """MNIST scaled to [0, 1] float32, flat for the MLP, (28, 28, 1) for the CNN."""
    (x_train, y_train), (x_test, y_test) = load_mnist()
    x_train, y_train = x_train[:train_limit], y_train[:train_limit]
    shape = (-1, 784) if task == "mlp" else (-1, 28, 28, 1)

    def scale(images):
        return images.reshape(shape) / np.float32(255)  # uint8 / float32 is float32, no extra copy

    onehot = np.eye(10, dtype=np.float32)[y_train]
    return Data(scale(x_train), y_train.astype(np.int64), onehot, scale(x_test), y_test.astype(np.int64))


def run(job):
    peer = {**PEERS, **GPU_PEERS}[job["peer"]]
    try:
        module = importlib.import_module(f"peers.{peer.module}")
        runner = getattr(module, f"run_{job['task']}", None)
        if runner is None:
            raise PeerAbsent(f"{job['peer']} has no {job['task']} runner")
        data = prepare(job["task"], job.get("train_limit"))
        before = peak_rss_mib()
        result = runner({**job, "device": peer.device}, data)
    except (ImportError, PeerAbsent) as error:
        return {"absent": f"{type(error).__name__}: {error}"}
    result.update(versions={"numpy": np.__version__, **module.versions()},
                  rss_before_train_mib=before, peak_rss_mib=peak_rss_mib())
    return result


if __name__ == "__main__":
    outcome = run(json.loads(sys.argv[1]))
    print(RESULT_MARK + json.dumps(outcome), flush=True)
