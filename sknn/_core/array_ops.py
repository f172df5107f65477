"""The array operations sknn's model math is written with: NumPy, or any Array API namespace.

Objectives, optimizers and the training loop are written once, against the
operations of an :class:`ArrayOps` object, which :func:`array_ops` picks from
the arrays at hand:

- NumPy arrays (and SciPy sparse matrices, which only NumPy takes) get
  ``NUMPY_OPS``, whose elementwise operations write in place (``out=``), as
  the hot loop's steps on arrays it has just made do;
- arrays of another namespace (PyTorch, CuPy, array-api-strict, ...) get the
  operations of the Array API standard, which has no ``out=``: they return a
  new array and ignore ``out``.

So code always uses what an operation returns (``Z = ops.exp(Z, out=Z)``),
and writes into a buffer only through ``out``. In-place arithmetic
(``a += b``, ``a *= 0.5``) is part of the standard and is used directly.
The namespace of an array is found by scikit-learn's
:func:`~sklearn.utils._array_api.get_namespace`; arrays move between
namespaces and devices with its ``move_to``.
"""

import math

import numpy as np
from scipy.special import expit, log_expit
from sklearn import config_context

from .._compat import _matching_numpy_dtype, get_namespace, move_to


class ArrayOps:
    """The operations, for one Array API namespace ``xp`` (new arrays, ``out`` ignored)."""

    is_numpy = False

    def __init__(self, xp):
        self.xp = xp

    # --------------------------------------------------- creation, moving
    def asarray(self, array, like):
        """``array`` (any namespace, or a NumPy array) in the namespace and device of ``like``."""
        return move_to(array, xp=self.xp, device=like.device)

    def to_numpy(self, array):
        """A NumPy array on the CPU with the values of ``array``."""
        return move_to(array, xp=np, device="cpu")

    def numpy_dtype(self, dtype):
        """The NumPy dtype of this namespace's ``dtype`` (float32 stays float32)."""
        return _matching_numpy_dtype(self.xp.empty(0, dtype=dtype), xp=self.xp)

    def zeros_like(self, array):
        return self.xp.zeros_like(array)

    def zeros(self, shape, like):
        """Zeros of ``like``'s dtype, on its device."""
        return self.xp.zeros(shape, dtype=like.dtype, device=like.device)

    def reshape(self, a, shape):
        return self.xp.reshape(a, shape)

    def empty_like(self, array):
        return self.xp.empty_like(array)

    def copy(self, array, dtype=None, order="K"):
        """An independent copy of ``array`` (in ``dtype`` when given), same namespace and device.

        ``order`` ('C', 'F' or 'K': as ``array``) is NumPy's memory layout;
        other namespaces have none to choose.
        """
        return self.xp.asarray(array, dtype=dtype, copy=True)

    def copy_into(self, target, source):
        """``target[...] = source``; returns ``target``."""
        target[...] = source
        return target

    def slice_rows(self, array, rows):
        """``array[rows]`` for a slice ``rows`` (a view where the namespace has views)."""
        return array[rows, ...]

    def take_rows(self, array, rows):
        """``array[rows]`` for a NumPy integer array ``rows``."""
        return self.xp.take(array, self.xp.asarray(rows, device=array.device), axis=0)

    def contiguous(self, array):
        """``array`` in row-major layout, where the namespace has layouts."""
        return array

    # ------------------------------------------------------------- math
    def exp(self, a, out=None):
        return self.xp.exp(a)

    def tanh(self, a, out=None):
        return self.xp.tanh(a)

    def sqrt(self, a, out=None):
        return self.xp.sqrt(a)

    def multiply(self, a, b, out=None):
        return a * b

    def divide(self, a, b, out=None):
        return a / b

    def subtract(self, a, b, out=None):
        return a - b

    def maximum(self, a, b, out=None):
        if isinstance(b, float):  # a Python scalar: the standard's maximum takes arrays
            return self.xp.clip(a, min=b)
        return self.xp.maximum(a, b)

    def positive_mask(self, a, out=None):
        """1 where ``a > 0``, else 0, in ``a``'s dtype."""
        return self.xp.astype(a > 0, a.dtype)

    def sum(self, a, axis=None):
        return self.xp.sum(a, axis=axis)

    def row_dots(self, a, b):
        """``sum(a * b, axis=1)``: each row's inner product."""
        return self.xp.sum(a * b, axis=1)

    def dot(self, a, b):
        """The sum of the elementwise products of two arrays of one shape, as a float."""
        return float(self.xp.sum(a * b))

    def squared_norm(self, a):
        """``sum(a ** 2)`` as a float."""
        return self.dot(a, a)

    def all_finite(self, a):
        return bool(self.xp.all(self.xp.isfinite(a)))

    def itemsize(self, a):
        """The bytes of one element."""
        return self.xp.finfo(a.dtype).bits // 8

    def sigmoid(self, z, out=None):
        """``1 / (1 + exp(-z))`` without overflow: from ``exp(-|z|)``, which is at most 1."""
        xp = self.xp
        e = xp.exp(-xp.abs(z))
        return xp.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))

    def log_sigmoid(self, z, out=None):
        """``log(sigmoid(z)) = -softplus(-z)``, finite for large ``-z``."""
        return -self.softplus(-z)

    def softplus(self, z, out=None):
        """``log(1 + exp(z)) = max(z, 0) + log1p(exp(-|z|))``, without overflow."""
        xp = self.xp
        return xp.clip(z, min=0.0) + xp.log1p(xp.exp(-xp.abs(z)))


class NumPyOps(ArrayOps):
    """NumPy's operations, writing into ``out`` where one is given (and SciPy sparse X)."""

    is_numpy = True

    def __init__(self):
        super().__init__(np)

    def asarray(self, array, like=None):
        return array if isinstance(array, np.ndarray) else move_to(array, xp=np, device="cpu")

    def to_numpy(self, array):
        return self.asarray(array)

    def numpy_dtype(self, dtype):
        return np.dtype(dtype)

    def zeros(self, shape, like):
        return np.zeros(shape, dtype=like.dtype)

    def reshape(self, a, shape):
        return a.reshape(shape)  # the method: np.reshape's Python wrapper costs more

    def copy(self, array, dtype=None, order="K"):
        return np.array(array, dtype=dtype, order=order)

    def copy_into(self, target, source):
        np.copyto(target, source)
        return target

    def slice_rows(self, array, rows):
        return array[rows]  # also for sparse matrices, which take no Ellipsis

    def take_rows(self, array, rows):
        return array[rows]

    def contiguous(self, array):
        return np.ascontiguousarray(array)

    def exp(self, a, out=None):
        return np.exp(a, out=out)

    def tanh(self, a, out=None):
        return np.tanh(a, out=out)

    def sqrt(self, a, out=None):
        return np.sqrt(a, out=out)

    def multiply(self, a, b, out=None):
        return np.multiply(a, b, out=out)

    def divide(self, a, b, out=None):
        return np.divide(a, b, out=out)

    def subtract(self, a, b, out=None):
        return np.subtract(a, b, out=out)

    def maximum(self, a, b, out=None):
        return np.maximum(a, b, out=out)

    def positive_mask(self, a, out=None):
        return np.greater(a, 0, out=out) if out is not None else (a > 0).astype(a.dtype)

    def sum(self, a, axis=None):
        # The ufunc's reduce: np.sum's and the method's Python wrappers cost
        # more than a small sum itself.
        return np.add.reduce(a, axis=axis)

    def row_dots(self, a, b):
        return np.einsum("ij,ij->i", a, b)

    def dot(self, a, b):
        # np.vdot is BLAS's dot on C-ordered arrays and the cheapest call here
        # (the hot loop makes several per step); it would copy Fortran-ordered
        # ones, whose transposes are C-ordered views listing the elements of
        # both in one order.
        if a.flags.c_contiguous and b.flags.c_contiguous:
            return float(np.vdot(a, b))
        if a.flags.f_contiguous and b.flags.f_contiguous:
            return float(np.vdot(a.T, b.T))
        axes = list(range(a.ndim))
        return float(np.einsum(a, axes, b, axes, []))

    def all_finite(self, a):
        return bool(np.isfinite(a).all())

    def sigmoid(self, z, out=None):
        return expit(z, out=out)

    def log_sigmoid(self, z, out=None):
        return log_expit(z, out=out)

    def softplus(self, z, out=None):
        # Several times faster than np.logaddexp(0, z), and within 2.5 ulps of
        # the exact value (np.logaddexp: 1.2 in float32): exp never sees a
        # positive argument, and log1p of a number in [0, 1] loses nothing.
        out = np.abs(z, out=out)
        np.negative(out, out=out)
        np.exp(out, out=out)
        np.log1p(out, out=out)
        # A masked np.add(..., where=z > 0) is several times slower.
        out += np.maximum(z, 0)
        return out


NUMPY_OPS = NumPyOps()

# One ArrayOps per array type: finding a namespace costs microseconds, and
# the hot loop asks for it on every call.
_OPS_BY_TYPE = {}


def array_ops(*arrays):
    """The operations for ``arrays``: NumPy's, unless one of them is of another namespace.

    None, NumPy arrays and scalars, SciPy sparse matrices and anything that
    is no Array API array (lists, say) are NumPy's. The caller has checked
    that the arrays share one namespace (scikit-learn's validation does, for
    the inputs of fit and predict).
    """
    for array in arrays:
        if type(array) is np.ndarray or not _is_foreign_array(array):
            continue
        ops = _OPS_BY_TYPE.get(type(array))
        if ops is None:
            # Inside fit or predict, dispatch is on already; set here so that
            # the namespace is found whatever the caller's configuration.
            with config_context(array_api_dispatch=True):
                xp, _ = get_namespace(array)
            ops = _OPS_BY_TYPE[type(array)] = ArrayOps(xp)
        return ops
    return NUMPY_OPS


def input_ops(X):
    """The operations for the input ``X`` of fit or predict, as scikit-learn's configuration says.

    Under ``array_api_dispatch=True`` X keeps its namespace; otherwise
    scikit-learn's validation turns it into a NumPy array (``np.asarray``),
    so it gets NumPy's operations whatever it is now.
    """
    _, dispatched = get_namespace(X)
    return array_ops(X) if dispatched else NUMPY_OPS


def _is_foreign_array(value):
    """Whether ``value`` is an array of a namespace other than NumPy."""
    return not isinstance(value, (np.ndarray, np.generic)) and (
        hasattr(value, "__array_namespace__") or hasattr(value, "__dlpack__")
    )


def map_arrays(value, function):
    """``value`` with each array in it (in dicts, lists, tuples) replaced by ``function(array)``."""
    if isinstance(value, dict):
        return {key: map_arrays(item, function) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(map_arrays(item, function) for item in value)
    if isinstance(value, np.ndarray) or _is_foreign_array(value):
        return function(value)
    return value


def copy_tree(value):
    """A copy of plain data (dicts, lists, numbers) whose arrays are copied too."""
    return map_arrays(value, lambda array: array_ops(array).copy(array))


# ------------------------------------------------- dicts of named arrays
def inner(a, b):
    """The sum over the arrays of two dicts with the same keys of their elementwise products."""
    return sum(array_ops(array).dot(array, b[name]) for name, array in a.items())


def copy_params(params):
    """Copies of the arrays of a dict, each in its own memory layout."""
    return {name: array_ops(array).copy(array) for name, array in params.items()}


def copy_params_into(target, source):
    """Copy a dict of arrays into ``target``; None allocates it. Returns ``target``."""
    if target is None:
        return copy_params(source)
    for name, array in source.items():
        target[name] = array_ops(array).copy_into(target[name], array)
    return target


def zeros_like(params):
    """Zeros shaped like each array of a dict."""
    return {name: array_ops(array).zeros_like(array) for name, array in params.items()}


def all_finite(array):
    return array_ops(array).all_finite(array)


def total_size(array):
    """The number of elements of an array of any namespace."""
    return math.prod(array.shape)
