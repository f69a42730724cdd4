"""Argument checks shared by every public function.  Everything is validated before any value
is written, and errors name the argument, what was given and what is accepted."""
from __future__ import annotations

import math
import numbers
import operator

import numpy as np

from ._formats import Format, format_of

MAX_INDEX = 1 << 62  # element indices (offset + size) stay below this
# Most threads a fill may use.  Above the CPU count threads only wait for each other, and the
# OpenMP runtime aborts the whole interpreter when it cannot start the threads it was asked for
# (num_threads=40000 did), so requests are checked against a cap that covers the largest
# machines (512 hardware threads on two 128-core, 2-way SMT sockets) with room to spare.
MAX_THREADS = 1024


def real(name: str, value, *, allow_inf: bool = False) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {value!r} ({type(value).__name__})")
    v = float(value)
    if math.isnan(v) or (math.isinf(v) and not allow_inf):
        allowed = "a number or ±inf" if allow_inf else "a finite number"
        raise ValueError(f"{name} must be {allowed}; got {v}")
    return v


def integer(name: str, value, lo: int, hi: int) -> int:
    """An int in [lo, hi)."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer in [{lo}, {hi}); got {value!r}")
    try:
        v = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer in [{lo}, {hi}); got {value!r} ({type(value).__name__})") from None
    if not lo <= v < hi:
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}); got {v}")
    return v


def uint64(name: str, value) -> int:
    return integer(name, value, 0, 1 << 64)


def threads(num_threads, name: str = "num_threads") -> int | None:
    """None, or a thread count from 1 to MAX_THREADS."""
    if num_threads is None:
        return None
    what = f"{name} must be an integer from 1 to {MAX_THREADS} (fastinit's thread limit)"
    if isinstance(num_threads, (bool, np.bool_)):
        raise TypeError(f"{what}; got {num_threads!r}")
    try:
        v = operator.index(num_threads)
    except TypeError:
        raise TypeError(f"{what}; got {num_threads!r} ({type(num_threads).__name__})") from None
    if not 1 <= v <= MAX_THREADS:
        raise ValueError(f"{what}; got {v}")
    return v


def out_array(out, dtype=None) -> tuple[np.ndarray, Format]:
    """Check that out is a buffer fastinit can fill in place."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy.ndarray or numpy.memmap; got {type(out).__name__} "
                        "(torch tensors: use fastinit.torch)")
    fmt = format_of(out.dtype, dtype)
    if not out.flags.writeable:
        raise ValueError("out is read-only; pass a writable array")
    if not out.flags.c_contiguous:
        raise ValueError(f"out must be C-contiguous (got strides {out.strides} for shape {out.shape}); "
                         "fill a contiguous array, or np.ascontiguousarray(out), and copy")
    if not out.flags.aligned:
        raise ValueError("out is not aligned to its dtype; pass an aligned array (e.g. from np.empty)")
    return out, fmt


def offset(value, size: int) -> int:
    off = integer("offset", value, 0, MAX_INDEX)
    if off + size > MAX_INDEX:
        raise ValueError(f"offset + out.size must be at most 2**62; got {off} + {size}")
    return off


def shape(name: str, value, *, allow_int: bool = True) -> tuple[int, ...]:
    """A shape: a sequence of non-negative ints (or one int, when allow_int)."""
    if allow_int and isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return (integer(name, value, 0, MAX_INDEX),)
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        accepted = "an int or a sequence of non-negative ints" if allow_int else "a sequence of non-negative ints"
        raise TypeError(f"{name} must be {accepted}; got {value!r}")
    return tuple(integer(f"{name} entries", s, 0, MAX_INDEX) for s in value)


def shard(full_shape, offset_value, out_shape: tuple) -> tuple[tuple, int]:
    """(whole shape, offset) of a shard: full_shape defaults to out's own shape."""
    size = math.prod(out_shape)
    off = offset(offset_value, size)
    if full_shape is None:
        return tuple(out_shape), off
    whole = shape("full_shape", full_shape, allow_int=False)
    if off + size > math.prod(whole):
        raise ValueError(f"out (size {size}) at offset {off} does not fit in full_shape {whole}")
    return whole, off
