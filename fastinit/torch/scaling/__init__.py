"""fastinit.torch.scaling: width- and depth-aware initialization (μP, depth-scaled residuals), the
optimizer's parameter groups that go with it, and the checks that show it works (coord check,
signal report at init).

Every parameter is given a **role** and **width multipliers**, then an init std and a learning-rate
multiplier by the rule; the values are filled through :func:`fastinit.torch.materialize`, so each
parameter's values depend only on ``(seed, its fully qualified name)``: the same for any world
size, FSDP2 / tensor-parallel sharding (DTensor shards are filled bit-identically) and pipeline
stage (a stage that keeps the whole model's parameter names gets exactly those values).  A fill
``N(0, std²)`` of parameter ``name`` is ``torch.nn.init.normal_(p, 0, std,
generator=torch.Generator().manual_seed(derived_seed(seed, name, 0)))`` on fastinit's kernels
(``fastinit.torch.materialize``'s derivation, "fastinit.materialize/v1").

Width multipliers (as microsoft/mup's ``set_base_shapes``/``InfShape``)
-------------------------------------------------------------------------
``base`` is a model (a meta-device one costs nothing) or a dict ``{name: shape}`` of the same
architecture at a *base* width.  A dimension is *infinite* (a width) when its size differs between
``base`` and ``delta`` (if ``delta``, a second base-like model of another width, is given) or
else between ``base`` and the model.  For an infinite dimension the width multiplier is
``m = size / base_size``; for a finite one ``m = 1``.  A weight ``(out, in, *kernel)``
(nn.Linear, nn.Conv*) has ``m_out`` (dim 0) and ``m_in`` (dim 1); an ``nn.Embedding`` weight
``(num, dim)`` is read as ``in = num`` (a one-hot input: fan_in 1 for the init) and ``out = dim``.

Roles (inferred, or declared with ``roles={"fnmatch pattern": role}``, first match wins)
-----------------------------------------------------------------------------------------
- ``input``: weight with finite fan_in and infinite fan_out (embeddings, the first Linear);
- ``hidden``: weight with infinite fan_in and fan_out;
- ``output``: weight with infinite fan_in and finite fan_out (the readout);
- ``finite``: weight with no infinite dimension;
- ``bias``: a 1-D parameter named ``bias`` (any module);
- ``norm``: the 1-D ``weight`` of a normalization module (LayerNorm, RMSNorm, BatchNorm, GroupNorm,
  or a class whose name contains "Norm").
Any other parameter must be declared (``roles=``): nothing is guessed silently.

The rule table (σ = ``std``, default 1, or per role; fan_in = in·prod(kernel), an embedding's is 1;
base_fan_in its value in ``base``).  ``"mup"`` is Table 3 of Tensor Programs V (Yang et al. 2022,
arXiv:2203.03466) in the form that needs no change to the model's forward (no output multiplier:
microsoft/mup's ``MuReadout`` multiplier 1/m_in is folded into the readout's init and LR, which is
the same training dynamics):

=========  ===========================  ==============  ===============
role       init                         Adam LR × ...   SGD LR × ...
=========  ===========================  ==============  ===============
input      N(0, σ²/fan_in)              1               m_out
hidden     N(0, σ²/fan_in)              1/m_in          m_out/m_in
output     N(0, σ²/base_fan_in / m_in²)  1/m_in          1/m_in
           (0 with ``zero_readout``)
finite     N(0, σ²/fan_in)              1               1
bias       0                            1               m (its dim's)
norm       1 (weight)                   1               m (its dim's)
=========  ===========================  ==============  ===============

So a hidden weight's *variance* scales as 1/m_in (std 1/√m_in: fan_in grows with m), not 1/m²
(gpt-neox #1087 divided the std by m); the readout's std scales as 1/m_in (variance 1/m_in²).
At the base width (all m = 1) μP is exactly the standard parametrization below.

- ``"standard"`` (SP, the control): every weight N(0, σ²/fan_in) (the readout too: std ∝ 1/√m_in),
  bias 0, norm 1, every LR × 1.
- ``"depth"``: ``"mup"`` and the residual branches' output projections (``residual=`` patterns;
  default the usual names: out_proj, o_proj, c_proj, down_proj, fc2, proj) scaled by 1/√(2L),
  L = ``depth`` (blocks), else the number of residual projections in ``base`` / 2 (a whole-model
  count, so a pipeline stage gets the same scale) -- GPT-2's init.  (Depth-μP's branch multiplier
  1/√L in the forward is a model change: reported.)
- ``zero_query=True``: the attention query projections (``q_proj``, ``query``, ``wq``, ``to_q``
  weights) are initialized to 0 (mup's recommendation: uniform attention at init).

- ``"umup"``: u-μP (Blake et al. 2024, "u-μP: The Unit-Scaled Maximal Update Parametrization",
  arXiv:2407.17465; the rules as Graphcore's ``unit-scaling`` 0.3.5 implements them, tested against
  it).  No base shapes in the rule itself (``base`` only tells the roles) and absolute fan_in:

  ======  ========  ==================================  ========================================
  role    init      Adam LR × (``lr_scale_func_adam``)  forward change (``plan.changes``)
  ======  ========  ==================================  ========================================
  input   N(0, σ²)  1/√fan_out (an embedding: 1/√dim)   none (an input Linear: × 1/√fan_in)
  hidden  N(0, σ²)  1/√fan_in                           output × 1/√fan_in (``U.linear``)
  output  N(0, σ²)  1                                   output × 1/fan_in (``U.linear_readout``)
  finite  N(0, σ²)  1/√fan_in                           output × 1/√fan_in
  bias    0         1                                   none
  norm    1         1                                   none
  ======  ========  ==================================  ========================================

  SGD × is the same (``lr_scale_func_sgd(None)``: the library's default readout, whose unit-scaled
  backward makes SGD's updates unit-scaled like Adam's).  The embedding's 1/√fan_out is the paper's
  embedding LR rule (its §4.4; in the library ``_get_fan_in`` of an Embedding is its dim); an input
  ``nn.Linear`` gets the same input rule (the library has no input Linear type: its ``Linear`` would
  give 1/√fan_in).  Not implemented: u-μP's depth rule (LR × L^-1/2 for every parameter of the L
  residual blocks, the library's ``DepthSequential``): ``depth=`` with ``"umup"`` raises.
  ``plan.changes`` names every module whose forward must become unit-scaled (each Linear/Conv with
  its multiplier, attention: logits × 1/d_head and a unit-scaled output, GELU/SiLU/Softmax/Dropout
  and other activations), the residual adds (τ-weighted branch and skip), and the unit-scaled
  cross entropy; modules that already are ``unit_scaling``'s ``Linear``/``LinearReadout`` are not
  listed.

What this does not do because it needs a change to the model is listed in ``plan.changes``
(never skipped silently): attention logits must be scaled 1/d_head instead of 1/√d_head when
d_head grows with width; a readout tied to the input embedding cannot get the readout's init and LR
(untie it, or add a 1/m_in output multiplier as mup's ``MuSharedReadout``); depth-μP's 1/√L branch
multipliers; under ``"umup"``, every unit-scaled op of the forward (above).

Why ``init`` goes through ``materialize``: a demanding PyTorch user builds big models on the meta
device and shards them before allocation; ``init`` therefore accepts a meta model (allocated on
``device`` as ``Module.to_empty``, which FSDP2 hooks) as well as a real one (filled in place), and
the values are the same either way.
"""
from ._checks import LayerSignal, coord_check, signal_report
from ._rules import ROLES, RULES, ParamScaling, ScalingPlan, init, param_groups, plan

__all__ = ["init", "plan", "param_groups", "coord_check", "signal_report", "ScalingPlan", "ParamScaling",
           "LayerSignal", "RULES", "ROLES"]

for _name in __all__[:-2]:   # (documented and shown as fastinit.torch.scaling.<name>)
    globals()[_name].__module__ = __name__
del _name
