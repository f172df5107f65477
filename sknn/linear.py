"""Linear classifiers trained by gradient descent: logistic and softmax regression."""

from numbers import Real

import numpy as np
import scipy.sparse as sp
from sklearn.utils.extmath import safe_sparse_dot

from ._compat import Interval, StrOptions
from ._core.array_ops import array_ops, total_nbytes
from ._core.functions import data_loss, data_loss_and_residual, inner_product, l2_penalty
from ._core.preconditioning import CenteringPreconditioner, SampleSpaceCentering
from ._core.spectrum import (
    _gram_top_eigenvalue,
    _weighted_squared_norm,
)
from ._estimator.base import BaseGDClassifier
from ._estimator.docs import LINEAR_TOL_DOC, SHARED_ATTRIBUTE_DOCS, SHARED_PARAMETER_DOCS

# Largest curvature of each output loss with respect to its logits: the
# sigmoid's is sigma (1 - sigma) <= 1/4; the softmax's Hessian
# diag(p) - p p^T has eigenvalues <= 1/2.
_LINK_CURVATURE = {"sigmoid": 0.25, "softmax": 0.5}

# The Gram matrix of the sample-space path is n_samples^2: cap it at 800 MB.
_MAX_SAMPLE_SPACE_SAMPLES = 10_000

# 'auto' for Adam, whose steps are scaled per coordinate, is not 1/L.
_ADAM_AUTO_LEARNING_RATE = 0.01


class LinearObjective:
    """Loss and gradient of a linear model ``Z = X W + b`` under an output link.

    Parameters are ``W`` of shape (n_features, n_outputs) and ``b`` of shape
    (n_outputs,). The loss is the weighted mean loss of the link plus
    ``alpha / 2 * ||W||^2``.
    """

    def __init__(self, link, alpha):
        self.link = link
        self.alpha = alpha

    @staticmethod
    def param_shapes(n_features, n_outputs):
        return {"W": (n_features, n_outputs), "b": (n_outputs,)}

    def init_params(self, n_features, n_outputs, rng, dtype):
        # The loss is convex: zeros are as good a start as any, and the course's.
        shapes = self.param_shapes(n_features, n_outputs)
        return {name: np.zeros(shape, dtype=dtype) for name, shape in shapes.items()}

    inner = staticmethod(inner_product)
    #: The bytes of a dict keyed like the parameters (the model's own).
    model_nbytes = staticmethod(total_nbytes)

    @staticmethod
    def covector(v):
        """``v``: :meth:`inner` is already the plain sum of elementwise products."""
        return v

    def logits(self, params, X):
        # X @ W is a dense array for dense and sparse X alike, and skips
        # safe_sparse_dot's checks, which cost more than the product on small data.
        Z = X @ params["W"] if sp.issparse(X) else _fortran_product(X, params["W"])
        Z += params["b"]
        return Z

    def loss(self, params, X, Y, sample_weight):
        return self.loss_from_logits(params, self.logits(params, X), Y, sample_weight)

    def loss_from_logits(self, params, Z, Y, sample_weight):
        """The loss at ``params`` whose logits are ``Z`` (left intact)."""
        return data_loss(self.link, Z, Y, sample_weight) + l2_penalty([params["W"]], self.alpha)

    def line_penalty(self, params, direction, Z, D):
        """The L2 term along ``params + s direction`` as ``(value, slope, curvature)`` at s = 0.

        The term is ``value + slope s + curvature s^2 / 2``; ``Z`` and ``D``
        (the logits of ``params`` and of ``direction``) are not needed here.
        """
        if not self.alpha:
            return 0.0, 0.0, 0.0
        W, dW = params["W"], direction["W"]
        ops = array_ops(W)
        return (
            0.5 * self.alpha * ops.squared_norm(W),
            self.alpha * ops.dot(W, dW),
            self.alpha * ops.squared_norm(dW),
        )

    def preconditioner(self, X, sample_weight):
        """Conjugate gradient's preconditioner: centering and feature scaling (see there)."""
        # Scaling has no counterpart in sample space (see there): wide data,
        # which trains there, is not scaled on this path either, so that a
        # warm start here continues what a sample-space fit began.
        n_samples, n_features = X.shape
        preconditioner = CenteringPreconditioner(X, sample_weight, scale=2 * n_samples > n_features)
        # None: conjugate gradient then skips the map and an inner product per step.
        return None if preconditioner.is_identity else preconditioner

    def loss_grad(self, params, X, Y, sample_weight, logits_out=None):
        """Loss and gradient at ``params``; ``logits_out`` receives the logits (a line search's)."""
        Z = _keep_logits(self.logits(params, X), logits_out)
        loss, residual = data_loss_and_residual(self.link, Z, Y, sample_weight)
        grads = self.gradient_from_residual(params, X, residual)
        return loss + l2_penalty([params["W"]], self.alpha), grads

    def gradient_from_residual(self, params, X, residual):
        """The gradient at ``params`` from the loss's gradient in the logits (``residual``)."""
        grad_W = X.T @ residual
        if self.alpha:
            grad_W += self.alpha * params["W"]
        return {"W": grad_W, "b": array_ops(residual).sum(residual, axis=0)}

    def smoothness(self, X, sample_weight, exact=True):
        """Lipschitz constant L of the loss's gradient (an upper bound).

        The Hessian is at most ``c / sum(s) * A^T A + alpha`` with
        ``A = diag(sqrt(s)) [X, 1]`` and c the link's curvature bound, so a
        gradient step of 1/L never increases the loss. ``exact=False`` bounds
        the top eigenvalue of ``A^T A`` by its trace instead: one pass over X,
        looser by up to the rank of X, for a line search to start from.
        """
        total_weight = _total_weight(X, sample_weight)
        if exact:
            top_eigenvalue = _gram_top_eigenvalue(X, sample_weight)
        else:
            top_eigenvalue = _weighted_squared_norm(X, sample_weight) + total_weight
        return _LINK_CURVATURE[self.link] * top_eigenvalue / total_weight + self.alpha


class SampleSpaceObjective:
    """:class:`LinearObjective` reparametrised as ``W = X^T C``.

    Full-batch gradient descent and momentum started from ``W = 0`` keep W in
    the row space of X: the gradient ``X^T R + alpha W`` is ``X^T (R + alpha C)``.
    Iterating on C (n_samples, n_outputs) with the Gram matrix ``G = X X^T``,
    computed once, therefore gives the same iterates and losses as the direct
    path, while a step costs O(n_samples^2) instead of O(n_samples n_features)
    and no longer streams X. The training loop passes X on each call; it is the
    X this objective was built on, so it is ignored.
    """

    def __init__(self, objective, X):
        self.link = objective.link
        self.alpha = objective.alpha
        self.X = X
        self.gram = safe_sparse_dot(X, X.T, dense_output=True)

    def init_params(self, n_features, n_outputs, rng, dtype):
        return {
            "C": np.zeros((self.X.shape[0], n_outputs), dtype=dtype),
            "b": np.zeros(n_outputs, dtype=dtype),
        }

    def inner(self, a, b):
        """The inner product of the corresponding W-space gradients ``X^T a_C`` and ``X^T b_C``."""
        ops = array_ops(self.gram)
        return ops.dot(a["C"], self.gram @ b["C"]) + ops.dot(a["b"], b["b"])

    def covector(self, v):
        """``(G v_C, v_b)``: :meth:`inner` as a plain sum of elementwise products with it."""
        return {"C": self.gram @ v["C"], "b": v["b"]}

    def logits(self, params, X):
        """``Z = G C + b`` (``= X W + b``); X is ignored."""
        Z = _fortran_product(self.gram, params["C"])
        Z += params["b"]
        return Z

    def _penalty(self, params, Z):
        """``alpha/2 ||X^T C||^2 = alpha/2 <C, G C>``, with ``G C = Z - b`` read off the logits."""
        if not self.alpha:
            return 0.0
        C = params["C"]
        ops = array_ops(C)
        return 0.5 * self.alpha * (ops.dot(C, Z) - ops.dot(ops.xp.sum(C, axis=0), params["b"]))

    def loss(self, params, X, Y, sample_weight):
        return self.loss_from_logits(params, self.logits(params, X), Y, sample_weight)

    def loss_from_logits(self, params, Z, Y, sample_weight):
        """The loss at ``params`` whose logits are ``Z`` (left intact)."""
        return data_loss(self.link, Z, Y, sample_weight) + self._penalty(params, Z)

    def line_penalty(self, params, direction, Z, D):
        """The L2 term along ``params + s direction``, as :meth:`LinearObjective.line_penalty`.

        ``||X^T (C + s dC)||^2`` expands into ``<C, G C>``, ``<dC, G C>`` and
        ``<dC, G dC>``, read off the logits ``Z - b = G C`` and ``D - db = G dC``.
        """
        if not self.alpha:
            return 0.0, 0.0, 0.0
        C, dC = params["C"], direction["C"]
        ops = array_ops(C)
        xp = ops.xp

        def gram_product(left, logits, intercept):
            return ops.dot(left, logits) - ops.dot(xp.sum(left, axis=0), intercept)

        return (
            0.5 * self.alpha * gram_product(C, Z, params["b"]),
            self.alpha * gram_product(dC, Z, params["b"]),
            self.alpha * gram_product(dC, D, direction["b"]),
        )

    def preconditioner(self, X, sample_weight):
        """Conjugate gradient's preconditioner: centering only (see there)."""
        return SampleSpaceCentering(self.gram, sample_weight)

    def loss_grad(self, params, X, Y, sample_weight, logits_out=None):
        """Loss and gradient at ``params``; ``logits_out`` receives the logits (a line search's)."""
        Z = _keep_logits(self.logits(params, X), logits_out)
        penalty = self._penalty(params, Z)
        loss, residual = data_loss_and_residual(self.link, Z, Y, sample_weight)
        return loss + penalty, self.gradient_from_residual(params, X, residual)

    def gradient_from_residual(self, params, X, residual):
        """The C-gradient at ``params`` from the loss's gradient in the logits (reused)."""
        grad_b = array_ops(residual).sum(residual, axis=0)
        if self.alpha:
            residual += self.alpha * params["C"]
        return {"C": residual, "b": grad_b}

    def smoothness(self, X, sample_weight, exact=True):
        total_weight = _total_weight(X, sample_weight)
        if exact:
            top_eigenvalue = _gram_top_eigenvalue(X, sample_weight, sample_gram=self.gram)
        else:
            ops = array_ops(self.gram)
            diagonal = np.diagonal(ops.to_numpy(self.gram)).astype(float)
            weights = None if sample_weight is None else ops.to_numpy(sample_weight)
            top_eigenvalue = float(diagonal.sum() if weights is None else diagonal @ weights)
            top_eigenvalue += total_weight
        return _LINK_CURVATURE[self.link] * top_eigenvalue / total_weight + self.alpha

    def to_model_params(self, params):
        """Map a dict keyed like the parameters (C, b) to the model's (W, b).

        The map is linear, so it carries iterates, velocities and look-ahead
        points alike.
        """
        return {"W": self._to_W(params["C"]), "b": params["b"]}

    def to_model_params_all(self, dicts):
        """:meth:`to_model_params` of each dict, by one product of X^T with all their C."""
        if not dicts:
            return []
        ops = array_ops(dicts[0]["C"])
        W = self._to_W(ops.xp.concat([d["C"] for d in dicts], axis=1))
        widths = [d["C"].shape[1] for d in dicts]
        starts = np.cumsum([0, *widths])
        return [
            {"W": ops.contiguous(W[:, start : start + width]), "b": d["b"]}
            for d, start, width in zip(dicts, starts, widths)
        ]

    def model_nbytes(self, params):
        """The bytes of a dict keyed like (C, b) once mapped to (W, b)."""
        C, b = params["C"], params["b"]
        itemsize = array_ops(C).xp.finfo(C.dtype).bits // 8
        return (self.X.shape[1] * C.shape[1] + b.shape[0]) * itemsize

    def _to_W(self, C):
        return array_ops(C).contiguous(safe_sparse_dot(self.X.T, C, dense_output=True))


class TwoClassSoftmaxObjective:
    """The softmax :class:`LinearObjective` of two classes, trained as one logistic unit.

    A softmax of two logits depends on their difference only: with
    ``v = w_1 - w_0`` and ``c = b_1 - b_0`` its loss is the logistic loss of
    ``X v + c`` on the second class. Gradients in the two columns are
    opposite (``p_0 - y_0 = -(p_1 - y_1)``), so training from ``W = 0``,
    ``b = 0`` stays on ``w_1 = -w_0 = v/2``, ``b_1 = -b_0 = c/2``, where the
    penalty ``alpha/2 (||w_0||^2 + ||w_1||^2)`` is ``alpha/4 ||v||^2`` (and
    smallest among all W of that v: the minimum lies there too). Iterating on
    ``(v, c)`` with ``binary``, a sigmoid objective of ``alpha / 2`` (direct
    or in sample space), costs one logit column instead of two and a sigmoid
    instead of a softmax.

    The geometry is the model's: :meth:`inner` is that of the corresponding
    two-column parameters (half the plain one) and gradients are taken in it
    (twice the plain ones), so every full-batch method that moves along
    gradients under that inner product (gd, momentum, nesterov, cg) takes
    the same steps, reports the same losses and stops at the same test as on
    the two columns, rounding aside. Adam, which scales each coordinate on
    its own, is not trained here.

    The training loop's targets are the second class's column (:meth:`targets`).
    """

    link = "sigmoid"

    def __init__(self, binary):
        self.binary = binary

    @staticmethod
    def targets(Y):
        """The one-hot targets of the two classes as the binary unit's: the second column."""
        return Y[:, 1:]

    def init_params(self, n_features, n_outputs, rng, dtype):
        return self.binary.init_params(n_features, 1, rng, dtype)

    def inner(self, a, b):
        """The inner product of the corresponding two-column dicts."""
        return 0.5 * self.binary.inner(a, b)

    def covector(self, v):
        """:meth:`inner` as a plain sum of elementwise products with the result."""
        return {name: 0.5 * a for name, a in self.binary.covector(v).items()}

    def logits(self, params, X):
        return self.binary.logits(params, X)

    def loss(self, params, X, Y, sample_weight):
        return self.binary.loss(params, X, Y, sample_weight)

    def loss_from_logits(self, params, Z, Y, sample_weight):
        return self.binary.loss_from_logits(params, Z, Y, sample_weight)

    def line_penalty(self, params, direction, Z, D):
        return self.binary.line_penalty(params, direction, Z, D)

    def preconditioner(self, X, sample_weight):
        # The same map on each column: the binary one carries over.
        return self.binary.preconditioner(X, sample_weight)

    def loss_grad(self, params, X, Y, sample_weight, logits_out=None):
        loss, grads = self.binary.loss_grad(params, X, Y, sample_weight, logits_out)
        return loss, _doubled(grads)

    def gradient_from_residual(self, params, X, residual):
        return _doubled(self.binary.gradient_from_residual(params, X, residual))

    def smoothness(self, X, sample_weight, exact=True):
        """L in :meth:`inner`'s geometry: twice the binary one (= the two-column L)."""
        return 2 * self.binary.smoothness(X, sample_weight, exact)

    def to_model_params(self, params):
        """Map a dict keyed like the parameters (v, c) to the model's two columns (linear)."""
        return self.to_model_params_all([params])[0]

    def to_model_params_all(self, dicts):
        """:meth:`to_model_params` of each dict (the binary objective's map batched)."""
        binary_all = getattr(self.binary, "to_model_params_all", None)
        return [_two_columns(d) for d in (dicts if binary_all is None else binary_all(dicts))]

    def model_nbytes(self, params):
        """The bytes of a dict keyed like the parameters once mapped to two columns."""
        return 2 * self.binary.model_nbytes(params)


def _two_columns(params):
    """``(v, c)`` as the two softmax columns ``[-v/2, v/2]``, ``[-c/2, c/2]``."""
    xp = array_ops(*params.values()).xp
    half_W, half_b = 0.5 * params["W"], 0.5 * params["b"]
    return {"W": xp.concat([-half_W, half_W], axis=1), "b": xp.concat([-half_b, half_b])}


def _doubled(grads):
    for grad in grads.values():
        grad *= 2
    return grads


def _total_weight(X, sample_weight):
    if sample_weight is None:
        return X.shape[0]
    return float(array_ops(sample_weight).sum(sample_weight))


def _fortran_product(A, B):
    """``A @ B`` for a dense A, Fortran-ordered: as ``(B^T A^T)^T``, no copy of A.

    The (n_samples, n_outputs) logits are reduced over their short rows
    (softmax) and their columns (the intercept's gradient): both are fast
    along contiguous columns and slow along short contiguous rows.
    """
    return (B.T @ A.T).T


def _keep_logits(Z, logits_out):
    """Copy ``Z`` into ``logits_out`` (unless None) before the loss overwrites it; return Z."""
    if logits_out is not None:
        array_ops(Z).copy_into(logits_out, Z)
    return Z


def _sample_space_pays(n_samples, n_features, n_outputs, max_iter):
    """Whether training in sample space is expected to be cheaper.

    A sample-space step costs about n_samples / n_features of a direct one;
    forming G costs 2 n^2 p flops once, at matrix-multiply speed, against
    4 n p n_outputs flops per direct step at the much lower speed of a
    matrix-vector product; G itself must fit comfortably in memory.
    """
    return (
        2 * n_samples <= n_features
        and n_samples <= _MAX_SAMPLE_SPACE_SAMPLES
        and 8 * max_iter * n_outputs >= n_samples
    )


# Optimizers whose full-batch iterates stay in the row space of X and move
# along gradients in the model's geometry: they take the same steps on the
# reparametrised problems (sample space, two-class softmax as one unit).
_REPARAMETRISABLE = ("lbfgs", "cg", "gd", "momentum", "nesterov")


class _LinearModelHooks:
    """The hooks of :class:`~sknn._base.BaseGDClassifier` shared by the two linear models."""

    _parameter_constraints = {
        **BaseGDClassifier._parameter_constraints,
        "learning_rate": [Interval(Real, 0, np.inf, closed="neither"), StrOptions({"auto"})],
        "optimizer": [StrOptions({"auto", "lbfgs", "cg", "gd", "momentum", "nesterov", "adam"})],
    }

    _AUTO_OPTIMIZERS = ("lbfgs", "nesterov")

    def _make_objective(self, link):
        return LinearObjective(link, self.alpha)

    _weight_attributes = ("coef_", "intercept_")

    def _initial_learning_rate(self, objective, X, sample_weight, optimizer):
        if self.learning_rate != "auto":
            return float(self.learning_rate)
        if optimizer == "adam":
            return _ADAM_AUTO_LEARNING_RATE
        full_batch = self.batch_size is None or self.batch_size >= X.shape[0]
        if optimizer in ("cg", "lbfgs") or (optimizer == "nesterov" and full_batch):
            # Only where the line search starts: it finds the step itself.
            return 1.0 / objective.smoothness(X, sample_weight, exact=False)
        step = 1.0 / objective.smoothness(X, sample_weight)
        if not full_batch and optimizer in ("momentum", "nesterov"):
            # Momentum multiplies the step by up to 1 / (1 - beta_1) (10x), and a
            # mini-batch's curvature can exceed the full batch's L: keep the
            # effective step at 1/L.
            step *= 1.0 - self.beta_1
        return step

    def _training_objective(self, objective, X, n_outputs):
        full_batch = self.batch_size is None or self.batch_size >= X.shape[0]
        if not (full_batch and self._optimizer_name(X) in _REPARAMETRISABLE):
            return objective
        two_classes = objective.link == "softmax" and n_outputs == 2
        if two_classes:
            objective, n_outputs = LinearObjective("sigmoid", objective.alpha / 2), 1
        if _sample_space_pays(*X.shape, n_outputs, self.max_iter):
            objective = SampleSpaceObjective(objective, X)
        return TwoClassSoftmaxObjective(objective) if two_classes else objective

    def _store_params(self, params):
        self.coef_ = array_ops(params["W"]).contiguous(params["W"].T)
        self.intercept_ = params["b"]

    def _load_params(self):
        return {"W": self.coef_.T, "b": self.intercept_}

    def _weight_attribute_shapes(self, param_shapes):
        return {"coef_": param_shapes["W"][::-1], "intercept_": param_shapes["b"]}


_LINEAR_DEFAULTS = {"max_iter": 5000, "tol": 1e-5, "alpha": 1e-4, "optimizer": "auto"}

_OPTIMIZER_DOC = """\
'auto' is 'gd' when ``learning_rate`` is a number (plain gradient
        descent at that rate: the course's algorithm); otherwise 'lbfgs' on
        the full batch and 'nesterov' on mini-batches and in ``partial_fit``
        (each call's X is one batch of a stream).
        'lbfgs' is limited-memory BFGS: gradient descent along directions
        shaped by the last 100 steps and gradient changes (an estimate of the
        inverse Hessian from gradients alone), whose step is found by an exact
        line search (Newton's method along the direction, on the logits, with
        the strong Wolfe conditions), started from a centred (and, for
        features of very different scales, rescaled) copy of the coordinates
        that leaves the model alone. 'cg' is preconditioned nonlinear
        conjugate gradient (Polak-Ribiere+) with the same line search and
        preconditioner: one direction of memory instead of 100. Neither needs
        a learning rate; to the default ``tol`` 'lbfgs' takes 1.4-4x fewer
        steps than 'cg', which takes 2-10x fewer than 'nesterov'. Both run on
        the full batch only (with ``batch_size`` set they raise).
        """
_LEARNING_RATE_DOC = """\
learning_rate : float or 'auto', default='auto'
        Step size. 'lbfgs' and 'cg' find their steps by line search: a float
        is only the first trial step where the loss is flat along a direction.
        With 'nesterov' and full batch, 'auto' means a backtracking
        line search (starting from a cheap bound of 1/L and growing the step
        where the loss allows). With 'gd' or 'momentum', or on mini-batches,
        'auto' takes the fixed step 1/L (with momentum on mini-batches
        ``(1 - beta_1) / L``, the same effective step), where L bounds the curvature of the
        loss (from the largest singular value of the data, the L2 term
        included), so plain gradient descent never diverges and needs no
        tuning. With ``optimizer='adam'``, whose steps are scaled per
        coordinate, 'auto' means 0.01."""


class LogisticRegressionGD(_LinearModelHooks, BaseGDClassifier):
    """Logistic regression trained by vectorized gradient descent.

    Binary problems use one sigmoid unit and the log-loss. With K > 2 classes
    the model is one-vs-rest: K sigmoid units trained together as one weight
    matrix, their probabilities normalised to sum to one.

    Multilabel: fitted on an indicator matrix y of shape (n_samples, n_labels)
    (dense or sparse, as ``MultiLabelBinarizer`` makes it), the model is one
    independent sigmoid unit per label, trained together on the summed binary
    log-loss. The objective is the sum of the n_labels binary objectives, so
    the fit equals n_labels separate binary fits. ``predict`` returns the
    indicator matrix, ``predict_proba`` each label's probability (rows are not
    normalised), ``decision_function`` the logits. ``class_weight`` is refused
    for such y (weigh rows with ``sample_weight``), and the ``early_stopping``
    split is a plain random one.

    Parameters
    ----------
    {learning_rate}

    {shared_parameters}

    Attributes
    ----------
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Weights (one row for binary problems; one row per label for a
        multilabel y, where n_classes is n_labels).

    intercept_ : ndarray of shape (1,) or (n_classes,)
        Biases.

    {shared_attributes}

    See Also
    --------
    SoftmaxGD : multinomial (softmax) regression.
    sklearn.linear_model.LogisticRegression : the same model by quasi-Newton solvers.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sknn import LogisticRegressionGD
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> model = make_pipeline(StandardScaler(), LogisticRegressionGD()).fit(X, y)
    >>> round(model.score(X, y), 2)
    0.99
    """

    _supports_multilabel = True

    def _output_layer(self, n_classes):
        return "sigmoid", 1 if n_classes == 2 else n_classes

    def __init__(
        self,
        *,
        learning_rate="auto",
        max_iter=5000,
        tol=1e-5,
        n_iter_no_change=10,
        alpha=1e-4,
        batch_size=None,
        shuffle=True,
        optimizer="auto",
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        early_stopping=False,
        validation_fraction=0.1,
        class_weight=None,
        warm_start=False,
        random_state=None,
        verbose=0,
    ):
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.alpha = alpha
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.optimizer = optimizer
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose


class SoftmaxGD(_LinearModelHooks, BaseGDClassifier):
    """Softmax (multinomial logistic) regression trained by vectorized gradient descent.

    One softmax layer over all classes with the cross-entropy loss; a binary
    problem is the K = 2 case (``coef_`` then has two rows, and
    ``decision_function`` returns the difference of the two logits). A
    softmax picks one class per sample: a multilabel y is refused (use
    :class:`LogisticRegressionGD`).

    Parameters
    ----------
    {learning_rate}

    {shared_parameters}

    Attributes
    ----------
    coef_ : ndarray of shape (n_classes, n_features)
        Weights, one row per class.

    intercept_ : ndarray of shape (n_classes,)
        Biases.

    {shared_attributes}

    See Also
    --------
    LogisticRegressionGD : one-vs-rest sigmoid units.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sknn import SoftmaxGD
    >>> X, y = load_iris(return_X_y=True)
    >>> model = make_pipeline(StandardScaler(), SoftmaxGD()).fit(X, y)
    >>> model.predict(X[[0, 50, 100]])
    array([0, 1, 2])
    >>> model.predict_proba(X[:1]).shape
    (1, 3)
    """

    def _output_layer(self, n_classes):
        return "softmax", n_classes

    def __init__(
        self,
        *,
        learning_rate="auto",
        max_iter=5000,
        tol=1e-5,
        n_iter_no_change=10,
        alpha=1e-4,
        batch_size=None,
        shuffle=True,
        optimizer="auto",
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        early_stopping=False,
        validation_fraction=0.1,
        class_weight=None,
        warm_start=False,
        random_state=None,
        verbose=0,
    ):
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.alpha = alpha
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.optimizer = optimizer
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose


for _estimator in (LogisticRegressionGD, SoftmaxGD):
    _estimator.__doc__ = _estimator.__doc__.format(
        learning_rate=_LEARNING_RATE_DOC,
        shared_parameters=SHARED_PARAMETER_DOCS.format(
            tol_doc=LINEAR_TOL_DOC,
            **_LINEAR_DEFAULTS,
            optimizer_choices="'auto', 'lbfgs', 'cg', 'gd', 'momentum', 'nesterov', 'adam'",
            optimizer_extra=_OPTIMIZER_DOC,
        ),
        shared_attributes=SHARED_ATTRIBUTE_DOCS,
    )
