"""fastinit.dask: blocks filled at their global offsets equal the single-machine fill."""
import subprocess
import sys

import numpy as np
import pytest

import fastinit

da = pytest.importorskip("dask.array")
import fastinit.dask as fdask  # noqa: E402

CASES = [
    ("xavier_uniform", (20, 16), ((3, 7, 10), (5, 11)), {}),          # chunks split rows
    ("trunc_normal", (9, 4, 6), ((2, 7), (1, 3), (6,)), {"std": 0.02}),
    ("kaiming_normal", (12, 8, 3, 3), ((5, 7), (8,), (3,), (1, 2)), {"nonlinearity": "relu"}),
    ("glorot_normal", (1000, 64), ((100,) * 10, (64,)), {}),
    ("orthogonal_", (12, 30), ((5, 7), (10, 20)), {}),
    ("eye", (7, 9), ((3, 4), (2, 7)), {}),
]


@pytest.mark.parametrize("scheme,shape,chunks,params", CASES, ids=[c[0] for c in CASES])
def test_threaded_equals_single_machine(scheme, shape, chunks, params):
    seed = {} if scheme == "eye" else {"seed": 9}
    x = fdask.init(shape, scheme, chunks=chunks, **seed, **params)
    assert x.chunks == chunks
    ref = fastinit.init(shape, scheme, **seed, **params)
    assert np.array_equal(x.compute(scheduler="threads"), ref)


def test_names_are_deterministic():
    a = fdask.init((100, 10), "normal", chunks=(30, 10), seed=1)
    b = fdask.init((100, 10), "normal", chunks=(30, 10), seed=1)
    c = fdask.init((100, 10), "normal", chunks=(30, 10), seed=2)
    assert a.name == b.name != c.name
    fresh = fdask.init((100, 10), "normal", chunks=(30, 10))       # seed drawn once, at construction
    assert np.array_equal(fresh.compute(), fresh.compute())


def test_errors_at_construction():
    with pytest.raises(ValueError, match="did you mean"):
        fdask.init((10, 10), "xavier_unifrom", chunks=5, seed=0)
    with pytest.raises(ValueError, match="low must be <= high"):
        fdask.init((10, 10), "uniform", chunks=5, seed=0, low=1.0, high=0.0)


def test_store_through_dask(tmp_path):
    x = fdask.init((50, 8), "he_uniform", chunks=(7, 8), seed=3)
    target = np.lib.format.open_memmap(tmp_path / "t.npy", mode="w+", dtype=np.float32, shape=(50, 8))
    da.store(x, target)
    target.flush()
    assert np.array_equal(np.load(tmp_path / "t.npy"), fastinit.init((50, 8), "he_uniform", seed=3))


def test_distributed_cluster_of_processes():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        x = fdask.init((301, 40), "xavier_uniform", chunks=((100, 101, 50, 50), (15, 25)), seed=4)
        got = client.compute(x).result()
    assert np.array_equal(got, fastinit.init((301, 40), "xavier_uniform", seed=4))


def test_import_fastinit_does_not_import_dask(tmp_path):
    code = "import sys, fastinit; print('dask' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=tmp_path).stdout.strip() == "False"
