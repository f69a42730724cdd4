"""Philox4x32-10 against Random123's published known-answer vectors, and the fill layout."""
import numpy as np
import pytest

import fastinit
from conftest import element_bits32, element_bits64

# Random123 kat_vectors, philox4x32 with 10 rounds: (counter, key, expected)
KAT = [
    ([0, 0, 0, 0], [0, 0], [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]),
    ([0xFFFFFFFF] * 4, [0xFFFFFFFF] * 2, [0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD]),
    ([0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344], [0xA4093822, 0x299F31D0],
     [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1]),
]


@pytest.mark.parametrize("ctr,key,expected", KAT)
def test_known_answers(ctr, key, expected):
    out = fastinit.philox4x32(np.array([ctr], dtype=np.uint32), np.array(key, dtype=np.uint32))
    assert out.dtype == np.uint32 and out.shape == (1, 4)
    assert out[0].tolist() == expected


def test_many_rows_match_single_rows():
    ctr = np.random.default_rng(0).integers(0, 2**32, size=(100, 4), dtype=np.uint32)
    key = np.array([7, 9], dtype=np.uint32)
    batch = fastinit.philox4x32(ctr, key)
    for i in (0, 17, 99):
        assert np.array_equal(batch[i], fastinit.philox4x32(ctr[i:i + 1], key)[0])


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"shape \(n, 4\)"):
        fastinit.philox4x32(np.zeros((3, 3), np.uint32), [0, 0])
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        fastinit.philox4x32(np.zeros((3, 4), np.uint32), [0, 0, 0])
    with pytest.raises(TypeError, match="integers"):
        fastinit.philox4x32(np.zeros((3, 4)), [0, 0])
    with pytest.raises(ValueError, match=r"\[0, 2\*\*32\)"):
        fastinit.philox4x32([[0, 0, 0, 2**32]], [0, 0])


@pytest.mark.parametrize("offset", [0, 5, 64, 1000])
def test_uniform_float32_layout(simd_path, offset):
    """Element i of a float32 uniform fill is (word >> 8) * 2^-24 of its Philox word."""
    seed, stream = 0x0123456789ABCDEF, 0xFEDCBA9876543210
    out = fastinit.uniform_(np.empty(333, np.float32), seed=seed, stream=stream, offset=offset)
    bits = element_bits32(seed, stream, np.arange(offset, offset + 333))
    assert np.array_equal(out, (bits >> 8).astype(np.float32) * np.float32(2.0**-24))


def test_uniform_float64_layout(simd_path):
    seed, stream = 42, 3
    out = fastinit.uniform_(np.empty(200, np.float64), seed=seed, stream=stream, offset=7)
    bits = element_bits64(seed, stream, np.arange(7, 207))
    assert np.array_equal(out, (bits >> np.uint64(11)).astype(np.float64) * 2.0**-53)


def test_indices_beyond_2_to_32():
    """64-bit indices: a shard far beyond 2^32 elements is filled from its own counters."""
    off = 3 * 2**32 + 12345
    out = fastinit.uniform_(np.empty(100, np.float32), seed=1, offset=off)
    bits = element_bits32(1, 0, np.arange(off, off + 100, dtype=np.uint64))
    assert np.array_equal(out, (bits >> 8).astype(np.float32) * np.float32(2.0**-24))
