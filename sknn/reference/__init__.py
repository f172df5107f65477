"""Loop-based reference implementations of the sknn losses and gradients.

This module restates the three models of sknn -- logistic regression (``K``
independent sigmoid units), softmax regression and a one-hidden-layer neural
network -- exactly the way the course writes them *before* vectorizing:
explicit Python ``for`` loops over samples, features, hidden units and
classes, scalar accumulators and :mod:`math` functions (``math.exp``,
``math.log``, ``math.log1p``, ``math.tanh``).

The code is slow on purpose. It serves two roles:

* **test oracle** -- the vectorized engine must reproduce these losses and
  gradients to ``1e-10``; nothing here shares code with the engine, so an
  agreement between the two is evidence that both implement the formulas;
* **benchmark baseline** -- timing these functions against the vectorized
  ones shows what vectorization buys (the course's "300 times faster").

Conventions (scikit-learn's rows convention, see the course notes):

* ``X`` is ``(n_samples, n_features)``; ``Y`` is an ``(n_samples, K)`` 0/1
  indicator matrix (one column for a binary problem);
* ``sample_weight`` ``s`` is ``(n_samples,)``, non-negative, defaults to all
  ones; with ``S = sum(s)`` every loss is the weighted mean
  ``(1/S) sum_i s_i L_i`` -- so an integer weight ``k`` is equivalent to the
  row repeated ``k`` times;
* ``alpha >= 0`` is an L2 penalty ``(alpha/2) sum W**2`` on weight matrices,
  never on biases.

Array inputs are converted **once**, at entry, to plain Python lists
(``np.asarray(X, dtype=float).tolist()``): indexing a NumPy array element by
element is several times slower than indexing a list, and the course's loops
run on Python floats.  Internally a weight matrix is held as one list per
output unit (``W.T`` -- for a binary problem that is the course's weight
vector ``w``).  Gradients are returned as float64 NumPy arrays with the shapes
of the parameters.

Only dense input is supported; callers holding a SciPy sparse matrix must
convert it first with ``X.toarray()`` (a ``TypeError`` is raised otherwise).
"""

from .linear import (
    gradient_descent_step,
    logistic_loss_grad,
    softmax_loss_grad,
    train_logistic_regression_loops,
)
from .network import shallow_nn_forward, shallow_nn_loss_grad

__all__ = [
    "logistic_loss_grad",
    "softmax_loss_grad",
    "shallow_nn_loss_grad",
    "shallow_nn_forward",
    "gradient_descent_step",
    "train_logistic_regression_loops",
]
