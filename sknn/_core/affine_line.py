"""The loss along a line of parameters for models whose logits are affine in them.

For the linear models, ``Z(p + s d) = Z(p) + s D`` with ``D`` the logits of
the direction: one product with X per line, after which the loss and its
first two derivatives in s cost O(n_samples * n_outputs) per point. An exact
line search (Newton's method on the line) then costs about as much as one
gradient, and conjugate gradient and L-BFGS take 1.5-3x fewer steps than
with an inexact search on the full loss.
"""

from .array_ops import array_ops
from .functions import sigmoid_loss, weighted_total


class AffineLine:
    """The objective along ``params + s direction``: its value, slope and curvature in s.

    Parameters
    ----------
    link : {'sigmoid', 'softmax'}
    Z0, D : arrays of shape (n_samples, n_outputs)
        The logits at s = 0 and their direction; not modified.
    Y : array of shape (n_samples, n_outputs)
    sample_weight : array of shape (n_samples,) or None
    penalty : tuple of float
        The L2 term along the line at s = 0: ``(value, slope, curvature)``.
    """

    def __init__(self, link, Z0, D, Y, sample_weight, penalty):
        ops = array_ops(D)
        self.link, self.Z0, self.D, self.Y = link, Z0, D, Y
        self.sample_weight, self.penalty = sample_weight, penalty
        self.total = Z0.shape[0] if sample_weight is None else weighted_total(sample_weight, None)
        # The sums over samples of products with D, as single dots with s D and
        # s D * D, formed once per line.
        self._weighted_D = D if sample_weight is None else D * sample_weight[:, None]
        self._weighted_D2 = D * self._weighted_D if link == "sigmoid" else None
        self._target_slope = ops.dot(Y, self._weighted_D)
        self._Z = None

    def at(self, step):
        """``(J(s), J'(s), J''(s))`` at ``s = step``."""
        ops = array_ops(self.D)
        Z = self._Z = ops.multiply(self.D, step, out=self._Z)
        Z += self.Z0
        # Each sample's loss as the objective's own (y . z taken off each, not
        # off the total): near the optimum the loss is far below the logits,
        # and a difference of totals would lose it to rounding.
        if self.link == "sigmoid":
            losses = sigmoid_loss(Z, self.Y)
            P = ops.sigmoid(Z)
            hessian = ops.subtract(P, P * P)
        else:
            xp = ops.xp
            row_max = xp.max(Z, axis=1)
            P = ops.exp(Z - row_max[:, None])
            normaliser = ops.sum(P, axis=1)
            P /= normaliser[:, None]
            losses = xp.log(normaliser) + row_max - ops.row_dots(self.Y, Z)
            hessian = P
        loss = weighted_total(losses, self.sample_weight) / self.total
        slope = (ops.dot(P, self._weighted_D) - self._target_slope) / self.total
        value, penalty_slope, penalty_curvature = self.penalty
        return (
            loss + value + step * (penalty_slope + 0.5 * step * penalty_curvature),
            slope + penalty_slope + step * penalty_curvature,
            self._curvature(hessian) + penalty_curvature,
        )

    def _curvature(self, hessian):
        """Per sample ``d^T diag(h) d`` (independent sigmoids, h = P (1 - P)), or the
        variance of d under a softmax row ``p`` (h = P): ``sum_k p_k (d_k - p.d)^2``,
        never negative, unlike ``d^T diag(p) d - (p.d)^2`` after rounding; their
        weighted mean."""
        ops = array_ops(hessian)
        if self.link == "sigmoid":
            return ops.dot(hessian, self._weighted_D2) / self.total
        centred = self.D - ops.row_dots(hessian, self.D)[:, None]
        per_sample = ops.row_dots(hessian, centred * centred)
        return weighted_total(per_sample, self.sample_weight) / self.total
