"""Type stubs for the compiled fastinit._fill (fastinit/_fill.pyx)."""
import enum
from typing import Sequence

import numpy as np

class Dist(enum.IntEnum):
    UNIFORM = 0
    NORMAL = 1
    TRUNC = 2

class Dtype(enum.IntEnum):
    F32 = 0
    F64 = 1
    F16 = 2
    BF16 = 3

class Method(enum.IntEnum):
    INVERT = 0
    SERIES = 1

class Path(enum.IntEnum):
    SCALAR = 0
    AVX512 = 1
    AVX2 = 2
    NEON = 3

SERIES_TERMS: int
ITEMSIZE: dict[int, int]
CHUNK: int
POLL_SECONDS: float
HUGEPAGE_MIN_BYTES: int
STREAM_MIN_BYTES: int

def advise_hugepages(address: int, nbytes: int) -> bool: ...

class Params:
    def __init__(self, *, dist: Dist | int, dtype: Dtype | int, seed: int, stream: int = 0, loc: float = 0.0,
                 scale: float = 1.0, wide: bool = False, method: Method | int = ..., p_lo: float = 0.0,
                 p_hi: float = 0.0, mass: float = 1.0, clamp_lo: float, clamp_hi: float,
                 coef: Sequence[float] = ()) -> None: ...
    @property
    def dtype(self) -> Dtype: ...
    def fields(self) -> dict[str, int | float | list[int] | list[float]]: ...

def openmp_enabled() -> bool: ...
def omp_max_threads() -> int: ...
def path_available(path: Path | int) -> bool: ...
def best_path() -> Path: ...
def fill(out: np.ndarray, params: Params, first: int, num_threads: int, path: Path | int) -> tuple[int, float, float]: ...
def philox4x32(counters: np.ndarray, key: np.ndarray, out: np.ndarray) -> None: ...
def f32_to_f16_bits(f: float) -> int: ...
def f32_to_bf16_bits(f: float) -> int: ...
