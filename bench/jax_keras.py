"""Benchmarks of the JAX and Keras adapters against the frameworks' own initializers (CPU).

One section per framework: a function ``<name>(args) -> dict`` of timings, listed in SECTIONS,
with its options added by ``<name>_arguments(parser)``.  Sections run in the order given.

    python bench/jax_keras.py                       # every section
    python bench/jax_keras.py keras                 # Keras only (KERAS_BACKEND=jax)
    python bench/jax_keras.py keras --keras-inputs 4096 --keras-units 2048 --repeat 3
    python bench/jax_keras.py jax --jax-gb 0.5 --repeat 1   # JAX only, a 0.5 GB parameter

Times are wall-clock seconds of building the value, waited for (``block_until_ready``); "first"
includes any compilation the framework does on a first call, "best" is the best of --repeat
calls after it.  The machine may be shared: run it twice before quoting a ratio.
"""
from __future__ import annotations

import argparse
import json
import os

from fastinit.bench.measure import first_and_best


# ---------------------------------------------------------------- Keras (JAX backend)

def keras_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--keras-inputs", type=int, default=16384, help="Dense input width (default 16384)")
    parser.add_argument("--keras-units", type=int, default=8192, help="Dense units (default 8192)")


def keras(args) -> dict:
    """keras.layers.Dense(units).build((None, inputs)) with kernel_initializer Keras' own
    GlorotUniform(seed=0) vs fastinit.keras.GlorotUniform(seed=0), JAX backend on the CPU."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras as K

    import fastinit
    import fastinit.keras as fk

    if K.backend.backend() != "jax":
        raise SystemExit(f"the Keras section runs with KERAS_BACKEND=jax; Keras' backend is {K.backend.backend()!r}")
    shape = (args.keras_inputs, args.keras_units)

    def build(initializer):
        def run():
            layer = K.layers.Dense(args.keras_units, kernel_initializer=initializer)
            layer.build((None, args.keras_inputs))
            layer.kernel.value.block_until_ready()
        return run

    result = {"shape": list(shape), "dtype": "float32", "threads": fastinit.get_num_threads(),
              "keras": first_and_best(build(K.initializers.GlorotUniform(seed=0)), args.repeat),
              "fastinit": first_and_best(build(fk.GlorotUniform(seed=0)), args.repeat)}
    result["ratio_best"] = result["keras"]["best"] / result["fastinit"]["best"]
    result["ratio_first"] = result["keras"]["first"] / result["fastinit"]["first"]
    print(f"Keras Dense kernel {shape[0]} x {shape[1]} float32 (GlorotUniform, {result['threads']} threads): "
          f"Keras {result['keras']['best']:.3f} s (first {result['keras']['first']:.3f} s), "
          f"fastinit.keras {result['fastinit']['best']:.3f} s (first {result['fastinit']['first']:.3f} s): "
          f"{result['ratio_best']:.1f}x (first call {result['ratio_first']:.1f}x)")
    return result


# ---------------------------------------------------------------- JAX

JAX_SCHEMES = ("glorot_uniform", "normal", "truncated_normal")


def jax_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--jax-gb", type=float, default=2.0,
                        help="size of the float32 parameter in GiB (default 2: 512 Mi values)")
    parser.add_argument("--jax-schemes", default=",".join(JAX_SCHEMES),
                        help=f"comma-separated jax.nn.initializers names (default {','.join(JAX_SCHEMES)})")
    parser.add_argument("--jax-jit-side", type=int, default=4096,
                        help="side of the square parameter of the jit-vs-eager timing (default 4096)")


def jax(args) -> dict:
    """fastinit.jax.<name>()(key, shape) vs jax.nn.initializers.<name>()(key, shape) for a
    (rows, 8192) float32 parameter of --jax-gb GiB on the CPU backend (both eager: JAX runs its
    compiled sampler, fastinit fills on the host and hands the buffer to JAX without a copy);
    then fastinit.jax eager vs inside jax.jit (a host callback whose result XLA copies) for a
    --jax-jit-side square parameter, with JAX's own jit for reference."""
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import resource

    import jax as J
    import jax.numpy as jnp

    import fastinit
    import fastinit.jax as fj

    cols = 8192
    rows = max(1, int(args.jax_gb * 2**30 / 4 / cols))
    shape, key = (rows, cols), J.random.key(0)
    builders = {"normal": lambda m: m.normal(1.0), "truncated_normal": lambda m: m.truncated_normal(1.0)}
    result = {"shape": list(shape), "dtype": "float32", "threads": fastinit.get_num_threads(),
              "backend": J.default_backend(), "schemes": {}}

    def timer(init, k=key, s=shape):
        return lambda: init(k, s, jnp.float32).block_until_ready()

    for name in args.jax_schemes.split(","):
        make = builders.get(name, lambda m, name=name: getattr(m, name)())
        # one at a time, each result dropped before the next; fastinit first, so the process's peak
        # RSS after it (first scheme) is fastinit's own
        row = {"fastinit": first_and_best(timer(make(fj)), args.repeat)}
        row["fastinit"]["peak_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        row["jax"] = first_and_best(timer(make(J.nn.initializers)), args.repeat)
        row["jax"]["peak_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        row["ratio_best"] = row["jax"]["best"] / row["fastinit"]["best"]
        result["schemes"][name] = row
        print(f"JAX {name} {rows} x {cols} float32 ({rows * cols * 4 / 2**30:.2f} GiB, {result['threads']} threads): "
              f"jax.nn.initializers {row['jax']['best']:.3f} s (first {row['jax']['first']:.3f} s), "
              f"fastinit.jax {row['fastinit']['best']:.3f} s (first {row['fastinit']['first']:.3f} s): "
              f"{row['ratio_best']:.1f}x; process peak RSS {row['fastinit']['peak_rss_gib']:.1f} GiB after fastinit, "
              f"{row['jax']['peak_rss_gib']:.1f} GiB after JAX", flush=True)

    side = (args.jax_jit_side, args.jax_jit_side)
    ours, theirs = fj.glorot_uniform(), J.nn.initializers.glorot_uniform()
    jit_ours = J.jit(lambda k: ours(k, side, jnp.float32))
    jit_theirs = J.jit(lambda k: theirs(k, side, jnp.float32))
    jit = {"shape": list(side),
           "fastinit_eager": first_and_best(timer(ours, s=side), args.repeat),
           "fastinit_jit": first_and_best(lambda: jit_ours(key).block_until_ready(), args.repeat),
           "jax_eager": first_and_best(timer(theirs, s=side), args.repeat),
           "jax_jit": first_and_best(lambda: jit_theirs(key).block_until_ready(), args.repeat)}
    result["jit"] = jit
    print(f"JAX glorot_uniform {side[0]} x {side[1]} float32, best (first): fastinit.jax eager "
          f"{jit['fastinit_eager']['best']:.4f} s ({jit['fastinit_eager']['first']:.4f}), in jit "
          f"{jit['fastinit_jit']['best']:.4f} s ({jit['fastinit_jit']['first']:.4f}); jax.nn.initializers eager "
          f"{jit['jax_eager']['best']:.4f} s ({jit['jax_eager']['first']:.4f}), in jit "
          f"{jit['jax_jit']['best']:.4f} s ({jit['jax_jit']['first']:.4f})", flush=True)
    return result


# ---------------------------------------------------------------- driver

SECTIONS = {"keras": (keras, keras_arguments), "jax": (jax, jax_arguments)}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sections", nargs="*", metavar="section",
                        help=f"which to run, of {', '.join(SECTIONS)} (default: all)")
    parser.add_argument("--repeat", type=int, default=3, help="timed calls after the first (default 3)")
    parser.add_argument("--json", help="also write the results to this file")
    for _, add_arguments in SECTIONS.values():
        add_arguments(parser)
    args = parser.parse_args(argv)
    unknown = [s for s in args.sections if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    if args.repeat < 0:
        parser.error("--repeat must be >= 0")
    results = {name: SECTIONS[name][0](args) for name in (args.sections or SECTIONS)}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == "__main__":
    main()
