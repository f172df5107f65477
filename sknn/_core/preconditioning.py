"""Preconditioners of the linear models' conjugate-gradient training.

A preconditioner is a fixed symmetric positive definite map M of gradients
to search directions, built once per fit from the data. Conjugate gradient
on J preconditioned by M = T T^T is conjugate gradient on J(T v) in new
coordinates v: the model, its objective and its minimum are unchanged, only
the path to it is shorter. Both here work on dicts of arrays keyed like the
parameters, in the data's namespace.

Centering takes the columns' (weighted) means m out of the features: with
``b' = b + m . W`` the logits are ``(X - 1 m^T) W + b'``, which decouples the
intercept from the weights. On data far from zero mean (pixels in [0, 1]) the
Hessian's top eigenvalue is that coupling (the cat images /255: 2213 against
199 once centred) and centering cuts the iterations by 4-10x; on
standardized data m = 0 and it does nothing.

Scaling divides each centred feature by ``sqrt(var_j + median(var))``, and
only where the variances span more than a factor of 100: it evens out
features of very different scales (raw measurements, where variances span 10
orders of magnitude and unscaled conjugate gradient does not converge in 5000
iterations: raw breast_cancer 245 and 304 with it) while leaving features of
similar scales alone (on pixels even this damped scaling, and more so full
Jacobi scaling ``1 / var_j``, which blows up the nearly constant border
pixels, doubles or triples the iterations).
"""

import numpy as np

from .array_ops import array_ops

# Means below this many standard deviations count as centred.
_NEGLIGIBLE = 1e-8
# Features are scaled only when some variance exceeds the median by this
# factor: raw measurements (breast_cancer: 6e7, wine: 1.5e5), not pixels
# (1.6) or standardized data (1). Where it is not needed, scaling costs
# iterations, and the decision depends on the moments only, which weights
# and repeated rows share (scikit-learn's sample-weight equivalence).
_SCALE_SPREAD = 100.0


class CenteringPreconditioner:
    """Centering and damped feature scaling for the direct (W, b) parametrisation.

    ``M g = T T^T g`` with ``T (v_W, v_b) = (S v_W, v_b - m^T S v_W)``:
    ``M g = (S^2 (g_W - m g_b^T), g_b - m^T S^2 (g_W - m g_b^T))``.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Read twice (dense: in blocks of at most ``_BLOCK_ELEMENTS`` values, so
        X is never copied whole; sparse: never densified).
    sample_weight : ndarray of shape (n_samples,) or None
    scale : bool, default=True
        False: centering only (S = I).
    """

    # Dense X is centred in blocks of about this many elements (1 MB in float64).
    _BLOCK_ELEMENTS = 2**17

    def __init__(self, X, sample_weight, scale=True):
        ops = array_ops(X)
        weights = _normalized(sample_weight, X.shape[0], X, ops)
        mean = _weighted_column_sum(X, weights)
        block_rows = max(1, self._BLOCK_ELEMENTS // max(X.shape[1], 1))
        variance = _weighted_column_variance(X, weights, mean, ops, block_rows)
        self._set_moments(mean, variance, scale)

    @classmethod
    def from_moments(cls, mean, variance, scale=True):
        """The preconditioner of data with these column means and variances."""
        preconditioner = cls.__new__(cls)
        preconditioner._set_moments(mean, variance, scale)
        return preconditioner

    def _set_moments(self, mean, variance, scale):
        ops = array_ops(mean)
        # Data that is already centred (standardized: means of ~1e-17) or
        # evenly scaled is left alone: the map would change nothing but rounding.
        spread = ops.to_numpy(variance)
        offsets = np.abs(ops.to_numpy(mean))
        centred = bool(np.all(offsets <= _NEGLIGIBLE * np.sqrt(spread)))
        self.mean = None if centred else mean
        self.scale = None
        reference = _positive_reference(spread) if scale else None
        if reference is not None and spread.max() > _SCALE_SPREAD * reference:
            # Relative to the intercept's, as Jacobi's 1 / (c var_j) is to 1 / c.
            self.scale = 1.0 / (variance + reference)

    @property
    def is_identity(self):
        """Whether M is the identity (centred, evenly scaled data): then nothing need apply it."""
        return self.mean is None and self.scale is None

    def __call__(self, grads):
        """``M grads``: new arrays."""
        g_W, g_b = grads["W"], grads["b"]
        ops = array_ops(g_W)
        v_W = ops.copy(g_W) if self.mean is None else g_W - self.mean[:, None] * g_b[None, :]
        if self.scale is not None:
            v_W *= self.scale[:, None]
        v_b = ops.copy(g_b) if self.mean is None else g_b - self.mean @ v_W
        return {"W": v_W, "b": v_b}


class SampleSpaceCentering:
    """Centering for the sample-space parametrisation ``W = X^T C``.

    With weights ``w`` normalised to sum to one, ``m = X^T w`` lies in the row
    space of X, and so does the centred direction: in C,
    ``M g = (g_C - w g_b^T, g_b - (G w)^T (g_C - w g_b^T))``. Feature scaling
    would leave the row space and has no counterpart here.

    Parameters
    ----------
    gram : ndarray of shape (n_samples, n_samples)
        ``X X^T``.
    sample_weight : ndarray of shape (n_samples,) or None
    """

    def __init__(self, gram, sample_weight):
        ops = array_ops(gram)
        self.weights = _normalized(sample_weight, gram.shape[0], gram, ops)
        self.gram_weights = gram @ self.weights

    def __call__(self, grads):
        g_C, g_b = grads["C"], grads["b"]
        v_C = g_C - self.weights[:, None] * g_b[None, :]
        return {"C": v_C, "b": g_b - self.gram_weights @ v_C}


def _normalized(sample_weight, n_samples, like, ops):
    """Sample weights summing to one (uniform when None), in the namespace of ``like``."""
    if sample_weight is None:
        weights = ops.asarray(
            np.full(n_samples, 1.0 / n_samples, dtype=ops.numpy_dtype(like.dtype)), like=like
        )
        return weights
    return sample_weight / ops.sum(sample_weight)


def _weighted_column_sum(X, weights):
    if hasattr(X, "tocsr"):
        return X.T @ weights
    return weights @ X


def _weighted_column_variance(X, weights, mean, ops, block_rows):
    """``sum_i w_i (x_ij - m_j)^2``: two passes over dense X by blocks; E[x^2] - m^2 for sparse."""
    if hasattr(X, "tocsr"):
        variance = X.multiply(X).T @ weights
        variance -= mean * mean
        return ops.xp.clip(variance, min=0.0)
    variance = ops.zeros_like(mean)
    n_samples = X.shape[0]
    for start in range(0, n_samples, block_rows):
        stop = min(start + block_rows, n_samples)
        block = X[start:stop, ...] - mean
        block *= block
        variance += weights[start:stop] @ block
    return variance


def _positive_reference(values):
    """The median variance (the mean if that is zero), or None if all variances are zero."""
    for reference in (float(np.median(values)), float(values.mean())):
        if reference > 0:
            return reference
    return None
