"""Several Python threads at once, and Ctrl-C during a long fill."""
import os
import signal
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import fastinit


def test_concurrent_calls_match_sequential():
    n, jobs = 1_000_003, 8
    expected = [fastinit.trunc_normal_(np.empty(n, np.float32), seed=i, num_threads=2) for i in range(jobs)]
    results = [None] * jobs

    def work(i):
        results[i] = fastinit.trunc_normal_(np.empty(n, np.float32), seed=i, num_threads=2)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r, e in zip(results, expected):
        assert np.array_equal(r, e)


@pytest.mark.parametrize("threads", [1, 2])
def test_ctrl_c_interrupts_a_long_fill(threads):
    """SIGINT during a fill, on one thread or a team, raises KeyboardInterrupt from the fill,
    leaving the rest unwritten."""
    script = textwrap.dedent("""
        import sys, numpy as np, fastinit
        fastinit.set_simd_path("scalar")             # the slow path: the fill takes seconds
        out = np.full(1 << 26, np.nan, np.float32)
        fastinit.trunc_normal_(np.empty(1), seed=0)   # first call imports scipy.special: not the part to interrupt
        print("start", flush=True)
        try:
            fastinit.trunc_normal_(out, seed=0, num_threads=NUM_THREADS)
        except KeyboardInterrupt:
            print("interrupted", int(np.isnan(out).sum()), flush=True)
            sys.exit(3)
        print("finished", flush=True)
    """)
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    proc = subprocess.Popen([sys.executable, "-c", script.replace("NUM_THREADS", str(threads))],
                            stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline().strip() == "start"
    threading.Event().wait(0.3)
    os.kill(proc.pid, signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 3, out
    words = out.split()
    assert words[0] == "interrupted" and int(words[1]) > 0
