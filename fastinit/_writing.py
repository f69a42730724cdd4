"""What fastinit's file writers (init_npy, init_zarr) share: a progress bar, cleanup before a stop
signal ends the process, the destination behind a link, free space, durable renames."""
from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np


class _Progress:
    """tqdm when installed, else a plain line on stderr about once a second; both in GiB (tqdm's
    own byte scaling would print binary multiples with decimal names, "732M ... MB/s")."""

    def __init__(self, total: int, label: str, enabled: bool):
        self.total, self.label, self.done, self.bar, self.enabled = total, label, 0, None, enabled
        self.last = 0.0
        if enabled:
            try:
                from tqdm import tqdm
                # byte counts / 2**30 are exact in a float (multiples of 2**-30 below 2**53 bytes)
                self.bar = tqdm(total=total / 2**30, unit="GiB", desc=label,
                                bar_format="{l_bar}{bar}| {n:.2f}/{total:.2f} GiB [{elapsed}<{remaining}, {rate_noinv_fmt}]")
            except ImportError:
                pass

    def update(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n / 2**30)
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


class Terminated(BaseException):
    """SIGTERM or SIGHUP (a job scheduler's stop) arrived during init_npy.  Raised by the handler
    that init_npy installs for the duration of a write (only where the signal's action was the
    default, in the main thread) so that the temporary file is removed before the process dies of
    the signal; the command line raises it from its own handlers, to print a message first."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def _raise_terminated(signum, frame):
    raise Terminated(signum)


@contextlib.contextmanager
def _cleanup_before_stop_signals():
    """Within the block, SIGTERM/SIGHUP raise Terminated (so cleanups run); after it, the process
    dies of that signal, as it would have without the cleanup.  Handlers set by the program are
    left alone (Python can only install handlers in the main thread)."""
    installed = {}
    if threading.current_thread() is threading.main_thread():
        for sig in STOP_SIGNALS:
            if signal.getsignal(sig) == signal.SIG_DFL:
                installed[sig] = signal.signal(sig, _raise_terminated)
    try:
        yield
    except Terminated as stop:
        if stop.signum not in installed:     # raised by the program's own handler: its business
            raise
        for sig, old in installed.items():
            signal.signal(sig, old)
        installed.clear()
        sys.stdout.flush()
        sys.stderr.flush()
        os.kill(os.getpid(), stop.signum)    # the default action: the process ends here
        raise
    finally:
        for sig, old in installed.items():
            signal.signal(sig, old)


def _destination(path: Path) -> Path:
    """The file to replace: ``path``, or the final target when ``path`` is a symbolic link (np.save
    writes through a link; so do we, by replacing the target, and the link stays)."""
    if not path.is_symlink():
        return path
    target = Path(os.path.realpath(path))
    if target.is_symlink():                  # realpath stops where the links loop
        raise OSError(errno.ELOOP, f"cannot write {path}: too many levels of symbolic links")
    return target


FILE_DTYPES = ("float16", "float32", "float64")


def file_dtype(dtype, writes: str, no_bfloat16: str) -> np.dtype:
    """The numpy dtype of a file writer's dtype= (float16/32/64: what .npy and zarr v3 can hold),
    else an error naming what is accepted; ``writes`` and ``no_bfloat16`` word it for the format."""
    if dtype == "bfloat16" or getattr(dtype, "__name__", None) == "bfloat16":
        raise ValueError(f"dtype=bfloat16: {no_bfloat16}; {writes} {', '.join(FILE_DTYPES)}")
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype={dtype!r} is not a numpy dtype; {writes} {', '.join(FILE_DTYPES)}") from None
    if dt.name not in FILE_DTYPES:
        raise ValueError(f"dtype={dt.name}: {writes} {', '.join(FILE_DTYPES)} ({no_bfloat16})")
    return dt


def _gib(nbytes: int) -> str:
    return f"{nbytes / 2**30:.2f} GiB"


def _check_free_space(directory: Path, nbytes: int, path: Path) -> None:
    """Refuse before writing anything when the file cannot fit (the old file's space, when one is
    replaced, is freed only after the rename)."""
    try:
        st = os.statvfs(directory)
    except (AttributeError, OSError):        # no statvfs here: a full disk is still reported on write
        return
    if st.f_blocks == 0:                     # pseudo and some network filesystems report no sizes
        return
    free = st.f_bavail * st.f_frsize
    if nbytes > free:
        raise OSError(errno.ENOSPC, f"cannot write {path}: it needs {_gib(nbytes)} ({nbytes} bytes) but "
                                    f"{directory} has {_gib(free)} free; nothing was written")


def _available_memory() -> int | None:
    """MemAvailable from /proc/meminfo, in bytes (None where it cannot be read)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def whole_tensor_first(rec, nbytes: int, shown: str, progress: bool) -> None:
    """A scheme that needs the whole tensor (a QR, a per-column mask) holds it in memory before the
    first byte is written: refused up front when it cannot fit in the memory available, and said
    on stderr when progress is shown (its bar then moves as the computed tensor is written)."""
    if not rec.whole_tensor:
        return
    available = _available_memory()
    if available is not None and nbytes > available:
        raise MemoryError(f"cannot write {shown}: scheme {rec.name!r} needs the whole tensor in memory, "
                          f"{_gib(nbytes)}, and {_gib(available)} is available; nothing was written")
    if progress:
        print(f"{shown}: {rec.name} needs the whole tensor: computing it in memory ({_gib(nbytes)}) "
              "before writing it", file=sys.stderr, flush=True)


def _sync_directory(directory: Path) -> None:
    """Make the rename durable (POSIX); where directories cannot be opened, the rename still stands."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove(p: str) -> None:
    try:
        os.unlink(p)
    except FileNotFoundError:
        pass


def remove_tree(p: str) -> None:
    """A temporary directory (init_zarr's) and everything in it; gone already is fine."""
    shutil.rmtree(p, ignore_errors=True)
