"""A build without OpenMP succeeds, says so, and fills the same values serially."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fastinit

ROOT = Path(__file__).resolve().parents[1]


def test_serial_build_without_openmp(tmp_path):
    pytest.importorskip("Cython")
    src = tmp_path / "src"
    shutil.copytree(ROOT / "fastinit", src / "fastinit",
                    ignore=shutil.ignore_patterns("*.so", "_fill.c", "__pycache__"))
    shutil.copy(ROOT / "setup.py", src)
    env = {**os.environ, "FASTINIT_NO_OPENMP": "1"}
    build = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace"], cwd=src, env=env,
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-2000:]
    assert "OpenMP disabled" in build.stderr
    code = ("import numpy as np, fastinit; a = fastinit.trunc_normal_(np.empty(100_003, np.float32), seed=5, "
            "num_threads=2); print(fastinit.openmp_enabled(), a.view(np.uint32).sum(dtype=np.uint64))")
    out = subprocess.run([sys.executable, "-c", code], cwd=src, capture_output=True, text=True, check=True).stdout.split()
    ref = fastinit.trunc_normal_(np.empty(100_003, np.float32), seed=5).view(np.uint32).sum(dtype=np.uint64)
    assert out == ["False", str(ref)]
