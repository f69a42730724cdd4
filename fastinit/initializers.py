"""Initialization schemes of torch.nn.init, Keras and JAX, as plain Python over the kernels.

Every in-place form fills ``out`` (a numpy array; see fastinit.torch for tensors) and returns it.
Random schemes take ``seed``, ``stream`` and ``num_threads`` like the kernels.  Every scheme takes
``full_shape=`` (the whole tensor, used for fans and structure) and ``offset=`` (the row-major
index of out's first element in that whole), so a worker filling a shard gets exactly its slice
of the whole fill.  Names spelled as in torch follow torch (layout (out, in, *receptive));
Keras/JAX names (glorot_*, he_*, lecun_*, ...) follow Keras, including its channels-last layout
and truncated normals.
"""
from __future__ import annotations

import contextlib
import inspect
import math
import numbers
import warnings
from typing import Sequence

import numpy as np

from . import _seeding
from . import _validate as check
from ._formats import encode
from .fans import calculate_fans, calculate_gain
from .kernels import normal_, philox4x32, trunc_normal_, uniform_

# Std of a standard normal truncated to [-2, 2]: Keras/JAX divide by it so that a "truncated
# normal" variance-scaling init keeps the target variance.
TRUNCATED_NORMAL_STD = 0.87962566103423978

_MODES = ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")
_DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "normal", "uniform")


# ---------------------------------------------------------------- plumbing

def _whole(out, full_shape, offset, dtype=None):
    """Validate out and the shard description; returns (out, fmt, whole shape, offset)."""
    out, fmt = check.out_array(out, dtype)
    shape, off = check.shard(full_shape, offset, out.shape)
    if full_shape is None and off:   # (the kernels allow it: their fill has no end; a scheme's whole is out)
        raise ValueError(f"offset={off} needs full_shape= (the whole tensor out is a shard of); without "
                         "full_shape, out is the whole tensor, at offset 0")
    return out, fmt, shape, off


def _fans_or_none(out, full_shape, offset, dtype, layout, in_axis, out_axis, batch_axis):
    out, fmt, shape, off = _whole(out, full_shape, offset, dtype)
    fans = calculate_fans(shape, layout, in_axis, out_axis, batch_axis)
    if math.prod(shape) == 0:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return None
    return fans


def _fan(fans, mode):
    fan_in, fan_out = fans
    if mode == "fan_in":
        return fan_in
    if mode == "fan_out":
        return fan_out
    if mode == "fan_avg":
        return (fan_in + fan_out) / 2.0
    return math.sqrt(fan_in * fan_out)


def _check_mode(mode, allowed):
    if not isinstance(mode, str) or mode.lower() not in allowed:
        raise ValueError(f"Mode {mode} not supported, please use one of {list(allowed)}")
    return mode.lower()


def _write(out, fmt, values):
    out.reshape(-1)[...] = encode(np.asarray(values).reshape(-1), out, fmt)
    return out


@contextlib.contextmanager
def _derived_from(seed, stream, num_threads, **given):
    """A kernel's error about a value the scheme derived (a bound, a std) also names what the caller
    passed (gain=1e300 -> "low=-8.7e+299 is outside ... (from gain=1e+300)").  seed, stream and
    num_threads are checked first, so any error left is about the derived values."""
    if seed is not None:
        check.uint64("seed", seed)
    check.uint64("stream", stream)
    check.threads(num_threads)
    try:
        yield
    except ValueError as e:
        raise ValueError(f"{e} (from {', '.join(f'{k}={check.short_repr(v)}' for k, v in given.items())})") from None


def _derived_seed(seed: int, tag: int) -> int:
    """An independent 64-bit seed for a scheme's auxiliary randomness (sparse_'s zero pattern)."""
    w = philox4x32([[seed & 0xFFFFFFFF, seed >> 32, tag, 0]], [0x66617374, 0x696E6974])[0]
    return int(w[0]) | (int(w[1]) << 32)


# ---------------------------------------------------------------- constants and structure

def constant_(out: np.ndarray, val: float, *, full_shape: Sequence[int] | None = None, offset: int = 0,
              dtype=None) -> np.ndarray:
    """Fill with val (rounded to out's dtype)."""
    out, fmt, _, _ = _whole(out, full_shape, offset, dtype)
    v = check.real("val", val, allow_inf=True)
    if math.isfinite(v) and abs(v) > fmt.max:
        raise ValueError(f"val={v} is outside the range of {fmt.name} (±{fmt.max:.6g})")
    out.reshape(-1)[...] = encode(np.array([v]), out, fmt)[0]
    return out


def zeros_(out: np.ndarray, *, full_shape=None, offset: int = 0, dtype=None) -> np.ndarray:
    """Fill with 0."""
    return constant_(out, 0.0, full_shape=full_shape, offset=offset, dtype=dtype)


def ones_(out: np.ndarray, *, full_shape=None, offset: int = 0, dtype=None) -> np.ndarray:
    """Fill with 1."""
    return constant_(out, 1.0, full_shape=full_shape, offset=offset, dtype=dtype)


def _ones_at(out, fmt, flat_indices, offset, value=1.0):
    """Zero out, then set the elements whose whole-tensor flat index is listed."""
    vals = np.zeros(out.size)
    idx = np.asarray(flat_indices, dtype=np.int64) - offset
    vals[idx[(idx >= 0) & (idx < out.size)]] = value
    return _write(out, fmt, vals)


def eye_(out: np.ndarray, *, full_shape=None, offset: int = 0, dtype=None) -> np.ndarray:
    """The identity matrix (2-D only), as torch.nn.init.eye_."""
    out, fmt, shape, off = _whole(out, full_shape, offset, dtype)
    if len(shape) != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    k = np.arange(min(shape))
    return _ones_at(out, fmt, k * shape[1] + k, off)


def dirac_(out: np.ndarray, groups: int = 1, *, full_shape=None, offset: int = 0, dtype=None) -> np.ndarray:
    """Dirac delta for {3,4,5}-D conv weights (identity-preserving convolution), as torch.nn.init.dirac_:
    out[g * (O / groups) + d, d, center...] = 1 for d < min(O / groups, I)."""
    out, fmt, shape, off = _whole(out, full_shape, offset, dtype)
    if len(shape) not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    groups = check.integer("groups", groups, 1, 1 << 62)
    if shape[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    per_group = shape[0] // groups
    d = np.arange(min(per_group, shape[1]))
    centre = tuple(s // 2 for s in shape[2:])
    rows = (np.arange(groups)[:, None] * per_group + d[None, :]).ravel()
    cols = np.tile(d, groups)
    index = np.ravel_multi_index((rows, cols) + tuple(np.full_like(rows, c) for c in centre), shape) if len(rows) else []
    return _ones_at(out, fmt, index, off)


def identity(out: np.ndarray, gain: float = 1.0, *, full_shape=None, offset: int = 0, dtype=None) -> np.ndarray:
    """Keras Identity(gain=1.0): gain * I, 2-D only."""
    out, fmt, shape, off = _whole(out, full_shape, offset, dtype)
    if len(shape) != 2:
        raise ValueError("Identity matrix initializer can only be used for 2D matrices")
    gain = check.real("gain", gain)
    if abs(gain) > fmt.max:   # (it would be written as inf)
        raise ValueError(f"gain={gain} is outside the range of {fmt.name} (±{fmt.max:.6g})")
    k = np.arange(min(shape))
    return _ones_at(out, fmt, k * shape[1] + k, off, value=gain)


# ---------------------------------------------------------------- fan-based schemes (torch names)

def _xavier_std(fans, gain):
    gain = check.real("gain", gain)
    if gain < 0:  # a negative gain would surface later as a bound error in names the caller never passed
        raise ValueError(f"gain must be >= 0; got {gain}")
    return gain * math.sqrt(2.0 / float(fans[0] + fans[1]))


def xavier_uniform_(out: np.ndarray, gain: float = 1.0, *, layout: str = "torch", in_axis=None, out_axis=None,
                    batch_axis=(), full_shape=None, offset: int = 0, seed: int | None = None, stream: int = 0,
                    num_threads: int | None = None, dtype=None) -> np.ndarray:
    """U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)).  Glorot & Bengio (2010)."""
    fans = _fans_or_none(out, full_shape, offset, dtype, layout, in_axis, out_axis, batch_axis)
    if fans is None:
        return out
    a = math.sqrt(3.0) * _xavier_std(fans, gain)  # torch's order of operations: the bound matches to the bit
    with _derived_from(seed, stream, num_threads, gain=gain):
        return uniform_(out, -a, a, seed=seed, stream=stream, offset=offset, num_threads=num_threads, dtype=dtype)


def xavier_normal_(out: np.ndarray, gain: float = 1.0, *, layout: str = "torch", in_axis=None, out_axis=None,
                   batch_axis=(), full_shape=None, offset: int = 0, seed: int | None = None, stream: int = 0,
                   num_threads: int | None = None, dtype=None) -> np.ndarray:
    """N(0, std²), std = gain * sqrt(2 / (fan_in + fan_out)).  Glorot & Bengio (2010)."""
    fans = _fans_or_none(out, full_shape, offset, dtype, layout, in_axis, out_axis, batch_axis)
    if fans is None:
        return out
    std = _xavier_std(fans, gain)
    with _derived_from(seed, stream, num_threads, gain=gain):
        return normal_(out, 0.0, std, seed=seed, stream=stream, offset=offset, num_threads=num_threads, dtype=dtype)


def _kaiming_std(fans, a, mode, nonlinearity):
    if isinstance(a, numbers.Real) and not isinstance(a, bool):
        check.real("a", a)   # nan/inf/a huge int: an error naming a (calculate_gain keeps torch's own messages)
    fan = _fan(fans, _check_mode(mode, ("fan_in", "fan_out")))
    try:
        gain = calculate_gain(nonlinearity, a)
    except OverflowError:   # a ** 2 beyond float64 (|a| > ~1.3e154)
        raise ValueError(f"a={a!r}: the negative slope's square overflows float64; |a| must be below 1e154") from None
    return gain / math.sqrt(fan)


def kaiming_uniform_(out: np.ndarray, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", *,
                     layout: str = "torch", in_axis=None, out_axis=None, batch_axis=(), full_shape=None,
                     offset: int = 0, seed: int | None = None, stream: int = 0, num_threads: int | None = None,
                     dtype=None) -> np.ndarray:
    """U(-b, b), b = gain * sqrt(3 / fan), gain = calculate_gain(nonlinearity, a).  He et al. (2015)."""
    fans = _fans_or_none(out, full_shape, offset, dtype, layout, in_axis, out_axis, batch_axis)
    if fans is None:
        return out
    bound = math.sqrt(3.0) * _kaiming_std(fans, a, mode, nonlinearity)
    return uniform_(out, -bound, bound, seed=seed, stream=stream, offset=offset, num_threads=num_threads, dtype=dtype)


def kaiming_normal_(out: np.ndarray, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", *,
                    layout: str = "torch", in_axis=None, out_axis=None, batch_axis=(), full_shape=None,
                    offset: int = 0, seed: int | None = None, stream: int = 0, num_threads: int | None = None,
                    dtype=None) -> np.ndarray:
    """N(0, std²), std = gain / sqrt(fan), gain = calculate_gain(nonlinearity, a).  He et al. (2015)."""
    fans = _fans_or_none(out, full_shape, offset, dtype, layout, in_axis, out_axis, batch_axis)
    if fans is None:
        return out
    std = _kaiming_std(fans, a, mode, nonlinearity)
    return normal_(out, 0.0, std, seed=seed, stream=stream, offset=offset, num_threads=num_threads, dtype=dtype)


def variance_scaling_(out: np.ndarray, scale: float = 1.0, mode: str = "fan_in",
                      distribution: str = "truncated_normal", *, layout: str = "torch", in_axis=None,
                      out_axis=None, batch_axis=(), full_shape=None, offset: int = 0, seed: int | None = None,
                      stream: int = 0, num_threads: int | None = None, dtype=None) -> np.ndarray:
    """Keras/JAX VarianceScaling: s = scale / max(1, fan), fan per mode (fan_geo_avg = sqrt(in*out), JAX).

    'truncated_normal': N(0, σ²) cut at ±2σ, σ = sqrt(s) / 0.8796... (so the variance is s);
    'untruncated_normal' and 'normal' (JAX's name; Keras has no 'normal'): N(0, s);
    'uniform': U(-sqrt(3 s), sqrt(3 s))."""
    scale = check.real("scale", scale)
    if not scale > 0:
        raise ValueError(f"scale must be a positive float; got {scale}")
    mode = _check_mode(mode, _MODES)
    if distribution not in _DISTRIBUTIONS:
        raise ValueError(f"distribution={distribution!r} is not supported; use one of {list(_DISTRIBUTIONS)}")
    fans = _fans_or_none(out, full_shape, offset, dtype, layout, in_axis, out_axis, batch_axis)
    if fans is None:
        return out
    s = scale / max(1.0, _fan(fans, mode))
    rng = dict(seed=seed, stream=stream, offset=offset, num_threads=num_threads, dtype=dtype)
    with _derived_from(seed, stream, num_threads, scale=scale):
        if distribution == "truncated_normal":
            std = math.sqrt(s) / TRUNCATED_NORMAL_STD
            return trunc_normal_(out, 0.0, std, -2.0 * std, 2.0 * std, **rng)
        if distribution == "uniform":
            limit = math.sqrt(3.0 * s)
            return uniform_(out, -limit, limit, **rng)
        return normal_(out, 0.0, math.sqrt(s), **rng)


def lecun_uniform_(out: np.ndarray, *, layout: str = "torch", in_axis=None, out_axis=None, batch_axis=(),
                   full_shape=None, offset: int = 0, seed: int | None = None, stream: int = 0,
                   num_threads: int | None = None, dtype=None) -> np.ndarray:
    """U(-sqrt(3 / fan_in), sqrt(3 / fan_in)).  LeCun et al., Efficient BackProp (1998)."""
    return variance_scaling_(out, 1.0, "fan_in", "uniform", layout=layout, in_axis=in_axis, out_axis=out_axis,
                             batch_axis=batch_axis, full_shape=full_shape, offset=offset, seed=seed, stream=stream,
                             num_threads=num_threads, dtype=dtype)


def lecun_normal_(out: np.ndarray, *, layout: str = "torch", in_axis=None, out_axis=None, batch_axis=(),
                  full_shape=None, offset: int = 0, seed: int | None = None, stream: int = 0,
                  num_threads: int | None = None, dtype=None) -> np.ndarray:
    """Truncated normal (±2σ) with variance 1 / fan_in, as Keras lecun_normal (Klambauer et al. 2017)."""
    return variance_scaling_(out, 1.0, "fan_in", "truncated_normal", layout=layout, in_axis=in_axis,
                             out_axis=out_axis, batch_axis=batch_axis, full_shape=full_shape, offset=offset,
                             seed=seed, stream=stream, num_threads=num_threads, dtype=dtype)


# ---------------------------------------------------------------- orthogonal and sparse

_blas: list = []   # a threadpoolctl.ThreadpoolController, made once (finding the libraries costs ms)


def _one_blas_thread():
    """A context running BLAS/LAPACK (scipy's OpenBLAS) on one thread while orthogonal_ forms Q.
    OpenBLAS's results depend on its thread count (measured: 9% of a (32, 39*12*57) matrix's
    elements moved by up to 9e-9 between 1 and 2 threads), so one thread, always, makes the
    matrix a function of (seed, stream, shape) on a given LAPACK build, whatever num_threads,
    set_num_threads or OPENBLAS_NUM_THREADS say.  It costs speed on big matrices (2048^2: 0.27 s
    instead of 0.19 s on 2 cores, about torch's time).  Without threadpoolctl BLAS keeps its own
    thread count, which is fixed within a process (so calls still agree there) but not across
    machines; the README says so."""
    from scipy.linalg import lapack  # noqa: F401  (loaded first, so the controller finds its BLAS)
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return contextlib.nullcontext()
    if not _blas:
        _blas.append(ThreadpoolController())
    return _blas[0].limit(limits=1, user_api="blas")


def _haar_rows_(m: np.ndarray, scale: float) -> np.ndarray:
    """Turn a C-ordered (rows, cols) standard Gaussian matrix with rows <= cols, in place, into
    scale times a Haar-distributed matrix with orthonormal rows.

    Householder QR of a Gaussian matrix A, with Q's columns multiplied by sign(diag R), gives a
    Haar-distributed Q (Mezzadri, math-ph/0609050; torch.nn.init.orthogonal_ does exactly this).
    Reflector k of that QR is built from column k below row k after the first k-1 reflections,
    which is again a standard Gaussian vector independent of them (rotation invariance).  So the
    reflectors can be built directly from independent Gaussian vectors (Stewart, "The efficient
    generation of random orthogonal matrices", SIAM J. Numer. Anal. 17(3), 1980) and Q formed
    from them by LAPACK orgqr: the factorization (geqrf), half of the work of a QR, is skipped.
    LAPACK sees m's memory as the column-major (cols, rows) matrix m.T: reflector k is m[k, k:],
    and Q's columns are m's rows."""
    from scipy.linalg import lapack

    rows, cols = m.shape
    k = np.arange(rows)
    # ||m[k, k:]||^2: the row right of the leading square block, plus that block's upper triangle;
    # sums of squares (no cancellation) accumulated in float64.
    norms = np.sqrt(np.add.reduce(np.square(m[:, rows:]), axis=1, dtype=np.float64)
                    + np.add.reduce(np.square(np.triu(m[:, :rows])), axis=1, dtype=np.float64))
    alpha = m[k, k].astype(np.float64)
    # The reflector LAPACK's larfg builds from x = m[k, k:]: H x = beta e1 with beta = -sign(alpha) ||x||,
    # v = (1, x[1:] / (alpha - beta)), tau = (beta - alpha) / beta; tau = 0 when x = 0.
    beta = -np.copysign(norms, alpha)
    nonzero = norms > 0.0
    tau = np.where(nonzero, (beta - alpha) / np.where(nonzero, beta, 1.0), 0.0).astype(m.dtype)
    m *= np.where(nonzero, 1.0 / np.where(nonzero, alpha - beta, 1.0), 0.0).astype(m.dtype)[:, None]
    lapack_view = m.T                      # Fortran-ordered (cols, rows): m's own memory
    orgqr = lapack.get_lapack_funcs("orgqr", (lapack_view,))
    lwork = int(orgqr(lapack_view, tau, lwork=-1)[1][0].real)   # workspace query: blocked LAPACK
    q, _, info = orgqr(lapack_view, tau, lwork=lwork, overwrite_a=True)   # (reads only below the diagonal)
    if info != 0:
        raise RuntimeError(f"LAPACK orgqr failed (info={info})")
    if not np.shares_memory(q, m):         # (f2py works in place on Fortran-ordered input)
        m[...] = q.T
    # The sign correction (R's diagonal |beta| > 0) and the gain, in one pass.
    m *= (scale * np.where(beta < 0.0, -1.0, 1.0)).astype(m.dtype)[:, None]
    return m


def orthogonal_(out: np.ndarray, gain: float = 1.0, *, layout: str = "torch", column_axis: int | None = None,
                full_shape=None, offset: int = 0, seed: int | None = None, stream: int = 0,
                num_threads: int | None = None, dtype=None) -> np.ndarray:
    """A (semi-)orthogonal matrix times gain, Haar-distributed as torch.nn.init.orthogonal_'s
    sign-corrected QR of a Gaussian matrix (Mezzadri, math-ph/0609050), generated from Gaussian
    Householder reflectors (Stewart 1980; see _haar_rows_) at half the cost of a QR.  Computed in
    float64 for float64 output, else in float32 (as torch does).  More than 2 dims are flattened
    as torch does, (shape[0], -1), or as Keras, (-1, shape[-1]), with layout='keras'.
    column_axis (layouts 'keras'/'jax') is jax.nn.initializers.orthogonal's: the
    (size / shape[column_axis], shape[column_axis]) matrix, the other axes in order, moved back so
    its columns lie along column_axis (default -1, the Keras flattening).  A shard computes the
    whole matrix (O(whole) memory) and keeps its slice."""
    out, fmt, shape, off = _whole(out, full_shape, offset, dtype)
    if len(shape) < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if layout not in ("torch", "keras", "jax"):
        raise ValueError(f"layout={layout!r} is not supported; use one of ['torch', 'keras', 'jax']")
    gain = check.real("gain", gain)
    if abs(gain) > fmt.max:   # |Q| <= 1: a gain in range keeps every value in range (else: inf)
        raise ValueError(f"gain={gain} is outside the range of {fmt.name} (±{fmt.max:.6g})")
    col = len(shape) - 1
    if column_axis is not None:
        if layout == "torch":
            raise ValueError("column_axis is for layout='keras' or 'jax' (channels-last); layout='torch' "
                             "flattens to (shape[0], -1)")
        col = check.integer("column_axis", column_axis, -len(shape), len(shape)) % len(shape)
    size = math.prod(shape)
    if size == 0:
        return out
    rows = shape[0] if layout == "torch" else size // shape[col]
    cols = size // rows
    work = np.dtype(np.float64 if fmt.wide else np.float32)
    # The matrix is formed in out itself when out is float32/float64, not a shard, and its rows
    # (the wider side) lie in out's memory order; otherwise in a buffer of its own.
    direct = out.dtype == work and out.size == size and col == len(shape) - 1
    wide = rows <= cols
    m = out.reshape(rows, cols) if direct and wide else np.empty((min(rows, cols), max(rows, cols)), work)
    normal_(m, seed=_seeding.resolve(seed), stream=stream, num_threads=num_threads)
    with _one_blas_thread():
        _haar_rows_(m, gain)
    q = m if wide else m.T
    if direct:
        if not wide:
            np.copyto(out.reshape(rows, cols), q)
        return out
    if col != len(shape) - 1:   # rows run over the other axes in order; put the columns back at col
        q = np.moveaxis(q.reshape(shape[:col] + shape[col + 1:] + (shape[col],)), -1, col)
    return _write(out, fmt, q.reshape(-1)[off:off + out.size])


def delta_orthogonal(out: np.ndarray, gain: float = 1.0, *, column_axis: int = -1, full_shape=None, offset: int = 0,
                     seed: int | None = None, stream: int = 0, num_threads: int | None = None,
                     dtype=None) -> np.ndarray:
    """jax.nn.initializers.delta_orthogonal: a 3-, 4- or 5-D channels-last conv kernel that is zero except
    at the spatial centre (index (k - 1) // 2 of each spatial dim), where it is
    orthogonal(shape[-2:], gain, column_axis=column_axis) with the same seed; needs shape[-1] >= shape[-2].
    Xiao et al., Dynamical Isometry and a Mean Field Theory of CNNs (2018), arXiv:1806.05393."""
    out, fmt, shape, off = _whole(out, full_shape, offset, dtype)
    if len(shape) not in (3, 4, 5):
        raise ValueError(f"Delta orthogonal initializer requires a 3D, 4D or 5D shape; got {shape}")
    if shape[-1] < shape[-2]:
        raise ValueError(f"`fan_in` must be less or equal than `fan_out`; got shape {shape} "
                         f"(shape[-2] = {shape[-2]} > shape[-1] = {shape[-1]})")
    check.integer("column_axis", column_axis, -2, 2)   # an axis of the 2-D centre matrix
    centre = orthogonal_(np.empty(shape[-2:], out.dtype), gain, layout="jax", column_axis=column_axis, seed=seed,
                         stream=stream, num_threads=num_threads, dtype=dtype)
    if math.prod(shape) == 0:
        return out
    whole = np.zeros(shape, out.dtype)   # +0.0 is all-zero bits in every format, bfloat16 storage included
    whole[tuple((k - 1) // 2 for k in shape[:-2])] = centre
    out.reshape(-1)[...] = whole.reshape(-1)[off:off + out.size]
    return out


def sparse_(out: np.ndarray, sparsity: float, std: float = 0.01, *, full_shape=None, offset: int = 0,
            seed: int | None = None, stream: int = 0, num_threads: int | None = None, dtype=None) -> np.ndarray:
    """N(0, std²) with ceil(sparsity * rows) entries of every column set to zero, as torch.nn.init.sparse_
    (Martens, Deep learning via Hessian-free optimization, 2010).  The zero rows of each column are a
    pure function of (seed, stream); a shard computes the whole mask (O(whole) memory)."""
    out, fmt, shape, off = _whole(out, full_shape, offset, dtype)
    if len(shape) != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    sparsity = check.real("sparsity", sparsity)
    if not 0.0 <= sparsity <= 1.0:
        raise ValueError(f"sparsity must be in [0, 1]; got {sparsity}")
    seed = _seeding.resolve(seed)
    normal_(out, 0.0, std, seed=seed, stream=stream, offset=off, num_threads=num_threads, dtype=dtype)
    rows, cols = shape
    num_zeros = math.ceil(sparsity * rows)
    if num_zeros == 0 or out.size == 0:
        return out
    keys = uniform_(np.empty(shape), seed=_derived_seed(seed, 0x73707273), stream=stream, num_threads=num_threads)
    zero_rows = np.argsort(keys, axis=0, kind="stable")[:num_zeros]          # per column
    zero_flat = (zero_rows * cols + np.arange(cols)[None, :]).ravel() - off
    zero_flat = zero_flat[(zero_flat >= 0) & (zero_flat < out.size)]
    out.reshape(-1)[zero_flat] = encode(np.zeros(1), out, fmt)[0]
    return out


# ---------------------------------------------------------------- Keras / JAX names (Keras semantics)

def _keras_alias(name: str, target, doc: str, **fixed):
    """A Keras-named scheme: target with some arguments fixed and Keras' channels-last layout."""
    sig = inspect.signature(target)
    params = [p.replace(default="keras") if p.name == "layout" else p
              for p in sig.parameters.values() if p.name not in fixed]
    alias_sig = sig.replace(parameters=params)

    def alias(*args, **kwargs):
        bound = alias_sig.bind(*args, **kwargs)
        bound.apply_defaults()
        return target(**bound.arguments, **fixed)

    alias.__name__ = alias.__qualname__ = name
    alias.__doc__ = doc
    alias.__signature__ = alias_sig
    return alias


glorot_uniform = _keras_alias("glorot_uniform", variance_scaling_, "Keras GlorotUniform: U(±sqrt(6 / (fan_in + fan_out))).",
                              scale=1.0, mode="fan_avg", distribution="uniform")
glorot_normal = _keras_alias("glorot_normal", variance_scaling_, "Keras GlorotNormal: truncated normal (±2σ), variance 2 / (fan_in + fan_out).",
                             scale=1.0, mode="fan_avg", distribution="truncated_normal")
he_uniform = _keras_alias("he_uniform", variance_scaling_, "Keras HeUniform: U(±sqrt(6 / fan_in)).",
                          scale=2.0, mode="fan_in", distribution="uniform")
he_normal = _keras_alias("he_normal", variance_scaling_, "Keras HeNormal: truncated normal (±2σ), variance 2 / fan_in.",
                         scale=2.0, mode="fan_in", distribution="truncated_normal")
lecun_uniform = _keras_alias("lecun_uniform", lecun_uniform_, "Keras LecunUniform: U(±sqrt(3 / fan_in)).")
lecun_normal = _keras_alias("lecun_normal", lecun_normal_, "Keras LecunNormal: truncated normal (±2σ), variance 1 / fan_in.")
orthogonal = _keras_alias("orthogonal", orthogonal_, "Keras Orthogonal(gain=1.0), flattening to (-1, shape[-1]).")


def truncated_normal(out: np.ndarray, mean: float = 0.0, stddev: float = 0.05, *, full_shape=None, offset: int = 0,
                     seed: int | None = None, stream: int = 0, num_threads: int | None = None, dtype=None) -> np.ndarray:
    """Keras TruncatedNormal(mean=0, stddev=0.05): N(mean, stddev²) cut at mean ± 2 stddev."""
    _whole(out, full_shape, offset, dtype)
    mean, stddev = check.real("mean", mean), check.real("stddev", stddev)   # (before mean - 2 stddev: no OverflowError)
    if not stddev > 0:
        raise ValueError(f"stddev must be > 0; got {stddev}")
    with _derived_from(seed, stream, num_threads, mean=mean, stddev=stddev):
        return trunc_normal_(out, mean, stddev, mean - 2.0 * stddev, mean + 2.0 * stddev, seed=seed, stream=stream,
                             offset=offset, num_threads=num_threads, dtype=dtype)


def random_uniform(out: np.ndarray, minval: float = -0.05, maxval: float = 0.05, *, full_shape=None, offset: int = 0,
                   seed: int | None = None, stream: int = 0, num_threads: int | None = None, dtype=None) -> np.ndarray:
    """Keras RandomUniform(minval=-0.05, maxval=0.05)."""
    _whole(out, full_shape, offset, dtype)
    if check.real("minval", minval) > check.real("maxval", maxval):   # (errors in the caller's names)
        raise ValueError(f"minval must be <= maxval; got minval={minval}, maxval={maxval}")
    with _derived_from(seed, stream, num_threads, minval=minval, maxval=maxval):
        return uniform_(out, minval, maxval, seed=seed, stream=stream, offset=offset, num_threads=num_threads, dtype=dtype)


def random_normal(out: np.ndarray, mean: float = 0.0, stddev: float = 0.05, *, full_shape=None, offset: int = 0,
                  seed: int | None = None, stream: int = 0, num_threads: int | None = None, dtype=None) -> np.ndarray:
    """Keras RandomNormal(mean=0, stddev=0.05)."""
    _whole(out, full_shape, offset, dtype)
    mean, stddev = check.real("mean", mean), check.real("stddev", stddev)
    if stddev < 0:
        raise ValueError(f"stddev must be >= 0; got {stddev}")
    with _derived_from(seed, stream, num_threads, mean=mean, stddev=stddev):
        return normal_(out, mean, stddev, seed=seed, stream=stream, offset=offset, num_threads=num_threads, dtype=dtype)


# ---------------------------------------------------------------- embedding presets

def torch_embedding(out: np.ndarray, padding_idx: int | None = None, *, full_shape=None, offset: int = 0,
                    seed: int | None = None, stream: int = 0, num_threads: int | None = None, dtype=None) -> np.ndarray:
    """N(0, 1), torch.nn.Embedding.reset_parameters' default; the padding_idx row (if any) is zero."""
    out, fmt, shape, off = _whole(out, full_shape, offset, dtype)
    if padding_idx is not None:   # checked before the fill: nothing is written on a bad padding_idx
        if len(shape) != 2:
            raise ValueError(f"padding_idx is a row of a 2-D (num_embeddings, embedding_dim) table, as "
                             f"torch.nn.Embedding's weight; got shape {shape}")
        row = check.integer("padding_idx", padding_idx, -shape[0], shape[0]) % shape[0]
    normal_(out, seed=seed, stream=stream, offset=off, num_threads=num_threads, dtype=dtype)
    if padding_idx is not None:
        lo, hi = max(row * shape[1] - off, 0), min((row + 1) * shape[1] - off, out.size)
        if lo < hi:
            out.reshape(-1)[lo:hi] = encode(np.zeros(1), out, fmt)[0]
    return out


def _rows_uniform(out, full_shape, offset, seed, stream, num_threads, dtype):
    out, fmt, shape, off = _whole(out, full_shape, offset, dtype)
    if len(shape) != 2 or shape[0] == 0:
        raise ValueError(f"embedding tables are 2-D (num_rows, dim) with num_rows > 0; got shape {shape}")
    bound = math.sqrt(1.0 / shape[0])
    return uniform_(out, -bound, bound, seed=seed, stream=stream, offset=off, num_threads=num_threads, dtype=dtype)


def torchrec_embedding(out: np.ndarray, *, full_shape=None, offset: int = 0, seed: int | None = None, stream: int = 0,
                       num_threads: int | None = None, dtype=None) -> np.ndarray:
    """U(±sqrt(1 / num_embeddings)): torchrec BaseEmbeddingConfig.get_weight_init_max/min defaults
    (torchrec/modules/embedding_configs.py), num_embeddings being the table's row count."""
    return _rows_uniform(out, full_shape, offset, seed, stream, num_threads, dtype)


def dlrm_embedding(out: np.ndarray, *, full_shape=None, offset: int = 0, seed: int | None = None, stream: int = 0,
                   num_threads: int | None = None, dtype=None) -> np.ndarray:
    """U(±sqrt(1 / num_rows)): DLRM's reference create_emb (Naumov et al. 2019, dlrm_s_pytorch.py)."""
    return _rows_uniform(out, full_shape, offset, seed, stream, num_threads, dtype)
