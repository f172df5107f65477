"""Limited-memory BFGS: the quasi-Newton optimizer, its pairs in the compact form."""

import math
import re

import numpy as np
from scipy.linalg.lapack import dtrtrs

from ..array_ops import array_ops, inner, total_size
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
        found = self._search(
            params, grads, loss, problem, direction, slope, first, _QUASI_NEWTON_CURVATURE, fresh
        )
        if found is None:
            self.pairs.forget()
            return None
        step = {name: found.step * d for name, d in direction.items()}
        change = {name: g - grads[name] for name, g in found.grads.items()}
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

    Per parameter, ``rows[name]`` interleaves the pairs' arrays: pair i's step
    in row 2i and its gradient change in row 2i + 1, the first ``2 count``
    rows filled, so that one product gives both ``<s_i, v>`` and ``<y_i, v>``.
    ``SY[i, j] = <s_i, y_j>`` for i <= j and ``YY[i, j] = <y_i, y_j>``,
    float64 on the host, where the small solves run. A new pair beyond
    ``capacity`` pushes the oldest out (the rows move up: the order in memory
    is the order in time, so a restored state sums as the uninterrupted one
    did). The first ``shared`` pairs have been handed out as views
    (:meth:`in_order`): rows are copied before any of those is rewritten, so
    a snapshot costs nothing while pairs are only appended.
    """

    def __init__(self, capacity, like):
        self.capacity = capacity
        self.rows = {
            n: array_ops(a).zeros((2 * capacity, *a.shape), like=a) for n, a in like.items()
        }
        self.SY = np.zeros((capacity, capacity), order="F")
        self.YY = np.zeros((capacity, capacity))
        self.count = self.shared = 0

    def forget(self):
        self.count = 0

    def add(self, s, y):
        """Store the pair as the newest, unless it does not curve up."""
        if not inner(s, y) > 1e-10 * math.sqrt(inner(s, s) * inner(y, y)):
            return
        if self.count == self.capacity:
            # The oldest pair leaves; the others move up, into new rows (a
            # snapshot may hold the old ones).
            self.rows = {n: _moved_up(rows) for n, rows in self.rows.items()}
            self.SY[:-1, :-1] = self.SY[1:, 1:].copy()
            self.YY[:-1, :-1] = self.YY[1:, 1:].copy()
            self.count, self.shared = self.count - 1, 0
        elif self.count < self.shared:
            # After forget: the rows to rewrite are in a snapshot, write into a copy.
            self.rows = {n: array_ops(rows).copy(rows) for n, rows in self.rows.items()}
            self.shared = 0
        k = self.count
        for name, rows in self.rows.items():
            rows[2 * k, ...] = s[name]
            rows[2 * k + 1, ...] = y[name]
        self.count = k + 1
        with_steps, with_changes = self._products(y)
        self.SY[: k + 1, k] = with_steps
        self.YY[: k + 1, k] = self.YY[k, : k + 1] = with_changes

    def direction(self, grads):
        """``(-H g, <g, -H g>)`` in the compact form (see :class:`LimitedMemoryBFGS`)."""
        k = self.count
        squared_norm = inner(grads, grads)
        if k == 0:
            return {name: -g for name, g in grads.items()}, -squared_norm
        gamma = float(self.SY[k - 1, k - 1] / self.YY[k - 1, k - 1])
        a, b = self._products(grads)
        # H g = gamma g + S p - gamma Y r, r = R^-1 S^T g,
        # p = R^-T ((D + gamma Y^T Y) r - gamma Y^T g), R = triu(S^T Y).
        # LAPACK's solve directly: SciPy's checking wrapper costs more than a solve this size.
        R = self.SY[:k, :k]
        r = dtrtrs(R, a)[0]
        middle = R.diagonal() * r + gamma * (self.YY[:k, :k] @ r - b)
        p = dtrtrs(R, middle, trans=1)[0]
        slope = -(gamma * squared_norm + a @ p - gamma * b @ r)
        weights = np.empty(2 * k)
        weights[0::2], weights[1::2] = -p, gamma * r
        direction = {}
        for name, g in grads.items():
            d = self._combine(self.rows[name], weights)
            d -= gamma * g
            direction[name] = d
        return direction, float(slope)

    def in_order(self):
        """The filled rows, oldest first: views, which later steps leave as they are."""
        k = self.shared = self.count
        steps = {n: rows[0 : 2 * k : 2, ...] for n, rows in self.rows.items()}
        return steps, {n: rows[1 : 2 * k : 2, ...] for n, rows in self.rows.items()}

    def _products(self, v):
        """``(<s_i, v>, <y_i, v>)`` of the filled pairs, summed over the parameters."""
        k, total = self.count, np.zeros(2 * self.count)
        for name, rows in self.rows.items():
            ops = array_ops(rows)
            flat = ops.reshape(rows[: 2 * k, ...], (2 * k, -1)) @ ops.reshape(v[name], (-1,))
            total += np.asarray(ops.to_numpy(flat), dtype=np.float64)
        return total[0::2], total[1::2]

    def _combine(self, rows, weights):
        """``sum_i weights[i] rows[i]`` over the filled rows, as one product."""
        n, ops = len(weights), array_ops(rows)
        w = ops.asarray(np.asarray(weights, dtype=ops.numpy_dtype(rows.dtype)), like=rows)
        return ops.reshape(w @ ops.reshape(rows[:n, ...], (n, -1)), rows.shape[1:])


def _moved_up(rows):
    """New rows holding ``rows`` less its first pair, the last pair's rows free."""
    moved = array_ops(rows).empty_like(rows)
    moved[:-2, ...] = rows[2:, ...]
    return moved
