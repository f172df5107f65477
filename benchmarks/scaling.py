"""Section ``scaling``: time per epoch and per sample as the number of samples grows.

Full-batch epochs of the network (with BLAS limited to one thread and with
its default threads) and of logistic regression, on prefixes of one
generated problem. An epoch's work is proportional to n_samples, so the
time per sample should stay flat: small sizes pay an epoch's fixed Python
cost, large ones the memory traffic.
"""

import math

import numpy as np

from sknn import LogisticRegressionGD

from . import _data
from ._core import Column, Figure, Section, Table, Target, blas_label, interleave, median, timed
from .hardware import full_batch_network

NAME = "scaling"
TITLE = "Scaling: time per sample as n_samples grows"
TARGET_SPREAD = 1.5
#: (model, BLAS threads) of the sweep; None is the default thread count.
RUNS = (("network", 1), ("network", None), ("LogisticRegressionGD", None))

SIZES = {
    "full": dict(n=(1000, 3000, 10**4, 3 * 10**4, 10**5, 3 * 10**5, 10**6), features=100,
                 hidden=64, classes=10, budget=0.3, repeats=5),
    "default": dict(n=(1000, 3000, 10**4, 3 * 10**4, 10**5), features=100, hidden=64,
                    classes=10, budget=0.12, repeats=5),
    "quick": dict(n=(1000, 3000, 10**4), features=100, hidden=64, classes=10, budget=0.04,
                  repeats=2),
    "tiny": dict(n=(200, 400), features=10, hidden=8, classes=3, budget=0.005, repeats=2),
}  # fmt: skip


def _model(name, hidden, max_iter):
    if name == "network":
        return full_batch_network(hidden, max_iter)
    return LogisticRegressionGD(learning_rate=0.01, optimizer="gd", tol=None, max_iter=max_iter)


def _fit(estimator, X, y):
    def run(_):
        return int(np.max(estimator.fit(X, y).n_iter_))

    return run


def spread_bounds(per_sample):
    """Worst / best time per sample, and the bounds the repeats allow it.

    Parameters
    ----------
    per_sample : dict of int to list of float
        n_samples -> per-round seconds per sample.

    Returns
    -------
    measured, low, high : float
        From the medians; from the most favourable ends of the ranges (the
        slowest size at its fastest round over the fastest size at its
        slowest); from the least favourable ends.
    """
    medians = {n: median(v) for n, v in per_sample.items()}
    lows = {n: min(v) for n, v in per_sample.items()}
    highs = {n: max(v) for n, v in per_sample.items()}
    measured = max(medians.values()) / min(medians.values())
    low = max(1.0, max(lows.values()) / min(highs.values()))
    return measured, low, max(highs.values()) / min(lows.values())


def run(config):
    """Time the epoch over growing n_samples.

    Parameters
    ----------
    config : Config

    Returns
    -------
    section : Section
    """
    sizes = config.pick(SIZES)
    n_list = sizes["n"]
    config.progress(f"{NAME}: generating {max(n_list):,} x {sizes['features']}")
    data = _data.generated(max(n_list), sizes["features"], sizes["classes"])
    candidates, threads, epochs = {}, {}, {}
    for name, n_threads in RUNS:
        for n in n_list:
            X, y = data.X_train[:n], data.y_train[:n]
            # A 2-epoch probe sets the length of the timed fit to about the budget.
            probe = timed(_fit(_model(name, sizes["hidden"], 2), X, y), n_threads=n_threads)
            epochs[name, n_threads, n] = min(2000, max(3, math.ceil(sizes["budget"] / probe)))
            key = (name, n_threads, n)
            candidates[key] = _fit(_model(name, sizes["hidden"], epochs[key]), X, y)
            threads[key] = n_threads
        config.tick(f"{NAME}:   calibrated {name}, {blas_label(n_threads)}")
    samples = interleave(candidates, sizes["repeats"], threads=threads, config=config,
                         label=f"{NAME}:   ")  # fmt: skip
    table = Table(
        f"Full-batch epoch as n_samples grows ({sizes['features']} features, "
        f"{sizes['classes']} classes; network: {sizes['hidden']} tanh units)",
        [Column("n", "n_samples", "int")]
        + [c for name, t in RUNS for c in (
            Column(f"{name}{t}_epoch", f"{_label(name, t)}: epoch", "seconds"),
            Column(f"{name}{t}_sample", "per sample", "seconds"),
            Column(f"{name}{t}_range", "range", "seconds"))],
    )  # fmt: skip
    for n in n_list:
        row = {"n": n}
        for name, t in RUNS:
            values = samples[name, t, n]
            row[f"{name}{t}_epoch"] = median(values)
            row[f"{name}{t}_sample"] = median(values) / n
            row[f"{name}{t}_range"] = (min(values) / n, max(values) / n)
        table.rows.append(row)
    section = Section(NAME, TITLE, _INTRO, tables=[table])
    per_sample = {run: {n: [v / n for v in samples[(*run, n)]] for n in n_list} for run in RUNS}
    for name, t in (run for run in RUNS if run[0] == "network"):
        measured, low, high = spread_bounds(per_sample[name, t])
        section.targets.append(Target(
            f"network time per sample, slowest / fastest size, n_samples {min(n_list):,}–"
            f"{max(n_list):,}, {blas_label(t)}", measured, TARGET_SPREAD, "<=", low, high,
            detail="from the medians; range: the most and least favourable ends of the "
            "sizes' ranges"))  # fmt: skip
    table.notes.append(
        f"Epoch: a fit of about {sizes['budget']} s (at least 3 epochs) / its epochs, set-up "
        f"included; median and range of {sizes['repeats']} interleaved rounds, all sizes and "
        f"settings in every round. X: the first n_samples rows of one `{data.source}`. "
        "LogisticRegressionGD: `optimizer='gd', learning_rate=0.01` (ten one-vs-rest units)."
    )
    section.figures.append(Figure(
        "scaling.png", "Full-batch epoch as n_samples grows: time per sample relative to each "
        "line's fastest size (left; flat is linear scaling) and time per epoch (right); "
        "markers: medians, bars: range over rounds",
        lambda fig: _draw(fig, per_sample), size=(10.0, 4.2)))  # fmt: skip
    section.data["samples"] = {f"{name}|{blas_label(t)}|{n}": v for (name, t, n), v in samples.items()}
    section.summary = (
        f"from {min(n_list):,} to {max(n_list):,} samples the network's time per sample varies "
        + " and ".join(f"{t.measured:.2f}x ({t.low:.2f}–{t.high:.2f}x over the rounds) with "
                       f"{t.name.rsplit(', ', 1)[1]}" for t in section.targets)
        + f" (target ≤ {TARGET_SPREAD}x)."
    )  # fmt: skip
    return section


def _label(name, n_threads):
    return f"{name}, {'1 thread' if n_threads == 1 else 'default threads'}"


_INTRO = (
    "The network is full-batch plain gradient descent with tanh units, as in the hardware "
    "section; flat time per sample means the epoch scales linearly with the data."
)


def _draw(figure, per_sample):
    left, right = figure.subplots(1, 2)
    for i, ((name, t), values) in enumerate(per_sample.items()):
        n = np.array(sorted(values))
        mid = np.array([median(values[k]) for k in n])
        low = np.array([min(values[k]) for k in n])
        high = np.array([max(values[k]) for k in n])
        style = dict(marker="o", capsize=3, color=f"C{i}", label=f"{name}, {blas_label(t)}")
        best = mid.min()
        left.errorbar(n, mid / best, yerr=[(mid - low) / best, (high - mid) / best], **style)
        right.errorbar(n, mid * n, yerr=[(mid - low) * n, (high - mid) * n], **style)
    left.axhline(TARGET_SPREAD, color="tab:red", linestyle=":", lw=1, label=f"target {TARGET_SPREAD}x")
    left.set(xscale="log", xlabel="n_samples", ylabel="time per sample / fastest size")
    right.set(xscale="log", yscale="log", xlabel="n_samples", ylabel="seconds per epoch")
    left.set_title("Time per sample (flat = linear scaling)", fontsize=10)
    right.set_title("Time per epoch", fontsize=10)
    left.legend(fontsize=7)
