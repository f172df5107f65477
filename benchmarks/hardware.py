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
    "default": dict(shape=(5000, 784, 10), hidden=128, epochs=5, square=2048, repeats=5),
    "quick": dict(shape=(1000, 256, 10), hidden=64, epochs=5, square=512, repeats=2),
    "tiny": dict(shape=(300, 50, 3), hidden=16, epochs=3, square=128, repeats=1),
}


#: What sets the network's epoch, spelled out so that the hardware, devices and scaling
#: sections time the same thing whatever the defaults become: full-batch plain GD, tanh.
NETWORK = dict(activation="tanh", optimizer="gd", batch_size=None, learning_rate=0.01, tol=None)
#: MLPClassifier doing the same work: full batch, plain GD, no shuffling, no early stop.
MLP = dict(activation="tanh", solver="sgd", learning_rate_init=0.01, alpha=1e-4, tol=0.0)
MLP.update(momentum=0.0, nesterovs_momentum=False, shuffle=False)


def full_batch_network(hidden, max_iter):
    """The network the hardware, devices and scaling sections time (:data:`NETWORK`)."""
    return ShallowNNClassifier(hidden, alpha=1e-4, max_iter=max_iter, random_state=0, **NETWORK)


def matched_mlp(hidden, n_samples, max_iter):
    """MLPClassifier doing the network's work (:data:`MLP`), exactly ``max_iter`` epochs."""
    stop = dict(max_iter=max_iter, n_iter_no_change=max_iter + 1)
    return MLPClassifier((hidden,), batch_size=n_samples, random_state=0, **MLP, **stop)


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
    Z2, gW2, gW1 = (
        np.empty(s, X.dtype) for s in ((m, n_classes), (hidden, n_classes), (n, hidden))
    )

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


def fit_epochs(estimator, X, y):
    """A timed candidate: fit, and return the epochs run (the units of its time)."""

    def run(_):
        return int(np.max(estimator.fit(X, y).n_iter_))

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
        candidates.update(
            {
                (dtype, "network"): fit_epochs(full_batch_network(h, epochs), X, y),
                (dtype, "mlp"): fit_epochs(matched_mlp(h, m, epochs), X, y),
                (dtype, "gemms"): gemm_replica(X, h, k, epochs),
                (dtype, "square"): _square(A, B, C),
            }
        )
    samples = interleave(candidates, sizes["repeats"], config=config, label=f"{NAME}:   ")
    flops, peak_flops = epoch_flops(m, n, h, k), 2 * sizes["square"] ** 3
    table = Table(
        f"Epoch throughput, {m} x {n}, {h} tanh units, {k} classes "
        f"({flops / 1e9:.2f} GFLOP of matrix products per epoch)",
        _COLUMNS,
    )
    section = Section(NAME, TITLE, _INTRO, tables=[table])
    for dtype in ("float64", "float32"):
        epoch = samples[dtype, "network"]
        gemms, mlp = compare(epoch, samples[dtype, "gemms"]), compare(epoch, samples[dtype, "mlp"])
        peak = peak_flops / median(samples[dtype, "square"]) / 1e9
        rate = flops / median(epoch) / 1e9
        table.rows.append(
            dict(dtype=dtype, peak=peak, epoch=median(epoch), gflops=rate, share=rate / peak)
        )
        table.rows[-1].update(gemms=pair(gemms), mlp=pair(mlp))
        section.targets += [
            Target.on_ratio(
                f"network epoch / its five GEMMs, {dtype}", gemms, TARGET_EPOCH_OVER_GEMMS, "<="
            ),
            Target.on_ratio(
                f"network epoch / MLPClassifier's at matched work, {dtype}",
                mlp,
                TARGET_OVER_MLP,
                "<=",
            ),
        ]
    speedup = compare(samples["float64", "network"], samples["float32", "network"])
    section.targets.append(
        Target.on_ratio(
            "network epoch: float32 speed-up over float64", speedup, TARGET_FLOAT32_SPEEDUP, ">="
        )
    )
    table.notes.append(
        f"{blas_label(None)}; medians of {sizes['repeats']} interleaved rounds after a warm-up "
        f"round, ranges over the rounds. Epoch: a {epochs}-epoch fit / {epochs}, set-up "
        "included. Network: `ShallowNNClassifier(optimizer='gd', batch_size=None, tol=None, "
        "activation='tanh')`; MLP: `MLPClassifier(solver='sgd', batch_size=n_samples, "
        "momentum=0, shuffle=False, tol=0)`, learning rate 0.01 on both. Peak: a "
        f"{sizes['square']}² matrix product, the practical maximum."
    )
    section.data["samples"] = {"|".join(key): v for key, v in samples.items()}
    f64, f32 = table.rows
    section.summary = (
        f"the network's full-batch epoch on {m} x {n} ({h} tanh units) runs at "
        f"{f64['gflops']:.0f} GFLOP/s in float64 ({f64['share']:.0%} of a square matrix "
        f"product's {f64['peak']:.0f}) and {f32['gflops']:.0f} in float32 ({f32['share']:.0%} "
        f"of {f32['peak']:.0f}); float32 against float64: {pair(speedup)}; float64 epoch against "
        f"its five GEMMs: {f64['gemms']}; against MLPClassifier's epoch: {f64['mlp']} (float64), "
        f"{f32['mlp']} (float32)."
    )
    return section


_INTRO = (
    "GFLOP/s count the matrix products only (4·m·n·h + 6·m·h·k flops per epoch: no gradient "
    "with respect to X is needed). The square matrix product, timed in the same rounds, is "
    "the practical peak."
)
_COLUMNS = [
    Column("dtype", "dtype"),
    Column("peak", "peak GFLOP/s", "gflops"),
    Column("epoch", "network epoch", "seconds"),
    Column("gflops", "epoch GFLOP/s", "gflops"),
    Column("share", "of peak", "percent"),
    Column("gemms", "epoch vs its five GEMMs = ratio (range)"),
    Column("mlp", "epoch vs MLPClassifier's = ratio (range)"),
]
