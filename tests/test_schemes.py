"""Schemes: formulas against torch (exact arguments) and hand-computed Keras/JAX values, value
distributions, structure (eye, dirac, orthogonal, sparse), sharding, registry and errors."""
import math

import numpy as np
import pytest
from scipy import stats

import fastinit
from fastinit import _executor, initializers
from fastinit._fill import Dist

torch = pytest.importorskip("torch")


class Capture:
    """Records the distribution a scheme asks the kernels (or torch) for."""

    def __init__(self):
        self.calls = []


KERNELS = {Dist.UNIFORM: "uniform_", Dist.NORMAL: "normal_", Dist.TRUNC: "trunc_normal_"}


@pytest.fixture
def ours(monkeypatch):
    """The distribution each fill's plan asks the kernels for, as torch's calls are recorded (the
    arguments as the scheme computed them, in float64); nothing is drawn."""
    cap = Capture()
    monkeypatch.setattr(_executor.Fill, "flat",
                        lambda fill, out, first: cap.calls.append((KERNELS[fill.plan.base.dist], fill.plan.base.asked)))
    return cap


@pytest.fixture
def theirs(monkeypatch):
    cap = Capture()
    monkeypatch.setattr(torch.Tensor, "uniform_", lambda self, a, b, generator=None: cap.calls.append(("uniform_", (a, b))))
    monkeypatch.setattr(torch.Tensor, "normal_", lambda self, m, s, generator=None: cap.calls.append(("normal_", (m, s))))
    return cap


SHAPES = [(3, 5), (16, 8, 3, 3), (7, 4, 2), (1, 1)]
TORCH_CASES = [
    ("xavier_uniform_", {}), ("xavier_uniform_", {"gain": 2.5}), ("xavier_normal_", {}),
    ("xavier_normal_", {"gain": 0.3}),
    ("kaiming_uniform_", {}), ("kaiming_uniform_", {"a": math.sqrt(5)}),
    ("kaiming_uniform_", {"mode": "fan_out", "nonlinearity": "relu"}),
    ("kaiming_normal_", {"nonlinearity": "tanh"}), ("kaiming_normal_", {"a": 0.2, "mode": "fan_out"}),
    ("kaiming_normal_", {"nonlinearity": "selu"}), ("kaiming_uniform_", {"nonlinearity": "conv2d"}),
]


@pytest.mark.parametrize("name,kwargs", TORCH_CASES)
@pytest.mark.parametrize("shape", SHAPES)
def test_torch_formulas_exact(name, kwargs, shape, ours, theirs):
    getattr(torch.nn.init, name)(torch.empty(shape), **kwargs)
    getattr(fastinit, name)(np.empty(shape, np.float32), seed=0, **kwargs)
    assert ours.calls == theirs.calls  # same kernel, same float64 arguments, bit for bit


@pytest.mark.parametrize("nonlinearity,param", [
    ("linear", None), ("conv1d", None), ("conv_transpose3d", None), ("sigmoid", None), ("tanh", None),
    ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", 3), ("selu", None)])
def test_calculate_gain_matches_torch(nonlinearity, param):
    assert fastinit.calculate_gain(nonlinearity, param) == torch.nn.init.calculate_gain(nonlinearity, param)


@pytest.mark.parametrize("args", [("foo", None), ("leaky_relu", "x"), ("leaky_relu", True)])
def test_calculate_gain_errors_match_torch(args):
    with pytest.raises(ValueError) as theirs:
        torch.nn.init.calculate_gain(*args)
    with pytest.raises(ValueError, match=str(theirs.value)):
        fastinit.calculate_gain(*args)


def test_fans():
    assert fastinit.calculate_fans((16, 8, 3, 3)) == (72, 144)
    assert fastinit.calculate_fans((3, 3, 16, 32), layout="keras") == (144, 288)
    assert fastinit.calculate_fans((3, 3, 16, 32), layout="jax") == (144, 288)
    assert fastinit.calculate_fans((7,), layout="keras") == (7, 7)
    assert fastinit.calculate_fans((), layout="keras") == (1, 1)
    assert fastinit.calculate_fans((2, 3, 4), in_axis=0, out_axis=2) == (6, 12)
    assert fastinit.calculate_fans((5, 2, 3, 4), in_axis=-2, out_axis=-1, batch_axis=(0,)) == (6, 8)
    assert fastinit.calculate_fans((2, 3, 4), in_axis=(0, 1), out_axis=2) == (6, 4)
    for layout in ("torch", "jax"):
        with pytest.raises(ValueError, match="fewer than 2 dimensions|at least 2-D"):
            fastinit.calculate_fans((5,), layout=layout)
    with pytest.raises(ValueError, match="layout='tf'"):
        fastinit.calculate_fans((2, 2), layout="tf")
    with pytest.raises(ValueError, match="in_axis=5"):
        fastinit.calculate_fans((2, 2), in_axis=5)


def test_fan_based_errors_match_torch():
    for name in ("xavier_uniform_", "kaiming_normal_"):
        with pytest.raises(ValueError) as theirs:
            getattr(torch.nn.init, name)(torch.empty(5))
        with pytest.raises(ValueError, match=str(theirs.value)):
            getattr(fastinit, name)(np.empty(5, np.float32))
    with pytest.raises(ValueError) as theirs:
        torch.nn.init.kaiming_uniform_(torch.empty(3, 4), mode="fan_avg")
    with pytest.raises(ValueError, match=re_escape(str(theirs.value))):
        fastinit.kaiming_uniform_(np.empty((3, 4), np.float32), mode="fan_avg")


def re_escape(s):
    import re
    return re.escape(s)


@pytest.mark.parametrize("shape", [(0, 5), (5, 0)])
@pytest.mark.parametrize("name,params", [("orthogonal_", {}), ("orthogonal", {"gain": 2.0}), ("sparse_", {"sparsity": 0.5}),
                                         ("sparse", {"sparsity": 0.0}), ("normal", {})])
def test_zero_size_whole_tensor_schemes(tmp_path, shape, name, params):
    """Empty orthogonal/sparse tensors are a no-op in memory, and init_npy writes their (empty) file."""
    assert fastinit.init(shape, name, seed=1, **params).shape == shape
    path = fastinit.init_npy(tmp_path / "w.npy", shape, name, seed=1, progress=False, **params)
    assert np.load(path).shape == shape
    block = fastinit.fill_block(np.empty(shape, np.float32), name, shape, (slice(None),) * 2, seed=1, **params)
    assert block.shape == shape


@pytest.mark.parametrize("name,params,match", [
    ("orthogonal_", {"gain": float("nan")}, "gain must be a finite number"),
    ("sparse_", {"sparsity": 2.0}, r"sparsity must be in \[0, 1\]"),
    ("normal", {"std": -1.0}, "std must be >= 0"),
    ("uniform_", {"a": 1.0, "b": 0.0}, "a must be <= b"),
])
def test_zero_size_still_checks_parameters(tmp_path, name, params, match):
    with pytest.raises(ValueError, match=match):
        fastinit.init((0, 5), name, seed=1, **params)
    with pytest.raises(ValueError, match=match):
        fastinit.init_npy(tmp_path / "w.npy", (0, 5), name, seed=1, progress=False, **params)
    assert list(tmp_path.iterdir()) == []


def test_zero_element_warns_and_is_a_no_op():
    out = np.empty((0, 5), np.float32)
    with pytest.warns(UserWarning, match="zero-element tensors is a no-op"):
        assert fastinit.kaiming_uniform_(out) is out
    with pytest.warns(UserWarning, match="no-op"):
        fastinit.glorot_uniform(np.empty((4, 0), np.float32))


# ---- Keras / JAX: hand-computed values

KERAS_CASES = [
    # (scheme, shape, kwargs, expected (kind, args)) with Keras (in, out) layout
    ("glorot_uniform", (3, 5), {}, ("uniform_", (-math.sqrt(6 / 8), math.sqrt(6 / 8)))),
    ("he_uniform", (3, 3, 16, 32), {}, ("uniform_", (-math.sqrt(6 / 144), math.sqrt(6 / 144)))),
    ("lecun_uniform", (10, 4), {}, ("uniform_", (-math.sqrt(3 / 10), math.sqrt(3 / 10)))),
    ("glorot_normal", (3, 5), {}, "trunc", math.sqrt(2 / 8)),
    ("he_normal", (3, 3, 16, 32), {}, "trunc", math.sqrt(2 / 144)),
    ("lecun_normal", (10, 4), {}, "trunc", math.sqrt(1 / 10)),
]


@pytest.mark.parametrize("case", KERAS_CASES, ids=lambda c: c[0])
def test_keras_formulas(case, ours):
    name, shape, kwargs = case[:3]
    fastinit.get(name)(np.empty(shape, np.float32), seed=0, **kwargs)
    (kind, args), = ours.calls
    if case[3] == "trunc":
        std = case[4] / 0.87962566103423978
        assert kind == "trunc_normal_"
        assert args == pytest.approx((0.0, std, -2 * std, 2 * std), rel=1e-15)
    else:
        assert (kind, args) == (case[3][0], pytest.approx(case[3][1], rel=1e-15))


def test_keras_fixed_defaults(ours):
    fastinit.truncated_normal(np.empty(10, np.float32), seed=0)
    fastinit.random_uniform(np.empty(10, np.float32), seed=0)
    fastinit.random_normal(np.empty(10, np.float32), seed=0)
    assert ours.calls == [("trunc_normal_", (0.0, 0.05, -0.1, 0.1)), ("uniform_", (-0.05, 0.05)),
                          ("normal_", (0.0, 0.05))]


@pytest.mark.parametrize("mode,fan", [("fan_in", 6), ("fan_out", 12), ("fan_avg", 9), ("fan_geo_avg", math.sqrt(72))])
@pytest.mark.parametrize("distribution", ["truncated_normal", "untruncated_normal", "normal", "uniform"])
def test_variance_scaling(mode, fan, distribution, ours):
    fastinit.variance_scaling_(np.empty((2, 3, 4), np.float32), 2.0, mode, distribution, in_axis=0, out_axis=2, seed=0)
    s = 2.0 / fan
    (kind, args), = ours.calls
    if distribution == "truncated_normal":
        std = math.sqrt(s) / 0.87962566103423978
        assert (kind, args) == ("trunc_normal_", pytest.approx((0.0, std, -2 * std, 2 * std), rel=1e-15))
    elif distribution == "uniform":
        assert (kind, args) == ("uniform_", pytest.approx((-math.sqrt(3 * s), math.sqrt(3 * s)), rel=1e-15))
    else:
        assert (kind, args) == ("normal_", pytest.approx((0.0, math.sqrt(s)), rel=1e-15))


def test_variance_scaling_small_fan_and_errors():
    x = fastinit.variance_scaling_(np.empty((1, 1), np.float32), 1.0, "fan_in", "uniform", seed=0)
    assert abs(x[0, 0]) <= math.sqrt(3.0)   # scale / max(1, fan)
    with pytest.raises(ValueError, match="scale must be a positive"):
        fastinit.variance_scaling_(np.empty((2, 2)), 0.0)
    with pytest.raises(ValueError, match="Mode fan_sum not supported"):
        fastinit.variance_scaling_(np.empty((2, 2)), 1.0, "fan_sum")
    with pytest.raises(ValueError, match="distribution='gamma'"):
        fastinit.variance_scaling_(np.empty((2, 2)), 1.0, "fan_in", "gamma")


def test_truncation_constant():
    assert initializers.TRUNCATED_NORMAL_STD == pytest.approx(stats.truncnorm(-2, 2).std(), rel=1e-15)


# ---- values

def test_value_distributions():
    w = fastinit.xavier_uniform_(np.empty((400, 500), np.float32), seed=1)
    a = math.sqrt(6 / 900)
    assert stats.kstest(w.ravel(), stats.uniform(-a, 2 * a).cdf).pvalue > 1e-4
    h = fastinit.he_normal(np.empty((300, 400), np.float64), seed=2)
    std = math.sqrt(2 / 300) / 0.87962566103423978
    assert np.abs(h).max() <= 2 * std
    assert stats.kstest(h.ravel(), stats.truncnorm(-2, 2, scale=std).cdf).pvalue > 1e-4
    assert h.std() == pytest.approx(math.sqrt(2 / 300), rel=0.01)  # the variance target is kept
    k = fastinit.kaiming_normal_(np.empty((256, 300), np.float32), nonlinearity="relu", seed=3)
    assert stats.kstest(k.ravel(), stats.norm(0, math.sqrt(2 / 300)).cdf).pvalue > 1e-4


@pytest.mark.parametrize("shape,layout", [((64, 128), "torch"), ((128, 64), "torch"), ((8, 4, 3, 3), "torch"),
                                          ((3, 3, 4, 8), "keras"), ((50, 50), "torch")])
@pytest.mark.parametrize("gain", [1.0, 2.0])
def test_orthogonal(shape, layout, gain):
    w = fastinit.orthogonal_(np.empty(shape), gain, layout=layout, seed=5)
    m = w.reshape(shape[0], -1) if layout == "torch" else w.reshape(-1, shape[-1])
    g = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    np.testing.assert_allclose(g, gain ** 2 * np.eye(len(g)), atol=1e-12)
    assert np.array_equal(fastinit.orthogonal_(np.empty(shape), gain, layout=layout, seed=5), w)
    w32 = fastinit.orthogonal_(np.empty(shape, np.float32), gain, layout=layout, seed=5)  # float32 QR
    m32 = (w32.reshape(shape[0], -1) if layout == "torch" else w32.reshape(-1, shape[-1])).astype(np.float64)
    g32 = m32 @ m32.T if m32.shape[0] <= m32.shape[1] else m32.T @ m32
    np.testing.assert_allclose(g32, gain ** 2 * np.eye(len(g32)), atol=2e-5)
    with pytest.raises(ValueError, match="2 or more dimensions"):
        fastinit.orthogonal_(np.empty(4))


def test_keras_orthogonal_flattens_channels_last():
    w = fastinit.orthogonal(np.empty((3, 3, 4, 8)), seed=1)
    m = w.reshape(-1, 8)
    np.testing.assert_allclose(m.T @ m, np.eye(8), atol=1e-12)


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 4)])
def test_eye_matches_torch(shape):
    assert np.array_equal(fastinit.eye_(np.full(shape, 7.0, np.float32)), torch.nn.init.eye_(torch.empty(shape)).numpy())
    assert np.array_equal(fastinit.identity(np.empty(shape), 3.0), 3.0 * np.eye(*shape))
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions"):
        fastinit.eye_(np.empty((2, 2, 2)))


@pytest.mark.parametrize("shape,groups", [((4, 2, 3), 1), ((6, 3, 5, 5), 1), ((6, 3, 5, 5), 2), ((4, 4, 2, 3, 3), 4),
                                          ((8, 2, 3, 3), 2)])
def test_dirac_matches_torch(shape, groups):
    ours = fastinit.dirac_(np.full(shape, 9.0, np.float32), groups)
    assert np.array_equal(ours, torch.nn.init.dirac_(torch.empty(shape), groups).numpy())
    with pytest.raises(ValueError, match="divisible by groups"):
        fastinit.dirac_(np.empty((5, 2, 3)), 2)
    with pytest.raises(ValueError, match="3, 4, or 5 dimensions"):
        fastinit.dirac_(np.empty((5, 2)))


def test_sparse():
    w = fastinit.sparse_(np.empty((200, 30)), 0.25, std=0.5, seed=3)
    assert ((w == 0).sum(axis=0) == math.ceil(0.25 * 200)).all()
    assert w[w != 0].std() == pytest.approx(0.5, rel=0.05)
    assert np.array_equal(w, fastinit.sparse_(np.empty((200, 30)), 0.25, std=0.5, seed=3))
    with pytest.raises(ValueError, match=r"sparsity must be in \[0, 1\]"):
        fastinit.sparse_(np.empty((2, 2)), 1.5)
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions"):
        fastinit.sparse_(np.empty((2, 2, 2)), 0.1)


def test_constants_and_embeddings():
    assert (fastinit.constant_(np.empty(5, np.float16), 0.1) == np.float16(0.1)).all()
    assert (fastinit.ones_(np.empty(5, np.uint16), dtype="bfloat16") == 0x3F80).all()
    assert (fastinit.zeros_(np.ones(5)) == 0).all()
    with pytest.raises(ValueError, match="outside the range of float16"):
        fastinit.constant_(np.empty(5, np.float16), 1e6)
    e = fastinit.torch_embedding(np.empty((1000, 64), np.float32), padding_idx=3, seed=1)
    assert (e[3] == 0).all() and e.std() == pytest.approx(1.0, rel=0.02)
    d = fastinit.dlrm_embedding(np.empty((400, 16), np.float32), seed=1)
    assert np.abs(d).max() <= math.sqrt(1 / 400) and np.abs(d).max() > 0.99 * math.sqrt(1 / 400)
    t = fastinit.torchrec_embedding(np.empty((400, 16), np.float32), seed=1)
    assert np.abs(t).max() <= math.sqrt(1 / 400)


# ---- sharding: a shard equals the slice of the whole fill

SHARDED = [("xavier_uniform", {}), ("kaiming_normal", {"nonlinearity": "relu"}), ("glorot_normal", {}),
           ("he_uniform", {}), ("lecun_normal", {}), ("variance_scaling", {"mode": "fan_avg"}),
           ("trunc_normal", {"std": 0.02}), ("uniform", {}), ("normal", {}), ("orthogonal_", {}),
           ("orthogonal", {}), ("sparse", {"sparsity": 0.3}), ("eye", {}), ("identity", {"gain": 2.0}),
           ("constant", {"val": 0.5}), ("torch_embedding", {"padding_idx": 5}), ("torchrec_embedding", {}),
           ("dlrm_embedding", {}), ("truncated_normal", {}), ("random_uniform", {}), ("random_normal", {})]


@pytest.mark.parametrize("name,params", SHARDED, ids=[s[0] for s in SHARDED])
def test_shard_equals_slice(name, params):
    shape = (40, 24)
    fn = fastinit.get(name)
    random = "seed" in __import__("inspect").signature(fn).parameters
    seeds = {"seed": 11} if random else {}
    whole = fn(np.empty(shape, np.float32), **params, **seeds)
    for r0, r1 in [(0, 7), (7, 40), (13, 14)]:
        shard = fn(np.empty((r1 - r0, 24), np.float32), full_shape=shape, offset=r0 * 24, **params, **seeds)
        assert np.array_equal(shard, whole[r0:r1]), (r0, r1)
    flat = fn(np.empty(101, np.float32), full_shape=shape, offset=333, **params, **seeds)  # splits rows
    assert np.array_equal(flat, whole.ravel()[333:434])


def test_dirac_shard():
    whole = fastinit.dirac_(np.empty((6, 3, 3, 3), np.float32), 2)
    part = fastinit.dirac_(np.empty(50, np.float32), 2, full_shape=(6, 3, 3, 3), offset=60)
    assert np.array_equal(part, whole.ravel()[60:110])


def test_shard_errors():
    with pytest.raises(ValueError, match="does not fit in full_shape"):
        fastinit.xavier_uniform_(np.empty((5, 4)), full_shape=(10, 4), offset=24)
    with pytest.raises(TypeError, match="full_shape must be a sequence"):
        fastinit.xavier_uniform_(np.empty((5, 4)), full_shape=10)


# ---- registry

def test_registry():
    names = fastinit.schemes()
    for expected in ("xavier_uniform", "glorot_uniform", "he_normal", "kaiming_uniform_", "orthogonal",
                     "torch_embedding", "variance_scaling", "identity", "truncated_normal", "sparse"):
        assert expected in names
    assert fastinit.get("xavier_uniform") is fastinit.xavier_uniform_
    assert fastinit.get("xavier_uniform_") is fastinit.xavier_uniform_
    w = fastinit.init((300, 200), "xavier_uniform", seed=0)
    assert w.shape == (300, 200) and w.dtype == np.float32
    assert np.array_equal(w, fastinit.xavier_uniform_(np.empty((300, 200), np.float32), seed=0))
    d = fastinit.init(1000, "normal", dtype=np.float64, seed=1, std=2.0)
    assert d.dtype == np.float64 and d.std() == pytest.approx(2.0, rel=0.1)
    buf = np.empty((10, 10), np.float16)
    assert fastinit.init(buf, "he_uniform", seed=2) is buf
    assert fastinit.init((4, 4), "eye").trace() == 4
    b = fastinit.init((64, 64), "glorot_normal", dtype="bfloat16", seed=3)
    assert b.dtype.name == "bfloat16"


def test_registry_errors():
    with pytest.raises(ValueError, match="did you mean xavier_uniform"):
        fastinit.init((3, 3), "xavier_unifrom")
    with pytest.raises(ValueError, match="did you mean gain"):
        fastinit.init((3, 3), "xavier_uniform", gian=2.0)
    with pytest.raises(ValueError, match="takes no seed"):
        fastinit.init((3, 3), "eye", seed=1)
    with pytest.raises(TypeError, match="must be a name"):
        fastinit.get(3)
    with pytest.raises(ValueError, match=re_escape("shape entries must be integers in [0, 2**62), as in (1000, 64); "
                                                   "shape[1] is -1")):
        fastinit.init((3, -1), "normal")
    with pytest.raises(ValueError, match="does not match the array's dtype float32"):
        fastinit.init(np.empty(3, np.float32), "normal", dtype=np.float64)


# ---- torch-named records take torch's parameter names

FASTINIT_ONLY = {"out", "full_shape", "offset", "dtype", "seed", "stream", "num_threads", "layout", "in_axis",
                 "out_axis", "batch_axis", "column_axis", "low", "high"}   # low/high: uniform's kernel names, kept


def _torch_named_schemes():
    import inspect
    names = [n for n in fastinit.schemes() if n.endswith("_") and callable(getattr(torch.nn.init, n, None))]
    return [(n, inspect.signature(getattr(torch.nn.init, n)), inspect.signature(fastinit.scheme(n).fn)) for n in names]


def test_torch_named_records_take_torchs_parameters():
    checked = _torch_named_schemes()
    assert {n for n, _, _ in checked} >= {"uniform_", "normal_", "trunc_normal_", "constant_", "eye_", "dirac_",
                                          "xavier_uniform_", "kaiming_normal_", "orthogonal_", "sparse_"}
    for name, theirs, ours in checked:
        want = [(p.name, p.default) for p in theirs.parameters.values() if p.name not in ("tensor", "generator")]
        got = [(p.name, p.default) for p in ours.parameters.values() if p.name not in FASTINIT_ONLY]
        assert got == want, name
        # torch's positional order works too (after the array)
        positional = [p.name for p in ours.parameters.values()
                      if p.kind is p.POSITIONAL_OR_KEYWORD and p.name != "out"]
        assert positional == [n for n, _ in want], name
        # the record without the trailing underscore is the same function (orthogonal is Keras')
        if name != "orthogonal_":
            assert fastinit.scheme(name[:-1]).fn is fastinit.scheme(name).fn


def test_uniform_takes_a_b_and_the_kernel_names():
    ref = fastinit.uniform_(np.empty((4, 5), np.float32), -1.0, 2.0, seed=7)
    for name in ("uniform", "uniform_"):
        assert np.array_equal(fastinit.init((4, 5), name, a=-1, b=2, seed=7), ref)
        assert np.array_equal(fastinit.init((4, 5), name, low=-1, high=2, seed=7), ref)
        assert np.array_equal(fastinit.init((4, 5), name, a=-1, high=2, seed=7), ref)
        assert np.array_equal(fastinit.get(name)(np.empty((4, 5), np.float32), -1, 2, seed=7), ref)
    default = fastinit.init(1000, "uniform_", seed=3)
    assert np.array_equal(default, fastinit.uniform_(np.empty(1000, np.float32), 0.0, 1.0, seed=3))
    # and through fill_block, as every adapter calls it
    block = fastinit.fill_block(np.empty((2, 5), np.float32), "uniform_", (4, 5), (slice(1, 3),), seed=7, a=-1, b=2)
    assert np.array_equal(block, ref[1:3])


@pytest.mark.parametrize("params,error,match", [
    ({"a": 0.0, "low": -1.0}, ValueError, "a= and low= are the same parameter"),
    ({"b": 2.0, "high": 3.0}, ValueError, "b= and high= are the same parameter"),
    ({"a": 2.0, "b": 1.0}, ValueError, "a must be <= b; got a=2.0, b=1.0"),
    ({"low": 2.0, "high": 1.0}, ValueError, "low must be <= high"),
    ({"a": "0"}, TypeError, "a must be a real number"),
    ({"a": None}, TypeError, "a must be a real number"),
    ({"b": float("nan")}, ValueError, "b must be a finite number"),
    ({"b": 10 ** 400}, ValueError, "b must be a finite number within float64's range"),
    ({"c": 1.0}, ValueError, "has no parameter 'c'"),
])
def test_uniform_parameter_errors(params, error, match):
    out = np.full(6, 5.0, np.float32)
    with pytest.raises(error, match=re_escape(match)):
        fastinit.init(out, "uniform_", seed=0, **params)
    assert (out == 5.0).all()


# ---- init's first argument

def test_init_refuses_a_torch_tensor_with_the_way_to_fill_it():
    t = torch.zeros(100, 64)
    with pytest.raises(TypeError) as err:
        fastinit.init(t, "normal")
    message = str(err.value)
    assert "got a torch.Tensor of shape (100, 64)" in message and "fastinit.torch.normal_(t)" in message
    assert "t.shape" in message and len(message) < 300 and "\n" not in message   # no tensor dump
    with pytest.raises(TypeError, match=re_escape("fastinit.init(t.detach().numpy(), 'glorot_uniform')")):
        fastinit.init(t, "glorot_uniform")
    with pytest.raises(TypeError, match="fastinit.init\\(t.detach"):   # Keras' orthogonal is not torch's orthogonal_
        fastinit.init(t, "orthogonal")
    assert (t == 0).all()
    # the way out the message gives works
    assert fastinit.init(t.shape, "normal", seed=0).shape == (100, 64)


def test_init_refuses_an_integer_array_as_output_or_shape():
    shape = np.array([10, 3])
    with pytest.raises(TypeError, match=re_escape("integer numpy array (shape (2,), dtype int64)") + ".*pass tuple\\(arr\\)"):
        fastinit.init(shape, "normal")
    assert shape.tolist() == [10, 3]
    with pytest.raises(TypeError, match="pass int\\(arr\\)"):
        fastinit.init(np.array(7), "normal")
    with pytest.raises(TypeError, match=re_escape("got a bool numpy array (shape (3,), dtype bool)")):
        fastinit.init(np.ones(3, bool), "normal")
    assert fastinit.init(tuple(shape), "normal", seed=0).shape == (10, 3)


def test_init_refuses_other_libraries_arrays():
    class Foreign:     # a stand-in for a JAX/cupy array: has shape and dtype, is not numpy
        shape, dtype = (3, 4), "float32"
    with pytest.raises(TypeError, match="got a .*Foreign of shape \\(3, 4\\).*pass x.shape"):
        fastinit.init(Foreign(), "normal")


@pytest.mark.parametrize("shape,error,match", [
    ((10.0, 3), TypeError, "shape entries must be integers in [0, 2**62), as in (1000, 64); shape[0] is 10.0 (float)"),
    ((10, -3), ValueError, "shape[1] is -3"),
    ((10, True), TypeError, "shape[1] is True"),
    ([np.int64(3), "4"], TypeError, "shape[1] is '4' (str)"),
    ((10, 10 ** 5000), ValueError, "shape[1] is an int of about 5001 digits"),
    (-1, ValueError, "shape must be an integer in"),
    ("3x3", TypeError, "shape must be an int or a sequence of non-negative ints, such as 1000 or (1000, 64); got '3x3'"),
    ((n for n in (10, 3)), TypeError, "(generator); pass a tuple, e.g. tuple(...) of it"),
    ({3, 10}, TypeError, "a set has no order, pass a tuple"),
    (3.0, TypeError, "shape must be an int or a sequence"),
    (None, TypeError, "shape must be an int or a sequence"),
])
def test_shape_misuses_show_the_accepted_form(shape, error, match):
    with pytest.raises(error, match=re_escape(match)):
        fastinit.init(shape, "normal", seed=0)


def test_shape_messages_stay_short():
    long_list = list(range(100_000)) + [1.5]
    with pytest.raises(TypeError) as err:
        fastinit.init(long_list, "normal")
    assert "shape[100000] is 1.5 (float)" in str(err.value) and len(str(err.value)) < 200
    with pytest.raises(TypeError) as err:
        fastinit.init("x" * 100_000, "normal")
    assert len(str(err.value)) < 250


def test_accepted_shapes():
    for shape in [7, (7,), [2, 3], (2, np.int64(3)), range(1, 4), torch.Size([2, 3]), ()]:
        expected = (shape,) if isinstance(shape, int) else tuple(int(n) for n in shape)
        assert fastinit.init(shape, "zeros").shape == expected
    # a 1-D integer array is a shape wherever the argument can only be a shape
    assert fastinit.fill_block(np.empty((2, 3), np.float32), "zeros", np.array([4, 3]), (slice(0, 2),)).shape == (2, 3)


def test_swapped_arguments():
    with pytest.raises(TypeError, match="the arguments are \\(shape_or_array, scheme\\)"):
        fastinit.init("normal", (3, 3))


def test_bad_dtype_names_the_accepted_dtypes():
    with pytest.raises(TypeError, match="dtype 'flaot32' .* is not a numpy dtype; fastinit fills float32"):
        fastinit.init((3,), "normal", dtype="flaot32")


@pytest.mark.parametrize("shape", [(1, 1, 0), (0, 3, 3), (2, 0, 3, 3)])
def test_dirac_of_an_empty_tensor_writes_nothing(shape):
    """(It raised numpy's 'cannot unravel if shape has zero entries'.)"""
    assert fastinit.init(shape, "dirac").shape == shape
    assert fastinit.fill_block(np.empty(shape, np.float32), "dirac", shape, ()).shape == shape
