"""What every part of fastinit.torch shares: its errors, the one torch <-> numpy view rule, and how a
fill made through numpy is handed back to torch (copy-back or version bump)."""
from __future__ import annotations

import sys
from typing import Callable

import numpy as np
import torch

NUMPY_VIEWABLE = {torch.float32, torch.float64, torch.float16}
FILLED = NUMPY_VIEWABLE | {torch.bfloat16}


class ArgumentError(ValueError, RuntimeError):
    """A bad argument value fastinit.torch refuses, with nothing written: a ValueError (as fastinit
    raises) that is also a RuntimeError (as torch raises for out-of-range values: ``uniform_(t, 1, 0)``,
    a constant beyond float16's range), so code written for either catches it."""


def is_dtensor(tensor) -> bool:
    """True for a torch.distributed.tensor.DTensor (without importing torch.distributed when no
    DTensor can exist yet)."""
    module = sys.modules.get("torch.distributed.tensor")
    return module is not None and isinstance(tensor, module.DTensor)


def array_view(t: torch.Tensor) -> tuple[np.ndarray, str | None]:
    """A numpy view sharing t's memory, and the dtype= to pass with it."""
    if t.dtype in NUMPY_VIEWABLE:
        return t.numpy(), None
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().view(np.uint16), "bfloat16"
    raise TypeError(f"fastinit.torch fills float32, float64, float16 and bfloat16 tensors; got {t.dtype}")


def fill_through_numpy(tensor: torch.Tensor, fill: Callable[[np.ndarray, str | None], None],
                       version_of: torch.Tensor | None = None) -> torch.Tensor:
    """Run ``fill(array, dtype)`` on a numpy view of ``tensor``'s memory when it is a contiguous CPU
    tensor, else on a contiguous CPU temporary copied in afterwards; a ValueError from ``fill``
    (raised before any write) becomes ArgumentError.  Writes through numpy are invisible to
    autograd, so the version counter of ``version_of`` (default: tensor; shared by its views and
    ``detach()``) is bumped: a tensor saved for backward and refilled makes ``backward()`` raise."""
    in_place = tensor.device.type == "cpu" and tensor.is_contiguous() and not tensor.is_neg()
    work = tensor.detach() if in_place else torch.empty(tensor.shape, dtype=tensor.dtype, device="cpu")
    arr, dtype = array_view(work)
    try:
        fill(arr, dtype)
    except ValueError as error:
        raise ArgumentError(str(error)) from None
    if in_place:
        torch.autograd.graph.increment_version(tensor if version_of is None else version_of)
    else:
        with torch.no_grad():
            tensor.copy_(work)
        if version_of is not None:
            torch.autograd.graph.increment_version(version_of)
    return tensor
