"""fastinit.torch.scaling: roles from base shapes, the rule table (init std per role, statistically
and exactly = materialize's named fill), the optimizer's LR multipliers, the width multipliers and
LR groups against microsoft/mup's own set_base_shapes/MuAdam/MuSGD, the coordinate check (flat
under μP, growing under SP), the signal report's flags, and the values' independence of pipeline
stages and of FSDP2 sharding (2 gloo ranks); u-μP's init, LR multipliers and forward-change report,
against Graphcore's unit_scaling."""
import datetime
import math
import os

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import fastinit  # noqa: E402
import fastinit.torch as ft  # noqa: E402
from fastinit.torch._materialize import derived_seed  # noqa: E402

scaling = ft.scaling


def mlp(width, d_in=16, d_out=10):
    return nn.Sequential(nn.Linear(d_in, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, d_out))


class Block(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.norm = nn.LayerNorm(d)
        self.q_proj = nn.Linear(d, d, bias=False)
        self.out_proj = nn.Linear(d, d)
        self.fc1, self.fc2 = nn.Linear(d, 2 * d), nn.Linear(2 * d, d)

    def forward(self, x):
        x = x + self.out_proj(self.q_proj(self.norm(x)))
        return x + self.fc2(torch.relu(self.fc1(x)))


class TinyLM(nn.Module):
    def __init__(self, d, vocab=50, layers=2):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.layers = nn.ModuleDict({str(i): Block(d) for i in range(layers)})
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)

    def forward(self, idx):
        x = self.embed(idx)
        for layer in self.layers.values():
            x = layer(x)
        return self.head(self.norm(x))


def meta(make, *args):
    with torch.device("meta"):
        return make(*args)


# --- roles and multipliers ----------------------------------------------------------------------

def test_roles_inferred_from_base_shapes():
    p = scaling.plan(meta(TinyLM, 128), base=meta(TinyLM, 32))
    roles = {n: s.role for n, s in p.params.items()}
    assert roles["embed.weight"] == "input"
    assert roles["layers.0.q_proj.weight"] == roles["layers.1.fc2.weight"] == "hidden"
    assert roles["head.weight"] == "output"
    assert roles["layers.0.norm.weight"] == roles["norm.weight"] == "norm"
    assert roles["layers.0.norm.bias"] == roles["layers.0.fc1.bias"] == "bias"
    s = p.params["layers.0.fc2.weight"]
    assert (s.m_in, s.m_out, s.ninf) == (4.0, 4.0, 2)
    assert (p.params["embed.weight"].m_in, p.params["embed.weight"].m_out) == (1.0, 4.0)   # (num, dim)
    assert (p.params["head.weight"].m_in, p.params["head.weight"].m_out) == (4.0, 1.0)


def test_roles_from_a_dict_of_shapes_a_delta_and_a_declaration():
    base = {n: tuple(t.shape) for n, t in meta(mlp, 64).named_parameters()}
    assert scaling.plan(meta(mlp, 256), base=base).params["2.weight"].role == "hidden"
    # at the base width itself, delta says which dims are widths (mup's set_base_shapes(delta=))
    p = scaling.plan(meta(mlp, 64), base=base, delta=meta(mlp, 128))
    assert [p.params[n].role for n in ("0.weight", "2.weight", "4.weight")] == ["input", "hidden", "output"]
    assert p.params["2.weight"].m_in == 1.0
    p = scaling.plan(meta(mlp, 256), base=base, roles={"4.*": "finite", "0.weight": "hidden"})
    got = (p.params["4.weight"].role, p.params["4.bias"].role, p.params["0.weight"].role)
    assert got == ("finite", "finite", "hidden")


def test_refusals():
    class Scaled(nn.Module):
        def __init__(self, d):
            super().__init__()
            self.lin = nn.Linear(d, d)
            self.gamma = nn.Parameter(torch.ones(d))
    with pytest.raises(ValueError, match="cannot infer the role of gamma"):
        scaling.plan(meta(Scaled, 64), base=meta(Scaled, 16))
    assert scaling.plan(meta(Scaled, 64), base=meta(Scaled, 16), roles={"gamma": "norm"}).params["gamma"].init == "ones"
    with pytest.raises(NotImplementedError, match="u-μP's depth rule"):
        scaling.plan(meta(mlp, 64), base=meta(mlp, 16), rule="umup", depth=4)
    with pytest.raises(ValueError, match="rule must be"):
        scaling.plan(meta(mlp, 64), base=meta(mlp, 16), rule="ntk")
    with pytest.raises(ValueError, match="base has no shape"):
        scaling.plan(meta(TinyLM, 64), base=meta(mlp, 16))


# --- init: the rule table, statistically and exactly ----------------------------------------------

def test_init_std_per_role_follows_the_table():
    base_w, w = 64, 1024
    model = mlp(w)
    scaling.init(model, 3, base=meta(mlp, base_w))
    m = w / base_w
    with torch.no_grad():
        for name, want in (("0.weight", 1 / math.sqrt(16)), ("2.weight", 1 / math.sqrt(w)),
                           ("4.weight", 1 / math.sqrt(base_w) / m)):
            got = dict(model.named_parameters())[name].std().item()
            assert abs(got / want - 1) < 0.03, (name, got, want)
        assert not model[2].weight.std().item() * math.sqrt(base_w) > 0.3   # variance 1/m, not std 1/m (neox #1087)
        assert all(torch.count_nonzero(model[i].bias) == 0 for i in (0, 2, 4))
    sp = mlp(w)
    scaling.init(sp, 3, base=meta(mlp, base_w), rule="standard")
    assert abs(sp[4].weight.std().item() * math.sqrt(w) - 1) < 0.1          # SP readout: 1/sqrt(fan_in)


def test_values_are_materialize_named_fills():
    seed = 11
    model = TinyLM(64)
    p = scaling.init(model, seed, base=meta(TinyLM, 16), rule="depth", zero_query=True)
    for name, t in model.named_parameters():
        s = p.params[name]
        if s.init == "normal":
            want = ft.normal_(torch.empty(t.shape), 0.0, s.std,
                              generator=torch.Generator().manual_seed(derived_seed(seed, name, 0)))
        else:
            want = torch.zeros(t.shape) if s.init == "zeros" else torch.ones(t.shape)
        assert torch.equal(t.detach(), want), name
    assert p.params["layers.0.q_proj.weight"].init == "zeros"
    fc2, fc1 = p.params["layers.1.fc2.weight"], p.params["layers.1.fc1.weight"]
    assert fc2.std == pytest.approx(1 / math.sqrt(128) / math.sqrt(2 * 2))   # depth: 1/sqrt(2L), L = 4 branches / 2
    assert fc1.std == pytest.approx(1 / math.sqrt(64))
    assert any("attention" not in c and "depth" in c for c in p.changes)


def test_depth_rule_keeps_the_residual_stream_bounded_in_depth():
    """rule='depth': residual branches' output weights x 1/sqrt(2L) keep the residual stream's RMS at
    init flat in depth; without it (μP alone) each branch adds O(1) and it grows."""
    idx = torch.randint(50, (4, 16), generator=torch.Generator().manual_seed(0))
    rms = {}
    for layers in (2, 16):
        for rule in ("mup", "depth"):
            model = TinyLM(64, layers=layers)
            scaling.init(model, 0, base=meta(TinyLM, 16, 50, layers), rule=rule)
            with torch.no_grad():
                h = model.embed(idx)
                for layer in model.layers.values():
                    h = layer(h)
            rms[rule, layers] = h.pow(2).mean().sqrt().item()
    assert 0.7 < rms["depth", 16] / rms["depth", 2] < 1.4, rms
    assert rms["mup", 16] / rms["mup", 2] > 3, rms


def test_meta_and_real_models_get_the_same_values_and_mup_is_sp_at_the_base_width():
    real, on_meta = mlp(128), meta(mlp, 128)
    scaling.init(real, 5, base=meta(mlp, 32))
    scaling.init(on_meta, 5, base=meta(mlp, 32))
    assert all(torch.equal(a, b) for a, b in zip(real.state_dict().values(), on_meta.state_dict().values()))
    mu, sp = mlp(32), mlp(32)
    scaling.init(mu, 5, base=meta(mlp, 32), delta=meta(mlp, 64))
    scaling.init(sp, 5, base=meta(mlp, 32), delta=meta(mlp, 64), rule="standard")
    assert all(torch.equal(a, b) for a, b in zip(mu.state_dict().values(), sp.state_dict().values()))


def test_zero_readout_and_changes_report():
    class Tied(TinyLM):
        def __init__(self, d):
            super().__init__(d)
            self.head = nn.Linear(d, 50, bias=False)
            self.head.weight = self.embed.weight
    model = TinyLM(64)
    p = scaling.init(model, 0, base=meta(TinyLM, 16), zero_readout=True)
    assert torch.count_nonzero(model.head.weight) == 0
    p = scaling.plan(meta(Tied, 64), base=meta(Tied, 16))
    assert any("tied" in c for c in p.changes)
    mha = nn.Sequential(nn.Linear(8, 64), nn.MultiheadAttention(64, 4))
    with torch.device("meta"):
        base = nn.Sequential(nn.Linear(8, 16), nn.MultiheadAttention(16, 4))
    assert any("1/d_head" in c for c in scaling.plan(mha, base=base).changes)


def test_per_role_std():
    model = TinyLM(64)
    p = scaling.init(model, 0, base=meta(TinyLM, 16), std={"input": 0.02, "hidden": 2.0})
    assert p.params["embed.weight"].std == pytest.approx(0.02)
    assert p.params["layers.0.fc1.weight"].std == pytest.approx(2 / math.sqrt(64))
    assert p.params["head.weight"].std == pytest.approx(1 / math.sqrt(16) / 4)
    with pytest.raises(ValueError, match="not roles"):
        scaling.plan(model, base=meta(TinyLM, 16), std={"embedding": 0.02})
    with pytest.raises(ValueError, match="std must be > 0"):
        scaling.plan(model, base=meta(TinyLM, 16), std=0)


def test_transformers_llama_from_meta_buffers_and_roles():
    """A model with buffers (Llama's rotary tables) runs its own init for them first; the
    parameters are then the rule's fills, keyed by (seed, name) as without buffers."""
    pytest.importorskip("transformers")
    import warnings
    from transformers import LlamaConfig, LlamaForCausalLM

    def cfg(d):
        return LlamaConfig(vocab_size=100, hidden_size=d, intermediate_size=2 * d, num_hidden_layers=2,
                           num_attention_heads=d // 16, num_key_value_heads=d // 16, head_dim=16)
    with torch.device("meta"):
        base, model = LlamaForCausalLM(cfg(32)), LlamaForCausalLM(cfg(128))
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # every tensor written: no materialize warning
        p = scaling.init(model, 2, base=base, std={"input": 0.02})
    roles = {n: s.role for n, s in p.params.items()}
    assert roles["model.embed_tokens.weight"] == "input" and roles["lm_head.weight"] == "output"
    assert roles["model.layers.1.self_attn.q_proj.weight"] == "hidden" and roles["model.norm.weight"] == "norm"
    assert any("LlamaAttention" in c for c in p.changes)
    ref = LlamaForCausalLM(cfg(128))
    for n, b in ref.named_buffers():
        assert torch.equal(b, dict(model.named_buffers())[n]), n
    name = "model.layers.1.mlp.down_proj.weight"
    want = ft.normal_(torch.empty(128, 256), 0.0, 1 / 16,
                      generator=torch.Generator().manual_seed(derived_seed(2, name, 0)))
    assert torch.equal(dict(model.named_parameters())[name].detach(), want)


# --- param_groups ---------------------------------------------------------------------------------

def test_param_groups_multipliers():
    model = mlp(256)
    scaling.init(model, 0, base=meta(mlp, 64))
    lrs = {n: g["lr"] for g in scaling.param_groups(model, 1.0) for n in g["names"]}
    assert lrs == {"0.weight": 1.0, "0.bias": 1.0, "2.weight": 0.25, "2.bias": 1.0, "4.weight": 0.25, "4.bias": 1.0}
    lrs = {n: g["lr"] for g in scaling.param_groups(model, 1.0, optimizer="sgd", weight_decay=0.1) for n in g["names"]}
    assert lrs == {"0.weight": 4.0, "0.bias": 4.0, "2.weight": 1.0, "2.bias": 4.0, "4.weight": 0.25, "4.bias": 1.0}
    groups = scaling.param_groups(model, 1e-3, optimizer="sgd", weight_decay=0.1)
    torch.optim.SGD(groups)     # accepted as is (the extra "names" key is kept by torch)
    assert all(g["weight_decay"] == 0.1 for g in groups)
    sp = mlp(256)
    scaling.init(sp, 0, base=meta(mlp, 64), rule="standard")
    assert [g["lr"] for g in scaling.param_groups(sp, 1e-3)] == [1e-3]
    with pytest.raises(ValueError, match="no scaling plan"):
        scaling.param_groups(mlp(8), 1e-3)


# --- against microsoft/mup's own arithmetic -------------------------------------------------------

def test_width_multipliers_and_lr_groups_match_microsoft_mup():
    mup = pytest.importorskip("mup")   # pip install --no-deps mup==1.0.0 (see constraints.txt)
    for base, delta, width in ((32, 64, 256), (32, 64, 32), (48, 96, 192)):
        model = mlp(width)
        plan = scaling.plan(model, base=mlp(base), delta=mlp(delta))
        mup.set_base_shapes(model, mlp(base), delta=mlp(delta), rescale_params=False, do_assert=False)
        for name, t in model.named_parameters():
            s, inf = plan.params[name], t.infshape
            assert s.ninf == inf.ninf(), name
            if inf.ninf() == 2:
                assert (s.m_in, s.m_out) == (inf[1].width_mult(), inf[0].width_mult()), name
            else:
                assert max(s.m_in, s.m_out) == inf.width_mult(), name
        for opt, ours in ((mup.MuAdam, "adam"), (mup.MuSGD, "sgd")):
            theirs = {id(p): g["lr"] for g in opt(model.parameters(), lr=1.0).param_groups for p in g["params"]}
            for name, t in model.named_parameters():
                s = plan.params[name]
                mult = s.lr_adam if ours == "adam" else s.lr_sgd
                if s.role == "output":
                    # mup trains W and divides the readout's output by m (MuReadout); folded into
                    # the weight, W_eff = W/m: SGD's step on W_eff is (lr m)(g/m)/m = lr g/m^2 of
                    # mup's lr, Adam's (scale-free) step lr/m
                    fold = s.m_in if ours == "adam" else s.m_in ** 2
                    assert mult == pytest.approx(theirs[id(t)] / fold), (name, ours)
                else:
                    assert mult == pytest.approx(theirs[id(t)]), (name, ours)
        # init: mup.init.normal_ gives an (inf, inf) weight std x width_mult^-1/2: variance 1/m
        hidden = plan.params["2.weight"]
        assert hidden.std == pytest.approx(1 / math.sqrt(base) * model[2].weight.infshape.width_mult() ** -0.5)


def test_readout_matches_mup_readout_forward():
    """Our readout N(0, σ²/base_fan_in/m²) equals MuReadout's N(0, σ²/base_fan_in) weights times
    its 1/m output multiplier: same outputs on the same draws."""
    mup = pytest.importorskip("mup")
    base, width = 32, 128
    model = mlp(width)
    plan = scaling.init(model, 1, base=meta(mlp, base))
    readout = mup.MuReadout(width, 10)
    with torch.no_grad():
        readout.weight.copy_(model[4].weight * (width / base))    # mup's constant-variance weights
        readout.bias.zero_()
    mup.set_base_shapes(readout, mup.MuReadout(base, 10), rescale_params=False)
    x = torch.randn(4, width)
    torch.testing.assert_close(readout(x), model[4](x))
    assert plan.params["4.weight"].std * width / base == pytest.approx(1 / math.sqrt(base))


# --- u-μP ---------------------------------------------------------------------------------------

def emb_mlp(d, vocab=50, d_out=10):
    return nn.Sequential(nn.Embedding(vocab, d), nn.Linear(d, 2 * d), nn.GELU(), nn.LayerNorm(2 * d),
                         nn.Linear(2 * d, d, bias=False), nn.Linear(d, d_out, bias=False))


def test_umup_init_unit_variance_keyed_by_seed_and_name():
    seed = 7
    model = TinyLM(64)
    p = scaling.init(model, seed, base=meta(TinyLM, 16), rule="umup")
    roles = {n: s.role for n, s in p.params.items()}
    assert roles["embed.weight"] == "input" and roles["head.weight"] == "output"
    assert roles["layers.1.fc2.weight"] == "hidden" and roles["norm.weight"] == "norm"
    for name, t in model.named_parameters():
        s = p.params[name]
        if s.role in ("input", "hidden", "output"):
            assert (s.init, s.std) == ("normal", 1.0), name      # unit scale, any width, no base fan_in
            want = ft.normal_(torch.empty(t.shape), 0.0, 1.0,
                              generator=torch.Generator().manual_seed(derived_seed(seed, name, 0)))
        else:
            want = torch.zeros(t.shape) if s.init == "zeros" else torch.ones(t.shape)
        assert torch.equal(t.detach(), want), name
    big = nn.Linear(1024, 1024)
    scaling.init(big, 0, base={"weight": (64, 64), "bias": (64,)}, rule="umup")
    assert abs(big.weight.std().item() - 1) < 0.01 and torch.count_nonzero(big.bias) == 0
    p = scaling.plan(meta(TinyLM, 64), base=meta(TinyLM, 16), rule="umup", std={"input": 0.5},
                     zero_readout=True)
    assert p.params["embed.weight"].std == 0.5 and p.params["head.weight"].init == "zeros"


def test_umup_lr_multipliers():
    model = emb_mlp(256)
    scaling.init(model, 0, base=meta(emb_mlp, 64), rule="umup")
    want = {"0.weight": 256 ** -0.5,                     # embedding: 1/√fan_out (its dim)
            "1.weight": 256 ** -0.5, "1.bias": 1.0,      # hidden: 1/√fan_in
            "3.weight": 1.0, "3.bias": 1.0,              # norm, bias: 1
            "4.weight": 512 ** -0.5, "5.weight": 1.0}    # hidden (fan_in 512), readout: 1
    for opt in ("adam", "sgd"):
        lrs = {n: g["lr"] for g in scaling.param_groups(model, 1.0, optimizer=opt) for n in g["names"]}
        assert lrs == pytest.approx(want), opt
    # an input Linear (finite fan_in, width fan_out): 1/√fan_out as the embedding
    p = scaling.plan(meta(mlp, 256), base=meta(mlp, 64), rule="umup")
    assert p.params["0.weight"].lr_adam == pytest.approx(256 ** -0.5)
    assert p.params["2.weight"].lr_adam == pytest.approx(256 ** -0.5) and p.params["4.weight"].lr_adam == 1.0


def test_umup_changes_name_every_linear():
    p = scaling.plan(meta(emb_mlp, 256), base=meta(emb_mlp, 64), rule="umup")
    text = "\n".join(p.changes)
    assert "1 (Linear): output × 1/√fan_in = 1/√256" in text
    assert "4 (Linear): output × 1/√fan_in = 1/√512" in text
    assert "5 (Linear): readout output × 1/fan_in = 1/256" in text
    assert "2 (GELU): output scaled to unit variance (U.gelu)" in text
    assert "residual adds" in text and "cross entropy" in text
    assert not any(c.startswith("0 ") or c.startswith("3 ") for c in p.changes)   # embedding, norm: unchanged
    p = scaling.plan(meta(mlp, 256), base=meta(mlp, 64), rule="umup")
    assert sum("(Linear)" in c for c in p.changes) == 3 and sum("(ReLU)" in c for c in p.changes) == 2
    mha = nn.Sequential(nn.Linear(8, 64), nn.MultiheadAttention(64, 4))
    with torch.device("meta"):
        base = nn.Sequential(nn.Linear(8, 16), nn.MultiheadAttention(16, 4))
    assert any("1/d_head" in c and "MultiheadAttention" in c for c in scaling.plan(mha, base=base, rule="umup").changes)


def uu_model(d):
    uu = pytest.importorskip("unit_scaling")
    return nn.Sequential(uu.Embedding(50, d), uu.Linear(d, 2 * d, bias=True),
                         uu.LayerNorm(2 * d, elementwise_affine=True), uu.Linear(2 * d, d), uu.LinearReadout(d, 10))


def test_umup_matches_unit_scaling():
    """The LR multipliers of every parameter equal unit_scaling's own Adam/AdamW/SGD groups (0.3.5:
    lr_scale_func_adam, lr_scale_func_sgd(None)), the init is its unit-variance init, and the forward
    scales the report names are what its Linear/LinearReadout do."""
    uu = pytest.importorskip("unit_scaling")   # pip install --no-deps unit-scaling==0.3.5 (constraints.txt)
    torch.manual_seed(0)
    for width in (64, 256):
        model = uu_model(width)
        p = scaling.plan(model, base=uu_model(16), rule="umup")
        for opt, ours in ((uu.optim.Adam, "adam"), (uu.optim.AdamW, "adam"), (uu.optim.SGD, "sgd")):
            theirs = {id(t): g["lr"] for g in opt(model.parameters(), lr=1.0).param_groups for t in g["params"]}
            for name, t in model.named_parameters():
                s = p.params[name]
                assert (s.lr_adam if ours == "adam" else s.lr_sgd) == pytest.approx(theirs[id(t)]), (name, opt)
        for name, t in model.named_parameters():       # the library's own init: unit weights, 0, 1
            s = p.params[name]
            if s.init == "normal":
                assert abs(t.detach().std().item() / s.std - 1) < 0.1, name
            else:
                assert torch.equal(t.detach(), torch.ones_like(t) if s.init == "ones" else torch.zeros_like(t)), name
        assert not any("(Linear)" in c or "(LinearReadout)" in c for c in p.changes)   # already unit-scaled
    x = torch.randn(8, 64)
    hidden, readout = uu.Linear(64, 32), uu.LinearReadout(64, 10)
    torch.testing.assert_close(hidden(x), nn.functional.linear(x, hidden.weight) / math.sqrt(64))
    torch.testing.assert_close(readout(x), nn.functional.linear(x, readout.weight) / 64)
    lin = nn.Sequential(nn.Linear(64, 32, bias=False), nn.Linear(32, 10, bias=False))
    report = "\n".join(scaling.plan(lin, base=nn.Sequential(nn.Linear(64, 16), nn.Linear(16, 10)), rule="umup").changes)
    assert "1/√64" in report and "1/fan_in = 1/32" in report


# --- coord check and signal report ----------------------------------------------------------------

@pytest.mark.parametrize("optimizer,lr", [("adam", 2 ** -6), ("sgd", 0.5)])
def test_coord_check_flat_under_mup_growing_under_sp(tmp_path, optimizer, lr):
    torch.manual_seed(0)
    x, y = torch.randn(32, 16), torch.randint(10, (32,))
    widths = [64, 256, 1024]
    growth = {}
    for rule in ("mup", "standard"):
        data = scaling.coord_check(mlp, widths, (x, y), steps=4, rule=rule, lr=lr, optimizer=optimizer,
                                   plot=str(tmp_path / f"{rule}.png") if rule == "mup" else None)
        assert set(data["rms"]) == {"0", "1", "2", "3", "4"} and len(data["rms"]["2"]) == 3
        growth[rule] = max(v[-1][-1] / v[0][-1] for v in data["rms"].values())
    assert growth["mup"] < 1.6, growth
    assert growth["standard"] > 3.0, growth
    assert (tmp_path / "mup.png").read_bytes()[:4] == b"\x89PNG"


def test_signal_report_flags_vanishing_layers():
    def deep():
        return nn.Sequential(*[m for _ in range(10) for m in (nn.Linear(64, 64), nn.Tanh())])
    x = torch.randn(16, 64)

    def loss_fn(model, batch):
        return model(batch).pow(2).mean()
    healthy = deep()
    scaling.init(healthy, 0, base=meta(deep), rule="standard", roles={"*": "hidden"}, std=1.5)
    rows = scaling.signal_report(healthy, x, loss_fn)
    assert len(rows) == 20 and not any(r.flag for r in rows), "\n".join(map(str, rows))
    assert all(r.grad_rms > 0 for r in rows)
    with torch.no_grad():
        for m in healthy:
            if isinstance(m, nn.Linear):
                m.weight.mul_(0.1)
    rows = scaling.signal_report(healthy, x, loss_fn)
    assert "vanishing activations" in rows[-1].flag and "exploding" in rows[0].flag, "\n".join(map(str, rows))


# --- the same values for any pipeline stage and sharding ------------------------------------------

def test_pipeline_stage_gets_the_whole_models_values():
    base = {n: tuple(t.shape) for n, t in meta(TinyLM, 16, 50, 4).named_parameters()}
    whole = TinyLM(64, layers=4)
    scaling.init(whole, 9, base=base, rule="depth", zero_readout=True)
    want = dict(whole.named_parameters())
    for keep in (("0", "1"), ("2", "3")):
        stage = meta(TinyLM, 64, 50, 4)
        for k in list(stage.layers):
            if k not in keep:
                del stage.layers[k]
        if keep[0] != "0":
            del stage.embed
        scaling.init(stage, 9, base=base, rule="depth", zero_readout=True)
        for name, t in stage.named_parameters():
            assert torch.equal(t, want[name]), name


def _fsdp_worker(rank, world_size, port):
    import torch.distributed as dist
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard

    os.environ["GLOO_SOCKET_IFNAME"] = "lo"
    fastinit.set_num_threads(1)
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size,
                            timeout=datetime.timedelta(seconds=120))
    try:
        base = meta(TinyLM, 16)
        want = TinyLM(40)
        scaling.init(want, 4, base=base, rule="depth")
        model = meta(TinyLM, 40)          # (40: uneven shards over 2 ranks for 2*40-row weights too)
        mesh = init_device_mesh("cpu", (world_size,))
        for layer in model.layers.values():
            fully_shard(layer, mesh=mesh)
        fully_shard(model, mesh=mesh)
        plan = scaling.init(model, 4, base=base, rule="depth")
        got = {n: t.full_tensor() for n, t in model.named_parameters()}
        for name, t in want.named_parameters():
            assert torch.equal(got[name], t.detach()), name
        groups = scaling.param_groups(model, 1e-3, plan=plan)
        assert sum(len(g["params"]) for g in groups) == len(got)
    finally:
        dist.destroy_process_group()


def test_fsdp2_two_ranks_equal_single_process():
    import torch.distributed as dist
    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("torch.distributed with gloo is not available")
    from conftest import launch_ranks
    preload = ["torch", "torch._dynamo", "torch.distributed.tensor", "torch.distributed.fsdp", "fastinit.torch",
               __name__]
    launch_ranks(_fsdp_worker, 2, preload, 150)


def test_bench_script_runs_small(tmp_path):
    """bench/scaling_transfer.py --quick: the whole pipeline (sweeps, summary, coord checks, PNGs)."""
    pytest.importorskip("matplotlib")
    import subprocess
    import sys
    from pathlib import Path
    script = Path(__file__).resolve().parents[1] / "bench" / "scaling_transfer.py"
    r = subprocess.run([sys.executable, str(script), "--quick", "--out", str(tmp_path), "--tag", "t"],
                       capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "max/min ratio" in r.stdout
    for suffix in ("transfer.txt", "transfer.json", "lr.png", "coord-mlp.png", "coord-lm.png"):
        assert (tmp_path / f"t-scaling-{suffix}").stat().st_size > 0
