"""Fan computation and torch's gain table (plain Python, no kernels)."""
from __future__ import annotations

import math
import numbers
from typing import Sequence

from ._validate import describe, short_repr

LAYOUTS = ("torch", "keras", "jax")
_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")


def _axes(shape: tuple, axis, name: str) -> list[int]:
    try:
        axes = [axis] if isinstance(axis, numbers.Integral) else list(axis)
    except TypeError:
        raise TypeError(f"{name} must be an axis (int) or a sequence of axes; got {describe(axis)}") from None
    out = []
    for a in axes:
        if not isinstance(a, numbers.Integral) or not -len(shape) <= a < len(shape):
            raise ValueError(f"{name}={short_repr(axis)} is not a valid axis for a shape of rank {len(shape)}")
        out.append(int(a) % len(shape))
    return out


def calculate_fans(shape: Sequence[int], layout: str = "torch", in_axis=None, out_axis=None,
                   batch_axis: Sequence[int] = ()) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of this shape.

    layout='torch': (out, in, *receptive) as torch.nn.init; fewer than 2 dims is an error.
    layout='keras': (*receptive, in, out) as Keras' compute_fans (0-D: 1, 1; 1-D: n, n).
    layout='jax': channels-last as Keras, but fewer than 2 dims is an error (jax.nn.initializers).
    in_axis / out_axis / batch_axis (ints or sequences) override the layout as in
    jax.nn.initializers.variance_scaling: fan_in = prod(shape[in_axis]) * receptive, where
    receptive = prod(shape) / (in * out * batch), so axes may overlap (flax's Embed: in_axis=-2,
    out_axis=0) and fans may be fractional, as in JAX.
    """
    shape = tuple(int(s) for s in shape)
    if layout not in LAYOUTS:
        raise ValueError(f"layout={layout!r} is not supported; use one of {list(LAYOUTS)}")
    if in_axis is not None or out_axis is not None or not (isinstance(batch_axis, (tuple, list)) and not batch_axis):
        if len(shape) < 2 and in_axis is None:
            raise ValueError(f"Can't compute fans of a {len(shape)}-dimensional weight with the default "
                             "in_axis=-2; must be at least 2-D, or give in_axis")
        in_size = math.prod(shape[a] for a in _axes(shape, -2 if in_axis is None else in_axis, "in_axis"))
        out_size = math.prod(shape[a] for a in _axes(shape, -1 if out_axis is None else out_axis, "out_axis"))
        batch_size = math.prod(shape[a] for a in _axes(shape, batch_axis, "batch_axis"))
        size, denominator = math.prod(shape), in_size * out_size * batch_size
        if denominator == 0:      # an empty weight: nothing is drawn, the fans only need to exist
            receptive = 0
        elif size % denominator == 0:
            receptive = size // denominator
        else:                     # JAX's order of operations
            receptive = size / in_size / out_size / batch_size
        return in_size * receptive, out_size * receptive
    if layout == "keras" and len(shape) < 2:
        return (1, 1) if len(shape) == 0 else (shape[0], shape[0])
    if len(shape) < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    if layout == "torch":
        receptive = math.prod(shape[2:])
        return shape[1] * receptive, shape[0] * receptive
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """torch.nn.init.calculate_gain: linear/conv*/sigmoid 1, tanh 5/3, relu sqrt(2),
    leaky_relu sqrt(2 / (1 + a^2)) (a = param, default 0.01), selu 3/4."""
    if nonlinearity in _LINEAR or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, int) or isinstance(param, float):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")
