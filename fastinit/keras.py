"""fastinit.keras: Keras 3 initializers that fill through fastinit.

Each class subclasses the Keras initializer of the same name (``fastinit.keras.GlorotUniform`` is a
``keras.initializers.GlorotUniform``), so its arguments, defaults, validation, ``get_config`` and
Keras' own special cases (EinsumDense setting a VarianceScaling's axes) are Keras' exactly; only
``__call__`` differs: the values come from the fastinit scheme of the Keras name, computed on the
host at memory bandwidth and handed to the backend (JAX, torch, numpy) without a copy where the
backend allows.  Registered for Keras serialization under the package "fastinit", so a saved model
loads again once ``fastinit.keras`` is imported.

Seeds, as Keras 3: ``seed=int`` gives ``fastinit.init(shape, "<keras name>", seed=int)`` on every
call; ``seed=None`` makes Keras draw an int once, at construction, from Python's ``random`` (so
``keras.utils.set_random_seed`` makes it reproducible) and every call repeats it; a
``keras.random.SeedGenerator`` gives fresh values per call, its state ``[s, n]`` taken as the
64-bit seed ``s + 2**32 n`` (so its first call equals ``seed=s``).

Under a ``keras.distribution`` (JAX backend), Keras passes the variable's layout to an
initializer whose ``__call__`` takes ``layout=`` (the documented hook of
``keras.initializers.Initializer``); the value is then built shard by shard with
``jax.make_array_from_callback``, each device's block filled by ``fastinit.fill_block`` at its
global offset, so the global value equals the undistributed one whatever the layout; each process
fills only its own devices' blocks, and never the whole tensor.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import keras
import ml_dtypes
import numpy as np

from . import _validate as check
from .blocks import block_bounds, fill_block
from .registry import init as _init, scheme as _scheme

__all__ = ["GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform", "LecunNormal",
           "VarianceScaling", "RandomUniform", "RandomNormal", "TruncatedNormal", "Orthogonal", "Identity",
           "Zeros", "Ones", "Constant"]

_FLOATS = {"float32": np.float32, "float64": np.float64, "float16": np.float16, "bfloat16": ml_dtypes.bfloat16}
_serializable = keras.saving.register_keras_serializable(package="fastinit")
# XLA's CPU client adopts a host buffer without a copy when it is 64-byte aligned (numpy's large
# allocations are 16 bytes off); the copy would cost about as much as the fill
_HOST_ALIGN = 64


def _aligned_empty(shape: tuple[int, ...], dtype) -> np.ndarray:
    nbytes = math.prod(shape) * np.dtype(dtype).itemsize
    raw = np.empty(nbytes + _HOST_ALIGN, np.uint8)
    start = -raw.ctypes.data % _HOST_ALIGN
    return raw[start:start + nbytes].view(dtype).reshape(shape)


# ---------------------------------------------------------------- one fill, whole or by block

@dataclass
class _Fill:
    """One tensor's fill: scheme, shape, parameters and seed fixed, so every block agrees."""
    scheme: str
    shape: tuple[int, ...]
    dtype: type
    seed: int | None
    params: dict
    lead: int = 0            # leading unit dims added for fastinit's >= 2-D axes (see _keras_axes)
    _whole: np.ndarray | None = field(default=None, repr=False)

    @property
    def fill_shape(self) -> tuple[int, ...]:
        return (1,) * self.lead + self.shape

    def whole(self) -> np.ndarray:
        if self._whole is None:
            out = _init(_aligned_empty(self.fill_shape, self.dtype), self.scheme, seed=self.seed, **self.params)
            self._whole = out.reshape(self.shape)
        return self._whole

    def block(self, bounds) -> np.ndarray:
        """The block at ``bounds`` ((start, stop) per dim) of the whole fill."""
        if _scheme(self.scheme).whole_tensor:
            # orthogonal: the whole QR is needed anyway; compute it once, not once per device
            return self.whole()[tuple(slice(lo, hi) for lo, hi in bounds)]
        full_bounds = ((0, 1),) * self.lead + tuple(bounds)
        out = _aligned_empty(tuple(hi - lo for lo, hi in full_bounds), self.dtype)
        fill_block(out, self.scheme, self.fill_shape, full_bounds, seed=self.seed, **self.params)
        return out.reshape(tuple(hi - lo for lo, hi in bounds))


def _keras_axes(shape: tuple[int, ...], input_axes, output_axes) -> tuple[int, dict]:
    """Keras' fans from explicit axes (used only when both are given): fan_in = prod(shape[input_axes]),
    fan_out = prod(shape[output_axes]), no receptive field.  In fastinit's JAX-style axes that is
    every other axis declared a batch axis.  fastinit's axes need >= 2 dims: a 0-D or 1-D shape is
    filled as (1, ..., *shape), the same elements in the same order.  Returns (lead dims, params)."""
    if input_axes is None or output_axes is None:
        return 0, {}
    rank = len(shape)
    lead = max(0, 2 - rank)

    def axes(name, given):
        result = []
        for a in given:
            if isinstance(a, bool) or not isinstance(a, (int, np.integer)) or not -rank <= a < rank:
                raise ValueError(f"{name}={list(given)!r}: {a!r} is not an axis of a shape of rank {rank}")
            result.append(lead + int(a) % rank)
        return result

    ins, outs = axes("input_axes", input_axes), axes("output_axes", output_axes)
    batch = [d for d in range(lead + rank) if d not in ins and d not in outs]
    return lead, dict(in_axis=ins, out_axis=outs, batch_axis=batch)


def _seed(seed) -> int:
    """The 64-bit fastinit seed for one call, from the Keras initializer's ``seed`` attribute."""
    if isinstance(seed, keras.random.SeedGenerator):
        # as keras.random does: the generator's next state, advancing it; [s, n] -> s + 2**32 n
        state = np.asarray(keras.ops.convert_to_numpy(seed.next())).astype(np.int64).ravel()
        return (int(state[0]) & 0xFFFFFFFF) | ((int(state[1]) & 0xFFFFFFFF) << 32)
    return seed  # an int: given, or drawn by Keras at construction when seed=None


def _scalar(value, name: str) -> float:
    if keras.ops.is_tensor(value):
        value = keras.ops.convert_to_numpy(value)
    if np.ndim(value) != 0:
        raise ValueError(f"{name} must be a scalar (a number or a 0-D tensor); got shape {np.shape(value)}")
    return float(value)


# ---------------------------------------------------------------- hand-off to the backend

def _to_backend(array: np.ndarray, dtype: str):
    """A backend tensor holding ``array``: shared, not copied, where the backend allows it."""
    backend = keras.backend.backend()
    if backend == "numpy":
        return array
    if backend == "torch":
        import torch
        # keras.ops.convert_to_tensor would copy through np.array (and bfloat16 through float32)
        tensor = (torch.from_numpy(array.view(np.int16)).view(torch.bfloat16) if dtype == "bfloat16"
                  else torch.from_numpy(array))
        return keras.ops.convert_to_tensor(tensor)   # moved to Keras' device if that is not the CPU
    if backend == "jax":
        import jax
        # keras.ops.convert_to_tensor (jnp.asarray) would copy; the CPU client adopts the aligned buffer
        return jax.device_put(array, may_alias=True)
    return keras.ops.convert_to_tensor(array, dtype=dtype)


def _jax_sharding(layout):
    """A concrete jax Sharding from what Keras passes as ``layout``: a keras TensorLayout, a jax
    Sharding, or (as Keras 3.15 passes it) a NamedSharding over the abstract mesh of the
    ``jax.set_mesh`` context Keras enters, made concrete with that context's mesh."""
    import jax

    if isinstance(layout, keras.distribution.TensorLayout):
        layout = layout.backend_layout
    if not isinstance(layout, jax.sharding.Sharding):
        raise TypeError(f"layout must be a keras.distribution.TensorLayout or a jax.sharding.Sharding; "
                        f"got {type(layout).__name__}")
    if isinstance(layout, jax.sharding.NamedSharding) and isinstance(layout.mesh, jax.sharding.AbstractMesh):
        mesh = jax.sharding.get_mesh()
        if mesh.empty or (mesh.axis_names, mesh.axis_sizes) != (layout.mesh.axis_names, layout.mesh.axis_sizes):
            raise ValueError(f"layout {layout} is over an abstract mesh, and the current jax.set_mesh context "
                             f"holds no matching concrete mesh (it holds {mesh}); pass a concrete sharding or "
                             "a keras.distribution.TensorLayout")
        layout = jax.sharding.NamedSharding(mesh, layout.spec)
    return layout


def _distributed(shape: tuple[int, ...], layout, block):
    """A jax.Array of ``shape`` sharded by ``layout``; ``block(bounds)`` gives one device's data.
    Replicas of a block (a partly replicated layout) are filled once."""
    if keras.backend.backend() != "jax":
        raise ValueError(f"layout= is supported with the JAX backend only (Keras distributes variables "
                         f"with JAX); the backend is {keras.backend.backend()!r}")
    import jax

    sharding = _jax_sharding(layout)
    filled: dict = {}

    def data(index):
        bounds = block_bounds(index, shape)
        if bounds not in filled:
            filled[bounds] = block(bounds)
        return filled[bounds]

    return jax.make_array_from_callback(shape, sharding, data)


# ---------------------------------------------------------------- the shared __call__

class _FastinitCall:
    """Mixin placed before the Keras class: ``__call__`` fills through fastinit; the rest is Keras'."""
    _scheme: str                 # the fastinit scheme of the Keras name
    _random = True
    _other_dtypes_by_keras = False   # constants: non-float dtypes (ints, bool) are left to Keras

    def _fill_params(self) -> dict:
        return {}

    def _fill_spec(self) -> tuple[str, dict]:
        """The fastinit scheme and its parameters for this initializer's arguments."""
        return self._scheme, self._fill_params()

    def _fill_axes(self, shape) -> tuple[int, dict]:
        return 0, {}

    def __call__(self, shape: Sequence[int], dtype=None, layout=None):
        """A tensor of ``shape`` and ``dtype`` (default ``keras.config.floatx()``; float32, float64,
        float16 or bfloat16), distributed by ``layout`` when one is given (Keras passes the
        variable's layout under a ``keras.distribution`` with the JAX backend)."""
        shape = check.shape("shape", shape)
        dtype = keras.backend.standardize_dtype(dtype)
        if dtype not in _FLOATS or not self._fits_fastinit():
            if self._other_dtypes_by_keras:
                return self._keras_value(shape, dtype, layout)
            raise ValueError(f"{type(self).__name__} fills float32, float64, float16 and bfloat16; got dtype={dtype}")
        scheme, params = self._fill_spec()
        lead, axes = self._fill_axes(shape)
        seed = _seed(self.seed) if self._random else None   # drawn (a SeedGenerator advanced) as Keras does
        fill = _Fill(scheme, shape, _FLOATS[dtype], seed if _scheme(scheme).random else None, {**params, **axes}, lead)
        if layout is None:
            return _to_backend(fill.whole(), dtype)
        return _distributed(shape, layout, fill.block)

    def _fits_fastinit(self) -> bool:
        return True

    def _keras_value(self, shape, dtype, layout):
        value = super().__call__(shape, dtype=dtype)
        if layout is None:
            return value
        import jax
        return jax.device_put(value, _jax_sharding(layout))


class _VarianceScalingCall(_FastinitCall):
    def _fill_axes(self, shape):
        return _keras_axes(shape, self.input_axes, self.output_axes)


# ---------------------------------------------------------------- the classes

@_serializable
class VarianceScaling(_VarianceScalingCall, keras.initializers.VarianceScaling):
    """keras.initializers.VarianceScaling through fastinit: s = scale / max(1, fan) (fan per mode);
    'truncated_normal' N(0, s) cut at ±2σ and rescaled by 0.8796..., 'untruncated_normal' N(0, s),
    'uniform' U(±sqrt(3 s))."""
    _scheme = "variance_scaling"

    def _fill_params(self):
        return dict(scale=self.scale, mode=self.mode, distribution=self.distribution, layout="keras")


@_serializable
class GlorotUniform(_VarianceScalingCall, keras.initializers.GlorotUniform):
    """U(±sqrt(6 / (fan_in + fan_out))) (Glorot & Bengio 2010); fastinit scheme 'glorot_uniform'."""
    _scheme = "glorot_uniform"


@_serializable
class GlorotNormal(_VarianceScalingCall, keras.initializers.GlorotNormal):
    """Truncated normal (±2σ), variance 2 / (fan_in + fan_out); fastinit scheme 'glorot_normal'."""
    _scheme = "glorot_normal"


@_serializable
class HeUniform(_VarianceScalingCall, keras.initializers.HeUniform):
    """U(±sqrt(6 / fan_in)) (He et al. 2015); fastinit scheme 'he_uniform'."""
    _scheme = "he_uniform"


@_serializable
class HeNormal(_VarianceScalingCall, keras.initializers.HeNormal):
    """Truncated normal (±2σ), variance 2 / fan_in; fastinit scheme 'he_normal'."""
    _scheme = "he_normal"


@_serializable
class LecunUniform(_VarianceScalingCall, keras.initializers.LecunUniform):
    """U(±sqrt(3 / fan_in)); fastinit scheme 'lecun_uniform'."""
    _scheme = "lecun_uniform"


@_serializable
class LecunNormal(_VarianceScalingCall, keras.initializers.LecunNormal):
    """Truncated normal (±2σ), variance 1 / fan_in (Klambauer et al. 2017); fastinit scheme 'lecun_normal'."""
    _scheme = "lecun_normal"


@_serializable
class RandomUniform(_FastinitCall, keras.initializers.RandomUniform):
    """U[minval, maxval); fastinit scheme 'random_uniform'."""
    _scheme = "random_uniform"

    def _fill_params(self):
        return dict(minval=_scalar(self.minval, "minval"), maxval=_scalar(self.maxval, "maxval"))


@_serializable
class RandomNormal(_FastinitCall, keras.initializers.RandomNormal):
    """N(mean, stddev²); fastinit scheme 'random_normal' (a negative stddev is taken as |stddev|,
    the same distribution, which Keras also accepts)."""
    _scheme = "random_normal"

    def _fill_params(self):
        return dict(mean=_scalar(self.mean, "mean"), stddev=abs(_scalar(self.stddev, "stddev")))


@_serializable
class TruncatedNormal(_FastinitCall, keras.initializers.TruncatedNormal):
    """N(mean, stddev²) cut at mean ± 2 stddev; fastinit scheme 'truncated_normal' (a negative
    stddev taken as |stddev|; stddev=0 gives the constant mean, as Keras)."""
    _scheme = "truncated_normal"

    def _fill_spec(self):
        mean, stddev = _scalar(self.mean, "mean"), abs(_scalar(self.stddev, "stddev"))
        if stddev == 0:   # Keras scales a unit sample by 0; fastinit's truncated normal needs a positive std
            return "constant", dict(val=mean)
        return self._scheme, dict(mean=mean, stddev=stddev)


@_serializable
class Orthogonal(_FastinitCall, keras.initializers.Orthogonal):
    """gain * a Haar-random (semi-)orthogonal matrix of shape (prod(shape[:-1]), shape[-1]) (Saxe et
    al. 2014); fastinit scheme 'orthogonal' (a QR of the whole matrix, also when distributed)."""
    _scheme = "orthogonal"

    def _fill_params(self):
        return dict(gain=_scalar(self.gain, "gain"))


@_serializable
class Identity(_FastinitCall, keras.initializers.Identity):
    """gain * I (2-D only); fastinit scheme 'identity'.  Non-float dtypes are Keras' own."""
    _scheme = "identity"
    _random = False
    _other_dtypes_by_keras = True

    def _fill_params(self):
        return dict(gain=_scalar(self.gain, "gain"))


@_serializable
class Zeros(_FastinitCall, keras.initializers.Zeros):
    """0; fastinit scheme 'zeros'.  Non-float dtypes are Keras' own."""
    _scheme = "zeros"
    _random = False
    _other_dtypes_by_keras = True


@_serializable
class Ones(_FastinitCall, keras.initializers.Ones):
    """1; fastinit scheme 'ones'.  Non-float dtypes are Keras' own."""
    _scheme = "ones"
    _random = False
    _other_dtypes_by_keras = True


@_serializable
class Constant(_FastinitCall, keras.initializers.Constant):
    """A scalar value; fastinit scheme 'constant'.  Non-float dtypes and non-scalar values (which
    Keras broadcasts) are Keras' own."""
    _scheme = "constant"
    _random = False
    _other_dtypes_by_keras = True

    def _fits_fastinit(self):
        return np.ndim(keras.ops.convert_to_numpy(self.value) if keras.ops.is_tensor(self.value) else self.value) == 0

    def _fill_params(self):
        return dict(val=_scalar(self.value, "value"))
