"""Section ``peers``: sknn's defaults against scikit-learn's classifiers.

Every sknn estimator and ``LogisticRegression``, ``SGDClassifier(log_loss)``
and ``MLPClassifier`` fit the same standardized splits with their defaults,
interleaved, one round per seed: test accuracy, fit time, iterations, stop
reason and ConvergenceWarnings. From the same fits, the network against
``MLPClassifier`` is judged against the project's floors (issue #24), and so
are its defaults on the cat images and on a multilabel problem.
"""

import textwrap
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import accuracy_score
from sklearn.neural_network import MLPClassifier

from sknn import LogisticRegressionGD, ShallowNNClassifier, SoftmaxGD

from . import _data
from ._core import (
    Column, Figure, Section, Table, Target, blas_label, compare, fmt, format_seconds, interleave,
    median, spread,
)  # fmt: skip

NAME = "peers"
TITLE = "Peers: the defaults against scikit-learn's LogisticRegression, SGDClassifier, MLPClassifier"

#: Estimator name -> its defaults, seeded where it is random (seed = the round).
ESTIMATORS = {
    "LogisticRegressionGD": lambda seed: LogisticRegressionGD(),
    "SoftmaxGD": lambda seed: SoftmaxGD(),
    "ShallowNNClassifier": lambda seed: ShallowNNClassifier(random_state=seed),
    "LogisticRegression": lambda seed: LogisticRegression(),
    "SGDClassifier(log_loss)": lambda seed: SGDClassifier(loss="log_loss", random_state=seed),
    "MLPClassifier": lambda seed: MLPClassifier(random_state=seed),
}
NET, MLP = "ShallowNNClassifier", "MLPClassifier"
#: The project's floors for the network's defaults (issue #24).
ACCURACY_MARGIN = 0.01
MULTILABEL_MARGIN = 0.02
CAT_FLOOR = 0.68
TIME_FLOOR, TIME_GOAL = 1.0, 0.5

# seeds: rounds with BLAS limited to 1 thread (the targets); default_threads: rounds
# with the default thread count; cat and multilabel: seeds of those fits.
SIZES = {
    "full": dict(datasets=_data.BUNDLED, seeds=5, default_threads=3, cat=3, multilabel=5),
    "default": dict(datasets=_data.BUNDLED, seeds=3, default_threads=1, cat=1, multilabel=3),
    "quick": dict(datasets=_data.BUNDLED, seeds=1, default_threads=0, cat=0, multilabel=1),
    "tiny": dict(datasets=("iris", "wine"), seeds=2, default_threads=1, cat=1, multilabel=1),
}


def fit_record(estimator, data):
    """Fit, and what the tables need: test accuracy, iterations, stop reason, warnings.

    Accuracy is ``accuracy_score`` on the test split: subset accuracy for multilabel.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        estimator.fit(data.X_train, data.y_train)
    return {
        "accuracy": accuracy_score(data.y_test, estimator.predict(data.X_test)),
        "n_iter": int(np.max(estimator.n_iter_)),
        "stop_reason": getattr(estimator, "stop_reason_", None),
        "warnings": sum(issubclass(w.category, ConvergenceWarning) for w in caught),
    }


def measure(data, names, seeds, n_threads, config):
    """Fit ``names`` on ``data``, one interleaved round per seed.

    Returns
    -------
    times : dict of name to list of float
        Fit seconds, one per seed.
    records : dict of name to list of dict
        :func:`fit_record` of each seed.
    """
    records = {name: [None] * seeds for name in names}

    def candidate(name):
        def fit(seed):
            records[name][seed] = fit_record(ESTIMATORS[name](seed), data)

        return fit

    times = interleave(
        {name: candidate(name) for name in names}, seeds, warmup=0,
        threads=dict.fromkeys(names, n_threads), config=config, label=f"{NAME}:   {data.name} ",
    )  # fmt: skip
    return times, records


def _warm_up():
    """One small fit of each estimator: first-call costs (imports, caches) go here."""
    data = _data.bundled("breast_cancer")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for make in ESTIMATORS.values():
            make(0).fit(data.X_train[:100], data.y_train[:100])


def _summarise(records):
    """Accuracy, iterations, stop reasons and warnings over seeds, for one table row."""
    reasons = [r["stop_reason"] for r in records]
    stops = ", ".join(f"{reason} {reasons.count(reason)}/{len(reasons)}"
                      for reason in dict.fromkeys(reasons)) if reasons[0] else "—"  # fmt: skip
    return {
        "accuracy": median([r["accuracy"] for r in records]),
        "accuracy_range": spread([r["accuracy"] for r in records]),
        "n_iter": spread([r["n_iter"] for r in records]),
        "stop_reason": stops,
        "warnings": f"{sum(r['warnings'] > 0 for r in records)}/{len(records)}",
    }


def _network_targets(label, times, records, seeds):
    """The issue's floors for the network against MLPClassifier on one data set."""
    net, mlp = records[NET], records[MLP]
    clean = sum(r["stop_reason"] == "converged" and not r["warnings"] for r in net)
    gaps = [a["accuracy"] - b["accuracy"] for a, b in zip(net, mlp)]
    ratio = compare(times[NET], times[MLP])
    figures = (f"{fmt(ratio['numerator'], 'seconds')} vs {fmt(ratio['denominator'], 'seconds')}, "
               f"{blas_label(1)}, {seeds} seed(s)")  # fmt: skip
    return ratio, [
        Target(f"network 'converged' with no ConvergenceWarning, {label}", clean, seeds, ">=",
               kind="int", detail=f"fits of {seeds} seed(s)"),
        Target(f"network test accuracy − MLPClassifier's, {label}", median(gaps),
               -ACCURACY_MARGIN, ">=", *spread(gaps), kind="accuracy",
               detail="paired by seed; range over seeds"),
        Target(f"network fit time / MLPClassifier's, {label} (floor)", ratio["ratio"],
               TIME_FLOOR, "<=", *ratio["range"], detail=figures),
        Target(f"network fit time / MLPClassifier's, {label} (goal)", ratio["ratio"],
               TIME_GOAL, "<=", *ratio["range"], detail=figures),
    ]  # fmt: skip


def run(config):
    """Fit every estimator with its defaults and judge the network against the floors.

    Parameters
    ----------
    config : Config

    Returns
    -------
    section : Section
    """
    sizes = config.pick(SIZES)
    section = Section(NAME, TITLE, _INTRO)
    defaults = Table("Defaults: test accuracy and fit time", _DEFAULT_COLUMNS)
    versus = Table("The network's defaults against MLPClassifier's (issue #24)", _VERSUS_COLUMNS)
    _warm_up()
    plot = {}
    for name in sizes["datasets"]:
        data = _data.bundled(name)
        config.progress(f"{NAME}: defaults on {data.label}, {blas_label(1)}")
        times, records = measure(data, list(ESTIMATORS), sizes["seeds"], 1, config)
        default_times = {}
        if sizes["default_threads"]:
            config.progress(f"{NAME}: defaults on {data.label}, {blas_label(None)}")
            default_times, _ = measure(data, list(ESTIMATORS), sizes["default_threads"], None, config)
        for estimator in ESTIMATORS:
            defaults.rows.append({
                "data": data.label, "estimator": estimator, **_summarise(records[estimator]),
                "seconds": median(times[estimator]), "seconds_range": spread(times[estimator]),
                "default_seconds": median(default_times[estimator]) if default_times else None,
            })
        ratio, targets = _network_targets(data.label, times, records, sizes["seeds"])
        section.targets += targets
        net, mlp = _summarise(records[NET]), _summarise(records[MLP])
        versus.rows.append({
            "data": data.label, "net_accuracy": net["accuracy"], "mlp_accuracy": mlp["accuracy"],
            "net_seconds": ratio["numerator"], "mlp_seconds": ratio["denominator"],
            "ratio": ratio["ratio"], "range": ratio["range"],
            "default_ratio": compare(default_times[NET], default_times[MLP])["ratio"]
            if default_times else None,
            "net_stop": net["stop_reason"], "net_iter": net["n_iter"], "mlp_iter": mlp["n_iter"],
            "warnings": f"{net['warnings']} / {mlp['warnings']}",
        })
        plot[data.label] = {k: (times[k], [r["accuracy"] for r in records[k]]) for k in (NET, MLP)}
    defaults.notes += [
        f"Fit time: median (range) over {sizes['seeds']} interleaved round(s), one seed each "
        f"(random_state of the network, SGDClassifier and MLPClassifier), {blas_label(1)}; "
        f"last column: {sizes['default_threads']} round(s) with {blas_label(None)} (— when "
        "not run). Accuracy: median (range) over the seeds; iterations: range; stop reason "
        "(sknn's `stop_reason_`) and fits that raised a ConvergenceWarning, out of the seeds.",
        "`LogisticRegression` runs scipy's lbfgs, and scipy loads its own OpenBLAS: with its "
        "default threads it can be several times slower on small data, hence both settings.",
    ]
    versus.notes.append(
        "The same fits as the table above, so the same figures. Floors: the network stops "
        f"'converged' with no ConvergenceWarning; accuracy ≥ MLP's − {ACCURACY_MARGIN}; fit "
        f"time ≤ MLP's ({TIME_GOAL:g}x is the goal); judged over the seeds' range."
    )
    section.tables += [defaults, versus]
    section.tables.append(_cat_table(config, sizes, section, plot))
    section.tables.append(_multilabel_table(config, sizes, section, plot))
    section.figures.append(Figure(
        "peers.png", f"The network's and MLPClassifier's default fits, {blas_label(1)}: fit "
        "time (left, log scale) and test accuracy (right); bars: median, whiskers: range "
        "over seeds", lambda fig: _draw(fig, plot), size=(10.0, 4.2)))  # fmt: skip
    section.summary = _summary(versus.rows, section.targets, sizes)
    return section


def _cat_table(config, sizes, section, plot):
    data = _data.cat(config)
    table = Table(f"The network's defaults on the {data.label}", _SINGLE_COLUMNS)
    if not sizes["cat"]:
        table.notes.append(f"Not run in --{config.mode}: the fit takes tens of seconds.")
        return table
    config.progress(f"{NAME}: the network's defaults on the {data.label}")
    times, records = measure(data, [NET], sizes["cat"], 1, config)
    table.rows.append({"estimator": NET, **_summarise(records[NET]),
                       "seconds": median(times[NET]), "seconds_range": spread(times[NET])})  # fmt: skip
    accuracies = [r["accuracy"] for r in records[NET]]
    section.targets.append(Target(
        f"network test accuracy on the {data.label}", median(accuracies), CAT_FLOOR, ">=",
        *spread(accuracies), kind="accuracy", detail=f"{sizes['cat']} seed(s), /255 pixels"))  # fmt: skip
    table.notes.append(f"`ShallowNNClassifier(random_state=seed)` on the pixels / 255, "
                       f"{blas_label(1)}; floor {CAT_FLOOR} test accuracy.")  # fmt: skip
    plot[data.label] = {NET: (times[NET], accuracies)}
    return table


def _multilabel_table(config, sizes, section, plot):
    data = _data.multilabel()
    names = ["ShallowNNClassifier", "LogisticRegressionGD", MLP]
    config.progress(f"{NAME}: multilabel defaults on {data.label}")
    times, records = measure(data, names, sizes["multilabel"], 1, config)
    table = Table(f"Multilabel defaults: {data.label}", _SINGLE_COLUMNS)
    for name in names:
        table.rows.append({"estimator": name, **_summarise(records[name]),
                           "seconds": median(times[name]), "seconds_range": spread(times[name])})  # fmt: skip
        if name != MLP:
            gaps = [a["accuracy"] - b["accuracy"] for a, b in zip(records[name], records[MLP])]
            section.targets.append(Target(
                f"{name} subset accuracy − MLPClassifier's, {data.label}", median(gaps),
                -MULTILABEL_MARGIN, ">=", *spread(gaps), kind="accuracy",
                detail="paired by seed; range over seeds"))  # fmt: skip
    table.notes.append(f"{data.source}. Accuracy is subset accuracy (every label right); "
                       f"{blas_label(1)}; floor: MLP's − {MULTILABEL_MARGIN}.")  # fmt: skip
    plot[data.label] = {k: (times[k], [r["accuracy"] for r in records[k]]) for k in (NET, MLP)}
    return table


def _summary(rows, targets, sizes):
    pairs = "; ".join(
        f"{r['data'].split(' ')[0]} {fmt(r['net_seconds'], 'seconds')} vs "
        f"{fmt(r['mlp_seconds'], 'seconds')} = {fmt(r['ratio'], 'ratio')} "
        f"({fmt(r['range'], 'ratio')}), accuracy {r['net_accuracy']:.3f} vs {r['mlp_accuracy']:.3f}"
        for r in rows
    )
    status = [t.status for t in targets]
    counts = ", ".join(f"{status.count(s)} {s}" for s in dict.fromkeys(status))
    return (
        f"the network's default fit against MLPClassifier's ({blas_label(1)}, "
        f"{sizes['seeds']} seed(s)), fit time and test accuracy: {pairs}. The section's "
        f"{len(targets)} floors: {counts}."
    )


_INTRO = (
    "The same standardized splits (75/25, stratified, StandardScaler fitted on the training "
    "part) and default parameters for everyone; only random_state is set. Each round fits "
    "every estimator once with one seed, in alternating order."
)
_DEFAULT_COLUMNS = [
    Column("data", "data"), Column("estimator", "estimator"),
    Column("accuracy", "test accuracy", "accuracy"), Column("accuracy_range", "range", "accuracy"),
    Column("n_iter", "iterations", "int"), Column("stop_reason", "stop_reason_"),
    Column("warnings", "ConvergenceWarning"), Column("seconds", "fit, 1 thread", "seconds"),
    Column("seconds_range", "range", "seconds"),
    Column("default_seconds", "fit, default threads", "seconds"),
]  # fmt: skip
_VERSUS_COLUMNS = [
    Column("data", "data"), Column("net_accuracy", "network accuracy", "accuracy"),
    Column("mlp_accuracy", "MLP accuracy", "accuracy"),
    Column("net_seconds", "network fit", "seconds"), Column("mlp_seconds", "MLP fit", "seconds"),
    Column("ratio", "network / MLP", "ratio"), Column("range", "range", "ratio"),
    Column("default_ratio", "same, default threads", "ratio"),
    Column("net_stop", "network stop_reason_"), Column("net_iter", "network n_iter_", "int"),
    Column("mlp_iter", "MLP n_iter_", "int"), Column("warnings", "warned: network / MLP"),
]  # fmt: skip
_SINGLE_COLUMNS = [
    Column("estimator", "estimator"), Column("accuracy", "test accuracy", "accuracy"),
    Column("accuracy_range", "range", "accuracy"), Column("seconds", "fit", "seconds"),
    Column("seconds_range", "range", "seconds"), Column("n_iter", "iterations", "int"),
    Column("stop_reason", "stop_reason_"), Column("warnings", "ConvergenceWarning"),
]  # fmt: skip


def _draw(figure, plot):
    left, right = figure.subplots(1, 2)
    x = np.arange(len(plot))
    for offset, name, color in ((-0.2, NET, "tab:green"), (0.2, MLP, "tab:gray")):
        for ax, part in ((left, 0), (right, 1)):
            values = [plot[d][name][part] if name in plot[d] else [np.nan] for d in plot]
            mid = np.array([median(v) for v in values])
            low, high = np.array([spread(v) for v in values]).T
            ax.bar(x + offset, mid, 0.4, yerr=[mid - low, high - mid], capsize=3, color=color,
                   label=name)  # fmt: skip
    labels = ["\n".join(textwrap.wrap(d, 16)) for d in plot]
    for ax, ylabel in ((left, "fit time (log scale)"), (right, "test accuracy")):
        ax.set_xticks(x, labels, fontsize=7)
        ax.set_ylabel(ylabel)
    left.set_yscale("log")
    left.yaxis.set_major_formatter(lambda v, _: format_seconds(v))
    left.yaxis.set_minor_formatter(lambda v, _: "")
    right.set_ylim(0, 1.05)
    left.legend(fontsize=8)
    left.set_title("Fit time with the defaults", fontsize=10)
    right.set_title("Test accuracy (subset accuracy for multilabel)", fontsize=10)
