"""The one training loop shared by every sknn estimator.

The loop knows nothing about the model it trains. It sees an *objective*
with two methods,

- ``loss_grad(params, X, Y, sample_weight) -> (loss, grads)`` and
- ``loss(params, X, Y, sample_weight) -> loss``,

where ``params`` and ``grads`` are dicts of arrays, and an optimizer with one
verb, ``step(params, grads)``. It owns everything else: batches, the loss
curve, the stopping rules, the validation loss, the divergence guard, and at
every epoch boundary the calls to the fit's hooks (callbacks, progress
printout: :mod:`sknn._callbacks`) and the checkpoint that Ctrl-C rolls back to.
"""

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from ._callbacks import EpochCheckpoint, SilentHooks, user_stacklevel

# A loss this many times the first loss of a fit (or above it when that is
# below 1) means the steps are blowing up rather than descending. With stable
# losses the blow-up itself can stay finite for a long time (a logistic loss
# grows only linearly in the weights), so waiting for inf would waste epochs.
DIVERGENCE_FACTOR = 1e4


class TrainingLog:
    """What training leaves behind, kept by the estimator across warm starts."""

    def __init__(self):
        self.loss_curve = []
        self.validation_loss_curve = []
        self.best_loss = np.inf


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
):
    """Train ``params`` in place for up to ``max_iter`` epochs.

    Parameters
    ----------
    objective : object
        Has ``loss_grad`` and ``loss`` (see the module docstring).
    params : dict of ndarray
        Updated in place.
    optimizer : object
        Has ``step(params, grads)`` and a ``learning_rate`` attribute.
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
        Stop when the monitored loss has not improved by ``tol`` for
        ``n_iter_no_change`` epochs; None never stops early.
    validation : tuple (X_val, Y_val, sample_weight_val) or None
        When given, its loss is monitored instead of the training loss and
        the parameters with the best validation loss are kept.
    hooks : FitHooks or None
        Told when each epoch begins and ends (callbacks, verbose output); may
        ask to stop. None: nobody watches.

    Returns
    -------
    stop_reason : {'converged', 'max_iter', 'early_stopping', 'diverged', \
'callback', 'interrupted'}
        On Ctrl-C (KeyboardInterrupt), 'interrupted': ``params``, the optimizer,
        ``rng`` and ``log`` are as after the last complete epoch.
    """
    batches = _Batches(X, Y, sample_weight, batch_size, shuffle, rng)
    last_good = _copy_into(None, params)
    best_params = None
    best_monitored = np.inf
    no_improvement = 0
    divergence_limit = None
    stop_reason = "max_iter"
    hooks = SilentHooks() if hooks is None else hooks
    checkpoint = EpochCheckpoint(params, optimizer, rng if batches.shuffle else None, log)
    first_epoch = len(log.loss_curve)

    try:
        for _ in range(max_iter):
            hooks.epoch_begin(params)
            epoch_loss, epoch_weight = 0.0, 0.0
            for step, (X_batch, Y_batch, sw_batch, batch_weight) in enumerate(batches):
                loss, grads = objective.loss_grad(params, X_batch, Y_batch, sw_batch)
                if divergence_limit is None:
                    divergence_limit = DIVERGENCE_FACTOR * max(loss, 1.0)
                if not loss <= divergence_limit:  # also true for NaN
                    stop_reason = "diverged"
                    break
                if step == 0:
                    _copy_into(last_good, params)
                optimizer.step(params, grads)
                epoch_loss += loss * batch_weight
                epoch_weight += batch_weight
            if stop_reason == "diverged":
                break

            log.loss_curve.append(epoch_loss / epoch_weight)
            monitored = log.loss_curve[-1]
            if validation is not None:
                monitored = objective.loss(params, *validation)
                log.validation_loss_curve.append(monitored)

            if monitored < best_monitored:
                if validation is not None:
                    best_params = _copy_into(best_params, params)
            if tol is not None and monitored > best_monitored - tol:
                no_improvement += 1
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
            if no_improvement >= n_iter_no_change:
                stop_reason = "converged" if validation is None else "early_stopping"
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

    if stop_reason != "diverged" and not all(np.isfinite(p).all() for p in params.values()):
        stop_reason = "diverged"
    if stop_reason == "diverged":
        _copy_into(params, last_good)
        warnings.warn(
            f"{estimator_name} diverged: the loss became non-finite or grew more "
            f"than {DIVERGENCE_FACTOR:g}-fold, so training stopped and kept the "
            f"last weights with a finite loss. The learning rate "
            f"({optimizer.learning_rate!r}) is too large for this data: lower it, "
            "standardize the features, or use learning_rate='auto' where offered.",
            ConvergenceWarning,
        )
    elif best_params is not None:
        _copy_into(params, best_params)
    if stop_reason == "max_iter" and tol is not None:
        warnings.warn(
            f"{estimator_name}: maximum iterations ({max_iter}) reached while the "
            f"loss was still improving by more than tol={tol}. Increase max_iter, "
            "or set tol=None to train for exactly max_iter epochs.",
            ConvergenceWarning,
        )
    log.best_loss = min(log.best_loss, best_monitored)
    return stop_reason


def _copy_into(target, source):
    """Copy a dict of arrays into ``target``; None allocates it, in the same memory layout."""
    if target is None:
        return {name: array.copy(order="K") for name, array in source.items()}
    for name, array in source.items():
        np.copyto(target[name], array)
    return target


class _Batches:
    """Iterate over ``(X_batch, Y_batch, sample_weight_batch, batch_weight)``.

    Full batch yields X itself. Unshuffled dense mini-batches are views.
    Shuffled dense mini-batches are gathered into buffers allocated once, so an
    epoch never copies X as a whole nor allocates per step.
    """

    def __init__(self, X, Y, sample_weight, batch_size, shuffle, rng):
        self.X, self.Y, self.sample_weight = X, Y, sample_weight
        n_samples = X.shape[0]
        self.batch_size = n_samples if batch_size is None else min(batch_size, n_samples)
        self.shuffle = shuffle and self.batch_size < n_samples
        self.rng = rng
        self._buffers = {}

    def __iter__(self):
        n_samples = self.X.shape[0]
        if self.batch_size == n_samples:
            # Full batch: X itself (slicing a sparse matrix would copy it).
            yield (
                self.X,
                self.Y,
                self.sample_weight,
                self._batch_weight(self.sample_weight, n_samples),
            )
            return
        order = self.rng.permutation(n_samples) if self.shuffle else None
        for start in range(0, n_samples, self.batch_size):
            stop = min(start + self.batch_size, n_samples)
            if order is None:
                rows = slice(start, stop)
                X_batch, Y_batch = self.X[rows], self.Y[rows]
            else:
                rows = order[start:stop]
                X_batch, Y_batch = self._gather(rows)
            sw_batch = None if self.sample_weight is None else self.sample_weight[rows]
            yield X_batch, Y_batch, sw_batch, self._batch_weight(sw_batch, stop - start)

    def _gather(self, rows):
        if sp.issparse(self.X):
            return self.X[rows], self.Y[rows]
        size = len(rows)
        if size not in self._buffers:
            self._buffers[size] = (
                np.empty((size, self.X.shape[1]), dtype=self.X.dtype),
                np.empty_like(self.Y, shape=(size, self.Y.shape[1])),
            )
        X_buffer, Y_buffer = self._buffers[size]
        _take_rows(self.X, rows, X_buffer)
        _take_rows(self.Y, rows, Y_buffer)
        return X_buffer, Y_buffer

    @staticmethod
    def _batch_weight(sw_batch, size):
        return float(size) if sw_batch is None else float(sw_batch.sum())


def _take_rows(array, rows, out):
    """``out[...] = array[rows]``, by the fastest route for the array's layout.

    For C-ordered rows, ``np.take`` into ``out`` copies each row once
    (mode="clip": the default "raise" writes through a temporary copy of
    ``out``). For any other layout ``np.take`` takes a slow element-wise path
    (60x slower for a Fortran-ordered X), where fancy indexing does not.
    """
    if array.flags.c_contiguous and out.flags.c_contiguous:
        np.take(array, rows, axis=0, out=out, mode="clip")
    else:
        out[...] = array[rows]
