import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.optimize import minimize, minimize_scalar

from sknn._core.array_ops import inner
from sknn._core.loop import FullBatch, Stopping, TrainingLog, train
from sknn._core.objectives.linear import LinearObjective
from sknn._core.optimizers import OPTIMIZERS, line_search
from sknn._core.optimizers import lbfgs as lbfgs_module
from sknn._core.optimizers.first_order import Adam, GradientDescent, Momentum
from sknn._core.optimizers.lbfgs import LimitedMemoryBFGS


def _build(name, learning_rate, **settings):
    settings = {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8, **settings}
    return OPTIMIZERS[name].build(learning_rate=learning_rate, **settings)


def _train(objective, params, optimizer, data, max_iter, tol=None):
    log = TrainingLog()
    reason = train(objective, params, optimizer, data, log=log, stopping=Stopping(max_iter, tol))
    return reason, log


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
    optimizer = _build(name, np.float64(0.1))
    for _ in range(3):
        optimizer.step(params, grads())
    assert all(p.dtype == np.float32 for p in params.values())


@pytest.mark.parametrize("name", ["gd", "momentum", "adam"])
def test_step_updates_in_place(name):
    params, grads = _problem()
    before = {k: id(v) for k, v in params.items()}
    _build(name, 0.1).step(params, grads())
    assert {k: id(v) for k, v in params.items()} == before


def test_the_registry_builds_each_optimizer_from_the_settings_it_takes():
    assert type(_build("gd", 1.0)) is GradientDescent
    assert type(_build("momentum", 1.0)) is Momentum
    adam = _build("adam", 1.0, beta_1=0.8, beta_2=0.99, epsilon=1e-7)
    assert type(adam) is Adam
    assert_array_equal([adam.beta_1, adam.beta_2, adam.epsilon], [0.8, 0.99, 1e-7])
    for name, entry in OPTIMIZERS.items():
        optimizer = entry.build(learning_rate=0.5, beta_1=0.9, beta_2=0.999, epsilon=1e-8)
        assert optimizer.name == name and optimizer.learning_rate == 0.5
        assert entry.full_batch_only == (name in ("cg", "lbfgs"))
        assert set(entry.hyperparameters) <= {"learning_rate", "beta_1", "beta_2", "epsilon"}
        # Every entry of a state names its kind, which model files check.
        assert all(
            entry.cls.state_kind(key) in ("number", "count", "arrays", "gradients")
            for key in entry.cls.STATE
        )


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
    problem = FullBatch(objective, *data)
    loss, grads = problem.loss_grad(params)
    return problem, loss, grads


class _WithoutLine:
    """The objective without its exact line: the line searches evaluate the full loss."""

    def __init__(self, objective):
        self.loss, self.loss_grad = objective.loss, objective.loss_grad


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


def test_cg_state_round_trips():
    objective, data = _cg_problem()
    cg = _build("cg", 1.0)
    assert cg.get_state() == {}
    params = objective.init_params(5, 3, None, np.float64)
    problem, loss, grads = _first_gradient(objective, data, params)
    cg.step(params, grads, loss, problem)
    state = cg.get_state()
    assert set(state) == {"direction", "previous_gradient", "previous_step", "previous_slope"}
    assert state["previous_step"] > 0 and state["previous_slope"] < 0
    other = _build("cg", 1.0)
    other.set_state(state)
    again = other.get_state()
    for key in ("direction", "previous_gradient"):
        for name in state[key]:
            assert_array_equal(again[key][name], state[key][name])
    assert again["previous_step"] == state["previous_step"]
    # sknn 0.1's state (the gradient under its removed preconditioner) is read.
    legacy = {
        "direction": state["direction"],
        "preconditioned_gradient": state["previous_gradient"],
    }
    other.set_state(legacy)
    assert other.get_state()["previous_gradient"] is state["previous_gradient"]
    other.set_state({})
    assert other.get_state() == {}


@pytest.mark.filterwarnings("ignore:.*no step lowers the loss measurably")
@pytest.mark.parametrize("link, n_outputs", [("sigmoid", 1), ("sigmoid", 3), ("softmax", 3)])
def test_line_search_optimizers_reach_the_minimum(link, n_outputs):
    objective, data = _cg_problem(link, n_outputs, seed=1)
    minimum = _flat_minimum(objective, data, 5, n_outputs)
    iterations = {}
    for name in ("cg", "lbfgs"):
        for kind, candidate in (("exact", objective), ("wolfe", _WithoutLine(objective))):
            params = objective.init_params(5, n_outputs, None, np.float64)
            if kind == "wolfe":
                # The loop calls the objective it is given: the search sees no line.
                assert FullBatch(candidate, *data).exact_line is None
            # An inexact search compares losses, which resolve less than slopes.
            tol = 1e-10 if kind == "exact" else 1e-7
            reason, log = _train(candidate, params, _build(name, 1.0), data, 5000, tol=tol)
            # (where rounding hides the rest of the decrease, it says so: 'stalled')
            assert reason == "converged" or (kind, reason) == ("wolfe", "stalled"), (name, kind)
            assert (objective.loss(params, *data) - minimum) / minimum < 1e-10, (name, kind)
            # Every step descends (a line search along descent directions).
            assert np.all(np.diff(log.loss_curve) <= 1e-15 * log.loss_curve[0]), (name, kind)
            iterations[name, kind] = len(log.loss_curve)
    # L-BFGS's memory takes fewer steps than conjugate gradient's.
    assert iterations["lbfgs", "exact"] < iterations["cg", "exact"], iterations


@pytest.mark.parametrize("exact", [True, False], ids=["exact", "wolfe"])
@pytest.mark.parametrize("link", ["sigmoid", "softmax"])
def test_cg_first_step_is_a_line_minimum_along_the_steepest_descent(link, exact):
    objective, data = _cg_problem(link, seed=2)
    params = objective.init_params(5, 3, None, np.float64)
    start = {name: p.copy() for name, p in params.items()}
    problem, loss, grads = _first_gradient(
        objective if exact else _WithoutLine(objective), data, params
    )
    direction = {name: -g.copy() for name, g in grads.items()}
    cg = _build("cg", 1.0)
    cg.step(params, grads, loss, problem)

    def phi(step):
        return objective.loss({k: start[k] + step * direction[k] for k in start}, *data)

    # The step moved exactly along -g ...
    step = float((params["b"] - start["b"])[0] / direction["b"][0])
    assert step > 0
    for name in params:
        assert_allclose(params[name], start[name] + step * direction[name], rtol=1e-12)
        assert_allclose(cg.direction[name], direction[name], rtol=1e-15)
    # ... to a point of the strong Wolfe conditions (c1 = 1e-4, c2 = 0.1) ...
    slope = inner(direction, direction) * -1
    h = 1e-6 * step
    derivative = (phi(step + h) - phi(step - h)) / (2 * h)
    assert phi(step) <= loss + 1e-4 * step * slope
    assert abs(derivative) <= 0.1 * abs(slope)
    # ... near the exact line minimum: it takes nearly all of the line's decrease.
    best = minimize_scalar(phi, bracket=(0.0, step), tol=1e-12)
    assert best.fun <= phi(step)
    assert abs(step - best.x) <= 0.2 * best.x
    assert phi(step) - best.fun <= 0.02 * (loss - best.fun)


def test_cg_resets_a_direction_that_does_not_descend():
    objective, data = _cg_problem(seed=3)
    params = objective.init_params(5, 3, None, np.float64)
    problem, loss, grads = _first_gradient(objective, data, params)
    squared_norm = inner(grads, grads)
    cg = _build("cg", 1.0)
    # A previous direction uphill, and a momentum beta = |g|^2 / 1e-3 >> 1:
    # beta d_prev - g points uphill, so the step starts afresh from -g.
    cg.set_state(
        {
            "direction": {name: g.copy() for name, g in grads.items()},
            "previous_gradient": {name: np.full_like(g, 1e-3) for name, g in grads.items()},
        }
    )
    start = {name: p.copy() for name, p in params.items()}
    gradient = {name: g.copy() for name, g in grads.items()}
    cg.step(params, grads, loss, problem)
    step = float((params["b"] - start["b"])[0] / -gradient["b"][0])
    assert step > 0
    for name in gradient:
        assert_allclose(cg.direction[name], -gradient[name], rtol=1e-15)
        assert_allclose(params[name], start[name] - step * gradient[name], rtol=1e-12)
    assert objective.loss(params, *data) < loss
    assert cg.previous_slope == pytest.approx(-squared_norm, rel=1e-15)


def test_cg_momentum_is_polak_ribiere_plus():
    objective, data = _cg_problem(seed=4)
    params = objective.init_params(5, 3, None, np.float64)
    problem, loss, grads = _first_gradient(objective, data, params)
    cg = _build("cg", 1.0)
    cg.step(params, grads, loss, problem)
    previous = {name: d.copy() for name, d in cg.direction.items()}
    previous_gradient = {name: g.copy() for name, g in cg.previous_gradient.items()}
    loss, grads = problem.loss_grad(params)
    grads = {name: g.copy() for name, g in grads.items()}
    cg.step(params, grads, loss, problem)
    difference = {name: grads[name] - previous_gradient[name] for name in grads}
    beta = max(0.0, inner(grads, difference)) / inner(previous_gradient, previous_gradient)
    assert beta > 0
    for name in grads:
        assert_allclose(cg.direction[name], beta * previous[name] - grads[name], rtol=1e-12)


class _NowhereFinite:
    """A problem whose loss is infinite at every step but the start: no step is found."""

    def __init__(self):
        self.steps = []
        self.exact_line = lambda point, direction, start=None: self

    def curvature_at_start(self):
        return 1.0

    def at(self, step):
        self.steps.append(step)
        return math.inf, math.nan, math.nan


@pytest.mark.parametrize("name", ["cg", "lbfgs"])
def test_a_line_search_optimizer_takes_no_step_and_resets_where_the_search_finds_none(name):
    params, grads = _problem()
    before = {key: p.copy() for key, p in params.items()}
    problem = _NowhereFinite()
    optimizer = _build(name, 1.0)
    if name == "cg":
        optimizer.set_state(
            {"direction": {k: -g for k, g in grads().items()}, "previous_gradient": grads()}
        )
    assert optimizer.step(params, grads(), 1.0, problem) is None
    trials = problem.steps
    assert len(trials) == line_search._MAX_EVALUATIONS
    # Bisection towards 0 from the Newton step: every trial is smaller.
    assert np.all(np.diff(trials) < 0)
    for key in params:
        assert_array_equal(params[key], before[key])
    assert optimizer.get_state() == {}


@pytest.mark.parametrize("name", ["cg", "lbfgs"])
def test_line_search_optimizers_keep_float32(name):
    objective, data = _cg_problem(dtype=np.float32, seed=5)
    params = objective.init_params(5, 3, None, np.float32)
    optimizer = _build(name, 1.0)
    _train(objective, params, optimizer, data, 20)
    assert all(p.dtype == np.float32 for p in params.values())
    arrays = [value for value in optimizer.get_state().values() if isinstance(value, dict)]
    assert len(arrays) >= 2
    for value in arrays:
        assert all(array.dtype == np.float32 for array in value.values())


# ------------------------------------------------------------ limited-memory BFGS
def _flat(d):
    return np.concatenate([d["W"].ravel(), d["b"]])


def _two_loop_direction(grads, steps, changes):
    """-H g by Nocedal & Wright's two-loop recursion (Algorithm 7.4), H0 = gamma I, flattened."""
    S, Y = [_flat(s) for s in steps], [_flat(y) for y in changes]
    q = _flat(grads)
    rho = [1.0 / (y @ s) for s, y in zip(S, Y)]
    alphas = []
    for s, y, r in reversed(list(zip(S, Y, rho))):
        alphas.append(r * (s @ q))
        q = q - alphas[-1] * y
    h = (S[-1] @ Y[-1]) / (Y[-1] @ Y[-1]) * q
    for (s, y, r), a in zip(zip(S, Y, rho), reversed(alphas)):
        h = h + s * (a - r * (y @ h))
    return -h


def _unstacked(stacks):
    n_pairs = len(next(iter(stacks.values())))
    return [{name: a[i] for name, a in stacks.items()} for i in range(n_pairs)]


def test_lbfgs_direction_is_the_two_loop_recursion(monkeypatch):
    # Memory 4 and 9 steps: the oldest pairs are pushed out twice over.
    objective, data = _cg_problem(seed=6)
    lbfgs = LimitedMemoryBFGS(1.0, memory=4)
    seen = []
    search = LimitedMemoryBFGS._search

    def recording(self, params, grads, loss, problem, direction, slope, *args):
        steps, changes = ({n: a.copy() for n, a in d.items()} for d in self.pairs.in_order())
        copies = [{name: a.copy() for name, a in d.items()} for d in (grads, direction)]
        seen.append((_unstacked(steps), _unstacked(changes), *copies, slope))
        return search(self, params, grads, loss, problem, direction, slope, *args)

    monkeypatch.setattr(LimitedMemoryBFGS, "_search", recording)
    params = objective.init_params(5, 3, None, np.float64)
    _train(objective, params, lbfgs, data, 9)
    assert [len(steps) for steps, *_ in seen] == [0, 1, 2, 3, 4, 4, 4, 4, 4]
    for steps, changes, grads, direction, slope in seen[1:]:
        expected = _two_loop_direction(grads, steps, changes)
        got = _flat(direction)
        assert_allclose(got, expected, rtol=1e-9, atol=1e-12 * np.abs(expected).max())
        assert slope == pytest.approx(inner(grads, direction), rel=1e-9)


def test_lbfgs_continues_from_its_state_exactly():
    objective, data = _cg_problem(seed=7)
    whole = objective.init_params(5, 3, None, np.float64)
    _train(objective, whole, LimitedMemoryBFGS(1.0, memory=3), data, 12)
    parts = objective.init_params(5, 3, None, np.float64)
    first = LimitedMemoryBFGS(1.0, memory=3)
    _train(objective, parts, first, data, 5)
    second = LimitedMemoryBFGS(1.0, memory=3)
    second.set_state(first.get_state())
    _train(objective, parts, second, data, 7)
    for name in whole:
        assert_allclose(parts[name], whole[name], rtol=1e-13, atol=1e-15)


def test_lbfgs_state_round_trips():
    objective, data = _cg_problem(seed=8)
    lbfgs = LimitedMemoryBFGS(1.0, memory=2)
    assert lbfgs.get_state() == {}
    params = objective.init_params(5, 3, None, np.float64)
    _train(objective, params, lbfgs, data, 4)
    state = lbfgs.get_state()
    # The newest two pairs, stacked oldest first.
    assert set(state) == {"steps", "gradient_changes"}
    assert state["steps"]["W"].shape == (2, 5, 3)
    other = LimitedMemoryBFGS(1.0, memory=2)
    other.set_state(state)
    again = other.get_state()
    for key in state:
        for name in state[key]:
            assert_array_equal(again[key][name], state[key][name])
    # More pairs than the memory: only the newest are taken.
    small = LimitedMemoryBFGS(1.0, memory=1)
    small.set_state(state)
    assert_array_equal(small.get_state()["steps"]["W"], state["steps"]["W"][1:])
    # sknn 0.1's pairs one by one are read; a broken state raises.
    pairs = _unstacked(state["steps"]), _unstacked(state["gradient_changes"])
    legacy = {f"{kind}{i}": pairs[k][i] for i in range(2) for k, kind in enumerate("sy")}
    other.set_state(legacy)
    assert_array_equal(other.get_state()["steps"]["b"], state["steps"]["b"])
    with pytest.raises(ValueError, match="L-BFGS state"):
        other.set_state({"s0": legacy["s0"]})
    other.set_state({})
    assert other.get_state() == {}


def test_lbfgs_starts_afresh_from_pairs_that_do_not_curve_up():
    objective, data = _cg_problem(seed=9)
    params = objective.init_params(5, 3, None, np.float64)
    problem, loss, grads = _first_gradient(objective, data, params)
    lbfgs = LimitedMemoryBFGS(1.0)
    # A handed-over pair with <s, y> < 0: no convex loss has it.
    s = {name: np.ones((1, *g.shape)) for name, g in grads.items()}
    lbfgs.set_state({"steps": s, "gradient_changes": {name: -a for name, a in s.items()}})
    assert lbfgs.get_state() == {}
    start = {name: p.copy() for name, p in params.items()}
    gradient = {name: g.copy() for name, g in grads.items()}
    lbfgs.step(params, grads, loss, problem)
    step = float((params["b"] - start["b"])[0] / -gradient["b"][0])
    assert step > 0
    for name in gradient:
        assert_allclose(params[name], start[name] - step * gradient[name], rtol=1e-12)
    assert objective.loss(params, *data) < loss


def test_lbfgs_history_is_bounded_in_bytes(monkeypatch):
    objective, data = _cg_problem(seed=10)
    params = objective.init_params(5, 3, None, np.float64)
    n_bytes = sum(p.nbytes for p in params.values())
    # Room for 3 pairs of this size (a step and a gradient change each).
    monkeypatch.setattr(lbfgs_module, "_LBFGS_HISTORY_BYTES", 3 * 2 * n_bytes)
    lbfgs = LimitedMemoryBFGS(1.0)
    _train(objective, params, lbfgs, data, 8)
    assert lbfgs.memory == 100 and lbfgs.pairs.capacity == 3
    assert lbfgs.get_state()["steps"]["W"].shape[0] == 3


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_get_state_is_a_snapshot_that_later_steps_leave_alone(name, monkeypatch):
    # The Ctrl-C checkpoint keeps get_state's arrays without copying them.
    # L-BFGS with room for 2 pairs: its history moves up, and is forgotten.
    monkeypatch.setattr(lbfgs_module, "_LBFGS_MEMORY", 2)
    objective, data = _cg_problem(seed=4)
    params = objective.init_params(5, 3, None, np.float64)
    optimizer = _build(name, 0.05, full_batch=True, line_search=True)
    problem = FullBatch(objective, *data)
    snapshots = []
    for step in range(6):
        loss, grads = problem.loss_grad(optimizer.evaluation_point(params))
        optimizer.step(params, grads, loss, problem)
        if step == 3 and name == "lbfgs":
            optimizer.pairs.forget()
        state = optimizer.get_state()
        snapshots.append((state, _deep_copy(state)))
    for state, copied in snapshots:
        _assert_same_tree(state, copied)


def _deep_copy(value):
    if isinstance(value, dict):
        return {key: _deep_copy(item) for key, item in value.items()}
    return value.copy() if isinstance(value, np.ndarray) else value


def _assert_same_tree(got, expected):
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        if isinstance(value, dict):
            _assert_same_tree(got[key], value)
        else:
            assert_array_equal(got[key], value)


@pytest.mark.parametrize("name", ["cg", "lbfgs"])
def test_line_search_optimizers_stall_where_no_step_is_found_twice_from_scratch(name):
    params, grads = _problem()
    optimizer = _build(name, 1.0)
    assert not optimizer.stalled
    optimizer.step(params, grads(), 1.0, _NowhereFinite())
    assert not optimizer.stalled  # the next gradient is recomputed from X
    optimizer.step(params, grads(), 1.0, _NowhereFinite())
    assert optimizer.stalled
    optimizer.set_state({})
    assert not optimizer.stalled


def _with_squared_norm(grads, squared_norm):
    scale = math.sqrt(squared_norm / inner(grads, grads))
    return {name: (g * scale).astype(g.dtype) for name, g in grads.items()}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_line_search_optimizers_stall_where_the_float32_loss_stops_falling_beyond_rounding(dtype):
    grads = _problem(dtype)[1]()
    optimizer = _build("lbfgs", 1.0)
    patience = line_search._STALL_PATIENCE
    resolution = 1e-6 if dtype == np.float32 else 1e-13  # ~rounding_slack
    # Steady progress, even tiny, is progress: it adds up beyond rounding.
    loss = 1.0
    for _ in range(3 * patience):
        optimizer._count_progress(True, False, loss, _with_squared_norm(grads, 1.0))
        loss -= 0.2 * resolution
    assert not optimizer.stalled
    # So is a gradient that keeps falling where the loss no longer resolves it.
    for k in range(3 * patience):
        optimizer._count_progress(True, False, loss, _with_squared_norm(grads, 0.9**k))
    assert not optimizer.stalled
    # Wandering within the rounding of the last real decrease is not.
    loss -= 10 * resolution
    optimizer._count_progress(True, False, loss, _with_squared_norm(grads, 1e-9))
    for k in range(patience):
        assert not optimizer.stalled
        wander = (-1) ** k * 0.5 * resolution * loss
        flat = _with_squared_norm(grads, 1e-9 * (1 + 0.5 * (-1) ** k))
        optimizer._count_progress(True, False, loss + wander, flat)
    # (float64's loss resolves its progress until the gradient test holds)
    assert optimizer.stalled == (dtype == np.float32)
