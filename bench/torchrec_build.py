"""Build a torchrec DistributedModelParallel of --tables embedding tables (--rows x --dim, float32)
on --world gloo ranks on this machine, two ways, interleaved, and report rank 0's wall time
(after a barrier) and the values per second:

  torchrec      the default build: fbgemm's allocation, each kernel's init_parameters, the sharded
                reset_parameters (three fills, different for every sharding)
  fastinit      the build inside fastinit.torch.deferred_init(), then fastinit.torch.materialize
                (one fill per shard, at its global position)

Tables are row-wise sharded (every rank holds a part of every table), fused kernels.

    python bench/torchrec_build.py                        # 4 x 2.5M x 128 (5.1 GB), world 2
    python bench/torchrec_build.py --rows 200000 --repeat 1
"""
from __future__ import annotations

import argparse
import datetime
import os
import socket
import sys
import time

from fastinit.bench import measure, report


def _worker(rank, world, port, args, way, out):
    os.environ["GLOO_SOCKET_IFNAME"] = "lo"
    import torch
    import torch.distributed as dist
    from torchrec import EmbeddingBagCollection, EmbeddingBagConfig
    from torchrec.distributed.embeddingbag import EmbeddingBagCollectionSharder
    from torchrec.distributed.model_parallel import DistributedModelParallel
    from torchrec.distributed.sharding_plan import construct_module_sharding_plan, row_wise
    from torchrec.distributed.types import ShardingPlan

    import fastinit
    import fastinit.torch as ft

    threads = max(1, (os.cpu_count() or 1) // world)
    torch.set_num_threads(threads)
    fastinit.set_num_threads(threads)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world,
                            timeout=datetime.timedelta(seconds=3600))
    tables = [EmbeddingBagConfig(name=f"t{i}", embedding_dim=args.dim, num_embeddings=args.rows, feature_names=[f"f{i}"])
              for i in range(args.tables)]
    ebc = EmbeddingBagCollection(tables=tables, device=torch.device("meta"))
    plan = ShardingPlan({"": construct_module_sharding_plan(
        ebc, per_param_sharding={t.name: row_wise(compute_kernel="fused") for t in tables}, local_size=world,
        world_size=world, device_type="cpu")})
    dist.barrier()
    start = time.perf_counter()
    if way == "torchrec":
        model = DistributedModelParallel(ebc, device=torch.device("cpu"), plan=plan,
                                         sharders=[EmbeddingBagCollectionSharder()])
    else:
        with ft.deferred_init():
            model = DistributedModelParallel(ebc, device=torch.device("cpu"), plan=plan,
                                             sharders=[EmbeddingBagCollectionSharder()])
        ft.materialize(model, seed=0)
    dist.barrier()
    seconds = time.perf_counter() - start
    if rank == 0:
        out.put(seconds)
    del model
    dist.destroy_process_group()


def _port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv=None) -> int:
    import torch.multiprocessing as mp

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", type=int, default=4)
    parser.add_argument("--rows", type=int, default=2_500_000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--world", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    ctx = mp.get_context("spawn")

    def build(way):
        """One build on --world ranks: rank 0's seconds."""
        out, port = ctx.Queue(), _port()
        procs = [ctx.Process(target=_worker, args=(r, args.world, port, args, way, out)) for r in range(args.world)]
        for p in procs:
            p.start()
        seconds = out.get(timeout=3600)
        for p in procs:
            p.join()
            if p.exitcode != 0:
                raise SystemExit(f"{way}: a rank exited with {p.exitcode}")
        return seconds

    results = measure.rounds({way: (lambda way=way: build(way)) for way in ("torchrec", "fastinit")}, args.repeat)
    values = args.tables * args.rows * args.dim
    print(f"torchrec DistributedModelParallel, {args.tables} x {args.rows:,} x {args.dim} float32 "
          f"({values * 4 / 1e9:.1f} GB), row-wise, fused kernels, world {args.world} (gloo); "
          f"rank 0 wall time, medians of {args.repeat}")
    median = {way: measure.Times(ts).median for way, ts in results.items()}
    report.table(["way", "seconds", "M values/s", "vs torchrec"],
                 [[way, f"{m:.2f}", f"{values / m / 1e6:.0f}", f"{median['torchrec'] / m:.2f}x"]
                  for way, m in median.items()])
    return 0


if __name__ == "__main__":
    sys.exit(main())
