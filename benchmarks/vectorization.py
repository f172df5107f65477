"""Section ``vectorization``: the course's loops against the vectorized estimators.

For each model the loop twin of :mod:`sknn.reference` runs a few full
gradient-descent iterations on a row subset, and that time is extrapolated
linearly to the full data (the loops cost the same per row). The vectorized
estimator's iteration is ``fit`` time divided by ``n_iter_`` with
``tol=None`` and a fixed ``max_iter``, as is. Both sides also have to agree on
the loss, at the initial and at the fitted parameters.
"""

import textwrap
from dataclasses import dataclass

import numpy as np
from sklearn.base import clone

from sknn import LogisticRegressionGD, ShallowNNClassifier, SoftmaxGD, reference

from . import _data
from ._report import Column, Figure, Section, Table, Target
from ._timing import interleave, median

NAME = "vectorization"
TITLE = "Vectorization: loop twins vs vectorized estimators"
TARGET_SPEEDUP = 300.0

# rows / iters: the row subset the loops run on and their iterations per
# timed call; max_iter: epochs of each vectorized fit.
SIZES = {
    "full": dict(
        repeats=5,
        lr=dict(rows=40, iters=2, max_iter=2000),
        softmax=dict(rows=300, iters=2, max_iter=1000, data="digits"),
        net=dict(rows=100, iters=2, max_iter=1000, shape=(1000, 40, 3), hidden=32),
    ),
    "quick": dict(
        repeats=3,
        lr=dict(rows=8, iters=1, max_iter=100),
        softmax=dict(rows=60, iters=1, max_iter=200, data="digits"),
        net=dict(rows=30, iters=1, max_iter=200, shape=(300, 40, 3), hidden=32),
    ),
    "tiny": dict(
        repeats=1,
        lr=dict(rows=8, iters=1, max_iter=20),
        softmax=dict(rows=20, iters=1, max_iter=20, data=(200, 20, 10)),
        net=dict(rows=20, iters=1, max_iter=20, shape=(100, 10, 3), hidden=8),
    ),
}


def _logistic_loops(params, X, Y, alpha):
    return reference.logistic_loss_grad(params["W"], params["b"], X, Y, alpha=alpha)


def _softmax_loops(params, X, Y, alpha):
    return reference.softmax_loss_grad(params["W"], params["b"], X, Y, alpha=alpha)


def _network_loops(params, X, Y, alpha):
    return reference.shallow_nn_loss_grad(params, X, Y, activation="tanh", alpha=alpha)


@dataclass
class _Case:
    """One model: its data, its vectorized estimator and its loop twin."""

    model: str
    dataset: _data.Dataset
    estimator: object
    loops: object
    rows: int
    iters: int
    dtypes: tuple = (np.float64,)


def _cases(config):
    sizes = config.pick(SIZES)
    softmax_data = sizes["softmax"]["data"]
    ten_classes = (
        _data.load(softmax_data, config)
        if isinstance(softmax_data, str)
        else _data.generated(*softmax_data)
    )
    net = sizes["net"]
    common = dict(tol=None, alpha=0.0, optimizer="gd", batch_size=None)
    return [
        _Case(
            "LogisticRegressionGD",
            _data.cat(config),
            LogisticRegressionGD(learning_rate=0.005, max_iter=sizes["lr"]["max_iter"], **common),
            _logistic_loops,
            sizes["lr"]["rows"],
            sizes["lr"]["iters"],
            dtypes=(np.float64, np.float32),
        ),
        _Case(
            "SoftmaxGD",
            ten_classes,
            SoftmaxGD(learning_rate=0.1, max_iter=sizes["softmax"]["max_iter"], **common),
            _softmax_loops,
            sizes["softmax"]["rows"],
            sizes["softmax"]["iters"],
        ),
        _Case(
            f"ShallowNNClassifier ({net['hidden']} tanh)",
            _data.generated(*net["shape"]),
            ShallowNNClassifier(
                net["hidden"],
                activation="tanh",
                init="normal",
                learning_rate=0.1,
                max_iter=net["max_iter"],
                random_state=0,
                **common,
            ),
            _network_loops,
            net["rows"],
            net["iters"],
        ),
    ]


def _measure(case, repeats, config):
    """Interleaved timings of one case, and the losses both sides compute.

    Returns
    -------
    result : dict
        Per-repeat samples, the fitted estimators by dtype name, and losses.
    """
    X, y = case.dataset.X_train, case.dataset.y_train
    # The objective, initial parameters (float64) and encoded targets fit uses.
    _, params0, X64, Y, _ = clone(case.estimator)._gradient_problem(X, y, None)
    X_rows, Y_rows = X64[: case.rows], Y[: case.rows]
    learning_rate = case.estimator.learning_rate
    alpha = case.estimator.alpha
    fitted = {}

    def loops():
        params = {name: p.copy() for name, p in params0.items()}
        for _ in range(case.iters):
            _, grads = case.loops(params, X_rows, Y_rows, alpha)
            reference.gradient_descent_step(params, grads, learning_rate)
        return case.iters

    def lists():
        # What the reference functions do at entry, before their loops.
        for _ in range(case.iters):
            X_rows.tolist(), Y_rows.tolist(), [p.tolist() for p in params0.values()]
        return case.iters

    def vectorized(dtype):
        X_typed = X.astype(dtype)

        def run():
            estimator = clone(case.estimator).fit(X_typed, y)
            fitted[dtype.__name__] = estimator
            return estimator.n_iter_

        return run

    candidates = {"loops": loops, "lists": lists}
    candidates.update({dt.__name__: vectorized(dt) for dt in case.dtypes})
    samples = interleave(candidates, repeats, config=config, label=f"{NAME}:   ")

    # The loops run in pure Python on one core and vary little; the conversion
    # is a small difference taken between medians, not between single runs.
    loop_seconds = (median(samples["loops"]) - median(samples["lists"])) * X.shape[0] / case.rows
    # Loss agreement, on all the data: at the initial parameters and at the
    # fitted ones (float64 copies of them).
    initial_loop_loss = case.loops(params0, X64, Y, alpha)[0]
    estimator64 = fitted["float64"]
    objective, params_fit, _, _, sample_weight = estimator64._gradient_problem(X, y, None)
    return {
        "samples": samples,
        "loop_seconds": loop_seconds,
        "fitted": fitted,
        "initial_loop_loss": initial_loop_loss,
        "fitted_loop_loss": case.loops(params_fit, X64, Y, alpha)[0],
        "fitted_vectorized_loss": objective.loss(params_fit, X64, Y, sample_weight),
    }


def run(config):
    """Time the loop twins against the vectorized estimators.

    Parameters
    ----------
    config : Config

    Returns
    -------
    section : Section
    """
    sizes = config.pick(SIZES)
    timing = Table(
        "Time per gradient-descent iteration",
        [
            Column("model", "model"),
            Column("data", "data (train)"),
            Column("dtype", "dtype"),
            Column("loop_seconds", "loops, per iteration (extrapolated)", "seconds"),
            Column("loop_rows", "rows the loops ran on", "int"),
            Column("vectorized_seconds", "vectorized, per iteration", "seconds"),
            Column("n_iter", "vectorized n_iter_", "int"),
            Column("speedup", "speed-up", "ratio"),
            Column("speedup_range", "speed-up, lowest – highest repeat", "range"),
        ],
    )
    losses = Table(
        "Same loss from loops and vectorized code",
        [
            Column("model", "model"),
            Column("dtype", "dtype"),
            Column("initial_loop", "loops, initial params", "loss"),
            Column("initial_vectorized", "vectorized loss_curve_[0]", "loss"),
            Column("initial_diff", "|diff|", "sci"),
            Column("fitted_loop", "loops, fitted params", "loss"),
            Column("fitted_vectorized", "vectorized, fitted params", "loss"),
            Column("fitted_diff", "|diff|", "sci"),
        ],
    )
    section = Section(NAME, TITLE, _INTRO)
    cases = _cases(config)
    for case in cases:
        config.progress(f"{NAME}: {case.model} on {case.dataset.label}")
        result = _measure(case, sizes["repeats"], config)
        samples, loop_seconds = result["samples"], result["loop_seconds"]
        for dtype in case.dtypes:
            name = dtype.__name__
            estimator = result["fitted"][name]
            speedup = loop_seconds / median(samples[name])
            timing.rows.append(
                {
                    "model": case.model,
                    "data": case.dataset.label,
                    "dtype": name,
                    "loop_seconds": loop_seconds,
                    "loop_rows": case.rows,
                    "vectorized_seconds": median(samples[name]),
                    "n_iter": estimator.n_iter_,
                    "speedup": speedup,
                    "speedup_range": (
                        loop_seconds / max(samples[name]),
                        loop_seconds / min(samples[name]),
                    ),
                }
            )
            initial = estimator.loss_curve_[0]
            row = {
                "model": case.model,
                "dtype": name,
                "initial_loop": result["initial_loop_loss"],
                "initial_vectorized": initial,
                "initial_diff": abs(initial - result["initial_loop_loss"]),
            }
            if name == "float64":
                row.update(
                    fitted_loop=result["fitted_loop_loss"],
                    fitted_vectorized=result["fitted_vectorized_loss"],
                    fitted_diff=abs(result["fitted_loop_loss"] - result["fitted_vectorized_loss"]),
                )
            losses.rows.append(row)
            if case.model == "LogisticRegressionGD" and name == "float64":
                section.targets.append(
                    Target(
                        f"LogisticRegressionGD on {case.dataset.label}: speed-up over the loops",
                        speedup,
                        TARGET_SPEEDUP,
                        ">=",
                        "loop time extrapolated from a row subset, over the median vectorized "
                        "iteration; interleaved runs",
                    )
                )
                section.data["lr_loss_curve"] = estimator.loss_curve_
        section.data[case.model] = {**samples, "loop_seconds_full_data": loop_seconds}
    timing.notes += [
        "Loops: the reference loss-and-gradient function plus `gradient_descent_step`, "
        "timed for a few iterations on the first *rows* rows and **extrapolated linearly** "
        "to all rows (their cost is proportional to the rows). The one-off conversion of "
        "the arrays to Python lists that the reference does at entry is timed separately "
        "and subtracted: the course's loops run on lists they already hold.",
        "Vectorized: `fit` time / `n_iter_` with `tol=None` and a fixed `max_iter`, "
        "nothing subtracted (input validation and set-up included). Fixed learning rates, "
        "`alpha=0` (the course has no penalty), full-batch plain gradient descent.",
        "Speed-up: the extrapolated loop time over the median vectorized iteration, the "
        "two figures left of it; loops, list conversion and vectorized fits interleaved in "
        "one process. Its range: the same loop time over the slowest and the fastest "
        "vectorized repeat.",
    ]
    losses.notes.append(
        "Initial parameters: those `fit` starts from (zeros for the linear models; "
        "`init='normal'`, `random_state=0` for the network), from "
        "`estimator._gradient_problem` on the unfitted estimator. Fitted: float64 copies "
        "of the float64 estimator's final parameters. All losses on the full training data."
    )
    section.tables += [timing, losses]
    if _data.has_course_files(config):
        section.notes += _course_check(section.data.get("lr_loss_curve"))
    section.notes += _sample_space_note(cases[0])
    section.figures.append(
        Figure(
            "vectorization_speedup.png",
            "Speed-up per gradient-descent iteration of the vectorized estimators over "
            "their loop twins (log scale); the 300x target applies to LogisticRegressionGD "
            "float64 only",
            lambda fig: _draw_speedups(fig, timing.rows),
            size=(8.0, 4.8),
        )
    )
    section.summary = _summary(timing.rows, losses.rows)
    return section


def _summary(timing_rows, loss_rows):
    lr = timing_rows[0]
    others = ", ".join(
        f"{row['model'].split(' ')[0]} {row['speedup']:,.0f}x on {row['data']}"
        for row in timing_rows
        if row["dtype"] == "float64" and row is not lr
    )
    worst_diff = max(
        row.get(key) or 0.0 for row in loss_rows for key in ("initial_diff", "fitted_diff")
    )
    return (
        f"a vectorized LogisticRegressionGD iteration on {lr['data']} is "
        f"{lr['speedup']:,.0f}x faster than the course's loops (float64; target 300x); "
        f"{others}. Loops and vectorized code compute the same losses (largest "
        f"difference {worst_diff:.0e})."
    )


_INTRO = (
    "What removing the Python loops buys: the loop-based twins of `sknn.reference` "
    "(pure-Python loops over samples, features, units, as the course writes them before "
    "vectorizing) against the vectorized estimators, on the same data, parameters and "
    "learning rate."
)

# The course's learning curve on the cat data (lr 0.005, zeros, float64).
_COURSE_COSTS = {0: 0.693147, 100: 0.584508, 1900: 0.140872}


def _course_check(curve):
    if curve is None:
        return []
    checked = {k: v for k, v in _COURSE_COSTS.items() if k < len(curve)}
    agree = all(abs(curve[k] - v) < 5e-7 for k, v in checked.items())
    listed = ", ".join(f"{curve[k]:.6f} at {k}" for k in checked)
    return [
        f"LogisticRegressionGD float64 on the cat data: cost {listed} — "
        + ("matches" if agree else "does NOT match")
        + " the course's learning curve."
    ]


def _sample_space_note(case):
    """Say when sknn trains the linear model on the Gram matrix (read from sknn, guarded)."""
    try:
        from sknn.linear import _sample_space_pays

        n_samples, n_features = case.dataset.shape
        used = _sample_space_pays(n_samples, n_features, 1, case.estimator.max_iter)
    except (ImportError, TypeError):
        return []
    if not used:
        return []
    return [
        f"On {case.dataset.label} LogisticRegressionGD trains in "
        "sample space: full-batch gradient descent from zero iterates on the Gram matrix "
        "X Xᵀ (exact, same losses), so an iteration no longer streams X. Forming X Xᵀ once "
        "is part of the fit time, hence of the per-iteration figure."
    ]


def _draw_speedups(figure, rows):
    ax = figure.add_subplot()
    labels = [
        f"{r['model'].split(' ')[0]}\n{r['dtype']}\n" + "\n".join(textwrap.wrap(r["data"], 24))
        for r in rows
    ]
    values = [r["speedup"] for r in rows]
    bars = ax.bar(range(len(rows)), values, color="tab:blue")
    ax.bar_label(bars, labels=[f"{v:,.0f}x" for v in values], padding=3)
    # The target is for LogisticRegressionGD float64: the line spans its bar only.
    target_bar = next(
        i
        for i, r in enumerate(rows)
        if r["model"] == "LogisticRegressionGD" and r["dtype"] == "float64"
    )
    ax.hlines(
        TARGET_SPEEDUP,
        target_bar - 0.45,
        target_bar + 0.45,
        color="tab:red",
        linestyle="--",
        label=f"target for LogisticRegressionGD float64 ({TARGET_SPEEDUP:,.0f}x)",
    )
    ax.set_yscale("log")
    # Headroom above the tallest bar (and the target) for the value labels.
    ax.set_ylim(1, max(values + [TARGET_SPEEDUP]) * 4)
    ax.set_xticks(range(len(rows)), labels, fontsize=7.5)
    ax.set_ylabel("loop time / vectorized time per iteration")
    ax.set_title("Vectorized estimators vs the course's loops, per iteration", fontsize=10)
    ax.legend(loc="upper right", fontsize=8)
