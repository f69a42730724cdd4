"""Fork safety: a process forked after fastinit ran a thread team (libgomp's pool does not survive
fork) fills on one thread, with the parent's values, through every entry point; seed=None never
repeats across forked processes.  Each case runs in a subprocess of its own session, killed with
its whole process group when it overruns (a regression would hang, not fail)."""
import os
import signal
import subprocess
import sys
import textwrap

import pytest

# The parent runs a team (num_threads=2 on a fill large enough to use it) before forking, so that
# without the guard the child's first threaded fill would wait forever for the parent's threads.
PRELUDE = """
import hashlib, os, sys, warnings
import numpy as np
import fastinit
N = 1 << 20          # large enough for a team (fastinit._runtime.MIN_PER_THREAD per thread)
def digest(a):
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()
REF = digest(fastinit.init((N,), "normal", seed=11, num_threads=2))
assert fastinit._runtime.team_usable()
"""


# Thread counts from the CPUs alone (distributed's LocalCluster leaves OMP_NUM_THREADS=1 in os.environ).
ENV = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}


def run(body: str, timeout: float = 240, env=None, prelude: str = PRELUDE) -> str:
    """Run prelude + body in a fresh interpreter; its stdout (it must exit 0 within timeout)."""
    proc = subprocess.Popen([sys.executable, "-c", prelude + textwrap.dedent(body)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env={**ENV, **(env or {})})
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"hung for {timeout} s (killed):\n{out}\n{err[-3000:]}")
    assert proc.returncode == 0, f"exit {proc.returncode}:\n{out}\n{err[-3000:]}"
    return out


def test_os_fork_child_fills_like_the_parent():
    out = run("""
        pid = os.fork()
        if pid == 0:
            ok = digest(fastinit.init((N,), "normal", seed=11)) == REF          # automatic threads
            ok &= not fastinit._runtime.team_usable() and fastinit.get_num_threads() == 1
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                ok &= digest(fastinit.init((N,), "normal", seed=11, num_threads=2)) == REF
            ok &= any("does not survive fork" in str(w.message) for w in caught)
            os._exit(0 if ok else 3)
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status), fastinit.get_num_threads() > 1 or os.cpu_count() == 1)
    """)
    assert out.split() == ["0", "True"]


def test_fork_before_any_team_keeps_the_team():
    """A child forked before the parent's first threaded fill has a sound OpenMP runtime: it may
    (and does) use threads."""
    out = run("""
        import os, numpy as np, fastinit
        pid = os.fork()
        if pid == 0:
            ok = fastinit._runtime.team_usable() and fastinit.get_num_threads() == fastinit.available_cpus()
            a = fastinit.init((1 << 20,), "uniform", seed=3, num_threads=2)
            ok &= np.array_equal(a, fastinit.init((1 << 20,), "uniform", seed=3, num_threads=1))
            os._exit(0 if ok else 3)
        print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
    """, prelude="")
    assert out.split() == ["0"]


def test_multiprocessing_fork_pool_and_init_npy(tmp_path):
    out = run(f"""
        import multiprocessing as mp
        def work(task):
            seed = 11
            path = os.path.join({str(tmp_path)!r}, f"t{{task}}.npy")
            fastinit.init_npy(path, (N // 4, 4), "normal", seed=seed)
            return digest(fastinit.init((N,), "normal", seed=seed)), digest(np.load(path).reshape(-1))
        with mp.get_context("fork").Pool(2) as pool:
            got = pool.map(work, range(3))
        print(all(a == REF and b == REF for a, b in got))
    """)
    assert out.split() == ["True"]


def test_fork_while_another_thread_is_mid_fill():
    out = run("""
        import threading, time
        started = threading.Event()
        def filler():
            started.set()
            for _ in range(40):
                fastinit.init((4 * N,), "trunc_normal", seed=5, num_threads=2)
        t = threading.Thread(target=filler)
        t.start()
        started.wait()
        time.sleep(0.02)
        results = []
        for _ in range(3):                      # several forks, landing at different points of the fills
            pid = os.fork()
            if pid == 0:
                ok = digest(fastinit.init((N,), "normal", seed=11)) == REF
                ok &= fastinit._seeding.next_seed() >= 0          # the seed lock was re-made
                os._exit(0 if ok else 3)
            results.append(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
            time.sleep(0.01)
        t.join()
        print(results)
    """)
    assert out.strip() == "[0, 0, 0]"


def test_torch_dataloader_workers():
    pytest.importorskip("torch")
    out = run("""
        import torch
        import fastinit.torch
        class Tables(torch.utils.data.Dataset):
            def __len__(self):
                return 4
            def __getitem__(self, i):
                t = fastinit.torch.normal_(torch.empty(N), generator=torch.Generator().manual_seed(11))
                return digest(t.numpy()), digest(fastinit.init((N,), "normal", seed=11))
        want = Tables()[0]
        loader = torch.utils.data.DataLoader(Tables(), batch_size=None, num_workers=2,
                                             multiprocessing_context="fork")
        got = list(loader)
        print(len(got) == 4 and all(tuple(g) == tuple(want) for g in got) and want[1] == REF)
    """)
    assert out.split() == ["True"]


def test_dask_processes_scheduler_with_fork():
    pytest.importorskip("dask")
    out = run("""
        import dask, multiprocessing as mp
        import fastinit.dask
        from concurrent.futures import ProcessPoolExecutor
        x = fastinit.dask.init((N,), "normal", seed=11, chunks=N // 2)
        with ProcessPoolExecutor(2, mp_context=mp.get_context("fork")) as pool:
            got = x.compute(scheduler="processes", pool=pool)
        print(digest(got) == REF)
    """)
    assert out.split() == ["True"]


def test_jax_host_callbacks_in_a_forked_child():
    pytest.importorskip("jax")
    out = run("""
        pid = os.fork()
        if pid == 0:                     # jax is first imported in the child (jax itself is not fork-safe)
            import jax, jax.numpy as jnp
            import fastinit.jax
            got = fastinit.jax.normal(1.0)(jax.random.key(0), (N,), jnp.float32)
            want = fastinit.jax.normal(1.0)(jax.random.key(0), (N,), jnp.float32)
            os._exit(0 if np.array_equal(np.asarray(got), np.asarray(want)) else 3)
        print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
    """)
    assert out.split() == ["0"]


def test_seed_none_never_repeats_across_forks():
    """Three forked children and the parent's next call draw four different seeds; after
    manual_seed the children's seeds are reproducible (the same forks in the same order)."""
    body = """
        import multiprocessing as mp
        {setup}
        r, w = os.pipe()
        pids = []
        for _ in range(3):
            pid = os.fork()
            if pid == 0:
                os.write(w, (str(fastinit._seeding.next_seed()) + "\\n").encode())
                os._exit(0)
            pids.append(pid)
        for pid in pids:
            os.waitpid(pid, 0)
        os.close(w)
        children = sorted(os.read(r, 4096).decode().split())
        print(" ".join(children), fastinit._seeding.next_seed())
    """
    fresh = run(body.format(setup="")).split()
    assert len(set(fresh)) == 4
    seeded = [run(body.format(setup="fastinit.manual_seed(5)")).split() for _ in range(2)]
    assert seeded[0] == seeded[1] and len(set(seeded[0])) == 4
    import numpy as np
    assert int(seeded[0][-1]) == int(np.random.default_rng(5).integers(0, 1 << 64, dtype=np.uint64))
