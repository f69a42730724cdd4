"""fastinit.torch with torchrec (the real package, on CPU): an EmbeddingBagCollection or
EmbeddingCollection materialized unsharded (meta or real) or sharded by DistributedModelParallel
(table-wise, row-wise, column-wise, table-row-wise, data-parallel; dense and fused kernels; world
sizes 1, 2 and 3) gets, table by table, exactly the single-process values: each rank's local shards
(which alias the kernels' weights) equal their slices of the unsharded table.  deferred_init()
skips the build's own table inits, so materialize fills each shard once."""
import datetime
import functools
import os
import traceback
import warnings

import pytest

torch = pytest.importorskip("torch")
torchrec = pytest.importorskip("torchrec")
import torch.distributed as dist  # noqa: E402
from torchrec import EmbeddingBagCollection, EmbeddingBagConfig, EmbeddingCollection, EmbeddingConfig  # noqa: E402

import fastinit  # noqa: E402
import fastinit.torch as ft  # noqa: E402
from fastinit.torch import _init as ft_init  # noqa: E402
from fastinit.torch._materialize import derived_seed  # noqa: E402
from conftest import launch_ranks  # noqa: E402

TIMEOUT = 240


def bag_tables(dim=24):
    return [EmbeddingBagConfig(name="default", embedding_dim=dim, num_embeddings=101, feature_names=["f0"]),
            EmbeddingBagConfig(name="wide", embedding_dim=dim, num_embeddings=57, feature_names=["f1"],
                               weight_init_min=-0.5, weight_init_max=0.25),
            EmbeddingBagConfig(name="normal", embedding_dim=dim, num_embeddings=64, feature_names=["f2"],
                               init_fn=functools.partial(torch.nn.init.normal_, std=0.3)),
            EmbeddingBagConfig(name="fastinit", embedding_dim=dim, num_embeddings=40, feature_names=["f3"],
                               init_fn=functools.partial(ft.trunc_normal_, std=0.1, a=-0.15, b=0.15)),
            EmbeddingBagConfig(name="custom", embedding_dim=dim, num_embeddings=33, feature_names=["f4"],
                               init_fn=shifted_uniform)]


def shifted_uniform(w):
    """An init_fn that is no torch.nn.init function: drawn from torch's default generator."""
    with torch.no_grad():
        return w.uniform_(0.25, 0.75)


class Model(torch.nn.Module):
    def __init__(self, device, ec=False, dim=24):
        super().__init__()
        self.ebc = EmbeddingBagCollection(tables=bag_tables(dim), device=device)
        if ec:
            self.ec = EmbeddingCollection(tables=[EmbeddingConfig(name="item", embedding_dim=dim, num_embeddings=77,
                                                                  feature_names=["i0"])], device=device)   # = ITEM
        self.dense = torch.nn.Linear(dim, 4, device=device)


def table_seed(seed, fqn):
    return ft_init._seed(torch.Generator().manual_seed(derived_seed(seed, fqn, 0)))


def expected_table(seed, fqn, config):
    """What the table must hold, computed without materialize."""
    shape = (config.num_embeddings, config.embedding_dim)
    init_fn = config.init_fn
    if isinstance(init_fn, functools.partial):
        name = init_fn.func.__name__
        return torch.from_numpy(fastinit.init(shape, name, seed=table_seed(seed, fqn), **init_fn.keywords))
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(table_seed(seed, fqn))
        return init_fn(torch.empty(shape))


def test_unsharded_meta_and_real_get_each_tables_scheme():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        meta = ft.materialize(Model(torch.device("meta"), ec=True), seed=7)
    real = ft.materialize(Model(torch.device("cpu"), ec=True), seed=7)
    for config in bag_tables():
        fqn = f"ebc.embedding_bags.{config.name}.weight"
        want = expected_table(7, fqn, config)
        for model in (meta, real):
            assert torch.equal(model.ebc.embedding_bags[config.name].weight.detach(), want), fqn
    bound = (1 / 101) ** 0.5    # torchrec's default U(-sqrt(1/N), sqrt(1/N))
    default = meta.ebc.embedding_bags["default"].weight
    assert float(default.min()) >= -bound and float(default.max()) < bound and abs(float(default.std()) - bound / 3 ** 0.5) < 0.003
    wide = meta.ebc.embedding_bags["wide"].weight
    assert float(wide.min()) >= -0.5 and float(wide.max()) < 0.25
    items = meta.ec.embeddings["item"].weight
    assert torch.equal(items.detach(), expected_table(7, "ec.embeddings.item.weight", ITEM))


def test_table_init_with_a_bound_generator_is_refused():
    config = EmbeddingBagConfig(name="g", embedding_dim=4, num_embeddings=5, feature_names=["g"],
                                init_fn=functools.partial(torch.nn.init.uniform_, generator=torch.Generator()))
    with pytest.raises(ValueError, match="generator"):
        ft.materialize(EmbeddingBagCollection(tables=[config], device=torch.device("meta")), seed=0)


# ---------------------------------------------------------------- sharded, in real process groups

ITEM = EmbeddingConfig(name="item", embedding_dim=24, num_embeddings=77, feature_names=["i0"])


def _plans(world_size):
    """(label, EmbeddingBagCollection tables' shardings, the EmbeddingCollection table's sharding)."""
    from torchrec.distributed.sharding_plan import (column_wise, data_parallel, row_wise, table_row_wise,
                                                    table_wise)
    last = world_size - 1
    yield "mixed", {"default": table_wise(rank=last), "wide": row_wise(), "normal": column_wise(ranks=list(range(world_size))),
                    "fastinit": table_row_wise(host_index=0), "custom": data_parallel()}, row_wise()
    yield "mixed, other placement", {"default": row_wise(), "wide": column_wise(ranks=[0] * world_size + [last]),
                                     "normal": table_wise(rank=0), "fastinit": data_parallel(), "custom": row_wise()}, \
        data_parallel()
    yield "fused kernels", {"default": table_wise(rank=0, compute_kernel="fused"),
                            "wide": row_wise(compute_kernel="fused"),
                            "normal": column_wise(ranks=list(range(world_size)), compute_kernel="fused"),
                            "fastinit": table_wise(rank=last, compute_kernel="fused"), "custom": data_parallel()}, \
        column_wise(ranks=list(range(world_size)), compute_kernel="fused")


def _check_local_shards(dmp, seed):
    """Every local shard of every table equals its slice of the single-process table."""
    state = dmp.state_dict()
    tables = [(f"ebc.embedding_bags.{c.name}.weight", c) for c in bag_tables()] + [("ec.embeddings.item.weight", ITEM)]
    for fqn, config in tables:
        want = expected_table(seed, fqn, config)
        value = state[fqn]
        if hasattr(value, "local_shards"):
            assert tuple(value.size()) == tuple(want.shape), fqn
            for shard in value.local_shards():
                region = tuple(slice(o, o + n) for o, n in zip(shard.metadata.shard_offsets, shard.metadata.shard_sizes))
                assert torch.equal(shard.tensor.detach(), want[region]), f"{fqn} shard at {shard.metadata.shard_offsets}"
        else:   # data-parallel: the whole table on every rank
            assert torch.equal(value.detach(), want), fqn
    assert torch.equal(state["dense.weight"], dict(ft.materialize(Model(torch.device("meta"), ec=True), seed=seed)
                                                   .named_parameters())["dense.weight"].detach())


def _worker(rank, world_size, port):
    os.environ["GLOO_SOCKET_IFNAME"] = "lo"
    fastinit.set_num_threads(1)
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size,
                            timeout=datetime.timedelta(seconds=TIMEOUT))
    from torchrec.distributed.embedding import EmbeddingCollectionSharder
    from torchrec.distributed.embeddingbag import EmbeddingBagCollectionSharder
    from torchrec.distributed.model_parallel import DistributedModelParallel
    from torchrec.distributed.sharding_plan import construct_module_sharding_plan
    from torchrec.distributed.types import ShardingPlan

    failures, count = [], 0
    try:
        sharders = [EmbeddingBagCollectionSharder(), EmbeddingCollectionSharder()]
        for label, per_table, item in _plans(world_size):
            for deferred in (False, True):
                count += 1
                try:
                    model = Model(torch.device("meta"), ec=True)
                    plan = ShardingPlan({
                        "ebc": construct_module_sharding_plan(model.ebc, per_param_sharding=per_table,
                                                              local_size=world_size, world_size=world_size,
                                                              device_type="cpu"),
                        "ec": construct_module_sharding_plan(model.ec, per_param_sharding={"item": item},
                                                             local_size=world_size, world_size=world_size,
                                                             device_type="cpu")})
                    if deferred:
                        with ft.deferred_init():
                            dmp = DistributedModelParallel(module=model, device=torch.device("cpu"), plan=plan,
                                                           sharders=sharders)
                        # nothing filled yet: fbgemm's zeros in the fused kernels (its dense kernel
                        # allocates with torch.randn, which deferred_init leaves to fbgemm)
                        state = dmp.state_dict()
                        kernels = dmp.plan.plan["ebc"]
                        for config in bag_tables():
                            if kernels[config.name].compute_kernel != "fused":
                                continue
                            v = state[f"ebc.embedding_bags.{config.name}.weight"]
                            for t in ([s.tensor for s in v.local_shards()] if hasattr(v, "local_shards") else [v]):
                                assert not t.any(), f"{config.name} was initialized during the deferred build"
                    else:
                        dmp = DistributedModelParallel(module=model, device=torch.device("cpu"), plan=plan,
                                                       sharders=sharders)
                    with warnings.catch_warnings():
                        warnings.filterwarnings("error", message="fastinit")
                        assert ft.materialize(dmp, seed=11) is dmp
                    _check_local_shards(dmp, 11)
                except Exception:   # noqa: BLE001
                    failures.append(f"rank {rank}: {label}, deferred={deferred}\n{traceback.format_exc()}")
        if failures:
            raise AssertionError(f"{len(failures)} of {count} cases failed:\n" + "\n".join(failures))
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize("world_size", [1, 2, 3])
def test_sharded_tables_equal_the_unsharded_ones(world_size):
    launch_ranks(_worker, world_size, ["torch", "torchrec", "torchrec.distributed.model_parallel", "fastinit.torch",
                                       __name__], TIMEOUT)
