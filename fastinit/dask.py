"""fastinit.dask: a dask array whose blocks are filled by fastinit's kernels.

Each block is filled at its global location (``block_info``) by one prepared call (``Scheme.prepare``), so
``.compute()`` equals the single-machine fill bit for bit for any chunking, on any scheduler
(threads, processes, a ``dask.distributed`` cluster).  Fans come from the whole shape.  dask is an
optional extra (without it, ``import fastinit.dask`` names the extra to install); ``import
fastinit`` never imports it.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from . import _validate as check
from ._extras import require
from .blocks import fill_prepared
from .registry import _alloc_dtype, scheme as _scheme

require("dask.array", "dask", "fastinit.dask")   # (imported here for the check; used in init)


def _fill_block(fill, dtype, block_info=None):
    loc = block_info[None]["array-location"]
    return fill_prepared(fill, np.empty(tuple(b - a for a, b in loc), dtype), loc)


def init(shape: Sequence[int] | int, scheme: str, *, chunks="auto", seed: int | None = None,
         dtype=np.float32, **params):
    """A ``dask.array.Array`` of ``fastinit.init(shape, scheme, dtype=dtype, seed=seed, **params)``.

    ``seed=None`` draws one fresh seed now, so the graph is deterministic.  The array's name is a
    ``dask.base.tokenize`` of every argument.  Chunk along rows for speed: a block that splits the
    last dimension is filled through a bounded temporary (see ``fastinit.blocks``).
    orthogonal/sparse compute the whole tensor in every block (they are not meant for
    distributed tables)."""
    import dask.array as da
    from dask.base import tokenize

    shape = check.shape("shape", shape)
    dt = _alloc_dtype(dtype)
    fill = _scheme(scheme).prepare(shape, dt, seed=seed, **params)   # bad parameters fail now, not on a worker
    chunks = da.core.normalize_chunks(chunks, shape, dtype=dt)
    name = "fastinit-" + tokenize(shape, scheme, chunks, dt.str, dt.name, tuple(fill.rand or ()), sorted(params.items()))
    # (non-array arguments of map_blocks are passed through to every block as they are)
    return da.map_blocks(_fill_block, fill, dt, chunks=chunks, dtype=dt, name=name,
                         meta=np.empty((0,) * len(shape), dt))
