"""The public fill kernels: uniform_, normal_, trunc_normal_ and the raw philox4x32.

Element i of a fill is a pure function of (seed, stream, offset + i): the result does not depend
on the number of threads, on chunking, or on the CPU, and filling ``out`` with ``offset=k`` gives
exactly elements k, k+1, ... of the fill of a larger array.  Each function validates every
argument before writing anything, fills ``out`` in place with the GIL released, and returns it.
"""
from __future__ import annotations

import math

import numpy as np

from . import _fill, _runtime, _seeding
from . import _validate as check
from ._formats import FLOAT32, Format

UNIFORM, NORMAL, TRUNC = 0, 1, 2  # enum fi_dist
# Largest |z| the kernels can produce: 32-bit draws reach Phi^-1(2^-33) = 6.23 (float32-family
# outputs), 64-bit draws Phi^-1(2^-65) = 9.1 (float64).
_ZMAX = {False: 6.5, True: 9.5}
_TINY_NARROW = 1e-30   # below this the float32 probit (valid to ~5e-32) hands over to float64
_TINY_WIDE = 1e-300    # below this even float64 cannot invert the normal CDF


def _fill_out(out, fmt: Format, dist: int, *, seed, stream, offset, full_shape, num_threads, loc, scale,
              p_lo=0.0, p_hi=0.0, mass=1.0, clamp_lo, clamp_hi, wide) -> np.ndarray:
    _, first = check.shard(full_shape, offset, out.shape)
    seed = _seeding.resolve(seed)
    stream = check.uint64("stream", stream)
    nt, automatic = _runtime.fill_threads(check.threads(num_threads), out.size)
    if out.size:
        cost = _fill.fill(out.ctypes.data, out.size, first, fmt.itemsize, dist, fmt.code, int(wide), seed, stream,
                          loc, scale, p_lo, p_hi, mass, clamp_lo, clamp_hi, nt, _runtime.path_code())
        if automatic:
            _runtime.record_fill(out.size, cost)
    return out


def _in_range(fmt: Format, **values: float) -> None:
    limit = fmt.max if fmt.wide else min(FLOAT32.max, fmt.max)  # narrow formats compute in float32
    for name, v in values.items():
        if abs(v) > limit:
            raise ValueError(f"{name}={v} is outside the range of {fmt.name} (±{limit:.6g})")


def uniform_(out: np.ndarray, low: float = 0.0, high: float = 1.0, *, seed: int | None = None,
             stream: int = 0, offset: int = 0, num_threads: int | None = None, dtype=None,
             full_shape=None) -> np.ndarray:
    """Fill ``out`` with U[low, high): ``low + (high - low) * u``, u a 24-bit (float32, float16,
    bfloat16) or 53-bit (float64) uniform from Philox4x32-10.  Every value is >= low and < high
    after rounding to out's dtype (low == high fills with low).  ``full_shape``, when given, is
    the whole tensor ``out`` is a shard of (at ``offset``) and is only checked."""
    out, fmt = check.out_array(out, dtype)
    low, high = check.real("low", low), check.real("high", high)
    if low > high:
        raise ValueError(f"low must be <= high; got low={low}, high={high}")
    _in_range(fmt, low=low, high=high)
    scale = high - low
    if not fmt.wide and scale > FLOAT32.max or math.isinf(scale):
        raise ValueError(f"high - low = {scale} overflows {fmt.name if fmt.wide else 'float32'} arithmetic")
    clamp_lo = fmt.at_least(low)
    clamp_hi = fmt.below(high) if high > low else fmt.round(low)
    if clamp_lo > clamp_hi:
        raise ValueError(f"no {fmt.name} value lies in [low, high) = [{low!r}, {high!r})")
    return _fill_out(out, fmt, UNIFORM, seed=seed, stream=stream, offset=offset, full_shape=full_shape, num_threads=num_threads,
                     loc=low, scale=scale, clamp_lo=clamp_lo, clamp_hi=clamp_hi, wide=fmt.wide)


def normal_(out: np.ndarray, mean: float = 0.0, std: float = 1.0, *, seed: int | None = None,
            stream: int = 0, offset: int = 0, num_threads: int | None = None, dtype=None,
            full_shape=None) -> np.ndarray:
    """Fill ``out`` with N(mean, std²) by inversion, ``mean + std * Phi^-1(u)``, u in (0, 1) strictly
    (never inf or nan).  float64 uses Wichura's AS 241; float32/float16/bfloat16 a float32 probit
    (relative error ~2e-7) rounded correctly to the output dtype."""
    out, fmt = check.out_array(out, dtype)
    mean, std = check.real("mean", mean), check.real("std", std)
    if std < 0:
        raise ValueError(f"std must be >= 0; got {std}")
    _in_range(fmt, mean=mean, std=std)
    reach = abs(mean) + _ZMAX[fmt.wide] * std
    if reach > fmt.max:
        raise ValueError(f"normal_(mean={mean}, std={std}) reaches ±{reach:.6g}, beyond {fmt.name}'s "
                         f"largest value {fmt.max:.6g}")
    return _fill_out(out, fmt, NORMAL, seed=seed, stream=stream, offset=offset, full_shape=full_shape, num_threads=num_threads,
                     loc=mean, scale=std, clamp_lo=-fmt.max, clamp_hi=fmt.max, wide=fmt.wide)


def _normal_tail(x: float) -> float:
    """min(Phi(x), 1 - Phi(x)) without cancellation."""
    from scipy.special import ndtr
    return float(ndtr(-abs(x)))


def trunc_normal_(out: np.ndarray, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0, *,
                  seed: int | None = None, stream: int = 0, offset: int = 0, num_threads: int | None = None,
                  dtype=None, full_shape=None) -> np.ndarray:
    """Fill ``out`` with N(mean, std²) truncated to [a, b] (absolute bounds, as torch.nn.init).

    Single pass, by inversion: ``mean + std * Phi^-1(Phi(alpha) + u (Phi(beta) - Phi(alpha)))`` with
    alpha, beta = (a - mean) / std, (b - mean) / std, evaluated from whichever tail is nearer so
    that narrow and far-tail intervals (a=2, b=3; a=8, b=9) keep full precision.  Bounds are
    computed in float64 and every value lies in [a, b] after rounding to out's dtype; a or b may
    be infinite.  Reference: Devroye, Non-Uniform Random Variate Generation (1986), ch. 2."""
    from scipy.special import ndtr, ndtri  # (imported here: it is most of `import fastinit`'s time)

    out, fmt = check.out_array(out, dtype)
    mean, std = check.real("mean", mean), check.real("std", std)
    a, b = check.real("a", a, allow_inf=True), check.real("b", b, allow_inf=True)
    if not std > 0:
        raise ValueError(f"std must be > 0 for trunc_normal_; got {std}")
    if not a < b:
        raise ValueError(f"a must be < b; got a={a}, b={b}")
    _in_range(fmt, mean=mean, std=std)
    alpha, beta = (a - mean) / std, (b - mean) / std
    p_lo, p_hi = float(ndtr(alpha)), float(ndtr(-beta))
    if beta <= 0:
        mass = float(ndtr(beta) - ndtr(alpha))
    elif alpha >= 0:
        mass = float(ndtr(-alpha) - ndtr(-beta))
    else:
        mass = 1.0 - p_lo - p_hi
    wide = fmt.wide
    u_min = 2.0 ** -54 if wide else 2.0 ** -33
    t_min = min(p_lo, p_hi) + u_min * mass
    if not mass > 0 or t_min < _TINY_WIDE:
        raise ValueError(f"[a, b] = [{a}, {b}] has probability {mass:.3g} under N({mean}, {std}²) and lies "
                         "too far in the tail (beyond ~37 std) to sample by inversion in float64")
    if not wide:
        t_max = 0.5 if alpha <= 0 <= beta else _normal_tail(min(abs(alpha), abs(beta)))
        # float32 inversion needs the tail probabilities in float32 range and enough float32
        # resolution across the interval; otherwise compute this fill in float64.
        wide = t_min < _TINY_NARROW or mass < _TINY_NARROW or mass < t_max / 64
    # The extreme values the draws can reach (u from u_min to 1 - u_min), for the overflow check;
    # finite bounds are then enforced by clamping to the representable values inside [a, b].
    reach_lo = mean + std * float(ndtri(p_lo + u_min * mass)) if p_lo <= 0.5 else a
    reach_hi = mean - std * float(ndtri(p_hi + u_min * mass)) if p_hi <= 0.5 else b
    if max(a, reach_lo) < -fmt.max or min(b, reach_hi) > fmt.max:
        raise ValueError(f"trunc_normal_(mean={mean}, std={std}, a={a}, b={b}) reaches beyond {fmt.name}'s "
                         f"largest value {fmt.max:.6g}")
    clamp_lo = -fmt.max if a <= -fmt.max else fmt.at_least(a)
    clamp_hi = fmt.max if b >= fmt.max else fmt.at_most(b)
    if clamp_lo > clamp_hi:
        raise ValueError(f"no {fmt.name} value lies in [a, b] = [{a!r}, {b!r}]")
    return _fill_out(out, fmt, TRUNC, seed=seed, stream=stream, offset=offset, full_shape=full_shape, num_threads=num_threads,
                     loc=mean, scale=std, p_lo=p_lo, p_hi=p_hi, mass=mass, clamp_lo=clamp_lo, clamp_hi=clamp_hi,
                     wide=wide)


def philox4x32(counters, key) -> np.ndarray:
    """Philox4x32-10 (Salmon, Moraes, Dror, Shaw, "Parallel random numbers: as easy as 1, 2, 3",
    SC'11) on each row of ``counters`` (uint32, shape (n, 4)) with ``key`` (uint32, shape (2,)).
    Returns uint32 of shape (n, 4).  Fills use block 16*g + l for element group g (see
    fastinit/_src/fi_kernels.h), with counter (lo32, hi32 of the block, stream lo, stream hi)."""
    ctr = _uint32_array("counters", counters)
    k = _uint32_array("key", key)
    if ctr.ndim != 2 or ctr.shape[1] != 4:
        raise ValueError(f"counters must have shape (n, 4); got {ctr.shape}")
    if k.shape != (2,):
        raise ValueError(f"key must have shape (2,); got {k.shape}")
    out = np.empty_like(ctr)
    if len(ctr):
        _fill.philox4x32(ctr.ctypes.data, out.ctypes.data, len(ctr), int(k[0]), int(k[1]))
    return out


def _uint32_array(name: str, value) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype.kind not in "ui":
        raise TypeError(f"{name} must hold integers in [0, 2**32); got dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() > 0xFFFFFFFF):
        raise ValueError(f"{name} must hold integers in [0, 2**32)")
    return np.ascontiguousarray(arr, dtype=np.uint32)
