"""Build a transformers Llama (~0.5 B parameters by default) from a config four ways and report the
time and peak memory of each, side by side:

  allocation only   transformers' no_init_weights(), then every parameter zeroed: the build
                    without any init, its fresh memory faulted in (the floor: every way pays it)
  torch             a plain build: torch's resets, then transformers' _init_weights
  patch()           the same build under fastinit.torch.patch()
  meta+materialize  built on the meta device, then fastinit.torch.materialize(model, seed)

"init" is a way's time minus the allocation-only time; the ratio compares it with torch's.  Each
way runs in a fresh process (peak RSS is that process's), --repeat times; medians are reported.

    python bench/torch_models.py                     # ~0.47 B parameters, float32 (~1.9 GB a model)
    python bench/torch_models.py --layers 4 --repeat 1
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from fastinit.bench import measure, report

WAYS = ["allocation only", "torch", "patch()", "meta+materialize"]

CHILD = r"""
import json, resource, sys, time, warnings
import torch
from transformers import LlamaConfig, LlamaForCausalLM
import transformers.initialization as hf_init
import fastinit.torch as ft

way, config = sys.argv[1], LlamaConfig(**json.loads(sys.argv[2]))
start = time.perf_counter()
if way == "allocation only":
    with hf_init.no_init_weights():
        model = LlamaForCausalLM(config)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
elif way == "torch":
    model = LlamaForCausalLM(config)
elif way == "patch()":
    with ft.patch():
        model = LlamaForCausalLM(config)
else:
    with torch.device("meta"):
        model = LlamaForCausalLM(config)
    with warnings.catch_warnings():
        warnings.simplefilter("error")        # nothing may be left unwritten
        ft.materialize(model, seed=0)
seconds = time.perf_counter() - start
params = sum(p.numel() for p in model.parameters())
print(json.dumps({"seconds": seconds, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "params": params}))
"""


def config_of(args) -> dict:
    return dict(vocab_size=args.vocab, hidden_size=args.hidden, intermediate_size=args.intermediate,
                num_hidden_layers=args.layers, num_attention_heads=args.heads, num_key_value_heads=args.heads,
                max_position_embeddings=2048, tie_word_embeddings=False)


def run(way: str, config: dict) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, way, json.dumps(config)], capture_output=True, text=True,
                         timeout=3600)
    if out.returncode != 0:
        raise SystemExit(f"{way} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--layers", type=int, default=24)
    parser.add_argument("--hidden", type=int, default=1024)
    parser.add_argument("--intermediate", type=int, default=4096)
    parser.add_argument("--heads", type=int, default=16)
    parser.add_argument("--vocab", type=int, default=32000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each way (interleaved); medians reported")
    parser.add_argument("--json", metavar="PATH", help="also write the results here")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    config = config_of(args)
    # interleaved, so a slow spell hits every way alike
    results = measure.rounds({way: (lambda way=way: run(way, config)) for way in WAYS}, args.repeat)
    med = {way: {k: measure.Times(r[k] for r in rs).median for k in ("seconds", "peak_mib")}
           for way, rs in results.items()}
    floor = med["allocation only"]["seconds"]
    torch_init = med["torch"]["seconds"] - floor
    params = results["torch"][0]["params"]
    print(f"transformers LlamaForCausalLM, {params / 1e9:.2f} B parameters, float32; medians of {args.repeat}; "
          f"{os.cpu_count()} CPUs")
    rows = []
    for way in WAYS:
        seconds, peak = med[way]["seconds"], med[way]["peak_mib"]
        init = seconds - floor
        ratio = "" if way == "allocation only" else f"{torch_init / init:.2f}x" if init > 0 else "-"
        rows.append([way, f"{seconds:.2f}", "" if way == "allocation only" else f"{init:.2f}", ratio, f"{peak:.0f}"])
    report.table(["way", "build s", "init s", "init vs torch", "peak MiB"], rows)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"config": config, "params": params, "runs": results, "medians": med}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
