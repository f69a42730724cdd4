import os
import signal
import socket
import time

import numpy as np
import pytest

import fastinit

# A test suite started in the background by a non-interactive shell (`cmd &`) inherits SIGINT
# ignored, and so would every subprocess it starts: Python then installs no KeyboardInterrupt
# handler and the Ctrl-C tests see a fill run to its end.  A handler here is reset to the default
# action in each subprocess at exec, so they get Python's handler again.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def philox_words(seed: int, stream: int, blocks: np.ndarray) -> np.ndarray:
    """Philox output (n, 4) for the given block indices, via the public known-answer function."""
    blocks = np.asarray(blocks, dtype=np.uint64)
    ctr = np.stack([blocks & 0xFFFFFFFF, blocks >> np.uint64(32),
                    np.full_like(blocks, stream & 0xFFFFFFFF), np.full_like(blocks, stream >> 32)], axis=1)
    return fastinit.philox4x32(ctr.astype(np.uint32), [seed & 0xFFFFFFFF, seed >> 32])


def element_bits32(seed: int, stream: int, index: np.ndarray) -> np.ndarray:
    """The 32-bit word feeding each element of a float32/float16/bfloat16 fill (layout of fi_kernels.h)."""
    index = np.asarray(index, dtype=np.uint64)
    g, e = index // np.uint64(64), index % np.uint64(64)
    words = philox_words(seed, stream, np.uint64(16) * g + e % np.uint64(16))
    return words[np.arange(len(index)), (e // np.uint64(16)).astype(np.intp)]


def element_bits64(seed: int, stream: int, index: np.ndarray) -> np.ndarray:
    """The 64-bit integer feeding each element of a float64 fill."""
    index = np.asarray(index, dtype=np.uint64)
    g, e = index // np.uint64(32), index % np.uint64(32)
    words = philox_words(seed, stream, np.uint64(16) * g + e % np.uint64(16)).astype(np.uint64)
    h = (e // np.uint64(16)).astype(np.intp)
    rows = np.arange(len(index))
    return words[rows, 2 * h] | (words[rows, 2 * h + 1] << np.uint64(32))


@pytest.fixture(params=fastinit.available_simd_paths())
def simd_path(request):
    with fastinit.simd_path_used(request.param):
        yield request.param


@pytest.fixture(scope="module")
def one_thread():
    """For modules of many small fills (``pytestmark = pytest.mark.usefixtures("one_thread")``): one
    thread spares an OpenMP team per fill, which costs milliseconds on a loaded machine; values never
    depend on the thread count (tests/test_determinism.py checks that)."""
    from fastinit import _runtime
    before = _runtime._num_threads          # None: the automatic default, restored as such
    fastinit.set_num_threads(1)
    yield
    fastinit.set_num_threads(before)


def signal_once_writing(proc, folder, sig, timeout=60):
    """Send sig to proc once its temporary ``.part`` file exists in folder (writing has begun);
    returns proc's (stdout, stderr) after it ends."""
    deadline = time.monotonic() + timeout
    while not any(n.endswith(".part") for n in os.listdir(folder)):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    os.kill(proc.pid, sig)
    return proc.communicate(timeout=120)


def launch_ranks(worker, world_size: int, preload: list[str], timeout: float) -> None:
    """Run worker(rank, world_size, port) on world_size processes started from a forkserver that
    imported ``preload`` once (fast, and fork-safe: the server never ran an OpenMP region); a rank
    that raises fails the test with its traceback, and ranks still running after ``timeout``
    seconds are killed and fail it (a hang must not hang CI).  The port is a free one on 127.0.0.1."""
    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.set_forkserver_preload(preload)
    context = mp.start_processes(worker, args=(world_size, port), nprocs=world_size, join=False,
                                 start_method="forkserver")
    deadline = time.monotonic() + timeout
    try:
        while not context.join(timeout=max(0.1, deadline - time.monotonic())):
            if time.monotonic() > deadline:
                pytest.fail(f"world size {world_size}: the workers did not finish within {timeout} s")
    finally:
        for p in context.processes:
            if p.is_alive():
                p.kill()
            p.join()
