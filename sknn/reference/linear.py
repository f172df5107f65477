"""Logistic and softmax regression with loops (the course's week 2), and its training loop."""

import math

import numpy as np

from ._common import (
    _add_l2_loops,
    _check_alpha,
    _check_shape,
    _log1pexp,
    _reject_sparse,
    _sigmoid,
    _softmax_row,
    _to_array,
    _transpose_to_array,
    _weights_list,
)


def _linear_inputs(W, b, X, Y, sample_weight, alpha, min_classes):
    """Validate and convert the inputs of the two linear models."""
    X = _to_array(X, "X", 2)
    Y = _to_array(Y, "Y", 2)
    W = _to_array(W, "W", 2)
    b = _to_array(b, "b", 1)
    n_samples, n_features = X.shape
    K = Y.shape[1]
    if K < min_classes:
        raise ValueError(f"Y must have at least {min_classes} columns, got {K}.")
    _check_shape(Y, "Y", (n_samples, K))
    _check_shape(W, "W", (n_features, K))
    _check_shape(b, "b", (K,))
    s_list, S = _weights_list(sample_weight, n_samples)
    return (
        W.T.tolist(),  # one weight list per output unit
        b.tolist(),
        X.tolist(),
        Y.tolist(),
        s_list,
        S,
        _check_alpha(alpha),
    )


def _logistic_loops(w_list, b_list, X_list, Y_list, s_list, alpha):
    """Logistic loss and gradient ``(J, dw, db)`` on plain Python lists.

    ``w_list`` is ``W.T``, one list per sigmoid unit (for a binary problem
    ``[w]``, the course's weight vector); ``dw`` has its layout.
    """
    n_samples = len(X_list)
    K = len(b_list)
    n_features = len(w_list[0]) if K else 0
    S = math.fsum(s_list)

    J = 0.0
    dw = [[0.0] * n_features for _ in range(K)]
    db = [0.0] * K
    for i in range(n_samples):
        x_i = X_list[i]
        y_i = Y_list[i]
        s_i = s_list[i]
        for k in range(K):
            w_k = w_list[k]
            z = b_list[k]
            for j in range(n_features):
                z += w_k[j] * x_i[j]
            a = _sigmoid(z)
            J += s_i * (_log1pexp(z) - y_i[k] * z)
            dz = s_i * (a - y_i[k]) / S
            dw_k = dw[k]
            for j in range(n_features):
                dw_k[j] += x_i[j] * dz
            db[k] += dz
    J /= S

    J += _add_l2_loops(w_list, dw, alpha)
    return J, dw, db


def logistic_loss_grad(W, b, X, Y, sample_weight=None, alpha=0.0):
    """Loss and gradient of ``K`` independent sigmoid units, with loops.

    ``z_ik = b_k + sum_j X_ij W_jk`` and the loss is

    ``(1/S) sum_i s_i sum_k [log(1 + exp(z_ik)) - Y_ik z_ik] + (alpha/2) sum W**2``

    (the binary cross-entropy written in terms of ``z``). The softplus
    ``log(1 + exp(z))`` and the sigmoid are evaluated stably, so
    ``|z| = 1000`` gives finite results.

    Read more in the :ref:`User Guide <reference-loops>`.

    Parameters
    ----------
    W : array-like of shape (n_features, K)
        Weights.
    b : array-like of shape (K,)
        Biases (not penalised).
    X : array-like of shape (n_samples, n_features)
        Dense input; convert sparse matrices with ``X.toarray()``.
    Y : array-like of shape (n_samples, K)
        0/1 indicator targets (one-hot, or multilabel: any 0/1 rows).
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights with a positive sum; ``None`` means all ones.
    alpha : float, default=0.0
        L2 penalty strength on ``W``.

    Returns
    -------
    loss : float
        The penalised weighted mean loss.
    grads : dict
        ``{"W": dW, "b": db}``, float64 arrays of shapes ``(n_features, K)``
        and ``(K,)`` with ``dz_ik = s_i (sigmoid(z_ik) - Y_ik) / S``,
        ``dW_jk = sum_i X_ij dz_ik + alpha W_jk`` and ``db_k = sum_i dz_ik``.

    Raises
    ------
    TypeError
        If an input is a sparse matrix.
    ValueError
        If shapes disagree, ``alpha < 0`` or the sample weights are negative
        or sum to zero.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn.reference import logistic_loss_grad
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> Y = np.array([[0.0], [1.0], [1.0]])
    >>> loss, grads = logistic_loss_grad(np.zeros((2, 1)), np.zeros(1), X, Y)
    >>> round(loss, 6)  # log(2) at zero weights
    0.693147
    >>> grads["W"].shape, grads["b"].shape
    ((2, 1), (1,))
    >>> grads["W"][:, 0].round(6).tolist(), grads["b"].round(6).tolist()
    ([-0.333333, 0.0], [-0.166667])
    """
    w_list, b_list, X_list, Y_list, s_list, _, alpha = _linear_inputs(
        W, b, X, Y, sample_weight, alpha, min_classes=1
    )
    loss, dw, db = _logistic_loops(w_list, b_list, X_list, Y_list, s_list, alpha)
    dW = _transpose_to_array(dw).reshape(len(w_list[0]), len(b_list))
    return loss, {"W": dW, "b": np.array(db, dtype=np.float64)}


def softmax_loss_grad(W, b, X, Y, sample_weight=None, alpha=0.0):
    """Loss and gradient of softmax (multinomial) regression, with loops.

    ``z_ik = b_k + sum_j X_ij W_jk`` and the loss is

    ``(1/S) sum_i s_i [logsumexp_k(z_ik) - sum_k Y_ik z_ik] + (alpha/2) sum W**2``

    with the log-sum-exp computed after subtracting the row maximum.

    Read more in the :ref:`User Guide <reference-loops>`.

    Parameters
    ----------
    W : array-like of shape (n_features, K)
        Weights, ``K >= 2``.
    b : array-like of shape (K,)
        Biases (not penalised).
    X : array-like of shape (n_samples, n_features)
        Dense input; convert sparse matrices with ``X.toarray()``.
    Y : array-like of shape (n_samples, K)
        One-hot targets (each row sums to 1, which makes ``P - Y`` the
        gradient with respect to ``z``).
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights with a positive sum; ``None`` means all ones.
    alpha : float, default=0.0
        L2 penalty strength on ``W``.

    Returns
    -------
    loss : float
        The penalised weighted mean loss.
    grads : dict
        ``{"W": dW, "b": db}``, float64 arrays of shapes ``(n_features, K)``
        and ``(K,)`` with ``dz_ik = s_i (softmax(z_i)_k - Y_ik) / S``,
        ``dW_jk = sum_i X_ij dz_ik + alpha W_jk`` and ``db_k = sum_i dz_ik``.

    Raises
    ------
    TypeError
        If an input is a sparse matrix.
    ValueError
        If ``K < 2``, shapes disagree, ``alpha < 0`` or the sample weights
        are negative or sum to zero.
    """
    w_list, b_list, X_list, Y_list, s_list, S, alpha = _linear_inputs(
        W, b, X, Y, sample_weight, alpha, min_classes=2
    )
    n_samples = len(X_list)
    K = len(b_list)
    n_features = len(w_list[0])

    J = 0.0
    dw = [[0.0] * n_features for _ in range(K)]
    db = [0.0] * K
    z = [0.0] * K
    for i in range(n_samples):
        x_i = X_list[i]
        y_i = Y_list[i]
        s_i = s_list[i]
        for k in range(K):
            w_k = w_list[k]
            acc = b_list[k]
            for j in range(n_features):
                acc += w_k[j] * x_i[j]
            z[k] = acc
        p, lse = _softmax_row(z)
        yz = 0.0
        for k in range(K):
            yz += y_i[k] * z[k]
        J += s_i * (lse - yz)
        for k in range(K):
            dz = s_i * (p[k] - y_i[k]) / S
            dw_k = dw[k]
            for j in range(n_features):
                dw_k[j] += x_i[j] * dz
            db[k] += dz
    J /= S

    J += _add_l2_loops(w_list, dw, alpha)
    dW = _transpose_to_array(dw).reshape(n_features, K)
    return J, {"W": dW, "b": np.array(db, dtype=np.float64)}


def gradient_descent_step(params, grads, learning_rate):
    """The course's plain update ``theta := theta - learning_rate * dtheta``.

    Updates every entry of ``params`` in place, each with one vectorized
    NumPy operation: next to the gradient the update costs nothing, and the
    benchmarks do not measure it.

    Read more in the :ref:`User Guide <reference-loops>`.

    Parameters
    ----------
    params : dict of str to ndarray
        Float arrays, modified in place.
    grads : dict of str to array-like
        A gradient for every key of ``params``, of the same shape.
    learning_rate : float
        Step size.

    Returns
    -------
    None
        The parameters are updated in place.
    """
    checked = {}
    for name, value in params.items():  # all checked first: a refusal updates nothing
        if name not in grads:
            raise ValueError(f"grads has no entry for parameter {name!r}.")
        checked[name] = np.asarray(grads[name], dtype=float)
        if checked[name].shape != np.shape(value):
            raise ValueError(
                f"grads[{name!r}] has shape {checked[name].shape}, expected {np.shape(value)}."
            )
    for name, value in params.items():
        value -= learning_rate * checked[name]


def train_logistic_regression_loops(X, y, learning_rate, num_iterations, print_cost=False):
    """Train binary logistic regression the course's way, with loops.

    Starts from ``w = 0, b = 0`` and runs ``num_iterations`` iterations of
    batch gradient descent: the loop-based loss and gradient of
    :func:`logistic_loss_grad` (``K = 1``, unit weights, no penalty), then
    ``w := w - learning_rate * dw``, ``b := b - learning_rate * db`` with a
    loop over the features.

    Read more in the :ref:`User Guide <reference-loops>`.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Dense input; convert sparse matrices with ``X.toarray()``.
    y : array-like of shape (n_samples,) or (n_samples, 1)
        Binary labels in ``{0, 1}``.
    learning_rate : float
        Step size.
    num_iterations : int
        Number of gradient-descent iterations.
    print_cost : bool, default=False
        Print the cost every 100 iterations, as the course does.

    Returns
    -------
    w : ndarray of shape (n_features, 1)
        Learned weights (float64).
    b : float
        Learned bias.
    costs : list of float
        The cost *before* the update at iterations 0, 100, 200, ... (the
        course's learning curve); ``costs[0] == log(2)``.
    """
    X = _to_array(X, "X", 2)
    _reject_sparse(y, "y")
    y = np.asarray(y, dtype=float)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    n_samples, n_features = X.shape
    _check_shape(y, "y", (n_samples,))
    if n_samples == 0:
        raise ValueError("X must contain at least one sample.")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("y must contain only the labels 0 and 1.")
    num_iterations = int(num_iterations)
    learning_rate = float(learning_rate)

    X_list = X.tolist()
    Y_list = [[v] for v in y.tolist()]
    s_list = [1.0] * n_samples
    w = [0.0] * n_features
    b = 0.0
    costs = []
    for it in range(num_iterations):
        cost, dw, db = _logistic_loops([w], [b], X_list, Y_list, s_list, 0.0)
        dw0 = dw[0]
        for j in range(n_features):
            w[j] -= learning_rate * dw0[j]
        b -= learning_rate * db[0]
        if it % 100 == 0:
            costs.append(cost)
            if print_cost:
                print(f"Cost after iteration {it}: {cost:f}")
    return np.array(w, dtype=np.float64).reshape(n_features, 1), b, costs
