"""The network's objective: ``Z2 = g(X W1 + b1) W2 + b2``, by vectorized backprop."""

import math

import numpy as np
import scipy.sparse as sp
from sklearn.utils.extmath import safe_sparse_dot

from ..activations import ACTIVATIONS
from ..array_ops import array_ops
from ..functions import data_loss, data_loss_and_residual, l2_penalty, total_weight

# Rows per chunk of a dense batch: large enough for full-speed matrix
# products, small enough for the hidden layer of a chunk to stay in cache.
_CHUNK_ROWS = 8192


class ShallowNetObjective:
    """Loss and gradient of ``Z2 = g(X W1 + b1) W2 + b2`` under an output link.

    Parameters are ``W1`` (n_features, n_hidden), ``b1`` (n_hidden,), ``W2``
    (n_hidden, n_outputs) and ``b2`` (n_outputs,). The loss is the weighted
    mean loss of the link plus ``alpha / 2 * (||W1||^2 + ||W2||^2)``.

    The hidden layer is held transposed, one row per unit: OpenBLAS
    multiplies ``W1^T X^T`` and ``dZ1^T X`` faster than ``X W1`` and
    ``X^T dZ1`` for these shapes, and sums over samples become sums along
    contiguous rows. ``W1`` is kept in Fortran order so that ``W1^T`` and its
    gradient's transpose are C-contiguous operands.
    """

    def __init__(self, link, alpha, activation, hidden_layer_size, init, init_scale):
        self.link = link
        self.alpha = alpha
        entry = ACTIVATIONS[activation]
        self.activate, self.apply_derivative = entry.forward, entry.derivative
        self.hidden_layer_size = hidden_layer_size
        self.init = entry.init if init == "auto" else init
        self.init_scale = init_scale

    def param_shapes(self, n_features, n_outputs):
        n_hidden = self.hidden_layer_size
        return {
            "W1": (n_features, n_hidden),
            "b1": (n_hidden,),
            "W2": (n_hidden, n_outputs),
            "b2": (n_outputs,),
        }

    def as_params(self, arrays, like):
        # W1 Fortran-ordered, as init_params makes it (see the class docstring).
        ops = array_ops(like)
        return {
            name: ops.copy(
                ops.asarray(a, like=like), dtype=like.dtype, order="F" if name == "W1" else "C"
            )
            for name, a in arrays.items()
        }

    def init_params(self, n_features, n_outputs, rng, dtype):
        n_hidden = self.hidden_layer_size
        # Drawn in the course's (fan_out, fan_in) layout and transposed, so
        # init='normal' with a seed gives the course's initial weights.
        return {
            "W1": np.asfortranarray(self._draw(rng, n_hidden, n_features).T, dtype=dtype),
            "b1": np.zeros(n_hidden, dtype=dtype),
            "W2": np.ascontiguousarray(self._draw(rng, n_outputs, n_hidden).T, dtype=dtype),
            "b2": np.zeros(n_outputs, dtype=dtype),
        }

    def _draw(self, rng, fan_out, fan_in):
        scale = {
            "normal": self.init_scale,
            "xavier": math.sqrt(2.0 / (fan_in + fan_out)),
            "he": math.sqrt(2.0 / fan_in),
        }[self.init]
        return rng.standard_normal((fan_out, fan_in)) * scale

    def logits(self, params, X):
        hidden = safe_sparse_dot(X, params["W1"], dense_output=True)
        hidden += params["b1"]
        hidden = self.activate(array_ops(hidden), hidden)
        Z = hidden @ params["W2"]
        Z += params["b2"]
        return Z

    def loss(self, params, X, Y, sample_weight):
        # In chunks of rows, as loss_grad, so that a line search's trial
        # losses never hold the hidden layer of the whole batch.
        total = 0.0
        ops = array_ops(Y)
        for rows in _chunks(X):
            weights = None if sample_weight is None else sample_weight[rows]
            chunk_logits = self.logits(params, ops.slice_rows(X, rows))
            chunk_loss = data_loss(self.link, chunk_logits, ops.slice_rows(Y, rows), weights)
            total += chunk_loss * total_weight(weights, rows.stop - rows.start)
        return total / total_weight(sample_weight, X.shape[0]) + self._penalty(params)

    def _penalty(self, params):
        return l2_penalty([params["W1"], params["W2"]], self.alpha)

    def loss_grad(self, params, X, Y, sample_weight):
        total = total_weight(sample_weight, X.shape[0])
        ops = array_ops(Y)
        # In chunks of rows (see _chunks): the hidden layer of a chunk stays in
        # cache, and memory does not grow with the batch.
        loss, grads = 0.0, None
        for rows in _chunks(X):
            weights = None if sample_weight is None else sample_weight[rows]
            X_rows, Y_rows = ops.slice_rows(X, rows), ops.slice_rows(Y, rows)
            chunk_loss, chunk_grads = self._chunk_loss_grad(
                ops, params, X_rows, Y_rows, weights, total
            )
            loss += chunk_loss
            if grads is None:
                grads = chunk_grads
            else:
                for name, grad in chunk_grads.items():
                    grads[name] += grad
        for name in ("W1", "W2") if self.alpha else ():
            grads[name] += self.alpha * params[name]
        return loss + self._penalty(params), grads

    def _chunk_loss_grad(self, ops, params, X, Y, sample_weight, total):
        """Forward and backward pass over one chunk: its share of the loss and gradient."""
        W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
        # Transposed layout: A1T is A1^T (n_hidden, n_rows), Z2T is Z2^T.
        A1T = _first_layer_forward(X, W1)
        A1T += b1[:, None]
        A1T = self.activate(ops, A1T)
        Z2T = W2.T @ A1T
        Z2T += b2[:, None]
        loss, dZ2 = data_loss_and_residual(self.link, Z2T.T, Y, sample_weight, total)

        # Backward: output layer, then back through the activation.
        grads = {"W2": A1T @ dZ2, "b2": ops.sum(dZ2, axis=0)}
        deltaT = self.apply_derivative(ops, A1T, W2 @ dZ2.T)  # dZ1^T; A1T is spent
        grads["W1"] = _first_layer_backward(X, deltaT)
        grads["b1"] = ops.sum(deltaT, axis=1)
        return loss, grads


def _chunks(X):
    """Row slices of equal size (one GEMM shape), at most _CHUNK_ROWS each.

    A CSR chunk is a copy of its rows only (memory of one chunk); slicing the
    rows of a CSC matrix would rebuild it whole, so CSC goes in one piece.
    """
    n_samples = X.shape[0]
    whole = sp.issparse(X) and X.format != "csr"
    n_chunks = 1 if whole else max(1, -(-n_samples // _CHUNK_ROWS))
    step = max(1, -(-n_samples // n_chunks))
    for start in range(0, n_samples, step):
        yield slice(start, min(start + step, n_samples))


def _first_layer_forward(X, W1):
    """``(X W1)^T``."""
    if sp.issparse(X):
        return safe_sparse_dot(X, W1, dense_output=True).T
    return W1.T @ X.T


def _first_layer_backward(X, deltaT):
    """``X^T dZ1`` from ``deltaT = dZ1^T``, in W1's layout (Fortran order)."""
    if sp.issparse(X):
        return np.asfortranarray(safe_sparse_dot(X.T, deltaT.T, dense_output=True))
    return (deltaT @ X).T
