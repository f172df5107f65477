import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from sknn._core.affine_line import AffineLine
from sknn._core.functions import data_loss
from sknn._core.objectives.linear import LinearObjective


def _line_problem(link, weighted, n_samples=40, n_outputs=3, seed=0):
    """Logits Z0, a direction D, one-hot (softmax) or 0/1 (sigmoid) targets Y, and weights."""
    rng = np.random.RandomState(seed)
    Z0 = rng.randn(n_samples, n_outputs)
    D = rng.randn(n_samples, n_outputs)
    if link == "softmax":
        Y = np.eye(n_outputs)[rng.randint(n_outputs, size=n_samples)]
    else:
        Y = rng.randint(2, size=(n_samples, n_outputs)).astype(float)
    weights = rng.uniform(0, 3, size=n_samples) if weighted else None
    if weighted:
        weights[0] = 0.0
    return Z0, D, Y, weights


parametrize_line = pytest.mark.parametrize(
    "link, n_outputs", [("sigmoid", 1), ("sigmoid", 3), ("softmax", 3)]
)
NO_PENALTY = (0.0, 0.0, 0.0)


@parametrize_line
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("step", [-0.7, 0.0, 0.3, 2.5])
def test_line_loss_and_its_derivatives_are_those_of_data_loss(link, n_outputs, weighted, step):
    Z0, D, Y, weights = _line_problem(link, weighted, n_outputs=n_outputs)
    line = AffineLine(link, Z0, D, Y, weights, NO_PENALTY, None)

    def f(s):
        return data_loss(link, Z0 + s * D, Y, weights)

    loss, derivative, curvature = line.at(step)
    assert loss == pytest.approx(f(step), rel=1e-13, abs=1e-15)
    h = 1e-5
    assert derivative == pytest.approx((f(step + h) - f(step - h)) / (2 * h), rel=1e-6, abs=1e-9)
    # Second differences of the loss itself (rounding ~eps / h^2, truncation ~h^2).
    h = 1e-3
    second = (f(step + h) - 2 * f(step) + f(step - h)) / h**2
    assert curvature > 0
    assert curvature == pytest.approx(second, rel=1e-6)
    # and central differences of the returned derivative.
    h = 1e-6
    derivatives = [line.at(s)[1] for s in (step + h, step - h)]
    assert curvature == pytest.approx((derivatives[0] - derivatives[1]) / (2 * h), rel=1e-6)


def test_the_penalty_is_a_quadratic_along_the_line():
    Z0, D, Y, _ = _line_problem("softmax", False)
    plain = AffineLine("softmax", Z0, D, Y, None, NO_PENALTY, None)
    penalised = AffineLine("softmax", Z0, D, Y, None, (2.0, -1.0, 3.0), None)
    for step in (0.0, 0.5, -2.0):
        (v0, d0, c0), (v1, d1, c1) = plain.at(step), penalised.at(step)
        assert v1 == pytest.approx(v0 + 2.0 - step + 1.5 * step**2, rel=1e-14)
        assert d1 == pytest.approx(d0 - 1.0 + 3.0 * step, rel=1e-14)
        assert c1 == pytest.approx(c0 + 3.0, rel=1e-14)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("saturated", [False, True])
def test_softmax_curvature_is_the_variance_of_d_even_where_its_moments_cancel(weighted, saturated):
    # Saturated rows (every probability but one about 1e-13) make
    # E[d^2] - (E d)^2 cancel to a tiny variance: the curvature must still be
    # accurate, not rounding noise.
    Z0, D, Y, weights = _line_problem("softmax", weighted, seed=5)
    if saturated:
        Z0 = 30.0 * Y
    D = D + 10.0  # a large common part, which the softmax's variance ignores
    line = AffineLine("softmax", Z0, D, Y, weights, NO_PENALTY, None)
    _, _, curvature = line.at(0.0)
    P = np.exp(Z0 - Z0.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    per_row = np.sum(P * (D - np.sum(P * D, axis=1, keepdims=True)) ** 2, axis=1)
    expected = np.average(per_row, weights=weights)
    assert curvature == pytest.approx(expected, rel=1e-9, abs=0)


@parametrize_line
def test_line_keeps_its_inputs(link, n_outputs):
    Z0, D, Y, weights = _line_problem(link, True, n_outputs=n_outputs, seed=2)
    copies = [a.copy() for a in (Z0, D, Y, weights)]
    line = AffineLine(link, Z0, D, Y, weights, NO_PENALTY, None)
    line.at(0.8)
    line.at(-3.0)
    for original, copy in zip((Z0, D, Y, weights), copies):
        assert_array_equal(original, copy)


@parametrize_line
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_line_loss_is_finite_and_quiet_on_huge_logits(link, n_outputs, dtype):
    Z0, D, Y, weights = _line_problem(link, True, n_outputs=n_outputs, seed=3)
    Z0, D, Y, weights = (a.astype(dtype) for a in (Z0 * 1e4, D * 1e4, Y, weights))
    line = AffineLine(link, Z0, D, Y, weights, NO_PENALTY, None)
    # Underflow of exp(-1e4) to 0 is exact enough, by design (see sknn._core.functions).
    with np.errstate(all="raise", under="ignore"):
        for step in (0.0, 0.5, -3.0):
            loss, derivative, curvature = line.at(step)
            assert all(np.isfinite([loss, derivative, curvature]))
            assert curvature >= 0 and loss > 0
            Z = Z0 + dtype(step) * D
            assert loss == pytest.approx(data_loss(link, Z, Y, weights), rel=1e-5)


@pytest.mark.parametrize(
    "link, n_classes", [("sigmoid", 1), ("sigmoid", 3), ("softmax", 3), ("softmax", 2)]
)
def test_a_linear_models_line_is_its_objective_along_the_direction(link, n_classes):
    # Two softmax classes go through the one-column reduction: the same line.
    rng = np.random.RandomState(0)
    X = rng.randn(30, 4) + 0.5
    n_outputs = max(n_classes, 1)
    if link == "softmax":
        Y = np.eye(n_outputs)[rng.randint(n_outputs, size=30)]
    else:
        Y = rng.randint(2, size=(30, n_outputs)).astype(float)
    weights = rng.uniform(0.5, 2.0, size=30)
    objective = LinearObjective(link, alpha=0.1)
    point, direction = (
        {
            name: scale * rng.randn(*p.shape)
            for name, p in objective.init_params(4, n_outputs, None, np.float64).items()
        }
        for scale in (0.3, 0.2)
    )
    line = objective.line(point, direction, X, Y, weights)

    def J(step):
        moved = {name: point[name] + step * direction[name] for name in point}
        return objective.loss(moved, X, Y, weights)

    for step in (0.0, 0.7, -1.3, 4.0):
        loss, derivative, curvature = line.at(step)
        assert loss == pytest.approx(J(step), rel=1e-13)
        h = 1e-5
        assert derivative == pytest.approx((J(step + h) - J(step - h)) / (2 * h), rel=1e-6)
        h = 1e-3
        second = (J(step + h) - 2 * J(step) + J(step - h)) / h**2
        assert curvature == pytest.approx(second, rel=1e-6)
    _, grads = objective.loss_grad(point, X, Y, weights)
    slope = sum(np.vdot(grads[name], direction[name]) for name in grads)
    assert line.at(0.0)[1] == pytest.approx(slope, rel=1e-12)


@pytest.mark.parametrize(
    "link, n_classes", [("sigmoid", 1), ("sigmoid", 3), ("softmax", 3), ("softmax", 2)]
)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_arriving_on_a_line_gives_the_objectives_loss_and_gradient(link, n_classes, weighted):
    rng = np.random.RandomState(1)
    X = rng.randn(30, 4) + 0.5
    Y = (
        np.eye(n_classes)[rng.randint(n_classes, size=30)]
        if link == "softmax"
        else rng.randint(2, size=(30, n_classes)).astype(float)
    )
    weights = rng.uniform(0.5, 2.0, size=30) if weighted else None
    objective = LinearObjective(link, alpha=0.1)
    shapes = objective.init_params(4, n_classes, None, np.float64)
    point, direction = (
        {name: scale * rng.randn(*p.shape) for name, p in shapes.items()} for scale in (0.3, 0.2)
    )
    line = objective.line(point, direction, X, Y, weights)
    _, _, start_curvature = line.at(0.0)
    assert line.curvature_at_start() == pytest.approx(start_curvature, rel=1e-14)
    line.at(2.0)
    line.at(0.6)
    loss, grads = line.arrive(0.6)
    moved = {name: point[name] + 0.6 * direction[name] for name in point}
    expected_loss, expected = objective.loss_grad(moved, X, Y, weights)
    assert loss == pytest.approx(expected_loss, rel=1e-13)
    for name in grads:
        assert_allclose(grads[name], expected[name], rtol=1e-12, atol=1e-15)
    # Elsewhere than the last point evaluated, it evaluates there first.
    loss, grads = line.arrive(2.0)
    moved = {name: point[name] + 2.0 * direction[name] for name in point}
    expected_loss, expected = objective.loss_grad(moved, X, Y, weights)
    assert loss == pytest.approx(expected_loss, rel=1e-13)
    assert_allclose(grads["W"], expected["W"], rtol=1e-12, atol=1e-15)
