"""Property-based tests (hypothesis) of the promises every fill makes, over random shapes, dtypes,
parameters, blocks, shards, thread counts and SIMD paths, through the public API only:

- a block (fastinit.fill_block) is the same slice of the whole fill (fastinit.init), every scheme;
- a shard (offset=, full_shape=) is the same slice of the flat whole fill, every scheme and kernel;
- num_threads does not change a bit;
- bounded fills stay inside their bounds after rounding, with the closedness the docstrings state:
  uniform_ in [low, high), trunc_normal_ in [a, b], the fan-based uniform schemes in [-bound, bound),
  the Keras truncated normals in [mean - 2 stddev, mean + 2 stddev]; normal fills are finite;
- a call that raises ValueError/TypeError has written nothing;
- every SIMD path this CPU runs gives the scalar reference's bits.

Deterministic (derandomize=True, no example database), so CI sees the same examples every run.
"""
import contextlib
import functools
import inspect
import math
import warnings

import numpy as np
import pytest

import fastinit
from fastinit import _fill

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, assume, given, note, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

try:
    import ml_dtypes
except ImportError:
    ml_dtypes = None


def check(max_examples: int):
    return settings(max_examples=max_examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# ---------------------------------------------------------------- dtypes

# name -> (the array's numpy dtype, the dtype= argument): raw uint16 storage is read as float16 or
# bfloat16 through dtype=, as the torch adapter passes it.
STORAGE = {"float32": (np.float32, None), "float64": (np.float64, None), "float16": (np.float16, None),
           "float16 in uint16": (np.uint16, "float16"), "bfloat16 in uint16": (np.uint16, "bfloat16")}
if ml_dtypes is not None:
    STORAGE["bfloat16"] = (np.dtype(ml_dtypes.bfloat16), None)
FLOAT_TYPE = {"float32": np.float32, "float64": np.float64, "float16": np.float16}   # the rest: bfloat16
LARGEST = {"float32": 3.4028234663852886e38, "float64": 1.7976931348623157e308, "float16": 65504.0,
           "bfloat16": 3.3895313892515355e38}
dtypes = st.sampled_from(sorted(STORAGE))


def fmt_of(kind: str) -> str:
    """'float16 in uint16' -> 'float16'."""
    return kind.split(" ")[0]


def empty(shape, kind: str) -> np.ndarray:
    return np.empty(shape, STORAGE[kind][0])


def sentinel(shape, kind: str, seed: int) -> np.ndarray:
    """An array of random bit patterns (NaNs and infinities among them) to see any write."""
    storage = np.dtype(STORAGE[kind][0])
    shape = (shape,) if isinstance(shape, int) else shape
    raw = np.random.default_rng(seed).integers(0, 256, size=math.prod(shape) * storage.itemsize, dtype=np.uint8)
    return raw.view(storage).reshape(shape)


def dtype_arg(kind: str) -> dict:
    return {} if STORAGE[kind][1] is None else {"dtype": STORAGE[kind][1]}


def bits(a: np.ndarray) -> np.ndarray:
    return a.view(f"u{a.itemsize}")


def as_float64(a: np.ndarray, kind: str) -> np.ndarray:
    """The values of a fill, exactly, as float64."""
    fmt = fmt_of(kind)
    with np.errstate(invalid="ignore"):   # (signalling NaN patterns of a sentinel)
        if fmt == "bfloat16":
            return (bits(a).astype(np.uint32) << 16).view(np.float32).astype(np.float64)
        return a.view(FLOAT_TYPE[fmt]).astype(np.float64)


@functools.lru_cache(maxsize=None)
def representable(fmt: str) -> tuple[np.ndarray, np.ndarray]:
    """Every finite value of a 16-bit format as float64, ascending, and its bit patterns (-0 left
    out), to check roundings and rejections against."""
    patterns = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)
    v = as_float64(patterns, fmt)
    keep = np.isfinite(v) & (patterns != 0x8000)
    order = np.argsort(v[keep], kind="stable")
    return v[keep][order], patterns[keep][order]


def whole_fill(shape, name: str, kind: str, rand: dict, params: dict) -> np.ndarray:
    """The whole tensor (rand: the seed, for a random scheme): fastinit.init, or the scheme's
    function on raw uint16 storage."""
    if STORAGE[kind][1] is None:
        return fastinit.init(shape, name, dtype=STORAGE[kind][0], **rand, **params)
    return fastinit.get(name)(empty(shape, kind), **rand, **dtype_arg(kind), **params)


def refused_alike(error: Exception, shape: tuple, part, buf: np.ndarray) -> None:
    """The whole fill was refused: only an empty tensor may be here (dirac of shape (1, 1, 0); torch
    raises too), and filling a part of it (part()) must raise the same and write nothing."""
    assert math.prod(shape) == 0, repr(error)
    before = buf.copy()
    with pytest.raises(type(error)):
        part()
    assert np.array_equal(bits(buf), bits(before))


@contextlib.contextmanager
def quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # "Initializing zero-element tensors is a no-op"
        yield


# ---------------------------------------------------------------- shapes and parameters per scheme

TWO_D = {"eye", "eye_", "identity", "sparse", "sparse_", "torchrec_embedding", "dlrm_embedding"}
CONV = {"dirac", "dirac_", "delta_orthogonal"}
FAN_TORCH = {"xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal", "variance_scaling",
             "orthogonal"}
AT_LEAST_2D = FAN_TORCH | {n + "_" for n in FAN_TORCH} | {"lecun_uniform_", "lecun_normal_"}


def ranks(name: str) -> tuple[int, int]:
    if name in TWO_D:
        return 2, 2
    if name in CONV:
        return 3, 5
    if name in AT_LEAST_2D:
        return 2, 4
    return 0, 4


@st.composite
def shapes(draw, lo_rank=0, hi_rank=4, max_size=4096, empty_ok=True):
    """A shape of lo_rank..hi_rank dims whose size is at most max_size; about one in ten has a
    zero dimension (when empty_ok)."""
    rank = draw(st.integers(lo_rank, hi_rank))
    dims, budget = [], max_size
    for i in range(rank):
        left = rank - i - 1
        cap = max(1, int(budget ** (1.0 / (left + 1)) * 2) if left else budget)
        d = draw(st.integers(1, min(cap, 64 if left else 512, budget)))
        dims.append(d)
        budget = max(1, budget // d)
    if dims and empty_ok and draw(st.integers(0, 9)) == 0:
        dims[draw(st.integers(0, rank - 1))] = 0
    return tuple(dims)


def shape_for(draw, name: str, max_size: int = 4096, empty_ok: bool = True) -> tuple:
    lo, hi = ranks(name)
    empty_ok = empty_ok and name not in ("torchrec_embedding", "dlrm_embedding")   # (need rows)
    shape = draw(shapes(lo, hi, max_size, empty_ok))
    if name == "delta_orthogonal" and shape[-1] < shape[-2]:   # needs fan_in <= fan_out
        shape = shape[:-2] + (shape[-1], shape[-2])
    return shape


# Parameters for the block, shard and thread tests, whose subject is not the parameters: on a
# grid, and wide enough that every dtype has values in each interval (the bounds tests below
# draw narrow, tiny and far-out ones).
small = st.integers(-10_000, 10_000).map(lambda k: k / 1000)
positive = st.integers(100, 10_000).map(lambda k: k / 1000)
widths = st.one_of(st.just(0.0), positive)
gains = st.floats(0.0, 3.0)


def params_for(draw, name: str, shape: tuple) -> dict:
    """Valid parameters for a scheme on a tensor of this shape (float16-safe magnitudes)."""
    base = name.rstrip("_")
    if base == "uniform":
        a = draw(small)
        return {"a": a, "b": a + draw(widths)}
    if base == "normal":
        return {"mean": draw(small), "std": draw(widths)}
    if base == "trunc_normal":
        mean, std = draw(small), draw(positive)
        a = mean + std * draw(st.floats(-3.0, 1.0))
        return {"mean": mean, "std": std, "a": a, "b": a + std * draw(st.floats(1.0, 4.0))}
    if base == "constant":
        return {"val": draw(small)}
    if base in ("xavier_uniform", "xavier_normal", "identity", "orthogonal", "delta_orthogonal"):
        return {"gain": draw(gains)}
    if base in ("kaiming_uniform", "kaiming_normal"):
        return {"a": draw(st.floats(0.0, 1.0)), "mode": draw(st.sampled_from(["fan_in", "fan_out"])),
                "nonlinearity": draw(st.sampled_from(["leaky_relu", "relu", "tanh", "linear", "selu"]))}
    if base == "variance_scaling":
        return {"scale": draw(st.floats(0.1, 4.0)),
                "mode": draw(st.sampled_from(["fan_in", "fan_out", "fan_avg", "fan_geo_avg"])),
                "distribution": draw(st.sampled_from(["truncated_normal", "untruncated_normal", "normal",
                                                      "uniform"]))}
    if base == "sparse":
        return {"sparsity": draw(st.floats(0.0, 1.0)), "std": draw(widths)}
    if base == "dirac":
        divisors = [g for g in range(1, shape[0] + 1) if shape[0] % g == 0] or [1]
        return {"groups": draw(st.sampled_from(divisors))}
    if base in ("truncated_normal", "random_normal"):
        return {"mean": draw(small), "stddev": draw(positive)}
    if base == "random_uniform":
        lo = draw(small)
        return {"minval": lo, "maxval": lo + draw(widths)}
    if base == "torch_embedding" and len(shape) == 2 and shape[0]:
        return {"padding_idx": draw(st.one_of(st.none(), st.integers(-shape[0], shape[0] - 1)))}
    return {}


def is_random(name: str) -> bool:
    return "seed" in inspect.signature(fastinit.get(name)).parameters


seeds = st.integers(0, 2**64 - 1)
streams = st.one_of(st.just(0), st.integers(0, 2**64 - 1))


def draw_fill(draw, name: str, max_size: int = 4096, empty_ok: bool = True, kinds=None):
    """(shape, parameters, dtype, {'seed': seed} or {}) of a fill of scheme `name`: the shape valid
    for the scheme, the seed for a random one."""
    shape = shape_for(draw, name, max_size, empty_ok)
    params = params_for(draw, name, shape)
    kind = draw(dtypes if kinds is None else st.sampled_from(kinds), "dtype")
    rand = {"seed": draw(seeds, "seed")} if is_random(name) else {}
    note(f"shape={shape} params={params} dtype={kind} {rand}")
    return shape, params, kind, rand


@st.composite
def blocks(draw, shape):
    """A block of shape: one (start, stop) per dimension, whole ranges included; about one in ten
    is empty."""
    bounds = []
    for n in shape:
        lo = draw(st.integers(0, max(n - 1, 0)))
        bounds.append((lo, draw(st.integers(min(lo + 1, n), n))))
    if shape and draw(st.integers(0, 9)) == 0:
        d = draw(st.integers(0, len(shape) - 1))
        bounds[d] = (bounds[d][0], bounds[d][0])
    return tuple(bounds)


# ---------------------------------------------------------------- blocks and shards

@pytest.mark.parametrize("name", fastinit.schemes())
@check(12)
@given(data=st.data())
def test_block_equals_the_slice_of_the_whole_fill(name, data):
    """fill_block of any block equals that slice of fastinit.init's whole tensor, bit for bit.
    (A scheme the tables above give no valid shapes or parameters fails here: its whole fill of a
    non-empty tensor is refused.)"""
    shape, params, kind, rand = draw_fill(data.draw, name)
    bounds = data.draw(blocks(shape), "block")
    index = tuple(slice(lo, hi) for lo, hi in bounds)
    out = sentinel(tuple(hi - lo for lo, hi in bounds), kind, 1)
    with quiet():
        try:
            whole = whole_fill(shape, name, kind, rand, params)
        except (ValueError, TypeError) as e:
            return refused_alike(e, shape, lambda: fastinit.fill_block(
                out, name, shape, index, **rand, **dtype_arg(kind), **params), out)
        got = fastinit.fill_block(out, name, shape, index, **rand, **dtype_arg(kind), **params)
    assert got is out
    assert np.array_equal(bits(out), bits(whole[index]))


@pytest.mark.parametrize("name", fastinit.schemes())
@check(10)
@given(data=st.data())
def test_shard_equals_the_slice_of_the_flat_whole_fill(name, data):
    """Every scheme's function, given full_shape= and offset=, fills exactly that run of the flat
    whole tensor."""
    shape, params, kind, rand = draw_fill(data.draw, name)
    with quiet():
        try:
            flat = whole_fill(shape, name, kind, rand, params).reshape(-1)
        except (ValueError, TypeError) as e:
            shard = sentinel(0, kind, 2)
            return refused_alike(e, shape, lambda: fastinit.get(name)(
                shard, full_shape=shape, offset=0, **rand, **dtype_arg(kind), **params), shard)
    # shards start and end anywhere, and often where the whole fill's structure does (a one of
    # eye or dirac, a zero padding row): where its zeros and non-zeros meet
    nonzero = bits(flat) != 0
    edges = sorted({0, flat.size, *(np.flatnonzero(nonzero[1:] != nonzero[:-1]) + 1).tolist()})
    start = data.draw(st.one_of(st.integers(0, flat.size), st.sampled_from(edges)), "start")
    stop = data.draw(st.one_of(st.integers(start, flat.size), st.sampled_from([e for e in edges if e >= start])), "stop")
    shard = sentinel(stop - start, kind, 2)
    with quiet():
        fastinit.get(name)(shard, full_shape=shape, offset=start, **rand, **dtype_arg(kind), **params)
    assert np.array_equal(bits(shard), bits(flat[start:stop]))


KERNELS = {
    "uniform_": (fastinit.uniform_, st.tuples(small, widths).map(lambda t: {"low": t[0], "high": t[0] + t[1]})),
    "normal_": (fastinit.normal_, st.fixed_dictionaries({"mean": small, "std": widths})),
    "trunc_normal_": (fastinit.trunc_normal_, st.tuples(small, positive, st.floats(-3, 1), st.floats(1, 4)).map(
        lambda t: {"mean": t[0], "std": t[1], "a": t[0] + t[1] * t[2], "b": t[0] + t[1] * (t[2] + t[3])})),
}
# element indices the kernels' counters treat specially: word boundaries of the block counter
offsets = st.one_of(st.integers(0, 200_000), st.integers(0, 2**62 - 2**20),
                    st.sampled_from([2**32 - 7, 2**34 - 70, 2**38 + 5, 2**62 - 2**20]))


@check(200)
@given(kernel=st.sampled_from(sorted(KERNELS)), data=st.data(), kind=dtypes, seed=seeds, stream=streams,
       base=offsets)
def test_kernel_shard_equals_the_slice_of_the_flat_fill(kernel, data, kind, seed, stream, base):
    """The kernels' fill has no end: a shard at offset base + i, with or without full_shape, is
    elements i.. of the fill at offset base, at any offset up to 2**62."""
    fn, params = KERNELS[kernel]
    params = data.draw(params, "params")
    n = data.draw(st.integers(0, 5000), "n")
    start = data.draw(st.integers(0, n), "start")
    stop = data.draw(st.integers(start, n), "stop")
    full = data.draw(st.sampled_from([None, (base + n,), (1, base + n), "exact"]), "full_shape")
    if full == "exact":
        full = (base + stop,)
    rng = dict(seed=seed, stream=stream, **dtype_arg(kind), **params)
    whole = fn(empty(n, kind), offset=base, **rng)
    shard = fn(sentinel(stop - start, kind, 3), offset=base + start, full_shape=full, **rng)
    assert np.array_equal(bits(shard), bits(whole[start:stop]))


# ---------------------------------------------------------------- threads

TEAM_MIN = 2 * getattr(_fill, "MIN_PER_THREAD", 1 << 17)   # fills below this run on one thread


@pytest.mark.parametrize("name", [n for n in fastinit.schemes() if is_random(n)])
@check(3)
@given(data=st.data(), kind=dtypes, seed=seeds, threads=st.sampled_from([2, 3, 4, None]))
def test_thread_count_does_not_change_a_bit(name, data, kind, seed, threads):
    """num_threads=1, 2, 3, 4 and the automatic count give the same bits.  Fills of at least
    2 * MIN_PER_THREAD elements, so that a team really runs (smaller ones run on one thread)."""
    rows = data.draw(st.integers(2, 40), "rows")
    cols = data.draw(st.integers(TEAM_MIN // rows + 1, 600_000 // rows), "cols")
    if hasattr(_fill, "threads_for"):
        assert _fill.threads_for(rows * cols, 2) == 2
    shape = (1, rows, cols) if ranks(name)[0] == 3 else (rows, cols)
    params = params_for(data.draw, name, shape)
    off = data.draw(st.integers(0, cols), "offset")
    fn, args = fastinit.get(name), dict(seed=seed, **dtype_arg(kind), **params)
    one = fn(empty(shape, kind), num_threads=1, **args)
    team = fn(sentinel(shape, kind, 4), num_threads=threads, **args)
    assert np.array_equal(bits(team), bits(one))
    # a shard that starts mid-chunk, split over a team
    full = shape[:-2] + (rows + 1, cols)
    one = fn(empty(shape, kind), full_shape=full, offset=off, num_threads=1, **args)
    team = fn(sentinel(shape, kind, 5), full_shape=full, offset=off, num_threads=threads, **args)
    assert np.array_equal(bits(team), bits(one))


# ---------------------------------------------------------------- bounds

MANTISSA = {"float16": 10, "bfloat16": 7, "float32": 23, "float64": 52}
MIN_EXP = {"float16": -14, "bfloat16": -126, "float32": -126, "float64": -1022}


def ulp(x: float, fmt: str) -> float:
    """The spacing of fmt's values near x (subnormals: the smallest spacing)."""
    e = math.frexp(x)[1] - 1 if x else MIN_EXP[fmt]
    return 2.0 ** (max(e, MIN_EXP[fmt]) - MANTISSA[fmt])


def nearest(x: float, fmt: str) -> float:
    """x rounded to the nearest value of fmt, ties to even."""
    if fmt in ("float32", "float64"):
        return float(FLOAT_TYPE[fmt](x))
    table, patterns = representable(fmt)
    i = int(np.clip(np.searchsorted(table, x), 1, len(table) - 1))
    lo, hi = table[i - 1], table[i]
    if x - lo != hi - x:
        return float(lo if x - lo < hi - x else hi)
    return float(lo if patterns[i - 1] % 2 == 0 else hi)


def values_between(lo: float, hi: float, fmt: str, closed_hi: bool) -> bool:
    """Whether some value of fmt lies in [lo, hi] (closed_hi) or [lo, hi)."""
    if fmt in ("float32", "float64"):
        t = FLOAT_TYPE[fmt]
        v = t(lo)
        if v < lo:
            v = np.nextafter(v, t(np.inf))
        return bool(v <= hi if closed_hi else v < hi)
    table = representable(fmt)[0]
    inside = (table >= lo) & ((table <= hi) if closed_hi else (table < hi))
    return bool(inside.any())


def magnitudes(lo_exp: float, hi_exp: float):
    return st.floats(lo_exp, hi_exp).map(lambda e: 10.0 ** e)


@st.composite
def intervals(draw, fmt: str):
    """(lo, hi), lo <= hi, from wide to a few of fmt's steps wide (where rounding meets the bounds)."""
    limit = 6e4 if fmt == "float16" else 1e6
    lo = draw(st.one_of(st.floats(-limit / 2, limit / 2, allow_subnormal=False), magnitudes(-6, 3),
                        st.sampled_from([0.0, -1.0, 0.5, 1.0])))
    width = draw(st.one_of(st.just(0.0), st.integers(1, 8).map(lambda k: k * ulp(lo, fmt)),
                           magnitudes(-6, 0).map(lambda r: r * max(abs(lo), 1e-3)),
                           st.floats(0.0, limit / 2)))
    return lo, lo + width


def in_bounds(v: np.ndarray, lo: float, hi: float, closed_hi: bool) -> bool:
    return bool(((v >= lo) & ((v <= hi) if closed_hi else (v < hi))).all())


@check(250)
@given(kind=dtypes, data=st.data(), seed=seeds)
def test_uniform_stays_in_low_high(kind, data, seed):
    """uniform_: every value >= low and < high after rounding (low == high: low rounded to nearest);
    refused only when no value of the dtype lies in [low, high)."""
    fmt = fmt_of(kind)
    low, high = data.draw(intervals(fmt), "interval")
    out = sentinel(data.draw(st.integers(1, 20_000), "n"), kind, 6)
    try:
        fastinit.uniform_(out, low, high, seed=seed, **dtype_arg(kind))
    except ValueError as e:
        assert low < high and not values_between(low, high, fmt, closed_hi=False), str(e)
        return
    v = as_float64(out, kind)
    if low == high:
        assert (v == nearest(low, fmt)).all()
    else:
        assert in_bounds(v, low, high, closed_hi=False)


@st.composite
def trunc_params(draw, fmt: str):
    """(mean, std, a, b): intervals from far tails to narrower than one of fmt's steps, one end
    sometimes infinite."""
    mean = draw(st.floats(-10.0, 10.0))
    std = draw(magnitudes(-4, 3))
    alpha = draw(st.floats(-8.0, 8.0))
    a = mean + std * alpha
    width = draw(st.one_of(magnitudes(-7, 1.2).map(lambda h: h * std),
                           st.integers(1, 6).map(lambda k: k * ulp(a, fmt))))
    b = a + width
    ends = draw(st.sampled_from(["finite", "finite", "finite", "-inf", "inf"]))
    if ends == "-inf":
        a = -math.inf
    elif ends == "inf":
        b = math.inf
    assume(a < b)
    return mean, std, a, b


@check(250)
@given(kind=dtypes, data=st.data(), seed=seeds)
def test_trunc_normal_stays_in_a_b(kind, data, seed):
    """trunc_normal_: every value in [a, b], both ends included, after rounding to the dtype;
    refused only when no value of the dtype lies in [a, b]."""
    fmt = fmt_of(kind)
    mean, std, a, b = data.draw(trunc_params(fmt), "mean, std, a, b")
    out = sentinel(data.draw(st.integers(1, 20_000), "n"), kind, 7)
    try:
        fastinit.trunc_normal_(out, mean, std, a, b, seed=seed, **dtype_arg(kind))
    except ValueError as e:
        assert not values_between(a, b, fmt, closed_hi=True), str(e)
        return
    assert in_bounds(as_float64(out, kind), a, b, closed_hi=True)


def largest_accepted_std(kind: str, mean: float) -> float:
    """The largest std normal_ accepts with this mean and dtype (bisection on refusals)."""
    lo, hi = 0.0, LARGEST[fmt_of(kind)]
    for _ in range(80):
        mid = (lo + hi) / 2
        try:
            fastinit.normal_(empty(0, kind), mean, mid, **dtype_arg(kind))
            lo = mid
        except ValueError:
            hi = mid
    return lo


@check(100)
@given(kind=dtypes, data=st.data(), seed=seeds)
def test_normal_is_finite(kind, data, seed):
    """normal_ never writes inf or nan: at moderate stds, and at the largest the dtype is said to
    allow (just inside the std at which normal_ starts refusing)."""
    share = data.draw(st.floats(-1.0, 1.0), "mean")
    if data.draw(st.booleans(), "at the edge"):
        mean = share * LARGEST[fmt_of(kind)] / 100
        std = largest_accepted_std(kind, mean) * data.draw(st.floats(0.9, 1.0), "share of the largest std")
    else:
        mean, std = share, data.draw(magnitudes(-3, 3), "std")
    out = sentinel(data.draw(st.integers(2000, 20_000), "n"), kind, 8)
    fastinit.normal_(out, mean, std, seed=seed, **dtype_arg(kind))
    assert np.isfinite(as_float64(out, kind)).all()


TRUNCATED_NORMAL_STD = 0.87962566103423978   # Keras': the std of N(0, 1) cut at ±2


def _fan(fans, mode):
    fan_in, fan_out = fans
    return {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0,
            "fan_geo_avg": math.sqrt(fan_in * fan_out)}[mode]


def _variance_scaling(shape, layout, scale, mode, distribution):
    s = scale / max(1.0, _fan(fastinit.calculate_fans(shape, layout=layout), mode))
    if distribution == "uniform":
        limit = math.sqrt(3.0 * s)
        return -limit, limit, False
    if distribution == "truncated_normal":
        std = math.sqrt(s) / TRUNCATED_NORMAL_STD
        return -2.0 * std, 2.0 * std, True
    return None


KERAS_VS = {"glorot_uniform": (1.0, "fan_avg", "uniform"), "glorot_normal": (1.0, "fan_avg", "truncated_normal"),
            "he_uniform": (2.0, "fan_in", "uniform"), "he_normal": (2.0, "fan_in", "truncated_normal"),
            "lecun_uniform": (1.0, "fan_in", "uniform"), "lecun_normal": (1.0, "fan_in", "truncated_normal")}


def bounds_of(name: str, shape: tuple, p: dict):
    """(lo, hi, whether hi is included) that a scheme's docstring promises, or None (unbounded)."""
    base = name.rstrip("_")
    if base == "uniform":
        return p["a"], p["b"], False
    if base == "trunc_normal":
        return p["a"], p["b"], True
    if base == "random_uniform":
        return p["minval"], p["maxval"], False
    if base == "truncated_normal":
        return p["mean"] - 2.0 * p["stddev"], p["mean"] + 2.0 * p["stddev"], True
    if base in ("torchrec_embedding", "dlrm_embedding"):
        bound = math.sqrt(1.0 / shape[0])
        return -bound, bound, False
    if base == "xavier_uniform":   # torch's formula, in torch's order of operations
        fan_in, fan_out = fastinit.calculate_fans(shape)
        bound = math.sqrt(3.0) * (p["gain"] * math.sqrt(2.0 / float(fan_in + fan_out)))
        return -bound, bound, False
    if base == "kaiming_uniform":
        gain = fastinit.calculate_gain(p["nonlinearity"], p["a"])
        bound = math.sqrt(3.0) * (gain / math.sqrt(_fan(fastinit.calculate_fans(shape), p["mode"])))
        return -bound, bound, False
    if base == "variance_scaling":
        return _variance_scaling(shape, "torch", p["scale"], p["mode"], p["distribution"])
    if name in ("lecun_uniform_", "lecun_normal_"):
        return _variance_scaling(shape, "torch", *KERAS_VS[base])
    if name in KERAS_VS:
        return _variance_scaling(shape, "keras", *KERAS_VS[name])
    return None


BOUNDED = [n for n in fastinit.schemes() if bounds_of(n, (4, 4, 4), {
    "a": 0.0, "b": 1.0, "minval": 0.0, "maxval": 1.0, "mean": 0.0, "stddev": 1.0, "gain": 1.0, "mode": "fan_in",
    "nonlinearity": "relu", "scale": 1.0, "distribution": "uniform"}) is not None]


@pytest.mark.parametrize("name", BOUNDED)
@check(15)
@given(data=st.data())
def test_bounded_schemes_stay_in_their_bounds(name, data):
    """The fan-based uniform schemes in [-bound, bound), Keras' truncated normals in
    [mean - 2 stddev, mean + 2 stddev], uniform and trunc_normal in [a, b) and [a, b]: the bounds
    computed here from the fans and gains by the formulas the docstrings give."""
    shape, params, kind, rand = draw_fill(data.draw, name, empty_ok=False)
    expected = bounds_of(name, shape, params)
    assume(expected is not None)          # variance_scaling's untruncated normals
    lo, hi, closed = expected
    assume(lo < hi)                       # uniform with a == b, gain 0: the constant, rounded
    with quiet():
        out = whole_fill(shape, name, kind, rand, params)
    assert in_bounds(as_float64(out, kind), lo, hi, closed)


# ---------------------------------------------------------------- rejected calls write nothing

NAN, INF = math.nan, math.inf
BAD_INDEXES = [st.integers(-(2**70), -1), st.just(2**64), st.just(10**400), st.just(1.5), st.just("3"),
               st.just(True), st.just(np.float64(2.0))]
BAD_TYPES = st.sampled_from(["1", None, True, 1j, [1.0], np.array([1.0, 2.0])])
KERNEL_FAULTS = ["nan/inf", "type", "order", "range", "negative std", "seed", "stream", "num_threads", "offset",
                 "full_shape", "dtype", "layout"]


def refused(call, buf, what: str) -> None:
    """call() raises ValueError or TypeError, and buf's bits are as before."""
    note(what)
    before = buf.copy()
    with quiet(), pytest.raises((ValueError, TypeError)):
        call()
    assert np.array_equal(bits(buf), bits(before)), what


@pytest.mark.parametrize("fault", KERNEL_FAULTS)
@pytest.mark.parametrize("kernel", sorted(KERNELS))
@check(12)
@given(data=st.data(), kind=dtypes, seed=seeds)
def test_a_refused_kernel_call_writes_nothing(kernel, fault, data, kind, seed):
    """One bad argument, the others good: nan, inf, a wrong type, low > high or a >= b, a value
    beyond the dtype's range (or reaching past it), a negative std, a bad seed, stream, thread
    count, offset or full_shape, a dtype= that does not match, an int, byte-swapped, strided or
    read-only out."""
    draw = data.draw
    fmt = fmt_of(kind)
    shape = draw(shapes(1, 3, 2000, empty_ok=False), "shape")
    size = math.prod(shape)
    fn, good = KERNELS[kernel]
    params = draw(good, "good parameters")
    kwargs = dict(seed=seed, **dtype_arg(kind), **params)
    buf = out = sentinel(shape, kind, draw(seeds))
    key = draw(st.sampled_from(sorted(params)), "parameter")
    if fault == "nan/inf":
        bad = [NAN, INF, -INF]
        if kernel == "trunc_normal_" and key in ("a", "b"):   # (a = -inf and b = inf are allowed)
            bad = [NAN, INF if key == "a" else -INF]
        kwargs[key] = draw(st.sampled_from(bad))
    elif fault == "type":
        kwargs[key] = draw(BAD_TYPES)
    elif fault == "order":                 # low > high; a >= b; (normal_: a negative std)
        if kernel == "uniform_":
            kwargs["high"] = kwargs["low"] - draw(magnitudes(-6, 1))
        elif kernel == "trunc_normal_":
            kwargs["b"] = kwargs["a"] - draw(st.one_of(st.just(0.0), magnitudes(-6, 1)))
        else:
            kwargs["std"] = -draw(magnitudes(-6, 1))
    elif fault == "range":                 # beyond the dtype's largest value, or reaching past it
        if fmt == "float64":               # (float64 normals reach 8-9.5 std)
            big = draw(st.floats(5e307, 1.7e308))
        else:
            big = draw(st.floats(1.01, 100.0)) * LARGEST[fmt]
        if kernel == "uniform_":           # (float64: high - low overflows)
            assume(fmt != "float64" or big > 0.9e308)
            kwargs["low"], kwargs["high"] = -big, (big if fmt == "float64" else 0.0)
        elif kernel == "trunc_normal_":
            kwargs.update(mean=0.0, std=big, a=-INF, b=INF)
        else:
            kwargs["std"] = big
    elif fault == "negative std":          # (uniform_: nan low with a good high)
        if kernel == "uniform_":
            kwargs["low"], kwargs["high"] = NAN, 1.0
        else:
            kwargs["std"] = -draw(magnitudes(-300, 3)) if kernel == "normal_" else -draw(
                st.one_of(st.just(0.0), magnitudes(-300, 3)))
    elif fault in ("seed", "stream"):
        kwargs[fault] = draw(st.one_of(*BAD_INDEXES, st.just(2**64 + 5)))
    elif fault == "num_threads":
        kwargs["num_threads"] = draw(st.sampled_from([0, -1, 1025, 2.0, "2", True, 10**30]))
    elif fault == "offset":
        kwargs["offset"] = draw(st.one_of(*BAD_INDEXES[:2], st.sampled_from([2**62, 2**62 - size + 1, 2.0])))
    elif fault == "full_shape":
        kwargs["full_shape"] = draw(st.sampled_from([(size - 1,), (size, -1), "3x4", size, (1.5,), {size}]))
    elif fault == "dtype":
        storage = np.dtype(STORAGE[kind][0])
        if storage.itemsize == 2:
            kwargs["dtype"] = draw(st.sampled_from(["float32", "float64", "int16", "bfloat17"]))
        else:
            kwargs["dtype"] = draw(st.sampled_from(["bfloat16", "float16", np.int32,
                                                    "float64" if storage.itemsize == 4 else "float32"]))
    elif fault == "layout":
        how = draw(st.sampled_from(["strided", "int", "byteswapped", "read-only", "not an array"]))
        if how == "strided":
            assume(size > 1)               # (one element is contiguous whatever its stride)
            buf = sentinel((size * 2,), kind, 9)
            out = buf[::2]
        elif how == "int":
            kwargs.pop("dtype", None)
            buf = out = np.zeros(shape, draw(st.sampled_from([np.int32, np.int16, np.uint8, np.bool_, np.complex64])))
        elif how == "byteswapped":
            if np.dtype(STORAGE[kind][0]).itemsize == 2:
                kwargs.pop("dtype", None)
            buf = out = buf.view(buf.dtype.newbyteorder())
        elif how == "read-only":
            buf.flags.writeable = False
        else:
            out = buf.tolist()
    refused(lambda: fn(out, **kwargs), buf, f"{kernel}({fault}: {kwargs})")


SCHEME_FAULTS = ["nan", "seed", "no seed", "bogus", "rank", "block shape", "index"]


@pytest.mark.parametrize("fault", SCHEME_FAULTS)
@check(25)
@given(data=st.data())
def test_a_refused_scheme_call_writes_nothing(fault, data):
    """fastinit.init or fill_block, one bad argument: a nan parameter, a bad seed (or one for a
    scheme that takes none), no seed for a block, an unknown parameter, a rank the scheme does not
    fill, an out of the wrong shape for the block, an index out of range, reversed or strided."""
    draw = data.draw
    name = draw(st.sampled_from(fastinit.schemes()), "scheme")
    shape, params, kind, rand = draw_fill(draw, name, max_size=2000, empty_ok=False,
                                          kinds=[k for k in sorted(STORAGE) if STORAGE[k][1] is None])
    buf = sentinel(shape, kind, draw(seeds))
    index = tuple(slice(0, n) for n in shape)
    call = lambda: fastinit.init(buf, name, **rand, **params)  # noqa: E731
    if fault == "nan":
        numeric = [k for k, v in params.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
        assume(numeric)
        params[draw(st.sampled_from(numeric))] = NAN
    elif fault == "seed":
        rand["seed"] = draw(st.one_of(*BAD_INDEXES)) if rand else 0
    elif fault == "bogus":
        params["bogus"] = 1
    elif fault == "rank":
        lo, hi = ranks(name)
        bad_ranks = [r for r in range(6) if r < lo or (r > hi and name in TWO_D | CONV)]
        assume(bad_ranks and "padding_idx" not in params)
        buf = sentinel((2,) * draw(st.sampled_from(bad_ranks)), kind, 11)
    elif fault == "no seed":
        assume(rand)
        call = lambda: fastinit.fill_block(buf, name, shape, index, **params)  # noqa: E731
    elif fault == "block shape":
        assume(shape)
        buf = sentinel(shape[:-1] + (shape[-1] + draw(st.integers(1, 3)),), kind, 12)
        call = lambda: fastinit.fill_block(buf, name, shape, index, **rand, **params)  # noqa: E731
    else:
        assume(shape)
        d = draw(st.integers(0, len(shape) - 1))
        index = index[:d] + (draw(st.sampled_from([slice(0, shape[d] + 1), slice(0, shape[d], 2),
                                                   slice(1, 0), 0])),) + index[d + 1:]
        call = lambda: fastinit.fill_block(buf, name, shape, index, **rand, **params)  # noqa: E731
    refused(call, buf, f"{name} {fault}: {params} {rand} {index}")


# ---------------------------------------------------------------- SIMD paths

PATHS = fastinit.available_simd_paths()


def test_paths_are_what_the_extension_reports():
    assert PATHS[0] == "scalar"
    assert PATHS == [p.name.lower() for p in _fill.Path if _fill.path_available(p)]
    assert _fill.best_path().name.lower() in PATHS


@pytest.mark.skipif(len(PATHS) < 2, reason="this CPU runs the scalar path only")
@check(150)
@given(kernel=st.sampled_from(sorted(KERNELS)), data=st.data(), kind=dtypes, seed=seeds, stream=streams,
       offset=offsets)
def test_every_simd_path_gives_the_scalar_reference(kernel, data, kind, seed, stream, offset):
    """Bit for bit, over the parameters of the bounds tests (narrow, tiny and far-out intervals),
    lengths of every residue and counters whose high words are not zero."""
    fn = KERNELS[kernel][0]
    if kernel == "trunc_normal_":
        mean, std, a, b = data.draw(trunc_params(fmt_of(kind)), "mean, std, a, b")
        params = {"mean": mean, "std": std, "a": a, "b": b}
    elif kernel == "uniform_":
        low, high = data.draw(intervals(fmt_of(kind)), "low, high")
        params = {"low": low, "high": high}
    else:
        params = {"mean": data.draw(small, "mean"), "std": data.draw(magnitudes(-3, 3), "std")}
    n = data.draw(st.one_of(st.integers(0, 300), st.integers(0, 70_000)), "n")
    fills = []
    for path in PATHS:
        with fastinit.simd_path_used(path):
            try:
                fills.append(fn(sentinel(n, kind, 13), seed=seed, stream=stream, offset=offset, **dtype_arg(kind), **params))
            except ValueError:
                assume(False)     # no value of the dtype in the interval
    for path, r in zip(PATHS[1:], fills[1:]):
        assert np.array_equal(bits(r), bits(fills[0])), path
