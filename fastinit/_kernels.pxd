# The C interface of fastinit's fill kernels (fastinit/_src/fi_kernels.h).  The enums are declared
# (cpdef, so visible from Python) in fastinit/_fill.pyx, from the same header.
from libc.stdint cimport uint16_t, uint32_t, uint64_t, int64_t

cdef extern from "fi_kernels.h" nogil:
    enum: FI_SERIES_N

    ctypedef struct fi_params:
        uint32_t key[2]
        uint32_t stream[2]
        int dist
        int dtype
        int wide
        int method
        double loc
        double scale
        double p_lo
        double p_hi
        double mass
        double clamp_lo
        double clamp_hi
        double coef[FI_SERIES_N]

    void fi_philox4x32_10(const uint32_t *ctr, const uint32_t *key, uint32_t *out) noexcept
    void fi_fill(const fi_params *p, void *out, int64_t n, uint64_t first, int path) noexcept
    int fi_path_available(int path) noexcept
    int fi_best_path() noexcept
    uint16_t fi_f32_to_f16_bits(float f) noexcept
    uint16_t fi_f32_to_bf16_bits(float f) noexcept
    int fi_itemsize(int dtype) noexcept
    int fi_group_size(int dtype) noexcept

cdef extern from "fi_openmp.h" nogil:
    int fi_openmp_enabled() noexcept
    int fi_omp_max_threads() noexcept

cdef extern from "fi_driver.h" nogil:
    ctypedef int (*fi_poll_fn)(void *ctx) noexcept
    ctypedef struct fi_fill_stats:
        int threads
        double wall_seconds
        double cpu_seconds
    int fi_fill_chunks(const fi_params *p, char *out, int64_t n, uint64_t first, int path,
                       int64_t chunk, int num_threads, int stream, fi_poll_fn poll, void *ctx,
                       double poll_seconds, fi_fill_stats *stats) noexcept
    int fi_advise_hugepages(void *addr, size_t nbytes) noexcept
    int fi_team_usable() noexcept
