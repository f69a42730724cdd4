/* How a fill runs: one parallel region, own range first then stealing, Ctrl-C polling by the
 * calling thread, a sleeping (not spinning) wait for stragglers, huge-page advice.
 * See fi_driver.h. */
#define _GNU_SOURCE
#include "fi_driver.h"

#include <limits.h>
#include <stdio.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>
#ifdef __linux__
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "fi_openmp.h"

#ifdef _OPENMP
static inline int fi_thread_num(void) { return omp_get_thread_num(); }
static inline int fi_team_size(void) { return omp_get_num_threads(); }
#else
static inline int fi_thread_num(void) { return 0; }
static inline int fi_team_size(void) { return 1; }
#endif

/* Before sleeping, the calling thread spins this long for the last chunks: on a quiet machine
 * they finish within a chunk's time, and a futex sleep and wake-up would cost about as much. */
#define FI_SPIN_SECONDS 30e-6

/* One thread's range of chunks, on its own cache line: its owner and any thief take chunks from
 * the front with an atomic fetch-and-add (values past `end` mean the range is exhausted).
 * cpu: the CPU time its owner spent working, for fi_fill_stats. */
typedef struct {
    _Alignas(64) int64_t next;
    int64_t end;
    double cpu;
} fi_range;

static double fi_clock(clockid_t which)
{
    struct timespec ts;
    clock_gettime(which, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline double fi_seconds(void) { return fi_clock(CLOCK_MONOTONIC); }
static inline double fi_thread_cpu_seconds(void) { return fi_clock(CLOCK_THREAD_CPUTIME_ID); }

static inline void fi_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static inline void fi_fill_chunk(const fi_params *p, char *out, int64_t n, uint64_t first, int path,
                                 int64_t chunk, int64_t c, int stream)
{
    int64_t start = c * chunk;
    int64_t len = n - start < chunk ? n - start : chunk;
    fi_fill_ex(p, out + start * fi_itemsize(p->dtype), len, first + (uint64_t)start, path, stream);
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

/* Count this thread out; the last one wakes the calling thread if it sleeps in fi_wait_retired. */
static void fi_retire(int *retired, int team)
{
    if (__atomic_add_fetch(retired, 1, __ATOMIC_ACQ_REL) == team) {
#ifdef __linux__
        syscall(SYS_futex, retired, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
#endif
    }
}

/* The process whose libgomp thread pool fastinit's teams started (0: none yet).  libgomp's pool
 * does not survive fork(): in a child, the pool still counts the parent's threads, which do not
 * exist there, so a parallel region would wait forever for them.  A fill therefore runs a team
 * only in the process that started the first one (or in one that never had one) and runs on the
 * calling thread alone in a forked child.  getpid() rather than a pthread_atfork handler: it
 * also catches a fork that bypassed the handlers, and costs about 50 ns per fill. */
static pid_t fi_team_pid;

int fi_team_usable(void)
{
#ifdef __linux__
    pid_t owner = __atomic_load_n(&fi_team_pid, __ATOMIC_ACQUIRE);
    return owner == 0 || owner == getpid();
#else
    return 1;
#endif
}

/* Called before a region starts: from here on, a fork's child may not start a team. */
static void fi_claim_team(void)
{
#ifdef __linux__
    if (__atomic_load_n(&fi_team_pid, __ATOMIC_ACQUIRE) == 0)
        __atomic_store_n(&fi_team_pid, getpid(), __ATOMIC_RELEASE);
#endif
}

/* How long the calling thread sleeps between signal polls while it waits for the team. */
#define FI_WAIT_SLICE_NS 20000000L
/* A team member that has not even started this long after the calling thread ran out of work is
 * reported on stderr (once per process): it would otherwise be a silent hang. */
#define FI_WEDGED_SECONDS 10.0

/* Wait until every thread of the team has retired: a short spin, then sleep in slices, polling
 * for signals (a stop request keeps other threads from taking new chunks, so they retire within
 * a chunk).  started: threads that entered the region, for the wedged-team report. */
static void fi_wait_retired(int *retired, const int *started, int team, int *stop, fi_poll_fn poll, void *ctx,
                            double poll_seconds, double *last)
{
    static int reported;
    double start = fi_seconds();
    for (;;) {
        int r = __atomic_load_n(retired, __ATOMIC_ACQUIRE);
        if (r >= team)
            return;
        double waited = fi_seconds() - start;
        if (waited < FI_SPIN_SECONDS) {
            fi_pause();
            continue;
        }
        if (!__atomic_load_n(stop, __ATOMIC_RELAXED) && fi_poll_due(poll, ctx, poll_seconds, last))
            __atomic_store_n(stop, 1, __ATOMIC_RELAXED);
        if (waited > FI_WEDGED_SECONDS && __atomic_load_n(started, __ATOMIC_ACQUIRE) < team &&
            !__atomic_exchange_n(&reported, 1, __ATOMIC_RELAXED))
            fprintf(stderr, "fastinit: a fill has waited %.0f s for %d of its %d OpenMP threads, which never "
                    "started (an OpenMP runtime broken by fork() in another library, or a process stopped "
                    "under a debugger?); it cannot end until they do\n", waited, team - *started, team);
#ifdef __linux__
        struct timespec slice = {0, FI_WAIT_SLICE_NS};
        syscall(SYS_futex, retired, FUTEX_WAIT_PRIVATE, r, &slice, NULL, 0);  /* returns at once if *retired != r */
#else
        sched_yield();
#endif
    }
}

static int fi_fill_serial(const fi_params *p, char *out, int64_t n, uint64_t first, int path,
                          int64_t chunk, int64_t nchunks, fi_poll_fn poll, void *ctx, double poll_seconds, int stream)
{
    double last = fi_seconds();
    for (int64_t c = 0; c < nchunks; c++) {
        if (fi_poll_due(poll, ctx, poll_seconds, &last))
            return 1;
        fi_fill_chunk(p, out, n, first, path, chunk, c, stream);
    }
    return 0;
}

/* One parallel fill: its arguments, the threads' ranges, and what the threads tell each other. */
typedef struct {
    const fi_params *p;
    char *out;
    int64_t n;
    uint64_t first;
    int path;
    int64_t chunk;
    int nt;
    int stream;
    fi_poll_fn poll;
    void *ctx;
    double poll_seconds;
    fi_range *ranges;
    int published;   /* release-stored by the calling thread before the region */
    int stop;        /* set by the calling thread when poll asks to stop */
    int retired;     /* threads that found no chunk left to take */
    int started;     /* threads that entered the region */
    int team_size;   /* the team OpenMP gave (thread 0 writes it) */
} fi_team;

/* What each thread of the region does. */
static __attribute__((noinline)) void fi_team_member(fi_team *t)
{
    (void)__atomic_load_n(&t->published, __ATOMIC_ACQUIRE);
    int me = fi_thread_num();
    int team = fi_team_size();   /* may be smaller than nt: the missing ranges get stolen */
    int nt = t->nt;
    __atomic_add_fetch(&t->started, 1, __ATOMIC_ACQ_REL);
    double cpu0 = fi_thread_cpu_seconds();
    double last = fi_seconds();
    /* Own range first, then the following threads' ranges: every chunk is taken exactly once
     * (fetch-and-add hands out distinct indices), whatever the team size. */
    for (int k = 0; k < nt && !__atomic_load_n(&t->stop, __ATOMIC_RELAXED); k++) {
        fi_range *r = &t->ranges[(me + k) % nt];
        for (;;) {
            if (__atomic_load_n(&t->stop, __ATOMIC_RELAXED))
                break;
            if (me == 0 && fi_poll_due(t->poll, t->ctx, t->poll_seconds, &last)) {
                __atomic_store_n(&t->stop, 1, __ATOMIC_RELAXED);
                break;
            }
            int64_t c = __atomic_fetch_add(&r->next, 1, __ATOMIC_RELAXED);
            if (c >= r->end)
                break;
            fi_fill_chunk(t->p, t->out, t->n, t->first, t->path, t->chunk, c, t->stream);
        }
    }
    t->ranges[me].cpu = fi_thread_cpu_seconds() - cpu0;
    fi_retire(&t->retired, team);
    if (me == 0) {
        t->team_size = team;
        fi_wait_retired(&t->retired, &t->started, team, &t->stop, t->poll, t->ctx, t->poll_seconds, &last);
    }
}

int fi_fill_chunks(const fi_params *p, char *out, int64_t n, uint64_t first, int path,
                   int64_t chunk, int num_threads, int stream, fi_poll_fn poll, void *ctx,
                   double poll_seconds, fi_fill_stats *stats)
{
    double wall0 = fi_seconds();
    if (stats) {
        stats->threads = 1;
        stats->wall_seconds = stats->cpu_seconds = 0.0;
    }
    if (n <= 0)
        return 0;
    int64_t nchunks = (n + chunk - 1) / chunk;
    int nt = num_threads < 1 ? 1 : num_threads;
    if ((int64_t)nt > nchunks)
        nt = (int)nchunks;
#ifndef _OPENMP
    nt = 1;
#endif
    if (nt > 1 && !fi_team_usable())
        nt = 1;
    if (nt == 1) {
        double cpu0 = fi_thread_cpu_seconds();
        int status = fi_fill_serial(p, out, n, first, path, chunk, nchunks, poll, ctx, poll_seconds, stream);
        if (stats) {
            stats->cpu_seconds = fi_thread_cpu_seconds() - cpu0;
            stats->wall_seconds = fi_seconds() - wall0;
        }
        return status;
    }

    fi_range *ranges = aligned_alloc(64, (size_t)nt * sizeof(fi_range));
    if (!ranges)
        return -1;
    for (int t = 0; t < nt; t++) {
        ranges[t].next = nchunks * t / nt;
        ranges[t].end = nchunks * (t + 1) / nt;
        ranges[t].cpu = 0.0;
    }
    fi_team team = {p, out, n, first, path, chunk, nt, stream, poll, ctx, poll_seconds, ranges};
    fi_claim_team();
    /* Published with a release store that each member acquires first: a happens-before edge that
     * ThreadSanitizer sees (libgomp's own hand-over, uninstrumented, is invisible to it); see
     * tools/sanitize.py.  The region's body reads nothing but &team. */
    __atomic_store_n(&team.published, 1, __ATOMIC_RELEASE);
    #pragma omp parallel num_threads(nt)
    fi_team_member(&team);
    if (stats) {
        stats->threads = team.team_size;
        stats->wall_seconds = fi_seconds() - wall0;
        for (int t = 0; t < nt; t++)
            stats->cpu_seconds += ranges[t].cpu;
    }
    free(ranges);
    return team.stop;
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
