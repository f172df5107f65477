"""The fitted state of an estimator as plain data, for sknn.io and anything else.

:class:`FittedStateMixin` gives ``_get_state`` / ``_set_state`` (everything a
fit leaves behind: public fitted attributes, the optimizer's state, the random
generator's state) and ``_state_schema`` (the shapes a valid state has, for a
reader that checks before it reads).
"""

import copy

import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

# Fitted attributes every estimator has, besides its weights; the optional
# ones exist only when the fit produced them.
_FITTED_ATTRIBUTES = ("classes_", "n_features_in_", "n_iter_", "loss_curve_", "best_loss_")
_FITTED_ATTRIBUTES += ("stop_reason_",)
_OPTIONAL_FITTED_ATTRIBUTES = ("feature_names_in_", "validation_loss_curve_")


class FittedStateMixin:
    """The state API of :class:`sknn._estimator.base.BaseGDClassifier`."""

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
            gives it; ``multilabel``: True, only for a model fitted on a
            multilabel indicator y (whose ``classes_``, ``arange(n_labels)``,
            and weights can look like a multiclass model's: the flag decides
            how it predicts). Single-label states have no such key, as before.
            :meth:`_set_state` takes the same dict back.
        """
        check_is_fitted(self)
        names = _FITTED_ATTRIBUTES + self._weight_attributes + _OPTIONAL_FITTED_ATTRIBUTES
        state = {
            "attributes": {name: getattr(self, name) for name in names if hasattr(self, name)},
            "optimizer": self._optimizer_state,
            "rng": self._rng_state,
        }
        if self._fitted_multilabel():
            state["multilabel"] = True
        return state

    def _set_state(self, state):
        """Restore what :meth:`_get_state` returned (already validated by the caller)."""
        for name, value in state["attributes"].items():
            setattr(self, name, value)
        self._optimizer_state = state["optimizer"]
        self._rng_state = state["rng"]
        self._multilabel = bool(state.get("multilabel", False))
        self._commit_weights()

    def _state_schema(self, n_features, n_classes, multilabel=False):
        """Shapes a valid state must have, for a reader that checks before it reads.

        ``n_classes`` is ``len(classes_)``: for a ``multilabel`` state, the
        number of labels.

        Returns
        -------
        schema : dict
            ``weights``: shape (or list of shapes) of each weight attribute;
            ``parameters``: shape of each training parameter, which is also
            the shape of each array in the optimizer state's dicts.
        """
        link, n_outputs = self._output_layer_of(n_classes, multilabel)
        param_shapes = self._make_objective(link).param_shapes(n_features, n_outputs)
        return {
            "weights": self._weight_attribute_shapes(param_shapes),
            "parameters": param_shapes,
        }


def is_fitted(estimator):
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        return False
    return True


def random_state_from(state):
    """A RandomState continuing from a state that ``get_state(legacy=False)`` returned."""
    rng = np.random.RandomState(0)
    rng.set_state(copy.deepcopy(state))
    return rng
