"""What :func:`sknn.distributed.fit_dask` runs past its first checks: the labels
counted, the blocks prepared and kept on the workers, and the estimator's own training
on a :class:`BlockProblem`, whose every evaluation the workers compute.
"""

import math
import uuid
from typing import NamedTuple

import numpy as np
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array

from .._compat import _check_sample_weight, _fit_context
from .._core.array_ops import array_ops
from .._core.spectrum import gram_times, top_eigenvalue
from .._estimator.base import atomic
from .._estimator.preparation import (
    ACCEPTED_SPARSE,
    TrainingData,
    check_at_least_two,
    check_labels_known,
    check_rows,
    check_total_weight,
    class_weighted,
    encode_targets,
)
from .._estimator.state import is_fitted


def aligned(array):
    # Arrays deserialised from the network may be unaligned, and NumPy computes
    # on those without BLAS, in another order: copy only those.
    return np.require(array, requirements="A") if isinstance(array, np.ndarray) else array


# fit's own decorators: parameters validated, callbacks set up and torn down,
# and the estimator restored if anything raises.
@atomic
@_fit_context(prefer_skip_nested_validation=True)
def fit_dask_checked(estimator, X, y, sample_weight, client):
    """:func:`sknn.distributed.fit_dask` past its checks of the imports, types and client."""
    import dask
    import dask.array as da

    name = type(estimator).__name__
    if estimator.batch_size is not None:
        raise ValueError(
            f"fit_dask trains full batch, but {name} has batch_size={estimator.batch_size} "
            "(mini-batches). Set batch_size=None, or train on mini-batches streamed from "
            "the cluster with sknn.distributed.partial_fit_blocks."
        )
    if estimator.early_stopping:
        raise ValueError(
            f"fit_dask does not support early_stopping=True ({name}): it holds out no "
            "validation split. Set early_stopping=False and score a held-out split "
            "yourself, or train with sknn.distributed.partial_fit_blocks, one epoch per "
            "call, and monitor a held-out set between the calls."
        )
    X, y, sample_weight = _check_dask_inputs(X, y, sample_weight, da)
    warm = estimator.warm_start and is_fitted(estimator)
    if warm:
        # fit's checks of what a warm start continues (fit_dask takes 1-D labels only).
        estimator._check_continuable("fit_dask with warm_start=True")
        estimator._check_target_kind(False, "warm_start")
    if warm and X.shape[1] != estimator.n_features_in_:
        raise ValueError(
            f"X has {X.shape[1]} features, but {name} is expecting "
            f"{estimator.n_features_in_} features as input."
        )
    # validate_data's rule: float32 and float64 stay, anything else becomes float64.
    dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.dtype(np.float64)

    weights = [None] * len(X.chunks[0]) if sample_weight is None else sample_weight.to_delayed()
    raw_blocks = list(zip(X.to_delayed().ravel(), y.to_delayed().ravel(), weights))
    classes, class_totals, n_rows = _count_labels(client, raw_blocks, dtype, dask)
    check_at_least_two(classes)
    if warm:
        estimator._check_warm_classes(classes)
    class_factors, effective_totals = None, class_totals
    if estimator.class_weight is not None:
        class_factors = estimator._class_weights(classes, class_totals, class_totals.sum())
        effective_totals = class_totals * class_factors
    check_total_weight(effective_totals.astype(dtype), n_rows)
    link, n_outputs = estimator._output_layer_of(len(classes), multilabel=False)

    prepare = dask.delayed(_prepare_block, pure=True)
    blocks = [prepare(*raw, dtype, classes, class_factors, n_outputs, name) for raw in raw_blocks]
    problem = BlockProblem(estimator._make_objective(link), client, X.shape[1])
    try:
        problem.persist(blocks, X.chunks[0])
        # What validate_data would have set: the number of features, no names.
        if not warm:
            estimator.n_features_in_ = X.shape[1]
            if hasattr(estimator, "feature_names_in_"):
                del estimator.feature_names_in_
        # X, y and sample_weight as the callbacks see them; X only lends its
        # shape and dtype to the loop, the blocks are on the workers.
        data = TrainingData(
            X.astype(dtype), y, None, None, sample_weight, classes, False, problem=problem
        )
        estimator._train(data, continue_training=warm, incremental=False)
    finally:
        problem.release()
    return estimator


def _check_dask_inputs(X, y, sample_weight, da):
    """X as a Dask array of whole rows; y and sample_weight as Dask arrays chunked like it."""
    if not isinstance(X, da.Array):
        raise TypeError(
            f"fit_dask needs X as a dask.array.Array, got {type(X).__name__}. Data in "
            "memory trains with estimator.fit(X, y); to stream blocks through this "
            "process use sknn.distributed.partial_fit_blocks; or wrap the data with "
            "dask.array.from_array(X, chunks=(block_rows, -1))."
        )
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}")
    if any(math.isnan(size) for size in X.chunks[0] + X.chunks[1]):
        raise ValueError(
            "X has unknown chunk sizes (e.g. from a Dask DataFrame); call "
            "X.compute_chunk_sizes() or DataFrame.to_dask_array(lengths=True) first."
        )
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})  # a block is whole rows
    if getattr(y, "ndim", 1) != 1:
        raise ValueError(
            "fit_dask takes a 1-D y of class labels; a multilabel indicator y trains with "
            "estimator.fit in memory, or with sknn.distributed.partial_fit_blocks."
        )
    y = _as_row_chunked(y, X, "y", da)
    if sample_weight is not None:
        sample_weight = _as_row_chunked(sample_weight, X, "sample_weight", da)
    return X, y, sample_weight


def _as_row_chunked(values, X, name, da):
    if not isinstance(values, da.Array):
        values = np.asarray(values)
        if values.ndim == 1 and len(values) == X.shape[0]:
            return da.from_array(values, chunks=(X.chunks[0],))
    if values.ndim != 1 or values.shape[0] != X.shape[0]:
        raise ValueError(
            f"{name} must be 1-D with one value per row of X ({X.shape[0]}), got shape "
            f"{values.shape}"
        )
    if values.chunks[0] != X.chunks[0]:
        values = values.rechunk({0: X.chunks[0]})
    return values


def _count_labels(client, raw_blocks, dtype, dask):
    """One pass over y (and the weights): the classes, their weight totals, the rows kept."""
    count = dask.delayed(_block_label_counts, pure=True)
    counts = client.compute([count(y, w, dtype) for _, y, w in raw_blocks], sync=True)
    found = [labels for labels, _, _ in counts if len(labels)]
    if not found:
        # fit's words for the same input (scikit-learn's check of the weights).
        raise ValueError("Sample weights must contain at least one non-zero number.")
    classes = np.unique(np.concatenate(found))
    totals = np.zeros(len(classes))
    for labels, block_totals, _ in counts:
        totals[np.searchsorted(classes, labels)] += block_totals
    return classes, totals, sum(n for _, _, n in counts)


def _block_label_counts(y, sample_weight, dtype):
    """A block's labels of positive weight and their weight totals (float64); on a worker."""
    y = np.asarray(y)
    if len(y) == 0:
        return y, np.zeros(0), 0
    check_classification_targets(y)
    if sample_weight is not None:
        sample_weight = _check_sample_weight(
            sample_weight, y, dtype=dtype, ensure_non_negative=True, allow_all_zero_weights=True
        )
        keep = sample_weight > 0
        y, sample_weight = y[keep], sample_weight[keep]
    labels, inverse = np.unique(y, return_inverse=True)
    totals = np.bincount(inverse, weights=sample_weight, minlength=len(labels))
    return labels, totals.astype(np.float64), len(y)


class _Block(NamedTuple):
    """A prepared block and the weight of its rows. A tuple, so that Dask's ``sizeof``
    (which sums a tuple's items) sees the arrays and spills the block by its true size."""

    X: object
    Y: np.ndarray
    sample_weight: object
    weight: float


def _prepare_block(X, y, sample_weight, dtype, classes, class_factors, n_outputs, estimator):
    """Validate as fit validates (``estimator`` names it in the messages), encode the
    targets, apply class weights; on a worker."""
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
        if sample_weight is None:
            sample_weight = np.ones(len(y), dtype=X.dtype)
        sample_weight = class_weighted(sample_weight, class_factors, y_index)
    # The weight sum as the objective computes it, so that block shares of the
    # mean add up to the loss of all rows (see _evaluate_group).
    weight = float(X.shape[0] if sample_weight is None else sample_weight.sum())
    return _Block(X, encode_targets(y_index, n_outputs, X), sample_weight, weight)


def _split_rows(row_counts, n_groups):
    """Consecutive blocks into ``n_groups`` groups of about equal rows: lists of block indices."""
    bounds = np.cumsum(row_counts) - 0.5 * np.asarray(row_counts, dtype=float)
    total = max(float(sum(row_counts)), 1.0)
    slots = np.minimum((bounds * n_groups / total).astype(int), n_groups - 1)
    return [np.flatnonzero(slots == g).tolist() for g in range(n_groups)]


class BlockProblem:
    """The :class:`~sknn._core.protocols.Problem` a Dask fit trains on: the objective
    summed over prepared blocks kept on the workers.

    The blocks are in one group per worker thread present at the start,
    consecutive blocks of about equal rows kept on that worker (a preference:
    lost blocks are recomputed wherever Dask finds room). An evaluation is one
    task per group, run where its blocks are, with the parameters inside.
    """

    # Each point of a line would be a round trip to the workers: the line
    # searches evaluate the full loss instead (sknn._core.optimizers).
    exact_line = None

    def __init__(self, objective, client, n_features):
        self.objective, self.client, self.n_features = objective, client, n_features
        self.fit_key = uuid.uuid4().hex  # names this fit's tasks
        self.groups = []  # (worker address, [block futures])
        self.total_weight = 0.0
        self.n_evaluations = 0

    def persist(self, blocks, row_counts):
        """Compute the (delayed) blocks on the workers, by group; raise an invalid block's error."""
        self.client.wait_for_workers(1)
        slots = [
            address
            for address, n_threads in sorted(self.client.nthreads().items())
            for _ in range(max(int(n_threads), 1))
        ]
        for address, members in zip(slots, _split_rows(row_counts, len(slots))):
            if members:
                group = [blocks[i] for i in members]
                futures = self.client.compute(
                    group + [block.weight for block in group],
                    workers=[address],
                    allow_other_workers=True,
                )
                self.groups.append((address, futures))  # the blocks, then their weights
        for i, (address, futures) in enumerate(self.groups):
            # Raises the first error a block met (invalid X, weights, labels).
            weights = self.client.gather(futures[len(futures) // 2 :])
            self.total_weight += sum(weights)
            # Not kept, so released: the weights (else a lost block would be
            # recomputed for them too) and the blocks of weight 0.
            self.groups[i] = (address, [f for f, weight in zip(futures, weights) if weight > 0])
        self.groups = [group for group in self.groups if group[1]]

    def _reduce(self, kind, params=None, argument=None):
        """Sum an evaluation over all blocks: each group on its worker, the groups here."""
        self.n_evaluations += 1
        futures = [
            self.client.submit(
                _evaluate_group,
                kind,
                self.objective,
                params,
                self.total_weight,
                argument,
                *blocks,
                key=f"sknn-{kind}-{self.fit_key}-{self.n_evaluations}-{i}",
                workers=[address],
                allow_other_workers=True,
                pure=False,
            )
            for i, (address, blocks) in enumerate(self.groups)
        ]
        try:
            results = self.client.gather(futures)
        finally:
            for future in futures:
                future.release()
        total = None
        for value in results:  # in group order: reproducible sums
            total = value if total is None else _add_into(total, value)
        return total

    def loss_grad(self, params):
        return self._reduce("loss_grad", params)

    def loss(self, params):
        return self._reduce("loss", params)

    def smoothness(self, exact=True):
        """:meth:`sknn.linear.LinearObjective.smoothness` of all the blocks' rows
        (the curvature bound of ``learning_rate='auto'``)."""
        if not exact:
            # c (sum_i s_i ||x_i||^2 + S) / S + alpha, a weighted mean over the
            # blocks of their own bounds: share-weighted like the losses.
            return self._reduce("smoothness")

        def gram_times(v):
            return self._reduce("gram_times", argument=np.ravel(v))

        top = top_eigenvalue(gram_times, self.n_features + 1)
        return self.objective.smoothness_bound(top, self.total_weight)

    def release(self):
        """Let the workers drop this fit's blocks (also those of a failed :meth:`persist`)."""
        for _, futures in self.groups:
            for future in futures:
                future.release()
        self.groups = []


def _evaluate_group(kind, objective, params, total_weight, argument, *blocks):
    """One group's share of an evaluation; run on a worker.

    A block's loss (and gradient) is its weighted mean over its rows, penalty
    included: weighted by the block's share of the total weight, the parts
    add up to the mean over all rows plus the penalty once.
    """
    if params is not None:
        params = {name: aligned(array) for name, array in params.items()}
    total = None
    for block in blocks:
        X, Y, sw = aligned(block.X), aligned(block.Y), aligned(block.sample_weight)
        share = block.weight / total_weight
        if kind == "loss_grad":
            loss, grads = objective.loss_grad(params, X, Y, sw)
            part = (loss * share, {name: grad * share for name, grad in grads.items()})
        elif kind == "loss":
            part = objective.loss(params, X, Y, sw) * share
        elif kind == "smoothness":
            part = objective.smoothness(X, sw, exact=False) * share
        else:
            part = gram_times(X, sw, argument)
        total = part if total is None else _add_into(total, part)
    return total


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
