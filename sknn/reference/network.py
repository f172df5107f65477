"""A one-hidden-layer network with loops (the course's week 3): forward pass and backprop."""

import numpy as np

from .._core.activations import ACTIVATIONS
from ._common import (
    _activation,
    _activation_derivative,
    _add_l2_loops,
    _check_alpha,
    _check_shape,
    _log1pexp,
    _sigmoid,
    _softmax_row,
    _to_array,
    _transpose_to_array,
    _weights_list,
)


def _nn_params(params, n_features):
    """Validate the four parameter arrays and convert them to lists."""
    try:
        W1 = _to_array(params["W1"], "W1", 2)
        b1 = _to_array(params["b1"], "b1", 1)
        W2 = _to_array(params["W2"], "W2", 2)
        b2 = _to_array(params["b2"], "b2", 1)
    except KeyError as exc:
        raise ValueError(f"params must contain W1, b1, W2, b2; missing {exc}") from None
    H = W1.shape[1]
    K = W2.shape[1]
    _check_shape(W1, "W1", (n_features, H))
    _check_shape(b1, "b1", (H,))
    _check_shape(W2, "W2", (H, K))
    _check_shape(b2, "b2", (K,))
    if K < 1:
        raise ValueError("W2 must have at least one column.")
    return W1.T.tolist(), b1.tolist(), W2.T.tolist(), b2.tolist()


def _check_activation(activation):
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {tuple(ACTIVATIONS)}, got {activation!r}.")


def _nn_hidden(x_i, W1_rows, b1_list, activation, z1, a1):
    """Fill ``z1`` and ``a1`` (lists of H floats) for one sample."""
    n_features = len(x_i)
    for h in range(len(b1_list)):
        w_h = W1_rows[h]
        acc = b1_list[h]
        for j in range(n_features):
            acc += w_h[j] * x_i[j]
        z1[h] = acc
        a1[h] = _activation(acc, activation)


def _nn_output(a1, W2_rows, b2_list, z2):
    """Fill ``z2`` (list of K floats) for one sample."""
    H = len(a1)
    for k in range(len(b2_list)):
        w_k = W2_rows[k]
        acc = b2_list[k]
        for h in range(H):
            acc += w_k[h] * a1[h]
        z2[k] = acc


def shallow_nn_forward(params, X, activation="tanh"):
    """Output logits of a one-hidden-layer network, with loops.

    ``Z1 = X W1 + b1``, ``A1 = g(Z1)``, ``Z2 = A1 W2 + b2``.

    Read more in the :ref:`User Guide <reference-loops>`.

    Parameters
    ----------
    params : dict
        ``W1`` (n_features, H), ``b1`` (H,), ``W2`` (H, K), ``b2`` (K,).
    X : array-like of shape (n_samples, n_features)
        Dense input; convert sparse matrices with ``X.toarray()``.
    activation : {"tanh", "sigmoid", "relu", "leaky_relu"}, default="tanh"
        Hidden-layer activation ``g``.

    Returns
    -------
    ndarray of shape (n_samples, K)
        The output logits (before the sigmoid / softmax), float64.
    """
    _check_activation(activation)
    X = _to_array(X, "X", 2)
    W1_rows, b1_list, W2_rows, b2_list = _nn_params(params, X.shape[1])
    X_list = X.tolist()
    H = len(b1_list)
    K = len(b2_list)
    z1 = [0.0] * H
    a1 = [0.0] * H
    out = []
    for i in range(len(X_list)):
        _nn_hidden(X_list[i], W1_rows, b1_list, activation, z1, a1)
        z2 = [0.0] * K
        _nn_output(a1, W2_rows, b2_list, z2)
        out.append(z2)
    return np.array(out, dtype=np.float64).reshape(len(X_list), K)


def shallow_nn_loss_grad(
    params, X, Y, activation="tanh", sample_weight=None, alpha=0.0, multilabel=False
):
    """Loss and gradient of a one-hidden-layer network, with loops.

    Forward: ``Z1 = X W1 + b1``, ``A1 = g(Z1)``, ``Z2 = A1 W2 + b2``.  The
    output is a sigmoid unit with the logistic loss of
    :func:`logistic_loss_grad` when ``K == 1`` and a softmax with
    cross-entropy (the loss of :func:`softmax_loss_grad`) when ``K >= 2``,
    both applied to ``A1``; with ``multilabel=True`` it is ``K`` independent
    sigmoid units with their logistic losses summed, for any ``K``.  The
    penalty is ``(alpha/2) (sum W1**2 + sum W2**2)``.

    Backward: ``dZ2 = s_i (P - Y) / S``; ``dW2 = A1^T dZ2 + alpha W2``;
    ``db2`` = column sums of ``dZ2``; ``dA1 = dZ2 W2^T``;
    ``dZ1 = dA1 * g'(Z1)``; ``dW1 = X^T dZ1 + alpha W1``; ``db1`` = column
    sums of ``dZ1``.

    Read more in the :ref:`User Guide <reference-loops>`.

    Parameters
    ----------
    params : dict
        ``W1`` (n_features, H), ``b1`` (H,), ``W2`` (H, K), ``b2`` (K,).
    X : array-like of shape (n_samples, n_features)
        Dense input; convert sparse matrices with ``X.toarray()``.
    Y : array-like of shape (n_samples, K)
        0/1 indicator targets (one-hot rows when ``K >= 2``, unless
        ``multilabel``).
    activation : {"tanh", "sigmoid", "relu", "leaky_relu"}, default="tanh"
        Hidden-layer activation ``g`` (each ``g`` and ``g'`` is in
        :ref:`models`).
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights with a positive sum; ``None`` means all ones.
    alpha : float, default=0.0
        L2 penalty strength on ``W1`` and ``W2``.
    multilabel : bool, default=False
        Independent sigmoid outputs (a multilabel indicator ``Y``: rows may
        hold several ones or none) instead of a softmax when ``K >= 2``.

    Returns
    -------
    loss : float
        The penalised weighted mean loss.
    grads : dict
        ``{"W1", "b1", "W2", "b2"}``, float64 arrays shaped like ``params``.

    Raises
    ------
    TypeError
        If an input is a sparse matrix.
    ValueError
        If shapes disagree, the activation is unknown, ``alpha < 0`` or the
        sample weights are negative or sum to zero.
    """
    _check_activation(activation)
    X = _to_array(X, "X", 2)
    Y = _to_array(Y, "Y", 2)
    n_samples, n_features = X.shape
    W1_rows, b1_list, W2_rows, b2_list = _nn_params(params, n_features)
    H = len(b1_list)
    K = len(b2_list)
    _check_shape(Y, "Y", (n_samples, K))
    s_list, S = _weights_list(sample_weight, n_samples)
    alpha = _check_alpha(alpha)
    X_list = X.tolist()
    Y_list = Y.tolist()

    J = 0.0
    dW1 = [[0.0] * n_features for _ in range(H)]
    db1 = [0.0] * H
    dW2 = [[0.0] * H for _ in range(K)]
    db2 = [0.0] * K
    z1 = [0.0] * H
    a1 = [0.0] * H
    z2 = [0.0] * K
    dz2 = [0.0] * K
    for i in range(n_samples):
        x_i = X_list[i]
        y_i = Y_list[i]
        s_i = s_list[i]
        # forward
        _nn_hidden(x_i, W1_rows, b1_list, activation, z1, a1)
        _nn_output(a1, W2_rows, b2_list, z2)
        if K == 1 or multilabel:
            for k in range(K):
                z = z2[k]
                J += s_i * (_log1pexp(z) - y_i[k] * z)
                dz2[k] = s_i * (_sigmoid(z) - y_i[k]) / S
        else:
            p, lse = _softmax_row(z2)
            yz = 0.0
            for k in range(K):
                yz += y_i[k] * z2[k]
            J += s_i * (lse - yz)
            for k in range(K):
                dz2[k] = s_i * (p[k] - y_i[k]) / S
        # backward: output layer
        for k in range(K):
            dw_k = dW2[k]
            for h in range(H):
                dw_k[h] += a1[h] * dz2[k]
            db2[k] += dz2[k]
        # backward: hidden layer
        for h in range(H):
            da = 0.0
            for k in range(K):
                da += dz2[k] * W2_rows[k][h]
            dz1 = da * _activation_derivative(z1[h], a1[h], activation)
            dw_h = dW1[h]
            for j in range(n_features):
                dw_h[j] += x_i[j] * dz1
            db1[h] += dz1
    J /= S

    J += _add_l2_loops(W1_rows, dW1, alpha) + _add_l2_loops(W2_rows, dW2, alpha)

    grads = {
        "W1": _transpose_to_array(dW1).reshape(n_features, H),
        "b1": np.array(db1, dtype=np.float64),
        "W2": _transpose_to_array(dW2).reshape(H, K),
        "b2": np.array(db2, dtype=np.float64),
    }
    return J, grads
