"""Estimator plumbing shared by every sknn classifier.

Input validation, label and weight handling, fit / partial_fit / warm start
and the prediction methods live here, once. A concrete estimator supplies its
model through four small hooks:

- ``_output_layer(n_classes) -> (link, n_outputs)``;
- ``_make_objective(link)``: the objective the training loop optimises;
- ``_initial_learning_rate(objective, X, sample_weight)``;
- ``_store_params(params)`` / ``_load_params()``: between the training
  dict of arrays and the public fitted attributes.

This is the only module that imports scikit-learn's private helpers; the
other modules take the parameter-validation pieces they need from here.
"""

import copy
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    Interval,
    StrOptions,
    validate_parameter_constraints,  # noqa: F401 (for sknn.io)
)
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    check_X_y,
    validate_data,
)

from ._callbacks import CallbackSupportMixin, FitHooks
from ._engine import TrainingLog, train
from ._functions import log_probabilities, probabilities
from ._optimizers import make_optimizer

_ACCEPTED_SPARSE = ["csr", "csc"]
_ACCEPTED_DTYPES = [np.float64, np.float32]


class BaseGDClassifier(CallbackSupportMixin, ClassifierMixin, BaseEstimator):
    """Base class of the sknn classifiers; not for direct use.

    ``CallbackSupportMixin`` gives ``set_callbacks`` (scikit-learn >= 1.9).
    """

    _parameter_constraints = {
        "learning_rate": [Interval(Real, 0, np.inf, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, np.inf, closed="left"), None],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, np.inf, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
        "shuffle": ["boolean"],
        "optimizer": [StrOptions({"gd", "momentum", "adam"})],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, np.inf, closed="neither")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train by gradient descent for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. float32 data is trained in float32; CSR and CSC
            matrices are used as they are, never densified.
        y : array-like of shape (n_samples,)
            Class labels (numbers, strings or any sortable objects).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; a weight of k counts as k repeated rows and
            0 drops the row.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        warm = self.warm_start and hasattr(self, "classes_")
        X, y = self._validate_X_y(X, y, reset=not warm)
        X, y, sample_weight = self._drop_zero_weight_rows(X, y, sample_weight)
        classes = np.unique(y)
        self._check_at_least_two(classes)
        if warm and not np.array_equal(classes, self.classes_):
            raise ValueError(
                "warm_start can only be used where `y` has the same classes as in "
                f"the previous call to fit. Previously got {self.classes_}, "
                f"`y` has {classes}."
            )
        self.classes_ = classes
        y_index = np.searchsorted(classes, y)
        fit_data = (X, y, sample_weight)
        sample_weight = self._effective_weights(classes, y_index, sample_weight, X.dtype)
        return self._train(
            X, y_index, sample_weight, continue_training=warm, incremental=False, fit_data=fit_data
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train for one epoch on the given data, continuing from the current state.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A chunk of training data.
        y : array-like of shape (n_samples,)
            Its labels.
        classes : array-like of shape (n_classes,), default=None
            Every class that can appear in any chunk. Required on the first
            call, ignored (but checked) afterwards.
        sample_weight : array-like of shape (n_samples,), default=None
            As in :meth:`fit`.

        Returns
        -------
        self : object
            The estimator, trained one more epoch.

        Notes
        -----
        ``early_stopping`` and ``tol`` do not apply: each call runs one epoch.
        ``class_weight='balanced'`` needs the whole target and is refused.
        """
        first_call = not hasattr(self, "classes_")
        if first_call and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if self.class_weight == "balanced":
            raise ValueError(
                "class_weight='balanced' is not supported by partial_fit: it needs "
                "the class frequencies of the whole data. Compute them once with "
                "sklearn.utils.class_weight.compute_class_weight('balanced', ...) "
                "and pass them as a dict."
            )
        X, y = self._validate_X_y(X, y, reset=first_call)
        if first_call:
            all_classes = np.unique(np.asarray(classes))
            self._check_at_least_two(all_classes)
        else:
            all_classes = self.classes_
            if classes is not None and not np.array_equal(
                np.unique(np.asarray(classes)), self.classes_
            ):
                raise ValueError(
                    f"`classes={classes!r}` is not the same as on the first call "
                    f"to partial_fit, which was {self.classes_!r}."
                )
        _check_labels_known(y, all_classes)
        X, y, sample_weight = self._drop_zero_weight_rows(X, y, sample_weight)
        self.classes_ = all_classes
        y_index = np.searchsorted(all_classes, y)
        fit_data = (X, y, sample_weight)
        sample_weight = self._effective_weights(all_classes, y_index, sample_weight, X.dtype)
        return self._train(
            X,
            y_index,
            sample_weight,
            continue_training=not first_call,
            incremental=True,
            fit_data=fit_data,
        )

    def _train(self, X, y_index, sample_weight, *, continue_training, incremental, fit_data):
        """Run the shared training loop and store what it leaves behind.

        ``incremental`` (partial_fit) runs one epoch with no stopping rule and
        no validation split. ``fit_data`` is ``(X, y, sample_weight)`` as the
        caller validated them, before any encoding or class weighting: what
        callbacks are given.
        """
        link, n_outputs = self._output_layer(len(self.classes_))
        objective = self._make_objective(link)
        Y = _encode_targets(y_index, n_outputs, X.dtype)
        if continue_training:
            rng = getattr(self, "_rng", None) or check_random_state(self.random_state)
            log = self._training_log()
        else:
            rng = check_random_state(self.random_state)
            log = TrainingLog()
            self._optimizer = None

        validation = None
        if self.early_stopping and not incremental:
            X, Y, sample_weight, validation = self._split_validation(
                X, Y, y_index, sample_weight, rng
            )

        training_objective = objective
        if continue_training:
            params = {k: np.array(v, dtype=X.dtype) for k, v in self._load_params().items()}
        else:
            if not incremental and validation is None:
                # A fresh full fit may run on an equivalent, cheaper parametrisation.
                training_objective = self._training_objective(objective, X, n_outputs)
            params = training_objective.init_params(X.shape[1], n_outputs, rng, X.dtype)

        learning_rate = self._initial_learning_rate(training_objective, X, sample_weight)
        self._optimizer = self._updated_optimizer(learning_rate)
        hooks = FitHooks(
            self,
            *fit_data,
            classes=self.classes_,
            log=log,
            verbose=self.verbose,
            model_params=(
                None
                if training_objective is objective
                else lambda params: training_objective.to_model_params(params, None)
            ),
        )
        hooks.begin(1 if incremental else self.max_iter, "partial_fit" if incremental else "fit")
        self.stop_reason_ = train(
            training_objective,
            params,
            self._optimizer,
            X,
            Y,
            sample_weight,
            log=log,
            max_iter=1 if incremental else self.max_iter,
            batch_size=self.batch_size,
            shuffle=self.shuffle,
            rng=rng,
            tol=None if incremental else self.tol,
            n_iter_no_change=self.n_iter_no_change,
            validation=validation,
            hooks=hooks,
            estimator_name=type(self).__name__,
        )
        if training_objective is not objective:
            params = training_objective.to_model_params(params, self._optimizer)
        self._rng = rng
        self._store_params(params)
        self.loss_curve_ = log.loss_curve
        if log.validation_loss_curve:
            self.validation_loss_curve_ = log.validation_loss_curve
        elif hasattr(self, "validation_loss_curve_"):
            del self.validation_loss_curve_  # left by an earlier fit with early stopping
        self.best_loss_ = log.best_loss
        self.n_iter_ = len(log.loss_curve)
        hooks.end(self.stop_reason_, self.best_loss_)
        return self

    # ------------------------------------------------------------- helpers
    def _validate_X_y(self, X, y, reset):
        X, y = validate_data(
            self, X, y, accept_sparse=_ACCEPTED_SPARSE, dtype=_ACCEPTED_DTYPES, reset=reset
        )
        check_classification_targets(y)
        return X, y

    @staticmethod
    def _drop_zero_weight_rows(X, y, sample_weight):
        """Validate ``sample_weight``; rows of weight 0 are dropped, as if absent."""
        if sample_weight is None:
            return X, y, None
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=X.dtype, ensure_non_negative=True
        )
        keep = sample_weight > 0
        if keep.all():
            return X, y, sample_weight
        return X[keep], y[keep], sample_weight[keep]

    @staticmethod
    def _check_at_least_two(classes):
        if len(classes) < 2:
            raise ValueError(
                "This solver needs samples of at least 2 classes in the data, but "
                f"the data contains only one class: {classes[0]!r}."
            )

    def _effective_weights(self, classes, y_index, sample_weight, dtype):
        """Sample weights times class weights; None when all would be one."""
        if self.class_weight is None:
            return sample_weight
        n_classes = len(classes)
        base = np.ones(len(y_index), dtype=dtype) if sample_weight is None else sample_weight
        if self.class_weight == "balanced":
            # Weighted class totals, so that weight k still equals k repeated rows.
            totals = np.bincount(y_index, weights=base, minlength=n_classes)
            present = totals > 0
            per_class = np.ones(n_classes)
            per_class[present] = base.sum() / (present.sum() * totals[present])
        else:
            per_class = np.ones(n_classes)
            for label, weight in self.class_weight.items():
                matches = np.flatnonzero(classes == label)
                if matches.size == 0:
                    raise ValueError(
                        f"class_weight has label {label!r}, which is not among the "
                        f"classes {classes!r}."
                    )
                per_class[matches[0]] = weight
            if np.any(per_class < 0) or not np.all(np.isfinite(per_class)):
                raise ValueError(
                    f"class_weight must be finite and non-negative, got {self.class_weight!r}."
                )
        return base * per_class.astype(dtype)[y_index]

    def _split_validation(self, X, Y, y_index, sample_weight, rng):
        """Hold out a stratified ``validation_fraction`` of the rows."""
        try:
            train_rows, val_rows = train_test_split(
                np.arange(X.shape[0]),
                test_size=self.validation_fraction,
                stratify=y_index,
                random_state=rng,
            )
        except ValueError as error:
            raise ValueError(
                "early_stopping could not hold out a stratified validation split "
                f"(validation_fraction={self.validation_fraction}): {error}"
            ) from error
        sw_train = sw_val = None
        if sample_weight is not None:
            sw_train, sw_val = sample_weight[train_rows], sample_weight[val_rows]
        validation = (X[val_rows], Y[val_rows], sw_val)
        return X[train_rows], Y[train_rows], sw_train, validation

    def _updated_optimizer(self, learning_rate):
        """The optimizer to train with: the previous one (and its state) when continuing."""
        hyperparameters = {
            "learning_rate": learning_rate,
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
        }
        fresh = make_optimizer(self.optimizer, **hyperparameters)
        optimizer = getattr(self, "_optimizer", None)
        if type(optimizer) is not type(fresh):
            return fresh
        # Keep the accumulated state, take the current hyperparameters.
        for name, value in hyperparameters.items():
            if hasattr(optimizer, name):
                setattr(optimizer, name, value)
        return optimizer

    def _training_objective(self, objective, X, n_outputs):
        """The objective a fresh full-batch fit trains; subclasses may reparametrise."""
        return objective

    def _training_log(self):
        log = TrainingLog()
        log.loss_curve = list(self.loss_curve_)
        log.validation_loss_curve = list(getattr(self, "validation_loss_curve_", []))
        log.best_loss = self.best_loss_
        return log

    def _gradient_problem(self, X, y, sample_weight):
        """The objective, parameters and encoded data that fit would optimise.

        Parameters are float64 copies of the fitted ones, or the initial ones
        when the estimator is unfitted; the estimator itself is not changed.
        Used by :func:`sknn.check_gradient`.
        """
        self._validate_params()
        X, y = check_X_y(X, y, accept_sparse=_ACCEPTED_SPARSE, dtype=np.float64)
        check_classification_targets(y)
        X, y, sample_weight = self._drop_zero_weight_rows(X, y, sample_weight)
        fitted = hasattr(self, "classes_")
        classes = self.classes_ if fitted else np.unique(y)
        self._check_at_least_two(classes)
        _check_labels_known(y, classes)
        y_index = np.searchsorted(classes, y)
        sample_weight = self._effective_weights(classes, y_index, sample_weight, X.dtype)
        link, n_outputs = self._output_layer(len(classes))
        objective = self._make_objective(link)
        if fitted:
            if X.shape[1] != self.n_features_in_:
                raise ValueError(
                    f"X has {X.shape[1]} features, but {type(self).__name__} is "
                    f"expecting {self.n_features_in_} features as input."
                )
            params = {k: np.array(v, dtype=np.float64) for k, v in self._load_params().items()}
        else:
            # A copy, so that a RandomState instance given by the user is not advanced.
            rng = check_random_state(copy.deepcopy(self.random_state))
            params = objective.init_params(X.shape[1], n_outputs, rng, np.float64)
        return objective, params, X, _encode_targets(y_index, n_outputs, X.dtype), sample_weight

    # ----------------------------------------------------------- predicting
    def _logits(self, X):
        check_is_fitted(self)
        X = validate_data(
            self, X, reset=False, accept_sparse=_ACCEPTED_SPARSE, dtype=_ACCEPTED_DTYPES
        )
        link, _ = self._output_layer(len(self.classes_))
        return link, self._make_objective(link).logits(self._load_params(), X)

    def decision_function(self, X):
        """Output logits.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For two classes, a score whose sign picks ``classes_[1]`` when
            positive; otherwise one logit per class.
        """
        _, Z = self._logits(X)
        if Z.shape[1] == 1:
            return Z[:, 0]
        if Z.shape[1] == 2:
            return Z[:, 1] - Z[:, 0]
        return Z

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        scores = self.decision_function(X)
        indices = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
        return self.classes_[indices]

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Rows sum to one; columns follow ``classes_``.
        """
        link, Z = self._logits(X)
        return probabilities(link, Z)

    def predict_log_proba(self, X):
        """Log of the class probabilities, computed stably from the logits.

        Unlike ``np.log(predict_proba(X))`` it stays finite where a
        probability rounds to 0.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        link, Z = self._logits(X)
        return log_probabilities(link, Z)


def _check_labels_known(y, classes):
    unknown = np.setdiff1d(y, classes)
    if unknown.size:
        raise ValueError(f"y contains labels {unknown!r} that are not in classes {classes!r}.")


def _encode_targets(y_index, n_outputs, dtype):
    """Targets as the output layer sees them: one 0/1 column, or one-hot rows.

    Fortran order keeps each class's column contiguous, matching the network's
    transposed output layer, where the loss runs about twice as fast.
    """
    if n_outputs == 1:
        return (y_index == 1).astype(dtype)[:, None]
    Y = np.zeros((len(y_index), n_outputs), dtype=dtype, order="F")
    Y[np.arange(len(y_index)), y_index] = 1
    return Y


# Parameter documentation shared by every estimator's docstring.
SHARED_PARAMETER_DOCS = """\
max_iter : int, default={max_iter}
        Maximum number of epochs (passes over the data). With full batch, one
        epoch is one gradient step. With ``warm_start``, the number of *further*
        epochs.

    tol : float or None, default={tol}
        Stop when the monitored loss has not improved by at least ``tol`` for
        ``n_iter_no_change`` consecutive epochs. None disables stopping:
        exactly ``max_iter`` epochs are run.

    n_iter_no_change : int, default=10
        Patience of the ``tol`` rule, in epochs.

    alpha : float, default={alpha}
        L2 penalty: ``alpha / 2 * ||W||^2`` is added to the mean loss. Biases
        are never penalised.

    batch_size : int or None, default=None
        None trains on the full batch (the course's algorithm: one step per
        epoch); an int takes one step per mini-batch of that many rows.

    shuffle : bool, default=True
        Reshuffle the mini-batches every epoch (ignored for full batch).

    optimizer : {{'gd', 'momentum', 'adam'}}, default='{optimizer}'
        Plain gradient descent, heavy-ball momentum (``beta_1`` is the
        momentum), or Adam.

    beta_1 : float, default=0.9
        Momentum coefficient ('momentum'), or Adam's first-moment decay.

    beta_2 : float, default=0.999
        Adam's second-moment decay.

    epsilon : float, default=1e-8
        Adam's numerical-stability constant.

    early_stopping : bool, default=False
        Hold out a stratified ``validation_fraction`` of the training data,
        monitor the objective on it instead of the training loss, and keep the
        weights with the lowest validation loss.

    validation_fraction : float, default=0.1
        Share of the data held out when ``early_stopping`` is on.

    class_weight : dict, 'balanced' or None, default=None
        Weights multiplying ``sample_weight`` per class. 'balanced' makes each
        class weigh the same in total (computed from the weighted counts).

    warm_start : bool, default=False
        Continue from the fitted weights *and* the optimizer's state, so two
        warm fits of a and b epochs equal one fit of a + b epochs.

    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation, the shuffling and the validation split.

    verbose : int, default=0
        Print the loss and the elapsed time every ``verbose`` epochs, and a last
        line with the stop reason and the best loss (0: silent)."""

SHARED_ATTRIBUTE_DOCS = """\
classes_ : ndarray of shape (n_classes,)
        Class labels.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names, when X was a DataFrame with string column names.

    n_iter_ : int
        Number of epochs trained in all (warm starts and partial_fit calls
        included).

    loss_curve_ : list of float
        ``loss_curve_[k]`` is the mean training objective computed in the
        forward passes of epoch k; with full batch, the cost *before* update k.

    validation_loss_curve_ : list of float
        The objective on the validation split after each epoch (only when
        ``early_stopping`` is on).

    best_loss_ : float
        Lowest monitored loss (validation loss with ``early_stopping``).

    stop_reason_ : {'converged', 'max_iter', 'early_stopping', 'diverged', \
'callback', 'interrupted'}
        Why training stopped: 'callback' when a callback's ``on_fit_task_end``
        returned True, 'interrupted' on Ctrl-C (KeyboardInterrupt), which
        keeps the weights after the last complete epoch and warns instead of
        raising."""
