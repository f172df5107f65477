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


def weighted_squared_norm(X, sample_weight):
    """``sum_i s_i ||x_i||^2`` (the trace of ``X^T diag(s) X``) without copying X."""
    ops = array_ops(X)
    if sp.issparse(X):
        squares = np.asarray(X.multiply(X).sum(axis=1), dtype=float).ravel()
    elif ops.is_numpy:
        squares = np.einsum("ij,ij->i", X, X, dtype=float)
    else:
        squares = np.asarray(ops.to_numpy(ops.row_dots(X, X)), dtype=float)
    weights = 1.0 if sample_weight is None else np.asarray(ops.to_numpy(sample_weight))
    return float(np.sum(squares * weights))


def gram_top_eigenvalue(X, sample_weight):
    """Largest eigenvalue of ``A^T A`` for ``A = diag(sqrt(s)) [X, 1]``, by Lanczos."""
    n_samples, n_features = X.shape
    ops = array_ops(X)
    dtype = ops.numpy_dtype(X.dtype)
    weights = np.ones(n_samples) if sample_weight is None else ops.to_numpy(sample_weight)
    weights = ops.asarray(np.asarray(weights, dtype=dtype), like=X)

    def gram_times(v):
        # In X's dtype: a float64 vector times a float32 X would copy X.
        v = ops.asarray(np.asarray(v, dtype=dtype).ravel(), like=X)
        Av = X @ v[:-1]
        Av += v[-1]
        Av *= weights
        return np.append(ops.to_numpy(X.T @ Av), float(ops.sum(Av)))

    return top_eigenvalue(gram_times, n_features + 1)


def top_eigenvalue(matvec, size):
    """Largest eigenvalue of the symmetric operator ``matvec`` on ``size`` vectors (Lanczos)."""
    operator = LinearOperator((size, size), matvec=matvec, dtype=float)
    # A fixed start vector keeps 'auto' deterministic across refits.
    return float(eigsh(operator, k=1, which="LA", v0=np.ones(size), tol=1e-10)[0][0])
