"""torch.nn.init's functions on fastinit's kernels: same names, signatures, defaults, errors and
return values (the rules are in the package docstring, fastinit/torch/__init__.py)."""
from __future__ import annotations

import inspect
import math
import warnings
from typing import Callable

import torch as _torch
import torch.nn.init as _tinit

from ..initializers import SCHEMES as _RECORDS
from ..registry import scheme as _scheme
from . import _dtensor
from ._core import FILLED as _FILLED, fill_through_numpy, is_dtensor

# the schemes declared with a torch.nn.init name: each becomes a drop-in below
_SCHEMES = tuple(rec.torch for rec in _RECORDS if rec.torch)
# torch.nn.init's deprecated spellings (each warns and calls the underscore function)
_DEPRECATED = tuple(n[:-1] for n in _SCHEMES if hasattr(_tinit, n[:-1]) and hasattr(_tinit, n))

# torch.nn.init's own functions, saved before any patch(): what the tensors fastinit does not fill
# are handed to, and what patch() replaces and restores.
_TORCH = {name: getattr(_tinit, name) for name in _SCHEMES + _DEPRECATED}

# torch's keyword names that the registry's functions spell differently
# the __torch_function__ of tensors whose memory fastinit may write: Tensor's default (plain
# subclasses) and the disabled one (Parameter)
_PLAIN_TORCH_FUNCTION = (_torch.Tensor.__torch_function__.__func__, _torch._C._disabled_torch_function_impl)


class _ZeroStdError(ValueError, ZeroDivisionError):
    """trunc_normal_ with std=0, for which torch raises ZeroDivisionError."""


class _NotATensorError(TypeError, AttributeError):
    """A non-tensor argument: torch.nn.init fails on it with AttributeError ('list' object has no
    attribute 'uniform_'), fastinit with this TypeError, which is also an AttributeError."""


def _seed(generator, device="cpu") -> int:
    """One 64-bit seed drawn from ``generator`` or, when it is None, from the default generator of
    ``device`` (as torch's in-place samplers choose: torch.default_generator for CPU,
    torch.cuda.default_generators[i] for cuda:i).  The device is explicit, so a torch.device(...)
    or set_default_device context cannot move the draw, and a generator on another device than the
    tensor's raises torch's own error."""
    draws = _torch.empty(2, dtype=_torch.int64, device=device).random_(0, 1 << 32, generator=generator).tolist()
    return draws[0] | (draws[1] << 32)


def _dispatch_mode_active() -> bool:
    """Whether a TorchDispatchMode (FakeTensorMode, FunctionalTensorMode, a logging mode...) is on the
    stack: its tensors have no memory, or it wants to see every op, so torch's function must run."""
    from torch.utils._python_dispatch import _get_current_dispatch_mode  # (no public spelling in 2.13)

    return _get_current_dispatch_mode() is not None


def _traced(tensor: _torch.Tensor) -> bool:
    """Whether tensor's ops must go through torch: while torch.compile / torch.export trace, under a
    dispatch mode, and for subclasses with their own __torch_dispatch__ (FakeTensor, FunctionalTensor:
    they have no memory to expose) or their own __torch_function__ (it must see the op)."""
    if _torch.compiler.is_compiling() or _dispatch_mode_active():
        return True
    if is_dtensor(tensor):
        return False
    cls = type(tensor)
    torch_function = getattr(cls.__torch_function__, "__func__", cls.__torch_function__)
    return cls.__torch_dispatch__ is not _torch.Tensor.__torch_dispatch__ or torch_function not in _PLAIN_TORCH_FUNCTION


def _torch_fills(tensor: _torch.Tensor) -> bool:
    """Whether tensor goes to torch.nn.init's own function instead of a fastinit fill (see the
    module docstring): traced tensors, meta, empty, dtypes and layouts fastinit does not fill."""
    return (_traced(tensor) or tensor.is_meta or tensor.numel() == 0 or tensor.dtype not in _FILLED
            or tensor.layout != _torch.strided)


def _number(value):
    """A 0-d tensor parameter (``std=torch.tensor(.02)``) as a Python number (torch reads them so)."""
    if isinstance(value, _torch.Tensor) and value.dim() == 0:
        return value.item()
    return value


def _torch_checks(scheme: str, tensor: _torch.Tensor, params: dict) -> None:
    """torch.nn.init's own checks of shape and structure arguments (rank, fans, mode, nonlinearity,
    groups), run by torch's code on a meta tensor of the same shape (nothing allocated), so they
    raise exactly what torch raises.  (Not the whole function: sampling on meta costs ~1 ms.)
    Numeric parameters are checked by fastinit's kernels (see ArgumentError)."""
    kind = _scheme(scheme).torch_check
    if kind is None:
        return                                  # (no shape checks in torch)
    meta = _torch.empty(tensor.shape, dtype=tensor.dtype, device="meta")
    if kind == "call":
        _TORCH[scheme](meta, **params)          # checks, then returns at once for a meta tensor
    elif kind == "fans":
        _tinit._calculate_fan_in_and_fan_out(meta)
    elif kind == "kaiming":
        _tinit._calculate_correct_fan(meta, params["mode"])
        _tinit.calculate_gain(params["nonlinearity"], params["a"])
    elif kind == "rank2" and meta.dim() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")


def _is_nan(value) -> bool:
    value = _number(value)
    return isinstance(value, float) and math.isnan(value)


def _trunc_normal_checks(mean, std, a, b, stacklevel: int) -> None:
    """What torch's trunc_normal_ does before sampling and skips on meta tensors."""
    if std == 0:
        raise _ZeroStdError("std must be > 0 for trunc_normal_; got 0 (torch raises ZeroDivisionError)")
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
                      "The distribution of values may be incorrect.", stacklevel=stacklevel + 1)


def _trunc_normal_traceable(tensor, mean, std, a, b, generator):
    """N(mean, std²) truncated to [a, b] in torch ops without data-dependent control flow, for traced
    tensors (FakeTensorMode, torch.compile, torch.export), where torch's own rejection loop fails on
    ``mask.any()``: u ~ U(Phi(alpha), Phi(beta)), x = mean + std * sqrt(2) * erfinv(2u - 1), clamped."""
    mean, std, a, b = (float(_number(v)) for v in (mean, std, a, b))
    _trunc_normal_checks(mean, std, a, b, stacklevel=4)
    cdf_a = (1.0 + math.erf((a - mean) / std / math.sqrt(2.0))) / 2.0
    cdf_b = (1.0 + math.erf((b - mean) / std / math.sqrt(2.0))) / 2.0
    with _torch.no_grad():
        tensor.uniform_(2 * cdf_a - 1, 2 * cdf_b - 1, generator=generator)
        tensor.erfinv_().mul_(std * math.sqrt(2.0)).add_(mean).clamp_(min=a, max=b)
    return tensor


def _apply(tensor, scheme: str, generator=None, **params):
    """Fill tensor in place with a registry scheme; random schemes draw their seed from torch.
    ``params`` are torch.nn.init's keyword arguments of ``scheme`` (torch's names)."""
    if not isinstance(tensor, _torch.Tensor):
        hint = (f"; to fill a numpy array in place use fastinit.{scheme}(array, ..., seed=...)"
                if type(tensor).__module__ == "numpy" else "")
        raise _NotATensorError(f"tensor must be a torch.Tensor; got {type(tensor).__name__}{hint}")
    rec = _scheme(scheme)
    torch_kwargs = dict(params, generator=generator) if rec.random else params
    if _torch_fills(tensor) or (scheme == "constant_" and _is_nan(params["val"])):
        if scheme == "trunc_normal_" and _traced(tensor) and tensor.dtype in _FILLED and not tensor.is_meta:
            return _trunc_normal_traceable(tensor, generator=generator, **params)
        return _TORCH[scheme](tensor, **torch_kwargs)
    if tensor.is_inference() and not _torch.is_inference_mode_enabled():
        raise RuntimeError("Inplace update to inference tensor outside InferenceMode is not allowed. You can make "
                           "a clone to get a normal tensor before doing inplace update. (fastinit.torch refuses "
                           "it as torch does; see https://github.com/pytorch/rfcs/pull/17)")
    _torch_checks(scheme, tensor, params)
    params = {k: _number(v) for k, v in params.items()}   # torch's names: the registry takes them
    if scheme == "trunc_normal_":
        _trunc_normal_checks(**params, stacklevel=3)
    if rec.random:
        params["seed"] = _seed(generator, tensor.device)
    if is_dtensor(tensor):   # each rank fills its shard's block of the global fill
        return _dtensor.fill(tensor, rec, params)
    return fill_through_numpy(tensor, lambda arr, dtype: rec.fn(arr, dtype=dtype, **params))


def _drop_in(rec) -> Callable:
    """torch.nn.init's function of a declared scheme: ``(tensor, *torch's parameters[, generator=None])``,
    the parameters and defaults those of the scheme's plan (tests/test_schemes.py checks them
    against torch's), filled by :func:`_apply`.  Written out and compiled, as dataclasses makes its
    methods: binding a Signature per call would cost more than a small fill."""
    P = inspect.Parameter
    own = [p for p in list(inspect.signature(rec.plan).parameters.values())[2:] if p.kind == P.POSITIONAL_OR_KEYWORD]
    params = [P("tensor", P.POSITIONAL_OR_KEYWORD), *own]
    if rec.random:
        params.append(P("generator", P.POSITIONAL_OR_KEYWORD, default=None))
    defaults = {f"_default_{p.name}": p.default for p in params if p.default is not P.empty}
    header = ", ".join(p.name if p.default is P.empty else f"{p.name}=_default_{p.name}" for p in params)
    passed = ", ".join(f"{p.name}={p.name}" for p in own)
    source = (f"def {rec.torch}({header}, **unexpected):\n"
              f"    if unexpected:\n"
              f"        _unexpected({rec.torch!r}, unexpected)\n"
              f"    return _apply(tensor, {rec.torch!r}, {'generator' if rec.random else 'None'}, {passed})\n")
    made = dict(defaults)   # (the defaults by name; _apply is looked up in this module, as a def here would)
    exec(source, globals(), made)   # noqa: S102  (our own source, from the record's parameter names)
    drop_in = made[rec.torch]
    drop_in.__doc__ = rec.plan.__doc__
    drop_in.__signature__ = inspect.Signature(params)   # (without the catch-all: torch's signature)
    return drop_in


def _unexpected(name: str, kwargs: dict):
    key = next(iter(kwargs))
    if key == "seed":
        raise TypeError(f"{name}() takes no seed= (torch.nn.init's signature): pass "
                        f"generator=torch.Generator().manual_seed(seed), or call torch.manual_seed(seed) "
                        f"first; fastinit.{name}(array, seed=...) fills a numpy array")
    raise TypeError(f"{name}() got an unexpected keyword argument {key!r}")


globals().update({rec.torch: _drop_in(rec) for rec in _RECORDS if rec.torch})


def _deprecated(fn):
    """torch.nn.init's deprecated spelling of fn (``uniform`` for ``uniform_``): warns as torch does."""
    new_name = fn.__name__
    old_name = new_name[:-1]

    def deprecated_init(*args, **kwargs):
        warnings.warn(f"`nn.init.{old_name}` is now deprecated in favor of `nn.init.{new_name}`.", FutureWarning,
                      stacklevel=2)
        return fn(*args, **kwargs)

    deprecated_init.__name__ = deprecated_init.__qualname__ = old_name
    deprecated_init.__doc__ = f"{old_name}(...): deprecated, use :func:`{new_name}`."
    return deprecated_init


for _name in _DEPRECATED:
    globals()[_name] = _deprecated(globals()[_name + "_"])


