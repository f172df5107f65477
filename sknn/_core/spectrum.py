"""Curvature bounds of the linear models' losses: the spectrum of the weighted Gram matrix.

The step 1/L of ``learning_rate='auto'`` needs the largest eigenvalue of
``A^T A`` for ``A = diag(sqrt(s)) [X, 1]``; it is computed here without ever
densifying or copying X (dense eigensolver on the smaller Gram matrix, or
Lanczos on matrix-vector products), and bounded by its trace in one pass.
X may be an array of any Array API namespace: the products run there, on its
device, and only the small Gram matrix or one vector per Lanczos step comes
back to NumPy for the eigensolver.
"""

import numpy as np
import scipy.sparse as sp
from scipy.linalg import eigvalsh
from scipy.sparse.linalg import LinearOperator, eigsh
from sklearn.utils.extmath import safe_sparse_dot

from .array_ops import array_ops

# Up to this many rows or columns, the Gram matrix is formed and its spectrum
# computed directly; above it, Lanczos iterations on matrix-vector products.
_DENSE_GRAM_LIMIT = 500


def _weighted_squared_norm(X, sample_weight):
    """``sum_i s_i ||x_i||^2`` without copying X."""
    if sp.issparse(X):
        rows = (
            X.indices if X.format == "csc" else np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
        )
        squares = np.square(X.data, dtype=float)
        return float(squares.sum() if sample_weight is None else squares @ sample_weight[rows])
    ops = array_ops(X)
    if ops.is_numpy:
        squares = np.einsum("ij,ij->i", X, X, dtype=float)
    else:
        squares = ops.to_numpy(ops.row_dots(X, X)).astype(float)
    if sample_weight is None:
        return float(squares.sum())
    return float(squares @ ops.to_numpy(sample_weight))


def _gram_top_eigenvalue(X, sample_weight, sample_gram=None):
    """Largest eigenvalue of ``A^T A`` for ``A = diag(sqrt(s)) [X, 1]``, X never densified.

    ``sample_gram``, the matrix ``X X^T`` if the caller already has it, is used
    instead of recomputing it.
    """
    n_samples, n_features = X.shape
    ops = array_ops(X)
    root_weight = (
        np.ones(n_samples)
        if sample_weight is None
        else np.sqrt(ops.to_numpy(sample_weight), dtype=float)
    )
    if sample_gram is not None or n_samples <= min(n_features + 1, _DENSE_GRAM_LIMIT):
        # A A^T = D (X X^T + 1 1^T) D has the same nonzero spectrum.
        if sample_gram is None:
            sample_gram = safe_sparse_dot(X, X.T, dense_output=True)
        gram = ops.to_numpy(sample_gram).astype(float)
        gram += 1.0
        gram *= root_weight[:, None]
        gram *= root_weight[None, :]
        return _top_eigenvalue(gram)

    if n_features + 1 <= _DENSE_GRAM_LIMIT:
        # Unweighted, X itself: scaling by ones would copy it.
        weighted = X if sample_weight is None else _scale_rows(X, root_weight)
        gram = np.empty((n_features + 1, n_features + 1))
        gram[:-1, :-1] = ops.to_numpy(safe_sparse_dot(weighted.T, weighted, dense_output=True))
        gram[:-1, -1] = gram[-1, :-1] = ops.to_numpy(
            safe_sparse_dot(weighted.T, _like(root_weight, X))
        )
        gram[-1, -1] = root_weight @ root_weight
        return _top_eigenvalue(gram)

    weight = _like(root_weight**2, X)

    def gram_times(v):
        # Everything in X's dtype: a float64 vector times a float32 X would
        # make NumPy copy X to float64 at every Lanczos step.
        v = _like(np.ravel(v), X)
        Av = X @ v[:-1]
        Av += v[-1]
        Av *= weight
        return np.append(ops.to_numpy(X.T @ Av), float(ops.sum(Av)))

    return _top_eigenvalue(LinearOperator((n_features + 1,) * 2, matvec=gram_times, dtype=float))


def _top_eigenvalue(symmetric):
    """Largest eigenvalue of a symmetric matrix or LinearOperator."""
    size = symmetric.shape[0]
    if isinstance(symmetric, np.ndarray) and size <= _DENSE_GRAM_LIMIT:
        return float(eigvalsh(symmetric, subset_by_index=[size - 1, size - 1])[0])
    # Lanczos; a fixed start vector keeps 'auto' deterministic across refits.
    return float(eigsh(symmetric, k=1, which="LA", v0=np.ones(size), tol=1e-10)[0][0])


def _scale_rows(X, factors):
    if sp.issparse(X):
        return sp.diags(factors.astype(X.dtype)) @ X
    return X * _like(factors, X)[:, None]


def _like(vector, X):
    """A NumPy vector in the dtype, namespace and device of X."""
    ops = array_ops(X)
    return ops.asarray(vector.astype(ops.numpy_dtype(X.dtype)), like=X)
