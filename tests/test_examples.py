"""Every script in examples/ runs as its docstring says and prints its OK line: single-process ones
with this Python, the torchrun ones with `python -m torch.distributed.run --nproc-per-node N` on
127.0.0.1 (gloo).  Each runs in a fresh process, in a temporary directory (scaling_mup.py writes its
plots there), under a timeout; a run that outlives it is killed with its whole process group (the
torchrun agent and its workers) and fails the test.  Skipped when the framework an example needs is
not installed."""
import ast
import importlib.util
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
TIMEOUT = 120          # seconds per example (each takes well under 30 s on 2 cores)

# the modules each example imports (found, not imported here: keras needs its backend set first)
NEEDS = {"numpy_tables": [], "torch_patch": ["torch"], "torch_fsdp2": ["torch"], "torch_tensor_parallel": ["torch"],
         "jax_sharded": ["jax", "flax"], "keras_distribution": ["keras", "jax"], "scaling_mup": ["torch"]}


def _docstring(path: Path) -> str:
    return ast.get_docstring(ast.parse(path.read_text())) or ""


def test_every_example_is_listed_documented_and_short():
    assert {p.stem for p in EXAMPLES} == set(NEEDS)
    for path in EXAMPLES:
        doc = _docstring(path)
        assert re.search(rf"^Run[^:]*:\s+(torchrun .*|python) examples/{path.name}", doc, flags=re.M), path.name
        assert len(path.read_text().splitlines()) <= 80, path.name


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _command(path: Path) -> list[str]:
    """The docstring's Run: line, with this Python (torchrun as python -m torch.distributed.run)."""
    m = re.search(r"torchrun --nproc-per-node (\d+)", _docstring(path))
    if not m:
        return [sys.executable, str(path)]
    return [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", m.group(1),
            "--master-addr", "127.0.0.1", "--master-port", str(_free_port()), str(path)]


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(path, tmp_path):
    for module in NEEDS[path.stem]:
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"needs {module}")
    command = _command(path)
    if "torch.distributed.run" in command:
        import torch.distributed as dist
        if not dist.is_available() or not dist.is_gloo_available():
            pytest.skip("torch.distributed with gloo is not available")
    env = {**os.environ, "GLOO_SOCKET_IFNAME": "lo"}       # 127.0.0.1 only
    env.pop("OMP_NUM_THREADS", None)                      # the examples run as a user's would
    proc = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)               # torchrun's agent and every worker
        out, err = proc.communicate()
        pytest.fail(f"{path.name} did not finish within {TIMEOUT} s\n{out[-2000:]}\n{err[-3000:]}")
    assert proc.returncode == 0, f"{path.name} exited {proc.returncode}\n{out[-2000:]}\n{err[-3000:]}"
    assert re.search(rf"^OK {path.stem}\b", out, flags=re.M), out[-2000:]
