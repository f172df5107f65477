"""A one-hidden-layer neural network classifier trained by vectorized backprop."""

from numbers import Integral, Real

import numpy as np

from ._compat import Interval, StrOptions
from ._core.activations import ACTIVATIONS
from ._core.objectives.network import ShallowNetObjective
from ._core.optimizers import OPTIMIZERS
from ._estimator.base import BaseGDClassifier
from ._estimator.docs import NETWORK_TOL_DOC, SHARED_ATTRIBUTE_DOCS, shared_parameter_docs

# learning_rate='auto': where the line search starts (it halves or grows the
# step from there), or a fixed step where there is none: there is no cheap
# curvature bound for a network, so these are the usual safe defaults.
_LINE_SEARCH_FIRST_STEP = 1.0
_AUTO_LEARNING_RATE = 0.01
_PER_COORDINATE_AUTO_LEARNING_RATE = 0.001  # Adam's (see OptimizerEntry.per_coordinate)


class ShallowNNClassifier(BaseGDClassifier):
    """A neural network with one hidden layer, trained by vectorized backprop.

    ``Z1 = X W1 + b1``, ``A1 = g(Z1)``, then one sigmoid output unit for two
    classes or a softmax layer for more, with the matching log-loss. A
    multilabel indicator y gets one independent sigmoid output per label (see
    :ref:`multilabel`).

    Read more in the :ref:`User Guide <models>`.

    Parameters
    ----------
    hidden_layer_size : int, default=100
        Number of hidden units.

    activation : {{{activations}}}, default='relu'
        Hidden activation g.

    init : {{'auto', 'normal', 'xavier', 'he'}}, default='auto'
        Weight initialisation (biases start at zero). 'normal' is the
        course's ``init_scale * randn``; 'xavier' draws with standard deviation
        ``sqrt(2 / (fan_in + fan_out))``, 'he' with ``sqrt(2 / fan_in)``;
        'auto' picks {auto_inits}.

    init_scale : float, default=0.01
        Standard deviation of ``init='normal'``.

    learning_rate : float or 'auto', default='auto'
        Step size. 'auto': a line search (from 1.0) for 'lbfgs', 'cg' and
        full-batch 'nesterov'; otherwise 0.001 for 'adam' and 0.01 for the
        others.

    {shared_parameters}

    Attributes
    ----------
    coefs_ : list of two ndarrays
        ``[W1, W2]``, of shapes (n_features, hidden_layer_size) and
        (hidden_layer_size, n_outputs), where n_outputs is 1 for two classes
        and n_labels for a multilabel y.

    intercepts_ : list of two ndarrays
        ``[b1, b2]``.

    {shared_attributes}

    See Also
    --------
    sklearn.neural_network.MLPClassifier : Any depth, no ``decision_function``.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sknn import ShallowNNClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> net = make_pipeline(StandardScaler(), ShallowNNClassifier(random_state=0))
    >>> round(net.fit(X, y).score(X, y), 2)
    0.99
    """

    _parameter_constraints = {
        **BaseGDClassifier._parameter_constraints,
        "hidden_layer_size": [Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "init": [StrOptions({"auto", "normal", "xavier", "he"})],
        "init_scale": [Interval(Real, 0, np.inf, closed="neither")],
        "learning_rate": [Interval(Real, 0, np.inf, closed="neither"), StrOptions({"auto"})],
    }

    def __init__(
        self,
        hidden_layer_size=100,
        *,
        activation="relu",
        init="auto",
        init_scale=0.01,
        learning_rate="auto",
        max_iter=500,
        tol=1e-4,
        n_iter_no_change=10,
        alpha=1e-2,
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
        self.hidden_layer_size = hidden_layer_size
        self.activation = activation
        self.init = init
        self.init_scale = init_scale
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

    _supports_multilabel = True
    _full_batch_rule = "flat"

    def _output_layer(self, n_classes):
        return ("sigmoid", 1) if n_classes == 2 else ("softmax", n_classes)

    def _make_objective(self, link):
        return ShallowNetObjective(
            link,
            self.alpha,
            self.activation,
            self.hidden_layer_size,
            self.init,
            self.init_scale,
        )

    def _initial_learning_rate(self, problem, optimizer, full_batch):
        if self.learning_rate != "auto":
            return float(self.learning_rate)
        if optimizer in ("nesterov", "cg", "lbfgs") and full_batch:
            return _LINE_SEARCH_FIRST_STEP
        if OPTIMIZERS[optimizer].per_coordinate:
            return _PER_COORDINATE_AUTO_LEARNING_RATE
        return _AUTO_LEARNING_RATE

    _weight_attributes = ("coefs_", "intercepts_")

    def _weight_attribute_shapes(self, param_shapes):
        return {
            "coefs_": [param_shapes["W1"], param_shapes["W2"]],
            "intercepts_": [param_shapes["b1"], param_shapes["b2"]],
        }

    def _store_params(self, params):
        self.coefs_ = [params["W1"], params["W2"]]
        self.intercepts_ = [params["b1"], params["b2"]]

    def _load_params(self):
        (W1, W2), (b1, b2) = self.coefs_, self.intercepts_
        return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}


ShallowNNClassifier.__doc__ = ShallowNNClassifier.__doc__.format(
    activations=", ".join(f"'{name}'" for name in ACTIVATIONS),
    auto_inits=", ".join(f"{entry.init} for {name}" for name, entry in ACTIVATIONS.items()),
    shared_parameters=shared_parameter_docs(
        ShallowNNClassifier,
        tol_doc=NETWORK_TOL_DOC,
        optimizer_extra=(
            "'auto' is 'gd' when ``learning_rate`` is a number, otherwise\n"
            "        'nesterov'.\n"
            "        "
        ),
    ),
    shared_attributes=SHARED_ATTRIBUTE_DOCS,
)
