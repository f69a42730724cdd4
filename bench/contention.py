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
import os
import sys
import time

import numpy as np

import fastinit
from fastinit import _runtime
from fastinit.bench import measure, report

ARMS = ("default", "one", "one again")


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
    busy = measure.start_busy_loops(busy_count, a.pin, a.setsid)
    try:
        time.sleep(0.5 if busy else 0.0)
        buf = np.ones(a.size, np.float32)
        how = ", ".join(w for w, on in (("pinned", a.pin), ("own sessions", a.setsid)) if on)
        print(f"{a.size:,} float32, {a.rounds} rounds, {busy_count} busy loops{f' ({how})' if busy and how else ''}, "
              f"{_runtime.available_cpus()} CPUs available, load average {os.getloadavg()[0]:.1f} at start")
        for name in a.kernels.split(","):
            fn = getattr(fastinit, name)
            picks = []   # threads of each default fill

            def default(fn=fn):
                fn(buf, seed=1, num_threads=None)
                picks.append(used[-1])

            def trace(r, times):
                print("  " + "   ".join(f"{arm} {times[arm][-1] * 1e3:6.1f} ms" for arm in ARMS)
                      + f"   (default on {picks[-1]})")

            one = (lambda fn=fn: fn(buf, seed=1, num_threads=1))
            # every order of the three arms in turn: under time-slicing a fill's place in the round costs it
            times = measure.time_rounds({"default": default, "one": one, "one again": one}, a.rounds, order="rotate",
                                        after_round=trace if a.trace else None)
            med = {arm: times[arm].median for arm in ARMS}
            team = sum(p > 1 for p in picks)
            print(f"{name}")
            report.table(["arm", "median ms", "mean ms", "min ms"],
                         [[arm, f"{t.median * 1e3:.1f}", f"{t.mean * 1e3:.1f}", f"{t.best * 1e3:.1f}"]
                          for arm, t in times.items()], indent="  ")
            lo, hi = measure.ratio_interval(times["one"], times["default"])
            print(f"  one-thread median / default median x{med['one'] / med['default']:.2f} "
                  f"(95% interval x{lo:.2f}..x{hi:.2f}; {verdict(med['default'], med['one'], (lo, hi))}); "
                  f"noise floor (one / one again) x{med['one'] / med['one again']:.2f}; "
                  f"default used the team in {team} of {a.rounds} rounds")
        print(f"final chooser state: {_runtime._chooser.describe()}")
    finally:
        measure.stop_busy_loops(busy)
        _runtime.record_fill = record
    return 0


if __name__ == "__main__":
    sys.exit(main())
