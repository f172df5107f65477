"""Estimator plumbing shared by every sknn classifier.

fit / partial_fit / warm start and the training of every estimator live
here, once, with the data preparation (:mod:`sknn._preparation`), the fitted
state (:mod:`sknn._state`) and the predictions (:mod:`sknn._predict`) mixed in. A concrete
estimator supplies its model through the abstract hooks of
:class:`BaseGDClassifier` (each documented there):

- ``_output_layer(n_classes) -> (link, n_outputs)``;
- ``_make_objective(link)``: the objective the training loop optimises;
- ``_initial_learning_rate(objective, X, sample_weight, optimizer) -> float``
  (``optimizer``: the optimizer's name, 'auto' resolved);
- ``_store_params(params)`` / ``_load_params()``: between the training dict
  of arrays and the public fitted attributes named in ``_weight_attributes``;
- ``_weight_attribute_shapes(param_shapes)``: the shapes of those attributes;
- optionally ``_training_objective(objective, X, n_outputs)``: an equivalent,
  cheaper parametrisation for a fresh full-batch fit (with ``to_model_params``,
  and ``targets(Y)`` where it trains on targets of its own);
- ``_supports_multilabel``: True where a multilabel indicator ``y`` is
  trained as independent sigmoid units (see ``_output_layer_of``).

Every method that trains is atomic: it validates everything before it
trains, trains on local state, and on any exception leaves the estimator's
attributes exactly as they were.
"""

import copy
import functools
import inspect
import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real
from typing import TypeVar

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._compat import Interval, StrOptions, _fit_context
from .._core.array_ops import array_ops
from .._core.loop import TrainingLog, train
from .._core.optimizers import OPTIMIZER_HYPERPARAMETERS, make_optimizer, map_parameter_state
from .callbacks import CallbackSupportMixin, FitHooks, user_stacklevel
from .predict import PredictionsMixin
from .preparation import (
    DataPreparationMixin,
    _check_at_least_two,
    _encode_targets,
    _host,
    scaling_advice,
)
from .state import FittedStateMixin, _is_fitted, _random_state_from

# The estimator a fitting method returns (itself); typing.Self needs Python 3.11.
Self = TypeVar("Self", bound="BaseGDClassifier")

# Set by scikit-learn's _fit_context around fit for the callbacks' teardown,
# which runs after the method returns or raises: a failed call must keep them.
_CALLBACK_BOOKKEEPING = ("_callback_fit_ctx", "_skl_callbacks_to_teardown")


def _same_array(a, b):
    """Whether two arrays of one namespace hold the same values in the same shape."""
    if type(a) is not type(b) or tuple(a.shape) != tuple(b.shape):
        return False
    ops = array_ops(a)
    return bool(ops.xp.all(a == b))


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


class BaseGDClassifier(
    DataPreparationMixin,
    FittedStateMixin,
    PredictionsMixin,
    CallbackSupportMixin,
    ClassifierMixin,
    BaseEstimator,
    metaclass=ABCMeta,
):
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
        "optimizer": [StrOptions({"auto", "gd", "momentum", "nesterov", "adam"})],
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

    # What optimizer='auto' means on the full batch and on mini-batches when
    # learning_rate is 'auto' (a number means 'gd', see _optimizer_name).
    _AUTO_OPTIMIZERS = ("nesterov", "nesterov")

    # Full batch: whether tol is the relative gradient test (convex objectives)
    # or the loss-improvement rule (see sknn._engine.train).
    _gradient_test = True

    # Whether a multilabel indicator y is accepted (and the tag says so).
    _supports_multilabel = False

    # ------------------------------------------------------------- hooks
    @abstractmethod
    def _output_layer(self, n_classes):
        """``(link, n_outputs)``: the output link ('sigmoid' or 'softmax') and its width."""

    @abstractmethod
    def _make_objective(self, link):
        """The objective (see :mod:`sknn._engine`) of this model under ``link``."""

    @abstractmethod
    def _initial_learning_rate(self, objective, X, sample_weight, optimizer):
        """The learning rate of ``optimizer`` (a name) for this fit, as a Python float."""

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

    def _output_layer_of(self, n_classes, multilabel):
        """``_output_layer``, or for a multilabel y of ``n_classes`` labels its own layer.

        Multilabel is always one independent sigmoid unit per label (even for
        two labels, and for the network, whose single-label layer is a
        softmax): with the summed binary log-loss, the multilabel loss.
        """
        if multilabel:
            return "sigmoid", n_classes
        return self._output_layer(n_classes)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.array_api_support = True
        tags.classifier_tags.multi_label = self._supports_multilabel
        return tags

    @property
    def multilabel_(self):
        """Whether the estimator was fitted on a multilabel indicator ``y``.

        As ``OneVsRestClassifier.multilabel_`` (which skl2onnx reads too).
        """
        check_is_fitted(self)
        return self._fitted_multilabel()

    def _fitted_multilabel(self):
        # Absent from estimators fitted or saved before multilabel existed.
        return getattr(self, "_multilabel", False)

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    @_atomic
    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> Self:
        """Train by gradient descent for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. float32 data is trained in float32; CSR and CSC
            matrices are used as they are, never densified.
        y : array-like of shape (n_samples,), or (n_samples, n_labels) indicator
            Class labels (numbers, strings or any sortable objects). Estimators
            whose tags say ``multi_label`` also take a multilabel indicator
            matrix (dense or sparse, 0/1 or bool, one column per label, as
            ``MultiLabelBinarizer`` makes it): each label is then an
            independent sigmoid unit with the binary log-loss, summed over the
            labels. A column that is constant is fine (a bias learns it).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; a weight of k counts as k repeated rows and
            0 drops the row.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        warm = self.warm_start and _is_fitted(self)
        if warm:
            self._check_continuable("fit with warm_start=True")
        data = self._prepare(X, y, sample_weight, reset=not warm)
        if warm:
            self._check_target_kind(data, "warm_start")
        if warm and not np.array_equal(data.classes, self._host_classes()):
            raise ValueError(
                "warm_start can only be used where `y` has the same classes as in "
                f"the previous call to fit. Previously got {self.classes_}, "
                f"`y` has {data.classes}."
            )
        return self._train(data, continue_training=warm, incremental=False)

    @_fit_context(prefer_skip_nested_validation=True)
    @_atomic
    def partial_fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        classes: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
    ) -> Self:
        """Train for one epoch on the given data, continuing from the current state.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A chunk of training data.
        y : array-like of shape (n_samples,), or (n_samples, n_labels) indicator
            Its labels, or its multilabel indicator matrix (as in :meth:`fit`).
        classes : array-like of shape (n_classes,), default=None
            Every class that can appear in any chunk. Required on the first
            call, ignored (but checked) afterwards. For a multilabel indicator
            y, as for ``MLPClassifier``: the label (column) indices,
            ``np.arange(n_labels)``; every chunk then has those columns.
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
        Where ``optimizer='auto'`` is offered, it resolves here as on
        mini-batches (the linear models: 'nesterov'): the chunks of successive
        calls are different data, not one function to minimise.
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
            all_classes = np.unique(np.asarray(_host(classes)))
            _check_at_least_two(all_classes)
        else:
            self._check_continuable("partial_fit")
            all_classes = self._host_classes()
            if classes is not None and not np.array_equal(
                np.unique(np.asarray(_host(classes))), all_classes
            ):
                raise ValueError(
                    f"`classes={classes!r}` is not the same as on the first call "
                    f"to partial_fit, which was {self.classes_!r}."
                )
        data = self._prepare(X, y, sample_weight, reset=first_call, known_classes=all_classes)
        if not first_call:
            self._check_target_kind(data, "partial_fit")
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
        link, n_outputs = self._output_layer_of(len(data.classes), data.multilabel)
        objective = self._make_objective(link)
        # A wrapped objective holds its own targets: the loop only passes Y on.
        Y = None
        if objective_wrapper is None:
            Y = _encode_targets(data.y_index, n_outputs, X)
        # Set before training, not at the commit below: the epoch models that
        # scikit-learn's callbacks get are copies of this estimator made during
        # training, and must predict as this fit does. A call that raises
        # restores it (_atomic).
        self._multilabel = data.multilabel
        if continue_training and hasattr(self, "_rng_state"):
            rng = _random_state_from(self._rng_state)
        else:
            rng = check_random_state(self.random_state)
        if continue_training:
            log = self._training_log()
        else:
            log = TrainingLog()

        validation = None
        if self.early_stopping and not incremental:
            # A multilabel row has no single class to stratify by: a plain
            # random split (as MLPClassifier does).
            strata = None if data.multilabel else data.y_index
            X, Y, sample_weight, validation = self._split_validation(
                X, Y, strata, sample_weight, rng
            )

        training_objective = objective
        ops = array_ops(X)
        if continue_training:
            params = self._continued(self._load_params(), X, objective)
        else:
            if not incremental and validation is None and objective_wrapper is None:
                # A fresh full fit may run on an equivalent, cheaper parametrisation.
                training_objective = self._training_objective(objective, X, n_outputs)
                # It may train on targets of its own (one column of two, say).
                if hasattr(training_objective, "targets"):
                    Y = training_objective.targets(Y)
            # Drawn by NumPy's generator in every namespace: the same seed gives
            # the same initial weights on any array library and device.
            params = training_objective.init_params(
                X.shape[1], n_outputs, rng, ops.numpy_dtype(X.dtype)
            )
            params = {name: ops.asarray(p, like=X) for name, p in params.items()}

        evaluated = training_objective
        if objective_wrapper is not None:
            evaluated = objective_wrapper(training_objective, n_outputs)
        optimizer = self._make_optimizer(evaluated, X, sample_weight, incremental)
        if continue_training:
            optimizer.set_state(self._continued_optimizer_state(X, objective, incremental))
        classes = data.classes
        if not ops.is_numpy and classes.dtype.kind in "biuf":
            # In X's namespace, as the weights: predict then returns labels there
            # (labels that are strings stay a NumPy array).
            classes = ops.asarray(classes, like=X)
        hooks = FitHooks(
            self,
            data.X,
            data.y,
            data.user_sample_weight,
            classes=classes,
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
            gradient_test=self._gradient_test,
            slow_data_advice=lambda: scaling_advice(X),
        )
        optimizer_state = optimizer.get_state()
        if training_objective is not objective:
            params = training_objective.to_model_params(params)
            optimizer_state = map_parameter_state(
                optimizer_state,
                training_objective.to_model_params,
                getattr(training_objective, "to_model_params_all", None),
            )

        # Commit: nothing above has touched the estimator's attributes.
        self.classes_ = classes
        self._store_params(params)
        self._commit_weights()
        self._optimizer_state = {
            "name": self._optimizer_name(X, incremental),
            "state": optimizer_state,
        }
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

    def _commit_weights(self):
        """Remember the weights the optimizer state belongs to (see _weights_are_committed)."""
        params = self._load_params()
        ops = array_ops(*params.values())
        self._committed_weights = {name: ops.copy(p) for name, p in params.items()}

    def _weights_are_committed(self):
        """Whether the public weights are still those the last fit (or load) left."""
        committed = getattr(self, "_committed_weights", None)
        if committed is None:
            return False
        params = self._load_params()
        return (
            all(_same_array(params[name], committed[name]) for name in committed)
            and committed.keys() == params.keys()
        )

    def _optimizer_name(self, X, incremental=False):
        """The optimizer of a fit on ``X``: ``optimizer``, with 'auto' resolved.

        'auto' is 'gd' when ``learning_rate`` is a number: plain gradient
        descent at the rate the user gave (on the full batch, the course's
        algorithm). Otherwise it is ``_AUTO_OPTIMIZERS[0]`` on the full batch
        and ``_AUTO_OPTIMIZERS[1]`` on mini-batches and in ``partial_fit``
        (``incremental``), whose X is one batch of a stream: the batches of
        successive calls are different functions, which an optimizer for one
        (L-BFGS, conjugate gradient) must not take for one.
        """
        if self.optimizer != "auto":
            return self.optimizer
        if not isinstance(self.learning_rate, str):
            return "gd"
        full_batch = self.batch_size is None or self.batch_size >= X.shape[0]
        return self._AUTO_OPTIMIZERS[0 if full_batch and not incremental else 1]

    def _warn_ignored_hyperparameters(self, optimizer, full_batch):
        """Warn once per call about optimizer hyperparameters that ``optimizer`` does not use."""
        used = set(OPTIMIZER_HYPERPARAMETERS[optimizer])
        if optimizer == "nesterov" and full_batch:
            used.discard("beta_1")  # FISTA's own momentum sequence
        defaults = inspect.signature(type(self).__init__).parameters
        ignored = [
            f"{name}={getattr(self, name)!r}"
            for name in ("learning_rate", "beta_1", "beta_2", "epsilon")
            if name not in used and getattr(self, name) != defaults[name].default
        ]
        if not ignored:
            return
        resolved = "" if self.optimizer == optimizer else " (optimizer='auto' here)"
        warnings.warn(
            f"{type(self).__name__}: optimizer={optimizer!r}{resolved} does not use "
            f"{', '.join(ignored)}. 'lbfgs' and 'cg' find their steps by line search "
            "(no learning_rate); beta_1 is used by 'momentum', 'adam' and mini-batch "
            "'nesterov'; beta_2 and epsilon by 'adam' only.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )

    def _make_optimizer(self, objective, X, sample_weight, incremental):
        full_batch = self.batch_size is None or self.batch_size >= X.shape[0]
        name = self._optimizer_name(X, incremental)
        self._warn_ignored_hyperparameters(name, full_batch)
        return make_optimizer(
            name,
            self._initial_learning_rate(objective, X, sample_weight, name),
            self.beta_1,
            self.beta_2,
            self.epsilon,
            full_batch=full_batch,
            line_search=self.learning_rate == "auto",
            preconditioner=(
                objective.preconditioner(X, sample_weight)
                if name in ("cg", "lbfgs") and full_batch and hasattr(objective, "preconditioner")
                else None
            ),
        )

    def _continued_optimizer_state(self, X, objective, incremental):
        """A private copy of the last fit's optimizer state, if it still belongs to the weights.

        It does when the fit used the same optimizer and the weights are those
        it left (not set or edited by hand since): the public weights are the
        model, and a state describing other weights is dropped.
        """
        previous = getattr(self, "_optimizer_state", None)
        if previous is None or previous["name"] != self._optimizer_name(X, incremental):
            return {}
        if not self._weights_are_committed():
            return {}
        return map_parameter_state(
            previous["state"], lambda arrays: self._continued(arrays, X, objective)
        )

    @staticmethod
    def _continued(arrays, X, objective):
        """Private copies of a dict of arrays keyed like the parameters, to train on ``X``.

        In the dtype, namespace and device of ``X``, and in the memory layout
        a fresh fit's ``objective.init_params`` gives each parameter (its
        ``fortran_ordered`` names; the rest C-ordered): a BLAS product's
        rounding can depend on its operands' layout, and a continued fit (of
        weights loaded from a file, say) must take the steps one
        uninterrupted fit would.
        """
        ops = array_ops(X)
        fortran = getattr(objective, "fortran_ordered", ())
        return {
            name: ops.copy(
                ops.asarray(a, like=X), dtype=X.dtype, order="F" if name in fortran else "C"
            )
            for name, a in arrays.items()
        }

    def _host_classes(self):
        """``classes_`` as a NumPy array (it is in the namespace of the training X)."""
        return _host(self.classes_)

    def _check_continuable(self, method):
        """Refuse to continue from weights that are incomplete or do not fit together.

        A fitted estimator always passes. Weights set by hand (as scikit-learn's
        ``LogisticRegression`` and ``MLPClassifier`` allow) need the weight
        attributes, ``classes_`` and ``n_features_in_``, of matching shapes;
        the rest of a fit's state (loss curve, optimizer state, random state)
        then starts afresh.
        """
        name = type(self).__name__
        required = (*self._weight_attributes, "classes_", "n_features_in_")
        missing = [attribute for attribute in required if not hasattr(self, attribute)]
        if missing:
            raise ValueError(
                f"{method} continues from this {name}'s weights, but it has no "
                f"{', '.join(missing)}. To start from weights set by hand, set all of "
                f"{', '.join(required)}; otherwise fit a new estimator (warm_start=False)."
            )
        classes = np.asarray(self._host_classes())
        if classes.ndim != 1 or len(classes) < 2 or not np.array_equal(np.unique(classes), classes):
            raise ValueError(
                f"{name}.classes_ must be a 1-D array of at least 2 sorted, unique labels "
                f"to continue training; got {self.classes_!r}."
            )
        n_features = self.n_features_in_
        if not isinstance(n_features, (int, np.integer)) or n_features < 1:
            raise ValueError(f"{name}.n_features_in_ must be a positive int; got {n_features!r}.")
        expected = self._state_schema(n_features, len(classes), self._fitted_multilabel())
        for attribute, shape in expected["weights"].items():
            value = getattr(self, attribute)
            arrays = list(value) if isinstance(value, (list, tuple)) else [value]
            if not all(hasattr(array, "shape") and hasattr(array, "dtype") for array in arrays):
                raise ValueError(
                    f"{name}.{attribute} must hold arrays (NumPy's, or of the namespace "
                    f"the estimator trains in) for {method}; got {type(value).__name__}."
                )
            wanted = [tuple(s) for s in shape] if isinstance(shape, list) else [tuple(shape)]
            got = [tuple(array.shape) for array in arrays]
            if got != wanted:
                raise ValueError(
                    f"{name}.{attribute} has shape(s) {got}, but {n_features} features and "
                    f"{len(classes)} classes need {wanted}: {method} continues from these "
                    "weights. Set weights of the right shapes, or fit a new estimator."
                )
            if not all(array_ops(array).all_finite(array) for array in arrays):
                raise ValueError(f"{name}.{attribute} holds NaN or infinite values.")

    def _training_log(self):
        """The log a continued fit appends to (empty for weights set by hand)."""
        log = TrainingLog()
        log.loss_curve = list(getattr(self, "loss_curve_", []))
        log.validation_loss_curve = list(getattr(self, "validation_loss_curve_", []))
        log.best_loss = getattr(self, "best_loss_", np.inf)
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
                known_classes=self._host_classes() if fitted else None,
                dtype=np.float64,
            )
        finally:
            vars(self).clear()
            vars(self).update(saved)
        if fitted:
            self._check_target_kind(data, "check_gradient on a fitted estimator")
        link, n_outputs = self._output_layer_of(len(data.classes), data.multilabel)
        objective = self._make_objective(link)
        if fitted:
            params = {k: np.array(v, dtype=np.float64) for k, v in self._load_params().items()}
        else:
            # A copy, so that a RandomState instance given by the user is not advanced.
            rng = check_random_state(copy.deepcopy(self.random_state))
            params = objective.init_params(data.X.shape[1], n_outputs, rng, np.float64)
        Y = _encode_targets(data.y_index, n_outputs, data.X)
        return objective, params, data.X, Y, data.sample_weight
