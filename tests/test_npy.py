"""init_npy: the file equals the in-memory fill, memory stays bounded, failures leave nothing."""
import errno
import os
import signal
import stat
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastinit
from fastinit import npy
from conftest import signal_once_writing


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


# ---------------------------------------------------------------- files: modes, links, space, signals

@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_new_file_mode_follows_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        p = npy.init_npy(tmp_path / "x.npy", (4, 4), "normal", seed=0, progress=False)
        np.save(tmp_path / "ref.npy", np.zeros(1))
    finally:
        os.umask(old)
    assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~umask == stat.S_IMODE((tmp_path / "ref.npy").stat().st_mode)


def test_overwrite_keeps_the_existing_mode(tmp_path):
    p = tmp_path / "x.npy"
    p.write_bytes(b"old")
    os.chmod(p, 0o640)
    npy.init_npy(p, (4, 4), "normal", seed=0, progress=False, overwrite=True)
    assert stat.S_IMODE(p.stat().st_mode) == 0o640
    assert np.array_equal(np.load(p), fastinit.init((4, 4), "normal", seed=0))


def test_symlink_is_written_through_atomically(tmp_path):
    (tmp_path / "data").mkdir()
    target = tmp_path / "data" / "t.npy"
    target.write_bytes(b"old")
    old_inode = target.stat().st_ino
    link = tmp_path / "link.npy"
    link.symlink_to(target)
    with pytest.raises(FileExistsError, match=r"link.npy \(a link to .*t.npy\) already exists"):
        npy.init_npy(link, (4, 4), "normal", seed=0, progress=False)
    assert target.read_bytes() == b"old"
    npy.init_npy(link, (4, 4), "normal", seed=0, progress=False, overwrite=True)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.stat().st_ino != old_inode                     # replaced by rename, not rewritten in place
    assert np.array_equal(np.load(link), fastinit.init((4, 4), "normal", seed=0))
    assert sorted(os.listdir(tmp_path)) == ["data", "link.npy"] and os.listdir(tmp_path / "data") == ["t.npy"]


def test_dangling_symlink_creates_its_target_and_loops_are_errors(tmp_path):
    link = tmp_path / "link.npy"
    link.symlink_to("new.npy")
    npy.init_npy(link, (3,), "normal", seed=0, progress=False)
    assert link.is_symlink() and np.load(tmp_path / "new.npy").shape == (3,)
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    with pytest.raises(OSError, match="too many levels of symbolic links"):
        npy.init_npy(tmp_path / "a", (3,), "normal", seed=0, progress=False, overwrite=True)
    assert sorted(os.listdir(tmp_path)) == ["a", "b", "link.npy", "new.npy"]


def test_refuses_a_file_larger_than_the_free_space(tmp_path):
    with pytest.raises(OSError, match=r"cannot write .*x.npy: it needs 524288.00 GiB .* free; nothing was written") as e:
        npy.init_npy(tmp_path / "x.npy", (1 << 47,), "normal", seed=0, progress=False)
    assert e.value.errno == errno.ENOSPC
    assert os.listdir(tmp_path) == []


def test_stop_signal_handlers_only_during_the_write(tmp_path, monkeypatch):
    seen = []
    real = npy._write

    def write(f, chunk):
        seen.append({sig: signal.getsignal(sig) for sig in npy.STOP_SIGNALS})
        real(f, chunk)
    monkeypatch.setattr(npy, "_write", write)
    before = {sig: signal.getsignal(sig) for sig in npy.STOP_SIGNALS}
    assert all(h == signal.SIG_DFL for h in before.values())
    npy.init_npy(tmp_path / "x.npy", (10,), "normal", seed=0, progress=False)
    assert seen and all(h is npy._raise_terminated for h in seen[0].values())
    assert {sig: signal.getsignal(sig) for sig in npy.STOP_SIGNALS} == before

    def own(signum, frame):                  # a program's own handler is left alone
        raise SystemExit(3)
    monkeypatch.setattr(npy, "_write", write)
    old = signal.signal(signal.SIGTERM, own)
    try:
        seen.clear()
        npy.init_npy(tmp_path / "y.npy", (10,), "normal", seed=0, progress=False)
        assert seen[0][signal.SIGTERM] is own and signal.getsignal(signal.SIGTERM) is own
    finally:
        signal.signal(signal.SIGTERM, old)


@pytest.mark.parametrize("sig", npy.STOP_SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_stop_signal_leaves_nothing_and_kills(tmp_path, sig):
    """SIGTERM/SIGHUP (a scheduler stopping a job) remove the temporary, then end the process by
    that signal, as they would have without fastinit."""
    script = textwrap.dedent("""
        import fastinit
        fastinit.init_npy("big.npy", (400_000_000,), "trunc_normal", seed=1, progress=False, num_threads=1)
        print("finished")
    """)
    env = {**os.environ, "FASTINIT_SIMD": "scalar"}        # slow path: the write takes many seconds
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    out, err = signal_once_writing(proc, tmp_path, sig)
    assert proc.returncode == -sig, err
    assert "finished" not in out
    assert os.listdir(tmp_path) == []


def test_tqdm_progress_in_gib(tmp_path, capsys):
    pytest.importorskip("tqdm")
    npy.init_npy(tmp_path / "x.npy", (1 << 26,), "uniform", seed=0, chunk_bytes=1 << 26)    # 256 MiB
    err = capsys.readouterr().err
    assert "0.25/0.25 GiB" in err and "GiB/s" in err
    assert "MB" not in err and "M/" not in err


def test_bad_parameters_fail_before_any_file_or_progress(tmp_path, monkeypatch, capsys):
    def no_temporary(*args, **kwargs):
        raise AssertionError("a temporary file was created for a call with bad parameters")
    monkeypatch.setattr(npy, "_create_temporary", no_temporary)
    with pytest.raises(ValueError, match="gain must be >= 0"):
        npy.init_npy(tmp_path / "x.npy", (1000, 64), "xavier_uniform", seed=0, gain=-1)
    with pytest.raises(ValueError, match="std"):
        npy.init_npy(tmp_path / "x.npy", (10, 3), "trunc_normal_", seed=0, std=-1.0)
    assert capsys.readouterr().err == ""
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("writer", ["npy", "zarr"])
def test_whole_tensor_schemes_are_refused_up_front_when_memory_cannot_hold_them(tmp_path, monkeypatch, writer):
    """orthogonal/sparse hold the whole tensor before the first byte is written: refused with
    nothing written when it cannot fit in the memory available (other schemes stream)."""
    from fastinit import _writing
    monkeypatch.setattr(_writing, "_available_memory", lambda: 1000)
    path = tmp_path / f"t.{writer}"
    write = fastinit.init_npy if writer == "npy" else fastinit.init_zarr
    with pytest.raises(MemoryError, match=r"scheme 'orthogonal_' needs the whole tensor in memory, .* is available; "
                                          r"nothing was written"):
        write(path, (40, 30), "orthogonal_", seed=1, progress=False)
    assert os.listdir(tmp_path) == []
    write(path, (40, 30), "normal", seed=1, progress=False)    # (a streaming scheme needs one chunk)


def test_whole_tensor_schemes_say_so_and_are_written_chunk_by_chunk(tmp_path, capsys, monkeypatch):
    writes = []
    real = fastinit.npy._write
    monkeypatch.setattr(fastinit.npy, "_write", lambda f, chunk: writes.append(chunk.size) or real(f, chunk))
    path = tmp_path / "q.npy"
    fastinit.init_npy(path, (64, 48), "orthogonal", seed=3, chunk_bytes=1024, progress=True)
    assert "orthogonal needs the whole tensor: computing it in memory" in capsys.readouterr().err
    assert writes == [256] * 12                                # the progress moves chunk by chunk
    assert np.array_equal(np.load(path), fastinit.init((64, 48), "orthogonal", seed=3))
