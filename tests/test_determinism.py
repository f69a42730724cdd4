"""Values depend only on (seed, stream, index): not on threads, chunking, sharding, rank or CPU path."""
import numpy as np
import pytest

import fastinit
from fastinit import _fill

ml_dtypes = pytest.importorskip("ml_dtypes")

FILLS = [
    (fastinit.uniform_, (-1.0, 2.0)),
    (fastinit.normal_, (0.5, 2.0)),
    (fastinit.trunc_normal_, (0.0, 1.0, -2.0, 2.0)),
    (fastinit.trunc_normal_, (0.0, 1.0, 2.0, 3.0)),     # tail-heavy float32 probit
    (fastinit.trunc_normal_, (0.0, 1.0, 12.0, 13.0)),   # float64 fallback for narrow dtypes
    (fastinit.trunc_normal_, (0.0, 1.0, 0.5, 0.5001)),  # narrow: float64 fallback
]
DTYPES = [np.float32, np.float64, np.float16, ml_dtypes.bfloat16]


def bits(a):
    return a.view(np.uint8)


@pytest.mark.parametrize("kernel,args", FILLS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_scalar_reference_equals_simd(kernel, args, dtype):
    """The fast path is bit-identical to the portable reference path."""
    paths = fastinit.available_simd_paths()
    results = []
    for path in paths:
        with fastinit.simd_path_used(path):
            results.append(kernel(np.empty(20_011, dtype), *args, seed=77, stream=5, offset=13))
    for r in results[1:]:
        assert np.array_equal(bits(r), bits(results[0]))


@pytest.mark.parametrize("kernel,args", FILLS[:3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_thread_count_and_chunk_size_do_not_matter(kernel, args, dtype, monkeypatch):
    n = 300_001
    ref = kernel(np.empty(n, dtype), *args, seed=3, num_threads=1)
    for threads in (2, 3, 4):
        assert np.array_equal(bits(kernel(np.empty(n, dtype), *args, seed=3, num_threads=threads)), bits(ref))
    for chunk in (64, 1000, 4097):
        monkeypatch.setattr(_fill, "CHUNK", chunk)
        assert np.array_equal(bits(kernel(np.empty(n, dtype), *args, seed=3, num_threads=2)), bits(ref))


@pytest.mark.parametrize("kernel,args", FILLS[:3])
@pytest.mark.parametrize("dtype", DTYPES)
def test_shard_equals_slice(kernel, args, dtype, simd_path):
    whole = kernel(np.empty(10_000, dtype), *args, seed=8, stream=2)
    for start, stop in [(0, 1), (1, 65), (63, 64), (100, 5_003), (9_999, 10_000), (31, 10_000)]:
        shard = kernel(np.empty(stop - start, dtype), *args, seed=8, stream=2, offset=start)
        assert np.array_equal(bits(shard), bits(whole[start:stop])), (start, stop)


def test_rank_and_memmap_fill_the_flat_stream(tmp_path):
    flat = fastinit.normal_(np.empty(6 * 7 * 5, np.float32), seed=1)
    cube = fastinit.normal_(np.empty((6, 7, 5), np.float32), seed=1)
    assert np.array_equal(cube.ravel(), flat)
    mm = np.lib.format.open_memmap(tmp_path / "t.npy", mode="w+", dtype=np.float32, shape=(6, 35))
    fastinit.normal_(mm, seed=1)
    mm.flush()
    assert np.array_equal(np.load(tmp_path / "t.npy").ravel(), flat)


def test_seed_and_stream_change_values():
    a = fastinit.uniform_(np.empty(1000), seed=1)
    assert not np.array_equal(a, fastinit.uniform_(np.empty(1000), seed=2))
    assert not np.array_equal(a, fastinit.uniform_(np.empty(1000), seed=1, stream=1))
    assert np.array_equal(a, fastinit.uniform_(np.empty(1000), seed=1))
    big = fastinit.uniform_(np.empty(10), seed=2**64 - 1, stream=2**64 - 1)
    assert ((big >= 0) & (big < 1)).all()


def test_zero_size():
    for shape in [(0,), (3, 0)]:
        out = np.empty(shape, np.float32)
        assert fastinit.normal_(out, seed=0) is out


def test_seed_none_is_fresh_and_manual_seed_reproducible():
    a = fastinit.uniform_(np.empty(100))
    b = fastinit.uniform_(np.empty(100))
    assert not np.array_equal(a, b)
    fastinit.manual_seed(123)
    c = fastinit.uniform_(np.empty(100))
    d = fastinit.uniform_(np.empty(100))
    fastinit.manual_seed(123)
    assert np.array_equal(c, fastinit.uniform_(np.empty(100)))
    assert np.array_equal(d, fastinit.uniform_(np.empty(100)))


def test_num_threads_setting(monkeypatch):
    old = fastinit.get_num_threads()
    try:
        fastinit.set_num_threads(1)
        assert fastinit.get_num_threads() == 1
    finally:
        fastinit.set_num_threads(old)
    with pytest.raises(ValueError, match="n must be an integer"):
        fastinit.set_num_threads(0)


def test_omp_num_threads_is_respected():
    import subprocess
    import sys
    code = "import fastinit; print(fastinit.get_num_threads(), fastinit.openmp_enabled())"
    out = subprocess.run([sys.executable, "-c", code], env={**__import__("os").environ, "OMP_NUM_THREADS": "3"},
                         capture_output=True, text=True, check=True).stdout.split()
    if out[1] == "True":
        assert out[0] == "3"
