"""init_npy: write an initialized tensor straight to a standard .npy file, in bounded memory."""
from __future__ import annotations

import errno
import io
import math
import os
import secrets
import stat
from pathlib import Path
from typing import Sequence

import numpy as np

from . import _validate as check
from ._writing import (FILE_DTYPES, STOP_SIGNALS, Terminated, _check_free_space, _cleanup_before_stop_signals,  # noqa: F401
                       _destination, _Progress, _raise_terminated, _remove, _sync_directory, file_dtype,
                       whole_tensor_first)
from .registry import scheme as _scheme

NPY_DTYPES = FILE_DTYPES


def _npy_dtype(dtype) -> np.dtype:
    return file_dtype(dtype, ".npy files here hold", "bfloat16 has no standard .npy type")


def _write(f, chunk: np.ndarray) -> None:
    f.write(memoryview(chunk.reshape(-1)).cast("B"))


def _create_temporary(directory: Path, name: str, mode: int | None) -> tuple[int, str]:
    """A new hidden file beside the destination.  Created with 0666 so the umask (and a default
    ACL) applies as for np.save; ``mode`` (an existing file's) replaces that when given."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.part")
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        if mode is not None:
            try:
                os.chmod(tmp, mode)
            except BaseException:
                os.close(fd)
                _remove(tmp)
                raise
        return fd, tmp
    raise FileExistsError(errno.EEXIST, f"no free temporary name in {directory}")


def _existing_mode(target: Path) -> int | None:
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        return None


def _header(dt: np.dtype, shape: tuple[int, ...]) -> bytes:
    buf = io.BytesIO()
    header = {"descr": np.lib.format.dtype_to_descr(dt), "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue()


def init_npy(path: str | os.PathLike, shape: Sequence[int] | int, scheme: str, *, dtype=np.float32,
             seed: int | None = None, progress: bool = True, overwrite: bool = False,
             chunk_bytes: int = 64 << 20, **params) -> Path:
    """Write ``fastinit.init(shape, scheme, dtype=dtype, seed=seed, **params)`` to a standard .npy
    file (``np.load(path, mmap_mode='r')`` reads it), bit for bit, holding only ``chunk_bytes`` of
    it in memory at a time (orthogonal and sparse need the whole tensor and take O(size) memory).

    The file is written under a temporary name beside ``path`` and renamed on success, so an
    interrupted or failed run (Ctrl-C, SIGTERM, SIGHUP, disk full) leaves neither ``path`` nor a
    temporary behind; a file that cannot fit in the free space is refused before anything is
    written.  An existing ``path`` is an error unless ``overwrite=True``.  As with ``np.save``: a
    new file gets mode 0666 less the umask, a replaced file keeps its mode, and a symbolic link is
    written through (its target is replaced atomically; the link stays).  Returns the path."""
    path = Path(path)
    shape = check.shape("shape", shape)
    dt = _npy_dtype(dtype)
    chunk_bytes = check.integer("chunk_bytes", chunk_bytes, 1, 1 << 62)
    rec = _scheme(scheme)
    fill = rec.prepare(shape, dt, seed=seed, **params)   # bad parameters fail here, before any file is touched
    target = _destination(path)
    shown = str(path) if target == path else f"{path} (a link to {target})"
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        if parent.exists():
            raise NotADirectoryError(f"cannot write {shown}: {parent} is not a directory")
        raise FileNotFoundError(f"cannot write {shown}: directory {parent} does not exist")
    if target.is_dir():
        raise IsADirectoryError(f"cannot write {shown}: it is a directory")
    if target.exists() and not overwrite:
        raise FileExistsError(f"{shown} already exists; pass overwrite=True (command line: --force) to replace it")
    total = math.prod(shape)
    header = _header(dt, shape)
    _check_free_space(parent, len(header) + total * dt.itemsize, path)
    whole_tensor_first(rec, total * dt.itemsize, shown, progress)
    per = max(1, chunk_bytes // dt.itemsize)   # range() needs a step >= 1
    with _cleanup_before_stop_signals():
        try:
            fd, tmp = _create_temporary(parent, target.name, _existing_mode(target))
        except OSError as e:
            raise type(e)(e.errno, f"cannot write in {parent}: {e.strerror or e}") from e
        bar = _Progress(total * dt.itemsize, path.name, progress)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(header)
                if rec.whole_tensor:   # computed at once (in place: no second copy), written chunk by chunk
                    buf = np.empty(total, dt)
                    fill.flat(buf, 0)
                else:
                    buf = np.empty(min(per, total), dt)
                for start in range(0, total, per):
                    if rec.whole_tensor:
                        view = buf[start:start + per]
                    else:
                        view = buf[:min(per, total - start)]
                        fill.flat(view, start)
                    _write(f, view)
                    bar.update(view.nbytes)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except OSError as e:
            _remove(tmp)
            raise type(e)(e.errno, f"writing {shown} failed: {e.strerror}") from e
        except BaseException:
            _remove(tmp)
            raise
        finally:
            bar.close()
    _sync_directory(parent)   # the file is complete: a stop signal from here on just ends the process
    return path


