"""Section ``scaling``: time per epoch and per sample as the number of samples grows.

Full-batch epochs of the network, with BLAS limited to one thread and with
its default threads, on prefixes of one generated problem. An epoch's work is
proportional to n_samples, so the time per sample should stay flat: small
sizes pay an epoch's fixed Python cost, large ones the memory traffic.
"""

import math

import numpy as np

from . import _data
from ._core import (
    Column,
    Figure,
    Section,
    Table,
    Target,
    blas_label,
    interleave,
    median,
    spread,
    timed,
)
from .hardware import fit_epochs, full_batch_network

NAME = "scaling"
TITLE = "Scaling: time per sample as n_samples grows"
TARGET_SPREAD = 1.5
#: BLAS threads of the sweep's two lines; None is the default thread count.
THREADS = (1, None)

# n: the sizes; budget: seconds each timed fit should last; shape: (features, hidden
# units, classes) of the problem.
SIZES = {
    "full": dict(n=(1000, 3000, 10**4, 3 * 10**4, 10**5, 3 * 10**5, 10**6), budget=0.3, repeats=5),
    "default": dict(n=(1000, 3000, 10**4, 3 * 10**4, 10**5), budget=0.1, repeats=4),
    "quick": dict(n=(1000, 3000, 10**4), budget=0.04, repeats=2),
    "tiny": dict(n=(200, 400), budget=0.005, repeats=2, shape=(10, 8, 3)),
}


def spread_bounds(per_sample):
    """Slowest / fastest time per sample over the sizes, and the bounds the repeats allow it.

    Parameters
    ----------
    per_sample : dict of int to list of float
        n_samples -> per-round seconds per sample.

    Returns
    -------
    measured, low, high : float
        From the medians; from the most favourable ends of the sizes' ranges
        (the slowest size at its fastest round over the fastest size at its
        slowest); from the least favourable ends.
    """
    medians = [median(v) for v in per_sample.values()]
    lows, highs = [min(v) for v in per_sample.values()], [max(v) for v in per_sample.values()]
    low = max(1.0, max(lows) / min(highs))
    return max(medians) / min(medians), low, max(highs) / min(lows)


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
    n_list, (features, hidden, classes) = sizes["n"], sizes.get("shape", (100, 64, 10))
    config.progress(f"{NAME}: generating {max(n_list):,} x {features}")
    data = _data.generated(max(n_list), features, classes)
    candidates, threads = {}, {}
    for n_threads in THREADS:
        for n in n_list:
            X, y = data.X_train[:n], data.y_train[:n]
            # A 2-epoch probe sets the length of the timed fit to about the budget.
            probe = timed(fit_epochs(full_batch_network(hidden, 2), X, y), n_threads=n_threads)
            epochs = min(2000, max(3, math.ceil(sizes["budget"] / probe)))
            candidates[n_threads, n] = fit_epochs(full_batch_network(hidden, epochs), X, y)
            threads[n_threads, n] = n_threads
        config.tick(f"{NAME}:   calibrated, {blas_label(n_threads)}")
    label = f"{NAME}:   "
    samples = interleave(candidates, sizes["repeats"], threads=threads, config=config, label=label)
    per_sample = {t: {n: [s / n for s in samples[t, n]] for n in n_list} for t in THREADS}
    columns = [Column("n", "n_samples", "int")]
    columns += [Column(str(t), f"per sample, {blas_label(t)}", "seconds") for t in THREADS]
    title = f"Full-batch epoch time per sample, {features} features, {hidden} tanh units"
    table = Table(f"{title}, {classes} classes", columns)
    for n in n_list:
        table.rows.append({"n": n, **{str(t): spread(per_sample[t][n]) for t in THREADS}})
    section = Section(NAME, TITLE, _INTRO, tables=[table])
    detail = "from the medians; range: from the sizes' ranges, best and worst case"
    for t in THREADS:
        name = f"time per sample, slowest / fastest n_samples, {blas_label(t)}"
        bounds = spread_bounds(per_sample[t])
        section.targets.append(
            Target(name, bounds[0], TARGET_SPREAD, "<=", *bounds[1:], detail=detail)
        )
    table.notes.append(
        f"Per sample: a fit of about {sizes['budget']} s (at least 3 epochs) / its epochs / "
        f"n_samples, set-up included; median (range) of {sizes['repeats']} interleaved rounds, "
        f"all sizes and settings in every round. X: the first n_samples rows of one "
        f"`{data.source}`."
    )
    section.figures.append(
        Figure("scaling.png", _CAPTION, lambda f: _draw(f, per_sample), (10, 4.2))
    )
    section.data["samples"] = {f"{blas_label(t)}|{n}": v for (t, n), v in samples.items()}
    section.summary = (
        f"from {min(n_list):,} to {max(n_list):,} samples the network's time per sample varies "
        + " and ".join(f"{t.shown} with {blas_label(n)}" for t, n in zip(section.targets, THREADS))
        + f" (target ≤ {TARGET_SPREAD}x; ranges: best and worst case over the rounds)."
    )
    return section


_CAPTION = (
    "Full-batch epoch as n_samples grows: time per sample relative to each line's fastest "
    "size (left; flat is linear scaling) and time per epoch (right); markers: medians, bars: "
    "range over rounds"
)
_INTRO = (
    "The network is full-batch plain gradient descent with tanh units, as in the hardware "
    "section; flat time per sample means the epoch scales linearly with the data. Cells: "
    "median (range over the rounds)."
)


def _draw(figure, per_sample):
    from matplotlib.ticker import LogLocator, NullFormatter  # optional: only when plotting

    left, right = figure.subplots(1, 2)
    for i, (t, values) in enumerate(per_sample.items()):
        n = np.array(sorted(values))
        middle, low, high = np.array([spread(values[k]) for k in n]).T
        style = dict(marker="o", capsize=3, color=f"C{i}", label=f"network, {blas_label(t)}")
        best = middle.min()
        left.errorbar(
            n, middle / best, yerr=[(middle - low) / best, (high - middle) / best], **style
        )
        right.errorbar(n, middle * n, yerr=[(middle - low) * n, (high - middle) * n], **style)
    left.axhline(TARGET_SPREAD, color="tab:red", ls=":", lw=1, label=f"target {TARGET_SPREAD}x")
    left.set(xscale="log", yscale="log", xlabel="n_samples", ylabel="per sample / fastest size")
    # Log scale, so that load spikes do not flatten the lines; ticks at 1, 1.5, 2, 3, 5 x 10^k.
    left.yaxis.set_major_locator(LogLocator(subs=(1.0, 1.5, 2.0, 3.0, 5.0)))
    left.yaxis.set_major_formatter(lambda value, _: f"{value:g}x")
    left.yaxis.set_minor_formatter(NullFormatter())
    right.set(xscale="log", yscale="log", xlabel="n_samples", ylabel="seconds per epoch")
    left.set_title("Time per sample (log scale; flat = linear scaling)", fontsize=10)
    right.set_title("Time per epoch", fontsize=10)
    left.legend(fontsize=7)
