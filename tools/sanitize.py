"""Build fastinit with a sanitizer and run tests against that build.

    python tools/sanitize.py address            # ASan + the default smoke tests
    python tools/sanitize.py undefined --cc clang
    python tools/sanitize.py thread -- tests/test_threads.py -x

The checkout is copied to a temporary folder (the installed build is left alone), the extension is
built there in place with ``-fsanitize=<kind> -g -O1`` in CFLAGS and LDFLAGS (OpenMP must stay
enabled: the build fails rather than silently going serial), and pytest runs in that copy with the
sanitizer's runtime preloaded (the Python interpreter itself is not instrumented).  Any report
fails the run: ASan and UBSan halt on the first error, TSan exits non-zero.  Leak checking is off
(the interpreter keeps its allocations to the end).  Needs the test extra (Cython, setuptools).

TSan and OpenMP: libgomp (gcc) is not instrumented, so TSan does not see its barriers.  fastinit
does not rely on them for its own data: a worker hands its chunks and CPU time over through the
retire counter's acquire/release atomics (fi_driver.c), which TSan sees.  ``thread`` therefore
suppresses only reports about calls made from inside libgomp (``called_from_lib``), and a race in
fastinit's own code is still reported (checked by hand: an unsynchronized write to the per-thread
ranges from two threads is caught).  clang's ``-fsanitize=thread -fopenmp`` does not link on
Debian 12 (use gcc for TSan); clang builds ASan and UBSan.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Tests that run every fill kind through the threaded driver, stop signals, blocks and fork.
SMOKE = ["tests/test_determinism.py", "tests/test_concurrency.py", "tests/test_stream_pins.py",
         "tests/test_nothing_written.py", "tests/test_fork.py", "-k", "not jax", "-x", "-q", "-p", "no:cacheprovider"]
# (jaxlib does not run under a preloaded ASan: its C++ exceptions trip the interceptor.)
RUNTIME = {"address": "libasan.so", "undefined": "libubsan.so", "thread": "libtsan.so"}


def runtime_library(cc: str, kind: str) -> str:
    """The shared sanitizer runtime the compiler links with (gcc: libasan.so ...; clang: its
    libclang_rt.<kind>-x86_64.so, asked for with -shared-libsan)."""
    if "clang" in Path(cc).name:
        name = {"address": "asan", "undefined": "ubsan_standalone", "thread": "tsan"}[kind]
        out = subprocess.run([cc, f"--print-file-name=libclang_rt.{name}-x86_64.so"], capture_output=True, text=True)
    else:
        out = subprocess.run([cc, f"-print-file-name={RUNTIME[kind]}"], capture_output=True, text=True)
    path = out.stdout.strip()
    if out.returncode != 0 or not os.path.isabs(path) or not os.path.exists(path):
        raise SystemExit(f"sanitize: {cc} has no shared {kind} sanitizer runtime ({path or out.stderr.strip()}); "
                         "install the compiler's sanitizer libraries (Debian: libasan8, libubsan1, libtsan2 for gcc)")
    return path


def copy_tree(dest: Path) -> None:
    """The checkout's files (what git tracks, plus untracked ones it does not ignore) into dest."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True)
    if listed.returncode != 0:
        raise SystemExit(f"sanitize: needs a git checkout: {listed.stderr.strip()}")
    for name in listed.stdout.splitlines():
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def sanitizer_env(kind: str, cc: str, work: Path) -> dict:
    env = dict(os.environ)
    env["LD_PRELOAD"] = runtime_library(cc, kind)
    # Reports go to files (pytest would capture them per test, out of sight): log_path.<pid>.
    log = f"log_path={work / 'report'}"
    env["ASAN_OPTIONS"] = f"detect_leaks=0:halt_on_error=1:abort_on_error=0:exitcode=86:{log}"
    env["UBSAN_OPTIONS"] = f"halt_on_error=1:print_stacktrace=1:exitcode=87:{log}"
    if kind == "thread":
        supp = work / "tsan.supp"
        # libgomp's calls, and the one read TSan cannot order: the region's own frame reading the
        # pointer OpenMP hands it (fi_team_member acquires everything else from the caller).
        supp.write_text("called_from_lib:libgomp.so\nrace_top:fi_fill_chunks._omp_fn\n")
        env["TSAN_OPTIONS"] = (f"suppressions={supp}:ignore_noninstrumented_modules=1:exitcode=88:"
                               f"halt_on_error=0:report_signal_unsafe=0:{log}")
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=sorted(RUNTIME), help="the sanitizer")
    parser.add_argument("--cc", default=os.environ.get("CC", "gcc"), help="C compiler (default: $CC or gcc)")
    parser.add_argument("--keep", metavar="DIR", help="build in DIR (kept) instead of a temporary folder")
    parser.epilog = f"Arguments after -- go to pytest (default: {' '.join(SMOKE)})."
    argv = sys.argv[1:] if argv is None else argv
    cut = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:cut])
    args.pytest_args = argv[cut + 1:]
    flags = f"-fsanitize={args.kind} -g -O1 -fno-omit-frame-pointer"
    if "clang" in Path(args.cc).name and args.kind != "thread":
        flags += " -shared-libsan"   # (clang's TSan runtime is preloaded as it is)
    with tempfile.TemporaryDirectory(prefix="fastinit-sanitize-") as tmp:
        work = Path(args.keep).resolve() if args.keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        copy_tree(work)
        build_env = {**os.environ, "CC": args.cc, "CFLAGS": flags, "LDFLAGS": flags,
                     # (setup.py's OpenMP probe runs a program linked with clang's shared runtime)
                     "LD_LIBRARY_PATH": os.pathsep.join(filter(None, [os.path.dirname(runtime_library(args.cc, args.kind)),
                                                                      os.environ.get("LD_LIBRARY_PATH")]))}
        build_env.pop("FASTINIT_NO_OPENMP", None)
        build = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace"], cwd=work, env=build_env,
                               capture_output=True, text=True)
        if build.returncode != 0:
            print(build.stdout[-4000:], build.stderr[-4000:], sep="\n", file=sys.stderr)
            raise SystemExit(f"sanitize: the {args.kind} build failed")
        if "fastinit: OpenMP enabled" not in build.stderr:
            print(build.stderr[-4000:], file=sys.stderr)
            raise SystemExit(f"sanitize: the {args.kind} build has no OpenMP (see above); a serial build would "
                             "not test the threaded driver")
        print(f"sanitize: built with {args.cc} {flags} (OpenMP enabled) in {work}", file=sys.stderr)
        env = sanitizer_env(args.kind, args.cc, work)
        env["PYTHONPATH"] = str(work) + os.pathsep + env.get("PYTHONPATH", "")
        check = subprocess.run([sys.executable, "-c", "import fastinit, sys; sys.stdout.write(fastinit.__file__)"],
                               cwd=work, env=env, capture_output=True, text=True)
        if check.returncode != 0 or not check.stdout.startswith(str(work)):
            raise SystemExit(f"sanitize: the sanitized build does not import from {work}: "
                             f"{check.stdout} {check.stderr[-2000:]}")
        status = subprocess.run([sys.executable, "-m", "pytest", *(args.pytest_args or SMOKE)], cwd=work,
                                env=env).returncode
        reports = sorted(work.glob("report.*"))
        for path in reports:
            print(f"---- {path.name}", path.read_text(errors="replace"), sep="\n", file=sys.stderr)
        if reports:
            print(f"sanitize: {len(reports)} process(es) wrote {args.kind} sanitizer reports (above)", file=sys.stderr)
            return status or 1
        return status


if __name__ == "__main__":
    sys.exit(main())
