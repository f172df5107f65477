"""sknn: scikit-learn compatible classifiers trained by vectorized NumPy gradient descent."""

__version__ = "0.1.0"

from . import datasets, io  # noqa: E402
from ._estimator.display import TrainingCurveDisplay  # noqa: E402
from ._estimator.gradient_check import check_gradient  # noqa: E402
from .linear import LogisticRegressionGD, SoftmaxGD  # noqa: E402
from .neural import ShallowNNClassifier  # noqa: E402

__all__ = [
    "LogisticRegressionGD",
    "ShallowNNClassifier",
    "SoftmaxGD",
    "TrainingCurveDisplay",
    "__version__",
    "check_gradient",
    "datasets",
    "io",
]
