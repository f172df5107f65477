"""What a fit leaves behind, and how a warm start continues from it (sknn/_estimator/state.py)."""

import copy

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


@parametrize_estimators
@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_a_continued_fit_trains_on_the_layout_of_a_fresh_one(Estimator, optimizer):
    # Weights and optimizer state in another memory layout than a fresh fit
    # makes (as a file loader may leave them) continue exactly as the original:
    # BLAS products can round differently on differently ordered operands.
    X, y = _data()
    model = make(Estimator, optimizer=optimizer, max_iter=4, tol=None, warm_start=True)
    model.fit(X, y)
    relaid = copy.deepcopy(model)
    state = relaid._optimizer_state["state"]
    for key, arrays in state.items():
        if isinstance(arrays, dict):
            state[key] = {name: _other_layout(a) for name, a in arrays.items()}
    weights = relaid._weight_attributes
    for name in weights:
        value = getattr(relaid, name)
        setattr(
            relaid,
            name,
            [_other_layout(a) for a in value] if isinstance(value, list) else _other_layout(value),
        )
    model.fit(X, y)
    relaid.fit(X, y)
    for name in weights:
        ours, theirs = getattr(model, name), getattr(relaid, name)
        for a, b in zip(*(v if isinstance(v, list) else [v] for v in (ours, theirs))):
            np.testing.assert_array_equal(a, b)
    assert model.loss_curve_ == relaid.loss_curve_


def _other_layout(array):
    """``array`` copied into the other memory layout (2-D; others as they are)."""
    if array.ndim < 2:
        return array.copy()
    return np.ascontiguousarray(array) if array.flags.f_contiguous else np.asfortranarray(array)


@parametrize_linear
@pytest.mark.parametrize("optimizer", ["cg", "lbfgs", "auto"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_linear_line_search_warm_start_a_plus_b_equals_fit_a_plus_b(Estimator, optimizer, weighted):
    # Badly scaled, uncentred features.
    X, y = _data()
    X = X * np.logspace(-2, 2, X.shape[1]) + 1.0
    weights = np.random.RandomState(0).uniform(0.5, 2.0, len(y)) if weighted else None
    params = dict(optimizer=optimizer, tol=None, random_state=3)
    once = make(Estimator, max_iter=12, **params).fit(X, y, sample_weight=weights)
    warm = make(Estimator, max_iter=5, warm_start=True, **params).fit(X, y, sample_weight=weights)
    state = warm._optimizer_state
    if optimizer == "cg":
        assert state["name"] == "cg" and set(state["state"]) == {
            "direction",
            "previous_gradient",
            "previous_step",
            "previous_slope",
        }
    else:
        # Five steps, five pairs (step, gradient change), oldest first.
        assert state["name"] == "lbfgs"
        assert set(state["state"]) == {"steps", "gradient_changes"}
        assert state["state"]["steps"]["W"].shape[0] == 5
    warm.set_params(max_iter=7).fit(X, y, sample_weight=weights)
    assert_allclose(warm.loss_curve_, once.loss_curve_, rtol=1e-12)
    # Equal to rounding, not exactly: the continued fit's first gradient comes
    # from X, the single fit's from the line's logits (a probability of 1e-21,
    # a logit gap of ~48, shows that rounding 1e-12 relatively).
    assert_allclose(warm.predict_proba(X), once.predict_proba(X), rtol=1e-12, atol=1e-15)
    assert warm.n_iter_ == 12
