"""fastinit in PyTorch without touching model code: `fastinit.torch.patch()` around a model build,
and `fastinit.torch.materialize(model, seed)` of a model built on the meta device, whose values are
keyed by (seed, parameter name).

Run:  python examples/torch_patch.py
"""
import torch
from torch import nn

import fastinit.torch


class TinyLM(nn.Module):
    """A small transformer language model made of stock nn modules."""

    def __init__(self, vocab=1000, dim=128, heads=4, layers=2, extra_head=False):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        block = nn.TransformerEncoderLayer(dim, heads, 4 * dim, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.lm_head = nn.Linear(dim, vocab, bias=False)
        if extra_head:                                  # (used below: a model with one more module)
            self.value_head = nn.Linear(dim, 1)

    def forward(self, tokens):
        return self.lm_head(self.norm(self.encoder(self.embed(tokens))))


def params(model):
    return {name: p.detach().clone() for name, p in model.named_parameters()}


# 1. patch(): every torch.nn.init function (also the ones nn.MultiheadAttention and nn.Transformer
#    imported by name) runs on fastinit's kernels while the block is active.  Seeds are drawn
#    from torch's generator, so torch.manual_seed makes the build reproducible as usual.
with fastinit.torch.patch():
    torch.manual_seed(0)
    a = params(TinyLM())
    torch.manual_seed(0)
    b = params(TinyLM())
assert a.keys() == b.keys() and all(torch.equal(a[n], b[n]) for n in a)
# (leaving the block restores torch.nn.init exactly)

# 2. materialize(): build on the meta device (no memory, no init), then allocate and run the
#    model's own init (every module's reset_parameters) through fastinit, keyed by name.
with torch.device("meta"):
    model = TinyLM()
fastinit.torch.materialize(model, seed=0, strict=True)    # strict: error if anything is left unset
first = params(model)
assert not any(p.is_meta for p in model.parameters())

# Same seed, same values, whatever torch's generator holds ...
torch.manual_seed(12345)
with torch.device("meta"):
    again = TinyLM()
assert all(torch.equal(first[n], p) for n, p in params(fastinit.torch.materialize(again, seed=0)).items())

# ... and whatever other modules exist: each tensor depends only on (seed, its name, shape, scheme).
with torch.device("meta"):
    bigger = TinyLM(extra_head=True)
got = params(fastinit.torch.materialize(bigger, seed=0))
assert all(torch.equal(first[n], got[n]) for n in first)  # shared names: identical values
other_seed = params(fastinit.torch.materialize(TinyLM(), seed=1))   # (a real model: refilled in place)
assert not torch.equal(first["embed.weight"], other_seed["embed.weight"])

# The model works as usual.
logits = model(torch.randint(0, 1000, (2, 16)))
assert logits.shape == (2, 16, 1000) and torch.isfinite(logits).all()
print(f"embed.weight std {first['embed.weight'].std():.3f} (nn.Embedding: N(0, 1))")
print("OK torch_patch")
