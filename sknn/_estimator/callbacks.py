"""What the training loop shows and hears at epoch boundaries.

The one training loop (:func:`sknn._engine.train`) drives two small objects:

- :class:`FitHooks`, one per call to ``fit`` or ``partial_fit``: scikit-learn's
  callbacks (``set_callbacks``), the ``verbose`` printout and the clock. A
  callback can ask training to stop.
- :class:`EpochCheckpoint`: the training state at the last epoch boundary, which
  the loop rolls back to when Ctrl-C (KeyboardInterrupt) arrives mid-epoch.

scikit-learn's callback API (``sklearn.callback``) exists from scikit-learn 1.9
on. With an older scikit-learn the estimators work as before and simply have no
``set_callbacks``; the presence of the module is tested, not a version number.
"""

import copy
import os
import sys
import time
from types import SimpleNamespace

import joblib
import numpy as np
import sklearn

from .._core.array_ops import array_ops

try:
    from sklearn.callback import CallbackSupportMixin
except ImportError:  # scikit-learn < 1.9

    class CallbackSupportMixin:
        """Stand-in for scikit-learn < 1.9, which has no callback API: no ``set_callbacks``."""


class FitHooks:
    """The callbacks and the progress printout of one fit, driven by the training loop.

    The task tree the callbacks see is the one scikit-learn's own iterative
    estimators build: a root task per ``fit`` (or ``partial_fit``) call, with at
    most ``max_iter`` subtasks, one per epoch. Mini-batches are not tasks: a
    per-batch task would add a row per epoch to ``ProgressBar`` and have
    ``ScoringMonitor`` score the whole data after every step.

    Each epoch task ends with a ``fitted_estimator`` (built only for callbacks
    that ask for it) whose parameters are those after the epoch and whose
    ``loss_curve_``, ``validation_loss_curve_`` and ``n_iter_`` stop at it, so a
    callback can watch or plot the loss. An ``on_fit_task_end`` returning True
    at an epoch ends training there, with ``stop_reason_ == 'callback'``.

    Parameters
    ----------
    estimator : BaseGDClassifier
        The estimator being trained. It has ``set_callbacks`` only where
        scikit-learn has a callback API; without it only ``verbose`` applies.
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        The data as ``fit`` received it (validated), given to the callbacks.
    y : ndarray of shape (n_samples,)
        Its labels (not encoded), so that scorers can compare predictions.
    sample_weight : ndarray of shape (n_samples,) or None
        The user's weights, passed to the callbacks as ``metadata``.
    classes : ndarray of shape (n_classes,)
        The classes the epoch models predict (the estimator may get its
        ``classes_`` only once training is over).
    log : TrainingLog
        The loss curves the loop appends to, read for ``fitted_estimator``.
    verbose : int, default=0
        Print the loss and the elapsed time every ``verbose`` epochs, and a
        last line with the stop reason and the best loss (0: silent).
    model_params : callable, default=None
        Maps the parameters the loop trains to the estimator's (when it trains
        an equivalent reparametrisation); None means they are the same.

    Examples
    --------
    A callback that stops training at the third epoch:

    >>> from sklearn.datasets import make_classification
    >>> from sknn import SoftmaxGD
    >>> class StopAtEpoch3:
    ...     def setup(self, estimator, context):
    ...         pass
    ...     def on_fit_task_begin(self, estimator, context):
    ...         pass
    ...     def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
    ...         # The root task (the whole fit) has no parent; epochs have one.
    ...         return context.parent is not None and fitted_estimator.n_iter_ == 3
    ...     def teardown(self, estimator, context):
    ...         pass
    >>> X, y = make_classification(random_state=0)
    >>> model = SoftmaxGD().set_callbacks(StopAtEpoch3()).fit(X, y)
    >>> model.n_iter_, model.stop_reason_
    (3, 'callback')
    """

    def __init__(
        self, estimator, X, y, sample_weight, *, classes, log, verbose=0, model_params=None
    ):
        self._estimator = estimator
        self._classes = classes
        self._task_data = {
            "X": X,
            "y": y,
            "metadata": None if sample_weight is None else {"sample_weight": sample_weight},
        }
        self._log = log
        self._verbose = int(verbose)
        self._model_params = model_params
        self._fit_task = None
        self._watch_epochs = False
        self._epoch = None
        self._start = None
        self._validated = False

    def begin(self, max_iter, task_name="fit"):
        """Start the clock and open the fit's root task, with ``max_iter`` epoch subtasks."""
        self._start = time.perf_counter()
        init_context = getattr(self._estimator, "_init_callback_context", None)
        if init_context is None:  # scikit-learn without callbacks
            return
        # Called even without callbacks: inside a meta-estimator this links the
        # fit's task into the meta-estimator's task tree, as scikit-learn does.
        self._fit_task = init_context(task_name=task_name, max_subtasks=max_iter)
        self._fit_task.call_on_fit_task_begin(estimator=self._estimator, **self._task_data)
        # Epoch tasks only when someone listens: they cost a few objects per epoch.
        self._watch_epochs = bool(getattr(self._estimator, "_skl_callbacks", None))

    def epoch_begin(self, params):
        """Open the next epoch's task; ``params`` are those it starts from."""
        if not self._watch_epochs:
            return
        self._epoch = self._fit_task.subcontext(task_name="epoch")
        self._epoch.call_on_fit_task_begin(
            estimator=self._estimator,
            **self._task_data,
            reconstruction_attributes=lambda: self._fitted_attributes(params),
        )

    def epoch_end(self, epoch, loss, validation_loss, params):
        """Report a complete epoch; return True if a callback asks to stop.

        Parameters
        ----------
        epoch : int
            Its number, counted from 1 over all fits of a warm-started estimator.
        loss : float
            Its mean training loss.
        validation_loss : float or None
            The loss on the validation split after it, when one is monitored.
        params : dict of ndarray
            The parameters after it.

        Returns
        -------
        stop : bool
        """
        self._validated = validation_loss is not None
        if self._verbose and epoch % self._verbose == 0:
            line = f"Epoch {epoch}, loss = {loss:.8f}"
            if self._validated:
                line += f", validation loss = {validation_loss:.8f}"
            print(f"{line}, elapsed {self._elapsed():.2f} s", flush=True)
        if self._epoch is None:
            return False
        # Cleared first: if Ctrl-C lands inside a callback, `end` must not end the
        # task a second time for the callbacks that already saw its end.
        task, self._epoch = self._epoch, None
        return task.call_on_fit_task_end(
            estimator=self._estimator,
            **self._task_data,
            reconstruction_attributes=lambda: self._fitted_attributes(params),
        )

    def end(self, stop_reason, best_loss):
        """Close the fit's tasks, once the estimator holds its fitted attributes.

        An epoch cut short (by divergence or Ctrl-C) still gets its end, without
        data, so that every task that began also ends.
        """
        if self._epoch is not None:
            task, self._epoch = self._epoch, None
            task.call_on_fit_task_end(estimator=self._estimator)
        if self._fit_task is not None:
            # {} makes `fitted_estimator` a copy of the estimator itself: it is fitted now.
            self._fit_task.call_on_fit_task_end(
                estimator=self._estimator, **self._task_data, reconstruction_attributes={}
            )
        if self._verbose:
            best = "best validation loss" if self._validated else "best loss"
            print(
                f"Stopped at epoch {len(self._log.loss_curve)} ({stop_reason}) after "
                f"{self._elapsed():.2f} s; {best}: {best_loss:.8f}",
                flush=True,
            )

    def _elapsed(self):
        return time.perf_counter() - self._start

    def _fitted_attributes(self, params):
        """The fitted attributes of a model stopped at ``params``, as copies: training goes on."""
        params = {name: array_ops(array).copy(array) for name, array in params.items()}
        if self._model_params is not None:
            params = self._model_params(params)
        # `_store_params` only sets attributes: run it on a blank object, not on the estimator.
        attributes = SimpleNamespace()
        type(self._estimator)._store_params(attributes, params)
        attributes.classes_ = self._classes
        attributes.loss_curve_ = list(self._log.loss_curve)
        if self._log.validation_loss_curve:
            attributes.validation_loss_curve_ = list(self._log.validation_loss_curve)
        attributes.n_iter_ = len(self._log.loss_curve)
        return vars(attributes)


class SilentHooks:
    """The hooks of a loop nobody watches (direct calls to ``train``)."""

    def epoch_begin(self, params):
        pass

    def epoch_end(self, epoch, loss, validation_loss, params):
        return False


class EpochCheckpoint:
    """The training state at the last epoch boundary, to roll back to on Ctrl-C.

    The state is what a warm start continues from: the parameters, every
    public attribute of the optimizer (its arrays and dicts of arrays copied,
    unless the optimizer ``replaces_its_state``: binds new arrays at each
    step and never writes into old ones, so references are a snapshot;
    attributes named with a leading underscore are scratch buffers, not
    state, and are left alone), the
    random generator's state (the next epoch's shuffle) and the lengths of the
    loss curves. Restoring it leaves the estimator as if training had stopped
    right after that epoch, so a warm start then trains exactly what an
    uninterrupted fit would have.

    A KeyboardInterrupt can arrive anywhere: inside an optimizer step, between
    the updates of two parameters, or while this checkpoint is being written.
    Hence two snapshots alternate: one is written while the other stays valid,
    and a single assignment makes the new one current.

    Parameters
    ----------
    params : dict of ndarray
        Updated in place by the loop; restored in place.
    optimizer : object
        Keeps its state in instance attributes.
    rng : numpy.random.RandomState or None
        The generator the epochs draw from; None when they draw nothing (no
        shuffled mini-batches), which saves reading its state, slow for
        MT19937 (about 0.1 ms, as long as a small epoch).
    log : TrainingLog
    """

    def __init__(self, params, optimizer, rng, log):
        self._params = params
        self._optimizer = optimizer
        self._rng = rng
        self._log = log
        self._snapshots = [None, None]
        self._current = 0
        self.save()

    def save(self):
        """Snapshot the current state: call it when an epoch is complete."""
        spare = 1 - self._current
        # The spare snapshot's arrays are overwritten, not reallocated, every epoch.
        reuse = self._snapshots[spare] or {}
        self._snapshots[spare] = {
            "params": _copy_state(self._params, reuse.get("params")),
            "optimizer": (
                _optimizer_state(self._optimizer)
                if getattr(self._optimizer, "replaces_its_state", False)
                else _copy_state(_optimizer_state(self._optimizer), reuse.get("optimizer"))
            ),
            "rng": None if self._rng is None else self._rng.get_state(),
            "n_epochs": (len(self._log.loss_curve), len(self._log.validation_loss_curve)),
        }
        self._current = spare

    def restore(self):
        """Put the last saved state back."""
        saved = self._snapshots[self._current]
        for name, array in saved["params"].items():
            array_ops(array).copy_into(self._params[name], array)
        vars(self._optimizer).update(copy.deepcopy(saved["optimizer"]))
        if self._rng is not None:
            self._rng.set_state(saved["rng"])
        n_epochs, n_validated = saved["n_epochs"]
        del self._log.loss_curve[n_epochs:]
        del self._log.validation_loss_curve[n_validated:]


def _optimizer_state(optimizer):
    """The optimizer's attributes without its scratch buffers (copying those is wasted time)."""
    return {name: value for name, value in vars(optimizer).items() if not name.startswith("_")}


def _copy_state(value, into=None):
    """A copy of ``value``, reusing the arrays of an earlier copy ``into`` where they fit."""
    if type(value) is dict:
        into = into if type(into) is dict else {}
        # Arrays and immutable values are handled here, without a call per
        # value: a checkpoint is written every epoch, and small epochs take
        # ~0.1 ms.
        copied = {}
        for key, item in value.items():
            kind = type(item)
            if kind in _IMMUTABLE:
                copied[key] = item
            elif kind is np.ndarray or hasattr(item, "__dlpack__"):
                copied[key] = _copy_array(item, into.get(key))
            else:
                copied[key] = _copy_state(item, into.get(key))
        return copied
    if hasattr(value, "__dlpack__"):  # an array, of NumPy or another namespace
        return _copy_array(value, into)
    if type(value) in _IMMUTABLE:
        return value  # nothing to copy (deepcopy would cost more than the arrays)
    return copy.deepcopy(value)


def _copy_array(value, into):
    """A copy of ``value``: into ``into`` when that is an array of its type, shape and dtype."""
    ops = array_ops(value)
    if type(into) is type(value) and into.shape == value.shape and into.dtype == value.dtype:
        return ops.copy_into(into, value)
    return ops.copy(value)


_IMMUTABLE = frozenset({type(None), bool, int, float, str})


# Frames in these packages are skipped when a warning points at the user's code:
# meta-estimators reach fit through scikit-learn's and joblib's own frames.
_INTERNAL_DIRS = tuple(
    os.path.dirname(path) + os.sep
    for path in (os.path.dirname(__file__), sklearn.__file__, joblib.__file__)
)


def user_stacklevel():
    """The ``stacklevel`` at which ``warnings.warn`` names the user's call.

    Meant to be called by the function that warns; the first frame outside
    sknn, scikit-learn and joblib is the user's.
    """
    frame = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(_INTERNAL_DIRS):
        frame = frame.f_back
        level += 1
    return level
