"""Where loaded modules hold a function, and swapping it there with an exact undo.

Code reaches torch.nn.init's functions through more than ``torch.nn.init.<name>``: modules bind
them by name (``from torch.nn.init import xavier_uniform_`` in torch.nn.modules.activation), and
libraries keep them in module-level containers (transformers' ``TORCH_INIT_FUNCTIONS`` dict,
captured when transformers is first imported, is what its ``_init_weights`` calls).  A binding is
one of:

- a module attribute (``namespace[attr]``);
- a value of a dict, or an item of a list, that a module attribute holds (one level deep);
- an item of a tuple that a module attribute holds: tuples cannot change, so the attribute is
  rebound to a new tuple with the item replaced (and back on undo).

fastinit's own modules and containers are never touched (they keep torch's originals to hand
tensors back to).
"""
from __future__ import annotations

import sys
import types
from typing import Iterator, NamedTuple


class Swap(NamedTuple):
    """``container[key]`` was ``old`` and is now ``new``."""
    container: object
    key: object
    old: object
    new: object


def _namespaces(own: bool = False) -> Iterator[dict]:
    """The namespaces of every loaded module but fastinit's (own=True: fastinit's only); a snapshot,
    as imports may run concurrently."""
    for name, module in list(sys.modules.items()):
        if (name == "fastinit" or name.startswith("fastinit.")) != own or not isinstance(module, types.ModuleType):
            continue
        namespace = getattr(module, "__dict__", None)
        if isinstance(namespace, dict):
            yield namespace


def _items(container) -> list:
    try:
        return list(container.items()) if isinstance(container, dict) else list(enumerate(container))
    except RuntimeError:          # changed size while read (another thread): read it again
        return _items(container)


def swap_all(replacements: dict[int, tuple[object, object]]) -> list[Swap]:
    """Replace every binding of an object ``old`` with ``replacements[id(old)] == (old, new)`` by
    ``new``; returns the swaps made, for :func:`undo`.  (Keyed by id, checked by identity: one dict
    look-up per binding keeps a scan of every loaded module's namespace cheap.)"""
    swaps: list[Swap] = []
    # fastinit's own containers stay as they are, also where other code refers to them
    # (fastinit.torch's saved torch functions must stay torch's)
    own = {id(v) for namespace in _namespaces(own=True) for v in list(namespace.values()) if type(v) in (dict, list)}
    get = replacements.get

    def replacement(value):
        pair = get(id(value))
        return pair[1] if pair is not None and pair[0] is value else None

    def visit(container) -> None:
        for key, value in _items(container):
            if id(value) in replacements and (new := replacement(value)) is not None:
                container[key] = new
                swaps.append(Swap(container, key, value, new))

    for namespace in _namespaces():
        for attr, value in _items(namespace):
            kind = type(value)
            if id(value) in replacements:
                new = replacement(value)
                if new is not None:
                    namespace[attr] = new
                    swaps.append(Swap(namespace, attr, value, new))
            elif kind is dict or kind is list:
                if id(value) not in own:
                    visit(value)
            elif kind is tuple and value and any(id(v) in replacements for v in value):
                items = tuple(replacement(v) for v in value)
                if any(v is not None for v in items):
                    new = tuple(value[i] if v is None else v for i, v in enumerate(items))
                    namespace[attr] = new
                    swaps.append(Swap(namespace, attr, value, new))
    return swaps


def undo(swaps: list[Swap]) -> None:
    """Put back what :func:`swap_all` replaced, last first; a binding someone changed since is left
    as they set it."""
    for swap in reversed(swaps):
        try:
            if swap.container[swap.key] is swap.new:
                swap.container[swap.key] = swap.old
        except (KeyError, IndexError):   # removed since: nothing to restore
            pass
    swaps.clear()
