/* How a fill runs: threads, chunks, Ctrl-C polling and memory advice (fastinit/_src/fi_driver.c).
 *
 * A fill of n elements is cut into fixed chunks of `chunk` elements (chunk c covers elements
 * [c*chunk, min(n, (c+1)*chunk)) and is filled by fi_fill alone), so values never depend on which
 * thread fills which chunk.  The chunks are run in ONE OpenMP parallel region per fill:
 *
 *  - thread t first takes the chunks of its own contiguous range [t*C/T, (t+1)*C/T), front to
 *    back, so on a quiet machine each thread writes (and first-touches, placing the pages on its
 *    NUMA node) one contiguous part of the buffer, as a static schedule would;
 *  - a thread whose range is done steals the remaining chunks of the next threads' ranges, so a
 *    thread that the OS deschedules (another process wants the core) delays the fill by at most
 *    the chunk it holds, never by its whole share;
 *  - the calling thread, once it finds no work left, sleeps (futex) until the last chunk is
 *    written instead of spinning in the OpenMP barrier (libgomp spins ~300k pause instructions,
 *    several milliseconds, before sleeping): on a busy machine the straggler it waits for may
 *    need exactly that CPU.  Other threads go straight to the barrier, which the calling thread
 *    then reaches last, so nobody waits there long;
 *  - the calling thread (OpenMP thread 0, the only one that may take the GIL to run Python signal
 *    handlers) calls poll(ctx) every poll_seconds; when it returns nonzero every thread stops
 *    taking chunks, so Ctrl-C lands within about poll_seconds plus one chunk; it keeps polling
 *    while it waits for the team, so no wait is unbounded without a signal poll.
 *
 * Fork: libgomp's thread pool does not survive fork() (a child's parallel region waits forever
 * for the parent's threads).  A process forked after fastinit ran a team fills on the calling
 * thread only (same values); see fi_team_usable.
 */
#ifndef FI_DRIVER_H
#define FI_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#include "fi_kernels.h"

/* Called by the calling thread only; nonzero asks the fill to stop. */
typedef int (*fi_poll_fn)(void *ctx);

/* What a fill cost: the threads that ran it, its wall time, and the CPU time its threads spent
 * taking and filling chunks (not waiting).  cpu_seconds / wall_seconds is the number of CPUs the
 * fill effectively got: about `threads` on a quiet machine, less when other processes compete. */
typedef struct {
    int threads;
    double wall_seconds;
    double cpu_seconds;
} fi_fill_stats;

/* Fill out[0..n) (fi_itemsize(p->dtype) bytes each) with elements first.. of the stream p, in chunks of
 * `chunk` elements on up to num_threads threads (1: the calling thread only).  stream: write
 * past the caches where the path can (non-temporal stores, see fi_fill_ex; for fills too large
 * to stay in cache).
 * Returns 0 when every element was written, 1 when poll stopped the fill (some chunks are then
 * left unwritten), -1 when the per-thread bookkeeping could not be allocated (nothing written).
 * stats, when not NULL, receives what the fill cost. */
int fi_fill_chunks(const fi_params *p, char *out, int64_t n, uint64_t first, int path,
                   int64_t chunk, int num_threads, int stream, fi_poll_fn poll, void *ctx,
                   double poll_seconds, fi_fill_stats *stats);

/* 1 when a fill may run an OpenMP team in this process: no team ran yet, or the first one ran in
 * this very process (not in a parent this process was forked from). */
int fi_team_usable(void);

/* Advise the kernel to back the 2 MiB-aligned interior of [addr, addr + nbytes) with transparent
 * huge pages (madvise MADV_HUGEPAGE): fewer page faults when fresh memory is first written.
 * Best effort: errors (e.g. EINVAL on a file-backed np.memmap, or no THP support) are ignored.
 * Returns 1 when the advice was taken, 0 otherwise. */
int fi_advise_hugepages(void *addr, size_t nbytes);

#endif
