"""JAX / Flax NNX: a model whose kernels use fastinit.jax initializers with `out_sharding` over a
2-D device mesh.  Each device's block is filled in place at its global position (no device ever
holds a whole kernel) and the global values equal the unsharded init bit for bit, for any mesh.

Run:  python examples/jax_sharded.py      (8 CPU devices are simulated; on real devices drop XLA_FLAGS)
"""
import os

os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"   # before importing jax
import jax
import numpy as np
from flax import nnx
from jax.sharding import AxisType, PartitionSpec as P

import fastinit
import fastinit.jax


def kernel_init(init, spec):
    """fastinit initializer `init` whose result is laid out as `spec` over the current mesh (None:
    unsharded).  nnx.with_partitioning also records the names, so nnx.get_partition_spec knows them."""
    if spec is None:
        return init
    return nnx.with_partitioning(lambda key, shape, dtype=None: init(key, shape, dtype, out_sharding=P(*spec)),
                                 spec)


class MLP(nnx.Module):
    def __init__(self, din, hidden, dout, *, rngs, sharded):
        # the up kernel (din, hidden) is split over both mesh axes, the down kernel the other way
        self.up = nnx.Linear(din, hidden, rngs=rngs, bias_init=fastinit.jax.zeros,
                             kernel_init=kernel_init(fastinit.jax.he_normal(), ("data", "model") if sharded else None))
        self.down = nnx.Linear(hidden, dout, rngs=rngs, bias_init=fastinit.jax.zeros,
                               kernel_init=kernel_init(fastinit.jax.glorot_uniform(),
                                                       ("model", "data") if sharded else None))

    def __call__(self, x):
        return self.down(jax.nn.gelu(self.up(x)))


mesh = jax.make_mesh((2, 4), ("data", "model"), axis_types=(AxisType.Auto,) * 2)   # 8 devices; XLA shards the math
with jax.set_mesh(mesh):
    sharded = nnx.jit(lambda: MLP(512, 2048, 256, rngs=nnx.Rngs(0), sharded=True))()
plain = MLP(512, 2048, 256, rngs=nnx.Rngs(0), sharded=False)          # one device, whole arrays

up = sharded.up.kernel[...]
print("up kernel", up.shape, up.sharding.spec, "-> each device holds", up.addressable_shards[0].data.shape)
assert up.addressable_shards[0].data.shape == (256, 512)
assert sharded.down.kernel[...].addressable_shards[0].data.shape == (512, 128)

# The same values as the unsharded model, bit for bit ...
for layer in ("up", "down"):
    got, want = getattr(sharded, layer).kernel[...], getattr(plain, layer).kernel[...]
    assert np.array_equal(np.asarray(got), np.asarray(want)), layer
# ... and as fastinit.init with the seed of the key Flax handed the initializer (Flax 0.12: the
# n-th draw of the 'params' stream is fold_in(key(seed), n); the up kernel is draw 0).
seed = fastinit.jax.seed_of(jax.random.fold_in(jax.random.key(0), 0))
assert np.array_equal(np.asarray(up), fastinit.init((512, 2048), "he_normal", seed=seed))

# The sharded model runs as usual (jit places the computation by the parameters' shardings).
x = np.random.default_rng(0).standard_normal((16, 512), dtype=np.float32)
with jax.set_mesh(mesh):
    y = nnx.jit(lambda m, x: m(x))(sharded, x)
np.testing.assert_allclose(np.asarray(y), np.asarray(plain(x)), rtol=1e-4, atol=1e-4)
print("OK jax_sharded")
