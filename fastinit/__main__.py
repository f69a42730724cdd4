"""Command line: ``python -m fastinit bench|init ...`` (``python -m fastinit --help``)."""
from __future__ import annotations

import argparse
import ast
import os
import signal
import sys
import time

USAGE = """usage: python -m fastinit COMMAND [options]

commands:
  bench     fastinit side by side with numpy, torch and the memory limit
  init      write an initialized tensor to a .npy file, in bounded memory

Run python -m fastinit COMMAND --help for a command's options.

schemes: {schemes}
"""


def _param(text: str) -> tuple[str, object]:
    """name=value; the value is a Python literal when it parses as one (0.5, 3, 'x'), else a string."""
    name, sep, value = text.partition("=")
    if not sep or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"parameters are name=value (e.g. gain=2.0); got {text!r}")
    try:
        return name, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return name, value


def _shape(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(s) for s in text.replace("x", ",").split(",") if s.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shape takes comma-separated integers (e.g. 10000000,128); got {text!r}")


def init_command(argv: list[str]) -> int:
    import fastinit
    from fastinit.npy import init_npy

    p = argparse.ArgumentParser(prog="python -m fastinit init",
                                description="Write fastinit.init(shape, scheme, ...) to a .npy file in bounded memory.")
    p.add_argument("--shape", type=_shape, required=True, help="e.g. 10000000,128")
    p.add_argument("--scheme", required=True, help="a scheme name (python -m fastinit --help lists them)")
    p.add_argument("--out", required=True, help="the .npy file to write")
    p.add_argument("--seed", type=int, default=None, help="64-bit seed (default: a fresh one, printed)")
    p.add_argument("--dtype", default="float32", choices=["float16", "float32", "float64"])
    p.add_argument("--threads", type=int, default=None, help="threads (default: all cores)")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("params", nargs="*", type=_param, metavar="name=value", help="scheme parameters, e.g. gain=2.0")
    a = p.parse_args(argv)
    seed = a.seed if a.seed is not None else fastinit._seeding.next_seed()
    params = dict(a.params)
    if a.threads is not None:
        params["num_threads"] = a.threads
    t0 = time.perf_counter()
    try:
        path = init_npy(a.out, a.shape, a.scheme, dtype=a.dtype, seed=seed, progress=not a.no_progress,
                        overwrite=a.force, **params)
    except KeyboardInterrupt:
        print(f"\ninterrupted: {a.out} was not written", file=sys.stderr)
        return _die_by_sigint()
    except (ValueError, TypeError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    dt = time.perf_counter() - t0
    nbytes = path.stat().st_size
    print(f"wrote {path}: shape {a.shape} {a.dtype} {a.scheme} seed={seed}, {nbytes / 1e9:.2f} GB "
          f"in {dt:.1f} s ({nbytes / 1e9 / max(dt, 1e-9):.2f} GB/s)")
    return 0


def _die_by_sigint() -> int:
    """Exit as an interrupted program should (the shell sees status 130 and stops a script):
    by SIGINT itself, after the cleanup and the message."""
    sys.stdout.flush()
    sys.stderr.flush()
    if hasattr(signal, "SIGINT") and os.name == "posix":
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    return 130


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        import fastinit
        print(USAGE.format(schemes=", ".join(fastinit.schemes())))
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "bench":
        from .bench import run
        run(rest)
        return 0
    if command == "init":
        return init_command(rest)
    print(f"unknown command {command!r}; run python -m fastinit --help", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
