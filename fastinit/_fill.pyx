# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Thin Cython layer over the C kernels and the fill driver (fastinit/_src/fi_driver.c): one
OpenMP region per fill over fixed-size chunks, GIL released, Ctrl-C polled by the calling thread.

Everything here trusts its arguments: fastinit/kernels.py validates them first.
"""
import threading

from cpython.exc cimport PyErr_CheckSignals
from libc.stdint cimport uint16_t, uint32_t, uint64_t, int64_t
from fastinit._kernels cimport (fi_params, fi_philox4x32_10, fi_path_available, fi_best_path,
                                fi_f32_to_f16_bits, fi_f32_to_bf16_bits, fi_openmp_enabled,
                                fi_omp_max_threads, fi_poll_fn, fi_fill_stats, fi_fill_chunks,
                                fi_advise_hugepages)

# Work is split into chunks of at most CHUNK elements.  Values do not depend on the split (each
# element is a function of its global index).  64 Ki elements (256 KiB of float32) keep a chunk
# inside L2 and the tail a descheduled thread can leave behind short (tens of microseconds of
# work).  Fills too small to give every thread CHUNKS_PER_THREAD such chunks use smaller ones
# (down to MIN_CHUNK, a multiple of the 64-element group), so that stealing can still even out
# the threads' shares: this matters with many threads (64 threads, 16 Mi elements).
CHUNK = 1 << 16
MIN_CHUNK = 1 << 12
CHUNKS_PER_THREAD = 16
# A thread is only worth starting for at least this many elements (team wake-up costs about as
# much as filling a few thousand elements); smaller fills run on the calling thread.
MIN_PER_THREAD = 1 << 17
# The calling thread takes the GIL this often during a fill to run Python's signal handlers.
POLL_SECONDS = 0.05
# Output buffers of at least this many bytes get madvise(MADV_HUGEPAGE) first.
HUGEPAGE_MIN_BYTES = 4 << 20

_MAIN_THREAD_ID = threading.main_thread().ident


def openmp_enabled():
    return bool(fi_openmp_enabled())


def omp_max_threads():
    return fi_omp_max_threads()


def path_available(int path):
    return bool(fi_path_available(path))


def best_path():
    return fi_best_path()


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


def threads_for(int64_t n, int num_threads):
    """Threads a fill of n elements runs on: num_threads, fewer when n is too small to share."""
    cdef int64_t useful = n // MIN_PER_THREAD
    if useful < 1:
        return 1
    return <int>useful if useful < num_threads else num_threads


def advise_hugepages(size_t address, size_t nbytes):
    """madvise(MADV_HUGEPAGE) the 2 MiB-aligned interior of a buffer; True when taken."""
    return bool(fi_advise_hugepages(<void *>address, nbytes))


def fill(size_t address, int64_t n, uint64_t first, int itemsize, int dist, int dtype, int wide,
         uint64_t seed, uint64_t stream, double loc, double scale, double p_lo, double p_hi,
         double mass, double clamp_lo, double clamp_hi, int num_threads, int path):
    """Fill n elements at address with elements first.. of the described stream.  Returns what
    it cost: (threads used, CPU seconds its threads worked, wall seconds)."""
    cdef fi_params p
    p.key[0] = <uint32_t>seed
    p.key[1] = <uint32_t>(seed >> 32)
    p.stream[0] = <uint32_t>stream
    p.stream[1] = <uint32_t>(stream >> 32)
    p.dist = dist
    p.dtype = dtype
    p.wide = wide
    p.loc = loc
    p.scale = scale
    p.p_lo = p_lo
    p.p_hi = p_hi
    p.mass = mass
    p.clamp_lo = clamp_lo
    p.clamp_hi = clamp_hi
    cdef const fi_params *pp = &p
    cdef char *base = <char *>address
    cdef int nt = threads_for(n, num_threads)
    cdef int64_t chunk = chunk_for(n, nt)
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
    with nogil:
        status = fi_fill_chunks(pp, base, itemsize, n, first, path, chunk, nt, poll, ctx, poll_seconds, &stats)
    if status < 0:
        raise MemoryError(f"no memory for the bookkeeping of {nt} threads")
    if raised:
        raise raised[0]
    return stats.threads, stats.cpu_seconds, stats.wall_seconds


def philox4x32(size_t ctr_address, size_t out_address, int64_t n, uint32_t key0, uint32_t key1):
    cdef const uint32_t *ctr = <const uint32_t *>ctr_address
    cdef uint32_t *out = <uint32_t *>out_address
    cdef uint32_t key[2]
    key[0] = key0
    key[1] = key1
    cdef int64_t i
    with nogil:
        for i in range(n):
            fi_philox4x32_10(ctr + 4 * i, key, out + 4 * i)


def f32_to_f16_bits(float f):
    return fi_f32_to_f16_bits(f)


def f32_to_bf16_bits(float f):
    return fi_f32_to_bf16_bits(f)
