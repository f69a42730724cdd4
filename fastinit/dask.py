"""fastinit.dask: a dask array whose blocks are filled by fastinit's kernels.

Each block is filled at its global location (``block_info``), so ``.compute()`` equals the
single-machine fill bit for bit for any chunking, on any scheduler (threads, processes, a
``dask.distributed`` cluster).  Fans come from the whole shape.  dask is an optional extra
(``pip install 'fastinit[dask]'``); ``import fastinit`` never imports it.
"""
from __future__ import annotations

import itertools
import math
from typing import Sequence

import numpy as np

from . import _validate as check
from .npy import WHOLE_TENSOR, resolve_scheme
from .registry import _alloc_dtype, get


def _fill_block(full_shape, scheme, dtype, kwargs, block_info=None):
    """One block: its C-order memory is a set of runs that are contiguous in the whole tensor."""
    loc = block_info[None]["array-location"]
    out = np.empty(tuple(b - a for a, b in loc), dtype)
    fn = get(scheme)
    if fn in WHOLE_TENSOR:
        whole = fn(np.empty(full_shape, dtype), **kwargs)
        out[...] = whole[tuple(slice(a, b) for a, b in loc)]
        return out
    nd = len(full_shape)
    if out.size == 0:
        return out
    if nd == 0:
        fn(out.reshape(-1), full_shape=full_shape, offset=0, **kwargs)
        return out
    k = nd                      # dims k.. are covered whole by this block
    while k > 0 and tuple(loc[k - 1]) == (0, full_shape[k - 1]):
        k -= 1
    j = max(k - 1, 0)           # each run: dim j's range times all of dims j+1..
    rows = out.reshape(math.prod(out.shape[:j]), -1)
    for r, lead in enumerate(itertools.product(*(range(a, b) for a, b in loc[:j]))):
        start = int(np.ravel_multi_index(lead + (loc[j][0],) + (0,) * (nd - j - 1), full_shape))
        fn(rows[r], full_shape=full_shape, offset=start, **kwargs)
    return out


def init(shape: Sequence[int] | int, scheme: str, *, chunks="auto", seed: int | None = None,
         dtype=np.float32, **params):
    """A ``dask.array.Array`` of ``fastinit.init(shape, scheme, dtype=dtype, seed=seed, **params)``.

    ``seed=None`` draws one fresh seed now, so the graph is deterministic.  The array's name is a
    ``dask.base.tokenize`` of every argument.  Chunk along rows for speed: a block that splits the
    last dimension is filled one row segment at a time.  orthogonal/sparse compute the whole
    tensor in every block (they are not meant for distributed tables)."""
    import dask.array as da
    from dask.base import tokenize

    shape = check.shape("shape", shape)
    dt = _alloc_dtype(dtype)
    fn, kwargs = resolve_scheme(scheme, seed, params)
    if math.prod(shape) and fn not in WHOLE_TENSOR:   # surface bad parameters now, not on a worker
        fn(np.empty(1, dt), full_shape=shape, offset=0, **kwargs)
    chunks = da.core.normalize_chunks(chunks, shape, dtype=dt)
    name = "fastinit-" + tokenize(shape, scheme, chunks, dt.str, dt.name, sorted(kwargs.items()))
    # (non-array arguments of map_blocks are passed through to every block as they are)
    return da.map_blocks(_fill_block, shape, scheme, dt, kwargs, chunks=chunks, dtype=dt, name=name,
                         meta=np.empty((0,) * len(shape), dt))
