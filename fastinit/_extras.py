"""Optional frameworks: an adapter module imported without its framework says what to install.

The hint names the packages themselves, with the minimum versions that fastinit-nn's metadata
gives its extra (``pip install "torch>=2.5"``), not the extra: fastinit-nn is not on the package
index, so ``pip install "fastinit-nn[torch]"`` works only where fastinit-nn is installed in the
environment pip installs into, and ``pip install "<wheel file or checkout>[torch]"`` needs the
wheel or checkout at hand."""
from __future__ import annotations

import importlib
import importlib.metadata
import re
from types import ModuleType


def install_hint(extra: str, fallback: str) -> str:
    """``pip install "pkg>=min" ...`` for the packages of fastinit-nn's extra ``extra``, from the
    installed distribution's metadata; ``pip install <fallback>`` when there is none (a checkout
    built in place and put on sys.path, say)."""
    try:
        requires = importlib.metadata.requires("fastinit-nn") or []
    except importlib.metadata.PackageNotFoundError:
        requires = []
    marker = re.compile(rf"""\s*extra\s*==\s*["']{re.escape(extra)}["']\s*""")
    packages = [req.strip() for req, _, condition in (r.partition(";") for r in requires) if marker.fullmatch(condition)]
    return "pip install " + (" ".join(f'"{p}"' for p in packages) if packages else fallback)


def require(module: str, extra: str, adapter: str) -> ModuleType:
    """Import ``module``, or raise ImportError naming the packages of the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name is None or module.split(".")[0] != error.name.split(".")[0]:
            raise                      # the framework is there but something it needs is not
        top = module.split(".")[0]
        raise ModuleNotFoundError(f"{adapter} needs {top}, which is not installed: {install_hint(extra, top)}",
                                  name=error.name) from None
