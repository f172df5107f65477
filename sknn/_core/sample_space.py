"""Training a linear model on wide data in the row space of X: the same steps, far cheaper.

When samples are few and features many (the course's cat images: 209 x
12,288), the weights of a linear model trained from zero by any full-batch
method that moves along gradients (not Adam, which scales each coordinate)
stay in the span of the rows of X. With X = U S V^T (thin SVD, here from
the small Gram matrix ``X X^T = U S^2 U^T``) they are ``W = V A``: the logits
are ``X W = (U S) A``, the penalty ``||W||^2 = ||A||^2``, and every
gradient's norm and inner product is A's. Training the same linear objective
on the n x r matrix ``U S`` therefore takes the steps training on X would
(rounding aside), each O(n r) instead of O(n p) and without streaming X;
``W = V A = X^T (U S^-1 A)`` maps back.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils.extmath import safe_sparse_dot

# The Gram matrix and its eigendecomposition cost O(n^2 p + n^3) once: worth it
# for few samples and many features, and only if there are enough steps.
_MAX_SAMPLES = 2000


def row_space_pays(X, n_outputs, max_iter):
    """Whether training in the row space is expected to be cheaper (NumPy or SciPy X only)."""
    n_samples, n_features = X.shape
    numpy_like = isinstance(X, np.ndarray) or sp.issparse(X)
    return (
        numpy_like
        and 2 * n_samples <= n_features
        and n_samples <= _MAX_SAMPLES
        and 8 * max_iter * n_outputs >= n_samples
    )


class RowSpaceBasis:
    """Coordinates of the samples in the row space of X, and the map back to weights.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Not copied: kept for the map back.

    Attributes
    ----------
    coordinates : ndarray of shape (n_samples, rank)
        ``U S``: the data to train the linear model on, in X's dtype.
    """

    def __init__(self, X):
        self._X = X
        gram = np.asarray(safe_sparse_dot(X, X.T, dense_output=True), dtype=np.float64)
        eigenvalues, U = np.linalg.eigh(gram)
        # Directions of rounding-level singular values carry no signal.
        threshold = eigenvalues[-1] * X.shape[0] * np.finfo(X.dtype).eps
        keep = eigenvalues > max(threshold, 0.0)
        S = np.sqrt(eigenvalues[keep])
        self.coordinates = np.ascontiguousarray(U[:, keep] * S, dtype=X.dtype)
        self._back = np.asarray(U[:, keep] / S, dtype=X.dtype)

    def to_weights(self, A):
        """``V A`` for coordinates A (..., rank, n_outputs): (..., n_features, n_outputs)."""
        if A.shape[-1] == 2 and np.array_equal(A[..., 0], -A[..., 1]):
            # A two-class softmax trained from zero keeps its columns opposite:
            # one column's product, half the work.
            W = self.to_weights(A[..., 1:])
            return np.concatenate([-W, W], axis=-1)
        leading, (rank, n_outputs) = A.shape[:-2], A.shape[-2:]
        flat = np.moveaxis(A, -2, 0).reshape(rank, -1)
        W = safe_sparse_dot(self._X.T, self._back @ flat, dense_output=True)
        W = np.moveaxis(np.asarray(W).reshape(self._X.shape[1], *leading, n_outputs), 0, -2)
        return np.ascontiguousarray(W)

    def to_model(self, value):
        """A dict keyed like the parameters ("W", "b"), or a state of such dicts, in weights."""
        if isinstance(value, dict) and "W" in value:
            return {**value, "W": self.to_weights(value["W"])}
        if isinstance(value, dict):
            return {key: self.to_model(item) for key, item in value.items()}
        return value
