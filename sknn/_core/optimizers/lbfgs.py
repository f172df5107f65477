"""Limited-memory BFGS: the quasi-Newton optimizer, its pairs in the compact form."""

import math
import re

import numpy as np
from scipy.linalg import solve_triangular

from ..array_ops import array_ops, copy_params, inner, total_size
from .line_search import _QUASI_NEWTON_CURVATURE, _LineSearchDescent

# L-BFGS keeps this many pairs (step, gradient change), fewer where they
# would take more than _LBFGS_HISTORY_BYTES.
_LBFGS_MEMORY = 100
_LBFGS_HISTORY_BYTES = 2**28


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
    STATE = {"steps": "arrays", "gradient_changes": "gradients"}

    @classmethod
    def state_kind(cls, key):
        # sknn 0.1 kept the pairs one by one: s0, y0, s1, y1, ... (read, replaced).
        if re.fullmatch(r"s\d+|last_step", key):
            return "arrays"
        if re.fullmatch(r"y\d+|last_gradient", key):
            return "gradients"
        return cls.STATE.get(key)

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
        """The filled rows, oldest first: views, which the next step overwrites."""
        k = self.count
        return {n: a[:k, ...] for n, a in self.S.items()}, {
            n: a[:k, ...] for n, a in self.Y.items()
        }

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
