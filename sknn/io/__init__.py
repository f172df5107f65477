"""Save fitted sknn estimators to HDF5 files and load them back, safely.

:func:`save` writes a fitted estimator and its training state to one HDF5
file of arrays and plain values; :func:`load` checks a file before, while and
after reading it, and refuses anything but a valid sknn model file with a
ValueError.

Read more in the :ref:`User Guide <persistence>`, whose "File format" section
describes the layout a file holds.
"""

import contextlib
import hashlib
import os
import secrets
import stat
from typing import TYPE_CHECKING

import h5py
import numpy as np

import sknn

from .._core.array_ops import array_ops, map_arrays
from . import schema, tree
from .h5 import check_size, open_h5_safely
from .v1 import from_version_1

if TYPE_CHECKING:
    from .._estimator.base import BaseGDClassifier

__all__ = ["load", "save"]

_MAX_HEADER_BYTES = 256


def save(estimator: "BaseGDClassifier", path: "str | os.PathLike[str]") -> None:
    """Save a fitted sknn estimator to one HDF5 file, without pickle, atomically.

    Before a byte is written, the estimator's state is checked as :func:`load`
    checks a file, so a file that ``save`` writes always loads.

    Read more in the :ref:`User Guide <persistence>`.

    Parameters
    ----------
    estimator : LogisticRegressionGD, SoftmaxGD or ShallowNNClassifier
        A fitted estimator. ``random_state`` must be an int or None.
    path : str or path-like
        Where to write; an existing file is replaced (if ``path`` is a
        symbolic link, the file it points to).

    Raises
    ------
    TypeError
        If ``estimator`` is not one of the sknn estimators (subclasses
        included: :func:`load` could not rebuild them).
    sklearn.exceptions.NotFittedError
        If it is not fitted.
    ValueError
        If it holds something the format cannot store: a RandomState
        ``random_state``, labels that are neither numbers nor valid str, or
        a state that is not a valid model (non-finite weights, say).
    OSError
        If writing fails. In every case an existing file at ``path`` is
        unchanged and no temporary file is left behind.

    See Also
    --------
    load : Read the estimator back.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.datasets import load_iris
    >>> from sknn import SoftmaxGD
    >>> from sknn.io import load, save
    >>> X, y = load_iris(return_X_y=True)
    >>> model = SoftmaxGD(max_iter=50, tol=None).fit(X, y)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "model.h5")
    ...     save(model, path)
    ...     restored = load(path)
    >>> type(restored).__name__
    'SoftmaxGD'
    >>> bool((restored.predict_proba(X) == model.predict_proba(X)).all())
    True
    """
    name = type(estimator).__name__
    if schema.ESTIMATORS.get(name) is not type(estimator):
        raise TypeError(
            f"sknn.io.save saves {', '.join(schema.ESTIMATORS)} estimators, not "
            f"{type(estimator).__module__}.{type(estimator).__qualname__}."
        )
    path = os.fspath(path)
    state = estimator._get_state()  # NotFittedError if not fitted
    # A model fitted on arrays of another namespace (PyTorch, CuPy, ...) is
    # stored as NumPy arrays, and loads as a NumPy model.
    state = map_arrays(state, lambda array: array_ops(array).to_numpy(array))
    try:
        root = _encode(estimator, state, path)
    except ValueError as error:
        raise ValueError(f"Cannot save this {name}: {error}") from error
    _write_atomically(path, root)


def load(path: "str | os.PathLike[str]") -> "BaseGDClassifier":
    """Load an estimator saved by :func:`save`.

    Loading cannot run code: nothing named in the file is imported or
    evaluated, and the file is checked before the estimator gets its state.

    Read more in the :ref:`User Guide <persistence>`.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save` (any version of the format up to
        this sknn's).

    Returns
    -------
    LogisticRegressionGD, SoftmaxGD or ShallowNNClassifier
        The fitted estimator: same parameters, same predictions, and
        ``warm_start`` / ``partial_fit`` continue as they would have from the
        saved one.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a readable HDF5 file, was written by a newer sknn
        version or file format, is damaged, or does not hold a valid sknn
        model; the message names the file and says what is wrong.

    See Also
    --------
    save : Write a fitted estimator.

    Examples
    --------
    Training continues after loading as it would have without saving:

    >>> import pathlib, tempfile
    >>> from sklearn.datasets import load_iris
    >>> from sknn import ShallowNNClassifier
    >>> import sknn.io
    >>> X, y = load_iris(return_X_y=True)
    >>> net = ShallowNNClassifier(hidden_layer_size=4, max_iter=20, tol=None, random_state=0)
    >>> net = net.fit(X, y)
    >>> directory = tempfile.TemporaryDirectory()
    >>> sknn.io.save(net, pathlib.Path(directory.name) / "net.h5")
    >>> copy = sknn.io.load(pathlib.Path(directory.name) / "net.h5")
    >>> directory.cleanup()
    >>> _ = net.partial_fit(X, y), copy.partial_fit(X, y)
    >>> bool((copy.coefs_[0] == net.coefs_[0]).all())
    True
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such sknn model file: '{path}'")
    try:
        estimator, state = _read(path)
    except ValueError as error:
        raise ValueError(f"Cannot load '{path}': {error}") from error
    estimator._set_state(state)
    return estimator


# ------------------------------------------------------------------ saving


def _encode(estimator, state, path):
    """The node tree to write, checked as :func:`load` checks a file."""
    known = set(state["attributes"])
    left_out = [n for n in vars(estimator) if n.endswith("_") and not n.startswith("_")]
    left_out = sorted(set(left_out) - known)
    if left_out:
        raise ValueError(
            f"sknn.io does not know how to store the fitted attributes {left_out}: they are "
            "not part of the estimator's state."
        )
    header = {
        "format": schema.FORMAT,
        "format_version": schema.FORMAT_VERSION,
        "sknn_version": sknn.__version__,
        "estimator": type(estimator).__name__,
    }
    params = _params_tree(estimator.get_params(deep=False))
    root = tree.encode({**header, "params": params, **state})
    checksum = tree.encode({schema.CHECKSUM: f"sha256:{_digest(root)}"})
    root.children.update(checksum.children)
    # What load checks, on the tree about to be written: a file save writes always loads.
    schema.read_params(root, type(estimator), path)
    layout = schema.check_layout(root, estimator, schema.FORMAT_VERSION, path)
    schema.check_state(schema.read_state(root, path), layout)
    return root


def _params_tree(params):
    """``get_params()`` as a plain tree; a class_weight dict as arrays of keys and values."""
    tree = {}
    for name, value in params.items():
        if isinstance(value, np.random.RandomState):
            raise ValueError(
                f"{name} is a RandomState instance, which cannot be stored as a "
                f"parameter. Set it to an int or None first, e.g. "
                f"set_params({name}=0): the random state that training continues "
                "from is saved either way."
            )
        if isinstance(value, dict):
            keys = list(value)
            # np.asarray would silently turn mixed keys such as [0, "a"] into str.
            if len({isinstance(key, str) for key in keys}) > 1:
                raise ValueError(
                    f"class_weight keys must be all strings or all numbers, got {keys!r}."
                )
            value = {"keys": np.asarray(keys), "values": np.asarray(list(value.values()))}
        tree[name] = value
    return tree


def _write_atomically(path, root):
    target = os.path.realpath(path)
    directory, base = os.path.split(target)
    # Next to the target (the same file system: the rename is atomic), created
    # exclusively (never an existing file or link) with the umask applied.
    while True:
        temporary = os.path.join(directory, f".{base}.{secrets.token_hex(6)}.tmp")
        with contextlib.suppress(FileExistsError):
            fd = os.open(temporary, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
            break
    try:
        with os.fdopen(fd, "w+b") as handle:
            # HDF5 1.8's file format checksums its metadata (superblock and
            # object headers v2): a flipped metadata bit is an HDF5 error, not
            # a silently different file. Readable by any HDF5 since 1.8.
            with h5py.File(handle, "w", libver=("v108", "v108"), track_order=True) as f:
                tree.write(f, root)
            handle.flush()
            os.fsync(handle.fileno())
        if os.path.exists(target):
            os.chmod(temporary, stat.S_IMODE(os.stat(target).st_mode))
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    # Make the rename durable; best effort (some platforms cannot open a directory).
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# ------------------------------------------------------------------ loading


def _read(path):
    """The estimator built from the file's parameters, and its checked state."""
    with open_h5_safely(path) as f:
        version, estimator_class = schema.check_header(_read_header(f, path))
        # Every object once, headers only: nothing large is read before the
        # layout is checked, and never more than the file's size.
        root = tree.scan(f, path=path, max_bytes=f.id.get_filesize())
        if version == 1:
            from_version_1(root)
        estimator = estimator_class(**schema.read_params(root, estimator_class, path))
        layout = schema.check_layout(root, estimator, version, path)
        if version >= 2 and tree.decode(root.children[schema.CHECKSUM], path) != (
            f"sha256:{_digest(root)}"
        ):
            raise ValueError(
                "its checksum does not match its contents: the file is damaged, or was "
                "changed after it was saved."
            )
        state = schema.read_state(root, path)
    schema.check_state(state, layout)
    return estimator, state


def _read_header(f, path):
    """The root attributes that say what the file is, each size-checked before it is read."""
    header = {}
    for name in schema.HEADER:
        if name not in f.attrs:
            continue
        attr = f.attrs.get_id(name)
        check_size(attr, path=path, max_bytes=_MAX_HEADER_BYTES, name=f"/{name}")
        # Variable-length strings too: a newer format may write them, and must
        # still get its "upgrade sknn" message.
        if attr.shape == () and (attr.dtype.kind == "i" or h5py.check_string_dtype(attr.dtype)):
            node = tree.Node(
                "attribute", f"/{name}", dtype=attr.dtype, shape=(), source=(f.attrs, name)
            )
            header[name] = tree.decode(node, path)
        else:  # reported as what it is, and equal to nothing the header may hold
            header[name] = _Shown(f"<an attribute of dtype {attr.dtype} and shape {attr.shape}>")
    return header


class _Shown(str):
    __repr__ = str.__str__


# ------------------------------------------------------------------ integrity


def _digest(root):
    """SHA-256 (hex) of a node tree, read or encoded, but its checksum.

    Names, tags, dtypes, shapes and bytes; children in name order, so that
    the order a file lists them in does not matter.
    """
    hasher = hashlib.sha256()

    def update(data):
        hasher.update(len(data).to_bytes(8, "little"))  # so that no two streams hash alike
        hasher.update(data)

    def add(node, exclude=()):
        header = (node.type, node.where, node.tag, node.dtype and node.dtype.str, node.shape)
        update(repr(header).encode("utf-8", "surrogateescape"))
        if node.type == "group":
            for name in sorted(set(node.children) - set(exclude)):
                add(node.children[name])
        elif node.read() is None:
            update(b"")
        else:
            # A flat uint8 view: no copy of the (C-contiguous) arrays read from a file.
            data = np.ascontiguousarray(np.asarray(node.read(), dtype=node.dtype))
            update(data.reshape(-1).view(np.uint8))

    add(root, exclude=(schema.CHECKSUM,))
    return hasher.hexdigest()
