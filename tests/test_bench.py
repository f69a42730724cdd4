"""The benchmark's options, medians, sections (default vs one thread, the size sweep), busy-machine
warning, and the shared measuring code (interleaved rounds, bootstrap intervals, tables)."""
import io
import subprocess
import sys

import pytest

from fastinit import bench
from fastinit.bench import cases, measure, report


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
    monkeypatch.setattr(cases, "optional_torch", lambda: None)   # (tests/test_cli.py runs the torch rows)
    monkeypatch.setattr(cases, "ORTHO_SHAPE", (64, 32))
    monkeypatch.setattr(cases, "ORTHO_TALL", (96, 32))
    result = bench.run(["--quick", "--size", "8192", "--repeat", "2", "--no-progress"])
    out = capsys.readouterr().out
    for row in result["results"]:
        assert row["seconds"] <= row["seconds_median"]
        assert row["msamples_per_s_median"] > 0
    kinds = {(r["kernel"], r["threads"]) for r in result["default_vs_one_thread"]}
    assert kinds == {("uniform_", "default"), ("uniform_", 1), ("normal_", "default"), ("normal_", 1)}
    assert all(r["rounds"] >= cases.DEFAULT_VS_ONE_ROUNDS for r in result["default_vs_one_thread"])
    assert "default threads vs 1 thread" in out and "median" in out
    assert result["config"]["fastinit_threads"] == "automatic"
    assert set(result["machine_load"]) == {"other_cpus", "steal_share", "load_average", "busy"}
    assert {"orthogonal_", "orthogonal_ tall"} <= {r["kernel"] for r in result["results"]}
    assert "page faults" in {r["kernel"] for r in result["results"]}
    assert "the page faults alone take" in out and "bounds it at" in out


def test_fresh_memory_bound_is_in_place_time_over_in_place_plus_faults():
    assert cases.fresh_memory_bound(1.0, 1.0) == 0.5
    assert cases.fresh_memory_bound(3.0, 1.0) == 0.75
    assert cases.fresh_memory_bound(2.0, 0.0) == 1.0


def test_busy_warning():
    quiet = {"other_cpus": 0.05, "steal_share": 0.0, "load_average": 0.3, "busy": False}
    assert measure.busy_warning(quiet) is None
    busy = {"other_cpus": 1.7, "steal_share": 0.0, "load_average": 3.9, "busy": True}
    assert "other processes used 1.70 CPUs" in measure.busy_warning(busy)


def test_machine_load_sees_another_process(tmp_path):
    """A busy loop in another process while we sleep: counted as other processes' CPU time."""
    load = measure.MachineLoad()
    if load.start is None:
        pytest.skip("no /proc/stat")
    proc = subprocess.Popen([sys.executable, "-c", "import time\nt = time.time()\nwhile time.time() - t < 0.6: pass"])
    proc.wait()
    report = load.report()
    assert report["other_cpus"] > 0.2 and report["busy"]


def test_the_size_sweep_is_printed(capsys, monkeypatch):
    """Every size the sweep measures is a row of its table, best and median (issue 19)."""
    monkeypatch.setattr(cases, "optional_torch", lambda: None)
    monkeypatch.setattr(cases, "ORTHO_SHAPE", (64, 32))
    monkeypatch.setattr(cases, "ORTHO_TALL", (96, 32))
    monkeypatch.setattr(cases, "SWEEP_SIZES", (1024, 4096, 1 << 16))
    result = bench.run(["--quick", "--size", "8192", "--repeat", "1", "--no-progress"])
    out = capsys.readouterr().out
    assert [r["n"] for r in result["size_sweep"]] == [1024, 4096]
    lines = out.splitlines()
    start = lines.index("size sweep (float32 normal_, Msamples/s):")
    assert lines[start + 1].split() == ["elements", "best", "median"]
    for r, line in zip(result["size_sweep"], lines[start + 2:start + 4]):
        assert line.split() == [f"{r['n']:,}", f"{r['msamples_per_s']:.0f}", f"{r['msamples_per_s_median']:.0f}"]
    assert lines[start + 4] == "extra peak memory during a fill:"    # (65,536 is above --size)


def test_rounds_interleave_in_each_order():
    calls, log = {}, []
    for name in "abc":
        calls[name] = (lambda n=name: log.append(n) or n)
    assert measure.rounds(calls, 2) == {"a": ["a", "a"], "b": ["b", "b"], "c": ["c", "c"]}
    assert log == list("abcabc")
    log.clear()
    measure.rounds(calls, 3, order="alternate")
    assert log == list("abccbaabc")
    log.clear()
    measure.rounds(calls, 6, order="rotate")
    assert sorted("".join(log[i:i + 3]) for i in range(0, 18, 3)) == ["abc", "acb", "bac", "bca", "cab", "cba"]
    seen = []
    measure.rounds(calls, 2, before=seen.append, after_round=lambda r, results: seen.append(r))
    assert seen == ["a", "b", "c", 0, "a", "b", "c", 1]
    with pytest.raises(ValueError, match="order"):
        measure.rounds(calls, 1, order="random")


def test_time_rounds_and_cases():
    times = measure.time_rounds({"x": lambda: sum(range(1000))}, 5)
    assert len(times["x"]) == 5 and times["x"].best <= times["x"].median <= max(times["x"])
    once = measure.Case("k", "lib", "float32", 10, lambda: None, rounds=1)
    every = measure.Case("k", "lib", "float32", 10, lambda: None, threads=2)
    measure.run_cases([once, every], 3)
    assert len(once.times) == 1 and len(every.times) == 3 and every.name == "lib k float32, 2 threads"
    with pytest.raises(ValueError, match="same name"):
        measure.run_cases([once, measure.Case("k", "lib", "float32", 10, lambda: None)], 1)


def test_ratio_interval_brackets_the_ratio_of_medians():
    one = [2.0, 2.1, 1.9, 2.0, 2.2, 1.8, 2.0]
    default = [1.0, 1.05, 0.95, 1.0, 1.1, 0.9, 1.0]
    lo, hi = measure.ratio_interval(one, default)
    assert lo <= 2.0 <= hi and hi - lo < 0.5
    assert measure.ratio_interval(one, default) == (lo, hi)   # seeded


def test_table_aligns_columns():
    out = io.StringIO()
    report.table(["name", "seconds"], [["a", "1.5"], ["longer", "12.25"], ["none", None]], rule=True, indent="  ",
                 out=out)
    assert out.getvalue().splitlines() == ["  name    seconds", "  ---------------", "  a           1.5",
                                           "  longer    12.25", "  none"]
