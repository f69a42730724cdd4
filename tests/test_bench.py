"""The benchmark's options, medians, default-vs-one-thread section and busy-machine warning."""
import subprocess
import sys

import pytest

from fastinit import bench


@pytest.mark.parametrize("option,message", [
    (["--threads", "0"], "argument --threads: must be at least 1; got 0"),
    (["--size", "0"], "argument --size: must be at least 1; got 0"),
    (["--repeat", "0"], "argument --repeat: must be at least 1; got 0"),
    (["--repeat", "-3"], "argument --repeat: must be at least 1; got -3"),
    (["--threads", "100000"], "argument --threads: must be at most 1024"),
    (["--size", "lots"], "argument --size: expected a positive integer; got 'lots'"),
])
def test_bad_numbers_are_errors_not_defaults(option, message, capsys):
    with pytest.raises(SystemExit) as exc:
        bench.run(option + ["--no-progress"])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_help_is_plain_text():
    out = subprocess.run([sys.executable, "-m", "fastinit", "bench", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    assert "``" not in out.stdout and ":py" not in out.stdout
    assert "best and median" in out.stdout


def test_medians_and_the_default_vs_one_thread_section(capsys, monkeypatch):
    monkeypatch.setattr(bench, "_torch", lambda: None)          # (tests/test_cli.py runs the torch rows)
    monkeypatch.setattr(bench, "ORTHO_SHAPE", (64, 32))
    monkeypatch.setattr(bench, "ORTHO_TALL", (96, 32))
    result = bench.run(["--quick", "--size", "8192", "--repeat", "2", "--no-progress"])
    out = capsys.readouterr().out
    for row in result["results"]:
        assert row["seconds"] <= row["seconds_median"]
        assert row["msamples_per_s_median"] > 0
    kinds = {(r["kernel"], r["threads"]) for r in result["default_vs_one_thread"]}
    assert kinds == {("uniform_", "default"), ("uniform_", 1), ("normal_", "default"), ("normal_", 1)}
    assert all(r["rounds"] >= bench.DEFAULT_VS_ONE_ROUNDS for r in result["default_vs_one_thread"])
    assert "default threads vs 1 thread" in out and "median" in out
    assert result["config"]["fastinit_threads"] == "automatic"
    assert set(result["machine_load"]) == {"other_cpus", "steal_share", "load_average", "busy"}
    assert {"orthogonal_", "orthogonal_ tall"} <= {r["kernel"] for r in result["results"]}
    assert "page faults" in {r["kernel"] for r in result["results"]}
    assert "the page faults alone take" in out and "bounds it at" in out


def test_fresh_memory_bound_is_in_place_time_over_in_place_plus_faults():
    assert bench.fresh_memory_bound(1.0, 1.0) == 0.5
    assert bench.fresh_memory_bound(3.0, 1.0) == 0.75
    assert bench.fresh_memory_bound(2.0, 0.0) == 1.0


def test_busy_warning():
    quiet = {"other_cpus": 0.05, "steal_share": 0.0, "load_average": 0.3, "busy": False}
    assert bench.busy_warning(quiet) is None
    busy = {"other_cpus": 1.7, "steal_share": 0.0, "load_average": 3.9, "busy": True}
    assert "other processes used 1.70 CPUs" in bench.busy_warning(busy)


def test_machine_load_sees_another_process(tmp_path):
    """A busy loop in another process while we sleep: counted as other processes' CPU time."""
    load = bench.MachineLoad()
    if load.start is None:
        pytest.skip("no /proc/stat")
    proc = subprocess.Popen([sys.executable, "-c", "import time\nt = time.time()\nwhile time.time() - t < 0.6: pass"])
    proc.wait()
    report = load.report()
    assert report["other_cpus"] > 0.2 and report["busy"]
