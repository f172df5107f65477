"""Section ``peers``: sknn against scikit-learn's own classifiers.

Two parts. With defaults, every sknn estimator and LogisticRegression,
SGDClassifier(log_loss) and MLPClassifier fit the same splits: test accuracy
and fit time. At matched work, the network's time per epoch against
MLPClassifier's: full-batch plain gradient descent, and Adam on mini-batches
of 200. Everything is timed both with BLAS limited to one thread and with
its default thread count, interleaved.
"""

import textwrap
import warnings

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.neural_network import MLPClassifier

from sknn import LogisticRegressionGD, ShallowNNClassifier, SoftmaxGD

from . import _data
from ._report import Column, Figure, Section, Table, Target, cross_check_key
from ._timing import (
    blas_setting_label,
    blas_threads,
    compare,
    fit_timers,
    interleave,
    median,
    steady_epochs,
    threads_key,
)
from .hardware import full_batch_network

NAME = "peers"
TITLE = "Peers: scikit-learn's LogisticRegression, SGDClassifier and MLPClassifier"

#: BLAS thread settings every peer is timed under: one thread, then the default.
THREAD_SETTINGS = (1, None)
TARGETS = {"full-batch GD": 0.9, "Adam, batch 200": 0.75}

SIZES = {
    "full": dict(
        datasets=("breast_cancer", "digits", "cat"),
        repeats=3,
        warm_up=True,
        matched=dict(shape=(20000, 784, 10), hidden=128, epochs=(4, 3), repeats=4),
    ),
    "quick": dict(
        datasets=("breast_cancer", "digits"),
        repeats=1,
        warm_up=True,
        # The scaling section's shape sweep times the same full-batch problem.
        matched=dict(shape=(2000, 256, 10), hidden=64, epochs=(20, 3), repeats=3),
    ),
    "tiny": dict(
        datasets=("breast_cancer",),
        repeats=1,
        warm_up=False,
        matched=dict(shape=(200, 10, 3), hidden=8, epochs=(2, 2), repeats=1),
    ),
}

SKNN_ESTIMATORS = ("LogisticRegressionGD", "SoftmaxGD", "ShallowNNClassifier")


def default_estimators():
    """Every estimator of the comparison, with its defaults (seeded where random)."""
    return {
        "LogisticRegressionGD": LogisticRegressionGD(),
        "SoftmaxGD": SoftmaxGD(),
        "ShallowNNClassifier": ShallowNNClassifier(random_state=0),
        "LogisticRegression": LogisticRegression(),
        "SGDClassifier(log_loss)": SGDClassifier(loss="log_loss", random_state=0),
        "MLPClassifier": MLPClassifier(random_state=0),
    }


def matched_estimators(n_samples, hidden, epochs):
    """sknn's network and MLPClassifier set up to do the same work per epoch.

    Parameters
    ----------
    n_samples : int
    hidden : int
        Hidden tanh units.
    epochs : tuple of int
        Epochs of the full-batch and of the Adam runs; both run exactly that
        many (no early stopping on either side).

    Returns
    -------
    pairs : dict of str to (ShallowNNClassifier, MLPClassifier)
    """
    gd_epochs, adam_epochs = epochs
    mlp = dict(hidden_layer_sizes=(hidden,), activation="tanh", alpha=1e-4, tol=0.0, random_state=0)
    return {
        # The network the hardware and scaling sections time too.
        "full-batch GD": (
            full_batch_network(hidden, max_iter=gd_epochs),
            MLPClassifier(
                solver="sgd",
                batch_size=n_samples,
                momentum=0.0,
                nesterovs_momentum=False,
                shuffle=False,
                learning_rate_init=0.01,
                max_iter=gd_epochs,
                n_iter_no_change=gd_epochs + 1,
                **mlp,
            ),
        ),
        "Adam, batch 200": (
            ShallowNNClassifier(
                hidden,
                activation="tanh",
                optimizer="adam",
                batch_size=200,
                shuffle=True,
                learning_rate=0.001,
                alpha=1e-4,
                tol=None,
                max_iter=adam_epochs,
                random_state=0,
            ),
            MLPClassifier(
                solver="adam",
                batch_size=200,
                shuffle=True,
                learning_rate_init=0.001,
                max_iter=adam_epochs,
                n_iter_no_change=adam_epochs + 1,
                **mlp,
            ),
        ),
    }


def _fit(estimator, X, y, n_threads):
    """Fit a clone under a BLAS thread setting.

    Returns
    -------
    fitted : estimator
    converged : bool
        False when the fit raised a ConvergenceWarning.
    """
    with blas_threads(n_threads), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        fitted = clone(estimator).fit(X, y)
    return fitted, not any(issubclass(w.category, ConvergenceWarning) for w in caught)


def _epochs(estimator):
    return int(np.max(estimator.n_iter_))


def _warm_up(config):
    """One small fit of every estimator under every setting: first-call costs go here."""
    data = _data.load("breast_cancer", config)
    for estimator in default_estimators().values():
        for n_threads in THREAD_SETTINGS:
            _fit(estimator, data.X_train[:100], data.y_train[:100], n_threads)


def _defaults_table(config, sizes):
    """Accuracy and fit time of every estimator with its defaults, on each data set."""
    table = Table(
        "Defaults: test accuracy and fit time",
        [
            Column("dataset", "data"),
            Column("estimator", "estimator"),
            Column("test_accuracy", "test accuracy", "accuracy"),
            Column("n_iter", "epochs", "int"),
            Column("converged", "converged"),
        ]
        + [
            Column(f"fit_seconds_{threads_key(t)}", f"fit time, {blas_setting_label(t)}", "seconds")
            for t in THREAD_SETTINGS
        ],
    )
    curves = {}
    if sizes["warm_up"]:
        _warm_up(config)
    for name in sizes["datasets"]:
        data = _data.load(name, config)
        config.progress(f"{NAME}: defaults on {data.label}")
        fitted = {}

        def candidate(label, estimator, n_threads):
            def run():
                fitted[label, n_threads] = _fit(estimator, data.X_train, data.y_train, n_threads)

            return run

        candidates = {
            f"{label} {threads_key(t)}": candidate(label, estimator, t)
            for label, estimator in default_estimators().items()
            for t in THREAD_SETTINGS
        }
        samples = interleave(
            candidates, sizes["repeats"], warmup=0, config=config, label=f"{NAME}:   {name} "
        )
        for label in default_estimators():
            estimator, converged = fitted[label, None]
            row = {
                "dataset": data.label,
                "estimator": label,
                "test_accuracy": estimator.score(data.X_test, data.y_test),
                "n_iter": _epochs(estimator),
                "converged": "yes" if converged else "no (ConvergenceWarning)",
            }
            for t in THREAD_SETTINGS:
                row[f"fit_seconds_{threads_key(t)}"] = median(samples[f"{label} {threads_key(t)}"])
            table.rows.append(row)
        curves[data.label] = {
            label: fitted[label, None][0].loss_curve_ for label in SKNN_ESTIMATORS
        }
    table.notes += [
        f"Fit time: median of {sizes['repeats']} interleaved repeat(s) per setting"
        + (", after a warm-up fit of every estimator. " if sizes["warm_up"] else ". ")
        + "Accuracy and epochs: the fit with the default "
        "BLAS threads (fits are seeded, so the settings agree).",
        "`LogisticRegression` uses scipy's lbfgs, and scipy loads its own OpenBLAS: with "
        "two threads it can be several times slower on small data.",
    ]
    return table, curves


def _matched_table(config, sizes):
    """Time per epoch of the network against MLPClassifier at matched work."""
    matched = sizes["matched"]
    n_samples, n_features, n_classes = matched["shape"]
    pairs = matched_estimators(n_samples, matched["hidden"], matched["epochs"])
    candidates = {}
    for dtype in (np.float64, np.float32):
        data = _data.generated(n_samples, n_features, n_classes, dtype)
        for variant, (sknn, mlp) in pairs.items():
            for n_threads in THREAD_SETTINGS:
                for side, estimator in (("sknn", sknn), ("mlp", mlp)):
                    key = (variant, dtype.__name__, n_threads, side)
                    candidates[key + ("long",)], candidates[key + ("short",)] = fit_timers(
                        estimator, data.X_train, data.y_train, estimator.max_iter, n_threads
                    )
    config.progress(
        f"{NAME}: matched work on {n_samples}x{n_features}, {matched['hidden']} tanh, "
        f"{n_classes} classes ({len(candidates)} timed fits per round)"
    )
    fits = interleave(candidates, matched["repeats"], config=config, label=f"{NAME}:   ")
    samples = {}
    for key, long_fits in fits.items():
        if key[-1] == "long":
            epochs = pairs[key[0]][0].max_iter
            samples[key[:-1]] = steady_epochs(long_fits, fits[key[:-1] + ("short",)], epochs)
    table = Table(
        f"Matched work: time per epoch, {n_samples}x{n_features}, {matched['hidden']} tanh "
        f"units, {n_classes} classes",
        [
            Column("variant", "training"),
            Column("dtype", "dtype"),
            Column("blas", "BLAS threads"),
            Column("sknn_seconds", "ShallowNNClassifier per epoch", "seconds"),
            Column("mlp_seconds", "MLPClassifier per epoch", "seconds"),
            Column("ratio", "sknn / MLP", "ratio"),
            Column("ratio_range", "lowest – highest repeat", "range"),
            Column("target", "target"),
            Column("status", "status"),
        ],
    )
    targets, cross_checks = [], {}
    for variant in pairs:
        for dtype in ("float64", "float32"):
            for n_threads in THREAD_SETTINGS:
                sknn = samples[variant, dtype, n_threads, "sknn"]
                mlp = samples[variant, dtype, n_threads, "mlp"]
                ratio = compare(sknn, mlp)
                target = Target(
                    f"network / MLPClassifier per epoch, {variant}, {dtype}, "
                    f"{blas_setting_label(n_threads)}",
                    ratio["ratio"],
                    TARGETS[variant],
                    "<=",
                    "median steady epoch of each, the matched-work table's two columns",
                )
                targets.append(target)
                table.rows.append(
                    {
                        "variant": variant,
                        "dtype": dtype,
                        "blas": blas_setting_label(n_threads),
                        "sknn_seconds": ratio["numerator"],
                        "mlp_seconds": ratio["denominator"],
                        "ratio": ratio["ratio"],
                        "ratio_range": ratio["ratio_range"],
                        "target": f"<= {target.threshold:g}x",
                        "status": target.status,
                    }
                )
                if variant == "full-batch GD":
                    key = cross_check_key(
                        dtype, blas_setting_label(n_threads), matched["shape"], matched["hidden"]
                    )
                    cross_checks[key] = {"median": median(sknn), "range": (min(sknn), max(sknn))}
    table.notes += [
        "Full-batch GD: `ShallowNNClassifier(optimizer='gd', batch_size=None, tol=None)` vs "
        "`MLPClassifier(solver='sgd', batch_size=n_samples, momentum=0, shuffle=False, "
        "n_iter_no_change > max_iter)`, learning rate 0.01 on both. Adam: batch 200, "
        "shuffled every epoch on both sides, learning rate 0.001. alpha=1e-4 on both.",
        "Per epoch: steady state on both sides, (time of a long fit − time of a 1-epoch "
        f"fit) / (epochs − 1), long fits of {matched['epochs'][0]} full-batch and "
        f"{matched['epochs'][1]} Adam epochs; each side's once-per-fit set-up cancels. "
        f"Median of {matched['repeats']} rounds, every fit interleaved, after a warm-up round. "
        "sknn / MLP is the ratio of the two medians left of it; its range, the lowest and "
        "highest per-repeat ratio.",
    ]
    samples = {"|".join(map(str, k)): v for k, v in samples.items()}
    return table, targets, samples, cross_checks


def run(config):
    """Compare accuracy and speed with scikit-learn's classifiers.

    Parameters
    ----------
    config : Config

    Returns
    -------
    section : Section
    """
    sizes = config.pick(SIZES)
    section = Section(NAME, TITLE, _intro(config, sizes))
    defaults, curves = _defaults_table(config, sizes)
    matched, targets, samples, cross_checks = _matched_table(config, sizes)
    section.tables += [defaults, matched]
    section.targets += targets
    section.cross_checks.update(cross_checks)
    section.data.update(loss_curves=curves, matched_samples=samples)
    section.figures.append(
        Figure(
            "loss_curves.png",
            "Training loss per epoch of the three sknn estimators with their defaults, on "
            f"{', '.join(curves)}. LogisticRegressionGD is drawn wide and pale so that a "
            "curve on top of it stays visible (SoftmaxGD on binary data: a two-class "
            "softmax is a logistic model)",
            lambda fig: _draw_loss_curves(fig, curves),
            size=(4.2 * len(curves), 3.8),
        )
    )
    section.summary = _summary(defaults.rows, matched.rows)
    return section


def _summary(default_rows, matched_rows):
    accuracy = []
    for dataset in dict.fromkeys(row["dataset"] for row in default_rows):
        rows = [row for row in default_rows if row["dataset"] == dataset]
        ours = max(r["test_accuracy"] for r in rows if r["estimator"] in SKNN_ESTIMATORS)
        theirs = max(r["test_accuracy"] for r in rows if r["estimator"] not in SKNN_ESTIMATORS)
        accuracy.append(f"{ours:.3f} vs {theirs:.3f} on {dataset}")
    ratios = {}
    for row in matched_rows:
        ratios.setdefault(row["variant"], []).append(row["ratio"])
    speed = "; ".join(
        f"{variant} {min(r):.2f}–{max(r):.2f}x (target {TARGETS[variant]:g}x)"
        for variant, r in ratios.items()
    )
    return (
        "with their defaults, the best sknn estimator's test accuracy against the best "
        f"scikit-learn one is {', '.join(accuracy)}. At matched work the network's epoch "
        f"takes this fraction of MLPClassifier's (over dtypes and BLAS settings): {speed}."
    )


def _intro(config, sizes):
    names = [name for name in sizes["datasets"] if name != "cat"]
    scaling = f"Scaling: {' and '.join(names)} are standardized on the training split"
    if "cat" in sizes["datasets"]:
        label = _data.cat(config).label
        scaling += (
            f"; {label} is flattened and divided by 255 instead"
            if _data.has_course_files(config)
            else f"; {label} has pixel-like values in [0, 1] instead"
        )
    scaling += "."
    return (
        "The same splits and the same data for everyone. BLAS is limited to one thread with "
        "`threadpoolctl.threadpool_limits(1, 'blas')` in the columns/rows marked so; the "
        f"others use the default thread count. {scaling}"
    )


#: How each sknn estimator's loss curve is drawn: LogisticRegressionGD wide and pale
#: underneath, so that SoftmaxGD's curve on binary data does not hide it.
_CURVE_STYLES = {
    "LogisticRegressionGD": dict(color="tab:blue", lw=4.0, alpha=0.45, zorder=1),
    "SoftmaxGD": dict(color="tab:orange", lw=1.6, linestyle="--", zorder=2),
    "ShallowNNClassifier": dict(color="tab:green", lw=1.6, zorder=3),
}


def _draw_loss_curves(figure, curves):
    axes = figure.subplots(1, len(curves), squeeze=False)[0]
    for ax, (name, by_estimator) in zip(axes, curves.items()):
        for label, curve in by_estimator.items():
            ax.plot(np.arange(len(curve)), curve, label=label, **_CURVE_STYLES[label])
        ax.set_title("\n".join(textwrap.wrap(name, 30)), fontsize=9)
        ax.set_xlabel("epoch")
        ax.set_yscale("log")
    axes[0].set_ylabel("training loss (log scale)")
    axes[0].legend(fontsize=8)
