"""What a valid sknn model file holds: checks on :class:`sknn.io.tree.Node` trees.

:func:`sknn.io.load` runs them on a file (a version-1 file rearranged by
:mod:`sknn.io.v1` first), :func:`sknn.io.save` on the tree it is about to
write. Nothing here knows an estimator or an optimizer from the inside: the
shapes come from ``_state_schema``, the parameters' rules from
``_parameter_constraints``, an optimizer state's from the optimizer.
"""

import math
import re

import numpy as np

import sknn

from .._compat import validate_parameter_constraints
from .._core.optimizers import OPTIMIZERS
from ..linear import LogisticRegressionGD, SoftmaxGD
from ..neural import ShallowNNClassifier
from .tree import decode

FORMAT = "sknn-model"
FORMAT_VERSION = 2
HEADER = ("format", "format_version", "sknn_version", "estimator")
CHECKSUM = "checksum"

# The only classes a file can name, looked up by exact name: nothing a file
# names is ever imported or evaluated.
ESTIMATORS = {cls.__name__: cls for cls in (LogisticRegressionGD, SoftmaxGD, ShallowNNClassifier)}

# The public fitted attributes every estimator has (design.md), besides the
# weights its _state_schema names.
REQUIRED_ATTRIBUTES = ("classes_", "n_features_in_", "n_iter_", "loss_curve_", "best_loss_")
REQUIRED_ATTRIBUTES += ("stop_reason_",)
OPTIONAL_ATTRIBUTES = ("feature_names_in_", "validation_loss_curve_")
# The state's flag of a multilabel fit, a root attribute present only when True.
MULTILABEL = "multilabel"
# An optimizer state's history holds at most this many arrays per parameter.
_MAX_STACK = 1000

STOP_REASONS = {
    "converged",
    "stalled",
    "max_iter",
    "early_stopping",
    "diverged",
    "interrupted",
    "callback",
}

_MT19937_KEY_SIZE = 624


# ------------------------------------------------------------------ header


def check_header(header):
    """The format version and estimator class of a file's header values (by name).

    Checked in this order so that a newer file gets "upgrade sknn" whatever
    else it holds.
    """
    file_format = header.get("format")
    if file_format != FORMAT:
        raise ValueError(
            f"not an sknn model file: its 'format' attribute is {file_format!r}, not {FORMAT!r}."
        )
    version = header.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"'format_version' must be a positive integer, got {version!r}.")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"written in file format version {version}, newer than the version "
            f"{FORMAT_VERSION} this sknn reads; upgrade sknn to load it."
        )
    written_by = header.get("sknn_version")
    if _major_minor(written_by) > _major_minor(sknn.__version__):
        raise ValueError(
            f"written by sknn {written_by}, newer than this sknn {sknn.__version__}; "
            "upgrade sknn to load it."
        )
    name = header.get("estimator")
    if not isinstance(name, str) or name not in ESTIMATORS:
        raise ValueError(
            f"unknown estimator {name!r}; sknn model files hold one of {', '.join(ESTIMATORS)}."
        )
    return version, ESTIMATORS[name]


def _major_minor(version):
    match = re.match(r"(\d+)\.(\d+)", version) if isinstance(version, str) else None
    if match is None:
        raise ValueError(f"'sknn_version' must be a version such as '1.2.0', got {version!r}.")
    return int(match[1]), int(match[2])


# ------------------------------------------------------------------ parameters


def read_params(root, estimator_class, path):
    """The checked parameters of ``/params`` (read here: they are small)."""
    constraints = estimator_class._parameter_constraints
    node = _group(root, "params")
    _names(node, constraints)
    params = {}
    for name, child in node.children.items():
        if name == "class_weight" and child.type == "group":
            params[name] = _class_weight(_group(node, name), path)
        elif child.type != "attribute":
            what = "an array" if child.type == "dataset" else "a group"
            raise ValueError(f"'{child.where}' must be a single value, not {what}.")
        else:
            params[name] = decode(child, path)
    # InvalidParameterError names the parameter; it is also a TypeError,
    # which callers must not mistake for h5py's: raise a plain ValueError.
    try:
        validate_parameter_constraints(constraints, params, caller_name=estimator_class.__name__)
    except ValueError as error:
        raise ValueError(str(error)) from None
    return params


def _class_weight(node, path):
    _names(node, ("keys", "values"))
    keys = _dataset(node, "keys", kinds="biufS", ndim=1)
    values = _dataset(node, "values", kinds="iuf", ndim=1)
    if keys.shape != values.shape:
        raise ValueError(f"'{node.where}' has {keys.shape[0]} keys but {values.shape[0]} values.")
    tree = decode(node, path)
    if len(set(tree["keys"].tolist())) != len(tree["keys"]):
        raise ValueError(f"'{node.where}/keys' repeats a key.")
    if not np.isfinite(tree["values"]).all():
        raise ValueError(f"'{node.where}/values' holds NaN or infinite values.")
    return dict(zip(tree["keys"].tolist(), tree["values"].tolist()))


# ------------------------------------------------------------------ layout


def check_layout(root, estimator, version, path):
    """Check names, types, dtypes, declared shapes and single values; return ``_state_schema``.

    Reads no array: the arrays are checked by :func:`check_state`, once read.
    """
    checksum = (CHECKSUM,) if version >= 2 else ()
    # The header's values are checked by check_header; the checksum's, by comparing it.
    _names(root, (*HEADER, *checksum, "params", "attributes", "optimizer", "rng"), (MULTILABEL,))
    if root.tag is not None:
        raise ValueError("'/' must be a group of entries, not a list.")
    multilabel = MULTILABEL in root.children
    if multilabel and _value(root, MULTILABEL, "b", path) is not True:
        raise ValueError(f"'/{MULTILABEL}' is written only as True.")
    if multilabel and not estimator._supports_multilabel:
        raise ValueError(
            f"it says multilabel, which {type(estimator).__name__} is never fitted on."
        )
    attributes = _group(root, "attributes")
    n_features = _integer(_attribute(attributes, "n_features_in_", "i"), low=1)
    classes = _dataset(attributes, "classes_", kinds="biufS", ndim=1, tags=(None, "object"))
    schema = estimator._state_schema(n_features, classes.shape[0], multilabel=multilabel)
    dtypes = set()
    _check_attributes(attributes, n_features, schema["weights"], dtypes, path)
    _check_optimizer(_group(root, "optimizer"), schema["parameters"], dtypes, path)
    rng = _group(root, "rng")
    _names(rng, ("bit_generator", "state", "has_gauss", "gauss"))
    generator = _value(rng, "bit_generator", "S", path)
    if generator != "MT19937":
        raise ValueError(f"'/rng/bit_generator' must be 'MT19937', got {generator!r}.")
    has_gauss = _value(rng, "has_gauss", "i", path)
    if has_gauss not in (0, 1):
        raise ValueError(f"'/rng/has_gauss' must be 0 or 1, got {has_gauss}.")
    gauss = _value(rng, "gauss", "f", path)
    if not math.isfinite(gauss):
        raise ValueError(f"'/rng/gauss' must be finite, got {gauss}.")
    rng_state = _group(rng, "state")
    _names(rng_state, ("key", "pos"))
    pos = _value(rng_state, "pos", "i", path)
    if not 0 <= pos <= _MT19937_KEY_SIZE:
        raise ValueError(f"'/rng/state/pos' must be an integer in [0, 624], got {pos}.")
    key = _dataset(rng_state, "key", kinds="u", ndim=1)
    if key.dtype != np.uint32 or key.shape != (_MT19937_KEY_SIZE,):
        raise ValueError(
            f"'{key.where}' must be {_MT19937_KEY_SIZE} uint32 values, got {key.dtype} {key.shape}."
        )
    if len(dtypes) > 1:
        raise ValueError(
            f"the weights and optimizer state mix dtypes {' and '.join(sorted(dtypes))}."
        )
    return schema


def _check_attributes(node, n_features, weight_shapes, dtypes, path):
    _names(node, (*REQUIRED_ATTRIBUTES, *weight_shapes), OPTIONAL_ATTRIBUTES)
    classes = node.children["classes_"]
    if classes.tag == "object" and classes.dtype.kind != "S":
        raise ValueError(f"'{classes.where}' of dtype {classes.dtype} cannot be tagged object.")
    n_iter = _integer(_attribute(node, "n_iter_", "i"), low=0)
    if math.isnan(_value(node, "best_loss_", "f", path)):
        raise ValueError("'/attributes/best_loss_' is NaN.")
    stop_reason = _value(node, "stop_reason_", "S", path)
    if stop_reason not in STOP_REASONS:
        raise ValueError(
            f"'/attributes/stop_reason_' must be one of {sorted(STOP_REASONS)}, "
            f"got {stop_reason!r}."
        )
    curve = _dataset(node, "loss_curve_", kinds="f", ndim=1, tags=("list",))
    if curve.dtype != np.float64 or curve.shape != (n_iter,):
        raise ValueError(
            f"'{curve.where}' must be {n_iter} float64 values (n_iter_ is {n_iter}), got "
            f"{curve.dtype} {curve.shape}."
        )
    if "validation_loss_curve_" in node.children:
        curve = _dataset(node, "validation_loss_curve_", kinds="f", ndim=1, tags=("list",))
        if curve.dtype != np.float64 or curve.shape[0] > n_iter:
            raise ValueError(f"'{curve.where}' must be at most n_iter_={n_iter} float64 values.")
    if "feature_names_in_" in node.children:
        names = _dataset(node, "feature_names_in_", kinds="S", ndim=1, tags=("object",))
        if names.shape != (n_features,):
            raise ValueError(f"'{names.where}' must be {n_features} strings, got {names.shape}.")
    _weights(node, weight_shapes, dtypes)


def _check_optimizer(node, parameter_shapes, dtypes, path):
    # The optimizer's own declaration is the rule: the kinds of its state's
    # entries here; once read, a state its set_state takes (check_state).
    _names(node, ("name", "state"))
    name = _value(node, "name", "S", path)
    if name not in OPTIMIZERS:
        raise ValueError(f"'/optimizer/name' must be one of {sorted(OPTIMIZERS)}, got {name!r}.")
    refused = f"'/optimizer/state' is not a state of the {name!r} optimizer"
    state = _group(node, "state")
    for key, child in state.children.items():
        if child.type == "group":
            _names(child, parameter_shapes)
            _weights(child, parameter_shapes, dtypes, stacked=True)
        elif child.type != "attribute" or child.dtype.kind not in "iuf" or child.shape is None:
            raise ValueError(f"'{child.where}' must be a number or a group of arrays.")
        kind = OPTIMIZERS[name].cls.state_kind(key)
        if kind is None:
            raise ValueError(f"{refused}: it holds {sorted(state.children)}.")
        group = kind in ("arrays", "gradients")
        if group != (child.type == "group"):
            expected = "a group of arrays" if group else "a number"
            raise ValueError(f"{refused}: '{child.where}' must be {expected}.")
        if kind == "count" and child.dtype.kind not in "iu":
            raise ValueError(f"{refused}: '{child.where}' must be an integer.")


def _weights(node, shapes, dtypes, stacked=False):
    """The float arrays ``shapes`` names (a list of shapes: a list group of arrays).

    ``stacked``: an optimizer state's group, whose arrays may all have one more
    leading axis of the same length (a history of ``_MAX_STACK`` at most).
    """
    stack = None
    if node.tag is not None:
        raise ValueError(f"'{node.where}' must be a group of named arrays, not a list.")
    for name, shape in shapes.items():
        if isinstance(shape, list):
            items = _group(node, name, tag="list")
            _names(items, [str(i) for i in range(len(shape))])
            arrays = [(items, str(i), s) for i, s in enumerate(shape)]
        else:
            arrays = [(node, name, shape)]
        for parent, key, expected in arrays:
            ndims = (len(expected), len(expected) + 1) if stacked else (len(expected),)
            array = _dataset(parent, key, kinds="f", ndim=ndims, tags=(None, "fortran"))
            shape = array.array_shape
            if stacked and len(shape) > len(expected):
                if stack not in (None, shape[0]) or not 0 < shape[0] <= _MAX_STACK:
                    raise ValueError(
                        f"'{array.where}' stacks {shape[0]} arrays; expected the same number "
                        f"(at most {_MAX_STACK}) in every array of the group."
                    )
                stack, expected = shape[0], (shape[0], *expected)
            if array.dtype not in (np.float32, np.float64):
                raise ValueError(
                    f"'{array.where}' has dtype {array.dtype}; expected float32 or float64."
                )
            if shape != tuple(expected):
                raise ValueError(f"'{array.where}' has shape {shape}; expected {tuple(expected)}.")
            dtypes.add(array.dtype.name)


# ------------------------------------------------------------------ values


def read_state(root, path):
    """The state of a tree whose layout is checked, as ``_get_state()`` gives it."""
    state = {part: decode(root.children[part], path) for part in ("attributes", "optimizer", "rng")}
    if MULTILABEL in root.children:  # checked: True
        state[MULTILABEL] = True
    return state


def check_state(state, schema):
    """Check the arrays of a state read by :func:`read_state` (its layout checks the rest)."""
    attributes = state["attributes"]
    classes = attributes["classes_"]
    if state.get(MULTILABEL) and not np.array_equal(classes, np.arange(len(classes))):
        raise ValueError(
            "'/attributes/classes_' of a multilabel model must be the label indices "
            f"0, 1, ..., got {classes!r}."
        )
    if len(classes) < 2 or not np.all(classes[1:] > classes[:-1]):
        raise ValueError(
            f"'/attributes/classes_' must be at least 2 sorted, unique labels, got {classes!r}."
        )
    for name, shape in schema["weights"].items():
        arrays = attributes[name] if isinstance(shape, list) else [attributes[name]]
        if not all(np.isfinite(array).all() for array in arrays):
            raise ValueError(f"'/attributes/{name}' holds NaN or infinite values.")
    name = state["optimizer"]["name"]
    try:
        OPTIMIZERS[name].build().set_state(state["optimizer"]["state"])
    except ValueError as error:
        raise ValueError(
            f"'/optimizer/state' is not a state of the {name!r} optimizer: {error}"
        ) from None


# ------------------------------------------------------------------ typed lookups


def _names(node, required, optional=()):
    """Refuse a group missing a required entry or holding one the format does not define."""
    missing = [name for name in required if name not in node.children]
    if missing:
        raise ValueError(f"'{node.where}' is missing {', '.join(missing)}.")
    unexpected = sorted(set(node.children) - set(required) - set(optional))
    if unexpected:
        names = ", ".join(repr(name) if not name.isprintable() else name for name in unexpected)
        raise ValueError(f"'{node.where}' has unexpected entries {names}.")


def _child(node, name, type):
    child = node.children.get(name)
    if child is None:
        raise ValueError(f"'{node.where}' is missing {name}.")
    if child.type != type:
        raise ValueError(f"'{child.where}' must be {'an' if type[0] == 'a' else 'a'} {type}.")
    return child


def _group(node, name, tag=None):
    group = _child(node, name, "group")
    if group.tag != tag:
        raise ValueError(f"'{group.where}' must be {'a list' if tag else 'a group of entries'}.")
    return group


def _attribute(node, name, kinds):
    attribute = _child(node, name, "attribute")
    if attribute.shape is None or attribute.dtype.kind not in kinds:
        what = {"i": "an integer", "f": "a float", "S": "a string", "b": "a boolean"}
        raise ValueError(f"'{attribute.where}' must be {what[kinds]}, got dtype {attribute.dtype}.")
    return attribute


def _value(node, name, kinds, path):
    return decode(_attribute(node, name, kinds), path)


def _integer(attribute, low):
    value = attribute.read().item()
    if value < low:
        raise ValueError(f"'{attribute.where}' must be an integer >= {low}, got {value}.")
    return value


def _dataset(node, name, *, kinds, ndim, tags=(None,)):
    dataset = _child(node, name, "dataset")
    if dataset.dtype.kind not in kinds:
        raise ValueError(f"'{dataset.where}' has dtype {dataset.dtype}.")
    ndims = ndim if isinstance(ndim, tuple) else (ndim,)
    if len(dataset.shape) not in ndims:
        raise ValueError(
            f"'{dataset.where}' must have {' or '.join(map(str, ndims))} dimension(s), got "
            f"shape {dataset.shape}."
        )
    if dataset.tag not in tags:
        raise ValueError(f"'{dataset.where}' is tagged {dataset.tag!r}; expected {tags[0]!r}.")
    return dataset
