"""Time the construction of one big embedding table three ways:

    torch                 torch.nn.Embedding(rows, dim)                      (torch's own normal_)
    fastinit.torch.patch  with fastinit.torch.patch(): torch.nn.Embedding(rows, dim)
    fastinit.init         fastinit.init((rows, dim), "torch_embedding")       (a numpy array)

Each includes allocating the table (page faults of fresh memory are most of the cost for the two
torch-allocated ones) and is run in that order, one table alive at a time.

    python bench/torch_embedding.py                  # 50M x 64 float32: 12.8 GB per table
    python bench/torch_embedding.py --rows 1000000   # small
"""
from __future__ import annotations

import argparse
import os

from fastinit.bench import measure, report


def _available_bytes() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=50_000_000, help="num_embeddings (default 50,000,000)")
    parser.add_argument("--dim", type=int, default=64, help="embedding_dim (default 64)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each; the fastest is reported (default 1)")
    parser.add_argument("--skip-torch", action="store_true", help="skip torch's own init (the slow one)")
    args = parser.parse_args(argv)
    if args.rows <= 0 or args.dim <= 0 or args.repeat <= 0:
        parser.error("--rows, --dim and --repeat must be positive")

    import torch

    import fastinit
    import fastinit.torch as ft

    size = args.rows * args.dim * 4
    available = _available_bytes()
    if available is not None and size > 0.9 * available:
        parser.error(f"a {args.rows} x {args.dim} float32 table needs {size / 1e9:.1f} GB; only "
                     f"{available / 1e9:.1f} GB of memory is available: use a smaller --rows")

    print(f"torch.nn.Embedding({args.rows:,}, {args.dim}), float32, {size / 1e9:.2f} GB; "
          f"torch {torch.__version__}, {torch.get_num_threads()} torch threads, "
          f"{fastinit.get_num_threads()} fastinit threads, SIMD path {fastinit.simd_path()}, "
          f"THP_MEM_ALLOC_ENABLE={os.environ.get('THP_MEM_ALLOC_ENABLE', 'unset')}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

    def patched():
        with ft.patch():
            return torch.nn.Embedding(args.rows, args.dim)

    builds = {"fastinit.init": lambda: fastinit.init((args.rows, args.dim), "torch_embedding"),
              "fastinit.torch.patch": patched}
    if not args.skip_torch:
        builds["torch"] = lambda: torch.nn.Embedding(args.rows, args.dim)
    # interleaved when --repeat > 1; each table is dropped before the next build
    times = {name: ts.best for name, ts in measure.time_rounds(builds, args.repeat, collect=True).items()}

    report.table(["build", "seconds"], [[name, f"{seconds:.3f}"] for name, seconds in times.items()], indent="  ")
    patched_s, init_s = times["fastinit.torch.patch"], times["fastinit.init"]
    ratios = [("patched / fastinit.init", patched_s / init_s)]
    if "torch" in times:
        ratios = [("torch / patched", times["torch"] / patched_s), ("torch / fastinit.init", times["torch"] / init_s)] + ratios
    report.table(["ratio", ""], [[label, f"{x:.2f}x"] for label, x in ratios], indent="  ")
    return times


if __name__ == "__main__":
    main()
