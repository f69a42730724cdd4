"""``python -m fastinit bench``'s command line: the options, and the run in its phases."""
from __future__ import annotations

import argparse
import json
import sys
import time

import fastinit

from . import cases as C
from .measure import MachineLoad, run_cases
from .report import Progress, machine_info, plot, print_report, summarize

DESCRIPTION = ("fastinit side by side with numpy, torch and the memory limit: every case interleaved round by "
               "round, best and median of the rounds, thread scaling, a size sweep and the extra memory of a fill. "
               "A run takes ~1.5 min on 2 cores (--quick: ~15-20 s); more on a busy machine.")
# Durations measured on the 2-core VM (2026-12-05), another job keeping one of its CPUs busy:
# default 70 and 82 s, --quick 13, 15 and 15 s (whole commands, Python's start included).


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1; got {value}")
    return value


def thread_count(text: str) -> int:
    value = positive_int(text)
    if value > fastinit.MAX_THREADS:
        raise argparse.ArgumentTypeError(f"must be at most {fastinit.MAX_THREADS} (fastinit's thread limit); "
                                         f"got {value}")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m fastinit bench", description=DESCRIPTION)
    p.add_argument("--quick", action="store_true", help="smaller buffers (16Mi), float32, 2 rounds: ~15-20 s on 2 cores")
    p.add_argument("--size", type=positive_int, help="elements per buffer (default 64Mi; --quick 16Mi)")
    p.add_argument("--dtype", default=None, help="comma-separated: float32,float64 (default both; --quick float32)")
    p.add_argument("--threads", type=thread_count, default=None,
                   help="threads for every library (default: fastinit's automatic choice, and all the CPUs "
                        "available for the others)")
    p.add_argument("--repeat", type=positive_int, default=None,
                   help="rounds; the best and the median are reported (default 3; --quick 2)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.add_argument("--plot", metavar="PATH", help="also write a PNG of thread scaling and size (needs matplotlib)")
    p.add_argument("--no-progress", action="store_true", help="no progress line")
    return p


def run(argv: list[str] | None = None) -> dict:
    """Parse the options, run every phase, print the report; returns the results (as --json writes them)."""
    t0 = time.perf_counter()
    p = parser()
    a = p.parse_args(argv)
    size = a.size or ((1 << 24) if a.quick else (1 << 26))  # quick: still larger than L3
    repeat = a.repeat or (2 if a.quick else 3)
    dtypes = (a.dtype or ("float32" if a.quick else "float32,float64")).split(",")
    threads = a.threads or fastinit.get_num_threads()   # numpy's split fill and torch; fastinit's ceiling
    for d in dtypes:
        if d not in ("float32", "float64"):
            p.error(f"--dtype {d!r}: choose from float32, float64")
    torch = C.optional_torch()
    load = MachineLoad()
    cases, skipped = [], []
    for d in dtypes:
        c, skipped = C.build_cases(size, d, threads, torch, fastinit_threads=a.threads)
        cases += c
    fresh = C.fresh_memory_cases(size, dtypes, a.threads, threads)
    scaling = C.thread_scaling_cases(min(size, 1 << 24), threads)
    default_vs_one = C.default_vs_one_cases(min(size, 1 << 24))
    vs_one_rounds = max(repeat, C.DEFAULT_VS_ONE_ROUNDS)
    sweep = C.size_sweep_cases(size, a.threads)
    sweep_rounds = max(repeat, C.SWEEP_ROUNDS)
    warm = [c for c in cases if c.rounds is None]
    total = (len(warm) + repeat * (len(cases) + len(fresh) + len(scaling)) + vs_one_rounds * len(default_vs_one)
             + sweep_rounds * len(sweep) + 1)
    progress = Progress(total, enabled=not a.no_progress and sys.stderr.isatty())
    for c in warm:                 # untimed warm-up: first-call costs (lazy imports such as
        progress.step(f"warm-up {c.name}")   # scipy's for trunc_normal_, ~0.1 s) are not the kernel's speed
        c.run()
    run_cases(cases, repeat, before=progress.step)   # interleaved: every case once per round
    run_cases(fresh, repeat, before=progress.step)   # (a phase of its own: see fresh_memory_cases)
    run_cases(scaling, repeat, before=lambda name: progress.step(f"scaling {name}"))
    run_cases(default_vs_one, vs_one_rounds, order="alternate", before=lambda name: progress.step("default vs 1 thread"))
    run_cases(sweep, sweep_rounds, before=lambda name: progress.step(f"size sweep {name}"))
    memory = C.memory_report(min(size, 1 << 24), a.threads, torch)
    progress.step("extra peak memory")
    progress.close()
    result = {"command": "python -m fastinit bench " + " ".join(argv if argv is not None else sys.argv[2:]),
              "date": time.strftime("%Y-%m-%d"), "machine": machine_info(torch),
              "config": {"size": size, "dtypes": dtypes, "threads": threads, "fastinit_threads": a.threads or "automatic",
                         "repeat": repeat, "quick": a.quick},
              "results": summarize(cases + fresh), "thread_scaling": C.thread_scaling(scaling),
              "default_vs_one_thread": C.default_vs_one_thread(default_vs_one),
              "size_sweep": C.size_sweep(sweep), "memory": memory, "machine_load": load.report(),
              "automatic_threads": fastinit._runtime._chooser.describe(), "skipped": skipped}
    print_report(result)
    if a.plot:
        msg = plot(a.plot, result["thread_scaling"], result["size_sweep"])
        print(msg or f"plot written to {a.plot}")
    result["elapsed_s"] = time.perf_counter() - t0
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=2)
        print(f"results written to {a.json}")
    print(f"({result['elapsed_s']:.0f} s)")
    return result
