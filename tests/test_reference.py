"""Tests for the loop-based reference implementations in ``sknn.reference``.

Each loop-based function is checked against

(a) a straightforward NumPy implementation of the same formulas, written
    independently below, to 1e-12, and
(b) central finite differences of its own loss (relative error < 1e-6),

for K = 1 and K = 3, alpha 0 and 0.3, with and without sample weights
(including a zero weight) and, for the network, all four activations.
The data are tiny because the reference is deliberately slow.
"""

import math
import os
from pathlib import Path

import numpy as np
import pytest

from sknn.reference import (
    gradient_descent_step,
    logistic_loss_grad,
    shallow_nn_forward,
    shallow_nn_loss_grad,
    softmax_loss_grad,
    train_logistic_regression_loops,
)
from sknn.reference._common import _log1pexp, _sigmoid
from sknn.reference.linear import _logistic_loops

N_SAMPLES, N_FEATURES, N_HIDDEN = 7, 4, 5
ACTIVATIONS = ["tanh", "sigmoid", "relu", "leaky_relu"]
ALPHAS = [0.0, 0.3]
WEIGHTS = ["none", "weighted"]
TOL = dict(rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------
# Plain NumPy implementations of the formulas (the independent check)
# ---------------------------------------------------------------------------


def np_weights(sample_weight, n):
    return np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)


def np_softplus(z):
    return np.logaddexp(0.0, z)


def np_sigmoid(z):
    return np.exp(-np.logaddexp(0.0, -z))


def np_logsumexp(Z):
    m = Z.max(axis=1, keepdims=True)
    return (m + np.log(np.exp(Z - m).sum(axis=1, keepdims=True)))[:, 0]


def np_softmax(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def np_output_loss_dz(Z, Y, s, multilabel=False):
    """Weighted mean output loss and dZ = s (P - Y) / S (sigmoid if K == 1 or multilabel)."""
    S = s.sum()
    if Z.shape[1] == 1 or multilabel:
        per_sample = (np_softplus(Z) - Y * Z).sum(axis=1)
        P = np_sigmoid(Z)
    else:
        per_sample = np_logsumexp(Z) - (Y * Z).sum(axis=1)
        P = np_softmax(Z)
    return (s @ per_sample) / S, s[:, None] * (P - Y) / S


def np_linear(W, b, X, Y, sample_weight, alpha, softmax):
    s = np_weights(sample_weight, X.shape[0])
    Z = X @ W + b
    S = s.sum()
    if softmax:
        loss = s @ (np_logsumexp(Z) - (Y * Z).sum(axis=1)) / S
        dZ = s[:, None] * (np_softmax(Z) - Y) / S
    else:
        loss = s @ (np_softplus(Z) - Y * Z).sum(axis=1) / S
        dZ = s[:, None] * (np_sigmoid(Z) - Y) / S
    loss += 0.5 * alpha * np.sum(W**2)
    return loss, {"W": X.T @ dZ + alpha * W, "b": dZ.sum(axis=0)}


def np_g(Z, activation):
    if activation == "tanh":
        A = np.tanh(Z)
        return A, 1.0 - A**2
    if activation == "sigmoid":
        A = np_sigmoid(Z)
        return A, A * (1.0 - A)
    if activation == "relu":
        return np.maximum(Z, 0.0), (Z > 0).astype(float)
    return np.maximum(0.01 * Z, Z), np.where(Z > 0, 1.0, 0.01)


def np_nn(params, X, Y, activation, sample_weight, alpha, multilabel=False):
    s = np_weights(sample_weight, X.shape[0])
    W1, b1, W2, b2 = (params[k] for k in ("W1", "b1", "W2", "b2"))
    Z1 = X @ W1 + b1
    A1, dg = np_g(Z1, activation)
    Z2 = A1 @ W2 + b2
    loss, dZ2 = np_output_loss_dz(Z2, Y, s, multilabel)
    loss += 0.5 * alpha * (np.sum(W1**2) + np.sum(W2**2))
    dZ1 = (dZ2 @ W2.T) * dg
    grads = {
        "W1": X.T @ dZ1 + alpha * W1,
        "b1": dZ1.sum(axis=0),
        "W2": A1.T @ dZ2 + alpha * W2,
        "b2": dZ2.sum(axis=0),
    }
    return loss, grads, Z2


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


def make_problem(K, seed=0, n=N_SAMPLES, d=N_FEATURES):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    labels = np.arange(n) % max(K, 2)  # every class present
    rng.shuffle(labels)
    if K == 1:
        Y = labels[:, None].astype(float)
    else:
        Y = np.eye(K)[labels]
    return X, Y


def make_multilabel_problem(K, seed=0, n=N_SAMPLES, d=N_FEATURES):
    """A 0/1 indicator Y with a row of no label and a row of every label."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    Y = rng.integers(0, 2, size=(n, K)).astype(float)
    Y[0], Y[1] = 0.0, 1.0
    return X, Y


def make_weights(kind, n=N_SAMPLES):
    if kind == "none":
        return None
    w = np.linspace(0.5, 2.5, n)
    w[2] = 0.0  # a zero weight
    return w


def linear_params(K, seed=1):
    rng = np.random.default_rng(seed)
    return {"W": rng.normal(size=(N_FEATURES, K)), "b": rng.normal(size=K)}


def nn_params(K, seed=2):
    rng = np.random.default_rng(seed)
    return {
        "W1": rng.normal(size=(N_FEATURES, N_HIDDEN)),
        "b1": rng.normal(size=N_HIDDEN),
        "W2": rng.normal(size=(N_HIDDEN, K)),
        "b2": rng.normal(size=K),
    }


def finite_difference(loss_fn, params, eps=1e-6):
    """Central differences of ``loss_fn(params)`` for every entry of params."""
    out = {}
    for name, value in params.items():
        g = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            old = value[idx]
            value[idx] = old + eps
            plus = loss_fn(params)
            value[idx] = old - eps
            minus = loss_fn(params)
            value[idx] = old
            g[idx] = (plus - minus) / (2 * eps)
        out[name] = g
    return out


def rel_error(grads, fd):
    a = np.concatenate([grads[k].ravel() for k in sorted(fd)])
    b = np.concatenate([fd[k].ravel() for k in sorted(fd)])
    return np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300)


def assert_grads_close(got, expected, params):
    assert set(got) == set(expected)
    for k in expected:
        assert got[k].dtype == np.float64
        assert got[k].shape == np.shape(params[k]), k
        np.testing.assert_allclose(got[k], expected[k], err_msg=k, **TOL)


# ---------------------------------------------------------------------------
# Scalar helpers: stable branches
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("z", [-1000.0, -30.0, -1.5, 0.0, 2.0, 40.0, 1000.0])
def test_scalar_helpers_match_numpy(z):
    assert math.isclose(_sigmoid(z), np_sigmoid(z), rel_tol=1e-12, abs_tol=1e-300)
    assert math.isclose(_log1pexp(z), np_softplus(z), rel_tol=1e-12, abs_tol=1e-300)


def test_scalar_helpers_extreme_values():
    assert _sigmoid(1000.0) == 1.0
    assert _sigmoid(-1000.0) == 0.0
    assert _log1pexp(1000.0) == 1000.0
    assert _log1pexp(-1000.0) == 0.0


# ---------------------------------------------------------------------------
# Linear models
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("weights", WEIGHTS)
@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("K", [1, 3])
def test_logistic_matches_numpy_and_finite_differences(K, alpha, weights):
    X, Y = make_problem(K)
    s = make_weights(weights)
    params = linear_params(K)
    loss, grads = logistic_loss_grad(params["W"], params["b"], X, Y, s, alpha)
    exp_loss, exp_grads = np_linear(params["W"], params["b"], X, Y, s, alpha, False)
    assert isinstance(loss, float)
    assert math.isclose(loss, exp_loss, rel_tol=1e-12, abs_tol=1e-12)
    assert_grads_close(grads, exp_grads, params)

    fd = finite_difference(lambda p: logistic_loss_grad(p["W"], p["b"], X, Y, s, alpha)[0], params)
    assert rel_error(grads, fd) < 1e-6


@pytest.mark.parametrize("weights", WEIGHTS)
@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("K", [2, 3])
def test_softmax_matches_numpy_and_finite_differences(K, alpha, weights):
    X, Y = make_problem(K)
    s = make_weights(weights)
    params = linear_params(K)
    loss, grads = softmax_loss_grad(params["W"], params["b"], X, Y, s, alpha)
    exp_loss, exp_grads = np_linear(params["W"], params["b"], X, Y, s, alpha, True)
    assert isinstance(loss, float)
    assert math.isclose(loss, exp_loss, rel_tol=1e-12, abs_tol=1e-12)
    assert_grads_close(grads, exp_grads, params)

    fd = finite_difference(lambda p: softmax_loss_grad(p["W"], p["b"], X, Y, s, alpha)[0], params)
    assert rel_error(grads, fd) < 1e-6


def test_logistic_private_loops_agree_with_public_function():
    X, Y = make_problem(3)
    s = make_weights("weighted")
    params = linear_params(3)
    loss, dw, db = _logistic_loops(
        params["W"].T.tolist(),
        params["b"].tolist(),
        X.tolist(),
        Y.tolist(),
        s.tolist(),
        0.3,
    )
    exp_loss, exp_grads = logistic_loss_grad(params["W"], params["b"], X, Y, s, 0.3)
    assert loss == exp_loss
    np.testing.assert_array_equal(np.array(dw).T, exp_grads["W"])
    np.testing.assert_array_equal(np.array(db), exp_grads["b"])


def test_zero_loss_at_zero_weights_is_log2():
    X, Y = make_problem(1)
    loss, _ = logistic_loss_grad(np.zeros((N_FEATURES, 1)), np.zeros(1), X, Y)
    assert math.isclose(loss, math.log(2), rel_tol=1e-15)
    X, Y = make_problem(3)
    loss, _ = softmax_loss_grad(np.zeros((N_FEATURES, 3)), np.zeros(3), X, Y)
    assert math.isclose(loss, math.log(3), rel_tol=1e-15)


# ---------------------------------------------------------------------------
# Shallow network
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("weights", WEIGHTS)
@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("K", [1, 3])
def test_nn_matches_numpy_and_finite_differences(K, alpha, weights, activation):
    X, Y = make_problem(K)
    s = make_weights(weights)
    params = nn_params(K)
    loss, grads = shallow_nn_loss_grad(params, X, Y, activation, s, alpha)
    exp_loss, exp_grads, _ = np_nn(params, X, Y, activation, s, alpha)
    assert isinstance(loss, float)
    assert math.isclose(loss, exp_loss, rel_tol=1e-12, abs_tol=1e-12)
    assert_grads_close(grads, exp_grads, params)

    # relu kinks: make sure no hidden pre-activation sits within eps of 0
    assert np.min(np.abs(X @ params["W1"] + params["b1"])) > 1e-4
    fd = finite_difference(lambda p: shallow_nn_loss_grad(p, X, Y, activation, s, alpha)[0], params)
    assert rel_error(grads, fd) < 1e-6


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("K", [1, 3])
def test_nn_forward_matches_numpy(K, activation):
    X, Y = make_problem(K)
    params = nn_params(K)
    Z2 = shallow_nn_forward(params, X, activation)
    _, _, exp_Z2 = np_nn(params, X, Y, activation, None, 0.0)
    assert Z2.shape == (N_SAMPLES, K) and Z2.dtype == np.float64
    np.testing.assert_allclose(Z2, exp_Z2, **TOL)


@pytest.mark.parametrize("K", [1, 3])
def test_nn_output_loss_is_linear_loss_on_hidden_layer(K):
    """The network's output loss is logistic (K=1) / softmax (K>=2) on A1."""
    X, Y = make_problem(K)
    params = nn_params(K)
    A1 = np.tanh(X @ params["W1"] + params["b1"])
    linear = logistic_loss_grad if K == 1 else softmax_loss_grad
    exp_loss, exp_grads = linear(params["W2"], params["b2"], A1, Y)
    loss, grads = shallow_nn_loss_grad(params, X, Y, "tanh")
    assert math.isclose(loss, exp_loss, rel_tol=1e-12)
    np.testing.assert_allclose(grads["W2"], exp_grads["W"], **TOL)
    np.testing.assert_allclose(grads["b2"], exp_grads["b"], **TOL)


# ---------------------------------------------------------------------------
# Multilabel: independent sigmoid units, any 0/1 rows
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("weights", WEIGHTS)
@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("K", [2, 3])
def test_multilabel_logistic_matches_numpy_and_finite_differences(K, alpha, weights):
    X, Y = make_multilabel_problem(K)
    s = make_weights(weights)
    params = linear_params(K)
    loss, grads = logistic_loss_grad(params["W"], params["b"], X, Y, s, alpha)
    exp_loss, exp_grads = np_linear(params["W"], params["b"], X, Y, s, alpha, False)
    assert math.isclose(loss, exp_loss, rel_tol=1e-12, abs_tol=1e-12)
    assert_grads_close(grads, exp_grads, params)
    fd = finite_difference(lambda p: logistic_loss_grad(p["W"], p["b"], X, Y, s, alpha)[0], params)
    assert rel_error(grads, fd) < 1e-6


def test_multilabel_logistic_is_the_sum_of_binary_losses():
    """K units on a multilabel Y are K independent binary problems, summed."""
    X, Y = make_multilabel_problem(3)
    params = linear_params(3)
    loss, grads = logistic_loss_grad(params["W"], params["b"], X, Y, alpha=0.3)
    parts = [
        logistic_loss_grad(params["W"][:, [k]], params["b"][[k]], X, Y[:, [k]], alpha=0.3)
        for k in range(3)
    ]
    assert math.isclose(loss, sum(part[0] for part in parts), rel_tol=1e-12)
    np.testing.assert_allclose(grads["W"], np.hstack([p[1]["W"] for p in parts]), **TOL)
    np.testing.assert_allclose(grads["b"], np.concatenate([p[1]["b"] for p in parts]), **TOL)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("weights", WEIGHTS)
@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("K", [2, 3])
def test_nn_multilabel_matches_numpy_and_finite_differences(K, alpha, weights, activation):
    X, Y = make_multilabel_problem(K)
    s = make_weights(weights)
    params = nn_params(K)
    loss, grads = shallow_nn_loss_grad(params, X, Y, activation, s, alpha, multilabel=True)
    exp_loss, exp_grads, _ = np_nn(params, X, Y, activation, s, alpha, multilabel=True)
    assert math.isclose(loss, exp_loss, rel_tol=1e-12, abs_tol=1e-12)
    assert_grads_close(grads, exp_grads, params)
    assert np.min(np.abs(X @ params["W1"] + params["b1"])) > 1e-4  # away from relu's kink
    fd = finite_difference(
        lambda p: shallow_nn_loss_grad(p, X, Y, activation, s, alpha, multilabel=True)[0],
        params,
    )
    assert rel_error(grads, fd) < 1e-6


def test_nn_multilabel_output_loss_is_logistic_loss_on_hidden_layer():
    X, Y = make_multilabel_problem(3)
    params = nn_params(3)
    A1 = np.tanh(X @ params["W1"] + params["b1"])
    exp_loss, exp_grads = logistic_loss_grad(params["W2"], params["b2"], A1, Y)
    loss, grads = shallow_nn_loss_grad(params, X, Y, "tanh", multilabel=True)
    assert math.isclose(loss, exp_loss, rel_tol=1e-12)
    np.testing.assert_allclose(grads["W2"], exp_grads["W"], **TOL)
    np.testing.assert_allclose(grads["b2"], exp_grads["b"], **TOL)


def test_nn_single_output_is_the_same_with_or_without_multilabel():
    X, Y = make_problem(1)
    params = nn_params(1)
    plain = shallow_nn_loss_grad(params, X, Y, "relu", alpha=0.3)
    multilabel = shallow_nn_loss_grad(params, X, Y, "relu", alpha=0.3, multilabel=True)
    assert plain[0] == multilabel[0]
    for name in plain[1]:
        np.testing.assert_array_equal(plain[1][name], multilabel[1][name])


# ---------------------------------------------------------------------------
# Sample weights: weight k == row repeated k times
# ---------------------------------------------------------------------------


INT_WEIGHTS = np.array([2, 0, 1, 3, 1, 1, 2])


def _repeated(K):
    X, Y = make_problem(K)
    return X, Y, np.repeat(X, INT_WEIGHTS, axis=0), np.repeat(Y, INT_WEIGHTS, axis=0)


@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("K", [1, 3])
def test_integer_weights_equal_repeated_rows_linear(K, alpha):
    X, Y, Xr, Yr = _repeated(K)
    params = linear_params(K)
    funcs = [logistic_loss_grad] + ([softmax_loss_grad] if K > 1 else [])
    for f in funcs:
        lw, gw = f(params["W"], params["b"], X, Y, INT_WEIGHTS, alpha)
        lr, gr = f(params["W"], params["b"], Xr, Yr, None, alpha)
        assert math.isclose(lw, lr, rel_tol=1e-12)
        assert_grads_close(gw, gr, params)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("K", [1, 3])
def test_integer_weights_equal_repeated_rows_nn(K, activation):
    X, Y, Xr, Yr = _repeated(K)
    params = nn_params(K)
    lw, gw = shallow_nn_loss_grad(params, X, Y, activation, INT_WEIGHTS, 0.3)
    lr, gr = shallow_nn_loss_grad(params, Xr, Yr, activation, None, 0.3)
    assert math.isclose(lw, lr, rel_tol=1e-12)
    assert_grads_close(gw, gr, params)


def test_zero_weight_row_is_ignored():
    X, Y = make_problem(3)
    s = make_weights("weighted")
    keep = s > 0
    params = nn_params(3)
    l1, g1 = shallow_nn_loss_grad(params, X, Y, "relu", s, 0.3)
    l2, g2 = shallow_nn_loss_grad(params, X[keep], Y[keep], "relu", s[keep], 0.3)
    assert math.isclose(l1, l2, rel_tol=1e-12)
    assert_grads_close(g1, g2, params)


# ---------------------------------------------------------------------------
# Stability for |z| = 1000
# ---------------------------------------------------------------------------


def test_logistic_stable_for_large_z():
    X = np.array([[1.0], [-1.0], [1.0], [-1.0]])
    Y = np.array([[1.0], [1.0], [0.0], [0.0]])
    W = np.array([[1000.0]])
    loss, grads = logistic_loss_grad(W, np.zeros(1), X, Y)
    # per-sample losses 0, 1000, 1000, 0
    assert loss == pytest.approx(500.0, rel=1e-15)
    # dz = (1-1, 0-1, 1-0, 0-0)/4 -> dW = (0 + 1 + 1 + 0)/4, db = 0
    np.testing.assert_allclose(grads["W"], [[0.5]], rtol=1e-15)
    np.testing.assert_allclose(grads["b"], [0.0], atol=1e-15)


def test_softmax_stable_for_large_z():
    X = np.array([[1.0], [-1.0]])
    Y = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    W = np.array([[1000.0, 0.0, -1000.0]])
    loss, grads = softmax_loss_grad(W, np.zeros(3), X, Y)
    # sample 0: z = (1000, 0, -1000) -> loss 0; sample 1: (-1000, 0, 1000) -> 2000
    assert loss == pytest.approx(1000.0, rel=1e-15)
    assert all(np.all(np.isfinite(g)) for g in grads.values())


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("K", [1, 3])
def test_nn_stable_for_large_z(K, activation):
    X, Y = make_problem(K)
    params = nn_params(K)
    params["W1"] *= 1000.0  # |Z1| in the hundreds / thousands
    params["W2"] = np.full_like(params["W2"], 1000.0)
    params["W2"][:, 0] *= -1.0
    loss, grads = shallow_nn_loss_grad(params, X, Y, activation)
    assert math.isfinite(loss)
    assert all(np.all(np.isfinite(g)) for g in grads.values())
    # logits of order 1e5-1e6 (relu): softmax is ill-conditioned there and
    # summation order alone moves the gradient at ~1e-9, hence the tolerance
    exp_loss, exp_grads, _ = np_nn(params, X, Y, activation, None, 0.0)
    assert math.isclose(loss, exp_loss, rel_tol=1e-12, abs_tol=1e-12)
    for k in exp_grads:
        np.testing.assert_allclose(grads[k], exp_grads[k], rtol=1e-7, atol=1e-7)


# ---------------------------------------------------------------------------
# Gradient descent and the course's training loop
# ---------------------------------------------------------------------------


def test_gradient_descent_step_in_place():
    params = nn_params(3)
    before = {k: v.copy() for k, v in params.items()}
    ids = {k: id(v) for k, v in params.items()}
    grads = {k: np.ones_like(v) * 2.0 for k, v in params.items()}
    assert gradient_descent_step(params, grads, 0.1) is None
    for k in params:
        assert id(params[k]) == ids[k]
        np.testing.assert_allclose(params[k], before[k] - 0.2, **TOL)


def test_gradient_descent_step_rejects_mismatch():
    params = {"W": np.zeros((2, 1)), "b": np.zeros(1)}
    with pytest.raises(ValueError, match="grads has no entry for parameter 'b'"):
        gradient_descent_step(params, {"W": np.ones((2, 1))}, 0.1)
    with pytest.raises(ValueError):
        gradient_descent_step(params, {"W": np.ones((2, 1)), "b": np.ones(2)}, 0.1)
    # A refused update changes nothing.
    assert not params["W"].any() and not params["b"].any()


def _small_binary_problem():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(20, 3))
    y = (X @ np.array([1.0, -2.0, 0.5]) + 0.3 * rng.normal(size=20) > 0).astype(int)
    return X, y


def test_train_loops_costs_start_at_log2_and_decrease():
    X, y = _small_binary_problem()
    w, b, costs = train_logistic_regression_loops(X, y, 0.1, 501)
    assert w.shape == (3, 1) and w.dtype == np.float64
    assert isinstance(b, float)
    assert len(costs) == 6  # iterations 0, 100, ..., 500
    assert math.isclose(costs[0], math.log(2), rel_tol=1e-15)
    assert all(c1 < c0 for c0, c1 in zip(costs, costs[1:]))
    # the learned model separates the training data reasonably well
    assert np.mean(((X @ w)[:, 0] + b > 0) == y) >= 0.85


def test_train_loops_equals_repeated_public_steps():
    """train_...loops == logistic_loss_grad + gradient_descent_step by hand."""
    X, y = _small_binary_problem()
    w, b, costs = train_logistic_regression_loops(X, y[:, None], 0.05, 7)
    params = {"W": np.zeros((3, 1)), "b": np.zeros(1)}
    for it in range(7):
        loss, grads = logistic_loss_grad(params["W"], params["b"], X, y[:, None])
        if it == 0:
            assert loss == costs[0]
        gradient_descent_step(params, grads, 0.05)
    np.testing.assert_allclose(w, params["W"], **TOL)
    assert math.isclose(b, params["b"][0], rel_tol=1e-12, abs_tol=1e-12)


def test_train_loops_prints_cost(capsys):
    X, y = _small_binary_problem()
    train_logistic_regression_loops(X, y, 0.1, 101, print_cost=True)
    out = capsys.readouterr().out.splitlines()
    assert out == ["Cost after iteration 0: 0.693147", out[1]]
    assert out[1].startswith("Cost after iteration 100: ")


def test_train_loops_rejects_non_binary_labels():
    X, y = _small_binary_problem()
    with pytest.raises(ValueError):
        train_logistic_regression_loops(X, y + 1, 0.1, 1)


# ---------------------------------------------------------------------------
# Input validation
# ---------------------------------------------------------------------------


def test_sparse_input_rejected():
    sparse = pytest.importorskip("scipy.sparse")
    X, Y = make_problem(1)
    params = linear_params(1)
    with pytest.raises(TypeError, match="toarray"):
        logistic_loss_grad(params["W"], params["b"], sparse.csr_matrix(X), Y)
    with pytest.raises(TypeError, match="toarray"):
        shallow_nn_forward(nn_params(1), sparse.csr_matrix(X))


def test_invalid_inputs_rejected():
    X, Y = make_problem(3)
    params = linear_params(3)
    W, b = params["W"], params["b"]
    with pytest.raises(ValueError):  # softmax needs K >= 2
        softmax_loss_grad(W[:, :1], b[:1], X, Y[:, :1])
    with pytest.raises(ValueError):  # W / X mismatch
        logistic_loss_grad(W[:-1], b, X, Y)
    with pytest.raises(ValueError):  # Y / b mismatch
        logistic_loss_grad(W, b[:2], X, Y)
    with pytest.raises(ValueError):  # negative weight
        logistic_loss_grad(W, b, X, Y, -np.ones(N_SAMPLES))
    with pytest.raises(ValueError):  # all weights zero
        logistic_loss_grad(W, b, X, Y, np.zeros(N_SAMPLES))
    with pytest.raises(ValueError):  # negative alpha
        logistic_loss_grad(W, b, X, Y, alpha=-1.0)
    with pytest.raises(ValueError):  # unknown activation
        shallow_nn_loss_grad(nn_params(3), X, Y, activation="softplus")
    with pytest.raises(ValueError, match="params must contain W1, b1, W2, b2"):
        shallow_nn_forward({"W1": np.zeros((N_FEATURES, 2))}, X)


# ---------------------------------------------------------------------------
# The course's cat-vs-non-cat problem (skipped when the data are absent)
# ---------------------------------------------------------------------------


DATA_DIR = Path(
    os.environ.get(
        "SKNN_DATA_DIR", Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
    )
)
CAT_TRAIN = DATA_DIR / "train_catvnoncat.h5"


@pytest.mark.skipif(not CAT_TRAIN.exists(), reason=f"{CAT_TRAIN} not found")
def test_course_cat_problem_learning_curve():
    """The course's full problem: 209 x 12288, lr 0.005, 101 iterations.

    One loop-based iteration takes about 0.26 s here (about 26 s in all), so
    the full 101 iterations are run and both recorded costs are compared with
    the course's printed values (0.693147 at 0, 0.584508 at 100).
    """
    h5py = pytest.importorskip("h5py")
    with h5py.File(CAT_TRAIN, "r") as f:
        X = f["train_set_x"][:]
        y = f["train_set_y"][:]
    X = X.reshape(X.shape[0], -1) / 255.0
    assert X.shape == (209, 12288)
    w, b, costs = train_logistic_regression_loops(X, y, 0.005, 101)
    assert w.shape == (12288, 1)
    assert len(costs) == 2
    assert round(costs[0], 6) == 0.693147
    assert round(costs[1], 6) == 0.584508
