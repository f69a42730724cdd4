"""fastinit.jax: jax.nn.initializers' names and protocol, JAX's semantics, key -> seed, the registry
mapping, jit/vmap, sharding (multi-device cases, and that ``import fastinit`` imports no jax, in
one subprocess: tests/jax_sharding_cases.py), Flax."""
import inspect
import math
import os
import subprocess
import sys

import warnings

import numpy as np
import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402
from jax.sharding import NamedSharding, PartitionSpec as P  # noqa: E402

import fastinit  # noqa: E402
import fastinit.jax as fj  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")   # small fills (see conftest.py)

KEY = jax.random.key(3)
# for JAX's own samplers: an rbg key compiles in a tenth of the time of a threefry one (an XLA
# RngBitGenerator, not the threefry hash unrolled over an N-D iota); the tests compare their
# distributions and structure, not their values
JAX_KEY = jax.random.key(3, impl="rbg")
HERE = os.path.dirname(os.path.abspath(__file__))
JAX_NAMES = sorted(n for n in jax.nn.initializers.__dict__ if not n.startswith("_") and n != "Initializer"
                   and callable(getattr(jax.nn.initializers, n)))


def same_bits(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a.view(np.uint8), b.view(np.uint8))


# ---------------------------------------------------------------- names, signatures, protocol

def test_every_jax_initializer_with_its_signature():
    assert "delta_orthogonal" in JAX_NAMES and "kaiming_normal" in JAX_NAMES   # the listing works
    for name in JAX_NAMES:
        ours, theirs = getattr(fj, name), getattr(jax.nn.initializers, name)
        ps, pt = inspect.signature(ours).parameters, inspect.signature(theirs).parameters
        assert [(p.name, p.kind, p.default) for p in ps.values()] == \
               [(p.name, p.kind, p.default) for p in pt.values()], name


def test_initializers_follow_jax_protocol():
    for name in JAX_NAMES:
        ours = getattr(fj, name)
        if name in ("zeros", "ones"):
            init, theirs = ours, getattr(jax.nn.initializers, name)
        else:
            args = {"constant": (1.0,), "variance_scaling": (1.0, "fan_in", "normal")}.get(name, ())
            init, theirs = ours(*args), getattr(jax.nn.initializers, name)(*args)
        assert isinstance(init, jax.nn.initializers.Initializer), name
        assert list(inspect.signature(init).parameters) == list(inspect.signature(theirs).parameters), name
        shape = (3, 4, 6) if name == "delta_orthogonal" else (4, 6)
        out = init(KEY, shape)
        assert isinstance(out, jax.Array) and out.shape == shape and out.dtype == jnp.float32, name
        assert init.scheme in fastinit.schemes(), name


# ---------------------------------------------------------------- the registry mapping, bit for bit

@pytest.mark.parametrize("shape", [(64, 32), (3, 3, 16, 8)])
def test_glorot_uniform_is_fastinit_init_with_the_keys_seed(shape):
    got = fj.glorot_uniform()(KEY, shape)
    assert same_bits(got, fastinit.init(shape, "glorot_uniform", seed=fj.seed_of(KEY)))
    assert same_bits(got, fastinit.init(shape, "glorot_uniform", seed=3))   # seed_of(key(3)) == 3


MAPPINGS = [  # (initializer, shape, registry scheme, parameters written out)
    (fj.zeros, (5, 3), "zeros", {}),
    (fj.ones, (5, 3), "ones", {}),
    (fj.constant(-7.5), (5, 3), "constant", {"val": -7.5}),
    (fj.uniform(), (50, 30), "uniform", {"low": 0.0, "high": 0.01}),
    (fj.uniform(3.0), (50, 30), "uniform", {"low": 0.0, "high": 3.0}),
    (fj.normal(), (50, 30), "normal", {"mean": 0.0, "std": 0.01}),
    (fj.normal(2.0), (50, 30), "normal", {"mean": 0.0, "std": 2.0}),
    (fj.truncated_normal(), (50, 30), "trunc_normal", {"mean": 0.0, "std": 0.01, "a": -0.02, "b": 0.02}),
    (fj.truncated_normal(0.5, lower=-1.0, upper=3.0), (50, 30), "trunc_normal",
     {"mean": 0.0, "std": 0.5, "a": -0.5, "b": 1.5}),
    (fj.truncated_normal(0.0), (5, 3), "zeros", {}),   # JAX: z * 0
    (fj.variance_scaling(2.0, "fan_geo_avg", "normal", in_axis=0, out_axis=2), (6, 5, 7), "variance_scaling",
     {"scale": 2.0, "mode": "fan_geo_avg", "distribution": "normal", "layout": "jax", "in_axis": 0, "out_axis": 2}),
    (fj.variance_scaling(1.0, "fan_out", "truncated_normal", batch_axis=0), (4, 6, 5), "variance_scaling",
     {"scale": 1.0, "mode": "fan_out", "distribution": "truncated_normal", "layout": "jax", "batch_axis": 0}),
    (fj.variance_scaling(0.5, "fan_avg", "uniform"), (6, 5), "variance_scaling",
     {"scale": 0.5, "mode": "fan_avg", "distribution": "uniform", "layout": "jax"}),
    (fj.glorot_normal(), (3, 3, 8, 16), "glorot_normal", {}),
    (fj.xavier_uniform(in_axis=(0, 1)), (3, 4, 8), "glorot_uniform", {"layout": "jax", "in_axis": (0, 1)}),
    (fj.he_uniform(), (30, 20), "he_uniform", {}),
    (fj.kaiming_normal(out_axis=0), (30, 20), "he_normal", {"layout": "jax", "out_axis": 0}),
    (fj.lecun_uniform(), (30, 20), "lecun_uniform", {}),
    (fj.lecun_normal(), (30, 20), "lecun_normal", {}),
    (fj.orthogonal(), (12, 5), "orthogonal", {}),
    (fj.orthogonal(2.0, column_axis=0), (3, 4, 5), "orthogonal", {"gain": 2.0, "layout": "jax", "column_axis": 0}),
    (fj.delta_orthogonal(0.5), (3, 3, 4, 6), "delta_orthogonal", {"gain": 0.5}),
]


@pytest.mark.parametrize("init, shape, scheme, params", MAPPINGS, ids=lambda v: getattr(v, "__name__", None))
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16, jnp.float16])
def test_initializer_equals_its_registry_scheme(init, shape, scheme, params, dtype):
    key = jax.random.fold_in(KEY, 11)
    got = init(key, shape, dtype)
    np_dtype = "bfloat16" if dtype == jnp.bfloat16 else np.dtype(dtype)
    seed = fj.seed_of(key) if fastinit.scheme(scheme).random else None
    assert same_bits(got, fastinit.init(shape, scheme, dtype=np_dtype, seed=seed, **params))
    assert init.scheme == scheme   # and the attached mapping says the same
    assert same_bits(got, fastinit.init(shape, init.scheme, dtype=np_dtype, seed=seed, **init.params))


def test_default_dtype_and_float64_follow_x64():
    assert fj.glorot_uniform()(KEY, (4, 4)).dtype == jnp.float32
    assert fj.glorot_uniform(dtype=jnp.float16)(KEY, (4, 4)).dtype == jnp.float16   # the builder's default
    assert fj.normal()(KEY, (4, 4), jnp.float64).dtype == jnp.float32   # as JAX: no float64 without x64
    with jax.enable_x64(True):
        got = fj.glorot_uniform()(KEY, (40, 30))
        assert got.dtype == jnp.float64 == jax.dtypes.canonicalize_dtype(float)   # JAX's default float
        assert same_bits(got, fastinit.init((40, 30), "glorot_uniform", dtype=np.float64, seed=3))


@pytest.mark.parametrize("dtype", [jnp.complex64, jnp.int32, "float8_e4m3fn", "not-a-dtype"])
def test_unsupported_dtypes_are_clear_errors(dtype):
    with pytest.raises(TypeError, match="float32, float64.*float16 and bfloat16"):
        fj.glorot_uniform()(KEY, (4, 4), dtype)


# ---------------------------------------------------------------- JAX's semantics (fastinit's values)

def test_jax_distribution_semantics():
    n = (400, 500)
    u = np.asarray(fj.uniform(3.0)(KEY, n))
    assert u.min() >= 0.0 and u.max() < 3.0 and abs(u.mean() - 1.5) < 0.01      # U[0, scale), JAX's
    z = np.asarray(fj.normal(2.0)(KEY, n))
    assert abs(z.mean()) < 0.02 and abs(z.std() - 2.0) < 0.01
    t = np.asarray(fj.truncated_normal(0.5, lower=-1.0, upper=3.0)(KEY, n), np.float64)
    assert t.min() >= -0.5 and t.max() <= 1.5                                   # bounds in stddev units
    pdf = [math.exp(-x * x / 2) / math.sqrt(2 * math.pi) for x in (-1.0, 3.0)]
    mass = (math.erf(3 / math.sqrt(2)) - math.erf(-1 / math.sqrt(2))) / 2
    mean = (pdf[0] - pdf[1]) / mass                                              # N(0, 1) cut to [-1, 3]
    std = math.sqrt(1 + (-1.0 * pdf[0] - 3.0 * pdf[1]) / mass - mean ** 2)
    assert abs(t.mean() - 0.5 * mean) < 0.005 and abs(t.std() - 0.5 * std) < 0.005
    neg = np.asarray(fj.truncated_normal(-0.5, lower=-1.0, upper=3.0)(KEY, n))   # JAX: z * stddev
    assert neg.min() >= -1.5 and neg.max() <= 0.5 and neg.mean() < 0


VS_SHAPE, VS_AXES, VS_FANS = (40, 6, 50, 3), dict(in_axis=0, out_axis=2, batch_axis=3), (40 * 6, 50 * 6)


@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg", "fan_geo_avg"])
@pytest.mark.parametrize("distribution", ["truncated_normal", "normal", "uniform"])
def test_variance_scaling_variance_and_bounds(mode, distribution):
    # fans from in_axis/out_axis/batch_axis, receptive field the rest; variance scale / n
    fan_in, fan_out = VS_FANS
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2,
         "fan_geo_avg": (fan_in * fan_out) ** 0.5}[mode]
    ours = np.asarray(fj.variance_scaling(2.0, mode, distribution, **VS_AXES)(KEY, VS_SHAPE))
    assert abs(ours.std() / (2.0 / n) ** 0.5 - 1) < 0.02
    bound = {"uniform": (3 * 2.0 / n) ** 0.5, "truncated_normal": 2 * (2.0 / n) ** 0.5 / 0.87962566103423978,
             "normal": np.inf}[distribution]
    assert np.abs(ours).max() <= bound * (1 + 1e-6)


def test_variance_scaling_std_matches_jax_own():
    # JAX's own initializer on the same shape and axes, every mode: the stds agree.  Axes that
    # overlap (in 1, out (1, 2)), a batch axis and a fractional receptive field (6 * 40 * 50 * 3 /
    # (40 * 2000 * 3) = 0.15: fan_in 6, fan_out 300).  "uniform" only: the mode and the fans are
    # what is compared here (the distributions are checked above)
    shape, axes = (6, 40, 50, 3), dict(in_axis=1, out_axis=(1, 2), batch_axis=3)
    assert fastinit.calculate_fans(shape, **axes) == pytest.approx((6, 300))
    for mode in ("fan_in", "fan_out", "fan_avg", "fan_geo_avg"):
        ours = np.asarray(fj.variance_scaling(2.0, mode, "uniform", **axes)(KEY, shape))
        theirs = np.asarray(jax.nn.initializers.variance_scaling(2.0, mode, "uniform", **axes)(JAX_KEY, shape))
        assert abs(ours.std() / theirs.std() - 1) < 0.03, mode


def test_fans_as_jax_with_overlapping_axes():
    # flax's Embed: variance_scaling(1.0, 'fan_in', 'normal', out_axis=0) on (vocab, features):
    # JAX's fan_in is features (receptive field prod / (in * out * batch))
    assert fastinit.calculate_fans((1000, 64), in_axis=-2, out_axis=0) == (64, 64)
    assert fastinit.calculate_fans((10, 4), in_axis=0, out_axis=0) == (4, 4)
    assert fastinit.calculate_fans((10, 4), in_axis=0, out_axis=1, batch_axis=0) == pytest.approx((1.0, 0.4))
    assert fastinit.calculate_fans((5, 2, 3, 4), batch_axis=0) == (6, 8)   # an int batch_axis of 0
    assert fastinit.calculate_fans((7,), in_axis=0, out_axis=0) == (1, 1)   # 1-D with explicit axes, as JAX
    with pytest.raises(ValueError, match="default in_axis=-2"):
        fastinit.calculate_fans((7,), out_axis=0)
    ours = np.asarray(fj.variance_scaling(1.0, "fan_in", "normal", out_axis=0)(KEY, (1000, 64)))
    assert abs(ours.std() * 8 - 1) < 0.02   # 1 / sqrt(64)


def test_orthogonal_column_axis_and_scale_as_jax():
    for shape, col, jax_too in [((3, 4, 5), 1, True), ((6, 4), 0, False), ((4, 6), -1, False), ((2, 3, 20), 0, False)]:
        inits = [(fj.orthogonal(2.0, column_axis=col), KEY)]
        inits += [(jax.nn.initializers.orthogonal(2.0, column_axis=col), JAX_KEY)] * jax_too
        for init, key in inits:
            q = np.moveaxis(np.asarray(init(key, shape), np.float64), col, -1).reshape(-1, shape[col]) / 2.0
            small = min(q.shape)
            gram = q.T @ q if q.shape[0] >= q.shape[1] else q @ q.T
            np.testing.assert_allclose(gram, np.eye(small), atol=2e-6)
    with pytest.raises(ValueError, match="2 or more dimensions"):
        fj.orthogonal()(KEY, (5,))
    with pytest.raises(ValueError, match="column_axis"):
        fj.orthogonal(column_axis=2)(KEY, (4, 5))
    with pytest.raises(ValueError, match="column_axis is for layout"):
        fastinit.init((4, 5), "orthogonal_", column_axis=0)


def test_delta_orthogonal_as_jax():
    init, theirs = fj.delta_orthogonal(1.5), jax.nn.initializers.delta_orthogonal(1.5)
    ref = np.asarray(theirs(JAX_KEY, (3, 5, 4, 4)))
    assert ref[1, 2].any() and not np.delete(ref.reshape(15, 4, 4), 1 * 5 + 2, axis=0).any()   # JAX's centre
    for shape in [(3, 4, 6), (3, 5, 4, 4), (2, 3, 3, 4, 6)]:
        ours = np.asarray(init(KEY, shape))
        centre = tuple((k - 1) // 2 for k in shape[:-2])
        rest = ours.copy()
        rest[centre] = 0
        assert not rest.any()
        m = ours[centre].astype(np.float64) / 1.5
        np.testing.assert_allclose(m @ m.T, np.eye(shape[-2]), atol=2e-6)
        # the centre is orthogonal(shape[-2:]) with the same seed
        assert same_bits(ours[centre], fj.orthogonal(1.5)(KEY, shape[-2:]))
    for bad, message in [((4, 6), "3D, 4D or 5D"), ((3, 6, 4), "`fan_in` must be less")]:
        for f in (theirs, init):
            with pytest.raises(ValueError, match=message):
                f(KEY, bad)


def test_builder_argument_errors():
    with pytest.raises(ValueError, match="invalid mode.*fan_geo_avg"):
        fj.variance_scaling(1.0, "FAN_IN", "normal")
    with pytest.raises(ValueError, match="invalid distribution.*uniform"):
        fj.variance_scaling(1.0, "fan_in", "untruncated_normal")   # a Keras name, not a JAX one
    with pytest.raises(TypeError, match="in_axis must be an int or a sequence"):
        fj.glorot_uniform(in_axis="0")
    with pytest.raises(TypeError, match="value must be a real scalar"):
        fj.constant(np.ones(3))
    with pytest.raises(TypeError, match="stddev must be a real scalar"):
        fj.normal(1j)
    with pytest.raises(ValueError, match="in_axis=5"):
        fj.glorot_uniform(in_axis=5)(KEY, (3, 4))
    with pytest.raises(ValueError, match="outside the range of float16"):
        fj.constant(1e6)(KEY, (2,), jnp.float16)
    assert np.asarray(fj.constant(jnp.float32(2.5))(None, (2,))).tolist() == [2.5, 2.5]   # key ignored


# ---------------------------------------------------------------- keys and seeds

def test_seed_of_threefry_keys_is_their_two_words():
    for s in (0, 1, 12345, 2**32 - 1):
        assert fj.seed_of(jax.random.key(s)) == s == fj.seed_of(jax.random.PRNGKey(s))
    k = jax.random.split(KEY)[1]
    w = np.asarray(jax.random.key_data(k))
    assert fj.seed_of(k) == (int(w[0]) << 32 | int(w[1]))
    assert fj.seed_of(np.asarray(jax.random.key_data(k))) == fj.seed_of(k)    # raw numpy key data
    with jax.enable_x64(True):
        assert fj.seed_of(jax.random.key(2**40 + 5)) == 2**40 + 5


@pytest.mark.parametrize("impl", ["rbg", "unsafe_rbg"])
def test_seed_of_four_word_keys_is_the_documented_philox_hash(impl):
    key = jax.random.wrap_key_data(np.array([1, 2, 3, 0xFFFFFFFF], np.uint32), impl=impl)   # (no compile)
    assert str(jax.random.key_impl(key)) == impl
    w = [int(x) for x in np.asarray(jax.random.key_data(key))]
    assert len(w) == 4
    out = fastinit.philox4x32([w], [0x6A61786B, 4])[0]
    assert fj.seed_of(key) == int(out[0]) | int(out[1]) << 32
    # one key per row of words: no JAX op, no compile (iterating over a key array would index it)
    words = np.random.default_rng(0).integers(0, 2**32, (50, 4), dtype=np.uint32)
    seeds = {fj.seed_of(jax.random.wrap_key_data(w, impl=impl)) for w in words}
    assert len(seeds) == 50
    got = fj.he_normal()(key, (20, 10))
    assert same_bits(got, fastinit.init((20, 10), "he_normal", seed=fj.seed_of(key)))


def test_bad_keys_are_clear_errors():
    with pytest.raises(ValueError, match="single key.*jax.vmap"):
        fj.glorot_uniform()(jax.random.split(KEY, 2), (3, 3))
    with pytest.raises(ValueError, match="single key"):
        fj.seed_of(jax.random.split(jax.random.PRNGKey(0), 2))
    with pytest.raises(TypeError, match="JAX PRNG key"):
        fj.seed_of("key")
    with pytest.raises(TypeError, match="concrete key"):
        jax.jit(fj.seed_of)(KEY)
    assert np.asarray(fj.zeros("ignored", (2,))).tolist() == [0, 0]   # non-random: the key is ignored


# ---------------------------------------------------------------- jit, vmap

@pytest.mark.parametrize("init, shape", [(fj.glorot_uniform(), (40, 30)), (fj.zeros, (3, 5)),
                                         (fj.orthogonal(), (6, 4)), (fj.truncated_normal(0.2), (7,))])
def test_under_jit_equals_eager(init, shape):
    eager = init(KEY, shape, jnp.bfloat16)
    assert same_bits(jax.jit(lambda k: init(k, shape, jnp.bfloat16))(KEY), eager)
    assert same_bits(jax.jit(lambda: init(KEY, shape, jnp.bfloat16))(), eager)     # a closed-over key


def test_under_vmap_each_key_initializes_alone():
    words = np.arange(8, dtype=np.uint32).reshape(4, 2)
    keys = jax.random.wrap_key_data(words)
    init = fj.he_uniform()
    want = np.stack([np.asarray(init(jax.random.wrap_key_data(w), (5, 6))) for w in words])   # (no indexing op)
    assert same_bits(jax.vmap(lambda k: init(k, (5, 6)))(keys), want)
    assert same_bits(jax.jit(jax.vmap(lambda k: init(k, (5, 6))))(keys), want)
    assert same_bits(jax.vmap(lambda k: fj.ones(k, (2,)))(keys), np.ones((4, 2), np.float32))


def test_many_threads_inside_callbacks():
    # the module runs on one thread (see one_thread); here 2 threads fill from XLA's callback
    # thread, over several 64 Ki-element chunks, and give the same values
    fastinit.set_num_threads(2)
    try:
        init, shape = fj.he_normal(), (600, 1000)
        got = jax.block_until_ready(jax.jit(lambda k: init(k, shape))(KEY))   # (dispatch is asynchronous)
        eager = init(KEY, shape)
    finally:
        fastinit.set_num_threads(1)
    want = fastinit.init(shape, "he_normal", seed=3, num_threads=1)
    assert same_bits(got, want) and same_bits(eager, want)


def test_bad_parameters_under_jit_raise_at_trace_time():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        jax.jit(lambda k: fj.glorot_uniform()(k, (5,)))(KEY)
    # orthogonal and delta_orthogonal check while they compute the whole matrix: under jit that is
    # when the function runs, and XLA's error carries fastinit's message
    with pytest.raises(Exception, match="2 or more dimensions"):
        jax.jit(lambda k: fj.orthogonal()(k, (5,)))(KEY)


# ---------------------------------------------------------------- sharding

def test_out_sharding_single_device():
    mesh = jax.make_mesh((1,), ("x",))
    want = fj.glorot_normal()(KEY, (6, 4))
    for sharding in (NamedSharding(mesh, P("x", None)), jax.sharding.SingleDeviceSharding(jax.devices()[0])):
        got = fj.glorot_normal()(KEY, (6, 4), out_sharding=sharding)
        assert got.sharding.is_equivalent_to(sharding, 2) and same_bits(got, want)
    with jax.set_mesh(mesh):
        got = fj.glorot_normal()(KEY, (6, 4), out_sharding=P("x"))
        assert same_bits(got, want) and got.sharding.mesh.shape == mesh.shape
    with pytest.raises(ValueError, match="PartitionSpec outside a mesh context.*jax.set_mesh"):
        fj.glorot_normal()(KEY, (6, 4), out_sharding=P("x"))
    with pytest.raises(TypeError, match="out_sharding must be"):
        fj.glorot_normal()(KEY, (6, 4), out_sharding="x")


def test_sharded_equals_unsharded_on_8_devices():
    """meshes (8,), (2, 4), (4, 2); specs P('x', None), P(None, 'y'), P('x', 'y'), P('y', 'x'),
    P(('x', 'y'), None), replicated; eager, under set_mesh, under jit and vmap: see the script.
    The script, a fresh process, first checks that ``import fastinit`` and a fill import no jax."""
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    run = subprocess.run([sys.executable, os.path.join(HERE, "jax_sharding_cases.py")], capture_output=True,
                         text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    count = int(run.stdout.strip().splitlines()[-1].split(": ")[1])
    assert count >= 70, run.stdout


AUTO_MESH = """
import os
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
import jax, jax.numpy as jnp, numpy as np
import flax.linen as nn
import fastinit, fastinit.jax as fj

for axis_type in (jax.sharding.AxisType.Auto, jax.sharding.AxisType.Explicit):
    mesh = jax.make_mesh((4,), ("model",), axis_types=(axis_type,))
    with jax.set_mesh(mesh):
        eager = fj.glorot_uniform()(jax.random.key(3), (16, 8))
        theirs = jax.nn.initializers.glorot_uniform()(jax.random.key(3), (16, 8))
    assert eager.sharding.is_equivalent_to(theirs.sharding, 2), (eager.sharding, theirs.sharding)
    assert np.array_equal(np.asarray(eager), fastinit.init((16, 8), "glorot_uniform", seed=fj.seed_of(jax.random.key(3))))

# Flax's with_partitioning under a mesh of Auto axes (with Explicit ones it fails for jax's own too)
mesh = jax.make_mesh((4,), ("model",), axis_types=(jax.sharding.AxisType.Auto,))
got = {}
for name, kernel_init in (("jax", jax.nn.initializers.glorot_uniform()), ("fastinit", fj.glorot_uniform())):
    class M(nn.Module):
        @nn.compact
        def __call__(self, x):
            return nn.Dense(8, kernel_init=nn.with_partitioning(kernel_init, (None, "model")))(x)
    with jax.set_mesh(mesh):
        got[name] = M().init(jax.random.key(0), jnp.ones((2, 16)))["params"]["Dense_0"]["kernel"].value
assert got["fastinit"].sharding.is_equivalent_to(got["jax"].sharding, 2), (got["fastinit"].sharding, got["jax"].sharding)
print("ok")
"""


def test_context_mesh_arrays_are_on_the_mesh_as_jaxs_own():
    """Under jax.set_mesh (Auto or Explicit axes), fastinit.jax's arrays are replicated over the mesh,
    as JAX's own initializers' are, so Flax's with_partitioning can reshard them (a single-device
    array made it fail: 'The sharding on the input must be a NamedSharding')."""
    pytest.importorskip("flax")
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    run = subprocess.run([sys.executable, "-c", AUTO_MESH], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0 and run.stdout.strip().endswith("ok"), run.stdout[-2000:] + run.stderr[-4000:]


# ---------------------------------------------------------------- Flax

def test_flax_nnx_linear_kernel_is_fastinit_init():
    nnx = pytest.importorskip("flax.nnx")
    seen = []
    init = fj.glorot_uniform()

    def spy(key, shape, dtype):
        seen.append(key)
        return init(key, shape, dtype)

    layer = nnx.Linear(24, 16, kernel_init=spy, rngs=nnx.Rngs(0))
    kernel = np.asarray(layer.kernel[...])
    assert same_bits(kernel, fastinit.init((24, 16), "glorot_uniform", seed=fj.seed_of(seen[0])))
    # flax 0.12 passes fold_in(key(seed), n) for the n-th draw of the 'params' stream
    plain = nnx.Linear(24, 16, kernel_init=fj.glorot_uniform(), rngs=nnx.Rngs(0))
    seed = fj.seed_of(jax.random.fold_in(jax.random.key(0), 0))
    assert same_bits(plain.kernel[...], fastinit.init((24, 16), "glorot_uniform", seed=seed))


def test_flax_linen_dense_eager_and_jit():
    nn = pytest.importorskip("flax.linen")
    model = nn.Dense(8, kernel_init=fj.lecun_normal(), bias_init=fj.zeros)
    x = jnp.ones((2, 5))
    eager = model.init(KEY, x)
    jitted = jax.jit(model.init)(KEY, x)
    assert same_bits(eager["params"]["kernel"], jitted["params"]["kernel"])
    assert same_bits(eager["params"]["bias"], np.zeros(8, np.float32))
    assert np.asarray(eager["params"]["kernel"]).std() > 0.1



@pytest.mark.parametrize("name", ["glorot_uniform", "lecun_normal", "orthogonal", "he_normal"])
def test_empty_shapes_eager_and_jit_agree(name):
    """(0,) has no fans: an error eagerly and under jit alike (as jax's own initializers); a
    zero-element 2-D shape is an empty array either way."""
    init = getattr(fj, name)()
    key = jax.random.key(0)
    for call in (lambda: init(key, (0,), jnp.float32), lambda: jax.jit(lambda k: init(k, (0,), jnp.float32))(key)):
        with pytest.raises(ValueError):
            call()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # (fastinit warns that a zero-element fill is a no-op)
        eager, jitted = init(key, (0, 5), jnp.float32), jax.jit(lambda k: init(k, (0, 5), jnp.float32))(key)
    assert eager.shape == jitted.shape == (0, 5)
