"""Line searches, and what the optimizers that use them share; conjugate gradient.

Both move along a direction d chosen from the gradients seen so far and find
the step s along it by a line search on ``phi(s) = J(x + s d)``: each trial
is one evaluation of the loss and gradient, and the accepted trial's gradient
is the next step's (the loop does not evaluate it again). Neither needs a
learning rate: ``learning_rate`` is only the first trial of a search from
the steepest-descent direction.
"""

import math

from ..array_ops import array_ops, copy_params, inner
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


class _Point:
    """A trial of a line search: its step, loss, slope and, once kept, where and its gradient."""

    __slots__ = ("step", "loss", "slope", "params", "grads")

    def __init__(self, step, loss, slope, params=None, grads=None):
        self.step, self.loss, self.slope, self.params, self.grads = step, loss, slope, params, grads


def wolfe_search(problem, point, direction, loss, slope, step, curvature):
    """A step along ``direction`` meeting the strong Wolfe conditions (Nocedal & Wright 3.5).

    Brackets a step by growing ``step`` 4-fold, then narrows the bracket by
    safeguarded cubic interpolation. ``slope`` is the (negative) derivative
    at s = 0. Returns the accepted :class:`_Point` (with its parameters and
    gradient), or None where no trial lowered the loss measurably.
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
            return trial
        if trial.slope >= 0:
            return _zoom(evaluate, accepted, sufficient, trial, previous, evaluation + 1)
        previous, step = trial, _EXPANSION * step
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
            return trial
        if trial.slope * (high.step - low.step) >= 0:
            high = low
        low = trial
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
        "previous_gradient": "gradients",
        "previous_step": "number",
        "previous_slope": "number",
        # sknn 0.1's, read and replaced: the gradient under the removed preconditioner.
        "preconditioned_gradient": "gradients",
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
