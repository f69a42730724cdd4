"""The automatic thread count on a busy machine: a team only while it beats one thread.

A fill on T threads is only as fast as its slowest thread.  When other processes keep every
core busy, the OS time-slices our threads with theirs; each thread then runs only part of the
time, and the fill ends when the last one, possibly descheduled for milliseconds while holding
a chunk, gets the CPU back.  With Linux's per-session CPU shares (autogroup) a team also gets no
more CPU in total than one thread would.  So on a busy machine a team can be slower than one
thread, and no fixed rule on the load average or idle time can tell in advance (they lag, count
our own threads, and in a container describe the host).

fastinit therefore measures what its own fills got: each fill reports the CPU time its threads
spent working and its wall time; their ratio is the number of CPUs the fill effectively had
(about T on a quiet machine, often below 1 on a busy one).  A team is used while its measured
CPUs exceed what one thread got (one thread can never get more than 1); otherwise fills run on
one thread, and the team is re-tried now and then (after EXPLORE_EVERY large fills and
EXPLORE_SECONDS, so that probing costs a few percent at most) so that the team comes back when
the machine quiets down.  Each estimate is the median of the last HISTORY
measurements: single fills are descheduled now and then too, and one unlucky measurement must
not flip the choice.  Only fills of at least MIN_ELEMENTS are measured (shorter
ones are dominated by start-up noise); every automatic fill follows the current choice.
This only applies to the automatic default: num_threads=, set_num_threads and OMP_NUM_THREADS
are always obeyed as given.
"""
from __future__ import annotations

import statistics
import threading
import time
from collections import deque
from typing import Callable


class TeamChooser:
    """Chooses between a team of max_threads and a single thread from measured fills."""

    MIN_ELEMENTS = 1 << 20   # fills this large are measured (milliseconds of work)
    EXPLORE_EVERY = 8        # re-measure the option not in use after this many measured fills
    EXPLORE_SECONDS = 0.5    # and at least this long after it was last measured
    HISTORY = 5              # estimates are medians of this many recent measurements

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._team: deque[float] = deque(maxlen=self.HISTORY)     # CPUs team fills effectively got
        self._single: deque[float] = deque(maxlen=self.HISTORY)   # the same for one-thread fills
        self.since_team = 0                     # measured fills since a team was last measured
        self.since_single = 0
        self.team_at = self.single_at = clock()  # when each was last measured
        self.team_cpus: float | None = None     # median of _team, None before the first measurement
        self.single_cpus: float | None = None   # median of _single


    def prefers_team(self) -> bool:
        if self.team_cpus is None:
            return True
        # One thread never gets more than one CPU: a team that gets more always wins.
        single = 1.0 if self.single_cpus is None else self.single_cpus
        return self.team_cpus > single

    def choose(self, max_threads: int, n: int) -> int:
        """Threads for an automatic fill of n elements."""
        if max_threads <= 1:
            return 1
        with self._lock:
            team = self.prefers_team()
            if n >= self.MIN_ELEMENTS:
                # Look at the other option now and then: the machine's load changes.
                now = self._clock()
                if team and self.team_cpus is not None and self.team_cpus < 1.0 \
                        and self._due(self.since_single, self.single_at, now):
                    team = False
                elif not team and self._due(self.since_team, self.team_at, now):
                    team = True
        return max_threads if team else 1

    def _due(self, fills_since: int, measured_at: float, now: float) -> bool:
        return fills_since >= self.EXPLORE_EVERY and now - measured_at >= self.EXPLORE_SECONDS

    def record(self, n: int, threads: int, cpu_seconds: float, wall_seconds: float) -> None:
        """Take in what an automatic fill of n elements cost (from _fill.fill)."""
        if n < self.MIN_ELEMENTS or wall_seconds <= 0.0 or cpu_seconds <= 0.0:
            return
        cpus = cpu_seconds / wall_seconds
        with self._lock:
            if threads > 1:
                self._team.append(cpus)
                self.team_cpus = statistics.median(self._team)
                self.since_team, self.team_at = 0, self._clock()
                self.since_single += 1
            else:
                self._single.append(min(cpus, 1.0))
                self.single_cpus = statistics.median(self._single)
                self.since_single, self.single_at = 0, self._clock()
                self.since_team += 1

    def describe(self) -> str:
        def f(x):
            return "not measured" if x is None else f"{x:.2f}"
        return (f"{'team' if self.prefers_team() else 'one thread'} (CPUs measured: team {f(self.team_cpus)}, "
                f"one thread {f(self.single_cpus)})")
