"""The base class of the three estimators: their hyperparameters, fit and partial_fit.

A concrete estimator supplies its model through the abstract hooks of
:class:`BaseGDClassifier` (each documented there): ``_output_layer``,
``_make_objective`` (an :class:`~sknn._core.protocols.Objective`),
``_initial_learning_rate``, ``_store_params`` / ``_load_params`` between the
training dict of arrays and the public weight attributes named in
``_weight_attributes``, and ``_weight_attribute_shapes``. Training itself is
:mod:`sknn._estimator.training`; data, fitted state and predictions are the
mixins of :mod:`~sknn._estimator.preparation`, :mod:`~sknn._estimator.state`
and :mod:`~sknn._estimator.predict`.

Every method that trains is atomic: it validates everything before it
trains, trains on local state, and on any exception leaves the estimator's
attributes exactly as they were.
"""

import copy
import functools
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
from .._core.optimizers import OPTIMIZERS
from .callbacks import CallbackSupportMixin
from .predict import PredictionsMixin
from .preparation import DataPreparationMixin, check_at_least_two, encode_targets, host
from .state import FittedStateMixin, is_fitted
from .training import TrainingMixin

# The estimator a fitting method returns (itself); typing.Self needs Python 3.11.
Self = TypeVar("Self", bound="BaseGDClassifier")

# Set by scikit-learn's _fit_context around fit for the callbacks' teardown,
# which runs after the method returns or raises: a failed call must keep them.
_CALLBACK_BOOKKEEPING = ("_callback_fit_ctx", "_skl_callbacks_to_teardown")


def atomic(method):
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
    TrainingMixin,
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
        "optimizer": [StrOptions({"auto", *OPTIMIZERS})],
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

    # Full batch: the stopping rule of tol, 'gradient' (the relative gradient
    # test, for convex objectives) or 'flat' (see sknn._core.loop).
    _full_batch_rule = "gradient"

    # Whether a multilabel indicator y is accepted (and the tag says so).
    _supports_multilabel = False

    # ------------------------------------------------------------- hooks
    @abstractmethod
    def _output_layer(self, n_classes):
        """``(link, n_outputs)``: the output link ('sigmoid' or 'softmax') and its width."""

    @abstractmethod
    def _make_objective(self, link):
        """The objective (see :mod:`sknn._core.protocols`) of this model under ``link``."""

    @abstractmethod
    def _initial_learning_rate(self, problem, optimizer, full_batch):
        """The learning rate of ``optimizer`` (a name) for a fit on ``problem``, a float."""

    @abstractmethod
    def _store_params(self, params):
        """Set the public weight attributes from the training dict of arrays."""

    @abstractmethod
    def _load_params(self):
        """The training dict of arrays, from the public weight attributes."""

    @abstractmethod
    def _weight_attribute_shapes(self, param_shapes):
        """Shapes of the ``_weight_attributes`` given the training parameters' shapes."""

    def _training_objective(self, objective, X, sample_weight, optimizer):
        """The objective a fit with ``optimizer`` trains (the linear models may centre)."""
        return objective

    def _row_space_basis(self, X, n_outputs, optimizer):
        """Cheaper, equivalent coordinates for a fresh full-batch fit, or None."""
        return None

    def _output_layer_of(self, n_classes, multilabel):
        """``_output_layer``, or for a multilabel y of ``n_classes`` labels its own layer.

        One sigmoid unit per label, even for two labels and for the network.
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
    # atomic outside _fit_context: a raise in the callbacks' teardown, which
    # _fit_context runs, restores the estimator too.
    @atomic
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> Self:
        """Train by gradient descent for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. float32 data is trained in float32; CSR and CSC
            matrices are used as they are, never densified.
        y : array-like of shape (n_samples,), or (n_samples, n_labels) indicator
            Class labels (numbers, strings or any sortable objects), or, for
            the estimators whose tags say ``multi_label``, a multilabel
            indicator matrix (dense or sparse, 0/1 or bool, one column per
            label; a constant column is fine). See :ref:`multilabel`.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; a weight of k counts as k repeated rows and
            0 drops the row.

        Returns
        -------
        object
            The fitted estimator.
        """
        warm = self.warm_start and is_fitted(self)
        if warm:
            self._check_continuable("fit with warm_start=True")
        data = self._prepare(X, y, sample_weight, reset=not warm)
        if warm:
            self._check_target_kind(data.multilabel, "warm_start")
            self._check_warm_classes(data.classes)
        return self._train(data, continue_training=warm, incremental=False)

    @atomic
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        classes: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
    ) -> Self:
        """Train for one epoch on the given data, continuing from the current state.

        Each call runs one epoch with no stopping rule. Read more in the
        :ref:`User Guide <training>`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A chunk of training data.
        y : array-like of shape (n_samples,), or (n_samples, n_labels) indicator
            Its labels, or its multilabel indicator matrix (as in :meth:`fit`).
        classes : array-like of shape (n_classes,), default=None
            Every class that can appear in any chunk; for a multilabel y, the
            label indices ``np.arange(n_labels)``. Required on the first call,
            ignored (but checked) afterwards.
        sample_weight : array-like of shape (n_samples,), default=None
            As in :meth:`fit`.

        Returns
        -------
        object
            The estimator, trained one more epoch.

        Raises
        ------
        ValueError
            With ``early_stopping=True`` or ``class_weight='balanced'``, or if
            ``classes`` is missing on the first call or differs from it.
        """
        first_call = not is_fitted(self)
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
            all_classes = np.unique(np.asarray(host(classes)))
            check_at_least_two(all_classes)
        else:
            self._check_continuable("partial_fit")
            all_classes = self._host_classes()
            if classes is not None and not np.array_equal(
                np.unique(np.asarray(host(classes))), all_classes
            ):
                raise ValueError(
                    f"`classes={classes!r}` is not the same as on the first call "
                    f"to partial_fit, which was {self.classes_!r}."
                )
        data = self._prepare(X, y, sample_weight, reset=first_call, known_classes=all_classes)
        if not first_call:
            self._check_target_kind(data.multilabel, "partial_fit")
        return self._train(data, continue_training=not first_call, incremental=True)

    def _check_warm_classes(self, classes):
        """Refuse a warm start on other classes than the fit it continues."""
        if not np.array_equal(classes, self._host_classes()):
            raise ValueError(
                "warm_start can only be used where `y` has the same classes as in "
                f"the previous call to fit. Previously got {self.classes_}, "
                f"`y` has {classes}."
            )

    def _check_continuable(self, method):
        """Refuse to continue from weights that are incomplete or do not fit together.

        A fitted estimator always passes; weights set by hand (as scikit-learn's
        ``LogisticRegression`` and ``MLPClassifier`` allow) are checked here.
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

    def _gradient_problem(self, X, y, sample_weight):
        """The objective, parameters and encoded data that fit would optimise.

        Parameters are float64 copies of the fitted ones, or the initial ones
        when the estimator is unfitted; the estimator itself is not changed.
        Used by :func:`sknn.check_gradient`.
        """
        self._validate_params()
        fitted = is_fitted(self)
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
            self._check_target_kind(data.multilabel, "check_gradient on a fitted estimator")
        link, n_outputs = self._output_layer_of(len(data.classes), data.multilabel)
        objective = self._make_objective(link)
        if fitted:
            params = {k: np.array(v, dtype=np.float64) for k, v in self._load_params().items()}
        else:
            # A copy, so that a RandomState instance given by the user is not advanced.
            rng = check_random_state(copy.deepcopy(self.random_state))
            params = objective.init_params(data.X.shape[1], n_outputs, rng, np.float64)
        Y = encode_targets(data.y_index, n_outputs, data.X)
        return objective, params, data.X, Y, data.sample_weight
