"""TrainingCurveDisplay (sknn/_display.py)."""

import sys

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError
from sklearn.neural_network import MLPClassifier

from sknn import ShallowNNClassifier, SoftmaxGD, TrainingCurveDisplay

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
plt = pytest.importorskip("matplotlib.pyplot")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def data():
    return make_classification(n_samples=200, random_state=0)


def _legend(display):
    return [text.get_text() for text in display.ax_.get_legend().get_texts()]


def test_training_loss_only_without_a_validation_split(data):
    model = SoftmaxGD(max_iter=30, tol=None).fit(*data)
    display = TrainingCurveDisplay.from_estimator(model)
    assert len(display.lines_) == 1 and len(display.ax_.get_lines()) == 2  # curve + best
    (line,) = display.lines_
    assert_array_equal(line.get_xdata(), np.arange(1, 31))
    assert_array_equal(line.get_ydata(), model.loss_curve_)
    assert display.best_epoch_ == 1 + int(np.argmin(model.loss_curve_))
    assert _legend(display) == ["Training loss", f"Best epoch: {display.best_epoch_}"]
    assert (display.ax_.get_xlabel(), display.ax_.get_ylabel()) == ("Epoch", "Loss")
    assert display.ax_.get_yscale() == "linear"
    assert display.figure_ is display.ax_.figure


def test_validation_loss_and_its_best_epoch_with_early_stopping(data):
    model = ShallowNNClassifier(
        hidden_layer_size=8, early_stopping=True, tol=1e-2, random_state=0
    ).fit(*data)
    display = TrainingCurveDisplay.from_estimator(model, log_scale=True)
    assert [line.get_label() for line in display.lines_] == ["Training loss", "Validation loss"]
    assert_array_equal(display.lines_[1].get_ydata(), model.validation_loss_curve_)
    # The marked epoch is the one early stopping kept.
    assert display.best_epoch_ == 1 + model.validation_loss_curve_.index(model.best_loss_)
    assert_array_equal(display.best_epoch_line_.get_xdata(), [display.best_epoch_] * 2)
    assert display.ax_.get_yscale() == "log"


def test_plot_on_a_given_axes_with_names_to_compare_models(data):
    _, ax = plt.subplots()
    for optimizer in ["gd", "adam"]:
        model = SoftmaxGD(optimizer=optimizer, max_iter=20, tol=None).fit(*data)
        display = TrainingCurveDisplay.from_estimator(model, ax=ax, name=optimizer, linewidth=3)
    assert display.ax_ is ax
    assert display.lines_[0].get_linewidth() == 3
    assert [line.get_label() for line in ax.get_lines()] == [
        "Training loss (gd)",
        "Best epoch: 20 (gd)",
        "Training loss (adam)",
        "Best epoch: 20 (adam)",
    ]


def test_built_from_curves_and_an_empty_curve_marks_no_epoch():
    display = TrainingCurveDisplay(loss_curve=[]).plot()
    assert len(display.lines_) == 1
    assert display.best_epoch_ is None and display.best_epoch_line_ is None
    display = TrainingCurveDisplay(loss_curve=[3.0, 2.0, 2.5], validation_loss_curve=[3.0, 1.0])
    assert display.plot(name="mine").best_epoch_ == 2
    assert display.lines_[1].get_label() == "Validation loss (mine)"


def test_scikit_learn_mlp_curves_plot_too(data):
    model = MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0)
    with pytest.warns(UserWarning):  # ConvergenceWarning: 5 epochs
        model.fit(*data)
    display = TrainingCurveDisplay.from_estimator(model)
    assert len(display.lines_) == 1 and len(display.lines_[0].get_xdata()) == 5


def test_unfitted_or_curveless_estimators_are_refused(data):
    with pytest.raises(NotFittedError):
        TrainingCurveDisplay.from_estimator(SoftmaxGD())
    lbfgs = MLPClassifier(hidden_layer_sizes=(2,), solver="lbfgs", max_iter=500).fit(*data)
    with pytest.raises(ValueError, match="no loss_curve_"):
        TrainingCurveDisplay.from_estimator(lbfgs)


def test_without_matplotlib_plotting_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    display = TrainingCurveDisplay(loss_curve=[1.0])
    with pytest.raises(ImportError, match="needs matplotlib.*pip install matplotlib"):
        display.plot()
