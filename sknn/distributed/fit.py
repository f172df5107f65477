"""fit_dask past its checks: labels counted, blocks persisted, the estimator's own training run.

The public entry point and its documentation are :func:`sknn.distributed.fit_dask`;
the blocks on the workers and the objective summed over them are in
:mod:`sknn.distributed.blocks`.
"""

import math

import numpy as np
from sklearn.utils.multiclass import check_classification_targets

from .._compat import _check_sample_weight, _fit_context
from .._estimator.base import atomic
from .._estimator.preparation import TrainingData, check_at_least_two, check_total_weight
from .._estimator.state import is_fitted
from .blocks import BlockProblem, BlockStore
from .cluster import active_client


# fit's own decorators: parameters validated, callbacks set up and torn down,
# and the estimator restored if anything raises.
@atomic
@_fit_context(prefer_skip_nested_validation=True)
def fit_dask_checked(estimator, X, y, sample_weight, client):
    """:func:`sknn.distributed.fit_dask` past its import and type checks."""
    import dask
    import dask.array as da

    _check_full_batch_settings(estimator)
    X, y, sample_weight = _check_dask_inputs(X, y, sample_weight, da)
    client = active_client() if client is None else client
    if client is None:
        raise ValueError(
            "fit_dask needs a distributed.Client: create one (Client(LocalCluster(...)) "
            'or Client("tcp://scheduler:8786")) or pass client=...'
        )
    warm = estimator.warm_start and is_fitted(estimator)
    if warm and X.shape[1] != estimator.n_features_in_:
        raise ValueError(
            f"X has {X.shape[1]} features, but {type(estimator).__name__} is expecting "
            f"{estimator.n_features_in_} features as input."
        )
    # validate_data's rule: float32 and float64 stay, anything else becomes float64.
    dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.dtype(np.float64)

    weights = [None] * len(X.chunks[0]) if sample_weight is None else sample_weight.to_delayed()
    raw_blocks = list(zip(X.to_delayed().ravel(), y.to_delayed().ravel(), weights))
    classes, class_totals, n_rows = _count_labels(client, raw_blocks, dtype, dask)
    check_at_least_two(classes)
    if warm and not np.array_equal(classes, estimator.classes_):
        raise ValueError(
            "warm_start can only be used where `y` has the same classes as in "
            f"the previous call to fit. Previously got {estimator.classes_}, "
            f"`y` has {classes}."
        )
    class_factors = None
    effective_totals = class_totals
    if estimator.class_weight is not None:
        class_factors = estimator._class_weights(classes, class_totals, class_totals.sum())
        effective_totals = class_totals * class_factors
    check_total_weight(effective_totals.astype(dtype), n_rows)
    _, n_outputs = estimator._output_layer_of(len(classes), multilabel=False)

    store = BlockStore(client, type(estimator).__name__)
    try:
        store.persist(X, raw_blocks, dtype, classes, class_factors, n_outputs, dask)
        link, _ = estimator._output_layer_of(len(classes), multilabel=False)
        problem = BlockProblem(estimator._make_objective(link), store)
        # What validate_data would have set: the number of features, no names.
        if not warm:
            estimator.n_features_in_ = X.shape[1]
            if hasattr(estimator, "feature_names_in_"):
                del estimator.feature_names_in_
        # X, y and sample_weight as the callbacks see them; X only lends its
        # shape and dtype to the loop, the blocks are in the store.
        data = TrainingData(
            X.astype(dtype), y, None, None, sample_weight, classes, False, problem=problem
        )
        estimator._train(data, continue_training=warm, incremental=False)
    finally:
        store.release()
    return estimator


def _check_full_batch_settings(estimator):
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
