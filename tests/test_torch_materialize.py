"""fastinit.torch.materialize: values depend on (seed, fully qualified name, shape, scheme) only.
(DTensor-sharded models, FSDP2 and tensor parallel, are in test_torch_distributed.py.)"""
import math
import warnings

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import fastinit.torch as ft  # noqa: E402
from fastinit.torch._materialize import derived_seed  # noqa: E402


pytestmark = pytest.mark.usefixtures("one_thread")   # conftest.py: many tiny fills


class Block(nn.Module):
    def __init__(self, dim=12):
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, 3)
        self.norm = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))


class Model(nn.Module):
    """Layers in a ModuleDict, as pipeline-parallel code keeps them, so a stage keeps their names."""

    def __init__(self, n_layers=3, reverse=False, extra=False):
        super().__init__()
        if reverse:   # the same names, built in the other order
            self.head = nn.Linear(12, 7)
            self.layers = nn.ModuleDict({str(i): Block() for i in reversed(range(n_layers))})
            self.embed = nn.Embedding(20, 12, padding_idx=0)
        else:
            self.embed = nn.Embedding(20, 12, padding_idx=0)
            self.layers = nn.ModuleDict({str(i): Block() for i in range(n_layers)})
            self.head = nn.Linear(12, 7)
        if extra:
            self.conv = nn.Conv2d(3, 4, 3)
            self.bn = nn.BatchNorm2d(4)


def _meta(cls=Model, **kwargs):
    with torch.device("meta"):
        return cls(**kwargs)


def _values(model):
    return {n: t.detach().clone() for n, t in list(model.named_parameters()) + list(model.named_buffers())}


def _assert_same(got, want):
    assert got.keys() <= want.keys()
    for n in got:
        assert torch.equal(got[n], want[n]), n


def _materialized(model, seed=0):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return _values(ft.materialize(model, seed))


@pytest.fixture(scope="module")
def whole():
    """The whole model (4 layers) materialized with seed 0: the reference of the tests below."""
    return _materialized(_meta(n_layers=4))


def test_values_depend_on_names_not_on_construction_order_or_other_modules(whole):
    assert len(whole) > 40
    _assert_same(_materialized(_meta(n_layers=4, reverse=True)), whole)
    extra = _materialized(_meta(n_layers=2, extra=True))   # fewer layers, and modules the whole has not
    _assert_same({n: v for n, v in extra.items() if n in whole}, whole)
    assert extra.keys() - whole.keys()      # the extra modules are there (and initialized without warnings)
    assert not torch.equal(_materialized(_meta(n_layers=1), seed=1)["head.weight"], whole["head.weight"])
    # each tensor gets its own values
    assert not torch.equal(whole["layers.0.mlp.0.weight"], whole["layers.1.mlp.0.weight"])


def test_pipeline_stage_gets_the_values_of_the_whole_model(whole):
    stage = _meta(n_layers=4)
    del stage.layers["0"], stage.layers["1"]
    stage.embed = None
    got = _materialized(stage)
    assert set(got) == {n for n in whole if n.startswith(("layers.2.", "layers.3.", "head."))}
    _assert_same(got, whole)


def test_documented_seed_derivation_and_torch_schemes():
    """Linear: weight kaiming_uniform_(a=sqrt(5)), then bias U(+-1/sqrt(fan_in)) from the weight's fan_in;
    each random call's generator is seeded with derived_seed(seed, name, k)."""
    with torch.device("meta"):
        model = nn.Sequential(nn.Linear(30, 20), nn.Embedding(50, 8, padding_idx=3))
    ft.materialize(model, 123)
    g = torch.Generator().manual_seed(derived_seed(123, "0.weight", 0))
    assert torch.equal(model[0].weight, ft.kaiming_uniform_(torch.empty(20, 30), a=math.sqrt(5), generator=g))
    g = torch.Generator().manual_seed(derived_seed(123, "0.bias", 0))
    assert torch.equal(model[0].bias, ft.uniform_(torch.empty(20), -1 / math.sqrt(30), 1 / math.sqrt(30), generator=g))
    g = torch.Generator().manual_seed(derived_seed(123, "1.weight", 0))
    want = ft.normal_(torch.empty(50, 8), generator=g)
    want[3] = 0
    assert torch.equal(model[1].weight, want)
    assert derived_seed(123, "0.weight", 0) != derived_seed(123, "0.weight", 1) != derived_seed(124, "0.weight", 0)


def test_torch_generator_state_is_left_alone_and_unused(whole):
    model = Model(n_layers=4)   # a module on a real device is re-initialized in place
    torch.manual_seed(99)       # values do not depend on torch's generator, nor change it
    state = torch.get_rng_state()
    pointers = {n: p.data_ptr() for n, p in model.named_parameters()}
    _assert_same(_materialized(model), whole)
    assert torch.equal(torch.get_rng_state(), state)
    assert pointers == {n: p.data_ptr() for n, p in model.named_parameters()}


def test_torch_modules_with_private_reset_and_parent_order():
    """MultiheadAttention (_reset_parameters): in_proj xavier_uniform_, out_proj.bias 0 (set after
    out_proj's own reset, as construction does); BatchNorm buffers; Transformer's xavier over all."""
    with torch.device("meta"):
        model = nn.ModuleDict({"attn": nn.MultiheadAttention(16, 4), "bn": nn.BatchNorm1d(5),
                               "tf": nn.Transformer(8, 2, 1, 1, 16)})
    values = _materialized(model)
    bound = math.sqrt(6 / (16 + 48))
    w = values["attn.in_proj_weight"]
    assert w.abs().max() <= bound and w.abs().max() > 0.9 * bound
    assert torch.equal(values["attn.out_proj.bias"], torch.zeros(16))
    assert torch.equal(values["attn.in_proj_bias"], torch.zeros(48))
    assert torch.equal(values["bn.running_var"], torch.ones(5)) and int(values["bn.num_batches_tracked"]) == 0
    w = values["tf.encoder.layers.0.linear1.weight"]   # xavier_uniform_ by nn.Transformer, after Linear's reset
    assert w.abs().max() <= math.sqrt(6 / 24) and w.abs().max() > 0.8 / math.sqrt(8)


def test_common_torch_modules_are_covered_without_warnings():
    with torch.device("meta"):
        model = nn.ModuleDict({"bag": nn.EmbeddingBag(10, 4), "gn": nn.GroupNorm(2, 4), "prelu": nn.PReLU(),
                               "lstm": nn.LSTM(4, 3), "gru": nn.GRU(4, 3), "rnn": nn.RNN(4, 3),
                               "convt": nn.ConvTranspose2d(2, 3, 3), "rms": nn.RMSNorm(3), "bil": nn.Bilinear(2, 3, 4),
                               "layer": nn.TransformerEncoderLayer(8, 2, 16)})
    values = _materialized(model)   # warnings are errors there
    bound = 1 / math.sqrt(3)
    assert values["lstm.weight_ih_l0"].abs().max() <= bound and values["lstm.weight_ih_l0"].abs().max() > 0.5 * bound
    assert torch.equal(values["rms.weight"], torch.ones(3)) and torch.equal(values["gn.bias"], torch.zeros(4))


class TwiceAndTemporary(nn.Module):
    """A reset that fills the same tensor twice, one that fills a temporary and copies it, and one
    that draws from torch's generator directly."""

    def __init__(self):
        super().__init__()
        self.a = nn.Parameter(torch.empty(6, 4))
        self.b = nn.Parameter(torch.empty(6, 4))
        self.c = nn.Parameter(torch.empty(5))
        self.reset_parameters()

    def reset_parameters(self):
        nn.init.normal_(self.a)
        nn.init.orthogonal_(self.a)       # the second call on `a` gets its own generator
        tmp = nn.init.normal_(torch.empty(6, 4))
        with torch.no_grad():
            self.b.copy_(tmp)
            self.c.uniform_()


def test_reset_with_repeated_calls_temporaries_and_direct_torch_draws():
    with torch.device("meta"):
        one = nn.ModuleDict({"x": TwiceAndTemporary()})
        two = nn.ModuleDict({"y": nn.Linear(3, 3), "x": TwiceAndTemporary()})
    first, second = _materialized(one), _materialized(two)
    for n in ("x.a", "x.b", "x.c"):
        assert torch.equal(first[n], second[n]), n
    a = first["x.a"]
    torch.testing.assert_close(a.T @ a, torch.eye(4), atol=1e-5, rtol=0)
    g = torch.Generator().manual_seed(derived_seed(0, "x.a", 1))
    assert torch.equal(a, ft.orthogonal_(torch.empty(6, 4), generator=g))
    assert first["x.c"].min() >= 0 and first["x.c"].max() < 1 and len(set(first["x.c"].tolist())) == 5


class NoReset(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(4))
        self.register_buffer("table", torch.arange(4.0))


def test_tensors_no_reset_writes_are_named_in_a_warning():
    with torch.device("meta"):
        model = nn.ModuleDict({"lin": nn.Linear(4, 4), "odd": NoReset()})
    with pytest.warns(UserWarning, match=r"odd\.scale \(NoReset 'odd': has no reset_parameters\(\); it holds "
                                         r"uninitialized memory \(allocated by materialize\)\).*odd\.table"):
        ft.materialize(model, 0)
    assert model.lin.weight.device.type == "cpu" and model.odd.scale.shape == (4,)
    with pytest.raises(ft.UninitializedError, match=r"odd\.scale"):
        ft.materialize(model, 0, strict=True)
    # a module already on a real device keeps what no reset writes, and says so: materialize cannot
    # tell construction-time values from to_empty's uninitialized memory without reading it
    real = nn.ModuleDict({"odd": NoReset()})
    with pytest.warns(UserWarning, match=r"odd\.scale .*whatever it held before"):
        ft.materialize(real, 0)
    assert torch.equal(real.odd.table, torch.arange(4.0))


def test_to_empty_then_materialize_names_what_no_init_wrote():
    """The caller's to_empty leaves uninitialized memory that materialize did not allocate; what no
    init writes is named all the same, and what an init writes is not."""
    with torch.device("meta"):
        model = nn.ModuleDict({"lin": nn.Linear(4, 4), "norm": nn.RMSNorm(4), "odd": NoReset()})
    model.to_empty(device="cpu")
    with pytest.warns(UserWarning) as caught:
        ft.materialize(model, 0)
    message = " ".join(str(w.message) for w in caught)
    assert "odd.scale" in message and "odd.table" in message and "uninitialized memory if it came from to_empty" in message
    assert "lin." not in message and "norm." not in message
    assert torch.equal(model.norm.weight.detach(), torch.ones(4))


def test_real_tensors_of_a_partly_meta_module_keep_their_values():
    model = nn.ModuleDict({"odd": NoReset()})
    with torch.device("meta"):
        model["lin"] = nn.Linear(4, 4)
    with pytest.warns(UserWarning, match=r"odd\.scale.*odd\.table") as caught:
        ft.materialize(model, 0)
    assert "lin." not in str(caught[0].message)
    assert torch.equal(model.odd.table, torch.arange(4.0)) and torch.equal(model.odd.scale.detach(), torch.ones(4))
    assert not model.lin.weight.is_meta


@pytest.mark.parametrize("call,error,match", [
    (lambda m: ft.materialize(torch.empty(3), 0), TypeError, "torch.nn.Module"),
    (lambda m: ft.materialize(m, -1), ValueError, "seed"),
    (lambda m: ft.materialize(m, 2 ** 64), ValueError, "seed"),
    (lambda m: ft.materialize(m, 1.5), TypeError, "seed"),
    (lambda m: ft.materialize(m, 0, device="meta"), ValueError, "real device"),
])
def test_errors_change_nothing(call, error, match):
    with torch.device("meta"):
        model = nn.Linear(3, 2)
    with pytest.raises(error, match=match):
        call(model)
    assert model.weight.is_meta


class Titan(nn.Module):
    """The torchtitan convention: the model's init lives in init_weights(buffer_device=...), which
    also builds buffers (a rotary table) on the device it is given."""

    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(30, 8)
        self.out = nn.Linear(8, 30, bias=False)
        self.register_buffer("freqs", torch.empty(4), persistent=False)
        self.calls = []

    def init_weights(self, buffer_device=None):
        self.calls.append(buffer_device)
        nn.init.normal_(self.tok.weight, std=0.5)
        nn.init.trunc_normal_(self.out.weight, std=0.02, a=-0.04, b=0.04)
        with torch.no_grad():
            self.freqs.copy_(torch.arange(4.0, device=buffer_device) / 4)


def test_init_weights_with_buffer_device_is_the_entry_point():
    with torch.device("meta"):
        model = Titan()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ft.materialize(model, seed=5)
    assert model.calls == [torch.device("cpu")]
    g = torch.Generator().manual_seed(derived_seed(5, "tok.weight", 0))
    assert torch.equal(model.tok.weight.detach(), ft.normal_(torch.empty(30, 8), std=0.5, generator=g))
    assert float(model.out.weight.abs().max()) <= 0.04 and torch.equal(model.freqs, torch.arange(4.0) / 4)
    # a stage that dropped the embedding: the head keeps its values (named, not ordered)
    with torch.device("meta"):
        stage = Titan()
    stage.tok = nn.Identity()

    def stage_init(m):   # what a stage's own init_weights would do: skip what it does not hold
        nn.init.trunc_normal_(m.out.weight, std=0.02, a=-0.04, b=0.04)
        with torch.no_grad():
            m.freqs.copy_(torch.arange(4.0) / 4)
    ft.materialize(stage, seed=5, init=stage_init)
    assert torch.equal(stage.out.weight, model.out.weight)


def test_reset_parameters_reaches_private_resets_and_names_the_rest():
    model = nn.ModuleDict({"attn": nn.MultiheadAttention(8, 2), "odd": NoReset()})
    with torch.no_grad():
        model.attn.in_proj_weight.fill_(float("nan"))
    with pytest.warns(UserWarning, match=r"fastinit.torch.reset_parameters: no init wrote 2 tensor\(s\): odd\.scale"):
        ft.reset_parameters(model, seed=1)
    assert torch.isfinite(model.attn.in_proj_weight).all()
    torch.manual_seed(3)
    a = ft.reset_parameters(nn.Linear(5, 4)).weight.detach().clone()
    torch.manual_seed(3)
    assert torch.equal(ft.reset_parameters(nn.Linear(5, 4)).weight.detach(), a)   # seed=None: torch's generator
    with torch.device("meta"):
        meta = nn.Linear(3, 2)
    with pytest.raises(ValueError, match="meta tensors"):
        ft.reset_parameters(meta)
