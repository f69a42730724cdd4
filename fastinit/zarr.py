"""init_zarr: write an initialized tensor to a zarr v3 array, chunk by chunk, in bounded memory.

Each chunk is filled at its global position (one prepared call, ``Scheme.prepare``), so the array equals
``fastinit.init(shape, scheme, seed=...)`` bit for bit for any chunking (and sharding).  zarr is an
optional extra (``pip install "zarr>=3"``); ``import fastinit`` never imports it.
"""
from __future__ import annotations

import math
import os
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from itertools import product
from pathlib import Path
from typing import Sequence

import numpy as np

from . import _runtime
from . import _validate as check
from ._extras import require
from ._writing import (_check_free_space, file_dtype, _cleanup_before_stop_signals, _destination, _Progress, _sync_directory,
                       remove_tree, whole_tensor_first)
from ._executor import Fill
from .registry import scheme as _scheme

# Every chunk is written, also one equal to the fill value (zeros): zarr's check for such chunks
# reads each chunk once more, which cost 40% of the time of a random init's writes here.
_CONFIG = {"write_empty_chunks": True}


def _chunks(chunks, shape: tuple[int, ...]):
    if chunks is None:
        return "auto"
    if isinstance(chunks, (int, np.integer)) and not isinstance(chunks, bool):
        chunks = (int(chunks),) * len(shape)
    chunks = check.shape("chunks", chunks)
    if len(chunks) != len(shape) or any(c < 1 for c in chunks):
        raise ValueError(f"chunks={chunks} must give a positive chunk length for each of the {len(shape)} "
                         f"dimensions of shape {shape}")
    return chunks


def _is_store(obj) -> bool:
    from zarr.abc.store import Store
    return isinstance(obj, Store)


def init_zarr(path_or_store, shape: Sequence[int] | int, scheme: str, *, chunks=None, dtype="float32",
              seed: int | None = None, progress: bool = True, overwrite: bool = False, compressors=None,
              num_workers: int | None = None, **params):
    """Write ``fastinit.init(shape, scheme, dtype=dtype, seed=seed, **params)`` to a zarr v3 array,
    chunk by chunk (``chunks``: a tuple, one int for every dimension, or None for zarr's automatic
    chunking), and return it opened (``zarr.Array``).  Values equal ``fastinit.init``'s bit for bit
    for any chunking.

    ``num_workers`` chunks (default: the thread count a fill gets) are filled and written at a
    time, each by one thread, so memory stays at that many chunks (orthogonal and sparse need the
    whole tensor and take O(size)).  ``compressors``: zarr's codecs (None: uncompressed, since
    random values do not compress; pass ``"auto"`` for zarr's default).

    ``path_or_store`` a path: the array is written into a temporary directory beside it and renamed
    into place on success, so an interrupted or failed run (Ctrl-C, SIGTERM, SIGHUP, disk full)
    leaves neither ``path`` nor a temporary behind; an existing ``path`` is an error unless
    ``overwrite=True`` (then it is replaced only once the new array is complete).  A zarr ``Store``
    object: written in place (stores have no rename); on an error the array is deleted again."""
    zarr = require("zarr", "zarr", "fastinit.init_zarr")
    shape = check.shape("shape", shape)
    dt = file_dtype(dtype, "init_zarr writes", "zarr v3 has no bfloat16 data type")
    chunk_shape = _chunks(chunks, shape)
    rec = _scheme(scheme)
    workers = _runtime.get_num_threads() if num_workers is None else check.integer("num_workers", num_workers, 1, 1024)
    # one thread per chunk when chunks are filled side by side (a team each would oversubscribe)
    threads = {"num_threads": 1} if rec.random and workers > 1 else {}
    fill = rec.prepare(shape, dt, seed=seed, **{**params, **threads})   # bad parameters fail here, before anything is created
    total = math.prod(shape)
    whole_tensor_first(rec, total * dt.itemsize, type(path_or_store).__name__ if _is_store(path_or_store)
                       else str(path_or_store), progress)
    if _is_store(path_or_store):
        return _write_to_store(zarr, path_or_store, shape, dt, chunk_shape, compressors, fill, workers,
                               progress, overwrite)
    path = Path(path_or_store)
    target = _destination(path)
    shown = str(path) if target == path else f"{path} (a link to {target})"
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise FileNotFoundError(f"cannot write {shown}: directory {parent} does not exist")
    if target.exists() and not overwrite:
        raise FileExistsError(f"{shown} already exists; pass overwrite=True (command line: --force) to replace it")
    _check_free_space(parent, total * dt.itemsize, path)
    with _cleanup_before_stop_signals():
        tmp = parent / f".{target.name}.{secrets.token_hex(4)}.part"
        try:
            array = _off_main_thread(lambda: zarr.create_array(str(tmp), shape=shape, dtype=dt, chunks=chunk_shape,
                                                               compressors=compressors, zarr_format=3, config=_CONFIG))
            _fill_chunks(array, fill, workers, progress, path.name,
                         reuse_buffers=isinstance(array.store, zarr.storage.LocalStore))
            old = None
            if target.exists():   # replaced only now, with the new array complete
                old = parent / f".{target.name}.{secrets.token_hex(4)}.old"
                os.replace(target, old)
            os.replace(tmp, target)
            if old is not None:
                remove_tree(str(old))
        except OSError as e:
            remove_tree(str(tmp))
            raise type(e)(e.errno, f"writing {shown} failed: {e.strerror or e}") from e
        except BaseException:
            remove_tree(str(tmp))
            raise
    _sync_directory(parent)
    return zarr.open_array(str(target), mode="r+")


def _off_main_thread(call):
    """``call()`` in a worker thread, waited for even when the main thread is interrupted: zarr runs
    its writes in its own event loop, and a Ctrl-C or SIGTERM that reached the main thread while it
    waited would otherwise let zarr.json land after the cleanup removed the temporary directory."""
    with ThreadPoolExecutor(1, thread_name_prefix="fastinit-zarr") as pool:
        future = pool.submit(call)
        try:
            return future.result()
        except BaseException:
            future.exception()   # (waits for the call to end, whatever it raised)
            raise


def _write_to_store(zarr, store, shape, dt, chunk_shape, compressors, fill, workers, progress, overwrite):
    array = _off_main_thread(lambda: zarr.create_array(store, shape=shape, dtype=dt, chunks=chunk_shape,
                                                       compressors=compressors, zarr_format=3, overwrite=overwrite,
                                                       config=_CONFIG))
    try:
        _fill_chunks(array, fill, workers, progress, type(store).__name__)
    except BaseException:
        from zarr.core.sync import sync
        sync(array.store_path.delete_dir())    # the array's metadata and chunks
        raise
    return array


def _fill_chunks(array, fill: Fill, workers: int, progress: bool, label: str, reuse_buffers: bool = False) -> None:
    """Fill and write every chunk of ``array`` (a new zarr array of the tensor's shape and dtype).
    reuse_buffers: only where the store is done with a chunk's memory when its write returns (a
    LocalStore writes it to a file; a MemoryStore keeps a view of it, uncompressed)."""
    shape, chunk_shape, dt = tuple(array.shape), tuple(array.chunks), array.dtype
    if math.prod(shape) == 0:
        return
    grid = [range(0, n, c) for n, c in zip(shape, chunk_shape)]
    bar = _Progress(math.prod(shape) * dt.itemsize, label, progress)

    local = threading.local()

    def one(starts) -> int:
        bounds = [(s, min(s + c, n)) for s, c, n in zip(starts, chunk_shape, shape)]
        region = tuple(slice(a, b) for a, b in bounds)
        sizes = [b - a for a, b in bounds]
        if reuse_buffers:   # each worker refills one buffer: fresh memory would fault in every time
            if getattr(local, "buffer", None) is None:
                local.buffer = np.empty(math.prod(chunk_shape), dt)
            block = local.buffer[:math.prod(sizes)].reshape(sizes)
        else:
            block = np.empty(sizes, dt)
        fill.block(block, bounds)   # (a whole-tensor scheme's one computation is shared: O(size), as init_npy)
        array[region] = block
        return block.nbytes

    # Chunks are written from worker threads only, even with one worker: on an error or Ctrl-C the
    # main thread stops submitting and waits for the running chunks (a chunk's write in zarr's own
    # event loop would otherwise go on after the caller removed the temporary directory).
    pool = ThreadPoolExecutor(workers, thread_name_prefix="fastinit-zarr")
    try:
        pending = []   # at most 2 x workers chunks in flight: bounded memory, every worker kept busy
        for starts in product(*grid):
            pending.append(pool.submit(one, starts))
            if len(pending) >= 2 * workers:
                bar.update(pending.pop(0).result())
        for future in pending:
            bar.update(future.result())
    finally:   # on an error or Ctrl-C: drop the queued chunks, wait for the running ones
        pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
