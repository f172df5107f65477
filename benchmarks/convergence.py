"""Section ``convergence``: how fast each optimizer reaches the minimum of its objective.

Both linear models minimise ``J(W, b) = mean log-loss + alpha/2 ||W||^2`` (the
intercept unpenalised). Its exact minimum ``J*`` is computed here, on each
data set, by scipy's L-BFGS at a very tight tolerance on an independent NumPy
implementation of ``J``, and every method is judged by the relative gap
``(J - J*) / J*`` of the model it returns, against the wall time of the fit
that returned it.

The methods: sknn's ``gd`` (fixed step 1/L), ``momentum`` (heavy ball, 1/L),
``nesterov`` (FISTA momentum, Armijo line search, function restart), ``cg``
(preconditioned Polak-Ribiere+ conjugate gradient with a Newton line search
on the logits), the default ``lbfgs`` (limited-memory BFGS, 100 pairs, with
the same preconditioner and line search), ``adam`` (step 0.01), and
scikit-learn's lbfgs ``LogisticRegression``
on the same objective (``C = 1 / (n alpha)``; one-vs-rest for
LogisticRegressionGD with more than two classes).

A point of a curve is one whole fit with ``max_iter = k`` (``tol=None`` for
sknn, a negligible ``tol`` for lbfgs) and the gap of the model it returns: its
time is what a user pays for that model, set-up included. Timing epochs from
inside one long fit instead (a ``FitCallback`` stamping each epoch) would add
the callback machinery to every epoch; the section measures how much.
"""

import math
import time
import warnings
from contextlib import ExitStack
from unittest import mock

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, logsumexp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier

from sknn import LogisticRegressionGD, SoftmaxGD

from . import _data
from ._report import Column, Figure, Section, Table, Target
from ._timing import (
    blas_setting_label,
    blas_threads,
    compare,
    interleave,
    median,
    threads_key,
    time_per_unit,
)

NAME = "convergence"
TITLE = "Convergence: relative objective gap against time, sknn's optimizers and lbfgs"

#: The issue's targets: the default fit within 3x of lbfgs's fit, and the gap
#: that counts as "at the minimum". Time to that gap uses the same 3x bound.
TARGET_RATIO = 3.0
TARGET_GAP = 1e-6
#: Relative gaps at or below this are rounding (the objective is a float64 mean):
#: curves stop there and plots draw them on this floor.
GAP_FLOOR = 1e-13
#: lbfgs's tolerance when it is run for a fixed number of iterations: small
#: enough that only max_iter (or scipy's ftol at machine precision) stops it.
LBFGS_TIGHT_TOL = 1e-12
#: max_iter of the default-tolerance lbfgs fit: large enough to converge.
LBFGS_MAX_ITER = 10_000

MODELS = {"LogisticRegressionGD": LogisticRegressionGD, "SoftmaxGD": SoftmaxGD}
#: sknn methods: label -> parameters on top of ``random_state=0``.
METHODS = {
    "gd (step 1/L)": dict(optimizer="gd"),
    "momentum (1/L)": dict(optimizer="momentum"),
    "nesterov + line search": dict(optimizer="nesterov"),
    "conjugate gradient": dict(optimizer="cg"),
    "L-BFGS (default)": {},
    "adam (0.01)": dict(optimizer="adam"),
}
DEFAULT_METHOD = "L-BFGS (default)"
LBFGS = "lbfgs (scikit-learn)"
#: BLAS threads of the curves and of the targets (see the intro for why); the
#: target fits also run with each OpenBLAS's default thread count (None).
CURVE_THREADS = 1

#: Per mode: data sets; max_iter cap, growth factor and per-fit time budget of
#: the curves' grids; interleaved rounds of the curves and of the target fits
#: (after warm-up rounds); the cap of the default's run to TARGET_GAP; BLAS
#: thread settings of the target fits (None: the libraries' default).
SIZES = {
    "full": dict(
        datasets=("breast_cancer", "digits", "cat"),
        max_iter=20_000,
        fit_budget=2.0,
        growth=10**0.25,
        curve_repeats=2,
        target_repeats=5,
        target_warmup=1,
        to_gap_max_iter=20_000,
        thread_settings=(1, None),
    ),
    "quick": dict(
        datasets=("breast_cancer", "digits"),
        max_iter=500,
        fit_budget=0.2,
        growth=2.0,
        curve_repeats=1,
        target_repeats=1,
        target_warmup=0,
        to_gap_max_iter=5_000,
        # Two-thread BLAS is timed in full runs: on a loaded machine it takes minutes.
        thread_settings=(1,),
    ),
    "tiny": dict(
        # The tiny cat stand-in is badly conditioned (the default runs all 5000
        # epochs on it): seconds the smoke test cannot spend.
        datasets=("breast_cancer",),
        max_iter=30,
        fit_budget=0.02,
        growth=3.0,
        curve_repeats=0,
        target_repeats=1,
        target_warmup=0,
        to_gap_max_iter=500,
        # One setting: two-thread BLAS on a loaded machine makes seconds of this.
        thread_settings=(1,),
    ),
}


# ------------------------------------------------------------- the objective
class Objective:
    """``mean log-loss + alpha/2 ||W||^2`` in plain NumPy, independent of sknn.

    Parameters
    ----------
    link : {'sigmoid', 'softmax'}
        'sigmoid': one unit for two classes, else one per class (one-vs-rest,
        the sum of the per-class binary objectives); 'softmax': one output
        per class, two included.
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    alpha : float
    """

    def __init__(self, link, X, y, alpha):
        self.link, self.alpha = link, alpha
        classes = np.unique(y)
        if link == "sigmoid" and len(classes) == 2:
            self.Y = (y == classes[1]).astype(float)[:, None]
        else:
            self.Y = (y[:, None] == classes[None, :]).astype(float)
        self.X = X
        self.n_outputs = self.Y.shape[1]
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
            log_normaliser = logsumexp(Z, axis=1, keepdims=True)
            losses = log_normaliser[:, 0] - (self.Y * Z).sum(axis=1)
            P = np.exp(Z - log_normaliser) if gradient else None
        n = X.shape[0]
        value = losses.sum() / n + 0.5 * self.alpha * float(np.vdot(W, W))
        if not gradient:
            return float(value)
        R = (P - self.Y) / n
        return float(value), X.T @ R + self.alpha * W, R.sum(axis=0)

    def minimum(self):
        """The exact minimum, by L-BFGS at a tolerance far below any gap measured.

        With more features than samples the minimiser lies in the row space of X
        (the optimality condition is ``alpha W = -X^T R``), so it is found in the
        coordinates of ``X = U S V^T``: same minimum, n_samples columns instead of
        n_features. The gradient of the full objective at the result is
        returned as a certificate.

        Returns
        -------
        info : dict
            ``value`` (J*), ``W``, ``b``, ``gradient_norm`` (of the full
            objective at the minimiser), ``bound`` (the relative gap this norm
            allows, ``||g||^2 / (2 alpha J*)``), ``iterations``, ``seconds``.
        """
        start = time.perf_counter()
        X, basis = self.X, None
        if X.shape[1] > X.shape[0]:
            U, S, basis_t = np.linalg.svd(X, full_matrices=False)
            X, basis = U * S, basis_t.T
        n_weights = X.shape[1] * self.n_outputs

        def fun(theta):
            W = theta[:n_weights].reshape(X.shape[1], self.n_outputs)
            value, grad_W, grad_b = self._value_grad(X, W, theta[n_weights:])
            return value, np.concatenate([grad_W.ravel(), grad_b])

        theta = np.zeros(n_weights + self.n_outputs)
        iterations = 0
        # Restarted until a restart gains nothing: L-BFGS-B stops on its line
        # search near machine precision, and a fresh memory sometimes goes on.
        for _ in range(5):
            result = minimize(
                fun,
                theta,
                jac=True,
                method="L-BFGS-B",
                options=dict(maxiter=100_000, maxfun=200_000, maxcor=30, gtol=1e-13, ftol=0.0),
            )
            iterations += result.nit
            improved = result.fun < fun(theta)[0]
            theta = result.x
            if not improved:
                break
        W = theta[:n_weights].reshape(X.shape[1], self.n_outputs)
        b = theta[n_weights:]
        if basis is not None:
            W = basis @ W
        value, grad_W, grad_b = self._value_grad(self.X, W, b)
        norm = math.sqrt(float(np.vdot(grad_W, grad_W)) + float(grad_b @ grad_b))
        return {
            "value": value,
            "W": W,
            "b": b,
            "gradient_norm": norm,
            "bound": norm**2 / (2 * self.alpha * value),
            "iterations": iterations,
            "seconds": time.perf_counter() - start,
        }


# ------------------------------------------------------------- the estimators
def lbfgs(model, n_samples, n_classes, alpha, **params):
    """scikit-learn's lbfgs model with the same objective as sknn's ``model``.

    ``C = 1 / (n alpha)`` turns scikit-learn's ``C sum(loss) + ||w||^2 / 2``
    into ``(mean loss + alpha/2 ||w||^2) / alpha``: same minimiser. For
    LogisticRegressionGD with K > 2 classes, whose objective is the sum of K
    binary ones, the match is one-vs-rest. For SoftmaxGD on two classes
    (two softmax columns, both penalised), the loss depends on ``v = w_1 - w_0``
    and the penalty is smallest at ``w_1 = -w_0 = v/2``, where it is
    ``alpha/4 ||v||^2``: a binary logistic regression with ``alpha / 2``, so
    ``C = 2 / (n alpha)``.

    Parameters
    ----------
    model : {'LogisticRegressionGD', 'SoftmaxGD'}
    n_samples, n_classes : int
    alpha : float
        sknn's L2 strength.
    **params
        Passed to ``LogisticRegression`` (``max_iter``, ``tol``).

    Returns
    -------
    estimator : LogisticRegression or OneVsRestClassifier
    """
    C = 1.0 / (n_samples * alpha)
    if model == "SoftmaxGD":
        return LogisticRegression(C=2 * C if n_classes == 2 else C, **params)
    binary = LogisticRegression(C=C, **params)
    return binary if n_classes == 2 else OneVsRestClassifier(binary)


def lbfgs_weights(model, fitted, n_classes):
    """``(W, b)`` of a fitted lbfgs model in the parametrisation of sknn's ``model``.

    Parameters
    ----------
    model : {'LogisticRegressionGD', 'SoftmaxGD'}
    fitted : LogisticRegression or OneVsRestClassifier
        From :func:`lbfgs`.
    n_classes : int

    Returns
    -------
    W : ndarray of shape (n_features, n_outputs)
    b : ndarray of shape (n_outputs,)
    """
    if isinstance(fitted, OneVsRestClassifier):
        W = np.column_stack([e.coef_[0] for e in fitted.estimators_])
        b = np.array([e.intercept_[0] for e in fitted.estimators_])
    else:
        W, b = fitted.coef_.T, fitted.intercept_
    if model == "SoftmaxGD" and n_classes == 2:
        # The symmetric split of the logit difference v: logits -v/2 and v/2.
        W, b = np.hstack([-W / 2, W / 2]), np.concatenate([-b / 2, b / 2])
    return W, b


def lbfgs_iterations(fitted):
    """Iterations lbfgs ran (the largest over the one-vs-rest problems)."""
    if isinstance(fitted, OneVsRestClassifier):
        return int(max(e.n_iter_[0] for e in fitted.estimators_))
    return int(np.max(fitted.n_iter_))


class _Problem:
    """One (data set, model) pair: its objective, its minimum and its fits."""

    def __init__(self, key, data, model, alpha):
        self.key, self.data, self.model, self.alpha = key, data, model, alpha
        link = "sigmoid" if model == "LogisticRegressionGD" else "softmax"
        self.X, self.y = data.X_train, data.y_train
        self.objective = Objective(link, self.X, self.y, alpha)
        self.n_samples, self.n_classes = len(self.y), self.objective.n_classes
        self.minimum = self.objective.minimum()
        self.f_star = self.minimum["value"]

    def gap(self, W, b):
        return (self.objective.value(W, b) - self.f_star) / self.f_star

    def sknn_gap(self, fitted):
        return self.gap(fitted.coef_.T, fitted.intercept_)

    def lbfgs_gap(self, fitted):
        return self.gap(*lbfgs_weights(self.model, fitted, self.n_classes))

    def sknn(self, **params):
        return MODELS[self.model](random_state=0, **params)

    def lbfgs(self, **params):
        return lbfgs(self.model, self.n_samples, self.n_classes, self.alpha, **params)


def _fitter(estimator, X, y, box):
    """A timed fit of ``estimator``; ``box['fitted']`` holds the fitted model."""

    def run():
        with warnings.catch_warnings():
            # Fixed-length fits stop on max_iter by design.
            warnings.simplefilter("ignore", ConvergenceWarning)
            estimator.fit(X, y)
        box["fitted"] = estimator

    return run


def _grid(cap, growth):
    """max_iter values 1, 2, ... then about ``growth`` apart, up to ``cap``."""
    k = 1
    while k <= cap:
        yield k
        k = max(k + 1, int(round(k * growth)))


# ----------------------------------------------------------------- the curves
def _curves(problem, sizes, config):
    """Gap against fit time for every method, on one problem.

    A discovery pass grows ``max_iter`` until the gap reaches the floor, a fit
    takes longer than the budget, the cap is hit, or (lbfgs) the fit stops by
    itself; the fits found are then timed again in interleaved rounds.
    """
    X, y = problem.X, problem.y
    methods = {label: (True, CURVE_THREADS) for label in METHODS}
    methods[f"{LBFGS}, {blas_setting_label(CURVE_THREADS)}"] = (False, CURVE_THREADS)
    if None in sizes["thread_settings"]:
        methods[f"{LBFGS}, {blas_setting_label(None)}"] = (False, None)
    curves, candidates, threads = {}, {}, {}
    for label, (is_sknn, n_threads) in methods.items():
        points = []
        for k in _grid(sizes["max_iter"], sizes["growth"]):
            box = {}
            if is_sknn:
                estimator = problem.sknn(**METHODS[label], max_iter=k, tol=None)
            else:
                estimator = problem.lbfgs(max_iter=k, tol=LBFGS_TIGHT_TOL)
            candidate = _fitter(estimator, X, y, box)
            seconds = time_per_unit(candidate, n_threads)
            fitted = box["fitted"]
            with blas_threads(1):
                if is_sknn:
                    gap, ran = problem.sknn_gap(fitted), int(fitted.n_iter_)
                else:
                    gap, ran = problem.lbfgs_gap(fitted), lbfgs_iterations(fitted)
            points.append({"max_iter": k, "iterations": ran, "gap": gap, "seconds": seconds})
            candidates[label, k], threads[label, k] = candidate, n_threads
            if gap <= GAP_FLOOR or seconds > sizes["fit_budget"] or ran < k:
                break
        curves[label] = points
    if sizes["curve_repeats"]:
        config.progress(
            f"{NAME}:   {problem.key} {problem.model}: timing {len(candidates)} fits, "
            f"{sizes['curve_repeats']} interleaved round(s)"
        )
        samples = interleave(candidates, sizes["curve_repeats"], warmup=0, threads=threads)
        for label, points in curves.items():
            for point in points:
                point["seconds"] = median(samples[label, point["max_iter"]])
    return curves


# ---------------------------------------------------------------- the targets
class _EpochCallback:
    """The FitCallback hooks both callbacks below leave empty: they act at each task's end."""

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass


class _EpochGaps(_EpochCallback):
    """FitCallback recording the gap after every epoch; stops training at ``stop_below``.

    The trajectory comes from the training itself (scikit-learn's callback API,
    ``fitted_estimator`` at each epoch's end); its fits are never timed.
    """

    def __init__(self, problem, stop_below):
        self.problem, self.stop_below, self.gaps = problem, stop_below, []

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        if context.parent is None or fitted_estimator is None:
            return False  # the fit's root task, or an epoch cut short
        self.gaps.append(self.problem.sknn_gap(fitted_estimator))
        return self.gaps[-1] <= self.stop_below


class _EpochClock(_EpochCallback):
    """FitCallback stamping the end of every epoch: what per-epoch timing would cost."""

    def __init__(self):
        self.stamps = []

    def on_fit_task_end(self, estimator, context):
        self.stamps.append(time.perf_counter())
        return False


def _sknn_iterations_to_gap(problem, sizes):
    """Epochs the default needs to a TARGET_GAP gap, and its per-epoch gaps (or None)."""
    recorder = _EpochGaps(problem, TARGET_GAP)
    estimator = problem.sknn(max_iter=sizes["to_gap_max_iter"], tol=None)
    if not hasattr(estimator, "set_callbacks"):  # scikit-learn without callbacks
        return None, []
    estimator.set_callbacks(recorder)
    estimator.fit(problem.X, problem.y)
    reached = [k for k, gap in enumerate(recorder.gaps, 1) if gap <= TARGET_GAP]
    if not reached:
        return None, recorder.gaps
    # A fit of exactly k epochs may take the other (direct or Gram) path, whose
    # rounding differs: take the first length whose own fit is there.
    for k in range(reached[0], reached[0] + 20):
        fitted = problem.sknn(max_iter=k, tol=None).fit(problem.X, problem.y)
        if problem.sknn_gap(fitted) <= TARGET_GAP:
            return k, recorder.gaps
    return None, recorder.gaps


def _lbfgs_iterations_to_gap(problem, cap=2_000):
    """Smallest max_iter at which lbfgs reaches TARGET_GAP (or None).

    lbfgs decreases the objective at every iteration (one-vs-rest: each of
    its problems does, so their sum does): the gap falls with max_iter, so
    doubling then bisection finds the first one.
    """

    def gap_at(k):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fitted = problem.lbfgs(max_iter=k, tol=LBFGS_TIGHT_TOL).fit(problem.X, problem.y)
        return problem.lbfgs_gap(fitted)

    high = 1
    while gap_at(high) > TARGET_GAP:
        if high >= cap:
            return None
        high *= 2
    low = high // 2  # gap_at(low) > target, or low == 0
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if gap_at(middle) <= TARGET_GAP else (middle, high)
    return high


def _target_fits(problem, sizes, config):
    """Interleaved timing of the default fit, of lbfgs, and of both to TARGET_GAP."""
    X, y = problem.X, problem.y
    with blas_threads(1):  # untimed
        k_sknn, epoch_gaps = _sknn_iterations_to_gap(problem, sizes)
        k_lbfgs = _lbfgs_iterations_to_gap(problem)
    boxes, candidates, threads = {}, {}, {}

    def add(name, estimator, n_threads):
        boxes[name, n_threads] = box = {}
        candidates[name, n_threads] = _fitter(estimator, X, y, box)
        threads[name, n_threads] = n_threads

    for n_threads in sizes["thread_settings"]:
        add("default", problem.sknn(), n_threads)
        add("lbfgs", problem.lbfgs(max_iter=LBFGS_MAX_ITER), n_threads)
        if k_sknn is not None:
            add("default to gap", problem.sknn(max_iter=k_sknn, tol=None), n_threads)
        if k_lbfgs is not None:
            add("lbfgs to gap", problem.lbfgs(max_iter=k_lbfgs, tol=LBFGS_TIGHT_TOL), n_threads)
    clock = _EpochClock()
    if hasattr(problem.sknn(), "set_callbacks"):
        add("default with epoch clock", problem.sknn().set_callbacks(clock), CURVE_THREADS)
    config.progress(
        f"{NAME}:   {problem.key} {problem.model}: {len(candidates)} target fits, "
        f"{sizes['target_repeats']} interleaved round(s)"
    )
    samples = interleave(
        candidates, sizes["target_repeats"], warmup=sizes["target_warmup"], threads=threads
    )
    # The default fit once more, untimed, to see whether it warns.
    with warnings.catch_warnings(record=True) as caught, blas_threads(1):
        warnings.simplefilter("always", ConvergenceWarning)
        default = problem.sknn().fit(X, y)
        default_gap = problem.sknn_gap(default)
        lbfgs_fit = boxes["lbfgs", CURVE_THREADS]["fitted"]
        lbfgs_gap = problem.lbfgs_gap(lbfgs_fit)
    warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return {
        "samples": samples,
        "k_sknn": k_sknn,
        "k_lbfgs": k_lbfgs,
        "epoch_gaps": epoch_gaps,
        "default": {
            "n_iter": int(default.n_iter_),
            "stop_reason": default.stop_reason_,
            "gap": default_gap,
            "convergence_warning": warned,
        },
        "lbfgs": {"n_iter": lbfgs_iterations(lbfgs_fit), "gap": lbfgs_gap},
    }


# ----------------------------------------------------- where the time goes
def _counting(counts, owner, method, name=None):
    """Patch ``owner.method`` to count its calls and the time spent in them (under ``name``)."""
    original = getattr(owner, method)
    name = method if name is None else name

    def counted(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            entry = counts.setdefault(name, [0, 0.0])
            entry[0] += 1
            entry[1] += time.perf_counter() - start

    return mock.patch.object(owner, method, counted)


def _evaluations(problem):
    """Objective evaluations of one default fit and one default lbfgs fit (untimed).

    Reads private classes of sknn and scikit-learn, guarded: None where they moved.
    """
    try:
        from sklearn.linear_model._linear_loss import LinearModelLoss

        from sknn._core.loop import _FullBatchProblem, _Line
        from sknn.linear import LinearObjective, SampleSpaceObjective
    except ImportError:
        return None
    sknn_counts, lbfgs_counts = {}, {}
    with ExitStack() as stack, blas_threads(CURVE_THREADS), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # Every gradient (one per epoch), and those computed from X itself: the
        # others come from the logits and probabilities of the line search's
        # last point.
        stack.enter_context(_counting(sknn_counts, _FullBatchProblem, "loss_grad"))
        for owner in (LinearObjective, SampleSpaceObjective):
            stack.enter_context(_counting(sknn_counts, owner, "loss_grad", "from_X"))
        # The line search's points: elementwise work on the logits, no product.
        stack.enter_context(_counting(sknn_counts, _Line, "at", "loss"))
        start = time.perf_counter()
        fitted = problem.sknn().fit(problem.X, problem.y)
        sknn_seconds = time.perf_counter() - start
        stack.enter_context(_counting(lbfgs_counts, LinearModelLoss, "loss_gradient"))
        start = time.perf_counter()
        problem.lbfgs(max_iter=LBFGS_MAX_ITER).fit(problem.X, problem.y)
        lbfgs_seconds = time.perf_counter() - start
    n_iter = int(fitted.n_iter_)
    loss_grads, loss_grad_seconds = sknn_counts.get("loss_grad", (0, 0.0))
    losses, loss_seconds = sknn_counts.get("loss", (0, 0.0))
    lbfgs_evaluations, lbfgs_eval_seconds = lbfgs_counts.get("loss_gradient", (0, 0.0))
    return {
        "n_iter": n_iter,
        "loss_grads": loss_grads,
        "from_X": sknn_counts.get("from_X", (0, 0.0))[0],
        "losses": losses,
        "evaluations_per_iteration": (loss_grads + losses) / n_iter,
        "loss_grad_seconds": loss_grad_seconds / max(loss_grads, 1),
        "loss_seconds": loss_seconds / max(losses, 1),
        "objective_share": (loss_grad_seconds + loss_seconds) / sknn_seconds,
        "lbfgs_evaluations": lbfgs_evaluations,
        "lbfgs_eval_seconds": lbfgs_eval_seconds / max(lbfgs_evaluations, 1),
        "lbfgs_objective_share": lbfgs_eval_seconds / lbfgs_seconds,
    }


# ---------------------------------------------------------------- the section
def _first_at_gap(points):
    return next((p for p in points if p["gap"] <= TARGET_GAP), None)


#: Columns shared by the section's tables: which problem a row is, the
#: 1-thread ratio with its target, and the same fits with default BLAS threads.
_PROBLEM_COLUMNS = (Column("dataset", "data"), Column("model", "model"))
_TARGET_COLUMNS = (
    Column("ratio_1thread", "ratio, 1 thread", "ratio"),
    Column("status", f"target <= {TARGET_RATIO:g}x"),
)
_DEFAULT_THREADS_COLUMNS = (
    Column("sknn_default", "default, 2 threads", "seconds"),
    Column("lbfgs_default", "lbfgs, 2 threads", "seconds"),
    Column("ratio_default", "ratio, 2 threads", "ratio"),
)


def run(config):
    """Measure gap against time of every method, and the two targets, on each data set.

    Parameters
    ----------
    config : Config

    Returns
    -------
    section : Section
    """
    sizes = config.pick(SIZES)
    alpha = LogisticRegressionGD().alpha
    section = Section(NAME, TITLE, _intro(alpha))
    curve_table = Table(
        f"Relative gap against fit time, every method ({blas_setting_label(CURVE_THREADS)} "
        "unless marked)",
        [
            *_PROBLEM_COLUMNS,
            Column("method", "method"),
            Column("f_star", "J*", "loss"),
            Column("gap_iter", f"max_iter to {TARGET_GAP:g}", "int"),
            Column("gap_seconds", f"fit time to {TARGET_GAP:g}", "seconds"),
            Column("last_iter", "longest fit: max_iter", "int"),
            Column("last_seconds", "its time", "seconds"),
            Column("last_gap", "its gap", "sci"),
        ],
    )
    gap_table = Table(
        f"Time to a {TARGET_GAP:g} relative gap: the default against lbfgs",
        [
            *_PROBLEM_COLUMNS,
            Column("k_sknn", "default: epochs", "int"),
            Column("sknn_1thread", "default, 1 thread", "seconds"),
            Column("k_lbfgs", "lbfgs: iterations", "int"),
            Column("lbfgs_1thread", "lbfgs, 1 thread", "seconds"),
            *_TARGET_COLUMNS,
            *_DEFAULT_THREADS_COLUMNS,
        ],
    )
    default_table = Table(
        "Default fit (only random_state set) against LogisticRegression(C=1/(n alpha))",
        [
            *_PROBLEM_COLUMNS,
            Column("n_iter", "default: epochs", "int"),
            Column("stop_reason", "stop_reason"),
            Column("gap", "final gap", "sci"),
            Column("sknn_1thread", "default, 1 thread", "seconds"),
            Column("lbfgs_iter", "lbfgs: iterations", "int"),
            Column("lbfgs_gap", "lbfgs final gap", "sci"),
            Column("lbfgs_1thread", "lbfgs, 1 thread", "seconds"),
            *_TARGET_COLUMNS,
            Column("versus_1x", "against 1x"),
            *_DEFAULT_THREADS_COLUMNS,
            Column("clock_overhead", "epoch-clock callback cost", "percent"),
        ],
    )
    time_table = Table(
        f"Where the default fit's time goes ({blas_setting_label(CURVE_THREADS)})",
        [
            *_PROBLEM_COLUMNS,
            Column("n_iter", "epochs", "int"),
            Column("loss_grads", "loss+gradient evaluations", "int"),
            Column("from_X", "of which from X (else from the line's logits)", "int"),
            Column("losses", "line-search points (loss, slope, curvature)", "int"),
            Column("per_iteration", "evaluations per epoch", "float"),
            Column("epoch_seconds", "fit time per epoch", "seconds"),
            Column("loss_grad_seconds", "per loss+gradient", "seconds"),
            Column("loss_seconds", "per loss", "seconds"),
            Column("objective_share", "share inside the objective", "percent"),
            Column("lbfgs_evaluations", "lbfgs evaluations", "int"),
            Column("lbfgs_eval_seconds", "lbfgs time per evaluation", "seconds"),
        ],
    )
    data_out, plots = {}, {}
    for key in sizes["datasets"]:
        data = _data.load(key, config)
        label = data.label
        plots[key] = {"label": label, "source": data.source, "models": {}}
        for model in MODELS:
            config.progress(f"{NAME}: {key} {data.shape}, {model}: exact minimum")
            with blas_threads(1):  # untimed
                problem = _Problem(key, data, model, alpha)
            config.progress(
                f"{NAME}:   J* = {problem.f_star:.12g} ({problem.minimum['iterations']} L-BFGS "
                f"iterations, {problem.minimum['seconds']:.1f} s); curves"
            )
            curves = _curves(problem, sizes, config)
            targets = _target_fits(problem, sizes, config)
            evaluations = _evaluations(problem)
            rows = _rows(problem, label, curves, targets, evaluations)
            curve_table.rows += rows["curves"]
            gap_table.rows.append(rows["gap"])
            default_table.rows.append(rows["default"])
            if evaluations is not None:
                time_table.rows.append(rows["time"])
            section.targets += rows["targets"]
            plots[key]["models"][model] = {
                "curves": curves,
                "default": (rows["default"]["sknn_1thread"], targets["default"]["gap"]),
                "lbfgs": (rows["default"]["lbfgs_1thread"], targets["lbfgs"]["gap"]),
            }
            data_out[f"{key}|{model}"] = {
                "minimum": {k: v for k, v in problem.minimum.items() if k not in ("W", "b")},
                "curves": curves,
                "default_epoch_gaps": targets["epoch_gaps"],
                "default": targets["default"],
                "lbfgs": targets["lbfgs"],
                "iterations_to_gap": {"sknn": targets["k_sknn"], "lbfgs": targets["k_lbfgs"]},
                "target_samples": {
                    f"{name}|{threads_key(t)}": v for (name, t), v in targets["samples"].items()
                },
                "evaluations": evaluations,
            }
        section.figures.append(_figure(key, plots[key]))
    section.tables += [default_table, gap_table, curve_table, time_table]
    section.data.update(problems=data_out, alpha=alpha, sizes=dict(sizes))
    _add_notes(section, sizes, plots, default_table, gap_table, curve_table, time_table)
    return section


def _rows(problem, label, curves, targets, evaluations):
    """Table rows and targets of one problem."""
    samples = targets["samples"]
    base = {"dataset": label, "model": problem.model}

    def seconds(name, n_threads):
        values = samples.get((name, n_threads))
        return None if values is None else median(values)

    def ratio(name, reference, n_threads):
        if (name, n_threads) not in samples or (reference, n_threads) not in samples:
            return None
        # The ratio of the two medians printed beside it (see _timing.compare).
        return compare(samples[name, n_threads], samples[reference, n_threads])["ratio"]

    threads = blas_setting_label(CURVE_THREADS)
    out_targets = []
    default_ratio = ratio("default", "lbfgs", CURVE_THREADS)
    default_target = Target(
        f"default fit time / LogisticRegression's, {label}, {problem.model}, {threads}",
        default_ratio,
        TARGET_RATIO,
        "<=",
        "whole fits to their own stopping rules, median of per-repeat ratios, interleaved",
    )
    out_targets.append(default_target)
    clock = ratio("default with epoch clock", "default", CURVE_THREADS)
    default_row = {
        **base,
        **targets["default"],
        "stop_reason": targets["default"]["stop_reason"]
        + (" (ConvergenceWarning)" if targets["default"]["convergence_warning"] else ""),
        "sknn_1thread": seconds("default", CURVE_THREADS),
        "lbfgs_iter": targets["lbfgs"]["n_iter"],
        "lbfgs_gap": targets["lbfgs"]["gap"],
        "lbfgs_1thread": seconds("lbfgs", CURVE_THREADS),
        "ratio_1thread": default_ratio,
        "status": default_target.status,
        "versus_1x": _versus_one(default_ratio),
        "sknn_default": seconds("default", None),
        "lbfgs_default": seconds("lbfgs", None),
        "ratio_default": ratio("default", "lbfgs", None),
        "clock_overhead": None if clock is None else clock - 1.0,
    }
    default_row.pop("convergence_warning")

    gap_ratio = ratio("default to gap", "lbfgs to gap", CURVE_THREADS)
    gap_row = {
        **base,
        "k_sknn": targets["k_sknn"],
        "k_lbfgs": targets["k_lbfgs"],
        "sknn_1thread": seconds("default to gap", CURVE_THREADS),
        "lbfgs_1thread": seconds("lbfgs to gap", CURVE_THREADS),
        "ratio_1thread": gap_ratio,
        "sknn_default": seconds("default to gap", None),
        "lbfgs_default": seconds("lbfgs to gap", None),
        "ratio_default": ratio("default to gap", "lbfgs to gap", None),
    }
    if gap_ratio is None:
        gap_row["status"] = f"not measured: a {TARGET_GAP:g} gap was not reached"
    else:
        gap_target = Target(
            f"time to a {TARGET_GAP:g} gap / lbfgs's, {label}, {problem.model}, {threads}",
            gap_ratio,
            TARGET_RATIO,
            "<=",
            "fits of exactly the iterations each needs, median of per-repeat ratios, interleaved",
        )
        gap_row["status"] = gap_target.status
        out_targets.append(gap_target)

    curve_rows = []
    for method, points in curves.items():
        first, last = _first_at_gap(points), points[-1]
        curve_rows.append(
            {
                **base,
                "method": method,
                "f_star": problem.f_star,
                "gap_iter": None if first is None else first["max_iter"],
                "gap_seconds": None if first is None else first["seconds"],
                "last_iter": last["max_iter"],
                "last_seconds": last["seconds"],
                "last_gap": last["gap"],
            }
        )

    time_row = None
    if evaluations is not None:
        epoch = default_row["sknn_1thread"] / targets["default"]["n_iter"]
        time_row = {**base, **evaluations, "epoch_seconds": epoch}
        time_row["per_iteration"] = time_row.pop("evaluations_per_iteration")
        time_row.pop("lbfgs_objective_share")
    return {
        "default": default_row,
        "gap": gap_row,
        "curves": curve_rows,
        "time": time_row,
        "targets": out_targets,
    }


def _versus_one(ratio):
    if ratio is None:
        return None
    if ratio <= 1.0:
        return f"faster than lbfgs ({1 / ratio:.2g}x)"
    return f"{ratio:.2g}x lbfgs's time"


def _intro(alpha):
    return (
        "Relative objective gap (J − J*)/J* of the model each method returns, against the "
        f"wall time of the fit that returned it, for J = mean log-loss + {alpha:g}/2 ‖W‖² "
        "(sknn's default alpha; intercept unpenalised). J* comes from scipy's L-BFGS at a "
        "tight tolerance (gtol 1e-13, restarted until it stalls) on an independent NumPy "
        "implementation of J; with more features than samples it is solved in the "
        "coordinates of the SVD of X (the minimiser lies in X's row space), and the "
        "gradient of the full J at the result is kept as a certificate. A curve's point "
        "is a whole fit with max_iter = k (sknn: tol=None; lbfgs: tol="
        f"{LBFGS_TIGHT_TOL:g}), set-up included, because that is what a user pays for that "
        "model. sknn's methods and one lbfgs line run with BLAS limited to "
        f"{CURVE_THREADS} thread (threadpoolctl, as `threadpool_limits({CURVE_THREADS}, "
        "'blas')`, for both numpy's and scipy's OpenBLAS, set before the clock starts); "
        "the other lbfgs line, and the '2 threads' columns, keep each OpenBLAS's default "
        "2 threads. **The targets compare both sides with 1 BLAS "
        "thread**: like with like, and on these small problems scipy's 2-thread OpenBLAS "
        "mostly measures its threading overhead (several times slower), which would flatter "
        "sknn; both settings are reported. The data: breast_cancer and digits standardized "
        "on their training split, and the course's cat images (or, without SKNN_DATA_DIR, "
        "their cat-shaped generated stand-in, labelled so) flattened and divided by 255."
    )


def _add_notes(section, sizes, plots, default_table, gap_table, curve_table, time_table):
    sources = "; ".join(f"{p['label']}: {p['source']}" for p in plots.values())
    section.notes += [
        f"Data: {sources}.",
        "scikit-learn side: `LogisticRegression(C=1/(n·alpha))` is exactly SoftmaxGD's "
        "objective for K > 2 (multinomial) and LogisticRegressionGD's for two classes "
        "(scaled by 1/alpha); LogisticRegressionGD with K > 2 (one-vs-rest sigmoids, the "
        "sum of K binary objectives) is matched by "
        "`OneVsRestClassifier(LogisticRegression(C=1/(n·alpha)))`, and SoftmaxGD on two "
        "classes (two penalised softmax columns) by `LogisticRegression(C=2/(n·alpha))`; its "
        "coefficients v map to the logits ∓v/2. Every lbfgs model is evaluated on sknn's J.",
    ]
    default_table.notes += [
        f"Whole fits, each to its own stopping rule: sknn's defaults (only random_state=0 "
        f"set) against `LogisticRegression(C=1/(n·alpha), max_iter={LBFGS_MAX_ITER})` with "
        "its default tol. Times: medians of "
        f"{sizes['target_repeats']} interleaved round(s) after {sizes['target_warmup']} "
        "warm-up round(s); ratios: "
        "medians of per-round ratios. The target uses the 1-thread columns.",
        "Epoch-clock callback cost: extra fit time of the default fit with a FitCallback "
        "that only stamps each epoch's end (median of per-round ratios − 1): the price of "
        "timing epochs from inside a fit, the reason the curves time whole fits instead.",
    ]
    gap_table.notes += [
        f"Epochs: the first epoch whose model is within {TARGET_GAP:g} of J*, read from the "
        "default's own training through a FitCallback (fitted_estimator at each epoch's "
        "end, untimed); iterations: the smallest max_iter at which lbfgs (tol="
        f"{LBFGS_TIGHT_TOL:g}) is there, by bisection. The timed fits run exactly that "
        f"many. The {TARGET_RATIO:g}x bound is the default-fit target's, applied here too.",
    ]
    curve_table.notes += [
        f"max_iter grows by about {sizes['growth']:.2g}x until the gap reaches "
        f"{GAP_FLOOR:g} (rounding), a fit takes more than {sizes['fit_budget']:g} s, "
        f"max_iter exceeds {sizes['max_iter']} or lbfgs stops by itself. Times: medians of "
        f"{sizes['curve_repeats']} interleaved round(s) over every fit of the problem"
        + (" (0: the discovery pass's single timing)." if not sizes["curve_repeats"] else ".")
        + f" 'to {TARGET_GAP:g}': the first fit of the grid there (coarse; the table above "
        "has exact counts).",
    ]
    time_table.notes += [
        "Counted on one untimed default fit by wrapping the engine's full-batch `loss_grad` "
        "(one per epoch), sknn's objective (LinearObjective / SampleSpaceObjective "
        "`loss_grad`: the gradients computed from X; the others are one product with X from "
        "the logits and probabilities of the line search's last point), the line search's "
        "points (the engine's `_Line.at`: loss, slope and curvature along the direction from "
        "the logits, no product) and scikit-learn's `LinearModelLoss.loss_gradient`; time "
        "per epoch from the timed default fit. Each epoch is one gradient, one product for "
        "the direction's logits and the line search's points; what is not inside these is "
        "the optimizer's vector updates, the engine's bookkeeping and the fit's set-up.",
    ]


# --------------------------------------------------------------------- plots
def _figure(key, plot):
    models = ", ".join(plot["models"])
    return Figure(
        f"convergence_{key}.png",
        f"Relative objective gap against fit time on {plot['label']} ({models}; data: "
        f"{plot['source']}); gaps at or below {GAP_FLOOR:g} are drawn on that floor",
        lambda figure: _draw(figure, plot),
        size=(5.5 * len(plot["models"]), 5.4),
    )


_STYLES = {
    "gd (step 1/L)": dict(color="tab:blue"),
    "momentum (1/L)": dict(color="tab:orange"),
    "nesterov + line search": dict(color="tab:olive"),
    "conjugate gradient": dict(color="tab:cyan"),
    DEFAULT_METHOD: dict(color="tab:green", linewidth=2.2),
    "adam (0.01)": dict(color="tab:purple"),
}


def _draw(figure, plot):
    axes = figure.subplots(1, len(plot["models"]), squeeze=False)[0]
    for ax, (model, entry) in zip(axes, plot["models"].items()):
        for label, points in entry["curves"].items():
            style = _STYLES.get(label)
            if style is None:  # an lbfgs line
                one_thread = blas_setting_label(CURVE_THREADS) in label
                style = dict(color="black" if one_thread else "gray")
                style["linestyle"] = "-" if one_thread else "--"
            ax.plot(
                [p["seconds"] for p in points],
                [max(p["gap"], GAP_FLOOR) for p in points],
                marker=".",
                markersize=4,
                label=label,
                **style,
            )
        seconds, gap = entry["default"]
        ax.plot(
            seconds, max(gap, GAP_FLOOR), "*", color="tab:green", markersize=13,
            markeredgecolor="black", label="default fit, where it stops",
        )  # fmt: skip
        seconds, gap = entry["lbfgs"]
        ax.plot(
            seconds, max(gap, GAP_FLOOR), "X", color="black", markersize=9,
            label="LogisticRegression, default tol",
        )  # fmt: skip
        ax.axhline(TARGET_GAP, color="tab:red", linestyle=":", linewidth=1)
        ax.text(
            0.99, TARGET_GAP, f"{TARGET_GAP:g}", color="tab:red", fontsize=8,
            ha="right", va="bottom", transform=ax.get_yaxis_transform(),
        )  # fmt: skip
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylim(GAP_FLOOR / 3, None)
        # The data's own source line says what the stand-in is; the title only flags it.
        stand_in = " (stand-in data)" if "stand-in" in plot["source"].lower() else ""
        ax.set_title(f"{model} on {plot['label']}{stand_in}", fontsize=10)
        ax.set_xlabel(
            f"fit wall time, s (log scale; {blas_setting_label(CURVE_THREADS)} unless marked)"
        )
        ax.grid(True, which="major", alpha=0.3)
    axes[0].set_ylabel("relative gap (J − J*) / J* (log scale)")
    # One legend for both panels, below them: inside, it would hide some line.
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncol=4, fontsize=8)
