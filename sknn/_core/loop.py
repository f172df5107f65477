"""The one training loop shared by every sknn estimator.

The loop knows nothing of the model it trains: it sees an
:class:`~sknn._core.protocols.Objective` and an
:class:`~sknn._core.protocols.Optimizer`. Each epoch it evaluates, asks
whether to stop, steps, lets the guard judge the loss, and records:

- Full batch: one step per epoch. ``stopping.rule`` is 'gradient' (the
  convex linear models: 'converged' at the first point where the norm of the
  full gradient of the objective J is at most ``tol * J``, which bounds the
  relative gap to the minimum) or 'flat' (the network: 'converged' when the
  loss has stayed within ``tol`` of its best for ``n_iter_no_change``
  epochs, neither improving nor rising by more).
- Mini-batches, and the validation loss under early stopping: 'converged'
  (or 'early_stopping') when the monitored loss has not improved by ``tol``
  for ``n_iter_no_change`` epochs.

A loss that rises well above where training started is instability, never
convergence (see :class:`~sknn._core.guard.Guard`). Ctrl-C rolls back to the
last complete epoch (:class:`~sknn._core.checkpoint.EpochCheckpoint`).
"""

import math
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .array_ops import array_ops, copy_params_into, inner
from .batches import Batches
from .checkpoint import EpochCheckpoint
from .functions import underflow_is_fine
from .guard import DIVERGENCE_FACTOR, INSTABILITY_FACTOR, Guard
from .protocols import ExactLineObjective
from .stacklevel import user_stacklevel


@dataclass
class Stopping:
    """When training stops: at ``max_iter`` epochs, or by the rule of ``tol`` (None: never)."""

    max_iter: int
    tol: float | None = None
    n_iter_no_change: int = 10
    #: Full batch without validation: 'gradient' (relative gradient norm) or 'flat'.
    rule: str = "gradient"


class TrainingLog:
    """What training leaves behind, kept by the estimator across warm starts."""

    def __init__(self, loss_curve=(), validation_loss_curve=(), best_loss=np.inf):
        self.loss_curve = list(loss_curve)
        self.validation_loss_curve = list(validation_loss_curve)
        self.best_loss = best_loss


class FullBatch:
    """The objective on the whole training data: what a line search evaluates."""

    def __init__(self, objective, X, Y, sample_weight):
        self.objective, self.data = objective, (X, Y, sample_weight)
        self.exact_line = None
        if isinstance(objective, ExactLineObjective):
            self.exact_line = lambda point, direction, start=None: objective.line(
                point, direction, *self.data, start=start
            )

    def loss(self, params):
        return self.objective.loss(params, *self.data)

    def loss_grad(self, params):
        return self.objective.loss_grad(params, *self.data)

    def smoothness(self, exact=True):
        """The objective's curvature bound on this data (the linear models')."""
        X, _, sample_weight = self.data
        return self.objective.smoothness(X, sample_weight, exact)


class _SilentHooks:
    def epoch_begin(self, params):
        pass

    def epoch_end(self, epoch, loss, validation_loss, params):
        return False


# Exponentials of very negative logits underflow to 0 by design: ignored once
# around the loop rather than in each function of the hot loop.
@underflow_is_fine
def train(
    objective,
    params,
    optimizer,
    data,
    *,
    log,
    stopping,
    batch_size=None,
    shuffle=False,
    rng=None,
    validation=None,
    hooks=None,
    name="estimator",
    advice=None,
):
    """Train ``params`` in place; return why training stopped.

    Parameters
    ----------
    objective : Objective
    params : dict of arrays
        Updated in place.
    optimizer : Optimizer
        Its state carries over.
    data : tuple (X, Y, sample_weight), or Problem
        X is never copied or modified; Y holds the encoded targets. A
        :class:`~sknn._core.protocols.Problem` instead is the full-batch
        objective evaluated where its data live (Dask workers).
    log : TrainingLog
        Appended to: the curves continue across warm starts.
    stopping : Stopping
    batch_size : int or None
        None: the full batch, one step per epoch.
    shuffle : bool
        Reshuffle the mini-batches every epoch (with ``rng``).
    validation : tuple (X_val, Y_val, sample_weight_val) or None
        Its loss is monitored instead of the training loss, and the weights of
        the best one are kept.
    hooks : Hooks or None
        Told when each epoch begins and ends; may ask to stop.
    name : str
        Names the estimator in warnings.
    advice : callable or None
        ``advice(reason, loss)``, called only when training stops short of its
        test ('max_iter', 'stalled'): a sentence of advice about the data or
        the model (scale the features; a penalty for separable data), or ''.

    Returns
    -------
    stop_reason : {'converged', 'stalled', 'max_iter', 'early_stopping', \
'diverged', 'callback', 'interrupted'}
    """
    batches = Batches(*data, batch_size, shuffle, rng) if isinstance(data, tuple) else None
    problem = data if batches is None else FullBatch(objective, *data)
    run = _Run(objective, params, optimizer, problem, batches, log, stopping, validation, hooks)
    shuffled = batches is not None and batches.shuffle
    run.checkpoint = EpochCheckpoint(params, optimizer, rng if shuffled else None, log)
    first_epoch = len(log.loss_curve)
    try:
        reason = run.run()
    except KeyboardInterrupt:
        reason = run.interrupted(first_epoch)
        _warn(name, "interrupted", run, stopping, advice)
        log.best_loss = min(log.best_loss, run.best_monitored)
        return reason
    reason = run.finish(reason)
    _warn(name, reason, run, stopping, advice)
    log.best_loss = min(log.best_loss, run.best_monitored)
    return reason


class _Run:
    """One call of :func:`train`: its epochs as small named steps."""

    def __init__(
        self, objective, params, optimizer, problem, batches, log, stopping, validation, hooks
    ):
        self.objective, self.params, self.optimizer = objective, params, optimizer
        self.problem, self.batches = problem, batches
        self.full_batch = batches is None or batches.full_batch
        self.log, self.stopping, self.validation = log, stopping, validation
        self.hooks = _SilentHooks() if hooks is None else hooks
        self.guard = Guard(log.loss_curve[-stopping.n_iter_no_change :])
        self.best_monitored = np.inf
        self.best_validation_params = None
        self.no_improvement = 0
        self.evaluated = None  # (loss, grads) at params, left by a line search
        self.gradient_norm = None
        self.checkpoint = None

    def run(self):
        for _ in range(self.stopping.max_iter):
            self.hooks.epoch_begin(self.params)
            if self.full_batch:
                reason, counts = self._full_batch_epoch()
            else:
                reason, counts = self._mini_batch_epoch(), True
            if reason == "diverged":
                return reason
            monitored = self._monitored_loss()
            verdict = self._improvement_verdict(monitored, counts)  # also records the best
            reason = reason or verdict
            self.checkpoint.save()  # the epoch is complete
            stop = self.hooks.epoch_end(
                len(self.log.loss_curve),
                self.log.loss_curve[-1],
                None if self.validation is None else monitored,
                self.params,
            )
            if reason:
                return reason
            if stop:
                return "callback"
        return "max_iter"

    def _full_batch_epoch(self):
        """Evaluate, test, step: ``(stop reason or None, whether the epoch counts)``."""
        point = self.optimizer.evaluation_point(self.params)
        loss, grads = self.evaluated or self.problem.loss_grad(point)
        self.evaluated = None
        if not math.isfinite(loss):
            return "diverged", False
        self.log.loss_curve.append(loss)
        action = self.guard.judge_full_batch(loss, point, self.params, self.optimizer)
        if action != "step":
            return ("diverged" if action == "diverged" else None), False
        self.gradient_norm = math.sqrt(max(inner(grads, grads), 0.0))
        tol = self.stopping.tol
        if self._gradient_rule() and tol is not None and self.gradient_norm <= tol * loss:
            copy_params_into(self.params, point)  # stop at the very point the test held
            return "converged", True
        self.evaluated = self.optimizer.step(self.params, grads, loss, self.problem)
        if tol is not None and self.optimizer.stalled:
            return "stalled", True
        return None, True

    def _mini_batch_epoch(self):
        """One step per batch; the epoch's loss is the weighted mean of the batches'."""
        total = weight = 0.0
        for X, Y, sample_weight, batch_weight in self.batches:
            point = self.optimizer.evaluation_point(self.params)
            loss, grads = self.objective.loss_grad(point, X, Y, sample_weight)
            if not self.guard.finite(loss):
                return "diverged"
            self.optimizer.step(self.params, grads, loss, None)
            total, weight = total + loss * batch_weight, weight + batch_weight
        self.log.loss_curve.append(total / weight)
        if not self.guard.finite(self.log.loss_curve[-1]):
            return "diverged"
        self.guard.judge_epoch(self.log.loss_curve[-1], self.params)
        return None

    def _gradient_rule(self):
        return self.validation is None and self.stopping.rule == "gradient"

    def _monitored_loss(self):
        """The training loss, or the validation loss (keeping the best weights)."""
        if self.validation is None:
            return self.log.loss_curve[-1]
        monitored = self.objective.loss(self.params, *self.validation)
        self.log.validation_loss_curve.append(monitored)
        if monitored < self.best_monitored:
            self.best_validation_params = copy_params_into(self.best_validation_params, self.params)
        return monitored

    def _improvement_verdict(self, monitored, counts):
        """The improvement rules of ``tol``: a stop reason, or None to go on."""
        tol, rule_applies = self.stopping.tol, not (self.full_batch and self._gradient_rule())
        if rule_applies and tol is not None and monitored > self.best_monitored - tol:
            # A full-batch loss is exact: an epoch counts only where it stayed flat
            # within tol of the best, not where it oscillates above it, nor where
            # the guard undid it.
            exact = self.full_batch and self.validation is None
            flat = counts and (not exact or monitored <= self.best_monitored + tol)
            self.no_improvement = self.no_improvement + 1 if flat else 0
        else:
            self.no_improvement = 0
        self.best_monitored = min(self.best_monitored, monitored)
        if self.no_improvement < self.stopping.n_iter_no_change:
            return None
        if self.validation is not None:
            return "early_stopping"
        return "diverged" if self.guard.unstable(self.log.loss_curve[-1]) else "converged"

    def interrupted(self, first_epoch):
        """Ctrl-C: back to the last complete epoch, as if training had stopped there."""
        self.checkpoint.restore()
        curve = self.log.loss_curve if self.validation is None else self.log.validation_loss_curve
        self.best_monitored = min(curve[first_epoch:], default=np.inf)
        return "interrupted"

    def finish(self, reason):
        """Leave the parameters where the stop reason says: best, last, or last sound."""
        if reason != "diverged" and not self.guard.all_finite(self.params):
            reason = "diverged"
        if reason == "diverged":
            if self.full_batch:
                # Back to the best point, with no state: the state accumulated on
                # the way to the blow-up is not that point's.
                self.guard.restore_best(self.params)
                self.optimizer.set_state({})
            else:
                self.checkpoint.restore()  # the last complete epoch
        elif self.best_validation_params is not None:
            copy_params_into(self.params, self.best_validation_params)
        else:
            self.guard.keep_best(
                self.params, self.log.loss_curve[-1] if self.log.loss_curve else None
            )
        return reason


def _warn(name, reason, run, stopping, advice):
    """The ConvergenceWarning of a stop that is not a success, if any."""
    guard, optimizer = run.guard, run.optimizer
    learning_rate = guard.original_learning_rate or optimizer.learning_rate
    messages = []
    if reason == "interrupted":
        messages.append(
            f"{name}: training was interrupted (KeyboardInterrupt) and kept the weights as "
            f"they were after epoch {len(run.log.loss_curve)}, the last complete one. Fit "
            "again with warm_start=True to continue from there."
        )
    if reason == "diverged":
        messages.append(
            f"{name} diverged: the loss became non-finite, grew more than "
            f"{DIVERGENCE_FACTOR:g}-fold or stayed above {INSTABILITY_FACTOR:g} times its "
            "starting value, so training stopped and kept the weights of the best finite "
            "loss (mini-batches: of the last complete epoch). The learning rate "
            f"({learning_rate!r}) is too large for this data: lower it, standardize the "
            "features, or use learning_rate='auto' where offered."
        )
    elif guard.halvings:
        messages.append(
            f"{name}: the loss rose above {INSTABILITY_FACTOR:g} times its starting value, "
            "so training went back to the best weights and halved the learning rate "
            f"({learning_rate!r}) {guard.halvings} time(s), to {optimizer.learning_rate!r}. "
            "The learning rate is too large for this data: set a smaller one to avoid the "
            "wasted epochs, or standardize the features."
        )
    if reason == "stalled":
        messages.append(_stalled_message(name, run, stopping, advice))
    if reason == "max_iter" and stopping.tol is not None:
        rule = (
            f"the gradient norm was still above tol={stopping.tol}"
            if run.full_batch and run._gradient_rule()
            else f"the loss was still changing by more than tol={stopping.tol}"
        )
        messages.append(
            f"{name}: maximum iterations ({stopping.max_iter}) reached while {rule}. "
            "Increase max_iter, or set tol=None to train for exactly max_iter epochs."
            + (" " + _advice(advice, reason, run.log.loss_curve[-1])).rstrip()
        )
    for message in messages:
        warnings.warn(message, ConvergenceWarning, stacklevel=user_stacklevel())


def _stalled_message(name, run, stopping, advice):
    loss = run.log.loss_curve[-1]
    ratio = run.gradient_norm / loss
    weights = next(iter(run.params.values()))
    dtype = weights.dtype
    coarser = array_ops(weights).numpy_dtype(dtype) != np.dtype(np.float64)
    suggestion = _advice(advice, "stalled", loss) or (
        ("Fit in float64 for the test to hold, or set" if coarser else "Set")
        + f" tol to {ratio:.1g} or more."
    )
    return (
        f"{name}: training stopped at epoch {len(run.log.loss_curve)}, where no step lowers "
        f"the loss measurably in {dtype} arithmetic, while the gradient norm was "
        f"{ratio:.2g} times the loss, above tol={stopping.tol}: the minimum is as close as "
        f"{dtype} resolves it. {suggestion}"
    )


def _advice(advice, reason, loss):
    return "" if advice is None else advice(reason, loss)
