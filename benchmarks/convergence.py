"""Section ``convergence``: the linear models' default fits against lbfgs and the optimum.

Both linear models minimise ``J(W, b) = mean log-loss + alpha/2 ||W||^2``
(intercept unpenalised). Its exact minimum ``J*`` is computed once per
problem, untimed, by scipy's L-BFGS at a tight tolerance on an independent
NumPy implementation of ``J`` (:class:`Objective`). The default fits of
``LogisticRegressionGD`` and ``SoftmaxGD`` are timed, interleaved, against
scikit-learn's lbfgs ``LogisticRegression`` on the same objective
(``C = 1 / (n alpha)``), and both are judged by the relative gap
``(J - J*) / J*`` of the model they return.
"""

import warnings

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, logsumexp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier

from sknn import LogisticRegressionGD, SoftmaxGD

from . import _data
from ._core import (
    Column,
    Figure,
    Section,
    Table,
    Target,
    blas_label,
    blas_threads,
    compare,
    fit_warned,
    interleave,
    pair,
)

NAME = "convergence"
TITLE = "Convergence: the default fits against lbfgs LogisticRegression and the exact optimum"
TARGET_RATIO = 3.0
TARGET_GAP = 1e-6
GAP_FLOOR = 1e-13  # relative gaps below this are rounding: plots draw them on it
MODELS = {"LogisticRegressionGD": LogisticRegressionGD, "SoftmaxGD": SoftmaxGD}

SIZES = {
    "full": dict(datasets=(*_data.BUNDLED, "cat"), repeats=5),
    "default": dict(datasets=("breast_cancer", "digits", "cat"), repeats=3),
    "quick": dict(datasets=("breast_cancer", "digits"), repeats=1),
    "tiny": dict(datasets=("breast_cancer",), repeats=1),
}


class Objective:
    """``mean log-loss + alpha/2 ||W||^2`` in plain NumPy, independent of sknn.

    Parameters
    ----------
    link : {'sigmoid', 'softmax'}
        'sigmoid': one unit for two classes, else one per class (one-vs-rest:
        the sum of the per-class binary objectives); 'softmax': one output
        per class, two included.
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    alpha : float
    """

    def __init__(self, link, X, y, alpha):
        self.link, self.X, self.alpha = link, X, alpha
        classes = np.unique(y)
        if link == "sigmoid" and len(classes) == 2:
            self.Y = (y == classes[1]).astype(float)[:, None]
        else:
            self.Y = (y[:, None] == classes).astype(float)
        self.n_classes = len(classes)

    def value(self, W, b):
        """J at weights ``W`` (n_features, n_outputs) and intercepts ``b`` (n_outputs,)."""
        return self._value_grad(self.X, W, b, gradient=False)

    def _value_grad(self, X, W, b, gradient=True):
        Z = X @ W + b
        if self.link == "sigmoid":
            losses = np.logaddexp(0.0, Z) - self.Y * Z
            P = expit(Z) if gradient else None
        else:
            normaliser = logsumexp(Z, axis=1, keepdims=True)
            losses = normaliser[:, 0] - (self.Y * Z).sum(axis=1)
            P = np.exp(Z - normaliser) if gradient else None
        value = float(losses.sum() / len(X) + 0.5 * self.alpha * np.vdot(W, W))
        if not gradient:
            return value
        R = (P - self.Y) / len(X)
        return value, X.T @ R + self.alpha * W, R.sum(axis=0)

    def minimum(self):
        """The exact minimum, by L-BFGS at a tolerance far below any gap measured.

        With more features than samples the minimiser lies in the row space of
        X (optimality: ``alpha W = -X^T R``), so it is found in the coordinates
        of ``X = U S V^T``: the same minimum, n_samples unknowns per output.

        Returns
        -------
        value : float
            J*.
        """
        X = self.X
        if X.shape[1] > X.shape[0]:
            U, S, _ = np.linalg.svd(X, full_matrices=False)
            X = U * S
        k = self.Y.shape[1]
        size = X.shape[1] * k

        def fun(theta):
            value, grad_W, grad_b = self._value_grad(X, theta[:size].reshape(-1, k), theta[size:])
            return value, np.concatenate([grad_W.ravel(), grad_b])

        # ftol=0: only the gradient test (or the line search at machine precision) stops
        # it; a restart from its result gains less than 1e-13 relative on these problems.
        options = dict(maxiter=100_000, maxfun=200_000, maxcor=30, gtol=1e-13, ftol=0.0)
        result = minimize(fun, np.zeros(size + k), jac=True, method="L-BFGS-B", options=options)
        return float(result.fun)


def lbfgs(model, n_samples, n_classes, alpha, **params):
    """scikit-learn's lbfgs model with the same objective as sknn's ``model``.

    ``C = 1 / (n alpha)`` makes ``C sum(loss) + ||w||^2 / 2`` equal to
    ``J / alpha``: the same minimiser. LogisticRegressionGD with K > 2 classes
    minimises the sum of K binary objectives: one-vs-rest. SoftmaxGD on two
    classes penalises two columns whose difference ``v`` is all the loss
    sees; the penalty is smallest at ``w_1 = -w_0 = v/2``, where it is
    ``alpha/4 ||v||^2``: a binary logistic regression with ``C = 2 / (n alpha)``.
    """
    C = 1.0 / (n_samples * alpha)
    if model == "SoftmaxGD":
        return LogisticRegression(C=2 * C if n_classes == 2 else C, **params)
    binary = LogisticRegression(C=C, **params)
    return binary if n_classes == 2 else OneVsRestClassifier(binary)


def lbfgs_weights(model, fitted, n_classes):
    """``(W, b)`` of a fitted :func:`lbfgs` model in the layout of sknn's ``model``."""
    if isinstance(fitted, OneVsRestClassifier):
        W = np.column_stack([e.coef_[0] for e in fitted.estimators_])
        b = np.array([e.intercept_[0] for e in fitted.estimators_])
    else:
        W, b = fitted.coef_.T, fitted.intercept_
    if model == "SoftmaxGD" and n_classes == 2:  # the symmetric split: logits -v/2 and v/2
        W, b = np.hstack([-W / 2, W / 2]), np.concatenate([-b / 2, b / 2])
    return W, b


def lbfgs_iterations(fitted):
    """Iterations lbfgs ran (the largest over the one-vs-rest problems)."""
    if isinstance(fitted, OneVsRestClassifier):
        return max(int(e.n_iter_[0]) for e in fitted.estimators_)
    return int(np.max(fitted.n_iter_))


def _problem(data, model, alpha, sizes, config):
    """Time one (data, model) pair against lbfgs: its table row, targets and curves."""
    X, y = data.X_train, data.y_train
    objective = Objective("sigmoid" if model == "LogisticRegressionGD" else "softmax", X, y, alpha)
    with blas_threads(1):
        optimum = objective.minimum()

    def gap(W, b):
        return max((objective.value(W, b) - optimum) / optimum, 0.0)

    def their_gap(fitted):
        return gap(*lbfgs_weights(model, fitted, objective.n_classes))

    fitted = {}

    def candidate(side):
        def fit(_):
            if side == "sknn":
                fitted[side] = fit_warned(MODELS[model](), X, y)
            else:
                theirs = lbfgs(model, len(y), objective.n_classes, alpha, max_iter=10_000)
                fitted[side] = fit_warned(theirs, X, y)

        return fit

    candidates = {side: candidate(side) for side in ("sknn", "lbfgs")}
    label, threads = f"{NAME}:   {data.name} {model} ", {"sknn": 1, "lbfgs": 1}
    s = interleave(candidates, sizes["repeats"], threads=threads, config=config, label=label)
    (ours, warned), (theirs, _) = fitted["sknn"], fitted["lbfgs"]
    one = compare(s["sknn"], s["lbfgs"])
    row = {
        "data": data.label,
        "model": model,
        "pair": pair(one),
        "n_iter": f"{ours.n_iter_} vs {lbfgs_iterations(theirs)}",
        "stop_reason": ours.stop_reason_ + (" (ConvergenceWarning)" if warned else ""),
        "gap": gap(ours.coef_.T, ours.intercept_),
        "lbfgs_gap": their_gap(theirs),
    }
    targets = [
        Target.on_ratio(
            f"default fit time / lbfgs's, {data.label}, {model}", one, TARGET_RATIO, "<="
        ),
        Target(
            f"relative gap of the default fit to J*, {data.label}, {model}",
            row["gap"],
            TARGET_GAP,
            "<=",
            kind="sci",
            detail=f"{ours.n_iter_} iterations, {ours.stop_reason_}",
        ),
    ]
    # The plot's time axis: each method's iterations times its median time per iteration.
    ours_curve = [max((v - optimum) / optimum, 0.0) for v in ours.loss_curve_]
    per_iteration = one["numerator"] / ours.n_iter_, one["denominator"] / lbfgs_iterations(theirs)
    curves = {
        f"{model}() default": [((k + 1) * per_iteration[0], g) for k, g in enumerate(ours_curve)],
        "LogisticRegression, lbfgs": [
            (k * per_iteration[1], g)
            for k, g in _lbfgs_curve(model, X, y, objective, alpha, their_gap)
        ],
    }
    return row, targets, curves


def _lbfgs_curve(model, X, y, objective, alpha, gap):
    """(iterations, gap) of lbfgs stopped at max_iter 1, 2, 4, ... until it stops by itself."""
    points = []
    with blas_threads(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for k in (2**i for i in range(20)):
            fitted = lbfgs(model, len(y), objective.n_classes, alpha, max_iter=k, tol=1e-12)
            points.append((lbfgs_iterations(fitted.fit(X, y)), gap(fitted)))
            if points[-1][0] < k:
                return points
    return points


def run(config):
    """Time the default fits against lbfgs and measure both gaps, on each problem.

    Parameters
    ----------
    config : Config

    Returns
    -------
    section : Section
    """
    sizes = config.pick(SIZES)
    alpha = LogisticRegressionGD().alpha
    table = Table("Default fits against LogisticRegression(C=1/(n·alpha)), lbfgs", _COLUMNS)
    section = Section(NAME, TITLE, _INTRO.format(alpha=alpha), tables=[table])
    curves = {}
    for key in sizes["datasets"]:
        data = _data.load(key, config)
        for model in MODELS:
            config.progress(f"{NAME}: {model} on {data.label}")
            row, targets, curves[data.label, model] = _problem(data, model, alpha, sizes, config)
            table.rows.append(row)
            section.targets += targets
    section.data["curves"] = {"|".join(key): value for key, value in curves.items()}
    table.notes += [
        f"Fit time: medians of {sizes['repeats']} interleaved round(s) after a warm-up round, "
        "whole fits to each one's own stopping rule: sknn's defaults against lbfgs with its "
        "default tol and max_iter=10000; the ratio's range is over the rounds. One BLAS "
        "thread, like with like: scipy's two-thread OpenBLAS mostly measures its threading "
        "overhead on such small problems (the peers section times both settings).",
        "LogisticRegressionGD with more than two classes is one-vs-rest sigmoids (the sum of "
        "K binary objectives): `OneVsRestClassifier(LogisticRegression(C))`; SoftmaxGD on "
        "two classes: `LogisticRegression(C=2/(n·alpha))`, its coefficients v mapped to the "
        "logits ∓v/2. Every model is scored on the same independent J.",
        "The default fits on breast_cancer and digits are the peers section's fits (same data, "
        "parameters and BLAS setting): the two tables' times differ only by the noise between "
        "their rounds.",
    ]
    size = (10.0, 2.9 * len(sizes["datasets"]) + 0.6)
    section.figures.append(Figure("convergence.png", _CAPTION, lambda f: _draw(f, curves), size))
    section.summary = (
        f"default fit against lbfgs, {blas_label(1)}: "
        + "; ".join(
            f"{r['model']} on {r['data']} {r['pair']}, gap {r['gap']:.0e}" for r in table.rows
        )
        + f" (lbfgs's own gaps: {max(r['lbfgs_gap'] for r in table.rows):.0e} at most)."
    )
    return section


_CAPTION = (
    "Relative gap (J − J*)/J* against time: sknn's default fit (its loss_curve_) and lbfgs "
    "stopped after 1, 2, 4... iterations; time: iterations × each fit's median time per "
    f"iteration, 1 BLAS thread; gaps below {GAP_FLOOR:g} are drawn on that floor"
)
_INTRO = (
    "J = mean log-loss + {alpha:g}/2 ‖W‖² (sknn's default alpha, intercept unpenalised). J* "
    "comes from scipy's L-BFGS at a tight tolerance (gtol 1e-13, ftol 0) on an independent "
    "NumPy implementation of J; with more features than samples it is solved in the "
    "coordinates of the SVD of X. The data: the bundled sets standardized on their training "
    "split, the cat data flattened and divided by 255 (or its stand-in, as named in each row)."
)
_COLUMNS = [
    Column("data", "data"),
    Column("model", "model"),
    Column("pair", "fit time: default vs lbfgs = ratio (range), 1 BLAS thread"),
    Column("n_iter", "iterations: default vs lbfgs"),
    Column("stop_reason", "default: stop_reason_"),
    Column("gap", "default: gap to J*", "sci"),
    Column("lbfgs_gap", "lbfgs: gap to J*", "sci"),
]


def _draw(figure, curves):
    datasets = list(dict.fromkeys(label for label, _ in curves))
    axes = figure.subplots(len(datasets), len(MODELS), squeeze=False)
    for (label, model), lines in curves.items():
        ax = axes[datasets.index(label), list(MODELS).index(model)]
        for (name, points), style in zip(lines.items(), ("-", "o-")):
            seconds, gaps = np.array(points).T
            ax.plot(seconds, np.maximum(gaps, GAP_FLOOR), style, ms=3, label=name)
        ax.axhline(TARGET_GAP, color="tab:red", linestyle=":", lw=1)
        ax.set(xscale="log", yscale="log", ylim=(GAP_FLOOR / 3, None))
        ax.set_title(f"{model}\non {label}", fontsize=9)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="lower left")
    for ax in axes[-1]:
        ax.set_xlabel("time (s)")
    for ax in axes[:, 0]:
        ax.set_ylabel("(J − J*) / J*")
