import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning

from sknn import ShallowNNClassifier
from sknn._core.array_ops import inner
from sknn._core.loop import Stopping, TrainingLog, train
from sknn._core.objectives.linear import LinearObjective
from sknn._core.optimizers import OPTIMIZERS


def _optimizer(name, learning_rate):
    return OPTIMIZERS[name].build(
        learning_rate=learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-8
    )


def _data(n_samples=40, n_features=3, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n_samples, n_features)
    y = (X @ rng.randn(n_features) + 0.5 * rng.randn(n_samples) > 0).astype(float)
    return X, y[:, None]


def _train(X, Y, learning_rate=0.5, optimizer="gd", **kwargs):
    objective = LinearObjective("sigmoid", alpha=0.0)
    params = objective.init_params(X.shape[1], 1, None, X.dtype)
    log = TrainingLog()
    stopping = Stopping(
        kwargs.pop("max_iter", 20), kwargs.pop("tol", 1e-4), kwargs.pop("n_iter_no_change", 10)
    )
    reason = train(
        objective,
        params,
        _optimizer(optimizer, learning_rate),
        (X, Y, kwargs.pop("sample_weight", None)),
        log=log,
        stopping=stopping,
        rng=np.random.RandomState(0),
        **kwargs,
    )
    return reason, params, log, objective


def test_tol_none_runs_exactly_max_iter_epochs_without_warning():
    X, Y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reason, _, log, _ = _train(X, Y, tol=None, max_iter=37)
    assert reason == "max_iter"
    assert len(log.loss_curve) == 37


def test_full_batch_loss_curve_is_cost_before_each_update():
    X, Y = _data()
    _, params, log, objective = _train(X, Y, tol=None, max_iter=5)
    replay = objective.init_params(X.shape[1], 1, None, X.dtype)
    optimizer = _optimizer("gd", 0.5)
    for recorded in log.loss_curve:
        loss, grads = objective.loss_grad(replay, X, Y, None)
        assert loss == recorded
        optimizer.step(replay, grads)
    assert_array_equal(replay["W"], params["W"])
    assert log.loss_curve[0] == pytest.approx(np.log(2))


def test_full_batch_converges_where_the_relative_gradient_norm_is_below_tol():
    X, Y = _data()
    reason, params, log, objective = _train(X, Y, tol=1e-3, max_iter=5000)
    assert reason == "converged"

    def relative_gradient_norm(point):
        loss, grads = objective.loss_grad(point, X, Y, None)
        return np.sqrt(inner(grads, grads)) / loss

    # The returned weights are the point where the test held, not one step on.
    assert relative_gradient_norm(params) <= 1e-3
    assert objective.loss(params, X, Y, None) == log.loss_curve[-1] == log.best_loss
    # n - 1 steps reach the converged point; n - 2 steps the one before it.
    before = _train(X, Y, tol=None, max_iter=len(log.loss_curve) - 2)[1]
    assert relative_gradient_norm(before) > 1e-3


def test_mini_batches_stop_when_loss_stops_improving():
    X, Y = _data()
    reason, _, log, _ = _train(
        X, Y, tol=1e-2, n_iter_no_change=3, max_iter=500, batch_size=10, shuffle=False
    )
    assert reason == "converged"
    curve = np.array(log.loss_curve)
    # Each of the last 3 epochs failed to beat the best loss before it by tol.
    assert all(curve[k] > curve[:k].min() - 1e-2 for k in range(len(curve) - 3, len(curve)))
    assert len(curve) < 500
    assert log.best_loss == curve.min()


def test_convergence_warning_when_max_iter_ends_training_with_tol():
    X, Y = _data()
    with pytest.warns(ConvergenceWarning, match="maximum iterations \\(3\\)"):
        reason, *_ = _train(X, Y, tol=1e-8, max_iter=3)
    assert reason == "max_iter"


@pytest.mark.parametrize("optimizer", ["gd", "momentum", "adam"])
def test_divergence_keeps_last_finite_weights_and_names_learning_rate(optimizer):
    X, Y = _data()
    X = X * 100
    with pytest.warns(ConvergenceWarning, match=r"learning rate \(1e\+30\)"):
        reason, params, log, objective = _train(
            X, Y, learning_rate=1e30, optimizer=optimizer, tol=None
        )
    # Full batch halves the step from the best weights instead of giving up.
    assert reason in ("diverged", "max_iter")
    assert all(np.all(np.isfinite(p)) for p in params.values())
    assert objective.loss(params, X, Y, None) <= log.loss_curve[0]
    assert np.all(np.isfinite(log.loss_curve))


def test_non_finite_loss_stops_training():
    class NaNAfterTwoSteps(LinearObjective):
        calls = 0

        def loss_grad(self, params, X, Y, sample_weight):
            self.calls += 1
            loss, grads = super().loss_grad(params, X, Y, sample_weight)
            return (np.nan if self.calls > 2 else loss), grads

    X, Y = _data()
    objective = NaNAfterTwoSteps("sigmoid", 0.0)
    params = objective.init_params(3, 1, None, X.dtype)
    log = TrainingLog()
    with pytest.warns(ConvergenceWarning, match="diverged"):
        reason = train(
            objective,
            params,
            _optimizer("gd", 0.1),
            (X, Y, None),
            log=log,
            stopping=Stopping(10),
        )
    assert reason == "diverged"
    assert len(log.loss_curve) == 2


def test_validation_keeps_best_weights_and_records_its_curve():
    X, Y = _data(n_samples=60)
    X_val, Y_val = X[:20], 1 - Y[:20]  # adversarial split: training makes it worse
    reason, params, log, objective = _train(
        X[20:], Y[20:], tol=1e-4, n_iter_no_change=5, max_iter=200, validation=(X_val, Y_val, None)
    )
    assert reason == "early_stopping"
    assert len(log.validation_loss_curve) == len(log.loss_curve)
    best = min(log.validation_loss_curve)
    assert objective.loss(params, X_val, Y_val, None) == pytest.approx(best)
    assert log.best_loss == best


def test_mini_batch_epoch_loss_is_weighted_mean_of_batch_losses():
    X, Y = _data(n_samples=10)
    weights = np.arange(1.0, 11.0)
    objective = LinearObjective("sigmoid", 0.0)
    params = objective.init_params(3, 1, None, X.dtype)
    log = TrainingLog()
    train(
        objective,
        params,
        _optimizer("gd", 1e-300),
        (X, Y, weights),
        log=log,
        stopping=Stopping(1),
        batch_size=4,
        shuffle=False,
    )
    # With a negligible step every batch sees the initial weights: loss log 2.
    assert log.loss_curve[0] == pytest.approx(np.log(2))


@pytest.mark.parametrize("first_epochs", [150, 156])
def test_a_continued_fit_on_the_same_data_is_not_judged_by_the_noise_of_a_tiny_loss(
    first_epochs,
):
    # A warm start judges instability against its recent history, not against
    # its own first batch: measured from that batch, far lower, its last epoch
    # once looked unstable, and it went back to its best weights where one
    # uninterrupted fit of the same epochs did not.
    X, y = make_classification(
        n_samples=200,
        n_features=5,
        n_informative=3,
        n_redundant=0,
        n_classes=3,
        n_clusters_per_class=1,
        random_state=0,
    )
    params = dict(hidden_layer_size=8, batch_size=16, tol=None, random_state=0)
    continued = ShallowNNClassifier(max_iter=first_epochs, **params).fit(X, y)
    continued.set_params(warm_start=True, max_iter=3).fit(X, y)
    whole = ShallowNNClassifier(max_iter=first_epochs + 3, **params).fit(X, y)
    assert continued.loss_curve_ == whole.loss_curve_
    for got, expected in zip(
        continued.coefs_ + continued.intercepts_, whole.coefs_ + whole.intercepts_
    ):
        assert_array_equal(got, expected)


# ------------------------------------- the guard judges against recent history
def _online_estimators():
    from sklearn.linear_model import SGDClassifier
    from sklearn.neural_network import MLPClassifier

    from sknn import LogisticRegressionGD, SoftmaxGD

    return {
        "SGDClassifier": SGDClassifier(loss="log_loss", random_state=0),
        "MLPClassifier": MLPClassifier(random_state=0),
        "LogisticRegressionGD": LogisticRegressionGD(),
        "SoftmaxGD": SoftmaxGD(),
        "ShallowNNClassifier": ShallowNNClassifier(random_state=0),
    }


def test_partial_fit_follows_flipped_labels_as_fast_as_the_peers():
    # Trained on some labels, then streamed the opposite ones: online learning
    # must follow, not refuse every update as 'diverged' against the first
    # epoch ever trained (which it once did, staying at 3% accuracy).
    X, y = make_classification(
        n_samples=500, n_features=10, n_informative=5, class_sep=2.0, random_state=0
    )
    scores = {}
    for name, estimator in _online_estimators().items():
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            for _ in range(20):
                estimator.partial_fit(X, y, classes=[0, 1])
            for _ in range(50):
                estimator.partial_fit(X, 1 - y)
        assert not [w for w in record if "diverged" in str(w.message)], name
        scores[name] = estimator.score(X, 1 - y)
    peers = max(scores["SGDClassifier"], scores["MLPClassifier"])
    for name in ("LogisticRegressionGD", "SoftmaxGD", "ShallowNNClassifier"):
        assert scores[name] >= 0.95, scores
        assert scores[name] >= peers - 0.01, scores


def _drifting_stream(n_calls=100, n_samples=200, seed=0):
    """Two Gaussian classes whose means turn by half a circle over the stream."""
    rng = np.random.RandomState(seed)
    for t in range(n_calls):
        angle = np.pi * t / n_calls
        y = rng.randint(2, size=n_samples)
        mean = 2.0 * np.array([np.cos(angle), np.sin(angle)])
        yield rng.standard_normal((n_samples, 2)) + np.where(y[:, None] == 1, mean, -mean), y


def test_partial_fit_follows_a_gradual_drift_as_well_as_the_peers():
    scores = {}
    for name, estimator in _online_estimators().items():
        accuracies = []
        for t, (X, y) in enumerate(_drifting_stream()):
            if t:  # scored on each new batch before training on it
                accuracies.append(estimator.score(X, y))
            estimator.partial_fit(X, y, classes=[0, 1])
        scores[name] = np.mean(accuracies[-50:])
    peers = max(scores["SGDClassifier"], scores["MLPClassifier"])
    for name in ("LogisticRegressionGD", "SoftmaxGD", "ShallowNNClassifier"):
        assert scores[name] >= 0.95, scores
        assert scores[name] >= peers - 0.01, scores


def test_a_warm_start_on_other_data_is_judged_from_its_own_start():
    # A warm fit on a different problem starts at a higher loss than the first
    # fit's: that is new data, not instability (it once stopped 'diverged').
    from sknn import LogisticRegressionGD

    for Estimator in (ShallowNNClassifier, LogisticRegressionGD):
        for seed in range(3):
            X1, y1 = make_classification(n_samples=300, n_features=10, random_state=seed)
            X2, y2 = make_classification(n_samples=300, n_features=10, random_state=seed + 100)
            warm = Estimator(warm_start=True, random_state=0).fit(X1, y1)
            with warnings.catch_warnings(record=True) as record:
                warnings.simplefilter("always")
                warm.fit(X2, y2)
            assert warm.stop_reason_ == "converged"
            assert not [w for w in record if "diverged" in str(w.message)]
            assert warm.score(X2, y2) >= Estimator(random_state=0).fit(X2, y2).score(X2, y2) - 0.02


class _StalledAtOnce:
    """Gradient descent that reports, after its first step, that it can make no progress."""

    name, learning_rate, stalled = "gd", 0.1, False

    def evaluation_point(self, params):
        return params

    def step(self, params, grads, loss=None, problem=None):
        self.stalled = True

    def get_state(self):
        return {}

    def set_state(self, state):
        pass


def test_a_stalled_fit_gives_the_models_advice_instead_of_a_tol_it_cannot_reach():
    # Separable data without a penalty: the minimum lies at infinity, and no
    # tol helps (the warning once advised "Set tol to 5e+01 or more").
    X, Y = _data()
    objective = LinearObjective("sigmoid", alpha=0.0)
    params = objective.init_params(3, 1, None, X.dtype)
    advice = "The classes may be separable: set alpha > 0."
    with pytest.warns(ConvergenceWarning) as record:
        reason = train(
            objective,
            params,
            _StalledAtOnce(),
            (X, Y, None),
            log=TrainingLog(),
            stopping=Stopping(10, tol=1e-12),
            advice=lambda reason, loss: advice,
        )
    assert reason == "stalled"
    message = str(record[0].message)
    assert message.endswith(advice) and "Set tol" not in message
