"""Section ``scaling``: time per epoch and memory as the problem grows.

Full-batch epochs of the network and of logistic regression from 1e3 to 1e6
samples (prefixes of one generated problem), reported per sample against
the best size; then the network's epoch as the number of features and the
hidden size grow; and the memory ``fit`` allocates beyond X, traced with
:mod:`tracemalloc` (which sees NumPy's array allocations).
"""

import tracemalloc

import numpy as np
from sklearn.base import clone

from sknn import LogisticRegressionGD

from . import _data
from ._report import Column, Figure, Section, Table, Target, cross_check_key, format_seconds
from ._timing import (
    blas_setting_label,
    epochs_for,
    fit_timers,
    interleave,
    median,
    steady_epochs,
    threads_key,
    time_per_unit,
)
from .hardware import epoch_flops, full_batch_network

NAME = "scaling"
TITLE = "Scaling: time per epoch and memory as the problem grows"
TARGET_PER_SAMPLE_SPREAD = 1.5
#: The shortest long fit, in epochs: with fewer, a steady epoch is the difference
#: of two single fits one epoch apart, and the noise of either goes straight into it.
MIN_EPOCHS = 4

SIZES = {
    "full": dict(
        n_samples=(1_000, 3_000, 10_000, 30_000, 100_000, 300_000, 1_000_000),
        n_features=100,
        hidden=64,
        n_classes=10,
        budget=0.2,
        repeats=5,
        features=dict(n_samples=20_000, hidden=128, values=(64, 256, 784, 2048)),
        hiddens=dict(n_samples=20_000, n_features=784, values=(16, 64, 128, 512)),
    ),
    "quick": dict(
        n_samples=(1_000, 3_000, 10_000),
        n_features=100,
        hidden=64,
        n_classes=10,
        budget=0.05,
        repeats=3,
        # (2000, 256, 64 units): also the peers section's matched-work problem.
        features=dict(n_samples=2_000, hidden=64, values=(64, 256)),
        hiddens=dict(n_samples=2_000, n_features=256, values=(16, 64)),
    ),
    "tiny": dict(
        n_samples=(200, 400),
        n_features=10,
        hidden=8,
        n_classes=3,
        budget=0.005,
        repeats=1,
        features=dict(n_samples=200, hidden=8, values=(8, 16)),
        hiddens=dict(n_samples=200, n_features=10, values=(4, 8)),
    ),
}


def logistic(max_iter=1):
    """Logistic regression with a fixed learning rate ('auto' would add a set-up cost)."""
    return LogisticRegressionGD(learning_rate=0.01, tol=None, max_iter=max_iter)


def timed_epochs(config, runs, budget, repeats, label):
    """Steady time per epoch of several fits, interleaved.

    Each run is calibrated with a two-epoch fit (which also warms it up), then
    timed as a fit of about ``budget`` seconds, and at least :data:`MIN_EPOCHS`
    epochs, paired with a one-epoch fit (see
    :func:`~benchmarks._timing.steady_epochs`).

    Parameters
    ----------
    config : Config
    runs : dict
        Key -> ``(estimator, X, y, n_threads)``.
    budget : float
        Seconds the long fit of each run should take.
    repeats : int
    label : str
        For the progress lines.

    Returns
    -------
    epochs : dict
        Key -> list of per-repeat seconds per epoch.
    set_up : dict
        Key -> median seconds a fit costs once (validation, initialisation...).
    """
    candidates, lengths = {}, {}
    config.progress(f"{NAME}: calibrating {len(runs)} {label} runs")
    for i, (key, (estimator, X, y, n_threads)) in enumerate(runs.items()):
        probe = clone(estimator).set_params(max_iter=2)
        per_epoch = time_per_unit(lambda probe=probe, X=X, y=y: probe.fit(X, y).n_iter_, n_threads)
        lengths[key] = epochs_for(per_epoch, budget, minimum=MIN_EPOCHS)
        candidates[key, "long"], candidates[key, "short"] = fit_timers(
            estimator, X, y, lengths[key], n_threads
        )
        config.tick(f"{NAME}:   calibrated {i + 1}/{len(runs)}, {X.shape}")
    samples = interleave(candidates, repeats, warmup=0, config=config, label=f"{NAME}:   {label} ")
    epochs, set_up = {}, {}
    for key in runs:
        long_fits, short_fits = samples[key, "long"], samples[key, "short"]
        epochs[key] = steady_epochs(long_fits, short_fits, lengths[key])
        set_up[key] = median(short_fits) - median(epochs[key])
    return epochs, set_up


def peak_fit_memory(estimator, X, y):
    """Peak bytes allocated (Python and NumPy) during a one-epoch fit; X is not counted."""
    estimator = clone(estimator).set_params(max_iter=1)
    tracemalloc.start()
    try:
        estimator.fit(X, y)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


#: (model, BLAS threads) pairs of the n_samples sweep; None is the default.
_SWEEP_RUNS = (("network", None), ("network", 1), ("lr", None))


def _samples_sweep(config, sizes):
    """Epoch time and per-sample time as n_samples grows."""
    n_list, f, k = sizes["n_samples"], sizes["n_features"], sizes["n_classes"]
    config.progress(f"{NAME}: generating the {max(n_list):,} x {f} problem")
    data = _data.generated(max(n_list), f, k)
    models = {"network": full_batch_network(sizes["hidden"]), "lr": logistic()}
    runs = {
        (name, threads, n): (models[name], data.X_train[:n], data.y_train[:n], threads)
        for n in n_list
        for name, threads in _SWEEP_RUNS
    }
    samples, set_up = timed_epochs(config, runs, sizes["budget"], sizes["repeats"], "n_samples")
    columns = [Column("n_samples", "n_samples", "int"), Column("x_bytes", "size of X", "bytes")]
    per_sample = {}
    for name, threads in _SWEEP_RUNS:
        key = _run_key(name, threads)
        label = f"{'network' if name == 'network' else 'LogisticRegressionGD'}, {_threads(threads)}"
        per_sample[key] = {n: median(samples[name, threads, n]) / n for n in n_list}
        columns += [
            Column(f"{key}_epoch", f"{label}: epoch", "seconds"),
            Column(f"{key}_per_sample", "per sample", "seconds"),
            Column(f"{key}_vs_best", "÷ best", "ratio"),
        ]
    table = Table(
        f"Full-batch epoch as n_samples grows ({f} features, {k} classes; network: "
        f"{sizes['hidden']} tanh units)",
        columns,
    )
    for n in n_list:
        row = {"n_samples": n, "x_bytes": data.X_train[:n].nbytes}
        for key, values in per_sample.items():
            row[f"{key}_epoch"] = values[n] * n
            row[f"{key}_per_sample"] = values[n]
            row[f"{key}_vs_best"] = values[n] / min(values.values())
        table.rows.append(row)
    table.notes += [
        f"Each size: X is the first n_samples rows of one {max(n_list):,}-row "
        f"`make_classification` problem. Epoch: steady state, (time of a long fit − time of "
        f"a 1-epoch fit) / (epochs − 1), the long fit lasting about {sizes['budget']} s "
        f"and at least {MIN_EPOCHS} epochs; "
        f"medians of {sizes['repeats']} repeats, all sizes and settings interleaved. The "
        "once-per-fit set-up (validation, initialisation, first touch of buffers) is left "
        "out: it is in the JSON (`set_up`). 'default': "
        f"{blas_setting_label(None)}; '1 thread': `threadpool_limits(1, 'blas')`.",
        "LogisticRegressionGD (10 one-vs-rest units, learning_rate=0.01) is shown for "
        "comparison; the targets apply to the network.",
    ]
    targets = []
    for name, threads in _SWEEP_RUNS:
        values = per_sample[_run_key(name, threads)]
        if name == "network":
            targets.append(
                Target(
                    f"network per-sample epoch time, worst / best over n_samples "
                    f"{min(n_list):,}..{max(n_list):,}, {blas_setting_label(threads)}",
                    max(values.values()) / min(values.values()),
                    TARGET_PER_SAMPLE_SPREAD,
                    "<=",
                    "median epoch time / n_samples",
                )
            )
    samples = {
        f"{_run_key(m, t)}|{n}": {"epochs": v, "set_up": set_up[m, t, n]}
        for (m, t, n), v in samples.items()
    }
    return table, targets, per_sample, samples, data, models


def _run_key(name, threads):
    return f"{name}_{threads_key(threads)}"


def _threads(threads):
    return "default" if threads is None else f"{threads} thread"


def _memory_table(config, sizes, data, models):
    rows = []
    for n in sizes["n_samples"]:
        config.progress(f"{NAME}: memory at n_samples={n:,}")
        X, y = data.X_train[:n], data.y_train[:n]
        row = {"n_samples": n, "x_bytes": X.nbytes}
        for name, estimator in models.items():
            row[f"{name}_peak"] = peak_fit_memory(estimator, X, y)
            row[f"{name}_over_x"] = row[f"{name}_peak"] / X.nbytes
        rows.append(row)
    return Table(
        "Peak memory allocated by a one-epoch fit, beyond X",
        [
            Column("n_samples", "n_samples", "int"),
            Column("x_bytes", "size of X", "bytes"),
            Column("network_peak", "network fit", "bytes"),
            Column("network_over_x", "÷ size of X", "ratio"),
            Column("lr_peak", "LogisticRegressionGD fit", "bytes"),
            Column("lr_over_x", "÷ size of X", "ratio"),
        ],
        rows,
        notes=[
            "tracemalloc, started after X was built, so X itself is not counted: the peak "
            "of everything `fit` allocates (NumPy arrays included — NumPy reports its "
            "allocations to tracemalloc). Not seen: memory BLAS allocates internally.",
            f"A full-batch network fit holds two ({sizes['hidden']}, chunk) hidden-layer "
            "buffers, a chunk being at most 8192 rows, plus the (n_samples, n_classes) "
            "targets: beyond 8192 rows its memory grows only with the targets.",
        ],
    )


def _shape_sweeps(config, sizes):
    """The network's epoch as n_features, then the hidden size, grow.

    A shape both sweeps contain is timed once and shown in both.

    Returns
    -------
    table : Table
    samples : dict
        ``(n_samples, n_features, hidden)`` -> per-repeat seconds per epoch.
    """
    k = sizes["n_classes"]
    features, hiddens = sizes["features"], sizes["hiddens"]
    rows = [
        ("n_features", (features["n_samples"], f, features["hidden"])) for f in features["values"]
    ]
    rows += [
        ("hidden", (hiddens["n_samples"], hiddens["n_features"], h)) for h in hiddens["values"]
    ]
    runs = {}
    for _, (m, f, h) in rows:
        data = _data.generated(m, f, k)
        runs[m, f, h] = (full_batch_network(h), data.X_train, data.y_train, None)
    samples, _ = timed_epochs(config, runs, sizes["budget"], sizes["repeats"], "shapes")
    table = Table(
        f"Network epoch as n_features and hidden size grow ({k} classes)",
        [
            Column("swept", "swept"),
            Column("n_samples", "n_samples", "int"),
            Column("n_features", "n_features", "int"),
            Column("hidden", "hidden units", "int"),
            Column("epoch", "epoch", "seconds"),
            Column("epoch_range", "lowest – highest repeat"),
            Column("per_sample", "per sample", "seconds"),
            Column("gflops", "GFLOP/s (matrix products)", "gflops"),
        ],
    )
    for swept, (m, f, h) in rows:
        epochs = samples[m, f, h]
        epoch = median(epochs)
        table.rows.append(
            {
                "swept": swept,
                "n_samples": m,
                "n_features": f,
                "hidden": h,
                "epoch": epoch,
                "epoch_range": f"{format_seconds(min(epochs))} – {format_seconds(max(epochs))}",
                "per_sample": epoch / m,
                "gflops": epoch_flops(m, f, h, k) / epoch / 1e9,
            }
        )
    table.notes.append(
        f"{blas_setting_label(None)}; same measurement as above (steady epoch, interleaved "
        "medians); GFLOP/s counts 4·m·n·h + 6·m·h·k flops per epoch. A shape that both "
        "sweeps contain is one measurement, shown twice. The hardware and peers sections "
        "time some of these shapes too: the report's cross-checks put their figures side "
        "by side."
    )
    return table, samples


def run(config):
    """Measure how the epoch time and memory grow with the problem.

    Parameters
    ----------
    config : Config

    Returns
    -------
    section : Section
    """
    sizes = config.pick(SIZES)
    section = Section(NAME, TITLE, _INTRO)
    table, targets, per_sample, samples, data, models = _samples_sweep(config, sizes)
    shapes, shape_samples = _shape_sweeps(config, sizes)
    memory = _memory_table(config, sizes, data, models)
    section.tables += [table, shapes, memory]
    section.targets += targets
    k = sizes["n_classes"]
    for (m, f, h), epochs in shape_samples.items():
        key = cross_check_key("float64", blas_setting_label(None), (m, f, k), h)
        section.cross_checks[key] = {"median": median(epochs), "range": (min(epochs), max(epochs))}
    section.data.update(
        n_samples_samples=samples,
        shape_samples={"x".join(map(str, shape)): t for shape, t in shape_samples.items()},
    )
    labels = {
        _run_key("network", None): f"network ({sizes['hidden']} tanh), {blas_setting_label(None)}",
        _run_key("network", 1): f"network ({sizes['hidden']} tanh), {blas_setting_label(1)}",
        _run_key("lr", None): f"LogisticRegressionGD, {blas_setting_label(None)}",
    }
    section.figures.append(
        Figure(
            "scaling.png",
            "Full-batch epoch as n_samples grows: time per sample relative to the best size "
            "(left; flat is linear scaling) and time per epoch (right)",
            lambda fig: _draw_scaling(fig, per_sample, labels),
            size=(10.0, 4.2),
        )
    )
    spreads = {key: max(v.values()) / min(v.values()) for key, v in per_sample.items()}
    largest = memory.rows[-1]
    section.summary = (
        f"from {min(sizes['n_samples']):,} to {max(sizes['n_samples']):,} samples the "
        "network's time per sample varies by "
        f"{spreads[_run_key('network', None)]:.2f}x with default BLAS threads and "
        f"{spreads[_run_key('network', 1)]:.2f}x with one thread (target 1.5x); at "
        f"{largest['n_samples']:,} samples a one-epoch network fit allocates "
        f"{largest['network_over_x']:.2f}x the size of X beyond X."
    )
    return section


_INTRO = (
    "An epoch's work is proportional to n_samples, so its time per sample should stay flat: "
    "small sizes pay the fixed Python cost of an epoch, large sizes the memory traffic. "
    "The network here is full-batch plain gradient descent with tanh units."
)


def _draw_scaling(figure, per_sample, labels):
    # Imported here: the report is written, without plots, when matplotlib is missing.
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    left, right = figure.subplots(1, 2)
    for key, values in per_sample.items():
        n = np.array(sorted(values))
        seconds = np.array([values[v] for v in n])
        left.plot(n, seconds / seconds.min(), marker="o", label=labels[key])
        right.plot(n, seconds * n, marker="o", label=labels[key])
    left.axhline(
        TARGET_PER_SAMPLE_SPREAD,
        color="tab:red",
        linestyle="--",
        label=f"target for the network: ≤ {TARGET_PER_SAMPLE_SPREAD:g}x its best",
    )
    left.set_ylim(0.9, max(TARGET_PER_SAMPLE_SPREAD * 1.25, left.get_ylim()[1]))
    left.set(
        title="Time per sample per epoch, ÷ the best size",
        xscale="log",
        xlabel="n_samples",
        ylabel="÷ its own best (1 = the best size)",
    )
    right.set(
        title="Time per epoch",
        xscale="log",
        yscale="log",
        xlabel="n_samples",
        ylabel="time per epoch",
    )
    # Ticks at 1, 2 and 5 per decade, labelled as times, so even a short range is readable.
    right.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    right.yaxis.set_major_formatter(FuncFormatter(lambda v, _: format_seconds(v)))
    right.yaxis.set_minor_formatter(NullFormatter())
    for ax in (left, right):
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 3.0)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(True, which="major", alpha=0.3)
    left.legend(fontsize=7)
    right.legend(fontsize=7)
