"""sknn: scikit-learn compatible classifiers trained by vectorized NumPy gradient descent."""

from ._gradient_check import check_gradient
from .linear import LogisticRegressionGD, SoftmaxGD
from .neural import ShallowNNClassifier

__version__ = "0.1.0"

__all__ = [
    "LogisticRegressionGD",
    "ShallowNNClassifier",
    "SoftmaxGD",
    "__version__",
    "check_gradient",
]
