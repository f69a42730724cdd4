"""The AVX2 truncated normal picks each draw's end from a per-fill threshold k* on the draw
(fi_math.h: trunc_side_threshold, trunc_side_fv) instead of forming both ends' probabilities
(trunc_fv).  Random fills almost never land next to k*, so the draws around it are checked
directly: a small C program, compiled here against fastinit/_src, runs both functions on the
draws k* - 3200 .. k* + 3200 and on random draws and compares every bit."""
import os
import shutil
import subprocess

import pytest

import fastinit
from fastinit import _formats, kernels

SRC = os.path.join(os.path.dirname(fastinit.__file__), "_src")

PROGRAM = r"""
#pragma GCC target("avx2,f16c")
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fi_kernels.h"
#include "fi_simd_avx2.h"
#include "fi_math.h"

int main(int argc, char **argv) {
    fi_params p;
    memset(&p, 0, sizeof p);
    p.dist = FI_TRUNC; p.dtype = FI_F32; p.method = FI_INVERT;
    p.loc = atof(argv[1]); p.scale = atof(argv[2]);
    p.p_lo = atof(argv[3]); p.p_hi = atof(argv[4]); p.mass = atof(argv[5]);
    p.clamp_lo = -3.4e38; p.clamp_hi = 3.4e38;
    fi_narrow n;
    narrow_init(&n, &p, 0);
    uint64_t kstar = trunc_side_threshold((float)p.p_lo, (float)p.p_hi, (float)p.mass);
    long differ = 0;
    uint64_t state = 12345;
    for (long it = 0; it < 2100; it++) {
        uint32_t draws[FI_NBF * FI_FL];
        for (int i = 0; i < FI_NBF * FI_FL; i++) {
            if (it < 100) {
                draws[i] = (uint32_t)((int64_t)kstar - 3200 + it * FI_NBF * FI_FL + i);
            } else {
                state = state * 6364136223846793005ULL + 1442695040888963407ULL;
                draws[i] = (uint32_t)(state >> 32);
            }
        }
        vi k[FI_NBF];
        vf both[FI_NBF], side[FI_NBF];
        FOR_F k[j] = _mm256_loadu_si256((const __m256i *)(draws + FI_FL * j));
        trunc_fv(&n, k, both);
        if (n.side_by_k) trunc_side_fv(&n, k, side);
        else FOR_F side[j] = both[j];
        float a[FI_NBF * FI_FL], b[FI_NBF * FI_FL];
        FOR_F { _mm256_storeu_ps(a + FI_FL * j, both[j]); _mm256_storeu_ps(b + FI_FL * j, side[j]); }
        for (int i = 0; i < FI_NBF * FI_FL; i++)
            if (memcmp(a + i, b + i, sizeof(float))) {
                if (differ < 5) printf("k=%u: %a (both ends) vs %a (threshold)\n", draws[i], a[i], b[i]);
                differ++;
            }
    }
    printf("kstar %llu side_by_k %d differ %ld\n", (unsigned long long)kstar, n.side_by_k, differ);
    return differ != 0;
}
"""

# (mean, std, a, b): symmetric, skewed, shifted and scaled, one-sided, far from the mean,
# k* near 0 and k* beyond every draw
CASES = [(0.0, 1.0, -2.0, 2.0), (0.0, 1.0, -1.0, 3.0), (0.5, 2.0, -3.0, 1.0), (0.0, 3.0, -100.0, 100.0),
         (1.0, 1.0, 1.0, 1.5), (0.0, 1.0, -0.1, 0.2), (0.0, 1.0, -4.0, -0.5), (0.0, 1.0, 0.5, 4.0)]


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    if shutil.which("gcc") is None:
        pytest.skip("needs gcc")
    if "avx2" not in fastinit.available_simd_paths():
        pytest.skip("needs an AVX2 CPU")
    d = tmp_path_factory.mktemp("trunc_side")
    (d / "check.c").write_text(PROGRAM)
    exe = d / "check"
    subprocess.run(["gcc", "-O2", "-ffp-contract=off", "-fno-math-errno", "-std=gnu11", "-I", SRC,
                    str(d / "check.c"), "-o", str(exe)], check=True, capture_output=True)
    return exe


@pytest.mark.parametrize("mean, std, a, b", CASES)
def test_threshold_side_equals_both_sides_around_k_star(program, mean, std, a, b):
    tp = kernels.trunc_params(mean, std, a, b, _formats.FLOAT32)
    assert tp.method == kernels.Method.INVERT and not tp.wide
    out = subprocess.run([str(program)] + [repr(float(x)) for x in (tp.loc, tp.scale, tp.p_lo, tp.p_hi, tp.mass)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout
    assert out.stdout.split()[-1] == "0"
