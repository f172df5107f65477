"""Estimator behaviour shared by all three sknn classifiers (sknn/_base.py)."""

import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from conftest import ESTIMATORS, OPTIMIZERS, make
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_blobs, make_classification
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from sknn import LogisticRegressionGD, SoftmaxGD, check_gradient


def _data(n_classes=3, n_samples=60, n_features=5, seed=0):
    X, y = make_classification(
        n_samples=n_samples,
        n_features=n_features,
        n_informative=3,
        n_redundant=0,
        n_classes=n_classes,
        n_clusters_per_class=1,
        random_state=seed,
    )
    return X, y


parametrize_estimators = pytest.mark.parametrize("Estimator", ESTIMATORS, ids=lambda E: E.__name__)


# ----------------------------------------------------------------- bad input
@parametrize_estimators
@pytest.mark.parametrize(
    "X_change, y_change, match",
    [
        (lambda X: np.where(X > 1, np.nan, X), None, "NaN"),
        (lambda X: np.where(X > 1, np.inf, X), None, "infinity"),
        (lambda X: X[:0], lambda y: y[:0], "0 sample"),
        (lambda X: X[:, :0], None, "0 feature"),
        (None, lambda y: y + 0.5, "Unknown label type"),
        (None, lambda y: y[:-1], "inconsistent numbers of samples"),
        (None, lambda y: np.zeros_like(y), "only one class"),
    ],
)
def test_bad_training_data_gets_a_clear_error(Estimator, X_change, y_change, match):
    X, y = _data()
    X = X_change(X) if X_change else X
    y = y_change(y) if y_change else y
    with pytest.raises(ValueError, match=match):
        make(Estimator).fit(X, y)


@parametrize_estimators
@pytest.mark.parametrize(
    "weights, match",
    [
        (np.zeros(60), "zero"),
        (-np.ones(60), "[Nn]egative"),
        (np.full(60, np.inf), "infinity"),
        (np.ones(59), "shape"),
    ],
)
def test_bad_sample_weight_gets_a_clear_error(Estimator, weights, match):
    X, y = _data()
    with pytest.raises(ValueError, match=match):
        make(Estimator).fit(X, y, sample_weight=weights)


@parametrize_estimators
def test_zero_weighted_class_counts_as_absent(Estimator):
    X, y = _data(n_classes=2)
    with pytest.raises(ValueError, match="only one class"):
        make(Estimator).fit(X, y, sample_weight=(y == 1).astype(float))


@parametrize_estimators
def test_predicting_before_fit_or_with_wrong_width(Estimator):
    X, y = _data()
    estimator = make(Estimator)
    for method in ("predict", "predict_proba", "predict_log_proba", "decision_function"):
        with pytest.raises(NotFittedError):
            getattr(estimator, method)(X)
    estimator.fit(X, y)
    for method in ("predict", "predict_proba", "predict_log_proba", "decision_function"):
        with pytest.raises(ValueError, match="X has 4 features"):
            getattr(estimator, method)(X[:, :4])
        with pytest.raises(ValueError, match="NaN"):
            getattr(estimator, method)(np.full_like(X, np.nan))


@parametrize_estimators
@pytest.mark.parametrize(
    "param, value",
    [
        ("learning_rate", -1.0),
        ("learning_rate", np.inf),
        ("learning_rate", "fast"),
        ("max_iter", 0),
        ("max_iter", 2.5),
        ("tol", -1.0),
        ("alpha", np.nan),
        ("alpha", np.inf),
        ("batch_size", 0),
        ("optimizer", "sgd"),
        ("beta_1", 1.0),
        ("epsilon", 0.0),
        ("validation_fraction", 1.0),
        ("class_weight", "uniform"),
        ("n_iter_no_change", 0),
    ],
)
def test_absurd_hyperparameters_are_refused_by_name(Estimator, param, value):
    X, y = _data()
    estimator = make(Estimator, **{param: value})
    with pytest.raises(InvalidParameterError, match=f"'{param}' parameter"):
        estimator.fit(X, y)
    with pytest.raises(InvalidParameterError, match=f"'{param}' parameter"):
        make(Estimator, **{param: value}).partial_fit(X, y, classes=np.unique(y))


@parametrize_estimators
def test_class_weight_with_unknown_label_is_refused(Estimator):
    X, y = _data()
    with pytest.raises(ValueError, match="class_weight has label 7"):
        make(Estimator, class_weight={7: 2.0}).fit(X, y)


@parametrize_estimators
def test_inputs_are_never_modified(Estimator):
    X, y = _data()
    weights = np.linspace(0, 2, len(y))
    copies = X.copy(), y.copy(), weights.copy()
    for array in (X, y, weights):
        array.flags.writeable = False
    estimator = make(Estimator, class_weight="balanced").fit(X, y, sample_weight=weights)
    estimator.predict_proba(X)
    for original, copy in zip((X, y, weights), copies):
        assert_array_equal(original, copy)


# ------------------------------------------------------------ weights, labels
@parametrize_estimators
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("class_weight", [None, "balanced", {0: 2.0, 2: 0.5}])
def test_weighted_fit_equals_fit_on_repeated_rows(Estimator, sparse, class_weight):
    X, y = _data()
    weights = np.random.RandomState(1).randint(0, 4, size=len(y))
    repeated = np.repeat(np.arange(len(y)), weights)
    to_input = sp.csr_matrix if sparse else np.asarray
    params = dict(tol=None, max_iter=30, class_weight=class_weight)
    weighted = make(Estimator, **params).fit(to_input(X), y, sample_weight=weights)
    expanded = make(Estimator, **params).fit(to_input(X[repeated]), y[repeated])
    assert_allclose(weighted.predict_proba(X), expanded.predict_proba(X), rtol=1e-9)
    assert_allclose(weighted.loss_curve_, expanded.loss_curve_, rtol=1e-10)


@parametrize_estimators
def test_balanced_class_weight_equals_the_explicit_dict(Estimator):
    X, y = _data()
    y = np.where(np.arange(len(y)) < 40, 0, y)  # imbalanced
    counts = np.bincount(y)
    explicit = {k: len(y) / (3 * counts[k]) for k in range(3)}
    a = make(Estimator, class_weight="balanced", tol=None, max_iter=20).fit(X, y)
    b = make(Estimator, class_weight=explicit, tol=None, max_iter=20).fit(X, y)
    assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-12)


@parametrize_estimators
@pytest.mark.parametrize(
    "labels",
    [
        np.array(["cat", "dog", "emu"]),
        np.array(["cat", "dog", "emu"], dtype=object),
        np.array([-1, 1]),
    ],
    ids=["str", "object", "minus-one-one"],
)
def test_labels_come_back_as_given(Estimator, labels):
    X, y = _data(n_classes=len(labels))
    y_labels = labels[y]
    estimator = make(Estimator).fit(X, y_labels)
    assert_array_equal(estimator.classes_, labels)
    assert estimator.classes_.dtype == labels.dtype
    assert set(estimator.predict(X)) <= set(labels)
    assert estimator.score(X, y_labels) > 0.8


@parametrize_estimators
def test_dataframe_feature_names_are_kept_and_checked(Estimator):
    X, y = _data()
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    estimator = make(Estimator).fit(frame, y)
    assert_array_equal(estimator.feature_names_in_, frame.columns)
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        from_array = estimator.predict_proba(X)
    assert_allclose(estimator.predict_proba(frame), from_array)
    with pytest.raises(ValueError, match="feature names"):
        estimator.predict(frame.rename(columns={"f0": "other"}))


# ------------------------------------------------------------- dtypes, sparse
@parametrize_estimators
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("batch_size", [None, 16])
def test_float32_is_trained_and_predicted_in_float32(Estimator, optimizer, batch_size):
    X, y = _data()
    estimator = make(Estimator, optimizer=optimizer, batch_size=batch_size)
    estimator.fit(X.astype(np.float32), y, sample_weight=np.ones(len(y)))
    params = estimator._load_params()
    assert all(p.dtype == np.float32 for p in params.values())
    for method in ("predict_proba", "predict_log_proba", "decision_function"):
        assert getattr(estimator, method)(X.astype(np.float32)).dtype == np.float32
    assert estimator.predict_proba(X).dtype == np.float64


@parametrize_estimators
@pytest.mark.parametrize("sparse_format", ["csr", "csc"])
def test_sparse_input_gives_the_dense_result(Estimator, sparse_format):
    X, y = _data()
    X[np.abs(X) < 0.5] = 0
    X_sparse = sp.csr_matrix(X).asformat(sparse_format)
    params = dict(tol=None, max_iter=20, alpha=0.01)
    dense = make(Estimator, **params).fit(X, y)
    sparse = make(Estimator, **params).fit(X_sparse, y)
    assert_allclose(sparse.loss_curve_, dense.loss_curve_, rtol=1e-10)
    assert_allclose(sparse.predict_proba(X_sparse), dense.predict_proba(X), rtol=1e-9)


# ------------------------------------------------------ continuing training
@parametrize_estimators
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_partial_fit_n_times_equals_fit_with_max_iter_n(Estimator, optimizer):
    X, y = _data()
    fitted = make(Estimator, optimizer=optimizer, max_iter=7, tol=None).fit(X, y)
    incremental = make(Estimator, optimizer=optimizer)
    for _ in range(7):
        incremental.partial_fit(X, y, classes=np.unique(y))
    assert_allclose(incremental.loss_curve_, fitted.loss_curve_, rtol=1e-12)
    assert_allclose(incremental.predict_proba(X), fitted.predict_proba(X), rtol=1e-12)
    assert incremental.n_iter_ == 7


@parametrize_estimators
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("batch_size", [None, 7])
def test_warm_start_a_plus_b_equals_fit_a_plus_b(Estimator, optimizer, batch_size):
    X, y = _data()
    params = dict(optimizer=optimizer, batch_size=batch_size, tol=None, random_state=3)
    once = make(Estimator, max_iter=12, **params).fit(X, y)
    warm = make(Estimator, max_iter=5, warm_start=True, **params).fit(X, y)
    warm.set_params(max_iter=7).fit(X, y)
    assert_allclose(warm.loss_curve_, once.loss_curve_, rtol=1e-12)
    assert_allclose(warm.predict_proba(X), once.predict_proba(X), rtol=1e-12)
    assert warm.n_iter_ == 12


@parametrize_estimators
def test_warm_start_refuses_new_classes_and_cold_start_resets(Estimator):
    X, y = _data()
    estimator = make(Estimator, warm_start=True, max_iter=3, tol=None).fit(X, y)
    with pytest.raises(ValueError, match="same classes"):
        estimator.fit(X, np.where(y == 2, 5, y))
    estimator.set_params(warm_start=False).fit(X, y)
    assert estimator.n_iter_ == 3


@parametrize_estimators
def test_partial_fit_errors(Estimator):
    X, y = _data()
    with pytest.raises(ValueError, match="classes must be passed"):
        make(Estimator).partial_fit(X, y)
    with pytest.raises(ValueError, match="balanced"):
        make(Estimator, class_weight="balanced").partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="not in classes"):
        make(Estimator).partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="at least 2 classes"):
        make(Estimator).partial_fit(X, y * 0, classes=[0])
    estimator = make(Estimator).partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="not the same"):
        estimator.partial_fit(X, y, classes=[0, 1, 2, 3])
    with pytest.raises(ValueError, match="X has 4 features"):
        estimator.partial_fit(X[:, :4], y)
    # A chunk may miss classes once they are declared.
    estimator.partial_fit(X[y == 0], y[y == 0])
    assert estimator.predict_proba(X).shape == (len(y), 3)


# -------------------------------------------------------- stopping and guards
@parametrize_estimators
def test_early_stopping_keeps_best_validation_weights(Estimator):
    X, y = _data(n_samples=200)
    estimator = make(
        Estimator, early_stopping=True, validation_fraction=0.2, max_iter=300, n_iter_no_change=5
    ).fit(X, y)
    assert estimator.stop_reason_ in ("early_stopping", "max_iter")
    assert len(estimator.validation_loss_curve_) == estimator.n_iter_
    assert estimator.best_loss_ == min(estimator.validation_loss_curve_)
    assert not hasattr(make(Estimator).fit(X, y), "validation_loss_curve_")
    estimator.set_params(early_stopping=False).fit(X, y)
    assert not hasattr(estimator, "validation_loss_curve_")


@parametrize_estimators
def test_early_stopping_needs_two_members_per_class(Estimator):
    X, y = _data()
    y[0] = 9  # a class with one member cannot be stratified
    with pytest.raises(ValueError, match="early_stopping could not hold out"):
        make(Estimator, early_stopping=True).fit(X, y)


@parametrize_estimators
def test_convergence_warning_only_when_tol_is_set(Estimator):
    X, y = _data()
    with pytest.warns(ConvergenceWarning, match="maximum iterations"):
        make(Estimator, max_iter=2, tol=1e-12).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        estimator = make(Estimator, max_iter=2, tol=None).fit(X, y)
    assert estimator.stop_reason_ == "max_iter"


@parametrize_estimators
def test_huge_learning_rate_diverges_safely(Estimator):
    X, y = _data()
    X = StandardScaler().fit_transform(X)
    estimator = make(Estimator, learning_rate=1e8, optimizer="gd", tol=None, max_iter=50)
    with pytest.warns(ConvergenceWarning, match=r"learning rate \(100000000.0\)"):
        estimator.fit(X, y)
    # Full batch goes back to its best weights with smaller steps until the
    # loss is stable; either way it never reports convergence from a blow-up.
    assert estimator.stop_reason_ in ("diverged", "max_iter")
    assert min(estimator.loss_curve_) <= estimator.loss_curve_[0]
    assert all(np.all(np.isfinite(p)) for p in estimator._load_params().values())
    assert np.all(np.isfinite(estimator.predict_proba(X)))
    assert np.all(np.isfinite(estimator.loss_curve_))


@parametrize_estimators
def test_large_inputs_train_without_overflow_warnings(Estimator):
    X, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        estimator = make(Estimator, max_iter=30, tol=None).fit(X * 1e4, y)
        log_proba = estimator.predict_log_proba(X * 1e6)
    assert np.all(np.isfinite(estimator.loss_curve_))
    assert np.all(np.isfinite(log_proba))


@parametrize_estimators
def test_verbose_prints_the_loss(Estimator, capsys):
    X, y = _data()
    make(Estimator, verbose=5, max_iter=10, tol=None).fit(X, y)
    out = capsys.readouterr().out
    assert out.count("loss = ") == 2 and "Epoch 10" in out


# ------------------------------------------------------ the sklearn ecosystem
@parametrize_estimators
def test_pipeline_grid_search_in_parallel_and_joblib_round_trip(Estimator, tmp_path):
    X, y = make_blobs(n_samples=120, centers=3, n_features=4, random_state=0)
    pipeline = make_pipeline(StandardScaler(), make(Estimator))
    step = pipeline.steps[-1][0]
    search = GridSearchCV(pipeline, {f"{step}__alpha": [1e-4, 1e-1]}, cv=3, n_jobs=2)
    search.fit(X, y)
    sequential = GridSearchCV(pipeline, {f"{step}__alpha": [1e-4, 1e-1]}, cv=3).fit(X, y)
    assert search.best_params_ == sequential.best_params_
    assert_allclose(
        search.cv_results_["mean_test_score"], sequential.cv_results_["mean_test_score"]
    )
    assert search.score(X, y) > 0.9

    path = tmp_path / "model.joblib"
    joblib.dump(search.best_estimator_, path)
    loaded = joblib.load(path)
    assert_array_equal(loaded.predict_proba(X), search.best_estimator_.predict_proba(X))


@parametrize_estimators
def test_predict_log_proba_and_decision_function_are_consistent(Estimator):
    for n_classes in (2, 3):
        X, y = _data(n_classes=n_classes)
        estimator = make(Estimator).fit(X, y)
        scores = estimator.decision_function(X)
        proba = estimator.predict_proba(X)
        assert scores.shape == ((len(y),) if n_classes == 2 else (len(y), n_classes))
        assert_allclose(np.exp(estimator.predict_log_proba(X)), proba, rtol=1e-10, atol=1e-300)
        expected = (scores > 0).astype(int) if n_classes == 2 else scores.argmax(axis=1)
        assert_array_equal(estimator.predict(X), expected)
        assert_array_equal(proba.argmax(axis=1), expected)


# ------------------------------------------------- failure atomicity, numerics
def _snapshot(estimator):
    """vars(estimator) with arrays copied, to compare after a call that raised."""
    import copy

    return copy.deepcopy(vars(estimator))


def _assert_same_vars(before, estimator):
    after = vars(estimator)
    assert sorted(before) == sorted(after)
    for name, value in before.items():
        if isinstance(value, np.ndarray):
            assert_array_equal(after[name], value)
        elif name not in ("_optimizer_state", "_rng_state"):
            assert repr(after[name]) == repr(value), name


_BAD_CALLS = {
    "unknown class_weight label": lambda est, X, y: est.set_params(class_weight={"zz": 1.0}).fit(
        X, np.array(["cat", "dog"], dtype=object)[y % 2]
    ),
    "all-zero class weights": lambda est, X, y: est.set_params(
        class_weight=dict.fromkeys(np.unique(y), 0.0)
    ).fit(X, y),
    "overflowing weights": lambda est, X, y: est.fit(
        X, y, sample_weight=np.full(len(y), np.finfo(X.dtype).max)
    ),
    "wrong width": lambda est, X, y: est.set_params(warm_start=True).fit(X[:, :3], y),
    "NaN": lambda est, X, y: est.fit(np.where(X > 1, np.nan, X), y),
    "single class": lambda est, X, y: est.fit(X, np.zeros_like(y)),
    "overflowing X": lambda est, X, y: est.fit(X * 1e200, y),
    "new classes on warm start": lambda est, X, y: est.set_params(warm_start=True).fit(X, y + 7),
    "partial_fit unknown label": lambda est, X, y: est.partial_fit(X, y + 7),
}


@parametrize_estimators
@settings(max_examples=12, deadline=None)
@given(
    call=st.sampled_from(sorted(_BAD_CALLS)),
    fitted=st.booleans(),
    seed=st.integers(0, 3),
)
def test_a_call_that_raises_leaves_the_estimator_exactly_as_it_was(Estimator, call, fitted, seed):
    X, y = _data(seed=seed)
    estimator = make(Estimator, max_iter=5, tol=None)
    if fitted:
        estimator.fit(X, y)
    elif call.startswith(("partial_fit", "wrong width", "new classes")):
        return  # needs a fitted estimator to be an error
    before = _snapshot(estimator)
    with pytest.raises(ValueError):
        _BAD_CALLS[call](estimator, X, y)
    # set_params is the user's own change: undo it before comparing.
    estimator.set_params(**{k: v for k, v in before.items() if k in estimator.get_params()})
    _assert_same_vars(before, estimator)
    if not fitted:
        with pytest.raises(NotFittedError):
            estimator.predict(X)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_one_vs_rest_probabilities_stay_finite_where_every_sigmoid_underflows(dtype):
    X, y = _data(n_classes=3)
    model = LogisticRegressionGD(max_iter=20, tol=None).fit(X.astype(dtype), y)
    model.intercept_ = np.full(3, -1e4, dtype=dtype)  # every logit about -1e4
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        proba = model.predict_proba(X.astype(dtype))
    assert np.all(np.isfinite(proba)) and proba.dtype == dtype
    assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    assert_allclose(proba, np.exp(model.predict_log_proba(X.astype(dtype))), rtol=1e-5)


@parametrize_estimators
def test_overflowing_x_gets_a_clear_error_not_nan(Estimator):
    X, y = _data()
    huge = np.finfo(np.float64).max * np.random.RandomState(0).uniform(0, 1, X.shape)
    with pytest.raises(ValueError, match="Scale the data"):
        make(Estimator).fit(huge, y)
    fitted = make(Estimator, max_iter=5, tol=None).fit(X, y)
    with pytest.raises(ValueError, match="Scale the data"):
        fitted.predict_proba(huge)


@parametrize_estimators
@pytest.mark.parametrize("n_classes", [2, 3])
def test_predict_is_the_argmax_of_predict_proba_even_on_rounding_ties(Estimator, n_classes):
    X, y = _data(n_classes=n_classes)
    model = make(Estimator, max_iter=5, tol=None).fit(X, y)
    # Tiny logits: probabilities round to ties while the decision has a sign.
    weights = model.coef_ if hasattr(model, "coef_") else model.coefs_[-1]
    weights *= 1e-17
    intercepts = model.intercept_ if hasattr(model, "intercept_") else model.intercepts_[-1]
    intercepts[...] = 1e-17
    proba, predicted = model.predict_proba(X), model.predict(X)
    assert_array_equal(predicted, model.classes_[proba.argmax(axis=1)])
    if n_classes == 2:
        assert_array_equal(predicted, model.classes_[(model.decision_function(X) > 0) * 1])


@parametrize_estimators
def test_nothing_breaks_under_seterr_raise(Estimator):
    X, y = _data()
    with np.errstate(all="raise"):
        model = make(Estimator, max_iter=30, tol=None).fit(X * 30, y)
        for method in ("predict", "predict_proba", "predict_log_proba", "decision_function"):
            getattr(model, method)(X * 1e3)
        adam = make(Estimator, optimizer="adam", max_iter=300, tol=None).fit(X, y)
        adam.predict(X)


def test_early_stopping_without_shuffle_trains_on_the_original_row_order():
    X, y = _data(n_samples=80)
    seen = []

    class Recording(LogisticRegressionGD):
        def _make_objective(self, link):
            objective = super()._make_objective(link)
            loss_grad = objective.loss_grad

            def recording(params, X_batch, Y, sample_weight):
                seen.append(X_batch[:, 0].copy())
                return loss_grad(params, X_batch, Y, sample_weight)

            objective.loss_grad = recording
            return objective

    Recording(early_stopping=True, shuffle=False, batch_size=10, max_iter=1, tol=None).fit(X, y)
    rows = np.concatenate(seen)
    positions = [np.flatnonzero(X[:, 0] == value)[0] for value in rows]
    assert positions == sorted(positions)


@parametrize_estimators
def test_partial_fit_refuses_early_stopping(Estimator):
    X, y = _data()
    with pytest.raises(ValueError, match="early_stopping"):
        make(Estimator, early_stopping=True).partial_fit(X, y, classes=np.unique(y))


@pytest.mark.parametrize("eps", [0.0, np.nan, -1e-6])
def test_check_gradient_refuses_a_meaningless_step(eps):
    X, y = _data()
    with pytest.raises(InvalidParameterError, match="eps"):
        check_gradient(SoftmaxGD(), X, y, eps=eps)
