"""fastinit.torch.materialize: allocate a module's meta tensors and initialize them so that every
parameter's values depend on (seed, its fully qualified name, its shape, its scheme) only.

How: each submodule's own ``reset_parameters()`` runs under ``fastinit.torch.patch()``, children
before parents (the order in which construction runs them: a parent's ``__init__`` builds its
children, then resets).  While it runs, every random ``torch.nn.init`` call gets a
``torch.Generator`` seeded with

    sha256("fastinit.materialize/v1", seed, name, k)[:8]  (little-endian 64-bit)

where ``name`` is the tensor's fully qualified name in the module materialized (a view of a
parameter adds its geometry; a tensor that is no parameter or buffer is named after the module
whose reset made it and its rank among that reset's temporaries) and ``k`` counts the earlier
random calls on the same name.  Anything a reset draws from torch's default generator directly
(``tensor.uniform_()``, ``torch.randn``) comes from that generator seeded the same way with the
module's name, inside ``torch.random.fork_rng``: the default generator's state is the same after
``materialize`` as before.  Calls that pass their own ``generator=`` keep it.  The generator is
made on the tensor's device (fastinit.torch draws a seed where torch would), so values on another
device type than the CPU come from that device's generator seeded alike.  torch.nn.init is patched
process-wide while materialize runs.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import sys
import types
import warnings
from typing import Iterator

import torch
from torch import nn

from . import _torch_dtensor
from . import _validate as check

DERIVATION = "fastinit.materialize/v1"

# torch modules that reset in a private _reset_parameters (called from their __init__) and have no
# public reset_parameters; materialize calls it for them.
_PRIVATE_RESET = tuple(cls for cls in (nn.MultiheadAttention, nn.Transformer) if hasattr(cls, "_reset_parameters"))


def derived_seed(seed: int, name: str, k: int = 0) -> int:
    """The 64-bit torch generator seed of the k-th random init call on tensor ``name``."""
    digest = hashlib.sha256(f"{DERIVATION}\0{seed}\0{name}\0{k}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def _reset_method(module: nn.Module):
    if callable(getattr(module, "reset_parameters", None)):
        return module.reset_parameters
    if isinstance(module, _PRIVATE_RESET):
        return module._reset_parameters
    return None


def _post_order(module: nn.Module, prefix: str = "", seen=None) -> Iterator[tuple[str, nn.Module]]:
    """Every submodule once (the first name it is reachable by), children before their parent."""
    seen = set() if seen is None else seen
    if id(module) in seen:
        return
    seen.add(id(module))
    for name, child in module.named_children():
        if child is not None:
            yield from _post_order(child, f"{prefix}.{name}" if prefix else name, seen)
    yield prefix, module


def _tensors(module: nn.Module) -> dict[str, torch.Tensor]:
    """Parameters and buffers by fully qualified name (a shared tensor under its first name)."""
    named = dict(module.named_parameters(remove_duplicate=True))
    for name, buf in module.named_buffers(remove_duplicate=True):
        named.setdefault(name, buf)
    return named


def _version(t: torch.Tensor) -> int:
    try:
        return t._version
    except (RuntimeError, AttributeError):   # inference tensors have no version counter
        return -1


class _Namer:
    """Names the tensors the init functions receive, and counts calls per name."""

    def __init__(self, seed: int, named: dict[str, torch.Tensor]):
        self.seed = seed
        self.by_id = {id(t): n for n, t in named.items()}
        # `.data` and views of a parameter are other tensor objects over its storage
        self.by_storage = {}
        for n, t in named.items():
            ptr = _storage_ptr(t)
            if ptr:
                self.by_storage.setdefault(ptr, (n, t))
        self.calls: dict[str, int] = {}
        self.touched: set[str] = set()
        self.module_name = ""
        self.temporaries = 0

    def name(self, t: torch.Tensor) -> str:
        n = self.by_id.get(id(t))
        if n is not None:
            return n
        ptr = _storage_ptr(t)
        if ptr in self.by_storage:
            n, base = self.by_storage[ptr]
            if (t.storage_offset(), t.shape, t.stride()) == (base.storage_offset(), base.shape, base.stride()):
                return n
            return f"{n}[offset={t.storage_offset()},shape={tuple(t.shape)},stride={t.stride()}]"
        # a tensor that is no parameter or buffer: named by its module and the call's rank among
        # such calls in that module's reset (object ids could be reused, so they name nothing)
        self.temporaries += 1
        return f"{self.module_name}#temporary{self.temporaries - 1}"

    def generator(self, t: torch.Tensor) -> torch.Generator:
        n = self.name(t)
        k = self.calls.get(n, 0)
        self.calls[n] = k + 1
        # on the tensor's device: fastinit.torch draws a tensor's seed on its device, as torch does
        device = t.device if t.device.type != "meta" else torch.device("cpu")
        return torch.Generator(device=device).manual_seed(derived_seed(self.seed, n, k))

    def touch(self, t: torch.Tensor) -> None:
        n = self.by_id.get(id(t))
        if n is None and _storage_ptr(t) in self.by_storage:
            n = self.by_storage[_storage_ptr(t)][0]
        if n is not None:
            self.touched.add(n)


def _storage_ptr(t: torch.Tensor) -> int:
    if t.is_meta or t.numel() == 0 or _torch_dtensor.is_dtensor(t):
        return 0
    try:
        return t.untyped_storage().data_ptr()
    except (RuntimeError, NotImplementedError):
        return 0


def _namespaces():
    """The namespaces of every loaded module (a snapshot: imports may run concurrently)."""
    for module in list(sys.modules.values()):
        namespace = getattr(module, "__dict__", None)
        if isinstance(module, types.ModuleType) and isinstance(namespace, dict):
            yield namespace


@contextlib.contextmanager
def _named_init(namer: _Namer):
    """fastinit.torch.patch(), with every binding it made (torch.nn.init.<name> and the modules that
    imported the function by name, e.g. nn.MultiheadAttention's xavier_uniform_) wrapped so that
    random calls get the generator of the tensor's name."""
    from . import torch as ft

    import torch.nn.init as tinit

    names = [n for n in ft.__all__ if n.endswith("_") and callable(getattr(tinit, n, None))]
    with ft.patch():
        routed = {id(getattr(tinit, n)): getattr(tinit, n) for n in names}
        wrapped = {key: _wrap(fn, namer) for key, fn in routed.items()}
        bindings = []
        for namespace in _namespaces():
            for attr, value in list(namespace.items()):
                if id(value) in routed and value is routed[id(value)]:
                    namespace[attr] = wrapped[id(value)]
                    bindings.append((namespace, attr, value))
        try:
            yield
        finally:
            for namespace, attr, value in bindings:
                if namespace.get(attr) is wrapped[id(value)]:
                    namespace[attr] = value


def _wrap(fn, namer: _Namer):
    sig = inspect.signature(fn)
    random = "generator" in sig.parameters

    @functools.wraps(fn)
    def named(*args, **kwargs):
        bound = sig.bind(*args, **kwargs)
        tensor = bound.arguments.get("tensor")
        if isinstance(tensor, torch.Tensor):
            namer.touch(tensor)
            if random and bound.arguments.get("generator") is None:
                bound.arguments["generator"] = namer.generator(tensor)
        return fn(*bound.args, **bound.kwargs)
    return named


def _allocate(module: nn.Module, device) -> set[str]:
    """Meta tensors -> empty tensors on device, as Module.to_empty (which FSDP2 hooks, so it runs on
    the whole module); tensors already on a real device keep their values.  Returns the names of
    the tensors that were allocated."""
    before = _tensors(module)
    meta = {n for n, t in before.items() if t.is_meta}
    if not meta:
        return set()
    real = {n: t.detach().clone() for n, t in before.items() if not t.is_meta}
    module.to_empty(device=device)
    after = _tensors(module)
    with torch.no_grad():
        for n, value in real.items():
            after[n].copy_(value)
    return meta


def materialize(module: nn.Module, seed: int, *, device: str | torch.device = "cpu") -> nn.Module:
    """Allocate ``module``'s meta parameters and buffers on ``device`` and initialize every submodule
    with its own ``reset_parameters()`` through fastinit, so that each parameter's values depend only
    on ``(seed, its fully qualified name, its shape, its scheme)``: not on the order the modules were
    built, not on which other modules exist (a pipeline stage gets exactly its layers' values in the
    whole model), not on how it is sharded (DTensor parameters of FSDP2 or tensor parallelism get
    the single-process values).

    Covered: modules with a ``reset_parameters()`` that initializes through ``torch.nn.init`` (nn.Linear,
    nn.Conv*, nn.Embedding, nn.LayerNorm, nn.BatchNorm*, ...), and nn.MultiheadAttention and
    nn.Transformer, whose private ``_reset_parameters()`` is called.  Resets run children first,
    then the parent.  Parameters and buffers that ``materialize`` allocated and that no reset wrote
    (e.g. a module with parameters but no reset method) are named in a ``UserWarning``: they hold
    uninitialized memory.  A module with no meta tensors is re-initialized in place.  Values drawn
    by a reset directly from torch's default generator are seeded by the module's name; torch's
    default generator is left as it was.

    >>> with torch.device("meta"):
    ...     model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4))
    >>> fastinit.torch.materialize(model, seed=0)            # doctest: +ELLIPSIS
    Sequential(...)
    >>> stage = nn.Sequential(nn.Identity(), nn.Identity(), nn.Linear(32, 4, device="meta"))
    >>> torch.equal(fastinit.torch.materialize(stage, seed=0)[2].weight, model[2].weight)
    True
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module; got {type(module).__name__}")
    seed = check.uint64("seed", seed)
    device = torch.device(device)
    if device.type == "meta":
        raise ValueError("device must be a real device (e.g. 'cpu'), not 'meta'")
    allocated = _allocate(module, device)
    named = _tensors(module)
    namer = _Namer(seed, named)
    versions = {n: _version(t) for n, t in named.items()}
    with _named_init(namer):
        for prefix, sub in _post_order(module):
            reset = _reset_method(sub)
            if reset is None:
                continue
            namer.module_name = prefix
            namer.temporaries = 0
            with torch.random.fork_rng(devices=[]):
                torch.default_generator.manual_seed(derived_seed(seed, f"{prefix}#module"))
                reset()
    untouched = sorted(n for n in allocated if n not in namer.touched and _version(named[n]) == versions[n])
    if untouched:
        owners = {}
        for prefix, sub in _post_order(module):
            for n, _ in list(sub.named_parameters(prefix=prefix, recurse=False)) + \
                    list(sub.named_buffers(prefix=prefix, recurse=False)):
                owners.setdefault(n, (prefix, sub))
        lines = []
        for n in untouched:
            prefix, sub = owners.get(n, ("?", None))
            why = "has no reset_parameters()" if sub is not None and _reset_method(sub) is None else \
                "its reset method did not write it"
            lines.append(f"{n} ({type(sub).__name__} {prefix or '<root>'!r} {why})")
        warnings.warn("fastinit.torch.materialize left these tensors uninitialized (allocated, never written by a "
                      "reset method): " + "; ".join(lines) + ". Initialize them yourself after materialize.",
                      UserWarning, stacklevel=2)
    return module
