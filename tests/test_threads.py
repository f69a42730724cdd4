"""Thread counts: the cap, OMP_NUM_THREADS, CPU affinity and cgroup quotas; the fill driver's
thread choice, Ctrl-C with a team, huge-page advice; per-thread SIMD paths."""
import mmap
import os
import re
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import fastinit
from fastinit import _cpus, _fill, _runtime

ENV_NO_OMP = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}


def run_python(code: str, env=None, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=ENV_NO_OMP if env is None else env, timeout=timeout)


# ---------------------------------------------------------------- the cap

@pytest.mark.parametrize("n", [0, fastinit.MAX_THREADS + 1, 40_000, 65_535, 1 << 40])
def test_thread_counts_outside_the_cap_are_clear_errors(n):
    with pytest.raises(ValueError, match=f"num_threads must be an integer from 1 to {fastinit.MAX_THREADS}"):
        fastinit.uniform_(np.empty(10), num_threads=n)
    with pytest.raises(ValueError, match=f"n must be an integer from 1 to {fastinit.MAX_THREADS}"):
        fastinit.set_num_threads(n)


def test_set_num_threads_none_restores_the_automatic_default(monkeypatch):
    monkeypatch.setattr(_runtime, "_num_threads", None)
    auto = fastinit.get_num_threads()
    fastinit.set_num_threads(1)
    assert fastinit.get_num_threads() == 1
    fastinit.set_num_threads(None)
    assert fastinit.get_num_threads() == auto


def test_the_cap_itself_runs():
    """MAX_THREADS threads really start (tiny chunks so that every thread gets work) and agree with one."""
    out = run_python(f"""
        import numpy as np, fastinit
        from fastinit import _fill, _runtime
        _fill.CHUNK = _runtime.MIN_PER_THREAD = 256
        a = fastinit.normal_(np.empty({fastinit.MAX_THREADS} * 256, np.float32), seed=5, num_threads={fastinit.MAX_THREADS})
        b = fastinit.normal_(np.empty(a.size, np.float32), seed=5, num_threads=1)
        print(np.array_equal(a, b))
    """)
    assert out.returncode == 0 and out.stdout.split() == ["True"], out.stderr


def test_huge_omp_num_threads_is_a_clear_error_not_an_abort():
    out = run_python("""
        import numpy as np, fastinit
        try:
            fastinit.uniform_(np.empty(1 << 20))
        except ValueError as e:
            print("error:", e)
        print(fastinit.uniform_(np.empty(1 << 20), num_threads=2).min() >= 0)
    """, env={**ENV_NO_OMP, "OMP_NUM_THREADS": "65535"})
    assert out.returncode == 0, out.stderr
    assert "OMP_NUM_THREADS=65535 is above fastinit's limit of 1024 threads" in out.stdout
    assert out.stdout.split()[-1] == "True"


def test_omp_num_threads_parsing():
    assert _runtime._env_num_threads(None) is None
    assert _runtime._env_num_threads("") is None
    assert _runtime._env_num_threads("3") == 3
    assert _runtime._env_num_threads(" 8,2 ") == 8        # nested levels: the first one
    for bad in ("abc", "0", "-2"):
        with pytest.warns(RuntimeWarning, match="not a positive integer; fastinit ignores it"):
            assert _runtime._env_num_threads(bad) is None
    with pytest.raises(ValueError, match="above fastinit's limit"):
        _runtime._env_num_threads(str(fastinit.MAX_THREADS + 1))


# ---------------------------------------------------------------- CPUs available

def make_cgroup(tmp_path, self_cgroup: str, files: dict[str, str]):
    """A fake /sys/fs/cgroup tree and /proc/self/cgroup."""
    root = tmp_path / "cgroup"
    for rel, text in files.items():
        f = root / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text)
    root.mkdir(exist_ok=True)
    proc = tmp_path / "proc_self_cgroup"
    proc.write_text(self_cgroup)
    return str(root), str(proc)


@pytest.mark.parametrize("self_cgroup,files,expected", [
    # cgroup v2, no limit / 4 CPUs / 1.5 CPUs
    ("0::/job\n", {"job/cpu.max": "max 100000\n"}, None),
    ("0::/job\n", {"job/cpu.max": "400000 100000\n"}, 4.0),
    ("0::/job\n", {"job/cpu.max": "150000 100000\n"}, 1.5),
    # a limit on a parent applies to the child
    ("0::/pod/ctr\n", {"pod/cpu.max": "200000 100000", "pod/ctr/cpu.max": "max 100000"}, 2.0),
    ("0::/pod/ctr\n", {"pod/cpu.max": "800000 100000", "pod/ctr/cpu.max": "300000 100000"}, 3.0),
    # inside a container (cgroup namespace): the host path is absent, the mount root has the limit
    ("0::/kubepods/burstable/pod1/abc\n", {"cpu.max": "400000 100000"}, 4.0),
    # cgroup v1, unlimited / limited, in a cpu,cpuacct mount
    ("4:cpu,cpuacct:/docker/x\n", {"cpu,cpuacct/docker/x/cpu.cfs_quota_us": "-1",
                                    "cpu,cpuacct/docker/x/cpu.cfs_period_us": "100000"}, None),
    ("4:cpu,cpuacct:/docker/x\n", {"cpu,cpuacct/docker/x/cpu.cfs_quota_us": "250000",
                                    "cpu,cpuacct/docker/x/cpu.cfs_period_us": "100000"}, 2.5),
    ("2:cpuacct:/\n1:cpu:/\n", {"cpu/cpu.cfs_quota_us": "100000", "cpu/cpu.cfs_period_us": "50000"}, 2.0),
    # garbage and missing files: no limit
    ("0::/job\n", {"job/cpu.max": "lots\n"}, None),
    ("", {}, None),
])
def test_cgroup_cpu_limit(tmp_path, self_cgroup, files, expected):
    root, proc = make_cgroup(tmp_path, self_cgroup, files)
    assert _cpus.cgroup_cpu_limit(root, proc) == expected


def test_cgroup_reader_on_this_machine_does_not_fail():
    limit = _cpus.cgroup_cpu_limit()
    assert limit is None or limit > 0


def test_available_cpus_is_the_affinity_capped_by_the_quota(monkeypatch):
    monkeypatch.setattr(_cpus, "affinity_cpus", lambda: 64)
    assert _cpus.available_cpus(None) == 64
    assert _cpus.available_cpus(4.0) == 4
    assert _cpus.available_cpus(1.5) == 2      # rounded up, as joblib.cpu_count
    assert _cpus.available_cpus(0.2) == 1
    monkeypatch.setattr(_cpus, "affinity_cpus", lambda: 2)
    assert _cpus.available_cpus(4.0) == 2


def test_default_threads_follow_the_quota(monkeypatch):
    if not fastinit.openmp_enabled():
        pytest.skip("serial build: always one thread")
    monkeypatch.setattr(_runtime, "_num_threads", None)
    monkeypatch.setattr(_runtime, "_OMP_NUM_THREADS", None)
    monkeypatch.setattr(_cpus, "affinity_cpus", lambda: 64)
    monkeypatch.setattr(_runtime, "_cgroup_quota", [4.0])
    assert fastinit.get_num_threads() == 4
    monkeypatch.setattr(_runtime, "_cgroup_quota", [None])
    assert fastinit.get_num_threads() == 64
    monkeypatch.setattr(_runtime, "_OMP_NUM_THREADS", "3")   # an explicit OMP_NUM_THREADS wins
    assert fastinit.get_num_threads() == 3


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity on this OS")
def test_default_threads_follow_the_affinity_mask():
    if not fastinit.openmp_enabled():
        pytest.skip("serial build: always one thread")
    cpu = min(os.sched_getaffinity(0))
    out = run_python(f"""
        import os
        os.sched_setaffinity(0, {{{cpu}}})
        import numpy as np, fastinit
        print(fastinit.get_num_threads(), fastinit.available_cpus())
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))!r})   # widened again after import
        print(fastinit.get_num_threads())
    """)
    assert out.returncode == 0, out.stderr
    first, second = out.stdout.splitlines()
    assert first == "1 1"
    assert int(second) == min(len(os.sched_getaffinity(0)), fastinit.MAX_THREADS,
                              _cpus.available_cpus(_cpus.cgroup_cpu_limit()))


# ---------------------------------------------------------------- the fill driver

def test_small_fills_run_on_the_calling_thread():
    m = _runtime.MIN_PER_THREAD
    assert _runtime.threads_for(0, 8) == 1
    assert _runtime.threads_for(m - 1, 8) == 1
    assert _runtime.threads_for(2 * m, 8) == 2
    assert _runtime.threads_for(3 * m + 5, 8) == 3
    assert _runtime.threads_for(100 * m, 8) == 8
    assert _runtime.fill_threads(8, 3 * m + 5) == (3, False)   # the size caps an explicit count too


def test_chunks_shrink_so_that_every_thread_gets_several():
    c, lo, per = _fill.CHUNK, _fill.MIN_CHUNK, _fill.CHUNKS_PER_THREAD
    assert _fill.chunk_for(1 << 30, 2) == c
    assert _fill.chunk_for(1 << 30, 1) == c and _fill.chunk_for(1000, 1) == c   # one thread: nothing to share
    assert _fill.chunk_for(1 << 24, 64) == (1 << 24) // (64 * per)             # 16 chunks per thread
    assert _fill.chunk_for(1 << 24, 64) % 64 == 0
    assert _fill.chunk_for(1 << 20, 1000) == lo                                # never below MIN_CHUNK


@pytest.mark.parametrize("threads", [2, 3, 7])
def test_uneven_ranges_and_more_threads_than_chunks(threads, monkeypatch):
    """Ranges of unequal length, a last partial chunk, more threads than chunks: all equal one thread."""
    monkeypatch.setattr(_fill, "CHUNK", 1000)
    monkeypatch.setattr(_runtime, "MIN_PER_THREAD", 1000)
    for n in (999, 1000, 5_001, 12_345):
        ref = fastinit.normal_(np.empty(n, np.float32), seed=4, num_threads=1)
        got = fastinit.normal_(np.full(n, np.nan, np.float32), seed=4, num_threads=threads)
        assert np.array_equal(got, ref), n


def test_fills_in_other_threads_are_not_stopped_by_the_main_threads_signals():
    """Only the main thread polls for signals; a worker thread's fill completes and is correct."""
    ref = fastinit.uniform_(np.empty(1 << 20, np.float32), seed=9, num_threads=1)
    result = {}
    t = threading.Thread(target=lambda: result.setdefault("a", fastinit.uniform_(
        np.empty(1 << 20, np.float32), seed=9, num_threads=2)))
    t.start()
    t.join()
    assert np.array_equal(result["a"], ref)


def _vm_flags(address: int) -> list[str]:
    """VmFlags of the mapping holding address, from /proc/self/smaps."""
    current = None
    with open("/proc/self/smaps") as f:
        for line in f:
            m = re.match(r"^([0-9a-f]+)-([0-9a-f]+) ", line)
            if m:
                current = int(m.group(1), 16) <= address < int(m.group(2), 16)
            elif current and line.startswith("VmFlags:"):
                return line.split()[1:]
    return []


def _thp_possible() -> bool:
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            return "[never]" not in f.read()
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux") or not _thp_possible(), reason="no transparent huge pages")
def test_large_fills_advise_huge_pages():
    """A fill of fresh anonymous memory (as torch allocates it) marks it MADV_HUGEPAGE ("hg")."""
    size = 16 << 20
    with mmap.mmap(-1, size) as m:
        buf = np.frombuffer(m, np.float32)
        middle = buf.ctypes.data + size // 2
        assert "hg" not in _vm_flags(middle)
        fastinit.uniform_(buf, seed=1)
        assert "hg" in _vm_flags(middle)
        del buf
    small = np.empty(1024, np.float32)   # below HUGEPAGE_MIN_BYTES: left alone (and too small anyway)
    assert not _fill.advise_hugepages(small.ctypes.data, small.nbytes)


@pytest.mark.skipif(not sys.platform.startswith("linux") or not _thp_possible(), reason="no transparent huge pages")
def test_huge_page_advice_can_be_turned_off():
    out = run_python("""
        import mmap, re, numpy as np, fastinit
        with mmap.mmap(-1, 16 << 20) as m:
            buf = np.frombuffer(m, np.float32)
            fastinit.uniform_(buf, seed=1)
            middle, inside, flags = buf.ctypes.data + (8 << 20), False, []
            for line in open("/proc/self/smaps"):
                r = re.match(r"^([0-9a-f]+)-([0-9a-f]+) ", line)
                if r:
                    inside = int(r.group(1), 16) <= middle < int(r.group(2), 16)
                elif inside and line.startswith("VmFlags:"):
                    flags = line.split()[1:]
            print("hg" in flags, len(flags) > 0)
            del buf
    """, env={**ENV_NO_OMP, "FASTINIT_MADVISE_HUGEPAGE": "0"})
    assert out.returncode == 0 and out.stdout.split() == ["False", "True"], out.stderr


def test_large_fill_of_a_memmap(tmp_path):
    """File-backed memory refuses MADV_HUGEPAGE (EINVAL): ignored, the fill is complete."""
    n = (_fill.HUGEPAGE_MIN_BYTES // 4) * 2
    mm = np.lib.format.open_memmap(tmp_path / "big.npy", mode="w+", dtype=np.float32, shape=(n,))
    _fill.advise_hugepages(mm.ctypes.data, mm.nbytes)      # refused or not: no error
    fastinit.normal_(mm, seed=2)
    assert np.array_equal(mm, fastinit.normal_(np.empty(n, np.float32), seed=2))
    del mm


# ---------------------------------------------------------------- SIMD path per thread

def test_simd_path_used_is_per_thread(monkeypatch):
    paths = fastinit.available_simd_paths()
    if len(paths) < 2:
        pytest.skip("one SIMD path only")
    process_path = fastinit.simd_path()
    a_path, b_path = "scalar", paths[-1]
    used = {}
    real_fill = _fill.fill

    def recording_fill(*args):
        used.setdefault(threading.current_thread().name, set()).add(args[-1])
        return real_fill(*args)

    monkeypatch.setattr(_fill, "fill", recording_fill)
    a_inside, b_inside, a_left = threading.Barrier(2), threading.Event(), threading.Event()
    seen = {}

    def a():
        with fastinit.simd_path_used(a_path):
            a_inside.wait()                       # both threads inside their blocks
            fastinit.uniform_(np.empty(100), seed=1)
            seen["a in"] = fastinit.simd_path()
        a_left.set()                              # A leaves first, B still inside
        b_inside.wait()
        seen["a out"] = fastinit.simd_path()

    def b():
        with fastinit.simd_path_used(b_path):
            a_inside.wait()
            a_left.wait()
            fastinit.uniform_(np.empty(100), seed=1)
            seen["b in"] = fastinit.simd_path()
        b_inside.set()
        seen["b out"] = fastinit.simd_path()

    threads = [threading.Thread(target=f, name=f.__name__) for f in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert seen == {"a in": a_path, "b in": b_path, "a out": process_path, "b out": process_path}
    codes = {name: code for name, code in _runtime._PATHS.items()}
    assert used == {"a": {codes[a_path]}, "b": {codes[b_path]}}
    assert fastinit.simd_path() == process_path


def test_simd_path_used_nests_and_restores():
    before = fastinit.simd_path()
    with fastinit.simd_path_used("scalar"):
        with fastinit.simd_path_used("auto"):
            assert _runtime.path_code() == _fill.best_path()
        assert fastinit.simd_path() == "scalar"
    assert fastinit.simd_path() == before
    with pytest.raises(ValueError, match="not available"):
        with fastinit.simd_path_used("sse9"):
            pass
    assert fastinit.simd_path() == before


# ---------------------------------------------------------------- the automatic choice on a busy machine

from fastinit._adaptive import TeamChooser  # noqa: E402

BIG = TeamChooser.MIN_ELEMENTS
KIND = "normal float32"


class Machine:
    """A fake machine for the chooser: fills of BIG values take team_ms / single_ms (times a
    lognormal noise of sigma), the team gets team_cpus CPUs, and the clock advances by each fill."""

    def __init__(self, team_ms, single_ms, team_cpus, sigma=0.0, seed=0, bimodal=False):
        self.now = 0.0
        self.set(team_ms, single_ms, team_cpus)
        self.sigma, self.rng, self.bimodal = sigma, np.random.default_rng(seed), bimodal
        self.chooser = TeamChooser(clock=lambda: self.now)

    def set(self, team_ms, single_ms, team_cpus):
        self.team_ms, self.single_ms, self.team_cpus = team_ms, single_ms, team_cpus

    def fill(self, kind=KIND, max_threads=2):
        """One automatic fill: (threads it used, its wall seconds)."""
        nt = self.chooser.choose(max_threads, BIG, kind)
        self.noise = self.rng.lognormal(0.0, self.sigma) * (self.rng.choice([1.0, 2.0]) if self.bimodal else 1.0)
        wall = (self.team_ms if nt > 1 else self.single_ms) / 1e3 * self.noise
        cpus = self.team_cpus if nt > 1 else min(1.0, self.team_cpus)
        self.now += wall
        self.chooser.record(BIG, nt, cpu_seconds=cpus * wall, wall_seconds=wall, kind=kind)
        return nt, wall

    def run(self, fills, **kw):
        return [self.fill(**kw) for _ in range(fills)]


def teams(fills):
    return sum(nt > 1 for nt, _ in fills)


def test_chooser_starts_with_the_team_and_never_tries_one_thread_on_a_quiet_machine():
    m = Machine(team_ms=10, single_ms=19, team_cpus=1.9)
    assert teams(m.run(200)) == 200                   # a team getting 1.9 CPUs: one thread is never tried
    assert m.chooser.prefers_team(KIND, BIG) and m.chooser.prefers_team()


def test_chooser_falls_back_to_one_thread_when_the_team_is_slower_and_brings_it_back():
    """Foreign load in other sessions: the team gets 0.7 CPUs and takes 1.2x one thread's time."""
    m = Machine(team_ms=24, single_ms=20, team_cpus=0.7)
    busy = m.run(400)
    assert busy[0][0] == 2 and busy[1][0] == 2 and busy[2][0] == 1   # the team (warm-up, then measured), then one thread
    assert not m.chooser.prefers_team(KIND, BIG)
    assert 3 <= teams(busy) <= 400 // TeamChooser.EXPLORE_EVERY   # re-tried, ever more rarely
    assert teams(busy[200:]) <= 200 // TeamChooser.EXPLORE_MAX + 1
    # the machine quiets down: the team (19 -> 10 ms, 1.9 CPUs) is back within a few re-tries
    m.set(team_ms=10, single_ms=19, team_cpus=1.9)
    quiet = m.run(TeamChooser.EXPLORE_MAX + 4 * TeamChooser.EXPLORE_EVERY)
    assert [nt for nt, _ in quiet[-TeamChooser.EXPLORE_EVERY:]] == [2] * TeamChooser.EXPLORE_EVERY
    assert m.chooser.prefers_team(KIND, BIG)


def test_a_kinds_first_fill_is_a_warm_up_not_a_sample():
    """A first fill that pays for page faults (3x slower) must not make the team look slower
    than one thread on a quiet machine."""
    m = Machine(team_ms=30, single_ms=19, team_cpus=1.2)
    m.fill()
    m.set(team_ms=10, single_ms=19, team_cpus=1.2)    # 1.2 CPUs: one-thread re-tries are allowed
    fills = m.run(50)
    assert m.chooser.prefers_team(KIND, BIG)
    assert teams(fills) >= 50 - 3


def test_chooser_keeps_a_team_that_beats_one_thread_even_below_one_cpu():
    """Foreign load in our own session: the team gets 0.45 CPUs yet is 20% faster than one thread."""
    m = Machine(team_ms=24, single_ms=30, team_cpus=0.45)
    fills = m.run(300)
    assert m.chooser.prefers_team(KIND, BIG)
    assert teams(fills) >= 300 - 300 // TeamChooser.EXPLORE_EVERY


def test_chooser_gives_a_close_race_to_one_thread():
    """The team must be clearly faster (MARGIN): 5% faster is not enough."""
    m = Machine(team_ms=19, single_ms=20, team_cpus=0.9)
    m.run(100)
    assert not m.chooser.prefers_team(KIND, BIG)


@pytest.mark.parametrize("team_ms, single_ms, team_cpus", [(24, 20, 0.7), (36, 20, 0.4), (20, 20, 0.8)])
def test_default_median_is_no_worse_than_one_thread_under_noise(team_ms, single_ms, team_cpus):
    """Issue 10 on a simulated busy machine with 25% noise per fill: the default's median time
    is on average (over 20 runs) at most 3% above that of one-thread fills run under the same
    noise (interleaved with them), and never 25% above: re-tries of the slower team stay out of
    the median."""
    ratios = []
    for seed in range(20):
        m = Machine(team_ms, single_ms, team_cpus, sigma=0.25, seed=seed)
        default, one = [], []
        for _ in range(200):
            default.append(m.fill()[1])
            one.append(single_ms / 1e3 * m.noise)
        ratios.append(np.median(default) / np.median(one))
    assert np.mean(ratios) <= 1.03 and max(ratios) <= 1.25


def test_bimodal_fill_times_are_not_a_load_change():
    """A busy machine where each fill either gets a CPU to itself or shares one (times 1x or 2x at
    random, as measured with foreign work in other sessions).  The team is 1.8x slower: jumps
    between the two modes must not count as load changes, so the team is re-tried about every
    EXPLORE_MAX fills, not every few."""
    for seed in range(10):
        m = Machine(team_ms=36, single_ms=20, team_cpus=0.4, sigma=0.05, seed=seed, bimodal=True)
        m.run(100)
        assert teams(m.run(400)) <= 400 // (TeamChooser.EXPLORE_MAX // 2)


def test_default_mean_is_no_worse_than_one_thread_under_bimodal_noise():
    """The same kind of machine with a team only 15% slower, the hardest case: re-tries then
    often look favourable by chance.  Judged by means (the median of a half-and-half bimodal
    sample is a coin toss between the modes): the default costs at most 6% more than one thread."""
    for seed in range(10):
        m = Machine(team_ms=23, single_ms=20, team_cpus=0.8, sigma=0.05, seed=seed, bimodal=True)
        m.run(100)
        default, one = [], []
        for _ in range(400):
            default.append(m.fill()[1])
            one.append(m.single_ms / 1e3 * m.noise)
        assert np.mean(default) <= 1.06 * np.mean(one)


def test_chooser_re_tries_at_once_when_the_load_changes():
    """One thread in use, re-tries spaced EXPLORE_MAX apart; one thread becomes 2x faster (the
    foreign load stopped): the team is re-tried after EXPLORE_SECONDS, not EXPLORE_MAX fills."""
    m = Machine(team_ms=40, single_ms=20, team_cpus=0.4)
    m.run(300)
    assert m.chooser._kinds[TeamChooser.kind_of(KIND, BIG)].every == TeamChooser.EXPLORE_MAX
    m.set(team_ms=5.5, single_ms=10, team_cpus=1.8)
    start = m.now
    first_team = next(i for i, (nt, _) in enumerate(m.run(TeamChooser.EXPLORE_MAX)) if nt > 1)
    assert first_team < TeamChooser.EXPLORE_MAX // 2 and m.now - start < 2 * TeamChooser.EXPLORE_SECONDS


def test_chooser_re_tries_rarely_when_fills_are_short():
    """Fills of 1 ms on a busy machine: at most one re-try of the team every EXPLORE_SECONDS."""
    m = Machine(team_ms=1.5, single_ms=1.0, team_cpus=0.5)
    fills = m.run(1000)                                   # about one second of fills
    assert 2 <= teams(fills) <= m.now / TeamChooser.EXPLORE_SECONDS + 2


def test_chooser_judges_each_kind_of_fill_on_its_own():
    m = Machine(team_ms=24, single_ms=20, team_cpus=0.7)
    m.run(50, kind="normal float32")
    m.set(team_ms=10, single_ms=19, team_cpus=1.9)
    m.run(50, kind="uniform float32")
    assert m.chooser.prefers_team("uniform float32", BIG)
    assert not m.chooser.prefers_team("normal float32", BIG)
    assert m.chooser.prefers_team("normal float32", 4 * BIG)   # another size: not measured, follows the last choice
    assert m.chooser.choose(2, 4 * BIG, "trunc float32") == 2  # a new kind follows the last choice (team)
    m.set(team_ms=24, single_ms=20, team_cpus=0.7)
    m.run(20, kind="normal float32")
    assert m.chooser.choose(2, BIG, "trunc float32") == 1      # ... whichever it is
    assert m.chooser.choose(2, 10, "uniform float32") == 1     # as do fills too small to be measured
    assert m.chooser.choose(2, BIG) == 1                       # and work other than a fill
    for i in range(2 * TeamChooser.MAX_KINDS):
        m.run(1, kind=f"kind {i}")
    assert len(m.chooser._kinds) == TeamChooser.MAX_KINDS


def test_chooser_ignores_small_fills_and_single_cpu_machines():
    c = TeamChooser()
    c.record(BIG - 1, 2, cpu_seconds=0.01, wall_seconds=1.0, kind=KIND)
    assert not c._kinds and c.choose(4, 10, KIND) == 4
    assert c.choose(1, BIG, KIND) == 1
    assert "nothing measured" in c.describe()


def test_explicit_thread_counts_are_not_adapted(monkeypatch):
    monkeypatch.setattr(_runtime, "_num_threads", None)
    monkeypatch.setattr(_runtime, "_OMP_NUM_THREADS", None)
    busy = Machine(team_ms=30, single_ms=20, team_cpus=0.5)
    busy.run(3)
    monkeypatch.setattr(_runtime, "_chooser", busy.chooser)
    assert _runtime.fill_threads(3, BIG, KIND) == (3, False)
    if fastinit.openmp_enabled() and _runtime.available_cpus() > 1:
        assert _runtime.fill_threads(None, BIG, KIND) == (1, True)
    monkeypatch.setattr(_runtime, "_num_threads", 2)
    assert _runtime.fill_threads(None, BIG, KIND) == (2, False)


def test_automatic_fills_feed_the_chooser(monkeypatch):
    if not fastinit.openmp_enabled() or _runtime.available_cpus() < 2:
        pytest.skip("one CPU: nothing to choose")
    monkeypatch.setattr(_runtime, "_num_threads", None)
    monkeypatch.setattr(_runtime, "_OMP_NUM_THREADS", None)
    fresh = TeamChooser()
    monkeypatch.setattr(_runtime, "_chooser", fresh)
    fastinit.uniform_(np.empty(BIG, np.float32), seed=1, num_threads=2)    # explicit: not measured
    assert not fresh._kinds
    for _ in range(2):   # automatic: measured, after each kind's first fill (a warm-up)
        fastinit.uniform_(np.empty(BIG, np.float32), seed=1)
        fastinit.normal_(np.empty(BIG, np.float64), seed=1)
    kinds = {kind: fresh._kinds[TeamChooser.kind_of(kind, BIG)] for kind in ("uniform float32", "normal float64")}
    assert all(len(k.team) + len(k.single) == 1 for k in kinds.values())
    assert "normal float64" in fresh.describe() and "of the 2 kinds measured" in fresh.describe()
