"""Fan-based schemes: Xavier/Glorot, Kaiming/He, LeCun and Keras/JAX VarianceScaling.

Under torch's names the layout is torch's, (out, in, *receptive); Keras/JAX names take Keras'
channels-last layout and truncated normals.  ``layout``, ``in_axis``, ``out_axis`` and
``batch_axis`` choose the fans as fastinit.calculate_fans does."""
from __future__ import annotations

import inspect
import math

from .. import _validate as check
from .. import kernels
from .._plans import Plan
from ..fans import calculate_gain
from ._declare import derived, fans_or_none, scheme

# Std of a standard normal truncated to [-2, 2]: Keras/JAX divide by it so that a "truncated
# normal" variance-scaling init keeps the target variance.
TRUNCATED_NORMAL_STD = 0.87962566103423978

MODES = ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")
DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "normal", "uniform")


def _fan(fans, mode):
    fan_in, fan_out = fans
    if mode == "fan_in":
        return fan_in
    if mode == "fan_out":
        return fan_out
    if mode == "fan_avg":
        return (fan_in + fan_out) / 2.0
    return math.sqrt(fan_in * fan_out)


def _check_mode(mode, allowed):
    if not isinstance(mode, str) or mode.lower() not in allowed:
        raise ValueError(f"Mode {mode} not supported, please use one of {list(allowed)}")
    return mode.lower()


def _xavier_std(fans, gain):
    gain = check.real("gain", gain)
    if gain < 0:  # a negative gain would surface later as a bound error in names the caller never passed
        raise ValueError(f"gain must be >= 0; got {gain}")
    return gain * math.sqrt(2.0 / float(fans[0] + fans[1]))


@scheme("xavier_uniform", random=True, export="xavier_uniform_", aliases=("xavier_uniform_",),
        torch="xavier_uniform_", torch_check="fans")
def xavier_uniform(shape, fmt, gain: float = 1.0, *, layout: str = "torch", in_axis=None, out_axis=None,
                   batch_axis=()) -> Plan:
    """U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)).  Glorot & Bengio (2010)."""
    fans = fans_or_none(shape, layout, in_axis, out_axis, batch_axis)
    if fans is None:
        return Plan.empty
    a = math.sqrt(3.0) * _xavier_std(fans, gain)  # torch's order of operations: the bound matches to the bit
    return derived(kernels.uniform, shape, fmt, -a, a, gain=gain)


@scheme("xavier_normal", random=True, export="xavier_normal_", aliases=("xavier_normal_",),
        torch="xavier_normal_", torch_check="fans")
def xavier_normal(shape, fmt, gain: float = 1.0, *, layout: str = "torch", in_axis=None, out_axis=None,
                  batch_axis=()) -> Plan:
    """N(0, std²), std = gain * sqrt(2 / (fan_in + fan_out)).  Glorot & Bengio (2010)."""
    fans = fans_or_none(shape, layout, in_axis, out_axis, batch_axis)
    if fans is None:
        return Plan.empty
    return derived(kernels.normal, shape, fmt, 0.0, _xavier_std(fans, gain), gain=gain)


def _kaiming_std(fans, a, mode, nonlinearity):
    if isinstance(a, (int, float)) and not isinstance(a, bool):
        check.real("a", a)   # nan/inf/a huge int: an error naming a (calculate_gain keeps torch's own messages)
    fan = _fan(fans, _check_mode(mode, ("fan_in", "fan_out")))
    try:
        gain = calculate_gain(nonlinearity, a)
    except OverflowError:   # a ** 2 beyond float64 (|a| > ~1.3e154)
        raise ValueError(f"a={a!r}: the negative slope's square overflows float64; |a| must be below 1e154") from None
    return gain / math.sqrt(fan)


@scheme("kaiming_uniform", random=True, export="kaiming_uniform_", aliases=("kaiming_uniform_",),
        torch="kaiming_uniform_", torch_check="kaiming")
def kaiming_uniform(shape, fmt, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", *,
                    layout: str = "torch", in_axis=None, out_axis=None, batch_axis=()) -> Plan:
    """U(-b, b), b = gain * sqrt(3 / fan), gain = calculate_gain(nonlinearity, a).  He et al. (2015)."""
    fans = fans_or_none(shape, layout, in_axis, out_axis, batch_axis)
    if fans is None:
        return Plan.empty
    bound = math.sqrt(3.0) * _kaiming_std(fans, a, mode, nonlinearity)
    return kernels.uniform(shape, fmt, -bound, bound)


@scheme("kaiming_normal", random=True, export="kaiming_normal_", aliases=("kaiming_normal_",),
        torch="kaiming_normal_", torch_check="kaiming")
def kaiming_normal(shape, fmt, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", *,
                   layout: str = "torch", in_axis=None, out_axis=None, batch_axis=()) -> Plan:
    """N(0, std²), std = gain / sqrt(fan), gain = calculate_gain(nonlinearity, a).  He et al. (2015)."""
    fans = fans_or_none(shape, layout, in_axis, out_axis, batch_axis)
    if fans is None:
        return Plan.empty
    return kernels.normal(shape, fmt, 0.0, _kaiming_std(fans, a, mode, nonlinearity))


@scheme("variance_scaling", random=True, export="variance_scaling_", aliases=("variance_scaling_",),
        keras="VarianceScaling")
def variance_scaling(shape, fmt, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal", *,
                     layout: str = "torch", in_axis=None, out_axis=None, batch_axis=()) -> Plan:
    """Keras/JAX VarianceScaling: s = scale / max(1, fan), fan per mode (fan_geo_avg = sqrt(in*out), JAX).

    'truncated_normal': N(0, σ²) cut at ±2σ, σ = sqrt(s) / 0.8796... (so the variance is s);
    'untruncated_normal' and 'normal' (JAX's name; Keras has no 'normal'): N(0, s);
    'uniform': U(-sqrt(3 s), sqrt(3 s))."""
    scale = check.real("scale", scale)
    if not scale > 0:
        raise ValueError(f"scale must be a positive float; got {scale}")
    mode = _check_mode(mode, MODES)
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"distribution={distribution!r} is not supported; use one of {list(DISTRIBUTIONS)}")
    fans = fans_or_none(shape, layout, in_axis, out_axis, batch_axis)
    if fans is None:
        return Plan.empty
    s = scale / max(1.0, _fan(fans, mode))
    if distribution == "truncated_normal":
        std = math.sqrt(s) / TRUNCATED_NORMAL_STD
        return derived(kernels.trunc_normal, shape, fmt, 0.0, std, -2.0 * std, 2.0 * std, scale=scale)
    if distribution == "uniform":
        limit = math.sqrt(3.0 * s)
        return derived(kernels.uniform, shape, fmt, -limit, limit, scale=scale)
    return derived(kernels.normal, shape, fmt, 0.0, math.sqrt(s), scale=scale)


def _fixed(name: str, target, doc: str, layout: str, **fixed):
    """A planning function: ``target`` with some arguments fixed and ``layout`` as the default."""
    sig = inspect.signature(target)
    params = [p.replace(default=layout) if p.name == "layout" else p
              for p in sig.parameters.values() if p.name not in fixed]
    fixed_sig = sig.replace(parameters=params)

    def plan(*args, **kwargs):
        bound = fixed_sig.bind(*args, **kwargs)
        bound.apply_defaults()
        return target(**bound.arguments, **fixed)

    plan.__name__ = plan.__qualname__ = name
    plan.__doc__ = doc
    plan.__signature__ = fixed_sig
    return plan


def _declare_fixed(name: str, doc: str, *, layout: str, record: dict, **fixed) -> None:
    scheme(name, random=True, **record)(_fixed(name, variance_scaling, doc, layout, **fixed))


# torch-layout LeCun (fastinit's own; torch has none) and the Keras/JAX names (Keras semantics)
_declare_fixed("lecun_uniform_", "U(-sqrt(3 / fan_in), sqrt(3 / fan_in)).  LeCun et al., Efficient BackProp (1998).",
               layout="torch", record={}, scale=1.0, mode="fan_in", distribution="uniform")
_declare_fixed("lecun_normal_", "Truncated normal (±2σ) with variance 1 / fan_in, as Keras lecun_normal "
               "(Klambauer et al. 2017).", layout="torch", record={}, scale=1.0, mode="fan_in",
               distribution="truncated_normal")
for _name, _keras, _doc, _scale, _mode, _dist in [
        ("glorot_uniform", "GlorotUniform", "Keras GlorotUniform: U(±sqrt(6 / (fan_in + fan_out))).",
         1.0, "fan_avg", "uniform"),
        ("glorot_normal", "GlorotNormal", "Keras GlorotNormal: truncated normal (±2σ), variance 2 / (fan_in + fan_out).",
         1.0, "fan_avg", "truncated_normal"),
        ("he_uniform", "HeUniform", "Keras HeUniform: U(±sqrt(6 / fan_in)).", 2.0, "fan_in", "uniform"),
        ("he_normal", "HeNormal", "Keras HeNormal: truncated normal (±2σ), variance 2 / fan_in.",
         2.0, "fan_in", "truncated_normal"),
        ("lecun_uniform", "LecunUniform", "Keras LecunUniform: U(±sqrt(3 / fan_in)).", 1.0, "fan_in", "uniform"),
        ("lecun_normal", "LecunNormal", "Keras LecunNormal: truncated normal (±2σ), variance 1 / fan_in.",
         1.0, "fan_in", "truncated_normal")]:
    _declare_fixed(_name, _doc, layout="keras", record=dict(keras=_keras, jax=_name), scale=_scale, mode=_mode,
                   distribution=_dist)
del _name, _keras, _doc, _scale, _mode, _dist
