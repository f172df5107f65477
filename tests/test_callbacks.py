"""Watching and steering training: callbacks, Ctrl-C, verbose (sknn/_estimator/callbacks.py)."""

import os
import signal
import subprocess
import sys
import threading
import time
import warnings

import numpy as np
import pytest
from conftest import ESTIMATORS, make
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import sknn
from sknn import LogisticRegressionGD, ShallowNNClassifier, SoftmaxGD

callback_api = pytest.importorskip("sklearn.callback", reason="needs scikit-learn >= 1.9")

parametrize_estimators = pytest.mark.parametrize("Estimator", ESTIMATORS, ids=lambda E: E.__name__)


def _data(n_samples=100, n_classes=3, seed=0):
    return make_classification(
        n_samples=n_samples,
        n_features=5,
        n_informative=3,
        n_redundant=0,
        n_classes=n_classes,
        n_clusters_per_class=1,
        random_state=seed,
    )


def _params(estimator):
    if hasattr(estimator, "coefs_"):
        return [*estimator.coefs_, *estimator.intercepts_]
    return [estimator.coef_, estimator.intercept_]


class Recorder:
    """A FitCallback recording each epoch's end; may stop or interrupt at an epoch.

    ``stop_at`` returns True from the end of that epoch; ``interrupt_at``
    raises KeyboardInterrupt, as skorch's EarlyStopping does, at the
    ``interrupt_when`` ('begin' or 'end') of that epoch (epochs count from 1).
    """

    def __init__(self, stop_at=None, interrupt_at=None, interrupt_when="end"):
        self.stop_at = stop_at
        self.interrupt_at = interrupt_at
        self.interrupt_when = interrupt_when
        self.begun = []
        self.ended = []

    def setup(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        if context.task_name == "epoch":
            self.begun.append(context.task_id + 1)
            if self.interrupt_when == "begin" and self.interrupt_at == context.task_id + 1:
                raise KeyboardInterrupt

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        if context.task_name != "epoch":
            return False
        epoch = context.task_id + 1
        self.ended.append(fitted_estimator)
        if self.interrupt_when == "end" and self.interrupt_at == epoch:
            raise KeyboardInterrupt
        return epoch == self.stop_at

    def teardown(self, estimator, context):
        pass


class PropagatedRecorder(Recorder):
    """The same, auto-propagated from a meta-estimator to every nested estimator."""

    max_propagation_depth = None


# ------------------------------------------------------------ callback API
@parametrize_estimators
def test_a_callback_sees_one_task_per_epoch_with_the_model_of_that_epoch(Estimator):
    X, y = _data()
    recorder = Recorder()
    # A smooth network (relu's kinks keep its gradient from vanishing) that converges.
    smooth = {"activation": "tanh"} if Estimator is ShallowNNClassifier else {}
    model = make(Estimator, tol=1e-3, max_iter=1000, **smooth).set_callbacks(recorder).fit(X, y)
    assert model.stop_reason_ == "converged"
    assert len(recorder.ended) == len(recorder.begun) == model.n_iter_
    last = recorder.ended[-1]
    assert last.n_iter_ == model.n_iter_ and last.loss_curve_ == model.loss_curve_
    for got, expected in zip(_params(last), _params(model)):
        assert_array_equal(got, expected)
    # Each epoch's model is a snapshot: training went on without changing it.
    third = recorder.ended[2]
    assert third.n_iter_ == 3 and third.loss_curve_ == model.loss_curve_[:3]
    assert not np.array_equal(_params(third)[0], _params(model)[0])


@parametrize_estimators
def test_a_callback_returning_true_stops_training_at_that_epoch(Estimator):
    X, y = _data()
    model = make(Estimator, tol=None, max_iter=50).set_callbacks(Recorder(stop_at=3)).fit(X, y)
    assert model.n_iter_ == 3
    assert model.stop_reason_ == "callback"
    assert np.isfinite(model.predict_proba(X)).all()


def test_epoch_models_map_a_reparametrised_training_back_to_the_weights():
    # Few wide rows: LogisticRegressionGD trains in sample space (C, with W = X.T C).
    rng = np.random.RandomState(0)
    X, y = rng.randn(20, 60), np.arange(20) % 2
    recorder = Recorder()
    model = LogisticRegressionGD(tol=None, max_iter=30).set_callbacks(recorder).fit(X, y)
    assert recorder.ended[-1].coef_.shape == model.coef_.shape
    assert_allclose(recorder.ended[-1].coef_, model.coef_)
    assert_allclose(recorder.ended[-1].predict_proba(X), model.predict_proba(X))


def test_every_epoch_task_that_begins_ends_even_when_training_diverges():
    X, y = _data()
    recorder = Recorder()
    # Mini-batches: full-batch training would halve the step instead.
    model = SoftmaxGD(learning_rate=1e6, max_iter=50, optimizer="gd", batch_size=10)
    model.set_callbacks(recorder)
    with pytest.warns(ConvergenceWarning, match="diverged"):
        model.fit(X * 1e3, y)
    assert model.stop_reason_ == "diverged"
    # The epoch that diverged began, and ended without a model.
    assert len(recorder.begun) == len(recorder.ended) == model.n_iter_ + 1
    assert recorder.ended[-1] is None


def test_partial_fit_is_one_task_with_one_epoch():
    X, y = _data()
    recorder = Recorder()
    model = SoftmaxGD().set_callbacks(recorder)
    model.partial_fit(X, y, classes=np.unique(y)).partial_fit(X, y)
    assert [fitted.n_iter_ for fitted in recorder.ended] == [1, 2]


def test_scoring_monitor_scores_every_epoch_and_the_final_model():
    X, y = _data()
    monitor = callback_api.ScoringMonitor(scoring="accuracy")
    model = SoftmaxGD(tol=None, max_iter=7).set_callbacks(monitor).fit(X, y)
    rows = monitor.get_logs().data
    epochs = [row for row in rows if row["task_name"] == "epoch"]
    assert len(epochs) == model.n_iter_
    (fit,) = [row for row in rows if row["task_name"] == "fit"]
    assert fit["accuracy"] == epochs[-1]["accuracy"] == model.score(X, y)


def test_progress_bar_in_a_fit_and_inside_grid_search(capsys):
    X, y = _data()
    model = ShallowNNClassifier(hidden_layer_size=4, max_iter=20, tol=None, random_state=0)
    model.set_callbacks(callback_api.ProgressBar()).fit(X, y)
    assert model.n_iter_ == 20
    search = GridSearchCV(clone(model).set_callbacks(), {"alpha": [1e-4, 1e-2]}, cv=2, n_jobs=1)
    search.set_callbacks(callback_api.ProgressBar()).fit(X, y)
    assert search.best_estimator_.n_iter_ == 20
    assert "ShallowNNClassifier - fit" in capsys.readouterr().out


@pytest.mark.parametrize("meta", ["pipeline", "grid_search"])
def test_callbacks_propagate_from_meta_estimators(meta):
    X, y = _data()
    recorder = PropagatedRecorder()
    model = SoftmaxGD(tol=None, max_iter=4)
    if meta == "pipeline":
        outer = make_pipeline(StandardScaler(), model)
        n_fits = 1
    else:
        outer = GridSearchCV(model, {"alpha": [1e-4, 1e-2]}, cv=2)
        n_fits = 2 * 2 + 1  # every candidate on every split, then the refit
    outer.set_callbacks(recorder).fit(X, y)
    assert len(recorder.ended) == 4 * n_fits
    # Propagated for the fit only: the estimator is left without callbacks.
    assert not hasattr(model, "_skl_callbacks")


@parametrize_estimators
def test_callbacks_survive_clone_as_in_scikit_learn(Estimator):
    from sklearn.linear_model import LogisticRegression

    X, y = _data()
    recorder = Recorder()
    model = make(Estimator, tol=None, max_iter=5).set_callbacks(recorder)
    theirs = LogisticRegression().set_callbacks(recorder)
    # scikit-learn's clone shares the callback instances, for sknn as for its own.
    assert clone(model)._skl_callbacks == clone(theirs)._skl_callbacks == [recorder]
    clone(model).fit(X, y)
    assert len(recorder.ended) == 5


def test_without_sklearn_callback_estimators_work_and_have_no_set_callbacks():
    # As with scikit-learn < 1.9, where `from sklearn.callback import
    # CallbackSupportMixin` fails: a first import of sknn loads the
    # scikit-learn modules it needs, then sknn is imported afresh without the name.
    code = (
        "import sys\n"
        "import sknn\n"
        "for name in [name for name in sys.modules if name.split('.')[0] == 'sknn']:\n"
        "    del sys.modules[name]\n"
        "import sklearn.callback\n"
        "del sklearn.callback.CallbackSupportMixin\n"
        "from sklearn.datasets import make_classification\n"
        "from sknn import ShallowNNClassifier\n"
        "X, y = make_classification(random_state=0)\n"
        "model = ShallowNNClassifier(max_iter=5, tol=None, verbose=5).fit(X, y)\n"
        "assert not hasattr(model, 'set_callbacks')\n"
        "assert model.n_iter_ == 5 and model.score(X, y) > 0.5\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(sknn.__file__))},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Epoch 5, loss = " in result.stdout


# ----------------------------------------------------------------- verbose
def test_verbose_lines_have_the_elapsed_time_and_a_last_line_the_stop_reason(capsys):
    X, y = _data()
    model = SoftmaxGD(verbose=2, tol=None, max_iter=6).fit(X, y)
    *epochs, last = capsys.readouterr().out.strip().splitlines()
    assert [line.split(",")[0] for line in epochs] == ["Epoch 2", "Epoch 4", "Epoch 6"]
    assert all(" loss = " in line and ", elapsed " in line for line in epochs)
    assert epochs[0].endswith(" s")
    assert last.startswith("Stopped at epoch 6 (max_iter) after ")
    assert last.endswith(f"best loss: {model.best_loss_:.8f}")


def test_verbose_last_line_names_the_validation_loss_with_early_stopping(capsys):
    X, y = _data()
    # Nesterov: conjugate gradient (the default) converges on the training split first.
    model = SoftmaxGD(verbose=1, early_stopping=True, optimizer="nesterov", random_state=0)
    model.fit(X, y)
    out = capsys.readouterr().out.strip().splitlines()
    assert ", validation loss = " in out[0]
    assert out[-1].startswith(f"Stopped at epoch {model.n_iter_} (early_stopping)")
    assert out[-1].endswith(f"best validation loss: {model.best_loss_:.8f}")


# ------------------------------------------------------------------ Ctrl-C
def test_sigint_during_a_long_fit_stops_it_and_a_warm_start_continues():
    X, y = _data(n_samples=200)
    training = threading.Event()

    class SignalWhenTraining(Recorder):
        def on_fit_task_end(self, estimator, context, **kwargs):
            training.set()

    def interrupt():
        training.wait(timeout=30)
        time.sleep(0.2)  # well inside the fit, at a random point of an epoch
        os.kill(os.getpid(), signal.SIGINT)

    # Uninterrupted, the fit would take a minute; the signal arrives after ~0.2 s.
    model = ShallowNNClassifier(
        hidden_layer_size=8, batch_size=16, max_iter=10**5, tol=None, random_state=0
    ).set_callbacks(SignalWhenTraining())
    previous_handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    sender = threading.Thread(target=interrupt)
    try:
        sender.start()
        with pytest.warns(ConvergenceWarning, match="interrupted") as record:
            model.fit(X, y)
        sender.join()
    finally:
        signal.signal(signal.SIGINT, previous_handler)

    assert model.stop_reason_ == "interrupted"
    assert record[0].filename == __file__  # the warning points at the user's call
    n_epochs = model.n_iter_
    assert 1 <= n_epochs == len(model.loss_curve_) < 10**5
    assert np.isfinite(model.predict_proba(X)).all()

    # The rolled-back state is exactly that after epoch n_epochs: continuing
    # gives what an uninterrupted fit of n_epochs + 3 epochs gives.
    model.set_callbacks().set_params(warm_start=True, max_iter=3).fit(X, y)
    assert model.n_iter_ == n_epochs + 3 and model.stop_reason_ == "max_iter"
    reference = clone(model).set_params(warm_start=False, max_iter=n_epochs + 3).fit(X, y)
    for got, expected in zip(_params(model), _params(reference)):
        assert_array_equal(got, expected)


def _interrupted_step(optimizer_class, at_call):
    """``optimizer_class.step`` that raises KeyboardInterrupt after its ``at_call``-th update."""
    original = optimizer_class.step
    calls = []

    def step(self, params, grads, *context):
        evaluated = original(self, params, grads, *context)
        calls.append(None)
        if len(calls) == at_call:
            raise KeyboardInterrupt
        return evaluated

    return step


@parametrize_estimators
@pytest.mark.parametrize("optimizer", ["gd", "momentum", "adam"])
def test_ctrl_c_mid_epoch_rolls_back_weights_optimizer_and_shuffle(
    Estimator, optimizer, monkeypatch
):
    from sknn._core.optimizers import OPTIMIZERS

    X, y = _data()
    params = {"optimizer": optimizer, "batch_size": 16, "tol": None, "random_state": 0}
    # 7 steps per epoch: the 24th step is in the middle of epoch 4.
    optimizer_class = OPTIMIZERS[optimizer].cls
    monkeypatch.setattr(optimizer_class, "step", _interrupted_step(optimizer_class, 24))
    model = make(Estimator, max_iter=50, **params)
    with pytest.warns(ConvergenceWarning, match="after epoch 3, the last complete one"):
        model.fit(X, y)
    monkeypatch.undo()
    assert model.stop_reason_ == "interrupted" and model.n_iter_ == 3
    assert len(model.loss_curve_) == 3

    three = make(Estimator, max_iter=3, **params).fit(X, y)
    for got, expected in zip(_params(model), _params(three)):
        assert_array_equal(got, expected)
    model.set_params(warm_start=True, max_iter=2).fit(X, y)
    five = make(Estimator, max_iter=5, **params).fit(X, y)
    for got, expected in zip(_params(model), _params(five)):
        assert_array_equal(got, expected)
    assert model.loss_curve_ == five.loss_curve_


@pytest.mark.parametrize("Estimator", [LogisticRegressionGD, SoftmaxGD])
@pytest.mark.parametrize("optimizer", ["cg", "lbfgs"])
def test_ctrl_c_rolls_a_line_search_optimizer_back_to_its_last_complete_step(
    Estimator, optimizer, monkeypatch
):
    # The checkpoint holds a copy of the state after the 5th step: the 6th
    # step's new pair or direction is dropped.
    from sknn._core.optimizers import OPTIMIZERS

    X, y = _data()
    params = {"optimizer": optimizer, "tol": None, "random_state": 0}
    optimizer_class = OPTIMIZERS[optimizer].cls
    monkeypatch.setattr(optimizer_class, "step", _interrupted_step(optimizer_class, 6))
    model = make(Estimator, max_iter=50, **params)
    with pytest.warns(ConvergenceWarning, match="after epoch 5, the last complete one"):
        model.fit(X, y)
    monkeypatch.undo()
    assert model.stop_reason_ == "interrupted" and model.n_iter_ == 5
    five = make(Estimator, max_iter=5, **params).fit(X, y)
    for got, expected in zip(_params(model), _params(five)):
        assert_array_equal(got, expected)
    assert model._optimizer_state["state"].keys() == five._optimizer_state["state"].keys()
    # The continued fit takes its first gradient from X, the single one from a
    # line's logits: equal to rounding.
    model.set_params(warm_start=True, max_iter=4).fit(X, y)
    nine = make(Estimator, max_iter=9, **params).fit(X, y)
    for got, expected in zip(_params(model), _params(nine)):
        assert_allclose(got, expected, rtol=1e-12, atol=1e-14)
    assert_allclose(model.loss_curve_, nine.loss_curve_, rtol=1e-12)


@pytest.mark.parametrize("when, kept", [("begin", 3), ("end", 4)])
def test_ctrl_c_in_a_callback_keeps_the_complete_epochs(when, kept):
    X, y = _data()
    recorder = Recorder(interrupt_at=4, interrupt_when=when)
    model = SoftmaxGD(tol=None, max_iter=20, early_stopping=True, random_state=0)
    model.set_callbacks(recorder)
    # Through a Pipeline, the warning still names the user's line.
    with pytest.warns(ConvergenceWarning, match="interrupted") as record:
        make_pipeline(model).fit(X, y)
    assert record[0].filename == __file__
    assert model.stop_reason_ == "interrupted" and model.n_iter_ == kept
    assert len(model.validation_loss_curve_) == kept
    assert model.best_loss_ == min(model.validation_loss_curve_)
    # Its weights are those after the last complete epoch, not the best ones.
    assert_array_equal(model.coef_, recorder.ended[kept - 1].coef_)


def test_ctrl_c_while_the_checkpoint_is_written_keeps_the_previous_epoch(monkeypatch):
    X, y = _data()
    from sknn._core.optimizers.first_order import Adam

    get_state = Adam.get_state
    snapshots = []

    def interrupted_snapshot(self):
        # Adam's state holds moments from epoch 1 on: its 4th snapshot is epoch
        # 4's, taken after the checkpoint copied the weights.
        state = get_state(self)
        if "first_moments" in state:
            snapshots.append(None)
            if len(snapshots) == 4:
                raise KeyboardInterrupt
        return state

    monkeypatch.setattr(Adam, "get_state", interrupted_snapshot)
    model = ShallowNNClassifier(
        hidden_layer_size=4, optimizer="adam", tol=None, max_iter=10, random_state=0
    )
    with pytest.warns(ConvergenceWarning, match="interrupted"):
        model.fit(X, y)
    monkeypatch.undo()
    assert model.n_iter_ == 3
    model.set_params(warm_start=True, max_iter=3).fit(X, y)
    reference = clone(model).set_params(warm_start=False, max_iter=6).fit(X, y)
    for got, expected in zip(_params(model), _params(reference)):
        assert_array_equal(got, expected)


def test_ctrl_c_before_the_first_epoch_leaves_the_initial_model():
    X, y = _data()
    model = SoftmaxGD(max_iter=20).set_callbacks(Recorder(interrupt_at=1, interrupt_when="begin"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    assert model.n_iter_ == 0 and model.loss_curve_ == []
    assert_array_equal(model.coef_, 0.0)
    assert model.predict(X).shape == y.shape
