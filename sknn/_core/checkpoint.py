"""The training state at the last epoch boundary, to roll back to on Ctrl-C."""

from .array_ops import copy_params_into, copy_tree


class EpochCheckpoint:
    """The state a warm start continues from, as after the last complete epoch.

    It is the parameters, the optimizer's state (``get_state``), the random
    generator's state (the next epoch's shuffle) and the lengths of the loss
    curves: restoring it leaves the loop as if training had stopped right
    after that epoch, so a warm start then trains what an uninterrupted fit
    would. A KeyboardInterrupt can arrive anywhere, even while a snapshot is
    taken: the new one is built aside and made current by one assignment.

    Parameters
    ----------
    params : dict of arrays
        Updated in place by the loop; restored in place.
    optimizer : Optimizer
    rng : numpy.random.RandomState or None
        None when the epochs draw nothing (no shuffled mini-batches); reading
        MT19937's state costs about as much as a small epoch.
    log : TrainingLog
    """

    def __init__(self, params, optimizer, rng, log):
        self._params, self._optimizer, self._rng, self._log = params, optimizer, rng, log
        self._saved = None
        self.save()

    def save(self):
        """Snapshot the current state: call it when an epoch is complete."""
        self._saved = (
            copy_tree(self._params),
            self._optimizer.get_state(),  # a snapshot (see Optimizer.get_state)
            None if self._rng is None else self._rng.get_state(),
            len(self._log.loss_curve),
            len(self._log.validation_loss_curve),
        )

    def restore(self):
        """Put the last saved state back."""
        params, state, rng_state, n_epochs, n_validated = self._saved
        copy_params_into(self._params, params)
        self._optimizer.set_state(copy_tree(state))
        if self._rng is not None:
            self._rng.set_state(rng_state)
        del self._log.loss_curve[n_epochs:]
        del self._log.validation_loss_curve[n_validated:]
