"""Section ``hardware``: the network's epoch against what the machine can do.

The full-batch epoch of a 128-unit tanh network is almost all matrix
products, ``4 m n h + 6 m h k`` flops. It is compared with a large square
matrix multiply (the machine's practical peak) and with the same five
matrix products replicated in plain NumPy on the same shapes; the time left
over is split into the rest of the loss-and-gradient computation and the rest
of the epoch (optimizer step, engine, ``fit`` set-up).
"""

import time

import numpy as np

from sknn import ShallowNNClassifier

from . import _data
from ._report import Column, Section, Table, Target, cross_check_key, format_value
from ._timing import (
    blas_setting_label,
    compare,
    fit_timers,
    interleave,
    median,
    steady_epochs,
)

NAME = "hardware"
TITLE = "Hardware: the network's epoch in GFLOP/s, against its matrix products"
TARGET_EPOCH_OVER_GEMMS = 1.1
TARGET_FLOAT32_SPEEDUP = 1.8
DTYPES = (np.float64, np.float32)

SIZES = {
    "full": dict(shape=(20000, 784, 10), hidden=128, epochs=4, square=2048, repeats=7),
    "quick": dict(shape=(2000, 784, 10), hidden=128, epochs=10, square=1024, repeats=3),
    "tiny": dict(shape=(300, 50, 3), hidden=16, epochs=3, square=128, repeats=1),
}

#: The five products of a full-batch epoch: (label, flops per (m, n, h, k)).
#: ShallowNetObjective holds the hidden layer transposed (A1T = A1^T), so these
#: are the products exactly as it calls them.
GEMMS = (
    ("W1.T @ X.T (forward, hidden)", lambda m, n, h, k: 2 * m * n * h),
    ("W2.T @ A1T (forward, output)", lambda m, n, h, k: 2 * m * h * k),
    ("A1T @ dZ2 (grad W2)", lambda m, n, h, k: 2 * m * h * k),
    ("W2 @ dZ2.T (back to hidden)", lambda m, n, h, k: 2 * m * h * k),
    ("dZ1T @ X (grad W1)", lambda m, n, h, k: 2 * m * n * h),
)


def full_batch_network(hidden, max_iter=1):
    """The network that the hardware, scaling and peers sections time.

    Full-batch plain gradient descent, tanh units, a fixed length. Every
    parameter that changes an epoch's work is spelled out rather than left
    to a default, so that the three sections time the same thing and can be
    checked against one another (:func:`~benchmarks._report.cross_check_key`).
    """
    return ShallowNNClassifier(
        hidden,
        activation="tanh",
        optimizer="gd",
        batch_size=None,
        learning_rate=0.01,
        alpha=1e-4,
        tol=None,
        early_stopping=False,
        max_iter=max_iter,
        random_state=0,
    )


def epoch_flops(m, n, h, k):
    """Matrix-product flops of one full-batch epoch: ``4 m n h + 6 m h k``."""
    return 4 * m * n * h + 6 * m * h * k


def gemm_replica(X, hidden, n_classes, repeats, per_product):
    """The epoch's five matrix products in plain NumPy, into preallocated buffers.

    Parameters
    ----------
    X : ndarray of shape (m, n)
    hidden, n_classes : int
    repeats : int
        Rounds of the five products per call.
    per_product : list of lists
        Each call appends its seconds per round for each product.

    Returns
    -------
    run : callable
        Runs ``repeats`` rounds and returns ``repeats``.
    """
    m, n = X.shape
    rng = np.random.default_rng(0)
    W1 = np.asfortranarray(rng.standard_normal((n, hidden)), dtype=X.dtype)
    W2 = rng.standard_normal((hidden, n_classes)).astype(X.dtype)
    dZ2 = rng.standard_normal((n_classes, m)).astype(X.dtype).T
    A1T, dZ1T, Z2T = (
        np.empty(shape, X.dtype) for shape in ((hidden, m), (hidden, m), (n_classes, m))
    )
    gW2 = np.empty((hidden, n_classes), X.dtype)
    gW1 = np.empty((n, hidden), X.dtype, order="F")
    products = (
        lambda: np.matmul(W1.T, X.T, out=A1T),
        lambda: np.matmul(W2.T, A1T, out=Z2T),
        lambda: np.matmul(A1T, dZ2, out=gW2),
        lambda: np.matmul(W2, dZ2.T, out=dZ1T),
        lambda: np.matmul(dZ1T, X, out=gW1.T),
    )

    def run():
        totals = [0.0] * len(products)
        for _ in range(repeats):
            for i, product in enumerate(products):
                start = time.perf_counter()
                product()
                totals[i] += time.perf_counter() - start
        for i, total in enumerate(totals):
            per_product[i].append(total / repeats)
        return repeats

    return run


def _candidates(X, y, sizes, per_product):
    """Timed callables for one dtype: epoch, loss_grad, GEMM replica, square GEMM."""
    hidden, epochs = sizes["hidden"], sizes["epochs"]
    n_classes = sizes["shape"][2]
    estimator = full_batch_network(hidden)
    # The objective fit uses, at its initial parameters, in this dtype.
    X64 = X.astype(np.float64, copy=False)
    objective, params, _, Y, _ = estimator._gradient_problem(X64, y, None)
    params = {name: p.astype(X.dtype) for name, p in params.items()}
    Y = Y.astype(X.dtype)
    size = sizes["square"]
    rng = np.random.default_rng(1)
    A, B = (rng.standard_normal((size, size)).astype(X.dtype) for _ in range(2))
    C = np.empty_like(A)

    def loss_grad():
        for _ in range(epochs):
            objective.loss_grad(params, X, Y, None)
        return epochs

    def square():
        np.matmul(A, B, out=C)

    long_fit, short_fit = fit_timers(estimator, X, y, epochs)
    return {
        "long_fit": long_fit,
        "short_fit": short_fit,
        "loss_grad": loss_grad,
        "gemms": gemm_replica(X, hidden, n_classes, epochs, per_product),
        "square": square,
    }


def run(config):
    """Measure the network's epoch against the square GEMM and its own GEMMs.

    Parameters
    ----------
    config : Config

    Returns
    -------
    section : Section
    """
    sizes = config.pick(SIZES)
    m, n, k = sizes["shape"]
    h = sizes["hidden"]
    config.progress(f"{NAME}: {m}x{n}, {h} tanh units, {k} classes")
    candidates, per_product = {}, {}
    for dtype in DTYPES:
        data = _data.generated(m, n, k, dtype)
        per_product[dtype.__name__] = [[] for _ in GEMMS]
        parts = _candidates(data.X_train, data.y_train, sizes, per_product[dtype.__name__])
        candidates.update({(dtype.__name__, name): fn for name, fn in parts.items()})
    samples = interleave(candidates, sizes["repeats"], config=config, label=f"{NAME}:   ")
    # The warm-up round appended to per_product too: keep the timed rounds.
    per_product = {d: [s[-sizes["repeats"] :] for s in lists] for d, lists in per_product.items()}
    for dtype in DTYPES:
        d = dtype.__name__
        long_fits, short_fits = samples[d, "long_fit"], samples[d, "short_fit"]
        samples[d, "epoch"] = steady_epochs(long_fits, short_fits, sizes["epochs"])
        samples[d, "set_up"] = [b - e for b, e in zip(short_fits, samples[d, "epoch"])]

    flops = epoch_flops(m, n, h, k)
    square_flops = 2 * sizes["square"] ** 3
    throughput = Table(
        f"Throughput, {m}x{n}, {h} tanh units, {k} classes "
        f"({flops / 1e9:.2f} GFLOP of matrix products per epoch)",
        [
            Column("dtype", "dtype"),
            Column("square_gflops", f"square GEMM {sizes['square']}² GFLOP/s", "gflops"),
            Column("epoch_seconds", "epoch", "seconds"),
            Column("epoch_gflops", "epoch GFLOP/s", "gflops"),
            Column("epoch_share", "epoch / square peak", "percent"),
            Column("gemms_seconds", "its five GEMMs", "seconds"),
            Column("gemms_gflops", "GEMMs GFLOP/s", "gflops"),
            Column("epoch_over_gemms", "epoch / GEMMs", "ratio"),
            Column("epoch_over_gemms_range", "lowest – highest repeat", "range"),
        ],
    )
    section = Section(NAME, TITLE, _INTRO)
    for dtype in DTYPES:
        d = dtype.__name__
        epoch, gemms = samples[d, "epoch"], samples[d, "gemms"]
        square_rate = square_flops / median(samples[d, "square"]) / 1e9
        ratio = compare(epoch, gemms)
        section.cross_checks[cross_check_key(d, blas_setting_label(None), (m, n, k), h)] = {
            "median": median(epoch),
            "range": (min(epoch), max(epoch)),
        }
        throughput.rows.append(
            {
                "dtype": d,
                "square_gflops": square_rate,
                "epoch_seconds": median(epoch),
                "epoch_gflops": flops / median(epoch) / 1e9,
                "epoch_share": flops / median(epoch) / 1e9 / square_rate,
                "gemms_seconds": median(gemms),
                "gemms_gflops": flops / median(gemms) / 1e9,
                "epoch_over_gemms": ratio["ratio"],
                "epoch_over_gemms_range": ratio["ratio_range"],
            }
        )
        section.targets.append(
            Target(
                f"network epoch / its five GEMMs, {d}",
                ratio["ratio"],
                TARGET_EPOCH_OVER_GEMMS,
                "<=",
                "steady full-batch epoch over the same products in plain NumPy",
            )
        )
    float32_speedup = compare(samples["float64", "epoch"], samples["float32", "epoch"])
    section.targets.append(
        Target(
            "network epoch: float32 speed-up over float64",
            float32_speedup["ratio"],
            TARGET_FLOAT32_SPEEDUP,
            ">=",
            "median full-batch epoch float64 / median float32 (the throughput table's "
            "epoch column); per-repeat range "
            + format_value(float32_speedup["ratio_range"], "range"),
        )
    )
    throughput.notes += [
        f"{blas_setting_label(None)}. Epoch: `ShallowNNClassifier(optimizer='gd', "
        f"batch_size=None, tol=None)`, steady state: (time of a {sizes['epochs']}-epoch fit "
        f"− time of a 1-epoch fit) / {sizes['epochs'] - 1}, so the once-per-fit set-up "
        "(validation, initialisation, first touch of fresh buffers) is left out; it is "
        "shown separately below.",
        f"Medians of {sizes['repeats']} interleaved repeats after a warm-up round. "
        "Epoch / GEMMs is the ratio of the two medians left of it; its range, the lowest "
        "and highest per-repeat ratio. GFLOP/s and shares are from the medians too.",
    ]
    breakdown = _breakdown_table(samples, per_product, (m, n, h, k))
    section.tables += [throughput, breakdown]
    section.data["samples"] = {"|".join(key): v for key, v in samples.items()}
    section.data["per_product"] = per_product
    f64, f32 = throughput.rows
    section.summary = (
        f"the network's full-batch epoch on {m} x {n} ({h} tanh units) runs at "
        f"{f64['epoch_gflops']:.0f} GFLOP/s in float64 ({f64['epoch_share']:.0%} of a large "
        f"square matrix product) and {f32['epoch_gflops']:.0f} in float32; it takes "
        f"{f64['epoch_over_gemms']:.2f}x / {f32['epoch_over_gemms']:.2f}x the time of its "
        f"own five matrix products (target 1.1x); float32 is "
        f"{float32_speedup['ratio']:.2f}x faster than float64 (target 1.8x)."
    )
    return section


def _breakdown_table(samples, per_product, shape):
    """Where the epoch's time goes: each product, the rest of loss_grad, the rest."""
    columns = [Column("part", "part of the epoch"), Column("gflop", "GFLOP", "float")]
    rows = [{"part": label, "gflop": flops(*shape) / 1e9} for label, flops in GEMMS]
    rows += [
        {"part": "five GEMMs", "gflop": epoch_flops(*shape) / 1e9},
        {"part": "rest of loss_grad (bias, tanh, softmax, derivative, sums)"},
        {"part": "rest of the epoch (optimizer step, engine)"},
        {"part": "whole epoch"},
        {"part": "not in the epoch: fit set-up, once per fit"},
    ]
    for dtype in DTYPES:
        d = dtype.__name__
        columns += [
            Column(f"{d}_seconds", f"{d} time", "seconds"),
            Column(f"{d}_share", f"{d} share", "percent"),
        ]
        epoch = median(samples[d, "epoch"])
        gemms = median(samples[d, "gemms"])
        loss_grad = median(samples[d, "loss_grad"])
        times = [median(p) for p in per_product[d]]
        times += [gemms, loss_grad - gemms, epoch - loss_grad, epoch]
        times.append(median(samples[d, "set_up"]))
        for row, seconds in zip(rows, times):
            row[f"{d}_seconds"] = seconds
            row[f"{d}_share"] = seconds / epoch
    return Table(
        "Where the epoch goes",
        columns,
        rows,
        notes=[
            "The products are timed one by one in the plain-NumPy replica; `loss_grad` is "
            "sknn's objective called directly (from `estimator._gradient_problem`); the "
            "rests are differences of medians, so they can be slightly negative when "
            "within the noise. Shares are of the whole epoch; the set-up is a once-per-fit "
            "cost, shown for scale.",
        ],
    )


_INTRO = (
    "GFLOP/s count only the matrix products (4·m·n·h + 6·m·h·k flops per epoch; no "
    "gradient with respect to X is needed). The square GEMM is measured in the same run, "
    "interleaved, as the practical peak."
)
