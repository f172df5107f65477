"""First-order optimizers: small stateful objects with one verb, ``step``.

Parameters and gradients are dicts of arrays with the same keys, of NumPy
or any Array API namespace (through :mod:`sknn._array_ops`). ``step``
updates the parameters in place and may overwrite the gradients (they are
scratch space by then), so with NumPy no step allocates an array of a
parameter's size.
Step sizes are kept as Python floats: a NumPy float64 scalar would silently
promote float32 parameters to float64 under NumPy 2's promotion rules.

State API
---------
An optimizer's accumulated state is plain data: ``get_state()`` returns a
dict whose values are numbers or dicts of arrays keyed like the parameters
(for example Adam's ``{"t": 3, "first_moments": {"W": ..., "b": ...}, ...}``),
and ``set_state(state)`` takes such a dict back. Nothing else is kept between
fits, so a fitted estimator stores that dict, never the optimizer object, and
:func:`map_parameter_state` carries a state over to another parametrisation.

Most optimizers take their step at the parameters themselves. Nesterov's
method evaluates the gradient at a look-ahead point instead:
``evaluation_point(params)`` tells the training loop where to evaluate, and
``step`` then receives the loss and gradient *at that point*, together with
a ``problem`` (:class:`sknn._engine._FullBatchProblem`) whose
``step_loss(trial, step_size)`` is the loss at ``point - step_size * grads``
(for the line search) and whose ``squared_gradient_norm`` is that of
``grads``.
"""

import math

import numpy as np
from scipy.linalg.lapack import dtrtrs

from .array_ops import array_ops

# Line search: the Armijo test accepts a step s along -g when the loss falls by
# at least s/2 ||g||^2 (the decrease the quadratic upper bound of an
# L-smooth function guarantees for s <= 1/L). A rejected step is halved; an
# accepted one grows a little for the next iteration, so the step tracks the
# local curvature, which for logistic losses is far below the global bound.
_ARMIJO_FRACTION = 0.5
_STEP_SHRINK = 0.5
_STEP_GROWTH = 1.5
_MAX_BACKTRACKS = 60
# Near the optimum, loss differences sink into rounding: a decrease this small
# relative to the loss cannot be measured, so the test allows it. A float64
# loss resolves about 1e-13 of itself; a float32 one, summed over many samples
# in float32, only ~1e-6 (a few hundred ulps of float32): there the allowance
# is that many ulps of the parameters' dtype, or the line search would reject
# every step near the optimum for noise (5000 iterations without converging).
_ROUNDING_SLACK = 1e-13
_ROUNDING_ULPS = 10
# Conjugate gradient's line search: the strong Wolfe conditions, with the
# curvature constant Nocedal & Wright recommend for nonlinear conjugate
# gradient (0.1: close to an exact line search, which keeps the directions
# conjugate); a bracket-free step grows 4-fold.
_WOLFE_DECREASE = 1e-4
_WOLFE_CURVATURE = 0.1
_STEP_EXPANSION = 4.0
_APPROXIMATE_SLACK = 100.0
_MAX_LINE_EVALUATIONS = 30
# Steps without a measurable decrease after which a line-search optimizer is
# stalled (see _LineSearchDescent): a float32 fit of the cat images wanders
# at its noise floor from epoch ~80 on, 5000 epochs if nothing stops it.
_STALL_PATIENCE = 50
# L-BFGS's line search accepts what quasi-Newton methods do (Nocedal & Wright).
_QUASI_NEWTON_CURVATURE = 0.9
# L-BFGS keeps this many pairs (step, gradient change): more pairs, fewer
# iterations on the linear models' ill-conditioned losses, at 4 products of
# a parameter's size per pair and step (see LimitedMemoryBFGS).
_LBFGS_MEMORY = 100
# ... and fewer where the pairs would take more than this many bytes: each
# is held as the state (s, y) and stacked (s, M y).
_LBFGS_HISTORY_BYTES = 2**28
_LBFGS_COPIES = 4


class GradientDescent:
    """Plain gradient descent: ``p -= learning_rate * g``."""

    name = "gd"
    #: Whether the optimizer can make no more progress from where it is (see
    #: :class:`_LineSearchDescent`); one with a fixed step always can.
    stalled = False

    def __init__(self, learning_rate):
        self.learning_rate = learning_rate

    def evaluation_point(self, params):
        return params

    def step(self, params, grads, loss=None, problem=None):
        for name, grad in grads.items():
            grad *= -self.learning_rate
            params[name] += grad

    def get_state(self):
        return {}

    def set_state(self, state):
        pass


class Momentum(GradientDescent):
    """Heavy-ball momentum: ``v = beta_1 v - lr g; p += v``."""

    name = "momentum"

    def __init__(self, learning_rate, beta_1):
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self.velocities = None

    def step(self, params, grads, loss=None, problem=None):
        if self.velocities is None:
            self.velocities = _zeros_like(params)
        for name, grad in grads.items():
            velocity = self.velocities[name]
            velocity *= self.beta_1
            grad *= self.learning_rate
            velocity -= grad
            params[name] += velocity

    def get_state(self):
        return {} if self.velocities is None else {"velocities": self.velocities}

    def set_state(self, state):
        self.velocities = state.get("velocities")


class Adam(GradientDescent):
    """Adam (Kingma & Ba, 2015) with bias correction folded into the step size."""

    name = "adam"

    def __init__(self, learning_rate, beta_1, beta_2, epsilon):
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.t = 0
        self.first_moments = None
        self.second_moments = None

    def step(self, params, grads, loss=None, problem=None):
        if self.first_moments is None:
            self.first_moments = _zeros_like(params)
            self.second_moments = _zeros_like(params)
        self.t += 1
        step_size = float(
            self.learning_rate * math.sqrt(1 - self.beta_2**self.t) / (1 - self.beta_1**self.t)
        )
        # Moments of vanishing gradients decay towards zero: their underflow to
        # subnormals or zero is exact enough and must not trip np.seterr.
        with np.errstate(under="ignore"):
            for name, grad in grads.items():
                m, v = self.first_moments[name], self.second_moments[name]
                # m = b1 m + (1 - b1) g and v = b2 v + (1 - b2) g^2, rearranged
                # as b (x - y) + y so that no temporary is allocated.
                m -= grad
                m *= self.beta_1
                m += grad
                grad *= grad
                v -= grad
                v *= self.beta_2
                v += grad
                # grad is free now: reuse it for the update.
                ops = array_ops(grad)
                grad = ops.sqrt(v, out=grad)
                grad += self.epsilon
                grad = ops.divide(m, grad, out=grad)
                grad *= step_size
                params[name] -= grad

    def get_state(self):
        if self.first_moments is None:
            return {"t": self.t}
        return {
            "t": self.t,
            "first_moments": self.first_moments,
            "second_moments": self.second_moments,
        }

    def set_state(self, state):
        self.t = int(state.get("t", 0))
        self.first_moments = state.get("first_moments")
        self.second_moments = state.get("second_moments")


class Nesterov(GradientDescent):
    """Nesterov's accelerated gradient, with adaptive restart and a line search.

    Each step moves from the look-ahead point ``y`` along its gradient to the
    next iterate ``x+ = y - s g(y)`` and extrapolates ``y+ = x+ + beta (x+ - x)``.

    With ``adaptive=True`` (full-batch training) ``beta`` follows FISTA's
    sequence ``t+ = (1 + sqrt(1 + 4 t^2)) / 2``, ``beta = (t - 1) / t+``, and
    is reset to zero whenever the loss at the new iterate exceeds the loss at
    the previous one (O'Donoghue & Candes' function restart), which keeps the
    acceleration on strongly convex losses without its oscillations. With
    ``line_search=True`` the step ``s`` is chosen by Armijo backtracking from
    the previous step grown by 50%, starting at ``learning_rate``; otherwise
    ``s`` is ``learning_rate`` throughout.

    With ``adaptive=False`` (mini-batches, where losses of different batches
    cannot be compared) it is Sutskever's Nesterov momentum: constant
    ``beta = beta_1``, step ``learning_rate``, no restart.

    The parameters held by the estimator are the iterates ``x``; the look-ahead
    ``y`` is part of the state.
    """

    name = "nesterov"

    def __init__(self, learning_rate, beta_1, *, adaptive=True, line_search=False):
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self.adaptive = adaptive
        self.line_search = line_search
        self.step_size = None
        self.t = 1.0
        self.previous_loss = math.inf
        self.lookahead = None
        self._trial = None

    def evaluation_point(self, params):
        return params if self.lookahead is None else self.lookahead

    def step(self, params, grads, loss=None, problem=None):
        if self.step_size is None or not (self.adaptive and self.line_search):
            self.step_size = float(self.learning_rate)
        point = self.evaluation_point(params)
        if self.adaptive:
            new_loss = self._descend(point, grads, loss, problem)
            restart = not new_loss <= self.previous_loss
            self.previous_loss = new_loss
            if restart:
                self.t, beta = 1.0, 0.0
            else:
                t_next = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * self.t * self.t))
                self.t, beta = t_next, (self.t - 1.0) / t_next
        else:
            self._move(point, grads)
            beta = self.beta_1
        self._extrapolate(params, beta)

    def _descend(self, point, grads, loss, problem):
        """Put ``point - s g`` into the trial buffer; return its loss (line search on s)."""
        squared_norm = problem.squared_gradient_norm if self.line_search else 0.0
        slack = _rounding_slack(grads) * abs(loss)
        for _ in range(_MAX_BACKTRACKS):
            self._move(point, grads)
            trial_loss = problem.step_loss(self._trial, self.step_size)
            if not self.line_search:
                return trial_loss
            decrease = _ARMIJO_FRACTION * self.step_size * squared_norm
            if trial_loss <= loss - decrease + slack:
                self.step_size *= _STEP_GROWTH
                return trial_loss
            self.step_size *= _STEP_SHRINK
        return trial_loss

    def _move(self, point, grads):
        """``trial <- point - step_size * grads``, in buffers kept between steps."""
        self._trial = _into(self._trial, point)
        for name, grad in grads.items():
            trial = array_ops(grad).multiply(grad, -self.step_size, out=self._trial[name])
            trial += point[name]
            self._trial[name] = trial

    def _extrapolate(self, params, beta):
        """``params <- x+``, ``lookahead <- x+ + beta (x+ - x)``, with x the old params."""
        if beta == 0.0:
            for name, trial in self._trial.items():
                params[name][...] = trial
            self.lookahead = None
            return
        if self.lookahead is None or self.lookahead is params:
            self.lookahead = _zeros_like(params)
        for name, trial in self._trial.items():
            lookahead = array_ops(trial).subtract(trial, params[name], out=self.lookahead[name])
            lookahead *= beta
            lookahead += trial
            self.lookahead[name] = lookahead
            params[name][...] = trial

    def get_state(self):
        state = {"t": self.t, "previous_loss": self.previous_loss}
        if self.step_size is not None:
            state["step_size"] = self.step_size
        if self.lookahead is not None:
            state["lookahead"] = self.lookahead
        return state

    def set_state(self, state):
        self.t = float(state.get("t", 1.0))
        self.previous_loss = float(state.get("previous_loss", math.inf))
        self.step_size = state.get("step_size")
        self.lookahead = state.get("lookahead")


class _LineSearchDescent(GradientDescent):
    """What the full-batch optimizers with an exact line search (cg, lbfgs) share.

    Each step binds new arrays for its state and never writes into old ones
    (see EpochCheckpoint). And each knows when it is stuck, where rounding
    hides the remaining decrease (a float32 loss resolves ~1e-6 of itself),
    and the training loop then stops ('stalled'):

    - a line search along the preconditioned steepest descent direction
      ``-M g`` that finds no step lowering the loss measurably leaves the
      parameters where they are; when the next one, from the gradient
      recomputed there, finds none either, every later step would repeat it;
    - or for ``_STALL_PATIENCE`` steps the steps the approximate Wolfe
      conditions accept (the derivative still says "down") have neither
      lowered the loss by more than its rounding (``_rounding_slack``) below
      the last such improvement nor halved the smallest gradient norm seen:
      the iterates wander in the noise. Only where the loss resolves less
      than float64's 1e-13 of itself (float32): in float64 the gradient test
      of any sensible ``tol`` holds first, and near a minimum the loss's
      progress sinks below 1e-13 while the gradient still falls, though
      unevenly (conjugate gradient's by 10x up and down).
    """

    replaces_its_state = True
    _failed_fresh_searches = 0
    _steps_without_progress = 0
    _reference_loss = _reference_gradient = math.inf

    def _searched(self, step, fresh, loss, grads, squared_gradient_norm):
        """Count a line search from ``loss`` that found ``step``; ``fresh``: along ``-M g``."""
        self._failed_fresh_searches = 0 if step > 0 else self._failed_fresh_searches + fresh
        resolution = _rounding_slack(grads)
        if resolution <= _ROUNDING_SLACK:
            return
        reference = self._reference_loss
        lower = not math.isfinite(reference) or loss < reference - resolution * reference
        flatter = squared_gradient_norm < 0.25 * self._reference_gradient
        if lower:
            self._reference_loss = loss
        if flatter:
            self._reference_gradient = squared_gradient_norm
        self._steps_without_progress = 0 if lower or flatter else self._steps_without_progress + 1

    def _reset_progress(self):
        self._failed_fresh_searches = self._steps_without_progress = 0
        self._reference_loss = self._reference_gradient = math.inf

    @property
    def stalled(self):
        return self._failed_fresh_searches >= 2 or self._steps_without_progress >= _STALL_PATIENCE


class ConjugateGradient(_LineSearchDescent):
    """Nonlinear conjugate gradient (Polak-Ribiere+), preconditioned, with a line search.

    Gradient descent with momentum, both chosen afresh at every step: the
    direction is ``d = -M g + beta d_prev`` with the Polak-Ribiere+ momentum
    ``beta = max(0, <g, M g - M g_prev> / <g_prev, M g_prev>)`` (0 restarts
    from the steepest descent direction, as does any d that is not a descent
    direction), and the step ``s`` along d is found by a line search, so no
    learning rate needs tuning. M is the problem's preconditioner (identity
    when there is none): a fixed change of coordinates that leaves the model
    and its minimum alone.

    The line search needs the loss and its first two derivatives along d,
    which the linear models give from their logits at O(n_samples) per point
    (``problem.line``, see :class:`sknn._engine._Line`): it is a safeguarded
    Newton iteration on ``phi(s) = J(x + s d)`` (bisection inside the bracket
    when a Newton step leaves it), from the Newton step at ``s = 0``, and
    stops at the first s meeting the strong Wolfe conditions
    ``phi(s) <= phi(0) + c1 s phi'(0)`` and ``|phi'(s)| <= c2 |phi'(0)|``
    (usually the first). ``learning_rate`` is the first trial step only
    where the curvature at s = 0 is not positive.

    Full batch only: losses and gradients of different mini-batches are not
    one function, and conjugacy means nothing across them.
    """

    name = "cg"

    def __init__(self, learning_rate, preconditioner=None):
        self.learning_rate = learning_rate
        self.direction = None
        self.preconditioned_gradient = None
        self.gradient_product = None
        self._preconditioner = preconditioner
        # <g, direction> at the point the last line search moved to, which is
        # where the next gradient g is taken: the line measured it there.
        self._slope_at_arrival = None

    def step(self, params, grads, loss=None, problem=None):
        Mg, gMg = _preconditioned(self._preconditioner, grads, problem)
        direction = None
        if self.direction is not None and self.gradient_product > 0:
            beta = max(0.0, (gMg - problem.inner(grads, self.preconditioned_gradient)))
            beta /= self.gradient_product
            direction = {name: beta * d - Mg[name] for name, d in self.direction.items()}
            along_previous = self._slope_at_arrival
            if along_previous is None:
                along_previous = problem.inner(grads, self.direction)
            slope = beta * along_previous - gMg  # <g, beta d_prev - M g>
        fresh = direction is None or not slope < 0
        if fresh:
            direction = {name: -g for name, g in Mg.items()}
            slope = -gMg
        step, self._slope_at_arrival = (
            _exact_line_search(
                problem, params, direction, loss, slope, self.learning_rate, _WOLFE_CURVATURE
            )
            if slope < 0
            else (0.0, None)
        )
        self._searched(step, fresh, loss, grads, problem.squared_gradient_norm)
        if step > 0:
            for name, d in direction.items():
                params[name] += step * d
            self.direction = direction
            self.preconditioned_gradient, self.gradient_product = Mg, gMg
        else:
            # No decrease along any direction the line search could measure:
            # start afresh from the steepest descent direction.
            self.direction = self.preconditioned_gradient = self.gradient_product = None
            self._slope_at_arrival = None

    def get_state(self):
        if self.direction is None:
            return {}
        return {
            "direction": self.direction,
            "preconditioned_gradient": self.preconditioned_gradient,
            "gradient_product": self.gradient_product,
        }

    def set_state(self, state):
        self._slope_at_arrival = None
        self._reset_progress()
        self.direction = state.get("direction")
        self.preconditioned_gradient = state.get("preconditioned_gradient")
        self.gradient_product = state.get("gradient_product")
        if self.gradient_product is not None:
            self.gradient_product = float(self.gradient_product)


class LimitedMemoryBFGS(_LineSearchDescent):
    """Limited-memory BFGS (L-BFGS), preconditioned, with an exact line search.

    Gradient descent along ``d = -H g``, where H, an estimate of the inverse
    Hessian, is built from the last ``memory`` steps ``s = x+ - x`` and
    gradient changes ``y = g+ - g`` alone (no second derivatives): the BFGS
    updates of ``H0 = gamma M``, with M the problem's preconditioner
    (identity when there is none) and ``gamma = <s, y> / <y, M y>`` of the
    newest pair. H is applied in the compact form of Byrd, Nocedal & Schnabel
    (1994): two products with all stored pairs at once and two triangular
    solves of size ``memory``, instead of the two-loop recursion's 4 x
    ``memory`` products with one pair each. A pair that does not curve up
    (``<s, y> <= 0``: only rounding does that on a convex loss) and a
    direction that is not one of descent (rounding again) make it forget all
    pairs and start afresh from ``-M g``.

    The step along d is found by the same exact line search as
    :class:`ConjugateGradient`'s, with the curvature constant of
    quasi-Newton methods (0.9, Nocedal & Wright): the Newton step along the
    line, where the first trial usually lands, nearly always passes.

    Every inner product is the problem's (``problem.inner``, and
    ``problem.covector`` for the products with the stacked pairs), so a
    reparametrised problem (sample space) takes the model's steps.

    The state is the pairs, oldest first, as ``s0, y0, s1, y1, ...``, and
    the last step with the gradient it started from (``last_step``,
    ``last_gradient``), whose pair the next gradient completes. Full batch
    only, as conjugate gradient.
    """

    name = "lbfgs"

    def __init__(self, learning_rate, preconditioner=None, memory=_LBFGS_MEMORY):
        self.learning_rate = learning_rate
        self.memory = memory
        self.steps = []
        self.gradient_changes = []
        self.last_step = None
        self.last_gradient = None
        self._preconditioner = preconditioner
        # The pairs stacked for the products with all of them (scratch): for
        # the lists ``_stacked_from``, rebuilt when those are not the pairs.
        self._stacks = None
        self._stacked_from = None

    def step(self, params, grads, loss=None, problem=None):
        if self.last_step is not None:
            self._remember(problem, grads)
        Mg, gMg = _preconditioned(self._preconditioner, grads, problem)
        fresh = not self.steps
        direction, slope = self._direction(problem, grads, Mg, gMg)
        if not slope < 0:
            self._forget()
            fresh, direction, slope = True, {name: -g for name, g in Mg.items()}, -gMg
        step = 0.0
        if slope < 0:
            step, _ = _exact_line_search(
                problem, params, direction, loss, slope, self.learning_rate, _QUASI_NEWTON_CURVATURE
            )
        self._searched(step, fresh, loss, grads, problem.squared_gradient_norm)
        if step > 0:
            self.last_step = {name: step * d for name, d in direction.items()}
            self.last_gradient = grads
            for name, s in self.last_step.items():
                params[name] += s
        else:
            # No measurable decrease along the direction: start afresh.
            self._forget()

    def _remember(self, problem, grads):
        """Store the pair of the last step, completed by the gradient ``grads`` after it."""
        s = self.last_step
        y = {name: g - self.last_gradient[name] for name, g in grads.items()}
        stacks = self._current_stacks(problem, s)
        if not stacks.add(s, y, self._preconditioned_change(y), problem):
            # <s, y> > 0 holds on a convex loss up to rounding: where rounding
            # breaks it, the pairs no longer describe the curvature.
            self._forget()
            return
        # New lists (the old ones may be a checkpoint's): the newest pairs the stacks hold.
        dropped = max(0, len(self.steps) + 1 - stacks.capacity)
        self.steps = [*self.steps[dropped:], s]
        self.gradient_changes = [*self.gradient_changes[dropped:], y]
        self._stacked_from = self.steps
        self.last_step = self.last_gradient = None

    def _direction(self, problem, grads, Mg, gMg):
        """``(-H g, <g, -H g>)``: the quasi-Newton direction and the slope along it."""
        if not self.steps:
            return {name: -g for name, g in Mg.items()}, -gMg
        return self._current_stacks(problem, grads).direction(problem, grads, Mg, gMg)

    def _current_stacks(self, problem, like):
        """The stacks of the pairs in ``steps`` and ``gradient_changes``, built if need be."""
        if self._stacks is None or self._stacked_from is not self.steps:
            stacks = _PairStacks(self._capacity(problem, like), like)
            for s, y in zip(self.steps, self.gradient_changes):
                if not stacks.add(s, y, self._preconditioned_change(y), problem):
                    # Pairs handed over (a state, a file) that do not curve up
                    # describe no convex loss: start without them.
                    self.steps, self.gradient_changes = [], []
                    stacks = _PairStacks(stacks.capacity, like)
                    break
            self._stacks, self._stacked_from = stacks, self.steps
        return self._stacks

    def _preconditioned_change(self, y):
        """``M y`` (y itself without a preconditioner)."""
        return y if self._preconditioner is None else self._preconditioner(y)

    def _capacity(self, problem, like):
        """How many pairs to keep: ``memory``, fewer where they would take too much memory.

        Counted in the model's parametrisation (``problem.model_nbytes``),
        where the state ends up.
        """
        n_bytes = problem.model_nbytes(like)
        return max(1, min(self.memory, _LBFGS_HISTORY_BYTES // (_LBFGS_COPIES * n_bytes)))

    def _forget(self):
        self.steps, self.gradient_changes = [], []
        self.last_step = self.last_gradient = None
        self._stacks = self._stacked_from = None

    def get_state(self):
        state = {}
        for i, (s, y) in enumerate(zip(self.steps, self.gradient_changes)):
            state[f"s{i}"], state[f"y{i}"] = s, y
        if self.last_step is not None:
            state["last_step"], state["last_gradient"] = self.last_step, self.last_gradient
        return state

    def set_state(self, state):
        n_pairs = sum(1 for key in state if key[:1] == "s" and key[1:].isdigit())
        expected = {f"{kind}{i}" for i in range(n_pairs) for kind in "sy"}
        if "last_step" in state or "last_gradient" in state:
            expected |= {"last_step", "last_gradient"}
        if set(state) != expected:
            raise ValueError(
                "an L-BFGS state holds pairs s0, y0, s1, y1, ... and optionally both "
                f"last_step and last_gradient; got {sorted(state)}."
            )
        # The newest ``memory`` pairs: a state with more is not this optimizer's
        # (it does not come back from get_state as it went in).
        first = max(0, n_pairs - self.memory)
        self.steps = [state[f"s{i}"] for i in range(first, n_pairs)]
        self.gradient_changes = [state[f"y{i}"] for i in range(first, n_pairs)]
        self.last_step = state.get("last_step")
        self.last_gradient = state.get("last_gradient")
        self._stacks = self._stacked_from = None
        self._reset_progress()


class _PairStacks:
    """An L-BFGS history stacked for products with all its pairs at once.

    Per parameter, ``rows`` holds the pairs flattened, slot k's step s in
    row 2k and its preconditioned gradient change M y in row 2k + 1; slots
    fill up from 0 and then form a ring (a new pair replaces the oldest),
    and ``order`` lists them oldest first. ``SY[i, j] = <s_i, y_j>`` for
    i <= j and ``YMY[i, j] = <y_i, M y_j>``, pairs numbered oldest first,
    are float64 on the host, where the small triangular solves run (LAPACK's
    own: SciPy's wrappers cost 10x more than a solve of this size).
    """

    def __init__(self, capacity, like):
        ops = array_ops(*like.values())
        self.capacity = capacity
        self.shapes = {name: a.shape for name, a in like.items()}
        self.rows = {
            name: ops.zeros((2 * capacity, math.prod(a.shape)), like=a) for name, a in like.items()
        }
        self.SY = np.zeros((capacity, capacity), order="F")
        self.YMY = np.zeros((capacity, capacity))
        self.order = np.zeros(0, dtype=np.intp)
        self.gamma = 1.0

    def add(self, s, y, My, problem):
        """Store the pair; whether it curves up (``<s, y> > 0`` and ``<y, M y> > 0``)."""
        n = len(self.order)
        if n == self.capacity:
            slot, self.order = self.order[0], np.concatenate((self.order[1:], self.order[:1]))
            # The oldest pair leaves: the others move up by one.
            self.SY[:-1, :-1] = self.SY[1:, 1:].copy()
            self.YMY[:-1, :-1] = self.YMY[1:, 1:].copy()
            n -= 1
        else:
            slot, self.order = n, np.append(self.order, n)
        for name, rows in self.rows.items():
            ops = array_ops(rows)
            rows[2 * slot, :] = ops.reshape(s[name], (-1,))
            rows[2 * slot + 1, :] = ops.reshape(My[name], (-1,))
        # <s_i, y> and <M y_i, y> = <y_i, M y> for every stored pair i (M is
        # self-adjoint), from one product with y's covector.
        steps, changes = self._products(problem.covector(y))
        self.SY[: n + 1, n] = steps[self.order]
        self.YMY[: n + 1, n] = self.YMY[n, : n + 1] = changes[self.order]
        curving, scale = float(self.SY[n, n]), float(self.YMY[n, n])
        self.gamma = curving / scale if scale > 0 else 0.0
        return curving > 0 and scale > 0

    def direction(self, problem, grads, Mg, gMg):
        """``(-H g, <g, -H g>)`` in the compact form (see :class:`LimitedMemoryBFGS`)."""
        order, n, gamma = self.order, len(self.order), self.gamma
        steps, changes = self._products(problem.covector(grads))
        sg, ymg = steps[order], changes[order]
        upper = self.SY[:n, :n]
        # H g = gamma M g + S p + gamma M Y q (Byrd, Nocedal & Schnabel), with
        # q = -R^-1 S^T g and p = R^-T ((D + gamma Y^T M Y) R^-1 S^T g - gamma Y^T M g).
        r = dtrtrs(upper, sg)[0]
        middle = upper.diagonal() * r
        middle += gamma * (self.YMY[:n, :n] @ r - ymg)
        p = dtrtrs(upper, middle, trans=1)[0]
        slope = -(gamma * gMg + float(sg @ p) - gamma * float(ymg @ r))
        weights = np.empty(2 * n)
        weights[2 * order] = -p
        weights[2 * order + 1] = gamma * r
        direction = {}
        for name, rows in self.rows.items():
            ops = array_ops(rows)
            combined = ops.asarray(weights.astype(ops.numpy_dtype(rows.dtype)), like=rows)
            d = ops.reshape(combined @ rows[: 2 * n, ...], self.shapes[name])
            d -= gamma * Mg[name]
            direction[name] = d
        return direction, slope

    def _products(self, covector):
        """``(<s_k, covector>, <M y_k, covector>)`` of the filled slots k, float64 on the host."""
        n, total = len(self.order), None
        for name, rows in self.rows.items():
            ops = array_ops(rows)
            product = rows[: 2 * n, ...] @ ops.reshape(covector[name], (-1,))
            total = product if total is None else total + product
        total = np.asarray(ops.to_numpy(total), dtype=np.float64)
        return total[0::2], total[1::2]


def _preconditioned(preconditioner, grads, problem):
    """``(M g, <g, M g>)`` of the gradient of the current step."""
    if preconditioner is None:
        # The gradients are not written to (by the line-search optimizers or
        # the loop): no copy.
        return grads, problem.squared_gradient_norm
    Mg = preconditioner(grads)
    return Mg, problem.inner(grads, Mg)


def _exact_line_search(problem, point, direction, loss, slope, fallback_step, curvature_constant):
    """A step along ``direction`` meeting the strong Wolfe conditions (Newton on the line).

    Returns ``(step, derivative there)``, or ``(0.0, None)`` when no step of
    the line could be measured to decrease the loss. ``slope`` is the
    derivative at s = 0 (negative); ``fallback_step`` is the first trial
    where the curvature at s = 0 is not positive; ``curvature_constant`` is
    c2 of ``|phi'(s)| <= c2 |phi'(0)|`` (see :class:`ConjugateGradient`).
    """
    line = problem.line(point, direction)
    slack = _rounding_slack(direction) * abs(loss)

    def sufficient(step, value):
        return value <= loss + _WOLFE_DECREASE * step * slope + slack

    curvature = line.curvature_at_start()
    step = -slope / curvature if curvature > 0 else float(fallback_step)
    low, high, best, best_derivative = 0.0, math.inf, 0.0, None
    for _ in range(_MAX_LINE_EVALUATIONS):
        value, derivative, curvature = line.at(step)
        if not math.isfinite(value):
            high = step
        else:
            flat = abs(derivative) <= curvature_constant * -slope
            # Near the optimum the loss's decrease sinks below its rounding
            # (float32: 1e-7 of it) while its derivative, a sum of signed
            # terms, still resolves: the loss is convex along the line, so
            # a point where it still descends, or has just passed the
            # minimum by a little, lies below the start (Hager & Zhang's
            # approximate Wolfe conditions).
            if flat and derivative <= 0 and value <= loss + _APPROXIMATE_SLACK * slack:
                line.moved_to(step)
                return step, derivative
            if sufficient(step, value):
                if flat:
                    line.moved_to(step)
                    return step, derivative
                best, best_derivative = step, derivative
            if derivative > 0:
                high = step
            else:
                low = step
        newton = step - derivative / curvature if math.isfinite(value) and curvature > 0 else -1
        if low < newton < high:
            step = newton
        else:
            step = 0.5 * (low + high) if high < math.inf else _STEP_EXPANSION * step
    line.moved_to(best)
    return best, best_derivative


# The estimator hyperparameters each optimizer reads ('lbfgs' and 'cg' take a
# learning rate only as a first trial step: their line search finds the steps).
OPTIMIZER_HYPERPARAMETERS = {
    "gd": ("learning_rate",),
    "momentum": ("learning_rate", "beta_1"),
    "nesterov": ("learning_rate", "beta_1"),
    "adam": ("learning_rate", "beta_1", "beta_2", "epsilon"),
    "cg": (),
    "lbfgs": (),
}

OPTIMIZERS = {
    cls.name: cls
    for cls in (GradientDescent, Momentum, Adam, Nesterov, ConjugateGradient, LimitedMemoryBFGS)
}


def make_optimizer(
    name,
    learning_rate,
    beta_1,
    beta_2,
    epsilon,
    *,
    full_batch=True,
    line_search=False,
    preconditioner=None,
):
    """Build the optimizer the estimator's ``optimizer`` parameter names.

    ``preconditioner`` (a map of gradient dicts, see :mod:`sknn._preconditioning`)
    is used by 'cg' and 'lbfgs' only, which refuse mini-batches.
    """
    if name in ("cg", "lbfgs"):
        if not full_batch:
            method = "conjugate gradient" if name == "cg" else "limited-memory BFGS"
            raise ValueError(
                f"optimizer={name!r} ({method}) trains on the full batch: set "
                "batch_size=None, or choose another optimizer for mini-batches."
            )
        return OPTIMIZERS[name](learning_rate, preconditioner)
    if name == "gd":
        return GradientDescent(learning_rate)
    if name == "momentum":
        return Momentum(learning_rate, beta_1)
    if name == "nesterov":
        return Nesterov(
            learning_rate, beta_1, adaptive=full_batch, line_search=full_batch and line_search
        )
    return Adam(learning_rate, beta_1, beta_2, epsilon)


def map_parameter_state(state, transform, transform_all=None):
    """A copy of an optimizer state with each per-parameter dict passed through ``transform``.

    ``transform`` maps a dict of arrays keyed like the parameters to another
    such dict, e.g. from a reparametrised problem back to the model's weights;
    ``transform_all``, if given, maps a list of them at once (one product for
    all of L-BFGS's pairs instead of one each).
    """
    keys = [key for key, value in state.items() if isinstance(value, dict)]
    dicts = [state[key] for key in keys]
    mapped = [transform(d) for d in dicts] if transform_all is None else transform_all(dicts)
    return {**state, **dict(zip(keys, mapped))}


def _rounding_slack(grads):
    """The relative loss change below which a line search cannot tell (see _ROUNDING_SLACK)."""
    grad = next(iter(grads.values()))
    # Keyed by the array type too: dtypes of different namespaces compare
    # unequal (array_api_strict's warn when compared with NumPy's).
    key = (type(grad), grad.dtype)
    slack = _SLACK_BY_DTYPE.get(key)
    if slack is None:
        epsilon = float(array_ops(grad).xp.finfo(grad.dtype).eps)
        slack = _SLACK_BY_DTYPE[key] = max(_ROUNDING_SLACK, _ROUNDING_ULPS * epsilon)
    return slack


# finfo costs microseconds, once per line search: looked up once per array type and dtype.
_SLACK_BY_DTYPE = {}


def _zeros_like(params):
    ops = array_ops(*params.values())
    return {name: ops.zeros_like(p) for name, p in params.items()}


def _into(target, source):
    """Buffers shaped like ``source``: ``target`` when it fits, else new ones."""
    if target is not None and all(
        name in target and target[name].shape == p.shape and target[name].dtype == p.dtype
        for name, p in source.items()
    ):
        return target
    ops = array_ops(*source.values())
    return {name: ops.empty_like(p) for name, p in source.items()}
