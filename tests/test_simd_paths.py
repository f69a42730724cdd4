"""Corners of the SIMD paths that test_determinism's fills do not reach, each checked bit for bit
against the portable reference path:

- a block counter whose high word is not zero for the narrow dtypes (float32 groups of 64 elements
  reach block 2**32 only at element 2**34; the AVX2 Philox computes rounds 1 and 2 partly in scalar
  from that word);
- every pattern of tail lanes in the float64 probit (lanes with q > 0.425, about 15%, are packed
  into as few vectors as possible and put back; all 16 patterns of a 4-lane AVX2 vector, and
  stream positions of every residue, need a few hundred thousand draws).
"""
import numpy as np
import pytest

import fastinit


def fills_on_every_path(fill):
    out = []
    for path in fastinit.available_simd_paths():
        with fastinit.simd_path_used(path):
            out.append((path, fill().view(np.uint8)))
    return out


@pytest.mark.parametrize("kernel,args", [
    (fastinit.uniform_, (-1.0, 2.0)),
    (fastinit.normal_, (0.5, 2.0)),
    (fastinit.trunc_normal_, (0.0, 1.0, -2.0, 2.0)),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.float64])
@pytest.mark.parametrize("offset", [2**34 - 70, 2**45 + 13])
def test_high_counter_word_matches_reference(kernel, args, dtype, offset):
    results = fills_on_every_path(
        lambda: kernel(np.empty(4_099, dtype), *args, seed=2**40 + 9, stream=2**35 + 1, offset=offset))
    for path, r in results[1:]:
        assert np.array_equal(r, results[0][1]), path


@pytest.mark.parametrize("kernel,args", [
    (fastinit.normal_, (0.0, 1.0)),
    (fastinit.trunc_normal_, (0.0, 1.0, -3.0, 3.0)),
])
def test_float64_tail_lane_patterns_match_reference(kernel, args):
    results = fills_on_every_path(lambda: kernel(np.empty(400_003, np.float64), *args, seed=5, offset=7))
    for path, r in results[1:]:
        assert np.array_equal(r, results[0][1]), path


@pytest.mark.parametrize("args", [
    (0.0, 1.0, -2.0, 2.0),     # symmetric: the side is k's top bit, up to the rounding near 1/2
    (0.0, 1.0, -1.0, 3.0),     # asymmetric: the side threshold off 2^31
    (0.3, 0.7, -1.2, 0.9),     # scale != 1
    (1.0, 2.0, 1.5, 6.0),      # a above the mean: every draw from the upper end (no threshold)
    (0.0, 1.0, -5.0, -0.5),    # b below the mean: every draw from the lower end
    (0.0, 1.0, -6.0, 6.0),     # tails in the probit's far region
])
@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_trunc_side_by_draw_matches_reference(args, dtype):
    """The AVX2 truncated normal takes its side (which end's probability it inverts) from a
    per-fill threshold on the draw instead of comparing both ends' probabilities."""
    results = fills_on_every_path(lambda: fastinit.trunc_normal_(np.empty(200_003, dtype), *args, seed=11, offset=5))
    for path, r in results[1:]:
        assert np.array_equal(r, results[0][1]), path
