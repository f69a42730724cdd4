"""Orthogonal schemes: torch's orthogonal_, Keras/JAX orthogonal and JAX's delta_orthogonal.

Each needs the whole tensor (one QR): its plan is a Whole, computed once per call; a shard or a
block is sliced out of it (O(whole) memory)."""
from __future__ import annotations

import contextlib
import functools
import math

import numpy as np

from .. import _validate as check
from .. import kernels
from .._formats import encode
from .._plans import Plan, Whole
from ._declare import scheme

_blas: list = []   # a threadpoolctl.ThreadpoolController, made once (finding the libraries costs ms)


def _one_blas_thread():
    """A context running BLAS/LAPACK (scipy's OpenBLAS) on one thread while orthogonal_ forms Q.
    OpenBLAS's results depend on its thread count (measured: 9% of a (32, 39*12*57) matrix's
    elements moved by up to 9e-9 between 1 and 2 threads), so one thread, always, makes the
    matrix a function of (seed, stream, shape) on a given LAPACK build, whatever num_threads,
    set_num_threads or OPENBLAS_NUM_THREADS say.  It costs speed on big matrices (2048^2: 0.27 s
    instead of 0.19 s on 2 cores, about torch's time).  Without threadpoolctl BLAS keeps its own
    thread count, which is fixed within a process (so calls still agree there) but not across
    machines; docs/streams.md says so."""
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


def _orthogonal_fill(rows: int, cols: int, col: int, gain: float, out: np.ndarray, fmt, rand) -> None:
    """Fill ``out`` (the whole tensor) with gain times a Haar (semi-)orthogonal (rows, cols) matrix,
    its columns along axis ``col``."""
    shape = out.shape
    work = np.dtype(np.float64 if fmt.wide else np.float32)
    # The matrix is formed in out itself when out is float32/float64 and its rows (the wider side)
    # lie in out's memory order; otherwise in a buffer of its own.
    direct = out.dtype == work and col == len(shape) - 1
    wide = rows <= cols
    m = out.reshape(rows, cols) if direct and wide else np.empty((min(rows, cols), max(rows, cols)), work)
    kernels.normal_(m, seed=rand.seed, stream=rand.stream, num_threads=rand.num_threads)
    with _one_blas_thread():
        _haar_rows_(m, gain)
    q = m if wide else m.T
    if direct:
        if not wide:
            np.copyto(out.reshape(rows, cols), q)
        return
    if col != len(shape) - 1:   # rows run over the other axes in order; put the columns back at col
        q = np.moveaxis(q.reshape(shape[:col] + shape[col + 1:] + (shape[col],)), -1, col)
    out.reshape(-1)[...] = encode(q.reshape(-1), out, fmt)


def orthogonal_torch(shape, fmt, gain: float = 1.0, *, layout: str = "torch", column_axis: int | None = None) -> Plan:
    """A (semi-)orthogonal matrix times gain, Haar-distributed as torch.nn.init.orthogonal_'s
    sign-corrected QR of a Gaussian matrix (Mezzadri, math-ph/0609050), generated from Gaussian
    Householder reflectors (Stewart 1980; see _haar_rows_) at half the cost of a QR.  Computed in
    float64 for float64 output, else in float32 (as torch does).  More than 2 dims are flattened
    as torch does, (shape[0], -1), or as Keras, (-1, shape[-1]), with layout='keras'.
    column_axis (layouts 'keras'/'jax') is jax.nn.initializers.orthogonal's: the
    (size / shape[column_axis], shape[column_axis]) matrix, the other axes in order, moved back so
    its columns lie along column_axis (default -1, the Keras flattening).  A shard computes the
    whole matrix (O(whole) memory) and keeps its slice."""
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
        return Plan.empty
    rows = shape[0] if layout == "torch" else size // shape[col]
    return Plan(Whole(functools.partial(_orthogonal_fill, rows, size // rows, col, gain)))


orthogonal_torch.__name__ = orthogonal_torch.__qualname__ = "orthogonal_"
scheme("orthogonal_", random=True, whole_tensor=True, torch="orthogonal_", torch_check="call")(orthogonal_torch)


@scheme("orthogonal", random=True, whole_tensor=True, keras="Orthogonal")
def orthogonal(shape, fmt, gain: float = 1.0, *, layout: str = "keras", column_axis: int | None = None) -> Plan:
    """Keras Orthogonal(gain=1.0), flattening to (-1, shape[-1])."""
    return orthogonal_torch(shape, fmt, gain, layout=layout, column_axis=column_axis)


def _delta_fill(centre: Plan, out: np.ndarray, fmt, rand) -> None:
    shape = out.shape
    matrix = np.empty(shape[-2:], out.dtype)
    centre.base.fill(matrix, fmt, rand)
    out[...] = 0   # +0.0 is all-zero bits in every format, bfloat16 storage included
    out[tuple((k - 1) // 2 for k in shape[:-2])] = matrix


@scheme("delta_orthogonal", random=True, whole_tensor=True)
def delta_orthogonal(shape, fmt, gain: float = 1.0, *, column_axis: int = -1) -> Plan:
    """jax.nn.initializers.delta_orthogonal: a 3-, 4- or 5-D channels-last conv kernel that is zero except
    at the spatial centre (index (k - 1) // 2 of each spatial dim), where it is
    orthogonal(shape[-2:], gain, column_axis=column_axis) with the same seed; needs shape[-1] >= shape[-2].
    Xiao et al., Dynamical Isometry and a Mean Field Theory of CNNs (2018), arXiv:1806.05393."""
    if len(shape) not in (3, 4, 5):
        raise ValueError(f"Delta orthogonal initializer requires a 3D, 4D or 5D shape; got {shape}")
    if shape[-1] < shape[-2]:
        raise ValueError(f"`fan_in` must be less or equal than `fan_out`; got shape {shape} "
                         f"(shape[-2] = {shape[-2]} > shape[-1] = {shape[-1]})")
    check.integer("column_axis", column_axis, -2, 2)   # an axis of the 2-D centre matrix
    centre = orthogonal_torch(shape[-2:], fmt, gain, layout="jax", column_axis=column_axis)
    if math.prod(shape) == 0:
        return Plan.empty
    return Plan(Whole(functools.partial(_delta_fill, centre)))
