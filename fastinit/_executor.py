"""The one executor: a call's arguments are validated once, then a scheme's plan (fastinit/_plans.py)
is carried out on the whole tensor, a flat range of it, or an N-D block of it.

Every entry point goes through here: the in-place functions (``fastinit.xavier_uniform_(out, ...)``,
made by :func:`inplace` from a planning function), ``fastinit.init``, ``fill_block``, init_npy,
init_zarr, dask, torch (dense and DTensor), JAX and Keras.  A :class:`Fill` is one validated call
of a scheme on one whole tensor; its blocks and ranges are then filled with no further checks of
the scheme's parameters.

Blocks: a block is a product of index ranges.  Its C-order memory is a set of runs that are
contiguous in the whole tensor's flat order: long runs are filled in place, one kernel call each;
short runs (a block that splits the last dimension into narrow columns) by filling the contiguous
range that spans a batch of them into a bounded temporary and copying the block out of it, so the
cost stays one kernel call per few MiB whatever the number of runs.
"""
from __future__ import annotations

import inspect
import math
import sys
import threading
import warnings
from typing import Callable

import numpy as np

from . import _fill, _runtime, _seeding
from . import _validate as check
from ._fill import Dist, Params
from ._formats import Format, encode
from ._plans import Constant, Draw, Marks, Plan, Randomness, Whole

LONG_RUN = 1 << 16        # elements: a run at least this long is filled in place, on its own
SPAN_BUDGET = 1 << 22     # elements of the temporary that covers a batch of short runs
_ONCE = threading.RLock()  # what a Fill computes once (a Whole, marks) may be asked for by several threads


def randomness(seed, stream, num_threads) -> Randomness:
    """The call's randomness, checked; ``seed=None`` stays None until :func:`resolved` (a refused
    call must not consume a draw of the global generator)."""
    return Randomness(None if seed is None else check.uint64("seed", seed), check.uint64("stream", stream),
                      check.threads(num_threads))


def resolved(rand: Randomness | None) -> Randomness | None:
    if rand is None or rand.seed is not None:
        return rand
    return rand._replace(seed=_seeding.next_seed())


def warn_caller(message: str) -> None:
    """warnings.warn attributed to the first frame outside fastinit (entry points differ in depth)."""
    frame, level = sys._getframe(1), 2   # (stacklevel 2: warn_caller's caller)
    while frame is not None and frame.f_globals.get("__name__", "").startswith("fastinit"):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, stacklevel=level)


class Fill:
    """One validated call: ``plan`` for the whole tensor ``full`` in format ``fmt``, with the call's
    randomness (None for schemes that draw nothing).  Fills any part of that tensor with exactly
    its values; what needs the whole tensor (a Whole base, random marks) is computed once."""

    def __init__(self, plan: Plan, full: tuple[int, ...], fmt: Format, rand: Randomness | None):
        self.plan, self.full, self.fmt, self.rand = plan, full, fmt, rand
        self._params = None        # Draw: the kernel's Params, made once
        self._whole = None         # Whole: the whole tensor, made once when a part is asked for
        self._marks = None         # Marks: their flat indices, made once

    def __getstate__(self):   # (pickled to another process, dask's: the caches are made again there)
        return {**self.__dict__, "_params": None, "_whole": None, "_marks": None}

    # ---- a flat range of the whole

    def flat(self, out: np.ndarray, first: int) -> None:
        """Fill ``out`` (C-contiguous, of this format) with the whole's flat elements first, first + 1, ..."""
        flat = out.reshape(-1)
        base = self.plan.base
        if isinstance(base, Draw):
            self._draw(flat, first)
        elif isinstance(base, Constant):
            flat[...] = encode(np.array([base.value]), flat, self.fmt)[0]
        elif isinstance(base, Whole):
            if self._whole is None and first == 0 and flat.size == math.prod(self.full):
                base.fill(flat.reshape(self.full), self.fmt, self.rand)   # in place: no second copy
            else:
                flat[...] = self.whole(out.dtype).reshape(-1)[first:first + flat.size]
        if self.plan.marks is not None and flat.size:
            idx = self._mark_indices() - first
            idx = idx[(idx >= 0) & (idx < flat.size)]
            if idx.size:
                flat[idx] = encode(np.array([self.plan.marks.value]), flat, self.fmt)[0]

    def _draw(self, flat: np.ndarray, first: int) -> None:
        if self._params is None:
            draw = self.plan.base
            self._params = Params(dist=draw.dist, dtype=self.fmt.code, seed=self.rand.seed, stream=self.rand.stream,
                                  **draw.kernel)
            self._kind = f"{Dist(draw.dist).name.lower()} {self.fmt.name}"   # fills the thread chooser compares
        threads, automatic = _runtime.fill_threads(self.rand.num_threads, flat.size, self._kind)
        if flat.size:
            cost = _fill.fill(flat.view(np.uint8), self._params, first, threads, _runtime.path_code())
            if automatic:
                _runtime.record_fill(flat.size, cost, self._kind)

    def whole(self, dtype) -> np.ndarray:
        """The whole tensor of a Whole plan (computed on first use)."""
        with _ONCE:
            if self._whole is None:
                whole = np.empty(self.full, dtype)
                self.plan.base.fill(whole, self.fmt, self.rand)
                self._whole = whole
        return self._whole

    def _mark_indices(self) -> np.ndarray:
        with _ONCE:
            if self._marks is None:
                marks: Marks = self.plan.marks
                found = marks.indices(self.rand) if callable(marks.indices) else marks.indices
                self._marks = np.asarray(found, dtype=np.int64).reshape(-1)
        return self._marks

    # ---- an N-D block of the whole

    def block(self, out: np.ndarray, bounds) -> None:
        """Fill the C-contiguous block ``out`` at ``bounds`` ((start, stop) per dimension, validated)."""
        if not out.size:
            return
        if isinstance(self.plan.base, Whole):
            out[...] = self.whole(out.dtype)[tuple(slice(lo, hi) for lo, hi in bounds)]
        else:
            self._runs(out, tuple(bounds))

    def _runs(self, out: np.ndarray, bounds: tuple) -> None:
        full = self.full
        strides = [math.prod(full[d + 1:]) for d in range(len(full))]
        first = sum(lo * st for (lo, _), st in zip(bounds, strides))
        k = len(full)             # dims k.. are covered whole
        while k > 0 and bounds[k - 1] == (0, full[k - 1]):
            k -= 1
        outer = out.shape[:max(k - 1, 0)]   # each index of these dims is one contiguous run
        if math.prod(outer) == 1:
            self.flat(out, first)
            return
        run = math.prod(out.shape[k - 1:])
        if run >= LONG_RUN:
            runs = out.reshape(-1, run)
            for r, idx in enumerate(np.ndindex(*outer)):
                self.flat(runs[r], first + sum(i * st for i, st in zip(idx, strides)))
            return
        span = sum((n - 1) * st for n, st in zip(out.shape, strides)) + 1
        if span <= SPAN_BUDGET:
            tmp = np.empty(span, out.dtype)
            self.flat(tmp, first)
            out[...] = np.lib.stride_tricks.as_strided(tmp, out.shape, [st * tmp.itemsize for st in strides],
                                                       writeable=False)
            return
        # Too wide a span: split the first dimension that has more than one index into batches whose
        # spans fit the budget (a dimension of one index moves the split further in).
        d = next(i for i, n in enumerate(out.shape) if n > 1)
        step = max(1, SPAN_BUDGET // strides[d])
        lead = (slice(None),) * d   # dims of one index: keep them, so the sub-block keeps its rank
        for a in range(0, out.shape[d], step):
            b = min(a + step, out.shape[d])
            sub = list(bounds)
            sub[d] = (bounds[d][0] + a, bounds[d][0] + b)
            self._runs(out[lead + (slice(a, b),)], tuple(sub))


# ---------------------------------------------------------------- in-place functions from plans

_TAIL_DOC = """``full_shape`` (the whole tensor ``out`` is a shard of, for fans and structure) and
    ``offset`` (the row-major index of out's first element in it) make a shard exactly its slice
    of the whole fill; ``dtype='bfloat16'``/``'float16'`` reads uint16 ``out`` as that format."""
_RANDOM_DOC = "``seed`` (None: a fresh one), ``stream`` and ``num_threads`` as the kernels take them."


def inplace(plan: Callable, name: str, *, random: bool, unbounded: bool = False) -> Callable:
    """The in-place function of a planning function ``plan(shape, fmt, *params)``:
    ``fn(out, *params, full_shape=None, offset=0[, seed=None, stream=0, num_threads=None], dtype=None)``
    fills ``out`` and returns it.  Every argument is validated once, in this order: out, the shard
    (full_shape, offset), the randomness, then the scheme's own parameters (by ``plan``), all
    before anything is written.  ``unbounded``: an offset without full_shape is allowed (the
    kernels' fills have no end; a scheme's whole is ``out`` itself)."""

    def run(out, args, params, full_shape, offset, dtype, rand):
        out, fmt = check.out_array(out, dtype)
        whole, first = check.shard(full_shape, offset, out.shape)
        if full_shape is None and first and not unbounded:
            raise ValueError(f"offset={first} needs full_shape= (the whole tensor out is a shard of); without "
                             "full_shape, out is the whole tensor, at offset 0")
        rand = None if rand is None else randomness(*rand)
        planned = plan(whole, fmt, *args, **params)
        Fill(planned, whole, fmt, resolved(rand)).flat(out, first)   # (a fresh seed only once every check passed)
        return out

    if random:
        def fn(out: np.ndarray, *args, full_shape=None, offset: int = 0, seed: int | None = None, stream: int = 0,
               num_threads: int | None = None, dtype=None, **params) -> np.ndarray:
            return run(out, args, params, full_shape, offset, dtype, (seed, stream, num_threads))
    else:
        def fn(out: np.ndarray, *args, full_shape=None, offset: int = 0, dtype=None, **params) -> np.ndarray:
            return run(out, args, params, full_shape, offset, dtype, None)

    fn.__name__ = fn.__qualname__ = name
    fn.__module__ = plan.__module__
    fn.__doc__ = (plan.__doc__ or "") + f"\n\n    {_TAIL_DOC}" + (f"\n    {_RANDOM_DOC}" if random else "")
    fn.__signature__ = signature(plan, random)
    return fn


def signature(plan: Callable, random: bool) -> inspect.Signature:
    """The in-place function's signature: out, the plan's parameters, then the shared tail."""
    P = inspect.Parameter
    sig = inspect.signature(plan)
    own = list(sig.parameters.values())[2:]     # (shape, fmt) come from out and full_shape
    tail = [P("full_shape", P.KEYWORD_ONLY, default=None), P("offset", P.KEYWORD_ONLY, default=0, annotation=int)]
    if random:
        tail += [P("seed", P.KEYWORD_ONLY, default=None, annotation="int | None"),
                 P("stream", P.KEYWORD_ONLY, default=0, annotation=int),
                 P("num_threads", P.KEYWORD_ONLY, default=None, annotation="int | None")]
    tail.append(P("dtype", P.KEYWORD_ONLY, default=None))
    return sig.replace(parameters=[P("out", P.POSITIONAL_OR_KEYWORD, annotation=np.ndarray), *own, *tail],
                       return_annotation=np.ndarray)
