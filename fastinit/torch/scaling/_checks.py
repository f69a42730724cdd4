"""The checks of fastinit.torch.scaling: the coordinate check across widths and the signal report
at init (the package docstring says what each shows)."""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch import nn

from ._rules import init, param_groups


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
