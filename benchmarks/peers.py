"""Section ``peers``: sknn's defaults against scikit-learn's classifiers.

Every sknn estimator and ``LogisticRegression``, ``SGDClassifier(log_loss)``
and ``MLPClassifier`` fit the same standardized splits with their defaults,
interleaved, one round per seed: test accuracy, fit time, iterations, stop
reason and ConvergenceWarnings. From the same fits the network is judged
against ``MLPClassifier`` by the project's floors (issue #24), and so are its
defaults on the cat images and on a multilabel problem.
"""

import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import accuracy_score
from sklearn.neural_network import MLPClassifier

from sknn import LogisticRegressionGD, ShallowNNClassifier, SoftmaxGD

from . import _data
from ._core import (
    Column,
    Section,
    Table,
    Target,
    blas_label,
    compare,
    fit_warned,
    fmt,
    interleave,
    median,
    pair,
    spread,
)

NAME = "peers"
TITLE = "Peers: the defaults against LogisticRegression, SGDClassifier and MLPClassifier"

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
ACCURACY_MARGIN, MULTILABEL_MARGIN, CAT_FLOOR = 0.01, 0.02, 0.68
TIME_FLOOR, TIME_GOAL = 1.0, 0.5

# seeds: rounds with BLAS limited to one thread (the targets' setting); default_threads:
# rounds with the default thread count, cheapest data set first, until `budget` seconds
# are spent; cat, multilabel: seeds of those fits.
SIZES = {
    "full": dict(seeds=5, default_threads=3, budget=900, cat=3, multilabel=5),
    "default": dict(seeds=3, default_threads=1, budget=20, cat=1, multilabel=3),
    "quick": dict(seeds=1, default_threads=0, budget=0, cat=0, multilabel=1),
    "tiny": dict(seeds=2, default_threads=1, budget=60, cat=1, multilabel=1),
}
DATASETS = {"tiny": ("iris", "wine")}


def measure(data, names, seeds, n_threads, config):
    """Fit ``names`` on ``data``, one interleaved round per seed; only the fits are timed.

    Returns
    -------
    times : dict of name to list of float
        Fit seconds, one per seed.
    records : dict of name to list of dict
        Per seed: test accuracy (subset accuracy for multilabel), iterations, stop
        reason and whether the fit warned.
    """
    fitted = {name: [None] * seeds for name in names}

    def candidate(name):
        def fit(seed):
            fitted[name][seed] = fit_warned(ESTIMATORS[name](seed), data.X_train, data.y_train)

        return fit

    candidates = {name: candidate(name) for name in names}
    threads = dict.fromkeys(names, n_threads)
    label = f"{NAME}:   {data.name} "
    times = interleave(candidates, seeds, warmup=0, threads=threads, config=config, label=label)
    records = {
        name: [
            {
                "accuracy": accuracy_score(data.y_test, estimator.predict(data.X_test)),
                "n_iter": int(np.max(estimator.n_iter_)),
                "stop_reason": getattr(estimator, "stop_reason_", None),
                "warned": warned,
            }
            for estimator, warned in fitted[name]
        ]
        for name in names
    }
    return times, records


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
    _warm_up()
    measured = {}
    for name in DATASETS.get(config.mode, _data.BUNDLED):
        data = _data.bundled(name)
        config.progress(f"{NAME}: defaults on {data.label}, {blas_label(1)}")
        measured[name] = measure(data, list(ESTIMATORS), sizes["seeds"], 1, config)
    section = Section(NAME, TITLE, _INTRO)
    section.tables += _bundled_tables(sizes, measured, _default_threads(config, sizes, measured))
    for name, (times, records) in measured.items():
        section.targets += _network_targets(_data.bundled(name).label, times, records)
    section.tables.append(_cat_table(config, sizes, section))
    section.tables.append(_multilabel_table(config, sizes, section))
    status = [t.status for t in section.targets]
    section.summary = (
        f"the network's default fit against MLPClassifier's ({blas_label(1)}, "
        f"{sizes['seeds']} seed(s)): "
        + "; ".join(
            f"{r['data']} {r['pair']}, accuracy {r['accuracies']}" for r in section.tables[1].rows
        )
        + f". The network's {len(status)} floors: "
        + ", ".join(f"{status.count(s)} {s}" for s in dict.fromkeys(status))
        + "."
    )
    return section


def _warm_up():
    """One small fit of each estimator: first-call costs (imports, caches) go here."""
    data = _data.bundled("breast_cancer")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for make in ESTIMATORS.values():
            make(0).fit(data.X_train[:100], data.y_train[:100])


def _default_threads(config, sizes, measured):
    """The same fits with BLAS's default threads, cheapest data set first, within a budget.

    On a loaded machine a two-thread BLAS call on small data waits for whichever of its
    threads lost its core, and one round can take a minute: once the budget is spent the
    remaining data sets are left out (their column says "—") rather than the whole run.
    """
    cost = {name: sum(map(sum, times.values())) for name, (times, _) in measured.items()}
    times, start = {}, time.perf_counter()
    for name in sorted(measured, key=cost.get):
        if not sizes["default_threads"] or time.perf_counter() - start > sizes["budget"]:
            break
        data = _data.bundled(name)
        config.progress(f"{NAME}: defaults on {data.label}, {blas_label(None)}")
        times[name] = measure(data, list(ESTIMATORS), sizes["default_threads"], None, config)[0]
    return times


def _row(name, times, records):
    """One estimator's cells: fit time, accuracy, iterations, stop reasons and warnings."""
    reasons = [r["stop_reason"] for r in records]
    stops = ", ".join(f"{r} {reasons.count(r)}/{len(reasons)}" for r in dict.fromkeys(reasons))
    return {
        "estimator": name,
        "seconds": spread(times),
        "accuracy": spread([r["accuracy"] for r in records]),
        "n_iter": spread([r["n_iter"] for r in records]),
        "stop_reason": stops if reasons[0] else None,
        "warned": _warned(records),
    }


def _warned(records):
    return f"{sum(r['warned'] for r in records)}/{len(records)}"


def _bundled_tables(sizes, measured, default_times):
    """The defaults table and the network-against-MLP table of the bundled sets."""
    defaults = Table("Defaults: fit time and test accuracy", _COLUMNS + _DEFAULT_COLUMN)
    versus = Table("The network's defaults against MLPClassifier's (issue #24)", _VERSUS)
    for key, (times, records) in measured.items():
        data, other = _data.bundled(key), default_times.get(key)
        for name in ESTIMATORS:
            row = {"data": data.label, **_row(name, times[name], records[name])}
            row["default"] = spread(other[name]) if other else None
            defaults.rows.append(row)
        ratio = compare(times[NET], times[MLP])
        net, mlp = records[NET], records[MLP]
        versus.rows.append(
            {
                "data": data.label,
                "pair": pair(ratio),
                "default_ratio": compare(other[NET], other[MLP])["cell"] if other else None,
                "accuracies": _versus(net, mlp, "accuracy", "accuracy"),
                "stop_reason": _row(NET, times[NET], net)["stop_reason"],
                "n_iter": _versus(net, mlp, "n_iter", "int"),
                "warned": f"{_warned(net)} vs {_warned(mlp)}",
            }
        )
    defaults.notes.append(
        f"Median (range) over {sizes['seeds']} interleaved round(s), one seed each (the "
        f"random_state of the network, SGDClassifier and MLPClassifier), {blas_label(1)}. Last "
        f"column: {sizes['default_threads']} round(s) with {blas_label(None)}, cheapest data "
        f"set first until {sizes['budget']:g} s were spent (—: not run). `LogisticRegression` "
        "runs scipy's lbfgs, and scipy loads its own OpenBLAS: with two threads it can be "
        "several times slower on small data, hence both settings. Warned: fits that raised a "
        "ConvergenceWarning."
    )
    versus.notes.append(
        "The same fits as the table above. Floors: the network stops 'converged' with no "
        f"ConvergenceWarning; its accuracy ≥ MLP's − {ACCURACY_MARGIN}; its fit time ≤ MLP's "
        f"({TIME_GOAL:g}x is the goal); each judged over the seeds' range (see the targets)."
    )
    return [defaults, versus]


def _versus(net, mlp, key, kind):
    """'0.951 vs 0.958': the medians of one quantity over the seeds, network first."""
    return " vs ".join(fmt(median([r[key] for r in side]), kind) for side in (net, mlp))


def _network_targets(label, times, records):
    """The issue's floors for the network against MLPClassifier on one data set."""
    net, mlp = records[NET], records[MLP]
    clean = sum(r["stop_reason"] == "converged" and not r["warned"] for r in net)
    gaps = [a["accuracy"] - b["accuracy"] for a, b in zip(net, mlp)]
    ratio, name = compare(times[NET], times[MLP]), f"network fit time / MLPClassifier's, {label}"
    return [
        Target(
            f"network 'converged', no warning, {label}",
            clean,
            len(net),
            ">=",
            kind="int",
            detail=f"fits out of {len(net)} seed(s)",
        ),
        Target.on_values(
            f"network accuracy − MLPClassifier's, {label}",
            gaps,
            -ACCURACY_MARGIN,
            ">=",
            kind="accuracy",
            detail="paired by seed",
        ),
        Target.on_ratio(f"{name} (floor)", ratio, TIME_FLOOR, "<="),
        Target.on_ratio(f"{name} (goal)", ratio, TIME_GOAL, "<="),
    ]


def _cat_table(config, sizes, section):
    data = _data.cat(config)
    table = Table(f"The network's defaults on the {data.label}", _COLUMNS)
    if not sizes["cat"]:
        table.notes.append(f"Not run in --{config.mode}: the fit takes tens of seconds.")
        return table
    config.progress(f"{NAME}: the network's defaults on the {data.label}")
    times, records = measure(data, [NET], sizes["cat"], 1, config)
    table.rows.append({"data": data.label, **_row(NET, times[NET], records[NET])})
    accuracies, name = [r["accuracy"] for r in records[NET]], f"network test accuracy, {data.label}"
    target = Target.on_values(name, accuracies, CAT_FLOOR, ">=", kind="accuracy")
    if not _data.has_cat_files(config):
        target.not_measured = f"the floor is for the course's images ({_data.DATA_DIR})"
    section.targets.append(target)
    table.notes.append(
        f"`ShallowNNClassifier(random_state=seed)`, {sizes['cat']} seed(s), {blas_label(1)}: "
        f"the pixels / 255 (the course's scaling); floor {CAT_FLOOR}."
    )
    return table


def _multilabel_table(config, sizes, section):
    data = _data.multilabel()
    names = [NET, "LogisticRegressionGD", MLP]
    config.progress(f"{NAME}: multilabel defaults on {data.label}")
    times, records = measure(data, names, sizes["multilabel"], 1, config)
    table = Table(f"Multilabel defaults: {data.label}", _COLUMNS)
    for name in names:
        table.rows.append({"data": data.label, **_row(name, times[name], records[name])})
        if name != MLP:
            gaps = [a["accuracy"] - b["accuracy"] for a, b in zip(records[name], records[MLP])]
            target = f"{name} subset accuracy − MLPClassifier's, {data.label}"
            section.targets.append(
                Target.on_values(
                    target, gaps, -MULTILABEL_MARGIN, ">=", kind="accuracy", detail="paired by seed"
                )
            )
    table.notes.append(
        f"{data.source}; {sizes['multilabel']} seed(s), {blas_label(1)}. Accuracy: subset "
        f"accuracy (every label right); floor: MLP's − {MULTILABEL_MARGIN}."
    )
    return table


_INTRO = (
    "The same standardized splits (75/25, stratified, StandardScaler fitted on the training "
    "part) and default parameters for everyone; only random_state is set. Each round fits "
    "every estimator once, with one seed, in alternating order. Cells: median (range)."
)
_COLUMNS = [
    Column("data", "data"),
    Column("estimator", "estimator"),
    Column("seconds", "fit, 1 BLAS thread", "seconds"),
    Column("accuracy", "test accuracy", "accuracy"),
    Column("n_iter", "iterations", "int"),
    Column("stop_reason", "stop_reason_"),
    Column("warned", "warned"),
]
_DEFAULT_COLUMN = [Column("default", "fit, default BLAS threads", "seconds")]
_VERSUS = [
    Column("data", "data"),
    Column("pair", "fit time: network vs MLP = ratio (range), 1 BLAS thread"),
    Column("default_ratio", "ratio, default BLAS threads", "ratio"),
    Column("accuracies", "accuracy: network vs MLP"),
    Column("stop_reason", "network stop_reason_"),
    Column("n_iter", "iterations: network vs MLP"),
    Column("warned", "warned: network vs MLP"),
]
