"""The automatic thread count under contention: default fills against one-thread fills, interleaved.

    python bench/contention.py                  # every CPU busy: one foreign busy loop per CPU
    python bench/contention.py --pin            # ... each loop pinned to its own CPU
    python bench/contention.py --setsid         # ... each loop in a session (autogroup) of its own
    python bench/contention.py --busy 0         # quiet: the default should stay the team

Starts its own busy loops (``python -c "while True: pass"``, one per available CPU unless --busy
says otherwise), kills them at the end, and times three arms round by round: the automatic
default, num_threads=1, and num_threads=1 again.  The third arm is the noise floor of the run:
two medians of the same thing under the same load differ by this much.  The arms rotate through
all six orders (under time-slicing, a fill's place in the round costs it milliseconds).

Requirement (issue 10): with every core busy, the default's median time <= the one-thread
median.  The verdict per kernel is OK when it is, "within noise" when it is not but the 95%
bootstrap interval of the speed-up (rounds resampled) still reaches 1, else SLOWER.
"""
from __future__ import annotations

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import time

import numpy as np

import fastinit
from fastinit import _runtime

ARMS = ("default", "one", "one again")
ORDERS = list(itertools.permutations(range(len(ARMS))))


def start_busy_loops(count: int, pin: bool, setsid: bool) -> list[subprocess.Popen]:
    cpus = sorted(os.sched_getaffinity(0))
    loops = []
    for i in range(count):
        code = "while True: pass"
        if pin:   # the loop pins itself, so no taskset is needed
            code = f"import os; os.sched_setaffinity(0, {{{cpus[i % len(cpus)]}}})\n" + code
        loops.append(subprocess.Popen([sys.executable, "-c", code], start_new_session=setsid))
    return loops


def summary(times: list[float]) -> str:
    ms = [t * 1e3 for t in times]
    return f"median {statistics.median(ms):6.1f}  mean {statistics.fmean(ms):6.1f}  min {min(ms):6.1f} ms"


def speedup_interval(default: list[float], one: list[float], resamples: int = 2000) -> tuple[float, float]:
    """95% bootstrap interval of median(one) / median(default), resampling whole rounds (the
    two arms of a round ran under the same load)."""
    d, o = np.asarray(default), np.asarray(one)
    idx = np.random.default_rng(0).integers(0, len(d), size=(resamples, len(d)))
    ratios = np.median(o[idx], axis=1) / np.median(d[idx], axis=1)
    return float(np.quantile(ratios, 0.025)), float(np.quantile(ratios, 0.975))


def verdict(default: float, one: float, interval: tuple[float, float]) -> str:
    """OK: the default's median is at most the one-thread median; within noise: it is above it,
    but the 95% interval of the speed-up still reaches 1; else SLOWER."""
    if default <= one:
        return "OK"
    return "within noise" if interval[1] >= 1.0 else "SLOWER"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--busy", type=int, default=None,
                    help="foreign CPU-bound processes to start (default: one per available CPU)")
    ap.add_argument("--pin", action="store_true", help="pin busy loop i to the i-th available CPU")
    ap.add_argument("--setsid", action="store_true", help="start each busy loop in a new session")
    ap.add_argument("--rounds", type=int, default=240)
    ap.add_argument("--size", type=int, default=16 << 20)
    ap.add_argument("--kernels", default="uniform_,normal_")
    ap.add_argument("--trace", action="store_true", help="print every round: threads used, times")
    a = ap.parse_args(argv)
    busy_count = _runtime.available_cpus() if a.busy is None else a.busy

    used = []   # threads of each automatic fill, as reported to the chooser
    record = _runtime.record_fill

    def spy(n, cost, *kind):
        used.append(cost[0])
        record(n, cost, *kind)

    _runtime.record_fill = spy
    busy = start_busy_loops(busy_count, a.pin, a.setsid)
    try:
        time.sleep(0.5 if busy else 0.0)
        buf = np.ones(a.size, np.float32)
        how = ", ".join(w for w, on in (("pinned", a.pin), ("own sessions", a.setsid)) if on)
        print(f"{a.size:,} float32, {a.rounds} rounds, {busy_count} busy loops{f' ({how})' if busy and how else ''}, "
              f"{_runtime.available_cpus()} CPUs available, load average {os.getloadavg()[0]:.1f} at start")
        for name in a.kernels.split(","):
            fn = getattr(fastinit, name)
            times: dict[str, list[float]] = {arm: [] for arm in ARMS}
            picks = []
            for r in range(a.rounds):
                for i in ORDERS[r % len(ORDERS)]:
                    arm = ARMS[i]
                    nt = None if arm == "default" else 1
                    t0 = time.perf_counter()
                    fn(buf, seed=1, num_threads=nt)
                    times[arm].append(time.perf_counter() - t0)
                    if arm == "default":
                        picks.append(used[-1])
                if a.trace:
                    print("  " + "   ".join(f"{arm} {times[arm][-1] * 1e3:6.1f} ms" for arm in ARMS)
                          + f"   (default on {picks[-1]})")
            med = {arm: statistics.median(times[arm]) for arm in ARMS}
            team = sum(p > 1 for p in picks)
            print(f"{name}")
            for arm in ARMS:
                print(f"  {arm:<10} {summary(times[arm])}")
            lo, hi = speedup_interval(times["default"], times["one"])
            print(f"  one-thread median / default median x{med['one'] / med['default']:.2f} "
                  f"(95% interval x{lo:.2f}..x{hi:.2f}; {verdict(med['default'], med['one'], (lo, hi))}); "
                  f"noise floor (one / one again) x{med['one'] / med['one again']:.2f}; "
                  f"default used the team in {team} of {a.rounds} rounds")
        print(f"final chooser state: {_runtime._chooser.describe()}")
    finally:
        for p in busy:
            p.kill()
        for p in busy:
            p.wait()
        _runtime.record_fill = record
    return 0


if __name__ == "__main__":
    sys.exit(main())
