"""fill_block: fill one N-D block of a whole tensor with exactly its part of the whole fill.

The one core function every adapter uses to fill a shard (dask blocks, torch DTensor shards, JAX
and Keras device blocks): fans and structure come from ``full_shape``, values from
``(seed, stream, global index)``, so the blocks of any partition put together equal
``fastinit.init(full_shape, scheme, seed=seed, ...)`` bit for bit.

A block is a product of index ranges.  Its C-order memory is a set of runs that are contiguous in
the whole tensor's flat order: long runs are filled in place, one kernel call each; short runs (a
block that splits the last dimension into narrow columns) are filled by filling the contiguous
range that spans a batch of them into a bounded temporary and copying the block out of it, so the
cost stays one kernel call per few MiB whatever the number of runs.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from . import _validate as check
from .registry import Scheme, scheme as _scheme

LONG_RUN = 1 << 16        # elements: a run at least this long is filled in place, on its own
SPAN_BUDGET = 1 << 22     # elements of the temporary that covers a batch of short runs


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
    kwargs = rec.resolve(seed, params)
    full = check.shape("full_shape", full_shape, allow_int=False)
    bounds = block_bounds(index, full)
    out, _ = check.out_array(out, dtype)
    block_shape = tuple(hi - lo for lo, hi in bounds)
    if out.shape != block_shape:
        raise ValueError(f"out has shape {out.shape}, but index {index!r} of {full} is a block of shape {block_shape}")
    if rec.whole_tensor:
        whole = rec.fn(np.empty(full, out.dtype), dtype=dtype, **kwargs)
        out[...] = whole[tuple(slice(lo, hi) for lo, hi in bounds)]
        return out
    if out.size == 0:
        # nothing to write, but the parameters are checked here as on every other block (a shard
        # that raises on one rank and not on another would leave a distributed job hanging)
        rec.check(full, out.dtype, kwargs, storage=dtype)
        return out
    fill_runs(rec, out, full, bounds, dtype, kwargs)
    return out


def fill_runs(rec: Scheme, out: np.ndarray, full: tuple[int, ...], bounds, dtype, kwargs: dict) -> None:
    """Fill the C-contiguous block ``out`` at ``bounds`` of ``full`` (validated; trusted here)."""
    starts = [lo for lo, _ in bounds]
    strides = [math.prod(full[d + 1:]) for d in range(len(full))]
    first = sum(s * st for s, st in zip(starts, strides))
    k = len(full)             # dims k.. are covered whole
    while k > 0 and bounds[k - 1] == (0, full[k - 1]):
        k -= 1
    outer = out.shape[:max(k - 1, 0)]   # each index of these dims is one contiguous run
    if math.prod(outer) == 1:
        rec.fn(out.reshape(-1), full_shape=full, offset=first, dtype=dtype, **kwargs)
        return
    run = math.prod(out.shape[k - 1:])
    if run >= LONG_RUN:
        runs = out.reshape(-1, run)
        for r, idx in enumerate(np.ndindex(*outer)):
            start = first + sum(i * st for i, st in zip(idx, strides))
            rec.fn(runs[r], full_shape=full, offset=start, dtype=dtype, **kwargs)
        return
    span = sum((n - 1) * st for n, st in zip(out.shape, strides)) + 1
    if span <= SPAN_BUDGET:
        tmp = np.empty(span, out.dtype)
        rec.fn(tmp, full_shape=full, offset=first, dtype=dtype, **kwargs)
        out[...] = np.lib.stride_tricks.as_strided(tmp, out.shape, [st * tmp.itemsize for st in strides],
                                                   writeable=False)
        return
    # Too wide a span: split the first dimension that has more than one index into batches whose
    # spans fit the budget (a dimension of one index moves the split further in).
    d = next(i for i, n in enumerate(out.shape) if n > 1)
    step = max(1, SPAN_BUDGET // strides[d])
    lead = (slice(None),) * d   # dims of one index: keep them, so the sub-block keeps its rank
    for a in range(0, out.shape[d], step):
        b = min(a + step, out.shape[d])
        sub = list(bounds)
        sub[d] = (bounds[d][0] + a, bounds[d][0] + b)
        fill_runs(rec, out[lead + (slice(a, b),)], full, sub, dtype, kwargs)
