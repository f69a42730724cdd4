"""Initialization schemes of torch.nn.init, Keras and JAX, as plans over the kernels.

Each scheme is declared once (fastinit/initializers/_declare.py): a planning function
``plan(shape, fmt, *params) -> Plan`` and a record saying its names elsewhere (torch, Keras,
JAX), whether it is random and whether it needs the whole tensor.  The in-place functions made
from them fill ``out`` (a numpy array; see fastinit.torch for tensors) and return it; random ones
take ``seed``, ``stream`` and ``num_threads`` like the kernels.  Every one takes
``full_shape=`` (the whole tensor, used for fans and structure) and ``offset=`` (the row-major
index of out's first element in that whole), so a worker filling a shard gets exactly its slice
of the whole fill.  Names spelled as in torch follow torch (layout (out, in, *receptive));
Keras/JAX names (glorot_*, he_*, lecun_*, ...) follow Keras, including its channels-last layout
and truncated normals.

The modules, by concern: structure (constants, eye, dirac, identity), distributions (uniform,
normal, truncated normals under torch's and Keras' names), variance (fan-based), haar (orthogonal),
sparse, embeddings (table presets).
"""
# (imported for their declarations, in the order of the public lists)
from . import structure, distributions, variance, haar, sparse, embeddings  # noqa: F401,I001
from ._declare import SCHEMES, Scheme
from .variance import TRUNCATED_NORMAL_STD

# The in-place functions, under their public names (fastinit.xavier_uniform_, fastinit.glorot_uniform, ...)
FUNCTIONS = {rec.fn.__name__: rec.fn for rec in SCHEMES if rec.export}
globals().update(FUNCTIONS)

__all__ = ["SCHEMES", "Scheme", "TRUNCATED_NORMAL_STD", *FUNCTIONS]
