"""Tests of the public finite-difference gradient check, sknn.check_gradient."""

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from sknn import LogisticRegressionGD, ShallowNNClassifier, SoftmaxGD, check_gradient
from sknn._core.objectives.linear import LinearObjective
from sknn._core.objectives.network import ShallowNetObjective

N_FEATURES = 4


def _logistic(**kwargs):
    return LogisticRegressionGD(alpha=0.05, max_iter=5, tol=None, **kwargs)


def _softmax(**kwargs):
    return SoftmaxGD(alpha=0.05, max_iter=5, tol=None, **kwargs)


def _network(**kwargs):
    kwargs.setdefault("random_state", 0)
    return ShallowNNClassifier(
        hidden_layer_size=5, alpha=0.05, learning_rate=0.05, max_iter=5, tol=None, **kwargs
    )


# (factory, objective class, parameter names)
ESTIMATORS = {
    "LogisticRegressionGD": (_logistic, LinearObjective, {"W", "b"}),
    "SoftmaxGD": (_softmax, LinearObjective, {"W", "b"}),
    "ShallowNNClassifier": (_network, ShallowNetObjective, {"W1", "b1", "W2", "b2"}),
}
ESTIMATOR_NAMES = pytest.mark.parametrize("name", list(ESTIMATORS))


def _data(n_classes=2, n_samples=31, sparse=False, seed=0):
    """Random data; the default 31 rows make the classes slightly unbalanced.

    (With exactly balanced classes the bias gradient of an unfitted linear
    model is exactly 0; see test_zero_true_gradient_is_not_reported_as_error.)
    """
    rng = np.random.RandomState(seed)
    X = rng.randn(n_samples, N_FEATURES)
    y = np.arange(n_samples) % n_classes
    rng.shuffle(y)
    X += y[:, None] * rng.randn(N_FEATURES)
    if sparse:
        X[rng.uniform(size=X.shape) < 0.4] = 0.0
        X = sp.csr_matrix(X)
    return X, y


def _weights(n_samples):
    sw = np.random.RandomState(3).uniform(0.2, 3.0, size=n_samples)
    sw[1] = 0.0
    return sw


def _fitted_arrays(est):
    if isinstance(est, ShallowNNClassifier):
        return list(est.coefs_) + list(est.intercepts_)
    return [est.coef_, est.intercept_]


def _snapshot(est):
    return {
        "params": joblib.hash(est.get_params()),
        "hash": joblib.hash(est),
        "attributes": sorted(vars(est)),
        "arrays": [a.copy() for a in _fitted_arrays(est)] if hasattr(est, "classes_") else [],
    }


def _assert_unchanged(est, before):
    after = _snapshot(est)
    assert after["params"] == before["params"]
    assert after["attributes"] == before["attributes"]
    for a, b in zip(before["arrays"], _fitted_arrays(est) if before["arrays"] else []):
        assert a.dtype == b.dtype
        assert_array_equal(a, b)
    assert after["hash"] == before["hash"]


# ------------------------------------------------------------ small errors
@ESTIMATOR_NAMES
@pytest.mark.parametrize("fitted", [False, True], ids=["unfitted", "fitted"])
@pytest.mark.parametrize("n_classes", [2, 3], ids=["binary", "3classes"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_error_is_small(name, fitted, n_classes, sparse, weighted):
    factory, _, keys = ESTIMATORS[name]
    X, y = _data(n_classes, sparse=sparse)
    sw = _weights(X.shape[0]) if weighted else None
    est = factory()
    if fitted:
        est.fit(X, y, sample_weight=sw)
    error, details = check_gradient(est, X, y, sw, return_details=True)
    assert set(details) == keys
    assert 0 <= error < 1e-6, details
    # The per-parameter shares add up (in quadrature) to the overall error.
    assert error == pytest.approx(np.sqrt(sum(share**2 for share in details.values())), rel=1e-12)
    assert check_gradient(est, X, y, sw) == error  # deterministic, same value


@ESTIMATOR_NAMES
def test_error_is_small_after_float32_fit_with_string_labels(name):
    factory, _, _ = ESTIMATORS[name]
    X, y = _data(3)
    labels = np.array(["ant", "bee", "cat"])[y]
    est = factory().fit(X.astype(np.float32), labels)
    assert est.predict_proba(X.astype(np.float32)).dtype == np.float32
    before = _snapshot(est)
    assert check_gradient(est, X, labels) < 1e-6
    _assert_unchanged(est, before)


def test_error_is_small_with_class_weight():
    X, y = _data(3)
    est = _network(class_weight="balanced").fit(X, y)
    assert check_gradient(est, X, y, _weights(len(y))) < 1e-6


@pytest.mark.parametrize(
    "name, n_classes",
    [("LogisticRegressionGD", 2), ("SoftmaxGD", 2), ("SoftmaxGD", 3)],
)
def test_zero_true_gradient_is_not_reported_as_error(name, n_classes):
    # Unfitted linear models start at W = 0, b = 0. With perfectly balanced
    # classes the gradient of b there is exactly 0 (mean of p - y with
    # p = 1/2 or 1/K). The analytic gradient is right, so the check must
    # report a small error; both sides are only rounding noise (~1e-17 and
    # ~1e-10) and must not be compared relatively to each other.
    factory, objective_class, _ = ESTIMATORS[name]
    X, y = _data(n_classes, n_samples=30)
    assert np.all(np.bincount(y) == 30 // n_classes)
    est = factory()
    objective, params, Xc, Y, sw = est._gradient_problem(X, y, None)
    _, grads = objective.loss_grad(params, Xc, Y, sw)
    assert np.abs(grads["b"]).max() < 1e-15  # the true gradient vanishes
    error, details = check_gradient(est, X, y, return_details=True)
    assert error < 1e-6, details


# ------------------------------------------------------- no side effects
@ESTIMATOR_NAMES
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_fitted_estimator_is_not_modified(name, sparse):
    factory, _, _ = ESTIMATORS[name]
    X, y = _data(3, sparse=sparse)
    est = factory().fit(X, y)
    before = _snapshot(est)
    identities = [id(a) for a in _fitted_arrays(est)]
    proba = est.predict_proba(X)
    check_gradient(est, X, y, _weights(X.shape[0]))
    check_gradient(est, X, y, max_entries=3, return_details=True)
    _assert_unchanged(est, before)
    assert [id(a) for a in _fitted_arrays(est)] == identities
    assert_array_equal(est.predict_proba(X), proba)


@ESTIMATOR_NAMES
def test_unfitted_estimator_stays_unfitted(name):
    factory, _, _ = ESTIMATORS[name]
    X, y = _data(2)
    est = factory()
    before = _snapshot(est)
    check_gradient(est, X, y)
    _assert_unchanged(est, before)
    with pytest.raises(NotFittedError):
        check_is_fitted(est)
    assert not hasattr(est, "classes_")
    assert not hasattr(est, "n_features_in_")


def test_unfitted_network_checks_the_initial_weights_fit_would_use():
    """Unfitted: the point checked is the initialisation of ``random_state``."""
    X, y = _data(2)
    est = _network(init="normal", init_scale=1.0, random_state=3)
    objective, params, Xc, Y, sw = est._gradient_problem(X, y, None)
    rng = np.random.RandomState(3)
    assert_array_equal(params["W1"], rng.randn(5, N_FEATURES).T)
    assert check_gradient(est, X, y) < 1e-6
    # A different seed is a different point, hence (generically) another error.
    other = check_gradient(_network(init="normal", init_scale=1.0, random_state=4), X, y)
    assert other != check_gradient(est, X, y)


def test_unfitted_network_with_random_state_instance_is_not_modified():
    # The docstring promises the estimator is not modified. With a
    # RandomState instance as random_state, drawing the initial weights must
    # not advance the user's generator: the estimator (and its hash) would
    # change, and two checks of the same estimator would check two points.
    X, y = _data(2)
    est = _network(random_state=np.random.RandomState(0))
    before = _snapshot(est)
    first = check_gradient(est, X, y)
    second = check_gradient(est, X, y)
    _assert_unchanged(est, before)
    assert first == second


# ------------------------------------------------------------- details
@ESTIMATOR_NAMES
@pytest.mark.parametrize("n_classes", [2, 3])
def test_return_details_keys(name, n_classes):
    factory, _, keys = ESTIMATORS[name]
    X, y = _data(n_classes)
    est = factory().fit(X, y)
    result = check_gradient(est, X, y, return_details=True)
    assert isinstance(result, tuple) and len(result) == 2
    error, details = result
    assert set(details) == keys
    assert all(isinstance(v, float) and 0 <= v < 1e-6 for v in details.values())
    assert isinstance(check_gradient(est, X, y), float)


# ----------------------------------------------------------- max_entries
def _count_loss_calls(monkeypatch, objective_class):
    calls = {"n": 0}
    original = objective_class.loss

    def counting_loss(self, *args, **kwargs):
        calls["n"] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(objective_class, "loss", counting_loss)
    return calls


@ESTIMATOR_NAMES
@pytest.mark.parametrize("max_entries", [1, 3, None])
def test_max_entries_limits_the_work(monkeypatch, name, max_entries):
    factory, objective_class, keys = ESTIMATORS[name]
    X, y = _data(3)
    est = factory().fit(X, y)
    sizes = [p.size for p in est._gradient_problem(X, y, None)[1].values()]
    calls = _count_loss_calls(monkeypatch, objective_class)
    error, details = check_gradient(est, X, y, max_entries=max_entries, return_details=True)
    assert set(details) == keys
    assert error < 1e-6
    if max_entries is None:
        assert calls["n"] == 2 * sum(sizes)
    else:
        assert calls["n"] <= 2 * max_entries * len(keys)
        assert calls["n"] == sum(2 * min(size, max_entries) for size in sizes)
        assert calls["n"] < 2 * sum(sizes)


def test_max_entries_choice_is_seeded():
    X, y = _data(3)
    est = _network().fit(X, y)
    a = check_gradient(est, X, y, max_entries=2, random_state=0, return_details=True)
    b = check_gradient(est, X, y, max_entries=2, random_state=0, return_details=True)
    assert a == b


# ---------------------------------------------------- wrong gradient detected
@ESTIMATOR_NAMES
@pytest.mark.parametrize("n_classes", [2, 3])
def test_wrong_gradient_is_detected(monkeypatch, name, n_classes):
    factory, objective_class, keys = ESTIMATORS[name]
    X, y = _data(n_classes)
    est = factory().fit(X, y)
    original = objective_class.loss_grad

    def wrong_loss_grad(self, *args):
        loss, grads = original(self, *args)
        return loss, {k: g * 1.1 for k, g in grads.items()}

    monkeypatch.setattr(objective_class, "loss_grad", wrong_loss_grad)
    error, details = check_gradient(est, X, y, return_details=True)
    assert error > 1e-3
    assert all(v > 1e-3 for v in details.values()), details


# -------------------------------------------------------------- bad input
@ESTIMATOR_NAMES
def test_unseen_label_raises(name):
    factory, _, _ = ESTIMATORS[name]
    X, y = _data(2)
    est = factory().fit(X, y)
    y_bad = y.copy()
    y_bad[0] = 7
    with pytest.raises(ValueError, match="not in classes"):
        check_gradient(est, X, y_bad)


@ESTIMATOR_NAMES
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_wrong_width_raises(name, sparse):
    factory, _, _ = ESTIMATORS[name]
    X, y = _data(2)
    est = factory().fit(X, y)
    X_wide = np.hstack([X, X[:, :1]])
    if sparse:
        X_wide = sp.csr_matrix(X_wide)
    with pytest.raises(ValueError, match="features"):
        check_gradient(est, X_wide, y)


@ESTIMATOR_NAMES
def test_single_class_or_mismatched_lengths_raise(name):
    factory, _, _ = ESTIMATORS[name]
    X, y = _data(2)
    with pytest.raises(ValueError):
        check_gradient(factory(), X, np.zeros(len(y), dtype=int))
    with pytest.raises(ValueError):
        check_gradient(factory(), X, y[:-1])


@pytest.mark.parametrize(
    "name, params, parameter",
    [
        ("ShallowNNClassifier", dict(hidden_layer_size=0), "hidden_layer_size"),
        ("ShallowNNClassifier", dict(activation="swish"), "activation"),
        ("ShallowNNClassifier", dict(init="zeros"), "init"),
        ("ShallowNNClassifier", dict(alpha=-1.0), "alpha"),
        ("LogisticRegressionGD", dict(alpha=-1.0), "alpha"),
        ("SoftmaxGD", dict(alpha=-1.0), "alpha"),
    ],
)
def test_invalid_hyperparameters_raise_like_fit(name, params, parameter):
    # An unfitted estimator's hyperparameters define the objective checked:
    # invalid ones must be refused as fit refuses them (InvalidParameterError,
    # a ValueError naming the parameter), not crash inside the objective
    # (ZeroDivisionError, KeyError) or silently check a meaningless objective.
    factory, _, _ = ESTIMATORS[name]
    X, y = _data(2)
    est = factory().set_params(**params)
    with pytest.raises(ValueError, match=parameter):
        est.fit(X, y)
    with pytest.raises(ValueError, match=parameter):
        check_gradient(factory().set_params(**params), X, y)
