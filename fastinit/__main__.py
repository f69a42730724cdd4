"""Command line: ``python -m fastinit bench|init ...`` (``python -m fastinit --help``)."""
from __future__ import annotations

import argparse
import ast
import math
import os
import signal
import sys
import time

from .npy import NPY_DTYPES

USAGE = """usage: python -m fastinit COMMAND [options]

commands:
  bench     fastinit side by side with numpy, torch and the memory limit
  init      write an initialized tensor to a .npy file or a zarr array, in bounded memory
  schemes   list the schemes, or (schemes NAME) one scheme's parameters and formula

Run python -m fastinit COMMAND --help for a command's options; --version prints the version.

schemes: {schemes}
"""

# name=value parameters that are options of the command (passing both ways would clash)
OPTION_PARAMS = {"dtype": "--dtype", "seed": "--seed", "num_threads": "--threads"}
NON_FINITE = {"nan": math.nan, "inf": math.inf, "+inf": math.inf, "-inf": -math.inf,
              "infinity": math.inf, "+infinity": math.inf, "-infinity": -math.inf}
SHAPE_FORM = "comma-separated non-negative integers, e.g. 10000000,128 (or 10000000x128)"


def _param(text: str) -> tuple[str, object]:
    """name=value; the value is a Python literal when it parses as one (0.5, 3, 'x'), nan/inf/-inf
    as floats, else a string."""
    name, sep, value = text.partition("=")
    if not sep or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"parameters are name=value (e.g. gain=2.0); got {text!r}")
    if value.strip().lower() in NON_FINITE:
        return name, NON_FINITE[value.strip().lower()]
    try:
        return name, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return name, value


def _dims(text: str, option: str) -> tuple[int, ...]:
    """At least one dimension; every entry a non-negative integer (1000x64 and 1000X64 are accepted too)."""
    entries = [s.strip() for s in text.replace("x", ",").replace("X", ",").split(",")]
    if text.strip() == "":
        raise argparse.ArgumentTypeError(f"{option} is empty; it takes {SHAPE_FORM} (a .npy of shape () "
                                         "holds one value: use numpy for that)")
    if any(e == "" for e in entries):
        raise argparse.ArgumentTypeError(f"{option} {text!r} has an empty entry; it takes {SHAPE_FORM}")
    dims = []
    for e in entries:
        try:
            dims.append(int(e, 10))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{option} takes {SHAPE_FORM}; got {text!r}") from None
    negative = [d for d in dims if d < 0]
    if negative:
        raise argparse.ArgumentTypeError(f"{option} entries must be non-negative; got {negative[0]} in {text!r} "
                                         f"(it takes {SHAPE_FORM})")
    return tuple(dims)


def _shape(text: str) -> tuple[int, ...]:
    return _dims(text, "--shape")


FORMATS = (".npy", ".zarr")


def _chunks(text: str) -> tuple[int, ...]:
    dims = _dims(text, "--chunks")
    if any(d < 1 for d in dims):
        raise argparse.ArgumentTypeError(f"--chunks entries must be positive; got {text!r}")
    return dims


def _dtype(text: str) -> str:
    if text == "bfloat16":
        raise argparse.ArgumentTypeError("bfloat16 has no .npy type (numpy cannot store or read one); choose "
                                         f"{', '.join(NPY_DTYPES)}, or fill bfloat16 arrays from Python "
                                         "(fastinit.init(..., dtype='bfloat16'))")
    if text not in NPY_DTYPES:
        raise argparse.ArgumentTypeError(f"{text!r} is not a .npy type fastinit writes; choose {', '.join(NPY_DTYPES)}")
    return text


def _threads(text: str) -> int:
    try:
        n = int(text, 10)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"--threads takes a positive integer; got {text!r}")
    return n


def _join_negative_shape(argv: list[str]) -> list[str]:
    """argparse takes a value starting with '-' for an option ("expected one argument"); keep
    `--shape -5,3` together so that the shape check names the negative entry."""
    out = list(argv)
    for i, arg in enumerate(out[:-1]):
        if arg == "--shape" and out[i + 1].startswith("-"):
            out[i:i + 2] = [f"--shape={out[i + 1]}"]
            break
    return out


def _gib(nbytes: int) -> str:
    return f"{nbytes / 2**30:.2f} GiB"


def _message(e: BaseException) -> str:
    # fastinit's OSErrors carry the whole message as strerror; print it without "[Errno 28]"
    if isinstance(e, OSError) and e.errno is not None and e.strerror and e.filename is None:
        return e.strerror
    return str(e)


def init_command(argv: list[str]) -> int:
    import fastinit
    from fastinit import npy

    p = argparse.ArgumentParser(prog="python -m fastinit init",
                                description="Write fastinit.init(shape, scheme, ...) to a .npy file or a zarr v3 "
                                            "array in bounded memory; the format comes from --out's suffix.")
    p.add_argument("--shape", type=_shape, required=True, help=SHAPE_FORM)
    p.add_argument("--scheme", required=True, help="a scheme name (python -m fastinit --help lists them)")
    p.add_argument("--out", required=True, help="where to write: NAME.npy (a .npy file) or NAME.zarr (a zarr v3 "
                                                "array, a directory; needs zarr)")
    p.add_argument("--chunks", type=_chunks, default=None,
                   help=f"zarr chunk shape, {SHAPE_FORM.replace('non-negative', 'positive')} (default: zarr's choice)")
    p.add_argument("--seed", type=int, default=None,
                   help="64-bit seed of a random scheme (default: a fresh one, printed); not random schemes take none")
    p.add_argument("--dtype", type=_dtype, default="float32", metavar="{" + ",".join(NPY_DTYPES) + "}",
                   help="default float32 (.npy has no bfloat16)")
    p.add_argument("--threads", type=_threads, default=None,
                   help="threads (default: automatic, what fastinit.get_num_threads() says: the CPUs this process "
                        "may use, or one on a machine busy enough that a team is no faster)")
    p.add_argument("--force", action="store_true", help="replace --out if it exists (its mode is kept)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("params", nargs="*", type=_param, metavar="name=value",
                   help="scheme parameters, e.g. gain=2.0 (python -m fastinit schemes NAME lists a scheme's)")
    a = p.parse_args(_join_negative_shape(argv))
    suffix = os.path.splitext(a.out.rstrip("/"))[1].lower()
    if suffix not in FORMATS:
        p.error(f"--out {a.out!r}: unknown format {suffix or '(no suffix)'}; the suffix picks it: "
                f"{', '.join(FORMATS)}")
    if a.chunks is not None and suffix != ".zarr":
        p.error("--chunks is for zarr arrays (--out NAME.zarr); a .npy file has no chunks")
    params: dict[str, object] = {}
    for name, value in a.params:
        if name in OPTION_PARAMS:
            p.error(f"{name}= is not a scheme parameter here: use {OPTION_PARAMS[name]}")
        if name in params:
            p.error(f"parameter {name}= given twice")
        params[name] = value
    try:
        random = fastinit.scheme(a.scheme).random
    except ValueError as e:
        p.error(f"--scheme: {e}")
    if not random and a.seed is not None:
        p.error(f"--seed: scheme {a.scheme!r} is not random and takes no seed")
    seed = (a.seed if a.seed is not None else fastinit._seeding.next_seed()) if random else None
    if a.threads is not None:
        params["num_threads"] = a.threads
    t0 = time.perf_counter()
    previous = {sig: signal.signal(sig, _raise_terminated) for sig in npy.STOP_SIGNALS}
    try:
        if suffix == ".zarr":
            try:
                import zarr  # noqa: F401
            except ImportError:
                from ._extras import install_hint
                p.exit(2, f"{p.prog}: error: --out NAME.zarr needs zarr: {install_hint('zarr', 'zarr')}\n")
            fastinit.init_zarr(a.out, a.shape, a.scheme, chunks=a.chunks, dtype=a.dtype, seed=seed,
                               progress=not a.no_progress, overwrite=a.force, **params)
        else:
            npy.init_npy(a.out, a.shape, a.scheme, dtype=a.dtype, seed=seed, progress=not a.no_progress,
                         overwrite=a.force, **params)
    except KeyboardInterrupt:
        print(f"\ninterrupted: {a.out} was not written", file=sys.stderr)
        return _die_by_signal(signal.SIGINT)
    except npy.Terminated as stop:
        print(f"\nstopped by {signal.Signals(stop.signum).name}: {a.out} was not written", file=sys.stderr)
        return _die_by_signal(stop.signum)
    except (ValueError, TypeError, OSError, MemoryError) as e:   # (argparse's format, without the usage block)
        p.exit(2, f"{p.prog}: error: {_message(e)}\n")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    dt = time.perf_counter() - t0
    nbytes = math.prod(a.shape) * int(a.dtype[5:]) // 8     # the tensor's bytes (float16/32/64)
    seeded = f" seed={seed}" if random else ""
    print(f"wrote {a.out}: shape {a.shape} {a.dtype} {a.scheme}{seeded}, {_gib(nbytes)} "
          f"in {dt:.1f} s ({_gib(nbytes / max(dt, 1e-9))}/s)")
    return 0


def _raise_terminated(signum, frame):
    from fastinit.npy import Terminated
    raise Terminated(signum)


def _die_by_signal(signum: int) -> int:
    """Exit as a program killed by signum should (the shell sees 128 + signum, e.g. 130 for Ctrl-C,
    and stops a script): by the signal itself, after the cleanup and the message."""
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "posix":
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
    return 128 + signum


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        import fastinit
        print(USAGE.format(schemes=", ".join(fastinit.schemes())))
        return 0 if argv else 2
    if argv[0] in ("--version", "-V"):
        from ._version import __version__
        print(f"fastinit {__version__}")
        return 0
    command, rest = argv[0], argv[1:]
    if command == "bench":
        from .bench import run
        run(rest)
        return 0
    if command == "init":
        return init_command(rest)
    if command == "schemes":
        return schemes_command(rest)
    print(f"python -m fastinit: error: unknown command {command!r} (choose from bench, init, schemes); "
          "run python -m fastinit --help", file=sys.stderr)
    return 2


def schemes_command(argv: list[str]) -> int:
    """Every scheme name with its first docstring line, or one scheme's parameters and docstring."""
    import inspect

    import fastinit

    p = argparse.ArgumentParser(prog="python -m fastinit schemes",
                                description="List the schemes, or show one scheme's parameters (name=value for init).")
    p.add_argument("name", nargs="?", help="a scheme name")
    a = p.parse_args(argv)
    if a.name is None:
        for name in fastinit.schemes():
            rec = fastinit.scheme(name)
            first = (rec.plan.__doc__ or "").strip().splitlines()[0] if rec.plan.__doc__ else ""
            print(f"{name:20s} {first}")
        return 0
    try:
        rec = fastinit.scheme(a.name)
    except ValueError as e:
        p.error(str(e))
    shown = list(inspect.signature(rec.plan).parameters.values())[2:]
    print(f"{a.name}: {'random (takes --seed)' if rec.random else 'not random'}"
          f"{'; needs the whole tensor in memory' if rec.whole_tensor else ''}")
    print("parameters (name=value): " + (", ".join(
        param.name if param.default is inspect.Parameter.empty else f"{param.name}={param.default!r}"
        for param in shown) or "none"))
    print()
    print(inspect.cleandoc(rec.plan.__doc__ or ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
