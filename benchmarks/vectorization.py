"""Section ``vectorization``: the course's loops against the vectorized estimators.

For each model the loop version of :mod:`sknn.reference` (pure-Python loops
over samples, features and units, as the course writes them before
vectorizing) runs one gradient-descent iteration on the first rows, and that
time is extrapolated linearly to all rows (the loops cost the same per row).
The vectorized iteration is ``fit`` time over ``n_iter_``: plain full-batch
gradient descent, a fixed learning rate and number of iterations. Both must
compute the same loss at the fitted weights. The course's logistic
regression on the cat images is reproduced along the way.
"""

import copy
import functools
import textwrap

import numpy as np

from sknn import LogisticRegressionGD, ShallowNNClassifier, SoftmaxGD, reference

from . import _data
from ._core import Column, Figure, Section, Table, Target, compare, interleave, pair

NAME = "vectorization"
TITLE = "Vectorization: the course's loops against the vectorized estimators"
TARGET_SPEEDUP = 300.0
#: The course's printed costs (iteration -> cost) and accuracies of its logistic regression.
COURSE_COSTS = {0: 0.693147, 100: 0.584508, 1900: 0.140872}
COURSE_ACCURACY = {"train": 0.9904, "test": 0.70}
COURSE_CALL = (
    "LogisticRegressionGD(learning_rate=0.005, max_iter=2000, tol=None, alpha=0.0, optimizer='gd')"
)

# Per model: (rows the loops run on, iterations of each vectorized fit). The
# logistic regression runs the course's 2000 iterations outside smoke runs.
SIZES = {
    "full": dict(repeats=5, lr=(40, 2000), softmax=(300, 1000), net=(100, 1000)),
    "default": dict(repeats=3, lr=(30, 2000), softmax=(150, 300), net=(60, 300)),
    "quick": dict(repeats=1, lr=(8, 200), softmax=(30, 100), net=(20, 100)),
    "tiny": dict(repeats=1, lr=(8, 20), softmax=(20, 20), net=(20, 20)),
}
#: The network's problem: (n_samples, n_features, n_classes, hidden units).
NET_SHAPE = {"tiny": (100, 10, 3, 8)}


def _cases(config):
    """(model, data, estimator, sizes, dtypes) of the three models."""
    sizes = config.pick(SIZES)
    fixed = dict(tol=None, alpha=0.0, optimizer="gd")
    m, n, k, hidden = NET_SHAPE.get(config.mode, (1000, 40, 3, 32))
    network = ShallowNNClassifier(
        hidden, activation="tanh", init="normal", learning_rate=0.1, random_state=0, **fixed
    )
    lr = LogisticRegressionGD(learning_rate=0.005, **fixed)
    softmax, net_name = (
        SoftmaxGD(learning_rate=0.1, **fixed),
        f"ShallowNNClassifier ({hidden} tanh)",
    )
    return [
        ("LogisticRegressionGD", _data.cat(config), lr, sizes["lr"], ("float64", "float32")),
        ("SoftmaxGD", _data.bundled("digits"), softmax, sizes["softmax"], ("float64",)),
        (net_name, _data.generated(m, n, k), network, sizes["net"], ("float64",)),
    ]


def loss_grad(params, X, Y):
    """The reference loops' loss and gradient; the weights' names say which model."""
    if "W1" in params:
        return reference.shallow_nn_loss_grad(params, X, Y, activation="tanh")
    if Y.shape[1] == 1:
        return reference.logistic_loss_grad(params["W"], params["b"], X, Y)
    return reference.softmax_loss_grad(params["W"], params["b"], X, Y)


def _initial(estimator, n_features, n_outputs):
    """Weights for the loops to start from (their time does not depend on the values)."""
    if not hasattr(estimator, "hidden_layer_size"):
        return {"W": np.zeros((n_features, n_outputs)), "b": np.zeros(n_outputs)}
    h, rng = estimator.hidden_layer_size, np.random.default_rng(0)
    W1, W2 = 0.1 * rng.standard_normal((n_features, h)), 0.1 * rng.standard_normal((h, n_outputs))
    return {"W1": W1, "b1": np.zeros(h), "W2": W2, "b2": np.zeros(n_outputs)}


def _indicator(y):
    """The 0/1 targets the reference functions take: one column for two classes."""
    classes = np.unique(y)
    return (y == classes[1])[:, None] * 1.0 if len(classes) == 2 else (y[:, None] == classes) * 1.0


def _fitted(estimator):
    """The fitted weights in the reference functions' layout."""
    if hasattr(estimator, "coefs_"):
        (W1, W2), (b1, b2) = estimator.coefs_, estimator.intercepts_
        return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
    return {"W": estimator.coef_.T, "b": estimator.intercept_}


def _measure(estimator, data, rows, dtypes, repeats, config):
    """Interleaved timings; per-round loop seconds per full-data iteration; the fitted models."""
    X, y, Y = data.X_train, data.y_train, _indicator(data.y_train)
    params = _initial(estimator, X.shape[1], Y.shape[1])
    fitted = {}

    def loops(_):
        weights = {name: p.copy() for name, p in params.items()}
        _, grads = loss_grad(weights, X[:rows], Y[:rows])
        reference.gradient_descent_step(weights, grads, estimator.learning_rate)

    def lists(_):
        # What the reference functions do at entry, before their loops: the course's
        # loops run on lists they already hold, so this is subtracted.
        X[:rows].tolist(), Y[:rows].tolist(), [p.tolist() for p in params.values()]

    def vectorized(dtype):
        X_typed = X.astype(dtype)

        def fit(_):
            fitted[dtype] = copy.deepcopy(estimator).fit(X_typed, y)
            return fitted[dtype].n_iter_

        return fit

    candidates = {"loops": loops, "lists": lists, **{d: vectorized(d) for d in dtypes}}
    # One core each, like with like: the loops run on one, and a loaded machine makes
    # two-thread BLAS on small problems wait for whichever thread lost its core.
    threads = dict.fromkeys(candidates, 1)
    samples = interleave(candidates, repeats, threads=threads, config=config, label=f"{NAME}:   ")
    scale = len(X) / rows
    samples["loops"] = [(a - b) * scale for a, b in zip(samples["loops"], samples.pop("lists"))]
    return samples, fitted


def _loss_check(estimator, data):
    """The loops' loss at the fitted weights, and sknn's own: one more warm-started iteration.

    For 'gd', ``loss_curve_[k]`` is the cost at the weights before update k.
    """
    X, y = data.X_train, data.y_train
    ours = copy.deepcopy(estimator).set_params(warm_start=True, max_iter=1).fit(X, y)
    return loss_grad(_fitted(estimator), X, _indicator(y))[0], ours.loss_curve_[-1]


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
    table = Table("Time per gradient-descent iteration", _COLUMNS)
    section = Section(NAME, TITLE, _INTRO, tables=[table])
    for model, data, estimator, (rows, max_iter), dtypes in _cases(config):
        config.progress(f"{NAME}: {model} on {data.label}")
        estimator.set_params(max_iter=max_iter)
        samples, fitted = _measure(estimator, data, rows, dtypes, sizes["repeats"], config)
        loops_loss, our_loss = _loss_check(fitted["float64"], data)
        section.data[model] = samples
        for dtype in dtypes:
            ratio = compare(samples["loops"], samples[dtype])
            row = dict(model=model, data=data.label, dtype=dtype, rows=rows, pair=pair(ratio))
            if dtype == "float64":
                row.update(loss=loops_loss, loss_diff=abs(loops_loss - our_loss))
            table.rows.append({**row, "speedup": ratio["cell"]})
        if model == "LogisticRegressionGD":
            ratio = compare(samples["loops"], samples["float64"])
            name = f"LogisticRegressionGD iteration, loops / vectorized, {data.label}, float64"
            section.targets.append(Target.on_ratio(name, ratio, TARGET_SPEEDUP, ">="))
            section.tables.append(_course_table(config, data, fitted["float64"]))
    table.notes.append(
        "Loops: `sknn.reference`'s loss-and-gradient function plus `gradient_descent_step` on "
        "the first rows, extrapolated linearly to all rows; their one-off conversion of the "
        "arrays to Python lists is timed separately and subtracted, round by round. "
        "Vectorized: `fit` time / `n_iter_` (set-up included), `optimizer='gd'`, `tol=None`, "
        "`alpha=0`, the course's learning rates. Loss: the loops' at the fitted weights, "
        "against sknn's from one more warm-started iteration (`loss_curve_[-1]`)."
    )
    draw = functools.partial(_draw, rows=table.rows)
    section.figures.append(Figure("vectorization.png", _CAPTION, draw, (8.0, 4.6)))
    worst = max(r["loss_diff"] for r in table.rows if "loss_diff" in r)
    section.summary = (
        "per iteration, "
        + "; ".join(
            f"{r['model'].split()[0]} {r['dtype']} on {r['data']}: {r['pair']}" for r in table.rows
        )
        + f" (target for LogisticRegressionGD float64: {TARGET_SPEEDUP:g}x). Loops and "
        f"vectorized code agree on the loss to {worst:.0e}. {section.tables[1].notes[0]}"
    )
    return section


def _course_table(config, data, estimator):
    """The course's logistic regression, reproduced (or run on the stand-in, saying so)."""
    real, curve = _data.has_cat_files(config), estimator.loss_curve_
    checks = [
        (f"cost at iteration {k}", cost, curve[k])
        for k, cost in COURSE_COSTS.items()
        if k < len(curve)
    ]
    for split, X, y in (("train", data.X_train, data.y_train), ("test", data.X_test, data.y_test)):
        checks.append((f"{split} accuracy", COURSE_ACCURACY[split], estimator.score(X, y)))
    rows = []
    for quantity, course, ours in checks:
        cost = quantity.startswith("cost")
        close = abs(course - ours) < (5e-7 if cost else 5e-3)
        shown = [f"{v:.6f}" if cost else f"{v:.2%}" for v in (course, ours)]
        agrees = ("yes" if close else "NO") if real else "not comparable (stand-in)"
        rows.append(dict(quantity=quantity, course=shown[0], sknn=shown[1], agrees=agrees))
    columns = [Column("quantity", "quantity"), Column("course", "the course prints")]
    columns += [Column("sknn", f"sknn on the {data.label}"), Column("agrees", "agrees")]
    table = Table(f"The course's logistic regression, on the {data.label}", columns, rows)
    if len(curve) < 2000:
        table.notes.append("The course's 2000 iterations run in default and --full runs only.")
    elif not real:
        table.notes.append(f"The course's figures need its images ({_data.DATA_DIR}).")
    else:
        agree = all(row["agrees"] == "yes" for row in rows)
        table.notes.append(
            f"`{COURSE_CALL}` {'reproduces' if agree else 'does NOT reproduce'} "
            "the course's costs and accuracies."
        )
    return table


_CAPTION = (
    "Speed-up per gradient-descent iteration of the vectorized estimators over the course's "
    "loops (log scale; bars: median, whiskers: range over rounds)"
)
_INTRO = (
    "What removing the Python loops buys: `sknn.reference`'s loop versions (as the course "
    "writes them before vectorizing) against the vectorized estimators, on the same data, "
    "targets and learning rate, interleaved in one process; BLAS limited to one thread."
)
_COLUMNS = [
    Column("model", "model"),
    Column("data", "data (train)"),
    Column("dtype", "dtype"),
    Column("rows", "rows the loops ran", "int"),
    Column("pair", "iteration: loops (extrapolated) vs vectorized = speed-up (range)"),
    Column("loss", "loss at the fitted weights, loops", "loss"),
    Column("loss_diff", "|loops − vectorized|", "sci"),
]


def _draw(figure, rows):
    ax = figure.add_subplot()
    middle, low, high = np.array([r["speedup"] for r in rows]).T
    x = np.arange(len(rows))
    ax.bar(x, middle, yerr=[middle - low, high - middle], capsize=4, color="tab:blue")
    for i, value in enumerate(middle):
        ax.annotate(f"{value:,.0f}x", (i, high[i] * 1.1), ha="center", va="bottom", fontsize=8)
    label = f"target for LogisticRegressionGD float64 ({TARGET_SPEEDUP:.0f}x)"
    ax.axhline(TARGET_SPEEDUP, color="tab:red", linestyle="--", lw=1, label=label)
    wrap = [textwrap.fill(f"{r['model'].split()[0]} {r['dtype']} on {r['data']}", 26) for r in rows]
    ax.set_xticks(x, wrap, fontsize=7.5)
    ax.set(yscale="log", ylim=(1, max(high.max(), TARGET_SPEEDUP) * 5))
    ax.set_ylabel("loop time / vectorized time per iteration")
    ax.set_title("Vectorized estimators against the course's loops, per iteration", fontsize=10)
    ax.legend(loc="upper right", fontsize=8)
