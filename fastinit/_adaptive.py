"""The automatic thread count on a busy machine: a team only while it is clearly faster than one thread.

A fill on T threads is only as fast as its slowest thread.  When other processes keep every
core busy, the OS time-slices our threads with theirs; each thread then runs only part of the
time, and the fill ends when the last one, possibly descheduled for milliseconds while holding
a chunk, gets the CPU back.  With Linux's per-session CPU shares (autogroup) a team also gets no
more CPU in total than one thread would.  So on a busy machine a team can be slower than one
thread, or faster (when the foreign work shares our session), and no fixed rule on the load
average or idle time can tell in advance (they lag, count our own threads, and in a container
describe the host).  Nor can the CPU time a team obtains: its threads also spend it waiting for
memory and for each other.

fastinit therefore times its own automatic fills and compares what matters, wall seconds per
value, between fills of the same kind (distribution, dtype, and size within a factor of 2).
Each kind uses one option (team or one thread) and now and then re-tries the other: a re-try
gives one sample of the ratio r = team time / one-thread time, against the mean of the last
HISTORY fills of the option in use (recent fills, under the same load as the re-try: a load that
drifts changes both sides).  Means, not medians: on a busy machine fill times are often bimodal
(a thread gets a CPU to itself or shares one), and the median of a few such fills is a coin toss
between the modes, which made single re-tries look twice as fast or slow as they were.  For
each kind:

* the team is used while the geometric mean of the last HISTORY ratios is below MARGIN (the team
  must be clearly faster, so that noise does not flip the choice, and a close race goes to one
  thread);
* a kind's first fill is not measured (it often pays for page faults or starting threads);
* the other option is tried at the kind's third fill, then re-tried after ``every`` fills of
  the kind (EXPLORE_EVERY at first) and at least EXPLORE_SECONDS.  A re-try that agrees with the
  choice doubles ``every`` (up to EXPLORE_MAX), so that on a steadily busy machine re-tries cost
  a percent or two and stay out of the median; one that disagrees brings it back to
  EXPLORE_EVERY, so a few re-tries in a row switch the choice (when the machine quiets down, say);
  and when the option in use becomes CHANGE times faster or slower than at the last re-try (the
  load changed: each of its last HISTORY fills, so that fill times that jump between two modes
  do not count as a change), the next re-try is due at once (after EXPLORE_SECONDS);
* one thread is never tried while the team's fills effectively get at least SURE_CPUS CPUs (CPU
  seconds its threads worked / wall seconds, from the C driver): one thread gets at most one CPU,
  so the team is faster unless it wastes a third of its work, and on a quiet machine, where one
  thread is slower by the number of cores, a one-thread re-try would be costly;
* a kind not yet compared follows the last choice reached by any kind (the team at first).

Only fills of at least MIN_ELEMENTS are measured (shorter ones are dominated by start-up noise);
shorter fills follow the last choice reached by any kind.  This only applies to the automatic
default: num_threads=, set_num_threads and OMP_NUM_THREADS are always obeyed as given.  Values
never depend on the choice (element i is a function of seed, stream and i only).
"""
from __future__ import annotations

import statistics
import threading
import time
from collections import OrderedDict, deque
from typing import Callable, Hashable


class _Kind:
    """What fills of one kind cost, and how the team compared with one thread at recent re-tries."""

    def __init__(self, history: int, every: int, now: float) -> None:
        self.team: deque[float] = deque(maxlen=history)       # wall seconds per value, team fills
        self.single: deque[float] = deque(maxlen=history)     # the same, one-thread fills
        self.team_cpus: deque[float] = deque(maxlen=history)  # CPUs the team fills effectively got
        self.ratios: deque[float] = deque(maxlen=history)     # team / one-thread time, one per re-try
        self.since_retry = 0             # measured fills since the option not in use was last measured
        self.retry_at = now              # and when
        self.every = every               # re-try after this many fills
        self.reference: float | None = None   # mean time of the option in use at the last re-try
        self.warmed_up = False           # the kind's first fill was seen (and not measured)


class TeamChooser:
    """Chooses between a team of max_threads and one thread, per kind of fill, from measured fills."""

    MIN_ELEMENTS = 1 << 20   # fills this large are measured (milliseconds of work)
    HISTORY = 5              # choices use this many recent fills / ratios
    MARGIN = 0.9             # the team is used while its time is below this share of one thread's
    EXPLORE_EVERY = 8        # re-try the option not in use after this many measured fills at first,
    EXPLORE_MAX = 64         # doubling up to this many while re-tries agree with the choice,
    EXPLORE_SECONDS = 0.5    # and at least this long after the last re-try
    CHANGE = 1.5             # the option in use this much faster or slower: re-try at once
    SURE_CPUS = 1.5          # a team getting this many CPUs beats one thread: no one-thread re-tries
    MAX_KINDS = 64           # kinds remembered (the least recently used are forgotten)

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._kinds: OrderedDict[tuple, _Kind] = OrderedDict()
        self.last_choice_team = True   # the choice last reached by any kind; kinds without data follow it
        self.last_kind: tuple | None = None

    def after_fork_in_child(self) -> None:
        """In a forked child: a fresh lock (another thread may have held this one at fork)."""
        self._lock = threading.Lock()

    @staticmethod
    def kind_of(kind: Hashable, n: int) -> tuple:
        return (kind, n.bit_length())   # sizes within a factor of 2 are one kind

    def _get(self, key: tuple) -> _Kind:
        k = self._kinds.get(key)
        if k is None:
            k = self._kinds[key] = _Kind(self.HISTORY, self.EXPLORE_EVERY, self._clock())
            if len(self._kinds) > self.MAX_KINDS:
                self._kinds.popitem(last=False)
        else:
            self._kinds.move_to_end(key)
        return k

    def _team_wins(self, k: _Kind) -> bool:
        if k.ratios:
            return statistics.geometric_mean(k.ratios) < self.MARGIN
        if k.team or k.single:
            return bool(k.team)      # the only option measured so far (the other is tried next)
        return self.last_choice_team

    def prefers_team(self, kind: Hashable | None = None, n: int = MIN_ELEMENTS) -> bool:
        """The current choice for fills of this kind and size (None: the last choice of any kind)."""
        with self._lock:
            k = None if kind is None else self._kinds.get(self.kind_of(kind, n))
            return self.last_choice_team if k is None else self._team_wins(k)

    def choose(self, max_threads: int, n: int, kind: Hashable | None = None) -> int:
        """Threads for an automatic fill of n elements of a kind (e.g. "normal float32").  Fills
        too small to be measured, and work other than a fill (no kind), follow the last choice
        reached by any kind."""
        if max_threads <= 1:
            return 1
        with self._lock:
            if kind is None or n < self.MIN_ELEMENTS:   # not measured: no kind of its own
                return max_threads if self.last_choice_team else 1
            k = self._get(self.kind_of(kind, n))
            team = self._team_wins(k)
            if self._retry_due(k, team):
                team = not team
        return max_threads if team else 1

    def _retry_due(self, k: _Kind, team: bool) -> bool:
        in_use, other = (k.team, k.single) if team else (k.single, k.team)
        if team and k.team_cpus and statistics.median(k.team_cpus) >= self.SURE_CPUS:
            return False
        if not in_use:
            return False
        if not other:        # never measured: measure it now (once per kind)
            return True
        if self._clock() - k.retry_at < self.EXPLORE_SECONDS:
            return False
        if k.since_retry >= k.every:
            return True
        # The load changed since the last re-try: every recent fill of the option in use is CHANGE
        # times faster, or every one slower, than its mean then.  All of them, not their median:
        # on a busy machine fill times are often bimodal (a thread gets a CPU to itself or shares
        # one), and a median of a few such fills flips between the modes without any change.
        ref = k.reference
        if ref is None or len(in_use) < in_use.maxlen:
            return False
        return all(t < ref / self.CHANGE for t in in_use) or all(t > ref * self.CHANGE for t in in_use)

    def record(self, n: int, threads: int, cpu_seconds: float, wall_seconds: float,
               kind: Hashable | None = None) -> None:
        """Take in what an automatic fill of n elements of a kind cost (threads, CPU seconds and
        wall seconds, from _fill.fill)."""
        if kind is None or n < self.MIN_ELEMENTS or wall_seconds <= 0.0 or cpu_seconds <= 0.0:
            return
        time_per_value = wall_seconds / n
        with self._lock:
            key = self.kind_of(kind, n)
            k = self._get(key)
            if not k.warmed_up:
                # A kind's first fill is a warm-up, not a sample: it often writes fresh memory
                # (page faults) or starts the thread pool, and timed against warm fills of the
                # other option it would make the team look slow on a quiet machine.
                k.warmed_up = True
                return
            choice = self._team_wins(k)
            team = threads > 1
            in_use = k.team if choice else k.single
            if team == choice or not in_use:   # a fill of the option in use (or the first fill)
                (k.team if team else k.single).append(time_per_value)
                k.since_retry += 1
            else:                              # a re-try of the other option
                reference = statistics.fmean(in_use)
                ratio = time_per_value / reference if team else reference / time_per_value
                (k.team if team else k.single).append(time_per_value)
                k.ratios.append(ratio)
                agrees = (ratio < self.MARGIN) == choice
                k.every = min(2 * k.every, self.EXPLORE_MAX) if agrees else self.EXPLORE_EVERY
                k.since_retry, k.retry_at, k.reference = 0, self._clock(), reference
            if team:
                k.team_cpus.append(cpu_seconds / wall_seconds)
            self.last_choice_team, self.last_kind = self._team_wins(k), key
            if self.last_choice_team != choice:
                k.reference = None   # it described the other option

    def describe(self) -> str:
        """The choice for the kind last measured, and why, and how many kinds use a team (for
        bench output)."""
        with self._lock:
            choice = "team" if self.last_choice_team else "one thread"
            k = self._kinds.get(self.last_kind) if self.last_kind else None
            if k is None:
                return f"{choice} (nothing measured)"
            teams = sum(self._team_wins(other) for other in self._kinds.values())

            def show(average, xs, fmt):
                return fmt.format(average(xs)) if xs else "-"

            kind, bits = self.last_kind
            mean, gmean, median = statistics.fmean, statistics.geometric_mean, statistics.median
            return (f"{choice} for {kind} fills of {1 << (bits - 1):,}+ values (team/one-thread time "
                    f"{show(gmean, k.ratios, '{:.2f}')} (geometric mean) over {len(k.ratios)} re-tries; team "
                    f"{show(mean, k.team, '{:.2e}')} s/value on {show(median, k.team_cpus, '{:.2f}')} CPUs, "
                    f"one thread {show(mean, k.single, '{:.2e}')} s/value (means); next re-try after {k.every} fills); "
                    f"team for {teams} of the {len(self._kinds)} kinds measured")
