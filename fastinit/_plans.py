"""What a scheme asks for: a plan, a pure value computed from (whole shape, format, parameters).

A scheme is a planning function ``plan(shape, fmt, *params) -> Plan`` that checks its parameters
and says what every element of the whole tensor gets; it never sees a buffer, a seed or a thread
count.  The executor (fastinit/_executor.py) validates those once per call and carries the plan
out on the whole tensor, on a flat range of it or on any N-D block, so a shard gets exactly its
part of the whole fill.

A plan is one base, optionally followed by marks:
  * Draw: a kernel distribution (uniform, normal, truncated normal) with its parameters already
    checked and converted for the format (fastinit/kernels.py makes them);
  * Constant: one value;
  * Whole: a function of the whole tensor (orthogonal: a QR), computed once per call and sliced;
  * Marks: then set these flat indices of the whole tensor to a value (eye, dirac, a padding
    row, sparse's zeros); the indices may depend on the call's randomness (sparse).
``Plan.empty`` is the plan of a zero-element tensor: nothing to write.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, NamedTuple, Union

import numpy as np


class Randomness(NamedTuple):
    """A call's randomness, validated: the 64-bit seed (resolved), stream and thread request."""
    seed: int
    stream: int
    num_threads: int | None


@dataclass(frozen=True)
class Draw:
    """One kernel fill: ``dist`` (fastinit._fill.Dist) and the fields of the C struct fi_params
    (``kernel``).  ``asked`` is the distribution as the scheme asked for it ((low, high), (mean,
    std) or (mean, std, a, b)): what tests compare with torch's own calls."""
    dist: int
    asked: tuple
    kernel: dict = field(repr=False)


@dataclass(frozen=True)
class Constant:
    """Every element gets ``value`` (a float64, within the format's range or ±inf)."""
    value: float


@dataclass(frozen=True)
class Whole:
    """The values depend on the whole tensor: ``fill(out, fmt, randomness)`` fills ``out``, an
    array of the whole shape (of the call's dtype; bfloat16 as uint16 storage)."""
    fill: Callable[[np.ndarray, object, Randomness | None], None]


@dataclass(frozen=True)
class Marks:
    """After the base: the whole tensor's flat ``indices`` (an int64 array, or a function of the
    call's randomness giving one) are set to ``value``."""
    indices: Union[np.ndarray, Callable[[Randomness | None], np.ndarray]]
    value: float


@dataclass(frozen=True)
class Plan:
    base: Draw | Constant | Whole | None
    marks: Marks | None = None


Plan.empty = Plan(None)
