"""Schemes are declared once: the public names, fastinit.torch, fastinit.keras and fastinit.jax are
made from the records, and a new record is everywhere without another edit."""
import inspect
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastinit
from fastinit import _executor
from fastinit.initializers import SCHEMES


def test_every_record_is_reachable_by_each_of_its_names():
    for rec in SCHEMES:
        for name in (rec.name, *rec.aliases):
            assert fastinit.scheme(name) is rec
        if rec.export:
            assert getattr(fastinit, rec.fn.__name__) is rec.fn and rec.fn.__name__ in fastinit.__all__


def test_the_adapters_lists_are_the_records():
    torch = pytest.importorskip("torch")
    import fastinit.torch as ft
    names = [rec.torch for rec in SCHEMES if rec.torch]
    assert names and all(n in ft.__all__ and callable(getattr(ft, n)) for n in names)
    assert all(hasattr(torch.nn.init, n) for n in names)
    random = {rec.torch: rec.random for rec in SCHEMES if rec.torch}
    for name, is_random in random.items():
        assert ("generator" in inspect.signature(getattr(ft, name)).parameters) == is_random, name


def test_the_in_place_functions_share_one_tail():
    """Each in-place function is made from its plan: out, the plan's own parameters, then the tail."""
    tail_random = ["full_shape", "offset", "seed", "stream", "num_threads", "dtype"]
    for rec in SCHEMES:
        params = list(inspect.signature(rec.fn).parameters)
        own = list(inspect.signature(rec.plan).parameters)[2:]
        tail = tail_random if rec.random else ["full_shape", "offset", "dtype"]
        assert params == ["out", *own, *tail], rec.name


def test_a_block_fill_checks_the_parameters_once(monkeypatch):
    """Many runs (a block of narrow columns) and one plan: the scheme's checks run once per call."""
    import fastinit.initializers.variance as variance
    calls = []
    real_fans = variance.fans_or_none
    monkeypatch.setattr(variance, "fans_or_none", lambda *a: calls.append(a) or real_fans(*a))
    monkeypatch.setattr(_executor, "LONG_RUN", 4)   # every row of the block is a run of its own
    out = np.empty((300, 3), np.float32)
    fastinit.fill_block(out, "xavier_uniform", (300, 64), (slice(0, 300), slice(10, 13)), seed=1)
    assert len(calls) == 1
    assert np.array_equal(out, fastinit.init((300, 64), "xavier_uniform", seed=1)[:, 10:13])


NEW_SCHEME = textwrap.dedent('''
    import math, sys
    import numpy as np
    from fastinit import kernels
    from fastinit.initializers._declare import fans_or_none, scheme

    @scheme("half_lecun", random=True, jax="half_lecun")
    def half_lecun(shape, fmt, *, layout="keras", in_axis=None, out_axis=None, batch_axis=()):
        """U(±sqrt(3 / fan_in) / 2): a scheme declared by a test."""
        fans = fans_or_none(shape, layout, in_axis, out_axis, batch_axis)
        bound = math.sqrt(3.0 / fans[0]) / 2
        return kernels.uniform(shape, fmt, -bound, bound)

    import fastinit, fastinit.jax as fj, jax
    whole = fastinit.init((40, 24), "half_lecun", seed=7)
    assert 0 < np.abs(whole).max() <= math.sqrt(3.0 / 40) / 2
    block = fastinit.fill_block(np.empty((10, 24), np.float32), "half_lecun", (40, 24), (slice(30, 40),), seed=7)
    assert np.array_equal(block, whole[30:])
    assert np.array_equal(np.asarray(fj.half_lecun()(jax.random.key(7), (40, 24))), whole)
    assert "half_lecun" in fastinit.schemes() and "half_lecun" in fj.__all__
    print("ok")
''')


def test_a_new_record_is_a_scheme_everywhere():
    pytest.importorskip("jax")
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    run = subprocess.run([sys.executable, "-c", NEW_SCHEME], capture_output=True, text=True, timeout=120, env=env)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr[-3000:]


def test_the_empty_tensor_warning_points_at_the_callers_line():
    """The warning is attributed to the caller's own line, whatever the entry point's depth."""
    for call in (lambda: fastinit.xavier_uniform_(np.empty((0, 3), np.float32)),
                 lambda: fastinit.init((0, 3), "kaiming_normal", seed=1),
                 lambda: fastinit.init((0, 3), "glorot_uniform", seed=1)):
        with pytest.warns(UserWarning, match="zero-element") as caught:
            call()
        assert caught[0].filename == __file__, caught[0].filename
