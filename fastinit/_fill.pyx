# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Thin Cython layer over the C kernels: OpenMP over fixed-size chunks, GIL released.

Everything here trusts its arguments: fastinit/kernels.py validates them first.
"""
from cython.parallel cimport prange
from cpython.exc cimport PyErr_CheckSignals
from libc.stdint cimport uint16_t, uint32_t, uint64_t, int64_t
from fastinit._kernels cimport (fi_params, fi_fill, fi_philox4x32_10, fi_path_available,
                                fi_best_path, fi_f32_to_f16_bits, fi_f32_to_bf16_bits,
                                fi_openmp_enabled, fi_omp_max_threads)

# Work is split into chunks of CHUNK elements, a constant: never derived from the thread count.
# Values do not depend on it either (each element is a function of its global index), but a
# fixed split keeps the work per thread predictable.  Between batches of chunks the GIL is
# taken back to check for Ctrl-C.
CHUNK = 1 << 16
BATCH_CHUNKS = 64



def openmp_enabled():
    return bool(fi_openmp_enabled())


def omp_max_threads():
    return fi_omp_max_threads()


def path_available(int path):
    return bool(fi_path_available(path))


def best_path():
    return fi_best_path()


cdef inline int64_t _min64(int64_t a, int64_t b) noexcept nogil:
    return a if a < b else b


def fill(size_t address, int64_t n, uint64_t first, int itemsize, int dist, int dtype, int wide,
         uint64_t seed, uint64_t stream, double loc, double scale, double p_lo, double p_hi,
         double mass, double clamp_lo, double clamp_hi, int num_threads, int path):
    """Fill n elements at address with elements first.. of the described stream."""
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
    cdef int64_t chunk = CHUNK
    cdef int64_t nchunks = (n + chunk - 1) // chunk
    cdef int64_t batch = BATCH_CHUNKS
    cdef int64_t b0 = 0, b1, c, start
    while b0 < nchunks:
        b1 = _min64(b0 + batch, nchunks)
        with nogil:
            for c in prange(b0, b1, schedule='static', num_threads=num_threads):
                start = c * chunk
                fi_fill(pp, base + start * itemsize, _min64(chunk, n - start), first + <uint64_t>start, path)
        PyErr_CheckSignals()
        b0 = b1


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
