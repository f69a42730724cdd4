"""init_npy: the file equals the in-memory fill, memory stays bounded, failures leave nothing."""
import errno
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastinit
from fastinit import npy


@pytest.mark.parametrize("scheme,params,dtype", [
    ("xavier_uniform", {}, "float32"), ("trunc_normal", {"std": 0.02}, "float16"), ("he_normal", {}, "float64"),
    ("orthogonal_", {"gain": 2.0}, "float32"), ("eye", {}, "float32"), ("sparse", {"sparsity": 0.2}, "float32"),
    ("torch_embedding", {"padding_idx": 3}, "float32")])
def test_file_equals_in_memory_fill(tmp_path, scheme, params, dtype):
    shape = (333, 17)
    seed = {} if scheme == "eye" else {"seed": 5}
    path = npy.init_npy(tmp_path / "w.npy", shape, scheme, dtype=dtype, progress=False, chunk_bytes=1000, **seed, **params)
    ref = fastinit.init(shape, scheme, dtype=dtype, **seed, **params)
    got = np.load(path, mmap_mode="r")
    assert got.shape == shape and got.dtype == ref.dtype
    assert np.array_equal(got, ref)
    assert os.listdir(tmp_path) == ["w.npy"]


def test_zero_size_and_overwrite(tmp_path):
    p = npy.init_npy(tmp_path / "z.npy", (0, 4), "normal", seed=0, progress=False)
    assert np.load(p).shape == (0, 4)
    with pytest.raises(FileExistsError, match="already exists; pass overwrite=True"):
        npy.init_npy(p, (3,), "normal", seed=0, progress=False)
    npy.init_npy(p, (3,), "normal", seed=0, progress=False, overwrite=True)
    assert np.load(p).shape == (3,)


def test_bad_inputs_write_nothing(tmp_path):
    target = tmp_path / "x.npy"
    cases = [
        (lambda: npy.init_npy(target, (3, -1), "normal"), ValueError, "shape entries"),
        (lambda: npy.init_npy(target, "3x3", "normal"), TypeError, "shape must be"),
        (lambda: npy.init_npy(target, (3, 3), "xavier_unifrom"), ValueError, "did you mean xavier_uniform"),
        (lambda: npy.init_npy(target, (3, 3), "normal", dtype="bfloat16"), ValueError, "no standard .npy type"),
        (lambda: npy.init_npy(target, (3, 3), "normal", offset=3), ValueError, "offset= is set by fastinit"),
        (lambda: npy.init_npy(target, (5,), "xavier_uniform", seed=1), ValueError, "fewer than 2 dimensions"),
        (lambda: npy.init_npy(target, (3, 3), "uniform", low=2.0, high=1.0), ValueError, "low must be <= high"),
        (lambda: npy.init_npy(tmp_path / "no" / "x.npy", (3,), "normal"), FileNotFoundError, "does not exist"),
        (lambda: npy.init_npy(tmp_path, (3,), "normal"), IsADirectoryError, "is a directory"),
    ]
    for call, exc, pattern in cases:
        with pytest.raises(exc, match=pattern):
            call()
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="is not a directory"):
        npy.init_npy(tmp_path / "file" / "x.npy", (3,), "normal")
    assert sorted(os.listdir(tmp_path)) == ["file"]


def _failing_write(exc, after):
    calls = [0]
    real = npy._write

    def write(f, chunk):
        calls[0] += 1
        if calls[0] > after:
            raise exc
        real(f, chunk)
    return write


def test_disk_full_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(npy, "_write", _failing_write(OSError(errno.ENOSPC, "No space left on device"), 2))
    with pytest.raises(OSError, match="writing .*x.npy failed: No space left on device"):
        npy.init_npy(tmp_path / "x.npy", (1000, 100), "normal", seed=0, progress=False, chunk_bytes=40_000)
    assert os.listdir(tmp_path) == []


def test_interrupt_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(npy, "_write", _failing_write(KeyboardInterrupt(), 3))
    with pytest.raises(KeyboardInterrupt):
        npy.init_npy(tmp_path / "x.npy", (1000, 100), "normal", seed=0, progress=False, chunk_bytes=40_000)
    assert os.listdir(tmp_path) == []


def test_plain_progress_without_tqdm(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm fails
    npy.init_npy(tmp_path / "x.npy", (100, 10), "normal", seed=0)
    assert "x.npy: 100.0%" in capsys.readouterr().err


def test_memory_stays_bounded(tmp_path):
    """Peak RSS of a process writing a 512 MiB file stays far below the file's size."""
    # VmHWM: the peak RSS of this process's own address space (getrusage's ru_maxrss would also
    # carry the parent's peak across fork + exec)
    script = textwrap.dedent(f"""
        import fastinit
        fastinit.init_npy({str(tmp_path / "big.npy")!r}, (1 << 27,), "trunc_normal", seed=1, progress=False,
                          chunk_bytes=8 << 20)
        hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM:")][0]
        print(int(hwm.split()[1]) * 1024)
    """)
    peak = int(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                              cwd=tmp_path).stdout)
    size = (tmp_path / "big.npy").stat().st_size
    assert size > 512 * 2**20
    assert peak < 180 * 2**20, f"peak RSS {peak / 2**20:.0f} MiB"   # file is 3x this limit
    first = np.load(tmp_path / "big.npy", mmap_mode="r")[:1000]
    assert np.array_equal(first, fastinit.trunc_normal_(np.empty(1000, np.float32), seed=1))
