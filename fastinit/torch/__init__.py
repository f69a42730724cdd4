"""fastinit.torch: a drop-in for torch.nn.init on tensors.

Same names, signatures, defaults and return values as torch.nn.init (including ``generator=``).
CPU tensors of float32, float64, float16 and bfloat16 are filled in place, without a copy.
Seeding follows torch: each call draws its 64-bit fastinit seed from ``generator`` or, when it is
None, from torch's default generator, so ``torch.manual_seed(42)`` makes fastinit.torch exactly as
reproducible as it makes torch (the values differ from torch's own: the generator is Philox,
not torch's).  A tensor's seed is drawn on its own device, from ``generator`` or that device's
default generator (CPU: ``torch.default_generator``; ``cuda:i``: ``torch.cuda.default_generators[i]``),
whatever ``torch.device(...)`` / ``set_default_device`` context is active.  Non-contiguous tensors,
and tensors on other devices, are filled on the CPU in a contiguous temporary and copied in (values
follow the tensor's logical row-major order).  Writes are seen by autograd (the version counter is
bumped, so a tensor saved for backward and refilled makes ``backward()`` raise, as torch does).

What torch accepts, fastinit.torch accepts, with torch's own errors and warnings:

- Shape and structure checks (rank, fans, mode, nonlinearity, dirac's groups) are torch's own code,
  run on a meta tensor of the same shape (nothing allocated), so they raise exactly what torch
  raises.  Bad numeric parameters are refused by fastinit's checks with nothing written: a wrong
  type raises TypeError (as torch), a bad value (``uniform_(t, 1, 0)``, ``normal_(t, std=-1)``, a
  constant beyond float16's range) :class:`ArgumentError`, a ValueError that is also the
  RuntimeError torch raises for them; ``trunc_normal_(std=0)`` raises a ZeroDivisionError, as torch.
- 0-d tensors as parameters (``std=torch.tensor(.02)``) are read as numbers.
- Tensors fastinit does not fill itself go to torch.nn.init's ORIGINAL function (saved when this
  module is imported, before any patch), so they behave exactly as under torch: dtypes other than
  float32/float64/float16/bfloat16 (integer, bool, complex, float8...), meta tensors, zero-element
  tensors, non-strided layouts, tensor subclasses that cannot expose their memory (those with their
  own ``__torch_dispatch__`` or ``__torch_function__``: FakeTensor, FunctionalTensor, ...), any
  tensor while a ``TorchDispatchMode`` (FakeTensorMode, ...) is active or while ``torch.compile`` /
  ``torch.export`` trace (``torch.compiler.is_compiling()``), and ``constant_(t, nan)``.  One
  exception: torch's trunc_normal_ cannot be traced (its rejection loop reads values), so traced
  tensors get N(mean, std²) truncated to [a, b] by inverse CDF in torch ops instead.  (DTensors
  are filled shard by shard, see fastinit/torch/_dtensor.py.)

``patch()`` routes torch.nn.init's functions to these, so third-party model code (``nn.Linear``,
``nn.Embedding``, ``nn.MultiheadAttention``, ``nn.Transformer``, ...) initializes at fastinit speed
without edits::

    with fastinit.torch.patch():
        model = build_model()          # nn.Embedding(10_000_000, 128) fills on every core

It replaces torch's functions wherever a loaded module holds them: ``torch.nn.init.<name>``,
every module that did ``from torch.nn.init import <name>`` (torch.nn.modules.activation and
.transformer do), including the deprecated aliases (``torch.nn.init.uniform``, ...), and the
module-level dicts, lists and tuples that hold them (transformers' ``TORCH_INIT_FUNCTIONS``).

``materialize(model, seed)`` allocates a meta model and runs its own init (transformers'
``init_weights``, torchtitan's ``init_weights(buffer_device=)``, or every ``reset_parameters``)
with values keyed by (seed, parameter name); ``reset_parameters(model)`` runs every submodule's
reset, public or private, through fastinit.  Both name every tensor no init wrote.

The parts: _core (errors, the tensor <-> numpy view), _init (the torch.nn.init functions),
_dtensor (DTensor shards), _bindings (where loaded code holds a function), _patch (patch()),
_materialize (materialize, reset_parameters); scaling (public: width/depth-aware init, μP's
optimizer groups, coord check and signal report).
"""
from .._extras import require

require("torch", "torch", "fastinit.torch")
del require

from ..fans import calculate_gain
from ._core import ArgumentError
from . import _init
from ._materialize import UninitializedError, materialize, reset_parameters
from ._patch import patch
from ._torchrec import deferred_init
from . import scaling

# torch.nn.init's functions (one per scheme declared with a torch name) and the rest of the API
globals().update({name: getattr(_init, name) for name in _init._SCHEMES})
__all__ = [*_init._SCHEMES, "calculate_gain", "patch", "materialize", "reset_parameters", "deferred_init",
           "ArgumentError", "UninitializedError", "scaling"]

# torch.nn.init's deprecated spellings (uniform, normal, ...), as torch.nn.init has them
globals().update({name: getattr(_init, name) for name in _init._DEPRECATED})

for _name in __all__ + list(_init._DEPRECATED):
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("fastinit.torch."):
        _obj.__module__ = __name__     # (documented and shown as fastinit.torch.<name>)
del _name, _obj
