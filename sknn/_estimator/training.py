"""How an estimator trains: it builds the objective, optimizer and state, runs the loop, commits.

:class:`TrainingMixin` gives :class:`~sknn._estimator.base.BaseGDClassifier`
its ``_train``, which ``fit``, ``partial_fit`` and
:func:`sknn.distributed.fit_dask` share. It works on local state and touches
the estimator's attributes only once training has ended (``_commit``).
"""

import inspect
import warnings

import numpy as np
from sklearn.utils import check_random_state

from .._core.array_ops import array_ops, copy_params, copy_tree
from .._core.batches import n_training_rows
from .._core.loop import FullBatch, Stopping, TrainingLog, train
from .._core.optimizers import OPTIMIZERS
from .._core.protocols import Reparametrised
from .._core.stacklevel import user_stacklevel
from .callbacks import FitHooks
from .preparation import encode_targets, host, scaling_advice
from .state import random_state_from

# Optimizer hyperparameters an estimator passes on; each optimizer uses some.
_OPTIMIZER_HYPERPARAMETERS = ("learning_rate", "beta_1", "beta_2", "epsilon")


class TrainingMixin:
    """``_train`` and what it needs: the optimizer, continuation, the commit."""

    def _train(self, data, *, continue_training, incremental):
        """Train on ``data`` (see ``_prepare``) from the fitted state or afresh, then commit.

        ``incremental`` (partial_fit) runs one epoch with no stopping rule and
        no validation split. ``data.problem``, when set, is the full-batch
        objective evaluated elsewhere (on Dask workers): it holds its own
        targets, and ``data.X`` only lends its shape and dtype.
        """
        link, n_outputs = self._output_layer_of(len(data.classes), data.multilabel)
        objective = self._make_objective(link) if data.problem is None else data.problem.objective
        # Set before training, not at the commit: the epoch models scikit-learn's
        # callbacks get are copies made during training and must predict as this
        # fit does. A call that raises restores it (_atomic).
        self._multilabel = data.multilabel
        rng = self._training_rng(continue_training)
        log = self._training_log() if continue_training else TrainingLog()
        X, sample_weight, validation = data.X, data.sample_weight, None
        Y = None if data.problem is not None else encode_targets(data.y_index, n_outputs, X)
        if self.early_stopping and not incremental:
            # A multilabel row has no one class to stratify by: a plain random split.
            strata = None if data.multilabel else data.y_index
            sample_weight, rows, validation_weight = self._split_validation(
                X, strata, sample_weight, data.user_sample_weight, rng
            )
            ops = array_ops(X)
            # Copied: a pass over all of X with weights 0 elsewhere would cost the whole of X.
            validation = (ops.take_rows(X, rows), ops.take_rows(Y, rows), validation_weight)
        # Whether each step sees every training row (of positive weight, as the
        # mini-batches draw them) of this call; only in fit is that one function.
        n_rows = n_training_rows(X, sample_weight)
        whole_batch = self.batch_size is None or self.batch_size >= n_rows
        name = self._optimizer_name(one_function=whole_batch and not incremental)
        basis = None
        if whole_batch and not (incremental or continue_training or validation or data.problem):
            # A fresh full-batch fit may train in cheaper, equivalent coordinates.
            basis = self._row_space_basis(X, n_outputs, name)
        training_X = X if basis is None else basis.coordinates
        if data.problem is None:
            objective = self._training_objective(objective, training_X, sample_weight, name)
        problem = data.problem or FullBatch(objective, training_X, Y, sample_weight)
        params = self._initial_params(objective, training_X, n_outputs, rng, continue_training)
        optimizer = self._make_optimizer(name, problem, whole_batch)
        if continue_training:
            state = self._continued_optimizer_state(name, objective, X)
            optimizer.set_state(_to_training(objective, state, optimizer.state_kind))
        classes = data.classes
        if not array_ops(X).is_numpy and classes.dtype.kind in "biuf":
            # In X's namespace, as the weights: predict returns labels there.
            classes = array_ops(X).asarray(classes, like=X)
        hooks = FitHooks(
            self,
            data.X,
            data.y,
            data.user_sample_weight,
            classes=classes,
            log=log,
            verbose=self.verbose,
            model_params=lambda trained: _to_model(objective, basis, trained),
        )
        hooks.begin(1 if incremental else self.max_iter, "partial_fit" if incremental else "fit")
        stop_reason = train(
            objective,
            params,
            optimizer,
            problem if data.problem is not None else (training_X, Y, sample_weight),
            log=log,
            stopping=self._stopping(incremental),
            batch_size=self.batch_size,
            shuffle=self.shuffle,
            rng=rng,
            validation=validation,
            hooks=hooks,
            name=type(self).__name__,
            advice=lambda reason, loss: self._advice(reason, loss, X),
        )
        params = _to_model(objective, basis, params)
        # Copied before it is mapped: the optimizer's arrays may be views of its
        # buffers, and the map of a row-space state makes new, far larger ones.
        state = _to_model(objective, basis, copy_tree(optimizer.get_state()), optimizer.state_kind)
        self._commit(classes, params, name, state, rng, stop_reason, log)
        hooks.end(stop_reason, self.best_loss_)
        return self

    def _training_rng(self, continue_training):
        if continue_training and hasattr(self, "_rng_state"):
            return random_state_from(self._rng_state)
        return check_random_state(self.random_state)

    def _initial_params(self, objective, X, n_outputs, rng, continue_training):
        if continue_training:
            return _to_training(objective, objective.as_params(self._load_params(), like=X))
        ops = array_ops(X)
        # Drawn by NumPy's generator in every namespace: the same seed gives
        # the same initial weights on any array library and device.
        params = objective.init_params(X.shape[1], n_outputs, rng, ops.numpy_dtype(X.dtype))
        return {name: ops.asarray(p, like=X) for name, p in params.items()}

    def _stopping(self, incremental):
        return Stopping(
            max_iter=1 if incremental else self.max_iter,
            tol=None if incremental else self.tol,
            n_iter_no_change=self.n_iter_no_change,
            rule=self._full_batch_rule,
        )

    def _advice(self, reason, loss, X):
        """Advice for a fit that stopped short of its test (see sknn._core.loop.train)."""
        if reason == "stalled" and self.alpha == 0 and loss < 1e-2:
            return (
                "With alpha=0 the loss approaches 0: the classes may be separable, and the "
                "minimum then lies at infinity, which no tol reaches. Set alpha > 0."
            )
        return scaling_advice(X)

    def _commit(self, classes, params, optimizer_name, state, rng, stop_reason, log):
        """Set everything a fit leaves behind; nothing before this touched the estimator."""
        self.classes_ = classes
        self._store_params(params)
        self._commit_weights()
        self._optimizer_state = {"name": optimizer_name, "state": state}
        self._rng_state = rng.get_state(legacy=False)
        self.stop_reason_ = stop_reason
        self.loss_curve_ = log.loss_curve
        if log.validation_loss_curve:
            self.validation_loss_curve_ = log.validation_loss_curve
        elif hasattr(self, "validation_loss_curve_"):
            del self.validation_loss_curve_  # left by an earlier fit with early stopping
        self.best_loss_ = log.best_loss
        self.n_iter_ = len(log.loss_curve)

    # ------------------------------------------------------------ optimizer
    def _optimizer_name(self, one_function):
        """The optimizer to train with: ``optimizer``, with 'auto' resolved.

        'auto' is 'gd' when ``learning_rate`` is a number: plain gradient
        descent at the rate the user gave (on the full batch, the course's
        algorithm). Otherwise it is ``_AUTO_OPTIMIZERS[0]`` when every step
        sees ``one_function`` (fit on the full batch), which the full-batch
        optimizers (L-BFGS, conjugate gradient) need, and
        ``_AUTO_OPTIMIZERS[1]`` on mini-batches and in ``partial_fit``, whose
        successive calls see different data.
        """
        if self.optimizer != "auto":
            return self.optimizer
        if not isinstance(self.learning_rate, str):
            return "gd"
        return self._AUTO_OPTIMIZERS[0 if one_function else 1]

    def _make_optimizer(self, name, problem, full_batch):
        """Optimizer ``name`` for steps on the full batch of each call, or on mini-batches.

        A named full-batch optimizer is allowed in ``partial_fit`` with
        ``batch_size=None``: each call is then one of its steps, on that call's data.
        """
        entry = OPTIMIZERS[name]
        if entry.full_batch_only and not full_batch:
            raise ValueError(
                f"optimizer={name!r} needs the full batch, one function to minimise: set "
                "batch_size=None, or choose another optimizer for mini-batches."
            )
        self._warn_ignored_hyperparameters(name, full_batch)
        return entry.build(
            learning_rate=self._initial_learning_rate(problem, name, full_batch),
            beta_1=self.beta_1,
            beta_2=self.beta_2,
            epsilon=self.epsilon,
            full_batch=full_batch,
            line_search=self.learning_rate == "auto",
        )

    def _warn_ignored_hyperparameters(self, optimizer, full_batch):
        """Warn once per call about optimizer hyperparameters ``optimizer`` does not use."""
        used = OPTIMIZERS[optimizer].uses(full_batch)
        defaults = inspect.signature(type(self).__init__).parameters
        ignored = [
            f"{name}={getattr(self, name)!r}"
            for name in _OPTIMIZER_HYPERPARAMETERS
            if name not in used and getattr(self, name) != defaults[name].default
        ]
        if not ignored:
            return
        users = {
            name: [key for key, entry in OPTIMIZERS.items() if name in entry.uses(full_batch)]
            for name in _OPTIMIZER_HYPERPARAMETERS
        }
        batches = "the full batch" if full_batch else "mini-batches"
        resolved = "" if self.optimizer == optimizer else " (optimizer='auto' here)"
        warnings.warn(
            f"{type(self).__name__}: optimizer={optimizer!r}{resolved} does not use "
            f"{', '.join(ignored)}. "
            + "; ".join(
                f"{name} is used by {', '.join(map(repr, users[name]))}"
                for name in _OPTIMIZER_HYPERPARAMETERS
                if any(text.startswith(name + "=") for text in ignored)
            )
            + f" (on {batches}).",
            UserWarning,
            stacklevel=user_stacklevel(),
        )

    # ---------------------------------------------------------- continuation
    def _continued_optimizer_state(self, name, objective, X):
        """A private copy of the last fit's optimizer state, if it still belongs to the weights.

        It does when that fit used the same optimizer and the weights are those
        it left (not set or edited by hand since): the public weights are the
        model, and a state describing other weights is dropped.
        """
        previous = getattr(self, "_optimizer_state", None)
        if previous is None or previous["name"] != name or not self._weights_are_committed():
            return {}
        return _state_like(previous["state"], objective, X)

    def _training_log(self):
        """The log a continued fit appends to (empty for weights set by hand)."""
        return TrainingLog(
            getattr(self, "loss_curve_", []),
            getattr(self, "validation_loss_curve_", []),
            getattr(self, "best_loss_", np.inf),
        )

    def _commit_weights(self):
        """Remember the weights the optimizer state belongs to (see _weights_are_committed)."""
        self._committed_weights = copy_params(self._load_params())

    def _weights_are_committed(self):
        """Whether the public weights are still those the last fit (or load) left."""
        committed = getattr(self, "_committed_weights", None)
        if committed is None:
            return False
        params = self._load_params()
        return committed.keys() == params.keys() and all(
            _same_array(params[name], committed[name]) for name in committed
        )

    def _host_classes(self):
        """``classes_`` as a NumPy array (it is in the namespace of the training X)."""
        return host(self.classes_)


def _state_like(state, objective, X):
    """An optimizer state's dicts of arrays as private copies for a fit on ``X``.

    In X's dtype and namespace and the objective's memory layout (its
    ``as_params``), as the parameters themselves.
    """
    return {
        key: objective.as_params(value, like=X) if isinstance(value, dict) else value
        for key, value in state.items()
    }


def _same_array(a, b):
    """Whether two arrays of one namespace hold the same values in the same shape."""
    if type(a) is not type(b) or tuple(a.shape) != tuple(b.shape):
        return False
    return bool(array_ops(a).xp.all(a == b))


def _to_training(objective, value, kind_of=None):
    """Parameters (``kind_of`` None) or an optimizer state of the model in the
    objective's own coordinates (see sknn._core.protocols.Reparametrised)."""
    if not isinstance(objective, Reparametrised):
        return value
    if kind_of is None:
        return objective.from_model(value, "arrays")
    return {key: _mapped(objective.from_model, value, kind_of(key)) for key, value in value.items()}


def _to_model(objective, basis, value, kind_of=None):
    """Parameters or an optimizer state trained in the objective's coordinates
    (and the row-space basis, if any) as the model's."""
    if isinstance(objective, Reparametrised):
        if kind_of is None:
            value = objective.to_model(value, "arrays")
        else:
            value = {
                key: _mapped(objective.to_model, item, kind_of(key)) for key, item in value.items()
            }
    return value if basis is None else basis.to_model(value)


def _mapped(mapping, value, kind):
    return mapping(value, kind) if kind in ("arrays", "gradients") else value
