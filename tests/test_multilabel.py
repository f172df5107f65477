"""Multilabel indicator y for LogisticRegressionGD and ShallowNNClassifier (issue 14).

A multilabel fit is one independent sigmoid unit per label on the summed
binary log-loss: the same training loop, objectives and data path as the
single-label fits, with the targets being the indicator matrix itself.
"""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import OPTIMIZERS, make
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning, NotFittedError
from sklearn.model_selection import train_test_split
from sklearn.multioutput import MultiOutputClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import MultiLabelBinarizer, StandardScaler

from sknn import LogisticRegressionGD, ShallowNNClassifier, SoftmaxGD, check_gradient
from sknn.reference import logistic_loss_grad, shallow_nn_loss_grad

# The estimators that take a multilabel y (SoftmaxGD refuses it).
ESTIMATORS = [LogisticRegressionGD, ShallowNNClassifier]
parametrize_estimators = pytest.mark.parametrize("Estimator", ESTIMATORS, ids=lambda E: E.__name__)


def _data(n_samples=60, n_labels=4, n_features=5, seed=0):
    X, Y = make_multilabel_classification(
        n_samples=n_samples,
        n_features=n_features,
        n_classes=n_labels,
        allow_unlabeled=True,
        random_state=seed,
    )
    return StandardScaler().fit_transform(X), Y


def _params(estimator):
    if isinstance(estimator, ShallowNNClassifier):
        return [*estimator.coefs_, *estimator.intercepts_]
    return [estimator.coef_, estimator.intercept_]


def _quiet_fit(estimator, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(*args, **kwargs)


# ------------------------------------------------------------ output formats
@parametrize_estimators
@pytest.mark.parametrize("n_labels", [2, 3, 5])
def test_outputs_have_the_multioutput_shapes_and_dtypes(Estimator, n_labels):
    """As MLPClassifier: classes_ = arange(n_labels), an int64 indicator from predict."""
    X, Y = _data(n_labels=n_labels)
    model = _quiet_fit(make(Estimator), X, Y)
    assert_array_equal(model.classes_, np.arange(n_labels))
    assert model.multilabel_ is True
    n = len(X)
    # Two labels are two sigmoid units, not the binary single-unit layer.
    n_units = (
        model.coef_.shape[0] if Estimator is LogisticRegressionGD else model.coefs_[1].shape[1]
    )
    assert n_units == n_labels

    y_pred = model.predict(X)
    proba = model.predict_proba(X)
    log_proba = model.predict_log_proba(X)
    scores = model.decision_function(X)
    assert y_pred.shape == proba.shape == log_proba.shape == scores.shape == (n, n_labels)
    assert y_pred.dtype == np.int64 and isinstance(y_pred, np.ndarray)
    assert proba.dtype == log_proba.dtype == scores.dtype == np.float64
    assert set(np.unique(y_pred)) <= {0, 1}
    # Independent probabilities: each the sigmoid of its logit, rows not normalised.
    assert_allclose(proba, 1 / (1 + np.exp(-scores)), rtol=1e-12)
    assert not np.allclose(proba.sum(axis=1), 1.0)
    # (np.log of a probability near 1 is the less precise one: absolute tolerance.)
    assert_allclose(log_proba, np.log(proba), rtol=1e-10, atol=1e-15)
    assert_array_equal(y_pred, (scores > 0).astype(int))
    assert_array_equal(y_pred, (proba > 0.5).astype(int))
    # score is the subset accuracy, as for every scikit-learn multilabel classifier.
    assert model.score(X, Y) == np.mean(np.all(y_pred == Y, axis=1))


@parametrize_estimators
def test_predict_log_proba_stays_finite_where_probabilities_round_off(Estimator):
    X, Y = _data()
    model = _quiet_fit(make(Estimator, alpha=0.0), X, Y)
    far = X[:3] * 1e4  # logits of size ~1e4: sigmoid rounds to exactly 0 or 1
    log_proba = model.predict_log_proba(far)
    assert np.all(np.isfinite(log_proba))
    proba = model.predict_proba(far)
    assert np.any(proba == 0.0) or np.any(proba == 1.0)
    assert np.all(log_proba <= 0)


def test_single_label_models_are_not_multilabel():
    X, Y = _data()
    model = LogisticRegressionGD().fit(X, Y[:, 0])
    assert model.multilabel_ is False
    assert model.predict(X).shape == (len(X),)
    with pytest.raises(NotFittedError):
        LogisticRegressionGD().multilabel_  # noqa: B018


# -------------------------------------------------------------- y variants
@parametrize_estimators
def test_sparse_bool_and_list_indicators_give_the_same_fit(Estimator):
    X, Y = _data()
    label_sets = [np.flatnonzero(row).tolist() for row in Y]
    sparse_Y = MultiLabelBinarizer(classes=range(Y.shape[1]), sparse_output=True)
    sparse_Y = sparse_Y.fit_transform(label_sets)
    assert sp.issparse(sparse_Y)
    params = dict(tol=None, max_iter=15)
    dense = make(Estimator, **params).fit(X, Y)
    for variant in (sparse_Y, sp.csc_matrix(Y), Y.astype(bool), Y.astype(float), Y.tolist()):
        other = make(Estimator, **params).fit(X, variant)
        assert_array_equal(other.classes_, dense.classes_)
        assert_allclose(other.loss_curve_, dense.loss_curve_, rtol=1e-12)
        assert_allclose(other.predict_proba(X), dense.predict_proba(X), rtol=1e-12)
        assert other.predict(X).dtype == np.int64


@parametrize_estimators
def test_a_constant_label_column_is_just_a_sigmoid(Estimator):
    X, Y = _data()
    Y[:, 1] = 0
    Y[:, 2] = 1
    model = _quiet_fit(make(Estimator), X, Y)
    y_pred = model.predict(X)
    assert_array_equal(y_pred[:, 1], 0)
    assert_array_equal(y_pred[:, 2], 1)
    # Every label empty or every label set is fine too.
    _quiet_fit(make(Estimator), X, np.zeros_like(Y))


@parametrize_estimators
def test_a_column_vector_is_single_label_y_with_a_warning(Estimator):
    X, Y = _data()
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        model = _quiet_fit(make(Estimator), X, Y[:, :1])
    assert model.multilabel_ is False
    assert model.predict(X).shape == (len(X),)


@pytest.mark.parametrize(
    "y_change, match",
    [
        (lambda Y: Y * 2, "only 0 and 1"),
        (lambda Y: 2 * Y - 1, "only 0 and 1"),
        (lambda Y: Y + np.arange(Y.shape[1]), "multiclass-multioutput"),
        (lambda Y: Y + 0.5, "Unknown label type"),
    ],
    ids=["zero-two", "minus-one-one", "multiclass-multioutput", "continuous"],
)
@parametrize_estimators
def test_2d_y_that_is_not_an_indicator_is_refused(Estimator, y_change, match):
    X, Y = _data()
    with pytest.raises(ValueError, match=match):
        make(Estimator).fit(X, y_change(Y))


def test_softmax_refuses_multilabel_y():
    X, Y = _data()
    for y in (Y, sp.csr_matrix(Y)):
        with pytest.raises(ValueError, match="SoftmaxGD does not support a 2-D y.*softmax"):
            SoftmaxGD().fit(X, y)
    with pytest.raises(ValueError, match="SoftmaxGD does not support"):
        SoftmaxGD().partial_fit(X, Y, classes=np.arange(Y.shape[1]))


@parametrize_estimators
@pytest.mark.parametrize("class_weight", [{0: 2.0}, "balanced"])
def test_class_weight_is_refused_for_multilabel_y(Estimator, class_weight):
    X, Y = _data()
    estimator = make(Estimator, class_weight=class_weight)
    with pytest.raises(ValueError, match="class_weight.*not supported with a multilabel y"):
        estimator.fit(X, Y)
    assert not hasattr(estimator, "classes_")


# ------------------------------------------------------------- loss and twins
@parametrize_estimators
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("fitted", [False, True])
def test_gradient_matches_finite_differences(Estimator, sparse, weighted, fitted):
    X, Y = _data(n_samples=25, n_labels=3)
    if sparse:
        X = sp.csr_matrix(np.where(np.abs(X) < 0.5, 0.0, X))
    sw = np.random.RandomState(0).uniform(0.2, 3, size=len(Y)) if weighted else None
    if weighted:
        sw[2] = 0.0
    estimator = (
        make(Estimator, hidden_layer_size=5, alpha=0.05)
        if Estimator is ShallowNNClassifier
        else make(Estimator, alpha=0.05)
    )
    if fitted:  # part-way: away from the minimum, where the gradient vanishes
        estimator.set_params(max_iter=3, tol=None, learning_rate=0.05, optimizer="gd")
        estimator.fit(X, Y, sample_weight=sw)
    assert check_gradient(estimator, X, Y, sample_weight=sw) < 1e-7


def test_check_gradient_of_a_multilabel_fit_refuses_1d_y():
    X, Y = _data()
    model = LogisticRegressionGD(max_iter=3, tol=None).fit(X, Y)
    with pytest.raises(ValueError, match="fitted on a multilabel indicator matrix"):
        check_gradient(model, X, Y[:, 0])


@parametrize_estimators
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_vectorized_loss_equals_the_loop_twin(Estimator, weighted, alpha):
    """Through the estimator's own data path: its encoding of y, its objective."""
    X, Y = _data(n_samples=12, n_labels=3)
    sw = np.linspace(0.5, 2.5, len(Y)) if weighted else None
    if weighted:
        sw[1] = 0.0
    if Estimator is ShallowNNClassifier:
        estimator = ShallowNNClassifier(
            hidden_layer_size=4, activation="tanh", alpha=alpha, random_state=0
        )
    else:
        estimator = LogisticRegressionGD(alpha=alpha)
    objective, params, X_, Y_, sw_ = estimator._gradient_problem(X, Y, sw)
    if Estimator is LogisticRegressionGD:
        params = {"W": np.random.RandomState(1).randn(*params["W"].shape), "b": np.ones(3)}
    loss, grads = objective.loss_grad(params, X_, Y_, sw_)
    # Rows of weight 0 are kept, with weight 0: the reference drops them.
    keep = slice(None) if sw is None else sw > 0
    assert_array_equal(Y_, Y)
    sw_ = None if sw is None else sw_[keep]
    if Estimator is ShallowNNClassifier:
        twin_loss, twin = shallow_nn_loss_grad(
            params, X[keep], Y[keep], "tanh", sw_, alpha, multilabel=True
        )
    else:
        twin_loss, twin = logistic_loss_grad(params["W"], params["b"], X[keep], Y[keep], sw_, alpha)
    assert loss == pytest.approx(twin_loss, rel=1e-10)
    for name in twin:
        assert_allclose(grads[name], twin[name], rtol=1e-10, atol=1e-12)


def test_logistic_regression_equals_one_binary_fit_per_label():
    """The multilabel objective is the sum of the per-label binary objectives.

    So its minimiser is the per-label minimisers side by side. Both fits stop
    where ||grad J|| <= tol * J; with the L2 term J is alpha-strongly convex
    in W, so each is within ||grad J|| / alpha ~ 1e-8 * 2.5 / 0.1 = 2.5e-7 of
    the minimum (the intercepts, unpenalised, have the loss's own curvature,
    larger here). Two such fits agree to ~5e-7: atol 1e-6. Measured: ~3e-8.
    """
    X, Y = _data(n_samples=200, n_features=8)
    params = dict(alpha=0.1, tol=1e-8, max_iter=100_000)  # full batch, default optimizer
    joint = LogisticRegressionGD(**params).fit(X, Y)
    assert joint.stop_reason_ == "converged"
    separate = [LogisticRegressionGD(**params).fit(X, Y[:, k]) for k in range(Y.shape[1])]
    assert all(model.stop_reason_ == "converged" for model in separate)
    assert_allclose(joint.coef_, np.vstack([m.coef_ for m in separate]), rtol=0, atol=1e-6)
    assert_allclose(
        joint.intercept_, np.concatenate([m.intercept_ for m in separate]), rtol=0, atol=1e-6
    )

    # The same as MultiOutputClassifier's one fit per label, in its formats.
    per_label = MultiOutputClassifier(LogisticRegressionGD(**params)).fit(X, Y)
    assert_array_equal(joint.predict(X), per_label.predict(X))
    assert joint.predict(X).dtype == per_label.predict(X).dtype
    stacked = np.column_stack([p[:, 1] for p in per_label.predict_proba(X)])
    assert_allclose(joint.predict_proba(X), stacked, rtol=0, atol=1e-6)
    assert_array_equal(joint.classes_, np.arange(Y.shape[1]))


@pytest.mark.parametrize(
    "Estimator, params",
    [(LogisticRegressionGD, {}), (ShallowNNClassifier, {"random_state": 0})],
    ids=["LogisticRegressionGD", "ShallowNNClassifier"],
)
def test_subset_accuracy_is_that_of_mlp(Estimator, params):
    X, Y = make_multilabel_classification(
        n_samples=1000, n_features=20, n_classes=5, random_state=0
    )
    X_train, X_test, Y_train, Y_test = train_test_split(X, Y, test_size=0.3, random_state=0)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    mlp = MLPClassifier(random_state=0, max_iter=2000).fit(X_train, Y_train)
    assert mlp.n_iter_ < 2000  # converged
    model = _quiet_fit(Estimator(**params), X_train, Y_train)
    # Measured: MLP 0.327, LogisticRegressionGD 0.340, ShallowNNClassifier 0.317.
    assert model.score(X_test, Y_test) >= mlp.score(X_test, Y_test) - 0.02


# ------------------------------------------------------ weights and dtypes
@parametrize_estimators
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_sample_weight_equals_repeated_rows(Estimator, sparse):
    X, Y = _data()
    weights = np.random.RandomState(1).randint(0, 4, size=len(Y))
    repeated = np.repeat(np.arange(len(Y)), weights)
    to_input = sp.csr_matrix if sparse else np.asarray
    params = dict(tol=None, max_iter=30)
    weighted = make(Estimator, **params).fit(to_input(X), Y, sample_weight=weights)
    expanded = make(Estimator, **params).fit(to_input(X[repeated]), Y[repeated])
    assert_allclose(weighted.predict_proba(X), expanded.predict_proba(X), rtol=1e-9)
    assert_allclose(weighted.loss_curve_, expanded.loss_curve_, rtol=1e-10)


@parametrize_estimators
@pytest.mark.parametrize("batch_size", [None, 16])
def test_float32_is_trained_and_predicted_in_float32(Estimator, batch_size):
    X, Y = _data()
    model = make(Estimator, batch_size=batch_size, max_iter=30, tol=None)
    model.fit(X.astype(np.float32), Y)
    assert all(p.dtype == np.float32 for p in _params(model))
    for method in ("predict_proba", "predict_log_proba", "decision_function"):
        assert getattr(model, method)(X.astype(np.float32)).dtype == np.float32
    assert model.predict(X.astype(np.float32)).dtype == np.int64
    if batch_size is None:  # (the default mini-batch momentum is chaotic here, 1-D y too)
        # Mid-way, float32 rounding can flip a line-search decision, which moves
        # the iterates apart; where both fits run to convergence (the linear
        # model's defaults), they end at the same minimum.
        converge = Estimator is LogisticRegressionGD
        params = {} if converge else dict(max_iter=30, tol=None)
        model = make(Estimator, **params).fit(X.astype(np.float32), Y)
        reference = make(Estimator, **params).fit(X, Y)
        if converge:
            assert model.stop_reason_ == reference.stop_reason_ == "converged"
        assert_allclose(model.predict_proba(X), reference.predict_proba(X), atol=1e-3)


@parametrize_estimators
@pytest.mark.parametrize("sparse_format", ["csr", "csc"])
def test_sparse_X_gives_the_dense_result(Estimator, sparse_format):
    X, Y = _data()
    X[np.abs(X) < 0.5] = 0
    X_sparse = sp.csr_matrix(X).asformat(sparse_format)
    params = dict(tol=None, max_iter=20, alpha=0.01)
    dense = make(Estimator, **params).fit(X, Y)
    sparse = make(Estimator, **params).fit(X_sparse, Y)
    assert_allclose(sparse.loss_curve_, dense.loss_curve_, rtol=1e-10)
    assert_allclose(sparse.predict_proba(X_sparse), dense.predict_proba(X), rtol=1e-9)


# ------------------------------------------------------ continuing training
@parametrize_estimators
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_partial_fit_n_times_equals_fit_with_max_iter_n(Estimator, optimizer):
    X, Y = _data()
    fitted = make(Estimator, optimizer=optimizer, max_iter=7, tol=None).fit(X, Y)
    incremental = make(Estimator, optimizer=optimizer)
    labels = np.arange(Y.shape[1])
    incremental.partial_fit(X, Y, classes=labels)
    for _ in range(6):
        incremental.partial_fit(X, sp.csr_matrix(Y))  # classes optional after the first call
    assert_allclose(incremental.loss_curve_, fitted.loss_curve_, rtol=1e-12)
    assert_allclose(incremental.predict_proba(X), fitted.predict_proba(X), rtol=1e-12)
    assert incremental.n_iter_ == 7
    assert incremental.multilabel_ is True


@parametrize_estimators
def test_partial_fit_fixes_the_labels_on_the_first_call(Estimator):
    X, Y = _data()
    with pytest.raises(ValueError, match="classes must be passed"):
        make(Estimator).partial_fit(X, Y)
    # classes are the label (column) indices, as for MLPClassifier.
    for wrong in ([0, 1], np.arange(5), ["a", "b", "c", "d"]):
        with pytest.raises(ValueError, match="classes=np.arange\\(n_labels\\)"):
            make(Estimator).partial_fit(X, Y, classes=wrong)
    model = make(Estimator).partial_fit(X, Y, classes=range(4))
    with pytest.raises(ValueError, match="3 columns"):
        model.partial_fit(X, Y[:, :3])
    with pytest.raises(ValueError, match="not the same"):
        model.partial_fit(X, Y, classes=range(5))
    # 1-D labels that happen to be in classes_ are still the wrong kind of y.
    with pytest.raises(ValueError, match="fitted on a multilabel indicator matrix"):
        model.partial_fit(X, Y.argmax(axis=1))
    single = make(Estimator).partial_fit(X, Y.argmax(axis=1), classes=range(4))
    with pytest.raises(ValueError, match="fitted on 1-D class labels"):
        single.partial_fit(X, Y)
    # The failed calls changed nothing.
    assert model.n_iter_ == single.n_iter_ == 1


@parametrize_estimators
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("batch_size", [None, 7])
def test_warm_start_a_plus_b_equals_fit_a_plus_b(Estimator, optimizer, batch_size):
    X, Y = _data()
    params = dict(optimizer=optimizer, batch_size=batch_size, tol=None, random_state=3)
    if batch_size and optimizer in ("momentum", "nesterov"):
        # 'auto' is the full batch's 1/L: with momentum on batches of 7 it is
        # unstable (single-label y too), and the instability guard, which starts
        # afresh in each fit, would make a warm start differ from one fit.
        params["learning_rate"] = 0.05
    once = make(Estimator, max_iter=12, **params).fit(X, Y)
    warm = make(Estimator, max_iter=5, warm_start=True, **params).fit(X, Y)
    warm.set_params(max_iter=7).fit(X, Y)
    assert_allclose(warm.loss_curve_, once.loss_curve_, rtol=1e-12)
    assert_allclose(warm.predict_proba(X), once.predict_proba(X), rtol=1e-12)
    assert warm.n_iter_ == 12


@parametrize_estimators
def test_warm_start_refuses_the_other_kind_of_y(Estimator):
    X, Y = _data()
    model = make(Estimator, warm_start=True, max_iter=3, tol=None).fit(X, Y)
    with pytest.raises(ValueError, match="warm_start continues a fit"):
        model.fit(X, Y.argmax(axis=1))
    with pytest.raises(ValueError, match="same classes"):
        model.fit(X, Y[:, :3])
    assert model.n_iter_ == 3
    # A cold start may change the kind of y.
    model.set_params(warm_start=False).fit(X, Y.argmax(axis=1))
    assert model.multilabel_ is False
    model.fit(X, Y)
    assert model.multilabel_ is True


@parametrize_estimators
def test_early_stopping_holds_out_a_random_split(Estimator):
    X, Y = _data(n_samples=80)
    params = dict(early_stopping=True, validation_fraction=0.25, max_iter=40, random_state=0)
    model = _quiet_fit(make(Estimator, **params), X, Y)
    assert len(model.validation_loss_curve_) == model.n_iter_
    assert model.best_loss_ == min(model.validation_loss_curve_)
    again = _quiet_fit(make(Estimator, **params), X, Y)
    assert_allclose(again.predict_proba(X), model.predict_proba(X), rtol=1e-12)
    # A label set that occurs once cannot be stratified, and needs not be.
    Y_rare = Y.copy()
    Y_rare[0] = 1
    _quiet_fit(make(Estimator, **params), X, Y_rare)


# --------------------------------------------------- state, pickle, callbacks
@parametrize_estimators
@pytest.mark.parametrize("n_labels", [2, 4])
def test_state_round_trips_and_schema_gives_the_shapes(Estimator, n_labels):
    X, Y = _data(n_labels=n_labels)
    model = make(Estimator, max_iter=5, tol=None, optimizer="adam").fit(X, Y)
    state = model._get_state()
    assert state["multilabel"] is True
    schema = model._state_schema(X.shape[1], n_labels, multilabel=True)
    for name, shape in schema["weights"].items():
        value = state["attributes"][name]
        shapes = [a.shape for a in value] if isinstance(shape, list) else value.shape
        assert shapes == ([tuple(s) for s in shape] if isinstance(shape, list) else tuple(shape))
    restored = type(model)(**model.get_params())
    restored._set_state(state)
    assert restored.multilabel_ is True
    assert_array_equal(restored.predict(X), model.predict(X))
    assert_allclose(restored.predict_proba(X), model.predict_proba(X), rtol=0)
    # Continuing from the restored state is continuing the fit.
    model.partial_fit(X, Y)
    restored.partial_fit(X, Y)
    assert_allclose(restored.predict_proba(X), model.predict_proba(X), rtol=0)
    # A single-label state is as before: no flag.
    single = make(Estimator, max_iter=2, tol=None).fit(X, Y[:, 0])
    assert "multilabel" not in single._get_state()
    restored._set_state(single._get_state())
    assert restored.multilabel_ is False


@parametrize_estimators
def test_pickle_round_trip(Estimator):
    X, Y = _data()
    model = make(Estimator, max_iter=5, tol=None).fit(X, Y)
    loaded = pickle.loads(pickle.dumps(model))
    assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.multilabel_ is True


@parametrize_estimators
def test_epoch_models_seen_by_callbacks_predict_the_indicator(Estimator):
    pytest.importorskip("sklearn.callback", reason="needs scikit-learn >= 1.9")
    X, Y = _data()
    seen = []

    class Watch:
        def setup(self, estimator, context):
            pass

        def on_fit_task_begin(self, estimator, context):
            pass

        def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
            if context.task_name == "epoch":
                seen.append(fitted_estimator.predict(X[:3]).shape)
            return False

        def teardown(self, estimator, context):
            pass

    # First fitted on 1-D y: the epoch models of the multilabel refit must not
    # predict as the previous fit did.
    model = make(Estimator, max_iter=3, tol=None).fit(X, Y[:, 0])
    model.set_callbacks(Watch()).fit(X, Y)
    assert seen == [(3, Y.shape[1])] * 3


def test_tags_declare_multilabel_support_so_the_common_checks_exercise_it():
    from sklearn.utils import get_tags

    assert get_tags(LogisticRegressionGD()).classifier_tags.multi_label
    assert get_tags(ShallowNNClassifier()).classifier_tags.multi_label
    assert not get_tags(SoftmaxGD()).classifier_tags.multi_label
