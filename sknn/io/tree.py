"""Plain data as HDF5, for :mod:`sknn.io`: one generic mapping, both ways.

A *plain tree*, what an estimator's ``_get_state()`` returns, maps to HDF5
as the user guide's "File format" section says (dicts with str keys; arrays,
lists, numbers, str and None as values), so that :func:`decode` gives back
exactly what :func:`encode` was given.

Between the two sits a :class:`Node` tree: the objects of a file with their
declared dtype and shape, whose values are read only when asked. Reading a
file is :func:`scan` (headers only, each object once, within a byte budget),
checks on the nodes, then :func:`decode`; writing is :func:`encode` (every
check and conversion, before any byte is written), then :func:`write`.
"""

from dataclasses import dataclass, field

import h5py
import numpy as np

from .h5 import check_size, check_storage, declared_nbytes, decode_utf8

KIND = "__kind__"

# A model file's attributes are single numbers and short strings: anything
# bigger is refused before it is read.
MAX_ATTRIBUTE_BYTES = 2**16
# The deepest group of a model file is /optimizer/state/first_moments, the
# biggest /params; a file beyond these is refused before it is walked.
MAX_GROUP_DEPTH = 3
MAX_ENTRIES = 1024

_UNREAD = object()


@dataclass(slots=True, eq=False)
class Node:
    """One group, dataset or attribute: its declared type, and its value once read.

    ``where`` is its path in the file, for messages; ``tag`` its ``__kind__``.
    A group's ``children`` are its attributes and members by name, in file
    order; ``shape`` is None for an empty attribute, whose value is None.
    """

    type: str
    where: str
    tag: str = None
    children: dict = field(default_factory=dict)
    dtype: np.dtype = None
    shape: tuple = None
    value: object = _UNREAD
    source: object = field(default=None, repr=False)

    @property
    def array_shape(self):
        """The shape of the array this dataset decodes to (a Fortran one is stored transposed)."""
        return self.shape[::-1] if self.tag == "fortran" else self.shape

    def read(self):
        """The stored value: ndarray, NumPy scalar, bytes or None (read from the file once)."""
        if self.value is _UNREAD:
            if self.type == "dataset":
                self.value = np.asarray(self.source[()])
            else:
                attrs, name = self.source
                value = attrs[name]
                self.value = None if isinstance(value, h5py.Empty) else value
        return self.value


# ------------------------------------------------------------------ plain -> nodes


def encode(tree, where=""):
    """The node tree of a plain tree, every value converted as the file stores it.

    Raises ValueError for anything the mapping cannot store exactly (a lone
    surrogate, a trailing NUL, an int beyond int64, ...). Keys are not
    checked here: the schema checks every name.

    Examples
    --------
    >>> import numpy as np
    >>> node = encode({"n": 3, "curve": [0.5, 0.25], "w": np.zeros((2, 2))})
    >>> {name: child.type for name, child in node.children.items()}
    {'n': 'attribute', 'curve': 'dataset', 'w': 'dataset'}
    >>> decode(node)["curve"]
    [0.5, 0.25]
    """
    children = {key: _encode_value(value, f"{where}/{key}") for key, value in tree.items()}
    return Node("group", where or "/", children=children)


def _encode_value(value, where):
    if isinstance(value, dict):
        return encode(value, where)
    if isinstance(value, np.ndarray):
        return _encode_array(value, where)
    if isinstance(value, list):
        if value and all(isinstance(item, np.ndarray) for item in value):
            items = {str(i): _encode_array(a, f"{where}/{i}") for i, a in enumerate(value)}
            return Node("group", where, tag="list", children=items)
        return _encode_number_list(value, where)
    return _encode_scalar(value, where)


def _encode_array(array, where, tag=None):
    kind = array.dtype.kind
    if kind == "O":
        if not all(isinstance(item, str) for item in array.flat):
            types = sorted({type(item).__name__ for item in array.flat} - {"str"})
            raise ValueError(
                f"'{where}' has dtype object holding {', '.join(types)}; only numbers and "
                "str can be stored."
            )
        if any(item.endswith("\x00") for item in array.flat):
            raise ValueError(f"'{where}' holds a str ending in NUL, which cannot be stored.")
        return _encode_array(array.astype(str), where, tag="object")
    if kind == "U":
        try:
            data = np.char.encode(array, "utf-8")
        except UnicodeEncodeError as error:
            raise ValueError(f"'{where}' holds a str that is not valid Unicode: {error}") from None
    elif kind in "biuf" and array.dtype.isnative:
        if array.ndim > 1 and array.flags.f_contiguous and not array.flags.c_contiguous:
            data, tag = array.T, "fortran"  # a C-contiguous view: no copy
        else:
            data = np.ascontiguousarray(array)
    else:
        raise ValueError(f"'{where}' has dtype {array.dtype}, which cannot be stored.")
    return Node("dataset", where, tag=tag, dtype=data.dtype, shape=data.shape, value=data)


def _encode_number_list(values, where):
    types = {type(value) for value in values}
    if types <= {float}:
        data = np.array(values, dtype=np.float64)
    elif types <= {int}:
        try:
            data = np.array(values, dtype=np.int64)
        except OverflowError:
            raise ValueError(f"'{where}' holds an int beyond int64.") from None
    else:
        names = ", ".join(sorted(t.__name__ for t in types))
        raise ValueError(
            f"'{where}' is a list of {names}; only lists of arrays, of floats or of ints "
            "can be stored."
        )
    return Node("dataset", where, tag="list", dtype=data.dtype, shape=data.shape, value=data)


def _encode_scalar(value, where):
    if value is None:
        return Node("attribute", where, dtype=np.dtype(np.float32), shape=None, value=None)
    if isinstance(value, str):
        try:
            data = value.encode("utf-8")
        except UnicodeEncodeError as error:
            raise ValueError(f"'{where}' is a str that is not valid Unicode: {error}") from None
        if value.endswith("\x00"):
            raise ValueError(f"'{where}' is a str ending in NUL, which cannot be stored.")
        scalar = np.bytes_(data)
        return Node(
            "attribute", where, dtype=np.dtype(f"S{max(len(data), 1)}"), shape=(), value=scalar
        )
    # bool before int: bool is an int, and np.bool_ is neither.
    if isinstance(value, (bool, np.bool_)):
        scalar = np.bool_(value)
    elif isinstance(value, (int, np.integer)):
        if not -(2**63) <= value < 2**63:
            raise ValueError(f"'{where}' is an int beyond int64: {value}.")
        scalar = np.int64(value)
    elif isinstance(value, (float, np.floating)):
        scalar = np.float64(value)
    else:
        raise ValueError(
            f"'{where}' is a {type(value).__name__}; only numbers, str, None, arrays, "
            "lists and dicts can be stored."
        )
    return Node("attribute", where, dtype=scalar.dtype, shape=(), value=scalar)


# ------------------------------------------------------------------ nodes -> plain


def decode(node, path="the file"):
    """The plain tree of a node tree whose values are read (the inverse of :func:`encode`).

    Call it only on a tree whose layout is checked: the names of a list's
    items are assumed to be ``0``, ``1``, .... ``path`` names the file in
    messages (bytes that are not UTF-8 raise ValueError).
    """
    if node.type == "group":
        if node.tag == "list":
            return [decode(node.children[str(i)], path) for i in range(len(node.children))]
        return {name: decode(child, path) for name, child in node.children.items()}
    value = node.read()
    if node.type == "dataset":
        if value.dtype.kind == "S":
            value = decode_utf8(value, path=path, name=node.where)
        if node.tag == "object":
            return value.astype(object)
        if node.tag == "fortran":
            return value.T
        return value.tolist() if node.tag == "list" else value
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return decode_utf8(value, path=path, name=node.where)
    return value.item()  # bool, int or float


# ------------------------------------------------------------------ HDF5 -> nodes


def scan(group, *, path, max_bytes):
    """The node tree of an open HDF5 group, from its objects' headers alone (and tags).

    Each object is visited once. ValueError for what a model file never holds
    (shared, soft or external links, outside or compressed storage, other
    dtypes, deep or wide groups, big attributes: a hostile file's ways to loop,
    to read other files or to declare what it does not store), or for more
    than ``max_bytes`` declared in all (the file's size, so reading costs at
    most that). h5py's errors pass through.
    """
    return _scan_group(_Walk(path, max_bytes), group, "", 0)


class _Walk:
    """One scan: the file (for messages), the bytes left to declare, the objects seen."""

    def __init__(self, path, max_bytes):
        self.path, self.budget, self.seen = path, max_bytes, set()

    def spend(self, nbytes):
        self.budget -= nbytes
        if self.budget < 0:
            raise ValueError(
                "its arrays and attributes declare more bytes than the file holds; refusing "
                "to read them."
            )


def _scan_group(walk, group, where, depth):
    if len(group) + len(group.attrs) > MAX_ENTRIES:
        raise ValueError(f"'{where or '/'}' has more than {MAX_ENTRIES} members and attributes.")
    children, tag = {}, None
    for name, node in _scan_attributes(walk, group, where):
        if name == KIND:
            tag = _read_tag(node, ("list",))
        else:
            children[name] = node
    for name in group:
        path = _name(where, name)
        if name in children:
            raise ValueError(f"'{path}' is both an attribute and a member.")
        if not isinstance(group.get(name, getlink=True), h5py.HardLink):
            raise ValueError(f"'{path}' is a soft or external link; sknn model files have none.")
        member = group[name]
        info = h5py.h5o.get_info(member.id)
        if info.rc != 1 or info.addr in walk.seen:
            raise ValueError(
                f"'{path}' is an object with several links; sknn model files have none."
            )
        walk.seen.add(info.addr)
        if isinstance(member, h5py.Dataset):
            children[name] = _scan_dataset(walk, member, path)
        elif not isinstance(member, h5py.Group):
            raise ValueError(f"'{path}' is neither a dataset nor a group.")
        elif depth == MAX_GROUP_DEPTH:
            raise ValueError(f"'{path}' is a group nested deeper than the format allows.")
        else:
            children[name] = _scan_group(walk, member, path, depth + 1)
    return Node("group", where or "/", tag=tag, children=children)


def _scan_attributes(walk, obj, where):
    for name in obj.attrs:
        path = _name(where, name)
        attr = obj.attrs.get_id(name)
        if attr.shape not in (None, ()):
            raise ValueError(f"'{path}' is an attribute of shape {attr.shape}, not a single value.")
        _check_dtype(attr.dtype, path)
        walk.spend(check_size(attr, path=walk.path, max_bytes=MAX_ATTRIBUTE_BYTES, name=path))
        yield (
            name,
            Node("attribute", path, dtype=attr.dtype, shape=attr.shape, source=(obj.attrs, name)),
        )


def _name(where, name):
    """The path of a member or attribute; h5py gives names that are not UTF-8 as bytes."""
    if not isinstance(name, str):
        raise ValueError(f"'{where or '/'}' has a member or attribute named {name!r}, not UTF-8.")
    return f"{where}/{name}"


def _scan_dataset(walk, dataset, where):
    check_storage(dataset, path=walk.path)
    tag = None
    for name, node in _scan_attributes(walk, dataset, where):
        if name != KIND:
            raise ValueError(f"'{where}' has attribute {name!r}; datasets have only {KIND}.")
        tag = _read_tag(node, ("list", "object", "fortran"))
    if dataset.shape is None:
        raise ValueError(f"'{where}' is an empty dataset (no dataspace).")
    _check_dtype(dataset.dtype, where)
    nbytes, stored = declared_nbytes(dataset), dataset.id.get_storage_size()
    if stored < nbytes:
        raise ValueError(
            f"'{where}' declares {nbytes} bytes but stores {stored}: it is compressed or "
            "was never written, and sknn model files store their arrays uncompressed."
        )
    walk.spend(nbytes)
    return Node("dataset", where, tag=tag, dtype=dataset.dtype, shape=dataset.shape, source=dataset)


def _check_dtype(dtype, where):
    # Variable-length strings and references are dtype object: never read.
    if dtype.kind not in "biufS" or not dtype.isnative:
        raise ValueError(
            f"'{where}' has dtype {dtype}; sknn model files hold only numbers in native byte "
            "order and fixed-length strings."
        )


def _read_tag(node, allowed):
    value = node.read()
    tag = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    if node.dtype.kind != "S" or tag not in allowed:
        raise ValueError(f"'{node.where}' must be one of {list(allowed)}, got {value!r}.")
    return tag


# ------------------------------------------------------------------ nodes -> HDF5


def write(group, node):
    """Write an encoded node tree into an open, writable HDF5 group."""
    if node.tag is not None:
        _write_attribute(group, KIND, np.bytes_(node.tag), np.dtype(f"S{len(node.tag)}"))
    for name, child in node.children.items():
        if child.type == "group":
            write(group.create_group(name, track_order=True), child)
        elif child.type == "dataset":
            _write_dataset(group, name, child)
        else:
            _write_attribute(group, name, child.value, child.dtype)


def _write_dataset(group, name, node):
    data = node.value
    dtype = _h5_dtype(data.dtype)
    # Not timestamped, so that one model always gives the same bytes.
    dataset = group.create_dataset(name, shape=data.shape, dtype=dtype, track_times=False)
    if data.size:
        dataset[...] = data.astype(dtype)  # a view would keep the ASCII label
    if node.tag is not None:
        _write_attribute(dataset, KIND, np.bytes_(node.tag), np.dtype(f"S{len(node.tag)}"))


def _write_attribute(obj, name, value, dtype):
    if value is None:
        obj.attrs.create(name, h5py.Empty("f"))
    else:
        obj.attrs.create(name, np.asarray(value, dtype=dtype), dtype=_h5_dtype(dtype))


def _h5_dtype(dtype):
    """Fixed-length strings labelled UTF-8 (h5py would label NumPy's S dtype ASCII)."""
    return h5py.string_dtype("utf-8", dtype.itemsize) if dtype.kind == "S" else dtype
