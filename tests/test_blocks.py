"""fastinit.fill_block: any block of any partition equals the same block of the whole fill."""
import itertools
import warnings

import numpy as np
import pytest

import fastinit
from fastinit import _executor

SCHEMES = [
    ("uniform_", {"a": -1.0, "b": 2.0}), ("normal_", {"std": 0.5}), ("trunc_normal_", {"std": 0.3}),
    ("xavier_uniform_", {}), ("kaiming_normal_", {"mode": "fan_out"}), ("glorot_normal", {}),
    ("he_uniform", {}), ("zeros_", {}), ("constant_", {"val": 0.25}), ("eye_", {}), ("identity", {"gain": 2.0}),
    ("orthogonal_", {}), ("orthogonal", {}), ("sparse_", {"sparsity": 0.3}), ("dirac_", {"groups": 2}),
    ("torch_embedding", {"padding_idx": 3}), ("variance_scaling", {"mode": "fan_avg"}),
]


def _shape_for(name):
    if name in ("eye_", "identity", "sparse_", "torch_embedding", "orthogonal_", "orthogonal"):
        return (9, 7)
    if name == "dirac_":
        return (4, 3, 3, 5)
    return (6, 5, 7)


def _partitions(shape, rng, count=6):
    """Random blocks (lo, hi) per dimension, including empty and whole ranges."""
    for _ in range(count):
        bounds = []
        for n in shape:
            lo = int(rng.integers(0, n + 1))
            hi = int(rng.integers(lo, n + 1))
            bounds.append((lo, hi))
        yield tuple(bounds)


@pytest.mark.parametrize("name,params", SCHEMES, ids=[s for s, _ in SCHEMES])
def test_blocks_equal_the_whole_fill(name, params):
    shape = _shape_for(name)
    rec = fastinit.scheme(name)
    seed = {"seed": 11} if rec.random else {}
    whole = fastinit.init(shape, name, **seed, **params)
    rng = np.random.default_rng(len(name))
    for bounds in _partitions(shape, rng):
        index = tuple(slice(lo, hi) for lo, hi in bounds)
        out = np.full(tuple(hi - lo for lo, hi in bounds), np.nan, np.float32)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            fastinit.fill_block(out, name, shape, index, **seed, **params)
        np.testing.assert_array_equal(out, whole[index])


def test_every_block_of_a_grid_tiles_the_whole():
    shape = (10, 6, 9)
    whole = fastinit.init(shape, "glorot_uniform", seed=5)
    cuts = [(0, 3, 10), (0, 6), (0, 2, 7, 9)]
    tiled = np.full(shape, np.nan, np.float32)
    for ranges in itertools.product(*[list(zip(c[:-1], c[1:])) for c in cuts]):
        index = tuple(slice(a, b) for a, b in ranges)
        tiled[index] = fastinit.fill_block(np.empty(tuple(b - a for a, b in ranges), np.float32),
                                           "glorot_uniform", shape, ranges, seed=5)
    np.testing.assert_array_equal(tiled, whole)


@pytest.mark.parametrize("long_run,budget", [(1 << 16, 1 << 22), (4, 1 << 22), (1 << 16, 50), (1 << 16, 1)])
def test_each_way_of_filling_runs_gives_the_same_values(monkeypatch, long_run, budget):
    """Runs in place, one span through a temporary, and spans split to fit the budget."""
    monkeypatch.setattr(_executor, "LONG_RUN", long_run)
    monkeypatch.setattr(_executor, "SPAN_BUDGET", budget)
    shape = (7, 8, 9, 5)
    whole = fastinit.init(shape, "trunc_normal_", seed=2, std=0.5)
    index = (slice(1, 6), slice(2, 7), slice(3, 8), slice(1, 4))
    out = fastinit.fill_block(np.empty((5, 5, 5, 3), np.float32), "trunc_normal_", shape, index, seed=2, std=0.5)
    np.testing.assert_array_equal(out, whole[index])


@pytest.mark.parametrize("dtype", ["float16", "float64", "bfloat16"])
def test_dtypes(dtype):
    shape = (12, 10)
    index = (slice(4, 9), slice(3, 7))
    if dtype == "bfloat16":
        whole = fastinit.normal_(np.empty(shape, np.uint16), seed=1, dtype="bfloat16")
        out = fastinit.fill_block(np.empty((5, 4), np.uint16), "normal", shape, index, seed=1, dtype="bfloat16")
    else:
        whole = fastinit.init(shape, "normal", seed=1, dtype=dtype)
        out = fastinit.fill_block(np.empty((5, 4), dtype), "normal", shape, index, seed=1)
    np.testing.assert_array_equal(out, whole[index])


def test_index_forms_and_zero_dims():
    shape = (5, 4)
    whole = fastinit.init(shape, "normal", seed=3)
    for index in [(slice(None, 3), slice(1, None)), ((0, 3), (1, 4)), (range(0, 3), range(1, 4))]:
        np.testing.assert_array_equal(fastinit.fill_block(np.empty((3, 3), np.float32), "normal", shape, index,
                                                          seed=3), whole[:3, 1:])
    # fewer entries than dimensions: the rest is whole
    np.testing.assert_array_equal(fastinit.fill_block(np.empty((2, 4), np.float32), "normal", shape,
                                                      (slice(3, 5),), seed=3), whole[3:])
    scalar = fastinit.init((), "normal", seed=3)
    np.testing.assert_array_equal(fastinit.fill_block(np.empty((), np.float32), "normal", (), (), seed=3), scalar)


@pytest.mark.parametrize("call,error,match", [
    (lambda o: fastinit.fill_block(o, "normal", (4, 4), (slice(0, 2), slice(0, 2))), ValueError, "explicit seed"),
    (lambda o: fastinit.fill_block(o, "normal", (4, 4), (slice(0, 3), slice(0, 2)), seed=0), ValueError, "shape"),
    (lambda o: fastinit.fill_block(o, "normal", (4, 4), (slice(0, 4, 2), slice(0, 2)), seed=0), ValueError, "steps"),
    (lambda o: fastinit.fill_block(o, "normal", (4, 4), (slice(3, 5), slice(0, 2)), seed=0), ValueError, "index"),
    (lambda o: fastinit.fill_block(o, "normal", (4, 4), (slice(2, 0), slice(0, 2)), seed=0), ValueError, "start > stop"),
    (lambda o: fastinit.fill_block(o, "normal", (4, 4), (0, slice(0, 2)), seed=0), TypeError, "slice"),
    (lambda o: fastinit.fill_block(o, "normal", (4,), (slice(0, 2), slice(0, 2)), seed=0), ValueError, "entries"),
    (lambda o: fastinit.fill_block(o, "normal", (4, 4), (slice(0, 2),) * 2, seed=0, std=-1), ValueError, "std"),
    (lambda o: fastinit.fill_block(o, "zeros", (4, 4), (slice(0, 2),) * 2, seed=0), ValueError, "not random"),
    (lambda o: fastinit.fill_block(o, "normal", (4, 4), (slice(0, 2),) * 2, seed=0, offset=3), ValueError, "offset"),
    (lambda o: fastinit.fill_block(o, "nromal", (4, 4), (slice(0, 2),) * 2, seed=0), ValueError, "did you mean"),
    (lambda o: fastinit.fill_block(o.T, "normal", (4, 4), (slice(0, 2),) * 2, seed=0), ValueError, "contiguous"),
])
def test_errors_write_nothing(call, error, match):
    out = np.full((2, 2), 7.0, np.float32)
    out[:, 1] = 8.0
    before = out.copy()
    with pytest.raises(error, match=match):
        call(out)
    np.testing.assert_array_equal(out, before)


def test_empty_block_still_checks_parameters():
    with pytest.raises(ValueError, match="std"):
        fastinit.fill_block(np.empty((0, 4), np.float32), "normal", (4, 4), (slice(2, 2), slice(0, 4)), seed=0, std=-1)
    out = fastinit.fill_block(np.empty((0, 4), np.float32), "normal", (4, 4), (slice(2, 2), slice(0, 4)), seed=0)
    assert out.shape == (0, 4)


def test_scheme_records():
    assert fastinit.scheme("xavier_uniform_").random and not fastinit.scheme("xavier_uniform_").whole_tensor
    assert not fastinit.scheme("eye_").random
    assert fastinit.scheme("orthogonal").whole_tensor and fastinit.scheme("sparse_").whole_tensor
    assert fastinit.scheme("dirac").fn is fastinit.dirac_
    assert set(fastinit.schemes()) >= {"xavier_uniform", "xavier_uniform_", "glorot_uniform"}
