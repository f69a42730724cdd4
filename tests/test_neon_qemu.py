"""The AArch64 NEON path, tested on this (x86) machine: the C kernels alone (not the Python
extension) are cross-compiled with a small harness into a static aarch64 program and run under
qemu-aarch64.  It must report NEON available and best, and fill every pinned kernel x dtype case
of tests/test_stream_pins.py (same parameters, as the Python layer passes them to the C kernels)
with the pinned hashes on both its portable and its NEON path, bit for bit like the x86 build of
the same harness on each of its paths; a few corners (a high block-counter word, the float64
probit's tail lanes) must match between the portable and NEON paths.  Needs Debian's
gcc-aarch64-linux-gnu and qemu-user (.ci/run installs them)."""
import hashlib
import os
import shutil
import subprocess

import numpy as np
import pytest

import fastinit
from fastinit import _fill

from test_stream_pins import DTYPES, KERNELS, N, OFFSETS, PINS, SEED, STREAM

SRC = os.path.join(os.path.dirname(fastinit.__file__), "_src")
CROSS, QEMU = "aarch64-linux-gnu-gcc", "qemu-aarch64"
FLAGS = ["-O2", "-ffp-contract=off", "-fno-math-errno", "-std=gnu11", "-Wall", "-Werror"]

HARNESS = r"""
/* Each input line is one fill: path, n, first, then every field of fi_params (floats in C99 hex);
 * its n values go to stdout as raw bytes.  "paths": the paths available, and the best one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fi_kernels.h"

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "paths")) {
        for (int path = 0; path < 16; path++)
            if (fi_path_available(path)) printf("%d ", path);
        printf("best %d\n", fi_best_path());
        return 0;
    }
    fi_params p;
    int path;
    long long n;
    unsigned long long first;
    while (scanf(" %d %lld %llu %u %u %u %u %d %d %d %d %la %la %la %la %la %la %la", &path, &n, &first,
                 &p.key[0], &p.key[1], &p.stream[0], &p.stream[1], &p.dist, &p.dtype, &p.wide, &p.method,
                 &p.loc, &p.scale, &p.p_lo, &p.p_hi, &p.mass, &p.clamp_lo, &p.clamp_hi) == 18) {
        for (int c = 0; c < FI_SERIES_N; c++)
            if (scanf(" %la", &p.coef[c]) != 1) return 2;
        if (!fi_path_available(path)) {
            fprintf(stderr, "path %d is not available\n", path);
            return 3;
        }
        size_t bytes = (size_t)n * (size_t)fi_itemsize(p.dtype);
        void *out = malloc(bytes + 1);
        fi_fill(&p, out, n, first, path);
        fwrite(out, 1, bytes, stdout);
        free(out);
    }
    return 0;
}
"""


@pytest.fixture(scope="module")
def programs(tmp_path_factory):
    """{"aarch64": command, "x86": command}: the harness built for each, the first run by qemu."""
    missing = [tool for tool in (CROSS, QEMU) if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {' and '.join(missing)}: apt-get install gcc-aarch64-linux-gnu qemu-user")
    d = tmp_path_factory.mktemp("neon")
    (d / "harness.c").write_text(HARNESS)
    common = [str(d / "harness.c")] + [os.path.join(SRC, f) for f in ("fi_kernels.c", "fi_kernels_scalar.c")]
    built = {}
    for name, cc, extra in (("aarch64", CROSS, ["-static", os.path.join(SRC, "fi_kernels_neon.c")]),
                            ("x86", "gcc", [os.path.join(SRC, "fi_kernels_avx512.c"), os.path.join(SRC, "fi_kernels_avx2.c")])):
        exe = d / f"harness-{name}"
        r = subprocess.run([cc, *FLAGS, "-I", SRC, *common, *extra, "-o", str(exe)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr[-3000:]
        built[name] = [QEMU, str(exe)] if name == "aarch64" else [str(exe)]
    return built


def paths_of(program) -> tuple[set[int], int]:
    out = subprocess.run(program + ["paths"], capture_output=True, text=True, timeout=60, check=True).stdout.split()
    return {int(p) for p in out[:-2]}, int(out[-1])


def captured(call) -> list[tuple[dict, int, int]]:
    """(fi_params fields, first, n) of each fill call() makes through fastinit._fill.fill."""
    seen = []
    real = _fill.fill

    def spy(out, params, first, num_threads, path):
        seen.append((params.fields(), first, len(out) // _fill.ITEMSIZE[params.dtype]))
        return real(out, params, first, num_threads, path)

    _fill.fill = spy
    try:
        call()
    finally:
        _fill.fill = real
    return seen


def line(path: int, fields: dict, first: int, n: int) -> str:
    f = fields
    ints = [path, n, first, *f["key"], *f["stream"], f["dist"], f["dtype"], f["wide"], f["method"]]
    floats = [f[k] for k in ("loc", "scale", "p_lo", "p_hi", "mass", "clamp_lo", "clamp_hi")] + f["coef"]
    return " ".join(map(str, ints)) + " " + " ".join(float(x).hex() for x in floats)


def run(program, path: int, fills: list[tuple[dict, int, int]]) -> bytes:
    stdin = "\n".join(line(path, *fill) for fill in fills) + "\n"
    r = subprocess.run(program, input=stdin.encode(), capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    return r.stdout


def pinned_fills() -> dict[str, list]:
    """Each pin's fills (name -> the three offsets' (fields, first, n)), as test_stream_pins makes them."""
    cases = {}
    for name, (fn, args) in KERNELS.items():
        for dtype, t in DTYPES.items():
            cases[f"{name} {dtype}"] = captured(lambda: [fn(np.empty(N, t), *args, seed=SEED, stream=STREAM, offset=off)
                                                         for off in OFFSETS])
    return cases


def test_neon_is_available_and_best_on_aarch64_only(programs):
    assert paths_of(programs["aarch64"]) == ({_fill.Path.SCALAR, _fill.Path.NEON}, _fill.Path.NEON)
    x86, best = paths_of(programs["x86"])
    assert _fill.Path.NEON not in x86 and best == _fill.best_path()
    assert not _fill.path_available(_fill.Path.NEON) and "neon" not in fastinit.available_simd_paths()


def test_pinned_streams_on_neon_and_every_x86_path(programs):
    cases = pinned_fills()
    fills = [fill for name in cases for fill in cases[name]]
    sizes = [n * _fill.ITEMSIZE[f["dtype"]] for f, _, n in fills]
    runs = {("aarch64", p): (programs["aarch64"], p) for p in (_fill.Path.SCALAR, _fill.Path.NEON)}
    runs |= {("x86", p): (programs["x86"], p) for p in paths_of(programs["x86"])[0]}
    outputs = {key: run(program, path, fills) for key, (program, path) in runs.items()}
    reference = outputs[("x86", _fill.Path.SCALAR)]
    assert len(reference) == sum(sizes)
    for key, out in outputs.items():
        assert out == reference, key
    pos = 0
    for name, case_fills in cases.items():
        h = hashlib.sha256()
        for f, _, n in case_fills:
            size = n * _fill.ITEMSIZE[f["dtype"]]
            h.update(reference[pos:pos + size])
            pos += size
        assert h.hexdigest()[:32] == PINS[name], name


@pytest.mark.parametrize("kernel,args", [
    (fastinit.uniform_, (-1.0, 2.0)),
    (fastinit.normal_, (0.5, 2.0)),
    (fastinit.trunc_normal_, (0.0, 1.0, -2.0, 2.0)),
])
def test_neon_corners_match_the_portable_path(programs, kernel, args):
    """A block counter with a high word (narrow dtypes reach it at element 2**34), and a float64
    fill long enough for every pattern of tail lanes in the float64 probit."""
    fills = []
    for dtype in (np.float32, np.float16, np.float64):
        for offset in (2**34 - 70, 2**45 + 13):
            fills += captured(lambda: kernel(np.empty(4_099, dtype), *args, seed=2**40 + 9, stream=2**35 + 1,
                                             offset=offset))
    fills += captured(lambda: kernel(np.empty(20_003, np.float64), *args, seed=5, offset=7))
    scalar, neon = (run(programs["aarch64"], p, fills) for p in (_fill.Path.SCALAR, _fill.Path.NEON))
    assert neon == scalar and scalar == run(programs["x86"], _fill.Path.SCALAR, fills)
