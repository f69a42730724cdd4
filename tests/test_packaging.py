"""Packaging: a checkout without the built extension says so; the OpenMP probe honours CFLAGS and
LDFLAGS; a serial fallback is loud; the version has one source; the wheel builds (cibuildwheel,
tools/build_wheels.py, the release workflow) agree with requires-python and with each other."""
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import fastinit

ROOT = Path(__file__).resolve().parents[1]


def load_setup_module():
    """setup.py's functions, without running setup() (it only runs as __main__)."""
    spec = importlib.util.spec_from_file_location("fastinit_setup", ROOT / "setup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# An editable install's import hook would supply fastinit._fill from the checkout to any copy of
# the package: drop it, so the copy is imported as an unbuilt checkout is.
IMPORT_COPY = ("import sys; sys.meta_path[:] = [f for f in sys.meta_path if 'Editable' not in "
               "getattr(f, '__name__', type(f).__name__)]; import fastinit")


def test_unbuilt_checkout_says_how_to_build(tmp_path):
    shutil.copytree(ROOT / "fastinit", tmp_path / "fastinit",
                    ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__"))
    r = subprocess.run([sys.executable, "-c", IMPORT_COPY], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 1
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: fastinit's compiled extension (fastinit._fill) is not built in "), r.stderr
    assert "pip install -e ." in last
    assert "circular import" not in r.stderr


def test_broken_extension_is_reported_as_such(tmp_path):
    shutil.copytree(ROOT / "fastinit", tmp_path / "fastinit",
                    ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__"))
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    (tmp_path / "fastinit" / f"_fill{suffix}").write_bytes(b"not a shared library")
    r = subprocess.run([sys.executable, "-c", IMPORT_COPY], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 1
    assert f"compiled extension _fill{suffix}" in r.stderr and "failed to load" in r.stderr, r.stderr


def test_one_version_source():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in meta["project"] and "version" in meta["project"]["dynamic"]
    assert meta["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "fastinit._version.__version__"}
    from fastinit import _version
    assert fastinit.__version__ == _version.__version__


class FakeCompiler:
    """Records the probe's compile and link arguments; 'links' a script that prints what OpenMP would."""

    def __init__(self, output="1", fail=False):
        self.output, self.fail, self.link_args = output, fail, None

    def compile(self, sources, output_dir, extra_postargs):
        if self.fail:
            raise RuntimeError("gcc: error: unrecognized command-line option '-fopenmp'")
        return [s + ".o" for s in sources]

    def link_executable(self, objs, exe, extra_postargs):
        self.link_args = extra_postargs
        Path(exe).write_text(f"#!/bin/sh\necho {self.output}\n")
        os.chmod(exe, 0o755)


def test_openmp_probe_links_with_cflags_and_ldflags(monkeypatch):
    setup = load_setup_module()
    monkeypatch.delenv("FASTINIT_NO_OPENMP", raising=False)
    monkeypatch.setenv("CFLAGS", "-fsanitize=address -g")
    monkeypatch.setenv("LDFLAGS", "-L/opt/x -Wl,-rpath,/opt/x")
    compiler = FakeCompiler()
    assert setup.openmp_probe(compiler) == (True, "")
    assert compiler.link_args == ["-fsanitize=address", "-g", "-L/opt/x", "-Wl,-rpath,/opt/x", "-fopenmp"]
    assert setup.openmp_probe(FakeCompiler(output="0"))[0] is False
    ok, why = setup.openmp_probe(FakeCompiler(fail=True))
    assert not ok and "unrecognized command-line option '-fopenmp'" in why


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_openmp_probe_with_sanitizer_flags_and_real_gcc(monkeypatch):
    """With -fsanitize=address in CFLAGS/LDFLAGS the probe used to fail to link (the build then went
    serial without a word)."""
    import setuptools  # noqa: F401  (distutils below is setuptools' copy)
    from distutils.ccompiler import new_compiler
    from distutils.sysconfig import customize_compiler

    setup = load_setup_module()
    monkeypatch.delenv("FASTINIT_NO_OPENMP", raising=False)
    monkeypatch.setenv("CC", "gcc")
    monkeypatch.setenv("CFLAGS", "-fsanitize=address")
    monkeypatch.setenv("LDFLAGS", "-fsanitize=address")
    compiler = new_compiler()
    customize_compiler(compiler)
    assert setup.openmp_probe(compiler) == (True, "")


def test_serial_fallback_warns_loudly(monkeypatch, capsys):
    from setuptools import Distribution
    from setuptools.command.build_ext import build_ext

    setup = load_setup_module()
    monkeypatch.delenv("FASTINIT_NO_OPENMP", raising=False)
    monkeypatch.setattr(setup, "openmp_probe", lambda compiler: (False, "linking with -fopenmp failed"))
    monkeypatch.setattr(build_ext, "build_extensions", lambda self: None)   # compile nothing
    cmd = setup.BuildExt(Distribution())
    cmd.extensions = []
    cmd.compiler = None
    cmd.build_extensions()
    err = capsys.readouterr().err
    assert "fastinit: OpenMP disabled" in err
    assert "WARNING: building WITHOUT OpenMP: every fill will run on ONE thread" in err
    assert "Why: linking with -fopenmp failed" in err and "FASTINIT_NO_OPENMP=1" in err
    assert len(err.splitlines()) >= 6

    monkeypatch.setenv("FASTINIT_NO_OPENMP", "1")                            # serial on purpose: no warning
    cmd.build_extensions()
    err = capsys.readouterr().err
    assert "fastinit: OpenMP disabled" in err and "WARNING" not in err


def test_sdist_carries_what_its_tests_need(tmp_path):
    """The sdist runs its own tests: every test module, the conftest.py they import, the files
    they read (README, .ci/run, the release workflow, constraints, benchmark and example scripts) and the
    C sources."""
    pytest.importorskip("Cython")
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.so", "__pycache__",
                                                             "*.egg-info", ".pytest_cache", "*.npy"))
    r = subprocess.run([sys.executable, "setup.py", "-q", "sdist", "-d", str(tmp_path / "dist")], cwd=src,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    import tarfile
    (archive,) = (tmp_path / "dist").glob("fastinit_nn-*.tar.gz")
    with tarfile.open(archive) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    needed = {"README.md", "LICENSE", "constraints.txt", ".ci/run", ".github/workflows/release.yml", "pyproject.toml",
              "setup.py", "MANIFEST.in", "CHANGELOG.md", "CONTRIBUTING.md", "mkdocs.yml",
              "fastinit/_fill.pyx", "fastinit/_kernels.pxd", "fastinit/py.typed", "fastinit/_version.py"}
    for pattern in ("tests/*.py", "bench/*.py", "examples/*.py", "tools/*.py", "fastinit/_src/*", "fastinit/*.py",
                    "fastinit/*/*.py", "fastinit/*/*/*.py", "docs/*.md"):
        needed |= {str(p.relative_to(ROOT)) for p in ROOT.glob(pattern)}
    assert needed <= names, sorted(needed - names)


def load_tool(name: str):
    spec = importlib.util.spec_from_file_location(f"fastinit_tool_{name}", ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_wheel_builds_cover_requires_python():
    """The CPythons built (cibuildwheel's build selectors, tools/build_wheels.py's defaults) are every
    minor version that requires-python admits, from its minimum up, and the classifiers name them."""
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    cibw = meta["tool"]["cibuildwheel"]
    m = re.fullmatch(r">=\s*3\.(\d+)", meta["project"]["requires-python"])
    assert m, meta["project"]["requires-python"]
    built = []
    for selector in cibw["build"]:
        s = re.fullmatch(r"cp3(\d+)-\*", selector)
        assert s, f"build selector {selector!r}: one CPython version each"
        built.append(int(s.group(1)))
    assert built == list(range(int(m.group(1)), max(built) + 1)), built
    versions = [f"3.{minor}" for minor in built]
    classified = [c.rsplit(" ", 1)[1] for c in meta["project"]["classifiers"]
                  if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)]
    assert classified == versions
    assert list(load_tool("build_wheels").VERSIONS) == versions


def test_cibuildwheel_config():
    """Linux x86_64 and aarch64 repaired with auditwheel (libgomp bundled, stripped) and tested with
    OpenMP on; macOS arm64; no musllinux; Windows skipped (MSVC cannot build the sources; the reason
    is in pyproject.toml); every wheel runs the stream pins, from a copy of tests/ (not the checkout)."""
    text = (ROOT / "pyproject.toml").read_text()
    cibw = tomllib.loads(text)["tool"]["cibuildwheel"]
    assert {"*-musllinux_*", "*-win*"} <= set(cibw["skip"])
    assert "[tool.cibuildwheel.windows]\n# Not built" in text
    assert cibw["test-sources"] == ["tests"] and "bfloat16" in cibw["test-extras"]   # the pins' ml_dtypes
    for platform in ("linux", "macos"):     # a platform's own test-command, or the common one
        command = cibw[platform].get("test-command", cibw["test-command"])
        command = " && ".join(command) if isinstance(command, list) else command
        assert "python -m pytest" in command and "tests/test_stream_pins.py" in command, platform
        for path in re.findall(r"tests/\S+\.py", command):
            assert (ROOT / path).is_file(), path
    linux = cibw["linux"]
    assert linux["archs"] == ["x86_64", "aarch64"]
    assert linux["repair-wheel-command"].split() == ["auditwheel", "repair", "--strip", "-w", "{dest_dir}", "{wheel}"]
    assert "fastinit.openmp_enabled()" in linux["test-command"][-1]
    macos = cibw["macos"]
    assert macos["archs"] == ["arm64"]
    assert macos.get("environment", {}).get("FASTINIT_NO_OPENMP") == "1" or "libomp" in macos.get("before-all", "")


def test_release_workflow_builds_with_cibuildwheel():
    """Each architecture cibuildwheel is configured for is built on a runner of its own; an sdist; a
    tag publishes to PyPI by trusted publishing, after both."""
    yaml = pytest.importorskip("yaml")
    flow = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text())
    triggers = flow.get("on", flow.get(True))          # (YAML 1.1 reads the key on as True)
    assert triggers["push"]["tags"] == ["v*"]
    wheels, sdist, publish = (flow["jobs"][name] for name in ("wheels", "sdist", "publish"))
    (cibw_step,) = [s for s in wheels["steps"] if s.get("uses", "").startswith("pypa/cibuildwheel@v")]
    assert cibw_step["env"]["CIBW_ARCHS"] == "${{ matrix.arch }}"
    matrix = {(m["os"], m["arch"]) for m in wheels["strategy"]["matrix"]["include"]}
    assert matrix == {("ubuntu-24.04", "x86_64"), ("ubuntu-24.04-arm", "aarch64"), ("macos-14", "arm64")}
    cibw = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["cibuildwheel"]
    assert {arch for _, arch in matrix} == set(cibw["linux"]["archs"]) | set(cibw["macos"]["archs"])
    assert any("build --sdist" in s.get("run", "") for s in sdist["steps"])
    assert set(publish["needs"]) == {"wheels", "sdist"} and "refs/tags/v" in publish["if"]
    assert publish["permissions"] == {"id-token": "write"}
    assert publish["steps"][-1]["uses"] == "pypa/gh-action-pypi-publish@release/v1"
    assert "with" not in publish["steps"][-1]                                    # no password: trusted publishing


def test_every_package_is_listed_for_the_build():
    """[tool.setuptools] packages is an explicit list: a package missing from it would be left out
    of every wheel and sdist install (an editable install still finds it, so only this catches it)."""
    import tomllib
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "fastinit").rglob("__init__.py")}
    assert found <= listed, sorted(found - listed)
