"""How every benchmark here measures: timed calls, rounds interleaved across the cases compared
(so that a noisy neighbour hurts every case alike), best and median of the rounds, bootstrap
intervals of a ratio of medians, the CPU time other processes take meanwhile, busy loops that
make a machine busy on purpose, and the peak memory a call adds."""
from __future__ import annotations

import gc
import itertools
import math
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from typing import Callable, Iterable, TypeVar

import numpy as np

T = TypeVar("T")


# ---------------------------------------------------------------- timing

def timed(fn: Callable[[], object], collect: bool = False) -> float:
    """Wall-clock seconds of one call of fn; its result is dropped after the clock stops.  collect:
    run the garbage collector first (when a previous call's large result may still be alive)."""
    if collect:
        gc.collect()
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    del result
    return seconds


class Times(list):
    """Seconds of the rounds of one case."""

    @property
    def best(self) -> float:
        return min(self) if self else math.inf

    @property
    def median(self) -> float:
        return statistics.median(self) if self else math.inf

    @property
    def mean(self) -> float:
        return statistics.fmean(self) if self else math.inf


def first_and_best(fn: Callable[[], object], repeat: int, collect: bool = True) -> dict:
    """{'first': the first call's seconds (compilation and other first-call costs included),
    'best': the best of it and `repeat` more calls}."""
    first = timed(fn, collect)
    return {"first": first, "best": min([first] + [timed(fn, collect) for _ in range(repeat)])}


ORDERS = ("same", "alternate", "rotate")


def rounds(calls: dict[str, Callable[[], T]], n: int, order: str = "same",
           before: Callable[[str], None] | None = None,
           after_round: Callable[[int, dict[str, list[T]]], None] | None = None) -> dict[str, list[T]]:
    """Call every function of `calls` once per round, for n rounds, and collect what each returns.

    order: "same", the order of `calls` every round; "alternate", every other round reversed;
    "rotate", round r in the r-th of all the orders (cycling).  Under time-slicing a call's place
    in the round can cost it milliseconds: the last two spread that over the cases.  before(name)
    is called before each call (a progress line), after_round(r, results) after each round."""
    if order not in ORDERS:
        raise ValueError(f"order={order!r}; choose from {ORDERS}")
    names = list(calls)
    orders = list(itertools.permutations(names)) if order == "rotate" else [names, names[::-1]]
    results: dict[str, list[T]] = {name: [] for name in names}
    for r in range(n):
        sequence = names if order == "same" else orders[r % len(orders)]
        for name in sequence:
            if before is not None:
                before(name)
            results[name].append(calls[name]())
        if after_round is not None:
            after_round(r, results)
    return results


def time_rounds(calls: dict[str, Callable[[], object]], n: int, order: str = "same", collect: bool = False,
                before: Callable[[str], None] | None = None,
                after_round: Callable[[int, dict[str, list[float]]], None] | None = None) -> dict[str, Times]:
    """rounds() of timed calls: the seconds of each call, per case."""
    timings = rounds({name: (lambda fn=fn: timed(fn, collect)) for name, fn in calls.items()}, n, order, before,
                     after_round)
    return {name: Times(seconds) for name, seconds in timings.items()}


class Case:
    """One timed case of a benchmark: `run` fills n values; `rounds` caps the rounds it is timed
    in (None: every round), for a peer too slow to time more than once."""

    def __init__(self, group: str, library: str, dtype: str, n: int, run: Callable[[], object], note: str = "",
                 rounds: int | None = None, threads: int | str | None = None):
        self.group, self.library, self.dtype, self.n, self.run, self.note = group, library, dtype, n, run, note
        self.rounds, self.threads = rounds, threads
        self.times = Times()

    @property
    def name(self) -> str:
        threads = "" if self.threads is None else f", {self.threads} thread{'' if self.threads == 1 else 's'}"
        return f"{self.library} {self.group} {self.dtype}{threads}"

    def record(self) -> None:
        if self.rounds is not None and len(self.times) >= self.rounds:
            return
        self.times.append(timed(self.run))

    @property
    def best(self) -> float:
        return self.times.best

    @property
    def median(self) -> float:
        return self.times.median

    @property
    def rate(self) -> float:
        return self.n / self.best

    @property
    def median_rate(self) -> float:
        return self.n / self.median


def run_cases(cases: Iterable[Case], n: int, order: str = "same", before: Callable[[str], None] | None = None,
              after_round: Callable[[int, dict], None] | None = None) -> None:
    """Time every case once per round, interleaved (see rounds); their names must differ."""
    cases = list(cases)
    calls = {c.name: c.record for c in cases}
    if len(calls) < len(cases):
        raise ValueError("cases of the same name: " + ", ".join(sorted({c.name for c in cases if c.name in calls})))
    rounds(calls, n, order, before, after_round)


def ratio_interval(numerator: list[float], denominator: list[float], resamples: int = 2000,
                   seed: int = 0) -> tuple[float, float]:
    """95% bootstrap interval of median(numerator) / median(denominator), resampling whole rounds
    (the two of a round ran under the same load)."""
    a, b = np.asarray(numerator), np.asarray(denominator)
    idx = np.random.default_rng(seed).integers(0, len(a), size=(resamples, len(a)))
    ratios = np.median(a[idx], axis=1) / np.median(b[idx], axis=1)
    return float(np.quantile(ratios, 0.025)), float(np.quantile(ratios, 0.975))


# ---------------------------------------------------------------- the machine

class MachineLoad:
    """CPU time taken by other processes while the benchmark runs: the busy time of every CPU
    (/proc/stat) minus this process's own CPU time, and the time stolen by the hypervisor.
    On a machine shared with other work the figures are noisy and pessimistic."""

    BUSY_CPUS = 0.25      # other processes using more than this many CPUs on average: warn
    STEAL_SHARE = 0.05    # or more than this share of CPU time stolen

    def __init__(self):
        self.start = self._sample()

    @staticmethod
    def _sample() -> dict | None:
        try:
            with open("/proc/stat") as f:
                fields = [int(x) for x in f.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
        hz = os.sysconf("SC_CLK_TCK")
        own = resource.getrusage(resource.RUSAGE_SELF)
        return {"busy": (user + nice + system + irq + softirq) / hz, "steal": steal / hz,
                "total": (user + nice + system + idle + iowait + irq + softirq + steal) / hz,
                "own": own.ru_utime + own.ru_stime, "wall": time.monotonic()}

    def report(self) -> dict:
        """{'other_cpus': CPUs used by other processes on average, 'steal_share', 'load_average', 'busy'}."""
        end = self._sample()
        out = {"other_cpus": None, "steal_share": None, "load_average": None, "busy": False}
        try:
            out["load_average"] = os.getloadavg()[0]
        except OSError:
            pass
        if self.start is None or end is None:
            return out
        wall = max(end["wall"] - self.start["wall"], 1e-9)
        other = (end["busy"] - self.start["busy"]) - (end["own"] - self.start["own"])
        total = max(end["total"] - self.start["total"], 1e-9)
        out["other_cpus"] = max(0.0, other / wall)
        out["steal_share"] = (end["steal"] - self.start["steal"]) / total
        out["busy"] = out["other_cpus"] > self.BUSY_CPUS or out["steal_share"] > self.STEAL_SHARE
        return out


def busy_warning(load: dict) -> str | None:
    """The warning to print after a run on a busy machine (MachineLoad.report()), or None."""
    if not load["busy"]:
        return None
    return (f"warning: the machine was busy during the run: other processes used {load['other_cpus']:.2f} CPUs "
            f"on average (steal {100 * (load['steal_share'] or 0):.0f}%, load average {load['load_average']:.1f}); "
            "the figures are slower and noisier than on a quiet machine, and the medians say more than the best")


def start_busy_loops(count: int, pin: bool = False, setsid: bool = False) -> list[subprocess.Popen]:
    """count foreign CPU-bound processes (``while True: pass``); pin: loop i pinned to the i-th CPU
    this process may use; setsid: each in a session (an autogroup) of its own.  Stop them with
    stop_busy_loops."""
    cpus = sorted(os.sched_getaffinity(0))
    loops = []
    for i in range(count):
        code = "while True: pass"
        if pin:   # the loop pins itself, so no taskset is needed
            code = f"import os; os.sched_setaffinity(0, {{{cpus[i % len(cpus)]}}})\n" + code
        loops.append(subprocess.Popen([sys.executable, "-c", code], start_new_session=setsid))
    return loops


def stop_busy_loops(loops: list[subprocess.Popen]) -> None:
    for p in loops:
        p.kill()
    for p in loops:
        p.wait()


# ---------------------------------------------------------------- memory

def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def peak_extra_memory(fn: Callable[[], object]) -> int:
    """Peak RSS above the starting RSS while fn runs (sampled every 0.5 ms)."""
    base, peak, done = _rss_bytes(), [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _rss_bytes())
            time.sleep(0.0005)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    try:
        fn()
    finally:
        done.set()
        t.join()
    return max(0, max(peak[0], _rss_bytes()) - base)
