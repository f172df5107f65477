"""Section ``distributed``: full-batch training across a Dask cluster with ``fit_dask``.

A binary problem (two symmetric class centroids plus unit noise) is written,
block by block, to an HDF5 file in a temporary directory (``$TMPDIR`` is
honoured; the directory is deleted afterwards). Its X is larger than one
worker's memory limit and smaller than two workers' together. On a
``LocalCluster`` of 1 and then 2 single-threaded worker processes,
:func:`sknn.distributed.fit_dask` trains ``LogisticRegressionGD()`` (its
defaults: Nesterov with the line search, ``tol=1e-5``) on
:func:`sknn.distributed.h5_to_dask` arrays of the file, and every
evaluation is timed: its wall time here and the compute time of the slowest
worker, whose difference is the scheduler's (and the network's) overhead.
dask-ml's ``LogisticRegression`` (its ``lbfgs`` and ``gradient_descent``
solvers) trains on the same data and the same cluster as the anchor, and
every solution is scored on sknn's objective.

Needs the ``sknn[dask]`` extra; without it the section says so and measures
nothing.
"""

import contextlib
import importlib
import logging
import math
import os
import tempfile
import threading
import time
import warnings

import numpy as np

from ._data import write_h5_problem
from ._report import Column, Section, Table, Target, format_bytes, format_seconds

NAME = "distributed"
TITLE = "Distributed: full-batch training across a Dask cluster (fit_dask)"

#: The relative objective gap the defaults promise (design: ~1e-6 for the
#: convex linear models).
TARGET_GAP = 1e-6

ALPHA = 1e-4  # LogisticRegressionGD's default L2 penalty
#: Standard deviation of the class centroids' coordinates (the noise has 1):
#: about 95% of the rows are classified right, so the problem is not separable.
SEPARATION = 0.05

SIZES = {
    # 60,000 x 1,000 float64: 480 MB of X, in 12 blocks of 40 MB.
    "full": dict(n_rows=60_000, n_features=1_000, block_rows=5_000, dask_ml_max_iter=100),
    # 32 MB of X in 8 blocks.
    "quick": dict(n_rows=40_000, n_features=100, block_rows=5_000, dask_ml_max_iter=30),
    "tiny": dict(n_rows=4_000, n_features=20, block_rows=500, dask_ml_max_iter=5),
}

#: A worker's memory limit, as a fraction of the size of X, and the share of
#: it Dask may fill with the data it manages before spilling to disk: one
#: worker cannot hold X (0.72 X of it in memory), two can (half of X each,
#: with room for the blocks being read while the others are prepared).
MEMORY_LIMIT_FRACTION = 0.9
MEMORY_TARGET = 0.8

#: Worker counts to time fit_dask on; dask-ml runs on the last.
WORKER_COUNTS = (1, 2)

# A memory limit below the interpreter's own footprint (the tiny and quick
# presets) would make a worker pause for good, or be killed, by the rules
# that watch the process's memory. They are off: the limit then acts
# through the target fraction on the data Dask manages, the same in every
# preset.
_MEMORY_RULES = {
    "distributed.worker.memory.target": MEMORY_TARGET,
    "distributed.worker.memory.spill": False,
    "distributed.worker.memory.pause": False,
    "distributed.worker.memory.terminate": False,
}

_SKIPPED = (
    "Skipped: this section needs the sknn[dask] extra (Dask, distributed and dask-ml), "
    'which is not installed: pip install "sknn[dask]".'
)


def run(config):
    """Write the file, time fit_dask on 1 and 2 workers and dask-ml on 2, report.

    Parameters
    ----------
    config : Config

    Returns
    -------
    section : Section
    """
    try:
        import dask  # noqa: F401
        import dask_ml  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        config.progress(f"{NAME}: skipped, the sknn[dask] extra is not installed")
        return Section(NAME, TITLE, _SKIPPED)

    sizes = config.pick(SIZES)
    x_bytes = sizes["n_rows"] * sizes["n_features"] * 8
    memory_limit = int(MEMORY_LIMIT_FRACTION * x_bytes)
    runs, anchors = {}, {}
    section_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="sknn-distributed-") as directory:
        path = os.path.join(directory, "train.h5")
        config.progress(f"{NAME}: writing {format_bytes(x_bytes)} of X to {path}")
        start = time.perf_counter()
        file_bytes = write_problem(path, sizes["n_rows"], sizes["n_features"], sizes["block_rows"])
        write_seconds = time.perf_counter() - start
        optimum = None
        for n_workers in WORKER_COUNTS:
            with _cluster(n_workers, memory_limit) as client:
                config.progress(f"{NAME}: fit_dask on {n_workers} worker(s)")
                runs[n_workers] = time_fit_dask(client, path, sizes["block_rows"])
                if n_workers != WORKER_COUNTS[-1]:
                    continue
                config.progress(f"{NAME}: the optimum (fit_dask continued to tol={OPTIMUM_TOL:g})")
                optimum = _optimum(client, path, sizes["block_rows"], runs[n_workers])
                for solver in ("lbfgs", "gradient_descent"):
                    config.progress(f"{NAME}: dask-ml LogisticRegression(solver={solver!r})")
                    anchors[solver] = time_dask_ml(
                        client, path, sizes["block_rows"], solver, sizes["dask_ml_max_iter"]
                    )
    data = {
        "sizes": sizes,
        "x_bytes": x_bytes,
        "file_bytes": file_bytes,
        "write_seconds": write_seconds,
        "memory_limit": memory_limit,
        "optimum": optimum,
        "runs": {str(k): v for k, v in runs.items()},
        "anchors": anchors,
        "section_seconds": time.perf_counter() - section_start,
    }
    return _section(data, runs, anchors, optimum)


# ------------------------------------------------------------------ the data
def write_problem(path, n_rows, n_features, block_rows, seed=0):
    """Write a binary problem, X float64 and y int64, one block of rows at a time.

    The class centroids are ``+mu`` and ``-mu`` (coordinates of ``mu``
    N(0, SEPARATION^2)), classes drawn with equal odds: the optimal intercept
    is about zero, so that dask-ml, which penalises its intercept, and sknn,
    which does not, optimise nearly the same objective.

    Returns
    -------
    n_bytes : int
        Size of the file.
    """
    rng = np.random.default_rng(seed)
    mu = rng.standard_normal(n_features) * SEPARATION
    # Class 0 at -mu, class 1 at +mu; the rows come from the same stream as mu.
    return write_h5_problem(path, n_rows, np.stack([-mu, mu]), block_rows=block_rows, seed=rng)


@contextlib.contextmanager
def _cluster(n_workers, memory_limit):
    """A LocalCluster of single-threaded worker processes on 127.0.0.1, and its client."""
    import dask
    import distributed

    with (
        dask.config.set(_MEMORY_RULES),
        distributed.LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            memory_limit=memory_limit,
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        # Imported on every worker before anything is timed: the first task of
        # a fresh worker process would otherwise pay for importing scikit-learn.
        client.run(lambda: importlib.import_module("sknn.distributed") and None)
        yield client


class _SpillWatch:
    """Samples, in a thread, the bytes the workers hold spilled to disk; keeps the peak."""

    def __init__(self, client, interval=0.5):
        self.client, self.interval = client, interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _watch(self):
        while not self._stop.wait(self.interval):
            try:
                spilled = self.client.run(_SPILLED_BYTES)
            except Exception:  # noqa: BLE001 - a worker busy or gone: skip this sample
                continue
            self.peak = max(self.peak, sum(spilled.values()))


# Functions run on the workers are lambdas: cloudpickle sends them by value,
# where a function of this module would make each worker import the benchmarks.
_SPILLED_BYTES = lambda dask_worker: int(dask_worker.data.spilled_total.disk)  # noqa: E731
_IGNORE_OVERFLOW_WARNINGS = lambda: warnings.filterwarnings(  # noqa: E731
    "ignore", "overflow encountered in exp", RuntimeWarning
)


# ----------------------------------------------------------------- measuring
def time_fit_dask(client, path, block_rows, *, estimator=None):
    """Train with fit_dask on the file's Dask arrays; time it, evaluation by evaluation.

    Returns
    -------
    result : dict
    """
    from sknn import LogisticRegressionGD
    from sknn.distributed.fit import _fit_dask
    from sknn.distributed import h5_to_dask

    X, y = h5_to_dask(path, block_rows)
    estimator = LogisticRegressionGD() if estimator is None else estimator
    stats = {}
    with _SpillWatch(client) as spill:
        start = time.perf_counter()
        _fit_dask(estimator, X, y, None, client, stats)
        seconds = time.perf_counter() - start
    evaluations = stats["evaluations"]
    walls = np.array([wall for _, wall, _ in evaluations])
    computes = np.array([compute for _, _, compute in evaluations])
    return {
        "n_workers": len(client.nthreads()),
        "n_rows": int(X.shape[0]),
        "fit_seconds": seconds,
        "prepare_seconds": stats["prepare_seconds"],
        "train_seconds": seconds - stats["prepare_seconds"],
        "n_iter": estimator.n_iter_,
        "stop_reason": estimator.stop_reason_,
        "n_evaluations": len(evaluations),
        "evaluations_per_iteration": len(evaluations) / estimator.n_iter_,
        "seconds_per_iteration": (seconds - stats["prepare_seconds"]) / estimator.n_iter_,
        "evaluation_seconds": float(np.median(walls)),
        "worker_seconds": float(np.median(computes)),
        "overhead_seconds": float(np.median(walls - computes)),
        "overhead_share": float((walls - computes).sum() / walls.sum()),
        "blocks_per_worker": stats["groups"],
        "peak_spilled_bytes": spill.peak,
        "final_loss": float(estimator.loss_curve_[-1]),
        "objective": objective(client, X, y, estimator.coef_[0], estimator.intercept_[0]),
        "estimator": estimator,  # for _optimum; dropped before the report
    }


#: J* is the objective of the default fit continued until ||grad J|| <= this * J:
#: a relative gap of about 1e-14 (module docstring of sknn._core.loop).
OPTIMUM_TOL = 1e-7


def _optimum(client, path, block_rows, result):
    """J*: the objective after fit_dask continued from ``result`` to a gradient 1e-7 * J."""
    estimator = result.pop("estimator")
    estimator.set_params(warm_start=True, tol=OPTIMUM_TOL, max_iter=1_000)
    continued = time_fit_dask(client, path, block_rows, estimator=estimator)
    return {
        "objective": min(continued["objective"], result["objective"]),
        "extra_iterations": continued["n_iter"] - result["n_iter"],
        "stop_reason": continued["stop_reason"],
    }


def time_dask_ml(client, path, block_rows, solver, max_iter):
    """dask-ml's LogisticRegression on the same objective; its time and solution.

    sknn minimises ``mean log-loss + alpha/2 ||w||^2``; dask-glm minimises
    ``sum log-loss + lamduh/2 ||[w, b]||^2`` with ``lamduh = 1/C``: the same
    for ``C = 1 / (alpha n)``, but for the intercept's penalty (negligible
    here, where the optimal intercept is about 0). Its default standardisation
    of X (``normalize``) would penalise other coefficients: it is off.
    ``gradient_descent`` ignores the penalty altogether.
    """
    from dask_ml.linear_model import LogisticRegression

    from sknn.distributed import h5_to_dask

    X, y = h5_to_dask(path, block_rows)
    model = LogisticRegression(
        solver=solver,
        C=1.0 / (ALPHA * X.shape[0]),
        max_iter=max_iter,
        solver_kwargs={"normalize": False},
    )
    # dask-glm's own warnings, here and on the workers (whose stderr is this
    # terminal's): exp overflowing in its line search, which then backs off,
    # and a deprecated Dask setting it uses.
    client.run(_IGNORE_OVERFLOW_WARNINGS)
    with client.as_current(), _SpillWatch(client) as spill, warnings.catch_warnings():
        _IGNORE_OVERFLOW_WARNINGS()
        warnings.simplefilter("ignore", FutureWarning)
        start = time.perf_counter()
        # Read once and kept on the workers, as fit_dask keeps its blocks.
        X_kept, y_kept = client.persist([X, y])
        model.fit(X_kept, y_kept)
        seconds = time.perf_counter() - start
        coef, intercept = np.asarray(model.coef_), float(model.intercept_)
        value = objective(client, X_kept, y_kept, coef, intercept)
        del X_kept, y_kept
    return {
        "solver": solver,
        "max_iter": max_iter,
        "fit_seconds": seconds,
        "objective": value,
        "peak_spilled_bytes": spill.peak,
    }


def objective(client, X, y, coef, intercept):
    """sknn's objective, ``mean log(1 + e^z) - y z + alpha/2 ||w||^2``, summed on the cluster."""
    z = X @ np.asarray(coef, dtype=float) + intercept
    mean_loss = (np.logaddexp(0.0, z) - y * z).mean()
    (value,) = client.compute([mean_loss], sync=True)
    return float(value) + 0.5 * ALPHA * float(np.dot(coef, coef))


# ------------------------------------------------------------------ reporting
def _section(data, runs, anchors, optimum):
    sizes = data["sizes"]
    section = Section(NAME, TITLE, _intro(data))
    best = optimum["objective"]
    for result in runs.values():
        result.pop("estimator", None)
        result["gap"] = _gap(result["objective"], best)
    section.tables += [
        _data_table(data),
        _fit_dask_table(runs, data),
        _anchor_table(runs, anchors, best),
        _projection_table(runs, sizes["n_rows"]),
    ]
    last = runs[WORKER_COUNTS[-1]]
    section.targets.append(
        Target(
            f"relative objective gap of fit_dask's default fit ({last['n_workers']} workers)",
            max(last["gap"], 1e-16),
            TARGET_GAP,
            "<=",
            f"(J - J*) / J*, J* from the same fit continued to ||grad|| <= {OPTIMUM_TOL:g} J "
            f"({optimum['extra_iterations']} more iterations, {optimum['stop_reason']})",
        )
    )
    section.notes.append(_projection_paragraph(runs, sizes["n_rows"]))
    section.notes.append(
        f"The section took {data['section_seconds']:.0f} s, writing the file "
        f"({format_seconds(data['write_seconds'])}) and starting the clusters included."
    )
    section.data.update(data)
    return section


def _gap(value, best):
    return max(value - best, 0.0) / best


def _intro(data):
    sizes = data["sizes"]
    return (
        "`fit_dask(LogisticRegressionGD(), *h5_to_dask(path, block_rows))` on a generated HDF5 "
        f"file ({sizes['n_rows']:,} rows x {sizes['n_features']:,} features, "
        f"{format_bytes(data['x_bytes'])} of X) whose X is larger than one worker's memory "
        f"limit ({format_bytes(data['memory_limit'])}; Dask keeps up to {MEMORY_TARGET:.0%} of "
        "it of the data it holds in memory and spills the rest to disk) and fits in two "
        "workers' together. "
        "The training loop and the optimizer run in this process; every loss and "
        "gradient (line-search trials included) is one task per worker over its blocks. "
        "Workers are single-threaded processes on 127.0.0.1; on this 2-core machine the "
        "client, the scheduler and both workers share the cores."
    )


def _data_table(data):
    sizes = data["sizes"]
    n_blocks = -(-sizes["n_rows"] // sizes["block_rows"])
    return Table(
        "The HDF5 file and the workers",
        [
            Column("n_rows", "rows", "int"),
            Column("n_features", "features", "int"),
            Column("x_bytes", "size of X", "bytes"),
            Column("file_bytes", "file size", "bytes"),
            Column("n_blocks", "blocks", "int"),
            Column("block_bytes", "block size", "bytes"),
            Column("memory_limit", "worker memory limit", "bytes"),
        ],
        [
            {
                "n_rows": sizes["n_rows"],
                "n_features": sizes["n_features"],
                "x_bytes": data["x_bytes"],
                "file_bytes": data["file_bytes"],
                "n_blocks": n_blocks,
                "block_bytes": sizes["block_rows"] * sizes["n_features"] * 8,
                "memory_limit": data["memory_limit"],
            }
        ],
        notes=[
            "X float64, y int64; row = ±mu (its class's centroid, coordinates "
            f"N(0, {SEPARATION}²)) + N(0, 1) noise, classes equally likely; written one "
            "block at a time. The process-memory rules of the workers (spill, pause, "
            "terminate at 70/80/95% of the limit) are off, so that the limit acts the same "
            f"in every preset, through Dask's target ({MEMORY_TARGET:.0%}) on the data it "
            "manages; the tiny and quick limits are below a worker process's own footprint.",
        ],
    )


def _fit_dask_table(runs, data):
    rows = []
    for n_workers, result in runs.items():
        rows.append({**result, "workers": n_workers})
    return Table(
        "fit_dask: time per iteration and to the optimum",
        [
            Column("workers", "workers", "int"),
            Column("fit_seconds", "time to the optimum", "seconds"),
            Column("prepare_seconds", "of which reading the blocks", "seconds"),
            Column("n_iter", "iterations", "int"),
            Column("stop_reason", "stop"),
            Column("seconds_per_iteration", "time per iteration", "seconds"),
            Column("evaluations_per_iteration", "evaluations per iteration", "float"),
            Column("evaluation_seconds", "time per evaluation", "seconds"),
            Column("worker_seconds", "slowest worker's compute", "seconds"),
            Column("overhead_seconds", "scheduler overhead per evaluation", "seconds"),
            Column("overhead_share", "overhead share", "percent"),
            Column("peak_spilled_bytes", "spilled to disk (peak)", "bytes"),
            Column("gap", "objective gap", "sci"),
        ],
        rows,
        notes=[
            "Time to the optimum: the whole `fit_dask` call, from the first read of the file "
            "to the stopping test (`||grad J|| <= 1e-5 J`, 'converged'). Time per iteration: "
            "the same after the blocks are read, divided by the iterations. Per evaluation "
            "(medians): its wall time in this process, the compute time of the slowest "
            "worker's task, and their difference, the overhead of the scheduler, the network "
            "and (de)serialisation; overhead share: its sum over the sum of evaluation times.",
            "A block spilled to disk is read back (and another written) at every evaluation, "
            "before the task that needs it starts: on 1 worker that time is in the overhead, "
            "not in the worker's compute.",
            "Objective gap: (J - J*) / J* on sknn's objective (mean log-loss + "
            f"{ALPHA:g}/2 ||w||², computed on the cluster), J* as in the targets.",
        ],
    )


def _anchor_table(runs, anchors, best):
    last = runs[WORKER_COUNTS[-1]]
    rows = [
        {
            "method": "sknn fit_dask, LogisticRegressionGD()",
            "fit_seconds": last["fit_seconds"],
            "iterations": f"{last['n_iter']} ({last['stop_reason']})",
            "gap": last["gap"],
            "objective": last["objective"],
        }
    ]
    for solver, result in anchors.items():
        rows.append(
            {
                "method": f"dask-ml LogisticRegression(solver={solver!r})",
                "fit_seconds": result["fit_seconds"],
                "iterations": f"max_iter={result['max_iter']}",
                "gap": _gap(result["objective"], best),
                "objective": result["objective"],
            }
        )
    return Table(
        f"The anchor: dask-ml's LogisticRegression on the same objective, "
        f"{last['n_workers']} workers",
        [
            Column("method", "method"),
            Column("fit_seconds", "time (reading included)", "seconds"),
            Column("iterations", "iterations"),
            Column("objective", "objective J", "loss"),
            Column("gap", "gap (J - J*) / J*", "sci"),
        ],
        rows,
        notes=[
            "dask-ml with C = 1 / (alpha n), `solver_kwargs={'normalize': False}` (its "
            "default standardisation would change the penalty), default tol, fitted on the "
            "same h5_to_dask arrays persisted on the cluster first (that read included in "
            "its time). It also penalises the intercept, sknn does not; the data make the "
            "optimal intercept about 0, so that costs a negligible gap. dask-glm's "
            "`gradient_descent` has no penalty at all: it minimises the unpenalised loss, "
            "its gap includes that difference of objectives.",
        ],
    )


def _model(runs, n_rows):
    """The cost model's parameters from the largest run: overhead, compute per row, evaluations."""
    last = runs[WORKER_COUNTS[-1]]
    rows_per_worker = n_rows / last["n_workers"]
    return {
        "latency": last["overhead_seconds"],
        "per_row": last["worker_seconds"] / rows_per_worker,
        "evaluations": last["evaluations_per_iteration"],
    }


def predicted_iteration_seconds(model, n_rows, n_workers):
    """``e (latency + c n / w)``: evaluations per iteration times one evaluation's time."""
    return model["evaluations"] * (model["latency"] + model["per_row"] * n_rows / n_workers)


def _projection_table(runs, n_rows):
    model = _model(runs, n_rows)
    rows = []
    for scale in (1, 10, 100):
        row = {"kind": "projected", "n_rows": scale * n_rows}
        for n_workers in (1, 2, 4, 8, 16, 64):
            row[f"w{n_workers}"] = predicted_iteration_seconds(model, scale * n_rows, n_workers)
        rows.append(row)
    measured = {"kind": "measured", "n_rows": n_rows}
    for n_workers, result in runs.items():
        measured[f"w{n_workers}"] = result["seconds_per_iteration"]
    return Table(
        "Projected time per iteration, e (latency + c n / w)",
        [Column("kind", ""), Column("n_rows", "rows n", "int")]
        + [
            Column(f"w{n_workers}", f"{n_workers} worker{'s' if n_workers > 1 else ''}", "seconds")
            for n_workers in (1, 2, 4, 8, 16, 64)
        ],
        rows + [measured],
        notes=[
            f"From the {WORKER_COUNTS[-1]}-worker run: latency = "
            f"{format_seconds(model['latency'])} of overhead per evaluation, "
            f"c = {model['per_row'] * 1e9:.3g} ns of worker compute "
            f"per row per evaluation (at this width), e = {model['evaluations']:.2f} "
            "evaluations per iteration. Assumes every worker holds its rows in memory and "
            "has a core of its own; the last row is what was measured.",
        ],
    )


def _projection_paragraph(runs, n_rows):
    model = _model(runs, n_rows)
    crossover = model["latency"] / model["per_row"] if model["per_row"] > 0 else math.inf
    one, last = runs[WORKER_COUNTS[0]], runs[WORKER_COUNTS[-1]]
    speedup = one["seconds_per_iteration"] / last["seconds_per_iteration"]
    ideal = last["n_workers"] / one["n_workers"]
    compute_ratio = one["worker_seconds"] / max(last["worker_seconds"], 1e-12)
    measured = (
        f"Here, from {one['n_workers']} to {last['n_workers']} workers, the time per "
        f"iteration fell {speedup:.2g}x (ideal: {ideal:g}x) while the slowest worker's compute "
        f"fell {compute_ratio:.2g}x"
    )
    if one["peak_spilled_bytes"] > 0:
        measured += (
            f", the single worker reading back up to {format_bytes(one['peak_spilled_bytes'])} "
            "spilled to its disk at every evaluation"
        )
    measured += (
        f"; the fixed latency was {last['overhead_share']:.0%} of the evaluation time, so "
        + (
            "the rows, not the latency, set the pace."
            if last["overhead_share"] < 0.5
            else "the data are too small for more workers to pay."
        )
    )
    return (
        "**How the time per iteration scales.** An iteration is e evaluations "
        f"(e = {model['evaluations']:.2f} here: one gradient and the line search's trial "
        "losses), and an evaluation costs a fixed latency (the parameters out, one task per "
        "worker scheduled and run, one gradient per worker back: "
        f"{format_seconds(model['latency'])} here, whatever the rows) plus the compute of the "
        "largest share of the rows, c n / w. So t(n, w) = e (latency + c n / w): workers "
        "divide only the second term, and pay while a worker's share of the rows is above "
        f"latency / c = {crossover:,.0f} rows (at this width: c grows with the features and "
        "the model, the latency with the size of the parameters and the number of workers "
        "the scheduler talks to). Below that share the latency dominates and more workers "
        "barely help; far above it the time per iteration falls as 1/w. Memory changes c "
        "itself: a worker whose blocks do not fit in its memory reads the spilled ones back "
        "from disk at every evaluation, so workers added until the data fit in their memory "
        "can speed an iteration up by more than their number. The number of iterations does "
        f"not depend on w: the iterates are those of the fit in memory. {measured}"
    )
