"""Threads and SIMD path: process-wide defaults, overridable per call."""
from __future__ import annotations

import contextlib
import os
import threading

from . import _fill
from ._validate import integer

_PATHS = {path.name.lower(): path for path in _fill.Path}  # the C header's enum fi_path
_lock = threading.Lock()
_num_threads: int | None = None  # None: OpenMP's default (OMP_NUM_THREADS, else all cores)


def openmp_enabled() -> bool:
    """True when the extension was built with OpenMP (otherwise every fill runs on one thread)."""
    return _fill.openmp_enabled()


def set_num_threads(n: int) -> None:
    """Default number of threads for fills (a call's ``num_threads=`` overrides it)."""
    global _num_threads
    _num_threads = integer("n", n, 1, 1 << 16)


def get_num_threads() -> int:
    """Threads a fill uses by default: set_num_threads, else OMP_NUM_THREADS, else all cores."""
    return _num_threads if _num_threads is not None else max(1, _fill.omp_max_threads())


def _initial_path() -> int:
    want = os.environ.get("FASTINIT_SIMD", "auto").strip().lower()
    if want in ("", "auto"):
        return _fill.best_path()
    if want not in _PATHS:
        raise ImportError(f"FASTINIT_SIMD={want!r}; accepted: auto, scalar, avx2, avx512")
    if not _fill.path_available(_PATHS[want]):
        raise ImportError(f"FASTINIT_SIMD={want!r} but this CPU or build cannot run it")
    return _PATHS[want]


_path = _initial_path()


def simd_path() -> str:
    """The kernel path fills use: 'avx512', 'avx2' or the portable 'scalar' reference."""
    return {v: k for k, v in _PATHS.items()}[_path]


def available_simd_paths() -> list[str]:
    return [name for name, code in _PATHS.items() if _fill.path_available(code)]


def set_simd_path(name: str) -> None:
    """Choose the kernel path ('auto', 'scalar', 'avx2', 'avx512'); values are identical on every path."""
    global _path
    if name == "auto":
        code = _fill.best_path()
    elif name in _PATHS and _fill.path_available(_PATHS[name]):
        code = _PATHS[name]
    else:
        raise ValueError(f"SIMD path {name!r} is not available here; available: {['auto'] + available_simd_paths()}")
    with _lock:
        _path = code


@contextlib.contextmanager
def simd_path_used(name: str):
    """Temporarily use a kernel path (for checks and benchmarks)."""
    old = simd_path()
    set_simd_path(name)
    try:
        yield
    finally:
        set_simd_path(old)


def path_code() -> int:
    return _path
