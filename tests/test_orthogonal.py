"""orthogonal_: orthonormality to float tolerance for square, tall and wide matrices in float32
and float64, and the Haar distribution (as torch's sign-corrected QR of a Gaussian matrix)."""
import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

import fastinit

SHAPES = [(128, 128), (256, 48), (48, 256), (300, 7), (7, 300), (1, 1), (6, 1), (1, 6), (2, 2)]


def gram_error(w: np.ndarray, gain: float = 1.0) -> float:
    m = w.reshape(w.shape[0], -1).astype(np.float64)
    g = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    return float(np.abs(g - gain ** 2 * np.eye(len(g))).max())


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-13), (np.float32, 2e-6)])
def test_orthonormal_to_float_tolerance(shape, dtype, tol):
    w = fastinit.orthogonal_(np.full(shape, np.nan, dtype), seed=11)
    assert w.dtype == dtype and np.isfinite(w).all()
    assert gram_error(w) < tol * max(1, len(w) ** 0.5)
    assert gram_error(fastinit.orthogonal_(np.empty(shape, dtype), 3.0, seed=11), 3.0) < 9 * tol * max(1, len(w) ** 0.5)


def test_half_precision_outputs_round_the_float32_result():
    w32 = fastinit.orthogonal_(np.empty((64, 32), np.float32), seed=2)
    w16 = fastinit.orthogonal_(np.empty((64, 32), np.float16), seed=2)
    assert np.array_equal(w16, w32.astype(np.float16))
    bf = fastinit.orthogonal_(np.empty((64, 32), np.uint16), seed=2, dtype="bfloat16")
    assert bf.dtype == np.uint16 and np.abs((bf.astype(np.uint32) << 16).view(np.float32) - w32).max() < 1e-2


def test_reproducible_and_seed_dependent():
    a = fastinit.orthogonal_(np.empty((50, 30)), seed=1)
    assert np.array_equal(a, fastinit.orthogonal_(np.empty((50, 30)), seed=1))
    assert not np.allclose(a, fastinit.orthogonal_(np.empty((50, 30)), seed=2))


def _samples(shape, n=4000, start=0):
    return np.array([fastinit.orthogonal_(np.empty(shape), seed=s) for s in range(start, start + n)])


@pytest.mark.parametrize("shape", [(3, 3), (3, 2), (2, 3)])
def test_entries_are_uniform_on_minus_one_one(shape):
    """Columns (or rows) of a Haar matrix are uniform on the sphere; on S^2 each coordinate is
    Uniform(-1, 1), signs included (a missing sign correction would fail this)."""
    q = _samples(shape)
    rot = np.linalg.qr(np.random.default_rng(0).standard_normal((3, 3)))[0]
    rotated = rot @ q if shape[0] == 3 else q @ rot           # Haar is invariant under a fixed rotation
    for sample in (q, rotated):
        for i in range(shape[0]):
            for j in range(shape[1]):
                assert stats.kstest(sample[:, i, j], stats.uniform(-1, 2).cdf).pvalue > 1e-3, (i, j)


def test_both_determinant_signs_equally_often():
    dets = np.linalg.det(_samples((4, 4), n=4000))
    assert np.allclose(np.abs(dets), 1.0)
    assert stats.binomtest(int((dets > 0).sum()), len(dets)).pvalue > 1e-3


def test_same_distribution_as_torch():
    torch = pytest.importorskip("torch")
    ours = _samples((5, 3), n=1500)
    gen = torch.Generator().manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)                       # (tiny QRs: threads only cost time)
    try:
        theirs = np.array([torch.nn.init.orthogonal_(torch.empty(5, 3, dtype=torch.float64), generator=gen).numpy()
                           for _ in range(1500)])
    finally:
        torch.set_num_threads(threads)
    for stat in (lambda q: q[:, 0, 0], lambda q: q[:, 4, 2], lambda q: q[:, 0, 0] * q[:, 1, 1] + q[:, 2, 2]):
        assert stats.ks_2samp(stat(ours), stat(theirs)).pvalue > 1e-3


@pytest.mark.parametrize("num_threads", [1, 2])
def test_lapack_runs_on_one_thread(num_threads, monkeypatch):
    """With threadpoolctl, orthogonal_ limits BLAS to one thread while forming Q (OpenBLAS's
    rounding depends on its thread count), whatever num_threads says, and restores it afterwards."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from scipy.linalg import lapack

    def blas_threads():
        return {i["filepath"]: i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"}

    before, seen = blas_threads(), []
    real = lapack.get_lapack_funcs

    def recording(names, arrays=(), *args, **kwargs):
        seen.append(set(blas_threads().values()))
        return real(names, arrays, *args, **kwargs)

    monkeypatch.setattr(lapack, "get_lapack_funcs", recording)
    fastinit.orthogonal_(np.empty((300, 400), np.float32), seed=1, num_threads=num_threads)
    assert seen and all(s == {1} for s in seen)
    assert blas_threads() == before


# Shapes past several of LAPACK's block sizes (orgqr's nb = 32, its crossover 128, OpenBLAS's GEMM
# blocking), wide and tall, 2-D and flattened N-D, float32 and float64.
REPRODUCIBLE = [((32, 39, 12, 57), np.float32), ((700, 300), np.float32), ((129, 1000), np.float64),
                ((1100, 96), np.float64), ((64, 64), np.float32), ((256, 3, 3, 64), np.float32)]


@pytest.mark.parametrize("shape,dtype", REPRODUCIBLE)
def test_orthogonal_same_for_every_call_and_thread_count(shape, dtype):
    """A fresh process's first call (LAPACK not yet loaded: where the thread limit once missed it)
    and later calls, with 1, 2 and the automatic thread count, and with OpenBLAS's own default
    raised, all give the same bits."""
    code = f"""
import hashlib, numpy as np, fastinit
def digest(**kw):
    return hashlib.sha256(fastinit.init({shape!r}, "orthogonal", seed=7, dtype=np.{np.dtype(dtype).name}, **kw).tobytes()).hexdigest()
print(digest(num_threads=1), digest(num_threads=2), digest(), digest(num_threads=1))
"""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "2"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr
    digests = set(out.stdout.split())
    here = {hashlib.sha256(fastinit.init(shape, "orthogonal", seed=7, dtype=dtype, num_threads=n).tobytes()).hexdigest()
            for n in (2, 1)}
    assert len(digests) == 1 and digests == here


def test_sparse_same_for_every_thread_count():
    values = {fastinit.init((600, 500), "sparse", sparsity=0.3, seed=2, num_threads=n).tobytes() for n in (1, 2, None)}
    assert len(values) == 1
