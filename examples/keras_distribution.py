"""Keras 3 (JAX backend) with `keras.distribution.ModelParallel`: a model whose initializers are
fastinit.keras classes, built under a LayoutMap over 8 devices.  Keras hands each variable's layout
to the initializer, which fills every device's block at its global position; the weights equal the
undistributed build bit for bit.

Run:  python examples/keras_distribution.py      (8 CPU devices are simulated via XLA_FLAGS)
"""
import os

os.environ["KERAS_BACKEND"] = "jax"                                    # before importing keras
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"   # before importing jax
import keras
import numpy as np

import fastinit.keras

VOCAB, DIM, HIDDEN = 5000, 256, 1024


def build_model():
    # seed=None: Keras draws each initializer's seed from Python's random when it is created, so
    # keras.utils.set_random_seed makes the whole build reproducible (fastinit's values, Keras' API).
    keras.utils.set_random_seed(0)
    tokens = keras.Input((16,), dtype="int32")
    x = keras.layers.Embedding(VOCAB, DIM, name="embed",
                               embeddings_initializer=fastinit.keras.RandomNormal(stddev=0.02))(tokens)
    x = keras.layers.Dense(HIDDEN, activation="gelu", name="up",
                           kernel_initializer=fastinit.keras.HeNormal())(x)
    x = keras.layers.Dense(DIM, name="down", kernel_initializer=fastinit.keras.GlorotUniform())(x)
    x = keras.layers.LayerNormalization(name="norm")(x)
    return keras.Model(tokens, keras.layers.Dense(VOCAB, name="head",
                                                  kernel_initializer=fastinit.keras.LecunNormal())(x))


devices = keras.distribution.list_devices()
assert len(devices) == 8, devices
mesh = keras.distribution.DeviceMesh((2, 4), ("batch", "model"), devices)
layout_map = keras.distribution.LayoutMap(mesh)     # variable path (a regex) -> layout over the mesh
layout_map["embed/embeddings"] = (None, "model")
layout_map["up/kernel"] = ("batch", "model")        # 2-D: split over all 8 devices
layout_map["down/kernel"] = ("model", "batch")
layout_map["head/kernel"] = (None, "model")

with keras.distribution.ModelParallel(layout_map=layout_map, batch_dim_name="batch").scope():
    distributed = build_model()
plain = build_model()                               # no distribution: whole arrays on one device

up = distributed.get_layer("up").kernel.value
print("up kernel", up.shape, "-> each device holds", up.addressable_shards[0].data.shape)
assert up.addressable_shards[0].data.shape == (DIM // 2, HIDDEN // 4)
for a, b in zip(distributed.weights, plain.weights, strict=True):
    assert a.path == b.path
    assert np.array_equal(keras.ops.convert_to_numpy(a.value), keras.ops.convert_to_numpy(b.value)), a.path

# The distributed model runs as usual (inputs split along "batch").
x = np.random.default_rng(0).integers(0, VOCAB, (8, 16)).astype("int32")
np.testing.assert_allclose(distributed.predict(x, verbose=0), plain.predict(x, verbose=0), rtol=1e-4, atol=1e-4)
print(f"OK keras_distribution: {len(plain.weights)} weights equal the undistributed build")
