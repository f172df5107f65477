"""The blocks a full-batch Dask fit keeps on the workers, and the objective summed over them.

Every evaluation the optimizer asks for (loss and gradient, or a line-search
trial's loss) sends the parameters to the workers once; each worker evaluates
the estimator's own objective on its blocks, with the total weight of all
blocks so that the parts add up, and the client adds the parts.
"""

import itertools
import threading
import uuid
from typing import NamedTuple

import numpy as np
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.validation import check_array

from .._core.array_ops import array_ops
from .._core.spectrum import top_eigenvalue
from .._estimator.preparation import (
    ACCEPTED_SPARSE,
    check_labels_known,
    check_rows,
    encode_targets,
)
from ..linear import LINK_CURVATURE
from .cluster import aligned

# Parameters of at most this many bytes times the number of tasks of an
# evaluation travel inside the tasks; larger ones are scattered to the
# workers first. Scattering costs one more round trip to the scheduler (about
# a third of an evaluation's latency on a local cluster), embedding one copy
# per task: for the small models this is about, latency is what counts.
_EMBED_LIMIT = 2**20

# An evaluation whose work was lost with a worker (a task it ran, the copy of
# the parameters it held) is submitted again up to this many times before the
# error is raised: evaluations are pure, so a repeat gives the same numbers.
_MAX_EVALUATION_RETRIES = 3


class _Block(NamedTuple):
    """A prepared block: what the objective evaluates, and the weight of its rows.

    A tuple, so that Dask's ``sizeof`` (which sums a tuple's items) sees the
    arrays and spills the block to disk by its true size.
    """

    X: object
    Y: np.ndarray
    sample_weight: object
    weight: float


def _prepare_block(X, y, sample_weight, dtype, classes, class_factors, n_outputs, estimator):
    """Validate as fit validates, encode the targets, apply class weights; on a worker.

    ``estimator`` names the estimator in the messages, as fit's do.
    """
    X = check_array(
        X,
        accept_sparse=ACCEPTED_SPARSE,
        dtype=dtype,
        ensure_min_samples=0,
        input_name="X",
        estimator=estimator,
    )
    y = np.asarray(y)
    sample_weight, rows = check_rows(X, sample_weight, allow_all_zero_weights=True)
    if rows is not None:
        # A block's copy, not X's: its rows of weight 0, and their labels, as if absent.
        X, y, sample_weight = array_ops(X).take_rows(X, rows), y[rows], sample_weight[rows]
    # The labels were counted in an earlier pass: they differ only if the
    # source changed in between.
    check_labels_known(y, classes)
    y_index = np.searchsorted(classes, y)
    if class_factors is not None:
        base = np.ones(len(y), dtype=X.dtype) if sample_weight is None else sample_weight
        sample_weight = base * class_factors.astype(X.dtype)[y_index]
    # The weight sum as the objective computes it, so that block shares of the
    # mean add up to the loss of all rows (see _evaluate_group).
    weight = float(X.shape[0] if sample_weight is None else sample_weight.sum())
    return _Block(X, encode_targets(y_index, n_outputs, X), sample_weight, weight)


def _block_weight(block):
    return block.weight


def _split_rows(row_counts, n_groups):
    """Consecutive blocks into ``n_groups`` groups of about equal rows: lists of block indices."""
    bounds = np.cumsum(row_counts) - 0.5 * np.asarray(row_counts, dtype=float)
    total = max(float(sum(row_counts)), 1.0)
    slots = np.minimum((bounds * n_groups / total).astype(int), n_groups - 1)
    return [np.flatnonzero(slots == g).tolist() for g in range(n_groups)]


class BlockStore:
    """The prepared blocks of one fit on the workers, in groups, and the evaluations over them.

    There is one group per worker thread present at the start, consecutive
    blocks of about equal rows, computed and kept on that worker (a
    preference: lost blocks are recomputed wherever Dask finds room).
    An evaluation is one task per group, run where the group's blocks are.
    ``estimator_name`` names the estimator in validation messages, as fit's do.
    """

    def __init__(self, client, estimator_name):
        self.client, self.estimator_name = client, estimator_name
        self.fit_key = uuid.uuid4().hex  # names this fit's tasks and worker caches
        self.groups = []  # (worker address, [block futures])
        self.total_weight = None
        self.n_features = None
        self.n_evaluations = 0
        self._futures = []

    def persist(self, X, raw_blocks, dtype, classes, class_factors, n_outputs, dask):
        """Prepare the blocks of X on the workers, by group; raise an invalid block's error."""
        self.n_features, row_counts = X.shape[1], X.chunks[0]
        self.client.wait_for_workers(1)
        slots = [
            address
            for address, n_threads in sorted(self.client.nthreads().items())
            for _ in range(max(int(n_threads), 1))
        ]
        prepare = dask.delayed(_prepare_block, pure=True)
        weigh = dask.delayed(_block_weight, pure=True)
        pending = []
        for address, members in zip(slots, _split_rows(row_counts, len(slots))):
            if not members:
                continue
            blocks = [
                prepare(
                    *raw_blocks[i], dtype, classes, class_factors, n_outputs, self.estimator_name
                )
                for i in members
            ]
            futures = self.client.compute(
                blocks + [weigh(block) for block in blocks],
                workers=[address],
                allow_other_workers=True,
            )
            self._futures += futures[: len(blocks)]
            pending.append((address, futures[: len(blocks)], futures[len(blocks) :]))
        for address, blocks, weight_futures in pending:
            # Raises the first error a block met (invalid X, weights, labels).
            weights = self.client.gather(weight_futures)
            for future in weight_futures:
                future.release()  # else a lost block would be recomputed for them too
            kept = [block for block, weight in zip(blocks, weights) if weight > 0]
            if kept:
                self.groups.append((address, kept))
            self.total_weight = (self.total_weight or 0.0) + sum(weights)

    def reduce(self, kind, objective, params=None, argument=None):
        """Sum an evaluation over all blocks: each group on its worker, the groups here."""
        from distributed import CancelledError, KilledWorker
        from distributed.comm import CommClosedError

        # What losing a worker can raise here: a task that died with workers
        # too often, a copy of the parameters cancelled with the only worker
        # that held it, a connection closed mid-transfer.
        lost = (KilledWorker, CancelledError, CommClosedError)
        for attempt in itertools.count():
            futures, scattered = [], None
            try:
                sent = params
                if params is not None and _nbytes(params) * len(self.groups) > _EMBED_LIMIT:
                    # Once to every worker, rather than once per task.
                    [scattered] = self.client.scatter([params], broadcast=True, hash=False)
                    sent = scattered
                self.n_evaluations += 1
                for i, (address, blocks) in enumerate(self.groups):
                    futures.append(
                        self.client.submit(
                            _evaluate_group,
                            kind,
                            self.fit_key,
                            objective,
                            sent,
                            self.total_weight,
                            argument,
                            *blocks,
                            key=f"sknn-{kind}-{self.fit_key}-{self.n_evaluations}-{i}",
                            workers=[address],
                            allow_other_workers=True,
                            pure=False,
                        )
                    )
                results = self.client.gather(futures)
                break
            except lost:
                if attempt >= _MAX_EVALUATION_RETRIES:
                    raise
            finally:
                for future in futures + ([scattered] if scattered is not None else []):
                    future.release()
        total = None
        for value in results:  # in group order: reproducible sums
            total = value if total is None else _add_into(total, value)
        return total

    def release(self):
        """Let the workers drop this fit's blocks and cached objectives."""
        for future in self._futures:
            future.release()
        self._futures, self.groups = [], []
        try:
            self.client.run(_forget_fit, self.fit_key, on_error="ignore")
        except Exception:  # noqa: BLE001 - a closed client or gone workers: nothing to drop
            pass


class BlockProblem:
    """A model's full-batch objective summed over the blocks of a :class:`BlockStore`.

    The :class:`~sknn._core.protocols.Problem` a Dask fit trains on: each
    evaluation sends the parameters to the workers once and adds up their
    parts. ``smoothness`` is the linear models' curvature bound, for
    ``learning_rate='auto'``.
    """

    # Each point of a line would be a round trip to the workers: the line
    # searches evaluate the full loss instead (sknn._core.optimizers).
    exact_line = None

    def __init__(self, objective, store):
        self.objective = objective
        self.store = store

    def loss_grad(self, params):
        return self.store.reduce("loss_grad", self.objective, params)

    def loss(self, params):
        return self.store.reduce("loss", self.objective, params)

    def smoothness(self, exact=True):
        """:meth:`sknn.linear.LinearObjective.smoothness` of all the blocks' rows."""
        if not exact:
            # c (sum_i s_i ||x_i||^2 + S) / S + alpha, a weighted mean over the
            # blocks of their own bounds: share-weighted like the losses.
            return self.store.reduce("smoothness", self.objective)

        def gram_times(v):
            return self.store.reduce("gram_times", self.objective, argument=np.ravel(v))

        top = top_eigenvalue(gram_times, self.store.n_features + 1)
        curvature = LINK_CURVATURE[self.objective.link]
        return curvature * top / self.store.total_weight + self.objective.alpha


# Worker-side objectives, one per fit and thread: the network's objective
# keeps its buffers between calls, which concurrent tasks must not share.
_WORKER_OBJECTIVES = {}
_WORKER_LOCK = threading.Lock()


def _worker_objective(fit_key, objective):
    with _WORKER_LOCK:
        return _WORKER_OBJECTIVES.setdefault((fit_key, threading.get_ident()), objective)


def _forget_fit(fit_key):
    with _WORKER_LOCK:
        for key in [key for key in _WORKER_OBJECTIVES if key[0] == fit_key]:
            del _WORKER_OBJECTIVES[key]


def _evaluate_group(kind, fit_key, objective, params, total_weight, argument, *blocks):
    """One group's share of an evaluation; run on a worker.

    Each block's loss (and gradient) is its own weighted mean over its rows,
    penalty included; weighted by the block's share of the total weight, the
    shares add up to the mean over all rows plus the penalty once, since the
    shares sum to one. So the estimator's objective is used as it is.
    """
    objective = _worker_objective(fit_key, objective)
    if params is not None:
        params = {name: aligned(array) for name, array in params.items()}
    total = None
    for block in blocks:
        # Blocks that came over the network may be unaligned (see _aligned).
        X, Y, sw = aligned(block.X), aligned(block.Y), aligned(block.sample_weight)
        share = block.weight / total_weight
        if kind == "loss_grad":
            loss, grads = objective.loss_grad(params, X, Y, sw)
            # grads may be the objective's buffers, reused by the next call.
            part = (loss * share, {name: grad * share for name, grad in grads.items()})
        elif kind == "loss":
            part = objective.loss(params, X, Y, sw) * share
        elif kind == "smoothness":
            part = objective.smoothness(X, sw, exact=False) * share
        else:
            part = _weighted_gram_times(X, sw, argument)
        total = part if total is None else _add_into(total, part)
    return total


def _nbytes(params):
    return sum(array.nbytes for array in params.values())


def _add_into(total, part):
    """``total + part`` for numbers, arrays, dicts of arrays and tuples of those; in place."""
    if isinstance(total, tuple):
        return tuple(_add_into(a, b) for a, b in zip(total, part))
    if isinstance(total, dict):
        for name, array in part.items():
            total[name] += array
        return total
    if isinstance(total, np.ndarray):
        total += part
        return total
    return total + part


def _weighted_gram_times(X, sample_weight, v):
    """``A^T A v`` for a block, as LinearObjective's Lanczos products compute it."""
    Av = safe_sparse_dot(X, v[:-1].astype(X.dtype)) + v[-1]
    if sample_weight is not None:
        Av *= sample_weight
    return np.append(safe_sparse_dot(X.T, Av), Av.sum()).astype(float)
