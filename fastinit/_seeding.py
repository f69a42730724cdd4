"""Seeds.

Every fill is a pure function of (seed, stream, index).  ``seed=None`` draws the next seed from a
global generator: seeded from the OS at import, so calls never silently repeat, and
reseeded by :func:`manual_seed`, after which the sequence of ``seed=None`` fills is reproducible
(as ``torch.manual_seed`` makes torch's default generator reproducible).
"""
from __future__ import annotations

import threading

import numpy as np

from ._validate import uint64

_lock = threading.Lock()
_rng = np.random.default_rng()  # OS entropy


def manual_seed(seed: int) -> None:
    """Reseed the generator behind ``seed=None``: afterwards the n-th such call gets the n-th value
    of ``numpy.random.default_rng(seed).integers(2**64, dtype=np.uint64)``."""
    global _rng
    s = uint64("seed", seed)
    with _lock:
        _rng = np.random.default_rng(s)


def next_seed() -> int:
    """A fresh 64-bit seed from the global generator."""
    with _lock:
        return int(_rng.integers(0, 1 << 64, dtype=np.uint64))


def resolve(seed) -> int:
    return next_seed() if seed is None else uint64("seed", seed)
