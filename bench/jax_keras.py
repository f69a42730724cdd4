"""Benchmarks of the JAX and Keras adapters against the frameworks' own initializers (CPU).

One section per framework: a function ``<name>(args) -> dict`` of timings, listed in SECTIONS,
with its options added by ``<name>_arguments(parser)``.  Sections run in the order given.

    python bench/jax_keras.py                       # every section
    python bench/jax_keras.py keras                 # Keras only (KERAS_BACKEND=jax)
    python bench/jax_keras.py keras --keras-inputs 4096 --keras-units 2048 --repeat 3

Times are wall-clock seconds of building the value, waited for (``block_until_ready``); "first"
includes any compilation the framework does on a first call, "best" is the best of --repeat
calls after it.  The machine may be shared: run it twice before quoting a ratio.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import time


def _timed(fn) -> float:
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _first_and_best(fn, repeat: int) -> dict:
    first = _timed(fn)
    return {"first": first, "best": min([first] + [_timed(fn) for _ in range(repeat)])}


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
              "keras": _first_and_best(build(K.initializers.GlorotUniform(seed=0)), args.repeat),
              "fastinit": _first_and_best(build(fk.GlorotUniform(seed=0)), args.repeat)}
    result["ratio_best"] = result["keras"]["best"] / result["fastinit"]["best"]
    result["ratio_first"] = result["keras"]["first"] / result["fastinit"]["first"]
    print(f"Keras Dense kernel {shape[0]} x {shape[1]} float32 (GlorotUniform, {result['threads']} threads): "
          f"Keras {result['keras']['best']:.3f} s (first {result['keras']['first']:.3f} s), "
          f"fastinit.keras {result['fastinit']['best']:.3f} s (first {result['fastinit']['first']:.3f} s): "
          f"{result['ratio_best']:.1f}x (first call {result['ratio_first']:.1f}x)")
    return result


# ---------------------------------------------------------------- driver

SECTIONS = {"keras": (keras, keras_arguments)}


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
