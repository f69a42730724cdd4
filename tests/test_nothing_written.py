"""Every registry scheme, given bad input of every kind (bad parameters, wrong rank, bad dtype or
buffer, bad full_shape/offset), raises a TypeError/ValueError that says what is wrong, and leaves
the caller's buffer exactly as it was: everything is validated before the first write."""
import inspect
import math
import warnings

import numpy as np
import pytest

import fastinit

SENTINEL = 7.0
SHAPES = [(6, 4), (4, 2, 3), (3, 3, 4, 6)]    # the first a scheme accepts is its "good" shape
REQUIRED = {"sparsity": 0.25, "val": 0.5}    # values for parameters without a default
RNG_PARAMS = {"full_shape", "offset", "dtype", "seed", "stream", "num_threads", "out"}
AXES = {"in_axis", "out_axis", "batch_axis", "column_axis"}
# Ranks each scheme fills (others are an error), for the schemes whose rank is restricted.
RANKS = {"eye": {2}, "identity": {2}, "sparse": {2}, "dirac": {3, 4, 5}, "orthogonal": {2, 3, 4, 5},
         "torchrec_embedding": {2}, "dlrm_embedding": {2}, "delta_orthogonal": {3, 4, 5},
         **{n: {2, 3, 4, 5} for n in ("xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal",
                                      "variance_scaling", "lecun_uniform", "lecun_normal")}}
KERAS_ORTHOGONAL_RANKS = {2, 3, 4, 5}        # Keras' orthogonal also needs 2 dims
KERAS_FAN_RANKS = {0, 1, 2, 3, 4, 5}         # Keras' compute_fans takes any rank


def _good_params(fn) -> dict:
    params = {}
    for p in inspect.signature(fn).parameters.values():
        if p.default is inspect.Parameter.empty and p.name != "out":
            assert p.name in REQUIRED, f"add a good value for required parameter {p.name!r} to REQUIRED"
            params[p.name] = REQUIRED[p.name]
    return params


def _setup(name):
    """(record, good shape, good parameters incl. seed) for a scheme."""
    rec = fastinit.scheme(name)
    params = _good_params(rec.fn)
    if rec.random:
        params["seed"] = 3
    for shape in SHAPES:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rec.fn(np.empty(shape, np.float32), **params)
            return rec, shape, params
        except ValueError:
            continue
    raise AssertionError(f"{name}: none of {SHAPES} is accepted with {params}")


def _assert_refused(call, buf, what, names=()):
    """call() raises TypeError/ValueError (message short, naming one of names), buf untouched."""
    before = buf.copy()
    with pytest.raises((TypeError, ValueError)) as err:
        call()
    message = str(err.value)
    assert np.array_equal(buf, before, equal_nan=True), f"{what}: wrote into the buffer before raising {message!r}"
    assert len(message) < 400 and "\n" not in message, f"{what}: message too long: {message[:500]!r}"
    if names:
        assert any(n in message for n in names), f"{what}: {message!r} does not name {names}"
    return message


def _bad_values(p: inspect.Parameter):
    if p.name in AXES:
        return [99]
    if isinstance(p.default, str):
        return ["bogus", 3]
    # numbers (gain, std, val, a, b, scale, sparsity, groups, padding_idx, low, high, ...)
    return [math.nan, 10 ** 400, -10 ** 400, "1"]


# the names a parameter's errors may go by: uniform's torch names a/b have the kernel's as aliases,
# and torch's own messages (kept) call a bad kaiming `a` negative_slope and a bad mode "Mode"
ALSO_NAMED = {"a": ("negative_slope",), "mode": ("Mode",)}


@pytest.mark.parametrize("name", fastinit.schemes())
def test_bad_parameters(name):
    rec, shape, good = _setup(name)
    for p in inspect.signature(rec.fn).parameters.values():
        if p.name in RNG_PARAMS:
            continue
        for bad in _bad_values(p):
            buf = np.full(shape, SENTINEL, np.float32)
            params = {**good, p.name: bad}
            _assert_refused(lambda: fastinit.init(buf, name, **params), buf, f"{name}({p.name}={bad!r})",
                            names=(p.name,) + ALSO_NAMED.get(p.name, ()))
    buf = np.full(shape, SENTINEL, np.float32)
    _assert_refused(lambda: fastinit.init(buf, name, bogus=1, **good), buf, f"{name}(bogus=1)", names=("bogus",))


@pytest.mark.parametrize("name", [n for n in fastinit.schemes() if fastinit.scheme(n).random])
def test_bad_seed_stream_threads(name):
    rec, shape, good = _setup(name)
    for key, bad in [("seed", -1), ("seed", 2 ** 64), ("seed", 1.5), ("seed", 10 ** 400), ("stream", -1),
                     ("stream", 2 ** 64), ("num_threads", 0), ("num_threads", "4")]:
        buf = np.full(shape, SENTINEL, np.float32)
        params = {**good, key: bad}
        if key == "seed":
            call = lambda: fastinit.init(buf, name, **params)  # noqa: E731
        else:
            call = lambda: rec.fn(buf, **params)  # noqa: E731
        _assert_refused(call, buf, f"{name}({key}={bad!r})", names=(key,))


@pytest.mark.parametrize("name", fastinit.schemes())
def test_wrong_rank(name):
    rec, _, good = _setup(name)
    accepted = set()
    for rank in range(6):
        shape = (2, 2, 2, 3, 4)[5 - rank:]   # (fan_in <= fan_out for delta_orthogonal)
        buf = np.full(shape, SENTINEL, np.float32)
        before = buf.copy()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fastinit.init(buf, name, **good)
            accepted.add(rank)
        except (TypeError, ValueError):
            assert np.array_equal(buf, before), f"{name}: rank {rank} refused after writing"
    base = name.rstrip("_")
    if base == "orthogonal" and not name.endswith("_"):
        expected = KERAS_ORTHOGONAL_RANKS
    elif base in ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform", "lecun_normal") \
            and not name.endswith("_"):
        expected = KERAS_FAN_RANKS
    else:
        expected = RANKS.get(base, set(range(6)))
    assert accepted == expected, name


def test_padding_idx_needs_a_2d_table():
    for shape in [(4, 3, 2), (12,)]:
        buf = np.full(shape, SENTINEL, np.float32)
        message = _assert_refused(lambda: fastinit.init(buf, "torch_embedding", padding_idx=1, seed=0), buf,
                                  f"torch_embedding{shape}", names=("padding_idx",))
        assert "2-D (num_embeddings, embedding_dim)" in message
    for bad in (6, -7, 10 ** 400, 1.0, True):   # out of range for 6 rows, or not an int
        buf = np.full((6, 4), SENTINEL, np.float32)
        _assert_refused(lambda: fastinit.init(buf, "torch_embedding", padding_idx=bad, seed=0), buf,
                        f"padding_idx={bad!r}", names=("padding_idx",))
    w = fastinit.init((6, 4), "torch_embedding", padding_idx=-1, seed=0)
    assert (w[5] == 0).all() and (w[:5] != 0).all()


@pytest.mark.parametrize("name", fastinit.schemes())
def test_bad_buffers(name):
    rec, shape, good = _setup(name)
    ints = np.full(shape, 7, np.int32)
    _assert_refused(lambda: fastinit.init(ints, name, **good), ints, f"init {name} int32", names=("integer numpy array",))
    _assert_refused(lambda: rec.fn(ints, **good), ints, f"{name} int32", names=("fastinit fills float32",))
    bf16 = np.full(shape, SENTINEL, np.float32)
    _assert_refused(lambda: rec.fn(bf16, dtype="bfloat16", **good), bf16, f"{name} bfloat16", names=("does not match",))
    f64 = np.full(shape, SENTINEL, np.float64)
    _assert_refused(lambda: fastinit.init(f64, name, dtype=np.float32, **good), f64, f"{name} f64", names=("does not match",))
    read_only = np.full(shape, SENTINEL, np.float32)
    read_only.flags.writeable = False
    _assert_refused(lambda: fastinit.init(read_only, name, **good), read_only, f"{name} read-only", names=("read-only",))
    base = np.full(shape[::-1], SENTINEL, np.float32)
    _assert_refused(lambda: fastinit.init(base.T, name, **good), base, f"{name} transposed", names=("C-contiguous",))


@pytest.mark.parametrize("name", fastinit.schemes())
def test_bad_full_shape_and_offset(name):
    rec, shape, good = _setup(name)
    size = math.prod(shape)
    cases = [
        ({"offset": -1}, "offset"), ({"offset": 1}, "needs full_shape="), ({"offset": 10 ** 400}, "offset"),
        ({"offset": 1.0}, "offset"), ({"full_shape": (size - 1,)}, "does not fit"),
({"full_shape": "6x4"}, "full_shape"),
        ({"full_shape": (6, -4)}, "full_shape"), ({"full_shape": 24}, "full_shape"),
        ({"full_shape": shape, "offset": 2 ** 62}, "offset"),
    ]
    if len(shape) == 2:   # a shard of a bigger whole, at the wrong place
        cases.append(({"full_shape": (shape[0] + 1, shape[1]), "offset": shape[1] + 1}, "does not fit"))
    if name.rstrip("_") in ("uniform", "normal", "trunc_normal"):
        # the kernels' records: their fill has no end, so an offset without full_shape is fine
        cases = [c for c in cases if c[0] != {"offset": 1}]
    for shard, match in cases:
        buf = np.full(shape, SENTINEL, np.float32)
        _assert_refused(lambda: rec.fn(buf, **shard, **good), buf, f"{name} {shard}", names=(match,))


@pytest.mark.parametrize("name", fastinit.schemes())
def test_fill_block_refuses_without_writing(name):
    rec, shape, good = _setup(name)
    for key, bad in [("bogus", 1)] + [(p, math.nan) for p in inspect.signature(rec.fn).parameters
                                       if p in ("gain", "std", "mean", "val", "scale", "sparsity", "a", "b")]:
        buf = np.full(shape, SENTINEL, np.float32)
        params = {**good, key: bad}
        index = tuple(slice(0, n) for n in shape)
        _assert_refused(lambda: fastinit.fill_block(buf, name, shape, index, **params), buf, f"fill_block {name} {key}={bad!r}", names=(key,))
