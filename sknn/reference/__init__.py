"""Loop-based reference implementations of the sknn losses and gradients.

sknn's three models -- logistic regression (``K`` independent sigmoid units),
softmax regression and a one-hidden-layer network -- written the way the course
writes them before vectorizing: Python ``for`` loops over samples, features,
hidden units and classes, scalar accumulators and :mod:`math` functions. Slow
on purpose: the test oracle and the benchmark baseline of the vectorized code.

``X`` is ``(n_samples, n_features)`` and ``Y`` an ``(n_samples, K)`` 0/1
matrix. With sample weights ``s`` (all ones by default) and ``S = sum(s)``,
every loss is the weighted mean ``(1/S) sum_i s_i L_i`` plus the L2 penalty
``(alpha/2) sum W**2`` on weight matrices, never on biases. Dense input only.

Read more in the :ref:`User Guide <reference-loops>`.
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
