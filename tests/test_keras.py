"""fastinit.keras: Keras' classes, arguments, defaults and seeding; values equal fastinit.init bit for bit;
serialization; other backends, keras.distribution and that ``import fastinit`` imports neither keras
nor jax in subprocesses (tests/keras_checks.py)."""
import inspect
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fastinit

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")
import fastinit.keras as fk  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")   # small fills (see conftest.py)

CHECKS = Path(__file__).with_name("keras_checks.py")

# class -> (fastinit scheme, its parameters for the class's defaults)
RANDOM = {
    "GlorotUniform": ("glorot_uniform", {}), "GlorotNormal": ("glorot_normal", {}),
    "HeUniform": ("he_uniform", {}), "HeNormal": ("he_normal", {}),
    "LecunUniform": ("lecun_uniform", {}), "LecunNormal": ("lecun_normal", {}),
    "VarianceScaling": ("variance_scaling", dict(scale=1.0, mode="fan_in", distribution="truncated_normal",
                                                 layout="keras")),
    "RandomUniform": ("random_uniform", dict(minval=-0.05, maxval=0.05)),
    "RandomNormal": ("random_normal", dict(mean=0.0, stddev=0.05)),
    "TruncatedNormal": ("truncated_normal", dict(mean=0.0, stddev=0.05)),
    "Orthogonal": ("orthogonal", dict(gain=1.0)),
}
CONSTANT = {"Identity": ("identity", dict(gain=1.0)), "Zeros": ("zeros", {}), "Ones": ("ones", {}),
            "Constant": ("constant", dict(val=0.0))}
ALL = {**RANDOM, **CONSTANT}


def host(value) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(value))


def same_bits(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.fixture(scope="module", autouse=True)
def subprocesses(request):
    """The fresh-process checks whose tests are selected, started with the module (they run while the
    in-process tests do) and awaited by their own tests."""
    selected = {item.name for item in request.session.items}
    procs = {}
    for name, mode, backend, test in (("distributed", "distributed", "jax", "test_distributed_jax_8_devices"),
                                      ("torch", "backend", "torch", "test_other_backends[torch]"),
                                      ("numpy", "backend", "numpy", "test_other_backends[numpy]")):
        if test not in selected or (backend == "torch" and not _installed("torch")):
            continue
        env = {**os.environ, "KERAS_BACKEND": backend}
        procs[name] = subprocess.Popen([sys.executable, str(CHECKS), mode], env=env, text=True,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    yield procs
    for p in procs.values():
        if p.poll() is None:
            p.kill()
            p.wait()


def _installed(module: str) -> bool:
    import importlib.util
    return importlib.util.find_spec(module) is not None


def _await(procs, name):
    if name not in procs:
        pytest.skip(f"{name} is not installed")   # (selected tests always have their process)
    out, err = procs[name].communicate(timeout=300)
    assert procs[name].returncode == 0 and out.strip().endswith("OK"), f"{out}\n{err}"


@pytest.mark.parametrize("name", sorted(ALL))
def test_subclass_of_keras_class_with_same_arguments(name):
    ours, theirs = getattr(fk, name), getattr(keras.initializers, name)
    assert issubclass(ours, theirs) and issubclass(ours, keras.initializers.Initializer)
    params = lambda f: [(p.name, p.default) for p in inspect.signature(f).parameters.values()]  # noqa: E731
    assert params(ours.__init__) == params(theirs.__init__)
    # __call__: Keras' (shape, dtype=None), plus layout=None, the hook Keras' JAX backend looks for
    assert params(ours.__call__) == params(theirs.__call__) + [("layout", None)]


@pytest.mark.parametrize("name", sorted(RANDOM))
def test_int_seed_is_fastinit_init_every_call(name):
    scheme, params = RANDOM[name]
    shape = (48, 20)
    init = getattr(fk, name)(seed=5)
    want = fastinit.init(shape, scheme, seed=5, **params)
    assert same_bits(host(init(shape)), want)
    assert same_bits(host(init(shape)), want)     # as Keras: an int seed repeats
    assert not same_bits(host(getattr(fk, name)(seed=6)(shape)), want)


@pytest.mark.parametrize("name", sorted(CONSTANT))
def test_constants_equal_keras(name):
    scheme, params = CONSTANT[name]
    ours, theirs = getattr(fk, name)(), getattr(keras.initializers, name)()
    assert same_bits(host(ours((5, 7))), host(theirs((5, 7))))
    for dtype in ("float32", "bfloat16", "float16"):
        got = host(ours((5, 7), dtype=dtype))
        assert keras.backend.standardize_dtype(got.dtype) == dtype
        assert same_bits(got, fastinit.init((5, 7), scheme, dtype=dtype, **params))


def test_constant_and_identity_arguments():
    # Keras: cast(value, dtype) * ones and gain * eye(dtype), exact in float32
    assert same_bits(host(fk.Constant(0.1)((3, 4))), np.full((3, 4), 0.1, np.float32))
    assert same_bits(host(fk.Identity(gain=2.5)((3, 4))), np.float32(2.5) * np.eye(3, 4, dtype=np.float32))
    with pytest.raises(ValueError, match="2D"):
        fk.Identity()((3, 4, 5))


def test_degenerate_arguments_as_keras():
    # stddev=0 gives the mean; a negative stddev the same distribution as |stddev| (Keras scales a unit sample)
    for cls in ("TruncatedNormal", "RandomNormal"):
        assert same_bits(host(getattr(fk, cls)(mean=0.5, stddev=0.0, seed=1)((3,))), np.full(3, 0.5, np.float32))
        assert same_bits(host(getattr(fk, cls)(stddev=-0.2, seed=1)((50,))),
                         host(getattr(fk, cls)(stddev=0.2, seed=1)((50,))))
    generator = keras.random.SeedGenerator(2)
    fk.TruncatedNormal(stddev=0.0, seed=generator)((3,))
    assert host(generator.state.value).tolist() == [2, 1]   # drawn, as Keras draws it
    assert same_bits(host(fk.RandomUniform(0.5, 0.5, seed=1)((3,))), np.full(3, 0.5, np.float32))


def test_keras_cases_left_to_keras():
    # integer variables (a step counter) and a non-scalar Constant, which Keras broadcasts
    assert same_bits(host(fk.Zeros()((3,), dtype="int32")), host(keras.initializers.Zeros()((3,), dtype="int32")))
    assert same_bits(host(fk.Ones()((3,), dtype="int64")), host(keras.initializers.Ones()((3,), dtype="int64")))
    value = [1.0, 2.0, 3.0]
    assert same_bits(host(fk.Constant(value)((2, 3))), host(keras.initializers.Constant(value)((2, 3))))


def test_variance_scaling_arguments():
    shape = (3, 3, 16, 24)
    for mode in ("fan_in", "fan_out", "fan_avg"):
        for distribution, fi_distribution in (("normal", "truncated_normal"), ("truncated_normal", "truncated_normal"),
                                              ("untruncated_normal", "untruncated_normal"), ("uniform", "uniform")):
            got = host(fk.VarianceScaling(2.0, mode, distribution, seed=1)(shape))
            want = fastinit.init(shape, "variance_scaling", seed=1, scale=2.0, mode=mode,
                                 distribution=fi_distribution, layout="keras")
            assert same_bits(got, want), (mode, distribution)
    with pytest.raises(ValueError, match="scale"):
        fk.VarianceScaling(scale=0.0)


def test_explicit_axes_follow_keras_fans():
    # Keras: fan_in = prod(shape[input_axes]), fan_out = prod(shape[output_axes]), no receptive field
    limit = lambda fan_in, fan_out: np.sqrt(6.0 / (fan_in + fan_out))  # noqa: E731
    for shape, ins, outs, fans in (((30, 40, 50), [0], [1, 2], (30, 2000)), ((30, 40, 50), [-1], [0], (50, 30)),
                                   ((4000,), [0], [], (4000, 1)), ((), [], [], (1, 1))):
        got = host(fk.GlorotUniform(seed=2, input_axes=ins, output_axes=outs)(shape))
        a = limit(*fans)
        assert got.shape == shape and np.abs(got).max() <= a and (got.size < 100 or np.abs(got).max() > 0.95 * a)
        # the same elements as the plain fill, only the bound differs: one Philox stream per seed
        plain = fastinit.init(shape, "random_uniform", seed=2, minval=-a, maxval=a)
        np.testing.assert_allclose(got, plain, rtol=1e-6, atol=0)
    with pytest.raises(ValueError, match="input_axes"):
        fk.GlorotUniform(seed=0, input_axes=[3], output_axes=[0])((4, 5))


def test_einsum_dense_sets_axes_as_for_keras():
    layer = keras.layers.EinsumDense("ab,bcd->acd", output_shape=(4, 8), kernel_initializer=fk.GlorotUniform(seed=3))
    layer.build((None, 16))
    want = fastinit.init((16, 4, 8), "glorot_uniform", seed=3, in_axis=[0], out_axis=[1, 2], batch_axis=[])
    assert same_bits(host(layer.kernel.value), want)


def test_dense_kernel():
    dense = keras.layers.Dense(32, kernel_initializer=fk.GlorotUniform(seed=0))
    dense.build((None, 64))
    assert same_bits(host(dense.kernel.value), fastinit.init((64, 32), "glorot_uniform", seed=0))


def test_seed_none_as_keras_drawn_once_from_python_random():
    shape = (40, 30)
    keras.utils.set_random_seed(5)
    a, a_next = fk.HeUniform(), fk.HeUniform()
    keras.utils.set_random_seed(5)
    b = fk.HeUniform()
    assert isinstance(a.seed, int) and a.seed == b.seed
    first = host(a(shape))
    assert same_bits(first, host(a(shape))) and same_bits(first, host(b(shape)))   # Keras: repeats per instance
    assert same_bits(first, fastinit.init(shape, "he_uniform", seed=a.seed))
    assert not same_bits(first, host(a_next(shape)))


def test_seed_generator_fresh_per_call():
    generator = keras.random.SeedGenerator(7)
    init = fk.TruncatedNormal(stddev=0.1, seed=generator)
    first, second = host(init((100,))), host(init((100,)))
    assert same_bits(first, host(fk.TruncatedNormal(stddev=0.1, seed=7)((100,))))   # state [7, 0] -> seed 7
    assert same_bits(second, fastinit.init((100,), "truncated_normal", seed=7 + (1 << 32), stddev=0.1))
    assert host(generator.state.value).tolist() == [7, 2]
    with pytest.raises(ValueError, match="seed"):
        fk.GlorotUniform(seed="7")


def test_dtypes_follow_keras():
    shape = (24, 16)
    for dtype in ("float32", "float16", "bfloat16", "float64"):
        got = fk.GlorotNormal(seed=4)(shape, dtype=dtype)
        # the backend's tensor of that dtype (JAX makes float64 float32 unless jax_enable_x64, as for Keras' own)
        backend_dtype = keras.ops.convert_to_tensor(np.zeros(1, np.float32), dtype=dtype).dtype
        assert keras.backend.standardize_dtype(got.dtype) == keras.backend.standardize_dtype(backend_dtype)
        if keras.backend.standardize_dtype(got.dtype) == dtype:
            assert same_bits(host(got), fastinit.init(shape, "glorot_normal", seed=4, dtype=dtype))
    floatx = keras.config.floatx()
    try:
        keras.config.set_floatx("float16")
        assert keras.backend.standardize_dtype(fk.HeNormal(seed=0)(shape).dtype) == "float16"
    finally:
        keras.config.set_floatx(floatx)
    with pytest.raises(ValueError, match="float32, float64, float16 and bfloat16; got dtype=int32"):
        fk.RandomUniform(seed=0)(shape, dtype="int32")
    with pytest.raises(TypeError, match="layout must be"):
        fk.RandomUniform(seed=0)(shape, layout="model")


@pytest.mark.parametrize("name", sorted(ALL))
def test_config_round_trip(name):
    cls = getattr(fk, name)
    init = cls(seed=keras.random.SeedGenerator(3)) if name in RANDOM else cls()
    config = init.get_config()
    assert cls.from_config(config).get_config() == config
    serialized = keras.initializers.serialize(init)
    assert serialized["registered_name"] == f"fastinit>{name}"
    again = keras.initializers.deserialize(serialized)
    assert type(again) is cls and again.get_config() == config
    if name != "Constant":   # by name, e.g. kernel_initializer="fastinit>HeNormal" (Keras' Constant needs a value)
        assert type(keras.initializers.get(f"fastinit>{name}")) is cls


def test_saved_model_loads_again(tmp_path):
    inp = keras.Input((64,))
    x = keras.layers.Dense(32, kernel_initializer=fk.GlorotUniform(seed=0), bias_initializer=fk.Constant(0.5))(inp)
    x = keras.layers.Dense(16, kernel_initializer=fk.VarianceScaling(2.0, "fan_out", "uniform", seed=1))(x)
    x = keras.layers.Dense(8, kernel_initializer=fk.Orthogonal(gain=2.0, seed=2))(x)
    model = keras.Model(inp, x)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    for before, after in zip(model.layers[1:], loaded.layers[1:]):
        assert type(after.kernel_initializer) is type(before.kernel_initializer)
        assert after.kernel_initializer.get_config() == before.kernel_initializer.get_config()
        for v, w in zip(before.weights, after.weights):
            assert same_bits(host(v.value), host(w.value))
    assert type(loaded.layers[1].bias_initializer) is fk.Constant
    rebuilt = keras.Model.from_config(model.get_config())   # rebuilt from config: the same values again
    for v, w in zip(model.weights, rebuilt.weights):
        assert same_bits(host(v.value), host(w.value))


def test_saved_model_without_fastinit_keras_fails_loudly(tmp_path):
    """Loaded where fastinit.keras was never imported, a saved fastinit initializer must not turn
    into Keras' class of the same name (other values, silently): the load fails and says why."""
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4, kernel_initializer=fk.HeNormal(seed=3))])
    path = tmp_path / "m.keras"
    model.save(path)
    code = f"import keras; keras.saving.load_model({str(path)!r})"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "KERAS_BACKEND": keras.backend.backend()})
    assert out.returncode != 0 and "import fastinit.keras before loading" in out.stderr, out.stderr[-2000:]
    with_fastinit = subprocess.run([sys.executable, "-c", "import fastinit.keras; " + code + "; print('ok')"],
                                   capture_output=True, text=True, timeout=300,
                                   env={**os.environ, "KERAS_BACKEND": keras.backend.backend()})
    assert with_fastinit.stdout.split()[-1:] == ["ok"], with_fastinit.stderr[-2000:]


def test_distributed_jax_8_devices(subprocesses):
    """ModelParallel on meshes (8,), (2, 4), (4, 2) and DataParallel: see tests/keras_checks.py."""
    _await(subprocesses, "distributed")


@pytest.mark.parametrize("backend", ["torch", "numpy"])
def test_other_backends(subprocesses, backend):
    """A Dense kernel, dtypes, seeds on that backend; and, first, that ``import fastinit`` and a fill
    import neither keras nor jax (each of these fresh processes checks it before importing keras)."""
    _await(subprocesses, backend)
