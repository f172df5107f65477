"""ONNX export (sknn.onnx): graphs run by onnxruntime give what the estimators give.

Every estimator x {binary, 3 classes} x {float32, float64} x {int, str labels}
x every activation of the network, alone and after a StandardScaler in a
Pipeline: labels identical, probabilities within 1e-5 (float32) or 1e-10
(float64) of ``predict_proba``, on rows of ordinary size and on rows scaled by
1e3 to 1e6, where a softmax without its max subtraction overflows. Multilabel
models (LogisticRegressionGD and the network, every activation), likewise:
indicator labels identical to ``predict``, per-label sigmoids to ``predict_proba``.

Needs the ``sknn[onnx]`` extra; skipped without it.
"""

import copy
import doctest
import functools
import importlib.util
import sys
import warnings

import numpy as np
import pytest

_REASON = 'needs the sknn[onnx] extra (pip install "sknn[onnx]")'
pytest.importorskip("onnx", reason=_REASON)
skl2onnx = pytest.importorskip("skl2onnx", reason=_REASON)
ort = pytest.importorskip("onnxruntime", reason=_REASON)

from numpy.testing import assert_allclose, assert_array_equal  # noqa: E402
from sklearn.datasets import make_classification, make_multilabel_classification  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import sknn.onnx  # noqa: E402, F401  (registers the converters)
from sknn import LogisticRegressionGD, ShallowNNClassifier, SoftmaxGD  # noqa: E402

ATOL = {np.float32: 1e-5, np.float64: 1e-10}
LABELS = {"int": np.array([-1, 3, 10]), "str": np.array(["ant", "bee", "cat"])}
MODELS = {
    "logistic": lambda: LogisticRegressionGD(max_iter=100),
    "softmax": lambda: SoftmaxGD(max_iter=100),
    **{
        f"network-{activation}": functools.partial(
            ShallowNNClassifier,
            activation=activation,
            hidden_layer_size=8,
            max_iter=60,
            random_state=0,
        )
        for activation in ("tanh", "relu", "sigmoid", "leaky_relu")
    },
}

_X, _Y = make_classification(
    n_samples=160,
    n_features=4,
    n_informative=3,
    n_redundant=0,
    n_classes=3,
    n_clusters_per_class=1,
    random_state=0,
)
X_TRAIN, X_TEST, Y_TRAIN = _X[:120], _X[120:], _Y[:120]
# Ordinary rows, then the same rows scaled up: logits of 1e3 to 1e7 saturate every
# sigmoid and overflow exp unless the softmax subtracts its row maximum first.
X_EVAL = np.vstack([X_TEST] + [X_TEST[:10] * scale for scale in (1e3, 1e4, 1e5, 1e6)])


@functools.cache
def fitted(model, n_classes, dtype, labels, pipeline):
    estimator = MODELS[model]()
    if pipeline:
        estimator = make_pipeline(StandardScaler(), estimator)
    y = LABELS[labels][:n_classes][Y_TRAIN % n_classes]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: a short fit is enough here
        return estimator.fit(X_TRAIN.astype(dtype), y)


def run(onx, X):
    session = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: X})


@pytest.mark.parametrize("pipeline", [False, True], ids=["alone", "pipeline"])
@pytest.mark.parametrize("labels", ["int", "str"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("n_classes", [2, 3], ids=["binary", "3-class"])
@pytest.mark.parametrize("model", list(MODELS))
def test_onnx_matches_predict_and_predict_proba(model, n_classes, dtype, labels, pipeline):
    estimator = fitted(model, n_classes, dtype, labels, pipeline)
    X = X_EVAL.astype(dtype)
    onx = skl2onnx.to_onnx(estimator, X[:1], options={"zipmap": False})
    onnx_labels, onnx_proba = run(onx, X)

    assert [o.name for o in onx.graph.output] == ["label", "probabilities"]
    assert_array_equal(onnx_labels, estimator.predict(X))
    assert onnx_proba.dtype == dtype
    assert np.isfinite(onnx_proba).all()
    difference = np.abs(onnx_proba - estimator.predict_proba(X))
    assert np.all(difference <= ATOL[dtype] + _logit_rounding(estimator, X, dtype))


def _logit_rounding(estimator, X, dtype):
    """Per row, one ulp of the largest sum of absolute terms that makes up a logit.

    Two matrix products that add the terms of a logit in another order (NumPy's
    BLAS and onnxruntime's) round it apart by about that much, and a
    probability moves by less than its logit: in float32 this is above ATOL
    only on the rows scaled by 1e3..1e6, whose logits reach 1e4.
    """
    if hasattr(estimator, "steps"):
        X, estimator = estimator[:-1].transform(X), estimator[-1]
    X = np.abs(X.astype(np.float64))
    if hasattr(estimator, "coefs_"):
        W1, W2 = (np.abs(W) for W in estimator.coefs_)
        terms = (X @ W1 + 1.0) @ W2  # |g(z)| <= |z| + 1, |g'| <= 1 for every activation
    else:
        terms = X @ np.abs(estimator.coef_).T
    return np.finfo(dtype).eps * terms.max(axis=1, keepdims=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_one_vs_rest_rows_where_every_sigmoid_underflows(dtype):
    # X = t v with coef_ v = -1 for every class: all K logits are about -t, every
    # sigmoid rounds to 0, and normalising sigmoid(Z) / sum would give 0/0. The
    # graph normalises in log space, softmax(log_sigmoid(Z)), as predict_log_proba.
    model = fitted("logistic", 3, dtype, "int", False)
    v = np.linalg.lstsq(model.coef_.astype(np.float64), -np.ones(3), rcond=None)[0]
    X = (np.array([1.0, 1e2, 1e3, 1e4, 1e6])[:, None] * v).astype(dtype)
    onnx_labels, onnx_proba = run(skl2onnx.to_onnx(model, X[:1], options={"zipmap": False}), X)

    assert np.isfinite(onnx_proba).all()
    assert_allclose(onnx_proba.sum(axis=1), 1, rtol=0, atol=ATOL[dtype])
    assert_allclose(onnx_proba, np.exp(model.predict_log_proba(X)), rtol=0, atol=ATOL[dtype])
    assert_array_equal(onnx_labels, model.predict(X))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        try:
            expected = model.predict_proba(X)
        except RuntimeWarning:  # 0/0 in an estimator that normalises linear sigmoids
            expected = None
    if expected is not None and np.isfinite(expected).all():
        assert_allclose(onnx_proba, expected, rtol=0, atol=ATOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("labels", ["int", "str"])
def test_zipmap(labels, dtype):
    model = fitted("network-tanh", 3, dtype, labels, True)
    X = X_TEST.astype(dtype)
    expected = model.predict_proba(X)
    classes = model.classes_

    # Default: a list of {label: probability}. ZipMap holds float32 values only.
    onx = skl2onnx.to_onnx(model, X[:1])
    assert [o.name for o in onx.graph.output] == ["output_label", "output_probability"]
    onnx_labels, maps = run(onx, X)
    assert_array_equal(onnx_labels, model.predict(X))
    assert [list(m) for m in maps] == [list(classes)] * len(X)
    proba = np.array([[m[c] for c in classes] for m in maps])
    assert_allclose(proba, expected, rtol=0, atol=ATOL[np.float32])

    # "columns": one probability output per class, in the graph's dtype.
    onx = skl2onnx.to_onnx(model, X[:1], options={"zipmap": "columns"})
    onnx_labels, *columns = run(onx, X)
    assert_array_equal(onnx_labels, model.predict(X))
    assert all(c.dtype == dtype for c in columns)
    assert_allclose(np.column_stack(columns), expected, rtol=0, atol=ATOL[dtype])


def test_nocl_gives_class_indices():
    model = fitted("softmax", 3, np.float64, "str", False)
    onx = skl2onnx.to_onnx(model, X_TEST[:1], options={"zipmap": False, "nocl": True})
    indices, _ = run(onx, X_TEST)
    assert_array_equal(model.classes_[indices], model.predict(X_TEST))


@pytest.mark.parametrize("target_opset", [8, 10, 12, 13, 17])
def test_older_opsets(target_opset):
    # ReduceSum takes its axes as an input from opset 13 on, ReduceMax from 18 on;
    # the clips' Min and Max broadcast from 8 on.
    model = fitted("logistic", 3, np.float64, "int", True)
    onx = skl2onnx.to_onnx(model, X_EVAL[:1], options={"zipmap": False}, target_opset=target_opset)
    assert max(o.version for o in onx.opset_import if o.domain == "") <= target_opset
    onnx_labels, proba = run(onx, X_EVAL)
    assert_array_equal(onnx_labels, model.predict(X_EVAL))
    assert_allclose(proba, model.predict_proba(X_EVAL), rtol=0, atol=1e-10)


_LIMIT = {dtype: float(np.sqrt(np.finfo(dtype).max)) for dtype in (np.float32, np.float64)}


def _extreme_rows(dtype):
    """Finite rows far beyond the magnitude predict accepts (sqrt of the dtype's max)."""
    top = float(np.finfo(dtype).max)
    huge = 3e38 if dtype == np.float32 else 1e308
    return np.array(
        [
            [huge] * 4,
            [-huge] * 4,
            [1e30] * 4,
            [-1e30] * 4,
            [top] * 4,
            [-top] * 4,
            [huge, -huge, top, -top],  # terms of +inf and -inf in one logit: NaN unclipped
            [1e30, -huge, 0.0, 1.0],
            [0.0, 0.0, 0.0, top],
        ],
        dtype=dtype,
    )


def _check_saturated(onnx_labels, onnx_proba, classes, dtype):
    """Finite probabilities summing to one, and a label of highest probability per row."""
    assert np.isfinite(onnx_proba).all()
    assert (onnx_proba >= 0).all() and (onnx_proba <= 1).all()
    assert_allclose(onnx_proba.sum(axis=1), 1, rtol=0, atol=ATOL[dtype])
    chosen = onnx_proba[np.arange(len(onnx_proba)), np.searchsorted(classes, onnx_labels)]
    assert_array_equal(chosen, onnx_proba.max(axis=1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("n_classes", [2, 3], ids=["binary", "3-class"])
@pytest.mark.parametrize("model", list(MODELS))
def test_inputs_beyond_predicts_range_give_finite_saturated_probabilities(model, n_classes, dtype):
    # predict_proba raises for these rows; the graph used to give NaN (float32: a
    # row of 3e38 made X @ W overflow to inf, and inf - inf is NaN). Each layer's
    # input and the scores are clipped now.
    estimator = fitted(model, n_classes, dtype, "int", False)
    X = _extreme_rows(dtype)
    onx = skl2onnx.to_onnx(estimator, X[:1], options={"zipmap": False})
    onnx_labels, onnx_proba = run(onx, X)

    _check_saturated(onnx_labels, onnx_proba, estimator.classes_, dtype)
    with pytest.raises(ValueError, match="too large for the products"):
        estimator.predict_proba(X[:1])

    # The edge: rows just inside predict's range, where no clip acts and the two agree.
    edge = np.vstack([np.eye(4), -np.eye(4)]).astype(dtype) * dtype(0.99 * _LIMIT[dtype])
    edge_labels, edge_proba = run(onx, edge)
    assert_array_equal(edge_labels, estimator.predict(edge))
    difference = np.abs(edge_proba - estimator.predict_proba(edge))
    assert np.all(difference <= ATOL[dtype] + _logit_rounding(estimator, edge, dtype))


@pytest.mark.parametrize("target_opset", [10, None], ids=["opset-10", "default-opset"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("model", ["softmax", "network-relu", "network-tanh"])
def test_weights_and_biases_that_overflow_the_logits_stay_finite(model, dtype, target_opset):
    # Weights scaled by 1e30 and biases near the dtype's max: the graph's scores
    # would be +-inf even for ordinary rows. They are clipped to finite values.
    estimator = copy.deepcopy(fitted(model, 3, dtype, "int", False))
    top = np.finfo(dtype).max
    if hasattr(estimator, "coefs_"):
        estimator.coefs_ = [W * dtype(1e30) for W in estimator.coefs_]
        estimator.intercepts_ = [np.full_like(b, top / 2) for b in estimator.intercepts_]
    else:
        estimator.coef_ = estimator.coef_ * dtype(1e30)
        estimator.intercept_ = np.array([top, -top, top / 3], dtype=dtype)
    X = np.vstack([X_TEST[:10].astype(dtype), _extreme_rows(dtype)])
    # Below opset 11 the clips are Min and Max rather than Clip.
    onx = skl2onnx.to_onnx(estimator, X[:1], options={"zipmap": False}, target_opset=target_opset)
    onnx_labels, onnx_proba = run(onx, X)
    _check_saturated(onnx_labels, onnx_proba, estimator.classes_, dtype)


@pytest.mark.parametrize("scale", [1e38, np.inf])
def test_weights_too_large_for_the_graph_are_refused(scale):
    # Column L1 norms above max / 4: products overflow from inputs of size 1 on.
    estimator = copy.deepcopy(fitted("network-tanh", 3, np.float64, "int", False))
    estimator.coefs_ = [estimator.coefs_[0], estimator.coefs_[1] * scale]
    with pytest.raises(ValueError, match="Cannot convert weights with a column L1 norm"):
        skl2onnx.to_onnx(estimator, X_TEST[:1].astype(np.float32), options={"zipmap": False})


@pytest.mark.parametrize("sample", ["array", "initial_types"])
def test_float16_input_is_refused_with_the_supported_dtypes(sample):
    model = fitted("softmax", 3, np.float32, "int", False)
    if sample == "array":
        kwargs = {"X": X_TEST[:1].astype(np.float16)}
    else:
        from skl2onnx.common.data_types import Float16TensorType

        kwargs = {"initial_types": [("X", Float16TensorType([None, 4]))]}
    with pytest.raises(ValueError, match=r"float32 or float64 .* got Float16TensorType"):
        skl2onnx.to_onnx(model, options={"zipmap": False}, **kwargs)
    # What the message advises: cast (exactly) and convert the float32 array.
    X = X_TEST.astype(np.float16).astype(np.float32)
    onnx_labels, _ = run(skl2onnx.to_onnx(model, X[:1], options={"zipmap": False}), X)
    assert_array_equal(onnx_labels, model.predict(X))


def test_opsets_before_8_are_refused():
    model = fitted("softmax", 3, np.float64, "int", False)
    with pytest.raises(ValueError, match="target_opset 8 or later"):
        skl2onnx.to_onnx(model, X_TEST[:1], options={"zipmap": False}, target_opset=7)


_X_ML = {
    n_labels: make_multilabel_classification(
        n_samples=160, n_features=4, n_classes=n_labels, n_labels=2, random_state=0
    )
    for n_labels in (2, 4)
}
# make_multilabel_classification's features are counts; the same rows scaled
# by 1e3 to 1e6 saturate every sigmoid (logits far beyond where exp overflows).
_ML_TEST = _X_ML[2][0][120:]
X_ML_EVAL = np.vstack([_ML_TEST] + [_ML_TEST[:10] * scale for scale in (1e3, 1e4, 1e5, 1e6)])
MULTILABEL_MODELS = [m for m in MODELS if m != "softmax"]  # SoftmaxGD is single-label


@functools.cache
def fitted_multilabel(model, n_labels, dtype, pipeline):
    X, Y = _X_ML[n_labels]
    estimator = MODELS[model]()
    if pipeline:
        estimator = make_pipeline(StandardScaler(), estimator)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning
        estimator.fit(X[:120].astype(dtype), Y[:120])
    assert estimator[-1].multilabel_ if pipeline else estimator.multilabel_
    return estimator


@pytest.mark.parametrize("pipeline", [False, True], ids=["alone", "pipeline"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("n_labels", [2, 4], ids=["2-labels", "4-labels"])
@pytest.mark.parametrize("model", MULTILABEL_MODELS)
def test_multilabel_matches_predict_and_predict_proba(model, n_labels, dtype, pipeline):
    estimator = fitted_multilabel(model, n_labels, dtype, pipeline)
    X = X_ML_EVAL.astype(dtype)
    onx = skl2onnx.to_onnx(estimator, X[:1], options={"zipmap": False})
    onnx_labels, onnx_proba = run(onx, X)

    assert [o.name for o in onx.graph.output] == ["label", "probabilities"]
    for output, elem_type in zip(onx.graph.output, (7, 1 if dtype == np.float32 else 11)):
        tensor = output.type.tensor_type  # declared: int64 / graph dtype, [N, n_labels]
        assert tensor.elem_type == elem_type
        assert [d.dim_value for d in tensor.shape.dim][1:] == [n_labels]
    expected_labels = estimator.predict(X)
    assert onnx_labels.dtype == np.int64 and onnx_labels.shape == (len(X), n_labels)
    assert_array_equal(onnx_labels, expected_labels)
    assert set(np.unique(onnx_labels)) == {0, 1}
    assert onnx_proba.dtype == dtype and onnx_proba.shape == (len(X), n_labels)
    assert np.isfinite(onnx_proba).all()
    assert_allclose(onnx_proba, estimator.predict_proba(X), rtol=0, atol=ATOL[dtype])
    # Independent sigmoids, not normalised: the rows do not sum to one.
    assert not np.allclose(onnx_proba.sum(axis=1), 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_multilabel_saturated_logits(dtype):
    # Logits of +-1e15 and beyond: Sigmoid saturates to exactly 0 and 1, no NaN.
    model = fitted_multilabel("logistic", 4, dtype, False)
    v = np.linalg.lstsq(model.coef_.astype(np.float64), [1.0, -1.0, 1.0, -1.0], rcond=None)[0]
    X = (np.array([1e3, 1e6, 1e9, 1e15])[:, None] * v).astype(dtype)
    onnx_labels, onnx_proba = run(skl2onnx.to_onnx(model, X[:1], options={"zipmap": False}), X)
    assert not np.isnan(onnx_proba).any()
    assert_array_equal(onnx_labels, model.predict(X))
    assert_array_equal(onnx_labels[-1], [1, 0, 1, 0])
    assert_array_equal(onnx_proba[-1], [1, 0, 1, 0])
    assert_allclose(onnx_proba, model.predict_proba(X), rtol=0, atol=ATOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_multilabel_zipmap(dtype):
    # As skl2onnx's multilabel OneVsRestClassifier: the indicator labels, and a
    # ZipMap of {label index: probability} (float32) by default.
    model = fitted_multilabel("network-tanh", 4, dtype, True)
    X = X_ML_EVAL.astype(dtype)
    expected = model.predict_proba(X)

    onx = skl2onnx.to_onnx(model, X[:1])
    assert [o.name for o in onx.graph.output] == ["output_label", "output_probability"]
    onnx_labels, maps = run(onx, X)
    assert_array_equal(onnx_labels, model.predict(X))
    assert [list(m) for m in maps] == [[0, 1, 2, 3]] * len(X)
    proba = np.array([[m[c] for c in range(4)] for m in maps])
    assert_allclose(proba, expected, rtol=0, atol=ATOL[np.float32])

    onx = skl2onnx.to_onnx(model, X[:1], options={"zipmap": "columns"})
    onnx_labels, *columns = run(onx, X)
    assert_array_equal(onnx_labels, model.predict(X))
    assert all(c.dtype == dtype for c in columns)
    assert_allclose(np.column_stack(columns), expected, rtol=0, atol=ATOL[dtype])


def test_single_label_model_with_multilabel_shapes_stays_normalised():
    # A 4-class LogisticRegressionGD has the weights of a 4-label one; it is
    # exported by its multilabel_ (False), with a normalised OvR and 1-D labels.
    model = fitted("logistic", 3, np.float64, "int", False)
    assert not model.multilabel_
    onnx_labels, proba = run(skl2onnx.to_onnx(model, X_EVAL[:1], options={"zipmap": False}), X_EVAL)
    assert onnx_labels.shape == (len(X_EVAL),)
    assert_allclose(proba.sum(axis=1), 1, rtol=0, atol=1e-10)


def _fresh(model):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MODELS[model]().fit(X_TRAIN, Y_TRAIN)


def test_unfitted_model_is_refused():
    with pytest.raises(NotFittedError):
        skl2onnx.to_onnx(SoftmaxGD(), X_TEST[:1])


def test_unknown_activation_is_refused():
    model = _fresh("network-relu")
    model.activation = "gelu"
    with pytest.raises(ValueError, match="activation='gelu'"):
        skl2onnx.to_onnx(model, X_TEST[:1])


def test_weights_of_the_wrong_shape_are_refused():
    model = _fresh("logistic")
    model.coef_, model.intercept_ = model.coef_[:2], model.intercept_[:2]
    with pytest.raises(ValueError, match="3 classes and 2 output units"):
        skl2onnx.to_onnx(model, X_TEST[:1])


def test_multilabel_weights_of_the_wrong_shape_are_refused():
    broken = copy.deepcopy(fitted_multilabel("logistic", 4, np.float64, False))
    broken.coef_, broken.intercept_ = broken.coef_[:3], broken.intercept_[:3]
    with pytest.raises(ValueError, match="multilabel LogisticRegressionGD with 4 labels"):
        skl2onnx.to_onnx(broken, X_ML_EVAL[:1])


def test_input_with_the_wrong_number_of_features_is_refused():
    with pytest.raises(ValueError, match="3 features, but SoftmaxGD expects 4"):
        skl2onnx.to_onnx(fitted("softmax", 2, np.float64, "int", False), X_TEST[:1, :3])


def test_import_without_skl2onnx_registers_nothing(monkeypatch):
    monkeypatch.setitem(sys.modules, "skl2onnx", None)
    spec = importlib.util.spec_from_file_location("sknn._onnx_probe", sknn.onnx.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.update_registered_converter is None


def test_module_docstring_example():
    # The example is marked +SKIP so that the doctest run passes without the extra.
    parser, runner = doctest.DocTestParser(), doctest.DocTestRunner()
    test = parser.get_doctest(sknn.onnx.__doc__, {}, "sknn.onnx", None, 0)
    for example in test.examples:
        example.options = {}
    assert runner.run(test).failed == 0
