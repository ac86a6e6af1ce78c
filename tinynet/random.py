"""The random numbers tinynet draws: one seeded NumPy generator on the host.

Weight initialisation, shuffling and dropout masks all draw from :func:`generator`, so
``tinynet.utils.set_random_seed(s)`` makes a whole run repeat bit for bit on the CPU.
"""

import random

import numpy as np

_generator = np.random.default_rng()


def generator():
    """The generator every random choice in tinynet comes from."""
    return _generator


def set_seed(seed):
    """Seed tinynet's generator, and Python's and NumPy's global ones, as Keras's ``set_random_seed`` does."""
    global _generator
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"The random seed must be a non-negative integer; got {seed!r}.")
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)
    _generator = np.random.default_rng(int(seed))
