"""The prediction methods every sknn estimator shares, computed from the logits."""

import numpy as np
from numpy.typing import ArrayLike
from sklearn.utils.validation import check_is_fitted, validate_data

from .._compat import check_same_namespace
from .._core.array_ops import NUMPY_OPS, array_ops, input_ops
from .._core.functions import log_probabilities, probabilities
from .preparation import ACCEPTED_SPARSE, accepted_dtypes, check_input_kind, check_magnitude


def _promote(X, params):
    """X and the weights in their common dtype, as NumPy's matmul computes mixed ones.

    Other namespaces' matmul (PyTorch's) refuses mixed dtypes; casting the weights up is exact.
    """
    xp = array_ops(X).xp
    dtype = xp.result_type(X.dtype, *(p.dtype for p in params.values()))
    X = xp.astype(X, dtype, copy=False)
    return X, {name: xp.astype(p, dtype, copy=False) for name, p in params.items()}


class PredictionsMixin:
    """``predict``, ``predict_proba``, ``predict_log_proba`` and ``decision_function``."""

    def _logits(self, X, method):
        check_is_fitted(self)
        check_input_kind(X, "X")
        # Predictions follow the namespace and device the model was fitted in.
        check_same_namespace(X, self, attribute="_first_weight", method=method)
        X = validate_data(
            self,
            X,
            reset=False,
            accept_sparse=ACCEPTED_SPARSE,
            dtype=accepted_dtypes(input_ops(X), X),
        )
        params = self._load_params()
        if array_ops(X) is NUMPY_OPS and array_ops(*params.values()) is not NUMPY_OPS:
            raise ValueError(
                f"This {type(self).__name__} was fitted on arrays of another namespace "
                f"than NumPy (its weights are {type(self._first_weight).__name__}), and "
                f"{method}() got NumPy input: call it under "
                "sklearn.config_context(array_api_dispatch=True) with X of the fit's "
                "namespace and device, or move the estimator to NumPy with "
                "sklearn.utils._array_api.move_estimator_to(estimator, numpy, 'cpu')."
            )
        check_magnitude(X)
        if not array_ops(X).is_numpy:
            X, params = _promote(X, params)
        link, _ = self._output_layer_of(self.classes_.shape[0], self._fitted_multilabel())
        # Saturated hidden units (sigmoid of -100 is 4e-44 in float32) underflow in
        # the matmul: exact enough, ignored as sknn._core.functions does for predict.
        with np.errstate(under="ignore"):
            return link, self._make_objective(link).logits(params, X)

    @property
    def _first_weight(self):
        # A weight array: where the model's namespace and device can be read.
        return next(iter(self._load_params().values()))

    def decision_function(self, X: ArrayLike) -> np.ndarray:
        """Output logits.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes)
            For two classes, a score whose sign picks ``classes_[1]`` when
            positive; otherwise one logit per class (multilabel: per label,
            positive where the label is predicted).
        """
        _, Z = self._logits(X, "decision_function")
        if self._fitted_multilabel():
            return Z
        if Z.shape[1] == 1:
            return Z[:, 0]
        if Z.shape[1] == 2:
            return Z[:, 1] - Z[:, 0]
        return Z

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predict class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,), or (n_samples, n_labels) of int64
            Labels from ``classes_``: the class of highest probability. For a
            multilabel fit, the indicator matrix: 1 where a label's
            probability is above 1/2 (a dense int64 array, as MLPClassifier's
            for dense y).
        """
        link, Z = self._logits(X, "predict")
        xp = array_ops(Z).xp
        if self._fitted_multilabel():
            # sigmoid(z) > 1/2 exactly where z > 0, as in the binary case.
            return xp.astype(Z > 0, xp.int64)
        # The argmax of predict_proba itself, so that the two agree also where
        # probabilities tie after rounding (two-class ties follow the sign of
        # decision_function, see _functions.probabilities).
        best = xp.argmax(probabilities(link, Z), axis=1)
        if array_ops(self.classes_) is NUMPY_OPS:
            return self.classes_[array_ops(best).to_numpy(best)]
        return xp.take(self.classes_, best)

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Rows sum to one; columns follow ``classes_``. For a multilabel
            fit, each label's own probability (rows are not normalised).
        """
        link, Z = self._logits(X, "predict_proba")
        return probabilities(link, Z, independent=self._fitted_multilabel())

    def predict_log_proba(self, X: ArrayLike) -> np.ndarray:
        """Log of the class probabilities, computed stably from the logits.

        Unlike ``np.log(predict_proba(X))`` it stays finite where a
        probability rounds to 0.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Multilabel: ``log_sigmoid`` of each label's logit.
        """
        link, Z = self._logits(X, "predict_log_proba")
        return log_probabilities(link, Z, independent=self._fitted_multilabel())
