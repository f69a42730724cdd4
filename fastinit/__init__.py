"""fastinit: neural-network weight initialization at memory bandwidth.

Parallel (OpenMP, GIL released), counter-based (Philox4x32-10) fills whose values depend only on
(seed, stream, element index): never on thread count, chunking, sharding or CPU.
"""
from ._runtime import (available_simd_paths, get_num_threads, openmp_enabled, set_num_threads,
                       set_simd_path, simd_path, simd_path_used)
from ._seeding import manual_seed
from .kernels import normal_, philox4x32, trunc_normal_, uniform_

__version__ = "0.1.0"

__all__ = [
    "uniform_", "normal_", "trunc_normal_", "philox4x32", "manual_seed",
    "set_num_threads", "get_num_threads", "openmp_enabled",
    "simd_path", "set_simd_path", "simd_path_used", "available_simd_paths",
]
