"""An adapter imported without its framework says what to install (a bare ModuleNotFoundError said
only "No module named 'torch'"): the extra's packages with their minimum versions, not the extra
(fastinit-nn is not on the package index); fastinit itself imports without them."""
import subprocess
import sys
import textwrap

import pytest

# Hide a framework from imports in a subprocess: a meta-path finder that refuses it.
HIDE = textwrap.dedent("""
    import sys
    class Hide:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == {hidden!r}:
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
    sys.meta_path.insert(0, Hide())
""")


# The extras' requirements in pyproject.toml, as the installed metadata gives them.
HINTS = {"torch": 'pip install "torch>=2.5"', "jax": 'pip install "jax>=0.7.1"', "keras": 'pip install "keras>=3.15"',
         "dask": 'pip install "dask[array]>=2023.1" "distributed>=2023.1"', "zarr": 'pip install "zarr>=3"'}


@pytest.mark.parametrize("adapter,hidden", [("fastinit.torch", "torch"), ("fastinit.jax", "jax"),
                                            ("fastinit.keras", "keras"), ("fastinit.dask", "dask")])
def test_adapter_without_its_framework_names_what_to_install(adapter, hidden):
    code = HIDE.format(hidden=hidden) + textwrap.dedent(f"""
        import fastinit
        fastinit.init((4,), "normal", seed=1)
        try:
            import {adapter}
        except ModuleNotFoundError as e:
            print(e)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"{adapter} needs {hidden}, which is not installed: {HINTS[hidden]}"


def test_init_zarr_without_zarr_names_what_to_install(tmp_path):
    code = HIDE.format(hidden="zarr") + textwrap.dedent(f"""
        import fastinit
        try:
            fastinit.init_zarr({str(tmp_path / 't.zarr')!r}, (4,), "normal", seed=1)
        except ModuleNotFoundError as e:
            print(e)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == f"fastinit.init_zarr needs zarr, which is not installed: {HINTS['zarr']}"


def test_cli_zarr_output_without_zarr_names_what_to_install(tmp_path):
    code = HIDE.format(hidden="zarr") + textwrap.dedent("""
        import sys
        from fastinit.__main__ import main
        sys.exit(main(["init", "--shape", "4", "--scheme", "normal", "--seed", "1", "--out", "t.zarr"]))
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and not (tmp_path / "t.zarr").exists()
    assert out.stderr.strip() == f"python -m fastinit init: error: --out NAME.zarr needs zarr: {HINTS['zarr']}"


def test_hint_without_metadata_names_the_module(monkeypatch):
    """A checkout built in place and put on sys.path has no installed metadata: the hint names the
    framework's own package."""
    import importlib.metadata

    from fastinit import _extras

    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "requires", missing)
    assert _extras.install_hint("dask", "dask") == "pip install dask"
    monkeypatch.undo()
    assert _extras.install_hint("bfloat16", "ml_dtypes") == 'pip install "ml_dtypes>=0.3"'
