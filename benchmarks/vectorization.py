"""Section ``vectorization``: the course's loops against the vectorized estimators.

For each model, the loop version of :mod:`sknn.reference` (pure-Python loops
over samples, features and units, as the course writes them before
vectorizing) runs a few gradient-descent iterations on a subset of the rows,
and that time is extrapolated linearly to all rows (the loops cost the same
per row). The vectorized estimator's iteration is its ``fit`` time over
``n_iter_`` (plain full-batch gradient descent, fixed learning rate, a fixed
number of iterations). Both must compute the same loss at the fitted weights.
"""

import copy
import textwrap
from dataclasses import dataclass

import numpy as np

from sknn import LogisticRegressionGD, ShallowNNClassifier, SoftmaxGD, reference

from . import _data
from ._core import Column, Figure, Section, Table, Target, compare, interleave, pair

NAME = "vectorization"
TITLE = "Vectorization: the course's loops against the vectorized estimators"
TARGET_SPEEDUP = 300.0
#: The course's printed costs (iteration -> cost) and accuracies for its logistic regression.
COURSE_COSTS = {0: 0.693147, 100: 0.584508, 1900: 0.140872}
COURSE_ACCURACY = {"train": 0.9904, "test": 0.70}

# rows, iters: the rows the loops run on and their iterations per timed call;
# max_iter: iterations of each vectorized fit (the course's 2000 for the cat data).
SIZES = {
    "full": dict(repeats=5, lr=(40, 2, 2000), softmax=(300, 2, 1000), net=(100, 2, 1000)),
    "default": dict(repeats=3, lr=(30, 1, 2000), softmax=(150, 1, 300), net=(60, 1, 300)),
    "quick": dict(repeats=2, lr=(8, 1, 200), softmax=(50, 1, 100), net=(30, 1, 100)),
    "tiny": dict(repeats=1, lr=(8, 1, 20), softmax=(20, 1, 20), net=(20, 1, 20)),
}
NET_SHAPE = {"tiny": (100, 10, 3, 8)}  # (n_samples, n_features, n_classes, hidden)
NET_SHAPE_DEFAULT = (1000, 40, 3, 32)


@dataclass
class _Case:
    """One model: its data, its vectorized estimator, its loops and their initial weights."""

    model: str
    data: object
    estimator: object
    loops: object
    params: dict
    rows: int
    iters: int
    dtypes: tuple = ("float64",)


def _indicator(y):
    """The 0/1 targets the reference functions take: one column for two classes."""
    classes = np.unique(y)
    if len(classes) == 2:
        return (y == classes[1]).astype(float)[:, None]
    return (y[:, None] == classes).astype(float)


def _linear_params(n_features, n_outputs):
    return {"W": np.zeros((n_features, n_outputs)), "b": np.zeros(n_outputs)}


def _cases(config):
    sizes = config.pick(SIZES)
    common = dict(tol=None, alpha=0.0, optimizer="gd")
    cat, digits = _data.cat(config), _data.bundled("digits")
    m, n, k, hidden = NET_SHAPE.get(config.mode, NET_SHAPE_DEFAULT)
    net_data = _data.generated(m, n, k)
    rng = np.random.default_rng(0)
    net_params = {
        "W1": 0.1 * rng.standard_normal((n, hidden)), "b1": np.zeros(hidden),
        "W2": 0.1 * rng.standard_normal((hidden, k)), "b2": np.zeros(k),
    }
    (lr_rows, lr_iters, lr_max), (sm_rows, sm_iters, sm_max), (nn_rows, nn_iters, nn_max) = (
        sizes["lr"], sizes["softmax"], sizes["net"])
    return [
        _Case(
            "LogisticRegressionGD", cat,
            LogisticRegressionGD(learning_rate=0.005, max_iter=lr_max, **common),
            lambda p, X, Y: reference.logistic_loss_grad(p["W"], p["b"], X, Y),
            _linear_params(cat.X_train.shape[1], 1), lr_rows, lr_iters, ("float64", "float32"),
        ),
        _Case(
            "SoftmaxGD", digits, SoftmaxGD(learning_rate=0.1, max_iter=sm_max, **common),
            lambda p, X, Y: reference.softmax_loss_grad(p["W"], p["b"], X, Y),
            _linear_params(digits.X_train.shape[1], 10), sm_rows, sm_iters,
        ),
        _Case(
            f"ShallowNNClassifier ({hidden} tanh)", net_data,
            ShallowNNClassifier(hidden, activation="tanh", init="normal", learning_rate=0.1,
                                max_iter=nn_max, random_state=0, **common),
            lambda p, X, Y: reference.shallow_nn_loss_grad(p, X, Y, activation="tanh"),
            net_params, nn_rows, nn_iters,
        ),
    ]


def _fitted_params(estimator):
    """The fitted weights in the reference functions' layout."""
    if hasattr(estimator, "coefs_"):
        (W1, W2), (b1, b2) = estimator.coefs_, estimator.intercepts_
        return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
    return {"W": estimator.coef_.T, "b": estimator.intercept_}


def _vectorized_loss(estimator, X, y):
    """sknn's own loss at its fitted weights: one more warm-started 'gd' iteration records it.

    For 'gd', ``loss_curve_[k]`` is the cost at the weights before update k.
    """
    more = copy.deepcopy(estimator).set_params(warm_start=True, max_iter=1)
    return more.fit(X, y).loss_curve_[-1]


def _measure(case, repeats, config):
    """Interleaved timings of one case; per-round loop seconds per full-data iteration."""
    X, y = case.data.X_train, case.data.y_train
    Y = _indicator(y)
    X_rows, Y_rows = X[: case.rows], Y[: case.rows]
    learning_rate = case.estimator.learning_rate
    fitted = {}

    def loops(_):
        params = {name: p.copy() for name, p in case.params.items()}
        for _ in range(case.iters):
            _, grads = case.loops(params, X_rows, Y_rows)
            reference.gradient_descent_step(params, grads, learning_rate)
        return case.iters

    def lists(_):
        # What the reference functions do at entry, before their loops: the course's
        # loops run on lists they already hold, so this is subtracted.
        for _ in range(case.iters):
            X_rows.tolist(), Y_rows.tolist(), [p.tolist() for p in case.params.values()]
        return case.iters

    def vectorized(dtype):
        X_typed = X.astype(dtype)

        def fit(_):
            fitted[dtype] = copy.deepcopy(case.estimator).fit(X_typed, y)
            return fitted[dtype].n_iter_

        return fit

    candidates = {"loops": loops, "lists": lists}
    candidates.update({dtype: vectorized(dtype) for dtype in case.dtypes})
    samples = interleave(candidates, repeats, config=config, label=f"{NAME}:   ")
    scale = X.shape[0] / case.rows
    loop_seconds = [(a - b) * scale for a, b in zip(samples["loops"], samples["lists"])]
    estimator = fitted["float64"]
    loss_loops = case.loops(_fitted_params(estimator), X, Y)[0]
    return samples, loop_seconds, fitted, loss_loops, _vectorized_loss(estimator, X, y)


def run(config):
    """Time the loops against the vectorized estimators; reproduce the course's costs.

    Parameters
    ----------
    config : Config

    Returns
    -------
    section : Section
    """
    sizes = config.pick(SIZES)
    section = Section(NAME, TITLE, _INTRO)
    timing = Table(
        "Time per gradient-descent iteration",
        [
            Column("model", "model"),
            Column("data", "data (train)"),
            Column("dtype", "dtype"),
            Column("loop_seconds", "loops (extrapolated)", "seconds"),
            Column("vectorized_seconds", "vectorized", "seconds"),
            Column("speedup", "loops / vectorized", "ratio"),
            Column("range", "range over rounds", "ratio"),
            Column("loss_loops", "loss at fitted weights: loops", "loss"),
            Column("loss_diff", "|loops − vectorized|", "sci"),
        ],
    )
    course = None
    for case in _cases(config):
        config.progress(f"{NAME}: {case.model} on {case.data.label}")
        samples, loop_seconds, fitted, loss_loops, loss_vectorized = _measure(
            case, sizes["repeats"], config
        )
        for dtype in case.dtypes:
            ratio = compare(loop_seconds, samples[dtype])
            timing.rows.append({
                "model": case.model, "data": case.data.label, "dtype": dtype,
                "loop_seconds": ratio["numerator"], "vectorized_seconds": ratio["denominator"],
                "speedup": ratio["ratio"], "range": ratio["range"],
                "loss_loops": loss_loops if dtype == "float64" else None,
                "loss_diff": abs(loss_loops - loss_vectorized) if dtype == "float64" else None,
            })
        section.data[case.model] = {"loop_seconds": loop_seconds, **samples}
        if case.model == "LogisticRegressionGD":
            lr = timing.rows[-2]
            section.targets.append(Target(
                f"LogisticRegressionGD iteration on {case.data.label}: loops / vectorized, float64",
                lr["speedup"], TARGET_SPEEDUP, ">=", *lr["range"],
                detail=f"{_fmt_pair(lr)}; loops extrapolated from {case.rows} rows",
            ))
            course = _course_table(config, case, fitted["float64"])
    timing.notes += [
        "Loops: `sknn.reference`'s loss-and-gradient function plus `gradient_descent_step`, "
        "timed on the first rows and extrapolated linearly to all rows; their one-off "
        "conversion of the arrays to Python lists is timed separately and subtracted, round "
        "by round. Vectorized: `fit` time / `n_iter_`, set-up included, `optimizer='gd'`, "
        "`tol=None`, `alpha=0`, the learning rates of the course (0.005 for the logistic "
        "regression). The ratio is that of the two medians left of it.",
        "Loss at the fitted weights: the loops' loss against sknn's, read from one more "
        "warm-started iteration (`loss_curve_[-1]`).",
    ]
    section.tables += [timing, course]
    section.figures.append(Figure(
        "vectorization.png",
        "Speed-up per gradient-descent iteration of the vectorized estimators over the "
        "course's loops (log scale; bars: median, whiskers: range over rounds)",
        lambda fig: _draw(fig, timing.rows), size=(8.0, 4.6),
    ))
    lr = timing.rows[0]
    others = "; ".join(f"{r['model'].split(' ')[0]} on {r['data']}: {_fmt_pair(r)}"
                       for r in timing.rows[2:])
    worst = max(r["loss_diff"] for r in timing.rows if r["loss_diff"] is not None)
    section.summary = (
        f"a LogisticRegressionGD iteration on {lr['data']}: {_fmt_pair(lr)} (float64; target "
        f"300x); {others}. Loops and vectorized code agree on the loss to {worst:.0e}. "
        + course.notes[0]
    )
    return section


def _fmt_pair(row):
    """'loops 62 ms vs vectorized 0.2 ms = 310x (280x – 330x)'."""
    comparison = dict(numerator=row["loop_seconds"], denominator=row["vectorized_seconds"],
                      ratio=row["speedup"], range=row["range"])
    return "loops " + pair(comparison).replace(" vs ", " vs vectorized ", 1)


def _course_table(config, case, estimator):
    """The course's logistic regression, reproduced (or run on the stand-in, saying so)."""
    real = _data.has_cat_files(config)
    curve = estimator.loss_curve_
    rows = [
        {"quantity": f"cost at iteration {k}", "course": cost, "sknn": curve[k], "kind": "loss"}
        for k, cost in COURSE_COSTS.items() if k < len(curve)
    ]
    for split, X, y in (("train", case.data.X_train, case.data.y_train),
                        ("test", case.data.X_test, case.data.y_test)):
        rows.append({"quantity": f"{split} accuracy", "course": COURSE_ACCURACY[split],
                     "sknn": estimator.score(X, y), "kind": "accuracy"})
    for row in rows:
        tolerance = 5e-7 if row["kind"] == "loss" else 5e-3
        row["agrees"] = ("yes" if abs(row["course"] - row["sknn"]) < tolerance else "NO") if real \
            else "not comparable (stand-in)"
        row["course"], row["sknn"] = (f"{row[k]:.6f}" if row["kind"] == "loss" else f"{row[k]:.2%}"
                                      for k in ("course", "sknn"))
    table = Table(
        f"The course's logistic regression, on the {case.data.label}",
        [Column("quantity", "quantity"), Column("course", "the course prints"),
         Column("sknn", f"sknn on the {case.data.label}"), Column("agrees", "agrees")],
        rows,
    )
    call = "`LogisticRegressionGD(learning_rate=0.005, max_iter=2000, tol=None, alpha=0.0, optimizer='gd')`"
    if len(curve) < 2000:
        verdict = f"the course's 2000 iterations are run only in default and --full runs ({call})."
    elif not real:
        verdict = (f"the course's costs need its images ({_data.DATA_DIR_VARIABLE}); on the "
                   f"{case.data.label} they are not comparable.")
    elif all(row["agrees"] == "yes" for row in rows):
        verdict = f"{call} reproduces the course's costs and accuracies."
    else:
        verdict = f"{call} does NOT reproduce the course's costs and accuracies (see its table)."
    table.notes.append(verdict[0].upper() + verdict[1:])
    return table


_INTRO = (
    "What removing the Python loops buys: `sknn.reference`'s loop versions (as the course "
    "writes them before vectorizing) against the vectorized estimators, on the same data, "
    "targets and learning rate, interleaved in one process. BLAS threads: the default."
)


def _draw(figure, rows):
    ax = figure.add_subplot()
    values = np.array([r["speedup"] for r in rows])
    low, high = np.array([r["range"] for r in rows]).T
    x = np.arange(len(rows))
    ax.bar(x, values, color="tab:blue", yerr=[values - low, high - values], capsize=4)
    for i, value in enumerate(values):
        ax.annotate(f"{value:,.0f}x", (i, high[i]), textcoords="offset points", xytext=(0, 4),
                    ha="center", fontsize=8)
    ax.axhline(TARGET_SPEEDUP, color="tab:red", linestyle="--", lw=1,
               label=f"target for LogisticRegressionGD float64 ({TARGET_SPEEDUP:.0f}x)")
    labels = [f"{r['model'].split(' ')[0]}\n{r['dtype']}\n{_wrap(r['data'])}" for r in rows]
    ax.set_xticks(x, labels, fontsize=7.5)
    ax.set_yscale("log")
    ax.set_ylim(1, max(high.max(), TARGET_SPEEDUP) * 5)
    ax.set_ylabel("loop time / vectorized time per iteration")
    ax.set_title("Vectorized estimators against the course's loops, per iteration", fontsize=10)
    ax.legend(loc="upper right", fontsize=8)


def _wrap(text, width=26):
    return "\n".join(textwrap.wrap(text, width))
