"""init_zarr: a zarr v3 array equal to fastinit.init for any chunking; atomic on paths (nothing
under the final name after a failure, an interrupt or a kill); errors before anything is written;
fastinit.dask output to zarr; the command line picks the format from --out's suffix."""
import os
import re
import signal
import subprocess
import sys

import numpy as np
import pytest

zarr = pytest.importorskip("zarr")

import fastinit  # noqa: E402
from conftest import signal_once_writing  # noqa: E402


@pytest.mark.parametrize("chunks", [(7, 5), (64, 64), (1, 64), (100, 3), 13, None])
@pytest.mark.parametrize("workers", [1, 3])
def test_equal_to_init_for_any_chunking(tmp_path, chunks, workers):
    want = fastinit.init((100, 64), "kaiming_uniform_", seed=4, a=0.5)
    got = fastinit.init_zarr(tmp_path / "t.zarr", (100, 64), "kaiming_uniform_", chunks=chunks, seed=4, a=0.5,
                             num_workers=workers, progress=False)
    assert isinstance(got, zarr.Array) and got.metadata.zarr_format == 3
    assert np.array_equal(zarr.open_array(tmp_path / "t.zarr", mode="r")[...], want)


@pytest.mark.parametrize("scheme,params,dtype", [("trunc_normal", dict(std=0.02, a=-0.04, b=0.04), "float16"),
                                                 ("orthogonal", dict(gain=2.0), "float64"),
                                                 ("zeros", {}, "float32"), ("eye", {}, "float32")])
def test_schemes_dtypes_and_whole_tensor_schemes(tmp_path, scheme, params, dtype):
    seed = 9 if fastinit.scheme(scheme).random else None
    want = fastinit.init((40, 30), scheme, seed=seed, dtype=dtype, **params)
    fastinit.init_zarr(tmp_path / "a.zarr", (40, 30), scheme, chunks=(16, 7), dtype=dtype, seed=seed, progress=False,
                       **params)
    got = zarr.open_array(tmp_path / "a.zarr", mode="r")[...]
    assert got.dtype == want.dtype and np.array_equal(got, want)


def test_n_d_and_empty(tmp_path):
    want = fastinit.init((6, 5, 4, 3), "xavier_normal_", seed=2)
    fastinit.init_zarr(tmp_path / "n.zarr", (6, 5, 4, 3), "xavier_normal_", chunks=(4, 2, 3, 2), seed=2, progress=False)
    assert np.array_equal(zarr.open_array(tmp_path / "n.zarr")[...], want)
    empty = fastinit.init_zarr(tmp_path / "e.zarr", (0, 4), "normal", seed=1, progress=False)
    assert empty.shape == (0, 4)


def test_store_object(tmp_path):
    store = zarr.storage.MemoryStore()
    got = fastinit.init_zarr(store, (50, 20), "uniform", chunks=(8, 8), seed=3, a=-1.0, b=1.0, progress=False)
    assert np.array_equal(got[...], fastinit.init((50, 20), "uniform", seed=3, a=-1.0, b=1.0))


@pytest.mark.parametrize("call,error,match", [
    (lambda p: fastinit.init_zarr(p, (10, 4), "normal", seed=1, std=-1.0), ValueError, "std"),
    (lambda p: fastinit.init_zarr(p, (10, 4), "normal", seed=1, dtype="bfloat16"), ValueError, "bfloat16"),
    (lambda p: fastinit.init_zarr(p, (10, 4), "normal", seed=1, dtype="int32"), ValueError, "float16, float32"),
    (lambda p: fastinit.init_zarr(p, (10, 4), "normal", seed=1, chunks=(0, 2)), ValueError, "chunk"),
    (lambda p: fastinit.init_zarr(p, (10, 4), "normal", seed=1, chunks=(2, 2, 2)), ValueError, "chunk"),
    (lambda p: fastinit.init_zarr(p, (10, 4), "no_such_scheme", seed=1), ValueError, "no_such_scheme"),
    (lambda p: fastinit.init_zarr(p.parent / "missing" / "t.zarr", (10, 4), "normal", seed=1), FileNotFoundError,
     "does not exist"),
])
def test_bad_input_writes_nothing(tmp_path, call, error, match):
    path = tmp_path / "t.zarr"
    with pytest.raises(error, match=match):
        call(path)
    assert os.listdir(tmp_path) == []


def test_existing_array_kept_unless_overwrite(tmp_path):
    path = tmp_path / "t.zarr"
    fastinit.init_zarr(path, (10, 4), "ones", progress=False)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        fastinit.init_zarr(path, (10, 4), "zeros", progress=False)
    assert np.array_equal(zarr.open_array(path)[...], np.ones((10, 4), np.float32))
    fastinit.init_zarr(path, (12, 3), "normal", seed=1, overwrite=True, progress=False)
    assert np.array_equal(zarr.open_array(path)[...], fastinit.init((12, 3), "normal", seed=1))
    assert sorted(os.listdir(tmp_path)) == ["t.zarr"]


def test_failure_midway_leaves_nothing(tmp_path, monkeypatch):
    from fastinit import _executor
    calls = []
    real = _executor.Fill.block   # each chunk's fill

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(_executor.Fill, "block", failing)
    with pytest.raises(OSError, match="No space left"):
        fastinit.init_zarr(tmp_path / "t.zarr", (64, 8), "normal", chunks=(8, 8), seed=1, num_workers=1, progress=False)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_run_leaves_nothing(tmp_path, sig):
    code = (f"import fastinit; fastinit.init_zarr({str(tmp_path / 'big.zarr')!r}, (1 << 14, 1 << 12), 'normal', "
            f"chunks=(64, 1 << 12), seed=1, progress=False, num_workers=1)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    signal_once_writing(proc, tmp_path, sig)
    assert proc.returncode != 0
    assert os.listdir(tmp_path) == []


def test_dask_output_to_zarr(tmp_path):
    pytest.importorskip("dask")
    import fastinit.dask
    x = fastinit.dask.init((90, 40), "xavier_uniform_", seed=6, chunks=(25, 15))
    x.to_zarr(str(tmp_path / "d.zarr"))
    assert np.array_equal(zarr.open_array(tmp_path / "d.zarr")[...], fastinit.init((90, 40), "xavier_uniform_", seed=6))


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "fastinit", "init", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


def test_cli_picks_the_format_from_the_suffix(tmp_path):
    out = _cli("--shape", "30,8", "--scheme", "normal", "--seed", "5", "--out", "t.zarr", "--chunks", "7,8",
               "--no-progress", "std=0.5", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    got = zarr.open_array(tmp_path / "t.zarr")
    assert got.chunks == (7, 8) and np.array_equal(got[...], fastinit.init((30, 8), "normal", seed=5, std=0.5))
    out = _cli("--shape", "30,8", "--scheme", "normal", "--seed", "5", "--out", "t.npy", "--no-progress", cwd=tmp_path)
    assert out.returncode == 0 and np.array_equal(np.load(tmp_path / "t.npy"), fastinit.init((30, 8), "normal", seed=5))


@pytest.mark.parametrize("out,chunks,match", [("t.txt", None, "unknown format .txt"), ("table", None, r"\(no suffix\)"),
                                              ("t.npy", "4,4", "--chunks is for zarr"),
                                              ("t.zarr", "0,4", "--chunks entries must be positive")])
def test_cli_refuses_what_it_would_write_wrong(tmp_path, out, chunks, match):
    args = ["--shape", "8,4", "--scheme", "zeros", "--out", out] + (["--chunks", chunks] if chunks else [])
    result = _cli(*args, cwd=tmp_path)
    assert result.returncode == 2 and re.search(match, result.stderr), result.stderr
    assert os.listdir(tmp_path) == []
