"""Training on a Dask cluster, from HDF5 files or any Dask array.

Calling :func:`h5_to_dask`, :func:`partial_fit_blocks` or :func:`fit_dask` needs the
``sknn[dask]`` extra (Dask, ``distributed``, ``dask-ml``); importing this module does
not. :class:`LazyH5Dataset` is :mod:`sknn.datasets`'s, re-exported.

Read more in the :ref:`User Guide <large-data>`.
"""

import importlib
import itertools
import numbers
import os
from typing import TYPE_CHECKING

import numpy as np

from .._estimator.base import BaseGDClassifier
from ..datasets import LazyH5Dataset, _checked_keys
from .fit import aligned, fit_dask_checked

if TYPE_CHECKING:
    import dask.array

__all__ = ["LazyH5Dataset", "fit_dask", "h5_to_dask", "partial_fit_blocks"]

_EXTRA_HINT = 'install the sknn[dask] extra: pip install "sknn[dask]"'


def _import_dask(caller, module="dask.array", name="Dask"):
    """Dask, once ``module`` imports; else an ImportError naming ``caller`` and the extra."""
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"sknn.distributed.{caller} needs {name}, which is not installed; {_EXTRA_HINT}"
        ) from exc
    import dask

    return dask


def h5_to_dask(
    path: "str | os.PathLike[str]",
    block_rows: int,
    *,
    x_key: str | None = None,
    y_key: str | None = None,
    allow_external: bool = False,
) -> "tuple[dask.array.Array, dask.array.Array]":
    """Expose an HDF5 (X, y) pair as Dask arrays of ``block_rows`` rows per block.

    Nothing is read until a block is computed, and then only that block, by
    whichever process computes it. The blocks are, in order, the chunks
    :func:`sknn.datasets.iter_h5_batches` yields with ``batch_size=block_rows``.

    Read more in the :ref:`User Guide <large-data>`.

    Parameters
    ----------
    path : str or path-like
        HDF5 file, at the same absolute path for every process that computes
        a block.
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

    Training on the blocks is training on the chunks streamed in this process:

    >>> clf = partial_fit_blocks(SoftmaxGD(random_state=0), X, y, classes=[0, 1, 2])
    >>> ref = SoftmaxGD(random_state=0)
    >>> for X_chunk, y_chunk in iter_h5_batches(path, batch_size=4):
    ...     ref = ref.partial_fit(X_chunk, y_chunk, classes=[0, 1, 2])
    >>> np.array_equal(clf.coef_, ref.coef_)
    True
    >>> tmp.cleanup()
    """
    keys = _checked_keys(path, "block_rows", block_rows, x_key, y_key, allow_external)
    da = _import_dask("h5_to_dask").array
    arrays = [
        LazyH5Dataset(path, key, flatten=flatten, allow_external=allow_external)
        for key, flatten in zip(keys, (True, False))
    ]
    return tuple(
        da.from_array(array, chunks=(int(block_rows), *array.shape[1:]), fancy=False)
        for array in arrays
    )


def partial_fit_blocks(
    estimator: BaseGDClassifier, X, y, classes=None, *, n_epochs: int = 1
) -> BaseGDClassifier:
    """Train ``estimator.partial_fit`` on the row blocks of Dask arrays, in order.

    Each epoch, the blocks are computed in order by the active Dask scheduler
    and passed to ``estimator.partial_fit`` in this process. The model is the
    one ``partial_fit`` gives on the same blocks as NumPy arrays, bit for bit.

    Read more in the :ref:`User Guide <large-data>`.

    Parameters
    ----------
    estimator : estimator with ``partial_fit``
        Trained in place, e.g. a :class:`~sknn.SoftmaxGD`. A fitted
        estimator continues from its current state.
    X : dask.array.Array of shape (n_samples, ...)
        Samples; block ``i`` is the rows of the ``i``-th row chunk (column
        chunks are joined).
    y : dask.array.Array of shape (n_samples,)
        Targets, with the same row chunks as ``X``.
    classes : array-like of shape (n_classes,), default=None
        Every class in ``y``; required if ``estimator`` is not fitted yet.
        Passed to every ``partial_fit`` call.
    n_epochs : int, default=1
        Passes over the blocks.

    Returns
    -------
    object
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
        estimator.partial_fit(aligned(X_block), aligned(y_block), classes=classes)
        del X_block, y_block  # before the next block arrives
    return estimator


def _computed(blocks, dask):
    """Yield each block computed; on a distributed client, the next one is
    computed on the workers while the caller trains on the current one."""
    client = active_client()
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


def active_client():
    """The distributed Client that dask.compute would use now, or None."""
    from dask.base import get_scheduler

    client = getattr(get_scheduler(), "__self__", None)
    try:
        from distributed import Client
    except ImportError:
        return None
    return client if isinstance(client, Client) else None


def fit_dask(
    estimator: BaseGDClassifier, X, y, sample_weight=None, *, client=None
) -> BaseGDClassifier:
    """Train an sknn estimator full batch on Dask arrays, the arithmetic done by the workers.

    The workers validate the row blocks of ``X`` as ``fit`` does, keep them,
    and sum every loss and gradient over them; the training loop and
    optimizer run in this process. The model is the one ``estimator.fit``
    gives on the same data in memory, up to the order of summation (the linear
    models' L-BFGS and CG take other line-search steps, to the same minimum).

    Read more in the :ref:`User Guide <large-data>`.

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
        Non-negative weights, as in ``fit``. The estimator's ``class_weight``
        (a dict or 'balanced') applies on top, from the class totals of all
        blocks.
    client : distributed.Client, default=None
        The cluster: the client of a ``LocalCluster`` or one connected to a
        running scheduler (``Client("tcp://host:8786")``). Default: the
        client ``dask.compute`` would use now.

    Returns
    -------
    object
        The same estimator, fitted: weights, ``classes_``, ``loss_curve_``,
        ``n_iter_``, ``stop_reason_``, ``best_loss_`` and the optimizer
        state are what ``fit`` leaves.

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
    >>> clf.stop_reason_, local.stop_reason_
    ('converged', 'converged')
    >>> bool(np.allclose(clf.predict_proba(X), local.predict_proba(X), atol=1e-3))
    True
    """
    _import_dask("fit_dask")
    _import_dask("fit_dask", "distributed", "distributed")
    if not isinstance(estimator, BaseGDClassifier):
        raise TypeError(
            "fit_dask trains the sknn classifiers (LogisticRegressionGD, SoftmaxGD, "
            f"ShallowNNClassifier), got {type(estimator).__name__}"
        )
    client = active_client() if client is None else client
    if client is None:
        raise ValueError(
            "fit_dask needs a distributed.Client: create one (Client(LocalCluster(...)) "
            'or Client("tcp://scheduler:8786")) or pass client=...'
        )
    return fit_dask_checked(estimator, X, y, sample_weight, client)
