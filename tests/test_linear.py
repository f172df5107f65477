import hashlib
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import LINEAR
from numpy.testing import assert_allclose, assert_array_equal
from scipy.optimize import minimize
from scipy.special import log_expit, logsumexp
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_iris,
    load_wine,
    make_classification,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sknn import LogisticRegressionGD, SoftmaxGD, check_gradient, reference
from sknn._core.objectives.linear import LinearObjective
from sknn._core.spectrum import gram_top_eigenvalue

parametrize_linear = pytest.mark.parametrize("Estimator", LINEAR, ids=lambda E: E.__name__)


def _data(n_classes, n_samples=30, n_features=6, seed=0):
    X, y = make_classification(
        n_samples=n_samples,
        n_features=n_features,
        n_informative=4,
        n_classes=n_classes,
        n_clusters_per_class=1,
        random_state=seed,
    )
    return X, y


def _weights(n, seed=0):
    weights = np.random.RandomState(seed).uniform(0, 3, size=n)
    weights[0] = 0
    return weights


@parametrize_linear
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("alpha", [0.0, 0.3])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("sparse", [False, True])
def test_gradient_matches_finite_differences(Estimator, n_classes, alpha, weighted, sparse):
    X, y = _data(n_classes)
    X[np.abs(X) < 0.3] = 0
    weights = _weights(len(y)) if weighted else None
    # Plain gradient descent stays part-way to the optimum, where the gradient
    # is large enough for finite differences to resolve it.
    estimator = Estimator(alpha=alpha, max_iter=20, tol=None, optimizer="gd").fit(
        X, y, sample_weight=weights
    )
    X_input = sp.csr_matrix(X) if sparse else X
    assert check_gradient(estimator, X_input, y, weights) < 1e-6


@pytest.mark.parametrize(
    "Estimator, link, twin",
    [
        (LogisticRegressionGD, "sigmoid", reference.logistic_loss_grad),
        (SoftmaxGD, "softmax", reference.softmax_loss_grad),
    ],
)
@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize("alpha", [0.0, 0.3])
@pytest.mark.parametrize("weighted", [False, True])
def test_vectorized_equals_loop_based_twin(Estimator, link, twin, n_classes, alpha, weighted):
    X, y = _data(n_classes)
    weights = _weights(len(y)) if weighted else None
    estimator = Estimator(alpha=alpha, max_iter=15, tol=None).fit(X, y, sample_weight=weights)
    objective, params, X_checked, Y, sw = estimator._gradient_problem(X, y, weights)
    loss, grads = objective.loss_grad(params, X_checked, Y, sw)
    loss_loops, grads_loops = twin(params["W"], params["b"], X_checked, Y, sw, alpha)
    assert loss == pytest.approx(loss_loops, rel=1e-12, abs=1e-10)
    for name in ("W", "b"):
        assert_allclose(grads[name], grads_loops[name], rtol=1e-10, atol=1e-12)


@parametrize_linear
def test_shapes_and_probabilities(Estimator):
    X3, y3 = _data(3)
    X2, y2 = _data(2)
    multi = Estimator().fit(X3, y3)
    binary = Estimator().fit(X2, y2)
    assert multi.coef_.shape == (3, 6) and multi.intercept_.shape == (3,)
    expected_rows = 1 if Estimator is LogisticRegressionGD else 2
    assert binary.coef_.shape == (expected_rows, 6)
    logits = X3 @ multi.coef_.T + multi.intercept_
    if Estimator is LogisticRegressionGD:
        # One-vs-rest: the K sigmoids, normalised.
        sigmoids = 1 / (1 + np.exp(-logits))
        expected = sigmoids / sigmoids.sum(axis=1, keepdims=True)
    else:
        expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert_allclose(multi.predict_proba(X3), expected, rtol=1e-12)
    assert_allclose(multi.decision_function(X3), logits, rtol=1e-12)
    binary_logits = X2 @ binary.coef_.T + binary.intercept_
    margin = (
        binary_logits[:, 0] if expected_rows == 1 else binary_logits[:, 1] - binary_logits[:, 0]
    )
    assert_allclose(binary.decision_function(X2), margin, rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------ learning_rate='auto'
def _dense_smoothness(X, weights, curvature, alpha):
    X = X.toarray() if sp.issparse(X) else X
    weights = np.ones(len(X)) if weights is None else weights
    A = np.sqrt(weights)[:, None] * np.hstack([X, np.ones((len(X), 1))])
    return curvature * np.linalg.eigvalsh(A.T @ A)[-1] / weights.sum() + alpha


@pytest.mark.parametrize(
    "shape", [(20, 50), (50, 20), (700, 600)], ids=["wide", "tall", "large-lanczos"]
)
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_smoothness_bound_is_exact_on_every_path(shape, sparse, weighted):
    rng = np.random.RandomState(0)
    X = rng.randn(*shape) + 0.3
    weights = _weights(shape[0]) if weighted else None
    X_input = sp.csr_matrix(X) if sparse else X
    for link, curvature in (("sigmoid", 0.25), ("softmax", 0.5)):
        L = LinearObjective(link, alpha=0.1).smoothness(X_input, weights)
        assert L == pytest.approx(_dense_smoothness(X, weights, curvature, 0.1), rel=1e-8)


def test_top_eigenvalue_is_deterministic():
    X = np.random.RandomState(0).randn(600, 700)
    assert gram_top_eigenvalue(X, None) == gram_top_eigenvalue(X, None)


@parametrize_linear
@pytest.mark.parametrize("scale", [1.0, 1e3])
def test_auto_learning_rate_never_increases_the_loss(Estimator, scale):
    X, y = _data(3, n_samples=80)
    estimator = Estimator(max_iter=200, tol=None, optimizer="gd").fit(X * scale, y)
    curve = np.array(estimator.loss_curve_)
    assert np.all(np.diff(curve) <= 1e-12)
    assert estimator.stop_reason_ == "max_iter"


@parametrize_linear
def test_auto_means_a_fixed_step_for_adam(Estimator):
    X, y = _data(2)
    auto = Estimator(optimizer="adam", max_iter=3, tol=None).fit(X, y)
    fixed = Estimator(optimizer="adam", max_iter=3, tol=None, learning_rate=0.01).fit(X, y)
    assert_array_equal(auto.coef_, fixed.coef_)


# -------------------------------------------------------- quality of defaults
@parametrize_linear
@pytest.mark.parametrize("load", [load_breast_cancer, load_digits])
def test_defaults_match_scikit_learn_on_standardized_data(Estimator, load):
    X, y = load(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    baseline = LogisticRegression(max_iter=5000).fit(X_train, y_train).score(X_test, y_test)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        score = Estimator().fit(X_train, y_train).score(X_test, y_test)
    assert score >= baseline - 0.02


# ----------------------------------------------------------- the course's figures
def test_course_logistic_regression_is_reproduced_exactly(cat_data):
    X_train, y_train, X_test, y_test = cat_data
    model = LogisticRegressionGD(
        optimizer="gd", learning_rate=0.005, max_iter=2000, tol=None, alpha=0
    )
    model.fit(X_train, y_train)
    # The course prints the cost every 100 iterations.
    assert round(model.loss_curve_[0], 6) == 0.693147
    assert round(model.loss_curve_[100], 6) == 0.584508
    assert round(model.loss_curve_[1900], 6) == 0.140872
    assert round(model.score(X_train, y_train), 4) == 0.9904
    assert model.score(X_test, y_test) == 0.70
    assert model.stop_reason_ == "max_iter"


# ------------------------------------------------------- the sample-space path
def _fit_both_paths(monkeypatch, Estimator, X, y, weights=None, **params):
    import sknn.linear

    fits = {}
    for chosen in (True, False):
        monkeypatch.setattr(sknn.linear, "row_space_pays", lambda *args: chosen)
        fits[chosen] = Estimator(tol=None, **params).fit(X, y, sample_weight=weights)
    return fits[True], fits[False]


def test_the_row_space_serves_every_optimizer_but_the_per_coordinate_ones(monkeypatch):
    # Adam scales each coordinate on its own: its steps leave X's row space.
    import sknn.linear
    from sknn._core.optimizers import OPTIMIZERS

    monkeypatch.setattr(sknn.linear, "row_space_pays", lambda *args: True)
    X, _ = _data(2, n_samples=20, n_features=60)
    model = LogisticRegressionGD()
    served = {name for name in OPTIMIZERS if model._row_space_basis(X, 1, name) is not None}
    assert served == set(OPTIMIZERS) - {"adam"}


@parametrize_linear
@pytest.mark.parametrize("optimizer", ["gd", "momentum", "nesterov"])
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("alpha", [0.0, 0.5])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("sparse", [False, True])
def test_sample_space_path_equals_direct_path(
    monkeypatch, Estimator, optimizer, n_classes, alpha, weighted, sparse
):
    X, y = _data(n_classes, n_samples=20, n_features=60)
    X[np.abs(X) < 0.5] = 0
    X_input = sp.csr_matrix(X) if sparse else X
    weights = _weights(len(y)) if weighted else None
    kernel, direct = _fit_both_paths(
        monkeypatch, Estimator, X_input, y, weights, optimizer=optimizer, alpha=alpha, max_iter=60
    )
    assert_allclose(kernel.loss_curve_, direct.loss_curve_, rtol=1e-10)
    # Weights of order 1: rounding of the two paths' products differs by ~1e-11.
    assert_allclose(kernel.coef_, direct.coef_, rtol=1e-10, atol=1e-10)
    assert_allclose(kernel.intercept_, direct.intercept_, rtol=1e-10, atol=1e-10)
    assert kernel.coef_.flags.c_contiguous


@parametrize_linear
@pytest.mark.parametrize("optimizer", ["cg", "lbfgs", "auto"])
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("alpha", [1e-2, 0.5])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("sparse", [False, True])
def test_sample_space_line_search_fits_equal_direct_ones(
    monkeypatch, Estimator, optimizer, n_classes, alpha, weighted, sparse
):
    # With alpha = 0 the separable loss falls to 1e-10 within 15 steps, where
    # relative differences mean nothing.
    X, y = _data(n_classes, n_samples=20, n_features=60)
    X[np.abs(X) < 0.5] = 0
    X += 1.0  # far from zero mean
    X_input = sp.csr_matrix(X) if sparse else X
    weights = _weights(len(y)) if weighted else None
    kernel, direct = _fit_both_paths(
        monkeypatch, Estimator, X_input, y, weights, optimizer=optimizer, alpha=alpha, max_iter=40
    )
    expected = "lbfgs" if optimizer == "auto" else optimizer
    assert kernel._optimizer_state["name"] == direct._optimizer_state["name"] == expected
    assert_allclose(kernel.loss_curve_, direct.loss_curve_, rtol=1e-9)
    assert_allclose(kernel.coef_, direct.coef_, rtol=1e-9, atol=1e-10)
    assert_allclose(kernel.intercept_, direct.intercept_, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("optimizer", ["gd", "momentum", "nesterov", "cg", "lbfgs", "auto"])
def test_warm_start_continues_a_sample_space_fit_exactly(monkeypatch, optimizer):
    import sknn.linear

    X, y = _data(2, n_samples=20, n_features=60)
    once = LogisticRegressionGD(optimizer=optimizer, max_iter=50, tol=None).fit(X, y)
    warm = LogisticRegressionGD(optimizer=optimizer, max_iter=20, tol=None, warm_start=True).fit(
        X, y
    )
    # The continuation runs on the direct path, from the mapped-back weights and velocity.
    monkeypatch.setattr(sknn.linear, "row_space_pays", lambda *args: True)
    warm.set_params(max_iter=30).fit(X, y)
    assert_allclose(warm.loss_curve_, once.loss_curve_, rtol=1e-10)
    assert_allclose(warm.coef_, once.coef_, rtol=1e-9, atol=1e-12)


def _constructions(monkeypatch, cls):
    """A list that gets one entry per instance of ``cls`` built from now on."""
    built = []
    original = cls.__init__
    monkeypatch.setattr(
        cls, "__init__", lambda self, *args: built.append(True) or original(self, *args)
    )
    return built


def test_sample_space_is_chosen_only_where_it_pays(monkeypatch):
    import sknn.linear

    built = _constructions(monkeypatch, sknn.linear.RowSpaceBasis)
    wide = _data(2, n_samples=40, n_features=200)
    tall = _data(2, n_samples=200, n_features=20)
    LogisticRegressionGD(tol=None, max_iter=100).fit(*wide)
    assert built == [True]
    for estimator, data in [
        (LogisticRegressionGD(tol=None, max_iter=100), tall),
        (LogisticRegressionGD(tol=None, max_iter=100, optimizer="adam"), wide),
        (LogisticRegressionGD(tol=None, max_iter=100, batch_size=10), wide),
        (LogisticRegressionGD(tol=None, max_iter=100, early_stopping=True), wide),
        (LogisticRegressionGD(tol=None, max_iter=1), wide),
    ]:
        estimator.fit(*data)
    assert built == [True]


@pytest.mark.parametrize("optimizer", ["gd", "momentum", "nesterov", "cg", "lbfgs"])
def test_sample_space_path_keeps_float32(monkeypatch, optimizer):
    X, y = _data(3, n_samples=20, n_features=60)
    kernel, direct = _fit_both_paths(
        monkeypatch, SoftmaxGD, X.astype(np.float32), y, optimizer=optimizer, max_iter=30
    )
    assert kernel.coef_.dtype == kernel.intercept_.dtype == np.float32
    assert kernel.predict_proba(X.astype(np.float32)).dtype == np.float32
    # cg is down at its float32 floor within 7 steps: a loss of 1e-3 summed from
    # logits of ~10 resolves only ~1e-4 of itself there.
    line_search = optimizer in ("cg", "lbfgs")
    assert_allclose(kernel.loss_curve_, direct.loss_curve_, rtol=3e-4 if line_search else 1e-5)
    if line_search:
        for arrays in kernel._optimizer_state["state"].values():
            if isinstance(arrays, dict):
                assert all(a.dtype == np.float32 for a in arrays.values())


# ---------------------------------------- the two-class softmax as one unit
@pytest.mark.parametrize("alpha", [0.0, 0.3])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("sparse", [False, True])
def test_two_class_softmax_is_the_softmax_of_both_columns(alpha, weighted, sparse):
    # Computed as one sigmoid unit of the difference: the loss and gradient of
    # the two-column softmax written independently.
    X, y = _data(2, n_samples=25)
    weights = _weights(len(y)) if weighted else np.ones(len(y))
    Y = np.eye(2)[y]
    rng = np.random.RandomState(0)
    params = {"W": rng.standard_normal((X.shape[1], 2)), "b": rng.standard_normal(2)}
    objective = LinearObjective("softmax", alpha)
    X_input = sp.csr_matrix(X) if sparse else X
    loss, grads = objective.loss_grad(params, X_input, Y, weights if weighted else None)
    Z = X @ params["W"] + params["b"]
    log_norm = logsumexp(Z, axis=1)
    total = weights.sum()
    expected = weights @ (log_norm - (Y * Z).sum(axis=1)) / total
    expected += 0.5 * alpha * np.sum(params["W"] ** 2)
    residual = weights[:, None] * (np.exp(Z - log_norm[:, None]) - Y) / total
    assert loss == pytest.approx(expected, rel=1e-13)
    assert_allclose(grads["W"], X.T @ residual + alpha * params["W"], rtol=1e-12, atol=1e-15)
    assert_allclose(grads["b"], residual.sum(axis=0), rtol=1e-12, atol=1e-15)
    assert objective.loss(params, X_input, Y, weights if weighted else None) == loss


@pytest.mark.parametrize("optimizer", ["gd", "momentum", "nesterov", "cg", "lbfgs"])
def test_two_class_softmax_stays_on_the_models_symmetric_line(optimizer):
    # From zeros, both columns' gradients are opposite: so are the weights, exactly.
    X, y = _data(2, n_samples=40)
    X = X * np.logspace(-1, 1, X.shape[1]) + 0.5
    model = SoftmaxGD(optimizer=optimizer, alpha=0.3, max_iter=40, tol=None).fit(X, y)
    assert_array_equal(model.coef_[0], -model.coef_[1])
    assert_array_equal(model.intercept_[0], -model.intercept_[1])
    assert model.coef_.shape == (2, X.shape[1]) and model.coef_.flags.c_contiguous


# ------------------------------------------- the defaults reach their optimum
def _exact_objective(Estimator, X, y, alpha, rescaled=False):
    """The estimator's objective written independently, on a flat vector; and its minimum.

    Mean log-loss (one-vs-rest sigmoids, or a softmax) plus alpha/2 ||W||^2,
    minimised by scipy's L-BFGS at a far tighter tolerance than any fit uses.
    ``rescaled``: L-BFGS runs in coordinates where the features have unit
    variance (the weights of feature j times its standard deviation), the
    same objective and minimum, which it does not reach on raw measurements.
    """
    classes = np.unique(y)
    Y = (y[:, None] == classes[None, :]).astype(float)
    sigmoids = Estimator is LogisticRegressionGD
    if sigmoids and len(classes) == 2:
        Y = Y[:, 1:]
    n_samples, n_features = X.shape
    n_outputs = Y.shape[1]

    def objective(theta):
        W = theta[: n_features * n_outputs].reshape(n_features, n_outputs)
        Z = X @ W + theta[n_features * n_outputs :]
        if sigmoids:
            loss = -(Y * log_expit(Z) + (1 - Y) * log_expit(-Z)).sum() / n_samples
            residual = np.exp(log_expit(Z)) - Y
        else:
            log_norm = logsumexp(Z, axis=1)
            loss = np.mean(log_norm - (Y * Z).sum(axis=1))
            residual = np.exp(Z - log_norm[:, None]) - Y
        loss += 0.5 * alpha * np.sum(W**2)
        grad_W = X.T @ residual / n_samples + alpha * W
        return loss, np.concatenate([grad_W.ravel(), residual.sum(axis=0) / n_samples])

    scale = np.ones(n_features * n_outputs + n_outputs)
    if rescaled:
        std = X.std(axis=0)
        scale[: n_features * n_outputs] = np.repeat(1.0 / np.where(std > 0, std, 1.0), n_outputs)

    def in_rescaled_coordinates(u):
        loss, grad = objective(scale * u)
        return loss, scale * grad

    # The same minimum is asked for more than once (the cat images: by the
    # float64 and float32 tests, ~20 s each): computed once per data and model.
    key = (Estimator, alpha, rescaled, hashlib.sha256(X.tobytes() + y.tobytes()).hexdigest())
    if key not in _MINIMA:
        _MINIMA[key] = minimize(
            in_rescaled_coordinates,
            np.zeros(n_features * n_outputs + n_outputs),
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": 100_000, "ftol": 1e-16, "gtol": 1e-12, "maxcor": 30},
        ).fun
    return objective, _MINIMA[key]


_MINIMA = {}


def _standardized(load):
    X, y = load(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@parametrize_linear
@pytest.mark.parametrize(
    "dataset", ["breast_cancer", "digits", "wine", "iris", "cat"], ids=lambda name: name
)
def test_defaults_reach_the_minimum_of_their_objective(Estimator, dataset, request):
    if dataset == "cat":
        X, y = request.getfixturevalue("cat_data")[:2]
    else:
        loads = {"breast_cancer": load_breast_cancer, "digits": load_digits}
        loads.update(wine=load_wine, iris=load_iris)
        X, y = _standardized(loads[dataset])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = Estimator(random_state=0).fit(X, y)
    assert model.stop_reason_ == "converged"
    objective, minimum = _exact_objective(Estimator, X, y, model.alpha)
    theta = np.concatenate([model.coef_.T.ravel(), model.intercept_])
    assert (objective(theta)[0] - minimum) / minimum <= 1e-6


@parametrize_linear
@pytest.mark.parametrize("dataset", ["breast_cancer", "wine", "iris"])
def test_float32_defaults_converge_near_the_minimum(Estimator, dataset):
    # A float32 loss resolves ~1e-6 of itself, not 1e-13: the line search
    # allows for that, or it rejects every step near the optimum for noise.
    loads = {"breast_cancer": load_breast_cancer, "wine": load_wine, "iris": load_iris}
    X, y = _standardized(loads[dataset])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = Estimator(random_state=0).fit(X.astype(np.float32), y)
    assert model.stop_reason_ == "converged" and model.coef_.dtype == np.float32
    objective, minimum = _exact_objective(Estimator, X, y, model.alpha)
    theta = np.concatenate([model.coef_.T.ravel(), model.intercept_]).astype(np.float64)
    # The float64 target holds in float32 too (measured: 4e-9 to 1.7e-7).
    assert (objective(theta)[0] - minimum) / minimum <= 1e-6


@parametrize_linear
@pytest.mark.parametrize("dataset", ["breast_cancer raw", "cat"])
def test_float32_defaults_that_cannot_meet_tol_stop_stalled_at_the_minimum(
    Estimator, dataset, request
):
    # Where float32's rounding of the gradient lies above tol * J (raw
    # measurements; the cat images, whose loss falls to 0.004), the line
    # search's progress sinks into rounding: the fit stops there, says so,
    # and is at the minimum as far as float32 resolves it (measured: gaps of
    # 7e-12 to 2e-8, after 95-140 epochs; without the rule, 5000 epochs).
    if dataset == "cat":
        X, y = request.getfixturevalue("cat_data")[:2]
    else:
        X, y = load_breast_cancer(return_X_y=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = Estimator(random_state=0).fit(X.astype(np.float32), y)
    messages = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    # The float32 gradient floor lies near tol (raw breast_cancer: 2.8e-5 J;
    # the cat images, in the centred coordinates L-BFGS trains in, about as
    # near), so a CPU whose BLAS rounds differently may meet the test instead.
    assert model.stop_reason_ in ("stalled", "converged") and model.n_iter_ < 500
    stalled = model.stop_reason_ == "stalled"
    assert len(messages) == stalled
    assert all("no step lowers the loss measurably in float32" in m for m in messages)
    assert model.coef_.dtype == np.float32
    objective, minimum = _exact_objective(Estimator, X, y, model.alpha, rescaled=dataset != "cat")
    theta = np.concatenate([model.coef_.T.ravel(), model.intercept_]).astype(np.float64)
    assert (objective(theta)[0] - minimum) / minimum <= 1e-6


@parametrize_linear
def test_converged_means_the_relative_gradient_test_held(Estimator):
    X, y = _standardized(load_wine)
    model = Estimator(random_state=0, tol=1e-4).fit(X, y)
    assert model.stop_reason_ == "converged"
    objective, _ = _exact_objective(Estimator, X, y, model.alpha)
    loss, grad = objective(np.concatenate([model.coef_.T.ravel(), model.intercept_]))
    assert np.linalg.norm(grad) <= 1e-4 * loss
    assert loss == pytest.approx(model.loss_curve_[-1], rel=1e-12)


# ------------------------------------------ conjugate gradient, the default optimizer
@parametrize_linear
@pytest.mark.parametrize("load", [load_breast_cancer, load_wine], ids=["breast_cancer", "wine"])
def test_defaults_converge_on_raw_features_to_the_minimum(Estimator, load):
    # Raw measurements: feature variances spanning 8 orders of magnitude, where
    # only the scaling preconditioner (L-BFGS's H0) lets the default converge.
    X, y = load(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = Estimator(random_state=0).fit(X, y)
    assert model.stop_reason_ == "converged"
    assert model._optimizer_state["name"] == "lbfgs"
    objective, minimum = _exact_objective(Estimator, X, y, model.alpha, rescaled=True)
    theta = np.concatenate([model.coef_.T.ravel(), model.intercept_])
    gap = (objective(theta)[0] - minimum) / minimum
    assert -1e-9 <= gap <= 1e-6  # below the minimum would mean L-BFGS missed it


@parametrize_linear
def test_auto_is_lbfgs_on_the_full_batch_and_nesterov_on_mini_batches(Estimator):
    # (and in partial_fit: see test_base's streaming test)
    tall = _data(3)
    wide = _data(3, n_samples=20, n_features=60)  # trained in sample space
    for (X, y), batch_size, expected in [
        (tall, None, "lbfgs"),
        (tall, len(tall[1]), "lbfgs"),
        (tall, len(tall[1]) + 5, "lbfgs"),
        (wide, None, "lbfgs"),
        (tall, 10, "nesterov"),
    ]:
        auto = Estimator(batch_size=batch_size, max_iter=5, tol=None, random_state=0).fit(X, y)
        assert auto._optimizer_state["name"] == expected, batch_size
        named = Estimator(
            optimizer=expected, batch_size=batch_size, max_iter=5, tol=None, random_state=0
        ).fit(X, y)
        assert_array_equal(auto.coef_, named.coef_)
        assert auto.loss_curve_ == named.loss_curve_
    assert Estimator().optimizer == "auto"


@parametrize_linear
@pytest.mark.parametrize("weighted", [False, True])
def test_sparse_X_gives_the_default_fit_of_dense_X(Estimator, weighted):
    X, y = _data(3, n_samples=80, n_features=8)
    X[np.abs(X) < 0.7] = 0
    X = X * np.logspace(-2, 2, 8) + 0.5 * (X != 0)  # uncentred, badly scaled
    weights = _weights(len(y)) if weighted else None
    dense = Estimator().fit(X, y, sample_weight=weights)
    sparse = Estimator().fit(sp.csr_matrix(X), y, sample_weight=weights)
    assert dense.stop_reason_ == sparse.stop_reason_ == "converged"
    assert dense.n_iter_ == sparse.n_iter_
    assert_allclose(sparse.loss_curve_, dense.loss_curve_, rtol=1e-8)
    assert_allclose(sparse.coef_, dense.coef_, rtol=1e-9, atol=1e-9 * np.abs(dense.coef_).max())
    assert_allclose(sparse.intercept_, dense.intercept_, rtol=1e-9, atol=1e-9)


@parametrize_linear
@pytest.mark.parametrize("load", [load_wine, load_iris], ids=["wine raw", "iris raw"])
def test_float32_default_stays_float32(Estimator, load):
    X, y = load(return_X_y=True)
    X32 = X.astype(np.float32)
    model = Estimator(random_state=0, max_iter=300, tol=None).fit(X32, y)
    assert model._optimizer_state["name"] == "lbfgs"
    assert model.coef_.dtype == model.intercept_.dtype == np.float32
    assert model.predict_proba(X32).dtype == np.float32
    # Early on, before float32's rounding can make a search fail and the
    # history restart, the state holds pairs: in float32 too.
    state = Estimator(random_state=0, max_iter=10, tol=None).fit(X32, y)._optimizer_state["state"]
    assert state
    for arrays in state.values():
        assert all(array.dtype == np.float32 for array in arrays.values())
    assert np.all(np.isfinite(model.loss_curve_))
    # Near the float64 fit's loss: on these raw scales (root mean squares 0.4
    # to 800) float32 steps stop resolving the last percents of the decrease
    # (standardized, they reach it: test_float32_defaults_converge_near_the_minimum).
    reference = Estimator(random_state=0, max_iter=300, tol=None).fit(X, y)
    assert model.loss_curve_[-1] == pytest.approx(reference.loss_curve_[-1], rel=0.1)


# ------------------------------------------------ the centred coordinates of lbfgs/cg
@pytest.mark.parametrize(
    "link, n_outputs", [("sigmoid", 1), ("sigmoid", 3), ("softmax", 3), ("softmax", 2)]
)
@pytest.mark.parametrize("sparse", [False, True])
def test_the_centred_objective_is_the_model_in_other_coordinates(link, n_outputs, sparse):
    rng = np.random.RandomState(0)
    X = rng.randn(40, 5) * 3.0 + 10.0  # far from zero mean
    Y = (
        np.eye(n_outputs)[rng.randint(n_outputs, size=40)]
        if link == "softmax"
        else rng.randint(2, size=(40, n_outputs)).astype(float)
    )
    weights = rng.uniform(0.5, 2.0, size=40)
    X_input = sp.csr_matrix(X) if sparse else X
    model = LinearObjective(link, alpha=0.1)
    centred = LinearObjective(link, alpha=0.1, offset=np.average(X, axis=0, weights=weights))
    params = {"W": rng.randn(5, n_outputs), "b": rng.randn(n_outputs)}
    trained = centred.from_model(params, "arrays")
    # The same model: loss and logits at the mapped point; a round trip returns.
    assert centred.loss(trained, X_input, Y, weights) == pytest.approx(
        model.loss(params, X_input, Y, weights), rel=1e-12
    )
    back = centred.to_model(trained, "arrays")
    assert_allclose(back["b"], params["b"], rtol=1e-12)
    # Its gradient is the centred loss's (central differences along a direction) ...
    _, grads = centred.loss_grad(trained, X_input, Y, weights)
    h = {"W": rng.randn(5, n_outputs), "b": rng.randn(n_outputs)}
    eps = 1e-6

    def along(sign):
        moved = {n: trained[n] + sign * eps * h[n] for n in trained}
        return centred.loss(moved, X_input, Y, weights)

    numeric = (along(1) - along(-1)) / (2 * eps)
    assert sum(np.vdot(grads[n], h[n]) for n in grads) == pytest.approx(numeric, rel=1e-6)
    # ... and maps to the model's as gradients map: pairings with steps are kept.
    _, model_grads = model.loss_grad(params, X_input, Y, weights)
    mapped = centred.to_model(grads, "gradients")
    for name in grads:
        assert_allclose(mapped[name], model_grads[name], rtol=1e-10, atol=1e-12)
    step = {"W": rng.randn(5, n_outputs), "b": rng.randn(n_outputs)}
    model_step = centred.to_model(step, "arrays")
    pairing = sum(np.vdot(grads[n], step[n]) for n in grads)
    model_pairing = sum(np.vdot(model_grads[n], model_step[n]) for n in grads)
    assert pairing == pytest.approx(model_pairing, rel=1e-10)


@parametrize_linear
def test_lbfgs_trains_centred_and_stops_where_the_model_is_at_its_minimum(Estimator):
    # Features far from zero mean: centred, L-BFGS takes far fewer steps, to
    # the same minimum; the model's own intercept comes out.
    X, y = _data(3, n_samples=200, n_features=8)
    X = X + 20.0
    fit = Estimator().fit(X, y)
    assert fit.stop_reason_ == "converged" and fit.n_iter_ < 200
    objective, minimum = _exact_objective(Estimator, X, y, fit.alpha, rescaled=True)
    theta = np.concatenate([fit.coef_.T.ravel(), fit.intercept_])
    assert -1e-9 <= (objective(theta)[0] - minimum) / minimum <= 1e-6


def test_the_row_space_maps_a_two_class_softmax_state_as_one_column():
    from sknn._core.sample_space import RowSpaceBasis

    rng = np.random.RandomState(0)
    X = rng.randn(10, 30)
    basis = RowSpaceBasis(X)
    rank = basis.coordinates.shape[1]
    one = rng.randn(4, rank, 1)
    for A in (np.concatenate([-one, one], axis=-1), rng.randn(4, rank, 2)):
        expected = np.stack([X.T @ (basis._back @ A[i]) for i in range(4)])
        assert_allclose(basis.to_weights(A), expected, rtol=1e-12, atol=1e-12)
