"""Build fastinit's C/Cython kernels.

OpenMP is used when a compile-and-run probe with -fopenmp succeeds (with the user's CFLAGS and
LDFLAGS, as the extension itself is built); otherwise the extension is built serially, with a loud
warning (fastinit.openmp_enabled() then reports False).  Set FASTINIT_NO_OPENMP=1 to build serially
on purpose.  The AVX-512 and AVX2 paths are compiled with gcc's target pragma and chosen at run
time, so a wheel built here also runs on CPUs without AVX-512 (AVX2 path) or without AVX2 (portable
path).  On aarch64 the NEON path is compiled instead (every AArch64 CPU has it).  Project metadata
is in pyproject.toml.
"""
import os
import platform
import shlex
import subprocess
import sys
import tempfile

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

# -ffp-contract=off: no fused multiply-add anywhere, so the scalar reference path and the SIMD
# path round identically (values must not depend on the CPU).
BASE_FLAGS = ["-O3", "-ffp-contract=off", "-fno-math-errno", "-std=gnu11"]
OPENMP_PROBE = r"""
#include <omp.h>
#include <stdio.h>
int main(void) {
    int n = 0;
    #pragma omp parallel reduction(+:n)
    n += 1;
    printf("%d\n", n > 0 && omp_get_max_threads() > 0);
    return 0;
}
"""


def user_flags() -> tuple[list[str], list[str]]:
    """CFLAGS and LDFLAGS from the environment.  distutils adds CFLAGS to compiles but links
    executables with neither, so a probe built with e.g. -fsanitize=address would fail to link;
    the probe links with both, as the extension's shared-library link does."""
    cflags = shlex.split(os.environ.get("CFLAGS", ""))
    ldflags = shlex.split(os.environ.get("LDFLAGS", ""))
    return cflags, ldflags


def openmp_probe(compiler) -> tuple[bool, str]:
    """(True, "") when a program built with -fopenmp compiles, links and runs; else (False, why)."""
    if os.environ.get("FASTINIT_NO_OPENMP"):
        return False, "FASTINIT_NO_OPENMP is set"
    cflags, ldflags = user_flags()
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as f:
            f.write(OPENMP_PROBE)
        try:
            objs = compiler.compile([src], output_dir=tmp, extra_postargs=["-fopenmp"])
            exe = os.path.join(tmp, "probe")
            compiler.link_executable(objs, exe, extra_postargs=cflags + ldflags + ["-fopenmp"])
        except Exception as exc:  # any compiler or link failure means: no OpenMP
            return False, f"compiling or linking a test program with -fopenmp failed: {exc}"
        # A sanitizer build's probe asks whether OpenMP runs, not whether it is clean: it must not fail
        # on the leak checker's report at exit, nor on TSan's reports inside an uninstrumented libgomp
        # (which made -fsanitize=thread builds go serial).  tools/sanitize.py runs the real checks.
        env = {**os.environ, "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0",
               "TSAN_OPTIONS": os.environ.get("TSAN_OPTIONS", "") + ":report_bugs=0:exitcode=0"}
        try:
            out = subprocess.run([exe], capture_output=True, text=True, timeout=60, env=env)
        except (OSError, subprocess.SubprocessError) as exc:
            return False, f"running a test program built with -fopenmp failed: {exc}"
        if out.returncode != 0 or out.stdout.strip() != "1":
            return False, (f"a test program built with -fopenmp exited with status {out.returncode}, "
                           f"printed {out.stdout.strip()!r}: {out.stderr.strip()[-500:]}")
        return True, ""


def serial_warning(reason: str) -> str:
    bar = "*" * 78
    return "\n".join([
        bar,
        "fastinit: WARNING: building WITHOUT OpenMP: every fill will run on ONE thread",
        "(values are the same; speed is a fraction of what the machine can do).",
        f"Why: {reason}",
        "Fix: use a compiler with OpenMP (gcc; clang with libomp) and check that CFLAGS/LDFLAGS",
        "link with it; fastinit.openmp_enabled() tells which build you have.",
        "To build serially on purpose and silence this warning: FASTINIT_NO_OPENMP=1.",
        bar,
    ])


class BuildExt(build_ext):
    def build_extensions(self):
        use_omp, reason = openmp_probe(self.compiler)
        print(f"fastinit: OpenMP {'enabled' if use_omp else 'disabled'}", file=sys.stderr)
        if not use_omp and not os.environ.get("FASTINIT_NO_OPENMP"):
            print(serial_warning(reason), file=sys.stderr)
        for ext in self.extensions:
            ext.extra_compile_args = BASE_FLAGS + (["-fopenmp"] if use_omp else [])
            ext.extra_link_args = ["-fopenmp"] if use_omp else []
        super().build_extensions()


def path_sources() -> list[str]:
    """The SIMD paths' files for the machine building: NEON on aarch64, else the x86 ones (which
    compile to nothing off x86-64)."""
    if platform.machine().lower() in ("aarch64", "arm64"):
        return ["fastinit/_src/fi_kernels_neon.c"]
    return ["fastinit/_src/fi_kernels_avx512.c", "fastinit/_src/fi_kernels_avx2.c"]


def extensions():
    from Cython.Build import cythonize

    ext = Extension(
        "fastinit._fill",
        sources=["fastinit/_fill.pyx", "fastinit/_src/fi_driver.c", "fastinit/_src/fi_kernels.c",
                 "fastinit/_src/fi_kernels_scalar.c", *path_sources()],
        include_dirs=["fastinit/_src"],
        depends=["fastinit/_src/fi_kernels.h", "fastinit/_src/fi_math.h", "fastinit/_src/fi_tables.h",
                 "fastinit/_src/fi_groups.h", "fastinit/_src/fi_simd_scalar.h", "fastinit/_src/fi_simd_avx2.h",
                 "fastinit/_src/fi_simd_avx512.h", "fastinit/_src/fi_simd_neon.h", "fastinit/_src/fi_driver.h",
                 "fastinit/_src/fi_openmp.h", "fastinit/_kernels.pxd"],
    )
    return cythonize([ext], compiler_directives={"language_level": 3})


if __name__ == "__main__":  # setuptools runs this file as __main__; tests import the probe alone
    setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
