"""fastinit.torch as an exact drop-in for torch.nn.init: autograd sees the writes, seeds come from
the tensor's device whatever device context is active, patch() reaches every binding and undoes
in any order, torch's dtypes/parameters/errors/warnings, and traced tensors (FakeTensor, export,
compile) go to torch.  Each behaviour is checked against torch.nn.init itself."""
import math
import sys
import types
import warnings

import numpy as np
import pytest
from scipy import stats

torch = pytest.importorskip("torch")
import fastinit.torch as ft  # noqa: E402
from fastinit.torch import _init as ft_init  # noqa: E402  (internals: the saved torch functions, spies)
from torch._subclasses.fake_tensor import FakeTensor, FakeTensorMode  # noqa: E402

TORCH = ft_init._TORCH            # torch.nn.init's own functions, as saved before any patch
SCHEMES = list(ft_init._SCHEMES)
ARGS = {"constant_": (0.25,), "sparse_": (0.3,)}   # required positional arguments
SHAPE = {"dirac_": (6, 4, 3, 3)}                     # a shape each function accepts


def shape_of(name):
    return SHAPE.get(name, (24, 40))


def outcome(fn, tensor, *args, **kwargs):
    """(exception type and message or None, [(warning category, message)]) of fn(tensor, ...)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fn(tensor, *args, **kwargs)
            error = None
        except Exception as e:  # noqa: BLE001 (any exception is the outcome compared)
            error = (type(e), str(e))
    return error, [(w.category, str(w.message)) for w in caught]


def kstest_p(t, dist, *args):
    return stats.kstest(t.double().reshape(-1).numpy(), dist, args=args).pvalue


# ------------------------------------------------------------------ autograd

@pytest.mark.parametrize("name", SCHEMES)
@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
def test_refilling_a_tensor_saved_for_backward_raises_in_backward(name, layout):
    def run(init):
        x = torch.randn(shape_of(name), requires_grad=True)
        b = torch.randn(shape_of(name))
        target = b if layout == "contiguous" else b.transpose(0, 1)
        loss = (x * b).sum()          # b is saved for backward
        version = b._version
        init(target, *ARGS.get(name, ()))
        assert b._version > version
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            loss.backward()

    run(TORCH[name])                  # what torch does ...
    run(getattr(ft, name))            # ... fastinit.torch does


def test_fill_through_a_view_bumps_the_base_version():
    base = torch.zeros(8, 10)
    view = base[2:6]
    before = base._version
    ft.normal_(view)
    assert base._version > before and base[:2].abs().sum() == 0 and (view != 0).all()


def test_inference_tensor_refused_outside_inference_mode():
    for name in SCHEMES:
        with torch.inference_mode():
            theirs, t = torch.zeros(shape_of(name)), torch.zeros(shape_of(name))
        with pytest.raises(RuntimeError, match="Inplace update to inference tensor outside InferenceMode"):
            TORCH[name](theirs, *ARGS.get(name, ()))     # (torch writes, then raises)
        with pytest.raises(RuntimeError, match="Inplace update to inference tensor outside InferenceMode"):
            getattr(ft, name)(t, *ARGS.get(name, ()))
        assert t.abs().sum() == 0     # fastinit refuses before writing
    with torch.inference_mode():
        ft.uniform_(t, 1.0, 2.0)
    assert (t >= 1).all() and (t < 2).all()


# ------------------------------------------------------------------ seeds and devices

@pytest.mark.parametrize("context", ["meta", "cuda"])
def test_seed_is_drawn_on_the_tensor_device_whatever_the_device_context(context):
    torch.manual_seed(11)
    ref = ft.normal_(torch.empty(1000)).clone()
    t = torch.empty(1000)
    torch.manual_seed(11)
    with torch.device(context):        # (no GPU needed: nothing may be created on it)
        ft.normal_(t)
    assert torch.equal(t, ref)


def test_seed_is_drawn_on_the_cpu_under_set_default_device():
    torch.manual_seed(12)
    ref = ft.trunc_normal_(torch.empty(500), std=0.02).clone()
    t = torch.empty(500, device="cpu")
    torch.manual_seed(12)
    torch.set_default_device("meta")
    try:
        ft.trunc_normal_(t, std=0.02)
    finally:
        torch.set_default_device(None)
    assert torch.equal(t, ref)


def test_seed_generator_selection(monkeypatch):
    """The seed is drawn from generator when given, else from the default generator of the tensor's
    device (for cuda:i that is torch.cuda.default_generators[i], as torch's own samplers use;
    not run here: no GPU)."""
    calls = []
    real_seed = ft_init._seed
    monkeypatch.setattr(ft_init, "_seed", lambda generator, device="cpu": calls.append((generator, device))
                        or real_seed(generator, device))
    g = torch.Generator().manual_seed(3)
    ft.kaiming_normal_(torch.empty(5, 6))
    ft.kaiming_normal_(torch.empty(5, 6), generator=g)
    assert calls == [(None, torch.device("cpu")), (g, torch.device("cpu"))]
    # a draw on a device uses that device's default generator: same stream as torch.default_generator
    torch.manual_seed(5)
    a = real_seed(None, torch.device("cpu"))
    torch.manual_seed(5)
    words = torch.empty(2, dtype=torch.int64).random_(0, 1 << 32).tolist()
    assert a == words[0] | (words[1] << 32)


def test_generator_of_the_wrong_kind_raises_as_torch():
    for fn in (TORCH["normal_"], ft.normal_):
        with pytest.raises(TypeError, match="Generator"):
            fn(torch.empty(3), generator="not a generator")


# ------------------------------------------------------------------ patch()

def torch_bindings():
    """Every (module, attribute) of a loaded module that holds one of torch.nn.init's functions,
    with the function it holds."""
    ids = {id(f) for f in TORCH.values()}
    found = {}
    for mod_name, module in list(sys.modules.items()):
        if isinstance(module, types.ModuleType):
            for attr, value in list(vars(module).items()):
                if id(value) in ids:
                    found[(mod_name, attr)] = value
    return found


@pytest.fixture
def applied(monkeypatch):
    """The scheme and shape of every fill that reaches fastinit.torch."""
    seen = []
    real_apply = ft_init._apply

    def spy(tensor, scheme, *args, **kwargs):
        seen.append((scheme, tuple(tensor.shape)))
        return real_apply(tensor, scheme, *args, **kwargs)

    monkeypatch.setattr(ft_init, "_apply", spy)
    return seen


def test_patch_reaches_functions_imported_by_name(applied):
    import torch.nn.modules.activation as activation
    import torch.nn.modules.transformer as transformer

    before = torch_bindings()
    assert ("torch.nn.modules.activation", "xavier_uniform_") in before
    with ft.patch():
        assert activation.xavier_uniform_.__code__ is ft.xavier_uniform_.__code__
        assert transformer.xavier_uniform_.__code__ is ft.xavier_uniform_.__code__
        torch.nn.MultiheadAttention(16, 2)
        torch.nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=12,
                             batch_first=True)
    assert ("xavier_uniform_", (48, 16)) in applied          # MultiheadAttention.in_proj_weight
    assert ("constant_", (48,)) in applied                   # its in_proj_bias
    assert ("xavier_uniform_", (12, 8)) in applied           # nn.Transformer's linear1.weight
    assert torch_bindings() == before


def test_patched_values_are_fastinits():
    with ft.patch():
        torch.manual_seed(4)
        mha = torch.nn.MultiheadAttention(16, 2)
    torch.manual_seed(4)
    ref = torch.nn.MultiheadAttention(16, 2)          # torch's own init: other values, same law
    assert not torch.equal(mha.in_proj_weight, ref.in_proj_weight)
    bound = math.sqrt(6 / (16 + 48))
    assert mha.in_proj_weight.abs().max() <= bound and mha.in_proj_bias.abs().sum() == 0


@pytest.mark.parametrize("order", ["first-first", "last-first"])
def test_overlapping_patches_restore_torch_exactly_in_any_order(order):
    before = torch_bindings()
    p1 = ft.patch()
    p2 = ft.patch()
    patched = torch.nn.init.normal_
    assert patched.__code__ is ft.normal_.__code__
    first, second = (p1, p2) if order == "first-first" else (p2, p1)
    first.undo()
    assert torch.nn.init.normal_ is patched          # the other patch is still active
    second.undo()
    assert torch_bindings() == before
    second.undo()
    first.undo()                                     # idempotent
    assert torch_bindings() == before
    with ft.patch(), ft.patch():
        assert torch.nn.init.xavier_normal_.__code__ is ft.xavier_normal_.__code__
    assert torch_bindings() == before


def test_undo_restores_modules_imported_while_patched_and_spares_other_bindings():
    before = torch_bindings()
    mine = types.ModuleType("fastinit_test_user_module")
    exec("from fastinit.torch import normal_ as my_normal", vars(mine))
    sys.modules[mine.__name__] = mine
    try:
        with ft.patch():
            late = types.ModuleType("fastinit_test_late_import")
            exec("from torch.nn.init import trunc_normal_, uniform", vars(late))
            sys.modules[late.__name__] = late
            torch.nn.init.ones_ = replaced = lambda t: t    # someone else's patch, made while patched
        assert late.trunc_normal_ is TORCH["trunc_normal_"] and late.uniform is TORCH["uniform"]
        assert mine.my_normal is ft.normal_
        assert torch.nn.init.ones_ is replaced
    finally:
        torch.nn.init.ones_ = TORCH["ones_"]
        sys.modules.pop(mine.__name__, None)
        sys.modules.pop("fastinit_test_late_import", None)
    assert torch_bindings() == before


@pytest.mark.parametrize("old", ft_init._DEPRECATED)
def test_deprecated_aliases_warn_and_are_patched(old, applied):
    args = ARGS.get(old + "_", ())
    shape = shape_of(old + "_")
    assert set(ft_init._DEPRECATED) == {"uniform", "normal", "constant", "eye", "dirac", "xavier_uniform",
                                   "xavier_normal", "kaiming_uniform", "kaiming_normal", "orthogonal", "sparse"}
    message = f"`nn.init.{old}` is now deprecated in favor of `nn.init.{old}_`."
    with pytest.warns(FutureWarning, match=message.replace("(", r"\(").replace(".", r"\.")):
        getattr(ft, old)(torch.empty(shape), *args)
    assert applied == [(old + "_", shape)]
    with ft.patch():
        with pytest.warns(FutureWarning, match=r"is now deprecated in favor of"):
            getattr(torch.nn.init, old)(torch.empty(shape), *args)
    assert applied == [(old + "_", shape)] * 2
    with pytest.warns(FutureWarning):
        getattr(torch.nn.init, old)(torch.empty(shape), *args)   # restored: torch's own again
    assert len(applied) == 2


# ------------------------------------------------------------------ what torch accepts

def test_zero_dim_tensor_parameters_are_numbers():
    cases = [("normal_", dict(mean=torch.tensor(0.5), std=torch.tensor(0.02)), dict(mean=0.5, std=0.02)),
             ("uniform_", dict(a=torch.tensor(-0.1), b=torch.tensor(0.3)), dict(a=-0.1, b=0.3)),
             ("trunc_normal_", dict(std=torch.tensor(0.02), a=torch.tensor(-0.04), b=0.04),
              dict(std=0.02, a=-0.04, b=0.04)),
             ("xavier_uniform_", dict(gain=torch.tensor(2.0)), dict(gain=2.0)),
             ("constant_", dict(val=torch.tensor(1.5)), dict(val=1.5))]
    for name, as_tensors, as_numbers in cases:
        torch.manual_seed(9)
        a = getattr(ft, name)(torch.empty(20, 30), **as_tensors)
        torch.manual_seed(9)
        b = getattr(ft, name)(torch.empty(20, 30), **as_numbers)
        # torch's tensor parameters round through float32 .item(); compare at that precision
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)
    # (what torch refuses, a 1-element 1-D tensor or a tensor a= for kaiming, is refused:
    # test_argument_errors_catchable_as_torchs)


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.int8, torch.uint8, torch.bool])
@pytest.mark.parametrize("name,args,shape", [("constant_", (1,), (3, 4)), ("zeros_", (), (3, 4)),
                                             ("ones_", (), (3, 4)), ("eye_", (), (3, 4)),
                                             ("dirac_", (2,), (4, 3, 3))])
def test_integer_and_bool_tensors_filled_as_torch(dtype, name, args, shape):
    ours = getattr(ft, name)(torch.full(shape, 7 if dtype != torch.bool else True, dtype=dtype), *args)
    theirs = TORCH[name](torch.full(shape, 7 if dtype != torch.bool else True, dtype=dtype), *args)
    assert ours.dtype == dtype and torch.equal(ours, theirs)


@pytest.mark.parametrize("dtype", [torch.int64, torch.bool, torch.complex64, torch.complex128, torch.float8_e4m3fn])
@pytest.mark.parametrize("name", SCHEMES)
def test_other_dtypes_behave_exactly_as_torch(dtype, name):
    """Dtypes fastinit does not fill go to torch's own function: same values (same generator
    draws) or the same exception (NotImplementedError for uniform_ on int64, ...)."""
    def run(fn):
        torch.manual_seed(21)
        t = torch.zeros(shape_of(name), dtype=dtype)
        return outcome(fn, t, *ARGS.get(name, ())), t

    (ours, ours_t), (theirs, theirs_t) = run(getattr(ft, name)), run(TORCH[name])
    assert ours == theirs
    if ours[0] is None:
        assert torch.equal(ours_t.view(torch.uint8), theirs_t.view(torch.uint8))


def test_constant_nan_as_torch():
    t = ft.constant_(torch.zeros(5), float("nan"))
    assert t.isnan().all()


BAD_SHAPES = [(), (5,), (0,), (0, 0), (0, 5), (2, 0, 3), (2, 3, 4, 5, 6, 7)]


@pytest.mark.parametrize("device", ["cpu", "meta"])
@pytest.mark.parametrize("shape", BAD_SHAPES, ids=str)
@pytest.mark.parametrize("name", SCHEMES)
def test_zero_element_and_wrong_rank_as_torch(name, shape, device):
    """Same exception (type and message) or the same warnings as torch, on CPU and meta tensors."""
    args = ARGS.get(name, ())
    ours = outcome(getattr(ft, name), torch.empty(shape, device=device), *args)
    theirs = outcome(TORCH[name], torch.empty(shape, device=device), *args)
    assert ours == theirs


@pytest.mark.parametrize("name,kwargs,same_message", [
    ("kaiming_uniform_", dict(mode="fan_avg"), True), ("kaiming_normal_", dict(nonlinearity="gelu"), True),
    ("kaiming_normal_", dict(a="x"), True), ("kaiming_uniform_", dict(a=torch.tensor(0.1)), True),
    ("dirac_", dict(groups=4), True), ("dirac_", dict(groups=0), True), ("eye_", {}, True),
    ("sparse_", dict(sparsity=0.5), True), ("orthogonal_", {}, False),
    ("uniform_", dict(a="x"), False), ("uniform_", dict(b=torch.tensor([1.0])), False),
    ("constant_", dict(val="x"), False), ("xavier_normal_", dict(gain="x"), False),
    ("normal_", dict(std=-1.0), False), ("normal_", dict(std=float("nan")), False),
])
@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_argument_errors_catchable_as_torchs(name, kwargs, same_message, device):
    """An error of torch's type (exactly torch's for shape and structure checks, and for everything
    on meta tensors), raised before anything is written."""
    shape = (5, 6, 3) if name in ("dirac_", "eye_", "sparse_") else (5,) if name == "orthogonal_" else (5, 6)
    theirs = outcome(TORCH[name], torch.zeros(shape, device=device), **kwargs)
    assert theirs[0] is not None
    t = torch.zeros(shape, device=device)
    ours = outcome(getattr(ft, name), t, **kwargs)
    assert issubclass(ours[0][0], theirs[0][0]) and ours[1] == theirs[1]
    if same_message or device == "meta":
        assert ours == theirs
    if device == "cpu":
        assert t.abs().sum() == 0


@pytest.mark.parametrize("name,dtype,kwargs", [
    ("uniform_", torch.float32, dict(a=1.0, b=0.0)),
    ("uniform_", torch.float32, dict(a=0.0, b=math.inf)),
    ("uniform_", torch.float32, dict(a=math.nan, b=1.0)),
    ("uniform_", torch.float16, dict(a=0.0, b=1e6)),
    ("trunc_normal_", torch.float32, dict(a=1.0, b=-1.0)),
    ("trunc_normal_", torch.float32, dict(std=0.0)),
    ("constant_", torch.float16, dict(val=1e6)),
    ("constant_", torch.bfloat16, dict(val=1e39)),
])
def test_value_errors_catchable_as_torchs_type_and_nothing_written(name, dtype, kwargs):
    theirs = outcome(TORCH[name], torch.zeros(4, 5, dtype=dtype), **kwargs)[0]
    assert theirs is not None
    t = torch.zeros(4, 5, dtype=dtype)
    with pytest.raises(theirs[0]) as info:
        getattr(ft, name)(t, **kwargs)
    assert isinstance(info.value, ValueError)            # and fastinit's own type
    assert t.abs().sum() == 0


def test_non_tensor_argument_catchable_as_torchs_type():
    assert outcome(TORCH["normal_"], [1.0])[0][0] is AttributeError
    with pytest.raises(AttributeError, match="must be a torch.Tensor"):
        ft.normal_([1.0])
    with pytest.raises(TypeError, match="must be a torch.Tensor"):
        ft.normal_(np.zeros(3))


def test_trunc_normal_far_mean_warns_as_torch():
    ours = outcome(ft.trunc_normal_, torch.empty(100), mean=10.0, a=-2.0, b=2.0)
    theirs = outcome(TORCH["trunc_normal_"], torch.empty(100), mean=10.0, a=-2.0, b=2.0)
    assert ours == theirs and ours[1][0][1].startswith("mean is more than 2 std")


# ------------------------------------------------------------------ distributions (KS, bounds)

@pytest.mark.parametrize("shape", [(40, 50), (12, 6, 5, 5)], ids=str)
def test_distributions_and_bounds(shape):
    fan_in, fan_out = shape[1] * math.prod(shape[2:]), shape[0] * math.prod(shape[2:])
    t = torch.empty(shape, dtype=torch.float64)
    assert kstest_p(ft.uniform_(t, -0.3, 1.7), "uniform", -0.3, 2.0) > 1e-4
    assert kstest_p(ft.normal_(t, 0.5, 2.0), "norm", 0.5, 2.0) > 1e-4
    ft.trunc_normal_(t, 0.1, 0.5, -0.4, 0.9)
    assert t.min() >= -0.4 and t.max() <= 0.9
    assert kstest_p((t - 0.1) / 0.5, "truncnorm", -1.0, 1.6) > 1e-4
    a = 2.0 * math.sqrt(6 / (fan_in + fan_out))
    assert kstest_p(ft.xavier_uniform_(t, gain=2.0), "uniform", -a, 2 * a) > 1e-4
    assert kstest_p(ft.xavier_normal_(t), "norm", 0, math.sqrt(2 / (fan_in + fan_out))) > 1e-4
    bound = math.sqrt(6 / fan_out)
    ft.kaiming_uniform_(t, mode="fan_out", nonlinearity="relu")
    assert t.abs().max() <= bound and kstest_p(t, "uniform", -bound, 2 * bound) > 1e-4
    assert kstest_p(ft.kaiming_normal_(t, a=0.2), "norm", 0, math.sqrt(2 / (1 + 0.04) / fan_in)) > 1e-4


# ------------------------------------------------------------------ traced tensors

@pytest.mark.parametrize("name", SCHEMES)
def test_fake_tensors_go_to_torch(name):
    with FakeTensorMode():
        t = torch.empty(shape_of(name))
        assert isinstance(t, FakeTensor)
        assert getattr(ft, name)(t, *ARGS.get(name, ())) is t


def test_fake_tensor_errors_are_torchs():
    with FakeTensorMode():
        assert outcome(ft.eye_, torch.empty(3)) == outcome(TORCH["eye_"], torch.empty(3))


def test_trunc_normal_traced_without_data_dependent_loop():
    """torch's own trunc_normal_ cannot run on a FakeTensor (its rejection loop reads values);
    fastinit.torch's traced path can, and draws the right distribution on real memory."""
    with FakeTensorMode():
        with pytest.raises(Exception, match="_local_scalar_dense|data-dependent|DataDependent"):
            TORCH["trunc_normal_"](torch.empty(10))
        assert isinstance(ft.trunc_normal_(torch.empty(10), std=0.02), FakeTensor)
    t = ft_init._trunc_normal_traceable(torch.empty(20000, dtype=torch.float64), 0.3, 1.5, -1.0, 2.5, None)
    assert t.min() >= -1.0 and t.max() <= 2.5
    assert kstest_p((t - 0.3) / 1.5, "truncnorm", (-1.0 - 0.3) / 1.5, (2.5 - 0.3) / 1.5) > 1e-4


def test_patched_module_construction_under_fake_mode():
    with ft.patch(), FakeTensorMode():
        emb = torch.nn.Embedding(1000, 16, padding_idx=0)
        mha = torch.nn.MultiheadAttention(16, 2)
    assert isinstance(emb.weight, FakeTensor) and isinstance(mha.in_proj_weight, FakeTensor)


class _Noise(torch.nn.Module):
    def forward(self, x):
        w = torch.empty(x.shape[-1], 3)
        ft.kaiming_uniform_(w)
        ft.trunc_normal_(w, std=0.02)
        return x @ w


@pytest.mark.parametrize("strict", [False, True])
def test_torch_export_traces_through_fastinit(strict):
    ep = torch.export.export(_Noise(), (torch.ones(2, 4),), strict=strict)
    assert ep.module()(torch.ones(2, 4)).shape == (2, 3)


def test_torch_compile_fullgraph_traces_through_fastinit():
    compiled = torch.compile(_Noise(), backend="eager", fullgraph=True)   # a graph break would raise
    assert compiled(torch.ones(2, 4)).shape == (2, 3)


def test_subclasses():
    """A plain subclass exposes its memory and is filled by fastinit; one with its own
    __torch_function__ goes to torch, which dispatches to it."""
    class Plain(torch.Tensor):
        pass

    class Logged(torch.Tensor):
        calls = []

        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            cls.calls.append(getattr(func, "__name__", str(func)))
            return super().__torch_function__(func, types, args, kwargs or {})

    torch.manual_seed(2)
    plain = ft.normal_(torch.empty(50).as_subclass(Plain))
    torch.manual_seed(2)
    assert torch.equal(plain.as_subclass(torch.Tensor), ft.normal_(torch.empty(50)))
    logged = torch.empty(50).as_subclass(Logged)
    ft.normal_(logged)
    assert "normal_" in Logged.calls


def test_embedding_benchmark_runs_small():
    import subprocess
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "bench" / "torch_embedding.py"
    out = subprocess.run([sys.executable, str(script), "--rows", "2000", "--dim", "8"], capture_output=True,
                         text=True, check=True, timeout=120).stdout
    for label in ("fastinit.init", "fastinit.torch.patch", "torch", "torch / patched", "patched / fastinit.init"):
        assert f"  {label} " in out
