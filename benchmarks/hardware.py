"""Section ``hardware``: the network's epoch against what the machine can do.

A full-batch epoch of a one-hidden-layer network is almost all matrix
products, ``4 m n h + 6 m h k`` flops. Its time is set against a large
square matrix product (the machine's practical peak), against the same five
products in plain NumPy on the same shapes (what the epoch cannot beat), and
against ``MLPClassifier`` doing the same work (full-batch plain gradient
descent, no shuffling). All interleaved, BLAS with its default threads.
"""

import numpy as np
from sklearn.neural_network import MLPClassifier

from sknn import ShallowNNClassifier

from . import _data
from ._core import Column, Section, Table, Target, blas_label, compare, interleave, median, pair

NAME = "hardware"
TITLE = "Hardware: the network's epoch in GFLOP/s, against the machine's peak and MLPClassifier"
TARGET_EPOCH_OVER_GEMMS = 1.1
TARGET_FLOAT32_SPEEDUP = 1.8
TARGET_OVER_MLP = 0.9

SIZES = {
    "full": dict(shape=(20000, 784, 10), hidden=128, epochs=5, square=2048, repeats=5),
    "default": dict(shape=(10000, 784, 10), hidden=128, epochs=5, square=2048, repeats=5),
    "quick": dict(shape=(2000, 256, 10), hidden=64, epochs=10, square=1024, repeats=3),
    "tiny": dict(shape=(300, 50, 3), hidden=16, epochs=3, square=128, repeats=1),
}


def full_batch_network(hidden, max_iter):
    """The network the hardware, devices and scaling sections time: full-batch plain GD, tanh.

    Every parameter that changes an epoch's work is spelled out, so that the
    sections time the same thing whatever the defaults become.
    """
    return ShallowNNClassifier(
        hidden, activation="tanh", optimizer="gd", batch_size=None, learning_rate=0.01,
        alpha=1e-4, tol=None, early_stopping=False, max_iter=max_iter, random_state=0,
    )  # fmt: skip


def matched_mlp(hidden, n_samples, max_iter):
    """MLPClassifier doing the network's work: full batch, plain GD, no shuffle, no early stop."""
    return MLPClassifier(
        (hidden,), activation="tanh", solver="sgd", batch_size=n_samples, momentum=0.0,
        nesterovs_momentum=False, shuffle=False, learning_rate_init=0.01, alpha=1e-4, tol=0.0,
        max_iter=max_iter, n_iter_no_change=max_iter + 1, random_state=0,
    )  # fmt: skip


def epoch_flops(m, n, h, k):
    """Matrix-product flops of one full-batch epoch: ``4 m n h + 6 m h k``."""
    return 4 * m * n * h + 6 * m * h * k


def gemm_replica(X, hidden, n_classes, rounds):
    """The epoch's five matrix products in plain NumPy, into preallocated outputs.

    Forward: ``X W1`` and ``A1 W2``; backward: ``A1ᵀ dZ2`` (grad W2),
    ``dZ2 W2ᵀ`` (back to the hidden layer) and ``Xᵀ dZ1`` (grad W1).

    Returns
    -------
    run : callable
        ``run(repeat)`` computes the five products ``rounds`` times and returns ``rounds``.
    """
    m, n = X.shape
    rng = np.random.default_rng(0)
    W1, W2 = (rng.standard_normal(s).astype(X.dtype) for s in ((n, hidden), (hidden, n_classes)))
    dZ2 = rng.standard_normal((m, n_classes)).astype(X.dtype)
    A1, dZ1 = np.empty((m, hidden), X.dtype), np.empty((m, hidden), X.dtype)
    Z2, gW2, gW1 = (np.empty(s, X.dtype) for s in ((m, n_classes), (hidden, n_classes), (n, hidden)))

    def run(_):
        for _ in range(rounds):
            np.matmul(X, W1, out=A1)
            np.matmul(A1, W2, out=Z2)
            np.matmul(A1.T, dZ2, out=gW2)
            np.matmul(dZ2, W2.T, out=dZ1)
            np.matmul(X.T, dZ1, out=gW1)
        return rounds

    return run


def _square(A, B, C):
    def run(_):
        np.matmul(A, B, out=C)

    return run


def _fit(estimator, X, y):
    def run(_):
        return int(estimator.fit(X, y).n_iter_)

    return run


def run(config):
    """Measure the epoch's GFLOP/s against the square GEMM, its own GEMMs and MLPClassifier.

    Parameters
    ----------
    config : Config

    Returns
    -------
    section : Section
    """
    sizes = config.pick(SIZES)
    (m, n, k), h, epochs = sizes["shape"], sizes["hidden"], sizes["epochs"]
    config.progress(f"{NAME}: {m} x {n}, {h} tanh units, {k} classes, float64 and float32")
    candidates = {}
    for dtype in ("float64", "float32"):
        data = _data.generated(m, n, k, np.dtype(dtype).type)
        X, y = data.X_train, data.y_train
        rng = np.random.default_rng(1)
        A, B = (rng.standard_normal((sizes["square"],) * 2).astype(dtype) for _ in range(2))
        C = np.empty_like(A)
        candidates.update({
            (dtype, "network"): _fit(full_batch_network(h, epochs), X, y),
            (dtype, "mlp"): _fit(matched_mlp(h, m, epochs), X, y),
            (dtype, "gemms"): gemm_replica(X, h, k, epochs),
            (dtype, "square"): _square(A, B, C),
        })  # fmt: skip
    samples = interleave(candidates, sizes["repeats"], config=config, label=f"{NAME}:   ")
    flops, peak_flops = epoch_flops(m, n, h, k), 2 * sizes["square"] ** 3
    table = Table(
        f"Epoch throughput, {m} x {n}, {h} tanh units, {k} classes "
        f"({flops / 1e9:.2f} GFLOP of matrix products per epoch)", _COLUMNS)  # fmt: skip
    section = Section(NAME, TITLE, _INTRO)
    for dtype in ("float64", "float32"):
        epoch = samples[dtype, "network"]
        gemms, mlp = compare(epoch, samples[dtype, "gemms"]), compare(epoch, samples[dtype, "mlp"])
        peak = peak_flops / median(samples[dtype, "square"]) / 1e9
        table.rows.append({
            "dtype": dtype, "peak": peak, "epoch": median(epoch),
            "gflops": flops / median(epoch) / 1e9, "share": flops / median(epoch) / 1e9 / peak,
            "gemms": gemms["denominator"], "over_gemms": gemms["ratio"],
            "over_gemms_range": gemms["range"], "mlp": mlp["denominator"],
            "over_mlp": mlp["ratio"], "over_mlp_range": mlp["range"],
        })  # fmt: skip
        section.targets += [
            Target(f"network epoch / its five GEMMs, {dtype}", gemms["ratio"],
                   TARGET_EPOCH_OVER_GEMMS, "<=", *gemms["range"], detail=pair(gemms)),
            Target(f"network epoch / MLPClassifier's at matched work, {dtype}", mlp["ratio"],
                   TARGET_OVER_MLP, "<=", *mlp["range"], detail=pair(mlp)),
        ]  # fmt: skip
    speedup = compare(samples["float64", "network"], samples["float32", "network"])
    over_gemms = compare(samples["float64", "network"], samples["float64", "gemms"])
    section.targets.append(Target(
        "network epoch: float32 speed-up over float64", speedup["ratio"], TARGET_FLOAT32_SPEEDUP,
        ">=", *speedup["range"], detail=pair(speedup)))  # fmt: skip
    table.notes += [
        f"{blas_label(None)}; medians of {sizes['repeats']} interleaved rounds after a warm-up "
        f"round. Epoch: a {epochs}-epoch fit / {epochs}, its set-up (validation, "
        "initialisation) included. Network: `ShallowNNClassifier(optimizer='gd', "
        "batch_size=None, tol=None, activation='tanh')`; MLP: `MLPClassifier(solver='sgd', "
        "batch_size=n_samples, momentum=0, shuffle=False, tol=0)`, learning rate 0.01 on both.",
        "Peak: a square matrix product of the size in the section's JSON; GFLOP/s count only "
        "the matrix products. Each ratio is that of the two medians named in it; its range, "
        "the lowest and highest per-round ratio.",
    ]
    section.tables.append(table)
    section.data["samples"] = {"|".join(key): v for key, v in samples.items()}
    section.data["sizes"] = sizes
    f64, f32 = table.rows
    section.summary = (
        f"the network's full-batch epoch on {m} x {n} ({h} tanh units) runs at "
        f"{f64['gflops']:.0f} GFLOP/s in float64 ({f64['share']:.0%} of a square matrix "
        f"product's {f64['peak']:.0f}) and {f32['gflops']:.0f} in float32 "
        f"({f32['share']:.0%} of {f32['peak']:.0f}); float32 speed-up {pair(speedup)}; "
        f"against its five GEMMs {pair(over_gemms)} (float64), against MLPClassifier's epoch {f64['over_mlp']:.2f}x (float64) and "
        f"{f32['over_mlp']:.2f}x (float32)."
    )
    return section


_INTRO = (
    "GFLOP/s count the matrix products only (4·m·n·h + 6·m·h·k flops per epoch: no gradient "
    "with respect to X is needed). The square matrix product, timed in the same rounds, is "
    "the practical peak."
)
_COLUMNS = [
    Column("dtype", "dtype"), Column("peak", "peak GFLOP/s", "gflops"),
    Column("epoch", "network epoch", "seconds"), Column("gflops", "epoch GFLOP/s", "gflops"),
    Column("share", "of peak", "percent"), Column("gemms", "its five GEMMs", "seconds"),
    Column("over_gemms", "epoch / GEMMs", "ratio"), Column("over_gemms_range", "range", "ratio"),
    Column("mlp", "MLPClassifier epoch", "seconds"), Column("over_mlp", "network / MLP", "ratio"),
    Column("over_mlp_range", "range", "ratio"),
]  # fmt: skip
