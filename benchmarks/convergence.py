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

import math
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
    Column, Figure, Section, Table, Target, blas_label, blas_threads, compare, interleave, median,
    pair,
)  # fmt: skip

NAME = "convergence"
TITLE = "Convergence: the default fits against lbfgs LogisticRegression and the exact optimum"
TARGET_RATIO = 3.0
TARGET_GAP = 1e-6
GAP_FLOOR = 1e-13  # relative gaps below this are rounding: plots draw them on it
LBFGS_MAX_ITER = 10_000
MODELS = {"LogisticRegressionGD": LogisticRegressionGD, "SoftmaxGD": SoftmaxGD}

SIZES = {
    "full": dict(datasets=(*_data.BUNDLED, "cat"), repeats=5, threads=(1, None)),
    "default": dict(datasets=("breast_cancer", "digits", "cat"), repeats=3, threads=(1, None)),
    "quick": dict(datasets=("breast_cancer", "digits"), repeats=1, threads=(1,)),
    "tiny": dict(datasets=("breast_cancer",), repeats=1, threads=(1,)),
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
        info : dict
            ``value`` (J*), ``gradient_norm`` of the full objective there (a
            certificate) and ``iterations``.
        """
        X, basis = self.X, None
        if X.shape[1] > X.shape[0]:
            U, S, basis_t = np.linalg.svd(X, full_matrices=False)
            X, basis = U * S, basis_t.T
        k = self.Y.shape[1]
        size = X.shape[1] * k

        def fun(theta):
            value, grad_W, grad_b = self._value_grad(X, theta[:size].reshape(-1, k), theta[size:])
            return value, np.concatenate([grad_W.ravel(), grad_b])

        theta, iterations = np.zeros(size + k), 0
        # Restarted until a restart gains nothing: L-BFGS-B stops on its line search
        # near machine precision, and a fresh memory sometimes goes further.
        for _ in range(5):
            result = minimize(fun, theta, jac=True, method="L-BFGS-B",
                              options=dict(maxiter=100_000, maxfun=200_000, maxcor=30,
                                           gtol=1e-13, ftol=0.0))  # fmt: skip
            iterations += result.nit
            improved = result.fun < fun(theta)[0]
            theta = result.x
            if not improved:
                break
        W, b = theta[:size].reshape(-1, k), theta[size:]
        W = W if basis is None else basis @ W
        value, grad_W, grad_b = self._value_grad(self.X, W, b)
        norm = math.sqrt(float(np.vdot(grad_W, grad_W) + grad_b @ grad_b))
        return {"value": value, "gradient_norm": norm, "iterations": iterations}


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
    """Time one (data, model) pair against lbfgs; gaps, iterations and curves."""
    X, y = data.X_train, data.y_train
    objective = Objective("sigmoid" if model == "LogisticRegressionGD" else "softmax", X, y, alpha)
    with blas_threads(1):
        optimum = objective.minimum()
    J_star = optimum["value"]

    def gap(W, b):
        return max((objective.value(W, b) - J_star) / J_star, 0.0)

    fitted = {}

    def candidate(side):
        def fit(_):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                if side == "sknn":
                    estimator = MODELS[model]().fit(X, y)
                else:
                    estimator = lbfgs(model, len(y), objective.n_classes, alpha,
                                      max_iter=LBFGS_MAX_ITER).fit(X, y)  # fmt: skip
            fitted[side] = (estimator, sum(issubclass(w.category, ConvergenceWarning) for w in caught))

        return fit

    candidates = {(side, t): candidate(side) for t in sizes["threads"] for side in ("sknn", "lbfgs")}
    samples = interleave(candidates, sizes["repeats"], threads={k: k[1] for k in candidates},
                         config=config, label=f"{NAME}:   {data.name} {model} ")  # fmt: skip
    (ours, warned), (theirs, _) = fitted["sknn"], fitted["lbfgs"]
    ours_gap = gap(ours.coef_.T, ours.intercept_)
    theirs_gap = gap(*lbfgs_weights(model, theirs, objective.n_classes))
    return {
        "samples": samples, "J_star": J_star, "optimum": optimum, "sknn_gap": ours_gap,
        "lbfgs_gap": theirs_gap, "n_iter": int(ours.n_iter_), "stop_reason": ours.stop_reason_,
        "warned": warned, "lbfgs_iter": lbfgs_iterations(theirs),
        "sknn_curve": [max((v - J_star) / J_star, 0.0) for v in ours.loss_curve_],
        "lbfgs_curve": _lbfgs_curve(model, X, y, objective, alpha, gap, lbfgs_iterations(theirs)),
    }  # fmt: skip


def _lbfgs_curve(model, X, y, objective, alpha, gap, n_iter):
    """(iterations, gap) of lbfgs stopped at max_iter 1, 2, 4, ... (untimed, for the plot)."""
    points, k = [], 1
    with blas_threads(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        while k <= 2 * n_iter:
            fitted = lbfgs(model, len(y), objective.n_classes, alpha, max_iter=k, tol=1e-12)
            fitted.fit(X, y)
            points.append((lbfgs_iterations(fitted), gap(*lbfgs_weights(model, fitted, objective.n_classes))))
            k *= 2
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
    threads = sizes["threads"]
    table = Table("Default fits against LogisticRegression(C=1/(n·alpha)), lbfgs", [
        *_COLUMNS, *[c for t in threads[1:] for c in (
            Column(f"ratio{t}", f"ratio, {blas_label(t)}", "ratio"),
            Column(f"range{t}", "range", "ratio"))]])  # fmt: skip
    section = Section(NAME, TITLE, _INTRO.format(alpha=alpha), tables=[table])
    plots = {}
    for key in sizes["datasets"]:
        data = _data.load(key, config)
        for model in MODELS:
            config.progress(f"{NAME}: {model} on {data.label}")
            result = _problem(data, model, alpha, sizes, config)
            s = result["samples"]
            one = compare(s["sknn", 1], s["lbfgs", 1])
            row = {
                "data": data.label, "model": model, "sknn": one["numerator"],
                "lbfgs": one["denominator"], "ratio": one["ratio"], "range": one["range"],
                "n_iter": result["n_iter"], "stop_reason": result["stop_reason"]
                + (" (ConvergenceWarning)" if result["warned"] else ""),
                "lbfgs_iter": result["lbfgs_iter"], "sknn_gap": result["sknn_gap"],
                "lbfgs_gap": result["lbfgs_gap"], "J_star": result["J_star"],
            }  # fmt: skip
            for t in threads[1:]:
                other = compare(s["sknn", t], s["lbfgs", t])
                row[f"ratio{t}"], row[f"range{t}"] = other["ratio"], other["range"]
            table.rows.append(row)
            section.targets += [
                Target(f"default fit time / lbfgs's, {data.label}, {model}, {blas_label(1)}",
                       one["ratio"], TARGET_RATIO, "<=", *one["range"], detail=pair(one)),
                Target(f"relative gap of the default fit to J*, {data.label}, {model}",
                       result["sknn_gap"], TARGET_GAP, "<=", kind="sci",
                       detail=f"{result['n_iter']} iterations, {result['stop_reason']}"),
            ]  # fmt: skip
            plots[data.label, model] = {
                "sknn": (result["sknn_curve"], median(s["sknn", 1]) / max(result["n_iter"], 1)),
                "lbfgs": (result["lbfgs_curve"], median(s["lbfgs", 1]) / max(result["lbfgs_iter"], 1)),
            }  # fmt: skip
            section.data[f"{data.label}|{model}"] = {
                "optimum": result["optimum"],
                "samples": {f"{side}|{blas_label(t)}": v for (side, t), v in s.items()},
                "sknn_curve": result["sknn_curve"], "lbfgs_curve": result["lbfgs_curve"],
            }  # fmt: skip
    table.notes += [
        f"Times: medians of {sizes['repeats']} interleaved round(s) after a warm-up round, "
        "whole fits to each one's own stopping rule: sknn's defaults, against lbfgs with its "
        f"default tol and max_iter={LBFGS_MAX_ITER}. The ratio is that of the two medians "
        "left of it; the targets use the 1-thread columns (like with like: scipy's 2-thread "
        "OpenBLAS mostly measures its threading overhead on such small problems).",
        "LogisticRegressionGD with more than two classes is one-vs-rest sigmoids (the sum of "
        "K binary objectives): `OneVsRestClassifier(LogisticRegression(C))`; SoftmaxGD on "
        "two classes: `LogisticRegression(C=2/(n·alpha))`, its coefficients v mapped to the "
        "logits ∓v/2. Every model is scored on the same independent J.",
        "The default fits of LogisticRegressionGD and SoftmaxGD on breast_cancer and digits "
        "are the fits of the peers section's table (same data and parameters, 1 BLAS thread "
        "in both): the two sections' figures differ only by the noise between their rounds.",
    ]
    section.figures.append(Figure(
        "convergence.png",
        "Relative gap (J − J*)/J* against time, per problem: sknn's default fit (its "
        "loss_curve_) and lbfgs stopped after 1, 2, 4... iterations; time: iterations × each "
        f"fit's median time per iteration, {blas_label(1)}; gaps below {GAP_FLOOR:g} are drawn "
        "on that floor", lambda fig: _draw(fig, plots),
        size=(10.0, 2.9 * len(sizes["datasets"]) + 0.6)))  # fmt: skip
    ratios = [r["ratio"] for r in table.rows]
    section.summary = (
        f"the default fits take {min(ratios):.2g}x–{max(ratios):.2g}x lbfgs's time over "
        f"{len(table.rows)} problems ({blas_label(1)}); their relative gaps to J* are at most "
        f"{max(r['sknn_gap'] for r in table.rows):.0e} (lbfgs's default tol: "
        f"{max(r['lbfgs_gap'] for r in table.rows):.0e}). Per problem: "
        + "; ".join(f"{r['model']} on {r['data']}: {fmt_row(r)}" for r in table.rows) + "."
    )
    return section


def fmt_row(row):
    """'12 ms vs 7 ms = 1.7x (1.5x – 1.9x)' for one table row."""
    return pair({"numerator": row["sknn"], "denominator": row["lbfgs"], "ratio": row["ratio"],
                 "range": row["range"]})  # fmt: skip


_INTRO = (
    "J = mean log-loss + {alpha:g}/2 ‖W‖² (sknn's default alpha, intercept unpenalised). J* "
    "comes from scipy's L-BFGS at a tight tolerance (gtol 1e-13, restarted until it gains "
    "nothing) on an independent NumPy implementation of J; with more features than samples "
    "it is solved in the coordinates of the SVD of X. The data: the bundled sets "
    "standardized on their training split, the cat data flattened and divided by 255 (or its "
    "stand-in, as named in each row)."
)
_COLUMNS = [
    Column("data", "data"), Column("model", "model"), Column("sknn", "default fit", "seconds"),
    Column("lbfgs", "lbfgs fit", "seconds"), Column("ratio", "ratio, 1 thread", "ratio"),
    Column("range", "range", "ratio"), Column("n_iter", "default: n_iter_", "int"),
    Column("stop_reason", "stop_reason_"), Column("lbfgs_iter", "lbfgs: iterations", "int"),
    Column("sknn_gap", "default: gap", "sci"), Column("lbfgs_gap", "lbfgs: gap", "sci"),
]  # fmt: skip


def _draw(figure, plots):
    keys = list(plots)
    datasets = list(dict.fromkeys(label for label, _ in keys))
    axes = figure.subplots(len(datasets), len(MODELS), squeeze=False)
    for (label, model), entry in plots.items():
        ax = axes[datasets.index(label), list(MODELS).index(model)]
        curve, per_iteration = entry["sknn"]
        ax.plot(np.arange(1, len(curve) + 1) * per_iteration, np.maximum(curve, GAP_FLOOR),
                color="tab:green", lw=1.8, label=f"{model}() default")  # fmt: skip
        points, per_iteration = entry["lbfgs"]
        ax.plot([max(k, 1) * per_iteration for k, _ in points],
                [max(g, GAP_FLOOR) for _, g in points], "o-", color="black", ms=3,
                label="LogisticRegression, lbfgs")  # fmt: skip
        ax.axhline(TARGET_GAP, color="tab:red", linestyle=":", lw=1)
        ax.set(xscale="log", yscale="log", ylim=(GAP_FLOOR / 3, None))
        ax.set_title(f"{model}\non {label}", fontsize=9)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="lower left")
    for ax in axes[-1]:
        ax.set_xlabel("time (s)")
    for ax in axes[:, 0]:
        ax.set_ylabel("(J − J*) / J*")
