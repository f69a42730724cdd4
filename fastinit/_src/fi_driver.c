/* How a fill runs: one parallel region, own range first then stealing, Ctrl-C polling by the
 * calling thread, huge-page advice.  See fi_driver.h. */
#define _GNU_SOURCE
#include "fi_driver.h"

#include <sched.h>
#include <stdlib.h>
#include <time.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

#include "fi_openmp.h"

#ifdef _OPENMP
static inline int fi_thread_num(void) { return omp_get_thread_num(); }
static inline int fi_team_size(void) { return omp_get_num_threads(); }
#else
static inline int fi_thread_num(void) { return 0; }
static inline int fi_team_size(void) { return 1; }
#endif

/* One thread's range of chunks, on its own cache line: its owner and any thief take chunks from
 * the front with an atomic fetch-and-add (values past `end` mean the range is exhausted). */
typedef struct {
    _Alignas(64) int64_t next;
    int64_t end;
} fi_range;

static double fi_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline void fi_fill_chunk(const fi_params *p, char *out, int itemsize, int64_t n, uint64_t first,
                                 int path, int64_t chunk, int64_t c)
{
    int64_t start = c * chunk;
    int64_t len = n - start < chunk ? n - start : chunk;
    fi_fill(p, out + start * itemsize, len, first + (uint64_t)start, path);
}

/* The calling thread's poll: at most every poll_seconds.  Returns nonzero to stop. */
static inline int fi_poll_due(fi_poll_fn poll, void *ctx, double poll_seconds, double *last)
{
    if (!poll)
        return 0;
    double now = fi_seconds();
    if (now - *last < poll_seconds)
        return 0;
    *last = now;
    return poll(ctx);
}

static int fi_fill_serial(const fi_params *p, char *out, int itemsize, int64_t n, uint64_t first, int path,
                          int64_t chunk, int64_t nchunks, fi_poll_fn poll, void *ctx, double poll_seconds)
{
    double last = poll ? fi_seconds() : 0.0;
    for (int64_t c = 0; c < nchunks; c++) {
        if (fi_poll_due(poll, ctx, poll_seconds, &last))
            return 1;
        fi_fill_chunk(p, out, itemsize, n, first, path, chunk, c);
    }
    return 0;
}

int fi_fill_chunks(const fi_params *p, char *out, int itemsize, int64_t n, uint64_t first, int path,
                   int64_t chunk, int num_threads, fi_poll_fn poll, void *ctx, double poll_seconds)
{
    if (n <= 0)
        return 0;
    int64_t nchunks = (n + chunk - 1) / chunk;
    int nt = num_threads < 1 ? 1 : num_threads;
    if ((int64_t)nt > nchunks)
        nt = (int)nchunks;
#ifndef _OPENMP
    nt = 1;
#endif
    if (nt == 1)
        return fi_fill_serial(p, out, itemsize, n, first, path, chunk, nchunks, poll, ctx, poll_seconds);

    fi_range *ranges = aligned_alloc(64, (size_t)nt * sizeof(fi_range));
    if (!ranges)
        return -1;
    for (int t = 0; t < nt; t++) {
        ranges[t].next = nchunks * t / nt;
        ranges[t].end = nchunks * (t + 1) / nt;
    }
    int stop = 0;      /* set by the calling thread when poll asks to stop */
    int retired = 0;   /* threads that found no chunk left to take */

    #pragma omp parallel num_threads(nt)
    {
        int me = fi_thread_num();
        int team = fi_team_size();   /* may be smaller than nt: the missing ranges get stolen */
        double last = fi_seconds();
        /* Own range first, then the following threads' ranges: every chunk is taken exactly once
         * (fetch-and-add hands out distinct indices), whatever the team size. */
        for (int k = 0; k < nt && !__atomic_load_n(&stop, __ATOMIC_RELAXED); k++) {
            fi_range *r = &ranges[(me + k) % nt];
            for (;;) {
                if (__atomic_load_n(&stop, __ATOMIC_RELAXED))
                    break;
                if (me == 0 && fi_poll_due(poll, ctx, poll_seconds, &last)) {
                    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
                    break;
                }
                int64_t c = __atomic_fetch_add(&r->next, 1, __ATOMIC_RELAXED);
                if (c >= r->end)
                    break;
                fi_fill_chunk(p, out, itemsize, n, first, path, chunk, c);
            }
        }
        /* Nothing left to take.  Until the last chunks in flight are written, give the CPU away
         * instead of spinning in the OpenMP barrier: on a busy machine the thread we wait for may
         * be waiting for exactly this CPU. */
        __atomic_add_fetch(&retired, 1, __ATOMIC_ACQ_REL);
        while (__atomic_load_n(&retired, __ATOMIC_ACQUIRE) < team)
            sched_yield();
    }
    free(ranges);
    return stop;
}

int fi_advise_hugepages(void *addr, size_t nbytes)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t lo = ((uintptr_t)addr + huge - 1) & ~(huge - 1);
    uintptr_t hi = ((uintptr_t)addr + nbytes) & ~(huge - 1);
    if (hi <= lo)
        return 0;
    return madvise((void *)lo, hi - lo, MADV_HUGEPAGE) == 0;
#else
    (void)addr;
    (void)nbytes;
    return 0;
#endif
}
