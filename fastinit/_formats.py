"""Output formats fastinit can fill: float32, float64, float16 and bfloat16.

Each format knows its kernel code, its largest finite value and how to step between its
representable values; the kernels clamp to representable bounds before the final rounding, so a
value can never round past a bound.  bfloat16 is accepted as ``ml_dtypes.bfloat16`` arrays, or as
raw ``uint16`` storage with ``dtype="bfloat16"`` (what adapters such as the torch one pass).
"""
from __future__ import annotations

import struct

import numpy as np

from ._fill import ITEMSIZE, Dtype

F32, F64, F16, BF16 = Dtype.F32, Dtype.F64, Dtype.F16, Dtype.BF16  # the C header's enum fi_dtype

ACCEPTED = "float32, float64, float16 and bfloat16 (ml_dtypes.bfloat16, or uint16 storage with dtype='bfloat16'/'float16')"


class Format:
    def __init__(self, name: str, code: int, np_type=None):
        self.name, self.code, self.np_type = name, code, np_type
        self.itemsize = ITEMSIZE[code]   # the C kernels' table (fi_itemsize)
        self.max = float(np.finfo(np_type).max) if np_type is not None else 3.3895313892515355e38

    def __reduce__(self):   # one object per format, also across processes (dask workers)
        return _by_name, (self.name,)

    @property
    def wide(self) -> bool:
        """Whether the kernel computes in float64 (else float32)."""
        return self.code == F64

    def round(self, x: float) -> float:
        """x rounded to the nearest value of this format (|x| <= max)."""
        if self.np_type is not None:
            return float(self.np_type(x))
        bits = struct.unpack("<I", struct.pack("<f", x))[0]
        bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000  # round half to even, as the kernel
        return struct.unpack("<f", struct.pack("<I", bits))[0]

    def step(self, v: float, up: bool) -> float:
        """The representable neighbour of a representable v."""
        if self.np_type is not None:
            t = self.np_type
            return float(np.nextafter(t(v), t(np.inf) if up else t(-np.inf)))
        bits = struct.unpack("<I", struct.pack("<f", v))[0] >> 16
        if v == 0.0:
            bits = 0x0001 if up else 0x8001
        elif (v > 0) == up:
            bits += 1
        else:
            bits -= 1
        return struct.unpack("<f", struct.pack("<I", bits << 16))[0]

    def at_least(self, x: float) -> float:
        r = self.round(x)
        return r if r >= x else self.step(r, True)

    def at_most(self, x: float) -> float:
        r = self.round(x)
        return r if r <= x else self.step(r, False)

    def below(self, x: float) -> float:
        r = self.at_most(x)
        return r if r < x else self.step(r, False)


FLOAT32 = Format("float32", F32, np.float32)
FLOAT64 = Format("float64", F64, np.float64)
FLOAT16 = Format("float16", F16, np.float16)
# bfloat16 steps through its float32 bit pattern, so it needs no ml_dtypes (arrays of
# ml_dtypes.bfloat16 are recognised by their dtype name).
BFLOAT16 = Format("bfloat16", BF16, None)

_BY_NAME = {f.name: f for f in (FLOAT32, FLOAT64, FLOAT16, BFLOAT16)}
NAMES = tuple(_BY_NAME)


def _by_name(name: str) -> Format:
    return _BY_NAME[name]   # the dtype names fastinit fills (numpy's names; ml_dtypes' bfloat16)


def format_of(arr_dtype: np.dtype, dtype=None) -> Format:
    """The format to fill an array of arr_dtype with; dtype reinterprets uint16 storage."""
    if dtype is not None:
        name = dtype if isinstance(dtype, str) else getattr(np.dtype(dtype), "name", str(dtype))
        fmt = _BY_NAME.get(name)
        if fmt is None:
            raise TypeError(f"dtype={dtype!r} is not supported; fastinit fills {ACCEPTED}")
        if arr_dtype == np.uint16 and fmt.itemsize == 2:
            return fmt
        if arr_dtype.name != fmt.name:
            raise TypeError(f"dtype={fmt.name!r} does not match out.dtype={arr_dtype}; "
                            "dtype= only reinterprets uint16 storage as 'float16' or 'bfloat16'")
    if not arr_dtype.isnative:
        raise TypeError(f"out has non-native byte order ({arr_dtype.str}); use a native-endian array")
    fmt = _BY_NAME.get(arr_dtype.name)
    if fmt is None:
        raise TypeError(f"out has dtype {arr_dtype}; fastinit fills {ACCEPTED}")
    return fmt


def format_named(dtype) -> Format:
    """The format of a dtype to allocate or fill: a numpy dtype (ml_dtypes' bfloat16 too), or the
    name "bfloat16"/"float16" (uint16 storage, as the kernels' dtype= takes it)."""
    if isinstance(dtype, Format):
        return dtype
    if isinstance(dtype, str) and dtype in _BY_NAME:
        return _BY_NAME[dtype]
    return format_of(np.dtype(dtype))


def encode(values: np.ndarray, out: np.ndarray, fmt: Format) -> np.ndarray:
    """float64 values rounded to nearest-even in fmt, as an array of out's dtype (for the
    schemes that compute in numpy: constants, eye, dirac, orthogonal)."""
    v32 = np.asarray(values, dtype=np.float64)
    if fmt.code == BF16:
        bits = v32.astype(np.float32).view(np.uint32).astype(np.uint64)
        bits = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
        return bits if out.dtype == np.uint16 else bits.view(out.dtype)
    if fmt.code == F16 and out.dtype == np.uint16:
        return v32.astype(np.float16).view(np.uint16)
    return v32.astype(out.dtype)
