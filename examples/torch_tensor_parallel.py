"""Tensor parallel from the meta device: an MLP whose up projection is split by columns and down
projection by rows (`parallelize_module` with ColwiseParallel/RowwiseParallel), initialized two
ways, each giving exactly the single-process values:
  - `fastinit.torch.materialize(model, seed)`: values keyed by (seed, parameter name);
  - `to_empty` + every module's `reset_parameters()` under `fastinit.torch.patch()`, with
    `torch.manual_seed` on every rank (fastinit draws its seeds from torch's generator).
Each rank fills only its own shard of each DTensor, with no communication.

Run (CPU, gloo):  torchrun --nproc-per-node 2 examples/torch_tensor_parallel.py
"""
from collections import OrderedDict

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.tensor.parallel import ColwiseParallel, RowwiseParallel, parallelize_module

import fastinit.torch as ft


def build_model():
    return nn.Sequential(OrderedDict(up=nn.Linear(256, 1024), act=nn.GELU(), down=nn.Linear(1024, 256)))


PLAN = {"up": ColwiseParallel(), "down": RowwiseParallel()}   # weights (out, in): Shard(0), Shard(1)


def reset_under_patch(model, seed):
    with ft.patch():                                     # torch.nn.init -> fastinit while active
        model.to_empty(device="cpu")
        torch.manual_seed(seed)                          # the same on every rank
        for m in model.modules():
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()
    return model


def meta_model(parallel):
    with torch.device("meta"):
        model = build_model()
    return parallelize_module(model, mesh, PLAN) if parallel else model


dist.init_process_group("gloo")                          # torchrun sets RANK, WORLD_SIZE, ...
rank, world_size = dist.get_rank(), dist.get_world_size()
mesh = init_device_mesh("cpu", (world_size,))

x = torch.randn(8, 256, generator=torch.Generator().manual_seed(0))   # the same input on every rank
for label, initialize in (("materialize", lambda m: ft.materialize(m, seed=0, strict=True)),
                          ("reset_parameters under patch()", lambda m: reset_under_patch(m, seed=0))):
    tp = initialize(meta_model(parallel=True))          # parameters are DTensors: each rank its shard
    single = initialize(meta_model(parallel=False))     # the same, in one process (every rank can)
    shards = {n: tuple(p.to_local().shape) for n, p in tp.named_parameters()}
    for (name, p), want in zip(tp.named_parameters(), single.parameters()):
        assert torch.equal(p.full_tensor(), want), f"{label}: {name} differs from the single-process value"
    # The sharded model computes what the single-process one does (up to summation order).
    torch.testing.assert_close(tp(x), single(x))
    if rank == 0:
        print(f"{label}: every full tensor equals the single-process one; rank 0 shards {shards}")

if rank == 0:
    print(f"OK torch_tensor_parallel (world size {world_size})")
dist.destroy_process_group()
