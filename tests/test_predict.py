"""predict, predict_proba, predict_log_proba and decision_function (sknn/_predict.py)."""

import warnings

import numpy as np
import pytest
from conftest import _data, make, parametrize_estimators
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import NotFittedError

from sknn import LogisticRegressionGD, ShallowNNClassifier


# ---------------------------------------------------------------- predicting
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


# ------------------------------------------------------------------ numerics
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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_saturated_hidden_units_predict_under_seterr_raise(dtype):
    # Sigmoid hidden units of about 1e-40 made the output matmul underflow, which
    # raised FloatingPointError under np.seterr(all="raise") in every method.
    X, y = _data(n_classes=2)
    model = make(ShallowNNClassifier, activation="sigmoid", max_iter=20, tol=None)
    model.fit(X.astype(dtype), y)
    X_far = (X * 1e3).astype(dtype)
    with np.errstate(all="raise"):
        for method in ("predict", "predict_proba", "predict_log_proba", "decision_function"):
            getattr(model, method)(X_far)
