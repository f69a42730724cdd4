"""DTensor support for fastinit.torch: each rank fills its local shard with exactly its part of the
global fill.

A DTensor's local shard is one N-D block of the global tensor (for ``Shard(d)`` and ``Replicate()``
placements on meshes of any rank, even or uneven splits).  The block's global offsets come from
``DTensor.__create_chunk_list__()``, the chunk protocol DTensor implements for
``torch.distributed.checkpoint`` (it returns public ``ChunkStorageMetadata(offsets, sizes)``
records); the values come from ``fastinit.fill_block`` with the global shape, so fans and
structure (eye, dirac, orthogonal, sparse) are those of the global tensor and the shards of all
ranks put together equal the single-process fill bit for bit.  No communication happens: every
rank computes its own block, from the seed every rank drew identically from torch's generator.
"""
from __future__ import annotations

import sys

import torch

from .blocks import fill_block
from .registry import Scheme


def is_dtensor(tensor) -> bool:
    """True for a torch.distributed.tensor.DTensor (without importing torch.distributed when no
    DTensor can exist yet)."""
    module = sys.modules.get("torch.distributed.tensor")
    return module is not None and isinstance(tensor, module.DTensor)


def local_block(dt) -> tuple[slice, ...]:
    """The index (one slice per dimension) of this rank's local shard in the global tensor.

    Raises ValueError for placements whose local shard is not one block: ``Partial`` (the local
    tensor holds a summand, not values) and strided shardings (``_StridedShard``, e.g. FSDP2 on
    top of tensor parallelism sharding the same dimension)."""
    from torch.distributed.tensor import Partial, Replicate, Shard

    for mesh_dim, placement in enumerate(dt.placements):
        if isinstance(placement, Partial):
            raise ValueError(
                f"fastinit.torch cannot fill a DTensor with a Partial placement ({placement} on mesh dimension "
                f"{mesh_dim}): its local tensors are summands of the value, not parts of it. Fill it as "
                "Replicate() or Shard(d) (e.g. dt.redistribute(placements=...)) and accepted placements are "
                "Shard(d) and Replicate()")
        if type(placement) not in (Shard, Replicate):
            raise ValueError(
                f"fastinit.torch fills DTensors placed with Shard(d) and Replicate(); got {placement!r} on mesh "
                f"dimension {mesh_dim}, whose local shard is not one block of the global tensor")
    chunks = dt.__create_chunk_list__()
    if len(chunks) != 1:
        raise ValueError(f"expected one local chunk per rank for a DTensor; got {len(chunks)}")
    offsets, sizes = tuple(chunks[0].offsets), tuple(chunks[0].sizes)
    with torch.no_grad():
        local_shape = tuple(dt.to_local().shape)
    if sizes != local_shape:
        raise RuntimeError(f"DTensor chunk sizes {sizes} differ from its local tensor's shape {local_shape}")
    return tuple(slice(o, o + s) for o, s in zip(offsets, sizes))


def fill(dt, rec: Scheme, params: dict):
    """Fill DTensor ``dt`` in place with scheme ``rec``: its local shard gets exactly its block of
    the global fill (``params`` carry ``seed=`` for random schemes, drawn on every rank alike).
    Validates everything before writing; a bad value raises fastinit.torch.ArgumentError."""
    from .torch import ArgumentError, _array   # fastinit.torch's one torch <-> numpy view rule

    params = dict(params)
    seed = params.pop("seed", None)
    index = local_block(dt)
    global_shape = tuple(dt.shape)
    with torch.no_grad():
        local = dt.to_local()
        in_place = local.device.type == "cpu" and local.is_contiguous() and not local.is_neg()
        work = local.detach() if in_place else torch.empty(local.shape, dtype=local.dtype, device="cpu")
        arr, dtype = _array(work)
        try:
            fill_block(arr, rec.name, global_shape, index, seed=seed, dtype=dtype, **params)
        except ValueError as error:   # raised before any write
            raise ArgumentError(str(error)) from None
        if not in_place:
            local.copy_(work)
    # written through numpy, which autograd cannot see: bump the version counter, as for tensors
    torch.autograd.graph.increment_version(dt)
    return dt
