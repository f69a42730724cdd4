"""Optional frameworks: an adapter module imported without its framework says which extra to install."""
from __future__ import annotations

import importlib
from types import ModuleType


def require(module: str, extra: str, adapter: str) -> ModuleType:
    """Import ``module``, or raise ImportError naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name is None or module.split(".")[0] != error.name.split(".")[0]:
            raise                      # the framework is there but something it needs is not
        raise ModuleNotFoundError(f"{adapter} needs {module.split('.')[0]}, which is not installed: "
                                  f'pip install "fastinit-nn[{extra}]"', name=error.name) from None
