"""The prediction methods every sknn estimator shares, computed from the logits."""

import numpy as np
from numpy.typing import ArrayLike
from sklearn.utils.validation import check_is_fitted, validate_data

from ._functions import log_probabilities, probabilities
from ._preparation import _ACCEPTED_DTYPES, _ACCEPTED_SPARSE, _check_magnitude


class PredictionsMixin:
    """``predict``, ``predict_proba``, ``predict_log_proba`` and ``decision_function``."""

    def _logits(self, X):
        check_is_fitted(self)
        X = validate_data(
            self, X, reset=False, accept_sparse=_ACCEPTED_SPARSE, dtype=_ACCEPTED_DTYPES
        )
        _check_magnitude(X)
        link, _ = self._output_layer_of(len(self.classes_), self._fitted_multilabel())
        return link, self._make_objective(link).logits(self._load_params(), X)

    def decision_function(self, X: ArrayLike) -> np.ndarray:
        """Output logits.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For two classes, a score whose sign picks ``classes_[1]`` when
            positive; otherwise one logit per class (multilabel: per label,
            positive where the label is predicted).
        """
        _, Z = self._logits(X)
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
        y_pred : ndarray of shape (n_samples,), or (n_samples, n_labels) of int64
            Labels from ``classes_``: the class of highest probability. For a
            multilabel fit, the indicator matrix: 1 where a label's
            probability is above 1/2 (a dense int64 array, as MLPClassifier's
            for dense y).
        """
        link, Z = self._logits(X)
        if self._fitted_multilabel():
            # sigmoid(z) > 1/2 exactly where z > 0, as in the binary case.
            return (Z > 0).astype(np.int64)
        # The argmax of predict_proba itself, so that the two agree also where
        # probabilities tie after rounding (two-class ties follow the sign of
        # decision_function, see _functions.probabilities).
        return self.classes_[probabilities(link, Z).argmax(axis=1)]

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Rows sum to one; columns follow ``classes_``. For a multilabel
            fit, each label's own probability (rows are not normalised).
        """
        link, Z = self._logits(X)
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
        log_proba : ndarray of shape (n_samples, n_classes)
            Multilabel: ``log_sigmoid`` of each label's logit.
        """
        link, Z = self._logits(X)
        return log_probabilities(link, Z, independent=self._fitted_multilabel())
