"""init_npy: write an initialized tensor straight to a standard .npy file, in bounded memory."""
from __future__ import annotations

import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from . import _validate as check
from .registry import scheme as _scheme

NPY_DTYPES = ("float16", "float32", "float64")


def _npy_dtype(dtype) -> np.dtype:
    if dtype == "bfloat16" or getattr(dtype, "__name__", None) == "bfloat16":
        raise ValueError("dtype=bfloat16: bfloat16 has no standard .npy type; .npy files here hold "
                         f"{', '.join(NPY_DTYPES)}")
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype={dtype!r} is not a numpy dtype; .npy files hold {', '.join(NPY_DTYPES)}") from None
    if dt.name not in NPY_DTYPES:
        raise ValueError(f"dtype={dt.name}: .npy files here hold {', '.join(NPY_DTYPES)} "
                         "(bfloat16 has no standard .npy type)")
    return dt


class _Progress:
    """tqdm when installed, else a plain line on stderr about once a second."""

    def __init__(self, total: int, label: str, enabled: bool):
        self.total, self.label, self.done, self.bar, self.enabled = total, label, 0, None, enabled
        self.last = 0.0
        if enabled:
            try:
                from tqdm import tqdm
                self.bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=label)
            except ImportError:
                pass

    def update(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.enabled and (time.monotonic() - self.last > 1.0 or self.done == self.total):
            self.last = time.monotonic()
            pct = 100.0 * self.done / self.total if self.total else 100.0
            print(f"\r{self.label}: {pct:5.1f}% ({self.done / 2**30:.2f} of {self.total / 2**30:.2f} GiB)",
                  end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.enabled and self.total:
            print(file=sys.stderr)


def _write(f, chunk: np.ndarray) -> None:
    f.write(memoryview(chunk.reshape(-1)).cast("B"))


def init_npy(path: str | os.PathLike, shape: Sequence[int] | int, scheme: str, *, dtype=np.float32,
             seed: int | None = None, progress: bool = True, overwrite: bool = False,
             chunk_bytes: int = 64 << 20, **params) -> Path:
    """Write ``fastinit.init(shape, scheme, dtype=dtype, seed=seed, **params)`` to a standard .npy
    file (``np.load(path, mmap_mode='r')`` reads it), bit for bit, holding only ``chunk_bytes`` of
    it in memory at a time (orthogonal and sparse need the whole tensor and take O(size) memory).

    The file is written under a temporary name beside ``path`` and renamed on success, so an
    interrupted or failed run (Ctrl-C, disk full) leaves neither ``path`` nor a temporary behind.
    An existing ``path`` is an error unless ``overwrite=True``.  Returns the path."""
    path = Path(path)
    shape = check.shape("shape", shape)
    dt = _npy_dtype(dtype)
    chunk_bytes = check.integer("chunk_bytes", chunk_bytes, 1, 1 << 62)
    rec = _scheme(scheme)
    kwargs = rec.resolve(seed, params)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        if parent.exists():
            raise NotADirectoryError(f"cannot write {path}: {parent} is not a directory")
        raise FileNotFoundError(f"cannot write {path}: directory {parent} does not exist")
    if path.is_dir():
        raise IsADirectoryError(f"cannot write {path}: it is a directory")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; pass overwrite=True (command line: --force) to replace it")
    total = math.prod(shape)
    per = total if rec.whole_tensor else max(1, chunk_bytes // dt.itemsize)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=parent)
    except OSError as e:
        raise type(e)(e.errno, f"cannot write in {parent}: {e.strerror}") from e
    bar = _Progress(total * dt.itemsize, path.name, progress)
    try:
        with os.fdopen(fd, "wb") as f:
            header = {"descr": np.lib.format.dtype_to_descr(dt), "fortran_order": False, "shape": shape}
            np.lib.format.write_array_header_1_0(f, header)
            buf = np.empty(min(per, total), dt)
            for start in range(0, total, per):
                view = buf[:min(per, total - start)]
                rec.fn(view, full_shape=shape, offset=start, **kwargs)
                _write(f, view)
                bar.update(view.nbytes)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        _remove(tmp)
        raise type(e)(e.errno, f"writing {path} failed: {e.strerror}") from e
    except BaseException:
        _remove(tmp)
        raise
    finally:
        bar.close()
    return path


def _remove(p: str) -> None:
    try:
        os.unlink(p)
    except FileNotFoundError:
        pass
