"""Threads and SIMD path: process-wide defaults, overridable per call (threads) or per thread
(SIMD path, with simd_path_used).  A fill's thread count is decided here alone (fill_threads);
fastinit._fill.fill runs the count it is given."""
from __future__ import annotations

import contextlib
import os
import threading
import warnings

from . import _adaptive, _cpus, _fill
from ._validate import MAX_THREADS, threads as _check_threads

_PATHS = {path.name.lower(): path for path in _fill.Path}  # the C header's enum fi_path
_lock = threading.Lock()
_num_threads: int | None = None  # None: automatic (OMP_NUM_THREADS, else the CPUs available)
_cgroup_quota: list[float | None] = []  # read once, on first use


def openmp_enabled() -> bool:
    """True when the extension was built with OpenMP (otherwise every fill runs on one thread)."""
    return _fill.openmp_enabled()


def _env_num_threads(raw: str | None) -> int | None:
    """OMP_NUM_THREADS as OpenMP reads it: the first entry of the list ("8" or "8,2").  A value
    that is not a positive integer is ignored, as libgomp ignores it; one above MAX_THREADS is an
    error (libgomp would try to start that many threads and abort the interpreter)."""
    if raw is None or not raw.strip():
        return None
    first = raw.split(",")[0].strip()
    try:
        n = int(first)
    except ValueError:
        n = 0
    if n < 1:
        warnings.warn(f"OMP_NUM_THREADS={raw!r} is not a positive integer; fastinit ignores it", RuntimeWarning,
                      stacklevel=4)
        return None
    if n > MAX_THREADS:
        raise ValueError(f"OMP_NUM_THREADS={first} is above fastinit's limit of {MAX_THREADS} threads; "
                         "set it lower, or call fastinit.set_num_threads(n) with n <= that")
    return n


_OMP_NUM_THREADS = os.environ.get("OMP_NUM_THREADS")  # read at import, as the OpenMP runtime does


def available_cpus() -> int:
    """CPUs this process may use: its affinity mask (taskset, os.sched_setaffinity), capped by a
    cgroup CPU quota (containers: docker --cpus, Kubernetes limits; cgroup v2 and v1)."""
    if not _cgroup_quota:
        _cgroup_quota.append(_cpus.cgroup_cpu_limit())
    return _cpus.available_cpus(_cgroup_quota[0])


def set_num_threads(n: int | None) -> None:
    """Default number of threads for fills (a call's ``num_threads=`` overrides it), from 1 to
    fastinit.MAX_THREADS; None returns to the automatic default (see get_num_threads)."""
    global _num_threads
    _num_threads = None if n is None else _check_threads(n, name="n")


def team_usable() -> bool:
    """False in a process forked (os.fork, multiprocessing's "fork" start method, torch DataLoader
    workers, ...) after fastinit ran a thread team in its parent: OpenMP's (libgomp's) thread pool
    does not survive fork(), so there every fill runs on the calling thread, with the same values.
    A child started by "spawn" or "forkserver", or forked before the parent's first threaded
    fill, has the whole team."""
    return _fill.team_usable()


def _asked(num_threads: int | None) -> tuple[int, bool]:
    """(threads asked for, whether that is the automatic default): num_threads, else
    set_num_threads, else OMP_NUM_THREADS, else the CPUs available (one without OpenMP)."""
    if num_threads is not None:
        return num_threads, False
    if _num_threads is not None:
        return _num_threads, False
    env = _env_num_threads(_OMP_NUM_THREADS)
    if env is not None:
        return env, False
    if not openmp_enabled():
        return 1, False
    return min(available_cpus(), MAX_THREADS), True


def get_num_threads() -> int:
    """Threads a fill uses by default: set_num_threads, else OMP_NUM_THREADS, else the CPUs this
    process may use (affinity mask and cgroup quota; see available_cpus), at most MAX_THREADS.
    In the last, automatic case a fill runs on one thread instead while this process's recent
    fills of its kind show a team no faster than one thread (a machine busy with other work).
    1 in a process forked after fastinit ran threads (see team_usable)."""
    return _asked(None)[0] if team_usable() else 1


# A thread is only worth starting for at least this many elements (team wake-up costs about as
# much as filling a few thousand elements); smaller fills run on the calling thread.
MIN_PER_THREAD = 1 << 17


def threads_for(n: int, num_threads: int) -> int:
    """Threads a fill of n elements runs on: num_threads, fewer when n is too small to share."""
    return max(1, min(num_threads, n // MIN_PER_THREAD))


_chooser = _adaptive.TeamChooser()


def fill_threads(num_threads: int | None, n: int, kind: str | None = None) -> tuple[int, bool]:
    """(threads a fill of n elements of a kind such as "normal float32" runs on, whether they are
    the automatic choice): the one decision, which fastinit._fill.fill then runs as given.
    num_threads (already validated), set_num_threads and OMP_NUM_THREADS are obeyed as given;
    otherwise all available CPUs, or one thread while this kind's measured fills show a team no
    faster than one thread on a busy machine (fastinit/_adaptive.py); then fewer when n is too
    small to share (threads_for).  One thread in a process forked after a team ran (see
    team_usable), with a warning, once, where more were asked for."""
    if not team_usable():
        asked = num_threads if num_threads is not None else _num_threads
        if asked is not None and asked > 1:
            _warn_forked(asked)
        return 1, False
    if n < 2 * MIN_PER_THREAD:   # one thread whatever is asked (and not measured): skip the CPU count
        return 1, False
    threads, automatic = _asked(num_threads)
    if automatic:
        threads = _chooser.choose(threads, n, kind)
    return threads_for(n, threads), automatic


_forked_warned: list[bool] = []


def _warn_forked(asked: int) -> None:
    if not _forked_warned:
        _forked_warned.append(True)
        warnings.warn(f"fastinit: {asked} threads were asked for, but this process was forked after fastinit "
                      "ran threads in its parent, and OpenMP's thread pool does not survive fork(): fills here "
                      "run on one thread (same values). For threaded fills in child processes, start them with "
                      "multiprocessing's 'spawn' or 'forkserver' method.", RuntimeWarning, stacklevel=4)


def _after_fork_in_child() -> None:
    """A lock some other thread of the parent held at fork stays held forever in the child."""
    global _lock
    _lock = threading.Lock()
    _chooser.after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def record_fill(n: int, cost: tuple[int, float, float], kind: str) -> None:
    """Feed an automatic fill's (threads, CPU seconds, wall seconds) to the thread chooser."""
    _chooser.record(n, *cost, kind=kind)


def _initial_path() -> int:
    want = os.environ.get("FASTINIT_SIMD", "auto").strip().lower()
    if want in ("", "auto"):
        return _fill.best_path()
    if want not in _PATHS:
        raise ImportError(f"FASTINIT_SIMD={want!r}; accepted: {', '.join(['auto', *_PATHS])}")
    if not _fill.path_available(_PATHS[want]):
        raise ImportError(f"FASTINIT_SIMD={want!r} but this CPU or build cannot run it")
    return _PATHS[want]


_path = _initial_path()          # the process-wide path (set_simd_path)
_local = threading.local()       # .path: this thread's override (simd_path_used), if any


def path_code() -> int:
    """The path code this thread's fills use: its simd_path_used override, else the process's."""
    return getattr(_local, "path", _path)


def simd_path() -> str:
    """The kernel path this thread's fills use: 'avx512', 'avx2', 'neon' or the portable 'scalar' reference."""
    return {v: k for k, v in _PATHS.items()}[path_code()]


def available_simd_paths() -> list[str]:
    return [name for name, code in _PATHS.items() if _fill.path_available(code)]


def _code(name: str) -> int:
    if name == "auto":
        return _fill.best_path()
    if name in _PATHS and _fill.path_available(_PATHS[name]):
        return _PATHS[name]
    raise ValueError(f"SIMD path {name!r} is not available here; available: {['auto'] + available_simd_paths()}")


def set_simd_path(name: str) -> None:
    """Choose the kernel path for the whole process ('auto', 'scalar', 'avx2', 'avx512', 'neon'); values
    are identical on every path.  A thread inside simd_path_used keeps its own path."""
    global _path
    code = _code(name)
    with _lock:
        _path = code


@contextlib.contextmanager
def simd_path_used(name: str):
    """Use a kernel path in this thread only, for the duration of the block (for checks and
    benchmarks).  Other threads, and this one after the block, are unaffected, so blocks may
    overlap across threads and nest."""
    code = _code(name)
    missing = object()
    old = getattr(_local, "path", missing)
    _local.path = code
    try:
        yield
    finally:
        if old is missing:
            del _local.path
        else:
            _local.path = old
