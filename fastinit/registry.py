"""Schemes by name: fastinit.init, fastinit.get, fastinit.schemes."""
from __future__ import annotations

import difflib
import inspect
import math
import sys
from collections.abc import Sequence as _SequenceABC
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from . import _formats, _seeding
from . import _validate as check
from . import initializers as S
from .kernels import normal_, trunc_normal_, uniform_

@dataclass(frozen=True)
class Scheme:
    """One scheme: its in-place function, whether it draws random numbers (takes ``seed=``), and
    whether it needs the whole tensor at once (a QR, a per-column mask) rather than filling any
    block at its global offset."""
    name: str
    fn: Callable
    random: bool
    whole_tensor: bool

    def resolve(self, seed, params: dict) -> dict:
        """Validated keyword arguments for ``fn`` (seed resolved once, so every block shares it)."""
        for reserved in ("full_shape", "offset", "out", "dtype"):
            if reserved in params:
                raise ValueError(f"{reserved}= is set by fastinit here; do not pass it")
        _check_params(self.name, self.fn, params)
        kwargs = dict(params)
        if self.random:
            kwargs["seed"] = _seeding.resolve(seed)
        elif seed is not None:
            raise ValueError(f"scheme {self.name!r} is not random and takes no seed")
        return kwargs

    def check(self, full_shape: tuple, dtype, kwargs: dict, *, storage=None) -> None:
        """Raise for bad ``kwargs`` on a tensor of ``full_shape`` without writing anything of the
        caller's: ``fn`` fills a one-element scratch at offset 0, or, when the tensor is empty, an
        empty array of its shape (all of the shape checks, for every scheme: nothing to compute).
        Block-wise fills (dask, init_npy, init_zarr, JAX, an empty block) check this before their
        first block.  Non-empty tensors of schemes that need the whole tensor are checked by their
        own fill."""
        if not math.prod(full_shape):
            self.fn(np.empty(full_shape, dtype), dtype=storage, **kwargs)
            return
        if self.whole_tensor:
            return
        self.fn(np.empty(1, dtype), full_shape=full_shape, offset=0, dtype=storage, **kwargs)


_UNSET = object()   # "not passed": a=None must stay an error, as in torch


def _one_of(name: str, value, alias: str, alias_value, default) -> tuple[str, object]:
    """(the name the caller used, its value) of a parameter that has two names."""
    if value is not _UNSET and alias_value is not None:
        raise ValueError(f"{name}= and {alias}= are the same parameter (torch's name and the kernel's); pass one")
    if alias_value is not None:
        return alias, alias_value
    return name, default if value is _UNSET else value


def _uniform_torch_names(out: np.ndarray, a: float = _UNSET, b: float = _UNSET, *, low: float | None = None,
                         high: float | None = None, **kernel_kwargs) -> np.ndarray:
    """U[a, b) under torch.nn.init.uniform_'s names, a=0.0, b=1.0 (the kernel ``fastinit.uniform_``
    calls them low, high, and those are accepted too); errors name the parameter the caller used."""
    low_name, low = _one_of("a", a, "low", low, 0.0)
    high_name, high = _one_of("b", b, "high", high, 1.0)
    low, high = check.real(low_name, low), check.real(high_name, high)
    if low > high:
        raise ValueError(f"{low_name} must be <= {high_name}; got {low_name}={low}, {high_name}={high}")
    return uniform_(out, low, high, **kernel_kwargs)


def _with_torch_names_signature(kernel: Callable) -> inspect.Signature:
    """The kernel's signature with (low, high) renamed to torch's (a, b), plus low/high as keywords."""
    P = inspect.Parameter
    sig = inspect.signature(kernel)
    keywords = [p for name, p in sig.parameters.items() if name not in ("out", "low", "high")]
    return sig.replace(parameters=[
        sig.parameters["out"], P("a", P.POSITIONAL_OR_KEYWORD, default=0.0, annotation=float),
        P("b", P.POSITIONAL_OR_KEYWORD, default=1.0, annotation=float),
        P("low", P.KEYWORD_ONLY, default=None, annotation="float | None"),
        P("high", P.KEYWORD_ONLY, default=None, annotation="float | None"), *keywords])


# what the registry checks parameters against, and what help() shows
_uniform_torch_names.__signature__ = _with_torch_names_signature(uniform_)

# Records under torch.nn.init's names take torch's parameter names (tests/test_schemes.py checks
# them against torch's signatures): only uniform needs renaming, the other kernels already match.
_FUNCTIONS: dict[str, Callable] = {
    # torch.nn.init names (torch semantics)
    "uniform": _uniform_torch_names, "normal": normal_, "trunc_normal": trunc_normal_,
    "constant": S.constant_, "zeros": S.zeros_, "ones": S.ones_, "eye": S.eye_, "dirac": S.dirac_,
    "xavier_uniform": S.xavier_uniform_, "xavier_normal": S.xavier_normal_,
    "kaiming_uniform": S.kaiming_uniform_, "kaiming_normal": S.kaiming_normal_,
    "sparse": S.sparse_, "variance_scaling": S.variance_scaling_,
    # Keras / JAX names (Keras semantics)
    "glorot_uniform": S.glorot_uniform, "glorot_normal": S.glorot_normal,
    "he_uniform": S.he_uniform, "he_normal": S.he_normal,
    "lecun_uniform": S.lecun_uniform, "lecun_normal": S.lecun_normal,
    "truncated_normal": S.truncated_normal, "random_uniform": S.random_uniform, "random_normal": S.random_normal,
    "identity": S.identity, "orthogonal": S.orthogonal, "delta_orthogonal": S.delta_orthogonal,
    # embedding presets
    "torch_embedding": S.torch_embedding, "torchrec_embedding": S.torchrec_embedding,
    "dlrm_embedding": S.dlrm_embedding,
}
# the in-place spellings of torch names are accepted too ("xavier_uniform_" ...)
_FUNCTIONS.update({f"{k}_": _FUNCTIONS[k] for k in (
    "uniform", "normal", "trunc_normal", "constant", "zeros", "ones", "eye", "dirac", "xavier_uniform",
    "xavier_normal", "kaiming_uniform", "kaiming_normal", "sparse", "variance_scaling")})
_FUNCTIONS.update(lecun_uniform_=S.lecun_uniform_, lecun_normal_=S.lecun_normal_, orthogonal_=S.orthogonal_)

# Schemes whose values at an index depend on the whole tensor, not only on (seed, index).
_WHOLE_TENSOR = (S.orthogonal_, S.orthogonal, S.delta_orthogonal, S.sparse_)

_REGISTRY: dict[str, Scheme] = {
    name: Scheme(name, fn, "seed" in inspect.signature(fn).parameters, fn in _WHOLE_TENSOR)
    for name, fn in _FUNCTIONS.items()}


def schemes() -> list[str]:
    """Every scheme name fastinit.init and fastinit.get accept."""
    return sorted(_REGISTRY)


def scheme(name: str) -> Scheme:
    """The registry record of a scheme, by name (close matches suggested for unknown names)."""
    if not isinstance(name, str):
        raise TypeError(f"scheme must be a name (str); got {type(name).__name__}")
    rec = _REGISTRY.get(name)
    if rec is None:
        close = difflib.get_close_matches(name, schemes(), n=3)
        hint = f"; did you mean {' or '.join(close)}?" if close else f"; known schemes: {', '.join(schemes())}"
        raise ValueError(f"unknown scheme {name!r}{hint}")
    return rec


_record = scheme  # for functions whose argument is named `scheme`


def get(name: str) -> Callable:
    """The in-place function of a scheme, by name."""
    return scheme(name).fn


def _check_params(name: str, fn: Callable, params: dict) -> None:
    accepted = [p for p in inspect.signature(fn).parameters if p != "out"]
    for key in params:
        if key not in accepted:
            close = difflib.get_close_matches(key, accepted, n=2)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            raise ValueError(f"scheme {name!r} has no parameter {key!r}{hint} (accepted: {', '.join(accepted)})")


def _alloc_dtype(dtype):
    if isinstance(dtype, str) and dtype == "bfloat16":
        try:
            import ml_dtypes
        except ImportError:
            raise TypeError("dtype='bfloat16' needs ml_dtypes (pip install ml_dtypes), or pass a uint16 array "
                            "with dtype='bfloat16'") from None
        return np.dtype(ml_dtypes.bfloat16)
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype {check.describe(dtype)} is not a numpy dtype; fastinit fills float32, float64, "
                        "float16 and 'bfloat16'") from None
    if dt.name not in _formats.NAMES:   # (named here, not as out's dtype later)
        raise TypeError(f"dtype={dt.name}: fastinit fills float32, float64, float16 and 'bfloat16'")
    return dt


def _not_an_output(first, scheme: str) -> str | None:
    """Why init's first argument is neither a fillable numpy array nor a shape, if it looks like one
    of the usual mistakes (a tensor, another library's array, an integer array meant as a shape)."""
    if isinstance(first, np.ndarray):
        if first.dtype.kind not in "iub":
            return None
        as_shape = "int(arr)" if first.ndim == 0 else "tuple(arr)"
        kind = "a bool" if first.dtype.kind == "b" else "an integer"
        return (f"got {kind} numpy array (shape {first.shape}, dtype {first.dtype}), which cannot be filled and "
                f"is not read as a shape; to allocate by shape, pass {as_shape}")
    torch = sys.modules.get("torch")   # (never imported here: a tensor can only exist if torch is loaded)
    if torch is not None and isinstance(first, torch.Tensor):
        torch_name = scheme if scheme.endswith("_") else scheme + "_"
        same = torch_name in _REGISTRY and _REGISTRY[torch_name].fn is _REGISTRY[scheme].fn  # not Keras' orthogonal
        # fastinit.torch has every torch.nn.init scheme under torch's name (not imported here)
        adapted = callable(getattr(getattr(getattr(torch, "nn", None), "init", None), torch_name, None))
        fill = (f"fastinit.torch.{torch_name}(t)" if same and adapted
                else f"fastinit.init(t.detach().numpy(), {scheme!r}) (a CPU float tensor, shares its memory)")
        return (f"got a torch.Tensor of shape {tuple(first.shape)} and dtype {first.dtype}: fill it in place with "
                f"{fill}, or pass t.shape to allocate a new numpy array")
    if (hasattr(first, "shape") and hasattr(first, "dtype") and not isinstance(first, (str, bytes, _SequenceABC))):
        kind = type(first)
        return (f"got a {kind.__module__.split('.')[0]}.{kind.__qualname__} of shape {getattr(first, 'shape')}: "
                "fastinit.init fills numpy arrays in place (np.asarray(x) if it shares x's memory) or allocates "
                "by shape: pass x.shape")
    return None


def init(shape_or_array: Sequence[int] | int | np.ndarray, scheme: str, *, dtype=None, seed: int | None = None,
         **params) -> np.ndarray:
    """Fill an array with a scheme, by name, and return it:
    ``fastinit.init((10_000_000, 128), "xavier_uniform", seed=0)``.

    The first argument is either
      * a shape: an int, or a sequence of non-negative ints (tuple, list, ``torch.Size``, ...).  A new
        C-contiguous array of that shape is allocated, of ``dtype`` (float32 unless given; float64,
        float16, or "bfloat16", which needs ml_dtypes); or
      * a numpy array (or ``np.memmap``) of float32, float64, float16 or bfloat16, C-contiguous and
        writable: it is filled in place and returned (``dtype=`` may only repeat its dtype).
    An integer numpy array is neither: it cannot be filled, and it is not read as a shape (one call
    must not mean two things by dtype); pass ``tuple(arr)``.  Torch tensors and other libraries'
    arrays are refused with the way to fill them (``fastinit.torch.<name>_(t)``) or to pass
    ``x.shape``.  Generators and sets are refused as shapes (a set has no order).

    ``params`` are the scheme's parameters (``inspect.signature(fastinit.get(scheme))``): schemes under
    torch.nn.init's names take torch's (``"uniform_"``: a, b; ``"normal_"``: mean, std, ...), Keras
    names take Keras' (``"random_uniform"``: minval, maxval).  ``seed`` is for random schemes only;
    ``seed=None`` draws a fresh one.  Everything is checked before any value is written."""
    if isinstance(shape_or_array, str) and shape_or_array in _REGISTRY and not isinstance(scheme, str):
        raise TypeError(f"got the scheme name {shape_or_array!r} first: the arguments are (shape_or_array, scheme)")
    rec = _record(scheme)
    _check_params(scheme, rec.fn, params)
    mistake = _not_an_output(shape_or_array, scheme)
    if mistake is not None:
        raise TypeError(f"fastinit.init's first argument is a shape or a float numpy array; {mistake}")
    if isinstance(shape_or_array, np.ndarray):
        out = shape_or_array
        if dtype is not None and _alloc_dtype(dtype) != out.dtype:
            raise ValueError(f"dtype={dtype!r} does not match the array's dtype {out.dtype}; "
                             "dtype= is for allocating by shape")
    else:
        out = np.empty(check.shape("shape", shape_or_array), dtype=_alloc_dtype(np.float32 if dtype is None else dtype))
    if rec.random:
        params["seed"] = seed
    elif seed is not None:
        raise ValueError(f"scheme {scheme!r} is not random and takes no seed")
    return rec.fn(out, **params)
