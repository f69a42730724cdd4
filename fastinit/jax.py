"""fastinit.jax: the initializers of ``jax.nn.initializers``, filled by fastinit's kernels on the host.

Same names, signatures and defaults as ``jax.nn.initializers``; each builder returns a function
with JAX's ``Initializer`` protocol, ``init(key, shape, dtype=<builder's dtype>, out_sharding=None)
-> jax.Array``, so it drops into Flax (``kernel_init=``) or any JAX code.  JAX's distribution
semantics hold (``uniform`` is U[0, scale), ``truncated_normal`` bounds are in units of stddev,
fans from ``in_axis``/``out_axis``/``batch_axis``, ``orthogonal``'s ``column_axis``); the values
come from fastinit's counter-based kernels, not from JAX's PRNG:

* the key decides the values through one 64-bit seed, :func:`seed_of` (documented there), and
  every initializer is a registry scheme with fixed parameters (``init.scheme``, ``init.params``):
  ``init(key, shape, dtype)`` equals ``fastinit.init(shape, init.scheme, dtype=dtype,
  seed=seed_of(key), **init.params)`` bit for bit;
* ``out_sharding`` (a ``NamedSharding``, any ``jax.sharding.Sharding``, or a ``PartitionSpec``
  under ``jax.set_mesh``) builds the array block by block (``jax.make_array_from_callback``),
  each distinct device block filled once at its global index by ``fastinit.fill_block``: no
  process holds the whole array, and the values are the same for every mesh and partition spec;
* under a JAX transformation (``jax.jit``, ``jax.vmap``; the key is then a tracer) the fill runs on
  the host through ``jax.pure_callback`` with the key's data as argument (XLA copies its result
  into the output buffer); ``vmap`` over keys calls it once per key.  With ``out_sharding``
  under ``jit`` (a ``NamedSharding``, or a ``PartitionSpec`` under ``jax.set_mesh``) a
  ``jax.shard_map`` runs one callback per device, which fills that device's block at its global
  index (from the mesh axis indices): the same values, and again no whole array anywhere.

dtypes: float32, float64 (with ``jax_enable_x64``; otherwise JAX canonicalizes it to float32, as
its own initializers do), float16 and bfloat16.  Complex and integer dtypes are an error.
jax is an optional extra; ``import fastinit`` never imports it.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Sequence

import numpy as np

from ._extras import require

require("jax", "jax", "fastinit.jax")
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from . import _validate as check
from ._formats import NAMES as _FILLABLE
from ._jax_host import aligned_empty, concrete_sharding, filled, host_fill, outside_mesh
from .blocks import fill_block
from .kernels import philox4x32
from .initializers import SCHEMES as _SCHEMES
from .initializers.variance import MODES
from .registry import scheme as _scheme


_DISTRIBUTIONS = ("truncated_normal", "normal", "uniform")   # JAX's (Keras' 'untruncated_normal' is not one)
# Philox key that starts the hash of keys whose data is not two words (rbg, unsafe_rbg: four)
_KEY_HASH_TAG = 0x6A61786B  # "jaxk"
_SHARDINGS = "a jax.sharding.NamedSharding (or any jax.sharding.Sharding), a PartitionSpec under jax.set_mesh, or None"


# ---------------------------------------------------------------- keys -> seeds

def _key_words(key, *, where: str) -> Any:
    """The key's data as uint32 words (a jax array, maybe traced), after checking it is one key."""
    try:
        data = jax.random.key_data(key)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{where} takes a JAX PRNG key: jax.random.key(seed) or a raw uint32 key "
                        f"jax.random.PRNGKey(seed); got {key!r} ({e})") from None
    typed = jax.dtypes.issubdtype(getattr(key, "dtype", None), jax.dtypes.prng_key)
    if (typed and np.ndim(key) != 0) or (not typed and data.ndim != 1):
        raise ValueError(f"{where} takes a single key, but was given a key array of shape {np.shape(key)}; "
                         "use jax.vmap to initialize with a batch of keys")
    return data


def _seed_from_words(words: np.ndarray) -> int:
    w = [int(x) for x in np.asarray(words, dtype=np.uint32).reshape(-1)]
    if len(w) == 2:
        return (w[0] << 32) | w[1]
    # Any other size: a Philox4x32-10 chain over the words in blocks of four (zero-padded); the
    # running Philox key starts from (tag, word count) and becomes the first two output words.
    k0, k1 = _KEY_HASH_TAG, len(w)
    w += [0] * (-len(w) % 4)
    for i in range(0, len(w), 4):
        out = philox4x32([w[i:i + 4]], [k0, k1])[0]
        k0, k1 = int(out[0]), int(out[1])
    return k0 | (k1 << 32)


def seed_of(key) -> int:
    """The 64-bit fastinit seed of a JAX PRNG key (typed ``jax.random.key`` or raw uint32
    ``jax.random.PRNGKey``, any implementation), from the key's data (``jax.random.key_data``):

    * two words (threefry2x32, JAX's default): the words as one number, high word first,
      ``(w0 << 32) | w1``.  So ``seed_of(jax.random.key(s)) == s`` for 0 <= s < 2**32 (and for
      any 64-bit s under ``jax_enable_x64``), and split/fold_in keys give their own seeds.
    * any other number of words (rbg and unsafe_rbg: four): zero-padded to a multiple of four and
      hashed with Philox4x32-10, key (0x6A61786B, word count) at first, each block of four words
      a counter whose first two output words become the next key; the seed is ``k0 | k1 << 32``.

    ``fastinit.init(shape, "glorot_uniform", seed=seed_of(key))`` then equals
    ``fastinit.jax.glorot_uniform()(key, shape)`` bit for bit.  The key must be concrete: inside
    ``jax.jit`` the initializers derive the seed on the host themselves."""
    if isinstance(key, jax.core.Tracer):
        raise TypeError("seed_of needs a concrete key, but got a tracer (inside jax.jit or vmap); the "
                        "fastinit.jax initializers accept traced keys, or call seed_of outside the transformation")
    return _seed_from_words(np.asarray(_key_words(key, where="seed_of")))


# ---------------------------------------------------------------- one fill path for every initializer

def _fill_dtype(dtype) -> np.dtype:
    """JAX's dtype: the default float (float64 only with x64) when None, canonicalized as JAX does."""
    try:
        dt = np.dtype(jax.dtypes.canonicalize_dtype(float if dtype is None else dtype))
    except TypeError:
        raise TypeError(f"dtype={dtype!r} is not a dtype; fastinit.jax fills float32, float64, float16 "
                        "and bfloat16") from None
    if dt.name not in _FILLABLE:
        extra = (" (complex initializers: use jax.nn.initializers)" if dt.kind == "c" else "")
        raise TypeError(f"fastinit.jax fills float32, float64 (with jax_enable_x64), float16 and bfloat16; "
                        f"got dtype {dt}{extra}")
    return dt


def _tracing(key) -> bool:
    """Whether we are inside a JAX transformation (a traced key, or any array would be traced)."""
    return isinstance(key, jax.core.Tracer) or isinstance(jnp.zeros((), jnp.uint8), jax.core.Tracer)


def _check_params(scheme: str, params: dict, shape: tuple, dt: np.dtype) -> None:
    """Raise on bad parameters/shape before any callback is staged or any block filled."""
    rec = _scheme(scheme)
    # (an empty shape gets the eager call's shape checks too: (0,) has no fans)
    rec.prepare(shape, dt, seed=0 if rec.random else None, **params)


def _traced_sharded(scheme: str, params: dict, shape: tuple, dt: np.dtype, words, out_sharding) -> jax.Array:
    """Under a transformation: a shard_map whose body, on each device, fills that device's block
    by a host callback given the key's words and the block's global start (from the mesh axis
    indices), so here too no device or host holds the whole array."""
    if isinstance(out_sharding, jax.sharding.PartitionSpec):
        mesh, spec = jax.sharding.get_abstract_mesh(), out_sharding
        if mesh.empty:
            raise outside_mesh("out_sharding", out_sharding)
    elif isinstance(out_sharding, jax.sharding.NamedSharding):
        mesh, spec = out_sharding.mesh, out_sharding.spec
    else:
        raise TypeError(f"under jax.jit/vmap, out_sharding must be a NamedSharding or a PartitionSpec under "
                        f"jax.set_mesh; got {out_sharding!r} (outside jit any jax.sharding.Sharding works)")
    if len(spec) > len(shape):
        raise ValueError(f"out_sharding spec {spec} has more entries than shape {shape} has dimensions")
    dims = []   # per dimension: (mesh axes that split it, block length)
    for d, n in enumerate(shape):
        entry = spec[d] if d < len(spec) else None
        names = () if entry is None else tuple(entry) if isinstance(entry, (tuple, list)) else (entry,)
        parts = math.prod(mesh.shape[a] for a in names)
        if n % parts:
            raise ValueError(f"out_sharding {spec} splits dimension {d} of shape {shape} into {parts} parts, "
                             f"which does not divide {n} (JAX requires even shards)")
        dims.append((names, n // parts))
    block_shape = tuple(b for _, b in dims)
    rec = _scheme(scheme)

    def fill(words, starts):
        seed = _seed_from_words(words) if rec.random else None
        bounds = [(int(a), int(a) + b) for a, b in zip(np.asarray(starts).reshape(-1), block_shape)]
        return fill_block(aligned_empty(block_shape, dt), scheme, shape, bounds, seed=seed, **params)

    def body(words):
        starts = []
        for names, b in dims:
            pos = jnp.int32(0)
            for a in names:   # the first mesh axis of an entry is the major one, as in JAX's layout
                pos = pos * mesh.shape[a] + jax.lax.axis_index(a)
            starts.append(pos * b)
        starts = jnp.stack(starts) if starts else jnp.zeros((0,), jnp.int32)
        return jax.pure_callback(fill, jax.ShapeDtypeStruct(block_shape, dt), words, starts,
                                 vmap_method="sequential")

    return jax.shard_map(body, mesh=mesh, in_specs=jax.sharding.PartitionSpec(), out_specs=spec)(words)


def _run(scheme: str, params: dict, key, shape, dtype, out_sharding) -> jax.Array:
    rec = _scheme(scheme)
    shape = check.shape("shape", shape)
    dt = _fill_dtype(dtype)
    if _tracing(key):
        _check_params(scheme, params, shape, dt)
        # non-random schemes ignore the key: a dummy word keeps one callback signature
        words = _key_words(key, where=f"fastinit.jax {scheme}") if rec.random else jnp.zeros((2,), jnp.uint32)
        if out_sharding is not None and not (isinstance(out_sharding, jax.sharding.NamedSharding)
                                             and out_sharding.mesh.empty):
            return _traced_sharded(scheme, params, shape, dt, words, out_sharding)
        seed_of_words = _seed_from_words if rec.random else (lambda w: None)
        return jax.pure_callback(lambda w: host_fill(scheme, params, shape, dt, seed_of_words(w)),
                                 jax.ShapeDtypeStruct(shape, dt), words, vmap_method="sequential")
    seed = seed_of(key) if rec.random else None   # non-random schemes ignore the key, as JAX's do
    sharding = concrete_sharding(out_sharding, "out_sharding", _SHARDINGS)
    if out_sharding is None:
        sharding = _replicated_over_context_mesh(len(shape))
    return filled(scheme, params, shape, dt, seed, sharding)


def _replicated_over_context_mesh(ndim: int):
    """Under ``jax.set_mesh``, JAX's own initializers (any array JAX creates) return arrays
    replicated over the mesh (Flax's ``with_partitioning`` then reshards them, which needs a
    NamedSharding); outside one, None (a single device)."""
    mesh = jax.sharding.get_mesh()
    if mesh.empty:
        return None
    return jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec(*([None] * ndim)))


def _initializer(name: str, scheme: str, params: dict, default_dtype, doc: str) -> Callable:
    """An ``init(key, shape, dtype=default_dtype, out_sharding=None)`` with its registry mapping
    attached as ``.scheme`` and ``.params``."""
    def init(key, shape: Sequence[int], dtype=default_dtype, out_sharding=None) -> jax.Array:
        return _run(scheme, params, key, shape, dtype, out_sharding)

    init.__name__ = init.__qualname__ = name
    init.__doc__ = doc
    init.scheme, init.params = scheme, dict(params)
    return init


# ---------------------------------------------------------------- argument checks of the builders

def _number(name: str, value) -> float:
    """A real scalar (Python, numpy or 0-d JAX value)."""
    arr = np.asarray(value)
    if arr.ndim != 0 or arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be a real scalar; got {value!r}")
    return check.real(name, float(arr), allow_inf=name == "value")


def _axis_arg(name: str, value):
    """An int or a tuple of ints (JAX takes either)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{name} must be an int or a sequence of ints; got {value!r}")
    items = tuple(value)
    if not all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in items):
        raise TypeError(f"{name} must be an int or a sequence of ints; got {value!r}")
    return tuple(int(a) for a in items)


def _axes_params(in_axis, out_axis, batch_axis) -> dict:
    """The fan axes for the registry (only those that differ from JAX's defaults -2, -1, ())."""
    params = {"layout": "jax"}
    in_axis, out_axis, batch_axis = (_axis_arg("in_axis", in_axis), _axis_arg("out_axis", out_axis),
                                     _axis_arg("batch_axis", batch_axis))
    if in_axis != -2:
        params["in_axis"] = in_axis
    if out_axis != -1:
        params["out_axis"] = out_axis
    if batch_axis != ():
        params["batch_axis"] = batch_axis
    return params


# ---------------------------------------------------------------- jax.nn.initializers, by name

def zeros(key, shape: Sequence[int], dtype=None, out_sharding=None) -> jax.Array:
    """An array of zeros (the key is ignored), as jax.nn.initializers.zeros."""
    return _run("zeros", {}, key, shape, dtype, out_sharding)


def ones(key, shape: Sequence[int], dtype=None, out_sharding=None) -> jax.Array:
    """An array of ones (the key is ignored), as jax.nn.initializers.ones."""
    return _run("ones", {}, key, shape, dtype, out_sharding)


zeros.scheme, zeros.params = "zeros", {}
ones.scheme, ones.params = "ones", {}


def constant(value, dtype=None) -> Callable:
    """An initializer of arrays full of ``value`` (a real scalar; the key is ignored), as
    jax.nn.initializers.constant.  JAX also broadcasts array values: use it for those."""
    return _initializer("constant", "constant", {"val": _number("value", value)}, dtype,
                        f"Fill with {value!r} (fastinit.jax.constant).")


def uniform(scale=1e-2, dtype=None) -> Callable:
    """U[0, scale), as jax.nn.initializers.uniform (a negative scale gives U[scale, 0))."""
    s = _number("scale", scale)
    return _initializer("uniform", "uniform", {"low": min(0.0, s), "high": max(0.0, s)}, dtype,
                        f"U[0, {s}) (fastinit.jax.uniform).")


def normal(stddev=1e-2, dtype=None) -> Callable:
    """N(0, stddev²), as jax.nn.initializers.normal."""
    s = _number("stddev", stddev)
    return _initializer("normal", "normal", {"mean": 0.0, "std": abs(s)}, dtype,
                        f"N(0, {s}²) (fastinit.jax.normal).")


def truncated_normal(stddev=1e-2, dtype=None, lower=-2.0, upper=2.0) -> Callable:
    """N(0, stddev²) truncated to [lower * stddev, upper * stddev] (bounds in units of stddev, no
    variance correction), as jax.nn.initializers.truncated_normal."""
    s, lo, hi = _number("stddev", stddev), _number("lower", lower), _number("upper", upper)
    if s == 0.0:   # JAX: z * 0 (fastinit's truncated normal needs a positive std)
        return _initializer("truncated_normal", "zeros", {}, dtype, "Zeros: truncated_normal(stddev=0) (fastinit.jax).")
    a, b = sorted((lo * s, hi * s))
    return _initializer("truncated_normal", "trunc_normal", {"mean": 0.0, "std": abs(s), "a": a, "b": b}, dtype,
                        f"N(0, {s}²) truncated to [{lo}, {hi}] stddevs (fastinit.jax.truncated_normal).")


def variance_scaling(scale, mode: str, distribution: str, in_axis: int | Sequence[int] = -2,
                     out_axis: int | Sequence[int] = -1, batch_axis: int | Sequence[int] = (),
                     dtype=None) -> Callable:
    """jax.nn.initializers.variance_scaling: variance scale / n, n = fan_in, fan_out, their mean
    ('fan_avg') or geometric mean ('fan_geo_avg'); 'truncated_normal' (cut at ±2σ, σ corrected by
    0.8796...), 'normal' or 'uniform' (±sqrt(3 scale / n)).  Fans from in_axis/out_axis/batch_axis
    as JAX (axes not listed are the receptive field)."""
    if mode not in MODES:
        raise ValueError(f"invalid mode for variance scaling initializer: {mode!r}; use one of {list(MODES)}")
    if distribution not in _DISTRIBUTIONS:
        raise ValueError(f"invalid distribution for variance scaling initializer: {distribution!r}; "
                         f"use one of {list(_DISTRIBUTIONS)}")
    params = {"scale": _number("scale", scale), "mode": mode, "distribution": distribution,
              **_axes_params(in_axis, out_axis, batch_axis)}
    return _initializer("variance_scaling", "variance_scaling", params, dtype,
                        f"variance_scaling({scale}, {mode!r}, {distribution!r}) (fastinit.jax).")


def _fan_builder(rec) -> Callable:
    """The jax.nn.initializers builder ``name(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None)`` of a
    scheme declared with ``jax=name`` (fastinit/initializers)."""
    what = rec.plan.__doc__.split(":", 1)[-1].strip()

    def builder(in_axis: int | Sequence[int] = -2, out_axis: int | Sequence[int] = -1,
                batch_axis: int | Sequence[int] = (), dtype=None) -> Callable:
        return _initializer(rec.jax, rec.name, _axes_params(in_axis, out_axis, batch_axis), dtype,
                            f"{what} (fastinit.jax.{rec.jax}).")

    builder.__name__ = builder.__qualname__ = rec.jax
    builder.__doc__ = f"jax.nn.initializers.{rec.jax}: {what}"
    return builder


_FAN_BUILDERS = {rec.jax: _fan_builder(rec) for rec in _SCHEMES if rec.jax}
globals().update(_FAN_BUILDERS)
xavier_uniform, xavier_normal = glorot_uniform, glorot_normal   # noqa: F821  (JAX's aliases)
kaiming_uniform, kaiming_normal = he_uniform, he_normal         # noqa: F821


def orthogonal(scale=1.0, column_axis: int = -1, dtype=None) -> Callable:
    """jax.nn.initializers.orthogonal: scale times a Haar-random (semi-)orthogonal
    (size / shape[column_axis], shape[column_axis]) matrix, columns along column_axis.  Computed
    whole on the host (a QR), also when sharded."""
    params = {"gain": _number("scale", scale), "layout": "jax",
              "column_axis": check.integer("column_axis", column_axis, -(1 << 31), 1 << 31)}
    return _initializer("orthogonal", "orthogonal", params, dtype, f"orthogonal(scale={scale}) (fastinit.jax).")


def delta_orthogonal(scale=1.0, column_axis: int = -1, dtype=None) -> Callable:
    """jax.nn.initializers.delta_orthogonal: a 3-5-D conv kernel, zero but for an orthogonal
    (shape[-2], shape[-1]) matrix at the spatial centre (Xiao et al. 2018, arXiv:1806.05393)."""
    params = {"gain": _number("scale", scale),
              "column_axis": check.integer("column_axis", column_axis, -(1 << 31), 1 << 31)}
    return _initializer("delta_orthogonal", "delta_orthogonal", params, dtype,
                        f"delta_orthogonal(scale={scale}) (fastinit.jax).")


__all__ = ["seed_of", "zeros", "ones", "constant", "uniform", "normal", "truncated_normal", "variance_scaling",
           *_FAN_BUILDERS, "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal", "orthogonal",
           "delta_orthogonal"]
