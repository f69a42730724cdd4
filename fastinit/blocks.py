"""fill_block: fill one N-D block of a whole tensor with exactly its part of the whole fill.

The one core function every adapter uses to fill a shard (dask blocks, torch DTensor shards, JAX
and Keras device blocks): fans and structure come from ``full_shape``, values from
``(seed, stream, global index)``, so the blocks of any partition put together equal
``fastinit.init(full_shape, scheme, seed=seed, ...)`` bit for bit.

How a block is filled (runs of the whole's flat order, a bounded temporary for narrow columns)
is the executor's (fastinit/_executor.py); here are the index checks and the public entry.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from . import _validate as check
from ._executor import Fill
from .registry import scheme as _scheme


def block_bounds(index, full_shape: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    """(start, stop) per dimension from a tuple of slices (step 1; None ends allowed, as JAX's
    ``make_array_from_callback`` passes them) or (start, stop) pairs.  Fewer entries than
    dimensions leave the remaining dimensions whole, as numpy indexing does."""
    if isinstance(index, (slice, range)):
        index = (index,)
    try:
        entries = list(index)
    except TypeError:
        raise TypeError(f"index must be a tuple of slices or (start, stop) pairs; got {index!r}") from None
    if len(entries) > len(full_shape):
        raise ValueError(f"index has {len(entries)} entries for a {len(full_shape)}-D full_shape {full_shape}")
    bounds = []
    for d, n in enumerate(full_shape):
        e = entries[d] if d < len(entries) else slice(None)
        if isinstance(e, slice):
            if e.step not in (None, 1):
                raise ValueError(f"index[{d}] = {e}: blocks take steps of 1 only")
            lo = 0 if e.start is None else check.integer(f"index[{d}].start", e.start, 0, n + 1)
            hi = n if e.stop is None else check.integer(f"index[{d}].stop", e.stop, 0, n + 1)
        elif isinstance(e, range) or (isinstance(e, (tuple, list)) and len(e) == 2):
            if isinstance(e, range) and e.step != 1:
                raise ValueError(f"index[{d}] = {e}: blocks take steps of 1 only")
            lo, hi = (e.start, e.stop) if isinstance(e, range) else e
            lo = check.integer(f"index[{d}] start", lo, 0, n + 1)
            hi = check.integer(f"index[{d}] stop", hi, 0, n + 1)
        else:
            raise TypeError(f"index[{d}] must be a slice or a (start, stop) pair; got {e!r}")
        if lo > hi:
            raise ValueError(f"index[{d}] = [{lo}, {hi}) is empty the wrong way round (start > stop)")
        bounds.append((lo, hi))
    return tuple(bounds)


def fill_block(out: np.ndarray, scheme: str, full_shape: Sequence[int], index, *, seed: int | None = None,
               dtype=None, **params) -> np.ndarray:
    """Fill ``out`` with the block ``index`` of ``fastinit.init(full_shape, scheme, seed=seed, **params)``.

    ``index`` is a tuple of slices (or (start, stop) pairs), one per dimension of ``full_shape``;
    ``out`` is a C-contiguous array of the block's shape (``dtype="bfloat16"`` for uint16 storage,
    as the kernels take it).  Random schemes need an explicit ``seed``: the blocks of one tensor,
    filled anywhere, must share it.  Schemes that need the whole tensor (orthogonal, sparse)
    compute it and keep the block (O(whole) memory).  Returns ``out``.

    >>> whole = fastinit.init((6, 4), "xavier_uniform", seed=0)
    >>> block = fastinit.fill_block(np.empty((3, 2), np.float32), "xavier_uniform", (6, 4),
    ...                             (slice(3, 6), slice(2, 4)), seed=0)
    >>> bool((block == whole[3:6, 2:4]).all())
    True
    """
    rec = _scheme(scheme)
    if rec.random and seed is None:
        raise ValueError(f"fill_block needs an explicit seed for random scheme {scheme!r}: every block of "
                         "one tensor must be filled with the same seed")
    out, fmt = check.out_array(out, dtype)
    fill = rec.prepare(full_shape, fmt, seed=seed, **params)
    return _block(fill, out, index)


def fill_prepared(fill: Fill, out: np.ndarray, index) -> np.ndarray:
    """Fill ``out`` with the block ``index`` of a prepared call (``Scheme.prepare``): what adapters
    use for the many blocks of one tensor, its parameters checked once.  ``out`` is checked here:
    C-contiguous, writable, of the call's format (uint16 storage for bfloat16) and of the block's shape."""
    out, fmt = check.out_array(out, fill.fmt.name if out.dtype == np.uint16 else None)
    if fmt.code != fill.fmt.code:
        raise TypeError(f"out has dtype {out.dtype}, but this fill is of {fill.fmt.name}")
    return _block(fill, out, index)


def _block(fill: Fill, out: np.ndarray, index) -> np.ndarray:
    bounds = block_bounds(index, fill.full)
    block_shape = tuple(hi - lo for lo, hi in bounds)
    if out.shape != block_shape:
        raise ValueError(f"out has shape {out.shape}, but index {index!r} of {fill.full} is a block of shape {block_shape}")
    fill.block(out, bounds)
    return out
