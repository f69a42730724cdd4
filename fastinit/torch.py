"""fastinit.torch: a drop-in for torch.nn.init on tensors.

Same names, signatures, defaults and return values as torch.nn.init (including ``generator=``).
CPU tensors of float32, float64, float16 and bfloat16 are filled in place, without a copy.
Seeding follows torch: each call draws its 64-bit fastinit seed from ``generator`` or, when it is
None, from torch's default generator, so ``torch.manual_seed(42)`` makes fastinit.torch exactly as
reproducible as it makes torch (the values differ from torch's own: the generator is Philox,
not torch's).  Non-contiguous tensors, and tensors on other devices, are filled on the CPU in a
contiguous temporary and copied in (values follow the tensor's logical row-major order).
Meta tensors are left alone, as torch does.

``patch()`` routes ``torch.nn.init.*`` to these functions, so third-party model code
(``nn.Linear``, ``nn.Embedding``, ...) initializes at fastinit speed without edits::

    with fastinit.torch.patch():
        model = build_model()          # nn.Embedding(10_000_000, 128) fills on every core
"""
from __future__ import annotations

import numpy as np
import torch as _torch

from .fans import calculate_gain
from .registry import scheme as _scheme

__all__ = ["uniform_", "normal_", "trunc_normal_", "constant_", "zeros_", "ones_", "eye_", "dirac_",
           "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "sparse_",
           "calculate_gain", "patch"]

_NUMPY_VIEWABLE = {_torch.float32, _torch.float64, _torch.float16}


def _seed(generator) -> int:
    """One 64-bit seed drawn from torch's generator (the default one when generator is None)."""
    draws = _torch.empty(2, dtype=_torch.int64).random_(0, 1 << 32, generator=generator).tolist()
    return draws[0] | (draws[1] << 32)


def _array(t: _torch.Tensor):
    """A numpy view sharing t's memory, and the dtype= to pass with it."""
    if t.dtype in _NUMPY_VIEWABLE:
        return t.numpy(), None
    if t.dtype == _torch.bfloat16:
        return t.view(_torch.int16).numpy().view(np.uint16), "bfloat16"
    raise TypeError(f"fastinit.torch fills float32, float64, float16 and bfloat16 tensors; got {t.dtype}")


def _apply(tensor, scheme: str, generator=None, **params):
    """Fill tensor in place with a registry scheme; random schemes draw their seed from torch."""
    if not isinstance(tensor, _torch.Tensor):
        raise TypeError(f"tensor must be a torch.Tensor; got {type(tensor).__name__}")
    if tensor.is_meta:
        return tensor
    rec = _scheme(scheme)
    if rec.random:
        params["seed"] = _seed(generator)
    in_place = tensor.device.type == "cpu" and tensor.is_contiguous()
    work = tensor.detach() if in_place else _torch.empty(tensor.shape, dtype=tensor.dtype, device="cpu")
    arr, dtype = _array(work)
    rec.fn(arr, dtype=dtype, **params)
    if not in_place:
        with _torch.no_grad():
            tensor.copy_(work)
    return tensor


def uniform_(tensor, a: float = 0.0, b: float = 1.0, generator=None):
    """U[a, b)."""
    return _apply(tensor, "uniform_", generator, low=a, high=b)


def normal_(tensor, mean: float = 0.0, std: float = 1.0, generator=None):
    """N(mean, std²)."""
    return _apply(tensor, "normal_", generator, mean=mean, std=std)


def trunc_normal_(tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0, generator=None):
    """N(mean, std²) truncated to [a, b] (absolute bounds), single pass by inversion."""
    return _apply(tensor, "trunc_normal_", generator, mean=mean, std=std, a=a, b=b)


def constant_(tensor, val: float):
    return _apply(tensor, "constant_", val=val)


def zeros_(tensor):
    return _apply(tensor, "zeros_")


def ones_(tensor):
    return _apply(tensor, "ones_")


def eye_(tensor):
    return _apply(tensor, "eye_")


def dirac_(tensor, groups: int = 1):
    return _apply(tensor, "dirac_", groups=groups)


def xavier_uniform_(tensor, gain: float = 1.0, generator=None):
    return _apply(tensor, "xavier_uniform_", generator, gain=gain)


def xavier_normal_(tensor, gain: float = 1.0, generator=None):
    return _apply(tensor, "xavier_normal_", generator, gain=gain)


def kaiming_uniform_(tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", generator=None):
    return _apply(tensor, "kaiming_uniform_", generator, a=a, mode=mode, nonlinearity=nonlinearity)


def kaiming_normal_(tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", generator=None):
    return _apply(tensor, "kaiming_normal_", generator, a=a, mode=mode, nonlinearity=nonlinearity)


def orthogonal_(tensor, gain: float = 1, generator=None):
    return _apply(tensor, "orthogonal_", generator, gain=gain)


def sparse_(tensor, sparsity: float, std: float = 0.01, generator=None):
    return _apply(tensor, "sparse_", generator, sparsity=sparsity, std=std)


_PATCHED = [n for n in __all__ if n.endswith("_")]


class patch:
    """Route torch.nn.init.<scheme>_ to fastinit.torch.

    As a context manager, torch.nn.init is restored on exit; as a plain call,
    ``p = fastinit.torch.patch()`` patches at once and ``p.undo()`` restores torch exactly."""

    def __init__(self):
        import torch.nn.init as tinit

        self._module = tinit
        self._saved = {name: getattr(tinit, name) for name in _PATCHED}
        for name in _PATCHED:
            setattr(tinit, name, globals()[name])
        self.active = True

    def undo(self) -> None:
        if self.active:
            for name, fn in self._saved.items():
                setattr(self._module, name, fn)
            self.active = False

    def __enter__(self) -> "patch":
        return self

    def __exit__(self, *exc) -> None:
        self.undo()
