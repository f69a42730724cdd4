"""torch.nn.init.sparse_: a normal fill with a random zero pattern per column."""
from __future__ import annotations

import functools
import math

import numpy as np

from .. import _validate as check
from .. import kernels
from .._plans import Marks, Plan
from ._declare import scheme


def _derived_seed(seed: int, tag: int) -> int:
    """An independent 64-bit seed for a scheme's auxiliary randomness (sparse_'s zero pattern)."""
    w = kernels.philox4x32([[seed & 0xFFFFFFFF, seed >> 32, tag, 0]], [0x66617374, 0x696E6974])[0]
    return int(w[0]) | (int(w[1]) << 32)


def _zero_pattern(shape: tuple[int, int], num_zeros: int, rand) -> np.ndarray:
    """The flat indices of the zeros: in each column, the rows of the num_zeros smallest of a
    uniform key per element, drawn from a seed derived from the call's (stable argsort: ties
    keep row order)."""
    rows, cols = shape
    keys = kernels.uniform_(np.empty(shape), seed=_derived_seed(rand.seed, 0x73707273), stream=rand.stream,
                            num_threads=rand.num_threads)
    zero_rows = np.argsort(keys, axis=0, kind="stable")[:num_zeros]          # per column
    return (zero_rows * cols + np.arange(cols)[None, :]).ravel()


@scheme("sparse", random=True, whole_tensor=True, export="sparse_", aliases=("sparse_",), torch="sparse_",
        torch_check="call")
def sparse(shape, fmt, sparsity: float, std: float = 0.01) -> Plan:
    """N(0, std²) with ceil(sparsity * rows) entries of every column set to zero, as torch.nn.init.sparse_
    (Martens, Deep learning via Hessian-free optimization, 2010).  The zero rows of each column are a
    pure function of (seed, stream); a shard computes the whole mask (O(whole) memory)."""
    if len(shape) != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    sparsity = check.real("sparsity", sparsity)
    if not 0.0 <= sparsity <= 1.0:
        raise ValueError(f"sparsity must be in [0, 1]; got {sparsity}")
    values = kernels.normal(shape, fmt, 0.0, std)
    num_zeros = math.ceil(sparsity * shape[0])
    if num_zeros == 0 or math.prod(shape) == 0:
        return values
    return Plan(values.base, Marks(functools.partial(_zero_pattern, shape, num_zeros), 0.0))
