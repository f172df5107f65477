"""What a fit leaves behind, and how a warm start continues from it (sknn/_state.py)."""

import numpy as np
import pytest
from conftest import OPTIMIZERS, _data, make, parametrize_estimators, parametrize_linear
from numpy.testing import assert_allclose


# ------------------------------------------------------ continuing training
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


@parametrize_linear
@pytest.mark.parametrize("optimizer", ["cg", "auto"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_linear_cg_warm_start_a_plus_b_equals_fit_a_plus_b(Estimator, optimizer, weighted):
    # Badly scaled, uncentred features: the preconditioner centres and scales.
    X, y = _data()
    X = X * np.logspace(-2, 2, X.shape[1]) + 1.0
    weights = np.random.RandomState(0).uniform(0.5, 2.0, len(y)) if weighted else None
    params = dict(optimizer=optimizer, tol=None, random_state=3)
    once = make(Estimator, max_iter=12, **params).fit(X, y, sample_weight=weights)
    warm = make(Estimator, max_iter=5, warm_start=True, **params).fit(X, y, sample_weight=weights)
    state = warm._optimizer_state
    assert state["name"] == "cg" and set(state["state"]) == {
        "direction",
        "preconditioned_gradient",
        "gradient_product",
    }
    warm.set_params(max_iter=7).fit(X, y, sample_weight=weights)
    assert_allclose(warm.loss_curve_, once.loss_curve_, rtol=1e-12)
    # The continued fit's first gradient comes from X, the single fit's from a
    # line's logits: equal to rounding, which a probability of 1e-21 (a logit
    # gap of ~48) shows 1e-12 relatively.
    assert_allclose(warm.predict_proba(X), once.predict_proba(X), rtol=1e-12, atol=1e-15)
    assert warm.n_iter_ == 12
