"""Estimator behaviour shared by all three sknn classifiers (sknn/_base.py)."""

import copy
import warnings

import joblib
import numpy as np
import pytest
from conftest import OPTIMIZERS, _data, make, parametrize_estimators, parametrize_linear
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from sknn import ShallowNNClassifier, SoftmaxGD, check_gradient


# ------------------------------------------------------------ hyperparameters
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


@parametrize_estimators
def test_nothing_breaks_under_seterr_raise(Estimator):
    X, y = _data()
    with np.errstate(all="raise"):
        model = make(Estimator, max_iter=30, tol=None).fit(X * 30, y)
        for method in ("predict", "predict_proba", "predict_log_proba", "decision_function"):
            getattr(model, method)(X * 1e3)
        adam = make(Estimator, optimizer="adam", max_iter=300, tol=None).fit(X, y)
        adam.predict(X)


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


# ------------------------------------------------- conjugate gradient, 'auto'
@parametrize_linear
def test_linear_cg_partial_fit_n_times_equals_fit_with_max_iter_n(Estimator):
    X, y = _data()
    X = X * np.logspace(-2, 2, X.shape[1]) + 1.0  # the preconditioner centres and scales
    fitted = make(Estimator, optimizer="cg", max_iter=7, tol=None).fit(X, y)
    incremental = make(Estimator, optimizer="cg")
    for _ in range(7):
        incremental.partial_fit(X, y, classes=np.unique(y))
    assert incremental._optimizer_state["name"] == fitted._optimizer_state["name"] == "cg"
    assert_allclose(incremental.loss_curve_, fitted.loss_curve_, rtol=1e-12)
    assert_allclose(incremental.predict_proba(X), fitted.predict_proba(X), rtol=1e-12)
    assert incremental.n_iter_ == 7


@parametrize_linear
def test_auto_partial_fit_streams_as_mini_batches_do(Estimator):
    # partial_fit's X is one batch of a stream: 'auto' is nesterov there, as on
    # mini-batches. A full-batch method (L-BFGS, conjugate gradient) would take
    # the batches for one function: its exact step on 4 rows of noisy labels
    # overfits them, the next batch's loss is then twice the first's and
    # training is judged unstable.
    X, y = np.random.default_rng(0).normal(size=(12, 2)), np.arange(12) % 3
    streamed = make(Estimator)
    for start in range(0, 12, 4):
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            streamed.partial_fit(X[start : start + 4], y[start : start + 4], classes=[0, 1, 2])
        assert streamed._optimizer_state["name"] == "nesterov"
        assert streamed.stop_reason_ == "max_iter"
    named = make(Estimator, optimizer="nesterov")
    for start in range(0, 12, 4):
        named.partial_fit(X[start : start + 4], y[start : start + 4], classes=[0, 1, 2])
    assert_array_equal(streamed.coef_, named.coef_)
    # fit keeps L-BFGS, and a warm fit after partial_fit starts it afresh.
    streamed.set_params(warm_start=True, max_iter=3, tol=None).fit(X, y)
    assert streamed._optimizer_state["name"] == "lbfgs"


@parametrize_linear
@pytest.mark.parametrize("call", ["fit", "warm fit", "partial_fit"])
def test_cg_on_mini_batches_is_refused_and_leaves_the_estimator_as_it_was(Estimator, call):
    X, y = _data()
    estimator = make(Estimator, max_iter=5, tol=None).fit(X, y)
    before = _snapshot(estimator)
    estimator.set_params(optimizer="cg", batch_size=10, warm_start=call == "warm fit")
    with pytest.raises(ValueError, match="optimizer='cg'.*full batch"):
        if call == "partial_fit":
            estimator.partial_fit(X, y)
        else:
            estimator.fit(X, y)
    estimator.set_params(optimizer="auto", batch_size=None, warm_start=False)
    _assert_same_vars(before, estimator)
    for name in ("_optimizer_state", "_rng_state"):
        assert repr(vars(estimator)[name]) == repr(before[name])
    # A batch as large as the data is the full batch: cg trains there.
    estimator.set_params(optimizer="cg", batch_size=len(y)).fit(X, y)
    assert estimator._optimizer_state["name"] == "cg"


@pytest.mark.parametrize("optimizer", ["lbfgs", "cg"])
def test_the_network_trains_with_the_line_search_optimizers_on_the_full_batch(optimizer):
    # As MLPClassifier(solver='lbfgs'): the registry offers every optimizer to
    # every model; mini-batches are refused with a clear error.
    X, y = _data()
    X = StandardScaler().fit_transform(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = make(ShallowNNClassifier, optimizer=optimizer).fit(X, y)
    assert model.stop_reason_ in ("converged", "stalled")
    assert model.score(X, y) >= 0.95
    assert np.all(np.diff(model.loss_curve_) <= 1e-12)  # every step descends
    with pytest.raises(ValueError, match="needs the full batch"):
        make(ShallowNNClassifier, optimizer=optimizer, batch_size=8).fit(X, y)


# ------------------------------------------------- what a user asks for is used
@parametrize_estimators
@pytest.mark.parametrize("batch_size", [None, 16])
def test_a_given_learning_rate_with_auto_is_plain_gradient_descent(Estimator, batch_size):
    X, y = _data()
    params = dict(learning_rate=0.05, max_iter=20, tol=None, batch_size=batch_size, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing is ignored: no warning
        auto = make(Estimator, **params).fit(X, y)
    gd = make(Estimator, optimizer="gd", **params).fit(X, y)
    assert auto._optimizer_state["name"] == "gd"
    assert auto.loss_curve_ == gd.loss_curve_


@parametrize_estimators
def test_auto_with_auto_learning_rate_needs_no_tuning(Estimator):
    X, y = _data()
    estimator = make(Estimator).fit(X, y)
    expected = "nesterov" if Estimator is ShallowNNClassifier else "lbfgs"
    assert estimator._optimizer_state["name"] == expected
    assert estimator.stop_reason_ == "converged"


@pytest.mark.parametrize(
    "Estimator, params, ignored",
    [
        (SoftmaxGD, dict(optimizer="lbfgs", learning_rate=0.1), "learning_rate=0.1"),
        (
            SoftmaxGD,
            dict(optimizer="cg", learning_rate=0.1, beta_1=0.5),
            "learning_rate=0.1, beta_1",
        ),
        (SoftmaxGD, dict(beta_2=0.9), "optimizer='lbfgs' (optimizer='auto' here)"),
        (SoftmaxGD, dict(optimizer="gd", beta_1=0.5), "beta_1=0.5"),
        (ShallowNNClassifier, dict(optimizer="momentum", epsilon=1e-3), "epsilon=0.001"),
        (ShallowNNClassifier, dict(beta_1=0.5), "optimizer='nesterov'"),
        (ShallowNNClassifier, dict(learning_rate=0.1, beta_1=0.5), "optimizer='gd'"),
    ],
)
def test_hyperparameters_the_optimizer_does_not_use_warn_once(Estimator, params, ignored):
    X, y = _data()
    with pytest.warns(UserWarning, match="does not use") as record:
        make(Estimator, max_iter=5, tol=None, **params).fit(X, y)
    messages = [str(w.message) for w in record if "does not use" in str(w.message)]
    assert len(messages) == 1 and ignored in messages[0]


def test_the_ignored_hyperparameter_warning_names_the_users_in_this_batch_mode():
    # Full-batch nesterov ignores beta_1 (FISTA's own momentum): the registry says so.
    X, y = _data()
    with pytest.warns(UserWarning, match="does not use") as record:
        make(ShallowNNClassifier, beta_1=0.5, max_iter=3, tol=None).fit(X, y)
    message = str(record[0].message)
    assert "beta_1 is used by 'momentum', 'adam' (on the full batch)." in message
    with pytest.warns(UserWarning, match="does not use") as record:
        make(SoftmaxGD, optimizer="lbfgs", learning_rate=0.1, max_iter=3, tol=None).fit(X, y)
    assert "beta_1" not in str(record[0].message)


@parametrize_estimators
def test_hyperparameters_the_optimizer_uses_do_not_warn(Estimator):
    X, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        make(
            Estimator, optimizer="adam", beta_1=0.5, beta_2=0.9, epsilon=1e-6, max_iter=3, tol=None
        ).fit(X, y)
        make(Estimator, optimizer="nesterov", batch_size=10, beta_1=0.5, max_iter=3, tol=None).fit(
            X, y
        )


# ----------------------------------------------------- weights set by hand
def _weights_by_hand(Estimator, n_features, rng):
    """Weights a user might set: another model's, or drawn at random."""
    if Estimator is ShallowNNClassifier:
        return {
            "coefs_": [rng.standard_normal((n_features, 8)) * 0.3, rng.standard_normal((8, 1))],
            "intercepts_": [np.zeros(8), np.zeros(1)],
        }
    n_rows = 2 if Estimator is SoftmaxGD else 1
    return {"coef_": rng.standard_normal((n_rows, n_features)), "intercept_": np.zeros(n_rows)}


@parametrize_estimators
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_training_continues_from_weights_set_by_hand(Estimator, method):
    X, y = _data(2)
    weights = _weights_by_hand(Estimator, X.shape[1], np.random.RandomState(0))
    estimator = make(Estimator, warm_start=True, max_iter=5, tol=None, learning_rate=0.1)
    for name, value in weights.items():
        setattr(estimator, name, value)
    estimator.classes_, estimator.n_features_in_ = np.unique(y), X.shape[1]
    getattr(estimator, method)(X, y)
    # The continued fit starts where the hand-set weights are: its first loss is theirs.
    reference = make(Estimator, learning_rate=0.1)
    reference.classes_, reference.n_features_in_ = np.unique(y), X.shape[1]
    for name, value in weights.items():
        setattr(reference, name, value)
    objective, params, X64, Y, sw = reference._gradient_problem(X, y, None)
    assert estimator.loss_curve_[0] == pytest.approx(objective.loss(params, X64, Y, sw))
    assert estimator.n_iter_ == (5 if method == "fit" else 1)


@parametrize_estimators
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
@pytest.mark.parametrize("missing", ["classes_", "n_features_in_", "weights"])
def test_incomplete_hand_set_weights_are_refused_clearly(Estimator, method, missing):
    X, y = _data(2)
    estimator = make(Estimator, warm_start=True)
    state = {**_weights_by_hand(Estimator, X.shape[1], np.random.RandomState(0))}
    state.update(classes_=np.unique(y), n_features_in_=X.shape[1])
    for name in list(state):
        if name == missing or (missing == "weights" and name in estimator._weight_attributes[1:]):
            del state[name]
    for name, value in state.items():
        setattr(estimator, name, value)
    before = dict(vars(estimator))
    with pytest.raises(ValueError, match="set all of|continues from"):
        getattr(estimator, method)(X, y)
    assert vars(estimator).keys() == before.keys()


@parametrize_estimators
def test_hand_set_weights_of_the_wrong_shape_are_refused(Estimator):
    X, y = _data(2)
    estimator = make(Estimator, warm_start=True)
    for name, value in _weights_by_hand(
        Estimator, X.shape[1] + 1, np.random.RandomState(0)
    ).items():
        setattr(estimator, name, value)
    estimator.classes_, estimator.n_features_in_ = np.unique(y), X.shape[1]
    with pytest.raises(ValueError, match="has shape"):
        estimator.fit(X, y)


@parametrize_estimators
@pytest.mark.parametrize("optimizer", ["nesterov", "momentum", "adam"])
def test_weights_edited_by_hand_drop_the_optimizer_state_that_was_theirs(Estimator, optimizer):
    X, y = _data(2)
    params = dict(optimizer=optimizer, max_iter=30, tol=None, warm_start=True, learning_rate=0.05)
    edited = make(Estimator, **params).fit(X, y)
    first = edited._weight_attributes[0]
    getattr(edited, first)[0][...] = 0.0  # coef_'s first row, or the network's W1
    names = (*edited._weight_attributes, "classes_", "n_features_in_")
    start = {name: copy.deepcopy(getattr(edited, name)) for name in names}
    edited.set_params(max_iter=1).fit(X, y)
    # One step from the edited weights with a fresh optimizer state, as from
    # the same weights set by hand on a new estimator.
    fresh = make(Estimator, **{**params, "max_iter": 1})
    for name, value in start.items():
        setattr(fresh, name, value)
    fresh.fit(X, y)
    assert_allclose(getattr(edited, first)[0], getattr(fresh, first)[0], rtol=1e-12)


@parametrize_estimators
def test_unedited_weights_keep_their_optimizer_state(Estimator):
    X, y = _data(2)
    params = dict(optimizer="nesterov", batch_size=20, max_iter=4, tol=None, shuffle=False)
    continued = make(Estimator, warm_start=True, **params).fit(X, y)
    continued.fit(X, y)
    whole = make(Estimator, **{**params, "max_iter": 8}).fit(X, y)
    assert continued.loss_curve_ == whole.loss_curve_


# --------------------------------------------------- raw data gets advice
@parametrize_estimators
def test_slow_training_on_raw_features_suggests_scaling(Estimator):
    X, y = _data(2)
    X = X * np.logspace(-3, 3, X.shape[1])
    with pytest.warns(ConvergenceWarning, match="StandardScaler"):
        make(Estimator, max_iter=3).fit(X, y)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        make(Estimator, max_iter=3).fit(StandardScaler().fit_transform(X), y)
    assert not any("StandardScaler" in str(w.message) for w in record)


@parametrize_estimators
def test_partial_fit_still_catches_steps_that_explode(Estimator):
    X, y = _data()
    X = StandardScaler().fit_transform(X)
    estimator = make(Estimator, learning_rate=1e8, optimizer="gd")
    with pytest.warns(ConvergenceWarning, match="diverged"):
        for _ in range(10):
            estimator.partial_fit(X, y, classes=np.unique(y))
    assert estimator.stop_reason_ == "diverged"
    assert all(np.all(np.isfinite(p)) for p in estimator._load_params().values())
    assert np.all(np.isfinite(estimator.predict_proba(X)))


class _RaisingCallback:
    """A FitCallback that raises RuntimeError at one of its hooks."""

    def __init__(self, where):
        self.where = where

    def _maybe_raise(self, hook):
        if hook == self.where:
            raise RuntimeError(f"raised in {hook}")

    def setup(self, estimator, context):
        self._maybe_raise("setup")

    def on_fit_task_begin(self, estimator, context):
        self._maybe_raise("on_fit_task_begin")

    def on_fit_task_end(self, estimator, context, **kwargs):
        self._maybe_raise("on_fit_task_end")
        return False

    def teardown(self, estimator, context):
        self._maybe_raise("teardown")


@parametrize_estimators
@pytest.mark.parametrize("where", ["setup", "on_fit_task_begin", "on_fit_task_end", "teardown"])
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_a_callback_that_raises_anywhere_leaves_the_estimator_as_it_was(Estimator, where, method):
    pytest.importorskip("sklearn.callback")
    X, y = _data()
    estimator = make(Estimator, max_iter=3, tol=None).fit(X, y)
    before = copy.deepcopy(vars(estimator))
    estimator.set_callbacks(_RaisingCallback(where))
    with pytest.raises(RuntimeError, match=f"raised in {where}"):
        if method == "fit":
            estimator.fit(X[::-1], y[::-1])
        else:
            estimator.partial_fit(X[::-1], y[::-1])
    after = vars(estimator)
    for name, value in before.items():
        if name.startswith("_skl_callbacks") or name == "_callback_fit_ctx":
            continue
        if isinstance(value, np.ndarray):
            assert_array_equal(after[name], value, err_msg=name)
        elif name not in ("_callbacks",):
            assert repr(after[name]) == repr(value), name


@parametrize_linear
def test_the_advice_for_a_stalled_unpenalized_fit_is_a_penalty(Estimator):
    X, _ = _data()
    advice = make(Estimator, alpha=0.0)._advice("stalled", 1e-4, X)
    assert "alpha > 0" in advice and "Set tol" not in advice
    # With a penalty, or a loss far from 0, the stall is rounding's: no such advice.
    assert "alpha > 0" not in make(Estimator, alpha=1e-4)._advice("stalled", 1e-4, X)
    assert "alpha > 0" not in make(Estimator, alpha=0.0)._advice("stalled", 0.5, X)
