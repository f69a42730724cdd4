"""Seeds.

Every fill is a pure function of (seed, stream, index).  ``seed=None`` draws the next seed from a
global generator: seeded from the OS at import, so calls never silently repeat, and
reseeded by :func:`manual_seed`, after which the sequence of ``seed=None`` fills is reproducible
(as ``torch.manual_seed`` makes torch's default generator reproducible).

Forked processes (os.fork, multiprocessing's "fork" start method, torch DataLoader workers) would
inherit the generator's state and repeat the parent's next seeds.  Instead, the parent's k-th fork
hands its child the generator of the k-th child of the parent's seed sequence
(``numpy.random.SeedSequence.spawn``): children never repeat each other or the parent, and after
:func:`manual_seed` they are reproducible too (the same forks in the same order draw the same
seeds), which is what DataLoader workers, forked in worker order, need.
"""
from __future__ import annotations

import os
import threading

import numpy as np

from ._validate import uint64

_lock = threading.Lock()


def _generator(seq: np.random.SeedSequence) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seq))   # = default_rng(seed) for seq = SeedSequence(seed)


_seq = np.random.SeedSequence()  # OS entropy
_rng = _generator(_seq)
_child_seq: np.random.SeedSequence | None = None   # prepared by the parent just before a fork


def manual_seed(seed: int) -> None:
    """Reseed the generator behind ``seed=None``: afterwards the n-th such call gets the n-th value
    of ``numpy.random.default_rng(seed).integers(2**64, dtype=np.uint64)``."""
    global _rng, _seq
    s = uint64("seed", seed)
    with _lock:
        _seq = np.random.SeedSequence(s)
        _rng = _generator(_seq)


def next_seed() -> int:
    """A fresh 64-bit seed from the global generator."""
    with _lock:
        return int(_rng.integers(0, 1 << 64, dtype=np.uint64))


def resolve(seed) -> int:
    return next_seed() if seed is None else uint64("seed", seed)


def _before_fork() -> None:
    global _child_seq
    _lock.acquire()          # no draw half-done across the fork; released on both sides
    _child_seq = _seq.spawn(1)[0]


def _after_fork_in_parent() -> None:
    _lock.release()


def _after_fork_in_child() -> None:
    global _lock, _seq, _rng
    _lock = threading.Lock()
    _seq = _child_seq
    _rng = _generator(_seq)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent,
                        after_in_child=_after_fork_in_child)
