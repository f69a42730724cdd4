"""An adapter imported without its framework says which extra installs it (a bare
ModuleNotFoundError said only "No module named 'torch'"); fastinit itself imports without them."""
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


@pytest.mark.parametrize("adapter,hidden,extra", [("fastinit.torch", "torch", "torch"), ("fastinit.jax", "jax", "jax"),
                                                  ("fastinit.keras", "keras", "keras"), ("fastinit.dask", "dask", "dask")])
def test_adapter_without_its_framework_names_the_extra(adapter, hidden, extra):
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
    assert out.stdout.strip() == (f"{adapter} needs {hidden}, which is not installed: "
                                  f'pip install "fastinit-nn[{extra}]"')


def test_init_zarr_without_zarr_names_the_extra(tmp_path):
    code = HIDE.format(hidden="zarr") + textwrap.dedent(f"""
        import fastinit
        try:
            fastinit.init_zarr({str(tmp_path / 't.zarr')!r}, (4,), "normal", seed=1)
        except ModuleNotFoundError as e:
            print(e)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == 'fastinit.init_zarr needs zarr, which is not installed: pip install "fastinit-nn[zarr]"'
