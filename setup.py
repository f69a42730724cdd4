"""Build fastinit's C/Cython kernels.

OpenMP is used when a compile-and-run probe with -fopenmp succeeds; otherwise the extension is
built serially (fastinit.openmp_enabled() then reports False).  Set FASTINIT_NO_OPENMP=1 to force
a serial build.  The AVX-512 and AVX2 paths are compiled with gcc's target pragma and chosen at run time, so
a wheel built here also runs on CPUs without AVX-512 (AVX2 path) or without AVX2 (portable path).
"""
import os
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


def openmp_works(compiler) -> bool:
    if os.environ.get("FASTINIT_NO_OPENMP"):
        return False
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as f:
            f.write(OPENMP_PROBE)
        try:
            objs = compiler.compile([src], output_dir=tmp, extra_postargs=["-fopenmp"])
            exe = os.path.join(tmp, "probe")
            compiler.link_executable(objs, exe, extra_postargs=["-fopenmp"])
            out = subprocess.run([exe], capture_output=True, text=True, timeout=60)
            return out.returncode == 0 and out.stdout.strip() == "1"
        except Exception as exc:  # any compiler or link failure means: no OpenMP
            print(f"fastinit: OpenMP probe failed ({exc}); building serially", file=sys.stderr)
            return False


class BuildExt(build_ext):
    def build_extensions(self):
        use_omp = openmp_works(self.compiler)
        print(f"fastinit: OpenMP {'enabled' if use_omp else 'disabled'}", file=sys.stderr)
        for ext in self.extensions:
            ext.extra_compile_args = BASE_FLAGS + (["-fopenmp"] if use_omp else [])
            ext.extra_link_args = ["-fopenmp"] if use_omp else []
        super().build_extensions()


def extensions():
    from Cython.Build import cythonize

    ext = Extension(
        "fastinit._fill",
        sources=["fastinit/_fill.pyx", "fastinit/_src/fi_driver.c", "fastinit/_src/fi_kernels.c", "fastinit/_src/fi_kernels_avx512.c",
                 "fastinit/_src/fi_kernels_avx2.c"],
        include_dirs=["fastinit/_src"],
        depends=["fastinit/_src/fi_kernels.h", "fastinit/_src/fi_math.h", "fastinit/_src/fi_simd_scalar.h",
                 "fastinit/_src/fi_simd_avx2.h", "fastinit/_src/fi_simd_avx512.h", "fastinit/_src/fi_driver.h",
                 "fastinit/_src/fi_openmp.h", "fastinit/_kernels.pxd"],
    )
    return cythonize([ext], compiler_directives={"language_level": 3})


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
