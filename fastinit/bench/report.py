"""How the benchmarks report: aligned tables, a progress line, the machine's description, and
``python -m fastinit bench``'s summary rows, sections and plot."""
from __future__ import annotations

import os
import platform
import sys
from typing import Iterable, Sequence

import numpy as np

import fastinit

from .cases import fresh_memory_bound
from .measure import Case, busy_warning


def table(headers: Sequence[str], rows: Iterable[Sequence], align: str | None = None, indent: str = "",
          rule: bool = False, out=None) -> None:
    """Print rows under headers, each column as wide as its widest cell, two spaces apart.  Cells
    are printed as str() (format numbers before; None prints empty); align has one 'l' or 'r' per
    column (default: the first left, the others right); rule: a line of dashes under the headers."""
    out = sys.stdout if out is None else out
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    align = align or "l" + "r" * (len(headers) - 1)
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row):
        return "  ".join(c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(row, widths, align)).rstrip()

    print(indent + line(cells[0]), file=out)
    if rule:
        print(indent + "-" * len(line(cells[0])), file=out)
    for row in cells[1:]:
        print(indent + line(row), file=out)


class Progress:
    """A one-line progress counter on stderr (when enabled: a terminal and no --no-progress)."""

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


# ---------------------------------------------------------------- python -m fastinit bench

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


def _ratio(x: float | None) -> str:
    return f"{x:.2f}x" if x else "—"


def print_table(rows: list[dict], out=None) -> None:
    table(["kernel", "library", "dtype", "Msamples/s", "median", "GB/s", "vs numpy", "vs torch", "% mem", "note"],
          [[r["kernel"], r["library"], r["dtype"], f"{r['msamples_per_s']:.0f}", f"{r['msamples_per_s_median']:.0f}",
            f"{r['gb_per_s']:.2f}", _ratio(r.get("vs_numpy")), _ratio(r.get("vs_torch")),
            "—" if r["pct_of_memory_limit"] is None else f"{r['pct_of_memory_limit']:.0f}%", r["note"]]
           for r in rows], align="lll" + "r" * 6 + "l", rule=True, out=out)


def _row(rows: list[dict], **match) -> dict | None:
    return next((r for r in rows if all(r.get(k) == v for k, v in match.items())), None)


def print_fresh_memory(rows: list[dict], dtypes: list[str]) -> None:
    for d in dtypes:
        fresh = _row(rows, library="fastinit", kernel="normal_ fresh", dtype=d)
        in_place = _row(rows, library="fastinit", kernel="normal_", dtype=d)
        faults = _row(rows, kernel="page faults", dtype=d)
        if not (fresh and in_place):
            continue
        share = fresh["msamples_per_s"] / in_place["msamples_per_s"]
        print(f"fresh memory: normal_ {d} into new np.empty runs at {100 * share:.0f}% of the in-place rate "
              f"(medians: {100 * fresh['msamples_per_s_median'] / in_place['msamples_per_s_median']:.0f}%)")
        if faults:
            bound = fresh_memory_bound(in_place["seconds"], faults["seconds"])
            print(f"  the page faults alone take {1e3 * faults['seconds']:.1f} ms (best), which bounds it at "
                  f"{100 * bound:.0f}% (in-place time / (in-place time + page faults)); reached: "
                  f"{100 * share / bound:.0f}% of that bound")


def print_thread_scaling(scaling: list[dict]) -> None:
    threads = sorted({r["threads"] for r in scaling})
    print("\nthread scaling (float32, Msamples/s, best):")
    rows = []
    for kernel in dict.fromkeys(r["kernel"] for r in scaling):
        rate = {r["threads"]: r["msamples_per_s"] for r in scaling if r["kernel"] == kernel}
        rows.append([kernel] + [f"{rate[t]:.0f}" for t in threads] + [f"x{rate[threads[-1]] / rate[threads[0]]:.2f}"])
    table(["kernel"] + [f"{t} thread{'s' if t > 1 else ''}" for t in threads] + [f"{threads[-1]} vs {threads[0]}"],
          rows, indent="  ")


def print_default_vs_one(default_vs_one: list[dict], automatic: str) -> None:
    print(f"default threads vs 1 thread (float32, Msamples/s, median of {default_vs_one[0]['rounds']}):")
    rows = []
    for kernel in dict.fromkeys(r["kernel"] for r in default_vs_one):
        auto, one = (_row(default_vs_one, kernel=kernel, threads=t)["msamples_per_s_median"] for t in ("default", 1))
        rows.append([kernel, f"{auto:.0f}", f"{one:.0f}", f"x{auto / one:.2f}"])
    table(["kernel", "default", "1 thread", "default vs 1"], rows, indent="  ")
    print(f"  automatic choice at the end: {automatic}")


def print_size_sweep(sweep: list[dict]) -> None:
    print("size sweep (float32 normal_, Msamples/s):")
    table(["elements", "best", "median"],
          [[f"{r['n']:,}", f"{r['msamples_per_s']:.0f}", f"{r['msamples_per_s_median']:.0f}"] for r in sweep],
          align="rrr", indent="  ")


def print_memory(memory: list[dict]) -> None:
    print("extra peak memory during a fill:")
    table(["library", "kernel", "MiB", ""],
          [[r["library"], r["kernel"], f"{r['extra_peak_bytes'] / 2**20:.1f}",
            f"on {r['n']:,} values" if "n" in r else ""] for r in memory], align="llrl", indent="  ")


def print_report(result: dict) -> None:
    """The whole report of a run of ``python -m fastinit bench`` (its result dict)."""
    m, config = result["machine"], result["config"]
    fi_threads = config["fastinit_threads"]
    if fi_threads == "automatic":
        fi_threads = f"automatic (at most {config['threads']})"
    print(f"fastinit {m['fastinit']} bench: {m['cpu']}, {m['cores']} cores, SIMD {m['simd_path']}, "
          f"OpenMP {'on' if m['openmp'] else 'off'}, fastinit threads {fi_threads}, others {config['threads']} "
          f"threads, {config['size']:,} elements, best and median of {config['repeat']}")
    warning = busy_warning(result["machine_load"])
    if warning:
        print(warning)
    print_table(result["results"])
    print("(Msamples/s: best round; median: the median round; ratios and % mem from the best rounds)")
    print("(% mem: share of a plain fill's values/s, the faster of ndarray.fill on 1 and on all threads)")
    print_fresh_memory(result["results"], config["dtypes"])
    print_thread_scaling(result["thread_scaling"])
    print_default_vs_one(result["default_vs_one_thread"], result["automatic_threads"])
    print_size_sweep(result["size_sweep"])
    print_memory(result["memory"])
    for s in result["skipped"]:
        print(f"skipped: {s}")


def plot(path: str, scaling: list[dict], sweep: list[dict]) -> str | None:
    """A PNG of thread scaling and the size sweep; the reason it was skipped, if it was."""
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
