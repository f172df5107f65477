"""Load (X, y) pairs stored in HDF5 files.

:func:`load_h5` reads a whole pair into memory as a scikit-learn style
:class:`~sklearn.utils.Bunch`; :func:`iter_h5_batches` streams it chunk by
chunk for out-of-core training with ``partial_fit``.
"""

import math
import numbers
import os
from contextlib import contextmanager

import h5py
import numpy as np
from sklearn.utils import Bunch, check_random_state

__all__ = ["load_h5", "iter_h5_batches"]

_COURSE_PREFIXES = ("train_set", "test_set")
_CLASS_NAMES_KEY = "list_classes"


@contextmanager
def _open_h5(path):
    """Open ``path`` read-only, reporting unreadable files as ValueError."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"HDF5 file not found: '{path}'")
    try:
        with h5py.File(path, "r") as f:
            yield f
    except OSError as exc:
        # h5py raises OSError alike for non-HDF5, truncated and corrupt files;
        # for the caller these are bad input, not a failing disk.
        raise ValueError(f"'{path}' is not a readable HDF5 file: {exc}") from exc


def _describe(datasets):
    if not datasets:
        return "no datasets"
    return ", ".join(f"'{name}' {ds.shape} {ds.dtype}" for name, ds in datasets.items())


def _resolve_keys(f, path, x_key, y_key):
    """Return the validated ``(x_key, y_key)`` of ``f``, inferring any None.

    See the Notes of :func:`load_h5` for the inference rule.
    """
    datasets = {name: obj for name, obj in f.items() if isinstance(obj, h5py.Dataset)}
    for key in (x_key, y_key):
        if key is not None and not isinstance(f.get(key), h5py.Dataset):
            raise ValueError(f"No dataset '{key}' in '{path}'; it holds {_describe(datasets)}")
    if x_key is None or y_key is None:
        x_key, y_key = _infer_keys(f, path, datasets, x_key, y_key)

    X, y = f[x_key], f[y_key]
    if X.dtype.kind not in "biuf":
        raise ValueError(f"X dataset '{x_key}' in '{path}' is not numeric (dtype {X.dtype})")
    if X.ndim < 1:
        raise ValueError(f"X dataset '{x_key}' in '{path}' is a scalar, not one row per sample")
    if y.ndim != 1:
        raise ValueError(f"y dataset '{y_key}' in '{path}' must be 1-D, got shape {y.shape}")
    if len(X) != len(y):
        raise ValueError(
            f"X ('{x_key}', {len(X)} rows) and y ('{y_key}', {len(y)} rows) "
            f"in '{path}' have different lengths"
        )
    return x_key, y_key


def _infer_keys(f, path, datasets, x_key, y_key):
    """Return the unique candidate pair agreeing with the given key, if any."""
    course = [
        (f"{prefix}_x", f"{prefix}_y")
        for prefix in _COURSE_PREFIXES
        if f"{prefix}_x" in datasets and f"{prefix}_y" in datasets
    ]
    course = [(x, y) for x, y in course if x_key in (None, x) and y_key in (None, y)]
    x_candidates = (
        [x_key] if x_key is not None else [name for name, ds in datasets.items() if ds.ndim >= 2]
    )
    y_candidates = (
        [y_key]
        if y_key is not None
        else [name for name, ds in datasets.items() if ds.ndim == 1 and name != _CLASS_NAMES_KEY]
    )
    generic = [
        (x, y)
        for x in x_candidates
        for y in y_candidates
        if x != y and f[x].shape[:1] == f[y].shape[:1]
    ]
    # Course names win so that a file holding both the train and the test
    # set resolves from a single given key.
    pairs = course or generic
    if len(pairs) != 1:
        found = f"ambiguous (X, y) pairs {pairs}" if pairs else "no (X, y) pair"
        raise ValueError(
            f"Cannot infer x_key/y_key in '{path}': {found}. Expected "
            "train_set_x/train_set_y, test_set_x/test_set_y, or exactly one "
            "dataset with ndim >= 2 and one 1-D dataset with the same number "
            f"of rows. The file holds {_describe(datasets)}; pass x_key and "
            "y_key explicitly."
        )
    return pairs[0]


def _flatten(X):
    # An explicit width (not -1) keeps empty arrays reshapeable.
    return X.reshape(len(X), math.prod(X.shape[1:]))


def _class_names(f):
    names = f.get(_CLASS_NAMES_KEY)
    if not isinstance(names, h5py.Dataset):
        return None
    if h5py.check_string_dtype(names.dtype) is not None:
        # asstr decodes as UTF-8; numpy's bytes -> str cast is ASCII only.
        names = names.asstr()
    return np.asarray(names[()], dtype=str)


def load_h5(path, *, x_key=None, y_key=None, return_X_y=False):
    """Load an (X, y) pair from an HDF5 file.

    Parameters
    ----------
    path : str or path-like
        HDF5 file to read.
    x_key, y_key : str, default=None
        Names of the sample and target datasets (paths such as
        ``"group/X"`` are allowed). A key left as None is inferred from the
        file, see Notes.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : Bunch
        Dictionary-like object with attributes:

        data : ndarray of shape (n_samples, n_features)
            Samples flattened to rows, in the dtype stored in the file
            (``uint8`` images stay ``uint8``: scaling is left to the user).
        target : ndarray of shape (n_samples,)
            Targets as stored.
        target_names : ndarray of str or None
            Decoded ``list_classes`` if the file has that dataset, else None
            (names are not invented from the target values).
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
        If the file is not readable HDF5, a key is missing, no unique
        (X, y) pair can be inferred, X is not numeric, y is not 1-D, or
        X and y differ in length. The message names the file.

    See Also
    --------
    iter_h5_batches : Stream the same pair in chunks.

    Notes
    -----
    Keys left as None are inferred from the top-level datasets:

    1. The course layout: ``train_set_x``/``train_set_y`` or
       ``test_set_x``/``test_set_y``.
    2. Otherwise the unique pair of a dataset with ``ndim >= 2`` (X) and a
       1-D dataset other than ``list_classes`` (y) with the same number of
       rows, e.g. ``X``/``y``, ``data``/``target`` or ``features``/``labels``.

    With one key given, the other is inferred among the pairs containing
    it. Zero or several candidate pairs raise a ValueError listing the
    file's datasets.

    Pixel values are usually scaled before training. Doing so inside a
    :class:`~sklearn.pipeline.Pipeline` (second example below) applies the
    same scaling at predict time and within each cross-validation split. A
    lambda is fine interactively; use a module-level function instead if the
    fitted pipeline is to be pickled.

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

    Scaling by 1/255 inside a pipeline:

    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> X, y = load_h5(path, return_X_y=True)
    >>> model = make_pipeline(FunctionTransformer(lambda X: X / 255), LogisticRegression())
    >>> model.fit(X, y).predict(X).shape
    (4,)
    >>> tmp.cleanup()
    """
    with _open_h5(path) as f:
        x_key, y_key = _resolve_keys(f, path, x_key, y_key)
        X, y = f[x_key], f[y_key]
        data, target = _flatten(X[()]), y[()]
        if return_X_y:
            return data, target
        target_names = _class_names(f)
        descr = (
            f"HDF5 file '{path}': data from '{x_key}' {X.shape} {X.dtype} "
            f"flattened to {data.shape}; target from '{y_key}' {y.shape} {y.dtype}"
        )
        if target_names is not None:
            descr += f"; target_names from '{_CLASS_NAMES_KEY}'"
        return Bunch(
            data=data,
            target=target,
            target_names=target_names,
            feature_shape=X.shape[1:],
            DESCR=descr + ".",
        )


def iter_h5_batches(path, batch_size, *, x_key=None, y_key=None, shuffle=False, random_state=None):
    """Yield an HDF5 (X, y) pair in chunks of at most ``batch_size`` rows.

    Each chunk is read with its own slice, so memory use is bounded by
    ``batch_size`` whatever the file size. One call is one pass: every row
    is yielded exactly once.

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
        the rows within each chunk. Rows are never regrouped across chunks,
        see Notes.
    random_state : int, RandomState instance or None, default=None
        Controls the shuffling. An int gives the same order on every call;
        pass a RandomState instance to get a new order for each pass.

    Yields
    ------
    X : ndarray of shape (n_rows, n_features)
        Rows flattened as in :func:`load_h5`, stored dtype kept.
    y : ndarray of shape (n_rows,)

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If ``batch_size`` is not a positive integer, or for any bad file or
        key as in :func:`load_h5`. These are raised by the call itself, not
        at the first iteration.

    See Also
    --------
    load_h5 : Read the whole pair into memory.

    Notes
    -----
    Reading rows at random positions from HDF5 costs one small read per row,
    which is very slow, so shuffling permutes whole contiguous chunks
    instead. Batches therefore hold neighbouring rows: if the file is sorted
    (e.g. by class), shuffle it once on disk or use small batches.

    The file stays open while the generator is alive; exhaust or ``close()``
    it to release the file.

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
    if not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise ValueError(
            f"batch_size must be a positive integer, got {batch_size!r} (reading '{path}')"
        )
    # Resolving here, not in the generator, makes bad input fail at the call.
    with _open_h5(path) as f:
        x_key, y_key = _resolve_keys(f, path, x_key, y_key)
    rng = check_random_state(random_state)
    return _iter_batches(path, int(batch_size), x_key, y_key, shuffle, rng)


def _iter_batches(path, batch_size, x_key, y_key, shuffle, rng):
    with _open_h5(path) as f:
        X, y = f[x_key], f[y_key]
        starts = list(range(0, len(X), batch_size))
        if shuffle:
            rng.shuffle(starts)
        for start in starts:
            X_batch = X[start : start + batch_size]
            y_batch = y[start : start + batch_size]
            if shuffle:
                order = rng.permutation(len(y_batch))
                X_batch, y_batch = X_batch[order], y_batch[order]
            yield _flatten(X_batch), y_batch
