"""Distributions: Kolmogorov-Smirnov against scipy.stats, probit accuracy, bounds, rounding of
the 16-bit formats from the float32 sample."""
import numpy as np
import pytest
from scipy import stats
from scipy.special import ndtri

import fastinit
from conftest import element_bits32, element_bits64

ml_dtypes = pytest.importorskip("ml_dtypes")
N = 200_000
P_MIN = 1e-4  # fixed seeds: these are deterministic, not flaky


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("low,high", [(0.0, 1.0), (-3.0, 5.0), (-0.05, 0.05)])
def test_uniform_ks(dtype, low, high):
    x = fastinit.uniform_(np.empty(N, dtype), low, high, seed=11)
    assert x.min() >= low and x.max() < high
    assert stats.kstest(x, stats.uniform(low, high - low).cdf).pvalue > P_MIN


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mean,std", [(0.0, 1.0), (3.0, 0.02), (-1.0, 7.0)])
def test_normal_ks(dtype, mean, std):
    x = fastinit.normal_(np.empty(N, dtype), mean, std, seed=12)
    assert np.isfinite(x).all()
    assert stats.kstest(x, stats.norm(mean, std).cdf).pvalue > P_MIN


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mean,std,a,b", [
    (0.0, 1.0, -2.0, 2.0),        # torch's default
    (0.0, 0.02, -2.0, 2.0),       # absolute bounds far out: effectively normal
    (0.0, 0.002, -2.0, 2.0),      # small std: torch's erfinv path produced outliers here
    (0.0, 1.0, 2.0, 3.0),         # one-sided, narrow
    (0.0, 1.0, -3.0, -2.0),
    (0.0, 1.0, 8.0, 9.0),         # far tail
    (1.0, 2.0, 0.5, 0.5001),      # very narrow
    (0.0, 1.0, -np.inf, 0.5),     # half-infinite
    (0.0, 1.0, -np.inf, -20.0),   # half-infinite, far tail
    (1.0, 0.5, 9.0, np.inf),
    (0.0, 1.0, 12.0, 13.0),       # beyond the float32 probit: float64 fallback
])
def test_trunc_normal_ks_and_bounds(dtype, mean, std, a, b):
    x = fastinit.trunc_normal_(np.empty(N, dtype), mean, std, a, b, seed=13)
    assert np.isfinite(x).all()
    assert x.min() >= a and x.max() <= b
    ref = stats.truncnorm((a - mean) / std, (b - mean) / std, loc=mean, scale=std)
    assert stats.kstest(x, ref.cdf).pvalue > P_MIN
    if (b - a) / std > 0.5:  # (scipy's own kurtosis is unreliable for hair-thin intervals)
        k_ref = ref.stats(moments="k")  # sample kurtosis has a standard error growing with it
        assert abs(stats.kurtosis(x) - k_ref) < 0.05 + 0.1 * abs(k_ref)  # no outliers


def test_normal_float64_matches_as241_accuracy():
    """float64 normal_ is Phi^-1 of its 64-bit draw to ~1e-15 relative (scipy's ndtri as truth)."""
    idx = np.arange(50_000)
    x = fastinit.normal_(np.empty(len(idx)), seed=5)
    k = element_bits64(5, 0, idx)
    upper = (k >> np.uint64(63)).astype(bool)
    a = np.where(upper, ~k, k) & np.uint64(0x7FFFFFFFFFFFFFFF)
    t = (a.astype(np.float64) + 0.5) * 2.0**-64
    z = -ndtri(t)
    z[~upper] *= -1
    # (near 0 the reference, which rounds t to float64 before ndtri, is the less precise one)
    np.testing.assert_allclose(x, z, rtol=2e-14, atol=2e-16)


def test_normal_float32_accuracy():
    """float32 normal_ is Phi^-1 of its 32-bit draw to a few float32 ulps."""
    idx = np.arange(200_000)
    x = fastinit.normal_(np.empty(len(idx), np.float32), seed=6)
    k = element_bits32(6, 0, idx)
    upper = k >= 2**31
    a = np.where(upper, ~k, k).astype(np.int64) & 0x7FFFFFFF
    t = (a + 0.5) * 2.0**-32
    z = np.where(upper, -ndtri(t), ndtri(t))
    np.testing.assert_allclose(x, z, rtol=6e-7, atol=1e-7)
    assert np.abs(x).max() < 6.5


@pytest.mark.parametrize("kernel,args", [
    (fastinit.uniform_, (0.0, 1.0)), (fastinit.uniform_, (-0.1, 0.3)),
    (fastinit.normal_, (0.0, 1.0)), (fastinit.normal_, (0.5, 1e-5)),   # f16 subnormals
    (fastinit.trunc_normal_, (0.0, 1.0, -2.0, 2.0)), (fastinit.trunc_normal_, (0.0, 0.02, -0.03, 0.03)),
])
@pytest.mark.parametrize("fmt", ["float16", "bfloat16"])
def test_16bit_is_correct_rounding_of_float32_sample(kernel, args, fmt):
    n = 100_003
    ref = kernel(np.empty(n, np.float32), *args, seed=21, offset=9)
    dt = np.float16 if fmt == "float16" else ml_dtypes.bfloat16
    out = kernel(np.empty(n, dt), *args, seed=21, offset=9)
    expected = ref.astype(dt)
    if kernel is fastinit.uniform_:  # values rounding outside [low, high) move to the nearest value inside
        low, high = args
        lo = dt(low) if float(dt(low)) >= low else np.nextafter(dt(low), dt(np.inf))
        hi = dt(high)
        while float(hi) >= high:
            hi = np.nextafter(hi, dt(-np.inf))
        e64 = expected.astype(np.float64)
        expected = np.where(e64 < low, lo, np.where(e64 >= high, hi, expected)).astype(dt)
    if kernel is fastinit.trunc_normal_:
        lo, hi = args[2], args[3]
        assert out.astype(np.float64).min() >= lo and out.astype(np.float64).max() <= hi
        inside = (expected.astype(np.float64) >= lo) & (expected.astype(np.float64) <= hi)
        assert np.array_equal(out[inside].view(np.uint16), expected[inside].view(np.uint16))
        assert (~inside).sum() < n * 1e-3
    else:
        assert np.array_equal(out.view(np.uint16), expected.view(np.uint16))
    raw = kernel(np.empty(n, np.uint16), *args, seed=21, offset=9, dtype=fmt)
    assert np.array_equal(raw, out.view(np.uint16))


@pytest.mark.parametrize("fmt", ["float16", "bfloat16"])
def test_no_pile_up_at_bounds(fmt):
    """The bound's cell holds no more than its share: values are not clamped en masse."""
    dt = np.float16 if fmt == "float16" else ml_dtypes.bfloat16
    x = fastinit.trunc_normal_(np.empty(2_000_000, dt), 0.0, 1.0, -2.0, 2.0, seed=3).astype(np.float64)
    values, counts = np.unique(x, return_counts=True)
    assert values[0] >= -2.0 and values[-1] <= 2.0
    # the top cell ([2 - ulp/2, 2]) is half a cell: about half its neighbour's count
    assert counts[-1] < 0.75 * counts[-2] and counts[0] < 0.75 * counts[1]


def test_bounds_not_representable_stay_inside():
    x = fastinit.trunc_normal_(np.empty(1_000_000, np.float16), 0.0, 0.1, -0.1, 0.1, seed=4).astype(np.float64)
    assert x.min() >= -0.1 and x.max() <= 0.1
    u = fastinit.uniform_(np.empty(1_000_000, np.float16), 0.0, 0.1, seed=4).astype(np.float64)
    assert u.min() >= 0.0 and u.max() < 0.1


def test_uniform_high_excluded_after_rounding():
    x = fastinit.uniform_(np.empty(4_000_000, np.float16), 1.0, 2.0, seed=9)
    assert x.max() < 2.0 and x.min() >= 1.0
    assert fastinit.uniform_(np.empty(10), 3.0, 3.0).tolist() == [3.0] * 10


def test_float16_conversion_matches_numpy():
    """The scalar float32 -> float16 rounding used by the reference path, on edge values."""
    from fastinit import _fill
    rng = np.random.default_rng(0)
    vals = np.concatenate([
        rng.standard_normal(20_000).astype(np.float32) * np.float32(2.0) ** rng.integers(-30, 16, 20_000),
        np.array([0.0, -0.0, 65504.0, 65519.0, 6.1035156e-05, 5.9604645e-08, 2.9802322e-08, 1.0 + 2**-11], np.float32),
    ]).astype(np.float32)
    vals = vals[np.abs(vals) < 65520]
    got = np.array([_fill.f32_to_f16_bits(float(v)) for v in vals], np.uint16)
    assert np.array_equal(got, vals.astype(np.float16).view(np.uint16))
    got_bf = np.array([_fill.f32_to_bf16_bits(float(v)) for v in vals], np.uint16)
    assert np.array_equal(got_bf, vals.astype(ml_dtypes.bfloat16).view(np.uint16))
