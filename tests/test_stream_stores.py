"""Large float32 fills on the SIMD paths are written with non-temporal (stream) stores where the
output is 16-byte aligned (fastinit/_fill.pyx: STREAM_MIN_BYTES, from FASTINIT_STREAM_MIN_BYTES
at import; lowered here so that small fills take that path).
They must give the reference path's bits, at every alignment of the output (streamed whole
groups, plainly stored partial groups around them), and write nothing outside the output."""
import subprocess
import sys

import numpy as np
import pytest

import fastinit
from fastinit import _fill

KERNELS = [
    (fastinit.uniform_, (-1.0, 2.0)),
    (fastinit.normal_, (0.5, 2.0)),
    (fastinit.normal_, (0.0, 1.0)),
    (fastinit.trunc_normal_, (0.0, 1.0, -2.0, 2.0)),
    (fastinit.trunc_normal_, (1.0, 3.0, 4.0, 9.0)),
]


@pytest.fixture
def stream_everything(monkeypatch):
    monkeypatch.setattr(_fill, "STREAM_MIN_BYTES", 0)


@pytest.mark.parametrize("kernel,args", KERNELS)
@pytest.mark.parametrize("shift", [0, 1, 2, 3, 4, 8, 12])   # output start, in floats past 64-byte alignment
@pytest.mark.parametrize("threads", [1, 2])
def test_streamed_fills_match_reference(stream_everything, kernel, args, shift, threads):
    n = 20_011
    guard = 64
    backing = np.empty(n + 2 * guard + 16, np.float32)
    start = guard + (-(backing.ctypes.data // 4) % 16) + shift
    expected = None
    for path in ["scalar"] + [p for p in fastinit.available_simd_paths() if p != "scalar"]:
        backing[:] = 7.0
        out = backing[start:start + n]
        with fastinit.simd_path_used(path):
            kernel(out, *args, seed=11, offset=37, num_threads=threads)
        assert np.all(backing[:start] == 7.0) and np.all(backing[start + n:] == 7.0), path
        if expected is None:
            expected = out.copy()
        else:
            assert np.array_equal(out.view(np.uint32), expected.view(np.uint32)), path


def test_default_threshold_leaves_small_fills_plain(monkeypatch):
    """The values do not depend on the threshold (a large fill streams by default)."""
    assert _fill.STREAM_MIN_BYTES == 32 << 20
    big = fastinit.normal_(np.empty(9 << 20, np.float32), seed=3)    # 36 MiB: streamed
    monkeypatch.setattr(_fill, "STREAM_MIN_BYTES", 1 << 62)
    plain = fastinit.normal_(np.empty(9 << 20, np.float32), seed=3)
    assert np.array_equal(big.view(np.uint32), plain.view(np.uint32))


@pytest.mark.parametrize("value, expected, warns", [("0", 0, False), (" 4096 ", 4096, False),
                                                    ("-1", 32 << 20, True), ("lots", 32 << 20, True)])
def test_threshold_from_the_environment_at_import(value, expected, warns):
    code = "import warnings; warnings.simplefilter('always'); from fastinit import _fill; print(_fill.STREAM_MIN_BYTES)"
    env = {"FASTINIT_STREAM_MIN_BYTES": value, "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) == expected
    assert ("FASTINIT_STREAM_MIN_BYTES" in out.stderr and "integer >= 0" in out.stderr) == warns
