"""Bad input: a clear TypeError/ValueError naming the problem, and nothing written."""
import numpy as np
import pytest

import fastinit

SENTINEL = 12345.0


def fresh(dtype=np.float32, n=100):
    return np.full(n, SENTINEL, dtype=dtype)


CASES = [
    # (call, exception, message pattern)
    (lambda o: fastinit.uniform_(o, 1.0, 0.0), ValueError, "low must be <= high"),
    (lambda o: fastinit.uniform_(o, np.nan, 1.0), ValueError, "low must be a finite number"),
    (lambda o: fastinit.uniform_(o, 0.0, np.inf), ValueError, "high must be a finite number"),
    (lambda o: fastinit.uniform_(o, "0", 1.0), TypeError, "low must be a real number"),
    (lambda o: fastinit.uniform_(o, 0.0, 1e39), ValueError, "outside the range of float32"),
    (lambda o: fastinit.normal_(o, 0.0, -1.0), ValueError, "std must be >= 0"),
    (lambda o: fastinit.normal_(o, np.inf, 1.0), ValueError, "mean must be a finite number"),
    (lambda o: fastinit.normal_(o, 0.0, 1e38), ValueError, "beyond float32's largest value"),
    (lambda o: fastinit.trunc_normal_(o, 0.0, 1.0, 2.0, 2.0), ValueError, "a must be < b"),
    (lambda o: fastinit.trunc_normal_(o, 0.0, 1.0, 3.0, -3.0), ValueError, "a must be < b"),
    (lambda o: fastinit.trunc_normal_(o, 0.0, 0.0), ValueError, "std must be > 0"),
    (lambda o: fastinit.trunc_normal_(o, 0.0, 1.0, np.nan, 1.0), ValueError, "a must be a number or ±inf"),
    (lambda o: fastinit.trunc_normal_(o, 0.0, 1.0, 40.0, 41.0), ValueError, "too far in the tail"),
    (lambda o: fastinit.trunc_normal_(o, 0.0, 1.0, -np.inf, -40.0), ValueError, "too far in the tail"),
    (lambda o: fastinit.trunc_normal_(o, 0.0, 1e38, 0.0, np.inf), ValueError, "reaches beyond float32"),
    (lambda o: fastinit.uniform_(o, seed=-1), ValueError, r"seed must be an integer in \[0, 18446744073709551616\)"),
    (lambda o: fastinit.uniform_(o, seed=2**64), ValueError, "seed must be an integer"),
    (lambda o: fastinit.uniform_(o, seed=1.5), TypeError, "seed must be an integer"),
    (lambda o: fastinit.uniform_(o, seed=True), TypeError, "seed must be an integer"),
    (lambda o: fastinit.uniform_(o, stream=-3), ValueError, "stream must be an integer"),
    (lambda o: fastinit.uniform_(o, stream="a"), TypeError, "stream must be an integer"),
    (lambda o: fastinit.uniform_(o, offset=-1), ValueError, "offset must be an integer"),
    (lambda o: fastinit.uniform_(o, offset=2**62 - 10), ValueError, r"offset \+ out.size"),
    (lambda o: fastinit.uniform_(o, num_threads=0), ValueError, "num_threads must be an integer"),
    (lambda o: fastinit.uniform_(o, dtype="int8"), TypeError, "dtype='int8' is not supported"),
]


@pytest.mark.parametrize("call,exc,pattern", CASES)
def test_bad_parameters_write_nothing(call, exc, pattern):
    out = fresh()
    with pytest.raises(exc, match=pattern):
        call(out)
    assert (out == SENTINEL).all()


@pytest.mark.parametrize("dtype", [np.int32, np.uint8, np.complex64, object, np.bool_])
def test_unsupported_dtypes(dtype):
    out = np.zeros(10, dtype=dtype)
    before = out.copy()
    with pytest.raises(TypeError, match="fastinit fills float32, float64, float16 and bfloat16"):
        fastinit.normal_(out, seed=0)
    assert np.array_equal(out, before)


def test_read_only_buffer():
    out = fresh()
    out.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        fastinit.uniform_(out, seed=0)
    assert (out == SENTINEL).all()


def test_non_contiguous_buffer():
    base = np.full((10, 10), SENTINEL, np.float32)
    with pytest.raises(ValueError, match="C-contiguous"):
        fastinit.uniform_(base[:, ::2], seed=0)
    with pytest.raises(ValueError, match="C-contiguous"):
        fastinit.uniform_(base.T, seed=0)
    assert (base == SENTINEL).all()


def test_unaligned_and_byteswapped_buffers():
    raw = np.zeros(4 * 10 + 1, np.uint8)
    unaligned = raw[1:].view(np.float32)
    with pytest.raises(ValueError, match="not aligned"):
        fastinit.uniform_(unaligned, seed=0)
    assert not raw.any()
    with pytest.raises(TypeError, match="byte order"):
        fastinit.uniform_(np.zeros(4, ">f4"), seed=0)


def test_not_an_array():
    with pytest.raises(TypeError, match="numpy.ndarray"):
        fastinit.uniform_([0.0, 1.0], seed=0)


def test_dtype_override_must_match_uint16():
    with pytest.raises(TypeError, match="does not match"):
        fastinit.uniform_(np.zeros(4, np.float32), dtype="bfloat16", seed=0)


def test_no_representable_value():
    with pytest.raises(ValueError, match="no float16 value lies in"):
        fastinit.uniform_(np.zeros(4, np.float16), 1.0001, 1.0002, seed=0)
    with pytest.raises(ValueError, match="no float16 value lies in"):
        fastinit.trunc_normal_(np.zeros(4, np.float16), 1.0, 1.0, 1.0001, 1.0002, seed=0)


@pytest.mark.parametrize("name", ["xavier_uniform_", "xavier_normal_"])
def test_negative_gain(name):
    """Named as the caller passed it (not as the uniform bounds or std it would have become)."""
    out = np.full((8, 4), SENTINEL, np.float32)
    with pytest.raises(ValueError, match=r"gain must be >= 0; got -1.0"):
        getattr(fastinit, name)(out, gain=-1.0, seed=0)
    with pytest.raises(ValueError, match=r"gain must be >= 0; got -1.0"):
        fastinit.init((8, 4), name, gain=-1, seed=0)
    assert (out == SENTINEL).all()
    assert np.array_equal(getattr(fastinit, name)(out, gain=0.0, seed=0), np.zeros((8, 4), np.float32))


HUGE = 10 ** 400   # beyond float64: float(HUGE) raises OverflowError


@pytest.mark.parametrize("call,name", [
    (lambda o: fastinit.normal_(o, HUGE), "mean"),
    (lambda o: fastinit.normal_(o, 0.0, HUGE), "std"),
    (lambda o: fastinit.uniform_(o, -HUGE, 1.0), "low"),
    (lambda o: fastinit.trunc_normal_(o, 0.0, 1.0, -HUGE, 1.0), "a"),      # a and b also take ±inf
    (lambda o: fastinit.trunc_normal_(o, 0.0, 1.0, 0.0, HUGE), "b"),
    (lambda o: fastinit.init(o, "normal", mean=HUGE), "mean"),
    (lambda o: fastinit.init(o, "uniform_", a=-HUGE), "a"),
    (lambda o: fastinit.init(o, "uniform", high=HUGE), "high"),
    (lambda o: fastinit.init(o, "constant_", val=HUGE), "val"),
    (lambda o: fastinit.init(o.reshape(10, 10), "xavier_uniform_", gain=HUGE), "gain"),
    (lambda o: fastinit.init(o.reshape(10, 10), "kaiming_normal_", a=HUGE), "a"),
    (lambda o: fastinit.init(o.reshape(10, 10), "orthogonal_", gain=-HUGE), "gain"),
    (lambda o: fastinit.init(o.reshape(10, 10), "identity", gain=HUGE), "gain"),
    (lambda o: fastinit.init(o.reshape(10, 10), "variance_scaling", scale=HUGE), "scale"),
    (lambda o: fastinit.init(o.reshape(10, 10), "sparse_", sparsity=HUGE), "sparsity"),
    (lambda o: fastinit.init(o.reshape(10, 10), "sparse_", sparsity=0.1, std=HUGE), "std"),
    (lambda o: fastinit.init(o, "truncated_normal", mean=HUGE), "mean"),
    (lambda o: fastinit.init(o, "truncated_normal", stddev=HUGE), "stddev"),
    (lambda o: fastinit.init(o, "random_uniform", maxval=HUGE), "maxval"),
    (lambda o: fastinit.init(o, "random_normal", stddev=HUGE), "stddev"),
    (lambda o: fastinit.init(o.reshape(10, 10), "torch_embedding", padding_idx=HUGE), "padding_idx"),
    (lambda o: fastinit.init(o.reshape(10, 10), "torch_embedding", padding_idx=-HUGE), "padding_idx"),
    (lambda o: fastinit.init(o.reshape(5, 5, 4), "dirac_", groups=HUGE), "groups"),
    (lambda o: fastinit.uniform_(o, seed=HUGE), "seed"),
    (lambda o: fastinit.uniform_(o, stream=HUGE), "stream"),
    (lambda o: fastinit.uniform_(o, offset=HUGE), "offset"),
    (lambda o: fastinit.uniform_(o, num_threads=HUGE), "num_threads"),
    (lambda o: fastinit.xavier_uniform_(o, full_shape=(HUGE, 1)), "full_shape"),
])
def test_huge_ints_name_the_argument(call, name):
    """A huge int is a ValueError naming the argument and what is accepted, not a bare OverflowError
    (or a 400-digit number, or Python's 'Exceeds the limit for integer string conversion')."""
    out = fresh()
    with pytest.raises(ValueError) as err:
        call(out)
    message = str(err.value)
    assert message.startswith(name) or f" {name}" in message, message
    assert "int of about 401 digits" in message or "within float64's range" in message or "must be" in message
    assert len(message) < 300, message
    assert (out == SENTINEL).all()


def test_huge_int_message_says_what_is_accepted():
    with pytest.raises(ValueError, match=r"^mean must be a finite number within float64's range \(±1.79769e\+308\); "
                                         r"got an int of about 401 digits$"):
        fastinit.init((3,), "normal", mean=HUGE)
    with pytest.raises(ValueError, match=r"^seed must be an integer in \[0, 18446744073709551616\); "
                                         r"got an int of about 5001 digits$"):
        fastinit.init((3,), "normal", seed=10 ** 5000)   # (str() of it would raise: 4300-digit limit)


def test_overflowing_floats_and_axes_name_the_argument():
    out = np.full((8, 4), SENTINEL, np.float32)
    with pytest.raises(ValueError, match=r"^a=1e\+200: the negative slope's square overflows float64"):
        fastinit.kaiming_uniform_(out, a=1e200, seed=0)       # torch: a bare OverflowError from a ** 2
    with pytest.raises(TypeError, match=r"^in_axis must be an axis \(int\) or a sequence of axes; got nan \(float\)$"):
        fastinit.variance_scaling_(out, in_axis=float("nan"), seed=0)
    with pytest.raises(ValueError, match=r"^out_axis=an int of about 401 digits is not a valid axis"):
        fastinit.variance_scaling_(out, out_axis=HUGE, seed=0)
    assert (out == SENTINEL).all()


@pytest.mark.parametrize("name", ["identity", "orthogonal_", "orthogonal"])
def test_gain_beyond_the_dtype_is_refused_not_written_as_inf(name):
    out = np.full((4, 4), SENTINEL, np.float16)
    with pytest.raises(ValueError, match=r"^gain=100000.0 is outside the range of float16 \(±65504\)$"):
        fastinit.init(out, name, gain=1e5, **({} if name == "identity" else {"seed": 0}))
    assert (out == SENTINEL).all()


@pytest.mark.parametrize("name,params,derived,given", [
    ("xavier_uniform_", {"gain": 1e300}, "low=", "(from gain=1e+300)"),
    ("xavier_normal_", {"gain": 1e300}, "std=", "(from gain=1e+300)"),
    ("variance_scaling", {"scale": 1e300, "distribution": "uniform"}, "low=", "(from scale=1e+300)"),
    ("truncated_normal", {"mean": 1e300}, "a must be < b", "(from mean=1e+300, stddev=0.05)"),
    ("random_uniform", {"minval": -1e300}, "low=", "(from minval=-1e+300, maxval=0.05)"),
])
def test_errors_about_derived_values_name_what_was_passed(name, params, derived, given):
    out = np.full((4, 4), SENTINEL, np.float32)
    with pytest.raises(ValueError) as err:
        fastinit.init(out, name, seed=0, **params)
    assert str(err.value).startswith(derived) and str(err.value).endswith(given), str(err.value)
    assert (out == SENTINEL).all()
    with pytest.raises(ValueError, match=r"^stream must be an integer"):   # (not suffixed: it is the caller's)
        fastinit.init(out, name, seed=0, stream=-1, **params)


@pytest.mark.parametrize("dtype", [np.int32, "uint8", np.complex64, bool])
def test_allocating_a_dtype_fastinit_does_not_fill_names_dtype(dtype):
    """The error names dtype=, the argument passed (it used to blame an 'out' the caller never gave)."""
    with pytest.raises(TypeError, match=r"^dtype=\w+: fastinit fills float32, float64, float16 and 'bfloat16'"):
        fastinit.init((3, 4), "normal", seed=1, dtype=dtype)
