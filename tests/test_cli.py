"""The command line: python -m fastinit --help, init (with Ctrl-C) and bench --quick."""
import json
import os
import signal
import stat
import subprocess
import sys

import numpy as np
import pytest

import fastinit
from fastinit import bench
from conftest import signal_once_writing


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
    assert "wrote t.npy" in r.stdout and "seed=7" in r.stdout
    assert r.stdout.rstrip().endswith("GiB/s)") and " GB" not in r.stdout     # one unit: GiB, as the progress bar
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


@pytest.mark.parametrize("shape,message", [
    ("10,ten", "--shape takes comma-separated non-negative integers, e.g. 10000000,128 (or 10000000x128); got '10,ten'"),
    ("10,,3", "--shape '10,,3' has an empty entry"),
    (",1000,64", "--shape ',1000,64' has an empty entry"),
    ("1000,64,", "--shape '1000,64,' has an empty entry"),
    ("", "--shape is empty"),
    ("-5,3", "--shape entries must be non-negative; got -5 in '-5,3'"),
    ("10,-3", "--shape entries must be non-negative; got -3"),
    ("2.5,3", "--shape takes comma-separated non-negative integers"),
])
@pytest.mark.parametrize("joined", [False, True])
def test_init_bad_shape(tmp_path, shape, message, joined):
    shape_args = [f"--shape={shape}"] if joined else ["--shape", shape]
    r = run(["init", *shape_args, "--scheme", "normal", "--out", "t.npy"], tmp_path)
    assert r.returncode == 2 and message in r.stderr, r.stderr
    assert "comma-separated non-negative integers, e.g. 10000000,128" in r.stderr   # the accepted form
    assert os.listdir(tmp_path) == []


def test_init_shape_with_x(tmp_path):
    r = run(["init", "--shape", "20x3", "--scheme", "normal", "--seed", "1", "--out", "t.npy"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert np.array_equal(np.load(tmp_path / "t.npy"), fastinit.init((20, 3), "normal", seed=1))


@pytest.mark.parametrize("scheme,shape,params", [
    ("zeros", (4, 5), {}), ("ones_", (4, 5), {}), ("constant_", (4, 5), {"val": 3}), ("eye_", (4, 5), {}),
    ("dirac_", (4, 4, 3), {}), ("identity", (4, 5), {"gain": 2.0})])
def test_init_non_random_schemes(tmp_path, scheme, shape, params):
    r = run(["init", "--shape", ",".join(map(str, shape)), "--scheme", scheme, "--out", "t.npy",
             *(f"{k}={v}" for k, v in params.items())], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "seed=" not in r.stdout
    assert np.array_equal(np.load(tmp_path / "t.npy"), fastinit.init(shape, scheme, **params))
    os.remove(tmp_path / "t.npy")
    r = run(["init", "--shape", ",".join(map(str, shape)), "--scheme", scheme, "--out", "t.npy", "--seed", "1",
             *(f"{k}={v}" for k, v in params.items())], tmp_path)
    assert r.returncode == 2 and f"--seed: scheme {scheme!r} is not random and takes no seed" in r.stderr
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("args,message", [
    (["--dtype", "bfloat16"], "bfloat16 has no .npy type"),
    (["--dtype", "int8"], "'int8' is not a .npy type fastinit writes; choose float16, float32, float64"),
    (["dtype=float64"], "dtype= is not a scheme parameter here: use --dtype"),
    (["seed=3"], "seed= is not a scheme parameter here: use --seed"),
    (["num_threads=2"], "num_threads= is not a scheme parameter here: use --threads"),
    (["std=0.1", "std=0.2"], "parameter std= given twice"),
    (["std=nan"], "std must be a finite number; got nan"),            # nan parsed as a float, not a string
    (["mean=-inf"], "mean must be a finite number; got -inf"),
    (["--threads", "0"], "--threads takes a positive integer; got '0'"),
])
def test_init_bad_options(tmp_path, args, message):
    r = run(["init", "--shape", "10,10", "--scheme", "normal", "--out", "t.npy", *args], tmp_path)
    assert r.returncode == 2 and message in r.stderr, r.stderr
    assert os.listdir(tmp_path) == []


def test_init_negative_gain_names_gain(tmp_path):
    r = run(["init", "--shape", "10,10", "--scheme", "xavier_uniform", "--out", "t.npy", "gain=-1"], tmp_path)
    assert r.returncode == 2 and "error: gain must be >= 0; got -1.0" in r.stderr and "low" not in r.stderr
    assert os.listdir(tmp_path) == []


def test_init_refuses_a_file_that_cannot_fit(tmp_path):
    r = run(["init", "--shape", "140737488355328", "--scheme", "normal", "--out", "t.npy"], tmp_path)
    assert r.returncode == 2
    assert "error: cannot write t.npy: it needs 524288.00 GiB" in r.stderr and "nothing was written" in r.stderr
    assert "[Errno" not in r.stderr
    assert os.listdir(tmp_path) == []


def test_init_file_modes(tmp_path):
    r = run(["init", "--shape", "10", "--scheme", "normal", "--out", "t.npy"], tmp_path,
            preexec_fn=lambda: os.umask(0o022))
    assert r.returncode == 0 and stat.S_IMODE((tmp_path / "t.npy").stat().st_mode) == 0o644
    os.chmod(tmp_path / "t.npy", 0o604)
    r = run(["init", "--shape", "10", "--scheme", "normal", "--out", "t.npy", "--force"], tmp_path)
    assert r.returncode == 0 and stat.S_IMODE((tmp_path / "t.npy").stat().st_mode) == 0o604


def test_init_through_a_symlink(tmp_path):
    (tmp_path / "t.npy").write_bytes(b"old")
    (tmp_path / "link.npy").symlink_to("t.npy")
    r = run(["init", "--shape", "10", "--scheme", "normal", "--seed", "2", "--out", "link.npy", "--force"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "link.npy").is_symlink()
    assert np.array_equal(np.load(tmp_path / "t.npy"), fastinit.init((10,), "normal", seed=2))
    assert sorted(os.listdir(tmp_path)) == ["link.npy", "t.npy"]


@pytest.mark.parametrize("sig,message", [
    (signal.SIGINT, "interrupted: big.npy was not written"),
    (signal.SIGTERM, "stopped by SIGTERM: big.npy was not written"),
    (signal.SIGHUP, "stopped by SIGHUP: big.npy was not written"),
], ids=["SIGINT", "SIGTERM", "SIGHUP"])
def test_init_stopped_leaves_nothing(tmp_path, sig, message):
    """Ctrl-C, or a job scheduler's SIGTERM/SIGHUP: the temporary is removed, a message says so,
    and the process ends by that signal (status 128 + n in a shell, so a script running it stops)."""
    env = {**os.environ, "FASTINIT_SIMD": "scalar"}        # slow path: the write takes many seconds
    proc = subprocess.Popen([sys.executable, "-m", "fastinit", "init", "--shape", "400000000", "--scheme",
                             "trunc_normal", "--out", "big.npy", "--threads", "1", "--no-progress"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = signal_once_writing(proc, tmp_path, sig)
    assert proc.returncode == -sig, err
    assert message in err
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
    monkeypatch.setattr(bench.cases, "optional_torch", lambda: None)
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


def test_version_and_thread_help():
    out = subprocess.run([sys.executable, "-m", "fastinit", "--version"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == f"fastinit {fastinit.__version__}"
    helped = subprocess.run([sys.executable, "-m", "fastinit", "init", "--help"], capture_output=True, text=True,
                            timeout=120)
    assert "default: automatic" in helped.stdout and "all cores" not in helped.stdout


@pytest.mark.parametrize("shape", ["30,8", "30x8", "30X8", " 30 , 8 "])
def test_shape_separators(tmp_path, shape):
    out = run(["init", "--shape", shape, "--scheme", "zeros", "--out", "t.npy", "--no-progress"], cwd=tmp_path,
              timeout=120)
    assert out.returncode == 0, out.stderr
    assert np.load(tmp_path / "t.npy").shape == (30, 8)


def test_every_error_has_argparses_format(tmp_path):
    """Usage errors (argparse's own, an unknown scheme) and failures of the run alike read
    '<prog>: error: <what>', exit status 2, nothing written."""
    cases = [(["init", "--shape", "10", "--scheme", "nope", "--out", "t.npy"], "python -m fastinit init: error: --scheme: unknown scheme 'nope'"),
             (["init", "--shape", "10", "--scheme", "eye", "--out", "t.npy"],
              "python -m fastinit init: error: Only tensors with 2 dimensions are supported"),
             (["init", "--shape", "10x", "--scheme", "normal", "--out", "t.npy"], "python -m fastinit init: error: argument --shape"),
             (["frob"], "python -m fastinit: error: unknown command 'frob' (choose from bench, init, schemes)")]
    for args, message in cases:
        r = run(args, tmp_path)
        assert r.returncode == 2 and message in r.stderr, (args, r.stderr)
        assert not any(line.startswith("error:") for line in r.stderr.splitlines()), r.stderr
    assert os.listdir(tmp_path) == []


def test_schemes_lists_names_and_one_schemes_parameters(tmp_path):
    r = run(["schemes"], tmp_path)
    assert r.returncode == 0
    assert sorted(line.split()[0] for line in r.stdout.splitlines()) == fastinit.schemes()
    r = run(["schemes", "kaiming_uniform"], tmp_path)
    assert r.returncode == 0 and "random (takes --seed)" in r.stdout
    assert "parameters (name=value): a=0, mode='fan_in', nonlinearity='leaky_relu'" in r.stdout
    r = run(["schemes", "eye"], tmp_path)
    assert "eye: not random" in r.stdout and "parameters (name=value): none" in r.stdout
    assert "python -m fastinit schemes NAME" in " ".join(run(["init", "--help"], tmp_path).stdout.split())
