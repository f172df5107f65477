"""Training on a Dask cluster, from HDF5 files or any Dask array.

Needs the optional ``sknn[dask]`` extra (``pip install "sknn[dask]"``: Dask,
``distributed`` and ``dask-ml``). Importing this module does not; calling
:func:`h5_to_dask`, :func:`partial_fit_blocks` or :func:`fit_dask` does.

Three things scale out, and only the last two need this module:

- **Model selection.** Inside ``joblib.parallel_backend("dask")`` a
  :class:`~sklearn.model_selection.GridSearchCV` sends its fits to the
  workers of the active ``distributed.Client``; sknn estimators need nothing
  special for that.
- **Out-of-core training.** :func:`h5_to_dask` exposes an HDF5 (X, y) pair
  as two Dask arrays of ``block_rows`` rows per block, which the workers
  read. :func:`partial_fit_blocks` then trains in this process on one block
  after the other, the cluster reading the next block meanwhile, so that at
  most two blocks are in memory at any time.
  ``dask_ml.wrappers.Incremental`` trains on the workers instead, passing
  the model from task to task; it reads blocks ahead of the training, so
  the cluster may hold (or spill to disk) most of the data at once.
- **Full-batch training on the cluster.** :func:`fit_dask` keeps the blocks
  on the workers and trains any sknn estimator full batch with its own
  optimizer, in this process: every loss and gradient the optimizer asks
  for (line-search trials included) is summed over the workers' blocks, so
  the cluster does the arithmetic and the model is the one ``fit`` gives on
  the same data in memory.

Why not ``da.from_array(h5py_file["X"])``? An ``h5py.Dataset`` is a handle on
a file opened by one process and does not pickle. The distributed scheduler
gets by with a special serializer that reopens the file by name on each
worker, which works only while the client keeps its file open; the
``"processes"`` scheduler fails with ``TypeError: h5py objects cannot be
pickled``. :class:`LazyH5Dataset` instead holds only the file's absolute
path and the dataset's name, pickles as those, and opens the file read-only
for the length of each read, in whichever process reads. It needs no Dask
and lives in :mod:`sknn.datasets`; this module re-exports it.

The files are read as :func:`sknn.datasets.load_h5` reads them: external
links, external storage and virtual datasets are refused unless
``allow_external=True``.
"""

import itertools
import math
import numbers
import threading
import time
import uuid
from typing import NamedTuple

import numpy as np
from scipy.sparse.linalg import LinearOperator
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array

from ._base import (
    BaseGDClassifier,
    _atomic,
    _check_at_least_two,
    _check_labels_known,
    _check_total_weight,
    _encode_targets,
    _is_fitted,
    _TrainingData,
)
from ._compat import _fit_context
from ._h5 import check_names, open_h5_safely, resolve_xy_keys
from .datasets import LazyH5Dataset
from .linear import _DENSE_GRAM_LIMIT, _LINK_CURVATURE, _scale_rows, _top_eigenvalue

__all__ = ["LazyH5Dataset", "fit_dask", "h5_to_dask", "partial_fit_blocks"]

_EXTRA_HINT = 'install the sknn[dask] extra: pip install "sknn[dask]"'


def _import_dask(caller):
    try:
        import dask
        import dask.array  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"sknn.distributed.{caller} needs Dask, which is not installed; {_EXTRA_HINT}"
        ) from exc
    return dask


def h5_to_dask(path, block_rows, *, x_key=None, y_key=None, allow_external=False):
    """Expose an HDF5 (X, y) pair as Dask arrays of ``block_rows`` rows per block.

    Nothing is read until a block is computed, and then only that block, by
    whichever process (thread, local process or cluster worker) computes it:
    the arrays wrap :class:`LazyH5Dataset` objects, which pickle as a path
    and a name (see the module docstring for why ``da.from_array`` on an
    ``h5py.Dataset`` is not enough). The blocks are the chunks that
    :func:`sknn.datasets.iter_h5_batches` yields with ``batch_size=block_rows``
    and ``shuffle=False``, in the same order, so ``partial_fit`` over the blocks
    trains exactly as streaming the file locally does.

    Parameters
    ----------
    path : str or path-like
        HDF5 file. Every process that computes a block must see it at the
        same absolute path (a local cluster, or a shared file system).
    block_rows : int
        Rows per block (the last block may be shorter).
    x_key, y_key : str, default=None
        Names of the sample and target datasets; keys left as None are
        inferred as in :func:`sknn.datasets.load_h5`.
    allow_external : bool, default=False
        Follow external links and read external storage and virtual
        datasets, as in :func:`sknn.datasets.load_h5`. Refused by default,
        here and on every block read.

    Returns
    -------
    X : dask.array.Array of shape (n_samples, n_features)
        Samples flattened to rows, in the dtype stored in the file, chunked
        ``(block_rows, n_features)``.
    y : dask.array.Array of shape (n_samples,)
        Targets as stored, chunked ``(block_rows,)``.

    Raises
    ------
    ImportError
        If Dask is not installed (install the ``sknn[dask]`` extra).
    FileNotFoundError, ValueError
        As :func:`sknn.datasets.load_h5`, and for a ``block_rows`` that is
        not a positive integer.

    See Also
    --------
    sknn.datasets.iter_h5_batches : Stream the same blocks in this process.

    Examples
    --------
    This example needs the ``sknn[dask]`` extra; it is skipped without it.

    >>> import pytest
    >>> _ = pytest.importorskip("dask", reason="needs the sknn[dask] extra")
    >>> import os, tempfile
    >>> import h5py, numpy as np
    >>> from sknn import SoftmaxGD
    >>> from sknn.datasets import iter_h5_batches
    >>> from sknn.distributed import h5_to_dask, partial_fit_blocks
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "toy.h5")
    >>> rng = np.random.default_rng(0)
    >>> with h5py.File(path, "w") as f:
    ...     f["X"] = rng.normal(size=(10, 2))
    ...     f["y"] = np.arange(10) % 3
    >>> X, y = h5_to_dask(path, block_rows=4)
    >>> X.shape, X.chunks
    ((10, 2), ((4, 4, 2), (2,)))

    One epoch of ``partial_fit`` over the blocks, read by the active
    scheduler (the workers of a ``distributed.Client``, if one is active),
    trains the same model as streaming the file in this process:

    >>> clf = partial_fit_blocks(SoftmaxGD(random_state=0), X, y, classes=[0, 1, 2])
    >>> ref = SoftmaxGD(random_state=0)
    >>> for X_chunk, y_chunk in iter_h5_batches(path, batch_size=4):
    ...     ref = ref.partial_fit(X_chunk, y_chunk, classes=[0, 1, 2])
    >>> np.array_equal(clf.coef_, ref.coef_)
    True
    >>> tmp.cleanup()
    """
    if not isinstance(block_rows, numbers.Integral) or block_rows < 1:
        raise ValueError(
            f"block_rows must be a positive integer, got {block_rows!r} (reading '{path}')"
        )
    da = _import_dask("h5_to_dask").array
    check_names(x_key, y_key)
    with open_h5_safely(path) as f:
        x_key, y_key = resolve_xy_keys(f, path, x_key, y_key, allow_external=allow_external)
    X = LazyH5Dataset(path, x_key, flatten=True, allow_external=allow_external)
    y = LazyH5Dataset(path, y_key, allow_external=allow_external)
    block_rows = int(block_rows)
    X_dask = da.from_array(
        X,
        chunks=(block_rows, X.shape[1]),
        fancy=False,
        meta=np.empty((0, X.shape[1]), dtype=X.dtype),
    )
    y_dask = da.from_array(y, chunks=(block_rows,), fancy=False, meta=np.empty((0,), dtype=y.dtype))
    return X_dask, y_dask


def partial_fit_blocks(estimator, X, y, classes=None, *, n_epochs=1):
    """Train ``estimator.partial_fit`` on the row blocks of Dask arrays, in order.

    Block ``i`` holds the rows of ``X`` and ``y`` in their ``i``-th row chunk.
    Each block is computed by the active Dask scheduler and passed to
    ``estimator.partial_fit`` in this process, once per epoch, blocks in
    order; the estimator is trained in place and never sent anywhere.

    With a ``distributed.Client`` active, the workers compute (for
    :func:`h5_to_dask` arrays: read from the file) block ``i + 1`` while
    block ``i`` trains here, and let go of a block once it is sent: at any
    time at most two blocks exist, the one training and the next one.
    Without a client each block is computed by the default scheduler when it
    is needed.

    The result is that of calling ``partial_fit`` on the same blocks as NumPy
    arrays, bit for bit: blocks that arrive from a worker unaligned in
    memory (as deserialised data may be) are copied to aligned memory first,
    since NumPy computes on unaligned arrays without BLAS, in another order.

    Parameters
    ----------
    estimator : estimator with ``partial_fit``
        Trained in place, e.g. a :class:`~sknn.SoftmaxGD`. A fitted
        estimator continues from its current state.
    X : dask.array.Array of shape (n_samples, ...)
        Samples; only the row chunks matter (all columns of a row block are
        gathered into one block).
    y : dask.array.Array of shape (n_samples,)
        Targets, with the same row chunks as ``X``.
    classes : array-like of shape (n_classes,), default=None
        Every class in ``y``; required if ``estimator`` is not fitted yet.
        Passed to every ``partial_fit`` call.
    n_epochs : int, default=1
        Passes over the blocks.

    Returns
    -------
    estimator : object
        The same estimator, trained.

    Raises
    ------
    ImportError
        If Dask is not installed (install the ``sknn[dask]`` extra).
    TypeError
        If ``estimator`` has no ``partial_fit``, or ``X`` or ``y`` is not a
        Dask array.
    ValueError
        If ``X`` and ``y`` are chunked differently along the rows, or
        ``n_epochs`` is not a positive integer.

    See Also
    --------
    h5_to_dask : Dask arrays over an HDF5 file, blocks read by the workers.

    Notes
    -----
    ``dask_ml.wrappers.Incremental`` trains the same way but in tasks on the
    workers, sending the model along with each task; the scheduler then
    reads blocks as early as workers are free, ahead of the training, so the
    cluster may hold most of the data at once. Use it when the model should
    not be in this process; use this function to bound memory to two blocks.

    Examples
    --------
    This example needs the ``sknn[dask]`` extra; it is skipped without it.

    >>> import pytest
    >>> da = pytest.importorskip("dask.array", reason="needs the sknn[dask] extra")
    >>> import numpy as np
    >>> from sknn import LogisticRegressionGD
    >>> from sknn.distributed import partial_fit_blocks
    >>> rng = np.random.default_rng(0)
    >>> X = da.from_array(rng.normal(size=(100, 3)), chunks=(25, 3))
    >>> y = da.from_array(rng.integers(0, 2, size=100), chunks=25)
    >>> clf = partial_fit_blocks(LogisticRegressionGD(), X, y, classes=[0, 1], n_epochs=3)
    >>> clf.n_iter_  # one partial_fit call per block and epoch
    12
    """
    dask = _import_dask("partial_fit_blocks")
    if not callable(getattr(estimator, "partial_fit", None)):
        raise TypeError(f"{type(estimator).__name__} has no partial_fit method")
    for name, array in (("X", X), ("y", y)):
        if not isinstance(array, dask.array.Array):
            raise TypeError(
                f"{name} must be a dask.array.Array, got {type(array).__name__}; "
                "wrap NumPy data with dask.array.from_array(..., chunks=...)"
            )
    if X.chunks[0] != y.chunks[0]:
        raise ValueError(
            f"X and y must have the same row chunks, got {X.chunks[0]} and "
            f"{y.chunks[0]}; rechunk one like the other, e.g. "
            "y.rechunk({0: X.chunks[0]})"
        )
    if not isinstance(n_epochs, numbers.Integral) or n_epochs < 1:
        raise ValueError(f"n_epochs must be a positive integer, got {n_epochs!r}")

    bounds = np.cumsum((0,) + X.chunks[0])
    blocks = [
        (X[start:stop], y[start:stop])
        for start, stop in zip(bounds[:-1].tolist(), bounds[1:].tolist())
        if stop > start
    ]
    schedule = itertools.chain.from_iterable(itertools.repeat(blocks, int(n_epochs)))
    for X_block, y_block in _computed(schedule, dask):
        estimator.partial_fit(_aligned(X_block), _aligned(y_block), classes=classes)
        del X_block, y_block  # before the next block arrives
    return estimator


def _computed(blocks, dask):
    """Yield each block computed; on a distributed client, the next one is
    computed on the workers while the caller trains on the current one."""
    client = _active_client()
    if client is None:
        for block in blocks:
            yield dask.compute(*block)
        return
    pending = None
    for block in itertools.chain(blocks, [None]):
        submitted = None if block is None else client.compute(list(block))
        if pending is not None:
            # Replacing the futures lets the workers release the block.
            computed, pending = client.gather(pending), None
            yield computed
            del computed
        pending = submitted


def _active_client():
    """The distributed Client that dask.compute would use now, or None."""
    from dask.base import get_scheduler

    client = getattr(get_scheduler(), "__self__", None)
    try:
        from distributed import Client
    except ImportError:
        return None
    return client if isinstance(client, Client) else None


def _aligned(array):
    # Copies only arrays that are not aligned to their itemsize.
    return np.require(array, requirements="A") if isinstance(array, np.ndarray) else array


# --- full-batch training on the cluster --------------------------------------

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


def fit_dask(estimator, X, y, sample_weight=None, *, client=None):
    """Train an sknn estimator full batch on Dask arrays, the arithmetic done by the workers.

    The row blocks of ``X`` are prepared (validated, targets encoded, class
    weights applied) and kept on the workers. Training then runs in this
    process with the estimator's own training loop and full-batch optimizer,
    exactly as ``estimator.fit`` runs them; only the sums move: for every
    loss and gradient the optimizer asks for (line-search trials included)
    the parameters are sent to the workers once, each worker adds up the
    loss and gradient of its blocks, and this process adds the workers'
    results. The loss is a weighted mean over all rows, so the sum is exact:
    the model is the one ``estimator.fit`` gives on the same data in memory,
    up to the order of summation.

    This process never holds more than the parameters, one gradient per
    worker thread and the blocks' label counts. A worker that dies costs a
    recomputation: Dask computes its blocks again from their source (for
    :func:`h5_to_dask` arrays, the file) and training goes on to the same
    result. Every worker must be able to import sknn (the same version).

    Parameters
    ----------
    estimator : LogisticRegressionGD, SoftmaxGD or ShallowNNClassifier
        Trained in place, full batch (``batch_size=None``, no early
        stopping), with any of its optimizers. With ``warm_start=True`` a
        fitted estimator continues from its weights and optimizer state, as
        with ``fit``.
    X : dask.array.Array of shape (n_samples, n_features)
        Samples, with known chunk sizes. Each row chunk is one block (column
        chunks are joined); blocks may be dense or ``scipy.sparse`` (CSR,
        CSC). float32 is trained in float32 and float64 in float64; other
        dtypes are converted to float64, block by block.
    y : dask.array.Array or array-like of shape (n_samples,)
        Class labels; chunked like the rows of ``X``.
    sample_weight : dask.array.Array or array-like of shape (n_samples,), \
default=None
        Non-negative weights, as in ``fit``: weight k counts as k repeated
        rows and 0 drops the row. The estimator's ``class_weight`` (a dict or
        'balanced') applies on top, from the class totals of all blocks.
    client : distributed.Client, default=None
        The cluster: the client of a ``LocalCluster`` or one connected to a
        running scheduler (``Client("tcp://host:8786")``). Default: the
        client ``dask.compute`` would use now.

    Returns
    -------
    estimator : object
        The same estimator, fitted: weights, ``classes_``, ``loss_curve_``,
        ``n_iter_``, ``stop_reason_``, ``best_loss_`` and the optimizer
        state are what ``fit`` leaves. Predict on NumPy data, or over Dask
        blocks with ``X.map_blocks`` or ``dask_ml.wrappers.ParallelPostFit``.

    Raises
    ------
    ImportError
        If Dask or ``distributed`` is missing (install the ``sknn[dask]`` extra).
    TypeError
        If ``estimator`` is not an sknn classifier or ``X`` is not a Dask array.
    ValueError
        For settings that are not full-batch training (``batch_size`` set,
        ``early_stopping=True``: use :func:`partial_fit_blocks`), without a
        client, for unknown chunk sizes, and for any data ``fit`` refuses
        (raised from the worker that found it). The estimator is then
        left unchanged.

    See Also
    --------
    partial_fit_blocks : Mini-batch training over the blocks, in this process.
    h5_to_dask : Dask arrays over an HDF5 file, blocks read by the workers.

    Notes
    -----
    An evaluation costs one round trip to the workers plus the compute of
    the largest share of rows; an iteration of the default Nesterov line
    search takes about two evaluations. The blocks are split, in row order,
    between the worker threads present at the start (later workers stay
    idle); each group is summed in block order and the groups in group
    order, so a fit on the same cluster is reproducible bit for bit, also
    when a worker dies and its blocks are computed elsewhere. Blocks beyond
    a worker's memory limit are spilled to its disk by Dask and read back
    at every evaluation.

    Callbacks (``set_callbacks``) see the Dask arrays as the training data.

    Examples
    --------
    This example needs the ``sknn[dask]`` extra; it is skipped without it.

    >>> import pytest
    >>> distributed = pytest.importorskip("distributed", reason="needs the sknn[dask] extra")
    >>> import dask.array as da
    >>> import numpy as np
    >>> from sklearn.datasets import make_classification
    >>> from sknn import SoftmaxGD
    >>> from sknn.distributed import fit_dask
    >>> X, y = make_classification(n_samples=600, n_classes=3, n_informative=4,
    ...                            random_state=0)
    >>> X_dask, y_dask = da.from_array(X, chunks=(150, -1)), da.from_array(y, chunks=150)
    >>> with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
    ...                               dashboard_address=None) as cluster:
    ...     with distributed.Client(cluster) as client:
    ...         clf = fit_dask(SoftmaxGD(), X_dask, y_dask, client=client)
    >>> local = SoftmaxGD().fit(X, y)
    >>> clf.stop_reason_, clf.n_iter_ == local.n_iter_
    ('converged', True)
    >>> bool(np.allclose(clf.coef_, local.coef_, rtol=1e-10, atol=1e-12))
    True
    """
    _import_dask("fit_dask")
    try:
        import distributed  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"sknn.distributed.fit_dask needs distributed, which is not installed; {_EXTRA_HINT}"
        ) from exc
    if not isinstance(estimator, BaseGDClassifier):
        raise TypeError(
            "fit_dask trains the sknn classifiers (LogisticRegressionGD, SoftmaxGD, "
            f"ShallowNNClassifier), got {type(estimator).__name__}"
        )
    return _fit_dask(estimator, X, y, sample_weight, client)


# fit's own decorators: parameters validated, callbacks set up and torn down,
# and the estimator restored if anything raises.
@_fit_context(prefer_skip_nested_validation=True)
@_atomic
def _fit_dask(estimator, X, y, sample_weight, client, stats=None):
    """:func:`fit_dask` past its import and type checks; ``stats``, a dict, receives timings.

    ``stats`` (for the benchmarks) gets ``prepare_seconds``, ``groups`` (blocks
    per group) and ``evaluations``: one ``(kind, wall seconds, slowest
    worker's compute seconds)`` per evaluation.
    """
    import dask
    import dask.array as da

    _check_full_batch_settings(estimator)
    X, y, sample_weight = _check_dask_inputs(X, y, sample_weight, da)
    client = _active_client() if client is None else client
    if client is None:
        raise ValueError(
            "fit_dask needs a distributed.Client: create one (Client(LocalCluster(...)) "
            'or Client("tcp://scheduler:8786")) or pass client=...'
        )
    stats = {} if stats is None else stats
    warm = estimator.warm_start and _is_fitted(estimator)
    if warm and X.shape[1] != estimator.n_features_in_:
        raise ValueError(
            f"X has {X.shape[1]} features, but {type(estimator).__name__} is expecting "
            f"{estimator.n_features_in_} features as input."
        )
    # validate_data's rule: float32 and float64 stay, anything else becomes float64.
    dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.dtype(np.float64)

    start = time.perf_counter()
    weights = [None] * len(X.chunks[0]) if sample_weight is None else sample_weight.to_delayed()
    raw_blocks = list(zip(X.to_delayed().ravel(), y.to_delayed().ravel(), weights))
    classes, class_totals, n_rows = _count_labels(client, raw_blocks, dtype, dask)
    _check_at_least_two(classes)
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
    _check_total_weight(effective_totals.astype(dtype), n_rows)
    _, n_outputs = estimator._output_layer(len(classes))

    store = _BlockStore(client, stats)
    try:
        store.persist(raw_blocks, X.chunks[0], dtype, classes, class_factors, n_outputs, dask)
        stats["prepare_seconds"] = time.perf_counter() - start

        def distribute(objective, n_outputs_of_fit):
            if n_outputs_of_fit != n_outputs:  # the blocks' targets are encoded for n_outputs
                raise RuntimeError(f"{n_outputs_of_fit} outputs, blocks encoded for {n_outputs}")
            return _DaskObjective(objective, store)

        # What validate_data would have set: the number of features, no names.
        if not warm:
            estimator.n_features_in_ = X.shape[1]
            if hasattr(estimator, "feature_names_in_"):
                del estimator.feature_names_in_
        # X, y and sample_weight as the callbacks see them; X only lends its
        # shape and dtype to the loop, the blocks are in the store.
        data = _TrainingData(X.astype(dtype), y, None, None, sample_weight, classes)
        estimator._train(
            data, continue_training=warm, incremental=False, objective_wrapper=distribute
        )
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
        raise ValueError("No samples with a positive weight are left to train on.")
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
        sample_weight = _block_sample_weight(sample_weight, len(y), dtype)
        keep = sample_weight > 0
        y, sample_weight = y[keep], sample_weight[keep]
    labels, inverse = np.unique(y, return_inverse=True)
    totals = np.bincount(inverse, weights=sample_weight, minlength=len(labels))
    return labels, totals.astype(np.float64), len(y)


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
    return _Block(X, _encode_targets(y_index, n_outputs, X.dtype), sample_weight, weight)


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

    def loss_grad(self, params, X, Y, sample_weight):
        return self.store.reduce("loss_grad", self.objective, params)

    def loss(self, params, X, Y, sample_weight):
        return self.store.reduce("loss", self.objective, params)

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
        elif kind == "gram":
            part = _weighted_gram(X, sw)
        else:
            part = _weighted_gram_times(X, sw, argument)
        total = part if total is None else _add_into(total, part)
    return total, time.perf_counter() - start


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
