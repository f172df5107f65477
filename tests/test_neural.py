"""Tests of ShallowNNClassifier and its objective, ShallowNetObjective.

Gradients are checked against central finite differences and against the
loop-based twin in :mod:`sknn.reference`; then the course's points about
initialisation (symmetry, the exact ``randn * init_scale`` draw, Xavier/He),
reproducibility, dtypes, shapes, parameter validation, numerical robustness,
the defaults on real data and the equivalences of sample weights, partial_fit
and warm starts.
"""

import math
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import OPTIMIZERS
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_iris,
    load_wine,
    make_multilabel_classification,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from sknn import ShallowNNClassifier, check_gradient, reference
from sknn._core.objectives.network import ShallowNetObjective

ACTIVATIONS = ["tanh", "relu", "sigmoid", "leaky_relu"]
PARAM_NAMES = ("W1", "b1", "W2", "b2")


# --------------------------------------------------------------- helpers
def _data(n_classes=2, n_samples=24, n_features=4, seed=0, sparse=False):
    """Continuous random data; about 40% zeros when ``sparse`` (as CSR)."""
    rng = np.random.RandomState(seed)
    X = rng.randn(n_samples, n_features)
    y = np.arange(n_samples) % n_classes
    rng.shuffle(y)
    X += 0.8 * y[:, None] * rng.randn(n_features)  # some signal
    if sparse:
        X[rng.uniform(size=X.shape) < 0.4] = 0.0
        X = sp.csr_matrix(X)
    return X, y


def _weights(n_samples, seed=1):
    """Positive weights with one 0 (that row must count as absent)."""
    sw = np.random.RandomState(seed).uniform(0.2, 3.0, size=n_samples)
    sw[2] = 0.0
    return sw


def _trained_net(activation, X, y, sample_weight=None, alpha=0.0, **kwargs):
    """A net a few epochs away from its initialisation: a non-trivial point.

    init='normal' with init_scale=0.5 gives pre-activations of order one, so
    relu units are not dead and tanh/sigmoid units are not saturated.
    """
    params = dict(
        hidden_layer_size=5,
        activation=activation,
        init="normal",
        init_scale=0.5,
        alpha=alpha,
        learning_rate=0.05,
        max_iter=5,
        tol=None,
        random_state=0,
    )
    params.update(kwargs)
    return ShallowNNClassifier(**params).fit(X, y, sample_weight=sample_weight)


def _numerical_gradient(objective, params, X, Y, sample_weight, eps=1e-6):
    """Central differences of ``objective.loss`` for every parameter entry."""
    numeric = {}
    for name, param in params.items():
        grad = np.zeros_like(param)
        for index in np.ndindex(param.shape):
            saved = param[index]
            param[index] = saved + eps
            up = objective.loss(params, X, Y, sample_weight)
            param[index] = saved - eps
            down = objective.loss(params, X, Y, sample_weight)
            param[index] = saved
            grad[index] = (up - down) / (2 * eps)
        numeric[name] = grad
    return numeric


def _relative_error(a, b):
    scale = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if scale == 0 else float(np.linalg.norm(a - b) / scale)


def _copy_grads(grads):
    # loss_grad returns buffers it reuses on the next call.
    return {name: np.array(g, copy=True) for name, g in grads.items()}


def _all_arrays(est):
    return list(est.coefs_) + list(est.intercepts_)


# ------------------------------------------------- finite-difference gradients
GRID = pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
GRID_W = pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
GRID_A = pytest.mark.parametrize("alpha", [0.0, 0.1])
GRID_K = pytest.mark.parametrize("n_classes", [2, 3], ids=["binary", "3classes"])
GRID_G = pytest.mark.parametrize("activation", ACTIVATIONS)


@GRID_G
@GRID_K
@GRID_A
@GRID_W
@GRID
def test_check_gradient_matches_finite_differences(activation, n_classes, alpha, weighted, sparse):
    X, y = _data(n_classes, sparse=sparse)
    sw = _weights(X.shape[0]) if weighted else None
    net = _trained_net(activation, X, y, sw, alpha)
    error, details = check_gradient(net, X, y, sw, eps=1e-6, return_details=True)
    assert error < 1e-6, details
    assert set(details) == set(PARAM_NAMES)
    assert max(details.values()) <= error


@GRID_G
@GRID_K
@GRID_A
@GRID_W
@GRID
def test_objective_gradient_matches_finite_differences(
    activation, n_classes, alpha, weighted, sparse
):
    X, y = _data(n_classes, sparse=sparse)
    sw = _weights(X.shape[0]) if weighted else None
    net = _trained_net(activation, X, y, sw, alpha)
    # All rows (a zero weight kept as a zero, not dropped): the objective must
    # give weight-0 rows no influence by itself.
    objective, params, X_all, Y, sw_none = net._gradient_problem(X, y, None)
    assert sw_none is None
    assert isinstance(objective, ShallowNetObjective)
    assert sp.issparse(X_all) == sparse
    assert Y.shape == (X.shape[0], 1 if n_classes == 2 else n_classes)
    assert_allclose(params["W1"], net.coefs_[0])  # at the fitted point

    loss, grads = objective.loss_grad(params, X_all, Y, sw)
    grads = _copy_grads(grads)
    assert loss == pytest.approx(objective.loss(params, X_all, Y, sw), rel=1e-12)
    numeric = _numerical_gradient(objective, params, X_all, Y, sw, eps=1e-6)
    for name in PARAM_NAMES:
        assert grads[name].shape == params[name].shape
        assert np.linalg.norm(grads[name]) > 0, name
        assert _relative_error(grads[name], numeric[name]) < 1e-6, name

    if weighted:
        # The weight-0 row, which _gradient_problem and fit keep with weight 0,
        # gives the same loss and gradient as if absent.
        _, params2, X_kept, Y_kept, sw_kept = net._gradient_problem(X, y, sw)
        assert X_kept.shape[0] == X.shape[0] and np.any(sw_kept == 0)
        loss_kept, grads_kept = objective.loss_grad(params2, X_kept, Y_kept, sw_kept)
        assert loss_kept == pytest.approx(loss, rel=1e-12)
        for name in PARAM_NAMES:
            assert_allclose(grads_kept[name], grads[name], rtol=1e-10, atol=1e-13)


# ------------------------------------------------------ the loop-based twin
@GRID_G
@GRID_K
@GRID_A
@GRID_W
@GRID
def test_vectorized_objective_equals_loop_reference(activation, n_classes, alpha, weighted, sparse):
    X, y = _data(n_classes, n_samples=15, sparse=sparse, seed=3)
    sw = _weights(X.shape[0]) if weighted else None
    net = _trained_net(activation, X, y, sw, alpha)
    objective, params, X_all, Y, _ = net._gradient_problem(X, y, None)
    X_dense = X_all.toarray() if sparse else X_all

    loss, grads = objective.loss_grad(params, X_all, Y, sw)
    grads = _copy_grads(grads)
    ref_loss, ref_grads = reference.shallow_nn_loss_grad(
        params, X_dense, Y, activation, sample_weight=sw, alpha=alpha
    )
    assert loss == pytest.approx(ref_loss, rel=1e-10, abs=1e-12)
    assert objective.loss(params, X_all, Y, sw) == pytest.approx(ref_loss, rel=1e-10, abs=1e-12)
    assert set(ref_grads) == set(grads)
    for name in PARAM_NAMES:
        assert_allclose(grads[name], ref_grads[name], rtol=1e-10, atol=1e-12, err_msg=name)

    # A second call (buffers reused) gives the same result again.
    loss2, grads2 = objective.loss_grad(params, X_all, Y, sw)
    assert loss2 == loss
    for name in PARAM_NAMES:
        assert_array_equal(grads2[name], grads[name])

    assert_allclose(
        objective.logits(params, X_all),
        reference.shallow_nn_forward(params, X_dense, activation),
        rtol=1e-10,
        atol=1e-12,
    )
    # The estimator's own decision function is those logits.
    logits = reference.shallow_nn_forward(params, X_dense, activation)
    scores = net.decision_function(X)
    assert_allclose(scores, logits[:, 0] if n_classes == 2 else logits, rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------ initialisation
def _warm_net(init, **kwargs):
    return ShallowNNClassifier(
        hidden_layer_size=6,
        activation="tanh",
        init=init,
        init_scale=0.5,
        optimizer="gd",
        learning_rate=0.5,
        alpha=0.0,
        max_iter=1,
        tol=None,
        warm_start=True,
        random_state=0,
        **kwargs,
    )


def _columns_identical(W):
    return np.allclose(W, W[:, :1], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_zero_initialisation_never_breaks_symmetry(n_classes):
    X, y = _data(n_classes, n_samples=30)
    net = _warm_net("normal").fit(X, y)
    for array in _all_arrays(net):
        array[...] = 0.0
    net.set_params(max_iter=50).fit(X, y)  # warm start: continues from the zeros
    assert net.n_iter_ == 51
    W1, W2 = net.coefs_
    b1, b2 = net.intercepts_
    # Every hidden unit is the same unit: identical incoming weights (columns
    # of W1), biases and outgoing weights (rows of W2).
    assert _columns_identical(W1)
    assert _columns_identical(b1[None, :])
    assert _columns_identical(W2.T)
    # With tanh(0) = 0 nothing but the output bias ever moves: the network is
    # a constant predictor (b2 has learnt the class priors).
    assert_array_equal(W1, 0.0)
    assert_array_equal(W2, 0.0)
    assert np.any(b2 != 0)
    assert len(np.unique(net.predict(X))) == 1

    # The same through the public API with the course's random start: the
    # units differ.
    random_net = _warm_net("normal").set_params(max_iter=51).fit(X, y)
    W1r, W2r = random_net.coefs_
    assert not _columns_identical(W1r)
    assert not _columns_identical(W2r.T)
    assert len(np.unique(random_net.intercepts_[0])) == W1r.shape[1]
    assert random_net.score(X, y) > net.score(X, y)


def test_identical_nonzero_units_stay_identical():
    """Symmetry is the point, not the zeros: equal units get equal updates."""
    X, y = _data(3, n_samples=30)
    net = _warm_net("normal").fit(X, y)
    W1, W2 = net.coefs_
    W1[...] = np.random.RandomState(5).randn(W1.shape[0], 1)  # every column equal
    W2[...] = 0.0
    for b in net.intercepts_:
        b[...] = 0.0
    net.set_params(max_iter=50).fit(X, y)
    W1, W2 = net.coefs_
    assert np.abs(W2).max() > 1e-3  # the output layer did learn
    assert _columns_identical(W1)
    assert _columns_identical(net.intercepts_[0][None, :])
    assert _columns_identical(W2.T)


def test_relu_zero_initialisation_gets_no_gradient():
    X, y = _data(2, n_samples=30)
    net = ShallowNNClassifier(hidden_layer_size=4, activation="relu", init="normal", random_state=0)
    objective, params, X, Y, sw = net._gradient_problem(X, y, None)
    for p in params.values():
        p[...] = 0.0
    _, grads = objective.loss_grad(params, X, Y, sw)
    for name in ("W1", "b1", "W2"):
        assert_array_equal(grads[name], 0.0)
    assert np.any(grads["b2"] != 0)


@pytest.mark.parametrize("seed", [0, 7])
@pytest.mark.parametrize("n_classes", [2, 4])
def test_normal_init_is_the_courses_randn_draw(seed, n_classes):
    n_hidden, init_scale = 7, 0.3
    X, y = _data(n_classes, n_samples=20, n_features=5)
    net = ShallowNNClassifier(
        hidden_layer_size=n_hidden, init="normal", init_scale=init_scale, random_state=seed
    )
    _, params, _, _, _ = net._gradient_problem(X, y, None)
    assert not hasattr(net, "coefs_")
    n_outputs = 1 if n_classes == 2 else n_classes
    rng = np.random.RandomState(seed)
    W1 = (rng.randn(n_hidden, X.shape[1]) * init_scale).T
    W2 = (rng.randn(n_outputs, n_hidden) * init_scale).T
    assert_array_equal(params["W1"], W1)
    assert_array_equal(params["W2"], W2)
    assert_array_equal(params["b1"], np.zeros(n_hidden))
    assert_array_equal(params["b2"], np.zeros(n_outputs))

    # A RandomState instance seeded alike gives the same draw.
    net_rs = net.set_params(random_state=np.random.RandomState(seed))
    _, params_rs, _, _, _ = net_rs._gradient_problem(X, y, None)
    assert_array_equal(params_rs["W1"], W1)

    # fit starts from exactly these weights: one plain gradient step from them.
    lr = 1e-3
    fitted = ShallowNNClassifier(
        hidden_layer_size=n_hidden,
        activation="tanh",
        init="normal",
        init_scale=init_scale,
        optimizer="gd",
        learning_rate=lr,
        max_iter=1,
        tol=None,
        random_state=seed,
    ).fit(X, y)
    objective, params, Xp, Y, sw = fitted._gradient_problem(X, y, None)
    start = {"W1": W1, "b1": np.zeros(n_hidden), "W2": W2, "b2": np.zeros(n_outputs)}
    _, grads = objective.loss_grad(start, Xp, Y, sw)
    for name, array in zip(("W1", "W2", "b1", "b2"), _all_arrays(fitted)):
        assert_allclose(array, start[name] - lr * grads[name], rtol=1e-12, atol=1e-15)


def _initial_W1(init, activation, n_features=600, n_hidden=200, seed=0):
    X = np.random.RandomState(1).randn(6, n_features)
    y = np.array([0, 1, 0, 1, 0, 1])
    net = ShallowNNClassifier(
        hidden_layer_size=n_hidden, init=init, activation=activation, random_state=seed
    )
    _, params, _, _, _ = net._gradient_problem(X, y, None)
    return params


@pytest.mark.parametrize(
    "init, expected_std",
    [
        ("xavier", math.sqrt(2.0 / (600 + 200))),
        ("he", math.sqrt(2.0 / 600)),
        ("normal", 0.01),
    ],
)
def test_initialisation_scales(init, expected_std):
    params = _initial_W1(init, "tanh")
    W1 = params["W1"]
    assert W1.shape == (600, 200)
    # 120000 draws: the sample std is within ~0.5% of the true one.
    assert W1.std() == pytest.approx(expected_std, rel=0.02)
    assert abs(W1.mean()) < 0.05 * expected_std
    assert_array_equal(params["b1"], 0.0)
    assert_array_equal(params["b2"], 0.0)


@pytest.mark.parametrize(
    "activation, picked",
    [("tanh", "xavier"), ("sigmoid", "xavier"), ("relu", "he"), ("leaky_relu", "he")],
)
def test_auto_init_picks_xavier_or_he(activation, picked):
    auto = _initial_W1("auto", activation)
    explicit = _initial_W1(picked, activation)
    for name in PARAM_NAMES:
        assert_array_equal(auto[name], explicit[name])
    other = _initial_W1("he" if picked == "xavier" else "xavier", activation)
    assert not np.allclose(auto["W1"], other["W1"])


# ----------------------------------------------------- reproducibility, dtypes
@pytest.mark.parametrize(
    "batch_kwargs",
    [dict(), dict(batch_size=7, shuffle=True), dict(batch_size=7, shuffle=False)],
    ids=["full", "minibatch-shuffle", "minibatch"],
)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_same_random_state_gives_bit_identical_fits(batch_kwargs, sparse):
    X, y = _data(3, n_samples=40, sparse=sparse)
    fits = [
        ShallowNNClassifier(
            hidden_layer_size=8, max_iter=15, tol=None, random_state=42, **batch_kwargs
        ).fit(X, y)
        for _ in range(2)
    ]
    a, b = fits
    for x, z in zip(_all_arrays(a), _all_arrays(b)):
        assert_array_equal(x, z)
    assert_array_equal(a.loss_curve_, b.loss_curve_)
    assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    other = ShallowNNClassifier(
        hidden_layer_size=8, max_iter=15, tol=None, random_state=43, **batch_kwargs
    ).fit(X, y)
    assert not np.array_equal(a.coefs_[0], other.coefs_[0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch_size", [None, 7], ids=["full", "minibatch"])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_dtype_is_preserved(dtype, batch_size, optimizer, n_classes):
    X, y = _data(n_classes, n_samples=30)
    X = X.astype(dtype)
    net = ShallowNNClassifier(
        hidden_layer_size=6,
        optimizer=optimizer,
        batch_size=batch_size,
        learning_rate=0.05,
        max_iter=10,
        tol=None,
        random_state=0,
    ).fit(X, y, sample_weight=_weights(X.shape[0]))
    for array in _all_arrays(net):
        assert array.dtype == dtype
    for method in ("predict_proba", "decision_function", "predict_log_proba"):
        out = getattr(net, method)(X)
        assert out.dtype == dtype, method
        assert np.all(np.isfinite(out))
    assert np.all(np.isfinite(net.loss_curve_))
    # A warm continuation stays in that dtype too.
    net.set_params(warm_start=True, max_iter=2).fit(X, y)
    for array in _all_arrays(net):
        assert array.dtype == dtype


def test_float32_sparse_is_preserved():
    X, y = _data(3, n_samples=30, sparse=True)
    X = X.astype(np.float32)
    net = ShallowNNClassifier(
        hidden_layer_size=6, batch_size=7, max_iter=5, tol=None, random_state=0
    ).fit(X, y)
    for array in _all_arrays(net):
        assert array.dtype == np.float32
    assert net.predict_proba(X).dtype == np.float32


def test_float32_fit_close_to_float64_fit():
    X, y = _data(2, n_samples=30)
    kwargs = dict(hidden_layer_size=6, max_iter=20, tol=None, random_state=0)
    p64 = ShallowNNClassifier(**kwargs).fit(X, y).predict_proba(X)
    p32 = ShallowNNClassifier(**kwargs).fit(X.astype(np.float32), y).predict_proba(X)
    assert_allclose(p32, p64, atol=1e-4)


# ------------------------------------------------------------------- shapes
def test_binary_shapes():
    X, y = _data(2, n_samples=30, n_features=4)
    net = ShallowNNClassifier(hidden_layer_size=5, max_iter=5, tol=None, random_state=0)
    net.fit(X, np.where(y == 1, "yes", "no"))
    assert net.coefs_[0].shape == (4, 5)
    assert net.coefs_[1].shape == (5, 1)
    assert net.intercepts_[0].shape == (5,)
    assert net.intercepts_[1].shape == (1,)
    scores = net.decision_function(X)
    assert scores.shape == (30,)
    proba = net.predict_proba(X)
    assert proba.shape == (30, 2)
    assert_allclose(proba.sum(axis=1), 1.0)
    # The score's sign picks classes_[1].
    assert_array_equal(net.predict(X), net.classes_[(scores > 0).astype(int)])
    assert_array_equal(net.predict(X), net.classes_[proba.argmax(axis=1)])


def test_multiclass_shapes():
    X, y = _data(4, n_samples=32, n_features=3)
    net = ShallowNNClassifier(hidden_layer_size=5, max_iter=5, tol=None, random_state=0)
    net.fit(X, y)
    assert net.coefs_[0].shape == (3, 5)
    assert net.coefs_[1].shape == (5, 4)
    assert net.intercepts_[1].shape == (4,)
    scores = net.decision_function(X)
    assert scores.shape == (32, 4)
    proba = net.predict_proba(X)
    assert proba.shape == (32, 4)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert_array_equal(net.predict(X), net.classes_[scores.argmax(axis=1)])


@pytest.mark.parametrize("n_classes", [2, 3])
def test_predict_log_proba_is_stable(n_classes):
    X, y = _data(n_classes, n_samples=30)
    net = ShallowNNClassifier(
        hidden_layer_size=6, activation="relu", max_iter=20, tol=None, random_state=0
    ).fit(X, y)
    log_proba = net.predict_log_proba(X)
    proba = net.predict_proba(X)
    assert log_proba.shape == proba.shape
    assert np.all(np.isfinite(log_proba))
    assert_allclose(log_proba, np.log(proba), rtol=1e-12, atol=1e-14)

    # Far from the data the logits are huge (relu is positively homogeneous):
    # probabilities round to 0 but their logs stay finite.
    X_far = X * 1e6
    log_proba = net.predict_log_proba(X_far)
    proba = net.predict_proba(X_far)
    with np.errstate(divide="ignore"):
        naive = np.log(proba)
    assert np.isneginf(naive).any()
    assert np.all(np.isfinite(log_proba))
    assert log_proba.min() < -700
    finite = np.isfinite(naive)
    assert_allclose(log_proba[finite], naive[finite], rtol=1e-10, atol=1e-12)
    assert_allclose(np.exp(log_proba).sum(axis=1), 1.0)
    scores = net.decision_function(X_far)
    winner = scores.argmax(axis=1) if n_classes > 2 else (scores > 0).astype(int)
    assert_array_equal(log_proba.argmax(axis=1), winner)


# --------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "params, name",
    [
        (dict(hidden_layer_size=0), "hidden_layer_size"),
        (dict(hidden_layer_size=2.5), "hidden_layer_size"),
        (dict(activation="swish"), "activation"),
        (dict(init="zeros"), "init"),
        (dict(init_scale=-0.1), "init_scale"),
        (dict(init_scale=0.0), "init_scale"),
        (dict(learning_rate=-1), "learning_rate"),
        (dict(learning_rate=0.0), "learning_rate"),
        (dict(learning_rate=np.inf), "learning_rate"),
        (dict(learning_rate=np.nan), "learning_rate"),
        (dict(optimizer="sgd"), "optimizer"),
    ],
)
def test_invalid_parameters_are_named(params, name):
    X, y = _data(2)
    with pytest.raises(InvalidParameterError, match=name):
        ShallowNNClassifier(**params).fit(X, y)
    with pytest.raises(InvalidParameterError, match=name):
        ShallowNNClassifier(**params).partial_fit(X, y, classes=[0, 1])


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_huge_learning_rate_diverges_cleanly(optimizer, n_classes):
    X, y = _data(n_classes, n_samples=30)
    net = ShallowNNClassifier(
        hidden_layer_size=6, learning_rate=1e8, optimizer=optimizer, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.warns(ConvergenceWarning, match="learning rate"):
            net.fit(X, y)
    # Full batch goes back to its best weights with halved steps: it ends
    # diverged, at max_iter, or converged where the loss, tamed, has stayed flat
    # at its best (an epoch the guard undid never counts): never 'converged'
    # from a blow-up.
    assert net.stop_reason_ in ("diverged", "max_iter", "converged")
    if net.stop_reason_ == "converged":
        assert net.loss_curve_[-1] <= min(net.loss_curve_) + net.tol
    assert min(net.loss_curve_) <= net.loss_curve_[0]
    for array in _all_arrays(net):
        assert np.all(np.isfinite(array))
    assert np.all(np.isfinite(net.loss_curve_))
    assert np.all(np.isfinite(net.predict_proba(X)))


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_large_inputs_train_without_overflow(activation, n_classes, optimizer):
    X, y = _data(n_classes, n_samples=30)
    X = X * 1e4
    net = ShallowNNClassifier(
        hidden_layer_size=6,
        activation=activation,
        optimizer=optimizer,
        max_iter=20,
        tol=None,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)  # it may diverge: fine
        net.fit(X, y)
        proba = net.predict_proba(X)
        log_proba = net.predict_log_proba(X)
    assert len(net.loss_curve_) > 0
    assert np.all(np.isfinite(net.loss_curve_))
    for array in _all_arrays(net):
        assert np.all(np.isfinite(array))
    assert np.all(np.isfinite(proba))
    assert_allclose(proba.sum(axis=1), 1.0)
    assert np.all(np.isfinite(log_proba))


# ------------------------------------------------------------ equivalences
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_sample_weight_equals_repeated_rows(n_classes, sparse):
    X, y = _data(n_classes, n_samples=20, sparse=sparse)
    sw = np.random.RandomState(0).randint(0, 4, size=20)
    sw[:3] = [0, 2, 3]
    rows = np.repeat(np.arange(20), sw)
    kwargs = dict(hidden_layer_size=6, max_iter=30, tol=None, random_state=0)
    weighted = ShallowNNClassifier(**kwargs).fit(X, y, sample_weight=sw)
    repeated = ShallowNNClassifier(**kwargs).fit(X[rows], y[rows])
    assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X), rtol=1e-7)
    for a, b in zip(_all_arrays(weighted), _all_arrays(repeated)):
        assert_allclose(a, b, rtol=1e-7, atol=1e-10)
    assert_allclose(weighted.loss_curve_, repeated.loss_curve_, rtol=1e-10)


def _equal_fits(a, b):
    for x, z in zip(_all_arrays(a), _all_arrays(b)):
        assert_allclose(x, z, rtol=1e-12, atol=1e-14)
    assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-12)
    assert a.n_iter_ == b.n_iter_


BATCHING = pytest.mark.parametrize(
    "batch_kwargs",
    [dict(), dict(batch_size=7, shuffle=True)],
    ids=["full", "minibatch-shuffle"],
)


@BATCHING
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_partial_fit_n_times_equals_fit_n_epochs(optimizer, batch_kwargs):
    X, y = _data(3, n_samples=30)
    kwargs = dict(
        hidden_layer_size=6,
        optimizer=optimizer,
        learning_rate=0.05,
        random_state=0,
        **batch_kwargs,
    )
    n = 6
    incremental = ShallowNNClassifier(**kwargs)
    for _ in range(n):
        incremental.partial_fit(X, y, classes=[0, 1, 2])
    fitted = ShallowNNClassifier(max_iter=n, tol=None, **kwargs).fit(X, y)
    _equal_fits(incremental, fitted)
    assert incremental.n_iter_ == n


@BATCHING
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_warm_start_adds_epochs(optimizer, batch_kwargs):
    X, y = _data(2, n_samples=30)
    kwargs = dict(
        hidden_layer_size=6,
        optimizer=optimizer,
        learning_rate=0.05,
        tol=None,
        random_state=0,
        **batch_kwargs,
    )
    warm = ShallowNNClassifier(warm_start=True, max_iter=4, **kwargs).fit(X, y)
    warm.set_params(max_iter=7).fit(X, y)
    once = ShallowNNClassifier(max_iter=11, **kwargs).fit(X, y)
    _equal_fits(warm, once)
    assert warm.n_iter_ == 11

    # Without warm_start a second fit starts over.
    cold = ShallowNNClassifier(max_iter=4, **kwargs).fit(X, y)
    cold.set_params(max_iter=7).fit(X, y)
    assert cold.n_iter_ == 7
    _equal_fits(cold, ShallowNNClassifier(max_iter=7, **kwargs).fit(X, y))


@pytest.mark.parametrize("chunk_rows", [1, 7, 40])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_chunked_batches_give_the_whole_batch_gradient(
    monkeypatch, chunk_rows, weighted, n_classes
):
    import sknn._core.objectives.network as network_objective

    X, y = _data(n_classes, n_samples=40)
    sw = np.random.RandomState(3).uniform(0.5, 2, size=len(y)) if weighted else None
    net = ShallowNNClassifier(hidden_layer_size=6, alpha=0.1, random_state=0)
    objective, params, X, Y, sw = net._gradient_problem(X, y, sw)
    whole_loss, whole = objective.loss_grad(params, X, Y, sw)
    whole = {name: grad.copy() for name, grad in whole.items()}
    monkeypatch.setattr(network_objective, "_CHUNK_ROWS", chunk_rows)
    objective, *_ = net._gradient_problem(X, y, None)
    chunked_loss, chunked = objective.loss_grad(params, X, Y, sw)
    assert chunked_loss == pytest.approx(whole_loss, rel=1e-13)
    for name in whole:
        assert_allclose(chunked[name], whole[name], rtol=1e-12, atol=1e-15)


# ------------------------------------------ defaults that never fail silently
def test_defaults_on_the_course_images_learn_and_converge(cat_data):
    X_train, y_train, X_test, y_test = cat_data
    for seed in range(3):
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            net = ShallowNNClassifier(random_state=seed).fit(X_train, y_train)
        # The course's tuned network reaches 0.72; always "non-cat" gets 0.34.
        assert net.score(X_test, y_test) >= 0.68, seed
        assert net.stop_reason_ == "converged"
        assert net.loss_curve_[-1] <= min(net.loss_curve_) + net.tol


@pytest.mark.parametrize("load", [load_breast_cancer, load_digits, load_wine, load_iris])
def test_defaults_converge_quietly_at_mlps_accuracy_on_standardized_data(load):
    # The network's flat-loss rule ends these fits where the loss no longer
    # moves; the relative gradient test never held once the loss fell towards 0.
    X, y = load(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    ours = []
    for seed in range(2):
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            net = ShallowNNClassifier(random_state=seed).fit(X_train, y_train)
        assert net.stop_reason_ == "converged"
        ours.append(net.score(X_test, y_test))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # MLPClassifier's own
        mlp = [
            MLPClassifier(random_state=seed).fit(X_train, y_train).score(X_test, y_test)
            for seed in range(2)
        ]
    assert np.mean(ours) >= np.mean(mlp) - 0.01


def test_multilabel_defaults_reach_mlps_subset_accuracy():
    X, Y = make_multilabel_classification(
        n_samples=1500, n_features=20, n_classes=5, random_state=0
    )
    X_train, X_test, Y_train, Y_test = train_test_split(X, Y, test_size=0.25, random_state=0)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # MLPClassifier's own
        mlp = MLPClassifier(random_state=0).fit(X_train, Y_train).score(X_test, Y_test)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        net = ShallowNNClassifier(random_state=0).fit(X_train, Y_train)
    # Measured: MLPClassifier 0.435, the network 0.440 (0.320 with alpha=1e-4).
    assert net.score(X_test, Y_test) >= mlp - 0.02


def test_an_unstable_step_is_halved_from_the_best_weights_not_reported_as_converged():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    net = ShallowNNClassifier(optimizer="gd", learning_rate=10.0, random_state=0, max_iter=200)
    with pytest.warns(ConvergenceWarning, match=r"halved the learning rate \(10.0\)"):
        net.fit(X, y)
    assert min(net.loss_curve_) < net.loss_curve_[0]
    objective, params, Xc, Y, sw = net._gradient_problem(X, y, None)
    assert objective.loss(params, Xc, Y, sw) < net.loss_curve_[0]
    assert net.stop_reason_ != "converged" or net.loss_curve_[-1] < net.loss_curve_[0]
