"""A user-facing gradient check: analytic gradients against finite differences."""

from numbers import Integral, Real
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike
from sklearn.utils import check_random_state

from .._compat import Interval, validate_params

if TYPE_CHECKING:
    from .base import BaseGDClassifier


@validate_params(
    {
        "estimator": "no_validation",
        "X": ["array-like", "sparse matrix"],
        "y": ["array-like"],
        "sample_weight": ["array-like", None],
        "eps": [Interval(Real, 0, 1, closed="neither")],
        "max_entries": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "return_details": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def check_gradient(
    estimator: "BaseGDClassifier",
    X: ArrayLike,
    y: ArrayLike,
    sample_weight: ArrayLike | None = None,
    *,
    eps: float = 1e-6,
    max_entries: int | None = None,
    random_state: "int | np.random.RandomState | None" = 0,
    return_details: bool = False,
) -> "float | tuple[float, dict[str, float]]":
    """Compare an sknn estimator's analytic gradient with central differences.

    The gradient of the training objective is taken, in float64, at the
    estimator's fitted parameters (its initial ones if unfitted) on the data
    given; the estimator is not modified. Read more in the
    :ref:`User Guide <gradient-check>`.

    Parameters
    ----------
    estimator : LogisticRegressionGD, SoftmaxGD or ShallowNNClassifier
        Fitted or not.
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Data at which the objective is evaluated.
    y : array-like of shape (n_samples,), or (n_samples, n_labels) indicator
        Labels (those of ``classes_`` if the estimator is fitted), or a
        multilabel indicator matrix for the estimators that take one (of the
        same kind and width as the fit's, if fitted).
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights, as in ``fit``.
    eps : float, default=1e-6
        Finite-difference step.
    max_entries : int or None, default=None
        Check at most this many randomly chosen entries of each parameter
        array (None: all of them, two loss evaluations each).
    random_state : int, RandomState instance or None, default=0
        Chooses the entries when ``max_entries`` is set.
    return_details : bool, default=False
        Also return, for each parameter array, ``||g_p - g_num_p||`` divided by
        the same overall ``||g|| + ||g_num||``: its share of the error.

    Returns
    -------
    relative_error : float
        ``||g - g_num|| / (||g|| + ||g_num||)`` over the checked entries: around
        1e-8 or below means the analytic gradient is right; a wrong gradient
        gives 1e-3 or more.
    details : dict of str to float
        Only with ``return_details=True``.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sknn import ShallowNNClassifier, check_gradient
    >>> X, y = load_iris(return_X_y=True)
    >>> net = ShallowNNClassifier(
    ...     hidden_layer_size=5, activation="tanh", max_iter=50, tol=None, random_state=0
    ... ).fit(X, y)
    >>> check_gradient(net, X, y) < 1e-7
    True
    >>> error, per_param = check_gradient(net, X, y, return_details=True)
    >>> sorted(per_param)
    ['W1', 'W2', 'b1', 'b2']
    """
    objective, params, X, Y, sample_weight = estimator._gradient_problem(X, y, sample_weight)
    with np.errstate(under="ignore"):  # as in training: exp of very negative logits
        return _relative_error(
            objective, params, X, Y, sample_weight, eps, max_entries, random_state, return_details
        )


def _relative_error(
    objective, params, X, Y, sample_weight, eps, max_entries, random_state, return_details
):
    _, analytic = objective.loss_grad(params, X, Y, sample_weight)
    rng = check_random_state(random_state)

    def loss_at(param, index, value):
        saved = param[index]
        param[index] = value
        loss = objective.loss(params, X, Y, sample_weight)
        param[index] = saved
        return loss

    differences, exact_parts, numeric_parts = {}, [], []
    for name, param in params.items():
        indices = list(np.ndindex(param.shape))
        if max_entries is not None and len(indices) > max_entries:
            chosen = rng.choice(len(indices), size=max_entries, replace=False)
            indices = [indices[i] for i in chosen]
        numeric = np.array(
            [
                (loss_at(param, i, param[i] + eps) - loss_at(param, i, param[i] - eps)) / (2 * eps)
                for i in indices
            ]
        )
        exact = np.array([analytic[name][i] for i in indices])
        differences[name] = np.linalg.norm(exact - numeric)
        exact_parts.append(exact)
        numeric_parts.append(numeric)
    exact, numeric = np.concatenate(exact_parts), np.concatenate(numeric_parts)
    scale = np.linalg.norm(exact) + np.linalg.norm(numeric)
    if scale == 0:
        return (0.0, dict.fromkeys(differences, 0.0)) if return_details else 0.0
    error = float(np.linalg.norm(exact - numeric) / scale)
    if not return_details:
        return error
    return error, {name: float(diff / scale) for name, diff in differences.items()}
