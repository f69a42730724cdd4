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
from __future__ import annotations

import fnmatch
import math
import statistics
import sys
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Sequence

import torch
from torch import nn

from ._materialize import _entry_point, _post_order, _reset_method, derived_seed, materialize

__all__ = ["init", "plan", "param_groups", "coord_check", "signal_report", "ScalingPlan", "ParamScaling",
           "LayerSignal", "RULES", "ROLES"]

RULES = ("mup", "depth", "standard", "umup")
ROLES = ("input", "hidden", "output", "finite", "bias", "norm")
_RESIDUAL = ("*out_proj.weight", "*o_proj.weight", "*c_proj.weight", "*down_proj.weight", "*fc2.weight",
             "*.proj.weight")
_QUERY = ("*q_proj.weight", "*query.weight", "*wq.weight", "*to_q.weight")
_ATTR = "_fastinit_scaling_plan"


@dataclass(frozen=True)
class ParamScaling:
    """One parameter's role, width multipliers, init and learning-rate multipliers."""
    name: str
    role: str
    shape: tuple[int, ...]
    base_shape: tuple[int, ...]
    m_in: float            # fan_in's width multiplier (1-D: its dim's)
    m_out: float           # fan_out's width multiplier (1-D: its dim's)
    ninf: int              # number of infinite dimensions (mup's infshape.ninf())
    init: str              # "normal", "zeros" or "ones"
    std: float             # of "normal" (0 otherwise)
    lr_adam: float
    lr_sgd: float


@dataclass
class ScalingPlan:
    """The rule applied to a model: per-parameter scaling by name, and what needs a model change."""
    rule: str
    params: dict[str, ParamScaling]
    changes: list[str] = field(default_factory=list)

    def table(self) -> str:
        """A text table: name, role, shape, m_in, m_out, init, Adam and SGD LR multipliers."""
        rows = [f"{'name':40s} {'role':7s} {'shape':>14s} {'m_in':>6s} {'m_out':>6s} {'init':>16s} "
                f"{'adam':>7s} {'sgd':>7s}"]
        for p in self.params.values():
            init = f"N(0,{p.std:.3g}^2)" if p.init == "normal" else p.init
            rows.append(f"{p.name:40s} {p.role:7s} {str(p.shape):>14s} {p.m_in:6.3g} {p.m_out:6.3g} {init:>16s} "
                        f"{p.lr_adam:7.3g} {p.lr_sgd:7.3g}")
        return "\n".join(rows + [f"model change needed: {c}" for c in self.changes])


def _shapes(obj) -> dict[str, tuple[int, ...]]:
    if isinstance(obj, nn.Module):
        return {n: tuple(p.shape) for n, p in obj.named_parameters()}
    if isinstance(obj, Mapping):
        return {n: tuple(s) for n, s in obj.items()}
    raise TypeError(f"base/delta must be an nn.Module or a dict of shapes; got {type(obj).__name__}")


def _is_norm(module: nn.Module) -> bool:
    return isinstance(module, (nn.LayerNorm, nn.GroupNorm, nn.RMSNorm, nn.modules.batchnorm._NormBase)) \
        or "Norm" in type(module).__name__


def _match(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def plan(model: nn.Module, *, base, delta=None, rule: str = "mup", roles: Mapping[str, str] | None = None,
         std: float | Mapping[str, float] = 1.0, zero_readout: bool = False, zero_query: bool = False,
         residual: Sequence[str] | None = None, depth: int | None = None) -> ScalingPlan:
    """The :class:`ScalingPlan` of ``model`` (roles, multipliers, stds, LR multipliers; see the
    module docstring for the rule table) without touching its values.  Arguments as :func:`init`."""
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}; got {rule!r}")
    if isinstance(std, Mapping):
        unknown = set(std) - set(ROLES)
        if unknown:
            raise ValueError(f"std: {sorted(unknown)} are not roles {ROLES}")
        sigma = {**dict.fromkeys(ROLES, 1.0), **std}
    else:
        sigma = dict.fromkeys(ROLES, std)
    if not all(isinstance(v, (int, float)) and v > 0 for v in sigma.values()):
        raise ValueError(f"std must be > 0 (a number or {{role: number}}); got {std}")
    base_shapes = _shapes(base)
    ref = _shapes(delta) if delta is not None else None
    owners = {}
    for mname, mod in model.named_modules():
        for pname, _ in mod.named_parameters(recurse=False):
            owners.setdefault(f"{mname}.{pname}" if mname else pname, (mod, pname))
    named = dict(model.named_parameters())
    missing = sorted(set(named) - set(base_shapes))
    if missing:
        raise ValueError(f"base has no shape for {missing[:5]}{'...' if len(missing) > 5 else ''}: base must be "
                         f"the same architecture (same parameter names) at the base width")
    residual = tuple(residual) if residual is not None else _RESIDUAL
    if rule == "umup" and depth is not None:
        raise NotImplementedError("rule='umup' with depth=: u-μP's depth rule (LR × L^-1/2 for every parameter of "
                                  "the L residual blocks, unit_scaling's DepthSequential) is not implemented")
    if rule == "depth":
        if depth is None:
            n_res = sum(_match(n, residual) for n in base_shapes)
            if n_res == 0:
                raise ValueError(f"rule='depth': no parameter of base matches the residual patterns {residual}; "
                                 f"pass residual= patterns of the residual branches' output weights")
            depth = max(1, n_res // 2)
        if depth < 1:
            raise ValueError(f"depth must be >= 1; got {depth}")
    out: dict[str, ParamScaling] = {}
    undeclared = []
    for name, p in named.items():
        shape, bshape = tuple(p.shape), base_shapes[name]
        if len(shape) != len(bshape):
            raise ValueError(f"{name}: shape {shape} and base shape {bshape} differ in rank")
        other = ref[name] if ref is not None else shape
        inf = [b != o for b, o in zip(bshape, other)]
        mult = [s / b if i else 1.0 for s, b, i in zip(shape, bshape, inf)]
        mod, pname = owners[name]
        embedding = isinstance(mod, (nn.Embedding, nn.EmbeddingBag)) and pname == "weight"
        declared = next((r for pat, r in (roles or {}).items() if fnmatch.fnmatchcase(name, pat)), None)
        if declared is not None and declared not in ROLES:
            raise ValueError(f"roles: {declared!r} for {name} is not one of {ROLES}")
        if len(shape) >= 2:
            i_in, i_out = (0, 1) if embedding else (1, 0)
            m_in, m_out = mult[i_in], mult[i_out]
            fan_in = 1 if embedding else shape[1] * math.prod(shape[2:])
            base_fan_in = 1 if embedding else bshape[1] * math.prod(bshape[2:])
            role = declared or {(False, True): "input", (True, True): "hidden", (True, False): "output",
                                (False, False): "finite"}[(inf[i_in], inf[i_out])]
        elif len(shape) == 1:
            m_in = m_out = mult[0]
            fan_in = base_fan_in = 1
            role = declared or ("bias" if "bias" in pname else "norm" if _is_norm(mod) and pname == "weight"
                                else None)
        else:
            m_in = m_out = 1.0
            fan_in = base_fan_in = 1
            role = declared
        if role is None:
            undeclared.append(f"{name} {shape} ({type(mod).__name__}.{pname})")
            continue
        if role in ("bias", "norm") or len(shape) < 2:
            init_kind = "zeros" if role != "norm" else "ones"
            stdv = 0.0
        else:
            init_kind = "normal"
            if rule == "umup":
                stdv = sigma[role]          # unit scale: the 1/√fan_in lives in the forward
            elif rule != "standard" and role == "output":
                stdv = sigma[role] / math.sqrt(base_fan_in) / m_in
            else:
                stdv = sigma[role] / math.sqrt(fan_in)
            if rule != "standard" and role == "output" and zero_readout:
                stdv = 0.0
            if zero_query and _match(name, _QUERY):
                stdv = 0.0
            if rule == "depth" and _match(name, residual):
                stdv /= math.sqrt(2 * depth)
            if stdv == 0.0:
                init_kind = "zeros"
        if rule == "standard":
            lr_adam = lr_sgd = 1.0
        elif rule == "umup":
            # unit_scaling.optim.lr_scale_func_adam (and lr_scale_func_sgd(None), which is the same):
            # weights × fan_in^-1/2 (an embedding's "fan_in" there is its dim, i.e. the paper's
            # 1/√fan-out embedding rule, applied to every input weight), readout, bias, norm × 1
            if role == "input":
                lr_adam = 1.0 / math.sqrt(shape[1] if embedding else shape[0])
            elif role in ("hidden", "finite"):
                lr_adam = 1.0 / math.sqrt(fan_in)
            else:
                lr_adam = 1.0
            lr_sgd = lr_adam
        else:
            lr_adam, lr_sgd = {
                "input": (1.0, m_out), "hidden": (1.0 / m_in, m_out / m_in), "output": (1.0 / m_in, 1.0 / m_in),
                "finite": (1.0, 1.0), "bias": (1.0, m_out), "norm": (1.0, m_out)}[role]
        out[name] = ParamScaling(name, role, shape, bshape, m_in, m_out, sum(inf), init_kind, stdv, lr_adam, lr_sgd)
    if undeclared:
        raise ValueError("cannot infer the role of " + "; ".join(undeclared) + f": declare it with roles="
                         f"{{'pattern': role}}, role one of {ROLES}")
    return ScalingPlan(rule, out, _changes(model, out, rule, residual))


_UNIT_OPS = {"GELU": "U.gelu", "SiLU": "U.silu", "Softmax": "U.softmax", "Dropout": "U.dropout"}


def _umup_changes(model: nn.Module, params: dict[str, ParamScaling], residual: Sequence[str]) -> list[str]:
    """u-μP's forward: every op unit-scaled (unit_scaling.functional), which a torch model lacks."""
    changes = []
    unit = getattr(sys.modules.get("unit_scaling"), "Linear", None)
    for mname, mod in model.named_modules():
        cls = type(mod).__name__
        where = f"{mname or '<root>'} ({cls})"
        w = params.get(f"{mname}.weight" if mname else "weight")
        if isinstance(mod, (nn.Linear, nn.modules.conv._ConvNd)) and w is not None and len(w.shape) >= 2:
            if unit is not None and isinstance(mod, unit):
                continue            # already unit_scaling's Linear/LinearReadout (scaled in its forward)
            fan_in = w.shape[1] * math.prod(w.shape[2:])
            if w.role == "output":
                changes.append(f"{where}: readout output × 1/fan_in = 1/{fan_in} (u-μP's readout multiplier; "
                               f"unit_scaling's LinearReadout / U.linear_readout)")
            else:
                changes.append(f"{where}: output × 1/√fan_in = 1/√{fan_in} (unit-scaled matmul; unit_scaling's "
                               f"Linear / U.linear{', U.conv1d' if not isinstance(mod, nn.Linear) else ''})")
        elif isinstance(mod, nn.MultiheadAttention) or cls.endswith("Attention"):
            changes.append(f"{where}: attention logits × 1/d_head (not 1/√d_head) and the attention output "
                           f"scaled to unit variance (U.scaled_dot_product_attention); its projections need the "
                           f"unit-scaled matmul too")
        elif cls in _UNIT_OPS and type(mod).__module__.startswith("torch"):
            changes.append(f"{where}: output scaled to unit variance ({_UNIT_OPS[cls]})")
        elif type(mod).__module__.startswith("torch.nn.modules.activation"):
            changes.append(f"{where}: its output is not unit-scaled (unit_scaling has no {cls}: scale it to unit "
                           f"variance, e.g. measured with unit_scaling.utils.analyse_module, or use U.gelu/U.silu)")
    res = [n for n in params if _match(n, residual)]
    changes.append("residual adds x + f(x): u-μP weights branch and skip by τ/√(1+τ²) and 1/√(1+τ²) "
                   "(U.residual_split/U.residual_add, τ per branch by transformer_residual_scaling_rule, the "
                   "paper's App. G)" + (f"; residual branches found by the residual= patterns: "
                                        f"{', '.join(n.rsplit('.', 1)[0] for n in res)}" if res else
                                        "; no residual branch matched the residual= patterns"))
    changes.append("the loss: unit-scaled cross entropy (U.cross_entropy: logits' gradient × vocab/√(vocab-1), "
                   "reduction 'mean' as sum × 1/batch); the SGD multipliers also assume the unit-scaled backward "
                   "of every op above (Adam's are insensitive to gradient scale)")
    return changes


def _changes(model: nn.Module, params: dict[str, ParamScaling], rule: str,
             residual: Sequence[str] = _RESIDUAL) -> list[str]:
    """What the rule needs that an init and LR groups cannot do: the model must change."""
    changes = []
    if rule == "standard":
        return changes
    if rule == "umup":
        changes += _umup_changes(model, params, residual)
    for mname, mod in model.named_modules():
        cls = type(mod).__name__
        if rule != "umup" and (isinstance(mod, nn.MultiheadAttention) or cls.endswith("Attention")):
            changes.append(f"{mname or '<root>'} ({cls}): μP scales attention logits by 1/d_head, not 1/√d_head, "
                           f"when d_head grows with width (with a fixed d_head and more heads, 1/√d_head is right)")
    # tied parameters: one tensor under several names with different roles
    seen: dict[int, list[str]] = {}
    for n, p in model.named_parameters(remove_duplicate=False):
        seen.setdefault(id(p), []).append(n)
    for names in seen.values():
        if len(names) > 1:
            if rule == "umup":
                changes.append(f"{' = '.join(names)} are tied: u-μP gives the embedding and the readout different "
                               f"LRs (1/√fan_out and 1); untie them")
            else:
                changes.append(f"{' = '.join(names)} are tied: a readout tied to the input embedding cannot get "
                               f"the readout's 1/m init and LR; untie it or multiply the output by 1/m_in "
                               f"(mup's MuSharedReadout)")
    if not any(p.role == "output" for p in params.values()):
        changes.append("no readout (output role) found: check that base differs from the model in width")
    if rule == "depth":
        changes.append("depth-μP's 1/√L multiplier on each residual branch is a forward change (only the "
                       "1/√(2L) init of the branches' output weights is applied)")
    return changes


def init(model: nn.Module, seed: int, *, base, delta=None, rule: str = "mup",
         roles: Mapping[str, str] | None = None, std: float | Mapping[str, float] = 1.0,
         zero_readout: bool = False,
         zero_query: bool = False, residual: Sequence[str] | None = None, depth: int | None = None,
         device: str | torch.device = "cpu", strict: bool = False) -> ScalingPlan:
    """Initialize ``model`` by the width/depth ``rule`` and return its :class:`ScalingPlan` (also kept
    on the model for :func:`param_groups`).

    ``base``: the same architecture at the base width (an nn.Module, e.g. built on the meta device,
    or ``{name: shape}``); ``delta``: optionally another width, to say which dims are widths when
    the model is at the base width itself (as mup's ``set_base_shapes(delta=)``).  ``roles``:
    ``{fnmatch pattern: role}`` overrides.  ``std`` σ, a number or ``{role: σ}`` (others 1; e.g.
    ``{"input": 0.02}`` for GPT-style embeddings): weight N(0, σ²/fan_in) (readout, μP:
    N(0, σ²/base_fan_in/m_in²)).  ``zero_readout``/``zero_query``: zero-init the readout / the
    attention query projections.  ``rule="depth"``: residual output weights (``residual=``
    patterns) × 1/√(2·depth).  See the module docstring for the table and the references.

    Meta parameters are allocated on ``device`` and every parameter is filled through
    :func:`fastinit.torch.materialize` (``init=``), so its values are keyed by ``(seed, its fully
    qualified name)`` and identical for any world size, FSDP2/TP sharding and pipeline stage.
    Biases 0, norm weights 1.  BatchNorm running stats are reset.  A model with other buffers
    (rotary tables, ...) first runs its own init, as :func:`~fastinit.torch.materialize` would (a
    transformers model's ``init_weights``, else every ``reset_parameters``), which computes them;
    its parameters are then refilled by the rule (the same values: each fill's generator is
    ``derived_seed(seed, name, 0)``'s).  A buffer that no init wrote is named in materialize's
    warning (``strict=True``: an error)."""
    p = plan(model, base=base, delta=delta, rule=rule, roles=roles, std=std, zero_readout=zero_readout,
             zero_query=zero_query, residual=residual, depth=depth)

    other_buffers = [n for m_name, sub in model.named_modules()
                     if not isinstance(sub, nn.modules.batchnorm._NormBase)
                     for n, _ in sub.named_buffers(prefix=m_name, recurse=False)]
    dev = torch.device(device)

    def fill(module: nn.Module) -> None:
        if other_buffers:
            # buffers (rotary tables, ...): the model's own init computes them, as materialize runs
            # it; the parameters it fills are then refilled below
            entry = _entry_point(module, None, dev)
            if entry is not None:
                entry[1]()
            else:
                for _, sub in _post_order(module):
                    reset = _reset_method(sub)
                    if reset is not None:
                        reset()
        for name, t in module.named_parameters():
            s = p.params[name]
            if s.init == "normal":
                # (torch.nn.init looked up now: materialize's wrapped function, which notes the write;
                # the generator is the one materialize gives the first random call on this name)
                gen = torch.Generator(device=t.device if t.device.type != "meta" else "cpu")
                torch.nn.init.normal_(t, 0.0, s.std, generator=gen.manual_seed(derived_seed(seed, name, 0)))
            elif s.init == "zeros":
                torch.nn.init.zeros_(t)
            else:
                torch.nn.init.ones_(t)
        for sub in module.modules():
            if isinstance(sub, nn.modules.batchnorm._NormBase) and sub.track_running_stats:
                sub.reset_running_stats()

    fill.__qualname__ = f"fastinit.torch.scaling.init(rule={rule!r})"
    materialize(model, seed, init=fill, device=device, strict=strict)
    object.__setattr__(model, _ATTR, p)
    return p


def param_groups(model: nn.Module, lr: float, *, optimizer: str = "adam", plan: ScalingPlan | None = None,
                 **group_options) -> list[dict]:
    """The optimizer's parameter groups with the rule's learning-rate multipliers: one group per
    distinct multiplier, ``{"params": [...], "lr": lr * multiplier, "names": [...], **group_options}``
    (``optimizer="adam"`` for Adam/AdamW, ``"sgd"`` for SGD; see the table in the module docstring).
    ``plan`` defaults to the one :func:`init` kept on the model.  Pass the result to
    ``torch.optim.AdamW(groups)``.  (Decoupled weight decay in AdamW is multiplied by the group's lr
    in torch, so it scales with the multiplier, as mup's MuAdamW intends.)"""
    if optimizer not in ("adam", "sgd"):
        raise ValueError(f"optimizer must be 'adam' or 'sgd'; got {optimizer!r}")
    p = plan if plan is not None else getattr(model, _ATTR, None)
    if p is None:
        raise ValueError("no scaling plan: call fastinit.torch.scaling.init(model, ...) first, or pass plan=")
    groups: dict[float, dict] = {}
    for name, t in model.named_parameters():
        if name not in p.params:
            raise ValueError(f"{name} is not in the plan (was the model changed after init?)")
        mult = p.params[name].lr_adam if optimizer == "adam" else p.params[name].lr_sgd
        g = groups.setdefault(mult, {"params": [], "names": [], "lr": lr * mult, **group_options})
        g["params"].append(t)
        g["names"].append(name)
    return list(groups.values())


def _rms(t: torch.Tensor) -> float:
    t = t.detach().float()
    return t.pow(2).mean().sqrt().item() if t.numel() else 0.0


def _leaves(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(n, m) for n, m in model.named_modules() if n and not list(m.children())]


def coord_check(make_model: Callable[[int], nn.Module], widths: Sequence[int], batch, steps: int = 4, *,
                rule: str = "mup", lr: float = 1e-2, optimizer: str = "adam", seed: int = 0,
                loss_fn: Callable | None = None, base_width: int | None = None, plot: str | None = None,
                **init_options) -> dict:
    """The coordinate check of Tensor Programs V (Fig. 5, mup's ``get_coord_data``): train
    ``make_model(width)`` for ``steps`` steps on ``batch`` at each width and record, before each
    step, the RMS of every leaf module's output.  Under μP the curves are flat in width; under SP
    some grow (or shrink) with width after the first step.

    ``batch``: ``(inputs, targets)``; ``loss_fn(model_output, targets)`` (default cross entropy over
    the last dim).  ``base_width``: default ``widths[0]`` (``make_model(base_width)`` and, to tell
    which dimensions are widths, ``make_model(2 * base_width)`` are built on the meta device).
    ``init_options`` go to :func:`init` (``zero_readout=True``, ...).  The optimizer is Adam or SGD
    (``optimizer=``) over :func:`param_groups`.  Returns ``{"widths": [...], "rule": ..., "steps":
    ..., "rms": {layer: [[rms at step t for t] for each width]}, "loss": [[loss per step] for each
    width]}``; ``plot=path`` writes a PNG (one panel per step, RMS vs width, log-log, a line per
    layer)."""
    inputs, targets = batch
    loss_fn = loss_fn or (lambda out, y: nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1)))
    base_width = widths[0] if base_width is None else base_width
    with torch.device("meta"):
        base = make_model(base_width)
        delta = make_model(base_width * 2)    # (names the widths at the base width itself too)
    rms: dict[str, list[list[float]]] = {}
    losses = []
    for w in widths:
        with torch.device("meta"):
            model = make_model(w)
        init(model, seed, base=base, delta=delta, rule=rule, **init_options)
        opt_cls = torch.optim.Adam if optimizer == "adam" else torch.optim.SGD
        opt = opt_cls(param_groups(model, lr, optimizer=optimizer))
        record: dict[str, list[float]] = {}
        hooks = [m.register_forward_hook(lambda mod, i, o, n=n: record.setdefault(n, []).append(
            _rms(o[0] if isinstance(o, tuple) else o))) for n, m in _leaves(model)]
        wl = []
        try:
            for _ in range(steps):
                opt.zero_grad()
                loss = loss_fn(model(inputs), targets)
                loss.backward()
                opt.step()
                wl.append(loss.item())
        finally:
            for h in hooks:
                h.remove()
        for n, vals in record.items():
            rms.setdefault(n, []).append(vals)
        losses.append(wl)
    data = {"widths": list(widths), "rule": rule, "steps": steps, "rms": rms, "loss": losses}
    if plot:
        _plot_coord(data, plot)
    return data


def _plot_coord(data: dict, path: str, title: str | None = None) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = data["steps"]
    fig, axes = plt.subplots(1, steps, figsize=(3.2 * steps, 3.2), sharey=True, squeeze=False)
    for t in range(steps):
        ax = axes[0][t]
        for layer, per_width in data["rms"].items():
            ax.plot(data["widths"], [v[t] for v in per_width], marker="o", ms=3, label=layer)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_title(f"step {t}")
        ax.set_xlabel("width")
    axes[0][0].set_ylabel("activation RMS")
    axes[0][-1].legend(fontsize=6, loc="best")
    fig.suptitle(title or f"coord check: {data['rule']}")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


@dataclass(frozen=True)
class LayerSignal:
    """One leaf module's forward output RMS and backward gradient (w.r.t. its output) RMS, flagged."""
    name: str
    kind: str
    act_rms: float
    grad_rms: float
    flag: str       # "", "vanishing activations", "exploding activations", "vanishing gradients", ...

    def __str__(self) -> str:
        return f"{self.name:36s} {self.kind:14s} {self.act_rms:10.3e} {self.grad_rms:10.3e}  {self.flag}"


def signal_report(model: nn.Module, batch, loss_fn: Callable, *, low: float = 1e-3,
                  high: float = 1e3) -> list[LayerSignal]:
    """Forward activation RMS and backward gradient RMS of every leaf module's output on one batch
    (``loss_fn(model, batch)`` returns the scalar loss), in execution order.  A layer is flagged
    when its activation RMS is below ``low`` or above ``high`` times the median over layers
    (vanishing / exploding activations), and alike for gradients; a non-finite value is flagged.
    Parameter gradients are left in ``.grad`` (zero them before training).  ``str`` of a row is a
    table line."""
    acts: dict[str, float] = {}
    grads: dict[str, float] = {}
    kinds = {}
    order: list[str] = []

    def hook(mod, inp, out, name):
        out = out[0] if isinstance(out, tuple) else out
        if not isinstance(out, torch.Tensor):
            return
        if name not in acts:
            order.append(name)
        acts[name] = _rms(out)
        if out.requires_grad:
            out.register_hook(lambda g: grads.__setitem__(name, _rms(g)))

    handles = []
    for n, m in _leaves(model):
        kinds[n] = type(m).__name__
        handles.append(m.register_forward_hook(lambda mod, i, o, n=n: hook(mod, i, o, n)))
    try:
        loss = loss_fn(model, batch)
        loss.backward()
    finally:
        for h in handles:
            h.remove()
    med_a = statistics.median([v for v in acts.values() if v > 0] or [1.0])
    med_g = statistics.median([v for v in grads.values() if v > 0] or [1.0])
    rows = []
    for n in order:
        a, g = acts[n], grads.get(n, float("nan"))
        flags = []
        for what, v, med in (("activations", a, med_a), ("gradients", g, med_g)):
            if what == "gradients" and n not in grads:
                continue
            if not math.isfinite(v):
                flags.append(f"non-finite {what}")
            elif v < low * med:
                flags.append(f"vanishing {what}")
            elif v > high * med:
                flags.append(f"exploding {what}")
        rows.append(LayerSignal(n, kinds[n], a, g, ", ".join(flags)))
    return rows
