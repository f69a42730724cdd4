"""The rules of fastinit.torch.scaling: roles and width multipliers, the rule table, init and the
optimizer's parameter groups (the package docstring has the table)."""
from __future__ import annotations

import fnmatch
import math
import sys
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import torch
from torch import nn

from .._materialize import _entry_point, _post_order, _reset_method, derived_seed, materialize

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
