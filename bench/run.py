"""Benchmark entry point for development: the same as ``python -m fastinit bench``.

    python bench/run.py                       # full run (~1.5 min on 2 cores), float32 and float64
    python bench/run.py --quick               # ~15-20 s
    python bench/run.py --json bench/results/$(date +%F).json --plot bench/results/$(date +%F).png

Every kernel change is measured with this, and the ratios quoted in notes come from one run.
"""
import sys

from fastinit.bench import run

if __name__ == "__main__":
    run(sys.argv[1:])
