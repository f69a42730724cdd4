"""fastinit.torch.materialize and reset_parameters: allocate a module's meta tensors and initialize
them with the model's own init so that every parameter's values depend on (seed, its fully
qualified name, its shape, its scheme) only.

How: the model's init entry point (``init=``, else its ``init_weights()`` -- transformers'
PreTrainedModel and the torchtitan convention -- else each submodule's ``reset_parameters()`` or
private ``_reset_parameters()``, children before parents, the order in which construction runs
them) runs with torch.nn.init's functions replaced by fastinit.torch's wherever the code holds
them (transformers calls them through a dict), as ``patch()`` replaces them; every random call
gets a ``torch.Generator`` seeded with

    sha256("fastinit.materialize/v1", seed, name, k)[:8]  (little-endian 64-bit)

where ``name`` is the tensor's fully qualified name in the module materialized (a view of a
parameter adds its geometry; a tensor that is no parameter or buffer is named after the module
whose reset made it and its rank among that reset's temporaries) and ``k`` counts the earlier
random calls on the same name.  Anything a reset draws from torch's default generator directly
(``tensor.uniform_()``, ``torch.randn``) comes from that generator seeded the same way with the
module's name (the root's, ``""``, for a whole-model entry point), inside
``torch.random.fork_rng``: the default generator's state is the same after ``materialize`` as
before.  Calls that pass their own ``generator=`` keep it.  The generator is
made on the tensor's device (fastinit.torch draws a seed where torch would), so values on another
device type than the CPU come from that device's generator seeded alike.  torch.nn.init is patched
process-wide while materialize runs.

Never silent: every parameter and buffer that no init wrote (no init function reached it and its
version counter did not move: found without a pass over memory) is named in a warning, or an
error with ``strict=True``, whether materialize allocated it or the caller's ``to_empty`` did.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import warnings
from typing import Iterator

import torch
from torch import nn

from .. import _validate as check
from . import _bindings, _init, _patch, _torchrec
from ._core import is_dtensor

DERIVATION = "fastinit.materialize/v1"


def derived_seed(seed: int, name: str, k: int = 0) -> int:
    """The 64-bit torch generator seed of the k-th random init call on tensor ``name``."""
    digest = hashlib.sha256(f"{DERIVATION}\0{seed}\0{name}\0{k}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def _reset_method(module: nn.Module):
    """A module's own reset: public ``reset_parameters()``, else a private ``_reset_parameters()``
    (nn.MultiheadAttention and nn.Transformer reset so, from their ``__init__``)."""
    for name in ("reset_parameters", "_reset_parameters"):
        method = getattr(module, name, None)
        if callable(method):
            return method
    return None


def _post_order(module: nn.Module, prefix: str = "", seen=None, whole=lambda m: False) -> Iterator[tuple[str, nn.Module]]:
    """Every submodule once (the first name it is reachable by), children before their parent; the
    children of a module for which whole(module) holds are not visited (it is initialized whole)."""
    seen = set() if seen is None else seen
    if id(module) in seen:
        return
    seen.add(id(module))
    if not whole(module):
        for name, child in module.named_children():
            if child is not None:
                yield from _post_order(child, f"{prefix}.{name}" if prefix else name, seen, whole)
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
    """Names the tensors the init functions receive, counts calls per name, and notes which
    parameters and buffers they were handed (written).  seed None: names only, no generators."""

    def __init__(self, seed: int | None, named: dict[str, torch.Tensor]):
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
        # on the tensor's device: fastinit.torch draws a tensor's seed on its device, as torch does
        return self.named_generator(self.name(t), t.device if t.device.type != "meta" else torch.device("cpu"))

    def named_generator(self, n: str, device=None) -> torch.Generator:
        """The generator of the next random call on tensor ``n`` (the k-th: k counts the earlier ones)."""
        k = self.calls.get(n, 0)
        self.calls[n] = k + 1
        return torch.Generator(device=device or "cpu").manual_seed(derived_seed(self.seed, n, k))

    def touch(self, t: torch.Tensor) -> None:
        n = self.by_id.get(id(t))
        if n is None and _storage_ptr(t) in self.by_storage:
            n = self.by_storage[_storage_ptr(t)][0]
        if n is not None:
            self.touched.add(n)


def _storage_ptr(t: torch.Tensor) -> int:
    if t.is_meta or t.numel() == 0 or is_dtensor(t):
        return 0
    try:
        return t.untyped_storage().data_ptr()
    except (RuntimeError, NotImplementedError):
        return 0


@contextlib.contextmanager
def _named_init(namer: _Namer):
    """torch.nn.init's functions, wherever they are bound (torch.nn.init.<name>, the modules that
    imported them by name, the containers that hold them; see _bindings), replaced by fastinit's
    wrapped so that random calls get the generator of the tensor's name (namer.seed None: torch's
    own generators, as under patch()), and the tensors they are handed noted as written.  What an
    active patch() installed is wrapped alike.  On exit every binding is restored, and modules
    imported meanwhile get what torch.nn.init then holds instead of a wrapper.  (One scan of the
    loaded modules each way; entering patch() and wrapping its functions would take two.)"""
    wrappers = {name: _wrap(installed, namer) for name, installed in _patch.INSTALLED.items()}
    replaced = {}
    for name, wrapper in wrappers.items():
        for fn in (_patch.TORCH[name], _patch.INSTALLED[name]):
            replaced[id(fn)] = (fn, wrapper)
    swaps = _bindings.swap_all(replaced)
    try:
        yield
    finally:
        _bindings.undo(swaps)
        now = _patch.INSTALLED if _patch.active() else _patch.TORCH
        _bindings.swap_all({id(w): (w, now[name]) for name, w in wrappers.items()})


def _wrap(fn, namer: _Namer):
    sig = inspect.signature(fn)
    random = "generator" in sig.parameters

    @functools.wraps(fn)
    def named(*args, **kwargs):
        bound = sig.bind(*args, **kwargs)
        tensor = bound.arguments.get("tensor")
        if isinstance(tensor, torch.Tensor):
            namer.touch(tensor)
            if random and namer.seed is not None and bound.arguments.get("generator") is None:
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


def _clear_hf_flags(module: nn.Module, named: dict[str, torch.Tensor]) -> None:
    """transformers skips modules and tensors flagged ``_is_hf_initialized`` (set by its own init
    and its weight loading): materialize initializes everything, so the flags go."""
    for sub in module.modules():
        sub.__dict__.pop("_is_hf_initialized", None)
    for t in named.values():
        if getattr(t, "_is_hf_initialized", False):
            try:
                del t._is_hf_initialized
            except AttributeError:
                pass


def _entry_point(module: nn.Module, init, device: torch.device):
    """What initializes the model: (how it is described, a callable of no arguments), or None for
    the per-submodule resets."""
    if init is not None:
        return f"init={getattr(init, '__qualname__', init)!r}", lambda: init(module)
    method = getattr(module, "init_weights", None)
    if callable(method):
        try:
            takes_device = "buffer_device" in inspect.signature(method).parameters
        except (TypeError, ValueError):
            takes_device = False
        if takes_device:   # the torchtitan convention: buffers (e.g. rotary tables) made on this device
            return f"{type(module).__name__}.init_weights", lambda: method(buffer_device=device)
        return f"{type(module).__name__}.init_weights", method
    return None


def _initialize(module: nn.Module, seed: int | None, entry, strict: bool, allocated: set[str], what: str) -> None:
    """Run entry (see _entry_point; None: every submodule's reset, children first) with named
    generators (seed) or torch's own generators (seed None, as under patch()); then name what it
    did not write."""
    named = _tensors(module)
    _clear_hf_flags(module, named)
    namer = _Namer(seed, named)
    versions = {n: _version(t) for n, t in named.items()}

    def seed_for(name: str, tensor) -> int:
        """The seed of the next random call on tensor ``name``, as the named generators give it."""
        return _init._seed(None if seed is None else namer.named_generator(name))

    def tables(sub, prefix):   # a torchrec collection: every table at its global position
        return lambda: _torchrec.fill_tables(sub, prefix, seed_for, namer.touch)

    steps = [("", entry[1])] if entry is not None else [
        (prefix, tables(sub, prefix) if _torchrec.is_collection(sub) else _reset_method(sub))
        for prefix, sub in _post_order(module, whole=_torchrec.is_collection)
        if _torchrec.is_collection(sub) or _reset_method(sub) is not None]
    with _named_init(namer):
        for prefix, step in steps:
            namer.module_name = prefix
            namer.temporaries = 0
            if seed is None:
                step()
                continue
            with torch.random.fork_rng(devices=[]):
                torch.default_generator.manual_seed(derived_seed(seed, f"{prefix}#module"))
                step()
    unwritten = sorted(n for n, t in named.items()   # (a tensor with no element holds nothing to write)
                       if t.numel() and n not in namer.touched and _version(t) == versions[n])
    if unwritten:
        _report_unwritten(module, unwritten, allocated, entry, strict, what)


class UninitializedError(RuntimeError):
    """materialize(strict=True) / reset_parameters(strict=True) found tensors that no init wrote."""


def _report_unwritten(module: nn.Module, unwritten: list[str], allocated: set[str], entry, strict: bool,
                      what: str) -> None:
    owners = {}
    for prefix, sub in _post_order(module):
        for n, _ in list(sub.named_parameters(prefix=prefix, recurse=False)) + \
                list(sub.named_buffers(prefix=prefix, recurse=False)):
            owners.setdefault(n, (prefix, sub))
    lines = []
    for n in unwritten:
        prefix, sub = owners.get(n, ("?", None))
        if entry is not None:
            why = f"{entry[0]} did not write it"
        elif sub is not None and _reset_method(sub) is None:
            why = "has no reset_parameters()"
        else:
            why = "its reset method did not write it"
        held = "uninitialized memory (allocated by materialize)" if n in allocated else \
            "whatever it held before (uninitialized memory if it came from to_empty)"
        lines.append(f"{n} ({type(sub).__name__} {prefix or '<root>'!r}: {why}; it holds {held})")
    message = (f"fastinit.torch.{what}: no init wrote {len(unwritten)} tensor(s): " + "; ".join(lines)
               + ". Initialize them yourself, or pass init= a function that does.")
    if strict:
        raise UninitializedError(message)
    warnings.warn(message, UserWarning, stacklevel=4)


def materialize(module: nn.Module, seed: int, *, init=None, device: str | torch.device = "cpu",
                strict: bool = False) -> nn.Module:
    """Allocate ``module``'s meta parameters and buffers on ``device`` and initialize them with the
    model's own init through fastinit, so that each parameter's values depend only on ``(seed, its
    fully qualified name, its shape, its scheme)``: not on the order the modules were built, not on
    which other modules exist (a pipeline stage gets exactly its layers' values in the whole
    model), not on how it is sharded (DTensor parameters of FSDP2 or tensor parallelism get the
    single-process values).

    The init that runs (the model's own, as a normal build would run it):

    - ``init=callable``: ``init(module)``;
    - else the root's ``init_weights()``: a transformers ``PreTrainedModel`` (its weight-init
      traversal, ``_init_weights`` per module, which also computes buffers such as rotary
      ``inv_freq``; then its weight tying), or the torchtitan convention
      ``init_weights(buffer_device=device)``;
    - else every submodule's ``reset_parameters()`` or private ``_reset_parameters()``
      (nn.MultiheadAttention, nn.Transformer), children before parents.

    transformers' ``_is_hf_initialized`` flags are cleared first, so everything is initialized.
    Tensors already on a real device are initialized in place. Any parameter or buffer that no
    init wrote is named (module and class) in a ``UserWarning``, or a ``fastinit.torch.UninitializedError``
    with ``strict=True``. Values drawn by the init directly from torch's default generator are
    seeded by the module's name; torch's default generator is left as it was.

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
    if init is not None and not callable(init):
        raise TypeError(f"init must be a callable taking the module, or None; got {type(init).__name__}")
    device = torch.device(device)
    if device.type == "meta":
        raise ValueError("device must be a real device (e.g. 'cpu'), not 'meta'")
    root = _torchrec.unwrap(module)   # (DistributedModelParallel: names are the wrapped model's)
    allocated = _allocate(root, device)
    _initialize(root, seed, _entry_point(root, init, device), strict, allocated, "materialize")
    return module


def reset_parameters(module: nn.Module, *, seed: int | None = None, strict: bool = False) -> nn.Module:
    """Run every submodule's own reset through fastinit: ``reset_parameters()``, or the private
    ``_reset_parameters()`` where a module has only that (nn.MultiheadAttention, nn.Transformer),
    children before parents, as construction runs them.  The FSDP2 recipe: build on meta,
    ``fully_shard``, ``model.to_empty(device=...)``, then ``reset_parameters(model, seed=s)``.

    ``seed=None``: the random calls draw from torch's generators, as under ``patch()`` (so
    ``torch.manual_seed`` makes them reproducible, identically on every rank); ``seed=s``: each
    tensor's values are keyed by (s, its fully qualified name), as ``materialize`` keys them.
    Tensors that no reset wrote are named in a warning (``strict=True``: an UninitializedError)."""
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module; got {type(module).__name__}")
    if seed is not None:
        seed = check.uint64("seed", seed)
    root = _torchrec.unwrap(module)
    if any(t.is_meta for t in _tensors(root).values()):
        raise ValueError("module has meta tensors: allocate them first (module.to_empty(device=...)), or use "
                         "fastinit.torch.materialize, which allocates and initializes")
    _initialize(root, seed, None, strict, set(), "reset_parameters")
    return module
