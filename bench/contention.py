"""The automatic thread count under contention: default fills against one-thread fills, interleaved.

    python bench/contention.py --busy 2            # 2 foreign busy loops in this session
    python bench/contention.py --busy 2 --setsid   # each busy loop in a session of its own
    python bench/contention.py                     # quiet: the default should stay the team

Starts its own busy loops (``python -c "while True: pass"``), kills them at the end, and prints the
median wall time of the default and of num_threads=1 per kernel, how often the default used the
team, and the chooser's final state.  The two alternate in which goes first in each round.  Requirement (issue 10): default median <= one-thread median.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import numpy as np

import fastinit
from fastinit import _runtime


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--busy", type=int, default=0, help="foreign CPU-bound processes to start")
    ap.add_argument("--setsid", action="store_true", help="start each busy loop in a new session")
    ap.add_argument("--rounds", type=int, default=60)
    ap.add_argument("--size", type=int, default=16 << 20)
    ap.add_argument("--kernels", default="uniform_,normal_")
    ap.add_argument("--trace", action="store_true", help="print every round: threads used, times")
    ap.add_argument("--default-threads", type=int, default=None,
                    help="run the 'default' side with this num_threads (1: an A/A run, the noise floor)")
    a = ap.parse_args(argv)

    used = []   # threads of each automatic fill, as reported to the chooser
    record = _runtime.record_fill

    def spy(n, cost, *kind):
        used.append(cost[0])
        record(n, cost, *kind)

    _runtime.record_fill = spy
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=a.setsid)
            for _ in range(a.busy)]
    try:
        time.sleep(0.5 if busy else 0.0)
        buf = np.ones(a.size, np.float32)
        print(f"{a.size:,} float32, {a.rounds} rounds, {a.busy} busy loops"
              f"{' (setsid)' if a.setsid and busy else ''}, {_runtime.available_cpus()} CPUs available")
        for name in a.kernels.split(","):
            fn = getattr(fastinit, name)
            times = {"default": [], "one": []}
            picks = []
            for r in range(a.rounds):
                # Alternate which goes first: under time-slicing, a fill's place in the round
                # (right after the other one, or after the loop) can cost it a few milliseconds.
                order = (("default", a.default_threads), ("one", 1))
                for key, nt in (order if r % 2 == 0 else order[::-1]):
                    t0 = time.perf_counter()
                    fn(buf, seed=1, num_threads=nt)
                    times[key].append(time.perf_counter() - t0)
                    if key == "default":
                        picks.append(used[-1] if used and a.default_threads is None else a.default_threads)
                if a.trace:
                    print(f"  {picks[-1]}t {times['default'][-1] * 1e3:6.1f} ms   1t {times['one'][-1] * 1e3:6.1f} ms")
            d, o = (statistics.median(times[k]) * 1e3 for k in ("default", "one"))
            team = [t for t, p in zip(times["default"], picks) if p > 1]
            solo = [t for t, p in zip(times["default"], picks) if p == 1]
            med = (lambda xs: f"{statistics.median(xs) * 1e3:.1f} ms" if xs else "-")
            print(f"{name:<9} default median {d:.1f} ms ; one-thread median {o:.1f} ms  (x{o / d:.2f} {'OK' if d <= o else 'SLOWER'})")
            print(f"          default picked the team {len(team)}/{a.rounds} (median {med(team)}), "
                  f"one thread {len(solo)} (median {med(solo)})")
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
