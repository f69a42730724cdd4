"""tools/sanitize.py, the documented sanitizer build: an ASan+threads build and a TSan build of the
extension (OpenMP on) run the threaded driver's tests without a report."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.skipif(not (ROOT / ".git").exists(), reason="tools/sanitize.py copies a git checkout"),
              pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")]


@pytest.mark.parametrize("kind", ["address", "thread"])
def test_sanitized_build_runs_the_threaded_tests_clean(kind):
    out = subprocess.run([sys.executable, "tools/sanitize.py", kind, "--", "tests/test_concurrency.py",
                          "tests/test_determinism.py", "-q", "-x", "-p", "no:cacheprovider"],
                         cwd=ROOT, capture_output=True, text=True, timeout=900)
    report = out.stdout[-3000:] + out.stderr[-3000:]
    assert out.returncode == 0, report
    assert "(OpenMP enabled)" in out.stderr and " passed" in out.stdout, report
    assert "Sanitizer" not in out.stdout + out.stderr, report


@pytest.mark.skipif(shutil.which("clang") is None, reason="needs clang (Debian: clang, libomp-dev)")
def test_clang_build_with_ubsan_gives_the_pinned_streams():
    """clang builds (it has no __builtin_cpu_supports("f16c") and ignores gcc's target pragma): every
    SIMD path it compiles gives the pinned bits, with UBSan watching."""
    out = subprocess.run([sys.executable, "tools/sanitize.py", "undefined", "--cc", "clang", "--",
                          "tests/test_stream_pins.py", "tests/test_simd_paths.py", "-q", "-x", "-p", "no:cacheprovider"],
                         cwd=ROOT, capture_output=True, text=True, timeout=900)
    report = out.stdout[-3000:] + out.stderr[-3000:]
    assert out.returncode == 0 and " passed" in out.stdout and "(OpenMP enabled)" in out.stderr, report
