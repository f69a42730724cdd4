"""``python -m fastinit bench`` (fastinit side by side with numpy, torch and the memory limit), and
the measuring and reporting code every benchmark script in the repository's bench/ shares.

All cases run in one process, interleaved round by round (so a noisy neighbour hurts every case
alike); the best of N rounds and the median are reported.  Buffers are preallocated and touched
first, except in the "fresh memory" rows, where every round fills a new ``np.empty`` and page
faults dominate.  The memory limit is ``ndarray.fill`` split across the same threads.  fastinit
runs with its automatic thread count unless --threads is given, and a "default vs 1 thread"
section compares the two.  The CPU time other processes take during the run is measured, and a
warning printed when the machine was busy.  Nothing here asserts a speed: the numbers are for
reading.

Modules: ``measure`` (timed calls, interleaved rounds, best and median, bootstrap intervals,
machine load, busy loops, peak memory), ``cases`` (what ``python -m fastinit bench`` times),
``report`` (tables, progress, the machine, the summary and plot), ``cli`` (the options and the run).
"""
from .cli import run

__all__ = ["run"]
