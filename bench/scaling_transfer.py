"""μTransfer on a CPU in minutes: does the best learning rate stay put as the width grows?

    python bench/scaling_transfer.py [--out bench/results] [--tag 2026-12-05] [--quick]

Two models on synthetic data, each trained with Adam from ``fastinit.torch.scaling.init`` and
``param_groups``, under μP (``rule="mup"``, base = the narrowest width) and under the standard
parametrization (``rule="standard"``: N(0, 1/fan_in) everywhere, one LR):

- an MLP (32 -> w -> w -> 10, ReLU) on a fixed random teacher's labels, widths 128, 512, 2048;
- a pre-LN transformer LM (2 blocks, head dim 16 fixed: heads grow with width, so attention's
  1/sqrt(d_head) stays right) on sequences of a random sparse Markov chain, widths 64, 128, 256.

For each (model, rule, width) the learning rate is swept over powers of 2 and the training loss
(mean of the last 10 steps) recorded; the best LR per width and max/min ratio across widths are
summarized.  Coordinate checks (activation RMS per layer vs width over 4 Adam steps) of both
models under both rules are plotted.  Writes <tag>-scaling-transfer.{txt,json}, <tag>-scaling-lr.png
and <tag>-scaling-coord-{mlp,lm}.png.  One thread (torch.set_num_threads(1)), denormals flushed.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import fastinit.torch as ft  # noqa: E402

scaling = ft.scaling


# --- models -------------------------------------------------------------------------------------

def make_mlp(width: int) -> nn.Module:
    return nn.Sequential(nn.Linear(32, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 10))


class Attention(nn.Module):
    def __init__(self, d: int, head_dim: int = 16):
        super().__init__()
        self.heads = d // head_dim
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(y.transpose(1, 2).reshape(b, t, d))


class Block(nn.Module):
    def __init__(self, d: int):
        super().__init__()
        self.ln1, self.attn = nn.LayerNorm(d), Attention(d)
        self.ln2 = nn.LayerNorm(d)
        self.fc1, self.act, self.fc2 = nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.fc2(self.act(self.fc1(self.ln2(x))))


class LM(nn.Module):
    def __init__(self, d: int, vocab: int = 64, seq: int = 32, layers: int = 2):
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, d), nn.Embedding(seq, d)
        self.blocks = nn.ModuleList(Block(d) for _ in range(layers))
        self.ln, self.head = nn.LayerNorm(d), nn.Linear(d, vocab)

    def forward(self, idx):
        x = self.tok(idx) + self.pos(torch.arange(idx.shape[1], device=idx.device))
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.ln(x))


# --- data ---------------------------------------------------------------------------------------

def mlp_data(n: int, g: torch.Generator):
    x = torch.randn(n, 32, generator=g)
    teacher = nn.Sequential(nn.Linear(32, 64), nn.Tanh(), nn.Linear(64, 10))
    with torch.no_grad():
        for p in teacher.parameters():
            p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p.shape[-1]) * 2)
        y = teacher(x).argmax(-1)
    return x, y


def lm_data(n: int, seq: int, vocab: int, g: torch.Generator):
    # a sparse Markov chain: from each token, 3 likely successors
    logits = torch.full((vocab, vocab), -4.0)
    for a in range(vocab):
        logits[a, torch.randperm(vocab, generator=g)[:3]] = torch.tensor([2.0, 1.0, 0.5])
    probs = logits.softmax(-1)
    seqs = torch.empty(n, seq + 1, dtype=torch.long)
    seqs[:, 0] = torch.randint(vocab, (n,), generator=g)
    for t in range(seq):
        seqs[:, t + 1] = torch.multinomial(probs[seqs[:, t]], 1, generator=g).squeeze(1)
    return seqs[:, :-1], seqs[:, 1:]


# --- training -----------------------------------------------------------------------------------

def ce(out, y):
    return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))


def train(make, width, base, rule, lr, data, steps, batch, seed=0) -> float:
    with torch.device("meta"):
        model = make(width)
    scaling.init(model, seed, base=base, rule=rule)
    opt = torch.optim.Adam(scaling.param_groups(model, lr, optimizer="adam"))
    x, y = data
    g = torch.Generator().manual_seed(seed + 1)
    tail = []
    for step in range(steps):
        i = torch.randint(x.shape[0], (batch,), generator=g)
        loss = ce(model(x[i]), y[i])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        v = loss.item()
        if not math.isfinite(v):
            return float("inf")
        if step >= steps - 10:
            tail.append(v)
    return sum(tail) / len(tail)


def sweep(name, make, widths, lrs, data, steps, batch, log):
    with torch.device("meta"):
        base = make(widths[0])
    result = {}
    for rule in ("mup", "standard"):
        result[rule] = {}
        for w in widths:
            t0 = time.perf_counter()
            losses = [train(make, w, base, rule, lr, data, steps, batch) for lr in lrs]
            result[rule][w] = losses
            best = min(range(len(lrs)), key=lambda i: losses[i])
            log(f"  {name:4s} {rule:8s} width {w:5d}: best lr 2^{math.log2(lrs[best]):+.0f} loss {losses[best]:.4f}"
                f"  ({time.perf_counter() - t0:.0f} s)")
    return result


def summarize(name, res, widths, lrs):
    lines = [f"{name}: best learning rate per width (Adam; training loss, mean of the last 10 steps)",
             f"  {'rule':9s}" + "".join(f"{'w=' + str(w):>16s}" for w in widths) + "   max/min ratio"]
    summary = {}
    for rule, per_w in res.items():
        best = [lrs[min(range(len(lrs)), key=lambda i: per_w[w][i])] for w in widths]
        ratio = max(best) / min(best)
        summary[rule] = {"best_lr": dict(zip(map(str, widths), best)), "ratio": ratio}
        lines.append(f"  {rule:9s}" + "".join(f"{'2^%+.0f (%.1e)' % (math.log2(b), b):>16s}" for b in best)
                     + f"   {ratio:g}")
    return lines, summary


def plot_lr(results, lrs, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(results), 2, figsize=(9, 3.4 * len(results)), squeeze=False)
    for row, (name, res) in enumerate(results.items()):
        for col, rule in enumerate(("standard", "mup")):
            ax = axes[row][col]
            for w, losses in res[rule].items():
                finite = [(lr, v) for lr, v in zip(lrs, losses) if math.isfinite(v)]
                ax.plot([a for a, _ in finite], [b for _, b in finite], marker="o", ms=3, label=f"width {w}")
            ax.set_xscale("log", base=2)
            ax.set_title(f"{name}: {'SP' if rule == 'standard' else 'μP'}")
            ax.set_xlabel("learning rate (Adam)")
            ax.set_ylabel("training loss")
            lo = min(min(v for v in ls if math.isfinite(v)) for ls in res[rule].values())
            ax.set_ylim(lo * 0.9, lo * 3 + 0.5)
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_coord(pairs, path, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    steps = pairs[0][1]["steps"]
    fig, axes = plt.subplots(len(pairs), steps, figsize=(3 * steps, 3 * len(pairs)), squeeze=False, sharey="row")
    for row, (label, data) in enumerate(pairs):
        for t in range(steps):
            ax = axes[row][t]
            for layer, per_w in data["rms"].items():
                ax.plot(data["widths"], [v[t] for v in per_w], marker="o", ms=3, label=layer)
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_title(f"{label}, step {t}", fontsize=9)
        axes[row][0].set_ylabel("activation RMS")
    axes[0][-1].legend(fontsize=5)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def flatness(data) -> float:
    """The largest growth factor of any layer's activation RMS from the narrowest to the widest width
    at the last step recorded."""
    return max(per_w[-1][-1] / per_w[0][-1] for per_w in data["rms"].values())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    ap.add_argument("--tag", default=time.strftime("%Y-%m-%d"))
    ap.add_argument("--quick", action="store_true", help="tiny run (smoke test)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)       # (2 threads on a shared 2-core machine were 3-10x slower: spinning)
    torch.set_flush_denormal(True)
    os.makedirs(args.out, exist_ok=True)
    prefix = os.path.join(args.out, f"{args.tag}-scaling")
    lines = []

    def log(s):
        print(s, flush=True)
        lines.append(s)

    t_start = time.perf_counter()
    g = torch.Generator().manual_seed(0)
    if args.quick:
        mlp_widths, lm_widths, lrs, steps = [16, 32, 64], [16, 32, 64], [2.0 ** e for e in (-8, -5)], 12
    else:
        mlp_widths, lm_widths, steps = [128, 512, 2048], [64, 128, 256], 100
        lrs = [2.0 ** e for e in range(-15, -2)]
    mlp_xy = mlp_data(4096, g)
    lm_xy = lm_data(1024, 32, 64, g)
    log(f"fastinit.torch.scaling LR transfer, torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{steps} Adam steps, batch 64 (MLP) / 16x32 tokens (LM), "
        f"LRs 2^{math.log2(lrs[0]):.0f}..2^{math.log2(lrs[-1]):.0f}")
    results = {"mlp": sweep("mlp", make_mlp, mlp_widths, lrs, mlp_xy, steps, 64, log),
               "lm": sweep("lm", LM, lm_widths, lrs, lm_xy, steps, 16, log)}
    summary = {}
    log("")
    for name, widths in (("mlp", mlp_widths), ("lm", lm_widths)):
        ls, summary[name] = summarize(name, results[name], widths, lrs)
        for line in ls:
            log(line)
    plot_lr(results, lrs, f"{prefix}-lr.png")

    # coordinate checks: 4 Adam steps at a large-ish LR, both rules
    log("")
    coord = {}
    for name, make, widths, batch in (
            ("mlp", make_mlp, [128, 256, 512, 1024, 2048], (mlp_xy[0][:64], mlp_xy[1][:64])),
            ("lm", LM, [64, 128, 256, 512], (lm_xy[0][:8], lm_xy[1][:8]))):
        if args.quick:
            widths = [16, 32, 64]
        pairs = []
        for rule in ("standard", "mup"):
            data = scaling.coord_check(make, widths, batch, steps=4, rule=rule, lr=2.0 ** -6)
            pairs.append(("SP" if rule == "standard" else "μP", data))
            coord[f"{name}-{rule}"] = {"widths": data["widths"], "rms": data["rms"],
                                       "max_growth_last_step": flatness(data)}
            log(f"coord check {name} {rule:8s}: widths {widths[0]}..{widths[-1]}, largest growth of a layer's "
                f"activation RMS at step 3: x{flatness(data):.2f}")
        plot_coord(pairs, f"{prefix}-coord-{name}.png", f"coord check, {name} (Adam lr 2^-6): SP (top) vs μP (bottom)")
    log(f"\ntotal {time.perf_counter() - t_start:.0f} s")
    with open(f"{prefix}-transfer.txt", "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(f"{prefix}-transfer.json", "w") as f:
        losses = {k: {r: {str(w): v for w, v in d.items()} for r, d in res.items()} for k, res in results.items()}
        json.dump({"lrs": lrs, "steps": steps, "losses": losses,
                   "summary": summary, "coord": coord}, f, indent=1)
    print(f"wrote {prefix}-transfer.txt, .json, -lr.png, -coord-mlp.png, -coord-lm.png")


if __name__ == "__main__":
    main()
