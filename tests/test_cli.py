"""The command line: python -m fastinit --help, init (with Ctrl-C) and bench --quick."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import fastinit
from fastinit import bench


def run(args, cwd, **kw):
    return subprocess.run([sys.executable, "-m", "fastinit", *args], capture_output=True, text=True, cwd=cwd, **kw)


def test_help_lists_commands_and_schemes(tmp_path):
    r = run(["--help"], tmp_path)
    assert r.returncode == 0
    for word in ("bench", "init", "xavier_uniform", "glorot_normal", "torchrec_embedding"):
        assert word in r.stdout


def test_init_writes_the_fill(tmp_path):
    r = run(["init", "--shape", "1000,64", "--scheme", "kaiming_uniform", "--seed", "7", "--dtype", "float32",
             "--out", "t.npy", "--threads", "1", "--no-progress", "a=0.2", "mode=fan_out"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "wrote t.npy" in r.stdout and "GB/s" in r.stdout
    ref = fastinit.init((1000, 64), "kaiming_uniform", seed=7, a=0.2, mode="fan_out")
    assert np.array_equal(np.load(tmp_path / "t.npy"), ref)


@pytest.mark.parametrize("args,message", [
    (["--scheme", "xavier_unifrom"], "did you mean xavier_uniform"),
    (["--scheme", "xavier_uniform", "gian=2"], "did you mean gain"),
    (["--scheme", "normal", "std=-1"], "std must be >= 0"),
])
def test_init_errors(tmp_path, args, message):
    r = run(["init", "--shape", "10,10", "--out", "t.npy", *args], tmp_path)
    assert r.returncode == 2 and message in r.stderr
    assert os.listdir(tmp_path) == []


def test_init_existing_file_needs_force(tmp_path):
    (tmp_path / "t.npy").write_bytes(b"old")
    r = run(["init", "--shape", "10,10", "--scheme", "normal", "--out", "t.npy"], tmp_path)
    assert r.returncode == 2 and "--force" in r.stderr
    assert (tmp_path / "t.npy").read_bytes() == b"old"
    r = run(["init", "--shape", "10,10", "--scheme", "normal", "--out", "t.npy", "--force"], tmp_path)
    assert r.returncode == 0 and np.load(tmp_path / "t.npy").shape == (10, 10)


def test_init_bad_shape(tmp_path):
    r = run(["init", "--shape", "10,ten", "--scheme", "normal", "--out", "t.npy"], tmp_path)
    assert r.returncode == 2 and "--shape takes comma-separated integers" in r.stderr


def test_init_ctrl_c_leaves_nothing(tmp_path):
    env = {**os.environ, "FASTINIT_SIMD": "scalar"}        # slow path: the write takes many seconds
    proc = subprocess.Popen([sys.executable, "-m", "fastinit", "init", "--shape", "400000000", "--scheme",
                             "trunc_normal", "--out", "big.npy", "--threads", "1", "--no-progress"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not any(n.endswith(".part") for n in os.listdir(tmp_path)):   # writing has begun
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGINT, err     # killed by SIGINT: status 130 in a shell
    assert "interrupted: big.npy was not written" in err
    assert os.listdir(tmp_path) == []


EXPECTED_ROW_KEYS = {"kernel", "library", "dtype", "n", "seconds", "msamples_per_s", "gb_per_s",
                     "pct_of_memory_limit", "note"}


def test_bench_quick_writes_complete_json(tmp_path):
    r = run(["bench", "--quick", "--size", "65536", "--repeat", "1", "--json", "b.json", "--no-progress"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "Msamples/s" in r.stdout and "thread scaling" in r.stdout
    data = json.loads((tmp_path / "b.json").read_text())
    for key in ("command", "date", "machine", "config", "results", "thread_scaling", "size_sweep", "memory",
                "skipped", "elapsed_s"):
        assert key in data
    for key in ("cpu", "cores", "simd_path", "openmp", "python", "numpy", "fastinit", "torch"):
        assert key in data["machine"]
    kernels = {(row["library"], row["kernel"]) for row in data["results"]}
    for expected in [("fastinit", "uniform_"), ("fastinit", "normal_"), ("fastinit", "trunc_normal_"),
                     ("fastinit", "xavier_uniform_"), ("fastinit", "kaiming_normal_"), ("fastinit", "orthogonal_"),
                     ("numpy", "uniform_"), ("numpy", "normal_"), ("numpy", "fill"), ("torch", "trunc_normal_"),
                     ("fastinit", "normal_ fresh")]:
        assert expected in kernels
    for row in data["results"]:
        assert EXPECTED_ROW_KEYS <= row.keys()
        assert row["msamples_per_s"] > 0 and row["gb_per_s"] > 0
        if row["library"] == "fastinit":
            assert "vs_numpy" in row and "vs_torch" in row
    fastinit_uniform = next(r for r in data["results"] if r["library"] == "fastinit" and r["kernel"] == "uniform_")
    assert fastinit_uniform["vs_numpy"] > 0 and fastinit_uniform["vs_torch"] > 0
    assert {r["threads"] for r in data["thread_scaling"]} == set(range(1, data["config"]["threads"] + 1))
    assert all(r["extra_peak_bytes"] >= 0 for r in data["memory"])


def test_bench_reports_missing_peers_as_skipped(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(bench, "_torch", lambda: None)
    result = bench.run(["--quick", "--size", "4096", "--repeat", "1", "--no-progress", "--plot",
                        str(tmp_path / "p.png")])
    out = capsys.readouterr().out
    assert any("torch" in s for s in result["skipped"]) and "skipped: torch" in out
    assert all(r["library"] != "torch" for r in result["results"])
    try:
        import matplotlib  # noqa: F401
        assert (tmp_path / "p.png").stat().st_size > 0
    except ImportError:
        assert "skipped plot" in out


def test_bench_rejects_bad_options(tmp_path):
    r = run(["bench", "--dtype", "int8"], tmp_path)
    assert r.returncode == 2 and "--dtype 'int8'" in r.stderr


@pytest.mark.skipif(os.access("/sys", os.W_OK) and not os.path.ismount("/sys"), reason="needs a read-only /sys")
def test_init_unwritable_directory(tmp_path):
    r = run(["init", "--shape", "10,10", "--scheme", "normal", "--out", "/sys/fastinit-test.npy"], tmp_path)
    assert r.returncode == 2 and "cannot write in /sys" in r.stderr
    assert not os.path.exists("/sys/fastinit-test.npy")
