"""The examples of the README and of every page in docs/ run as pasted: every python block, the
command-line example, and the set-up's test command is exactly what CI runs.  A block that cannot
run here (a cluster, a GPU) carries the comment `# readme-test: skip` and says why; a block that
starts with `# continuing the example above` runs after the block before it on the same page."""
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
PAGES = {"README.md": README, **{f"docs/{p.name}": p.read_text() for p in sorted((ROOT / "docs").glob("*.md"))}}
SKIP_MARK = "# readme-test: skip"


def blocks(lang: str, text: str = README) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", text, flags=re.M | re.S)


CONTINUES = "# continuing the example above"


def python_examples() -> dict[str, str]:
    """Each python block of each page as a script, by 'page:blockN'; a block that starts with
    CONTINUES runs after the one before it on its page."""
    examples: dict[str, str] = {}
    for page, text in PAGES.items():
        previous = None
        for i, code in enumerate(blocks("python", text)):
            code = previous + code if code.startswith(CONTINUES) and previous else code
            examples[f"{page}:block{i}"] = previous = code
    return examples


PYTHON_BLOCKS = python_examples()


def test_readme_and_docs_have_examples():
    assert len([k for k in PYTHON_BLOCKS if k.startswith("README")]) >= 4 and blocks("bash")
    assert len([k for k in PYTHON_BLOCKS if k.startswith("docs/")]) >= 15


@pytest.mark.parametrize("code", PYTHON_BLOCKS.values(), ids=list(PYTHON_BLOCKS))
def test_python_example_runs(tmp_path, code):
    if SKIP_MARK in code:
        pytest.skip(code.split(SKIP_MARK, 1)[1].splitlines()[0].strip(" :()") or "marked in the README")
    for module, needed in (("torch", "torch"), ("dask", "distributed"), ("jax", "jax"), ("keras", "keras"),
                           ("transformers", "transformers"), ("zarr", "zarr")):
        if re.search(rf"^\s*(import|from) (fastinit\.)?{module}\b", code, flags=re.M):
            if importlib.util.find_spec(needed) is None:      # found, not imported: keras needs its backend set
                pytest.skip(f"needs {needed}")
    (tmp_path / "example.py").write_text(code)
    r = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"example failed:\n{code}\n{r.stderr[-3000:]}"


def _commands_and_expected(block: str) -> tuple[list[str], list[str]]:
    joined = block.replace("\\\n", " ")
    commands = [line for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    expected = [line.lstrip()[2:] for line in joined.splitlines() if line.lstrip().startswith("# ")]
    return commands, expected


def test_command_line_example_runs(tmp_path):
    block = next(b for b in blocks("bash") if "python -m fastinit init" in b)
    commands, expected = _commands_and_expected(block)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    out = ""
    for command in commands:
        r = subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True, text=True, env=env,
                           timeout=300)
        assert r.returncode == 0, f"{command}\n{r.stderr}"
        out += r.stdout
    for line in expected:     # '...' stands for what varies from run to run (times, rates)
        pattern = ".+".join(re.escape(part) for part in line.split("..."))
        assert re.search(pattern, out), f"expected {line!r}, got {out!r}"
    m = re.search(r"wrote (\S+): shape (\([\d, ]+\)) (\w+)", out)
    written = np.load(tmp_path / m.group(1), mmap_mode="r")
    assert str(written.shape) == m.group(2) and written.dtype == np.dtype(m.group(3))


def test_setup_test_command_is_what_ci_runs():
    setup = next(b for b in blocks("bash") if "pytest" in b)
    readme_command = next(line for line in setup.splitlines() if "pytest" in line).split("#")[0].strip()
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1].strip() == readme_command
    assert "-c constraints.txt" in readme_command and (ROOT / "constraints.txt").exists()
    bench = next(line for line in setup.splitlines() if "fastinit bench" in line)
    assert "-c constraints.txt" in bench


def test_install_lines_name_the_distribution():
    """'fastinit' on the package index is another project: every install hint names fastinit-nn."""
    texts = {**PAGES, **{str(p.relative_to(ROOT)): p.read_text() for p in (ROOT / "fastinit").rglob("*.py")}}
    for name, text in texts.items():
        for m in re.finditer(r"pip install[^\n`&#)]*", text):
            hint = m.group(0)
            assert not re.search(r"""['" ]fastinit(\[|['"\s]|$)""", hint), f"{name}: {hint}"


def test_docs_site_builds_strictly(tmp_path):
    """mkdocs build --strict: every page, the nav, links and anchors, and the API reference made
    from the docstrings (mkdocstrings) build without a warning."""
    pytest.importorskip("mkdocstrings")
    env = {**os.environ, "KERAS_BACKEND": os.environ.get("KERAS_BACKEND", "jax"), "NO_MKDOCS_2_WARNING": "1"}
    env.pop("OMP_NUM_THREADS", None)
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")], cwd=ROOT,
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    api = (tmp_path / "site" / "api" / "index.html").read_text()
    for name in ("xavier_uniform_", "fill_block", "GlorotUniform", "materialize", "param_groups"):
        assert name in api, name
