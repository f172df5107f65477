"""The blocks a full-batch Dask fit keeps on the workers, and the objective summed over them.

Every evaluation the optimizer asks for (loss and gradient, or a line-search
trial's loss) sends the parameters to the workers once; each worker evaluates
the estimator's own objective on its blocks, with the total weight of all
blocks so that the parts add up, and the client adds the parts.
"""

import itertools
import threading
import time
import uuid
from typing import NamedTuple

import numpy as np
from scipy.sparse.linalg import LinearOperator
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.validation import check_array

from .._core.functions import LineLoss
from .._core.preconditioning import CenteringPreconditioner
from .._core.spectrum import _DENSE_GRAM_LIMIT, _scale_rows, _top_eigenvalue
from .._estimator.preparation import (
    _check_labels_known,
    _encode_targets,
)
from ..linear import _LINK_CURVATURE
from . import _aligned

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


def _block_sample_weight(sample_weight, n_rows, dtype):
    """A block's weights validated as ``fit`` validates them, but for being all zero.

    A block of weight 0 is fine; whether any weight is left is checked on
    the totals (``_check_total_weight``). scikit-learn's ``_check_sample_weight``
    refuses all-zero weights, and older releases have no opt-out.
    """
    sample_weight = check_array(
        sample_weight,
        ensure_2d=False,
        dtype=dtype,
        ensure_min_samples=0,
        input_name="sample_weight",
    )
    if sample_weight.shape != (n_rows,):
        raise ValueError(f"sample_weight.shape == {sample_weight.shape}, expected {(n_rows,)}!")
    if np.any(sample_weight < 0):
        raise ValueError("Negative values in data passed to sample_weight")
    return sample_weight


class _Block(NamedTuple):
    """A prepared block: what the objective evaluates, and the weight of its rows.

    A tuple, so that Dask's ``sizeof`` (which sums a tuple's items) sees the
    arrays and spills the block to disk by its true size.
    """

    X: object
    Y: np.ndarray
    sample_weight: object
    weight: float


def _prepare_block(X, y, sample_weight, dtype, classes, class_factors, n_outputs):
    """Validate, drop rows of weight 0, encode the targets, apply class weights; on a worker.

    The block-wise twin of ``BaseGDClassifier._prepare`` and ``_effective_weights``.
    """
    X = check_array(
        X, accept_sparse=["csr", "csc"], dtype=dtype, ensure_min_samples=0, input_name="X"
    )
    y = np.asarray(y)
    if sample_weight is not None:
        sample_weight = _block_sample_weight(sample_weight, X.shape[0], X.dtype)
        keep = sample_weight > 0
        if not keep.all():
            X, y, sample_weight = X[keep], y[keep], sample_weight[keep]
    # The labels were counted in an earlier pass: they differ only if the
    # source changed in between.
    _check_labels_known(y, classes)
    y_index = np.searchsorted(classes, y)
    if class_factors is not None:
        base = np.ones(len(y), dtype=X.dtype) if sample_weight is None else sample_weight
        sample_weight = base * class_factors.astype(X.dtype)[y_index]
    # The weight sum as the objective computes it, so that block shares of the
    # mean add up to the loss of all rows (see _evaluate_group).
    weight = float(X.shape[0] if sample_weight is None else sample_weight.sum())
    return _Block(X, _encode_targets(y_index, n_outputs, X), sample_weight, weight)


def _block_weight(block):
    return block.weight


def _split_rows(row_counts, n_groups):
    """Consecutive blocks into ``n_groups`` groups of about equal rows: lists of block indices."""
    bounds = np.cumsum(row_counts) - 0.5 * np.asarray(row_counts, dtype=float)
    total = max(float(sum(row_counts)), 1.0)
    slots = np.minimum((bounds * n_groups / total).astype(int), n_groups - 1)
    return [np.flatnonzero(slots == g).tolist() for g in range(n_groups)]


class _BlockStore:
    """The prepared blocks of one fit on the workers, in groups, and the evaluations over them.

    There is one group per worker thread present at the start, consecutive
    blocks of about equal rows, computed and kept on that worker (a
    preference: lost blocks are recomputed wherever Dask finds room).
    An evaluation is one task per group, run where the group's blocks are.
    """

    def __init__(self, client, stats):
        self.client = client
        self.stats = stats
        self.fit_key = uuid.uuid4().hex  # names this fit's tasks and worker caches
        self.groups = []  # (worker address, [block futures])
        self.total_weight = None
        self.n_evaluations = 0
        self._futures = []

    def persist(self, raw_blocks, row_counts, dtype, classes, class_factors, n_outputs, dask):
        """Prepare the blocks on the workers, by group; raise the first invalid block's error."""
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
                prepare(*raw_blocks[i], dtype, classes, class_factors, n_outputs) for i in members
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
        self.stats["groups"] = [len(blocks) for _, blocks in self.groups]
        self.stats["n_blocks"] = len(raw_blocks)

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
            start = time.perf_counter()
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
        wall = time.perf_counter() - start
        self.stats.setdefault("evaluations", []).append(
            (kind, wall, max(seconds for _, seconds in results))
        )
        total = None
        for value, _ in results:  # in group order: reproducible sums
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


class _DaskObjective:
    """A model's objective evaluated over the blocks of a :class:`_BlockStore`.

    It has the three methods the training loop calls (see :mod:`sknn._engine`)
    and ``smoothness`` for the linear models' ``learning_rate='auto'``; the
    data the loop passes are ignored, the store holds them.
    """

    def __init__(self, objective, store):
        self.objective = objective
        self.store = store

    def inner(self, a, b):
        return self.objective.inner(a, b)

    def covector(self, v):
        return self.objective.covector(v)

    def model_nbytes(self, params):
        return self.objective.model_nbytes(params)

    def loss_grad(self, params, X, Y, sample_weight):
        return self.store.reduce("loss_grad", self.objective, params)

    def loss(self, params, X, Y, sample_weight):
        return self.store.reduce("loss", self.objective, params)

    def line(self, point, direction):
        """The loss along ``point + s direction`` with its derivatives (linear models), or None.

        Each point of the line is one evaluation on the workers (see
        :class:`sknn._engine._Line` for what a local fit computes instead).
        """
        if not hasattr(self.objective, "line_penalty"):
            return None
        return _DaskLine(self, point, direction)

    def preconditioner(self, X, sample_weight):
        """:meth:`sknn.linear.LinearObjective.preconditioner`, from the blocks' column moments."""
        if not hasattr(self.objective, "preconditioner"):
            return None
        mean, second_moment = self.store.reduce("moments", self.objective)
        # Summed in float64 on the workers; the preconditioner keeps X's dtype.
        mean, second_moment = mean.astype(X.dtype), second_moment.astype(X.dtype)
        n_samples, n_features = X.shape
        preconditioner = CenteringPreconditioner.from_moments(
            mean, np.clip(second_moment - mean * mean, 0.0, None), scale=2 * n_samples > n_features
        )
        return None if preconditioner.is_identity else preconditioner

    def smoothness(self, X, sample_weight, exact=True):
        """:meth:`sknn.linear.LinearObjective.smoothness` of all the blocks' rows."""
        if not exact:
            # c (sum_i s_i ||x_i||^2 + S) / S + alpha, a weighted mean over the
            # blocks of their own bounds: share-weighted like the losses.
            return self.store.reduce("smoothness", self.objective)
        # The top eigenvalue of A^T A = sum over blocks, A = diag(sqrt(s)) [X, 1]:
        # from the summed Gram matrix, or by Lanczos on summed products when it
        # would be large (as LinearObjective does on the whole X).
        size = X.shape[1] + 1
        if size <= _DENSE_GRAM_LIMIT:
            top = _top_eigenvalue(self.store.reduce("gram", self.objective))
        else:

            def gram_times(v):
                return self.store.reduce("gram_times", self.objective, argument=np.ravel(v))

            top = _top_eigenvalue(LinearOperator((size, size), matvec=gram_times, dtype=float))
        curvature = _LINK_CURVATURE[self.objective.link]
        return curvature * top / self.store.total_weight + self.objective.alpha


class _DaskLine:
    """A line of :class:`_DaskObjective`: loss, slope and curvature summed over the blocks."""

    exact = True

    def __init__(self, objective, point, direction):
        self._objective, self._point, self._direction = objective, point, direction
        self._penalty = objective.objective.line_penalty(point, direction, None, None)

    def at(self, step):
        loss, derivative, curvature = self._objective.store.reduce(
            "line", self._objective.objective, self._point, argument=(self._direction, step)
        )
        value, slope, quadratic = self._penalty
        loss += value + step * (slope + 0.5 * step * quadratic)
        return loss, derivative + slope + step * quadratic, curvature + quadratic

    def curvature_at_start(self):
        return self.at(0.0)[2]

    def moved_to(self, step):
        pass


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
    """One group's share of an evaluation, and the seconds it took; run on a worker.

    Each block's loss (and gradient) is its own weighted mean over its rows,
    penalty included; weighted by the block's share of the total weight, the
    shares add up to the mean over all rows plus the penalty once, since the
    shares sum to one. So the estimator's objective is used as it is.
    """
    start = time.perf_counter()
    objective = _worker_objective(fit_key, objective)
    if params is not None:
        params = {name: _aligned(array) for name, array in params.items()}
    total = None
    for block in blocks:
        # Blocks that came over the network may be unaligned (see _aligned).
        X, Y, sw = _aligned(block.X), _aligned(block.Y), _aligned(block.sample_weight)
        share = block.weight / total_weight
        if kind == "loss_grad":
            loss, grads = objective.loss_grad(params, X, Y, sw)
            # grads may be the objective's buffers, reused by the next call.
            part = (loss * share, {name: grad * share for name, grad in grads.items()})
        elif kind == "loss":
            part = objective.loss(params, X, Y, sw) * share
        elif kind == "smoothness":
            part = objective.smoothness(X, sw, exact=False) * share
        elif kind == "line":
            direction, step = argument
            part = tuple(
                value * share for value in _block_line(objective, params, direction, step, X, Y, sw)
            )
        elif kind == "moments":
            part = _block_moments(X, sw, share)
        elif kind == "gram":
            part = _weighted_gram(X, sw)
        else:
            part = _weighted_gram_times(X, sw, argument)
        total = part if total is None else _add_into(total, part)
    return total, time.perf_counter() - start


def _block_line(objective, point, direction, step, X, Y, sample_weight):
    """The block's mean data loss at ``point + step direction``, and its two derivatives."""
    Z0 = objective.logits(point, X)
    D = objective.logits(direction, X)
    line = LineLoss(objective.link, Z0, D, Y, sample_weight)
    Z0 += step * D
    return line.at(step, Z0)


def _block_moments(X, sample_weight, share):
    """The block's share of the weighted column means of X and of X squared."""
    n_rows = X.shape[0]
    weights = (
        np.full(n_rows, 1.0 / n_rows)
        if sample_weight is None
        else sample_weight / sample_weight.sum()
    )
    weights = weights * share
    squares = X.multiply(X) if hasattr(X, "multiply") else X * X
    return (
        np.asarray(safe_sparse_dot(weights, X), dtype=float),
        np.asarray(safe_sparse_dot(weights, squares), dtype=float),
    )


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


def _weighted_gram(X, sample_weight):
    """``A^T A`` (float64) for ``A = diag(sqrt(s)) [X, 1]``: a block's term of the sum."""
    root_weight = (
        np.ones(X.shape[0]) if sample_weight is None else np.sqrt(sample_weight, dtype=float)
    )
    weighted = _scale_rows(X, root_weight)
    size = X.shape[1] + 1
    gram = np.empty((size, size))
    gram[:-1, :-1] = safe_sparse_dot(weighted.T, weighted, dense_output=True)
    gram[:-1, -1] = gram[-1, :-1] = safe_sparse_dot(weighted.T, root_weight)
    gram[-1, -1] = root_weight @ root_weight
    return gram


def _weighted_gram_times(X, sample_weight, v):
    """``A^T A v`` for a block, as LinearObjective's Lanczos products compute it."""
    Av = safe_sparse_dot(X, v[:-1].astype(X.dtype)) + v[-1]
    if sample_weight is not None:
        Av *= sample_weight
    return np.append(safe_sparse_dot(X.T, Av), Av.sum()).astype(float)
