"""torchrec's embedding collections for materialize and reset_parameters: every table is filled
from its config's init at its global position, so its full value depends on (seed, the table's
fully qualified name in the unwrapped model, its shape, its scheme) only -- the same unsharded
(meta or real) and sharded by DistributedModelParallel in any way (table-wise, row-wise,
column-wise, table-row-wise, data-parallel), at any world size, with no communication.

The scheme comes from the table's config: torchrec's default ``init_fn`` is
``functools.partial(torch.nn.init.uniform_, a=-sqrt(1/N), b=sqrt(1/N))``; an ``init_fn`` that is
a torch.nn.init or fastinit.torch function, bare or in a ``functools.partial`` with bound
arguments, keeps its distribution and is filled by fastinit's kernels shard by shard.  Any other
callable is called on a CPU tensor of the whole table (O(table) memory on every rank) with torch's
default generator seeded by the table's name, and each rank keeps its part.  Tables of the
KEY_VALUE and SSD/DRAM virtual-table kernels are left alone (their init is their store's).

torchrec is optional: nothing here imports it; the classes are looked up among loaded modules.
"""
from __future__ import annotations

import functools
import inspect
import sys
import warnings

import torch

from ..blocks import fill_block
from ..registry import scheme as _scheme
from . import _init, _patch
from ._core import fill_through_numpy

# (module, class name) -> (the ModuleDict of tables, the config list attribute)
_COLLECTIONS = {
    ("torchrec.modules.embedding_modules", "EmbeddingBagCollection"): ("embedding_bags", "_embedding_bag_configs"),
    ("torchrec.modules.embedding_modules", "EmbeddingCollection"): ("embeddings", "_embedding_configs"),
    ("torchrec.distributed.embeddingbag", "ShardedEmbeddingBagCollection"): ("embedding_bags", "_embedding_bag_configs"),
    ("torchrec.distributed.embedding", "ShardedEmbeddingCollection"): ("embeddings", "_embedding_configs"),
}
# compute kernels whose tables live in a key-value store (their init is the store's)
_NO_INIT_KERNELS = {"key_value", "ssd_virtual_table", "dram_virtual_table", "dram_ssd_virtual_table"}


def _layout(module):
    """(tables attribute, configs attribute) for a torchrec collection, else None."""
    for (mod_name, cls_name), layout in _COLLECTIONS.items():
        mod = sys.modules.get(mod_name)
        cls = getattr(mod, cls_name, None) if mod is not None else None
        if cls is not None and isinstance(module, cls):
            return layout
    return None


def is_collection(module) -> bool:
    return _layout(module) is not None


def unwrap(module: torch.nn.Module) -> torch.nn.Module:
    """The model inside DistributedModelParallel (and its DistributedDataParallel): table names are
    the unwrapped model's."""
    dmp = getattr(sys.modules.get("torchrec.distributed.model_parallel"), "DistributedModelParallel", None)
    while dmp is not None and isinstance(module, dmp):
        module = module.module
    return module


def _torch_name(fn):
    """The torch.nn.init name of fn when it is torch's function, patch()'s copy or fastinit.torch's
    own (``fastinit.torch.normal_``), else None."""
    for name, original in _init._TORCH.items():
        if fn is original or fn is _patch.INSTALLED.get(name) or fn is getattr(_init, name, None):
            return name if name.endswith("_") else name + "_"     # (a deprecated alias: its scheme)
    return None


def table_scheme(init_fn):
    """(torch.nn.init name, keyword arguments) of a table's init_fn, or None for another callable."""
    args, kwargs, fn = (), {}, init_fn
    if isinstance(init_fn, functools.partial):
        fn, args, kwargs = init_fn.func, init_fn.args, dict(init_fn.keywords or {})
    name = _torch_name(fn)
    if name is None:
        return None
    bound = inspect.signature(_init._TORCH[name]).bind(None, *args, **kwargs)   # (None: the tensor)
    bound.apply_defaults()
    params = {k: v for k, v in bound.arguments.items() if k not in ("tensor", "generator")}
    if bound.arguments.get("generator") is not None:
        raise ValueError(f"a table's init_fn binds generator=: fastinit keys tables by name; drop it ({init_fn!r})")
    return name, params


def _sharded_state(module) -> dict | None:
    """A sharded collection's state_dict (ShardedTensors whose local shards alias its kernels'
    weights; data-parallel tables as tensors), else None."""
    if not type(module).__name__.startswith("Sharded"):
        return None
    with warnings.catch_warnings():   # (torchrec's ShardedTensors warn that DTensor replaces them)
        warnings.filterwarnings("ignore", message="Please use DTensor instead", category=FutureWarning)
        return module.state_dict()


def _shards(module, state, attr: str, name: str):
    """(full shape, [(local tensor, global index bounds)]) of table ``name`` on this rank."""
    weight = getattr(module, attr)[name].weight
    if state is not None:
        weight = state[f"{attr}.{name}.weight"]
        if hasattr(weight, "local_shards"):
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Please use DTensor instead", category=FutureWarning)
                full_shape = tuple(weight.size())
            parts = [(s.tensor, [(o, o + n) for o, n in zip(s.metadata.shard_offsets, s.metadata.shard_sizes)])
                     for s in weight.local_shards()]
            return full_shape, parts
    return tuple(weight.shape), [(weight, [(0, n) for n in weight.shape])]


def fill_tables(module, prefix: str, seed_for, touch) -> None:
    """Fill every table of a torchrec collection at its global position.  seed_for(fqn, tensor) gives
    the 64-bit seed of the table's first random init call (as materialize keys it); touch(tensor)
    marks a tensor written."""
    attr, configs_attr = _layout(module)
    plan = getattr(module, "module_sharding_plan", None) or {}
    state = _sharded_state(module)
    for config in getattr(module, configs_attr):
        if config.name in plan and str(plan[config.name].compute_kernel) in _NO_INIT_KERNELS:
            continue
        fqn = f"{prefix}.{attr}.{config.name}.weight" if prefix else f"{attr}.{config.name}.weight"
        full_shape, parts = _shards(module, state, attr, config.name)
        resolved = table_scheme(config.init_fn)
        with torch.no_grad():
            if resolved is not None:
                name, params = resolved
                rec = _scheme(name)
                if rec.random:
                    params["seed"] = seed_for(fqn, parts[0][0] if parts else None)
                for tensor, bounds in parts:
                    fill_through_numpy(tensor, lambda arr, dtype, bounds=bounds: fill_block(
                        arr, name, full_shape, bounds, dtype=dtype, **params))
                    touch(tensor)
            else:   # another callable: the whole table on every rank, each keeps its part
                whole = torch.empty(full_shape, dtype=parts[0][0].dtype if parts else torch.float32)
                with torch.random.fork_rng(devices=[]):
                    torch.default_generator.manual_seed(seed_for(fqn, None))
                    config.init_fn(whole)
                for tensor, bounds in parts:
                    tensor.copy_(whole[tuple(slice(a, b) for a, b in bounds)])
                    touch(tensor)


def _skip_init(self, *args, **kwargs):
    return None


class deferred_init:
    """While DistributedModelParallel builds, skip the table inits that materialize replaces:
    fbgemm kernels' ``init_parameters`` (uniform per rank), the sharded collections'
    ``reset_parameters`` (init_fn on each local slice, a broadcast for data-parallel tables) and
    the unsharded collections' ``reset_parameters``.  Then ``fastinit.torch.materialize(model,
    seed)`` fills each shard once, at its global position::

        with fastinit.torch.deferred_init():
            model = DistributedModelParallel(module, device=torch.device("cpu"), plan=plan)
        fastinit.torch.materialize(model, seed=0)

    Tables hold zeros (fbgemm's allocation) until then; materialize names anything it leaves
    unwritten."""

    _TARGETS = [("torchrec.distributed.batched_embedding_kernel", "BaseBatchedEmbeddingBag", "init_parameters"),
                ("torchrec.distributed.batched_embedding_kernel", "BaseBatchedEmbedding", "init_parameters"),
                ("torchrec.distributed.embeddingbag", "ShardedEmbeddingBagCollection", "reset_parameters"),
                ("torchrec.distributed.embedding", "ShardedEmbeddingCollection", "reset_parameters"),
                ("torchrec.modules.embedding_modules", "EmbeddingBagCollection", "reset_parameters"),
                ("torchrec.modules.embedding_modules", "EmbeddingCollection", "reset_parameters")]

    def __enter__(self) -> "deferred_init":
        import importlib
        self._saved = []
        for mod_name, cls_name, method in self._TARGETS:
            cls = getattr(importlib.import_module(mod_name), cls_name)
            self._saved.append((cls, method, cls.__dict__.get(method)))
            setattr(cls, method, _skip_init)
        return self

    def __exit__(self, *exc) -> None:
        for cls, method, original in reversed(self._saved):
            if original is None:
                delattr(cls, method)
            else:
                setattr(cls, method, original)
        self._saved = []
