"""What ``python -m fastinit bench`` times: the interleaved cases (fastinit's kernels and schemes,
numpy, torch, the memory limit), fills of fresh memory and their page faults, thread scaling,
the automatic thread count against one thread, a size sweep and the extra memory of a fill."""
from __future__ import annotations

import threading
from typing import Callable

import numpy as np

import fastinit
from fastinit import _fill
from fastinit._extras import install_hint

from .measure import Case, peak_extra_memory

ORTHO_SHAPE = (1024, 1024)
ORTHO_TALL = (4096, 1024)
# torch.nn.init.trunc_normal_ at its defaults runs ~13 M values/s: it is timed once per dtype (not
# best-of-N), and its memory measured on 16 M values.
TORCH_TRUNC_ROUNDS = 1
DEFAULT_VS_ONE_ROUNDS = 7   # at least: that section is about medians
SWEEP_SIZES = (1 << 12, 1 << 16, 1 << 20, 1 << 23, 1 << 26)
SWEEP_ROUNDS = 3            # at least


def optional_torch():
    """torch, or None when it is not installed (its cases are then skipped, with a note)."""
    try:
        import torch
        return torch
    except ImportError:
        return None


def parallel_fill(buf: np.ndarray, threads: int) -> Callable[[], None]:
    """ndarray.fill split over `threads` Python threads (numpy releases the GIL): the memory limit."""
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


def build_cases(size: int, dtype_name: str, threads: int, torch, fastinit_threads: int | None = None
                ) -> tuple[list[Case], list[str]]:
    """The interleaved cases, and the peers skipped.  fastinit runs on fastinit_threads (None: its
    automatic choice), numpy's split fill and torch on `threads`."""
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


KERNELS = (("uniform_", fastinit.uniform_), ("normal_", fastinit.normal_), ("trunc_normal_", fastinit.trunc_normal_))


def rates(c: Case) -> dict:
    return {"msamples_per_s": c.rate / 1e6, "msamples_per_s_median": c.median_rate / 1e6}


def thread_scaling_cases(size: int, threads: int) -> list[Case]:
    buf = np.full(size, 1.0, np.float32)
    return [Case(name, "fastinit", "float32", size, (lambda f=fn, k=nt: f(buf, seed=1, num_threads=k)), threads=nt)
            for nt in range(1, threads + 1) for name, fn in KERNELS]


def thread_scaling(cases: list[Case]) -> list[dict]:
    return [{"kernel": c.group, "threads": c.threads, **rates(c)} for c in cases]


def default_vs_one_cases(size: int) -> list[Case]:
    """fastinit's automatic thread count against one thread, to be timed in alternating order: on
    a busy machine the automatic choice should never be slower than one thread (compare the
    medians)."""
    buf = np.full(size, 1.0, np.float32)
    return [Case(name, "fastinit", "float32", size, (lambda f=fn, k=nt: f(buf, seed=1, num_threads=k)),
                 threads="default" if nt is None else nt)
            for name, fn in KERNELS[:2] for nt in (None, 1)]


def default_vs_one_thread(cases: list[Case]) -> list[dict]:
    return [{"kernel": c.group, "threads": c.threads, **rates(c), "rounds": len(c.times)} for c in cases]


def size_sweep_cases(max_size: int, threads: int | None) -> list[Case]:
    """float32 normal_ at each size of SWEEP_SIZES up to max_size (or max_size alone, if smaller)."""
    sizes = [s for s in SWEEP_SIZES if s <= max_size] or [max_size]
    cases = []
    for s in sizes:
        buf = np.full(s, 1.0, np.float32)
        cases.append(Case(f"normal_ {s}", "fastinit", "float32", s,
                          lambda b=buf: fastinit.normal_(b, seed=1, num_threads=threads)))
    return cases


def size_sweep(cases: list[Case]) -> list[dict]:
    return [{"kernel": "normal_", "n": c.n, **rates(c)} for c in cases]


def memory_report(size: int, threads: int | None, torch) -> list[dict]:
    buf = np.full(size, 1.0, np.float32)  # touched, so its own pages are not counted
    rows = []
    for name, fn in KERNELS:
        rows.append({"kernel": name, "library": "fastinit",
                     "extra_peak_bytes": peak_extra_memory(lambda f=fn: f(buf, seed=1, num_threads=threads))})
    if torch is not None:
        t = torch.from_numpy(buf)
        rows.append({"kernel": "trunc_normal_", "library": "torch", "n": t.numel(),
                     "extra_peak_bytes": peak_extra_memory(lambda: torch.nn.init.trunc_normal_(t))})
    return rows
