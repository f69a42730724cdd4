"""Multi-device cases of fastinit.jax, run by tests/test_jax.py in one subprocess: 8 CPU devices
need XLA_FLAGS before jax is imported, which a pytest process that already imported jax cannot do.
Being a fresh process, it also checks first that ``import fastinit`` (and a fill) imports no jax.

Every case builds an array with out_sharding and checks, bit for bit, that its global value equals
the unsharded fastinit.jax result, that it has the sharding asked for, that each device's shard is
its slice, and (for sharded specs) that no block filled was the whole array.  Prints one line per
case, then "cases: N"; exits non-zero at the first mismatch.
"""
import os
import sys

os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"

import fastinit  # noqa: E402

# first, while this process has imported no jax: import fastinit and a fill never import it
fastinit.init((4, 4), "glorot_uniform")
assert not {"jax", "jaxlib", "flax"} & set(sys.modules), sorted({"jax", "jaxlib", "flax"} & set(sys.modules))

import jax  # noqa: E402  (after XLA_FLAGS)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax.sharding import NamedSharding, PartitionSpec as P  # noqa: E402

import fastinit.jax as fj  # noqa: E402
from fastinit import _executor  # noqa: E402

assert jax.device_count() == 8, jax.devices()
# small blocks: one thread spares an OpenMP team per fill (values never depend on the thread count)
fastinit.set_num_threads(1)

KEY = jax.random.key(42)
MESHES = {(8,): ("x",), (2, 4): ("x", "y"), (4, 2): ("x", "y")}
INITS = {
    "glorot_uniform": fj.glorot_uniform(),
    "normal": fj.normal(0.5),
    "truncated_normal": fj.truncated_normal(1.0, lower=-1.0, upper=3.0),
    "variance_scaling": fj.variance_scaling(2.0, "fan_geo_avg", "normal", in_axis=0, out_axis=-1),
    "zeros": fj.zeros,
    "orthogonal": fj.orthogonal(column_axis=0),
}
# (shape, specs for a 1-axis mesh, specs for a 2-axis mesh): sharded dims divisible (JAX requires
# it), the others odd; one row per device; narrow column blocks; one block run >= 65536 elements
SHAPES = [
    ((16, 24), [P("x", None), P(None, "x"), P()], [P("x", None), P(None, "y"), P("x", "y"), P("y", "x"), P()]),
    ((8, 7), [P("x", None), P()], [P("x", None), P(("x", "y"), None), P()]),
    ((3, 5, 8), [P(None, None, "x")], [P(None, None, "y"), P(None, None, ("x", "y"))]),
    ((8, 4 * 65536), [P("x", None)], [P(None, "y"), P("x", "y")]),
]


def check(name, init, shape, sharding, label, dtype=jnp.float32, jit=False):
    want = np.asarray(init(KEY, shape, dtype))
    blocks = []
    real_block = _executor.Fill.block   # every block fill: fastinit.jax's under jit, fastinit._jax_host's eagerly

    def spy(fill, out, bounds):
        blocks.append(out.size)
        return real_block(fill, out, bounds)

    _executor.Fill.block = spy
    try:
        if jit:
            got = jax.jit(lambda k: init(k, shape, dtype, out_sharding=sharding))(KEY)
        else:
            got = init(KEY, shape, dtype, out_sharding=sharding)
        # JAX dispatches asynchronously: under jit the callbacks may still be running when the
        # call returns, and must see the spy, not the restored function
        got = jax.block_until_ready(got)
    finally:
        _executor.Fill.block = real_block
    where = f"{name} {shape} {np.dtype(dtype).name} {label}{' jit' if jit else ''}"
    if isinstance(sharding, P):
        concrete = NamedSharding(jax.sharding.get_mesh(), sharding)
    elif isinstance(sharding.mesh, jax.sharding.AbstractMesh):
        concrete = NamedSharding(jax.sharding.get_mesh(), sharding.spec)
    else:
        concrete = sharding
    assert got.sharding.is_equivalent_to(concrete, len(shape)), (where, got.sharding)
    assert got.dtype == want.dtype, (where, got.dtype)
    assert np.array_equal(np.asarray(got).view(np.uint8), want.view(np.uint8)), where
    for shard in got.addressable_shards:
        assert np.array_equal(np.asarray(shard.data).view(np.uint8), want[shard.index].view(np.uint8)), (where, shard.index)
    if not concrete.is_fully_replicated and not fastinit.scheme(init.scheme).whole_tensor:
        whole = int(np.prod(shape))
        assert blocks and max(blocks) < whole, (where, "a block as big as the whole array was filled", blocks)
    if not jit and not fastinit.scheme(init.scheme).whole_tensor:   # (under jit: one callback per device)
        distinct = {tuple((i.start, i.stop) for i in index) for index in concrete.devices_indices_map(shape).values()}
        assert len(blocks) == len(distinct), (where, "each distinct block is filled once", len(blocks), len(distinct))
    print("ok", where, flush=True)


def main():
    count, others = 0, [n for n in INITS if n != "glorot_uniform"]
    for mesh_shape, axes in MESHES.items():
        mesh = jax.make_mesh(mesh_shape, axes)
        for shape, specs1, specs2 in SHAPES:
            for spec in (specs1 if len(axes) == 1 else specs2):
                # glorot_uniform on every case, and the other initializers in turn (all of them
                # meet every mesh); the long-run shape once per mesh and spec
                names = ["glorot_uniform"] + ([] if shape[1] > 4096 else [others[count % len(others)]])
                for name in names:
                    check(name, INITS[name], shape, NamedSharding(mesh, spec), f"mesh{mesh_shape} {spec}")
                    count += 1
        # PartitionSpec under a mesh context, as jax.nn.initializers accept it; bfloat16; delta_orthogonal
        with jax.set_mesh(mesh):
            check("glorot_normal", fj.glorot_normal(), (16, 24), P(axes[0], None), f"set_mesh{mesh_shape} P")
            check("he_uniform", fj.he_uniform(), (16, 24), P(None, axes[-1]), f"set_mesh{mesh_shape} P",
                  dtype=jnp.bfloat16)
        check("delta_orthogonal", fj.delta_orthogonal(), (3, 3, 8, 8), NamedSharding(mesh, P(None, None, None, axes[-1])),
              f"mesh{mesh_shape}")
        count += 3
    # under jit: a shard_map whose per-device callbacks fill the device's block
    mesh = jax.make_mesh((2, 4), ("x", "y"))
    with jax.set_mesh(mesh):   # a NamedSharding over the abstract mesh (as Keras passes it), eagerly
        check("lecun_uniform", fj.lecun_uniform(), (16, 24), NamedSharding(mesh.abstract_mesh, P("y", None)),
              "abstract mesh(2, 4)")
        count += 1
    # replicas share one host buffer, filled once: a computation that donates the array must not
    # write into it (XLA does not donate a buffer a host array owns; each device computes alone)
    replicated = fj.normal(0.5)(KEY, (16, 24), out_sharding=NamedSharding(mesh, P()))
    doubled = jax.jit(lambda t: t * 2, donate_argnums=0)(replicated)
    want = np.asarray(fj.normal(0.5)(KEY, (16, 24))) * 2
    for shard in doubled.addressable_shards:
        assert np.array_equal(np.asarray(shard.data), want), ("donated replicas", shard.device)
    print("ok donated replicated array: every device's result is its own", flush=True)
    count += 1
    for name, spec in (("glorot_uniform", P("x", "y")), ("zeros", P(None, "y")), ("normal", P(("x", "y"), None)),
                       ("orthogonal", P("x", None)), ("truncated_normal", P())):
        check(name, INITS[name], (16, 24), NamedSharding(mesh, spec), f"mesh(2, 4) {spec}", jit=True)
        count += 1
    with jax.set_mesh(mesh):
        check("lecun_normal", fj.lecun_normal(), (8, 12), P("y", "x"), "set_mesh(2, 4) P", jnp.bfloat16, jit=True)
        count += 1
    # vmap over keys under jit, with out_sharding: each key's array as if initialized alone
    words = np.random.default_rng(1).integers(0, 2**32, (3, 2), dtype=np.uint32)   # 3 keys; no indexing ops
    ns = NamedSharding(mesh, P("x", "y"))
    got = np.asarray(jax.jit(jax.vmap(lambda k: fj.glorot_uniform()(k, (16, 24), out_sharding=ns)))(
        jax.random.wrap_key_data(words)))
    for i, w in enumerate(words):
        alone = fj.glorot_uniform()(jax.random.wrap_key_data(w), (16, 24))
        assert np.array_equal(got[i], np.asarray(alone)), ("vmap", i)
    print("ok vmap glorot_uniform (16, 24) under jit with", ns.spec, flush=True)
    count += 1
    # shards must be even (JAX's rule): a clear error eagerly (JAX's) and under jit (ours), nothing built
    for run in (lambda: fj.normal()(KEY, (10, 6), out_sharding=ns),
                lambda: jax.jit(lambda k: fj.normal()(k, (10, 6), out_sharding=ns))(KEY)):
        try:
            run()
        except ValueError as e:
            assert "evenly divide" in str(e) or "does not divide" in str(e), e
        else:
            raise AssertionError("uneven shards were accepted")
    print("ok uneven shards (10, 6) on mesh (2, 4) P('x', 'y'): errors", flush=True)
    # Flax: nnx.with_partitioning around an initializer given out_sharding, under nnx.jit
    try:
        from flax import nnx
    except ImportError:
        nnx = None
    if nnx is not None:
        init = fj.glorot_uniform()
        kernel_init = nnx.with_partitioning(lambda k, s, d=None: init(k, s, d, out_sharding=P("x", "y")), ("x", "y"))
        with jax.set_mesh(mesh):
            layer = nnx.jit(lambda: nnx.Linear(16, 32, kernel_init=kernel_init, rngs=nnx.Rngs(0)))()
        kernel = layer.kernel[...]
        want = fastinit.init((16, 32), "glorot_uniform", seed=fj.seed_of(jax.random.fold_in(jax.random.key(0), 0)))
        assert kernel.sharding.spec == P("x", "y") and np.array_equal(np.asarray(kernel), want)
        print("ok flax nnx.Linear with_partitioning + out_sharding under nnx.jit, mesh (2, 4)", flush=True)
        count += 1
    print(f"cases: {count}")


if __name__ == "__main__":
    sys.exit(main())
