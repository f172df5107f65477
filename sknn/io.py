"""Save fitted sknn estimators to HDF5 files and load them back, safely.

:func:`save` writes a fitted estimator to one HDF5 file that holds only
arrays and plain values: its class name, its parameters, its fitted
attributes, and the private training state (the optimizer's moments and the
random generator) so that ``warm_start`` and ``partial_fit`` after
:func:`load` continue exactly as if the model had never been saved.
:func:`load` reads the file, checks everything in it (a known class, known
parameters of allowed types, array names, shapes and dtypes consistent with
each other, finite weights) and only then builds the estimator; anything else
is refused with a ValueError that says what is wrong.

sknn.io or joblib?
------------------
``joblib.dump`` / ``joblib.load`` is what scikit-learn users do, and it keeps
working for sknn estimators: use it for caches you write and read yourself.
But joblib files are pickles, and loading a pickle can execute arbitrary
code, so only load pickles you trust; they may also fail to load under other
Python, NumPy or scikit-learn versions. An sknn.io file holds no code and
:func:`load` never imports or evaluates anything named in it, so loading a
file from anywhere cannot run anything; and the file is portable across
Python and NumPy versions (any HDF5 tool can read it). Prefer it for models
you publish, share or receive.

File layout (``format_version`` 1)
----------------------------------
::

    /            attrs format="sknn-model", format_version=1, sknn_version,
                 estimator (the class name)
    /params      one attribute per get_params() entry, None as an empty
                 attribute; a class_weight dict as group class_weight with
                 datasets keys and values
    /fitted      attrs n_features_in_, n_iter_, best_loss_, stop_reason_ and
                 classes_kind ('numeric', 'str' or 'object': the array type
                 classes_ comes back as); datasets classes_, loss_curve_ and,
                 when the estimator has them, validation_loss_curve_ and
                 feature_names_in_; datasets coef_ and intercept_ (linear
                 models) or groups coefs_ and intercepts_ with datasets 0 and 1
                 (ShallowNNClassifier)
    /optimizer   attrs name ('gd', 'momentum' or 'adam'), its hyperparameters
                 and Adam's step count t; groups velocities (momentum) or
                 first_moments and second_moments (Adam), one dataset per
                 weight array (W, b or W1, b1, W2, b2), absent before the first
                 step
    /rng         the MT19937 state of the training RandomState: dataset key,
                 attrs pos, has_gauss and cached_gaussian

Strings, in attributes and datasets alike, are fixed-length UTF-8.
"""

import math
import numbers
import os
import re
from typing import NamedTuple

import h5py
import numpy as np
from sklearn.utils.validation import check_is_fitted

import sknn

from ._compat import validate_parameter_constraints
from ._optimizers import Adam, GradientDescent, Momentum
from .linear import LogisticRegressionGD, SoftmaxGD
from .neural import ShallowNNClassifier

__all__ = ["load", "save"]

FORMAT = "sknn-model"
FORMAT_VERSION = 1

# The only classes a file can name, looked up by exact name: nothing a file
# names is ever imported or evaluated.
_ESTIMATORS = {
    "LogisticRegressionGD": LogisticRegressionGD,
    "SoftmaxGD": SoftmaxGD,
    "ShallowNNClassifier": ShallowNNClassifier,
}

_CLASS_KINDS = {"numeric", "str", "object"}
_STOP_REASONS = {"converged", "max_iter", "early_stopping", "diverged"}
_FITTED_SCALARS = ("n_features_in_", "n_iter_", "best_loss_", "stop_reason_")
_OPTIONAL_FITTED = ("feature_names_in_", "validation_loss_curve_")
_WEIGHT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_MT19937_KEY_SIZE = 624

# Groups nest at most as deep as /params/class_weight; the limit also stops a
# file whose hard links make a cycle.
_MAX_GROUP_DEPTH = 2


class _OptimizerSpec(NamedTuple):
    cls: type
    hyperparameters: tuple  # constructor arguments
    counters: tuple  # integer state
    state: tuple  # dicts of arrays keyed like the weights, None before the first step


_OPTIMIZERS = {
    "gd": _OptimizerSpec(GradientDescent, ("learning_rate",), (), ()),
    "momentum": _OptimizerSpec(Momentum, ("learning_rate", "beta_1"), (), ("velocities",)),
    "adam": _OptimizerSpec(
        Adam,
        ("learning_rate", "beta_1", "beta_2", "epsilon"),
        ("t",),
        ("first_moments", "second_moments"),
    ),
}

_POSITIVE = (lambda x: 0 < x < math.inf, "a positive finite number")
_DECAY = (lambda x: 0 <= x < 1, "a number in [0, 1)")
_HYPERPARAMETER_RANGES = {
    "learning_rate": _POSITIVE,
    "beta_1": _DECAY,
    "beta_2": _DECAY,
    "epsilon": _POSITIVE,
}


def save(estimator, path):
    """Save a fitted sknn estimator to one HDF5 file, without pickle.

    The file holds the class name, ``get_params()``, every fitted attribute
    and the training state that ``warm_start`` and ``partial_fit`` continue
    from. It is checked with the same rules as :func:`load` before anything is
    written, so a file that ``save`` writes always loads.

    Parameters
    ----------
    estimator : LogisticRegressionGD, SoftmaxGD or ShallowNNClassifier
        A fitted estimator. ``random_state`` must be an int or None.
    path : str or path-like
        Where to write; an existing file is overwritten.

    Raises
    ------
    TypeError
        If ``estimator`` is not one of the sknn estimators (subclasses
        included: :func:`load` could not rebuild them).
    sklearn.exceptions.NotFittedError
        If it is not fitted.
    ValueError
        If it holds something the format cannot store: a RandomState
        ``random_state``, labels that are neither numbers nor strings, or a
        state that is not a valid model (non-finite weights, say).

    See Also
    --------
    load : read the estimator back.

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
    if _ESTIMATORS.get(name) is not type(estimator):
        raise TypeError(
            f"sknn.io.save saves {', '.join(_ESTIMATORS)} estimators, not "
            f"{type(estimator).__module__}.{type(estimator).__qualname__}."
        )
    check_is_fitted(estimator)
    try:
        tree = _tree_of(estimator)
        _check_tree(tree)
    except ValueError as error:
        raise ValueError(f"Cannot save this {name}: {error}") from error
    with h5py.File(path, "w") as f:
        _write_group(f, tree)


def load(path):
    """Load an estimator saved by :func:`save`.

    The whole file is read as plain data and checked before any estimator is
    built; nothing named in the file is imported or evaluated.

    Parameters
    ----------
    path : str or path-like
        An HDF5 file written by :func:`save`.

    Returns
    -------
    estimator : LogisticRegressionGD, SoftmaxGD or ShallowNNClassifier
        The fitted estimator: same parameters, same predictions, and
        ``warm_start`` / ``partial_fit`` continue as they would have from the
        saved one.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a readable HDF5 file, was written by a newer sknn
        version or file format, or does not hold a valid sknn model; the
        message says what is wrong.

    See Also
    --------
    save : write a fitted estimator.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such sknn model file: '{path}'")
    try:
        tree = _read(path)
        estimator_class, params = _check_tree(tree)
    except ValueError as error:
        raise ValueError(f"Cannot load '{path}': {error}") from error
    return _build(estimator_class, params, tree)


# ---------------------------------------------------------------- estimator -> tree
# A "tree" is the file as plain data: a dict per group, whose entries are its
# attributes (None, bool, int, float or str), its datasets (ndarrays of
# numbers or str) and its subgroups (dicts). save and load check the same tree.


def _tree_of(estimator):
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "sknn_version": sknn.__version__,
        "estimator": type(estimator).__name__,
        "params": _params_tree(estimator.get_params(deep=False)),
        "fitted": _fitted_tree(estimator),
        "optimizer": _optimizer_tree(estimator._optimizer),
        "rng": _rng_tree(estimator._rng),
    }


def _params_tree(params):
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
            tree[name] = _class_weight_tree(value)
        else:
            tree[name] = _plain(value, name)
    return tree


def _plain(value, name):
    """A parameter as a Python scalar, str or None; NumPy scalars are converted."""
    if value is None:
        return None
    if isinstance(value, str):
        return str(value)  # np.str_ included
    # bool before Integral: bool is an int, and np.bool_ is neither.
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    raise ValueError(
        f"parameter {name}={value!r} cannot be stored: only numbers, strings, "
        "None and a class_weight dict can."
    )


def _class_weight_tree(weights):
    keys = list(weights)
    # np.asarray would silently turn mixed keys such as [0, "a"] into strings.
    if len({isinstance(key, str) for key in keys}) > 1:
        raise ValueError(f"class_weight keys must be all strings or all numbers, got {keys!r}.")
    return {"keys": _labels(keys), "values": np.asarray(list(weights.values()))}


def _labels(values):
    """Labels as a numeric or str array; object arrays of str become str arrays."""
    array = np.asarray(values)
    if array.dtype == object and all(isinstance(value, str) for value in array):
        # A str array drops trailing NULs, which would change the label.
        if any(value.endswith("\x00") for value in array):
            raise ValueError("labels ending in a NUL character cannot be stored.")
        return array.astype(str)
    return array


def _fitted_tree(estimator):
    network = isinstance(estimator, ShallowNNClassifier)
    model_names = ("coefs_", "intercepts_") if network else ("coef_", "intercept_")
    _check_nothing_left_behind(estimator, model_names)
    tree = {
        "classes_": _labels(estimator.classes_),
        "classes_kind": _classes_kind(estimator.classes_),
        "loss_curve_": np.asarray(estimator.loss_curve_, dtype=np.float64),
    }
    tree.update({name: getattr(estimator, name) for name in _FITTED_SCALARS})
    if hasattr(estimator, "validation_loss_curve_"):
        tree["validation_loss_curve_"] = np.asarray(
            estimator.validation_loss_curve_, dtype=np.float64
        )
    if hasattr(estimator, "feature_names_in_"):
        tree["feature_names_in_"] = _labels(estimator.feature_names_in_)
    if network:  # the lists [W1, W2] and [b1, b2] as groups with datasets 0 and 1
        tree["coefs_"] = {str(i): array for i, array in enumerate(estimator.coefs_)}
        tree["intercepts_"] = {str(i): array for i, array in enumerate(estimator.intercepts_)}
    else:
        tree["coef_"], tree["intercept_"] = estimator.coef_, estimator.intercept_
    return tree


def _check_nothing_left_behind(estimator, model_names):
    """Refuse an estimator with a fitted attribute this format would silently drop."""
    known = {"classes_", *_FITTED_SCALARS, "loss_curve_", *_OPTIONAL_FITTED, *model_names}
    unknown = [
        name
        for name in vars(estimator)
        if name.endswith("_") and not name.startswith("_") and name not in known
    ]
    if unknown:
        raise ValueError(f"sknn.io does not know how to store the fitted attributes {unknown}.")


def _classes_kind(classes):
    if classes.dtype == object:
        return "object"
    return "str" if classes.dtype.kind == "U" else "numeric"


def _optimizer_tree(optimizer):
    for name, spec in _OPTIMIZERS.items():
        if type(optimizer) is spec.cls:
            break
    else:
        raise ValueError(f"unknown optimizer {type(optimizer).__name__}.")
    scalars = spec.hyperparameters + spec.counters
    # An optimizer that grew new state would otherwise resume without it.
    if set(vars(optimizer)) != set(scalars + spec.state):
        raise ValueError(
            f"sknn.io does not know how to store the state {sorted(vars(optimizer))} "
            f"of {type(optimizer).__name__}."
        )
    tree = {"name": name}
    tree.update({attribute: getattr(optimizer, attribute) for attribute in scalars})
    for attribute in spec.state:
        arrays = getattr(optimizer, attribute)
        if arrays is not None:
            tree[attribute] = dict(arrays)
    return tree


def _rng_tree(rng):
    state = rng.get_state()
    if not isinstance(state, tuple):  # only MT19937 has the legacy tuple state
        raise ValueError(f"the training RandomState uses {state['bit_generator']}, not MT19937.")
    _, key, pos, has_gauss, cached_gaussian = state
    return {"key": key, "pos": pos, "has_gauss": has_gauss, "cached_gaussian": cached_gaussian}


# --------------------------------------------------------------- tree <-> HDF5


def _write_group(group, tree):
    for name, value in tree.items():
        if isinstance(value, dict):
            _write_group(group.create_group(name), value)
        elif isinstance(value, np.ndarray):
            data = _utf8(value) if value.dtype.kind == "U" else value
            group.create_dataset(name, data=data)
        elif value is None:
            group.attrs[name] = h5py.Empty("f")
        elif isinstance(value, str):
            group.attrs.create(name, _utf8(np.asarray(value)))
        else:
            group.attrs[name] = value


def _utf8(strings):
    """A str array as fixed-length UTF-8 bytes (h5py would store str as variable-length objects)."""
    encoded = np.char.encode(strings, "utf-8")
    return encoded.astype(h5py.string_dtype("utf-8", encoded.dtype.itemsize))


def _read(path):
    try:
        with h5py.File(path, "r") as f:
            return _read_group(f, depth=0)
    # h5py raises OSError for non-HDF5, truncated and corrupt files, and
    # TypeError for HDF5 types without a NumPy equivalent: all are bad input.
    except (OSError, TypeError) as error:
        raise ValueError(f"not a readable HDF5 file: {error}") from error


def _read_group(group, depth):
    """The group as a tree; links, external data and non-plain types are refused."""
    tree = {
        name: _attribute_value(value, _path(group, name)) for name, value in group.attrs.items()
    }
    for name in group:
        path = _path(group, name)
        if name in tree:
            raise ValueError(f"'{path}' is both an attribute and a member.")
        if not isinstance(group.get(name, getlink=True), h5py.HardLink):
            raise ValueError(f"'{path}' is a soft or external link; sknn model files have none.")
        member = group[name]
        if isinstance(member, h5py.Dataset):
            tree[name] = _dataset_value(member, path)
        elif not isinstance(member, h5py.Group):
            raise ValueError(f"'{path}' is neither a dataset nor a group.")
        elif depth == _MAX_GROUP_DEPTH:
            raise ValueError(f"'{path}' is a group nested deeper than the format allows.")
        else:
            tree[name] = _read_group(member, depth + 1)
    return tree


def _path(group, name):
    return f"{group.name.rstrip('/')}/{name}"


def _attribute_value(value, path):
    """A single number, string or empty attribute as a Python value.

    Numbers come back as Python scalars, as they were saved: a NumPy float64
    hyperparameter would promote float32 weights to float64 under NumPy 2.
    """
    if isinstance(value, h5py.Empty):
        return None
    if isinstance(value, (str, np.bytes_)):
        return _text(value, path)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    raise ValueError(
        f"'{path}' must be a single number or string or an empty attribute, got {value!r}."
    )


def _text(value, path):
    if isinstance(value, str):
        return value
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"'{path}' is not valid UTF-8: {error}") from error


def _dataset_value(dataset, path):
    if dataset.attrs.keys():
        raise ValueError(f"'{path}' has attributes; datasets of sknn model files have none.")
    if dataset.external or dataset.is_virtual:
        raise ValueError(f"'{path}' keeps its data outside this file.")
    if dataset.shape is None:
        raise ValueError(f"'{path}' is an empty dataset.")
    # Checked before reading: object dtypes (variable-length strings,
    # references) are never read.
    kind = dataset.dtype.kind
    if kind not in "biufS":
        raise ValueError(
            f"'{path}' has dtype {dataset.dtype}; sknn model files hold only numbers "
            "and fixed-length strings."
        )
    data = np.asarray(dataset[()])
    if kind != "S":
        return data
    try:
        return np.char.decode(data, "utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"'{path}' is not valid UTF-8: {error}") from error


# ----------------------------------------------------------------- checking a tree


def _check_tree(tree):
    """Check a whole tree; return the estimator class and its parameters."""
    estimator_class = _check_header(tree)
    header = ("format", "format_version", "sknn_version", "estimator")
    _expect_names(tree, "", (*header, "params", "fitted", "optimizer", "rng"))
    params = _check_params(estimator_class, _group(tree, "", "params"))
    weight_shapes = _check_fitted(estimator_class, params, _group(tree, "", "fitted"))
    _check_optimizer(_group(tree, "", "optimizer"), weight_shapes)
    _check_rng(_group(tree, "", "rng"))
    return estimator_class, params


def _check_header(tree):
    """Check the format and versions first: a newer file may differ in anything else."""
    file_format = tree.get("format")
    if not isinstance(file_format, str) or file_format != FORMAT:
        raise ValueError(
            f"not an sknn model file: its 'format' attribute is {file_format!r}, not {FORMAT!r}."
        )
    version = tree.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"'format_version' must be a positive integer, got {version!r}.")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"written in file format version {version}, newer than the version "
            f"{FORMAT_VERSION} this sknn reads; upgrade sknn to load it."
        )
    written_by = tree.get("sknn_version")
    if _major_minor(written_by) > _major_minor(sknn.__version__):
        raise ValueError(
            f"written by sknn {written_by}, newer than this sknn {sknn.__version__}; "
            "upgrade sknn to load it."
        )
    name = tree.get("estimator")
    if not isinstance(name, str) or name not in _ESTIMATORS:
        raise ValueError(
            f"unknown estimator {name!r}; sknn model files hold one of {', '.join(_ESTIMATORS)}."
        )
    return _ESTIMATORS[name]


def _major_minor(version):
    match = re.match(r"(\d+)\.(\d+)", version) if isinstance(version, str) else None
    if match is None:
        raise ValueError(f"'sknn_version' must be a version such as '1.2.0', got {version!r}.")
    return int(match[1]), int(match[2])


def _check_params(estimator_class, tree):
    """The parameters, of the names and types the estimator's constraints allow."""
    _expect_names(tree, "/params", estimator_class._parameter_constraints)
    params = dict(tree)
    if isinstance(params["class_weight"], dict):
        params["class_weight"] = _class_weight(params["class_weight"], "/params/class_weight")
    # Raises InvalidParameterError, a ValueError naming the parameter.
    validate_parameter_constraints(
        estimator_class._parameter_constraints, params, caller_name=estimator_class.__name__
    )
    return params


def _class_weight(tree, where):
    _expect_names(tree, where, ("keys", "values"))
    keys = _label_array(tree, where, "keys")
    values = _array(tree, where, "values", kinds="iuf", ndim=1, what="numbers")
    if keys.shape != values.shape:
        raise ValueError(f"'{where}' has {len(keys)} keys but {len(values)} values.")
    if len(np.unique(keys)) != len(keys):
        raise ValueError(f"'{where}/keys' repeats a key.")
    if not np.isfinite(values).all():
        raise ValueError(f"'{where}/values' holds NaN or infinite values.")
    return dict(zip(keys.tolist(), values.tolist()))


def _check_fitted(estimator_class, params, tree):
    """Check the fitted attributes; return the weight shapes by training name (W, b, ...)."""
    where = "/fitted"
    network = estimator_class is ShallowNNClassifier
    model_names = ("coefs_", "intercepts_") if network else ("coef_", "intercept_")
    _expect_names(
        tree,
        where,
        ("classes_", "classes_kind", "loss_curve_", *_FITTED_SCALARS, *model_names),
        _OPTIONAL_FITTED,
    )
    n_classes = _check_classes(tree, where)
    n_features = _integer(tree, where, "n_features_in_", low=1)
    if "feature_names_in_" in tree:
        names = _label_array(tree, where, "feature_names_in_")
        if names.dtype.kind != "U" or names.shape != (n_features,):
            raise ValueError(
                f"'{where}/feature_names_in_' must be {n_features} strings, got {names!r}."
            )
    n_iter = _integer(tree, where, "n_iter_", low=1)
    loss_curve = _array(tree, where, "loss_curve_", kinds="f", ndim=1, what="floats")
    if len(loss_curve) != n_iter:
        raise ValueError(
            f"'{where}/loss_curve_' has {len(loss_curve)} epochs but n_iter_ is {n_iter}."
        )
    if "validation_loss_curve_" in tree:
        curve = _array(tree, where, "validation_loss_curve_", kinds="f", ndim=1, what="floats")
        if len(curve) > n_iter:
            raise ValueError(
                f"'{where}/validation_loss_curve_' has more than n_iter_={n_iter} epochs."
            )
    _real(tree, where, "best_loss_", lambda x: not math.isnan(x), "a number other than NaN")
    _string(tree, where, "stop_reason_", _STOP_REASONS)

    n_outputs = _n_outputs(estimator_class, n_classes)
    if network:
        n_hidden = params["hidden_layer_size"]
        coefs = _group(tree, where, "coefs_", names=("0", "1"))
        intercepts = _group(tree, where, "intercepts_", names=("0", "1"))
        weights = {
            "W1": _weights(coefs, f"{where}/coefs_", "0", (n_features, n_hidden)),
            "b1": _weights(intercepts, f"{where}/intercepts_", "0", (n_hidden,)),
            "W2": _weights(coefs, f"{where}/coefs_", "1", (n_hidden, n_outputs)),
            "b2": _weights(intercepts, f"{where}/intercepts_", "1", (n_outputs,)),
        }
    else:
        coef = _weights(tree, where, "coef_", (n_outputs, n_features))
        weights = {"W": coef.T, "b": _weights(tree, where, "intercept_", (n_outputs,))}
    _same_dtype(weights.values(), f"the arrays of '{where}'")
    return {name: array.shape for name, array in weights.items()}


def _n_outputs(estimator_class, n_classes):
    """Output units for ``n_classes``, as the estimator's ``_output_layer`` makes them."""
    if estimator_class is SoftmaxGD or n_classes > 2:
        return n_classes
    return 1  # one sigmoid unit for two classes


def _check_classes(tree, where):
    classes = _label_array(tree, where, "classes_")
    kind = _string(tree, where, "classes_kind", _CLASS_KINDS)
    if (kind == "numeric") == (classes.dtype.kind == "U"):
        raise ValueError(
            f"'{where}/classes_' of dtype {classes.dtype} cannot have classes_kind {kind!r}."
        )
    if len(classes) < 2 or not np.all(classes[1:] > classes[:-1]):
        raise ValueError(
            f"'{where}/classes_' must be at least 2 sorted, unique labels, got {classes!r}."
        )
    return len(classes)


def _check_optimizer(tree, weight_shapes):
    where = "/optimizer"
    if "name" not in tree:
        raise ValueError(f"'{where}' is missing name.")
    spec = _OPTIMIZERS[_string(tree, where, "name", _OPTIMIZERS)]
    _expect_names(tree, where, ("name", *spec.hyperparameters, *spec.counters), spec.state)
    for name in spec.hyperparameters:
        _real(tree, where, name, *_HYPERPARAMETER_RANGES[name])
    counters = {name: _integer(tree, where, name) for name in spec.counters}
    present = [name for name in spec.state if name in tree]
    # Adam allocates both moments at its first step, the one that makes t 1.
    if "t" in counters and present != (list(spec.state) if counters["t"] > 0 else []):
        raise ValueError(
            f"'{where}' must hold {' and '.join(spec.state)} exactly when t > 0; "
            f"t is {counters['t']} and it holds {present or 'neither'}."
        )
    arrays = []
    for name in present:
        group = _group(tree, where, name, names=weight_shapes)
        arrays += [
            _weights(group, f"{where}/{name}", key, shape) for key, shape in weight_shapes.items()
        ]
    _same_dtype(arrays, f"the state arrays of '{where}'")


def _check_rng(tree):
    where = "/rng"
    _expect_names(tree, where, ("key", "pos", "has_gauss", "cached_gaussian"))
    key = _array(tree, where, "key", kinds="u", ndim=1, what="uint32")
    if key.dtype != np.uint32 or key.shape != (_MT19937_KEY_SIZE,):
        raise ValueError(
            f"'{where}/key' must be {_MT19937_KEY_SIZE} uint32 values, got {key.dtype} {key.shape}."
        )
    _integer(tree, where, "pos", high=_MT19937_KEY_SIZE)
    _integer(tree, where, "has_gauss", high=1)
    _real(tree, where, "cached_gaussian", math.isfinite, "a finite number")


# ------------------------------------------------------------ typed tree lookups


def _expect_names(tree, where, required, optional=()):
    """Refuse a group missing a required entry or holding one the format does not define."""
    missing = [name for name in required if name not in tree]
    if missing:
        raise ValueError(f"'{where or '/'}' is missing {', '.join(missing)}.")
    unexpected = sorted(set(tree) - set(required) - set(optional))
    if unexpected:
        raise ValueError(f"'{where or '/'}' has unexpected entries {', '.join(unexpected)}.")


def _group(tree, where, name, names=None):
    value = tree[name]
    if not isinstance(value, dict):
        raise ValueError(f"'{where}/{name}' must be a group, got {value!r}.")
    if names is not None:
        _expect_names(value, f"{where}/{name}", names)
    return value


def _integer(tree, where, name, low=0, high=None):
    value = tree[name]
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or value < low
        or (high is not None and value > high)
    ):
        bounds = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"'{where}/{name}' must be an integer {bounds}, got {value!r}.")
    return value


def _real(tree, where, name, accept, description):
    value = tree[name]
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not accept(value):
        raise ValueError(f"'{where}/{name}' must be {description}, got {value!r}.")
    return value


def _string(tree, where, name, options):
    value = tree[name]
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"'{where}/{name}' must be one of {sorted(options)}, got {value!r}.")
    return value


def _array(tree, where, name, *, kinds, ndim, what):
    value = tree[name]
    if not isinstance(value, np.ndarray):
        raise ValueError(f"'{where}/{name}' must be an array of {what}, got {value!r}.")
    if value.dtype.kind not in kinds:
        raise ValueError(f"'{where}/{name}' has dtype {value.dtype}; expected {what}.")
    if value.ndim != ndim:
        raise ValueError(
            f"'{where}/{name}' must have {ndim} dimension(s), got shape {value.shape}."
        )
    return value


def _label_array(tree, where, name):
    return _array(tree, where, name, kinds="biufU", ndim=1, what="numbers or strings")


def _weights(tree, where, name, shape):
    """A float32 or float64 array of the given shape, all finite."""
    array = _array(tree, where, name, kinds="f", ndim=len(shape), what="float32 or float64")
    if array.dtype not in _WEIGHT_DTYPES:
        raise ValueError(f"'{where}/{name}' has dtype {array.dtype}; expected float32 or float64.")
    if array.shape != shape:
        raise ValueError(f"'{where}/{name}' has shape {array.shape}; expected {shape}.")
    if not np.isfinite(array).all():
        raise ValueError(f"'{where}/{name}' holds NaN or infinite values.")
    return array


def _same_dtype(arrays, what):
    dtypes = sorted({str(array.dtype) for array in arrays})
    if len(dtypes) > 1:
        raise ValueError(f"{what} mix dtypes {' and '.join(dtypes)}.")


# ------------------------------------------------------------ checked tree -> estimator


def _build(estimator_class, params, tree):
    estimator = estimator_class(**params)
    fitted = tree["fitted"]
    classes = fitted["classes_"]
    estimator.classes_ = classes.astype(object) if fitted["classes_kind"] == "object" else classes
    for name in _FITTED_SCALARS:
        setattr(estimator, name, fitted[name])
    estimator.loss_curve_ = fitted["loss_curve_"].tolist()
    if "validation_loss_curve_" in fitted:
        estimator.validation_loss_curve_ = fitted["validation_loss_curve_"].tolist()
    if "feature_names_in_" in fitted:
        # As scikit-learn stores them.
        estimator.feature_names_in_ = fitted["feature_names_in_"].astype(object)
    if estimator_class is ShallowNNClassifier:
        estimator.coefs_ = [fitted["coefs_"]["0"], fitted["coefs_"]["1"]]
        estimator.intercepts_ = [fitted["intercepts_"]["0"], fitted["intercepts_"]["1"]]
    else:
        estimator.coef_, estimator.intercept_ = fitted["coef_"], fitted["intercept_"]
    estimator._optimizer = _build_optimizer(tree["optimizer"])
    estimator._rng = _build_rng(tree["rng"])
    return estimator


def _build_optimizer(tree):
    spec = _OPTIMIZERS[tree["name"]]
    optimizer = spec.cls(**{name: tree[name] for name in spec.hyperparameters})
    for name in spec.counters:
        setattr(optimizer, name, tree[name])
    for name in spec.state:
        setattr(optimizer, name, tree.get(name))
    return optimizer


def _build_rng(tree):
    rng = np.random.RandomState()
    rng.set_state(("MT19937", tree["key"], tree["pos"], tree["has_gauss"], tree["cached_gaussian"]))
    return rng
