"""Estimator plumbing shared by every sknn classifier.

Input validation, label and weight handling, fit / partial_fit / warm start,
the fitted state and the prediction methods live here, once. A concrete
estimator supplies its model through the abstract hooks of
:class:`BaseGDClassifier` (each documented there):

- ``_output_layer(n_classes) -> (link, n_outputs)``;
- ``_make_objective(link)``: the objective the training loop optimises;
- ``_initial_learning_rate(objective, X, sample_weight) -> float``;
- ``_store_params(params)`` / ``_load_params()``: between the training dict
  of arrays and the public fitted attributes named in ``_weight_attributes``;
- ``_weight_attribute_shapes(param_shapes)``: the shapes of those attributes;
- optionally ``_training_objective(objective, X, n_outputs)``: an equivalent,
  cheaper parametrisation for a fresh full-batch fit.

Every method that trains is atomic: it validates everything before it
trains, trains on local state, and on any exception leaves the estimator's
attributes exactly as they were.
"""

import copy
import functools
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ._callbacks import CallbackSupportMixin, FitHooks
from ._compat import Interval, StrOptions, _check_sample_weight, _fit_context
from ._engine import TrainingLog, train
from ._functions import log_probabilities, probabilities
from ._optimizers import make_optimizer, map_parameter_state

_ACCEPTED_SPARSE = ["csr", "csc"]
_ACCEPTED_DTYPES = [np.float64, np.float32]

# Fitted attributes every estimator has, besides its weights; the optional
# ones exist only when the fit produced them.
_FITTED_ATTRIBUTES = ("classes_", "n_features_in_", "n_iter_", "loss_curve_", "best_loss_")
_FITTED_ATTRIBUTES += ("stop_reason_",)
_OPTIONAL_FITTED_ATTRIBUTES = ("feature_names_in_", "validation_loss_curve_")


# Set by scikit-learn's _fit_context around fit for the callbacks' teardown,
# which runs after the method returns or raises: a failed call must keep them.
_CALLBACK_BOOKKEEPING = ("_callback_fit_ctx", "_skl_callbacks_to_teardown")


def _atomic(method):
    """Restore the estimator's attributes if ``method`` raises.

    Training works on copies (parameters, optimizer state, random state), so
    restoring the attribute dict is enough to undo a failed call.
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        saved = dict(vars(self))
        try:
            return method(self, *args, **kwargs)
        except BaseException:
            state = vars(self)
            bookkeeping = {k: state[k] for k in _CALLBACK_BOOKKEEPING if k in state}
            state.clear()
            state.update(saved)
            state.update(bookkeeping)
            raise

    return wrapper


class _TrainingData:
    """Validated training data: X, class indices, effective weights and the classes.

    ``y`` and ``user_sample_weight`` are the labels and the weights as the user
    gave them (validated, rows of weight 0 dropped): what callbacks are shown.
    """

    def __init__(self, X, y, y_index, sample_weight, user_sample_weight, classes):
        self.X, self.y, self.y_index, self.classes = X, y, y_index, classes
        self.sample_weight, self.user_sample_weight = sample_weight, user_sample_weight


class BaseGDClassifier(CallbackSupportMixin, ClassifierMixin, BaseEstimator, metaclass=ABCMeta):
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
        "optimizer": [StrOptions({"gd", "momentum", "nesterov", "adam"})],
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

    # Names of the public attributes that hold the weights.
    _weight_attributes = ()

    # ------------------------------------------------------------- hooks
    @abstractmethod
    def _output_layer(self, n_classes):
        """``(link, n_outputs)``: the output link ('sigmoid' or 'softmax') and its width."""

    @abstractmethod
    def _make_objective(self, link):
        """The objective (see :mod:`sknn._engine`) of this model under ``link``."""

    @abstractmethod
    def _initial_learning_rate(self, objective, X, sample_weight):
        """The optimizer's learning rate for this fit, as a Python float."""

    @abstractmethod
    def _store_params(self, params):
        """Set the public weight attributes from the training dict of arrays."""

    @abstractmethod
    def _load_params(self):
        """The training dict of arrays, from the public weight attributes."""

    @abstractmethod
    def _weight_attribute_shapes(self, param_shapes):
        """Shapes of the ``_weight_attributes`` given the training parameters' shapes."""

    def _training_objective(self, objective, X, n_outputs):
        """The objective a fresh full-batch fit trains; subclasses may reparametrise."""
        return objective

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    @_atomic
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
        warm = self.warm_start and _is_fitted(self)
        data = self._prepare(X, y, sample_weight, reset=not warm)
        if warm and not np.array_equal(data.classes, self.classes_):
            raise ValueError(
                "warm_start can only be used where `y` has the same classes as in "
                f"the previous call to fit. Previously got {self.classes_}, "
                f"`y` has {data.classes}."
            )
        return self._train(data, continue_training=warm, incremental=False)

    @_fit_context(prefer_skip_nested_validation=True)
    @_atomic
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
        Each call runs one epoch with no stopping rule. ``early_stopping=True``
        is refused (a validation split of one chunk would not be a held-out
        set), as are ``class_weight='balanced'``, which needs the whole target.
        """
        first_call = not _is_fitted(self)
        if first_call and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if self.class_weight == "balanced":
            raise ValueError(
                "class_weight='balanced' is not supported by partial_fit: it needs "
                "the class frequencies of the whole data. Compute them once with "
                "sklearn.utils.class_weight.compute_class_weight('balanced', ...) "
                "and pass them as a dict."
            )
        if self.early_stopping:
            raise ValueError(
                "partial_fit does not support early_stopping=True: each call sees one "
                "chunk, so no validation split is held out. Use fit, or monitor a "
                "held-out set yourself between partial_fit calls."
            )
        if first_call:
            all_classes = np.unique(np.asarray(classes))
            _check_at_least_two(all_classes)
        else:
            all_classes = self.classes_
            if classes is not None and not np.array_equal(
                np.unique(np.asarray(classes)), self.classes_
            ):
                raise ValueError(
                    f"`classes={classes!r}` is not the same as on the first call "
                    f"to partial_fit, which was {self.classes_!r}."
                )
        data = self._prepare(X, y, sample_weight, reset=first_call, known_classes=all_classes)
        return self._train(data, continue_training=not first_call, incremental=True)

    def _train(self, data, *, continue_training, incremental, objective_wrapper=None):
        """Run the shared training loop on local state, then commit what it leaves behind.

        ``incremental`` (partial_fit) runs one epoch with no stopping rule and
        no validation split.

        ``objective_wrapper``, when given, is called as ``objective_wrapper(objective,
        n_outputs)`` with the model's objective and returns the objective that is
        trained instead: one that evaluates on data of its own, such as the blocks
        Dask workers hold (:func:`sknn.distributed.fit_dask`). ``data.X`` then only
        supplies ``shape`` and ``dtype``, ``data.y_index`` is not encoded (the
        wrapper holds the targets), the fit is full batch, not reparametrised and
        has no validation split.
        """
        X, sample_weight = data.X, data.sample_weight
        link, n_outputs = self._output_layer(len(data.classes))
        objective = self._make_objective(link)
        # A wrapped objective holds its own targets: the loop only passes Y on.
        Y = None
        if objective_wrapper is None:
            Y = _encode_targets(data.y_index, n_outputs, X.dtype)
        if continue_training:
            rng = _random_state_from(self._rng_state)
            log = self._training_log()
        else:
            rng = check_random_state(self.random_state)
            log = TrainingLog()

        validation = None
        if self.early_stopping and not incremental:
            X, Y, sample_weight, validation = self._split_validation(
                X, Y, data.y_index, sample_weight, rng
            )

        training_objective = objective
        if continue_training:
            params = {k: np.array(v, dtype=X.dtype) for k, v in self._load_params().items()}
        else:
            if not incremental and validation is None and objective_wrapper is None:
                # A fresh full fit may run on an equivalent, cheaper parametrisation.
                training_objective = self._training_objective(objective, X, n_outputs)
            params = training_objective.init_params(X.shape[1], n_outputs, rng, X.dtype)

        evaluated = training_objective
        if objective_wrapper is not None:
            evaluated = objective_wrapper(training_objective, n_outputs)
        optimizer = self._make_optimizer(evaluated, X, sample_weight)
        if continue_training:
            optimizer.set_state(self._continued_optimizer_state(X.dtype))
        hooks = FitHooks(
            self,
            data.X,
            data.y,
            data.user_sample_weight,
            classes=data.classes,
            log=log,
            verbose=self.verbose,
            model_params=(
                None if training_objective is objective else training_objective.to_model_params
            ),
        )
        hooks.begin(1 if incremental else self.max_iter, "partial_fit" if incremental else "fit")
        stop_reason = train(
            evaluated,
            params,
            optimizer,
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
        optimizer_state = optimizer.get_state()
        if training_objective is not objective:
            params = training_objective.to_model_params(params)
            optimizer_state = map_parameter_state(
                optimizer_state, training_objective.to_model_params
            )

        # Commit: nothing above has touched the estimator's attributes.
        self.classes_ = data.classes
        self._store_params(params)
        self._optimizer_state = {"name": self.optimizer, "state": optimizer_state}
        self._rng_state = rng.get_state(legacy=False)
        self.stop_reason_ = stop_reason
        self.loss_curve_ = log.loss_curve
        if log.validation_loss_curve:
            self.validation_loss_curve_ = log.validation_loss_curve
        elif hasattr(self, "validation_loss_curve_"):
            del self.validation_loss_curve_  # left by an earlier fit with early stopping
        self.best_loss_ = log.best_loss
        self.n_iter_ = len(log.loss_curve)
        hooks.end(stop_reason, self.best_loss_)
        return self

    def _make_optimizer(self, objective, X, sample_weight):
        full_batch = self.batch_size is None or self.batch_size >= X.shape[0]
        return make_optimizer(
            self.optimizer,
            self._initial_learning_rate(objective, X, sample_weight),
            self.beta_1,
            self.beta_2,
            self.epsilon,
            full_batch=full_batch,
            line_search=self.learning_rate == "auto",
        )

    def _continued_optimizer_state(self, dtype):
        """A private copy of the last fit's optimizer state, if it used the same optimizer."""
        previous = getattr(self, "_optimizer_state", None)
        if previous is None or previous["name"] != self.optimizer:
            return {}
        return map_parameter_state(
            previous["state"],
            lambda arrays: {name: np.array(a, dtype=dtype) for name, a in arrays.items()},
        )

    # ------------------------------------------------------------- helpers
    def _prepare(self, X, y, sample_weight, *, reset, known_classes=None, dtype=None):
        """The one data-preparation path of fit, partial_fit and check_gradient.

        Validates X and y (``reset`` as in ``validate_data``), the labels
        (against ``known_classes`` when given, else at least two of them) and
        the weights; rows of weight 0 are dropped, as if absent.
        """
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=_ACCEPTED_SPARSE,
            dtype=_ACCEPTED_DTYPES if dtype is None else dtype,
            reset=reset,
        )
        check_classification_targets(y)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=X.dtype, ensure_non_negative=True
            )
            keep = sample_weight > 0
            if not keep.all():
                X, y, sample_weight = X[keep], y[keep], sample_weight[keep]
        if known_classes is None:
            classes = np.unique(y)
            _check_at_least_two(classes)
        else:
            classes = known_classes
            _check_labels_known(y, classes)
        y_index = np.searchsorted(classes, y)
        effective_weight = self._effective_weights(classes, y_index, sample_weight, X.dtype)
        _check_total_weight(effective_weight, X.shape[0])
        return _TrainingData(X, y, y_index, effective_weight, sample_weight, classes)

    def _effective_weights(self, classes, y_index, sample_weight, dtype):
        """Sample weights times class weights; None when all would be one."""
        if self.class_weight is None:
            return sample_weight
        base = np.ones(len(y_index), dtype=dtype) if sample_weight is None else sample_weight
        # Weighted class totals, so that weight k still equals k repeated rows.
        totals = np.bincount(y_index, weights=base, minlength=len(classes))
        per_class = self._class_weights(classes, totals, base.sum())
        return base * per_class.astype(dtype)[y_index]

    def _class_weights(self, classes, class_totals, total_weight):
        """The float64 factor of each class (``class_weight`` not None).

        ``class_totals`` are the sample-weight sums of the classes and
        ``total_weight`` theirs; only 'balanced' uses them. Split from
        :meth:`_effective_weights` for data whose totals are summed elsewhere
        (over the blocks of a Dask array).
        """
        n_classes = len(classes)
        if self.class_weight == "balanced":
            present = class_totals > 0
            per_class = np.ones(n_classes)
            per_class[present] = total_weight / (present.sum() * class_totals[present])
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
        return per_class

    def _split_validation(self, X, Y, y_index, sample_weight, rng):
        """Hold out a stratified ``validation_fraction`` of the rows.

        Both parts keep the rows in their original order: the split chooses
        rows, it does not reorder them (which ``shuffle=False`` relies on).
        """
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
        train_rows, val_rows = np.sort(train_rows), np.sort(val_rows)
        sw_train = sw_val = None
        if sample_weight is not None:
            sw_train, sw_val = sample_weight[train_rows], sample_weight[val_rows]
            _check_total_weight(sw_train, len(train_rows))
            _check_total_weight(sw_val, len(val_rows))
        validation = (X[val_rows], Y[val_rows], sw_val)
        return X[train_rows], Y[train_rows], sw_train, validation

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
        fitted = _is_fitted(self)
        saved = dict(vars(self))
        try:
            data = self._prepare(
                X,
                y,
                sample_weight,
                reset=not fitted,
                known_classes=self.classes_ if fitted else None,
                dtype=np.float64,
            )
        finally:
            vars(self).clear()
            vars(self).update(saved)
        link, n_outputs = self._output_layer(len(data.classes))
        objective = self._make_objective(link)
        if fitted:
            params = {k: np.array(v, dtype=np.float64) for k, v in self._load_params().items()}
        else:
            # A copy, so that a RandomState instance given by the user is not advanced.
            rng = check_random_state(copy.deepcopy(self.random_state))
            params = objective.init_params(data.X.shape[1], n_outputs, rng, np.float64)
        Y = _encode_targets(data.y_index, n_outputs, np.float64)
        return objective, params, data.X, Y, data.sample_weight

    # --------------------------------------------------------- fitted state
    def _get_state(self):
        """Everything a fit left behind, as plain data.

        Returns
        -------
        state : dict
            ``attributes``: the public fitted attributes by name (arrays,
            numbers, strings, lists of arrays); ``optimizer``: ``{"name": str,
            "state": dict}``, the optimizer's state (numbers and dicts of
            arrays keyed like the training parameters); ``rng``: the training
            random generator's state as ``RandomState.get_state(legacy=False)``
            gives it. :meth:`_set_state` takes the same dict back.
        """
        check_is_fitted(self)
        names = _FITTED_ATTRIBUTES + self._weight_attributes + _OPTIONAL_FITTED_ATTRIBUTES
        return {
            "attributes": {name: getattr(self, name) for name in names if hasattr(self, name)},
            "optimizer": self._optimizer_state,
            "rng": self._rng_state,
        }

    def _set_state(self, state):
        """Restore what :meth:`_get_state` returned (already validated by the caller)."""
        for name, value in state["attributes"].items():
            setattr(self, name, value)
        self._optimizer_state = state["optimizer"]
        self._rng_state = state["rng"]

    def _state_schema(self, n_features, n_classes):
        """Shapes a valid state must have, for a reader that checks before it reads.

        Returns
        -------
        schema : dict
            ``weights``: shape (or list of shapes) of each weight attribute;
            ``parameters``: shape of each training parameter, which is also
            the shape of each array in the optimizer state's dicts.
        """
        link, n_outputs = self._output_layer(n_classes)
        param_shapes = self._make_objective(link).param_shapes(n_features, n_outputs)
        return {
            "weights": self._weight_attribute_shapes(param_shapes),
            "parameters": param_shapes,
        }

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
            Labels from ``classes_``: the class of highest probability.
        """
        link, Z = self._logits(X)
        if Z.shape[1] == 1:
            indices = (Z[:, 0] > 0).astype(int)
        elif Z.shape[1] == 2 and link == "softmax":
            indices = (Z[:, 1] - Z[:, 0] > 0).astype(int)
        else:
            # The argmax of the log-probabilities, which is that of
            # predict_proba also where probabilities tie after rounding.
            indices = log_probabilities(link, Z).argmax(axis=1)
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


def _is_fitted(estimator):
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        return False
    return True


def _random_state_from(state):
    """A RandomState continuing from a state that ``get_state(legacy=False)`` returned."""
    rng = np.random.RandomState(0)
    rng.set_state(copy.deepcopy(state))
    return rng


def _check_at_least_two(classes):
    if len(classes) < 2:
        raise ValueError(
            "This solver needs samples of at least 2 classes in the data, but "
            f"the data contains only one class: {classes[0]!r}."
        )


def _check_labels_known(y, classes):
    unknown = np.setdiff1d(y, classes)
    if unknown.size:
        raise ValueError(f"y contains labels {unknown!r} that are not in classes {classes!r}.")


def _check_total_weight(sample_weight, n_samples):
    """Refuse weights that cannot be normalised: all zero, or a sum that overflows."""
    if n_samples == 0:
        raise ValueError("No samples with a positive weight are left to train on.")
    if sample_weight is None:
        return
    with np.errstate(over="ignore"):
        total = sample_weight.sum()  # in the training dtype, where the loss will sum them
    if not np.isfinite(total):
        raise ValueError(
            "The sample weights (times class weights) sum to more than the largest "
            "float: rescale them, only their ratios matter."
        )
    if total <= 0:
        raise ValueError(
            "Every sample has weight 0 once class weights are applied: nothing to "
            "train on. Check sample_weight and class_weight."
        )


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
