"""fastinit.torch.patch(): torch.nn.init's functions routed to fastinit.torch wherever loaded code
holds them (see _bindings for where that is)."""
from __future__ import annotations

import threading
import types

from . import _bindings, _init

TORCH = _init._TORCH          # torch name -> torch.nn.init's own function


def _copy(fn: types.FunctionType) -> types.FunctionType:
    """A distinct function object running fn's code: what patch() installs, so undo can tell the
    bindings it made (even those made by modules imported while patched) from a user's own
    ``from fastinit.torch import normal_``; same frames as fn, so warnings point where they should."""
    twin = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__)
    twin.__kwdefaults__, twin.__doc__, twin.__qualname__ = fn.__kwdefaults__, fn.__doc__, fn.__qualname__
    twin.__dict__.update(fn.__dict__)   # (its __signature__: the drop-ins are made with one)
    twin.__module__ = "fastinit.torch"
    return twin


INSTALLED = {name: _copy(getattr(_init, name)) for name in TORCH}   # torch name -> what patch() puts there
_TO_INSTALLED = {id(fn): (fn, INSTALLED[name]) for name, fn in TORCH.items()}
_TO_ORIGINAL = {id(fn): (fn, TORCH[name]) for name, fn in INSTALLED.items()}
_lock = threading.Lock()
_count = 0                                    # active patch objects
_swaps: list[_bindings.Swap] = []             # what the first active patch replaced


def _install() -> None:
    _swaps.extend(_bindings.swap_all(_TO_INSTALLED))


def _uninstall() -> None:
    _bindings.undo(_swaps)
    # modules imported while patched bound (or stored) the installed functions: give them torch's
    _bindings.swap_all(_TO_ORIGINAL)


def active() -> bool:
    """Whether a patch is active (torch.nn.init holds the installed functions)."""
    return _count > 0


def installed(value) -> bool:
    """Whether value is one of the functions patch() installs."""
    pair = _TO_ORIGINAL.get(id(value))
    return pair is not None and pair[0] is value


class patch:
    """Route torch.nn.init's functions to fastinit.torch, wherever they are bound.

    Replaces torch.nn.init.<name> (the 14 schemes and the deprecated aliases ``uniform``,
    ``normal``, ...), every attribute of a loaded module that holds one of torch's own functions
    (``from torch.nn.init import xavier_uniform_`` in torch.nn.modules.activation and .transformer,
    or in third-party code), and every module-level dict, list or tuple that holds one
    (transformers' ``TORCH_INIT_FUNCTIONS``, which its ``_init_weights`` calls through).  As a
    context manager, torch is restored on exit; as a plain call, ``p = fastinit.torch.patch()``
    patches at once and ``p.undo()`` restores torch exactly: every binding it replaced, and every
    binding that code imported while patched made to fastinit's functions (transformers imported
    inside the patch captures them in its dict), so no fastinit function survives the undo.
    Patches nest and overlap: torch stays patched while any patch is active and is restored exactly
    when the last one is undone, in whatever order they are undone; a binding someone else changed
    while patched is left as they set it."""

    def __init__(self):
        global _count
        with _lock:
            if _count == 0:
                _install()
            _count += 1
        self.active = True

    def undo(self) -> None:
        """End this patch (idempotent); the last active one restores torch."""
        global _count
        with _lock:
            if not self.active:
                return
            self.active = False
            _count -= 1
            if _count == 0:
                _uninstall()

    def __enter__(self) -> "patch":
        return self

    def __exit__(self, *exc) -> None:
        self.undo()
