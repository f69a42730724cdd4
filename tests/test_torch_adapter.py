"""fastinit.torch: torch.nn.init's signatures and defaults, in-place fills, torch seeding, patch()."""
import inspect
import math
import subprocess
import sys

import numpy as np
import pytest

import fastinit

torch = pytest.importorskip("torch")
import fastinit.torch as ft  # noqa: E402
from fastinit.torch import _init as ft_init  # noqa: E402

NAMES = ["uniform_", "normal_", "trunc_normal_", "constant_", "zeros_", "ones_", "eye_", "dirac_",
         "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "sparse_"]


@pytest.mark.parametrize("name", NAMES + ["calculate_gain"])
def test_same_signature_as_torch(name):
    ours = inspect.signature(getattr(ft, name)).parameters
    theirs = inspect.signature(getattr(torch.nn.init, name)).parameters
    assert [(p.name, p.default) for p in ours.values()] == [(p.name, p.default) for p in theirs.values()]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16])
def test_in_place_without_copy(dtype):
    t = torch.zeros(300, 200, dtype=dtype)
    ptr = t.data_ptr()
    assert ft.kaiming_uniform_(t, a=math.sqrt(5)) is t
    assert t.data_ptr() == ptr
    bound = 1 / math.sqrt(200)
    v = t.float()
    assert v.abs().max() <= bound and v.abs().max() > 0.95 * bound and (v != 0).float().mean() > 0.99


def test_parameter_with_grad():
    p = torch.nn.Parameter(torch.empty(50, 40))
    ft.xavier_normal_(p)
    assert p.requires_grad and p.std().item() == pytest.approx(math.sqrt(2 / 90), rel=0.1)


def test_seeding_follows_torch():
    t = torch.empty(1000)
    torch.manual_seed(42)
    a = ft.normal_(t).clone()
    b = ft.normal_(t).clone()
    torch.manual_seed(42)
    assert torch.equal(ft.normal_(t), a)
    assert torch.equal(ft.normal_(t), b)
    assert not torch.equal(a, b)
    g = torch.Generator().manual_seed(7)
    c = ft.uniform_(t, generator=g).clone()
    g.manual_seed(7)
    assert torch.equal(ft.uniform_(t, generator=g), c)


def test_bfloat16_matches_numpy_kernel():
    t = torch.empty(5000, dtype=torch.bfloat16)
    torch.manual_seed(3)
    ft.trunc_normal_(t, std=0.02, a=-0.04, b=0.04)
    torch.manual_seed(3)
    seed = ft_init._seed(None)
    raw = fastinit.trunc_normal_(np.empty(5000, np.uint16), 0.0, 0.02, -0.04, 0.04, seed=seed, dtype="bfloat16")
    assert np.array_equal(t.view(torch.int16).numpy().view(np.uint16), raw)
    assert t.float().abs().max() <= 0.04


def test_non_contiguous_tensor_filled_in_logical_order():
    base = torch.zeros(20, 30)
    torch.manual_seed(1)
    ft.uniform_(base.T, -1, 1)
    torch.manual_seed(1)
    ref = ft.uniform_(torch.empty(30, 20), -1, 1)
    assert torch.equal(base.T, ref)


def test_errors_and_meta():
    with pytest.raises(NotImplementedError, match="normal_kernel_cpu"):   # as torch: int64 goes to torch
        ft.normal_(torch.zeros(4, dtype=torch.int64))
    with pytest.raises(TypeError, match="torch.Tensor"):
        ft.normal_(np.zeros(4))
    m = torch.empty(3, 3, device="meta")
    assert ft.kaiming_uniform_(m) is m
    with pytest.raises(ValueError, match="Fan in and fan out"):            # torch's checks, also on meta
        ft.kaiming_uniform_(torch.empty(3, device="meta"))
    with pytest.raises(ValueError, match="a must be <= b"):
        ft.uniform_(torch.empty(3), 1.0, 0.0)


def test_structured_match_torch():
    assert torch.equal(ft.eye_(torch.empty(3, 5)), torch.nn.init.eye_(torch.empty(3, 5)))
    assert torch.equal(ft.dirac_(torch.empty(4, 2, 3, 3), 2), torch.nn.init.dirac_(torch.empty(4, 2, 3, 3), 2))
    assert torch.equal(ft.constant_(torch.empty(3), 0.5), torch.full((3,), 0.5))
    w = ft.orthogonal_(torch.empty(30, 50), gain=2.0)
    torch.testing.assert_close(w @ w.T, 4 * torch.eye(30), atol=1e-5, rtol=0)


def test_patch_context_manager_and_undo():
    originals = {n: getattr(torch.nn.init, n) for n in NAMES}
    with ft.patch():
        assert torch.nn.init.kaiming_uniform_.__code__ is ft.kaiming_uniform_.__code__
        torch.manual_seed(0)
        lin = torch.nn.Linear(512, 256)
        emb = torch.nn.Embedding(20_000, 32, padding_idx=0)
        torch.manual_seed(0)
        lin2 = torch.nn.Linear(512, 256)
    assert all(getattr(torch.nn.init, n) is f for n, f in originals.items())
    assert torch.equal(lin.weight, lin2.weight)
    assert lin.weight.abs().max() <= 1 / math.sqrt(512)
    assert emb.weight[0].abs().sum() == 0 and emb.weight[1:].std().item() == pytest.approx(1.0, rel=0.02)
    p = ft.patch()
    assert torch.nn.init.normal_.__code__ is ft.normal_.__code__
    p.undo()
    p.undo()  # idempotent
    assert all(getattr(torch.nn.init, n) is f for n, f in originals.items())


def test_import_fastinit_does_not_import_torch():
    code = "import sys, fastinit; fastinit.init((4, 4), 'xavier_uniform'); print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


def test_numpy_array_gets_the_numpy_function_named():
    with pytest.raises(TypeError, match=r"got ndarray; to fill a numpy array in place use fastinit\.xavier_uniform_\("):
        ft.xavier_uniform_(np.empty((3, 4), np.float32))
    assert callable(fastinit.xavier_uniform_)


@pytest.mark.parametrize("name", ["normal_", "xavier_uniform_", "orthogonal_"])
def test_seed_keyword_points_to_torchs_ways_of_seeding(name):
    """torch.nn.init's signatures take generator=, not seed=: the error says what to do instead."""
    t = torch.full((4, 4), 7.0)
    with pytest.raises(TypeError, match=rf"^{name}\(\) takes no seed= .*generator=torch.Generator\(\).manual_seed\(seed\)"
                                        r".*torch.manual_seed\(seed\)"):
        getattr(ft, name)(t, seed=0)
    assert (t == 7.0).all()
    with pytest.raises(TypeError, match=rf"^{name}\(\) got an unexpected keyword argument 'sed'$"):
        getattr(ft, name)(t, sed=0)
