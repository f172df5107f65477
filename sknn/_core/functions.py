"""Pure numerical functions: output links, losses and hidden activations.

Everything here is stable for any finite input (no overflow warnings), keeps
the dtype of its input, works on arrays of any Array API namespace (through
:mod:`sknn._core.array_ops`), and with NumPy writes into a caller's buffer
(``out=``) so the training loop allocates nothing per step; callers use the
returned array, which is that buffer for NumPy. Exponentials of very negative
numbers underflow to 0 by design; that underflow is exact enough and is
ignored (the training loop ignores it once around a whole fit, the
prediction entry points here each time), so ``np.seterr(all='raise')`` does
not break training or prediction.
"""

import functools

import numpy as np

from .array_ops import array_ops


def underflow_is_fine(function):
    """Run ``function`` with floating-point underflow ignored (exp(-1000) is 0, fine)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with np.errstate(under="ignore"):
            return function(*args, **kwargs)

    return wrapper


def sigmoid(z, out=None):
    """Logistic function ``1 / (1 + exp(-z))``, stable for any finite ``z``."""
    return array_ops(z).sigmoid(z, out=out)


def log_sigmoid(z, out=None):
    """``log(sigmoid(z))`` without forming ``sigmoid(z)``: finite for large ``-z``."""
    return array_ops(z).log_sigmoid(z, out=out)


def log_softmax(z):
    """Row-wise ``log(softmax(z))`` by the log-sum-exp trick."""
    xp = array_ops(z).xp
    shifted = z - xp.max(z, axis=1, keepdims=True)
    shifted -= xp.log(xp.sum(xp.exp(shifted), axis=1, keepdims=True))
    return shifted


def softmax(z):
    """Row-wise softmax; the row maximum is subtracted first so ``exp`` never overflows."""
    ops = array_ops(z)
    p = z - ops.xp.max(z, axis=1, keepdims=True)
    p = ops.exp(p, out=p)
    p /= ops.xp.sum(p, axis=1, keepdims=True)
    return p


def sigmoid_loss_and_residual(Z, Y):
    """Binary log-losses of independent sigmoid units, and ``sigmoid(Z) - Y``.

    The loss of one unit is ``log(1 + exp(z)) - y z``, computed from the logit
    ``z`` so it stays finite where ``sigmoid(z)`` rounds to 0 or 1. ``Z`` is
    overwritten with the residual, which is the gradient of the loss with
    respect to the logits.

    Returns
    -------
    losses : ndarray of shape (n_samples, n_units)
        Loss of each unit of each sample: a sample's loss is its row's sum
        (left unsummed: a row sum over a few units costs more than the losses).
    Z : ndarray
        The input buffer (NumPy), now holding ``sigmoid(Z) - Y``.
    """
    losses = sigmoid_loss(Z, Y)
    Z = array_ops(Z).sigmoid(Z, out=Z)
    Z -= Y
    return losses, Z


def softmax_loss_and_residual(Z, Y):
    """Cross-entropy of a softmax layer, and ``softmax(Z) - Y``.

    The loss of a sample is ``logsumexp(z) - y . z``; ``Z`` is overwritten
    with the residual (the gradient with respect to the logits).

    Returns
    -------
    losses : ndarray of shape (n_samples,)
    Z : ndarray
        The input buffer (NumPy), now holding ``softmax(Z) - Y``.
    """
    ops = array_ops(Z)
    xp = ops.xp
    target_logit = ops.row_dots(Y, Z)
    row_max = xp.max(Z, axis=1)
    Z -= row_max[:, None]
    Z = ops.exp(Z, out=Z)
    normaliser = ops.sum(Z, axis=1)
    Z /= normaliser[:, None]
    Z -= Y
    losses = xp.log(normaliser)
    losses += row_max
    losses -= target_logit
    return losses, Z


def sigmoid_loss(Z, Y):
    """Losses of :func:`sigmoid_loss_and_residual`, leaving ``Z`` intact."""
    losses = array_ops(Z).softplus(Z)
    losses -= Y * Z
    return losses


def softmax_loss(Z, Y):
    """Per-sample loss of :func:`softmax_loss_and_residual`, leaving ``Z`` intact."""
    ops = array_ops(Z)
    xp = ops.xp
    row_max = xp.max(Z, axis=1)
    shifted = Z - row_max[:, None]
    shifted = ops.exp(shifted, out=shifted)
    losses = xp.log(ops.sum(shifted, axis=1))
    losses += row_max
    losses -= ops.row_dots(Y, Z)
    return losses


# Output links. Each pairs an output activation with its matching loss, so the
# gradient with respect to the logits is always ``P - Y``. The losses have one
# row per sample; a sample's loss is the sum of its row.
OUTPUT_LINKS = {
    "sigmoid": (sigmoid_loss_and_residual, sigmoid_loss),
    "softmax": (softmax_loss_and_residual, softmax_loss),
}


def data_loss_and_residual(link, Z, Y, sample_weight, total=None):
    """Weighted mean loss of an output layer and the gradient w.r.t. its logits.

    ``Z`` (the logits) is overwritten with that gradient: ``s_i (P - Y) / S``
    with ``S = sum(s)``, or ``(P - Y) / n_samples`` when ``sample_weight`` is
    None. Normalising by the weight sum makes a weight of k count exactly as k
    repeated rows. For one chunk of a larger batch, ``total`` is the S
    of the whole batch, and the returned loss is the chunk's share of the mean.
    """
    losses, residual = OUTPUT_LINKS[link][0](Z, Y)
    total = total_weight(sample_weight, Z.shape[0]) if total is None else total
    if sample_weight is None:
        residual *= 1.0 / total
        return weighted_total(losses, None) / total, residual
    scaled = sample_weight / total
    residual *= scaled[:, None]
    return weighted_total(losses, scaled), residual


@underflow_is_fine
def data_loss(link, Z, Y, sample_weight):
    """Weighted mean loss of an output layer, from its logits ``Z`` (left intact)."""
    losses = OUTPUT_LINKS[link][1](Z, Y)
    return weighted_total(losses, sample_weight) / total_weight(sample_weight, Z.shape[0])


def total_weight(sample_weight, n_rows):
    """The weight of ``n_rows`` rows: their number, or the sum of their weights."""
    if sample_weight is None:
        return n_rows
    return float(array_ops(sample_weight).sum(sample_weight))


def weighted_total(losses, sample_weight):
    """``sum_i s_i l_i`` of per-sample losses, or of per-unit losses summed over each row."""
    ops = array_ops(losses)
    if sample_weight is None:
        return float(ops.sum(losses))
    return float(ops.sum(sample_weight @ losses))


def l2_penalty(weights, alpha):
    """``alpha / 2`` times the sum of squares of the given weight arrays."""
    if alpha == 0:
        return 0.0
    ops = array_ops(*weights)
    return 0.5 * alpha * sum(ops.squared_norm(W) for W in weights)


@underflow_is_fine
def probabilities(link, Z, independent=False):
    """Class probabilities from output logits ``Z`` of shape (n_samples, n_outputs).

    One sigmoid unit gives ``[1 - p, p]``; several sigmoid units (one-vs-rest)
    are normalised to sum to one; a softmax layer is a softmax.
    ``independent=True`` (multilabel: each unit is its own binary problem)
    gives each sigmoid unit's probability as it is, not normalised.
    """
    if independent:
        return sigmoid(Z)
    if link == "softmax":
        P = softmax(Z)
        if Z.shape[1] == 2:
            _break_ties_by_sign(P, Z[:, 1] - Z[:, 0])
        return P
    xp = array_ops(Z).xp
    if Z.shape[1] == 1:
        P = sigmoid(xp.concat([-Z, Z], axis=1))
        _break_ties_by_sign(P, Z[:, 0])
        return P
    # Normalised in log space: where every sigmoid underflows to 0 (all logits
    # below about -745 in float64), sigmoid(Z) / sum would be 0 / 0.
    return softmax(log_sigmoid(Z))


def _break_ties_by_sign(P, decision):
    """Make two-class probabilities that round to a tie agree with the decision's sign.

    A decision of 1e-17 picks the second class, but both probabilities round
    to 0.5 and an argmax would pick the first; one ulp less for the first
    class makes ``argmax(P) == (decision > 0)`` hold everywhere.
    """
    xp = array_ops(P).xp
    tied = (decision > 0) & (P[:, 0] >= P[:, 1])
    if bool(xp.any(tied)):
        below = xp.nextafter(P[:, 1], xp.zeros_like(P[:, 1]))
        P[:, 0] = xp.where(tied, below, P[:, 0])


@underflow_is_fine
def log_probabilities(link, Z, independent=False):
    """``log(probabilities(link, Z, independent))`` computed from the logits, finite everywhere."""
    if independent:
        return log_sigmoid(Z)
    if link == "softmax":
        return log_softmax(Z)
    if Z.shape[1] == 1:
        return log_sigmoid(array_ops(Z).xp.concat([-Z, Z], axis=1))
    return log_softmax(log_sigmoid(Z))
