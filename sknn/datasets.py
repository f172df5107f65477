"""Load (X, y) pairs from HDF5 files, read as untrusted (with :mod:`sknn.io.h5`): whole,
in chunks, or lazily, one dataset at a time. Needs no extra (h5py is a dependency).

Read more in the :ref:`User Guide <large-data>`.
"""

import math
import numbers
import os
from collections.abc import Iterator

import numpy as np
from sklearn.utils import Bunch, check_random_state

from .io import h5 as _h5

__all__ = ["load_h5", "iter_h5_batches", "LazyH5Dataset"]


def load_h5(
    path: "str | os.PathLike[str]",
    *,
    x_key: str | None = None,
    y_key: str | None = None,
    return_X_y: bool = False,
    allow_external: bool = False,
) -> "Bunch | tuple[np.ndarray, np.ndarray]":
    """Load an (X, y) pair from an HDF5 file.

    The file is read as untrusted, and the samples are flattened to rows in
    the dtype stored.

    Read more in the :ref:`User Guide <large-data>`.

    Parameters
    ----------
    path : str or path-like
        HDF5 file to read.
    x_key, y_key : str, default=None
        Names of the sample and target datasets (paths such as ``"group/X"``
        allowed). Keys left as None are inferred from the top-level datasets:
        ``train_set_x``/``train_set_y`` or ``test_set_x``/``test_set_y``, else
        the unique pair of a dataset with ``ndim >= 2`` (X) and a 1-D dataset
        other than ``list_classes`` (y) with as many rows; with one key given,
        among the pairs containing it.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.
    allow_external : bool, default=False
        Follow external links and read datasets whose values are stored in
        other files (external storage, virtual datasets). Pass True only for
        files you trust.

    Returns
    -------
    data : Bunch
        With attributes:

        data : ndarray of shape (n_samples, n_features)
            Samples flattened to rows, in the dtype stored in the file.
        target : ndarray of shape (n_samples,)
            Targets as stored.
        target_names : ndarray of str or None
            Decoded ``list_classes`` (bytes as UTF-8) if the file has that
            dataset, else None.
        feature_shape : tuple of int
            Shape of one sample before flattening, e.g. ``(64, 64, 3)``.
        DESCR : str
            The file and the datasets read.

    (data, target) : tuple of ndarray
        If ``return_X_y`` is True.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If ``path`` is not a regular file (a FIFO, a device...) or not
        readable HDF5, a key is missing, no unique (X, y) pair can be
        inferred (the message lists the file's datasets), X is not numeric,
        y is not 1-D, X and y differ in length, an object is in other files
        (see ``allow_external``), soft links form a cycle, or
        ``list_classes`` is over 16 MiB or not UTF-8. The message names the
        file.

    See Also
    --------
    iter_h5_batches : Stream the same pair in chunks.

    Examples
    --------
    >>> import os, tempfile
    >>> import h5py, numpy as np
    >>> from sknn.datasets import load_h5
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "toy.h5")
    >>> with h5py.File(path, "w") as f:
    ...     f["train_set_x"] = np.arange(4 * 2 * 3, dtype=np.uint8).reshape(4, 2, 3)
    ...     f["train_set_y"] = np.array([0, 1, 1, 0])
    ...     f["list_classes"] = np.array([b"non-cat", b"cat"])
    >>> bunch = load_h5(path)
    >>> bunch.data.shape, bunch.data.dtype, bunch.feature_shape
    ((4, 6), dtype('uint8'), (2, 3))
    >>> bunch.target_names.tolist()
    ['non-cat', 'cat']
    >>> X, y = load_h5(path, return_X_y=True)
    >>> X.shape, y.shape
    ((4, 6), (4,))
    >>> tmp.cleanup()
    """
    _h5.check_names(x_key, y_key)
    with _h5.open_h5_safely(path) as f:
        x_key, y_key = _h5.resolve_xy_keys(f, path, x_key, y_key, allow_external=allow_external)
        X, y = (_dataset(f, path, key, allow_external) for key in (x_key, y_key))
        # The small, checked class names first: a bad file fails before X is read.
        target_names = (
            None
            if return_X_y
            else _h5.read_class_names(f, path=path, allow_external=allow_external)
        )
        data, target = _h5.flatten(X[()]), y[()]
        if return_X_y:
            return data, target
        descr = (
            f"HDF5 file '{path}': data from '{x_key}' {X.shape} {X.dtype} "
            f"flattened to {data.shape}; target from '{y_key}' {y.shape} {y.dtype}"
        )
        if target_names is not None:
            descr += f"; target_names from '{_h5.CLASS_NAMES_KEY}'"
        return Bunch(
            data=data,
            target=target,
            target_names=target_names,
            feature_shape=X.shape[1:],
            DESCR=descr + ".",
        )


def iter_h5_batches(
    path: "str | os.PathLike[str]",
    batch_size: int,
    *,
    x_key: str | None = None,
    y_key: str | None = None,
    shuffle: bool = False,
    random_state=None,
    allow_external: bool = False,
) -> "Iterator[tuple[np.ndarray, np.ndarray]]":
    """Yield an HDF5 (X, y) pair in chunks of at most ``batch_size`` rows.

    Each chunk is read with its own slice, so memory use is bounded by one
    chunk whatever the file size. One call is one pass.

    Read more in the :ref:`User Guide <large-data>`.

    Parameters
    ----------
    path : str or path-like
        HDF5 file to read.
    batch_size : int
        Maximum number of rows per chunk; the last chunk may be smaller.
    x_key, y_key : str, default=None
        Dataset names, inferred as in :func:`load_h5` when None.
    shuffle : bool, default=False
        If True, yield the contiguous chunks in random order and permute
        the rows within each chunk; rows are never regrouped across chunks.
    random_state : int, RandomState instance or None, default=None
        Controls the shuffling. An int gives the same order on every call;
        pass a RandomState instance to get a new order for each pass.
    allow_external : bool, default=False
        Follow external links and read external storage and virtual datasets,
        as in :func:`load_h5`. Refused by default.

    Returns
    -------
    iterator of (X, y) tuples
        X of shape (n_rows, n_features), flattened as by :func:`load_h5`, and
        y of shape (n_rows,). The file stays open until the generator is
        exhausted or closed.

    Raises
    ------
    FileNotFoundError, ValueError
        As :func:`load_h5`, and for a ``batch_size`` that is not a positive
        integer; raised by the call itself, not at the first iteration.

    See Also
    --------
    load_h5 : Read the whole pair into memory.

    Examples
    --------
    >>> import os, tempfile
    >>> import h5py, numpy as np
    >>> from sknn.datasets import iter_h5_batches
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "toy.h5")
    >>> with h5py.File(path, "w") as f:
    ...     f["X"] = np.arange(20.0).reshape(10, 2)
    ...     f["y"] = np.arange(10) % 2
    >>> [X.shape for X, y in iter_h5_batches(path, batch_size=4)]
    [(4, 2), (4, 2), (2, 2)]

    Out-of-core training, with a new chunk order for each epoch:

    >>> from sklearn.linear_model import SGDClassifier
    >>> clf, rng = SGDClassifier(random_state=0), np.random.RandomState(0)
    >>> for epoch in range(3):
    ...     for X, y in iter_h5_batches(path, 4, shuffle=True, random_state=rng):
    ...         clf = clf.partial_fit(X, y, classes=[0, 1])
    >>> tmp.cleanup()
    """
    # Checked here, not in the generator, so that bad input fails at the call.
    keys = _checked_keys(path, "batch_size", batch_size, x_key, y_key, allow_external)
    rng = check_random_state(random_state)
    return _iter_batches(path, int(batch_size), keys, shuffle, rng, allow_external)


def _checked_keys(path, rows_name, rows, x_key, y_key, allow_external):
    """Check ``rows`` (named ``rows_name``) and resolve the keys, at the call, before
    anything is read."""
    if not isinstance(rows, numbers.Integral) or rows < 1:
        raise ValueError(f"{rows_name} must be a positive integer, got {rows!r} (reading '{path}')")
    _h5.check_names(x_key, y_key)
    with _h5.open_h5_safely(path) as f:
        return _h5.resolve_xy_keys(f, path, x_key, y_key, allow_external=allow_external)


def _iter_batches(path, batch_size, keys, shuffle, rng, allow_external):
    with _h5.open_h5_safely(path) as f:
        X, y = (_dataset(f, path, key, allow_external) for key in keys)
        starts = list(range(0, len(X), batch_size))
        if shuffle:
            rng.shuffle(starts)
        for start in starts:
            X_batch = X[start : start + batch_size]
            y_batch = y[start : start + batch_size]
            if shuffle:
                order = rng.permutation(len(y_batch))
                X_batch, y_batch = X_batch[order], y_batch[order]
            yield _h5.flatten(X_batch), y_batch


def _dataset(f, path, key, allow_external):
    """The dataset ``key`` of the open file, checked again: the file may have changed."""
    dataset = _h5.get_dataset(f, key, path=path, allow_external=allow_external)
    if dataset is None:
        raise ValueError(f"No dataset '{key}' in '{path}' (was the file rewritten?)")
    return dataset


class LazyH5Dataset:
    """A picklable, read-only array-like view of one dataset of an HDF5 file.

    It holds the file's absolute path and the dataset's name, never an open
    file, and opens the file read-only for each ``obj[index]``.

    Read more in the :ref:`User Guide <large-data>`.

    Parameters
    ----------
    path : str or path-like
        HDF5 file; made absolute, so the current directory of the process
        that reads does not matter.
    key : str
        Name of the dataset in the file (paths such as ``"group/X"`` are
        allowed).
    flatten : bool, default=False
        Present an N-D dataset of shape ``(n, d1, d2, ...)`` as 2-D, of shape
        ``(n, d1 * d2 * ...)``, rows flattened as in :func:`load_h5`.
    allow_external : bool, default=False
        Follow external links and read external storage and virtual datasets,
        as in :func:`load_h5`. Refused by default, at construction and on
        every read.

    Attributes
    ----------
    shape : tuple of int
        Shape as presented (after flattening).
    dtype : numpy.dtype
        dtype stored in the file; values are returned unconverted.
    ndim : int
        ``len(shape)``.

    Notes
    -----
    The file must not be rewritten while in use: each read checks its links
    and storage again, not its shape. File errors are ValueErrors naming it,
    as in :func:`load_h5`; a bad index is an IndexError or TypeError.

    Examples
    --------
    >>> import os, pickle, tempfile
    >>> import h5py, numpy as np
    >>> from sknn.datasets import LazyH5Dataset
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "images.h5")
    >>> with h5py.File(path, "w") as f:
    ...     f["X"] = np.arange(5 * 2 * 3).reshape(5, 2, 3)
    >>> X = LazyH5Dataset(path, "X", flatten=True)
    >>> X.shape
    (5, 6)
    >>> pickle.loads(pickle.dumps(X))[3:]
    array([[18, 19, 20, 21, 22, 23],
           [24, 25, 26, 27, 28, 29]])
    >>> tmp.cleanup()
    """

    # The default of objects pickled before the attribute existed.
    allow_external = False

    def __init__(self, path, key, *, flatten=False, allow_external=False):
        if not isinstance(key, str):
            raise TypeError(f"key must be a str, got {key!r}")
        self.path = os.path.abspath(os.fspath(path))
        self.key = key
        self.flatten = bool(flatten)
        self.allow_external = bool(allow_external)
        with _h5.open_h5_safely(self.path) as f:
            dataset = _dataset(f, self.path, key, self.allow_external)
            shape, self.dtype = dataset.shape, dataset.dtype
        if not shape:
            raise ValueError(f"Dataset '{key}' in '{self.path}' is a scalar, not rows")
        self._row_shape = shape[1:]
        self.shape = (shape[0], math.prod(self._row_shape)) if self.flatten else tuple(shape)

    @property
    def ndim(self):
        """Number of dimensions, as ``numpy.ndarray.ndim``."""
        return len(self.shape)

    def __len__(self):
        return self.shape[0]

    def __repr__(self):
        return (
            f"{type(self).__name__}({self.path!r}, {self.key!r}, "
            f"shape={self.shape}, dtype={self.dtype})"
        )

    def __getitem__(self, index):
        index = index if isinstance(index, tuple) else (index,)
        if any(i is None for i in index):
            raise IndexError("LazyH5Dataset does not support np.newaxis in indices")
        if sum(i is Ellipsis for i in index) > 1:
            raise IndexError("an index can only have a single ellipsis ('...')")
        if index and index[0] is Ellipsis:
            # Rows are all selected unless the Ellipsis stands for no axis.
            index = index[1:] if len(index) > self.ndim else (slice(None),) + index
        rows, rest = (index[0], index[1:]) if index else (slice(None), ())
        if isinstance(rows, slice):
            rows.indices(len(self))  # a TypeError for a bad slice, before the file is open
        with _h5.open_h5_safely(self.path) as f:
            dataset = _dataset(f, self.path, self.key, self.allow_external)
            data = _read_rows(dataset, rows, len(self))
        lead = np.ndim(data) - len(self._row_shape)  # the axes that the row index made
        if self.flatten:
            data = data.reshape(*data.shape[:lead], self.shape[1])
        return data[(slice(None),) * lead + rest] if rest else data

    def __dask_tokenize__(self):
        # Deterministic Dask names, and new ones when the file is rewritten.
        stat = os.stat(self.path)
        return (
            type(self).__name__,
            self.path,
            self.key,
            self.flatten,
            self.allow_external,
            stat.st_size,
            stat.st_mtime_ns,
        )


def _read_rows(dataset, rows, n_rows):
    """``dataset[rows]``, reading only the selected rows: h5py reads increasing
    positions only, so other selections read those, then reorder."""
    if isinstance(rows, slice) and (rows.step is None or rows.step > 0):
        return dataset[rows]
    if isinstance(rows, slice):
        positions = np.arange(*rows.indices(n_rows))
    else:
        positions = np.asarray(rows)
        if positions.dtype == bool:
            if positions.shape != (n_rows,):
                raise IndexError(f"boolean index of shape {positions.shape} for {n_rows} rows")
            positions = np.flatnonzero(positions)
        elif positions.dtype.kind not in "iu":
            raise IndexError(f"rows must be selected by integers, slices or booleans, got {rows!r}")
        positions = np.where(positions < 0, positions + n_rows, positions)
        if positions.size and (positions.min() < 0 or positions.max() >= n_rows):
            raise IndexError(f"row index out of range for {n_rows} rows")
    unique, inverse = np.unique(positions, return_inverse=True)
    if unique.size == 0:
        return dataset[0:0]
    return dataset[unique][inverse.reshape(positions.shape)]
