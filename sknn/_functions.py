"""Pure numerical functions: output links, losses and hidden activations.

Everything here is stable for any finite input (no overflow warnings), keeps
the dtype of its input, and can write into a caller's buffer (``out=``) so the
training loop allocates nothing per step. Exponentials of very negative
numbers underflow to 0 by design; that underflow is exact enough and is
ignored (the training loop ignores it once around a whole fit, the
prediction entry points here each time), so ``np.seterr(all='raise')`` does
not break training or prediction.
"""

import functools

import numpy as np
from scipy.special import expit, log_expit


def underflow_is_fine(function):
    """Run ``function`` with floating-point underflow ignored (exp(-1000) is 0, fine)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with np.errstate(under="ignore"):
            return function(*args, **kwargs)

    return wrapper


def sigmoid(z, out=None):
    """Logistic function ``1 / (1 + exp(-z))``, stable for any finite ``z``."""
    return expit(z, out=out)


def log_sigmoid(z, out=None):
    """``log(sigmoid(z))`` without forming ``sigmoid(z)``: finite for large ``-z``."""
    return log_expit(z, out=out)


def log_softmax(z):
    """Row-wise ``log(softmax(z))`` by the log-sum-exp trick."""
    shifted = z - z.max(axis=1, keepdims=True)
    shifted -= np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return shifted


def softmax(z):
    """Row-wise softmax; the row maximum is subtracted first so ``exp`` never overflows."""
    p = z - z.max(axis=1, keepdims=True)
    np.exp(p, out=p)
    p /= p.sum(axis=1, keepdims=True)
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
        The input buffer, now holding ``sigmoid(Z) - Y``.
    """
    losses = sigmoid_loss(Z, Y)
    sigmoid(Z, out=Z)
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
        The input buffer, now holding ``softmax(Z) - Y``.
    """
    target_logit = _row_dot(Y, Z)
    row_max = _row_max(Z)
    Z -= row_max[:, None]
    np.exp(Z, out=Z)
    normaliser = _row_sum(Z)
    Z /= normaliser[:, None]
    Z -= Y
    losses = np.log(normaliser)
    losses += row_max
    losses -= target_logit
    return losses, Z


def sigmoid_loss(Z, Y):
    """Losses of :func:`sigmoid_loss_and_residual`, leaving ``Z`` intact."""
    losses = softplus(Z)
    losses -= _times(Y, Z)
    return losses


def softmax_loss(Z, Y):
    """Per-sample loss of :func:`softmax_loss_and_residual`, leaving ``Z`` intact."""
    row_max = _row_max(Z)
    shifted = np.subtract(Z, row_max[:, None])
    np.exp(shifted, out=shifted)
    losses = np.log(_row_sum(shifted))
    losses += row_max
    losses -= _row_dot(Y, Z)
    return losses


def softplus(z):
    """``log(1 + exp(z))`` as ``max(z, 0) + log1p(exp(-|z|))``: finite for any finite ``z``.

    Several times faster than ``np.logaddexp(0, z)``, and within 2.5 ulps of
    the exact value (np.logaddexp: 1.2 in float32): ``exp`` never sees a
    positive argument, and ``log1p`` of a number in [0, 1] loses nothing.
    """
    out = np.abs(z)
    np.negative(out, out=out)
    np.exp(out, out=out)
    np.log1p(out, out=out)
    return _add_positive_part(out, z)


# NumPy specifics of the loss kernels, kept apart from the math: ufuncs with
# out= and BLAS products in place of slow reductions over short rows.
def _add_positive_part(out, z):
    """``out += max(z, 0)`` (a masked ``np.add(..., where=z > 0)`` is several times slower)."""
    out += np.maximum(z, 0)
    return out


def _times(a, b):
    """``a * b`` in a new array."""
    return np.multiply(a, b)


def _row_dot(a, b):
    """Row-wise dot products of two (n, k) arrays."""
    return np.einsum("ij,ij->i", a, b)


def _row_max(Z):
    """Row maxima of an (n, k) array.

    Fast for a Fortran-ordered Z (NumPy then takes k elementwise maxima over
    contiguous columns), the layout of the linear models' logits; over the
    short rows of a C-ordered one it is several times slower.
    """
    return Z.max(axis=1)


def _row_sum(Z):
    """Row sums of an (n, k) array (see :func:`_row_max` for the layout)."""
    return Z.sum(axis=1)


# Output links. Each pairs an output activation with its matching loss, so the
# gradient with respect to the logits is always ``P - Y``. The losses have one
# row per sample; a sample's loss is the sum of its row.
OUTPUT_LINKS = {
    "sigmoid": (sigmoid_loss_and_residual, sigmoid_loss),
    "softmax": (softmax_loss_and_residual, softmax_loss),
}


# Hidden activations work in place. A derivative takes the activation's
# *output* A (so Z1 need not be kept) and multiplies the incoming gradient
# ``delta`` by g'(z) in place. It may overwrite A, which backprop no longer
# needs by then, so the hot loop allocates no (n_samples, n_hidden) arrays.
def _tanh(Z):
    return np.tanh(Z, out=Z)


def _relu(Z):
    return np.maximum(Z, 0, out=Z)


def _leaky_relu(Z):
    # max(0.01 z, z) keeps the sign of z, so the derivative can be read off A.
    return np.maximum(Z, Z * 0.01, out=Z)


def _sigmoid(Z):
    return sigmoid(Z, out=Z)


def _tanh_derivative(A, delta):
    A *= A
    np.subtract(1, A, out=A)
    delta *= A


def _relu_derivative(A, delta):
    np.greater(A, 0, out=A)
    delta *= A


def _leaky_relu_derivative(A, delta):
    # 1 where z > 0, else 0.01 (the value at z = 0 is a convention).
    np.greater(A, 0, out=A)
    A *= 0.99
    A += 0.01
    delta *= A


def _sigmoid_derivative(A, delta):
    delta *= A
    np.subtract(1, A, out=A)
    delta *= A


ACTIVATIONS = {
    "tanh": (_tanh, _tanh_derivative),
    "relu": (_relu, _relu_derivative),
    "leaky_relu": (_leaky_relu, _leaky_relu_derivative),
    "sigmoid": (_sigmoid, _sigmoid_derivative),
}


def data_loss_and_residual(link, Z, Y, sample_weight, total_weight=None):
    """Weighted mean loss of an output layer and the gradient w.r.t. its logits.

    ``Z`` (the logits) is overwritten with that gradient: ``s_i (P - Y) / S``
    with ``S = sum(s)``, or ``(P - Y) / n_samples`` when ``sample_weight`` is
    None. Normalising by the weight sum makes a weight of k count exactly as k
    repeated rows. For one chunk of a larger batch, ``total_weight`` is the S
    of the whole batch, and the returned loss is the chunk's share of the mean.
    """
    losses, residual = OUTPUT_LINKS[link][0](Z, Y)
    if sample_weight is None:
        total = Z.shape[0] if total_weight is None else total_weight
        residual *= 1.0 / total
        return _weighted_total(losses, None) / total, residual
    total = sample_weight.sum() if total_weight is None else total_weight
    scaled = sample_weight / total
    residual *= scaled[:, None]
    return _weighted_total(losses, scaled), residual


@underflow_is_fine
def data_loss(link, Z, Y, sample_weight):
    """Weighted mean loss of an output layer, from its logits ``Z`` (left intact)."""
    losses = OUTPUT_LINKS[link][1](Z, Y)
    if sample_weight is None:
        return _weighted_total(losses, None) / losses.shape[0]
    return _weighted_total(losses, sample_weight) / float(sample_weight.sum())


def _weighted_total(losses, sample_weight):
    """``sum_i s_i l_i`` of per-sample losses, or of per-unit losses summed over each row."""
    if sample_weight is None:
        return float(losses.sum())
    return float(np.sum(sample_weight @ losses))


def l2_penalty(weights, alpha):
    """``alpha / 2`` times the sum of squares of the given weight arrays."""
    if alpha == 0:
        return 0.0
    # ravel(order="K") is a view for C- and Fortran-ordered arrays alike, where
    # np.vdot would copy a Fortran-ordered one.
    flat = [W.ravel(order="K") for W in weights]
    return 0.5 * alpha * sum(float(w @ w) for w in flat)


def inner_product(a, b):
    """Sum over the arrays of two dicts with the same keys of their elementwise products."""
    return float(sum(_dot(a[name], b[name]) for name in a))


def _dot(a, b):
    if a.flags.f_contiguous == b.flags.f_contiguous:
        # ravel(order="K") is a view for C- and Fortran-ordered arrays alike,
        # and lists the elements of two arrays of one layout in the same order.
        return float(a.ravel(order="K") @ b.ravel(order="K"))
    return float(np.einsum("...,...->", a, b))


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
    if Z.shape[1] == 1:
        P = sigmoid(np.hstack([-Z, Z]))
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
    tied = (decision > 0) & (P[:, 0] >= P[:, 1])
    if tied.any():
        P[tied, 0] = np.nextafter(P[tied, 1], 0)


@underflow_is_fine
def log_probabilities(link, Z, independent=False):
    """``log(probabilities(link, Z, independent))`` computed from the logits, finite everywhere."""
    if independent:
        return log_sigmoid(Z)
    if link == "softmax":
        return log_softmax(Z)
    if Z.shape[1] == 1:
        return log_sigmoid(np.hstack([-Z, Z]))
    return log_softmax(log_sigmoid(Z))
