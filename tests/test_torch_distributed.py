"""fastinit.torch on DTensors: with real gloo process groups, every rank's shard is exactly its part
of the single-process fill (full_tensor() equal bit for bit), for 1-D and 2-D meshes, Shard(d) on
every dim (even, uneven and empty shards) and Replicate(); FSDP2 and tensor-parallel models
materialized from the meta device (patch() + reset_parameters(), and materialize()) equal the
single-process model, and so do an FSDP2 nn.TransformerEncoder reset by fastinit.torch.reset_parameters
and an HF Llama (and a pipeline stage of it) materialized with its own init.

One launch per world size runs every case inside the workers: each rank compares its
full_tensor() with the fill it computes itself in one process, collects the failures and raises
them at the end, so the test reports every failing case.  Workers start from a forkserver that
imported torch once (fast, and fork-safe: the server never ran an OpenMP region).
"""
import datetime
import os
import traceback

import pytest

torch = pytest.importorskip("torch")
import torch.distributed as dist  # noqa: E402

if not dist.is_available() or not dist.is_gloo_available():
    pytest.skip("torch.distributed with gloo is not available", allow_module_level=True)

from torch import nn  # noqa: E402

import fastinit  # noqa: E402
import fastinit.torch as ft  # noqa: E402
from conftest import launch_ranks  # noqa: E402

TIMEOUT = 180     # seconds for one launch: a hang fails the test instead of hanging CI
try:
    import importlib.util
    _HAVE_TRANSFORMERS = importlib.util.find_spec("transformers") is not None
except ValueError:
    _HAVE_TRANSFORMERS = False

# (function name, keyword arguments, global shapes)
RANDOM_CASES = [
    ("normal_", {"std": 0.5}, [(9, 7), (5, 6, 7), (3, 8)]),
    ("trunc_normal_", {"std": 0.3, "a": -0.5, "b": 0.5}, [(9, 7), (5, 6, 7)]),
    ("kaiming_uniform_", {"a": 5 ** 0.5}, [(9, 7), (5, 6, 7), (3, 8)]),
    ("xavier_uniform_", {"gain": 1.5}, [(9, 7), (5, 6, 7)]),
    ("uniform_", {"a": -2.0, "b": 1.0}, [(3, 8)]),
    ("orthogonal_", {"gain": 2.0}, [(9, 7), (4, 10)]),
    ("sparse_", {"sparsity": 0.3}, [(9, 7)]),
]
STRUCTURAL_CASES = [
    ("eye_", {}, [(9, 7), (4, 10)]),
    ("dirac_", {"groups": 2}, [(4, 3, 5), (6, 2, 3, 3)]),
    ("zeros_", {}, [(5, 6, 7)]),
    ("ones_", {}, [(9, 7)]),
    ("constant_", {"val": 0.25}, [(3, 8)]),
]


def _layouts(world_size):
    """(mesh shape, placements) pairs covered for a world size.  _StridedShard (private) is what
    FSDP2 places on top of tensor parallelism: (_StridedShard(0, sf), Shard(0)) on a (dp, tp) mesh
    is one block per rank; _StridedShard alone is a set of rows per rank."""
    from torch.distributed.tensor import Replicate, Shard
    from torch.distributed.tensor.placement_types import _StridedShard
    layouts = [((world_size,), (Shard(d),)) for d in range(4)] + [((world_size,), (Replicate(),))]
    if world_size == 4:
        layouts += [((2, 2), p) for p in [(Shard(0), Shard(1)), (Replicate(), Shard(0)), (Shard(0), Replicate()),
                                           (Shard(1), Shard(0)), (Shard(0), Shard(0)), (Shard(2), Shard(1)),
                                           (_StridedShard(0, split_factor=2), Shard(0)),
                                           (_StridedShard(1, split_factor=2), Shard(1))]]
    if world_size == 2:
        layouts += [((1, 2), (Shard(0), Shard(1))), ((2, 1), (Replicate(), Shard(0))),
                    ((2,), (_StridedShard(0, split_factor=2),)), ((2,), (_StridedShard(1, split_factor=3),))]
    if world_size == 3:
        layouts += [((3,), (_StridedShard(1, split_factor=2),))]
    return layouts


def _bits(t):
    return t.view({2: torch.int16, 4: torch.int32, 8: torch.int64}[t.element_size()])


class Net(nn.Module):
    """Linear (bias bounds from the weight's fan_in), Embedding, LayerNorm, Conv1d; odd sizes so that
    shards are uneven."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(11, 12)
        self.up = nn.Linear(12, 30)
        self.down = nn.Linear(30, 12)
        self.norm = nn.LayerNorm(12)
        self.conv = nn.Conv1d(12, 6, 3)


def _meta_net():
    with torch.device("meta"):
        return Net()


def _reset_under_patch(model, seed):
    """The recipe of docs/torch.md: to_empty, then every module's reset_parameters() under patch()."""
    with ft.patch():
        model.to_empty(device="cpu")
        torch.manual_seed(seed)
        for m in model.modules():
            if callable(getattr(m, "reset_parameters", None)):
                m.reset_parameters()
    return model


def _full(t):
    from torch.distributed.tensor import DTensor
    return t.full_tensor() if isinstance(t, DTensor) else t


class _Cases:
    def __init__(self, rank):
        self.rank = rank
        self.failures = []
        self.count = 0
        self.labels = []

    def check(self, label, fn):
        self.count += 1
        self.labels.append(label)
        try:
            fn()
        except Exception:   # noqa: BLE001  (reported back to the test with the case's label)
            self.failures.append(f"rank {self.rank}: {label}\n{traceback.format_exc()}")


def _tensor_cases(cases, world_size):
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor import empty as dt_empty

    meshes = {}
    for mesh_shape, placements in _layouts(world_size):
        if mesh_shape not in meshes:
            meshes[mesh_shape] = init_device_mesh("cpu", mesh_shape)
        mesh = meshes[mesh_shape]
        for name, kwargs, shapes in RANDOM_CASES + STRUCTURAL_CASES:
            fn = getattr(ft, name)
            applicable = [shape for shape in shapes if all(getattr(p, "dim", -1) < len(shape) for p in placements)]
            for i, shape in enumerate(applicable):
                # bfloat16 on the first shape each layout applies to (same code path otherwise)
                for dtype in (torch.float32, torch.bfloat16) if i == 0 else (torch.float32,):
                    # (torch.manual_seed seeds this same CPU generator, and queues lazy seeding
                    # of every other device type, which costs more than these fills)
                    def case(fn=fn, kwargs=kwargs, shape=shape, dtype=dtype, mesh=mesh, placements=placements):
                        dt = dt_empty(*shape, dtype=dtype, device_mesh=mesh, placements=placements)
                        torch.default_generator.manual_seed(1234)
                        assert fn(dt, **kwargs) is dt
                        state = torch.get_rng_state()
                        got = dt.full_tensor()
                        torch.default_generator.manual_seed(1234)
                        want = fn(torch.empty(shape, dtype=dtype), **kwargs)
                        assert torch.equal(_bits(got), _bits(want)), f"values differ at {(got != want).nonzero()[:5]}"
                        assert torch.equal(state, torch.get_rng_state()), "different draws from torch's generator"
                    cases.check(f"{name}{shape} {dtype} mesh {mesh_shape} {placements}", case)

    mesh = meshes[(world_size,)]

    def transposed_view():
        from torch.distributed.tensor import Shard
        dt = dt_empty(8, 6, device_mesh=mesh, placements=(Shard(0),))
        view = dt.t()   # Shard(1) over a non-contiguous local tensor
        torch.manual_seed(5)
        ft.xavier_normal_(view)
        torch.manual_seed(5)
        want = ft.xavier_normal_(torch.empty(6, 8))
        assert torch.equal(view.full_tensor(), want) and torch.equal(dt.full_tensor(), want.t())
    cases.check("xavier_normal_ on a transposed view", transposed_view)

    def parameter_with_grad():
        from torch.distributed.tensor import Shard
        p = nn.Parameter(dt_empty(10, 4, device_mesh=mesh, placements=(Shard(0),)))
        torch.manual_seed(6)
        ft.kaiming_normal_(p)
        torch.manual_seed(6)
        assert p.requires_grad and torch.equal(p.full_tensor(), ft.kaiming_normal_(torch.empty(10, 4)))
    cases.check("kaiming_normal_ on a DTensor Parameter", parameter_with_grad)

    def partial_is_an_error():
        from torch.distributed.tensor import DTensor, Partial
        dt = DTensor.from_local(torch.ones(4, 3), mesh, [Partial()])
        try:
            ft.normal_(dt)
        except ValueError as e:
            assert "Partial" in str(e) and "Shard(d) and Replicate()" in str(e), str(e)
        else:
            raise AssertionError("no error for a Partial placement")
        assert torch.equal(dt.to_local(), torch.ones(4, 3)), "the local tensor was written"
    cases.check("Partial placement", partial_is_an_error)

    def bad_arguments_write_nothing():
        from torch.distributed.tensor import Shard
        dt = dt_empty(9, 4, device_mesh=mesh, placements=(Shard(0),))
        with torch.no_grad():
            dt.to_local().fill_(7.0)
        for call in (lambda: ft.uniform_(dt, 1.0, 0.0), lambda: ft.normal_(dt, std=-1.0),
                     lambda: ft.kaiming_uniform_(dt, mode="fan_middle")):
            try:
                call()
            except (ValueError, RuntimeError):
                pass
            else:
                raise AssertionError("no error")
        assert bool((dt.to_local() == 7.0).all()), "the local shard was written"
    cases.check("bad arguments on a DTensor", bad_arguments_write_nothing)

    if world_size == 3:
        from torch.distributed.device_mesh import DeviceMesh
        from torch.distributed.tensor import Shard
        part = DeviceMesh("cpu", [0, 1])   # rank 2 is outside this mesh: it holds nothing, draws alike

        def mesh_of_some_ranks():
            dt = dt_empty(7, 5, device_mesh=part, placements=(Shard(0),))
            torch.default_generator.manual_seed(9)
            ft.trunc_normal_(dt, std=0.5)
            state = torch.get_rng_state()
            torch.default_generator.manual_seed(9)
            want = ft.trunc_normal_(torch.empty(7, 5), std=0.5)
            assert torch.equal(state, torch.get_rng_state()), "different draws from torch's generator"
            if part.get_coordinate() is not None:
                assert torch.equal(dt.full_tensor(), want)
        cases.check("a mesh of ranks 0 and 1 of 3", mesh_of_some_ranks)


def _module_cases(cases, world_size):
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard
    from torch.distributed.tensor.parallel import ColwiseParallel, RowwiseParallel, parallelize_module

    mesh = init_device_mesh("cpu", (world_size,))
    want_reset = dict(_reset_under_patch(_meta_net(), seed=7).named_parameters())
    want_materialized = dict(ft.materialize(_meta_net(), seed=8).named_parameters())

    def fsdp():
        model = _meta_net()
        for layer in (model.embed, model.up, model.down, model.conv):
            fully_shard(layer, mesh=mesh)
        fully_shard(model, mesh=mesh)
        return model

    def tp():
        return parallelize_module(_meta_net(), mesh, {"embed": RowwiseParallel(), "up": ColwiseParallel(),
                                                      "down": RowwiseParallel()})

    def fsdp_on_tp():
        # the 2-D recipe: tensor parallel inside a (dp, tp) mesh's tp dimension, FSDP2 over dp
        # (Colwise weights end up (_StridedShard(0), Shard(0)))
        mesh_2d = init_device_mesh("cpu", (2, world_size // 2), mesh_dim_names=("dp", "tp"))
        model = parallelize_module(_meta_net(), mesh_2d["tp"], {"embed": RowwiseParallel(), "up": ColwiseParallel(),
                                                                "down": RowwiseParallel()})
        for layer in (model.embed, model.up, model.down, model.conv):
            fully_shard(layer, mesh=mesh_2d["dp"])
        return fully_shard(model, mesh=mesh_2d["dp"])

    builds = [("FSDP2 fully_shard", fsdp), ("tensor parallel", tp)]
    if world_size == 4:
        builds.append(("FSDP2 over tensor parallel, 2-D mesh", fsdp_on_tp))
    for label, build in builds:
        def reset_case(build=build):
            got = _reset_under_patch(build(), seed=7)
            for n, p in got.named_parameters():
                assert torch.equal(_full(p), want_reset[n]), n

        def materialize_case(build=build):
            got = ft.materialize(build(), seed=8)
            for n, p in got.named_parameters():
                assert torch.equal(_full(p), want_materialized[n]), n

        def stage_case(build=build):
            # a pipeline stage: the layers this stage does not own are gone before materialize
            model = build()
            model.embed = nn.Identity()
            model.up = nn.Identity()
            got = ft.materialize(model, seed=8)
            names = [n for n, _ in got.named_parameters()]
            assert names and all(n.startswith(("down.", "norm.", "conv.")) for n in names), names
            for n, p in got.named_parameters():
                assert torch.equal(_full(p), want_materialized[n]), n

        cases.check(f"{label}: to_empty + reset_parameters under patch()", reset_case)
        cases.check(f"{label}: materialize", materialize_case)
        cases.check(f"{label}: materialize of a pipeline stage", stage_case)

    def encoder():
        with torch.device("meta"):
            return nn.TransformerEncoder(nn.TransformerEncoderLayer(12, 3, 20, batch_first=True), 2,
                                         enable_nested_tensor=False)

    want_encoder = dict(ft.reset_parameters(encoder().to_empty(device="cpu"), seed=4, strict=True).named_parameters())

    def encoder_reset_case():
        # docs/torch.md's FSDP2 recipe: fully_shard, to_empty, reset_parameters (MultiheadAttention's
        # private reset included: strict, so no value is left unwritten)
        model = encoder()
        for layer in model.layers:
            fully_shard(layer, mesh=mesh)
        fully_shard(model, mesh=mesh)
        model.to_empty(device="cpu")
        ft.reset_parameters(model, seed=4, strict=True)
        got = dict(model.named_parameters())
        assert got.keys() == want_encoder.keys()
        for n, p in got.items():
            assert torch.equal(_full(p), want_encoder[n]), n
    cases.check("FSDP2 nn.TransformerEncoder: to_empty + fastinit.torch.reset_parameters", encoder_reset_case)
    _transformers_cases(cases, mesh)


def _transformers_cases(cases, mesh):
    """An HF Llama built on meta, FSDP2 per decoder layer, materialized with its own init: every
    parameter and buffer equals the single-process materialize, also for a pipeline stage."""
    try:
        from transformers import LlamaConfig, LlamaForCausalLM
    except ImportError:
        return
    import warnings

    from torch.distributed.fsdp import fully_shard
    config = LlamaConfig(vocab_size=50, hidden_size=24, intermediate_size=40, num_hidden_layers=3, num_attention_heads=4,
                         num_key_value_heads=2, max_position_embeddings=32)

    def llama():
        with torch.device("meta"):
            return LlamaForCausalLM(config)

    def values(model):
        return {n: _full(t).detach() for n, t in list(model.named_parameters()) + list(model.named_buffers())}

    def materialized(model):
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message="fastinit")
            return values(ft.materialize(model, seed=9))

    want = materialized(llama())

    def sharded(model):
        for layer in model.model.layers:
            if not isinstance(layer, nn.Identity):
                fully_shard(layer, mesh=mesh)
        return fully_shard(model, mesh=mesh)

    def whole_case():
        got = materialized(sharded(llama()))
        assert got.keys() == want.keys()
        for n in want:
            assert torch.equal(got[n], want[n]), n

    def stage_case():
        stage = llama()
        stage.model.layers[0] = nn.Identity()
        stage.model.embed_tokens = nn.Identity()
        stage.lm_head = nn.Identity()
        got = materialized(sharded(stage))
        assert len(got) == 2 * 9 + 1 + 2
        for n in got:
            assert torch.equal(got[n], want[n]), n

    cases.check("transformers Llama, FSDP2: materialize runs its own init", whole_case)
    cases.check("transformers Llama, FSDP2: materialize of a pipeline stage", stage_case)


def _worker(rank, world_size, port):
    os.environ["GLOO_SOCKET_IFNAME"] = "lo"   # 127.0.0.1 only
    fastinit.set_num_threads(1)              # world_size processes share 2 cores
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size,
                            timeout=datetime.timedelta(seconds=TIMEOUT))
    cases = _Cases(rank)
    try:
        _tensor_cases(cases, world_size)
        with ft.patch():   # one install for all module cases (the patches inside them nest for free)
            _module_cases(cases, world_size)
        if cases.failures:
            raise AssertionError(f"{len(cases.failures)} of {cases.count} cases failed:\n" + "\n".join(cases.failures))
        assert cases.count > 100, cases.count
        assert not _HAVE_TRANSFORMERS or sum("transformers" in label for label in cases.labels) == 2, cases.labels
    finally:
        dist.destroy_process_group()


def _launch(world_size):
    # imported once by the server, not by each worker (torch._dynamo: torch imports it on the first
    # in-place random op on a meta tensor, ~2 s; scipy.special: fastinit's trunc_normal_)
    preload = ["torch", "torch._dynamo", "scipy.special", "torch.distributed.tensor", "torch.distributed.fsdp",
               "torch.distributed.tensor.parallel", "fastinit.torch", __name__]
    if _HAVE_TRANSFORMERS:
        preload.append("transformers.models.llama.modeling_llama")
    launch_ranks(_worker, world_size, preload, TIMEOUT)


@pytest.mark.parametrize("world_size", [1, 2, 3, 4])
def test_every_rank_fills_its_part_of_the_single_process_fill(world_size):
    _launch(world_size)

