"""Schemes by name: fastinit.init, fastinit.get, fastinit.schemes."""
from __future__ import annotations

import difflib
import sys
from collections.abc import Sequence as _SequenceABC
from typing import Callable, Sequence

import numpy as np

from . import _formats
from . import _validate as check
from .initializers import Scheme
from .initializers._declare import BY_NAME as _REGISTRY   # every declared name (declarations add to it)


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
        same = torch_name in _REGISTRY and _REGISTRY[torch_name] is _REGISTRY[scheme]  # not Keras' orthogonal
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
    rec.check_params(params)
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
