"""μP with fastinit.torch.scaling: initialize a wide MLP from a base width, give Adam the μP
learning rates with `param_groups`, train a few steps on synthetic data, and run the coordinate
check (activation size flat in width under μP, growing under the standard parametrization).

Run:  python examples/scaling_mup.py      (writes coord_mup.png / coord_sp.png if matplotlib is installed)
"""
import importlib.util

import torch
from torch import nn

from fastinit.torch import scaling


def mlp(width):
    return nn.Sequential(nn.Linear(32, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 10))


# Synthetic classification data: labels from a fixed random teacher.
g = torch.Generator().manual_seed(0)
x = torch.randn(256, 32, generator=g)
y = (x @ torch.randn(32, 10, generator=g)).argmax(-1)

# 1. μP init of a width-512 model from the base width 128 (where the learning rate was tuned).
#    Both are built on the meta device: nothing is allocated until scaling.init fills the model
#    (through fastinit.torch.materialize: each value keyed by (seed, parameter name)).
with torch.device("meta"):
    base, model = mlp(128), mlp(512)
plan = scaling.init(model, seed=0, base=base, rule="mup")
print(plan.table())
assert [p.role for p in plan.params.values()] == ["input", "bias", "hidden", "bias", "output", "bias"]
assert plan.params["2.weight"].lr_adam == 128 / 512          # hidden and readout: Adam LR / m_in

# 2. The optimizer: one group per learning-rate multiplier.
groups = scaling.param_groups(model, lr=2 ** -7)
opt = torch.optim.Adam(groups)
print("Adam groups:", [(round(gr["lr"], 5), gr["names"]) for gr in groups])

# 3. A short training loop.
losses = []
for step in range(30):
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    losses.append(loss.item())
print(f"training loss {losses[0]:.3f} -> {losses[-1]:.2e}")
assert losses[-1] < 0.5 * losses[0]

# 4. Coordinate check: a few Adam steps at each width; each layer's output RMS per width and step.
widths = [64, 256, 1024]
have_plot = importlib.util.find_spec("matplotlib") is not None
growth = {}
for rule in ("mup", "standard"):
    data = scaling.coord_check(mlp, widths, (x[:128], y[:128]), steps=4, rule=rule, lr=2 ** -6,
                               plot=f"coord_{'sp' if rule == 'standard' else 'mup'}.png" if have_plot else None)
    # growth of each layer's activation RMS from the narrowest to the widest width, at the last step
    growth[rule] = max(per_width[-1][-1] / per_width[0][-1] for per_width in data["rms"].values())
    print(f"{rule:>8}: largest activation growth from width {widths[0]} to {widths[-1]}: x{growth[rule]:.2f}")
assert growth["mup"] < 2 < growth["standard"], growth            # flat under μP, growing under SP
print("OK scaling_mup" + ("" if have_plot else " (matplotlib missing: no plots)"))
