"""Section ``distributed``: training on a Dask ``LocalCluster`` from an HDF5 file.

A binary problem (two symmetric class centroids plus unit noise) is written
block by block to an HDF5 file in a temporary directory. On clusters of 1
and 2 single-threaded worker processes, started side by side so that their
fits can be interleaved, :func:`sknn.distributed.fit_dask` trains
``LogisticRegressionGD()`` full batch on :func:`sknn.distributed.h5_to_dask`
arrays, and :func:`sknn.distributed.partial_fit_blocks` trains mini-batches
block by block. Both are set against the same training in memory: time,
and the model, which must be the same.

Needs the ``dask`` extra (Dask and ``distributed``); without it the section
is skipped, saying how to include it.
"""

import contextlib
import logging
import os
import tempfile

import numpy as np

from sknn import LogisticRegressionGD
from sknn.datasets import load_h5

from ._core import Column, Section, Table, Target, compare, fmt, interleave, median, pair
from ._data import write_h5
from .convergence import Objective

NAME = "distributed"
TITLE = "Distributed: fit_dask and partial_fit_blocks on a Dask LocalCluster"
COMMAND = 'pip install -e ".[bench,dask]" && python -m benchmarks --sections distributed'
TARGET_GAP = 1e-6
SEPARATION = 0.05  # of the centroids' coordinates: about 95% of rows classified right
WORKERS = (1, 2)
#: What each training on the cluster is set against.
FIT, BLOCKS = "fit, in memory", "partial_fit per block, in memory"

SIZES = {
    "full": dict(n_rows=60_000, n_features=1_000, block_rows=5_000, repeats=3),  # 480 MB of X
    "default": dict(n_rows=100_000, n_features=100, block_rows=10_000, repeats=3),  # 80 MB
    "quick": dict(n_rows=20_000, n_features=50, block_rows=5_000, repeats=1),
    "tiny": dict(n_rows=2_000, n_features=10, block_rows=500, repeats=1),
}


MINI_BATCHES = dict(optimizer="gd", learning_rate=0.05, batch_size=200, random_state=0)


def mini_batch_model():
    """The model partial_fit trains: mini-batches of 200, plain gradient descent."""
    return LogisticRegressionGD(**MINI_BATCHES)


@contextlib.contextmanager
def _clusters():
    """A client per worker count, each on a LocalCluster of single-threaded processes."""
    import distributed

    with contextlib.ExitStack() as stack:
        clients = {}
        for n_workers in WORKERS:
            cluster = stack.enter_context(distributed.LocalCluster(
                n_workers=n_workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address=None, silence_logs=logging.ERROR))  # fmt: skip
            clients[n_workers] = stack.enter_context(
                distributed.Client(cluster, set_as_default=False)
            )
        yield clients


def _candidates(path, block_rows, clients, fitted):
    """Every timed training, keyed by how it runs; the fitted models go to ``fitted``."""
    from sknn.distributed import fit_dask, h5_to_dask, partial_fit_blocks

    X, y = load_h5(path, return_X_y=True)
    blocks = [(X[i : i + block_rows], y[i : i + block_rows]) for i in range(0, len(y), block_rows)]
    classes = np.unique(y)

    def in_memory(_):
        fitted[FIT] = LogisticRegressionGD().fit(X, y)

    def on_cluster(n_workers):
        def run(_):
            estimator = LogisticRegressionGD()
            fitted[f"fit_dask, {n_workers} worker(s)"] = estimator
            fit_dask(estimator, *h5_to_dask(path, block_rows), client=clients[n_workers])

        return run

    def blocks_in_memory(_):
        estimator = fitted[BLOCKS] = mini_batch_model()
        for X_block, y_block in blocks:
            estimator.partial_fit(X_block, y_block, classes=classes)

    def blocks_on_cluster(_):
        estimator = fitted[f"partial_fit_blocks, {WORKERS[-1]} workers"] = mini_batch_model()
        with clients[WORKERS[-1]].as_current():
            partial_fit_blocks(estimator, *h5_to_dask(path, block_rows), classes=classes)

    candidates = {FIT: in_memory}
    candidates.update({f"fit_dask, {n} worker(s)": on_cluster(n) for n in WORKERS})
    candidates[BLOCKS] = blocks_in_memory
    candidates[f"partial_fit_blocks, {WORKERS[-1]} workers"] = blocks_on_cluster
    return candidates, X, y


def run(config):
    """Time fit_dask and partial_fit_blocks against the same training in memory.

    Parameters
    ----------
    config : Config

    Returns
    -------
    section : Section
    """
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        reason = "Dask and distributed are not installed (the sknn[dask] extra)."
        return Section(NAME, TITLE, skipped=reason, command=COMMAND, summary="skipped: " + reason)
    sizes = config.pick(SIZES)
    rng = np.random.default_rng(0)
    mu = SEPARATION * rng.standard_normal(sizes["n_features"])
    fitted = {}
    with tempfile.TemporaryDirectory(prefix="sknn-distributed-") as directory:
        path = os.path.join(directory, "train.h5")
        config.progress(f"{NAME}: writing {sizes['n_rows']:,} x {sizes['n_features']} to {path}")
        file_bytes = write_h5(path, sizes["n_rows"], np.stack([-mu, mu]),
                              block_rows=sizes["block_rows"], rng=rng)  # fmt: skip
        config.progress(f"{NAME}: starting LocalClusters of {' and '.join(map(str, WORKERS))} workers")
        with _clusters() as clients:
            candidates, X, y = _candidates(path, sizes["block_rows"], clients, fitted)
            samples = interleave(candidates, sizes["repeats"], config=config, label=f"{NAME}:   ")
    config.progress(f"{NAME}: the exact optimum, by scipy's L-BFGS")
    objective = Objective("sigmoid", X, y, LogisticRegressionGD().alpha)
    optimum = objective.minimum()["value"]
    return _section(sizes, file_bytes, samples, fitted, objective, optimum)


def _section(sizes, file_bytes, samples, fitted, objective, optimum):
    table = Table("Training on the cluster against the same training in memory", _COLUMNS)
    targets = []
    for name, times in samples.items():
        reference = BLOCKS if "partial_fit" in name else FIT
        model, base = fitted[name], fitted[reference]
        ratio = compare(times, samples[reference])
        gap = (objective.value(model.coef_.T, model.intercept_) - optimum) / optimum
        table.rows.append({
            "method": name, "seconds": median(times),
            **({} if name == reference else {"ratio": ratio["ratio"], "range": ratio["range"]}),
            "n_iter": model.n_iter_, "stop_reason": model.stop_reason_,
            "coef_diff": float(np.max(np.abs(model.coef_ - base.coef_))), "gap": max(gap, 0.0),
        })  # fmt: skip
        if name.startswith("fit_dask"):
            targets.append(Target(f"relative objective gap of {name}, LogisticRegressionGD()",
                                  max(gap, 0.0), TARGET_GAP, "<=", kind="sci",
                                  detail="(J − J*) / J*, J* from scipy's L-BFGS"))  # fmt: skip
    table.notes += [
        f"File: {sizes['n_rows']:,} x {sizes['n_features']} float64 ({fmt(file_bytes, 'bytes')}), "
        f"blocks of {sizes['block_rows']:,} rows. Times: medians of {sizes['repeats']} "
        "interleaved round(s) after a warm-up round; on the cluster they include reading the "
        "blocks from the file, in memory they do not (X was loaded before). Ratio: against "
        "the same training in memory, median over median; its range, per round.",
        "Workers are single-threaded processes on 127.0.0.1; on a 2-core machine the client, "
        "the schedulers and the workers share the cores. Mini-batches: "
        f"`LogisticRegressionGD({', '.join(f'{k}={v!r}' for k, v in MINI_BATCHES.items())})`, "
        "one pass. |Δ coef|: against the same training in memory; "
        "gap: (J − J*) / J* on the objective mean log-loss + alpha/2 ‖w‖².",
    ]
    section = Section(NAME, TITLE, _INTRO, tables=[table], targets=targets)
    section.data["samples"] = samples
    rows = {row["method"]: row for row in table.rows}
    last = f"fit_dask, {WORKERS[-1]} worker(s)"
    section.summary = (
        f"fit_dask of LogisticRegressionGD() on {WORKERS[-1]} workers: "
        f"{pair(compare(samples[last], samples[FIT]))} the fit in memory, the "
        f"same model (|Δ coef| {rows[last]['coef_diff']:.0e}, gap {rows[last]['gap']:.0e}, "
        f"{rows[last]['stop_reason']}); partial_fit_blocks: |Δ coef| "
        f"{table.rows[-1]['coef_diff']:.0e} against partial_fit on the same blocks in memory."
    )
    return section


_INTRO = (
    "The model the cluster trains must be the one training in memory gives; what the cluster "
    "costs is the time. Here the data fit in one process, so the cluster can only add "
    "overhead: the figures measure that overhead, not a speed-up."
)
_COLUMNS = [
    Column("method", "training"), Column("seconds", "time", "seconds"),
    Column("ratio", "/ in memory", "ratio"), Column("range", "range", "ratio"),
    Column("n_iter", "n_iter_", "int"), Column("stop_reason", "stop_reason_"),
    Column("coef_diff", "max |Δ coef|", "sci"), Column("gap", "objective gap", "sci"),
]  # fmt: skip
