import numpy as np
import pytest
from numpy.testing import assert_allclose

from sknn._core.functions import (
    OUTPUT_LINKS,
    data_loss,
    data_loss_and_residual,
    l2_penalty,
    log_probabilities,
    log_sigmoid,
    log_softmax,
    probabilities,
    sigmoid,
    softmax,
)

EXTREME = np.array([[-1e4, -800.0, -30.0, 0.0, 30.0, 800.0, 1e4]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_family_is_finite_and_exact_on_extremes(dtype):
    z = EXTREME.astype(dtype)
    s, log_s = sigmoid(z), log_sigmoid(z)
    assert s.dtype == log_s.dtype == dtype
    assert np.all(np.isfinite(log_s))
    assert_allclose(log_s[0, 0], -1e4, rtol=1e-6)
    assert_allclose(s[0, 3], 0.5)
    assert_allclose(1 - s[0, -1], 0, atol=1e-7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_is_stable_and_log_softmax_consistent(dtype):
    Z = np.vstack([EXTREME, -EXTREME, np.zeros_like(EXTREME)]).astype(dtype)
    P, log_P = softmax(Z.copy()), log_softmax(Z)
    assert P.dtype == log_P.dtype == dtype
    assert np.all(np.isfinite(log_P))
    assert_allclose(P.sum(axis=1), 1, rtol=1e-6)
    assert_allclose(np.exp(log_P), P, atol=1e-7)
    assert_allclose(P[2], 1 / Z.shape[1], rtol=1e-6)


@pytest.mark.parametrize("link", ["sigmoid", "softmax"])
def test_link_loss_matches_definition_and_residual_is_its_gradient(link):
    rng = np.random.RandomState(0)
    Z = rng.randn(6, 3)
    Y = np.eye(3)[rng.randint(3, size=6)]
    if link == "sigmoid":
        P = 1 / (1 + np.exp(-Z))
        expected = -(Y * np.log(P) + (1 - Y) * np.log(1 - P)).sum(axis=1)
    else:
        P = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
        expected = -(Y * np.log(P)).sum(axis=1)
    loss_and_residual, loss_only = OUTPUT_LINKS[link]
    assert_allclose(_per_sample(loss_only(Z, Y)), expected, rtol=1e-12)
    losses, residual = loss_and_residual(Z.copy(), Y)
    assert_allclose(_per_sample(losses), expected, rtol=1e-12)
    assert_allclose(residual, P - Y, atol=1e-15)


def _per_sample(losses):
    """A link's losses summed per sample (the sigmoid's come per unit)."""
    return losses if losses.ndim == 1 else losses.sum(axis=1)


@pytest.mark.parametrize("link", ["sigmoid", "softmax"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_link_losses_keep_dtype_and_agree(link, dtype):
    rng = np.random.RandomState(0)
    Z = (rng.randn(50, 4) * 30).astype(dtype)
    Y = np.eye(4, dtype=dtype)[rng.randint(4, size=50)]
    loss_and_residual, loss_only = OUTPUT_LINKS[link]
    only = loss_only(Z, Y)
    losses, residual = loss_and_residual(Z.copy(), Y)
    assert only.dtype == losses.dtype == residual.dtype == dtype
    assert_allclose(only, losses, rtol=10 * np.finfo(dtype).eps)


@pytest.mark.parametrize("link", ["sigmoid", "softmax"])
def test_losses_are_finite_on_saturated_logits(link):
    Z = np.array([[1e4, -1e4], [-1e4, 1e4]])
    Y = np.array([[0.0, 1.0], [1.0, 0.0]])  # maximally wrong
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        losses, residual = OUTPUT_LINKS[link][0](Z.copy(), Y)
    assert np.all(np.isfinite(losses)) and np.all(losses > 1e4 - 1)
    assert np.all(np.isfinite(residual))


def test_weighted_loss_normalises_by_weight_sum():
    rng = np.random.RandomState(1)
    Z, Y = rng.randn(4, 1), rng.randint(2, size=(4, 1)).astype(float)
    weights = np.array([1.0, 2.0, 0.0, 3.0])
    repeated = np.repeat(np.arange(4), weights.astype(int))
    loss, residual = data_loss_and_residual("sigmoid", Z.copy(), Y, weights)
    loss_rep, residual_rep = data_loss_and_residual(
        "sigmoid", Z[repeated].copy(), Y[repeated], None
    )
    assert_allclose(loss, loss_rep, rtol=1e-14)
    assert_allclose(data_loss("sigmoid", Z, Y, weights), loss, rtol=1e-14)
    # Summed per original row, the residuals agree too.
    assert_allclose(residual[:, 0], np.bincount(repeated, residual_rep[:, 0], minlength=4))


def test_l2_penalty():
    assert l2_penalty([np.ones((2, 2)), np.ones(3)], 0.5) == pytest.approx(0.25 * 7)
    assert l2_penalty([np.full(3, np.nan)], 0.0) == 0.0


@pytest.mark.parametrize("link,n_outputs", [("sigmoid", 1), ("sigmoid", 3), ("softmax", 3)])
def test_probabilities_sum_to_one_and_logs_are_stable(link, n_outputs):
    rng = np.random.RandomState(2)
    Z = rng.randn(5, n_outputs) * 1e3
    P, log_P = probabilities(link, Z), log_probabilities(link, Z)
    n_classes = max(2, n_outputs)
    assert P.shape == log_P.shape == (5, n_classes)
    assert_allclose(P.sum(axis=1), 1)
    assert np.all(np.isfinite(log_P))
    assert_allclose(np.exp(log_P), P, atol=1e-12)
    assert np.array_equal(P.argmax(axis=1), log_P.argmax(axis=1))
