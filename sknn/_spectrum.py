"""Curvature bounds of the linear models' losses: the spectrum of the weighted Gram matrix.

The step 1/L of ``learning_rate='auto'`` needs the largest eigenvalue of
``A^T A`` for ``A = diag(sqrt(s)) [X, 1]``; it is computed here without ever
densifying or copying X (dense eigensolver on the smaller Gram matrix, or
Lanczos on matrix-vector products), and bounded by its trace in one pass.
"""

import numpy as np
import scipy.sparse as sp
from scipy.linalg import eigvalsh
from scipy.sparse.linalg import LinearOperator, eigsh
from sklearn.utils.extmath import safe_sparse_dot

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
    squares = np.einsum("ij,ij->i", X, X, dtype=float)
    return float(squares.sum() if sample_weight is None else squares @ sample_weight)


def _gram_top_eigenvalue(X, sample_weight, sample_gram=None):
    """Largest eigenvalue of ``A^T A`` for ``A = diag(sqrt(s)) [X, 1]``, X never densified.

    ``sample_gram``, the matrix ``X X^T`` if the caller already has it, is used
    instead of recomputing it.
    """
    n_samples, n_features = X.shape
    root_weight = (
        np.ones(n_samples) if sample_weight is None else np.sqrt(sample_weight, dtype=float)
    )
    if sample_gram is not None or n_samples <= min(n_features + 1, _DENSE_GRAM_LIMIT):
        # A A^T = D (X X^T + 1 1^T) D has the same nonzero spectrum.
        if sample_gram is None:
            sample_gram = safe_sparse_dot(X, X.T, dense_output=True)
        gram = sample_gram.astype(float)
        gram += 1.0
        gram *= root_weight[:, None]
        gram *= root_weight[None, :]
        return _top_eigenvalue(gram)

    if n_features + 1 <= _DENSE_GRAM_LIMIT:
        # Unweighted, X itself: scaling by ones would copy it.
        weighted = X if sample_weight is None else _scale_rows(X, root_weight)
        gram = np.empty((n_features + 1, n_features + 1))
        gram[:-1, :-1] = safe_sparse_dot(weighted.T, weighted, dense_output=True)
        gram[:-1, -1] = gram[-1, :-1] = safe_sparse_dot(weighted.T, root_weight)
        gram[-1, -1] = root_weight @ root_weight
        return _top_eigenvalue(gram)

    weight = (root_weight**2).astype(X.dtype)

    def gram_times(v):
        # Everything in X's dtype: a float64 vector times a float32 X would
        # make NumPy copy X to float64 at every Lanczos step.
        v = np.ravel(v).astype(X.dtype)
        Av = X @ v[:-1]
        Av += v[-1]
        Av *= weight
        return np.append(X.T @ Av, Av.sum())

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
    return X * factors.astype(X.dtype)[:, None]
