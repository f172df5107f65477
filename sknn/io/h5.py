"""Reading HDF5 files that may be hostile: the helpers sknn's loaders share.

A crafted HDF5 file can make h5py return the bytes of *another* local file
(external storage, virtual datasets, external links), loop on soft links,
or allocate what its header declares; and h5py blocks forever on a FIFO.
These helpers refuse all of that by default and report whatever is wrong
with a file as a ValueError naming it, for :mod:`sknn.datasets`,
:mod:`sknn.distributed` and any other reader of untrusted files:

>>> with open_h5_safely(path) as f:  # doctest: +SKIP
...     X = get_dataset(f, "X", path=path)  # links and storage checked, or None
...     check_size(X, path=path, max_bytes=2**30)
...     data = X[()]

``path`` arguments only name the file in messages.
"""

import math
import os
import stat
from contextlib import contextmanager

import h5py
import numpy as np

# What h5py raises for a malformed file: OSError (not HDF5, truncated,
# unreadable object headers), KeyError and RuntimeError (broken links and
# B-trees), TypeError (datatypes without a NumPy equivalent), UnicodeError
# (names that are not UTF-8). For a caller these are bad input.
BAD_FILE_ERRORS = (OSError, KeyError, RuntimeError, TypeError, UnicodeError)

# HDF5 itself follows at most 16 nested soft links; allowing more would only
# let a file make us walk longer.
MAX_SOFT_LINKS = 16

# Class names are a short list of short strings; anything above this is not
# a list of class names, and is refused before it is read.
MAX_CLASS_NAMES_BYTES = 16 * 2**20
CLASS_NAMES_KEY = "list_classes"

_OPT_IN = "pass allow_external=True only if you trust the file"

_FILE_KINDS = {stat.S_ISDIR: "a directory", stat.S_ISFIFO: "a FIFO (named pipe)"}
_FILE_KINDS.update({stat.S_ISCHR: "a device", stat.S_ISBLK: "a device", stat.S_ISSOCK: "a socket"})


def check_regular_file(path):
    """Return ``os.stat(path)`` (links followed), refusing anything but a regular file.

    Run before h5py sees the path: h5py blocks forever on a FIFO and reads
    devices as files. (A path swapped for a FIFO after this check can still
    block: whoever can do that could as well replace the file.)
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"HDF5 file not found: '{path}'") from None
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _FILE_KINDS.items() if test(info.st_mode)), None)
        raise ValueError(
            f"'{path}' is {kind or 'not a regular file'}, not an HDF5 file; refusing to open it"
        )
    return info


@contextmanager
def bad_file_errors(path):
    """Re-raise :data:`BAD_FILE_ERRORS` of the ``with`` body as ValueError naming the file.

    Keep code that can raise KeyError or TypeError for other reasons out of the body.
    """
    try:
        yield
    except BAD_FILE_ERRORS as exc:
        raise ValueError(f"'{path}' is not a readable HDF5 file: {exc}") from exc


@contextmanager
def open_h5_safely(path):
    """Yield ``path`` opened read-only by h5py, checked by :func:`check_regular_file`.

    h5py's errors, opening or in the ``with`` body, are ValueErrors (:func:`bad_file_errors`).
    """
    check_regular_file(path)
    with bad_file_errors(path), h5py.File(path, "r") as f:
        yield f


def check_names(*names):
    """Raise TypeError for a name that is neither a str nor None.

    Call it before :func:`open_h5_safely`, in whose body a TypeError would read as a bad file.
    """
    for name in names:
        if name is not None and not isinstance(name, str):
            raise TypeError(f"HDF5 object names are str, got {name!r}")


def get_object(group, name, *, path, allow_external=False):
    """The object at ``name`` (relative to ``group``, or absolute), or None if there is none.

    Unlike ``group.get(name)``, each link on the way is looked at first: soft
    links are resolved here (a cycle, or more than :data:`MAX_SOFT_LINKS`,
    is a ValueError, not HDF5's RuntimeError) and external links refused
    unless ``allow_external``.
    """
    obj, where = (group.file, "") if name.startswith("/") else (group, group.name.rstrip("/"))
    # A stack of the names still to look up. A soft link pushes its target's
    # names above a marker that pops once the target is reached: a link met
    # again before its marker pops leads back to itself.
    pending, resolving, n_soft = _components(name)[::-1], set(), 0
    while pending:
        part = pending.pop()
        if isinstance(part, tuple):
            resolving.discard(part)
            continue
        if not isinstance(obj, h5py.Group):
            return None
        link = obj.get(part, getlink=True)
        here = f"{where}/{part}"
        if link is None:
            return None
        if isinstance(link, h5py.SoftLink):
            marker = (obj.file.filename, here)
            if marker in resolving:
                raise ValueError(f"Soft link '{here}' in '{path}' is part of a cycle")
            n_soft += 1
            if n_soft > MAX_SOFT_LINKS:
                raise ValueError(
                    f"More than {MAX_SOFT_LINKS} soft links to follow for '{name}' in '{path}'"
                )
            resolving.add(marker)
            pending.append(marker)
            pending.extend(_components(link.path)[::-1])
            if link.path.startswith("/"):
                obj, where = obj.file, ""
            continue
        if isinstance(link, h5py.ExternalLink):
            if not allow_external:
                raise ValueError(
                    f"Refusing to follow '{here}' in '{path}': it is an external link to "
                    f"'{link.path}' in '{link.filename}'; {_OPT_IN}"
                )
            obj, where = obj[part], "".join(f"/{p}" for p in _components(link.path))
            continue
        obj, where = obj[part], here
    return obj


def _components(name):
    return [part for part in name.split("/") if part not in ("", ".")]


def check_storage(dataset, *, path, allow_external=False):
    """Return ``dataset``, refusing, unless ``allow_external``, external or virtual storage.

    Both are metadata: checking reads nothing from the other files.
    """
    if allow_external:
        return dataset
    if dataset.external:
        files = sorted({entry[0] for entry in dataset.external})
        raise ValueError(
            f"Refusing to read dataset '{dataset.name}' in '{path}': its data is stored "
            f"outside the file, in {files}; {_OPT_IN}"
        )
    if dataset.is_virtual:
        files = sorted({source.file_name for source in dataset.virtual_sources()})
        raise ValueError(
            f"Refusing to read dataset '{dataset.name}' in '{path}': it is a virtual dataset "
            f"mapping data from {files}; {_OPT_IN}"
        )
    return dataset


def get_dataset(group, name, *, path, allow_external=False):
    """:func:`get_object` then :func:`check_storage`; None if not a dataset."""
    obj = get_object(group, name, path=path, allow_external=allow_external)
    if not isinstance(obj, h5py.Dataset):
        return None
    return check_storage(obj, path=path, allow_external=allow_external)


def list_datasets(group, *, path, allow_external=False):
    """The members of ``group`` that are datasets (by :func:`get_object`), storage unchecked."""
    members = {
        name: get_object(group, name, path=path, allow_external=allow_external) for name in group
    }
    return {name: obj for name, obj in members.items() if isinstance(obj, h5py.Dataset)}


def declared_nbytes(obj):
    """Bytes that reading a dataset or an attribute's ID (``attrs.get_id(name)``) allocates.

    As declared, read from nothing; a variable-length element counts as one pointer.
    """
    shape = obj.shape
    return 0 if shape is None else math.prod(shape) * obj.dtype.itemsize


def check_size(obj, *, path, max_bytes, name=None):
    """:func:`declared_nbytes` of ``obj``; ValueError if more than ``max_bytes``.

    ``name`` names ``obj`` in the message (``obj.name`` by default: pass it for attributes).
    """
    nbytes = declared_nbytes(obj)
    if nbytes > max_bytes:
        name = obj.name if name is None else name
        raise ValueError(
            f"'{name}' in '{path}' declares {nbytes} bytes (shape {obj.shape}, dtype "
            f"{obj.dtype}), more than the {max_bytes} allowed; refusing to read it"
        )
    return nbytes


def decode_utf8(values, *, path, name):
    """A str, or an array of str, of bytes decoded as UTF-8 whatever the file's label says.

    NumPy's bytes -> str cast is ASCII only, and files label UTF-8 as ASCII
    often enough. str passes; anything else is str()-ed.
    """
    if isinstance(values, (bytes, str)):
        return _decode_one(values, path, name)
    values = np.asarray(values)
    decoded = [_decode_one(value, path, name) for value in values.ravel().tolist()]
    return np.array(decoded, dtype=str).reshape(values.shape)


def _decode_one(value, path, name):
    if not isinstance(value, bytes):
        return str(value)
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"'{name}' in '{path}' holds {value!r}, which is not UTF-8") from exc


def read_strings(dataset, *, path, max_bytes):
    """A dataset of strings (or other scalars) as an array of str, within ``max_bytes``.

    Variable-length strings, whose declared size says nothing of them, are
    read in blocks and counted as they come.
    """
    name = dataset.name
    if dataset.shape is None:
        raise ValueError(f"'{name}' in '{path}' has no dataspace (an empty dataset)")
    check_size(dataset, path=path, max_bytes=max_bytes)
    if not dataset.dtype.hasobject or dataset.ndim == 0:  # one string is at most the file
        return decode_utf8(np.asarray(dataset[()]), path=path, name=name)
    # Bound each block to max_bytes even if every string is as long as the file.
    worst_row = max(os.path.getsize(dataset.file.filename), 1) * math.prod(dataset.shape[1:])
    step, total, blocks = max(1, max_bytes // max(worst_row, 1)), 0, []
    for start in range(0, len(dataset), step):
        block = decode_utf8(dataset[start : start + step], path=path, name=name)
        total += sum(len(value.encode("utf-8")) for value in block.ravel().tolist())
        if total > max_bytes:
            raise ValueError(
                f"'{name}' in '{path}' holds more than {max_bytes} bytes of strings; "
                "refusing to read it"
            )
        blocks.append(block)
    return np.concatenate(blocks) if blocks else np.empty(dataset.shape, dtype=str)


def read_class_names(f, *, path, allow_external=False, max_bytes=MAX_CLASS_NAMES_BYTES):
    """``list_classes`` of ``f`` (by :func:`get_dataset`, :func:`read_strings`), or None."""
    names = get_dataset(f, CLASS_NAMES_KEY, path=path, allow_external=allow_external)
    if names is None:
        return None
    return read_strings(names, path=path, max_bytes=max_bytes)


# --- the (X, y) pair of sknn.datasets.load_h5 --------------------------------


def describe(group, *, path, allow_external=False):
    """The datasets of ``group`` as ``'X' (3, 2) float64, ...``; for messages, so never raises."""
    try:
        datasets = list_datasets(group, path=path, allow_external=allow_external)
    except ValueError:
        return "members " + ", ".join(f"'{name}'" for name in group)
    if not datasets:
        return "no datasets"
    return ", ".join(f"'{name}' {ds.shape} {ds.dtype}" for name, ds in datasets.items())


def resolve_xy_keys(f, path, x_key, y_key, *, allow_external=False):
    """The validated ``(x_key, y_key)`` of ``f``, any None inferred as ``load_h5`` documents.

    Both are looked up by :func:`get_dataset`, so a refused file fails here, before any read.
    """
    found = {}
    for key in (x_key, y_key):
        if key is None:
            continue
        found[key] = get_dataset(f, key, path=path, allow_external=allow_external)
        if found[key] is None:
            held = describe(f, path=path, allow_external=allow_external)
            raise ValueError(f"No dataset '{key}' in '{path}'; it holds {held}")
    if x_key is None or y_key is None:
        datasets = list_datasets(f, path=path, allow_external=allow_external)
        x_key, y_key = _infer_keys(path, datasets, found, x_key, y_key)
    X, y = (get_dataset(f, key, path=path, allow_external=allow_external) for key in (x_key, y_key))
    if X.dtype.kind not in "biuf":
        raise ValueError(f"X dataset '{x_key}' in '{path}' is not numeric (dtype {X.dtype})")
    if X.shape is None or X.ndim < 1:
        raise ValueError(f"X dataset '{x_key}' in '{path}' is a scalar or empty, not rows")
    if y.shape is None or y.ndim != 1:
        raise ValueError(f"y dataset '{y_key}' in '{path}' must be 1-D, got shape {y.shape}")
    if len(X) != len(y):
        raise ValueError(
            f"X ('{x_key}', {len(X)} rows) and y ('{y_key}', {len(y)} rows) "
            f"in '{path}' have different lengths"
        )
    return x_key, y_key


def _infer_keys(path, datasets, given, x_key, y_key):
    """Return the unique candidate pair agreeing with the given key, if any."""
    ndim = {n: -1 if ds.shape is None else ds.ndim for n, ds in datasets.items()}
    course = [
        (f"{prefix}_x", f"{prefix}_y")
        for prefix in ("train_set", "test_set")
        if f"{prefix}_x" in datasets and f"{prefix}_y" in datasets
    ]
    course = [(x, y) for x, y in course if x_key in (None, x) and y_key in (None, y)]
    xs = [x_key] if x_key else [n for n in datasets if ndim[n] >= 2]
    ys = [y_key] if y_key else [n for n in datasets if ndim[n] == 1 and n != CLASS_NAMES_KEY]
    rows = {n: (ds.shape or ())[:1] for n, ds in {**datasets, **given}.items()}
    generic = [(x, y) for x in xs for y in ys if x != y and rows[x] == rows[y]]
    # Course names win so that a file holding both the train and the test
    # set resolves from a single given key.
    pairs = course or generic
    if len(pairs) != 1:
        found = f"ambiguous (X, y) pairs {pairs}" if pairs else "no (X, y) pair"
        held = ", ".join(f"'{n}' {ds.shape} {ds.dtype}" for n, ds in datasets.items())
        raise ValueError(
            f"Cannot infer x_key/y_key in '{path}': {found}. Expected "
            "train_set_x/train_set_y, test_set_x/test_set_y, or exactly one "
            "dataset with ndim >= 2 and one 1-D dataset with the same number "
            f"of rows. The file holds {held or 'no datasets'}; pass x_key and "
            "y_key explicitly."
        )
    return pairs[0]


def flatten(X):
    """``X`` of shape ``(n, d1, d2, ...)`` as ``(n, d1 * d2 * ...)``, C order."""
    # An explicit width (not -1) keeps empty arrays reshapeable.
    return X.reshape(len(X), math.prod(X.shape[1:]))
