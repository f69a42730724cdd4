"""Argument checks shared by every public function.  Everything is validated before any value
is written, and errors name the argument, what was given and what is accepted."""
from __future__ import annotations

import math
import numbers
import operator
import sys
from collections.abc import Sequence

import numpy as np

from ._formats import Format, format_of

MAX_INDEX = 1 << 62  # element indices (offset + size) stay below this
# Most threads a fill may use.  Above the CPU count threads only wait for each other, and the
# OpenMP runtime aborts the whole interpreter when it cannot start the threads it was asked for
# (num_threads=40000 did), so requests are checked against a cap that covers the largest
# machines (512 hardware threads on two 128-core, 2-way SMT sockets) with room to spare.
MAX_THREADS = 1024
REPR_LIMIT = 80  # characters of a value shown in an error message


def short_repr(value) -> str:
    """repr(value) on one line, cut to REPR_LIMIT characters (a tensor's repr runs to pages; a huge
    int's cannot even be printed past 4300 digits)."""
    if isinstance(value, int) and value.bit_length() > 128:
        return f"{'a negative' if value < 0 else 'an'} int of about {math.floor(value.bit_length() * math.log10(2)) + 1} digits"
    try:
        text = " ".join(repr(value).split())
    except Exception:                      # a broken __repr__ must not hide the real error
        text = f"<{type(value).__qualname__} object>"
    return text if len(text) <= REPR_LIMIT else text[:REPR_LIMIT - 16] + " ... " + text[-11:]


def describe(value) -> str:
    """A value for an error message: its short_repr and its type."""
    if isinstance(value, int) and value.bit_length() > 128:
        return short_repr(value)
    kind = type(value)
    type_name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__.split('.')[0]}.{kind.__qualname__}"
    return f"{short_repr(value)} ({type_name})"


def real(name: str, value, *, allow_inf: bool = False) -> float:
    """A float64 from a real number (Python or numpy); bool, nan, values beyond float64's range
    (a huge int) and, unless allow_inf, ±inf are errors naming the argument."""
    allowed = "a number or ±inf" if allow_inf else "a finite number"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {describe(value)}")
    try:
        v = float(value)
    except OverflowError:   # int/Fraction beyond float64: float() raises instead of returning inf
        raise ValueError(f"{name} must be {allowed} within float64's range (±{sys.float_info.max:.6g}); "
                         f"got {describe(value)}") from None
    if math.isnan(v) or (math.isinf(v) and not allow_inf):
        raise ValueError(f"{name} must be {allowed}; got {v}")
    return v


def integer(name: str, value, lo: int, hi: int, *, failed: str | None = None) -> int:
    """An int in [lo, hi); bools, non-integers and ints out of range are errors whose message is
    `failed` (default "<name> must be an integer in [lo, hi); got") followed by the value."""
    failed = failed or f"{name} must be an integer in [{lo}, {hi}); got"
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{failed} {value!r}")
    try:
        v = operator.index(value)
    except TypeError:
        raise TypeError(f"{failed} {describe(value)}") from None
    if not lo <= v < hi:
        raise ValueError(f"{failed} {describe(v) if v.bit_length() > 128 else v}")
    return v


def uint64(name: str, value) -> int:
    return integer(name, value, 0, 1 << 64)


def threads(num_threads, name: str = "num_threads") -> int | None:
    """None, or a thread count from 1 to MAX_THREADS."""
    if num_threads is None:
        return None
    return integer(name, num_threads, 1, MAX_THREADS + 1,
                   failed=f"{name} must be an integer from 1 to {MAX_THREADS} (fastinit's thread limit); got")


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
    """A shape: a sequence (tuple, list, torch.Size, ...) or a 1-D integer numpy array of
    non-negative ints, or one int when allow_int.  Iterators, generators and sets are refused: a
    set has no order (its shape would come out permuted) and an iterator is used up."""
    accepted = ("an int or a sequence of non-negative ints, such as 1000 or (1000, 64)" if allow_int
                else "a sequence of non-negative ints, such as (1000, 64)")
    if allow_int and isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return (integer(name, value, 0, MAX_INDEX),)
    is_int_vector = isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype.kind in "iu"
    if isinstance(value, (str, bytes)) or not (isinstance(value, Sequence) or is_int_vector):
        hint = ""
        if hasattr(value, "shape") and not isinstance(value, np.ndarray):
            hint = "; to use an array's or tensor's shape, pass x.shape"
        elif isinstance(value, (set, frozenset)):
            hint = "; a set has no order, pass a tuple"
        elif hasattr(value, "__iter__") and not isinstance(value, (str, bytes)):
            hint = "; pass a tuple, e.g. tuple(...) of it"
        raise TypeError(f"{name} must be {accepted}; got {describe(value)}{hint}")
    dims = []
    for i, s in enumerate(value):
        dims.append(integer(name, s, 0, MAX_INDEX,
                            failed=f"{name} entries must be integers in [0, 2**62), as in (1000, 64); {name}[{i}] is"))
    return tuple(dims)


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
