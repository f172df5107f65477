"""Training data as fit sees it: validation, weights, labels, the split (sknn/_preparation.py)."""

import tracemalloc
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from conftest import OPTIMIZERS, _data, make, parametrize_estimators
from numpy.testing import assert_allclose, assert_array_equal

from sknn import LogisticRegressionGD, ShallowNNClassifier
from sknn._core.objectives.network import _CHUNK_ROWS


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


# -------------------------------------------------- the early-stopping split
@parametrize_estimators
def test_early_stopping_needs_two_members_per_class(Estimator):
    X, y = _data()
    y[0] = 9  # a class with one member cannot be stratified
    with pytest.raises(ValueError, match="early_stopping could not hold out"):
        make(Estimator, early_stopping=True).fit(X, y)


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


# ------------------------------------------------------------------ numerics
@parametrize_estimators
def test_overflowing_x_gets_a_clear_error_not_nan(Estimator):
    X, y = _data()
    huge = np.finfo(np.float64).max * np.random.RandomState(0).uniform(0, 1, X.shape)
    with pytest.raises(ValueError, match="Scale the data"):
        make(Estimator).fit(huge, y)
    fitted = make(Estimator, max_iter=5, tol=None).fit(X, y)
    with pytest.raises(ValueError, match="Scale the data"):
        fitted.predict_proba(huge)


# --------------------------------------------------------------------- memory
def _size(X):
    return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes if sp.issparse(X) else X.nbytes


def _peak_extra_memory(estimator, X, y, **fit_params):
    """The peak memory fit allocates beyond its inputs, NumPy's arrays included, in bytes."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter=2 stops short of tol
        tracemalloc.start()
        try:
            estimator.fit(X, y, **fit_params)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()


@parametrize_estimators
def test_fit_never_copies_x(Estimator):
    # Rows many times the network's chunk and 100 features: the fit's arrays of
    # one number per row (logits, weights) stay small next to X, and any copy
    # of X would exceed the margin.
    rng = np.random.default_rng(0)
    n_samples = 100_000
    X = rng.standard_normal((n_samples, 100))
    y = rng.integers(0, 3, n_samples)
    X_csr = sp.random(n_samples, 100, density=0.5, format="csr", random_state=0)
    weights = np.ones(n_samples)
    weights[::10] = 0

    def peak(X, fit_params=(), **params):
        estimator = make(Estimator, max_iter=2, **params)
        return _peak_extra_memory(estimator, X, y, **dict(fit_params))

    dense = peak(X)
    # The network slices a CSR batch into chunks of rows, and SciPy copies a
    # slice's rows: one chunk's share of X at a time, never the whole.
    chunk = _CHUNK_ROWS / n_samples if Estimator is ShallowNNClassifier else 0.0
    for X_case, params, copied in [
        (X_csr, {}, chunk),
        # The validation rows are copied (evaluated every epoch): that fraction only.
        (X, {"early_stopping": True, "validation_fraction": 0.1}, 0.1),
        (X, {"fit_params": {"sample_weight": weights}}, 0.0),
    ]:
        assert peak(X_case, **params) <= dense + (copied + 0.1) * _size(X_case), params
