"""Schemes by name: fastinit.init, fastinit.get, fastinit.schemes."""
from __future__ import annotations

import difflib
import inspect
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from . import _seeding
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


_FUNCTIONS: dict[str, Callable] = {
    # torch.nn.init names (torch semantics)
    "uniform": uniform_, "normal": normal_, "trunc_normal": trunc_normal_,
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
    return np.dtype(dtype)


def init(shape_or_array: Sequence[int] | int | np.ndarray, scheme: str, *, dtype=None, seed: int | None = None,
         **params) -> np.ndarray:
    """Allocate an array of shape (dtype float32 unless given; "bfloat16" needs ml_dtypes) or take an
    existing array, and fill it with a scheme by name:
    ``fastinit.init((10_000_000, 128), "xavier_uniform", seed=0)``."""
    rec = _record(scheme)
    _check_params(scheme, rec.fn, params)
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
