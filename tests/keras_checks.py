"""Checks of fastinit.keras that need a fresh process (run by tests/test_keras.py).

``python tests/keras_checks.py distributed``: JAX backend on 8 forced host devices; models under
ModelParallel (meshes (8,), (2, 4), (4, 2), kernels sharded along different axes) and DataParallel;
every variable's global value and every device's shard equal the undistributed fill bit for bit,
and each tensor is filled block by block (one fill per distinct block, none of the whole).

``KERAS_BACKEND=torch|numpy python tests/keras_checks.py backend``: a Dense kernel, dtypes and
seeds on that backend.

Every mode first checks, before importing keras, that ``import fastinit`` and a fill import neither
keras nor jax.  Prints "OK" last when every check passed.
"""
import os
import sys

MODE = sys.argv[1]
if MODE == "distributed":
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"
    os.environ["KERAS_BACKEND"] = "jax"

import numpy as np  # noqa: E402

import fastinit  # noqa: E402

# first, while this process has imported neither: import fastinit and a fill never import keras or jax
fastinit.init((4, 4), "glorot_uniform")
assert not {"keras", "jax"} & set(sys.modules), sorted({"keras", "jax"} & set(sys.modules))

import keras  # noqa: E402
import fastinit.keras as fk  # noqa: E402

# small fills: one thread spares an OpenMP team per fill (values never depend on the thread count)
fastinit.set_num_threads(1)


def bits(a) -> bytes:
    a = np.asarray(a)
    return a.dtype.str.encode() + str(a.shape).encode() + a.tobytes()


def check_backend():
    backend = keras.backend.backend()
    expected = fastinit.init((64, 32), "glorot_uniform", seed=0)
    dense = keras.layers.Dense(32, kernel_initializer=fk.GlorotUniform(seed=0))
    dense.build((None, 64))
    assert bits(keras.ops.convert_to_numpy(dense.kernel.value)) == bits(expected), backend
    for dtype in ("float32", "float16", "bfloat16", "float64"):
        value = fk.LecunNormal(seed=3)((40, 24), dtype=dtype)
        assert keras.backend.standardize_dtype(value.dtype) == dtype, (backend, dtype, value.dtype)
        want = fastinit.init((40, 24), "lecun_normal", seed=3, dtype=dtype)
        got = keras.ops.convert_to_numpy(value)
        assert bits(np.asarray(got).astype(want.dtype)) == bits(want), (backend, dtype)
    generator = keras.random.SeedGenerator(11)
    init = fk.RandomNormal(seed=generator)
    first, second = (keras.ops.convert_to_numpy(init((30,))) for _ in range(2))
    assert bits(first) == bits(fastinit.init((30,), "random_normal", seed=11))
    assert bits(second) == bits(fastinit.init((30,), "random_normal", seed=11 + (1 << 32)))
    try:
        fk.Zeros()((2, 2), layout=object())
    except ValueError as e:
        assert "JAX backend" in str(e), e
    else:
        raise AssertionError("layout= on a non-JAX backend was accepted")
    assert "fastinit._jax_host" not in sys.modules, "fastinit.keras loaded its JAX plumbing on another backend"


def check_distributed():
    import jax
    from jax.sharding import NamedSharding, PartitionSpec as P
    from keras.distribution import DataParallel, DeviceMesh, LayoutMap, ModelParallel, TensorLayout

    assert len(jax.devices()) == 8
    fills = []   # (full_shape, block shape) of every block fill
    from fastinit import _executor   # where every block of every adapter is filled
    real_block = _executor.Fill.block

    def recording_block(fill, out, bounds):
        fills.append((fill.full, out.shape))
        return real_block(fill, out, bounds)

    _executor.Fill.block = recording_block

    # (layer, weight, shape, scheme, seed); d2 is bfloat16
    specs = [("emb", "embeddings", (64, 24), "random_uniform", 1), ("d1", "kernel", (24, 32), "glorot_uniform", 2),
             ("d2", "kernel", (32, 40), "he_normal", 3), ("d3", "kernel", (40, 8), "orthogonal", 4)]

    def build():
        inp = keras.Input((16,), dtype="int32")
        x = keras.layers.Embedding(64, 24, name="emb", embeddings_initializer=fk.RandomUniform(seed=1))(inp)
        x = keras.layers.Dense(32, name="d1", kernel_initializer=fk.GlorotUniform(seed=2))(x)
        x = keras.layers.Dense(40, name="d2", kernel_initializer=fk.HeNormal(seed=3), dtype="bfloat16")(x)
        x = keras.layers.Dense(8, name="d3", kernel_initializer=fk.Orthogonal(seed=4),
                               bias_initializer=fk.Constant(0.25))(x)
        return keras.Model(inp, x)

    reference = {v.path: bits(v.value) for v in build().weights}
    expected = {f"{layer}/{weight}": fastinit.init(shape, scheme, seed=seed,
                                                   dtype="bfloat16" if layer == "d2" else None)
                for layer, weight, shape, scheme, seed in specs}
    for path, want in expected.items():
        assert reference[path] == bits(want), path

    devices = keras.distribution.list_devices()
    cases = {
        "(8,)": ((8,), ("model",), {"emb": ("model", None), "d1": (None, "model"), "d2": ("model", None),
                                    "d3": (None, "model")}),
        "(2, 4)": ((2, 4), ("batch", "model"), {"emb": (None, "model"), "d1": ("batch", "model"),
                                                "d2": ("model", None), "d3": ("model", "batch")}),
        "(4, 2)": ((4, 2), ("batch", "model"), {"emb": ("batch", "model"), "d1": (None, "batch"),
                                                "d2": ("model", "batch"), "d3": ("batch", None)}),
    }
    for label, (mesh_shape, axis_names, axes) in cases.items():
        mesh = DeviceMesh(mesh_shape, axis_names, devices)
        layout_map = LayoutMap(mesh)
        for layer, weight, *_ in specs:
            layout_map[f"{layer}/{weight}"] = axes[layer]
        fills.clear()
        with ModelParallel(layout_map=layout_map, batch_dim_name=axis_names[0]).scope():
            model = build()
            if label == "(2, 4)":   # the sharded weights work (one case: each compiles a step)
                model.predict(np.zeros((8, 16), np.int32), verbose=0)
        check_model(model, reference, {f"{layer}/{weight}": axes[layer] for layer, weight, *_ in specs}, label)
        for layer, weight, shape, scheme, _ in specs:
            spec = P(*axes[layer])
            sharding = NamedSharding(mesh.backend_mesh, spec)
            block_shape = sharding.shard_shape(shape)
            mine = [b for full, b in fills if full == shape]
            distinct = len({tuple((sl.start, sl.stop) for sl in index)
                            for index in sharding.devices_indices_map(shape).values()})
            assert mine == [block_shape] * distinct, (label, layer, mine, block_shape, distinct)

    with DataParallel(devices=devices).scope():
        model = build()
    check_model(model, reference, {}, "DataParallel")

    # standalone calls with a layout: a keras TensorLayout and a concrete jax sharding
    mesh = DeviceMesh((2, 4), ("batch", "model"), devices)
    want = bits(fastinit.init((16, 32), "glorot_normal", seed=9))
    for layout in (TensorLayout(("model", "batch"), mesh), NamedSharding(mesh.backend_mesh, P("batch", "model"))):
        value = fk.GlorotNormal(seed=9)((16, 32), layout=layout)
        assert bits(value) == want and not value.sharding.is_fully_replicated
    with jax.set_mesh(mesh.backend_mesh):   # a PartitionSpec, and a NamedSharding over the abstract mesh
        for layout in (P("model", None), NamedSharding(mesh.backend_mesh.abstract_mesh, P(None, "batch"))):
            value = fk.GlorotNormal(seed=9)((16, 32), layout=layout)
            assert bits(value) == want and value.sharding.spec == (layout if isinstance(layout, P) else layout.spec)
    # explicit axes on a 1-D shape: filled as (1, 8), the leading unit dimension added to every block too
    init = fk.GlorotUniform(seed=2, input_axes=[0], output_axes=[])
    value = init((8,), layout=TensorLayout(("model",), mesh))
    assert bits(value) == bits(init((8,))) and value.sharding.spec == P("model")
    value = fk.Zeros()((8, 4), dtype="int32", layout=TensorLayout(("model", None), mesh))   # Keras' own zeros
    assert value.dtype == np.int32 and not np.asarray(value).any() and value.sharding.spec == P("model", None)
    layout_map = LayoutMap(mesh)
    layout_map["counter"] = ("model",)
    with ModelParallel(layout_map=layout_map).scope():   # an integer variable through Keras' hook
        counter = keras.Variable(fk.Zeros(), shape=(8,), dtype="int32", name="counter")
    assert counter.value.dtype == np.int32 and not np.asarray(counter.value).any()
    assert counter.value.sharding.spec == P("model")


def check_model(model, reference, layouts, label):
    from jax.sharding import PartitionSpec as P
    for v in model.weights:
        value = v.value
        assert bits(value) == reference[v.path], (label, v.path)
        want = np.asarray(value)
        for shard in value.addressable_shards:
            assert bits(shard.data) == bits(want[shard.index]), (label, v.path, shard.index)
        spec = layouts.get(v.path)
        if spec is not None:
            assert value.sharding.spec == P(*spec), (label, v.path, value.sharding.spec)
        else:
            assert value.sharding.is_fully_replicated, (label, v.path, value.sharding)


if __name__ == "__main__":
    check_distributed() if MODE == "distributed" else check_backend()
    print("OK")
