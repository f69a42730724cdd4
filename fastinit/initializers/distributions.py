"""The distributions under torch.nn.init's and Keras' names, over the kernels' plans
(fastinit/kernels.py): uniform_ (torch's a, b), normal_, trunc_normal_, and Keras' RandomUniform,
RandomNormal and TruncatedNormal."""
from __future__ import annotations

import inspect

from .. import _validate as check
from .. import kernels
from .._plans import Plan
from ._declare import add, derived, scheme

_UNSET = object()   # "not passed": a=None must stay an error, as in torch


def _one_of(name: str, value, alias: str, alias_value, default) -> tuple[str, object]:
    """(the name the caller used, its value) of a parameter that has two names."""
    if value is not _UNSET and alias_value is not None:
        raise ValueError(f"{name}= and {alias}= are the same parameter (torch's name and the kernel's); pass one")
    if alias_value is not None:
        return alias, alias_value
    return name, default if value is _UNSET else value


def uniform(shape, fmt, a: float = _UNSET, b: float = _UNSET, *, low: float | None = None,
            high: float | None = None) -> Plan:
    """U[a, b) under torch.nn.init.uniform_'s names, a=0.0, b=1.0 (the kernel ``fastinit.uniform_``
    calls them low, high, and those are accepted too); errors name the parameter the caller used."""
    low_name, low = _one_of("a", a, "low", low, 0.0)
    high_name, high = _one_of("b", b, "high", high, 1.0)
    low, high = check.real(low_name, low), check.real(high_name, high)
    if low > high:
        raise ValueError(f"{low_name} must be <= {high_name}; got {low_name}={low}, {high_name}={high}")
    return kernels.uniform(shape, fmt, low, high)


# what help() and the registry show: torch's defaults (the sentinel only tells "not passed")
uniform.__signature__ = inspect.signature(uniform).replace(parameters=[
    p.replace(default={"a": 0.0, "b": 1.0}.get(p.name, p.default)) for p in inspect.signature(uniform).parameters.values()])
scheme("uniform", random=True, export="", aliases=("uniform_",), torch="uniform_")(uniform)


add("normal", kernels.normal, kernels.normal_, random=True, aliases=("normal_",), torch="normal_")
add("trunc_normal", kernels.trunc_normal, kernels.trunc_normal_, random=True, aliases=("trunc_normal_",),
    torch="trunc_normal_")


@scheme("truncated_normal", random=True, keras="TruncatedNormal")
def truncated_normal(shape, fmt, mean: float = 0.0, stddev: float = 0.05) -> Plan:
    """Keras TruncatedNormal(mean=0, stddev=0.05): N(mean, stddev²) cut at mean ± 2 stddev."""
    mean, stddev = check.real("mean", mean), check.real("stddev", stddev)   # (before mean - 2 stddev: no OverflowError)
    if not stddev > 0:
        raise ValueError(f"stddev must be > 0; got {stddev}")
    return derived(kernels.trunc_normal, shape, fmt, mean, stddev, mean - 2.0 * stddev, mean + 2.0 * stddev,
                   mean=mean, stddev=stddev)


@scheme("random_uniform", random=True, keras="RandomUniform")
def random_uniform(shape, fmt, minval: float = -0.05, maxval: float = 0.05) -> Plan:
    """Keras RandomUniform(minval=-0.05, maxval=0.05)."""
    if check.real("minval", minval) > check.real("maxval", maxval):   # (errors in the caller's names)
        raise ValueError(f"minval must be <= maxval; got minval={minval}, maxval={maxval}")
    return derived(kernels.uniform, shape, fmt, minval, maxval, minval=minval, maxval=maxval)


@scheme("random_normal", random=True, keras="RandomNormal")
def random_normal(shape, fmt, mean: float = 0.0, stddev: float = 0.05) -> Plan:
    """Keras RandomNormal(mean=0, stddev=0.05)."""
    mean, stddev = check.real("mean", mean), check.real("stddev", stddev)
    if stddev < 0:
        raise ValueError(f"stddev must be >= 0; got {stddev}")
    return derived(kernels.normal, shape, fmt, mean, stddev, mean=mean, stddev=stddev)
