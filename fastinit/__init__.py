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
            "comes with the build); outside a checkout, `pip install fastinit-nn`.")
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
from .initializers import (constant_, dirac_, dlrm_embedding, eye_, glorot_normal, glorot_uniform, he_normal, he_uniform,
                      identity, kaiming_normal_, kaiming_uniform_, lecun_normal, lecun_normal_, lecun_uniform,
                      lecun_uniform_, ones_, orthogonal, orthogonal_, random_normal, random_uniform, sparse_,
                      torch_embedding, torchrec_embedding, truncated_normal, variance_scaling_, xavier_normal_,
                      xavier_uniform_, zeros_)

__all__ += [
    "calculate_fans", "calculate_gain", "init", "get", "scheme", "Scheme", "schemes", "fill_block", "init_npy", "init_zarr",
    "constant_", "zeros_", "ones_", "eye_", "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
    "kaiming_normal_", "lecun_uniform_", "lecun_normal_", "variance_scaling_", "orthogonal_", "sparse_",
    "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform", "lecun_normal",
    "truncated_normal", "random_uniform", "random_normal", "identity", "orthogonal",
    "torch_embedding", "torchrec_embedding", "dlrm_embedding",
]
