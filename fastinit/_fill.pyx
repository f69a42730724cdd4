# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Thin Cython layer over the C kernels and the fill driver (fastinit/_src/fi_driver.c): one
OpenMP region per fill over fixed-size chunks, GIL released, Ctrl-C polled by the calling thread.

The codes (Dist, Dtype, Method, Path) are the C header's enums, declared here once for Python.
fill() takes the output as a flat byte view and the parameters as one named record (Params);
the argument checks a user deserves (ranges, bounds, messages) live in fastinit/kernels.py, and
this layer re-checks only what keeps the write inside the buffer.
"""
import os
import warnings
import threading

from cpython.exc cimport PyErr_CheckSignals
from libc.stdint cimport uint16_t, uint32_t, uint64_t, int64_t
from fastinit._kernels cimport (fi_params, fi_philox4x32_10, fi_path_available, fi_best_path,
                                fi_f32_to_f16_bits, fi_f32_to_bf16_bits, fi_itemsize, fi_openmp_enabled,
                                fi_omp_max_threads, fi_poll_fn, fi_fill_stats, fi_fill_chunks,
                                fi_advise_hugepages, fi_team_usable, FI_SERIES_N)

cdef extern from "fi_kernels.h":
    cpdef enum Dist "fi_dist":
        UNIFORM "FI_UNIFORM"
        NORMAL "FI_NORMAL"
        TRUNC "FI_TRUNC"

    cpdef enum Dtype "fi_dtype":
        F32 "FI_F32"
        F64 "FI_F64"
        F16 "FI_F16"
        BF16 "FI_BF16"

    cpdef enum Method "fi_method":
        INVERT "FI_INVERT"
        SERIES "FI_SERIES"

    cpdef enum Path "fi_path":
        SCALAR "FI_PATH_SCALAR"
        AVX512 "FI_PATH_AVX512"
        AVX2 "FI_PATH_AVX2"
        NEON "FI_PATH_NEON"

SERIES_TERMS = FI_SERIES_N
ITEMSIZE = {dtype: fi_itemsize(dtype) for dtype in Dtype}   # bytes per element, from the C table

# Work is split into chunks of at most CHUNK elements.  Values do not depend on the split (each
# element is a function of its global index).  64 Ki elements (256 KiB of float32) keep a chunk
# inside L2 and the tail a descheduled thread can leave behind short (tens of microseconds of
# work).  Fills too small to give every thread CHUNKS_PER_THREAD such chunks use smaller ones
# (down to MIN_CHUNK, a multiple of the 64-element group), so that stealing can still even out
# the threads' shares: this matters with many threads (64 threads, 16 Mi elements).
CHUNK = 1 << 16
MIN_CHUNK = 1 << 12
CHUNKS_PER_THREAD = 16
# The calling thread takes the GIL this often during a fill to run Python's signal handlers.
POLL_SECONDS = 0.05
# Output buffers of at least this many bytes get madvise(MADV_HUGEPAGE) first.
HUGEPAGE_MIN_BYTES = 4 << 20
# FASTINIT_MADVISE_HUGEPAGE=0 turns the advice off, as NUMPY_MADVISE_HUGEPAGE=0 does numpy's: in
# a virtual machine that hands free memory back to its host, a fresh huge page can cost more to
# fault in than 512 small ones.
if os.environ.get("FASTINIT_MADVISE_HUGEPAGE", "1").strip() == "0":
    HUGEPAGE_MIN_BYTES = 1 << 62

# Fills of at least this many bytes are written past the caches (non-temporal stores, on the
# SIMD paths, float32): they would not stay in cache for the caller anyway, and the stores then
# skip reading every line before writing it.  Same values either way.  FASTINIT_STREAM_MIN_BYTES
# (read at import) changes it: 0 streams every fill, a huge value none.
STREAM_MIN_BYTES = 32 << 20
_stream_env = os.environ.get("FASTINIT_STREAM_MIN_BYTES", "").strip()
if _stream_env:
    try:
        STREAM_MIN_BYTES = int(_stream_env)
        if STREAM_MIN_BYTES < 0:
            raise ValueError
    except ValueError:
        warnings.warn(f"FASTINIT_STREAM_MIN_BYTES={_stream_env!r} is not a byte count (an integer >= 0); "
                      f"using the default {32 << 20}", RuntimeWarning)
        STREAM_MIN_BYTES = 32 << 20

_MAIN_THREAD_ID = threading.main_thread().ident



def _known(kind, int code):
    """ValueError unless code is one of the C header's values of the enum kind (Cython's enum
    classes would otherwise make up a member for any integer)."""
    if code not in {int(member) for member in kind.__members__.values()}:
        raise ValueError(f"{code} is not a {kind.__name__} code; known: {dict((m.name, int(m)) for m in kind.__members__.values())}")


cdef class Params:
    """One fill's parameters (the C struct fi_params), by name."""
    cdef fi_params p

    def __init__(self, *, Dist dist, Dtype dtype, uint64_t seed, uint64_t stream=0, double loc=0.0,
                 double scale=1.0, bint wide=False, Method method=INVERT, double p_lo=0.0,
                 double p_hi=0.0, double mass=1.0, double clamp_lo, double clamp_hi, coef=()):
        _known(Dist, dist), _known(Dtype, dtype), _known(Method, method)
        if len(coef) > FI_SERIES_N:
            raise ValueError(f"at most {FI_SERIES_N} series coefficients; got {len(coef)}")
        self.p.key[0] = <uint32_t>seed
        self.p.key[1] = <uint32_t>(seed >> 32)
        self.p.stream[0] = <uint32_t>stream
        self.p.stream[1] = <uint32_t>(stream >> 32)
        self.p.dist = dist
        self.p.dtype = dtype
        self.p.wide = wide or dtype == F64
        self.p.method = method
        self.p.loc, self.p.scale = loc, scale
        self.p.p_lo, self.p.p_hi, self.p.mass = p_lo, p_hi, mass
        self.p.clamp_lo, self.p.clamp_hi = clamp_lo, clamp_hi
        cdef int i
        for i in range(FI_SERIES_N):
            self.p.coef[i] = coef[i] if i < len(coef) else 0.0

    @property
    def dtype(self):
        return Dtype(self.p.dtype)

    def fields(self):
        """The C struct's fields by name (a dict; arrays as lists), for programs that drive the C
        kernels directly (tests/test_neon_qemu.py)."""
        return self.p

    def __repr__(self):
        p = self.p
        return (f"Params(dist={Dist(p.dist).name}, dtype={Dtype(p.dtype).name}, wide={bool(p.wide)}, "
                f"method={Method(p.method).name}, loc={p.loc!r}, scale={p.scale!r}, p_lo={p.p_lo!r}, "
                f"p_hi={p.p_hi!r}, mass={p.mass!r}, clamp=[{p.clamp_lo!r}, {p.clamp_hi!r}])")


def openmp_enabled():
    return bool(fi_openmp_enabled())


def omp_max_threads():
    return fi_omp_max_threads()


def team_usable():
    """False in a process forked after fastinit ran a team: fills there run on one thread."""
    return bool(fi_team_usable())


def path_available(Path path):
    return bool(fi_path_available(path))


def best_path():
    return Path(fi_best_path())


cdef int _poll_signals(void *ctx) noexcept nogil:
    """Run Python's signal handlers (e.g. Ctrl-C's KeyboardInterrupt); keep what they raise in the
    list ctx and ask the fill to stop."""
    with gil:
        try:
            PyErr_CheckSignals()
        except BaseException as exc:
            (<list>ctx).append(exc)
            return 1
    return 0


def chunk_for(int64_t n, int threads):
    """Elements per chunk for a fill of n elements on `threads` threads."""
    cdef int64_t chunk = CHUNK
    cdef int64_t even = (n // (CHUNKS_PER_THREAD * threads)) & ~(<int64_t>63)
    if threads > 1 and even < chunk:
        chunk = max(min(chunk, MIN_CHUNK), even)
    return chunk


def advise_hugepages(size_t address, size_t nbytes):
    """madvise(MADV_HUGEPAGE) the 2 MiB-aligned interior of a buffer; True when taken."""
    return bool(fi_advise_hugepages(<void *>address, nbytes))


def fill(unsigned char[::1] out, Params params not None, uint64_t first, int num_threads, Path path):
    """Fill out (the bytes of len(out) // itemsize elements) with elements first.. of the stream
    params describe, on num_threads threads as given (fastinit._runtime.fill_threads decides how
    many; the driver runs fewer only when there are fewer chunks, or in a forked child).  Returns
    what it cost: (threads used, CPU seconds its threads worked, wall seconds)."""
    _known(Path, path)
    cdef int itemsize = fi_itemsize(params.p.dtype)
    if out.shape[0] % itemsize:
        raise ValueError(f"out holds {out.shape[0]} bytes, not a whole number of {itemsize}-byte elements")
    if num_threads < 1:
        raise ValueError(f"num_threads must be >= 1; got {num_threads}")
    cdef int64_t n = out.shape[0] // itemsize
    if n == 0:
        return 0, 0.0, 0.0
    cdef const fi_params *pp = &params.p
    cdef char *base = <char *>&out[0]
    cdef int64_t chunk = chunk_for(n, num_threads)
    cdef double poll_seconds = POLL_SECONDS
    # Only the main thread receives signals: elsewhere there is nothing to poll for.
    cdef fi_poll_fn poll = NULL
    if threading.get_ident() == _MAIN_THREAD_ID:
        poll = _poll_signals
    raised = []
    cdef void *ctx = <void *>raised
    cdef int status
    cdef fi_fill_stats stats
    if n * itemsize >= HUGEPAGE_MIN_BYTES:
        fi_advise_hugepages(<void *>base, <size_t>(n * itemsize))
    cdef int stream = n * itemsize >= STREAM_MIN_BYTES
    with nogil:
        status = fi_fill_chunks(pp, base, n, first, path, chunk, num_threads, stream, poll, ctx, poll_seconds, &stats)
    if status < 0:
        raise MemoryError(f"no memory for the bookkeeping of {num_threads} threads")
    if raised:
        raise raised[0]
    return stats.threads, stats.cpu_seconds, stats.wall_seconds


def philox4x32(const uint32_t[:, ::1] counters, const uint32_t[::1] key, uint32_t[:, ::1] out):
    """Philox4x32-10 on each row of counters (n, 4) with key (2,), into out (n, 4)."""
    if counters.shape[1] != 4 or key.shape[0] != 2 or out.shape[0] != counters.shape[0] or out.shape[1] != 4:
        raise ValueError("philox4x32 needs counters (n, 4), key (2,) and out (n, 4)")
    cdef int64_t i, n = counters.shape[0]
    with nogil:
        for i in range(n):
            fi_philox4x32_10(&counters[i, 0], &key[0], &out[i, 0])


def f32_to_f16_bits(float f):
    return fi_f32_to_f16_bits(f)


def f32_to_bf16_bits(float f):
    return fi_f32_to_bf16_bits(f)
