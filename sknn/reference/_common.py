"""What the loop-based versions share: scalar functions of Python floats, written
stably, and the checks that convert the inputs to lists once, at entry."""

import math

import numpy as np

from .._core.activations import ACTIVATIONS


def _sigmoid(z):
    """Numerically stable logistic function of a Python float (two branches)."""
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _log1pexp(z):
    """Numerically stable ``log(1 + exp(z))`` (softplus) of a Python float."""
    if z > 0.0:
        return z + math.log1p(math.exp(-z))
    return math.log1p(math.exp(z))


def _activation(z, activation):
    """Hidden-layer activation ``g(z)`` of a Python float."""
    return ACTIVATIONS[activation].scalar(z)


def _activation_derivative(z, a, activation):
    """Derivative ``g'(z)`` given ``z`` and ``a = g(z)``."""
    return ACTIVATIONS[activation].scalar_derivative(z, a)


def _softmax_row(z):
    """Stable softmax and log-sum-exp of a list of floats (loop version)."""
    m = z[0]
    for v in z:
        if v > m:
            m = v
    total = 0.0
    e = [0.0] * len(z)
    for k in range(len(z)):
        e[k] = math.exp(z[k] - m)
        total += e[k]
    lse = m + math.log(total)
    p = [0.0] * len(z)
    for k in range(len(z)):
        p[k] = e[k] / total
    return p, lse


def _reject_sparse(A, name):
    if hasattr(A, "toarray"):
        raise TypeError(
            f"{name} is a sparse matrix; the loop-based reference accepts dense "
            f"input only. Convert it with {name}.toarray()."
        )


def _to_array(A, name, ndim):
    _reject_sparse(A, name)
    arr = np.asarray(A, dtype=float)
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}.")
    return arr


def _check_shape(arr, name, expected):
    if arr.shape != expected:
        raise ValueError(f"{name} has shape {arr.shape}, expected {expected}.")


def _weights_list(sample_weight, n_samples):
    """Return (s_list, S) after checking shape, sign and a positive total."""
    if sample_weight is None:
        if n_samples == 0:
            raise ValueError("X must contain at least one sample.")
        return [1.0] * n_samples, float(n_samples)
    s = _to_array(sample_weight, "sample_weight", 1)
    _check_shape(s, "sample_weight", (n_samples,))
    if not np.all(np.isfinite(s)) or np.any(s < 0):
        raise ValueError("sample_weight must be finite and non-negative.")
    s_list = s.tolist()
    S = math.fsum(s_list)
    if not S > 0.0:
        raise ValueError("sample_weight must have a positive sum.")
    return s_list, S


def _check_alpha(alpha):
    alpha = float(alpha)
    if not (alpha >= 0.0 and math.isfinite(alpha)):
        raise ValueError(f"alpha must be a finite number >= 0, got {alpha}.")
    return alpha


def _transpose_to_array(rows):
    """List of K lists of length n_features -> float64 array (n_features, K)."""
    return np.array(rows, dtype=np.float64).T.copy()


def _add_l2_loops(weight_rows, grad_rows, alpha):
    """Add ``alpha * w`` to each gradient entry; return ``alpha / 2 * sum(w**2)``."""
    penalty = 0.0
    for w_row, grad_row in zip(weight_rows, grad_rows):
        for j in range(len(w_row)):
            penalty += w_row[j] * w_row[j]
            grad_row[j] += alpha * w_row[j]
    return 0.5 * alpha * penalty
