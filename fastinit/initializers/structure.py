"""Schemes that draw nothing: constants and structure (eye, dirac, Keras' identity)."""
from __future__ import annotations

import math

import numpy as np

from .. import _validate as check
from .._plans import Constant, Marks, Plan
from ._declare import scheme


@scheme("constant", random=False, export="constant_", aliases=("constant_",), torch="constant_", keras="Constant")
def constant(shape, fmt, val: float) -> Plan:
    """Fill with val (rounded to out's dtype)."""
    v = check.real("val", val, allow_inf=True)
    if math.isfinite(v) and abs(v) > fmt.max:
        raise ValueError(f"val={v} is outside the range of {fmt.name} (±{fmt.max:.6g})")
    return Plan(Constant(v))


@scheme("zeros", random=False, export="zeros_", aliases=("zeros_",), torch="zeros_", keras="Zeros")
def zeros(shape, fmt) -> Plan:
    """Fill with 0."""
    return Plan(Constant(0.0))


@scheme("ones", random=False, export="ones_", aliases=("ones_",), torch="ones_", keras="Ones")
def ones(shape, fmt) -> Plan:
    """Fill with 1."""
    return Plan(Constant(1.0))


def _diagonal(shape, value: float) -> Plan:
    k = np.arange(min(shape))
    return Plan(Constant(0.0), Marks(k * shape[1] + k, value))


@scheme("eye", random=False, export="eye_", aliases=("eye_",), torch="eye_", torch_check="rank2")
def eye(shape, fmt) -> Plan:
    """The identity matrix (2-D only), as torch.nn.init.eye_."""
    if len(shape) != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _diagonal(shape, 1.0)


@scheme("dirac", random=False, export="dirac_", aliases=("dirac_",), torch="dirac_", torch_check="call")
def dirac(shape, fmt, groups: int = 1) -> Plan:
    """Dirac delta for {3,4,5}-D conv weights (identity-preserving convolution), as torch.nn.init.dirac_:
    out[g * (O / groups) + d, d, center...] = 1 for d < min(O / groups, I)."""
    if len(shape) not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    groups = check.integer("groups", groups, 1, 1 << 62)
    if shape[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    if math.prod(shape) == 0:   # (no centre to mark; torch's own fails indexing one)
        return Plan.empty
    per_group = shape[0] // groups
    d = np.arange(min(per_group, shape[1]))
    centre = tuple(s // 2 for s in shape[2:])
    rows = (np.arange(groups)[:, None] * per_group + d[None, :]).ravel()
    cols = np.tile(d, groups)
    index = np.ravel_multi_index((rows, cols) + tuple(np.full_like(rows, c) for c in centre), shape)
    return Plan(Constant(0.0), Marks(index, 1.0))


@scheme("identity", random=False, keras="Identity")
def identity(shape, fmt, gain: float = 1.0) -> Plan:
    """Keras Identity(gain=1.0): gain * I, 2-D only."""
    if len(shape) != 2:
        raise ValueError("Identity matrix initializer can only be used for 2D matrices")
    gain = check.real("gain", gain)
    if abs(gain) > fmt.max:   # (it would be written as inf)
        raise ValueError(f"gain={gain} is outside the range of {fmt.name} (±{fmt.max:.6g})")
    return _diagonal(shape, gain)
