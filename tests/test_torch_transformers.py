"""fastinit.torch where transformers initializes: patch() reaches its init (a dict of torch's
functions, TORCH_INIT_FUNCTIONS) in both import orders and leaves nothing behind; materialize runs
its own init (_init_weights through init_weights) keyed by parameter name.  (FSDP2 world sizes are
in test_torch_distributed.py.)"""
import subprocess
import sys
import textwrap
import warnings

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
from torch import nn  # noqa: E402
from transformers import LlamaConfig, LlamaForCausalLM  # noqa: E402
import transformers.initialization as hf_init  # noqa: E402

import fastinit.torch as ft  # noqa: E402
from fastinit.torch import _init as ft_init  # noqa: E402
from fastinit.torch._materialize import derived_seed  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")   # conftest.py: many small fills

CONFIG = dict(vocab_size=300, hidden_size=64, intermediate_size=96, num_hidden_layers=3, num_attention_heads=4,
              num_key_value_heads=2, max_position_embeddings=64, initializer_range=0.02)


def llama(device=None, **overrides):
    config = LlamaConfig(**{**CONFIG, **overrides})
    if device is None:
        return LlamaForCausalLM(config)
    with torch.device(device):
        return LlamaForCausalLM(config)


def fastinit_warnings(caught):
    return [str(w.message) for w in caught if "fastinit" in str(w.message)]


def materialized(model, seed=0, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ft.materialize(model, seed, **kwargs)
    assert not fastinit_warnings(caught)
    return {n: t.detach().clone() for n, t in list(model.named_parameters()) + list(model.named_buffers())}


@pytest.fixture
def applied(monkeypatch):
    """The scheme of every fill that reaches fastinit.torch."""
    seen = []
    real_apply = ft_init._apply

    def spy(tensor, scheme, *args, **kwargs):
        seen.append(scheme)
        return real_apply(tensor, scheme, *args, **kwargs)

    monkeypatch.setattr(ft_init, "_apply", spy)
    return seen


def test_patch_reaches_transformers_init_functions(applied):
    """transformers imported before the patch: its dict of torch's functions is patched, its
    _init_weights' normal_/ones_ calls come to fastinit, and undo restores the dict exactly."""
    before = dict(hf_init.TORCH_INIT_FUNCTIONS)
    assert before["normal_"] is ft_init._TORCH["normal_"]
    with ft.patch():
        assert hf_init.TORCH_INIT_FUNCTIONS["normal_"] is not before["normal_"]
        llama()
    # HF's normal_ on 3 x 7 Linears, lm_head and the embedding (which nn.Embedding's own reset also
    # draws with normal_), ones_ on 3 x 2 + 1 RMSNorms
    assert applied.count("normal_") == 3 * 7 + 2 + 1 and applied.count("ones_") == 3 * 2 + 1
    assert hf_init.TORCH_INIT_FUNCTIONS == before
    assert all(hf_init.TORCH_INIT_FUNCTIONS[k] is before[k] for k in before)
    applied.clear()
    llama()
    assert applied == []


def test_nested_patches_undone_in_any_order_restore_the_dict():
    before = dict(hf_init.TORCH_INIT_FUNCTIONS)
    first, second = ft.patch(), ft.patch()
    first.undo()
    assert hf_init.TORCH_INIT_FUNCTIONS["normal_"] is not before["normal_"]   # still patched
    second.undo()
    assert all(hf_init.TORCH_INIT_FUNCTIONS[k] is before[k] for k in before)


def test_transformers_first_imported_inside_the_patch_keeps_no_fastinit_function():
    """In a fresh process: transformers imported inside patch() captures the patched functions in
    its dict; after undo the dict holds torch's own, and no fastinit function is left in any
    loaded module's namespace or module-level container."""
    code = textwrap.dedent("""
        import sys, types, torch
        import fastinit.torch as ft
        from fastinit.torch import _patch
        with ft.patch():
            import transformers.initialization as hf_init
            captured_patched = all(_patch.installed(f) for f in hf_init.TORCH_INIT_FUNCTIONS.values())
        assert captured_patched
        assert all(f is getattr(torch.nn.init, k) for k, f in hf_init.TORCH_INIT_FUNCTIONS.items())
        left = []
        for name, module in list(sys.modules.items()):
            if name.startswith("fastinit") or not isinstance(module, types.ModuleType):
                continue
            for attr, value in list(vars(module).items()):
                values = value.values() if type(value) is dict else value if type(value) in (list, tuple) else [value]
                left += [f"{name}.{attr}" for v in list(values) if _patch.installed(v)]
        assert not left, left
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.split() == ["ok"], out.stderr[-3000:]


def test_materialize_runs_the_models_own_init():
    """A Llama built on meta: every Linear and Embedding N(0, initializer_range) keyed by its name,
    norms exactly 1, rotary buffers equal to a normal build's, nothing non-finite, nothing unwritten."""
    got = materialized(llama("meta"), seed=3)
    normal = dict(llama().named_buffers())
    for n, t in got.items():
        assert torch.isfinite(t).all(), n
        if n.endswith("norm.weight"):
            assert torch.equal(t, torch.ones_like(t)), n
        elif "inv_freq" in n:
            assert torch.equal(t, normal[n]), n
        else:
            assert n.endswith(".weight") and t.dim() == 2, n
            want = ft.normal_(torch.empty(t.shape), std=0.02, generator=torch.Generator().manual_seed(derived_seed(3, n)))
            assert torch.equal(t, want), n
    big = got["model.embed_tokens.weight"]
    assert abs(float(big.std()) - 0.02) < 0.002 and abs(float(big.mean())) < 0.002


def test_materialize_a_pipeline_stage_and_other_build_orders():
    """The same names give the same values whatever else the model holds: a stage whose first
    layers are gone, and a build where the embeddings are replaced by identity."""
    want = materialized(llama("meta"), seed=5)
    stage = llama("meta")              # a middle stage: layers 1 and 2 (same names), no embeddings, no head
    stage.model.layers[0] = nn.Identity()
    stage.model.embed_tokens = nn.Identity()
    stage.lm_head = nn.Identity()
    got = materialized(stage, seed=5)
    assert len(got) == 2 * 9 + 1 + 2 and all(torch.equal(got[n], want[n]) for n in got)


def test_to_empty_then_materialize_writes_everything():
    """The caller's to_empty (no meta tensor left): HF's init still runs on every module (flags
    cleared), so no RMSNorm weight is left NaN or 3e38, and the values equal the meta route's."""
    model = llama("meta")
    model.to_empty(device="cpu")
    with torch.no_grad():
        for t in list(model.parameters()) + list(model.buffers()):
            t.fill_(float("nan"))
    got = materialized(model, seed=2)
    want = materialized(llama("meta"), seed=2)
    assert all(torch.equal(got[n], want[n]) for n in want)


def test_materialize_a_real_model_reinitializes_it():
    """A model built normally carries transformers' _is_hf_initialized flags: materialize clears them
    and initializes everything by name (the same values as from meta)."""
    got = materialized(llama(), seed=4)
    want = materialized(llama("meta"), seed=4)
    assert all(torch.equal(got[n], want[n]) for n in want)


def test_init_callable_and_strict():
    def only_embeddings(model):
        ft.normal_(model.model.embed_tokens.weight, std=0.5)

    model = llama("meta")
    with pytest.raises(ft.UninitializedError, match=r"model\.layers\.0\.self_attn\.q_proj\.weight \(Linear "):
        ft.materialize(model, 0, init=only_embeddings, strict=True)
    with pytest.warns(UserWarning, match=r"init='.*only_embeddings' did not write it"):
        ft.materialize(llama("meta"), 0, init=only_embeddings)
    with pytest.raises(TypeError, match="init must be a callable"):
        ft.materialize(llama("meta"), 0, init="normal")
