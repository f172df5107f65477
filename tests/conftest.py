"""Fixtures shared by the test modules: the course's data, and the estimators."""

import os
from pathlib import Path

import pytest
from sklearn.datasets import make_classification

from sknn import LogisticRegressionGD, ShallowNNClassifier, SoftmaxGD

ESTIMATORS = [LogisticRegressionGD, SoftmaxGD, ShallowNNClassifier]
LINEAR = [LogisticRegressionGD, SoftmaxGD]
OPTIMIZERS = ["gd", "momentum", "nesterov", "adam"]
# The linear models also take L-BFGS and conjugate gradient (full batch only)
# and 'auto', their default (lbfgs on the full batch, nesterov on mini-batches).
LINEAR_OPTIMIZERS = [*OPTIMIZERS, "lbfgs", "cg", "auto"]

# The course's cat images: next to the repository in shared/, or where
# SKNN_DATA_DIR points. Tests that need them skip, saying so, where absent.
DATA_DIR = Path(
    os.environ.get("SKNN_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "datasets")
)


def make(Estimator, **params):
    """An estimator for fast tests: a small, seeded network with a step that suits it."""
    if Estimator is ShallowNNClassifier:
        params.setdefault("hidden_layer_size", 8)
        params.setdefault("random_state", 0)
        if params.get("optimizer") in ("gd", "momentum"):
            params.setdefault("learning_rate", 0.1)
    return Estimator(**params)


@pytest.fixture(scope="session")
def cat_data():
    """``(X_train / 255, y_train, X_test / 255, y_test)`` of the course's cat images."""
    from sknn.datasets import load_h5

    train, test = DATA_DIR / "train_catvnoncat.h5", DATA_DIR / "test_catvnoncat.h5"
    if not (train.exists() and test.exists()):
        pytest.skip(f"the course's cat data is not in {DATA_DIR} (set SKNN_DATA_DIR)")
    X_train, y_train = load_h5(train, return_X_y=True)
    X_test, y_test = load_h5(test, return_X_y=True)
    return X_train / 255.0, y_train, X_test / 255.0, y_test


def _data(n_classes=3, n_samples=60, n_features=5, seed=0):
    """A small, easy classification problem, ``(X, y)``: the estimator tests' default data."""
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
parametrize_linear = pytest.mark.parametrize("Estimator", LINEAR, ids=lambda E: E.__name__)
