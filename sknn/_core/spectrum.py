"""Curvature bounds of the linear models' losses, from the spectrum of the weighted data.

``learning_rate='auto'`` for plain gradient descent is the step 1/L, with L
from the largest eigenvalue of ``A^T A`` for ``A = diag(sqrt(s)) [X, 1]``:
computed here by Lanczos iterations on products with X (never densified or
copied), and bounded from above by its trace in one pass. X may be an array
of any Array API namespace: the products run there, and only one vector per
iteration comes back to NumPy.
"""

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, eigsh

from .array_ops import array_ops

# Entries of a sparse X squared at a time (at least one per result): a bounded temporary.
_SQUARES_CHUNK = 1 << 14


def squared_sums(X, axis):
    """Sums of the squares of X's entries along ``axis`` (0: one per column), in float64.

    Without a temporary the size of X, for dense NumPy and sparse X (other
    namespaces square X along columns).
    """
    ops = array_ops(X)
    if sp.issparse(X):
        return _sparse_squared_sums(X.tocsr() if X.format not in ("csr", "csc") else X, axis)
    if ops.is_numpy:
        return np.einsum("ij,ij->j" if axis == 0 else "ij,ij->i", X, X, dtype=float)
    squares = ops.row_dots(X, X) if axis == 1 else ops.xp.sum(X * X, axis=0)
    return np.asarray(ops.to_numpy(squares), dtype=float)


def _sparse_squared_sums(X, axis):
    """:func:`squared_sums` of a CSR or CSC matrix, from its stored entries in pieces."""
    # CSR stores rows one after another (its major axis), CSC columns.
    major = 0 if X.format == "csr" else 1
    by_major = 1 - axis == major
    sums = np.zeros(X.shape[1 - axis])
    data, indices, indptr = X.data, X.indices, X.indptr
    chunk = max(_SQUARES_CHUNK, 0 if by_major else sums.size)
    for start in range(0, data.size, chunk):
        stop = min(start + chunk, data.size)
        squares = np.square(data[start:stop], dtype=float)
        if not by_major:
            sums += np.bincount(indices[start:stop], weights=squares, minlength=sums.size)
            continue
        owners = np.searchsorted(indptr, np.arange(start, stop), side="right") - 1
        first = owners[0]
        sums[first : owners[-1] + 1] += np.bincount(owners - first, weights=squares)
    return sums


def weighted_squared_norm(X, sample_weight):
    """``sum_i s_i ||x_i||^2`` (the trace of ``X^T diag(s) X``) without copying X."""
    squares = squared_sums(X, axis=1)
    ops = array_ops(X)
    weights = 1.0 if sample_weight is None else np.asarray(ops.to_numpy(sample_weight))
    return float(np.sum(squares * weights))


def gram_top_eigenvalue(X, sample_weight):
    """Largest eigenvalue of ``A^T A`` for ``A = diag(sqrt(s)) [X, 1]``, by Lanczos."""
    return top_eigenvalue(lambda v: gram_times(X, sample_weight, v), X.shape[1] + 1)


def gram_times(X, sample_weight, v):
    """``A^T A v`` for ``A = diag(sqrt(s)) [X, 1]``, as a float64 NumPy vector."""
    ops = array_ops(X)
    # In X's dtype: a float64 vector times a float32 X would copy X.
    v = ops.asarray(np.asarray(v, dtype=ops.numpy_dtype(X.dtype)).ravel(), like=X)
    Av = X @ v[:-1]
    Av += v[-1]
    if sample_weight is not None:
        Av *= sample_weight
    return np.append(ops.to_numpy(X.T @ Av), float(ops.sum(Av)))


def top_eigenvalue(matvec, size):
    """Largest eigenvalue of the symmetric operator ``matvec`` on ``size`` vectors (Lanczos)."""
    operator = LinearOperator((size, size), matvec=matvec, dtype=float)
    # A fixed start vector keeps 'auto' deterministic across refits.
    return float(eigsh(operator, k=1, which="LA", v0=np.ones(size), tol=1e-10)[0][0])
