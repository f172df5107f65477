"""The loss along a line of parameters for models whose logits are affine in them.

For the linear models, ``Z(p + s d) = Z(p) + s D`` with ``D`` the logits of
the direction: one product with X per line, after which the loss and its
first two derivatives in s cost O(n_samples * n_outputs) per point. An exact
line search (Newton's method on the line) then costs about as much as one
gradient, and conjugate gradient and L-BFGS take fewer steps than with an
inexact search on the full loss (the performance page has the figures). The
gradient where the search arrives comes from the line's probabilities there,
and the next line starts from its logits: one product with X per line and one for the
gradient, as the direct evaluation's two plus the line's one (equal to
rounding; the logits are recomputed from X every ``MAX_CHAINED`` lines,
and in float32 at every line, so rounding cannot build up).
"""

import math
from dataclasses import dataclass

import numpy as np

from .array_ops import array_ops
from .functions import sigmoid_loss, total_weight, weighted_total

#: Lines in a row that start from the previous line's logits.
MAX_CHAINED = 15


@dataclass
class LineStart:
    """Where a line arrived, for the next line to start from: logits, probabilities,
    the Hessian's diagonal factor, and how many lines in a row have been chained."""

    Z: object
    P: object
    hessian: object
    chained: int

    def usable(self):
        return self.chained < MAX_CHAINED and array_ops(self.Z).numpy_dtype(
            self.Z.dtype
        ) == np.dtype(np.float64)


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
    gradient : callable
        ``gradient(residual, step)``: the objective's gradient at ``params +
        step direction`` from the gradient in its logits there.
    start : LineStart or None
        Where the previous line arrived, if this one starts there (Z0 is then
        its logits): its probabilities give the curvature at the start.
    """

    def __init__(self, link, Z0, D, Y, sample_weight, penalty, gradient, start=None):
        ops = array_ops(D)
        self._start = start
        self.link, self.Z0, self.D, self.Y = link, Z0, D, Y
        self.sample_weight, self.penalty, self._gradient = sample_weight, penalty, gradient
        self.total = total_weight(sample_weight, Z0.shape[0])
        # The sums over samples of products with D, as single dots with s D and
        # s D * D, formed once per line.
        self._weighted_D = D if sample_weight is None else D * sample_weight[:, None]
        self._weighted_D2 = D * self._weighted_D
        # Below this share of E[d^2], the softmax's variance is summed centred.
        self._cancellation = math.sqrt(float(ops.xp.finfo(D.dtype).eps))
        self._target_slope = ops.dot(Y, self._weighted_D)
        self._Z = None
        self._last = None  # (step, value, probabilities, hessian) of the last point
        #: Where :meth:`arrive` arrived, for the next line (see LineStart).
        self.arrival = None

    def curvature_at_start(self):
        """``J''(0)``, without the loss there (the search knows it)."""
        hessian = self._probabilities(self.Z0)[1] if self._start is None else self._start.hessian
        return self._curvature(hessian) + self.penalty[2]

    def arrive(self, step):
        """``(J, gradient)`` at ``params + step direction`` (usually the point :meth:`at`
        evaluated last, whose probabilities it reuses)."""
        if self._last is None or self._last[0] != step:
            self.at(step)
        _, value, P, hessian = self._last
        chained = 0 if self._start is None else self._start.chained + 1
        self.arrival = LineStart(self._Z, P, hessian, chained)
        residual = P - self.Y
        scale = 1.0 / self.total
        if self.sample_weight is None:
            residual *= scale
        else:
            residual *= (self.sample_weight * scale)[:, None]
        return value, self._gradient(residual, step)

    def _probabilities(self, Z):
        """``(P, hessian)`` at logits Z: each unit's sigmoid and P (1 - P), or the softmax twice."""
        ops = array_ops(Z)
        if self.link == "sigmoid":
            P = ops.sigmoid(Z)
            return P, ops.subtract(P, P * P)
        P = ops.exp(Z - ops.xp.max(Z, axis=1)[:, None])
        P /= ops.sum(P, axis=1)[:, None]
        return P, P

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
            P, hessian = self._probabilities(Z)
        else:
            xp = ops.xp
            row_max = xp.max(Z, axis=1)
            P = hessian = ops.exp(Z - row_max[:, None])
            normaliser = ops.sum(P, axis=1)
            P /= normaliser[:, None]
            losses = xp.log(normaliser) + row_max - ops.row_dots(self.Y, Z)
        loss = weighted_total(losses, self.sample_weight) / self.total
        slope = (ops.dot(P, self._weighted_D) - self._target_slope) / self.total
        value, penalty_slope, penalty_curvature = self.penalty
        value = loss + value + step * (penalty_slope + 0.5 * step * penalty_curvature)
        self._last = (step, value, P, hessian)
        return (
            value,
            slope + penalty_slope + step * penalty_curvature,
            self._curvature(hessian) + penalty_curvature,
        )

    def _curvature(self, hessian):
        """Per sample ``d^T diag(h) d`` (independent sigmoids, h = P (1 - P)), or the
        variance of d under a softmax row ``p`` (h = P): ``sum_k p_k (d_k - p.d)^2``,
        never negative, unlike ``d^T diag(p) d - (p.d)^2`` after rounding; their
        weighted mean."""
        ops = array_ops(hessian)
        second_moment = ops.dot(hessian, self._weighted_D2)
        if self.link == "sigmoid":
            return second_moment / self.total
        # The variance as E[d^2] - (E d)^2, unless the two nearly cancel: then
        # rounding would swamp the difference, and it is summed centred.
        slopes = ops.row_dots(hessian, self.D)
        variance = second_moment - weighted_total(slopes * slopes, self.sample_weight)
        if variance > self._cancellation * second_moment:
            return variance / self.total
        centred = self.D - slopes[:, None]
        per_sample = ops.row_dots(hessian, centred * centred)
        return weighted_total(per_sample, self.sample_weight) / self.total
