"""Per-call cost of fastinit's Python layer on small fills (where argument checks, planning and the
hand-off to the kernels are most of the time): best of 5 rounds per case.

    python bench/python_overhead.py                 # this checkout's build
    PYTHONPATH=/path/to/other/checkout python bench/python_overhead.py   # another build, to compare

Small tensors (64 x 64) measure the Python layer; the narrow-column block (2048 x 4 of a
2048 x 4096 tensor) measures the executor's runs and spans.
"""
import timeit

import numpy as np

import fastinit

CASES = {
    "fastinit.uniform_ 64x64": lambda out, t, blk: fastinit.uniform_(out, seed=1),
    "fastinit.xavier_uniform_ 64x64": lambda out, t, blk: fastinit.xavier_uniform_(out, seed=1),
    "fastinit.init(out, 'glorot_normal') 64x64": lambda out, t, blk: fastinit.init(out, "glorot_normal", seed=1),
    "fastinit.fill_block 2048x4 of (2048, 4096)": lambda out, t, blk: fastinit.fill_block(
        blk, "xavier_uniform", (2048, 4096), (slice(0, 2048), slice(100, 104)), seed=1),
}


def main() -> None:
    out, blk = np.empty((64, 64), np.float32), np.empty((2048, 4), np.float32)
    cases = dict(CASES)
    try:
        import torch

        import fastinit.torch as ft
        cases["fastinit.torch.kaiming_uniform_ 64x64"] = lambda out, t, blk: ft.kaiming_uniform_(t)
        t = torch.empty(64, 64)
    except ImportError:
        t = None
    print(f"fastinit {fastinit.__version__} from {fastinit.__file__}")
    for name, fn in cases.items():
        number = 20 if "fill_block" in name else 2000
        best = min(timeit.repeat(lambda: fn(out, t, blk), number=number, repeat=5)) / number
        print(f"{name:45s} {best * 1e6:9.1f} us")


if __name__ == "__main__":
    main()
