"""DTensor support for fastinit.torch: each rank fills its local shard with exactly its part of the
global fill.

Where a rank's shard sits in the global tensor comes from DTensor's public API, so torch's own
placement rules decide it (torch.chunk splits, uneven and empty shards, several mesh dimensions on
one tensor dimension):

- ``DTensor.__create_chunk_list__()``, the chunk protocol DTensor implements for
  ``torch.distributed.checkpoint``, gives the shard's offset and size in every dimension that
  ``Shard(d)`` / ``Replicate()`` placements split into one range.
- A dimension split by another placement that keeps a global dimension's order (``_StridedShard``,
  which FSDP2 puts on top of tensor parallelism) can hold a set of indices that is no range; its
  indices are found by letting ``distribute_tensor(..., src_data_rank=None)`` (local, no
  communication) shard a small tensor holding each global index along that dimension.

The values come from ``fastinit.fill_block`` with the global shape, so fans and structure (eye,
dirac, orthogonal, sparse) are the global tensor's and the shards of all ranks put together equal
the single-process fill bit for bit.  No communication happens: every rank computes its own part,
from the seed every rank drew identically from torch's generator.  ``Partial`` placements (local
tensors are summands, not parts) are refused.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ..blocks import fill_block
from ..registry import Scheme
from ._core import fill_through_numpy


def _check_placements(dt) -> list[int]:
    """Validate dt's placements; the tensor dimensions split by placements other than Shard(d)."""
    from torch.distributed.tensor import Partial, Replicate, Shard

    other_dims = []
    for mesh_dim, placement in enumerate(dt.placements):
        if isinstance(placement, Partial):
            raise ValueError(
                f"fastinit.torch cannot fill a DTensor with a Partial placement ({placement} on mesh dimension "
                f"{mesh_dim}): its local tensors are summands of the value, not parts of it. Accepted placements "
                "are Shard(d) and Replicate() (redistribute it first, e.g. dt.redistribute(placements=[Replicate()]))")
        if type(placement) in (Shard, Replicate):
            continue
        dim = getattr(placement, "dim", None)
        if not isinstance(dim, int):
            raise ValueError(f"fastinit.torch fills DTensors placed with Shard(d) and Replicate(); got {placement!r} "
                             f"on mesh dimension {mesh_dim}")
        other_dims.append(dim % dt.ndim)
    return sorted(set(other_dims))


def _probed_indices(dt, dim: int) -> np.ndarray:
    """The global indices along ``dim`` of this rank's shard, in local order: torch shards a probe
    whose values are their own index along ``dim`` with dt's mesh and placements.  The probe's
    other dimensions are just long enough that every rank's part of them is non-empty (one element
    per chunk of every placement on them), so it stays small."""
    from torch.distributed.tensor import distribute_tensor

    shape = [1] * dt.ndim
    for mesh_dim, placement in enumerate(dt.placements):
        d = getattr(placement, "dim", None)
        if isinstance(d, int) and d % dt.ndim != dim:
            shape[d % dt.ndim] *= dt.device_mesh.size(mesh_dim) * int(getattr(placement, "split_factor", 1))
    shape[dim] = dt.shape[dim]
    along = [1] * dt.ndim
    along[dim] = dt.shape[dim]
    index_dtype = torch.int32 if dt.shape[dim] < 2 ** 31 else torch.int64
    probe = torch.arange(dt.shape[dim], dtype=index_dtype).view(along).expand(shape)
    local = distribute_tensor(probe, dt.device_mesh, dt.placements, src_data_rank=None).to_local()
    if local.numel() == 0:
        return np.arange(0)
    first = tuple(slice(None) if d == dim else 0 for d in range(dt.ndim))
    return local[first].cpu().numpy()


def local_indices(dt) -> list[np.ndarray | range]:
    """Per dimension, the global indices of this rank's local shard, in local order (a range when
    the placements keep that dimension one block)."""
    other_dims = _check_placements(dt)
    if dt.device_mesh.get_coordinate() is None:
        return [range(0, 0)] * dt.ndim   # a rank outside the mesh holds no part of the tensor
    chunks = dt.__create_chunk_list__()
    if len(chunks) != 1:
        raise ValueError(f"expected one local chunk per rank for a DTensor; got {len(chunks)}")
    offsets, sizes = tuple(chunks[0].offsets), tuple(chunks[0].sizes)
    with torch.no_grad():
        local_shape = tuple(dt.to_local().shape)
    if sizes != local_shape:
        raise RuntimeError(f"DTensor chunk sizes {sizes} differ from its local tensor's shape {local_shape}")
    if math.prod(local_shape) == 0:
        # nothing to write (an empty shard's offsets may be placeholders); a valid empty block still
        # lets fill_block check the parameters, as on every other rank
        return [range(0, s) for s in local_shape]
    indices: list[np.ndarray | range] = [range(o, o + s) for o, s in zip(offsets, sizes)]
    for d in other_dims:
        found = _probed_indices(dt, d)
        if len(found) != local_shape[d]:
            raise RuntimeError(f"dimension {d} of the DTensor's local shard has {local_shape[d]} indices, but "
                               f"sharding a probe gave {len(found)}")
        consecutive = len(found) == 0 or bool((np.diff(found) == 1).all())
        indices[d] = range(int(found[0]), int(found[0]) + len(found)) if consecutive and len(found) else found
    return indices


def fill(dt, rec: Scheme, params: dict):
    """Fill DTensor ``dt`` in place with scheme ``rec``: its local shard gets exactly its part of
    the global fill (``params`` carry ``seed=`` for random schemes, drawn on every rank alike).
    Validates everything before writing; a bad value raises fastinit.torch.ArgumentError."""
    params = dict(params)
    seed = params.pop("seed", None)
    indices = local_indices(dt)
    global_shape = tuple(dt.shape)

    def fill_local(arr: np.ndarray, dtype) -> None:
        if all(isinstance(ix, range) for ix in indices):   # one block: Shard / Replicate
            # (an empty block still has fill_block check the parameters, as on the other ranks)
            out = arr if arr.size else np.empty([len(ix) for ix in indices], arr.dtype)
            fill_block(out, rec.name, global_shape, [(ix.start, ix.stop) for ix in indices], seed=seed,
                       dtype=dtype, **params)
        else:
            # the shard is a set of indices on some dimension: fill the block that spans them and
            # keep them (span <= the whole dimension)
            box = [(int(min(ix)), int(max(ix)) + 1) for ix in indices]
            spanned = np.empty([hi - lo for lo, hi in box], arr.dtype)
            fill_block(spanned, rec.name, global_shape, box, seed=seed, dtype=dtype, **params)
            arr[...] = spanned[np.ix_(*[np.asarray(ix) - lo for ix, (lo, _) in zip(indices, box)])]

    with torch.no_grad():
        fill_through_numpy(dt.to_local(), fill_local, version_of=dt)
    return dt
