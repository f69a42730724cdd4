"""``python -m fastinit bench``: fastinit side by side with numpy, torch and the memory limit.

All cases run in one process, interleaved round by round (so a noisy neighbour hurts every case
alike); the best of N rounds and the median are reported.  Buffers are preallocated and touched
first, except in the "fresh memory" rows, where every round fills a new ``np.empty`` and page
faults dominate.  The memory limit is ``ndarray.fill`` split across the same threads.  fastinit
runs with its automatic thread count unless --threads is given, and a "default vs 1 thread"
section compares the two.  The CPU time other processes take during the run is measured, and a
warning printed when the machine was busy.  Nothing here asserts a speed: the numbers are for
reading.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import sys
import threading
import time
from typing import Callable

import numpy as np

import fastinit
from fastinit import _fill
from fastinit._extras import install_hint

DESCRIPTION = ("fastinit side by side with numpy, torch and the memory limit: every case interleaved round by "
               "round, best and median of the rounds, thread scaling, a size sweep and the extra memory of a fill.")
ORTHO_SHAPE = (1024, 1024)
ORTHO_TALL = (4096, 1024)
# torch.nn.init.trunc_normal_ at its defaults runs ~13 M values/s: it is timed once per dtype (not
# best-of-N) so that the default run stays near a minute, and its memory measured on 16 M values.
TORCH_TRUNC_ROUNDS = 1


# ---------------------------------------------------------------- measuring

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


class Case:
    def __init__(self, group: str, library: str, dtype: str, n: int, run: Callable[[], object], note: str = "",
                 rounds: int | None = None):
        self.group, self.library, self.dtype, self.n, self.run, self.note = group, library, dtype, n, run, note
        self.rounds = rounds  # None: every round
        self.times: list[float] = []

    @property
    def name(self) -> str:
        return f"{self.library} {self.group} {self.dtype}"

    def record(self) -> None:
        if self.rounds is not None and len(self.times) >= self.rounds:
            return
        t0 = time.perf_counter()
        self.run()
        self.times.append(time.perf_counter() - t0)

    @property
    def best(self) -> float:
        return min(self.times) if self.times else math.inf

    @property
    def median(self) -> float:
        return statistics.median(self.times) if self.times else math.inf

    @property
    def rate(self) -> float:
        return self.n / self.best

    @property
    def median_rate(self) -> float:
        return self.n / self.median


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
    if not load["busy"]:
        return None
    return (f"warning: the machine was busy during the run: other processes used {load['other_cpus']:.2f} CPUs "
            f"on average (steal {100 * (load['steal_share'] or 0):.0f}%, load average {load['load_average']:.1f}); "
            "the figures are slower and noisier than on a quiet machine, and the medians say more than the best")


def parallel_fill(buf: np.ndarray, threads: int) -> Callable[[], None]:
    parts = np.array_split(buf.reshape(-1), threads)

    def run():
        if threads == 1:
            buf.fill(1.0)
            return
        ts = [threading.Thread(target=p.fill, args=(1.0,)) for p in parts]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    return run


# ---------------------------------------------------------------- the cases

def _torch():
    try:
        import torch
        return torch
    except ImportError:
        return None


def build_cases(size: int, dtype_name: str, threads: int, torch, fastinit_threads: int | None = None
                ) -> tuple[list[Case], list[str]]:
    """The interleaved cases.  fastinit runs on fastinit_threads (None: its automatic choice),
    numpy's split fill and torch on `threads`."""
    dtype = np.dtype(dtype_name)
    buf = np.full(size, 1.0, dtype)   # written once, so the timed runs take no page faults
    mat = buf.reshape(-1, 1024) if size % 1024 == 0 else buf.reshape(1, -1)
    ortho = np.full(ORTHO_SHAPE, 1.0, dtype)
    ortho_tall = np.full(ORTHO_TALL, 1.0, dtype)
    rng = np.random.default_rng(0)
    kw = dict(seed=1, num_threads=fastinit_threads)
    cases = [
        Case("uniform_", "fastinit", dtype_name, size, lambda: fastinit.uniform_(buf, **kw)),
        Case("normal_", "fastinit", dtype_name, size, lambda: fastinit.normal_(buf, **kw)),
        Case("trunc_normal_", "fastinit", dtype_name, size, lambda: fastinit.trunc_normal_(buf, **kw)),
        Case("xavier_uniform_", "fastinit", dtype_name, size, lambda: fastinit.xavier_uniform_(mat, **kw)),
        Case("kaiming_normal_", "fastinit", dtype_name, size, lambda: fastinit.kaiming_normal_(mat, **kw)),
        Case("orthogonal_", "fastinit", dtype_name, ortho.size, lambda: fastinit.orthogonal_(ortho, **kw),
             note=f"{ORTHO_SHAPE[0]}x{ORTHO_SHAPE[1]}"),
        Case("orthogonal_ tall", "fastinit", dtype_name, ortho_tall.size,
             lambda: fastinit.orthogonal_(ortho_tall, **kw), note=f"{ORTHO_TALL[0]}x{ORTHO_TALL[1]}"),
        Case("uniform_", "numpy", dtype_name, size, lambda: rng.random(out=buf, dtype=dtype)),
        Case("normal_", "numpy", dtype_name, size, lambda: rng.standard_normal(out=buf, dtype=dtype)),
        Case("fill", "numpy", dtype_name, size, parallel_fill(buf, threads), note=f"ndarray.fill split over {threads} threads"),
        Case("fill 1 thread", "numpy", dtype_name, size, parallel_fill(buf, 1), note="ndarray.fill"),
    ]

    skipped = []
    if torch is None:
        skipped.append(f"torch (not installed: {install_hint('torch', 'torch')})")
        return cases, skipped
    torch.set_num_threads(threads)
    t = torch.from_numpy(buf)
    tm = torch.from_numpy(mat)
    to = torch.from_numpy(ortho)
    to_tall = torch.from_numpy(ortho_tall)
    init = torch.nn.init
    cases += [
        Case("uniform_", "torch", dtype_name, size, lambda: init.uniform_(t)),
        Case("normal_", "torch", dtype_name, size, lambda: init.normal_(t)),
        Case("trunc_normal_", "torch", dtype_name, size, lambda: init.trunc_normal_(t),
             note="timed once", rounds=TORCH_TRUNC_ROUNDS),
        Case("xavier_uniform_", "torch", dtype_name, size, lambda: init.xavier_uniform_(tm)),
        Case("kaiming_normal_", "torch", dtype_name, size, lambda: init.kaiming_normal_(tm)),
        Case("orthogonal_", "torch", dtype_name, ortho.size, lambda: init.orthogonal_(to),
             note=f"{ORTHO_SHAPE[0]}x{ORTHO_SHAPE[1]}"),
        Case("orthogonal_ tall", "torch", dtype_name, ortho_tall.size, lambda: init.orthogonal_(to_tall),
             note=f"{ORTHO_TALL[0]}x{ORTHO_TALL[1]}"),
    ]
    return cases, skipped


# ---------------------------------------------------------------- report

def machine_info(torch) -> dict:
    model, flags = platform.processor() or "unknown", []
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model in ("", "unknown", platform.machine()):
                    model = line.split(":", 1)[1].strip()
                if line.startswith("flags"):
                    flags = sorted({w for w in line.split(":", 1)[1].split() if w.startswith(("avx", "fma", "sse4"))})
                    break
    except OSError:
        pass
    return {
        "cpu": model, "cores": os.cpu_count(), "simd_path": fastinit.simd_path(), "cpu_simd_flags": flags,
        "openmp": fastinit.openmp_enabled(), "threads": fastinit.get_num_threads(),
        "python": platform.python_version(), "numpy": np.__version__, "fastinit": fastinit.__version__,
        "torch": getattr(torch, "__version__", None), "platform": platform.platform(),
    }


def fresh_memory_cases(size: int, dtypes: list[str], threads: int | None, fault_threads: int) -> list[Case]:
    """Fills of new np.empty memory, where page faults dominate, and the page faults alone (on
    fault_threads threads).  Run in a phase of their own: the kernel's work mapping and
    unmapping them would disturb the interleaved cases."""
    cases = []
    for d in dtypes:
        dtype = np.dtype(d)
        cases.append(Case("normal_ fresh", "fastinit", d, size,
                          lambda t=dtype: fastinit.normal_(np.empty(size, t), seed=1, num_threads=threads),
                          note="new np.empty each run"))
        cases.append(Case("fill fresh", "numpy", d, size, lambda t=dtype: np.empty(size, t).fill(1.0),
                          note="new np.empty each run"))
        cases.append(Case("page faults", "kernel", d, size, page_faults(size, dtype, fault_threads),
                          note=f"new np.empty, one write per 4 KiB page, {fault_threads} thread(s)"))
    return cases


def page_faults(size: int, dtype: np.dtype, threads: int) -> Callable[[], None]:
    """What fresh memory costs before any value is computed: a new np.empty, advised as fastinit
    advises its outputs, with one element per 4 KiB page written, split over `threads` threads
    as a fill splits it.  The kernel's page faults and zeroing are CPU work on the faulting
    threads, so a fill of fresh memory cannot take less than its in-place time plus this."""
    page = max(4096 // dtype.itemsize, 1)

    def run():
        buf = np.empty(size, dtype)
        if buf.nbytes >= _fill.HUGEPAGE_MIN_BYTES:
            _fill.advise_hugepages(buf.ctypes.data, buf.nbytes)
        parallel_fill(buf[::page], threads)()
    return run


def fresh_memory_bound(in_place_seconds: float, fault_seconds: float) -> float:
    """The highest share of its in-place rate a fill of fresh memory can reach when the page
    faults are CPU work on the same threads as the fill: t_in_place / (t_in_place + t_faults)."""
    return in_place_seconds / (in_place_seconds + fault_seconds)


def _fmt_ratio(x):
    return f"{x:7.2f}x" if x else "      —"


def memory_limit(cases: list[Case], dtype: str) -> float | None:
    """Values/s of a plain fill: the faster of ndarray.fill on one thread and split over all."""
    rates = [c.rate for c in cases if c.library == "numpy" and c.group.startswith("fill") and c.dtype == dtype]
    return max(rates) if rates else None


def summarize(cases: list[Case]) -> list[dict]:
    rows = []
    by_key = {(c.library, c.group, c.dtype): c for c in cases}
    for c in cases:
        limit = memory_limit([x for x in cases if "fresh" not in x.group], c.dtype)
        row = {"kernel": c.group, "library": c.library, "dtype": c.dtype, "n": c.n, "seconds": c.best,
               "seconds_median": c.median, "msamples_per_s": c.rate / 1e6,
               "msamples_per_s_median": c.median_rate / 1e6, "gb_per_s": c.rate * np.dtype(c.dtype).itemsize / 1e9,
               "pct_of_memory_limit": 100.0 * c.rate / limit if limit and c.library != "kernel" else None,
               "note": c.note}
        if c.library == "fastinit":
            for peer in ("numpy", "torch"):
                other = by_key.get((peer, c.group, c.dtype))  # (no peer runs on fresh memory)
                row[f"vs_{peer}"] = c.rate / other.rate if other else None
        rows.append(row)
    return rows


def print_table(rows: list[dict], out=sys.stdout) -> None:
    head = (f"{'kernel':<18}{'library':<10}{'dtype':<9}{'Msamples/s':>11}{'median':>8}{'GB/s':>8}{'vs numpy':>10}"
            f"{'vs torch':>10}{'% mem':>7}  note")
    print(head, file=out)
    print("-" * len(head), file=out)
    for r in rows:
        pct = f"{r['pct_of_memory_limit']:6.0f}%" if r["pct_of_memory_limit"] is not None else "      —"
        print(f"{r['kernel']:<18}{r['library']:<10}{r['dtype']:<9}{r['msamples_per_s']:11.0f}"
              f"{r['msamples_per_s_median']:8.0f}{r['gb_per_s']:8.2f}"
              f"{_fmt_ratio(r.get('vs_numpy')):>10}{_fmt_ratio(r.get('vs_torch')):>10}{pct}  {r['note']}", file=out)


class Progress:
    def __init__(self, total: int, enabled: bool):
        self.total, self.done, self.enabled = total, 0, enabled

    def step(self, label: str) -> None:
        self.done += 1
        if self.enabled:
            sys.stderr.write(f"\r\033[K[{self.done}/{self.total}] {label}")
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def thread_scaling(size: int, threads: int, repeat: int, progress: Progress) -> list[dict]:
    buf = np.full(size, 1.0, np.float32)
    cases = []
    for nt in range(1, threads + 1):
        for name, fn in (("uniform_", fastinit.uniform_), ("normal_", fastinit.normal_),
                         ("trunc_normal_", fastinit.trunc_normal_)):
            cases.append(Case(name, "fastinit", "float32", size, (lambda f=fn, k=nt: f(buf, seed=1, num_threads=k))))
            cases[-1].threads = nt
    for _ in range(repeat):
        for c in cases:
            progress.step(f"scaling {c.group} {c.threads} thread(s)")
            c.record()
    return [{"kernel": c.group, "threads": c.threads, "msamples_per_s": c.rate / 1e6,
             "msamples_per_s_median": c.median_rate / 1e6} for c in cases]


DEFAULT_VS_ONE_ROUNDS = 7   # at least: this section is about medians


def default_vs_one_thread(size: int, repeat: int, progress: Progress) -> list[dict]:
    """fastinit's automatic thread count against one thread, interleaved: on a busy machine the
    automatic choice should never be slower than one thread (compare the medians)."""
    buf = np.full(size, 1.0, np.float32)
    cases = []
    for name, fn in (("uniform_", fastinit.uniform_), ("normal_", fastinit.normal_)):
        for nt in (None, 1):
            cases.append(Case(name, "fastinit", "float32", size, (lambda f=fn, k=nt: f(buf, seed=1, num_threads=k))))
            cases[-1].threads = "default" if nt is None else nt
    for r in range(max(repeat, DEFAULT_VS_ONE_ROUNDS)):
        # Every other round in reverse order: under time-slicing a fill's place in the round can
        # cost it milliseconds, which would otherwise always fall on the same side.
        for c in (cases if r % 2 == 0 else cases[::-1]):
            c.record()
        progress.step("default vs 1 thread")
    return [{"kernel": c.group, "threads": c.threads, "msamples_per_s": c.rate / 1e6,
             "msamples_per_s_median": c.median_rate / 1e6, "rounds": len(c.times)} for c in cases]


def size_sweep(max_size: int, threads: int | None, repeat: int, progress: Progress) -> list[dict]:
    sizes = [s for s in (1 << 12, 1 << 16, 1 << 20, 1 << 23, 1 << 26) if s <= max_size] or [max_size]
    out = []
    for s in sizes:
        buf = np.full(s, 1.0, np.float32)
        c = Case("normal_", "fastinit", "float32", s, lambda b=buf: fastinit.normal_(b, seed=1, num_threads=threads))
        for _ in range(max(repeat, 3)):
            c.record()
        progress.step(f"size sweep {s:,}")
        out.append({"kernel": "normal_", "n": s, "msamples_per_s": c.rate / 1e6,
                    "msamples_per_s_median": c.median_rate / 1e6})
    return out


def memory_report(size: int, threads: int | None, torch) -> list[dict]:
    buf = np.full(size, 1.0, np.float32)  # touched, so its own pages are not counted
    rows = []
    for name, fn in (("uniform_", fastinit.uniform_), ("normal_", fastinit.normal_),
                     ("trunc_normal_", fastinit.trunc_normal_)):
        rows.append({"kernel": name, "library": "fastinit",
                     "extra_peak_bytes": peak_extra_memory(lambda f=fn: f(buf, seed=1, num_threads=threads))})
    if torch is not None:
        t = torch.from_numpy(buf)
        rows.append({"kernel": "trunc_normal_", "library": "torch", "n": t.numel(),
                     "extra_peak_bytes": peak_extra_memory(lambda: torch.nn.init.trunc_normal_(t))})
    return rows


def plot(path: str, scaling: list[dict], sweep: list[dict]) -> str | None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "skipped plot: matplotlib is not installed (pip install matplotlib)"
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    for kernel in sorted({r["kernel"] for r in scaling}):
        pts = [(r["threads"], r["msamples_per_s"]) for r in scaling if r["kernel"] == kernel]
        a.plot(*zip(*pts), marker="o", label=kernel)
    a.set(xlabel="threads", ylabel="Msamples/s", title="fastinit float32: thread scaling")
    a.set_xticks(sorted({r["threads"] for r in scaling}))
    a.legend()
    b.semilogx([r["n"] for r in sweep], [r["msamples_per_s"] for r in sweep], marker="o", label="normal_")
    b.set(xlabel="elements", ylabel="Msamples/s", title="fastinit float32 normal_: size")
    b.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return None


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
    p.add_argument("--quick", action="store_true", help="a ~10 s run: smaller buffers, float32, 2 rounds")
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
    p = parser()
    a = p.parse_args(argv)
    size = a.size or ((1 << 24) if a.quick else (1 << 26))  # quick: still larger than L3
    repeat = a.repeat or (2 if a.quick else 3)
    dtypes = (a.dtype or ("float32" if a.quick else "float32,float64")).split(",")
    threads = a.threads or fastinit.get_num_threads()   # numpy's split fill and torch; fastinit's ceiling
    for d in dtypes:
        if d not in ("float32", "float64"):
            p.error(f"--dtype {d!r}: choose from float32, float64")
    torch = _torch()
    load = MachineLoad()
    cases, skipped = [], []
    for d in dtypes:
        c, s = build_cases(size, d, threads, torch, fastinit_threads=a.threads)
        cases += c
        skipped = s
    total = (repeat + 1) * len(cases) + repeat * 3 * len(dtypes) + repeat * 3 * threads + max(repeat, DEFAULT_VS_ONE_ROUNDS) + 6
    progress = Progress(total, enabled=not a.no_progress and sys.stderr.isatty())
    t0 = time.perf_counter()
    for c in cases:                # untimed warm-up: first-call costs (lazy imports such as
        if c.rounds is None:       # scipy's for trunc_normal_, ~0.1 s) are not the kernel's speed
            progress.step(f"warm-up {c.name}")
            c.run()
    for _ in range(repeat):        # interleaved: every case once per round
        for c in cases:
            progress.step(c.name)
            c.record()
    fresh = fresh_memory_cases(size, dtypes, a.threads, threads)
    for _ in range(repeat):
        for c in fresh:
            progress.step(c.name)
            c.record()
    cases += fresh
    scaling = thread_scaling(min(size, 1 << 24), threads, repeat, progress)
    default_vs_one = default_vs_one_thread(min(size, 1 << 24), repeat, progress)
    sweep = size_sweep(size, a.threads, repeat, progress)
    memory = memory_report(min(size, 1 << 24), a.threads, torch)
    progress.step("extra peak memory")
    progress.close()
    machine_load = load.report()
    rows = summarize(cases)
    result = {"command": "python -m fastinit bench " + " ".join(argv if argv is not None else sys.argv[2:]),
              "date": time.strftime("%Y-%m-%d"), "machine": machine_info(torch),
              "config": {"size": size, "dtypes": dtypes, "threads": threads, "fastinit_threads": a.threads or "automatic",
                         "repeat": repeat, "quick": a.quick},
              "results": rows, "thread_scaling": scaling, "default_vs_one_thread": default_vs_one,
              "size_sweep": sweep, "memory": memory, "machine_load": machine_load,
              "automatic_threads": fastinit._runtime._chooser.describe(),
              "skipped": skipped, "elapsed_s": time.perf_counter() - t0}
    m = result["machine"]
    fi_threads = a.threads or f"automatic (at most {threads})"
    print(f"fastinit {m['fastinit']} bench: {m['cpu']}, {m['cores']} cores, SIMD {m['simd_path']}, "
          f"OpenMP {'on' if m['openmp'] else 'off'}, fastinit threads {fi_threads}, others {threads} threads, "
          f"{size:,} elements, best and median of {repeat}")
    warning = busy_warning(machine_load)
    if warning:
        print(warning)
    print_table(rows)
    print("(Msamples/s: best round; median: the median round; ratios and % mem from the best rounds)")
    print("(% mem: share of a plain fill's values/s, the faster of ndarray.fill on 1 and on all threads)")
    for d in dtypes:
        fresh_row = next((r for r in rows if r["library"] == "fastinit" and r["kernel"] == "normal_ fresh"
                          and r["dtype"] == d), None)
        in_place = next((r for r in rows if r["library"] == "fastinit" and r["kernel"] == "normal_"
                         and r["dtype"] == d), None)
        faults = next((r for r in rows if r["kernel"] == "page faults" and r["dtype"] == d), None)
        if fresh_row and in_place:
            print(f"fresh memory: normal_ {d} into new np.empty runs at {100 * fresh_row['msamples_per_s'] / in_place['msamples_per_s']:.0f}% "
                  f"of the in-place rate (medians: {100 * fresh_row['msamples_per_s_median'] / in_place['msamples_per_s_median']:.0f}%)")
        if fresh_row and in_place and faults:
            bound = fresh_memory_bound(in_place["seconds"], faults["seconds"])
            print(f"  the page faults alone take {1e3 * faults['seconds']:.1f} ms (best), which bounds it at "
                  f"{100 * bound:.0f}% (in-place time / (in-place time + page faults)); reached: "
                  f"{100 * fresh_row['msamples_per_s'] / in_place['msamples_per_s'] / bound:.0f}% of that bound")
    print("\nthread scaling (float32, Msamples/s, best):")
    for kernel in ("uniform_", "normal_", "trunc_normal_"):
        pts = [r for r in scaling if r["kernel"] == kernel]
        line = "  ".join(f"{r['threads']}t {r['msamples_per_s']:.0f}" for r in pts)
        print(f"  {kernel:<15}{line}  (x{pts[-1]['msamples_per_s'] / pts[0]['msamples_per_s']:.2f})")
    print(f"default threads vs 1 thread (float32, Msamples/s, median of {default_vs_one[0]['rounds']}):")
    for kernel in ("uniform_", "normal_"):
        auto, one = (next(r for r in default_vs_one if r["kernel"] == kernel and r["threads"] == t)
                     for t in ("default", 1))
        print(f"  {kernel:<15}default {auto['msamples_per_s_median']:.0f}  1 thread {one['msamples_per_s_median']:.0f}  "
              f"(x{auto['msamples_per_s_median'] / one['msamples_per_s_median']:.2f})")
    print(f"  automatic choice at the end: {result['automatic_threads']}")
    print("extra peak memory during a fill:")
    for r in memory:
        n = f" on {r['n']:,} values" if "n" in r else ""
        print(f"  {r['library']:<9}{r['kernel']:<15}{r['extra_peak_bytes'] / 2**20:8.1f} MiB{n}")
    for s in skipped:
        print(f"skipped: {s}")
    if a.plot:
        msg = plot(a.plot, scaling, sweep)
        print(msg or f"plot written to {a.plot}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=2)
        print(f"results written to {a.json}")
    print(f"({result['elapsed_s']:.0f} s)")
    return result
