"""
Full-batch training on a Dask cluster
=====================================

:func:`sknn.distributed.fit_dask` trains an sknn estimator on a Dask array
whose blocks stay on the workers. The estimator's own optimizer runs here; for
every loss and gradient it needs, the parameters go out to the workers, each
sums the loss and gradient over its blocks, and only those sums come back. The
model is the one ``fit`` gives on the same data in memory, to rounding.

A :class:`distributed.LocalCluster` of two workers, threads of this process
(``processes=False``), stands in for a real cluster here; with one of your own,
replace it with ``Client("tcp://scheduler:8786")``. This example needs the
``dask`` extra (``pip install "sknn[dask]"``); without it, it says so and draws
that message instead.
"""

# %%
import importlib.util
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_classification

from sknn import LogisticRegressionGD

missing = [
    name
    for name in ("dask", "distributed")
    if importlib.util.find_spec(name) is None
]
if missing:
    message = (
        f"Not run: {', '.join(missing)} not installed.\n"
        'Install the extra: pip install "sknn[dask]"'
    )
    print(message)
    fig, ax = plt.subplots(figsize=(6, 2))
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=11)
    ax.axis("off")

# %%
# The data, in blocks
# -------------------
# 20,000 rows in eight blocks of 2,500. On a real cluster the blocks would be
# read by the workers, from an HDF5 file with
# :func:`sknn.distributed.h5_to_dask` for example; here they are made in
# memory and scattered.
X, y = make_classification(
    n_samples=20_000,
    n_features=20,
    n_informative=6,
    n_classes=3,
    random_state=0,
)
if not missing:
    import dask.array as da
    from distributed import Client, LocalCluster

    from sknn.distributed import fit_dask

    X_blocks = da.from_array(X, chunks=(2_500, -1))
    y_blocks = da.from_array(y, chunks=2_500)
    print(f"X: {X_blocks.shape}, {X_blocks.numblocks[0]} row blocks")

# %%
# Train on the cluster, and in memory
# -----------------------------------
if not missing:
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=False,
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        start = time.perf_counter()
        on_cluster = fit_dask(
            LogisticRegressionGD(), X_blocks, y_blocks, client=client
        )
        cluster_time = time.perf_counter() - start
    # The cluster is closed here: the with-blocks shut the workers down.

    in_memory = LogisticRegressionGD().fit(X, y)
    print(
        f"fit_dask: {on_cluster.n_iter_} iterations, "
        f"{on_cluster.stop_reason_!r}, "
        f"{cluster_time:.1f} s"
    )
    print(
        f"fit:      {in_memory.n_iter_} iterations, {in_memory.stop_reason_!r}"
    )
    print(
        "largest weight difference: "
        f"{np.abs(on_cluster.coef_ - in_memory.coef_).max():.1e}"
    )
    print(
        f"accuracy, cluster model: {on_cluster.score(X, y):.4f}; "
        f"in-memory model: {in_memory.score(X, y):.4f}"
    )

# %%
# Identical training
# ------------------
# The two loss curves, epoch by epoch: one line over the other. Only the order
# of the sums differs, so the losses agree to about 1e-15.
if not missing:
    fig, ax = plt.subplots(figsize=(6, 3.8))
    ax.semilogy(
        in_memory.loss_curve_, lw=4, alpha=0.4, label="fit (in memory)"
    )
    ax.semilogy(
        on_cluster.loss_curve_, "k--", lw=1, label="fit_dask (2 workers)"
    )
    ax.set(
        xlabel="iteration",
        ylabel="training objective",
        title="LogisticRegressionGD, 3 classes, 20,000 rows",
    )
    ax.legend()
    fig.tight_layout()
