"""ONNX export of the sknn classifiers through skl2onnx.

Importing this module registers converters for :class:`~sknn.LogisticRegressionGD`,
:class:`~sknn.SoftmaxGD` and :class:`~sknn.ShallowNNClassifier` with skl2onnx, so
that ``skl2onnx.to_onnx(model, X[:1])`` converts a fitted estimator, alone or as
the last step of a :class:`~sklearn.pipeline.Pipeline`, to a graph that gives
what ``predict`` and ``predict_proba`` give. It needs the ``sknn[onnx]`` extra;
without skl2onnx the import succeeds and registers nothing.

Read more in the :ref:`User Guide <persistence>`.

Examples
--------
>>> import numpy as np
>>> import onnxruntime  # doctest: +SKIP
>>> from skl2onnx import to_onnx  # doctest: +SKIP
>>> import sknn.onnx  # registers the converters
>>> from sknn import SoftmaxGD
>>> X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0], [3.0, 1.0]])
>>> model = SoftmaxGD().fit(X, ["a", "b", "b", "c"])
>>> onx = to_onnx(model, X[:1], options={"zipmap": False})  # doctest: +SKIP
>>> session = onnxruntime.InferenceSession(
...     onx.SerializeToString(), providers=["CPUExecutionProvider"]
... )  # doctest: +SKIP
>>> labels, proba = session.run(None, {"X": X})  # doctest: +SKIP
>>> bool((labels == model.predict(X)).all())  # doctest: +SKIP
True
>>> bool(np.allclose(proba, model.predict_proba(X), rtol=0, atol=1e-12))  # doctest: +SKIP
True
"""

from dataclasses import dataclass

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._core.activations import ACTIVATIONS
from .linear import LogisticRegressionGD, SoftmaxGD
from .neural import ShallowNNClassifier

__all__ = []

# The options every skl2onnx classifier declares; the parser below handles them.
_OPTIONS = {"zipmap": [True, False, "columns"], "nocl": [False, True]}

_ALIASES = {
    LogisticRegressionGD: "SknnLogisticRegressionGD",
    SoftmaxGD: "SknnSoftmaxGD",
    ShallowNNClassifier: "SknnShallowNNClassifier",
}


@dataclass(frozen=True)
class _Network:
    """What the graph computes, read from a fitted estimator's public attributes.

    Attributes
    ----------
    layers : tuple of (W, b, activation)
        Affine layers ``h @ W + b`` in order, each followed by its hidden
        activation name, or None for the output layer.
    output : {'softmax', 'ovr', 'independent'}
        How the scores (the output layer's values) become probabilities:
        ``softmax(scores)``, ``softmax(log_sigmoid(scores))``, or for a
        multilabel model ``sigmoid(scores)`` per label (whose labels are then
        the indicator ``scores > 0``).
    """

    layers: tuple
    output: str


def _describe(model):
    """The :class:`_Network` of a fitted sknn estimator: a TypeError for other
    estimators, a ValueError for fitted attributes no fit makes (an unknown
    activation, weights of the wrong shape)."""
    if type(model) not in _ALIASES:
        raise TypeError(
            f"sknn.onnx converts {', '.join(c.__name__ for c in _ALIASES)}; "
            f"got {type(model).__name__}."
        )
    check_is_fitted(model)
    name = type(model).__name__
    classes = np.asarray(model.classes_)
    if classes.ndim != 1:
        raise ValueError(f"Cannot convert {name} with classes_ of shape {classes.shape}.")
    n_classes = len(classes)
    multilabel = bool(getattr(model, "multilabel_", False))
    if isinstance(model, ShallowNNClassifier):
        if model.activation not in ACTIVATIONS:
            raise ValueError(
                f"Cannot convert activation={model.activation!r}; "
                f"supported are {', '.join(ACTIVATIONS)}."
            )
        (W1, W2), (b1, b2) = model.coefs_, model.intercepts_
        layers = [(W1, b1, model.activation), (W2, b2, None)]
        # The estimator's output layer: one sigmoid unit for two classes, else softmax.
        n_outputs, link = (1, "sigmoid") if n_classes == 2 else (n_classes, "softmax")
    else:
        layers = [(model.coef_.T, model.intercept_, None)]
        if isinstance(model, SoftmaxGD):
            n_outputs, link = n_classes, "softmax"
        else:
            n_outputs, link = (1 if n_classes == 2 else n_classes), "sigmoid"

    layers = [(np.asarray(W), np.asarray(b).ravel(), act) for W, b, act in layers]
    n_in = model.n_features_in_
    for W, b, _ in layers:
        if W.ndim != 2 or W.shape[0] != n_in or b.shape != (W.shape[1],):
            raise ValueError(
                f"{name}'s weights do not chain: a layer of shape {W.shape} with bias of "
                f"shape {b.shape} follows {n_in} inputs."
            )
        n_in = W.shape[1]
    if multilabel:
        # One independent sigmoid unit per label, even for two labels and for the
        # network (sknn._estimator.base.BaseGDClassifier._output_layer_of).
        if n_in != n_classes:
            raise ValueError(
                f"Cannot convert multilabel {name} with {n_classes} labels and "
                f"{n_in} output units; the estimator makes one unit per label."
            )
        return _Network(tuple(layers), "independent")
    if n_in != n_outputs or n_classes < 2:
        raise ValueError(
            f"Cannot convert {name} with {n_classes} classes and {n_in} output units; "
            f"the estimator makes {n_outputs} for {n_classes} classes."
        )

    if n_outputs == 1:
        # sigmoid(z) = softmax([0, z])[1]: a zero column in front of the single
        # binary logit makes the binary case a softmax, and argmax over [0, z]
        # picks classes_[1] exactly when z > 0, as predict does.
        W, b, _ = layers[-1]
        layers[-1] = (
            np.hstack([np.zeros_like(W), W]),
            np.concatenate([np.zeros_like(b), b]),
            None,
        )
        return _Network(tuple(layers), "softmax")
    return _Network(tuple(layers), "ovr" if link == "sigmoid" else "softmax")


def _input_bound(W, dtype):
    """The largest input magnitude at which ``h @ W`` stays within a quarter of ``dtype``'s range.

    With ``|h| <= c`` every term and partial sum of a column of ``h @ W`` is at
    most ``c`` times that column's L1 norm, so ``c = max / 4 / (largest L1
    norm)`` keeps them finite (the margin covers rounding, and the bias added
    after is clipped with the scores). It is at least 1, which bounded
    activations (tanh, sigmoid) rely on: weights that would make it smaller
    are refused.
    """
    top = float(np.finfo(dtype).max)
    with np.errstate(over="ignore"):  # an overflowing norm is refused just below
        largest_l1 = float(np.abs(W.astype(np.float64)).sum(axis=0).max(initial=0.0))
    if not largest_l1 <= top / 4:  # also NaN and inf
        raise ValueError(
            f"Cannot convert weights with a column L1 norm of {largest_l1:.3g} to a "
            f"{np.dtype(dtype).name} graph: its products overflow from inputs of size 1 "
            f"on (the limit is {top / 4:.3g}). Is the model diverged?"
        )
    return top / 4 / max(largest_l1, 1.0)


def _label_tensor(classes):
    """``classes`` as ONNX stores labels: ``(int64 array, True)`` or ``(bytes array, False)``.

    Integer, boolean and integral float labels become int64 (floats as
    skl2onnx's classifiers do); strings are UTF-8 encoded.
    """
    classes = np.asarray(classes)
    if classes.dtype.kind in "biuf":
        as_int = classes.astype(np.int64)
        if not np.array_equal(as_int, classes):
            raise ValueError(
                f"ONNX class labels are int64 or strings; {classes!r} cannot be "
                "represented as int64."
            )
        return as_int, True
    if all(isinstance(c, str) for c in classes):
        return np.array([c.encode("utf-8") for c in classes], dtype=object), False
    raise ValueError(f"ONNX class labels are int64 or strings; got {classes!r}.")


try:
    from onnx import TensorProto
    from skl2onnx import update_registered_converter
    from skl2onnx._parse import _apply_zipmap
    from skl2onnx.common.data_types import (
        BooleanTensorType,
        DoubleTensorType,
        FloatTensorType,
        Int64TensorType,
        StringTensorType,
        guess_tensor_type,
    )
    from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes
    from skl2onnx.common.utils_classifier import get_label_classes

    _INPUT_TYPES = (FloatTensorType, DoubleTensorType, Int64TensorType, BooleanTensorType)
except ModuleNotFoundError as exc:
    # Only a missing extra is tolerated; a broken install must not pass silently.
    if exc.name not in ("onnx", "skl2onnx"):
        raise
    update_registered_converter = None

# Min and Max, the clips of opsets below 11, broadcast from opset 8 on.
_MIN_OPSET = 8


def _parse(scope, model, inputs, custom_parsers=None):
    """Declare the estimator's operator, its label and probability outputs, and the ZipMap.

    skl2onnx's generic classifier parser, except that a float64 graph with a
    ZipMap gets float32 probabilities, the only values ``ZipMap`` accepts.
    """
    _describe(model)  # fail here, before anything is built, for a model we cannot convert
    _check_input_type(inputs[0].type)
    if scope.target_opset < _MIN_OPSET:
        raise ValueError(
            f"sknn.onnx needs target_opset {_MIN_OPSET} or later (Min and Max with "
            f"broadcasting); got {scope.target_opset}."
        )
    zipmap = scope.get_options(model, dict(zipmap=True))["zipmap"]
    operator = scope.declare_local_operator(_ALIASES[type(model)], model)
    operator.inputs = inputs
    _, int_labels = _label_tensor(get_label_classes(scope, model))
    label = scope.declare_local_variable(
        "label", Int64TensorType() if int_labels else StringTensorType()
    )
    proba_type = guess_tensor_type(inputs[0].type)
    if zipmap is True and isinstance(proba_type, DoubleTensorType):
        proba_type = FloatTensorType()
    proba = scope.declare_local_variable("probabilities", proba_type)
    operator.outputs.extend([label, proba])
    if zipmap is False:
        return operator.outputs
    return _apply_zipmap(zipmap, scope, model, proba_type, operator.outputs)


def _check_input_type(input_type):
    """Refuse graph inputs other than float32, float64 (and int64 or bool, computed in float32).

    A float16 graph would round the weights and every intermediate to 3
    significant digits, and overflow beyond 65504: the caller casts instead.
    """
    if not isinstance(input_type, _INPUT_TYPES):
        raise ValueError(
            "sknn.onnx builds float32 or float64 graphs: the input must be float32 or "
            "float64 (int64 and bool are computed in float32), got "
            f"{type(input_type).__name__}. Cast the array first, e.g. "
            "to_onnx(model, X.astype(np.float32)) and run the graph on float32 X."
        )


def _calculate_shapes(operator):
    """Check the input against the estimator and set the output shapes.

    skl2onnx's classifier shapes: labels ``[N]``, or ``[N, n_labels]`` where the
    estimator's ``multilabel_`` is True; probabilities ``[N, n_classes]``.
    """
    model = operator.raw_operator
    _describe(model)
    n_features = operator.inputs[0].type.shape[-1] if operator.inputs[0].type.shape else None
    if isinstance(n_features, int) and n_features != model.n_features_in_:
        raise ValueError(
            f"The ONNX input has {n_features} features, but {type(model).__name__} "
            f"expects {model.n_features_in_}."
        )
    calculate_linear_classifier_output_shapes(operator)


def _convert(scope, operator, container):
    """Write the graph of one fitted estimator into ``container``."""
    model = operator.raw_operator
    network = _describe(model)
    double = isinstance(operator.inputs[0].type, DoubleTensorType)
    dtype, proto = (np.float64, TensorProto.DOUBLE) if double else (np.float32, TensorProto.FLOAT)
    g = _GraphWriter(scope, container, dtype, proto)

    # Integer or boolean input is computed in float, as skl2onnx's linear converters do.
    h = g.node("Cast", [operator.inputs[0].full_name], to=proto)
    # Each layer's input within its bound, so that no term or sum of h @ W
    # overflows: an inf and a -inf in one row's terms would sum to NaN inside
    # the MatMul, past repair. X is clipped; a hidden layer's pre-activation z,
    # as |g(z)| <= max(|z|, 1) <= bound for every activation (see _input_bound).
    h = g.clip(h, _input_bound(network.layers[0][0], dtype))
    for (W, b, activation), following in zip(network.layers, network.layers[1:] + (None,)):
        h = g.node("Add", [g.node("MatMul", [h, g.const(W)]), g.const(b)])
        if activation is not None:
            h = g.activation(activation, g.clip(h, _input_bound(following[0], dtype)))
    # Finite scores within half the range: the softmax's z - max(z) cannot overflow.
    scores = g.clip(h, float(np.finfo(dtype).max) / 2)

    if network.output == "independent":
        # Multilabel: predict is (Z > 0) as int64, predict_proba sigmoid(Z) per label.
        proba = g.node("Sigmoid", [scores])
        positive = g.node("Greater", [scores, g.const(0)])
        g.node("Cast", [positive], to=TensorProto.INT64, output=operator.outputs[0].full_name)
    else:
        logits = g.log_sigmoid(scores) if network.output == "ovr" else scores
        proba = g.softmax(logits)

        labels, _ = _label_tensor(get_label_classes(scope, model))
        label_type = TensorProto.INT64 if labels.dtype == np.int64 else TensorProto.STRING
        # predict is the argmax of predict_proba (ties included), and with two
        # classes the sign of the decision, which is the argmax of [0, z] or [z0, z1].
        decided_by = scores if len(labels) == 2 else proba
        index = g.node("ArgMax", [decided_by], axis=1, keepdims=0)  # first maximum on ties
        g.node(
            "Gather",
            [g.const(labels, label_type), index],
            axis=0,
            output=operator.outputs[0].full_name,
        )

    proba_name = operator.outputs[1].full_name
    if isinstance(operator.outputs[1].type, FloatTensorType) and double:
        # A float64 graph feeding a ZipMap, which holds float32 only (see _parse).
        g.node("Cast", [proba], to=TensorProto.FLOAT, output=proba_name)
    else:
        g.node("Identity", [proba], output=proba_name)


class _GraphWriter:
    """Adds nodes and constants of one dtype to a skl2onnx container, naming them uniquely."""

    def __init__(self, scope, container, dtype, proto):
        self.scope, self.container, self.dtype, self.proto = scope, container, dtype, proto

    def const(self, value, proto=None):
        if proto is None:
            value, proto = np.asarray(value, dtype=self.dtype), self.proto
        name = self.scope.get_unique_variable_name("sknn_const")
        self.container.add_initializer(name, proto, list(value.shape), value.ravel().tolist())
        return name

    def node(self, op_type, inputs, output=None, **attrs):
        output = output or self.scope.get_unique_variable_name(op_type.lower())
        name = self.scope.get_unique_operator_name(op_type)
        self.container.add_node(op_type, inputs, [output], name=name, **attrs)
        return output

    def clip(self, x, bound):
        # No Clip follows a Relu (onnxruntime's Relu + Clip fusion fails on float64).
        # Clip's bounds are inputs from opset 11 on; before, Min and Max (one more
        # pass) give the same values, broadcasting from opset 8 on.
        low, high = self.const(-bound), self.const(bound)
        if self.container.target_opset < 11:
            return self.node("Max", [self.node("Min", [x, high]), low])
        return self.node("Clip", [x, low, high])

    def activation(self, activation, h):
        return ACTIVATIONS[activation].onnx(self, h)

    def log_sigmoid(self, z):
        # log(sigmoid(z)) = min(z, 0) - log(1 + exp(-|z|)): exp never overflows and
        # the result is finite for every finite z (onnxruntime has no float64 Softplus).
        neg_abs = self.node("Neg", [self.node("Abs", [z])])
        one_plus = self.node("Add", [self.node("Exp", [neg_abs]), self.const(1)])
        log_term = self.node("Log", [one_plus])
        return self.node("Sub", [self.node("Min", [z, self.const(0)]), log_term])

    def softmax(self, z, output=None):
        # Row-wise, with the row maximum subtracted first so that exp cannot overflow
        # and the largest term is exactly 1 (the sum cannot underflow to 0).
        shifted = self.node("Sub", [z, self._reduce("ReduceMax", z, since=18)])
        e = self.node("Exp", [shifted])
        return self.node("Div", [e, self._reduce("ReduceSum", e, since=13)], output=output)

    def _reduce(self, op_type, x, since):
        # Over axis 1, keeping it. From opset `since` on the axes are an input.
        if self.container.target_opset < since:
            return self.node(op_type, [x], axes=[1], keepdims=1)
        axes = self.const(np.array([1], dtype=np.int64), TensorProto.INT64)
        return self.node(op_type, [x, axes], keepdims=1)


def _register():
    for cls, alias in _ALIASES.items():
        update_registered_converter(
            cls, alias, _calculate_shapes, _convert, parser=_parse, options=_OPTIONS
        )


if update_registered_converter is not None:
    _register()
