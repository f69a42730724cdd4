"""Host-side JAX plumbing shared by fastinit.jax and fastinit.keras (JAX backend).

* :func:`aligned_empty`: host buffers that XLA's CPU client adopts without a copy;
* :func:`concrete_sharding`: the sharding a caller passes (any ``jax.sharding.Sharding``, a
  ``PartitionSpec`` under ``jax.set_mesh``, a ``NamedSharding`` over an abstract mesh) made concrete;
* :func:`filled`: a ``jax.Array`` holding a registry scheme's fill, whole or built block by block
  (``jax.make_array_from_callback``), each distinct device block filled once by
  one prepared call (``Scheme.prepare``) at its global index, so the value is the same for every sharding.

Imports jax: fastinit.keras imports it only on the JAX backend (torch-backend Keras users must
not pay for, or need, jax).
"""
from __future__ import annotations

import math

import jax
import numpy as np

from .blocks import block_bounds, fill_prepared
from .registry import init as registry_init, scheme as registry_scheme

# XLA's CPU client adopts a host buffer without copying when it is this aligned (numpy's own
# allocations are only 16-byte aligned, and a copy of a 2 GB parameter costs as much as its fill)
HOST_ALIGN = 64


def aligned_empty(shape: tuple[int, ...], dtype) -> np.ndarray:
    """An uninitialized C-contiguous array whose data starts on a HOST_ALIGN-byte boundary."""
    dt = np.dtype(dtype)   # (names such as "bfloat16" too: jax imports ml_dtypes, which registers them)
    nbytes = math.prod(shape) * dt.itemsize
    raw = np.empty(nbytes + HOST_ALIGN, np.uint8)
    start = -raw.ctypes.data % HOST_ALIGN
    return raw[start:start + nbytes].view(dt).reshape(shape)


def host_fill(scheme: str, params: dict, shape: tuple[int, ...], dtype, seed: int | None, *,
              lead: int = 0) -> np.ndarray:
    """``fastinit.init(shape, scheme, seed=seed, **params)`` in an aligned buffer.  ``lead`` unit
    dimensions are put in front of ``shape`` for the scheme (the same elements in the same order;
    fastinit.keras needs them for fan axes on 0-D/1-D shapes) and dropped from the result."""
    out = aligned_empty((1,) * lead + shape, dtype)
    return registry_init(out, scheme, seed=seed, **params).reshape(shape)


def outside_mesh(name: str, spec: jax.sharding.PartitionSpec) -> ValueError:
    """The error for a PartitionSpec given with no jax.set_mesh context to say which mesh it is over."""
    return ValueError(f"{name}={spec} is a PartitionSpec outside a mesh context: enter one with "
                      "jax.set_mesh(mesh), or pass jax.sharding.NamedSharding(mesh, spec)")


def concrete_sharding(value, name: str, accepted: str) -> jax.sharding.Sharding | None:
    """The concrete sharding ``value`` stands for, or None (no sharding, or a NamedSharding over
    an empty mesh): any ``jax.sharding.Sharding``; a ``PartitionSpec`` over the mesh of the
    enclosing ``jax.set_mesh``; a ``NamedSharding`` over an abstract mesh (as Keras 3.15 passes
    it), over the ``jax.set_mesh`` context's concrete mesh of the same axes.  ``name`` and
    ``accepted`` (what the caller may pass, in words) are for the error messages."""
    if value is None:
        return None
    if isinstance(value, jax.sharding.PartitionSpec):
        mesh = jax.sharding.get_mesh()
        if mesh.empty:
            raise outside_mesh(name, value)
        return jax.sharding.NamedSharding(mesh, value)
    if not isinstance(value, jax.sharding.Sharding):
        raise TypeError(f"{name} must be {accepted}; got {value!r}")
    if isinstance(value, jax.sharding.NamedSharding):
        if value.mesh.empty:
            return None
        if isinstance(value.mesh, jax.sharding.AbstractMesh):
            mesh = jax.sharding.get_mesh()
            if mesh.empty or (mesh.axis_names, mesh.axis_sizes) != (value.mesh.axis_names, value.mesh.axis_sizes):
                raise ValueError(f"{name} {value} is over an abstract mesh, and the current jax.set_mesh context "
                                 f"holds no matching concrete mesh (it holds {mesh}); pass a concrete sharding")
            return jax.sharding.NamedSharding(mesh, value.spec)
    return value


def filled(scheme: str, params: dict, shape: tuple[int, ...], dtype, seed: int | None,
           sharding: jax.sharding.Sharding | None = None, *, lead: int = 0) -> jax.Array:
    """A jax.Array equal to :func:`host_fill` bit for bit, with this (concrete) sharding.

    Sharded, no process fills the whole tensor: each distinct device block is filled once at its
    global index by one prepared call, and its replicas (a partly replicated sharding) are handed the
    same host buffer (XLA's CPU client may adopt it for all of them; it does not donate a buffer
    a host array also owns, so no computation writes into a shared block).  Schemes that need
    the whole tensor (orthogonal: one QR) compute it once and every block is copied out of it."""
    if sharding is None:
        return jax.device_put(host_fill(scheme, params, shape, dtype, seed, lead=lead), may_alias=True)
    fill = registry_scheme(scheme).prepare((1,) * lead + shape, dtype, seed=seed, **params)
    blocks: dict = {}

    def block(index) -> np.ndarray:
        bounds = block_bounds(() if index is None else index, shape)
        if bounds not in blocks:
            # (a whole-tensor scheme's block is a copy of its own: a view that XLA adopted would keep
            # the whole tensor alive)
            out = aligned_empty(tuple(hi - lo for lo, hi in bounds), dtype)
            fill_prepared(fill, out.reshape((1,) * lead + out.shape), ((0, 1),) * lead + bounds)   # (a view of out)
            blocks[bounds] = out
        return blocks[bounds]

    # float64 without jax_enable_x64 becomes float32, as jax.device_put makes it
    return jax.make_array_from_callback(shape, sharding, block, dtype=jax.dtypes.canonicalize_dtype(dtype))
