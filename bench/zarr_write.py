"""Write a float32 N(0, 0.02) table to a local zarr v3 array (uncompressed, the same chunks) several
ways, interleaved round by round, and report medians side by side:

  init_zarr        fastinit.init_zarr (chunks filled at their global index, written in parallel)
  zeros            the same writer with zeros (write_empty_chunks on): the store's own cost
  numpy + zarr     numpy's Generator fills the whole table in memory, then zarr writes it
  dask + to_zarr   dask.array's random normal, then to_zarr (if dask is installed)

    python bench/zarr_write.py                   # 2 GiB (2**21 x 256), chunks of 2**15 rows
    python bench/zarr_write.py --rows 262144 --repeat 1
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile

import numpy as np

from fastinit.bench import measure, report


def main(argv=None) -> int:
    import zarr

    import fastinit
    from fastinit import zarr as fz
    from fastinit.registry import scheme

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1 << 21)
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--chunk-rows", type=int, default=1 << 15)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", default=None, help="where to write (default: a temporary folder under the cwd)")
    args = parser.parse_args(argv)
    shape, chunks = (args.rows, args.dim), (args.chunk_rows, args.dim)
    folder = tempfile.mkdtemp(prefix="fastinit-zarr-bench-", dir=args.dir or ".")

    def fresh(name):
        path = os.path.join(folder, name)
        shutil.rmtree(path, ignore_errors=True)
        return path

    def run_init_zarr():
        fastinit.init_zarr(fresh("a.zarr"), shape, "normal", chunks=chunks, seed=1, std=0.02, progress=False)

    def run_zeros():
        array = zarr.create_array(fresh("z.zarr"), shape=shape, dtype="float32", chunks=chunks, compressors=None,
                                  zarr_format=3, config={"write_empty_chunks": True})
        fz._fill_chunks(array, scheme("zeros"), {}, fastinit.get_num_threads(), False, "zeros", reuse_buffers=True)

    def run_numpy():
        table = np.random.default_rng(1).standard_normal(shape, dtype=np.float32)
        table *= 0.02
        array = zarr.create_array(fresh("n.zarr"), shape=shape, dtype="float32", chunks=chunks, compressors=None,
                                  zarr_format=3)
        array[...] = table

    ways = {"init_zarr": run_init_zarr, "zeros": run_zeros, "numpy + zarr": run_numpy}
    try:
        import dask.array as da

        def run_dask():
            x = da.random.default_rng(1).standard_normal(shape, chunks=chunks, dtype=np.float32) * np.float32(0.02)
            da.to_zarr(x, fresh("d.zarr"), compressors=None)
        ways["dask + to_zarr"] = run_dask
    except ImportError:
        pass
    try:
        times = measure.time_rounds(ways, args.repeat)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    gib = shape[0] * shape[1] * 4 / 2**30
    zeros = times["zeros"].median
    print(f"zarr v3, local store, {shape} float32 ({gib:.2f} GiB), chunks {chunks}, uncompressed; "
          f"medians of {args.repeat}; {os.cpu_count()} CPUs, fastinit threads {fastinit.get_num_threads()}")
    report.table(["way", "seconds", "GiB/s", "vs zeros"],
                 [[name, f"{ts.median:.2f}", f"{gib / ts.median:.2f}", f"{ts.median / zeros:.2f}x"]
                  for name, ts in times.items()])
    return 0


if __name__ == "__main__":
    sys.exit(main())
