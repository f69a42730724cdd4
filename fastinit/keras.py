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
``jax.make_array_from_callback``, each distinct device block filled once by ``fastinit.fill_block``
at its global offset, so the global value equals the undistributed one whatever the layout; each
process fills only its own devices' blocks, and never the whole tensor (the JAX plumbing is
fastinit.jax's, imported only on the JAX backend).
"""
from __future__ import annotations

import inspect
from typing import Sequence

import numpy as np

from ._extras import require

require("keras", "keras", "fastinit.keras")
import keras  # noqa: E402

from . import _validate as check
from ._formats import NAMES as _FLOATS
from .fans import _axes
from .initializers import SCHEMES as _SCHEMES
from .registry import init as _init, scheme as _scheme

_serializable = keras.saving.register_keras_serializable(package="fastinit")
_LAYOUTS = "a keras.distribution.TensorLayout, a jax.sharding.Sharding or a PartitionSpec under jax.set_mesh"


# ---------------------------------------------------------------- Keras' arguments

def _keras_axes(shape: tuple[int, ...], input_axes, output_axes) -> tuple[int, dict]:
    """Keras' fans from explicit axes (used only when both are given): fan_in = prod(shape[input_axes]),
    fan_out = prod(shape[output_axes]), no receptive field.  In fastinit's JAX-style axes that is
    every other axis declared a batch axis.  fastinit's axes need >= 2 dims: a 0-D or 1-D shape is
    filled as (1, ..., *shape), the same elements in the same order.  Returns (lead dims, params)."""
    if input_axes is None or output_axes is None:
        return 0, {}
    lead = max(0, 2 - len(shape))
    ins, outs = ([lead + a for a in _axes(shape, given, name)]
                 for name, given in (("input_axes", input_axes), ("output_axes", output_axes)))
    batch = [d for d in range(lead + len(shape)) if d not in ins and d not in outs]
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

def _value(scheme: str, params: dict, shape: tuple[int, ...], dtype: str, seed: int | None, lead: int, layout):
    """A backend tensor holding the fill: shared with the host buffer, not copied, where the backend
    allows it; on the JAX backend distributed by ``layout`` when one is given."""
    backend = keras.backend.backend()
    if backend == "jax":
        from . import _jax_host   # (jax only on this backend)
        return _jax_host.filled(scheme, params, shape, dtype, seed, _jax_sharding(layout), lead=lead)
    if layout is not None:
        raise ValueError(f"layout= is supported with the JAX backend only (Keras distributes variables "
                         f"with JAX); the backend is {backend!r}")
    array = _init((1,) * lead + shape, scheme, dtype=dtype, seed=seed, **params).reshape(shape)
    if backend == "numpy":
        return array
    if backend == "torch":
        import torch
        # keras.ops.convert_to_tensor would copy through np.array (and bfloat16 through float32)
        tensor = (torch.from_numpy(array.view(np.int16)).view(torch.bfloat16) if dtype == "bfloat16"
                  else torch.from_numpy(array))
        return keras.ops.convert_to_tensor(tensor)   # moved to Keras' device if that is not the CPU
    return keras.ops.convert_to_tensor(array, dtype=dtype)


def _jax_sharding(layout):
    """The concrete jax Sharding (or None) of what Keras passes as ``layout``: a keras TensorLayout,
    a jax Sharding, or (as Keras 3.15 passes it) a NamedSharding over the abstract mesh of the
    ``jax.set_mesh`` context Keras enters."""
    from . import _jax_host

    if isinstance(layout, keras.distribution.TensorLayout):
        layout = layout.backend_layout
    return _jax_host.concrete_sharding(layout, "layout", _LAYOUTS)


# ---------------------------------------------------------------- the shared __call__

class _FastinitCall:
    """Mixin placed before the Keras class: ``__call__`` fills through fastinit; the rest is Keras'."""
    _scheme: str                 # the fastinit scheme of the Keras name
    _random = True
    _other_dtypes_by_keras = False   # constants: non-float dtypes (ints, bool) are left to Keras

    def _fill_params(self) -> dict:
        return {}

    # In every saved config: Keras restores an initializer it cannot find registered by its class
    # name among its built-ins, so without this key a model saved with fastinit's GlorotUniform
    # would load in a process that never imported fastinit.keras as Keras' own, drawing other
    # values, silently.  Keras' classes refuse the unknown key (a TypeError naming it); ours drop it.
    _CONFIG_KEY = "fastinit"
    _CONFIG_NOTE = "a fastinit.keras initializer: import fastinit.keras before loading"

    def get_config(self) -> dict:
        return {**super().get_config(), self._CONFIG_KEY: self._CONFIG_NOTE}

    @classmethod
    def from_config(cls, config: dict):
        config = {k: v for k, v in config.items() if k != cls._CONFIG_KEY}
        return super().from_config(config)

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
        seed = seed if _scheme(scheme).random else None     # (TruncatedNormal(stddev=0): a constant)
        return _value(scheme, {**params, **axes}, shape, dtype, seed, lead, layout)

    def _fits_fastinit(self) -> bool:
        return True

    def _keras_value(self, shape, dtype, layout):
        value = super().__call__(shape, dtype=dtype)
        sharding = None if layout is None else _jax_sharding(layout)
        if sharding is None:
            return value
        import jax
        return jax.device_put(value, sharding)


class _VarianceScalingCall(_FastinitCall):
    def _fill_axes(self, shape):
        return _keras_axes(shape, self.input_axes, self.output_axes)


# ---------------------------------------------------------------- the classes, from the declared schemes

class _Declared(_FastinitCall):
    """The scheme's parameters read off the Keras initializer's attributes of the same names
    (numbers as floats, from 0-D tensors too); fan-based schemes fill in Keras' layout."""
    _params: tuple[str, ...] = ()

    def _fill_params(self):
        params = {name: getattr(self, name) for name in self._params}
        params = {k: v if isinstance(v, str) else _scalar(v, k) for k, v in params.items()}
        return {**params, "layout": "keras"} if isinstance(self, _VarianceScalingCall) else params


class _AbsoluteStddev:
    """A negative stddev is taken as |stddev| (the same distribution), which Keras also accepts."""

    def _fill_params(self):
        params = super()._fill_params()
        return {**params, "stddev": abs(params["stddev"])}


class _TruncatedNormal(_AbsoluteStddev):
    """stddev=0 gives the constant mean, as Keras (its sample is scaled by 0; fastinit's truncated
    normal needs a positive std)."""

    def _fill_spec(self):
        params = self._fill_params()
        return ("constant", {"val": params["mean"]}) if params["stddev"] == 0 else (self._scheme, params)


class _DrawsNothing:
    """Non-float dtypes (ints, bool) are Keras' own."""
    _random = False
    _other_dtypes_by_keras = True


class _Constant(_DrawsNothing):
    """Keras' ``value`` is the scheme's ``val``; a non-scalar value (which Keras broadcasts) is Keras' own."""

    def _fits_fastinit(self):
        return np.ndim(keras.ops.convert_to_numpy(self.value) if keras.ops.is_tensor(self.value) else self.value) == 0

    def _fill_params(self):
        return dict(val=_scalar(self.value, "value"))


# Keras' own behaviour fastinit keeps, per class (on top of the declared scheme)
_KERAS_RULES = {"RandomNormal": _AbsoluteStddev, "TruncatedNormal": _TruncatedNormal, "Identity": _DrawsNothing,
                "Zeros": _DrawsNothing, "Ones": _DrawsNothing, "Constant": _Constant}


def _keras_class(rec) -> type:
    """``fastinit.keras.<rec.keras>``: a subclass of ``keras.initializers.<rec.keras>`` that fills with
    the scheme ``rec`` (registered for Keras serialization under the package "fastinit")."""
    P = inspect.Parameter
    params = tuple(p.name for p in list(inspect.signature(rec.plan).parameters.values())[2:]
                   if p.kind == P.POSITIONAL_OR_KEYWORD)
    fans = "in_axis" in inspect.signature(rec.plan).parameters
    bases = tuple(b for b in (_KERAS_RULES.get(rec.keras), _VarianceScalingCall if fans else None) if b)
    cls = type(rec.keras, (*bases, _Declared, getattr(keras.initializers, rec.keras)),
               {"_scheme": rec.name, "_params": params, "__module__": __name__,
                "__doc__": f"keras.initializers.{rec.keras} through fastinit (scheme {rec.name!r}): {rec.plan.__doc__}"})
    return _serializable(cls)


_CLASSES = {rec.keras: _keras_class(rec) for rec in _SCHEMES if rec.keras}
globals().update(_CLASSES)
__all__ = list(_CLASSES)
