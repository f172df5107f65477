"""Linear classifiers trained by gradient descent: logistic and softmax regression."""

from numbers import Real

import numpy as np

from ._compat import Interval, StrOptions
from ._core.array_ops import array_ops
from ._core.objectives.linear import LinearObjective, column_means
from ._core.optimizers import OPTIMIZERS
from ._core.sample_space import RowSpaceBasis, row_space_pays
from ._estimator.base import BaseGDClassifier
from ._estimator.docs import LINEAR_TOL_DOC, SHARED_ATTRIBUTE_DOCS, shared_parameter_docs

# 'auto' for an optimizer that scales each coordinate's step (Adam) is not 1/L.
_PER_COORDINATE_AUTO_LEARNING_RATE = 0.01


class _LinearModelHooks:
    """The hooks of :class:`~sknn._estimator.base.BaseGDClassifier` the linear models share."""

    _parameter_constraints = {
        **BaseGDClassifier._parameter_constraints,
        "learning_rate": [Interval(Real, 0, np.inf, closed="neither"), StrOptions({"auto"})],
    }

    _AUTO_OPTIMIZERS = ("lbfgs", "nesterov")

    # One signature for both models: scikit-learn reads the parameters from it.
    def __init__(
        self,
        *,
        learning_rate="auto",
        max_iter=5000,
        tol=1e-5,
        n_iter_no_change=10,
        alpha=1e-4,
        batch_size=None,
        shuffle=True,
        optimizer="auto",
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        early_stopping=False,
        validation_fraction=0.1,
        class_weight=None,
        warm_start=False,
        random_state=None,
        verbose=0,
    ):
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.alpha = alpha
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.optimizer = optimizer
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose

    def _make_objective(self, link):
        return LinearObjective(link, self.alpha)

    _weight_attributes = ("coef_", "intercept_")

    def _initial_learning_rate(self, problem, optimizer, full_batch):
        if self.learning_rate != "auto":
            return float(self.learning_rate)
        if OPTIMIZERS[optimizer].per_coordinate:
            return _PER_COORDINATE_AUTO_LEARNING_RATE
        if optimizer in ("cg", "lbfgs") or (optimizer == "nesterov" and full_batch):
            # Only where the line search starts: it finds the step itself.
            return 1.0 / problem.smoothness(exact=False)
        step = 1.0 / problem.smoothness(exact=True)
        if not full_batch and optimizer in ("momentum", "nesterov"):
            # Momentum multiplies the step by up to 1 / (1 - beta_1) (10x), and a
            # mini-batch's curvature can exceed the full batch's L: keep the
            # effective step at 1/L.
            step *= 1.0 - self.beta_1
        return step

    def _training_objective(self, objective, X, sample_weight, optimizer):
        """Centred for L-BFGS and conjugate gradient (see LinearObjective's offset)."""
        if optimizer not in ("lbfgs", "cg"):
            return objective
        return LinearObjective(objective.link, objective.alpha, column_means(X, sample_weight))

    def _row_space_basis(self, X, n_outputs, optimizer):
        """The basis a fresh full-batch fit trains in (see sknn._core.sample_space), or None."""
        # Steps built from gradients stay in X's row space, and are the same in its
        # coordinates; a per-coordinate scaling (Adam) is not.
        rotation_invariant = not OPTIMIZERS[optimizer].per_coordinate
        if rotation_invariant and row_space_pays(X, n_outputs, self.max_iter):
            return RowSpaceBasis(X)
        return None

    def _store_params(self, params):
        self.coef_ = array_ops(params["W"]).contiguous(params["W"].T)
        self.intercept_ = params["b"]

    def _load_params(self):
        return {"W": self.coef_.T, "b": self.intercept_}

    def _weight_attribute_shapes(self, param_shapes):
        return {"coef_": param_shapes["W"][::-1], "intercept_": param_shapes["b"]}


_OPTIMIZER_DOC = """\
'auto' is 'gd' when ``learning_rate`` is a number, otherwise 'lbfgs' on
        the full batch and 'nesterov' on mini-batches and in ``partial_fit``.
        'lbfgs' and 'cg' run on the full batch only (with ``batch_size`` set
        they raise).
        """
_LEARNING_RATE_DOC = """\
learning_rate : float or 'auto', default='auto'
        Step size; with 'lbfgs' and 'cg', only the line search's first trial
        step. 'auto': a line search for 'lbfgs', 'cg' and full-batch
        'nesterov'; 0.01 for 'adam'; otherwise the fixed step 1/L, where L
        bounds the curvature of the loss (``(1 - beta_1) / L`` with momentum
        on mini-batches). See :ref:`optimizers`."""


class LogisticRegressionGD(_LinearModelHooks, BaseGDClassifier):
    """Logistic regression trained by vectorized gradient descent.

    Binary problems use one sigmoid unit and the log-loss. With K > 2 classes
    the model is one-vs-rest: K sigmoid units trained together as one weight
    matrix, their probabilities normalised to sum to one. A multilabel
    indicator y gets one independent sigmoid unit per label (see
    :ref:`multilabel`).

    Read more in the :ref:`User Guide <models>`.

    Parameters
    ----------
    {learning_rate}

    {shared_parameters}

    Attributes
    ----------
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Weights (one row for binary problems; one row per label for a
        multilabel y, where n_classes is n_labels).

    intercept_ : ndarray of shape (1,) or (n_classes,)
        Biases.

    {shared_attributes}

    See Also
    --------
    SoftmaxGD : Multinomial (softmax) regression.
    sklearn.linear_model.LogisticRegression : The same model by quasi-Newton solvers.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sknn import LogisticRegressionGD
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> model = make_pipeline(StandardScaler(), LogisticRegressionGD()).fit(X, y)
    >>> round(model.score(X, y), 2)
    0.99
    """

    _supports_multilabel = True

    def _output_layer(self, n_classes):
        return "sigmoid", 1 if n_classes == 2 else n_classes


class SoftmaxGD(_LinearModelHooks, BaseGDClassifier):
    """Softmax (multinomial logistic) regression trained by vectorized gradient descent.

    One softmax layer over all classes with the cross-entropy loss, a binary
    problem included (K = 2, two rows in ``coef_``). A multilabel y is refused
    (use :class:`LogisticRegressionGD`).

    Read more in the :ref:`User Guide <models>`.

    Parameters
    ----------
    {learning_rate}

    {shared_parameters}

    Attributes
    ----------
    coef_ : ndarray of shape (n_classes, n_features)
        Weights, one row per class.

    intercept_ : ndarray of shape (n_classes,)
        Biases.

    {shared_attributes}

    See Also
    --------
    LogisticRegressionGD : One-vs-rest sigmoid units.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sknn import SoftmaxGD
    >>> X, y = load_iris(return_X_y=True)
    >>> model = make_pipeline(StandardScaler(), SoftmaxGD()).fit(X, y)
    >>> model.predict(X[[0, 50, 100]])
    array([0, 1, 2])
    >>> model.predict_proba(X[:1]).shape
    (1, 3)
    """

    def _output_layer(self, n_classes):
        return "softmax", n_classes


for _estimator in (LogisticRegressionGD, SoftmaxGD):
    _estimator.__doc__ = _estimator.__doc__.format(
        learning_rate=_LEARNING_RATE_DOC,
        shared_parameters=shared_parameter_docs(
            _estimator, tol_doc=LINEAR_TOL_DOC, optimizer_extra=_OPTIMIZER_DOC
        ),
        shared_attributes=SHARED_ATTRIBUTE_DOCS,
    )
