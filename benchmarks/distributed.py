"""Section ``distributed``: training on a Dask ``LocalCluster`` from an HDF5 file.

A binary problem (two symmetric class centroids plus unit noise) is written
block by block to an HDF5 file in a temporary directory. On clusters of 1
and 2 single-threaded worker processes, started side by side so that their
fits can be interleaved, :func:`sknn.distributed.fit_dask` trains
``LogisticRegressionGD()`` full batch on :func:`sknn.distributed.h5_to_dask`
arrays, and :func:`sknn.distributed.partial_fit_blocks` trains mini-batches
block by block. Both are set against the same training in memory: its time,
and its model, which must be the same.

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

from ._core import Column, Section, Table, Target, compare, fmt, interleave, pair, spread
from ._data import write_h5
from .convergence import Objective

NAME = "distributed"
TITLE = "Distributed: fit_dask and partial_fit_blocks on a Dask LocalCluster"
COMMAND = 'pip install -e ".[bench,dask]" && python -m benchmarks --sections distributed'
TARGET_GAP = 1e-6
SEPARATION = 0.05  # of the centroids' coordinates: about 95% of rows classified right
MINI_BATCHES = dict(optimizer="gd", learning_rate=0.05, batch_size=200, random_state=0)
#: What the trainings on the cluster are set against.
FIT, BLOCKS = "fit, in memory", "partial_fit per block, in memory"

SIZES = {
    "full": dict(n_rows=60_000, n_features=1_000, block_rows=5_000, repeats=3),  # 480 MB
    "default": dict(n_rows=100_000, n_features=100, block_rows=10_000, repeats=3),  # 80 MB
    # Smoke runs start one cluster: worker processes take seconds to start.
    "quick": dict(n_rows=20_000, n_features=50, block_rows=5_000, repeats=1, workers=(2,)),
    "tiny": dict(n_rows=2_000, n_features=10, block_rows=500, repeats=1, workers=(2,)),
}


@contextlib.contextmanager
def _clusters(worker_counts):
    """A client per worker count, each on a LocalCluster of single-threaded processes."""
    import distributed

    options = dict(threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None)
    with contextlib.ExitStack() as stack:
        clients = {}
        for n in worker_counts:
            cluster = distributed.LocalCluster(n_workers=n, silence_logs=logging.ERROR, **options)
            stack.enter_context(cluster)
            clients[n] = stack.enter_context(distributed.Client(cluster, set_as_default=False))
        yield clients


def _candidates(path, block_rows, clients, fitted):
    """Every timed training, keyed by how it runs; the fitted models go to ``fitted``."""
    from sknn.distributed import fit_dask, h5_to_dask, partial_fit_blocks

    X, y = load_h5(path, return_X_y=True)
    classes = np.unique(y)

    def in_memory(_):
        fitted[FIT] = LogisticRegressionGD().fit(X, y)

    def on_cluster(n):
        def run(_):
            estimator = fitted[f"fit_dask, {n} worker(s)"] = LogisticRegressionGD()
            fit_dask(estimator, *h5_to_dask(path, block_rows), client=clients[n])

        return run

    def blocks_in_memory(_):
        estimator = fitted[BLOCKS] = LogisticRegressionGD(**MINI_BATCHES)
        for start in range(0, len(y), block_rows):
            block = slice(start, start + block_rows)
            estimator.partial_fit(X[block], y[block], classes=classes)

    def blocks_on_cluster(_):
        n = max(clients)
        estimator = fitted[f"partial_fit_blocks, {n} worker(s)"] = LogisticRegressionGD(
            **MINI_BATCHES
        )
        with clients[n].as_current():
            partial_fit_blocks(estimator, *h5_to_dask(path, block_rows), classes=classes)

    candidates = {FIT: in_memory, **{f"fit_dask, {n} worker(s)": on_cluster(n) for n in clients}}
    candidates[BLOCKS] = blocks_in_memory
    candidates[f"partial_fit_blocks, {max(clients)} worker(s)"] = blocks_on_cluster
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
        return Section(NAME, TITLE, skipped=reason, command=COMMAND, summary=f"skipped: {reason}")
    sizes = config.pick(SIZES)
    rng = np.random.default_rng(0)
    mu = SEPARATION * rng.standard_normal(sizes["n_features"])
    fitted, workers = {}, sizes.get("workers", (1, 2))
    with tempfile.TemporaryDirectory(prefix="sknn-distributed-") as directory:
        path = os.path.join(directory, "train.h5")
        config.progress(f"{NAME}: writing {sizes['n_rows']:,} x {sizes['n_features']} to {path}")
        file_bytes = write_h5(
            path, sizes["n_rows"], np.stack([-mu, mu]), block_rows=sizes["block_rows"], rng=rng
        )
        config.progress(
            f"{NAME}: starting LocalClusters of {' and '.join(map(str, workers))} workers"
        )
        with _clusters(workers) as clients:
            candidates, X, y = _candidates(path, sizes["block_rows"], clients, fitted)
            samples = interleave(candidates, sizes["repeats"], config=config, label=f"{NAME}:   ")
    config.progress(f"{NAME}: the exact optimum, by scipy's L-BFGS")
    objective = Objective("sigmoid", X, y, LogisticRegressionGD().alpha)
    optimum = objective.minimum()
    table = Table("Training on the cluster against the same training in memory", _COLUMNS)
    section = Section(NAME, TITLE, _INTRO, tables=[table], data={"samples": samples})
    for name, times in samples.items():
        reference = BLOCKS if "partial_fit" in name else FIT
        model, gap = fitted[name], objective.value(fitted[name].coef_.T, fitted[name].intercept_)
        row = dict(
            method=name,
            seconds=spread(times),
            n_iter=model.n_iter_,
            gap=max((gap - optimum) / optimum, 0.0),
        )
        row.update(
            stop_reason=model.stop_reason_,
            coef=np.max(np.abs(model.coef_ - fitted[reference].coef_)),
        )
        if name != reference:
            row["pair"] = pair(compare(times, samples[reference]))
        table.rows.append(row)
        if name.startswith("fit_dask"):
            detail = "(J − J*) / J*, J* from scipy's L-BFGS on the data in memory"
            section.targets.append(
                Target(
                    f"relative gap to J* of {name}",
                    row["gap"],
                    TARGET_GAP,
                    "<=",
                    kind="sci",
                    detail=detail,
                )
            )
    table.notes += [
        f"File: {sizes['n_rows']:,} x {sizes['n_features']} float64 ({fmt(file_bytes, 'bytes')}), "
        f"blocks of {sizes['block_rows']:,} rows. Times: median (range) of {sizes['repeats']} "
        "interleaved round(s) after a warm-up round; on the cluster they include reading the "
        "blocks from the file, in memory they do not (X was loaded before).",
        "Workers: single-threaded processes on 127.0.0.1; on a 2-core machine the client, the "
        "schedulers and the workers share the cores. Mini-batches: `LogisticRegressionGD("
        + ", ".join(f"{k}={v!r}" for k, v in MINI_BATCHES.items())
        + ")`, one pass. |Δ coef|: against the same training in memory; gap: (J − J*) / J* on "
        "mean log-loss + alpha/2 ‖w‖².",
    ]
    rows = {row["method"]: row for row in table.rows}
    last, blocks = (
        f"{kind}, {max(workers)} worker(s)" for kind in ("fit_dask", "partial_fit_blocks")
    )
    section.summary = (
        f"fit_dask of LogisticRegressionGD() on {max(workers)} workers against the fit in memory: "
        f"{rows[last]['pair']}, the same model (|Δ coef| {rows[last]['coef']:.0e}, gap to J* "
        f"{rows[last]['gap']:.0e}, {rows[last]['stop_reason']}); partial_fit_blocks against "
        f"partial_fit on the same blocks: {rows[blocks]['pair']}, "
        f"|Δ coef| {rows[blocks]['coef']:.0e}."
    )
    return section


_INTRO = (
    "The model the cluster trains must be the one training in memory gives; what the cluster "
    "costs is time. Here the data fit in one process, so the cluster can only add overhead: "
    "the figures measure that overhead, not a speed-up."
)
_COLUMNS = [
    Column("method", "training"),
    Column("seconds", "time", "seconds"),
    Column("pair", "against in memory = ratio (range)"),
    Column("n_iter", "n_iter_", "int"),
    Column("stop_reason", "stop_reason_"),
    Column("coef", "max |Δ coef|", "sci"),
    Column("gap", "gap to J*", "sci"),
]
