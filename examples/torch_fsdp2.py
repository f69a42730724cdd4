"""FSDP2 from the meta device: build a transformer LM on meta, `fully_shard` each block and the
root, then `fastinit.torch.materialize(model, seed)`.  Each rank fills only its own shards, with no
communication, and the full parameters equal a single-process materialize bit for bit, for any
world size (the recipe of docs/torch.md, "Recipe: FSDP2 or tensor parallel from the meta device").

Run (CPU, gloo):  torchrun --nproc-per-node 2 examples/torch_fsdp2.py
"""
import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import fully_shard

import fastinit.torch as ft

SEED = 0


class LM(nn.Module):
    """A small pre-LN transformer language model made of stock nn modules."""

    def __init__(self, vocab=1000, dim=128, heads=4, layers=4):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.blocks = nn.ModuleList(nn.TransformerEncoderLayer(dim, heads, 4 * dim, batch_first=True,
                                                               norm_first=True) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)
        self.lm_head = nn.Linear(dim, vocab, bias=False)

    def forward(self, tokens):
        mask = nn.Transformer.generate_square_subsequent_mask(tokens.shape[1])
        x = self.embed(tokens)
        for block in self.blocks:
            x = block(x, src_mask=mask, is_causal=True)
        return self.lm_head(self.norm(x))


def build_model():
    return LM()


dist.init_process_group("gloo")                        # torchrun sets RANK, WORLD_SIZE, MASTER_ADDR...
rank, world_size = dist.get_rank(), dist.get_world_size()
mesh = init_device_mesh("cpu", (world_size,))

with torch.device("meta"):                             # no memory, no init yet
    model = build_model()
for block in model.blocks:
    fully_shard(block, mesh=mesh)                      # parameters become DTensors sharded on dim 0
fully_shard(model, mesh=mesh)
ft.materialize(model, seed=SEED, strict=True)          # allocate the local shards, run the model's init

# Check: the full parameters (gathered: full_tensor() is a collective, every rank calls it) equal
# the single-process model materialized with the same seed.
local = sum(p.to_local().numel() for p in model.parameters())
full = {n: p.full_tensor().detach() for n, p in model.named_parameters()}
if rank == 0:
    with torch.device("meta"):
        reference = build_model()
    want = dict(ft.materialize(reference, seed=SEED).named_parameters())
    assert full.keys() == want.keys()
    for name, value in full.items():
        assert torch.equal(value, want[name]), f"{name} differs from the single-process value"
    print(f"rank 0 filled {local:,} of {sum(p.numel() for p in want.values()):,} values")

# The model trains as usual: one AdamW step on random tokens.
opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
tokens = torch.randint(0, 1000, (4, 33), generator=torch.Generator().manual_seed(rank))
loss = nn.functional.cross_entropy(model(tokens[:, :-1]).flatten(0, 1), tokens[:, 1:].flatten())
loss.backward()
opt.step()
if rank == 0:
    print(f"OK torch_fsdp2: {len(full)} parameters equal the single-process materialize "
          f"(world size {world_size}); loss {loss.item():.3f}")
dist.destroy_process_group()
