"""The frameworks compare.py runs, each in a process of its own.

A peer is a module with ``versions()`` and ``run_mlp(job, data)`` (and ``run_cnn`` where it has
the layers). ``env`` is set before the process starts, because Keras reads its backend and JAX its
platform at import time.
"""
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Peer:
    module: str
    env: dict = field(default_factory=dict)
    device: str = "cpu"


CPU_ONLY = {"CUDA_VISIBLE_DEVICES": "", "JAX_PLATFORMS": "cpu"}

PEERS = {
    "tinynet": Peer("tinynet_peer"),
    "keras-tf": Peer("keras3", {"KERAS_BACKEND": "tensorflow", **CPU_ONLY}),
    "keras-jax": Peer("keras3", {"KERAS_BACKEND": "jax", **CPU_ONLY}),
    "torch": Peer("torch_eager", CPU_ONLY),
    "sklearn": Peer("sklearn_mlp"),
    "numpy-plain": Peer("numpy_plain"),
    "numpy-tuned": Peer("numpy_tuned"),
    "numpy-tuned-metrics": Peer("numpy_tuned_metrics"),
}

GPU_PEERS = {
    "tinynet-cupy": Peer("tinynet_peer", device="gpu"),
    "torch-cuda": Peer("torch_eager", device="gpu"),
    "keras-jax-gpu": Peer("keras3", {"KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cuda"}, device="gpu"),
}
