"""What the training loop shows and hears at epoch boundaries.

:class:`FitHooks`, one per call to ``fit`` or ``partial_fit``, gives the
training loop (:func:`sknn._core.loop.train`) scikit-learn's callbacks
(``set_callbacks``), the ``verbose`` printout and the clock. A callback can
ask training to stop.

scikit-learn's callback API (``sklearn.callback``, 1.9 on) is detected by its
module, not by a version number; without it there is no ``set_callbacks``.
"""

import time
from types import SimpleNamespace

from .._core.array_ops import copy_params

try:
    from sklearn.callback import CallbackSupportMixin
except ImportError:  # scikit-learn < 1.9

    class CallbackSupportMixin:
        """Stand-in for scikit-learn < 1.9, which has no callback API: no ``set_callbacks``."""


class FitHooks:
    """The callbacks and the progress printout of one fit, driven by the training loop.

    The task tree is that of scikit-learn's own iterative estimators: a root
    task per call, one subtask per epoch (what a callback sees of each is in the
    user guide's Callbacks section). Mini-batches are not tasks: they would add
    a row per epoch to ``ProgressBar`` and have ``ScoringMonitor`` score the
    whole data after every step.

    Parameters
    ----------
    estimator : BaseGDClassifier
        The estimator being trained.
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
    model_params : callable
        Maps the parameters the loop trains to the estimator's (the identity
        unless it trains an equivalent reparametrisation).
    verbose : int, default=0
        The estimator's ``verbose``.

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

    def __init__(self, estimator, X, y, sample_weight, *, classes, log, model_params, verbose=0):
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
        params = self._model_params(copy_params(params))
        # `_store_params` only sets attributes: run it on a blank object, not on the estimator.
        attributes = SimpleNamespace()
        type(self._estimator)._store_params(attributes, params)
        attributes.classes_ = self._classes
        attributes.loss_curve_ = list(self._log.loss_curve)
        if self._log.validation_loss_curve:
            attributes.validation_loss_curve_ = list(self._log.validation_loss_curve)
        attributes.n_iter_ = len(self._log.loss_curve)
        return vars(attributes)
