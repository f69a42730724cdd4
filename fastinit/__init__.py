"""fastinit: neural-network weight initialization at memory bandwidth.

Parallel (OpenMP, GIL released), counter-based (Philox4x32-10) fills whose values depend only on
(seed, stream, element index): never on thread count, chunking, sharding or CPU.
"""
from ._version import __version__


def _extension_error(error: ImportError) -> ImportError:
    """Say plainly when the compiled extension is missing (a source checkout that was never built)
    or present but unloadable, instead of Python's 'partially initialized module' message."""
    import importlib.machinery
    import os
    here = os.path.dirname(os.path.abspath(__file__))
    built = [name for name in os.listdir(here) if name.startswith("_fill.")
             and name.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))]
    if not built:
        return ImportError(
            f"fastinit's compiled extension (fastinit._fill) is not built in {here}. From a source checkout, "
            "build and install it with `pip install -e .` in the checkout's root (needs a C compiler; Cython "
            "comes with the build); outside a checkout, install a wheel file (`pip install "
            "./fastinit_nn-VERSION-TAGS.whl`; a checkout's `python tools/build_wheels.py` makes them) or a "
            "checkout (`pip install /path/to/checkout`): fastinit-nn is not on the package index yet.")
    return ImportError(f"fastinit's compiled extension {built[0]} in {here} failed to load ({error}); rebuild it "
                       "with `pip install -e .` in the checkout's root")


try:
    from . import _fill  # noqa: F401  (the C kernels: first import, so a missing build is reported here)
except ImportError as _error:
    raise _extension_error(_error) from None

from ._runtime import (MAX_THREADS, available_cpus, available_simd_paths, get_num_threads, openmp_enabled,
                       set_num_threads, set_simd_path, simd_path, simd_path_used)
from ._seeding import manual_seed
from .kernels import normal_, philox4x32, trunc_normal_, uniform_

__all__ = [
    "uniform_", "normal_", "trunc_normal_", "philox4x32", "manual_seed",
    "set_num_threads", "get_num_threads", "available_cpus", "MAX_THREADS", "openmp_enabled",
    "simd_path", "set_simd_path", "simd_path_used", "available_simd_paths",
]

from .fans import calculate_fans, calculate_gain
from .npy import init_npy
from .zarr import init_zarr
from .registry import Scheme, get, init, scheme, schemes
from .blocks import fill_block
from .initializers import FUNCTIONS as _SCHEME_FUNCTIONS

globals().update(_SCHEME_FUNCTIONS)   # every declared scheme's in-place function, by its public name
__all__ += ["calculate_fans", "calculate_gain", "init", "get", "scheme", "Scheme", "schemes", "fill_block", "init_npy",
            "init_zarr", *_SCHEME_FUNCTIONS]
