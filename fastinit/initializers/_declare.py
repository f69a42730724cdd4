"""How a scheme is declared: once, as a planning function and one record.

``@scheme("xavier_uniform", random=True, torch="xavier_uniform_", ...)`` over a planning function
``plan(shape, fmt, *params) -> Plan`` (fastinit/_plans.py) registers a :class:`Scheme` record and
makes its in-place function (fastinit/_executor.py).  Everything else is made from the records:
``fastinit.init``/``get``/``schemes`` and fastinit's public names, the torch.nn.init drop-ins of
fastinit.torch (``torch=``), the Keras classes of fastinit.keras (``keras=``) and the fan-axis
builders of fastinit.jax (``jax=``).
"""
from __future__ import annotations

import difflib
import functools
import inspect
import math
from dataclasses import dataclass, field
from typing import Callable

from .. import _validate as check
from .._executor import Fill, inplace, randomness, resolved, warn_caller
from .._formats import format_named
from ..fans import calculate_fans

SCHEMES: list["Scheme"] = []          # in declaration order
BY_NAME: dict[str, "Scheme"] = {}     # every name and alias

_RESERVED = ("full_shape", "offset", "out", "dtype")


@dataclass(frozen=True)
class Scheme:
    """One scheme.

    ``plan(shape, fmt, *params)`` checks the parameters and returns what the whole tensor gets;
    ``fn`` is its in-place function (``fn(out, *params, full_shape=, offset=, seed=, stream=,
    num_threads=, dtype=)``).  ``random``: it draws random numbers (takes ``seed=``);
    ``whole_tensor``: a value depends on the whole tensor (a QR, a per-column mask), not only on
    (seed, index).  ``aliases``: more names it is found by.  ``torch``: its torch.nn.init name, and
    ``torch_check`` the torch code fastinit.torch runs first so that shape errors are torch's own
    ("call": the torch function on a meta tensor; "fans", "kaiming", "rank2").  ``keras``: the
    keras.initializers class fastinit.keras subclasses with it (a class whose arguments are the
    fans' axes only).  ``jax``: the jax.nn.initializers builder of (in_axis, out_axis, batch_axis,
    dtype) that fastinit.jax makes with it."""
    name: str
    plan: Callable
    fn: Callable = field(repr=False)
    random: bool
    whole_tensor: bool = False
    aliases: tuple[str, ...] = ()
    torch: str | None = None
    torch_check: str | None = None
    keras: str | None = None
    jax: str | None = None
    export: bool = True

    @functools.cached_property
    def accepted(self) -> tuple[str, ...]:
        """The keyword parameters ``fastinit.init`` passes on to ``fn`` (all but out; read once)."""
        return tuple(p for p in inspect.signature(self.fn).parameters if p != "out")

    def check_params(self, params: dict, reserved: tuple[str, ...] = ()) -> None:
        """Unknown parameter names are an error naming the close matches and what is accepted;
        ``reserved`` names are set by the caller (fastinit) and refused too."""
        accepted = self.accepted
        for key in params:
            if key in reserved:
                raise ValueError(f"{key}= is set by fastinit here; do not pass it")
            if key not in accepted:
                close = difflib.get_close_matches(key, accepted, n=2)
                hint = f"; did you mean {' or '.join(close)}?" if close else ""
                raise ValueError(f"scheme {self.name!r} has no parameter {key!r}{hint} (accepted: {', '.join(accepted)})")

    def prepare(self, full_shape, dtype, *, seed: int | None = None, **params) -> Fill:
        """One validated call of this scheme on a whole tensor of ``full_shape`` and ``dtype`` (a
        numpy dtype, or "bfloat16"/"float16" for uint16 storage): every argument checked once,
        a fresh seed drawn when ``seed`` is None; its ``flat``/``block`` then fill any part.
        Nothing is written here."""
        self.check_params(params, _RESERVED)
        stream, threads = params.pop("stream", 0), params.pop("num_threads", None)
        if not self.random and seed is not None:
            raise ValueError(f"scheme {self.name!r} is not random and takes no seed")
        full = check.shape("full_shape", full_shape, allow_int=False)
        fmt = format_named(dtype)
        rand = randomness(seed, stream, threads) if self.random else None
        return Fill(self.plan(full, fmt, **params), full, fmt, resolved(rand))


def _register(rec: Scheme) -> None:
    names = (rec.name, *rec.aliases)
    taken = [n for n in names if n in BY_NAME]
    if taken:
        raise ValueError(f"scheme name(s) {', '.join(map(repr, taken))} are declared already")
    SCHEMES.append(rec)
    BY_NAME.update(dict.fromkeys(names, rec))


def scheme(name: str, *, random: bool, export: str | None = None, **record) -> Callable:
    """Declare the decorated planning function as scheme ``name``; its in-place function is
    named ``export`` (default ``name``), or not exported when ``export=""``.  fastinit.init and
    get know it at once; the adapters imported afterwards make their functions from it."""
    def declare(plan: Callable) -> Callable:
        _register(Scheme(name, plan, inplace(plan, export or name, random=random), random, export=export != "",
                         **record))
        return plan
    return declare


def add(name: str, plan: Callable, fn: Callable, *, random: bool, **record) -> None:
    """Declare a scheme whose in-place function exists already (the kernels')."""
    _register(Scheme(name, plan, fn, random, export=False, **record))


def derived(plan: Callable, shape, fmt, *args, **given):
    """``plan(shape, fmt, *args)`` for values a scheme derived (a bound, a std); its error also
    names what the caller passed: gain=1e300 -> "low=-8.7e+299 is outside ... (from gain=1e+300)"."""
    try:
        return plan(shape, fmt, *args)
    except ValueError as e:
        raise ValueError(f"{e} (from {', '.join(f'{k}={check.short_repr(v)}' for k, v in given.items())})") from None


def fans_or_none(shape, layout, in_axis, out_axis, batch_axis):
    """(fan_in, fan_out), or None for an empty tensor (with torch's warning: nothing to draw)."""
    fans = calculate_fans(shape, layout, in_axis, out_axis, batch_axis)
    if math.prod(shape) == 0:
        warn_caller("Initializing zero-element tensors is a no-op")
        return None
    return fans
