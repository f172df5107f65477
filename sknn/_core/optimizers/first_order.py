"""First-order optimizers: a step from the gradient alone, of a size set by the learning rate.

Each updates the parameters in place and may use the gradients as scratch
space, so with NumPy a step allocates no array of a parameter's size. Step
sizes are Python floats: a NumPy float64 scalar would promote float32
parameters to float64 under NumPy 2's rules.
"""

import math

import numpy as np

from ..array_ops import array_ops, copy_params, inner, zeros_like

# Nesterov's backtracking line search (full batch, learning_rate='auto'): the
# Armijo test accepts a step s along -g when the loss falls by s/2 ||g||^2; a
# rejected step is halved, an accepted one grows by half for the next step,
# so the step tracks the local curvature.
_ARMIJO_FRACTION = 0.5
_STEP_SHRINK = 0.5
_STEP_GROWTH = 1.5
_MAX_BACKTRACKS = 60


class GradientDescent:
    """Plain gradient descent, ``p -= learning_rate * g``: the course's algorithm."""

    name = "gd"
    stalled = False
    #: The entries of :meth:`get_state`: "number", "count" (an int), "arrays"
    #: (a dict keyed like the parameters, which a change of coordinates maps as
    #: the parameters) or "gradients" (such a dict, mapped as gradients); what
    #: model files may hold (see state_kind).
    STATE = {}

    def __init__(self, learning_rate):
        self.learning_rate = learning_rate

    @classmethod
    def state_kind(cls, key):
        """The kind of an entry of this optimizer's state (see STATE); None if none."""
        return cls.STATE.get(key)

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
    """Heavy-ball momentum: ``v = beta_1 v - learning_rate g``, ``p += v``."""

    name = "momentum"
    STATE = {"velocities": "arrays"}

    def __init__(self, learning_rate, beta_1):
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self.velocities = None

    def step(self, params, grads, loss=None, problem=None):
        if self.velocities is None:
            self.velocities = zeros_like(params)
        for name, grad in grads.items():
            velocity = self.velocities[name]
            velocity *= self.beta_1
            grad *= self.learning_rate
            velocity -= grad
            params[name] += velocity

    def get_state(self):
        return {} if self.velocities is None else {"velocities": copy_params(self.velocities)}

    def set_state(self, state):
        self.velocities = state.get("velocities")


class Adam(GradientDescent):
    """Adam (Kingma & Ba, 2015), its bias correction folded into the step size."""

    name = "adam"
    STATE = {"t": "count", "first_moments": "arrays", "second_moments": "arrays"}

    def __init__(self, learning_rate, beta_1, beta_2, epsilon):
        self.learning_rate = learning_rate
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.t = 0
        self.first_moments = self.second_moments = None

    def step(self, params, grads, loss=None, problem=None):
        if self.first_moments is None:
            self.first_moments, self.second_moments = zeros_like(params), zeros_like(params)
        self.t += 1
        correction = math.sqrt(1 - self.beta_2**self.t) / (1 - self.beta_1**self.t)
        step_size = float(self.learning_rate * correction)
        # Moments of vanishing gradients underflow to zero, harmlessly.
        with np.errstate(under="ignore"):
            for name, grad in grads.items():
                m, v = self.first_moments[name], self.second_moments[name]
                # m = b1 m + (1 - b1) g as b1 (m - g) + g: no temporary.
                m -= grad
                m *= self.beta_1
                m += grad
                grad *= grad
                v -= grad
                v *= self.beta_2
                v += grad
                ops = array_ops(grad)
                grad = ops.sqrt(v, out=grad)  # the gradient is spent: its buffer is reused
                grad += self.epsilon
                grad = ops.divide(m, grad, out=grad)
                grad *= step_size
                params[name] -= grad

    def get_state(self):
        if self.first_moments is None:
            return {"t": self.t}
        return {
            "t": self.t,
            "first_moments": copy_params(self.first_moments),
            "second_moments": copy_params(self.second_moments),
        }

    def set_state(self, state):
        moments = state.get("first_moments"), state.get("second_moments")
        if (moments[0] is None) != (moments[1] is None):
            raise ValueError("an Adam state holds both moments or neither.")
        self.t = int(state.get("t", 0))
        self.first_moments, self.second_moments = moments


class Nesterov(GradientDescent):
    """Nesterov's accelerated gradient.

    Each step moves from the look-ahead point ``y`` along its gradient to the
    next iterate ``x+ = y - s g(y)`` and extrapolates ``y+ = x+ + beta (x+ - x)``.
    On the full batch ``beta`` follows FISTA's sequence and
    is reset to 0 whenever the loss at the new iterate rises (O'Donoghue &
    Candes' adaptive restart); with ``line_search=True`` the step ``s`` is
    found by Armijo backtracking, started from the last step grown by half.
    On mini-batches it is Sutskever's Nesterov momentum: ``beta = beta_1``,
    fixed step, no restart. The parameters are the iterates ``x``; the
    look-ahead point is part of the state.
    """

    name = "nesterov"
    STATE = {"t": "number", "previous_loss": "number", "step_size": "number", "lookahead": "arrays"}

    def __init__(self, learning_rate, beta_1=0.9, *, full_batch=True, line_search=False):
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        # Losses of different mini-batches cannot be compared: no restart, no search.
        self.adaptive = full_batch
        self.line_search = full_batch and line_search
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
        """Set the trial ``point - s g`` and return its loss (backtracking on s)."""
        squared_norm = inner(grads, grads) if self.line_search else 0.0
        slack = rounding_slack(grads) * abs(loss)
        for _ in range(_MAX_BACKTRACKS):
            self._move(point, grads)
            trial_loss = problem.loss(self._trial)
            if not self.line_search:
                return trial_loss
            if trial_loss <= loss - _ARMIJO_FRACTION * self.step_size * squared_norm + slack:
                self.step_size *= _STEP_GROWTH
                return trial_loss
            self.step_size *= _STEP_SHRINK
        return trial_loss

    def _move(self, point, grads):
        """``trial <- point - step_size * grads``."""
        self._trial = {name: point[name] - self.step_size * grad for name, grad in grads.items()}

    def _extrapolate(self, params, beta):
        """``params <- x+``, ``lookahead <- x+ + beta (x+ - x)``, x the old params."""
        if beta == 0.0:
            for name, trial in self._trial.items():
                params[name][...] = trial
            self.lookahead = None
            return
        if self.lookahead is None or self.lookahead is params:
            self.lookahead = zeros_like(params)
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
            state["lookahead"] = copy_params(self.lookahead)
        return state

    def set_state(self, state):
        self.t = float(state.get("t", 1.0))
        self.previous_loss = float(state.get("previous_loss", math.inf))
        self.step_size = state.get("step_size")
        self.lookahead = state.get("lookahead")


# A loss is summed from many terms: a decrease smaller than this share of it
# cannot be told from rounding. float64 resolves ~1e-13 of a loss; float32,
# summed in float32, only a few hundred ulps (~1e-6): there the allowance is
# ten ulps of the dtype, or a line search would reject every step near the
# optimum for noise.
_ROUNDING_SLACK = 1e-13
_ROUNDING_ULPS = 10
_SLACK_BY_DTYPE = {}


def rounding_slack(grads):
    """The relative loss change below which a line search cannot tell a decrease."""
    grad = next(iter(grads.values()))
    # Keyed by array type too: dtypes of different namespaces compare unequal.
    key = (type(grad), grad.dtype)
    if key not in _SLACK_BY_DTYPE:
        epsilon = float(array_ops(grad).xp.finfo(grad.dtype).eps)
        _SLACK_BY_DTYPE[key] = max(_ROUNDING_SLACK, _ROUNDING_ULPS * epsilon)
    return _SLACK_BY_DTYPE[key]
