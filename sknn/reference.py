"""Loop-based reference implementations of the sknn losses and gradients.

This module restates the three models of sknn -- logistic regression (``K``
independent sigmoid units), softmax regression and a one-hidden-layer neural
network -- exactly the way the course writes them *before* vectorizing:
explicit Python ``for`` loops over samples, features, hidden units and
classes, scalar accumulators and :mod:`math` functions (``math.exp``,
``math.log``, ``math.log1p``, ``math.tanh``).

The code is slow on purpose. It serves two roles:

* **test oracle** -- the vectorized engine must reproduce these losses and
  gradients to ``1e-10``; nothing here shares code with the engine, so an
  agreement between the two is evidence that both implement the formulas;
* **benchmark baseline** -- timing these functions against the vectorized
  ones shows what vectorization buys (the course's "300 times faster").

Conventions (scikit-learn's rows convention, see the course notes):

* ``X`` is ``(n_samples, n_features)``; ``Y`` is an ``(n_samples, K)`` 0/1
  indicator matrix (one column for a binary problem);
* ``sample_weight`` ``s`` is ``(n_samples,)``, non-negative, defaults to all
  ones; with ``S = sum(s)`` every loss is the weighted mean
  ``(1/S) sum_i s_i L_i`` -- so an integer weight ``k`` is equivalent to the
  row repeated ``k`` times;
* ``alpha >= 0`` is an L2 penalty ``(alpha/2) sum W**2`` on weight matrices,
  never on biases.

Array inputs are converted **once**, at entry, to plain Python lists
(``np.asarray(X, dtype=float).tolist()``): indexing a NumPy array element by
element is several times slower than indexing a list, and the course's loops
run on Python floats.  Internally a weight matrix is held as one list per
output unit (``W.T`` -- for a binary problem that is the course's weight
vector ``w``).  Gradients are returned as float64 NumPy arrays with the shapes
of the parameters.

Only dense input is supported; callers holding a SciPy sparse matrix must
convert it first with ``X.toarray()`` (a ``TypeError`` is raised otherwise).
"""

import math

import numpy as np

from ._core.activations import ACTIVATIONS

__all__ = [
    "logistic_loss_grad",
    "softmax_loss_grad",
    "shallow_nn_loss_grad",
    "shallow_nn_forward",
    "gradient_descent_step",
    "train_logistic_regression_loops",
]


# ---------------------------------------------------------------------------
# Scalar helpers
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# Input conversion and validation (done once, at entry)
# ---------------------------------------------------------------------------


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


def _transpose_to_array(rows):
    """List of K lists of length n_features -> float64 array (n_features, K)."""
    return np.array(rows, dtype=np.float64).T.copy()


# ---------------------------------------------------------------------------
# Logistic regression (K independent sigmoid units)
# ---------------------------------------------------------------------------


def _add_l2_loops(weight_rows, grad_rows, alpha):
    """Add ``alpha * w`` to each gradient entry; return ``alpha / 2 * sum(w**2)``."""
    penalty = 0.0
    for w_row, grad_row in zip(weight_rows, grad_rows):
        for j in range(len(w_row)):
            penalty += w_row[j] * w_row[j]
            grad_row[j] += alpha * w_row[j]
    return 0.5 * alpha * penalty


def _logistic_loops(w_list, b_list, X_list, Y_list, s_list, alpha):
    """Logistic loss and gradient on plain Python lists.

    Parameters
    ----------
    w_list : list of K lists of n_features floats
        The weights, one list per sigmoid unit (``W.T``; for a binary problem
        ``[w]`` with ``w`` the course's weight vector).
    b_list : list of K floats
    X_list : list of n_samples lists of n_features floats
    Y_list : list of n_samples lists of K floats
    s_list : list of n_samples floats
        Non-negative sample weights with a positive sum.
    alpha : float
        L2 strength on the weights.

    Returns
    -------
    loss : float
        The penalised weighted mean loss.
    dw_list : list of K lists of n_features floats
        Gradient in the layout of ``w_list``.
    db_list : list of K floats
        Gradient of the intercepts.
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

    (the binary cross-entropy written in terms of ``z``; ``K = 1`` is binary
    logistic regression, ``K > 2`` is one-vs-rest trained jointly, and any
    0/1 ``Y`` -- rows with several ones or none -- is the multilabel loss).
    The softplus ``log(1 + exp(z))`` and the sigmoid are evaluated stably,
    so ``|z| = 1000`` gives finite results.

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


# ---------------------------------------------------------------------------
# Softmax regression
# ---------------------------------------------------------------------------


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


def softmax_loss_grad(W, b, X, Y, sample_weight=None, alpha=0.0):
    """Loss and gradient of softmax (multinomial) regression, with loops.

    ``z_ik = b_k + sum_j X_ij W_jk`` and the loss is

    ``(1/S) sum_i s_i [logsumexp_k(z_ik) - sum_k Y_ik z_ik] + (alpha/2) sum W**2``

    with the log-sum-exp computed after subtracting the row maximum.

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


# ---------------------------------------------------------------------------
# Shallow neural network (one hidden layer)
# ---------------------------------------------------------------------------


def _nn_params(params, n_features):
    """Validate the four parameter arrays and convert them to lists."""
    try:
        W1 = _to_array(params["W1"], "W1", 2)
        b1 = _to_array(params["b1"], "b1", 1)
        W2 = _to_array(params["W2"], "W2", 2)
        b2 = _to_array(params["b2"], "b2", 1)
    except KeyError as exc:
        raise KeyError(f"params must contain W1, b1, W2, b2; missing {exc}") from None
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
        Hidden-layer activation ``g``.  ``relu`` is ``max(0, z)`` and
        ``leaky_relu`` is ``max(0.01 z, z)``; their derivatives at ``z = 0``
        are taken as ``0`` and ``0.01``.
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


# ---------------------------------------------------------------------------
# Gradient descent
# ---------------------------------------------------------------------------


def gradient_descent_step(params, grads, learning_rate):
    """The course's plain update ``theta := theta - learning_rate * dtheta``.

    Updates every entry of ``params`` in place.  The loop runs over the
    dictionary entries only; each entry is updated with one vectorized NumPy
    operation, because the update is not the part the benchmarks measure
    (its cost is negligible next to computing the gradient).

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
    for name, value in params.items():
        if name not in grads:
            raise KeyError(f"grads has no entry for parameter {name!r}.")
        g = np.asarray(grads[name], dtype=float)
        if g.shape != np.shape(value):
            raise ValueError(f"grads[{name!r}] has shape {g.shape}, expected {np.shape(value)}.")
        value -= learning_rate * g


def train_logistic_regression_loops(X, y, learning_rate, num_iterations, print_cost=False):
    """Train binary logistic regression the course's way, with loops.

    Starts from ``w = 0, b = 0`` and runs ``num_iterations`` iterations of
    batch gradient descent, each one a full loop-based pass over the data
    (:func:`_logistic_loops`, i.e. the loss and gradient of
    :func:`logistic_loss_grad` with ``K = 1``, unit weights and no penalty)
    followed by ``w := w - learning_rate * dw``, ``b := b - learning_rate * db``
    done with a loop over the features.  ``X`` and ``y`` are converted to
    lists once, before the first iteration.

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
