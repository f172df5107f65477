import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.optimize import minimize, minimize_scalar

import sknn._core.optimizers
from sknn._core.loop import TrainingLog, _FullBatchProblem, train
from sknn._core.optimizers import (
    Adam,
    ConjugateGradient,
    GradientDescent,
    LimitedMemoryBFGS,
    Momentum,
    make_optimizer,
)
from sknn._core.preconditioning import CenteringPreconditioner
from sknn.linear import LinearObjective


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


# ------------------------------------------------------------ conjugate gradient
def _cg_problem(link="softmax", n_outputs=3, seed=0, dtype=np.float64):
    """A weighted, L2-penalised linear problem on badly scaled, uncentred features."""
    rng = np.random.RandomState(seed)
    X = rng.randn(60, 5) * [1.0, 3.0, 0.3, 20.0, 1.0] + 2.0
    if link == "softmax" or n_outputs > 1:
        Y = np.eye(n_outputs)[rng.randint(n_outputs, size=60)]
    else:
        Y = rng.randint(2, size=(60, 1)).astype(float)
    sample_weight = rng.uniform(0.5, 2.0, size=60)
    objective = LinearObjective(link, alpha=0.01)
    return objective, (X.astype(dtype), Y.astype(dtype), sample_weight.astype(dtype))


def _first_gradient(objective, data, params):
    problem = _FullBatchProblem(objective, *data)
    loss, grads = problem.loss_grad(params)
    problem.squared_gradient_norm = objective.inner(grads, grads)
    return problem, loss, grads


def _flat_minimum(objective, data, n_features, n_outputs):
    """The objective's minimum by L-BFGS-B on the flattened parameters, far below any tol."""
    size = n_features * n_outputs

    def fun(theta):
        params = {"W": theta[:size].reshape(n_features, n_outputs), "b": theta[size:]}
        loss, grads = objective.loss_grad(params, *data)
        return loss, np.concatenate([grads["W"].ravel(), grads["b"]])

    result = minimize(
        fun,
        np.zeros(size + n_outputs),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 100_000, "ftol": 1e-16, "gtol": 1e-13, "maxcor": 30},
    )
    return result.fun


@pytest.mark.parametrize("name, cls", [("cg", ConjugateGradient), ("lbfgs", LimitedMemoryBFGS)])
def test_make_optimizer_line_search_optimizers_are_full_batch_only(name, cls):
    preconditioner = object()
    optimizer = make_optimizer(name, 0.5, 0.9, 0.999, 1e-8, preconditioner=preconditioner)
    assert type(optimizer) is cls and optimizer.name == name
    assert optimizer.learning_rate == 0.5 and optimizer._preconditioner is preconditioner
    assert cls.replaces_its_state
    with pytest.raises(ValueError, match=f"'{name}'.*full batch"):
        make_optimizer(name, 0.5, 0.9, 0.999, 1e-8, full_batch=False)


def test_cg_state_round_trips_by_reference():
    objective, data = _cg_problem()
    cg = make_optimizer("cg", 1.0, 0.9, 0.999, 1e-8)
    assert cg.get_state() == {}
    params = objective.init_params(5, 3, None, np.float64)
    problem, loss, grads = _first_gradient(objective, data, params)
    cg.step(params, grads, loss, problem)
    state = cg.get_state()
    assert set(state) == {"direction", "preconditioned_gradient", "gradient_product"}
    assert state["direction"] is cg.direction
    assert state["preconditioned_gradient"] is cg.preconditioned_gradient
    assert isinstance(state["gradient_product"], float) and state["gradient_product"] > 0
    other = make_optimizer("cg", 1.0, 0.9, 0.999, 1e-8)
    other.set_state(state)
    again = other.get_state()
    assert again["direction"] is state["direction"]
    assert again["preconditioned_gradient"] is state["preconditioned_gradient"]
    assert again["gradient_product"] == state["gradient_product"]
    # A stored NumPy scalar comes back a Python float; an empty state clears.
    other.set_state({**state, "gradient_product": np.float64(2.5)})
    assert type(other.gradient_product) is float
    other.set_state({})
    assert other.get_state() == {}


@pytest.mark.parametrize("link, n_outputs", [("sigmoid", 1), ("sigmoid", 3), ("softmax", 3)])
def test_line_search_optimizers_reach_the_minimum(link, n_outputs):
    objective, data = _cg_problem(link, n_outputs, seed=1)
    X, _, sample_weight = data
    minimum = _flat_minimum(objective, data, 5, n_outputs)
    preconditioner = CenteringPreconditioner(X, sample_weight)
    assert preconditioner.mean is not None and preconditioner.scale is not None
    iterations = {}
    for name in ("cg", "lbfgs"):
        for kind, candidate in (("plain", None), ("preconditioned", preconditioner)):
            params = objective.init_params(5, n_outputs, None, np.float64)
            optimizer = make_optimizer(name, 1.0, 0.9, 0.999, 1e-8, preconditioner=candidate)
            log = TrainingLog()
            reason = train(objective, params, optimizer, *data, log=log, max_iter=3000, tol=1e-10)
            assert reason == "converged", (name, kind)
            assert (objective.loss(params, *data) - minimum) / minimum < 1e-10, (name, kind)
            # Every step descends (a line search along descent directions).
            assert np.all(np.diff(log.loss_curve) <= 1e-15 * log.loss_curve[0]), (name, kind)
            iterations[name, kind] = len(log.loss_curve)
    # Centred and scaled, the problem is far better conditioned (measured: 5-30x).
    assert iterations["cg", "preconditioned"] * 4 < iterations["cg", "plain"]
    # ... and L-BFGS's memory takes fewer steps still.
    assert iterations["lbfgs", "preconditioned"] < iterations["cg", "preconditioned"]


@pytest.mark.parametrize("preconditioned", [False, True], ids=["plain", "preconditioned"])
@pytest.mark.parametrize("link", ["sigmoid", "softmax"])
def test_cg_first_step_is_a_line_minimum_along_the_preconditioned_steepest_descent(
    link, preconditioned
):
    objective, data = _cg_problem(link, seed=2)
    X, _, sample_weight = data
    preconditioner = CenteringPreconditioner(X, sample_weight) if preconditioned else None
    params = objective.init_params(5, 3, None, np.float64)
    start = {name: p.copy() for name, p in params.items()}
    problem, loss, grads = _first_gradient(objective, data, params)
    direction = {
        name: -g for name, g in (grads if preconditioner is None else preconditioner(grads)).items()
    }
    cg = make_optimizer("cg", 1.0, 0.9, 0.999, 1e-8, preconditioner=preconditioner)
    cg.step(params, grads, loss, problem)

    def phi(step):
        return objective.loss({k: start[k] + step * direction[k] for k in start}, *data)

    # The step moved exactly along -M g ...
    step = float((params["b"] - start["b"])[0] / direction["b"][0])
    assert step > 0
    for name in params:
        assert_allclose(params[name], start[name] + step * direction[name], rtol=1e-12)
    for name in direction:
        assert_allclose(cg.direction[name], direction[name], rtol=1e-15)
    # ... to a point of the strong Wolfe conditions (c1 = 1e-4, c2 = 0.1) ...
    slope = objective.inner(grads, direction)
    h = 1e-6 * step
    derivative = (phi(step + h) - phi(step - h)) / (2 * h)
    assert phi(step) <= loss + 1e-4 * step * slope
    assert abs(derivative) <= 0.1 * abs(slope)
    # ... near the exact line minimum (a scalar minimisation): the strong Wolfe
    # search is not exact, but it takes nearly all of the line's decrease.
    exact = minimize_scalar(phi, bracket=(0.0, step), tol=1e-12)
    assert exact.fun <= phi(step)
    assert abs(step - exact.x) <= 0.2 * exact.x
    assert phi(step) - exact.fun <= 0.02 * (loss - exact.fun)


def test_cg_resets_a_direction_that_does_not_descend():
    objective, data = _cg_problem(seed=3)
    params = objective.init_params(5, 3, None, np.float64)
    problem, loss, grads = _first_gradient(objective, data, params)
    gMg = objective.inner(grads, grads)
    cg = make_optimizer("cg", 1.0, 0.9, 0.999, 1e-8)
    # A previous direction uphill, and a momentum beta = gMg / 1e-3 >> 1:
    # beta d_prev - g points uphill, so the step starts afresh from -g.
    cg.set_state(
        {
            "direction": {name: g.copy() for name, g in grads.items()},
            "preconditioned_gradient": {name: np.zeros_like(g) for name, g in grads.items()},
            "gradient_product": 1e-3 * gMg,
        }
    )
    start = {name: p.copy() for name, p in params.items()}
    cg.step(params, grads, loss, problem)
    step = float((params["b"] - start["b"])[0] / -grads["b"][0])
    assert step > 0
    for name in grads:
        assert_allclose(cg.direction[name], -grads[name], rtol=1e-15)
        assert_allclose(params[name], start[name] - step * grads[name], rtol=1e-12)
    assert objective.loss(params, *data) < loss
    assert cg.gradient_product == pytest.approx(gMg, rel=1e-15)


def test_cg_momentum_is_polak_ribiere_plus():
    objective, data = _cg_problem(seed=4)
    params = objective.init_params(5, 3, None, np.float64)
    problem, loss, grads = _first_gradient(objective, data, params)
    cg = make_optimizer("cg", 1.0, 0.9, 0.999, 1e-8)
    cg.step(params, grads, loss, problem)
    previous = {name: d.copy() for name, d in cg.direction.items()}
    previous_gradient = {name: g.copy() for name, g in grads.items()}
    loss, grads = problem.loss_grad(params)
    problem.squared_gradient_norm = objective.inner(grads, grads)
    cg.step(params, grads, loss, problem)
    difference = {name: grads[name] - previous_gradient[name] for name in grads}
    beta = max(0.0, objective.inner(grads, difference)) / objective.inner(
        previous_gradient, previous_gradient
    )
    assert beta > 0
    for name in grads:
        assert_allclose(cg.direction[name], beta * previous[name] - grads[name], rtol=1e-12)


class _NowhereFinite:
    """A problem whose loss is infinite at every step: no step is found."""

    squared_gradient_norm = 1.0

    def inner(self, a, b):
        return sum(float(np.sum(a[name] * b[name])) for name in a)

    def line(self, point, direction):
        return self

    def curvature_at_start(self):
        return 1.0

    def at(self, step):
        self.steps.append(step)
        return math.inf, math.nan, math.nan

    def moved_to(self, step):
        self.moved = step


def test_cg_takes_no_step_and_resets_where_the_line_search_finds_none():
    params, grads = _problem()
    before = {name: p.copy() for name, p in params.items()}
    problem = _NowhereFinite()
    problem.steps = []
    cg = make_optimizer("cg", 1.0, 0.9, 0.999, 1e-8)
    cg.set_state(
        {
            "direction": {name: -g for name, g in grads().items()},
            "preconditioned_gradient": grads(),
            "gradient_product": 1.0,
        }
    )
    problem.squared_gradient_norm = problem.inner(grads(), grads())
    cg.step(params, grads(), 1.0, problem)
    assert len(problem.steps) == 30 and problem.moved == 0.0
    # Bisection towards 0 from the Newton step: every trial is smaller.
    assert np.all(np.diff(problem.steps) < 0)
    for name in params:
        assert_array_equal(params[name], before[name])
    assert cg.get_state() == {}


@pytest.mark.parametrize("name", ["cg", "lbfgs"])
def test_line_search_optimizers_keep_float32(name):
    objective, data = _cg_problem(dtype=np.float32, seed=5)
    X, _, sample_weight = data
    params = objective.init_params(5, 3, None, np.float32)
    optimizer = make_optimizer(
        name, 1.0, 0.9, 0.999, 1e-8, preconditioner=CenteringPreconditioner(X, sample_weight)
    )
    train(objective, params, optimizer, *data, log=TrainingLog(), max_iter=20, tol=None)
    assert all(p.dtype == np.float32 for p in params.values())
    arrays = [value for value in optimizer.get_state().values() if isinstance(value, dict)]
    assert len(arrays) >= 2
    for value in arrays:
        assert all(array.dtype == np.float32 for array in value.values())


# ------------------------------------------------------------ limited-memory BFGS
def _two_loop_direction(grads, steps, changes, precondition):
    """-H g by Nocedal & Wright's two-loop recursion (Algorithm 7.4), H0 = gamma M, flattened."""

    def flat(d):
        return np.concatenate([d["W"].ravel(), d["b"]])

    def M(v):
        n_W = steps[0]["W"].size
        shape = steps[0]["W"].shape
        mapped = precondition({"W": v[:n_W].reshape(shape), "b": v[n_W:]})
        return flat(mapped)

    S, Y = [flat(s) for s in steps], [flat(y) for y in changes]
    q = flat(grads)
    rho = [1.0 / (y @ s) for s, y in zip(S, Y)]
    alphas = []
    for s, y, r in reversed(list(zip(S, Y, rho))):
        alphas.append(r * (s @ q))
        q = q - alphas[-1] * y
    gamma = (S[-1] @ Y[-1]) / (Y[-1] @ M(Y[-1]))
    h = gamma * M(q)
    for (s, y, r), a in zip(zip(S, Y, rho), reversed(alphas)):
        h = h + s * (a - r * (y @ h))
    return -h


@pytest.mark.parametrize("preconditioned", [False, True], ids=["plain", "preconditioned"])
def test_lbfgs_direction_is_the_two_loop_recursion(preconditioned, monkeypatch):
    # Memory 4 and 9 steps: the ring of stacked pairs wraps around twice.
    objective, data = _cg_problem(seed=6)
    X, _, sample_weight = data
    preconditioner = CenteringPreconditioner(X, sample_weight) if preconditioned else None
    lbfgs = LimitedMemoryBFGS(1.0, preconditioner, memory=4)
    seen = []
    search = sknn._core.optimizers._exact_line_search

    def recording(problem, point, direction, loss, slope, *args):
        seen.append(
            (
                list(lbfgs.steps),
                list(lbfgs.gradient_changes),
                problem._grads,
                {name: d.copy() for name, d in direction.items()},
                slope,
            )
        )
        return search(problem, point, direction, loss, slope, *args)

    monkeypatch.setattr(sknn._core.optimizers, "_exact_line_search", recording)
    params = objective.init_params(5, 3, None, np.float64)
    train(objective, params, lbfgs, *data, log=TrainingLog(), max_iter=9, tol=None)
    assert len(seen) == 9 and [len(pairs) for pairs, *_ in seen] == [0, 1, 2, 3, 4, 4, 4, 4, 4]
    identity = (lambda g: g) if preconditioner is None else preconditioner
    for steps, changes, grads, direction, slope in seen[1:]:
        expected = _two_loop_direction(grads, steps, changes, identity)
        got = np.concatenate([direction["W"].ravel(), direction["b"]])
        assert_allclose(got, expected, rtol=1e-9, atol=1e-12 * np.abs(expected).max())
        assert slope == pytest.approx(objective.inner(grads, direction), rel=1e-9)


def test_lbfgs_continues_from_its_state_exactly():
    objective, data = _cg_problem(seed=7)
    X, _, sample_weight = data
    preconditioner = CenteringPreconditioner(X, sample_weight)
    whole = objective.init_params(5, 3, None, np.float64)
    once = LimitedMemoryBFGS(1.0, preconditioner, memory=3)
    train(objective, whole, once, *data, log=TrainingLog(), max_iter=12, tol=None)
    parts = objective.init_params(5, 3, None, np.float64)
    first = LimitedMemoryBFGS(1.0, preconditioner, memory=3)
    train(objective, parts, first, *data, log=TrainingLog(), max_iter=5, tol=None)
    second = LimitedMemoryBFGS(1.0, preconditioner, memory=3)
    second.set_state(first.get_state())
    train(objective, parts, second, *data, log=TrainingLog(), max_iter=7, tol=None)
    for name in whole:
        assert_allclose(parts[name], whole[name], rtol=1e-13, atol=1e-15)


def test_lbfgs_state_round_trips_by_reference():
    objective, data = _cg_problem(seed=8)
    lbfgs = LimitedMemoryBFGS(1.0, memory=2)
    assert lbfgs.get_state() == {}
    params = objective.init_params(5, 3, None, np.float64)
    train(objective, params, lbfgs, *data, log=TrainingLog(), max_iter=4, tol=None)
    state = lbfgs.get_state()
    # The newest two pairs, oldest first, and the step whose pair is pending.
    assert set(state) == {"s0", "y0", "s1", "y1", "last_step", "last_gradient"}
    assert state["s1"] is lbfgs.steps[-1] and state["y0"] is lbfgs.gradient_changes[0]
    other = LimitedMemoryBFGS(1.0, memory=2)
    other.set_state(state)
    again = other.get_state()
    assert again.keys() == state.keys() and all(again[key] is state[key] for key in state)
    # More pairs than the memory: only the newest are taken (so a file holding
    # them is refused as not this optimizer's state), and a broken state raises.
    small = LimitedMemoryBFGS(1.0, memory=1)
    small.set_state(state)
    assert small.steps == [state["s1"]] and set(small.get_state()) != set(state)
    with pytest.raises(ValueError, match="L-BFGS state"):
        other.set_state({"s0": state["s0"]})
    with pytest.raises(ValueError, match="L-BFGS state"):
        other.set_state({"last_step": state["last_step"]})
    other.set_state({})
    assert other.get_state() == {}


def test_lbfgs_starts_afresh_from_pairs_that_do_not_curve_up():
    objective, data = _cg_problem(seed=9)
    params = objective.init_params(5, 3, None, np.float64)
    problem, loss, grads = _first_gradient(objective, data, params)
    lbfgs = LimitedMemoryBFGS(1.0)
    # A handed-over pair with <s, y> < 0: no convex loss has it.
    s = {name: np.ones_like(g) for name, g in grads.items()}
    lbfgs.set_state({"s0": s, "y0": {name: -a for name, a in s.items()}})
    start = {name: p.copy() for name, p in params.items()}
    lbfgs.step(params, grads, loss, problem)
    step = float((params["b"] - start["b"])[0] / -grads["b"][0])
    assert step > 0
    for name in grads:
        assert_allclose(params[name], start[name] - step * grads[name], rtol=1e-12)
    assert lbfgs.steps == [] and objective.loss(params, *data) < loss


def test_lbfgs_takes_no_step_and_resets_where_the_line_search_finds_none():
    params, grads = _problem()
    before = {name: p.copy() for name, p in params.items()}
    problem = _NowhereFinite()
    problem.steps = []
    lbfgs = LimitedMemoryBFGS(1.0)
    problem.squared_gradient_norm = problem.inner(grads(), grads())
    lbfgs.step(params, grads(), 1.0, problem)
    assert len(problem.steps) == 30 and problem.moved == 0.0
    for name in params:
        assert_array_equal(params[name], before[name])
    assert lbfgs.get_state() == {}


def test_lbfgs_history_is_bounded_in_bytes(monkeypatch):
    objective, data = _cg_problem(seed=10)
    params = objective.init_params(5, 3, None, np.float64)
    n_bytes = sum(p.nbytes for p in params.values())
    # Room for 3 pairs of this size, held 4 times over (state and stacks).
    monkeypatch.setattr(sknn._core.optimizers, "_LBFGS_HISTORY_BYTES", 3 * 4 * n_bytes)
    lbfgs = LimitedMemoryBFGS(1.0)
    train(objective, params, lbfgs, *data, log=TrainingLog(), max_iter=8, tol=None)
    assert lbfgs.memory == 100 and lbfgs._stacks.capacity == 3
    assert len(lbfgs.steps) == len(lbfgs.gradient_changes) == 3


@pytest.mark.parametrize("name", ["cg", "lbfgs"])
def test_line_search_optimizers_stall_where_no_step_is_found_twice_from_scratch(name):
    params, grads = _problem()
    problem = _NowhereFinite()
    problem.steps = []
    problem.squared_gradient_norm = problem.inner(grads(), grads())
    optimizer = make_optimizer(name, 1.0, 0.9, 0.999, 1e-8)
    assert not optimizer.stalled
    optimizer.step(params, grads(), 1.0, problem)
    assert not optimizer.stalled  # the next gradient is recomputed from X
    optimizer.step(params, grads(), 1.0, problem)
    assert optimizer.stalled
    optimizer.set_state({})
    assert not optimizer.stalled


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_line_search_optimizers_stall_where_the_float32_loss_stops_falling_beyond_rounding(dtype):
    grads = _problem(dtype)[1]()
    optimizer = make_optimizer("lbfgs", 1.0, 0.9, 0.999, 1e-8)
    resolution = 1e-6 if dtype == np.float32 else 1e-13  # ~_rounding_slack
    # Steady progress, even tiny, is progress: it adds up beyond rounding.
    loss = 1.0
    for _ in range(3 * sknn._core.optimizers._STALL_PATIENCE):
        optimizer._searched(1.0, False, loss, grads, 1.0)
        loss -= 0.2 * resolution
    assert not optimizer.stalled
    # So is a gradient that keeps falling where the loss no longer resolves it.
    for k in range(3 * sknn._core.optimizers._STALL_PATIENCE):
        optimizer._searched(1.0, False, loss, grads, 0.9**k)
    assert not optimizer.stalled
    # Wandering within the rounding of the last real decrease is not.
    loss -= 10 * resolution
    optimizer._searched(1.0, False, loss, grads, 1e-9)
    for k in range(sknn._core.optimizers._STALL_PATIENCE):
        assert not optimizer.stalled
        wander = (-1) ** k * 0.5 * resolution * loss
        optimizer._searched(1.0, False, loss + wander, grads, 1e-9 * (1 + 0.5 * (-1) ** k))
    # (float64's loss resolves its progress until the gradient test holds)
    assert optimizer.stalled == (dtype == np.float32)
