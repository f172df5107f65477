"""Full-batch optimizers whose steps a line search finds: conjugate gradient and L-BFGS.

Both move along a direction d chosen from the gradients seen so far and find
the step s along it by a line search on ``phi(s) = J(x + s d)``: each trial
is one evaluation of the loss and gradient, and the accepted trial's gradient
is the next step's (the loop does not evaluate it again). Neither needs a
learning rate: ``learning_rate`` is only the first trial of a search from
the steepest-descent direction.
"""

import math
import re

import numpy as np
from scipy.linalg import solve_triangular

from ..array_ops import array_ops, copy_params, inner, total_size
from .first_order import GradientDescent, rounding_slack

# The strong Wolfe conditions: sufficient decrease (c1) and a flat enough
# slope (c2: 0.9 for quasi-Newton steps, 0.1 for conjugate gradient, whose
# directions stay conjugate only after a nearly exact search).
_DECREASE = 1e-4
_QUASI_NEWTON_CURVATURE = 0.9
_CONJUGATE_GRADIENT_CURVATURE = 0.1
_EXPANSION = 4.0
_MAX_EVALUATIONS = 25
# Near the optimum a float32 loss's decrease sinks below its rounding while
# its slope, a sum of signed terms, still resolves: a point where the loss
# still descends (or has just passed its minimum), within this many times the
# rounding of the start, lies below it (Hager & Zhang's approximate Wolfe).
_APPROXIMATE_SLACK = 100.0
# Steps without measurable progress after which a float32 fit is stalled.
_STALL_PATIENCE = 50
# L-BFGS keeps this many pairs (step, gradient change), fewer where they
# would take more than _LBFGS_HISTORY_BYTES.
_LBFGS_MEMORY = 100
_LBFGS_HISTORY_BYTES = 2**28


class _Point:
    """A trial of a line search: its step, loss, slope and, once kept, where and its gradient."""

    __slots__ = ("step", "loss", "slope", "params", "grads")

    def __init__(self, step, loss, slope, params=None, grads=None):
        self.step, self.loss, self.slope, self.params, self.grads = step, loss, slope, params, grads


def wolfe_search(problem, point, direction, loss, slope, step, curvature):
    """A step along ``direction`` meeting the strong Wolfe conditions (Nocedal & Wright 3.5).

    Brackets a step by growing ``step`` 4-fold, then narrows the bracket by
    safeguarded cubic interpolation. ``slope`` is the (negative) derivative
    at s = 0. Returns the accepted :class:`_Point` (with its parameters and a
    copy of its gradient), or None where no trial lowered the loss measurably.
    """
    slack = rounding_slack(direction) * abs(loss)
    start = _Point(0.0, loss, slope)

    def evaluate(s):
        params = {name: point[name] + s * d for name, d in direction.items()}
        trial_loss, grads = problem.loss_grad(params)
        trial_slope = inner(grads, direction) if math.isfinite(trial_loss) else math.nan
        return _Point(s, trial_loss, trial_slope, params, grads)

    def accepted(trial):
        flat = abs(trial.slope) <= curvature * -slope
        approximately = trial.slope <= 0 and trial.loss <= loss + _APPROXIMATE_SLACK * slack
        return flat and (approximately or sufficient(trial))

    def sufficient(trial):
        return trial.loss <= loss + _DECREASE * trial.step * slope + slack

    previous = start
    for evaluation in range(_MAX_EVALUATIONS):
        trial = evaluate(step)
        if not math.isfinite(trial.loss) or not sufficient(trial) or trial.loss >= previous.loss:
            return _zoom(evaluate, accepted, sufficient, previous, trial, evaluation + 1)
        if accepted(trial):
            return _kept(trial)
        if trial.slope >= 0:
            return _zoom(evaluate, accepted, sufficient, trial, previous, evaluation + 1)
        previous, step = _kept(trial), _EXPANSION * step
    return previous if previous.step > 0 else None


def exact_search(line, direction, loss, slope, fallback_step, curvature_constant):
    """Newton's method on an exact line, kept in a bracket: a step meeting the strong Wolfe
    conditions (or their approximate form), or 0.0 where no step lowers the loss measurably.

    ``slope`` is the derivative at s = 0 (negative); ``fallback_step`` the first
    trial where the curvature there is not positive.
    """
    slack = rounding_slack(direction) * abs(loss)
    curvature = line.curvature_at_start()
    step = -slope / curvature if curvature > 0 else float(fallback_step)
    low, high, best = 0.0, math.inf, 0.0
    for _ in range(_MAX_EVALUATIONS):
        value, derivative, curvature = line.at(step)
        if not math.isfinite(value):
            high = step
        else:
            flat = abs(derivative) <= curvature_constant * -slope
            if flat and derivative <= 0 and value <= loss + _APPROXIMATE_SLACK * slack:
                return step
            if value <= loss + _DECREASE * step * slope + slack:
                if flat:
                    return step
                best = step
            if derivative > 0:
                high = step
            else:
                low = step
        newton = step - derivative / curvature if math.isfinite(value) and curvature > 0 else -1
        if low < newton < high:
            step = newton
        else:
            step = 0.5 * (low + high) if high < math.inf else _EXPANSION * step
    return best


def _zoom(evaluate, accepted, sufficient, low, high, spent):
    """Narrow the bracket between ``low`` (the best trial) and ``high`` to a Wolfe step."""
    for _ in range(_MAX_EVALUATIONS - spent):
        trial = evaluate(_interpolate(low, high))
        if not math.isfinite(trial.loss) or not sufficient(trial) or trial.loss >= low.loss:
            high = trial
            continue
        if accepted(trial):
            return _kept(trial)
        if trial.slope * (high.step - low.step) >= 0:
            high = low
        low = _kept(trial)
    return low if low.step > 0 else None


def _interpolate(low, high):
    """The cubic's minimiser through both ends, kept inside the middle 80% (else bisection)."""
    a, b = low.step, high.step
    middle = 0.5 * (a + b)
    if a == b or not (math.isfinite(high.loss) and math.isfinite(high.slope)):
        return middle
    d1 = low.slope + high.slope - 3.0 * (low.loss - high.loss) / (a - b)
    d2_squared = d1 * d1 - low.slope * high.slope
    if d2_squared < 0:
        return middle
    d2 = math.copysign(math.sqrt(d2_squared), b - a)
    denominator = high.slope - low.slope + 2.0 * d2
    if denominator == 0:
        return middle
    step = b - (b - a) * (high.slope + d2 - d1) / denominator
    lo, hi = min(a, b), max(a, b)
    margin = 0.1 * (hi - lo)
    return min(max(step, lo + margin), hi - margin)


def _kept(trial):
    """The trial with a private copy of its gradient (the next evaluation may overwrite it)."""
    if trial.grads is not None:
        trial.grads = copy_params(trial.grads)
    return trial


class _LineSearchDescent(GradientDescent):
    """What conjugate gradient and L-BFGS share: moving to a search's result, and stalling.

    Each knows when it is stuck, where rounding hides the remaining decrease,
    and the loop then stops ('stalled'): when two searches from the steepest
    descent direction in a row find no step lowering the loss measurably, or,
    where the loss resolves less than float64's 1e-13 of itself (float32),
    when for ``_STALL_PATIENCE`` steps the loss has not fallen below its
    rounding and the smallest gradient norm has not halved.
    """

    _failed_fresh_searches = 0
    _steps_without_progress = 0
    _reference_loss = _reference_gradient = math.inf
    # Where the last exact line arrived: the parameters now (see sknn._core.affine_line).
    _line_start = None

    def _search(self, params, grads, loss, problem, direction, slope, step, curvature, fresh):
        """Search along ``direction`` and move there: ``(loss, grads)`` there, or None."""
        found = None
        if slope < 0 and problem.exact_line is not None:
            found = self._exact(params, problem, direction, loss, slope, step, curvature)
        elif slope < 0:
            self._line_start = None
            found = wolfe_search(problem, params, direction, loss, slope, step, curvature)
        self._count_progress(found is not None, fresh, loss, grads)
        if found is None:
            return None
        for name, value in found.params.items():
            array_ops(value).copy_into(params[name], value)
        return found

    def _exact(self, params, problem, direction, loss, slope, first, curvature):
        """The exact search's step as a :class:`_Point` with the loss and gradient there."""
        line = problem.exact_line(params, direction, self._line_start)
        self._line_start = None
        step = exact_search(line, direction, loss, slope, first, curvature)
        if not step > 0:
            return None
        moved = {name: p + step * direction[name] for name, p in params.items()}
        new_loss, grads = line.arrive(step)
        self._line_start = line.arrival
        return _Point(step, new_loss, None, moved, grads)

    def _count_progress(self, moved, fresh, loss, grads):
        self._failed_fresh_searches = 0 if moved else self._failed_fresh_searches + fresh
        resolution = rounding_slack(grads)
        if resolution <= 1e-13:
            return
        squared_norm = inner(grads, grads)
        reference = self._reference_loss
        lower = not math.isfinite(reference) or loss < reference - resolution * reference
        flatter = squared_norm < 0.25 * self._reference_gradient
        if lower:
            self._reference_loss = loss
        if flatter:
            self._reference_gradient = squared_norm
        self._steps_without_progress = 0 if lower or flatter else self._steps_without_progress + 1

    def _reset_progress(self):
        self._line_start = None
        self._failed_fresh_searches = self._steps_without_progress = 0
        self._reference_loss = self._reference_gradient = math.inf

    @property
    def stalled(self):
        return self._failed_fresh_searches >= 2 or self._steps_without_progress >= _STALL_PATIENCE


class ConjugateGradient(_LineSearchDescent):
    """Nonlinear conjugate gradient (Polak-Ribiere+) with a strong Wolfe line search.

    The direction is ``d = -g + beta d_prev`` with
    ``beta = max(0, <g, g - g_prev> / <g_prev, g_prev>)`` (0, or a d that is not
    one of descent, restarts from ``-g``). The first trial of each search is
    the last step scaled by the ratio of the slopes (Nocedal & Wright 3.60).
    """

    name = "cg"
    STATE = {
        "direction": "arrays",
        "previous_gradient": "arrays",
        "previous_step": "number",
        "previous_slope": "number",
        # sknn 0.1's, read and replaced: the gradient under the removed preconditioner.
        "preconditioned_gradient": "arrays",
        "gradient_product": "number",
    }

    def __init__(self, learning_rate):
        self.learning_rate = learning_rate
        self.direction = self.previous_gradient = None
        self.previous_step = self.previous_slope = None

    def step(self, params, grads, loss=None, problem=None):
        squared_norm = inner(grads, grads)
        direction, slope = None, None
        if self.direction is not None:
            previous_norm = inner(self.previous_gradient, self.previous_gradient)
            beta = max(0.0, (squared_norm - inner(grads, self.previous_gradient)) / previous_norm)
            direction = {name: beta * d - grads[name] for name, d in self.direction.items()}
            slope = inner(grads, direction)
        fresh = direction is None or not slope < 0
        if fresh:
            direction, slope = {name: -g for name, g in grads.items()}, -squared_norm
        first = self.learning_rate
        if self.previous_step is not None:
            first = self.previous_step * self.previous_slope / slope
        found = self._search(
            params,
            grads,
            loss,
            problem,
            direction,
            slope,
            first,
            _CONJUGATE_GRADIENT_CURVATURE,
            fresh,
        )
        if found is None:
            self.direction = self.previous_gradient = None
            self.previous_step = self.previous_slope = None
            return None
        self.direction, self.previous_gradient = direction, copy_params(grads)
        self.previous_step, self.previous_slope = found.step, slope
        return found.loss, found.grads

    def get_state(self):
        if self.direction is None:
            return {}
        return {
            "direction": self.direction,
            "previous_gradient": self.previous_gradient,
            "previous_step": self.previous_step,
            "previous_slope": self.previous_slope,
        }

    def set_state(self, state):
        self._reset_progress()
        self.direction = state.get("direction")
        # Files of sknn <= 0.1 named it for the preconditioner since removed.
        self.previous_gradient = state.get(
            "previous_gradient", state.get("preconditioned_gradient")
        )
        self.previous_step = state.get("previous_step")
        self.previous_slope = state.get("previous_slope")
        if self.direction is None or self.previous_gradient is None:
            self.direction = self.previous_gradient = None


class LimitedMemoryBFGS(_LineSearchDescent):
    """Limited-memory BFGS with a strong Wolfe line search.

    Gradient descent along ``d = -H g``, where H, an estimate of the inverse
    Hessian, is built from the last ``memory`` steps ``s = x+ - x`` and
    gradient changes ``y = g+ - g`` (Nocedal & Wright 7.2), from
    ``H0 = gamma I`` with ``gamma = <s, y> / <y, y>`` of the newest pair. H is
    applied in the compact form of Byrd, Nocedal & Schnabel (1994): two
    products with all pairs at once and two small triangular solves per step
    (the two-loop recursion's 4 x ``memory`` products of one pair each cost
    more in Python than the arithmetic). A pair that does not curve up
    (``<s, y> > 0``) is skipped; a direction that is not one of descent
    forgets all pairs.

    The state is the pairs, oldest first: ``steps`` and ``gradient_changes``,
    dicts keyed like the parameters of arrays ``(n_pairs, *shape)``.
    """

    name = "lbfgs"
    STATE = {"steps": "arrays", "gradient_changes": "arrays"}

    @classmethod
    def state_kind(cls, key):
        # sknn 0.1 kept the pairs one by one: s0, y0, s1, y1, ... (read, replaced).
        legacy = re.fullmatch(r"[sy]\d+|last_step|last_gradient", key)
        return "arrays" if legacy else cls.STATE.get(key)

    def __init__(self, learning_rate, memory=_LBFGS_MEMORY):
        self.learning_rate = learning_rate
        self.memory = memory
        self.pairs = None

    def step(self, params, grads, loss=None, problem=None):
        if self.pairs is None:
            self.pairs = _Pairs(self._capacity(params), params)
        fresh = self.pairs.count == 0
        direction, slope = self.pairs.direction(grads)
        if not slope < 0:
            self.pairs.forget()
            fresh, direction, slope = True, self.pairs.direction(grads)[0], -inner(grads, grads)
        first = self.learning_rate if fresh else 1.0
        before = copy_params(grads)  # the search may overwrite the objective's buffers
        found = self._search(
            params, grads, loss, problem, direction, slope, first, _QUASI_NEWTON_CURVATURE, fresh
        )
        if found is None:
            self.pairs.forget()
            return None
        step = {name: found.step * d for name, d in direction.items()}
        change = {name: g - before[name] for name, g in found.grads.items()}
        self.pairs.add(step, change)
        return found.loss, found.grads

    def _capacity(self, params):
        per_pair = 2 * sum(total_size(p) * array_ops(p).itemsize(p) for p in params.values())
        return max(1, min(self.memory, _LBFGS_HISTORY_BYTES // max(per_pair, 1)))

    def get_state(self):
        if self.pairs is None or self.pairs.count == 0:
            return {}
        steps, changes = self.pairs.in_order()
        return {"steps": steps, "gradient_changes": changes}

    def set_state(self, state):
        self._reset_progress()
        self.pairs = None
        steps, changes = state.get("steps"), state.get("gradient_changes")
        if steps is None:
            steps, changes = _legacy_pairs(state)
        if not steps:
            return
        n_pairs = len(next(iter(steps.values())))
        like = {name: stack[0, ...] for name, stack in steps.items()}
        self.pairs = _Pairs(self._capacity(like), like)
        for i in range(max(0, n_pairs - self.pairs.capacity), n_pairs):
            self.pairs.add(
                {n: a[i] for n, a in steps.items()}, {n: a[i] for n, a in changes.items()}
            )


def _legacy_pairs(state):
    """The pairs of a state of sknn <= 0.1 (``s0, y0, s1, y1, ...`` dicts), stacked."""
    n_pairs = sum(1 for key in state if key[:1] == "s" and key[1:].isdigit())
    expected = {f"{kind}{i}" for i in range(n_pairs) for kind in "sy"}
    if set(state) - {"last_step", "last_gradient"} != expected:
        raise ValueError(
            "an L-BFGS state holds 'steps' and 'gradient_changes' (or, from sknn 0.1, pairs "
            f"s0, y0, s1, y1, ...); got {sorted(state)}."
        )
    if not n_pairs:
        return None, None
    names = state["s0"].keys()
    stack = {name: array_ops(state["s0"][name]).xp.stack for name in names}
    steps = {n: stack[n]([state[f"s{i}"][n] for i in range(n_pairs)]) for n in names}
    changes = {n: stack[n]([state[f"y{i}"][n] for i in range(n_pairs)]) for n in names}
    return steps, changes


class _Pairs:
    """The last pairs (s, y) of L-BFGS, oldest first, with their inner products.

    Per parameter, ``S[name]`` and ``Y[name]`` stack the pairs' arrays
    (pair, *shape), the first ``count`` rows filled; ``SY[i, j] = <s_i, y_j>``
    and ``YY[i, j] = <y_i, y_j>``, float64 on the host, where the small solves
    run. A new pair beyond ``capacity`` pushes the oldest out (the rows move
    up: the order in memory is the order in time, so a restored state sums as
    the uninterrupted one did).
    """

    def __init__(self, capacity, like):
        self.capacity = capacity
        self.S = {n: array_ops(a).zeros((capacity, *a.shape), like=a) for n, a in like.items()}
        self.Y = {n: array_ops(a).zeros((capacity, *a.shape), like=a) for n, a in like.items()}
        self.SY = np.zeros((capacity, capacity))
        self.YY = np.zeros((capacity, capacity))
        self.count = 0

    def forget(self):
        self.count = 0

    def add(self, s, y):
        """Store the pair as the newest, unless it does not curve up."""
        if not inner(s, y) > 1e-10 * math.sqrt(inner(s, s) * inner(y, y)):
            return
        if self.count == self.capacity:
            for stack in (*self.S.values(), *self.Y.values()):
                stack[:-1, ...] = array_ops(stack).copy(stack[1:, ...])
            self.SY[:-1, :-1] = self.SY[1:, 1:].copy()
            self.YY[:-1, :-1] = self.YY[1:, 1:].copy()
            self.count -= 1
        k = self.count
        for name in self.S:
            self.S[name][k, ...] = s[name]
            self.Y[name][k, ...] = y[name]
        self.count = k + 1
        self.SY[: k + 1, k] = self._products(self.S, y)
        self.SY[k, : k + 1] = self._products(self.Y, s)
        self.YY[: k + 1, k] = self.YY[k, : k + 1] = self._products(self.Y, y)

    def direction(self, grads):
        """``(-H g, <g, -H g>)`` in the compact form (see :class:`LimitedMemoryBFGS`)."""
        k = self.count
        squared_norm = inner(grads, grads)
        if k == 0:
            return {name: -g for name, g in grads.items()}, -squared_norm
        gamma = float(self.SY[k - 1, k - 1] / self.YY[k - 1, k - 1])
        a, b = self._products(self.S, grads), self._products(self.Y, grads)
        # H g = gamma g + S p - gamma Y r, r = R^-1 S^T g,
        # p = R^-T ((D + gamma Y^T Y) r - gamma Y^T g), R = triu(S^T Y).
        R = np.triu(self.SY[:k, :k])
        r = solve_triangular(R, a, check_finite=False)
        middle = np.diag(R) * r + gamma * (self.YY[:k, :k] @ r) - gamma * b
        p = solve_triangular(R, middle, trans=1, check_finite=False)
        slope = -(gamma * squared_norm + a @ p - gamma * b @ r)
        direction = {}
        for name, g in grads.items():
            d = self._combine(self.S[name], p) + self._combine(self.Y[name], -gamma * r)
            d += gamma * g
            direction[name] = -d
        return direction, float(slope)

    def in_order(self):
        """Copies of the filled rows, oldest first."""
        k = self.count
        copy = {n: array_ops(a).copy for n, a in self.S.items()}
        return (
            {n: copy[n](a[:k, ...]) for n, a in self.S.items()},
            {n: copy[n](a[:k, ...]) for n, a in self.Y.items()},
        )

    def _products(self, stacks, v):
        """``<stack_i, v>`` of the filled rows, summed over the parameters, float64 on the host."""
        k = self.count
        total = np.zeros(k)
        for name, stack in stacks.items():
            ops = array_ops(stack)
            flat = ops.reshape(stack[:k, ...], (k, -1)) @ ops.reshape(v[name], (-1,))
            total += np.asarray(ops.to_numpy(flat), dtype=np.float64)
        return total

    def _combine(self, stack, weights):
        """``sum_i weights[i] stack[i]`` over the filled rows, as one product."""
        k, ops = self.count, array_ops(stack)
        w = ops.asarray(np.asarray(weights, dtype=ops.numpy_dtype(stack.dtype)), like=stack)
        return ops.reshape(w @ ops.reshape(stack[:k, ...], (k, -1)), stack.shape[1:])
