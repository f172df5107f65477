"""The linear models' objective: ``Z = X W + b`` under a sigmoid or softmax output."""

import numpy as np
import scipy.sparse as sp

from ..affine_line import AffineLine
from ..array_ops import array_ops
from ..functions import data_loss, data_loss_and_residual, l2_penalty, total_weight
from ..spectrum import gram_top_eigenvalue, weighted_squared_norm

# Largest curvature of each output loss with respect to its logits: the
# sigmoid's is sigma (1 - sigma) <= 1/4; the softmax's Hessian
# diag(p) - p p^T has eigenvalues <= 1/2.
LINK_CURVATURE = {"sigmoid": 0.25, "softmax": 0.5}


class LinearObjective:
    """Loss and gradient of a linear model ``Z = X W + b`` under an output link.

    Parameters are ``W`` of shape (n_features, n_outputs) and ``b`` of shape
    (n_outputs,). The loss is the weighted mean loss of the link plus
    ``alpha / 2 * ||W||^2``. Implements
    :class:`sknn._core.protocols.ExactLineObjective` (its logits are affine in
    the parameters: lines are evaluated exactly and cheaply) and
    :class:`~sknn._core.protocols.Reparametrised`.

    ``offset`` (n_features,), or None: train the centred model
    ``Z = (X - offset) W + c`` instead, whose intercept is ``b = c - offset W``:
    the same models and minimum, far better conditioned for L-BFGS and
    conjugate gradient where X's columns are far from zero mean (X is not
    copied: the offset enters the logits and the gradient).
    """

    def __init__(self, link, alpha, offset=None):
        self.link = link
        self.alpha = alpha
        self.offset = offset

    @staticmethod
    def param_shapes(n_features, n_outputs):
        return {"W": (n_features, n_outputs), "b": (n_outputs,)}

    def init_params(self, n_features, n_outputs, rng, dtype):
        # The loss is convex: zeros are as good a start as any, and the course's.
        shapes = self.param_shapes(n_features, n_outputs)
        return {name: np.zeros(shape, dtype=dtype) for name, shape in shapes.items()}

    @staticmethod
    def as_params(arrays, like):
        ops = array_ops(like)
        return {
            name: ops.copy(ops.asarray(a, like=like), dtype=like.dtype, order="C")
            for name, a in arrays.items()
        }

    def logits(self, params, X):
        # X @ W is dense for dense and sparse X alike, and skips safe_sparse_dot's
        # checks, which cost more than the product on small data.
        W, b = params["W"], params["b"]
        Z = X @ W if sp.issparse(X) else _fortran_product(X, W)
        Z += b if self.offset is None else b - self.offset @ W
        return Z

    def loss(self, params, X, Y, sample_weight):
        link, Z, Y = self._output(params, X, Y)
        return data_loss(link, Z, Y, sample_weight) + l2_penalty([params["W"]], self.alpha)

    def loss_grad(self, params, X, Y, sample_weight):
        link, Z, Y = self._output(params, X, Y)
        loss, residual = data_loss_and_residual(link, Z, Y, sample_weight)
        grads = self._gradient(residual, X, params["W"])
        return loss + l2_penalty([params["W"]], self.alpha), grads

    def _gradient(self, residual, X, W):
        """The gradient at weights W from the one in the logits, ``residual``."""
        ops = array_ops(residual)
        grad_W, grad_b = X.T @ residual, ops.sum(residual, axis=0)
        if residual.shape[1] != W.shape[1]:
            # The two softmax columns' gradients are opposite (see _output).
            xp = ops.xp
            grad_W, grad_b = xp.concat([-grad_W, grad_W], axis=1), xp.concat([-grad_b, grad_b])
        if self.offset is not None:
            grad_W -= self.offset[:, None] * grad_b
        if self.alpha:
            grad_W += self.alpha * W
        return {"W": grad_W, "b": grad_b}

    def to_model(self, params, kind):
        """The centred model's parameters (or state of that ``kind``) as the model's."""
        return self._shifted(params, kind, 1.0)

    def from_model(self, params, kind):
        """The model's parameters (or state of that ``kind``) in the centred coordinates."""
        return self._shifted(params, kind, -1.0)

    def _shifted(self, params, kind, sign):
        # b = c - offset W; a gradient in W gains offset times the one in b.
        if self.offset is None:
            return params
        W, b = params["W"], params["b"]
        if kind == "gradients":
            return {"W": W + sign * self.offset[:, None] * b[..., None, :], "b": b}
        return {"W": W, "b": b - sign * (self.offset @ W)}

    def line(self, params, direction, X, Y, sample_weight, start=None):
        """The objective along ``params + s direction``, from logits (see sknn._core.affine_line).

        ``start``: where the previous line arrived, if at ``params``.
        """
        if start is not None and start.usable():
            Z0 = start.Z
        else:
            _, Z0, _ = self._output(params, X, Y)
            start = None
        _, D, _ = self._output(direction, X, Y)
        link, Y = self._link_and_targets(params["W"], Y)
        W, dW = params["W"], direction["W"]
        ops = array_ops(W)
        penalty = (0.0, 0.0, 0.0)
        if self.alpha:
            penalty = (
                0.5 * self.alpha * ops.squared_norm(W),
                self.alpha * ops.dot(W, dW),
                self.alpha * ops.squared_norm(dW),
            )

        def gradient(residual, step):
            return self._gradient(residual, X, W + step * dW)

        return AffineLine(link, Z0, D, Y, sample_weight, penalty, gradient, start)

    def _output(self, params, X, Y):
        """``(link, logits, targets)`` of the loss, two softmax columns as one sigmoid unit.

        A softmax of two logits is the sigmoid of their difference: its loss
        is the logistic loss of ``X (w_1 - w_0) + b_1 - b_0`` on the second
        class, one logit column's work instead of two and a softmax.
        """
        W, b = params["W"], params["b"]
        link, Y = self._link_and_targets(W, Y)
        if link == self.link:
            return link, self.logits(params, X), Y
        difference = {"W": W[:, 1:] - W[:, :1], "b": b[1:] - b[:1]}
        return link, self.logits(difference, X), Y

    def _link_and_targets(self, W, Y):
        """The output layer the loss is computed with (see _output)."""
        if self.link == "softmax" and W.shape[1] == 2:
            return "sigmoid", Y[:, 1:]
        return self.link, Y

    def smoothness(self, X, sample_weight, exact=True):
        """Lipschitz constant L of the loss's gradient (an upper bound).

        The Hessian is at most ``c / sum(s) * A^T A + alpha`` with
        ``A = diag(sqrt(s)) [X, 1]`` and c the link's curvature bound, so a
        gradient step of 1/L never increases the loss. ``exact=False`` bounds
        the top eigenvalue of ``A^T A`` by its trace instead: one pass over X,
        looser by up to the rank of X, for a line search to start from.
        """
        total = total_weight(sample_weight, X.shape[0])
        if exact:
            top_eigenvalue = gram_top_eigenvalue(X, sample_weight)
        else:
            top_eigenvalue = weighted_squared_norm(X, sample_weight) + total
        return self.smoothness_bound(top_eigenvalue, total)

    def smoothness_bound(self, top_eigenvalue, total_weight):
        """L from the top eigenvalue of ``A^T A`` and the weight sum (see :meth:`smoothness`)."""
        return LINK_CURVATURE[self.link] * top_eigenvalue / total_weight + self.alpha


def column_means(X, sample_weight):
    """The (weighted) mean of X's rows, (n_features,), in X's namespace and dtype."""
    ops = array_ops(X)
    if sample_weight is None:
        weights = ops.asarray(
            np.full(X.shape[0], 1.0 / X.shape[0], dtype=ops.numpy_dtype(X.dtype)), like=X
        )
    else:
        weights = sample_weight / total_weight(sample_weight, X.shape[0])
    means = X.T @ weights
    return ops.asarray(np.asarray(means), like=X) if sp.issparse(X) else means


def _fortran_product(A, B):
    """``A @ B`` for a dense A, Fortran-ordered: as ``(B^T A^T)^T``, no copy of A.

    The (n_samples, n_outputs) logits are reduced over their short rows
    (softmax) and their columns (the intercept's gradient): both are fast
    along contiguous columns and slow along short contiguous rows.
    """
    return (B.T @ A.T).T
