import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from sknn._optimizers import Adam, GradientDescent, Momentum, make_optimizer


def _problem(dtype=np.float64):
    params = {"W": np.array([[1.0, -2.0]], dtype=dtype), "b": np.array([0.5], dtype=dtype)}

    def grads():
        return {"W": np.array([[0.1, 0.2]], dtype=dtype), "b": np.array([-0.3], dtype=dtype)}

    return params, grads


def test_gradient_descent_step():
    params, grads = _problem()
    GradientDescent(0.5).step(params, grads())
    assert_allclose(params["W"], [[0.95, -2.1]])
    assert_allclose(params["b"], [0.65])


def test_momentum_accumulates_velocity():
    params, grads = _problem()
    optimizer = Momentum(0.5, beta_1=0.9)
    optimizer.step(params, grads())
    optimizer.step(params, grads())
    # v1 = -lr g, v2 = 0.9 v1 - lr g; p = p0 + v1 + v2
    g = grads()["W"]
    assert_allclose(params["W"], [[1.0, -2.0]] - 0.5 * g * (1 + 1.9))


def test_adam_matches_textbook_formula():
    params, grads = _problem()
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    optimizer = Adam(lr, b1, b2, eps)
    expected = params["W"].copy()
    m = v = np.zeros_like(expected)
    for t in (1, 2, 3):
        g = grads()["W"]
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        expected = expected - lr * math.sqrt(1 - b2**t) / (1 - b1**t) * m / (np.sqrt(v) + eps)
        optimizer.step(params, grads())
    assert_allclose(params["W"], expected, rtol=1e-12)
    assert optimizer.t == 3


@pytest.mark.parametrize("name", ["gd", "momentum", "adam"])
def test_float32_stays_float32(name):
    # A NumPy float64 scalar step size would promote float32 parameters.
    params, grads = _problem(np.float32)
    optimizer = make_optimizer(name, np.float64(0.1), 0.9, 0.999, 1e-8)
    for _ in range(3):
        optimizer.step(params, grads())
    assert all(p.dtype == np.float32 for p in params.values())


@pytest.mark.parametrize("name", ["gd", "momentum", "adam"])
def test_step_updates_in_place(name):
    params, grads = _problem()
    before = {k: id(v) for k, v in params.items()}
    make_optimizer(name, 0.1, 0.9, 0.999, 1e-8).step(params, grads())
    assert {k: id(v) for k, v in params.items()} == before


def test_make_optimizer_types():
    assert type(make_optimizer("gd", 1.0, 0.9, 0.999, 1e-8)) is GradientDescent
    assert type(make_optimizer("momentum", 1.0, 0.9, 0.999, 1e-8)) is Momentum
    adam = make_optimizer("adam", 1.0, 0.8, 0.99, 1e-7)
    assert_array_equal([adam.beta_1, adam.beta_2, adam.epsilon], [0.8, 0.99, 1e-7])
