"""The public fill kernels: uniform_, normal_, trunc_normal_ and the raw philox4x32.

Element i of a fill is a pure function of (seed, stream, offset + i): the result does not depend
on the number of threads, on chunking, or on the CPU, and filling ``out`` with ``offset=k`` gives
exactly elements k, k+1, ... of the fill of a larger array.  Each distribution is a planning
function (``uniform(shape, fmt, low, high) -> Plan``: checks, and the kernel's parameters for the
format) and an in-place function made from it by the executor (``uniform_(out, low, high, *,
seed, stream, offset, num_threads, dtype, full_shape)``).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from . import _fill
from . import _validate as check
from ._executor import inplace
from ._fill import Dist, Method
from ._formats import FLOAT32, Format
from ._plans import Draw, Plan

UNIFORM, NORMAL, TRUNC = Dist.UNIFORM, Dist.NORMAL, Dist.TRUNC  # (the C header's enum fi_dist)
# Largest |z| the kernels can produce: 32-bit draws reach Phi^-1(2^-33) = 6.23 (float32-family
# outputs), 64-bit draws Phi^-1(2^-65) = 9.1 (float64).
_ZMAX = {False: 6.5, True: 9.5}
_TINY_NARROW = 1e-30   # below this the float32 probit (valid to ~5e-32) hands over to float64
_TINY_WIDE = 1e-300    # below this even float64 cannot invert the normal CDF
# An interval is "narrow" (drawn by the series method) when (|alpha| + 1) * h <= 2^-5, h its width
# in std units: the series then converges by a factor 2^-5 per term, so FI_SERIES_N = 12 terms
# reach float64 rounding; wider intervals lose at most ~6 bits of 53 to the inversion.
_NARROW = 2.0 ** -5


def _in_range(fmt: Format, **values: float) -> None:
    limit = fmt.max if fmt.wide else min(FLOAT32.max, fmt.max)  # narrow formats compute in float32
    for name, v in values.items():
        if abs(v) > limit:
            raise ValueError(f"{name}={v} is outside the range of {fmt.name} (±{limit:.6g})")


def uniform(shape, fmt: Format, low: float = 0.0, high: float = 1.0) -> Plan:
    """U[low, high): ``low + (high - low) * u``, u a 24-bit (float32, float16, bfloat16) or 53-bit
    (float64) uniform from Philox4x32-10.  Every value is >= low and < high after rounding to
    out's dtype; low == high fills every element with low rounded to the dtype (nearest, ties to
    even), whichever way it rounds."""
    low, high = check.real("low", low), check.real("high", high)
    if low > high:
        raise ValueError(f"low must be <= high; got low={low}, high={high}")
    _in_range(fmt, low=low, high=high)
    scale = high - low
    if not fmt.wide and scale > FLOAT32.max or math.isinf(scale):
        raise ValueError(f"high - low = {scale} overflows {fmt.name if fmt.wide else 'float32'} arithmetic")
    if high == low:
        clamp_lo = clamp_hi = fmt.round(low)
    else:
        clamp_lo, clamp_hi = fmt.at_least(low), fmt.below(high)
        if clamp_lo > clamp_hi:
            raise ValueError(f"no {fmt.name} value lies in [low, high) = [{low!r}, {high!r})")
    return Plan(Draw(UNIFORM, (low, high), dict(loc=low, scale=scale, clamp_lo=clamp_lo, clamp_hi=clamp_hi,
                                                 wide=fmt.wide)))


def normal(shape, fmt: Format, mean: float = 0.0, std: float = 1.0) -> Plan:
    """N(mean, std²) by inversion, ``mean + std * Phi^-1(u)``, u in (0, 1) strictly (never inf or
    nan).  float64 uses Wichura's AS 241; float32/float16/bfloat16 a float32 probit (relative
    error ~2e-7) rounded correctly to the output dtype."""
    mean, std = check.real("mean", mean), check.real("std", std)
    if std < 0:
        raise ValueError(f"std must be >= 0; got {std}")
    _in_range(fmt, mean=mean, std=std)
    reach = abs(mean) + _ZMAX[fmt.wide] * std
    if reach > fmt.max:
        raise ValueError(f"normal_(mean={mean}, std={std}) reaches ±{reach:.6g}, beyond {fmt.name}'s "
                         f"largest value {fmt.max:.6g}")
    return Plan(Draw(NORMAL, (mean, std), dict(loc=mean, scale=std, clamp_lo=-fmt.max, clamp_hi=fmt.max,
                                               wide=fmt.wide)))


class TruncParams(NamedTuple):
    """How the kernels draw one truncated normal (the trunc fields of the C struct fi_params)."""
    method: Method        # INVERT: by the inverse CDF; SERIES: narrow interval, by a power series
    wide: bool            # compute in float64
    loc: float            # INVERT: mean; SERIES: a
    scale: float          # INVERT: std; SERIES: std * D(h)
    p_lo: float           # INVERT: Phi(alpha)
    p_hi: float           # INVERT: Phi(-beta)
    mass: float           # INVERT: Phi(beta) - Phi(alpha)
    coef: tuple           # SERIES: P in x = a + scale * u P(u), ascending powers
    clamp_lo: float       # values are clamped to [clamp_lo, clamp_hi], representable in the format
    clamp_hi: float


def _series(alpha: float, h: float) -> tuple[float, tuple]:
    """For the normal density truncated to [alpha, alpha + h] (std units, (|alpha| + 1) h small):
    D(h) = integral_0^h exp(-alpha s - s²/2) ds and the coefficients P of the inverse CDF,
    delta = D(h) u P(u) for u in (0, 1).  With y = D(h) u, delta(y) solves
    d delta / dy = exp(alpha delta + delta²/2), delta(0) = 0 (Phi(alpha + delta) - Phi(alpha) =
    phi(alpha) y); its Taylor series in u follows by fixed-point iteration on the coefficients."""
    # exp(-alpha s - s²/2) = sum c_n s^n, (n+1) c_{n+1} = -alpha c_n - c_{n-1}; scaled: t_n = c_n h^n
    t_prev, t, total = 0.0, 1.0, 1.0
    for n in range(60):
        t_prev, t = t, (-alpha * h * t - h * h * t_prev) / (n + 1)
        total += t / (n + 2)
        if abs(t) + abs(t_prev) < 1e-20 * abs(total):  # (odd terms vanish when alpha = 0)
            break
    big_d = h * total
    # exp(alpha delta + delta²/2) in powers of delta~ = delta / D: e_m = [delta~^m], (m+1) e_{m+1} =
    # alpha D e_m + D² e_{m-1}
    n_terms = _fill.SERIES_TERMS
    e = [1.0, alpha * big_d]
    for m in range(1, n_terms):
        e.append((alpha * big_d * e[m] + big_d * big_d * e[m - 1]) / (m + 1))
    d = np.zeros(n_terms + 1)                  # delta~(u) = sum d_n u^n, n = 1..n_terms
    d[1] = 1.0
    for _ in range(n_terms):                   # each pass fixes one more coefficient
        comp = np.zeros(n_terms + 1)           # E(delta~(u)), truncated
        power = np.zeros(n_terms + 1)
        power[0] = 1.0
        for m in range(n_terms):
            comp += e[m] * power
            power = np.convolve(power, d)[:n_terms + 1]
        d[1:] = comp[:n_terms] / np.arange(1, n_terms + 1)
    return big_d, tuple(float(c) for c in d[1:])


def trunc_params(mean: float, std: float, a: float, b: float, fmt: Format) -> TruncParams:
    """The kernel parameters for N(mean, std²) truncated to [a, b] in format fmt (pure; arguments
    already checked: finite mean, std > 0, a < b, possibly infinite).  Raises ValueError when the
    interval cannot be sampled in fmt.

    Narrow intervals ((|alpha| + 1) (b - a) / std <= 2^-5) are drawn as a + std * delta with the
    offset delta a power series in u (see _series): exact to rounding and at full resolution
    however narrow the interval is relative to std.  Others by inversion from the nearer tail."""
    alpha, beta = (a - mean) / std, (b - mean) / std
    h = (b - a) / std
    clamp_lo = -fmt.max if a <= -fmt.max else fmt.at_least(a)
    clamp_hi = fmt.max if b >= fmt.max else fmt.at_most(b)
    if clamp_lo > clamp_hi:
        raise ValueError(f"no {fmt.name} value lies in [a, b] = [{a!r}, {b!r}]")
    if math.isfinite(h) and (abs(alpha) + 1.0) * h <= _NARROW:
        if max(abs(a), abs(b)) > fmt.max:
            raise ValueError(f"[a, b] = [{a}, {b}] lies beyond {fmt.name}'s largest value {fmt.max:.6g}")
        big_d, coef = _series(alpha, h)
        scale = std * big_d
        # float32 arithmetic needs the step scale * u to stay a normal float32
        wide = fmt.wide or abs(scale) < 1e-30
        return TruncParams(Method.SERIES, wide, a, scale, 0.0, 0.0, 1.0, coef, clamp_lo, clamp_hi)
    from scipy.special import ndtr, ndtri  # (imported here: it is most of `import fastinit`'s time)

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
        t_max = 0.5 if alpha <= 0 <= beta else float(ndtr(-min(abs(alpha), abs(beta))))
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
    return TruncParams(Method.INVERT, wide, mean, std, p_lo, p_hi, mass, (), clamp_lo, clamp_hi)


def trunc_normal(shape, fmt: Format, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0) -> Plan:
    """N(mean, std²) truncated to [a, b] (absolute bounds, as torch.nn.init).

    Single pass, by inversion: ``mean + std * Phi^-1(Phi(alpha) + u (Phi(beta) - Phi(alpha)))`` with
    alpha, beta = (a - mean) / std, (b - mean) / std, evaluated from whichever tail is nearer so
    that narrow and far-tail intervals (a=2, b=3; a=8, b=9) keep full precision.  Intervals narrow
    relative to std (e.g. std=1e15, a=-2, b=2) are drawn as an offset from a, a short power series
    in u, so values keep full resolution across [a, b] for every std > 0 (see trunc_params).
    Bounds are computed in float64 and every value lies in [a, b] after rounding to out's dtype;
    a or b may be infinite.  Reference: Devroye, Non-Uniform Random Variate Generation (1986), ch. 2."""
    mean, std = check.real("mean", mean), check.real("std", std)
    a, b = check.real("a", a, allow_inf=True), check.real("b", b, allow_inf=True)
    if not std > 0:
        raise ValueError(f"std must be > 0 for trunc_normal_; got {std}")
    if not a < b:
        raise ValueError(f"a must be < b; got a={a}, b={b}")
    _in_range(fmt if fmt.wide else FLOAT32, mean=mean, std=std)  # values themselves: trunc_params
    tp = trunc_params(mean, std, a, b, fmt)
    return Plan(Draw(TRUNC, (mean, std, a, b), dict(wide=tp.wide, method=tp.method, loc=tp.loc, scale=tp.scale,
                                                    p_lo=tp.p_lo, p_hi=tp.p_hi, mass=tp.mass, coef=tp.coef,
                                                    clamp_lo=tp.clamp_lo, clamp_hi=tp.clamp_hi)))


# The public kernels: each validates every argument before writing anything, fills ``out`` in
# place with the GIL released, and returns it.
uniform_ = inplace(uniform, "uniform_", random=True, unbounded=True)
normal_ = inplace(normal, "normal_", random=True, unbounded=True)
trunc_normal_ = inplace(trunc_normal, "trunc_normal_", random=True, unbounded=True)


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
    _fill.philox4x32(ctr, k, out)
    return out


def _uint32_array(name: str, value) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype.kind not in "ui":
        raise TypeError(f"{name} must hold integers in [0, 2**32); got dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() > 0xFFFFFFFF):
        raise ValueError(f"{name} must hold integers in [0, 2**32)")
    return np.ascontiguousarray(arr, dtype=np.uint32)
