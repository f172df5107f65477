"""The training loop's guard against unstable steps and divergence."""

import math

from .array_ops import all_finite, copy_params_into

# A loss this many times the reference (or above it when that is below 1)
# means the steps are blowing up rather than descending. With stable losses
# the blow-up can stay finite for long (a logistic loss grows only linearly in
# the weights), so waiting for inf would waste epochs.
DIVERGENCE_FACTOR = 1e4
# A loss above this multiple of the reference is unstable training.
INSTABILITY_FACTOR = 2.0
# Full batch: how often an unstable loss may halve the learning rate before
# the fit is declared diverged (2^-40 ~ 1e-12 of the original step).
MAX_STEP_HALVINGS = 40


class Guard:
    """Watches the loss for instability and divergence, and keeps the weights to go back to.

    ``best`` holds the weights of the lowest training loss seen (full batch:
    the point whose loss was evaluated; mini-batches: the weights at the end
    of the epoch).

    Divergence (a loss ``DIVERGENCE_FACTOR`` times too large) is judged
    against the lowest loss of the last epochs before this call
    (``recent_losses``: a continued fit's history) or, for a fresh fit, its
    first loss: a partial_fit call whose step exploded is caught at the next
    calls. Instability (above ``INSTABILITY_FACTOR`` times the reference) is
    judged against the larger of this call's first loss and that history: a
    warm start or a partial_fit call on new data, whose loss starts high, is
    judged from where it starts, and one on the same data not by the noise
    of a tiny loss.
    """

    def __init__(self, recent_losses):
        self.recent_highest = max(recent_losses, default=None)
        self.recent_lowest = min(recent_losses, default=None)
        self.first_loss = None
        self.best_loss = math.inf
        self.best = None
        self.halvings = 0
        self.original_learning_rate = None

    def _reference(self):
        losses = [loss for loss in (self.first_loss, self.recent_highest) if loss is not None]
        return max(losses, default=None)

    def finite(self, loss):
        """Whether the loss is finite and below the divergence limit."""
        if self.first_loss is None and math.isfinite(loss):
            self.first_loss = loss
        reference = self.first_loss if self.recent_lowest is None else self.recent_lowest
        return loss <= DIVERGENCE_FACTOR * max(reference or 0.0, 1.0)  # also False for NaN

    def unstable(self, loss):
        return not loss <= INSTABILITY_FACTOR * self._reference()

    def judge_epoch(self, loss, params):
        """Mini-batches: remember the weights after the best epoch so far."""
        if loss < self.best_loss:
            self.best_loss = loss
            self.best = copy_params_into(self.best, params)

    def judge_full_batch(self, loss, point, params, optimizer):
        """Full batch: 'step' from a sound point, 'retry' after an unstable one, or 'diverged'.

        On 'retry' the parameters are back at the best point, the learning
        rate is halved and the optimizer's state is cleared: the state
        accumulated on the way to the blow-up is polluted by it.
        """
        if self.first_loss is None and math.isfinite(loss):
            self.first_loss = loss
        if self._reference() is not None and not self.unstable(loss) and self.finite(loss):
            if loss < self.best_loss:
                self.best_loss = loss
                self.best = copy_params_into(self.best, point)
            return "step"
        if self.best is None or self.halvings >= MAX_STEP_HALVINGS:
            return "diverged"
        if self.original_learning_rate is None:
            self.original_learning_rate = optimizer.learning_rate
        self.halvings += 1
        optimizer.learning_rate = 0.5 * optimizer.learning_rate
        optimizer.set_state({})
        copy_params_into(params, self.best)
        return "retry"

    def restore_best(self, params):
        """Back to the best weights (full batch after divergence: the initial ones if none)."""
        if self.best is not None:
            copy_params_into(params, self.best)

    def keep_best(self, params, last_loss):
        """Go back to the best weights when training ended clearly worse than them."""
        if self.best is not None and last_loss is not None and self.unstable(last_loss):
            copy_params_into(params, self.best)

    @staticmethod
    def all_finite(params):
        return all(all_finite(p) for p in params.values())
