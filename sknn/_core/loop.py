"""The one training loop shared by every sknn estimator.

The loop knows nothing about the model it trains. It sees an *objective*
with three methods,

- ``loss_grad(params, X, Y, sample_weight) -> (loss, grads)``,
- ``loss(params, X, Y, sample_weight) -> loss`` and
- ``inner(a, b) -> float``, the inner product of two gradient-shaped dicts
  in the model's own parametrisation (so that gradient norms mean the same
  on a reparametrised problem),

where ``params`` and ``grads`` are dicts of arrays (NumPy's, or of any
Array API namespace: the loop touches them only through
:mod:`sknn._array_ops`), and an optimizer from :mod:`sknn._optimizers`.
An objective whose logits are affine in its parameters (the linear models)
may also have

- ``logits(params, X) -> Z``, a new array,
- ``loss_from_logits(params, Z, Y, sample_weight) -> loss``, Z left intact,

and take ``loss_grad(..., logits_out=buffer)``, which copies the logits of
``params`` into the buffer; a full-batch line search then evaluates its
trial points without a product with X (see :class:`_FullBatchProblem`).
With ``link``, ``line_penalty(params, direction, Z, D)`` (the L2 term along a
line as a quadratic in s) and ``gradient_from_residual(params, X, R)`` too,
it gets an exact line search along any direction (:class:`_Line`); L-BFGS
also asks it for ``covector(v)`` (the dict c with ``inner(a, v)`` the plain
sum of the elementwise products of a and c) and ``model_nbytes(params)``
(the bytes of such a dict in the model's own parametrisation).

The loop owns everything else: batches, the loss curve, the stopping rules,
the validation loss, the instability and divergence guards and the progress
printout.

Stopping rules
--------------
- Full batch: ``tol`` bounds the Euclidean norm of the full gradient of the
  objective relative to the objective; training stops as 'converged' at the
  first point where ``||grad J|| <= tol * J``, and those exact parameters
  are returned. For a loss that is mu-strongly convex (the L2 term makes it
  so with mu >= alpha) this bounds the relative gap to the minimum:
  ``(J - J*) / J* <= tol^2 J / (2 mu)`` (about, where J ~ J*), so a smaller
  loss asks for a proportionally smaller gradient.
- Mini-batches: the loss-improvement rule: 'converged' when the epoch loss
  has not improved by ``tol`` for ``n_iter_no_change`` epochs.
- With a validation split, the validation loss is monitored with the
  improvement rule ('early_stopping') and the best weights are kept.

A loss that rises above twice its starting value is instability, never
convergence. In full-batch training the loop then restarts from the best
weights seen with half the learning rate and a fresh optimizer state; with
mini-batches, a loss that stays there is divergence. Weights of the best
loss seen are restored when training ends worse than that.
"""

import math
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .._estimator.callbacks import EpochCheckpoint, SilentHooks, user_stacklevel
from .array_ops import array_ops
from .batches import Batches
from .functions import LineLoss, data_residual, underflow_is_fine

# A loss this many times the first loss of a fit (or above it when that is
# below 1) means the steps are blowing up rather than descending. With stable
# losses the blow-up itself can stay finite for a long time (a logistic loss
# grows only linearly in the weights), so waiting for inf would waste epochs.
DIVERGENCE_FACTOR = 1e4

# A loss above this multiple of the fit's first loss is unstable training.
INSTABILITY_FACTOR = 2.0

# A full-batch gradient at the point a line search moved to is computed from
# the logits carried along the line (Z + s D, no product with X) at most this
# many times in a row; then once from X itself, so rounding drift in the
# logits stays within a few ulps.
_MAX_REUSED_IN_A_ROW = 15

# Full batch: how often an unstable loss may halve the learning rate before
# the fit is declared diverged (2^-40 ~ 1e-12 of the original step).
MAX_STEP_HALVINGS = 40


class TrainingLog:
    """What training leaves behind, kept by the estimator across warm starts."""

    def __init__(self):
        self.loss_curve = []
        self.validation_loss_curve = []
        self.best_loss = np.inf


class _FullBatchProblem:
    """The full-batch objective as the training loop and an optimizer's line search see it.

    ``squared_gradient_norm`` is that of the gradient passed with the current
    step, computed once for the stopping test and reused by the line search.

    For an objective with affine logits ``Z(p) = X W + b`` (see the module
    docstring), the loss along the gradient ``g`` of the last
    :meth:`loss_grad` at ``y`` needs no product with X per trial:
    ``Z(y - s g) = Z(y) - s D`` with ``D = X g_W + g_b``, one product per
    step, however many step sizes are tried. ``Z(y)`` is computed exactly
    from ``y`` at every such gradient evaluation, so no rounding drift carries
    over between steps, and the losses of the loss curve and of the stopping
    test are the objective's own.

    :meth:`line` gives an exact line search (L-BFGS's, conjugate gradient's) the loss
    and its derivatives along any direction (see :class:`_Line`). After a
    move along a line (float64), the next :meth:`loss_grad` takes the loss,
    logits and probabilities of the point moved to from that line and needs
    only the product ``X^T R``; every ``_MAX_REUSED_IN_A_ROW + 1``-th gradient
    is computed from X again, so the logits' drift stays within a few ulps.
    """

    def __init__(self, objective, X, Y, sample_weight):
        self.objective, self.data = objective, (X, Y, sample_weight)
        self.squared_gradient_norm = None
        self._affine = hasattr(objective, "loss_from_logits")
        # float32 logits carried along lines drift by ulps of 1e-7 per step: at
        # the float32 gradient test's floor, so float32 recomputes them.
        self._reuse_arrivals = (
            self._affine
            and hasattr(objective, "gradient_from_residual")
            and array_ops(X).numpy_dtype(X.dtype) == np.dtype(np.float64)
        )
        self._grads = None
        self._logits = self._direction = self._trial_logits = None
        # What the last line search left at the point it moved to (see _Line).
        self._start_hessian = self._arrival = None
        self._gradients_since_move = 0
        self._reused_in_a_row = 0

    def loss_grad(self, point):
        """Loss and gradient at ``point``; the start of the next line search."""
        self._gradients_since_move += 1
        if not self._affine:
            return self.objective.loss_grad(point, *self.data)
        arrival, self._arrival = self._arrival, None
        if arrival is not None and self._reused_in_a_row < _MAX_REUSED_IN_A_ROW:
            # ``point`` is where the last line search moved to: its loss, logits
            # and probabilities are known, and its gradient is one product away.
            self._reused_in_a_row += 1
            loss, logits, probabilities = arrival
            self._logits, self._trial_logits = logits, self._logits
            X, Y, sample_weight = self.data
            residual = data_residual(probabilities, Y, sample_weight)
            self._grads = self.objective.gradient_from_residual(point, X, residual)
            self._direction = None
            return loss, self._grads
        self._reused_in_a_row = 0
        if self._logits is None:
            X, b = self.data[0], point["b"]
            ops = array_ops(b)
            # The layout of the linear models' logits (see sknn.linear).
            self._logits = ops.empty(
                (X.shape[0], b.shape[0]),
                like=b,
                dtype=ops.xp.result_type(X.dtype, b.dtype),
                order="F",
            )
        loss, self._grads = self.objective.loss_grad(point, *self.data, logits_out=self._logits)
        self._direction = None  # D of the new gradient, formed by the first trial
        return loss, self._grads

    def step_loss(self, trial, step_size):
        """Loss at ``trial``, which is ``point - step_size * grads`` of the last ``loss_grad``."""
        X, Y, sample_weight = self.data
        if not self._affine:
            return self.objective.loss(trial, X, Y, sample_weight)
        if self._direction is None:
            self._direction = self.objective.logits(self._grads, X)
        Z = _axpy_into(self._trial_logits, -step_size, self._direction, self._logits)
        self._trial_logits = Z
        return self.objective.loss_from_logits(trial, Z, Y, sample_weight)

    def inner(self, a, b):
        """The objective's inner product of two gradient-shaped dicts."""
        return self.objective.inner(a, b)

    def model_nbytes(self, params):
        """The bytes a dict keyed like the parameters takes in the model's parametrisation."""
        return self.objective.model_nbytes(params)

    def covector(self, v):
        """The dict c with ``inner(a, v)`` = the sum of the elementwise products of a and c.

        Products of many dicts with one v then need no inner product per dict
        (objectives with an exact line search have it, see the module docstring).
        """
        return self.objective.covector(v)

    def line(self, point, direction):
        """The objective along ``point + s * direction``, from the last ``loss_grad``'s point.

        An objective that evaluates elsewhere (on Dask workers) may bring its
        own exact line (``objective.line``); otherwise a :class:`_Line`.
        """
        own_line = getattr(self.objective, "line", None)
        line = None if own_line is None else own_line(point, direction)
        return _Line(self, point, direction) if line is None else line


class _Line:
    """The objective along ``point + s * direction``, for a line search.

    For an objective with affine logits, :meth:`at` gives the loss and its
    first two derivatives in s from the logits alone (``Z(point) + s D``, one
    product with X for D), through the objective's ``line_penalty`` and
    :class:`sknn._functions.LineLoss`, and :meth:`curvature_at_start` the
    second derivative at s = 0.

    A line search that moves to a point of the line says so with
    :meth:`moved_to`: the next line, started from that point after its
    gradient, then measures its curvature at s = 0 from what this line
    computed there, and the gradient there is computed from the logits and
    probabilities this line computed (see :meth:`_FullBatchProblem.loss_grad`).
    """

    def __init__(self, problem, point, direction):
        objective = problem.objective
        if not (problem._affine and hasattr(objective, "line_penalty")):
            raise TypeError(
                f"{type(objective).__name__} has no exact line search (affine logits and "
                "line_penalty), which L-BFGS and conjugate gradient need."
            )
        X, Y, sample_weight = problem.data
        Z0 = problem._logits
        D = objective.logits(direction, X)
        self._problem = problem
        self._penalty = objective.line_penalty(point, direction, Z0, D)
        self._data = LineLoss(objective.link, Z0, D, Y, sample_weight)
        self._D = D
        self._last_step = self._last_loss = None

    def at(self, step):
        """``(loss, derivative, curvature)`` of the objective at ``point + step * direction``."""
        problem = self._problem
        Z = _axpy_into(problem._trial_logits, step, self._D, problem._logits)
        problem._trial_logits = Z
        loss, derivative, curvature = self._data.at(step, Z)
        value, slope, quadratic = self._penalty
        loss += value + step * (slope + 0.5 * step * quadratic)
        self._last_step, self._last_loss = step, loss
        return loss, derivative + slope + step * quadratic, curvature + quadratic

    def curvature_at_start(self):
        """The second derivative at s = 0 (exact lines only)."""
        problem = self._problem
        hessian, problem._start_hessian = problem._start_hessian, None
        if hessian is None or problem._gradients_since_move != 1:
            # No reusable point: evaluate at s = 0 itself.
            return self.at(0.0)[2]
        return self._data.curvature(hessian) + self._penalty[2]

    def moved_to(self, step):
        """The line search moved the parameters to ``point + step * direction``."""
        problem = self._problem
        problem._gradients_since_move = 0
        problem._start_hessian = problem._arrival = None
        if step == self._last_step:
            problem._start_hessian = self._data.hessian
            if problem._reuse_arrivals:
                problem._arrival = (
                    self._last_loss,
                    problem._trial_logits,
                    self._data.probabilities,
                )


# Exponentials of very negative logits underflow to 0 by design: ignored once
# around the loop rather than in each function of the hot loop.
@underflow_is_fine
def train(
    objective,
    params,
    optimizer,
    X,
    Y,
    sample_weight,
    *,
    log,
    max_iter,
    batch_size=None,
    shuffle=False,
    rng=None,
    tol=None,
    n_iter_no_change=10,
    validation=None,
    hooks=None,
    estimator_name="estimator",
    gradient_test=True,
    slow_data_advice=None,
):
    """Train ``params`` in place for up to ``max_iter`` epochs.

    Parameters
    ----------
    objective : object
        Has ``loss_grad``, ``loss`` and ``inner`` (see the module docstring).
    params : dict of ndarray
        Updated in place.
    optimizer : object
        An optimizer of :mod:`sknn._optimizers`; its state carries over.
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Never copied or modified.
    Y : ndarray of shape (n_samples, n_outputs)
        Targets encoded for the objective's output layer.
    sample_weight : ndarray of shape (n_samples,) or None
    log : TrainingLog
        Appended to: the loss curves continue across warm starts.
    max_iter : int
        Number of epochs to run at most.
    batch_size : int or None
        None means full batch: one step per epoch on all of X.
    shuffle : bool
        Reshuffle the mini-batches every epoch (with ``rng``).
    tol : float or None
        Full batch: the gradient-norm bound of convergence. Mini-batches and
        validation: the improvement the monitored loss must make within
        ``n_iter_no_change`` epochs. None never stops early.
    validation : tuple (X_val, Y_val, sample_weight_val) or None
        When given, its loss is monitored with the improvement rule and the
        parameters with the best validation loss are kept.
    hooks : FitHooks or None
        Told when each epoch begins and ends (callbacks, verbose output); may
        ask to stop. None: nobody watches.
    gradient_test : bool
        Full batch: stop at the relative gradient test of ``tol`` (convex
        objectives, whose minimum it locates); False: the loss-improvement
        rule, as on mini-batches (a network, whose loss keeps creeping down
        towards zero on data it can fit).
    slow_data_advice : callable or None
        Called only when training stops short of its test ('max_iter',
        'stalled'): a sentence of advice about the data (say, to scale it),
        or ''.

    Returns
    -------
    stop_reason : {'converged', 'stalled', 'max_iter', 'early_stopping', 'diverged', \
'callback', 'interrupted'}
        On Ctrl-C (KeyboardInterrupt), 'interrupted': ``params``, the optimizer,
        ``rng`` and ``log`` are as after the last complete epoch.
    """
    batches = Batches(X, Y, sample_weight, batch_size, shuffle, rng)
    full_batch = batches.full_batch
    problem = _FullBatchProblem(objective, X, Y, sample_weight) if full_batch else None
    guard = _Guard(log.loss_curve[-n_iter_no_change:])
    best_monitored = np.inf
    best_params = None  # weights of the best validation loss
    no_improvement = 0
    stop_reason = "max_iter"
    hooks = SilentHooks() if hooks is None else hooks
    checkpoint = EpochCheckpoint(params, optimizer, rng if batches.shuffle else None, log)
    first_epoch = len(log.loss_curve)

    try:
        for _ in range(max_iter):
            hooks.epoch_begin(params)
            if full_batch:
                # The step is taken below, once the loss is judged.
                point = optimizer.evaluation_point(params)
                loss, grads = problem.loss_grad(point)
                if not math.isfinite(loss):
                    stop_reason = "diverged"
                    break
                epoch_loss, epoch_weight = loss, 1.0
            else:
                epoch_loss, epoch_weight = 0.0, 0.0
                for X_batch, Y_batch, sw_batch, batch_weight in batches:
                    point = optimizer.evaluation_point(params)
                    loss, grads = objective.loss_grad(point, X_batch, Y_batch, sw_batch)
                    if not guard.finite(loss):
                        stop_reason = "diverged"
                        break
                    optimizer.step(params, grads, loss)
                    epoch_loss += loss * batch_weight
                    epoch_weight += batch_weight
                if stop_reason == "diverged":
                    break
            log.loss_curve.append(epoch_loss / epoch_weight)
            loss = log.loss_curve[-1]
            guard.first_loss = log.loss_curve[first_epoch]

            if full_batch:
                action = guard.judge_full_batch(loss, point, params, optimizer)
                if action == "diverged":
                    stop_reason = "diverged"
                    break
                if action == "step":
                    problem.squared_gradient_norm = max(objective.inner(grads, grads), 0.0)
                    gradient_norm = math.sqrt(problem.squared_gradient_norm)
                    if gradient_test and tol is not None and gradient_norm <= tol * loss:
                        # Stop at the very point where the test held.
                        _copy_into(params, point)
                        stop_reason = "converged"
                    else:
                        optimizer.step(params, grads, loss, problem)
                        if tol is not None and optimizer.stalled:
                            stop_reason = "stalled"
            elif not guard.finite(loss):
                stop_reason = "diverged"
                break
            else:
                guard.judge_epoch(loss, params)

            monitored = loss
            if validation is not None:
                monitored = objective.loss(params, *validation)
                log.validation_loss_curve.append(monitored)
            if validation is not None and monitored < best_monitored:
                best_params = _copy_into(best_params, params)
            improvement_rule = validation is not None or not (full_batch and gradient_test)
            # A full-batch loss is exact: an epoch counts only where it stayed
            # within tol of the best (flat), not where it oscillates above it, nor
            # where the guard undid it (back to the best weights, half the step).
            deterministic = full_batch and validation is None
            if improvement_rule and tol is not None and monitored > best_monitored - tol:
                flat = not deterministic or (monitored <= best_monitored + tol and action == "step")
                no_improvement = no_improvement + 1 if flat else 0
            else:
                no_improvement = 0
            best_monitored = min(best_monitored, monitored)
            checkpoint.save()  # the epoch is complete
            stop_requested = hooks.epoch_end(
                len(log.loss_curve),
                log.loss_curve[-1],
                None if validation is None else monitored,
                params,
            )
            if stop_reason in ("converged", "stalled"):
                break
            if no_improvement >= n_iter_no_change:
                if validation is not None:
                    stop_reason = "early_stopping"
                else:
                    stop_reason = "diverged" if guard.unstable(loss) else "converged"
                break
            if stop_requested:
                stop_reason = "callback"
                break
    except KeyboardInterrupt:
        # Ctrl-C: back to the last complete epoch, as if training had stopped
        # there (its weights, not the best ones: a warm start continues from it).
        checkpoint.restore()
        stop_reason, best_params = "interrupted", None
        monitored_curve = log.loss_curve if validation is None else log.validation_loss_curve
        best_monitored = min(monitored_curve[first_epoch:], default=np.inf)
        warnings.warn(
            f"{estimator_name}: training was interrupted (KeyboardInterrupt) and "
            f"kept the weights as they were after epoch {len(log.loss_curve)}, the "
            "last complete one. Fit again with warm_start=True to continue from there.",
            ConvergenceWarning,
            stacklevel=user_stacklevel(),
        )

    if stop_reason != "diverged" and not all(array_ops(p).all_finite(p) for p in params.values()):
        stop_reason = "diverged"
    if stop_reason == "diverged":
        if full_batch:
            # Back to the best point, with no momentum or moments: the state
            # accumulated on the way to the blow-up is not that point's.
            guard.restore_for_divergence(params)
            optimizer.set_state({})
        else:
            checkpoint.restore()  # the weights and optimizer of the last complete epoch
        warnings.warn(
            f"{estimator_name} diverged: the loss became non-finite, grew more than "
            f"{DIVERGENCE_FACTOR:g}-fold or stayed above {INSTABILITY_FACTOR:g} times "
            "its starting value, so training stopped and kept the weights of the best "
            "finite loss (mini-batches: of the last complete epoch). The learning rate "
            f"({guard.original_learning_rate(optimizer)!r}) "
            "is too large for this data: lower it, standardize the features, or use "
            "learning_rate='auto' where offered.",
            ConvergenceWarning,
            stacklevel=user_stacklevel(),
        )
    elif best_params is not None:
        _copy_into(params, best_params)
    elif stop_reason != "interrupted":
        guard.keep_best(params, log.loss_curve[-1] if log.loss_curve else None)
    if guard.halvings and stop_reason != "diverged":
        warnings.warn(
            f"{estimator_name}: the loss rose above {INSTABILITY_FACTOR:g} times its "
            "starting value, so training went back to the best weights and halved the "
            f"learning rate ({guard.original_learning_rate(optimizer)!r}) "
            f"{guard.halvings} time(s), to {optimizer.learning_rate!r}. The learning "
            "rate is too large for this data: set a smaller one to avoid the wasted "
            "epochs, or standardize the features.",
            ConvergenceWarning,
            stacklevel=user_stacklevel(),
        )
    if stop_reason == "stalled":
        ratio = math.sqrt(problem.squared_gradient_norm) / log.loss_curve[-1]
        weights = next(iter(params.values()))
        dtype = weights.dtype
        coarser = array_ops(weights).numpy_dtype(dtype) != np.dtype(np.float64)
        warnings.warn(
            f"{estimator_name}: training stopped at epoch {len(log.loss_curve)}, where "
            f"no step lowers the loss measurably in {dtype} arithmetic, while the "
            f"gradient norm was {ratio:.2g} times the loss, above tol={tol}: the "
            f"minimum is as close as {dtype} resolves it. "
            + ("Fit in float64 for the test to hold, or set" if coarser else "Set")
            + f" tol to {ratio:.1g} or more."
            + _advice(slow_data_advice),
            ConvergenceWarning,
            stacklevel=user_stacklevel(),
        )
    if stop_reason == "max_iter" and tol is not None:
        rule = (
            f"the gradient norm was still above tol={tol}"
            if full_batch and gradient_test and validation is None
            else f"the loss was still improving by more than tol={tol}"
        )
        warnings.warn(
            f"{estimator_name}: maximum iterations ({max_iter}) reached while {rule}. "
            "Increase max_iter, or set tol=None to train for exactly max_iter epochs."
            + _advice(slow_data_advice),
            ConvergenceWarning,
            stacklevel=user_stacklevel(),
        )
    log.best_loss = min(log.best_loss, best_monitored)
    return stop_reason


class _Guard:
    """Watches the loss for instability and divergence, and keeps the weights to go back to.

    ``best`` holds the weights of the lowest training loss seen (full batch:
    the point whose loss was evaluated; mini-batches: the weights at the end
    of the epoch).

    The limits are multiples of reference losses. Divergence (a loss
    ``DIVERGENCE_FACTOR`` times too large) is judged against the losses of
    the lowest of the last epochs before this call (``recent_losses``: a
    continued fit's recent history), or for a fresh fit its first loss: so a
    partial_fit call whose step exploded is caught at the next calls. Instability (a loss above
    ``INSTABILITY_FACTOR`` times the reference) is judged against the larger
    of this call's first epoch loss and that history: a warm start or a
    partial_fit call on new data, whose loss starts high, is judged from where
    it starts, and one on the same data is not judged by the noise of a tiny
    loss.
    """

    def __init__(self, recent_losses):
        self.recent_loss = max(recent_losses, default=None)
        self.lowest_recent_loss = min(recent_losses, default=None)
        self.first_loss = None
        self.best_loss = math.inf
        self.best = None
        self.halvings = 0
        self._original_learning_rate = None

    @property
    def reference(self):
        losses = [loss for loss in (self.first_loss, self.recent_loss) if loss is not None]
        return max(losses, default=None)

    def finite(self, loss):
        """Whether the loss is finite and below the divergence limit."""
        if self.first_loss is None and np.isfinite(loss):
            self.first_loss = loss
        reference = self.first_loss if self.recent_loss is None else self.lowest_recent_loss
        return loss <= DIVERGENCE_FACTOR * max(reference or 0.0, 1.0)  # also False for NaN

    def unstable(self, loss):
        return not loss <= INSTABILITY_FACTOR * self.reference

    def judge_epoch(self, loss, params):
        """Mini-batches: remember the weights after the best epoch so far."""
        if loss < self.best_loss:
            self.best_loss = loss
            self.best = _copy_into(self.best, params)

    def judge_full_batch(self, loss, point, params, optimizer):
        """Full batch: 'step' from a sound point, 'retry' after an unstable one, or 'diverged'.

        On 'retry' the parameters are back at the best point, the learning
        rate is halved and the optimizer's state is cleared.
        """
        if self.first_loss is None and np.isfinite(loss):
            self.first_loss = loss
        if self.reference is not None and not self.unstable(loss) and self.finite(loss):
            if loss < self.best_loss:
                self.best_loss = loss
                self.best = _copy_into(self.best, point)
            return "step"
        if self.best is None or self.halvings >= MAX_STEP_HALVINGS:
            return "diverged"
        # Go back to the best point with half the step and no momentum: the
        # optimizer's accumulated state is polluted by the blow-up.
        if self._original_learning_rate is None:
            self._original_learning_rate = optimizer.learning_rate
        self.halvings += 1
        optimizer.learning_rate = 0.5 * optimizer.learning_rate
        optimizer.set_state({})
        _copy_into(params, self.best)
        return "retry"

    def original_learning_rate(self, optimizer):
        if self._original_learning_rate is None:
            return optimizer.learning_rate
        return self._original_learning_rate

    def restore_for_divergence(self, params):
        """Full batch: back to the best point (the initial one if no loss was finite)."""
        if self.best is not None:
            _copy_into(params, self.best)

    def keep_best(self, params, last_loss):
        """Go back to the best weights when training ended clearly worse than them."""
        if self.best is not None and last_loss is not None and self.unstable(last_loss):
            _copy_into(params, self.best)


def _advice(slow_data_advice):
    advice = "" if slow_data_advice is None else slow_data_advice()
    return f" {advice}" if advice else ""


def _copy_into(target, source):
    """Copy a dict of arrays into ``target``; None allocates it, in the same memory layout."""
    ops = array_ops(*source.values())
    if target is None:
        return {name: ops.copy(array) for name, array in source.items()}
    for name, array in source.items():
        ops.copy_into(target[name], array)
    return target


def _axpy_into(target, a, x, y):
    """``a * x + y``, in ``target`` when it fits (NumPy: fresh temporaries cost page faults)."""
    fits = target is not None and target.shape == x.shape and target.dtype == x.dtype
    target = array_ops(x).multiply(x, a, out=target if fits else None)
    target += y
    return target
